"""Docker schema 1 sources, as skopeo writes them (``--format v2s1``), copied by
converting them to schema 2 as containers/image does: every destination gets an
image skopeo reads, umoci unpacks, and whose config is the one skopeo's own
conversion makes."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import require_tool
from tests.helpers.imagebuild import multi_platform_layout
from tests.helpers.registry import RegistryServer
from tests.integration.test_copy_roundtrip import copy, run, spyglass

EMPTY_GZIP_LAYER = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
"""The gzip of an empty tar, which schema 1 names for every throwaway history step."""


@pytest.fixture(scope="module")
def schema1_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The amd64 image of a 3-platform list, as skopeo writes it in schema 1 into dir:."""
    skopeo = require_tool("skopeo")
    root = tmp_path_factory.mktemp("schema1")
    multi_platform_layout(root / "layout")
    run(skopeo, "--insecure-policy", "copy", "--quiet", "--override-arch", "amd64",
        "--format", "v2s1", f"oci:{root / 'layout'}:latest", f"dir:{root / 'v2s1'}")
    manifest = json.loads((root / "v2s1" / "manifest.json").read_bytes())
    assert manifest["schemaVersion"] == 1 and "signatures" in manifest
    return root / "v2s1"


def config_of(name: str) -> dict[str, object]:
    skopeo = require_tool("skopeo")
    config: dict[str, object] = json.loads(
        run(skopeo, "--insecure-policy", "inspect", "--tls-verify=false", "--config", name))
    return config


def test_a_schema1_image_is_converted_as_skopeo_converts_it(
        schema1_dir: Path, tmp_path: Path) -> None:
    skopeo = require_tool("skopeo")
    ours = tmp_path / "ours"
    copy(f"dir:{schema1_dir}", f"oci:{ours}:v1")
    theirs = tmp_path / "theirs"
    run(skopeo, "--insecure-policy", "copy", "--quiet", f"dir:{schema1_dir}",
        f"oci:{theirs}:v1")
    # the same config as skopeo's conversion: rootfs, history and the rest
    assert config_of(f"oci:{ours}:v1") == config_of(f"oci:{theirs}:v1")
    layers = json.loads(run(skopeo, "--insecure-policy", "inspect", f"oci:{ours}:v1"))
    assert EMPTY_GZIP_LAYER not in " ".join(layers["Layers"])  # throwaway steps: no layer
    umoci = require_tool("umoci")
    run(umoci, "unpack", "--rootless", "--image", f"{ours}:v1", str(tmp_path / "bundle"))
    assert (tmp_path / "bundle" / "rootfs").is_dir()


@pytest.mark.parametrize("kind", ["docker-archive", "oci-archive", "dir"])
def test_every_destination_gets_a_schema2_image(
        schema1_dir: Path, tmp_path: Path, kind: str) -> None:
    target = tmp_path / ("image.tar" if kind.endswith("archive") else "image")
    name = f"{kind}:{target}" + (":team/app:1" if kind == "docker-archive" else "")
    copy(f"dir:{schema1_dir}", name)
    # the layers are the original image's: its diff IDs, from the list skopeo started with
    skopeo = require_tool("skopeo")
    original = json.loads(run(
        skopeo, "--insecure-policy", "--override-arch", "amd64", "inspect", "--config",
        f"oci:{schema1_dir.parent / 'layout'}:latest"))
    assert config_of(name)["rootfs"] == original["rootfs"]


def test_a_schema1_image_goes_to_a_registry(
        schema1_dir: Path, registry: RegistryServer, tmp_path: Path) -> None:
    name = f"docker://{registry.host}/legacy/app:1"
    digest = copy(f"dir:{schema1_dir}", name)
    skopeo = require_tool("skopeo")
    inspected = json.loads(run(skopeo, "--insecure-policy", "inspect", "--tls-verify=false",
                               "--raw", name))
    assert inspected["schemaVersion"] == 2
    assert digest.startswith("sha256:")
    # and on from there, as any schema 2 image
    copy(name, f"oci:{tmp_path / 'back'}:v1")


SKOPEO_CONVERTS = ("the Docker schema 1 image is converted to schema 2, as skopeo "
                   "converts it (its layers")


def test_the_note_says_where_skopeo_keeps_schema1(
        schema1_dir: Path, registry: RegistryServer, tmp_path: Path) -> None:
    """skopeo converts a schema 1 image only for a destination that cannot take one (an
    OCI layout, an archive): into ``dir:`` it keeps schema 1, and the note says so rather
    than claim skopeo converts it too."""
    skopeo = require_tool("skopeo")
    theirs = tmp_path / "theirs"
    run(skopeo, "--insecure-policy", "copy", "--quiet", f"dir:{schema1_dir}", f"dir:{theirs}")
    assert json.loads((theirs / "manifest.json").read_bytes())["schemaVersion"] == 1
    done = spyglass("copy", f"dir:{schema1_dir}", f"dir:{tmp_path / 'ours'}")
    assert done.returncode == 0, done.stderr
    assert ("Note: the Docker schema 1 image is converted to schema 2, which skopeo would "
            "not do: it keeps schema 1 in a dir:, so its digest there differs (its layers"
            ) in done.stderr, done.stderr
    assert "as skopeo converts it" not in done.stderr
    pushed = spyglass("copy", "--dest-tls-verify=false", f"dir:{schema1_dir}",
                      f"docker://{registry.host}/legacy/noted:1")
    assert pushed.returncode == 0, pushed.stderr
    assert ("which skopeo would not do: it keeps schema 1 in a registry that still takes "
            "it") in pushed.stderr, pushed.stderr
    for name in (f"oci:{tmp_path / 'layout'}:v1", f"oci-archive:{tmp_path / 'a.tar'}:v1",
                 f"docker-archive:{tmp_path / 'd.tar'}:team/app:1"):
        converted = spyglass("copy", f"dir:{schema1_dir}", name)
        assert converted.returncode == 0, converted.stderr
        assert f"Note: {SKOPEO_CONVERTS}" in converted.stderr, converted.stderr


def test_digests_cannot_be_kept_and_a_damaged_layer_is_refused(
        schema1_dir: Path, tmp_path: Path) -> None:
    kept = spyglass("copy", "--preserve-digests", f"dir:{schema1_dir}",
                    f"oci:{tmp_path / 'kept'}:v1")
    assert kept.returncode == 1
    assert "schema 1 image" in kept.stderr and "--preserve-digests" in kept.stderr
    assert not (tmp_path / "kept").exists()
    damaged = tmp_path / "damaged"
    shutil.copytree(schema1_dir, damaged)
    manifest = json.loads((damaged / "manifest.json").read_bytes())
    layer = next(f["blobSum"] for f in manifest["fsLayers"]
                 if not f["blobSum"].endswith(EMPTY_GZIP_LAYER))
    blob = damaged / layer.split(":")[1]
    data = bytearray(blob.read_bytes())
    data[-5] ^= 0xFF
    blob.write_bytes(bytes(data))
    refused = spyglass("copy", f"dir:{damaged}", f"oci:{tmp_path / 'out'}:v1")
    assert refused.returncode == 1
    assert layer in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "out").exists()


def test_the_image_written_is_byte_for_byte_skopeos(schema1_dir: Path, tmp_path: Path) -> None:
    # a docker-archive keeps the schema 2 manifest and config the conversion makes: the
    # same bytes (so the same image ID) as skopeo's conversion
    assert_converted_as_skopeo_does(schema1_dir, tmp_path)


def assert_converted_as_skopeo_does(source: Path, tmp_path: Path) -> None:
    skopeo = require_tool("skopeo")
    ours, theirs = tmp_path / "ours.tar", tmp_path / "theirs.tar"
    copy(f"dir:{source}", f"docker-archive:{ours}:team/app:1")
    run(skopeo, "--insecure-policy", "copy", "--quiet", f"dir:{source}",
        f"docker-archive:{theirs}:team/app:1")
    assert run(skopeo, "inspect", "--raw", f"docker-archive:{ours}") == \
        run(skopeo, "inspect", "--raw", f"docker-archive:{theirs}")


def test_signatures_of_the_schema1_image_are_noted_as_left_behind(
        schema1_dir: Path, tmp_path: Path) -> None:
    signed = tmp_path / "signed"
    shutil.copytree(schema1_dir, signed)
    (signed / "signature-1").write_bytes(b"a simple signing signature")
    done = spyglass("copy", f"dir:{signed}", f"dir:{tmp_path / 'out'}")
    assert done.returncode == 0, done.stderr
    assert "not carried along" in done.stderr or "left behind" in done.stderr, done.stderr
    assert not (tmp_path / "out" / "signature-1").exists()


def test_a_destination_named_by_digest_is_refused_before_anything_is_read(
        schema1_dir: Path, tmp_path: Path) -> None:
    refused = spyglass("copy", f"dir:{schema1_dir}",
                       f"docker://127.0.0.1:9/team/app@sha256:{'a' * 64}")
    assert refused.returncode == 1
    assert "schema 1" in refused.stderr and "name the destination by tag" in refused.stderr


def test_an_uncompressed_schema1_layer_is_named_as_what_it_is(
        schema1_dir: Path, tmp_path: Path) -> None:
    import gzip
    import hashlib

    plain = tmp_path / "plain"
    shutil.copytree(schema1_dir, plain)
    manifest = json.loads((plain / "manifest.json").read_bytes())
    plain_digest = ""
    for layer in manifest["fsLayers"]:
        if layer["blobSum"].endswith(EMPTY_GZIP_LAYER):
            continue
        blob = plain / layer["blobSum"].split(":")[1]
        data = gzip.decompress(blob.read_bytes())
        blob.unlink()
        digest = hashlib.sha256(data).hexdigest()
        (plain / digest).write_bytes(data)
        plain_digest = layer["blobSum"] = f"sha256:{digest}"
        break
    assert plain_digest, "the image has no layer to store uncompressed"
    manifest.pop("signatures", None)
    (plain / "manifest.json").write_text(json.dumps(manifest))

    # where layers are kept as they are, it is named a plain tar, not a gzipped one
    copy(f"dir:{plain}", f"dir:{tmp_path / 'kept'}")
    kept = json.loads((tmp_path / "kept" / "manifest.json").read_bytes())
    assert [layer["mediaType"] for layer in kept["layers"]
            if layer["digest"] == plain_digest] == ["application/vnd.docker.image.rootfs.diff.tar"]

    # gzipped for a layout, as skopeo does, and named so
    out = tmp_path / "out"
    written = json.loads((out / "blobs" / "sha256" /
                          copy(f"dir:{plain}", f"oci:{out}:v1").split(":")[1]).read_bytes())
    config = json.loads((out / "blobs" / "sha256" /
                         written["config"]["digest"].split(":")[1]).read_bytes())
    layer = written["layers"][config["rootfs"]["diff_ids"].index(plain_digest)]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert (out / "blobs" / "sha256" / layer["digest"].split(":")[1]).read_bytes()[:2] == \
        b"\x1f\x8b"
    umoci = require_tool("umoci")
    run(umoci, "unpack", "--rootless", "--image", f"{out}:v1", str(tmp_path / "bundle"))


def _variant(schema1_dir: Path, target: Path, change: dict[str, object], *,
             renamed: dict[str, str] | None = None, only: int | None = None,
             first: str | None = None) -> Path:
    """The schema 1 image with ``change`` merged into every v1Compatibility (``only``:
    into that one, the top one 0), and the keys of ``renamed`` renamed where they are,
    unsigned; ``first``: a member written before all the others (a key written twice)."""
    shutil.copytree(schema1_dir, target)
    manifest = json.loads((target / "manifest.json").read_bytes())
    for index, entry in enumerate(manifest["history"]):
        if only is not None and index != only:
            continue
        compat = json.loads(entry["v1Compatibility"])
        compat.update(change)
        for old, new in (renamed or {}).items():
            if old in compat:
                compat[new] = compat.pop(old)
        entry["v1Compatibility"] = json.dumps(compat, indent=1, ensure_ascii=False)
        if first is not None:
            entry["v1Compatibility"] = "{" + first + "," + entry["v1Compatibility"][1:]
    manifest.pop("signatures", None)
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return target


@pytest.mark.parametrize("change", [
    {"author": "Jö <dev@example.org>", "comment": "a & b"},
    {"created": "2016-01-02T03:04:05.123456789123+00:00"},
    {"container_config": {"Cmd": ["/bin/sh", "-c", "echo \u2028 <ok>"]}},
    {"Author": "Upper Case", "COMMENT": "as Go matches fields"},
    # what go1.19's time.Parse (skopeo 1.9's) takes, and later Go refuses: they were refused
    {"created": "2024-01-02T03:04:05+24:00"},
    {"created": "2024-01-02T03:04:05+05:60"},  # (+06:00, as Go writes it again)
    {"created": "2024-01-02T03:04:05,5Z"},
], ids=["author", "fraction", "escapes", "case", "offset-24", "offset-minute-60", "comma"])
def test_histories_convert_as_skopeo_converts_them(
        schema1_dir: Path, tmp_path: Path, change: dict[str, object]) -> None:
    assert_converted_as_skopeo_does(_variant(schema1_dir, tmp_path / "variant", change),
                                    tmp_path)


def test_history_fields_are_read_whatever_their_case_as_skopeo_reads_them(
        schema1_dir: Path, tmp_path: Path) -> None:
    """inspect --config and the window match throwaway, container_config, created, author
    and comment whatever their case, as the copy's conversion and skopeo do: an ENV step
    written "Throwaway" made a layer in the window's Layers tab, and "Container_Config"
    lost every build command."""
    from spyglass.core.manifest import parse_manifest

    source = _variant(schema1_dir, tmp_path / "cased",
                      {"Author": "Upper Case", "COMMENT": "as Go matches fields"},
                      renamed={"throwaway": "Throwaway", "container_config": "Container_Config",
                               "created": "CREATED"})
    skopeo = require_tool("skopeo")
    theirs = json.loads(run(skopeo, "--insecure-policy", "inspect", "--config",
                            f"dir:{source}"))
    done = spyglass("inspect", "--config", f"dir:{source}")
    assert done.returncode == 0, done.stderr
    # the whole config as skopeo's: its rootfs (a "" diff ID for each layer: none is
    # read) and history steps without empty members (they had "author": "", no rootfs)
    assert json.loads(done.stdout) == theirs
    assert any(step.get("empty_layer") for step in theirs["history"])
    # the window's layers are those of the image the copy writes
    manifest = parse_manifest((source / "manifest.json").read_bytes())
    assert len(manifest.layers) == len(theirs["rootfs"]["diff_ids"])


@pytest.mark.parametrize("change", [
    {"created": "2016-02-30T00:00:00Z"}, {"created": 5},
    {"container_config": {"Cmd": ["sh", 5]}}, {"x": float("nan")},
], ids=["no-such-day", "number", "cmd", "nan"])
def test_histories_skopeo_refuses_are_refused(
        schema1_dir: Path, tmp_path: Path, change: dict[str, object]) -> None:
    source = _variant(schema1_dir, tmp_path / "variant", change)
    refused = spyglass("copy", f"dir:{source}", f"oci:{tmp_path / 'out'}:v1")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "schema 1" in refused.stderr
    assert not (tmp_path / "out").exists()



def test_inspect_config_of_a_schema1_image_is_skopeo_s(schema1_dir: Path, tmp_path: Path
                                                       ) -> None:
    """skopeo shows the OCI config it decodes the converted image into: the top entry's
    docker_version, container_config and comment, and the config's Hostname, are not
    there, nor an empty Env; Spyglass showed them, and no rootfs."""
    top = json.loads(json.loads((schema1_dir / "manifest.json").read_bytes()
                                )["history"][0]["v1Compatibility"])
    source = _variant(schema1_dir, tmp_path / "variant", {
        "docker_version": "20.10.7", "container": "abc", "comment": "built",
        "container_config": {"Hostname": "h", "Cmd": ["sh"]}, "author": "",
        "config": {**top["config"], "Hostname": "h", "Domainname": "", "Env": [],
                   "Tty": False, "Image": "sha256:" + "c" * 64, "User": "app"}}, only=0)
    skopeo = require_tool("skopeo")
    theirs = json.loads(run(skopeo, "--insecure-policy", "inspect", "--config",
                            f"dir:{source}"))
    done = spyglass("inspect", "--config", f"dir:{source}")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == theirs
    assert theirs["config"]["User"] == "app" and "Hostname" not in theirs["config"]


@pytest.mark.parametrize(("change", "only", "said"), [
    ({"config": {"Env": "A=1"}}, 0,
     "in its top history entry, config.Env is a string, not a list of strings"),
    ({"config": {"Labels": ["x"]}}, 0,
     "in its top history entry, config.Labels is a list, not an object of strings"),
    ({"config": ["x"]}, 0, "in its top history entry, config is a list, not an object"),
    ({"throwaway": "yes"}, 2, "in its history entry 3 of 4 (the top one first), "
                              "throwaway is a string, not true or false"),
], ids=["env-string", "labels-list", "config-list", "throwaway-string"])
def test_a_history_go_cannot_decode_is_refused_naming_the_field(
        schema1_dir: Path, tmp_path: Path, change: dict[str, object], only: int,
        said: str) -> None:
    """Members of other types than containers/image decodes them into were copied into
    the config as they were: exit 0 with an image skopeo and umoci cannot read. skopeo
    refuses to copy them; so does Spyglass now, naming the member."""
    source = _variant(schema1_dir, tmp_path / "variant", change, only=only)
    skopeo = require_tool("skopeo")
    theirs = subprocess.run([skopeo, "--insecure-policy", "copy", "-q", f"dir:{source}",
                             f"oci:{tmp_path / 'theirs'}:v1"], capture_output=True, check=False)
    assert theirs.returncode == 1 and b"cannot unmarshal" in theirs.stderr
    refused = spyglass("copy", f"dir:{source}", f"oci:{tmp_path / 'out'}:v1")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"cannot be converted to schema 2: {said} (skopeo" in refused.stderr, refused.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("first", "only", "said"), [
    ('"throwaway":"x"', 2, "in its history entry 3 of 4 (the top one first), throwaway is "
                           "a string, not true or false"),
    ('"config":{"Env":"A"}', 0, "in its top history entry, config.Env is a string, not a "
                                "list of strings"),
], ids=["throwaway", "config-env"])
def test_a_key_written_twice_is_refused_where_its_first_is_of_the_wrong_type(
        schema1_dir: Path, tmp_path: Path, first: str, only: int, said: str) -> None:
    """Go decodes each member in turn, and refuses one of the wrong type though a later
    one of the same key fits; Spyglass checked the dict json.loads made (the last one
    alone) and converted what skopeo refuses."""
    source = _variant(schema1_dir, tmp_path / "variant", {}, only=only, first=first)
    skopeo = require_tool("skopeo")
    theirs = subprocess.run([skopeo, "--insecure-policy", "copy", "-q", f"dir:{source}",
                             f"oci:{tmp_path / 'theirs'}:v1"], capture_output=True, check=False)
    assert theirs.returncode == 1 and b"cannot unmarshal string" in theirs.stderr
    refused = spyglass("copy", f"dir:{source}", f"oci:{tmp_path / 'out'}:v1")
    assert refused.returncode == 1, refused.stderr
    assert f"cannot be converted to schema 2: {said} (skopeo" in refused.stderr, refused.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("only", [0, 2])
def test_a_created_written_twice_is_refused_where_its_first_is_no_time(
        schema1_dir: Path, tmp_path: Path, only: int) -> None:
    """Go parses each ``created`` in turn, and refuses a first one that is no time though
    the last is; Spyglass converted the last alone."""
    source = _variant(schema1_dir, tmp_path / "variant", {}, only=only,
                      first='"created":"nope"')
    skopeo = require_tool("skopeo")
    theirs = subprocess.run([skopeo, "--insecure-policy", "copy", "-q", f"dir:{source}",
                             f"oci:{tmp_path / 'theirs'}:v1"], capture_output=True, check=False)
    assert theirs.returncode == 1 and b"parsing time" in theirs.stderr
    refused = spyglass("copy", f"dir:{source}", f"oci:{tmp_path / 'out'}:v1")
    assert refused.returncode == 1, refused.stderr
    assert "a created time that is not RFC 3339: 'nope'." in refused.stderr, refused.stderr
    assert not (tmp_path / "out").exists()


def test_a_history_go_decodes_as_it_is_is_converted_as_skopeo_converts_it(
        schema1_dir: Path, tmp_path: Path) -> None:
    """What Go's decoder takes (null anywhere, a string Cmd, "Config" for config, members
    no field names) is not refused: skopeo converts it, to the same bytes."""
    top = json.loads(json.loads((schema1_dir / "manifest.json").read_bytes()
                                )["history"][0]["v1Compatibility"])
    config = {**top["config"], "Cmd": "/app/run.sh", "Env": ["A=1", None],
              "Labels": {"a": None}, "ExposedPorts": {"80/tcp": None, "81/tcp": {"x": 1}},
              "Healthcheck": {"Test": ["CMD", "true"], "Interval": 1000000000}}
    source = _variant(schema1_dir, tmp_path / "variant",
                      {"config": config, "Size": -1, "container_config": None,
                       "extra": [1, {"a": "b"}]}, renamed={"config": "Config"}, only=0)
    assert_converted_as_skopeo_does(source, tmp_path)


def test_a_dry_run_says_the_schema1_image_is_converted(schema1_dir: Path, tmp_path: Path) -> None:
    """The image's old digest and no new one yet, the config the conversion makes, and
    its layers copied as they are."""
    # (a signed schema 1 manifest's digest is its payload's, without the signatures)
    digest = str(json.loads(spyglass("inspect", f"dir:{schema1_dir}").stdout)["Digest"])
    lines = spyglass("copy", "--dry-run", f"dir:{schema1_dir}", f"oci:{tmp_path / 'out'}:v1"
                     ).stdout.decode().splitlines()
    assert lines[1] == (f"  image: {digest[7:19]} → (new digest: converted from schema 1), "
                        "OCI image manifest, 3 layers")
    assert lines[2].startswith("    config ") and lines[2].endswith(
        "  made by the schema 1 conversion")
    assert all(line.endswith("  copied") for line in lines[3:6]), lines
    assert not (tmp_path / "out").exists()


def test_fields_written_after_the_signatures_are_not_the_image(
        schema1_dir: Path, tmp_path: Path) -> None:
    """A signed manifest's digest covers its payload alone: a second fsLayers/history
    pair written after the signatures (which JSON's last key would let win) is neither
    inspected nor copied; the image is the one the signed payload (and digest) names."""
    from tests.unit.core.test_manifest import appended_after_signatures

    signed = (schema1_dir / "manifest.json").read_bytes()
    real = json.loads(spyglass("inspect", f"dir:{schema1_dir}").stdout)
    evil = tmp_path / "evil"
    shutil.copytree(schema1_dir, evil)
    top = json.loads(json.loads(signed)["history"][0]["v1Compatibility"])
    top.pop("parent", None)
    top["config"]["Cmd"] = ["/bin/evil"]
    base = json.loads(signed)["fsLayers"][-1]
    (evil / "manifest.json").write_bytes(appended_after_signatures(
        signed, fsLayers=[base], history=[{"v1Compatibility": json.dumps(top)}]))
    seen = json.loads(spyglass("inspect", f"dir:{evil}").stdout)
    assert seen["Digest"] == real["Digest"]
    assert seen["Layers"] == real["Layers"] and len(seen["Layers"]) > 1
    copy(f"dir:{evil}", f"oci:{tmp_path / 'out'}:v1")
    config = json.loads(spyglass("inspect", "--config", f"oci:{tmp_path / 'out'}:v1").stdout)
    assert config["config"]["Cmd"] != ["/bin/evil"]
    assert len(config["rootfs"]["diff_ids"]) == len(
        [layer for layer in real["Layers"] if not layer.endswith(EMPTY_GZIP_LAYER)])


def test_an_odd_top_history_entry_is_inspected(schema1_dir: Path, tmp_path: Path) -> None:
    """A container_config that is no object is no build command (a traceback was)."""
    source = _variant(schema1_dir, tmp_path / "ccstring", {"container_config": "oops"})
    for args in ((), ("--config",)):
        done = spyglass("inspect", *args, f"dir:{source}")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)


def test_config_raw_of_a_schema1_image_prints_nothing_as_skopeo(
        schema1_dir: Path, tmp_path: Path) -> None:
    """Schema 1 has no config blob: skopeo prints nothing, and so does Spyglass, saying
    why on stderr (the config assembled from the history is --config's); one whose
    assembled config is not usable said so with an AssertionError."""
    skopeo = require_tool("skopeo")
    bad = _variant(schema1_dir, tmp_path / "rootfsbad",
                   {"rootfs": {"type": "layers", "diff_ids": ["nope"]}})
    for source in (schema1_dir, bad):
        done = spyglass("inspect", "--config", "--raw", f"dir:{source}")
        assert done.returncode == 0, done.stderr
        assert done.stdout == run(skopeo, "--insecure-policy", "inspect", "--config", "--raw",
                                  f"dir:{source}").encode() == b""
        assert "schema 1 image, which has no config blob" in done.stderr


def test_a_rootfs_in_the_history_is_not_read_as_schema1_never_uses_it(
        schema1_dir: Path, tmp_path: Path) -> None:
    """skopeo reads the image and converts it; its v1Compatibility "rootfs" was checked
    as if it were the image's diff IDs, and inspect refused it."""
    source = _variant(schema1_dir, tmp_path / "rootfsbad",
                      {"rootfs": {"type": "layers", "diff_ids": ["nope"]}})
    skopeo = require_tool("skopeo")
    theirs = json.loads(run(skopeo, "--insecure-policy", "inspect", f"dir:{source}"))
    done = spyglass("inspect", f"dir:{source}")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Created"] == theirs["Created"]
    config = json.loads(spyglass("inspect", "--config", f"dir:{source}").stdout)
    # (the rootfs shown is the conversion's, as skopeo's: none of "nope")
    assert config == json.loads(run(skopeo, "--insecure-policy", "inspect", "--config",
                                    f"dir:{source}"))
    assert "nope" not in config["rootfs"]["diff_ids"] and config["history"]


SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"


@pytest.fixture
def schema1_list(schema1_dir: Path,
                 make_registry: Callable[..., RegistryServer]) -> tuple[RegistryServer, str]:
    """distribution 2.8 with schema 1 on, holding the schema 1 image (signed by skopeo) and
    a Docker list whose one entry (linux/amd64) it is: ``(registry, its digest)``."""
    import httpx

    server = make_registry(extra_config={"compatibility": {"schema1": {"enabled": True}}})
    skopeo = require_tool("skopeo")
    run(skopeo, "--insecure-policy", "copy", "--quiet", "--format", "v2s1",
        "--dest-tls-verify=false", f"dir:{schema1_dir}", f"docker://{server.host}/s1/app:v1")
    got = httpx.get(f"http://{server.host}/v2/s1/app/manifests/v1",
                    headers={"Accept": SCHEMA1_SIGNED})
    digest = got.headers["Docker-Content-Digest"]
    listed = {"schemaVersion": 2,
              "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
              "manifests": [{"mediaType": SCHEMA1_SIGNED, "size": len(got.content),
                             "digest": digest,
                             "platform": {"architecture": "amd64", "os": "linux"}}]}
    put = httpx.put(f"http://{server.host}/v2/s1/app/manifests/list",
                    content=json.dumps(listed).encode(),
                    headers={"Content-Type": listed["mediaType"]})
    assert put.status_code == 201, put.text
    return server, digest


@pytest.mark.parametrize("kind", ["oci", "docker"])
def test_the_schema1_image_of_a_list_is_copied_alone_converted(
        schema1_list: tuple[RegistryServer, str], tmp_path: Path, kind: str) -> None:
    """Without --all, a list copy copies one image: its schema 1 one is converted as when
    it is named by its digest (skopeo copies it too), not refused."""
    server, digest = schema1_list
    source = f"docker://{server.host}/s1/app"
    target = (f"oci:{tmp_path / 'out'}:v1" if kind == "oci"
              else f"docker://{server.host}/s1copy/app:v1")
    alone = (f"oci:{tmp_path / 'alone'}:v1" if kind == "oci"
             else f"docker://{server.host}/s1alone/app:v1")
    done = spyglass("copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                    "--override-arch", "amd64", f"{source}:list", target)
    assert done.returncode == 0, done.stderr
    assert "converted to schema 2" in done.stderr
    # the very image its copy by digest writes
    assert copy("--src-tls-verify=false", "--dest-tls-verify=false",
                f"{source}@{digest}", alone) == json.loads(spyglass(
                    "inspect", "--tls-verify=false", target).stdout)["Digest"]


def test_the_signature_of_a_list_whose_schema1_image_is_copied_is_said_to_stay(
        schema1_list: tuple[RegistryServer, str], tmp_path: Path) -> None:
    """The list is not written, only its (converted) image: its signature stays behind,
    said as for any image of a list copied alone (nothing was said)."""
    import httpx

    from tests.helpers.cosign import add_cosign_signature, cosign_tag
    from tests.helpers.imagebuild import LayoutBuilder

    server, _digest = schema1_list
    listed = httpx.head(f"http://{server.host}/v2/s1/app/manifests/list", headers={
        "Accept": "application/vnd.docker.distribution.manifest.list.v2+json"})
    list_digest = listed.headers["Docker-Content-Digest"]
    signature = tmp_path / "signature"
    add_cosign_signature(LayoutBuilder(signature), list_digest)
    tag = cosign_tag(list_digest)
    copy("--dest-tls-verify=false", f"oci:{signature}:{tag}",
         f"docker://{server.host}/s1/app:{tag}")
    args = ("--src-tls-verify=false", "--override-arch", "amd64",
            f"docker://{server.host}/s1/app:list", f"oci:{tmp_path / 'out'}:v1")
    planned = spyglass("copy", "--dry-run", *args).stdout.decode().splitlines()
    assert planned[1] == f"  list: {list_digest[7:19]} (not written: the image below goes alone)"
    assert planned[2].startswith("  image linux/amd64: "), planned
    done = spyglass("copy", *args)
    assert done.returncode == 0, done.stderr
    assert (f"Note: 1 signature or referrer of {list_digest} is not carried along: that "
            "list is not copied, only one of its images") in done.stderr, done.stderr


def test_config_raw_of_a_list_names_its_schema1_image_not_the_list(
        schema1_list: tuple[RegistryServer, str]) -> None:
    """The list is no schema 1 image: the note named it as one."""
    server, digest = schema1_list
    name = f"docker://{server.host}/s1/app:list"
    done = spyglass("--override-arch", "amd64", "inspect", "--tls-verify=false", "--config",
                    "--raw", name)
    assert done.returncode == 0 and done.stdout == b"", done.stderr
    assert (f"The image {digest} that {name} names for linux/amd64 is a Docker schema 1 "
            "image, which has no config blob") in done.stderr, done.stderr


def test_a_list_with_a_schema1_image_copied_whole_is_refused_saying_why(
        schema1_list: tuple[RegistryServer, str], tmp_path: Path) -> None:
    server, digest = schema1_list
    refused = spyglass("copy", "--all", "--src-tls-verify=false",
                       f"docker://{server.host}/s1/app:list", f"oci:{tmp_path / 'out'}:v1")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert digest in refused.stderr and "schema 1" in refused.stderr


def test_inspect_lists_the_layers_as_skopeo_does(schema1_dir: Path) -> None:
    """Every fsLayers blob, the empty ones of throwaway steps too, and no LayersData
    (schema 1 records no sizes): as skopeo 1.9 prints them (were the non-empty layers
    alone, with sizes of 0)."""
    skopeo = require_tool("skopeo")
    theirs = json.loads(run(skopeo, "--insecure-policy", "inspect", f"dir:{schema1_dir}"))
    ours = json.loads(spyglass("inspect", f"dir:{schema1_dir}").stdout)
    assert ours["Layers"] == theirs["Layers"]
    assert any(layer.endswith(EMPTY_GZIP_LAYER) for layer in ours["Layers"])
    assert "LayersData" not in ours and "LayersData" not in theirs
    assert spyglass("inspect", "--format", "{{len .Layers}}", f"dir:{schema1_dir}").stdout == \
        run(skopeo, "--insecure-policy", "inspect", "--format", "{{len .Layers}}",
            f"dir:{schema1_dir}").encode()


def test_a_template_over_layers_data_finds_no_such_field_as_skopeo(schema1_dir: Path) -> None:
    """LayersData is no field of a schema 1 image's description (it said it ranged over a
    string); skopeo cannot evaluate the field either."""
    skopeo = require_tool("skopeo")
    for template in ("{{range .LayersData}}{{.Size}}{{end}}", "{{.LayersData}}"):
        theirs = subprocess.run([skopeo, "--insecure-policy", "inspect", "--format", template,
                                 f"dir:{schema1_dir}"], capture_output=True, check=False)
        assert theirs.returncode == 1
        assert b"can't evaluate field LayersData" in theirs.stderr
        ours = spyglass("inspect", "--format", template, f"dir:{schema1_dir}")
        assert ours.returncode == 1 and ours.stdout == b""
        assert "asks for .LayersData, which is no field" in ours.stderr, ours.stderr
        assert "are Name, Tag, Digest, RepoTags, Created, DockerVersion, Labels, " \
            "Architecture, Variant, Os, Layers, Env." in ours.stderr  # (LayersData not among them)
