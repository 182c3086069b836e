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


# --------------------------------------------------------------------------- a tag not found

NOT_FOUND = f"Reading the manifest {HOST}/team/app:2.0 failed: "


def _missing(make_client, tags_answer, reference: str = "2.0"):
    """What reading ``team/app:REFERENCE`` (which the registry has not) raises, and the
    requests for the repository's tags it made."""
    from spyglass.core.errors import ImageNotFound
    from tests.unit.core.transports.registry.fakes import registry_error

    routes = {("GET", f"{M}/{reference}"): lambda r: registry_error(
        404, "MANIFEST_UNKNOWN", "manifest unknown")}
    if tags_answer is not None:
        routes[("GET", "/v2/team/app/tags/list")] = tags_answer
    client, seen = make_client(Routes(routes))
    with pytest.raises(ImageNotFound) as info:
        RegistryImageSource(client, "team/app", reference).get_manifest()
    return str(info.value), seen.to("/v2/team/app/tags/list")


def test_a_tag_not_found_names_the_tags_the_repository_has(make_client) -> None:
    """The registry answers MANIFEST_UNKNOWN for a mistyped tag and a mistyped repository
    alike: one request for the tags says which, and what there is (natural order)."""
    from tests.unit.core.transports.registry.fakes import tags_page

    said, asked = _missing(make_client, tags_page("team/app", ["old", "1.10", "1.9", "1.0"]))
    assert said == (NOT_FOUND + f'the repository {HOST}/team/app has no tag "2.0"; its tags '
                    "are 1.0, 1.9, 1.10 and old.")
    assert len(asked) == 1 and asked[0].url.params["n"] == "1000"  # the first page only
    said, _ = _missing(make_client, tags_page("team/app", ["1.0"]))
    assert said.endswith('has no tag "2.0"; its only tag is 1.0.')
    many = [f"v{n}" for n in range(14, 0, -1)]
    said, _ = _missing(make_client, tags_page("team/app", many))
    assert said.endswith("its tags are v1, v2, v3, v4, v5, v6, v7, v8, v9, v10 and 4 more.")
    said, asked = _missing(make_client, tags_page(
        "team/app", many, link='</v2/team/app/tags/list?n=1000&last=v1>; rel="next"'))
    assert said.endswith("its tags include v1, v2, v3, v4, v5, v6, v7, v8, v9, v10 and more.")
    assert len(asked) == 1  # the next page is not asked for


@pytest.mark.parametrize("answer", ["NAME_UNKNOWN", "empty"])
def test_a_repository_not_found_is_said_to_be_missing(make_client, answer: str) -> None:
    from tests.unit.core.transports.registry.fakes import registry_error, tags_page

    said, _ = _missing(make_client, tags_page("team/app", []) if answer == "empty" else (
        lambda r: registry_error(404, "NAME_UNKNOWN", "repository name not known")))
    assert said == (NOT_FOUND + f"the registry {HOST} has no repository team/app, or it has "
                    "no tags (some registries answer the same for both).")


def test_what_the_tags_cannot_tell_leaves_the_registrys_sentence(make_client) -> None:
    """A tag listing that fails is asked once (no retries) and changes nothing; nor does
    one that lists the tag; a digest is not a tag, and no tags are asked for."""
    from tests.unit.core.transports.registry.fakes import tags_page

    plain = NOT_FOUND + f"the registry {HOST} has no such image."
    said, asked = _missing(make_client, lambda r: httpx.Response(500))
    assert said == plain and len(asked) == 1
    said, asked = _missing(make_client, lambda r: httpx.Response(401))  # (no challenge)
    assert said == plain
    said, _ = _missing(make_client, tags_page("team/app", ["1.0", "2.0"]))
    assert said == plain
    digest = str(Digest.of(b"gone"))
    said, asked = _missing(make_client, None, reference=digest)
    assert said == (f"Reading the manifest {HOST}/team/app@{digest} failed: the registry "
                    f"{HOST} has no such image.") and asked == []


def test_a_mirror_tried_first_is_not_asked_for_its_tags(make_client) -> None:
    """registries.conf's mirrors are asked before the registry itself: one that lacks
    the image is summed up and the next asked, not asked for its tags too."""
    from spyglass.core.retry import CONNECT_ONCE

    token = CONNECT_ONCE.set(True)
    try:
        said, asked = _missing(make_client, None)
    finally:
        CONNECT_ONCE.reset(token)
    assert said == NOT_FOUND + f"the registry {HOST} has no such image." and asked == []
