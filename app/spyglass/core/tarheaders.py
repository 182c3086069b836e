"""Tar headers read with a bound, for every tar Spyglass reads (an archive's members, a
layer's files, an archive about to be replaced).

Python's tarfile reads an extended header (a pax record, a GNU long name or link) whole,
at about four bytes of memory a byte, before it hands the member it describes over
(``TarInfo._proc_pax``, ``_proc_gnulong``); its 512-byte header may declare any size, and
a tar that declares 3 GiB of zeros compresses (zstd) to 100 KB. Go's archive/tar, and so
skopeo, refuses such a header over 1 MiB (``maxSpecialFileSize``); so does
:class:`BoundedTarInfo`, from the declared size, before any of it is read.

A sparse file's map (where its data lies: GNU's extension blocks, or the map a GNU 1.0
sparse file's data starts with) is read until it says it ends, which a tar of
repeated blocks puts off for as long as it likes, at about four bytes of memory a byte
of map: it too is read up to 1 MiB (Go's ``errSparseTooLong``). And what tarfile parses
of a sparse file without a check (a number that is none, a map cut short) is said as a
damaged tar (:class:`tarfile.ReadError`), not passed on as Python's own error.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

MAX_HEADER_RECORD: Final = 1024 * 1024
"""The longest extended header read (Go's archive/tar's ``maxSpecialFileSize``)."""

EXTENDED_TYPES: Final = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK,
                         tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
"""The tar types whose data is a header for the next member, read whole by tarfile."""


class HugeHeader(Exception):
    """An extended header longer than :data:`MAX_HEADER_RECORD` (its declared size).

    ``size`` None: a sparse file's map, longer than that (its end not reached).
    Not a :class:`tarfile.TarError`: tarfile's ``next()`` passes it on as it is, where it
    would take a header error for the end of the archive. Callers turn it into their own
    sentence, with :attr:`said`."""

    def __init__(self, size: int | None) -> None:
        super().__init__(size)
        self.size = size

    @property
    def said(self) -> str:
        """What the header is, for a sentence: ``a file-name header (…) of N bytes, more
        than the 1,048,576 Spyglass reads``."""
        if self.size is None:
            return (f"a sparse file's map (where its data lies) longer than the "
                    f"{MAX_HEADER_RECORD:,} bytes Spyglass reads")
        return (f"a file-name header (a tar pax record or GNU long name) of {self.size:,} "
                f"bytes, more than the {MAX_HEADER_RECORD:,} Spyglass reads")


_CUT_SHORT: Final = "a sparse file's map in it is cut short"
_MALFORMED: Final = "a sparse file's record in it is malformed or cut short"


class _MapReader:
    """The tar's file object while tarfile reads a sparse file's map from it: reads past
    :data:`MAX_HEADER_RECORD` in all raise :class:`HugeHeader`, and one cut short (the tar
    ends inside the map) :class:`tarfile.ReadError`, where tarfile would go on (reading
    nothing, and failing on an index of it)."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self._left = MAX_HEADER_RECORD

    def read(self, size: int) -> bytes:
        if size > self._left:
            raise HugeHeader(None)
        self._left -= size
        data: bytes = self._file.read(size)
        if len(data) < size:
            raise tarfile.ReadError(_CUT_SHORT)
        return data

    def tell(self) -> int:
        return int(self._file.tell())


@contextmanager
def _map_reads(archive: tarfile.TarFile) -> Iterator[None]:
    """``archive`` read through a :class:`_MapReader` meanwhile."""
    file = archive.fileobj
    archive.fileobj = _MapReader(file)  # type: ignore[assignment]
    try:
        yield
    finally:
        archive.fileobj = file


class BoundedTarInfo(tarfile.TarInfo):
    """A TarInfo that raises :class:`HugeHeader` for an extended header longer than
    :data:`MAX_HEADER_RECORD` before tarfile reads it (``_proc_member`` is where tarfile
    goes on to read it), or for a sparse file's map longer than that, and
    :class:`tarfile.ReadError` for a sparse file's record tarfile cannot parse. Pass it
    as ``tarfile.open(…, tarinfo=BoundedTarInfo)``."""

    __slots__ = ()  # as TarInfo's: no __dict__ a member (a tar may have a million)

    def _proc_member(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in EXTENDED_TYPES and self.size > MAX_HEADER_RECORD:
            raise HugeHeader(self.size)
        try:
            return super()._proc_member(archive)  # type: ignore[misc, no-any-return]
        except (ValueError, IndexError):
            # tarfile's own parsing of GNU.sparse.* records (int() of any text, a map
            # split where it has no newline, the flag of a block past the end)
            raise tarfile.ReadError(_MALFORMED) from None

    def _proc_sparse(self, archive: tarfile.TarFile) -> tarfile.TarInfo:
        with _map_reads(archive):
            return super()._proc_sparse(archive)  # type: ignore[misc, no-any-return]

    def _proc_gnusparse_10(self, next: tarfile.TarInfo, pax_headers: dict[str, str],
                           archive: tarfile.TarFile) -> None:
        with _map_reads(archive):
            super()._proc_gnusparse_10(next, pax_headers, archive)  # type: ignore[misc]
