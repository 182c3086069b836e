"""Scripted registries for ``httpx.MockTransport``: the answers a real registry never gives.

A handler is any ``Callable[[httpx.Request], httpx.Response]``. :class:`Recorder`
keeps every request a client sent (headers, bodies) for assertions;
:class:`Routes` is a registry without authentication answering from a table;
:class:`TokenRegistry` is a registry behind a token server at ``auth.test``,
with knobs for token fields, lifetimes, OAuth2, revoked tokens and refusals.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

HOST = "registry.test"
BASE = f"https://{HOST}"
AUTH_HOST = "auth.test"
REALM = f"https://{AUTH_HOST}/token"
SERVICE = "registry.test"
API = {"Docker-Distribution-API-Version": "registry/2.0"}

Handler = Callable[[httpx.Request], httpx.Response]


def registry_error(
    status: int, code: str, message: str = "", headers: Mapping[str, str] | None = None
) -> httpx.Response:
    """A distribution error answer: ``{"errors": [{"code", "message", "detail"}]}``."""
    body = {"errors": [{"code": code, "message": message, "detail": None}]}
    return httpx.Response(status, json=body, headers=headers)


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class Recorder:
    """Wraps a handler and keeps every request it saw, in order; thread-safe."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        # a snapshot: an auth flow sends the same Request object again with new headers
        snapshot = httpx.Request(
            request.method, request.url, headers=request.headers.copy(), content=request.content
        )
        with self._lock:
            self.requests.append(snapshot)
        return self.handler(request)

    def to(
        self, path: str | None = None, *, host: str | None = HOST, method: str | None = None
    ) -> list[httpx.Request]:
        """The requests to ``host`` (None: any), for ``path`` and ``method`` when given."""
        with self._lock:
            seen = list(self.requests)
        return [
            r for r in seen
            if (host is None or r.url.host == host)
            and (path is None or r.url.path == path)
            and (method is None or r.method == method)
        ]


class Routes:
    """A registry without authentication.

    ``GET /v2/`` answers 200 with the API version header unless the table says
    otherwise. ``table`` maps ``(method, path)`` to a handler, or to a list of
    handlers used one per request (the last one repeats). Anything else fails the
    test loudly: a fake must not answer what it was not told to.
    """

    def __init__(self, table: Mapping[tuple[str, str], Handler | list[Handler]]) -> None:
        self.table = dict(table)
        self._calls: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = (request.method, request.url.path)
        entry = self.table.get(key)
        if entry is None and key == ("GET", "/v2/"):
            return httpx.Response(200, headers=API)
        if entry is None:
            raise AssertionError(f"the fake registry was not told to answer {key}")
        if isinstance(entry, list):
            with self._lock:
                n = self._calls.get(key, 0)
                self._calls[key] = n + 1
            entry = entry[min(n, len(entry) - 1)]
        return entry(request)


def needed_scope(request: httpx.Request) -> str | None:
    """The scope the fake registry wants, worked out independently of the client's code."""
    path = request.url.path
    if path == "/v2/_catalog":
        return "registry:catalog:*"
    for marker in ("/manifests/", "/blobs/", "/tags/list"):
        if marker in path:
            name = path[len("/v2/"):].rsplit(marker, 1)[0]
            action = "pull" if request.method in ("GET", "HEAD") else "pull,push"
            return f"repository:{name}:{action}"
    return None


@dataclass
class TokenRequest:
    method: str
    params: dict[str, str]
    authorization: str | None


@dataclass
class TokenRegistry:
    """A registry at :data:`HOST` whose token server is :data:`REALM`.

    Knobs: ``users`` (name → password) that the token server checks on GET
    (anonymous GETs get tokens too unless ``anonymous`` is False);
    ``token_field`` (``token`` or ``access_token``); ``expires_in`` (None: left
    out); ``oauth`` — "ok" answers the OAuth2 POST form for the ``refresh_tokens``
    it knows, rotating them when ``rotate`` is set, "absent" answers 404;
    ``always_401`` refuses every token (with ``error=insufficient_scope`` when
    ``insufficient``). ``app`` answers the requests that passed the token check.
    """

    app: Handler = field(default_factory=lambda: Routes({}))
    users: dict[str, str] = field(default_factory=dict)
    anonymous: bool = True
    token_field: str = "token"
    expires_in: float | None = 300
    oauth: str = "ok"
    refresh_tokens: set[str] = field(default_factory=set)
    rotate: bool = False
    always_401: bool = False
    insufficient: bool = False
    token_requests: list[TokenRequest] = field(default_factory=list)
    valid: dict[str, str | None] = field(default_factory=dict)
    _serial: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == AUTH_HOST:
            return self.token_server(request)
        assert request.url.host == HOST, request.url
        return self.registry(request)

    @staticmethod
    def challenge(scope: str | None = None, error: str | None = None) -> dict[str, str]:
        parts = [f'realm="{REALM}"', f'service="{SERVICE}"']
        if scope:
            parts.append(f'scope="{scope}"')
        if error:
            parts.append(f'error="{error}"')
        return {"WWW-Authenticate": "Bearer " + ",".join(parts), **API}

    def registry(self, request: httpx.Request) -> httpx.Response:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        scope = needed_scope(request)
        if request.url.path == "/v2/":
            if token in self.valid:
                return httpx.Response(200, headers=API)
            return httpx.Response(401, headers=self.challenge(), json={"errors": []})
        if self.always_401:
            error = "insufficient_scope" if self.insufficient else "invalid_token"
            return registry_error(401, "UNAUTHORIZED", "authentication required",
                                  self.challenge(scope, error))
        if token is None or token not in self.valid:
            return registry_error(401, "UNAUTHORIZED", "authentication required",
                                  self.challenge(scope, "invalid_token" if token else None))
        if self.valid[token] != scope:
            return registry_error(401, "UNAUTHORIZED", "wrong scope",
                                  self.challenge(scope, "insufficient_scope"))
        return self.app(request)

    def revoke_all(self) -> None:
        self.valid.clear()

    def _issue(self, scope: str | None) -> str:
        token = f"tok-{next(self._serial)}"
        self.valid[token] = scope
        return token

    def token_server(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/token"
        if request.method == "POST":
            form = {k: v[0] for k, v in urllib.parse.parse_qs(request.content.decode()).items()}
            self.token_requests.append(
                TokenRequest("POST", form, request.headers.get("authorization"))
            )
            if self.oauth == "absent":
                return httpx.Response(404, text="404 page not found")
            if form.get("grant_type") != "refresh_token" or \
                    form.get("refresh_token") not in self.refresh_tokens:
                return httpx.Response(401, json={"error": "invalid_grant"})
            body: dict[str, Any] = {"access_token": self._issue(form.get("scope"))}
            if self.rotate:
                self.refresh_tokens.discard(form["refresh_token"])
                new = f"rt-{next(self._serial)}"
                self.refresh_tokens.add(new)
                body["refresh_token"] = new
            if self.expires_in is not None:
                body["expires_in"] = self.expires_in
            return httpx.Response(200, json=body)
        params = dict(request.url.params)
        scopes = request.url.params.get_list("scope")
        assert all(" " not in scope for scope in scopes), "one scope per parameter"
        if scopes:
            params["scope"] = " ".join(scopes)  # what the token covers, as a challenge names it
        authorization = request.headers.get("authorization")
        self.token_requests.append(TokenRequest("GET", params, authorization))
        if authorization is not None:
            if authorization not in {basic(u, p) for u, p in self.users.items()}:
                return httpx.Response(401, json={"details": "invalid username or password"})
        elif not self.anonymous:
            return httpx.Response(401, json={"details": "credentials required"})
        body = {self.token_field: self._issue(params.get("scope"))}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return httpx.Response(200, content=json.dumps(body).encode())


def tags_page(name: str, tags: list[str], link: str | None = None) -> Handler:
    """A handler answering one ``tags/list`` page, with a ``Link`` header when given."""

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"Link": link} if link else None
        return httpx.Response(200, json={"name": name, "tags": tags}, headers=headers)

    return answer


class CountingStream:
    """A response body of ``total`` bytes from a generator, counting what was pulled."""

    def __init__(self, total: int, *, head: bytes = b"", chunk: int = 16 * 1024) -> None:
        self.total = total
        self.head = head
        self.chunk = chunk
        self.consumed = 0

    def __iter__(self) -> Iterator[bytes]:
        filler = self.head + b'{"code": "X", "message": "padding"},' * (self.chunk // 32 + 1)
        sent = 0
        while sent < self.total:
            size = min(self.chunk, self.total - sent)
            piece = filler[:size] if sent == 0 else filler[len(self.head):][:size]
            self.consumed += len(piece)
            sent += len(piece)
            yield piece
