"""The window at a large font (16 pt, and 20 pt) and at small sizes: what it shows stays
readable and within reach, and showing something never widens the window by itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QFontMetrics, QGuiApplication
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from spyglass.core import media
from spyglass.core.digest import Digest
from spyglass.core.layerfiles import LayerFile, LayerListing
from spyglass.core.manifest import Descriptor
from spyglass.gui import on_screen
from spyglass.gui.dialogs import layer_files
from spyglass.gui.dialogs.layer_files import LayerFilesDialog
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models import layers as layer_columns
from spyglass.gui.models.table import monospace_font
from spyglass.gui.models.transfers import ETA
from spyglass.gui.views.widgets import ElidedLabel
from tests.gui.guitools import WAIT_MS, SampleFacts, select_platform, show_image
from tests.gui.scripted import ScriptedCopy, last_one_failed

pytestmark = pytest.mark.gui


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


@pytest.mark.usefixtures("big_font")
def test_at_16_pt_a_failure_sentence_is_whole_above_two_rows_and_columns_keep_their_width(
        qtbot: QtBot, make_window: Callable[..., MainWindow], scripted: ScriptedCopy,
        tmp_path: Path) -> None:
    """At 1024x640 the sentence above the rows was cut mid-line over one row; the rows
    stay in sight above the scroll bar of columns wider than the table."""
    window = make_window()
    window.resize(1024, 640)
    panel = window.copying.panel
    sentence = ("The registry registry.example closed the connection while sending a blob; "
                "it may be restarting, or a proxy between may cut long uploads short. ") * 2
    last_one_failed(qtbot, window, scripted, tmp_path, 3, sentence)
    label = panel.failure.label
    rows = panel.table.verticalHeader().defaultSectionSize()

    def fits() -> None:
        assert label.height() >= label.heightForWidth(label.width()) > 2 * rows  # whole
        assert panel.table.viewport().height() >= 2 * rows

    qtbot.waitUntil(fits, timeout=WAIT_MS)
    # the columns keep their widths (an empty ETA gave way, and took its room back as a
    # copy began: the row moved sideways); the table scrolls instead
    header = panel.table.horizontalHeader()
    assert header.sectionSize(ETA) == panel.column_widths()[ETA]
    qtbot.waitUntil(panel.table.horizontalScrollBar().isVisible, timeout=WAIT_MS)


@pytest.mark.usefixtures("big_font")
def test_at_16_pt_the_layers_table_shows_each_short_digest_and_compression_once(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts) -> None:
    """Every row said "OCI layer (gzip)" in Type and "gzip" again in Compression, and at
    16 pt the Digest column was cut to "sha256:…", no hex left: the short digest (as the
    registry's tag table shows it) is whole, the full one in its tooltip."""
    window = make_window()
    window.resize(1200, 760)
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    view.tabs.setCurrentWidget(view.layers)
    table = view.layers.table
    model = view.layers.model
    assert [model.data(model.index(r, layer_columns.TYPE)) for r in range(model.rowCount())] \
        == ["OCI layer"] * 4
    assert model.data(model.index(0, layer_columns.COMPRESSION)) == "gzip"
    short = model.data(model.index(0, layer_columns.DIGEST))
    assert len(short) == len("sha256:") + 12
    metrics = QFontMetrics(monospace_font())
    header = table.horizontalHeader()
    qtbot.waitUntil(lambda: header.sectionSize(layer_columns.DIGEST)
                    > metrics.horizontalAdvance(short), timeout=WAIT_MS)
    share = table.fontMetrics().horizontalAdvance("100.0 %")
    assert header.sectionSize(layer_columns.SHARE) >= 2 * share


@pytest.mark.usefixtures("big_font")
def test_at_16_pt_the_places_icons_and_sidebar_grow_with_the_text(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts) -> None:
    """The tree's icons stayed 16 px beside 16 pt text, and the sidebar kept its 280 px,
    cutting names: both follow the font."""
    window = make_window()
    window.resize(1200, 760)
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    line = window.tree.fontMetrics().height()
    assert window.tree.iconSize().height() >= line - 2 > 16
    assert window.splitter.sizes()[0] > 280


def test_at_the_least_window_size_the_layers_table_keeps_rows_in_sight(
        qtbot: QtBot, demo: MainWindow) -> None:
    """The layer's details scroll where the page is short: they never gave up height,
    and left the table one row."""
    view = demo.image_view
    view.tabs.setCurrentWidget(view.layers)
    page = view.layers
    page.table.selectRow(1)
    assert page.details.title.text() == "Layer 2"
    QApplication.processEvents()  # (the layouts take in what the layer shows)
    demo.resize(1, 1)  # (the least size the window takes)
    rows = page.table.verticalHeader().defaultSectionSize()
    qtbot.waitUntil(lambda: demo.size() == demo.minimumSizeHint(), timeout=WAIT_MS)
    QApplication.processEvents()
    qtbot.waitUntil(lambda: page.table.viewport().height() >= 2 * rows, timeout=WAIT_MS)
    assert page.details_area.verticalScrollBar().maximum() > 0  # (the details scroll)
    # taller again, the details take what they show, whole
    demo.resize(demo.width(), 1000)
    area = page.details_area
    qtbot.waitUntil(lambda: area.verticalScrollBar().maximum() == 0, timeout=WAIT_MS)
    assert page.table.viewport().height() >= 3 * rows


@pytest.fixture
def font_20_pt(qapp: QApplication) -> Iterator[None]:
    """The application's font at 20 pt: for the 800 px high offscreen screen, about
    what 14 pt is for a 1024x600 one."""
    before = QApplication.font()
    font = QApplication.font()
    font.setPointSizeF(20.0)
    QApplication.setFont(font)
    yield
    QApplication.setFont(before)


@pytest.mark.usefixtures("font_20_pt")
def test_at_20_pt_the_window_and_its_transfers_fit_the_screen(
        qtbot: QtBot, make_window: Callable[..., MainWindow], scripted: ScriptedCopy,
        tmp_path: Path) -> None:
    """A message pane (a registry's "Listing…", an image's failure) took the height of
    all it says, which set the least height of the window: with the Transfers panel
    below, it ran past the screen's edge, the status bar or the rows out of sight. What
    it says scrolls now."""
    window = make_window()
    last_one_failed(qtbot, window, scripted, tmp_path, 1, "The registry closed the connection.")
    QApplication.processEvents()
    window.layout().activate()  # (the layouts take in the panel and its sentence)
    room = window.screen().availableGeometry()
    frame = window.frameGeometry().height() - window.height()
    assert window.minimumSizeHint().height() + frame <= room.height(), (
        window.minimumSizeHint(), room)
    # the Transfers panel keeps its rows and its sentence: the panes above gave way
    transfers = window.copying.panel
    assert transfers.minimumHeight() >= transfers.least_height()
    message = window.registries.registry_page.panel
    assert message.minimumSizeHint().height() < message.sizeHint().height()  # (it scrolls)


@pytest.mark.usefixtures("big_font")
def test_at_16_pt_the_empty_transfers_panel_leaves_the_window_within_the_screen(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """How to start a copy, in the bar of the empty panel, was a label as wide as the
    sentence: shown at a large font, it made the window wider than its screen."""
    window = make_window()
    window.copying.show_transfers_action.trigger()
    panel = window.copying.panel
    qtbot.waitUntil(panel.isVisible, timeout=WAIT_MS)
    QApplication.processEvents()
    window.layout().activate()  # (the layouts take in the panel)
    room = window.screen().availableGeometry()
    assert window.minimumSizeHint().width() <= room.width(), window.minimumSizeHint()
    summary = panel.summary
    assert summary.text().startswith("No copies yet")
    window.resize(room.width() - 20, window.height())
    qtbot.waitUntil(lambda: summary.shown_text() != summary.text(), timeout=WAIT_MS)
    assert summary.toolTip() == summary.text()


class _Unread:
    def open_blob(self, *_args: object, **_kwargs: object) -> None:
        raise AssertionError("nothing is read")


@pytest.mark.usefixtures("big_font")
@pytest.mark.parametrize("screen", [(1920, 1200), (1280, 1024)])
def test_at_16_pt_the_files_dialog_grows_with_the_text_and_its_count_keeps_its_width(
        qtbot: QtBot, make_window: Callable[..., MainWindow],
        monkeypatch: pytest.MonkeyPatch, screen: tuple[int, int]) -> None:
    """The dialog opened at 920x600 px whatever the font: at 14 pt the layer's digest was
    cut, and the Link target column out of sight behind a scroll bar. The count beside the
    filter took the width of what it said, so the filter field changed width as the
    filter changed it ("the first 3 of 8 entries · 41 B of the files listed", "0 of the
    first 3 of 8 entries")."""
    window = make_window()
    monkeypatch.setattr(on_screen, "screen_room", lambda _widget: QRect(0, 0, *screen))
    files = [LayerFile("etc", "dir", 0, 0o755, None, 1_704_164_640),
             LayerFile("etc/apk/world", "file", 41, 0o644, None, 1_704_164_640),
             LayerFile("usr/bin/env", "symlink", 0, 0o777, "../../bin/busybox", 1_704_164_640)]
    monkeypatch.setattr(layer_files, "list_files", lambda *_args: LayerListing(files, 5))
    layer = Descriptor(media.OCI_LAYER_GZIP, Digest.of(b"layer"), 531)
    dialog = LayerFilesDialog(window.runner, _Unread(), layer,  # type: ignore[arg-type]
                              "Layer 2 of spyglass-demo:1.0 (linux/amd64)")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.table, timeout=WAIT_MS)
    wanted = 150 * dialog.fontMetrics().averageCharWidth()
    assert dialog.width() >= min(wanted, int(screen[0] * on_screen.SCREEN_SHARE)) > 920
    assert dialog.height() > 600
    # every column whole, none behind a scroll bar (the Path column gave way on the
    # smaller screen); on the larger, the digest whole beside its copy button
    table, header = dialog.table, dialog.table.horizontalHeader()
    QApplication.processEvents()
    assert not table.horizontalScrollBar().isVisible()
    for number in range(header.count()):
        assert header.sectionSize(number) >= table.sizeHintForColumn(number), number
    if screen[0] > 1280:
        assert dialog.digest.shown_text() == str(layer.digest)
    # the filter field keeps its width whatever the count says
    assert dialog.count.text() == "the first 3 of 8 entries · 41 B of the files listed"
    width = dialog.filter.width()
    qtbot.keyClicks(dialog.filter, "zzz")
    assert dialog.count.text() == "0 of the first 3 of 8 entries"
    QApplication.processEvents()
    assert dialog.filter.width() == width
    dialog.filter.setText("world")
    assert dialog.count.text() == "1 of the first 3 of 8 entries"
    QApplication.processEvents()
    assert dialog.filter.width() == width
