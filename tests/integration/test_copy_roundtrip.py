"""``spyglass copy`` end to end: round trips through every transport, and conversions.

Every copy runs the real command line (``python -m spyglass copy`` with
``app/`` on ``PYTHONPATH``) against a real registry server. After each step
the digest of what was written is compared with the source's (where nothing
was converted) through ``spyglass inspect --raw`` and ``skopeo inspect``;
skopeo reads every output, and umoci every OCI layout written.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import zstandard

from tests.helpers import require_tool
from tests.helpers.imagebuild import (
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_LAYER_ZSTD,
    OCI_MANIFEST,
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    multi_platform_layout,
)
from tests.helpers.imagecontent import assert_same_content
from tests.helpers.registry import RegistryServer

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: bytes
    stderr: str


def spyglass(*args: str) -> Result:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    done = subprocess.run(
        [sys.executable, "-m", "spyglass", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=environment,
        timeout=60,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr.decode(errors="replace"))


def ok(*args: str) -> Result:
    result = spyglass(*args)
    assert result.returncode == 0, f"spyglass {' '.join(args)}:\n{result.stderr}"
    return result


def copy(*args: str) -> str:
    """``spyglass copy ARGS``; return the digest written (from --digestfile)."""
    digestfile = Path(os.environ.get("TMPDIR", "/tmp")) / f"spyglass-digest-{os.getpid()}"
    try:
        ok("copy", "-q", "--digestfile", str(digestfile), *args)
        return digestfile.read_text().strip()
    finally:
        digestfile.unlink(missing_ok=True)


def raw_digest(name: str) -> str:
    """The sha256 of ``spyglass inspect --raw NAME``."""
    return "sha256:" + hashlib.sha256(ok("inspect", "--raw", name).stdout).hexdigest()


def run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{' '.join(args)} failed: {done.stderr.strip()}"
    return done.stdout


def skopeo_inspect(name: str) -> dict[str, object]:
    skopeo = require_tool("skopeo")
    result: dict[str, object] = json.loads(
        run(skopeo, "--insecure-policy", "inspect", "--tls-verify=false", name)
    )
    return result


def check_digest(name: str, expected: str) -> dict[str, object]:
    """``spyglass inspect --raw`` and ``skopeo inspect`` both see ``expected`` at the top of
    ``name``; return the manifest."""
    raw = ok("inspect", "--raw", name).stdout
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == expected, name
    assert skopeo_inspect(name)["Digest"] == expected, name
    manifest: dict[str, object] = json.loads(raw)
    return manifest


def assert_layers_gzip_to_diff_ids(name: str) -> None:
    """Every layer of the image ``name`` is gzip, named so, and inflates to its diff ID."""
    from spyglass.core.image import load_manifest
    from spyglass.core.manifest import ImageManifest
    from spyglass.core.transports import open_source
    from spyglass.core.transports.registry import RegistryOptions

    source = open_source(name, RegistryOptions(tls_verify=False))
    try:
        manifest = load_manifest(source)
        assert isinstance(manifest, ImageManifest)
        with source.open_blob(manifest.config) as stream:
            diff_ids = json.loads(stream.read())["rootfs"]["diff_ids"]
        assert len(diff_ids) == len(manifest.layers)
        for layer, diff_id in zip(manifest.layers, diff_ids, strict=True):
            assert layer.media_type in (OCI_LAYER_GZIP, DOCKER_LAYER_GZIP), layer
            with source.open_blob(layer) as stream:
                data = stream.read()
            assert data[:2] == b"\x1f\x8b", f"{layer.digest} is not gzip"
            assert "sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest() == diff_id
    finally:
        source.close()


def umoci_ls(layout: Path) -> list[str]:
    umoci = require_tool("umoci")
    return run(umoci, "ls", "--layout", str(layout)).split()


def blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()


@pytest.fixture(scope="module")
def oci_layout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("copy-oci") / "layout"
    return root, str(multi_platform_layout(root)["digest"])


@pytest.fixture(scope="module")
def docker_layout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("copy-docker") / "layout"
    return root, str(multi_platform_layout(root, docker_media_types=True)["digest"])


@pytest.mark.parametrize("kind", ["oci", "docker"])
def test_round_trip_through_every_transport(
    kind: str,
    oci_layout: tuple[Path, str],
    docker_layout: tuple[Path, str],
    registry: RegistryServer,
    tmp_path: Path,
) -> None:
    layout, source_digest = oci_layout if kind == "oci" else docker_layout
    host = registry.host
    first = f"docker://{host}/it/roundtrip-{kind}/one:1"
    second = f"docker://{host}/it/roundtrip-{kind}/two:1"
    top_type = OCI_INDEX if kind == "oci" else DOCKER_MANIFEST_LIST

    # layout → registry
    assert copy("--all", f"oci:{layout}:latest", first) == source_digest
    assert check_digest(first, source_digest)["mediaType"] == top_type

    # registry → dir:
    folder = tmp_path / "dir"
    assert copy("--all", first, f"dir:{folder}") == source_digest
    check_digest(f"dir:{folder}", source_digest)

    # dir: → registry, another repository: every blob is mounted, not uploaded
    done = ok("copy", "--all", f"dir:{folder}", second)
    assert "mounted" in done.stderr and "Copying blob" not in done.stderr, done.stderr
    check_digest(second, source_digest)

    # registry → oci-archive: (Docker media types are converted: OCI layouts hold OCI only)
    archive = tmp_path / "image.tar"
    archived = copy("--all", second, f"oci-archive:{archive}:v1")
    if kind == "oci":
        assert archived == source_digest
    else:
        assert archived != source_digest
    assert check_digest(f"oci-archive:{archive}:v1", archived)["mediaType"] == OCI_INDEX

    # oci-archive: → layout: nothing converted
    out = tmp_path / "out"
    assert copy("--all", f"oci-archive:{archive}:v1", f"oci:{out}:v1") == archived
    check_digest(f"oci:{out}:v1", archived)
    assert umoci_ls(out) == ["v1"]

    # one platform → docker-archive: (layers decompressed, so digests change) → registry
    docker_archive = tmp_path / "docker.tar"
    copy("--platform", "linux/arm64/v8", f"oci:{out}:v1",
         f"docker-archive:{docker_archive}:it/single:1")
    inspected = skopeo_inspect(f"docker-archive:{docker_archive}")
    assert inspected["Architecture"] == "arm64"
    # a docker-archive stores no manifest: readers (Spyglass and skopeo alike) build one
    single = raw_digest(f"docker-archive:{docker_archive}")
    assert inspected["Digest"] == single
    third = f"docker://{host}/it/roundtrip-{kind}/three:1"
    pushed = copy(f"docker-archive:{docker_archive}", third)
    # that manifest names the archive's plain tars tar.gzip (as containers/image's does):
    # a registry gets them gzipped, as skopeo pushes them
    assert pushed != single
    assert check_digest(third, pushed)["mediaType"] == DOCKER_MANIFEST
    assert_layers_gzip_to_diff_ids(third)

    # docker-archive: → oci-archive: (to OCI media types) → registry, which keeps that digest
    from_docker = tmp_path / "from-docker.tar"
    converted = copy(f"docker-archive:{docker_archive}", f"oci-archive:{from_docker}:single")
    assert check_digest(f"oci-archive:{from_docker}:single", converted)["mediaType"] \
        == OCI_MANIFEST
    assert_layers_gzip_to_diff_ids(f"oci-archive:{from_docker}:single")
    assert skopeo_inspect(f"oci-archive:{from_docker}:single")["Architecture"] == "arm64"
    fourth = f"docker://{host}/it/roundtrip-{kind}/four:1"
    assert copy(f"oci-archive:{from_docker}:single", fourth) == converted
    check_digest(fourth, converted)


def test_single_image_layout_unpacks_with_umoci(
    oci_layout: tuple[Path, str], registry: RegistryServer, tmp_path: Path
) -> None:
    umoci = require_tool("umoci")
    layout, _ = oci_layout
    remote = f"docker://{registry.host}/it/roundtrip-single:1"
    copy("--all", f"oci:{layout}:latest", remote)
    single = tmp_path / "single"
    digest = copy("--platform", "linux/amd64", remote, f"oci:{single}:amd64")
    check_digest(f"oci:{single}:amd64", digest)
    assert umoci_ls(single) == ["amd64"]
    bundle = tmp_path / "bundle"
    run(umoci, "unpack", "--rootless", "--image", f"{single}:amd64", str(bundle))
    assert (bundle / "rootfs" / "etc" / "arch").read_text() == "amd64\n"
    assert (bundle / "rootfs" / "app" / "run.sh").is_file()


# ---------------------------------------------------------------------------- conversions


@pytest.mark.parametrize(("start", "fmt", "expected"), [
    ("oci", "v2s2", DOCKER_MANIFEST_LIST),
    ("docker", "oci", OCI_INDEX),
])
def test_format_conversion_round_trip(
    start: str,
    fmt: str,
    expected: str,
    oci_layout: tuple[Path, str],
    docker_layout: tuple[Path, str],
    registry: RegistryServer,
    tmp_path: Path,
) -> None:
    layout, source_digest = oci_layout if start == "oci" else docker_layout
    remote = f"docker://{registry.host}/it/convert-{start}-{fmt}:1"
    converted = copy("--all", "--format", fmt, f"oci:{layout}:latest", remote)
    assert converted != source_digest
    raw = check_digest(remote, converted)
    assert raw["mediaType"] == expected
    for entry in raw["manifests"]:  # type: ignore[attr-defined]
        child = f"{remote.rsplit(':', 1)[0]}@{entry['digest']}"
        inspected = skopeo_inspect(child)
        assert inspected["Digest"] == entry["digest"]
        assert len(inspected["Layers"]) == 3  # type: ignore[arg-type]
    # and back: the other format, readable again
    # the media types change, not the content: the source's configs, byte for byte, and
    # layers that decompress to the source's diff IDs
    assert_same_content(remote, f"oci:{layout}:latest", compression="gzip")
    back_format = "oci" if fmt == "v2s2" else "v2s2"
    folder = tmp_path / "back"
    back = copy("--all", "--format", back_format, remote, f"dir:{folder}")
    check_digest(f"dir:{folder}", back)
    assert_same_content(f"dir:{folder}", f"oci:{layout}:latest", compression="gzip")
    if start == "oci":
        # back to OCI, nothing else changed: the same bytes as at the start
        assert back == source_digest


def _diff_ids_and_layers(layout: Path, ref: str) -> list[tuple[str, str, bytes]]:
    index = json.loads((layout / "index.json").read_bytes())
    (entry,) = [m for m in index["manifests"]
                if m["annotations"]["org.opencontainers.image.ref.name"] == ref]
    manifest = json.loads(blob(layout, entry["digest"]))
    assert manifest["mediaType"] == OCI_MANIFEST
    config = json.loads(blob(layout, manifest["config"]["digest"]))
    diff_ids = config["rootfs"]["diff_ids"]
    assert len(diff_ids) == len(manifest["layers"])
    return [
        (layer["mediaType"], diff_id, blob(layout, layer["digest"]))
        for layer, diff_id in zip(manifest["layers"], diff_ids, strict=True)
    ]


def test_zstd_and_back_to_gzip(oci_layout: tuple[Path, str], tmp_path: Path) -> None:
    layout, _ = oci_layout
    out = tmp_path / "out"
    copy("--platform", "linux/amd64", "--dest-compress-format", "zstd",
         f"oci:{layout}:latest", f"oci:{out}:zstd")
    layers = _diff_ids_and_layers(out, "zstd")
    for media_type, diff_id, data in layers:
        assert media_type == OCI_LAYER_ZSTD
        plain = zstandard.ZstdDecompressor().stream_reader(data).read()
        assert "sha256:" + hashlib.sha256(plain).hexdigest() == diff_id
    # the source's config, byte for byte, and layers that decompress to ITS diff IDs
    assert_same_content(f"oci:{out}:zstd", f"oci:{layout}:latest", compression="zstd")
    skopeo_inspect(f"oci:{out}:zstd")

    copy("--dest-compress-format", "gzip", f"oci:{out}:zstd", f"oci:{out}:gzip")
    layers = _diff_ids_and_layers(out, "gzip")
    for media_type, diff_id, data in layers:
        assert media_type == OCI_LAYER_GZIP
        assert "sha256:" + hashlib.sha256(gzip.decompress(data)).hexdigest() == diff_id
    assert_same_content(f"oci:{out}:gzip", f"oci:{layout}:latest", compression="gzip")
    skopeo_inspect(f"oci:{out}:gzip")
    assert sorted(umoci_ls(out)) == ["gzip", "zstd"]


def _snapshot(root: Path) -> dict[str, bytes]:
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_preserve_digests_refuses_a_conversion(
    oci_layout: tuple[Path, str], tmp_path: Path
) -> None:
    layout, _ = oci_layout
    out = tmp_path / "out"
    copy("--all", f"oci:{layout}:latest", f"oci:{out}:before")
    before = _snapshot(out)
    for extra in (["--format", "v2s2"], ["--dest-compress-format", "zstd"]):
        result = spyglass("copy", "--all", "--preserve-digests", *extra,
                          f"oci:{layout}:latest", f"dir:{tmp_path / 'dir'}")
        assert result.returncode == 1
        assert result.stdout == b""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("spyglass: ") and lines[0].endswith("."), lines[0]
        assert "--preserve-digests" in lines[0]
        assert not (tmp_path / "dir").exists() or not any((tmp_path / "dir").iterdir())
        result = spyglass("copy", "--all", "--preserve-digests", *extra,
                          f"oci:{layout}:latest", f"oci:{out}:after")
        assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
        assert _snapshot(out) == before


def test_preserve_digests_says_why_a_layout_cannot_keep_a_docker_image(
    docker_layout: tuple[Path, str], tmp_path: Path
) -> None:
    layout, _ = docker_layout
    result = spyglass("copy", "--all", "--preserve-digests", f"oci:{layout}:latest",
                      f"oci:{tmp_path / 'out'}:v1")
    assert result.returncode == 1
    assert "stores only OCI manifests, so the Docker schema 2 ones would be converted" \
        in result.stderr, \
        result.stderr


def test_dry_run_prints_the_plan_and_writes_nothing(
    oci_layout: tuple[Path, str], registry: RegistryServer, tmp_path: Path
) -> None:
    layout, _ = oci_layout
    out = tmp_path / "out"
    result = ok("copy", "--all", "--dry-run", "--format", "v2s2",
                f"oci:{layout}:latest", f"dir:{out}")
    text = result.stdout.decode()
    assert text.startswith(f"Would copy oci:{layout}:latest → dir:{out}")
    assert "→ (new digest: converted), Docker manifest (schema 2), 3 layers" in text
    assert "\n  total: 8 blobs, " in text
    assert not out.exists() or not any(out.iterdir())

    remote = f"docker://{registry.host}/it/dry-run:1"
    ok("copy", "--all", "--dry-run", f"oci:{layout}:latest", remote)
    assert spyglass("inspect", "--raw", remote).returncode == 1
    archive = tmp_path / "image.tar"
    ok("copy", "--all", "--dry-run", f"oci:{layout}:latest", f"oci-archive:{archive}")
    assert not archive.exists()


def test_docker_archive_layers_are_plain_tars(
    oci_layout: tuple[Path, str], tmp_path: Path
) -> None:
    layout, _ = oci_layout
    archive = tmp_path / "image.tar"
    copy("--platform", "linux/arm/v7", f"oci:{layout}:latest",
         f"docker-archive:{archive}:it/arm:1")
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest[0]["RepoTags"] == ["docker.io/it/arm:1"]  # as skopeo writes it
    assert_archive_layers_are_plain_tars(archive)
    inspected = skopeo_inspect(f"docker-archive:{archive}")
    assert inspected["Architecture"] == "arm"


@pytest.mark.parametrize("compress", [None, "gzip", "zstd", "none"])
def test_a_docker_archive_copies_to_images_whose_layers_are_what_they_say(
    oci_layout: tuple[Path, str], tmp_path: Path, compress: str | None
) -> None:
    """A docker-archive's layers reach every destination as their media types say: its
    manifest (containers/image's, byte for byte) names plain tars tar.gzip. umoci
    unpacks the layout; a docker-archive copies on as plain tars."""
    layout, _ = oci_layout
    archive = tmp_path / "image.tar"
    copy("--platform", "linux/amd64", f"oci:{layout}:latest",
         f"docker-archive:{archive}:it/app:1")
    extra = ["--dest-compress-format", compress] if compress else []
    out = tmp_path / "out"
    copy(*extra, f"docker-archive:{archive}", f"oci:{out}:v1")
    for media_type, diff_id, data in _diff_ids_and_layers(out, "v1"):
        plain = {
            OCI_LAYER_GZIP: gzip.decompress,
            OCI_LAYER_ZSTD: lambda d: zstandard.ZstdDecompressor().stream_reader(d).read(),
            OCI_LAYER: lambda d: d,
        }[media_type](data)
        assert "sha256:" + hashlib.sha256(plain).hexdigest() == diff_id
        assert media_type == {None: OCI_LAYER_GZIP, "gzip": OCI_LAYER_GZIP,
                              "zstd": OCI_LAYER_ZSTD, "none": OCI_LAYER}[compress]
    if compress != "zstd":  # umoci (0.4) unpacks no zstd layers
        umoci = require_tool("umoci")
        run(umoci, "unpack", "--rootless", "--image", f"{out}:v1", str(tmp_path / "bundle"))
    again = tmp_path / "again.tar"
    if compress in ("gzip", "zstd"):  # a docker-archive holds plain tars: refused, not ignored
        refused = spyglass("copy", *extra, f"docker-archive:{archive}",
                           f"docker-archive:{again}:it/app:1")
        assert refused.returncode == 1 and "holds its layers uncompressed" in refused.stderr
        extra = []
    copy(*extra, f"docker-archive:{archive}", f"docker-archive:{again}:it/app:1")
    assert skopeo_inspect(f"docker-archive:{again}")["Digest"] == raw_digest(
        f"docker-archive:{archive}")


def test_zstd_layer_to_docker_needs_gzip(tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path / "zstd")
    desc = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"}, compression="zstd")]))
    builder.tag(desc, "z")
    result = spyglass("copy", "--format", "v2s2", f"oci:{tmp_path / 'zstd'}:z",
                      f"dir:{tmp_path / 'dir'}")
    assert result.returncode == 1 and "--dest-compress-format gzip" in result.stderr
    folder = tmp_path / "dir"
    digest = copy("--format", "v2s2", "--dest-compress-format", "gzip",
                  f"oci:{tmp_path / 'zstd'}:z", f"dir:{folder}")
    check_digest(f"dir:{folder}", digest)
    assert len(skopeo_inspect(f"dir:{folder}")["Layers"]) == 1  # type: ignore[arg-type]


def test_a_destination_named_by_digest_takes_only_that_image_unchanged(
    oci_layout: tuple[Path, str], registry: RegistryServer
) -> None:
    """Refused before a byte moves: another image's digest, or a copy that changes the
    manifest. The image with that digest, unchanged, is copied."""
    layout, list_digest = oci_layout
    repository = f"docker://{registry.host}/it/by-digest"
    other = "sha256:" + "ab" * 32
    wrong = spyglass("copy", "-q", "--all", f"oci:{layout}:latest", f"{repository}@{other}")
    assert wrong.returncode == 1
    assert f"asks for the image {other}, but the image copied is {list_digest}" \
        in wrong.stderr, wrong.stderr
    converted = spyglass("copy", "-q", "--all", "--format", "v2s2", f"oci:{layout}:latest",
                         f"{repository}@{list_digest}")
    assert converted.returncode == 1
    assert "is named by digest, so the image must arrive unchanged" in converted.stderr
    with registry.client() as client:  # nothing was uploaded by either
        assert client.get("/v2/it/by-digest/tags/list").status_code == 404
        assert client.head(f"/v2/it/by-digest/manifests/{list_digest}").status_code == 404
    assert copy("--all", f"oci:{layout}:latest", f"{repository}@{list_digest}") == list_digest
    assert raw_digest(f"{repository}@{list_digest}") == list_digest  # (no tags: skopeo's
    # inspect lists them)


LOCAL_KINDS = ("oci", "dir", "oci-archive", "docker-archive")


def _local_name(kind: str, folder: Path) -> str:
    return {
        "oci": f"oci:{folder / 'layout'}:one",
        "dir": f"dir:{folder / 'dir'}",
        "oci-archive": f"oci-archive:{folder / 'oci.tar'}:one",
        "docker-archive": f"docker-archive:{folder / 'docker.tar'}:it/one:1",
    }[kind]


@pytest.fixture(scope="module")
def single_sources(
    oci_layout: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """One platform of the OCI list in each local transport; the OCI image's digest."""
    layout, _ = oci_layout
    folder = tmp_path_factory.mktemp("single-sources")
    digests = {kind: copy("--platform", "linux/arm64/v8", f"oci:{layout}:latest",
                          _local_name(kind, folder)) for kind in LOCAL_KINDS}
    assert digests["oci"] == digests["dir"] == digests["oci-archive"]
    return folder, digests["oci"]


def assert_layers_are_what_they_say(name: str) -> None:
    """Every layer of the image ``name`` is compressed as its media type says and
    decompresses to its diff ID."""
    from spyglass.core.image import load_manifest
    from spyglass.core.manifest import ImageManifest
    from spyglass.core.transports import open_source

    source = open_source(name)
    try:
        manifest = load_manifest(source)
        assert isinstance(manifest, ImageManifest)
        with source.open_blob(manifest.config) as stream:
            diff_ids = json.loads(stream.read())["rootfs"]["diff_ids"]
        assert len(diff_ids) == len(manifest.layers)
        for layer, diff_id in zip(manifest.layers, diff_ids, strict=True):
            with source.open_blob(layer) as stream:
                data = stream.read()
            if layer.media_type.endswith("gzip"):
                plain = gzip.decompress(data)
            elif layer.media_type.endswith("zstd"):
                plain = zstandard.ZstdDecompressor().stream_reader(data).read()
            else:
                assert data[:2] != b"\x1f\x8b", f"{name}: {layer.digest} is gzip, named plain"
                plain = data
            assert "sha256:" + hashlib.sha256(plain).hexdigest() == diff_id, (name, layer)
    finally:
        source.close()


@pytest.mark.parametrize("destination_kind", LOCAL_KINDS)
@pytest.mark.parametrize("source_kind", LOCAL_KINDS)
def test_every_pair_of_local_transports(
    single_sources: tuple[Path, str], tmp_path: Path, source_kind: str,
    destination_kind: str,
) -> None:
    """One image from each local transport into each: skopeo reads what was written,
    its layers are what they say, and the digest stays wherever nothing had to change
    (a docker-archive stores no manifest, and its layers as plain tars)."""
    folder, oci_digest = single_sources
    source = _local_name(source_kind, folder)
    destination = _local_name(destination_kind, tmp_path)
    written = copy(source, destination)
    inspected = skopeo_inspect(destination)
    assert inspected["Architecture"] == "arm64"
    if destination_kind == "docker-archive":
        # what was written is a manifest the archive cannot store; readers build one
        assert inspected["Digest"] == raw_digest(destination)
        assert_archive_layers_are_plain_tars(tmp_path / "docker.tar")
    elif (source_kind, destination_kind) == ("docker-archive", "dir"):
        # dir: keeps the layers as they come, as containers/image does: the plain tars a
        # docker-archive's manifest calls tar.gzip, so the image keeps its digest
        assert inspected["Digest"] == written == skopeo_inspect(source)["Digest"]
        assert_archive_layers_are_plain_tars(folder / "docker.tar")
        assert_dir_layers_are_the_archives(tmp_path / "dir", folder / "docker.tar")
    else:
        assert inspected["Digest"] == written
        assert_layers_are_what_they_say(destination)
    if "docker-archive" not in (source_kind, destination_kind):
        assert written == oci_digest
    if destination_kind == "oci":
        assert umoci_ls(tmp_path / "layout") == ["one"]


def assert_dir_layers_are_the_archives(folder: Path, archive: Path) -> None:
    """The layers of the dir: image are the archive's layer files, byte for byte."""
    manifest = json.loads((folder / "manifest.json").read_bytes())
    with tarfile.open(archive) as tar:
        listed = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        files = [tar.extractfile(name).read()  # type: ignore[union-attr]
                 for name in listed[0]["Layers"]]
    layers = [(folder / layer["digest"].removeprefix("sha256:")).read_bytes()
              for layer in manifest["layers"]]
    assert layers == files


def assert_archive_layers_are_plain_tars(archive: Path) -> None:
    """The layer files of the one image of a docker-archive hash to its diff IDs."""
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        config = json.load(tar.extractfile(manifest[0]["Config"]))  # type: ignore[arg-type]
        for name, diff_id in zip(manifest[0]["Layers"], config["rootfs"]["diff_ids"],
                                 strict=True):
            data = tar.extractfile(name).read()  # type: ignore[union-attr]
            assert "sha256:" + hashlib.sha256(data).hexdigest() == diff_id


def test_a_nested_list_goes_to_a_registry_and_back_whole(
    registry: RegistryServer, tmp_path: Path
) -> None:
    """An index of an index: its images go up before the lists that name them (a
    registry refuses a list naming manifests it lacks), and it comes back as it was."""
    root = tmp_path / "nested"
    builder = LayoutBuilder(root)
    images = [builder.add_image(ImageSpec(architecture=arch)) for arch in ("amd64", "arm64")]
    inner = builder.add_index(images)
    top = builder.add_index([inner])
    builder.tag(top, "v1")
    name = f"docker://{registry.host}/it-copy/nested:v1"
    assert copy("--all", "--dest-tls-verify=false", f"oci:{root}:v1", name) == top["digest"]
    back = tmp_path / "back"
    assert copy("--all", "--src-tls-verify=false", name, f"oci:{back}:v1") == top["digest"]
    assert umoci_ls(back) == ["v1"]


def test_a_docker_archive_copied_onto_itself_keeps_its_names(tmp_path: Path) -> None:
    """Written without a name it would lose them (skopeo refuses such a copy)."""
    archive = tmp_path / "app.tar"
    sample = Path(__file__).resolve().parents[2] / "resources" / "sample-layout"
    ok("copy", "-q", "--additional-tag", "team/more:2", f"oci:{sample}:tools:2024.1",
       f"docker-archive:{archive}:team/app:1")
    ok("copy", "-q", f"docker-archive:{archive}", f"docker-archive:{archive}")
    with tarfile.open(archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        manifest = json.loads(member.read())
    assert manifest[0]["RepoTags"] == ["docker.io/team/app:1", "docker.io/team/more:2"]
