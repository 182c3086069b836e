"""The file listing of one layer, sorted and filtered by path in the model itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import QFont

from spyglass.gui.colors import muted_color
from spyglass.gui.formatting import (
    FARTHEST_EPOCH,
    exact_size,
    file_mode,
    format_epoch,
    human_size,
)
from spyglass.gui.models.table import Column, RowTableModel

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
    "chardev": "char device",
    "blockdev": "block device",
    "other": "unknown type",
    "fifo": "FIFO",
    "whiteout": "deleted",
    "opaque": "opaque folder",
}
_KIND_TIPS = {
    "whiteout": "A whiteout: this layer deletes the entry from the layers below.",
    "opaque": "An opaque folder: what the layers below hold in it is hidden.",
}


_XATTR_NOTES = {
    "security.capability": "file capabilities: privileges for whoever runs it, as setuid "
                           "gives",
    "security.selinux": "an SELinux label",
    "system.posix_acl_access": "an access control list",
    "system.posix_acl_default": "a default access control list",
}

_MOST_XATTRS_SHOWN = 20


def _xattrs_tip(names: Sequence[str]) -> str:
    """The Mode tooltip of an entry with extended attributes: their names, each with what
    it is where it says more than the bits."""
    lines = [f"• {_elided(name, 200)}" + (f" ({_XATTR_NOTES[name]})" if name in _XATTR_NOTES
                                            else "")
             for name in names[:_MOST_XATTRS_SHOWN]]
    if len(names) > _MOST_XATTRS_SHOWN:
        lines.append(f"… and {len(names) - _MOST_XATTRS_SHOWN:,} more")
    return "Extended attributes (+), applied as the image is unpacked:\n" + "\n".join(lines)


class LayerFilesModel(RowTableModel["LayerFile"]):
    """The entries of a layer's tar, in archive order until sorted; a name's byte that is
    not UTF-8 is shown as ``\\xff`` (each one told apart, where U+FFFD showed them all
    alike), a control character as ``\\x0a`` (see :class:`RowTableModel`).

    The model sorts (:meth:`sort`, what a click on a column's title asks for) and filters
    by path (:meth:`set_filter_text`) itself, once per request, from keys worked out once
    per column: a QSortFilterProxyModel asked Python for two values per comparison, and
    sorting 100,000 entries held every window of the app for half a minute.
    :attr:`rows` are all the entries, in archive order; the model's rows are those shown.
    """

    columns = (
        Column("Path", monospace=True),
        Column("Kind"),
        Column("Size", numeric=True),
        Column("Mode", monospace=True),
        Column("Modified"),
        Column("Link target", monospace=True),
    )

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._all: list[LayerFile] = []
        self._keys: dict[int, list[Any]] = {}  # a column's sort keys, in archive order
        self._folded: list[str] | None = None  # the paths, case-folded, in archive order
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._needle = ""
        self._shown: list[int] = []  # the entries shown, as places in archive order
        self.file_bytes = 0
        """The sizes of all the regular files, added up."""

    # -- all the rows, and those shown

    @property
    def rows(self) -> list[LayerFile]:
        """Every entry, in archive order (whatever is shown)."""
        return list(self._all)

    @property
    def total(self) -> int:
        """How many entries there are, shown or not."""
        return len(self._all)

    @property
    def filter_text(self) -> str:
        return self._needle

    def set_rows(self, rows: Sequence[LayerFile]) -> None:
        self.beginResetModel()
        self._all = list(rows)
        self.file_bytes = sum(r.size for r in self._all if r.kind == "file")
        self._keys.clear()
        self._folded = None
        self._shown = self._arranged()
        self._rows = [self._all[i] for i in self._shown]
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Override QAbstractItemModel::sort: by ``column``'s :meth:`sort_value` (-1: in
        archive order); rows that sort alike stay in archive order."""
        self._sort_column, self._sort_order = column, order
        self._rearrange()

    def set_filter_text(self, text: str) -> None:
        """Show only the entries whose path holds ``text``, in any case ("": all)."""
        needle = text.strip().casefold()
        if needle != self._needle:
            self._needle = needle
            self._rearrange()

    def _arranged(self) -> list[int]:
        """The entries to show, in the order to show them (their places in archive order)."""
        order: Sequence[int] = range(len(self._all))
        column = self._sort_column
        if 0 <= column < len(self.columns):
            keys = self._keys.get(column)
            if keys is None:
                keys = self._keys[column] = self._sort_keys(column)
            order = sorted(order, key=keys.__getitem__,
                           reverse=self._sort_order == Qt.SortOrder.DescendingOrder)
        if self._needle:
            if self._folded is None:
                self._folded = [("/" + r.path).casefold() for r in self._all]
            folded, needle = self._folded, self._needle
            order = [i for i in order if needle in folded[i]]
        return list(order)

    def _sort_keys(self, column: int) -> list[Any]:
        """:meth:`sort_value` of ``column`` for every entry, in archive order: the common
        columns read straight from the entries (a method call per entry took 0.2 s of
        100,000), the others worked out once per distinct value."""
        rows = self._all
        if column == PATH:
            return [r.path for r in rows]  # (as "/" + path sorts)
        if column == SIZE:
            return [r.size for r in rows]
        if column == MODIFIED:
            return [r.mtime for r in rows]
        if column == KIND:
            return [_KIND_TEXT.get(r.kind, r.kind) for r in rows]
        if column == MODE:  # (a few modes among many entries)
            modes: dict[tuple[str, int, bool], Any] = {}
            return [modes.get((r.kind, r.mode, bool(r.xattrs))) or modes.setdefault(
                (r.kind, r.mode, bool(r.xattrs)), self.sort_value(r, column)) for r in rows]
        return [self.sort_value(r, column) for r in rows]

    def _rearrange(self) -> None:
        """Show :meth:`_arranged`; a selected entry stays selected where it is still shown."""
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()  # (the current row and the selection: a few)
        kept = [(self._shown[i.row()], i.column()) for i in before]
        self._shown = shown = self._arranged()
        self._rows = [self._all[i] for i in shown]
        if before:
            wanted = {entry for entry, _column in kept}
            # (a search per entry kept, in C, where a map of every row took 0.1 s)
            where = ({entry: shown.index(entry) for entry in wanted if entry in shown}
                     if len(wanted) <= 16 else {entry: n for n, entry in enumerate(shown)})
            after = [self.index(where[entry], column) if entry in where else QModelIndex()
                     for entry, column in kept]
            self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()

    # -- what the cells show

    def display(self, row: LayerFile, column: int) -> str:
        if column == PATH:
            return _elided("/" + row.path)
        if column == KIND:
            return _KIND_TEXT.get(row.kind, row.kind)
        if column == SIZE:
            if row.device is not None:  # (its major and minor numbers, as ls -l shows)
                return f"{row.device[0]}, {row.device[1]}"
            return human_size(row.size) if row.kind == "file" else ""
        if column == MODE:
            if row.kind in ("whiteout", "opaque"):  # (an opaque marker's bits are its own,
                return ""                          # not the folder's)
            # (a "+" as ls -l marks a file with an ACL: more than the bits say)
            return file_mode(row.kind, row.mode) + ("+" if row.xattrs else "")
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
        if column == SIZE and row.device is not None:
            return f"Device number: major {row.device[0]}, minor {row.device[1]}"
        if column == KIND and row.kind == "other":
            return (f"A tar entry of type {row.typeflag!r}, which no tar format defines: "
                    "how it is unpacked depends on the tool (GNU tar writes a file; others "
                    "refuse it).")
        if column == PATH:
            return _elided("/" + row.path, LONGEST_TIP)  # a long name whole, in lines
        if column == MODIFIED and abs(row.mtime) > FARTHEST_EPOCH:
            return _elided(f"{row.mtime:,} seconds since 1970-01-01 00:00 UTC", 400)
        if column == MODE and row.xattrs:
            return _xattrs_tip(row.xattrs)
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
