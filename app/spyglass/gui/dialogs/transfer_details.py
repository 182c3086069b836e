"""The Details of one transfer: every blob with what happened to it, and the error."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from spyglass.core import media
from spyglass.core.digest import Digest
from spyglass.gui.formatting import exact_size, human_size
from spyglass.gui.models.table import monospace_font
from spyglass.gui.models.transfers import state_text
from spyglass.gui.transfers import Transfer, TransferManager, TransferState

OUTCOME_TEXT = {
    "waiting": "not started",
    "copying": "copying",
    "retrying": "starting again",
    "copied": "copied",
    "skipped": "skipped (already there)",
    "mounted": "mounted from another repository",
    "recompressed": "recompressed",
    "interrupted": "interrupted",
}


def _no_blobs_yet(transfer: Transfer) -> str:
    """Why the blob list is empty, for the states where it is."""
    state = transfer.state
    if state is TransferState.WAITING:
        return "It waits for one of the copies running now to end."
    if state is TransferState.PLANNING:
        return "The blobs are listed once the copy is planned."
    if state in (TransferState.CANCELLED, TransferState.FAILED):
        return "It ended before any blob was copied; nothing was written."
    return ""


class TransferDetailsDialog(QDialog):
    """Lists the blobs of a transfer and their outcomes; follows the transfer while open.

    Rows are updated in place (a copy changes them a few times a second): the
    scroll position and the selection stay where the user put them.

    Attributes:
        blobs: the list, one row per blob (digest, size, type, outcome).
        error_label: the failure sentence (hidden unless the copy failed).
    """

    def __init__(self, manager: TransferManager, transfer: Transfer,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._manager = manager
        self.transfer = transfer
        self.setWindowTitle("Transfer Details")
        self.resize(760, 420)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet("color: palette(bright-text); background: #b3261e; "
                                       "padding: 6px; border-radius: 4px;")
        self.blobs = QTreeWidget()
        self.blobs.setRootIsDecorated(False)
        self.blobs.setAlternatingRowColors(True)
        self.blobs.setHeaderLabels(["Blob", "Size", "Type", "Outcome"])
        self.blobs.setUniformRowHeights(True)
        self._items: dict[Digest, QTreeWidgetItem] = {}
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.error_label)
        layout.addWidget(self.blobs, 1)
        layout.addWidget(buttons)
        manager.changed.connect(self._changed)
        self.refresh()
        self.blobs.setColumnWidth(0, 330)
        self.blobs.setColumnWidth(1, 90)
        self.blobs.setColumnWidth(2, 150)

    def _changed(self, row: int) -> None:
        transfers = self._manager.transfers
        if 0 <= row < len(transfers) and transfers[row] is self.transfer:
            self.refresh()

    def outcomes(self) -> dict[str, str]:
        """Each blob's digest and outcome text, as listed."""
        items = [self.blobs.topLevelItem(i) for i in range(self.blobs.topLevelItemCount())]
        return {item.text(0): item.text(3) for item in items if item is not None}

    def refresh(self) -> None:
        transfer = self.transfer
        request = transfer.request
        why_empty = "" if transfer.snapshot.blobs else _no_blobs_yet(transfer)
        self.heading.setText(
            f"<b>{html.escape(request.source)}</b><br>→ <b>{html.escape(request.destination)}"
            f"</b><br>State: {html.escape(state_text(transfer))}"
            + (f"<br><i>{html.escape(why_empty)}</i>" if why_empty else ""))
        self.error_label.setText(transfer.error)
        self.error_label.setVisible(bool(transfer.error))
        mono = monospace_font()
        blobs = transfer.snapshot.blobs
        listed = {blob.digest for blob in blobs}
        for digest in [d for d in self._items if d not in listed]:  # a retry starts anew
            gone = self._items.pop(digest)
            self.blobs.takeTopLevelItem(self.blobs.indexOfTopLevelItem(gone))
        for blob in blobs:
            outcome = OUTCOME_TEXT.get(blob.outcome, blob.outcome)
            if blob.outcome == "copying" and blob.size:
                outcome = f"copying ({blob.done * 100 // blob.size} %)"
            if blob.retries and blob.outcome == "retrying":
                outcome = f"starting again (retry {blob.retries})"
            elif blob.retries:
                outcome += f", after {blob.retries} {'retry' if blob.retries == 1 else 'retries'}"
            texts = [str(blob.digest), human_size(blob.size),
                     media.friendly(blob.media_type) if blob.media_type else "", outcome]
            item = self._items.get(blob.digest)
            if item is None:
                item = QTreeWidgetItem(texts)
                item.setFont(0, mono)
                item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight
                                      | Qt.AlignmentFlag.AlignVCenter)
                self._items[blob.digest] = item
                self.blobs.addTopLevelItem(item)
            else:
                for column, text in enumerate(texts):
                    if item.text(column) != text:
                        item.setText(column, text)
            item.setToolTip(0, str(blob.digest))  # the column cuts it short
            item.setToolTip(1, exact_size(blob.size))
            item.setToolTip(2, blob.media_type)
            item.setToolTip(3, f"Started again after: {blob.last_error}" if blob.last_error
                            else "")


__all__ = ["TransferDetailsDialog"]
