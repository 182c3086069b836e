"""The Transfers panel's columns and Details, and dragging images between the window's places.

The progress tests run the window's real :class:`TransferManager` with the copy
job replaced by a script (:class:`ScriptedCopy`): the test hands the manager's
own event callback the engine's events, so the Tally, the coalescing and the
model are the app's, while the Tally's clock is the test's. The drag tests
press and move the mouse on the views' viewports; the platform's drag itself
(``QDrag.exec``) is recorded instead of run. The drop tests drop on the
registries tree and on archives in the places tree.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QModelIndex, QObject, QPoint, QRect, Qt
from PySide6.QtGui import QColor, QDrag, QImage, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialogButtonBox,
    QStyleFactory,
    QStyleOptionViewItem,
    QTableView,
)
from pytestqt.qtbot import QtBot

from spyglass.core import media
from spyglass.core.cancel import CancelToken
from spyglass.core.copy import (
    BlobDone,
    BlobProgress,
    BlobRetried,
    BlobSkipped,
    BlobStarted,
    CopyOptions,
    Failed,
    Finished,
    Planned,
)
from spyglass.core.digest import Digest
from spyglass.core.errors import AuthenticationFailed, SpyglassError
from spyglass.core.manifest import Descriptor
from spyglass.core.settings import RegistrySettings
from spyglass.core.transports import open_source
from spyglass.gui import dragdrop
from spyglass.gui.colors import contrast_ratio
from spyglass.gui.copy_drops import MIME_TYPE, DraggedImage
from spyglass.gui.copy_jobs import CopyRequest, Openers, prepare_copy
from spyglass.gui.dialogs.transfer_details import DIGEST_ROLE, TransferDetailsDialog
from spyglass.gui.dragdrop import image_from_mime
from spyglass.gui.formatting import short_digest
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.transfers import (
    BYTES,
    ETA,
    ROUTE_ROLE,
    SPEED,
    STATE,
    TITLES,
    TRANSFER,
    TRANSFER_ROLE,
)
from spyglass.gui.transfers import Transfer, TransferManager, TransferState
from spyglass.gui.views.transfers_panel import TransfersPanel
from spyglass.gui.views.widgets import select_row
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import (
    COPY_MS,
    WAIT_MS,
    SampleFacts,
    add_registry,
    core_copy,
    drop_on_row,
    show_image,
    wait_listed,
    wait_repositories,
    wait_tags,
)
from tests.gui.scripted import (
    SOURCE,
    TOP,
    FakeClock,
    MiB,
    ScriptedCopy,
    blob,
    feed,
    finish,
    last_one_failed,
    plan_of,
    row_texts,
    start_scripted,
    written,
)
from tests.helpers.registry import RegistryServer

pytestmark = pytest.mark.gui


# -- 1. Bytes, Speed and ETA


def test_bytes_speed_and_eta_follow_the_tally_on_its_clock(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    clock = FakeClock(1000.0)
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    assert row_texts(window, transfer) == {
        "state": "Planning…", "progress": "", "bytes": "", "speed": "", "eta": ""}

    config = blob("config", 4 * MiB, media.OCI_CONFIG)
    layer = blob("layer", 296 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, layer)),
         BlobStarted(config.digest, config.size, config.media_type),
         BlobStarted(layer.digest, layer.size, layer.media_type))
    assert transfer.state is TransferState.COPYING
    # nothing moved yet: no speed, so no ETA either
    assert row_texts(window, transfer) == {
        "state": "Copying", "progress": "0 %", "bytes": "0 B / 300 MiB", "speed": "",
        "eta": ""}

    clock.now = 1002.0  # 3 MiB in 2 s: a speed, but from the first seconds (no ETA yet)
    feed(qtbot, window, scripted, BlobProgress(config.digest, 2 * MiB, config.size),
         BlobProgress(layer.digest, 1 * MiB, layer.size))
    assert row_texts(window, transfer) == {
        "state": "Copying", "progress": "1 %", "bytes": "3.0 MiB / 300 MiB",
        "speed": "1.5 MiB/s", "eta": ""}

    clock.now = 1004.0  # 5 MiB more in the last 2 s; the sample at 1000 s is out of the window
    feed(qtbot, window, scripted, BlobProgress(config.digest, 4 * MiB, config.size),
         BlobProgress(layer.digest, 4 * MiB, layer.size))
    assert transfer.snapshot.speed == pytest.approx(2.5 * MiB)
    assert row_texts(window, transfer) == {
        "state": "Copying", "progress": "3 %", "bytes": "8.0 MiB / 300 MiB",
        "speed": "2.5 MiB/s", "eta": "1 min 57 s"}  # 292 MiB at 2.5 MiB/s: 116.8 s

    clock.now = 1010.0
    feed(qtbot, window, scripted,
         BlobDone(config.digest, config, False),
         BlobProgress(layer.digest, layer.size, layer.size),
         BlobDone(layer.digest, layer, False),
         Finished(Digest.of(b"manifest"), media.OCI_MANIFEST))
    # the copy began (as far as the row can tell) 125 s before it ends
    transfer.started = time.monotonic() - 125
    with qtbot.waitSignal(window.copying.manager.finished, timeout=WAIT_MS):
        scripted.finish(Descriptor(media.OCI_MANIFEST, Digest.of(b"manifest"), 2))
    assert transfer.state is TransferState.DONE
    assert row_texts(window, transfer) == {
        "state": "Done", "progress": "100 %", "bytes": "300 MiB",
        "speed": "2.4 MiB/s", "eta": ""}  # on average: 300 MiB moved in 125 s
    row = window.copying.manager.row_of(transfer)
    model = window.copying.panel.model
    assert "\n\nTook 2 min 05 s." in model.data(model.index(row, 0),
                                                 Qt.ItemDataRole.ToolTipRole)
    assert window.copying.panel.summary.text() == "1 done"


@pytest.mark.parametrize("setup", [0, 2])
def test_no_time_left_is_told_from_the_first_burst_of_a_slow_copy(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        setup: int) -> None:
    """The connection's buffers take the first 12 MiB in 0.3 s; then the link's 1 MiB/s.
    The ETA said "< 1 s" for half of such a copy: now none until the speed is measured
    past the burst, then the time that is really left. Seconds of set-up before the
    bytes move (``setup``: no bytes yet) are no part of the wait (they made it "2 s"
    where 10 s were left)."""
    clock = FakeClock(100.0)
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    layer = blob("layer", 24 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(blob("c", 1024, media.OCI_CONFIG), layer)),
         BlobStarted(layer.digest, layer.size, layer.media_type))
    for step in range(1, 2 * setup + 1):  # set-up: a snapshot every half second, no bytes
        clock.now = 100.0 + step / 2
        feed(qtbot, window, scripted, BlobProgress(layer.digest, 0, layer.size))
    etas: dict[float, str] = {}
    for step in range(1, 17):  # a snapshot every half second, for 8 s
        gone = step / 2
        done = int(min(12.0, 40 * gone) * MiB) + int(max(0.0, gone - 0.3) * MiB)
        clock.now = 100.0 + setup + gone
        feed(qtbot, window, scripted, BlobProgress(layer.digest, done, layer.size))
        etas[gone] = row_texts(window, transfer)["eta"]
        assert row_texts(window, transfer)["speed"]  # the speed is shown all along
        left = (layer.size - done) / MiB  # seconds, at 1 MiB/s
        if transfer.eta is not None:
            assert transfer.eta == pytest.approx(left, rel=0.1), (gone, etas)
    assert all(eta == "" for gone, eta in etas.items() if gone < 3), etas
    assert etas[5.0] == "7 s"  # 24 - 12 - 4.7 MiB left at 1 MiB/s


def _half_copied(qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy,
                 tmp_path: Path) -> tuple[Transfer, FakeClock, Descriptor]:
    """A copy of one 10 MiB layer, half of it done in its first four seconds (2 MiB in
    the first, then 1 MiB a second: long enough for an ETA)."""
    clock = FakeClock(50.0)
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    layer = blob("layer", 10 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(blob("c", 1024, media.OCI_CONFIG), layer)),
         BlobStarted(layer.digest, layer.size, layer.media_type))
    for second in range(1, 5):
        clock.now = 50.0 + second
        feed(qtbot, window, scripted, BlobProgress(layer.digest, (1 + second) * MiB,
                                                   layer.size))
    assert row_texts(window, transfer)["speed"] == "1.0 MiB/s"
    return transfer, clock, layer


def test_at_a_large_font_every_column_keeps_its_width_and_the_table_scrolls(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """At a large font the number columns gave way to the routes, and every column was
    cut ("52.3 Mi…128 MiB"): each keeps what its texts need, the route its least, and
    the table scrolls sideways."""
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    window.copying.show_panel()
    window.resize(1024, 700)
    panel = window.copying.panel
    table, header = panel.table, panel.table.horizontalHeader()
    font = table.font()
    font.setPointSizeF(font.pointSizeF() * 1.6)
    table.setFont(font)
    header.setFont(font)
    metrics = table.fontMetrics()

    def scrolls() -> None:
        assert header.length() > table.viewport().width()
        assert table.horizontalScrollBar().isVisible()

    qtbot.waitUntil(scrolls, timeout=WAIT_MS)
    assert header.sectionSize(TRANSFER) >= panel.route_least()
    # what a copy under way shows, whole (a margin of the style's either side)
    layer = blob("layer", 128 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(blob("c", 10, media.OCI_CONFIG), layer)),
         BlobStarted(layer.digest, layer.size, layer.media_type),
         BlobProgress(layer.digest, int(52.3 * MiB), layer.size))
    texts = row_texts(window, transfer)
    assert texts["bytes"] == "52.3 MiB / 128 MiB"
    for column, text in ((BYTES, texts["bytes"]), (SPEED, "888.8 MiB/s"),
                         (ETA, "59 min 59 s"), (STATE, "Retrying · attempt 3 of 4 · 16 s")):
        assert header.sectionSize(column) >= metrics.horizontalAdvance(text) + 12, text


def test_the_columns_keep_their_widths_as_copies_change_state(
        qtbot: QtBot, held_panel: tuple[HeldCopies, TransfersPanel]) -> None:
    """State grew to each new failure sentence and the routes shrank, then once every
    copy ended the number columns narrowed: rows moved sideways while watched."""
    held, panel = held_panel
    panel.resize(1100, 300)
    header = panel.table.horizontalHeader()
    a, b = (panel.manager.start(held_request(name)) for name in list(held.gates)[:2])
    qtbot.waitUntil(lambda: len(held.opened) == 2, timeout=WAIT_MS)
    widths = [header.sectionSize(column) for column in range(len(TITLES))]
    held.release("oci:/held/a:app:1")  # fails, with its sentence
    qtbot.waitUntil(lambda: a.state is TransferState.FAILED, timeout=WAIT_MS)
    panel.select(a)
    assert [header.sectionSize(column) for column in range(len(TITLES))] == widths
    held.release("oci:/held/b:app:1")  # every copy ended
    qtbot.waitUntil(lambda: b.state.finished, timeout=WAIT_MS)
    qtbot.wait(50)  # (anything queued runs)
    assert [header.sectionSize(column) for column in range(len(TITLES))] == widths


def test_the_rows_start_where_the_caption_does(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """The table was flush with the window's left edge under an indented TRANSFERS."""
    start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    window.copying.show_panel()
    panel = window.copying.panel
    qtbot.waitUntil(lambda: panel.table.isVisible() and panel.caption.isVisible(),
                    timeout=WAIT_MS)
    assert panel.table.geometry().left() == panel.caption.geometry().left() > 0
    # and ends where the bar's last button does
    assert panel.table.geometry().right() == panel.close_button.geometry().right()


def test_a_stalled_copy_shows_no_speed_and_no_eta(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    transfer, clock, layer = _half_copied(qtbot, window, scripted, tmp_path)
    assert row_texts(window, transfer)["eta"] == "5 s"
    # five seconds without a byte: the window of samples holds only the same count
    clock.now = 59.0
    feed(qtbot, window, scripted, BlobProgress(layer.digest, 5 * MiB, layer.size))
    texts = row_texts(window, transfer)
    assert texts["bytes"] == "5.0 MiB / 10.0 MiB"
    assert (texts["speed"], texts["eta"]) == ("", "")
    assert window.copying.panel.summary.text() == "1 running"


def test_a_copy_that_stalls_without_events_loses_its_speed_and_eta(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    transfer, clock, layer = _half_copied(qtbot, window, scripted, tmp_path)
    # the engine says nothing more (a stalled read): the row is refreshed all the same
    clock.now = 59.0
    with qtbot.waitSignal(window.copying.manager.changed, timeout=3000):
        pass
    texts = row_texts(window, transfer)
    assert texts["bytes"] == "5.0 MiB / 10.0 MiB"
    assert (texts["speed"], texts["eta"]) == ("", "")
    assert transfer.state is TransferState.COPYING
    assert texts["state"].startswith("Copying")  # a pause of a few seconds is no stall
    # 46 seconds: the row says the copy is stalled, and the tooltip what that means
    clock.now = 54.0 + 46
    with qtbot.waitSignal(window.copying.manager.changed, timeout=3000):
        pass
    texts = row_texts(window, transfer)
    assert texts["state"] == "Stalled · 46 s"
    model = window.copying.panel.model
    tip = model.data(model.index(0, STATE), Qt.ItemDataRole.ToolTipRole)
    assert "not answering" in tip
    details = window.copying.panel.show_details(transfer)  # says it too, not only the tip
    assert details is not None and "not answering" in details.heading.text()
    details.close()
    # bytes move again: copying again
    clock.now += 1
    feed(qtbot, window, scripted, BlobProgress(layer.digest, 6 * MiB, layer.size))
    assert row_texts(window, transfer)["state"].startswith("Copying")


def paint_progress(style: str, value: float, text: str,
                   direction: Qt.LayoutDirection = Qt.LayoutDirection.LeftToRight,
                   ) -> QImage:
    """A Transfers progress cell (200x26) at ``value`` saying ``text``, drawn by its delegate
    in a view of ``style``."""
    from PySide6.QtGui import QStandardItem, QStandardItemModel

    from spyglass.gui.models.transfers import PROGRESS_ROLE
    from spyglass.gui.views.delegates import ProgressBarDelegate

    view = QTableView()
    view.setStyle(QStyleFactory.create(style))
    model = QStandardItemModel(1, 1)
    item = QStandardItem(text)
    item.setData(value, PROGRESS_ROLE)
    model.setItem(0, 0, item)
    view.setModel(model)
    image = QImage(200, 26, QImage.Format.Format_ARGB32)
    image.fill(view.palette().color(QPalette.ColorRole.Base))
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = QRect(0, 0, 200, 26)
    option.direction = direction
    option.widget = view
    painter = QPainter(image)
    ProgressBarDelegate(PROGRESS_ROLE).paint(painter, option, model.index(0, 0))
    painter.end()
    view.deleteLater()
    return image


@pytest.mark.parametrize("style", ["windows", "fusion"])
@pytest.mark.parametrize("value", [1.0, 0.0])
def test_the_progress_text_reads_on_the_bar_in_every_style(
        qapp: QApplication, style: str, value: float) -> None:
    """The text was drawn in the highlight's text colour over the whole filled part,
    which the "Windows" style draws as chunks with the trough between them: "100 %" was
    white on #efefef (1.15:1) where it crossed a gap. Every pixel of the text reads on
    what is under it as well as the palette's own pairs read (a selected row's text, a
    view's)."""
    bare = paint_progress(style, value, "")
    said = paint_progress(style, value, "100 %")
    inked = [(x, y) for x in range(said.width()) for y in range(said.height())
             if said.pixel(x, y) != bare.pixel(x, y)]
    assert inked, "no text drawn"
    ink = QColor(Counter(said.pixel(x, y) for x, y in inked).most_common(1)[0][0])
    palette = qapp.palette()
    least = min(contrast_ratio(palette.color(QPalette.ColorRole.HighlightedText),
                               palette.color(QPalette.ColorRole.Highlight)),
                contrast_ratio(palette.color(QPalette.ColorRole.Text),
                               palette.color(QPalette.ColorRole.Base))) - 0.01
    under = Counter(bare.pixel(x, y) for x, y in inked if said.pixel(x, y) == ink.rgba())
    worst = min(under, key=lambda pixel: contrast_ratio(ink, QColor(pixel)))
    assert contrast_ratio(ink, QColor(worst)) >= least, (
        ink.name(), QColor(worst).name(), round(contrast_ratio(ink, QColor(worst)), 2))


@pytest.mark.parametrize("direction", [Qt.LayoutDirection.LeftToRight,
                                       Qt.LayoutDirection.RightToLeft])
def test_a_progress_bar_fills_from_the_start_of_the_line(
        qapp: QApplication, direction: Qt.LayoutDirection) -> None:
    """(As the Layers share bars do: right to left, from the right.)"""
    image = paint_progress("fusion", 0.3, "", direction)
    highlight = qapp.palette().color(QPalette.ColorRole.Highlight)
    start, far = (12, 188) if direction == Qt.LayoutDirection.LeftToRight else (188, 12)
    assert image.pixelColor(start, 13) == highlight
    assert image.pixelColor(far, 13) == qapp.palette().color(QPalette.ColorRole.Base)


# -- 2. Details


def test_details_rows_are_as_tall_as_the_panels_and_sizes_keep_off_the_types(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """The blob rows were some 14 px high, text on text, and the right-aligned size
    touched the type beside it ("305 B|OCI image config")."""
    clock = FakeClock()
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    config = blob("config", 888 * MiB, media.OCI_CONFIG)
    feed(qtbot, window, scripted, Planned(plan_of(config)))
    panel = window.copying.panel
    panel.select(transfer)
    qtbot.mouseClick(panel.details_button, Qt.MouseButton.LeftButton)
    [details] = panel.details
    details.show()
    qtbot.waitExposed(details)
    tree = details.blobs
    item = details.items()[str(config.digest)]
    assert tree.visualItemRect(item).height() >= \
        panel.table.verticalHeader().defaultSectionSize()
    # the size column as narrow as its text allows: its end still holds no ink
    tree.resizeColumnToContents(1)
    row = tree.visualItemRect(item)
    cell = QRect(tree.header().sectionViewportPosition(1), row.y(),
                 tree.columnWidth(1), row.height())
    image = tree.viewport().grab(cell).toImage()
    end = {image.pixel(x, y) for x in range(image.width() - 10, image.width())
           for y in range(image.height())}
    assert len(end) == 1, "the size reaches the end of its column"
    details.close()


def test_details_list_mounted_and_recompressed_blobs_and_a_failure_sentence(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    clock = FakeClock()
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    config = blob("config", 1500, media.OCI_CONFIG)
    mounted, squeezed, present, broken = (blob(n, 3 * MiB) for n in
                                          ("mounted", "squeezed", "present", "broken"))
    plan = plan_of(config, mounted, squeezed, present, broken, recompress=(squeezed,))
    feed(qtbot, window, scripted, Planned(plan))
    panel = window.copying.panel
    panel.select(transfer)
    qtbot.mouseClick(panel.details_button, Qt.MouseButton.LeftButton)
    [details] = panel.details
    assert isinstance(details, TransferDetailsDialog) and details.transfer is transfer
    assert set(details.outcomes().values()) == {"not started"}
    assert details.error_label.isHidden()

    clock.now += 1
    feed(qtbot, window, scripted,
         BlobSkipped(config.digest, config.size, "mounted"),
         BlobSkipped(mounted.digest, mounted.size, "mounted"),
         BlobStarted(squeezed.digest, squeezed.size, squeezed.media_type),
         BlobDone(squeezed.digest, written(squeezed), True),
         BlobSkipped(present.digest, present.size, "exists", written(present).digest),
         BlobStarted(broken.digest, broken.size, broken.media_type),
         BlobProgress(broken.digest, broken.size // 4, broken.size))
    # the dialog follows the transfer while it is open
    assert details.outcomes() == {
        str(config.digest): "mounted from another repository",
        str(mounted.digest): "mounted from another repository",
        str(squeezed.digest): f"recompressed as {short_digest(written(squeezed).digest)}",
        # recompressed by an earlier copy: named as it is kept there
        str(present.digest): f"skipped (already there) as {short_digest(written(present).digest)}",
        str(broken.digest): "copying (25 %)",
    }
    rows = details.items()
    assert rows[str(squeezed.digest)].text(1) == "3.0 MiB"
    # asked for again, the same window comes forward (not a second one)
    qtbot.mouseClick(panel.details_button, Qt.MouseButton.LeftButton)
    assert panel.details == [details]
    assert details.windowTitle().startswith("Transfer Details — ")
    assert rows[str(config.digest)].toolTip(1) == "1,500 bytes"
    assert rows[str(config.digest)].toolTip(2) == media.OCI_CONFIG

    sentence = "The registry registry.example closed the connection while sending a blob."
    clock.now += 1
    feed(qtbot, window, scripted, Failed(sentence))
    finish(qtbot, window, scripted, SpyglassError(sentence))
    assert transfer.state is TransferState.FAILED
    assert transfer.error == sentence
    # the State column keeps its width, wide or narrow: the route takes up the change
    panel_table = panel.table
    header = panel_table.horizontalHeader()
    state_width = header.sectionSize(STATE)
    window.resize(2200, 700)
    qtbot.waitUntil(lambda: panel_table.viewport().width() > 1900, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: header.sectionSize(TRANSFER) > 1000, timeout=WAIT_MS)
    assert header.sectionSize(STATE) == state_width
    # a width given by hand stays, whatever the window does
    header.resizeSection(STATE, 300)
    window.resize(900, 700)
    qtbot.waitUntil(lambda: panel_table.viewport().width() < 900, timeout=WAIT_MS)
    qtbot.wait(20)
    assert header.sectionSize(STATE) == 300
    assert details.error_label.text() == sentence
    assert not details.error_label.isHidden()
    assert "State: Failed" in details.heading.text()
    outcomes = details.outcomes()
    # the layout took back what the copy wrote; what was there before stays
    assert outcomes[str(broken.digest)] == "interrupted, taken back"
    squeezed_as = short_digest(written(squeezed).digest)
    assert outcomes[str(squeezed.digest)] == f"recompressed as {squeezed_as}, taken back"
    assert outcomes[str(mounted.digest)] == "mounted from another repository"
    assert outcomes[str(present.digest)].startswith("skipped (already there) as ")
    assert row_texts(window, transfer)["state"] == f"Failed · t{sentence[1:]}"
    assert row_texts(window, transfer)["eta"] == ""
    details.close()
    qtbot.waitUntil(lambda: not panel.details, timeout=WAIT_MS)


def test_details_without_blobs_show_no_empty_list(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """A copy that failed before it began showed a tall empty Blob/Size/Type/Outcome
    table under "Nothing was copied…": the list is hidden while it has no row, the
    dialog as tall as its sentences, and grows to show the rows once they come."""
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path / "a")
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    assert "The blobs are listed once the copy is planned." in details.heading.text()
    assert details.blobs.isHidden()
    sentence = "The registry registry.example refused the connection."
    finish(qtbot, window, scripted, SpyglassError(sentence))
    assert transfer.state is TransferState.FAILED
    assert "Nothing was copied: the copy failed before it began." in details.heading.text()
    assert details.error_label.text() == sentence
    assert details.blobs.isHidden()

    def compact() -> None:  # the Close button right under the sentence
        buttons = details.findChild(QDialogButtonBox)
        assert buttons is not None
        gap = buttons.geometry().top() - details.error_label.geometry().bottom()
        assert 0 <= gap < 40, gap
        assert details.height() < 300, details.height()

    qtbot.waitUntil(compact, timeout=WAIT_MS)
    details.close()
    # planning, then planned: the list is shown, with the room it had
    scripted.events = None
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path / "b")
    details = window.copying.panel.show_details(transfer)
    assert details is not None and details.blobs.isHidden()
    config = blob("config", 1500, media.OCI_CONFIG)
    feed(qtbot, window, scripted, Planned(plan_of(config, blob("layer", MiB))))
    assert not details.blobs.isHidden() and len(details.outcomes()) == 2
    qtbot.waitUntil(lambda: details.height() >= 440, timeout=WAIT_MS)
    window.copying.manager.cancel(transfer)
    details.close()


def test_the_scripted_finish_waits_for_the_copy_to_end_not_for_an_idle_refresh(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """The tests' ``finish`` returned on the first ``changed``: the GUI thread held up
    past a tick of the manager's idle refresh (a dialog laid out on a loaded machine),
    that tick's snapshot of the copy still planning came first, and the test went on
    with the copy not ended yet."""
    from spyglass.gui.transfers import IDLE_REFRESH_MS

    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    time.sleep(IDLE_REFRESH_MS / 1000 + 0.05)  # the idle refresh is due, and goes first
    finish(qtbot, window, scripted, SpyglassError("The registry refused the connection."))
    assert transfer.state is TransferState.FAILED
    assert row_texts(window, transfer)["state"].startswith("Failed")


def test_details_say_a_plain_layer_was_compressed_not_recompressed(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """A plain tar gzipped or zstd'ed on its way was never compressed before: its row
    says "compressed as", as the plan's note does; a compressed one "recompressed as"."""
    clock = FakeClock()
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    config = blob("config", 1500, media.OCI_CONFIG)
    plain, squeezed = blob("plain", 3 * MiB, media.OCI_LAYER), blob("squeezed", 3 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, plain, squeezed,
                                                  recompress=(plain, squeezed))))
    clock.now += 1
    feed(qtbot, window, scripted,
         BlobSkipped(config.digest, config.size, "exists"),
         *(event for layer in (plain, squeezed) for event in (
             BlobStarted(layer.digest, layer.size, layer.media_type),
             BlobDone(layer.digest, written(layer), True))))
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    outcomes = details.outcomes()
    assert outcomes[str(plain.digest)] == f"compressed as {short_digest(written(plain).digest)}"
    assert outcomes[str(squeezed.digest)] == \
        f"recompressed as {short_digest(written(squeezed).digest)}"
    # the Type is that of the blob whose digest and size the row shows (the source's),
    # then what it is written as: a plain layer's digest beside "(zstd)" read as zstd's
    types = {digest: item.text(2) for digest, item in details.items().items()}
    assert types[str(plain.digest)] == "OCI layer → OCI layer (zstd)"
    assert types[str(squeezed.digest)] == "OCI layer (gzip) → OCI layer (zstd)"
    assert types[str(config.digest)] == "OCI image config"
    details.close()


def test_details_say_a_blob_started_again_and_why(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    clock = FakeClock()
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    config, layer = blob("config", 1500, media.OCI_CONFIG), blob("layer", 3 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, layer)))
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    reason = "The registry registry.example answered HTTP 503 (try later)."
    feed(qtbot, window, scripted,
         BlobStarted(layer.digest, layer.size, layer.media_type),
         BlobProgress(layer.digest, MiB, layer.size),
         BlobRetried(layer.digest, 2, 4, reason))
    item = details.items()[str(layer.digest)]
    assert item.text(3) == "starting again (attempt 2 of 4)"
    assert item.toolTip(3) == f"starting again (attempt 2 of 4)\nStarted again after: {reason}"
    clock.now += 1
    feed(qtbot, window, scripted,
         BlobStarted(layer.digest, layer.size, layer.media_type),
         BlobDone(layer.digest, layer, False))
    assert details.outcomes()[str(layer.digest)] == "copied, after 1 retry"
    assert row_texts(window, transfer)["bytes"].startswith("3.0 MiB")  # counted once
    details.close()



def run_in_window(qtbot: QtBot, window: MainWindow, request: CopyRequest) -> Transfer:
    transfer = window.copying.start(request)
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=COPY_MS)
    assert transfer.state is TransferState.DONE, transfer.error
    return transfer


def test_a_real_copy_within_a_registry_mounts_and_recompresses(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, registry_binary: str) -> None:
    with RegistryServer(binary=registry_binary) as server:
        add_registry(qtbot, window, server.host, insecure=True)
        run_in_window(qtbot, window, CopyRequest(
            f"oci:{sample.layout}:spyglass-demo:1.0", f"docker://{server.host}/demo/app:1.0",
            CopyOptions(multi_arch="all")))
        transfer = run_in_window(qtbot, window, CopyRequest(
            f"docker://{server.host}/demo/app:1.0", f"docker://{server.host}/mirror/app:1.0",
            CopyOptions(multi_arch="all", compression="zstd")))
        details = window.copying.panel.show_details(transfer)
        assert details is not None
        outcomes = details.outcomes()
        for image in sample.images.values():
            # configs are the same bytes: the registry mounts them from demo/app
            assert outcomes[image.manifest["config"]["digest"]] \
                == "mounted from another repository"
            for digest in image.layer_digests:
                # the digest it was written as: a blob of the mirror, not the source's
                assert outcomes[digest].startswith("recompressed as sha256:")
                tip = details.items()[digest].toolTip(0)
                assert tip.startswith(f"{digest}\nwritten as sha256:")
                new = tip.rpartition(" ")[2]
                assert new != digest
                answer = httpx.head(f"{server.url}/v2/mirror/app/blobs/{new}")
                assert answer.status_code == 200
        assert details.error_label.isHidden()
        model = window.copying.panel.model
        row = window.copying.manager.row_of(transfer)
        assert model.data(model.index(row, STATE)) == "Done"
        assert model.data(model.index(row, ETA)) == ""
        assert model.data(model.index(row, SPEED)).endswith("/s")
        details.close()


# -- 3. drag sources


@dataclass(frozen=True)
class StartedDrag:
    """What a view put on a drag it started."""

    source: QObject | None
    formats: list[str]
    payload: dict[str, Any]
    text: str
    image: DraggedImage | None


@pytest.fixture
def drags(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[StartedDrag]]:
    """Drags the views start, recorded where the platform would run them."""
    started: list[StartedDrag] = []

    class RecordingDrag(QDrag):
        def exec(self, *_actions: Any) -> Qt.DropAction:  # type: ignore[override]
            mime = self.mimeData()
            started.append(StartedDrag(self.source(), list(mime.formats()),
                                       json.loads(bytes(mime.data(MIME_TYPE).data())),
                                       mime.text(), image_from_mime(mime)))
            return Qt.DropAction.CopyAction

    monkeypatch.setattr(dragdrop, "QDrag", RecordingDrag)
    yield started


def mouse_drag(qtbot: QtBot, view: QAbstractItemView, index: QModelIndex,
               distance: int | None = None) -> None:
    """Press on ``index``, move ``distance`` pixels (enough to start a drag) and let go."""
    assert index.isValid()
    view.scrollTo(index)
    viewport = view.viewport()
    start = view.visualRect(index).center()
    assert viewport.rect().contains(start), "the row is not on screen"
    step = distance if distance is not None else QApplication.startDragDistance() + 3
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(viewport, start + QPoint(step, 2))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(step, 2))


def expand_repository(qtbot: QtBot, window: MainWindow, host: str,
                      repository: str) -> list[str]:
    registries = window.registries
    assert repository in wait_repositories(qtbot, window, host)
    repo = registries.model.repository_index(host, repository)
    registries.tree.expand(repo)
    registries.model.fetchMore(repo)
    return wait_tags(qtbot, window, host, repository)


def test_dragging_a_tag_from_the_registries_tree_carries_its_name(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts,
        drags: list[StartedDrag]) -> None:
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    assert "1.9" in expand_repository(qtbot, window, host, "demo/app")
    model, tree = window.registries.model, window.registries.tree
    # a repository row is a place to drop on, not an image to drag
    mouse_drag(qtbot, tree, model.repository_index(host, "demo/app"))
    assert drags == []
    tag = model.tag_index(host, "demo/app", "1.9")
    # the digest the row shows, once looked up: the copy expects the tag to name it still
    qtbot.waitUntil(lambda: getattr(model.node(tag), "digest", None) is not None,
                    timeout=WAIT_MS)
    mouse_drag(qtbot, tree, tag)
    [drag] = drags
    assert drag.source in (tree, tree.viewport())
    assert MIME_TYPE in drag.formats and "text/plain" in drag.formats
    shown = demo_registry.digests["demo/app:1.9"]
    assert drag.payload == {"name": f"docker://{host}/demo/app:1.9", "label": "demo/app:1.9",
                            "platform": "", "top_digest": shown}
    assert drag.text == f"docker://{host}/demo/app:1.9"
    assert drag.image == DraggedImage(f"docker://{host}/demo/app:1.9", "demo/app:1.9",
                                      top_digest=shown)


def open_repository_page(qtbot: QtBot, window: MainWindow, host: str,
                         repository: str) -> list[str]:
    registries = window.registries
    tags = expand_repository(qtbot, window, host, repository)
    registries.tree.setCurrentIndex(registries.model.repository_index(host, repository))
    assert window.content.currentWidget() is registries.repository_page
    page = registries.repository_page
    qtbot.waitUntil(lambda: len(page.tag_texts()) == len(tags), timeout=WAIT_MS)
    return list(page.tag_texts())


def test_dragging_a_row_of_the_tag_table_carries_that_tag(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts,
        drags: list[StartedDrag]) -> None:
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    texts = open_repository_page(qtbot, window, host, "demo/app")
    page = window.registries.repository_page
    index = page.proxy.index(texts.index("1.2"), 0, page.table.rootIndex())
    # a press and a wiggle shorter than the drag distance is a click, not a drag
    mouse_drag(qtbot, page.table, index, distance=1)
    assert drags == []
    mouse_drag(qtbot, page.table, index)
    [drag] = drags
    assert drag.source in (page.table, page.table.viewport())
    assert drag.image.name == f"docker://{host}/demo/app:1.2"
    assert drag.image.label == "demo/app:1.2"
    # the digest the row shows, where it was looked up by then
    assert drag.image.top_digest in ("", demo_registry.digests["demo/app:1.2"])
    assert drag.text == f"docker://{host}/demo/app:1.2"
    # a sorted or filtered table still drags the row under the mouse
    page.filter.setText("1.1")
    qtbot.waitUntil(lambda: page.proxy.rowCount(page.table.rootIndex()) == 1,
                    timeout=WAIT_MS)
    mouse_drag(qtbot, page.table, page.proxy.index(0, 0, page.table.rootIndex()))
    assert drags[-1].image.name == f"docker://{host}/demo/app:1.10"


def test_dragging_a_platform_row_carries_the_list_and_that_platform(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts,
        drags: list[StartedDrag]) -> None:
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    view.tabs.setCurrentWidget(view.platforms)
    model = view.platforms.model
    table = view.platforms.table
    platforms = [str(s.descriptor.platform) for s in model.rows]
    assert sorted(platforms) == sorted(sample.images)
    for row, platform in enumerate(platforms):
        mouse_drag(qtbot, table, model.index(row, 0))
        drag = drags[-1]
        assert drag.source in (table, table.viewport())
        assert drag.payload == {
            "name": f"oci:{sample.layout}:spyglass-demo:1.0",
            "label": f"spyglass-demo:1.0 ({platform})",
            "platform": platform,
            "digest": sample.images[platform].manifest_digest,  # (a registry's: its name)
            "top_digest": sample.index_digest,  # the list shown, which the copy expects
        }
        assert drag.text == f"oci:{sample.layout}:spyglass-demo:1.0"
    assert len(drags) == len(platforms)


def test_dragging_an_image_from_the_places_tree(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts,
        drags: list[StartedDrag]) -> None:
    window.open_location(sample.layout, select=False)
    wait_listed(qtbot, window)
    places = window.places
    # the layout's own row is not an image
    mouse_drag(qtbot, window.tree, places.index(0, 0))
    assert drags == []
    mouse_drag(qtbot, window.tree, places.find_image("tools:2024.1"))
    [drag] = drags
    assert drag.image == DraggedImage(f"oci:{sample.layout}:tools:2024.1", "tools:2024.1",
                                      top_digest=sample.tools_digest)


# -- 4. drop targets


def test_an_image_dropped_on_a_repository_or_its_tag_goes_to_that_repository(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts,
        demo_registry: RegistryFacts) -> None:
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    expand_repository(qtbot, window, host, "demo/app")
    window.open_location(sample.layout, select=False)
    wait_listed(qtbot, window)
    image = window.copying._place_image(window.places.find_image("tools:2024.1"))
    assert image is not None
    registries = window.registries
    model = registries.model
    dialog = drop_on_row(qtbot, window, registries.tree,
                         model.repository_index(host, "demo/app"), image)
    assert dialog.source_edit.text() == f"oci:{sample.layout}:tools:2024.1"
    # the repository dropped on, the source's tag
    assert dialog.destination_edit.text() == f"docker://{host}/demo/app:2024.1"
    assert dialog.destination_note.text() == \
        f"The registry {host}, repository demo/app, tag 2024.1."
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)  # platforms listed
    dialog.reject()
    # a tag row stands for its repository: the dropped image keeps its own tag
    dialog = drop_on_row(qtbot, window, registries.tree,
                         model.tag_index(host, "demo/app", "1.9"), image)
    assert dialog.destination_edit.text() == f"docker://{host}/demo/app:2024.1"
    dialog.reject()
    # an image from the registry itself, dropped on another repository
    tag = window.copying._registry_image(model.tag_index(host, "demo/app", "1.10"))
    assert tag is not None
    dialog = drop_on_row(qtbot, window, registries.tree,
                         model.repository_index(host, "other/tools"), tag)
    assert dialog.source_edit.text() == f"docker://{host}/demo/app:1.10"
    assert dialog.destination_edit.text() == f"docker://{host}/other/tools:1.10"
    dialog.reject()
    assert window.copying.manager.transfers == []


@pytest.mark.parametrize(("transport", "note"), [
    ("oci-archive", "An OCI layout tarball at {}, named spyglass-demo:1.0."),
    ("docker-archive", "A docker save tarball at {}, named "
                       "docker.io/library/spyglass-demo:1.0."),
])
def test_an_image_dropped_on_an_archive_is_offered_into_that_archive(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, demo_registry: RegistryFacts,
        tmp_path: Path, transport: str, note: str) -> None:
    archive = tmp_path / f"{transport}.tar"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"{transport}:{archive}:tools:2024.1")
    window.open_location(sample.layout, select=False)
    window.open_location(archive, select=False)
    wait_listed(qtbot, window, 0)
    wait_listed(qtbot, window, 1)
    places = window.places
    assert places.location_node(places.index(1, 0)).location.kind == transport
    image = window.copying._place_image(places.find_image("spyglass-demo:1.0", 0))
    assert image is not None
    dialog = drop_on_row(qtbot, window, window.tree, places.index(1, 0), image)
    assert dialog.destination_edit.text() == f"{transport}:{archive}:spyglass-demo:1.0"
    assert dialog.destination_note.text() == note.format(archive)
    # what is there is named, once (the replace note), and Copy waits for "Replace what is
    # there" (test_copy_dialog)
    qtbot.waitUntil(lambda: dialog.replace_box.isVisible(), timeout=WAIT_MS)
    assert "replaces the archive" in dialog.replace_note.text()
    assert "replace" not in dialog.destination_note.text()
    assert not dialog.copy_button.isEnabled()
    dialog.reject()
    # a registry's tag dropped on the archive's image row: named after its repository
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    expand_repository(qtbot, window, host, "demo/app")
    image = window.copying._registry_image(
        window.registries.model.tag_index(host, "demo/app", "1.9"))
    assert image is not None
    inside = places.index(0, 0, places.index(1, 0))
    assert window.copying._place_image(inside) is not None  # an image row of the archive
    dialog = drop_on_row(qtbot, window, window.tree, inside, image)
    assert dialog.source_edit.text() == f"docker://{host}/demo/app:1.9"
    assert dialog.destination_edit.text() == f"{transport}:{archive}:demo/app:1.9"
    dialog.reject()


def test_details_keep_their_scroll_and_selection_while_the_copy_runs(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    clock = FakeClock()
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    layers = [blob(f"layer {i}", MiB) for i in range(80)]
    feed(qtbot, window, scripted, Planned(plan_of(blob("config", 1500, media.OCI_CONFIG),
                                                  *layers)))
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    tree = details.blobs
    chosen = tree.topLevelItem(40)
    tree.setCurrentItem(chosen)
    tree.scrollToBottom()
    scrolled = tree.verticalScrollBar().value()
    assert scrolled > 0
    for step in range(3):
        clock.now += 1
        feed(qtbot, window, scripted,
             BlobStarted(layers[step].digest, MiB, layers[step].media_type),
             BlobProgress(layers[step].digest, MiB // 2, MiB))
    assert tree.verticalScrollBar().value() == scrolled
    assert [item.data(0, DIGEST_ROLE) for item in tree.selectedItems()] \
        == [str(layers[39].digest)]
    assert tree.currentItem() is chosen
    assert details.outcomes()[str(layers[2].digest)] == "copying (50 %)"
    assert tree.topLevelItemCount() == 81
    details.close()


def test_a_copy_with_everything_already_there_says_so(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    clock = FakeClock()
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    config, layer = blob("config", 1500, media.OCI_CONFIG), blob("layer", 192 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, layer)))
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    assert "State: Copying" in details.heading.text()
    item = details.blobs.topLevelItem(1)
    assert item.toolTip(0) == str(layer.digest)  # the column cuts the digest short
    clock.now += 1
    feed(qtbot, window, scripted, BlobSkipped(config.digest, config.size, "exists"),
         BlobSkipped(layer.digest, layer.size, "exists"),
         Finished(Digest.of(b"manifest"), media.OCI_MANIFEST))
    with qtbot.waitSignal(window.copying.manager.finished, timeout=WAIT_MS):
        scripted.finish(Descriptor(media.OCI_MANIFEST, Digest.of(b"manifest"), 2))
    texts = row_texts(window, transfer)
    # the source's very manifest, every blob there already: the mirror had this image
    assert (texts["bytes"], texts["speed"]) == ("192 MiB already there", "same image")
    assert "State: Done · already there" in details.heading.text()
    details.close()


def test_a_copy_made_of_mounts_is_no_image_already_there(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """Every blob mounted from another repository: the copy put the image there without
    sending its bytes; the image was not there before."""
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    config, layer = blob("config", 1500, media.OCI_CONFIG), blob("layer", 192 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, layer)),
         BlobSkipped(config.digest, config.size, "exists"),
         BlobSkipped(layer.digest, layer.size, "mounted"),
         Finished(Digest.of(b"manifest"), media.OCI_MANIFEST))
    with qtbot.waitSignal(window.copying.manager.finished, timeout=WAIT_MS):
        scripted.finish(Descriptor(media.OCI_MANIFEST, Digest.of(b"manifest"), 2))
    texts = row_texts(window, transfer)
    assert (texts["state"], texts["bytes"], texts["speed"]) == (
        "Done", "192 MiB mounted", "nothing sent")
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    assert "already there" not in details.heading.text()
    assert details.outcomes()[str(layer.digest)] == "mounted from another repository"
    details.close()


def test_details_say_cancelling_as_the_panel_does(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    assert "State: Planning…" in details.heading.text()
    assert "The blobs are listed once the copy is planned." in details.heading.text()
    window.copying.manager.cancel(transfer)
    assert row_texts(window, transfer)["state"] == "Cancelling…"
    assert "State: Cancelling…" in details.heading.text()
    details.close()


def test_a_narrow_transfer_column_shortens_each_side_and_keeps_the_arrow(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    deep = tmp_path / "a-rather-long-folder-name" / "another-long-folder-name"
    transfer = window.copying.start(CopyRequest(
        SOURCE, f"oci:{deep / 'mirror-of-the-team-images'}:app:2.0", CopyOptions(),
        label="team/app:2.0"))
    qtbot.waitUntil(lambda: scripted.events is not None, timeout=WAIT_MS)
    panel = window.copying.panel
    index = panel.model.index(window.copying.manager.row_of(transfer), TRANSFER)
    whole = index.data()
    # what a person picked and where to, by the names the window lists them by
    assert whole == "team/app:2.0  →  mirror-of-the-team-images"
    delegate = panel.table.itemDelegateForColumn(TRANSFER)
    metrics = panel.table.fontMetrics()

    def shown(width: int) -> str:
        option = QStyleOptionViewItem()
        option.initFrom(panel.table)
        option.rect = QRect(0, 0, width, 24)
        delegate.initStyleOption(option, index)
        return option.text

    assert shown(metrics.horizontalAdvance(whole) + 40) == whole  # room enough: all of it
    for width in (240, 180, 120):
        text = shown(width)
        source, arrow, destination = text.partition("  →  ")
        assert arrow, text  # the view's own eliding cut the arrow out
        assert metrics.horizontalAdvance(text) <= width
        assert "…" in text and source.endswith("0") and destination.startswith("mi"), text
        if width >= 240:  # the image whole, the place cut
            assert source == "team/app:2.0", text
    window.copying.manager.cancel(transfer)


def test_copies_to_neighbouring_folders_stay_apart_in_a_narrow_column(
        window: MainWindow) -> None:
    """d0 … d4, all ``nightly``: the folder, which tells them apart, stays in sight with
    the ref (the transport goes first), down to a narrow window's column."""
    from spyglass.gui.views.delegates import fit_route

    metrics = window.copying.panel.table.fontMetrics()
    for room in (360, 300, 240, 200):
        shown = {fit_route(metrics, "oci:…/src:nightly", f"oci:…/d{n}:nightly", room)
                 for n in range(5)}
        assert len(shown) == 5, (room, shown)
        assert all(text.endswith(":nightly") for text in shown), (room, shown)


def test_pushes_to_neighbouring_repositories_with_a_long_tag_stay_apart(
        window: MainWindow) -> None:
    """A long tag takes half the room at most, cut in its middle: the end of the
    repository, which tells the copies apart, stays in sight."""
    from spyglass.gui.views.delegates import fit_route

    metrics = window.copying.panel.table.fontMetrics()
    tag = "v1.2.3-" + "build." * 20 + "x"
    for room in (700, 500, 380):
        shown = {fit_route(metrics, "oci:…/src:app",
                           f"127.0.0.1:42275/team/service-backend-gateway-{n}:{tag}", room)
                 for n in range(3)}
        assert len(shown) == 3, (room, shown)
        assert all(text.endswith(".x") for text in shown), (room, shown)


def test_a_registry_port_is_never_cut_in_its_middle(window: MainWindow) -> None:
    """A port cut short reads as another port: the host and port stay whole, or the port
    goes entirely."""
    import re

    from spyglass.gui.views.delegates import fit_route

    metrics = window.copying.panel.table.fontMetrics()
    source = "127.0.0.1:37553/spyglass/demo:1.0"
    destination = "oci:…/layoutA:spyglass-demo:1.0-linux-arm64-v8"
    for room in range(80, metrics.horizontalAdvance(source + destination) + 80, 7):
        text = fit_route(metrics, source, destination, room)
        shown = text.partition("  →  ")[0]
        port = re.match(r"127\.0\.0\.1:(\d+)", shown)
        assert port is None or port.group(1) == "37553", (room, text)
        if room >= 400:
            assert shown.startswith("127.0.0.1:37553/") and shown.endswith("demo:1.0"), text


# -- 5. the queue, shutdown, Retry, Clear Finished


class HeldCopies:
    """A source opener that holds each copy (by its source name) until the test lets it go;
    then the copy fails. ``opened`` lists the sources a copy began with, in order."""

    def __init__(self, *names: str) -> None:
        self.gates = {name: threading.Event() for name in names}
        self.opened: list[str] = []

    def __call__(self, name: str, cancel: object = None) -> Any:
        self.opened.append(name)
        self.gates[name].wait(WAIT_MS / 1000)
        raise SpyglassError(f"{name} was let go.")

    def release(self, *names: str) -> None:
        for name in names:
            self.gates[name].set()


def held_request(name: str) -> CopyRequest:
    return CopyRequest(name, name.replace("/held/", "/nowhere/"), CopyOptions())


@pytest.fixture
def held_panel(qtbot: QtBot) -> Iterator[tuple[HeldCopies, TransfersPanel]]:
    """A Transfers panel on a manager of two parallel copies, whose copies the test holds."""
    held = HeldCopies(*(f"oci:/held/{name}:app:1" for name in "abcd"))
    manager = TransferManager(Openers(source=held), max_parallel=2)
    panel = TransfersPanel(manager)
    qtbot.addWidget(panel)
    panel.show()
    yield held, panel
    held.release(*held.gates)
    manager.shutdown()


def test_a_copy_beyond_the_parallel_ones_waits_for_whichever_ends_first(
        qtbot: QtBot, held_panel: tuple[HeldCopies, TransfersPanel]) -> None:
    held, panel = held_panel
    manager, model = panel.manager, panel.model
    a, b, c, d = (manager.start(held_request(name)) for name in held.gates)
    qtbot.waitUntil(lambda: len(held.opened) == 2, timeout=WAIT_MS)
    assert [model.data(model.index(row, STATE)) for row in range(4)] \
        == ["Planning…", "Planning…", "Waiting", "Waiting"]
    assert panel.summary.text() == "2 running · 2 waiting"
    held.release("oci:/held/b:app:1")  # the second copy ends first: c takes its place
    qtbot.waitUntil(lambda: b.state.finished and c.state is TransferState.PLANNING,
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(held.opened) == 3, timeout=WAIT_MS)
    assert held.opened[2] == "oci:/held/c:app:1"
    assert d.state is TransferState.WAITING
    details = panel.show_details(d)
    assert details is not None
    assert "It waits for one of the copies running now to end." in details.heading.text()

    panel.select(d)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert d.state is TransferState.CANCELLED  # at once: it had not started
    assert model.data(model.index(3, STATE)) == "Cancelled"
    assert "Nothing was copied" in details.heading.text()  # its empty list explained
    details.close()
    assert panel.summary.text() == "2 running · 1 failed · 1 cancelled"
    held.release("oci:/held/a:app:1", "oci:/held/c:app:1")
    qtbot.waitUntil(lambda: a.state.finished and c.state.finished, timeout=WAIT_MS)
    assert "oci:/held/d:app:1" not in held.opened
    assert (a.state, c.state) == (TransferState.FAILED, TransferState.FAILED)


def test_cancel_all_stops_the_waiting_copies_before_the_running_ones(
        qtbot: QtBot, held_panel: tuple[HeldCopies, TransfersPanel]) -> None:
    """None of the waiting copies starts in the place a cancelled running one leaves."""
    held, panel = held_panel
    manager = panel.manager
    a, b, c, d = (manager.start(held_request(name)) for name in held.gates)
    qtbot.waitUntil(lambda: len(held.opened) == 2, timeout=WAIT_MS)
    assert panel.cancel_all_button.isEnabled()
    qtbot.mouseClick(panel.cancel_all_button, Qt.MouseButton.LeftButton)
    assert (c.state, d.state) == (TransferState.CANCELLED, TransferState.CANCELLED)
    assert a.cancel_requested and b.cancel_requested
    assert not panel.cancel_all_button.isEnabled()
    held.release("oci:/held/a:app:1", "oci:/held/b:app:1")
    qtbot.waitUntil(lambda: a.state.finished and b.state.finished, timeout=WAIT_MS)
    # the two running ones opened their places (in either order: two threads); no other
    assert sorted(held.opened) == ["oci:/held/a:app:1", "oci:/held/b:app:1"]


def test_cancel_all_works_with_one_copy_running(
        qtbot: QtBot, held_panel: tuple[HeldCopies, TransfersPanel]) -> None:
    """Cancel All was greyed out until two copies ran: with one running, it is the
    button a person reaches for."""
    held, panel = held_panel
    a = panel.manager.start(held_request("oci:/held/a:app:1"))
    qtbot.waitUntil(lambda: held.opened == ["oci:/held/a:app:1"], timeout=WAIT_MS)
    assert panel.cancel_all_button.isEnabled() and panel.cancel_all_action.isEnabled()
    qtbot.mouseClick(panel.cancel_all_button, Qt.MouseButton.LeftButton)
    assert a.cancel_requested
    assert not panel.cancel_all_button.isEnabled()  # nothing left to cancel


def test_a_copy_into_an_archive_another_copy_writes_waits_for_it(
        qtbot: QtBot, held_panel: tuple[HeldCopies, TransfersPanel]) -> None:
    """Each writes the archive whole: run together, the one ending last would replace the
    other's unseen. The second waits (saying why) though a copy could run; others pass."""
    held, panel = held_panel
    manager, model = panel.manager, panel.model
    archive = "docker-archive:/tmp/shared.tar"
    a = manager.start(CopyRequest("oci:/held/a:app:1", f"{archive}:a:1", CopyOptions()))
    b = manager.start(CopyRequest("oci:/held/b:app:1", f"{archive}:b:1", CopyOptions()))
    c = manager.start(held_request("oci:/held/c:app:1"))  # elsewhere: runs beside a
    qtbot.waitUntil(lambda: len(held.opened) == 2, timeout=WAIT_MS)
    # (a and c open on workers of their own: in either order)
    assert sorted(held.opened) == ["oci:/held/a:app:1", "oci:/held/c:app:1"]
    assert b.state is TransferState.WAITING
    assert model.data(model.index(1, STATE)) == \
        "Waiting · shared.tar is being written by another copy"
    details = panel.show_details(b)
    assert details is not None and "waits for the copy writing /tmp/shared.tar to end" \
        in details.heading.text()
    details.close()
    held.release("oci:/held/c:app:1")  # a copy slot is free, but b still waits for a
    qtbot.waitUntil(lambda: c.state.finished, timeout=WAIT_MS)
    qtbot.wait(20)
    assert b.state is TransferState.WAITING
    held.release("oci:/held/a:app:1")
    qtbot.waitUntil(lambda: "oci:/held/b:app:1" in held.opened, timeout=WAIT_MS)
    assert a.state.finished and not b.held_for
    held.release("oci:/held/b:app:1")
    qtbot.waitUntil(lambda: b.state.finished, timeout=WAIT_MS)


@pytest.mark.parametrize(("first", "second"), [
    ("docker://registry.example/mirror/x:big", "docker://registry.example/mirror/x:big"),
    ("oci:{folder}/lay:same", "oci:{folder}/../{folder_name}/lay:same"),
])
def test_a_copy_to_a_name_another_copy_writes_waits_for_it(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        first: str, second: str) -> None:
    """Run together, the name would end naming whichever copy ended last, not the one
    asked for last: the later one waits, saying why, and runs once the first has ended."""
    names = {"folder": str(tmp_path), "folder_name": tmp_path.name}
    a = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path,
                       destination=first.format(**names))
    scripted.events = None
    b = window.copying.start(CopyRequest(SOURCE, second.format(**names), CopyOptions(),
                                         label="team/app:2.0"))
    beside = first.format(**names).replace(":big", ":small").replace(":same", ":other")
    other = window.copying.start(CopyRequest(  # another tag or ref: runs beside a
        SOURCE, beside, CopyOptions()))
    qtbot.waitUntil(lambda: scripted.events is not None, timeout=WAIT_MS)  # other's
    scripted.events = None
    assert (a.state, other.state) == (TransferState.PLANNING, TransferState.PLANNING)
    assert b.state is TransferState.WAITING and b.held_for
    shown = "x:big" if first.startswith("docker") else "lay:same"
    assert row_texts(window, b)["state"] == \
        f"Waiting · {shown} is being written by another copy"
    details = window.copying.panel.show_details(b)
    assert details is not None
    assert "the name ends up naming this image, the one asked for last" \
        in details.heading.text()
    details.close()
    # (each its own: b, started once a ends, would take an ending left for any copy)
    finish(qtbot, window, scripted, TOP, beside)
    finish(qtbot, window, scripted, TOP, first.format(**names))
    qtbot.waitUntil(lambda: a.state.finished and other.state.finished, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: scripted.events is not None, timeout=WAIT_MS)
    assert b.state is TransferState.PLANNING and not b.held_for
    finish(qtbot, window, scripted, TOP)
    qtbot.waitUntil(lambda: b.state is TransferState.DONE, timeout=WAIT_MS)


def test_sorting_by_state_brings_the_failed_copy_to_the_top(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """Among many rows the one failure sat out of sight: a click on State puts it first,
    and the buttons, the keys and the failure line act on the row selected, wherever the
    sort put it. Cleared, the list does not say "No copies yet" of a session that made
    some."""
    failed = last_one_failed(qtbot, window, scripted, tmp_path, 3, "The source went away.")
    window.copying.show_panel()
    panel, manager = window.copying.panel, window.copying.manager
    done = manager.transfers[0]
    assert manager.row_of(failed) == 2
    header = panel.table.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(STATE) + 5,
                                header.height() // 2))
    assert header.sortIndicatorSection() == STATE
    shown = [panel.table.model().index(row, 0).data(TRANSFER_ROLE) for row in range(3)]
    assert shown[0] is failed and panel.current() is failed
    assert panel.table.model().index(0, STATE).data().startswith("Failed")
    assert panel.retry_button.isEnabled() and panel.failure.isVisible()
    panel.select(done)
    assert panel.current() is done and not panel.retry_button.isEnabled()
    select_row(panel.table, 0)  # the top row, as the user sees it: the failed one
    assert panel.current() is failed
    details = panel.show_details(panel.current())
    assert details is not None and details.transfer is failed
    details.close()
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    assert not manager.transfers
    assert panel.summary.text() == "No copies in the list."


def test_clear_finished_updates_the_summary_and_keeps_the_rows_in_step(
        qtbot: QtBot, held_panel: tuple[HeldCopies, TransfersPanel]) -> None:
    held, panel = held_panel
    manager, model = panel.manager, panel.model
    a, b, c = (manager.start(held_request(f"oci:/held/{name}:app:1")) for name in "abc")
    held.release("oci:/held/b:app:1")  # the middle row ends; a and c still run
    qtbot.waitUntil(lambda: b.state.finished and c.state is TransferState.PLANNING,
                    timeout=WAIT_MS)
    seen: list[object] = []
    model.rowsAboutToBeRemoved.connect(
        lambda _parent, first, _last: seen.append(model.data(model.index(first, 0),
                                                             TRANSFER_ROLE)))
    panel.select(a)
    assert panel.summary.text() == "2 running · 1 failed"
    assert panel.clear_button.isEnabled()
    qtbot.mouseClick(panel.clear_button, Qt.MouseButton.LeftButton)
    assert seen == [b]  # the row going is still the one the model shows there
    assert [model.data(model.index(row, 0), TRANSFER_ROLE) for row in range(2)] == [a, c]
    assert panel.summary.text() == "2 running"
    assert not panel.clear_button.isEnabled()


def test_the_transfer_column_names_the_image_and_the_place(
        qtbot: QtBot, held_panel: tuple[HeldCopies, TransfersPanel]) -> None:
    """Each side was a whole name cut in its middle (``…/sampl…:spyglass-demo:1.0 →
    oci:…/mir…:spyglass-demo:1.0``): the row says the image, as the trees label it, and
    the place by its own name, or a registry's HOST/REPO:TAG; the tooltip has both
    names whole."""
    held, panel = held_panel
    manager, model = panel.manager, panel.model
    held.release(*held.gates)
    requests = [
        (CopyRequest("oci:/data/layouts/sample-layout:spyglass-demo:1.0",
                     "oci:/data/copies/mirror:spyglass-demo:1.0", CopyOptions(),
                     label="spyglass-demo:1.0"),
         ("spyglass-demo:1.0", "mirror")),
        (CopyRequest("oci:/data/layouts/main:team/app:1",
                     "docker-archive:/home/me/out.tar:team/app:1", CopyOptions()),
         ("team/app:1", "out.tar")),
        (CopyRequest("docker://registry.example/team/app:1", "dir:/home/me/images/app",
                     CopyOptions(), label="team/app:1"),
         ("team/app:1", "app")),
        (CopyRequest("oci:/data/layouts/sample-layout:tools:2024.1",
                     "docker://127.0.0.1:5000/team/tools:1", CopyOptions(),
                     label="tools:2024.1"),
         ("tools:2024.1", "127.0.0.1:5000/team/tools:1")),
        # a registry's image goes into a layout under its repository's last part
        (CopyRequest("docker://registry.example/team/app:2.0", "oci:/x/mirror:app:2.0",
                     CopyOptions(), label="team/app:2.0"),
         ("team/app:2.0", "mirror")),
        # a name of its own there is said
        (CopyRequest("oci:/data/sample-layout:spyglass-demo:1.0",
                     "oci:/x/mirror:spyglass-demo:1.0-linux-arm64", CopyOptions(),
                     label="spyglass-demo:1.0"),
         ("spyglass-demo:1.0", "mirror as spyglass-demo:1.0-linux-arm64")),
    ]
    for row, (request, sides) in enumerate(requests):
        manager.start(request)
        index = model.index(row, TRANSFER)
        assert model.data(index, ROUTE_ROLE) == sides
        assert index.data() == "  →  ".join(sides)
        tooltip = index.data(Qt.ItemDataRole.ToolTipRole)
        assert f"{request.source}\n→ {request.destination}" in tooltip


def staging(folder: Path) -> list[str]:
    """The staging folders a destination in ``folder`` has made and not yet removed."""
    return [entry.name for entry in folder.iterdir() if ".spyglass-tmp-" in entry.name]


def test_copies_that_never_started_leave_no_staging_files(
        qtbot: QtBot, sample: SampleFacts, tmp_path: Path) -> None:
    held = HeldCopies("oci:/held/a:app:1")
    openers = Openers(source=lambda name, cancel: held(name) if name in held.gates
                      else open_source(name, cancel=cancel))
    manager = TransferManager(openers, max_parallel=1)
    manager.start(held_request("oci:/held/a:app:1"))
    prepared = []
    for folder in (tmp_path / "cancelled", tmp_path / "closed"):
        folder.mkdir()
        request = CopyRequest(f"oci:{sample.layout}:tools:2024.1",
                              f"docker-archive:{folder / 'out.tar'}:tools:1", CopyOptions())
        prepared.append((manager.start(request, prepare_copy(openers, request,
                                                             CancelToken())), folder))
    (waiting, cancelled), (closing, closed) = prepared
    assert staging(cancelled) and staging(closed)  # planning made them
    assert not waiting.state.finished and not closing.state.finished  # they wait
    manager.cancel(waiting)
    assert waiting.state is TransferState.CANCELLED
    qtbot.waitUntil(lambda: not staging(cancelled), timeout=WAIT_MS)
    manager.shutdown()  # the window closes with a copy still waiting
    assert staging(closed) == []
    assert list(closed.iterdir()) == []
    held.release(*held.gates)


class FakeConnection:
    """A registry connection that refuses every sign-in, saying whose credentials it had."""

    def __init__(self, whose: str, used: list[str]) -> None:
        self.whose, self.used = whose, used
        self.plain_http = False

    def client(self) -> Any:
        self.used.append(self.whose)
        raise AuthenticationFailed(f"Denied with the credentials of {self.whose}.")


def test_retry_signs_in_with_the_registrys_new_credentials(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    used: list[str] = []
    model = window.registries.model
    model.add_registry(RegistrySettings(host="reg.example"), FakeConnection("old", used))
    transfer = window.copying.start(CopyRequest("docker://reg.example/app:1",
                                                f"oci:{tmp_path / 'out'}:app:1", CopyOptions()))
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=WAIT_MS)
    assert used == ["old"]
    # the user does as the sentence says: Edit Registry… with the right password
    model.update_registry(RegistrySettings(host="reg.example", username="me"),
                          FakeConnection("new", used))
    panel = window.copying.panel
    panel.select(transfer)
    qtbot.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=WAIT_MS)
    assert used == ["old", "new"]
    assert "credentials of new" in transfer.error


def test_quitting_while_a_copy_runs_asks_first(
        qtbot: QtBot, make_window: Callable[..., MainWindow], scripted: ScriptedCopy,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    answer = [False]

    def ask(sentence: str) -> bool:
        asked.append(sentence)
        return answer[0]

    idle_window = make_window()
    monkeypatch.setattr(idle_window, "ask_to_stop_copies", ask)
    idle_window.quit()  # nothing runs: no question
    assert asked == [] and idle_window.runner.closed

    window = make_window()
    monkeypatch.setattr(window, "ask_to_stop_copies", ask)
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    window.quit_action.trigger()
    assert asked == ["1 copy is not finished. Quitting stops it, and what was written so "
                     "far is taken back."]
    assert window.isVisible() and not window.runner.closed  # Cancel: nothing stopped
    assert not transfer.state.finished and not transfer.cancel_requested
    answer[0] = True
    window.quit_action.trigger()
    assert not window.isVisible() and window.runner.closed
    assert transfer.token.cancelled


def test_quitting_says_a_registry_keeps_what_was_sent_and_a_layout_takes_it_back(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The panel says a cancelled push left its blobs in the registry: the question
    before quitting must not promise they are taken back."""
    asked: list[str] = []
    monkeypatch.setattr(window, "ask_to_stop_copies", lambda sentence: asked.append(sentence))
    start_scripted(qtbot, window, scripted, FakeClock(), tmp_path,
                   destination="docker://127.0.0.1:25202/team/app:2.0")
    window.quit_action.trigger()
    assert asked[-1] == (
        "1 copy is not finished. Quitting stops it: the image is not written (the tag is as "
        "it was), but the registry keeps the blobs already sent whole, unused, and may keep "
        "what it had received of one cut off until it purges unfinished uploads.")
    assert "taken back" not in asked[-1]
    scripted.events = None
    start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)  # into a layout
    window.quit_action.trigger()
    assert asked[-1].startswith(
        "2 copies are not finished. Quitting stops them. What was written into a layout, "
        "archive or folder so far is taken back; a registry written to is left with its "
        "tag as it was, but keeps the blobs already sent whole")
    assert window.isVisible()


def test_a_copy_with_every_byte_sent_is_finishing_not_stuck_at_100(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """A slow registry still taking in the last bytes (or the manifests still to write):
    "Finishing…", and no ETA a speed cannot predict."""
    clock = FakeClock(1000.0)
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    config, layer = blob("config", 1500, media.OCI_CONFIG), blob("layer", 3 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, layer)),
         BlobStarted(config.digest, config.size, config.media_type),
         BlobStarted(layer.digest, layer.size, layer.media_type))
    clock.now = 1001.0
    feed(qtbot, window, scripted, BlobProgress(layer.digest, MiB, layer.size))
    assert row_texts(window, transfer)["state"] == "Copying"
    clock.now = 1002.0
    feed(qtbot, window, scripted, BlobProgress(config.digest, config.size, config.size),
         BlobProgress(layer.digest, layer.size, layer.size))
    texts = row_texts(window, transfer)
    assert (texts["state"], texts["progress"], texts["eta"]) == ("Finishing…", "100 %", "")
    with qtbot.waitSignal(window.copying.manager.finished, timeout=WAIT_MS):
        scripted.finish(Descriptor(media.OCI_MANIFEST, Digest.of(b"manifest"), 2))
    assert row_texts(window, transfer)["state"] == "Done"


def test_hiding_the_panel_from_the_keyboard_gives_the_focus_to_the_places(
        qtbot: QtBot, window: MainWindow) -> None:
    """Not to the next widget Qt finds (a banner's Dismiss button, which a Space would
    press): to the places, where the keyboard was before the panel."""
    window.show()
    qtbot.waitExposed(window)
    window.copying.show_panel()
    panel = window.copying.panel
    panel.table.setFocus()
    qtbot.waitUntil(panel.table.hasFocus, timeout=2000)
    qtbot.keyClick(panel.table, Qt.Key.Key_T,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert not panel.isVisible()
    qtbot.waitUntil(window.tree.hasFocus, timeout=2000)


def test_hiding_the_panel_from_the_keyboard_gives_the_focus_back_where_it_was(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> None:
    """Ctrl+Shift+T from a table of the image (a tag in REGISTRIES, say) and again from
    the Transfers: the keyboard went to LOCAL, where the arrows then chose another image.
    It goes back where it was; to the places when that is gone from sight."""
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    window.show()
    qtbot.waitExposed(window)
    view = window.image_view
    view.tabs.setCurrentWidget(view.layers)
    table = view.layers.table
    table.setFocus()
    qtbot.waitUntil(table.hasFocus, timeout=WAIT_MS)
    panel = window.copying.panel
    chord = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(table, Qt.Key.Key_T, chord)
    qtbot.waitUntil(panel.table.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(panel.table, Qt.Key.Key_T, chord)
    assert not panel.isVisible()
    qtbot.waitUntil(table.hasFocus, timeout=WAIT_MS)
    assert not window.tree.hasFocus()
    # where it was is out of sight by then (another tab): the places
    qtbot.keyClick(table, Qt.Key.Key_T, chord)
    qtbot.waitUntil(panel.table.hasFocus, timeout=WAIT_MS)
    view.tabs.setCurrentWidget(view.platforms)
    qtbot.keyClick(panel.table, Qt.Key.Key_T, chord)
    assert not panel.isVisible()
    qtbot.waitUntil(window.tree.hasFocus, timeout=WAIT_MS)


def test_the_panel_shortcut_takes_the_keyboard_into_a_panel_a_copy_showed(
        qtbot: QtBot, window: MainWindow) -> None:
    """A copy started from the keyboard shows the panel and leaves the keyboard in the
    places: Ctrl+Shift+T then goes to the panel (it hid it, and a second press was
    needed); from the panel, it hides it. The View menu's item still hides it."""
    window.show()
    qtbot.waitExposed(window)
    panel = window.copying.panel
    window.copying.show_panel()  # as a copy shows it
    window.tree.setFocus()
    qtbot.waitUntil(window.tree.hasFocus, timeout=2000)
    chord = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.tree, Qt.Key.Key_T, chord)
    assert panel.isVisible() and window.copying.show_transfers_action.isChecked()
    qtbot.waitUntil(panel.table.hasFocus, timeout=2000)
    qtbot.keyClick(panel.table, Qt.Key.Key_T, chord)
    assert not panel.isVisible()
    qtbot.waitUntil(window.tree.hasFocus, timeout=2000)
    window.copying.show_panel()
    window.copying.show_transfers_action.trigger()  # the menu's item, the keyboard elsewhere
    assert not panel.isVisible()


def test_the_panel_shortcut_puts_the_keyboard_in_the_transfers(
        qtbot: QtBot, window: MainWindow) -> None:
    """Ctrl+Shift+T shows the panel with the keyboard in its table (eight Tabs got there
    before); pressed again, it hides it, as the menu item's tick says."""
    window.show()
    qtbot.waitExposed(window)
    panel = window.copying.panel
    window.tree.setFocus()
    qtbot.waitUntil(window.tree.hasFocus, timeout=2000)
    chord = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.tree, Qt.Key.Key_T, chord)
    assert panel.isVisible()
    qtbot.waitUntil(panel.table.hasFocus, timeout=2000)
    qtbot.keyClick(panel.table, Qt.Key.Key_T, chord)
    assert not panel.isVisible()
    window.copying.show_panel()  # as a copy shows it: the keyboard stays where it is
    qtbot.waitUntil(window.tree.hasFocus, timeout=2000)


def test_the_bytes_column_fits_a_finished_rows_text(window: MainWindow) -> None:
    """A finished row that reused some blobs says so whole: its column is made for it."""
    panel = window.copying.panel
    metrics = panel.table.fontMetrics()
    needed = metrics.horizontalAdvance("888.8 MiB, 88 % reused")
    assert panel.column_widths()[BYTES] >= needed + 12


def test_a_short_repository_leaves_its_room_to_a_long_tag(window: MainWindow) -> None:
    from spyglass.gui.views.delegates import fit_route

    metrics = window.copying.panel.table.fontMetrics()
    tag = "v1.2.3-" + "build." * 20 + "x"
    text = fit_route(metrics, "a", f"127.0.0.1:4/ab:{tag}", 300)
    assert metrics.horizontalAdvance(text) > 270, text  # the room is used, not a third left
