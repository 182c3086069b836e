"""The window names archives from the one list (spyglass.core.archive_names)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spyglass.core.archive_names import ARCHIVE_SUFFIXES
from spyglass.core.cancel import CancelToken
from spyglass.core.errors import TransportError
from spyglass.gui.loading import open_and_list
from spyglass.gui.models.places import LocationNode
from spyglass.gui.window_locations import ARCHIVE_FILTERS
from tests.unit.core.transports.test_archive import docker_save_entries, image_spec, write_tar


def test_the_open_archive_filter_lists_bzip2_and_xz_tars_too() -> None:
    """The desktop entry offers them, and they open, but the dialog showed neither."""
    patterns = ARCHIVE_FILTERS.split(";;")[0].split("(")[1].rstrip(")").split()
    assert patterns == [f"*{suffix}" for suffix in ARCHIVE_SUFFIXES]
    assert {"*.tar.bz2", "*.tar.xz", "*.tar.zst"} <= set(patterns)


def test_a_place_not_yet_opened_is_an_archive_by_any_of_those_names() -> None:
    for suffix in ARCHIVE_SUFFIXES:
        assert LocationNode(0, Path(f"/x/app{suffix.upper()}")).is_archive, suffix
    assert not LocationNode(0, Path("/x/layout")).is_archive


def test_an_archive_that_may_not_be_read_says_so_not_that_it_is_no_archive(
        unprivileged_dir: Path) -> None:
    """File ▸ Open Archive of a file its user may not read showed "Cannot open perm.tar —
    The file … is not an image archive" (the explorer's finding): what the place's page
    says now is why it cannot be read."""
    images = [(["example.com/single:1"], image_spec("amd64", ["alpha"]))]
    path = write_tar(unprivileged_dir / "perm.tar", docker_save_entries(images))
    path.chmod(0o000)
    with pytest.raises(TransportError) as caught:
        open_and_list(path, CancelToken())
    assert str(caught.value) == f'Cannot read "{path}": Permission denied.'
