"""Which response bodies are read straight from their socket (``_body_socket``)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from spyglass.core.transports.registry.connections import _body_socket


class FakeNetwork:
    """A network stream as httpcore's sync backend describes one."""

    def __init__(self, sock: socket.socket, ssl_object: object) -> None:
        self._info = {"socket": sock, "ssl_object": ssl_object}

    def get_extra_info(self, info: str) -> Any:
        return self._info.get(info)


def response_on(network: FakeNetwork) -> httpx.Response:
    return httpx.Response(200, headers={"Content-Length": str(2 * 1024 * 1024)},
                          extensions={"http_version": b"HTTP/1.1", "network_stream": network})


@pytest.fixture
def tls_socket() -> Iterator[ssl.SSLSocket]:
    """A client TLS socket on a connected pair (no handshake: none is needed here)."""
    ours, theirs = socket.socketpair()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    wrapped = context.wrap_socket(ours, server_hostname="registry.test",
                                  do_handshake_on_connect=False)
    yield wrapped
    wrapped.close()
    theirs.close()


def test_a_plain_socket_is_read_directly() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        assert _body_socket(response_on(FakeNetwork(ours, None))) is ours


def test_a_tls_socket_is_read_directly(tls_socket: ssl.SSLSocket) -> None:
    """httpcore names a TLS socket's own SSL object as the stream's ``ssl_object``:
    reading the socket decrypts as httpcore's reads do. (That object is not the socket
    itself, which the check once asked for: no TLS body was ever read directly.)"""
    network = FakeNetwork(tls_socket, tls_socket._sslobj)  # type: ignore[attr-defined]
    assert _body_socket(response_on(network)) is tls_socket


def test_tls_tunnelled_through_tls_is_not_read_directly(tls_socket: ssl.SSLSocket) -> None:
    """To a registry over TLS through an ``https://`` proxy, the socket is the proxy's
    TLS connection and the registry's TLS a layer in memory above it: the socket's bytes
    are not the body's."""
    inner = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).wrap_bio(
        ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="registry.test")
    assert _body_socket(response_on(FakeNetwork(tls_socket, inner))) is None
    ours, theirs = socket.socketpair()
    with ours, theirs:  # nor a TLS layer of some other kind over a plain socket
        assert _body_socket(response_on(FakeNetwork(ours, inner))) is None
