"""Tar headers read with a bound, for every tar Spyglass reads (an archive's members, a
layer's files, an archive about to be replaced).

Python's tarfile reads an extended header (a pax record, a GNU long name or link) whole,
at about four bytes of memory a byte, before it hands the member it describes over
(``TarInfo._proc_pax``, ``_proc_gnulong``); its 512-byte header may declare any size, and
a tar that declares 3 GiB of zeros compresses (zstd) to 100 KB. Go's archive/tar, and so
skopeo, refuses such a header over 1 MiB (``maxSpecialFileSize``); so does
:class:`BoundedTarInfo`, from the declared size, before any of it is read.
"""

from __future__ import annotations

import tarfile
from typing import Final

MAX_HEADER_RECORD: Final = 1024 * 1024
"""The longest extended header read (Go's archive/tar's ``maxSpecialFileSize``)."""

EXTENDED_TYPES: Final = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK,
                         tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
"""The tar types whose data is a header for the next member, read whole by tarfile."""


class HugeHeader(Exception):
    """An extended header longer than :data:`MAX_HEADER_RECORD` (its declared size).

    Not a :class:`tarfile.TarError`: tarfile's ``next()`` passes it on as it is, where it
    would take a header error for the end of the archive. Callers turn it into their own
    sentence, with :attr:`said`."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size

    @property
    def said(self) -> str:
        """What the header is, for a sentence: ``a file-name header (…) of N bytes, more
        than the 1,048,576 Spyglass reads``."""
        return (f"a file-name header (a tar pax record or GNU long name) of {self.size:,} "
                f"bytes, more than the {MAX_HEADER_RECORD:,} Spyglass reads")


class BoundedTarInfo(tarfile.TarInfo):
    """A TarInfo that raises :class:`HugeHeader` for an extended header longer than
    :data:`MAX_HEADER_RECORD` before tarfile reads it (``_proc_member`` is where tarfile
    goes on to read it). Pass it as ``tarfile.open(…, tarinfo=BoundedTarInfo)``."""

    def _proc_member(self, tarfile: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in EXTENDED_TYPES and self.size > MAX_HEADER_RECORD:
            raise HugeHeader(self.size)
        return super()._proc_member(tarfile)  # type: ignore[misc, no-any-return]
