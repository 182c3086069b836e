"""The Transfers panel at the bottom of the window: one row per copy, with its buttons."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Final

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from spyglass.core.text import shell_quoted, visible
from spyglass.gui import clipboard
from spyglass.gui.copy_drops import COPY_TO_SHORTCUT
from spyglass.gui.dialogs.transfer_details import TransferDetailsDialog
from spyglass.gui.models.table import SORT_ROLE
from spyglass.gui.models.transfer_endings import ending_sentence
from spyglass.gui.models.transfers import (
    BYTES,
    ETA,
    PROGRESS,
    PROGRESS_ROLE,
    ROUTE_ROLE,
    SPEED,
    STATE,
    TITLES,
    TRANSFER,
    TransferModel,
    route_sides,
    source_label,
)
from spyglass.gui.shortcuts import RETRY_KEYS, StandardKey, standard_key
from spyglass.gui.signals import emit
from spyglass.gui.themed import mute
from spyglass.gui.transfers import Transfer, TransferManager, TransferState
from spyglass.gui.views.buttons import push_button
from spyglass.gui.views.context_menus import open_by_keyboard
from spyglass.gui.views.delegates import ElideRightDelegate, ProgressBarDelegate, RouteDelegate
from spyglass.gui.views.widgets import (
    CLOSE_GLYPH,
    Banner,
    ElidedLabel,
    make_table,
    scaled_font,
    select_row,
    tool_button,
)

PANEL_SIDES: Final = (10, 6)
"""The left and right margins of the caption's bar and of the rows under it: they start
where the caption does, and end where the bar's last button does."""


RESORT_MS: Final = 1000
"""How often, at most, rows sorted by a column that changes with each step of a copy's
progress (:data:`PACED_COLUMNS`) are sorted again: sorted at each step, 200 copies
running stalled the window (a sort and a new layout of the table for every step of
every copy)."""

PACED_COLUMNS: Final = frozenset({PROGRESS, SPEED, ETA})
"""The columns whose values change with each step of a copy's progress."""


class SortPacer(QObject):
    """Keeps a table's rows (``proxy``) sorted by the column its ``header`` shows sorted:
    at once for a column whose values change with a copy's state only (State, Transfer,
    Bytes), and at most every ``interval`` ms for one of ``columns``, which change with
    each step of a copy's progress (the proxy's dynamic sorting is off meanwhile)."""

    def __init__(self, proxy: QSortFilterProxyModel, header: QHeaderView,
                 columns: frozenset[int] = PACED_COLUMNS, interval: int = RESORT_MS) -> None:
        super().__init__(proxy)
        self._proxy = proxy
        self._columns = columns
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval)
        self._timer.timeout.connect(self._resort)
        # after the view's own handling of a header click, which sorts at once
        header.sortIndicatorChanged.connect(self._sorted_by)
        source = proxy.sourceModel()
        source.dataChanged.connect(self._changed)
        source.rowsInserted.connect(self._changed)

    @property
    def paced(self) -> bool:
        """Whether the rows are sorted by one of the paced columns now."""
        return not self._proxy.dynamicSortFilter()

    def _sorted_by(self, column: int, _order: Qt.SortOrder) -> None:
        paced = column in self._columns
        if self.paced != paced:
            self._proxy.setDynamicSortFilter(not paced)
        if not paced:
            self._timer.stop()

    def _changed(self, *_args: object) -> None:
        if self.paced and not self._timer.isActive():
            self._timer.start()

    def _resort(self) -> None:
        column = self._proxy.sortColumn()
        if self.paced and column >= 0:
            self._proxy.sort(column, self._proxy.sortOrder())


RETRY_FAILED_TIP: Final = ("Run every copy that failed again (not the cancelled ones: "
                           "choose their rows and Retry)")


def cancellable(transfer: Transfer) -> bool:
    """Whether Cancel acts on ``transfer``: running or waiting, not being cancelled."""
    return not transfer.state.finished and not transfer.cancel_requested


def stopped_copy(transfer: Transfer) -> bool:
    """Whether Retry acts on ``transfer``: it failed or was cancelled."""
    return transfer.state in (TransferState.FAILED, TransferState.CANCELLED)


def failure_text(transfer: Transfer) -> str:
    """What the panel says above the rows of a failed copy: its sentence, and what became
    of what it had written."""
    source, destination = route_sides(transfer.request)
    parts = [f"Copying {source} to {destination} failed. {transfer.error}"]
    if transfer.snapshot.total:
        parts.append(ending_sentence(transfer))
    return " ".join(parts)


def no_copies_yet() -> str:
    """What the empty panel says: how to start a copy."""
    key = QKeySequence(COPY_TO_SHORTCUT).toString(QKeySequence.SequenceFormat.NativeText)
    return ("No copies yet: drag an image onto a registry, layout or folder, or use "
            f"Copy To… ({key}).")


def summary_text(manager: TransferManager) -> str:
    """``2 running · 1 waiting · 6 done · 1 failed · 1 cancelled``: the panel's header;
    before the first copy, how to start one (not once copies were cleared off the list)."""
    if not manager.transfers:
        return "No copies in the list." if manager.started_any else no_copies_yet()
    counts = manager.counts()
    parts = [(manager.running, "running"), (manager.waiting, "waiting"),
             (counts[TransferState.DONE], "done"), (counts[TransferState.FAILED], "failed"),
             (counts[TransferState.CANCELLED], "cancelled")]
    return " · ".join(f"{count} {what}" for count, what in parts if count)


class TransfersPanel(QWidget):
    """The copies of this session: Cancel, Retry and Details act on the selected row, from
    the buttons, the keys and the table's context menu.

    Attributes:
        manager: the :class:`TransferManager`.
        model: its :class:`TransferModel`.
        sorted: the model as the table shows it, sorted by a column's header (State puts
            the failed copies first); in the order they were asked for until then.
        sort_pacer: sorts the rows again as they change: at once, or at most once a
            second by Progress, Speed or ETA (:class:`SortPacer`).
        table: the view.
        details: the Details dialogs open.
        cancel_action, retry_action, details_action, cancel_all_action: the table's
            actions on the selected row (Delete, Ctrl+R, Enter, Shift+Delete), enabled
            as their buttons are; the context menu shows them.
        retry_failed_action: Retry Failed (:meth:`retry_failed`), as its button is
            enabled; the window's View menu shows it.
        find_destination: how the window shows a copy's destination in its sidebar: a
            call that selects it there, or None where the window lists it nowhere (the
            window's :class:`~spyglass.gui.copy_side.CopyController` sets it).

    Signals:
        hideRequested(): the user closed the panel.
        roomWanted(pixels): the failure sentence above the rows came, grew (more
            pixels) or went (fewer): the rows would like the panel that much taller
            or shorter.
        statusMessage(str): a sentence for the status bar (what the context menu copied).
    """

    hideRequested = Signal()
    roomWanted = Signal(int)
    statusMessage = Signal(str)

    def __init__(self, manager: TransferManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.model = TransferModel(manager, self)
        self.details: list[TransferDetailsDialog] = []
        self.find_destination: Callable[[Transfer], Callable[[], object] | None] = \
            lambda _transfer: None
        self._watched: QWidget | None = None  # the window, once shown in it (eventFilter)
        self.table: QTableView = make_table("Transfers")
        self.sorted = QSortFilterProxyModel(self)
        self.sorted.setSourceModel(self.model)
        self.sorted.setSortRole(SORT_ROLE)
        self.table.setModel(self.sorted)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.horizontalHeader().setSortIndicatorClearable(True)  # (a third click)
        self.table.setSortingEnabled(True)
        self.sort_pacer = SortPacer(self.sorted, self.table.horizontalHeader())
        # several rows at once (Shift or Ctrl with a click or the arrows): Cancel, Retry and
        # Remove from List act on each of them
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setItemDelegateForColumn(PROGRESS, ProgressBarDelegate(PROGRESS_ROLE,
                                                                          self.table))
        # (a number cut at its end keeps its start: "52.3 Mi…128 MiB" was cut in its unit)
        for column in (STATE, BYTES, SPEED, ETA):
            self.table.setItemDelegateForColumn(column, ElideRightDelegate(self.table))
        self.table.setItemDelegateForColumn(TRANSFER, RouteDelegate(ROUTE_ROLE, self.table))
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        # every column but the route has a width made for its usual texts, the same in
        # every state (a longer one is cut at its end, whole in the tooltip); the route
        # takes what they leave, down to its least, then the table scrolls sideways
        for column in range(len(TITLES)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        self._fitting = False
        self._apply_widths()
        header.sectionResized.connect(self._section_resized)
        self.table.installEventFilter(self)  # its font changed: the widths follow
        self.table.viewport().installEventFilter(self)  # resized: the route follows
        self.table.doubleClicked.connect(lambda index: self.show_details(self._at(index)))
        # the current row moved within the selection (Ctrl+Up, a right click on a row
        # chosen already) changes no selection: Details, Copy Error and the failure line
        # follow it all the same
        selection = self.table.selectionModel()
        selection.selectionChanged.connect(lambda *_: self._update_buttons())
        selection.currentChanged.connect(lambda *_: self._update_buttons())
        self.model.dataChanged.connect(self._rows_changed)
        self.model.rowsInserted.connect(self._inserted)
        # rows come and go (Clear Finished): the summary and the buttons follow
        self.model.rowsInserted.connect(lambda *_: self._update_buttons())
        self.model.rowsRemoved.connect(lambda *_: self._update_buttons())

        title = self.caption = QLabel("TRANSFERS")
        title.setFont(scaled_font(title.font(), 0.85, bold=True))
        mute(title)
        # (cut where the bar is short of room, whole in its tooltip: how to start a copy,
        # at a large font, set the window's least width past a 1024 px screen)
        self.summary = ElidedLabel()
        mute(self.summary)
        self.cancel_button = push_button("Cancel")
        self.cancel_button.clicked.connect(self._cancel_selected)
        self.cancel_all_button = push_button("Cancel All")
        self.cancel_all_button.clicked.connect(self._cancel_all)
        self.retry_failed_button = push_button("Retry Failed")
        self.retry_failed_button.clicked.connect(self.retry_failed)
        self.retry_button = push_button("Retry")
        self.retry_button.clicked.connect(self._retry_selected)
        self.details_button = push_button("Details…")
        self.details_button.clicked.connect(lambda: self.show_details(self.current()))
        self.clear_button = push_button("Clear Finished")
        self.clear_button.clicked.connect(self.manager.remove_finished)
        close = tool_button("Hide the Transfers panel", text=CLOSE_GLYPH)
        close.clicked.connect(lambda: emit(self.hideRequested))
        self.close_button = close

        bar = QHBoxLayout()
        bar.setContentsMargins(PANEL_SIDES[0], 6, PANEL_SIDES[1], 2)
        bar.setSpacing(6)
        bar.addWidget(title)
        bar.addWidget(self.summary, 1)
        for button in (self.cancel_button, self.cancel_all_button, self.retry_button,
                       self.retry_failed_button, self.details_button, self.clear_button,
                       close):
            bar.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        # a failed copy's sentence, whole: the State cell has room for its start only
        self.failure = Banner()
        self.failure.dismissed.connect(self._failure_dismissed)
        self._failure_room = 0  # the height the sentence takes, as last told by roomWanted
        self._dismissed: set[tuple[int, int]] = set()
        """(transfer, attempt) whose failure line was dismissed."""
        self._failure_of: tuple[int, int] | None = None
        """(transfer, attempt) whose failure the line above the rows says (its ✕
        dismisses that one, whichever row is current when it is pressed)."""
        layout.addLayout(bar)
        layout.addWidget(self.failure)
        # the rows under the caption, as wide as the bar's buttons (not flush with the
        # window's edges while the caption is indented)
        rows = QVBoxLayout()
        rows.setContentsMargins(PANEL_SIDES[0], 0, PANEL_SIDES[1], 0)
        rows.addWidget(self.table)
        layout.addLayout(rows, 1)
        self._bar = bar

        # the table's keys, which its context menu shows beside the same actions
        self.cancel_action = self._table_action(
            "&Cancel", [standard_key(StandardKey.Delete)], self._cancel_selected)
        self.retry_action = self._table_action(
            "&Retry", [QKeySequence(RETRY_KEYS)], self._retry_selected)
        # what a double click opens; Enter first, the name the menu shows (and the README
        # gives), for the key either way
        self.details_action = self._table_action(
            "De&tails…", [QKeySequence(Qt.Key.Key_Enter), QKeySequence(Qt.Key.Key_Return)],
            lambda: self.show_details(self.current()))
        self.cancel_all_action = self._table_action(
            "Cancel All", [QKeySequence("Shift+Delete")], self._cancel_all)
        # (the window's View menu shows it too: not the table's alone)
        self.retry_failed_action = QAction("Retry &Failed Copies", self)
        self.retry_failed_action.setStatusTip(RETRY_FAILED_TIP)
        self.retry_failed_action.triggered.connect(lambda _checked=False: self.retry_failed())
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._menu_requested)
        open_by_keyboard(self.table)
        self.retry_button.setToolTip("Run the selected copies that failed or were cancelled "
                                     "again (Ctrl+R)")
        self.cancel_button.setToolTip("Cancel the selected copies (Delete)")
        self.cancel_all_button.setToolTip("Cancel every copy not finished, the waiting ones "
                                          "first (Shift+Delete)")
        self.retry_failed_button.setToolTip(RETRY_FAILED_TIP)
        self.details_button.setToolTip("Every blob of the selected copy and what became of it "
                                       "(Enter)")
        self._update_buttons()

    def _table_action(self, text: str, keys: list[QKeySequence],
                      slot: Callable[[], object]) -> QAction:
        """An action on the selected row, its ``keys`` live while the table has the focus."""
        action = QAction(text, self.table)
        action.setShortcuts(keys)
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        self.table.addAction(action)
        return action

    COLUMN_SAMPLES: ClassVar[dict[int, tuple[str, ...]]] = {
        STATE: ("Done · 2 notes", "Cancelling…", "Finishing…",
                "Retrying · attempt 3 of 4 · 16 s"),
        PROGRESS: ("nothing written", "100 %"),
        BYTES: ("88.8 MiB / 88.8 MiB", "888 MiB / 888 MiB", "88.8 MiB of 88.8 MiB",
                "88.8 MiB already there", "88.8 MiB, 88 % reused", "888.8 MiB, 88 % reused"),
        SPEED: ("888.8 MiB/s", "nothing to copy"),
        ETA: ("59 min 59 s",),
    }
    """The usual texts of each column but the route: what its width is made for, in every
    state alike (a longer state, a failure's cause, is cut at its end; the sentence above
    the rows, the row's tooltip and the Details have it whole)."""

    def column_widths(self) -> dict[int, int]:
        """Each column's width (but the route's) for the table's font: its usual texts
        (:data:`COLUMN_SAMPLES`) and its title, with the cell's and header's margins."""
        metrics = self.table.fontMetrics()
        header = self.table.horizontalHeader()
        title_metrics = header.fontMetrics()
        widths = {}
        for column, samples in self.COLUMN_SAMPLES.items():
            text = max(metrics.horizontalAdvance(sample) for sample in samples)
            title = title_metrics.horizontalAdvance(TITLES[column])
            widths[column] = max(text, title) + 20
        return widths

    LEAST_ROWS: ClassVar[int] = 2
    """The rows the panel keeps in sight below its buttons and the failure sentence."""

    def least_height(self) -> int:
        """The panel's least height at its width now: its buttons, the failure sentence
        whole (at a large font it took three lines, cut mid-line by the splitter), the
        table's header, :data:`LEAST_ROWS` rows and the scroll bar under them, where the
        columns are wider than the table."""
        table = self.table
        height = self._bar.sizeHint().height() + 2 * table.frameWidth() \
            + table.horizontalHeader().sizeHint().height() \
            + self.LEAST_ROWS * table.verticalHeader().defaultSectionSize()
        if table.horizontalHeader().length() > table.viewport().width():
            height += table.horizontalScrollBar().sizeHint().height()  # (a large font)
        if not self.failure.isHidden():
            sentence = self.failure.heightForWidth(max(self.width(), 1))
            height += sentence if sentence > 0 else self.failure.sizeHint().height()
        return height

    def _fit_height(self) -> None:
        """Keep :meth:`least_height`: the panes above give way, and the window grows if
        they cannot, but never beyond its screen (there the rows give way)."""
        least = self.least_height()
        window = self.window()
        screen = self.screen()
        if window is not self and screen is not None:
            own = max(self.minimumHeight(), self.minimumSizeHint().height())
            rest = window.minimumSizeHint().height() - own  # (the window's, but this panel)
            frame = window.frameGeometry().height() - window.height()
            room = screen.availableGeometry().height() - frame - rest
            least = max(self.minimumSizeHint().height(), min(least, room))
        if self.minimumHeight() != least:
            self.setMinimumHeight(least)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Override QWidget::resizeEvent: the failure sentence takes more lines, or fewer."""
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit_height()

    def showEvent(self, event: QShowEvent) -> None:
        """Override QWidget::showEvent: the window's least height is watched (what the
        panes above need changes with what they show)."""
        super().showEvent(event)
        window = self.window()
        if window is not self and window is not self._watched:
            window.installEventFilter(self)
            self._watched = window
        self._fit_height()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter: the table's viewport resized, or its font
        changed; the window's layout changed."""
        if watched is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_route()
        elif watched is self.table and event.type() == QEvent.Type.FontChange:
            self._apply_widths()
        elif watched is self._watched and event.type() == QEvent.Type.LayoutRequest:
            self._fit_height()
        return super().eventFilter(watched, event)

    def _apply_widths(self) -> None:
        """Each column its width for the table's font (:meth:`column_widths`), and the
        route the rest (:meth:`_fit_route`)."""
        header = self.table.horizontalHeader()
        self._fitting = True
        try:
            for column, width in self.column_widths().items():
                header.resizeSection(column, width)
        finally:
            self._fitting = False
        self._fit_route()

    def route_least(self) -> int:
        """The least width of the Transfer column: a short route whole
        (``spyglass-demo:1.0 → mirror``), about 32 characters of the table's font."""
        return 32 * self.table.fontMetrics().averageCharWidth()

    def _fit_route(self) -> None:
        """The Transfer column takes what the others leave of the table's width, at least
        :meth:`route_least` (past that, the table scrolls sideways: at a large font every
        column was cut, numbers in the middle of their unit)."""
        header = self.table.horizontalHeader()
        others = sum(header.sectionSize(c) for c in range(len(TITLES)) if c != TRANSFER)
        wanted = max(self.route_least(), self.table.viewport().width() - others)
        if header.sectionSize(TRANSFER) != wanted:
            self._fitting = True
            try:
                header.resizeSection(TRANSFER, wanted)
            finally:
                self._fitting = False

    def _section_resized(self, section: int, _old: int, _new: int) -> None:
        """A column widened or narrowed by hand: the route takes up the difference."""
        if section != TRANSFER and not self._fitting:
            self._fit_route()

    def _at(self, index: QModelIndex) -> Transfer | None:
        """The transfer of a row of the table (:attr:`sorted`)."""
        if index.model() is self.sorted:
            index = self.sorted.mapToSource(index)
        return self.model.transfer(self.model.index(index.row(), 0)) if index.isValid() \
            else None

    def _shown_at(self, row: int) -> QModelIndex:
        """The table's index of the model's ``row`` (where the sort puts it)."""
        return self.sorted.mapFromSource(self.model.index(row, 0))

    def selected(self) -> list[Transfer]:
        """The copies of the selected rows, top to bottom as the table shows them."""
        rows = sorted(self.table.selectionModel().selectedRows(), key=QModelIndex.row)
        return [transfer for transfer in map(self._at, rows) if transfer is not None]

    def current(self) -> Transfer | None:
        """The copy whose Details open and whose failure the line above the rows says:
        the selected row the keyboard is on (the one last clicked), else the first one
        selected; None with no row selected."""
        selection = self.table.selectionModel()
        index = selection.currentIndex()
        if index.isValid() and selection.isRowSelected(index.row(), QModelIndex()):
            return self._at(index)
        rows = selection.selectedRows()
        return self._at(min(rows, key=QModelIndex.row)) if rows else None

    def select(self, transfer: Transfer) -> None:
        if transfer in self.manager.transfers:
            select_row(self.table, self._shown_at(self.manager.row_of(transfer)).row())

    def follow(self, transfer: Transfer) -> None:
        """A copy asked for: its row is selected and shown, unless several rows are
        selected (a person choosing what to cancel or retry keeps their choice)."""
        if transfer not in self.manager.transfers \
                or len(self.table.selectionModel().selectedRows()) > 1:
            return
        shown = self._shown_at(self.manager.row_of(transfer))
        select_row(self.table, shown.row())
        self.table.scrollTo(shown)

    def _inserted(self, _parent: QModelIndex, _first: int, last: int) -> None:
        transfer = self.model.transfer(self.model.index(last, 0))
        if transfer is not None:
            self.follow(transfer)

    def _cancel_selected(self) -> None:
        for transfer in self.selected():
            if cancellable(transfer):
                self.manager.cancel(transfer)
        self._update_buttons()

    def _retry_selected(self) -> None:
        """Run the selected copies that failed or were cancelled again, in the order the
        table shows them, and say so (as a copy started and cancelled are: the status bar
        kept "…was cancelled", and a reader heard nothing)."""
        stopped = [transfer for transfer in self.selected() if stopped_copy(transfer)]
        for transfer in stopped:
            self.manager.retry(transfer)
        if len(stopped) == 1:
            request = stopped[0].request
            self._say(f"Copying {request.label or request.source} again…")
        elif stopped:
            self._say(f"Copying {len(stopped)} copies again…")
        self._update_buttons()

    def _remove_selected(self) -> None:
        for transfer in self.selected():
            if transfer.state.finished:
                self.manager.remove(transfer)

    def _cancel_all(self) -> None:
        self.manager.cancel_all()
        self._update_buttons()

    def retry_failed(self) -> int:
        """Run every copy that failed again, in the order they were asked for (each waits
        for its turn like a new one); how many, said in the status bar. Not the cancelled
        ones: a person stopped those (choosing their rows and Retry runs them again)."""
        failed = [t for t in self.manager.transfers if t.state is TransferState.FAILED]
        for transfer in failed:
            self.manager.retry(transfer)
        if failed:
            copies = "1 copy" if len(failed) == 1 else f"{len(failed)} copies"
            self._say(f"Copying {copies} again…")
        self._update_buttons()
        return len(failed)

    def _rows_changed(self, first: QModelIndex, last: QModelIndex, *_roles: object) -> None:
        """Rows' state or progress changed (dataChanged): the summary and the buttons for
        every copy follow; those for the selected row, and its failure sentence, only when
        it is among them (at 200 rows, doing all of it for every row's progress stalled
        the window)."""
        selection = self.table.selectionModel()
        for row in range(first.row(), last.row() + 1):
            if selection.isRowSelected(self._shown_at(row).row(), QModelIndex()):
                self._update_buttons()
                return
        self._update_totals()

    def _update_totals(self) -> None:
        """The summary, and the buttons acting on every copy (and their actions)."""
        counts = self.manager.counts()
        finished = counts[TransferState.DONE] + counts[TransferState.FAILED] \
            + counts[TransferState.CANCELLED]
        # (with one copy running too: it is the button a person reaches for)
        cancellable = len(self.manager.transfers) - finished - self.manager.cancelling
        failed = counts[TransferState.FAILED]
        for widget, on in ((self.cancel_all_button, cancellable > 0),
                           (self.cancel_all_action, cancellable > 0),
                           (self.clear_button, finished > 0),
                           (self.retry_failed_action, failed > 0)):
            if widget.isEnabled() != on:
                widget.setEnabled(on)
        # shown only with something to retry: the bar keeps its width at a large font
        # (its least width is the window's), and the button is seen when it matters
        if self.retry_failed_button.isHidden() == (failed > 0):
            self.retry_failed_button.setVisible(failed > 0)
        text = summary_text(self.manager)
        if self.summary.text() != text:
            self.summary.setText(text)

    def _update_buttons(self) -> None:
        """The buttons, and the table's actions with them (the context menu shows those)."""
        transfer = self.current()
        selected = self.selected()
        enabled = {
            (self.cancel_button, self.cancel_action): any(map(cancellable, selected)),
            # as in download managers, Retry is for what did not succeed: a copy done is
            # done (drag the image again to copy it anew)
            (self.retry_button, self.retry_action): any(map(stopped_copy, selected)),
            (self.details_button, self.details_action): transfer is not None,
        }
        for (button, action), on in enabled.items():
            button.setEnabled(on)
            action.setEnabled(on)
        self._update_totals()
        self._show_failure(transfer)

    def _show_failure(self, transfer: Transfer | None) -> None:
        """The selected copy's failure, whole, above the rows (until dismissed)."""
        failed = transfer is not None and transfer.state is TransferState.FAILED \
            and bool(transfer.error)
        if not failed or transfer is None or (transfer.id, transfer.attempts) in self._dismissed:
            self._failure_of = None
            if not self.failure.isHidden():  # (hidden already: no height to fit again)
                self.failure.hide()
                self._tell_failure_room()
            return
        self._failure_of = (transfer.id, transfer.attempts)
        text = failure_text(transfer)
        if self.failure.text != text:
            self.failure.show_text(text)
            self._tell_failure_room()
            # the sentence takes room from the rows: the one it is about stays in sight
            layout = self.layout()
            if layout is not None:
                layout.activate()
            row = self.manager.row_of(transfer)
            if row >= 0:
                self.table.scrollTo(self._shown_at(row))

    def _failure_dismissed(self) -> None:
        """The line's ✕: the failure it said stays unsaid (not the current row's, should
        that have changed without the line following)."""
        if self._failure_of is not None:
            self._dismissed.add(self._failure_of)
            self._failure_of = None
        self._tell_failure_room()

    def _tell_failure_room(self) -> None:
        """roomWanted with the change in the height the failure sentence takes."""
        self._fit_height()
        room = 0
        if not self.failure.isHidden():
            room = self.failure.heightForWidth(max(self.width(), 1))
            if room < 0:
                room = self.failure.sizeHint().height()
        if room != self._failure_room:
            change, self._failure_room = room - self._failure_room, room
            emit(self.roomWanted, change)

    # -- the context menu

    def _menu_requested(self, point: QPoint) -> None:
        """A right click at ``point`` (of the viewport; its row is selected first), or the
        Menu key or Shift+F10 at the selected row: the menu, there."""
        index = self.table.indexAt(point)
        selection = self.table.selectionModel()
        if index.isValid() and not selection.isRowSelected(index.row(), QModelIndex()):
            select_row(self.table, index.row())  # (on a selected row, the selection stays)
        elif index.isValid():  # that row is the one the menu is about (Copy Error, Show…)
            selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        menu = self.context_menu()
        if menu is not None:
            menu.exec(self.table.viewport().mapToGlobal(point))
            menu.deleteLater()

    def context_menu(self) -> QMenu | None:
        """The table's context menu, for the rows selected: Cancel, Retry and Details (the
        table's actions, enabled as the buttons are and shown with their keys); the
        copies' source and destination names and a failed copy's error, to copy; Show
        Destination, where the window lists it (:attr:`find_destination`); the selected
        rows (those finished) or every finished one off the list. None while the list is
        empty. Copy Error and Show Destination are about the row the menu was opened on
        (:meth:`current`)."""
        if not self.manager.transfers:
            return None
        transfer = self.current()
        selected = self.selected()
        several = len(selected) > 1
        menu = QMenu(self.table)

        def add(text: str, act: Callable[[Transfer], object],
                enabled: Callable[[Transfer], object] = lambda _transfer: True) -> None:
            action = menu.addAction(text)
            action.setEnabled(transfer is not None and bool(enabled(transfer)))
            if transfer is not None:
                chosen = transfer  # (the row the menu was opened for)
                action.triggered.connect(lambda _checked=False: act(chosen))

        for action in (self.cancel_action, self.retry_action, self.details_action):
            menu.addAction(action)
        menu.addSeparator()
        add("Copy &Source References" if several else "Copy &Source Reference",
            lambda _t: self._copy_references(selected, "source"))
        add("Copy &Destination References" if several else "Copy &Destination Reference",
            lambda _t: self._copy_references(selected, "destination"))
        add("Copy &Error", self._copy_error,
            lambda t: t.state is TransferState.FAILED and t.error)
        menu.addSeparator()
        add("S&how Destination", self.show_destination, self.find_destination)
        menu.addSeparator()
        add("Re&move from List", lambda _t: self._remove_selected(),
            lambda _t: any(t.state.finished for t in selected))
        clear = menu.addAction("C&lear Finished")
        clear.setEnabled(self.clear_button.isEnabled())
        clear.triggered.connect(lambda _checked=False: self.manager.remove_finished())
        return menu

    def _say(self, sentence: str) -> None:
        emit(self.statusMessage, sentence)

    def _copy_references(self, transfers: list[Transfer], side: str) -> None:
        """Put the ``side`` ("source" or "destination") reference of each of
        ``transfers`` on the clipboard as a shell takes it, one a line."""
        names = [getattr(transfer.request, side) for transfer in transfers]
        if len(names) == 1:
            self._say(clipboard.copy_as_given(names[0]))
        elif names:
            clipboard.copy_text("\n".join(map(shell_quoted, names)))
            self._say(f"Copied the {side} references of {len(names)} copies, one a line.")

    def _copy_error(self, transfer: Transfer) -> None:
        """Put a failed copy's sentence on the clipboard (the engine's, as the State cell
        and the line above the rows give it)."""
        clipboard.copy_text(transfer.error)
        self._say(f"Copied why copying {source_label(transfer.request)} failed.")

    def show_destination(self, transfer: Transfer) -> bool:
        """Select where ``transfer`` copies to in the window's sidebar (through
        :attr:`find_destination`); False, said in the status bar, where it is not listed
        (a place closed, a registry removed since)."""
        reveal = self.find_destination(transfer)
        if reveal is None:
            self._say(f"{visible(transfer.request.destination)} is not listed in the "
                      "sidebar: open the place or add the registry it is in to show it.")
            return False
        reveal()
        return True

    def show_details(self, transfer: Transfer | None) -> TransferDetailsDialog | None:
        if transfer is None:
            return None
        for shown in self.details:  # one window per transfer: asked again, it comes forward
            if shown.transfer is transfer and shown.isVisible():  # (a closed one goes)
                if shown.isMinimized():
                    shown.showNormal()
                shown.raise_()
                shown.activateWindow()
                return shown
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


__all__ = ["TransfersPanel", "failure_text", "summary_text"]
