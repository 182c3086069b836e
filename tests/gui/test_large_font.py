"""The window at a large font (16 pt) and at small sizes: what it shows stays readable
and within reach, and showing something never widens the window by itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow
from spyglass.gui.views.widgets import ElidedLabel
from tests.gui.guitools import SampleFacts, select_platform, show_image

pytestmark = pytest.mark.gui


@pytest.fixture
def big_font(qapp: QApplication) -> Iterator[None]:
    """The application's font at 16 pt (a large-text setting), the one before restored."""
    before = QApplication.font()
    font = QApplication.font()
    font.setPointSizeF(16.0)
    QApplication.setFont(font)
    yield
    QApplication.setFont(before)


@pytest.mark.usefixtures("big_font")
def test_a_layer_selected_at_16_pt_leaves_the_window_narrower_than_1000_px(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts) -> None:
    """The layer's digests are cut in their middle, copied whole, and no wide hint or
    summary sets the window's least width: selecting a layer widened it to 1270 px."""
    window = make_window()
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    select_platform(qtbot, window, "linux/amd64")
    view = window.image_view
    view.tabs.setCurrentWidget(view.layers)
    details = view.layers.details
    view.layers.table.selectRow(1)
    assert details.title.text() == "Layer 2"
    layer = sample.images["linux/amd64"].manifest["layers"][1]["digest"]
    assert details.value("Digest") == layer

    QApplication.processEvents()  # (the layouts take in what the layer shows)
    assert window.minimumSizeHint().width() < 1000
    window.resize(window.minimumSizeHint())
    digest = details.findChild(ElidedLabel)
    assert digest is not None and digest.text() == layer
    qtbot.waitUntil(lambda: digest.shown_text() != layer)  # cut, in its middle
    assert digest.shown_text().startswith("sha256:") and digest.toolTip() == layer
    details.copy_button("Digest").click()
    assert QGuiApplication.clipboard().text() == layer
    assert window.status_text == f"Copied {layer}"
