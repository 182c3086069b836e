"""A read-only table model over a list of rows: the base of the image view's tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication

from spyglass.core.text import LINES, TABS, visible

Row = TypeVar("Row")
AnyIndex = QModelIndex | QPersistentModelIndex

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
"""A value to sort a column by (numbers for sizes), where the text would sort wrong."""


@dataclass(frozen=True)
class Column:
    """One column: its header, tooltip for the header, and whether it holds numbers/digests."""

    title: str
    tooltip: str = ""
    numeric: bool = False
    monospace: bool = False
    centered: bool = False

    @property
    def alignment(self) -> Qt.AlignmentFlag:
        if self.centered:
            return Qt.AlignmentFlag.AlignCenter
        return RIGHT if self.numeric else LEFT


def monospace_font() -> QFont:
    """The system's fixed-pitch font, at the size of the application's font (the
    system's fixed font keeps its own size: digests stayed small beside larger text)."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    size = QGuiApplication.font().pointSizeF()
    if size > 0:
        font.setPointSizeF(size)
    return font


class RowTableModel(QAbstractTableModel, Generic[Row]):
    """Rows of one type, one per line; subclasses say what each column shows.

    Subclasses set :attr:`columns` and implement :meth:`display`; they may
    override :meth:`tooltip`, :meth:`decoration`, :meth:`extra` and
    :meth:`is_enabled`. Replacing the rows resets the model.

    What a cell and its tooltip show of an image's text (a step, a name, a path) is
    shown as it is written: a bidi control, a zero-width or other format character, a
    control character and a byte that is not UTF-8 are escapes (``\\u202e``,
    ``\\xff``: :func:`~spyglass.core.text.visible`), which cannot turn or hide the text
    around them.
    """

    columns: Sequence[Column] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []
        self._mono = monospace_font()

    # -- the rows

    @property
    def rows(self) -> list[Row]:
        return list(self._rows)

    def set_rows(self, rows: Sequence[Row]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, index: AnyIndex) -> Row | None:
        if not index.isValid() or index.model() is not self:
            return None
        return self._rows[index.row()] if 0 <= index.row() < len(self._rows) else None

    # -- what subclasses fill in

    def display(self, row: Row, column: int) -> str:
        raise NotImplementedError

    def tooltip(self, row: Row, column: int) -> str | None:
        return None

    def decoration(self, row: Row, column: int) -> Any:
        return None

    def font(self, row: Row, column: int) -> QFont | None:
        return self._mono if self.columns[column].monospace else None

    def foreground(self, row: Row, column: int) -> Any:
        return None

    def sort_value(self, row: Row, column: int) -> Any:
        return self.display(row, column)

    def accessible_text(self, row: Row, column: int) -> str | None:
        """What a screen reader reads for the cell, where the text shown says less than
        the cell does (an icon or a font says the rest); None: the text shown."""
        return None

    def extra(self, row: Row, column: int, role: int) -> Any:
        """Data for roles of the subclass's own (above ``Qt.UserRole``)."""
        return None

    def is_enabled(self, row: Row) -> bool:
        return True

    # -- QAbstractItemModel

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Override QAbstractItemModel::rowCount."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Override QAbstractItemModel::columnCount."""
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override QAbstractItemModel::data."""
        row = self.row_at(index)
        if row is None or not 0 <= index.column() < len(self.columns):
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return visible(self.display(row, column), keep=TABS)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self.tooltip(row, column)
            return visible(tip, keep=LINES) if tip else tip
        if role == Qt.ItemDataRole.DecorationRole:
            return self.decoration(row, column)
        if role == Qt.ItemDataRole.FontRole:
            return self.font(row, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.foreground(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(self.columns[column].alignment.value)
        if role == SORT_ROLE:
            return self.sort_value(row, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self.accessible_text(row, column)
        if role >= Qt.ItemDataRole.UserRole:
            return self.extra(row, column, role)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Override QAbstractItemModel::headerData."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tooltip or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.alignment.value)
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        """Override QAbstractItemModel::flags."""
        row = self.row_at(index)
        if row is None:
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemNeverHasChildren
        if self.is_enabled(row):
            flags |= Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return flags
