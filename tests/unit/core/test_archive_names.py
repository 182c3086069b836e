"""The file names of image archives (spyglass.core.archive_names): one list for the Open
Archive filter, the places, suggested names and the command line, agreeing with the
desktop entry."""

from __future__ import annotations

import configparser
from pathlib import Path

from spyglass.core.archive_names import ARCHIVE_SUFFIXES, STORAGE_SUFFIXES, archive_filter

DESKTOP_ENTRY = Path(__file__).resolve().parents[3] / "packaging" / "spyglass.desktop"

TAR_TYPES = {
    "application/x-tar": (".tar",),
    "application/x-compressed-tar": (".tar.gz", ".tgz"),
    "application/x-bzip-compressed-tar": (".tar.bz2", ".tbz2"),
    "application/x-bzip2-compressed-tar": (".tar.bz2", ".tbz2"),
    "application/x-xz-compressed-tar": (".tar.xz", ".txz"),
    "application/x-zstd-compressed-tar": (".tar.zst", ".tzst"),
}
"""The MIME types of tar archives and their usual names (shared-mime-info's globs)."""


def _desktop_types() -> list[str]:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(DESKTOP_ENTRY, encoding="utf-8")
    return [t for t in entry["Desktop Entry"]["MimeType"].split(";") if t]


def test_every_archive_the_desktop_entry_offers_is_named() -> None:
    """The desktop entry offers Spyglass bzip2 and xz tars (which open), but the Open
    Archive dialog's filter showed neither."""
    types = _desktop_types()
    assert types and set(types) <= set(TAR_TYPES)
    for mime_type in types:
        assert set(TAR_TYPES[mime_type]) <= set(ARCHIVE_SUFFIXES), mime_type
    offered = {suffix for t in types for suffix in TAR_TYPES[t]}
    # and nothing named a tar that the desktop entry does not offer
    assert {s for s in ARCHIVE_SUFFIXES if s not in (".oci", ".docker")} == offered


def test_the_open_archive_filter_lists_every_name() -> None:
    name_filter, all_files = archive_filter().split(";;")
    assert name_filter.startswith("Image archives (") and all_files == "All files (*)"
    patterns = name_filter.removeprefix("Image archives (").removesuffix(")").split()
    assert patterns == [f"*{suffix}" for suffix in ARCHIVE_SUFFIXES]
    assert {"*.tar.bz2", "*.tar.xz", "*.tar.zst", "*.tar.gz"} <= set(patterns)


def test_storage_suffixes_put_the_longer_first() -> None:
    assert set(ARCHIVE_SUFFIXES) <= set(STORAGE_SUFFIXES)
    for i, suffix in enumerate(STORAGE_SUFFIXES):
        assert not [s for s in STORAGE_SUFFIXES[i + 1:] if s.endswith(suffix)], suffix

