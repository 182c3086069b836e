"""What to check when a registry, or its token server, refuses credentials: one sentence
for each place they came from (an auth file's entry, the keyring, the command line, a
credential helper), so that a Basic-auth registry's refusal and a token server's give
the same advice. The command line's words: they name its flags and ``spyglass login``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spyglass.core.credentials import Credentials


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
