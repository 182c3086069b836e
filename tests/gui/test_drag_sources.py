"""Starting a copy drag with the mouse: the image view's header icon and the places tree."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from spyglass.gui.copy_drops import DraggedImage
from spyglass.gui.dragdrop import DragSource
from spyglass.gui.main_window import MainWindow
from tests.gui.guitools import SampleFacts

pytestmark = pytest.mark.gui


def _mouse(widget: QWidget, kind: QEvent.Type, point: QPoint,
           buttons: Qt.MouseButton) -> None:
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else \
        Qt.MouseButton.NoButton
    local = QPointF(point)
    event = QMouseEvent(kind, local, widget.mapToGlobal(local), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def drag_with_the_mouse(widget: QWidget, start: QPoint, distance: int | None = None) -> None:
    """Press the left button at ``start``, move right by ``distance`` (default: the drag
    distance) with it held, and release."""
    step = QApplication.startDragDistance() if distance is None else distance
    left = Qt.MouseButton.LeftButton
    _mouse(widget, QEvent.Type.MouseButtonPress, start, left)
    _mouse(widget, QEvent.Type.MouseMove, start + QPoint(step, 0), left)
    _mouse(widget, QEvent.Type.MouseButtonRelease, start + QPoint(step, 0),
           Qt.MouseButton.NoButton)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[DraggedImage]:
    """The images drags were started with (instead of running Qt's modal drag loop)."""
    seen: list[DraggedImage] = []

    def record(self: DragSource, image: DraggedImage) -> Qt.DropAction:
        seen.append(image)
        return Qt.DropAction.CopyAction

    monkeypatch.setattr(DragSource, "start_drag", record)
    return seen


def test_the_shown_image_is_dragged_by_its_header_icon(
        qtbot: QtBot, demo: MainWindow, sample: SampleFacts,
        started: list[DraggedImage]) -> None:
    icon = demo.image_view.header_icon
    assert icon.cursor().shape() == Qt.CursorShape.OpenHandCursor
    assert "copy this image" in icon.toolTip()
    drag_with_the_mouse(icon, QPoint(5, 5))
    assert len(started) == 1
    state = demo.image_view.state
    assert state is not None
    assert started[0].name == state.entry.name
    assert started[0].name.endswith(":spyglass-demo:1.0")


def test_a_short_move_is_no_drag(
        qtbot: QtBot, demo: MainWindow, started: list[DraggedImage]) -> None:
    drag_with_the_mouse(demo.image_view.header_icon, QPoint(5, 5), distance=1)
    assert started == []


def test_an_image_row_of_the_places_tree_is_dragged(
        qtbot: QtBot, demo: MainWindow, started: list[DraggedImage]) -> None:
    tree = demo.tree
    index = demo.places.find_image("spyglass-demo:1.0", 0)
    assert index.isValid()
    tree.scrollTo(index)
    point = tree.visualRect(index).center()
    drag_with_the_mouse(tree.viewport(), point)
    assert [image.label for image in started] == ["spyglass-demo:1.0"]
    # the location row itself is not an image: no drag
    started.clear()
    location = index.parent()
    drag_with_the_mouse(tree.viewport(), tree.visualRect(location).center())
    assert started == []
