"""A loopback HTTP server run on a thread of its own, for the tests' stand-ins (a paging
relay, object storage): :class:`LoopbackServer` starts it on a free port and stops it,
and a client that goes away mid-answer is no error worth printing."""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # (a client gone: no matter)
            super().handle_error(request, client_address)


class LoopbackServer:
    """Serves ``handler`` on ``127.0.0.1`` (a free port, :attr:`address`) from
    :meth:`start` until :meth:`close`; a context manager that closes it."""

    address: str

    def start(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self.address = f"127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
