"""The registries of the places tree: registries → repositories → tags, all loaded lazily.

Three levels, like the places model: a registry row (top level), its
repositories (from the catalog, page by page, or opened by name), and a
repository's tags (page by page, kept in natural order). Four columns: the
name, and for tags the digest, the kind of manifest and the other tags of the
same image; the places tree shows the first, the tag table all four.

Nothing is fetched until a view asks (``canFetchMore``/``fetchMore``); every
request runs on the :class:`~spyglass.gui.workers.Runner`. A registry's catalog is read
one page at a time, each when asked for: ``canFetchMore`` offers a registry's first page
only, since a tree asks for more of every expanded row each time it lays itself out (an
expanded registry read its whole catalog, page after page, re-laying out the tree after
each); a later page is asked for with :meth:`RegistriesModel.fetch_next` — by the page's
list as it is scrolled to its end (:class:`ChildFilterModel`), by the tree's
owner as the tree is, or by "Load all" (:meth:`RegistriesModel.fetch_all`). A
repository's tags are read to their end once asked for. Digests are looked up
only for the tag rows a view shows (a view asks :meth:`RegistriesModel.data`
for a digest or a tooltip), a handful at a time (:data:`DIGEST_BATCH` tags
per job, at most ``max_digest_jobs`` jobs at once per registry: a registry that
hangs holds up its own), the most recently shown rows first. Stopping a registry's
listing, removing it, or reloading, forgetting or setting aside a repository ends the
look-ups of its digests, wanted, waiting or under way (:meth:`RegistriesModel._stop_digests`).

Tags that hold attachments rather than images (cosign's ``sha256-<hex>.sig``,
``.att``, ``.sbom``; referrers-schema ``sha256-<hex>``) are known by name; a tag
whose digest has a ``.sig`` tag in the repository is *signed* (:data:`SIGNED_ROLE`)
— known once its digest is, so no request is made for it.
"""

from __future__ import annotations

import html
import itertools
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import QFont, QIcon

from spyglass.core import media
from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import AccessDenied, AuthenticationFailed, Cancelled, SpyglassError
from spyglass.core.manifest import Descriptor
from spyglass.core.natural import NaturalKey, natural_key
from spyglass.core.referrers import attachment_tag_subject, is_attachment_tag, referrers_tag
from spyglass.core.settings import RegistrySettings
from spyglass.gui import icons
from spyglass.gui.colors import muted_color
from spyglass.gui.formatting import SIGNED_TEXT, short_digest
from spyglass.gui.models.places import LoadState
from spyglass.gui.models.table import monospace_font
from spyglass.gui.models.tree import SENTENCE_ROLE, IdTreeModel
from spyglass.gui.registry_jobs import (
    Connection,
    DigestAnswer,
    Listing,
    Page,
    catalog_listing,
    head_digests,
    lists_no_catalog,
    tag_listing,
    tag_reference,
)
from spyglass.gui.signals import emit
from spyglass.gui.workers import Job, Runner, registry_lane

log = logging.getLogger(__name__)

AnyIndex = QModelIndex | QPersistentModelIndex

NAME, DIGEST, TYPE, ALIASES = range(4)
COLUMN_TITLES: Final = ("Tag", "Digest", "Type", "Same image as")

DIGEST_BATCH: Final = 12
"""Tags one digest job looks up."""
MAX_DIGEST_JOBS: Final = 2
MAX_WANTED: Final = 240
"""Digest requests kept waiting; older ones (rows scrolled past) are dropped."""
DIGEST_DELAY_MS: Final = 40
"""Requests are gathered this long before jobs start (a repaint asks for many rows)."""
MAX_ALIASES_SHOWN: Final = 4

KIND_ROLE = Qt.ItemDataRole.UserRole + 20
"""``"registry"``, ``"repository"``, ``"tag"`` or ``"message"``."""
HOST_ROLE = Qt.ItemDataRole.UserRole + 21
REPOSITORY_ROLE = Qt.ItemDataRole.UserRole + 22
TAG_ROLE = Qt.ItemDataRole.UserRole + 23
DIGEST_ROLE = Qt.ItemDataRole.UserRole + 24
"""The digest (str) of a tag, or None while unknown; asking for it fetches nothing."""
STATE_ROLE = Qt.ItemDataRole.UserRole + 25
ERROR_ROLE = Qt.ItemDataRole.UserRole + 26
ALIASES_ROLE = Qt.ItemDataRole.UserRole + 27
"""The other tags (list of str) known to point at the same manifest."""
SIGNED_ROLE = Qt.ItemDataRole.UserRole + 28
"""True for a tag whose digest has a cosign signature tag (``sha256-<hex>.sig``) in the
same repository; False otherwise (also while its digest is unknown)."""
ATTACHMENT_ROLE = Qt.ItemDataRole.UserRole + 29
"""True for a tag that holds something attached to an image, not an image: cosign's
``sha256-<hex>.sig``/``.att``/``.sbom`` and referrers-schema ``sha256-<hex>`` tags."""

MessageKind = Literal["error", "info"]

_LAYOUT_ARGS: Final = ("QList<QPersistentModelIndex>", "QAbstractItemModel::LayoutChangeHint")
"""The overload of ``layout(AboutToBe)Changed`` that names the parents and the hint."""


@dataclass(eq=False)
class MessageRow:
    """A disabled row that is no registry, repository or tag: an error, or a note."""

    parent: RegistryNode | RepositoryNode
    text: str
    kind: MessageKind


@dataclass(eq=False)
class TagNode:
    """One tag; ``digest`` once a ``HEAD`` (or the image view) has told it.

    ``attachment``: the tag holds something attached to an image (see
    :data:`ATTACHMENT_ROLE`), known from its name alone.
    """

    parent: RepositoryNode
    name: str
    key: NaturalKey
    digest: Digest | None = None
    media_type: str | None = None
    error: str | None = None
    pending: bool = False
    attachment: bool = False


@dataclass(eq=False)
class _Parent:
    """What registry and repository rows share: children and their row numbers."""

    id: int
    state: LoadState = field(default=LoadState.PENDING, init=False)
    listing: Listing | None = field(default=None, init=False)
    done: bool = field(default=False, init=False)
    error: str | None = field(default=None, init=False)
    since: float = field(default=0.0, init=False)
    """When the page under way was asked for (:func:`time.monotonic`)."""
    asked: int = field(default=0, init=False)
    """Which :meth:`RegistriesModel.fetch_next` asked for it: the start that call schedules
    is void once the listing stops or another job starts (a Stop and Try Again before it
    ran had two jobs read one listing at once)."""
    stopped: bool = field(default=False, init=False)
    """The listing failed because someone stopped it (:meth:`RegistriesModel.stop`)."""
    _rows: dict[int, int] | None = field(default=None, init=False, repr=False)

    def _children(self) -> Sequence[object]:
        raise NotImplementedError

    def row_of(self, child: object) -> int:
        if self._rows is None:
            self._rows = {id(c): i for i, c in enumerate(self._children())}
        return self._rows.get(id(child), -1)

    def touched(self) -> None:
        self._rows = None

    @property
    def waiting_since(self) -> float | None:
        """When the page under way was asked for; None while none is."""
        return self.since if self.state is LoadState.LOADING else None

    @property
    def more(self) -> bool:
        """More pages may follow (the list is read, but not to its end)."""
        return self.state is LoadState.LOADED and not self.done


@dataclass(eq=False)
class RepositoryNode(_Parent):
    """A repository of a registry, and its tags in natural order."""

    parent: RegistryNode = field(kw_only=True)
    name: str = field(kw_only=True)
    pinned: bool = field(default=False, kw_only=True)
    children: list[TagNode | MessageRow] = field(default_factory=list, kw_only=True)
    by_name: dict[str, TagNode] = field(default_factory=dict, kw_only=True)
    by_digest: dict[Digest, list[TagNode]] = field(default_factory=dict, kw_only=True)
    signed: set[Digest] = field(default_factory=set, kw_only=True)
    """The digests a cosign ``sha256-<hex>.sig`` tag of this repository signs."""
    attachment_tags: int = field(default=0, kw_only=True)
    """How many of the tags are attachment tags (see :data:`ATTACHMENT_ROLE`)."""

    def _children(self) -> Sequence[object]:
        return self.children

    def is_signed(self, tag: TagNode) -> bool:
        return tag.digest is not None and tag.digest in self.signed

    @property
    def tags(self) -> list[TagNode]:
        return [c for c in self.children if isinstance(c, TagNode)]

    @property
    def all_digests_known(self) -> bool:
        """Whether every tag is listed and its digest looked up (or found unreadable):
        then :meth:`aliases` knows every other tag of an image, not those seen so far."""
        return self.done and all(t.digest is not None or t.error
                                 for t in self.by_name.values())

    def aliases(self, tag: TagNode) -> list[str]:
        if tag.digest is None:
            return []
        return [t.name for t in self.by_digest.get(tag.digest, ()) if t is not tag]


@dataclass(eq=False)
class RegistryNode(_Parent):
    """A registry: its settings, its connection, and its repositories."""

    config: RegistrySettings = field(kw_only=True)
    connection: Connection = field(kw_only=True)
    children: list[RepositoryNode | MessageRow] = field(default_factory=list, kw_only=True)
    by_name: dict[str, RepositoryNode] = field(default_factory=dict, kw_only=True)
    no_catalog: bool = field(default=False, kw_only=True)
    catalog_denied: bool = field(default=False, kw_only=True)
    """With ``no_catalog``: the user signed in may not read it (others may)."""
    load_all: bool = field(default=False, kw_only=True)
    rate_limited: bool = field(default=False, kw_only=True)
    credentials_note: str = field(default="", kw_only=True)

    def _children(self) -> Sequence[object]:
        return self.children

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def repositories(self) -> list[RepositoryNode]:
        return [c for c in self.children if isinstance(c, RepositoryNode)]


Node = RegistryNode | RepositoryNode | TagNode | MessageRow
_CONTAINERS: Final = (RegistryNode, RepositoryNode)

_NO_FLAGS: Final = Qt.ItemFlag.NoItemFlags
_MESSAGE_FLAGS: Final = Qt.ItemFlag.ItemNeverHasChildren
_BRANCH_FLAGS: Final = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_LEAF_FLAGS: Final = _BRANCH_FLAGS | Qt.ItemFlag.ItemNeverHasChildren


@dataclass(eq=False)
class _Lookup:
    """One digest job submitted and not answered yet: the tags it looks up, its job."""

    repo: RepositoryNode
    batch: list[TagNode]
    job: Job | None = None


@dataclass(frozen=True)
class _NoCatalog:
    sentence: str
    denied: bool
    """The catalog is there, closed to these credentials (not closed to all)."""


@dataclass(frozen=True)
class SortedPage:
    """A page of tags sorted on the worker: names with their natural keys."""

    entries: tuple[tuple[str, NaturalKey], ...]
    done: bool


def sort_page(page: Page) -> SortedPage:
    entries = sorted(((name, natural_key(name)) for name in page.names), key=lambda e: e[1])
    return SortedPage(tuple(entries), page.done)


class RegistriesModel(IdTreeModel):
    """Registries, their repositories and tags; see the module docstring.

    Signals:
        registryLoaded(str): an answer about this host's repositories is in (a page,
            or that the registry lists none).
        registryFailed(str, str): listing this host's repositories failed; the sentence.
        tagsLoaded(str, str, bool): a page of tags of (host, repository) arrived;
            True once it was the last.
        repositoryFailed(str, str, str): listing (host, repository) failed; the sentence.
        digestsArrived(str, str): digests of tags of (host, repository) became known.
        message(str): a notice for the status bar (a registry limiting requests).
    """

    registryLoaded = Signal(str)
    registryFailed = Signal(str, str)
    tagsLoaded = Signal(str, str, bool)
    repositoryFailed = Signal(str, str, str)
    digestsArrived = Signal(str, str)
    message = Signal(str)

    def __init__(
        self, runner: Runner, parent: QObject | None = None, *,
        max_digest_jobs: int = MAX_DIGEST_JOBS,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._registries: list[RegistryNode] = []
        self._registry_rows: dict[int, int] | None = None
        self._by_id: dict[int, RegistryNode | RepositoryNode] = {}
        self._ids = itertools.count(1)
        self._asks = itertools.count(1)
        self._mono = monospace_font()
        self._max_digest_jobs = max_digest_jobs
        self._wanted: dict[TagNode, None] = {}
        self._lookups: dict[str, list[_Lookup]] = {}
        """The digest jobs submitted and not answered, per registry host: how many a
        registry has under way is how many are here (a job stopped leaves at once)."""
        self._digest_timer = QTimer(self)
        self._digest_timer.setSingleShot(True)
        self._digest_timer.setInterval(DIGEST_DELAY_MS)
        self._digest_timer.timeout.connect(self._dispatch_digests)

    # ------------------------------------------------------------------ registries

    @property
    def hosts(self) -> list[str]:
        return [node.host for node in self._registries]

    def add_registry(self, config: RegistrySettings, connection: Connection) -> QModelIndex:
        """Add a registry row at the end (nothing is fetched until a view asks)."""
        existing = self.registry_index(config.host)
        if existing.isValid():
            self.update_registry(config, connection)
            return existing
        node = RegistryNode(next(self._ids), config=config, connection=connection)
        node.children.extend(self._pinned(node))
        row = len(self._registries)
        self.beginInsertRows(QModelIndex(), row, row)
        self._registries.append(node)
        self._registry_rows = None
        self._by_id[node.id] = node
        self.endInsertRows()
        return self.index(row, 0)

    def update_registry(self, config: RegistrySettings, connection: Connection) -> None:
        """New settings or credentials for a registry: start over with them."""
        node = self.registry_node(self.registry_index(config.host))
        if node is None:
            return
        loaded = node.state is not LoadState.PENDING
        node.config = config
        node.connection = connection
        self._reset_registry(node)
        if loaded:
            self.fetch_next(self._registry_index(node))

    def remove_registry(self, host: str) -> None:
        index = self.registry_index(host)
        node = self.registry_node(index)
        if node is None:
            return
        row = index.row()
        self._stop_registry(node)
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._registries[row]
        self._registry_rows = None
        self._forget_ids(node)
        self.endRemoveRows()

    def reload(self, index: AnyIndex) -> None:
        """List a registry's repositories, or a repository's tags, again."""
        node = self.node(index)
        if isinstance(node, RegistryNode):
            self._reset_registry(node)
            self.fetch_next(self._registry_index(node))
        elif isinstance(node, RepositoryNode):
            self._reset_repository(node)
            self.fetch_next(self._repository_index(node))

    def refresh_repository(self, index: AnyIndex, written: str | None = None,
                           descriptor: Descriptor | None = None) -> None:
        """A copy wrote tag ``written`` (the image ``descriptor``) into the repository at
        ``index``: list its tags again without taking away the rows there (the selection,
        and what the window shows, stay), and point the tag at what was written.

        A repository never listed is left to list when it is opened; one that failed,
        or whose listing is under way (it may have read past the new tag), is listed
        again."""
        node = self.node(index)
        if not isinstance(node, RepositoryNode):
            return
        if node.state is LoadState.FAILED:
            self.reload(index)
            return
        if written is not None and descriptor is not None:
            self.set_digest(node.parent.host, node.name, written, descriptor.digest,
                            descriptor.media_type)
        if node.state in (LoadState.LOADED, LoadState.LOADING):
            # a listing under way may have read past the new tag already: start over
            self._stop_listing(node)
            node.listing = tag_listing(node.parent.connection, node.name)
            self._start_tags(node)

    def add_repository(self, index: AnyIndex, name: str) -> QModelIndex:
        """A copy created repository ``name`` in the registry at ``index``: its row, in
        catalog order, where the catalog listed so far reaches that far (a later page
        brings it otherwise); the other rows stay as they are."""
        registry, known = self._adding_to(index, name, relist_failed=True)
        if registry is None:
            return known
        listed = [c for c in registry.children if isinstance(c, RepositoryNode) and not c.pinned]
        if (registry.state is not LoadState.LOADED or registry.no_catalog
                or not (registry.done or (listed and name < listed[-1].name))):
            return QModelIndex()
        row = len(registry.children) - len(
            [c for c in registry.children if isinstance(c, MessageRow)])
        for child in listed:
            if child.name > name:
                row = registry.row_of(child)
                break
        self._remove_messages(registry)
        node = self._new_repository(registry, name)
        self._insert(registry, min(row, len(registry.children)), [node])
        self._changed(registry)
        return self._repository_index(node)

    def close_all(self) -> None:
        """Stop everything (the window is closing)."""
        for node in self._registries:
            self._stop_registry(node)
        self._wanted.clear()
        self._digest_timer.stop()

    def fetch_all(self, index: AnyIndex) -> None:
        """Read a registry's catalog to its end (a filter wants every name)."""
        node = self.node(index)
        if isinstance(node, RegistryNode) and not node.no_catalog:
            node.load_all = True
            self.fetch_next(index)

    def stop(self, index: AnyIndex, sentence: str) -> None:
        """Stop listing the registry or repository at ``index`` (someone pressed Stop):
        it fails with ``sentence``, and Try Again lists it anew. The digests being looked
        up in the registry stop too (they wait on the registry that did not answer); a
        view that shows their tags again asks for them again."""
        node = self.node(index)
        if not isinstance(node, _CONTAINERS) or node.state is not LoadState.LOADING:
            return
        self._stop_listing(node)
        # the digests looked up there wait on the registry that did not answer: they go
        # too, or they hold its lane (and its digest jobs) for minutes
        self._stop_digests(node if isinstance(node, RegistryNode) else node.parent)
        node.state = LoadState.FAILED
        node.error = sentence
        node.stopped = True
        self._set_message(node, sentence, "error")
        self._changed(node)
        if isinstance(node, RegistryNode):
            emit(self.registryFailed, node.host, sentence)
        else:
            emit(self.repositoryFailed, node.parent.host, node.name, sentence)

    def set_aside(self, index: AnyIndex) -> None:
        """Nobody looks at the repository at ``index`` any more: its listing stops if
        nothing of it has come yet (it is asked for again when someone looks), and so do
        the look-ups of its digests. A listing that answers is left to finish, and what
        it brought is kept."""
        node = self.node(index)
        if not isinstance(node, RepositoryNode) or node.state is not LoadState.LOADING \
                or node.children:
            return
        self._stop_listing(node)
        self._stop_digests(node.parent, node)
        node.state = LoadState.PENDING
        self._changed(node)

    def can_fetch_next(self, index: AnyIndex) -> bool:
        """Whether the registry or repository at ``index`` has a page still to read: the
        first, or one after those read."""
        node = self.node(index)
        if not isinstance(node, _CONTAINERS) or index.column() != 0:
            return False
        return node.state is LoadState.PENDING or node.more

    def fetch_next(self, index: AnyIndex) -> None:
        """Read the next page of the registry or repository at ``index`` in the background
        (nothing when it has none, or one is on its way)."""
        if not self.can_fetch_next(index):
            return
        node = self.node(index)
        assert isinstance(node, _CONTAINERS)
        # Views call this while they lay out their rows (QTreeView does): nothing may
        # change under them now. The state changes at once, so no page is asked for
        # twice; the rest (signals, the job) follows from the event loop.
        node.state = LoadState.LOADING
        node.since = time.monotonic()
        node.asked = asked = next(self._asks)
        QTimer.singleShot(0, lambda: self._start(node, asked))

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

    # ------------------------------------------------------------------ repositories

    def _adding_to(self, index: AnyIndex, name: str, *,
                   relist_failed: bool) -> tuple[RegistryNode | None, QModelIndex]:
        """The registry a repository ``name`` is to be added to, or (None, the answer)
        when there is nothing to add: no registry (an invalid index), a row already
        there (its index), or with ``relist_failed`` a catalog that failed (listed again
        instead: it may answer now)."""
        registry = self.registry_node(index)
        if registry is None:
            return None, QModelIndex()
        if relist_failed and registry.state is LoadState.FAILED:
            self.reload(self._registry_index(registry))
            return None, QModelIndex()
        existing = registry.by_name.get(name)
        if existing is not None:
            return None, self._repository_index(existing)
        return registry, QModelIndex()

    def open_repository(self, index: AnyIndex, name: str) -> QModelIndex:
        """The row of repository ``name`` of the registry at ``index``, added if absent.

        A repository opened by name stays in the registry's settings (see
        :meth:`RegistrySettings.repositories`) and is listed first.
        """
        registry, known = self._adding_to(index, name, relist_failed=False)
        if registry is None:
            return known
        if name not in registry.config.repositories:
            registry.config.repositories.append(name)
        node = self._new_repository(registry, name, pinned=True)
        row = sum(1 for c in registry.children if isinstance(c, RepositoryNode) and c.pinned)
        self._insert(registry, row, [node])
        self._changed(registry)
        return self._repository_index(node)

    def forget_repository(self, index: AnyIndex) -> None:
        """Take a repository opened by name off its registry's list."""
        node = self.node(index)
        if not isinstance(node, RepositoryNode) or not node.pinned:
            return
        registry = node.parent
        if node.name in registry.config.repositories:
            registry.config.repositories.remove(node.name)
        self._stop_repository(node)
        row = registry.row_of(node)
        self.beginRemoveRows(self._registry_index(registry), row, row)
        del registry.children[row]
        registry.touched()
        del registry.by_name[node.name]
        self._by_id.pop(node.id, None)
        self.endRemoveRows()

    def feed_repositories(self, index: AnyIndex, names: Iterable[str], *, done: bool) -> None:
        """Add a page of repository names under the registry at ``index``."""
        registry = self.registry_node(index)
        if registry is None:
            return
        self._remove_messages(registry)
        fresh: list[RepositoryNode] = []
        for name in names:
            if name in registry.by_name:
                continue
            node = self._new_repository(registry, name)
            fresh.append(node)
        if fresh:
            self._insert(registry, len(registry.children), fresh)
        registry.state = LoadState.LOADED
        registry.done = done
        self._add_tail_message(registry)
        self._changed(registry)

    # ------------------------------------------------------------------ tags

    def feed_tags(self, index: AnyIndex, names: Iterable[str], *, done: bool) -> None:
        """Add a page of tags under the repository at ``index`` (any order, any size).

        The page is sorted and inserted in one go; when it does not simply
        follow the rows already there, the rows are put back into natural
        order with one layout change.
        """
        node = self.node(index)
        if isinstance(node, RepositoryNode):
            page = sort_page(Page(tuple(names), done))
            self._add_tag_page(node, page)

    def set_digest(self, host: str, repository: str, tag: str, digest: Digest,
                   media_type: str | None = None) -> None:
        """What the image view learned: ``tag`` points at ``digest``."""
        node = self.node(self.tag_index(host, repository, tag))
        if isinstance(node, TagNode) and node.digest != digest:
            self._apply_digests(node.parent, [(node, DigestAnswer(tag, digest, media_type))])

    def look_again(self, host: str, repository: str, tag: str) -> None:
        """Forget what ``tag`` was known to point at and look it up anew (a delete found
        it pointing at nothing: someone else deleted its image meanwhile)."""
        node = self.node(self.tag_index(host, repository, tag))
        if not isinstance(node, TagNode) or node.pending:
            return
        repo = node.parent
        if node.digest is not None:
            group = repo.by_digest.get(node.digest, [])
            if node in group:
                group.remove(node)
            node.digest = node.media_type = None
        node.error = None
        row = repo.row_of(node)
        if row >= 0:
            emit(self.dataChanged, self.createIndex(row, NAME, repo.id),
                 self.createIndex(row, ALIASES, repo.id))
        self._want(node)

    def want_digest(self, index: AnyIndex) -> None:
        """Look up the digest of the tag at ``index`` soon (a view shows or hovers it)."""
        node = self.node(index)
        if isinstance(node, TagNode):
            self._want(node)

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
                     kind: MessageKind) -> None:
        self._remove_messages(parent)
        self._insert(parent, len(parent.children), [MessageRow(parent, text, kind)])

    def _add_tail_message(self, registry: RegistryNode) -> None:
        if registry.no_catalog:
            text = (f"Catalog closed to {registry.config.username}: open by name"
                    if registry.catalog_denied else "No catalog: open repositories by name")
            self._set_message(registry, text, "info")
        elif registry.done and not registry.children:
            self._set_message(registry, "This registry holds no repositories.", "info")

    def _forget_ids(self, registry: RegistryNode) -> None:
        self._by_id.pop(registry.id, None)
        for child in registry.children:
            if isinstance(child, RepositoryNode):
                self._by_id.pop(child.id, None)

    def _stop_listing(self, node: RegistryNode | RepositoryNode) -> None:
        node.asked = 0
        self._runner.cancel(self._key(node))
        if node.listing is not None:
            node.listing.token.cancel()
            node.listing = None

    def _stop_repository(self, node: RepositoryNode) -> None:
        self._stop_listing(node)
        self._stop_digests(node.parent, node)

    def _stop_registry(self, node: RegistryNode) -> None:
        self._stop_listing(node)
        for repo in node.repositories:
            self._stop_listing(repo)
        self._stop_digests(node)

    def _reset_registry(self, node: RegistryNode) -> None:
        old = node.repositories
        self._stop_registry(node)
        if node.children:
            self._remove_rows(node, 0, len(node.children) - 1)
        for repo in old:
            self._by_id.pop(repo.id, None)
        node.by_name = {}
        node.state = LoadState.PENDING
        node.done = node.no_catalog = node.load_all = node.rate_limited = False
        node.catalog_denied = False
        node.error = None
        self._insert(node, 0, self._pinned(node))
        self._changed(node)

    def _reset_repository(self, node: RepositoryNode) -> None:
        self._stop_repository(node)
        if node.children:
            self._remove_rows(node, 0, len(node.children) - 1)
        node.by_name = {}
        node.by_digest = {}
        node.signed = set()
        node.attachment_tags = 0
        node.state = LoadState.PENDING
        node.done = False
        node.error = None
        self._changed(node)

    @staticmethod
    def _key(node: RegistryNode | RepositoryNode) -> str:
        kind = "registry" if isinstance(node, RegistryNode) else "repository"
        return f"{kind}:{node.id}:list"

    def _changed(self, node: Node) -> None:
        index = self.index_of(node)
        if index.isValid():
            emit(self.dataChanged, index, index)

    # ------------------------------------------------------------------ internals: catalog

    def _start_catalog(self, node: RegistryNode) -> None:
        first = node.listing is None
        if node.listing is None:
            node.listing = catalog_listing(node.connection)
        listing, connection = node.listing, node.connection
        node.state = LoadState.LOADING
        node.since, node.stopped = time.monotonic(), False
        node.asked = 0  # a start still scheduled would ask for this page again
        self._changed(node)

        def job(cancel: CancelToken) -> Page | _NoCatalog:
            try:
                return listing.next_page(cancel)
            except Cancelled:
                raise
            except SpyglassError as exc:
                if first and lists_no_catalog(connection, exc, cancel):
                    return _NoCatalog(str(exc), isinstance(exc, AuthenticationFailed
                                                           | AccessDenied))
                raise

        self._runner.submit(
            job,
            on_done=lambda answer: self._catalog_page(node, listing, answer),
            on_error=lambda message: self._catalog_failed(node, listing, message),
            key=self._key(node),
            what=f"listing the repositories of {node.host}",
            lane=registry_lane(node.host),
        )

    def _catalog_page(self, node: RegistryNode, listing: Listing,
                      answer: Page | _NoCatalog) -> None:
        if not self.alive(node) or node.listing is not listing:
            return
        if isinstance(answer, _NoCatalog):
            log.info("%s lists no repositories: %s", node.host, answer.sentence)
            node.no_catalog = True
            node.catalog_denied = answer.denied and bool(node.config.username)
            node.done = True
            node.state = LoadState.LOADED
            node.listing = None
            self._add_tail_message(node)
            self._changed(node)
            emit(self.registryLoaded, node.host)
            return
        self.feed_repositories(self._registry_index(node), answer.names, done=answer.done)
        if answer.done:
            node.listing = None
        elif node.load_all or len(answer.names) < listing.page_size:
            # a short page is usually the last: the next call finds out without a request
            self._start_catalog(node)
        emit(self.registryLoaded, node.host)

    def _catalog_failed(self, node: RegistryNode, listing: Listing, message: str) -> None:
        if not self.alive(node) or node.listing is not listing:
            return
        node.state = LoadState.FAILED
        node.error = message
        node.listing = None
        self._set_message(node, node.error, "error")
        self._changed(node)
        emit(self.registryFailed, node.host, node.error)

    # ------------------------------------------------------------------ internals: tags

    def _start_tags(self, node: RepositoryNode) -> None:
        if node.listing is None:
            node.listing = tag_listing(node.parent.connection, node.name)
        listing = node.listing
        node.state = LoadState.LOADING
        node.since, node.stopped = time.monotonic(), False
        node.asked = 0  # a start still scheduled would ask for this page again
        self._changed(node)
        self._runner.submit(
            lambda cancel: sort_page(listing.next_page(cancel)),
            on_done=lambda page: self._tag_page(node, listing, page),
            on_error=lambda message: self._tags_failed(node, listing, message),
            key=self._key(node),
            what=f"listing the tags of {node.parent.host}/{node.name}",
            lane=registry_lane(node.parent.host),
        )

    def _tag_page(self, node: RepositoryNode, listing: Listing, page: SortedPage) -> None:
        if not self.alive(node) or node.listing is not listing:
            return
        self._add_tag_page(node, page)
        if page.done:
            node.listing = None
        else:
            self._start_tags(node)  # the next page at once: tags are read to the end

    def _add_tag_page(self, node: RepositoryNode, page: SortedPage) -> None:
        self._remove_messages(node)
        seen = node.by_name
        fresh: list[TagNode] = []
        newly_signed: list[Digest] = []
        for name, key in page.entries:
            if name in seen:
                continue
            tag = TagNode(node, name, key, attachment=is_attachment_tag(name))
            if tag.attachment:
                node.attachment_tags += 1
                subject = attachment_tag_subject(name) if name.endswith(".sig") else None
                if subject is not None and subject not in node.signed:
                    node.signed.add(subject)
                    newly_signed.append(subject)
            seen[name] = tag
            fresh.append(tag)
        if fresh:
            self._merge_tags(node, fresh)
        self._signatures_arrived(node, newly_signed)
        node.state = LoadState.LOADED
        node.done = page.done
        if page.done and not node.children:
            self._set_message(node, "This repository has no tags.", "info")
        self._changed(node)
        emit(self.tagsLoaded, node.parent.host, node.name, page.done)

    def _merge_tags(self, node: RepositoryNode, fresh: list[TagNode]) -> None:
        tags = node.children
        last = tags[-1] if tags else None
        in_order = last is None or (isinstance(last, TagNode) and last.key < fresh[0].key)
        self._insert(node, len(tags), fresh)
        if in_order:
            return
        # the page interleaves with the rows already there: one layout change puts
        # everything back into order (Timsort merges the two sorted runs in O(n))
        parent = QPersistentModelIndex(self._repository_index(node))
        hint = QAbstractItemModel.LayoutChangeHint.VerticalSortHint
        emit(_with_parents(self.layoutAboutToBeChanged), [parent], hint)
        before = list(tags)
        tags.sort(key=lambda t: t.key if isinstance(t, TagNode) else ((), ""))
        node.touched()
        old: list[QModelIndex] = []
        new: list[QModelIndex] = []
        for index in self.persistentIndexList():
            if index.internalId() == node.id and 0 <= index.row() < len(before):
                row = node.row_of(before[index.row()])
                old.append(index)
                new.append(self.createIndex(row, index.column(), node.id))
        if old:
            self.changePersistentIndexList(old, new)
        emit(_with_parents(self.layoutChanged), [parent], hint)

    def _signatures_arrived(self, node: RepositoryNode, subjects: list[Digest]) -> None:
        """Repaint the tags already known to point at newly signed digests."""
        rows = [node.row_of(t) for d in subjects for t in node.by_digest.get(d, ())]
        rows = [r for r in rows if r >= 0]
        if rows:
            emit(self.dataChanged, self.createIndex(min(rows), NAME, node.id),
                 self.createIndex(max(rows), ALIASES, node.id))

    def _tags_failed(self, node: RepositoryNode, listing: Listing, message: str) -> None:
        if not self.alive(node) or node.listing is not listing:
            return
        node.state = LoadState.FAILED
        node.error = message
        node.listing = None
        self._set_message(node, node.error, "error")
        self._changed(node)
        emit(self.repositoryFailed, node.parent.host, node.name, node.error)

    # ------------------------------------------------------------------ internals: digests

    def _want(self, tag: TagNode) -> None:
        if (tag.digest is not None or tag.error is not None or tag.pending
                or self._max_digest_jobs <= 0 or tag.parent.parent.rate_limited):
            return
        self._wanted.pop(tag, None)
        self._wanted[tag] = None
        while len(self._wanted) > MAX_WANTED:
            del self._wanted[next(iter(self._wanted))]
        if not self._digest_timer.isActive():
            self._digest_timer.start()

    def _dispatch_digests(self) -> None:
        lookups = self._lookups
        while self._wanted:
            # the newest tag wanted of a registry that may have another job
            repo = next((t.parent for t in reversed(self._wanted)
                         if len(lookups.get(t.parent.parent.host, ())) < self._max_digest_jobs),
                        None)
            if repo is None:
                return
            batch: list[TagNode] = []
            for tag in reversed(list(self._wanted)):
                if tag.parent is repo:
                    batch.append(tag)
                    if len(batch) >= DIGEST_BATCH:
                        break
            for tag in batch:
                del self._wanted[tag]
            batch = [t for t in batch if self.alive(t) and t.digest is None]
            if not batch or repo.parent.rate_limited:
                continue
            self._submit_digests(repo, batch)

    def _submit_digests(self, repo: RepositoryNode, batch: list[TagNode]) -> None:
        for tag in batch:
            tag.pending = True
        names = [t.name for t in batch]
        connection, name, host = repo.parent.connection, repo.name, repo.parent.host
        lookup = _Lookup(repo, batch)
        self._lookups.setdefault(host, []).append(lookup)
        lookup.job = self._runner.submit(
            lambda cancel: head_digests(connection, name, names, cancel),
            on_done=lambda answers: self._digests_answered(lookup, answers),
            on_error=lambda message: self._digests_failed(lookup, message),
            what=f"looking up digests in {repo.parent.host}/{name}",
            lane=registry_lane(repo.parent.host),
        )

    def _digest_job_ended(self, lookup: _Lookup) -> bool:
        """Count ``lookup`` off its registry's jobs under way; False if it was already
        (stopped: :meth:`_stop_digests`)."""
        host = lookup.repo.parent.host
        lookups = self._lookups.get(host, [])
        if lookup not in lookups:
            return False
        lookups.remove(lookup)
        if not lookups:
            del self._lookups[host]
        return True

    def _stop_digests(self, registry: RegistryNode, repo: RepositoryNode | None = None) -> None:
        """Drop the digest look-ups of ``repo`` (of every repository of ``registry``
        without one): the tags wanted, and the jobs waiting for a thread or under way,
        whose requests are cancelled and which no longer count as the registry's jobs.
        Their tags are no longer pending: they are looked up again once a view shows
        them."""
        def ours(tag: TagNode) -> bool:
            return tag.parent is repo if repo is not None else tag.parent.parent is registry

        for tag in [t for t in self._wanted if ours(t)]:
            del self._wanted[tag]
        stopped = [lookup for lookup in self._lookups.get(registry.host, ())
                   if ours(lookup.batch[0])]
        for lookup in stopped:
            self._digest_job_ended(lookup)
            if lookup.job is not None:
                self._runner.cancel_job(lookup.job)
            for tag in lookup.batch:
                tag.pending = False
        if stopped and self._wanted and not self._digest_timer.isActive():
            self._digest_timer.start()  # the registry's other tags wanted may go now

    def _digests_answered(self, lookup: _Lookup, answers: list[DigestAnswer]) -> None:
        if not self._digest_job_ended(lookup):
            return
        repo, batch = lookup.repo, lookup.batch
        pairs = [(t, a) for t, a in zip(batch, answers, strict=True) if self.alive(t)]
        for tag, _answer in pairs:
            tag.pending = False
        if any(a.rate_limited for _t, a in pairs) and not repo.parent.rate_limited:
            repo.parent.rate_limited = True
            emit(self.message, f"The registry {repo.parent.host} is limiting requests; "
                 "Spyglass stops looking up digests there until it is reloaded.")
        self._apply_digests(repo, [(t, a) for t, a in pairs if not a.rate_limited])
        self._dispatch_digests()

    def _digests_failed(self, lookup: _Lookup, message: str) -> None:
        if not self._digest_job_ended(lookup):
            return
        repo, batch = lookup.repo, lookup.batch
        answers = [DigestAnswer(t.name, None, None, message) for t in batch]
        for tag in batch:
            tag.pending = False
        self._apply_digests(repo, [(t, a) for t, a in zip(batch, answers, strict=True)
                                   if self.alive(t)])
        self._dispatch_digests()

    def _apply_digests(self, repo: RepositoryNode,
                       pairs: Sequence[tuple[TagNode, DigestAnswer]]) -> None:
        if not pairs or not self.alive(repo):
            return
        touched: set[Digest] = set()
        rows: list[int] = []
        for tag, answer in pairs:
            if tag.digest is not None and tag.digest != answer.digest:
                group = repo.by_digest.get(tag.digest, [])
                if tag in group:
                    group.remove(tag)
                touched.add(tag.digest)
            if answer.digest is None:
                tag.error = answer.error or "The registry did not say."
            else:
                tag.error = None
                tag.digest = answer.digest
                tag.media_type = answer.media_type
                group = repo.by_digest.setdefault(answer.digest, [])
                if tag not in group:
                    group.append(tag)
                    group.sort(key=lambda t: t.key)
                touched.add(answer.digest)
            rows.append(repo.row_of(tag))
        for digest in touched:
            rows.extend(repo.row_of(t) for t in repo.by_digest.get(digest, ()))
        rows = [r for r in rows if r >= 0]
        if rows and repo.all_digests_known:  # the last ones: no alias is "so far" now
            rows.extend((0, len(repo.children) - 1))
        if rows:
            parent = repo.id
            emit(self.dataChanged, self.createIndex(min(rows), NAME, parent),
                 self.createIndex(max(rows), ALIASES, parent))
        emit(self.digestsArrived, repo.parent.host, repo.name)

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
        if isinstance(node, _CONTAINERS) and row < len(node.children):
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

    def canFetchMore(self, parent: AnyIndex) -> bool:
        """Override QAbstractItemModel::canFetchMore: a list not read yet, or a repository's
        tags not read to the end; a registry's later pages are not offered (see the
        module docstring: :meth:`fetch_next` reads them)."""
        node = self._node(parent) if parent.isValid() else None
        if not isinstance(node, RegistryNode | RepositoryNode) or parent.column() != 0:
            return False
        return node.state is LoadState.PENDING or (node.more and isinstance(node, RepositoryNode))

    def fetchMore(self, parent: AnyIndex) -> None:
        """Override QAbstractItemModel::fetchMore: read the page :meth:`canFetchMore`
        offers, in the background."""
        if self.canFetchMore(parent):
            self.fetch_next(parent)

    def _start(self, node: RegistryNode | RepositoryNode, asked: int) -> None:
        if not self.alive(node) or node.state is not LoadState.LOADING or node.asked != asked:
            return
        if isinstance(node, RegistryNode):
            self._start_catalog(node)
        else:
            self._start_tags(node)

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

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override QAbstractItemModel::data."""
        node = self._node(index) if index.isValid() else None
        if node is None:
            return None
        column = index.column()
        if role == KIND_ROLE:
            return _kind(node)
        if isinstance(node, TagNode):
            return self._tag_data(node, column, role)
        if column != NAME:
            return None
        if isinstance(node, RegistryNode):
            return self._registry_data(node, role)
        if isinstance(node, RepositoryNode):
            return self._repository_data(node, role)
        return self._message_data(node, role)

    # ------------------------------------------------------------------ data per kind of row

    def _registry_data(self, node: RegistryNode, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return node.host
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"docker://{node.host}", registry_summary(node)]
            if node.error:
                lines.append(node.error)
            return _rich_tooltip("\n".join(lines))
        if role == Qt.ItemDataRole.DecorationRole:
            return icons.warning_icon() if node.state is LoadState.FAILED \
                else icons.registry_icon()
        if role in _ACCESSIBLE_ROLES:  # (what the warning icon says)
            return _failed_text(node.host, node.state, node.error, role)
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            font.setItalic(node.state is LoadState.LOADING)
            return font
        if role == HOST_ROLE:
            return node.host
        if role == STATE_ROLE:
            return node.state.value
        if role == ERROR_ROLE:
            return node.error
        return None

    def _repository_data(self, node: RepositoryNode, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return node.name
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"{node.parent.host}/{node.name}", tags_summary(node)]
            if node.pinned:
                lines.append("Opened by name.")
            return _rich_tooltip("\n".join(lines))
        if role == Qt.ItemDataRole.DecorationRole:
            return icons.warning_icon() if node.state is LoadState.FAILED \
                else icons.repository_icon()
        if role in _ACCESSIBLE_ROLES:
            return _failed_text(node.name, node.state, node.error, role)
        if role == Qt.ItemDataRole.FontRole and node.state is LoadState.LOADING:
            font = QFont()
            font.setItalic(True)
            return font
        if role == HOST_ROLE:
            return node.parent.host
        if role == REPOSITORY_ROLE:
            return node.name
        if role == STATE_ROLE:
            return node.state.value
        if role == ERROR_ROLE:
            return node.error
        return None

    def _tag_data(self, node: TagNode, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == NAME:
                return node.name
            if column == DIGEST:
                self._want(node)
                if node.digest is not None:
                    return short_digest(node.digest)
                return "—" if node.error else "…"
            if column == TYPE:
                return media.friendly(node.media_type) if node.media_type else ""
            aliases = node.parent.aliases(node)
            # whether all are known matters only to a count (a pass over every tag)
            return _aliases_text(aliases, len(aliases) <= MAX_ALIASES_SHOWN
                                 or node.parent.all_digests_known)
        if role == Qt.ItemDataRole.ToolTipRole:
            self._want(node)
            return self._tag_tooltip(node)
        if role == Qt.ItemDataRole.DecorationRole and column == NAME:
            return icons.alias_icon() if node.parent.aliases(node) else icons.tag_icon()
        if role == Qt.ItemDataRole.AccessibleTextRole and column == NAME:
            # the "signed" pill is painted: a screen reader gets it from here
            return f"{node.name}, {SIGNED_TEXT}" if node.parent.is_signed(node) else None
        if role == Qt.ItemDataRole.FontRole and column == DIGEST:
            return self._mono
        if role == Qt.ItemDataRole.ForegroundRole and column in (DIGEST, ALIASES):
            if column == ALIASES or node.digest is None:
                return muted_color()
            return None
        if role == HOST_ROLE:
            return node.parent.parent.host
        if role == REPOSITORY_ROLE:
            return node.parent.name
        if role == TAG_ROLE:
            return node.name
        if role == DIGEST_ROLE:
            return str(node.digest) if node.digest is not None else None
        if role == ALIASES_ROLE:
            return node.parent.aliases(node)
        if role == SIGNED_ROLE:
            return node.parent.is_signed(node)
        if role == ATTACHMENT_ROLE:
            return node.attachment
        if role == ERROR_ROLE:
            return node.error
        return None

    def _tag_tooltip(self, node: TagNode) -> str:
        repo = node.parent
        lines = [tag_reference(repo.parent.host, repo.name, node.name)]
        if node.digest is not None:
            lines.append(str(node.digest))
            if node.media_type:
                lines.append(media.friendly(node.media_type))
            aliases = repo.aliases(node)
            if aliases:
                known = "" if repo.all_digests_known else \
                    " (of the tags whose digests are looked up so far)"
                lines.append("Same image as " + ", ".join(aliases) + known)
            if repo.is_signed(node):
                lines.append(f"Signed: the cosign signature tag "
                             f"{referrers_tag(node.digest)}.sig is in this repository "
                             "(open the image's Signatures tab to verify it).")
        elif node.error:
            lines.append(f"Digest unknown: {node.error}")
        else:
            lines.append("Looking up the digest…")
        return _rich_tooltip("\n".join(lines))

    def _message_data(self, node: MessageRow, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return node.text
        if role == SENTENCE_ROLE:
            return True
        if role == Qt.ItemDataRole.ToolTipRole:
            return _rich_tooltip(node.text)
        if role == Qt.ItemDataRole.DecorationRole:
            return icons.warning_icon() if node.kind == "error" else QIcon()
        if role == Qt.ItemDataRole.ForegroundRole:
            return muted_color()
        if role == ERROR_ROLE:
            return node.text if node.kind == "error" else None
        return None


def _with_parents(signal: SignalInstance) -> SignalInstance:
    """The overload of a layout signal that carries the parents and the hint."""
    overload: SignalInstance = signal[_LAYOUT_ARGS]  # type: ignore[index]
    return overload


def _kind(node: Node) -> str:
    if isinstance(node, RegistryNode):
        return "registry"
    if isinstance(node, RepositoryNode):
        return "repository"
    if isinstance(node, TagNode):
        return "tag"
    return "message"


def registry_summary(node: RegistryNode) -> str:
    """``User alice · plain HTTP … allowed``: how Spyglass talks to the registry."""
    parts = [f"user {node.config.username}" if node.config.username else "anonymous"]
    if node.credentials_note:
        parts.append(node.credentials_note)
    if node.config.insecure:
        parts.append("plain HTTP and unverified TLS allowed")
    text = " · ".join(parts)
    return text[:1].upper() + text[1:]


def tags_summary(node: RepositoryNode) -> str:
    """``14 tags``, ``1,000 tags so far…``, or what is wrong."""
    count = len(node.by_name)
    if node.state is LoadState.FAILED:
        return node.error or "The tags could not be listed."
    if node.state is LoadState.PENDING:
        return "Tags not listed yet."
    noun = f"{count:,} tag{'s' if count != 1 else ''}"
    return noun if node.done else f"{noun} so far…"


_ACCESSIBLE_ROLES: Final = (Qt.ItemDataRole.AccessibleTextRole,
                           Qt.ItemDataRole.AccessibleDescriptionRole)


def _failed_text(name: str, state: LoadState, error: str | None, role: int) -> str | None:
    """What a screen reader is told of a registry or repository row whose listing failed
    (the row shows it by a warning icon only): ``NAME, cannot be listed``, and why."""
    if state is not LoadState.FAILED:
        return None
    if role == Qt.ItemDataRole.AccessibleTextRole:
        return f"{name}, cannot be listed"
    return error or None


def _aliases_text(aliases: list[str], complete: bool) -> str:
    """``1.10, latest``; ``a, b, c, d +18 more``, or ``+18 more so far`` while the digests
    of some tags are not looked up yet (only those of the rows shown are)."""
    if len(aliases) <= MAX_ALIASES_SHOWN:
        return ", ".join(aliases)
    shown = ", ".join(aliases[:MAX_ALIASES_SHOWN])
    return f"{shown} +{len(aliases) - MAX_ALIASES_SHOWN} more{'' if complete else ' so far'}"


def _rich_tooltip(text: str) -> str:
    return "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines())


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

