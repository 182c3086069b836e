"""``RegistryImageSource``: the top manifest fetched once, blobs verified as they stream."""

from __future__ import annotations

import json

import httpx
import pytest

from spyglass.core import media
from spyglass.core.digest import Digest, VerifyingReader
from spyglass.core.errors import DigestMismatch, SizeMismatch
from spyglass.core.manifest import Descriptor
from spyglass.core.transports.registry.source import RegistryImageSource
from tests.unit.core.transports.registry.fakes import HOST, Routes

CHILD = json.dumps({
    "schemaVersion": 2, "mediaType": media.OCI_MANIFEST,
    "config": {"mediaType": media.OCI_CONFIG, "digest": str(Digest.of(b"{}")), "size": 2},
    "layers": [],
}).encode()
CHILD_DIGEST = Digest.of(CHILD)
INDEX = json.dumps({
    "schemaVersion": 2, "mediaType": media.OCI_INDEX,
    "manifests": [{"mediaType": media.OCI_MANIFEST, "digest": str(CHILD_DIGEST),
                   "size": len(CHILD), "platform": {"os": "linux", "architecture": "amd64"}}],
}).encode()
INDEX_DIGEST = Digest.of(INDEX)
BLOB = b"\x1f\x8b" + b"layer" * 5000
BLOB_DIGEST = Digest.of(BLOB)
M = "/v2/team/app/manifests"


def serve(raw: bytes, media_type: str):
    return lambda request: httpx.Response(200, content=raw, headers={"Content-Type": media_type})


@pytest.fixture
def source_and_requests(make_client):
    client, seen = make_client(Routes({
        ("GET", f"{M}/v1"): serve(INDEX, media.OCI_INDEX),
        ("GET", f"{M}/{CHILD_DIGEST}"): serve(CHILD, media.OCI_MANIFEST),
        ("GET", f"/v2/team/app/blobs/{BLOB_DIGEST}"): lambda r: httpx.Response(200, content=BLOB),
    }))
    return RegistryImageSource(client, "team/app", "v1"), seen


def test_description(make_client) -> None:
    client, seen = make_client(Routes({}))
    assert RegistryImageSource(client, "a/b", "v1").description == f"docker://{HOST}/a/b:v1"
    by_digest = RegistryImageSource(client, "a/b", str(CHILD_DIGEST))
    assert by_digest.description == f"docker://{HOST}/a/b@{CHILD_DIGEST}"
    assert seen.requests == []  # opening asks nothing yet


def test_top_manifest_is_fetched_once(source_and_requests) -> None:
    source, seen = source_and_requests
    assert source.get_manifest() == (INDEX, media.OCI_INDEX)
    assert source.get_manifest(None) == (INDEX, media.OCI_INDEX)
    # asking for it by its digest is no new request either
    assert source.get_manifest(str(INDEX_DIGEST)) == (INDEX, media.OCI_INDEX)
    assert len(seen.to(f"{M}/v1")) == 1
    assert source.top_manifest().digest == INDEX_DIGEST


def test_an_instance_is_fetched_by_digest(source_and_requests) -> None:
    source, seen = source_and_requests
    assert source.get_manifest(str(CHILD_DIGEST)) == (CHILD, media.OCI_MANIFEST)
    assert [str(r.url.path) for r in seen.requests[1:]] == [f"{M}/{CHILD_DIGEST}"]


def test_open_blob_verifies(source_and_requests) -> None:
    source, _ = source_and_requests
    descriptor = Descriptor("application/vnd.oci.image.layer.v1.tar+gzip", BLOB_DIGEST, len(BLOB))
    with source.open_blob(descriptor) as reader:
        assert isinstance(reader, VerifyingReader)
        assert reader.read() == BLOB
        assert reader.verified


def test_open_blob_detects_corruption(make_client) -> None:
    corrupt = BLOB[:-1] + b"!"
    client, _ = make_client(Routes({
        ("GET", f"/v2/team/app/blobs/{BLOB_DIGEST}"): lambda r: httpx.Response(
            200, content=corrupt),
    }))
    source = RegistryImageSource(client, "team/app", "v1")
    descriptor = Descriptor("application/octet-stream", BLOB_DIGEST, len(BLOB))
    with source.open_blob(descriptor) as reader, pytest.raises(DigestMismatch) as info:
        while reader.read(4096):
            pass
    assert not reader.verified
    assert f"{BLOB_DIGEST} of {HOST}/team/app" in str(info.value)


def test_open_blob_detects_a_short_blob(make_client) -> None:
    client, _ = make_client(Routes({
        ("GET", f"/v2/team/app/blobs/{BLOB_DIGEST}"): lambda r: httpx.Response(
            200, content=BLOB[:-10]),
    }))
    source = RegistryImageSource(client, "team/app", "v1")
    descriptor = Descriptor("application/octet-stream", BLOB_DIGEST, len(BLOB))
    with source.open_blob(descriptor) as reader, pytest.raises(SizeMismatch):
        reader.read()
