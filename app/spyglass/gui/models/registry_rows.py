"""The rows of the registries tree (:mod:`spyglass.gui.models.registries`): the registry,
repository, tag and message nodes, the tree's columns, and the roles a view reads its rows
by.

A registry or repository node (:class:`RegistryNode`, :class:`RepositoryNode`) holds its
children and what its listing is at (:class:`~spyglass.gui.models.places.LoadState`, the
page under way); a tag node (:class:`TagNode`) its digest once looked up; a message row
(:class:`MessageRow`) says what went wrong, or a note, under a registry or repository.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from spyglass.core.digest import Digest
from spyglass.core.natural import NaturalKey
from spyglass.core.settings import RegistrySettings
from spyglass.gui.models.places import LoadState
from spyglass.gui.registry_jobs import Connection, Listing

AnyIndex = QModelIndex | QPersistentModelIndex

NAME, DIGEST, TYPE, ALIASES = range(4)
COLUMN_TITLES: Final = ("Tag", "Digest", "Type", "Same image as")

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



@dataclass(eq=False)
class MessageRow:
    """A disabled row that is no registry, repository or tag: an error, or a note."""

    parent: RegistryNode | RepositoryNode
    text: str
    kind: MessageKind
    short: str = ""
    """What the row shows, when not ``text`` (then its tooltip and what a screen reader
    is told): a failure's few words, its sentence being on the page."""


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
    asked_wait: str = field(default="", init=False)
    """While the page under way waits because the registry asked (``Retry-After``): who
    asked, for how long ("the registry H asked to wait 30 s"); or because it could not be
    reached ("cannot reach the registry H (connection refused); asking again (attempt 2
    of 4)"); "" otherwise."""
    waiting_on: str = field(default="", init=False)
    """Whom the page under way waits on where that is not its registry: ``the token
    server H of R`` while the token its request needs is asked for; "" otherwise."""
    wait_reason: str = field(default="", init=False)
    """While :attr:`asked_wait` is said, why the page waits, as Stop says it stopped: "the
    registry H asked to wait 30 s", "cannot reach the registry H (connection refused)"."""
    wait_number: int = field(default=0, init=False)
    """Counts the waits said in :attr:`asked_wait` and the jobs started: the timer that
    ends a wait ends only its own (one like it asked again, after a Stop and Try Again,
    was ended early by the first one's timer)."""
    stale: str = field(default="", init=False)
    """Why the list shown is as it was read last: listing it again (Refresh, Try Again)
    failed with this sentence while the rows read before stayed; "" otherwise (a listing
    started anew forgets it, and one that reaches its end: a copy's refresh, a later page)."""
    read_at: float = field(default=0.0, init=False)
    """When the last page of the list shown came (:func:`time.time`; 0: none yet)."""
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
    def failure_words(self) -> str:
        """The few words of the tree's row under a listing that failed (its sentence, on
        the page and in the row's tooltip, was cut in the sidebar to a useless prefix:
        "Cannot reach the registry 127.0.0.…")."""
        return "Stopped" if self.stopped else "Cannot be listed"

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
    """The tags known to point at each digest, in natural order (:meth:`point` keeps
    them)."""
    signed: set[Digest] = field(default_factory=set, kw_only=True)
    """The digests a cosign ``sha256-<hex>.sig`` tag of this repository signs."""
    attachment_tags: int = field(default=0, kw_only=True)
    """How many of the tags are attachment tags (see :data:`ATTACHMENT_ROLE`)."""
    unknown: int = field(default=0, kw_only=True)
    """How many tags are neither looked up nor found unreadable."""
    written_meanwhile: set[str] | None = field(default=None, kw_only=True)
    """While Refresh reads the whole tag list before it replaces the rows
    (:meth:`~spyglass.gui.models.registries.RegistriesModel.relisting`): the tags copies
    wrote meanwhile, which that read may have missed; None otherwise."""

    def _children(self) -> Sequence[object]:
        return self.children

    def is_signed(self, tag: TagNode) -> bool:
        return tag.digest is not None and tag.digest in self.signed

    @property
    def tags(self) -> list[TagNode]:
        return [c for c in self.children if isinstance(c, TagNode)]

    def forget_tags(self) -> None:
        """Forget every tag and what was learned of them (the rows are gone)."""
        self.by_name = {}
        self.by_digest = {}
        self.signed = set()
        self.attachment_tags = 0
        self.unknown = 0

    def listed(self, tag: TagNode) -> None:
        """A tag newly listed (its digest not looked up yet)."""
        self.by_name[tag.name] = tag
        self.unknown += _unknown(tag)

    def point(self, tag: TagNode, digest: Digest | None, media_type: str | None = None,
              error: str | None = None) -> None:
        """What is known of ``tag`` now: the ``digest`` it points at (a manifest of
        ``media_type``); or, without a digest, why none is known (``error``), or nothing
        (None: it is to be looked up again). Keeps :attr:`by_digest` and
        :attr:`unknown` with it."""
        was_unknown = _unknown(tag)
        if tag.digest is not None and tag.digest != digest:
            group = self.by_digest.get(tag.digest, [])
            at = bisect.bisect_left(group, tag.key, key=_key)
            if at < len(group) and group[at] is tag:
                del group[at]
        if digest is not None and tag.digest != digest:
            bisect.insort(self.by_digest.setdefault(digest, []), tag, key=_key)
        tag.digest = digest
        tag.media_type = media_type if digest is not None else None
        tag.error = error if digest is None else None
        self.unknown += _unknown(tag) - was_unknown

    @property
    def all_digests_known(self) -> bool:
        """Whether every tag is listed and its digest looked up (or found unreadable):
        then :meth:`aliases` knows every other tag of an image, not those seen so far."""
        return self.done and not self.unknown

    def alias_count(self, tag: TagNode) -> int:
        """How many other tags are known to point at the same manifest."""
        if tag.digest is None:
            return 0
        return max(0, len(self.by_digest.get(tag.digest, ())) - 1)

    def aliases(self, tag: TagNode, most: int | None = None) -> list[str]:
        """The names of the other tags known to point at the same manifest, in natural
        order; only the first ``most`` of them with it (what is shown of thousands)."""
        if tag.digest is None:
            return []
        group = self.by_digest.get(tag.digest, [])
        if most is not None:
            group = group[:most + 1]  # (``tag`` among them or not)
        names = [t.name for t in group if t is not tag]
        return names[:most] if most is not None else names


def _unknown(tag: TagNode) -> int:
    """1 for a tag neither looked up nor found unreadable, else 0."""
    return int(tag.digest is None and tag.error is None)


def _key(tag: TagNode) -> NaturalKey:
    return tag.key


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
    created_meanwhile: set[str] = field(default_factory=set, kw_only=True)
    """The repositories copies created while a page of the catalog was under way, which
    that page may have missed: added once it is in (where the pages read reach)."""

    def _children(self) -> Sequence[object]:
        return self.children

    @property
    def host(self) -> str:
        return self.config.host

    @property
    def repositories(self) -> list[RepositoryNode]:
        return [c for c in self.children if isinstance(c, RepositoryNode)]


Node = RegistryNode | RepositoryNode | TagNode | MessageRow
CONTAINERS: Final = (RegistryNode, RepositoryNode)
