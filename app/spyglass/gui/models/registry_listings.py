"""The listings of the registries tree (see :mod:`spyglass.gui.models.registries`): a
registry's catalog and a repository's tags, read in pages in the background, each
request in the registry's lane of the :class:`~spyglass.gui.workers.Runner`.

A registry's catalog is read one page at a time, each when asked for
(:meth:`RegistryListings.fetch_next`); a repository's tags are read to their end once
asked for: the first page alone, then the pages read in
:data:`~spyglass.gui.registry_jobs.TAG_BATCH_SECONDS` at a time, each batch sorted on the
worker (:func:`sort_page`) and merged into the rows in natural order. Stopping a
listing, or starting it over, leaves its answers unheard.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QTimer

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import AccessDenied, AuthenticationFailed, Cancelled, SpyglassError
from spyglass.core.natural import NaturalKey, natural_key
from spyglass.core.referrers import attachment_tag_subject, is_attachment_tag
from spyglass.core.retry import Wait
from spyglass.gui.models.places import LoadState
from spyglass.gui.models.registry_digests import DigestLookups
from spyglass.gui.models.registry_rows import (
    CONTAINERS,
    AnyIndex,
    MessageRow,
    RegistryNode,
    RepositoryNode,
    TagNode,
)
from spyglass.gui.registry_jobs import (
    TAG_BATCH_SECONDS,
    Listing,
    Page,
    catalog_listing,
    lists_no_catalog,
    tag_listing,
)
from spyglass.gui.signals import emit
from spyglass.gui.workers import registry_lane

log = logging.getLogger(__name__)


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


def whole_tag_list(listing: Listing, cancel: CancelToken) -> SortedPage:
    """Every tag of ``listing``, read to its end and sorted (on a worker): what Refresh
    reads before it takes away the tags shown, which stay if any page fails."""
    names: list[str] = []
    while True:
        page = listing.next_page(cancel)
        names.extend(page.names)
        if page.done:
            return sort_page(Page(tuple(names), True))


def _tag_key(row: TagNode | MessageRow) -> NaturalKey:
    assert isinstance(row, TagNode)  # (the tags merged into have no message rows below)
    return row.key


class RegistryListings(DigestLookups):
    """The listings of catalogs and tags, page by page: see the module docstring."""

    if TYPE_CHECKING:  # made by the model (RegistriesModel)
        def add_repository(self, index: AnyIndex, name: str) -> QModelIndex: ...

    # ------------------------------------------------------------------ reading pages

    def can_fetch_next(self, index: AnyIndex) -> bool:
        """Whether the registry or repository at ``index`` has a page still to read: the
        first, or one after those read."""
        node = self.node(index)
        if not isinstance(node, CONTAINERS) or index.column() != 0:
            return False
        return node.state is LoadState.PENDING or node.more

    def fetch_next(self, index: AnyIndex) -> None:
        """Read the next page of the registry or repository at ``index`` in the background
        (nothing when it has none, or one is on its way)."""
        if not self.can_fetch_next(index):
            return
        node = self.node(index)
        assert isinstance(node, CONTAINERS)
        # Views call this while they lay out their rows (QTreeView does): nothing may
        # change under them now. The state changes at once, so no page is asked for
        # twice; the rest (signals, the job) follows from the event loop.
        node.state = LoadState.LOADING
        node.since = time.monotonic()
        node.asked = asked = next(self._asks)
        # (with the model as context: a model deleted first, its window closed, drops
        # the call instead of running it on a deleted C++ object)
        QTimer.singleShot(0, self, lambda: self._start(node, asked))

    def _start(self, node: RegistryNode | RepositoryNode, asked: int) -> None:
        if not self.alive(node) or node.state is not LoadState.LOADING or node.asked != asked:
            return
        if isinstance(node, RegistryNode):
            self._start_catalog(node)
        else:
            self._start_tags(node)

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
        registry.read_at = time.time()
        if done:
            registry.stale = ""  # listed to its end: the registry answers again
        self._add_tail_message(registry)
        self._changed(registry)

    # ------------------------------------------------------------------ stopping and starting over

    def _stop_listing(self, node: RegistryNode | RepositoryNode) -> None:
        node.asked = 0
        self._runner.cancel(self._key(node))
        self._refreshes.forget(self._key(node))
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
            self._forget_node(repo)
        node.by_name = {}
        node.created_meanwhile = set()  # (the listing from scratch reads them)
        node.state = LoadState.PENDING
        node.done = node.no_catalog = node.load_all = node.rate_limited = False
        node.catalog_denied = False
        node.error = None
        node.stale = ""
        self._insert(node, 0, self._pinned(node))
        self._changed(node)

    def _reset_repository(self, node: RepositoryNode) -> None:
        self._stop_repository(node)
        if node.children:
            self._remove_rows(node, 0, len(node.children) - 1)
        node.forget_tags()
        node.written_meanwhile = None
        node.state = LoadState.PENDING
        node.done = False
        node.error = None
        node.stale = ""
        self._changed(node)

    def _asked_to_wait(self, node: RegistryNode | RepositoryNode, wait: Wait) -> None:
        """The page under way waits ``wait.wait`` seconds because its registry asked for
        ``wait.asked``, or could not be reached: said as that, not as a registry that does
        not answer. Once the wait is over, the page asked again waits as any other (since
        then)."""
        if not (self.alive(node) and node.state is LoadState.LOADING):
            return
        if wait.asked is None:
            said, reason = wait.said, wait.reason
        else:
            said = reason = f"{wait.who} asked to wait {wait.asked:.0f} s" + (
                f"; the page is asked for again after {wait.wait:.0f} s"
                if wait.wait < wait.asked else "")
        node.asked_wait, node.wait_reason = said, reason
        node.wait_number += 1
        number = node.wait_number
        self._changed(node)

        def over() -> None:
            if self.alive(node) and node.wait_number == number:
                node.asked_wait = ""
                node.since = time.monotonic()  # (how long it has waited: from here)
                self._changed(node)

        QTimer.singleShot(round(wait.holds * 1000), self, over)

    def _waiting_on(self, node: RegistryNode | RepositoryNode, who: str) -> None:
        """The page under way waits on ``who`` (its registry's token server), or no longer
        does (""): a page that waits long says whom it waits on."""
        if self.alive(node) and node.state is LoadState.LOADING and node.waiting_on != who:
            node.waiting_on = who
            self._changed(node)

    # ------------------------------------------------------------------ internals: catalog

    def _start_catalog(self, node: RegistryNode) -> None:
        first = node.listing is None
        if node.listing is None:
            node.listing = catalog_listing(node.connection)
        listing, connection = node.listing, node.connection
        node.state = LoadState.LOADING
        node.since, node.stopped, node.asked_wait = time.monotonic(), False, ""
        node.waiting_on = ""
        node.wait_number += 1  # a wait's timer still to come is not this job's
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
            on_wait=lambda wait: self._asked_to_wait(node, wait),
            on_waiting_on=lambda who: self._waiting_on(node, who),
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
            node.stale = ""
            node.listing = None
            self._add_tail_message(node)
            self._changed(node)
            emit(self.registryLoaded, node.host)
            return
        self.feed_repositories(self._registry_index(node), answer.names, done=answer.done)
        self._add_created_meanwhile(node)
        if answer.done:
            node.listing = None
        elif node.load_all:
            self._start_catalog(node)
        emit(self.registryLoaded, node.host)

    def _add_created_meanwhile(self, node: RegistryNode) -> None:
        """A page of the catalog is in: the repositories copies created while it was read
        (:attr:`~spyglass.gui.models.registry_rows.RegistryNode.created_meanwhile`) get
        their rows, as a copy's end adds them (it found the page under way)."""
        created, node.created_meanwhile = node.created_meanwhile, set()
        for name in sorted(created):
            self.add_repository(self._registry_index(node), name)

    def _catalog_failed(self, node: RegistryNode, listing: Listing, message: str) -> None:
        if not self.alive(node) or node.listing is not listing:
            return
        node.created_meanwhile = set()  # (a catalog that failed is listed anew)
        node.state = LoadState.FAILED
        node.error = message
        node.listing = None
        self._set_message(node, node.error, "error", node.failure_words)
        self._changed(node)
        emit(self.registryFailed, node.host, node.error)

    # ------------------------------------------------------------------ internals: tags

    def _start_tags(self, node: RepositoryNode) -> None:
        if node.listing is None:
            node.listing = tag_listing(node.parent.connection, node.name)
        listing = node.listing
        node.state = LoadState.LOADING
        node.since, node.stopped, node.asked_wait = time.monotonic(), False, ""
        node.waiting_on = ""
        node.wait_number += 1  # a wait's timer still to come is not this job's
        node.asked = 0  # a start still scheduled would ask for this page again
        self._changed(node)
        self._runner.submit(
            lambda cancel: sort_page(listing.next_pages(cancel, within=TAG_BATCH_SECONDS)),
            on_done=lambda page: self._tag_page(node, listing, page),
            on_error=lambda message: self._tags_failed(node, listing, message),
            key=self._key(node),
            what=f"listing the tags of {node.parent.host}/{node.name}",
            lane=registry_lane(node.parent.host),
            on_wait=lambda wait: self._asked_to_wait(node, wait),
            on_waiting_on=lambda who: self._waiting_on(node, who),
        )

    def _tag_page(self, node: RepositoryNode, listing: Listing, page: SortedPage) -> None:
        if not self.alive(node) or node.listing is not listing:
            return
        self._add_tag_page(node, page)
        if page.done:
            node.listing = None
            self._refreshes.ended(self._key(node))  # (a refresh that waited starts now)
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
            node.listed(tag)
            fresh.append(tag)
        if fresh:
            self._merge_tags(node, fresh)
        self._signatures_arrived(node, newly_signed)
        node.state = LoadState.LOADED
        node.done = page.done
        node.read_at = time.time()
        if page.done:
            node.stale = ""  # listed to its end (a copy's refresh): the registry answers again
        # listed to its end with no tags, it has no rows (its page says "No tags"): the
        # tree takes away its expand arrow, as from an empty folder (a row saying so kept it)
        self._changed(node)  # (one row's dataChanged: QTreeView asks hasChildren again)
        emit(self.tagsLoaded, node.parent.host, node.name, page.done)

    def _merge_tags(self, node: RepositoryNode, fresh: list[TagNode]) -> None:
        """Put ``fresh`` (sorted) in among the tags listed (sorted, no message rows): each
        run of them that goes between the same two rows is one insert. Rows already there
        never move, so views and proxies handle the new rows alone (a layout change a page
        sent every row listed through the filters and the tree's layout again)."""
        tags = node.children
        runs: list[tuple[int, list[TagNode]]] = []
        for tag in fresh:
            row = bisect.bisect_right(tags, tag.key, key=_tag_key)
            if runs and runs[-1][0] == row:
                runs[-1][1].append(tag)
            else:
                runs.append((row, [tag]))
        for row, run in reversed(runs):  # (from the last: the rows before each stay put)
            self._insert(node, row, run)

    def _signatures_arrived(self, node: RepositoryNode, subjects: list[Digest]) -> None:
        """Repaint the tags already known to point at newly signed digests."""
        tags = [t for d in subjects for t in node.by_digest.get(d, ())]
        if tags:
            self._tags_changed(node, tags)

    def _tags_failed(self, node: RepositoryNode, listing: Listing, message: str) -> None:
        if not self.alive(node) or node.listing is not listing:
            return
        node.state = LoadState.FAILED
        node.error = message
        node.listing = None
        self._set_message(node, node.error, "error", node.failure_words)
        self._changed(node)
        emit(self.repositoryFailed, node.parent.host, node.name, node.error)
        self._refreshes.ended(self._key(node))
