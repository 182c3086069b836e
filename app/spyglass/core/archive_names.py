"""The file names an image archive goes by: one list for every place that looks at a name
(the window's Open Archive filter, its places, the names a copy makes up, the command
line's guess that a word was meant as a path), matching the archive types the desktop
entry (``packaging/spyglass.desktop``) offers Spyglass for.

The archive reader goes by the bytes, not the name (:mod:`spyglass.core.compression`
detects gzip, bzip2, xz and zstd), so every compressed tar named here opens.
"""

from __future__ import annotations

from typing import Final

ARCHIVE_SUFFIXES: Final = (
    ".tar",
    ".tar.gz", ".tgz",
    ".tar.bz2", ".tbz2",
    ".tar.xz", ".txz",
    ".tar.zst", ".tzst",
    ".oci", ".docker",
)
"""What the name of an image archive (docker-archive, oci-archive; plain or compressed)
ends with, as shared-mime-info names the tar types of the desktop entry, and the two
names of Spyglass's own choosing (``.oci``, ``.docker``)."""

COMPRESSION_SUFFIXES: Final = (".gz", ".bz2", ".xz", ".zst")
"""What a compressed file's name ends with (gzip, bzip2, xz, zstd)."""

STORAGE_SUFFIXES: Final = tuple(sorted({*ARCHIVE_SUFFIXES, *COMPRESSION_SUFFIXES},
                                       key=lambda suffix: (-len(suffix), suffix)))
"""What a file or folder name may end with that says how it is stored, not what it holds;
longer ones first, so that ``app.tar.gz`` loses ``.tar.gz``, not only ``.gz``."""


def archive_filter() -> str:
    """The Open Archive dialog's name filter (Qt's syntax)."""
    patterns = " ".join(f"*{suffix}" for suffix in ARCHIVE_SUFFIXES)
    return f"Image archives ({patterns});;All files (*)"


__all__ = ["ARCHIVE_SUFFIXES", "COMPRESSION_SUFFIXES", "STORAGE_SUFFIXES", "archive_filter"]
