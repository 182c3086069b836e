"""The token scopes of requests whose path does not tell them: a cross-repository
mount (the repository mounted from needs pull access too) and an upload session whose
``Location`` is not under ``/v2/NAME/`` (Google Artifact Registry)."""

from __future__ import annotations

import io

import httpx

from spyglass.core.digest import Digest
from tests.unit.core.transports.registry.fakes import API, AUTH_HOST, REALM, SERVICE

BLOB = b"layer bytes\n" * 100
DIGEST = Digest.of(BLOB)
CHALLENGE = f'Bearer realm="{REALM}",service="{SERVICE}"'


class ScopedRegistry:
    """A Bearer registry whose tokens carry exactly the scopes asked for, one ``scope``
    parameter each; ``wants`` says which a request needs, ``named`` what its 401 names."""

    def __init__(self) -> None:
        self.token_scopes: list[list[str]] = []
        self.posts = 0
        self.uploaded = bytearray()

    def token(self, request: httpx.Request) -> httpx.Response:
        scopes = request.url.params.get_list("scope")
        self.token_scopes.append(scopes)
        return httpx.Response(200, json={"token": "|".join(sorted(scopes)),
                                         "expires_in": 300})

    def refuse(self, named: str | None) -> httpx.Response:
        challenge = CHALLENGE + (f',scope="{named}"' if named else "")
        return httpx.Response(401, headers={"WWW-Authenticate": challenge, **API},
                              json={"errors": [{"code": "UNAUTHORIZED"}]})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == AUTH_HOST:
            return self.token(request)
        held = set(request.headers.get("authorization", "").removeprefix("Bearer ").split("|"))
        path = request.url.path
        if path == "/v2/":
            return self.refuse(None) if held == {""} else httpx.Response(200, headers=API)
        push = "repository:p/r/img:pull,push"
        if request.method == "POST" and request.url.params.get("mount"):
            self.posts += 1
            # Docker Hub: the challenge names only the repository mounted into, while the
            # mount needs pull access to the one mounted from as well
            if not {push, "repository:p/r/base:pull"} <= held:
                return self.refuse(push)
            return httpx.Response(201, headers={"Docker-Content-Digest": str(DIGEST)})
        if push not in held:
            return self.refuse(None)  # a Location outside /v2/: the challenge names nothing
        if request.method == "POST":
            return httpx.Response(202, headers={
                "Location": "/artifacts-uploads/namespaces/p/repositories/r/uploads/X"})
        assert path == "/artifacts-uploads/namespaces/p/repositories/r/uploads/X", path
        self.uploaded += request.content
        if request.method == "PUT":
            return httpx.Response(201, headers={"Docker-Content-Digest": str(DIGEST)})
        end = len(self.uploaded) - 1
        return httpx.Response(202, headers={"Location": path, "Range": f"0-{end}"})


def test_a_mount_asks_for_both_repositories_in_its_first_token(make_client) -> None:
    registry = ScopedRegistry()
    client, _ = make_client(registry)
    assert client.mount_blob("p/r/img", DIGEST, "p/r/base") is True
    assert registry.posts == 1  # no 401 to learn the second scope from
    assert ["repository:p/r/img:pull,push", "repository:p/r/base:pull"] in registry.token_scopes


def test_an_upload_location_outside_v2_is_sent_with_the_sessions_scope(make_client) -> None:
    registry = ScopedRegistry()
    client, _ = make_client(registry)
    assert client.upload_blob("p/r/img", io.BytesIO(BLOB), DIGEST, len(BLOB)) == (
        DIGEST, len(BLOB))
    assert bytes(registry.uploaded) == BLOB
    assert [] not in registry.token_scopes  # never a token for no scope at all
    assert all(scopes for scopes in registry.token_scopes)
