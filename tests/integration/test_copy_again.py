"""``spyglass copy`` into a registry whose tag names the very image already writes nothing
(as crane and regctl skip it; skopeo writes every manifest again), says so, and
``--force-recursive`` writes it all the same; a tag that named another image says which.

What the registry wrote is read from its storage folder: distribution rewrites a tag's
``current/link`` file on every ``PUT`` of the tag, so a file left as it was stands for
a copy that wrote nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, multi_platform_layout
from tests.helpers.registry import RegistryServer

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def spyglass(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    return subprocess.run([sys.executable, "-m", "spyglass", *args], capture_output=True,
                          text=True, env=environment, timeout=60, check=False,
                          stdin=subprocess.DEVNULL)


def copy(source: str, destination: str, *flags: str) -> str:
    """The copy's last line on stderr (it must succeed)."""
    done = spyglass("copy", "--all", "--dest-tls-verify=false", *flags, source, destination)
    assert done.returncode == 0, done.stderr
    return done.stderr.splitlines()[-1]


def tag_link(registry: RegistryServer, repository: str, tag: str) -> Path:
    return registry.repository_dir(repository) / "_manifests/tags" / tag / "current/link"


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "layout"
    digest = multi_platform_layout(root)["digest"]
    return root, str(digest)


def test_a_copy_the_tag_names_already_writes_nothing_and_says_so(
        registry: RegistryServer, layout: tuple[Path, str]) -> None:
    root, digest = layout
    destination = f"docker://{registry.host}/again/app:1"
    copy(f"oci:{root}:latest", destination)
    link = tag_link(registry, "again/app", "1")
    os.utime(link, ns=(0, 0))  # (any write of the tag gives it the time of now)

    said = copy(f"oci:{root}:latest", destination)
    assert said == (f"spyglass: Copied oci:{root}:latest to {destination} ({digest}): its "
                    "name named this very image already, so nothing was written.")
    assert link.stat().st_mtime_ns == 0

    said = copy(f"oci:{root}:latest", destination, "--force-recursive")
    assert said == f"spyglass: Copied oci:{root}:latest to {destination} ({digest})."
    assert link.stat().st_mtime_ns != 0  # written again, every manifest with it


def test_a_copy_says_what_the_tag_named_before(registry: RegistryServer,
                                               tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path / "layout")
    first = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"first\n"})]))
    second = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"second\n"})]))
    builder.tag(first, "one")
    builder.tag(second, "two")
    destination = f"docker://{registry.host}/again/moved:stable"
    copy(f"oci:{tmp_path / 'layout'}:one", destination)

    said = copy(f"oci:{tmp_path / 'layout'}:two", destination)
    assert said == (f"spyglass: Copied oci:{tmp_path / 'layout'}:two to {destination} "
                    f"({second['digest']}); the name named {first['digest']} before.")


def test_a_copy_that_changes_the_image_writes_it_though_the_tag_names_the_source(
        registry: RegistryServer, layout: tuple[Path, str]) -> None:
    """Only the very manifest the copy would write counts: a conversion writes another."""
    root, digest = layout
    destination = f"docker://{registry.host}/again/converted:1"
    copy(f"oci:{root}:latest", destination)
    said = copy(f"oci:{root}:latest", destination, "--format", "v2s2")
    assert said.endswith(f"; the name named {digest} before.")
    assert f"({digest})" not in said
