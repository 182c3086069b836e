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


def _gzipped_tar(files: dict[str, bytes]) -> bytes:
    import gzip
    import io
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(out.getvalue(), mtime=0)


def test_a_schema1_image_from_a_registry_is_planned_as_schema2(make_client) -> None:
    """A registry serving schema 1 (the test registry refuses to store it): its layers
    are read without a size to check (schema 1 states none), verified by digest."""
    import hashlib
    import zlib

    from spyglass.core.copy import plan_copy
    from tests.unit.core.test_copy import MemoryDestination

    base, empty = _gzipped_tar({"etc/os": b"legacy\n"}), _gzipped_tar({})
    a, b = "a" * 64, "b" * 64
    top = {"id": b, "parent": a, "created": "2016-01-01T00:00:01Z", "throwaway": True,
           "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) CMD [\"sh\"]"]},
           "config": {"Cmd": ["sh"]}, "architecture": "amd64", "os": "linux"}
    history = [  # top first, as schema 1 lists them; the top step twice (a docker bug)
        top, top,
        {"id": a, "created": "2016-01-01T00:00:00.500Z",
         "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) ADD file in /"]}},
    ]
    manifest = json.dumps({
        "schemaVersion": 1, "name": "team/app", "tag": "old", "architecture": "amd64",
        "fsLayers": [{"blobSum": str(Digest.of(empty))}, {"blobSum": str(Digest.of(empty))},
                     {"blobSum": str(Digest.of(base))}],
        "history": [{"v1Compatibility": json.dumps(h)} for h in history],
    }).encode()
    client, _seen = make_client(Routes({
        ("GET", f"{M}/old"): serve(manifest, media.DOCKER_V2S1),
        ("GET", f"/v2/team/app/blobs/{Digest.of(base)}"):
            lambda r: httpx.Response(200, content=base),
        ("GET", f"/v2/team/app/referrers/{Digest.of(manifest)}"):
            lambda r: httpx.Response(404),
        ("GET", "/v2/team/app/tags/list"):
            lambda r: httpx.Response(200, json={"name": "team/app", "tags": ["old"]}),
    }))
    source = RegistryImageSource(client, "team/app", "old")
    plan = plan_copy(source, MemoryDestination())
    [instance] = plan.instances
    assert [t.source.digest for t in instance.layers] == [Digest.of(base)]
    assert instance.layers[0].source.size == len(base)
    config = json.loads(instance.config.data or b"")
    plain = zlib.decompress(base, 16 + zlib.MAX_WBITS)
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(plain).hexdigest()]
    assert [h.get("empty_layer", False) for h in config["history"]] == [False, True]
    assert config["history"][0]["created"] == "2016-01-01T00:00:00.5Z"  # as Go writes it
    assert config["config"] == {"Cmd": ["sh"]} and "id" not in config
    assert list(config) == sorted(config)
    assert any("schema 1" in note for note in plan.notes)
