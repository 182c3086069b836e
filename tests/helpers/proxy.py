"""A small HTTP proxy on loopback, for the tests of proxies from the environment.

It takes ``CONNECT host:port`` (a tunnel, for https:// registries) and requests in
absolute form (``GET http://host:port/path``, for plain-HTTP ones), records each,
and connects to ``host:port`` itself — through ``names``, which maps host names
to loopback addresses, so a test can name a registry by a host name nobody
resolves (and that Spyglass, like Go, would not send through a proxy if it were
a loopback address). Other names it does not look up (no DNS server is asked):
it answers them 502 Bad Gateway, as a proxy that cannot reach a host does. With
``credentials`` it answers 407 to a request without the matching
``Proxy-Authorization``; with ``tls`` (a server context) it is an ``https://``
proxy, spoken to over TLS; ``tunnels`` makes it refuse CONNECT, or never answer it.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from tests.helpers.names import is_literal


class _Unreachable(OSError):
    """A host the proxy does not know: it answers 502, as a proxy that cannot resolve it."""


@dataclass(frozen=True)
class Seen:
    """One request the proxy took: its method, its target and the Proxy-Authorization."""

    method: str
    target: str
    authorization: str | None


class TestProxy:
    __test__ = False  # not a test class, for pytest

    def __init__(self, names: Mapping[str, str], credentials: tuple[str, str] | None = None,
                 tls: ssl.SSLContext | None = None, *, tunnels: str = "open") -> None:
        """``tunnels``: what a CONNECT gets, ``open`` (a tunnel), ``hang`` (no answer
        until the client gives up) or a status to refuse it with (``403 Forbidden``)."""
        self.names = dict(names)
        self.credentials = credentials
        self.tls = tls
        self.tunnels = tunnels
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, user: str | None = None, password: str | None = None) -> str:
        who = f"{user}:{password}@" if user is not None else ""
        return f"{'https' if self.tls else 'http'}://{who}127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def __enter__(self) -> TestProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- serving

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            if self.tls is not None:
                client = self.tls.wrap_socket(client, server_side=True)
            head, rest = _read_head(client)
            if head is None:
                return
            lines = head.split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            authorization = next((line.split(":", 1)[1].strip() for line in lines[1:]
                                  if line.lower().startswith("proxy-authorization:")), None)
            with self._lock:
                self.seen.append(Seen(method, target, authorization))
            if self.credentials is not None and authorization != _basic(*self.credentials):
                client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                               b"Proxy-Authenticate: Basic realm=\"test\"\r\n"
                               b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                return
            if method == "CONNECT" and self.tunnels == "hang":
                while client.recv(65536):  # until the client hangs up
                    pass
                return
            if method == "CONNECT" and self.tunnels != "open":
                client.sendall(f"HTTP/1.1 {self.tunnels}\r\nContent-Length: 0\r\n"
                               "Connection: close\r\n\r\n".encode("latin-1"))
                return
            if method == "CONNECT":
                upstream = self._connect(target)
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                upstream.sendall(rest)
            else:
                _, _, remainder = target.partition("://")
                authority, slash, path = remainder.partition("/")
                upstream = self._connect(authority if ":" in authority else authority + ":80")
                kept = [line for line in lines[1:]
                        if not line.lower().startswith("proxy-authorization:")]
                upstream.sendall(
                    ("\r\n".join([f"{method} {slash}{path} {version}", *kept]) + "\r\n\r\n")
                    .encode("latin-1") + rest)
            _relay(client, upstream)
        except _Unreachable:
            with contextlib.suppress(OSError):
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                               b"Connection: close\r\n\r\n")
        except OSError:
            pass
        finally:
            client.close()

    def _connect(self, authority: str) -> socket.socket:
        """A connection to ``authority``: a name of ``names``, or an address (other names
        are not looked up, so no DNS server is asked: the proxy cannot reach them)."""
        host, _, port = authority.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        address = self.names.get(host, host if is_literal(host) else None)
        if address is None:
            raise _Unreachable(host)
        return socket.create_connection((address, int(port)), timeout=30)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _read_head(sock: socket.socket) -> tuple[str | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return None, b""
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def _relay(one: socket.socket, other: socket.socket) -> None:
    """Pass bytes both ways until either side closes (its request lines, after the first,
    go on to the same origin as they are: servers take the absolute form too)."""

    def pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(256 * 1024):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    back = threading.Thread(target=pump, args=(other, one), daemon=True)
    back.start()
    pump(one, other)
    back.join()
    other.close()
