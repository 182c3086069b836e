"""Manifests (verified, capped, typed) and blobs (redirects, ranges) from a scripted registry."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from spyglass.core import media
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    AccessDenied,
    BlobNotFound,
    ConnectionFailed,
    DigestMismatch,
    ImageNotFound,
    RegistryError,
    TooLarge,
    Unreachable,
)
from spyglass.core.manifest import ImageManifest, guess_media_type, parse_manifest
from tests.unit.core.transports.registry.fakes import (
    HOST,
    CountingStream,
    Routes,
    TokenRegistry,
    registry_error,
)

LAYER = b"layer bytes " * 1000
LAYER_DIGEST = Digest.of(LAYER)
CONFIG = b'{"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}'
MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": media.OCI_MANIFEST,
    "config": {"mediaType": media.OCI_CONFIG, "digest": str(Digest.of(CONFIG)),
               "size": len(CONFIG)},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": str(LAYER_DIGEST), "size": len(LAYER)}],
}, indent=2).encode()
DIGEST = Digest.of(MANIFEST)
PATH = "/v2/team/app/manifests"
BLOBS = "/v2/team/app/blobs"


def manifest_answer(raw: bytes = MANIFEST, content_type: str | None = media.OCI_MANIFEST,
                    digest: str | None = str(DIGEST), **extra: str):
    def answer(request: httpx.Request) -> httpx.Response:
        headers = dict(extra)
        if content_type:
            headers["Content-Type"] = content_type
        if digest:
            headers["Docker-Content-Digest"] = digest
        return httpx.Response(200, content=raw, headers=headers)
    return answer


def test_get_manifest_by_tag(make_client) -> None:
    client, seen = make_client(Routes({("GET", f"{PATH}/v1"): manifest_answer()}))
    answer = client.get_manifest("team/app", "v1")
    assert answer.raw == MANIFEST
    assert answer.media_type == media.OCI_MANIFEST
    assert answer.digest == DIGEST
    accept = [t.strip() for t in seen.to(f"{PATH}/v1")[0].headers["accept"].split(",")]
    assert set(accept) == {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v1+json",
    }
    assert len(accept) == 6


def test_get_manifest_by_digest(make_client) -> None:
    client, _ = make_client(Routes({("GET", f"{PATH}/{DIGEST}"): manifest_answer(digest=None)}))
    assert client.get_manifest("team/app", str(DIGEST)).digest == DIGEST


def test_bytes_that_do_not_match_the_digest_asked_for(make_client) -> None:
    tampered = MANIFEST.replace(b"amd64", b"arm64") + b" "
    # the registry even claims the right digest: the bytes decide
    client, _ = make_client(Routes({("GET", f"{PATH}/{DIGEST}"): manifest_answer(tampered)}))
    with pytest.raises(DigestMismatch) as info:
        client.get_manifest("team/app", str(DIGEST))
    assert str(DIGEST) in str(info.value) and str(Digest.of(tampered)) in str(info.value)
    assert f"{HOST}/team/app@{DIGEST}" in str(info.value)


def test_by_tag_with_a_wrong_docker_content_digest(make_client) -> None:
    wrong = Digest.of(b"something else")
    client, _ = make_client(Routes({("GET", f"{PATH}/v1"): manifest_answer(digest=str(wrong))}))
    with pytest.raises(DigestMismatch) as info:
        client.get_manifest("team/app", "v1")
    assert str(wrong) in str(info.value) and f"{HOST}/team/app:v1" in str(info.value)


def test_by_tag_without_docker_content_digest_is_hashed(make_client) -> None:
    client, _ = make_client(Routes({("GET", f"{PATH}/v1"): manifest_answer(digest=None)}))
    assert client.get_manifest("team/app", "v1").digest == DIGEST


def test_content_length_over_4_mib_is_refused_before_reading(make_client) -> None:
    body = CountingStream(5 * 1024 * 1024)
    client, _ = make_client(Routes({
        ("GET", f"{PATH}/v1"): lambda r: httpx.Response(
            200, content=body, headers={"Content-Length": str(5 * 1024 * 1024),
                                        "Content-Type": media.OCI_MANIFEST},
        ),
    }))
    with pytest.raises(TooLarge) as info:
        client.get_manifest("team/app", "v1")
    assert body.consumed == 0
    assert "5242880 bytes" in str(info.value) and "4096 KiB" in str(info.value)
    assert HOST in str(info.value)


def test_a_body_over_4_mib_without_content_length_is_cut_off(make_client) -> None:
    body = CountingStream(64 * 1024 * 1024, chunk=256 * 1024)
    client, _ = make_client(Routes({
        ("GET", f"{PATH}/v1"): lambda r: httpx.Response(200, content=body),
    }))
    with pytest.raises(TooLarge):
        client.get_manifest("team/app", "v1")
    assert body.consumed <= 4 * 1024 * 1024 + body.chunk


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json; charset=utf-8",
                                          "application/octet-stream"])
def test_a_content_type_that_is_no_manifest_type(make_client, content_type: str | None) -> None:
    client, _ = make_client(Routes({
        ("GET", f"{PATH}/v1"): manifest_answer(content_type=content_type)
    }))
    answer = client.get_manifest("team/app", "v1")
    assert answer.media_type is None
    assert answer.digest == DIGEST
    assert guess_media_type(answer.raw) == media.OCI_MANIFEST
    parsed = parse_manifest(answer.raw, answer.media_type)
    assert isinstance(parsed, ImageManifest)
    assert [layer.digest for layer in parsed.layers] == [LAYER_DIGEST]


def test_content_type_parameters_are_ignored(make_client) -> None:
    client, _ = make_client(Routes({
        ("GET", f"{PATH}/v1"): manifest_answer(content_type=f"{media.OCI_MANIFEST}; charset=utf-8")
    }))
    assert client.get_manifest("team/app", "v1").media_type == media.OCI_MANIFEST


@pytest.mark.parametrize(
    ("answer", "cls"),
    [
        (lambda r: registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown"), ImageNotFound),
        (lambda r: registry_error(404, "NAME_UNKNOWN", "repository name not known"), ImageNotFound),
        (lambda r: httpx.Response(404), ImageNotFound),
    ],
)
def test_missing_manifest(make_client, answer, cls) -> None:
    client, _ = make_client(Routes({("GET", f"{PATH}/v9"): answer}))
    with pytest.raises(cls) as info:
        client.get_manifest("team/app", "v9")
    assert str(info.value).startswith(f"Reading the manifest {HOST}/team/app:v9 failed: ")


# ---------------------------------------------------------------- HEAD


def test_head_uses_docker_content_digest(make_client) -> None:
    client, seen = make_client(Routes({
        ("HEAD", f"{PATH}/v1"): lambda r: httpx.Response(200, headers={
            "Docker-Content-Digest": str(DIGEST), "Content-Length": str(len(MANIFEST)),
            "Content-Type": media.OCI_MANIFEST,
        }),
    }))
    head = client.head_manifest("team/app", "v1")
    assert (head.digest, head.size, head.media_type) == (DIGEST, len(MANIFEST), media.OCI_MANIFEST)
    assert [r.method for r in seen.to(f"{PATH}/v1")] == ["HEAD"]


def test_head_without_docker_content_digest_falls_back_to_get(make_client) -> None:
    client, seen = make_client(Routes({
        ("HEAD", f"{PATH}/v1"): lambda r: httpx.Response(200, headers={
            "Content-Type": media.OCI_MANIFEST, "Content-Length": str(len(MANIFEST)),
        }),
        ("GET", f"{PATH}/v1"): manifest_answer(digest=None),
    }))
    head = client.head_manifest("team/app", "v1")
    assert head.digest == DIGEST
    assert head.size == len(MANIFEST)
    assert [r.method for r in seen.to(f"{PATH}/v1")] == ["HEAD", "GET"]


def test_head_by_digest_without_header_trusts_the_name(make_client) -> None:
    client, seen = make_client(Routes({
        ("HEAD", f"{PATH}/{DIGEST}"): lambda r: httpx.Response(200),
    }))
    assert client.head_manifest("team/app", str(DIGEST)).digest == DIGEST
    assert len(seen.requests) == 2  # the ping and the HEAD


def test_a_registry_that_answers_no_head_is_asked_with_get(make_client) -> None:
    """405 to HEAD: GET says it. A 404 to HEAD of a manifest GET serves (older Nexus) is
    asked again with GET where "not there" must be sure (a delete's tag)."""
    for code in (405, 404):
        client, seen = make_client(Routes({
            ("HEAD", f"{PATH}/v1"): lambda r, code=code: httpx.Response(code),
            ("GET", f"{PATH}/v1"): manifest_answer(),
        }))
        if code == 404:
            with pytest.raises(ImageNotFound):
                client.head_manifest("team/app", "v1")
        assert client.head_manifest("team/app", "v1", confirm_missing=True).digest == DIGEST
        assert [r.method for r in seen.to(f"{PATH}/v1")][-2:] == ["HEAD", "GET"]
        if code == 405:  # said once: not asked twice each time after
            assert client.head_manifest("team/app", "v1").digest == DIGEST
            assert [r.method for r in seen.to(f"{PATH}/v1")] == ["HEAD", "GET", "GET"]


def test_head_of_a_missing_tag_is_image_not_found(make_client) -> None:
    client, _ = make_client(Routes({("HEAD", f"{PATH}/gone"): lambda r: httpx.Response(404)}))
    with pytest.raises(ImageNotFound) as info:
        client.head_manifest("team/app", "gone")
    assert f"{HOST}/team/app:gone" in str(info.value)
    assert "no such image" in str(info.value)


# ---------------------------------------------------------------- blobs


def test_cross_host_redirect_drops_authorization(make_client) -> None:
    cdn = "https://cdn.example/blobs/abc?sig=xyz"
    registry = TokenRegistry(app=Routes({
        ("GET", f"{BLOBS}/{LAYER_DIGEST}"): lambda r: httpx.Response(
            307, headers={"Location": cdn}),
    }))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.example":
            assert dict(request.url.params) == {"sig": "xyz"}
            return httpx.Response(200, content=LAYER)
        return registry(request)

    client, seen = make_client(handler)
    stream = client.open_blob("team/app", LAYER_DIGEST)
    data = stream.read()
    stream.close()
    assert Digest.of(data) == LAYER_DIGEST
    [at_registry] = seen.to(f"{BLOBS}/{LAYER_DIGEST}")
    assert at_registry.headers["authorization"] == "Bearer tok-1"
    [at_cdn] = seen.to(host="cdn.example")
    assert "authorization" not in at_cdn.headers
    assert at_cdn.headers["host"] == "cdn.example"


def test_manifests_and_tags_redirected_to_another_registry_are_followed(make_client) -> None:
    """registry.k8s.io answers /v2/ itself and sends manifest and tag requests on to
    the registry that holds them (another host): followed, without the credentials."""
    upstream = "https://upstream.example/v2/team/app"
    registry = TokenRegistry(app=Routes({
        ("GET", f"{PATH}/v1"): lambda r: httpx.Response(
            307, headers={"Location": f"{upstream}/manifests/v1"}),
        ("HEAD", f"{PATH}/v1"): lambda r: httpx.Response(
            307, headers={"Location": f"{upstream}/manifests/v1"}),
        ("GET", "/v2/team/app/tags/list"): lambda r: httpx.Response(
            307, headers={"Location": f"{upstream}/tags/list"}),
    }))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "upstream.example":
            assert "authorization" not in request.headers
            if request.url.path.endswith("/tags/list"):
                return httpx.Response(200, json={"name": "team/app", "tags": ["v1", "v2"]})
            return manifest_answer()(request)
        return registry(request)

    client, seen = make_client(handler)
    assert client.get_manifest("team/app", "v1").digest == DIGEST
    assert client.head_manifest("team/app", "v1").digest == DIGEST
    assert client.tags_of("team/app") == ["v1", "v2"]
    assert len(seen.to(host="upstream.example")) == 3


def test_a_401_from_the_redirect_target_is_not_answered_with_a_token(make_client) -> None:
    registry = TokenRegistry(app=Routes({
        ("GET", f"{BLOBS}/{LAYER_DIGEST}"): lambda r: httpx.Response(
            302, headers={"Location": "https://cdn.example/x"}),
    }))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.example":
            return httpx.Response(401, headers={
                "WWW-Authenticate": 'Bearer realm="https://auth.test/token",service="cdn"'})
        return registry(request)

    client, seen = make_client(handler)
    with pytest.raises(AccessDenied) as refused:
        client.open_blob("team/app", LAYER_DIGEST)
    assert len(seen.to(host="cdn.example")) == 1
    assert len(registry.token_requests) == 1
    # said as it is: another server's refusal, not the registry's, and no word of
    # credentials (they never went there, and would not have helped)
    assert str(refused.value) == (
        f"Reading the blob {LAYER_DIGEST} of {HOST}/team/app failed: {HOST} sent the "
        "request on to cdn.example, which refused it (HTTP 401).")


@pytest.mark.parametrize(("storage_get", "expected"), [
    (httpx.Response(206, headers={"Content-Range": "bytes 0-0/1234"}, content=b"x"), 1234),
    (httpx.Response(200, content=b"whole blob"), 10),  # the range ignored
    (httpx.Response(404), None),
    (httpx.Response(403), None),  # refused again: uploaded again, the copy goes on
])
def test_a_blob_head_that_storage_refuses_is_asked_with_get(
        make_client, storage_get: httpx.Response, expected: int | None) -> None:
    """Object storage signs a registry's redirect for GET alone and refuses a HEAD (S3:
    403): not a refusal of the copy, nor a matter of credentials."""
    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(307, headers={"Location": "https://storage.example/b?sig=get"})

    registry = Routes({("HEAD", f"{BLOBS}/{LAYER_DIGEST}"): redirect,
                       ("GET", f"{BLOBS}/{LAYER_DIGEST}"): redirect})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "storage.example":
            assert "authorization" not in request.headers
            if request.method == "HEAD":
                return httpx.Response(403)
            assert request.headers["range"] == "bytes=0-0"
            return storage_get
        return registry(request)

    client, seen = make_client(handler)
    assert client.blob_exists("team/app", LAYER_DIGEST) == expected
    assert [(r.method, r.url.host) for r in seen.to(host="storage.example")] == [
        ("HEAD", "storage.example"), ("GET", "storage.example")]


def test_missing_blob(make_client) -> None:
    client, _ = make_client(Routes({
        ("GET", f"{BLOBS}/{LAYER_DIGEST}"): lambda r: registry_error(404, "BLOB_UNKNOWN",
                                                                     "blob unknown to registry"),
    }))
    with pytest.raises(BlobNotFound) as info:
        client.open_blob("team/app", LAYER_DIGEST)
    assert f"Reading the blob {LAYER_DIGEST} of {HOST}/team/app failed" in str(info.value)


def ranged(status: int, content_range: str | None, content: bytes):
    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Range": content_range} if content_range else {}
        return httpx.Response(status, content=content, headers=headers)
    return answer


def test_ranged_read(make_client) -> None:
    part = LAYER[100:200]
    client, seen = make_client(Routes({
        ("GET", f"{BLOBS}/{LAYER_DIGEST}"): ranged(206, f"bytes 100-199/{len(LAYER)}", part),
    }))
    stream = client.open_blob("team/app", LAYER_DIGEST, start=100, end=199)
    assert stream.read() == part
    assert seen.to(f"{BLOBS}/{LAYER_DIGEST}")[0].headers["range"] == "bytes=100-199"


def test_open_ended_range(make_client) -> None:
    client, seen = make_client(Routes({
        ("GET", f"{BLOBS}/{LAYER_DIGEST}"): ranged(
            206, f"bytes 5-{len(LAYER) - 1}/{len(LAYER)}", LAYER[5:]),
    }))
    assert client.open_blob("team/app", LAYER_DIGEST, start=5).read() == LAYER[5:]
    assert seen.to(f"{BLOBS}/{LAYER_DIGEST}")[0].headers["range"] == "bytes=5-"


def test_a_server_ignoring_range_is_an_error(make_client) -> None:
    body = CountingStream(len(LAYER))
    client, _ = make_client(Routes({
        ("GET", f"{BLOBS}/{LAYER_DIGEST}"): lambda r: httpx.Response(200, content=body),
    }))
    with pytest.raises(RegistryError) as info:
        client.open_blob("team/app", LAYER_DIGEST, start=100, end=199)
    assert "ignored the range request" in str(info.value)
    assert info.value.status == 200
    assert body.consumed == 0  # the whole blob is not read as an "error body"


def test_a_206_for_another_range_is_an_error(make_client) -> None:
    client, _ = make_client(Routes({
        ("GET", f"{BLOBS}/{LAYER_DIGEST}"): ranged(206, "bytes 0-99/12000", LAYER[:100]),
    }))
    with pytest.raises(RegistryError, match='"bytes 0-99/12000" instead of bytes 100-'):
        client.open_blob("team/app", LAYER_DIGEST, start=100, end=199)


def test_a_read_that_breaks_off_is_connection_failed(make_client) -> None:
    def broken():
        yield LAYER[:1000]
        raise httpx.ReadError("connection reset by peer")

    client, _ = make_client(Routes({
        ("GET", f"{BLOBS}/{LAYER_DIGEST}"): lambda r: httpx.Response(200, content=broken()),
    }))
    stream = client.open_blob("team/app", LAYER_DIGEST)
    with pytest.raises(ConnectionFailed) as info:
        stream.read()
    assert str(info.value) == (
        f"Reading the blob {LAYER_DIGEST} of {HOST}/team/app broke off: connection reset by peer."
    )


@pytest.mark.parametrize("what", ["manifest", "blob"])
def test_a_content_encoding_that_does_not_decode_is_said(make_client, what: str) -> None:
    """A proxy's gzip Content-Encoding over a broken body: a sentence, not "an unexpected
    internal error" (httpx's DecodingError is no TransportError)."""
    broken = {"Content-Encoding": "gzip", "Content-Type": media.OCI_MANIFEST}
    def answer(request: httpx.Request) -> httpx.Response:  # a stream: decoded as read
        return httpx.Response(200, content=iter([b"\x1f\x8bnot gzip"]), headers=broken)

    client, _ = make_client(Routes({("GET", f"{PATH}/v1"): answer,
                                    ("GET", f"{BLOBS}/{LAYER_DIGEST}"): answer}))
    with pytest.raises(ConnectionFailed) as info:
        if what == "manifest":
            client.get_manifest("team/app", "v1")
        else:
            client.open_blob("team/app", LAYER_DIGEST).read()
    said = str(info.value)
    assert "came with a Content-Encoding that does not decode (" in said, said
    assert said.endswith(".") and "DecodingError" not in said


def test_a_manifest_cut_off_after_its_headers_is_asked_again(make_client) -> None:
    """A reset after the headers is retried as a 503 there is (it failed at once)."""
    def cut(request: httpx.Request) -> httpx.Response:
        def body():
            yield MANIFEST[:10]
            raise httpx.ReadError("connection reset by peer")
        return httpx.Response(200, content=body(), headers={
            "Content-Type": media.OCI_MANIFEST, "Docker-Content-Digest": str(DIGEST)})

    client, seen = make_client(Routes({("GET", f"{PATH}/v1"): [cut, manifest_answer()]}))
    assert client.get_manifest("team/app", "v1").digest == DIGEST
    assert len(seen.to(f"{PATH}/v1")) == 2
    client, seen = make_client(Routes({("GET", f"{PATH}/v1"): [cut, manifest_answer()]}),
                               retry_times=0)
    with pytest.raises(ConnectionFailed,
                       match=r"broke off after 10 B \(connection reset by peer\)\.$"):
        client.get_manifest("team/app", "v1")
    assert len(seen.to(f"{PATH}/v1")) == 1


def test_a_registry_that_stops_answering_is_said_to_have_stopped(make_client) -> None:
    """Reached, then silent: not "cannot reach" (which sends one looking at the network),
    but what was being done and that the registry stopped answering."""
    def hung(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client, seen = make_client(Routes({("GET", f"{PATH}/v1"): hung}), retry_times=1)
    with pytest.raises(ConnectionFailed) as info:
        client.get_manifest("team/app", "v1")
    said = str(info.value)
    assert (f"the registry {HOST} stopped answering (nothing came for the whole timeout; "
            "asked 2 times).") in said, said
    assert "Cannot reach" not in said
    assert len(seen.to(f"{PATH}/v1")) == 2  # asked again first, as before


def test_a_request_asked_again_after_a_timeout_or_a_refusal_says_so(
        make_client, caplog: pytest.LogCaptureFixture) -> None:
    """A minute of silence, then another: the command line says, between them, that the
    request is asked again (it said nothing for four minutes, like a command that froze);
    so it does of a connection refused, asked again after a backoff."""
    from spyglass.core.retry import RETRY_NOTES

    def hung(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client, _ = make_client(Routes({("GET", f"{PATH}/v1"): hung}), retry_times=2)
    with caplog.at_level(logging.WARNING, logger=RETRY_NOTES), \
            pytest.raises(ConnectionFailed):
        client.get_manifest("team/app", "v1")
    said = [r.getMessage() for r in caplog.records if r.name == RETRY_NOTES]
    assert said == [
        f"Reading the manifest {HOST}/team/app:v1: the registry {HOST} sent nothing for "
        f"60 s; asking again (attempt {n} of 3)…" for n in (2, 3)]
    caplog.clear()

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client, _ = make_client(Routes({("GET", f"{PATH}/v1"): refused}), retry_times=2)
    with caplog.at_level(logging.WARNING, logger=RETRY_NOTES), \
            pytest.raises(Unreachable):  # (no connection made at all: said apart)
        client.get_manifest("team/app", "v1")
    # seconds of backoffs in all: said as they begin, not taken for a command that froze
    said = [r.getMessage() for r in caplog.records if r.name == RETRY_NOTES]
    assert said == [
        f"Reading the manifest {HOST}/team/app:v1: cannot reach the registry {HOST} "
        f"(connection refused); asking again (attempt {n} of 3)…" for n in (2, 3)]


@pytest.mark.parametrize("target", ["file:///etc/passwd", "gopher://127.0.0.1:70/x"])
def test_a_redirect_off_http_is_refused_as_such_and_not_retried(
        make_client, target: str) -> None:
    """A blob redirected to file: or gopher: was "Cannot reach the registry … (tried 4
    times)": nothing was read, but it was asked four times and blamed on the network."""
    from spyglass.core.errors import TransportError

    registry = Routes({
        ("GET", f"{BLOBS}/{LAYER_DIGEST}"): lambda r: httpx.Response(
            307, headers={"Location": target}),
    })
    scheme = target.split(":")[0]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):  # as httpcore's pool refuses it
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'.", request=request)
        return registry(request)

    client, seen = make_client(handler)
    with pytest.raises(TransportError, match=f"{HOST} redirected the request to a {scheme}: "
                       "URL, which Spyglass does not follow"):
        client.open_blob("team/app", LAYER_DIGEST)
    assert len(seen.to(f"{BLOBS}/{LAYER_DIGEST}")) == 1
