"""Registry credentials: what they are, and the registry hosts they are for.

Where they are looked up, and where Spyglass keeps its own:
:mod:`spyglass.core.credentials.store` (the order of the sources),
:mod:`~spyglass.core.credentials.keyring_store` (the system keyring),
:mod:`~spyglass.core.credentials.auth_files` (auth.json and Docker's config files) and
:mod:`~spyglass.core.credentials.helpers` (``docker-credential-*`` helpers).

Secrets never reach a message: :class:`Credentials` leaves them out of its
``repr``, errors name files, keys and helpers but never quote values, log lines
say where credentials came from and nothing more, and exceptions whose objects
would carry file text or helper output are not chained.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Final

from spyglass.core.errors import SpyglassError, without_password

log = logging.getLogger(__name__)

#: The username a credential helper answers with when the secret is an identity token.
TOKEN_USERNAME: Final = "<token>"
DOCKER_HUB: Final = "docker.io"
DOCKER_HUB_ALIASES: Final = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
#: The key ``docker login`` uses for Docker Hub, in files and in credential helpers.
DOCKER_HUB_LEGACY_KEY: Final = "https://index.docker.io/v1/"

_HOST_AND_PORT = re.compile(r"(?:[^\s:\[\]]+|\[[0-9a-fA-F:.]+(?:%[\w.-]+)?\])(?::[0-9]+)?",
                            re.ASCII)

REGISTRY_TOKEN_SOURCE: Final = "registry token"
"""The ``source`` of credentials that are a Bearer token given as it is."""
SIGN_IN_DIALOGS: Final = ("Add Registry", "Edit Registry")
"""The ``source`` of credentials typed into the window's sign-in fields: the name of the
dialog they were typed in (a sentence says "typed in Add Registry")."""


@dataclass(frozen=True, repr=False)
class Credentials:
    """A username and secret for one registry.

    Attributes:
        username: the account name; "" when the secret is a bare registry token.
        password: the password or registry token. Never printed.
        identity_token: Docker's ``identitytoken``, an OAuth2 refresh token that the
            registry's token server exchanges for access tokens. Never printed.
        source: where the credentials came from, for messages: "command line",
            "session", "keyring", a file's path, ``docker-credential-NAME``, or one of
            :data:`SIGN_IN_DIALOGS`.
        registry_token: a Bearer token to present as it is (skopeo's
            ``--registry-token``), instead of asking the token server. Never printed.
        entry: the key of the auth file's ``auths`` entry they came from (a host,
            or a repository or namespace on it), for messages; None otherwise.
        given_with: the command line's flags that gave them, for advice, where those
            are not ``--creds`` (``--username and --password``); None otherwise.
    """

    username: str
    password: str = field(repr=False)
    identity_token: str | None = field(default=None, repr=False)
    source: str = ""
    registry_token: str | None = field(default=None, repr=False)
    entry: str | None = None
    given_with: str | None = field(default=None, compare=False)

    @property
    def flags(self) -> str:
        """The flags to name in advice about these: those that gave them, else
        ``--creds USER:PASSWORD``."""
        return self.given_with or "--creds USER:PASSWORD"

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, source={self.source!r})"

    __str__ = __repr__

    @property
    def file_entry(self) -> str | None:
        """``the entry "HOST" in PATH`` for credentials read from an auth file; None for
        any other source."""
        return None if self.entry is None else f'the entry "{self.entry}" in {self.source}'

    def secrets(self) -> tuple[str, ...]:
        """The secrets among these, for :func:`scrubbed`: the password (and the Basic
        header's base64 that carries it), the identity token and the registry token."""
        basic = basic_secret(self.username, self.password) if self.password else ""
        return tuple(s for s in (self.password, basic, self.identity_token,
                                 self.registry_token) if s)


def token_alone(credentials: Credentials) -> Credentials:
    """``credentials`` that are a secret with no user name (typed alone into the window's
    sign-in fields, saved so in the keyring) as a token to present as it is: its
    :attr:`~Credentials.registry_token`, as ``--registry-token`` gives one. A registry with
    a token server is then sent the token (Bearer), where it asked the token server
    anonymously before (a token server takes a Basic header only with a user name); one
    that asks for Basic is still sent it as the password. Others are returned as they
    are: a user name, an identity token, a registry token given already, or no secret.
    (Not an auth file's: containers/image sends such an entry to no token server.)"""
    if credentials.username or not credentials.password or credentials.identity_token \
            or credentials.registry_token:
        return credentials
    return dataclasses.replace(credentials, registry_token=credentials.password)


class CredentialsMissing(SpyglassError):
    """Credentials that were kept for a registry are not there any more (its keyring
    entry removed since): a lookup that expected them raises this rather than answering
    None, its sentence saying which; a registry client then goes on without credentials
    and says the sentence if the registry wants some (not "log in")."""


def parse_creds(text: str, flag: str = "--creds") -> Credentials:
    """Credentials from ``--creds USERNAME[:PASSWORD]``, split at the first colon as skopeo does.

    With no password (``alice`` or ``alice:``) the password is "": the caller decides
    whether to ask for one (the command line asks only for ``alice``). Raises
    :class:`SpyglassError` for "" and for a missing username, naming ``flag``; the
    message never repeats what was given, since it may hold a password.
    """
    if not text:
        raise SpyglassError(
            f"The {flag} value is empty; give USERNAME[:PASSWORD], "
            f"or leave {flag} out to use stored credentials."
        )
    username, _, password = text.partition(":")
    if not username:
        raise SpyglassError(
            f'The {flag} value has no username before the ":"; give USERNAME[:PASSWORD].'
        )
    return Credentials(username, password, source="command line")


def canonical_host(host: str) -> str:
    """The host a registry is known by here: ``registry.example.com:5000``, ``docker.io``.

    Accepts what people paste: ``https://`` and ``docker://`` prefixes and paths are
    dropped, case is folded, and every Docker Hub alias becomes ``docker.io``.
    """
    text = host.strip()
    bare = without_scheme(text[len("docker://"):] if text.lower().startswith("docker://")
                           else text)
    name = bare.split("/", 1)[0].lower()
    # HOST or HOST:PORT, an IPv6 address in brackets ([::1]:5000)
    if not _HOST_AND_PORT.fullmatch(name):
        shown = without_password(host)
        bracketed = _ipv6_in_brackets(name)
        raise SpyglassError(
            f'"{shown}" is not a registry host; expected a name such as '
            '"registry.example.com" or "localhost:5000"'
            + ("; credentials do not go in it (give them with --username and "
               "--password-stdin, or in the sign-in fields)." if shown != host or "@" in name
               else f"; an IPv6 address goes in brackets: {bracketed}." if bracketed
               else ".")
        )
    return DOCKER_HUB if name in DOCKER_HUB_ALIASES else name


def _ipv6_in_brackets(host: str) -> str | None:
    """``[::1]:45601`` for an IPv6 address typed without brackets (``::1:45601``: a last
    group of digits read as the port, where the rest is an address), ``[fe80::1]`` for
    one without a port; None for a host that is no IPv6 address."""
    import ipaddress

    rest, _, port = host.rpartition(":")
    for address, suffix in ((rest, f":{port}"), (host, "")):
        if suffix and not port.isdigit():
            continue
        try:
            ipaddress.IPv6Address(address)
        except ValueError:
            continue
        return f"[{address}]{suffix}"
    return None


def without_scheme(key: str) -> str:
    """``key`` without an ``http://`` or ``https://`` in front."""
    for prefix in ("http://", "https://"):
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def basic_secret(username: str, password: str) -> str:
    """The base64 of ``username:password`` that a Basic ``Authorization`` header carries
    (a byte that is not UTF-8, a surrogate as the command line's words are read, as it
    was given)."""
    raw = f"{username}:{password}".encode("utf-8", "surrogateescape")
    return base64.b64encode(raw).decode("ascii")


def authorization_secrets(header: str | None) -> tuple[str, ...]:
    """The secrets an ``Authorization`` header sent (``Basic B64``: the base64, the
    ``user:password`` it holds and the password; ``Bearer T``: the token), for
    :func:`scrubbed`: a server may quote them back."""
    if not header:
        return ()
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value:
        return ()
    if scheme.lower() != "basic":
        return (value,)
    try:
        pair = base64.b64decode(value, validate=True).decode("utf-8", "surrogateescape")
    except ValueError:
        return (value,)
    _user, colon, password = pair.partition(":")
    return tuple(s for s in (value, pair if colon else "", password) if s)


def scrubbed(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with each of ``secrets`` in it replaced by ``***``, in every form an error
    may quote it: as it is, as JSON writes it (the keyring is given a JSON object: ``"``,
    ``\\`` and, by default, every non-ASCII character escaped), as Python's ``repr`` and
    ``ascii`` write it, each of those quoted once more (``repr`` of the JSON), and
    percent-encoded (a URL's or a form's).

    Only where a form stands alone: not where it would be part of a longer run of
    letters and digits (a password ``a`` is no part of ``manifest``), so the words around
    it stay as written and the stars tell nothing of which letters it has."""
    forms = {form for secret in secrets if secret for form in _quoted_forms(secret)}
    if not forms:
        return text
    # a longer form first: it holds a shorter (``alice:PWX1`` holds ``PWX1``)
    alone = "|".join(_standing_alone(form) for form in sorted(forms, key=len, reverse=True))
    return re.sub(alone, "***", text)


def _standing_alone(form: str) -> str:
    """A pattern for ``form`` where it does not go on a run of letters or digits it
    starts or ends with (bounded by other characters or by the text's ends)."""
    before = r"(?<![^\W_])" if form[0].isalnum() else ""
    after = r"(?![^\W_])" if form[-1].isalnum() else ""
    return f"{before}{re.escape(form)}{after}"


def _quoted_forms(secret: str) -> set[str]:
    """``secret`` as it is, and as it appears inside quotes that JSON, ``repr`` or
    ``ascii`` put around it, once or twice over."""
    def quotings(text: str) -> set[str]:
        return {json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1],
                repr(text)[1:-1], ascii(text)[1:-1]}

    once = quotings(secret)
    # (a byte that is not UTF-8, read from the command line as a surrogate, as its byte)
    escaped = (urllib.parse.quote(secret, safe="", errors="surrogateescape"),
               urllib.parse.quote_plus(secret, safe="", errors="surrogateescape"))
    return {secret, *escaped, *once, *(twice for form in once for twice in quotings(form))}


_warned: set[tuple[object, ...]] = set()
_warned_lock = threading.Lock()


def warn_once(message: str, *args: object) -> None:
    """Log a warning about a file or helper once per process: every lookup meets the
    same trouble again, and a command (or the window) looks up many times."""
    with _warned_lock:
        if (message, *args) in _warned:
            return
        _warned.add((message, *args))
    log.warning(message, *args)

