"""The window and its dialogs on a screen smaller than they would like (the offscreen
screen is 800x800): they open within it, and what they show is within reach."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from spyglass.core.settings import Settings
from spyglass.gui.main_window import MainWindow

pytestmark = pytest.mark.gui


def within_screen(window: QWidget) -> tuple[QRect, QRect]:
    """``window``'s frame and its screen's room, for an assertion that the one holds the
    other."""
    return window.frameGeometry(), window.screen().availableGeometry()


def test_the_first_window_fits_its_screen(qtbot: QtBot,
                                          make_window: Callable[..., MainWindow]) -> None:
    """The window opened at 1200x760 on any screen: on 1280x720, or 1080p at 150 %, its
    status bar and the Transfers rows were below the screen's edge."""
    window = make_window()
    assert not window.restore_window_geometry()  # (none saved)
    qtbot.waitExposed(window)
    frame, room = within_screen(window)
    assert room.contains(frame), (frame, room)
    places, content = window.splitter.sizes()
    assert places < content  # (the places keep their width, the content the rest)


def test_a_window_saved_on_a_larger_screen_comes_back_within_this_one(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """A laptop taken off its monitor: the window was put back as large as it was."""
    larger = make_window()
    larger.setGeometry(300, 200, 1600, 1000)
    qtbot.waitExposed(larger)
    geometry = bytes(larger.saveGeometry().toBase64().data()).decode("ascii")
    window = make_window(Settings(first_run_done=True, window_geometry=geometry))
    qtbot.waitExposed(window)
    assert window.restore_window_geometry()
    frame, room = within_screen(window)
    assert room.contains(frame), (frame, room)
