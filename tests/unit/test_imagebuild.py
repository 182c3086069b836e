"""The image builder the tests rely on writes real, deterministic images.

Checked three ways: on its own (digests, tars, configs), with umoci (which
reads OCI layouts only, and neither zstd nor Docker media types in 0.4.7),
and with skopeo (whose ``oci:`` transport up to at least 1.9 ignores
``index.json`` entries with Docker media types, but reads Docker manifest
lists and manifests below an OCI entry).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import require_tool
from tests.helpers.imagebuild import (
    DOCKER_CONFIG,
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_LAYER_ZSTD,
    OCI_MANIFEST,
    REF_NAME_ANNOTATION,
    TAR_MTIME,
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    build_tar,
    multi_platform_layout,
)

PLATFORMS = [("amd64", None), ("arm64", "v8"), ("arm", "v7")]


def run(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"{args} failed ({result.returncode}):\n{result.stderr}"
    return result.stdout


def read_json(layout: Path, digest: str) -> Any:
    return json.loads((layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes())


def blob_bytes(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(params=[False, True], ids=["oci", "docker"])
def docker_media_types(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def layout(tmp_path: Path, docker_media_types: bool) -> tuple[Path, dict[str, Any]]:
    root = tmp_path / "layout"
    return root, multi_platform_layout(root, docker_media_types=docker_media_types)


# --------------------------------------------------------------------------- on its own


def test_same_spec_gives_same_bytes(tmp_path: Path, docker_media_types: bool) -> None:
    first = multi_platform_layout(tmp_path / "a", docker_media_types=docker_media_types)
    second = multi_platform_layout(tmp_path / "b", docker_media_types=docker_media_types)
    assert first == second
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_every_blob_is_named_by_its_digest(layout: tuple[Path, dict[str, Any]]) -> None:
    root, _ = layout
    blobs = list((root / "blobs" / "sha256").iterdir())
    # 1 index + 3 manifests + 3 configs + 1 shared base + 3 platform layers + 1 shared app layer
    assert len(blobs) == 12
    for blob in blobs:
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name


def test_layout_files(layout: tuple[Path, dict[str, Any]], docker_media_types: bool) -> None:
    root, index_desc = layout
    assert json.loads((root / "oci-layout").read_bytes()) == {"imageLayoutVersion": "1.0.0"}
    index_json = json.loads((root / "index.json").read_bytes())
    assert index_json["schemaVersion"] == 2
    assert index_json["mediaType"] == OCI_INDEX
    assert index_json["manifests"] == [
        {**index_desc, "annotations": {REF_NAME_ANNOTATION: "latest"}}
    ]
    expected = DOCKER_MANIFEST_LIST if docker_media_types else OCI_INDEX
    assert index_desc["mediaType"] == expected
    assert index_desc["size"] == len(blob_bytes(root, index_desc["digest"]))


def test_index_manifests_and_configs(
    layout: tuple[Path, dict[str, Any]], docker_media_types: bool
) -> None:
    root, index_desc = layout
    index = read_json(root, index_desc["digest"])
    assert index["mediaType"] == index_desc["mediaType"]
    platforms = [
        (d["platform"]["architecture"], d["platform"].get("variant")) for d in index["manifests"]
    ]
    assert platforms == PLATFORMS

    base_layers = set()
    app_layers = set()
    for descriptor in index["manifests"]:
        manifest = read_json(root, descriptor["digest"])
        assert manifest["schemaVersion"] == 2
        assert manifest["mediaType"] == descriptor["mediaType"]
        assert manifest["mediaType"] == (DOCKER_MANIFEST if docker_media_types else OCI_MANIFEST)
        assert manifest["config"]["mediaType"] == (
            DOCKER_CONFIG if docker_media_types else OCI_CONFIG
        )
        layer_type = DOCKER_LAYER_GZIP if docker_media_types else OCI_LAYER_GZIP
        assert [layer["mediaType"] for layer in manifest["layers"]] == [layer_type] * 3
        base_layers.add(manifest["layers"][0]["digest"])
        app_layers.add(manifest["layers"][2]["digest"])

        config = read_json(root, manifest["config"]["digest"])
        platform = descriptor["platform"]
        assert config["architecture"] == platform["architecture"]
        assert config["os"] == "linux"
        assert config.get("variant") == platform.get("variant")
        assert config["config"]["Cmd"] == ["/app/run.sh"]
        assert config["config"]["WorkingDir"] == "/app"
        assert "GREETING=hello" in config["config"]["Env"]
        assert config["config"]["Labels"]["arch"] == platform["architecture"]

        diff_ids = []
        for layer in manifest["layers"]:
            blob = blob_bytes(root, layer["digest"])
            assert layer["size"] == len(blob)
            assert blob[:2] == b"\x1f\x8b"
            assert blob[4:8] == b"\0\0\0\0", "gzip mtime must be 0"
            diff_ids.append("sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest())
        assert config["rootfs"] == {"type": "layers", "diff_ids": diff_ids}

        history = config["history"]
        assert len(history) == 4
        assert history[1] == {
            "created": "2024-01-02T03:04:05Z",
            "created_by": "ENV GREETING=hello",
            "empty_layer": True,
        }
        assert [h.get("empty_layer", False) for h in history] == [False, True, False, False]
    assert len(base_layers) == 1, "the base layer is shared by all platforms"
    assert len(app_layers) == 1, "the app layer is shared by all platforms"


def test_layer_tar_is_sorted_with_parents_and_fixed_metadata() -> None:
    spec = LayerSpec(
        {"/usr/share/doc/x/README": b"readme\n", "/app/run.sh": b"#!/bin/sh\n"},
        modes={"/app/run.sh": 0o755},
        symlinks={"/usr/bin/run": "/app/run.sh"},
    )
    data = build_tar(spec)
    assert data == build_tar(spec)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)
        assert names == [
            "app",
            "app/run.sh",
            "usr",
            "usr/bin",
            "usr/bin/run",
            "usr/share",
            "usr/share/doc",
            "usr/share/doc/x",
            "usr/share/doc/x/README",
        ]
        by_name = {m.name: m for m in members}
        assert by_name["usr/share"].isdir()
        assert by_name["usr/bin/run"].issym()
        assert by_name["usr/bin/run"].linkname == "/app/run.sh"
        assert by_name["app/run.sh"].mode == 0o755
        assert by_name["usr/share/doc/x/README"].mode == 0o644
        for member in members:
            assert (member.mtime, member.uid, member.gid) == (TAR_MTIME, 0, 0)
            assert (member.uname, member.gname) == ("root", "root")
        readme = tar.extractfile("usr/share/doc/x/README")
        assert readme is not None
        assert readme.read() == b"readme\n"


def test_layer_paths_must_stay_below_the_root() -> None:
    with pytest.raises(ValueError, match=r"\.\."):
        build_tar(LayerSpec({"/etc/../../escape": b""}))


def test_uncompressed_and_zstd_layers(tmp_path: Path) -> None:
    zstandard = pytest.importorskip("zstandard")
    builder = LayoutBuilder(tmp_path)
    files = {"/etc/motd": b"hi\n"}
    spec = ImageSpec(
        layers=[LayerSpec(files, compression="zstd"), LayerSpec(files, compression="none")]
    )
    manifest = builder.read_json(builder.add_image(spec))
    assert [layer["mediaType"] for layer in manifest["layers"]] == [OCI_LAYER_ZSTD, OCI_LAYER]
    zstd_blob = builder.read_blob(manifest["layers"][0]["digest"])
    plain_blob = builder.read_blob(manifest["layers"][1]["digest"])
    assert zstandard.ZstdDecompressor().decompress(zstd_blob) == plain_blob
    config = builder.read_json(manifest["config"])
    plain_digest = manifest["layers"][1]["digest"]
    assert config["rootfs"]["diff_ids"] == [plain_digest, plain_digest]


def test_docker_media_types_have_no_zstd(tmp_path: Path) -> None:
    spec = ImageSpec(layers=[LayerSpec({"/a": b""}, compression="zstd")], docker_media_types=True)
    with pytest.raises(ValueError, match="Docker schema 2"):
        LayoutBuilder(tmp_path).add_image(spec)


def test_config_fields_and_history_positions(tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path)
    spec = ImageSpec(
        architecture="s390x",
        layers=[LayerSpec({"/a": b"1"}, created_by="ADD a /"), LayerSpec({"/b": b"2"})],
        env=["A=1"],
        entrypoint=["/bin/tini", "--"],
        cmd=["serve"],
        user="app",
        working_dir="/srv",
        exposed_ports=["8080/tcp"],
        volumes=["/data"],
        author="Spyglass Tests",
        empty_history_steps=[(0, "ARG X"), (3, "USER app"), (4, 'CMD ["serve"]')],
        annotations={"org.opencontainers.image.title": "t"},
    )
    descriptor = builder.add_image(spec)
    assert descriptor["platform"] == {"architecture": "s390x", "os": "linux"}
    manifest = builder.read_json(descriptor)
    assert manifest["annotations"] == {"org.opencontainers.image.title": "t"}
    config = builder.read_json(manifest["config"])
    assert config["author"] == "Spyglass Tests"
    assert config["config"] == {
        "User": "app",
        "ExposedPorts": {"8080/tcp": {}},
        "Env": ["A=1"],
        "Entrypoint": ["/bin/tini", "--"],
        "Cmd": ["serve"],
        "Volumes": {"/data": {}},
        "WorkingDir": "/srv",
    }
    assert [(h["created_by"], h.get("empty_layer", False)) for h in config["history"]] == [
        ("ARG X", True),
        ("ADD a /", False),
        (LayerSpec({}).created_by, False),
        ("USER app", True),
        ('CMD ["serve"]', True),
    ]


def test_tag_replaces_a_ref_and_builder_reopens_a_layout(tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path)
    one = builder.add_image(ImageSpec(layers=[LayerSpec({"/one": b"1"})]))
    two = builder.add_image(ImageSpec(layers=[LayerSpec({"/two": b"2"})]))
    builder.tag(one, "v")
    builder.tag(one, None)
    builder.tag(two, "v")
    reopened = LayoutBuilder(tmp_path)
    entries = reopened.index["manifests"]
    assert [e["digest"] for e in entries] == [one["digest"], two["digest"]]
    assert "annotations" not in entries[0]
    assert entries[1]["annotations"] == {REF_NAME_ANNOTATION: "v"}
    assert reopened.add_blob(b"x") == reopened.add_blob(b"x")


# --------------------------------------------------------------------------- umoci


def test_umoci_lists_refs(layout: tuple[Path, dict[str, Any]]) -> None:
    umoci = require_tool("umoci")
    root, _ = layout
    assert run(umoci, "ls", "--layout", str(root)).split() == ["latest"]


def test_umoci_unpacks_the_amd64_image(tmp_path: Path) -> None:
    umoci = require_tool("umoci")
    root = tmp_path / "layout"
    index_desc = multi_platform_layout(root)
    builder = LayoutBuilder(root)
    amd64 = builder.read_json(index_desc)["manifests"][0]
    assert amd64["platform"]["architecture"] == "amd64"
    # umoci 0.4 cannot pick a platform out of an index: name the manifest itself.
    builder.tag(amd64, "amd64")
    assert sorted(run(umoci, "ls", "--layout", str(root)).split()) == ["amd64", "latest"]

    bundle = tmp_path / "bundle"
    run(umoci, "unpack", "--rootless", "--image", f"{root}:amd64", str(bundle))
    rootfs = bundle / "rootfs"
    assert (rootfs / "etc" / "arch").read_text() == "amd64\n"
    assert (rootfs / "etc" / "motd").read_bytes().startswith(b"Welcome")
    assert (rootfs / "app" / "run.sh").stat().st_mode & 0o777 == 0o755
    runtime = json.loads((bundle / "config.json").read_text())
    assert runtime["process"]["args"] == ["/app/run.sh"]
    assert runtime["process"]["cwd"] == "/app"


# --------------------------------------------------------------------------- skopeo


def test_skopeo_reads_the_raw_index(tmp_path: Path, docker_media_types: bool) -> None:
    skopeo = require_tool("skopeo")
    root = tmp_path / "layout"
    index_desc = multi_platform_layout(root, docker_media_types=docker_media_types)
    builder = LayoutBuilder(root)
    if docker_media_types:
        # skopeo's oci: transport skips index.json entries with Docker media types:
        # wrap the manifest list in an OCI index entry it accepts.
        wrapper = builder.add_index([index_desc])
        builder.tag(wrapper, "wrapped")
        raw = run(skopeo, "inspect", "--raw", f"oci:{root}:wrapped").encode()
        assert json.loads(raw)["manifests"][0]["digest"] == index_desc["digest"]
        return
    raw = run(skopeo, "inspect", "--raw", f"oci:{root}:latest").encode()
    assert raw == builder.read_blob(index_desc["digest"])
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == index_desc["digest"]


@pytest.mark.parametrize(("arch", "variant"), PLATFORMS)
def test_skopeo_picks_each_platform(tmp_path: Path, arch: str, variant: str | None) -> None:
    skopeo = require_tool("skopeo")
    root = tmp_path / "layout"
    index_desc = multi_platform_layout(root)
    builder = LayoutBuilder(root)
    descriptor = next(
        d
        for d in builder.read_json(index_desc)["manifests"]
        if (d["platform"]["architecture"], d["platform"].get("variant")) == (arch, variant)
    )
    manifest = builder.read_json(descriptor)

    args = [skopeo, "inspect", f"oci:{root}:latest", "--override-arch", arch]
    if variant and arch != "arm64":
        args += ["--override-variant", variant]
    inspected = json.loads(run(*args))
    assert inspected["Digest"] == index_desc["digest"]  # skopeo reports the top level
    assert inspected["Architecture"] == arch
    assert inspected["Os"] == "linux"
    assert inspected["Layers"] == [layer["digest"] for layer in manifest["layers"]]
    assert inspected["Labels"]["arch"] == arch
    assert inspected["Env"] == ["PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=hello"]

    raw = run(*args[:2], "--raw", *args[2:]).encode()
    assert raw == builder.read_blob(index_desc["digest"])


def test_skopeo_copies_every_blob_and_keeps_the_digests(
    tmp_path: Path, docker_media_types: bool
) -> None:
    """skopeo checks every blob against its digest while copying; ``dir:`` keeps them as-is."""
    skopeo = require_tool("skopeo")
    root = tmp_path / "layout"
    index_desc = multi_platform_layout(root, docker_media_types=docker_media_types)
    builder = LayoutBuilder(root)
    instances = builder.read_json(index_desc)["manifests"]
    top = index_desc
    if docker_media_types:
        # skopeo's oci: transport skips Docker-typed index.json entries and cannot copy
        # nested lists: list the Docker manifests in an OCI index and copy that.
        top = builder.add_index(instances)
    builder.tag(top, "copy-me")

    copy = tmp_path / "copy"
    run(
        skopeo,
        "--insecure-policy",
        "copy",
        "--all",
        "--quiet",
        f"oci:{root}:copy-me",
        f"dir:{copy}",
    )
    assert (copy / "manifest.json").read_bytes() == builder.read_blob(top["digest"])
    expected = set()
    for instance in instances:
        hex_digest = instance["digest"].removeprefix("sha256:")
        manifest = (copy / f"{hex_digest}.manifest.json").read_bytes()
        assert manifest == builder.read_blob(instance["digest"])
        for blob in [builder.read_json(instance)["config"], *builder.read_json(instance)["layers"]]:
            expected.add(blob["digest"].removeprefix("sha256:"))
    copied = {p.name for p in copy.iterdir() if "." not in p.name and p.name != "version"}
    assert copied == expected
    for name in copied:
        assert (copy / name).read_bytes() == builder.read_blob("sha256:" + name)


# --------------------------------------------------------------------------- the sample layout

SAMPLE_REFS = ["spyglass-demo:1.0", "tools:2024.1"]


def test_sample_layout_is_what_the_script_writes(tmp_path: Path, sample_layout: Path) -> None:
    script = sample_layout.parent / "make_sample_layout.py"
    regenerated = tmp_path / "sample"
    run(sys.executable, str(script), str(regenerated))
    committed, fresh = tree(sample_layout), tree(regenerated)
    if committed == fresh:
        return
    stale = "resources/sample-layout is stale: run `make sample`"
    # Another zlib may compress the same tars differently, which changes the layer
    # and manifest digests; the configs name layers by their uncompressed digests.
    assert _gzip_differs(committed, fresh), stale
    configs = {name: data for name, data in committed.items() if b'"rootfs"' in data}
    assert {name: fresh.get(name) for name in configs} == configs, stale


def _gzip_differs(committed: dict[str, bytes], fresh: dict[str, bytes]) -> bool:
    """Whether this zlib compresses differently from the one that wrote the sample."""
    compressed = {data for data in committed.values() if data[:2] == b"\x1f\x8b"}
    uncompressed = {gzip.decompress(data) for data in compressed}
    return any(
        data[:2] == b"\x1f\x8b" and data not in compressed and gzip.decompress(data) in uncompressed
        for data in fresh.values()
    )


def test_sample_layout_shape(sample_layout: Path) -> None:
    index_json = json.loads((sample_layout / "index.json").read_bytes())
    refs = [m["annotations"][REF_NAME_ANNOTATION] for m in index_json["manifests"]]
    assert refs == SAMPLE_REFS
    demo, tools = index_json["manifests"]
    assert demo["mediaType"] == OCI_INDEX
    assert tools["mediaType"] == DOCKER_MANIFEST
    platforms = [
        "/".join(
            filter(
                None,
                [d["platform"]["os"], d["platform"]["architecture"], d["platform"].get("variant")],
            )
        )
        for d in read_json(sample_layout, demo["digest"])["manifests"]
    ]
    assert platforms == ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"]
    size = sum(p.stat().st_size for p in sample_layout.rglob("*") if p.is_file())
    assert size < 100 * 1024


def test_sample_layout_with_umoci_and_skopeo(sample_layout: Path) -> None:
    umoci = require_tool("umoci")
    skopeo = require_tool("skopeo")
    assert run(umoci, "ls", "--layout", str(sample_layout)).split() == SAMPLE_REFS
    index_json = json.loads((sample_layout / "index.json").read_bytes())
    demo_digest = index_json["manifests"][0]["digest"]
    # The oci: transport splits at the first colon, so the ref may hold one.
    raw = run(skopeo, "inspect", "--raw", f"oci:{sample_layout}:spyglass-demo:1.0").encode()
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == demo_digest
    inspected = json.loads(
        run(skopeo, "inspect", "--override-arch", "arm64", f"oci:{sample_layout}:spyglass-demo:1.0")
    )
    assert inspected["Architecture"] == "arm64"
    assert inspected["Labels"]["org.opencontainers.image.version"] == "1.0"
    assert len(inspected["Layers"]) == 4
