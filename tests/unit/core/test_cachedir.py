"""The user's cache folder (spyglass.core.cachedir): made below an existing home folder
or $XDG_CACHE_HOME, never a home folder that is not there; the blob-location cache and
the keyring index's lock go by it."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from spyglass.core import blobcache
from spyglass.core.blobcache import default_cache, set_default_cache
from spyglass.core.cachedir import make_cache_folder, user_cache_folder
from spyglass.core.credentials import keyring_store
from spyglass.core.digest import Digest

D1 = Digest.of(b"one")
HOST = "registry.test"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$HOME`` in the test's folder (made by the test, or not), no ``$XDG_CACHE_HOME``."""
    folder = tmp_path / "home"
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return folder


@pytest.fixture
def fresh_default() -> Iterator[None]:
    """The process's blob-location cache found anew for the test, and put back after."""
    old = set_default_cache(None)
    try:
        yield
    finally:
        cache = set_default_cache(old)
        if cache is not None:
            cache.close()


def test_a_missing_home_is_not_made(home: Path, fresh_default: None, caplog) -> None:
    assert user_cache_folder() == home / ".cache" / "spyglass"
    with pytest.raises(FileNotFoundError):
        make_cache_folder(user_cache_folder())
    with caplog.at_level(logging.DEBUG, logger=blobcache.__name__):
        cache = default_cache()
        cache.record(HOST, "a/b", D1)
        assert cache.candidates(HOST, D1) == ["a/b"]  # this session's, in memory
        cache.close()
    assert list(home.parent.iterdir()) == []  # no home, nothing else
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert "in memory" in caplog.records[0].getMessage()


def test_the_keyring_index_lock_does_not_make_a_home(home: Path) -> None:
    with keyring_store._file_lock(keyring_store._INDEX_LOCK):
        pass
    assert not home.exists()


def test_below_an_existing_home_the_cache_folder_is_made_private(
        home: Path, fresh_default: None) -> None:
    home.mkdir()
    cache = default_cache()
    cache.record(HOST, "a/b", D1)
    cache.close()
    assert cache.enabled
    assert (home / ".cache" / "spyglass" / "blob-locations.sqlite").is_file()
    for folder in (home / ".cache", home / ".cache" / "spyglass"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_xdg_cache_home_outside_home_is_made_in_only_when_it_exists(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home.mkdir()
    xdg = tmp_path / "elsewhere" / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    assert user_cache_folder() == xdg / "spyglass"
    with pytest.raises(FileNotFoundError):
        make_cache_folder(user_cache_folder())
    assert not (tmp_path / "elsewhere").exists()
    xdg.mkdir(parents=True)
    make_cache_folder(user_cache_folder())
    assert (xdg / "spyglass").is_dir()
    # one inside the home folder is made like ~/.cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "my" / "cache"))
    make_cache_folder(user_cache_folder())
    assert (home / "my" / "cache" / "spyglass").is_dir()


def test_a_relative_xdg_cache_home_makes_nothing(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    with pytest.raises(FileNotFoundError):
        make_cache_folder(user_cache_folder())
    assert not (tmp_path / "relative").exists()


def test_a_file_in_the_way_is_an_oserror(home: Path) -> None:
    home.mkdir()
    (home / ".cache").write_text("not a folder")
    with pytest.raises(OSError):
        make_cache_folder(user_cache_folder())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_an_older_versions_open_cache_is_made_private_when_used(
        home: Path, fresh_default: None, caplog: pytest.LogCaptureFixture) -> None:
    """Spyglass before 0700 folders made them 0755, and the file 0644: on an upgraded
    machine other users could read which registries and repositories the user works
    with. Only Spyglass's own folder and file are changed: never ~/.cache."""
    home.mkdir()
    with caplog.at_level(logging.INFO):
        cache = default_cache()
        cache.record(HOST, "a/b", D1)
        cache.close()
    folder = home / ".cache" / "spyglass"
    file = folder / "blob-locations.sqlite"
    assert _mode(file) == 0o600  # (a new one too)
    # made so, not set right after (logged as an older Spyglass's)
    assert "older Spyglass" not in caplog.text, caplog.text
    assert [_mode(Path(f"{file}{end}")) for end in ("-wal", "-shm")
            if Path(f"{file}{end}").exists()] in ([], [0o600], [0o600, 0o600])
    for path, mode in ((home / ".cache", 0o755), (folder, 0o755), (file, 0o644)):
        path.chmod(mode)  # as an older Spyglass left them
    set_default_cache(None)
    cache = default_cache()
    assert cache.candidates(HOST, D1) == ["a/b"]
    cache.close()
    assert (_mode(home / ".cache"), _mode(folder), _mode(file)) == (0o755, 0o700, 0o600)


def test_the_settings_folder_an_older_version_made_open_is_made_private(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spyglass.core.settings_file import read_settings

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    folder = tmp_path / "config" / "spyglass"
    folder.mkdir(parents=True)
    (tmp_path / "config").chmod(0o755)
    folder.chmod(0o755)
    read_settings()
    assert (_mode(tmp_path / "config"), _mode(folder)) == (0o755, 0o700)


def test_only_spyglass_own_folders_of_the_user_are_tightened(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a folder the settings were pointed at, not a settings folder that is a link
    into the user's dotfiles, not a folder of another user's."""
    from spyglass.core.settings import Settings
    from spyglass.core.settings_file import read_settings, save_settings

    elsewhere = tmp_path / "elsewhere" / "spyglass"
    elsewhere.mkdir(parents=True)
    elsewhere.chmod(0o755)
    save_settings(Settings(), elsewhere / "settings.json")
    assert _mode(elsewhere) == 0o755
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "spyglass").symlink_to(elsewhere)
    read_settings()
    save_settings(Settings())
    assert _mode(elsewhere) == 0o755
    if os.getuid() == 0:  # (only root can give a folder to another user)
        (tmp_path / "config" / "spyglass").unlink()
        theirs = tmp_path / "config" / "spyglass"
        theirs.mkdir(0o755)
        os.chown(theirs, 65534, 65534)
        read_settings()
        assert _mode(theirs) == 0o755


def test_a_missing_xdg_cache_home_is_made_0700_where_its_parent_exists(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The XDG specification: a destination folder that is not there is made, 0700."""
    home.mkdir()
    xdg = tmp_path / "x-new" / "cache"
    xdg.parent.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    make_cache_folder(user_cache_folder())
    assert (xdg / "spyglass").is_dir()
    assert stat.S_IMODE(xdg.stat().st_mode) == 0o700
