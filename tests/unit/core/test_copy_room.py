"""The room a copy takes on a local destination's disk, looked at before the first byte
(core/copy_room.py): ``os.statvfs`` reports a small disk here; the last test takes a real
small tmpfs (as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spyglass.core.copy import BlobStarted, CopyOptions, Failed, Planned, execute, plan_copy
from spyglass.core.copy_room import check_room
from spyglass.core.errors import NoRoom
from spyglass.core.transports import archive_room, open_destination, open_source
from spyglass.core.transports.archive_room import ARCHIVE_ROOM, MEMBER_ROOM, free_bytes
from spyglass.core.units import human_size
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

MIB = 1024 * 1024
REPO = Path(__file__).resolve().parents[3]


def noisy(size: int, seed: int) -> bytes:
    """``size`` bytes gzip cannot shrink."""
    return (seed.to_bytes(4, "big") * 8 + os.urandom(size))[:size]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A layout with ``big``: three layers of about 1 MiB each, gzipped."""
    builder = LayoutBuilder(tmp_path / "src")
    image = builder.add_image(ImageSpec(layers=[
        LayerSpec({f"f{n}": noisy(MIB, n)}) for n in range(3)]))
    builder.tag(image, "big")
    return tmp_path / "src"


def image_size(layout: Path) -> int:
    plan = plan_copy(open_source(f"oci:{layout}:big"), open_destination(
        f"oci:{layout.parent / 'sizing'}"))
    return plan.total_bytes


class SmallDisk:
    """``os.statvfs`` for folders under ``root``: a disk with ``free`` bytes left for
    anyone, ``reserved`` more for root only; ``sizeless``: a filesystem that reports no
    sizes at all (every count 0, as many FUSE filesystems do)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, root: Path, free: int, *,
                 reserved: int = 0, sizeless: bool = False) -> None:
        self.root = root
        self.free = free
        self.asked: list[Path] = []
        real: Callable[[Any], os.statvfs_result] = os.statvfs

        def statvfs(path: Any) -> os.statvfs_result:
            found = real(path)
            if not Path(os.fspath(path)).resolve().is_relative_to(self.root.resolve()):
                return found
            self.asked.append(Path(os.fspath(path)))
            fields = list(found)
            fields[0] = fields[1] = 4096  # f_bsize, f_frsize
            fields[3] = (self.free + reserved) // 4096  # f_bfree: root's too
            fields[4] = self.free // 4096  # f_bavail
            if sizeless:
                fields[2:6] = [0, 0, 0, 0]  # f_blocks, f_bfree, f_bavail, f_files
            return os.statvfs_result(fields)

        monkeypatch.setattr(os, "statvfs", statvfs)


def copied(source: Path, destination: str, options: CopyOptions | None = None
           ) -> tuple[list[object], BaseException | None]:
    """Plan and execute as the command line does; the events, and what was raised."""
    events: list[object] = []
    src = open_source(f"oci:{source}:big")
    dest = open_destination(destination)
    try:
        plan = plan_copy(src, dest, options)
        execute(plan, src, dest, options, events=events.append, check_writable=True)
    except NoRoom as exc:
        return events, exc
    finally:
        dest.close()
        src.close()
    return events, None


def test_a_layout_on_a_disk_too_small_is_refused_before_the_first_byte(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    size = image_size(source)
    SmallDisk(monkeypatch, disk, size - MIB)
    events, error = copied(source, f"oci:{disk / 'new'}:big")
    assert isinstance(error, NoRoom)
    assert str(error) == (
        f'There is no room for this copy in "oci:{disk / "new"}:big": it needs about '
        f"{human_size(size + 0)} on that disk, which has {human_size(size - MIB)} free "
        f'("{disk / "new"}"); nothing was written. Free some space there, or copy to another '
        "disk."), str(error)
    assert not [e for e in events if isinstance(e, (BlobStarted, Planned))]
    assert [e.message for e in events if isinstance(e, Failed)] == [str(error)]
    assert list(disk.iterdir()) == []  # the new layout taken back


def test_blobs_the_layout_holds_already_need_no_room(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Copied there before under another name: only index.json grows."""
    disk = tmp_path / "disk"
    disk.mkdir()
    events, error = copied(source, f"oci:{disk / 'there'}:big")
    assert error is None
    SmallDisk(monkeypatch, disk, 64 * 1024)
    events, error = copied(source, f"oci:{disk / 'there'}:again")
    assert error is None, error
    assert any(isinstance(e, Planned) for e in events)


def test_a_filesystem_that_reports_no_sizes_is_not_taken_for_a_full_one(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """sshfs, rclone and other FUSE mounts may say 0 blocks of 0: room unknown, so the
    copy goes (and fails as any would if the disk does fill)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    SmallDisk(monkeypatch, disk, 0, sizeless=True)
    for destination in (f"oci:{disk / 'l'}:big", f"docker-archive:{disk / 'a.tar'}"):
        events, error = copied(source, destination)
        assert error is None, error
        planned = next(e for e in events if isinstance(e, Planned))
        assert not [note for note in planned.plan.notes if "room" in note]


@pytest.mark.parametrize(("host_uid", "filesystem", "fits"), [
    (0, "ext4", True), (1000, "ext4", False), (0, "btrfs", False), (0, None, False)])
def test_the_host_s_root_may_fill_the_blocks_ext4_keeps_back_for_it(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_uid: int,
        filesystem: str | None, fits: bool) -> None:
    """ext4 keeps 5 % of a disk for root, left out of df's Avail: a copy run as the
    host's root that fits only with them goes; for anyone else, or on a filesystem that
    keeps nothing back for root (btrfs's f_bfree counts its metadata's room), it is
    refused."""
    disk = tmp_path / "disk"
    disk.mkdir()
    SmallDisk(monkeypatch, disk, image_size(source) - MIB, reserved=4 * MIB)
    monkeypatch.setattr(archive_room, "host_fsuid", lambda: host_uid)
    monkeypatch.setattr(archive_room, "filesystem_type", lambda folder: filesystem)
    _events, error = copied(source, f"oci:{disk / 'l'}:big")
    assert (error is None) is fits, error


def test_root_in_a_user_namespace_is_not_the_host_s_root() -> None:
    """A rootless container's root (``unshare -r`` run by another user) writes as that
    user: the kernel gives it none of ext4's blocks kept back for root, so they are not
    counted as room (the copy would fail halfway with 'No space left on device')."""
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); "
             "from spyglass.core.transports.archive_room import host_fsuid; print(host_fsuid())")
    app = Path(__file__).resolve().parents[3] / "app"
    # as root, the code is run by nobody: from a copy in a folder every user may read
    # (pytest's tmp_path, the checkout and ~ may be root's alone)
    shared = Path(tempfile.mkdtemp(prefix="spyglass-userns-", dir="/tmp"))
    try:
        if os.geteuid() == 0:
            if not shutil.which("setpriv") or not shutil.which("unshare"):
                pytest.skip("setpriv and unshare (util-linux) are needed to act as another user")
            shutil.copytree(app / "spyglass", shared / "spyglass",
                            ignore=shutil.ignore_patterns("__pycache__"))
            for folder, _dirs, files in os.walk(shared):
                Path(folder).chmod(0o755)
                for name in files:
                    (Path(folder) / name).chmod(0o644)
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                       "unshare", "-r", "/usr/bin/python3", "-B", "-c", probe, str(shared)]
            user = 65534
        else:
            if not shutil.which("unshare"):
                pytest.skip("unshare (util-linux) is needed")
            command = ["unshare", "-r", sys.executable, "-c", probe, str(app)]
            user = os.geteuid()
        done = subprocess.run(command, capture_output=True, text=True, timeout=60,
                              check=False)
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    if done.returncode != 0 and "unshare failed" in done.stderr:
        pytest.skip(f"user namespaces are not allowed here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(user)  # root inside, that user outside


def test_host_uid_maps_the_filesystem_uid_out_of_the_namespace() -> None:
    status = "Name:\tpython3\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
    assert archive_room.host_uid(status, "         0          0 4294967295\n") == 0
    assert archive_room.host_uid(status, "         0      65534          1\n") == 65534
    assert archive_room.host_uid(status, "         0     100000      65536\n") == 100000
    assert archive_room.host_uid(status, "      1000       1000          1\n") is None
    assert archive_room.host_uid("Uid:\t1000\t1000\t1000\t0\n", "0 0 4294967295") == 0
    assert archive_room.host_uid("Name: x\n", "0 0 4294967295") is None


def test_mount_type_is_read_for_the_device() -> None:
    mountinfo = (
        "22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
        "30 22 0:27 / /dev/shm rw,nosuid shared:4 - tmpfs tmpfs rw\n"
        "31 22 0:45 /@home /home rw master:2 shared:9 - btrfs /dev/vdb rw\n")
    assert archive_room.mount_type(mountinfo, 253, 0) == "ext4"
    assert archive_room.mount_type(mountinfo, 0, 45) == "btrfs"
    assert archive_room.mount_type(mountinfo, 0, 27) == "tmpfs"
    assert archive_room.mount_type(mountinfo, 8, 1) is None


def test_a_recompressed_copy_that_may_not_fit_gets_a_note_not_a_refusal(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A recompressed layer's size is known once it is made: only a note."""
    disk = tmp_path / "disk"
    disk.mkdir()
    SmallDisk(monkeypatch, disk, image_size(source) - MIB)
    events, error = copied(source, f"oci:{disk / 'z'}:big", CopyOptions(compression="zstd"))
    assert error is None, error
    planned = next(e for e in events if isinstance(e, Planned))
    said = [note for note in planned.plan.notes if "may not have room" in note]
    assert said and said[0].startswith(f'"oci:{disk / "z"}:big" may not have room for this '
                                       "copy: it needs about "), planned.plan.notes
    assert "counting each layer it decompresses or recompresses at its size before" in said[0]


@pytest.mark.parametrize("kind", ["docker-archive", "oci-archive"])
def test_an_archive_needs_its_largest_blob_twice(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """Put together beside its name, each staged blob removed once the tar holds it:
    the archive's room and the largest blob's once more, where the big-files folder is
    on the same disk."""
    disk = tmp_path / "disk"
    disk.mkdir()
    monkeypatch.setenv("TMPDIR", str(disk))  # the same filesystem: nothing moves off it
    size = image_size(source)
    blobs = 4  # config and three layers
    archive = size + ARCHIVE_ROOM + MEMBER_ROOM * blobs
    SmallDisk(monkeypatch, disk, archive + MIB // 2)  # room for it once, not for a layer twice
    _events, error = copied(source, f"{kind}:{disk / 'a.tar'}")
    assert isinstance(error, NoRoom), error
    assert "it needs about" in str(error) and f'("{disk}")' in str(error)
    assert list(disk.iterdir()) == []


def test_a_dir_image_replaced_lends_its_blobs(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its blobs are linked into the new folder, not copied."""
    disk = tmp_path / "disk"
    disk.mkdir()
    _events, error = copied(source, f"dir:{disk / 'd'}")
    assert error is None
    SmallDisk(monkeypatch, disk, 64 * 1024)
    dest = open_destination(f"dir:{disk / 'd'}")
    try:
        plan = plan_copy(open_source(f"oci:{source}:big"), dest)
        assert check_room(plan, dest) is plan
    finally:
        dest.close()
    dest = open_destination(f"dir:{disk / 'other'}")
    try:
        with pytest.raises(NoRoom):
            check_room(plan_copy(open_source(f"oci:{source}:big"), dest), dest)
    finally:
        dest.close()


def test_the_command_line_refuses_a_disk_too_small_and_dry_run_says_so(
        source: Path, tmp_path: Path) -> None:
    """Through the command, in its own process: statvfs there is the real one, so the
    disk is a folder with a small quota of its own (a sitecustomize makes it small)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os\n"
        "_real = os.statvfs\n"
        "def _small(path):\n"
        "    found = _real(path)\n"
        f"    if not os.path.realpath(os.fspath(path)).startswith({str(disk.resolve())!r}):\n"
        "        return found\n"
        "    fields = list(found)\n"
        "    fields[0] = fields[1] = 4096\n"
        "    fields[3] = fields[4] = 256\n"
        "    return os.statvfs_result(fields)\n"
        "os.statvfs = _small\n")
    env = {**os.environ, "PYTHONPATH": f"{hook}:{REPO / 'app'}", "PYTHONDONTWRITEBYTECODE": "1"}
    for extra in ([], ["--dry-run"]):
        done = subprocess.run(
            [sys.executable, "-m", "spyglass", "copy", *extra, f"oci:{source}:big",
             f"oci:{disk / 'l'}:big"], env=env, capture_output=True, text=True, timeout=60,
            check=False)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith(
            f'spyglass: There is no room for this copy in "oci:{disk / "l"}:big": it needs '
            "about "), done.stderr
        assert "which has 1.0 MiB free" in done.stderr and "Traceback" not in done.stderr
        assert "Copying" not in done.stderr
        assert list(disk.iterdir()) == []


def test_a_real_small_disk_refuses_the_copy_before_the_first_byte(
        source: Path, tmp_path: Path) -> None:
    """A 2 MiB tmpfs and an image of 3 MiB: refused at once, with what the disk has
    free, and nothing left on it (root only: skipped otherwise)."""
    from tests.helpers.mounts import small_filesystem

    env = {**os.environ, "PYTHONPATH": str(REPO / "app"), "PYTHONDONTWRITEBYTECODE": "1"}
    with small_filesystem(tmp_path / "mnt", "2m") as disk:
        free = free_bytes(disk)
        assert free is not None
        for destination in (f"oci:{disk / 'l'}:big", f"dir:{disk / 'd'}",
                            f"docker-archive:{disk / 'a.tar'}", f"oci-archive:{disk / 'o.tar'}"):
            done = subprocess.run(
                [sys.executable, "-m", "spyglass", "copy", f"oci:{source}:big", destination],
                env=env, capture_output=True, text=True, timeout=60, check=False)
            assert done.returncode == 1, done.stderr
            assert done.stderr.startswith(
                f'spyglass: There is no room for this copy in "{destination}": it needs '
                "about "), done.stderr
            assert f"which has {human_size(free)} free" in done.stderr, done.stderr
            assert "Copying" not in done.stderr and "Traceback" not in done.stderr
            assert list(disk.iterdir()) == [], destination


@pytest.mark.parametrize(("flag", "advice"), [
    (False, "set TMPDIR to a folder with more room."),
    (True, "give --tmpdir a folder with more room.")])
@pytest.mark.parametrize("kind", ["docker-archive", "oci-archive"])
def test_an_archive_for_a_pipe_is_refused_for_the_big_files_folder_with_its_advice(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str,
        flag: bool, advice: str) -> None:
    """Made first in the folder for big temporary files: that folder is what has no room,
    and another one (TMPDIR, --tmpdir; in the window, started again) is the advice, not
    another disk for the pipe."""
    from spyglass.core.transports import big_files

    disk = tmp_path / "disk"
    disk.mkdir()
    monkeypatch.setenv("TMPDIR", str(disk))
    monkeypatch.setattr(big_files, "_tmpdir_flag", str(disk) if flag else None)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    SmallDisk(monkeypatch, disk, MIB)
    _events, error = copied(source, f"{kind}:{pipe}")
    assert isinstance(error, NoRoom), error
    said = (f'There is no room for this copy in the folder for big temporary files "{disk}" '
            f"($TMPDIR or --tmpdir, else /var/tmp), where an archive written to \"{pipe}\" is "
            "made first: it needs about ")
    assert str(error).startswith(said), str(error)
    assert str(error).endswith(", which has 1.0 MiB free; nothing was written. Free some "
                               "space there, or quit Spyglass and start it again with TMPDIR "
                               "set to a folder with more room."), str(error)
    assert error.on_command_line is not None
    assert error.on_command_line.startswith(said), error.on_command_line
    assert error.on_command_line.endswith(f"Free some space there, or {advice}")
    assert "another disk" not in f"{error} {error.on_command_line}"
    assert list(disk.iterdir()) == []


@pytest.mark.parametrize("transport", ["oci", "dir"])
def test_a_copy_run_again_right_after_a_kill_gets_the_killed_copy_s_room_back(
        source: Path, tmp_path: Path, transport: str) -> None:
    """A 6 MiB tmpfs, an image of 3 MiB, and 4 MiB of it held by the temporaries of a
    copy just killed (``kill -9``: its claims let go): the copy run again at once sweeps
    them before it looks at the room, and fits (root only: skipped otherwise)."""
    from tests.helpers.mounts import small_filesystem
    from tests.unit.core.transports.test_orphans import killed_copy

    with small_filesystem(tmp_path / "mnt", "6m") as disk:
        if transport == "oci":
            layout = disk / "l"
            layout.mkdir()
            (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
            (layout / "index.json").write_text('{"schemaVersion": 2, "manifests": []}')
            killed_copy("file", layout, 4 * MIB)
            destination = f"oci:{layout}:big"
        else:
            killed_copy("folder", disk / "d", 4 * MIB)
            destination = f"dir:{disk / 'd'}"
        free = free_bytes(disk)
        assert free is not None and free < image_size(source)  # held by the temporaries
        _events, error = copied(source, destination)
        assert error is None, error
        assert not [p for p in disk.rglob("*") if ".spyglass-tmp-" in p.name]
