"""Room for putting an archive together: blobs moved off a filesystem that is short.

An archive is written as a temporary tar beside its final name, from blobs staged
there too; each blob is removed once the tar holds it, so while one goes in it is
on the disk twice. Where the target's filesystem has no room for that (a USB
stick the archive just fits on), the blobs that would not fit twice are moved first
to the folder for big temporary files, when that is on another filesystem with
room for them: the target then needs only the archive's room, as skopeo's does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import CHUNK_SIZE
from spyglass.core.transports.big_files import big_files_folder
from spyglass.core.transports.temporaries import TempFolder

ROOM_PREFIX: Final = "spyglass-archive-blobs-"
"""The folder, in the big-files folder, that holds the blobs moved off a short filesystem."""

MEMBER_ROOM: Final = 4096
"""What a tar member takes besides its data, at most (its header, padding, a pax record)."""

ARCHIVE_ROOM: Final = 256 * 1024
"""What an archive takes besides its blobs' members (the small files, the tar's end)."""


def free_bytes(folder: Path) -> int | None:
    """The bytes this user may still write in ``folder``'s filesystem (None: unknown).

    A filesystem that gives no sizes at all (no blocks: many FUSE filesystems, 9p,
    some network shares) is unknown, not full. The host's root may also write the
    blocks ext2/3/4 keep back for it (5 % by default), which ``df`` leaves out of
    "Avail" (see :func:`_may_use_reserved`)."""
    try:
        info = os.statvfs(folder)
    except OSError:
        return None
    if not info.f_blocks:
        return None
    free = info.f_bfree if _may_use_reserved(folder) else info.f_bavail
    return free * info.f_frsize


RESERVING_FILESYSTEMS: Final = frozenset({"ext2", "ext3", "ext4"})
"""The filesystems whose blocks kept back (``f_bfree`` beyond ``f_bavail``) root may write.
Others keep none for root: btrfs's ``f_bfree`` counts room only its metadata may use."""


def _may_use_reserved(folder: Path) -> bool:
    """Whether this process may write the blocks ``folder``'s filesystem keeps back: on
    ext2/3/4, the host's root may (the filesystem's reserved-blocks user, 0 unless
    ``tune2fs -u`` says otherwise). A root in a user namespace (a rootless container,
    ``unshare -r``) is another user of the host's, and ``fakeroot``'s is no root at all:
    the kernel gives neither of them those blocks."""
    return host_fsuid() == 0 and filesystem_type(folder) in RESERVING_FILESYSTEMS


def host_fsuid() -> int | None:
    """The user this process writes files as, as the host's kernel knows it: the
    filesystem uid ``/proc/self/status`` gives, mapped through ``/proc/self/uid_map``
    out of any user namespace; where there is no ``/proc``, the effective uid."""
    try:
        status = Path("/proc/self/status").read_text()
        uid_map = Path("/proc/self/uid_map").read_text()
    except OSError:
        geteuid = getattr(os, "geteuid", None)
        return geteuid() if geteuid is not None else None
    return host_uid(status, uid_map)


def host_uid(status: str, uid_map: str) -> int | None:
    """The host's uid of the filesystem uid in ``status`` (``/proc/PID/status``), mapped
    through ``uid_map`` (``/proc/PID/uid_map``: lines of inside, outside, count); None
    where either says nothing readable or the uid is not mapped."""
    fsuid: int | None = None
    for line in status.splitlines():
        if line.startswith("Uid:"):
            fields = line.split()
            if len(fields) == 5 and fields[4].isdigit():
                fsuid = int(fields[4])  # real, effective, saved, filesystem
            break
    if fsuid is None:
        return None
    for line in uid_map.splitlines():
        fields = line.split()
        if len(fields) != 3 or not all(field.isdigit() for field in fields):
            continue
        inside, outside, count = (int(field) for field in fields)
        if inside <= fsuid < inside + count:
            return outside + fsuid - inside
    return None


def filesystem_type(folder: Path) -> str | None:
    """The type of the filesystem ``folder`` is on (``ext4``, ``btrfs``, …), as
    ``/proc/self/mountinfo`` names it for its device; None where that cannot be said."""
    try:
        device = os.stat(folder).st_dev
        mounts = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return None
    return mount_type(mounts, os.major(device), os.minor(device))


def mount_type(mountinfo: str, major: int, minor: int) -> str | None:
    """The filesystem type ``mountinfo`` (``/proc/PID/mountinfo``) gives for the device
    ``major:minor``; None where no mount of it is listed."""
    wanted = f"{major}:{minor}"
    for line in mountinfo.splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[2] == wanted and "-" in fields[6:]:
            after = fields.index("-", 6)
            if after + 1 < len(fields):
                return fields[after + 1]
    return None


def archive_needs(sizes: Sequence[int], staging: Path, *, streamed: bool = False) -> int:
    """About the room an archive of blobs of ``sizes`` takes in ``staging``'s filesystem
    while it is put together: the archive's (the blobs, their members' headers, the small
    files), and the largest blob's once more while it goes in, unless :func:`make_room`
    could move it to the folder for big temporary files on another filesystem with room
    for it. ``streamed``: an archive for a pipe, whose tar goes to the pipe, not the disk:
    only its staged blobs take room."""
    archive = sum(sizes) + ARCHIVE_ROOM + MEMBER_ROOM * len(sizes)
    largest = max(sizes, default=0)
    if streamed or not largest:
        return archive
    spare = big_files_folder()
    other = _device(spare)
    if other is not None and other != _device(staging) and (
            free_bytes(spare) or 0) >= largest + ARCHIVE_ROOM:
        return archive
    return archive + largest


def _device(path: Path) -> int | None:
    try:
        return os.stat(path).st_dev
    except OSError:
        return None


@dataclass
class Relocation:
    """The blobs moved off the target's filesystem (staged path → where it is now)."""

    moved: dict[Path, Path] = field(default_factory=dict)
    folder: TempFolder | None = None
    unmoved: str | None = None
    """Why blobs that would not fit twice stayed (None: none had to move, or all did)."""

    def where(self, path: Path) -> Path:
        return self.moved.get(path, path)

    def remove(self) -> None:
        if self.folder is not None:
            self.folder.remove()
            self.folder = None


def make_room(blobs: Sequence[Path], target: Path, *, name: str,
              cancel: CancelToken | None) -> Relocation:
    """Move the staged ``blobs`` (each removed once the tar that goes to ``target``
    holds it) that the target's filesystem has no room for twice to the folder for big
    temporary files, when that is on another filesystem with room for them. Nothing is
    moved where there is room, or where it cannot be said (no ``statvfs``)."""
    relocation = Relocation()
    sizes: dict[Path, int] = {}
    for blob in blobs:
        try:
            sizes[blob] = blob.stat().st_size
        except OSError:
            continue
    free = free_bytes(target.parent)
    if free is None or not sizes:
        return relocation
    headroom = free - ARCHIVE_ROOM - MEMBER_ROOM * len(sizes)
    # a blob that stays needs its own size free while it goes in (see the module's doc);
    # one moved needs nothing more than its part of the archive
    wanted = [blob for blob, size in sizes.items() if size > headroom]
    if not wanted:
        return relocation
    needed = sum(sizes[blob] for blob in wanted)
    spare = big_files_folder()
    other = _device(spare)
    if other is None or other == _device(target.parent):
        relocation.unmoved = "same"
        return relocation
    room = free_bytes(spare)
    if room is None or room < needed + ARCHIVE_ROOM:
        relocation.unmoved = "full"
        return relocation
    try:
        relocation.folder = TempFolder(spare, name, prefix=ROOM_PREFIX)
    except OSError:
        relocation.unmoved = "full"
        return relocation
    try:
        _move(wanted, relocation, relocation.folder.path, cancel)
    except BaseException:
        # cancelled, interrupted or failed midway: the caller never gets this relocation
        # to clean up, so its folder goes now, with the blobs moved and the one half-moved
        relocation.remove()
        raise
    return relocation


def _move(wanted: Sequence[Path], relocation: Relocation, folder: Path,
          cancel: CancelToken | None) -> None:
    """Move the ``wanted`` blobs into ``folder``, recording each in ``relocation``; stop
    at the first that does not fit (those moved stay moved: the tar reads them there)."""
    for number, blob in enumerate(wanted):
        check(cancel)
        moved = folder / str(number)
        try:
            _copy(blob, moved, cancel)
        except OSError:
            # those moved stay moved (the tar reads them there); these stay, and may fit
            moved.unlink(missing_ok=True)
            relocation.unmoved = "full"
            return
        relocation.moved[blob] = moved
        blob.unlink()  # room on the target, at once


def _copy(source: Path, target: Path, cancel: CancelToken | None) -> None:
    with source.open("rb") as reading, target.open("xb") as writing:
        while chunk := reading.read(CHUNK_SIZE):
            check(cancel)
            writing.write(chunk)
