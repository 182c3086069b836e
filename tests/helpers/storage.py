"""A loopback stand-in for the object storage (S3, GCS) a registry redirects blob reads
to, with a signed URL: a :class:`FaultProxy` fault answers the registry's blob requests
with a ``307`` to :meth:`ObjectStorage.url` of the request's path, and this serves the
blob, fetched from the registry itself.

As S3 does, it takes only the method a URL was signed for (``sig=get`` or ``sig=head``
in its query): a ``HEAD`` on a URL signed for ``GET`` is answered 403 (S3's
``SignatureDoesNotMatch``), and a request that brings an ``Authorization`` header of
its own is answered 400 ("Only one auth mechanism allowed"). :attr:`seen` records each
request: its method, path and whether it carried ``Authorization``.
"""

from __future__ import annotations

import base64
import http.client
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Final

from tests.helpers.loopback_http import LoopbackServer

_PASSED: Final = ("content-length", "content-type", "content-range", "accept-ranges", "etag")


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    authorized: bool
    status: int


class ObjectStorage(LoopbackServer):
    __test__ = False  # not a test class, for pytest

    def __init__(self, upstream: str, credentials: tuple[str, str] | None = None) -> None:
        self.upstream = upstream
        self.credentials = credentials
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        storage = self

        class Handler(_Handler):
            owner = storage

        self.start(Handler)

    def url(self, signed_for: str) -> str:
        """A ``Location`` for a :class:`FaultProxy` fault: the request's own path
        (``{target}``) here, signed for ``signed_for`` (``GET``, ``HEAD``)."""
        return f"http://{self.address}{{target}}?X-Amz-Algorithm=AWS4&sig={signed_for.lower()}"

    def _saw(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)


class _Handler(BaseHTTPRequestHandler):
    owner: ObjectStorage
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        url = urllib.parse.urlsplit(self.path)
        self.owner._saw(Seen(self.command, url.path, "Authorization" in self.headers, status))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if not any(name.lower() == "content-length" for name, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _any(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        signed = dict(urllib.parse.parse_qsl(url.query)).get("sig", "")
        xml = [("Content-Type", "application/xml")]
        if "Authorization" in self.headers:
            self._answer(400, xml, b"<Error><Code>InvalidArgument</Code><Message>Only one "
                                   b"auth mechanism allowed</Message></Error>")
            return
        if signed != self.command.lower():
            self._answer(403, xml, b"<Error><Code>SignatureDoesNotMatch</Code></Error>")
            return
        connection = http.client.HTTPConnection(self.owner.upstream, timeout=60)
        headers = {"Range": self.headers["Range"]} if "Range" in self.headers else {}
        if self.owner.credentials is not None:
            pair = ":".join(self.owner.credentials).encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        try:
            connection.request(self.command, url.path, headers=headers)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        self._answer(response.status, [(k, v) for k, v in response.getheaders()
                                       if k.lower() in _PASSED], body)

    do_GET = do_HEAD = _any
