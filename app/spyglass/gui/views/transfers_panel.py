"""The Transfers panel at the bottom of the window: one row per copy, with its buttons."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from spyglass.gui.dialogs.transfer_details import TransferDetailsDialog
from spyglass.gui.models.transfers import (
    BYTES,
    ETA,
    PROGRESS,
    PROGRESS_ROLE,
    ROUTE_ROLE,
    SPEED,
    STATE,
    TRANSFER,
    TransferModel,
)
from spyglass.gui.signals import emit
from spyglass.gui.transfers import Transfer, TransferManager
from spyglass.gui.views.delegates import ElideRightDelegate, ProgressBarDelegate, RouteDelegate
from spyglass.gui.views.widgets import make_table, mute, scaled_font


class TransfersPanel(QWidget):
    """The copies of this session: Cancel, Retry and Details act on the selected row.

    Attributes:
        manager: the :class:`TransferManager`.
        model: its :class:`TransferModel`.
        table: the view.
        details: the Details dialogs open.

    Signals:
        hideRequested(): the user closed the panel.
    """

    hideRequested = Signal()

    def __init__(self, manager: TransferManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.model = TransferModel(manager, self)
        self.details: list[TransferDetailsDialog] = []
        self.table: QTableView = make_table()
        self.table.setModel(self.model)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setItemDelegateForColumn(PROGRESS, ProgressBarDelegate(PROGRESS_ROLE,
                                                                          self.table))
        self.table.setItemDelegateForColumn(STATE, ElideRightDelegate(self.table))
        self.table.setItemDelegateForColumn(TRANSFER, RouteDelegate(ROUTE_ROLE, self.table))
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(TRANSFER, QHeaderView.ResizeMode.Stretch)
        widths = {STATE: 260, PROGRESS: 170, BYTES: 190, SPEED: 120, ETA: 80}
        for column, width in widths.items():
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        self.table.doubleClicked.connect(lambda index: self.show_details(self._at(index)))
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.model.dataChanged.connect(lambda *_: self._update_buttons())
        self.model.rowsInserted.connect(self._inserted)
        # rows come and go (Clear Finished): the summary and the buttons follow
        self.model.rowsInserted.connect(lambda *_: self._update_buttons())
        self.model.rowsRemoved.connect(lambda *_: self._update_buttons())

        title = QLabel("TRANSFERS")
        title.setFont(scaled_font(title.font(), 0.85, bold=True))
        mute(title)
        self.summary = QLabel()
        mute(self.summary)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(lambda: self._act(self.manager.cancel))
        self.retry_button = QPushButton("Retry")
        self.retry_button.clicked.connect(lambda: self._act(self.manager.retry))
        self.details_button = QPushButton("Details…")
        self.details_button.clicked.connect(lambda: self.show_details(self.current()))
        self.clear_button = QPushButton("Clear Finished")
        self.clear_button.clicked.connect(self.manager.remove_finished)
        close = QToolButton()
        close.setText("\u00d7")
        close.setAutoRaise(True)
        close.setToolTip("Hide the Transfers panel")
        close.clicked.connect(lambda: emit(self.hideRequested))
        self.close_button = close

        bar = QHBoxLayout()
        bar.setContentsMargins(10, 6, 6, 2)
        bar.setSpacing(6)
        bar.addWidget(title)
        bar.addWidget(self.summary, 1)
        for button in (self.cancel_button, self.retry_button, self.details_button,
                       self.clear_button, close):
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)

        cancel = QAction("Cancel Transfer", self.table)
        cancel.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        cancel.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        cancel.triggered.connect(lambda: self._act(self.manager.cancel))
        self.table.addAction(cancel)
        self._update_buttons()

    def _at(self, index: QModelIndex) -> Transfer | None:
        return self.model.transfer(self.model.index(index.row(), 0)) if index.isValid() \
            else None

    def current(self) -> Transfer | None:
        rows = self.table.selectionModel().selectedRows()
        return self._at(rows[0]) if rows else None

    def select(self, transfer: Transfer) -> None:
        if transfer in self.manager.transfers:
            self.table.selectRow(self.manager.row_of(transfer))

    def _inserted(self, _parent: QModelIndex, _first: int, last: int) -> None:
        self.table.selectRow(last)
        self.table.scrollTo(self.model.index(last, 0))

    def _act(self, action: object) -> None:
        transfer = self.current()
        if transfer is not None and callable(action):
            action(transfer)
        self._update_buttons()

    def _update_buttons(self) -> None:
        transfer = self.current()
        running = transfer is not None and not transfer.state.finished
        self.cancel_button.setEnabled(running and not (transfer and transfer.cancel_requested))
        self.retry_button.setEnabled(transfer is not None and transfer.state.finished)
        self.details_button.setEnabled(transfer is not None)
        transfers = self.manager.transfers
        self.clear_button.setEnabled(any(t.state.finished for t in transfers))
        active, waiting = self.manager.running, self.manager.waiting
        done = sum(t.state.finished for t in transfers)
        parts = []
        if active:
            parts.append(f"{active} running")
        if waiting:
            parts.append(f"{waiting} waiting")
        if done:
            parts.append(f"{done} finished")
        self.summary.setText(" · ".join(parts))

    def show_details(self, transfer: Transfer | None) -> TransferDetailsDialog | None:
        if transfer is None:
            return None
        dialog = TransferDetailsDialog(self.manager, transfer, self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: self._gone(dialog))
        self.details.append(dialog)
        dialog.show()
        return dialog

    def _gone(self, dialog: TransferDetailsDialog) -> None:
        if dialog in self.details:
            self.details.remove(dialog)

    def close_dialogs(self) -> None:
        for dialog in list(self.details):
            dialog.close()


__all__ = ["TransfersPanel"]
