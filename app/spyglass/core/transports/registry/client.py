"""The distribution API client: one :class:`RegistryClient` per registry host.

Its connections come from the process-wide pool of
:mod:`spyglass.core.transports.registry.connections`; what an upload needs
besides its requests is in :mod:`spyglass.core.transports.registry.uploads`.

Every request goes through :meth:`RegistryClient.send`, which authenticates
(:class:`~spyglass.core.transports.registry.auth.RegistryAuth`), retries
connection errors, 429 and 502/503/504 on idempotent requests with exponential
backoff (honouring ``Retry-After``), and turns failures into sentences. A
registry, or a repository in it, that ``registries.conf`` blocks is refused before
any request goes out (:meth:`RegistryClient.ping` and :meth:`RegistryClient.url`,
which every request passes first; see :mod:`spyglass.core.registries_conf`).

Uploads (distribution's "Pushing blobs", "Cross-repository blob mount",
"Pushing manifests") are not idempotent and their bodies stream, so no request
of an upload session is ever retried, and a streamed body is only sent once the
``POST`` that opened the session (which carries no body) has settled
authentication: the auth flow then holds a token for the ``pull,push`` scope,
which the session's ``PATCH`` and ``PUT`` requests share.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar, cast

import httpx

from spyglass.core import media
from spyglass.core.buffers import BUFFERS
from spyglass.core.cancel import CancelToken, check, linked
from spyglass.core.credentials import Credentials
from spyglass.core.digest import (
    Digest,
    Readable,
    VerifyingReader,
    verifies_itself,
)
from spyglass.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    Cancelled,
    ConnectionFailed,
    DigestMismatch,
    ImageNotFound,
    InvalidDigest,
    InvalidManifest,
    NotARegistry,
    NotFound,
    ProxyRefused,
    RateLimited,
    RegistryError,
    SpyglassError,
    TLSFailed,
    TooLarge,
    TransportError,
    Unsupported,
    as_clause,
    describe_connection_error,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    ImageIndex,
    manifest_digest,
    parse_manifest,
)
from spyglass.core.registries_conf import check_not_blocked
from spyglass.core.retry import MAX_RETRY_AFTER, RETRY_STATUSES, backoff, pause
from spyglass.core.transports.registry.abortable import (
    abortable,
    raise_if_cancelled,
)
from spyglass.core.transports.registry.auth import (
    SCOPE_EXTENSION,
    SCOPE_ONLY_EXTENSION,
    RegistryAuth,
    parse_challenges,
    pull_scope,
    push_scope,
    read_capped,
    repository_of,
)
from spyglass.core.transports.registry.connections import (
    ATTEMPTS,
    POOL,
    HTTPPool,
    ResponseStream,
)
from spyglass.core.transports.registry.errors import (
    MAX_ERROR_BODY,
    RateLimit,
    error_for,
    retry_after,
)
from spyglass.core.transports.registry.hosts import (
    api_host,
    host_cert_folder,
    is_loopback,
    tls_settings,
)
from spyglass.core.transports.registry.uploads import (
    HashingReader,
    Sent,
    UploadSession,
    fill,
    finished,
    held_back,
    slices,
    streamed,
    with_digest,
)

log = logging.getLogger(__name__)

_T = TypeVar("_T", bytes, int)

PING_TIMEOUT: Final = httpx.Timeout(20.0, connect=15.0)
"""For ``GET /v2/``, which a registry answers at once: a hung server is given up on
sooner than a big blob's slow read would be."""
IDEMPOTENT: Final = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})
"""Methods retried on failure — unless the request's body is a stream, which is sent once."""
DEFAULT_PAGE_SIZE: Final = 1000
UPLOAD_CHUNK_SIZE: Final = 8 * 1024 * 1024
"""Bytes per ``PATCH`` of a chunked upload; one chunk is held in memory."""
_PATCH_ACCEPTED: Final = (201, 202, 204)
"""The answers to an upload's PATCH that take its bytes: 202 as the spec says, 204 of
old registries, and 201 of Amazon ECR (regclient's blobPutUploadChunked)."""
_NO_REFERRERS_API: Final = (400, 401, 403, 404, 405, 406, 501)
"""What registries without the referrers API answer it (the spec says 404)."""

MAX_UPLOAD_CHUNK: Final = 64 * 1024 * 1024
"""The largest chunk a registry's ``OCI-Chunk-Min-Length`` can make us hold in memory."""

OCTET_STREAM: Final = "application/octet-stream"

ABANDON_TIMEOUT: Final = httpx.Timeout(3.0)
"""For the courtesy ``DELETE`` of a failed or cancelled upload: a registry that does
not answer it at once (perhaps the stalled one the copy was cancelled over) is not
waited for; it purges the session itself."""

HURRIED_ABANDON_TIMEOUT: Final = httpx.Timeout(0.5)
"""The same, when the user cancelled the copy: it is to stop within a second, and a
registry that answers at all answers a ``DELETE`` well within this."""


@dataclass(frozen=True)
class ManifestResponse:
    """A manifest as the registry served it, verified."""

    raw: bytes
    media_type: str | None
    digest: Digest


@dataclass(frozen=True)
class ManifestHead:
    """What a ``HEAD`` on a manifest tells: its digest, size and media type."""

    digest: Digest
    size: int | None
    media_type: str | None


@dataclass(frozen=True)
class ManifestUsers:
    """What uses a manifest in a repository (see :meth:`RegistryClient.manifest_users`)."""

    tags: list[str]
    """The tags pointing at it."""
    lists: list[str]
    """The tags of manifest lists that hold it as one of their images."""
    unchecked: list[str] = field(default_factory=list)
    """The tags that could not be looked at (gone meanwhile, unreadable)."""


_UNREADABLE: Final = (NotFound, InvalidManifest, InvalidDigest, TooLarge, DigestMismatch)
"""What makes one tag or list unreadable, not the registry unreachable: a scan of what
uses a manifest says so of that tag and goes on (a failed connection, a refused
sign-in or a rate limit still stop it)."""


def _lists_image(raw: bytes, digest: Digest) -> bool:
    """Whether the manifest list ``raw`` names ``digest`` among its images."""
    try:
        entries = json.loads(raw).get("manifests") or []
        return any(isinstance(e, dict) and e.get("digest") == str(digest) for e in entries)
    except (ValueError, AttributeError, TypeError):
        return False


def _answered_nothing(exc: BaseException) -> bool:
    """A connection that was taken, then left without an answer: the response or the
    TLS handshake timed out (a connection never made, a dropped SYN, is not that)."""
    if isinstance(exc, httpx.ReadTimeout):
        return True
    return isinstance(exc, httpx.ConnectTimeout) and "handshake" in str(exc)


def _mentions(exc: BaseException, text: str) -> bool:
    """True when ``exc`` or an exception it was raised from says ``text``."""
    seen: BaseException | None = exc
    while seen is not None:
        if text in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        text = str(seen)
        if "CERTIFICATE_VERIFY_FAILED" in text or ("SSL" in text and "certificate" in text):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _verify_failed(exc: BaseException) -> bool:
    """Whether the handshake failed on the certificate (not trusted, wrong name)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) \
                or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


SPARE_UPLOAD_AGE: Final = 60.0
"""Seconds an upload session a push check or a failed mount opened is kept for an
upload; an older one is cancelled and a new one started."""

MAX_SPARE_UPLOADS: Final = 16
"""Upload sessions kept per repository for uploads to come (failed mounts of a copy's
parallel blobs each leave one)."""

_CLIENT_CERTIFICATE_ALERTS: Final = ("alert bad certificate", "alert certificate required",
                                     "alert_bad_certificate", "alert_certificate_required")
"""OpenSSL's words for the server's alert that it wants a client certificate (TLS 1.3
says so; TLS 1.2 says "bad certificate" whether none came or one it does not take)."""


def _client_certificate_refused(exc: BaseException) -> bool:
    """Whether the server ended the handshake for want of a client certificate (or one
    it does not accept), not over its own certificate."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen).lower()
        if any(alert in text for alert in _CLIENT_CERTIFICATE_ALERTS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_UNKNOWN_ISSUER: Final = frozenset({2, 18, 19, 20, 21})
"""OpenSSL's verify codes for a chain that ends at no trusted CA (unable to get the
issuer's certificate, self-signed, self-signed in the chain, no local issuer, cannot
verify the first certificate): what a CA certificate of its own cures (not an expired
certificate or a wrong host name)."""

_NOT_THE_ISSUER_TEXT: Final = ("expired", "not yet valid", "mismatch", "revoked")
"""OpenSSL's words for failures a CA certificate does not cure (when only the text is
left: an unknown issuer is then the likely cause)."""


def _ca_would_help(exc: BaseException) -> bool:
    """Whether the handshake failed for want of the CA that issued the certificate."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 16:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for link in chain:  # OpenSSL's own code, where the chain still has it
        code = getattr(link, "verify_code", None)
        if isinstance(link, ssl.SSLCertVerificationError) and isinstance(code, int):
            return code in _UNKNOWN_ISSUER
    for link in chain:  # else its words (httpx passes them on as text)
        if "CERTIFICATE_VERIFY_FAILED" in str(link):
            return not any(text in str(link).lower() for text in _NOT_THE_ISSUER_TEXT)
    return False


_VERIFY_FAILED: Final = re.compile(
    r"certificate verify failed:\s*(.+?)[\s.]*(?:\(_ssl\.c:\d+\))?[\s.)]*$")


def _verify_reason(reason: str) -> str:
    """What OpenSSL says of a certificate it refused (``self-signed certificate in
    certificate chain``), without its ``[SSL: CERTIFICATE_VERIFY_FAILED]`` and
    ``(_ssl.c:1006)`` trimmings; the reason as it is when it is not that."""
    found = _VERIFY_FAILED.search(reason)
    return found.group(1) if found else reason


class RegistryClient:
    """Talks to one registry host. Thread-safe; share one per host and settings.

    ``host`` is the registry as people name it (``docker.io``, ``quay.io``,
    ``127.0.0.1:5000``); requests go to :func:`api_host` of it. ``insecure``
    allows plain HTTP and unverified TLS for this registry (skopeo's
    ``--tls-verify=false``); with ``plain_loopback`` loopback hosts fall back to
    plain HTTP anyway, as Docker does (an explicit ``--tls-verify=true`` turns that
    off, as in skopeo).
    """

    def __init__(
        self,
        host: str,
        *,
        credentials: Credentials | Callable[[], Credentials | None] | None = None,
        insecure: bool = False,
        plain_loopback: bool = True,
        cert_dir: Path | None = None,
        retry_times: int = 3,
        pool: HTTPPool = POOL,
    ) -> None:
        self.host = host
        self.api_host = api_host(host)
        self.insecure = insecure
        self.plain_loopback = plain_loopback
        self.retry_times = retry_times
        self._pool = pool
        self._tls = tls_settings(host, verify=not insecure, cert_dir=cert_dir)
        self._cert_dir = cert_dir
        self._http = pool.client(self._tls)
        # named by the host people know (docker.io): its messages and errors say it
        self.auth = RegistryAuth(host, credentials, self._http)
        self._base: str | None = None
        self._lock = threading.Lock()
        self.rate_limit: RateLimit | None = None
        self._no_head = False
        """The registry answered a manifest ``HEAD`` 405: it is asked with ``GET``."""
        self._spare_uploads: dict[str, list[tuple[UploadSession, float]]] = {}
        """Per repository, the sessions :meth:`check_push` and failed mounts opened, and
        when, kept for the next :meth:`upload_blob` (see :meth:`drop_spare_upload`)."""

    def __repr__(self) -> str:
        return f"RegistryClient({self.host!r}, insecure={self.insecure})"

    @property
    def credentials(self) -> Credentials | None:
        return self.auth.credentials

    @property
    def plain_http(self) -> bool:
        """Whether the registry is reached over plain HTTP (known once it was pinged: an
        insecure registry, or a loopback one without TLS)."""
        with self._lock:
            return self._base is not None and self._base.startswith("http://")

    # ---------------------------------------------------------------- connection

    def ping(self, *, cancel: CancelToken | None = None) -> str:
        """Find how to talk to the registry (https or http) and how it authenticates.

        Returns the base URL. Raises :class:`TLSFailed`, :class:`ConnectionFailed`
        or :class:`NotARegistry` with a sentence; :class:`RegistryBlocked`, before any
        request, for a registry that ``registries.conf`` blocks.
        """
        check_not_blocked(self.host)  # every request goes through here, or url(), first
        return self._ping(cancel)

    def _ping(self, cancel: CancelToken | None) -> str:
        with self._lock:
            if self._base is not None:
                return self._base
        schemes = ["https"]
        if self.insecure or (self.plain_loopback and is_loopback(self.api_host)):
            schemes.append("http")
        first_error: SpyglassError | None = None
        answered: SpyglassError | None = None  # what a server that answered said
        proxied: ConnectionFailed | None = None  # a proxy that could not be reached
        silent = 0  # attempts whose connection was taken but never answered
        for scheme in schemes:
            base = f"{scheme}://{self.api_host}"
            try:
                # a registry answers /v2/ at once: one that takes the connection and
                # never answers is not waited for again and again (a refused
                # connection, or one never made, is still retried)
                response = self._send_raw(
                    "GET", f"{base}/v2/", cancel=cancel, what="Connecting",
                    retries=0 if scheme != schemes[-1] else None,
                    timeout=PING_TIMEOUT, retry_timeouts=False,
                )
            except ProxyRefused:
                raise  # whatever the scheme: the proxy is what stands in the way
            except (TLSFailed, ConnectionFailed) as exc:
                first_error = first_error or exc
                silent += exc.__cause__ is not None and _answered_nothing(exc.__cause__)
                if isinstance(exc, ConnectionFailed) and \
                        self._pool.proxy_for(httpx.URL(f"{base}/v2/")) is not None:
                    proxied = proxied or exc
                continue
            try:
                self._check_ping(response, base)
            except (NotARegistry, RegistryError) as exc:  # no registry, or one busy now
                answered = answered or exc
                first_error = first_error or exc
                continue
            finally:
                response.close()
            with self._lock:
                self._base = base
            return base
        assert first_error is not None
        if silent == len(schemes):
            raise ConnectionFailed(
                f"Cannot reach the registry {self.host}: a server at {self.api_host} "
                "takes connections but answers nothing (it timed out); it may be hung, or "
                "not a registry.")
        # a server that answered (not a registry) says more than a failed handshake,
        # but not more than a certificate that failed verification, or a client
        # certificate the server asked for (a TLS registry answers plain HTTP with a 400);
        # a proxy that cannot be reached is the cause of its scheme's failure, more
        # than the other scheme's direct attempt
        decisive = isinstance(first_error, TLSFailed) and (
            _mentions(first_error, "CERTIFICATE_VERIFY_FAILED")
            or _client_certificate_refused(first_error))
        if not decisive and answered is not None:
            raise answered
        if not decisive and proxied is not None:
            raise proxied
        raise first_error

    def check_reachable(self, *, cancel: CancelToken | None = None) -> None:
        """Ask the registry's ``/v2/`` once more, whatever was found before: raises the
        sentence of a registry that does not answer (now), or answers that it cannot
        (a 5xx); any other answer, a 401 included, is a registry there."""
        base = self.ping(cancel=cancel)
        response = self._send_raw("GET", f"{base}/v2/", what=f"Reaching {self.host}",
                                  cancel=cancel, retries=0, timeout=PING_TIMEOUT)
        response.close()
        if response.status_code >= 500:
            raise error_for(response.status_code, response.headers, b"",
                            what=f"Reaching {self.host}", host=self.host)

    def check_credentials(self, *, cancel: CancelToken | None = None) -> bool:
        """Ask the registry whether the credentials work (``GET /v2/``, authenticated).

        Returns False when the registry asks for no credentials at all (its ``/v2/``
        answers anyone): then they were not checked. Raises
        :class:`AuthenticationFailed` when they do not work.
        """
        self.ping(cancel=cancel)
        if self.auth.scheme is None:
            return False
        response = self.send("GET", "/v2/", what=f"Logging in to {self.host}", cancel=cancel)
        response.close()
        return True

    def _check_ping(self, response: httpx.Response, base: str) -> None:
        version = response.headers.get("docker-distribution-api-version", "")
        if response.status_code == 401:
            self.auth.learn(parse_challenges(response.headers.get_list("www-authenticate")))
            return
        if response.status_code == 200 and (version.startswith("registry/2") or not version):
            return
        attempts = response.extensions.get(ATTEMPTS, 1)
        tried = f" (asked {attempts} times)" if attempts > 1 else ""
        if response.status_code == 429:
            wait = retry_after(response.headers)
            raise RateLimited(
                f"{base}/v2/ answered HTTP 429 Too Many Requests{tried}: the registry "
                f"{self.host} is limiting requests"
                + (f"; it asks to wait {wait:.0f} s" if wait is not None else "")
                + ". Try again later.", retry_after=wait)
        if response.status_code in RETRY_STATUSES:  # the server is there, but busy or down
            raise RegistryError(
                f"{base}/v2/ answered HTTP {response.status_code} "
                f"{response.reason_phrase}{tried}: the registry {self.host} is not taking "
                "requests now (overloaded, down for maintenance, or a proxy in front of it "
                "cannot reach it). Try again later.",
                status=response.status_code,
            )
        raise NotARegistry(
            f"{base}/v2/ answered HTTP {response.status_code}: {self.host} does not look like "
            "a container registry (no distribution API there)."
        )

    def _send_raw(
        self,
        method: str,
        url: str,
        *,
        what: str,
        cancel: CancelToken | None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = False,
        follow_redirects: bool = False,
        content: bytes | Iterable[bytes | memoryview] | None = None,
        retries: int | None = None,
        timeout: httpx.Timeout | None = None,
        scope: str | None = None,
        retry_timeouts: bool = True,
        scope_only: bool = False,
    ) -> httpx.Response:
        """One request with retries; returns the (streamed, unread) response.

        A streamed body (an iterable rather than bytes) is consumed by the
        first attempt, so such a request is never retried; nor is a timeout
        without ``retry_timeouts``. ``scope_only``: a 401 to the token of ``scope``
        is the answer (:data:`SCOPE_ONLY_EXTENSION`).
        """
        extensions: dict[str, object] = {SCOPE_EXTENSION: scope} if scope else {}
        if scope_only:
            extensions[SCOPE_ONLY_EXTENSION] = True
        attempt = 0
        allowed = self.retry_times if retries is None else retries
        if content is not None and not isinstance(content, bytes):
            allowed = 0
        while True:
            check(cancel)
            request = self._http.build_request(
                method, url, params=params, headers=headers,
                # httpcore sends any bytes-like piece; views save a copy of each
                content=cast("bytes | Iterable[bytes] | None", content),
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
                extensions=extensions or None,
            )
            try:
                with abortable(cancel):
                    response = self._http.send(
                        request,
                        auth=self.auth if auth else None,
                        stream=True,
                        follow_redirects=follow_redirects,
                    )
            except SpyglassError as exc:  # from the auth flow (a token request)
                if not isinstance(exc, Cancelled):
                    raise_if_cancelled(cancel, exc)
                raise
            except httpx.TooManyRedirects as exc:
                raise TransportError(
                    f"{what}: {self.host} redirected the request more than "
                    f"{self._http.max_redirects} times.") from exc
            except httpx.TransportError as exc:
                raise_if_cancelled(cancel, exc)
                if isinstance(exc, httpx.LocalProtocolError):
                    # the request itself cannot be written: asking again will not help,
                    # and the library's words quote the header (a token, a password)
                    raise TransportError(
                        f"{what}: the request to {self.host} could not be sent: "
                        f"{unsendable(exc)}") from exc
                if isinstance(exc, httpx.ProxyError) and str(exc).startswith("407"):
                    raise self._proxy_refused(request.url) from exc
                if _is_tls_failure(exc):
                    raise self._tls_failed(exc, request.url) from exc
                if method in IDEMPOTENT and attempt < allowed and (
                        retry_timeouts or not _answered_nothing(exc)):
                    attempt += 1
                    self._sleep(self._backoff(attempt), cancel)
                    continue
                proxy = self._pool.proxy_for(request.url)
                via = f" through {proxy.describe()}" if proxy is not None else ""
                if isinstance(exc, httpx.RemoteProtocolError) and "disconnected" in str(exc):
                    # reached, then dropped without a word (not a peer answering garbage)
                    failed = ConnectionFailed(
                        f"{what}: the registry {self.host}{via} closed the connection "
                        f"without an answer ({describe_connection_error(exc)})."
                    )
                elif isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
                    # reached, then silent: not "cannot reach", which sends one to the
                    # network when the registry is the one that hangs
                    failed = ConnectionFailed(
                        f"{what}: the registry {self.host}{via} stopped answering (nothing "
                        f"{'came' if isinstance(exc, httpx.ReadTimeout) else 'was taken'} "
                        "for the whole timeout)."
                    )
                else:
                    failed = ConnectionFailed(
                        f"Cannot reach the registry {self.host}{via}: "
                        f"{describe_connection_error(exc)}."
                    )
                failed.attempts = attempt + 1
                raise failed from exc
            if response.status_code == 407:  # from a proxy of plain-HTTP requests
                response.close()
                raise self._proxy_refused(request.url)
            rate = RateLimit.from_headers(response.headers)
            if rate is not None:
                self.rate_limit = rate
            asked = retry_after(response.headers)
            if (
                response.status_code in RETRY_STATUSES
                # a POST without a body (an upload session opened, a mount) that was
                # refused made nothing: asking again is safe
                and (method in IDEMPOTENT or (method == "POST" and content is None))
                and attempt < allowed
                # a wait longer than we would make is an answer: said at once, not
                # after minutes of silence
                and (asked is None or asked <= MAX_RETRY_AFTER)
            ):
                attempt += 1
                response.close()
                wait = asked if asked is not None else self._backoff(attempt)
                self._sleep(wait, cancel)
                continue
            if attempt:
                response.extensions[ATTEMPTS] = attempt + 1  # for the sentence of a failure
            return response

    def _proxy_refused(self, url: httpx.URL) -> ProxyRefused:
        """The sentence for a proxy that wants other credentials (407) than its URL has."""
        proxy = self._pool.proxy_for(url)
        if proxy is None:  # a proxy in front of the registry, not one of ours
            return ProxyRefused(
                f"Cannot reach the registry {self.host}: a proxy between answered 407 "
                "Proxy Authentication Required.")
        if proxy.url.username:
            why = f"it does not take the user and password that {proxy.variable} gives it"
        else:
            why = (f"it asks for a user and password; give them in {proxy.variable} as "
                   f"{proxy.url.scheme}://USER:PASSWORD@HOST:PORT")
        return ProxyRefused(
            f"Cannot reach the registry {self.host} through {proxy.describe()}: {why} "
            "(407 Proxy Authentication Required).")

    def _tls_failed(self, exc: BaseException, url: httpx.URL) -> TLSFailed:
        """The sentence for a failed handshake; the command line's names its flag."""
        reason = describe_connection_error(exc) if isinstance(exc, httpx.TransportError) else exc
        through = ""
        proxy = self._pool.proxy_for(url)
        if proxy is not None and proxy.url.scheme == "https":  # whose certificate, then?
            through = f"; through {proxy.describe()}, whose certificate is checked too"
            reason = f"{reason}{through}"
        if _client_certificate_refused(exc):  # whether verified or not: it wants ours
            return self._client_certificate_wanted(reason)
        if self.insecure:
            return TLSFailed(f"The TLS connection to {self.api_host} failed ({reason}).")
        # OpenSSL's reason, trimmed, then the proxy's part (the trim works at the end)
        verified = _verify_reason(str(reason).removesuffix(through)) + through
        if not _verify_failed(exc):
            said = (f"The TLS connection to {self.api_host} failed ({reason}). If the registry "
                    "speaks plain HTTP, allow it to be insecure")
        elif not _ca_would_help(exc):  # expired, another host's: no CA file cures that
            said = (f"The TLS certificate of {self.api_host} could not be verified "
                    f"({verified}). Check the registry's name and its certificate, or "
                    "allow this registry to be insecure")
        else:
            in_use = host_cert_folder(self.host)  # putting it elsewhere would hide that one
            where = (f"a *.crt file in {self._cert_dir}" if self._cert_dir is not None
                     else f"{in_use}/ca.crt" if in_use is not None
                     else f"~/.config/containers/certs.d/{self.host}/ca.crt")
            said = (f"The TLS certificate of {self.api_host} could not be verified "
                    f"({verified}). Put its CA certificate in {where}")
            elsewhere = ("" if self._cert_dir is not None
                         else " (or a folder named by --cert-dir DIR)")
            return TLSFailed(
                f"{said}, or allow this registry to be insecure.",
                on_command_line=f"{said}{elsewhere}, or allow this registry to be insecure "
                "(--tls-verify=false).",
                untrusted=not (proxy is not None and proxy.url.scheme == "https"))
        return TLSFailed(f"{said}.", on_command_line=f"{said} (--tls-verify=false).")

    def _client_certificate_wanted(self, reason: object) -> TLSFailed:
        """The sentence for a server that ended the handshake over the client certificate:
        none was sent, or it does not take the one sent."""
        sent = self._tls.client_cert
        folder = self._cert_dir or host_cert_folder(self.host)
        where = (f"{folder}" if folder is not None
                 else f"~/.config/containers/certs.d/{self.host}")
        if sent is None:
            said = (f"The registry {self.api_host} asks for a client certificate, and none "
                    f"was given ({reason}). Put it in {where} as client.cert, with its key "
                    "as client.key")
            return TLSFailed(f"{said}.", on_command_line=f"{said} (or in a folder named by "
                             "--cert-dir DIR)." if self._cert_dir is None else f"{said}.")
        return TLSFailed(
            f"The registry {self.api_host} does not accept the client certificate "
            f"{sent[0]} ({reason}); check that a CA the registry trusts issued it, and that "
            "it has not expired.")

    @staticmethod
    def _backoff(attempt: int) -> float:
        return backoff(attempt)

    @staticmethod
    def _sleep(seconds: float, cancel: CancelToken | None) -> None:
        pause(seconds, cancel)

    def url(self, path: str, *, cancel: CancelToken | None = None) -> str:
        """The full URL of an API path such as ``/v2/_catalog`` (the first call pings the
        registry, which ``cancel`` can interrupt). A path in a repository that
        ``registries.conf`` blocks is refused before the registry is pinged."""
        repository = repository_of(path)
        if repository is None:
            return self.ping(cancel=cancel) + path
        # the longest prefix decides, as in containers/image: a namespace unblocked
        # under a blocked host is read
        check_not_blocked(self.host, repository)
        return self._ping(cancel) + path

    def send(
        self,
        method: str,
        path_or_url: str,
        *,
        what: str,
        cancel: CancelToken | None = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
        follow_redirects: bool = False,
        content: bytes | Iterable[bytes | memoryview] | None = None,
        kind: str | None = None,
        retries: int | None = None,
        scope: str | None = None,
    ) -> httpx.Response:
        """An authenticated request; raises the mapped error unless the status is in ``ok``.

        The response is streamed: the caller reads (or closes) it. ``kind``
        (``"manifest"``, ``"blob"``) says what a 404 without an error code means.
        ``content`` may be an iterable of bytes, streamed as it is consumed (then
        give ``Content-Length`` in ``headers`` where known); such a request is
        sent once, never retried, and cannot be replayed after a 401, so its
        scope must be authenticated by an earlier request. ``retries`` (None: the
        client's ``retry_times``) caps the retries of this request. ``scope`` is the
        token scope to ask for, where the path does not tell it (an upload session's
        ``Location``) or does not tell all of it (a mount: the repository mounted from).
        """
        url = path_or_url if "://" in path_or_url else self.url(path_or_url, cancel=cancel)
        response = self._send_raw(
            method, url, what=what, cancel=cancel, params=params, headers=headers,
            auth=True, follow_redirects=follow_redirects, content=content, retries=retries,
            scope=scope,
        )
        if response.status_code in ok:
            return response
        try:
            with abortable(cancel):
                body = read_capped(response, MAX_ERROR_BODY) if method != "HEAD" else b""
        except httpx.RequestError:
            body = b""  # the status says enough; a broken error body adds nothing
        finally:
            response.close()
        check(cancel)  # an error body cut short by a cancel: the cancel is the news
        elsewhere = response.request.url
        if response.status_code in (401, 403) and \
                elsewhere.netloc != httpx.URL(self._ping(cancel)).netloc:
            # refused by the server a redirect led to: not the registry's credentials,
            # which are never sent there
            raise AccessDenied(
                f"{what} failed: {self.host} sent the request on to {elsewhere.host}, which "
                f"refused it (HTTP {response.status_code}); Spyglass sends that server no "
                "credentials.", status=response.status_code)
        error = error_for(
            response.status_code, response.headers, body, what=what, host=self.host, kind=kind,
            anonymous=self.auth.anonymous, attempts=response.extensions.get(ATTEMPTS, 1),
            credentials=self.auth.sent,
            keyring_locked=self.auth.keyring_locked if self.auth.anonymous else None,
        )
        error.attempts = response.extensions.get(ATTEMPTS, 1)
        raise error

    def _read_whole(
        self, response: httpx.Response, *, limit: int, what: str,
        cancel: CancelToken | None, kind: str | None = None,
    ) -> tuple[httpx.Response, bytes]:
        """A small answer's body (:meth:`read_body`); one cut off after its headers is
        asked for again (the same request), as a 503 there is, within ``retry_times``.
        Returns the response the body came with."""
        tries = response.extensions.get(ATTEMPTS, 1)
        while True:
            try:
                return response, self.read_body(response, limit=limit, what=what,
                                                cancel=cancel)
            except ConnectionFailed as broken:  # answered, then cut off
                if tries > self.retry_times:
                    broken.attempts = tries
                    raise
                self._sleep(self._backoff(tries), cancel)
                # the registry's own URL, not a redirect's target (where our credentials
                # would go): it redirects again
                asked = (response.history[0] if response.history else response).request
                response = self.send(
                    asked.method, str(asked.url), what=what, cancel=cancel,
                    headers={"Accept": asked.headers["accept"]}
                    if "accept" in asked.headers else None,
                    follow_redirects=True, kind=kind)
                tries += response.extensions.get(ATTEMPTS, 1)

    def read_body(
        self, response: httpx.Response, *, limit: int, what: str,
        cancel: CancelToken | None = None,
    ) -> bytes:
        """Read a small response whole, refusing more than ``limit`` bytes; cancelling
        ``cancel`` ends a read the registry stalls (:class:`Cancelled`)."""
        try:
            length = response.headers.get("content-length")
            if length and length.isdigit() and int(length) > limit:
                raise TooLarge(
                    f"{what}: the registry {self.host} sends {int(length)} bytes, more than "
                    f"the {limit // 1024} KiB accepted."
                )
            with abortable(cancel):
                body = read_capped(response, limit + 1)
        except httpx.RequestError as exc:  # a Content-Encoding that does not decode too
            raise_if_cancelled(cancel, exc)
            raise ConnectionFailed(
                f"{what} broke off: {describe_connection_error(exc)}."
            ) from exc
        finally:
            response.close()
        if len(body) > limit:
            raise TooLarge(
                f"{what}: the registry {self.host} sends more than the {limit // 1024} KiB "
                "accepted."
            )
        return body

    # ---------------------------------------------------------------- listing

    def pages(
        self,
        path: str,
        key: str,
        *,
        what: str,
        page_size: int = DEFAULT_PAGE_SIZE,
        cancel: CancelToken | None = None,
        kind: str | None = None,
    ) -> Iterator[list[str]]:
        """Yield the pages of a paged list (``_catalog``, ``tags/list``) following ``Link``.

        ``n`` asks for pages of ``page_size``; a registry that refuses that size (400:
        distribution 3.1 above its limit, Quay's TOO_MANY_TAGS_REQUESTED) is asked
        again without it, for pages of its own size, as containers/image asks.
        """
        sized: dict[str, str | int] = {"n": page_size}
        for params in (sized, None):
            first = True
            for response in self._linked_pages(
                self.url(path, cancel=cancel), params, what=what, cancel=cancel,
                first_ok=(200, 400) if params else None, kind=kind,
            ):
                if first and response.status_code == 400:
                    response.close()
                    log.info("%s: the registry %s refused pages of %d; asking without a "
                             "size", what, self.host, page_size)
                    break
                first = False
                _, body = self._read_whole(response, limit=MAX_LIST_BODY, what=what,
                                           cancel=cancel, kind=kind)
                yield _names(body, key, what=what, host=self.host)
            else:
                return

    def _linked_pages(
        self,
        url: str,
        params: dict[str, str | int] | None,
        *,
        what: str,
        cancel: CancelToken | None,
        ok: tuple[int, ...] = (200,),
        first_ok: tuple[int, ...] | None = None,
        headers: Mapping[str, str] | None = None,
        kind: str | None = None,
    ) -> Iterator[httpx.Response]:
        """GET ``url`` and every page its ``Link`` ``rel="next"`` leads to (on this
        registry only, never twice); the caller reads (and closes) each response.
        ``first_ok``: the statuses taken for the first page, if not ``ok``."""
        base = httpx.URL(self._ping(cancel) + "/")  # (url() checked the path's repository)
        seen: set[str] = set()
        next_url: str | None = url
        while next_url is not None:
            if next_url in seen:
                raise RegistryError(
                    f"{what}: the registry {self.host} sent a next-page link back to a page "
                    "already read; stopping."
                )
            seen.add(next_url)
            response = self.send(
                "GET", next_url, what=what, cancel=cancel, params=params,
                ok=first_ok if first_ok is not None and len(seen) == 1 else ok,
                headers=headers, follow_redirects=True, kind=kind,
            )
            link = response.headers.get("link")
            yield response
            next_url = _next_link(link, httpx.URL(next_url), base, what=what, host=self.host)
            params = None

    def catalog_pages(
        self, *, page_size: int = DEFAULT_PAGE_SIZE, cancel: CancelToken | None = None
    ) -> Iterator[list[str]]:
        """The registry's repositories, page by page."""
        return self.pages(
            "/v2/_catalog", "repositories", what=f"Listing the repositories of {self.host}",
            page_size=page_size, cancel=cancel, kind="catalog",
        )

    def tag_pages(
        self, repository: str, *, page_size: int = DEFAULT_PAGE_SIZE,
        cancel: CancelToken | None = None,
    ) -> Iterator[list[str]]:
        """A repository's tags, page by page, in the registry's order."""
        return self.pages(
            f"/v2/{repository}/tags/list", "tags",
            what=f"Listing the tags of {self.host}/{repository}",
            page_size=page_size, cancel=cancel,
        )

    def first_tag_page(
        self, repository: str, *, page_size: int = DEFAULT_PAGE_SIZE,
        cancel: CancelToken | None = None,
    ) -> tuple[list[str], bool]:
        """The first page of a repository's tags, and whether it is the whole list
        (no ``Link`` to a next page); the next page is not asked for."""
        what = f"Listing the tags of {self.host}/{repository}"
        response = self.send(
            "GET", f"/v2/{repository}/tags/list", what=what, cancel=cancel,
            params={"n": page_size}, ok=(200, 400),
        )
        if response.status_code == 400:  # that page size refused: see pages()
            response.close()
            response = self.send("GET", f"/v2/{repository}/tags/list", what=what,
                                 cancel=cancel)
        link = response.headers.get("link", "")
        body = self.read_body(response, limit=MAX_LIST_BODY, what=what, cancel=cancel)
        return _names(body, "tags", what=what, host=self.host), "next" not in link

    def tags_of(self, repository: str, *, cancel: CancelToken | None = None) -> list[str]:
        """Every tag of a repository."""
        return [tag for page in self.tag_pages(repository, cancel=cancel) for tag in page]

    def manifest_users(
        self,
        repository: str,
        digest: Digest,
        *,
        tags: list[str] | None = None,
        cancel: CancelToken | None = None,
        workers: int = 8,
        lists: bool = True,
        looking: Callable[[int], None] | None = None,
    ) -> ManifestUsers:
        """What in ``repository`` uses the manifest ``digest``: the tags pointing at it,
        and (with ``lists``) the tags of manifest lists that hold it as one of their
        images, which deleting it would break. HEAD requests in parallel; each list a
        tag points at is read once. ``looking`` is told how many tags are looked at,
        before they are (one request each: a command may say so)."""
        from concurrent.futures import ThreadPoolExecutor

        candidates = self.tags_of(repository, cancel=cancel) if tags is None else tags
        if looking is not None:
            looking(len(candidates))
        held: dict[Digest, bool | None] = {}
        reading: dict[Digest, threading.Lock] = {}
        guard = threading.Lock()

        def holds(list_digest: Digest, cancel: CancelToken) -> bool | None:
            """Whether the list names ``digest`` (None: it cannot be read): each list
            read once, whatever the tags pointing at it."""
            with guard:
                lock = reading.setdefault(list_digest, threading.Lock())
            with lock:
                if list_digest not in held:
                    try:
                        raw = self.get_manifest(repository, str(list_digest),
                                                cancel=cancel).raw
                        held[list_digest] = _lists_image(raw, digest)
                    except _UNREADABLE:
                        held[list_digest] = None
                return held[list_digest]

        # leaving the pool's block waits for its lookups: they stop with the block
        with ThreadPoolExecutor(max_workers=workers) as pool, linked(cancel) as lookups:

            def use(tag: str) -> str:
                try:
                    head = self.head_manifest(repository, tag, cancel=lookups,
                                              confirm_missing=True)
                except _UNREADABLE:
                    if not lists:
                        raise
                    return "unchecked"  # gone meanwhile, or unreadable: said, not fatal
                if head.digest == digest:
                    return "tag"
                if not lists or head.media_type not in media.INDEX_TYPES:
                    return ""
                found = holds(head.digest, lookups)
                return "unchecked" if found is None else "list" if found else ""

            uses = list(pool.map(use, candidates))
        pairs = list(zip(candidates, uses, strict=True))
        return ManifestUsers([t for t, u in pairs if u == "tag"],
                             [t for t, u in pairs if u == "list"],
                             [t for t, u in pairs if u == "unchecked"])

    def referrers(
        self,
        repository: str,
        digest: Digest,
        *,
        artifact_type: str | None = None,
        cancel: CancelToken | None = None,
    ) -> list[Descriptor] | None:
        """The OCI 1.1 referrers of manifest ``digest`` through the referrers API, every
        page (``Link`` ``rel="next"``); None when the registry has no such API.

        "No such API" is what the spec says (404), and what registries without it
        answer instead: 400, 405, 406 or 501, a 401 or 403 that the credentials do not
        cure (Harbor 2.7 answers 401 without a challenge), or a first page that is
        not an image index (a web page). The caller then falls back to the referrers
        tag schema, as go-containerregistry does.

        ``artifact_type`` filters, on the server when it says it applied the
        filter (``OCI-Filters-Applied``), else here.
        """
        what = f"Listing the referrers of {self.host}/{repository}@{digest}"
        params: dict[str, str | int] | None = (
            {"artifactType": artifact_type} if artifact_type else None
        )
        found: list[Descriptor] = []
        for response in self._linked_pages(
            self.url(f"/v2/{repository}/referrers/{digest}", cancel=cancel), params, what=what,
            cancel=cancel, ok=(200, *_NO_REFERRERS_API), headers={"Accept": media.OCI_INDEX},
        ):
            status = response.status_code
            if status != 200:
                response.close()
                if found:
                    raise RegistryError(
                        f"{what}: the registry {self.host} lost a page of the list ({status})."
                    )
                log.info("%s: the registry %s answered %d; taking it for a registry "
                         "without the referrers API", what, self.host, status)
                return None
            typed = response.headers.get("content-type", "").split(";")[0].strip()
            if typed != media.OCI_INDEX and not found:
                # the spec's answer is typed so; anything else (an untyped empty list,
                # say) is no referrers API, as oras-go takes it: the tag schema is asked
                response.close()
                log.info("%s: the registry %s answered with %s, not an image index; taking "
                         "it for a registry without the referrers API", what, self.host,
                         typed or "no Content-Type")
                return None
            filtered = "artifacttype" in response.headers.get(
                "oci-filters-applied", ""
            ).lower()
            body = self.read_body(response, limit=MAX_LIST_BODY, what=what, cancel=cancel)
            try:
                index = parse_manifest(body, media.OCI_INDEX)
                if not isinstance(index, ImageIndex):
                    raise InvalidManifest("it is a manifest, not an index")
            except SpyglassError as exc:
                problem = (f"{what}: the registry {self.host} answered with something that "
                           f"is not an image index: {str(exc).rstrip('.')}.")
                if found:
                    raise RegistryError(problem) from exc
                log.info("%s; taking it for a registry without the referrers API", problem)
                return None
            found.extend(
                d for d in index.manifests
                if filtered or artifact_type is None or d.artifact_type == artifact_type
            )
        return found

    # ---------------------------------------------------------------- manifests and blobs

    def get_manifest(
        self, repository: str, reference: str, *, cancel: CancelToken | None = None
    ) -> ManifestResponse:
        """GET a manifest by tag or digest, verified against the digest asked for (or the
        ``Docker-Content-Digest`` the registry states, for a tag)."""
        what = f"Reading the manifest {self.host}/{repository}{_ref_suffix(reference)}"
        response = self.send(
            "GET", f"/v2/{repository}/manifests/{reference}", what=what,
            cancel=cancel, kind="manifest",
            headers={"Accept": ", ".join(media.ACCEPT_MANIFESTS)},
            follow_redirects=True,  # registry.k8s.io sends them to another registry
        )
        response, raw = self._read_whole(response, limit=MAX_MANIFEST_SIZE, what=what,
                                         cancel=cancel, kind="manifest")
        stated = response.headers.get("docker-content-digest")
        content_type = response.headers.get("content-type", "").split(";")[0].strip() or None
        media_type = content_type if content_type in media.MANIFEST_TYPES else None
        expected = _digest_or_none(reference) or _digest_or_none(stated or "")
        algorithm = expected.algorithm if expected else "sha256"
        actual = manifest_digest(raw, media_type, algorithm)
        if expected is not None and actual != expected:
            raise DigestMismatch(
                f"{what}: the registry sent a manifest that hashes to {actual}, not {expected}; "
                "it is not trusted."
            )
        return ManifestResponse(raw, media_type, actual)

    def head_manifest(
        self, repository: str, reference: str, *, cancel: CancelToken | None = None,
        confirm_missing: bool = False,
    ) -> ManifestHead:
        """HEAD a manifest: its digest (``Docker-Content-Digest``), size and media type.

        A registry that answers no ``HEAD`` (405) is asked with ``GET``. So is one that
        answers ``HEAD`` 404 when ``confirm_missing`` (older Nexus answers 404 to the
        ``HEAD`` of a manifest it serves), for the callers to whom "not there" must be
        sure (a delete), as skopeo resolves a tag with ``GET``."""
        # "manifest" in ``what`` maps a body-less 404 to ImageNotFound (errors.error_for)
        what = f"Looking up the manifest {self.host}/{repository}{_ref_suffix(reference)}"
        if self._no_head:  # it said so once: not asked twice each time
            got = self.get_manifest(repository, reference, cancel=cancel)
            return ManifestHead(got.digest, len(got.raw), got.media_type)
        try:
            response = self.send(
                "HEAD", f"/v2/{repository}/manifests/{reference}", what=what,
                cancel=cancel, kind="manifest",
                headers={"Accept": ", ".join(media.ACCEPT_MANIFESTS)},
                follow_redirects=True,
            )
        except (Unsupported, ImageNotFound) as exc:
            if isinstance(exc, ImageNotFound) and not confirm_missing:
                raise
            if isinstance(exc, Unsupported):
                self._no_head = True
            got = self.get_manifest(repository, reference, cancel=cancel)
            return ManifestHead(got.digest, len(got.raw), got.media_type)
        response.close()
        stated = response.headers.get("docker-content-digest")
        digest = _digest_or_none(stated or "")
        if digest is None:
            if (by_digest := _digest_or_none(reference)) is not None:
                digest = by_digest
            else:
                # no digest header: fetch the manifest itself and hash it
                return_value = self.get_manifest(repository, reference, cancel=cancel)
                return ManifestHead(
                    return_value.digest, len(return_value.raw), return_value.media_type
                )
        length = response.headers.get("content-length")
        content_type = response.headers.get("content-type", "").split(";")[0].strip() or None
        return ManifestHead(digest, int(length) if length and length.isdigit() else None,
                            content_type)

    def open_blob(
        self,
        repository: str,
        digest: Digest,
        *,
        start: int = 0,
        end: int | None = None,
        retries: int | None = None,
        cancel: CancelToken | None = None,
    ) -> ResponseStream:
        """Stream a blob (following redirects; ``Authorization`` never leaves the registry).
        ``retries`` (None: the client's ``retry_times``) caps the request's retries.

        With ``start``/``end`` (inclusive), a ranged read: the registry must answer 206
        with a matching ``Content-Range``, else this raises.
        """
        what = f"Reading the blob {digest} of {self.host}/{repository}"
        headers: dict[str, str] = {}
        ranged = start > 0 or end is not None
        if ranged:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        response = self.send(
            "GET", f"/v2/{repository}/blobs/{digest}", what=what,
            cancel=cancel, kind="blob", retries=retries,
            headers=headers, follow_redirects=True, ok=(200, 206) if ranged else (200,),
        )
        if ranged:
            if response.status_code != 206:
                response.close()
                raise RegistryError(
                    f"{what}: the registry ignored the range request for bytes {start}- and "
                    f"answered HTTP {response.status_code} with the whole blob.",
                    status=response.status_code,
                )
            content_range = response.headers.get("content-range", "")
            if not content_range.startswith(f"bytes {start}-"):
                response.close()
                raise RegistryError(
                    f"{what}: the registry answered the range request with "
                    f'"{content_range}" instead of bytes {start}-.',
                    status=206,
                )
        return ResponseStream(response, what, cancel)

    def delete_manifest(
        self, repository: str, digest: Digest, *, cancel: CancelToken | None = None
    ) -> None:
        """DELETE a manifest by digest (the registry must allow deletes)."""
        what = f"Deleting {self.host}/{repository}@{digest}"
        response = self.send(
            "DELETE", f"/v2/{repository}/manifests/{digest}", what=what,
            cancel=cancel, kind="manifest",
            ok=(200, 202),
        )
        response.close()


    # ---------------------------------------------------------------- uploads

    def blob_exists(
        self, repository: str, digest: Digest, *, cancel: CancelToken | None = None
    ) -> int | None:
        """HEAD a blob in ``repository``: its size, or None when the repository lacks it.

        The size is the ``Content-Length`` the registry states, -1 when it states
        none. A 404 (no such blob, or no such repository) is None; anything else
        that is not 200 raises the mapped error (401/403 included).
        """
        what = f"Looking up the blob {digest} in {self.host}/{repository}"
        response = self.send(
            "HEAD", f"/v2/{repository}/blobs/{digest}", what=what, cancel=cancel,
            kind="blob", ok=(200, 404), follow_redirects=True,
        )
        response.close()
        if response.status_code == 404:
            return None
        length = response.headers.get("content-length", "")
        return int(length) if length.isdigit() else -1

    def mount_blob(
        self,
        repository: str,
        digest: Digest,
        from_repository: str,
        *,
        cancel: CancelToken | None = None,
    ) -> bool:
        """Link the blob ``digest`` of ``from_repository`` into ``repository`` without its bytes.

        ``POST /v2/REPOSITORY/blobs/uploads/?mount=DIGEST&from=FROM``: True when the
        registry mounted it (201). A registry that cannot — the blob is not in
        ``from_repository``, or it does not mount at all — starts an ordinary
        upload instead (202); that session is cancelled (``DELETE``) and this
        returns False; that session is kept for the upload that follows (see
        :meth:`check_push`). Refusals raise the mapped error: distribution wants pull
        access to ``from_repository`` as well and answers 401 for the whole
        request without it (:class:`AccessDenied` with credentials).
        """
        what = (
            f"Mounting the blob {digest} from {self.host}/{from_repository} into {repository}"
        )
        # the token asks for both repositories at once, as containers/image asks: Docker
        # Hub's challenge names only the one mounted into, and refuses the mount without
        # pull access to the other
        scope = f"{push_scope(repository)} {pull_scope(from_repository)}"
        response = self.send(
            "POST", f"/v2/{repository}/blobs/uploads/", what=what, cancel=cancel,
            params={"mount": str(digest), "from": from_repository}, ok=(201, 202), retries=0,
            scope=scope,
        )
        response.close()
        if response.status_code == 201:
            stated = _digest_or_none(response.headers.get("docker-content-digest", ""))
            if _another_blob(stated, digest):
                raise RegistryError(
                    f"{what}: the registry {self.host} answered that it mounted {stated} "
                    "instead.",
                    status=201,
                )
            if digest.algorithm != "sha256" and self.blob_exists(
                    repository, digest, cancel=cancel) is None:
                # distribution 2.8 answers 201 to a sha512 mount without linking the blob
                log.info("%s: the registry answered 201 but does not have the blob; it is "
                         "uploaded instead", what)
                return False
            return True
        try:
            self._keep_spare(repository, self._session_of(response, what, scope))
        except RegistryError as exc:
            log.warning("%s", exc)  # an upload Location we will not follow: nothing to cancel
        return False

    def check_push(
        self,
        repository: str,
        *,
        held: Digest | None = None,
        elsewhere: str | None = None,
        cancel: CancelToken | None = None,
    ) -> bool:
        """Whether the credentials allow a push to ``repository``, storing nothing new;
        raises the refusal a push would meet (:class:`AuthenticationFailed`,
        :class:`AccessDenied`).

        ``held`` is a blob the copy writes (its config). Where ``repository`` holds it
        already (a ``HEAD`` says), it is mounted onto itself: the registry checks
        push access and links what is linked (distribution answers 201 and keeps
        nothing). Where it does not, but the repository ``elsewhere`` of this registry
        may, it is mounted from there: the check does the copy's first mount, and
        True is returned when it did. Otherwise, or when such a mount is refused (no
        pull access there) or answered with an upload session, that session is kept
        for the next :meth:`upload_blob` to ``repository``, which then asks for none.
        A copy whose blobs are all there must not open a session it never uses:
        :meth:`drop_spare_upload` cancels it, but distribution 2.8 refuses that
        cancel under token authentication (it wants ``delete``) and keeps a cancelled
        session's files under Basic (a week, by default)."""
        what = f"Checking that {self.host}/{repository} can be written"
        source = None
        if held is not None:
            source = repository if self._holds_for_push(repository, held, cancel) else elsewhere
        if held is not None and source is not None:
            scope = push_scope(repository)
            if source != repository:
                scope = f"{scope} {pull_scope(source)}"
            try:
                response = self.send(
                    "POST", f"/v2/{repository}/blobs/uploads/", what=what, cancel=cancel,
                    params={"mount": str(held), "from": source}, ok=(201, 202),
                    scope=scope,
                )
            except (AuthenticationFailed, AccessDenied):
                if source == repository:
                    raise
                response = None  # perhaps no pull access there: the upload session tells
            if response is not None:
                response.close()
                if response.status_code == 201:
                    # distribution 2.8 answers 201 to a sha512 mount without linking it
                    return source != repository and held.algorithm == "sha256"
                self._keep_spare(repository, self._session_of(response, what, scope))
                return False
        self._keep_spare(repository, self._start_upload(repository, what=what, cancel=cancel))
        return False

    def _holds_for_push(self, repository: str, digest: Digest,
                        cancel: CancelToken | None) -> bool:
        """Whether ``repository`` holds the blob ``digest``, asked with the push token
        the check needs next (one token); False when that cannot be told (the upload
        session that follows says the refusal in the check's words)."""
        try:
            response = self.send(
                "HEAD", f"/v2/{repository}/blobs/{digest}", cancel=cancel, kind="blob",
                what=f"Looking up the blob {digest} in {self.host}/{repository}",
                ok=(200, 404), follow_redirects=True, scope=push_scope(repository),
            )
        except (AuthenticationFailed, AccessDenied):
            return False
        response.close()
        return response.status_code == 200

    def _keep_spare(self, repository: str, session: UploadSession) -> None:
        """Keep ``session`` for the next upload to ``repository`` (at most
        :data:`MAX_SPARE_UPLOADS`; the oldest beyond them is cancelled)."""
        with self._lock:
            spares = self._spare_uploads.setdefault(repository, [])
            spares.append((session, time.monotonic()))
            extra = spares[:-MAX_SPARE_UPLOADS]
            del spares[:-MAX_SPARE_UPLOADS]
        for old, _ in extra:
            self._abandon_upload(old.location, f"An upload to {self.host}/{repository}",
                                 old.scope)

    def drop_spare_upload(self, repository: str, *, hurried: bool = False) -> None:
        """Cancel the sessions kept for ``repository`` that no upload took
        (``hurried``: the copy was stopped)."""
        with self._lock:
            spares = self._spare_uploads.pop(repository, [])
        for session, _ in spares:
            self._abandon_upload(session.location, f"An upload to {self.host}/{repository}",
                                 session.scope, hurried=hurried)

    def _take_spare_upload(self, repository: str) -> UploadSession | None:
        """The newest session kept for ``repository``, while it is fresh (a copy that
        waited in a queue, or a registry restarted meanwhile, may find it gone: older
        ones are cancelled, and a new one started)."""
        now = time.monotonic()
        with self._lock:
            spares = self._spare_uploads.get(repository, [])
            stale = [spare for spare in spares if now - spare[1] > SPARE_UPLOAD_AGE]
            fresh = [spare for spare in spares if now - spare[1] <= SPARE_UPLOAD_AGE]
            taken = fresh.pop()[0] if fresh else None
            if fresh:
                self._spare_uploads[repository] = fresh
            else:
                self._spare_uploads.pop(repository, None)
        for session, _ in stale:
            self._abandon_upload(session.location, f"An upload to {self.host}/{repository}",
                                 session.scope)
        return taken

    def upload_blob(
        self,
        repository: str,
        stream: Readable,
        digest: Digest | None,
        size: int | None,
        *,
        cancel: CancelToken | None = None,
        progress: Callable[[int], None] | None = None,
        chunk_size: int | None = None,
    ) -> tuple[Digest, int]:
        """Upload a blob read from ``stream`` into ``repository``; return its digest and size.

        A ``POST`` without a body opens an upload session (and settles
        authentication for the ``pull,push`` scope). With ``digest`` and ``size``
        known (and no ``chunk_size``), one ``PUT ?digest=`` then streams the whole
        blob (monolithic).
        Otherwise (a blob being recompressed, say) one ``PATCH`` streams it with
        ``Transfer-Encoding: chunked``, as docker and containers/image push, and
        a closing ``PUT ?digest=`` names the sha256 computed while streaming; a
        blob of at most :data:`UPLOAD_CHUNK_SIZE` bytes goes in that ``PUT``
        alone. With ``chunk_size`` the blob goes instead in ``PATCH`` requests of
        that many bytes (``Content-Range``, each to the ``Location`` the previous
        answer named), for registries or proxies that limit a request's size.

        The bytes are checked against ``digest`` and ``size`` (when given) as they
        flow, and the last piece is held back until the check passed, so a
        mismatch, a failing stream or ``cancel`` never completes the upload: the
        session is cancelled with ``DELETE`` (best effort: distribution 2.8 keeps
        what it received of a broken-off ``PUT`` and then refuses the ``DELETE``,
        whose ``_state`` names the old offset; the registry purges such sessions
        later) and the error raised. Memory use is at most one chunk.
        ``progress`` is called with the bytes just sent. No request of the
        session is retried. An upload ``Location`` on another server (scheme,
        host and port must equal the registry's) or not http(s) is refused with
        :class:`RegistryError`.
        """
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1 byte, not {chunk_size}")
        target = f"{self.host}/{repository}"
        what = f"Uploading {f'the blob {digest}' if digest else 'a blob'} to {target}"
        hashing: HashingReader | None = None
        verifying: VerifyingReader | None = None
        if digest is not None and verifies_itself(stream, digest, size, cancel):
            # it checks digest, size and cancel itself: hashing it again only costs CPU
            assert isinstance(stream, VerifyingReader)
            verifying = stream
            reader: Readable = verifying
        elif digest is not None:
            verifying = VerifyingReader(
                stream, digest, size, what=f"The blob {digest} uploaded to {target}",
                cancel=cancel,
            )
            reader = verifying
        else:
            hashing = HashingReader(
                stream, size, what=f"The blob uploaded to {target}", cancel=cancel
            )
            reader = hashing
        spare = self._take_spare_upload(repository)
        session = spare or self._start_upload(repository, what=what, cancel=cancel)
        try:
            if digest is not None and size is not None and chunk_size is None:
                self._put_whole(
                    session, held_back(reader, progress), digest, size, what=what,
                    cancel=cancel,
                )
            elif chunk_size is None:
                self._patch_streamed(
                    session, reader, lambda: digest or finished(hashing), what=what,
                    cancel=cancel, progress=progress,
                )
            else:
                self._put_chunks(
                    session, reader, lambda: digest or finished(hashing), what=what,
                    cancel=cancel, progress=progress,
                    chunk_size=max(chunk_size, min(session.min_chunk, MAX_UPLOAD_CHUNK)),
                )
        except NotFound as exc:
            self._abandon_upload(session.location, what, session.scope)
            if spare is None:
                raise
            # the session the check kept was gone after all (the registry restarted
            # with another secret, say): worth another attempt, which starts its own
            raise ConnectionFailed(f"{what} failed: the upload session the registry "
                                   f"opened for it was gone ({as_clause(str(exc))})") from exc
        except BaseException:
            self._abandon_upload(session.location, what, session.scope,
                                 hurried=cancel is not None and cancel.cancelled)
            raise
        if verifying is not None:
            assert digest is not None
            return digest, verifying.bytes_read
        assert hashing is not None
        return hashing.digest, hashing.bytes_read

    def _start_upload(
        self, repository: str, *, what: str, cancel: CancelToken | None
    ) -> UploadSession:
        response = self.send(
            "POST", f"/v2/{repository}/blobs/uploads/", what=what, cancel=cancel,
            ok=(202,),  # asked again after a 429 or 502/503/504 (nothing was opened)
        )
        response.close()
        return self._session_of(response, what, push_scope(repository))

    def _session_of(self, response: httpx.Response, what: str, scope: str) -> UploadSession:
        """The upload session a 202 to a ``POST`` opened (``scope``: the token's)."""
        minimum = response.headers.get("oci-chunk-min-length", "")
        return UploadSession(
            self._upload_location(response, what), scope,
            int(minimum) if minimum.isdigit() else 0,
        )

    def _put_whole(
        self,
        session: UploadSession,
        body: Iterator[bytes | memoryview],
        digest: Digest,
        size: int,
        *,
        what: str,
        cancel: CancelToken | None,
    ) -> None:
        response = self.send(
            "PUT", with_digest(session.location, digest), what=what, cancel=cancel,
            scope=session.scope,
            headers={"Content-Type": OCTET_STREAM, "Content-Length": str(size)},
            content=body, ok=(201,), retries=0,
        )
        self._check_created(response, digest, what)

    def _close_upload(
        self, session: UploadSession, digest: Digest, *, what: str, cancel: CancelToken | None
    ) -> None:
        """The ``PUT ?digest=`` without a body that completes an upload sent in ``PATCH``es
        (bytes, so it can be sent again with a new token should the old one expire)."""
        response = self.send(
            "PUT", with_digest(session.location, digest), what=what, cancel=cancel,
            scope=session.scope,
            headers={"Content-Type": OCTET_STREAM, "Content-Length": "0"},
            content=b"", ok=(201,), retries=0,
        )
        self._check_created(response, digest, what)

    def _patch_streamed(
        self,
        session: UploadSession,
        reader: Readable,
        final_digest: Callable[[], Digest],
        *,
        what: str,
        cancel: CancelToken | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        """The blob in one streamed ``PATCH``, then ``PUT ?digest=``; a small one in the
        ``PUT`` alone. A failing or mismatching stream breaks the ``PATCH`` off, so
        the ``PUT`` that would complete the upload is never sent. (distribution 2.8
        then keeps what it received until it purges stale uploads: the ``DELETE``
        can only name the session's state before the ``PATCH``, which it refuses;
        docker and skopeo leave the same behind.)"""
        with BUFFERS.lend(UPLOAD_CHUNK_SIZE) as buffer:
            first, ended = fill(reader, buffer)
            if ended:
                self._put_whole(
                    session, slices(first, progress), final_digest(), len(first),
                    what=what, cancel=cancel,
                )
                return
            sent = Sent()
            response = self.send(
                "PATCH", session.location, what=what, cancel=cancel,
                scope=session.scope,
                headers={"Content-Type": OCTET_STREAM},
                content=streamed(first, reader, buffer, sent, progress),
                ok=_PATCH_ACCEPTED, retries=0,
            )
        response.close()
        if not sent.complete:
            # httpcore stops sending quietly when the server answers early
            raise RegistryError(
                f"{what}: the registry {self.host} answered HTTP {response.status_code} "
                f"after {sent.count} bytes, before the whole blob was sent; the upload was "
                "abandoned.",
                status=response.status_code,
            )
        session.location = self._upload_location(response, what)
        self._check_range(response, sent.count - 1, what)
        self._close_upload(session, final_digest(), what=what, cancel=cancel)

    def _put_chunks(
        self,
        session: UploadSession,
        reader: Readable,
        final_digest: Callable[[], Digest],
        *,
        what: str,
        cancel: CancelToken | None,
        progress: Callable[[int], None] | None,
        chunk_size: int,
    ) -> None:
        with BUFFERS.lend(chunk_size) as buffer:  # the one chunk held in memory
            self._send_chunks(
                session, reader, final_digest, buffer, what=what, cancel=cancel,
                progress=progress,
            )

    def _send_chunks(
        self,
        session: UploadSession,
        reader: Readable,
        final_digest: Callable[[], Digest],
        buffer: memoryview,
        *,
        what: str,
        cancel: CancelToken | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        offset = 0
        while True:
            check(cancel)
            chunk, ended = fill(reader, buffer)
            if ended and offset == 0:
                # all of it fits in one chunk, so its digest is known now: one PUT does it
                self._put_whole(
                    session, slices(chunk, progress), final_digest(), len(chunk),
                    what=what, cancel=cancel,
                )
                return
            if chunk:
                end = offset + len(chunk) - 1
                response = self.send(
                    "PATCH", session.location, what=what, cancel=cancel,
                    scope=session.scope,
                    headers={
                        "Content-Type": OCTET_STREAM,
                        "Content-Length": str(len(chunk)),
                        "Content-Range": f"{offset}-{end}",
                    },
                    content=slices(chunk, progress), ok=_PATCH_ACCEPTED, retries=0,
                )
                response.close()
                session.location = self._upload_location(response, what)
                self._check_range(response, end, what)
                offset = end + 1
            if ended:
                break
        self._close_upload(session, final_digest(), what=what, cancel=cancel)

    def _check_range(self, response: httpx.Response, end: int, what: str) -> None:
        """Compare the ``Range: 0-END`` a chunk's answer states with what was sent."""
        stated = response.headers.get("range", "").strip()
        first, dash, last = stated.removeprefix("bytes=").partition("-")
        if not (dash and first.isdigit() and last.isdigit()):
            return  # not stated, or in a form we do not know: nothing to compare
        if int(first) != 0 or int(last) != end:
            raise RegistryError(
                f"{what}: after {end + 1} bytes were sent the registry {self.host} says it "
                f"holds bytes {stated} of the upload; the upload is out of step and was "
                "abandoned.",
                status=response.status_code,
            )

    def _check_created(self, response: httpx.Response, digest: Digest, what: str) -> None:
        response.close()
        stated = _digest_or_none(response.headers.get("docker-content-digest", ""))
        if _another_blob(stated, digest):
            raise DigestMismatch(
                f"{what}: the registry {self.host} stored the blob as {stated}, not as "
                f"{digest}; it is not trusted."
            )

    def _upload_location(self, response: httpx.Response, what: str) -> str:
        """The upload ``Location`` of an answer, resolved; refused unless on the registry.

        Only the registry's own scheme, host and port are accepted: the session's
        requests carry its credentials and the blob.
        """
        location = response.headers.get("location", "").strip()
        if not location:
            raise RegistryError(
                f"{what}: the registry {self.host} answered HTTP {response.status_code} "
                "without the Location to upload to.",
                status=response.status_code,
            )
        shown = location if len(location) <= 100 else location[:100] + "…"
        try:
            url = response.request.url.join(location)
        except httpx.InvalidURL as exc:
            raise RegistryError(
                f'{what}: the registry {self.host} named "{shown}" as the place to upload to, '
                "which is not a URL.",
                status=response.status_code,
            ) from exc
        if url.scheme not in ("http", "https"):
            raise RegistryError(
                f'{what}: the registry {self.host} named "{shown}" as the place to upload to, '
                "which is not an http(s) URL; refusing to follow it.",
                status=response.status_code,
            )
        base = httpx.URL(self._ping(None) + "/")  # known by now: the POST went there
        if _origin(url) != _origin(base):
            raise RegistryError(
                f"{what}: the registry {self.host} named {_origin_text(url)} as the place to "
                f"upload to, another server than {_origin_text(base)}; refusing to send the "
                f"blob (and the credentials for {self.host}) there.",
                status=response.status_code,
            )
        return str(url.copy_with(fragment=None))

    def _abandon_upload(self, location: str, what: str, scope: str, *,
                        hurried: bool = False) -> None:
        """Cancel an upload session (best effort: the registry purges stale ones anyway),
        with the session's own token scope: containers/image cancels so too, since the
        ``delete`` action is rarely granted (Quay gives it to no one). ``hurried``: the
        user cancelled the copy, which is to end at once (:data:`HURRIED_ABANDON_TIMEOUT`)."""
        try:
            response = self._send_raw(
                "DELETE", location, what=f"{what} (cancelling the upload)", cancel=None,
                auth=True, retries=0, scope=scope, scope_only=True,
                timeout=HURRIED_ABANDON_TIMEOUT if hurried else ABANDON_TIMEOUT,
            )
        except SpyglassError as exc:
            log.info("%s: cancelling the upload session failed: %s", what, exc)
            return
        response.close()
        if response.status_code == 404:
            # gone already, or (distribution after a broken-off body) a state it no longer
            # accepts: then it keeps what it received until it purges stale uploads
            log.info("%s: the registry did not take the upload session's cancel (HTTP 404); "
                     "it purges stale uploads itself", what)
        elif response.status_code not in (200, 202, 204):
            log.info(
                "%s: cancelling the upload session answered HTTP %s", what, response.status_code
            )

    def put_manifest(
        self,
        repository: str,
        reference: str,
        raw: bytes,
        media_type: str,
        *,
        cancel: CancelToken | None = None,
    ) -> Digest:
        """PUT a manifest under a tag or digest, with ``media_type`` as its Content-Type.

        Returns its digest. By digest, the bytes must hash to it (checked before
        sending); the ``Docker-Content-Digest`` the registry answers must be
        the digest of the bytes sent, else :class:`DigestMismatch`.
        """
        return self._put_manifest(repository, reference, raw, media_type, cancel=cancel)[0]

    def put_referrer(
        self,
        repository: str,
        raw: bytes,
        media_type: str,
        *,
        digest: Digest | None = None,
        cancel: CancelToken | None = None,
    ) -> tuple[Digest, bool]:
        """PUT a manifest that has a ``subject``, by ``digest`` (default: its sha256): its
        digest, and whether the registry indexed it as a referrer itself (it answered
        ``OCI-Subject``); when not, the client keeps the referrers tag schema's index up
        to date."""
        digest = digest or manifest_digest(raw, media_type)
        stored, headers = self._put_manifest(
            repository, str(digest), raw, media_type, cancel=cancel
        )
        return stored, "oci-subject" in headers

    def _put_manifest(
        self,
        repository: str,
        reference: str,
        raw: bytes,
        media_type: str,
        *,
        cancel: CancelToken | None = None,
    ) -> tuple[Digest, httpx.Headers]:
        what = f"Storing the manifest {self.host}/{repository}{_ref_suffix(reference)}"
        if len(raw) > MAX_MANIFEST_SIZE:
            raise TooLarge(
                f"{what}: the manifest is {len(raw)} bytes, more than the "
                f"{MAX_MANIFEST_SIZE // (1024 * 1024)} MiB registries accept."
            )
        by_digest = _digest_or_none(reference)
        ours = manifest_digest(raw, media_type, by_digest.algorithm if by_digest else "sha256")
        if by_digest is not None and ours != by_digest:
            raise DigestMismatch(
                f"{what}: the manifest's bytes hash to {ours}, not to the digest it is to be "
                "stored under."
            )
        response = self.send(
            "PUT", f"/v2/{repository}/manifests/{reference}", what=what, cancel=cancel,
            # any success, as containers/image takes it (Quay answered 202 until 2017)
            headers={"Content-Type": media_type}, content=raw, ok=(200, 201, 202, 204),
        )
        response.close()
        stated = _digest_or_none(response.headers.get("docker-content-digest", ""))
        if stated is not None:
            if stated.algorithm != ours.algorithm:
                ours = manifest_digest(raw, media_type, stated.algorithm)
            if stated != ours:
                raise DigestMismatch(
                    f"{what}: the registry {self.host} says it stored the manifest as "
                    f"{stated}, but the bytes sent hash to {ours}; the registry changed or "
                    "misread it."
                )
        return ours, response.headers


MAX_LIST_BODY: Final = 16 * 1024 * 1024
"""Catalog and tag-list pages are read to at most this many bytes."""



_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def _origin_text(url: httpx.URL) -> str:
    scheme, host, port = _origin(url)
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}"


def _ref_suffix(reference: str) -> str:
    return f"@{reference}" if ":" in reference else f":{reference}"


def _another_blob(stated: Digest | None, digest: Digest) -> bool:
    """Whether a ``Docker-Content-Digest`` answered for ``digest`` names another blob. One
    of another algorithm is the registry's own (canonical) name for it, as the
    distribution spec allows (distribution names a sha512 blob by its sha256): the 201
    that came with it says the bytes matched the digest given."""
    return stated is not None and stated.algorithm == digest.algorithm and stated != digest


def _digest_or_none(text: str) -> Digest | None:
    if ":" not in text:
        return None
    try:
        return Digest.parse(text)
    except InvalidDigest:
        return None


def _names(body: bytes, key: str, *, what: str, host: str) -> list[str]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict):
        raise RegistryError(f"{what}: the registry {host} answered with something that is not "
                            "a JSON list.")
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise RegistryError(f'{what}: the registry {host} sent a "{key}" that is not a list '
                            "of names.")
    return items


def unsendable(exc: Exception) -> str:
    """Why a request could not be written, in words to follow a colon, never quoting the
    library's message (h11 quotes the header value it refused: a token, a password)."""
    if "header" in str(exc).lower():
        return ("a header would carry a character HTTP does not allow (a line break, or a "
                "space at either end, in a token or password given; it is not shown here)")
    return f"the HTTP library refused to write it ({type(exc).__name__})"


def _next_link(
    header: str | None, current: httpx.URL, base: httpx.URL, *, what: str, host: str
) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header, on the registry's host: a link to
    another host (a registry behind a proxy that names its own inside address) is taken
    for its path and query only, as containers/image takes it, so nothing (credentials
    least of all) goes elsewhere."""
    if not header:
        return None
    for part in header.split(","):
        target, _, rest = part.strip().partition(";")
        if 'rel="next"' not in rest.replace(" ", "") and "rel=next" not in rest.replace(" ", ""):
            continue
        target = target.strip()
        if not (target.startswith("<") and target.endswith(">")):
            continue
        url = current.join(target[1:-1])
        if url.scheme != base.scheme or url.netloc != base.netloc:
            log.info("%s: the registry %s points the next page at %s; asking the registry "
                     "itself for %s", what, host, url.host, url.raw_path.decode())
            url = base.copy_with(raw_path=url.raw_path)
        return str(url)
    return None
