"""A loopback HTTP server of one path's bytes, as the ``urls`` of a foreign layer name
them (a Windows base layer on Microsoft's servers): any other path answers 404."""

from __future__ import annotations

import http.server
import threading
from types import TracebackType


class ServedFile:
    """Serves ``body`` at ``path`` on 127.0.0.1 until closed, counting its GETs.
    ``url`` is where; a context manager."""

    def __init__(self, path: str, body: bytes) -> None:
        self.gets = 0
        served = self

        class Serve(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.gets += 1
                found = self.path == path
                self.send_response(200 if found else 404)
                self.send_header("Content-Length", str(len(body) if found else 0))
                self.end_headers()
                if found:
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Serve)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> ServedFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
