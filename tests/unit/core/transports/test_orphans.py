"""What a killed copy leaves behind, and the next copy removes
(spyglass.core.transports.temporaries).

Every temporary a local destination makes — a ``.spyglass-tmp-*`` file in a
layout, the ``.NAME.spyglass-tmp-*`` folder a ``dir:`` or archive copy builds
in — is claimed with a ``flock`` while its copy runs. A temporary nobody
claims and nobody changed for :data:`ORPHAN_AGE` is an orphan: opening a
destination in the same place removes it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spyglass.core.transports import open_destination, temporaries
from spyglass.core.transports.dirlayout import DirDestination
from spyglass.core.transports.layout_write import OCILayoutDestination
from spyglass.core.transports.temporaries import (
    LOCAL_ORPHAN_AGE,
    ORPHAN_AGE,
    TEMP_PREFIX,
    WRITTEN_ORPHAN_AGE,
    TempFiles,
    TempFolder,
    filesystem_of,
    on_local_filesystem,
    sweep_orphans,
)


def _age(path: Path, seconds: float = ORPHAN_AGE + 60) -> Path:
    """Make ``path`` look unchanged for ``seconds``."""
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)
    return path


def _orphan_file(folder: Path, name: str = f"{TEMP_PREFIX}k1ll3d00") -> Path:
    path = folder / name
    path.write_bytes(b"half a blob")
    return _age(path)


def _orphan_folder(parent: Path, name: str) -> Path:
    """A staging folder a killed copy left, nothing in it changed for long."""
    folder = parent / name
    (folder / "blobs").mkdir(parents=True)
    (folder / "blobs" / "half").write_bytes(b"half a blob")
    for inside in (folder / "blobs" / "half", folder / "blobs", folder):
        _age(inside)
    return folder


def _layout(tmp_path: Path) -> Path:
    """An existing (empty) layout, as an earlier copy left it."""
    layout = tmp_path / "layout"
    layout.mkdir()
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text('{"schemaVersion": 2, "manifests": []}')
    return layout


def test_an_orphaned_temporary_file_is_removed_when_a_copy_opens_the_layout(
    tmp_path: Path,
) -> None:
    layout = _layout(tmp_path)
    orphan = _orphan_file(layout)
    destination = OCILayoutDestination(layout, "v2")
    destination.abort()
    assert not orphan.exists()
    assert (layout / "index.json").exists() and (layout / "oci-layout").exists()


def test_a_recent_empty_temporary_is_kept_since_its_copy_may_be_starting(
    tmp_path: Path,
) -> None:
    """Between its making and its claim a temporary is unclaimed, and empty (it is
    claimed before anything is written in it)."""
    layout = _layout(tmp_path)
    young = layout / f"{TEMP_PREFIX}y0ung000"
    young.touch()
    folder = tmp_path / f".image{TEMP_PREFIX}y0ung001"
    folder.mkdir()
    OCILayoutDestination(layout, "v2").abort()
    DirDestination(tmp_path / "image").abort()
    assert young.exists() and folder.exists()


_KILLED_COPY = """\
import os, signal, sys, time
from pathlib import Path
from spyglass.core.transports.temporaries import TempFiles, TempFolder
kind, where, size = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
if kind == "file":
    fd, path = TempFiles(where).create()
else:
    folder = TempFolder(where.parent, where.name)
    fd = os.open(folder.path / "blob", os.O_WRONLY | os.O_CREAT, 0o600)
os.write(fd, os.urandom(size))
then = time.time() - 3  # (killed 3 s before the copy that runs again)
for made in ([path] if kind == "file" else [folder.path / "blob", folder.path]):
    os.utime(made, (then, then))
os.kill(os.getpid(), signal.SIGKILL)
"""


def killed_copy(kind: str, where: Path, size: int = 1024) -> None:
    """Run a process that makes a temporary as a copy does (``file``: in the folder
    ``where``; ``folder``: the staging folder of the image ``where``), writes ``size``
    bytes in it and is killed (``kill -9``): the kernel lets its claim go. What it wrote
    is dated 3 s back, as when the copy is run again a few seconds later."""
    repo = Path(__file__).resolve().parents[4]
    env = {**os.environ, "PYTHONPATH": f"{repo / 'app'}{os.pathsep}{repo}"}
    done = subprocess.run([sys.executable, "-c", _KILLED_COPY, kind, str(where), str(size)],
                          env=env, capture_output=True, check=False, timeout=60)
    assert done.returncode == -9, done.stderr


def test_what_a_killed_copy_wrote_goes_at_once_on_a_local_filesystem(tmp_path: Path) -> None:
    """A copy run again right after a ``kill -9`` gets the room back: what a temporary
    holds was written after its claim, so one unclaimed is an orphan, however young."""
    if not on_local_filesystem(tmp_path):
        pytest.skip(f"{tmp_path} is not on a filesystem of this machine alone")
    layout = _layout(tmp_path)
    killed_copy("file", layout)
    killed_copy("folder", tmp_path / "image")
    left = [p for p in [*layout.iterdir(), *tmp_path.iterdir()] if TEMP_PREFIX in p.name]
    assert len(left) == 2
    OCILayoutDestination(layout, "v2").abort()
    DirDestination(tmp_path / "image").abort()
    assert not any(p.exists() for p in left)


def test_an_unclaimed_temporary_being_written_is_kept_for_moments(tmp_path: Path) -> None:
    """A folder shared with another machine without lock forwarding: its writer's claim
    cannot be seen here, but what it writes changes all the time: kept while it does."""
    if not on_local_filesystem(tmp_path):
        pytest.skip(f"{tmp_path} is not on a filesystem of this machine alone")
    layout = _layout(tmp_path)
    writing = layout / f"{TEMP_PREFIX}elsewh3r"
    writing.write_bytes(b"half a blob, written just now")
    OCILayoutDestination(layout, "v2").abort()
    assert writing.exists()
    _age(writing, WRITTEN_ORPHAN_AGE + 1)  # still for moments: an orphan
    OCILayoutDestination(layout, "v2").abort()
    assert not writing.exists()


def test_a_live_copy_s_young_temporaries_are_kept(tmp_path: Path) -> None:
    """Two copies at once into one place: the claim spares each one's temporaries."""
    layout = _layout(tmp_path)
    temps = TempFiles(layout)
    fd, path = temps.create()
    os.write(fd, b"half a blob")
    os.close(fd)
    folder = TempFolder(tmp_path, "image")
    (folder.path / "blob").write_bytes(b"half a blob")
    OCILayoutDestination(layout, "v2").abort()
    DirDestination(tmp_path / "image").abort()
    assert path.read_bytes() == b"half a blob"
    assert (folder.path / "blob").read_bytes() == b"half a blob"
    temps.remove_all()
    folder.remove()


def test_a_temporary_that_cannot_be_claimed_is_not_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written unclaimed it would be taken for an orphan: no descriptor left for the
    claim (too many open files) fails its making, and nothing is left."""
    def no_descriptor(fd: int) -> int:
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(temporaries.os, "dup", no_descriptor)
    with pytest.raises(OSError) as raised:
        TempFiles(tmp_path).create()
    assert raised.value.errno == errno.EMFILE
    with pytest.raises(OSError):
        TempFolder(tmp_path, "image")
    assert list(tmp_path.iterdir()) == []


def test_a_temporary_a_running_copy_claims_is_kept_however_old(tmp_path: Path) -> None:
    temps = TempFiles(tmp_path)
    fd, path = temps.create()
    os.close(fd)  # the claim outlives the writer's own descriptor
    _age(path)
    assert sweep_orphans(tmp_path) == []
    assert path.exists()
    temps.forget(path)  # renamed into place or given up: the claim goes with it
    assert sweep_orphans(tmp_path) == [path]


def test_a_claim_held_by_another_process_keeps_the_temporary(tmp_path: Path) -> None:
    orphan = _orphan_file(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time\n"
         "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "print('held', flush=True)\n"
         "time.sleep(60)\n",
         str(orphan)],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        assert sweep_orphans(tmp_path) == []
        assert orphan.exists()
    finally:
        holder.kill()
        holder.wait()
    assert sweep_orphans(tmp_path) == [orphan]  # the kernel let the claim go with the process


def test_only_our_temporaries_are_touched(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("mine")
    _age(other)
    elsewhere = tmp_path.parent / f"{tmp_path.name}-target"
    elsewhere.write_text("not ours")
    link = tmp_path / f"{TEMP_PREFIX}l1nk0000"
    link.symlink_to(elsewhere)
    _age(link)
    fifo = tmp_path / f"{TEMP_PREFIX}f1f00000"
    os.mkfifo(fifo)
    _age(fifo)
    assert sweep_orphans(tmp_path) == []
    assert other.read_text() == "mine" and elsewhere.read_text() == "not ours"
    assert link.is_symlink() and fifo.exists()


def test_a_temporary_locked_in_this_process_by_other_code_is_kept(tmp_path: Path) -> None:
    """flock claims belong to an open file, so a second open in one process conflicts too."""
    orphan = _orphan_file(tmp_path)
    fd = os.open(orphan, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert sweep_orphans(tmp_path) == []
    finally:
        os.close(fd)


def test_a_dir_copy_removes_the_staging_folder_a_killed_copy_left(tmp_path: Path) -> None:
    target = tmp_path / "image"
    orphan = _orphan_folder(tmp_path, f".image{TEMP_PREFIX}abc12345")
    moved_aside = _orphan_folder(tmp_path, f".image{TEMP_PREFIX}old-abc12345")
    someone_elses = _orphan_folder(tmp_path, f".other{TEMP_PREFIX}abc12345")
    destination = DirDestination(target)
    destination.abort()
    assert not orphan.exists()
    # a swap killed halfway leaves the old image only here: it stays for the user
    assert (moved_aside / "blobs" / "half").exists()
    assert someone_elses.exists()


def test_a_running_dir_copy_keeps_its_staging_folder(tmp_path: Path) -> None:
    target = tmp_path / "image"
    first = DirDestination(target)
    staging = [p for p in tmp_path.iterdir() if p.name.startswith(f".image{TEMP_PREFIX}")]
    assert len(staging) == 1
    _age(staging[0])
    second = DirDestination(target)
    assert staging[0].is_dir()
    second.abort()
    first.abort()
    assert not staging[0].exists()


@pytest.mark.parametrize("transport", ["oci-archive", "docker-archive"])
def test_an_archive_copy_removes_the_staging_folder_a_killed_copy_left(
    tmp_path: Path, transport: str
) -> None:
    orphan = _orphan_folder(tmp_path, f".image.tar{TEMP_PREFIX}abc12345")
    destination = open_destination(f"{transport}:{tmp_path / 'image.tar'}")
    destination.abort()
    assert not orphan.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_a_temp_folder_is_claimed_until_released(tmp_path: Path) -> None:
    folder = TempFolder(tmp_path, "image")
    _age(folder.path)
    assert sweep_orphans(tmp_path, f".image{TEMP_PREFIX}") == []
    folder.release()
    folder.release()  # twice is fine
    assert sweep_orphans(tmp_path, f".image{TEMP_PREFIX}") == [folder.path]
    assert not folder.path.exists()


def test_nothing_is_raised_for_a_folder_that_cannot_be_listed(tmp_path: Path) -> None:
    assert sweep_orphans(tmp_path / "missing") == []


def test_a_staging_folder_whose_files_still_change_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder's own time stands still while a file in it is written: what is inside
    counts (on a network filesystem, where only the age spares a copy on another
    machine)."""
    monkeypatch.setattr(temporaries, "on_local_filesystem", lambda folder: False)
    folder = _orphan_folder(tmp_path, f".image{TEMP_PREFIX}abc12345")
    (folder / "blobs" / "half").write_bytes(b"more of the blob")  # written just now
    _age(folder / "blobs")
    assert sweep_orphans(tmp_path, f".image{TEMP_PREFIX}") == []
    assert folder.exists()


def test_on_a_local_filesystem_an_unclaimed_temporary_goes_after_moments(
    tmp_path: Path,
) -> None:
    """A copy run again right after a ``kill -9`` gets the space back: on a filesystem of
    this machine alone every live copy claims its temporaries, so one unclaimed and
    unchanged for LOCAL_ORPHAN_AGE is an orphan."""
    if not on_local_filesystem(tmp_path):
        pytest.skip(f"{tmp_path} is not on a filesystem of this machine alone")
    layout = _layout(tmp_path)
    (layout / f"{TEMP_PREFIX}k1ll3d01").write_bytes(b"half")
    orphan = _age(layout / f"{TEMP_PREFIX}k1ll3d01", LOCAL_ORPHAN_AGE + 5)
    OCILayoutDestination(layout, "v2").abort()
    assert not orphan.exists()


def test_on_a_network_filesystem_a_temporary_is_kept_for_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Elsewhere a copy on another machine may be writing it, its claim unseen here."""
    monkeypatch.setattr(temporaries, "on_local_filesystem", lambda folder: False)
    layout = _layout(tmp_path)
    (layout / f"{TEMP_PREFIX}k1ll3d02").write_bytes(b"half")
    orphan = _age(layout / f"{TEMP_PREFIX}k1ll3d02", LOCAL_ORPHAN_AGE + 5)
    OCILayoutDestination(layout, "v2").abort()
    assert orphan.exists()


def test_proc_is_no_local_filesystem_of_files() -> None:
    assert not on_local_filesystem(Path("/proc"))


MOUNTINFO = "\n".join([
    "22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/vda2 rw",
    "30 22 0:26 / /home rw,relatime shared:2 - btrfs /dev/vda3 rw,subvol=/home",
    "31 22 0:40 / /mnt/team\\040share rw,relatime - nfs4 server:/share rw,vers=4.2",
    "32 31 0:41 / /mnt/team\\040share/scratch rw - tmpfs tmpfs rw",
    "33 22 0:42 / /mnt/team rw - fuse.sshfs host: rw",
])


@pytest.mark.parametrize(("path", "kind"), [
    ("/var/lib/x", "ext4"),
    ("/home/me/layout", "btrfs"),  # by path: a subvolume's device number is its own
    ("/mnt/team share/layout", "nfs4"),  # \040 is a space
    ("/mnt/team share/scratch/x", "tmpfs"),  # the longest mount point holding it
    ("/mnt/team", "fuse.sshfs"),
    ("/mnt/teamwork", "ext4"),  # not inside /mnt/team
])
def test_the_filesystem_of_a_path_is_its_longest_mount_point(path: str, kind: str) -> None:
    assert filesystem_of(path, MOUNTINFO) == kind


def test_a_temporary_held_by_a_posix_lock_is_kept(tmp_path: Path) -> None:
    """A copy on a machine this one serves the folder to (NFS, Samba) holds its claim as
    a POSIX lock here, which flock does not see: such a temporary stays."""
    orphan = _orphan_file(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time\n"
         f"f = open({str(orphan)!r}, 'r+b')\n"
         "fcntl.lockf(f, fcntl.LOCK_EX)\n"
         "print('held', flush=True)\n"
         "time.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert sweep_orphans(tmp_path, min_age=0) == []
        assert orphan.exists()
    finally:
        holder.kill()
        holder.wait()
    assert sweep_orphans(tmp_path, min_age=0) == [orphan]
