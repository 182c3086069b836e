"""The distribution API client: one :class:`RegistryClient` per registry host.

Connections come from one ``httpx.Client`` per TLS configuration for the whole
process (:class:`HTTPPool`): every registry verified against the system's
trust store shares one pool; a registry with its own CA, a client certificate,
or verification turned off gets a client of its own, since httpx fixes TLS
settings per client.

Every request goes through :meth:`RegistryClient.send`, which authenticates
(:class:`~spyglass.core.transports.registry.auth.RegistryAuth`), retries
connection errors, 429 and 502/503/504 on idempotent requests with exponential
backoff (honouring ``Retry-After``), and turns failures into sentences.
"""

from __future__ import annotations

import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from spyglass import __version__
from spyglass.core import media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.credentials import Credentials
from spyglass.core.digest import CHUNK_SIZE, Digest
from spyglass.core.errors import (
    Cancelled,
    ConnectionFailed,
    DigestMismatch,
    InvalidDigest,
    NotARegistry,
    RegistryError,
    SpyglassError,
    TLSFailed,
    TooLarge,
)
from spyglass.core.manifest import MAX_MANIFEST_SIZE, manifest_digest
from spyglass.core.transports.registry.auth import RegistryAuth, parse_challenges, read_capped
from spyglass.core.transports.registry.errors import (
    MAX_ERROR_BODY,
    RateLimit,
    error_for,
    retry_after,
)
from spyglass.core.transports.registry.hosts import (
    TLSSettings,
    api_host,
    is_loopback,
    tls_settings,
)

USER_AGENT: Final = f"spyglass/{__version__}"
TIMEOUT: Final = httpx.Timeout(60.0, connect=15.0)
RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
IDEMPOTENT: Final = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})
MAX_BACKOFF: Final = 30.0
MAX_RETRY_AFTER: Final = 60.0
DEFAULT_PAGE_SIZE: Final = 1000


class HTTPPool:
    """Process-wide ``httpx.Client`` objects, one per TLS configuration; thread-safe.

    ``transport`` replaces the network for every client of the pool (tests use
    ``httpx.MockTransport`` for server behaviour a real registry will not show).
    """

    def __init__(self, transport: httpx.BaseTransport | None = None) -> None:
        self._lock = threading.Lock()
        self._clients: dict[TLSSettings, httpx.Client] = {}
        self._transport = transport

    def client(self, tls: TLSSettings) -> httpx.Client:
        with self._lock:
            client = self._clients.get(tls)
            if client is None:
                network = self._transport or httpx.HTTPTransport(
                    verify=tls.ssl_context(),
                    limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
                )
                client = httpx.Client(
                    timeout=TIMEOUT,
                    headers={"User-Agent": USER_AGENT},
                    follow_redirects=False,
                    trust_env=False,
                    transport=CappedInterimBodies(network),
                )
                self._clients[tls] = client
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


POOL: Final = HTTPPool()


INTERIM_STATUSES: Final = frozenset({301, 302, 303, 307, 308, 401})
"""Answers httpx reads whole by itself (redirects it follows, 401s an auth flow retries)."""


class _CappedStream(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream, limit: int) -> None:
        self._stream = stream
        self._limit = limit

    def __iter__(self) -> Iterator[bytes]:
        left = self._limit
        for chunk in self._stream:
            yield chunk[:left]
            left -= len(chunk)
            if left <= 0:
                break

    def close(self) -> None:
        self._stream.close()


class CappedInterimBodies(httpx.BaseTransport):
    """A transport that cuts the bodies of redirects and 401s at :data:`MAX_ERROR_BODY`.

    httpx reads those bodies whole on its own while it follows a redirect or
    runs an auth flow; a hostile server could otherwise make that read endless.
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if response.status_code in INTERIM_STATUSES and isinstance(
            response.stream, httpx.SyncByteStream
        ):
            response.stream = _CappedStream(response.stream, MAX_ERROR_BODY)
        return response

    def close(self) -> None:
        self._inner.close()


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


def _describe_transport_error(exc: httpx.TransportError) -> str:
    reason = str(exc) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    while cause is not None and not str(cause):
        cause = cause.__cause__ or cause.__context__
    if cause is not None and str(cause) not in reason:
        reason = f"{reason} ({cause})"
    return reason.rstrip(".")


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


class ResponseStream:
    """A binary reader over a streamed response body; closing it closes the response."""

    def __init__(self, response: httpx.Response, what: str) -> None:
        self._response = response
        self._chunks = response.iter_bytes(CHUNK_SIZE)
        self._buffer = b""
        self._what = what
        self._done = False

    @property
    def response(self) -> httpx.Response:
        return self._response

    def read(self, n: int = -1, /) -> bytes:
        if n is None or n < 0:
            parts = [self._buffer]
            self._buffer = b""
            while chunk := self._next():
                parts.append(chunk)
            return b"".join(parts)
        if n == 0:
            return b""
        if not self._buffer:
            self._buffer = self._next()
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        return data

    def _next(self) -> bytes:
        if self._done:
            return b""
        try:
            return next(self._chunks)
        except StopIteration:
            self._done = True
            return b""
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"{self._what} broke off: {_describe_transport_error(exc)}."
            ) from exc

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> ResponseStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RegistryClient:
    """Talks to one registry host. Thread-safe; share one per host and settings.

    ``host`` is the registry as people name it (``docker.io``, ``quay.io``,
    ``127.0.0.1:5000``); requests go to :func:`api_host` of it. ``insecure``
    allows plain HTTP and unverified TLS for this registry (skopeo's
    ``--tls-verify=false``); loopback hosts fall back to plain HTTP anyway, as
    Docker does.
    """

    def __init__(
        self,
        host: str,
        *,
        credentials: Credentials | Callable[[], Credentials | None] | None = None,
        insecure: bool = False,
        cert_dir: Path | None = None,
        retry_times: int = 3,
        pool: HTTPPool = POOL,
    ) -> None:
        self.host = host
        self.api_host = api_host(host)
        self.insecure = insecure
        self.retry_times = retry_times
        self._pool = pool
        self._tls = tls_settings(self.api_host, verify=not insecure, cert_dir=cert_dir)
        self._http = pool.client(self._tls)
        self.auth = RegistryAuth(self.api_host, credentials, self._http)
        self._base: str | None = None
        self._lock = threading.Lock()
        self.rate_limit: RateLimit | None = None

    def __repr__(self) -> str:
        return f"RegistryClient({self.host!r}, insecure={self.insecure})"

    @property
    def credentials(self) -> Credentials | None:
        return self.auth.credentials

    # ---------------------------------------------------------------- connection

    def ping(self, *, cancel: CancelToken | None = None) -> str:
        """Find how to talk to the registry (https or http) and how it authenticates.

        Returns the base URL. Raises :class:`TLSFailed`, :class:`ConnectionFailed`
        or :class:`NotARegistry` with a sentence.
        """
        with self._lock:
            if self._base is not None:
                return self._base
        schemes = ["https"]
        if self.insecure or is_loopback(self.api_host):
            schemes.append("http")
        first_error: SpyglassError | None = None
        for scheme in schemes:
            base = f"{scheme}://{self.api_host}"
            try:
                response = self._send_raw(
                    "GET", f"{base}/v2/", cancel=cancel, what="Connecting",
                    retries=0 if scheme != schemes[-1] else None,
                )
            except (TLSFailed, ConnectionFailed) as exc:
                first_error = first_error or exc
                continue
            try:
                self._check_ping(response, base)
            except NotARegistry as exc:
                first_error = first_error or exc
                continue
            finally:
                response.close()
            with self._lock:
                self._base = base
            return base
        assert first_error is not None
        raise first_error

    def check_credentials(self, *, cancel: CancelToken | None = None) -> None:
        """Ask the registry whether the credentials work (``GET /v2/``, authenticated).

        Raises :class:`AuthenticationFailed` when they do not.
        """
        self.ping(cancel=cancel)
        response = self.send("GET", "/v2/", what=f"Logging in to {self.host}", cancel=cancel)
        response.close()

    def _check_ping(self, response: httpx.Response, base: str) -> None:
        version = response.headers.get("docker-distribution-api-version", "")
        if response.status_code == 401:
            self.auth.learn(parse_challenges(response.headers.get_list("www-authenticate")))
            return
        if response.status_code == 200 and (version.startswith("registry/2") or not version):
            return
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
        content: bytes | None = None,
        retries: int | None = None,
    ) -> httpx.Response:
        """One request with retries; returns the (streamed, unread) response."""
        attempt = 0
        allowed = self.retry_times if retries is None else retries
        while True:
            check(cancel)
            request = self._http.build_request(
                method, url, params=params, headers=headers, content=content
            )
            try:
                response = self._http.send(
                    request,
                    auth=self.auth if auth else None,
                    stream=True,
                    follow_redirects=follow_redirects,
                )
            except httpx.TransportError as exc:
                if _is_tls_failure(exc):
                    raise TLSFailed(self._tls_sentence(exc)) from exc
                if method in IDEMPOTENT and attempt < allowed:
                    attempt += 1
                    self._sleep(self._backoff(attempt), cancel)
                    continue
                raise ConnectionFailed(
                    f"Cannot reach the registry {self.host}: {_describe_transport_error(exc)}."
                ) from exc
            rate = RateLimit.from_headers(response.headers)
            if rate is not None:
                self.rate_limit = rate
            if (
                response.status_code in RETRY_STATUSES
                and method in IDEMPOTENT
                and attempt < allowed
            ):
                attempt += 1
                asked = retry_after(response.headers)
                response.close()
                wait = min(asked, MAX_RETRY_AFTER) if asked is not None else self._backoff(attempt)
                self._sleep(wait, cancel)
                continue
            return response

    def _tls_sentence(self, exc: BaseException) -> str:
        reason = _describe_transport_error(exc) if isinstance(exc, httpx.TransportError) else exc
        if "CERTIFICATE_VERIFY_FAILED" not in str(reason):
            return (
                f"The TLS connection to {self.api_host} failed ({reason}). If the registry "
                "speaks plain HTTP, allow it to be insecure (--tls-verify=false)."
            )
        return (
            f"The TLS certificate of {self.api_host} could not be verified ({reason}). "
            f"Put its CA certificate in ~/.config/containers/certs.d/{self.api_host}/ca.crt, "
            "or allow this registry to be insecure (--tls-verify=false)."
        )

    @staticmethod
    def _backoff(attempt: int) -> float:
        base: float = min(MAX_BACKOFF, 0.25 * (2 ** (attempt - 1)))
        return base / 2 + random.uniform(0, base / 2)

    @staticmethod
    def _sleep(seconds: float, cancel: CancelToken | None) -> None:
        if seconds <= 0:
            return
        if cancel is None:
            time.sleep(seconds)
            return
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if cancel.cancelled:
                raise Cancelled()
            time.sleep(min(left, 0.1))

    def url(self, path: str) -> str:
        """The full URL of an API path such as ``/v2/_catalog``."""
        return self.ping() + path

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
        content: bytes | None = None,
        kind: str | None = None,
    ) -> httpx.Response:
        """An authenticated request; raises the mapped error unless the status is in ``ok``.

        The response is streamed: the caller reads (or closes) it. ``kind``
        (``"manifest"``, ``"blob"``) says what a 404 without an error code means.
        """
        url = path_or_url if "://" in path_or_url else self.url(path_or_url)
        response = self._send_raw(
            method, url, what=what, cancel=cancel, params=params, headers=headers,
            auth=True, follow_redirects=follow_redirects, content=content,
        )
        if response.status_code in ok:
            return response
        try:
            body = read_capped(response, MAX_ERROR_BODY) if method != "HEAD" else b""
        except httpx.TransportError:
            body = b""  # the status says enough; a broken error body adds nothing
        finally:
            response.close()
        raise error_for(
            response.status_code, response.headers, body, what=what, host=self.host, kind=kind,
            anonymous=self.credentials is None,
        )

    def read_body(
        self, response: httpx.Response, *, limit: int, what: str
    ) -> bytes:
        """Read a small response whole, refusing more than ``limit`` bytes."""
        try:
            length = response.headers.get("content-length")
            if length and length.isdigit() and int(length) > limit:
                raise TooLarge(
                    f"{what}: the registry {self.host} sends {int(length)} bytes, more than "
                    f"the {limit // 1024} KiB accepted."
                )
            body = read_capped(response, limit + 1)
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"{what} broke off: {_describe_transport_error(exc)}."
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
    ) -> Iterator[list[str]]:
        """Yield the pages of a paged list (``_catalog``, ``tags/list``) following ``Link``."""
        url: str | None = self.url(path)
        params: dict[str, str | int] | None = {"n": page_size}
        base = httpx.URL(self.url("/"))
        seen: set[str] = set()
        while url is not None:
            if url in seen:
                raise RegistryError(
                    f"{what}: the registry {self.host} sent a next-page link back to a page "
                    "already read; stopping."
                )
            seen.add(url)
            response = self.send("GET", url, what=what, cancel=cancel, params=params)
            link = response.headers.get("link")
            body = self.read_body(response, limit=MAX_LIST_BODY, what=what)
            yield _names(body, key, what=what, host=self.host)
            url = _next_link(link, httpx.URL(url), base, what=what, host=self.host)
            params = None

    def catalog_pages(
        self, *, page_size: int = DEFAULT_PAGE_SIZE, cancel: CancelToken | None = None
    ) -> Iterator[list[str]]:
        """The registry's repositories, page by page."""
        return self.pages(
            "/v2/_catalog", "repositories", what=f"Listing the repositories of {self.host}",
            page_size=page_size, cancel=cancel,
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

    def tags_of(self, repository: str, *, cancel: CancelToken | None = None) -> list[str]:
        """Every tag of a repository."""
        return [tag for page in self.tag_pages(repository, cancel=cancel) for tag in page]

    def tags_pointing_at(
        self,
        repository: str,
        digest: Digest,
        *,
        tags: list[str] | None = None,
        cancel: CancelToken | None = None,
        workers: int = 8,
    ) -> list[str]:
        """The tags of ``repository`` whose manifest is ``digest`` (HEAD requests in parallel)."""
        from concurrent.futures import ThreadPoolExecutor

        candidates = self.tags_of(repository, cancel=cancel) if tags is None else tags

        def points_here(tag: str) -> bool:
            return self.head_manifest(repository, tag, cancel=cancel).digest == digest

        with ThreadPoolExecutor(max_workers=workers) as pool:
            flags = list(pool.map(points_here, candidates))
        return [tag for tag, hit in zip(candidates, flags, strict=True) if hit]

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
        )
        stated = response.headers.get("docker-content-digest")
        content_type = response.headers.get("content-type", "").split(";")[0].strip() or None
        raw = self.read_body(response, limit=MAX_MANIFEST_SIZE, what=what)
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
        self, repository: str, reference: str, *, cancel: CancelToken | None = None
    ) -> ManifestHead:
        """HEAD a manifest: its digest (``Docker-Content-Digest``), size and media type."""
        # "manifest" in ``what`` maps a body-less 404 to ImageNotFound (errors.error_for)
        what = f"Looking up the manifest {self.host}/{repository}{_ref_suffix(reference)}"
        response = self.send(
            "HEAD", f"/v2/{repository}/manifests/{reference}", what=what,
            cancel=cancel, kind="manifest",
            headers={"Accept": ", ".join(media.ACCEPT_MANIFESTS)},
        )
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
        cancel: CancelToken | None = None,
    ) -> ResponseStream:
        """Stream a blob (following redirects; ``Authorization`` never leaves the registry).

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
            cancel=cancel, kind="blob",
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
        return ResponseStream(response, what)

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


MAX_LIST_BODY: Final = 16 * 1024 * 1024
"""Catalog and tag-list pages are read to at most this many bytes."""


def _ref_suffix(reference: str) -> str:
    return f"@{reference}" if ":" in reference else f":{reference}"


def _digest_or_none(text: str) -> Digest | None:
    if ":" not in text:
        return None
    try:
        return Digest.parse(text)
    except InvalidDigest:
        return None


def _names(body: bytes, key: str, *, what: str, host: str) -> list[str]:
    import json

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


def _next_link(
    header: str | None, current: httpx.URL, base: httpx.URL, *, what: str, host: str
) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header, resolved, on the registry's host only."""
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
            raise RegistryError(
                f"{what}: the registry {host} points the next page at {url.host}, another "
                "host; refusing to follow it."
            )
        return str(url)
    return None
