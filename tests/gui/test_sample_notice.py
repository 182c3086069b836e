"""The first start's sample notice ("This is a sample image bundled with Spyglass, not
one of yours") goes once the user has opened their own images, or closed the sample."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from spyglass.core.settings import Settings, normalize_location
from spyglass.core.settings_file import load_settings
from spyglass.gui.main_window import MainWindow
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import WAIT_MS, add_registry, core_copy, wait_listed


def _first_start(qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    window = make_window(Settings())
    window.restore_session()
    wait_listed(qtbot, window)
    qtbot.waitUntil(lambda: not window.sample_notice.isHidden(), timeout=WAIT_MS)
    assert len(window.places.paths) == 1
    return window


def test_opening_a_place_of_ones_own_ends_the_sample_notice(
        qtbot: QtBot, make_window: Callable[..., MainWindow], settings_file: Path,
        sample_layout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """It still said "not one of yours" above the user's own myapp:1.0, and after the
    sample was closed."""
    window = _first_start(qtbot, make_window, tmp_path, monkeypatch)
    mine = tmp_path / "mine"
    core_copy(f"oci:{sample_layout}:tools:2024.1", f"oci:{mine}:myapp:1.0")
    window.open_location(mine)
    wait_listed(qtbot, window, row=1)
    assert window.sample_notice.isHidden()
    assert window.settings.first_run_done
    window.close()
    assert load_settings(settings_file).first_run_done


def test_closing_the_sample_ends_its_notice(
        qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    window = _first_start(qtbot, make_window, tmp_path, monkeypatch)
    window.tree.setCurrentIndex(window.places.index(0, 0))
    window.close_current_location()
    assert window.places.paths == []
    assert window.sample_notice.isHidden()
    assert window.settings.first_run_done
    window.close()


def test_adding_a_registry_ends_the_sample_notice(
        qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path,
        demo_registry: RegistryFacts, monkeypatch: pytest.MonkeyPatch) -> None:
    window = _first_start(qtbot, make_window, tmp_path, monkeypatch)
    add_registry(qtbot, window, demo_registry.host, insecure=True)
    assert window.sample_notice.isHidden()
    assert window.settings.first_run_done
    window.close()


def test_the_sample_opened_again_keeps_its_notice(
        qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Its own images coming in (listed, read again) are not the user's opening another
    place: the notice stays until one is."""
    window = _first_start(qtbot, make_window, tmp_path, monkeypatch)
    sample = window.places.paths[0]
    window.open_location(sample)  # (the same place: selected, not opened twice)
    window.reload_current_location()
    wait_listed(qtbot, window)
    assert [normalize_location(p) for p in window.places.paths] == [normalize_location(sample)]
    assert not window.sample_notice.isHidden()
    assert not window.settings.first_run_done
    window.close()
