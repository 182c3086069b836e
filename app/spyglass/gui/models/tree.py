"""The part every lazy tree model of the window shares: finding a parent by id.

Each node that has children carries an ``id``; an index's internal id is the
id of its parent node (0 for the top level), and ``_by_id`` maps ids to nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, overload

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt

AnyIndex = QModelIndex | QPersistentModelIndex


SENTENCE_ROLE: Final = Qt.ItemDataRole.UserRole + 60
"""True on a row whose text is a sentence (a message under a place): a view cuts it at
its end, where names (paths, hosts) are cut in the middle."""


class IdTreeModel(QAbstractItemModel):
    """A tree model whose indexes name their parent node by id (see the module)."""

    _by_id: dict[int, Any]

    def _index_of(self, node: Any) -> QModelIndex:
        """The index of a node that has children (so an id)."""
        raise NotImplementedError

    def _top_level(self) -> Sequence[Any]:
        """The nodes of the top level, in order."""
        raise NotImplementedError

    def _node_at(self, index: AnyIndex) -> Any:
        """The node of a valid index of this model, or None when its row is gone."""
        ident = index.internalId()
        row = index.row()
        if ident == 0:
            top = self._top_level()
            return top[row] if 0 <= row < len(top) else None
        parent = self._by_id.get(ident)
        if parent is None or not 0 <= row < len(parent.children):
            return None
        return parent.children[row]

    @overload
    def parent(self) -> QObject | None: ...
    @overload
    def parent(self, child: AnyIndex) -> QModelIndex: ...

    def parent(self, child: AnyIndex | None = None) -> QObject | QModelIndex | None:
        """Override QAbstractItemModel::parent (and QObject::parent without an argument)."""
        if child is None:
            return super().parent()
        if not child.isValid() or child.internalId() == 0:
            return QModelIndex()
        node = self._by_id.get(child.internalId())
        if node is None:
            return QModelIndex()
        return self._index_of(node)
