"""Uncompressed layers are gzipped for destinations that want compressed layers (a
registry, an OCI layout or archive), as skopeo does; ``dir:`` keeps them, and so does
any copy that must keep the image's digest (``--preserve-digests``, something
attached to it, a destination named by digest).

skopeo reads what is written, umoci accepts the layout, and every gzipped layer
decompresses to the diff ID its config promises.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from spyglass.core import media
from spyglass.core.copy import CopyOptions, copy_image, plan_copy
from spyglass.core.errors import SpyglassError
from spyglass.core.transports import open_destination, open_source
from tests.helpers import require_tool
from tests.helpers.cosign import add_cosign_signature, cosign_tag
from tests.helpers.fileserver import ServedFile
from tests.helpers.imagebuild import (
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    build_layer,
    dump_json,
)
from tests.helpers.registry import RegistryServer

REPO = Path(__file__).resolve().parents[2]
PLAIN_LAYERS = [LayerSpec({"/etc/motd": b"hello\n" * 500}, compression="none"),
                LayerSpec({"/app/run": b"#!/bin/sh\n"}, compression="none"),
                LayerSpec({"/app/data": b"gzip already\n"})]


def plain_layout(root: Path, *, signed: bool = False) -> str:
    """A layout ``app``: two uncompressed layers and a gzipped one; with ``signed``, a
    cosign signature tag too. Returns the image's digest."""
    builder = LayoutBuilder(root)
    image = builder.add_image(ImageSpec(layers=PLAIN_LAYERS))
    builder.tag({k: v for k, v in image.items() if k != "platform"}, "app")
    if signed:
        add_cosign_signature(builder, image["digest"])
    return str(image["digest"])


def written(raw: bytes) -> tuple[list[str], list[str]]:
    """(layer media types, layer digests) of a manifest."""
    manifest = json.loads(raw)
    return ([layer["mediaType"] for layer in manifest["layers"]],
            [layer["digest"] for layer in manifest["layers"]])


def check_diff_ids(read_blob: Any, raw: bytes) -> None:
    """Every layer decompresses to the diff ID the config names."""
    manifest = json.loads(raw)
    config = json.loads(read_blob(manifest["config"]["digest"]))
    for layer, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"], strict=True):
        data = read_blob(layer["digest"])
        assert "sha256:" + hashlib.sha256(data).hexdigest() == layer["digest"]
        if layer["mediaType"].endswith("+gzip"):
            data = gzip.decompress(data)
        assert "sha256:" + hashlib.sha256(data).hexdigest() == diff_id


def test_a_layout_gets_gzipped_layers_that_umoci_and_skopeo_accept(tmp_path: Path) -> None:
    source = tmp_path / "src"
    digest = plain_layout(source)
    plan = plan_copy(open_source(f"oci:{source}:app"),
                     open_destination(f"oci:{tmp_path / 'plan'}:v1"))
    assert any(note.startswith("2 uncompressed layers are compressed with gzip")
               for note in plan.notes), plan.notes
    top = copy_image(open_source(f"oci:{source}:app"),
                     open_destination(f"oci:{tmp_path / 'out'}:v1"))
    assert str(top.digest) != digest
    raw = (tmp_path / "out" / "blobs" / "sha256" / top.digest.hex).read_bytes()
    types, _ = written(raw)
    assert types == [OCI_LAYER_GZIP] * 3
    blobs = tmp_path / "out" / "blobs" / "sha256"
    check_diff_ids(lambda d: (blobs / d.split(":")[1]).read_bytes(), raw)

    umoci = require_tool("umoci")
    skopeo = require_tool("skopeo")
    subprocess.run([umoci, "stat", "--image", f"{tmp_path / 'out'}:v1"], check=True,
                   capture_output=True)
    subprocess.run([umoci, "unpack", "--rootless", "--image", f"{tmp_path / 'out'}:v1",
                    str(tmp_path / "bundle")], check=True, capture_output=True)
    assert (tmp_path / "bundle" / "rootfs" / "etc" / "motd").read_bytes() == b"hello\n" * 500
    theirs = tmp_path / "skopeo-dir"
    subprocess.run([skopeo, "--insecure-policy", "copy", "-q", f"oci:{tmp_path / 'out'}:v1",
                    f"dir:{theirs}"], check=True, capture_output=True)
    assert (theirs / "manifest.json").read_bytes() == raw


def test_skopeo_compresses_the_same_layers(tmp_path: Path) -> None:
    """What skopeo does with the same layout: the same layers become gzip."""
    skopeo = require_tool("skopeo")
    plain_layout(tmp_path / "src")
    subprocess.run([skopeo, "--insecure-policy", "copy", "-q", f"oci:{tmp_path / 'src'}:app",
                    f"oci:{tmp_path / 'theirs'}:v1"], check=True, capture_output=True)
    raw = subprocess.run([skopeo, "inspect", "--raw", f"oci:{tmp_path / 'theirs'}:v1"],
                         check=True, capture_output=True).stdout
    ours = copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
                      open_destination(f"oci:{tmp_path / 'ours'}:v1"))
    mine = (tmp_path / "ours" / "blobs" / "sha256" / ours.digest.hex).read_bytes()
    assert written(raw)[0] == written(mine)[0] == [OCI_LAYER_GZIP] * 3
    # the gzipped layer that was gzipped already is the same blob in both
    assert written(raw)[1][2] == written(mine)[1][2]


def test_dir_and_preserve_digests_keep_them(tmp_path: Path) -> None:
    source = tmp_path / "src"
    digest = plain_layout(source)
    top = copy_image(open_source(f"oci:{source}:app"), open_destination(f"dir:{tmp_path / 'dir'}"))
    assert str(top.digest) == digest
    kept = copy_image(open_source(f"oci:{source}:app"),
                      open_destination(f"oci:{tmp_path / 'out'}:v1"),
                      CopyOptions(preserve_digests=True))
    assert str(kept.digest) == digest
    raw = (tmp_path / "out" / "blobs" / "sha256" / kept.digest.hex).read_bytes()
    assert written(raw)[0] == [OCI_LAYER, OCI_LAYER, OCI_LAYER_GZIP]


def test_an_explicit_choice_wins(tmp_path: Path) -> None:
    source = tmp_path / "src"
    plain_layout(source)
    top = copy_image(open_source(f"oci:{source}:app"),
                     open_destination(f"oci:{tmp_path / 'out'}:v1"),
                     CopyOptions(compression="none"))
    raw = (tmp_path / "out" / "blobs" / "sha256" / top.digest.hex).read_bytes()
    assert written(raw)[0] == [OCI_LAYER] * 3


def test_dest_oci_accept_uncompressed_layers_keeps_them(tmp_path: Path) -> None:
    """skopeo's flag: an OCI layout keeps uncompressed layers as they are, and the
    image its digest."""
    source = tmp_path / "src"
    digest = plain_layout(source)
    done = subprocess.run(
        [sys.executable, "-m", "spyglass", "copy", "-q",
         "--dest-oci-accept-uncompressed-layers", "--digestfile", str(tmp_path / "digest"),
         f"oci:{source}:app", f"oci:{tmp_path / 'out'}:v1"],
        env={**os.environ, "PYTHONPATH": str(REPO / "app")}, capture_output=True, text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "digest").read_text() == digest
    raw = (tmp_path / "out" / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()
    assert written(raw)[0] == [OCI_LAYER, OCI_LAYER, OCI_LAYER_GZIP]


def spyglass_copy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "spyglass", "copy", "-q", *args],
                          env={**os.environ, "PYTHONPATH": str(REPO / "app")},
                          capture_output=True, text=True, check=False)


def test_a_converted_manifest_names_a_docker_archives_plain_layers_tar(tmp_path: Path) -> None:
    """A docker-archive's layers are plain tars its manifest calls ``tar.gzip``: where the
    manifest is written anew as OCI (kept uncompressed by
    --dest-oci-accept-uncompressed-layers, or ``--format oci`` into ``dir:``) they are
    named ``…layer.v1.tar``, the same blobs, and umoci unpacks the image (it refused the
    gzip name: "gzip: invalid header"); a plain ``dir:`` copy keeps the manifest and its
    names, as skopeo does."""
    umoci = require_tool("umoci")
    skopeo = require_tool("skopeo")
    source = tmp_path / "src"
    plain_layout(source)
    archive = tmp_path / "a.tar"
    done = spyglass_copy(f"oci:{source}:app", f"docker-archive:{archive}:it/plain:1")
    assert done.returncode == 0, done.stderr
    with tarfile.open(archive) as tar:
        stored = {member.name.removesuffix(".tar") for member in tar.getmembers()}

    layout = tmp_path / "ua"
    done = spyglass_copy("--dest-oci-accept-uncompressed-layers", f"docker-archive:{archive}",
                         f"oci:{layout}:t")
    assert done.returncode == 0, done.stderr
    raw = subprocess.run([skopeo, "inspect", "--raw", f"oci:{layout}:t"], check=True,
                         capture_output=True).stdout
    types, digests = written(raw)
    assert types == [OCI_LAYER] * 3
    assert {digest.split(":")[1] for digest in digests} <= stored  # the same blobs
    blobs = layout / "blobs" / "sha256"
    check_diff_ids(lambda d: (blobs / d.split(":")[1]).read_bytes(), raw)
    subprocess.run([umoci, "unpack", "--rootless", "--image", f"{layout}:t",
                    str(tmp_path / "bundle")], check=True, capture_output=True)
    assert (tmp_path / "bundle" / "rootfs" / "etc" / "motd").read_bytes() == b"hello\n" * 500
    inspected = json.loads(subprocess.run([skopeo, "inspect", f"oci:{layout}:t"], check=True,
                                          capture_output=True).stdout)
    assert inspected["Layers"] == digests

    folder = tmp_path / "dfo"
    done = spyglass_copy("--format", "oci", f"docker-archive:{archive}", f"dir:{folder}")
    assert done.returncode == 0, done.stderr
    raw = (folder / "manifest.json").read_bytes()
    assert written(raw) == ([OCI_LAYER] * 3, digests)
    again = tmp_path / "dfo-layout"
    done = spyglass_copy("--dest-oci-accept-uncompressed-layers", f"dir:{folder}",
                         f"oci:{again}:t")
    assert done.returncode == 0, done.stderr
    subprocess.run([umoci, "unpack", "--rootless", "--image", f"{again}:t",
                    str(tmp_path / "bundle2")], check=True, capture_output=True)

    # unconverted, the manifest is copied as skopeo copies it: names and digest kept
    ours, theirs = tmp_path / "d-ours", tmp_path / "d-theirs"
    assert spyglass_copy(f"docker-archive:{archive}", f"dir:{ours}").returncode == 0
    subprocess.run([skopeo, "--insecure-policy", "copy", "-q", f"docker-archive:{archive}",
                    f"dir:{theirs}"], check=True, capture_output=True)
    assert (ours / "manifest.json").read_bytes() == (theirs / "manifest.json").read_bytes()
    assert json.loads((ours / "manifest.json").read_bytes())["layers"][0]["mediaType"] == \
        media.DOCKER_LAYER_GZIP


def test_dir_compress_and_decompress_flags(tmp_path: Path) -> None:
    """skopeo's --dest-compress gzips the uncompressed layers of a dir: image,
    --dest-decompress leaves none compressed; both are refused for other destinations."""
    source = tmp_path / "src"
    plain_layout(source)
    done = spyglass_copy("--dest-compress", f"oci:{source}:app", f"dir:{tmp_path / 'gz'}")
    assert done.returncode == 0, done.stderr
    raw = (tmp_path / "gz" / "manifest.json").read_bytes()
    assert written(raw)[0] == [OCI_LAYER_GZIP] * 3
    check_diff_ids(lambda d: (tmp_path / "gz" / d.split(":")[1]).read_bytes(), raw)

    done = spyglass_copy("--dest-decompress", f"oci:{source}:app", f"dir:{tmp_path / 'plain'}")
    assert done.returncode == 0, done.stderr
    raw = (tmp_path / "plain" / "manifest.json").read_bytes()
    assert written(raw)[0] == [OCI_LAYER] * 3
    check_diff_ids(lambda d: (tmp_path / "plain" / d.split(":")[1]).read_bytes(), raw)

    for flag in ("--dest-compress", "--dest-decompress"):
        refused = spyglass_copy(flag, f"oci:{source}:app", f"oci:{tmp_path / 'other'}:v1")
        assert refused.returncode == 1
        assert f"{flag} is for dir: destinations" in refused.stderr
    refused = spyglass_copy("--dest-oci-accept-uncompressed-layers", f"oci:{source}:app",
                            f"dir:{tmp_path / 'other-dir'}")
    assert "is for oci: or oci-archive: destinations" in refused.stderr
    both = spyglass_copy("--dest-compress", "--dest-decompress", f"oci:{source}:app",
                         f"dir:{tmp_path / 'both'}")
    assert "--dest-compress and --dest-decompress contradict each other" in both.stderr
    kept = spyglass_copy("--dest-oci-accept-uncompressed-layers", "--dest-compress-format",
                         "zstd", f"oci:{source}:app", f"oci:{tmp_path / 'both'}:v1")
    assert ("--dest-oci-accept-uncompressed-layers and --dest-compress-format contradict "
            "each other") in kept.stderr
    none = spyglass_copy("--dest-compress", "--dest-compress-format", "none",
                         f"oci:{source}:app", f"dir:{tmp_path / 'both'}")
    assert "--dest-compress and --dest-compress-format none contradict each other" \
        in none.stderr
    assert not (tmp_path / "other").exists() and not (tmp_path / "both").exists()
    # as skopeo: --dest-compress compresses with the format given
    done = spyglass_copy("--dest-compress", "--dest-compress-format", "zstd",
                         f"oci:{source}:app", f"dir:{tmp_path / 'zstd'}")
    assert done.returncode == 0, done.stderr
    raw = (tmp_path / "zstd" / "manifest.json").read_bytes()
    assert written(raw)[0] == ["application/vnd.oci.image.layer.v1.tar+zstd"] * 3


def test_a_signed_image_keeps_its_layers_and_its_signature(tmp_path: Path) -> None:
    """As skopeo: compressing would change the digest the signature signs."""
    source = tmp_path / "src"
    digest = plain_layout(source, signed=True)
    plan = plan_copy(open_source(f"oci:{source}:app"),
                     open_destination(f"oci:{tmp_path / 'plan'}:v1"))
    assert any("uncompressed layers" in note and "are kept as they are" in note
               for note in plan.notes), plan.notes
    assert plan.attachments
    top = copy_image(open_source(f"oci:{source}:app"),
                     open_destination(f"oci:{tmp_path / 'out'}:v1"))
    assert str(top.digest) == digest
    index = json.loads((tmp_path / "out" / "index.json").read_bytes())
    names = {(m.get("annotations") or {}).get("org.opencontainers.image.ref.name")
             for m in index["manifests"]}
    assert cosign_tag(digest, "sig") in names
    # without its signatures, the image is free to change
    removed = copy_image(open_source(f"oci:{source}:app"),
                         open_destination(f"oci:{tmp_path / 'bare'}:v1"),
                         CopyOptions(remove_signatures=True))
    assert str(removed.digest) != digest


def test_a_registry_gets_gzipped_layers(registry: RegistryServer, tmp_path: Path) -> None:
    source = tmp_path / "src"
    digest = plain_layout(source)
    target = f"docker://{registry.host}/it-plain/app:v1"
    top = copy_image(open_source(f"oci:{source}:app"), open_destination(target))
    assert str(top.digest) != digest
    skopeo = require_tool("skopeo")
    raw = subprocess.run([skopeo, "inspect", "--raw", "--tls-verify=false", target],
                         check=True, capture_output=True).stdout
    assert written(raw)[0] == [OCI_LAYER_GZIP] * 3
    theirs = tmp_path / "skopeo-dir"
    subprocess.run([skopeo, "--insecure-policy", "copy", "-q", "--src-tls-verify=false",
                    target, f"dir:{theirs}"], check=True, capture_output=True)
    check_diff_ids(lambda d: (theirs / d.split(":")[1]).read_bytes(), raw)
    # named by the source's digest, the destination takes the image unchanged or not at all
    by_digest = f"docker://{registry.host}/it-plain/app@{digest}"
    same = copy_image(open_source(f"oci:{source}:app"), open_destination(by_digest))
    assert str(same.digest) == digest



ANNOTATED_LAYERS = [
    LayerSpec({"/etc/motd": b"hello\n" * 500}, compression="none",
              annotations={"org.example.note": "one",
                           "containerd.io/snapshot/stargz/toc.digest": "sha256:" + "0" * 64}),
    LayerSpec({"/app/data": b"gzip already\n"}, annotations={"org.example.note": "two"})]


@pytest.mark.parametrize("where", ["layout", "layout holding a layer", "registry"])
def test_layer_annotations_are_kept_when_the_manifest_is_rewritten(
        registry: RegistryServer, tmp_path: Path, where: str) -> None:
    """An image rewritten (its plain layer gzipped) named a layer it uploaded without
    its annotations, and kept them only for one the destination held already: the same
    copy wrote different digests by what was there. Kept now as containers/image keeps
    them; a layer recompressed drops only what names its old compressed bytes (an
    eStargz table of contents)."""
    source = tmp_path / "src"
    builder = LayoutBuilder(source)
    image = builder.add_image(ImageSpec(layers=ANNOTATED_LAYERS))
    builder.tag({k: v for k, v in image.items() if k != "platform"}, "app")
    if where == "registry":
        target = f"docker://{registry.host}/it-plain/annotated:v1"
    else:
        target = f"oci:{tmp_path / 'dst'}:app"
        if where == "layout holding a layer":
            gzipped = builder.read_json(image)["layers"][1]
            held = LayoutBuilder(tmp_path / "dst")
            held.add_blob(builder.read_blob(gzipped["digest"]))
    top = copy_image(open_source(f"oci:{source}:app"), open_destination(target))
    reader = open_source(target)
    try:
        raw, _ = reader.get_manifest()
    finally:
        reader.close()
    assert hashlib.sha256(raw).hexdigest() == str(top.digest).split(":")[1]
    layers = json.loads(raw)["layers"]
    assert layers[0]["mediaType"] == OCI_LAYER_GZIP
    assert layers[0]["annotations"] == {"org.example.note": "one"}
    assert layers[1]["annotations"] == {"org.example.note": "two"}


def data_layout(root: Path) -> dict[str, Any]:
    """A layout ``app`` whose config and gzipped layer carry their bytes in ``data``
    (the layer a field of another tool's too), beside a plain layer that a layout gets
    gzipped, so that the manifest is written again. Returns its descriptors by name."""
    builder = LayoutBuilder(root)
    plain, plain_diff = build_layer(LayerSpec({"/u": b"u\n"}, compression="none"))
    packed, packed_diff = build_layer(LayerSpec({"/g": b"g\n"}))
    config = dump_json({"architecture": "amd64", "os": "linux",
                        "rootfs": {"type": "layers", "diff_ids": [plain_diff, packed_diff]}})
    inline = {"config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                         **builder.add_blob(config),
                         "data": base64.b64encode(config).decode()},
              "plain": {"mediaType": OCI_LAYER, **builder.add_blob(plain),
                        "data": base64.b64encode(plain).decode(), "x-vendor": {"k": 1}},
              "packed": {"mediaType": OCI_LAYER_GZIP, **builder.add_blob(packed),
                         "annotations": {"keep": "me"},
                         "data": base64.b64encode(packed).decode(), "x-vendor": {"k": 1}}}
    manifest = dump_json({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                          "config": inline["config"],
                          "layers": [inline["plain"], inline["packed"]]})
    builder.tag({"mediaType": OCI_MANIFEST, **builder.add_blob(manifest)}, "app")
    return inline


def test_a_manifest_written_again_keeps_what_skopeo_keeps(tmp_path: Path) -> None:
    """A manifest written again (a plain layer gzipped) dropped every descriptor field
    Spyglass does not read: the config's ``data`` too, which skopeo keeps. Now it keeps
    what containers/image keeps, so the digests agree: the config's ``data``; a layer
    is named anew (digest, size, annotations), and no field Go does not know stays."""
    inline = data_layout(tmp_path / "src")
    top = copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
                     open_destination(f"oci:{tmp_path / 'out'}:app"))
    raw = (tmp_path / "out" / "blobs" / "sha256" / top.digest.hex).read_bytes()
    manifest = json.loads(raw)
    assert dump_json(manifest["config"]) == dump_json(inline["config"])
    packed = {key: value for key, value in inline["packed"].items()
              if key not in ("data", "x-vendor")}
    assert dump_json(manifest["layers"][1]) == dump_json(packed)
    assert manifest["layers"][0]["mediaType"] == OCI_LAYER_GZIP
    assert set(manifest["layers"][0]) == {"mediaType", "digest", "size"}
    # as skopeo writes it (its gzip of the plain layer differs, so the layer's digest)
    skopeo = require_tool("skopeo")
    subprocess.run([skopeo, "--insecure-policy", "copy", "-q", f"oci:{tmp_path / 'src'}:app",
                    f"oci:{tmp_path / 'theirs'}:app"], check=True, capture_output=True)
    theirs = json.loads(subprocess.run(
        [skopeo, "inspect", "--raw", f"oci:{tmp_path / 'theirs'}:app"],
        check=True, capture_output=True).stdout)
    assert theirs["config"] == manifest["config"]
    assert theirs["layers"][1] == manifest["layers"][1]
    assert set(theirs["layers"][0]) == set(manifest["layers"][0])


def test_a_list_written_again_keeps_its_entries_data_as_skopeo_does(tmp_path: Path) -> None:
    """The same for the entries of a list written again: an image copied as it was keeps
    its entry's ``data`` (not a field Go does not know); one written again loses it (its
    old bytes)."""
    source = tmp_path / "src"
    builder = LayoutBuilder(source)
    extra = {"x-vendor": {"k": 1}}
    rewritten = builder.add_image(ImageSpec(layers=PLAIN_LAYERS[:1]))
    kept = builder.add_image(ImageSpec(layers=PLAIN_LAYERS[2:], architecture="arm64"))
    entries = [{**entry, **extra, "data": base64.b64encode(
        builder.read_blob(entry["digest"])).decode()} for entry in (rewritten, kept)]
    builder.tag(builder.add_index(entries), "app")
    top = copy_image(open_source(f"oci:{source}:app"),
                     open_destination(f"oci:{tmp_path / 'out'}:app"),
                     CopyOptions(multi_arch="all"))
    written_entries = json.loads(
        (tmp_path / "out" / "blobs" / "sha256" / top.digest.hex).read_bytes())["manifests"]
    assert written_entries[0]["digest"] != entries[0]["digest"]
    assert "data" not in written_entries[0] and "x-vendor" not in written_entries[0]
    assert written_entries[1] == {key: value for key, value in entries[1].items()
                                  if key != "x-vendor"}


def test_a_docker_manifest_converted_to_oci_carries_no_field_of_its_own(
        tmp_path: Path) -> None:
    """A Docker schema 2 descriptor has no ``data`` and no place for other fields: one
    converted to OCI is written as skopeo writes it, whatever the source's JSON held."""
    skopeo = require_tool("skopeo")
    digests = []
    for name, extra in (("plain", {}), ("odd", {"x.layer": 1, "data": "e30="})):
        source = tmp_path / name
        builder = LayoutBuilder(source)
        layer, diff = build_layer(LayerSpec({"/d": b"d\n"}))
        config = dump_json({"architecture": "amd64", "os": "linux",
                            "rootfs": {"type": "layers", "diff_ids": [diff]}})
        manifest = dump_json({
            "schemaVersion": 2, "mediaType": media.DOCKER_V2S2,
            "config": {"mediaType": media.DOCKER_CONFIG, **builder.add_blob(config),
                       **extra},
            "layers": [{"mediaType": media.DOCKER_LAYER_GZIP, **builder.add_blob(layer),
                        **extra}]})
        builder.tag({"mediaType": media.DOCKER_V2S2, **builder.add_blob(manifest)}, "app")
        top = copy_image(open_source(f"oci:{source}:app"),
                         open_destination(f"oci:{tmp_path / (name + '-out')}:app"),
                         CopyOptions(format="oci"))
        digests.append(top.digest)
        if extra:
            # skopeo reads no Docker manifest from a layout: from dir:, the same bytes
            copy_image(open_source(f"oci:{source}:app"),
                       open_destination(f"dir:{tmp_path / 'dir'}"))
            subprocess.run([skopeo, "--insecure-policy", "copy", "-q", "--format", "oci",
                            f"dir:{tmp_path / 'dir'}", f"oci:{tmp_path / 'theirs'}:app"],
                           check=True, capture_output=True)
            theirs = json.loads(subprocess.run(
                [skopeo, "inspect", "--raw", f"oci:{tmp_path / 'theirs'}:app"],
                check=True, capture_output=True).stdout)
            ours = json.loads((tmp_path / (name + "-out") / "blobs" / "sha256" /
                               top.digest.hex).read_bytes())
            # (skopeo writes the config again through Go's struct: its bytes differ)
            assert theirs["layers"] == ours["layers"]
            assert set(theirs["config"]) == set(ours["config"]) == {
                "mediaType", "digest", "size"}
    assert digests[0] == digests[1]


def copied_by_both(source: str, dest: Path, *flags: str) -> tuple[str, str]:
    """The digests Spyglass and skopeo give ``source`` copied to ``dir:`` (``dest-ours``,
    ``dest-theirs``) with ``flags``."""
    skopeo = require_tool("skopeo")
    ours, theirs = (dest.with_name(f"{dest.name}-{who}") for who in ("ours", "theirs"))
    done = spyglass_copy(*flags, "--digestfile", f"{ours}.digest", source, f"dir:{ours}")
    assert done.returncode == 0, done.stderr
    subprocess.run([skopeo, "--insecure-policy", "copy", "-q", *flags, "--digestfile",
                    f"{theirs}.digest", source, f"dir:{theirs}"], check=True,
                   capture_output=True)
    return (Path(f"{ours}.digest").read_text(), Path(f"{theirs}.digest").read_text())


def test_a_config_descriptor_written_again_keeps_what_skopeo_keeps(tmp_path: Path) -> None:
    """A manifest written again (its layer decompressed into dir:) named its config with
    its annotations and data alone. containers/image keeps an OCI config's descriptor
    whole (urls, platform and artifactType too); a Docker schema 2 one keeps its urls,
    converted from OCI too; one converted from Docker to OCI is named anew. The digests
    are skopeo's."""
    src = tmp_path / "src"
    builder = LayoutBuilder(src)
    layer, diff = build_layer(LayerSpec({"/d": b"d\n"}))
    config = dump_json({"architecture": "amd64", "os": "linux",
                        "rootfs": {"type": "layers", "diff_ids": [diff]}})
    with ServedFile("/config", config) as served:  # (skopeo fetches an OCI one from there)
        extra = {"urls": [served.url], "annotations": {"org.example.k": "v"},
                 "platform": {"architecture": "amd64", "os": "linux", "os.version": "1"},
                 "artifactType": "application/vnd.example.thing"}
        for name, manifest_type, config_type, layer_type in (
                ("oci", OCI_MANIFEST, media.OCI_CONFIG, OCI_LAYER_GZIP),
                ("docker", media.DOCKER_V2S2, media.DOCKER_CONFIG, media.DOCKER_LAYER_GZIP)):
            manifest = dump_json({
                "schemaVersion": 2, "mediaType": manifest_type,
                "config": {"mediaType": config_type, **builder.add_blob(config), **extra},
                "layers": [{"mediaType": layer_type, **builder.add_blob(layer)}]})
            builder.tag({"mediaType": manifest_type, **builder.add_blob(manifest)}, name)
        # skopeo reads no Docker manifest from a layout: from dir:, the same bytes
        done = spyglass_copy(f"oci:{src}:docker", f"dir:{tmp_path / 'docker'}")
        assert done.returncode == 0, done.stderr
        for source, name, flags in (
                (f"oci:{src}:oci", "oci", ()),
                (f"oci:{src}:oci", "to-docker", ("--format", "v2s2")),
                (f"dir:{tmp_path / 'docker'}", "docker", ())):
            ours, theirs = copied_by_both(source, tmp_path / name, "--dest-decompress", *flags)
            assert ours == theirs, name
        ours_raw = json.loads((tmp_path / "oci-ours" / "manifest.json").read_bytes())
        assert {key: ours_raw["config"].get(key) for key in extra} == extra
        assert json.loads((tmp_path / "docker-ours" / "manifest.json").read_bytes())[
            "config"]["urls"] == [served.url]
    copied_by_both(f"dir:{tmp_path / 'docker'}", tmp_path / "to-oci", "--dest-decompress",
                   "--format", "oci")
    # (skopeo writes a converted config again through Go's struct: its digest differs)
    written = [json.loads((tmp_path / f"to-oci-{who}" / "manifest.json").read_bytes())
               for who in ("ours", "theirs")]
    assert [set(manifest["config"]) for manifest in written] == [
        {"mediaType", "digest", "size"}] * 2


def test_list_entries_written_again_keep_what_skopeo_keeps(tmp_path: Path) -> None:
    """A list written again names its images as containers/image does: a Docker list's
    entry keeps Docker's platform ``features``; an OCI entry without a platform gets the
    running system's in a Docker list; an OCI platform's ``features`` (not OCI's) and a
    Docker entry's annotations and artifactType are dropped."""
    src = tmp_path / "src"
    builder = LayoutBuilder(src)
    for name, docker, platform, extra in (
            ("docker", True, {"architecture": "amd64", "os": "linux", "os.version": "1",
                              "variant": "v2", "features": ["sse4"]},
             {"annotations": {"org.example.k": "v"}, "artifactType": "application/x.y"}),
            ("oci-bare", False, None, {}),
            ("oci-features", False, {"architecture": "amd64", "os": "linux",
                                     "features": ["sse4"]}, {})):
        image = builder.add_image(ImageSpec(layers=PLAIN_LAYERS[2:], docker_media_types=docker))
        entry = {key: value for key, value in image.items() if key != "platform"}
        entry.update(extra, **({"platform": platform} if platform else {}))
        builder.tag(builder.add_index([entry], docker_media_types=docker), name)
    done = spyglass_copy("--all", f"oci:{src}:docker", f"dir:{tmp_path / 'docker'}")
    assert done.returncode == 0, done.stderr
    for source, name, flags in (
            (f"dir:{tmp_path / 'docker'}", "docker", ()),
            (f"oci:{src}:oci-bare", "oci-bare", ("--format", "v2s2")),
            (f"oci:{src}:oci-features", "oci-features", ("--format", "v2s2"))):
        ours, theirs = copied_by_both(source, tmp_path / name, "--all", "--dest-decompress",
                                      *flags)
        assert ours == theirs, name
    copied_by_both(f"dir:{tmp_path / 'docker'}", tmp_path / "to-oci", "--all",
                   "--dest-decompress", "--format", "oci")
    # (skopeo writes a converted config again: the image's digest differs)
    entries = [json.loads((tmp_path / f"to-oci-{who}" / "manifest.json").read_bytes())[
        "manifests"][0] for who in ("ours", "theirs")]
    assert [{k: v for k, v in entry.items() if k not in ("digest", "size")}
            for entry in entries] == [{"mediaType": OCI_MANIFEST, "platform": {
                "architecture": "amd64", "os": "linux", "os.version": "1", "variant": "v2"}}] * 2


def test_uncompressed_layers_already_there_are_kept(
        registry: RegistryServer, tmp_path: Path) -> None:
    """As containers/image reuses a blob before it would compress it: an image copied
    where its layers are already (onto itself, under another tag of the layout, into a
    registry repository that has them) keeps its digest, and nothing is written twice."""
    source = tmp_path / "src"
    digest = plain_layout(source)
    blobs = sorted(p.name for p in (source / "blobs" / "sha256").iterdir())
    for ref in ("app", "again"):
        top = copy_image(open_source(f"oci:{source}:app"), open_destination(f"oci:{source}:{ref}"))
        assert str(top.digest) == digest
    assert sorted(p.name for p in (source / "blobs" / "sha256").iterdir()) == blobs
    # a registry repository holding the plain layers (pushed with their digests kept)
    kept = f"docker://{registry.host}/it-plain/kept"
    copy_image(open_source(f"oci:{source}:app"), open_destination(f"{kept}:v1"),
               CopyOptions(preserve_digests=True))
    again = copy_image(open_source(f"oci:{source}:app"), open_destination(f"{kept}:v2"))
    assert str(again.digest) == digest
    # elsewhere they are still compressed
    elsewhere = copy_image(open_source(f"oci:{source}:app"),
                           open_destination(f"oci:{tmp_path / 'new'}:app"))
    assert str(elsewhere.digest) != digest


def attested_list(root: Path) -> tuple[str, str]:
    """A list ``app``: an image with uncompressed layers and BuildKit's attestation
    entry for it (an in-toto layer, platform unknown/unknown). Returns (image, list)."""
    builder = LayoutBuilder(root)
    image = builder.add_image(ImageSpec(layers=PLAIN_LAYERS))
    entry = builder.add_attestation(image)
    index = builder.add_index([image, entry])
    builder.tag(index, "app")
    return str(image["digest"]), str(index["digest"])


def test_an_attested_image_keeps_its_layers(tmp_path: Path) -> None:
    """BuildKit's attestation entry names the image by digest, and its statement does
    too: compressing would leave both pointing at an image no longer there."""
    _image, index = attested_list(tmp_path / "src")
    plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:app"),
                     open_destination(f"oci:{tmp_path / 'plan'}:v1"),
                     CopyOptions(multi_arch="all"))
    assert any("are kept as they are" in note for note in plan.notes), plan.notes
    top = copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
                     open_destination(f"oci:{tmp_path / 'out'}:v1"),
                     CopyOptions(multi_arch="all"))
    assert str(top.digest) == index


def test_a_conversion_points_the_attestation_entry_at_the_new_image(tmp_path: Path) -> None:
    """Asked to recompress, the rebuilt list's attestation entry follows its image."""
    image, _ = attested_list(tmp_path / "src")
    top = copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
                     open_destination(f"oci:{tmp_path / 'out'}:v1"),
                     CopyOptions(multi_arch="all", compression="zstd"))
    blobs = tmp_path / "out" / "blobs" / "sha256"
    entries = json.loads((blobs / top.digest.hex).read_bytes())["manifests"]
    new_image = next(e for e in entries if "annotations" not in e)
    attestation = next(e for e in entries if "annotations" in e)
    assert new_image["digest"] != image
    assert attestation["annotations"]["vnd.docker.reference.digest"] == new_image["digest"]


def test_a_repeated_recompression_finds_its_result_at_the_destination(
    registry: RegistryServer, tmp_path: Path
) -> None:
    """The blob cache remembers what each layer became: copied again (here: zstd), the
    layers already at the destination are skipped rather than made again; a
    destination without them gets them made anew."""
    from spyglass.core.copy import BlobDone, BlobSkipped

    multi = tmp_path / "src"
    plain_layout(multi)
    target = f"docker://{registry.host}/it-plain/again:v1"
    options = CopyOptions(compression="zstd")

    def copy(destination: str) -> tuple[str, list[object]]:
        seen: list[object] = []
        top = copy_image(open_source(f"oci:{multi}:app"), open_destination(destination),
                         options, events=seen.append)
        return str(top.digest), seen

    first, seen = copy(target)
    made = {e.digest: e.written.digest for e in seen if isinstance(e, BlobDone)
            and e.recompressed}
    assert len(made) == 3
    again, seen = copy(target)
    assert again == first
    assert not any(isinstance(e, BlobDone) and e.recompressed for e in seen)
    skipped = [e for e in seen if isinstance(e, BlobSkipped)]
    assert len(skipped) == 4  # 3 layers and the config
    # each skipped layer names what it is kept as there (Details and the CLI say it)
    assert {e.digest: e.written for e in skipped if e.digest in made} == made
    # a layout that has none of them: made anew, to the same digests
    elsewhere, seen = copy(f"oci:{tmp_path / 'layout'}:v1")
    assert elsewhere == first
    assert sum(isinstance(e, BlobDone) and e.recompressed for e in seen) == 3


def oras_artifact(root: Path) -> str:
    """What ``oras push REF file.txt`` writes: an empty config, ``artifactType``, and the
    file as a ``…layer.v1.tar`` blob (not a tar at all) with its title."""
    builder = LayoutBuilder(root)
    empty = builder.add_blob(b"{}")
    data = builder.add_blob(b"just a text file, not a tar\n")
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.notes",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
        "layers": [{"mediaType": OCI_LAYER, **data,
                    "annotations": {"org.opencontainers.image.title": "notes.txt"}}],
    }, separators=(",", ":")).encode()
    written = builder.add_blob(manifest)
    builder.tag({"mediaType": OCI_MANIFEST, **written}, "notes")
    return str(written["digest"])


def test_an_artifact_is_copied_as_it_is(registry: RegistryServer, tmp_path: Path) -> None:
    """An artifact's blobs are no image layers: never gzipped or recompressed (nor is
    there a diff ID to check them by), as containers/image copies them."""
    source = tmp_path / "oras"
    digest = oras_artifact(source)
    for destination in (f"oci:{tmp_path / 'out'}:notes",
                        f"docker://{registry.host}/it-plain/oras:notes"):
        for options in (CopyOptions(), CopyOptions(compression="zstd")):
            top = copy_image(open_source(f"oci:{source}:notes"),
                             open_destination(destination), options)
            assert str(top.digest) == digest, (destination, options)


def windows_like(
    root: Path, url: str = "http://127.0.0.1:9/blobs/base.tar.gz",
    base: bytes = b"the base layer lives elsewhere",
) -> tuple[str, str]:
    """A Docker image whose base layer is foreign (as Windows base layers are): listed
    with ``urls``, and not in the layout (nor in any registry). Returns (image digest,
    foreign layer digest)."""
    builder = LayoutBuilder(root)
    foreign = {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
               "size": len(base), "digest": "sha256:" + hashlib.sha256(base).hexdigest(),
               "urls": [url]}
    top = builder.add_blob(b"top layer bytes, as they come")
    config = builder.add_blob(json.dumps({
        "architecture": "amd64", "os": "windows",
        "rootfs": {"type": "layers", "diff_ids": [foreign["digest"], top["digest"]]},
    }).encode())
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", **config},
        "layers": [foreign, {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                             **top}],
    }, separators=(",", ":")).encode()
    written = builder.add_blob(manifest)
    builder.tag({"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                 **written}, "win")
    return str(written["digest"]), foreign["digest"]


def test_a_registry_that_refuses_foreign_layers_is_said_to_and_not_asked_again(
    registry_binary: str, tmp_path: Path,
) -> None:
    """distribution without validation.manifests.urls.allow answers the manifest naming a
    foreign layer MANIFEST_BLOB_UNKNOWN (with an HTTP 500): no other writer will link a
    layer the copy left at its urls, so the manifest is sent once, and the sentence says
    what the registry refused rather than blame a fault of its own."""
    url = "http://127.0.0.1:9/base.tar.gz"  # (never fetched)
    source = tmp_path / "src"
    _digest, foreign = windows_like(source, url)
    logged = {"log": {"accesslog": {"disabled": False}}}
    with RegistryServer(binary=registry_binary, extra_config=logged) as registry:
        with pytest.raises(SpyglassError) as refused:
            copy_image(open_source(f"oci:{source}:win"),
                       open_destination(f"docker://{registry.host}/it-plain/refused:1"))
        puts = registry.log_path.read_text().count('"PUT /v2/it-plain/refused/manifests/1 ')
    assert str(refused.value) == (
        f"Storing the manifest {registry.host}/it-plain/refused:1 failed: the registry "
        f"{registry.host} refused the manifest because it does not hold the foreign layer "
        f"{foreign} (left at {url}, as a copy leaves such layers): it does not accept "
        "manifests naming layers stored elsewhere. Allow them in its configuration "
        "(distribution: validation.manifests.urls.allow), or copy the image to another "
        "destination.")
    assert puts == 1


def test_a_foreign_layer_stays_where_its_urls_point(
    registry_binary: str, tmp_path: Path,
) -> None:
    """As containers/image: a registry or an OCI layout refers to it there (its bytes are
    not fetched, nor copied); dir: cannot, and gets the bytes from the source, or, when
    the source lacks them, from the url (here a server on loopback)."""
    base = b"the base layer lives elsewhere"
    with ServedFile("/blobs/base.tar.gz", base) as served:
        url = served.url
        source = tmp_path / "src"
        digest, foreign = windows_like(source, url)
        allow = {"validation": {"manifests": {"urls": {"allow": ["^https?://"]}}}}
        with RegistryServer(binary=registry_binary, extra_config=allow) as registry:
            top = copy_image(open_source(f"oci:{source}:win"),
                             open_destination(f"docker://{registry.host}/it-plain/win:1"))
            assert str(top.digest) == digest
        out = tmp_path / "out"
        plan = plan_copy(open_source(f"oci:{source}:win"), open_destination(f"oci:{out}:win"))
        assert any(note.startswith("1 foreign layer stays where its urls point")
                   for note in plan.notes), plan.notes
        top = copy_image(open_source(f"oci:{source}:win"), open_destination(f"oci:{out}:win"))
        manifest = json.loads((out / "blobs" / "sha256" / top.digest.hex).read_bytes())
        assert manifest["layers"][0] == {  # converted to OCI: containers/image's mapping
            "mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            "digest": foreign, "size": 30, "urls": [url]}
        assert not (out / "blobs" / "sha256" / foreign.split(":")[1]).exists()
        # dir: cannot refer to it: the bytes come from the url, verified
        copy_image(open_source(f"oci:{source}:win"), open_destination(f"dir:{tmp_path / 'd'}"))
        assert (tmp_path / "d" / foreign.split(":")[1]).read_bytes() == base
        gone = tmp_path / "gone"
        windows_like(gone, url.replace("base.tar.gz", "missing.tar.gz"))
        # an OCI archive, as the layout inside it, refers to it too (skopeo's archive holds
        # no copy of it either), so an url that does not serve it fails nothing: the same
        # manifest, so the same digest, as the layout's
        archive = tmp_path / "w.tar"
        plan = plan_copy(open_source(f"oci:{gone}:win"),
                         open_destination(f"oci-archive:{archive}:win"))
        assert any(note.startswith("1 foreign layer stays where its urls point")
                   for note in plan.notes), plan.notes
        archived = copy_image(open_source(f"oci:{gone}:win"),
                              open_destination(f"oci-archive:{archive}:win"))
        assert archived.digest != top.digest  # its url differs
        with tarfile.open(archive) as tar:
            names = tar.getnames()
        assert f"blobs/sha256/{archived.digest.hex}" in names
        assert f"blobs/sha256/{foreign.split(':')[1]}" not in names, names
        archived = copy_image(open_source(f"oci:{source}:win"),
                              open_destination(f"oci-archive:{archive}:win"))
        assert archived.digest == top.digest
        with pytest.raises(SpyglassError, match=r"its urls did not serve it.*HTTP 404"):
            copy_image(open_source(f"oci:{gone}:win"),
                       open_destination(f"dir:{tmp_path / 'e'}"))


class _Flaky:
    """A loopback server of the foreign layer's bytes that breaks off its first answer
    half-way (then serves whole), or, with ``stall``, stops sending half-way."""

    def __init__(self, body: bytes, *, stall: bool = False) -> None:
        import http.server
        import threading

        self.gets = 0
        self.release = threading.Event()
        flaky = self

        class Serve(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                flaky.gets += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if flaky.gets == 1 or stall:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    if stall:
                        flaky.release.wait(30)
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Serve)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/blobs/base.tar.gz"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_foreign_layer_whose_server_breaks_off_is_fetched_again(tmp_path: Path) -> None:
    """A connection that breaks is a connection failure, retried like any blob's (it was
    "an unexpected internal error"); the bytes that come whole are kept."""
    base = b"the base layer lives elsewhere"
    flaky = _Flaky(base)
    try:
        windows_like(tmp_path / "src", flaky.url)
        copy_image(open_source(f"oci:{tmp_path / 'src'}:win"),
                   open_destination(f"dir:{tmp_path / 'd'}"))
        assert flaky.gets == 2
        digest = "sha256:" + hashlib.sha256(base).hexdigest()
        assert (tmp_path / "d" / digest.split(":")[1]).read_bytes() == base
    finally:
        flaky.close()


def test_a_stalled_foreign_layer_is_cancelled_at_once(tmp_path: Path) -> None:
    """Cancelling from another thread (as the window does) shuts the stalled connection
    down: the copy ends as cancelled within moments, not at the 60 s timeout."""
    import threading
    import time

    from spyglass.core.cancel import CancelToken
    from spyglass.core.errors import Cancelled

    flaky = _Flaky(b"x" * (4 << 20), stall=True)
    try:
        source = tmp_path / "src"
        windows_like(source, flaky.url, b"x" * (4 << 20))
        cancel = CancelToken()
        timer = threading.Timer(1.0, cancel.cancel)
        started = time.monotonic()
        timer.start()
        with pytest.raises(Cancelled):
            copy_image(open_source(f"oci:{source}:win"),
                       open_destination(f"dir:{tmp_path / 'd'}"), cancel=cancel)
        assert time.monotonic() - started < 10
        assert not (tmp_path / "d").exists()
    finally:
        flaky.close()


def test_a_layer_labelled_gzip_that_is_a_plain_tar_is_read_as_one(tmp_path: Path) -> None:
    """Its bytes say what it is, as containers/image detects it: converting the image to
    a docker-archive (plain tars) or recompressing it to zstd works, and the layer still
    matches its diff ID."""
    from tests.helpers.imagebuild import build_tar

    root = tmp_path / "src"
    builder = LayoutBuilder(root)
    tar = build_tar(LayerSpec({"/etc/motd": b"mislabelled\n"}))
    layer = builder.add_blob(tar)
    config = builder.add_blob(json.dumps({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
    }).encode())
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": OCI_LAYER_GZIP, **layer}],
    }, separators=(",", ":")).encode()
    builder.tag({"mediaType": OCI_MANIFEST, **builder.add_blob(manifest)}, "app")
    copy_image(open_source(f"oci:{root}:app"),
               open_destination(f"docker-archive:{tmp_path / 'a.tar'}:app:1"))
    top = copy_image(open_source(f"oci:{root}:app"), open_destination(f"oci:{tmp_path / 'z'}:1"),
                     CopyOptions(compression="zstd"))
    raw = (tmp_path / "z" / "blobs" / "sha256" / top.digest.hex).read_bytes()
    assert written(raw)[0] == ["application/vnd.oci.image.layer.v1.tar+zstd"]
    # into a layout as it is: gzipped as its name says (skopeo does so too), so that
    # umoci, which believes the name, unpacks it; dir: keeps the bytes as they are
    out = tmp_path / "out"
    top = copy_image(open_source(f"oci:{root}:app"), open_destination(f"oci:{out}:1"))
    raw = (out / "blobs" / "sha256" / top.digest.hex).read_bytes()
    types, digests = written(raw)
    assert types == [OCI_LAYER_GZIP] and digests != [layer["digest"]]
    check_diff_ids(lambda d: (out / "blobs" / "sha256" / d.split(":")[1]).read_bytes(), raw)
    subprocess.run([require_tool("umoci"), "unpack", "--rootless", "--image", f"{out}:1",
                    str(tmp_path / "bundle")], check=True, capture_output=True)
    assert (tmp_path / "bundle" / "rootfs" / "etc" / "motd").read_bytes() == b"mislabelled\n"
    top = copy_image(open_source(f"oci:{root}:app"), open_destination(f"dir:{tmp_path / 'd'}"))
    assert written((tmp_path / "d" / "manifest.json").read_bytes())[1] == [layer["digest"]]
    # the same inside an OCI archive (looked at in the tar, not unpacked)
    archive = tmp_path / "app.tar"
    copy_image(open_source(f"oci:{root}:app"), open_destination(f"oci-archive:{archive}:app"),
               CopyOptions(preserve_digests=True))
    top = copy_image(open_source(f"oci-archive:{archive}:app"),
                     open_destination(f"oci:{tmp_path / 'from-archive'}:1"))
    raw = (tmp_path / "from-archive" / "blobs" / "sha256" / top.digest.hex).read_bytes()
    assert written(raw)[0] == [OCI_LAYER_GZIP]


def test_a_layer_labelled_tar_that_is_gzip_is_read_as_gzip(tmp_path: Path) -> None:
    """The other way round: a "tar" whose bytes are gzip is decompressed, not gzipped a
    second time, and matches the diff ID of the tar inside."""
    from tests.helpers.imagebuild import build_tar

    root = tmp_path / "src"
    builder = LayoutBuilder(root)
    tar = build_tar(LayerSpec({"/etc/motd": b"gzip in a tar's clothing\n"}))
    layer = builder.add_blob(gzip.compress(tar))
    config = builder.add_blob(json.dumps({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest()]},
    }).encode())
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": OCI_LAYER, **layer}],
    }, separators=(",", ":")).encode()
    builder.tag({"mediaType": OCI_MANIFEST, **builder.add_blob(manifest)}, "app")
    top = copy_image(open_source(f"oci:{root}:app"), open_destination(f"oci:{tmp_path / 'o'}:1"))
    raw = (tmp_path / "o" / "blobs" / "sha256" / top.digest.hex).read_bytes()
    blobs = tmp_path / "o" / "blobs" / "sha256"
    check_diff_ids(lambda d: (blobs / d.split(":")[1]).read_bytes(), raw)
    # the same bytes, named for what they are (not decompressed and gzipped again), and
    # said: the image's digest changes
    assert written(raw) == ([OCI_LAYER_GZIP], [layer["digest"]])
    plan = plan_copy(open_source(f"oci:{root}:app"),
                     open_destination(f"oci:{tmp_path / 'p'}:1"))
    assert any(note.startswith("1 layer named uncompressed holds compressed bytes, and is "
                               "named for them at ") for note in plan.notes), plan.notes
    assert not any("compressed with gzip" in note for note in plan.notes), plan.notes
    # signed: kept as it is (a new digest would lose the signature), and said so
    image = json.loads((root / "index.json").read_bytes())["manifests"][0]["digest"]
    add_cosign_signature(builder, image)
    plan = plan_copy(open_source(f"oci:{root}:app"),
                     open_destination(f"oci:{tmp_path / 'p2'}:1"))
    assert not any(instance.changes for instance in plan.instances)
    assert any(note.startswith("the layers named uncompressed of ") and "naming them for the "
               "compressed bytes they hold would change its digest" in note
               for note in plan.notes), plan.notes
