"""User settings: defaults, round trips, the recent list, atomic writes, unusable files."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from spyglass.core import settings as settings_module
from spyglass.core.errors import SpyglassError
from spyglass.core.settings import (
    MAX_RECENT,
    RegistrySettings,
    Settings,
    load_settings,
    normalize_location,
    save_settings,
    settings_path,
)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "settings.json"


def test_settings_live_under_the_user_config_dir(env_sandbox: Path) -> None:
    # conftest points XDG_CONFIG_HOME into the sandbox; platformdirs follows it
    assert settings_path() == env_sandbox / "config" / "spyglass" / "settings.json"


def test_missing_file_gives_defaults(path: Path) -> None:
    loaded = load_settings(path)
    assert loaded == Settings()
    assert loaded.recent_locations == []
    assert loaded.first_run_done is False
    assert loaded.window_geometry == ""
    assert not path.exists()


def test_round_trip(path: Path, tmp_path: Path) -> None:
    original = Settings(
        recent_locations=[str(tmp_path / "a"), str(tmp_path / "b.tar")],
        open_locations=[str(tmp_path / "a")],
        first_run_done=True,
        window_geometry="AdnQywADAAAAAAAA",
    )
    save_settings(original, path)
    assert load_settings(path) == original
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert data["recent_locations"] == original.recent_locations


def test_add_recent_puts_first_dedups_and_caps(tmp_path: Path) -> None:
    s = Settings()
    for i in range(MAX_RECENT + 5):
        s.add_recent(tmp_path / f"layout{i}")
    assert len(s.recent_locations) == MAX_RECENT
    assert s.recent_locations[0] == str(tmp_path / f"layout{MAX_RECENT + 4}")
    # reopening an older one moves it to the front without duplicating it
    s.add_recent(tmp_path / "layout10")
    assert s.recent_locations[0] == str(tmp_path / "layout10")
    assert s.recent_locations.count(str(tmp_path / "layout10")) == 1
    assert len(s.recent_locations) == MAX_RECENT
    # the same place spelled differently is the same place
    s.add_recent(f"{tmp_path}/./layout12/")
    assert s.recent_locations[0] == str(tmp_path / "layout12")
    assert s.recent_locations.count(str(tmp_path / "layout12")) == 1


def test_remove_recent(tmp_path: Path) -> None:
    s = Settings()
    s.add_recent(tmp_path / "a")
    s.add_recent(tmp_path / "b")
    s.remove_recent(tmp_path / "a")
    assert s.recent_locations == [str(tmp_path / "b")]


def test_normalize_location_is_absolute_and_expands_home(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert normalize_location("~/x") == str(tmp_path / "x")
    monkeypatch.chdir(tmp_path)
    assert normalize_location("rel/../y") == str(tmp_path / "y")


def test_duplicates_and_overflow_in_the_file_are_cleaned(path: Path, tmp_path: Path) -> None:
    path.parent.mkdir(parents=True)
    many = [str(tmp_path / f"l{i}") for i in range(15)]
    path.write_text(json.dumps({"recent_locations": [many[0], *many]}), encoding="utf-8")
    loaded = load_settings(path)
    assert loaded.recent_locations == many[:MAX_RECENT]


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe\x00", b"[1, 2, 3]", b'"a string"', b""],
    ids=["broken", "binary", "list", "string", "empty"],
)
def test_corrupt_file_gives_defaults_and_is_set_aside(
    path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger=settings_module.__name__):
        loaded = load_settings(path)
    assert loaded == Settings()
    bad = path.with_name("settings.json.bad")
    assert bad.read_bytes() == content
    assert not path.exists()
    assert "settings.json.bad" in caplog.text
    # the next save writes a fresh file and leaves the bad one alone
    save_settings(Settings(first_run_done=True), path)
    assert load_settings(path).first_run_done is True
    assert bad.read_bytes() == content


def test_a_newer_bad_file_replaces_an_older_one(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.with_name("settings.json.bad").write_bytes(b"old")
    path.write_bytes(b"new {")
    load_settings(path)
    assert path.with_name("settings.json.bad").read_bytes() == b"new {"


def test_unreadable_file_gives_defaults_and_is_set_aside(path: Path) -> None:
    # a folder where the file should be cannot be read as a file on any system
    path.mkdir(parents=True)
    assert load_settings(path) == Settings()
    assert path.with_name("settings.json.bad").is_dir()
    assert not path.exists()


def test_wrong_field_types_fall_back_one_by_one(path: Path, tmp_path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "recent_locations": [str(tmp_path / "ok")],
                "open_locations": "not a list",
                "first_run_done": "yes",
                "window_geometry": 12,
                "future_field": {"kept": False},
            }
        ),
        encoding="utf-8",
    )
    loaded = load_settings(path)
    assert loaded.recent_locations == [str(tmp_path / "ok")]
    assert loaded.open_locations == []
    assert loaded.first_run_done is False
    assert loaded.window_geometry == ""
    assert path.exists()  # a valid file with odd fields is not set aside


def test_save_is_atomic_and_leaves_no_temp_files(path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    save_settings(Settings(first_run_done=True), path)
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(settings_module.os, "replace", broken_replace)
    with pytest.raises(SpyglassError, match="No space left on device") as info:
        save_settings(Settings(first_run_done=False, window_geometry="x"), path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]


def test_save_into_an_unwritable_folder_says_so(unprivileged_dir: Path) -> None:
    folder = unprivileged_dir / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    with pytest.raises(SpyglassError, match="Cannot save the settings"):
        save_settings(Settings(), folder / "settings.json")
    assert list(folder.iterdir()) == []  # nothing half-written left behind


def test_save_creates_the_folder(path: Path) -> None:
    assert not path.parent.exists()
    save_settings(Settings(), path)
    assert path.is_file()


# -- registries


def test_registries_round_trip_without_secrets(path: Path) -> None:
    original = Settings(registries=[
        RegistrySettings("quay.io", "alice", False, ["team/app", "team/db"]),
        RegistrySettings("localhost:5000", insecure=True),
    ])
    save_settings(original, path)
    assert load_settings(path) == original
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["registries"] == [
        {"host": "quay.io", "username": "alice", "insecure": False,
         "repositories": ["team/app", "team/db"]},
        {"host": "localhost:5000", "username": "", "insecure": True, "repositories": []},
    ]
    assert not {"password", "secret", "token"} & set().union(*data["registries"])


def test_a_secret_in_the_file_is_ignored_and_not_repeated(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"registries": [
        {"host": "quay.io", "username": "alice", "password": "hunter2", "token": "t0k3n"},
    ]}), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger=settings_module.__name__):
        loaded = load_settings(path)
    assert loaded.registries == [RegistrySettings("quay.io", "alice")]
    assert '"password", "token"' in caplog.text and "keyring" in caplog.text
    assert "hunter2" not in caplog.text and "t0k3n" not in caplog.text
    save_settings(loaded, path)
    assert "hunter2" not in path.read_text(encoding="utf-8")


def test_unusable_registry_entries_are_skipped_one_by_one(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"registries": [
        "quay.io", {"host": ""}, {"host": "a b"}, {"username": "x"},
        {"host": "Quay.IO", "insecure": "yes", "username": 3, "repositories": "team/app"},
        {"host": "quay.io", "username": "second"},
        {"host": "ghcr.io", "repositories": ["a/b", "a/b", "c/d"]},
    ]}), encoding="utf-8")
    loaded = load_settings(path)
    assert loaded.registries == [RegistrySettings("quay.io"),
                                 RegistrySettings("ghcr.io", repositories=["a/b", "c/d"])]
    path.write_text(json.dumps({"registries": {"host": "quay.io"}}), encoding="utf-8")
    assert load_settings(path).registries == []
    assert path.exists()


def test_set_remove_and_copy_registries() -> None:
    s = Settings()
    s.set_registry(RegistrySettings("quay.io"))
    s.set_registry(RegistrySettings("ghcr.io"))
    s.set_registry(RegistrySettings("QUAY.io", "bob"))  # replaces in place
    assert [(r.host, r.username) for r in s.registries] == [("quay.io", "bob"), ("ghcr.io", "")]
    assert s.registry(" Quay.io ") is s.registries[0]
    snapshot = s.copy()
    s.registries[0].repositories.append("team/app")
    assert snapshot.registries[0].repositories == []
    assert s.remove_registry("quay.io") and not s.remove_registry("quay.io")
    assert [r.host for r in s.registries] == ["ghcr.io"]
    with pytest.raises(SpyglassError, match="not a registry host"):
        RegistrySettings("quay.io/team")


def test_show_attachment_tags_round_trips_and_defaults_off() -> None:
    from spyglass.core.settings import Settings

    assert Settings().show_attachment_tags is False
    settings = Settings(show_attachment_tags=True)
    again = Settings.from_json(settings.to_json())
    assert again.show_attachment_tags is True
    assert Settings.from_json({"show_attachment_tags": "yes"}).show_attachment_tags is False
