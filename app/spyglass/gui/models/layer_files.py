"""The file listing of one layer, and the proxy that filters it by path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSortFilterProxyModel, Qt
from PySide6.QtGui import QFont

from spyglass.gui.colors import muted_color
from spyglass.gui.formatting import exact_size, file_mode, format_epoch, human_size
from spyglass.gui.models.table import SORT_ROLE, Column, RowTableModel

if TYPE_CHECKING:
    from spyglass.core.layerfiles import LayerFile

PATH, KIND, SIZE, MODE, MODIFIED, TARGET = range(6)

LONGEST_NAME = 1000
"""Names (and link targets) longer than this many characters are shown elided in the
middle: Qt measures and draws a name whole, and one of a megabyte held the window up."""


LONGEST_TIP = 20_000
"""A path's tooltip shows it whole up to this many characters."""


def _elided(name: str, longest: int = LONGEST_NAME) -> str:
    """``name``, or its start and end around a note of its length when it is longer than
    ``longest``."""
    if len(name) <= longest:
        return name
    keep = longest // 2 - 40
    return f"{name[:keep]}… ({len(name):,} characters) …{name[-keep:]}"

_KIND_TEXT = {
    "file": "file",
    "dir": "folder",
    "symlink": "symlink",
    "hardlink": "hard link",
    "device": "device",
    "fifo": "FIFO",
    "whiteout": "deleted",
    "opaque": "opaque folder",
}
_KIND_TIPS = {
    "whiteout": "A whiteout: this layer deletes the entry from the layers below.",
    "opaque": "An opaque folder: what the layers below hold in it is hidden.",
}


class LayerFilesModel(RowTableModel["LayerFile"]):
    """The entries of a layer's tar, in archive order; a name's byte that is not UTF-8
    is shown as ``\\xff`` (each one told apart, where U+FFFD showed them all alike), a
    control character as ``\\x0a`` (see :class:`RowTableModel`)."""

    columns = (
        Column("Path", monospace=True),
        Column("Kind"),
        Column("Size", numeric=True),
        Column("Mode", monospace=True),
        Column("Modified"),
        Column("Link target", monospace=True),
    )

    def display(self, row: LayerFile, column: int) -> str:
        if column == PATH:
            return _elided("/" + row.path)
        if column == KIND:
            return _KIND_TEXT.get(row.kind, row.kind)
        if column == SIZE:
            return human_size(row.size) if row.kind == "file" else ""
        if column == MODE:
            return "" if row.kind == "whiteout" else file_mode(row.kind, row.mode)
        if column == MODIFIED:
            return format_epoch(row.mtime)
        if column == TARGET:
            return _elided(row.link_target or "")
        return ""

    def tooltip(self, row: LayerFile, column: int) -> str | None:
        if row.kind in _KIND_TIPS:
            return _KIND_TIPS[row.kind]
        if column == SIZE and row.kind == "file":
            return exact_size(row.size)
        if column == PATH:
            return _elided("/" + row.path, LONGEST_TIP)  # a long name whole, in lines
        return None

    def font(self, row: LayerFile, column: int) -> QFont | None:
        font = super().font(row, column)
        if row.kind == "whiteout" and column == PATH:
            font = QFont(font) if font is not None else QFont()
            font.setStrikeOut(True)
        return font

    def foreground(self, row: LayerFile, column: int) -> Any:
        if row.kind in ("whiteout", "opaque"):
            return muted_color()
        return None

    def sort_value(self, row: LayerFile, column: int) -> Any:
        if column == SIZE:
            return row.size
        if column == MODIFIED:
            return row.mtime
        if column == PATH:
            return "/" + row.path  # whole, however long: sorted, not shown
        return self.display(row, column)


class PathFilterModel(QSortFilterProxyModel):
    """Shows the rows whose path contains the filter text (any case); sorts by :data:`SORT_ROLE`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setFilterKeyColumn(PATH)
        self.setFilterRole(SORT_ROLE)  # the whole path, where a long one is shown cut
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setSortRole(SORT_ROLE)

    def set_filter_text(self, text: str) -> None:
        self.setFilterFixedString(text.strip())
