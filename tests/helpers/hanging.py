"""A registry on loopback that answers some requests and never answers others, as one
whose storage hangs (an S3 backend that stopped answering) does.

``GET /v2/`` is answered as distribution answers it, the catalog with the repositories
of ``tags`` (in one page), ``GET /v2/REPO/tags/list`` with the repository's tags, and
anything else with a 404 — unless the repository starts with one of ``hung``: then
every request about it is taken and nothing comes back until
:meth:`HangingRegistry.close`. Every request is logged in :attr:`HangingRegistry.seen`
before it is answered, or not.

With ``short_ping``, the answer to ``GET /v2/`` promises more than it sends (a
``Content-Length`` of 10 for ``{}``), and the connection is held, silent, until
:meth:`HangingRegistry.close`.

``HEAD`` requests (the look-ups of tags' digests) are logged in
:attr:`HangingRegistry.heads`; those about a repository starting with one of
``hung_heads`` are taken and never answered either, the others refused (501), as
:mod:`http.server` refuses a method it does not serve.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HangingRegistry:
    """See the module docstring. A context manager: closing it ends every request held."""

    def __init__(self, tags: dict[str, list[str]], *, hung: tuple[str, ...] = ("hung/",),
                 hung_heads: tuple[str, ...] = (), short_ping: bool = False) -> None:
        self.tags = tags
        self.hung = hung
        self.hung_heads = hung_heads
        self.seen: list[str] = []
        self.heads: list[str] = []
        self._release = threading.Event()
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                registry.seen.append(self.path)
                if self.path == "/v2/" and short_ping:
                    self.send_response(200)
                    self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                    self.send_header("Content-Length", "10")
                    self.end_headers()
                    self.wfile.write(b"{}")  # and the other 8 bytes never come
                    self.wfile.flush()
                    registry._release.wait()
                    return
                if self.path == "/v2/":
                    self._answer(200, {})
                    return
                if self.path.startswith("/v2/_catalog"):
                    self._answer(200, {"repositories": sorted(registry.tags)})
                    return
                if self.path.removeprefix("/v2/").startswith(registry.hung):
                    registry._release.wait()  # taken, never answered
                    return
                repository, listing, _ = self.path.removeprefix("/v2/").partition("/tags/list")
                if not listing:
                    self._answer(404, {"errors": [{"code": "NAME_UNKNOWN"}]})
                    return
                self._answer(200, {"name": repository,
                                   "tags": registry.tags.get(repository, [])})

            def do_HEAD(self) -> None:
                registry.heads.append(self.path)
                if registry.hung_heads and self.path.removeprefix("/v2/").startswith(
                        registry.hung_heads):
                    registry._release.wait()  # taken, never answered
                    return
                self.send_error(501, f"Unsupported method ({self.command!r})")

            def _answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Docker-Distribution-API-Version", "registry/2.0")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a client that gave up on a hung request: nothing to tell

        self._server = Server(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def asked(self, repository: str) -> bool:
        """Whether the tags of ``repository`` were asked for."""
        return f"/v2/{repository}/tags/list" in {p.partition("?")[0] for p in self.seen}

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> HangingRegistry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
