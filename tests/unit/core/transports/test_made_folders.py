"""A failed copy into a new OCI layout or ``dir:`` folder takes back the folders it made:
the layout's own and (a sync's, ``make_parents``) the missing ones above it, each only
while empty, and never one that was there before. A copy makes no folder above: a
missing one is refused."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from spyglass.core.copy import copy_image
from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidLayout, TransportError
from spyglass.core.filemodes import make_folders, remove_made_folders
from spyglass.core.transports import dirlayout, open_destination, open_source
from spyglass.core.transports import layout_write as layout_write_module
from spyglass.core.transports.dirlayout import DirDestination, check_dir_destination
from spyglass.core.transports.file_lock import exclusive_lock
from spyglass.core.transports.layout_files import (
    INDEX_FILE,
    INDEX_LOCK,
    LAYOUT_FILE,
    check_layout_destination,
)
from spyglass.core.transports.layout_write import OCILayoutDestination
from tests.unit.core.transports.test_layout_dest import ChunkStream, single_image_layout


def no_space(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_new_layout_on_a_full_disk_leaves_no_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the disk has room for folders (inodes), not for the oci-layout file's bytes
    monkeypatch.setattr(layout_write_module, "replace_file", no_space)
    with pytest.raises(TransportError, match="No space left on device"):
        OCILayoutDestination(tmp_path / "x" / "y" / "newlay", "tiny", make_parents=True)
    assert list(tmp_path.iterdir()) == []


def test_a_new_layout_in_a_folder_that_was_there_keeps_that_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kept").mkdir()
    monkeypatch.setattr(layout_write_module, "replace_file", no_space)
    with pytest.raises(TransportError):
        OCILayoutDestination(tmp_path / "kept" / "newlay", "tiny")
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]
    assert list((tmp_path / "kept").iterdir()) == []


def test_a_new_layout_whose_index_finds_no_room_leaves_no_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # room for the oci-layout file, none for index.json: the one written is taken back
    real = layout_write_module.replace_file

    def replacing(path: Path, *args: object, **kwargs: object) -> None:
        if path.name == INDEX_FILE:
            no_space()
        real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(layout_write_module, "replace_file", replacing)
    with pytest.raises(TransportError, match="No space left on device"):
        OCILayoutDestination(tmp_path / "x" / "newlay", "tiny", make_parents=True)
    assert list(tmp_path.iterdir()) == []


_INTERRUPTED = r"""
import signal, sys
from pathlib import Path
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
from spyglass.core.transports import layout_write
make_folders, exclusive_lock = layout_write.make_folders, layout_write.exclusive_lock
def making(path):
    made = make_folders(path)
    print("made", flush=True)
    sys.stdin.readline()  # the other copy sets the layout up and copies an image meanwhile
    return made
def locking(*args, **kwargs):
    print("waiting", flush=True)
    return exclusive_lock(*args, **kwargs)
layout_write.make_folders, layout_write.exclusive_lock = making, locking
try:
    layout_write.OCILayoutDestination(Path(sys.argv[1]), "a")
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def test_a_copy_interrupted_waiting_for_the_lock_keeps_the_layout_another_copy_set_up(
        tmp_path: Path, repo_root: Path) -> None:
    """Copy A makes the new folder; copy B (this test) sets a layout up in it and copies
    an image there, and is at its next commit (holding the index lock) when A's user
    presses Ctrl+C while A waits for that lock: B's layout stays as B wrote it."""
    single_image_layout(tmp_path / "src", ref="v1")
    new = tmp_path / "new"
    env = {**os.environ, "PYTHONPATH": f"{repo_root / 'app'}{os.pathsep}{repo_root}"}
    other = subprocess.Popen([sys.executable, "-c", _INTERRUPTED, str(new)], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdin is not None and other.stdout is not None
        assert other.stdout.readline().strip() == "made"
        copy_image(open_source(f"oci:{tmp_path / 'src'}:v1"),
                   open_destination(f"oci:{new}:b"))
        written = {name: (new / name).read_bytes() for name in (INDEX_FILE, LAYOUT_FILE)}
        with exclusive_lock(new / INDEX_LOCK, what="B"):
            other.stdin.write("\n")
            other.stdin.flush()
            assert other.stdout.readline().strip() == "waiting"
            other.send_signal(signal.SIGINT)
            assert other.stdout.readline().strip() == "interrupted"
            assert other.wait(timeout=60) == 0
    finally:
        if other.poll() is None:
            other.kill()
        other.communicate(timeout=60)
    assert {name: (new / name).read_bytes() for name in written} == written
    assert sorted(p.name for p in new.iterdir()) == ["blobs", INDEX_FILE, LAYOUT_FILE]
    copy_image(open_source(f"oci:{new}:b"), open_destination(f"oci:{tmp_path / 'back'}:b"))


def test_a_copy_into_a_new_layout_that_fails_midway_removes_the_folders_it_made(
        tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    destination = OCILayoutDestination(tmp_path / "x" / "y" / "z" / "newlay", "big",
                                       make_parents=True)
    destination.put_blob(ChunkStream([b"layer"]), media_type="x", digest=Digest.of(b"layer"),
                         size=5)
    destination.abort()  # as the engine does when a later blob fails
    assert [p.name for p in tmp_path.iterdir()] == ["x"]
    assert list((tmp_path / "x").iterdir()) == []


def test_a_folder_someone_else_wrote_in_meanwhile_stays(tmp_path: Path) -> None:
    destination = OCILayoutDestination(tmp_path / "x" / "newlay", "big", make_parents=True)
    (tmp_path / "x" / "theirs.txt").write_text("mine")
    destination.abort()
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["theirs.txt"]


def test_a_failed_dir_copy_removes_the_folders_above_it_that_it_made(tmp_path: Path) -> None:
    destination = DirDestination(tmp_path / "a" / "b" / "img", make_parents=True)
    destination.put_blob(ChunkStream([b"layer"]), media_type="x", digest=Digest.of(b"layer"),
                         size=5)
    destination.abort()
    assert list(tmp_path.iterdir()) == []


def test_a_dir_copy_that_cannot_stage_removes_the_folders_it_made(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dirlayout, "TempFolder", no_space)
    with pytest.raises(TransportError, match="No space left on device"):
        DirDestination(tmp_path / "a" / "b" / "img", make_parents=True)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_image_keeps_the_new_folder_another_is_staging_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sync into a new folder: image A's destination made it; image B's found it there
    and was about to make its staging folder in it when A failed. A's take-back removed
    the folder (still empty), and B, a good image, failed with "Cannot write …: No such
    file or directory"; now A's take-back waits until B's staging folder is in it."""
    new = tmp_path / "new"
    first = DirDestination(new / "a", make_parents=True)
    about_to_stage, go_on = threading.Event(), threading.Event()
    real_temp_folder = dirlayout.TempFolder

    def staging_after_a_pause(parent: Path, name: str) -> object:
        about_to_stage.set()
        assert go_on.wait(30)
        return real_temp_folder(parent, name)

    monkeypatch.setattr(dirlayout, "TempFolder", staging_after_a_pause)
    opened: list[DirDestination] = []
    failed: list[BaseException] = []

    def open_second() -> None:
        try:
            opened.append(DirDestination(new / "b", make_parents=True))
        except BaseException as exc:  # (said by the assertion below)
            failed.append(exc)

    second = threading.Thread(target=open_second)
    second.start()
    assert about_to_stage.wait(30)  # B found the folder A made, and has nothing in it yet
    aborting = threading.Thread(target=first.abort)
    aborting.start()
    aborting.join(0.5)  # time enough for A's take-back, unless it waits for B (it must)
    go_on.set()
    second.join(30)
    aborting.join(30)
    assert not second.is_alive() and not aborting.is_alive()
    assert failed == []
    (destination,) = opened
    staged = [p.name for p in new.iterdir()]
    assert len(staged) == 1 and staged[0].startswith(".b.spyglass-tmp-"), staged
    destination.abort()  # it did not make the folder: the folder stays, empty
    assert list(new.iterdir()) == []


def test_a_failed_dir_copy_alone_still_takes_back_the_folders_it_made(
        tmp_path: Path) -> None:
    """Waiting for other copies' staging changes nothing when there is none."""
    first = DirDestination(tmp_path / "new" / "a", make_parents=True)
    first.abort()
    assert list(tmp_path.iterdir()) == []


def _open_oci(path: Path) -> object:
    return OCILayoutDestination(path, "x")


OPENERS = {"oci": _open_oci, "dir": DirDestination, "oci check": check_layout_destination,
           "dir check": check_dir_destination}


@pytest.mark.parametrize("opener", OPENERS.values(), ids=OPENERS.keys())
def test_a_missing_folder_above_is_refused_and_nothing_is_made(
        tmp_path: Path, opener: Callable[[Path], object]) -> None:
    """A copy makes its layout's or dir: image's own folder, never the folders above it: a
    mistyped parent is said, as the archives say it (and skopeo refuses it), not made. The
    checks the Copy dialog makes before Copy is pressed say the same."""
    target = tmp_path / "mirorr" / "app"
    with pytest.raises(InvalidLayout) as refused:
        opener(target)
    assert str(refused.value) == (f'The folder "{tmp_path / "mirorr"}" that should hold '
                                  f"{target} does not exist; create it first.")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidLayout, match=r'"[^"]*/file" is a file, not a folder\.$'):
        opener(tmp_path / "file" / "below" / "app")


@pytest.mark.parametrize("kind", ["oci", "dir"])
def test_a_missing_folder_above_a_relative_path_is_named_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    """Named as the archives name it: the folder's whole path, the destination as given."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidLayout) as refused:
        open_destination(f"{kind}:no/app")
    assert str(refused.value) == (f'The folder "{tmp_path / "no"}" that should hold no/app '
                                  "does not exist; create it first.")


def test_make_folders_names_only_the_folders_it_made(tmp_path: Path) -> None:
    (tmp_path / "there").mkdir()
    made = make_folders(tmp_path / "there" / "p" / "q")
    assert made == [tmp_path / "there" / "p", tmp_path / "there" / "p" / "q"]
    assert make_folders(tmp_path / "there" / "p" / "q") == []
    (tmp_path / "there" / "p" / "file").write_text("x")
    remove_made_folders(made)  # q was empty; p holds a file now
    assert [p.name for p in (tmp_path / "there" / "p").iterdir()] == ["file"]
