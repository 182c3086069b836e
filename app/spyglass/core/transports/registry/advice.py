"""What to check when a registry, or its token server, refuses credentials: one sentence
for each place they came from (an auth file's entry, the keyring, the command line, a
credential helper), so that a Basic-auth registry's refusal and a token server's give
the same advice. The command line's words: they name its flags and ``spyglass login``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spyglass.core.credentials import Credentials


def given_where(credentials: Credentials) -> str:
    """Where ``credentials`` came from, as a clause of a sentence about them ("saved in the
    keyring", "given on the command line", ``from the entry "HOST" in FILE``, "from
    docker-credential-pass", "typed in Add Registry"); "" where that says nothing."""
    from spyglass.core.credentials import SIGN_IN_DIALOGS

    if credentials.file_entry is not None:
        return f"from {credentials.file_entry}"
    source = credentials.source
    if source in SIGN_IN_DIALOGS:
        return f"typed in {source}"
    return {"keyring": "saved in the keyring", "session": "given in this session",
            "command line": "given on the command line", "": ""}.get(source, f"from {source}")


def to_check(credentials: Credentials | None, where: str | None = None) -> str:
    """What to check of ``credentials`` a registry (or its token server) refused, naming
    them and where they came from (``where``, else :func:`given_where`), for a front
    end's advice (``Check …``): ``the user name "alice" and its password (saved in the
    keyring)``, "the token (saved in the keyring)"; "the user name and password" where
    they are not known."""
    from spyglass.core.credentials import TOKEN_USERNAME

    if credentials is None:
        return "the user name and password"
    if credentials.username and credentials.username != TOKEN_USERNAME:
        what = f'the user name "{credentials.username}" and its password'
    elif credentials.identity_token and not credentials.password:
        what = "the identity token"
    else:
        what = "the token"
    where = given_where(credentials) if where is None else where
    return f"{what} ({where})" if where else what


def check_sentence(credentials: Credentials | None, host: str) -> str:
    """``Check …``: where the refused credentials for ``host`` came from, and how to give
    others (None: where they came from is not known)."""
    if credentials is not None and credentials.file_entry is not None:  # an auth.json
        return f"Check {credentials.file_entry}."
    source = credentials.source if credentials is not None else ""
    if source == "keyring" and credentials is not None and credentials.registry_token:
        # a token alone: the window's sign-in saved it (a login needs a user name)
        return (f"Check the token saved in the keyring for {host} (Edit Registry in the "
                "window replaces it), or pass --registry-token TOKEN.")
    if source == "keyring":  # saved by a login: that is what to do again
        return (f"Check the user name and password saved in the keyring for {host}: log "
                f"in again with spyglass login {host}, or pass --creds USER:PASSWORD.")
    if credentials is not None and source == "command line":
        return f"Check the user name and password given with {credentials.flags}."
    if source.startswith("docker-credential-"):
        return (f"Check the credentials the helper {source} gives for {host} (the "
                "credHelpers or credsStore of the auth file names it), or pass --creds "
                "USER:PASSWORD.")
    return (f"Check the user name and password (--creds USER:PASSWORD), or log in again "
            f"with spyglass login {host}.")


def held_back_sentences(credentials: Credentials, host: str) -> tuple[str, str]:
    """For credentials a token server was asked without (a user name with an empty
    password, which skopeo sends none of either): that sentence, and the same with what to
    do on the command line: give the password (where they came from says how)."""
    said = (f'The user name "{credentials.username}" was given with an empty password, and '
            "a token server is asked without credentials then (as skopeo asks it).")
    if credentials.source == "command line":
        return said, f"{said} Give the password too ({credentials.flags})."
    return said, f"{said} {check_sentence(credentials, host)}"
