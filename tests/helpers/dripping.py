"""A registry on loopback that drips its answers out a byte at a time, as a hostile (or
badly broken) one may: the read timeout is each read's, and a byte comes before it.

``GET /v2/`` is answered as distribution answers it; with ``token``, with a 401 whose
Bearer challenge names a token server on the same host (``/token``), whose answer
drips. Any other ``GET`` is answered 200 with ``Content-Length: length`` (``body``'s
length when given) and ``body`` (or spaces) one byte every ``every`` seconds, until the
client goes away or :meth:`DrippingRegistry.close`. With ``every`` 0, the whole body is
sent at once.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any, Self

from tests.helpers.loopback_http import LoopbackServer


class DrippingRegistry:
    """See the module docstring. A context manager: closing it ends every drip."""

    def __init__(self, *, body: bytes | None = None, length: int = 1_000_000,
                 every: float = 0.02, token: bool = False,
                 content_type: str = "application/json") -> None:
        self.asked: list[str] = []
        self._closed = threading.Event()
        data = body if body is not None else b" " * length
        registry = self
        server = LoopbackServer()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                registry.asked.append(self.path)
                if self.path == "/v2/":
                    if token:
                        self._answer(401, {"errors": [{"code": "UNAUTHORIZED"}]}, {
                            "WWW-Authenticate": f'Bearer realm="http://{server.address}/'
                                                'token",service="drip"'})
                    else:
                        self._answer(200, {})
                    return
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not every:
                    self.wfile.write(data)
                    return
                self.wfile.flush()
                for at in range(len(data)):
                    if registry._closed.wait(every):
                        return
                    try:
                        self.wfile.write(data[at:at + 1])
                        self.wfile.flush()
                    except OSError:
                        return  # the client gave up

            def _answer(self, status: int, body: object,
                        headers: dict[str, str] | None = None) -> None:
                sent = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(sent)))
                self.end_headers()
                self.wfile.write(sent)

        server.start(Handler)
        self._server = server
        self.host = server.address

    def close(self) -> None:
        self._closed.set()
        self._server.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
