"""Images whose manifests are named by sha512 digests (an index whose entries are
``sha512:…``, a layout entry so named): a copy keeps the names, so that what it writes
names what it holds (spyglass.core.image.load_manifest over layouts and archives)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spyglass.cli import main
from spyglass.core.copy import CopyOptions, copy_image
from spyglass.core.image import load_manifest
from spyglass.core.manifest import ImageIndex
from spyglass.core.transports import open_destination, open_source
from tests.helpers.imagebuild import (
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    multi_platform_layout,
    sha512_layout,
)


@pytest.fixture(scope="module")
def sha512_list(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A layout holding a 3-platform index whose every digest is sha512; its digest."""
    plain = tmp_path_factory.mktemp("plain") / "list"
    multi_platform_layout(plain, ref="i512")
    root = tmp_path_factory.mktemp("sha512") / "list"
    return root, sha512_layout(plain, root)["digest"]


@pytest.fixture(scope="module")
def sha512_image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    plain = tmp_path_factory.mktemp("plain") / "image"
    builder = LayoutBuilder(plain)
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/f": b"sha512\n"})])), "s512")
    root = tmp_path_factory.mktemp("sha512") / "image"
    return root, sha512_layout(plain, root)["digest"]


def entries(layout: Path) -> list[str]:
    return [e["digest"] for e in json.loads((layout / "index.json").read_bytes())["manifests"]]


def test_a_manifest_named_by_sha512_keeps_that_name(sha512_list: tuple[Path, str]) -> None:
    root, digest = sha512_list
    source = open_source(f"oci:{root}:i512")
    top = load_manifest(source)
    assert str(top.digest) == digest
    assert isinstance(top, ImageIndex)
    child = load_manifest(source, top.manifests[0].digest)
    assert child.digest == top.manifests[0].digest
    assert child.digest.algorithm == "sha512"


@pytest.mark.parametrize("transport", ["oci", "oci-archive"])
def test_a_list_named_by_sha512_is_copied_whole_under_those_names(
    sha512_list: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    transport: str,
) -> None:
    root, digest = sha512_list
    out = tmp_path / ("out" if transport == "oci" else "out.tar")
    assert main(["copy", "-q", "--all", f"oci:{root}:i512", f"{transport}:{out}:1"]) == 0
    capsys.readouterr()
    if transport == "oci-archive":
        assert main(["copy", "-q", "--all", f"oci-archive:{out}:1", f"oci:{tmp_path / 'x'}:1"]
                    ) == 0
        out = tmp_path / "x"
    assert entries(out) == [digest]
    index = json.loads((out / "blobs" / "sha512" / digest[7:]).read_bytes())
    for entry in index["manifests"]:
        assert (out / "blobs" / "sha512" / entry["digest"][7:]).is_file()
    for platform in ("linux/amd64", "linux/arm64"):
        code = main(["inspect", "--platform", platform, "--format", "{{.Architecture}}",
                     f"oci:{out}:1"])
        assert code == 0, capsys.readouterr().err
        assert capsys.readouterr().out.strip() == platform[6:]


@pytest.mark.parametrize("preserve", [False, True])
def test_an_image_named_by_sha512_keeps_its_entry_digest(
    sha512_image: tuple[Path, str], tmp_path: Path, preserve: bool
) -> None:
    root, digest = sha512_image
    source = open_source(f"oci:{root}:s512")
    destination = open_destination(f"oci:{tmp_path / 'out'}:1")
    try:
        top = copy_image(source, destination, CopyOptions(preserve_digests=preserve))
    finally:
        destination.close()
    assert str(top.digest) == digest
    assert entries(tmp_path / "out") == [digest]


def test_inspect_shows_the_digest_an_image_is_named_by(
    sha512_image: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    root, digest = sha512_image
    assert main(["inspect", "--format", "{{.Digest}}", f"oci:{root}:s512"]) == 0
    assert capsys.readouterr().out.strip() == digest
