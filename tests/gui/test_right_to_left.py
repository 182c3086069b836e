"""The window laid out right to left (``spyglass -reverse``, or a right-to-left
translation): rows the window selects by itself are selected."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFont, QTextLayout, QTextOption
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from spyglass.core import media
from spyglass.core.copy import Failed, Planned
from spyglass.core.errors import SpyglassError
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models import history as history_columns
from spyglass.gui.models import layers as layer_columns
from spyglass.gui.transfers import TransferState
from spyglass.gui.views.delegates import DataDelegate
from spyglass.gui.views.widgets import select_row
from tests.gui.guitools import WAIT_MS, SampleFacts, show_image
from tests.gui.scripted import FakeClock, ScriptedCopy, blob, feed, plan_of, start_scripted

pytestmark = pytest.mark.gui


@pytest.fixture
def right_to_left(qapp: QApplication) -> Iterator[None]:
    qapp.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
    yield
    qapp.setLayoutDirection(Qt.LayoutDirection.LeftToRight)


@pytest.mark.usefixtures("right_to_left")
def test_right_to_left_the_shown_platform_and_a_failed_copy_are_selected(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts,
        scripted: ScriptedCopy, tmp_path: Path) -> None:
    """QTableView.selectRow selects nothing right to left: the platform shown was not
    marked, and a copy that failed was not selected, nor its sentence shown."""
    window = make_window()
    assert window.isRightToLeft()
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    platforms = window.image_view.platforms
    state = window.image_view.state
    assert state is not None and state.current is not None
    shown = platforms.model.row_of(state.current.descriptor.digest)
    qtbot.waitUntil(lambda: [i.row() for i in platforms.table.selectionModel().selectedRows()]
                    == [shown], timeout=WAIT_MS)
    assert platforms.table.currentIndex().row() == shown

    panel = window.copying.panel
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    qtbot.waitUntil(lambda: panel.current() is transfer, timeout=WAIT_MS)  # a new one
    feed(qtbot, window, scripted, Planned(plan_of(blob("c", 10, media.OCI_CONFIG),
                                                  blob("layer", 1024))))
    feed(qtbot, window, scripted, Failed("The registry went away."))
    scripted.finish(SpyglassError("The registry went away."))
    qtbot.waitUntil(lambda: transfer.state is TransferState.FAILED, timeout=WAIT_MS)
    qtbot.waitUntil(panel.failure.isVisible, timeout=WAIT_MS)
    assert "The registry went away." in panel.failure.text
    assert panel.retry_button.isEnabled()
    # and any other row, chosen by the window (Tab into a table, a right click)
    table = platforms.table
    select_row(table, 0)
    assert [i.row() for i in table.selectionModel().selectedRows()] == [0]


def reads_as_written(text: str, font: QFont) -> bool:
    """Whether ``text``, laid out in a right-to-left paragraph as a cell lays it out,
    shows its characters left to right in the order they are written."""
    layout = QTextLayout(text, font)
    option = QTextOption()
    option.setTextDirection(Qt.LayoutDirection.RightToLeft)
    layout.setTextOption(option)
    layout.beginLayout()
    line = layout.createLine()
    layout.endLayout()
    xs = [line.cursorToX(i)[0] for i, c in enumerate(text) if c != "\u200e"]
    return xs == sorted(xs)


@pytest.mark.usefixtures("right_to_left")
def test_right_to_left_cells_keep_what_they_show_left_to_right(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts) -> None:
    """Steps, sizes and shares were laid out right to left: ``COPY hello.sh /app/`` read
    ``/COPY hello.sh /app``, ``40.4 %`` read ``% 40.4``."""
    window = make_window()
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    cells = [(view.history.table, history_columns.STEP),
             (view.layers.table, layer_columns.SIZE), (view.layers.table, layer_columns.SHARE)]
    for table, column in cells:
        model = table.model()
        for row in range(model.rowCount()):
            index = model.index(row, column)
            option = QStyleOptionViewItem()
            option.direction = table.layoutDirection()
            option.rect = QRect(0, 0, 400, 24)
            option.font = table.font()
            option.fontMetrics = table.fontMetrics()
            delegate = table.itemDelegateForIndex(index)
            assert isinstance(delegate, DataDelegate)
            delegate.initStyleOption(option, index)
            text = option.text
            assert reads_as_written(text, table.font()), text


@pytest.mark.usefixtures("right_to_left")
def test_right_to_left_overview_values_sit_beside_their_names(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts) -> None:
    """The names are on the right: each value was pinned to the left of the pane, 500 px
    away, the digests in its middle, and the labels' keys on the left."""
    window = make_window()
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    overview = window.image_view.overview
    for title in ("Reference", "Digest", "Entrypoint", "Labels"):
        value = overview._values[title]
        assert value.alignment() & Qt.AlignmentFlag.AlignRight, title
        assert value.alignment() & Qt.AlignmentFlag.AlignAbsolute, title  # (not mirrored)
    labels = overview._values["Labels"].text()
    # the table on the right; each key against its value, as the names are
    assert "<table cellspacing='0' cellpadding='0' align='right'>" in labels
    assert labels.count("<td dir='ltr' align='right'") == labels.count(
        "<td dir='ltr' align='left' width=") == 5
    # (the keys on the right: each row's value cell comes first)
    assert labels.index("The demo image") < labels.index("org.opencontainers.image.desc")


@pytest.mark.parametrize("direction", [Qt.LayoutDirection.LeftToRight,
                                       Qt.LayoutDirection.RightToLeft])
def test_a_share_bar_fills_from_the_start_of_the_line(
        qapp: QApplication, direction: Qt.LayoutDirection) -> None:
    """The Layers "Share" bars filled from the left right to left too, their percentage
    drawn over the fill's start."""
    from PySide6.QtGui import QColor, QImage, QPainter, QStandardItem, QStandardItemModel

    from spyglass.gui.views.delegates import SHARE_ROLE, ShareBarDelegate

    model = QStandardItemModel(1, 1)
    item = QStandardItem("")
    item.setData(0.3, SHARE_ROLE)
    model.setItem(0, 0, item)
    image = QImage(200, 24, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, 200, 24)
    option.direction = direction
    option.palette = qapp.palette()
    painter = QPainter(image)
    ShareBarDelegate().paint(painter, option, model.index(0, 0))
    painter.end()
    start, far = (12, 188) if direction == Qt.LayoutDirection.LeftToRight else (188, 12)
    filled, empty = image.pixelColor(start, 12), image.pixelColor(far, 12)
    assert filled.lightness() < empty.lightness() - 30, (filled.name(), empty.name())
