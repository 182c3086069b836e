"""The Transfers table: one row per copy, following the :class:`TransferManager`."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any, Final

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from spyglass.core import media
from spyglass.core.errors import SpyglassError
from spyglass.core.reference import DirName, DockerName, parse_image_name
from spyglass.core.units import duration_text
from spyglass.gui import icons
from spyglass.gui.colors import muted_color
from spyglass.gui.copy_jobs import CopyRequest
from spyglass.gui.copy_names import image_label
from spyglass.gui.copy_progress import WRITTEN_ANEW, BlobRow
from spyglass.gui.formatting import ROUTE_ARROW, as_sentence, counted, human_size, short_digest
from spyglass.gui.models.table import SORT_ROLE
from spyglass.gui.models.transfer_endings import (
    ending_sentence,
    ending_text,
    kept_bytes,
    reused_bytes,
    stopped,
    to_registry,
    written_bytes,
)
from spyglass.gui.signals import emit
from spyglass.gui.transfers import Transfer, TransferManager, TransferState

AnyIndex = QModelIndex | QPersistentModelIndex

TRANSFER, STATE, PROGRESS, BYTES, SPEED, ETA = range(6)
TITLES = ("Transfer", "State", "Progress", "Bytes", "Speed", "ETA")

PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 40
"""The fraction done (float, 0.0 to 1.0) for a progress bar; None for no bar (a copy
that failed or was cancelled: what it had written is not there, whatever it reached)."""
TRANSFER_ROLE = Qt.ItemDataRole.UserRole + 41
"""The :class:`Transfer` of the row."""
STATE_ROLE = Qt.ItemDataRole.UserRole + 42
"""The state's value (str)."""
ROUTE_ROLE = Qt.ItemDataRole.UserRole + 43
"""The Transfer column's two sides, ``(source, destination)``, as the table shows them."""

STATE_TEXT = {
    TransferState.WAITING: "Waiting",
    TransferState.PLANNING: "Planning…",
    TransferState.COPYING: "Copying",
    TransferState.DONE: "Done",
    TransferState.FAILED: "Failed",
    TransferState.CANCELLED: "Cancelled",
}


def failure_cause(sentence: str) -> str:
    """What a failure sentence says went wrong, for the narrow State cell: the part
    after "… failed: " (which names the step, a blob digest, say), capitalized; of
    "… broke off: …", "Broke off: " and what broke it, in plain words
    (:func:`plain_break`). The whole sentence stays in the tooltip and the Details."""
    _step, found, cause = sentence.partition(" failed: ")
    if found and cause:
        return cause[:1].upper() + cause[1:]
    _step, found, cause = sentence.partition(" broke off: ")
    if found and cause:
        return f"Broke off: {plain_break(cause)}"
    return sentence


_BROKEN_BODY: Final = re.compile(
    r"peer closed connection without sending complete message body"
    r" \(received \d+ bytes, expected \d+\)", re.IGNORECASE)
_BROKEN_WORDS: Final = (
    (_BROKEN_BODY, "the connection was closed before the whole answer came"),
    (re.compile(r"server disconnected without sending a response", re.IGNORECASE),
     "the connection was closed before any answer came"),
    (re.compile(r"connection reset by peer", re.IGNORECASE), "connection reset by peer"),
)
"""The HTTP library's words for a broken connection, which the engine passes on as they
are, and what the State cell says instead ("expected N" there is what was left of a
resumed range, not the blob's size)."""


def plain_break(cause: str) -> str:
    """What broke a connection off, in the words the window uses for it elsewhere."""
    for pattern, words in _BROKEN_WORDS:
        cause = pattern.sub(words, cause)
    return cause


SORT_RANK: Final = {TransferState.FAILED: 0, TransferState.CANCELLED: 1,
                   TransferState.COPYING: 2, TransferState.PLANNING: 3,
                   TransferState.WAITING: 4, TransferState.DONE: 5}
"""The order of the State column, sorted: what went wrong first, then what runs, what
waits, and what is done."""


def sort_value(transfer: Transfer, column: int, source: str | None = None) -> str | float:
    """What a column sorts ``transfer``'s row by (:data:`SORT_ROLE`): the source's name
    (``source``, where the caller has it already: :func:`source_label`), the state's rank
    (:data:`SORT_RANK`), the number the cell shows (a finished copy's average speed, as
    its cell; no speed as none), or the time left (:func:`time_left`)."""
    snap = transfer.snapshot
    if column == TRANSFER:
        return (source_label(transfer.request) if source is None else source).casefold()
    if column == STATE:
        return float(SORT_RANK[transfer.state])
    if column == PROGRESS:
        fraction = transfer.fraction
        return -1.0 if fraction is None or stopped(transfer) else fraction
    if column == BYTES:
        return float(snap.total)
    if column == SPEED:
        return speed_shown(transfer)
    return time_left(transfer)


LEFT_UNKNOWN: Final = 1e9
"""What :func:`time_left` gives a copy under way whose ETA is not known yet (after every
one that is known); a waiting copy's is twice that."""


def time_left(transfer: Transfer) -> float:
    """How long ``transfer`` has left, as the ETA column sorts it: a copy that ended has
    nothing left (first, as the ones finishing, whose bytes have all gone out); one with an
    ETA, its seconds; one under way without, after those; one waiting for its turn, last.
    (All blank rows sorted as the same "unknown" made the two directions one order.)"""
    if transfer.state.finished:
        return -1.0
    if transfer.finishing:
        return 0.0
    eta = transfer.eta
    if eta is not None:
        return eta
    return 2 * LEFT_UNKNOWN if transfer.state is TransferState.WAITING else LEFT_UNKNOWN


def speed_shown(transfer: Transfer) -> float:
    """The speed the Speed cell shows, in bytes a second: a copy done its average over the
    whole copy (what moved, not what was reused), one copying its speed now; 0.0 where the
    cell shows none (waiting, stopped, nothing sent: a stopped copy may keep the last speed
    measured, which its blank cell does not show)."""
    snap = transfer.snapshot
    if onto_itself(transfer) or held_written_around(transfer) or nothing_copied(transfer) \
            or all_linked(transfer):
        return 0.0
    if transfer.state is TransferState.DONE and transfer.ended is not None:
        elapsed = transfer.ended - transfer.started
        moved = snap.total - reused_bytes(transfer)
        return moved / elapsed if elapsed > 0 and moved > 0 else 0.0
    if transfer.state is TransferState.COPYING and snap.speed > 0:
        return snap.speed
    return 0.0


def state_text(transfer: Transfer, *, in_row: bool = False) -> str:
    """The transfer's state in the words the panel and the Details use. A copy whose
    every byte has gone out, still waiting for the destination to take the last of
    them and for its manifests to be written, is "Finishing…", not a copy stuck at
    100 %. A copy done says what there is to know about it: "Done · already there"
    (an image copied onto itself; not ``in_row``, whose Bytes and Speed cells say so),
    "Done · same image" (one whose name named it already, which wrote only what is
    attached to it; not ``in_row``, whose Speed cell says so),
    "Done · 1 note" (see :func:`note_lines`)."""
    if transfer.cancel_requested and not transfer.state.finished:
        return "Cancelling…"
    if transfer.snapshot.locked_by and not transfer.state.finished:
        return (f"Waiting · {PurePath(transfer.snapshot.locked_by).name} is being written "
                "by another program")
    if transfer.snapshot.waiting_for and not transfer.state.finished:
        return f"Waiting for {transfer.snapshot.waiting_for}"  # (the pipe a tar goes into)
    if transfer.finishing:
        return "Finishing…"
    if asked := waiting_as_asked(transfer):
        # the time left, counting down (the cell's other "· N s" is the time gone by)
        left = max(blob.wait_left for blob in asked)
        return f"Waiting, as asked · {duration_text(left)} left" if left >= 1 \
            else "Waiting, as asked · asking again"
    if again := retrying(transfer):
        waited = f" · {duration_text(transfer.snapshot.still)}" if stalled(transfer) else ""
        return f"{retry_text(again)}{waited}"
    if others := waiting_for_copies(transfer):
        return copies_text(others)
    if stalled(transfer):
        return f"Stalled · {duration_text(transfer.snapshot.still)}"
    parts = [STATE_TEXT[transfer.state]]
    if transfer.state is TransferState.WAITING and transfer.held_for:
        parts.append(f"{PurePath(transfer.held_for).name} is being written by another copy")
    if transfer.state is TransferState.DONE:
        if held_written_around(transfer) and not in_row:  # (the Speed cell says so)
            parts.append("same image")
        elif onto_itself(transfer) and not in_row:
            parts.append("already there")
        if transfer.snapshot.notes:
            parts.append(counted(len(transfer.snapshot.notes), "note"))
    return " · ".join(parts)


STALLED_AFTER: Final = 15.0
"""Seconds without a byte moving after which a copy says it is stalled (a registry that
stopped answering; the connection gives up after a minute, and the copy retries)."""


def stalled(transfer: Transfer) -> bool:
    """A copy under way that has not moved a byte for :data:`STALLED_AFTER` seconds. (The
    window's shared bound on blob transfers never stalls a copy: each may always run one
    transfer of its own, see :mod:`~spyglass.core.blob_slots`.)"""
    return (transfer.state is TransferState.COPYING and not transfer.cancel_requested
            and transfer.snapshot.still >= STALLED_AFTER)


def waiting_for_turn(transfer: Transfer) -> int:
    """How many blob transfers of a copy under way wait for the window's other copies'
    transfers (the window's copies share one bound: ``TransferManager.blob_slots``)."""
    if transfer.state is not TransferState.COPYING or transfer.cancel_requested:
        return 0
    return transfer.slots_seen[1]


def turn_sentence(transfer: Transfer) -> str:
    """What the tooltip says of a copy whose transfers wait for the other copies' (""
    for none): how many, and why."""
    waiting = waiting_for_turn(transfer)
    if not waiting:
        return ""
    slots = transfer.slots
    bound = f"at most {slots.pool.size} blobs at once" if slots is not None \
        else "a bounded number of blobs at once"
    return (f"{counted(waiting, 'blob')} of this copy {'wait' if waiting > 1 else 'waits'} "
            f"for the other copies' transfers: the window's copies move {bound} together "
            "(each copy one at least), so that the window stays responsive.")


def retrying(transfer: Transfer) -> list[BlobRow]:
    """The blobs of a copy under way that started again from their first byte after an
    error, none of whose bytes have come again yet."""
    if transfer.state is not TransferState.COPYING or transfer.cancel_requested:
        return []
    return [blob for blob in transfer.snapshot.blobs if blob.restarting]


def waiting_as_asked(transfer: Transfer) -> list[BlobRow]:
    """The blobs of a copy under way whose requests wait because the registry asked
    (a 429 or 503 with ``Retry-After``), no byte of them having come since; one whose
    wait ended :data:`STALLED_AFTER` seconds ago or more no longer (the request asked
    again is then as stalled as any other)."""
    if transfer.state is not TransferState.COPYING or transfer.cancel_requested:
        return []
    return [blob for blob in transfer.snapshot.blobs
            if blob.asked_wait and blob.wait_left > -STALLED_AFTER]


def waiting_sentence(blobs: list[BlobRow]) -> str:
    """What the tooltip says of a copy :func:`waiting_as_asked`: who asked, how long, and
    when the request goes out again, or went."""
    lines = [f"The blob {short_digest(blob.digest)} waits: {blob.asked_wait}; "
             + (f"asking again in {duration_text(blob.wait_left)}" if blob.wait_left >= 1
                else "asked again just now" if blob.wait_left > -1
                else f"asked again {duration_text(-blob.wait_left)} ago") + "."
             for blob in blobs]
    over = all(blob.wait_left < 1 for blob in blobs)
    return "\n".join(lines) + ("\nThe copy goes on by itself as soon as the registry "
                               "answers; cancel it to stop waiting." if over else
                               "\nThe copy goes on by itself after the wait; cancel it "
                               "to stop waiting.")


def waiting_for_copies(transfer: Transfer) -> list[BlobRow]:
    """The blobs of a copy under way that wait for another copy of this process that is
    sending them to the same registry, to mount them from there once it has
    (:attr:`BlobRow.other_copy`): a wait for that copy's bytes, not a stall."""
    if transfer.state is not TransferState.COPYING or transfer.cancel_requested:
        return []
    return [blob for blob in transfer.snapshot.blobs if blob.other_copy]


def copies_text(blobs: list[BlobRow]) -> str:
    """The State cell of a copy :func:`waiting_for_copies`: "Waiting · another copy is
    sending 1 layer to HOST"."""
    layers = all(media.layer_compression(blob.media_type) is not None for blob in blobs)
    hosts = sorted({blob.other_copy for blob in blobs})
    what = counted(len(blobs), "layer" if layers else "blob")
    return f"Waiting · another copy is sending {what} to {', '.join(hosts)}"


def copies_sentence(blobs: list[BlobRow]) -> str:
    """What the tooltip says of a copy :func:`waiting_for_copies`."""
    lines = [f"The blob {short_digest(blob.digest)} waits for another copy that is sending "
             f"it to {blob.other_copy}." for blob in blobs]
    return "\n".join(lines) + ("\nOnce that copy has sent it, this one mounts it from "
                               "there, with no byte sent again (or sends it, if that copy "
                               "fails). It holds none of the window's blob transfers "
                               "meanwhile.")


def retry_text(blobs: list[BlobRow]) -> str:
    """The State cell of a copy :func:`retrying`: "Retrying · attempt 2 of 4"."""
    if len(blobs) > 1:
        return f"Retrying {len(blobs)} blobs"
    blob = blobs[0]
    return f"Retrying · attempt {blob.attempt} of {blob.attempts}" if blob.attempt > 1 \
        else "Retrying"


def because(blob: BlobRow) -> str:
    """Why ``blob`` started again, to follow "because": the engine's sentence with the
    blob's digest short (it is named just before) and its first word in lower case (not
    an acronym's: "HTTP …" stays)."""
    return run_on(plain_break(blob.last_error.replace(str(blob.digest),
                                                      short_digest(blob.digest))))


def run_on(sentence: str) -> str:
    """``sentence`` to follow other words: its first letter in lower case, unless it starts
    an acronym ("HTTP …" stays)."""
    if sentence[:1].isupper() and not sentence[1:2].isupper():
        return sentence[:1].lower() + sentence[1:]
    return sentence


def retry_sentence(blobs: list[BlobRow]) -> str:
    """What the tooltip says of a copy :func:`retrying`: why, and that the bar fell back."""
    lines = []
    for blob in blobs:
        attempt = f" (attempt {blob.attempt} of {blob.attempts})" if blob.attempt > 1 else ""
        lines.append(f"The blob {short_digest(blob.digest)} starts again from its first "
                     f"byte{attempt} because {because(blob)}")
    return "\n".join(lines) + ("\nWhat it had copied is not counted any more, so the "
                               "progress fell back.")


STALLED_SENTENCE: Final = (
    "No bytes have moved for a while: the source or the destination is not answering. "
    "The copy gives each request a minute to answer and asks again a few times before it "
    "gives up, which can take several minutes; cancel it to stop waiting.")


def nothing_copied(transfer: Transfer) -> bool:
    """A finished copy whose every blob was already there. A blob mounted from another
    repository was not: the copy put it there, only without sending its bytes."""
    blobs = transfer.snapshot.blobs
    return transfer.state is TransferState.DONE and bool(blobs) and all(
        blob.outcome in ("skipped", "unneeded") for blob in blobs)


def all_linked(transfer: Transfer) -> bool:
    """A finished copy that sent no blob's bytes, having mounted at least one."""
    blobs = transfer.snapshot.blobs
    return (transfer.state is TransferState.DONE and any(b.outcome == "mounted" for b in blobs)
            and all(b.outcome in ("skipped", "mounted", "unneeded") for b in blobs))


ONTO_ITSELF = ("The destination has this very image (the same digest): every blob was "
               "there already, and none had to be copied.")
"""What the tooltip and the Details say of a copy :func:`onto_itself`."""


def onto_itself(transfer: Transfer) -> bool:
    """A copy done that found the very image at the destination: every blob was there
    already and what it wrote has the source's digest (a copy onto itself, or into a
    mirror that has it). From the digests alone: nothing here may touch the disk."""
    result = transfer.result
    return (nothing_copied(transfer) and result is not None
            and result.digest == transfer.snapshot.source_digest)


HELD_NOTHING_WRITTEN: Final = (
    "The destination had this very image under that name already (the same digest): "
    "nothing was written, not even the name.")
"""What the tooltip and the Details say of a copy into a registry whose tag named the
image already, and that found what is attached to it there too."""
HELD_ATTACHED_WRITTEN: Final = (
    "The destination had this very image under that name already (the same digest): the "
    "image was not written again; what is attached to it and was not there yet was.")
"""The same, of a copy that wrote something attached the destination did not have."""


def held_written_around(transfer: Transfer) -> bool:
    """A copy done whose image the destination's name named already (nothing of it was
    written), which wrote something attached to it all the same."""
    snap = transfer.snapshot
    return transfer.state is TransferState.DONE and snap.held and snap.wrote_attached


def done_sentence(transfer: Transfer) -> str:
    """What the tooltip and the Details say of a copy done that found the very image at
    the destination: under that name (nothing of the image written; what is attached
    may have been), or only its blobs (:data:`ONTO_ITSELF`); "" for any other."""
    if transfer.state is not TransferState.DONE:
        return ""
    if transfer.snapshot.held:
        return HELD_ATTACHED_WRITTEN if transfer.snapshot.wrote_attached \
            else HELD_NOTHING_WRITTEN
    return ONTO_ITSELF if onto_itself(transfer) else ""


def attached_line(transfer: Transfer) -> str:
    """What goes, or went, along with the image, as a sentence; "" for nothing. A copy
    whose image was there already under its name says what of it was there too, or that
    only what the destination lacked was written, with the blobs that shows (a manifest
    written whose blobs were all there shows none)."""
    snap = transfer.snapshot
    if not snap.attached:
        return ""
    if transfer.state is not TransferState.DONE:
        return f"Goes along with the image: {snap.attached}."
    if not snap.held:
        return f"Copied along with the image: {snap.attached}."
    if not snap.wrote_attached:
        return f"Along with the image, there already: {snap.attached}."
    copied = [blob for blob in snap.blobs if blob.attachment and blob.outcome in WRITTEN_ANEW]
    kinds: list[str] = []
    for blob in copied:
        kinds.extend(kind for kind in blob.attachment.split(", ") if kind not in kinds)
    shown = f" ({counted(len(copied), 'blob')} copied, part of: {', '.join(kinds)})" \
        if copied else ""
    return (f"Along with the image: {snap.attached}; only what the destination did not "
            f"have yet was written{shown}.")


def note_lines(transfer: Transfer) -> list[str]:
    """What the copy did on the user's behalf, as sentences: what went along with the
    images (:func:`attached_line`), then the plan's notes (layers compressed, what is
    left behind or replaced)."""
    attached = attached_line(transfer)
    lines = [attached] if attached else []
    lines.extend(as_sentence(note) for note in transfer.snapshot.notes)
    return lines


def source_label(request: CopyRequest) -> str:
    """A copy's source as its row shows it: the image as the trees label it
    (``spyglass-demo:1.0``, ``team/app:1.0``), which is what a person picked; the
    folder, archive or registry it is in is in the tooltip and the Details."""
    return request.label or image_label(request.source)


def destination_place(request: CopyRequest) -> str:
    """A copy's destination as its row shows it: a registry's ``HOST/REPO:TAG``; a
    layout's, folder's or archive's own name as the sidebar lists it (``mirror``), with
    the name the image gets there where it is not the source's own (``mirror as
    1.0-linux-arm64``)."""
    name = request.destination
    try:
        parsed = parse_image_name(name)
    except SpyglassError:
        return name
    if isinstance(parsed, DockerName):
        return name.removeprefix("docker://")
    place = parsed.path.name or str(parsed.path)
    if isinstance(parsed, DirName):
        return place
    if (getattr(parsed, "ref", None) or getattr(parsed, "reference", None)) is None:
        return place  # (unnamed there)
    given, label = image_label(name), source_label(request)
    if given == label or label.endswith(f"/{given}"):
        return place  # (a registry's team/app:1 written into a layout as app:1)
    return f"{place} as {given}"


def route_sides(request: CopyRequest) -> tuple[str, str]:
    """The Transfer column's two sides (:data:`ROUTE_ROLE`): :func:`source_label` and
    :func:`destination_place`."""
    return source_label(request), destination_place(request)


class TransferModel(QAbstractTableModel):
    """The manager's transfers as a table (qutebrowser's ``DownloadModel``): the manager's
    ``added`` signal calls ``beginInsertRows``/``endInsertRows``, ``aboutToRemove``
    ``beginRemoveRows`` (while the row is still in the manager's list) and ``removed``
    ``endRemoveRows``; ``changed`` becomes ``dataChanged``."""

    def __init__(self, manager: TransferManager, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self._count = len(manager.transfers)
        self._routes: dict[int, tuple[str, str]] = {}
        """Each transfer's :func:`route_sides`, made once: its request never changes, and
        the names were parsed again for every paint and every comparison of a sort."""
        manager.added.connect(self._added)
        manager.aboutToRemove.connect(self._about_to_remove)
        manager.removed.connect(self._removed)
        manager.changed.connect(self._changed)

    def _added(self, row: int) -> None:
        self.beginInsertRows(QModelIndex(), row, row)
        self._count += 1
        self.endInsertRows()

    def _about_to_remove(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        if 0 <= row < len(self.manager.transfers):
            self._routes.pop(self.manager.transfers[row].id, None)

    def route(self, transfer: Transfer) -> tuple[str, str]:
        """``transfer``'s :func:`route_sides`, remembered."""
        sides = self._routes.get(transfer.id)
        if sides is None:
            sides = self._routes[transfer.id] = route_sides(transfer.request)
        return sides

    def _removed(self, _row: int) -> None:
        self._count -= 1
        self.endRemoveRows()

    def _changed(self, row: int) -> None:
        if 0 <= row < self._count:
            emit(self.dataChanged, self.index(row, 0), self.index(row, len(TITLES) - 1))

    def transfer(self, index: AnyIndex) -> Transfer | None:
        if not index.isValid() or index.model() is not self:
            return None
        row = index.row()
        transfers = self.manager.transfers
        return transfers[row] if 0 <= row < min(self._count, len(transfers)) else None

    # -- QAbstractItemModel

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Override QAbstractItemModel::rowCount."""
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Override QAbstractItemModel::columnCount."""
        return 0 if parent.isValid() else len(TITLES)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override QAbstractItemModel::headerData."""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(TITLES):
            return TITLES[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        """Override QAbstractItemModel::flags."""
        if self.transfer(index) is None:
            return Qt.ItemFlag.NoItemFlags
        return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemNeverHasChildren)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override QAbstractItemModel::data."""
        transfer = self.transfer(index)
        if transfer is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == TRANSFER:
                source, destination = self.route(transfer)
                return f"{source}{ROUTE_ARROW}{destination}"
            return self._display(transfer, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(transfer)
        if role == Qt.ItemDataRole.DecorationRole and column == TRANSFER:
            if transfer.state is TransferState.FAILED:
                return icons.warning_icon()
            return None
        if role == Qt.ItemDataRole.ForegroundRole and (
                (column == STATE and transfer.state is TransferState.CANCELLED)
                or (column in (PROGRESS, BYTES) and stopped(transfer))):
            return muted_color()
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (BYTES, SPEED, ETA):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == PROGRESS:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == PROGRESS_ROLE and column == PROGRESS:
            if stopped(transfer):
                return None
            fraction = transfer.fraction
            return 0.0 if fraction is None else fraction
        if role == TRANSFER_ROLE:
            return transfer
        if role == STATE_ROLE:
            return transfer.state.value
        if role == SORT_ROLE:
            return sort_value(transfer, column,
                              self.route(transfer)[0] if column == TRANSFER else None)
        if role == ROUTE_ROLE and column == TRANSFER:
            return self.route(transfer)
        return None

    @staticmethod
    def _tooltip(transfer: Transfer) -> str:
        """The whole story of the row: both names, the state, how it ended, the notes."""
        request = transfer.request
        source = request.source
        if request.label and request.label not in source:  # (an archive's @1: which image)
            source = f"{source} ({request.label})"
        parts = [f"{source}\n→ {request.destination}", state_text(transfer)]
        if asked := waiting_as_asked(transfer):
            parts.append(waiting_sentence(asked))
        elif again := retrying(transfer):
            parts.append(retry_sentence(again))
            if stalled(transfer):  # (the new attempt has had no answer either)
                parts.append(STALLED_SENTENCE)
        elif others := waiting_for_copies(transfer):
            parts.append(copies_sentence(others))
        elif stalled(transfer):
            parts.append(STALLED_SENTENCE)
        if turn := turn_sentence(transfer):
            parts.append(turn)
        if transfer.error:
            parts.append(transfer.error)
        if stopped(transfer) and transfer.snapshot.total:
            parts.append(ending_sentence(transfer))
        if transfer.state is TransferState.DONE and transfer.ended is not None:
            parts.append(f"Took {duration_text(transfer.ended - transfer.started)}.")
        if said := done_sentence(transfer):
            parts.append(said)
        lines = note_lines(transfer)
        if lines:
            parts.append("\n".join(f"• {line}" for line in lines))
        return "\n\n".join(parts)

    @staticmethod
    def _display(transfer: Transfer, column: int) -> str:
        snap = transfer.snapshot
        state = transfer.state
        if column == TRANSFER:
            source, destination = route_sides(transfer.request)
            return f"{source}{ROUTE_ARROW}{destination}"
        if column == STATE:
            if state is TransferState.FAILED and transfer.error:
                # the cause right there, after a dot as the other states' details
                # (cut by the view; whole above the rows, in the tooltip and the Details)
                return f"{state_text(transfer)} · {run_on(failure_cause(transfer.error))}"
            return state_text(transfer, in_row=True)
        if column == PROGRESS:
            if stopped(transfer):
                return ending_text(transfer) if snap.total else ""
            fraction = transfer.fraction
            return f"{fraction * 100:.0f} %" if fraction is not None else ""
        if column == BYTES:
            if not snap.total:
                return ""
            if nothing_copied(transfer):
                return f"{human_size(snap.total)} already there"
            if all_linked(transfer):
                return f"{human_size(snap.total)} mounted"
            if stopped(transfer) and to_registry(transfer) and written_bytes(transfer):
                # the blobs sent whole stay in the registry (no tag names them); what it
                # had of one cut off is not counted (see cut_off_clause)
                return f"{human_size(kept_bytes(transfer)[0])} sent"
            if stopped(transfer):
                return f"{human_size(written_bytes(transfer))} of {human_size(snap.total)}"
            if state is TransferState.DONE:
                # the image's size; what was there already, or mounted, named as such
                reused = reused_bytes(transfer)
                if not reused:
                    return human_size(snap.total)
                # a share, which fits the column as a second size would not; never 0 or
                # 100 % when part was reused and part not (the tooltip has the sizes)
                share = min(99, max(1, round(100 * reused / snap.total)))
                return f"{human_size(snap.total)}, {share} % reused"
            return f"{human_size(snap.done)} / {human_size(snap.total)}"
        if column == SPEED:
            if onto_itself(transfer) or held_written_around(transfer):
                # (what attached was written is small: the image is what matters)
                return "same image"
            if nothing_copied(transfer):
                return "nothing to copy"
            if all_linked(transfer):
                return "nothing sent"
            # a copy done, what moved (not what was reused) over the whole copy: its average
            speed = speed_shown(transfer)
            return f"{human_size(int(speed))}/s" if speed > 0 else ""
        if column == ETA:
            eta = transfer.eta
            return duration_text(eta) if eta is not None else ""
        return ""


__all__ = ["HELD_ATTACHED_WRITTEN", "HELD_NOTHING_WRITTEN", "ONTO_ITSELF", "PROGRESS_ROLE",
           "ROUTE_ROLE", "STATE_ROLE", "TITLES", "TRANSFER_ROLE", "TransferModel",
           "attached_line", "done_sentence", "held_written_around", "note_lines",
           "nothing_copied", "onto_itself", "route_sides",
           "sort_value", "source_label", "speed_shown", "state_text", "time_left",
           "turn_sentence", "waiting_for_copies", "waiting_for_turn"]
