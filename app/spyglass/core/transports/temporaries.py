"""The temporary files and folders of local destinations: named, claimed, swept.

A destination writes each blob, and each small file it replaces, into a temporary
beside its target (``.spyglass-tmp-…``, :data:`TEMP_PREFIX`), and builds a ``dir:``
or archive destination in a hidden folder (:class:`TempFolder`). :class:`TempFiles`
tracks what one destination has open, so abort can remove it. Each temporary is
claimed by its process while it lives; what no live process claims is an orphan of
a killed copy, which the next copy into the same place removes (:func:`sweep_orphans`;
:func:`claimed_by_others` tells whether another copy is at work there).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Collection
from pathlib import Path
from typing import Final

from spyglass.core.filemodes import new_file_mode

log = logging.getLogger(__name__)

TEMP_PREFIX: Final = ".spyglass-tmp-"
"""The name prefix of every temporary file or folder a local destination creates."""

LOCAL_ORPHAN_AGE: Final = 10.0
""":data:`ORPHAN_AGE` on a filesystem of this machine alone (:func:`on_local_filesystem`),
for an unclaimed temporary that holds nothing: there every copy that could be writing takes
its claim, which the kernel lets go when the copy ends, so an unclaimed temporary older
than the moment between its making and its claim is an orphan. One that holds anything
(a file with bytes in it, a folder with anything in it) is past that moment whatever its
age — a temporary is claimed before its copy puts anything in it — so it goes once it has
been still for :data:`WRITTEN_ORPHAN_AGE`: a copy run again after a ``kill -9`` gets the
room back."""

WRITTEN_ORPHAN_AGE: Final = 2.0
"""Seconds an unclaimed temporary that holds anything must have been left unchanged, on
a filesystem of this machine alone, before it is taken for an orphan (a killed copy's:
its claim was taken before anything was written in it). Not at once: a folder of this
machine shared with another (NFS without lock forwarding, a virtual machine's share)
may hold a temporary its writer there is filling, whose claim this machine cannot see;
such a writer changes it far more often than this."""

ORPHAN_AGE: Final = 15 * 60.0
"""Seconds an unclaimed temporary (and everything in it) must have been left unchanged
before :func:`sweep_orphans` removes it where another machine may be writing the folder
(a network filesystem, or one not recognised): a copy there may hold its claim where
this machine cannot see it, and the age spares what it is still writing."""


# A temporary is *claimed* by its process for its whole life: an exclusive flock on
# it, held through a descriptor of its own, which the kernel releases when the
# process ends, however it ends. A temporary nobody can claim any more is an orphan
# of a killed copy; the next copy into the same place removes it.


def _claim(fd: int) -> int | None:
    """A new descriptor of ``fd``'s file holding an exclusive flock on it while it is open.

    Closing ``fd`` keeps the claim (the two share one open file); closing the
    returned descriptor, or the process ending, releases it. None where the
    filesystem has no locks: such a temporary is never swept. OSError where it
    has locks but the claim cannot be taken (no descriptor left, or others'
    locks held on throughout the tries): a temporary written unclaimed there
    would be taken for an orphan (see :func:`sweep_orphans`).
    """
    held = os.dup(fd)
    # a copy looking whether others are at work holds a shared lock on each temporary
    # for a moment (claimed_by_others): wait that out rather than go unclaimed
    try:
        for _ in range(_CLAIM_TRIES):
            try:
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return held
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:
                break  # a filesystem without locks
        else:
            raise BlockingIOError(errno.EWOULDBLOCK, "the new temporary could not be "
                                  "claimed: other processes kept it locked")
    except BaseException:
        os.close(held)
        raise
    os.close(held)
    return None


_CLAIM_TRIES: Final = 200
"""How many times a new temporary's claim is tried, a millisecond apart."""


def _release(claim: int | None) -> None:
    if claim is not None:
        os.close(claim)


def claim_path(path: Path) -> int | None:
    """Claim ``path`` (a folder or file) as a temporary is claimed while it lives (see
    :func:`unclaimed`): a descriptor for :func:`release_claim`, None where ``path`` cannot
    be opened or its filesystem has no locks."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return _claim(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def release_claim(claim: int | None) -> None:
    """Give up a claim :func:`claim_path` took."""
    _release(claim)


def unclaimed(path: Path) -> bool:
    """Whether no live process (this one included) claims ``path``: what a killed copy
    left. False where that cannot be told (it cannot be opened, its filesystem has no
    locks)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # (let go with the descriptor)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


def claimed(path: Path) -> bool:
    """Whether a live process (this one included) is seen to claim ``path``: the other side
    of :func:`unclaimed`, for what may go unless claimed (False where it cannot be opened,
    or its filesystem has no locks)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # conflicts with a claim
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # (releases what it took)
    return False


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
    changed for ``min_age`` seconds (default: on a filesystem of this machine
    alone, :data:`WRITTEN_ORPHAN_AGE` for one that holds anything and
    :data:`LOCAL_ORPHAN_AGE` for an empty one, see there; elsewhere
    :data:`ORPHAN_AGE`: on filesystems whose locks are local to one machine, a copy
    running elsewhere is spared by that age alone). Names
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
    # on this machine alone, one that holds anything was claimed before it was written:
    # unclaimed, it is an orphan once it is still for moments (an empty one may not be
    # claimed yet)
    at_once = min_age is None and on_local_filesystem(folder)
    if min_age is None:
        min_age = LOCAL_ORPHAN_AGE if at_once else ORPHAN_AGE
    now = time.time()
    for name in names:
        if any(name.startswith(prefix + kept) for kept in keep):
            continue
        path = folder / name
        try:
            seen = os.lstat(path)
            written = at_once and _holds_anything(path, seen)
            if now - _last_change(path, seen) < (WRITTEN_ORPHAN_AGE if written else min_age):
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


def _holds_anything(path: Path, seen: os.stat_result) -> bool:
    """Whether the temporary ``path`` (``seen`` its ``lstat``) has had anything put in
    it: a file with bytes, a folder with an entry. Its copy claimed it before that."""
    if stat.S_ISREG(seen.st_mode):
        return seen.st_size > 0
    if not stat.S_ISDIR(seen.st_mode):
        return False
    try:
        with os.scandir(path) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


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


def last_change(path: Path) -> float | None:
    """When ``path`` (a file, or a folder and what is in it) last changed, as
    :func:`sweep_orphans` judges an orphan's age; None when it is not there."""
    try:
        return _last_change(path, os.lstat(path))
    except OSError:
        return None


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
        """A new temporary file in the folder (``.spyglass-tmp-KIND…``), claimed:
        ``(fd, path)``; OSError when it cannot be made or claimed."""
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX + kind, dir=self.folder)
        path = Path(name)
        try:
            claim = _claim(fd)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            raise
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
    be made or claimed.

    ``prefix`` replaces ``.NAME.spyglass-tmp-`` for a folder that stages nothing
    (a compressed archive decompressed, in the folder for big temporary files):
    it is visible, named for what it is, and swept of orphans the same way.
    """

    def __init__(self, parent: Path, name: str, *, prefix: str | None = None) -> None:
        prefix = f".{name}{TEMP_PREFIX}" if prefix is None else prefix
        sweep_orphans(parent, prefix, keep=("old-",))
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        try:  # (unclaimed, it would go as an orphan once anything is in it)
            fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                self._claim = _claim(fd)
            finally:
                os.close(fd)
        except OSError:
            with contextlib.suppress(OSError):
                self.path.rmdir()
            raise

    def release(self) -> None:
        """Give up the claim (the folder was renamed into place or removed). Safe to call twice."""
        claim, self._claim = self._claim, None
        _release(claim)

    def remove(self) -> None:
        """Remove the folder and what it holds (best effort), and give up the claim."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.release()
