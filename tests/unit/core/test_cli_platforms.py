"""Choosing a platform of a list on the command line: which entry ``--platform`` takes,
and what inspect and copy say about the choice (spyglass.cli over spyglass.core)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spyglass.cli import main
from spyglass.core.copy import CopyOptions, plan_copy
from spyglass.core.platform import Platform
from spyglass.core.transports import open_destination, open_source
from tests.helpers.platform_lists import PlatformLists, platform_lists


@pytest.fixture(scope="module")
def lists(tmp_path_factory: pytest.TempPathFactory) -> PlatformLists:
    return platform_lists(tmp_path_factory.mktemp("platforms") / "lists")


def picked(capsys: pytest.CaptureFixture[str], lists: PlatformLists, tag: str,
           *platforms: str) -> tuple[str, str]:
    """The id of the image ``inspect`` describes, and what it said on stderr."""
    argv = ["inspect", "--format", '{{index .Labels "id"}}']
    for platform in platforms:
        argv += ["--platform", platform]
    code = main([*argv, f"oci:{lists.root}:{tag}"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out.strip(), err


# --------------------------------------------------------------------------- which entry


@pytest.mark.parametrize(("tag", "platform", "expected"), [
    ("arm64both", "linux/arm64/v8", "arm64v8"),  # the entry written so, not the first
    ("arm64both_rev", "linux/arm64/v8", "arm64v8"),
    ("arm64both", "linux/arm64", "arm64nov"),
    ("arm64both_rev", "linux/arm64", "arm64nov"),  # the variant-less one, though second
    ("arms", "linux/arm", "armnov"),  # linux/arm, not linux/arm/v7 listed first
    ("arms", "linux/arm/v7", "arm7"),
    # normalization stays: a variant-less arm64 is v8, v9 runs v8, names are aliases
    ("arm64v8", "linux/arm64", "arm64v8"),
    ("arm64v8", "linux/arm64/v9", "arm64v8"),
    ("arm64v8", "linux/aarch64", "arm64v8"),
    ("armnov", "linux/arm/v7", "armnov"),
    ("arm67", "linux/arm/v8", "arm7"),
])
def test_an_entry_written_as_the_platform_asked_wins(
        lists: PlatformLists, capsys: pytest.CaptureFixture[str], tag: str, platform: str,
        expected: str) -> None:
    assert picked(capsys, lists, tag, platform)[0] == expected


def test_copy_takes_the_entry_written_as_asked(lists: PlatformLists, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["copy", "-q", "--platform", "linux/arm64/v8", f"oci:{lists.root}:arm64both",
                 f"oci:{out}:x"]) == 0
    written = open_source(f"oci:{out}:x")
    try:
        raw, _type = written.get_manifest()
    finally:
        written.close()
    assert raw == (lists.root / "blobs" / "sha256" /
                   lists.images["arm64v8"]["digest"].removeprefix("sha256:")).read_bytes()


def test_the_copy_dialogs_checkboxes_for_both_entries_copy_both(lists: PlatformLists,
                                                          tmp_path: Path) -> None:
    """The copy dialog passes each entry's platform as the list writes it: linux/arm64
    and linux/arm64/v8 are two images, not the first one twice."""
    plan = plan_copy(open_source(f"oci:{lists.root}:arm64both"),
                     open_destination(f"oci:{tmp_path / 'o'}:x"),
                     CopyOptions(platforms=(Platform("linux", "arm64"),
                                            Platform("linux", "arm64", "v8"))))
    assert [str(i.source.digest) for i in plan.instances] == [
        lists.images["arm64nov"]["digest"], lists.images["arm64v8"]["digest"]]
    assert plan.list_is_source  # both of its images: the list as it is
