"""What skopeo writes, ``spyglass inspect`` reads the way ``skopeo inspect`` does.

The test builder makes three images (a 3-platform index with OCI media types,
the same with Docker media types, a single-platform image); skopeo copies them
into every layout and archive it writes (``oci:``, ``dir:`` with and without
``--all``, ``docker-archive:``, ``oci-archive:``, and ``--format v2s2``/``oci``
conversions). Each copy is then inspected by skopeo and by our command line, in
a subprocess each, and the answers must agree:

- ``inspect``: every field skopeo prints (skopeo 1.9 prints neither
  ``LayersData`` nor ``Variant``; ours are checked against the manifest and
  config skopeo hands out instead);
- ``inspect --raw``: the same bytes, hashing to ``Digest``;
- ``inspect --config --raw``: the same bytes; ``--config``: the same JSON;
- skopeo's ``--override-arch arm64 --override-variant v8`` against our
  ``--platform linux/arm64/v8``.

skopeo's ``oci:`` transport (up to at least 1.9) skips ``index.json`` entries
with Docker media types, so the Docker-typed source is offered to it as an OCI
index listing the Docker manifests; skopeo's ``--format v2s2 --all`` turns that
into a real Docker manifest list.

Whether umoci reads the builder's layouts is checked in
``tests/unit/test_imagebuild.py`` (``umoci ls``, ``umoci unpack``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import require_tool
from tests.helpers.imagebuild import (
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    multi_platform_layout,
)

pytestmark = pytest.mark.interop

REPO_ROOT = Path(__file__).resolve().parents[2]

ARM64_SKOPEO = ("--override-arch", "arm64", "--override-variant", "v8")
ARM64_OURS = ("--platform", "linux/arm64/v8")
DOCKER_REF = "example.com/team/app:1.0"

# The fields ``skopeo inspect`` prints that describe the image; ``Name`` is
# compared separately (present on both sides or on neither).
COMPARED_FIELDS = (
    "Digest",
    "RepoTags",
    "Created",
    "DockerVersion",
    "Labels",
    "Architecture",
    "Variant",
    "Os",
    "Layers",
    "LayersData",
    "Env",
)


# --------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """One skopeo copy and the names that read it back.

    ``dest`` and ``names`` are formatted with ``dst``, the output path without
    extension; ``source`` names a source image built by :func:`sources`.
    """

    id: str
    source: str
    copy_args: tuple[str, ...]
    dest: str
    names: tuple[str, ...]
    is_list: bool


CASES = (
    Case("oci", "oci", ("--all",), "oci:{dst}:copy", ("oci:{dst}:copy",), True),
    Case("oci-from-docker", "docker", ("--all",), "oci:{dst}:copy", ("oci:{dst}:copy",), True),
    Case("dir-all", "oci", ("--all",), "dir:{dst}", ("dir:{dst}",), True),
    Case("dir-all-from-docker", "docker", ("--all",), "dir:{dst}", ("dir:{dst}",), True),
    Case(
        "dir-one-arm-v7",
        "oci",
        ("--override-arch", "arm", "--override-variant", "v7"),
        "dir:{dst}",
        ("dir:{dst}",),
        False,
    ),
    Case("dir-single", "single", (), "dir:{dst}", ("dir:{dst}",), False),
    Case("dir-v2s2-all", "oci", ("--all", "--format", "v2s2"), "dir:{dst}", ("dir:{dst}",), True),
    Case("dir-v2s2-single", "single", ("--format", "v2s2"), "dir:{dst}", ("dir:{dst}",), False),
    Case(
        "dir-oci-all-from-docker",
        "docker",
        ("--all", "--format", "oci"),
        "dir:{dst}",
        ("dir:{dst}",),
        True,
    ),
    Case(
        "docker-archive-arm64",
        "oci",
        ARM64_SKOPEO,
        f"docker-archive:{{dst}}.tar:{DOCKER_REF}",
        (
            f"docker-archive:{{dst}}.tar:{DOCKER_REF}",
            "docker-archive:{dst}.tar",
            "docker-archive:{dst}.tar:@0",
        ),
        False,
    ),
    Case(
        "docker-archive-single",
        "single",
        (),
        f"docker-archive:{{dst}}.tar:{DOCKER_REF}",
        (f"docker-archive:{{dst}}.tar:{DOCKER_REF}", "docker-archive:{dst}.tar"),
        False,
    ),
    Case(
        "oci-archive",
        "oci",
        ("--all",),
        "oci-archive:{dst}.tar:latest",
        ("oci-archive:{dst}.tar:latest",),
        True,
    ),
    Case(
        "oci-archive-single",
        "single",
        ("--format", "oci"),
        "oci-archive:{dst}.tar:latest",
        ("oci-archive:{dst}.tar:latest",),
        False,
    ),
)

CASES_BY_ID = {case.id: case for case in CASES}

# (case, name template, platform or None) for every read the tests make.
READS = [
    pytest.param(case, name, platform, id=f"{case.id}-{index}-{platform or 'default'}")
    for case in CASES
    for index, name in enumerate(case.names)
    for platform in ((None, "arm64") if case.is_list else (None,))
]
NAMES = [
    pytest.param(case, name, id=f"{case.id}-{index}")
    for case in CASES
    for index, name in enumerate(case.names)
]
LISTS = [pytest.param(case, case.names[0], id=case.id) for case in CASES if case.is_list]

# Config times skopeo prints back in Go's RFC 3339 with nanoseconds.
CREATED_TIMES = (
    "2024-01-02T03:04:05.000Z",
    "2024-01-02T03:04:05.5+00:00",
    "2024-01-02T05:04:05+02:00",
    "2024-01-02T03:04:05.1234567891Z",
    "2024-01-02T03:04:05-00:00",
)


# --------------------------------------------------------------------------- running the tools


class Tools:
    """Runs skopeo and our command line, remembering each answer (the tests ask twice)."""

    def __init__(self, skopeo: str, src: Path, out: Path) -> None:
        self.skopeo = skopeo
        self.src = src
        self.out = out
        self._cache: dict[tuple[str, ...], bytes] = {}
        self._env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}

    def _run(self, args: tuple[str, ...], env: dict[str, str] | None = None) -> bytes:
        if args not in self._cache:
            result = subprocess.run(args, capture_output=True, timeout=60, check=False, env=env)
            assert result.returncode == 0, (
                f"{' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stderr.decode(errors='replace')}"
            )
            self._cache[args] = result.stdout
        return self._cache[args]

    def skopeo_copy(self, *args: str) -> None:
        self._run((self.skopeo, "--insecure-policy", "copy", "--quiet", *args))

    def theirs(self, name: str, *args: str) -> bytes:
        """``skopeo inspect NAME ARGS`` (``--platform`` given as skopeo's overrides)."""
        return self._run((self.skopeo, "inspect", *args, name))

    def ours(self, name: str, *args: str) -> bytes:
        """``spyglass inspect NAME ARGS``."""
        return self._run((sys.executable, "-m", "spyglass", "inspect", name, *args), self._env)

    def both(self, name: str, platform: str | None, *args: str) -> tuple[bytes, bytes]:
        """(ours, skopeo's) answer for the same question."""
        skopeo_platform = ARM64_SKOPEO if platform else ()
        our_platform = ARM64_OURS if platform else ()
        return self.ours(name, *args, *our_platform), self.theirs(name, *args, *skopeo_platform)

    def name(self, case: Case, template: str) -> str:
        return template.format(dst=self.out / case.id)


def sources(root: Path) -> dict[str, str]:
    """Build the source images; return their ``oci:`` names by source id."""
    multi_platform_layout(root / "oci")

    docker_index = multi_platform_layout(root / "docker", docker_media_types=True)
    builder = LayoutBuilder(root / "docker")
    instances = builder.read_json(docker_index)["manifests"]
    builder.tag(builder.add_index(instances), "instances")

    single = LayoutBuilder(root / "single")
    descriptor = single.add_image(
        ImageSpec(
            architecture="amd64",
            layers=[
                LayerSpec({"/etc/motd": b"single\n"}),
                LayerSpec({"/usr/share/doc/readme": b"plain tar\n"}, compression="none"),
            ],
            env=["PATH=/bin", "MODE=single"],
            cmd=["/bin/sh"],
            labels={"maintainer": "spyglass", "org.opencontainers.image.version": "1.0"},
            author="Spyglass tests",
            created="2023-06-07T08:09:10.120000000+00:00",  # skopeo: ...10.12Z
            empty_history_steps=[(0, "LABEL maintainer=spyglass")],
        )
    )
    single.tag(descriptor, "latest")

    times = LayoutBuilder(root / "times")
    for index, created in enumerate(CREATED_TIMES):
        spec = ImageSpec(layers=[LayerSpec({"/etc/motd": b"time\n"})], created=created)
        times.tag(times.add_image(spec), f"t{index}")
    return {
        "oci": f"oci:{root / 'oci'}:latest",
        "docker": f"oci:{root / 'docker'}:instances",
        "single": f"oci:{root / 'single'}:latest",
    }


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Tools:
    """Every source built and every skopeo copy written, once for the module."""
    skopeo = require_tool("skopeo")
    root = tmp_path_factory.mktemp("skopeo-agreement")
    names = sources(root / "src")
    runner = Tools(skopeo, root / "src", root / "out")
    runner.out.mkdir()
    for case in CASES:
        runner.skopeo_copy(*case.copy_args, names[case.source], runner.name(case, case.dest))
    return runner


# --------------------------------------------------------------------------- comparing


def _show(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True)


def both_shown(message: str, ours: Any, theirs: Any) -> str:
    return f"{message}\n--- spyglass:\n{_show(ours)}\n--- skopeo:\n{_show(theirs)}"


def assert_same_json(ours: Any, theirs: Any, what: str) -> None:
    assert ours == theirs, both_shown(f"{what} differ.", ours, theirs)


def go_time(text: str) -> str:
    """An RFC 3339 time as Go prints it: nanoseconds, trailing zeros trimmed, ``Z`` for UTC."""
    stamp, rest = text[:19], text[19:]  # 2006-01-02T15:04:05 | .999999999Z07:00
    digits = "".join(itertools.takewhile(str.isdigit, rest[1:])) if rest[:1] == "." else ""
    zone = rest[1 + len(digits) :] if rest[:1] == "." else rest
    fraction = digits[:9].rstrip("0")
    return stamp + (f".{fraction}" if fraction else "") + ("Z" if zone[1:] == "00:00" else zone)


def go_times(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with its ``created`` times (top level and history) in Go's form."""
    out = dict(config)
    if "created" in out:
        out["created"] = go_time(out["created"])
    if "history" in out:
        out["history"] = [
            {**step, "created": go_time(step["created"])} if "created" in step else step
            for step in out["history"]
        ]
    return out


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def instance_manifest(tools: Tools, name: str, platform: str | None, theirs: dict[str, Any]) -> Any:
    """The manifest of the image skopeo described, its bytes checked against skopeo's own.

    For a list, our ``--raw --platform`` prints the instance; it is trusted only
    when it hashes to an entry of the list skopeo printed with ``--raw``, for
    the platform skopeo chose.
    """
    top_raw = tools.theirs(name, "--raw")
    top = json.loads(top_raw)
    if "manifests" not in top:
        return top
    if platform:
        wanted = ("linux", "arm64", "v8")
    else:  # skopeo 1.9 does not print the variant: take the one entry for os/arch
        matching = [
            e["platform"]
            for e in top["manifests"]
            if (e["platform"]["os"], e["platform"]["architecture"])
            == (theirs["Os"], theirs["Architecture"])
        ]
        assert len(matching) == 1, f"{name}: cannot tell which instance skopeo described"
        wanted = (theirs["Os"], theirs["Architecture"], matching[0].get("variant"))
    entry = next(
        e
        for e in top["manifests"]
        if (e["platform"]["os"], e["platform"]["architecture"], e["platform"].get("variant"))
        == wanted
    )
    raw = tools.ours(name, "--raw", "--platform", "/".join(p for p in wanted if p))
    assert sha256(raw) == entry["digest"], (
        f"spyglass inspect --raw --platform printed a manifest hashing to {sha256(raw)}; "
        f"skopeo's list names {entry['digest']} for {'/'.join(p for p in wanted if p)}"
    )
    return json.loads(raw)


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize(("case", "template", "platform"), READS)
def test_inspect_agrees(tools: Tools, case: Case, template: str, platform: str | None) -> None:
    name = tools.name(case, template)
    ours_raw, theirs_raw = tools.both(name, platform)
    ours, theirs = json.loads(ours_raw), json.loads(theirs_raw)
    what = f"spyglass inspect and skopeo inspect of {name} ({platform or 'default platform'})"

    assert ("Name" in ours) == ("Name" in theirs), both_shown(
        f"{what}: Name only on one side.", ours, theirs
    )
    compared = [key for key in ("Name", *COMPARED_FIELDS) if key in theirs]
    assert_same_json(
        {key: ours.get(key, "<missing>") for key in compared},
        {key: theirs[key] for key in compared},
        what,
    )

    # What skopeo 1.9 leaves out, checked against what skopeo hands out.
    config = json.loads(tools.theirs(name, "--config", *(ARM64_SKOPEO if platform else ())))
    if "Variant" not in theirs:
        expected_variant = config.get("variant") or "<missing>"
        assert ours.get("Variant", "<missing>") == expected_variant, (
            f"{what}: Variant {ours.get('Variant', '<missing>')!r}, "
            f"but the config says {expected_variant!r}.\n{_show(ours)}"
        )
    if "LayersData" not in theirs:
        manifest = instance_manifest(tools, name, platform, theirs)
        expected = [
            {
                "MIMEType": layer["mediaType"],
                "Digest": layer["digest"],
                "Size": layer["size"],
                "Annotations": layer.get("annotations"),
            }
            for layer in manifest["layers"]
        ]
        assert_same_json(ours["LayersData"], expected, f"{what}: LayersData and manifest layers")


@pytest.mark.parametrize(("case", "template"), NAMES)
def test_raw_is_byte_identical(tools: Tools, case: Case, template: str) -> None:
    name = tools.name(case, template)
    ours, theirs = tools.both(name, None, "--raw")
    assert ours == theirs, (
        f"inspect --raw of {name} differs.\n--- spyglass:\n{ours.decode(errors='replace')}\n"
        f"--- skopeo:\n{theirs.decode(errors='replace')}"
    )
    digest = json.loads(tools.theirs(name))["Digest"]
    assert sha256(ours) == digest, f"inspect --raw of {name} hashes to {sha256(ours)}, not {digest}"
    assert json.loads(tools.ours(name))["Digest"] == digest


@pytest.mark.parametrize(("case", "template", "platform"), READS)
def test_config_agrees(tools: Tools, case: Case, template: str, platform: str | None) -> None:
    name = tools.name(case, template)
    ours_raw, theirs_raw = tools.both(name, platform, "--config", "--raw")
    assert ours_raw == theirs_raw, (
        f"inspect --config --raw of {name} ({platform or 'default platform'}) differs.\n"
        f"--- spyglass:\n{ours_raw.decode(errors='replace')}\n"
        f"--- skopeo:\n{theirs_raw.decode(errors='replace')}"
    )
    ours, theirs = tools.both(name, platform, "--config")
    what = f"inspect --config of {name} ({platform or 'default platform'})"
    # skopeo prints the config as Go re-serializes it: times in Go's form (see
    # test_config_is_printed_as_stored); ours prints the stored JSON.
    assert_same_json(go_times(json.loads(ours)), json.loads(theirs), what)


def test_config_is_printed_as_stored(tools: Tools) -> None:
    """Where we differ on purpose: skopeo re-serializes the config through Go.

    Go rewrites its times (``…10.120000000+00:00`` → ``…10.12Z``); we print the
    config exactly as the image stores it, only pretty-printed.
    """
    name = tools.name(CASES_BY_ID["dir-single"], "dir:{dst}")
    assert json.loads(tools.ours(name, "--config")) == json.loads(
        tools.ours(name, "--config", "--raw")
    )


@pytest.mark.parametrize(("case", "template"), LISTS)
def test_raw_with_a_platform_is_that_instance(tools: Tools, case: Case, template: str) -> None:
    """Where we differ on purpose: skopeo's ``--raw --override-arch`` still prints the list.

    Ours prints the chosen instance's manifest; it must be the entry skopeo's
    list names for that platform, byte for byte (checked by its digest).
    """
    name = tools.name(case, template)
    theirs = json.loads(tools.theirs(name, *ARM64_SKOPEO))
    manifest = instance_manifest(tools, name, "arm64", theirs)
    assert [layer["digest"] for layer in manifest["layers"]] == theirs["Layers"]


@pytest.mark.parametrize("index", range(len(CREATED_TIMES)), ids=CREATED_TIMES)
def test_created_is_printed_as_skopeo_does(tools: Tools, index: int) -> None:
    name = f"oci:{tools.src / 'times'}:t{index}"
    ours, theirs = (json.loads(answer) for answer in tools.both(name, None))
    assert ours["Created"] == theirs["Created"], both_shown(
        f"Created of a config saying {CREATED_TIMES[index]!r}", ours, theirs
    )


@pytest.mark.parametrize("docker_format", ["v2s2", "v2s1"])
def test_a_docker_image_without_created_is_go_zero_time(tools: Tools, tmp_path: Path,
                                                        docker_format: str) -> None:
    """A Docker config keeps ``created`` in a time.Time, not a pointer: absent, skopeo
    prints Go's zero time (an OCI image's stays null), and templates get that time."""
    oci = _odd_image(tmp_path / "oci", ODD_CONFIGS["absent"],
                     b',"history":[{"created_by":"ADD a"}]')  # (schema 1 needs history)
    docker = f"dir:{tmp_path / docker_format}"
    tools.skopeo_copy("--format", docker_format, oci, docker)
    for name, created in ((oci, None), (docker, "0001-01-01T00:00:00Z")):
        ours, theirs = (json.loads(answer) for answer in tools.both(name, None))
        assert ours["Created"] == theirs["Created"] == created, both_shown(
            f"Created of {name}, whose config has none", ours, theirs)
    template = ("{{.Created}}|{{.Created.IsZero}}|{{.Created.Year}}|{{.Created.Unix}}|"
                '{{.Created.Format "2006-01-02T15:04:05Z07:00"}}')
    ours_text, theirs_text = tools.both(docker, None, "--format", template)
    assert ours_text == theirs_text == (b"0001-01-01 00:00:00 +0000 UTC|true|1|"
                                        b"-62135596800|0001-01-01T00:00:00Z\n")
    # the OCI image's is a nil *time.Time: a method on it fails in Go (it printed <nil>)
    for command in ((tools.skopeo, "inspect", "--format", "{{.Created.IsZero}}", oci),
                    (sys.executable, "-m", "spyglass", "inspect", oci, "--format",
                     "{{.Created.IsZero}}")):
        failed = subprocess.run(command, capture_output=True, text=True, timeout=60,
                                check=False, env={**os.environ,
                                                  "PYTHONPATH": str(REPO_ROOT / "app")})
        assert failed.returncode != 0 and failed.stdout == "", failed
        assert "nil" in failed.stderr, failed.stderr
    assert failed.stderr == (
        'spyglass: The format "{{.Created.IsZero}}" asks for .Created.IsZero, but .Created '
        "is nil (the image has none).\n")


def test_an_artifacts_config_raw_is_its_bytes(tools: Tools, tmp_path: Path) -> None:
    """A Helm chart's config is no image config: ``--config --raw`` prints its bytes, as
    skopeo does; ``--config`` alone says which media type it has."""
    builder = LayoutBuilder(tmp_path / "chart")
    config = builder.add_blob(b'{"name":"mychart","version":"0.1.0","apiVersion":"v2"}')
    chart = builder.add_blob(b"not really a chart")
    manifest = builder.add_blob(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                    **chart}],
    }).encode())
    builder.tag({"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest}, "0.1.0")
    name = f"oci:{tmp_path / 'chart'}:0.1.0"
    assert tools.ours(name, "--config", "--raw") == tools.theirs(name, "--config", "--raw")
    refused = subprocess.run(
        [sys.executable, "-m", "spyglass", "inspect", "--config", name],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")})
    assert refused.returncode == 1
    assert refused.stderr == (
        f"spyglass: {name} is an artifact; its config (application/vnd.cncf.helm.config.v1+json) "
        "is not an image config. --config --raw prints its bytes.\n")


# Config bytes Go reads its own way: a lone surrogate escape and a byte that is no UTF-8
# are U+FFFD; an empty map or list stays {} and [] (null only when it is absent).
ODD_CONFIGS = {
    "surrogate": b'"Labels":{"k":"\\ud800x","pair":"\\ud83d\\ude00"},"Env":["A=\\udfff"]',
    "latin1": b'"Labels":{"k":"caf\xe9"},"Env":["CITY=K\xf6ln"]',
    "empty": b'"Labels":{},"Env":[]',
    "absent": b'"User":"app"',
}


def _odd_image(root: Path, run: bytes, more: bytes = b"") -> str:
    """An OCI image whose config's ``config`` holds ``run`` (and the config ``more``
    top-level members, each after a comma); it has no ``created``."""
    builder = LayoutBuilder(root)
    layer = builder.add_blob(b"\x00" * 1024)  # (an empty tar)
    config = builder.add_blob(
        b'{"architecture":"amd64","os":"linux","config":{' + run + b'},"rootfs":{"type":'
        b'"layers","diff_ids":["' + sha256(b"\x00" * 1024).encode() + b'"]}' + more + b"}")
    manifest = builder.add_blob(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **layer}],
    }).encode())
    builder.tag({"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest}, "odd")
    return f"oci:{root}:odd"


@pytest.mark.parametrize("kind", list(ODD_CONFIGS))
def test_config_text_is_read_as_go_reads_it(tools: Tools, tmp_path: Path, kind: str) -> None:
    name = _odd_image(tmp_path / kind, ODD_CONFIGS[kind])
    ours, theirs = (json.loads(out) for out in tools.both(name, None))
    what = f"spyglass inspect and skopeo inspect of a config with {kind} text"
    assert_same_json({k: ours[k] for k in ("Labels", "Env")},
                     {k: theirs[k] for k in ("Labels", "Env")}, what)
    template = '{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}{{range .Env}}{{.}};{{end}}'
    ours_text, theirs_text = tools.both(name, None, "--format", template)
    assert ours_text == theirs_text, what
    if kind != "empty":  # (skopeo's --config re-encodes, leaving empty ones out)
        ours_config, theirs_config = (json.loads(out)
                                      for out in tools.both(name, None, "--config"))
        assert ours_config["config"] == theirs_config["config"], what
