"""What skopeo pushes to a real registry, ``spyglass inspect docker://…`` describes as skopeo does.

Images from the test builder — a 3-platform list with OCI media types, the
same as a Docker manifest list of Docker manifests, and a single image pushed
as it is (OCI) and converted (``--format v2s2``) — are copied by skopeo into
a registry of this module's own (Debian's ``docker-registry`` on loopback),
each under two tags. Then ``skopeo inspect --tls-verify=false`` and our
``inspect`` (each in a subprocess) must agree on ``Name``, ``Digest``,
``RepoTags`` (as sets: both print the registry's order, which is storage
order), ``Layers``, ``Architecture``, ``Os``, ``Labels``, ``Env`` and
``Created``; ``--raw`` must print the same bytes; and skopeo's
``--override-arch arm64`` must pick the image our ``--platform linux/arm64``
picks.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import require_tool
from tests.helpers.imagebuild import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    multi_platform_layout,
)
from tests.helpers.registry import RegistryServer

pytestmark = pytest.mark.interop

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPARED = ("Name", "Digest", "Layers", "Architecture", "Os", "Labels", "Env", "Created")
TAGS = ("v1", "v2")


@dataclass(frozen=True)
class Case:
    """One image skopeo pushes: from which source, with which ``skopeo copy`` flags."""

    id: str
    source: str
    copy_args: tuple[str, ...]
    media_type: str
    is_list: bool


CASES = (
    Case("oci-list", "oci", ("--all",), OCI_INDEX, True),
    Case("docker-list", "docker", ("--all", "--format", "v2s2"), DOCKER_MANIFEST_LIST, True),
    Case("oci-list-from-docker", "docker", ("--all", "--format", "oci"), OCI_INDEX, True),
    Case("oci-single", "single", (), OCI_MANIFEST, False),
    Case("docker-single", "single", ("--format", "v2s2"), DOCKER_MANIFEST, False),
)


def sources(root: Path) -> dict[str, str]:
    """Build the source layouts; their ``oci:`` names by source id."""
    multi_platform_layout(root / "oci")
    # skopeo 1.9's oci: transport skips index.json entries with Docker media types,
    # so the Docker manifests are offered through an OCI index that lists them.
    docker_index = multi_platform_layout(root / "docker", docker_media_types=True)
    builder = LayoutBuilder(root / "docker")
    builder.tag(builder.add_index(builder.read_json(docker_index)["manifests"]), "instances")

    single = LayoutBuilder(root / "single")
    descriptor = single.add_image(
        ImageSpec(
            layers=[
                LayerSpec({"/etc/motd": b"single\n"}),
                LayerSpec({"/usr/share/doc/readme": b"plain tar\n"}, compression="none"),
            ],
            env=["PATH=/bin", "MODE=single"],
            cmd=["/bin/sh"],
            labels={"maintainer": "spyglass", "org.opencontainers.image.version": "1.0"},
            created="2023-06-07T08:09:10.120000000+00:00",  # skopeo prints ...10.12Z
        )
    )
    single.tag(descriptor, "latest")
    return {
        "oci": f"oci:{root / 'oci'}:latest",
        "docker": f"oci:{root / 'docker'}:instances",
        "single": f"oci:{root / 'single'}:latest",
    }


class Tools:
    """Runs skopeo and our command line against the registry, each question once."""

    def __init__(self, skopeo: str, server: RegistryServer) -> None:
        self.skopeo = skopeo
        self.server = server
        self._env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
        self._cache: dict[tuple[str, ...], bytes] = {}

    def _run(self, args: tuple[str, ...], env: dict[str, str] | None = None) -> bytes:
        if args not in self._cache:
            done = subprocess.run(args, capture_output=True, timeout=60, check=False, env=env)
            assert done.returncode == 0, (
                f"{' '.join(args)} failed ({done.returncode}):\n"
                f"{done.stderr.decode(errors='replace')}"
            )
            self._cache[args] = done.stdout
        return self._cache[args]

    def name(self, case: Case, tag: str = TAGS[0]) -> str:
        return f"docker://{self.server.host}/interop/{case.id}:{tag}"

    def push(self, source: str, case: Case, tag: str) -> None:
        self._run(
            (
                self.skopeo,
                "--insecure-policy",
                "copy",
                "--quiet",
                "--retry-times",
                "0",
                "--dest-tls-verify=false",
                *case.copy_args,
                source,
                self.name(case, tag),
            )
        )

    def theirs(self, case: Case, *args: str) -> bytes:
        return self._run(
            (
                self.skopeo,
                "inspect",
                "--retry-times",
                "0",
                "--tls-verify=false",
                *args,
                self.name(case),
            )
        )

    def ours(self, case: Case, *args: str) -> bytes:
        return self._run(
            (
                sys.executable,
                "-m",
                "spyglass",
                "inspect",
                "--tls-verify=false",
                *args,
                self.name(case),
            ),
            self._env,
        )


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tools]:
    """A registry of the module's own with every case pushed (under each of ``TAGS``)."""
    skopeo = require_tool("skopeo")
    binary = require_tool("docker-registry", "registry")
    names = sources(tmp_path_factory.mktemp("registry-agreement"))
    with RegistryServer(binary=binary) as server:
        runner = Tools(skopeo, server)
        for case in CASES:
            for tag in TAGS:
                runner.push(names[case.source], case, tag)
        yield runner


def compared(data: Any) -> dict[str, Any]:
    assert isinstance(data, dict)
    out = {key: data.get(key) for key in COMPARED}
    out["RepoTags"] = sorted(data.get("RepoTags") or [])
    return out


def shown(ours: Any, theirs: Any) -> str:
    return (
        f"\n--- spyglass:\n{json.dumps(ours, indent=2, sort_keys=True)}"
        f"\n--- skopeo:\n{json.dumps(theirs, indent=2, sort_keys=True)}"
    )


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_inspect_agrees(tools: Tools, case: Case) -> None:
    ours = compared(json.loads(tools.ours(case)))
    theirs = compared(json.loads(tools.theirs(case)))
    assert ours == theirs, shown(ours, theirs)
    assert ours["Name"] == f"{tools.server.host}/interop/{case.id}"
    assert ours["RepoTags"] == sorted(TAGS)
    assert ours["Os"] == "linux" and ours["Layers"]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_raw_is_byte_identical(tools: Tools, case: Case) -> None:
    ours, theirs = tools.ours(case, "--raw"), tools.theirs(case, "--raw")
    assert ours == theirs
    assert json.loads(ours)["mediaType"] == case.media_type
    described = json.loads(tools.theirs(case))
    assert described["Digest"] == "sha256:" + hashlib.sha256(ours).hexdigest()


LISTS = [case for case in CASES if case.is_list]


@pytest.mark.parametrize("case", LISTS, ids=[case.id for case in LISTS])
def test_platform_agrees_with_override_arch(tools: Tools, case: Case) -> None:
    ours = compared(json.loads(tools.ours(case, "--platform", "linux/arm64")))
    theirs = compared(json.loads(tools.theirs(case, "--override-arch", "arm64")))
    assert ours == theirs, shown(ours, theirs)
    assert ours["Architecture"] == "arm64"
    assert ours["Labels"]["arch"] == "arm64"
    # and it is not the image chosen by default on this machine
    default = compared(json.loads(tools.ours(case)))
    if default["Architecture"] != "arm64":
        assert default["Layers"] != ours["Layers"]
