"""The Details of one transfer: every blob with what happened to it, and the error."""

from __future__ import annotations

import html
from typing import Final

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from spyglass.core.digest import Digest
from spyglass.gui.copy_destinations import written_whole
from spyglass.gui.copy_progress import WRITTEN_ANEW
from spyglass.gui.formatting import blob_type, exact_size, human_size, short_digest
from spyglass.gui.models.table import monospace_font
from spyglass.gui.models.transfer_endings import (
    ending_sentence,
    left_behind,
    stopped,
    to_registry,
)
from spyglass.gui.models.transfers import (
    STALLED_SENTENCE,
    done_sentence,
    note_lines,
    stalled,
    state_text,
)
from spyglass.gui.on_screen import fitted_size
from spyglass.gui.transfers import Transfer, TransferManager, TransferState
from spyglass.gui.views.buttons import plain_buttons
from spyglass.gui.views.delegates import PaddedDelegate

OUTCOME_TEXT = {
    "waiting": "not started",
    "copying": "copying",
    "retrying": "starting again",
    "copied": "copied",
    "skipped": "skipped (already there)",
    "mounted": "mounted from another repository",
    "unneeded": "not needed after all (its tag changed meanwhile)",
    "compressed": "compressed",
    "recompressed": "recompressed",
    "decompressed": "written uncompressed",
    "interrupted": "interrupted",
}


KEPT_UNTIL_PURGED: Final = (", the registry may keep the part sent",
                             ", the registry may keep what it received until it purges "
                             "unfinished uploads")
"""The outcome's end for an upload cut off that the registry did not drop: the cell's
short form, and the tooltip's whole one."""

ROOMY: Final = QSize(860, 440)
"""The dialog's size with the list of blobs shown, where its screen has the room
(:func:`~spyglass.gui.on_screen.fitted_size`)."""
ROW_PADDING: Final = 5
"""Above and below a blob's row: as tall as the Transfers table's rows (the font's
height and 10, :func:`~spyglass.gui.views.widgets.make_table`)."""
SIZE_MARGIN: Final = 12
"""Between a blob's size (right-aligned) and its type."""

DIGEST_ROLE = Qt.ItemDataRole.UserRole + 1
"""The blob's whole digest (str), on the Blob column (which shows it short)."""


def _no_blobs_yet(transfer: Transfer) -> str:
    """Why the blob list is empty, for the states where it is."""
    state = transfer.state
    if state is TransferState.WAITING and transfer.held_for \
            and written_whole(transfer.request.destination) is None:
        return (f"It waits for the copy writing {transfer.held_for} to end: each writes "
                "that name, so this one starts after that one and the name ends up naming "
                "this image, the one asked for last.")
    if state is TransferState.WAITING and transfer.held_for:
        return (f"It waits for the copy writing {transfer.held_for} to end: each writes it "
                "whole, so this one starts after that one and replaces what it wrote.")
    if state is TransferState.WAITING:
        return "It waits for one of the copies running now to end."
    if state is TransferState.PLANNING:
        return "The blobs are listed once the copy is planned."
    if state is TransferState.CANCELLED:
        return "Nothing was copied: the copy was cancelled before it began."
    if state is TransferState.FAILED:
        return "Nothing was copied: the copy failed before it began."
    return ""


class TransferDetailsDialog(QDialog):
    """Lists the blobs of a transfer and their outcomes; follows the transfer while open.

    Rows are updated in place (a copy changes them a few times a second): the
    scroll position and the selection stay where the user put them. Without a row (a
    copy waiting, planning, or that ended before it began) the list is hidden and the
    dialog as tall as its sentences; it grows to show the rows once they come.

    Attributes:
        blobs: the list, one row per blob (short digest, size, type, outcome); hidden
            while there is none.
        error_label: the failure sentence (hidden unless the copy failed).
        notes_label: what the copy did on the user's behalf (hidden when nothing):
            what went along with the images, and the plan's notes, one sentence a line.
    """

    def __init__(self, manager: TransferManager, transfer: Transfer,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._manager = manager
        self.transfer = transfer
        label = transfer.request.label or transfer.request.source
        self.setWindowTitle(f"Transfer Details — {label}")
        # within a small screen (1366x768 at 200 %: Close was below its edge)
        self.resize(fitted_size(self, ROOMY.width(), ROOMY.height()))
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # white on the red, whatever the theme says bright text is (a red, in some)
        self.error_label.setStyleSheet("color: white; background: #b3261e; "
                                       "padding: 6px; border-radius: 4px;")
        self.notes_label = QLabel()
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextFormat(Qt.TextFormat.PlainText)
        self.notes_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.notes_label.setFrameShape(QFrame.Shape.StyledPanel)
        self.notes_label.setMargin(6)
        self.notes_label.setObjectName("transferNotes")
        self.blobs = QTreeWidget()
        self.blobs.setAccessibleName("Blobs")
        # rows as tall as the Transfers panel's (they were some 14 px, text on text), and
        # the right-aligned sizes short of the types beside them
        self.blobs.setItemDelegate(PaddedDelegate(self.blobs, padding=ROW_PADDING))
        self.blobs.setItemDelegateForColumn(1, PaddedDelegate(
            self.blobs, padding=ROW_PADDING, end_margin=SIZE_MARGIN))
        self.blobs.setRootIsDecorated(False)
        self.blobs.setAlternatingRowColors(True)
        self.blobs.setHeaderLabels(["Blob", "Size", "Type", "Outcome"])
        # sizes are right-aligned, and so is their heading, as in the image's tables
        header = self.blobs.headerItem()
        header.setTextAlignment(1, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.blobs.setUniformRowHeights(True)
        self._items: dict[Digest, QTreeWidgetItem] = {}
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        plain_buttons(buttons)
        buttons.rejected.connect(self.close)
        self._layout = layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.error_label)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.blobs, 1)
        layout.addStretch()  # (the room the list takes, while it is hidden: none is kept)
        layout.addWidget(buttons)
        manager.changed.connect(self._changed)
        self.refresh()
        # the digest short (whole in its tooltip), so that the outcome has the room
        digest = QFontMetrics(monospace_font()).horizontalAdvance(f"sha256:{'0' * 12}")
        metrics = self.blobs.fontMetrics()
        self.blobs.setColumnWidth(0, digest + 28)
        self.blobs.setColumnWidth(1, metrics.horizontalAdvance("888.8 MiB") + 24)
        self.blobs.setColumnWidth(2, max(metrics.horizontalAdvance(name) for name in (
            "cosign signature config", "Notation signature (COSE)", "Docker layer (gzip)"))
            + 24)

    def _changed(self, row: int) -> None:
        transfers = self._manager.transfers
        if 0 <= row < len(transfers) and transfers[row] is self.transfer:
            self.refresh()

    def items(self) -> dict[str, QTreeWidgetItem]:
        """Each blob's row, by its whole digest."""
        items = [self.blobs.topLevelItem(i) for i in range(self.blobs.topLevelItemCount())]
        return {item.data(0, DIGEST_ROLE): item for item in items if item is not None}

    def outcomes(self) -> dict[str, str]:
        """Each blob's whole digest and outcome text, as listed."""
        return {digest: item.text(3) for digest, item in self.items().items()}

    @property
    def notes_text(self) -> str:
        return self.notes_label.text() if not self.notes_label.isHidden() else ""

    def refresh(self) -> None:
        transfer = self.transfer
        request = transfer.request
        why = "" if transfer.snapshot.blobs else _no_blobs_yet(transfer)
        if stopped(transfer) and transfer.snapshot.total:
            why = ending_sentence(transfer)
        elif said := done_sentence(transfer):
            why = said
        elif stalled(transfer):
            why = STALLED_SENTENCE  # said here too, not only in the row's tooltip
        self.heading.setText(
            f"<b>{html.escape(request.source)}</b><br>→ <b>{html.escape(request.destination)}"
            f"</b><br>State: {html.escape(state_text(transfer))}"
            + (f"<br><i>{html.escape(why)}</i>" if why else ""))
        self.error_label.setText(transfer.error)
        self.error_label.setVisible(bool(transfer.error))
        notes = note_lines(transfer)
        text = "\n".join(f"\u2022 {line}" for line in notes)
        if self.notes_label.text() != text:  # a selection in it stays while the copy runs
            self.notes_label.setText(text)
        self.notes_label.setVisible(bool(notes))
        mono = monospace_font()
        blobs = transfer.snapshot.blobs
        taken_back = stopped(transfer) and not to_registry(transfer)
        left = left_behind(transfer)
        stayed = set(left.blobs) if left is not None else set()
        listed = {blob.digest for blob in blobs}
        for digest in [d for d in self._items if d not in listed]:  # a retry starts anew
            gone = self._items.pop(digest)
            self.blobs.takeTopLevelItem(self.blobs.indexOfTopLevelItem(gone))
        for blob in blobs:
            outcome = OUTCOME_TEXT.get(blob.outcome, blob.outcome)
            whole = ""  # the tooltip's outcome, where the cell's is a short form of it
            if blob.written is not None:
                outcome += f" as {short_digest(blob.written)}"
            if blob.outcome == "copying" and blob.size:
                outcome = f"copying ({blob.done * 100 // blob.size} %)"
            if blob.restarting or blob.outcome == "retrying":
                # as the row says it, until bytes of the new attempt come
                outcome = f"starting again (attempt {blob.attempt} of {blob.attempts})" \
                    if blob.attempt > 1 else "starting again"
            elif blob.retries:
                outcome += f", after {blob.retries} {'retry' if blob.retries == 1 else 'retries'}"
            if taken_back and (blob.written or blob.digest) in stayed \
                    and blob.outcome in WRITTEN_ANEW:
                outcome += ", left in the layout"
            elif taken_back and blob.outcome in (*WRITTEN_ANEW, "interrupted"):
                outcome += ", taken back"
            elif to_registry(transfer) and stopped(transfer) and blob.outcome == "interrupted":
                if blob.dropped:
                    outcome += ", dropped by the registry"
                elif blob.dropped is False and blob.done:
                    # short in the cell (the whole sentence was cut at the dialog's
                    # width), whole in its tooltip, as the heading says it for them all
                    whole = f"{outcome}{KEPT_UNTIL_PURGED[1]}"
                    outcome += KEPT_UNTIL_PURGED[0]
            # the type of the blob whose digest and size are shown (the source's), and
            # what it is written as where that differs: a plain layer's digest beside
            # "OCI layer (gzip)" read as a gzip layer's
            kind = blob_type(blob.media_type, blob.attachment)
            if blob.written_type:
                kind += f" → {blob_type(blob.written_type, blob.attachment)}"
            texts = [short_digest(blob.digest), human_size(blob.size), kind, outcome]
            item = self._items.get(blob.digest)
            if item is None:
                item = QTreeWidgetItem(texts)
                item.setData(0, DIGEST_ROLE, str(blob.digest))
                item.setFont(0, mono)
                item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight
                                      | Qt.AlignmentFlag.AlignVCenter)
                self._items[blob.digest] = item
                self.blobs.addTopLevelItem(item)
            else:
                for column, text in enumerate(texts):
                    if item.text(column) != text:
                        item.setText(column, text)
            item.setToolTip(0, str(blob.digest) if blob.written is None else
                            f"{blob.digest}\nwritten as {blob.written}")
            item.setToolTip(1, exact_size(blob.size))
            item.setToolTip(2, blob.media_type + (
                f"\nwritten as {blob.written_type}" if blob.written_type else "") + (
                f"\nPart of what is attached to the image: {blob.attachment}"
                if blob.attachment else ""))
            said = whole or outcome
            item.setToolTip(3, said if not blob.last_error
                            else f"{said}\nStarted again after: {blob.last_error}")
        self._show_list(bool(blobs))

    def _show_list(self, shown: bool) -> None:
        """Show the list where it has rows, the dialog grown to hold it; hide it where it
        has none (an empty table under "Nothing was copied…"), the dialog as tall as what
        is left."""
        if shown == self.blobs.isVisibleTo(self):
            return
        self.blobs.setVisible(shown)
        layout = self._layout
        layout.activate()
        if shown:
            self.resize(self.width(), max(self.height(),
                                          fitted_size(self, 0, ROOMY.height()).height()))
        else:
            self.resize(self.width(), max(layout.totalMinimumSize().height(),
                                          layout.totalHeightForWidth(self.width())))


__all__ = ["DIGEST_ROLE", "TransferDetailsDialog"]
