"""Reading a tar file member by member, in place (the archives' common ground).

:class:`TarTree` scans the tar headers once (for an uncompressed tar that is a
walk of seeks) and then serves each member by opening the archive again and
reading ``member.size`` bytes from ``member.offset_data``, so concurrent reads
(two blobs on two worker threads) never share a file position. A compressed
tarball is decompressed once into a private temporary file first
(:mod:`spyglass.core.transports.decompressed`).

Member names that are absolute or contain ``..`` make the whole archive
refused (:class:`~spyglass.core.errors.UnsafeArchive`); symbolic and hard
links are followed only while their targets stay inside the archive.
"""


from __future__ import annotations

import fcntl
import io
import os
import stat
import tarfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final, cast

from spyglass.core import compression
from spyglass.core.cancel import CancelToken, check
from spyglass.core.errors import (
    DamagedArchive,
    InvalidLayout,
    TooLarge,
    TransportError,
    UnsafeArchive,
    Unsupported,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
)
from spyglass.core.tarheaders import BoundedTarInfo, HugeHeader
from spyglass.core.transports.decompressed import PIPED, DecompressedArchive, not_a_tar
from spyglass.core.transports.decompressed import acquire as acquire_decompressed
from spyglass.core.transports.decompressed import release as release_decompressed
from spyglass.core.transports.files import (
    describe_os_error,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


MAX_LINK_HOPS: Final = 16
"""How many links in a row a member lookup follows before it calls it a loop."""

MAX_MEMBERS: Final = 1_000_000
"""The most members a tar may have: an image archive holds a few per image (its blobs,
and a folder and a link or two for each of a docker save's layers), and each member
kept costs some 200 bytes (see :class:`_Member`), a tar of a million of them 230 MB and
half a minute. As many as a registry's listing of names reads (``MAX_LISTED_NAMES``)."""

_BLOCK: Final = tarfile.BLOCKSIZE
_READ_BUFFER: Final = 256 * 1024

# --------------------------------------------------------------------------- tar access


def _member_name(name: str, archive: Path) -> str | None:
    """The normalized name of a member (no ``./``, no empty parts); None for the root entry.

    Raises :class:`UnsafeArchive` for absolute names and names with ``..``.
    """
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if name.startswith("/") or ".." in parts:
        raise UnsafeArchive(
            f'The archive "{archive}" has a member named "{name}", which leads outside the '
            "archive; refusing to read it."
        )
    return "/".join(parts) or None


def _join_inside(base: str, target: str) -> str | None:
    """``target`` resolved against the folder ``base`` ("" is the root); None when it leaves."""
    if target.startswith("/"):
        return None
    parts = base.split("/") if base else []
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


class _Member:
    """What a :class:`TarTree` keeps of a member: where its data lies, how long it is,
    what it is and where it links. A :class:`tarfile.TarInfo` holds twenty fields and a
    dict, about 500 bytes a member: a tar of a million empty members (6 MB gzipped) took
    517 MB. A sparse file is kept as one of GNU's type ``S`` (its size the file's, as
    tarfile has it), whatever format stored it."""

    __slots__ = ("linkname", "offset_data", "size", "type")

    def __init__(self, info: tarfile.TarInfo) -> None:
        self.offset_data = info.offset_data
        self.size = info.size
        self.type = tarfile.GNUTYPE_SPARSE if info.issparse() else info.type
        self.linkname = info.linkname

    def isreg(self) -> bool:
        return self.type in tarfile.REGULAR_TYPES

    def isdir(self) -> bool:
        return self.type == tarfile.DIRTYPE

    def issym(self) -> bool:
        return self.type == tarfile.SYMTYPE

    def islnk(self) -> bool:
        return self.type == tarfile.LNKTYPE

    def issparse(self) -> bool:
        return self.type == tarfile.GNUTYPE_SPARSE


def _stored(info: tarfile.TarInfo) -> int:
    """The bytes of a sparse member's data the tar holds: its map's regions, not the
    file's size (``info.size``), which holes make larger."""
    regions = cast("list[tuple[int, int]] | None", info.sparse)  # (typeshed: bytes)
    return sum(length for _offset, length in regions or ())


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class _MemberReader(io.RawIOBase):
    """The bytes of one member: a window of ``size`` bytes at ``start`` of its own file object."""

    def __init__(self, file: io.FileIO, start: int, size: int, what: str) -> None:
        super().__init__()
        self._file = file
        self._start = start
        self._size = size
        self._pos = 0
        self._what = what

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        remaining = self._size - self._pos
        if remaining <= 0:
            return 0
        view = memoryview(buffer).cast("B")
        got = self._file.readinto(view[: min(len(view), remaining)])
        if not got:
            raise TransportError(
                f"{self._what} ends after {self._pos} of its {self._size} bytes: the archive "
                "is truncated or changed while it was read."
            )
        self._pos += got
        return got

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._pos + offset
        elif whence == io.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._pos = position
        self._file.seek(self._start + min(position, self._size))
        return position

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


def open_without_waiting(path: Path) -> IO[bytes]:
    """``path`` opened for reading; a named pipe no program writes to is not waited for
    (opening one blocks until a writer comes): it reads as empty, and is refused as no
    archive. A pipe being written to (``… | spyglass copy docker-archive:/dev/stdin``)
    reads as usual."""
    nonblocking = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | nonblocking)
    try:
        if nonblocking:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~nonblocking)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def truncation_hint(tree: TarTree) -> str:
    """What a sentence about a member ``tree`` lacks (a docker-archive's
    ``manifest.json``, an oci-archive's ``index.json``) adds where the tar ends without
    the end-of-archive marker (:attr:`TarTree.unmarked_end`): cut at a member's end, it
    reads as a whole tar, and only that marker's absence says it may be cut short.
    "" for a tar that has the marker."""
    if not tree.unmarked_end:
        return ""
    return (" It ends without the end-of-archive marker a tar is written with, so it may be "
            "truncated (copied or downloaded only in part).")


def device_refusal(path: Path, file: IO[bytes]) -> InvalidLayout:
    """The refusal of a character device given as an archive (``/dev/null``, or
    ``/dev/stdin`` that a shell pointed at one: ``… </dev/null``, or a terminal).

    skopeo reads a device as a file and finds no manifest.json in it. A device is not
    read as a pipe here, though: a pipe's bytes are kept in a temporary file before
    they are read, and a device such as ``/dev/zero`` never ends (it would fill the
    temporary folder), while a terminal waits for keys. So a terminal is named as
    such, with how to pipe an archive in; an empty device (one read gives nothing)
    is said to have brought nothing, as an empty pipe is; any other is refused as a
    device.
    """
    pipe_in = ("pipe one in, as in docker save IMAGE | spyglass copy docker-archive:/dev/stdin "
               "DESTINATION")
    if file.isatty():
        return InvalidLayout(
            f'"{path}" is a terminal, not an image archive; {pipe_in}.'
        )
    fd = file.fileno()
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)  # a device never waited for
    try:
        first = os.read(fd, _BLOCK)
    except BlockingIOError:
        first = b"?"
    finally:
        fcntl.fcntl(fd, fcntl.F_SETFL, flags)
    if not first:
        return InvalidLayout(
            f'Nothing came through "{path}": it is a device that gives no bytes; expected '
            "an image archive as docker save or skopeo copy … oci-archive: writes it, "
            "compressed or not."
        )
    return InvalidLayout(
        f'"{path}" is a device, not an image archive (a tar file); {pipe_in}.'
    )


class TarTree:
    """A :class:`~spyglass.core.transports.base.FileTree` over a tar file.

    The headers are scanned once, when the tree is made; member names are
    normalized (``./blobs/x`` is ``blobs/x``) and the first member of a name
    wins, as containers/image's docker-archive reader finds it (the last one after
    :meth:`read_as_extracted`). Each
    :meth:`open` opens the archive file again and reads the member's bytes in
    place, so readers on different threads are independent; a reader fails
    with :class:`TransportError` if the file was replaced since the scan.

    A compressed tar (gzip, bzip2, xz, zstd) is first decompressed into a
    private temporary file (:class:`DecompressedArchive`), which the tree reads
    instead and removes when it is closed; ``cancel`` is checked while that
    runs. :attr:`compression` says which it was.

    Symbolic links resolve against the link's folder and hard links against
    the archive root (tar's rules); both are followed, up to
    :data:`MAX_LINK_HOPS` in a row, only while they stay inside the archive.

    Raises, when made: :class:`InvalidLayout` (no such file, not a tar, a
    truncated or damaged tar, or one with an extended header too long to read —
    :class:`DamagedArchive` —, compressed or not),
    :class:`UnsafeArchive` (a member named absolutely or with ``..``),
    :class:`TooLarge` (more than :data:`MAX_MEMBERS` members),
    :class:`TransportError` (the file cannot be read),
    :class:`~spyglass.core.errors.TemporarySpaceFailed` (no room to decompress
    it), :class:`~spyglass.core.errors.Cancelled`.
    """

    def __init__(
        self, path: Path, *, cancel: CancelToken | None = None, park: bool = False
    ) -> None:
        self.path = path
        self._park = park
        """Keep the decompressed copy of a compressed archive when closed, for the next
        open of the same file (see :func:`~spyglass.core.transports.decompressed.release`)."""
        self.compression: str | None = None
        """The compression undone before reading, or None for a plain tar."""
        self.unmarked_end = False
        """Whether the tar ends right after a member, without the end-of-archive blocks a
        tar is written with: read (as Go's archive/tar reads it), but perhaps truncated,
        which a sentence about a member missing may say."""
        self._members: dict[str, _Member] = {}
        self._later: dict[str, _Member] = {}
        """The last member of each name stored more than once (``tar -r`` appends)."""
        self._closed = False
        self._decompressed: DecompressedArchive | None = None
        self._data = path
        """The tar file read: the archive itself, or its decompressed copy."""
        self._identity = self._scan(cancel)

    # -- scanning

    def _scan(self, cancel: CancelToken | None) -> tuple[int, int, int, int]:
        try:
            file = open_without_waiting(self.path)
        except FileNotFoundError:
            raise InvalidLayout(
                f'The path "{self.path}" does not exist; expected an image archive (a tar file).'
            ) from None
        except IsADirectoryError:
            raise InvalidLayout(
                f'"{self.path}" is a folder, not an image archive; a folder is opened as '
                f"oci:{self.path} or dir:{self.path}."
            ) from None
        except OSError as exc:
            raise TransportError(describe_os_error(exc, self.path)) from exc
        with file:
            try:
                st = os.fstat(file.fileno())
                if stat.S_ISFIFO(st.st_mode):  # docker save … | spyglass … /dev/stdin
                    return self._decompress(file, PIPED, cancel)
                if stat.S_ISCHR(st.st_mode):
                    raise device_refusal(self.path, file)
                if not stat.S_ISREG(st.st_mode):
                    raise InvalidLayout(
                        f'"{self.path}" is not a regular file; expected an image archive '
                        "(a tar file)."
                    )
                try:
                    tar = self._open_tar(file)
                except tarfile.TarError as exc:
                    # a plain tar is tried first: a tar whose first member is named
                    # "BZh…" is not bzip2
                    file.seek(0)
                    kind = compression.detect(file.read(compression.HEADER_SIZE))
                    if kind is None:
                        raise InvalidLayout(
                            f'"{self.path}" is not a tar archive ({exc}); expected an image '
                            "archive as docker save or skopeo copy … oci-archive: writes it."
                        ) from exc
                    file.seek(0)
                    return self._decompress(file, kind, cancel)
                self._read_headers(tar, file, st.st_size)
            except OSError as exc:
                raise TransportError(describe_os_error(exc, self.path)) from exc
        return _identity(st)

    def _decompress(
        self, file: IO[bytes], kind: str, cancel: CancelToken | None
    ) -> tuple[int, int, int, int]:
        """Decompress the archive into its temporary file and scan that; the identity of
        the temporary file, which every :meth:`open` reads."""
        decompressed = acquire_decompressed(self.path, file, kind, cancel=cancel)
        try:
            with decompressed.path.open("rb") as data:
                st = os.fstat(data.fileno())
                try:
                    tar = self._open_tar(data)
                except tarfile.TarError as exc:
                    raise not_a_tar(self.path, kind, str(exc)) from exc
                self._read_headers(tar, data, st.st_size)
        except OSError as exc:
            release_decompressed(decompressed)
            raise TransportError(describe_os_error(exc, decompressed.path)) from exc
        except BaseException:
            release_decompressed(decompressed)
            raise
        self._decompressed = decompressed
        self._data = decompressed.path
        self.compression = None if kind == PIPED else kind
        return _identity(st)

    def _open_tar(self, file: IO[bytes]) -> tarfile.TarFile:
        """``file`` opened as a plain tar, its first header read (:class:`tarfile.TarError`
        where it is no tar); an extended header too long to read is refused (see
        :mod:`spyglass.core.tarheaders`), there and in :meth:`_read_headers`."""
        try:
            return tarfile.open(fileobj=file, mode="r:", tarinfo=BoundedTarInfo)
        except HugeHeader as exc:
            raise self._huge_header(exc) from None

    def _huge_header(self, huge: HugeHeader) -> DamagedArchive:
        return DamagedArchive(f'The archive "{self.path}" has {huge.said}; it cannot be read.')

    def _read_headers(self, tar: tarfile.TarFile, file: IO[bytes], file_size: int) -> None:
        cut_short = False  # a sparse member's data (what of it is stored) past the end
        try:
            with tar:
                count = 0
                while (info := tar.next()) is not None:
                    # tarfile keeps every TarInfo it read, for getmembers() (never called
                    # here), in an attribute typeshed leaves out: see _Member
                    tar.members.clear()  # type: ignore[attr-defined]
                    count += 1
                    if count > MAX_MEMBERS:
                        raise TooLarge(
                            f'The archive "{self.path}" has more than {MAX_MEMBERS:,} '
                            "members, more than Spyglass reads; an image archive holds a "
                            "few for each image.")
                    if info.issparse() and info.offset_data + _stored(info) > file_size:
                        cut_short = True
                    name = _member_name(info.name, self.path)
                    if name is not None:
                        if name in self._members:
                            self._later[name] = _Member(info)
                        else:
                            self._members[name] = _Member(info)
                end = tar.offset
        except HugeHeader as exc:
            raise self._huge_header(exc) from None
        except tarfile.TarError as exc:
            raise DamagedArchive(
                f'The archive "{self.path}" is truncated or damaged ({exc}); it cannot be read.'
            ) from exc
        # tarfile stops quietly at a bad header after the first: demand the end-of-archive
        # zero block there, or a clean end of file as Go's archive/tar accepts.
        file.seek(end)
        block = file.read(_BLOCK)
        damaged = bool(block) and (len(block) < _BLOCK or block.count(0) != _BLOCK)
        self.unmarked_end = not block
        if damaged or cut_short or any(
            info.offset_data + info.size > file_size
            for info in (*self._members.values(), *self._later.values())
            # (a sparse member's size is the file's, not what of it is stored)
            if info.isreg() and not info.issparse()
        ):
            raise DamagedArchive(
                f'The archive "{self.path}" is truncated or damaged after {end} bytes; it '
                "cannot be read."
            )

    def read_as_extracted(self) -> None:
        """Read a member stored more than once as its last copy, as extracting the tar
        leaves it (``tar -x``, and so skopeo's oci-archive and umoci): an OCI layout
        updated with ``tar -r`` names what its last ``index.json`` names."""
        self._members.update(self._later)

    # -- lookups

    def names(self) -> list[str]:
        """The normalized names of all members, in archive order."""
        return list(self._members)

    def _request(self, path: str) -> str:
        parts = [part for part in path.split("/") if part not in ("", ".")]
        if path.startswith("/") or ".." in parts or "\0" in path or not parts:
            raise UnsafeArchive(
                f'"{path}" is not a path inside the archive "{self.path}"; refusing to read it.'
            )
        return "/".join(parts)

    def _lookup(self, path: str) -> _Member | None:
        """The member ``path`` names after following links, or None when there is none."""
        if self._closed:
            raise TransportError(f'The archive "{self.path}" was closed; open it again.')
        current = self._request(path)
        for _ in range(MAX_LINK_HOPS + 1):
            info = self._members.get(current)
            if info is None:
                return None
            if info.issym():
                base = current.rpartition("/")[0]
            elif info.islnk():
                base = ""
            else:
                return info
            resolved = _join_inside(base, info.linkname)
            if resolved is None:
                raise UnsafeArchive(
                    f'The member "{current}" of the archive "{self.path}" is a link to '
                    f'"{info.linkname}", which leads outside the archive; refusing to follow it.'
                )
            current = resolved
        raise InvalidLayout(
            f'The member "{path}" of the archive "{self.path}" is a chain of more than '
            f"{MAX_LINK_HOPS} links (a loop?); refusing to follow it."
        )

    def _regular(self, path: str) -> _Member:
        info = self._lookup(path)
        if info is None or not info.isreg():
            raise FileNotFoundError(f"{self.path}: {path}")
        if info.issparse():
            raise Unsupported(
                f'The member "{path}" of the archive "{self.path}" is a sparse file, which '
                "Spyglass cannot read in place."
            )
        return info

    # -- FileTree

    @property
    def description(self) -> str:
        return str(self.path)

    def exists(self, path: str) -> bool:
        info = self._lookup(path)
        return info is not None and info.isreg()

    def size(self, path: str) -> int:
        return self._regular(path).size

    def is_folder(self, path: str) -> bool:
        """Whether ``path`` (after links) is a folder in the archive: a directory member,
        or the folder of members stored without one (what :meth:`exists` says is no file
        may be that, which a sentence says rather than "no such file")."""
        info = self._lookup(path)
        if info is not None:
            return info.isdir()
        inside = self._request(path) + "/"
        return any(name.startswith(inside) for name in self._members)

    def open(self, path: str, *, cancel: CancelToken | None = None,
             size: int | None = None) -> io.BufferedReader:
        """Open a member (after links) for reading; seekable within the member (``size``
        is the reader's to check: nothing is read before the member is handed out)."""
        check(cancel)
        info = self._regular(path)
        try:
            file = self._data.open("rb", buffering=0)
        except OSError as exc:
            raise TransportError(describe_os_error(exc, self.path)) from exc
        try:
            if _identity(os.fstat(file.fileno())) != self._identity:
                raise TransportError(
                    f'The archive "{self.path}" changed on disk since it was opened; open it again.'
                )
            file.seek(info.offset_data)
        except BaseException:
            file.close()
            raise
        what = f'The member "{path}" of the archive "{self.path}"'
        return io.BufferedReader(
            _MemberReader(file, info.offset_data, info.size, what), _READ_BUFFER
        )

    def head(self, path: str, size: int) -> bytes:
        with self.open(path) as stream:
            return stream.raw.read(size)  # not a whole buffer's worth of the member

    def close(self) -> None:
        """Forget the archive, and remove its decompressed copy; readers already open keep
        working. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._decompressed is not None:
            release_decompressed(self._decompressed, park=self._park)


def read_small(tree: TarTree, name: str, what: str) -> bytes:
    """Read a member whole, refused above 4 MiB; FileNotFoundError when there is none."""
    size = tree.size(name)
    if size > MAX_MANIFEST_SIZE:
        raise TooLarge(f"{what} is {size} bytes, more than the 4 MiB accepted.")
    try:
        with tree.open(name) as stream:
            return stream.read()
    except OSError as exc:
        raise TransportError(describe_os_error(exc, f"{tree.path}: {name}")) from exc


def open_decompressed(tree: TarTree, name: str, what: str) -> tuple[IO[bytes], str | None]:
    """Open a member, decompressing it when its content is compressed; also return the kind."""
    stream = compression.open_decompressed(tree.open(name), what=what, close_stream=True)
    return stream, compression.detected_algorithm(stream)
