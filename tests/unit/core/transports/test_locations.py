"""Opening a folder or file on disk as a location (spyglass.core.transports.open_location),
as the window does for what a person opens or drags in.

Every image a location lists carries a name that must open it again
(``open_source``): a path the names of its transport cannot express is refused
when the location is opened, with a sentence, rather than listed under names
that fail — or open another image — later.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from spyglass.core.copy import copy_image
from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidLayout, InvalidReference
from spyglass.core.reference import OCIName, parse_image_name
from spyglass.core.transports import open_destination, open_location, open_source
from spyglass.core.transports import tartree as tartree_module
from tests.helpers.imagebuild import multi_platform_layout


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("source") / "layout"
    multi_platform_layout(root)
    return root


@pytest.fixture(scope="module")
def archive(layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("archive") / "image.tar"
    copy_image(open_source(f"oci:{layout}:latest"), open_destination(f"oci-archive:{target}:v1"))
    return target


def names_reopen(path: Path) -> list[str]:
    """Open ``path`` as a location; check each listed name opens the image listed."""
    location = open_location(path)
    try:
        entries = list(location.list_images())
    finally:
        location.close()
    assert entries
    for entry in entries:
        source = open_source(entry.name)
        try:
            assert Digest.of(source.get_manifest()[0]) == entry.descriptor.digest
        finally:
            source.close()
    return [entry.name for entry in entries]


def test_the_names_of_a_colon_path_would_not_reopen(tmp_path: Path) -> None:
    """Why the refusal: ``oci:PATH:REF`` ends the path at its first colon, so a name
    made from ``a:b/layout`` names another place, or nothing that parses."""
    name = parse_image_name(f"oci:{tmp_path / 'a:b' / 'layout'}:latest")
    assert isinstance(name, OCIName) and name.path == tmp_path / "a"
    with pytest.raises(InvalidReference):
        parse_image_name(f"oci-archive:{tmp_path / 'a:b' / 'x.tar'}:@0")


def test_an_oci_layout_under_a_folder_with_a_colon_is_refused(
    layout: Path, tmp_path: Path
) -> None:
    parent = tmp_path / "build:2024"
    parent.mkdir()
    target = parent / "layout"
    os.symlink(layout, target)
    with pytest.raises(InvalidLayout) as caught:
        open_location(target)
    assert str(caught.value) == (
        f'The path "{target}" contains a colon (in "build:2024"), which oci: image names '
        "cannot express, nor can skopeo's; rename \"build:2024\", or open the folder "
        "through a link whose path has no colon."
    )


def test_an_oci_layout_named_with_a_colon_is_refused(layout: Path, tmp_path: Path) -> None:
    target = tmp_path / "app:1"
    os.symlink(layout, target)
    with pytest.raises(InvalidLayout, match="rename the folder") as caught:
        open_location(target)
    assert str(target) in str(caught.value)


@pytest.mark.parametrize("transport", ["oci", "oci-archive", "docker-archive"])
def test_a_name_split_at_a_colon_of_the_folder_meant_says_how_to_name_it(
    layout: Path, archive: Path, tmp_path: Path, transport: str
) -> None:
    """``oci:/x/c:d:small:1`` where the folder ``c:d`` is there said only that "/x/c"
    does not exist: it says why the name reads so, and how to name such a folder, as
    the bare path ``/x/c:d`` does."""
    thing = "folder" if transport == "oci" else "file"
    meant = tmp_path / ("c:d" if transport == "oci" else "c:d.tar")
    os.symlink(layout if transport == "oci" else archive, meant)
    rest = ":small:1" if transport != "docker-archive" else ""  # (d.tar: a NAME there)
    with pytest.raises(InvalidLayout) as caught:
        open_source(f"{transport}:{meant}{rest}")
    assert str(caught.value) == (
        f'The path "{tmp_path / "c"}" does not exist; in {transport}: names the path ends at '
        "its first colon, and what follows it names the image in it. "
        f'The path "{meant}" contains a colon (in "{meant.name}"), which {transport}: image '
        f"names cannot express, nor can skopeo's; rename the {thing}, or open the {thing} "
        "through a link whose path has no colon.")
    # where nothing is there by such a name, the path missing is all there is to say
    with pytest.raises(InvalidLayout, match=r'"[^"]*/other" does not exist; expected'):
        open_source(f"{transport}:{tmp_path / 'other'}{rest}")


@pytest.mark.parametrize("compressed", [False, True])
def test_an_archive_with_a_colon_in_its_path_is_refused_before_it_is_decompressed(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compressed: bool
) -> None:
    folder = tmp_path / "saves:old"
    folder.mkdir()
    target = folder / ("image.tar.gz" if compressed else "image.tar")
    data = archive.read_bytes()
    target.write_bytes(gzip.compress(data) if compressed else data)

    def no_decompressing(*args: object, **kwargs: object) -> None:
        raise AssertionError("decompressed an archive that is refused anyway")

    monkeypatch.setattr(tartree_module, "acquire_decompressed", no_decompressing)
    with pytest.raises(InvalidLayout) as caught:
        open_location(target)
    message = str(caught.value)
    assert f'"{target}" contains a colon (in "saves:old")' in message
    assert "oci-archive: and docker-archive: image names cannot express" in message
    assert 'rename "saves:old", or open the file through a link' in message


def test_a_dir_image_may_have_a_colon_in_its_path(layout: Path, tmp_path: Path) -> None:
    """``dir:`` takes the whole rest of the name as its path: its names reopen."""
    target = tmp_path / "a:b" / "image"
    target.parent.mkdir()
    copy_image(open_source(f"oci:{layout}:latest"), open_destination(f"dir:{target}"))
    assert names_reopen(target) == [f"dir:{target}"]


def test_a_link_without_a_colon_opens_what_it_points_at(
    layout: Path, archive: Path, tmp_path: Path
) -> None:
    """The way out the sentence offers: names made from the link reopen the images."""
    folder = tmp_path / "x:y"
    folder.mkdir()
    os.symlink(layout, folder / "layout")
    os.symlink(archive, folder / "image.tar")
    for name in ("layout", "image.tar"):
        link = tmp_path / f"link-{name}"
        os.symlink(folder / name, link)
        names = names_reopen(link)
        assert all(n.split(":", 2)[1] == str(link) for n in names)
