"""docker-archive: and oci-archive: tarballs, read in place (spyglass.core.transports.archive).

Archives come from skopeo (the reference implementation) where it is
installed, and are written by hand where a test needs something skopeo would
never write: several images, compressed layer files, Docker 25's layout, and
hostile member names and links.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from spyglass.core import media
from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    BlobNotFound,
    Cancelled,
    DamagedArchive,
    DigestMismatch,
    ImageNotFound,
    InvalidLayout,
    TransportError,
    UnsafeArchive,
)
from spyglass.core.manifest import Descriptor, ImageIndex, ImageManifest, parse_manifest
from spyglass.core.transports import detect_location_kind, open_location, open_source
from spyglass.core.transports.archive import (
    DockerArchiveImageSource,
    open_archive_location,
    open_docker_archive_image,
    open_docker_archive_location,
    open_oci_archive_image,
    open_oci_archive_location,
    sniff_archive,
)
from spyglass.core.transports.base import ImageSource, Location
from spyglass.core.transports.tartree import TarTree
from tests.helpers.imagebuild import (
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    build_config,
    build_tar,
    compress,
    dump_json,
    sha256_digest,
)
from tests.unit.core.transports.test_locations import names_reopen

# --------------------------------------------------------------------------- helpers


def run_skopeo(*args: str) -> bytes:
    """Run skopeo (skipping the test when it is not installed) and return its stdout."""
    if shutil.which("skopeo") is None:
        pytest.skip("skopeo is not installed")
    done = subprocess.run(["skopeo", *args], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def skopeo_raw(name: str) -> bytes:
    return run_skopeo("inspect", "--raw", name)


def write_tar(path: Path, entries: list[tuple[str, str, Any]]) -> Path:
    """Write a tar of ``(kind, name, payload)``: ``file`` bytes, ``symlink``/``hardlink`` target,
    ``dir`` None. Names are written exactly as given (even hostile ones)."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1704164645
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
                continue
            if kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, payload
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, payload
            else:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
    return path


def image_spec(arch: str, words: list[str], *, docker: bool = True) -> ImageSpec:
    """A small image whose layers hold one file per word."""
    layers = [
        LayerSpec({f"/etc/{word}": f"{word} {arch}\n".encode()}, compression="none")
        for word in words
    ]
    return ImageSpec(architecture=arch, layers=layers, docker_media_types=docker)


def docker_save_entries(
    images: list[tuple[list[str], ImageSpec]],
    *,
    compression: str = "none",
    duplicate_first_layer: bool = False,
) -> list[tuple[str, str, Any]]:
    """The members of a pre-Docker-25 ``docker save`` tarball of ``images``.

    Layers live in ``<id>/layer.tar``; a layer used twice is a symlink to the
    first copy, as docker save writes it. With ``duplicate_first_layer`` every
    image repeats its first layer at the top.
    """
    entries: list[tuple[str, str, Any]] = []
    written: set[str] = set()
    items = []
    for tags, spec in images:
        tars = [build_tar(layer) for layer in spec.layers]
        if duplicate_first_layer:
            tars.append(tars[0])
        diff_ids = [sha256_digest(t) for t in tars]
        layer_names = []
        for position, (tar_bytes, diff_id) in enumerate(zip(tars, diff_ids, strict=True)):
            first = f"{diff_id[7:]}/layer.tar"
            if first not in written:
                written.add(first)
                entries.append(("dir", diff_id[7:], None))
                entries.append(("file", first, compress(tar_bytes, compression)))
                layer_names.append(first)
            else:
                copy = f"copy{position}-{diff_id[7:19]}"
                entries.append(("dir", copy, None))
                entries.append(("symlink", f"{copy}/layer.tar", f"../{first}"))
                layer_names.append(f"{copy}/layer.tar")
        config = dump_json(build_config(spec, diff_ids))
        config_name = f"{hashlib.sha256(config).hexdigest()}.json"
        if config_name not in written:
            written.add(config_name)
            entries.append(("file", config_name, config))
        items.append({"Config": config_name, "RepoTags": tags, "Layers": layer_names})
    entries.append(("file", "manifest.json", dump_json(items)))
    return entries


def docker25_entries(
    tags: list[str],
    spec: ImageSpec,
    *more: tuple[list[str], ImageSpec],
    indexed: list[int] | None = None,
) -> list[tuple[str, str, Any]]:
    """The members of a Docker 25+ ``docker save``: an OCI layout plus manifest.json,
    an image per ``(tags, spec)``. ``indexed``: the images index.json lists (by
    position; default all), as Docker 25.0.0-25.0.2 left some out (``[]`` writes
    ``"manifests": null``)."""
    entries: list[tuple[str, str, Any]] = [("dir", "blobs", None), ("dir", "blobs/sha256", None)]
    written: set[str] = set()

    def blob(data: bytes) -> dict[str, Any]:
        digest = sha256_digest(data)
        if digest not in written:
            written.add(digest)
            entries.append(("file", f"blobs/sha256/{digest[7:]}", data))
        return {"digest": digest, "size": len(data)}

    listed: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for image_tags, image_spec in ((tags, spec), *more):
        tars = [build_tar(layer) for layer in image_spec.layers]
        layers = [{"mediaType": media.OCI_LAYER, **blob(t)} for t in tars]
        config = blob(dump_json(build_config(image_spec, [sha256_digest(t) for t in tars])))
        manifest = {
            "schemaVersion": 2,
            "mediaType": media.OCI_MANIFEST,
            "config": {"mediaType": media.OCI_CONFIG, **config},
            "layers": layers,
        }
        top = blob(dump_json(manifest))
        listed.append({
            "mediaType": media.OCI_MANIFEST,
            **top,
            "annotations": {
                "io.containerd.image.name": "docker.io/library/" + image_tags[0],
                "org.opencontainers.image.ref.name": image_tags[0].rpartition(":")[2],
            },
        })
        items.append({
            "Config": f"blobs/sha256/{config['digest'][7:]}",
            "RepoTags": image_tags,
            "Layers": [f"blobs/sha256/{layer['digest'][7:]}" for layer in layers],
        })
    if indexed is not None:
        listed = [listed[n] for n in indexed]
    index = {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": listed or None}
    entries.append(("file", "index.json", dump_json(index)))
    entries.append(("file", "oci-layout", b'{"imageLayoutVersion":"1.0.0"}'))
    entries.append(("file", "manifest.json", dump_json(items)))
    return entries


def read_all(source: ImageSource, descriptor: Descriptor) -> bytes:
    """Read a blob to the end through the verifying reader; return its bytes."""
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


def flip_byte_in_member(path: Path, member: str, position: int = 100) -> None:
    """Corrupt one byte of a member's data in place."""
    with tarfile.open(path) as tar:
        offset = tar.getmember(member).offset_data
    with path.open("r+b") as file:
        file.seek(offset + position)
        byte = file.read(1)
        file.seek(offset + position)
        file.write(bytes([byte[0] ^ 0xFF]))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def two_images(tmp_path: Path) -> Path:
    """A hand-written docker save of two images: example.com/a (two tags) and busybox."""
    images = [
        (["example.com/a:1", "example.com/a:latest"], image_spec("amd64", ["one", "two"])),
        (["busybox:latest"], image_spec("arm64", ["three"])),
    ]
    return write_tar(tmp_path / "two.tar", docker_save_entries(images))


@pytest.fixture
def single_image(tmp_path: Path) -> Path:
    images = [(["example.com/single:1"], image_spec("amd64", ["alpha", "beta"]))]
    return write_tar(tmp_path / "single.tar", docker_save_entries(images))


# --------------------------------------------------------------------------- docker-archive


def test_docker_archive_manifest_is_byte_for_byte_skopeos(skopeo_docker_archive: Path) -> None:
    source = open_docker_archive_image(skopeo_docker_archive, None, None)
    raw, media_type = source.get_manifest()
    expected = skopeo_raw(f"docker-archive:{skopeo_docker_archive}")
    assert raw == expected
    assert media_type == media.DOCKER_V2S2
    inspected = json.loads(run_skopeo("inspect", f"docker-archive:{skopeo_docker_archive}"))
    assert inspected["Digest"] == "sha256:" + hashlib.sha256(raw).hexdigest()
    manifest = image_manifest(source)
    assert manifest.digest == Digest.of(expected)
    assert [layer.digest for layer in manifest.layers] == [
        Digest.parse(d) for d in inspected["Layers"]
    ]


def test_docker_archive_blobs_are_what_skopeo_copies(
    skopeo_docker_archive: Path, tmp_path: Path
) -> None:
    copied = tmp_path / "copied"
    run_skopeo("copy", "--quiet", f"docker-archive:{skopeo_docker_archive}", f"dir:{copied}")
    source = open_docker_archive_image(skopeo_docker_archive, "example.com/x:1", None)
    manifest = image_manifest(source)
    config = json.loads(read_all(source, manifest.config))
    diff_ids = [Digest.parse(d) for d in config["rootfs"]["diff_ids"]]
    assert [layer.digest for layer in manifest.layers] == diff_ids
    for descriptor in (manifest.config, *manifest.layers):
        data = read_all(source, descriptor)
        assert Digest.of(data) == descriptor.digest
        assert len(data) == descriptor.size
        assert data == (copied / descriptor.digest.hex).read_bytes()
    source.close()


def test_docker_archive_additional_tag_selects_the_same_image(skopeo_docker_archive: Path) -> None:
    by_first = open_docker_archive_image(skopeo_docker_archive, "example.com/x:1", None)
    by_second = open_docker_archive_image(skopeo_docker_archive, "example.com/y:2", None)
    by_index = open_docker_archive_image(skopeo_docker_archive, None, 0)
    assert by_first.get_manifest() == by_second.get_manifest() == by_index.get_manifest()
    assert by_second.description == f"docker-archive:{skopeo_docker_archive}:example.com/y:2"
    assert by_index.description == f"docker-archive:{skopeo_docker_archive}:@0"


@pytest.mark.parametrize(
    ("reference", "index", "skopeo_suffix"),
    [
        ("example.com/a:1", None, "example.com/a:1"),
        ("example.com/a:latest", None, "example.com/a:latest"),
        ("example.com/a", None, "example.com/a:latest"),
        ("busybox", None, "busybox:latest"),
        ("docker.io/library/busybox:latest", None, "docker.io/library/busybox:latest"),
        (None, 0, "@0"),
        (None, 1, "@1"),
    ],
)
def test_several_images_chosen_by_tag_or_index(
    two_images: Path, reference: str | None, index: int | None, skopeo_suffix: str
) -> None:
    source = open_docker_archive_image(two_images, reference, index)
    raw, _ = source.get_manifest()
    assert raw == skopeo_raw(f"docker-archive:{two_images}:{skopeo_suffix}")
    manifest = image_manifest(source)
    for descriptor in (manifest.config, *manifest.layers):
        read_all(source, descriptor)


def test_several_images_without_a_selector_are_listed(two_images: Path) -> None:
    with pytest.raises(ImageNotFound) as caught:
        open_docker_archive_image(two_images, None, None)
    message = str(caught.value)
    assert str(two_images) in message
    assert "2 images" in message
    assert "example.com/a:1" in message and "busybox:latest" in message
    assert "@0" in message and "@1" in message


def test_the_images_listed_are_ten_with_ten_tags_each_and_counted_beyond(
        tmp_path: Path) -> None:
    """A manifest.json of thousands of images or tags made an error line of megabytes:
    as the registry's sentence names ten tags, ten images are named, each by ten of its
    tags, then how many more."""
    items = [{"Config": "c.json", "Layers": [],
              "RepoTags": [f"x.io/a:{n:02}" for n in range(25)] if not number else
              [f"x.io/i{number:02}:1"] if number < 13 else []} for number in range(14)]
    path = write_tar(tmp_path / "wide.tar", [("file", "manifest.json", dump_json(items))])
    tags = ", ".join(f"x.io/a:{n:02}" for n in range(10))
    images = "; ".join([f"@0 {tags} and 15 more",
                        *(f"@{n} x.io/i{n:02}:1" for n in range(1, 10))])
    with pytest.raises(ImageNotFound) as caught:
        open_docker_archive_image(path, "x.io/b:1", None)
    assert str(caught.value).endswith(
        f'has no image tagged "x.io/b:1"; it holds: {images} and 4 more images.')
    with pytest.raises(ImageNotFound) as caught:
        open_docker_archive_image(path, None, None)
    assert str(caught.value).endswith(f"It holds: {images} and 4 more images.")


def test_unknown_tag_and_index_are_refused(two_images: Path) -> None:
    with pytest.raises(ImageNotFound, match="no image tagged") as caught:
        open_docker_archive_image(two_images, "example.com/a:2", None)
    assert str(two_images) in str(caught.value)
    with pytest.raises(ImageNotFound, match="@2") as caught:
        open_docker_archive_image(two_images, None, 2)
    assert str(two_images) in str(caught.value)


def test_location_lists_every_image_with_names_that_reopen_it(two_images: Path) -> None:
    location = open_docker_archive_location(two_images)
    assert isinstance(location, Location)
    assert location.title == "two.tar"
    assert location.description == f"docker-archive:{two_images}"
    entries = list(location.list_images())
    # a row per name, as an OCI layout has a row per ref
    assert [e.label for e in entries] == ["example.com/a:1", "example.com/a:latest",
                                          "busybox:latest"]
    assert [e.name for e in entries] == [
        f"docker-archive:{two_images}:example.com/a:1",
        f"docker-archive:{two_images}:example.com/a:latest",
        f"docker-archive:{two_images}:busybox:latest",
    ]
    assert entries[0].descriptor == entries[1].descriptor
    assert location.unlisted == ()
    for position, entry in enumerate((entries[0], entries[2])):
        source = location.open_image(entry)
        assert isinstance(source, ImageSource)
        raw, _ = source.get_manifest()
        assert entry.descriptor.digest == Digest.of(raw)
        assert entry.descriptor.size == len(raw)
        assert entry.descriptor.media_type == media.DOCKER_V2S2
        assert raw == skopeo_raw(f"docker-archive:{two_images}:@{position}")
        source.close()
    location.close()


def test_an_image_that_cannot_be_read_is_passed_over_and_said(tmp_path: Path) -> None:
    """One broken image (a layer file missing) must not hide the archive's others: the
    listing goes on, and says why it passed it over."""
    images = [
        (["first:1"], image_spec("amd64", ["one"])),
        (["broken:2"], image_spec("arm64", ["two"])),
        (["third:3", "third:latest", "first:1"], image_spec("arm64", ["three"])),
    ]
    entries = docker_save_entries(images)
    items = json.loads(entries[-1][2])
    items[1]["Layers"] = ["missing/layer.tar"]
    entries[-1] = ("file", "manifest.json", dump_json(items))
    path = write_tar(tmp_path / "one-broken.tar", entries)
    location = open_docker_archive_location(path)
    listed = list(location.list_images())
    # first:1 names the first image, so the third's row of that name reopens it by position
    assert [(e.label, e.name) for e in listed] == [
        ("first:1", f"docker-archive:{path}:first:1"),
        ("third:3", f"docker-archive:{path}:third:3"),
        ("third:latest", f"docker-archive:{path}:third:latest"),
        ("first:1", f"docker-archive:{path}:third:3"),
    ]
    ((name, said),) = location.unlisted
    assert name == "broken:2"
    assert "@1" in said and '"missing/layer.tar"' in said and str(path) in said
    location.close()


def test_an_image_whose_layer_does_not_decompress_is_passed_over(tmp_path: Path) -> None:
    images = [(["bad:1"], image_spec("amd64", ["one"])), (["good:1"], image_spec("arm64", ["two"]))]
    entries = docker_save_entries(images, compression="gzip")
    items = json.loads(entries[-1][2])
    broken = items[0]["Layers"][0]
    entries = [(kind, name, data[:-12] if name == broken else data)  # cut short
               for kind, name, data in entries]
    path = write_tar(tmp_path / "bad-gzip.tar", entries)
    location = open_docker_archive_location(path)
    assert [entry.label for entry in location.list_images()] == ["good:1"]
    ((name, said),) = location.unlisted
    assert name == "bad:1" and "could not be decompressed as gzip" in said
    location.close()


def test_untagged_images_are_named_by_index(tmp_path: Path) -> None:
    images: list[tuple[list[str], ImageSpec]] = [
        ([], image_spec("amd64", ["a"])),
        ([], image_spec("arm64", ["b"])),
    ]
    path = write_tar(tmp_path / "untagged.tar", docker_save_entries(images))
    entries = list(open_docker_archive_location(path).list_images())
    assert [e.label for e in entries] == ["@0", "@1"]
    assert [e.name for e in entries] == [
        f"docker-archive:{path}:@0",
        f"docker-archive:{path}:@1",
    ]


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_compressed_layer_files_are_served_uncompressed_like_skopeo(
    tmp_path: Path, compression: str
) -> None:
    images = [(["example.com/c:1"], image_spec("amd64", ["x", "y"]))]
    path = write_tar(tmp_path / "c.tar", docker_save_entries(images, compression=compression))
    source = open_docker_archive_image(path, None, None)
    raw, _ = source.get_manifest()
    assert raw == skopeo_raw(f"docker-archive:{path}")
    manifest = image_manifest(source)
    for layer in manifest.layers:
        data = read_all(source, layer)
        assert data.startswith(b"etc")  # an uncompressed tar: the first member's name
        assert layer.size == len(data)


def test_a_layer_used_twice_is_a_symlink_and_listed_twice(tmp_path: Path) -> None:
    images = [(["example.com/twice:1"], image_spec("amd64", ["base", "top"]))]
    entries = docker_save_entries(images, duplicate_first_layer=True)
    path = write_tar(tmp_path / "twice.tar", entries)
    source = open_docker_archive_image(path, "example.com/twice:1", None)
    raw, _ = source.get_manifest()
    assert raw == skopeo_raw(f"docker-archive:{path}")
    manifest = image_manifest(source)
    assert len(manifest.layers) == 3
    assert manifest.layers[0] == manifest.layers[2]
    read_all(source, manifest.layers[2])


def test_a_layer_linked_to_another_images_copy_has_that_copys_size(tmp_path: Path) -> None:
    """docker save (before Docker 25) links a layer it saved for an earlier image: the
    link is followed for its bytes and its size (skopeo 1.9 takes the link's header size,
    0, and then cannot copy the image)."""
    images = [(["app:a"], image_spec("amd64", ["shared"])),
              (["app:b"], image_spec("amd64", ["shared"]))]
    entries = docker_save_entries(images)  # the second image's layer: a link to the first's
    items = json.loads(entries[-1][2])
    linked = dict((name, kind) for kind, name, _data in entries)[items[1]["Layers"][0]]
    assert linked == "symlink"
    path = write_tar(tmp_path / "linked.tar", entries)
    source = open_docker_archive_image(path, "app:b", None)
    (layer,) = image_manifest(source).layers
    assert layer.size == len(build_tar(images[0][1].layers[0])) > 0
    assert read_all(source, layer) == build_tar(images[0][1].layers[0])


def test_docker_25_save_is_sniffed_as_oci_but_reads_as_both(tmp_path: Path) -> None:
    spec = image_spec("amd64", ["new", "style"], docker=False)
    path = write_tar(tmp_path / "d25.tar", docker25_entries(["app:1"], spec))
    assert sniff_archive(path) == "oci-archive"

    docker_view = open_docker_archive_image(path, "app:1", None)
    raw, _ = docker_view.get_manifest()
    assert raw == skopeo_raw(f"docker-archive:{path}:app:1")
    manifest = image_manifest(docker_view)
    for descriptor in (manifest.config, *manifest.layers):
        read_all(docker_view, descriptor)

    oci_view = open_oci_archive_image(path, "1")
    oci_manifest = image_manifest(oci_view)
    assert oci_manifest.media_type == media.OCI_MANIFEST
    assert [d.digest for d in oci_manifest.layers] == [d.digest for d in manifest.layers]
    for descriptor in (oci_manifest.config, *oci_manifest.layers):
        read_all(oci_view, descriptor)
    # the name docker save was given finds it too, full or as Docker shortens it
    for name in ("app:1", "docker.io/library/app:1"):
        assert image_manifest(open_oci_archive_image(path, name)) == oci_manifest
    with pytest.raises(ImageNotFound) as missing:
        open_oci_archive_image(path, "app:2")
    assert str(missing.value).endswith(
        'has no image with the ref "app:2"; it has: 1 (or by name: docker.io/library/app:1).')


def test_a_docker_25_save_of_two_latest_images_names_each_by_position(tmp_path: Path) -> None:
    """Docker 25+ writes only the tag as the ref name: two images are both "latest".
    Each entry's name reopens exactly it; the full name (io.containerd.image.name)
    labels it and also opens it."""
    alpine = image_spec("amd64", ["alpine"], docker=False)
    busybox = image_spec("amd64", ["busybox"], docker=False)
    path = write_tar(tmp_path / "two.tar", docker25_entries(
        ["alpine:latest"], alpine, (["busybox:latest"], busybox), (["app:1.0-"], alpine),
    ))
    location = open_location(path)
    try:
        entries = list(location.list_images())
    finally:
        location.close()
    assert names_reopen(path) == [e.name for e in entries]
    assert [e.label for e in entries] == [
        "docker.io/library/alpine:latest", "docker.io/library/busybox:latest",
        "docker.io/library/app:1.0-",
    ]
    # "latest" names two different images; "1.0-" is not a valid ref: positions
    assert [e.name for e in entries] == [f"oci-archive:{path}:@{n}" for n in range(3)]
    source = open_source(f"oci-archive:{path}:docker.io/library/busybox:latest")
    try:
        assert Digest.of(source.get_manifest()[0]) == entries[1].descriptor.digest
    finally:
        source.close()
    with pytest.raises(ImageNotFound) as ambiguous:
        open_oci_archive_image(path, "latest")
    assert str(ambiguous.value).endswith(
        'has 2 different images with the ref "latest"; name one by its own name: '
        f"oci-archive:{path}:docker.io/library/alpine:latest, "
        f"oci-archive:{path}:docker.io/library/busybox:latest.")
    # the hint offers what opens one image: not "latest", which two share
    with pytest.raises(ImageNotFound) as unnamed:
        open_oci_archive_image(path, None)
    assert str(unnamed.value).endswith(
        f"holds 3 images; name one with oci-archive:{path}:REF or oci-archive:{path}:@0 "
        "(refs: 1.0-; names: docker.io/library/alpine:latest, "
        "docker.io/library/busybox:latest).")
    for name in ("docker.io/library/alpine:latest", "1.0-"):
        open_oci_archive_image(path, name).close()


def test_a_ref_two_images_share_is_offered_by_position_where_nothing_else_names_them(
    tmp_path: Path,
) -> None:
    root = tmp_path / "dupref"
    builder = LayoutBuilder(root)
    for n, ref in enumerate(("latest", "latest", None, "1")):
        builder.index["manifests"].append({
            **builder.add_image(ImageSpec(layers=[LayerSpec({"/n": str(n).encode()})])),
            **({"annotations": {"org.opencontainers.image.ref.name": ref}} if ref else {})})
    (root / "index.json").write_text(json.dumps(builder.index))
    with pytest.raises(ImageNotFound) as unnamed:
        open_source(f"oci:{root}")
    assert str(unnamed.value).endswith(
        f"holds 4 images; name one with oci:{root}:REF or oci:{root}:@0 "
        "(refs: 1; by position: @0, @1; without a name: @2).")


@pytest.mark.parametrize("indexed", [[], [1]], ids=["manifests-null", "one-left-out"])
def test_a_docker_25_save_whose_index_lists_fewer_images_is_read_as_a_docker_archive(
    tmp_path: Path, indexed: list[int],
) -> None:
    """Docker 25.0.0-25.0.2 wrote ``"manifests": null`` for some saves, and saves of
    several images by digest can leave images out of index.json (moby#47210, #51389):
    the manifest.json view, which lists them all, is the one opened."""
    one = image_spec("amd64", ["one"], docker=False)
    two = image_spec("amd64", ["two"], docker=False)
    path = write_tar(tmp_path / "d25.tar",
                     docker25_entries(["one:1"], one, (["two:2"], two), indexed=indexed))
    assert sniff_archive(path) == "docker-archive"
    assert detect_location_kind(path) == "docker-archive"
    location = open_location(path)
    try:
        names = [e.name for e in location.list_images()]
    finally:
        location.close()
    assert len(names) == 2
    for name in names:
        source = open_source(name)
        try:
            manifest = image_manifest(source)
            for descriptor in (manifest.config, *manifest.layers):
                read_all(source, descriptor)
        finally:
            source.close()


def test_sniffing(skopeo_docker_archive: Path, skopeo_oci_archive: Path, tmp_path: Path) -> None:
    assert sniff_archive(skopeo_docker_archive) == "docker-archive"
    assert sniff_archive(skopeo_oci_archive) == "oci-archive"
    other = write_tar(tmp_path / "other.tar", [("file", "hello.txt", b"hi\n")])
    assert sniff_archive(other) is None
    not_tar = tmp_path / "not.tar"
    not_tar.write_bytes(b"just some text\n" * 100)
    assert sniff_archive(not_tar) is None
    assert sniff_archive(tmp_path / "missing.tar") is None
    packed = tmp_path / "packed.tar.gz"
    packed.write_bytes(gzip.compress(skopeo_docker_archive.read_bytes()))
    assert sniff_archive(packed) == "docker-archive"
    packed_oci = tmp_path / "packed-oci.tar.gz"
    packed_oci.write_bytes(gzip.compress(skopeo_oci_archive.read_bytes()))
    assert sniff_archive(packed_oci) == "oci-archive"
    # a save of Docker before 1.10 is one, whose reader says why it cannot be read (the
    # window said it was not made by docker save)
    legacy = write_tar(tmp_path / "legacy.tar", [
        ("dir", "0123abcd", None), ("file", "0123abcd/layer.tar", b""),
        ("file", "repositories", b'{"app": {"1": "0123abcd"}}')])
    assert sniff_archive(legacy) == "docker-archive"
    with pytest.raises(InvalidLayout, match=r"only the legacy repositories file of Docker "
                       r"before 1\.10"):
        open_archive_location(legacy)
    # an archive cut short is still an archive: its sentence says it is damaged
    cut = tmp_path / "cut.tar"
    cut.write_bytes(skopeo_docker_archive.read_bytes()[:5000])
    with pytest.raises(DamagedArchive, match="is truncated or damaged"):
        sniff_archive(cut)


def test_concurrent_reads_of_one_archive(tmp_path: Path) -> None:
    big = {f"/data/{i}": bytes([i]) * 300_000 for i in range(4)}
    spec = ImageSpec(
        layers=[LayerSpec({name: data}, compression="none") for name, data in big.items()],
        docker_media_types=True,
    )
    path = write_tar(tmp_path / "big.tar", docker_save_entries([(["big:1"], spec)]))
    source = open_docker_archive_image(path, None, None)
    manifest = image_manifest(source)

    def digest_of(descriptor: Descriptor) -> Digest:
        hasher = hashlib.sha256()
        with source.open_blob(descriptor) as reader:
            while chunk := reader.read(4096):
                hasher.update(chunk)
            assert reader.verified
        return Digest("sha256", hasher.hexdigest())

    work = list(manifest.layers) * 4
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(digest_of, work))
    assert results == [d.digest for d in work]


def test_unknown_blob_and_manifest_digests(single_image: Path) -> None:
    source = open_docker_archive_image(single_image, None, None)
    stranger = Descriptor(media.DOCKER_LAYER, Digest.of(b"stranger"), 8)
    with pytest.raises(BlobNotFound) as caught:
        source.open_blob(stranger)
    assert str(single_image) in str(caught.value)
    with pytest.raises(ImageNotFound):
        source.get_manifest(str(Digest.of(b"other")))
    raw, _ = source.get_manifest()
    assert source.get_manifest(str(Digest.of(raw)))[0] == raw


# --------------------------------------------------------------------------- oci-archive


def test_oci_archive_from_skopeo_reads_every_instance(skopeo_oci_archive: Path) -> None:
    location = open_oci_archive_location(skopeo_oci_archive)
    assert location.description == f"oci-archive:{skopeo_oci_archive}"
    entries = list(location.list_images())
    assert [(e.label, e.name) for e in entries] == [("v1", f"oci-archive:{skopeo_oci_archive}:v1")]
    location.close()

    for ref in ("v1", None):
        source = open_oci_archive_image(skopeo_oci_archive, ref)
        raw, media_type = source.get_manifest()
        assert raw == skopeo_raw(f"oci-archive:{skopeo_oci_archive}:v1")
        index = parse_manifest(raw, media_type)
        assert isinstance(index, ImageIndex)
        assert len(index.manifests) == 3
        for instance in index.manifests:
            manifest = image_manifest(source, str(instance.digest))
            assert manifest.digest == instance.digest
            for descriptor in (manifest.config, *manifest.layers):
                read_all(source, descriptor)
        source.close()
        source.close()


def test_oci_archive_unknown_ref(skopeo_oci_archive: Path) -> None:
    with pytest.raises(ImageNotFound) as caught:
        open_oci_archive_image(skopeo_oci_archive, "nope")
    assert str(skopeo_oci_archive) in str(caught.value)


def test_an_oci_archive_member_stored_twice_is_read_as_its_last_copy(
    skopeo_oci_archive: Path, tmp_path: Path
) -> None:
    """``tar -r`` appends a new index.json: extracting the tar (skopeo, umoci, tar -x)
    leaves the last copy, and so does reading it here."""
    import shutil

    updated = tmp_path / "updated.tar"
    shutil.copyfile(skopeo_oci_archive, updated)
    with tarfile.open(updated) as tar:
        member = tar.extractfile("index.json")
        assert member is not None
        index = json.loads(member.read())
    index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] = "only"
    raw = dump_json(index)
    info = tarfile.TarInfo("index.json")
    info.size = len(raw)
    with tarfile.open(updated, "a") as tar:
        tar.addfile(info, io.BytesIO(raw))
    source = open_oci_archive_image(updated, "only")
    assert source.get_manifest()[0] == skopeo_raw(f"oci-archive:{skopeo_oci_archive}:v1")
    with pytest.raises(ImageNotFound):
        open_oci_archive_image(updated, "v1")


def test_corrupt_oci_archive_blob_fails_when_read_to_the_end(
    skopeo_oci_archive: Path, tmp_path: Path
) -> None:
    path = tmp_path / "corrupt.tar"
    shutil.copy(skopeo_oci_archive, path)
    source = open_oci_archive_image(path, "v1")
    index = parse_manifest(source.get_manifest()[0])
    assert isinstance(index, ImageIndex)
    manifest = image_manifest(source, str(index.manifests[0].digest))
    layer = manifest.layers[0]
    flip_byte_in_member(path, f"blobs/sha256/{layer.digest.hex}", position=20)
    source = open_oci_archive_image(path, "v1")
    with source.open_blob(layer) as reader, pytest.raises(DigestMismatch) as caught:
        while reader.read(1024):
            pass
    assert str(path) in str(caught.value)


# --------------------------------------------------------------------------- bad input


def test_corrupt_docker_archive_layer_fails_when_read_to_the_end(tmp_path: Path) -> None:
    images = [(["example.com/bad:1"], image_spec("amd64", ["payload"]))]
    entries = docker_save_entries(images)
    path = write_tar(tmp_path / "bad.tar", entries)
    layer_member = next(name for kind, name, _ in entries if name.endswith("layer.tar"))
    source = open_docker_archive_image(path, None, None)
    manifest = image_manifest(source)
    flip_byte_in_member(path, layer_member, position=600)  # inside the file's data
    source = open_docker_archive_image(path, None, None)
    with source.open_blob(manifest.layers[0]) as reader, pytest.raises(DigestMismatch) as caught:
        reader.read()
    assert str(path) in str(caught.value)
    assert layer_member in str(caught.value)


@pytest.mark.parametrize("field", ["Config", "Layers"])
@pytest.mark.parametrize("bad", ["../../etc/passwd", "/etc/passwd", "layers/../../x"])
def test_manifest_json_naming_outside_paths_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, bad: str
) -> None:
    item: dict[str, Any] = {"Config": "config.json", "RepoTags": ["x:1"], "Layers": ["l.tar"]}
    item[field] = bad if field == "Config" else [bad]
    path = write_tar(
        tmp_path / "evil.tar",
        [
            ("file", "config.json", b'{"rootfs":{"type":"layers","diff_ids":[]}}'),
            ("file", "l.tar", b""),
            ("file", "manifest.json", dump_json([item])),
        ],
    )
    opened: list[str] = []
    original_open = TarTree.open

    def recording_open(self: TarTree, name: str) -> io.BufferedReader:
        opened.append(name)
        return original_open(self, name)

    monkeypatch.setattr(TarTree, "open", recording_open)
    for attempt in (
        lambda: open_docker_archive_image(path, None, None),
        lambda: open_docker_archive_location(path),
    ):
        with pytest.raises(UnsafeArchive) as caught:
            attempt()
        assert str(path) in str(caught.value)
        assert bad in str(caught.value)
    assert set(opened) == {"manifest.json"}


@pytest.mark.parametrize("target", ["../../etc/passwd", "/etc/passwd", "../../x", "a/../../../b"])
def test_symlink_members_leading_outside_are_refused(tmp_path: Path, target: str) -> None:
    config = b'{"rootfs":{"type":"layers","diff_ids":["%s"]}}' % sha256_digest(b"").encode()
    item = {"Config": "config.json", "RepoTags": ["x:1"], "Layers": ["layer/link"]}
    path = write_tar(
        tmp_path / "link.tar",
        [
            ("file", "config.json", config),
            ("symlink", "layer/link", target),
            ("file", "manifest.json", dump_json([item])),
        ],
    )
    source = open_docker_archive_image(path, None, None)
    with pytest.raises(UnsafeArchive) as caught:
        source.get_manifest()
    message = str(caught.value)
    assert str(path) in message and "layer/link" in message and target in message

    tree = TarTree(path)
    with pytest.raises(UnsafeArchive):
        tree.open("layer/link")
    with pytest.raises(UnsafeArchive):
        tree.exists("layer/link")


def test_hardlink_leading_outside_is_refused_and_inside_followed(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / "hard.tar",
        [
            ("file", "data/real", b"real bytes"),
            ("hardlink", "other/alias", "data/real"),
            ("symlink", "chain/one", "../other/alias"),
            ("hardlink", "evil", "../outside"),
        ],
    )
    tree = TarTree(path)
    with tree.open("chain/one") as stream:
        assert stream.read() == b"real bytes"
    assert tree.size("other/alias") == len(b"real bytes")
    with pytest.raises(UnsafeArchive, match="evil"):
        tree.open("evil")


def test_link_loops_are_refused(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / "loop.tar",
        [("symlink", "a", "b"), ("symlink", "b", "a"), ("symlink", "self", "./self")],
    )
    tree = TarTree(path)
    for name in ("a", "self"):
        with pytest.raises(InvalidLayout, match="loop") as caught:
            tree.open(name)
        assert str(path) in str(caught.value)


@pytest.mark.parametrize("member", ["/etc/passwd", "../evil", "ok/../../evil"])
def test_member_names_leading_outside_refuse_the_archive(tmp_path: Path, member: str) -> None:
    entries = docker_save_entries([(["x:1"], image_spec("amd64", ["a"]))])
    path = write_tar(tmp_path / "names.tar", [*entries, ("file", member, b"root:x:0:0\n")])
    with tarfile.open(path) as tar:  # the hostile name really is in the archive
        assert member in tar.getnames()
    for attempt in (
        lambda: TarTree(path),
        lambda: open_docker_archive_image(path, None, None),
        lambda: open_oci_archive_location(path),
        lambda: sniff_archive(path),
    ):
        with pytest.raises(UnsafeArchive) as caught:
            attempt()
        assert str(path) in str(caught.value)
        assert member in str(caught.value)


def test_requests_for_outside_paths_are_refused(single_image: Path) -> None:
    tree = TarTree(single_image)
    for bad in ("../x", "/etc/passwd", ""):
        with pytest.raises(UnsafeArchive):
            tree.open(bad)


def test_not_a_tar(tmp_path: Path) -> None:
    path = tmp_path / "notes.tar"
    path.write_bytes(b"These are not the droids you are looking for.\n" * 40)
    for attempt in (
        lambda: open_docker_archive_image(path, None, None),
        lambda: open_docker_archive_location(path),
        lambda: open_oci_archive_image(path, None),
        lambda: open_oci_archive_location(path),
    ):
        with pytest.raises(InvalidLayout, match="not a tar archive") as caught:
            attempt()
        assert str(path) in str(caught.value)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.tar"
    path.write_bytes(b"")
    with pytest.raises(InvalidLayout) as caught:
        open_docker_archive_image(path, None, None)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_tar(skopeo_docker_archive: Path, tmp_path: Path, keep: float) -> None:
    data = skopeo_docker_archive.read_bytes()
    path = tmp_path / "truncated.tar"
    path.write_bytes(data[: int(len(data) * keep)])
    for attempt in (
        lambda: open_docker_archive_image(path, None, None),
        lambda: open_oci_archive_location(path),
    ):
        with pytest.raises(InvalidLayout, match="truncated") as caught:
            attempt()
        assert str(path) in str(caught.value)


def test_truncated_at_a_header_boundary_after_the_first_member(tmp_path: Path) -> None:
    full = write_tar(tmp_path / "full.tar", [("file", "a", b"a" * 512), ("file", "b", b"b" * 512)])
    data = full.read_bytes()
    path = tmp_path / "cut.tar"
    path.write_bytes(data[: 1024 + 100])  # the first member and part of the next header
    with pytest.raises(InvalidLayout, match="truncated") as caught:
        TarTree(path)
    assert str(path) in str(caught.value)


def test_an_archive_cut_before_its_manifest_json_may_be_truncated(
        skopeo_docker_archive: Path, tmp_path: Path) -> None:
    """Cut exactly between two members, it reads as a tar: "it has no manifest.json" alone
    did not say that the file may be cut short."""
    with tarfile.open(skopeo_docker_archive) as tar:
        end = tar.getmember("manifest.json").offset  # (its header's start)
    path = tmp_path / "cut.tar"
    path.write_bytes(skopeo_docker_archive.read_bytes()[:end])
    with pytest.raises(InvalidLayout) as caught:
        open_docker_archive_image(path, None, None)
    assert str(caught.value) == (
        f'"{path}" is not a docker-archive: it has no manifest.json (as docker save writes '
        "it). It ends without the end-of-archive marker a tar is written with, so it may be "
        "truncated (copied or downloaded only in part).")
    # a whole tar without it is said as before
    whole = write_tar(tmp_path / "other.tar", [("file", "a", b"a")])
    with pytest.raises(InvalidLayout) as caught:
        open_docker_archive_image(whole, None, None)
    assert str(caught.value).endswith("it has no manifest.json (as docker save writes it).")


def test_an_oci_archive_cut_before_its_index_json_may_be_truncated(
        skopeo_oci_archive: Path, tmp_path: Path) -> None:
    """As a docker-archive cut before its manifest.json: "it has no oci-layout file" alone
    (and, opened by its bare path or in the window, "not an image archive") did not say
    that the file may be cut short."""
    with tarfile.open(skopeo_oci_archive) as tar:
        end = tar.getmember("index.json").offset  # (its header's start)
        assert tar.getmember("oci-layout").offset > end  # (skopeo writes it after)
    path = tmp_path / "cut.tar"
    path.write_bytes(skopeo_oci_archive.read_bytes()[:end])
    truncated = (" It ends without the end-of-archive marker a tar is written with, so it "
                 "may be truncated (copied or downloaded only in part).")
    with pytest.raises(InvalidLayout) as caught:
        open_oci_archive_image(path, None, None)
    assert str(caught.value) == (
        f'"{path}" is not an OCI archive: it has no index.json and no oci-layout file (as '
        f"skopeo copy … oci-archive: writes it).{truncated}")
    for opened in (open_location, detect_location_kind):  # the window's, a bare path's
        with pytest.raises(InvalidLayout) as caught:
            opened(path)
        assert str(caught.value) == (
            f'The file "{path}" is not an image archive: expected a tarball made by docker '
            "save (docker-archive) or of an OCI layout (oci-archive), compressed or not."
            f"{truncated}")
    # a whole tar without it is said as before
    whole = write_tar(tmp_path / "other.tar", [("file", "a", b"a")])
    with pytest.raises(InvalidLayout) as caught:
        open_oci_archive_image(whole, None, None)
    assert str(caught.value).endswith("it has no oci-layout file.")
    with pytest.raises(InvalidLayout) as caught:
        open_location(whole)
    assert str(caught.value).endswith("compressed or not.")


def test_tar_without_end_of_archive_blocks_is_accepted_like_go(tmp_path: Path) -> None:
    full = write_tar(tmp_path / "full.tar", [("file", "a", b"a" * 512)])
    with tarfile.open(full) as tar:
        end = tar.getmember("a").offset_data + 512
    path = tmp_path / "noeof.tar"
    path.write_bytes(full.read_bytes()[:end])
    with TarTree(path).open("a") as stream:
        assert stream.read() == b"a" * 512


def test_nonexistent_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "image.tar"
    for attempt in (
        lambda: open_docker_archive_image(path, None, None),
        lambda: open_docker_archive_location(path),
        lambda: open_oci_archive_image(path, None),
        lambda: open_oci_archive_location(path),
    ):
        with pytest.raises(InvalidLayout, match="does not exist") as caught:
            attempt()
        assert str(path) in str(caught.value)


def test_a_folder_is_not_an_archive(tmp_path: Path) -> None:
    with pytest.raises(InvalidLayout, match="folder") as caught:
        open_docker_archive_image(tmp_path, None, None)
    assert str(tmp_path) in str(caught.value)


def test_an_archive_that_cannot_be_read_says_so_by_its_bare_path_too(
        unprivileged_dir: Path) -> None:
    """Opened by its bare path (``spyglass inspect PATH``) or in the window, an archive
    that may not be read was said to be "not an image archive" (the tree's
    TransportError was taken for "no tar"), which would have a good archive deleted or
    saved again: every way of opening it says why, as ``docker-archive:PATH`` did."""
    images = [(["example.com/single:1"], image_spec("amd64", ["alpha"]))]
    path = write_tar(unprivileged_dir / "perm.tar", docker_save_entries(images))
    path.chmod(0o000)
    for opened in (
        detect_location_kind,  # a bare path's
        open_location,  # the window's
        sniff_archive,
        open_archive_location,
        lambda p: open_docker_archive_image(p, None, None),
        lambda p: open_oci_archive_location(p),
    ):
        with pytest.raises(TransportError) as caught:
            opened(path)
        assert str(caught.value) == f'Cannot read "{path}": Permission denied.'


@pytest.mark.parametrize("failing", ["open", "read"])
def test_an_archive_on_a_failing_disk_says_so_by_its_bare_path_too(
        single_image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        failing: str) -> None:
    """An I/O error, at the open or while the headers are read, as permission denied:
    not "not an image archive"; compressed or not."""
    import errno

    from spyglass.core.transports import tartree

    packed = tmp_path / "single.tar.gz"
    packed.write_bytes(gzip.compress(single_image.read_bytes()))
    opened = tartree.open_without_waiting

    class Failing(io.FileIO):
        def read(self, size: int | None = -1, /) -> bytes:
            raise OSError(errno.EIO, "Input/output error")

        readinto = read  # type: ignore[assignment]
        readall = read

    def failing_open(path: Path) -> Any:
        if failing == "open":
            raise OSError(errno.EIO, "Input/output error")
        opened(path).close()
        return Failing(path, "r")

    monkeypatch.setattr(tartree, "open_without_waiting", failing_open)
    for path in (single_image, packed):
        for opened_as in (detect_location_kind, open_location):
            with pytest.raises(TransportError) as caught:
                opened_as(path)
            assert str(caught.value) == f'Cannot read "{path}": Input/output error.'


@pytest.mark.parametrize(("suffix", "packer"), [("gz", gzip.compress)])
def test_compressed_tarballs_are_read_as_the_tar_inside(
    single_image: Path, tmp_path: Path, suffix: str, packer: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As containers/image reads them (docker save | gzip); more in test_decompressed."""
    temporary = tmp_path / "tmpdir"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    path = tmp_path / f"single.tar.{suffix}"
    path.write_bytes(packer(single_image.read_bytes()))
    source = open_docker_archive_image(path, None, None)
    try:
        assert source.get_manifest() == open_docker_archive_image(single_image).get_manifest()
    finally:
        source.close()
    assert list(temporary.iterdir()) == []


def test_wrong_kind_of_archive_says_which_it_is(
    skopeo_docker_archive: Path, skopeo_oci_archive: Path
) -> None:
    with pytest.raises(InvalidLayout, match="docker-archive:") as caught:
        open_oci_archive_image(skopeo_docker_archive, None)
    assert str(skopeo_docker_archive) in str(caught.value)
    with pytest.raises(InvalidLayout, match="oci-archive:") as caught:
        open_docker_archive_image(skopeo_oci_archive, None, None)
    assert str(skopeo_oci_archive) in str(caught.value)


@pytest.mark.parametrize(
    ("manifest_json", "match"),
    [
        (b"{not json", "not JSON"),
        (b'{"Config": "c.json"}', "not a list"),
        (b'[{"RepoTags": ["x:1"]}]', "Config"),
        (b'[{"Config": "c.json", "Layers": "l.tar"}]', "Layers"),
    ],
)
def test_malformed_manifest_json(tmp_path: Path, manifest_json: bytes, match: str) -> None:
    path = write_tar(tmp_path / "m.tar", [("file", "manifest.json", manifest_json)])
    with pytest.raises(InvalidLayout, match=match) as caught:
        open_docker_archive_location(path)
    assert str(path) in str(caught.value)


def test_layer_count_mismatch_and_missing_layer(tmp_path: Path) -> None:
    diff_id = sha256_digest(b"")
    config = b'{"rootfs":{"type":"layers","diff_ids":["%s"]}}' % diff_id.encode()
    mismatch = {"Config": "c.json", "RepoTags": [], "Layers": []}
    missing = {"Config": "c.json", "RepoTags": [], "Layers": ["gone.tar"]}
    for name, item, match in (
        ("count.tar", mismatch, "must match"),
        ("missing.tar", missing, "gone.tar"),
    ):
        path = write_tar(
            tmp_path / name,
            [("file", "c.json", config), ("file", "manifest.json", dump_json([item]))],
        )
        source = open_docker_archive_image(path, None, None)
        with pytest.raises(InvalidLayout, match=match) as caught:
            source.get_manifest()
        assert str(path) in str(caught.value)


def test_an_oci_archive_cut_before_a_blob_may_be_truncated(tmp_path: Path) -> None:
    """Cut between two members after its index.json, an oci-archive said only that the
    blob is missing: the truncation hint is added there too (where the tar ends without
    its end-of-archive marker), as a docker-archive's layer gets it."""
    builder = LayoutBuilder(tmp_path / "layout")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"cut after me\n"})]))
    builder.tag(image, "v1")
    manifest = builder.read_json(image)
    layer = manifest["layers"][0]["digest"]
    # the small files first, the layer last (a tool may write them in any order)
    others = sorted(f"blobs/sha256/{p.name}" for p in builder.blob_dir.iterdir()
                    if p.name != layer.removeprefix("sha256:"))
    names = ["oci-layout", "index.json", *others, f"blobs/sha256/{layer.removeprefix('sha256:')}"]
    whole = write_tar(tmp_path / "whole.tar", [
        ("file", name, (builder.root / name).read_bytes()) for name in names])
    with tarfile.open(whole) as tar:
        cut_at = tar.getmember(names[-1]).offset
    hint = (" It ends without the end-of-archive marker a tar is written with, so it may be "
            "truncated (copied or downloaded only in part).")
    for path, said in ((tmp_path / "cut.tar", hint), (whole, "")):
        if path != whole:
            path.write_bytes(whole.read_bytes()[:cut_at])
        else:  # a whole tar without the layer: said as before
            path = write_tar(tmp_path / "whole-without.tar", [
                ("file", name, (builder.root / name).read_bytes()) for name in names[:-1]])
        source = open_oci_archive_image(path, "v1", None)
        try:
            with pytest.raises(BlobNotFound) as caught:
                source.open_blob(Descriptor(manifest["layers"][0]["mediaType"],
                                            Digest.parse(layer),
                                            manifest["layers"][0]["size"]))
        finally:
            source.close()
        assert str(caught.value).endswith(
            f"(expected at blobs/sha256/{layer.removeprefix('sha256:')}).{said}"), \
            str(caught.value)


def test_an_archive_cut_before_a_layer_or_config_may_be_truncated(tmp_path: Path) -> None:
    """Cut between two members after its manifest.json, a docker-archive said only that
    it "has no such file" as the layer or config manifest.json names: the truncation
    hint a missing manifest.json gets is added there too (and only where the tar ends
    without its end-of-archive marker)."""
    images = [(["example.com/cut:1"], image_spec("amd64", ["alpha"]))]
    entries = docker_save_entries(images)
    entries.insert(0, entries.pop())  # manifest.json first, as docker save writes it
    entries.insert(1, entries.pop())  # then the config: a cut before the layer leaves it
    whole = write_tar(tmp_path / "whole.tar", entries)
    with tarfile.open(whole) as tar:
        members = {info.name: info.offset for info in tar}
    layer = next(name for name in members if name.endswith("/layer.tar"))
    config = next(name for name in members if name.endswith(".json") and "/" not in name
                  and name != "manifest.json")
    hint = (" It ends without the end-of-archive marker a tar is written with, so it may be "
            "truncated (copied or downloaded only in part).")
    for member, what in ((layer, "layer"), (config, "config")):
        path = tmp_path / f"cut-{what}.tar"
        path.write_bytes(whole.read_bytes()[: members[member]])
        source = open_docker_archive_image(path, None, None)
        with pytest.raises(InvalidLayout) as caught:
            source.get_manifest()
        assert str(caught.value) == (
            f'The docker-archive "{path}": image @0 names the {what} "{member}", but the '
            f"archive has no such file.{hint}")
        source.close()
    missing = {"Config": "c.json", "RepoTags": [], "Layers": ["gone.tar"]}
    path = write_tar(tmp_path / "missing.tar", [("file", "c.json", b'{"rootfs":{"type":'
                                                 b'"layers","diff_ids":["%s"]}}'
                                                 % sha256_digest(b"").encode()),
                                                ("file", "manifest.json", dump_json([missing]))])
    with pytest.raises(InvalidLayout) as caught:
        open_docker_archive_image(path, None, None).get_manifest()
    assert str(caught.value).endswith('names the layer "gone.tar", but the archive has no '
                                      "such file.")  # a whole tar: no hint


def test_a_layer_or_config_that_is_a_folder_is_said_to_be_one(tmp_path: Path) -> None:
    """A layer that is a folder in the archive (a directory member, or the folder of
    members stored without one) was said to be "no such file"."""
    config = b'{"rootfs":{"type":"layers","diff_ids":["%s"]}}' % sha256_digest(b"").encode()
    for name, entries, item in (
        ("layer-dir.tar", [("dir", "L", None), ("dir", "L/layer.tar", None),
                           ("file", "c.json", config)],
         {"Config": "c.json", "RepoTags": [], "Layers": ["L/layer.tar"]}),
        ("layer-implied.tar", [("file", "L/layer.tar/x", b"x"), ("file", "c.json", config)],
         {"Config": "c.json", "RepoTags": [], "Layers": ["./L/layer.tar"]}),
        ("config-dir.tar", [("dir", "c.json", None)],
         {"Config": "c.json", "RepoTags": [], "Layers": []}),
    ):
        path = write_tar(tmp_path / name,
                         [*entries, ("file", "manifest.json", dump_json([item]))])
        what, member = (("config", "c.json") if name.startswith("config")
                        else ("layer", item["Layers"][0].removeprefix("./")))
        with pytest.raises(InvalidLayout) as caught:
            open_docker_archive_image(path, None, None).get_manifest()
        assert str(caught.value) == (
            f'The docker-archive "{path}": image @0 names the {what} "{member}", but that '
            "is a folder in the archive, not a file.")


def test_tar_tree_basics(tmp_path: Path) -> None:
    path = write_tar(
        tmp_path / "t.tar",
        [
            ("dir", "./", None),
            ("dir", "./dir", None),
            ("file", "./dir/file", b"0123456789"),
            ("file", "dir/file", b"second copy"),  # the first of a name wins
        ],
    )
    tree = TarTree(path)
    assert tree.names() == ["dir", "dir/file"]
    assert tree.exists("dir/file") and tree.exists("./dir//file")
    assert not tree.exists("dir") and not tree.exists("nothing")
    assert tree.size("dir/file") == 10
    with pytest.raises(FileNotFoundError):
        tree.open("dir")
    with tree.open("dir/file") as stream:
        assert stream.read(3) == b"012"
        stream.seek(7)
        assert stream.read() == b"789"
    reader = tree.open("dir/file")
    tree.close()
    tree.close()
    assert reader.read() == b"0123456789"  # readers outlive the tree
    reader.close()


def test_archive_replaced_after_opening_is_noticed(single_image: Path) -> None:
    tree = TarTree(single_image)
    single_image.write_bytes(single_image.read_bytes() + b"\0" * 1024)
    with pytest.raises(TransportError, match="changed on disk") as caught:
        tree.open("manifest.json")
    assert str(single_image) in str(caught.value)


def test_sources_satisfy_the_protocol(single_image: Path, skopeo_oci_archive: Path) -> None:
    sources = [
        open_docker_archive_image(single_image),
        open_oci_archive_image(skopeo_oci_archive),
    ]
    for source in sources:
        assert isinstance(source, ImageSource)
        source.close()
    assert isinstance(sources[0], DockerArchiveImageSource)


class CancelOnSecondCheck(CancelToken):
    """A token that the operation itself cancels the second time it checks."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    def check(self) -> None:
        self.checks += 1
        if self.checks == 2:
            self.cancel()
        super().check()


def test_cancel_token_stops_the_size_scan_of_compressed_layers(tmp_path: Path) -> None:
    spec = ImageSpec(
        layers=[LayerSpec({"/big": bytes(3 * 1024 * 1024)}, compression="none")],
        docker_media_types=True,
    )
    entries = docker_save_entries([(["c:1"], spec)], compression="gzip")
    path = write_tar(tmp_path / "gz.tar", entries)
    token = CancelOnSecondCheck()
    source = open_docker_archive_image(path, None, None)
    with pytest.raises(Cancelled):
        source.get_manifest(cancel=token)
    assert token.checks == 2  # once on entry, once inside the decompressing size scan
    raw, _ = source.get_manifest()  # nothing half-computed was kept
    assert raw == skopeo_raw(f"docker-archive:{path}")
