"""A compressed image archive, decompressed once into a private temporary file.

People keep their saves compressed (``docker save img | gzip > img.tar.gz``),
and containers/image reads them: ``docker/internal/tarfile/reader.go``
(``NewReaderFromFile``) decompresses a compressed docker-archive into a
temporary file "to be compatible with docker-load", and an oci-archive goes
through ``archive.Untar``, which decompresses too. Spyglass reads an archive
in place, member by member (:class:`~spyglass.core.transports.tartree.TarTree`),
which a compressed stream does not allow: every read of a member would mean
decompressing everything before it again. So a compressed archive is
decompressed once, as a stream (memory does not grow with its size), into a
file of its own, and the archive is read in place from there.

Where it goes is containers/image's folder for big temporary files
(``internal/tmpdir``): ``$TMPDIR`` when set, else ``/var/tmp`` — not ``/tmp``,
which is often a tmpfs held in memory, where a save of several gigabytes would
eat the machine's RAM. In there, a folder ``spyglass-decompressed-*`` that this
process claims while it lives (see
:func:`~spyglass.core.transports.temporaries.sweep_orphans`: one a killed Spyglass
left is removed by the next archive decompressed). The folder goes when the
archive is closed, when decompressing fails or is cancelled, and — should a
caller forget to close — when the object is collected or the program ends.

What a compressed file holds has no bound its size sets: zstd stores 32 GB of zeros in
1 MB. So the copy grows only while its disk keeps :func:`kept_free` free for the other
programs on it: one that would eat into that is stopped, and removed, with a sentence
saying how far it grew (containers/image writes until the disk is full).
"""

from __future__ import annotations

import errno
import os
import tarfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from spyglass.core import compression
from spyglass.core.cancel import CancelToken, check
from spyglass.core.errors import (
    DamagedArchive,
    InvalidLayout,
    TemporarySpaceFailed,
    TransportError,
)
from spyglass.core.transports.archive_room import free_bytes
from spyglass.core.transports.big_files import (  # (here too, for its callers)
    big_files_folder as big_files_folder,
)
from spyglass.core.transports.big_files import other_folder_advice, restart_advice
from spyglass.core.transports.temporaries import TempFolder
from spyglass.core.units import human_size

FOLDER_PREFIX: Final = "spyglass-decompressed-"
"""The name prefix of the folder a decompressed archive lives in."""

_FILE_NAME: Final = "archive.tar"
_NO_ROOM: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

# How much of the temporary folder's disk a decompressed copy leaves to others: 5 % of
# the filesystem, at most 1 GiB. A disk filled to its last block breaks every program
# writing there (logs, a database, an editor saving, the desktop session), for as long
# as the copy lives; ext2/3/4 keep 5 % back from users for that reason. 5 % still lets
# a small folder work (a tmpfs of 200 MB keeps 10 MB), where a fixed 1 GiB would refuse
# every archive there; the 1 GiB cap keeps a big disk usable to the last gigabyte (5 %
# of 2 TB, 100 GB, would refuse archives that fit with room to spare).
KEEP_FREE_SHARE: Final = 20
"""The part of the filesystem kept free, as a divisor (1/20: 5 %)."""
KEEP_FREE_MOST: Final = 1024**3
"""The most kept free, whatever the filesystem's size."""
ROOM_LOOK_EVERY: Final = 64 * 1024 * 1024
"""How much is written between two looks at the room left (``statvfs``), at most: less
once near the room kept free, so that it is never written into. A look costs
microseconds, 64 MiB a fraction of a second of decompressing."""


def kept_free(folder: Path) -> int | None:
    """The bytes a decompressed copy in ``folder`` leaves free on its filesystem (see
    :data:`KEEP_FREE_SHARE`); None where the filesystem gives no sizes (nothing is kept
    then: the copy grows until a write fails, as before)."""
    try:
        info = os.statvfs(folder)
    except OSError:
        return None
    if not info.f_blocks:
        return None
    return min(KEEP_FREE_MOST, info.f_blocks * info.f_frsize // KEEP_FREE_SHARE)


def space_failed(said: str, wanted: str) -> TemporarySpaceFailed:
    """The failure ``said`` (up to its advice) with how to choose a folder ``wanted``:
    :func:`restart_advice` as its message, for the window, and
    :func:`other_folder_advice` on the command line."""
    return TemporarySpaceFailed(f"{said}{restart_advice(wanted)}.",
                                on_command_line=f"{said}{other_folder_advice(wanted)}.")


PIPED: Final = "piped"
"""The "algorithm" of an archive read from a pipe (``docker save img | spyglass copy
docker-archive:/dev/stdin …``): kept in a temporary file like a compressed one, since a
pipe is read once and an archive in place; compressed or not, as its bytes say."""


def not_a_tar(archive: Path, algorithm: str, reason: str | None) -> InvalidLayout:
    """The refusal of a compressed (or piped) file that holds something other than a tar,
    or (``reason`` None) nothing at all."""
    if reason is None:
        held = (f'Nothing came through the pipe "{archive}"' if algorithm == PIPED
                else f'"{archive}" is {algorithm}-compressed, but it holds nothing')
    else:
        held = (f'What comes through the pipe "{archive}" is' if algorithm == PIPED
                else f'"{archive}" is {algorithm}-compressed, but what it holds is')
        held += f" not a tar archive ({reason})"
    return InvalidLayout(
        f"{held}; expected an image archive as docker save or skopeo copy … oci-archive: "
        "writes it, compressed or not."
    )


class _ArchiveFile:
    """The compressed file as the decompressor reads it; a read error becomes a sentence
    of its own kind (:class:`_ReadFailed`), so that it is not taken for damaged data."""

    def __init__(self, stream: IO[bytes], archive: Path) -> None:
        self._stream = stream
        self._archive = archive

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._stream.read(size)
        except OSError as exc:
            reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
            raise _ReadFailed(f'Cannot read "{self._archive}": {reason}.') from exc


class _ReadFailed(TransportError):
    """The compressed file itself could not be read (as opposed to: it is damaged)."""


class DecompressedArchive:
    """The decompressed bytes of a compressed archive, in a private temporary file.

    Made from the open compressed file (read from where it stands); :attr:`path`
    is the tar. Raises, with every trace removed: :class:`DamagedArchive` (the
    compressed data is corrupt or cut short), :class:`InvalidLayout` (it does not
    hold a tar), :class:`TemporarySpaceFailed` (the temporary folder cannot be
    made or has no room, or would be left less than :func:`kept_free`),
    :class:`TransportError` (the archive cannot be read),
    :class:`~spyglass.core.errors.Cancelled` (``cancel`` was set; it is checked
    before every chunk).
    """

    def __init__(
        self,
        archive: Path,
        stream: IO[bytes],
        algorithm: str,
        *,
        cancel: CancelToken | None = None,
    ) -> None:
        self.archive = archive
        self.algorithm = algorithm
        self.parent = big_files_folder()
        """The temporary folder chosen, which error sentences name (the folder made in it
        is gone by the time they are read)."""
        try:
            self._folder = TempFolder(self.parent, "", prefix=FOLDER_PREFIX)
        except OSError as exc:
            raise self._space_error(exc) from exc
        self.folder = self._folder.path
        self.path = self.folder / _FILE_NAME
        # a forgotten close still removes the folder: when collected, or at exit
        self._remover = weakref.finalize(self, self._folder.remove)
        try:
            self._write(stream, cancel)
        except BaseException:
            self.remove()
            raise

    def _write(self, stream: IO[bytes], cancel: CancelToken | None) -> None:
        what = f'The archive "{self.archive}"'
        reader = compression.open_decompressed(
            _ArchiveFile(stream, self.archive),
            None if self.algorithm == PIPED else self.algorithm, what=what, buffered=False
        )
        try:
            out = self.path.open("xb", buffering=0)
        except OSError as exc:
            raise self._space_error(exc) from exc
        keep = kept_free(self.parent)
        allowed = 0  # what may be written before the room left is looked at again
        written = 0
        with out, reader:
            head = b""  # the first tar block, checked before the rest is written
            while True:
                check(cancel)
                chunk = self._read(reader)
                if len(head) < tarfile.BLOCKSIZE:
                    head += chunk[: tarfile.BLOCKSIZE - len(head)]
                    if len(head) == tarfile.BLOCKSIZE or not chunk:
                        self._check_tar_header(head)
                if not chunk:
                    break
                if keep is not None and len(chunk) > allowed:
                    free = free_bytes(self.parent)
                    if free is not None:
                        if free - keep < len(chunk):
                            raise self._kept_free(written, free)
                        allowed = min(free - keep, ROOM_LOOK_EVERY)
                self._write_all(out, chunk)
                allowed -= len(chunk)
                written += len(chunk)

    def _write_all(self, out: IO[bytes], chunk: bytes) -> None:
        """Write all of ``chunk``: near a full disk (or a file size limit) a write can
        store only part of it, and only the next one fails."""
        view = memoryview(chunk)
        while view:
            try:
                written = out.write(view)
            except OSError as exc:
                raise self._space_error(exc) from exc
            view = view[written:]

    def _read(self, reader: IO[bytes]) -> bytes:
        try:
            return reader.read(compression.READ_SIZE)
        except _ReadFailed:
            raise
        except TransportError as exc:  # the decompressor's sentence: corrupt or cut short
            raise DamagedArchive(str(exc)) from exc

    def _check_tar_header(self, block: bytes) -> None:
        """Refuse at once what is no tar, rather than write it all out first (a ``.gz``
        of something else dropped on the window). An end-of-archive block passes: an
        empty tar is a tar, and the reader says what it lacks."""
        if len(block) == tarfile.BLOCKSIZE and block.count(0) == tarfile.BLOCKSIZE:
            return
        if not block:  # (tarfile's "empty header" said nothing of an empty pipe)
            raise not_a_tar(self.archive, self.algorithm, None)
        try:
            tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.HeaderError as exc:
            raise not_a_tar(self.archive, self.algorithm, str(exc)) from exc

    def _archive(self) -> tuple[str, str]:
        """What the archive is called in a sentence, and what is done to it."""
        if self.algorithm == PIPED:
            return "archive read from the pipe", "kept"
        return f"{self.algorithm}-compressed archive", "decompressed"

    def _kept_free(self, written: int, free: int) -> TemporarySpaceFailed:
        """The refusal of a copy that would eat into the room :func:`kept_free` keeps."""
        archive, done = self._archive()
        grown = human_size(written) + ("" if self.algorithm == PIPED else f" {done}")
        return space_failed(
            f'There is no room for the {archive} "{self.archive}" in the temporary folder '
            f'"{self.parent}": it was stopped at {grown}, with {human_size(free)} left on '
            "that disk, which is kept free for other programs; free some space there, or ",
            "with more room")

    def _space_error(self, exc: OSError) -> TemporarySpaceFailed:
        folder = self.parent
        reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
        archive, done = self._archive()
        if exc.errno in _NO_ROOM:
            return space_failed(
                f'There is no room for the {archive} "{self.archive}" in the temporary '
                f'folder "{folder}" ({reason}); free some space there, or ', "with more room")
        return space_failed(
            f'The {archive} "{self.archive}" cannot be {done} in the temporary folder '
            f'"{folder}" ({reason}); ', "Spyglass can write to")

    def remove(self) -> None:
        """Remove the temporary folder and the file in it. Safe to call twice, and from
        any thread; readers already open keep reading the removed file."""
        self._remover()


# ----------------------------------------------------------------------------- sharing

_FileKey = tuple[int, int, int, int]


@dataclass
class _Shared:
    archive: DecompressedArchive
    users: int


_lock = threading.Lock()
_shared: dict[_FileKey, _Shared] = {}
_parked: _FileKey | None = None
"""The one decompressed copy kept without users: the archive a command line looked
at to learn its kind (a bare path), which it opens next."""


def _key(stream: IO[bytes]) -> _FileKey:
    st = os.fstat(stream.fileno())
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def acquire(
    archive: Path, stream: IO[bytes], algorithm: str, *, cancel: CancelToken | None = None
) -> DecompressedArchive:
    """The decompressed copy of the open compressed ``stream``: one already made for the
    same file (unchanged since: device, inode, size and time alike) while it is in use
    or parked, else a new one. Every :func:`acquire` is matched by a :func:`release`.

    A window that lists a compressed archive and copies an image out of it, or a
    command line that looks at a bare path and then opens it, decompresses it once.
    """
    global _parked
    key = _key(stream)
    with _lock:
        entry = _shared.get(key)
        if entry is not None and entry.archive.path.exists():
            entry.users += 1
            if _parked == key:
                _parked = None
            return entry.archive
    made = DecompressedArchive(archive, stream, algorithm, cancel=cancel)  # slow: unlocked
    with _lock:
        entry = _shared.get(key)
        if entry is None or not entry.archive.path.exists():
            _shared[key] = _Shared(made, 1)
            return made
        entry.users += 1  # another thread made one meanwhile: use that one
    made.remove()
    return entry.archive


def release(archive: DecompressedArchive, *, park: bool = False) -> None:
    """Done with ``archive``: removed once nobody uses it, unless ``park`` keeps it (the
    one parked before is removed then); :func:`remove_parked` removes it at the end."""
    global _parked
    gone: list[DecompressedArchive] = []
    with _lock:
        key = next((k for k, e in _shared.items() if e.archive is archive), None)
        entry = _shared.get(key) if key is not None else None
        if key is None or entry is None:
            gone.append(archive)
        else:
            entry.users -= 1
            if entry.users <= 0:
                if park:
                    previous, _parked = _parked, key
                    if previous is not None and previous != key:
                        left = _shared.get(previous)
                        if left is not None and left.users <= 0:
                            gone.append(_shared.pop(previous).archive)
                else:
                    gone.append(_shared.pop(key).archive)
    for done in gone:
        done.remove()


def remove_parked() -> None:
    """Remove the parked copy, if any (a command line ends with ``os._exit``, which
    runs no finalizers)."""
    global _parked
    with _lock:
        key, _parked = _parked, None
        entry = _shared.get(key) if key is not None else None
        if key is None or entry is None or entry.users > 0:
            return
        del _shared[key]
    entry.archive.remove()
