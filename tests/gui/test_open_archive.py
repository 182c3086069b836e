"""The window names archives from the one list (spyglass.core.archive_names)."""

from __future__ import annotations

from pathlib import Path

from spyglass.core.archive_names import ARCHIVE_SUFFIXES
from spyglass.gui.models.places import LocationNode
from spyglass.gui.window_locations import ARCHIVE_FILTERS


def test_the_open_archive_filter_lists_bzip2_and_xz_tars_too() -> None:
    """The desktop entry offers them, and they open, but the dialog showed neither."""
    patterns = ARCHIVE_FILTERS.split(";;")[0].split("(")[1].rstrip(")").split()
    assert patterns == [f"*{suffix}" for suffix in ARCHIVE_SUFFIXES]
    assert {"*.tar.bz2", "*.tar.xz", "*.tar.zst"} <= set(patterns)


def test_a_place_not_yet_opened_is_an_archive_by_any_of_those_names() -> None:
    for suffix in ARCHIVE_SUFFIXES:
        assert LocationNode(0, Path(f"/x/app{suffix.upper()}")).is_archive, suffix
    assert not LocationNode(0, Path("/x/layout")).is_archive
