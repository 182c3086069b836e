"""The transfer manager: every copy the window runs, its state and its progress.

Each copy is a job on a :class:`Runner` of its own (copies are long; they must
not hold up the browsing jobs). At most ``max_parallel`` copies run at once: the
manager keeps the others in its own queue, in the order they were asked for,
and hands the first one to the runner as soon as a copy ends (a queued copy
never waits behind one particular busy thread). A copy that never started —
cancelled while it waited, or still waiting when the window closes — has its
plan released (:meth:`Prepared.close`: the destination's staging files go).

The copy engine reports from its threads into the transfer's :class:`Tally`;
the first event after the GUI last looked emits a queued signal, and the GUI
thread takes a snapshot at most :data:`UPDATES_PER_SECOND` times a second per
transfer — events are coalesced, never queued one by one. While copies run, a
timer also takes a snapshot of each one that has had no event for
:data:`IDLE_REFRESH_MS`: a stalled copy's speed falls to nothing and its ETA
becomes unknown instead of freezing.
"""

from __future__ import annotations

import enum
import itertools
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Final

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from spyglass.core.blob_slots import BlobSlots, CopySlots
from spyglass.core.cancel import CancelToken
from spyglass.core.copy import CopyEvent
from spyglass.core.manifest import Descriptor
from spyglass.core.transports.file_lock import LOCK_LISTENER
from spyglass.gui.copy_destinations import written_alone
from spyglass.gui.copy_jobs import CopyRequest, Openers, Prepared, run_copy, window_parallel
from spyglass.gui.copy_progress import Snapshot, Tally
from spyglass.gui.signals import emit
from spyglass.gui.workers import Runner

log = logging.getLogger(__name__)

UPDATES_PER_SECOND: Final = 4
MAX_PARALLEL_COPIES: Final = 4
IDLE_REFRESH_MS: Final = 1000


class TransferState(enum.Enum):
    WAITING = "waiting"
    """Queued: as many copies as may run at once are running."""
    PLANNING = "planning"
    COPYING = "copying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (TransferState.DONE, TransferState.FAILED, TransferState.CANCELLED)


_EMPTY = Snapshot(False, 0, 0, (), 0.0, False, "")


@dataclass(eq=False)
class Transfer:
    """One row of the Transfers panel.

    Attributes:
        id: unique in the session.
        request: what to copy where, with which options (Retry runs it again).
        state: where the copy is.
        started: when the copy last began to run (not when it was queued).
        snapshot: the progress last taken from the tally.
        error: the sentence of a failed copy.
        result: the descriptor written at the top, once done.
        attempts: how many times it was started.
    """

    id: int
    request: CopyRequest
    state: TransferState = TransferState.WAITING
    snapshot: Snapshot = _EMPTY
    error: str = ""
    result: Descriptor | None = None
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    attempts: int = 0
    cancel_requested: bool = False
    tally: Tally = field(default_factory=Tally)
    token: CancelToken = field(default_factory=CancelToken)
    last_update: float = 0.0
    slots: CopySlots | None = None
    """While it runs: its share of the window's blob transfers (:attr:`TransferManager.
    blob_slots`), which its engine takes; None before it first runs."""
    slots_seen: tuple[int, int] = (0, 0)
    """How many of its blob transfers ran, and how many waited for the other copies'
    (:attr:`slots`), when its progress was last taken."""
    held_for: str = ""
    """While waiting: the archive or ``dir:`` folder another copy is writing now, which
    this one writes whole too, or the tag or ref another copy is writing now, which this
    one writes too (it starts once that copy has ended: :func:`written_alone`)."""

    @cached_property
    def writes_alone(self) -> str | None:
        """What this copy writes that another must not write at the same time
        (:func:`written_alone` of its destination, which never changes: read once)."""
        return written_alone(self.request.destination)

    @property
    def running(self) -> bool:
        """Planned or copied now (not waiting for its turn, not ended)."""
        return self.state in (TransferState.PLANNING, TransferState.COPYING)

    @property
    def finishing(self) -> bool:
        """Copying, with every byte sent: what is left is the destination's (taking in
        the last bytes, the manifests), which no speed predicts."""
        snap = self.snapshot
        return (self.state is TransferState.COPYING and bool(snap.total)
                and snap.done >= snap.total)

    @property
    def eta(self) -> float | None:
        """Seconds left at the current speed, or None when unknown (or finishing, or the
        speed not yet measured long enough: :attr:`Snapshot.settled`)."""
        snap = self.snapshot
        if self.state is not TransferState.COPYING or snap.speed <= 0 or not snap.total \
                or self.finishing or not snap.settled:
            return None
        return max(0.0, (snap.total - snap.done) / snap.speed)

    @property
    def fraction(self) -> float | None:
        snap = self.snapshot
        if self.state is TransferState.DONE:
            return 1.0
        if not snap.total:
            return None
        return min(1.0, snap.done / snap.total)


class _Relay(QObject):
    """Carries "something changed in transfer N" from engine threads to the GUI thread."""

    changed = Signal(int)


class TransferManager(QObject):
    """Starts, cancels and retries copies; the :class:`TransferModel` follows its signals.

    Signals:
        added(int): a transfer was appended at this row.
        changed(int): the transfer at this row changed (state or progress).
        aboutToRemove(int): the transfer at this row is about to be taken off the list
            (it is still there).
        removed(int): the transfer at this row was taken off the list.
        finished(object): a transfer reached done (the :class:`Transfer`).
        started(object): a transfer was started or retried (it may wait for its turn).
    """

    added = Signal(int)
    changed = Signal(int)
    aboutToRemove = Signal(int)
    removed = Signal(int)
    finished = Signal(object)
    started = Signal(object)

    def __init__(self, openers: Openers, parent: QObject | None = None, *,
                 max_parallel: int = MAX_PARALLEL_COPIES,
                 blob_slots: int | None = None) -> None:
        super().__init__(parent)
        self.openers = openers
        self.max_parallel = max(1, max_parallel)
        self.blob_slots = BlobSlots(
            blob_slots if blob_slots is not None else window_parallel())
        """The blob transfers the window's copies run at once, all copies together
        (:mod:`~spyglass.core.blob_slots`; each copy takes its share, ``for_copy``):
        each copy's ``parallel`` bounds its own only, and four copies of four threads
        each, on two cores, stalled the event loop for up to 100 ms. One transfer of each
        copy never waits for the others' (a copy whose source hangs holds its slots for
        minutes): a copy alone runs as many as before, ``window_parallel()``."""
        self.runner = Runner(self, max_threads=self.max_parallel)
        self.transfers: list[Transfer] = []
        self._ids = itertools.count(1)
        self._relay = _Relay(self)
        self._relay.changed.connect(self._wake, Qt.ConnectionType.QueuedConnection)
        self._timers: dict[int, QTimer] = {}
        """Each transfer's coalescing timer, while it runs (dropped as it ends)."""
        self._by_id: dict[int, Transfer] = {}
        self._counted: dict[int, tuple[TransferState, bool]] = {}
        """Each transfer's state, and whether it is being cancelled, as last counted."""
        self._counts: Counter[TransferState] = Counter()
        self._cancelling = 0
        self._writing: dict[str, list[Transfer]] = {}
        """The copies not ended, by what they write alone (:attr:`Transfer.writes_alone`):
        found at once when one ends, not by reading every destination name again."""
        self._idle = QTimer(self)
        self._idle.setInterval(IDLE_REFRESH_MS)
        self._idle.timeout.connect(self._refresh_idle)
        self._queue: deque[tuple[Transfer, Prepared | None]] = deque()
        """The transfers waiting for their turn, first come first, with their plans."""
        self._busy = 0
        """How many copy jobs are with the runner and not yet answered."""
        self._closed = False
        self.started_any = False
        """Whether a copy was ever started (the list may be empty again: cleared)."""

    # -- public

    def start(self, request: CopyRequest, prepared: Prepared | None = None) -> Transfer:
        """Add a row and run the copy (planning first unless ``prepared``) as soon as
        fewer than ``max_parallel`` copies run; it waits in the queue until then."""
        transfer = Transfer(next(self._ids), request)
        self.started_any = True
        row = len(self.transfers)
        self.transfers.append(transfer)
        self._by_id[transfer.id] = transfer
        self._count(transfer)
        emit(self.added, row)
        self._enqueue(transfer, prepared)
        return transfer

    def cancel(self, transfer: Transfer) -> None:
        """Stop a copy: a waiting one is cancelled at once (its plan released); a running
        one is asked to stop and becomes cancelled once the engine has let go."""
        if transfer.state.finished:
            return
        if transfer.state is TransferState.WAITING:
            self._release(self._dequeue(transfer))
            transfer.state = TransferState.CANCELLED
            transfer.ended = time.monotonic()
            self._ended(transfer)
            self._notify(transfer)
            return
        transfer.cancel_requested = True
        transfer.token.cancel()
        self._notify(transfer)

    def cancel_all(self) -> None:
        """Stop every copy not finished: the waiting ones first, so that none of them
        starts in the place a running one leaves."""
        waiting = [t for t in self.transfers if t.state is TransferState.WAITING]
        for transfer in waiting + [t for t in self.transfers if not t.state.finished]:
            if not transfer.cancel_requested:
                self.cancel(transfer)

    def retry(self, transfer: Transfer) -> None:
        """Run a finished copy again with the same request and options (it waits for its
        turn like a new one)."""
        if not transfer.state.finished:
            return
        transfer.snapshot = _EMPTY
        transfer.error = ""
        transfer.result = None
        transfer.ended = None
        transfer.cancel_requested = False
        transfer.tally = Tally()
        transfer.token = CancelToken()
        self._enqueue(transfer, None)

    def remove_finished(self) -> None:
        """Take every finished row off the list."""
        for row in reversed(range(len(self.transfers))):
            if self.transfers[row].state.finished:
                self._remove_row(row)

    def remove(self, transfer: Transfer) -> None:
        """Take ``transfer``'s row off the list, if it is finished (a copy not finished
        stays: cancel it first)."""
        if transfer in self.transfers and transfer.state.finished:
            self._remove_row(self.transfers.index(transfer))

    def _remove_row(self, row: int) -> None:
        emit(self.aboutToRemove, row)
        transfer = self.transfers.pop(row)
        self._by_id.pop(transfer.id, None)
        self._count(transfer, gone=True)
        self._drop_timer(transfer)
        emit(self.removed, row)

    def _drop_timer(self, transfer: Transfer) -> None:
        timer = self._timers.pop(transfer.id, None)
        if timer is not None:
            timer.stop()
            timer.deleteLater()

    def _ended(self, transfer: Transfer) -> None:
        """A transfer reached its end (done, failed, cancelled): it no longer writes
        anything, and its progress has no more updates to coalesce."""
        place = transfer.writes_alone
        writers = self._writing.get(place, []) if place is not None else []
        if transfer in writers:
            writers.remove(transfer)
            if not writers:
                del self._writing[place]  # type: ignore[arg-type]
        self._drop_timer(transfer)

    def row_of(self, transfer: Transfer) -> int:
        return self.transfers.index(transfer)

    def counts(self) -> Counter[TransferState]:
        """How many transfers of the list are in each state (kept as they change, not
        counted again: the panel asks at every change of every row)."""
        return self._counts

    @property
    def cancelling(self) -> int:
        """How many transfers not finished were asked to stop."""
        return self._cancelling

    def _count(self, transfer: Transfer, *, gone: bool = False) -> None:
        """Bring :meth:`counts` and :attr:`cancelling` up to date with ``transfer``
        (every change of state is told through :meth:`_notify`, which calls this)."""
        before = self._counted.pop(transfer.id, None)
        if before is not None:
            self._counts[before[0]] -= 1
            self._cancelling -= before[1]
        if gone:
            return
        now = (transfer.state, transfer.cancel_requested and not transfer.state.finished)
        self._counted[transfer.id] = now
        self._counts[now[0]] += 1
        self._cancelling += now[1]

    @property
    def running(self) -> int:
        """How many transfers are planning or copying."""
        return self._counts[TransferState.PLANNING] + self._counts[TransferState.COPYING]

    @property
    def waiting(self) -> int:
        """How many transfers wait for their turn."""
        return len(self._queue)

    def shutdown(self) -> None:
        """Stop everything (the window is closing): the running copies are cancelled, and
        the plans of the ones still waiting are released before the threads stop."""
        self._closed = True
        self._idle.stop()
        while self._queue:
            self._release(self._queue.popleft()[1])
        for transfer in self.transfers:
            transfer.token.cancel()
        self.runner.shutdown()

    # -- the queue

    def _enqueue(self, transfer: Transfer, prepared: Prepared | None) -> None:
        transfer.state = TransferState.WAITING
        self._queue.append((transfer, prepared))
        place = transfer.writes_alone
        if place is not None:
            writers = self._writing.setdefault(place, [])
            if transfer not in writers:
                writers.append(transfer)
        self._notify(transfer)
        emit(self.started, transfer)
        self._start_waiting()

    def _dequeue(self, transfer: Transfer) -> Prepared | None:
        """Take ``transfer`` out of the queue; its plan, if it had one."""
        for queued in self._queue:
            if queued[0] is transfer:
                self._queue.remove(queued)
                return queued[1]
        return None

    def _start_waiting(self) -> None:
        """Run the first waiting transfers while fewer than ``max_parallel`` copies run.
        One that writes an archive or ``dir:`` folder whole, or a tag or ref, waits while
        another copy writes the same one: run together, the last to end would replace the
        other's unseen, whichever was asked for last."""
        for queued in list(self._queue):
            if self._busy >= self.max_parallel or self._closed:
                return
            transfer, prepared = queued
            held_for = self._written_by_another(transfer)
            if held_for != transfer.held_for:
                transfer.held_for = held_for
                self._notify(transfer)
            if held_for:
                continue
            self._queue.remove(queued)
            self._run(transfer, prepared)

    def _written_by_another(self, transfer: Transfer) -> str:
        """The place written whole, or the name, that a running copy other than
        ``transfer`` writes and ``transfer`` would too ("" for none)."""
        place = transfer.writes_alone
        if place is None:
            return ""
        writers = self._writers(place, but=transfer)
        return place if writers and writers[0].running else ""

    def writing(self, destination: str) -> Transfer | None:
        """The copy, not ended, that writes what a copy to ``destination`` would write
        alone (:func:`written_alone`: an archive or ``dir:`` folder, a tag or ref): a
        running one first, else the first waiting; None for none. A copy asked for there
        now would wait for it (the Copy dialog says so)."""
        place = written_alone(destination)
        writers = self._writers(place) if place is not None else []
        return writers[0] if writers else None

    def _writers(self, place: str, *, but: Transfer | None = None) -> list[Transfer]:
        """The copies not ended, other than ``but``, that write ``place`` alone: the
        running ones first, each group in the order they were asked for."""
        writers = [t for t in self._writing.get(place, ()) if t is not but]
        return sorted(writers, key=lambda t: (not t.running, t.id))

    def _job_ended(self) -> None:
        self._busy = max(0, self._busy - 1)
        self._start_waiting()

    def _release(self, prepared: Prepared | None) -> None:
        """Close a plan that is not going to be carried out, as the Copy dialog does with
        one it drops: the destination discards what it staged, both ends are closed.
        On the runner's writer lane, so that it neither waits behind the copies nor is
        dropped at shutdown (``drain``)."""
        if prepared is None:
            return
        self.runner.submit(lambda _token: prepared.close(), serial=True, drain=True,
                           what="releasing a copy that did not start")

    # -- running

    def _run(self, transfer: Transfer, prepared: Prepared | None) -> None:
        self.openers.refresh()  # the connections as they are now, not as they were queued
        transfer.attempts += 1
        transfer.state = TransferState.PLANNING
        transfer.started = time.monotonic()
        tally, token, ident = transfer.tally, transfer.token, transfer.id
        relay, openers = self._relay, self.openers
        slots = transfer.slots = self.blob_slots.for_copy()
        transfer.slots_seen = (0, 0)
        request = replace(transfer.request, options=replace(
            transfer.request.options, blob_slots=slots))

        def events(event: CopyEvent) -> None:  # on the engine's threads
            if tally.feed(event):
                emit(relay.changed, ident)

        def locked(place: Path | None) -> None:  # on the job's thread
            if tally.lock_waited(place):
                emit(relay.changed, ident)

        def job(_job_token: CancelToken) -> Descriptor:
            listening = LOCK_LISTENER.set(locked)
            try:
                return run_copy(openers, request, prepared, events, token)
            finally:
                slots.close()  # (the engine has let go of every slot)
                LOCK_LISTENER.reset(listening)

        attempt = transfer.attempts
        self._busy += 1
        self.runner.submit(
            job,
            on_done=lambda result: self._done(transfer, attempt, result),
            on_error=lambda message: self._failed(transfer, attempt, message),
            what=f"copying {request.source} to {request.destination}",
            cleanup=None,
        )
        if not self._idle.isActive():
            self._idle.start()
        self._notify(transfer)

    def _done(self, transfer: Transfer, attempt: int, result: Descriptor) -> None:
        try:
            if attempt == transfer.attempts:
                transfer.snapshot = transfer.tally.snapshot()
                transfer.result = result
                transfer.state = TransferState.DONE
                transfer.ended = time.monotonic()
                self._ended(transfer)
                self._notify(transfer)
                emit(self.finished, transfer)
        finally:
            self._job_ended()  # whatever happened above, the next copy gets its turn

    def _failed(self, transfer: Transfer, attempt: int, message: str) -> None:
        try:
            if attempt == transfer.attempts:
                transfer.snapshot = transfer.tally.snapshot()
                transfer.ended = time.monotonic()
                if transfer.cancel_requested:
                    transfer.state = TransferState.CANCELLED
                else:
                    transfer.state = TransferState.FAILED
                    transfer.error = message
                self._ended(transfer)
                self._notify(transfer)
        finally:
            self._job_ended()

    # -- progress, coalesced

    @Slot(int)
    def _wake(self, ident: int) -> None:
        transfer = self._by_id.get(ident)
        if transfer is None or transfer.state.finished:
            return
        interval = 1.0 / UPDATES_PER_SECOND
        waited = time.monotonic() - transfer.last_update
        if waited >= interval:
            self._update(transfer)
            return
        timer = self._timers.get(ident)
        if timer is None:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.timeout.connect(lambda: self._update_id(ident))
            self._timers[ident] = timer
        if not timer.isActive():
            timer.start(max(1, int((interval - waited) * 1000)))

    def _refresh_idle(self) -> None:
        """Snapshot the running copies that no event has refreshed for a while."""
        running = [t for t in self.transfers
                   if t.state in (TransferState.PLANNING, TransferState.COPYING)]
        if not running and not self._queue:
            self._idle.stop()
            return
        due = time.monotonic() - IDLE_REFRESH_MS / 1000 * 0.9
        for transfer in running:
            if transfer.last_update <= due:
                self._update(transfer)

    def _update_id(self, ident: int) -> None:
        transfer = self._by_id.get(ident)
        if transfer is not None:
            self._update(transfer)

    def _update(self, transfer: Transfer) -> None:
        transfer.last_update = time.monotonic()
        if transfer.state.finished or transfer.state is TransferState.WAITING:
            return
        snapshot = transfer.tally.snapshot()
        transfer.snapshot = snapshot
        slots = transfer.slots
        transfer.slots_seen = (slots.held, slots.waiting) if slots is not None else (0, 0)
        if snapshot.planned and transfer.state is TransferState.PLANNING:
            transfer.state = TransferState.COPYING
        self._notify(transfer)

    def _notify(self, transfer: Transfer) -> None:
        if transfer.id in self._by_id:
            self._count(transfer)
            emit(self.changed, self.transfers.index(transfer))


__all__ = ["Transfer", "TransferManager", "TransferState"]
