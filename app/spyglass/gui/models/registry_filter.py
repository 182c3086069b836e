"""The filter of a registry's or repository's page: :class:`ChildFilterModel`, the
children of one row of the :class:`~spyglass.gui.models.registries.RegistriesModel` whose
name holds the text typed."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel

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
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._root = QPersistentModelIndex()
        self._root_node: RegistryNode | RepositoryNode | None = None
        self._text = ""
        self._show_attachments = False
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
        self._end()
        return self.root_index()

    def root_index(self) -> QModelIndex:
        if not self._root.isValid():
            return QModelIndex()
        return self.mapFromSource(self._root.sibling(self._root.row(), 0))

    def set_filter_text(self, text: str) -> None:
        self._begin()
        self._text = text.strip().casefold()
        self._end()

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
        node = self._root_node
        if node is None or not self._root.isValid() or source_parent != self._root:
            return True
        if not 0 <= source_row < len(node.children):
            return True
        child = node.children[source_row]
        if isinstance(child, MessageRow):
            return False
        if isinstance(child, TagNode) and child.attachment and not self._show_attachments:
            return False
        text = self._text
        return not text or text in child.name.casefold()
