"""Registries that stall or answer early, on real sockets.

Cancelling a request blocked on a registry that stopped sending or reading
ends it at once: the reader or writer is blocked in a socket call, where no
cancel token is checked; the token shuts the connection down instead of
waiting out the 60 s timeout. An upload the registry answers before it has
the whole blob is abandoned with a sentence.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import select
import signal
import socket
import ssl
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest

from spyglass.core.cancel import CancelToken
from spyglass.core.copy import STOP_WAIT, CopyOptions
from spyglass.core.digest import Digest
from spyglass.core.errors import Cancelled, RegistryError
from spyglass.core.manifest import Descriptor
from spyglass.core.transports import open_source
from spyglass.core.transports.registry import RegistryOptions
from spyglass.core.transports.temporaries import ORPHAN_AGE, TEMP_PREFIX
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

pytestmark = pytest.mark.integration

BODY = 64 * 1024 * 1024
SENT = 1024 * 1024
DIGEST = Digest.of(b"never sent whole")
WAIT_S = 10.0
"""How long a test waits for a server or client to reach the state it waits for."""

TIMEOUTS = (TimeoutError, httpx.TimeoutException, httpcore.TimeoutException)


def _pause() -> None:
    threading.Event().wait(0.01)  # not time.sleep: later tests record the sleeps asked for


def assert_ended_by_the_cancel(exc: BaseException | None) -> None:
    """``exc`` is the Cancelled of a request whose connection the cancel shut down, not
    of one that sat out its timeout first (60 s; 20 s for the ``/v2/`` ping), which is
    what a cancel that cannot reach the socket comes to: the causes tell, no stopwatch."""
    assert isinstance(exc, Cancelled), repr(exc)
    causes: list[BaseException] = []
    cause = exc.__cause__ or exc.__context__
    while cause is not None and len(causes) < 20:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    assert not any(isinstance(c, TIMEOUTS) for c in causes), causes


class SocketCalls:
    """The socket calls the threads of this process are in, so a test can wait until a
    client is blocked on a stalled server rather than sleep and hope it is by then:
    ``recv``, ``recv_into``, ``send``, ``sendall`` and ``connect`` of plain sockets,
    and the handshake and receives of TLS ones (installed for every test here)."""

    WRITES = ("send", "sendall")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[int, tuple[socket.socket, str, object]] = {}
        self._keys = itertools.count()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("recv", "recv_into", "send", "sendall", "connect"):
            monkeypatch.setattr(socket.socket, name, self._tracked(name, socket.socket))
        for name in ("do_handshake", "recv", "recv_into"):
            monkeypatch.setattr(ssl.SSLSocket, name, self._tracked(name, ssl.SSLSocket))

    def _tracked(self, name: str, kind: type) -> Callable[..., object]:
        real = getattr(kind, name)

        def call(sock: socket.socket, *args: object, **kwargs: object) -> object:
            address = args[0] if name == "connect" and args else None
            with self._lock:
                key = next(self._keys)
                self._active[key] = (sock, name, address)
            try:
                return real(sock, *args, **kwargs)
            finally:
                with self._lock:
                    del self._active[key]

        return call

    def blocked_on(self, port: int) -> int:
        """How many calls wait on a connection to ``127.0.0.1:port``: a receive with
        nothing to read, a send with no room left, a connect."""
        with self._lock:
            calls = list(self._active.values())
        blocked = 0
        for sock, name, address in calls:
            try:
                peer = address if name == "connect" else sock.getpeername()
                if not isinstance(peer, tuple) or peer[1] != port:
                    continue
                if name == "connect":
                    blocked += 1
                    continue
                readable, writable, _ = select.select([sock], [sock], [], 0)
            except (OSError, ValueError):
                continue  # closed meanwhile
            blocked += not (writable if name in self.WRITES else readable)
        return blocked

    def wait_blocked(self, port: int, count: int = 1) -> bool:
        """Wait until ``count`` calls are blocked on ``127.0.0.1:port``; False if they
        never are."""
        deadline = time.monotonic() + WAIT_S
        while self.blocked_on(port) < count:
            if time.monotonic() > deadline:
                return False
            _pause()
        return True


CALLS = SocketCalls()


@pytest.fixture(autouse=True)
def _track_socket_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    CALLS.install(monkeypatch)


def _unsent(conn: socket.socket) -> int:
    """Bytes ``conn`` was given to send that have not reached the other end yet."""
    raw = fcntl.ioctl(conn.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
    return int(struct.unpack("i", raw)[0])


def _unread_by_peer(conn: socket.socket) -> int | None:
    """Bytes that reached the other end of ``conn`` (another process, say) and that it
    has not read yet, from ``/proc/net/tcp``; None if that end is not listed."""
    here, there = conn.getsockname()[1], conn.getpeername()[1]
    with open("/proc/net/tcp", encoding="ascii") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, remote, queues = fields[1], fields[2], fields[4]
            if (int(local.rsplit(":", 1)[1], 16) == there
                    and int(remote.rsplit(":", 1)[1], 16) == here):
                return int(queues.split(":")[1], 16)
    return None


class _Listening:
    """A plain TCP server on loopback: each connection served by ``_serve`` on a thread
    of its own; closing it ends the connections still held, and their threads."""

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self.connections = 0
        self._closed = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._closed.set()
        self._server.close()
        for conn in self._held:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ScriptedServer(_Listening):
    """Plain HTTP/1.1 with keep-alive: answers ``/v2/`` like a registry (unless
    ``ping`` is false), and every other request by ``answer(conn, method, path)``,
    which may stall (see :meth:`stall`). Requests are logged; a TLS hello gets the
    connection closed. ``stalled`` is set once a connection stalls, ``stalled_conns``
    holds every one that did. With ``tls`` (a server context), HTTPS instead."""

    def __init__(
        self, answer: Callable[[socket.socket, str, str], None], *, ping: bool = True,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._answer = answer
        self._ping = ping
        self._tls = tls
        self.seen: list[tuple[str, str]] = []
        self.head = ""  # the headers of the request being answered, lower case
        self.stalled = threading.Event()
        self.stalled_conns: list[socket.socket] = []
        super().__init__()

    def _serve(self, conn: socket.socket) -> None:
        if self._tls is not None:
            try:
                conn = self._tls.wrap_socket(conn, server_side=True)
            except OSError:
                return
            self._held.append(conn)
        with conn:
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        return
                    if not chunk or (chunk[:1] == b"\x16" and self._tls is None):
                        return
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                method, path = head.split(b" ", 2)[:2]
                self.seen.append((method.decode(), path.decode()))
                self.head = head.decode("latin-1").lower()
                try:
                    if path == b"/v2/" and self._ping:
                        conn.sendall(b"HTTP/1.1 200 OK\r\nDocker-Distribution-API-Version: "
                                     b"registry/2.0\r\nContent-Length: 0\r\n\r\n")
                    else:
                        self._answer(conn, method.decode(), path.decode())
                except OSError:
                    return

    def stall(self, conn: socket.socket, *, read: bool) -> None:
        """Send nothing more; read what comes (or not even that) until the client goes.
        The stall is announced once what was sent has reached the client."""
        deadline = time.monotonic() + WAIT_S
        while _unsent(conn) and time.monotonic() < deadline:
            _pause()
        self.stalled_conns.append(conn)
        self.stalled.set()
        if not read:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            # Event.wait, not time.sleep: later tests record the sleeps asked for
            while not self._closed.wait(0.05):
                try:
                    if conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                        return  # the client shut its side down
                except BlockingIOError:
                    continue
            return
        while conn.recv(65536):
            pass


class SilentServer(_Listening):
    """Accepts TCP connections and never says a word (a TLS handshake stalls);
    ``greeted`` is set once a client has said something (its TLS hello)."""

    def __init__(self) -> None:
        self.greeted = threading.Event()
        super().__init__()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                while conn.recv(65536):
                    self.greeted.set()
            except OSError:
                pass


def answered_upload_step(conn: socket.socket, method: str) -> bool:
    """Answer the POST that opens an upload session and the DELETE that cancels it, as
    distribution does; False for any other request."""
    if method == "POST":
        conn.sendall(b"HTTP/1.1 202 Accepted\r\nLocation: /v2/app/blobs/uploads/u1\r\n"
                     b"Content-Length: 0\r\n\r\n")
    elif method == "DELETE":
        conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
    else:
        return False
    return True


def stalling_registry(tls: ssl.SSLContext | None = None) -> ScriptedServer:
    """For a blob it sends the headers and 1 MiB of a 64 MiB body, then nothing, until
    the client goes away (over HTTPS with ``tls``, a server context)."""

    def answer(conn: socket.socket, method: str, path: str) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: %d\r\n\r\n" % BODY + bytes(SENT))
        server.stall(conn, read=True)
        raise OSError("this connection is done")

    server = ScriptedServer(answer, tls=tls)
    return server


SMALL = b"small body, read through httpx"


class SlowSecondAnswer(ScriptedServer):
    """The first blob request of a connection answered at once with a small body; a
    later one on the same connection is held (``holding`` set) until ``release`` is."""

    def __init__(self) -> None:
        self.holding = threading.Event()
        self.release = threading.Event()
        self._blobs: dict[int, int] = {}
        super().__init__(self._answer_blob)

    def _answer_blob(self, conn: socket.socket, method: str, path: str) -> None:
        self._blobs[id(conn)] = self._blobs.get(id(conn), 0) + 1
        if self._blobs[id(conn)] > 1:
            self.holding.set()
            self.release.wait(WAIT_S)  # while a cancel lands
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(SMALL) + SMALL)


@pytest.fixture
def stalling() -> Iterator[ScriptedServer]:
    server = stalling_registry()
    yield server
    server.close()


def test_cancel_ends_a_read_blocked_on_a_stalled_registry(stalling: ScriptedServer) -> None:
    source = open_source(f"docker://{stalling.host}/app@{DIGEST}",
                         RegistryOptions(tls_verify=False, retry_times=0))
    token = CancelToken()
    outcome: list[BaseException | int] = []

    def read() -> None:
        try:
            with source.open_blob(Descriptor("application/octet-stream", DIGEST, BODY),
                                  cancel=token) as stream:
                total = 0
                while chunk := stream.read(1024 * 1024):
                    total += len(chunk)
                outcome.append(total)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert stalling.stalled.wait(WAIT_S), outcome
    # the reader has taken the 1 MiB sent and now waits in recv
    assert CALLS.wait_blocked(stalling.port), "the reader never blocked on the stall"
    assert reader.is_alive() and outcome == []
    token.cancel()
    reader.join(WAIT_S)
    assert not reader.is_alive()
    assert len(outcome) == 1, outcome
    assert_ended_by_the_cancel(outcome[0])  # not the 60 s read timeout


def test_cancel_ends_a_tls_blob_read_blocked_on_a_stalled_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A blob over TLS is read straight from its TLS socket too, and a cancel shuts that
    down as it does a plain one."""
    from spyglass.core.transports.registry import connections
    from spyglass.core.transports.registry.client import RegistryClient
    from tests.helpers.registry import CertificateAuthority

    ca = CertificateAuthority(tmp_path / "ca")
    issued = ca.issue("registry", ip_addresses=["127.0.0.1"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(issued.cert_path, issued.key_path)
    (tmp_path / "certs.d").mkdir()
    (tmp_path / "certs.d" / "ca.crt").write_bytes(ca.cert_pem)
    direct: list[socket.socket | None] = []
    body_socket = connections._body_socket

    def recorded(response: httpx.Response) -> socket.socket | None:
        direct.append(body_socket(response))
        return direct[-1]

    monkeypatch.setattr(connections, "_body_socket", recorded)
    server = stalling_registry(tls=context)
    try:
        client = RegistryClient(server.host, cert_dir=tmp_path / "certs.d", retry_times=0)

        def read(token: CancelToken) -> None:
            with client.open_blob("app", DIGEST, cancel=token) as stream:
                while stream.read(1024 * 1024):
                    pass

        _cancel_ends(read, server.stalled, server.port)
    finally:
        server.close()
    assert len(direct) == 1 and isinstance(direct[0], ssl.SSLSocket), direct


def test_a_copy_cancelled_while_its_source_stalls_is_cancelled_not_failed(
    stalling: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine reports the cancel, not the connection error the shutdown caused."""
    from spyglass.core.copy import BlobTask, _transfer_blob

    source = open_source(f"docker://{stalling.host}/app@{DIGEST}",
                         RegistryOptions(tls_verify=False, retry_times=0))

    class Sink:
        def reuse_blob(self, descriptor: Descriptor, *, cancel: object = None,
                       sending: bool = True) -> None:
            return None

        def put_blob(self, stream: object, **_: object) -> Descriptor:
            read = stream.read
            while read(1024 * 1024):
                pass
            raise AssertionError("the stalled body cannot end")

    token = CancelToken()
    blocked = _cancel_later(token, stalling)  # not before: the stall is what it is about
    with pytest.raises(Cancelled) as cancelled:
        _transfer_blob(
            BlobTask(Descriptor("application/octet-stream", DIGEST, BODY),
                     "application/octet-stream"),
            source, Sink(), CopyOptions(retry_times=3), lambda event: None,  # type: ignore[arg-type]
            token,
        )
    assert blocked.is_set(), "the copy never blocked on the stalled source"
    assert_ended_by_the_cancel(cancelled.value)


def test_a_cancel_after_a_small_blob_leaves_its_pooled_connection_alone() -> None:
    """A body read through httpx hands its connection back to the pool the moment it
    ends; cancelling that copy then must not shut down another request on it."""
    server = SlowSecondAnswer()
    try:
        source = open_source(f"docker://{server.host}/app:v1",
                             RegistryOptions(tls_verify=False, retry_times=0))
        small = Descriptor("application/octet-stream", Digest.of(SMALL),
                           len(SMALL))
        token = CancelToken()
        first = source.open_blob(small, cancel=token)
        assert first.read() == SMALL  # the body has ended: its connection is free
        connections = server.connections
        second: list[bytes | BaseException] = []

        def other_request() -> None:
            try:
                with source.open_blob(small) as stream:
                    second.append(stream.read())
            except BaseException as exc:
                second.append(exc)

        other = threading.Thread(target=other_request)
        other.start()
        # the other request is waiting for its answer on that connection
        assert server.holding.wait(WAIT_S), server.seen
        assert CALLS.wait_blocked(server.port)
        token.cancel()  # the first stream is not closed yet, as in a copy cancelled then
        server.release.set()
        other.join(WAIT_S)
        first.close()
        assert server.connections == connections  # it did reuse the pooled connection
        assert second == [SMALL]
    finally:
        server.close()


def _cancel_later(token: CancelToken, server: ScriptedServer) -> threading.Event:
    """Cancel ``token`` once ``server`` stalled and its client is blocked in the socket
    call; the event returned is set if it was (cancelled anyway after a while if not)."""
    blocked = threading.Event()

    def run() -> None:
        if server.stalled.wait(WAIT_S) and CALLS.wait_blocked(server.port):
            blocked.set()
        token.cancel()

    threading.Thread(target=run, daemon=True).start()
    return blocked


class Zeros:
    """A stream of ``size`` zero bytes."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, n: int = -1, /) -> bytes:
        count = min(self.left, 1024 * 1024 if n < 0 else n)
        self.left -= count
        return bytes(count)


@pytest.mark.parametrize("size_known", [True, False])
def test_cancel_ends_an_upload_the_registry_stopped_reading(size_known: bool) -> None:
    """The body's send is blocked in the kernel: the cancel shuts the connection down,
    and the courtesy DELETE of the session does not wait long either."""
    from spyglass.core.transports.registry.client import RegistryClient

    def answer(conn: socket.socket, method: str, path: str) -> None:
        if not answered_upload_step(conn, method):
            server.stall(conn, read=False)

    server = ScriptedServer(answer)
    try:
        client = RegistryClient(server.host, insecure=True, retry_times=0)
        token = CancelToken()
        blocked = _cancel_later(token, server)
        size = 256 * 1024 * 1024
        with pytest.raises(Cancelled) as cancelled:
            client.upload_blob("app", Zeros(size), DIGEST if size_known else None,
                               size if size_known else None, cancel=token)
        assert blocked.is_set(), "the upload never blocked on the registry"
        assert_ended_by_the_cancel(cancelled.value)  # not the 60 s write timeout
        sent = "PUT" if size_known else "PATCH"
        assert [m for m, _ in server.seen if m != "GET"] == ["POST", sent, "DELETE"]
    finally:
        server.close()


@pytest.mark.parametrize("stall_in", ["headers", "first piece"])
def test_cancel_ends_a_request_the_registry_never_answers(stall_in: str) -> None:
    """No answer at all, or a small body (read through httpx, not the socket) that
    stops after a few bytes."""

    def answer(conn: socket.socket, method: str, path: str) -> None:
        if stall_in == "first piece":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: 500000\r\n\r\n" + bytes(100))
        server.stall(conn, read=True)

    server = ScriptedServer(answer)
    try:
        source = open_source(f"docker://{server.host}/app@{DIGEST}",
                             RegistryOptions(tls_verify=False, retry_times=0))
        token = CancelToken()
        blocked = _cancel_later(token, server)
        blob = Descriptor("application/octet-stream", DIGEST, 500000)
        with (pytest.raises(Cancelled) as cancelled,
              source.open_blob(blob, cancel=token) as stream):
            while stream.read(65536):
                pass
        assert blocked.is_set(), "the read never blocked on the registry"
        assert_ended_by_the_cancel(cancelled.value)  # not the 60 s read timeout
    finally:
        server.close()


class _StalledCopy:
    """``spyglass copy`` run as a process from a scripted registry whose one layer stalls
    after its first bytes: :meth:`start` returns once the transfer is blocked reading it."""

    LAYER_SIZE = 8 * 1024 * 1024

    def __init__(self, tmp_path: Path, destination: str) -> None:
        self.destination = destination
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path),
                        XDG_CACHE_HOME=str(tmp_path / "cache"))
        self.layer = layer = Digest.of(b"layer never sent whole")
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [str(layer)]}}).encode()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": str(Digest.of(config)), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": str(layer), "size": self.LAYER_SIZE}],
        }).encode()

        def answer(conn: socket.socket, method: str, path: str) -> None:
            if path.endswith(("/manifests/v1", f"/manifests/{Digest.of(manifest)}")):
                body, kind = manifest, b"application/vnd.oci.image.manifest.v1+json"
            elif "/tags/list" in path:
                body, kind = b'{"name": "app", "tags": ["v1"]}', b"application/json"
            elif path.endswith(str(Digest.of(config))):
                body, kind = config, b"application/octet-stream"
            elif path.endswith(str(layer)):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             b"Content-Length: %d\r\n\r\n" % self.LAYER_SIZE + bytes(SENT))
                self.server.stall(conn, read=True)
                return
            else:  # tags and referrers: none
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                return
            body_sent = b"" if method == "HEAD" else body
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\nDocker-Content-Digest: %s\r\n"
                         b"Content-Length: %d\r\n\r\n" % (kind, str(Digest.of(body)).encode(),
                                                          len(body)) + body_sent)

        self.server = ScriptedServer(answer)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *command: str) -> subprocess.Popen[bytes]:
        """``spyglass copy`` to the destination given; or ``spyglass COMMAND…`` (``{host}``
        in it: the registry's)."""
        argv = [part.replace("{host}", self.server.host) for part in command] or [
            "copy", "--src-tls-verify=false", "--retry-times", "0",
            f"docker://{self.server.host}/app:v1", self.destination]
        self.process = process = subprocess.Popen(
            [sys.executable, "-m", "spyglass", *argv],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
        )
        if not self.server.stalled.wait(20):
            process.kill()
            raise AssertionError((self.server.seen, process.communicate()))
        # the transfer has read all that was sent: it is now blocked in its socket read
        conn = self.server.stalled_conns[0]
        deadline = time.monotonic() + WAIT_S
        while _unread_by_peer(conn) != 0:
            assert time.monotonic() < deadline, "the copy never read what was sent"
            _pause()
        return process

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.communicate()
        self.server.close()


def _manifest_read_cancelled(server: ScriptedServer) -> list[str]:
    """Read a manifest from ``server``, which stalls, and cancel once the read is
    blocked: Cancelled must come of the cancel, not of a timeout. Closes the server;
    returns the paths it saw."""
    from spyglass.core.transports.registry.client import RegistryClient

    try:
        client = RegistryClient(server.host, insecure=True, retry_times=0)
        token = CancelToken()
        blocked = _cancel_later(token, server)
        started = time.monotonic()
        with pytest.raises(Cancelled) as cancelled:
            client.get_manifest("app", "v1", cancel=token)
        assert blocked.is_set(), "the read never blocked on the registry"
        assert_ended_by_the_cancel(cancelled.value)  # not the read timeout
        # An error body's broken read is dropped (the status says enough), so there the
        # causes cannot tell; this bound, far above the moments it takes, exists only to
        # catch a read left to its 60 s timeout.
        assert time.monotonic() - started < 30
        return [path for _, path in server.seen]
    finally:
        server.close()


@pytest.mark.parametrize("status", [200, 500])
def test_cancel_ends_a_manifest_or_error_body_that_stalls(status: int) -> None:
    """Small bodies read whole through httpx (a manifest, an error's JSON) after the
    headers came: a cancel ends the read and says Cancelled, not a broken connection."""

    def answer(conn: socket.socket, method: str, path: str) -> None:
        if not path.startswith("/v2/app/manifests/"):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            return
        reason = b"OK" if status == 200 else b"Internal Server Error"
        conn.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 4000\r\n\r\n{" % (status, reason))
        server.stall(conn, read=True)

    server = ScriptedServer(answer)
    seen = _manifest_read_cancelled(server)
    assert seen[-1] == "/v2/app/manifests/v1"


def test_cancel_ends_the_first_request_while_the_registry_is_pinged() -> None:
    """A client's first request asks ``/v2/`` first; a registry that never answers
    that is interrupted by the request's cancel too."""

    def answer(conn: socket.socket, method: str, path: str) -> None:
        server.stall(conn, read=True)

    server = ScriptedServer(answer, ping=False)
    assert _manifest_read_cancelled(server) == ["/v2/"]


@pytest.mark.parametrize(("signum", "said"), [
    (signal.SIGINT, b"spyglass: interrupted."),
    (signal.SIGTERM, b"spyglass: stopped by SIGTERM."),  # systemd, timeout, docker stop
    (signal.SIGHUP, b"spyglass: stopped by SIGHUP."),  # the terminal closed
])
def test_ctrl_c_stops_a_copy_stalled_on_its_source_and_leaves_no_layout(
    tmp_path: Path, signum: int, said: bytes
) -> None:
    """``spyglass copy`` from a registry whose blob stalls: Ctrl+C (SIGINT) ends it at
    once, with no layout left at the destination; SIGTERM and SIGHUP clean up the same
    way. Each then ends the process by that signal (Ctrl+C ended it with status 130, and
    a shell script looping over copies went on to the next)."""
    layout = tmp_path / "layout"
    copy = _StalledCopy(tmp_path, f"oci:{layout}:v1")
    try:
        process = copy.start()
        interrupted_at = time.monotonic()
        process.send_signal(signum)
        _out, err = process.communicate(timeout=20)  # not the 60 s read timeout
        # Not a speed check: it takes moments, and the bound is far above that. A cancel
        # that does not reach the blocked socket leaves the copy waiting STOP_WAIT for the
        # transfer before it cleans up and ends all the same; only the time tells.
        assert time.monotonic() - interrupted_at < STOP_WAIT, "waited for the stalled transfer"
        # after its clean-up a terminated copy ends by that signal, as callers expect
        assert process.returncode == -signum, err
        assert said in err
        assert not layout.exists() or not any(
            p.is_file() and p.name != "oci-layout" and p.name != "index.json"
            for p in layout.rglob("*")
        ), sorted(layout.rglob("*"))
    finally:
        copy.close()


def test_ctrl_c_stops_a_sync_into_dir_and_leaves_no_half_written_image(
    tmp_path: Path
) -> None:
    """``spyglass sync`` into a folder, its copy stalled on a layer: Ctrl+C ends it at
    once (by SIGINT), and neither the image's folder nor its staging folder is left."""
    out = tmp_path / "out"
    copy = _StalledCopy(tmp_path, "")
    try:
        process = copy.start("sync", "--src-tls-verify=false", "--retry-times", "0",
                             "--src", "docker", "--dest", "dir", "{host}/app", str(out))
        interrupted_at = time.monotonic()
        process.send_signal(signal.SIGINT)
        stdout, err = process.communicate(timeout=20)
        assert time.monotonic() - interrupted_at < STOP_WAIT, "waited for the stalled transfer"
        assert process.returncode == -signal.SIGINT, err
        assert b"spyglass: interrupted." in err
        # nothing copied: the last line says so, as the summary would
        assert stdout == b"Synced 0 images from 1 sources, then interrupted; 1 not copied\n"
        # the folder the copy made for the image's folder goes with it, as it was empty
        assert not out.exists(), sorted(out.rglob("*"))
    finally:
        copy.close()


def test_what_a_killed_copy_left_in_a_layout_goes_with_the_next_copy(tmp_path: Path) -> None:
    """A copy killed mid-blob (SIGKILL: no clean-up runs) leaves its temporary file in the
    layout; once it is old enough to be no copy's starting moment, the next copy into the
    layout removes it, and keeps the layout's images."""
    layout = tmp_path / "layout"
    source = LayoutBuilder(tmp_path / "source")
    source.tag(source.add_image(ImageSpec(layers=[LayerSpec({"/etc/motd": b"hello\n"})])), "v2")
    LayoutBuilder(layout)
    copy = _StalledCopy(tmp_path, f"oci:{layout}:v1")
    try:
        process = copy.start()
        process.kill()
        process.communicate(timeout=20)
        left = sorted(layout.glob(f"{TEMP_PREFIX}*"))
        assert left, sorted(layout.rglob("*"))  # the blob it was writing
        for path in left:
            then = time.time() - ORPHAN_AGE - 60
            os.utime(path, (then, then))
        done = subprocess.run(
            [sys.executable, "-m", "spyglass", "copy", f"oci:{tmp_path / 'source'}:v2",
             f"oci:{layout}:v2"],
            capture_output=True, env=copy.env, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert sorted(layout.glob(f"{TEMP_PREFIX}*")) == []
        index = json.loads((layout / "index.json").read_text())
        assert [m["annotations"]["org.opencontainers.image.ref.name"]
                for m in index["manifests"]] == ["v2"]
    finally:
        copy.close()


def _cancel_ends(call: Callable[[CancelToken], object], started: threading.Event,
                 port: int) -> None:
    """Once ``started`` is set and ``call(token)`` is blocked on ``127.0.0.1:port``, a
    cancel ends it with Cancelled, not the call's timeout."""
    token = CancelToken()
    blocked = threading.Event()

    def cancel() -> None:
        if started.wait(WAIT_S) and CALLS.wait_blocked(port):
            blocked.set()
        token.cancel()

    threading.Thread(target=cancel, daemon=True).start()
    with pytest.raises(Cancelled) as cancelled:
        call(token)
    assert blocked.is_set(), "the call never blocked on the server"
    assert_ended_by_the_cancel(cancelled.value)


def test_cancel_ends_a_tls_handshake_the_server_never_answers() -> None:
    from spyglass.core.transports.registry.client import RegistryClient

    server = SilentServer()
    try:
        client = RegistryClient(server.host, retry_times=0)
        _cancel_ends(
            lambda token: client.send("GET", f"https://{server.host}/v2/", what="Asking",
                                      cancel=token),
            server.greeted, server.port,
        )
    finally:
        server.close()


def test_cancel_while_a_token_server_stalls_is_a_cancel() -> None:
    """The registry asks for a Bearer token; its token server never answers."""
    from spyglass.core.transports.registry.client import RegistryClient

    token_server = ScriptedServer(lambda conn, method, path: token_server.stall(conn, read=True))

    def answer(conn: socket.socket, method: str, path: str) -> None:
        challenge = (f'Bearer realm="http://{token_server.host}/token",service="test"')
        conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: %s\r\n"
                     b"Content-Length: 0\r\n\r\n" % challenge.encode())

    registry = ScriptedServer(answer)
    try:
        client = RegistryClient(registry.host, insecure=True, retry_times=0)
        _cancel_ends(
            lambda token: client.send("GET", f"http://{registry.host}/v2/app/tags/list",
                                      what="Listing", cancel=token),
            token_server.stalled, token_server.port,
        )
    finally:
        registry.close()
        token_server.close()


def test_a_closed_response_gives_its_connection_up() -> None:
    """Closing a response releases its connection before the pool can hand it on, so a
    later cancel of that request cannot shut down whoever uses it next."""
    from spyglass.core.transports.registry.abortable import response_stream
    from spyglass.core.transports.registry.client import RegistryClient

    server = SlowSecondAnswer()
    try:
        client = RegistryClient(server.host, insecure=True, retry_times=0)
        response = client.send("GET", f"http://{server.host}/v2/", what="Asking",
                               cancel=CancelToken())
        tracked = response_stream(response)
        assert tracked is not None, "the connection pool is not tracked"
        assert tracked.owner == threading.get_ident()
        response.read()
        response.close()
        assert tracked.owner == 0
    finally:
        server.close()


def test_an_untracked_transport_still_cancels_a_direct_blob_read(
    stalling: ScriptedServer,
) -> None:
    """Where the tracking layer cannot be installed (a wrapped transport), a blob read
    straight from its socket is still shut down by a cancel."""
    from spyglass.core.transports.registry.abortable import track_connections
    from spyglass.core.transports.registry.client import RegistryClient
    from spyglass.core.transports.registry.connections import HTTPPool

    class Wrapped(httpx.BaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.HTTPTransport()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return self.inner.handle_request(request)

        def close(self) -> None:
            self.inner.close()

    transport = Wrapped()
    assert not track_connections(transport)
    pool = HTTPPool(transport=transport)
    try:
        client = RegistryClient(stalling.host, insecure=True, retry_times=0, pool=pool)

        def read(token: CancelToken) -> None:
            with client.open_blob("app", DIGEST, cancel=token) as stream:
                while stream.read(1024 * 1024):
                    pass

        _cancel_ends(read, stalling.stalled, stalling.port)
    finally:
        pool.close()


def test_the_courtesy_delete_of_a_cancelled_upload_does_not_wait_for_its_token() -> None:
    """The DELETE is sent with the upload session's own token (its scope, as
    containers/image cancels), so a token server that stalls after the first token
    does not hold it up; the registry stalling it costs only its short timeout, shorter
    still for a copy the user cancelled (it is to stop within a second)."""
    from spyglass.core.transports.registry.client import (
        ABANDON_TIMEOUT,
        HURRIED_ABANDON_TIMEOUT,
        RegistryClient,
    )

    tokens = 0

    def issue(conn: socket.socket, method: str, path: str) -> None:
        nonlocal tokens
        tokens += 1
        if tokens > 1:
            token_server.stall(conn, read=True)
            return
        body = b'{"token": "t", "expires_in": 300}'
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body)

    token_server = ScriptedServer(issue)

    def answer(conn: socket.socket, method: str, path: str) -> None:
        if "authorization: bearer" not in registry.head:
            challenge = f'Bearer realm="http://{token_server.host}/token",service="test"'
            conn.sendall(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: %s\r\n"
                         b"Content-Length: 0\r\n\r\n" % challenge.encode())
        elif method == "POST":
            conn.sendall(b"HTTP/1.1 202 Accepted\r\nLocation: /v2/app/blobs/uploads/u1\r\n"
                         b"Content-Length: 0\r\n\r\n")
        else:
            registry.stall(conn, read=False)

    registry = ScriptedServer(answer)
    try:
        client = RegistryClient(registry.host, insecure=True, retry_times=0)
        size = 256 * 1024 * 1024
        token = CancelToken()
        cancelled_at: list[float] = []
        token.add_abort(lambda: cancelled_at.append(time.monotonic()))
        blocked = _cancel_later(token, registry)
        with pytest.raises(Cancelled) as cancelled:
            client.upload_blob("app", Zeros(size), DIGEST, size, cancel=token)
        assert blocked.is_set(), "the upload never blocked on the registry"
        assert_ended_by_the_cancel(cancelled.value)
        assert tokens == 1  # the DELETE asked for no token of its own
        # the stalled DELETE costs its HURRIED_ABANDON_TIMEOUT; the bound, above that,
        # catches a DELETE that waits out the failed upload's longer one, or the 60 s
        assert HURRIED_ABANDON_TIMEOUT.read is not None and ABANDON_TIMEOUT.read is not None
        assert HURRIED_ABANDON_TIMEOUT.read <= 0.5
        assert time.monotonic() - cancelled_at[0] < ABANDON_TIMEOUT.read
    finally:
        registry.close()
        token_server.close()


def test_an_upload_answered_before_its_end_is_abandoned() -> None:
    """A server (or proxy) that answers a streamed PATCH with 202 before reading all of
    it: httpcore stops sending quietly, so the client must notice that the body did
    not go out whole, and must not PUT a digest it never computed."""
    from spyglass.core.transports.registry.client import UPLOAD_CHUNK_SIZE, RegistryClient

    def answer(conn: socket.socket, method: str, path: str) -> None:
        if not answered_upload_step(conn, method):  # the PATCH: take 1 MiB, answer, hang up
            conn.recv(1024 * 1024, socket.MSG_WAITALL)
            conn.sendall(b"HTTP/1.1 202 Accepted\r\nLocation: /v2/app/blobs/uploads/u1?s=2\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            conn.shutdown(socket.SHUT_WR)
            threading.Event().wait(0.2)  # not time.sleep, which other tests record
            raise OSError("done")  # ends this connection's thread

    server = ScriptedServer(answer)
    try:
        client = RegistryClient(server.host, insecure=True, retry_times=0)
        size = UPLOAD_CHUNK_SIZE + 64 * 1024 * 1024
        with pytest.raises(RegistryError, match="before the whole blob was sent"):
            client.upload_blob("app", Zeros(size), None, None)
        assert [m for m, _ in server.seen if m != "GET"] == ["POST", "PATCH", "DELETE"]
    finally:
        server.close()


def test_cancel_ends_a_connect_the_server_never_accepts() -> None:
    """A listening socket whose accept queue is full drops new SYNs, as a firewalled
    host does: the connect would wait for its 15 s timeout."""
    from spyglass.core.transports.registry.client import RegistryClient

    server, queued = _full_listener()
    address = server.getsockname()
    try:
        client = RegistryClient(f"127.0.0.1:{address[1]}", insecure=True, retry_times=0)
        started = threading.Event()
        started.set()
        _cancel_ends(
            lambda token: client.send("GET", f"http://127.0.0.1:{address[1]}/v2/",
                                      what="Asking", cancel=token),
            started, address[1],
        )
    finally:
        for probe in queued:
            probe.close()
        server.close()


def _full_listener() -> tuple[socket.socket, list[socket.socket]]:
    """A loopback listener whose accept queue is full: new connects get no answer."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    queued: list[socket.socket] = []
    while True:
        probe = socket.socket()
        probe.settimeout(0.3)
        try:
            probe.connect(server.getsockname())
        except OSError:
            probe.close()
            return server, queued
        queued.append(probe)
        assert len(queued) < 64, "the accept queue never filled"


def test_an_abortable_connect_tries_every_address_as_create_connection_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first address does not answer (a black-holed IPv6, say), the second one
    cannot even be made (its family unsupported), the third works: connected."""
    import httpcore

    from spyglass.core.transports.registry.abortable import Slot, _connect

    silent, queued = _full_listener()
    live = socket.create_server(("127.0.0.1", 0))
    unsupported = (socket.AF_UNIX + 1000, socket.SOCK_STREAM, 0, "", ("127.0.0.1", 1))
    addresses = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", silent.getsockname()),
        unsupported,
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", live.getsockname()),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: addresses)
    try:
        sock = _connect("registry.test", 443, 0.5, None, Slot())
        assert sock.getpeername() == live.getsockname()
        sock.close()
        # only the silent one: a timeout, as httpcore reports it
        addresses[:] = addresses[:1]
        with pytest.raises(httpcore.ConnectTimeout):
            _connect("registry.test", 443, 0.3, None, Slot())
        addresses[:] = [unsupported]
        with pytest.raises(httpcore.ConnectError):
            _connect("registry.test", 443, 0.3, None, Slot())
    finally:
        for probe in queued:
            probe.close()
        silent.close()
        live.close()


def test_looking_up_tags_stops_the_other_lookups_when_one_fails() -> None:
    """``manifest_users`` asks about tags in parallel: when one answer is an error,
    the lookups still out (stalled here) stop instead of holding the caller."""
    from spyglass.core.errors import SpyglassError
    from spyglass.core.transports.registry.client import RegistryClient

    def answer(conn: socket.socket, method: str, path: str) -> None:
        if path.endswith("/manifests/gone"):
            # the failure comes once the other two lookups are blocked on their stall
            deadline = time.monotonic() + WAIT_S
            while len(server.stalled_conns) < 2 and time.monotonic() < deadline:
                _pause()
            CALLS.wait_blocked(server.port, count=2)
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        else:
            server.stall(conn, read=True)

    server = ScriptedServer(answer)
    try:
        client = RegistryClient(server.host, insecure=True, retry_times=0)
        outcomes: dict[str, BaseException | None] = {}
        head_manifest = client.head_manifest

        def recorded(repository: str, tag: str, **kwargs: Any) -> Any:
            try:
                head = head_manifest(repository, tag, **kwargs)
            except BaseException as exc:
                outcomes[tag] = exc
                raise
            outcomes[tag] = None
            return head

        client.head_manifest = recorded  # type: ignore[method-assign]
        with pytest.raises(SpyglassError) as failed:
            client.manifest_users("app", DIGEST, tags=["gone", "slow1", "slow2"], lists=False)
        assert not isinstance(failed.value, Cancelled)  # the 404's error, not the cancels
        assert sorted(outcomes) == ["gone", "slow1", "slow2"]
        assert len(server.stalled_conns) == 2
        # the stalled lookups were cut short, not left to their 60 s read timeout
        assert_ended_by_the_cancel(outcomes["slow1"])
        assert_ended_by_the_cancel(outcomes["slow2"])
    finally:
        server.close()
