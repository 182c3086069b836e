"""What ``spyglass inspect`` prints (spyglass.core.inspect)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spyglass.core import media
from spyglass.core.image import load_image
from spyglass.core.inspect import docker_name_of, inspect_output
from spyglass.core.platform import Platform
from spyglass.core.reference import parse_image_name
from spyglass.core.transports.layout import open_layout_image
from tests.helpers.imagebuild import (
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    multi_platform_layout,
)

SKOPEO_KEYS = [
    "Digest", "RepoTags", "Created", "DockerVersion", "Labels", "Architecture", "Os", "Layers",
    "LayersData", "Env",
]


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    root = tmp_path / "layout"
    return root, multi_platform_layout(root)


def test_list_instance(layout: tuple[Path, dict[str, Any]]) -> None:
    root, index_desc = layout
    builder = LayoutBuilder(root)
    arm64 = next(
        m for m in builder.read_json(index_desc)["manifests"]
        if m["platform"]["architecture"] == "arm64"
    )
    manifest = builder.read_json(arm64)
    name = parse_image_name(f"oci:{root}:latest")
    image = load_image(open_layout_image(root, "latest"), platform=Platform.parse("linux/arm64"))
    out = inspect_output(image, name, ["latest"])

    assert "Name" not in out  # an OCI layout carries no Docker reference
    assert [k for k in out if k != "Variant"] == SKOPEO_KEYS
    # the digest of what the name points at: the index
    assert out["Digest"] == index_desc["digest"]
    assert out["RepoTags"] == ["latest"]
    assert out["Created"] == "2024-01-02T03:04:05Z"
    assert out["DockerVersion"] == ""
    assert out["Labels"] == {"org.opencontainers.image.title": "spyglass-test", "arch": "arm64"}
    assert out["Architecture"] == "arm64"
    assert out["Variant"] == "v8"
    assert out["Os"] == "linux"
    assert out["Layers"] == [layer["digest"] for layer in manifest["layers"]]
    assert out["LayersData"] == [
        {"MIMEType": media.OCI_LAYER_GZIP, "Digest": layer["digest"], "Size": layer["size"],
         "Annotations": None}
        for layer in manifest["layers"]
    ]
    assert out["Env"] == ["PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=hello"]
    json.dumps(out)  # serializable as is


def test_single_image_digest_is_the_manifest_digest(tmp_path: Path) -> None:
    root = tmp_path / "single"
    builder = LayoutBuilder(root)
    desc = builder.add_image(
        ImageSpec(layers=[LayerSpec({"/a": b"a"}, compression="none")], docker_media_types=True)
    )
    builder.tag(desc, "1.0")
    image = load_image(open_layout_image(root, "1.0"))
    out = inspect_output(image, parse_image_name(f"oci:{root}:1.0"), [])
    assert out["Digest"] == desc["digest"]
    assert out["Architecture"] == "amd64"
    assert "Variant" not in out
    assert out["Labels"] is None
    assert out["Env"] is None
    assert out["LayersData"][0]["MIMEType"] == media.DOCKER_LAYER


def test_layer_annotations(tmp_path: Path) -> None:
    root = tmp_path / "annotated"
    builder = LayoutBuilder(root)
    config = builder.add_blob(b'{"architecture":"amd64","os":"linux"}')
    layer = builder.add_blob(b"\0" * 1024)
    manifest = {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "config": {"mediaType": media.OCI_CONFIG, **config},
        "layers": [{"mediaType": media.OCI_LAYER, **layer, "annotations": {"k": "v"}}],
    }
    desc = builder.add_blob(json.dumps(manifest).encode())
    builder.tag({"mediaType": media.OCI_MANIFEST, **desc}, "a")
    image = load_image(open_layout_image(root, "a"))
    out = inspect_output(image, parse_image_name(f"oci:{root}:a"), [])
    assert out["LayersData"][0]["Annotations"] == {"k": "v"}
    assert out["Created"] is None


def test_docker_names_are_shown(layout: tuple[Path, dict[str, Any]]) -> None:
    root, _ = layout
    image = load_image(open_layout_image(root, "latest"), platform=Platform.parse("linux/amd64"))
    docker = parse_image_name("docker://alpine:3.19")
    out = inspect_output(image, docker, ["3.19"])
    assert out["Name"] == "docker.io/library/alpine"
    assert next(iter(out)) == "Name"
    assert docker_name_of(parse_image_name("docker-archive:/x.tar:busybox:1")) == (
        "docker.io/library/busybox"
    )
    assert docker_name_of(parse_image_name("docker-archive:/x.tar")) is None
    assert docker_name_of(parse_image_name("dir:/x")) is None


def test_a_schema1_image_shows_its_tag_as_skopeo_does(tmp_path: Path) -> None:
    from spyglass.core.transports.dirlayout import open_dir_image
    from tests.unit.core.test_manifest import schema1_body

    folder = tmp_path / "s1"
    folder.mkdir()
    (folder / "version").write_text("Directory Transport Version: 1.1\n")
    (folder / "manifest.json").write_text(json.dumps(schema1_body()))
    out = inspect_output(load_image(open_dir_image(folder)), parse_image_name(f"dir:{folder}"),
                         [])
    assert out["Tag"] == "1.0"
    assert list(out)[:2] == ["Tag", "Digest"]  # (Name first when there is one)


@pytest.mark.parametrize(("run", "labels", "env"), [
    ({"Labels": {}, "Env": []}, {}, []),
    ({"Labels": None, "Env": None}, None, None),
    ({}, None, None),
    ({"Labels": {"b": "2", "a": "1"}, "Env": ["A=1"]}, {"a": "1", "b": "2"}, ["A=1"]),
])
def test_empty_labels_and_env_are_kept_as_go_keeps_them(
        tmp_path: Path, run: dict[str, Any], labels: Any, env: Any) -> None:
    builder = LayoutBuilder(tmp_path / "l")
    config = builder.add_blob(json.dumps({"architecture": "amd64", "os": "linux",
                                          "config": run}).encode())
    manifest = builder.add_blob(json.dumps({
        "schemaVersion": 2, "mediaType": media.OCI_MANIFEST,
        "config": {"mediaType": media.OCI_CONFIG, **config}, "layers": []}).encode())
    builder.tag({"mediaType": media.OCI_MANIFEST, **manifest}, "a")
    out = inspect_output(load_image(open_layout_image(tmp_path / "l", "a")),
                         parse_image_name(f"oci:{tmp_path / 'l'}:a"), [])
    assert (out["Labels"], out["Env"]) == (labels, env)
