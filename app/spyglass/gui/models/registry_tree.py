"""The shape of the registries tree (see :mod:`spyglass.gui.models.registries`): registry
rows at the top, their repositories, and the repositories' tags, with message rows under
either; how a row is found (by index, by host and name, by node), how rows are inserted
and removed, and the overrides of :class:`QAbstractItemModel` that say where each row
is. The model's signals are declared here, for every layer to emit.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Final

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal

from spyglass.gui.models.places import LoadState
from spyglass.gui.models.registry_rows import (
    ALIASES,
    COLUMN_TITLES,
    CONTAINERS,
    NAME,
    AnyIndex,
    MessageKind,
    MessageRow,
    Node,
    RegistryNode,
    RepositoryNode,
    TagNode,
)
from spyglass.gui.models.table import monospace_font
from spyglass.gui.models.tree import IdTreeModel
from spyglass.gui.refreshes import Refreshes
from spyglass.gui.signals import emit
from spyglass.gui.workers import Runner

_NO_FLAGS: Final = Qt.ItemFlag.NoItemFlags
_MESSAGE_FLAGS: Final = Qt.ItemFlag.ItemNeverHasChildren
_BRANCH_FLAGS: Final = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_LEAF_FLAGS: Final = _BRANCH_FLAGS | Qt.ItemFlag.ItemNeverHasChildren


class RegistryTree(IdTreeModel):
    """The shape of the registries tree: its rows, finding them, and Qt's overrides that
    tell a view what is where. What the rows hold comes from the layers above
    (:class:`~spyglass.gui.models.registry_digests.DigestLookups`,
    :class:`~spyglass.gui.models.registry_listings.RegistryListings`,
    :class:`~spyglass.gui.models.registries.RegistriesModel`).

    Signals:
        registryLoaded(str): an answer about this host's repositories is in (a page,
            or that the registry lists none).
        registryFailed(str, str): listing this host's repositories failed; the sentence.
        tagsLoaded(str, str, bool): a page of tags of (host, repository) arrived;
            True once it was the last.
        repositoryFailed(str, str, str): listing (host, repository) failed; the sentence.
        digestsArrived(str, str): what is known of tags of (host, repository) changed
            (digests, or signatures listed), and views were told.
        message(str): a notice for the status bar (a registry limiting requests).
    """

    registryLoaded = Signal(str)
    registryFailed = Signal(str, str)
    tagsLoaded = Signal(str, str, bool)
    repositoryFailed = Signal(str, str, str)
    digestsArrived = Signal(str, str)
    message = Signal(str)

    def __init__(self, runner: Runner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._registries: list[RegistryNode] = []
        self._registry_rows: dict[int, int] | None = None
        self._by_id: dict[int, RegistryNode | RepositoryNode] = {}
        self._ids = itertools.count(1)
        self._asks = itertools.count(1)
        self._mono = monospace_font()
        self._refreshes = Refreshes(self)
        """The re-reads of repositories that copies wrote to, coalesced."""

    # ------------------------------------------------------------------ finding rows

    def node(self, index: AnyIndex) -> Node | None:
        """The row's node; None for an invalid index or one of another model."""
        if not index.isValid() or index.model() is not self:
            return None
        return self._node(index)

    def _node(self, index: AnyIndex) -> Node | None:
        """:meth:`node` for indexes Qt hands to the overrides (valid and this model's)."""
        node: Node | None = self._node_at(index)
        return node

    def _top_level(self) -> Sequence[RegistryNode]:
        """Override IdTreeModel._top_level."""
        return self._registries

    def registry_node(self, index: AnyIndex) -> RegistryNode | None:
        """The registry of any row (itself, or the registry it belongs to)."""
        node = self.node(index)
        if isinstance(node, RegistryNode):
            return node
        if isinstance(node, RepositoryNode):
            return node.parent
        if isinstance(node, TagNode):
            return node.parent.parent
        if isinstance(node, MessageRow):
            parent = node.parent
            return parent if isinstance(parent, RegistryNode) else parent.parent
        return None

    def registry_index(self, host: str) -> QModelIndex:
        for row, node in enumerate(self._registries):
            if node.host == host:
                return self.index(row, 0)
        return QModelIndex()

    def repository_index(self, host: str, repository: str) -> QModelIndex:
        registry = self.registry_node(self.registry_index(host))
        node = registry.by_name.get(repository) if registry else None
        return self._repository_index(node) if node is not None else QModelIndex()

    def tag_index(self, host: str, repository: str, tag: str, column: int = NAME) -> QModelIndex:
        repo = self.node(self.repository_index(host, repository))
        if not isinstance(repo, RepositoryNode):
            return QModelIndex()
        node = repo.by_name.get(tag)
        return self._tag_index(node, column) if node is not None else QModelIndex()

    def index_of(self, node: Node, column: int = NAME) -> QModelIndex:
        if isinstance(node, RegistryNode):
            return self._registry_index(node, column)
        if isinstance(node, RepositoryNode):
            return self._repository_index(node, column)
        if isinstance(node, TagNode):
            return self._tag_index(node, column)
        row = node.parent.row_of(node)
        return self.createIndex(row, column, node.parent.id) if row >= 0 else QModelIndex()

    def alive(self, node: Node) -> bool:
        """Whether ``node`` is still in the model (not removed or replaced by a reload)."""
        if isinstance(node, RegistryNode):
            return self._by_id.get(node.id) is node
        if isinstance(node, RepositoryNode):
            return self._by_id.get(node.id) is node and self.alive(node.parent)
        if isinstance(node, TagNode):
            return node.parent.by_name.get(node.name) is node and self.alive(node.parent)
        return node.parent.row_of(node) >= 0 and self.alive(node.parent)

    # ------------------------------------------------------------------ internals: nodes

    def _new_repository(self, registry: RegistryNode, name: str, *,
                        pinned: bool = False) -> RepositoryNode:
        node = RepositoryNode(next(self._ids), parent=registry, name=name, pinned=pinned)
        registry.by_name[name] = node
        self._by_id[node.id] = node
        return node

    def _pinned(self, registry: RegistryNode) -> list[RepositoryNode]:
        """New rows for the repositories the settings say were opened by name."""
        return [self._new_repository(registry, name, pinned=True)
                for name in dict.fromkeys(registry.config.repositories)
                if name not in registry.by_name]

    def _registry_row(self, node: RegistryNode) -> int:
        if self._registry_rows is None:
            self._registry_rows = {n.id: i for i, n in enumerate(self._registries)}
        return self._registry_rows.get(node.id, -1)

    def _registry_index(self, node: RegistryNode, column: int = NAME) -> QModelIndex:
        row = self._registry_row(node)
        return self.createIndex(row, column, 0) if row >= 0 else QModelIndex()

    def _repository_index(self, node: RepositoryNode, column: int = NAME) -> QModelIndex:
        row = node.parent.row_of(node)
        return self.createIndex(row, column, node.parent.id) if row >= 0 else QModelIndex()

    def _tag_index(self, node: TagNode, column: int = NAME) -> QModelIndex:
        row = node.parent.row_of(node)
        return self.createIndex(row, column, node.parent.id) if row >= 0 else QModelIndex()

    def _parent_index(self, node: RegistryNode | RepositoryNode) -> QModelIndex:
        if isinstance(node, RegistryNode):
            return self._registry_index(node)
        return self._repository_index(node)

    def _insert(self, parent: RegistryNode | RepositoryNode, row: int,
                nodes: Sequence[Any]) -> None:
        if not nodes:
            return
        self.beginInsertRows(self._parent_index(parent), row, row + len(nodes) - 1)
        parent.children[row:row] = nodes
        parent.touched()
        self.endInsertRows()

    def _remove_rows(self, parent: RegistryNode | RepositoryNode, first: int, last: int) -> None:
        self.beginRemoveRows(self._parent_index(parent), first, last)
        del parent.children[first:last + 1]
        parent.touched()
        self.endRemoveRows()

    def _remove_messages(self, parent: RegistryNode | RepositoryNode) -> None:
        # messages are always the last rows
        rows = [i for i, c in enumerate(parent.children) if isinstance(c, MessageRow)]
        if rows:
            self._remove_rows(parent, rows[0], len(parent.children) - 1)

    def _set_message(self, parent: RegistryNode | RepositoryNode, text: str,
                     kind: MessageKind, short: str = "") -> None:
        self._remove_messages(parent)
        self._insert(parent, len(parent.children), [MessageRow(parent, text, kind, short)])

    def _add_tail_message(self, registry: RegistryNode) -> None:
        if registry.no_catalog:
            text = (f"Catalog closed to {registry.config.username}: open by name"
                    if registry.catalog_denied else "No catalog: open repositories by name")
            self._set_message(registry, text, "info")
        # listed to its end with no repositories, it has no rows (its page says so): the
        # tree takes away its expand arrow, as from an empty repository (the caller's
        # dataChanged has the tree ask hasChildren again)

    def _forget_ids(self, registry: RegistryNode) -> None:
        self._forget_node(registry)
        for child in registry.children:
            if isinstance(child, RepositoryNode):
                self._forget_node(child)

    def _forget_node(self, node: RegistryNode | RepositoryNode) -> None:
        """Forget a row that goes for good: its id, and its listing's key in the runner."""
        self._by_id.pop(node.id, None)
        self._runner.forget(self._key(node))

    @staticmethod
    def _key(node: RegistryNode | RepositoryNode) -> str:
        kind = "registry" if isinstance(node, RegistryNode) else "repository"
        return f"{kind}:{node.id}:list"

    def _changed(self, node: Node) -> None:
        index = self.index_of(node)
        if index.isValid():
            emit(self.dataChanged, index, index)

    # ------------------------------------------------------------------ QAbstractItemModel

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        """Override QAbstractItemModel::index."""
        if row < 0 or not 0 <= column < len(COLUMN_TITLES):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 0) if row < len(self._registries) \
                else QModelIndex()
        if parent.column() != 0:
            return QModelIndex()
        node = self._node(parent) if parent.isValid() else None
        if isinstance(node, CONTAINERS) and row < len(node.children):
            return self.createIndex(row, column, node.id)
        return QModelIndex()

    def _index_of(self, node: Any) -> QModelIndex:
        """Override IdTreeModel._index_of."""
        return self._parent_index(node)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Override QAbstractItemModel::rowCount."""
        if not parent.isValid():
            return len(self._registries)
        if parent.column() != 0:
            return 0
        node = self._node(parent) if parent.isValid() else None
        return len(node.children) if isinstance(node, RegistryNode | RepositoryNode) else 0

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Override QAbstractItemModel::columnCount."""
        return len(COLUMN_TITLES)

    def hasChildren(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        """Override QAbstractItemModel::hasChildren: unlisted rows may have children."""
        if not parent.isValid():
            return bool(self._registries)
        if parent.column() != 0:
            return False
        node = self._node(parent) if parent.isValid() else None
        if not isinstance(node, RegistryNode | RepositoryNode):
            return False
        return node.state in (LoadState.PENDING, LoadState.LOADING) or bool(node.children)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        """Override QAbstractItemModel::flags: message rows are disabled."""
        # called for every row a tree lays out: kept lean
        node = self._node(index) if index.isValid() else None
        if node is None:
            return _NO_FLAGS
        kind = type(node)
        if kind is MessageRow:
            return _MESSAGE_FLAGS
        if kind is TagNode or index.column() != NAME:
            return _LEAF_FLAGS
        return _BRANCH_FLAGS

    def headerData(
        self, section: int, orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Override QAbstractItemModel::headerData."""
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMN_TITLES):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMN_TITLES[section]
        if role == Qt.ItemDataRole.ToolTipRole and section == ALIASES:
            return "Other tags that point at the same manifest (as far as looked up)"
        return None
