"""The filter of a registry's or repository's page: :class:`ChildFilterModel`, the
children of one row of the :class:`~spyglass.gui.models.registries.RegistriesModel` whose
name holds the text typed."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    SignalInstance,
)

from spyglass.gui.models.registries import RegistriesModel
from spyglass.gui.models.registry_rows import (
    AnyIndex,
    MessageRow,
    RegistryNode,
    RepositoryNode,
    TagNode,
)


class ChildFilterModel(QSortFilterProxyModel):
    """Shows the children of one row of a :class:`RegistriesModel` (the repositories of a
    registry, the tags of a repository) whose name contains the filter text.

    Rows outside that parent are left alone, so the view's root stays reachable;
    message rows under it are hidden (the page says those in its own way), and so
    are attachment tags unless :meth:`set_show_attachments` asked for them.

    Qt asks :meth:`filterAcceptsRow` of every row it maps (20,000 tags, and the 1,000
    repositories beside their repository) each time the filter changes, and a Python
    call per row was most of a keystroke's 50 ms: so each answer is a look-up. The rows
    outside the root are told apart by one comparison; the children's names are case-folded
    once per change to the rows (:meth:`_fold`), and the rows that show are worked out in
    one pass per filter text (:meth:`_pick`; text typed on to the end of the last only
    looks again at the rows that showed).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = QPersistentModelIndex()
        self._root_node: RegistryNode | RepositoryNode | None = None
        self._root_at: QModelIndex | None = None
        """:attr:`_root` as a plain index (compared at less cost); None once rows change."""
        self._text = ""
        self._show_attachments = False
        self._folded: list[str | None] | None = None
        """The root's children's names, case-folded, row by row (None: a row hidden
        whatever the text); None until worked out, and again once the rows change."""
        self._picked: set[int] = set()  # the rows of the root's children that show
        self.setDynamicSortFilter(False)

    @property
    def show_attachments(self) -> bool:
        """Whether attachment tags (``sha256-….sig`` and friends) are shown; not by default."""
        return self._show_attachments

    def set_show_attachments(self, show: bool) -> None:
        if show == self._show_attachments:
            return
        self._begin()
        self._show_attachments = show
        self._folded = None
        self._end()

    @property
    def filter_text(self) -> str:
        return self._text

    def set_root(self, source_index: AnyIndex) -> QModelIndex:
        """Filter the children of ``source_index``; returns the proxy index to root a view at."""
        self._begin()
        model = self.sourceModel()
        node = model.node(source_index) if isinstance(model, RegistriesModel) else None
        self._root_node = node if isinstance(node, RegistryNode | RepositoryNode) else None
        self._root = QPersistentModelIndex(source_index)
        self._root_at = None
        self._folded = None
        self._end()
        return self.root_index()

    def root_index(self) -> QModelIndex:
        if not self._root.isValid():
            return QModelIndex()
        return self.mapFromSource(self._root.sibling(self._root.row(), 0))

    def set_filter_text(self, text: str) -> None:
        needle = text.strip().casefold()
        if needle == self._text:
            return
        self._begin()
        old, self._text = self._text, needle
        if self._folded is not None:
            # (a row without the old text is no row with the new one)
            self._pick(self._picked if old and old in needle else None)
        self._end()

    def setSourceModel(self, model: QAbstractItemModel) -> None:
        """Override QSortFilterProxyModel::setSourceModel: what is worked out of the
        rows is worked out again as they change."""
        old = self.sourceModel()
        if old is not None:
            for signal in self._changes(old):
                signal.disconnect(self._rows_changing)
        super().setSourceModel(model)
        for signal in self._changes(model):
            signal.connect(self._rows_changing)

    @staticmethod
    def _changes(model: QAbstractItemModel) -> tuple[SignalInstance, ...]:
        # (before a change: the proxy asks of the new rows before this hears rowsInserted;
        # after it too, in case a row was asked of in between)
        return (model.rowsAboutToBeInserted, model.rowsAboutToBeRemoved,
                model.rowsAboutToBeMoved, model.layoutAboutToBeChanged,
                model.modelAboutToBeReset, model.rowsInserted, model.rowsRemoved,
                model.rowsMoved, model.layoutChanged, model.modelReset)

    def _rows_changing(self, *_args: object) -> None:
        self._root_at = None
        self._folded = None

    def _fold(self) -> list[str | None]:
        """:attr:`_folded`, worked out from the root's children, and the rows shown."""
        node = self._root_node
        hide_attachments = not self._show_attachments
        folded: list[str | None] = [
            None if isinstance(child, MessageRow)
            or (hide_attachments and isinstance(child, TagNode) and child.attachment)
            else child.name.casefold()
            for child in (node.children if node is not None else ())]
        self._folded = folded
        self._pick(None)
        return folded

    def _pick(self, among: set[int] | None) -> None:
        """Work out the rows shown, in one pass over the rows (or ``among`` those)."""
        folded, needle = self._folded or [], self._text
        if among is not None:
            self._picked = {row for row in among
                            if (name := folded[row]) is not None and needle in name}
        else:
            self._picked = {row for row, name in enumerate(folded)
                            if name is not None and needle in name}

    def _begin(self) -> None:
        begin = getattr(self, "beginFilterChange", None)
        if begin is not None:
            begin()

    def _end(self) -> None:
        end = getattr(self, "endFilterChange", None)
        if end is not None:
            end()
        else:  # Qt before 6.9
            self.invalidateFilter()

    def canFetchMore(self, parent: AnyIndex) -> bool:
        """Override QSortFilterProxyModel::canFetchMore: the next page of the list shown,
        whichever it is (a view asks as its last row comes into sight)."""
        model = self.sourceModel()
        if isinstance(model, RegistriesModel):
            return model.can_fetch_next(self.mapToSource(parent))
        return super().canFetchMore(parent)

    def fetchMore(self, parent: AnyIndex) -> None:
        """Override QSortFilterProxyModel::fetchMore: see :meth:`canFetchMore`."""
        model = self.sourceModel()
        if isinstance(model, RegistriesModel):
            model.fetch_next(self.mapToSource(parent))
        else:
            super().fetchMore(parent)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        """Override QSortFilterProxyModel::filterAcceptsRow."""
        root = self._root_at
        if root is None:
            if not self._root.isValid() or self._root_node is None:
                return True
            root = self._root_at = self._root.sibling(self._root.row(), self._root.column())
        if source_parent != root:
            return True
        folded = self._folded
        if folded is None:
            folded = self._fold()
        if not 0 <= source_row < len(folded):
            return True
        return source_row in self._picked
