"""HTTP for the registry client: the process-wide pool of ``httpx`` clients and the
transport and reader that look after response bodies.

Connections come from one ``httpx.Client`` per TLS configuration for the whole
process (:class:`HTTPPool`): every registry verified against the system's
trust store shares one pool; a registry with its own CA, a client certificate,
or verification turned off gets a client of its own, since httpx fixes TLS
settings per client. :class:`ResponseStream` reads a big body (a blob)
straight from the connection's socket.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Final, TypeVar

import httpx

from spyglass import __version__
from spyglass.core.cancel import CancelToken
from spyglass.core.errors import (
    Cancelled,
    ConnectionFailed,
    SpyglassError,
    as_clause,
    body_cut_short,
    describe_connection_error,
)
from spyglass.core.transports.registry.abortable import (
    Slot,
    abortable,
    body_budget,
    raise_if_cancelled,
    release_on_close,
    response_stream,
    track_connections,
)
from spyglass.core.transports.registry.errors import (
    MAX_ERROR_BODY,
)
from spyglass.core.transports.registry.hosts import (
    TLSSettings,
)
from spyglass.core.transports.registry.keepalive import DirectBody

if TYPE_CHECKING:
    from spyglass.core.proxies import Proxy, ProxySettings

PROXY_VARIABLES: Final = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
"""Without any of these set, the proxies module is not even imported."""

PROXY_CHECK_TIMEOUT: Final = 5.0
"""Seconds a handshake with an https:// proxy alone may take, to tell whose certificate
failed (:meth:`HTTPPool.proxy_certificate_refused`)."""

_T = TypeVar("_T", bytes, int)

USER_AGENT: Final = f"spyglass/{__version__}"
ATTEMPTS: Final = "spyglass.attempts"
"""The response extension that counts the requests a retried answer took."""

TIMEOUT: Final = httpx.Timeout(60.0, connect=15.0)


class _NoCookieJar(http.cookiejar.CookieJar):
    """A cookie jar that takes none (nor from a caller who sets one on the client)."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        pass


class _NoCookies(httpx.Cookies):
    """httpx's cookies over a :class:`_NoCookieJar`; an answer's are not even parsed."""

    def __init__(self) -> None:
        super().__init__(_NoCookieJar())

    def extract_cookies(self, response: httpx.Response) -> None:
        pass


class _RegistryHTTP(httpx.Client):
    """httpx's client without its cookie jar, as containers/image's Go client has none:
    a cookie a registry (or its load balancer) sets is not sent back, and no answer is
    run through :mod:`http.cookiejar`, which cost about 0.2 ms of CPU a request (a fifth
    of each page of a paged list)."""

    _NO_COOKIES: Final = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("the registry client keeps no cookies")


class HTTPPool:
    """Process-wide ``httpx.Client`` objects, one per TLS configuration; thread-safe.

    ``transport`` replaces the network for every client of the pool (tests use
    ``httpx.MockTransport`` for server behaviour a real registry will not show).
    Requests go through the proxies the environment names (see
    :mod:`~spyglass.core.proxies`; read when the first client
    is made), unless ``transport`` is given.
    """

    def __init__(self, transport: httpx.BaseTransport | None = None) -> None:
        self._lock = threading.Lock()
        self._clients: dict[TLSSettings, httpx.Client] = {}
        self._transport = transport
        self._proxies: ProxySettings | None = None

    def proxy_for(self, url: httpx.URL) -> Proxy | None:
        """The proxy a request to ``url`` goes through, None when it goes directly (or
        through a proxy the environment names wrongly: the request said so)."""
        with self._lock:
            proxies = self._proxies
        try:
            return proxies.proxy_for(url) if proxies is not None else None
        except SpyglassError:
            return None

    def client(self, tls: TLSSettings) -> httpx.Client:
        """The client for registries with these TLS settings; :class:`SpyglassError` when
        the environment names a proxy that cannot be used."""
        with self._lock:
            client = self._clients.get(tls)
            if client is None:
                network = self._transport or self._network(tls)
                track_connections(network)  # so a cancel can end a stalled request
                client = _RegistryHTTP(
                    timeout=TIMEOUT,
                    headers={"User-Agent": USER_AGENT},
                    follow_redirects=False,
                    trust_env=False,
                    transport=ResponseBodies(network),
                )
                self._clients[tls] = client
            return client

    def _network(self, tls: TLSSettings) -> httpx.BaseTransport:
        """The real network for ``tls`` (``_lock`` held): direct, or through proxies."""
        if self._proxies is None and any(os.environ.get(name) for name in PROXY_VARIABLES):
            from spyglass.core.proxies import ProxySettings

            self._proxies = ProxySettings.from_environment()
        context = tls.ssl_context()
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        direct = httpx.HTTPTransport(verify=context, limits=limits)
        if self._proxies is None or not self._proxies.any:
            return direct
        from spyglass.core.proxies import ProxyRouter

        def through(proxy: Proxy) -> httpx.BaseTransport:
            # the proxy's own certificate is checked as the registry's is (as Go does)
            tls_to_proxy = context if proxy.url.scheme == "https" else None
            transport = httpx.HTTPTransport(
                verify=context, limits=limits,
                proxy=httpx.Proxy(proxy.url, ssl_context=tls_to_proxy))
            track_connections(transport)
            return transport

        track_connections(direct)
        return ProxyRouter(direct, self._proxies, through)

    def proxy_certificate_refused(self, proxy: Proxy, tls: TLSSettings) -> str | None:
        """Why the certificate of ``proxy`` (an ``https://`` one) fails verification with
        ``tls``'s context, as a handshake to it alone finds (OpenSSL's words: ``unable to
        get local issuer certificate``); None when it passes, or cannot be checked now
        (the proxy not reached, or the pool's network is a test's ``transport``). A
        failed handshake through the proxy does not say which of the two failed."""
        if self._transport is not None or proxy.url.scheme != "https":
            return None
        host = proxy.url.host
        try:
            with socket.create_connection((host, proxy.url.port or 443),
                                          timeout=PROXY_CHECK_TIMEOUT) as sock, \
                    tls.ssl_context().wrap_socket(sock, server_hostname=host):
                return None
        except ssl.SSLCertVerificationError as exc:
            return exc.verify_message or str(exc)
        except OSError:
            return None

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


POOL: Final = HTTPPool()


INTERIM_STATUSES: Final = frozenset({301, 302, 303, 307, 308, 401})
"""Answers httpx reads whole by itself (redirects it follows, 401s an auth flow retries)."""


class _EmptyStream(httpx.SyncByteStream):
    """A body known to be empty: closing it unread first lets httpcore see its end
    (no network read is needed for that), so the connection goes back to the pool."""

    def __init__(self, stream: httpx.SyncByteStream) -> None:
        self._stream = stream
        self._ended = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self._stream
        self._ended = True

    def close(self) -> None:
        if not self._ended:
            self._ended = True
            try:
                for _ in self._stream:
                    break  # an empty body yields nothing; a server that lied stops here
            except httpx.TransportError:
                pass  # closing anyway
        self._stream.close()


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


class ResponseBodies(httpx.BaseTransport):
    """A transport that looks after response bodies:

    - closing a response releases its connection for cancels (see
      :func:`~spyglass.core.transports.registry.abortable.release_on_close`);
    - a response with no body (``HEAD``, 204, 304, ``Content-Length: 0``) closed
      unread keeps its connection: httpcore keeps a connection only when the
      body was read to its end, so every ``HEAD`` and upload step used to cost
      a new connection (a TLS handshake on HTTPS registries);
    - the bodies of redirects and 401s are cut at :data:`MAX_ERROR_BODY`:
      httpx reads those whole on its own while it follows a redirect or runs
      an auth flow, and a hostile server could otherwise make that read endless.
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if not isinstance(response.stream, httpx.SyncByteStream):
            return response
        release_on_close(response)
        if response.status_code in INTERIM_STATUSES:
            response.stream = _CappedStream(response.stream, MAX_ERROR_BODY)
        elif (
            request.method == "HEAD"
            or response.status_code in (204, 304)
            or response.headers.get("content-length", "").strip() == "0"
        ):
            response.stream = _EmptyStream(response.stream)
        return response

    def close(self) -> None:
        self._inner.close()


SMALL_BODY: Final = 64 * 1024
"""The longest body :func:`close_reusing` reads so that its connection is kept."""

SMALL_BODY_WAIT: Final = 1.0
"""The longest :func:`close_reusing` waits for the rest of such a body, in seconds: a
server whose Content-Length promises more than it sends would otherwise hold the
command for the whole read timeout (20 s for a ping)."""


def close_reusing(response: httpx.Response, cancel: CancelToken | None = None) -> None:
    """Close ``response``, first reading the rest of its body where that is short and of
    known length (a ping's ``{}``, a 401's JSON), so that its connection goes back to the
    pool: httpcore keeps a connection only when its body was read to the end, and the
    ping's answer, closed unread, cost every command a second connection (over HTTPS, a
    second handshake). A body that cannot be read, or not within
    :data:`SMALL_BODY_WAIT`, is left with its connection, as a longer one is."""
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) <= SMALL_BODY and not response.is_closed:
        with contextlib.suppress(httpx.HTTPError, httpx.StreamError), \
                abortable(cancel, within=SMALL_BODY_WAIT):
            response.read()
    response.close()


def _body_socket(response: httpx.Response) -> socket.socket | None:
    """The socket a plain HTTP/1.1 response body arrives on, when reading it directly
    is safe: a known length, no content coding, and no TLS layer between (a TLS
    socket itself is fine: its ``ssl_object`` is the socket's own, as httpcore gives
    it; a TLS stream tunnelled through another, to an ``https://`` proxy, is not)."""
    if response.http_version != "HTTP/1.1":
        return None
    if response.headers.get("content-encoding", "identity").lower() != "identity":
        return None
    if "chunked" in response.headers.get("transfer-encoding", "").lower():
        return None
    stream = response.extensions.get("network_stream")
    get_extra_info = getattr(stream, "get_extra_info", None)
    if get_extra_info is None:
        return None
    sock = get_extra_info("socket")
    if not isinstance(sock, socket.socket):
        return None
    ssl_object = get_extra_info("ssl_object")
    if ssl_object is not None and ssl_object is not getattr(sock, "_sslobj", None):
        return None
    return sock


class ResponseStream:
    """A binary reader over a streamed response body; closing it closes the response.

    Big bodies of known length (blobs) are read straight from the connection's
    socket into the caller's buffer once httpx has handed over what it had
    already buffered: no bytes object per piece and one GIL hand-off per
    ``recv_into``, where going through httpx cost several per 64 KiB and was
    the largest CPU cost of a blob copy on few cores. Once exactly the rest of
    the body has come that way, h11 (httpcore's parser, which did not see it) is
    told so and the connection goes back to the pool at once, as one read
    through httpx does (see :mod:`~spyglass.core.transports.registry.keepalive`);
    when that cannot be done safely, or the body ends short, fails or is
    cancelled, the connection is closed with the response.

    Until the body has ended, cancelling shuts its connection down, so a read
    blocked on a server that stopped sending ends at once (see
    :mod:`~spyglass.core.transports.registry.abortable`); a connection a cancel
    may have shut down is never put back in the pool.

    The reads wait under :func:`~spyglass.core.transports.registry.abortable.body_budget`
    at :data:`~spyglass.core.transports.registry.abortable.BLOB_RATE`: one that comes
    too slowly, a byte a second, is a :class:`ConnectionFailed` saying so, at most one
    read's timeout after the budget is spent. Only the time spent waiting counts: a
    reader that takes its time between reads (a copy into a slow destination) is not
    the registry's slowness.
    """

    #: Bodies at least this long are read from the socket directly.
    DIRECT_MIN: Final = 1024 * 1024

    def __init__(
        self, response: httpx.Response, what: str, cancel: CancelToken | None = None
    ) -> None:
        self._response = response
        self._cancel = cancel
        self._abort_key: int | None = None
        tracked = response_stream(response)
        self._slot = Slot(tracked) if tracked is not None else None
        if cancel is not None:
            self._abort_key = cancel.add_abort(self._abort)
            if self._abort_key is None:
                response.close()
                raise Cancelled()
        # The body as it arrives (httpcore reads up to 64 KiB at a time), not
        # re-chunked by httpx, whose ByteChunker copies every byte again.
        self._chunks = response.iter_bytes()
        self._buffer = b""
        self._what = what
        self._done = False
        self._socket: socket.socket | None = None
        self.attempts: int = response.extensions.get(ATTEMPTS, 1)
        """The requests it took to get this answer (more than one after retries)."""
        self._remaining = 0
        self._ending: DirectBody | None = None
        """h11's reader of a body read from the socket, told of its end (if it can be)."""
        length = response.headers.get("content-length", "")
        self._length = int(length) if length.isdigit() else None
        self._try_direct = self._length is not None and self._length >= self.DIRECT_MIN
        self._budget = body_budget(blob=True)

    @property
    def response(self) -> httpx.Response:
        return self._response

    def read(self, n: int = -1, /) -> bytes:
        parts: list[bytes]
        if n is None or n < 0:
            parts = [self._buffer]
            self._buffer = b""
            while chunk := self._next():
                parts.append(chunk)
            return b"".join(parts)
        if n == 0:
            return b""
        if self._try_direct and not self._buffer:
            self._start_direct()
        if self._socket is not None:
            if not self._buffer:
                return self._recv(n)
            # what httpx had read before the switch: never ask httpx for more now
            data, self._buffer = self._buffer[:n], self._buffer[n:]
            return data
        # Gather up to n bytes from the pieces as they arrived: one copy (the join).
        parts = []
        have = 0
        if self._buffer:
            parts.append(self._buffer)
            have = len(self._buffer)
            self._buffer = b""
        while have < n:
            chunk = self._next()
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        if have > n:
            last = parts[-1]
            keep = len(last) - (have - n)
            parts[-1], self._buffer = last[:keep], last[keep:]
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    def readinto(self, buffer: memoryview | bytearray, /) -> int:
        view = buffer if isinstance(buffer, memoryview) else memoryview(buffer)
        if not len(view):
            return 0
        if self._try_direct and not self._buffer:
            self._start_direct()
        if self._socket is not None and not self._buffer:
            return self._recv_into(view)
        if not self._buffer:
            self._buffer = self._next()
        count = min(len(view), len(self._buffer))
        view[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count

    def _start_direct(self) -> None:
        """Switch to the socket once httpx's own buffer is drained (the first piece)."""
        self._try_direct = False
        sock = _body_socket(self._response)
        if sock is None or self._length is None:
            return
        self._buffer = self._next()  # what httpx had read with the headers, or one read
        remaining = self._length - self._response.num_bytes_downloaded
        if remaining > 0 and not self._done:
            self._socket, self._remaining = sock, remaining
            self._ending = DirectBody.find(self._response, remaining)

    def _recv(self, n: int) -> bytes:
        """Up to ``n`` bytes from the socket (fewer when fewer have arrived)."""
        assert self._socket is not None
        if self._remaining <= 0:
            self._done = True
            return b""
        data = self._direct(lambda sock: sock.recv(min(n, self._remaining)))
        self._remaining -= len(data)
        if not self._remaining:
            self._body_ended()
        return data

    def _recv_into(self, view: memoryview) -> int:
        if self._remaining <= 0:
            self._done = True
            return 0
        count = self._direct(lambda sock: sock.recv_into(view[: self._remaining]))
        self._remaining -= count
        if not self._remaining:
            self._body_ended()
        return count

    def _body_ended(self) -> None:
        """The last byte of a body read from the socket has come: put its connection
        back in the pool now, unless a cancel came (it may have shut the connection
        down) or h11 cannot be told of the end (then it is closed with the response)."""
        self._done = True  # first: from here no cancel shuts the connection down (_abort)
        ending, self._ending = self._ending, None
        # A cancel sets its token before it runs any abort, so one that sees _done unset
        # (and may shut the connection down) is seen here; one that comes later sees it.
        cancelled = self._cancel is not None and self._cancel.cancelled
        aborted = self._slot is not None and self._slot.aborted
        if ending is not None and not cancelled and not aborted and ending.ended():
            self._response.close()  # h11 saw the end: httpcore keeps the connection

    def _direct(self, receive: Callable[[socket.socket], _T]) -> _T:
        """One receive on the body's socket; a broken or stalled connection is a
        :class:`ConnectionFailed`, as is an end before the promised length."""
        assert self._socket is not None
        started = time.monotonic()
        try:
            received = receive(self._socket)
        except TimeoutError as exc:
            self._check_cancelled(exc)
            raise ConnectionFailed(
                f"{self._what} broke off: the registry stopped sending for too long."
            ) from exc
        except OSError as exc:
            self._check_cancelled(exc)
            reason = as_clause(exc.strerror or str(exc) or type(exc).__name__)
            raise ConnectionFailed(f"{self._what} broke off: {reason.rstrip('.')}.") from exc
        if not received:
            self._check_cancelled(None)
            raise ConnectionFailed(
                f"{self._what} broke off: {body_cut_short(self._remaining)}.")
        self._paced(time.monotonic() - started,
                    received if isinstance(received, int) else len(received))
        return received

    def _paced(self, waited: float, received: int) -> None:
        """Count a read against the body's budget; raise once it is spent."""
        budget = self._budget
        budget.count(waited, received)
        if budget.spent:
            raise ConnectionFailed(
                f"{self._what} broke off: the registry sent it too slowly "
                f"{budget.too_slow()}.")

    def _next(self) -> bytes:
        if self._done:
            return b""
        started = time.monotonic()
        try:
            chunk = next(self._chunks)
            self._paced(time.monotonic() - started, len(chunk))
            return chunk
        except StopIteration:
            self._done = True
            return b""
        except httpx.RequestError as exc:  # a Content-Encoding that does not decode too
            self._check_cancelled(exc)
            raise ConnectionFailed(
                f"{self._what} broke off: {describe_connection_error(exc)}."
            ) from exc

    def _check_cancelled(self, cause: BaseException | None) -> None:
        """A read that failed because cancelling shut the socket is a cancellation."""
        raise_if_cancelled(self._cancel, cause)

    def _abort(self) -> None:
        """Shut the body's connection down (from the cancelling thread) while the body
        is still coming: once it has ended, httpx may have handed the connection to
        another request."""
        if self._done:
            return
        if self._slot is not None:
            self._slot.abort()
        elif self._socket is not None:  # untracked, but read straight from its socket
            try:
                socket.socket.shutdown(self._socket, socket.SHUT_RDWR)
            except OSError:
                pass  # already closed with the response

    def close(self) -> None:
        if self._cancel is not None:
            self._cancel.remove_abort(self._abort_key)
        self._response.close()

    def __enter__(self) -> ResponseStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
