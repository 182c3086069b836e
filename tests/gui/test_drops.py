"""Drops from other programs, and what the window gives them: file URLs, drag text,
the clipboard, drops refused where they cannot go."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from PySide6.QtCore import QByteArray, QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from spyglass.core.settings import normalize_location
from spyglass.gui.main_window import MainWindow
from tests.gui.guitools import WAIT_MS, SampleFacts
from tests.helpers.imagebuild import multi_platform_layout

pytestmark = pytest.mark.gui

BUTTONS, KEYS = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier


def uri_list(*lines: bytes) -> QMimeData:
    """A file manager's drag: ``text/uri-list`` lines as it writes them."""
    mime = QMimeData()
    mime.setData("text/uri-list", QByteArray(b"".join(line + b"\r\n" for line in lines)))
    return mime


def drag(widget: QWidget, mime: QMimeData, where: QPoint = QPoint(20, 20),
         ) -> tuple[bool, bool, bool]:
    """Drag ``mime`` into ``widget`` at ``where``, move and drop there, as Qt delivers
    them (to the widget, then its parents): whether enter, move and drop were accepted
    (a drop only where the move was)."""
    enter = QDragEnterEvent(where, Qt.DropAction.CopyAction, mime, BUTTONS, KEYS)
    enter.ignore()
    QApplication.sendEvent(widget, enter)
    move = QDragMoveEvent(where, Qt.DropAction.CopyAction, mime, BUTTONS, KEYS,
                          QEvent.Type.DragMove)
    move.ignore()
    QApplication.sendEvent(widget, move)
    if not move.isAccepted():
        return enter.isAccepted(), False, False
    drop = QDropEvent(QPointF(where), Qt.DropAction.CopyAction, mime, BUTTONS, KEYS)
    drop.ignore()
    QApplication.sendEvent(widget, drop)
    return enter.isAccepted(), True, drop.isAccepted()


# -- file URLs dropped on the window


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "own"])
def test_a_file_url_of_this_machine_opens_its_path(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, host: str) -> None:
    """``file://localhost/…`` (and this machine's name) was opened as "//localhost/…",
    which does not exist."""
    host = socket.gethostname() if host == "own" else host
    mime = uri_list(f"file://{host}".encode() + bytes(QUrl.toPercentEncoding(
        str(sample.layout), b"/")))
    with qtbot.waitSignal(window.places.locationLoaded, timeout=WAIT_MS):
        assert drag(window, mime) == (True, True, True)
    assert window.places.paths == [normalize_location(sample.layout)]


def test_a_file_url_of_another_machine_is_refused(window: MainWindow,
                                                  sample: SampleFacts) -> None:
    mime = uri_list(f"file://fileserver.example{sample.layout}".encode())
    assert drag(window, mime) == (False, False, False)
    assert window.places.paths == []


def test_a_dropped_name_that_is_not_utf8_opens_as_its_bytes(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """``caf%E9`` (Latin-1, what a file manager sends, and what Copy Path writes) was
    read as UTF-8: "caf\\ufffd", which does not exist."""
    layout = Path(os.fsdecode(os.fsencode(tmp_path) + b"/latin-caf\xe9"))
    multi_platform_layout(layout)
    window.copy_path(layout)
    copied = QApplication.clipboard().mimeData()
    assert copied.urls()[0].toString(QUrl.ComponentFormattingOption.FullyEncoded) == \
        f"file://{tmp_path}/latin-caf%E9"
    again = QMimeData()
    again.setUrls(copied.urls())
    with qtbot.waitSignal(window.places.locationLoaded, timeout=WAIT_MS):
        assert drag(window, again) == (True, True, True)
    assert window.places.paths == [normalize_location(layout)]
