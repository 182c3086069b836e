"""containers/image's dir: layout, read side (spyglass.core.transports.dirlayout).

The folders are written by skopeo (``skopeo copy oci:… dir:…``) where a test
needs the real thing, and by hand for layouts skopeo does not write yet
(sha512 blobs) and for broken ones.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from spyglass.core import media
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    BlobNotFound,
    DigestMismatch,
    ImageNotFound,
    InvalidLayout,
    LocationGone,
    TooLarge,
    Unsupported,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    ImageIndex,
    ImageManifest,
    parse_manifest,
)
from spyglass.core.transports.base import ImageSource, Location
from spyglass.core.transports.dirlayout import (
    DirImageSource,
    DirLocation,
    blob_names,
    looks_like_dir_layout,
    open_dir_image,
    open_dir_location,
)
from tests.helpers.imagebuild import dump_json

VERSION = b"Directory Transport Version: 1.1\n"

CopyOf = Callable[[Path], Path]


def run_skopeo(*args: str) -> None:
    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed")
    done = subprocess.run(["skopeo", *args], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()


def read_all(source: ImageSource, descriptor: Descriptor) -> bytes:
    with source.open_blob(descriptor) as reader:
        data = reader.read()
        assert reader.read() == b""
        assert reader.verified
    return data


def image_manifest(source: ImageSource, digest: str | None = None) -> ImageManifest:
    raw, media_type = source.get_manifest(digest)
    parsed = parse_manifest(raw, media_type)
    assert isinstance(parsed, ImageManifest)
    return parsed


@pytest.fixture(scope="module")
def single_dir(source_layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("dir-single") / "image"
    run_skopeo(
        "copy", "--quiet", "--override-os", "linux", "--override-arch", "amd64",
        f"oci:{source_layout}:latest", f"dir:{target}",
    )  # fmt: skip
    return target


@pytest.fixture(scope="module")
def all_dir(source_layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("dir-all") / "list"
    run_skopeo("copy", "--quiet", "--all", f"oci:{source_layout}:latest", f"dir:{target}")
    return target


@pytest.fixture
def copy_of(tmp_path: Path) -> CopyOf:
    """Copy a module-scoped folder so a test may damage it."""

    def make(folder: Path) -> Path:
        target = tmp_path / folder.name
        shutil.copytree(folder, target)
        return target

    return make


# --------------------------------------------------------------------------- reading


def test_single_image_reads_back_verified(single_dir: Path) -> None:
    source = open_dir_image(single_dir)
    assert isinstance(source, ImageSource)
    assert source.description == f"dir:{single_dir}"
    raw, media_type = source.get_manifest()
    assert raw == (single_dir / "manifest.json").read_bytes()
    assert media_type is None  # the dir: layout does not store it
    manifest = image_manifest(source)
    assert manifest.media_type == media.OCI_MANIFEST
    config = json.loads(read_all(source, manifest.config))
    assert config["architecture"] == "amd64"
    for layer in manifest.layers:
        assert Digest.of(read_all(source, layer)) == layer.digest
    # the manifest is also served by its own digest
    assert source.get_manifest(str(manifest.digest))[0] == raw
    source.close()
    source.close()


def test_a_folder_moved_since_it_was_opened_is_said_gone(
        single_dir: Path, copy_of: CopyOf, tmp_path: Path) -> None:
    folder = copy_of(single_dir)
    source = open_dir_image(folder)
    layer = image_manifest(source).layers[0]
    folder.rename(tmp_path / "renamed")
    said = f'The folder "{folder}" is no longer there: it was moved or deleted since it was opened.'
    for read in (source.get_manifest, lambda: source.open_blob(layer)):
        with pytest.raises(LocationGone) as info:
            read()
        assert str(info.value) == said


def test_all_instances_written_by_skopeo_copy_all(all_dir: Path) -> None:
    source = open_dir_image(all_dir)
    raw, _ = source.get_manifest()
    index = parse_manifest(raw)
    assert isinstance(index, ImageIndex)
    assert len(index.manifests) == 3
    for instance in index.manifests:
        assert (all_dir / f"{instance.digest.hex}.manifest.json").is_file()
        manifest = image_manifest(source, str(instance.digest))
        assert manifest.digest == instance.digest
        for descriptor in (manifest.config, *manifest.layers):
            read_all(source, descriptor)
    assert source.get_manifest(str(index.digest))[0] == raw


def test_unknown_manifest_digest(all_dir: Path) -> None:
    source = open_dir_image(all_dir)
    with pytest.raises(ImageNotFound) as caught:
        source.get_manifest(str(Digest.of(b"nothing")))
    assert str(all_dir) in str(caught.value)
    with pytest.raises(ImageNotFound):
        source.get_manifest("sha256:not-hex")


def test_location_has_the_one_image(all_dir: Path) -> None:
    location = open_dir_location(all_dir)
    assert isinstance(location, Location)
    assert isinstance(location, DirLocation)
    assert location.title == "list"
    assert location.description == f"dir:{all_dir}"
    entries = list(location.list_images())
    assert len(entries) == 1
    entry = entries[0]
    raw = (all_dir / "manifest.json").read_bytes()
    assert entry.label == "list"
    assert entry.name == f"dir:{all_dir}"
    assert entry.descriptor == Descriptor(media.OCI_INDEX, Digest.of(raw), len(raw))
    source = location.open_image(entry)
    assert isinstance(source, DirImageSource)
    assert source.get_manifest()[0] == raw
    location.close()


def test_location_refuses_a_manifest_that_is_not_one(tmp_path: Path) -> None:
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "manifest.json").write_bytes(b'{"hello": "world"}')
    with pytest.raises(InvalidLayout, match="not a usable manifest") as caught:
        list(open_dir_location(folder).list_images())
    assert str(folder) in str(caught.value)


def test_sha512_blobs_under_either_name(tmp_path: Path) -> None:
    folder = tmp_path / "sha512"
    folder.mkdir()
    (folder / "version").write_bytes(VERSION)
    prefixed, bare = b"named with its algorithm", b"named by its hex alone"
    d1, d2 = Digest.of(prefixed, "sha512"), Digest.of(bare, "sha512")
    (folder / f"sha512-{d1.hex}").write_bytes(prefixed)
    (folder / d2.hex).write_bytes(bare)
    (folder / "manifest.json").write_bytes(b'{"schemaVersion": 2}')
    assert blob_names(d1) == (f"sha512-{d1.hex}", d1.hex)
    source = open_dir_image(folder)
    assert read_all(source, Descriptor(media.OCI_LAYER, d1, len(prefixed))) == prefixed
    assert read_all(source, Descriptor(media.OCI_LAYER, d2, len(bare))) == bare


# --------------------------------------------------------------------------- bad input


def test_corrupt_blob_fails_when_read_to_the_end(single_dir: Path, copy_of: CopyOf) -> None:
    folder = copy_of(single_dir)
    source = open_dir_image(folder)
    layer = image_manifest(source).layers[0]
    blob = folder / layer.digest.hex
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    with source.open_blob(layer) as reader, pytest.raises(DigestMismatch) as caught:
        while reader.read(64):
            pass
    assert str(folder) in str(caught.value)


def test_tampered_instance_manifest_is_refused(all_dir: Path, copy_of: CopyOf) -> None:
    folder = copy_of(all_dir)
    source = open_dir_image(folder)
    index = parse_manifest(source.get_manifest()[0])
    assert isinstance(index, ImageIndex)
    instance = index.manifests[0].digest
    path = folder / f"{instance.hex}.manifest.json"
    path.write_bytes(path.read_bytes().replace(b'"schemaVersion":2', b'"schemaVersion": 2'))
    with pytest.raises(DigestMismatch) as caught:
        source.get_manifest(str(instance))
    assert str(path) in str(caught.value)


def test_missing_blob(single_dir: Path, copy_of: CopyOf) -> None:
    folder = copy_of(single_dir)
    source = open_dir_image(folder)
    config = image_manifest(source).config
    (folder / config.digest.hex).unlink()
    with pytest.raises(BlobNotFound) as caught:
        source.open_blob(config)
    assert str(folder) in str(caught.value)


def test_blob_linking_outside_the_folder_is_refused(single_dir: Path, copy_of: CopyOf) -> None:
    folder = copy_of(single_dir)
    source = open_dir_image(folder)
    config = image_manifest(source).config
    blob = folder / config.digest.hex
    blob.unlink()
    blob.symlink_to("/etc/passwd")
    with pytest.raises(InvalidLayout, match="outside") as caught:
        source.open_blob(config)
    assert str(folder) in str(caught.value)


def test_nonexistent_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere"
    for attempt in (open_dir_image, open_dir_location):
        with pytest.raises(InvalidLayout, match="does not exist") as caught:
            attempt(path)
        assert str(path) in str(caught.value)


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"x")
    with pytest.raises(InvalidLayout, match="not a folder") as caught:
        open_dir_image(path)
    assert str(path) in str(caught.value)


def test_folder_without_manifest_json(tmp_path: Path) -> None:
    with pytest.raises(InvalidLayout) as caught:
        open_dir_image(tmp_path)
    assert f'"{tmp_path}" is not a dir: image folder: it has no manifest.json' in str(caught.value)


def test_oci_layout_folder_gets_a_hint(source_layout: Path) -> None:
    with pytest.raises(InvalidLayout, match="oci:") as caught:
        open_dir_image(source_layout)
    assert str(source_layout) in str(caught.value)


def test_oversized_manifest(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_bytes(b" " * (MAX_MANIFEST_SIZE + 1))
    source = open_dir_image(tmp_path)
    with pytest.raises(TooLarge) as caught:
        source.get_manifest()
    assert str(tmp_path) in str(caught.value)


def test_manifest_json_that_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").mkdir()
    with pytest.raises(InvalidLayout, match="not a regular file") as caught:
        open_dir_image(tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_unreadable_manifest(unprivileged_dir: Path) -> None:
    from spyglass.core.errors import TransportError

    manifest = unprivileged_dir / "manifest.json"
    manifest.write_bytes(b"{}")
    manifest.chmod(0)
    with pytest.raises(TransportError) as caught:
        open_dir_image(unprivileged_dir).get_manifest()
    assert str(manifest) in str(caught.value)


@pytest.mark.parametrize(
    ("version", "error"),
    [
        (b"Directory Transport Version: 2.0\n", Unsupported),
        (b"something else entirely\n", InvalidLayout),
    ],
)
def test_version_file(tmp_path: Path, version: bytes, error: type[Exception]) -> None:
    (tmp_path / "manifest.json").write_bytes(b"{}")
    (tmp_path / "version").write_bytes(version)
    with pytest.raises(error) as caught:
        open_dir_image(tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_version_1_2_and_missing_version_are_read(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_bytes(b"{}")
    assert open_dir_image(tmp_path).get_manifest() == (b"{}", None)
    (tmp_path / "version").write_bytes(b"Directory Transport Version: 1.2\n")
    assert open_dir_image(tmp_path).get_manifest() == (b"{}", None)


# --------------------------------------------------------------------------- sniffing


def test_looks_like_dir_layout(single_dir: Path, source_layout: Path, tmp_path: Path) -> None:
    assert looks_like_dir_layout(single_dir)
    assert not looks_like_dir_layout(source_layout)
    assert not looks_like_dir_layout(tmp_path / "missing")
    assert not looks_like_dir_layout(tmp_path)

    unpacked_save = tmp_path / "unpacked"
    unpacked_save.mkdir()
    (unpacked_save / "manifest.json").write_bytes(dump_json([{"Config": "c.json"}]))
    assert not looks_like_dir_layout(unpacked_save)

    handmade = tmp_path / "handmade"
    handmade.mkdir()
    (handmade / "manifest.json").write_bytes(b'{"schemaVersion": 2, "layers": []}')
    assert looks_like_dir_layout(handmade)
    (handmade / "version").write_bytes(b"not ours\n")
    assert not looks_like_dir_layout(handmade)
