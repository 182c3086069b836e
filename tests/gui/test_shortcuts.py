"""The window's keys: each live in one place at a time, under the default key bindings and
GNOME's (Qt's gtk3 theme, where Refresh is Ctrl+R first); Reload Location is F5 on every
desktop, and Ctrl+R stays the Transfers table's Retry."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtGui import QKeySequence
from pytestqt.qtbot import QtBot

from spyglass.gui import shortcuts
from spyglass.gui.main_window import MainWindow
from tests.gui.guitools import SampleFacts, show_image
from tests.gui.shortcut_walk import clashes

pytestmark = pytest.mark.gui

GNOME_BINDINGS: dict[QKeySequence.StandardKey, list[str]] = {
    QKeySequence.StandardKey.Refresh: ["Ctrl+R", "F5", "Refresh"],
    QKeySequence.StandardKey.Close: ["Ctrl+W", "Close"],
    QKeySequence.StandardKey.Delete: ["Del", "Ctrl+D"],
    QKeySequence.StandardKey.Copy: ["Ctrl+C", "Ctrl+Ins", "F16", "Copy"],
    QKeySequence.StandardKey.Back: ["Alt+Left", "Back"],
}
"""What Qt's gtk3 platform theme (GNOME, XFCE) binds where it differs from the default."""


def keys(sequences: list[QKeySequence]) -> list[str]:
    return [sequence.toString() for sequence in sequences]


@pytest.mark.parametrize(("bindings", "expected"), [
    (["Ctrl+R", "F5", "Refresh"], ["F5", "Refresh"]),  # GNOME, XFCE
    (["F5", "Refresh"], ["F5", "Refresh"]),  # KDE, none
    (["Ctrl+R"], ["F5"]),  # (macOS: Cmd+R, which is Retry's there too)
    ([], ["F5"]),
])
def test_reload_is_f5_and_never_retrys_ctrl_r(bindings: list[str],
                                              expected: list[str]) -> None:
    assert keys(shortcuts.reload_keys([QKeySequence(k) for k in bindings])) == expected


def test_close_location_is_ctrl_w_and_the_platforms_close() -> None:
    assert keys(shortcuts.close_location_keys(
        [QKeySequence(k) for k in ("Ctrl+F4", "Ctrl+W", "Close")])) == \
        ["Ctrl+W", "Ctrl+F4", "Close"]


@pytest.fixture(params=["default", "gnome"])
def bindings_of(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The platform's key bindings as they are here, or GNOME's."""
    if request.param == "gnome":
        default = shortcuts.platform_keys

        def gnome(key: QKeySequence.StandardKey) -> list[QKeySequence]:
            if key in GNOME_BINDINGS:
                return [QKeySequence(k) for k in GNOME_BINDINGS[key]]
            return default(key)

        monkeypatch.setattr(shortcuts, "platform_keys", gnome)
    return str(request.param)


def test_no_two_keys_of_the_window_clash(
        qtbot: QtBot, bindings_of: str, make_window: Callable[..., MainWindow],
        sample: SampleFacts) -> None:
    window = make_window()
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    window.copying.show_transfers_action.trigger()
    assert clashes(window) == []
    reload = keys(window.reload_action.shortcuts())
    assert reload[0] == "F5"
    assert "Ctrl+R" not in reload
    if bindings_of == "gnome":  # the platform's other keys are kept
        assert "Refresh" in reload


def test_the_walk_finds_a_window_key_that_a_tables_key_shadows(
        qtbot: QtBot, window: MainWindow) -> None:
    """Reload on Ctrl+R, as GNOME's Refresh made it: ambiguous in the Transfers table."""
    window.reload_action.setShortcut(QKeySequence("Ctrl+R"))
    found = clashes(window)
    assert len(found) == 1
    assert "Reload Location" in found[0] and "'Retry' (Ctrl+R" in found[0]
