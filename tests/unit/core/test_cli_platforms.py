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


def nowhere(lists: PlatformLists) -> str:
    """A destination whose folder is not there (nor made, by a dry run or a refused copy),
    under the test's own temporary folder: its parent may be written to, so the check
    that it can be made passes for any user, not only for root (who could make
    ``/nonexistent``), and the sentence a test waits for is the one said. Only its last
    folder is missing: a missing one above it is refused, as skopeo refuses it."""
    return f"oci:{lists.root.parent / 'never-made'}:y"


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


def test_the_copy_dialogs_checkbox_of_the_second_windows_entry_copies_it(
        lists: PlatformLists, tmp_path: Path) -> None:
    """Windows entries that differ only in os.version are two checkboxes: each copies
    its own image (both copied the first)."""
    platform = Platform.from_json(lists.images["win2022"]["platform"])
    plan = plan_copy(open_source(f"oci:{lists.root}:win"),
                     open_destination(f"oci:{tmp_path / 'o'}:x"),
                     CopyOptions(platforms=(platform,)))
    assert [str(i.source.digest) for i in plan.instances] == [
        lists.images["win2022"]["digest"]]
    assert not plan.notes


# --------------------------------------------------------------------------- none fits


def refused(capsys: pytest.CaptureFixture[str], *argv: str, status: int = 1) -> str:
    """The one sentence a failed command said (usage errors after their usage lines)."""
    if status == 2:
        with pytest.raises(SystemExit) as info:
            main(list(argv))
        assert info.value.code == 2
    else:
        assert main(list(argv)) == status
    out, err = capsys.readouterr()
    assert out == ""
    return err.splitlines()[-1].removeprefix("spyglass: ")


def test_an_empty_list_says_it_is_empty(lists: PlatformLists,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    digest = lists.lists["empty"]["digest"]
    assert refused(capsys, "inspect", f"oci:{lists.root}:empty") == (
        f"The manifest list {digest} has no image for linux/amd64: it is empty.")


def test_a_list_of_an_entry_without_a_platform_says_so(
        lists: PlatformLists, capsys: pytest.CaptureFixture[str]) -> None:
    """A Docker list's entry without a platform is never taken (as skopeo): --platform
    cannot help, and is not advised."""
    said = refused(capsys, "inspect", f"oci:{lists.root}:docker_noplat")
    assert said.endswith("has no image for linux/amd64: its entry names no platform.")


def test_attestations_are_not_offered(lists: PlatformLists,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    said = refused(capsys, "copy", "--override-arch", "s390x", f"oci:{lists.root}:attest",
                   nowhere(lists))
    assert said.endswith("has no image for linux/s390x; it offers: linux/amd64, "
                         "linux/arm64/v8.")  # no unknown/unknown; chosen by flags: no advice


def test_the_advice_to_choose_a_platform_is_for_who_gave_none(
        lists: PlatformLists, capsys: pytest.CaptureFixture[str]) -> None:
    said = refused(capsys, "inspect", f"oci:{lists.root}:arm56")
    assert said.endswith("it offers: linux/arm/v5, linux/arm/v6. Choose one with --platform.")
    said = refused(capsys, "inspect", "--platform", "linux/arm64", f"oci:{lists.root}:arm56")
    # the platform as it was typed (not linux/arm64/v8), and no advice to give one
    assert said.endswith("has no image for linux/arm64; it offers: linux/arm/v5, "
                         "linux/arm/v6.")
    said = refused(capsys, "copy", "--platform", "linux/s390x", "--platform", "linux/amd64",
                   f"oci:{lists.root}:arm56", nowhere(lists))
    assert said.endswith("has no image for linux/s390x; it offers: linux/arm/v5, "
                         "linux/arm/v6.")


def test_a_variant_less_entry_offered_says_how_it_is_taken(
        lists: PlatformLists, capsys: pytest.CaptureFixture[str]) -> None:
    said = refused(capsys, "inspect", "--platform", "linux/arm/v5", f"oci:{lists.root}:armnov")
    assert said.endswith("has no image for linux/arm/v5; it offers: linux/arm (taken as "
                         "linux/arm/v7).")
    said = refused(capsys, "inspect", "--platform", "linux/s390x", f"oci:{lists.root}:armnov")
    assert said.endswith("it offers: linux/arm.")  # nothing that could pass for it


def test_an_empty_list_into_an_archive_is_not_told_to_choose_a_platform(
        lists: PlatformLists, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = tmp_path / "e.tar"
    assert refused(capsys, "copy", "--all", f"oci:{lists.root}:empty",
                   f"docker-archive:{archive}") == (
        f"docker-archive:{archive} cannot hold a manifest list, and this one is empty: it "
        "has no image to copy.")
    assert not archive.exists()


@pytest.mark.parametrize(("command", "advice"), [
    ("copy", "; repeat --platform for each: --platform linux/arm64 --platform linux/amd64"),
    ("inspect", "; inspect describes one image: name one of them"),
])
def test_platforms_joined_by_commas_are_a_usage_error(
        lists: PlatformLists, capsys: pytest.CaptureFixture[str], command: str,
        advice: str) -> None:
    argv = [command, "--platform", "linux/arm64,linux/amd64", f"oci:{lists.root}:arm56"]
    said = refused(capsys, *argv, *([nowhere(lists)] if command == "copy" else []),
                   status=2)
    assert said == ('Argument --platform: Invalid platform "linux/arm64,linux/amd64": a '
                    "platform is one OS/ARCH or OS/ARCH/VARIANT, not several separated by "
                    f"commas{advice}.")


def test_an_architecture_where_the_os_goes_is_a_usage_error(
        lists: PlatformLists, capsys: pytest.CaptureFixture[str]) -> None:
    said = refused(capsys, "inspect", "--platform", "arm64/v8", f"oci:{lists.root}:arm56",
                   status=2)
    assert said == ('Argument --platform: Invalid platform "arm64/v8": "arm64" is an '
                    "architecture, not an OS; expected OS/ARCH or OS/ARCH/VARIANT, for "
                    "example linux/arm64/v8.")


# --------------------------------------------------------------------------- notes


def short(lists: PlatformLists, image: str) -> str:
    return lists.images[image]["digest"].removeprefix("sha256:")[:12]


def dry_run(capsys: pytest.CaptureFixture[str], lists: PlatformLists, tag: str,
            *platforms: str) -> list[str]:
    argv = ["copy", "--dry-run"]
    for platform in platforms:
        argv += ["--platform", platform]
    assert main([*argv, f"oci:{lists.root}:{tag}", nowhere(lists)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out.splitlines()


def test_platforms_that_name_one_image_say_it_is_copied_once(
        lists: PlatformLists, capsys: pytest.CaptureFixture[str]) -> None:
    lines = dry_run(capsys, lists, "arm64v8", "linux/arm64", "linux/arm64/v8")
    assert (f"  image linux/arm64/v8: {short(lists, 'arm64v8')} (digest kept), OCI image "
            "manifest, 1 layer") in lines
    assert (f"  note: linux/arm64 and linux/arm64/v8 name the same image of the list, "
            f"{short(lists, 'arm64v8')}, for linux/arm64/v8: it is copied once, alone, not "
            "as a list") in lines
    lines = dry_run(capsys, lists, "dup", "linux/amd64", "linux/arm64/v8", "linux/x86_64")
    assert any(line.startswith("  list: ") and line.endswith(
        " → (new digest: rebuilt), OCI image index") for line in lines)
    assert any(line.startswith(f"  note: linux/amd64 and linux/x86_64 name the same image of "
                               f"the list, {short(lists, 'dupA')}, for linux/amd64: it is "
                               "copied once") and line.endswith("once") for line in lines)


def test_a_variant_standing_in_for_another_is_noted_in_a_real_copy(
        lists: PlatformLists, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not only in the dry run's "image linux/arm/v7" line: the copy says it too, and
    quiet (as what a copy decides on the user's behalf is)."""
    for platform, tag, image, written in (("linux/arm/v8", "arm67", "arm7", "linux/arm/v7"),
                                          ("linux/arm64/v9", "arm64v8", "arm64v8",
                                           "linux/arm64/v8")):
        assert main(["copy", "-q", "--platform", platform, f"oci:{lists.root}:{tag}",
                     f"oci:{tmp_path / 'out'}:{tag}"]) == 0
        err = capsys.readouterr().err
        assert (f"Note: the list names no image for {platform}: its image for {written}, "
                f"{short(lists, image)}, is copied in its place (a {platform} machine runs "
                "it)") in err.splitlines()
    assert main(["copy", "-q", "--platform", "linux/arm/v7", f"oci:{lists.root}:arms",
                 f"oci:{tmp_path / 'out'}:arms"]) == 0
    assert capsys.readouterr().err == ""  # the one asked for: nothing to say


def test_two_platforms_one_standing_in_for_the_other_say_both(
        lists: PlatformLists, capsys: pytest.CaptureFixture[str]) -> None:
    lines = dry_run(capsys, lists, "arm67", "linux/arm/v8", "linux/arm/v7")
    assert [line for line in lines if line.startswith("  note:")] == [
        f"  note: the list names no image for linux/arm/v8: its image for linux/arm/v7, "
        f"{short(lists, 'arm7')}, is copied in its place (a linux/arm/v8 machine runs it)",
        f"  note: linux/arm/v8 and linux/arm/v7 name the same image of the list, "
        f"{short(lists, 'arm7')}, for linux/arm/v7: it is copied once, alone, not as a list"]


def test_the_first_of_equal_entries_is_named_and_noted(
        lists: PlatformLists, capsys: pytest.CaptureFixture[str]) -> None:
    lines = dry_run(capsys, lists, "dup", "linux/amd64")
    assert (f"  image linux/amd64 ({short(lists, 'dupA')}): {short(lists, 'dupA')} (digest "
            "kept), OCI image manifest, 1 layer") in lines
    assert (f"  note: 2 entries of the list match linux/amd64 equally: the first, "
            f"{short(lists, 'dupA')}, is copied, as skopeo takes it") in lines
    lines = dry_run(capsys, lists, "win", "windows/amd64")
    assert (f"  image windows/amd64 (os.version 10.0.17763.1234, {short(lists, 'win1809')}): "
            f"{short(lists, 'win1809')} (digest kept), OCI image manifest, 1 layer") in lines
    assert (f"  note: 2 entries of the list match windows/amd64 equally: the first, "
            f"{short(lists, 'win1809')} (os.version 10.0.17763.1234), is copied, as skopeo "
            "takes it") in lines
    # a platform the list has once: no digest to tell it from another
    assert (f"  image linux/amd64: {short(lists, 'amd64')} (digest kept), OCI image manifest, "
            "1 layer") in dry_run(capsys, lists, "win", "linux/amd64")


def test_every_image_of_a_list_copied_whole_is_told_from_its_equals(
        lists: PlatformLists, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["copy", "--dry-run", "--all", f"oci:{lists.root}:win",
                 nowhere(lists)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("  image ")] == [
        f"  image windows/amd64 (os.version 10.0.17763.1234, {short(lists, 'win1809')}): "
        f"{short(lists, 'win1809')} (digest kept), OCI image manifest, 1 layer",
        f"  image windows/amd64 (os.version 10.0.20348.500, {short(lists, 'win2022')}): "
        f"{short(lists, 'win2022')} (digest kept), OCI image manifest, 1 layer",
        f"  image linux/amd64: {short(lists, 'amd64')} (digest kept), OCI image manifest, "
        "1 layer"]
    assert not any("note:" in line for line in lines)


# --------------------------------------------------------------------------- inspect


def test_inspect_takes_one_platform(lists: PlatformLists,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Not the last of several silently: inspect describes one image."""
    said = refused(capsys, "inspect", "--platform", "linux/arm64", "--platform", "linux/amd64",
                   f"oci:{lists.root}:dup", status=2)
    assert said == ("Argument --platform: inspect describes one image, and 2 platforms were "
                    "given (linux/arm64, linux/amd64); give --platform once.")


def test_inspect_says_what_copy_notes_of_the_image_it_describes(
        lists: PlatformLists, capsys: pytest.CaptureFixture[str]) -> None:
    noplat = lists.images["noplat"]["digest"].removeprefix("sha256:")[:12]
    assert picked(capsys, lists, "noplat_mixed", "linux/s390x") == ("noplat", (
        f"spyglass: The list names no image for linux/s390x: its image without a platform, "
        f"{noplat}, is described, as skopeo takes it.\n"))
    assert picked(capsys, lists, "arm64v8", "linux/arm64/v9") == ("arm64v8", (
        f"spyglass: The list names no image for linux/arm64/v9: its image for linux/arm64/v8, "
        f"{short(lists, 'arm64v8')}, is described in its place (a linux/arm64/v9 machine "
        "runs it).\n"))
    assert picked(capsys, lists, "dup", "linux/amd64") == ("dupA", (
        f"spyglass: 2 entries of the list match linux/amd64 equally: the first, "
        f"{short(lists, 'dupA')}, is described, as skopeo takes it.\n"))
    assert picked(capsys, lists, "arm64both", "linux/arm64/v8") == ("arm64v8", "")


def test_an_image_of_the_list_that_cannot_be_read_is_named_by_its_platform(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # (the sentence named a digest alone: which platform to leave out was not said)
    import json

    from spyglass.core.errors import BlobNotFound
    from tests.helpers.imagebuild import multi_platform_layout

    index = multi_platform_layout(tmp_path / "src")
    blobs = tmp_path / "src" / "blobs" / "sha256"
    entries = json.loads((blobs / index["digest"].removeprefix("sha256:")).read_bytes())
    arm = next(e for e in entries["manifests"] if e["platform"]["architecture"] == "arm")
    (blobs / arm["digest"].removeprefix("sha256:")).unlink()
    assert main(["copy", "--all", f"oci:{tmp_path / 'src'}:latest",
                 f"oci:{tmp_path / 'out'}:x"]) == 1
    said = capsys.readouterr().err
    assert said.startswith("spyglass: The image for linux/arm/v7 of the list ")
    assert said.rstrip().endswith("name the others with --platform to copy them.")
    assert not (tmp_path / "out").exists()
    with pytest.raises(BlobNotFound, match=r"cannot be read: .*; untick it to copy the "
                                           r"others\.$"):
        plan_copy(open_source(f"oci:{tmp_path / 'src'}:latest"),
                  open_destination(f"oci:{tmp_path / 'o'}:x"), CopyOptions(multi_arch="all"))
