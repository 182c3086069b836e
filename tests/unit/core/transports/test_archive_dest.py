"""Writing archives: ``OCIArchiveDestination`` and ``DockerArchiveDestination``.

A docker-archive is checked member by member against the one skopeo writes
for the same image (they agree byte for byte), and read back with our read
side (``open_docker_archive_image``) and skopeo. Neither kind may leave
anything at the final name when the copy fails.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from spyglass.core import compression, media
from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    BlobNotFound,
    Cancelled,
    DigestMismatch,
    ImageNotFound,
    InvalidLayout,
    InvalidReference,
    SpyglassError,
    TemporarySpaceFailed,
    TransportError,
    Unsupported,
)
from spyglass.core.manifest import (
    Descriptor,
    ImageIndex,
    ImageManifest,
    child_descriptors,
    parse_manifest,
)
from spyglass.core.reference import parse_docker_reference
from spyglass.core.transports import (
    archive_output,
    docker_archive_write,
    open_destination,
    open_source,
)
from spyglass.core.transports.archive import open_docker_archive_image, open_oci_archive_image
from spyglass.core.transports.archive_write import OCIArchiveDestination
from spyglass.core.transports.base import ImageDestination, ImageSource
from spyglass.core.transports.docker_archive_write import DockerArchiveDestination
from tests.helpers import require_tool
from tests.helpers.cosign import cosign_saved_layout
from tests.helpers.imagebuild import dump_json, multi_platform_layout
from tests.unit.core.transports.test_layout_dest import (
    ChunkStream,
    _copy_manifest,
    copy_image,
    leftovers,
    run,
    single_image_layout,
)


@pytest.fixture(scope="module")
def multi_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("src") / "multi"
    multi_platform_layout(root)
    return root


@pytest.fixture(scope="module")
def single_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("src") / "single"
    single_image_layout(root)
    single_image_layout(root, ref="other", marker=b"v2\n")
    return root


def members(path: Path) -> list[tuple[Any, ...]]:
    """Every member's name, type, mode, mtime, owner, link target and content."""
    with tarfile.open(path) as tar:
        return [
            (
                info.name, info.type, info.mode, info.mtime, info.uid, info.gid, info.linkname,
                tar.extractfile(info).read() if info.isreg() else None,  # type: ignore[union-attr]
            )
            for info in tar
        ]


def tar_json(archive: Path | bytes, name: str) -> Any:
    """The parsed JSON of one member of a tar (a path, or the bytes of the whole tar)."""
    fileobj = io.BytesIO(archive) if isinstance(archive, bytes) else None
    with tarfile.open(archive if isinstance(archive, Path) else None, fileobj=fileobj) as tar:
        member = tar.extractfile(name)
        assert member is not None
        return json.loads(member.read())


def to_docker_archive(
    source: ImageSource, dest: ImageDestination, *, cancel: CancelToken | None = None
) -> tuple[Descriptor, list[Digest]]:
    """Copy a single image as the engine does for docker-archive: layers decompressed, v2s2.

    Returns the new manifest's descriptor and the (uncompressed) layer digests.
    """
    manifest = parse_manifest(*source.get_manifest())
    assert isinstance(manifest, ImageManifest)
    layers = []
    for layer in manifest.layers:
        with source.open_blob(layer) as stream:
            plain = compression.open_decompressed(stream)
            layers.append(
                dest.put_blob(plain, media_type=media.DOCKER_LAYER, digest=None, size=None)
            )
    with source.open_blob(manifest.config) as stream:
        config = dest.put_blob(
            stream,
            media_type=media.DOCKER_CONFIG,
            digest=manifest.config.digest,
            size=manifest.config.size,
        )
    raw = dump_json(
        {
            "schemaVersion": 2,
            "mediaType": media.DOCKER_V2S2,
            "config": config.to_json(),
            "layers": [layer.to_json() for layer in layers],
        }
    )
    top = Descriptor(media.DOCKER_V2S2, Digest.of(raw), len(raw))
    dest.put_manifest(raw, media.DOCKER_V2S2, top.digest)
    dest.commit(top, raw, cancel=cancel)
    return top, [layer.digest for layer in layers]


# --------------------------------------------------------------------------- oci-archive


def test_oci_archive_of_a_list(multi_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "image.tar"
    source = open_source(f"oci:{multi_source}:latest")
    dest = open_destination(f"oci-archive:{out}:v1")
    assert isinstance(dest, OCIArchiveDestination) and isinstance(dest, ImageDestination)
    assert dest.description == f"oci-archive:{out}:v1"
    assert dest.accepts_lists is True
    assert dest.supported_manifest_types == (media.OCI_MANIFEST, media.OCI_INDEX)
    top = copy_image(source, dest)
    dest.close()
    assert leftovers(tmp_path) == []

    names = [member[0] for member in members(out)]
    assert names[:2] == ["blobs", "blobs/sha256"]
    assert names[-2:] == ["index.json", "oci-layout"]
    assert all(member[3] == 0 and member[4] == 0 for member in members(out))

    back = open_oci_archive_image(out, "v1")
    try:
        assert back.get_manifest()[0] == source.get_manifest()[0]
        index = parse_manifest(*back.get_manifest())
        assert isinstance(index, ImageIndex)
        for child in index.manifests:
            raw, _ = back.get_manifest(str(child.digest))
            for blob in child_descriptors(parse_manifest(raw, child.media_type)):
                with back.open_blob(blob) as stream:
                    stream.readall()
                    assert stream.verified
    finally:
        back.close()

    skopeo = require_tool("skopeo")
    assert json.loads(run(skopeo, "inspect", "--raw", f"oci-archive:{out}:v1")) == json.loads(
        source.get_manifest()[0]
    )
    assert Digest.of(run(skopeo, "inspect", "--raw", f"oci-archive:{out}:v1").encode()) == (
        top.digest
    )


def staged_archive(layout: Path, ref: str, out: Path
                   ) -> tuple[OCIArchiveDestination, Descriptor, bytes]:
    """An OCI archive destination at ``out`` holding the layout's image ``ref``, all but
    committed: (the destination, the descriptor to commit, its manifest)."""
    source = open_source(f"oci:{layout}:{ref}")
    dest = OCIArchiveDestination(out, "app")
    raw, media_type = source.get_manifest()
    return dest, _copy_manifest(source, dest, raw, media_type), raw


def test_oci_archive_failure_leaves_nothing_and_a_retry_works(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "image.tar"
    dest = OCIArchiveDestination(out, "app")
    with pytest.raises(DigestMismatch):
        dest.put_blob(
            ChunkStream([b"bad"]), media_type="x", digest=Digest.of(b"good"), size=3
        )
    dest.abort()
    assert not out.exists() and leftovers(tmp_path) == []

    copy_image(open_source(f"oci:{single_source}:app"), OCIArchiveDestination(out, "app"))
    assert out.is_file() and leftovers(tmp_path) == []


def test_oci_archive_replaces_an_old_file_only_at_commit(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "image.tar"
    copy_image(open_source(f"oci:{single_source}:app"), OCIArchiveDestination(out, "app"))
    old = out.read_bytes()
    dest, top, raw = staged_archive(single_source, "other", out)
    assert out.read_bytes() == old
    dest.commit(top, raw)
    assert out.read_bytes() != old
    reread = open_oci_archive_image(out, "app")
    assert reread.get_manifest()[0] == raw
    reread.close()


def test_cancelling_while_the_tar_is_written_leaves_nothing(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "image.tar"
    dest, top, raw = staged_archive(single_source, "app", out)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        dest.commit(top, raw, cancel=token)
    dest.abort()
    assert not out.exists() and leftovers(tmp_path) == []


def test_a_position_cannot_be_written(tmp_path: Path) -> None:
    with pytest.raises(InvalidReference, match="only works for reading"):
        open_destination(f"oci-archive:{tmp_path}/x.tar:@1")
    with pytest.raises(InvalidReference, match="only works for reading"):
        open_destination(f"docker-archive:{tmp_path}/x.tar:@1")


def test_a_folder_is_not_an_archive(tmp_path: Path) -> None:
    with pytest.raises(InvalidLayout, match=f"write the folder as oci:{tmp_path}"):
        OCIArchiveDestination(tmp_path, None)
    with pytest.raises(InvalidLayout, match="is a folder"):
        DockerArchiveDestination(tmp_path, None)


@pytest.mark.parametrize("transport", ["oci-archive", "docker-archive"])
@pytest.mark.parametrize("content", ["text", "tar", "web site", "extension"])
def test_a_file_that_is_not_an_image_archive_is_not_replaced(
    tmp_path: Path, transport: str, content: str
) -> None:
    """A mistyped name must not cost the file there: only an image archive (or an empty
    file) is replaced — not a backup that merely has an index.json or a manifest.json."""
    out = tmp_path / "precious.tar"
    members = {
        "tar": {"home/notes.txt": b"backup"},
        "web site": {"index.json": b'{"pages": []}', "index.html": b"<html></html>"},
        "extension": {"manifest.json": b'{"manifest_version": 3, "name": "x"}'},
    }
    if content == "text":
        out.write_text("important notes\n")
    else:
        with tarfile.open(out, "w:gz" if content == "web site" else "w") as tar:
            for name, data in members[content].items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    before = out.read_bytes()
    with pytest.raises(InvalidLayout, match="is not an image archive"):
        open_destination(f"{transport}:{out}")
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["precious.tar"]


def _tar_of(path: Path, members: dict[str, bytes]) -> bytes:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path.read_bytes()


def _index(*names: str | None, referrer: bool = False) -> bytes:
    entries: list[dict[str, Any]] = [
        {"mediaType": media.OCI_MANIFEST, "digest": f"sha256:{n:064x}", "size": 2,
         **({"annotations": {"org.opencontainers.image.ref.name": name}} if name else {})}
        for n, name in enumerate(names)
    ]
    if referrer:
        entries.append({"mediaType": media.OCI_MANIFEST, "digest": "sha256:" + "e" * 64,
                        "size": 2, "subject": {"mediaType": media.OCI_MANIFEST,
                                               "digest": "sha256:" + "0" * 64, "size": 2}})
    return dump_json({"schemaVersion": 2, "manifests": entries})


@pytest.mark.parametrize("transport", ["oci-archive", "docker-archive"])
@pytest.mark.parametrize("kind", ["docker save", "oci layout"])
def test_an_archive_of_several_images_is_not_replaced(
    tmp_path: Path, transport: str, kind: str
) -> None:
    """An archive is written whole: one that holds other images too would lose them, so
    it is refused, naming them (skopeo refuses every existing docker-archive)."""
    out = tmp_path / "several.tar"
    if kind == "docker save":
        saved = [{"Config": "a.json", "RepoTags": ["team/a:1"], "Layers": []},
                 {"Config": "b.json", "RepoTags": [], "Layers": []}]
        before = _tar_of(out, {"manifest.json": dump_json(saved)})
        names = "(team/a:1, @1)"
    else:
        before = _tar_of(out, {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
                               "index.json": _index("v1", "v2", "sha256-" + "a" * 64 + ".sig")})
        names = "(v1, v2)"
    with pytest.raises(InvalidLayout, match=r"already holds 2 images \(.*\); .* would lose "
                       "them") as refused:
        open_destination(f"{transport}:{out}:x/y:1" if transport == "docker-archive"
                         else f"{transport}:{out}:v1")
    assert names in str(refused.value)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["several.tar"]


@pytest.mark.parametrize("transport", ["oci-archive", "docker-archive"])
@pytest.mark.parametrize("kind", ["docker save", "oci layout"])
def test_an_archive_of_one_image_under_several_names_is_one_image(
    tmp_path: Path, transport: str, kind: str
) -> None:
    """Names are not images: one image tagged thrice is replaced (the plan says so), and
    where several images refuse the copy, each is named with its other names."""
    out = tmp_path / "one.tar"
    if kind == "docker save":
        _tar_of(out, {"manifest.json": dump_json([
            {"Config": "a.json", "RepoTags": ["team/a:1", "team/a:latest"], "Layers": []}])})
    else:
        raw = json.loads(_index("v1"))
        entry = raw["manifests"][0]
        raw["manifests"] = [{**entry, "annotations": {
            "org.opencontainers.image.ref.name": name}} for name in ("v1", "v1.0", "latest")]
        _tar_of(out, {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
                      "index.json": dump_json(raw)})
    destination = open_destination(f"{transport}:{out}:x/y:1" if transport == "docker-archive"
                                   else f"{transport}:{out}:v1")
    try:
        assert destination.replaces is not None
    finally:
        destination.abort()
    several = tmp_path / "several.tar"
    _tar_of(several, {"manifest.json": dump_json([
        {"Config": "a.json", "RepoTags": ["team/a:1", "team/a:latest"], "Layers": []},
        {"Config": "b.json", "RepoTags": ["team/b:1"], "Layers": []}])})
    with pytest.raises(InvalidLayout, match=r"already holds 2 images \(team/a:1 \(also "
                       r"team/a:latest\), team/b:1\)"):
        open_destination(f"{transport}:{several}:x/y:1" if transport == "docker-archive"
                         else f"{transport}:{several}:v1")


@pytest.mark.parametrize("packer", ["gzip", "zstd"])
def test_a_compressed_archive_of_several_images_is_not_replaced(
    tmp_path: Path, packer: str
) -> None:
    """What a compressed archive holds is looked at too (Python's tarfile reads gzip,
    not zstd): one of several images is refused, one of one image replaced."""
    import gzip

    import zstandard

    def packed(name: str, members: dict[str, bytes]) -> Path:
        plain = _tar_of(tmp_path / f"{name}.plain", members)
        path = tmp_path / name
        path.write_bytes(gzip.compress(plain) if packer == "gzip"
                         else zstandard.ZstdCompressor().compress(plain))
        return path

    several = packed("several.tar", {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
                                     "index.json": _index("v1", "v2")})
    before = several.read_bytes()
    with pytest.raises(InvalidLayout, match=r"already holds 2 images \(v1, v2\)"):
        open_destination(f"oci-archive:{several}:v1")
    assert several.read_bytes() == before
    one = packed("one.tar", {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
                             "index.json": _index("v1")})
    destination = open_destination(f"oci-archive:{one}:v1")
    try:
        assert destination.replaces is not None  # ReplacingDestination: said in the plan
    finally:
        destination.abort()
        destination.close()


def test_an_archive_of_one_image_with_its_signatures_is_replaced(tmp_path: Path) -> None:
    """cosign's tags and referrers go with the image: one image is still one image."""
    out = tmp_path / "one.tar"
    _tar_of(out, {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
                  "index.json": _index("v1", "sha256-" + "a" * 64 + ".sig", referrer=True)})
    destination = open_destination(f"oci-archive:{out}:v1")
    try:
        assert isinstance(destination, OCIArchiveDestination)
        assert destination.replaces is not None
    finally:
        destination.abort()


def test_an_archive_of_a_cosign_save_layout_is_one_image(tmp_path: Path) -> None:
    """What cosign save wrote, tarred: its unnamed signature and attestation entries
    (annotated ``kind``) go with the image saved, so the archive holds one image; a second
    image beside them is counted."""
    saved = tmp_path / "saved"
    cosign_saved_layout(saved)
    members = {name: (saved / name).read_bytes() for name in ("oci-layout", "index.json")}
    out = tmp_path / "one.tar"
    _tar_of(out, members)
    destination = open_destination(f"oci-archive:{out}:v1")
    try:
        assert destination.replaces is not None
    finally:
        destination.abort()
    index = json.loads(members["index.json"])
    index["manifests"].append({**index["manifests"][0], "annotations": {
        "org.opencontainers.image.ref.name": "other"}, "digest": "sha256:" + "b" * 64})
    _tar_of(out, {**members, "index.json": dump_json(index)})
    with pytest.raises(InvalidLayout, match=r"already holds 2 images \(@0, other\)"):
        open_destination(f"oci-archive:{out}:v1")


def test_an_unreadable_file_is_named_as_such(unprivileged_dir: Path) -> None:
    out = unprivileged_dir / "locked.tar"
    out.write_text("x")
    out.chmod(0)
    with pytest.raises(TransportError, match="Permission denied"):
        open_destination(f"docker-archive:{out}")


def test_an_empty_file_may_be_written(single_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "new.tar"
    out.touch()
    to_docker_archive(open_source(f"oci:{single_source}:app"), DockerArchiveDestination(out))
    assert tarfile.is_tarfile(out)


def test_a_missing_parent_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidLayout, match="does not exist; create it first"):
        OCIArchiveDestination(tmp_path / "missing" / "x.tar", None)


# --------------------------------------------------------------------------- docker-archive


def test_docker_archive_reads_back_with_the_same_layers(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "image.tar"
    source = open_source(f"oci:{single_source}:app")
    dest = open_destination(f"docker-archive:{out}:example.com/team/app:1.0")
    assert isinstance(dest, DockerArchiveDestination)
    assert dest.supported_manifest_types == (media.DOCKER_V2S2,)
    assert dest.accepts_lists is False
    assert dest.desired_layer_compression == "none"
    _, layer_digests = to_docker_archive(source, dest)
    dest.close()
    assert leftovers(tmp_path) == []

    manifest_json = tar_json(out, "manifest.json")
    config = parse_manifest(*source.get_manifest())
    assert isinstance(config, ImageManifest)
    assert manifest_json == [
        {
            "Config": f"{config.config.digest.hex}.json",
            "RepoTags": ["example.com/team/app:1.0"],
            "Layers": [f"{digest.hex}.tar" for digest in layer_digests],
        }
    ]

    back = open_docker_archive_image(out, "example.com/team/app:1.0")
    try:
        raw, _ = back.get_manifest()
        manifest = parse_manifest(raw)
        assert isinstance(manifest, ImageManifest)
        assert [layer.digest for layer in manifest.layers] == layer_digests
        assert manifest.config.digest == config.config.digest
        # a docker-archive stores no manifest: readers synthesize one (media types differ)
        read_digest = manifest.digest
        for blob in child_descriptors(manifest):
            with back.open_blob(blob) as stream:
                stream.readall()
                assert stream.verified
    finally:
        back.close()

    skopeo = require_tool("skopeo")
    inspected = json.loads(run(skopeo, "inspect", f"docker-archive:{out}"))
    assert inspected["Layers"] == [str(digest) for digest in layer_digests]
    assert inspected["Digest"] == str(read_digest)
    run(skopeo, "copy", "-q", f"docker-archive:{out}", f"oci:{tmp_path / 'copied'}:x")
    assert json.loads(
        run(skopeo, "inspect", "--config", "--raw", f"oci:{tmp_path / 'copied'}:x")
    )["rootfs"]["diff_ids"] == [str(digest) for digest in layer_digests]


def test_docker_archive_is_what_skopeo_writes(single_source: Path, tmp_path: Path) -> None:
    skopeo = require_tool("skopeo")
    ours = tmp_path / "ours.tar"
    theirs = tmp_path / "theirs.tar"
    run(skopeo, "copy", "-q", f"oci:{single_source}:app", f"docker-archive:{theirs}:busybox:x")
    reference = parse_docker_reference("busybox:x")
    to_docker_archive(
        open_source(f"oci:{single_source}:app"), DockerArchiveDestination(ours, reference)
    )
    assert members(ours) == members(theirs)


def test_docker_archive_without_a_name(single_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "image.tar"
    to_docker_archive(open_source(f"oci:{single_source}:app"), DockerArchiveDestination(out))
    assert tar_json(out, "manifest.json")[0]["RepoTags"] == []
    assert tar_json(out, "repositories") == {}


def test_docker_archive_refuses_lists_and_oci_manifests(tmp_path: Path) -> None:
    dest = DockerArchiveDestination(tmp_path / "x.tar")
    raw = b"{}"
    with pytest.raises(Unsupported, match="holds single images"):
        dest.put_manifest(raw, media.OCI_INDEX, Digest.of(raw))
    with pytest.raises(Unsupported, match="Docker schema 2 manifests only"):
        dest.put_manifest(raw, media.OCI_MANIFEST, Digest.of(raw))
    dest.abort()
    assert leftovers(tmp_path) == [] and os.listdir(tmp_path) == []


def test_docker_archive_with_a_missing_blob_writes_nothing(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "image.tar"
    config = b'{"rootfs":{"type":"layers","diff_ids":[]}}'
    dest = DockerArchiveDestination(out)
    dest.put_blob(io.BytesIO(config), media_type=media.DOCKER_CONFIG, digest=None, size=None)
    missing = Digest.of(b"never put")
    raw = dump_json(
        {
            "schemaVersion": 2,
            "mediaType": media.DOCKER_V2S2,
            "config": {
                "mediaType": media.DOCKER_CONFIG,
                "digest": str(Digest.of(config)),
                "size": len(config),
            },
            "layers": [{"mediaType": media.DOCKER_LAYER, "digest": str(missing), "size": 9}],
        }
    )
    with pytest.raises(BlobNotFound, match=f"{missing}.*never stored"):
        dest.commit(Descriptor(media.DOCKER_V2S2, Digest.of(raw), len(raw)), raw)
    dest.close()
    assert not out.exists() and leftovers(tmp_path) == []


def test_docker_archive_failure_leaves_nothing_and_a_retry_works(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "image.tar"
    source = open_source(f"oci:{single_source}:app")
    token = CancelToken()
    dest = DockerArchiveDestination(out)
    with pytest.raises(Cancelled):
        dest.put_blob(
            ChunkStream([b"a", b"b"], lambda i: token.cancel()),
            media_type="x", digest=None, size=None, cancel=token,
        )
    dest.abort()
    assert not out.exists() and leftovers(tmp_path) == []
    to_docker_archive(source, DockerArchiveDestination(out))
    assert out.is_file() and leftovers(tmp_path) == []


def test_docker_archive_replaces_an_old_file_only_at_commit(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "image.tar"
    to_docker_archive(open_source(f"oci:{single_source}:app"), DockerArchiveDestination(out))
    old = out.read_bytes()
    out.chmod(0o600)

    class CheckingDestination(DockerArchiveDestination):
        def commit(self, top: Descriptor, raw: bytes, *, cancel: Any = None) -> None:
            assert out.read_bytes() == old  # everything is staged beside it
            super().commit(top, raw, cancel=cancel)

    to_docker_archive(open_source(f"oci:{single_source}:other"), CheckingDestination(out))
    assert out.read_bytes() != old
    assert out.stat().st_mode & 0o777 == 0o600  # the file keeps its mode


def test_a_fifo_gets_the_tar_streamed(single_source: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = bytearray()

    def drain() -> None:
        with fifo.open("rb") as stream:
            while chunk := stream.read(65536):
                received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        _, layer_digests = to_docker_archive(
            open_source(f"oci:{single_source}:app"), DockerArchiveDestination(fifo)
        )
    finally:
        reader.join(30)
    assert fifo.exists() and not fifo.is_file()  # still the FIFO, nothing renamed over it
    layers = tar_json(bytes(received), "manifest.json")[0]["Layers"]
    assert layers == [f"{digest.hex}.tar" for digest in layer_digests]
    assert leftovers(tmp_path) == []


def test_a_fifo_no_program_reads_yet_is_said_to_be_waited_for(
    single_source: Path, tmp_path: Path
) -> None:
    """``mkfifo f; spyglass copy … docker-archive:f`` waited after "Writing manifest" in
    silence (opening a FIFO for writing waits for a reader): the wait is an event, and
    ends when a program opens the pipe."""
    from spyglass.core.copy import CopyEvent, DestinationWaiting, copy_image

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = bytearray()
    waits: list[str | None] = []

    def drain() -> None:
        with fifo.open("rb") as stream:
            while chunk := stream.read(65536):
                received.extend(chunk)

    reader = threading.Thread(target=drain)

    def events(event: CopyEvent) -> None:
        if isinstance(event, DestinationWaiting):
            waits.append(event.what)
            if event.what is not None:
                reader.start()  # only now does a program come to read it

    try:
        copy_image(open_source(f"oci:{single_source}:app"),
                   open_destination(f"docker-archive:{fifo}:app:1"), events=events)
    finally:
        if reader.is_alive():
            reader.join(30)
    assert waits == [f'a program to read the pipe "{fifo}"', None]
    assert tar_json(bytes(received), "manifest.json")[0]["RepoTags"] == ["docker.io/library/app:1"]
    assert leftovers(tmp_path) == []


def test_a_wait_for_a_pipes_reader_ends_at_cancel(single_source: Path, tmp_path: Path) -> None:
    """A window's Cancel reaches a copy waiting for a program to read its pipe."""
    from spyglass.core.copy import CopyEvent, DestinationWaiting, copy_image

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    cancel = CancelToken()
    waits: list[str | None] = []

    def events(event: CopyEvent) -> None:
        if isinstance(event, DestinationWaiting):
            waits.append(event.what)
            threading.Timer(0.2, cancel.cancel).start()

    failed: list[BaseException] = []

    def run() -> None:
        try:
            copy_image(open_source(f"oci:{single_source}:app"),
                       open_destination(f"docker-archive:{fifo}:app:1"), events=events,
                       cancel=cancel)
        except BaseException as exc:  # handed to the test
            failed.append(exc)

    copying = threading.Thread(target=run, daemon=True)
    copying.start()
    copying.join(20)
    if copying.is_alive():
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # lets a stuck open() go
        pytest.fail("the copy waited for a reader past its cancel")
    assert len(failed) == 1 and isinstance(failed[0], Cancelled), failed
    assert waits == [f'a program to read the pipe "{fifo}"', None]
    assert fifo.exists() and not fifo.is_file()
    assert leftovers(tmp_path) == []


def test_a_pipe_is_written_through_the_big_files_folder(
    single_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole tar is made first where big temporary files go ($TMPDIR, else
    /var/tmp; not /tmp, often held in memory), as a compressed archive read is, in a
    visible folder named for what it is; a $TMPDIR that is not there is said as such."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "no-such-folder"))
    with pytest.raises(InvalidLayout) as caught:
        DockerArchiveDestination(fifo)
    said = (f'The folder for big temporary files, "{tmp_path}/no-such-folder" ($TMPDIR or '
            f'--tmpdir, else /var/tmp), where an archive written to "{fifo}" is made first, '
            "does not exist; create it, or ")
    assert caught.value.on_command_line == (
        f"{said}choose another folder for them (TMPDIR, or --tmpdir on the command line) "
        "that does.")
    assert str(caught.value) == (  # the window's: its $TMPDIR is the one it started with
        f"{said}quit Spyglass and start it again with TMPDIR set to a folder that exists.")
    monkeypatch.setenv("TMPDIR", str(fifo))  # there, but no folder
    with pytest.raises(InvalidLayout, match="is made first, is not a folder; create it"):
        DockerArchiveDestination(fifo)
    big = tmp_path / "big"
    big.mkdir()
    monkeypatch.setenv("TMPDIR", str(big))
    destination = DockerArchiveDestination(fifo)
    try:
        assert [p.name.startswith("spyglass-piped-archive-") for p in big.iterdir()] == [True]
    finally:
        destination.abort()
    assert list(big.iterdir()) == []


RESTART = "quit Spyglass and start it again with TMPDIR set to a folder"
"""The window's advice: a running Spyglass keeps the $TMPDIR it started with."""


@pytest.mark.parametrize("kind", ["oci", "docker"])
def test_a_pipes_archive_that_its_folder_cannot_hold_names_that_folder(
    single_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Not the pipe, nor a folder of the copy's own: $TMPDIR, full or not writable."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    big = tmp_path / "big"
    big.mkdir()
    monkeypatch.setenv("TMPDIR", str(big))
    where = (f'the folder for big temporary files "{big}" ($TMPDIR or --tmpdir, else '
             f'/var/tmp), where an archive written to "{fifo}" is made first')
    choose = "choose another folder for them (TMPDIR, or --tmpdir on the command line)"

    def refused(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    with monkeypatch.context() as patched:
        patched.setattr(archive_output, "TempFolder", refused)
        with pytest.raises(TemporarySpaceFailed) as caught:
            DockerArchiveDestination(fifo) if kind == "docker" else OCIArchiveDestination(fifo)
    assert caught.value.on_command_line == (
        f"Spyglass cannot write in {where} (Read-only file system); {choose} it can write to.")
    assert str(caught.value) == (f"Spyglass cannot write in {where} (Read-only file system); "
                                 f"{RESTART} Spyglass can write to.")

    def full(*_args: object, **_kwargs: object) -> None:
        error = OSError(errno.ENOSPC, "No space left on device")
        raise TransportError(f'Cannot write "{big}/spyglass-piped-archive-x": ...') from error

    destination = (DockerArchiveDestination(fifo) if kind == "docker"
                   else OCIArchiveDestination(fifo))
    try:
        if kind == "docker":
            monkeypatch.setattr(docker_archive_write, "put_blob_file", full)
        else:
            monkeypatch.setattr(destination._layout, "put_blob", full)  # type: ignore[attr-defined]
        with pytest.raises(TemporarySpaceFailed) as caught:
            destination.put_blob(ChunkStream([b"x"]), media_type="x", digest=Digest.of(b"x"),
                                 size=1)
    finally:
        destination.abort()
    assert caught.value.on_command_line == (
        f"There is no room in {where} (No space left on device); free some space there, or "
        f"{choose} with more room.")
    assert str(caught.value) == (f"There is no room in {where} (No space left on device); free "
                                 f"some space there, or {RESTART} with more room.")
    assert list(big.iterdir()) == []


def test_a_pipes_archive_without_inodes_in_its_folder_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(archive_output, "out_of_inodes", lambda _path: True)
    destination = OCIArchiveDestination(fifo)

    def full(*_args: object, **_kwargs: object) -> None:
        raise TransportError("x") from OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(destination._layout, "put_blob", full)  # type: ignore[attr-defined]
    try:
        with pytest.raises(TemporarySpaceFailed, match=r"There are no file entries \(inodes\) "
                           "left in the folder for big temporary files"):
            destination.put_blob(ChunkStream([b"x"]), media_type="x", digest=Digest.of(b"x"),
                                 size=1)
    finally:
        destination.abort()


def test_an_archive_short_of_room_says_what_putting_it_together_needs(
    single_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # df shows room for the archive, yet the largest blob is in it and staged at once
    out = tmp_path / "image.tar"
    dest, top, raw = staged_archive(single_source, "app", out)

    def full(out: io.BufferedWriter, *_args: object) -> None:
        out.write(b"\0" * 8192)  # part of the archive written: not counted twice
        out.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(archive_output.ArchiveOutput, "_tar", staticmethod(full))
    with pytest.raises(TransportError) as caught:
        dest.commit(top, raw)
    dest.abort()
    said = str(caught.value)
    # df said there was room for each blob twice (so none moved): the disk filled meanwhile
    assert said == (f'Cannot write "{out}": No space left on device; an archive is put '
                    "together beside its final name, so it needs room there for all of it "
                    "(about 11.5 KiB)."), said
    assert not out.exists() and leftovers(tmp_path) == []


STDOUT_SCRIPT = """
import sys
from spyglass.core.transports import open_destination, open_source
from tests.unit.core.transports.test_archive_dest import to_docker_archive

to_docker_archive(open_source(sys.argv[1]), open_destination("docker-archive:/dev/stdout"))
"""


def test_dev_stdout_gets_the_tar_streamed(
    single_source: Path, tmp_path: Path, repo_root: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": f"{repo_root / 'app'}{os.pathsep}{repo_root}"}
    result = subprocess.run(
        [sys.executable, "-c", STDOUT_SCRIPT, f"oci:{single_source}:app"],
        capture_output=True, env=env, cwd=tmp_path, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    manifest_json = tar_json(result.stdout, "manifest.json")
    assert manifest_json[0]["RepoTags"] == [] and len(manifest_json[0]["Layers"]) == 2
    assert os.listdir(tmp_path) == []  # nothing staged in the working folder



@pytest.mark.parametrize("transport", ["oci-archive", "docker-archive"])
def test_a_staged_blob_goes_once_it_is_in_the_tar(
    multi_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    """The archive takes little more room than itself: each staged blob is removed as soon
    as the tar holds it, rather than the staging folder and the tar both holding all."""
    from spyglass.core.copy import CopyOptions, copy_image
    from spyglass.core.platform import Platform
    from spyglass.core.transports.archive_output import TarWriter

    staged_bytes: list[int] = []
    original = TarWriter.file

    def watching(self: Any, name: str, path: Path, *, consume: bool = False) -> None:
        staging = next(p for p in path.parents if ".spyglass-tmp-" in p.name)
        staged_bytes.append(sum(f.stat().st_size for f in staging.rglob("*") if f.is_file()))
        original(self, name, path, consume=consume)

    monkeypatch.setattr(TarWriter, "file", watching)
    out = tmp_path / "out.tar"
    copy_image(open_source(f"oci:{multi_source}:latest"),
               open_destination(f"{transport}:{out}"),
               CopyOptions(platforms=(Platform.parse("linux/amd64"),)))
    assert len(staged_bytes) >= 3
    assert staged_bytes == sorted(staged_bytes, reverse=True)
    assert staged_bytes[-1] < staged_bytes[0]
    assert leftovers(tmp_path) == [] and tarfile.is_tarfile(out)


def test_copying_a_signed_image_into_its_archive_again_replaces_it(tmp_path: Path) -> None:
    """What Spyglass itself writes: the image, its cosign tag, and its SBOM referrer
    (listed in index.json without a name): still one image, replaced by a second copy."""
    from spyglass.core.copy import copy_image
    from tests.helpers.cosign import signed_layout

    signed_layout(tmp_path / "src")
    out = tmp_path / "a.tar"
    for _ in range(2):
        copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
                   open_destination(f"oci-archive:{out}:v1"))
    with tarfile.open(out) as tar:
        member = tar.extractfile("index.json")
        assert member is not None
        entries = json.loads(member.read())["manifests"]
    assert len(entries) == 3  # the image, its .sig, the SBOM referrer


def test_a_compressed_archive_of_one_signed_image_is_one_image(tmp_path: Path) -> None:
    """Gzipped, the archive's referrer manifest (listed without a name) is still read to
    tell it from a second image."""
    import gzip

    from spyglass.core.copy import copy_image
    from tests.helpers.cosign import signed_layout

    signed_layout(tmp_path / "src")
    plain = tmp_path / "a.tar"
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
               open_destination(f"oci-archive:{plain}:v1"))
    packed = tmp_path / "a.tar.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    destination = open_destination(f"oci-archive:{packed}:v1")
    try:
        assert isinstance(destination, OCIArchiveDestination)
        assert destination.replaces is not None
    finally:
        destination.abort()


def test_an_archive_copied_onto_itself_keeps_its_names(single_source: Path,
                                                       tmp_path: Path) -> None:
    """The core's copy, as the window makes it: written without a name the archive would
    lose its image's names."""
    from spyglass.core.copy import copy_image

    archive = tmp_path / "app.tar"
    copy_image(open_source(f"oci:{single_source}:app"),
               open_destination(f"docker-archive:{archive}:team/app:1"))
    copy_image(open_source(f"docker-archive:{archive}"),
               open_destination(f"docker-archive:{archive}"))
    assert tar_json(archive.read_bytes(), "manifest.json")[0]["RepoTags"] == [
        "docker.io/team/app:1"]
    # into another archive, as skopeo writes it: no name unless one is given
    other = tmp_path / "other.tar"
    copy_image(open_source(f"docker-archive:{archive}"),
               open_destination(f"docker-archive:{other}"))
    assert tar_json(other.read_bytes(), "manifest.json")[0]["RepoTags"] == []


def test_an_archive_retagged_into_another_reports_the_digest_its_readers_see(
        single_source: Path, tmp_path: Path) -> None:
    """A docker-archive keeps no manifest: its readers build one naming every (plain)
    layer ``tar.gzip``. Copied into another archive the layers are already plain, so the
    manifest is the same one, and its digest is what the copy reports (and keeps)."""
    from spyglass.core.copy import CopyOptions, copy_image

    first = tmp_path / "first.tar"
    copy_image(open_source(f"oci:{single_source}:app"),
               open_destination(f"docker-archive:{first}:team/app:1"))
    read = open_source(f"docker-archive:{first}")
    assert isinstance(read, ImageSource)
    raw, _ = read.get_manifest()
    before = Digest.of(raw)
    second = tmp_path / "second.tar"
    written = copy_image(open_source(f"docker-archive:{first}"),
                         open_destination(f"docker-archive:{second}:team/app:2"),
                         CopyOptions(preserve_digests=True))
    assert written.digest == before
    again = open_source(f"docker-archive:{second}")
    assert isinstance(again, ImageSource)
    assert Digest.of(again.get_manifest()[0]) == before


def test_an_archive_is_one_image_as_the_layout_reader_tells_it(tmp_path: Path) -> None:
    """Reading an archive and replacing it agree on what is an image: an unnamed
    referrer (its manifest names a subject; its entry no artifact type) goes with its
    image; an unnamed artifact without a subject is an image of its own."""
    from spyglass.core.transports import open_source
    from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

    root = tmp_path / "layout"
    builder = LayoutBuilder(root)
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})]))
    builder.tag(image, "latest")
    builder.tag(builder.add_referrer(image, "text/plain"), None)

    def tarred(name: str) -> Path:
        out = tmp_path / name
        with tarfile.open(out, "w") as tar:
            tar.add(root, arcname=".")
        return out

    one = tarred("one.tar")
    source = open_source(f"oci-archive:{one}")  # one image to read…
    source.close()
    destination = open_destination(f"oci-archive:{one}:v1")
    try:
        assert destination.replaces is not None  # …and one to replace
    finally:
        destination.abort()
    lone = builder.add_image(ImageSpec(layers=[LayerSpec({"/b": b"b"})]))
    builder.tag({**lone, "artifactType": "application/vnd.example"}, None)
    two = tarred("two.tar")
    with pytest.raises(ImageNotFound, match="holds 2 images"):
        open_source(f"oci-archive:{two}")
    with pytest.raises(InvalidLayout, match=r"already holds 2 images"):
        open_destination(f"oci-archive:{two}:v1")


@pytest.mark.parametrize("transport", ["oci-archive", "docker-archive"])
def test_an_archive_in_dev_shm_is_a_file_like_any_other(
    single_source: Path, transport: str
) -> None:
    """Everything under /dev/ was taken for a device or /dev/stdout and written straight
    into: a new archive in /dev/shm (a memory filesystem) failed "No such file or
    directory", and one there already was written into, not replaced."""
    if not os.path.isdir("/dev/shm") or not os.access("/dev/shm", os.W_OK):
        pytest.skip("no /dev/shm to write in here")
    folder = Path(tempfile.mkdtemp(prefix="spyglass-test-", dir="/dev/shm"))
    try:
        from spyglass.core.copy import CopyOptions
        from spyglass.core.copy import copy_image as engine_copy

        out = folder / "app.tar"
        options = CopyOptions(format="v2s2" if transport == "docker-archive" else None)
        engine_copy(open_source(f"oci:{single_source}:app"),
                    open_destination(f"{transport}:{out}"), options)
        first = out.read_bytes()
        assert tarfile.is_tarfile(out)
        out.write_bytes(first + b"\0" * 4096)  # longer than what a copy writes
        engine_copy(open_source(f"oci:{single_source}:app"),
                    open_destination(f"{transport}:{out}"), options)
        assert out.read_bytes() == first  # replaced whole, not written into
        assert sorted(p.name for p in folder.iterdir()) == ["app.tar"]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("transport", ["oci-archive", "docker-archive"])
def test_an_archive_of_a_descriptor_not_open_is_refused(transport: str) -> None:
    """/dev/fd/N for a descriptor this process does not have open: not given, it would
    lead, by the time the archive is written, into whatever was opened there since."""
    free = os.open(os.devnull, os.O_RDONLY)
    os.close(free)
    with pytest.raises(SpyglassError, match=(
            f'"/dev/fd/{free}" cannot be written: spyglass was given no descriptor {free} ')):
        open_destination(f"{transport}:/dev/fd/{free}")


def test_an_archive_of_a_held_descriptor_goes_through_the_duplicate(
    single_source: Path, tmp_path: Path
) -> None:
    """The command line holds the descriptors it names from the start: what Spyglass
    opens later under that number does not get the archive."""
    from spyglass.core.copy import CopyOptions
    from spyglass.core.copy import copy_image as engine_copy
    from spyglass.core.transports.given_descriptors import hold, release_all

    given = os.open(tmp_path / "given.tar", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        hold(f"/dev/fd/{given}", "The destination")
    finally:
        os.close(given)
    other = os.open(tmp_path / "other", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        assert other == given  # (the number, free again, now names another file)
        engine_copy(open_source(f"oci:{single_source}:app"),
                    open_destination(f"docker-archive:/dev/fd/{given}"),
                    CopyOptions(format="v2s2"))
    finally:
        release_all()
        os.close(other)
    assert tarfile.is_tarfile(tmp_path / "given.tar")
    assert (tmp_path / "other").stat().st_size == 0


def test_names_of_descriptors_are_written_into() -> None:
    from spyglass.core.transports.archive_output import names_a_descriptor

    for name in ("/dev/stdout", "/dev/stderr", "/dev/fd/3", "/proc/self/fd/1"):
        assert names_a_descriptor(Path(name)), name
    for name in ("/dev/shm/app.tar", "/dev/mqueue/x", "/tmp/app.tar", "/devices/app.tar"):
        assert not names_a_descriptor(Path(name)), name
