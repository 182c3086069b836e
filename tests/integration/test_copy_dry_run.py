"""``spyglass copy --dry-run`` prints the plan, line by line, and writes nothing: each
image with its digest before and after, each blob (one shared by two images listed
once) with its size and what becomes of it — copied, recompressed, already at the
destination, mounted from another repository —, the media types a format conversion
maps, and the totals."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from spyglass.core.units import human_size
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder
from tests.helpers.registry import RegistryServer
from tests.integration.test_copy_roundtrip import copy, ok, spyglass

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Blob:
    short: str
    size: int

    def line(self, role: str, action: str) -> str:
        return f"    {role:<7}  {self.short}  {human_size(self.size):>9}  {action}"


@dataclass(frozen=True)
class Image:
    short: str
    config: Blob
    layers: tuple[Blob, ...]


@dataclass(frozen=True)
class Source:
    root: Path
    index: str
    """The list's short digest."""
    images: dict[str, Image]
    """By platform: linux/amd64, linux/arm64/v8."""


def _blob(descriptor: dict[str, object]) -> Blob:
    return Blob(str(descriptor["digest"])[7:19], int(str(descriptor["size"])))


@pytest.fixture
def source(tmp_path: Path) -> Source:
    """A list of two images, for linux/amd64 and linux/arm64/v8, of 3 gzip layers each:
    the first and the last shared, the middle one each its own. Its content is this
    test's own (not met in the registry before, so nothing of it is mounted unasked)."""
    root = tmp_path / "source"
    builder = LayoutBuilder(root)
    marker = os.urandom(16).hex().encode()
    base = LayerSpec({"/base": b"base " + marker})
    app = LayerSpec({"/app": b"app " + marker})
    entries = [builder.add_image(ImageSpec(architecture=arch, variant=variant, layers=[
        base, LayerSpec({"/arch": arch.encode() + marker}), app]))
        for arch, variant in (("amd64", None), ("arm64", "v8"))]
    index = builder.add_index(entries)
    builder.tag(index, "v1")
    images = {}
    for entry, platform in zip(entries, ("linux/amd64", "linux/arm64/v8"), strict=True):
        manifest = builder.read_json(entry)
        images[platform] = Image(entry["digest"][7:19], _blob(manifest["config"]),
                                 tuple(_blob(layer) for layer in manifest["layers"]))
    return Source(root, index["digest"][7:19], images)


def dry_run(*args: str) -> list[str]:
    return ok("copy", "--dry-run", *args).stdout.decode().splitlines()


def test_a_recompression_to_zstd_of_the_whole_list(source: Source, tmp_path: Path) -> None:
    out = tmp_path / "out"
    amd, arm = source.images["linux/amd64"], source.images["linux/arm64/v8"]
    moved = sum(b.size for b in (amd.config, *amd.layers, arm.config, arm.layers[1]))
    assert dry_run("--all", "--dest-compress-format", "zstd", f"oci:{source.root}:v1",
                   f"oci:{out}:z") == [
        f"Would copy oci:{source.root}:v1 → oci:{out}:z",
        f"  list: {source.index} → (new digest: rebuilt), OCI image index",
        f"  image linux/amd64: {amd.short} → (new digest: converted), OCI image manifest, "
        "3 layers",
        amd.config.line("config", "copied"),
        amd.layers[0].line("layer 1", "recompressed gzip → zstd"),
        amd.layers[1].line("layer 2", "recompressed gzip → zstd"),
        amd.layers[2].line("layer 3", "recompressed gzip → zstd"),
        f"  image linux/arm64/v8: {arm.short} → (new digest: converted), OCI image "
        "manifest, 3 layers",
        arm.config.line("config", "copied"),
        arm.layers[1].line("layer 2", "recompressed gzip → zstd"),
        "    layers 1, 3: listed above",  # shared with linux/amd64: listed once
        f"  total: 6 blobs, {human_size(moved)} to move",
    ]
    assert not out.exists()  # nothing written

    # into a layout holding one of the images: its blobs are there (its files, whose
    # digests the copy checks before it relies on them)
    copy("--platform", "linux/amd64", f"oci:{source.root}:v1", f"oci:{out}:amd64")
    before = sorted(p.name for p in (out / "blobs" / "sha256").iterdir())
    lines = dry_run("--all", f"oci:{source.root}:v1", f"oci:{out}:all")
    assert lines[3:7] == [amd.config.line("config", "already there"),
                          *(layer.line(f"layer {n}", "already there")
                            for n, layer in enumerate(amd.layers, 1))]
    assert lines[8:10] == [arm.config.line("config", "copied"),
                           arm.layers[1].line("layer 2", "copied")]
    assert lines[-1] == (f"  total: 6 blobs, {human_size(arm.config.size + arm.layers[1].size)}"
                         " to move; 4 already there")
    assert sorted(p.name for p in (out / "blobs" / "sha256").iterdir()) == before


def test_a_format_conversion_names_the_media_types_it_maps(
        source: Source, tmp_path: Path) -> None:
    out = tmp_path / "dir"
    amd, arm = source.images["linux/amd64"], source.images["linux/arm64/v8"]
    lines = dry_run("--all", "--format", "v2s2", f"oci:{source.root}:v1", f"dir:{out}")
    assert lines[1:3] == [
        f"  list: {source.index} → (new digest: converted), Docker manifest list",
        f"  image linux/amd64: {amd.short} → (new digest: converted), Docker manifest "
        "(schema 2), 3 layers"]
    assert amd.layers[0].line("layer 1", "copied") in lines  # the same bytes, renamed
    assert lines[lines.index(f"  image linux/arm64/v8: {arm.short} → (new digest: "
                             "converted), Docker manifest (schema 2), 3 layers") + 1] == \
        arm.config.line("config", "copied")
    assert lines[-6:-1] == [
        "  format: OCI → Docker schema 2; media types mapped:",
        "    OCI image index → Docker manifest list",
        "    OCI image manifest → Docker manifest (schema 2)",
        "    OCI image config → Docker image config",
        "    OCI layer (gzip) → Docker layer (gzip)"]
    assert lines[-1].startswith("  total: 6 blobs, ")
    assert not out.exists()

    # one platform: the list is not written, its image goes alone, converted
    lines = dry_run("--platform", "linux/arm64", "--format", "v2s2",
                    f"oci:{source.root}:v1", f"dir:{out}")
    assert lines[1:4] == [
        f"  list: {source.index} (not written: the image below goes alone)",
        f"  image linux/arm64/v8: {arm.short} → (new digest: converted), Docker manifest "
        "(schema 2), 3 layers",
        arm.config.line("config", "copied")]
    assert "    OCI image index → Docker manifest list" not in lines
    alone = sum(b.size for b in (arm.config, *arm.layers))
    assert lines[-1] == f"  total: 4 blobs, {human_size(alone)} to move"
    assert not out.exists()


def test_into_a_registry_it_says_what_is_there_and_what_is_mounted(
        source: Source, registry: RegistryServer) -> None:
    amd, arm = source.images["linux/amd64"], source.images["linux/arm64/v8"]
    name = f"oci:{source.root}:v1"
    repository = f"it/dry-run-{source.index}"
    held = f"docker://{registry.host}/{repository}:amd64"
    copy("--platform", "linux/amd64", name, held)

    # the tag names the very image: nothing would be written
    lines = dry_run("--platform", "linux/amd64", name, held)
    assert lines[1:3] == [
        f"  already there: {held} names this very image; nothing would be written",
        f"  list: {source.index} (not written: the image below goes alone)"]
    assert lines[3] == f"  image linux/amd64: {amd.short} (digest kept), OCI image manifest, " \
        "3 layers"
    assert lines[4:8] == [amd.config.line("config", "already there"),
                          *(layer.line(f"layer {n}", "already there")
                            for n, layer in enumerate(amd.layers, 1))]
    assert lines[-1] == "  total: 4 blobs, nothing to move; 4 already there"

    # the whole list under another tag: the amd64 image's blobs are there (HEAD), the
    # arm64 image's own are not
    lines = dry_run("--all", name, f"docker://{registry.host}/{repository}:all")
    assert lines[1] == f"  list: {source.index} (digest kept), OCI image index"
    assert lines[-4:] == [
        arm.config.line("config", "copied"),
        arm.layers[1].line("layer 2", "copied"),
        "    layers 1, 3: listed above",
        f"  total: 6 blobs, {human_size(arm.config.size + arm.layers[1].size)} to move; "
        "4 already there"]

    # into another repository: what the blob-location cache knows is mounted from there
    other = f"docker://{registry.host}/{repository}-b:all"
    lines = dry_run("--all", name, other)
    assert lines[3:7] == [amd.config.line("config", f"mounted from {repository}"),
                          *(layer.line(f"layer {n}", f"mounted from {repository}")
                            for n, layer in enumerate(amd.layers, 1))]
    assert lines[-1] == f"  total: 6 blobs, {human_size(arm.config.size + arm.layers[1].size)}" \
        " to move; 4 mounted"

    # and nothing was written: the tags are as they were, the other repository empty
    assert spyglass("inspect", "--raw", other).returncode == 1
    assert spyglass("inspect", "--raw", f"docker://{registry.host}/{repository}:all"
                    ).returncode == 1
    raw = ok("inspect", "--raw", held).stdout
    assert json.loads(raw)["config"]["digest"][7:19] == amd.config.short


def test_an_image_held_whole_still_looks_up_what_goes_along_with_it(
        registry: RegistryServer, tmp_path: Path) -> None:
    """The tag names the very image, and a referrer came to it in the source since: the
    dry run said its blob was "already there" and "nothing to move" (every blob counted
    as held with the image), and the real copy then sent it."""
    root = tmp_path / "src"
    builder = LayoutBuilder(root)
    marker = os.urandom(16).hex().encode()
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/r": marker})]))
    builder.tag(image, "v1")
    name = f"oci:{root}:v1"
    held = f"docker://{registry.host}/it/dry-run-held-{marker[:12].decode()}:v1"
    copy(name, held)
    referrer = builder.add_referrer(image, "application/vnd.example.sbom." + marker.decode())
    builder.tag(referrer, None)
    part = builder.read_json(referrer)["layers"][0]

    def attached_part(lines: list[str]) -> str:
        [line] = [line for line in lines if str(part["digest"])[7:19] in line
                  and "part of" in line]
        return line

    lines = dry_run(name, held)
    assert "nothing would be written, but what is attached to it goes along where it " \
        "is missing" in lines[1]
    # (its part, "{}", may be in another repository of the session's registry)
    part_line = attached_part(lines)
    assert part_line.endswith("copied") or "  mounted from " in part_line
    assert lines[-1] in ("  total: 3 blobs (1 attached), 2 B to move; 2 already there",
                         "  total: 3 blobs (1 attached), nothing to move; 2 already there, "
                         "1 mounted")
    copy(name, held)
    lines = dry_run(name, held)
    assert attached_part(lines).endswith("already there")
    assert lines[-1] == "  total: 3 blobs (1 attached), nothing to move; 3 already there"
