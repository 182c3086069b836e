"""Small widgets the panes share: tables set up alike, a spinner, message panels, banners."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

import shiboken6
from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QContextMenuEvent,
    QDropEvent,
    QFocusEvent,
    QFont,
    QIcon,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from spyglass.gui import clipboard, icons
from spyglass.gui.announce import announce
from spyglass.gui.colors import is_dark
from spyglass.gui.copy_drops import MIME_TYPE
from spyglass.gui.shortcuts import CONTEXT_MENU_KEYS
from spyglass.gui.signals import emit
from spyglass.gui.themed import fill_background, follow_icon, mute
from spyglass.gui.views.buttons import press_on_enter, push_button
from spyglass.gui.views.delegates import DataDelegate

CLOSE_GLYPH: Final = "\u2715"
"""The one mark of a button that closes or dismisses a pane or a note."""


def scaled_font(font: QFont, factor: float, *, bold: bool = False) -> QFont:
    """``font`` made ``factor`` times larger, whether it is sized in points or pixels."""
    scaled = QFont(font)
    if scaled.pointSizeF() > 0:
        scaled.setPointSizeF(scaled.pointSizeF() * factor)
    elif scaled.pixelSize() > 0:
        scaled.setPixelSize(round(scaled.pixelSize() * factor))
    scaled.setBold(bold)
    return scaled


def select_row(table: QTableView, row: int) -> None:
    """Select ``row`` of ``table`` (under its root index: the Tags table shows one
    repository's rows of the registries' tree) whole and make it the current one, as
    QTableView.selectRow does in a left-to-right layout. Right to left (``-reverse``),
    selectRow selects nothing: Qt looks for the column one pixel past the last one."""
    model = table.model()
    selection = table.selectionModel()
    root = table.rootIndex()
    if model is None or selection is None or not 0 <= row < model.rowCount(root):
        return
    header = table.horizontalHeader()
    column = next((header.logicalIndex(visual) for visual in range(header.count())
                   if not header.isSectionHidden(header.logicalIndex(visual))), 0)
    index = model.index(row, column, root)
    selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
    selection.select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                     | QItemSelectionModel.SelectionFlag.Rows)


class _SelectOnFocus(QObject):
    """Selects the current row of a table the keyboard moved into (Tab), when nothing is
    selected: Qt gives it a focus frame only, and actions that work on the selection
    (Copy Reference, Delete, Details) stayed off although a row looked chosen."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter."""
        if event.type() == QEvent.Type.FocusIn and isinstance(watched, QTableView):
            reason = event.reason() if isinstance(event, QFocusEvent) else None
            selection = watched.selectionModel()
            if reason in (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason) \
                    and selection is not None and not selection.hasSelection():
                model = watched.model()
                current = watched.currentIndex()
                if not current.isValid() and model is not None and model.rowCount() > 0:
                    current = model.index(0, 0)
                if current.isValid():
                    select_row(watched, current.row())
        return False


class ChosenRow(QObject):
    """Calls ``slot(current, previous)`` when a row of ``view`` is chosen — clicked, moved
    to with the keys, selected — not when the view is only given the focus.

    Tab into a tree without a current row makes Qt set its first row current, and
    unselected; showing that row replaced what the window showed (a registry's image,
    say) although nothing was chosen. The row is taken once it is selected (Space,
    the arrows, a click). A current row that becomes invalid (the selection cleared)
    is passed on as it is. ``previous`` is the row current before when the change came
    as a current-row change, else an invalid index (a selection made the row chosen).
    """

    def __init__(self, view: QAbstractItemView,
                 slot: Callable[[QModelIndex, QModelIndex], None]) -> None:
        super().__init__(view)
        self._view = view
        self._slot = slot
        self._taken = QPersistentModelIndex()
        self._quiet = False
        selection = view.selectionModel()
        selection.currentChanged.connect(self._current_changed)
        selection.selectionChanged.connect(self._selection_changed)

    def chosen(self) -> QModelIndex:
        """The row chosen last, while it is the view's current one; else an invalid index
        (a row only made current by the focus is not chosen)."""
        current = self._view.currentIndex()
        return current if current.isValid() and current == self._taken else QModelIndex()

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """Rows chosen meanwhile are taken without calling the slot: a listing that
        takes its rows away and puts them back moves the current row to their parent,
        then back (the caller shows the row chosen at the end, once)."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

    def _chosen(self, index: QModelIndex) -> bool:
        return not index.isValid() or self._view.selectionModel().isSelected(index)

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if self._chosen(current) and not (current.isValid() and current == self._taken):
            self._take(current, previous)

    def _selection_changed(self, *_args: object) -> None:
        current = self._view.currentIndex()
        if current.isValid() and self._chosen(current) and current != self._taken:
            self._take(current, QModelIndex())

    def _take(self, current: QModelIndex, previous: QModelIndex) -> None:
        self._taken = QPersistentModelIndex(current)
        if not self._quiet:
            self._slot(current, previous)


class KeepCurrentInView(QObject):
    """Keeps the current row of ``view`` where it is on the screen while rows come in
    above it (a later page of tags, sorted in among those listed): it stayed selected
    but scrolled out of sight. Only a row in sight before the change is followed; one
    scrolled away is left where it is."""

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)
        self._view = view
        self._held = QPersistentModelIndex()
        self._top = 0
        self._pending = False
        self.restoring = False
        """True while it scrolls the view back (a scroll that is no person's)."""
        model = view.model()
        # (its own methods, not lambdas: Qt drops these connections with this object,
        # and a model that outlives the view would call a lambda on the deleted view)
        model.rowsAboutToBeInserted.connect(self._before)
        model.layoutAboutToBeChanged.connect(self._before)
        model.rowsInserted.connect(self._after)
        model.layoutChanged.connect(self._after)

    def _before(self, *_: object) -> None:
        if self._held.isValid():
            return  # a change is under way: where the row was before the first counts
        view = self._view
        current = view.currentIndex()
        selection = view.selectionModel()
        if not current.isValid() or selection is None or not selection.isSelected(current):
            return
        rect = view.visualRect(current)
        if rect.isValid() and view.viewport().rect().intersects(rect):
            self._held = QPersistentModelIndex(current)
            self._top = rect.top()

    def _after(self, *_: object) -> None:
        if self._held.isValid() and not self._pending:
            self._pending = True
            QTimer.singleShot(0, self, self._restore)  # once the view has laid the rows out

    def _restore(self) -> None:
        held, self._held, self._pending = self._held, QPersistentModelIndex(), False
        if not held.isValid():
            return
        view = self._view
        view.executeDelayedItemsLayout()
        rect = view.visualRect(held.sibling(held.row(), held.column()))
        moved = rect.top() - self._top
        if not rect.isValid() or not moved:
            return
        bar = view.verticalScrollBar()
        if view.verticalScrollMode() == QAbstractItemView.ScrollMode.ScrollPerItem:
            moved = round(moved / max(1, rect.height()))
        self.restoring = True
        try:
            bar.setValue(bar.value() + moved)
        finally:
            self.restoring = False


FIT_ROWS: Final = 50
"""Rows measured (those in sight first) to fit a column to its contents: 200 of an
image's 400 layers took 0.4 s to measure, each time such an image was shown."""


class _RowsTable(QTableView):
    """A table of whole rows, where Home and End go to the first and last row (Qt's
    table moves them along the row: to its first or last column, nothing to see; only
    Ctrl+Home and Ctrl+End left it), as in a list or a tree. The column stays."""

    def moveCursor(self, cursorAction: QAbstractItemView.CursorAction,
                   modifiers: Qt.KeyboardModifier) -> QModelIndex:
        """Override QTableView::moveCursor."""
        action = QAbstractItemView.CursorAction
        if cursorAction not in (action.MoveHome, action.MoveEnd) \
                or self.selectionBehavior() != QAbstractItemView.SelectionBehavior.SelectRows:
            return super().moveCursor(cursorAction, modifiers)
        moved = super().moveCursor(cursorAction,
                                   modifiers | Qt.KeyboardModifier.ControlModifier)
        current = self.currentIndex()
        if not (moved.isValid() and current.isValid()):
            return moved
        return moved.siblingAtColumn(current.column())


def make_table(name: str, parent: QWidget | None = None) -> QTableView:
    """A read-only table as every pane uses it: whole rows, alternating colours, no grid;
    ``name`` says what it lists, for screen readers (which said only "table")."""
    table = _RowsTable(parent)
    table.setAccessibleName(name)
    table.setItemDelegate(DataDelegate(table))
    table.setAlternatingRowColors(True)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 10)
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    header.setStretchLastSection(True)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    # columns fitted to their contents measure the rows in sight and this many more (Qt's
    # 1,000 held the window for 0.2 s as a layer's file listing opened)
    header.setResizeContentsPrecision(FIT_ROWS)
    table.setAcceptDrops(False)
    # Tab leaves the table for the next control, as in any form (a table's own Tab
    # walks its cells, round and round: the keyboard could not get out)
    table.setTabKeyNavigation(False)
    selecting = _SelectOnFocus(table)
    table.installEventFilter(selecting)
    return table


def enable_clear_button(edit: QLineEdit, enabled: bool = True) -> None:
    """Give ``edit`` Qt's button that clears it, named "Clear" for screen readers (Qt
    leaves that icon without a name)."""
    edit.setClearButtonEnabled(enabled)
    for button in edit.findChildren(QToolButton):
        button.setAccessibleName("Clear")


class _TextDropsOnly(QObject):
    """Passes the drags of images and files over a field on to the widgets under it (the
    window opens a file, a place takes an image), rather than let the field insert their
    text where the pointer is; a drag of text alone still goes into the field."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter."""
        if isinstance(event, QDropEvent):  # (and the drag's enter and move events)
            mime = event.mimeData()
            if mime.hasFormat(MIME_TYPE) or mime.hasUrls():
                event.ignore()
                return True
        return False


def take_text_drops_only(edit: QLineEdit) -> None:
    """Let ``edit`` take dropped text, not the text a dragged image or file carries too."""
    edit.installEventFilter(_TextDropsOnly(edit))


def filter_field(placeholder: str, parent: QWidget | None = None) -> QLineEdit:
    """A field that filters a list, saying what it filters by in ``placeholder``, which
    names it for screen readers too (a placeholder alone is no name: it is a hint that
    goes once something is typed)."""
    edit = QLineEdit(parent)
    edit.setPlaceholderText(placeholder)
    edit.setAccessibleName(placeholder)
    enable_clear_button(edit)
    take_text_drops_only(edit)
    return edit


FILTER_PAUSE_MS = 150
"""How long a pause in the typing a :class:`PausedFilter` over many rows waits for."""


class PausedFilter(QObject):
    """Applies the text of a filter field with ``apply``: at once while ``rows()`` is at
    most ``at_once``; past it (where a pass over the rows takes tens of milliseconds, and
    one per key typed held the window), once the typing pauses for :data:`FILTER_PAUSE_MS`.
    A filter cleared applies at once (every row shown again, as asked)."""

    def __init__(self, edit: QLineEdit, apply: Callable[[str], object],
                 rows: Callable[[], int], at_once: int) -> None:
        super().__init__(edit)
        self._edit = edit
        self._apply = apply
        self._rows = rows
        self._at_once = at_once
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FILTER_PAUSE_MS)
        self._timer.timeout.connect(self.flush)

    @property
    def pending(self) -> bool:
        """Text typed is waiting for the pause."""
        return self._timer.isActive()

    def changed(self, text: str) -> None:
        """The field's text changed (its textChanged)."""
        if text.strip() and self._rows() > self._at_once:
            self._timer.start()  # (again: the pause is counted from the last key)
        else:
            self.flush()

    def flush(self) -> None:
        """Apply the field's text now (Enter in the field, the pause over)."""
        self._timer.stop()
        self._apply(self._edit.text())

    def cancel(self) -> None:
        """Forget the text waiting (the page shows something else)."""
        self._timer.stop()


def link_error(field: QWidget, sentence: str) -> None:
    """Tie ``sentence``, shown near ``field`` to say what is wrong with it, to the field
    for screen readers: read as its description while it shows; "" when it goes (the
    field's own hint again). A reader on the field heard its label and hint only."""
    field.setAccessibleDescription(sentence)


def fit_columns(table: QTableView, *, maximum: int = 420,
                then: Callable[[], object] | None = None) -> None:
    """Size the columns to their contents (not the last one, which stretches), each at
    most ``maximum`` wide, then call ``then`` (what a page sets after). A table out of
    sight (on a tab not shown) is fitted as it comes into sight: fitting the Layers and
    History tables of every image shown, looked at or not, took most of showing one."""
    fitting = table.findChild(_FitWhenShown)
    if fitting is None:
        fitting = _FitWhenShown(table)
    fitting.pending = (maximum, then)
    if table.isVisible():
        fitting.fit()


class _FitWhenShown(QObject):
    """The fit :func:`fit_columns` left for its table to come into sight."""

    def __init__(self, table: QTableView) -> None:
        super().__init__(table)
        self._table = table
        self.pending: tuple[int, Callable[[], object] | None] | None = None
        table.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter."""
        if event.type() == QEvent.Type.Show and self.pending is not None:
            self.fit()
        return False

    def fit(self) -> None:
        if self.pending is None:
            return
        (maximum, then), self.pending = self.pending, None
        table, header = self._table, self._table.horizontalHeader()
        for column in range(table.model().columnCount() - 1):
            table.resizeColumnToContents(column)
            header.resizeSection(column, min(header.sectionSize(column) + 12, maximum))
        if then is not None:
            then()


class Spinner(QWidget):
    """A small rotating arc that says "working" while it is running."""

    def __init__(self, parent: QWidget | None = None, *, size: int = 18) -> None:
        super().__init__(parent)
        self._angle = 0
        self._size = size
        self._timer = QTimer(self)
        self._timer.setInterval(60)
        self._timer.timeout.connect(self._step)
        self.setFixedSize(size, size)
        # a screen reader met an element with no name beside the text it goes with
        self.setAccessibleName("Busy")

    def start(self) -> None:
        self._timer.start()
        self.show()

    def stop(self) -> None:
        self._timer.stop()
        self.hide()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def _step(self) -> None:
        self._angle = (self._angle + 30) % 360
        self.update()

    def sizeHint(self) -> QSize:
        """Override QWidget::sizeHint."""
        return QSize(self._size, self._size)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Override QWidget::paintEvent."""
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        width = max(2.0, self._size / 8)
        rect = QRectF(self.rect()).adjusted(width, width, -width, -width)
        track = QColor(self.palette().color(QPalette.ColorRole.Text))
        track.setAlphaF(0.12)
        painter.setPen(QPen(track, width))
        painter.drawEllipse(rect)
        pen = QPen(self.palette().color(QPalette.ColorRole.Highlight), width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.drawArc(rect, -self._angle * 16, 100 * 16)
        painter.end()


STILL_WAITING_S: Final = 5.0
"""How long a panel waits on something before it says how long it has been, and offers
Stop (a registry that hangs is given minutes: a 60 s read, four times)."""


class MessagePanel(QWidget):
    """A centred message filling a pane: an icon or spinner, a title, a sentence, buttons.

    A busy panel told what it waits on (``waiting`` in :meth:`show_message`) says, once
    that has taken :data:`STILL_WAITING_S`, how long it has been ("Still waiting for
    HOST (25 s)…"), and shows :attr:`stop_button`.

    Signals:
        linkActivated(str): a link in the sentence was clicked.
        stopRequested(): Stop was pressed while the panel waited.
    """

    linkActivated = Signal(str)
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.spinner = Spinner(size=36)
        self.spinner.hide()
        self.title = QLabel()
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setFont(scaled_font(self.title.font(), 1.35, bold=True))
        self.title.setWordWrap(True)
        self.body = QLabel()
        self.body.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.body.setOpenExternalLinks(False)
        self.body.linkActivated.connect(self.linkActivated)
        self.body.setMaximumWidth(560)
        self.body.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        mute(self.body, 0.7)
        self.waited = QLabel()
        self.waited.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.waited.hide()
        self._buttons = QHBoxLayout()
        self._buttons.setSpacing(8)
        self._buttons.addStretch(1)
        self._buttons.addStretch(1)
        self.stop_button = self.add_button("Stop")
        self.stop_button.setToolTip("Stop waiting for an answer")
        self.stop_button.clicked.connect(self.stopRequested)
        self.stop_button.hide()
        self._waiting: str | Callable[[], str] = ""
        self._since = 0.0
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._tick)

        # what it says scrolls where the pane is too short for it (a large font, a small
        # screen): it set the least height of the pane, and so of the window, which then
        # ran past the screen's edge with the Transfers panel below
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        contents = QWidget()
        area.setWidget(contents)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(area)
        layout = QVBoxLayout(contents)
        layout.setContentsMargins(32, 32, 32, 32)
        layout.setSpacing(10)
        layout.addStretch(3)
        layout.addWidget(self.icon)
        layout.addWidget(self.spinner, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(6)
        layout.addWidget(self.title)
        # centred by stretches, not an alignment flag: a word-wrapping label
        # only gets the height its text needs when it is laid out that way
        body_row = QHBoxLayout()
        body_row.addStretch(1)
        body_row.addWidget(self.body, 4)
        body_row.addStretch(1)
        layout.addLayout(body_row)
        layout.addWidget(self.waited)
        layout.addSpacing(8)
        layout.addLayout(self._buttons)
        layout.addStretch(4)

    def show_message(
        self, title: str, body: str = "", *, icon: QIcon | None = None, busy: bool = False,
        waiting: str | Callable[[], str] = "", since: float | None = None,
    ) -> None:
        """Show ``title`` and ``body`` (plain text, or rich text when it starts with ``<``).

        A ``busy`` panel given ``waiting`` ("Still waiting for HOST") adds how long it has
        waited since ``since`` (a :func:`time.monotonic` time; by default now) once that
        passes :data:`STILL_WAITING_S`, and offers Stop. A callable ``waiting`` is asked
        at each tick: what is waited on may change (a request waiting to be asked again)."""
        if busy and waiting:
            self._waiting = waiting
            self._since = time.monotonic() if since is None else since
            if not self._clock.isActive():
                self._clock.start()
            self._tick()
        else:
            self._waiting = ""
            self._clock.stop()
            self.waited.hide()
            self.stop_button.hide()
        self.title.setText(title)
        self.body.setTextFormat(
            Qt.TextFormat.RichText if body.startswith("<") else Qt.TextFormat.PlainText
        )
        self.body.setText(body)
        self.body.setVisible(bool(body))
        if busy:
            self.icon.hide()
            self.spinner.start()
        else:
            self.spinner.stop()
            self.icon.setVisible(icon is not None)
            if icon is not None:
                self.icon.setPixmap(icon.pixmap(48, 48))

    def add_button(self, text: str, *, default: bool = False) -> QPushButton:
        button = push_button(text)
        button.setDefault(default)
        button.setAutoDefault(default)
        self._buttons.insertWidget(self._buttons.count() - 1, button)
        return button

    @property
    def waited_for(self) -> float:
        """Seconds the panel has waited (0 when it waits on nothing)."""
        return time.monotonic() - self._since if self._waiting else 0.0

    def showEvent(self, event: QShowEvent) -> None:
        """Override QWidget::showEvent: the time waited goes on where it was left."""
        super().showEvent(event)
        if self._waiting:
            self._clock.start()
            self._tick()

    def _tick(self) -> None:
        waited = self.waited_for
        if not self._waiting or not self.isVisible():
            self._clock.stop()  # (shown again, it starts again: showEvent)
        waiting = self._waiting() if callable(self._waiting) else self._waiting
        late = bool(waiting) and waited >= STILL_WAITING_S
        if late:
            self.waited.setText(f"{waiting} ({waited:.0f} s)…")
        self.waited.setVisible(late)
        self.stop_button.setVisible(late)


class ElidedLabel(QLabel):
    """A one-line label that cuts its text with an ellipsis where it does not fit (a
    QLabel, like the status bar's own messages, cuts it mid-letter); the whole text is
    its tooltip while it is cut, under any tooltip its owner gave it (which stays, cut
    or not). It asks for no width of its own: it takes what its layout leaves.

    A ``copyable`` one copies its whole text by Copy in its context menu and, once
    clicked (it takes the focus as a label whose text the mouse selects does), by Ctrl+C,
    the Menu key and Shift+F10: a text drawn cut cannot be selected, and a label that was
    a name to select and copy (a repository page's title, the status bar's reference)
    could no longer be copied, its tooltip neither.

    Signals:
        copied(str): its text was copied; what the status bar says of it ("Copied …").
    """

    copied = Signal(str)

    def __init__(self, text: str = "", parent: QWidget | None = None, *,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
                 copyable: bool = False) -> None:
        super().__init__(text, parent)
        self._mode = mode
        self._own_tooltip = ""
        self._copyable = copyable
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)
        if copyable:
            self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            menu_keys = QAction("Context Menu", self)
            menu_keys.setShortcut(QKeySequence(CONTEXT_MENU_KEYS))
            menu_keys.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            menu_keys.triggered.connect(
                lambda _checked=False: self._open_menu(self.rect().center()))
            self.addAction(menu_keys)

    def copy(self) -> None:
        """Put the whole text on the clipboard, and say so (:attr:`copied`)."""
        if self.text():
            emit(self.copied, clipboard.copy_text(self.text()))

    def _open_menu(self, point: QPoint) -> None:
        menu = QMenu(self)
        copy = menu.addAction("&Copy", self.copy)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setEnabled(bool(self.text()))
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.mapToGlobal(point))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Override QLabel::contextMenuEvent: a copyable one's Copy."""
        if not self._copyable:
            super().contextMenuEvent(event)
            return
        self._open_menu(event.pos() if event.reason() == QContextMenuEvent.Reason.Mouse
                        else self.rect().center())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Override QWidget::keyPressEvent: Ctrl+C copies a copyable one's whole text."""
        if self._copyable and event.matches(QKeySequence.StandardKey.Copy):
            self.copy()
            event.accept()
            return
        super().keyPressEvent(event)

    def shown_text(self) -> str:
        """The text as it is drawn at the label's width now."""
        return self.fontMetrics().elidedText(self.text(), self._mode,
                                             max(0, self.contentsRect().width()))

    def setToolTip(self, tooltip: str) -> None:
        """Override QWidget::setToolTip: the owner's tooltip, kept as the label's text is
        cut and whole again (each resize replaced it: the image header's subtitle lost
        the image's full name)."""
        self._own_tooltip = tooltip
        self._update_tooltip()

    def _update_tooltip(self) -> None:
        parts = [self.text()] if self.shown_text() != self.text() else []
        if self._own_tooltip:
            parts.append(self._own_tooltip)
        super().setToolTip("\n".join(parts))

    def setText(self, text: str) -> None:
        """Override QLabel::setText: the tooltip follows."""
        super().setText(" ".join(text.split("\n")))
        self._update_tooltip()

    def minimumSizeHint(self) -> QSize:
        """Override QLabel::minimumSizeHint: any width will do."""
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Override QWidget::resizeEvent: cut anew, and say so in the tooltip."""
        super().resizeEvent(event)
        self._update_tooltip()

    def paintEvent(self, _event: QPaintEvent) -> None:
        """Override QLabel::paintEvent: the text, cut to the width. The painter is ended
        here, as every painter of the window's is: left to the garbage collector, it
        was still active at the end of the paint wherever a reference to it outlived
        the call (Qt: "QBackingStore::endPaint() called with active painter")."""
        painter = QPainter(self)
        self.style().drawItemText(painter, self.contentsRect(),
                                  int(self.alignment() | Qt.AlignmentFlag.AlignVCenter),
                                  self.palette(), self.isEnabled(), self.shown_text(),
                                  self.foregroundRole())
        painter.end()


class CameFrom(QObject):
    """Notes the widget of the window the keyboard came into ``area`` from (by Tab, a
    key, a click), to give the keyboard back to it when ``area`` goes away with the
    keyboard in it (:meth:`give_back`): not to whatever Qt finds next, as it does for a
    widget hidden with the focus (the "+" beside REGISTRIES after a banner's ✕, where a
    Space then opened Add Registry).

    Attributes:
        fallback: where the keyboard goes when the widget it came from is gone, hidden,
            disabled or takes no focus (None: where Qt puts it).
    """

    def __init__(self, area: QWidget) -> None:
        super().__init__(area)
        self._area = area
        self._came_from: QWidget | None = None
        self.fallback: Callable[[], QWidget] | None = None
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

    def _focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        # (a widget of the window: not another window's, nor nothing while another
        # application had the keyboard)
        area = self._area
        if new is not None and old is not None and area.isAncestorOf(new) \
                and not area.isAncestorOf(old) and old.window() is area.window():
            self._came_from = old

    def holds_focus(self) -> bool:
        """Whether the keyboard is in ``area``."""
        focused = QApplication.focusWidget()
        return focused is not None and self._area.isAncestorOf(focused)

    def give_back(self) -> None:
        """Call before ``area`` hides: the keyboard, if in it, goes back where it came
        from (else to :attr:`fallback`)."""
        if not self.holds_focus():
            return
        back = self._came_from
        if back is None or not shiboken6.isValid(back) or not back.isVisible() \
                or not back.isEnabled() or back.focusPolicy() == Qt.FocusPolicy.NoFocus:
            back = self.fallback() if self.fallback is not None else None
        if back is not None:
            back.setFocus(Qt.FocusReason.OtherFocusReason)


class Banner(QFrame):
    """A one-line notice across the top of a pane: a warning and its sentence, closable.
    Its ✕ gives the keyboard back where it came from (:attr:`keyboard`), and is described
    by the sentence it dismisses (two notices' ✕ were both "Dismiss" alone).

    Attributes:
        keyboard: the :class:`CameFrom` of the banner (its ``fallback`` can be set).

    Signals:
        dismissed(): the user closed it.
    """

    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        fill_background(self, lambda base: QColor("#4a3a1f") if is_dark(base)
                        else QColor("#fff4e5"))
        icon = QLabel()
        icon.setPixmap(icons.warning_icon().pixmap(18, 18))
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # sentences quote what was typed
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = tool_button("Dismiss", text=CLOSE_GLYPH)
        self.close_button = close
        self.keyboard = CameFrom(self)
        close.clicked.connect(self._dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_text(self, text: str, *, details: str = "") -> None:
        """Show ``text``; ``details``, for those who want them, as its tooltip. Screen
        readers are told a sentence that comes or changes while the pane is in sight."""
        new = self.text != text
        self.label.setText(text)
        self.label.setToolTip(details)
        self.close_button.setAccessibleDescription(text)
        self.show()
        if new and self.isVisible():
            announce(self.label, text)

    @property
    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()

    def _dismiss(self) -> None:
        self.keyboard.give_back()  # (before it hides: Qt would move the keyboard on)
        self.hide()
        emit(self.dismissed)


def tool_button(tooltip: str, *, icon: QIcon | None = None, text: str = "", name: str = "",
                parent: QWidget | None = None) -> QToolButton:
    """A flat button that shows only an icon, or a mark such as :data:`CLOSE_GLYPH`, and
    says what it does in ``tooltip``; screen readers name it by ``name``, else the tooltip.

    Qt names a button by its text: an icon's was "" (a reader said only "push button") and
    the close mark's "✕" ("multiplication x"); the tooltip reached them as a description.
    """
    button = QToolButton(parent)
    if icon is not None:
        button.setIcon(icon)
    if text:
        button.setText(text)
    button.setAutoRaise(True)
    button.setToolTip(tooltip)
    button.setAccessibleName(name or tooltip)
    press_on_enter(button)
    return button


def copy_button(tooltip: str, parent: QWidget | None = None) -> QToolButton:
    """A flat button with the copy icon, named by ``tooltip``."""
    button = tool_button(tooltip, parent=parent)
    follow_icon(button, icons.copy_icon)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    return button


def no_match_text(noun: str, plural: str, text: str, total: int, *,
              more: bool) -> tuple[str, str]:
    """The title and sentence of a page whose filter matches none of its ``total`` rows:
    ``No tag matches “zzz”`` (a blank table, with only the count beside the filter to say
    why, looked like a page that had lost its rows)."""
    title = f"No {noun} matches “{text.strip()}”"
    if more:
        return title, f"More {plural} are being listed: those that match appear here."
    every = f"all {total:,} {plural}" if total != 1 else f"the one {noun}"
    return title, f"Clear the filter to see {every}."


def clear_filter_button(panel: MessagePanel, edit: QLineEdit, *,
                        tooltip: str = "Show every row again") -> QPushButton:
    """"Clear Filter" on a panel shown while ``edit``'s filter matches nothing (hidden
    until then)."""
    button = panel.add_button("Clear Filter")
    button.setToolTip(tooltip)
    button.clicked.connect(edit.clear)
    button.clicked.connect(lambda: edit.setFocus(Qt.FocusReason.OtherFocusReason))
    button.hide()
    return button
