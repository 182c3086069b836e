"""The one exception tree of Spyglass.

Every error a person can see is a :class:`SpyglassError` carrying a sentence
that names the input, says what was expected, and, where it helps, what to do.
Lower-level errors (``OSError``, ``json.JSONDecodeError``, ``tarfile`` errors)
are translated at the boundary of the core with ``raise ... from exc``; nothing
else escapes a core call that a caller is expected to handle.

::

    SpyglassError
    ├── InvalidReference        a name that cannot be parsed
    │   └── UnknownTransport    ``foo:bar`` where ``foo`` is no transport
    ├── InvalidDigest           a digest string that is malformed
    ├── VerificationError       content that does not match what was promised
    │   ├── DigestMismatch
    │   └── SizeMismatch
    ├── InvalidManifest         bytes that are not a manifest we understand
    ├── InvalidConfig           an image config that is not valid JSON/shape
    ├── TooLarge                a manifest/config over the 4 MiB limit
    ├── NotFound                something named does not exist
    │   ├── ImageNotFound
    │   │   └── ImageRemoved    (also ChangedSinceRead) gone from its layout since read
    │   ├── BlobNotFound
    │   ├── PlatformNotFound
    │   └── RepositoryNotFound  a registry has no such repository
    ├── ChangedSinceRead        a place changed since it was read: what was read no longer holds
    │   ├── LocationGone        (also TransportError) its folder moved or deleted since
    │   └── SourceMoved         a name names another image than the one a copy expects
    ├── InvalidLayout           a path that is not the layout it claims to be
    ├── UnsafeArchive           an archive member that points outside it
    ├── Unsupported             a valid request we cannot (yet) serve
    ├── PolicyRefused           the signature policy (policy.json) refuses a copy
    ├── RegistryBlocked         registries.conf blocks the registry (blocked = true)
    ├── TransportError          an I/O failure talking to a transport
    │   ├── ConnectionFailed    DNS, refused connection, timeout, reset
    │   │   ├── Unreachable     no connection could be made at all
    │   │   └── Unanswered      connections taken, and nothing ever answered
    │   ├── TLSFailed           the server's certificate could not be verified
    │   ├── NotARegistry        the server does not speak the distribution API
    │   ├── NotATarArchive      a layer read whole, its digest right, that is no tar
    │   └── TemporarySpaceFailed a temporary file Spyglass needs could not be written
    ├── RegistryError           a registry answered with an error code
    │   ├── AuthenticationFailed 401: credentials missing or wrong
    │   ├── TokenRenewed        401 to a token taken before: a new one was fetched
    │   ├── AccessDenied        403 / DENIED: authenticated, but not allowed
    │   └── RateLimited         429 / TOOMANYREQUESTS
    └── Cancelled               the caller's cancel token was set
"""

from __future__ import annotations

import errno
import re
import resource
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from spyglass.core.digest import Digest


class SpyglassError(Exception):
    """Base of every error the core raises on purpose.

    ``str(error)`` is a complete sentence meant for a person, in words every
    front end shares. ``on_command_line``, where given, is the same sentence in
    the command line's words (naming its flags): ``spyglass`` prints that one,
    the window :attr:`message`.
    """

    attempts: int = 1
    """How many tries the failure stands for: more than one for a request asked again
    after 503s or broken connections, or a download resumed before it broke off for
    good. A caller retrying the whole of it counts those against its own budget."""

    answer_lost: bool = False
    """The failure is the answer to a request asked again after an earlier try's answer
    was lost (its connection broke after the request went out, or a gateway answered
    502/504): that try may have done the work (a ``DELETE`` answered 404 this time)."""

    def __init__(self, message: str, *, on_command_line: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.on_command_line = on_command_line

    def __str__(self) -> str:
        return self.message


class InvalidReference(SpyglassError):
    """An image name that does not follow the grammar of its transport."""


class UnknownTransport(InvalidReference):
    """An image name whose ``transport:`` prefix names no transport."""


class InvalidDigest(SpyglassError):
    """A digest string that is not ``algorithm:hex`` of a supported algorithm."""


class VerificationError(SpyglassError):
    """Content did not match the digest or size it was promised to have."""


class DigestMismatch(VerificationError):
    """Content hashed to another digest than expected."""


class SizeMismatch(VerificationError):
    """Content was shorter or longer than its descriptor said."""


class InvalidManifest(SpyglassError):
    """Bytes that are not a manifest or index of a known kind."""


class InvalidConfig(SpyglassError):
    """An image configuration blob that is not a JSON object of the right shape."""


class TooLarge(SpyglassError):
    """A manifest or config larger than the limit we accept."""


class NotFound(SpyglassError):
    """Something the caller named does not exist."""


class ImageNotFound(NotFound):
    """No image by that name or reference in the location."""

    missing_tag: str | None = None
    """The tag the registry was asked for and does not have, once its tags were listed
    to say so (rather than a digest or a manifest of a list not found)."""


class BlobNotFound(NotFound):
    """A blob referenced by a manifest is missing from the location."""


class ChangedSinceRead(SpyglassError):
    """A place changed since the caller read it (another program at work there): what
    was read of it before, and shown, no longer holds. A front end that shows places
    says how to see them as they are now (the window: Reload, F5)."""


class ImageRemoved(ChangedSinceRead, ImageNotFound):
    """An image of a layout opened earlier was removed from its ``index.json`` since, and
    a blob of it with it (a garbage collection such as ``umoci gc`` ran)."""


class SourceMoved(ChangedSinceRead):
    """The source's name names another image (top manifest) than the one a copy was
    asked for (:attr:`~spyglass.core.copy_plan.CopyOptions.expected_digest`): its tag or
    ref was moved since the caller read it. Nothing was copied.

    ``name`` is the source's name, ``found`` the digest it names now, ``expected`` the
    one asked for; a front end may say it in its own words (the image it showed).
    """

    def __init__(self, name: str, found: Digest, expected: Digest) -> None:
        super().__init__(
            f"{name} now names {found}, not {expected}, the image the copy was asked for; "
            "nothing was copied. Look at it again, then copy again.")
        self.name = name
        self.found = found
        self.expected = expected


class PlatformNotFound(NotFound):
    """A manifest list has no instance for the requested platform.

    ``offered`` holds the platforms (``os/arch[/variant]``) the list does have, as the
    sentence names them; the command line's sentence says to choose one with
    ``--platform`` when there are some (a front end that was given one says no more).
    """

    def __init__(self, message: str, offered: set[str] | frozenset[str] = frozenset()) -> None:
        super().__init__(message, on_command_line=f"{message} Choose one with --platform."
                         if offered else None)
        self.offered = frozenset(offered)


class RepositoryNotFound(NotFound):
    """A registry has no repository by that name (``NAME_UNKNOWN``)."""


class InvalidLayout(SpyglassError):
    """A path that is not a valid layout (OCI layout, ``dir:``, archive)."""


class DamagedArchive(InvalidLayout):
    """A tar archive that ends early or is corrupt past its first members: it is an
    archive (not some other file), and the sentence says it is damaged."""


class UnsafeArchive(SpyglassError):
    """An archive member whose name or link target leads outside the archive."""


class Unsupported(SpyglassError):
    """A well-formed request that this transport or version cannot serve."""


class ListNotAccepted(Unsupported):
    """The destination cannot hold a manifest list, and several images of one were asked
    for: the sentence says to choose one platform; each front end may say how
    (``--platform``, a checkbox)."""


class PolicyRefused(SpyglassError):
    """The containers signature policy (``policy.json``) refuses to copy the source: it
    rejects it, or asks for signatures that a copy does not verify. The sentence names
    the policy file and the scope whose requirements decided."""


class RegistryBlocked(SpyglassError):
    """``registries.conf`` marks the registry (or the namespace of it) ``blocked``: it is
    not contacted at all. The sentence names the prefix and the file that blocks it."""


class RegistriesConfInvalid(RegistryBlocked):
    """A ``registries.conf`` file cannot be used (not TOML, not as containers-registries.conf
    says, unreadable): no registry is contacted, since what it blocks is not known. The
    sentence names the file, and the line and column where there are some. Raised too
    for one image name alone, when the name a prefix's ``location`` (or a mirror's)
    rewrites it to is no valid name (the sentence names the prefix and that name)."""


class TransportError(SpyglassError):
    """Reading from or writing to a transport failed (disk, network)."""


class NoRoom(TransportError):
    """The disk a copy would write to has too little room for it, as found before the
    first byte is written (see :func:`~spyglass.core.copy_room.check_room`)."""


class LocationGone(ChangedSinceRead, TransportError):
    """The folder of a layout opened earlier is no longer there: moved, renamed or
    deleted since it was opened."""


class LockHeld(TransportError):
    """A lock file another program held longer than the caller would wait for it."""


class CorruptData(TransportError):
    """Bytes that do not decompress: compressed data corrupt, truncated, or followed by
    something else."""


class NotATarArchive(TransportError):
    """A layer read to its end, its digest right, that does not decompress or is not a
    tar archive (an artifact's file pushed as a tar layer): the bytes are the image's
    own, so reading them again goes the same way."""


class ConnectionFailed(TransportError):
    """A connection to the server failed: none could be made (:class:`Unreachable`), or it
    was lost, or went quiet for the whole timeout, before the answer came (every one of
    them, from the first request on: :class:`Unanswered`)."""

    host: str | None = None
    """The registry (its host as the registry clients know it) that failed, where a
    registry client raised it."""


class Unreachable(ConnectionFailed):
    """No connection to the server could be made at all (refused, no route, a name not
    resolved, the connection timed out): asking it anything else fails the same way."""


class Unanswered(ConnectionFailed):
    """The server (or the proxy between) took every connection and never answered, for
    the whole of the timeout: a hung server. Asking it again waits as long again."""


class ProxyRefused(ConnectionFailed):
    """The proxy between refused to pass the request on (407: it wants other credentials;
    or a 403 to a tunnel its rules do not allow): asking again meets the same refusal."""


class TLSFailed(TransportError):
    """A TLS handshake failed, usually because the certificate is not trusted.

    ``untrusted``: the registry's certificate could not be verified (a CA
    certificate of its own would make it trusted), not some other failure.
    """

    def __init__(self, message: str, *, on_command_line: str | None = None,
                 untrusted: bool = False) -> None:
        super().__init__(message, on_command_line=on_command_line)
        self.untrusted = untrusted


class NotARegistry(TransportError):
    """The server answered, but not as a registry (no ``/v2/`` API)."""


class TemporarySpaceFailed(TransportError):
    """A temporary file Spyglass needs for its own work (a compressed archive,
    decompressed) could not be written: a full disk, a temporary folder it may not
    write to. A problem of this machine, not of the input, so it is never taken for
    "this is not an image" (sniffing lets it through)."""


class RegistryError(SpyglassError):
    """A registry answered with an error.

    ``status`` is the HTTP status; ``code`` the first distribution error code
    (``MANIFEST_UNKNOWN``, ``DENIED``, …) when the body had one.
    """

    body_length: int | None = None
    """The ``Content-Length`` of the request answered with the error, where it stated one
    (a body refused as too large: how large is too large)."""

    def __init__(
        self, message: str, *, status: int = 0, code: str | None = None,
        on_command_line: str | None = None,
    ) -> None:
        super().__init__(message, on_command_line=on_command_line)
        self.status = status
        self.code = code


class AuthenticationFailed(RegistryError):
    """The registry wants credentials, or refused the ones given (401).

    ``host`` is the registry's, where known; ``credentials_sent`` says whether the
    ones given were refused (rather than none given): a front end's advice differs.
    ``refusal`` is the message without its advice to check the user name and
    password, for a front end that says how to change them instead.
    ``keyring_locked`` names the keyring (as a sentence does) that was locked when
    credentials were looked up, so that none were sent: the message says to unlock
    it, and a front end adds no other way to sign in.
    ``token_refused``: the registry refused the token its token server gave for the
    credentials (``error="invalid_token"``): the message says so, and a front end adds
    nothing about changing the credentials, which the token server took.
    ``to_check`` is what a front end asks to check of credentials refused, naming them
    and where they came from where known (``the user name "alice" and its password
    (saved in the keyring)``, "the token (saved in the keyring)").
    """

    def __init__(
        self, message: str, *, status: int = 0, code: str | None = None,
        on_command_line: str | None = None, host: str | None = None,
        credentials_sent: bool = False, refusal: str | None = None,
        keyring_locked: str | None = None, token_refused: bool = False,
        to_check: str = "the user name and password",
    ) -> None:
        super().__init__(message, status=status, code=code, on_command_line=on_command_line)
        self.host = host
        self.credentials_sent = credentials_sent
        self.refusal = refusal
        self.keyring_locked = keyring_locked
        self.token_refused = token_refused
        self.to_check = to_check


class TokenRenewed(RegistryError):
    """A registry refused (401) a token it had taken before, for a request whose body
    was a stream that cannot be sent again: the token expired or was revoked on the
    registry's side, sooner than its token server said. A new token was fetched, so
    doing again what the request was part of (uploading the blob) may well work: not
    an :class:`AuthenticationFailed`, since the credentials were taken a moment before.

    ``refusal`` is the error the 401 stands for read as any other (the registry's own
    words in it): what a caller raises when the new token is refused as well, which
    is no expiry but a registry that does not take the tokens it is given."""

    def __init__(self, message: str, *, on_command_line: str | None = None,
                 refusal: SpyglassError | None = None) -> None:
        super().__init__(message, status=401, on_command_line=on_command_line)
        self.refusal = refusal


def locked_keyring_sentence(keyring: str, *, creds: bool = False) -> str:
    """What to do when ``keyring`` ("the system keyring") was locked as credentials were
    looked up: "The system keyring, where Spyglass keeps credentials, is locked: unlock
    it and try again." ``creds``: the command line's other way, ``--creds``, too."""
    other = ", or pass --creds USER:PASSWORD" if creds else ""
    return (f"{keyring[:1].upper()}{keyring[1:]}, where Spyglass keeps credentials, is "
            f"locked: unlock it and try again{other}.")


class AccessDenied(RegistryError):
    """The credentials were accepted but do not allow this (403, ``DENIED``)."""


class RateLimited(RegistryError):
    """The registry limits the request rate (429, ``TOOMANYREQUESTS``).

    ``retry_after`` is the number of seconds the registry asked to wait, if it said.
    """

    def __init__(
        self, message: str, *, status: int = 429, code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class BodyTooLarge(RegistryError):
    """The registry, or a proxy in front of it, refused a request body as too large
    (413), or a streamed one without a length (411). ``smaller`` is the chunk size the
    next attempt uses (the destination sends blobs in pieces from then on), or None
    when it cannot go smaller."""

    def __init__(self, message: str, *, smaller: int | None, code: str | None = None,
                 status: int = 413) -> None:
        super().__init__(message, status=status, code=code)
        self.smaller = smaller


class Cancelled(SpyglassError):
    """The operation was cancelled through its cancel token."""

    def __init__(self, message: str = "The operation was cancelled.") -> None:
        super().__init__(message)


UNREADABLE: Final = (NotFound, VerificationError, InvalidManifest, InvalidConfig, TooLarge)
"""Failures that say a manifest or blob itself cannot be had (missing, damaged, not
trusted, too large), not that its source cannot be reached: what a caller passes over
to show or keep the rest (a list's other images, a destination's signature tag)."""

UNREACHED: Final = (Cancelled, TransportError, RegistryBlocked, RateLimited)
"""Failures that whatever is asked of the same place next meets as well: its server
cannot be reached (after the request's retries), not over TLS, or is no registry;
``registries.conf`` blocks it; it still limits the rate after the retries; or the
question was cancelled. A question that only helps (whether a registry holds a blob,
what its tag names, a listing of its tags) raises them, rather than taking them for
"cannot tell": the next request would spend a whole ``--retry-times`` again to fail
the same way, and a registry that is down be said only after twice the wait."""


_ERRNO_PREFIX: Final = re.compile(
    r"\[Errno -?\d+\] |_ssl\.c:\d+: |\[(?:SSL|X509)(?:: [A-Z0-9_]+)?\] | ?\(_ssl\.c:\d+\)")
"""The ``[Errno 111] `` an OSError's text starts with; the ``_ssl.c:989: ``,
``[SSL: WRONG_VERSION_NUMBER] ``, ``[X509: …] `` and `` (_ssl.c:1006)`` of the ssl
module's: codes and numbers no person needs."""


_BODY_CUT_SHORT: Final = re.compile(
    r"peer closed connection without sending complete message body \(received "
    r"(?P<received>\d+) bytes, expected (?P<expected>\d+)\)")
"""h11's text for a body that ended before its ``Content-Length``."""


_ORDINARY_WORD: Final = re.compile(r"[A-Z][a-z]*(?=[\s,;:.!?)]|$)")
"""A capitalised first word that is no acronym (``OCI``), no mixed-case name
(``BuildKit``) and not joined to more (``Content-Type``, ``X509``)."""

_NAMES: Final = frozenset({"Docker", "Go", "Spyglass", "Sigstore", "Fulcio", "Rekor",
                           "Notary", "Notation", "Podman", "Skopeo", "Linux", "Windows",
                           "Python", "I"})
"""Capitalised first words that keep their capital inside a sentence."""


def as_clause(sentence: str) -> str:
    """``sentence`` (one that stands alone, as an error's message does) to follow a colon
    inside another: its first letter lower-cased when it begins with an ordinary word
    (``Manifest entry 1 …`` → ``manifest entry 1 …``), kept for an acronym (``OCI``),
    a name (``Docker``) or a quotation (``"alpine" …``)."""
    match = _ORDINARY_WORD.match(sentence)
    if match is None or match.group() in _NAMES:
        return sentence
    return sentence[0].lower() + sentence[1:]


def out_of_open_files(exc: BaseException) -> bool:
    """Whether ``exc`` says this process, or the whole system, has as many files open as it
    may (EMFILE, ENFILE): nothing wrong with what was being opened."""
    return isinstance(exc, OSError) and exc.errno in (errno.EMFILE, errno.ENFILE)


def os_reason(exc: OSError) -> str:
    """Why ``exc`` failed, as a clause with no final period: its system's words
    (``Permission denied``), or, where the process or the system ran out of open files,
    that and what to do (its words, "Too many open files", send the user to the file)."""
    if exc.errno == errno.EMFILE:
        try:
            limit = f"it may have {resource.getrlimit(resource.RLIMIT_NOFILE)[0]} open at once"
        except (OSError, ValueError):
            limit = "its limit"
        return (f"Spyglass ran out of open files ({limit}, `ulimit -n`); lower --parallel "
                "or raise that limit")
    if exc.errno == errno.ENFILE:
        return ("the system ran out of open files (the limit for all its programs together, "
                "fs.file-max); lower --parallel, or close other programs")
    return (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")


def clause(exc: BaseException) -> str:
    """An exception's sentence to follow a colon inside another (:func:`as_clause`)."""
    return as_clause(str(exc))


_AUTHORITY_START: Final = re.compile(r"://|(?i:docker):(?!//)")
"""Where an authority (``[user[:password]@]host``) may start inside a name or URL: after
any ``SCHEME://`` (``docker://https://…`` holds two), and after ``docker:`` written
without its ``//``; the start of the text is one too (a bare ``user:pw@host/…``)."""

DIGEST_LIKE: Final = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{16,}")
"""An ``ALGORITHM:HEX`` digest: what follows the ``@`` of ``NAME:TAG@sha256:…``, which
is a tag and a digest, not a user name and password."""


_HOST: Final = re.compile(r"(?:\[[^\]]*\]|[^:\[\]]+)(?::[0-9]*)?")
"""What may follow the ``@`` of a ``user:password@`` (up to a ``/``, ``?`` or ``#``): a
host, a ``[v6 address]``, an optional ``:port`` of digits; not ``sha256:abc``."""

_DIGEST_START: Final = re.compile(r"(?i:sha256|sha384|sha512|blake3):")
"""How a digest after a name's ``@`` starts, however short or wrong the rest is."""


def _is_host(host: str) -> bool:
    """Whether ``host`` (what follows an ``@``, to a ``/``) can be a userinfo's host: not
    a digest, whole or not (``NAME:TAG@sha256:abc`` is a tag and a digest)."""
    host = re.split(r"[?#]", host, maxsplit=1)[0]
    return bool(host) and _HOST.fullmatch(host) is not None \
        and not DIGEST_LIKE.fullmatch(host) and not _DIGEST_START.match(host)


def _password_span(text: str, start: int) -> tuple[int, int] | None:
    """Where the password of a ``user:password@`` at ``start`` of ``text`` is, if one is:
    its userinfo runs to the last ``@`` that a host follows (RFC 3986: the password may
    hold ``@``; and, as people paste it, ``/`` and spaces), not a digest's ``@`` (however
    short: ``…:v1@sha256:abc``), and holds no authority of its own (``https://`` in
    ``docker://https://u:pw@…``). A "password" holding ``/`` is one where a registry's
    name follows (a ``.`` or ``:`` in it, or ``localhost``); else only where no earlier
    ``@`` has one after it (``u:pw@reg.example/app@x``), and where it is no port and
    path (``host:5000/app:v1@x``: ``u:p/w@myregistry/app`` is masked)."""
    segment = text[start:]
    at = len(segment)
    fallback: tuple[int, int] | None = None
    while (at := segment.rfind("@", 0, at)) > 0:
        host = segment[at + 1:].split("/", 1)[0]
        userinfo = segment[:at]
        user, colon, password = userinfo.partition(":")
        if not _is_host(host) or "://" in userinfo or not colon \
                or not user or not password or "/" in user:
            continue
        if start == 0 and password.startswith("/"):
            return None  # a transport and its path (oci:/layout:ref@…), not credentials
        span = start + len(user) + 1, start + at
        if "/" in password and not ("." in host or ":" in host or host == "localhost"):
            port = password.split("/", 1)[0]
            if fallback is None and not (port.isascii() and port.isdigit()):
                fallback = span
            continue
        return span
    return fallback


PATH_TRANSPORTS: Final = ("oci:", "oci-archive:", "dir:", "docker-archive:",
                          "containers-storage:", "ostree:", "sif:", "tarball:")
"""The transports whose image names hold a path (or a store), where ``@`` and ``:`` are
ordinary characters (``oci:my@dir:tag``, ``dir:backup@2024``): no ``user:password@``
is looked for in such a name."""


def password_spans(text: str) -> list[tuple[int, int]]:
    """Where each password of a ``user:password@`` in ``text`` (a URL, a host or an image
    name as typed) is, in order; none overlap. None in an image name of a transport that
    names a path (:data:`PATH_TRANSPORTS`): what looks like one there is a path."""
    if text.startswith(PATH_TRANSPORTS):
        return []
    starts = [] if text[:7].lower() == "docker:" else [0]
    starts += [match.end() for match in _AUTHORITY_START.finditer(text)]
    spans: list[tuple[int, int]] = []
    for start in sorted(starts, reverse=True):  # an inner authority's before the outer
        span = _password_span(text, start)
        if span is not None and not any(span[0] < end and begin < span[1]
                                        for begin, end in spans):
            spans.append(span)
    return sorted(spans)


def without_password(text: str) -> str:
    """``text`` (a URL, a host or an image name as typed) with the password of each
    ``user:password@`` in it shown as ``xxxxx``, as Go's ``url.Redacted`` shows it:
    never said back whole. The one mask of every sentence that quotes such a text. An
    image name of a transport that names a path (``oci:my@dir:tag``:
    :data:`PATH_TRANSPORTS`) is returned as it is."""
    shown = text
    for begin, end in reversed(password_spans(text)):
        shown = shown[:begin] + "xxxxx" + shown[end:]
    return shown


def body_cut_short(missing: int) -> str:
    """A connection closed with ``missing`` bytes of an answer still to come: "the
    connection was closed before the whole answer came (8.0 MiB short)". Of a blob read
    in a resumed range, the answer is that range: so not "bytes of the blob"."""
    from spyglass.core.units import human_size

    return f"the connection was closed before the whole answer came ({human_size(missing)} short)"


URL_REFUSAL_MOST: Final = 120
"""The most characters of httpx's reason for refusing a URL said in a sentence."""


def url_refusal(exc: BaseException) -> str:
    """Why httpx does not take a URL (its ``InvalidURL``), in words to follow a colon or
    stand in parentheses: ``invalid non-printable ASCII character in URL, '\\x01' at
    position 0``. Escaped and cut short: it quotes the part it refused (a port, a host),
    and that came from outside."""
    from spyglass.core.text import visible

    reason = as_clause(str(exc).rstrip(".")) or type(exc).__name__
    if len(reason) > URL_REFUSAL_MOST:
        reason = reason[:URL_REFUSAL_MOST - 1] + "…"
    return visible(reason)


def describe_connection_error(exc: BaseException) -> str:
    """Why a connection failed, in words to follow a colon: ``connection refused``, not
    ``[Errno 111] Connection refused``."""
    seen: BaseException | None = exc
    while seen is not None:  # out of open files: said as such, with what to do
        if isinstance(seen, OSError) and seen.errno in (errno.EMFILE, errno.ENFILE):
            return os_reason(seen)
        seen = seen.__cause__ or seen.__context__
    reason = str(exc) or type(exc).__name__
    if type(exc).__name__ == "DecodingError":  # httpx's: not imported here
        return f"it came with a Content-Encoding that does not decode ({as_clause(reason)})"
    if type(exc).__name__ == "TooManyRedirects":
        return "it was redirected too many times"
    short = _BODY_CUT_SHORT.search(reason)
    if short is not None:  # h11's words: said as a body read straight off the socket is
        missing = int(short.group("expected")) - int(short.group("received"))
        return body_cut_short(missing)
    cause = exc.__cause__ or exc.__context__
    while cause is not None and not str(cause):
        cause = cause.__cause__ or cause.__context__
    # (one of ours is what was being handled when this one came: not its reason)
    if cause is not None and not isinstance(cause, SpyglassError) and str(cause) not in reason:
        reason = f"{reason} ({cause})"
    return as_clause(_ERRNO_PREFIX.sub("", reason).rstrip("."))  # not "SSL: …"


def out_of_memory(exc: BaseException) -> SpyglassError | None:
    """The sentence for an exception that says memory ran out (``MemoryError``, ENOMEM,
    a thread that could not start, zstd's allocation failure), or None for any other:
    not a bug to report, but a limit to raise."""
    import errno

    text = str(exc)
    if isinstance(exc, MemoryError):
        why = "no memory was left"
    elif isinstance(exc, RuntimeError) and "can't start new thread" in text:
        why = "no thread could be started"
    elif isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
        why = "the system could not allocate memory"
    elif type(exc).__name__ == "ZstdError" and ("Allocation error" in text
                                                or "not enough memory" in text):
        why = "zstd could not allocate memory"
    else:
        return None
    return SpyglassError(f"Spyglass ran out of memory ({why}); free some memory, or raise the "
                         "limit set on it (ulimit -v), and try again.")


def json_problem(exc: ValueError) -> str:
    """Why bytes are not JSON, in words to follow a colon: JSON is UTF-8 (``json.loads``
    would guess UTF-16 or UTF-32 from stray bytes, and say its codec failed)."""
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at {exc.start})"
    return str(exc)



_UPLOAD_DROPPED: Final = "_spyglass_upload_dropped"


def mark_upload_cut_off(exc: BaseException, dropped: bool) -> None:
    """Say on ``exc`` (what cut a blob's upload off) whether the registry took the
    cancel of its upload session and dropped what it had received (``dropped``), or
    may keep it until it purges unfinished uploads itself."""
    setattr(exc, _UPLOAD_DROPPED, dropped)


def upload_cut_off(exc: BaseException) -> bool | None:
    """What :func:`mark_upload_cut_off` said on ``exc``, or on what it was raised from
    (a refusal a destination says in its own words): None for no upload cut off."""
    seen: BaseException | None = exc
    while seen is not None:
        dropped = getattr(seen, _UPLOAD_DROPPED, None)
        if isinstance(dropped, bool):
            return dropped
        seen = seen.__cause__
    return None
