"""Where an archive destination stages what it is given, and how its tar is written.

An archive is written to a temporary file next to its final name and renamed
into place only when it is complete, so a failed or cancelled copy leaves
nothing at that name and a retry can run (one named ``/dev/stdout`` or another
stream is put together in the temporary folder and then streamed out).
Members have mtime 0 and owner 0:0, so equal images give equal tars.
"""


from __future__ import annotations

import errno
import io
import os
import stat
import tarfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Final

from spyglass.core.cancel import CancelToken, check, in_place_from_here
from spyglass.core.digest import CHUNK_SIZE
from spyglass.core.errors import (
    InvalidLayout,
    TemporarySpaceFailed,
    TransportError,
)
from spyglass.core.filemodes import new_file_mode
from spyglass.core.manifest import Descriptor
from spyglass.core.transports.archive import OCI_ARCHIVE
from spyglass.core.transports.archive_held import images_held
from spyglass.core.transports.archive_room import Relocation, archive_needs, make_room
from spyglass.core.transports.base import OUTSIDE_WAIT, Room
from spyglass.core.transports.big_files import big_files_folder, restart_advice
from spyglass.core.transports.file_write import (
    check_replaceable,
    describe_write_error,
    fsync_dir,
    out_of_inodes,
    refuse_missing_folder,
)
from spyglass.core.transports.files import resolved
from spyglass.core.transports.given_descriptors import descriptor_named, held, not_given
from spyglass.core.transports.temporaries import TempFolder
from spyglass.core.units import human_size

_ARCHIVE_FILE_NAME: Final = "archive.tar"
_DESCRIPTOR_NAMES: Final = ("/dev/stdout", "/dev/stderr")
_DESCRIPTOR_FOLDERS: Final = ("/dev/fd/", "/proc/")


def names_a_descriptor(target: Path) -> bool:
    """Whether ``target`` names a descriptor a process holds (``/dev/stdout``,
    ``/dev/fd/1``, ``/proc/self/fd/1``): what it leads to (a pipe, or the file a shell
    redirected it to) is written into, never replaced. A file elsewhere under ``/dev``
    (``/dev/shm``, a memory filesystem) is a file like any other."""
    text = str(target)
    return text in _DESCRIPTOR_NAMES or text.startswith(_DESCRIPTOR_FOLDERS)


def _given(target: Path, path: Path) -> Path:
    """What to open for ``target``, a name of a descriptor of this process's own
    (``/dev/fd/N``): the duplicate of it a command line holds since it began (see
    :mod:`~spyglass.core.transports.given_descriptors`), as ``/dev/fd/DUPLICATE``; else
    the name itself, once it is known to be open (not given, it would lead later into
    what Spyglass itself opened under that number). Another process's (``/proc/PID/…``)
    is left as it is."""
    fd = descriptor_named(target)
    if fd is None:
        return target
    duplicate = held(fd)
    if duplicate is not None:
        return Path(f"/dev/fd/{duplicate}")
    try:
        os.fstat(fd)
    except OSError as exc:
        raise not_given(f'"{path}"', fd, exc) from exc
    return target


class _CancellableReader:
    """A file read by tarfile in chunks, with the cancel token checked before each."""

    def __init__(self, stream: IO[bytes], cancel: CancelToken | None) -> None:
        self._stream = stream
        self._cancel = cancel

    def read(self, size: int = -1, /) -> bytes:
        check(self._cancel)
        return self._stream.read(size)


class TarWriter:
    """Adds members with fixed metadata (mtime 0, owner 0:0), so equal images give equal tars."""

    def __init__(self, tar: tarfile.TarFile, cancel: CancelToken | None, file_mode: int,
                 where: Callable[[Path], Path] = lambda path: path) -> None:
        self._tar = tar
        self._cancel = cancel
        self._file_mode = file_mode
        self._where = where

    def _info(self, name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode
        info.mtime = 0
        info.uid = info.gid = 0
        return info

    def folder(self, name: str) -> None:
        self._tar.addfile(self._info(name.rstrip("/") + "/", tarfile.DIRTYPE, 0o755))

    def data(self, name: str, data: bytes) -> None:
        check(self._cancel)
        info = self._info(name, tarfile.REGTYPE, self._file_mode)
        info.size = len(data)
        self._tar.addfile(info, io.BytesIO(data))

    def file(self, name: str, path: Path, *, consume: bool = False) -> None:
        """Add the file at ``path`` (or where it was moved to make room); with ``consume``,
        remove it once it is in the tar, so staging and tar together need little more space
        than the archive alone."""
        check(self._cancel)
        path = self._where(path)
        with path.open("rb") as stream:
            info = self._info(name, tarfile.REGTYPE, self._file_mode)
            info.size = os.fstat(stream.fileno()).st_size
            self._tar.addfile(info, _CancellableReader(stream, self._cancel))
        if consume:
            path.unlink()

    def symlink(self, name: str, target: str) -> None:
        info = self._info(name, tarfile.SYMTYPE, 0)  # Go's FileInfoHeader gives links mode 0
        info.linkname = target
        self._tar.addfile(info)


def article(word: str) -> str:
    """``a`` or ``an`` before ``word`` as it is read aloud (``an oci-archive``)."""
    return "an" if word[:1].lower() in "aeio" else "a"


PIPED_PREFIX: Final = "spyglass-piped-archive-"
"""The staging folder of an archive written to a pipe, in the big-files folder."""


BIG_FILES: Final = "$TMPDIR or --tmpdir, else /var/tmp"
"""Where the folder for big temporary files comes from, as sentences say it."""

CHOOSE_TMPDIR: Final = "choose another folder for them (TMPDIR, or --tmpdir on the command line)"
"""How to choose another folder for big temporary files, on the command line; the window
says :func:`~spyglass.core.transports.decompressed.restart_advice` instead."""


_READER_POLL: Final = 0.05
"""Seconds between two looks for a program reading the pipe an archive is written to."""


def _open_for_a_reader(target: Path, flags: int, shown: Path,
                       cancel: CancelToken | None) -> int:
    """``target`` (a pipe, a device, ``/dev/stdout``) opened for writing with ``flags``.

    Opening a named pipe for writing waits until a program opens it for reading, for
    ever and in silence (``mkfifo f; spyglass copy … docker-archive:f``): here, where no
    program reads it yet, the wait is told to
    :data:`~spyglass.core.transports.base.OUTSIDE_WAIT` (``a program to read the pipe
    "f"``) and the pipe is looked at until one does, or until ``cancel``. Raises
    OSError as :func:`os.open` does, and :class:`~spyglass.core.errors.Cancelled`.
    """
    listener: Callable[[str | None], None] | None = None
    try:
        while True:
            try:
                fd = os.open(target, flags | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:  # (ENXIO: a pipe that nobody reads)
                    raise
            else:
                try:
                    os.set_blocking(fd, True)  # written to as any file, once it is open
                except BaseException:
                    os.close(fd)
                    raise
                return fd
            if listener is None:
                listener = OUTSIDE_WAIT.get() or (lambda what: None)
                listener(f'a program to read the pipe "{shown}"')
            check(cancel)
            time.sleep(_READER_POLL)
    finally:
        if listener is not None:
            listener(None)


class ArchiveOutput:
    """Where an archive destination stages its content, and where the tar goes at commit.

    A regular file (existing or not) is written as a temporary file in the
    staging folder — a hidden sibling of the target, ``.NAME.spyglass-tmp-*``,
    on the same filesystem — and renamed over the target only when the tar
    is complete, so a failed copy leaves nothing at the final name and an
    older archive there stays intact. A staging folder a killed copy left is
    removed by the next copy to the same name. A symbolic link to a file is followed
    (the link stays). A name of a descriptor (``/dev/stdout``, ``/dev/fd/N``,
    :func:`names_a_descriptor`) and any existing non-regular file (a FIFO, a device)
    is written straight through at commit; its staging folder
    (``spyglass-piped-archive-*``, visible, named for what it is) is in the folder for
    big temporary files: ``$TMPDIR``, else ``/var/tmp``.
    """

    def __init__(self, path: Path, transport: str, *, stage: bool = True,
                 look_inside: bool = True) -> None:
        self.path = path
        target = Path(os.path.abspath(path))
        self.streamed = names_a_descriptor(target)
        given_name = target.name  # (a stream's staging folder is named for it)
        if self.streamed:
            target = _given(target, path)
        self.append = False
        self.mode = new_file_mode()  # a new archive; one replaced keeps its mode
        self.replaces_image = False
        """Whether an image archive is there already (it is replaced at commit)."""
        self._relocation = Relocation()
        try:
            if target.exists():
                st = os.stat(target)  # the kernel follows /proc's links to pipes too
                if stat.S_ISDIR(st.st_mode):
                    folder_kind = "oci" if transport == OCI_ARCHIVE else "dir"
                    raise InvalidLayout(
                        f'"{path}" is a folder; {article(transport)} {transport} image is a '
                        "file. Name a file, or "
                        f"write the folder as {folder_kind}:{path}."
                    )
                if self.streamed:
                    self.append = stat.S_ISREG(st.st_mode)  # stdout redirected to a file
                elif stat.S_ISREG(st.st_mode):
                    target = resolved(target)
                    self.mode = stat.S_IMODE(st.st_mode)
                    check_replaceable(target, st, path)  # before reading what it holds
                    held = images_held(target) if st.st_size and look_inside else []
                    if held is None:
                        raise InvalidLayout(
                            f'"{path}" exists and is not an image archive; Spyglass replaces '
                            f"only an image archive with {article(transport)} {transport} "
                            "image. Name a new file, or remove that one first."
                        )
                    if len(held) > 1:
                        shown = ", ".join(held[:4]) + (", …" if len(held) > 4 else "")
                        raise InvalidLayout(
                            f'"{path}" already holds {len(held)} images ({shown}); Spyglass '
                            "writes an archive whole, so this copy would lose them. Name a "
                            "new file, or remove that one first."
                        )
                    self.replaces_image = bool(st.st_size)
                else:
                    self.streamed = True
            elif target.is_symlink():
                target = resolved(target)
            # one written to a pipe is made whole first where big temporary files go
            # ($TMPDIR, else /var/tmp: not /tmp, which is often memory)
            parent = big_files_folder() if self.streamed else target.parent
            if self.streamed and not parent.is_dir():
                what = "is not a folder" if parent.exists() else "does not exist"
                said = (f'The folder for big temporary files, "{parent}" ({BIG_FILES}), where '
                        f'an archive written to "{path}" is made first, {what}; create it, or ')
                raise InvalidLayout(f"{said}{restart_advice('that exists')}.",
                                    on_command_line=f"{said}{CHOOSE_TMPDIR} that does.")
            refuse_missing_folder(parent, path)
            self._parent = parent
            if stage:
                # beside the target, hidden; in the big-files folder, visible and named
                # for what it is (as a decompressed archive's is there)
                with self.staged():
                    name = given_name if self.streamed else target.name
                    self._folder = TempFolder(parent, name or "archive",
                                              prefix=PIPED_PREFIX if self.streamed else None)
                self.staging = self._folder.path
        except OSError as exc:
            raise TransportError(describe_write_error(exc, path)) from exc
        self.target = target

    @property
    def parent(self) -> Path:
        """The folder staging is in: the target's, or for a pipe the big-files folder."""
        return self._parent

    @property
    def staging_place(self) -> str:
        """The big-files folder, said as where an archive for a pipe is made first."""
        return (f'the folder for big temporary files "{self._parent}" ({BIG_FILES}), '
                f'where an archive written to "{self.path}" is made first')

    @contextmanager
    def staged(self) -> Iterator[None]:
        """Where an archive for a pipe is made first (the big-files folder) is what a
        failure to write there is said of: not the pipe, not a folder of the copy's own."""
        try:
            yield
        except (OSError, TransportError) as exc:
            cause = exc if isinstance(exc, OSError) else exc.__cause__
            if not self.streamed or not isinstance(cause, OSError) or cause.errno not in (
                    errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            where = self.staging_place
            reason = cause.strerror or str(cause)
            if cause.errno == errno.ENOSPC and out_of_inodes(self._parent):
                said, wanted, window = (f"There are no file entries (inodes) left in {where}; ",
                                        "on a filesystem with more", "on a filesystem with more")
            elif cause.errno in (errno.ENOSPC, errno.EDQUOT):
                said, wanted, window = (f"There is no room in {where} ({reason}); free some "
                                        "space there, or ", "with more room", "with more room")
            else:
                said, wanted, window = (f"Spyglass cannot write in {where} ({reason}); ",
                                        "it can write to", "Spyglass can write to")
            raise TemporarySpaceFailed(
                f"{said}{restart_advice(window)}.",
                on_command_line=f"{said}{CHOOSE_TMPDIR} {wanted}.") from cause

    def write(
        self,
        fill: Callable[[TarWriter], None],
        *,
        file_mode: int,
        cancel: CancelToken | None,
        blobs: Sequence[Path] = (),
    ) -> None:
        """Write the tar that ``fill`` describes to the target; raise TransportError on
        failure. ``blobs`` are the staged files ``fill`` consumes: those the target's
        filesystem has no room for twice are moved first (see :mod:`.archive_room`)."""
        if self.streamed:
            flags = os.O_WRONLY | os.O_CLOEXEC | (os.O_APPEND if self.append else 0)
            try:
                fd = _open_for_a_reader(self.target, flags, self.path, cancel)
                with os.fdopen(fd, "wb", buffering=CHUNK_SIZE) as out:
                    self._tar(out, fill, file_mode, cancel, lambda path: path)
            except OSError as exc:
                raise TransportError(describe_write_error(exc, self.path)) from exc
            in_place_from_here()  # (its reader has it all)
            return
        temp = self.staging / _ARCHIVE_FILE_NAME
        staged = self._staged_sizes()  # (before the tar takes them in, one by one)
        try:
            self._relocation = make_room(blobs, self.target, name=self.target.name,
                                         cancel=cancel)
            with temp.open("wb", buffering=CHUNK_SIZE) as out:
                self._tar(out, fill, file_mode, cancel, self._relocation.where)
                out.flush()
                os.fsync(out.fileno())
                os.fchmod(out.fileno(), self.mode)
            check(cancel)
            in_place_from_here()
            os.rename(temp, self.target)
        except OSError as exc:
            said = describe_write_error(exc, self.path)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT) and staged and "inodes" not in said:
                said = self._room_needed(said, staged)
            raise TransportError(said) from exc
        fsync_dir(self.target.parent)

    def _room_needed(self, said: str, staged: list[int]) -> str:
        """``said`` (a write that found no room), with why an archive that would fit did
        not: it is put together beside its final name from the blobs staged there, each
        removed once it is in, and those with no room to be there twice are moved to the
        big-files folder only where that is another filesystem with room for them."""
        whole = (f"{said[:-1]}; an archive is put together beside its final name, so it "
                 f"needs room there for all of it (about {human_size(sum(staged))})")
        if self.replaces_image:
            whole += ", besides the archive it replaces, kept until the new one is whole"
        unmoved = self._relocation.unmoved
        if unmoved is None:
            return whole + "."
        where = f'the folder for big temporary files, "{big_files_folder()}" ({BIG_FILES}),'
        why = ("is on the same filesystem" if unmoved == "same"
               else "has no room for them either")
        return (f"{whole}, and for its largest blob once more ({human_size(max(staged))}): "
                f"blobs go there while the archive is put together only when {where} is on "
                f"another filesystem with room for them, and that one {why}.")

    def _staged_sizes(self) -> list[int]:
        """The sizes of the files staged for the archive (none where they cannot be read)."""
        try:
            return [entry.stat().st_size for entry in self.staging.rglob("*")
                    if entry.is_file()]
        except OSError:
            return []

    @staticmethod
    def _tar(
        out: IO[bytes],
        fill: Callable[[TarWriter], None],
        file_mode: int,
        cancel: CancelToken | None,
        where: Callable[[Path], Path],
    ) -> None:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            fill(TarWriter(tar, cancel, file_mode, where))

    def cleanup(self) -> None:
        self._relocation.remove()
        self._folder.remove()


class ArchiveDestination:
    """What both archive destinations say of themselves: their name, and the archive
    already at their path that a copy replaces whole; and how they refuse to be written
    once committed or aborted."""

    path: Path
    _name: str
    _output: ArchiveOutput
    _state: str

    @property
    def description(self) -> str:
        return self._name

    @property
    def replaces(self) -> str | None:
        """The archive already at the path, replaced whole (ReplacingDestination)."""
        if not self._output.replaces_image:
            return None
        return f'the archive "{self.path}" already there, with what it holds,'

    def room_needed(self, blobs: Sequence[Descriptor]) -> Room:
        """Implement LocalDestination: the staged blobs and the tar beside them (see
        :func:`~spyglass.core.transports.archive_room.archive_needs`); an archive holds
        nothing before the copy, and one replaced stays until the new one is whole."""
        output = self._output
        return Room(output.parent, archive_needs([blob.size for blob in blobs],
                                                 output.parent, streamed=output.streamed),
                    output.staging_place if output.streamed else "")

    def _check_open(self) -> None:
        if self._state != "open":
            raise TransportError(
                f"The destination {self._name} was already {self._state}; open it again to "
                "write another image."
            )

    def abort(self) -> None:
        """Remove what was staged, leaving nothing at the path (each destination its own
        way; nothing once committed)."""
        raise NotImplementedError

    def close(self) -> None:
        if self._state == "open":
            self.abort()
