"""What Spyglass's local destinations write, skopeo and umoci read.

Every destination (``oci:``, ``dir:``, ``oci-archive:``, ``docker-archive:``)
is fed by driving the ``ImageDestination`` protocol by hand from layouts the
test builder makes (an OCI index of three platforms; single images with
gzip, uncompressed and zstd layers). Then:

- ``skopeo inspect --raw`` returns the manifest that was written, byte for
  byte (for docker-archive, which stores no manifest, ``skopeo inspect``
  lists the uncompressed layer digests that were written);
- ``skopeo copy --all`` copies each output into a fresh ``oci:`` layout, and
  the image config survives unchanged;
- umoci lists the refs of every OCI layout written (also one it made itself,
  and one after concurrent commits) and unpacks the single images
  (``--rootless``; umoci 0.4 reads no zstd layers, and cannot choose a
  platform out of an index).

And the other way round: a ``dir:`` image and an OCI layout skopeo wrote are
replaced or extended by Spyglass, and skopeo still reads them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from spyglass.core import compression, media
from spyglass.core.digest import Digest
from spyglass.core.errors import BlobNotFound
from spyglass.core.manifest import Descriptor, ImageManifest, parse_manifest
from spyglass.core.transports import open_destination, open_source
from spyglass.core.transports.base import ImageDestination, ImageSource
from tests.helpers import require_tool
from tests.helpers.imagebuild import (
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    dump_json,
    multi_platform_layout,
)
from tests.unit.core.transports.test_layout_dest import copy_image

pytestmark = pytest.mark.interop

CONTENT = b"written by the Spyglass destination tests\n"


def run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{' '.join(args)} failed: {result.stderr.strip()}"
    return result.stdout


@pytest.fixture(scope="module")
def skopeo() -> str:
    return require_tool("skopeo")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One layout: ``multi`` (a 3-platform OCI index) and ``gzip``, ``plain``, ``zstd`` images."""
    root = tmp_path_factory.mktemp("sources") / "layout"
    multi_platform_layout(root, ref="multi")
    builder = LayoutBuilder(root)
    for compression_name in ("gzip", "none", "zstd"):
        descriptor = builder.add_image(
            ImageSpec(
                layers=[
                    LayerSpec({"/etc/motd": CONTENT}, compression=compression_name),
                    LayerSpec(
                        {"/usr/bin/app": b"#!/bin/sh\necho hi\n"},
                        compression=compression_name,
                        modes={"/usr/bin/app": 0o755},
                    ),
                ],
                cmd=["/usr/bin/app"],
                env=["PATH=/usr/bin"],
            )
        )
        builder.tag(descriptor, "plain" if compression_name == "none" else compression_name)
    return root


def to_docker_archive(source: ImageSource, dest: ImageDestination) -> list[str]:
    """Copy one image as the engine does for docker-archive; return the layer digests written."""
    manifest = parse_manifest(*source.get_manifest())
    assert isinstance(manifest, ImageManifest)
    layers = []
    for layer in manifest.layers:
        with source.open_blob(layer) as stream:
            layers.append(
                dest.put_blob(
                    compression.open_decompressed(stream),
                    media_type=media.DOCKER_LAYER,
                    digest=None,
                    size=None,
                )
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
    dest.put_manifest(raw, media.DOCKER_V2S2, Digest.of(raw))
    dest.commit(Descriptor(media.DOCKER_V2S2, Digest.of(raw), len(raw)), raw)
    return [str(layer.digest) for layer in layers]


@dataclass(frozen=True)
class Output:
    transport: str
    ref: str

    def name(self, root: Path) -> str:
        if self.transport == "oci":
            return f"oci:{root / 'oci'}:{self.ref}"
        if self.transport == "dir":
            return f"dir:{root / 'dir'}"
        if self.transport == "oci-archive":
            return f"oci-archive:{root / 'image.tar'}:{self.ref}"
        return f"docker-archive:{root / 'docker.tar'}:example.com/spyglass/{self.ref}:1.0"


OUTPUTS = [
    Output(transport, ref)
    for transport in ("oci", "dir", "oci-archive", "docker-archive")
    for ref in ("multi", "gzip", "plain", "zstd")
    if not (transport == "docker-archive" and ref == "multi")
]


@pytest.mark.parametrize("output", OUTPUTS, ids=lambda o: f"{o.transport}-{o.ref}")
def test_skopeo_reads_and_copies_what_was_written(
    output: Output, sources: Path, tmp_path: Path, skopeo: str
) -> None:
    source = open_source(f"oci:{sources}:{output.ref}")
    name = output.name(tmp_path)
    dest = open_destination(name)
    if output.transport == "docker-archive":
        layers = to_docker_archive(source, dest)
        assert json.loads(run(skopeo, "inspect", name))["Layers"] == layers
    else:
        copy_image(source, dest)
        raw = source.get_manifest()[0]
        assert run(skopeo, "inspect", "--raw", name).encode() == raw
    dest.close()

    copied = f"oci:{tmp_path / 'copied'}:x"
    run(skopeo, "copy", "-q", "--all", name, copied)
    if output.ref != "multi":
        config = run(skopeo, "inspect", "--config", "--raw", f"oci:{sources}:{output.ref}")
        assert run(skopeo, "inspect", "--config", "--raw", copied) == config


@pytest.mark.parametrize("ref", ["multi", "gzip", "plain", "zstd"])
def test_umoci_accepts_the_layouts_written(ref: str, sources: Path, tmp_path: Path) -> None:
    umoci = require_tool("umoci")
    out = tmp_path / "oci"
    copy_image(open_source(f"oci:{sources}:{ref}"), open_destination(f"oci:{out}:{ref}"))
    assert run(umoci, "ls", "--layout", str(out)).split() == [ref]
    if ref in ("gzip", "plain"):
        bundle = tmp_path / "bundle"
        run(umoci, "unpack", "--rootless", "--image", f"{out}:{ref}", str(bundle))
        assert (bundle / "rootfs" / "etc" / "motd").read_bytes() == CONTENT
        assert (bundle / "rootfs" / "usr" / "bin" / "app").stat().st_mode & 0o777 == 0o755


def test_umoci_and_skopeo_read_a_layout_after_concurrent_commits(
    sources: Path, tmp_path: Path, skopeo: str
) -> None:
    umoci = require_tool("umoci")
    out = tmp_path / "oci"
    refs = [f"{ref}-{n}" for ref in ("gzip", "plain") for n in range(6)]

    def commit(ref: str) -> None:
        dest = open_destination(f"oci:{out}:{ref}")
        copy_image(open_source(f"oci:{sources}:{ref.rsplit('-', 1)[0]}"), dest)
        dest.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(commit, refs))
    assert sorted(run(umoci, "ls", "--layout", str(out)).split()) == sorted(refs)
    for ref in refs:
        run(skopeo, "inspect", f"oci:{out}:{ref}")
    bundle = tmp_path / "bundle"
    run(umoci, "unpack", "--rootless", "--image", f"{out}:gzip-3", str(bundle))
    assert (bundle / "rootfs" / "etc" / "motd").read_bytes() == CONTENT


def test_a_layout_umoci_made_gets_our_image(sources: Path, tmp_path: Path, skopeo: str) -> None:
    umoci = require_tool("umoci")
    out = tmp_path / "oci"
    run(umoci, "init", "--layout", str(out))
    copy_image(open_source(f"oci:{sources}:gzip"), open_destination(f"oci:{out}:ours"))
    assert run(umoci, "ls", "--layout", str(out)).split() == ["ours"]
    run(skopeo, "inspect", f"oci:{out}:ours")


def test_a_layout_skopeo_made_keeps_its_refs(sources: Path, tmp_path: Path, skopeo: str) -> None:
    out = tmp_path / "oci"
    run(skopeo, "copy", "-q", f"oci:{sources}:gzip", f"oci:{out}:theirs")
    copy_image(open_source(f"oci:{sources}:plain"), open_destination(f"oci:{out}:ours"))
    theirs = json.loads(run(skopeo, "inspect", f"oci:{out}:theirs"))
    ours = json.loads(run(skopeo, "inspect", f"oci:{out}:ours"))
    assert theirs["Digest"] != ours["Digest"]
    assert run(skopeo, "inspect", "--raw", f"oci:{out}:ours").encode() == open_source(
        f"oci:{sources}:plain"
    ).get_manifest()[0]


def test_a_layout_skopeo_wrote_with_a_shared_blob_folder_gets_a_hint(
        sources: Path, tmp_path: Path, skopeo: str) -> None:
    """``skopeo copy --dest-shared-blob-dir`` leaves the layout's own blobs/ empty: it was
    only "The blob … is missing from …", which said nothing of why or what to do. The
    command the hint gives makes a layout Spyglass reads."""
    shared, out, own = tmp_path / "shared", tmp_path / "oci", tmp_path / "own"
    run(skopeo, "copy", "-q", "--dest-shared-blob-dir", str(shared),
        f"oci:{sources}:gzip", f"oci:{out}:t")
    hint = (f'The OCI image layout "{out}" holds none of the blobs its index.json names: '
            "was it written with skopeo's --dest-shared-blob-dir? Spyglass does not read "
            "shared blob folders; copy the image into a layout of its own first: skopeo copy "
            f"--src-shared-blob-dir DIR oci:{out}:t oci:NEWPATH:t.")  # (its one ref)
    with pytest.raises(BlobNotFound) as caught:
        open_source(f"oci:{out}:t").get_manifest()
    assert str(caught.value).startswith("The blob sha256:")
    assert str(caught.value).endswith(f"). {hint}")
    run(skopeo, "copy", "-q", "--dest-shared-blob-dir", str(shared),
        f"oci:{sources}:plain", f"oci:{out}:u")
    with pytest.raises(BlobNotFound) as caught:
        open_source(f"oci:{out}:u").get_manifest()
    assert str(caught.value).endswith(  # several: said as REF, and which they are
        f"oci:{out}:REF oci:NEWPATH:REF, for each of its refs (t, u).")
    run(skopeo, "copy", "-q", "--src-shared-blob-dir", str(shared), f"oci:{out}:t",
        f"oci:{own}:t")
    assert open_source(f"oci:{own}:t").get_manifest()[0] == open_source(
        f"oci:{sources}:gzip").get_manifest()[0]
    # a layout that holds some of its blobs is only missing one: no hint
    copy_image(open_source(f"oci:{sources}:plain"), open_destination(f"oci:{out}:plain"))
    with pytest.raises(BlobNotFound) as caught:
        open_source(f"oci:{out}:t").get_manifest()
    assert "shared" not in str(caught.value)


def test_a_dir_image_skopeo_wrote_is_replaced(sources: Path, tmp_path: Path, skopeo: str) -> None:
    out = tmp_path / "dir"
    run(skopeo, "copy", "-q", "--all", f"oci:{sources}:multi", f"dir:{out}")
    copy_image(open_source(f"oci:{sources}:gzip"), open_destination(f"dir:{out}"))
    assert run(skopeo, "inspect", "--raw", f"dir:{out}").encode() == open_source(
        f"oci:{sources}:gzip"
    ).get_manifest()[0]
    assert not [name for name in (p.name for p in out.iterdir()) if name.endswith(".manifest.json")]


@pytest.mark.parametrize("tags", [
    ["--additional-tag", "example.com/team/app:2", "--additional-tag", "busybox:1"],
    ["--additional-tag", "example.com/team/app:2,busybox:1"],  # cobra's StringSlice
    ['--additional-tag=example.com/team/app:2,"busybox:1"', "--additional-tag", ""],
], ids=["repeated", "commas", "csv"])
def test_additional_tags_write_the_archive_skopeo_writes(
    sources: Path, tmp_path: Path, skopeo: str, tags: list[str]
) -> None:
    """``--additional-tag``: the same members, manifest.json and repositories as skopeo's,
    the flag repeated or its names separated with commas (as a CSV line: quotes, and an
    empty value adding none, as skopeo's string slices read it)."""
    source = f"oci:{sources}:gzip"
    theirs, ours = tmp_path / "theirs.tar", tmp_path / "ours.tar"
    subprocess.run([skopeo, "--insecure-policy", "copy", "-q", *tags, source,
                    f"docker-archive:{theirs}:app:1"], check=True, capture_output=True)
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "spyglass", "copy", "-q", *tags, source,
                           f"docker-archive:{ours}:app:1"],
                          env={**os.environ, "PYTHONPATH": str(repo / "app")},
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr

    def members(path: Path) -> dict[str, bytes]:
        with tarfile.open(path) as tar:
            return {m.name: (tar.extractfile(m).read() if m.isfile() else b"")  # type: ignore[union-attr]
                    for m in tar.getmembers()}

    mine, skopeos = members(ours), members(theirs)
    assert sorted(mine) == sorted(skopeos)
    assert mine["manifest.json"] == skopeos["manifest.json"]
    assert mine["repositories"] == skopeos["repositories"]
    assert json.loads(mine["manifest.json"])[0]["RepoTags"] == [
        "docker.io/library/app:1", "example.com/team/app:2", "docker.io/library/busybox:1"]
    for name in ("docker.io/library/busybox:1", "example.com/team/app:2"):
        subprocess.run([skopeo, "inspect", f"docker-archive:{ours}:{name}"], check=True,
                       capture_output=True)
    # the names in it, as skopeo list-tags prints them
    listed = subprocess.run([skopeo, "list-tags", f"docker-archive:{ours}"], check=True,
                            capture_output=True, text=True).stdout
    ours_listed = subprocess.run([sys.executable, "-m", "spyglass", "tags",
                                  f"docker-archive:{ours}"],
                                 env={**os.environ, "PYTHONPATH": str(repo / "app")},
                                 capture_output=True, text=True, check=False)
    assert ours_listed.returncode == 0, ours_listed.stderr
    assert json.loads(ours_listed.stdout) == json.loads(listed)


def test_tags_of_an_archive_of_an_unnamed_image_agree_with_skopeo(
    sources: Path, tmp_path: Path, skopeo: str
) -> None:
    """An image without a name is listed by its position, as skopeo list-tags lists it."""
    archive = tmp_path / "unnamed.tar"
    subprocess.run([skopeo, "--insecure-policy", "copy", "-q", f"oci:{sources}:gzip",
                    f"docker-archive:{archive}"], check=True, capture_output=True)
    theirs = subprocess.run([skopeo, "list-tags", f"docker-archive:{archive}"], check=True,
                            capture_output=True, text=True).stdout
    repo = Path(__file__).resolve().parents[2]
    ours = subprocess.run([sys.executable, "-m", "spyglass", "tags", f"docker-archive:{archive}"],
                          env={**os.environ, "PYTHONPATH": str(repo / "app")},
                          capture_output=True, text=True, check=False)
    assert ours.returncode == 0, ours.stderr
    assert json.loads(ours.stdout) == json.loads(theirs) == {"Tags": ["@0"]}
