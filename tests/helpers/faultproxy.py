"""A loopback HTTP/1.1 proxy in front of one server (a test registry) that injects
faults a real registry does not make: an answer lost after the server did the work, a
connection reset as a request arrives, an answer of its own (a 502, a 429), or the
server's answer with headers changed (a ``Content-Type`` a proxy or another registry
writes otherwise).

Point a client at :attr:`FaultProxy.address` instead of the server's. Each request is
forwarded whole on a new connection to the server (``Connection: close``) and its
answer passed back as it came; the client's connection is kept open for its next
request. A :class:`Fault` takes the next ``count`` requests whose method and target
match it. :attr:`FaultProxy.seen` records each request and what became of it.
:attr:`FaultProxy.up_rate` makes it a slow uplink: request bodies are taken at that many
bytes a second, into a small receive buffer, so that what the client sends waits in its
own send queue (as on a real slow link).
"""

from __future__ import annotations

import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

Action = Literal["answer_edited", "answer_lost", "answer_replaced", "reset", "status"]


@dataclass
class Fault:
    """``answer_lost``: forwarded, then the client's connection reset instead of the
    answer; ``answer_replaced``: forwarded, then answered ``status`` instead (a gateway
    that lost the server's answer); ``reset``: the connection reset as the request
    arrives (not forwarded); ``status``: answered ``status`` with ``headers`` (not
    forwarded; ``{target}`` in a value is the request's target: a redirect's
    ``Location``); ``answer_edited``: forwarded, and the answer passed back with
    ``headers`` set in it (each replacing any of that name; an empty value removes
    it)."""

    method: str
    target: str
    """A regular expression searched for in the request's target (path and query)."""
    action: Action
    count: int = 1
    status: int = 502
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool | None = None
    """Only a request whose body came ``Transfer-Encoding: chunked`` (True), or one whose
    did not (False); None: either."""
    body: bytes = b""
    """What a ``status`` or ``answer_replaced`` answer carries (a registry's error JSON)."""


@dataclass(frozen=True)
class Seen:
    method: str
    target: str
    outcome: str
    """``forwarded``, or the fault's action."""


class FaultProxy:
    __test__ = False  # not a test class, for pytest

    def __init__(self, upstream: str, *, up_rate: int | None = None) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.up_rate = up_rate
        """Bytes a second request bodies are taken at (None: as fast as they come)."""
        self._lock = threading.Lock()
        self._listener = socket.socket()
        if up_rate is not None:  # (accepted connections inherit it)
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def close(self) -> None:
        self._listener.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _fault_for(self, method: str, target: str, chunked: bool) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.count > 0 and fault.method == method \
                        and fault.chunked in (None, chunked) and re.search(fault.target, target):
                    fault.count -= 1
                    return fault
        return None

    def _serve(self, client: socket.socket) -> None:
        reader = client.makefile("rb")
        try:
            if reader.peek(1)[:1] == b"\x16":  # a TLS hello (https is tried first): no
                return
            while True:
                head = _read_head(reader)
                if head is None:
                    return
                method, target = head[0].split(" ")[:2]
                body = _read_body(reader, head[1:], self.up_rate)
                chunked = any(h.lower().startswith("transfer-encoding:") and "chunked" in
                              h.lower() for h in head[1:])
                fault = self._fault_for(method, target, chunked)
                outcome = fault.action if fault is not None else "forwarded"
                with self._lock:
                    self.seen.append(Seen(method, target, outcome))
                if fault is not None and fault.action == "reset":
                    reader.close()  # (the socket's descriptor is freed with its last file)
                    _reset(client)
                    return
                answer = b""
                if fault is None or fault.action in ("answer_edited", "answer_lost",
                                                     "answer_replaced"):
                    answer = self._forward(head, body)
                if fault is not None and fault.action == "answer_edited":
                    answer = _edited(answer, fault.headers)
                    fault = None
                if fault is not None and fault.action == "answer_lost":  # nobody hears
                    reader.close()
                    _reset(client)
                    return
                if fault is not None:  # status, answer_replaced
                    extra = "".join(f"{k}: {v.replace('{target}', target)}\r\n"
                                    for k, v in fault.headers.items())
                    client.sendall(f"HTTP/1.1 {fault.status} Injected\r\n{extra}"
                                   f"Content-Length: {len(fault.body)}\r\n\r\n"
                                   .encode("latin-1") + fault.body)
                    continue
                client.sendall(answer)
                if b"\r\nconnection: close" in answer.split(b"\r\n\r\n")[0].lower():
                    client.close()
                    return
        except OSError:
            pass
        finally:
            reader.close()
            client.close()

    def _forward(self, head: list[str], body: bytes) -> bytes:
        lines = [head[0]] + [h for h in head[1:] if not h.lower().startswith(
            ("connection:", "transfer-encoding:", "content-length:"))]
        if body or head[0].split(" ")[0] in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        lines.append("Connection: close")
        with socket.create_connection(self.upstream) as server:
            server.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            parts = []
            while chunk := server.recv(65536):
                parts.append(chunk)
        answer = b"".join(parts)
        # the client's connection stays open: not the server's "Connection: close"
        top, sep, rest = answer.partition(b"\r\n\r\n")
        kept = [line for line in top.split(b"\r\n")
                if not line.lower().startswith(b"connection:")]
        return b"\r\n".join(kept) + sep + rest


def _edited(answer: bytes, headers: dict[str, str]) -> bytes:
    """``answer`` with ``headers`` set (an empty value: removed)."""
    top, sep, rest = answer.partition(b"\r\n\r\n")
    names = {name.lower().encode("latin-1") for name in headers}
    lines = [line for line in top.split(b"\r\n")
             if line.split(b":", 1)[0].strip().lower() not in names]
    lines += [f"{k}: {v}".encode("latin-1") for k, v in headers.items() if v]
    return b"\r\n".join(lines) + sep + rest


def _read_head(reader: BinaryIO) -> list[str] | None:
    lines: list[str] = []
    while True:
        line = reader.readline(65537)
        if not line:
            return None
        text = line.decode("latin-1").rstrip("\r\n")
        if not text:
            if lines:
                return lines
            continue
        lines.append(text)


def _read_body(reader: BinaryIO, headers: list[str], rate: int | None = None) -> bytes:
    fields = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in headers)}
    if "chunked" in fields.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size = int(reader.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while reader.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            parts.append(reader.read(size))
            reader.readline()
    length = int(fields.get("content-length", "0") or "0")
    if rate is None:
        return reader.read(length)
    parts, have, started = [], 0, time.monotonic()
    while have < length:
        piece = reader.read(min(length - have, 4096))
        if not piece:
            break
        parts.append(piece)
        have += len(piece)
        time.sleep(max(0.0, started + have / rate - time.monotonic()))
    return b"".join(parts)


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a TCP reset, not a FIN (as a server that crashed)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()
