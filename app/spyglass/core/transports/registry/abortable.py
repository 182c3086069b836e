"""Connections a cancel can interrupt: a request blocked on a stalled server ends at once.

A thread waiting in a socket call (sending a body the registry stopped reading,
or waiting for an answer that does not come) cannot check a cancel token; it
would sit out the 60 s timeout. :func:`track_connections` puts a thin layer
under httpx's connection pool that notes which connection each thread is
using; a request sent inside :func:`abortable` registers, with its cancel
token, a shutdown of the connection its thread used for it. The blocked call
then fails at once, and the client reports :class:`~spyglass.core.errors.Cancelled`.

A connection is shut down only while the thread that was using it is still
its user: closing a response gives the connection up (:func:`release_on_close`)
before httpx can hand it to another request, which claims it with its first
read or write. A TLS handshake is interrupted through a duplicate of the
socket's descriptor, since the handshake takes the socket over. (An idle
connection that was shut down is harmless: the pool finds it closed and opens a
new one.) A TCP connect to a host that does not answer is interrupted the
same way: the backend connects the socket itself (as httpcore's does) once it
has noted it in the request's slot.

A block given a :class:`Budget` (``within``, or ``budget``) bounds how long its reads
wait in all: each waits only for what is left of it. The 60 s read timeout is each
read's, and a server that sends a byte a second never meets it; a body read under
:func:`body_budget` must come at :data:`BODY_RATE` on average once its first
:data:`BODY_WAIT` seconds of waiting are spent, so a manifest dripped out a byte at a
time ends after about a minute, not days. Only the time spent waiting counts, not the
time between reads: a reader that takes its time (a copy whose destination is slow)
is not the server's slowness.

A request's body may still be leaving the machine long after it was handed over: the
kernel holds megabytes of it in the connection's send queue, which a slow uplink drains
at its own pace. The write and read timeouts of a tracked connection count from the
last time that queue shrank (:func:`unsent`, Linux's ``SIOCOUTQ``), not from the last
byte handed over, so an upload whose bytes are still going out is not taken for a
registry that stopped answering; a connection given up while its queue still holds
bytes is closed with a reset, so that they do not go on competing for the uplink (and
complete the abandoned request behind its retry).
"""

from __future__ import annotations

import socket
import ssl
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final

import httpcore
import httpx

from spyglass.core.cancel import CancelToken
from spyglass.core.errors import Cancelled

_ACTIVE = threading.local()
"""``slot``: the :class:`Slot` of the request this thread is sending, if any;
``stream``: the :class:`TrackedStream` this thread last wrote to or read from, in the
request it is sending (cleared as each :func:`abortable` block begins)."""

DRAIN_POLL: Final = 1.0
"""Seconds between looks at a connection's send queue while a write, or the answer to
what was written, waits: a queue that shrank since the last look restarts the timeout."""

HOP_BUFFER: Final = 4 * 1024 * 1024
"""The most of a request body a hop Spyglass cannot see into (``ssh -L``, a VPN client,
a forwarding proxy) is taken to hold after taking it: it acknowledges what it buffers,
so the body left our send queue but not the machine's link."""

HOP_RATE: Final = 8 * 1024
"""Bytes a second such a hop is taken to pass on at least: the answer to a body of N
bytes is waited for ``min(N, HOP_BUFFER) / HOP_RATE`` seconds longer than the timeout
(at most 512 s, for a body of 4 MiB or more; none for one of 8 KiB or less)."""

_OUTQ: Final[int | None] = 0x5411 if sys.platform == "linux" else None
"""Linux's ``SIOCOUTQ`` (``TIOCOUTQ``): the bytes of a TCP socket's send queue not yet
acknowledged by the other end."""


def unsent(sock: socket.socket) -> int | None:
    """The bytes written to ``sock`` that the other end has not acknowledged yet; None
    where that cannot be asked (not Linux, a closed socket)."""
    if _OUTQ is None:
        return None
    try:
        import fcntl

        queued: int = struct.unpack("i", fcntl.ioctl(sock.fileno(), _OUTQ, b"\0\0\0\0"))[0]
    except (OSError, ValueError):
        return None
    return queued


BODY_WAIT: Final = 60.0
"""Seconds the reads of a body under :func:`body_budget` may wait in all before it has
to come at :data:`BODY_RATE`: as long as one read may wait (the read timeout), so a
small body is held to no less than before, however slowly its one read comes."""

BODY_RATE: Final = 8 * 1024
"""Bytes a second, on average, a body under :func:`body_budget` must come at once its
:data:`BODY_WAIT` is spent: each that comes gives its reads ``1 / BODY_RATE`` s more.
Far below a link that can pull images at all (a 30 MiB layer takes an hour at this
rate); a 4 MiB manifest dripped out at exactly this rate takes 9.5 minutes, not days."""


class Budget:
    """How long reads may wait in all: ``within`` seconds, and with ``rate``, one more for
    every ``rate`` bytes that came. Reads count the time they wait (:meth:`count`), not
    the time between them."""

    __slots__ = ("rate", "received", "waited", "within")

    def __init__(self, within: float, rate: float | None = None) -> None:
        self.within = within
        self.rate = rate
        self.waited = 0.0
        """Seconds the reads have waited so far."""
        self.received = 0
        """Bytes they have brought."""

    def left(self) -> float:
        """Seconds the reads may still wait (0 or less: spent)."""
        earned = self.received / self.rate if self.rate else 0.0
        return self.within + earned - self.waited

    @property
    def spent(self) -> bool:
        return self.left() <= 0

    @property
    def dripped(self) -> bool:
        """Spent, with some bytes come: the body came too slowly. (Spent with none, its
        one read waited the whole timeout: a server that stopped answering, said as
        such, not as slowness.)"""
        return self.spent and self.received > 0

    def clip(self, timeout: float | None) -> float | None:
        """A read's ``timeout`` cut to what is left: past it, the read times out at once
        (httpx's ReadTimeout), what has arrived still taken."""
        left = max(self.left(), _SHORTEST_WAIT)
        return left if timeout is None else min(timeout, left)

    def count(self, seconds: float, received: int) -> None:
        """A read waited ``seconds`` for ``received`` bytes."""
        self.waited += seconds
        self.received += received

    def too_slow(self) -> str:
        """How slowly the body came, to follow "sent it too slowly": ``(61 B in 61 s,
        where at least 8 KiB/s is needed once 60 s have passed)``."""
        from spyglass.core.units import exact_size, human_size

        needed = (f"at least {exact_size(round(self.rate))}/s is needed once {self.within:g} s "
                  "have passed") if self.rate else f"{self.within:g} s in all is allowed"
        return f"({human_size(self.received)} in {self.waited:.0f} s, where {needed})"


BLOB_RATE: Final = 512
"""Bytes a second, on average, a blob (a config too: :class:`~.connections.ResponseStream`)
must come at once its :data:`BODY_WAIT` is spent: far below :data:`BODY_RATE`, since a
copy reads eight blobs of a registry at once over one link, and a link of 64 KiB/s (a
phone's after its data cap, a satellite's) gives each 8 KiB/s at best, yet still a
drip of a byte a second (which earns 1/512 s a second) ends in about a minute."""


def body_budget(*, blob: bool = False) -> Budget:
    """The :class:`Budget` of a body whose size is bounded (a manifest, a page of a list,
    a token server's answer, an error's body): :data:`BODY_WAIT`, then
    :data:`BODY_RATE`; a ``blob``'s, then :data:`BLOB_RATE`."""
    return Budget(BODY_WAIT, BLOB_RATE if blob else BODY_RATE)


class Slot:
    """The connection one request is using, as far as a cancel needs to know."""

    __slots__ = ("aborted", "budget", "connecting", "stream", "thread")

    def __init__(self, stream: TrackedStream | None = None) -> None:
        self.stream = stream
        self.connecting: socket.socket | None = None
        self.thread = threading.get_ident()
        self.aborted = False
        self.budget: Budget | None = None
        """How long the request's reads may wait in all (None: each its timeout)."""

    def abort(self) -> None:
        """Shut the request's connection down (called from the cancelling thread)."""
        self.aborted = True
        connecting = self.connecting
        if connecting is not None:
            _shutdown(connecting)  # wakes a blocked connect()
        stream = self.stream
        if stream is not None:
            stream.shutdown_for(self.thread)


def _shutdown(sock: socket.socket) -> None:
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # not connected yet, or closed already


class TrackedStream(httpcore.NetworkStream):
    """A connection's network stream that notes the thread using it."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner
        self.owner = 0
        self._lock = threading.Lock()
        self._handshaking: socket.socket | None = None
        self._sending = False
        """Written to since its last read: a request whose answer has not begun to come."""
        self._written = 0
        """The bytes written since its last read."""
        self._leaving: Callable[[int], None] | None = None
        """Told the bytes still queued as they leave (:meth:`on_leaving`)."""

    def _claim(self) -> None:
        self.owner = threading.get_ident()
        _ACTIVE.stream = self
        slot: Slot | None = getattr(_ACTIVE, "slot", None)
        if slot is not None:
            slot.stream = self
            if slot.aborted:  # cancelled before this request touched the network
                self.shutdown_for(slot.thread)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._claim()
        slot: Slot | None = getattr(_ACTIVE, "slot", None)
        budget = slot.budget if slot is not None else None
        if budget is None:
            return self._read(max_bytes, timeout)
        self._sending, self._written = False, 0
        started = time.monotonic()
        data = b""
        try:
            data = self._inner.read(max_bytes, budget.clip(timeout))
        finally:
            budget.count(time.monotonic() - started, len(data))
        return data

    def _read(self, max_bytes: int, timeout: float | None) -> bytes:
        """A read without a budget: the first after a request was written waits for its
        answer only once the request has left (its timeout restarts while the send
        queue shrinks)."""
        if not self._sending:
            return self._inner.read(max_bytes, timeout)
        self._sending = False
        written, self._written = self._written, 0
        sock = self.socket()
        queued = unsent(sock) if sock is not None and timeout is not None else None
        # what a hop between may still hold of a body (not of a request's head alone)
        hop = min(written, HOP_BUFFER) / HOP_RATE if written > HOP_RATE else 0.0
        if timeout is None:
            data = self._inner.read(max_bytes, timeout)
        elif not queued:
            data = self._read_while_leaving(max_bytes, timeout, None, hop)
        else:
            data = self._read_while_leaving(max_bytes, timeout, queued, hop)
        leaving, self._leaving = self._leaving, None
        if leaving is not None and data:
            leaving(0)  # answered: all of it came
        return data

    def _read_while_leaving(self, max_bytes: int, timeout: float, queued: int | None,
                            hop: float) -> bytes:
        """The answer to a request, waited for ``timeout`` seconds once the send queue
        (``queued`` bytes, None: empty or not known) stopped shrinking, and ``hop``
        seconds more (what a hop between may still hold)."""
        if not queued:
            return self._inner.read(max_bytes, timeout + hop)
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            try:
                return self._inner.read(max_bytes, _slice(deadline + hop - now))
            except httpcore.ReadTimeout:
                now = time.monotonic()
                queued, deadline = self._look(queued, deadline, now, timeout)
                if now >= deadline + hop:
                    raise

    def _look(self, queued: int | None, deadline: float, now: float, timeout: float,
              ) -> tuple[int | None, float]:
        """The send queue looked at again (``queued`` bytes at the last look): what it
        holds now, and the deadline, restarted if it shrank (bytes are leaving)."""
        sock = self.socket()
        left = unsent(sock) if sock is not None else None
        if left is None:
            return queued, deadline
        if queued is not None and left < queued:
            deadline = now + timeout
            if self._leaving is not None:
                self._leaving(left)
        return (left if queued is None else min(left, queued)), deadline

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._claim()
        self._sending = True
        self._written += len(buffer)
        sock = self.socket()
        if sock is None or timeout is None or _OUTQ is None:
            self._inner.write(buffer, timeout)
            return
        # httpcore's own write (SyncStream.write), but waiting in slices: a queue that
        # drains slowly frees room only now and then, and that is not a registry that
        # takes nothing (a TLS socket's timed-out send is asked again with the same data,
        # as OpenSSL wants)
        view = memoryview(buffer)
        deadline = time.monotonic() + timeout
        queued: int | None = None
        while view:
            try:
                sock.settimeout(_slice(deadline - time.monotonic()))
                sent = sock.send(view)
            except TimeoutError as exc:
                now = time.monotonic()
                queued, deadline = self._look(queued, deadline, now, timeout)
                if now >= deadline:
                    raise httpcore.WriteTimeout(str(exc) or "timed out") from exc
                continue
            except OSError as exc:
                raise httpcore.WriteError(str(exc)) from exc
            view = view[sent:]
            deadline = time.monotonic() + timeout
            # taken in part: the queue is full, and the next send waits for it to drain
            queued = unsent(sock) if view else None

    def socket(self) -> socket.socket | None:
        """The socket under the connection, where it is httpcore's own stream over one
        (TLS included; not a TLS stream tunnelled through an ``https://`` proxy's)."""
        if _SyncStream is None or not isinstance(self._inner, _SyncStream):
            return None
        sock = self._inner.get_extra_info("socket")
        return sock if isinstance(sock, socket.socket) else None

    def unsent(self) -> int | None:
        """The bytes written to the connection not yet taken by the other end (None: not
        known)."""
        sock = self.socket()
        return unsent(sock) if sock is not None else None

    def on_leaving(self, told: Callable[[int], None]) -> None:
        """Tell ``told`` the bytes still queued as the request written leaves, while its
        answer is waited for (0 once the answer begins)."""
        self._leaving = told

    def close(self) -> None:
        # a request given up while its bytes are still queued (or in a buffering hop's):
        # a reset drops them, where a FIN would send them all first, for nothing
        sock = self.socket()
        if sock is not None and (self._sending or unsent(sock)):
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass  # closed already
        self._leaving = None
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        self._claim()
        plain = self._inner.get_extra_info("socket")
        # the handshake detaches the plain socket object: shut down through a duplicate
        # (a TLS socket, to an https:// proxy, cannot be duplicated; its handshake inside
        # it is cut off by shutting the connection down the ordinary way)
        self._handshaking = (
            plain.dup() if isinstance(plain, socket.socket)
            and not isinstance(plain, ssl.SSLSocket) else None)
        try:
            slot: Slot | None = getattr(_ACTIVE, "slot", None)
            if slot is not None and slot.aborted:
                self.shutdown_for(slot.thread)
            tls = TrackedStream(self._inner.start_tls(ssl_context, server_hostname, timeout))
        finally:
            with self._lock:
                spare, self._handshaking = self._handshaking, None
            if spare is not None:
                spare.close()
        tls._claim()
        return tls

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def shutdown_for(self, thread: int) -> None:
        """Shut the socket down if ``thread`` is still its user: the plain socket call,
        under any TLS layer, so a call blocked in it wakes with an error."""
        with self._lock:  # not released to the pool meanwhile (see release)
            if self.owner != thread:
                return
            sock = self._handshaking or self._inner.get_extra_info("socket")
            if isinstance(sock, socket.socket):
                _shutdown(sock)

    def release(self) -> None:
        """The request using this connection is over: no cancel of it may touch the
        connection now (the pool may hand it to another request next)."""
        with self._lock:
            self.owner = 0


_SHORTEST_WAIT: Final = 0.001
"""A read's timeout past its deadline: what has arrived is still taken (a timeout of 0
would make the socket non-blocking, an error of another kind)."""


def _slice(left: float) -> float:
    """How long one wait of a write or read that looks at the send queue lasts."""
    return max(min(left, DRAIN_POLL), _SHORTEST_WAIT)


def current_stream() -> TrackedStream | None:
    """The tracked connection this thread last wrote to or read from in the request it
    is sending (a request body's pieces are written by the thread that sends it)."""
    stream: TrackedStream | None = getattr(_ACTIVE, "stream", None)
    return stream


class TrackingBackend(httpcore.NetworkBackend):
    """httpcore's network backend, handing out :class:`TrackedStream` connections."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        slot: Slot | None = getattr(_ACTIVE, "slot", None)
        if slot is None or _SyncStream is None or not isinstance(self._inner, httpcore.SyncBackend):
            return TrackedStream(
                self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
            )
        sock = _connect(host, port, timeout, local_address, slot)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            sock.close()
            raise httpcore.ConnectError(str(exc)) from exc
        stream = TrackedStream(_SyncStream(sock))
        stream._claim()  # a cancel from here on shuts it down
        return stream

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return TrackedStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def track_connections(transport: httpx.BaseTransport) -> bool:
    """Put :class:`TrackingBackend` under ``transport``'s connection pool; False when
    the transport has no such pool (a mock, or an httpx that keeps it elsewhere):
    then a cancel waits for the timeout, as before."""
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, TrackingBackend):
        return True
    if not isinstance(backend, httpcore.NetworkBackend):
        return False
    pool._network_backend = TrackingBackend(backend)  # type: ignore[union-attr]
    return True


@contextmanager
def abortable(cancel: CancelToken | None, *, within: float | None = None,
              budget: Budget | None = None) -> Iterator[Slot | None]:
    """Within the block, cancelling ``cancel`` shuts down the connection this thread's
    request uses; the slot (None without a token or a budget) names that connection
    after. With ``within`` (seconds), the block's reads wait no longer than that in all;
    with ``budget``, no longer than it allows (:class:`Budget`): one past it times out
    (httpx's ReadTimeout), as if the server had stopped sending.

    A block without a token inside another's (a token server's answer read within the
    request that needed it) bounds the reads of that one's slot for the while, so a
    cancel of the outer block still reaches the connection they use."""
    if budget is None and within is not None:
        budget = Budget(within)
    if budget is None:
        _ACTIVE.stream = None  # a new request: no connection of its own yet
    if cancel is None and budget is None:
        yield None
        return
    outer: Slot | None = getattr(_ACTIVE, "slot", None)
    if cancel is None and outer is not None:
        lent, outer.budget = outer.budget, budget
        try:
            yield outer
        finally:
            outer.budget = lent
        return
    slot = Slot()
    slot.budget = budget
    key = cancel.add_abort(slot.abort) if cancel is not None else None
    if cancel is not None and key is None:
        slot.aborted = True  # cancelled already: the first read or write shuts it down
    _ACTIVE.slot = slot
    try:
        yield slot
    finally:
        _ACTIVE.slot = outer
        if cancel is not None:
            cancel.remove_abort(key)


class _Releasing(httpx.SyncByteStream):
    """A response body that releases its tracked connection as it is closed, before
    httpcore hands the connection back to the pool."""

    def __init__(self, inner: httpx.SyncByteStream, tracked: TrackedStream) -> None:
        self._inner = inner
        self._tracked = tracked

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        self._tracked.release()
        self._inner.close()


def release_on_close(response: httpx.Response) -> None:
    """Make closing ``response`` release its tracked connection (in a transport)."""
    tracked = response_stream(response)
    if tracked is not None and isinstance(response.stream, httpx.SyncByteStream):
        response.stream = _Releasing(response.stream, tracked)


def response_stream(response: httpx.Response) -> TrackedStream | None:
    """The tracked connection a response's body arrives on, if any."""
    stream = response.extensions.get("network_stream")
    return stream if isinstance(stream, TrackedStream) else None


def raise_if_cancelled(cancel: CancelToken | None, cause: BaseException | None) -> None:
    """A network call that failed after ``cancel`` was set failed because cancelling
    shut its connection down: raise :class:`Cancelled` for it."""
    if cancel is not None and cancel.cancelled:
        raise Cancelled() from cause


try:  # httpcore's plain socket stream, to hand back what _connect connected
    from httpcore._backends.sync import SyncStream as _SyncStream
except ImportError:  # pragma: no cover - another httpcore: connects are not interrupted
    _SyncStream = None  # type: ignore[assignment,misc]


def _connect(
    host: str, port: int, timeout: float | None, local_address: str | None, slot: Slot
) -> socket.socket:
    """``socket.create_connection`` with each socket noted in ``slot`` before it
    connects, so a cancel can interrupt the connect; errors as httpcore raises them."""
    source = None if local_address is None else (local_address, 0)
    try:
        addresses = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(str(exc)) from exc
    error: OSError = OSError(f"no address for {host}")
    for family, kind, proto, _name, address in addresses:
        sock: socket.socket | None = None
        try:
            if slot.aborted:
                raise ConnectionAbortedError("the request was cancelled")
            sock = socket.socket(family, kind, proto)
            slot.connecting = sock
            sock.settimeout(timeout)
            if source is not None:
                sock.bind(source)
            sock.connect(address)
            return sock
        except OSError as exc:  # a timeout too: the next address may answer
            if sock is not None:
                sock.close()
            error = exc
            if slot.aborted:
                break
        finally:
            slot.connecting = None
    if isinstance(error, TimeoutError):
        raise httpcore.ConnectTimeout(str(error) or "timed out") from error
    raise httpcore.ConnectError(str(error)) from error
