"""The window and its settings file: two windows at once keep each other's changes, and
what goes wrong with the file (it cannot be read, a newer Spyglass wrote it, fields were
left out, a save fails, there is no home folder) is said in the window."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton
from pytestqt.qtbot import QtBot

from spyglass.core import settings_file as settings_file_module
from spyglass.core.settings import RegistrySettings, Settings, normalize_location, settings_path
from spyglass.core.settings_file import load_settings, read_settings, save_settings
from spyglass.gui.main_window import MainWindow
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import WAIT_MS, add_registry, fill_registry_dialog, test_connection
from tests.helpers.imagebuild import multi_platform_layout

Windows = Callable[..., MainWindow]


def saved(settings_file: Path) -> Settings:
    return load_settings(settings_file)


def test_two_windows_keep_what_each_other_saved(
        qtbot: QtBot, make_window: Windows, settings_file: Path, tmp_layout: Path,
        demo_registry: RegistryFacts) -> None:
    """Both read the file at start; each save merges with what the file holds by then.
    The last one to close used to write its old copy over the other's registry."""
    save_settings(Settings(first_run_done=True,
                           registries=[RegistrySettings("127.0.0.1:9", insecure=True)]),
                  settings_file)
    first = make_window(load_settings(settings_file))
    second = make_window(load_settings(settings_file))
    host = demo_registry.host

    add_registry(qtbot, first, host, insecure=True)
    qtbot.waitUntil(lambda: saved(settings_file).registry(host) is not None, timeout=WAIT_MS)
    second.open_location(tmp_layout)
    layout = normalize_location(tmp_layout)
    qtbot.waitUntil(lambda: saved(settings_file).recent_locations == [layout],
                    timeout=WAIT_MS)
    # the second window's save kept the first one's registry, and took it in
    assert [r.host for r in saved(settings_file).registries] == ["127.0.0.1:9", host]
    qtbot.waitUntil(lambda: host in second.registries.model.hosts, timeout=WAIT_MS)
    assert second.settings.registry(host) == RegistrySettings(host, "", True, [])

    # a registry removed in one window goes from the other too, and stays gone
    second.registries.confirm = lambda *_args: True
    assert second.registries.remove_registry("127.0.0.1:9")
    qtbot.waitUntil(lambda: saved(settings_file).registry("127.0.0.1:9") is None,
                    timeout=WAIT_MS)
    first.close()
    second.close()
    final = saved(settings_file)
    assert [r.host for r in final.registries] == [host]
    assert final.recent_locations == [layout]
    assert final.open_locations == [layout]  # the second window closed last, with it open


def test_closing_while_a_save_waits_behind_a_slow_one_keeps_the_recent_places(
        qtbot: QtBot, make_window: Callable[..., MainWindow], settings_file: Path,
        tmp_layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A save still waiting at close (behind one a slow disk held) was cancelled, and the
    closing save, merged against it, took the file's older recent places (none) for a
    change to keep: the place just opened was gone from Open Recent at the next start."""
    import threading

    from spyglass.gui import window_settings

    slow_disk = threading.Event()
    released = threading.Event()
    real = window_settings.save_settings

    def save(*args: object, **kwargs: object) -> object:
        if slow_disk.is_set():
            slow_disk.clear()
            released.wait(1.0)  # the disk takes its time
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(window_settings, "save_settings", save)
    window = make_window(Settings(first_run_done=True))
    qtbot.waitUntil(lambda: not window._saves_pending, timeout=WAIT_MS)
    slow_disk.set()
    window.save_settings_later()  # held by the disk
    window.open_location(tmp_layout)  # its save waits behind that one
    layout = normalize_location(tmp_layout)
    qtbot.waitUntil(lambda: window.settings.recent_locations == [layout], timeout=WAIT_MS)
    assert window._saves_pending >= 2
    window.close()
    saved = load_settings(settings_file)
    assert saved.recent_locations == saved.open_locations == [layout]


def test_saves_made_while_the_disk_is_slow_are_written_as_one(
        qtbot: QtBot, make_window: Callable[..., MainWindow], settings_file: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each change queued a save of its own behind a slow one, all waited for at close:
    the closing save came after them, past the close's wait, and never reached the file.
    Those not started yet are one save now, of the latest settings."""
    import threading

    from spyglass.gui import window_settings

    slow_disk = threading.Event()
    released = threading.Event()
    written: list[list[str]] = []
    real = window_settings.save_settings

    def save(settings: Settings, *args: object, **kwargs: object) -> object:
        if slow_disk.is_set():
            slow_disk.clear()
            released.wait(10)  # the disk takes its time (until the places are open)
        written.append(list(settings.recent_locations))
        return real(settings, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(window_settings, "save_settings", save)
    window = make_window(Settings(first_run_done=True))
    qtbot.waitUntil(lambda: not window._saves_pending, timeout=WAIT_MS)
    written.clear()
    slow_disk.set()
    window.save_settings_later()  # held by the disk
    places = []
    for number in range(5):
        place = tmp_path / f"layout-{number}"
        multi_platform_layout(place)
        window.open_location(place)
        places.insert(0, normalize_location(place))
    # (in the order their loads end, which a busy machine may change)
    qtbot.waitUntil(lambda: sorted(window.settings.recent_locations) == sorted(places),
                    timeout=WAIT_MS)
    assert window._saves_pending == 2  # the one written, and one for all the others
    released.set()
    window.close()
    saved = load_settings(settings_file)
    assert sorted(saved.recent_locations) == sorted(saved.open_locations) == sorted(places)
    # the slow one, then one for the five places (not one each); the close's own save may
    # come after it, where the machine is slow enough that the close finds it done
    assert len(written) in (2, 3) and sorted(written[-1]) == sorted(places), written


def test_a_file_that_cannot_be_read_is_said_in_the_window(
        make_window: Windows, settings_file: Path) -> None:
    settings_file.write_bytes(b'{"registries": [{"host": "quay.io"}')
    loaded = read_settings(settings_file)
    window = make_window(loaded.settings, settings_read=loaded)
    bad = settings_file.with_name("settings.json.bad")
    assert window.settings_banner.text == (
        f'The settings file "{settings_file}" could not be used (it is not valid JSON: '
        "Expecting ',' delimiter: line 1 column 36 (char 35)), so Spyglass started without "
        f'the registries and places it kept. The file was renamed to "{bad}": what it held '
        "is there.")
    assert window.settings_banner.isVisible()
    assert bad.read_bytes() == b'{"registries": [{"host": "quay.io"}'


def test_fields_left_out_are_said_once_the_file_is_copied_aside(
        qtbot: QtBot, make_window: Windows, settings_file: Path) -> None:
    text = json.dumps({"first_run_done": True, "theme": "dark",
                       "registries": [{"host": "127.0.0.1:9", "insecure": "true"}]})
    settings_file.write_text(text, encoding="utf-8")
    loaded = read_settings(settings_file)
    window = make_window(loaded.settings, settings_read=loaded)
    copy = settings_file.with_name("settings.json.bad")
    qtbot.waitUntil(lambda: window.settings_banner.isVisible(), timeout=WAIT_MS)
    assert window.settings_banner.text == (
        f'Some settings in "{settings_file}" could not be used and were left out: '
        '"insecure" of the registry 127.0.0.1:9 (expected true or false). The file as it '
        f'was is kept as "{copy}".')
    assert copy.read_text(encoding="utf-8") == text
    rewritten = json.loads(settings_file.read_text(encoding="utf-8"))
    assert rewritten["theme"] == "dark"
    assert rewritten["registries"][0]["insecure"] is False


def test_a_newer_spyglass_file_is_said_once_and_never_rewritten(
        qtbot: QtBot, make_window: Windows, settings_file: Path) -> None:
    text = json.dumps({"version": 2, "first_run_done": True, "theme": "dark"})
    settings_file.write_text(text, encoding="utf-8")
    loaded = read_settings(settings_file)
    window = make_window(loaded.settings, settings_read=loaded)
    said = window.settings_banner.text
    assert said.startswith(f'The settings file "{settings_file}" was written by a newer '
                           "Spyglass (settings format 2; this one knows format 1).")
    qtbot.mouseClick(window.settings_banner.findChild(QToolButton), Qt.MouseButton.LeftButton)
    assert not window.settings_banner.isVisible()  # dismissed
    window.settings.add_recent("/somewhere")
    window.save_settings_later()
    qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
    assert not window.settings_banner.isVisible()  # said once
    assert window.status_text == ""
    # a change the person expects saved (an edited registry) is said not to be
    window.save_settings_later(said="Saved the settings of 127.0.0.1:9.")
    qtbot.waitUntil(lambda: window.status_text == said, timeout=WAIT_MS)
    assert not window.settings_banner.isVisible()
    window.close()
    assert settings_file.read_text(encoding="utf-8") == text


def test_a_failed_save_is_said_and_an_edit_is_saved_only_once_saved(
        qtbot: QtBot, make_window: Windows, settings_file: Path,
        demo_registry: RegistryFacts, monkeypatch: pytest.MonkeyPatch) -> None:
    host = demo_registry.host
    window = make_window(Settings(first_run_done=True,
                                  registries=[RegistrySettings(host, insecure=True)]))

    def full(target: Path, text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(settings_file_module, "_write", full)
    dialog = window.registries.edit_registry(host)
    assert dialog is not None
    fill_registry_dialog(qtbot, dialog, host, "bob", "pw")
    assert test_connection(qtbot, dialog).startswith("Connected\n")
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.settings_banner.isVisible(), timeout=WAIT_MS)
    failure = window.settings_banner.text
    assert failure.startswith(f'Cannot save the settings to "{settings_file}": No space '
                              "left on device. Free some space on that disk")
    assert "writable" not in failure
    assert window.status_text != f"Saved the settings of {host}."
    assert not settings_file.exists()

    # space again: the next edit is saved, said once it is, and the notice goes
    monkeypatch.undo()
    dialog = window.registries.edit_registry(host)
    assert dialog is not None
    fill_registry_dialog(qtbot, dialog, host, "carol", "pw")
    assert test_connection(qtbot, dialog).startswith("Connected\n")
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.status_text == f"Saved the settings of {host}.",
                    timeout=WAIT_MS)
    assert saved(settings_file).registry(host) == RegistrySettings(host, "carol", True)
    assert not window.settings_banner.isVisible()


def test_without_a_home_folder_the_window_says_the_settings_are_not_kept(
        qtbot: QtBot, make_window: Windows, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "nonexistent" / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    loaded = read_settings()
    window = make_window(loaded.settings, settings_read=loaded, settings_file=settings_path())
    said = window.settings_banner.text
    assert said == (f'The settings cannot be kept: the home folder "{home}" does not exist, '
                    "and Spyglass makes no home folder. Changes made in this window last "
                    "only until Spyglass quits.")
    window.settings.add_recent("/somewhere")
    window.save_settings_later()
    qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
    assert window.settings_banner.text == said  # once
    window.close()
    assert not (tmp_path / "nonexistent").exists()


# -- a save queued behind another


def _hold_the_lock(settings_file: Path) -> int:
    """Hold ``settings.json.lock`` as another window's save (or a slow disk) would."""
    import fcntl

    fd = os.open(settings_file.with_name("settings.json.lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _saved(window: MainWindow) -> bool:
    return window._saves_pending == 0


def test_a_change_undone_while_a_save_waits_stays_undone(
        qtbot: QtBot, make_window: Callable[..., MainWindow], settings_file: Path,
        tmp_layout: Path, demo_registry: RegistryFacts) -> None:
    # the second save merged against the settings from before the first change: what
    # the second undid (Clear Recent after an open, a registry removed after it was
    # added, a switch turned back) came back in the file and the window
    save_settings(Settings(first_run_done=True, recent_locations=["/old/a"]), settings_file)
    window = make_window(load_settings(settings_file))
    host = demo_registry.host
    fd = _hold_the_lock(settings_file)
    try:
        window.open_location(tmp_layout)
        layout = normalize_location(tmp_layout)
        qtbot.waitUntil(lambda: window.settings.recent_locations[:1] == [layout],
                        timeout=WAIT_MS)
        window._clear_recent()
        add_registry(qtbot, window, host, insecure=True)
        window.registries.confirm = lambda *_args: True
        assert window.registries.remove_registry(host)
        window.registries.set_show_attachments(True)
        window.registries.set_show_attachments(False)
        assert window._saves_pending > 1
    finally:
        os.close(fd)
    qtbot.waitUntil(lambda: _saved(window), timeout=WAIT_MS)
    on_disk = load_settings(settings_file)
    assert on_disk.recent_locations == [] and window.settings.recent_locations == []
    assert on_disk.registry(host) is None and window.settings.registry(host) is None
    assert not on_disk.show_attachment_tags and not window.registries.show_attachments


def test_a_place_whose_name_is_not_utf8_is_remembered_as_it_is(
        qtbot: QtBot, make_window: Windows, settings_file: Path, tmp_path: Path) -> None:
    """A folder named with a byte that is not UTF-8 (``bad\\xff``): the recent list had it
    without the byte (its path went through a Qt signal as text), and the save as the
    window closed failed on it, losing everything that save held, unsaid."""
    layout = Path(os.fsdecode(os.fsencode(tmp_path) + b"/bad\xff/layout"))
    multi_platform_layout(layout)
    window = make_window()
    with qtbot.waitSignal(window.places.locationLoaded, timeout=WAIT_MS) as blocker:
        window.open_location(layout)
    assert blocker.args == [layout]
    assert window.settings.recent_locations == [str(layout)]
    qtbot.waitUntil(lambda: saved(settings_file).recent_locations == [str(layout)],
                    timeout=WAIT_MS)
    window.close()
    final = saved(settings_file)
    assert final.open_locations == [str(layout)]
    assert final.window_geometry and final.first_run_done
    assert os.fsencode(final.recent_locations[0]).endswith(b"/bad\xff/layout")
    assert not window.settings_banner.isVisible()


def test_a_save_that_fails_unexpectedly_is_said_in_the_window(
        qtbot: QtBot, make_window: Windows, settings_file: Path, tmp_layout: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever stops a save (not only the file system) is said in the banner."""
    def cannot(settings: Settings) -> str:
        raise UnicodeEncodeError("utf-8", "x", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(settings_file_module, "settings_text", cannot)
    window = make_window()
    window.open_location(tmp_layout)
    qtbot.waitUntil(lambda: window.settings_banner.isVisible(), timeout=WAIT_MS)
    assert "saving the settings" in window.settings_banner.text
    assert "UnicodeEncodeError" in window.settings_banner.text
    assert not settings_file.exists()


def test_what_the_file_was_at_start_stays_in_sight_when_a_save_fails(
        qtbot: QtBot, make_window: Windows, settings_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The save a second after start said only its failure: that the file was not JSON and
    was set aside went from the banner before anyone read it."""
    settings_file.write_bytes(b'{"version": 1, "regis')
    loaded = read_settings(settings_file)
    window = make_window(loaded.settings, settings_read=loaded)
    startup = window.settings_banner.text
    assert startup.startswith(f'The settings file "{settings_file}" could not be used')

    def full(target: Path, text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(settings_file_module, "_write", full)
    window.settings.add_recent("/somewhere")
    window.save_settings_later()
    qtbot.waitUntil(lambda: window.settings_banner.text != startup, timeout=WAIT_MS)
    assert window.settings_banner.text.startswith(
        f'{startup} Cannot save the settings to "{settings_file}": No space left on device.')
    monkeypatch.undo()
    window.save_settings_later()
    qtbot.waitUntil(lambda: window.settings_banner.text == startup, timeout=WAIT_MS)
    qtbot.mouseClick(window.settings_banner.findChild(QToolButton), Qt.MouseButton.LeftButton)
    assert not window.settings_banner.isVisible()


def test_fields_left_out_are_said_when_the_file_cannot_be_copied_aside(
        qtbot: QtBot, make_window: Windows, settings_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings_file.write_text(json.dumps({"first_run_done": "yes"}), encoding="utf-8")
    loaded = read_settings(settings_file)

    def refused(folder: Path, variable: str) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(settings_file_module, "make_user_folder", refused)
    window = make_window(loaded.settings, settings_read=loaded)
    qtbot.waitUntil(lambda: window.settings_banner.isVisible(), timeout=WAIT_MS)
    assert window.settings_banner.text.startswith(
        f'Some settings in "{settings_file}" could not be used and were left out: '
        '"first_run_done" (expected true or false). The file is left as it is until the '
        f'settings can be saved. Cannot save the settings to "{settings_file}": Permission '
        "denied.")
