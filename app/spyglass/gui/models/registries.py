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
list as it is scrolled to its end
(:class:`~spyglass.gui.models.registry_filter.ChildFilterModel`), by the tree's
owner as the tree is, or by Load All (:meth:`RegistriesModel.fetch_all`). A
repository's tags are read to their end once asked for. Digests are looked up
only for the tag rows a view shows (a view asks :meth:`RegistriesModel.data`
for a digest or a tooltip), a handful at a time
(:data:`~spyglass.gui.models.registry_digests.DIGEST_BATCH` tags
per job, at most ``max_digest_jobs`` jobs at once per registry: a registry that
hangs holds up its own), the most recently shown rows first. Stopping a registry's
listing, removing it, or reloading, forgetting or setting aside a repository ends the
look-ups of its digests, wanted, waiting or under way
(:meth:`~spyglass.gui.models.registry_digests.DigestLookups._stop_digests`).

Tags that hold attachments rather than images (cosign's ``sha256-<hex>.sig``,
``.att``, ``.sbom``; referrers-schema ``sha256-<hex>``) are known by name; a tag
whose digest has a ``.sig`` tag in the repository is *signed*
(:data:`~spyglass.gui.models.registry_rows.SIGNED_ROLE`) — known once its digest is, so
no request is made for it.

The model is built in layers, each a module, each class on the one before:
:mod:`~spyglass.gui.models.registry_rows` (the nodes, columns and roles; no class of the
model), :mod:`~spyglass.gui.models.registry_tree` (the tree's shape, finding rows, the
signals), :mod:`~spyglass.gui.models.registry_digests` (the look-ups of digests),
:mod:`~spyglass.gui.models.registry_listings` (catalogs and tags, page by page),
:mod:`~spyglass.gui.models.registry_data` (what each row says), and this module (what the
window asks of it). :mod:`~spyglass.gui.models.registry_filter` filters one row's children
for a page.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QModelIndex

from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor
from spyglass.core.settings import RegistrySettings
from spyglass.gui.models.places import LoadState
from spyglass.gui.models.registry_data import RegistryRowData
from spyglass.gui.models.registry_listings import SortedPage, sort_page
from spyglass.gui.models.registry_rows import (
    ALIASES,
    CONTAINERS,
    NAME,
    AnyIndex,
    MessageRow,
    RegistryNode,
    RepositoryNode,
    TagNode,
)
from spyglass.gui.registry_jobs import Connection, DigestAnswer, Page, tag_listing
from spyglass.gui.signals import emit


class RegistriesModel(RegistryRowData):
    """Registries, their repositories and tags; see the module docstring. Its signals are
    those of :class:`~spyglass.gui.models.registry_tree.RegistryTree`."""

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

    def relist_tags(self, index: AnyIndex, tags: SortedPage) -> None:
        """List the tags of the repository at ``index`` again as ``tags``, the whole list
        read meanwhile (:func:`~spyglass.gui.models.registry_listings.whole_tag_list`):
        as :meth:`reload`, without asking the registry again."""
        node = self.node(index)
        if not isinstance(node, RepositoryNode):
            return
        written = node.written_meanwhile or set()
        missed = written.difference(name for name, _key in tags.entries)
        if missed:  # copies wrote them as (or after) the registry was read: not lost
            tags = sort_page(Page((*(name for name, _key in tags.entries), *missed), True))
        self._reset_repository(node)
        self._add_tag_page(node, tags)

    def relisting(self, index: AnyIndex) -> None:
        """Refresh reads the whole tag list of the repository at ``index`` from now on,
        to list in place of the rows (:meth:`relist_tags`): the tags copies write into it
        meanwhile are kept with that list (read before they ended, it may lack them, and a
        copy's refresh that listed them is undone by it)."""
        node = self.node(index)
        if isinstance(node, RepositoryNode):
            node.written_meanwhile = set()

    def refresh_repository(self, index: AnyIndex, written: str | None = None,
                           descriptor: Descriptor | None = None) -> None:
        """A copy wrote tag ``written`` (the image ``descriptor``) into the repository at
        ``index``: list its tags again without taking away the rows there (the selection,
        and what the window shows, stay), and point the tag at what was written.

        A repository never listed is left to list when it is opened; one that failed is
        listed again. One whose listing is under way (it may have read past the new tag)
        is listed again once that listing has ended; refreshes are coalesced
        (:class:`~spyglass.gui.refreshes.Refreshes`): however many copies ask meanwhile,
        one listing follows the one under way."""
        node = self.node(index)
        if not isinstance(node, RepositoryNode):
            return
        if node.state is LoadState.FAILED:
            self.reload(index)
            return
        if written is not None and node.written_meanwhile is not None:
            node.written_meanwhile.add(written)  # (Refresh's read may have missed it)
        if written is not None and descriptor is not None:
            self.set_digest(node.parent.host, node.name, written, descriptor.digest,
                            descriptor.media_type)
        if node.state in (LoadState.LOADED, LoadState.LOADING):
            self._refreshes.ask(self._key(node), lambda: self._relist_tags_now(node),
                                under_way=node.state is LoadState.LOADING)

    def _relist_tags_now(self, node: RepositoryNode) -> None:
        """A refresh's turn has come: list the repository's tags again, keeping its rows
        (from scratch, if its listing failed meanwhile; not at all if it was set aside or
        removed: it is listed when it is opened)."""
        if self.alive(node) and node.state is LoadState.LOADED and node.listing is None:
            node.listing = tag_listing(node.parent.connection, node.name)
            self._start_tags(node)
        elif self.alive(node) and node.state is LoadState.FAILED:
            self.reload(self._repository_index(node))
        else:
            self._refreshes.forget(self._key(node))

    def add_repository(self, index: AnyIndex, name: str) -> QModelIndex:
        """A copy created repository ``name`` in the registry at ``index``: its row, in
        catalog order, where the catalog listed so far reaches that far (a later page
        brings it otherwise); the other rows stay as they are. While a page of the
        catalog is read (maybe before the copy), the row is added once it is in."""
        registry, known = self._adding_to(index, name, relist_failed=True)
        if registry is None:
            return known
        if registry.state is LoadState.LOADING and not registry.no_catalog:
            # the page under way may have been read before the copy: added once it is in
            registry.created_meanwhile.add(name)
            return QModelIndex()
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
        self._changed_tags.clear()
        self._repaint_timer.stop()

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
        if not isinstance(node, CONTAINERS) or node.state is not LoadState.LOADING:
            return
        self._stop_listing(node)
        # the digests looked up there wait on the registry that did not answer: they go
        # too, or they hold its lane (and its digest jobs) for minutes
        self._stop_digests(node if isinstance(node, RegistryNode) else node.parent)
        node.state = LoadState.FAILED
        node.error = sentence
        node.stopped = True
        self._set_message(node, sentence, "error", node.failure_words)
        self._changed(node)
        if isinstance(node, RegistryNode):
            emit(self.registryFailed, node.host, sentence)
        else:
            emit(self.repositoryFailed, node.parent.host, node.name, sentence)

    def mark_stale(self, index: AnyIndex, sentence: str) -> None:
        """Listing the registry or repository at ``index`` again failed with ``sentence``
        while its rows stayed as read before: its row wears a warning, and its page says
        so (see :attr:`~spyglass.gui.models.registry_rows.RegistryNode.stale`), until it
        is listed anew."""
        node = self.node(index)
        if isinstance(node, CONTAINERS):
            node.stale = sentence
            if isinstance(node, RepositoryNode):
                node.written_meanwhile = None  # (what copies wrote was listed meanwhile)
            self._changed(node)  # (again when it failed again: its banner comes back)

    def set_aside(self, index: AnyIndex) -> None:
        """Nobody looks at the repository at ``index`` any more: the look-ups of its
        digests stop (a registry whose answers hang kept both of its digest jobs on a
        table nobody saw), and its listing too if nothing of it has come yet (it is
        asked for again when someone looks). A listing that answers is left to finish,
        and what it brought is kept."""
        node = self.node(index)
        if not isinstance(node, RepositoryNode):
            return
        self._stop_digests(node.parent, node)  # (its tags, shown again, are asked again)
        if node.state is not LoadState.LOADING or node.children:
            return
        self._stop_listing(node)
        node.state = LoadState.PENDING
        self._changed(node)

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
        self._forget_node(node)
        self.endRemoveRows()

    # ------------------------------------------------------------------ tags

    def feed_tags(self, index: AnyIndex, names: Iterable[str], *, done: bool) -> None:
        """Add a page of tags under the repository at ``index`` (any order, any size).

        The page is sorted, and each run of it that goes between the same two rows
        is inserted there (the rows already there never move).
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
        repo.point(node, None)
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

    # ------------------------------------------------------------------ QAbstractItemModel

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
