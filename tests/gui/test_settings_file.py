"""The window and its settings file: two windows at once keep each other's changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from spyglass.core.settings import (
    RegistrySettings,
    Settings,
    load_settings,
    normalize_location,
    save_settings,
)
from spyglass.gui.main_window import MainWindow
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import WAIT_MS, add_registry

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
