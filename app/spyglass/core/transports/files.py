"""File trees on disk: how transports read blobs out of a tree, and how local ones write.

Read side: :class:`DirTree`, :func:`open_verified`, :func:`read_small_blob`.

Write side, shared by the ``oci:``, ``dir:`` and archive destinations:
:func:`write_blob` (stream, verify, sync, rename — or leave nothing),
:func:`replace_file` (small files replaced atomically), :func:`exclusive_lock`
(the ``flock`` that serializes ``index.json`` updates between processes),
:class:`TempFiles`, :class:`TempFolder` and :class:`KnownBlobs` (what one copy
has in flight and has already verified), and :func:`sweep_orphans` (what a
killed copy left behind).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Final

from spyglass.core.buffers import BUFFERS
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import (
    CHUNK_SIZE,
    Digest,
    Readable,
    VerifyingReader,
    read_into,
    read_verified,
    verifies_itself,
)
from spyglass.core.directio import DirectWriter
from spyglass.core.errors import (
    BlobNotFound,
    DigestMismatch,
    InvalidDigest,
    InvalidLayout,
    LockHeld,
    SizeMismatch,
    SpyglassError,
    TransportError,
)
from spyglass.core.filemodes import FILE_MODE, FOLDER_MODE, new_file_mode
from spyglass.core.manifest import MAX_MANIFEST_SIZE, Descriptor
from spyglass.core.transports.base import FileTree

log = logging.getLogger(__name__)


def safe_relative(path: str, *, where: str) -> str:
    """Normalize a relative ``/`` path; refuse absolute paths and ``..`` components.

    Raises :class:`InvalidLayout` naming ``where`` (the layout or archive).
    """
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path or "\0" in path:
        raise InvalidLayout(
            f'{where} refers to "{path}", which leads outside it; refusing to read it.'
        )
    parts = [p for p in pure.parts if p not in ("", ".")]
    if not parts:
        raise InvalidLayout(f'{where} refers to an empty path "{path}".')
    return "/".join(parts)


_BLOB_PATH: Final = re.compile(r"blobs/([a-z0-9]+)/([0-9a-f]+)")
"""Where an OCI layout keeps a blob, as :func:`blob_path` writes it."""


class DirTree:
    """A :class:`FileTree` over a folder on disk. Links may not lead outside the folder,
    except the links of an OCI layout's blobs.

    Bazel's rules_oci writes layouts whose ``blobs/sha256/*`` are relative links
    into another layout, and containers/image (``oci_src.go``, ``GetBlob``)
    simply opens ``blobs/<alg>/<hex>``, following them. Such a path is followed
    wherever it leads, because a blob names its own content: a file reached
    outside the folder is hashed *before* it is handed out, and refused with
    :class:`DigestMismatch` unless it is exactly the blob. Checking only at the
    end of the read, as for every other blob, would let a hostile layout stream
    any file of the reader's (``~/.ssh/id_rsa``) to wherever the image is
    copied before the mismatch stops the copy. ``index.json``, ``oci-layout``
    and every other path stay refused when a link takes them outside.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._resolved = resolved(root)

    @property
    def description(self) -> str:
        return str(self.root)

    def _path(self, path: str) -> tuple[Path, Digest | None]:
        """The file for ``path``, and the digest it must have when it is a blob that a link
        leads outside the folder (None inside it)."""
        rel = safe_relative(path, where=f'The layout "{self.root}"')
        full = self.root / rel
        target = resolved(full)
        if target.is_relative_to(self._resolved):
            return full, None
        blob = _BLOB_PATH.fullmatch(rel)
        if blob is not None:
            try:
                return full, Digest(blob.group(1), blob.group(2))
            except InvalidDigest:
                pass  # no digest to check it against: refused like any other path
        raise InvalidLayout(
            f'"{full}" is a link that leads outside the layout "{self.root}"; '
            "refusing to read it."
        )

    def _regular(self, path: str) -> tuple[Path, Digest | None]:
        """The file for ``path`` (see :meth:`_path`); FileNotFoundError when there is none,
        a sentence when it cannot be looked at (permissions)."""
        full, digest = self._path(path)
        try:
            if not full.is_file():
                raise FileNotFoundError(str(full))
        except PermissionError as exc:
            raise TransportError(describe_os_error(exc, full)) from exc
        return full, digest

    def open(self, path: str, *, cancel: CancelToken | None = None,
             size: int | None = None) -> IO[bytes]:
        """Open a file; a blob linked from outside the folder only once it proved to be
        the blob (``cancel`` is checked while it is hashed; one of another ``size`` than
        its descriptor's is refused before it is read)."""
        full, digest = self._regular(path)
        try:
            stream = full.open("rb")
        except PermissionError as exc:
            raise TransportError(describe_os_error(exc, full)) from exc
        if digest is None:
            return stream
        try:
            self._check_linked_blob(stream, full, digest, cancel, size)
        except BaseException:
            stream.close()
            raise
        return stream

    def head(self, path: str, size: int) -> bytes:
        full, _digest = self._regular(path)
        try:
            with full.open("rb") as stream:
                return stream.read(size)
        except OSError as exc:
            raise TransportError(describe_os_error(exc, full)) from exc

    def _check_linked_blob(
        self, stream: IO[bytes], full: Path, digest: Digest, cancel: CancelToken | None,
        size: int | None = None,
    ) -> None:
        """Hash the open file, then rewind it; DigestMismatch when it is not the blob (at
        once, from its size, when that is not ``size``)."""
        try:
            actual_size = os.fstat(stream.fileno()).st_size
        except OSError as exc:
            raise TransportError(describe_os_error(exc, full)) from exc
        if size is not None and actual_size != size:
            raise DigestMismatch(
                f'The blob "{full}" of the layout "{self.root}" is a link to '
                f'"{full.resolve()}", outside the layout, of {actual_size:,} bytes where its '
                f"descriptor promises {size:,}; refusing to read it."
            )
        hasher = digest.hasher()
        try:
            while True:
                check(cancel)
                chunk = stream.read(CHUNK_SIZE)
                if not chunk:
                    break
                hasher.update(chunk)
            stream.seek(0)
        except OSError as exc:
            raise TransportError(describe_os_error(exc, full)) from exc
        actual = Digest(digest.algorithm, hasher.hexdigest())
        if actual != digest:
            raise DigestMismatch(
                f'The blob "{full}" of the layout "{self.root}" is a link to '
                f'"{full.resolve()}", outside the layout, whose content does not match its '
                f"digest: expected {digest}, got {actual}; refusing to read it."
            )

    def exists(self, path: str) -> bool:
        try:
            self._regular(path)
        except FileNotFoundError:
            return False
        return True

    def size(self, path: str) -> int:
        return self._regular(path)[0].stat().st_size

    def close(self) -> None:
        pass


class NotRegularFile(OSError):
    """:func:`open_regular` found something else than a regular file (a FIFO, a device,
    a folder) where a file was expected."""


def open_regular(path: Path) -> IO[bytes]:
    """Open ``path`` (links followed) to read it, when it is a regular file.

    MUST be used for a small file of a layout or image folder that is read whole: a
    FIFO there made ``open()`` wait for a writer for ever (a device reads without end).
    It is opened without waiting and looked at before anything is read; else
    :class:`NotRegularFile`. Other OSErrors (FileNotFoundError, …) pass through."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def blob_path(digest: Digest) -> str:
    """Where an OCI layout keeps a blob: ``blobs/<alg>/<hex>``."""
    return f"blobs/{digest.algorithm}/{digest.hex}"


def _open(
    tree: FileTree, path: str, digest: Digest, cancel: CancelToken | None = None,
    size: int | None = None,
) -> IO[bytes]:
    try:
        return tree.open(path, cancel=cancel, size=size)
    except FileNotFoundError:
        if isinstance(tree, DirTree) and os.path.lexists(tree.root / path):
            raise BlobNotFound(  # (still missing as a blob: nothing else is read instead)
                f"The blob {digest} in {tree.description} is not a regular file (at {path}: "
                "a FIFO, a device, a folder, or a link to one or to nothing); it cannot be "
                "read.") from None
        raise BlobNotFound(
            f"The blob {digest} is missing from {tree.description} (expected at {path})."
        ) from None
    except OSError as exc:
        raise TransportError(describe_os_error(exc, f"{tree.description}: {path}")) from exc


def open_verified(
    tree: FileTree,
    path: str,
    digest: Digest,
    size: int | None,
    *,
    cancel: CancelToken | None = None,
) -> VerifyingReader:
    """Open ``path`` in ``tree`` as a stream verified against ``digest`` and ``size``."""
    return VerifyingReader(
        _open(tree, path, digest, cancel, size),
        digest,
        size,
        what=f"The blob {path} in {tree.description}",
        cancel=cancel,
    )


def read_small_blob(
    tree: FileTree,
    path: str,
    digest: Digest,
    size: int | None,
    *,
    what: str,
    cancel: CancelToken | None = None,
) -> bytes:
    """Read a manifest or config whole: verified, and refused above 4 MiB."""
    stream = _open(tree, path, digest, cancel, size)
    try:
        return read_verified(
            stream, digest, size, limit=MAX_MANIFEST_SIZE, what=what, cancel=cancel
        )
    except OSError as exc:
        raise TransportError(describe_os_error(exc, f"{tree.description}: {path}")) from exc
    finally:
        stream.close()


def resolved(path: Path) -> Path:
    """``path`` with its symbolic links followed (``Path.resolve``), refused with a
    sentence when they go round in a loop."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:  # Python < 3.13 says a loop with RuntimeError
        raise InvalidLayout(
            f'"{path}" is a symbolic link that leads back to itself (a loop of links); '
            "name the file or folder itself."
        ) from exc


def describe_os_error(exc: OSError, path: Path | str) -> str:
    """A sentence for an OSError on ``path``."""
    reason = exc.strerror or str(exc)
    return f'Cannot read "{path}": {reason}{"" if reason.endswith(".") else "."}'


# --------------------------------------------------------------------------- write side
#
# What every local destination shares: blobs streamed into a temporary file in the
# destination folder and renamed into place once verified (containers/image
# oci/layout/oci_dest.go, PutBlobWithOptions), small files replaced atomically, the
# inter-process lock that serializes index.json updates, and the record of blobs a
# destination has written or verified in one copy.

TEMP_PREFIX: Final = ".spyglass-tmp-"
"""The name prefix of every temporary file or folder a local destination creates."""

LOCAL_ORPHAN_AGE: Final = 10.0
""":data:`ORPHAN_AGE` on a filesystem of this machine alone (:func:`on_local_filesystem`):
there every copy that could be writing takes its claim, which the kernel lets go when the
copy ends, so an unclaimed temporary older than the moment between its making and its
claim is an orphan — a copy run again after a ``kill -9`` reclaims the space at once."""

ORPHAN_AGE: Final = 15 * 60.0
"""Seconds an unclaimed temporary (and everything in it) must have been left unchanged
before :func:`sweep_orphans` removes it where another machine may be writing the folder
(a network filesystem, or one not recognised): a copy there may hold its claim where
this machine cannot see it, and the age spares what it is still writing."""

_LOCK_POLL: Final = 0.02


def describe_write_error(exc: OSError, path: Path | str) -> str:
    """A sentence for an OSError while writing ``path``.

    It names what the user named, not the copy's own temporary files, staging
    folders and lock files (``.a.tar.spyglass-tmp-x/.spyglass-tmp-y`` is ``a.tar``), and
    says which part of the path is a file where a folder should be."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    shown = _user_path(Path(path))
    if exc.errno == errno.ENOSPC and out_of_inodes(Path(path)):
        reason = ("its filesystem has no file entries (inodes) left, though it may have room "
                  "for data")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        for ancestor in [shown, *shown.parents]:
            if ancestor == shown and exc.errno == errno.EEXIST:
                continue
            try:
                if ancestor.exists() and not ancestor.is_dir():
                    return f'Cannot write "{shown}": "{ancestor}" is a file, not a folder.'
            except OSError:
                break
    return f'Cannot write "{shown}": {reason}{"" if reason.endswith(".") else "."}'


def out_of_inodes(path: Path) -> bool:
    """Whether the filesystem ``path`` (or the nearest folder of it that is there) is on
    has run out of inodes: ENOSPC says the same for both kinds of room."""
    for folder in [path, *path.parents]:
        try:
            found = os.statvfs(folder)
        except OSError:
            continue
        return found.f_files > 0 and found.f_favail == 0
    return False


def _user_path(path: Path) -> Path:
    """``path`` without the copy's own parts: a temporary file or staging folder is
    shown as what it becomes (or the folder it is in), a lock file as its folder."""
    parts = list(path.parts)
    for number, part in enumerate(parts):
        if TEMP_PREFIX in part:
            stem = part.split(TEMP_PREFIX, 1)[0]
            # ".NAME.spyglass-tmp-…" stages NAME; ".spyglass-tmp-…" is a file in its folder
            kept = parts[:number] + ([stem[1:]] if stem.startswith(".") and stem != "." else [])
            return Path(*kept) if kept else path
    if path.name.endswith(".lock"):
        return path.parent
    return path


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (renames into it) to disk; a no-op where that is unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# A temporary is *claimed* by its process for its whole life: an exclusive flock on
# it, held through a descriptor of its own, which the kernel releases when the
# process ends, however it ends. A temporary nobody can claim any more is an orphan
# of a killed copy; the next copy into the same place removes it.


def _claim(fd: int) -> int | None:
    """A new descriptor of ``fd``'s file holding an exclusive flock on it while it is open.

    Closing ``fd`` keeps the claim (the two share one open file); closing the
    returned descriptor, or the process ending, releases it. None where the
    filesystem has no locks: such a temporary is never swept.
    """
    try:
        held = os.dup(fd)
    except OSError:
        return None
    # a copy looking whether others are at work holds a shared lock on each temporary
    # for a moment (claimed_by_others): wait that out rather than go unclaimed
    for _ in range(_CLAIM_TRIES):
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return held
        except BlockingIOError:
            time.sleep(0.001)
        except OSError:
            break  # a filesystem without locks
    os.close(held)
    return None


_CLAIM_TRIES: Final = 200
"""How many times a new temporary's claim is tried, a millisecond apart."""


def _release(claim: int | None) -> None:
    if claim is not None:
        os.close(claim)


_LOCAL_FILESYSTEMS: Final = frozenset({
    "ext2", "ext3", "ext4", "xfs", "btrfs", "bcachefs", "f2fs", "jfs", "reiserfs",
    "nilfs2", "zfs", "tmpfs", "ramfs", "overlay", "vfat", "exfat", "ntfs3", "hfsplus",
})
"""Filesystems whose folders only this machine writes (network and FUSE ones are not)."""


def on_local_filesystem(folder: Path) -> bool:
    """Whether ``folder`` is on a filesystem of this machine alone, by the mount that holds
    it in ``/proc/self/mountinfo``; False when that cannot be told (no ``/proc``)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mounts:
            kind = filesystem_of(os.path.realpath(folder), mounts.read())
    except OSError:
        return False
    return kind in _LOCAL_FILESYSTEMS


_MOUNTINFO_ESCAPE: Final = re.compile(r"\\([0-7]{3})")


def filesystem_of(path: str, mountinfo: str) -> str | None:
    """The type of the filesystem whose mount point is the longest one ``path`` (absolute,
    links resolved) is in, by a ``/proc/self/mountinfo`` text; None when none is. (By
    path, not device number: a btrfs subvolume's files have a device number of their own
    that mountinfo does not show.)"""
    best: tuple[int, str] | None = None
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if len(fields) < 5 or " - " not in line:
            continue
        point = _MOUNTINFO_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4])
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= best[0]):  # later mounts hide earlier
            best = (len(point), line.split(" - ", 1)[1].split(" ", 1)[0])
    return best[1] if best else None


def sweep_orphans(
    folder: Path, prefix: str = TEMP_PREFIX, *, keep: tuple[str, ...] = (),
    min_age: float | None = None,
) -> list[Path]:
    """Remove the temporaries in ``folder`` whose names start with ``prefix`` and that no
    process claims; return what was removed.

    A temporary is removed only when this process can take its flock (the
    process that made it is gone) and neither it nor anything in it has
    changed for ``min_age`` seconds (default: :data:`LOCAL_ORPHAN_AGE` on a
    filesystem of this machine alone, else :data:`ORPHAN_AGE`: on filesystems
    whose locks are local to one machine, a copy running elsewhere is spared by
    that age alone). Names
    starting with ``prefix`` plus one of ``keep`` stay whatever their state.
    Best effort: anything that cannot be looked at, opened, locked or removed
    is left where it is, and nothing is raised.
    """
    removed: list[Path] = []
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix)]
    except OSError:
        return removed
    if not names:
        return removed
    if min_age is None:
        min_age = LOCAL_ORPHAN_AGE if on_local_filesystem(folder) else ORPHAN_AGE
    now = time.time()
    for name in names:
        if any(name.startswith(prefix + kept) for kept in keep):
            continue
        path = folder / name
        try:
            seen = os.lstat(path)
            if now - _last_change(path, seen) < min_age:
                continue
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            is_dir = stat.S_ISDIR(st.st_mode)
            if (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino) or not (
                is_dir or stat.S_ISREG(st.st_mode)
            ):
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if _posix_locked(fd, path if is_dir else None):
                continue  # a copy on another machine, through this one's file server
            if is_dir:
                shutil.rmtree(path)
            else:
                os.unlink(path)
            removed.append(path)
        except OSError:
            continue  # claimed by a live copy, or not ours to remove
        finally:
            os.close(fd)
    if removed:
        log.info("Removed %d temporaries a stopped copy left in %s.", len(removed), folder)
    return removed


def _posix_locked(fd: int, folder: Path | None) -> bool:
    """Whether a POSIX lock is held on the file ``fd`` is open on, or on a file in
    ``folder``: a copy on a machine this one serves the folder to (NFS, Samba) claims
    its temporaries with locks that arrive here as POSIX locks, which ``flock`` does not
    see. (This process holds none of its own, so taking one for a moment costs nothing.)"""
    def held(descriptor: int) -> bool:
        try:
            fcntl.lockf(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except (BlockingIOError, PermissionError):
            return True
        except OSError:
            return False  # no POSIX locks here: nothing to see
        return False

    if folder is None:
        return held(fd)
    for root, _dirs, names in os.walk(folder):
        for name in names:
            try:
                inner = os.open(os.path.join(root, name),
                                os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if held(inner):
                    return True
            finally:
                os.close(inner)
    return False


def claimed_by_others(folder: Path, mine: Collection[Path] = ()) -> bool:
    """Whether a live copy (of this process or another) claims a temporary in ``folder``
    other than ``mine``: another copy is at work there. Best effort: on a filesystem
    without locks nothing is ever claimed, so this says False."""
    try:
        names = [n for n in os.listdir(folder) if n.startswith(TEMP_PREFIX)]
    except OSError:
        return False
    for name in names:
        path = folder / name
        if path in mine:
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # conflicts with a claim
        except BlockingIOError:
            return True
        except OSError:
            continue
        finally:
            os.close(fd)  # (releases what it took)
    return False


def _last_change(path: Path, st: os.stat_result) -> float:
    """When ``path`` last changed: for a folder, the newest change of anything in it (a
    folder's own time does not move while a file in it is written)."""
    newest = st.st_mtime
    if stat.S_ISDIR(st.st_mode):
        for root, dirs, files in os.walk(path):
            for entry in (*dirs, *files):
                try:
                    newest = max(newest, os.lstat(os.path.join(root, entry)).st_mtime)
                except OSError:
                    continue
    return newest


class TempFiles:
    """The temporary files one destination has open in a folder, so abort can remove them.

    Thread-safe. Each file is claimed while it is tracked (see
    :func:`sweep_orphans`). Each blob writer removes its own file when it
    fails; :meth:`remove_all` catches what is left when a copy is torn down
    mid-write.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file_mode = new_file_mode()
        """The mode a new file gets once written (the umask is read here, once)."""
        self._lock = threading.Lock()
        self._paths: dict[Path, int | None] = {}

    def create(self, kind: str = "") -> tuple[int, Path]:
        """A new temporary file in the folder (``.spyglass-tmp-KIND…``): ``(fd, path)``;
        OSError when it cannot be made."""
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX + kind, dir=self.folder)
        path = Path(name)
        claim = _claim(fd)
        with self._lock:
            self._paths[path] = claim
        return fd, path

    def forget(self, path: Path) -> None:
        """Stop tracking ``path`` (renamed into place, or removed), and release its claim."""
        with self._lock:
            claim = self._paths.pop(path, None)
        _release(claim)

    def discard(self, path: Path) -> None:
        """Remove ``path`` if it is still there, and stop tracking it."""
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            pass  # best effort: the folder may have become read-only
        self.forget(path)

    def remove_all(self) -> None:
        """Remove every temporary file still tracked. Safe to call twice."""
        with self._lock:
            paths = list(self._paths)
        for path in paths:
            self.discard(path)


class TempFolder:
    """A hidden folder beside ``NAME`` in ``parent`` (``.NAME.spyglass-tmp-*``, same
    filesystem), claimed while it is open: where a ``dir:`` or archive destination builds
    what it renames into place at the end.

    Making one first sweeps the orphans of earlier copies to ``NAME`` out of
    ``parent`` (never a ``…old-*`` folder, which can hold the only copy of an
    image a killed swap moved aside). Raises ``OSError`` when the folder cannot
    be made.

    ``prefix`` replaces ``.NAME.spyglass-tmp-`` for a folder that stages nothing
    (a compressed archive decompressed, in the folder for big temporary files):
    it is visible, named for what it is, and swept of orphans the same way.
    """

    def __init__(self, parent: Path, name: str, *, prefix: str | None = None) -> None:
        prefix = f".{name}{TEMP_PREFIX}" if prefix is None else prefix
        sweep_orphans(parent, prefix, keep=("old-",))
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            self._claim = None
        else:
            self._claim = _claim(fd)
            os.close(fd)

    def release(self) -> None:
        """Give up the claim (the folder was renamed into place or removed). Safe to call twice."""
        claim, self._claim = self._claim, None
        _release(claim)

    def remove(self) -> None:
        """Remove the folder and what it holds (best effort), and give up the claim."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()


class KnownBlobs:
    """The blobs a destination wrote or verified during one copy: digest → size.

    A blob in here is trusted without hashing it again; :meth:`guard` gives a
    lock per digest so that two threads asking about one blob hash it once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sizes: dict[Digest, int] = {}
        self._guards: dict[Digest, threading.Lock] = {}

    def size(self, digest: Digest) -> int | None:
        """The size of a known blob, or None when it is not known."""
        with self._lock:
            return self._sizes.get(digest)

    def add(self, digest: Digest, size: int) -> None:
        with self._lock:
            self._sizes[digest] = size

    def __contains__(self, digest: object) -> bool:
        with self._lock:
            return digest in self._sizes

    def digests(self) -> list[Digest]:
        """Every blob known so far."""
        with self._lock:
            return list(self._sizes)

    def guard(self, digest: Digest) -> threading.Lock:
        """The lock that serializes checking and writing the blob ``digest``."""
        with self._lock:
            return self._guards.setdefault(digest, threading.Lock())


def file_matches(
    path: Path, digest: Digest, size: int | None, *, cancel: CancelToken | None = None
) -> bool:
    """True when ``path`` is a regular file (not a link) of ``size`` bytes hashing to ``digest``.

    Hashes the whole file in chunks, checking ``cancel`` between them. Never
    raises for a missing or unreadable file (that is simply no match); raises
    :class:`~spyglass.core.errors.Cancelled` when cancelled.
    """
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or (size is not None and st.st_size != size):
            return False
        hasher = digest.hasher()
        seen = 0
        with path.open("rb") as stream:
            while True:
                check(cancel)
                chunk = stream.read(CHUNK_SIZE)
                if not chunk:
                    break
                seen += len(chunk)
                hasher.update(chunk)
    except OSError:
        return False
    return (size is None or seen == size) and hasher.hexdigest() == digest.hex


def write_blob(
    stream: Readable,
    *,
    temps: TempFiles,
    target: Callable[[Digest], Path],
    digest: Digest | None,
    size: int | None,
    what: str,
    cancel: CancelToken | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[Digest, int]:
    """Stream a blob into place atomically; return its ``(digest, size)``.

    The bytes go into a temporary file in ``temps.folder`` (the destination's
    own folder, so the final rename stays on one filesystem), hashed and
    counted as they flow; nothing is held in memory beyond one chunk. With
    ``digest`` given they must hash to it (with ``size`` given, be exactly
    that long: an over-long stream fails as soon as the excess is seen); with
    ``digest`` None the sha256 is computed. Then the file is synced, given
    ``temps.file_mode`` (0644 less the umask) and renamed to ``target(digest)``, whose
    folder is made if missing. ``cancel`` is checked before every chunk.

    On any failure — the stream raising, :class:`SizeMismatch`,
    :class:`DigestMismatch`, :class:`Cancelled`, a disk error (raised as
    :class:`TransportError` with a sentence) — the temporary file is removed
    and nothing appears at the target.
    """
    try:
        fd, temp = temps.create()
    except OSError as exc:
        raise TransportError(describe_write_error(exc, temps.folder)) from exc
    hasher = digest.hasher() if digest is not None else hashlib.sha256()
    algorithm = digest.algorithm if digest is not None else "sha256"
    # A stream that verifies ``digest`` itself raises before its end on a mismatch:
    # hashing it here too only doubled the CPU cost of every blob.
    hashed_by_stream = verifies_itself(stream, digest, size, cancel)
    seen = 0
    done = False
    # One buffer for the whole blob, lent by the pool: a fresh bytes object per
    # chunk costs page faults and allocator work that outweighed the hashing.
    # It is filled before it is written, so that a big blob goes to the disk in
    # whole aligned chunks past the page cache (see spyglass.core.directio).
    try:
        with BUFFERS.lend(CHUNK_SIZE) as buffer, os.fdopen(fd, "wb", buffering=0) as out:
            writer = DirectWriter(fd, direct=size is None or size >= CHUNK_SIZE)
            filled = 0
            while True:
                check(cancel)
                try:
                    count = read_into(stream, buffer[filled:])
                except SpyglassError:
                    raise
                except OSError as exc:
                    reason = exc.strerror or str(exc) or type(exc).__name__
                    raise TransportError(
                        f"{what} could not be read: {reason.rstrip('.')}. Nothing was stored."
                    ) from exc
                if count:
                    seen += count
                    if size is not None and seen > size:
                        raise SizeMismatch(
                            f"{what} is longer than the {size} bytes its descriptor promises; "
                            "nothing was stored."
                        )
                    if not hashed_by_stream:
                        hasher.update(buffer[filled : filled + count])
                    filled += count
                    if progress is not None:
                        progress(count)
                    if filled < len(buffer):
                        continue
                if filled:
                    try:
                        writer.write(buffer[:filled])
                    except OSError as exc:
                        raise TransportError(describe_write_error(exc, temp)) from exc
                    filled = 0
                if not count:
                    break
            if size is not None and seen != size:
                raise SizeMismatch(
                    f"{what} has {seen} bytes but its descriptor promises {size}; "
                    "nothing was stored."
                )
            if hashed_by_stream:
                assert digest is not None
                actual = digest  # the stream's empty read came only after its check passed
            else:
                actual = Digest(algorithm, hasher.hexdigest())
            if digest is not None and actual != digest:
                raise DigestMismatch(
                    f"{what} does not match its digest: expected {digest}, got {actual}. "
                    "The content is corrupt or was tampered with; nothing was stored."
                )
            try:
                out.flush()
                os.fsync(out.fileno())
                os.fchmod(out.fileno(), temps.file_mode)
            except OSError as exc:
                raise TransportError(describe_write_error(exc, temp)) from exc
        final = target(actual)
        try:
            # its own folder only (a layout's blobs/sha256): a destination deleted under
            # the copy is not made again as an empty skeleton
            final.parent.mkdir(FOLDER_MODE, exist_ok=True)
            os.rename(temp, final)
        except OSError as exc:
            raise TransportError(describe_write_error(exc, final)) from exc
        done = True
        return actual, seen
    finally:
        if done:
            temps.forget(temp)
        else:
            temps.discard(temp)


def put_blob_file(
    stream: Readable,
    *,
    temps: TempFiles,
    target: Callable[[Digest], Path],
    known: KnownBlobs,
    name: str,
    media_type: str,
    digest: Digest | None,
    size: int | None,
    cancel: CancelToken | None = None,
    progress: Callable[[int], None] | None = None,
) -> Descriptor:
    """``put_blob`` of a destination that keeps each blob in a file of its own
    (:func:`write_blob` into ``target``), remembered in ``known``; ``name`` is the
    destination as people named it, for the sentences."""
    what = f"The blob {digest} for {name}" if digest else f"A blob for {name}"
    written, length = write_blob(
        stream, temps=temps, target=target, digest=digest, size=size, what=what,
        cancel=cancel, progress=progress,
    )
    known.add(written, length)
    return Descriptor(media_type, written, length)


def _keep_access(fd: int, existing: os.stat_result | None, mode: int) -> None:
    """Give the new file the mode (and, where allowed, the owner) of the file it
    replaces, so a private ``index.json`` stays private; a new one gets ``mode``."""
    if existing is None:
        os.fchmod(fd, mode)
        return
    os.fchmod(fd, stat.S_IMODE(existing.st_mode))
    if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(fd, existing.st_uid, existing.st_gid)
        except OSError:
            pass  # not ours to give away; the mode is kept all the same


def check_replaceable(path: Path, existing: os.stat_result, shown: Path | str | None = None,
                      ) -> None:
    """Refuse to replace ``path`` (a file, or a folder whose contents go) that this user
    may not write. A rename over it needs only the right to write its folder, but a tool
    writing in place (skopeo) needs the right to write it, and a read-only file, or
    another user's, is not ours to replace; root may, as root may write it.
    :class:`TransportError` names ``shown`` (default: ``path``)."""
    folder = stat.S_ISDIR(existing.st_mode)
    effective = os.access in os.supports_effective_ids  # the user the process acts as
    if os.access(path, os.W_OK | (os.X_OK if folder else 0), effective_ids=effective):
        return
    what = "folder" if folder else "file"
    why = (f"the {what} is read-only" if existing.st_uid == os.geteuid()
           else f"the {what} belongs to another user")
    raise TransportError(describe_write_error(
        PermissionError(errno.EACCES, f"{why} (Permission denied)"),
        path if shown is None else shown))


def replace_file(path: Path, data: bytes, *, temps: TempFiles | None = None) -> None:
    """Replace ``path`` with ``data`` atomically: a temporary file beside it, synced, renamed.

    A reader sees the old content or the new, never a mix; a failure leaves
    the old file as it was. The new file keeps the old one's mode and owner (a file
    not there before gets 0644 less the umask); a read-only file is not replaced.
    Raises :class:`TransportError` with a sentence.
    """
    tracker = temps if temps is not None and temps.folder == path.parent else TempFiles(path.parent)
    try:
        existing: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise TransportError(describe_write_error(exc, path)) from exc
    if existing is not None:
        check_replaceable(path, existing)
    try:
        fd, temp = tracker.create()
    except OSError as exc:
        raise TransportError(describe_write_error(exc, path)) from exc
    done = False
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
            _keep_access(out.fileno(), existing, tracker.file_mode)
        os.replace(temp, path)
        done = True
    except OSError as exc:
        raise TransportError(describe_write_error(exc, path)) from exc
    finally:
        if done:
            tracker.forget(temp)
        else:
            tracker.discard(temp)
    fsync_dir(path.parent)


@contextmanager
def exclusive_lock(
    lock_path: Path, *, what: str, cancel: CancelToken | None = None,
    wait: float | None = None,
) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` for the ``with`` block; the file is
    created for it and removed again, so a layout keeps no trace of being written.

    The lock is advisory and between processes (and between threads, each
    of which opens the file anew): every Spyglass writer of one layout takes
    it around its read-modify-write of ``index.json``. The holder removes the
    file before it lets go, so a writer that was waiting may find itself
    holding the lock on a file no longer there (or replaced by another
    writer's): it then starts again with the file now at that name. Only the
    writer holding the file that is at the name holds the lock. A file left
    by a killed writer is just taken, and so is one this user may not write (another
    user's, left by ``sudo``): ``flock`` needs only a descriptor open for reading.
    With ``cancel``, waiting polls the token and raises
    :class:`~spyglass.core.errors.Cancelled`; with ``wait``, after that many seconds it
    raises :class:`~spyglass.core.errors.LockHeld`. ``what`` names the place in error
    sentences.
    """
    deadline = None if wait is None else time.monotonic() + wait
    while True:
        fd = _open_lock(lock_path)
        try:
            _lock_fd(fd, lock_path, what, cancel, deadline)
            try:
                held = os.path.samestat(os.fstat(fd), os.stat(lock_path))
            except FileNotFoundError:
                held = False
            if held:
                try:
                    yield
                finally:
                    _remove_if_ours(fd, lock_path)
                return
        finally:
            os.close(fd)  # closing the only descriptor releases the lock


def _remove_if_ours(fd: int, lock_path: Path) -> None:
    """Remove the lock file, if the name still leads to the one ``fd`` holds (only a
    holder removes it, so while ``fd`` holds it no other writer can have; the block
    itself may have, removing the folder it was in). One left is taken next time."""
    with contextlib.suppress(OSError):
        if os.path.samestat(os.fstat(fd), os.stat(lock_path)):
            os.unlink(lock_path)


def _open_lock(lock_path: Path) -> int:
    """A descriptor of the lock file, made if need be; read-only when this user may not
    write one that is there."""
    try:
        return os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except PermissionError as exc:
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(lock_path).st_mode):
                return os.open(lock_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        raise TransportError(describe_write_error(exc, lock_path)) from exc
    except OSError as exc:
        raise TransportError(describe_write_error(exc, lock_path)) from exc


def _lock_fd(fd: int, lock_path: Path, what: str, cancel: CancelToken | None,
             deadline: float | None) -> None:
    try:
        if cancel is None and deadline is None:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if cancel is not None:
                    check(cancel)
                if deadline is not None and time.monotonic() >= deadline:
                    raise LockHeld(f'{what} is being written by another program, which '
                                   f'holds "{lock_path}".') from None
                time.sleep(_LOCK_POLL)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise TransportError(
            f'{what} cannot be locked for writing ("{lock_path}"): {reason.rstrip(".")}.'
        ) from exc
