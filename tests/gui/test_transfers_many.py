"""The Transfers panel with many rows: what one row's change costs (each destination's
name is read once, a row's progress does not fit the panel's height again, a sort does
not parse the names at each comparison), Retry Failed, and what a finished row keeps.

The copies run on the window's real :class:`TransferManager`; the copy job itself is
replaced where the test needs it to end at once (``run_copy``), or the source opener
fails (a copy that fails at once). Timings are the benchmarks' (bench_gui_transfers.py),
not these tests'.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from spyglass.core import media
from spyglass.core.cancel import CancelToken
from spyglass.core.copy import BlobStarted, CopyOptions, Planned
from spyglass.core.digest import Digest
from spyglass.core.errors import SpyglassError
from spyglass.core.manifest import Descriptor
from spyglass.gui import copy_destinations, transfers
from spyglass.gui.copy_jobs import CopyRequest, Openers, window_parallel
from spyglass.gui.copy_progress import Snapshot, Tally
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models import transfers as transfer_rows
from spyglass.gui.models.transfers import ETA, SPEED, STATE, TRANSFER, TRANSFER_ROLE
from spyglass.gui.transfers import Transfer, TransferManager, TransferState
from spyglass.gui.views.transfers_panel import TransfersPanel
from tests.gui.guitools import WAIT_MS
from tests.gui.scripted import blob, plan_of

pytestmark = pytest.mark.gui

TOP = Descriptor(media.OCI_MANIFEST, Digest.of(b"manifest"), 2)


def refuse(name: str, _cancel: object = None) -> Any:
    raise SpyglassError(f"The source {name} is gone.")


@pytest.fixture
def panel(qtbot: QtBot) -> Iterator[TransfersPanel]:
    """A Transfers panel on a manager of two parallel copies whose sources cannot be read
    (each copy fails at once), unless the test replaces ``run_copy``."""
    manager = TransferManager(Openers(source=refuse), max_parallel=2)
    shown = TransfersPanel(manager)
    qtbot.addWidget(shown)
    shown.show()
    yield shown
    manager.shutdown()


def counting(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[object]:
    """Count the calls of ``module.name`` (each call's first argument)."""
    calls: list[object] = []
    real: Callable[..., Any] = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if args else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def done_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfers, "run_copy", lambda *_args: TOP)


def start_many(qtbot: QtBot, manager: TransferManager, count: int) -> list[Transfer]:
    started = [manager.start(CopyRequest(
        f"oci:/sources/s:app{number}", f"oci:/copies/d{number % 4}:t{number}", CopyOptions()))
        for number in range(count)]
    qtbot.waitUntil(lambda: all(t.state.finished for t in started), timeout=WAIT_MS)
    return started


def test_each_destination_name_is_read_once_however_many_copies_wait(
        qtbot: QtBot, panel: TransfersPanel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every copy that ended walked the queue, and each waiting copy read every other
    copy's destination name again: 200 copies parsed names 80,000 times."""
    done_at_once(monkeypatch)
    parsed = counting(monkeypatch, copy_destinations, "parse_image_name")
    started = start_many(qtbot, panel.manager, 40)
    assert all(t.state is TransferState.DONE for t in started)
    # (written_alone reads a name twice: as a place written whole, then as a name)
    assert len(parsed) <= 2 * 40
    assert sorted(set(map(str, parsed))) == sorted({t.request.destination for t in started})


def test_a_rows_progress_does_not_fit_the_panel_again(
        qtbot: QtBot, panel: TransfersPanel, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change of a row not selected updates the summary; it neither measures the panel's
    height again nor reads the selection's buttons (every progress update of every row
    did, with 200 rows a stall of 100-400 ms)."""
    done_at_once(monkeypatch)
    manager = panel.manager
    start_many(qtbot, manager, 20)
    panel.select(manager.transfers[0])
    measured = counting(monkeypatch, panel, "least_height")
    selected = counting(monkeypatch, panel, "current")
    for row in range(1, len(manager.transfers)):
        manager.changed.emit(row)
    assert measured == [] and selected == []
    manager.changed.emit(0)  # the selected row: its buttons follow
    assert len(selected) == 1 and measured == []
    assert panel.summary.text() == "20 done"


def test_sorting_by_transfer_reads_each_name_once(
        qtbot: QtBot, panel: TransfersPanel, monkeypatch: pytest.MonkeyPatch) -> None:
    done_at_once(monkeypatch)
    manager = panel.manager
    start_many(qtbot, manager, 30)
    labels = counting(monkeypatch, transfer_rows, "image_label")
    panel.table.sortByColumn(TRANSFER, panel.table.horizontalHeader().sortIndicatorOrder())
    panel.table.viewport().repaint()
    # a row's names read once, as it is first shown or sorted (the source, the name the
    # destination gives it, and the source again to compare): not at every comparison
    assert len(labels) <= 3 * 30
    labels.clear()
    panel.table.sortByColumn(TRANSFER, Qt.SortOrder.DescendingOrder)
    panel.table.sortByColumn(TRANSFER, Qt.SortOrder.AscendingOrder)
    panel.table.viewport().repaint()
    assert labels == []
    shown = [panel.sorted.index(row, 0).data(TRANSFER_ROLE) for row in range(30)]
    assert [t.request.source for t in shown] == sorted(
        (t.request.source for t in manager.transfers), key=str.casefold)


def test_a_finished_copy_keeps_no_timer(
        qtbot: QtBot, panel: TransfersPanel, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy's updates are coalesced by a timer of its own, which went only with Clear
    Finished (85 timers kept after 200 copies): it goes as the copy ends."""
    manager = panel.manager
    let_go = threading.Event()

    def two_quick_events(_openers: object, _request: object, _prepared: object,
                         events: Callable[[Any], None], _cancel: object) -> Descriptor:
        config = blob("c", 10, media.OCI_CONFIG)
        events(Planned(plan_of(config)))
        # the GUI looked: the next event within a quarter of a second waits on a timer
        while manager.transfers[0].last_update == 0.0:
            time.sleep(0.005)
        events(BlobStarted(config.digest, config.size, config.media_type))
        let_go.wait(WAIT_MS / 1000)
        return TOP

    def timers() -> list[QTimer]:
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        return [t for t in manager.findChildren(QTimer) if t.isSingleShot()]

    monkeypatch.setattr(transfers, "run_copy", two_quick_events)
    transfer = manager.start(CopyRequest("oci:/s/s:1", "oci:/c/d:1", CopyOptions()))
    qtbot.waitUntil(lambda: len(timers()) == 1, timeout=WAIT_MS)
    let_go.set()
    qtbot.waitUntil(lambda: transfer.state is TransferState.DONE, timeout=WAIT_MS)
    assert timers() == []


def test_retry_failed_runs_every_copy_that_failed_again_not_the_cancelled_ones(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a registry outage every row had to be retried one by one: Retry Failed,
    beside Cancel All and in the View menu, runs them all again (not the ones done). A
    copy cancelled was stopped on purpose: Retry Failed neither shows for it nor runs it
    again (choosing its row and Retry does)."""
    panel = window.copying.panel
    outcomes = {"oci:/c/d:done": TOP}
    holding = {"oci:/c/d:stopped"}

    def copy(_openers: object, request: CopyRequest, *rest: Any) -> Descriptor:
        if request.destination in holding:
            token = rest[-1]
            while not token.cancelled:
                time.sleep(0.01)
            token.check()
        ending = outcomes.get(request.destination)
        if ending is None:
            raise SpyglassError("Cannot reach the registry: connection refused.")
        return ending

    monkeypatch.setattr(transfers, "run_copy", copy)
    window.copying.show_panel()
    assert panel.retry_failed_button.isHidden()
    assert not panel.retry_failed_action.isEnabled()
    assert panel.retry_failed_button.toolTip() == (
        "Run every copy that failed again (not the cancelled ones: choose their rows and "
        "Retry)")
    stopped = window.copying.start(CopyRequest("oci:/s/s:1", "oci:/c/d:stopped",
                                               CopyOptions()))
    qtbot.waitUntil(lambda: stopped.state is TransferState.PLANNING, timeout=WAIT_MS)
    window.copying.manager.cancel(stopped)
    qtbot.waitUntil(lambda: stopped.state is TransferState.CANCELLED, timeout=WAIT_MS)
    assert panel.retry_failed_button.isHidden()  # nothing failed
    assert not panel.retry_failed_action.isEnabled()
    started = [window.copying.start(CopyRequest("oci:/s/s:1", f"oci:/c/d:{name}",
                                                CopyOptions()))
               for name in ("a", "done", "b", "c")]
    qtbot.waitUntil(lambda: all(t.state.finished for t in started), timeout=WAIT_MS)
    a, done, b, c = started
    panel.select(done)
    assert (a.state, done.state, b.state, c.state) == (
        TransferState.FAILED, TransferState.DONE, TransferState.FAILED, TransferState.FAILED)
    assert panel.retry_failed_button.isVisible() and panel.retry_failed_button.isEnabled()
    view = next(action.menu() for action in window.menuBar().actions()
                if action.text() == "&View")
    assert panel.retry_failed_action in view.actions()
    assert panel.retry_failed_action.isEnabled()
    outcomes.update({"oci:/c/d:a": TOP, "oci:/c/d:b": TOP, "oci:/c/d:c": TOP})
    with qtbot.waitSignal(window.copying.statusMessage, timeout=WAIT_MS,
                          check_params_cb=lambda text: text == "Copying 3 copies again…"):
        qtbot.mouseClick(panel.retry_failed_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: all(t.state is TransferState.DONE for t in started),
                    timeout=WAIT_MS)
    assert [t.attempts for t in started] == [2, 1, 2, 2]
    assert stopped.state is TransferState.CANCELLED and stopped.attempts == 1
    assert panel.retry_failed_button.isHidden()
    assert not panel.retry_failed_action.isEnabled()
    assert panel.summary.text() == "4 done · 1 cancelled"
    # the cancelled copy: its row chosen, Retry
    holding.clear()
    outcomes["oci:/c/d:stopped"] = TOP
    panel.select(stopped)
    assert panel.retry_action.isEnabled()
    panel.retry_action.trigger()
    qtbot.waitUntil(lambda: stopped.state is TransferState.DONE, timeout=WAIT_MS)
    assert stopped.attempts == 2


def test_speed_sorts_as_the_cells_show_it_and_eta_by_time_left(
        qtbot: QtBot, panel: TransfersPanel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Speed sorted by the last speed measured, which a finished row does not show (its
    cell has the average) and a blank one may keep; every ETA was blank and sorted alike,
    so both directions gave one order."""
    done_at_once(monkeypatch)
    manager = panel.manager
    fast, slow, failed, waiting, copying, unsettled = start_many(qtbot, manager, 6)
    mib = 1 << 20
    for transfer, moved, seconds in ((fast, 40 * mib, 1.0), (slow, 40 * mib, 10.0)):
        # (both last measured at one speed: only their averages, shown, tell them apart)
        transfer.snapshot = replace(transfer.snapshot, total=moved, done=moved,
                                    speed=float(mib))
        transfer.ended = transfer.started + seconds
    failed.state, failed.snapshot = TransferState.FAILED, replace(
        failed.snapshot, total=10 * mib, done=mib, speed=99.0 * mib)
    waiting.state = TransferState.WAITING
    copying.state = TransferState.COPYING
    copying.snapshot = replace(copying.snapshot, total=100 * mib, done=10 * mib,
                               speed=3.0 * mib, settled=True)
    unsettled.state = TransferState.COPYING
    unsettled.snapshot = replace(unsettled.snapshot, total=100 * mib, done=mib,
                                 speed=2.0 * mib, settled=False)
    for row in range(6):
        manager.changed.emit(row)

    def shown(column: int, order: Qt.SortOrder) -> list[Transfer]:
        panel.table.sortByColumn(column, order)
        return [panel.sorted.index(row, 0).data(TRANSFER_ROLE) for row in range(6)]

    ascending = shown(SPEED, Qt.SortOrder.AscendingOrder)
    assert set(ascending[:2]) == {failed, waiting}  # blank: no speed shown
    assert ascending[2:] == [unsettled, copying, slow, fast]
    assert [panel.sorted.index(row, SPEED).data() for row in range(6)] == [
        "", "", "2.0 MiB/s", "3.0 MiB/s", "4.0 MiB/s", "40.0 MiB/s"]
    assert shown(ETA, Qt.SortOrder.AscendingOrder)[-3:] == [copying, unsettled, waiting]
    assert shown(ETA, Qt.SortOrder.DescendingOrder)[:3] == [waiting, unsettled, copying]


class _Fixed(Tally):
    """A tally whose snapshot is always ``fixed``."""

    def __init__(self, fixed: Snapshot) -> None:
        super().__init__()
        self.fixed = fixed

    def snapshot(self) -> Snapshot:
        return self.fixed


def test_rows_sorted_by_eta_are_sorted_again_at_most_once_a_second(
        qtbot: QtBot, panel: TransfersPanel, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each step of a copy's progress changes its ETA, speed and progress: sorted at each,
    200 copies running stalled the window. Sorted by one of those, the rows are sorted
    again a second later at most; by State, at once."""
    done_at_once(monkeypatch)
    manager = panel.manager
    rows = start_many(qtbot, manager, 3)
    mib = 1 << 20

    def progress(transfer: Transfer, done: int) -> None:
        # (the manager takes its snapshots from the tally, every second while it runs)
        transfer.snapshot = replace(transfer.snapshot, total=100 * mib, done=done * mib,
                                    speed=float(mib), settled=True)
        transfer.tally = _Fixed(transfer.snapshot)
        manager.changed.emit(manager.row_of(transfer))

    for transfer, done in zip(rows, (10, 50, 90), strict=True):
        transfer.state = TransferState.COPYING
        progress(transfer, done)
    first, middle, last = rows

    def order() -> list[Transfer]:
        return [panel.sorted.index(row, 0).data(TRANSFER_ROLE) for row in range(3)]

    panel.table.sortByColumn(ETA, Qt.SortOrder.AscendingOrder)
    assert order() == [last, middle, first]  # (a click sorts at once)
    began = time.monotonic()
    progress(first, 99)  # 1 s left: first now
    assert order() == [last, middle, first]  # not at this step
    qtbot.waitUntil(lambda: order() == [first, last, middle], timeout=WAIT_MS)
    assert 0.5 <= time.monotonic() - began < 2.0
    # by State: at once
    panel.table.sortByColumn(STATE, Qt.SortOrder.AscendingOrder)
    middle.state = TransferState.FAILED
    manager.changed.emit(manager.row_of(middle))
    assert order()[0] is middle


def test_the_windows_copies_share_one_bound_on_blob_transfers(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each copy's ``parallel`` bounds its own threads only: the manager hands every copy
    it runs a share of the same slots, as many as a copy would take alone
    (window_parallel), and takes back the slot each kept free once it ended."""
    seen: list[CopyOptions] = []

    def copy(_openers: object, request: CopyRequest, *_rest: object) -> Descriptor:
        seen.append(request.options)
        return TOP

    monkeypatch.setattr(transfers, "run_copy", copy)
    manager = TransferManager(Openers(), max_parallel=2, blob_slots=3)
    try:
        started = [manager.start(CopyRequest("oci:/s/s:1", f"oci:/c/d{number}:1",
                                             CopyOptions(parallel=4)))
                   for number in range(3)]
        qtbot.waitUntil(lambda: all(t.state.finished for t in started), timeout=WAIT_MS)
        assert len(seen) == 3
        shares = [options.blob_slots for options in seen]
        assert all(share is not None and share.pool is manager.blob_slots
                   for share in shares)
        assert len({id(share) for share in shares}) == 3  # one each
        assert [options.parallel for options in seen] == [4, 4, 4]
        assert [t.request.options.blob_slots for t in started] == [None] * 3  # (as asked)
        # none kept free any more: a copy alone takes all three
        alone, gives_up = manager.blob_slots.for_copy(), CancelToken()
        timer = threading.Timer(5, gives_up.cancel)  # (a slot still kept: Cancelled)
        timer.start()
        try:
            for _ in range(3):
                alone.take(gives_up)
        finally:
            timer.cancel()
        assert manager.blob_slots.held == 3
    finally:
        manager.shutdown()
    default = TransferManager(Openers())
    try:
        assert default.blob_slots.size == window_parallel()
    finally:
        default.shutdown()
