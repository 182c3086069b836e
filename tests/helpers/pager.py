"""A loopback relay in front of a plain-HTTP test registry that serves ``tags/list`` and
``_catalog`` in pages of at most ``cap`` names, as registries that cap the page size do
(Quay, GHCR, Harbor): in lexical order, ``n`` honoured below the cap, ``last`` followed,
and ``Link: <…>; rel="next"`` while more names follow. distribution 2.8 ignores ``n`` for
tags, so without the relay every tag list comes back in one answer.

``link_form`` writes the ``Link`` as other registries do (``'<{target}>; REL="Next"'``,
``'<{target}>'`` without ``rel``); ``{target}`` is the next page's path and query, and
``{unrooted}`` the same without its leading ``/`` (a reference relative to the page).

Every other request (``/v2/``, manifests, blobs) is passed through as it came.
:attr:`PagingRelay.lists` records each list request served (its path and query), and
:attr:`PagingRelay.address` is what to name as the registry.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Final

from tests.helpers.loopback_http import LoopbackServer

_HOP_HEADERS: Final = frozenset({"host", "connection", "keep-alive", "transfer-encoding",
                                 "content-length", "date", "server"})
_TAGS: Final = re.compile(r"/v2/(.+)/tags/list")


class PagingRelay(LoopbackServer):
    __test__ = False  # not a test class, for pytest

    def __init__(self, upstream: str, cap: int = 100,
                 link_form: str = '<{target}>; rel="next"') -> None:
        self.upstream = upstream
        self.cap = cap
        self.link_form = link_form
        self.lists: list[str] = []
        self._lock = threading.Lock()
        relay = self

        class Handler(_Handler):
            owner = relay

        self.start(Handler)

    def catalog_requests(self) -> int:
        with self._lock:
            return sum(1 for target in self.lists if target.startswith("/v2/_catalog"))

    def tag_requests(self, repository: str) -> int:
        with self._lock:
            return sum(1 for target in self.lists
                       if target.startswith(f"/v2/{repository}/tags/list"))

    def _served(self, target: str) -> None:
        with self._lock:
            self.lists.append(target)


class _Handler(BaseHTTPRequestHandler):
    owner: PagingRelay
    protocol_version = "HTTP/1.1"
    # the headers and the body go out as two writes: with Nagle's algorithm the body
    # waited for the client's delayed ACK of the headers, 40 ms a page for httpx
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _upstream(self, method: str, target: str,
                  body: bytes | None = None) -> tuple[http.client.HTTPResponse, bytes]:
        connection = http.client.HTTPConnection(self.owner.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            return response, response.read()
        finally:
            connection.close()

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes,
              length: str | None = None) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", length if length is not None else str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _every_name(self, path: str, key: str) -> tuple[http.client.HTTPResponse, list[str]]:
        """The whole list from the registry (following its own links)."""
        names: list[str] = []
        target: str | None = f"{path}?n=1000"
        response: http.client.HTTPResponse | None = None
        while target:
            response, data = self._upstream("GET", target)
            if response.status != 200:
                return response, []
            names += json.loads(data).get(key) or []
            link = response.getheader("Link")
            found = re.search(r"<([^>]+)>", link) if link else None
            target = found.group(1) if found else None
        assert response is not None
        return response, names

    def _page(self, url: urllib.parse.SplitResult, key: str) -> None:
        query = dict(urllib.parse.parse_qsl(url.query))
        response, names = self._every_name(url.path, key)
        if response.status != 200:
            self._send(response.status, response.getheaders(), b"")
            return
        names.sort()
        last = query.get("last")
        if last:
            names = [n for n in names if n > last]
        size = min(int(query.get("n", self.owner.cap)), self.owner.cap)
        page, more = names[:size], len(names) > size
        body: dict[str, object] = {key: page}
        match = _TAGS.fullmatch(url.path)
        if match:
            body["name"] = match.group(1)
        headers = [("Content-Type", "application/json")]
        if more:
            following = urllib.parse.urlencode({"n": size, "last": page[-1]})
            target = f"{url.path}?{following}"
            headers.append(("Link", self.owner.link_form.format(
                target=target, unrooted=target.removeprefix("/"))))
        self.owner._served(self.path)
        self._send(200, headers, json.dumps(body).encode())

    def _any(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if self.command == "GET" and url.path == "/v2/_catalog":
            self._page(url, "repositories")
            return
        if self.command == "GET" and _TAGS.fullmatch(url.path):
            self._page(url, "tags")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        response, data = self._upstream(self.command, self.path, body)
        self._send(response.status, response.getheaders(), data,
                   response.getheader("Content-Length") if self.command == "HEAD" else None)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _any
