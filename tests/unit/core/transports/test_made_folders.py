"""A failed copy into a new OCI layout or ``dir:`` folder takes back the folders it made:
the layout's own and the missing ones above it, each only while empty, and never one that
was there before."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from spyglass.core.digest import Digest
from spyglass.core.errors import TransportError
from spyglass.core.filemodes import make_folders, remove_made_folders
from spyglass.core.transports import dirlayout
from spyglass.core.transports import layout_write as layout_write_module
from spyglass.core.transports.dirlayout import DirDestination
from spyglass.core.transports.layout_write import OCILayoutDestination
from tests.unit.core.transports.test_layout_dest import ChunkStream


def no_space(*_args: object, **_kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_new_layout_on_a_full_disk_leaves_no_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the disk has room for folders (inodes), not for the oci-layout file's bytes
    monkeypatch.setattr(layout_write_module, "replace_file", no_space)
    with pytest.raises(TransportError, match="No space left on device"):
        OCILayoutDestination(tmp_path / "x" / "y" / "newlay", "tiny")
    assert list(tmp_path.iterdir()) == []


def test_a_new_layout_in_a_folder_that_was_there_keeps_that_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kept").mkdir()
    monkeypatch.setattr(layout_write_module, "replace_file", no_space)
    with pytest.raises(TransportError):
        OCILayoutDestination(tmp_path / "kept" / "newlay", "tiny")
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]
    assert list((tmp_path / "kept").iterdir()) == []


def test_a_copy_into_a_new_layout_that_fails_midway_removes_the_folders_it_made(
        tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    destination = OCILayoutDestination(tmp_path / "x" / "y" / "z" / "newlay", "big")
    destination.put_blob(ChunkStream([b"layer"]), media_type="x", digest=Digest.of(b"layer"),
                         size=5)
    destination.abort()  # as the engine does when a later blob fails
    assert [p.name for p in tmp_path.iterdir()] == ["x"]
    assert list((tmp_path / "x").iterdir()) == []


def test_a_folder_someone_else_wrote_in_meanwhile_stays(tmp_path: Path) -> None:
    destination = OCILayoutDestination(tmp_path / "x" / "newlay", "big")
    (tmp_path / "x" / "theirs.txt").write_text("mine")
    destination.abort()
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["theirs.txt"]


def test_a_failed_dir_copy_removes_the_folders_above_it_that_it_made(tmp_path: Path) -> None:
    destination = DirDestination(tmp_path / "a" / "b" / "img")
    destination.put_blob(ChunkStream([b"layer"]), media_type="x", digest=Digest.of(b"layer"),
                         size=5)
    destination.abort()
    assert list(tmp_path.iterdir()) == []


def test_a_dir_copy_that_cannot_stage_removes_the_folders_it_made(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dirlayout, "TempFolder", no_space)
    with pytest.raises(TransportError, match="No space left on device"):
        DirDestination(tmp_path / "a" / "b" / "img")
    assert list(tmp_path.iterdir()) == []


def test_make_folders_names_only_the_folders_it_made(tmp_path: Path) -> None:
    (tmp_path / "there").mkdir()
    made = make_folders(tmp_path / "there" / "p" / "q")
    assert made == [tmp_path / "there" / "p", tmp_path / "there" / "p" / "q"]
    assert make_folders(tmp_path / "there" / "p" / "q") == []
    (tmp_path / "there" / "p" / "file").write_text("x")
    remove_made_folders(made)  # q was empty; p holds a file now
    assert [p.name for p in (tmp_path / "there" / "p").iterdir()] == ["file"]
