"""Loading images: list walking, platform choice, verified configs (spyglass.core.image)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import spyglass.core.image as image_module
from spyglass.core import media
from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    Cancelled,
    DigestMismatch,
    InvalidManifest,
    PlatformNotFound,
)
from spyglass.core.image import load_config, load_image, load_manifest, summarize_index
from spyglass.core.manifest import ImageIndex, ImageManifest
from spyglass.core.platform import Platform, host_platform
from spyglass.core.transports.layout import open_layout_image
from tests.helpers.imagebuild import (
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    multi_platform_layout,
)

OFFERED = {"linux/amd64", "linux/arm64/v8", "linux/arm/v7"}


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    root = tmp_path / "layout"
    return root, multi_platform_layout(root)


def manifests_by_arch(root: Path, index_desc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    builder = LayoutBuilder(root)
    index = builder.read_json(index_desc)
    return {m["platform"]["architecture"]: m for m in index["manifests"]}


def test_host_platform_choice(
    layout: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = layout
    for host, arch, variant in (
        (Platform("linux", "x86_64"), "amd64", ""),
        (Platform("linux", "aarch64"), "arm64", "v8"),
        (Platform("linux", "armv7l"), "arm", "v7"),
        (Platform("linux", "arm", "v8"), "arm", "v7"),
    ):
        monkeypatch.setattr(image_module, "host_platform", lambda host=host: host.normalized())
        image = load_image(open_layout_image(root, "latest"))
        assert image.config is not None
        assert image.config.architecture == arch
        assert image.config.variant == variant


def test_default_is_this_machine(layout: tuple[Path, dict[str, Any]]) -> None:
    root, _ = layout
    host = host_platform()
    if str(host) not in OFFERED and str(Platform(host.os, host.architecture)) not in OFFERED:
        pytest.skip(f"the test image has no {host} instance")
    image = load_image(open_layout_image(root, "latest"))
    assert image.config is not None
    assert image.config.architecture == host.architecture


def test_host_without_an_instance(
    layout: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = layout
    monkeypatch.setattr(image_module, "host_platform", lambda: Platform("linux", "s390x"))
    with pytest.raises(PlatformNotFound, match="has no image for linux/s390x"):
        load_image(open_layout_image(root, "latest"))


def test_platform_choice(layout: tuple[Path, dict[str, Any]]) -> None:
    root, index_desc = layout
    by_arch = manifests_by_arch(root, index_desc)
    source = open_layout_image(root, "latest")
    image = load_image(source, platform=Platform.parse("linux/arm64"))
    assert isinstance(image.top, ImageIndex)
    assert str(image.top.digest) == index_desc["digest"]
    assert isinstance(image.manifest, ImageManifest)
    assert str(image.manifest.digest) == by_arch["arm64"]["digest"]
    assert image.instance is not None
    assert str(image.instance.digest) == by_arch["arm64"]["digest"]
    assert [str(d.digest) for d in image.chain] == [by_arch["arm64"]["digest"]]
    assert image.config is not None
    assert (image.config.architecture, image.config.variant) == ("arm64", "v8")
    assert image.config.labels["arch"] == "arm64"
    assert len(image.layers) == 3
    assert image.name == f"oci:{root}:latest"

    older_arm = load_image(source, platform=Platform.parse("linux/arm/v8"))
    assert older_arm.config is not None
    assert (older_arm.config.architecture, older_arm.config.variant) == ("arm", "v7")


def test_platform_not_found_lists_what_is_offered(layout: tuple[Path, dict[str, Any]]) -> None:
    root, index_desc = layout
    with pytest.raises(PlatformNotFound) as info:
        load_image(open_layout_image(root, "latest"), platform=Platform.parse("windows/amd64"))
    message = str(info.value)
    assert index_desc["digest"] in message
    assert "has no image for windows/amd64" in message
    assert "it offers: linux/amd64, linux/arm/v7, linux/arm64/v8." in message
    # the command line says how to choose; the window has its Platforms tab
    assert "--platform" not in message
    assert info.value.on_command_line == f"{message} Choose one with --platform."


def test_nested_index(tmp_path: Path) -> None:
    """index.json → index → index → images: the walk descends to the platform wanted."""
    root = tmp_path / "nested"
    builder = LayoutBuilder(root)
    images = {
        arch: builder.add_image(
            ImageSpec(architecture=arch, variant=variant,
                      layers=[LayerSpec({"/arch": arch.encode()})])
        )
        for arch, variant in (("amd64", None), ("arm64", "v8"), ("s390x", None))
    }
    inner = builder.add_index([images["amd64"], images["arm64"]])
    middle = builder.add_index([inner])
    other = builder.add_index([images["s390x"]])
    top = builder.add_index([middle, other])
    builder.tag(top, "nested")
    source = open_layout_image(root, "nested")

    image = load_image(source, platform=Platform.parse("linux/arm64"))
    assert [str(d.digest) for d in image.chain] == [
        middle["digest"], inner["digest"], images["arm64"]["digest"],
    ]
    assert str(image.top.digest) == top["digest"]
    assert str(image.manifest.digest) == images["arm64"]["digest"]
    assert image.config is not None and image.config.architecture == "arm64"

    s390x = load_image(source, platform=Platform.parse("linux/s390x"))
    assert [str(d.digest) for d in s390x.chain] == [other["digest"], images["s390x"]["digest"]]

    with pytest.raises(PlatformNotFound):
        load_image(source, platform=Platform.parse("linux/ppc64le"))


def test_instance_by_digest(layout: tuple[Path, dict[str, Any]]) -> None:
    root, index_desc = layout
    by_arch = manifests_by_arch(root, index_desc)
    wanted = Digest.parse(by_arch["arm"]["digest"])
    image = load_image(open_layout_image(root, "latest"), instance=wanted,
                       platform=Platform.parse("linux/amd64"))
    assert image.manifest.digest == wanted
    assert image.instance is not None and image.instance.digest == wanted
    assert image.instance.platform == Platform("linux", "arm", "v7")
    assert image.config is not None and image.config.architecture == "arm"


def test_instance_that_is_a_list_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "nested"
    builder = LayoutBuilder(root)
    image_desc = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})]))
    inner = builder.add_index([image_desc])
    builder.tag(builder.add_index([inner]), "x")
    with pytest.raises(InvalidManifest, match="is itself a manifest list, not an image"):
        load_image(open_layout_image(root, "x"), instance=Digest.parse(inner["digest"]))


def test_single_image(tmp_path: Path) -> None:
    root = tmp_path / "single"
    builder = LayoutBuilder(root)
    desc = builder.add_image(
        ImageSpec(layers=[LayerSpec({"/a": b"a"}), LayerSpec({"/b": b"b"})], env=["A=1"],
                  docker_media_types=True)
    )
    builder.tag(desc, "1.0")
    image = load_image(open_layout_image(root, "1.0"), platform=Platform.parse("linux/s390x"))
    # a single image is what the name says, whatever platform was asked for
    assert image.top is image.manifest
    assert image.chain == ()
    assert image.instance is None
    assert image.manifest.media_type == media.DOCKER_V2S2
    assert image.config is not None and image.config.env == ("A=1",)


def test_config_is_verified(layout: tuple[Path, dict[str, Any]]) -> None:
    root, index_desc = layout
    by_arch = manifests_by_arch(root, index_desc)
    builder = LayoutBuilder(root)
    manifest = builder.read_json(by_arch["amd64"])
    config_path = builder.blob_path(manifest["config"]["digest"])
    data = bytearray(config_path.read_bytes())
    data[data.index(b"amd64")] = ord("A")  # same size, different content
    config_path.write_bytes(bytes(data))
    source = open_layout_image(root, "latest")
    with pytest.raises(DigestMismatch) as info:
        load_image(source, platform=Platform.parse("linux/amd64"))
    assert manifest["config"]["digest"] in str(info.value)
    # the other instances are intact
    assert load_image(source, platform=Platform.parse("linux/arm64")).config is not None


def test_artifact_has_no_config(tmp_path: Path) -> None:
    root = tmp_path / "artifact"
    builder = LayoutBuilder(root)
    empty = builder.add_blob(b"{}")
    payload = builder.add_blob(b"hello")
    manifest = {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "artifactType": "application/vnd.example+type",
        "config": {"mediaType": media.OCI_EMPTY, **empty},
        "layers": [{"mediaType": "text/plain", **payload}],
    }
    desc = builder.add_blob(json.dumps(manifest).encode())
    builder.tag({"mediaType": media.OCI_MANIFEST, **desc}, "art")
    source = open_layout_image(root, "art")
    image = load_image(source)
    assert image.config is None
    assert isinstance(image.manifest, ImageManifest) and image.manifest.is_artifact
    assert load_config(source, image.manifest) is None


def test_load_manifest_checks_the_digest_asked_for(layout: tuple[Path, dict[str, Any]]) -> None:
    root, _ = layout
    source = open_layout_image(root, "latest")
    top = load_manifest(source)
    assert isinstance(top, ImageIndex)
    child = load_manifest(source, top.manifests[0].digest)
    assert child.digest == top.manifests[0].digest


def test_cancel(layout: tuple[Path, dict[str, Any]]) -> None:
    root, _ = layout
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        load_image(open_layout_image(root, "latest"), cancel=token)


def test_summarize_index(layout: tuple[Path, dict[str, Any]]) -> None:
    root, _ = layout
    source = open_layout_image(root, "latest")
    top = load_manifest(source)
    assert isinstance(top, ImageIndex)
    summaries, total = summarize_index(source, top)
    assert [str(s.descriptor.platform) for s in summaries] == [
        "linux/amd64", "linux/arm64/v8", "linux/arm/v7",
    ]
    for summary in summaries:
        assert isinstance(summary.manifest, ImageManifest)
        assert summary.image_size == summary.manifest.total_size
    # every blob of the layout counted once (the base and app layers are shared)
    blobs = sum(p.stat().st_size for p in (root / "blobs" / "sha256").iterdir())
    assert total == blobs



def test_summarize_index_takes_in_the_images_of_nested_lists(tmp_path: Path) -> None:
    """A list of lists: the nested lists' images are entries (the lists are not), each
    list walked once, and their blobs are counted (the total was the lists' bytes alone,
    less than one of their images)."""
    builder = LayoutBuilder(tmp_path / "nested")
    images = {arch: builder.add_image(ImageSpec(
        architecture=arch, layers=[LayerSpec({"/arch": arch.encode()})]))
        for arch in ("amd64", "arm64", "s390x")}
    inner = builder.add_index([images["amd64"], images["arm64"]])
    builder.tag(builder.add_index([inner, images["s390x"], inner]), "v1")
    source = open_layout_image(builder.root, "v1")
    top = load_manifest(source)
    assert isinstance(top, ImageIndex)
    summaries, total = summarize_index(source, top)
    assert [s.descriptor.platform.architecture for s in summaries
            if s.descriptor.platform] == ["amd64", "arm64", "s390x"]
    assert all(isinstance(s.manifest, ImageManifest) and not s.problem for s in summaries)
    blobs = sum(p.stat().st_size for p in (builder.root / "blobs" / "sha256").iterdir())
    assert total == blobs


def test_summarize_index_stops_at_lists_nested_too_deep(tmp_path: Path) -> None:
    """Lists nested deeper than the CLI walks them: an entry says so (no recursion
    without end)."""
    builder = LayoutBuilder(tmp_path / "deep")
    current = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})]))
    current_at: list[str] = []  # the lists' digests, the deepest first
    for _level in range(image_module.MAX_INDEX_DEPTH + 2):  # (the top one at depth 0)
        current = builder.add_index([current])
        current_at.append(current["digest"])
    builder.tag(current, "deep")
    source = open_layout_image(builder.root, "deep")
    top = load_manifest(source)
    assert isinstance(top, ImageIndex)
    summaries, _total = summarize_index(source, top)
    assert [s.problem for s in summaries] == [
        f"The image {source.description} nests manifest lists more than "
        f"{image_module.MAX_INDEX_DEPTH} deep (the list {Digest.parse(current_at[0]).short} "
        "is one level too many); Spyglass reads them no deeper."]
    # one level less: the image is reached
    source = open_layout_image(builder.root, "deep")
    inner = load_manifest(source, top.manifests[0].digest)
    assert isinstance(inner, ImageIndex)
    summaries, _total = summarize_index(source, inner)
    assert [type(s.manifest) for s in summaries] == [ImageManifest]

def test_an_image_whose_lists_are_nested_too_deep_is_named(tmp_path: Path) -> None:
    """Its image read (inspect), or its manifests gathered for a copy of the whole list,
    the sentence names the image and the list too deep; it was "Manifest lists are
    nested more than 8 deep.", naming neither."""
    from spyglass.core.copy_instances import nested_manifests

    builder = LayoutBuilder(tmp_path / "deep10")
    current = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})]))
    digests = []
    for _level in range(image_module.MAX_INDEX_DEPTH + 2):
        current = builder.add_index([current])
        digests.append(Digest.parse(current["digest"]))
    builder.tag(current, "v1")
    source = open_layout_image(builder.root, "v1")
    said = (f"The image oci:{builder.root}:v1 nests manifest lists more than "
            f"{image_module.MAX_INDEX_DEPTH} deep (the list {digests[0].short} is one level "
            "too many); Spyglass reads them no deeper.")
    with pytest.raises(InvalidManifest) as refused:
        load_image(source)
    assert str(refused.value) == said
    top = load_manifest(source)
    assert isinstance(top, ImageIndex)
    with pytest.raises(InvalidManifest) as refused:
        list(nested_manifests(source, top, None))
    assert str(refused.value) == said


def _repeating_dag(root: Path, arch: str, width: int = 6, levels: int = 6) -> str:
    """Lists that name the list below them ``width`` times, ``levels`` deep, over one
    image: valid OCI (no cycle), width ** levels paths through a handful of files."""
    builder = LayoutBuilder(root)
    current = builder.add_image(ImageSpec(architecture=arch,
                                          layers=[LayerSpec({"/a": arch.encode()})]))
    for _level in range(levels):
        current = builder.add_index([current] * width)
    builder.tag(current, "dag")
    return str(current["digest"])


def _counting_loads(monkeypatch: pytest.MonkeyPatch, limit: int = 200) -> list[int]:
    """Count manifest reads through spyglass.core.image; fail once there are too many."""
    calls: list[int] = []
    real = image_module.load_manifest

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        assert len(calls) <= limit, "a repeated list is walked again"
        return real(*args, **kwargs)

    monkeypatch.setattr(image_module, "load_manifest", counted)
    return calls


def test_lists_repeating_a_list_are_walked_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each list names the list below it six times, six levels deep (46,656 paths): each
    list is read once, whether the platform is found, missing, or every entry walked."""
    from spyglass.core.image import nested_entries

    _repeating_dag(tmp_path / "arm", "arm64")
    tagged = _repeating_dag(tmp_path / "amd", "amd64")
    calls = _counting_loads(monkeypatch)

    with pytest.raises(PlatformNotFound, match="offer: linux/arm64"):
        load_image(open_layout_image(tmp_path / "arm", "dag"),
                   platform=Platform.parse("linux/amd64"))
    image = load_image(open_layout_image(tmp_path / "amd", "dag"),
                       platform=Platform.parse("linux/amd64"))
    assert len(image.chain) == 6 and image.config is not None  # five lists, the image
    source = open_layout_image(tmp_path / "amd", "dag")
    top = load_manifest(source)
    assert isinstance(top, ImageIndex)
    walked = list(nested_entries(source, top))
    assert len(walked) == 6  # the bottom list's six entries, from the one walk of it
    assert {str(entry.digest) for _holder, entry in walked} == {
        str(image.manifest.digest)}
    assert tagged == str(top.digest)
    assert len(calls) < 40


def test_summarize_index_says_an_entry_left_out_of_a_partial_export_is_not_there(
        layout: tuple[Path, dict[str, Any]]) -> None:
    """A list saved with one of its images (ctr export of one platform): the others'
    manifests are not in the layout, which said "The blob … is missing" as of damage."""
    root, _ = layout
    source = open_layout_image(root, "latest")
    top = load_manifest(source)
    assert isinstance(top, ImageIndex)
    gone = top.manifests[1]
    (root / "blobs" / "sha256" / gone.digest.hex).unlink()
    summaries, _total = summarize_index(source, top)
    problems = [s.problem for s in summaries]
    assert problems[0] == problems[2] == ""
    assert problems[1] == (
        f"Its manifest {gone.digest.short} is not in {source.description}: the list was "
        "saved there without all of its images (as ctr export of one platform, or a copy "
        "of some platforms keeping the list whole, writes it).")
    assert "missing" not in problems[1]
