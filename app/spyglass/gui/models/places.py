"""The places tree: opened layout folders and archives, each with the images it holds."""

from __future__ import annotations

import bisect
import html
import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Final

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont, QIcon

from spyglass.core import media
from spyglass.core.archive_names import ARCHIVE_SUFFIXES
from spyglass.core.settings import normalize_location
from spyglass.core.text import visible
from spyglass.core.transports.base import ImageEntry, Location
from spyglass.gui import icons
from spyglass.gui.colors import muted_color
from spyglass.gui.formatting import held_text
from spyglass.gui.loading import ListedLocation, open_and_list
from spyglass.gui.models.tree import SENTENCE_ROLE, AnyIndex, IdTreeModel
from spyglass.gui.refreshes import Refreshes
from spyglass.gui.signals import emit
from spyglass.gui.workers import Runner

log = logging.getLogger(__name__)


NO_IMAGES_YET: Final = "No images yet"
"""The row under a place that holds no image: short, as the sidebar is narrow (the
place's page says how to put one in it; the row's tooltip, :data:`DROP_HERE`)."""
DROP_HERE: Final = "No images yet: drop one here to copy it in."
CANNOT_OPEN: Final = "Cannot be opened"
"""The row under a place that cannot be opened or listed: the sentence, cut to a path's
first characters in the narrow sidebar, is the row's tooltip, and whole on its page."""



class LoadState(Enum):
    PENDING = "pending"
    LOADING = "loading"
    LOADED = "loaded"
    FAILED = "failed"


@dataclass(eq=False)
class LocationNode:
    """A top-level row: one opened folder or archive."""

    id: int
    path: Path
    state: LoadState = LoadState.PENDING
    location: Location | None = None
    children: list[ImageNode | MessageNode] = field(default_factory=list)
    error: str | None = None
    retired: list[Location] = field(default_factory=list)
    """Locations a refresh replaced, kept open while the image view may still read an
    image through them (see :meth:`PlacesModel.release_retired`)."""

    @property
    def key(self) -> str:
        return f"places:{self.id}"

    @property
    def is_archive(self) -> bool:
        if self.location is not None:
            return self.location.kind.endswith("archive")
        return self.path.name.lower().endswith(ARCHIVE_SUFFIXES)

    @property
    def title(self) -> str:
        if self.location is not None:
            return self.location.title
        return self.path.name or str(self.path)


@dataclass(eq=False)
class ImageNode:
    """A child row: one image of a location."""

    parent: LocationNode
    entry: ImageEntry


@dataclass(eq=False)
class MessageNode:
    """A disabled child row that says why there are no images (an error, or an empty place)."""

    parent: LocationNode
    text: str
    is_error: bool
    detail: str = ""
    """The whole sentence, where the row says it short (its tooltip, its error)."""


Node = LocationNode | ImageNode | MessageNode


class PlacesModel(IdTreeModel):
    """Opened locations (top level) and their images (children, loaded lazily).

    A location's images are listed by a job on the :class:`Runner` the first
    time a view asks (``canFetchMore``/``fetchMore``, when the row is
    expanded) or when :meth:`load` is called; until then the row reports
    children without having any. A location that cannot be opened or listed
    gets one disabled child row carrying the sentence.

    Signals:
        locationLoaded(Path): the images of the location at this path are listed.
        locationFailed(Path, str): the location at this path could not be opened
            or listed; the second argument is the sentence.
        locationRefreshed(Path): :meth:`refresh` merged a new listing of the location
            at this path into its rows.

    The paths go as Python objects: a QString would drop a byte of a name that is not
    UTF-8 (``bad\\xff`` came out as ``bad``).
    """

    locationLoaded = Signal(object)
    locationFailed = Signal(object, str)
    locationRefreshed = Signal(object)

    PATH_ROLE = Qt.ItemDataRole.UserRole + 1
    """The location's path (str) on a location row."""
    ENTRY_ROLE = Qt.ItemDataRole.UserRole + 2
    """The :class:`ImageEntry` on an image row."""
    STATE_ROLE = Qt.ItemDataRole.UserRole + 3
    """The :class:`LoadState` value (str) on a location row."""
    ERROR_ROLE = Qt.ItemDataRole.UserRole + 4
    """The error sentence on a location row or message row."""

    def __init__(self, runner: Runner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._locations: list[LocationNode] = []
        self._by_id: dict[int, LocationNode] = {}
        self._ids = itertools.count(1)
        self._refreshes = Refreshes(self)

    # -- public API

    @property
    def paths(self) -> list[str]:
        """The paths of the open locations, in tree order."""
        return [str(node.path) for node in self._locations]

    def add_location(self, path: str | Path, *, load: bool = True) -> QModelIndex:
        """Add a location row (or find the existing one) and, with ``load``, list it now.

        A location that failed before is tried again.
        """
        normal = Path(normalize_location(path))
        for row, node in enumerate(self._locations):
            if node.path == normal:
                if node.state is LoadState.FAILED and load:
                    self.reload(self.index(row, 0))
                return self.index(row, 0)
        node = LocationNode(next(self._ids), normal)
        row = len(self._locations)
        self.beginInsertRows(QModelIndex(), row, row)
        self._locations.append(node)
        self._by_id[node.id] = node
        self.endInsertRows()
        index = self.index(row, 0)
        if load:
            self.fetchMore(index)
        return index

    def remove_location(self, index: AnyIndex) -> None:
        """Close the location at ``index`` (or the location of the image at ``index``)."""
        node = self.location_node(index)
        if node is None:
            return
        row = self._locations.index(node)
        self._runner.forget(node.key)
        self._refreshes.forget(node.key)
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._locations[row]
        del self._by_id[node.id]
        self.endRemoveRows()
        self._release(node.location)
        self._release_retired(node)

    def reload(self, index: AnyIndex) -> None:
        """Forget what a location row holds and list it again."""
        node = self.location_node(index)
        if node is None:
            return
        self._runner.cancel(node.key)
        self._refreshes.forget(node.key)
        self._forget_listing(node)
        node.error = None
        node.state = LoadState.PENDING
        self._changed(node)
        self.fetchMore(self._location_index(node))

    def refresh(self, index: AnyIndex) -> None:
        """List a location again and merge what it holds now into its rows: the rows of
        images still there stay (and with them the selection and what the window shows),
        new images are added, gone ones removed. For a place a copy has just written to;
        a location not listed yet (or that failed) is simply listed again.

        Refreshes are coalesced (:class:`~spyglass.gui.refreshes.Refreshes`): while the
        location is being listed, one more listing follows that one, however many copies
        ask meanwhile."""
        node = self.location_node(index)
        if node is None:
            return
        if node.state in (LoadState.PENDING, LoadState.FAILED):
            self.reload(self._location_index(node))
            return
        self._refreshes.ask(node.key, lambda: self._refresh_now(node),
                            under_way=node.state is LoadState.LOADING)

    def _refresh_now(self, node: LocationNode) -> None:
        """The refresh's turn has come: list the location again (from scratch, if it
        failed meanwhile or was never listed)."""
        if node.id not in self._by_id:
            self._refreshes.forget(node.key)
        elif node.state is LoadState.LOADED:
            self._list(node, self._relisted, self._refresh_failed)
        else:
            self.reload(self._location_index(node))

    def release_retired(self, path: str | None = None, *, keep: int = 0) -> None:
        """Close the locations refreshes replaced (of the location at ``path`` only, when
        given): the image view no longer shows an image read through one of them (it
        shows another row, or the same one read again). ``keep``: the first that many
        stay open (the view still reads through the first: copies into the place it
        shows an image of replace its listing again and again)."""
        for node in self._locations:
            if path is None or str(node.path) == path:
                kept, node.retired = node.retired[:keep], node.retired[keep:]
                self._release_retired(node)
                node.retired = kept

    def close_all(self) -> None:
        """Close every location (the window is closing)."""
        for node in self._locations:
            self._runner.forget(node.key)
            self._refreshes.forget(node.key)
        self.beginResetModel()
        nodes, self._locations, self._by_id = self._locations, [], {}
        self.endResetModel()
        for node in nodes:
            self._release(node.location, drain=True)
            self._release_retired(node, drain=True)

    def location_node(self, index: AnyIndex) -> LocationNode | None:
        """The location of a location row, or of an image/message row's parent."""
        node = self.node(index)
        if node is None:
            return None
        return node if isinstance(node, LocationNode) else node.parent

    def node(self, index: AnyIndex) -> Node | None:
        if not index.isValid() or index.model() is not self:
            return None
        node: Node | None = self._node_at(index)
        return node

    def _top_level(self) -> Sequence[LocationNode]:
        """Override IdTreeModel._top_level."""
        return self._locations

    def image_at(self, index: AnyIndex) -> tuple[LocationNode, ImageEntry] | None:
        """The location and entry of an image row, or None for other rows."""
        node = self.node(index)
        if isinstance(node, ImageNode) and node.parent.location is not None:
            return node.parent, node.entry
        return None

    def find_image(self, label: str, location_row: int = 0) -> QModelIndex:
        """The index of the image labelled ``label`` in a location (invalid if absent)."""
        if not 0 <= location_row < len(self._locations):
            return QModelIndex()
        node = self._locations[location_row]
        parent = self.index(location_row, 0)
        for row, child in enumerate(node.children):
            if isinstance(child, ImageNode) and child.entry.label == label:
                return self.index(row, 0, parent)
        return QModelIndex()

    # -- the listing job

    def _start(self, node: LocationNode) -> None:
        node.state = LoadState.LOADING
        self._changed(node)
        self._list(node, self._listed, self._failed)

    def _list(self, node: LocationNode,
              on_done: Callable[[LocationNode, ListedLocation], None],
              on_error: Callable[[LocationNode, str], None]) -> None:
        """Open and list the location on a worker; the answer goes to ``on_done`` or
        ``on_error`` (a listing that arrives for nobody is closed)."""
        path = node.path
        self._runner.submit(
            lambda cancel: open_and_list(path, cancel),
            on_done=lambda listed: on_done(node, listed),
            on_error=lambda message: on_error(node, message),
            key=node.key,
            what=f'listing "{path}"',
            cleanup=lambda listed: listed.location.close(),
        )

    def _listed(self, node: LocationNode, listed: ListedLocation) -> None:
        if node.id not in self._by_id:
            self._release(listed.location)
            return
        node.location = listed.location
        node.state = LoadState.LOADED
        children: list[ImageNode | MessageNode] = [ImageNode(node, e) for e in listed.entries]
        children += self._unlisted_rows(node, listed)
        self._insert_children(node, children)
        self._changed(node)
        emit(self.locationLoaded, node.path)
        self._refreshes.ended(node.key)  # (a refresh that waited starts now)

    def _failed(self, node: LocationNode, message: str) -> None:
        if node.id not in self._by_id:
            return
        node.state = LoadState.FAILED
        node.error = message
        self._insert_children(node, [MessageNode(node, CANNOT_OPEN, is_error=True,
                                                 detail=message)])
        self._changed(node)
        emit(self.locationFailed, node.path, message)
        self._refreshes.ended(node.key)  # (a refresh that waited starts now)

    def _relisted(self, node: LocationNode, listed: ListedLocation) -> None:
        if node.id not in self._by_id:
            self._release(listed.location)
            return
        if node.location is not None:
            node.retired.append(node.location)
        node.location = listed.location
        node.state = LoadState.LOADED
        node.error = None
        self._merge_children(node, listed.entries, self._unlisted_rows(node, listed))
        self._changed(node)
        emit(self.locationRefreshed, node.path)
        self._refreshes.ended(node.key)  # (a refresh that waited starts now)

    def _refresh_failed(self, node: LocationNode, message: str) -> None:
        if node.id not in self._by_id:
            return
        self._forget_listing(node)
        self._failed(node, message)

    def _forget_listing(self, node: LocationNode) -> None:
        """Take away a location's rows and close what it was listed through."""
        if node.children:
            self.beginRemoveRows(self._location_index(node), 0, len(node.children) - 1)
            node.children = []
            self.endRemoveRows()
        self._release(node.location)
        self._release_retired(node)
        node.location = None

    @staticmethod
    def _unlisted_rows(node: LocationNode, listed: ListedLocation) -> list[MessageNode]:
        """Below the images, a row for each image that could not be read; where there
        is neither, the row that says the place holds no images yet."""
        if not listed.entries and not listed.unlisted:
            return [MessageNode(node, NO_IMAGES_YET, is_error=False, detail=DROP_HERE)]
        return [MessageNode(node, f"{name} cannot be read", is_error=True, detail=sentence)
                for name, sentence in listed.unlisted]

    def _merge_children(self, node: LocationNode, entries: Sequence[ImageEntry],
                        messages: Sequence[MessageNode]) -> None:
        """Make the rows show ``entries`` then ``messages``, keeping the row of each image
        still there (by its label) so that persistent indexes, the selection among them,
        stay put. The rows between two kept ones that go are one removal, those that
        come one insert (a row at a time, looked for among all rows each, took a second
        for 1,600 images added to a large layout)."""
        parent = self._location_index(node)
        children = node.children
        rows_of: dict[str, list[int]] = {}
        for row, child in enumerate(children):
            if isinstance(child, ImageNode):
                rows_of.setdefault(child.entry.label, []).append(row)
        row = 0  # where the rows merged so far end
        old = 0  # the first of the rows there before not kept or passed over yet
        fresh: list[ImageNode | MessageNode] = []

        def settle(kept: int) -> None:
            """The rows there before up to ``kept`` go; ``fresh`` comes in their place."""
            nonlocal row
            if kept > old:
                self.beginRemoveRows(parent, row, row + kept - old - 1)
                del children[row:row + kept - old]
                self.endRemoveRows()
            if fresh:
                self.beginInsertRows(parent, row, row + len(fresh) - 1)
                children[row:row] = fresh
                self.endInsertRows()
                row += len(fresh)
                fresh.clear()

        for entry in entries:
            # the first row of this image after the last kept one (rows before are passed)
            rows = rows_of.get(entry.label, [])
            at = bisect.bisect_left(rows, old)
            if at == len(rows):
                fresh.append(ImageNode(node, entry))
                continue
            settle(rows[at])
            kept = children[row]
            assert isinstance(kept, ImageNode)
            if kept.entry != entry:
                kept.entry = entry
                changed = self.index(row, 0, parent)
                emit(self.dataChanged, changed, changed)
            row += 1
            old = rows[at] + 1
        fresh.extend(messages)
        settle(old + len(children) - row)  # (every row left goes)

    def _release_retired(self, node: LocationNode, *, drain: bool = False) -> None:
        retired, node.retired = node.retired, []
        for location in retired:
            self._release(location, drain=drain)

    def _insert_children(self, node: LocationNode, children: list[ImageNode | MessageNode]) -> None:
        parent = self._location_index(node)
        self.beginInsertRows(parent, 0, len(children) - 1)
        node.children = children
        self.endInsertRows()

    def _release(self, location: Location | None, *, drain: bool = False) -> None:
        if location is not None:
            self._runner.submit(lambda _cancel: location.close(), what="closing a location",
                                drain=drain)

    def _location_index(self, node: LocationNode) -> QModelIndex:
        return self.index(self._locations.index(node), 0)

    def _changed(self, node: LocationNode) -> None:
        index = self._location_index(node)
        emit(self.dataChanged, index, index)

    # -- QAbstractItemModel

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:  # noqa: B008
        """Override QAbstractItemModel::index."""
        if column != 0 or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, 0, 0) if row < len(self._locations) else QModelIndex()
        node = self.node(parent)
        if isinstance(node, LocationNode) and row < len(node.children):
            return self.createIndex(row, 0, node.id)
        return QModelIndex()

    def _index_of(self, node: Any) -> QModelIndex:
        """Override IdTreeModel._index_of."""
        return self._location_index(node)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Override QAbstractItemModel::rowCount."""
        if not parent.isValid():
            return len(self._locations)
        if parent.column() != 0:
            return 0
        node = self.node(parent)
        return len(node.children) if isinstance(node, LocationNode) else 0

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        """Override QAbstractItemModel::columnCount."""
        return 1

    def hasChildren(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        """Override QAbstractItemModel::hasChildren: unlisted locations may have images."""
        if not parent.isValid():
            return bool(self._locations)
        node = self.node(parent)
        if not isinstance(node, LocationNode) or parent.column() != 0:
            return False
        return node.state in (LoadState.PENDING, LoadState.LOADING) or bool(node.children)

    def canFetchMore(self, parent: AnyIndex) -> bool:
        """Override QAbstractItemModel::canFetchMore: a location not listed yet."""
        node = self.node(parent)
        return isinstance(node, LocationNode) and node.state is LoadState.PENDING

    def fetchMore(self, parent: AnyIndex) -> None:
        """Override QAbstractItemModel::fetchMore: start listing the location in the background."""
        node = self.node(parent)
        if isinstance(node, LocationNode) and node.state is LoadState.PENDING:
            self._start(node)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        """Override QAbstractItemModel::flags: message rows are disabled."""
        node = self.node(index)
        if node is None:
            return Qt.ItemFlag.NoItemFlags
        if isinstance(node, MessageNode):
            # an image that cannot be read: chosen, it says why (the rows that say a place
            # is empty or cannot be opened stay disabled: the place's own page says it)
            if node.detail and node.is_error and node.parent.state is not LoadState.FAILED:
                return (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                        | Qt.ItemFlag.ItemNeverHasChildren)
            return Qt.ItemFlag.ItemNeverHasChildren
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if isinstance(node, ImageNode):
            flags |= Qt.ItemFlag.ItemNeverHasChildren
        return flags

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Override QAbstractItemModel::data."""
        node = self.node(index)
        if node is None:
            return None
        if isinstance(node, LocationNode):
            return self._location_data(node, role)
        if isinstance(node, ImageNode):
            return self._image_data(node, role)
        return self._message_data(node, role)

    def headerData(
        self, section: int, orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        """Override QAbstractItemModel::headerData."""
        if (section == 0 and orientation == Qt.Orientation.Horizontal
                and role == Qt.ItemDataRole.DisplayRole):
            return "Places"
        return None

    # -- data per kind of row

    def _location_data(self, node: LocationNode, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return visible(node.title)
        if role == Qt.ItemDataRole.ToolTipRole:
            where = visible(node.location.description if node.location is not None
                            else str(node.path))
            state = {
                LoadState.PENDING: "Not opened yet.",
                LoadState.LOADING: "Opening…",
                LoadState.LOADED: f"{held_text(*held(node))}.",
                LoadState.FAILED: node.error or "Cannot be opened.",
            }[node.state]
            return _rich_tooltip(f"{where}\n{state}")
        if role == Qt.ItemDataRole.DecorationRole:
            if node.state is LoadState.FAILED:
                return icons.warning_icon()
            return icons.archive_icon() if node.is_archive else icons.folder_icon()
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            font.setItalic(node.state is LoadState.LOADING)
            return font
        if role == self.PATH_ROLE:
            return str(node.path)
        if role == self.STATE_ROLE:
            return node.state.value
        if role == self.ERROR_ROLE:
            return node.error
        return None

    def _image_data(self, node: ImageNode, role: int) -> Any:
        entry = node.entry
        descriptor = entry.descriptor
        if role == Qt.ItemDataRole.DisplayRole:
            return visible(entry.label)
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f"{visible(entry.name)}\n{descriptor.digest}\n"
                    f"{media.friendly(descriptor.media_type)} ({descriptor.media_type})"
                    + (f"\nAttached to {entry.attached_to or 'an image'}, which is not here."
                       if entry.attached else ""))
        if role == Qt.ItemDataRole.DecorationRole:
            return icons.index_icon() if media.is_index(descriptor.media_type) \
                else icons.image_icon()
        if role == self.ENTRY_ROLE:
            return entry
        return None

    def _message_data(self, node: MessageNode, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return visible(node.text)
        if role == SENTENCE_ROLE:
            return True
        if role == Qt.ItemDataRole.ToolTipRole:
            return _rich_tooltip(visible(node.detail or node.text))
        if role == Qt.ItemDataRole.DecorationRole:
            return icons.warning_icon() if node.is_error else QIcon()
        if role == Qt.ItemDataRole.ForegroundRole:
            return muted_color()
        if role == self.ERROR_ROLE:
            return (node.detail or node.text) if node.is_error else None
        return None


def held(node: LocationNode) -> tuple[int, int]:
    """How many images a place's rows show, and how many signatures or referrers of images
    it does not hold (see :func:`~spyglass.gui.loading.shown_entries`)."""
    entries = [child.entry for child in node.children if isinstance(child, ImageNode)]
    attached = sum(entry.attached for entry in entries)
    return len(entries) - attached, attached


def _rich_tooltip(text: str) -> str:
    """A tooltip that word-wraps: rich text, one paragraph per line."""
    return "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines())
