"""A blob read straight from its socket leaves its connection in the pool, and only when
that is safe: over a real loopback connection (the direct reads need a socket), against
a small HTTP/1.1 server that counts the connections it is asked on."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import Cancelled, ConnectionFailed
from spyglass.core.transports.registry import keepalive
from spyglass.core.transports.registry.client import RegistryClient
from spyglass.core.transports.registry.connections import HTTPPool, ResponseStream
from spyglass.core.transports.registry.keepalive import DirectBody

BLOB = os.urandom(2 * 1024 * 1024 + 5)
DIGEST = Digest.of(BLOB)
assert len(BLOB) >= ResponseStream.DIRECT_MIN


class BlobServer:
    """HTTP/1.1 with keep-alive on ``127.0.0.1``: ``GET /v2/`` answered as a registry
    answers it, any other request with :data:`BLOB`, the first blob's answer as
    ``first`` says: ``"whole"``, ``"extra"`` (bytes past its Content-Length) or
    ``"short"`` (half of it, then the connection closed). ``blobs_on`` lists, for each
    blob request, the number of the connection it came on."""

    def __init__(self, first: str = "whole") -> None:
        self.first = first
        self.blobs_on: list[int] = []
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self._server.getsockname()[1]}"
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
            threading.Thread(target=self._serve, args=(conn, self.connections),
                             daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        with conn:
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    try:
                        chunk = conn.recv(65536)
                    except OSError:
                        return
                    if not chunk or chunk[:1] == b"\x16":  # gone, or a TLS hello
                        return
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                try:
                    if path == b"/v2/":
                        conn.sendall(b"HTTP/1.1 200 OK\r\nDocker-Distribution-API-Version: "
                                     b"registry/2.0\r\nContent-Length: 2\r\n\r\n{}")
                        continue
                    self.blobs_on.append(number)
                    answer = self.first if len(self.blobs_on) == 1 else "whole"
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream"
                                 b"\r\nContent-Length: %d\r\n\r\n" % len(BLOB))
                    if answer == "short":
                        conn.sendall(BLOB[: len(BLOB) // 2])
                        return
                    conn.sendall(BLOB + (b"HTTP/1.1 200 OK\r\n" if answer == "extra" else b""))
                except OSError:
                    return

    def close(self) -> None:
        self._server.close()
        for conn in self._held:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def pool() -> Iterator[HTTPPool]:
    pool = HTTPPool()  # the real network, and a pool of this test's own
    yield pool
    pool.close()


def client_of(server: BlobServer, pool: HTTPPool) -> RegistryClient:
    return RegistryClient(server.host, insecure=True, retry_times=0, pool=pool)


def read_blob(client: RegistryClient, cancel: CancelToken | None = None) -> bytes:
    """The blob read as a copy reads it: into one buffer, with ``readinto``."""
    buffer = bytearray(len(BLOB) + 1)
    view = memoryview(buffer)
    have = 0
    with client.open_blob("app", DIGEST, cancel=cancel) as stream:
        while count := stream.readinto(view[have:]):
            have += count
    return bytes(buffer[:have])


@pytest.fixture
def ended(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each :meth:`DirectBody.ended` answered (none called: no body was read from
    its socket to its end with h11's reader found)."""
    answers: list[bool] = []
    real = DirectBody.ended

    def recorded(self: DirectBody) -> bool:
        answers.append(real(self))
        return answers[-1]

    monkeypatch.setattr(DirectBody, "ended", recorded)
    return answers


def test_blobs_read_from_the_socket_share_one_connection(
    pool: HTTPPool, ended: list[bool]
) -> None:
    """Each blob's connection is back in the pool as its last byte comes, so the next
    blob (and the ping before them) go on the same one: no new connection per blob (over
    TLS, no handshake per blob)."""
    server = BlobServer()
    try:
        client = client_of(server, pool)
        for _ in range(3):
            assert read_blob(client) == BLOB
        with client.open_blob("app", DIGEST) as stream:  # read() rather than readinto()
            assert b"".join(iter(lambda: stream.read(300_000), b"")) == BLOB
    finally:
        server.close()
    assert ended == [True] * 4
    assert len(set(server.blobs_on)) == 1, server.blobs_on


class _OtherReader:
    """Not h11's ContentLengthReader: what another h11 might read a body with."""


class _OtherStream:
    """Not httpx's ResponseStream: a layer another httpx might put in between."""


def _other_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keepalive, "ContentLengthReader", _OtherReader)


def _other_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keepalive, "_HTTPXStream", _OtherStream)


def _h11_moved_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """h11's reader no longer counting down what is read past it: it is not told."""
    find = DirectBody.find

    def find_then_move(response: object, left: int) -> DirectBody | None:
        found = find(response, left)  # type: ignore[arg-type]
        if found is not None:
            found._reader._remaining += 1
        return found

    monkeypatch.setattr(DirectBody, "find", staticmethod(find_then_move))


@pytest.mark.parametrize("unexpected", [_other_reader, _other_stream, _h11_moved_on])
def test_a_connection_whose_parser_is_not_as_expected_is_closed(
    pool: HTTPPool, monkeypatch: pytest.MonkeyPatch, ended: list[bool],
    unexpected: Callable[[pytest.MonkeyPatch], None],
) -> None:
    """Where the layers under httpx are not exactly what they are known to be, the blob
    is read as before and its connection closed with it; the next blob comes whole on a
    new connection."""
    unexpected(monkeypatch)
    server = BlobServer()
    try:
        client = client_of(server, pool)
        assert read_blob(client) == BLOB
        assert read_blob(client) == BLOB
    finally:
        server.close()
    assert True not in ended
    assert len(set(server.blobs_on)) == 2, server.blobs_on


def test_a_server_that_sends_more_than_it_promised_gets_a_new_connection(
    pool: HTTPPool, ended: list[bool]
) -> None:
    """Bytes past the body are not taken for the next answer: that connection is closed."""
    server = BlobServer(first="extra")
    try:
        client = client_of(server, pool)
        assert read_blob(client) == BLOB
        assert read_blob(client) == BLOB
    finally:
        server.close()
    assert ended[0] is False
    assert len(set(server.blobs_on)) == 2, server.blobs_on


def test_a_body_cut_short_closes_its_connection(pool: HTTPPool, ended: list[bool]) -> None:
    server = BlobServer(first="short")
    try:
        client = client_of(server, pool)
        with pytest.raises(ConnectionFailed, match="broke off"):
            read_blob(client)
        assert read_blob(client) == BLOB
    finally:
        server.close()
    assert ended == [True]  # the second blob's alone
    assert len(set(server.blobs_on)) == 2, server.blobs_on


def test_a_connection_a_cancel_may_have_shut_down_is_not_pooled(
    pool: HTTPPool, monkeypatch: pytest.MonkeyPatch, ended: list[bool]
) -> None:
    """A cancel that comes while the last bytes are read, its abort of the connection
    still on its way from the cancelling thread: the connection is closed, not put back
    in the pool where the next request would find it shut down."""
    monkeypatch.setattr(ResponseStream, "_abort", lambda self: None)  # (still on its way)
    server = BlobServer()
    try:
        client = client_of(server, pool)
        token = CancelToken()
        with client.open_blob("app", DIGEST, cancel=token) as stream:
            first = stream.read(1024 * 1024)
            token.cancel()
            rest = b"".join(iter(lambda: stream.read(1024 * 1024), b""))
        assert first + rest == BLOB
        assert read_blob(client) == BLOB
    finally:
        server.close()
    assert ended == [True]  # the second blob's alone
    assert len(set(server.blobs_on)) == 2, server.blobs_on


def test_a_blob_cancelled_mid_body_closes_its_connection(
    pool: HTTPPool, ended: list[bool]
) -> None:
    server = BlobServer()
    try:
        client = client_of(server, pool)
        token = CancelToken()
        with pytest.raises(Cancelled), client.open_blob("app", DIGEST, cancel=token) as stream:
            stream.read(1024 * 1024)
            token.cancel()  # shuts the connection down
            while stream.read(1024 * 1024):
                pass
        assert read_blob(client) == BLOB
    finally:
        server.close()
    assert ended == [True]
    assert len(set(server.blobs_on)) == 2, server.blobs_on
