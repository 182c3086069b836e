"""The registry fixtures work: every mode, proved with skopeo and plain httpx.

These pin down what distribution 2.8 (Debian's ``docker-registry`` 2.8.2)
does, for the registry client to be written against:

- Basic auth: 401 with ``WWW-Authenticate: Basic realm="…"``.
- Token auth: 401 with ``Bearer realm="…",service="…"`` (plus ``scope`` on
  repository requests). A token lacking an action is refused with **401**,
  not 403: ``error="insufficient_scope"`` in the challenge and ``UNAUTHORIZED``
  with the missing access items in the body; the challenge's ``scope`` lists
  the actions in random order (a Go map). A bad token (wrong ``iss`` or
  ``aud``, ``aud`` as a list, expired by more than the 60 s leeway) gets 401
  with ``error="invalid_token"``.
- ``GET /v2/REPO/tags/list?n=N`` ignores ``n``: all tags in one answer, in
  storage (directory) order, no ``Link``. ``/v2/_catalog?n=N`` does page,
  sorted, with ``Link: </v2/_catalog?last=…&n=N>; rel="next"``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import require_tool
from tests.helpers.imagebuild import OCI_INDEX, OCI_MANIFEST, sha256_digest
from tests.helpers.registry import (
    ALICE,
    BOB,
    TEST_USERS,
    RegistryServer,
    RegistryStartError,
    parse_challenge,
    push_image,
    seed_repos,
    seed_tags,
)
from tests.helpers.tokenserver import KEY_HEADERS, TokenServer, decode_jwt, parse_scope

pytestmark = pytest.mark.integration

ACCEPT = {"Accept": ", ".join([OCI_INDEX, OCI_MANIFEST])}


def skopeo(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run ``skopeo --insecure-policy ARGS``; with *check*, fail the test on an error."""
    command = [require_tool("skopeo"), "--insecure-policy", *args]
    result = subprocess.run(command, capture_output=True, timeout=120, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"$ {' '.join(command)}\n{result.stderr.decode()}")
    return result


def layout_index_digest(layout: Path, ref: str = "latest") -> str:
    index = json.loads((layout / "index.json").read_bytes())
    for entry in index["manifests"]:
        if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
            return str(entry["digest"])
    raise AssertionError(f"{layout} has no {ref!r}")


def follow_pages(client: httpx.Client, url: str, key: str) -> list[list[str]]:
    """GET *url* and every ``Link: <…>; rel="next"`` after it; the *key* list of each page."""
    pages = []
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        pages.append(response.json()[key] or [])
        next_url = response.links.get("next", {}).get("url")
        assert len(pages) < 1000, "the Link chain does not end"
    return pages


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get_token(
    tokens: TokenServer, scope: str | None, creds: tuple[str, str] | None = None, **params: str
) -> str:
    query = {"service": tokens.service, **params}
    if scope:
        query["scope"] = scope
    response = httpx.get(tokens.realm, params=query, auth=creds)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == tokens.expires_in
    return str(body["token"])


# --------------------------------------------------------------------------- anonymous


def test_anonymous_push_inspect_list_tags(
    registry: RegistryServer, tmp_layout: Path, repo_name: str
) -> None:
    digest = push_image(registry, tmp_layout, "latest", f"{repo_name}:v1")
    assert digest == layout_index_digest(tmp_layout)  # pushed as it was: an OCI index
    ref = f"docker://{registry.host}/{repo_name}:v1"

    raw = skopeo("inspect", "--tls-verify=false", "--raw", ref).stdout
    assert sha256_digest(raw) == digest
    assert len(json.loads(raw)["manifests"]) == 3

    arm = json.loads(
        skopeo(
            "inspect",
            "--tls-verify=false",
            "--override-arch",
            "arm64",
            "--override-variant",
            "v8",
            ref,
        ).stdout
    )
    assert arm["Architecture"] == "arm64"
    assert arm["RepoTags"] == ["v1"]

    listed = json.loads(
        skopeo("list-tags", "--tls-verify=false", f"docker://{registry.host}/{repo_name}").stdout
    )
    assert listed == {"Repository": f"{registry.host}/{repo_name}", "Tags": ["v1"]}

    response = httpx.get(f"{registry.url}/v2/{repo_name}/manifests/v1", headers=ACCEPT)
    assert response.status_code == 200
    assert response.headers["Docker-Content-Digest"] == digest
    assert response.headers["Content-Type"] == OCI_INDEX


# --------------------------------------------------------------------------- htpasswd


def test_htpasswd_challenges_and_accepts_the_users(auth_registry: RegistryServer) -> None:
    url = f"{auth_registry.url}/v2/"
    response = httpx.get(url)
    assert response.status_code == 401
    scheme, params = parse_challenge(response.headers["WWW-Authenticate"])
    assert (scheme, params) == ("basic", {"realm": "spyglass-test-registry"})
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"

    assert httpx.get(url, auth=("alice", "not-the-password")).status_code == 401
    assert httpx.get(url, auth=("mallory", "wonderland")).status_code == 401
    for user, password in TEST_USERS.items():
        assert httpx.get(url, auth=(user, password)).status_code == 200


def test_htpasswd_skopeo_push_and_inspect(
    auth_registry: RegistryServer, tmp_layout: Path, repo_name: str
) -> None:
    digest = push_image(auth_registry, tmp_layout, "latest", f"{repo_name}:v1", creds=ALICE)
    ref = f"docker://{auth_registry.host}/{repo_name}:v1"
    raw = skopeo("inspect", "--tls-verify=false", "--creds", "bob:builder", "--raw", ref).stdout
    assert sha256_digest(raw) == digest

    refused = skopeo("inspect", "--tls-verify=false", "--raw", ref, check=False)
    assert refused.returncode != 0
    assert b"authentication required" in refused.stderr or b"unauthorized" in refused.stderr

    with auth_registry.client(ALICE) as client:
        assert client.get(f"/v2/{repo_name}/tags/list").json()["tags"] == ["v1"]


# --------------------------------------------------------------------------- token


def test_token_challenge_names_realm_and_service(
    token_registry: RegistryServer, token_server: TokenServer
) -> None:
    response = httpx.get(f"{token_registry.url}/v2/")
    assert response.status_code == 401
    scheme, params = parse_challenge(response.headers["WWW-Authenticate"])
    assert scheme == "bearer"
    assert params == {"realm": token_server.realm, "service": token_server.service}

    response = httpx.get(f"{token_registry.url}/v2/some/repo/tags/list")
    _, params = parse_challenge(response.headers["WWW-Authenticate"])
    assert params["scope"] == "repository:some/repo:pull"


def test_token_from_get_works_as_bearer(
    token_registry: RegistryServer, token_server: TokenServer, repo_name: str
) -> None:
    token = get_token(token_server, f"repository:{repo_name}:pull,push", ALICE, account="alice")
    header, claims = decode_jwt(token)
    assert header["alg"] == "ES256" and "x5c" in header
    assert claims["iss"] == token_server.issuer
    assert claims["aud"] == token_server.service
    assert claims["sub"] == "alice"
    assert claims["access"] == [
        {"type": "repository", "name": repo_name, "actions": ["pull", "push"]}
    ]

    url = f"{token_registry.url}/v2/{repo_name}"
    started = httpx.post(f"{url}/blobs/uploads/", headers=bearer(token))
    assert started.status_code == 202  # push allowed
    assert httpx.get(f"{token_registry.url}/v2/", headers=bearer(token)).status_code == 200

    seed_tags(token_registry, repo_name, 2, creds=ALICE)
    listed = httpx.get(f"{url}/tags/list", headers=bearer(token))
    assert listed.status_code == 200
    assert sorted(listed.json()["tags"]) == ["tag-00000", "tag-00001"]


def test_token_post_password_and_refresh_flow(
    token_registry: RegistryServer, make_token_server: Callable[..., TokenServer]
) -> None:
    tokens: TokenServer = token_registry.token_server  # type: ignore[assignment]
    before = len(tokens.requests)
    form = {
        "grant_type": "password",
        "username": "alice",
        "password": "wonderland",
        "service": tokens.service,
        "client_id": "spyglass-tests",
        "access_type": "offline",
        "scope": "repository:it/post:pull repository:it/other:pull,push",
    }
    first = httpx.post(tokens.realm, data=form)
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"access_token", "scope", "expires_in", "issued_at", "refresh_token"}
    assert len(decode_jwt(body["access_token"])[1]["access"]) == 2
    refresh_token = body["refresh_token"]

    refreshed = httpx.post(
        tokens.realm,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "service": tokens.service,
            "client_id": "spyglass-tests",
            "scope": "repository:it/post:pull",
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    assert "refresh_token" not in refreshed.json()  # only with access_type=offline
    access_token = refreshed.json()["access_token"]
    assert decode_jwt(access_token)[1]["sub"] == "alice"
    response = httpx.get(f"{token_registry.url}/v2/it/post/tags/list", headers=bearer(access_token))
    assert response.status_code == 404  # authorized; the repository does not exist
    assert response.json()["errors"][0]["code"] == "NAME_UNKNOWN"

    log = tokens.requests[before:]
    assert [(r.method, r.grant_type, r.status) for r in log] == [
        ("POST", "password", 200),
        ("POST", "refresh_token", 200),
    ]
    assert log[0].refresh_token_issued and log[1].refresh_token_used
    assert "password" not in log[0].params

    # OAuth errors: a bad password, an unknown refresh token, no client_id.
    assert httpx.post(tokens.realm, data={**form, "password": "x"}).status_code == 401
    unknown = httpx.post(
        tokens.realm,
        data={
            "grant_type": "refresh_token",
            "refresh_token": "nope",
            "service": tokens.service,
            "client_id": "c",
        },
    )
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_grant")
    no_client = httpx.post(tokens.realm, data={k: v for k, v in form.items() if k != "client_id"})
    assert (no_client.status_code, no_client.json()["error"]) == (400, "invalid_request")

    # A server that only knows GET answers POST with 404 (clients fall back to GET).
    get_only = make_token_server(allow_post=False)
    assert httpx.post(get_only.realm, data=form).status_code == 404


def test_token_bob_is_denied_push_with_401_insufficient_scope(
    token_registry: RegistryServer, token_server: TokenServer
) -> None:
    token = get_token(token_server, "repository:public/denied:pull,push", BOB)
    assert decode_jwt(token)[1]["access"] == [
        {"type": "repository", "name": "public/denied", "actions": ["pull"]}
    ]
    response = httpx.post(
        f"{token_registry.url}/v2/public/denied/blobs/uploads/", headers=bearer(token)
    )
    # distribution 2.8 answers a missing action with 401, not 403.
    assert response.status_code == 401
    scheme, params = parse_challenge(response.headers["WWW-Authenticate"])
    assert scheme == "bearer"
    assert params["error"] == "insufficient_scope"
    # The actions come from a Go map: "pull,push" or "push,pull", at random.
    kind, name, actions = parse_scope(params["scope"]) or ("", "", [])
    assert (kind, name, sorted(actions)) == ("repository", "public/denied", ["pull", "push"])
    error = response.json()["errors"][0]
    assert error["code"] == "UNAUTHORIZED"
    assert {"Type": "repository", "Class": "", "Name": "public/denied", "Action": "push"} in error[
        "detail"
    ]

    # Wrong credentials never get a token.
    wrong = httpx.get(
        token_server.realm, params={"service": token_server.service}, auth=("bob", "nope")
    )
    assert wrong.status_code == 401


def test_token_anonymous_may_pull_public_only(
    token_registry: RegistryServer, token_server: TokenServer, repo_name: str
) -> None:
    public, private = f"public/{repo_name}", f"private/{repo_name}"
    for repo in (public, private):
        seed_tags(token_registry, repo, 1, creds=ALICE)

    with token_registry.client() as anonymous:  # anonymous tokens, fetched on challenge
        assert anonymous.get(f"/v2/{public}/tags/list").json()["tags"] == ["tag-00000"]
        denied = anonymous.get(f"/v2/{private}/tags/list")
        assert denied.status_code == 401
        assert parse_challenge(denied.headers["WWW-Authenticate"])[1]["error"] == (
            "insufficient_scope"
        )
        assert anonymous.post(f"/v2/{public}/blobs/uploads/").status_code == 401
    assert token_server.requests[-1].account == ""


def test_token_server_refusing_anonymous(make_token_server: Callable[..., TokenServer]) -> None:
    tokens = make_token_server(allow_anonymous=False)
    response = httpx.get(tokens.realm, params={"service": tokens.service})
    assert response.status_code == 401
    assert parse_challenge(response.headers["WWW-Authenticate"])[0] == "basic"
    assert get_token(tokens, "repository:x:pull", ALICE)
    assert tokens.tokens_issued == 1


def test_token_server_knobs(make_token_server: Callable[..., TokenServer]) -> None:
    tokens = make_token_server(expires_in=2)
    # GET with offline_token: a refresh token too (client_id required for it).
    query = {"service": tokens.service, "offline_token": "true", "client_id": "tests"}
    body = httpx.get(tokens.realm, params=query, auth=ALICE).json()
    claims = decode_jwt(body["token"])[1]
    assert (body["expires_in"], claims["exp"] - claims["iat"]) == (2, 2)
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"],
        "service": tokens.service,
        "client_id": "tests",
    }
    assert httpx.post(tokens.realm, data=refresh).status_code == 200

    tokens.revoke_refresh_tokens()
    assert httpx.post(tokens.realm, data=refresh).json()["error"] == "invalid_grant"

    tokens.fail_next(2, status=503)
    statuses = [httpx.get(tokens.realm, params=query, auth=ALICE).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert [r.status for r in tokens.requests[-3:]] == statuses


@pytest.mark.parametrize("key_header", KEY_HEADERS)
def test_token_key_header_forms(
    token_registry: RegistryServer, token_server: TokenServer, key_header: str
) -> None:
    token = token_server.issue_token("alice", [], key_header=key_header)
    assert key_header in decode_jwt(token)[0]
    assert httpx.get(f"{token_registry.url}/v2/", headers=bearer(token)).status_code == 200


def test_token_claims_the_registry_checks(
    token_registry: RegistryServer, token_server: TokenServer
) -> None:
    now = time.time()
    lifetime = token_server.expires_in
    accepted = {
        "expired 30 s ago (inside the 60 s leeway)": token_server.issue_token(
            "alice", [], issued_at=now - lifetime - 30
        ),
    }
    refused = {
        "expired 120 s ago": token_server.issue_token("alice", [], issued_at=now - lifetime - 120),
        "not valid for 120 s": token_server.issue_token("alice", [], issued_at=now + 120),
        "another audience": token_server.issue_token("alice", [], audience="elsewhere"),
        "an audience list": token_server.issue_token("alice", [], audience=[token_server.service]),
        "another issuer": token_server.issue_token("alice", [], issuer="mallory"),
    }
    url = f"{token_registry.url}/v2/"
    for why, token in accepted.items():
        assert httpx.get(url, headers=bearer(token)).status_code == 200, why
    for why, token in refused.items():
        response = httpx.get(url, headers=bearer(token))
        assert response.status_code == 401, why
        assert parse_challenge(response.headers["WWW-Authenticate"])[1]["error"] == (
            "invalid_token"
        ), why


def test_token_skopeo_push_and_inspect(
    token_registry: RegistryServer, token_server: TokenServer, tmp_layout: Path, repo_name: str
) -> None:
    before = token_server.tokens_issued
    digest = push_image(token_registry, tmp_layout, "latest", f"{repo_name}:v1", creds=ALICE)
    raw = skopeo(
        "inspect",
        "--tls-verify=false",
        "--creds",
        "alice:wonderland",
        "--raw",
        f"docker://{token_registry.host}/{repo_name}:v1",
    ).stdout
    assert sha256_digest(raw) == digest
    assert token_server.tokens_issued > before
    # skopeo 1.9 fetches tokens by GET with Basic credentials.
    assert any(
        r.method == "GET" and r.account == "alice" and r.basic_auth for r in token_server.requests
    )


# --------------------------------------------------------------------------- TLS


def test_tls_trusted_with_the_ca(tls_registry: RegistryServer) -> None:
    assert tls_registry.url.startswith("https://127.0.0.1:")
    context = tls_registry.ssl_context()
    assert httpx.get(f"{tls_registry.url}/v2/", verify=context).status_code == 200
    # The certificate names localhost too.
    localhost = f"https://localhost:{tls_registry.port}/v2/"
    try:
        socket.create_connection(("localhost", tls_registry.port), timeout=2).close()
    except OSError:
        pass  # localhost resolves elsewhere (::1 only): the DNS name is not checked then
    else:
        assert httpx.get(localhost, verify=context).status_code == 200


def test_tls_refused_without_the_ca(tls_registry: RegistryServer) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{tls_registry.url}/v2/")
    # Plain HTTP to the TLS port: Go's server answers 400 in plain HTTP.
    plain = httpx.get(f"http://{tls_registry.host}/v2/", timeout=5)
    assert plain.status_code == 400
    assert "HTTP request to an HTTPS server" in plain.text


def test_tls_skopeo_with_cert_dir(
    tls_registry: RegistryServer, tmp_layout: Path, repo_name: str
) -> None:
    assert tls_registry.cert_dir is not None
    digest = push_image(tls_registry, tmp_layout, "latest", f"{repo_name}:v1")
    ref = f"docker://{tls_registry.host}/{repo_name}:v1"
    raw = skopeo("inspect", "--cert-dir", str(tls_registry.cert_dir), "--raw", ref).stdout
    assert sha256_digest(raw) == digest
    untrusted = skopeo("inspect", "--raw", ref, check=False)
    assert untrusted.returncode != 0
    assert b"certificate signed by unknown authority" in untrusted.stderr


@pytest.mark.parametrize("auth", ["htpasswd", "token"])
def test_tls_with_auth(
    make_registry: Callable[..., RegistryServer],
    make_token_server: Callable[..., TokenServer],
    auth: str,
) -> None:
    kwargs: dict[str, Any] = {"tls": True}
    if auth == "htpasswd":
        kwargs["htpasswd"] = TEST_USERS
    else:
        kwargs["token_server"] = make_token_server()
    server = make_registry(**kwargs)
    assert server.auth_mode == auth
    seed_tags(server, "team/app", 3, creds=ALICE)
    with server.client(BOB if auth == "htpasswd" else ALICE) as client:
        listed = client.get("/v2/team/app/tags/list")
        assert listed.status_code == 200
        assert sorted(listed.json()["tags"]) == ["tag-00000", "tag-00001", "tag-00002"]
    assert httpx.get(f"{server.url}/v2/", verify=server.ssl_context()).status_code == 401


# --------------------------------------------------------------------------- listing


def test_seed_tags_and_tag_listing(registry: RegistryServer, repo_name: str) -> None:
    tags = seed_tags(registry, repo_name, 1000)
    assert tags == [f"tag-{n:05d}" for n in range(1000)]

    with registry.client() as client:
        pages = follow_pages(client, f"/v2/{repo_name}/tags/list?n=100", "tags")
        assert sorted(tag for page in pages for tag in page) == tags
        # distribution 2.8 ignores n on tags/list: one page, no Link, storage order.
        assert len(pages) == 1

        manifest = client.get(f"/v2/{repo_name}/manifests/{tags[-1]}", headers=ACCEPT)
        assert manifest.status_code == 200
        assert manifest.headers["Docker-Content-Digest"] == sha256_digest(manifest.content)


def test_seed_tags_direct_writes_links_the_registry_serves(
    fresh_registry: RegistryServer,
) -> None:
    tags = seed_tags(fresh_registry, "team/direct", 300, direct=True)
    with fresh_registry.client() as client:
        assert sorted(client.get("/v2/team/direct/tags/list").json()["tags"]) == tags
        assert (
            client.head(f"/v2/team/direct/manifests/{tags[-1]}", headers=ACCEPT).status_code == 200
        )
        assert (
            client.delete(
                "/v2/team/direct/manifests/"
                + client.head(f"/v2/team/direct/manifests/{tags[0]}", headers=ACCEPT).headers[
                    "Docker-Content-Digest"
                ]
            ).status_code
            == 202
        )


def test_catalog_pages_through_link(fresh_registry: RegistryServer) -> None:
    repos = seed_repos(fresh_registry, 250)
    with fresh_registry.client() as client:
        first = client.get("/v2/_catalog", params={"n": 100})
        assert first.headers["Link"] == (
            f'</v2/_catalog?last={repos[99].replace("/", "%2F")}&n=100>; rel="next"'
        )
        pages = follow_pages(client, "/v2/_catalog?n=100", "repositories")
    assert [len(page) for page in pages] == [100, 100, 50]
    assert [repo for page in pages for repo in page] == repos


# --------------------------------------------------------------------------- life cycle


def test_stop_fails_requests_and_restart_keeps_storage(fresh_registry: RegistryServer) -> None:
    server = fresh_registry
    seed_tags(server, "keep/me", 3)
    port, url = server.port, server.url
    with httpx.Client(base_url=url, timeout=5) as client:
        manifest = client.get("/v2/keep/me/manifests/tag-00001", headers=ACCEPT)
        config_digest = manifest.json()["config"]["digest"]
        assert server.blob_path(config_digest).is_file()

        server.stop()
        assert not server.running
        with pytest.raises(httpx.ConnectError):
            client.get("/v2/keep/me/tags/list")

        server.start()
        assert (server.port, server.url) == (port, url)
        assert sorted(client.get("/v2/keep/me/tags/list").json()["tags"]) == [
            "tag-00000",
            "tag-00001",
            "tag-00002",
        ]
        again = client.get("/v2/keep/me/manifests/tag-00001", headers=ACCEPT)
        assert again.content == manifest.content

        # A corrupted blob in storage is served as it is now.
        server.blob_path(config_digest).write_bytes(b"{}")
        assert client.get(f"/v2/keep/me/blobs/{config_digest}").content == b"{}"

    server.restart()
    assert httpx.get(f"{url}/v2/").status_code == 200


def test_start_retries_when_the_port_is_taken(
    registry_binary: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tests.helpers.registry as registry_module

    real_free_port = registry_module.free_port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        offered = iter([taken])
        monkeypatch.setattr(
            registry_module, "free_port", lambda: next(offered, None) or real_free_port()
        )
        with RegistryServer(binary=registry_binary) as server:
            assert server.port != taken
            assert httpx.get(f"{server.url}/v2/").status_code == 200
            assert "address already in use" in server.log_path.read_text()


def test_start_failure_reports_the_log(registry_binary: str) -> None:
    server = RegistryServer(binary=registry_binary, extra_config={"log": {"level": "nonsense"}})
    with pytest.raises(RegistryStartError, match="registry log"):
        server.start()
    server.close()
