"""User settings: defaults, round trips, the recent list, atomic writes, unusable files."""

from __future__ import annotations

import errno
import json
import logging
import os
import stat
import threading
from pathlib import Path

import pytest

from spyglass.core import settings as settings_module
from spyglass.core import settings_file as settings_file_module
from spyglass.core.errors import SpyglassError
from spyglass.core.settings import (
    MAX_RECENT,
    RegistrySettings,
    Settings,
    normalize_location,
    settings_path,
)
from spyglass.core.settings_file import load_settings, read_settings, save_settings


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The settings file in ``$XDG_CONFIG_HOME/spyglass`` (a folder a save may make), both
    in the test's own folder."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "xdg").mkdir()
    return tmp_path / "xdg" / "spyglass" / "settings.json"


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


def test_a_path_whose_name_is_not_utf8_round_trips(path: Path, tmp_path: Path) -> None:
    """A place named with a byte that is not UTF-8 (``bad\\xff``, a surrogate as Python
    reads it) failed the whole save (UnicodeEncodeError): it is written as JSON's
    ``\\udcff`` and read back as the same path; other names stay readable UTF-8."""
    bad = os.fsdecode(os.fsencode(tmp_path) + b"/bad\xff/layout")
    cafe = str(tmp_path / "caf\u00e9")
    original = Settings(recent_locations=[bad, cafe], open_locations=[bad],
                        first_run_done=True)
    save_settings(original, path)
    raw = path.read_bytes()
    assert b"\\udcff" in raw and "caf\u00e9".encode() in raw
    raw.decode("utf-8")  # (strictly)
    assert load_settings(path) == original
    assert os.fsencode(load_settings(path).open_locations[0]).endswith(b"/bad\xff/layout")
    # the merge of a later save tells it apart from what it read, as any path
    base = load_settings(path)
    mine = base.copy()
    mine.add_recent(tmp_path / "next")
    mine.remove_recent(cafe)
    save_settings(mine, path, base=base)
    assert load_settings(path).recent_locations == [str(tmp_path / "next"), bad]


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
    with caplog.at_level(logging.WARNING, logger=settings_file_module.__name__):
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


def test_an_older_bad_file_is_kept_and_the_new_one_takes_a_number(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.with_name("settings.json.bad").write_bytes(b"old")
    path.write_bytes(b"new {")
    loaded = read_settings(path)
    assert path.with_name("settings.json.bad").read_bytes() == b"old"
    assert path.with_name("settings.json.bad.1").read_bytes() == b"new {"
    assert loaded.set_aside == path.with_name("settings.json.bad.1")


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

    monkeypatch.setattr(settings_file_module.os, "replace", broken_replace)
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


def test_a_token_the_window_saved_is_noted_never_the_token_itself(path: Path) -> None:
    """A token typed with no user name is the window's to forget (Remove Registry): the
    settings note that it saved one, as a user name notes a password; the note reads
    back, merges with who signs in, and is left out where there is none."""
    from spyglass.core.settings_merge import merge_settings

    original = Settings(registries=[RegistrySettings("quay.io", saved_token=True),
                                    RegistrySettings("ghcr.io")])
    save_settings(original, path)
    assert load_settings(path) == original
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["registries"][0]["saved_token"] is True
    assert "saved_token" not in data["registries"][1]
    assert [r.keeps_secret for r in original.registries] == [True, False]
    assert RegistrySettings("ghcr.io", "alice").keeps_secret
    assert Settings.from_json({"registries": [{"host": "quay.io", "saved_token": "yes"}]}
                              ).registries == [RegistrySettings("quay.io")]
    # another window signed in as alice instead: one change, not a token and a user
    base = Settings(registries=[RegistrySettings("quay.io", saved_token=True)])
    theirs = Settings(registries=[RegistrySettings("quay.io", "alice")])
    mine = Settings(registries=[RegistrySettings("quay.io", saved_token=True,
                                                 repositories=["team/app"])])
    merged = merge_settings(base, mine, theirs).registries
    assert merged == [RegistrySettings("quay.io", "alice", repositories=["team/app"])]


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


def test_the_passwords_still_to_forget_round_trip_and_merge_as_names() -> None:
    from spyglass.core.settings import Settings
    from spyglass.core.settings_merge import merge_settings

    assert "forget_pending" not in Settings().to_json()  # (only when there are some)
    settings = Settings(forget_pending=["a.example:5000", "b.example"])
    assert Settings.from_json(settings.to_json()).forget_pending == ["a.example:5000",
                                                                      "b.example"]
    assert Settings.from_json({"forget_pending": [1]}).forget_pending == []
    # one window removed a.example's password, the other noted c.example's meanwhile
    base = Settings(forget_pending=["a.example"])
    mine = Settings(forget_pending=[])
    theirs = Settings(forget_pending=["a.example", "c.example"])
    assert merge_settings(base, mine, theirs).forget_pending == ["c.example"]


@pytest.mark.parametrize("code", [errno.EACCES, errno.EIO])
def test_a_file_that_cannot_be_read_is_left_as_it_is_and_never_rewritten(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    """Root's file after sudo spyglass, an I/O error on a network home folder: it was
    renamed aside like text that is not JSON, and a new one took its place, so fixing
    the permission no longer brought the registries back."""
    from spyglass.core.settings import Settings

    path = tmp_path / "settings.json"
    text = '{"version": 1, "registries": [{"host": "quay.io"}]}'
    path.write_text(text, encoding="utf-8")
    read_bytes = Path.read_bytes

    def refused(self: Path) -> bytes:
        if self == path:
            raise OSError(code, os.strerror(code), str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", refused)
    loaded = read_settings(path)
    assert loaded.settings.registries == [] and loaded.set_aside is None
    assert sorted(os.listdir(tmp_path)) == ["settings.json"]
    assert loaded.notice() == (
        f'The settings file "{path}" cannot be read ({os.strerror(code)}), so Spyglass '
        "started without the registries and places it keeps. Spyglass does not change "
        "that file, so changes made in this window last only until Spyglass quits. Make "
        'it readable again (one made by sudo spyglass belongs to root: sudo chown "$USER" '
        f'"{path}"), then start Spyglass again.')
    with pytest.raises(SpyglassError) as info:
        save_settings(Settings(first_run_done=True), path, base=loaded.settings)
    assert str(info.value) == loaded.notice()
    assert path.read_text(encoding="utf-8") == text
    assert not any(name.endswith(".bad") for name in os.listdir(tmp_path))


def test_a_long_list_of_open_places_is_read_and_saved_in_linear_time(tmp_path: Path) -> None:
    """Each place was looked for in a list: 20,000 took 12 s before the window opened."""
    import time

    from spyglass.core.settings import Settings

    path = tmp_path / "settings.json"
    places = [f"/media/x/layout{i}" for i in range(50_000)]
    path.write_text(json.dumps({"version": 1, "first_run_done": True,
                                "open_locations": places + places[:10]}), encoding="utf-8")
    started = time.monotonic()
    loaded = read_settings(path)
    save_settings(loaded.settings, path, base=loaded.settings)
    assert time.monotonic() - started < 5.0  # (a list: over a minute)
    assert loaded.settings.open_locations == places  # (each once, in order)
    assert Settings.from_json(json.loads(path.read_text())).open_locations == places


# -- two windows: every save merges with what the file holds now


def _two_readers(path: Path, original: Settings) -> tuple[Settings, Settings, Settings]:
    """The file saved with ``original``, and two windows' reads of it: (base, a, b)."""
    save_settings(original, path)
    base = load_settings(path)
    return base, base.copy(), base.copy()


def test_two_windows_keep_each_others_registries(path: Path) -> None:
    base, a, b = _two_readers(path, Settings(registries=[
        RegistrySettings("quay.io", "alice", repositories=["team/app"]),
        RegistrySettings("ghcr.io"),
        RegistrySettings("old.example"),
    ]))
    a.set_registry(RegistrySettings("a.example:5000", insecure=True))
    a.remove_registry("old.example")
    save_settings(a, path, base=base)
    b.set_registry(RegistrySettings("b.example"))
    b.registry("quay.io").repositories.append("team/db")  # type: ignore[union-attr]
    b.registry("ghcr.io").username = "bob"  # type: ignore[union-attr]
    written = save_settings(b, path, base=base).settings
    loaded = load_settings(path)
    assert loaded == written
    assert [(r.host, r.username, r.insecure, r.repositories) for r in loaded.registries] == [
        ("quay.io", "alice", False, ["team/app", "team/db"]),
        ("ghcr.io", "bob", False, []),
        ("a.example:5000", "", True, []),
        ("b.example", "", False, []),
    ]
    # the later save's window goes on from what it wrote: its next save loses nothing
    b.take(written)
    b.first_run_done = True
    save_settings(b, path, base=written)
    assert load_settings(path).registries == loaded.registries


def test_a_field_changed_elsewhere_is_kept_and_one_changed_here_wins(path: Path) -> None:
    base, a, b = _two_readers(path, Settings(window_geometry="g0"))
    a.show_attachment_tags = True  # A's change
    save_settings(a, path, base=base)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["open_locations"] = ["/by/hand"]  # and a hand edit while both are open
    path.write_text(json.dumps(data), encoding="utf-8")
    b.window_geometry = "g-b"
    save_settings(b, path, base=base)
    loaded = load_settings(path)
    assert loaded.show_attachment_tags is True
    assert loaded.open_locations == ["/by/hand"]
    assert loaded.window_geometry == "g-b"


def test_a_registry_removed_elsewhere_stays_removed(path: Path) -> None:
    base, a, b = _two_readers(path, Settings(registries=[
        RegistrySettings("quay.io"), RegistrySettings("ghcr.io")]))
    a.remove_registry("ghcr.io")
    save_settings(a, path, base=base)
    b.first_run_done = True
    save_settings(b, path, base=base)
    assert [r.host for r in load_settings(path).registries] == ["quay.io"]


def test_recent_places_merge(path: Path, tmp_path: Path) -> None:
    places = [str(tmp_path / f"p{i}") for i in range(4)]
    base, a, b = _two_readers(path, Settings(recent_locations=places[:3]))
    a.add_recent(tmp_path / "opened-in-a")
    save_settings(a, path, base=base)
    b.add_recent(places[2])  # reopened: first now
    b.add_recent(tmp_path / "opened-in-b")
    b.remove_recent(places[0])  # it failed to open in B
    save_settings(b, path, base=base)
    assert load_settings(path).recent_locations == [
        str(tmp_path / "opened-in-b"), places[2], str(tmp_path / "opened-in-a"), places[1]]
    # Clear Recent takes what the window saw, not what was opened elsewhere since
    base = load_settings(path)
    c, d = base.copy(), base.copy()
    d.add_recent(places[3])
    save_settings(d, path, base=base)
    c.recent_locations = []
    save_settings(c, path, base=base)
    assert load_settings(path).recent_locations == [places[3]]


def test_saves_from_two_threads_do_not_interleave(path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The read, merge and write of one save happen under the lock file: a second save
    waits for the first, then merges with what it wrote."""
    base, a, b = _two_readers(path, Settings())
    a.set_registry(RegistrySettings("a.example"))
    b.set_registry(RegistrySettings("b.example"))
    inside, go_on = threading.Event(), threading.Event()
    real_merge = settings_file_module.merge_settings

    def slow_merge(*args: Settings | None) -> Settings:
        if threading.current_thread().name == "first":
            inside.set()
            assert go_on.wait(10)
        return real_merge(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(settings_file_module, "merge_settings", slow_merge)
    first = threading.Thread(target=save_settings, args=(a, path), kwargs={"base": base},
                             name="first")
    first.start()
    assert inside.wait(10)
    assert path.with_name("settings.json.lock").exists()
    second = threading.Thread(target=save_settings, args=(b, path), kwargs={"base": base})
    second.start()
    second.join(0.3)
    assert second.is_alive()  # waiting for the lock
    go_on.set()
    first.join(10)
    second.join(10)
    assert [r.host for r in load_settings(path).registries] == ["a.example", "b.example"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]


# -- a newer version's file, and fields of the wrong type


NEWER_KEYS = {
    "theme": "dark",
    "proxies": {"https": "http://proxy.test:3128"},
}


def test_unknown_keys_are_kept_at_the_top_and_in_registries(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({
        "version": 1, **NEWER_KEYS,
        "registries": [{"host": "quay.io", "username": "alice", "ca_file": "/etc/ca.pem",
                        "mirror_of": "docker.io"}],
    }), encoding="utf-8")
    loaded = load_settings(path)
    loaded.first_run_done = True
    # an edit in the window makes a new entry: the keys it does not know stay
    loaded.set_registry(RegistrySettings("quay.io", "bob"))
    save_settings(loaded, path, base=load_settings(path))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert {k: data[k] for k in NEWER_KEYS} == NEWER_KEYS
    assert data["registries"] == [{"host": "quay.io", "username": "bob", "insecure": False,
                                   "repositories": [], "ca_file": "/etc/ca.pem",
                                   "mirror_of": "docker.io"}]
    assert data["first_run_done"] is True
    # and without a base, too
    save_settings(Settings(registries=[RegistrySettings("quay.io")]), path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["theme"] == "dark" and data["registries"][0]["ca_file"] == "/etc/ca.pem"


def test_a_newer_versions_file_is_read_but_never_rewritten(path: Path) -> None:
    path.parent.mkdir(parents=True)
    text = json.dumps({"version": 2, "first_run_done": True, **NEWER_KEYS,
                       "registries": [{"host": "quay.io", "repositories": [{"name": "a"}]}]})
    path.write_text(text, encoding="utf-8")
    loaded = read_settings(path)
    assert loaded.newer_version == 2
    assert loaded.settings.first_run_done is True
    assert "newer Spyglass" in loaded.notice() and str(path) in loaded.notice()
    with pytest.raises(SpyglassError, match="newer Spyglass") as info:
        save_settings(loaded.settings, path, base=loaded.settings.copy())
    assert "last only until Spyglass quits" in str(info.value)
    assert path.read_text(encoding="utf-8") == text
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]


def test_fields_left_out_are_copied_aside_before_the_file_is_rewritten(path: Path) -> None:
    path.parent.mkdir(parents=True)
    text = json.dumps({"registries": [
        {"host": "quay.io", "insecure": "true", "repositories": "team/app"}],
        "first_run_done": True})
    path.write_text(text, encoding="utf-8")
    path.with_name("settings.json.bad").write_bytes(b"an older one")
    loaded = read_settings(path)
    assert loaded.problems == ['"insecure" of the registry quay.io (expected true or false)',
                               '"repositories" of the registry quay.io (expected a list of '
                               "names)"]
    assert loaded.notice() == ""  # said once the copy is made
    saved = save_settings(loaded.settings, path, base=loaded.settings.copy())
    copy = path.with_name("settings.json.bad.1")
    assert saved.backup == copy and copy.read_text(encoding="utf-8") == text
    assert path.with_name("settings.json.bad").read_bytes() == b"an older one"
    assert saved.notice() == (
        f'Some settings in "{path}" could not be used and were left out: "insecure" of the '
        'registry quay.io (expected true or false); "repositories" of the registry quay.io '
        f'(expected a list of names). The file as it was is kept as "{copy}".')
    # the file rewritten has nothing left out: the next save copies nothing
    again = save_settings(load_settings(path), path)
    assert again.backup is None and again.notice() == ""
    assert len(list(path.parent.glob("settings.json.bad*"))) == 2


def test_registries_of_the_wrong_type_are_not_lost_without_a_copy(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"registries": {"x": [{"host": "quay.io"}]}}), encoding="utf-8")
    loaded = read_settings(path)
    assert loaded.problems == ['"registries" (expected a list of registries)']
    saved = save_settings(loaded.settings, path, base=loaded.settings.copy())
    assert saved.backup is not None
    assert json.loads(saved.backup.read_text(encoding="utf-8"))["registries"] == {
        "x": [{"host": "quay.io"}]}


def test_a_file_damaged_while_open_is_set_aside_before_the_save(path: Path) -> None:
    base = Settings(registries=[RegistrySettings("quay.io")])
    save_settings(base, path)
    path.write_bytes(b'{"registries": [')  # a hand edit half done
    mine = base.copy()
    mine.first_run_done = True
    saved = save_settings(mine, path, base=base)
    assert saved.backup == path.with_name("settings.json.bad")
    assert saved.backup.read_bytes() == b'{"registries": ['
    assert "could not be used" in saved.notice()
    assert load_settings(path) == mine  # what the window had, not the defaults


# -- a symbolic link, and no home folder


def test_a_linked_settings_file_stays_a_link(path: Path, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "spyglass.json"
    save_settings(Settings(registries=[RegistrySettings("quay.io")]), target)
    target.chmod(0o644)
    path.parent.mkdir(parents=True)
    path.symlink_to(target)
    loaded = load_settings(path)
    assert [r.host for r in loaded.registries] == ["quay.io"]
    loaded.first_run_done = True
    save_settings(loaded, path, base=load_settings(path))
    assert path.is_symlink() and path.resolve() == target
    assert load_settings(target).first_run_done is True
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # the file replaced keeps its mode
    assert sorted(p.name for p in dotfiles.iterdir()) == ["spyglass.json"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["settings.json"]


def test_a_link_to_nothing_makes_the_file_it_names(path: Path, tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "spyglass.json"
    target.parent.mkdir()
    path.parent.mkdir(parents=True)
    path.symlink_to(target)
    assert read_settings(path).settings == Settings()
    save_settings(Settings(first_run_done=True), path)
    assert path.is_symlink() and load_settings(target).first_run_done is True


def test_a_damaged_linked_file_is_set_aside_beside_what_it_leads_to(path: Path,
                                                                    tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "spyglass.json"
    target.parent.mkdir()
    target.write_bytes(b"{oops")
    path.parent.mkdir(parents=True)
    path.symlink_to(target)
    loaded = read_settings(path)
    assert loaded.set_aside == target.with_name("spyglass.json.bad")
    save_settings(Settings(first_run_done=True), path)
    assert path.is_symlink() and load_settings(target).first_run_done is True


def test_no_home_folder_is_made_for_the_settings(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "nonexistent" / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    path = settings_path()
    assert path == home / ".config" / "spyglass" / "settings.json"
    loaded = read_settings()
    assert loaded.not_kept
    assert loaded.notice() == (
        f'The settings cannot be kept: the home folder "{home}" does not exist, and '
        "Spyglass makes no home folder. Changes made in this window last only until "
        "Spyglass quits.")
    with pytest.raises(SpyglassError) as info:
        save_settings(Settings(first_run_done=True))
    assert str(info.value) == loaded.notice()
    assert not (tmp_path / "nonexistent").exists()
    # a home folder that is there gets its .config/spyglass
    home.mkdir(parents=True)
    assert not read_settings().not_kept
    save_settings(Settings(first_run_done=True))
    assert load_settings().first_run_done is True


@pytest.mark.parametrize(("code", "advice", "not_said"), [
    (errno.ENOSPC, "Free some space on that disk", "writ"),
    (errno.EROFS, "unless that file system is made writable", "Free some space"),
    (errno.EACCES, "Check that you may write to", "Free some space"),
])
def test_a_failed_save_gives_the_advice_that_fits(path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  code: int, advice: str, not_said: str) -> None:
    def refused(src: str, dst: str) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(settings_file_module.os, "replace", refused)
    with pytest.raises(SpyglassError) as info:
        save_settings(Settings(), path)
    said = str(info.value)
    assert said.startswith(f'Cannot save the settings to "{path}": {os.strerror(code)}.')
    assert advice in said and not_said not in said.split(":", 2)[-1]


def test_a_missing_xdg_config_home_is_made_where_its_parent_exists(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "x-new" / "config"))
    (tmp_path / "x-new").mkdir()
    assert not read_settings().not_kept
    save_settings(Settings(first_run_done=True))
    assert load_settings().first_run_done is True
    assert stat.S_IMODE((tmp_path / "x-new" / "config").stat().st_mode) == 0o700


def _read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """``folder`` may not be written to, for root too (who may write anywhere)."""
    from spyglass.core import cachedir

    real = os.access
    monkeypatch.setattr(cachedir.os, "access", lambda path, mode, **kw: (
        False if Path(path) == folder and mode & os.W_OK else real(path, mode, **kw)))
    if os.geteuid() != 0:
        folder.chmod(0o555)


def test_a_read_only_home_says_at_start_the_settings_are_not_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    _read_only(monkeypatch, home)
    try:
        loaded = read_settings()
        assert loaded.not_kept
        assert loaded.notice() == (
            f'The settings cannot be kept: the folder "{home / ".config" / "spyglass"}" '
            f'cannot be made: you may not write to "{home}" (a read-only home folder?). '
            "Changes made in this window last only until Spyglass quits.")
    finally:
        home.chmod(0o755)


def test_a_save_refused_where_the_folder_would_be_made_names_that_folder(
        tmp_path: Path) -> None:
    """mkdir refused in the home folder: the advice named ~/.config/spyglass, which is not
    there, and a file "made by sudo spyglass" that is not there either."""
    home = tmp_path / "home"
    home.mkdir()
    folder = home / ".config" / "spyglass"
    refused = PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    said = settings_file_module._save_failure(refused, folder / "settings.json", folder)
    assert said == (
        f'Cannot save the settings to "{folder / "settings.json"}": Permission denied. '
        f'Check that you may write to "{home}", where "{folder}" would be made. Until then, '
        "changes made in this window last only until Spyglass quits.")
    folder.mkdir(parents=True)
    said = settings_file_module._save_failure(refused, folder / "settings.json", folder)
    assert "sudo" not in said and f'may write to "{folder}".' in said
