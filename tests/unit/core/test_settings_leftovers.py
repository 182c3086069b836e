"""What other runs leave beside the settings file: a lock file this user cannot write or
that is a folder, a lock another program holds, a save's temporary file, a file nested
too deeply to read, one whose fields left out cannot be copied aside."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import threading
import time
from pathlib import Path

import pytest

from spyglass.core import settings_file as settings_file_module
from spyglass.core.errors import SpyglassError
from spyglass.core.settings import Settings
from spyglass.core.settings_file import load_settings, read_settings, save_settings
from spyglass.core.transports import file_lock

assert file_lock.exclusive_lock  # imported before a test runs as nobody (the venv is root's)


def _lock(path: Path) -> Path:
    return path.with_name("settings.json.lock")


def test_a_lock_file_this_user_may_not_write_does_not_stop_a_save(
        unprivileged_dir: Path) -> None:
    """Left by ``sudo spyglass`` killed mid-save: flock needs no write access to it."""
    path = unprivileged_dir / "settings.json"
    _lock(path).write_bytes(b"")
    _lock(path).chmod(0o444)
    save_settings(Settings(first_run_done=True), path)
    assert load_settings(path).first_run_done is True
    assert not _lock(path).exists()  # taken, and removed as every save's is


def test_a_lock_file_that_cannot_be_used_is_named(unprivileged_dir: Path) -> None:
    path = unprivileged_dir / "settings.json"
    _lock(path).write_bytes(b"")
    _lock(path).chmod(0)
    with pytest.raises(SpyglassError) as info:
        save_settings(Settings(), path)
    assert str(info.value).startswith(
        f'Cannot save the settings to "{path}": the lock file "{_lock(path)}" cannot be '
        "used (Permission denied). Remove that file:")


def test_a_folder_where_the_lock_file_goes_is_named(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    _lock(path).mkdir()
    with pytest.raises(SpyglassError) as info:
        save_settings(Settings(), path)
    assert str(info.value).startswith(
        f'Cannot save the settings to "{path}": the lock file "{_lock(path)}" cannot be '
        "used (Is a directory). Remove that folder:")


def test_a_lock_held_elsewhere_fails_the_save_in_time_and_the_next_one_saves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Spyglass stopped mid-save holds the lock: the save used to wait for ever."""
    monkeypatch.setattr(settings_file_module, "LOCK_WAIT", 0.3, raising=False)
    path = tmp_path / "settings.json"
    holder = os.open(_lock(path), os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    failed: list[str] = []

    def save() -> None:
        try:
            save_settings(Settings(first_run_done=True), path)
        except SpyglassError as exc:
            failed.append(str(exc))

    saver = threading.Thread(target=save, daemon=True)
    try:
        saver.start()
        saver.join(timeout=20)
        ended = not saver.is_alive()
    finally:
        os.close(holder)
    saver.join()
    assert ended, "the save still waits for the lock"
    assert len(failed) == 1
    assert failed[0].startswith(f'Cannot save the settings to "{path}" now: it is being '
                                f'saved by another program, which has held "{_lock(path)}"')
    assert not path.exists()
    save_settings(Settings(first_run_done=True), path)  # let go of: saved
    assert load_settings(path).first_run_done is True


def test_a_temporary_file_a_killed_save_left_is_removed_by_the_next(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    stale = tmp_path / ".settings.json.84jld3qq.tmp"
    fresh = tmp_path / ".settings.json.abcdefgh.tmp"  # (maybe being written)
    other = tmp_path / ".other.json.84jld3qq.tmp"
    for left in (stale, fresh, other):
        left.write_text("{}", encoding="utf-8")
    long_ago = time.time() - 3600
    for old in (stale, other):
        os.utime(old, (long_ago, long_ago))
    save_settings(Settings(first_run_done=True), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".other.json.84jld3qq.tmp", ".settings.json.abcdefgh.tmp", "settings.json"])


def test_a_file_nested_too_deeply_is_set_aside_as_not_json(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    loaded = read_settings(path)
    assert loaded.unusable == "it is not valid JSON: it is nested too deeply"
    assert loaded.set_aside == path.with_name("settings.json.bad")
    assert loaded.settings == Settings()


def test_fields_left_out_are_said_when_the_file_cannot_be_copied_aside(
        unprivileged_dir: Path) -> None:
    """The copy aside failing was said as the failure alone: what was left out, never."""
    path = unprivileged_dir / "settings.json"
    path.write_text(json.dumps({"first_run_done": "yes"}), encoding="utf-8")
    _lock(path).write_bytes(b"")  # (a lock file there: the lock is had in a folder…)
    loaded = read_settings(path)
    unprivileged_dir.chmod(0o500)  # …where no copy can be made
    try:
        with pytest.raises(SpyglassError) as info:
            save_settings(loaded.settings, path, base=loaded.settings.copy())
    finally:
        unprivileged_dir.chmod(0o700)
    assert str(info.value).startswith(
        f'Some settings in "{path}" could not be used and were left out: "first_run_done" '
        "(expected true or false). The file is left as it is until the settings can be "
        f'saved. Cannot save the settings to "{path}": Permission denied.')
    assert json.loads(path.read_text(encoding="utf-8")) == {"first_run_done": "yes"}


def test_a_lock_the_filesystem_cannot_take_is_not_said_to_be_removed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """flock failing (ENOLCK: a network home without a lock service) said "Remove that
    file" of the lock file the save itself had just made, which would not help."""
    path = tmp_path / "settings.json"

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(SpyglassError) as info:
        save_settings(Settings(first_run_done=True), path)
    assert str(info.value) == (
        f'Cannot save the settings to "{path}": its lock file "{_lock(path)}" cannot be '
        "locked (No locks available): the filesystem of that folder may not support file "
        "locks (a network home folder without a lock service, say). Changes made in this "
        "window last only until Spyglass quits.")
