"""The copy side of the window: drags, drops, the Copy dialog, the Transfers panel.

:class:`CopyController` makes the places and registry trees, the tag table,
the Platforms table and the image view's header icon drag sources, makes the
places and registry trees drop targets, opens the :class:`CopyDialog`
(prefilled from the drop, or empty for "Copy To…"), hands planned copies to
the :class:`TransferManager`, and refreshes a place when a copy into it is done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QApplication, QMenu, QTreeView

from spyglass.core.cancel import CancelToken
from spyglass.core.errors import SpyglassError
from spyglass.core.platform_choice import is_unplaced
from spyglass.core.reference import DockerName, parse_image_name
from spyglass.core.settings import normalize_location
from spyglass.core.text import visible
from spyglass.core.transports import open_destination, open_source
from spyglass.core.transports.base import ImageDestination, ImageSource
from spyglass.gui.copy_drops import (
    COPY_TO_SHORTCUT,
    DraggedImage,
    DropPlace,
    place_of,
    suggest_destination,
)
from spyglass.gui.copy_jobs import CopyRequest, Openers, Prepared
from spyglass.gui.copy_names import normalize_name
from spyglass.gui.dialogs.copy import CopyDialog
from spyglass.gui.dragdrop import (
    DragSource,
    ImageCopySource,
    ImageDragSource,
    PlaceDropTarget,
    clipboard_image,
    copy_image,
)
from spyglass.gui.formatting import counted
from spyglass.gui.models.places import ImageNode, LoadState, LocationNode
from spyglass.gui.models.registry_rows import RegistryNode, RepositoryNode, TagNode
from spyglass.gui.models.transfers import onto_itself
from spyglass.gui.registry_jobs import Connection, tag_reference
from spyglass.gui.signals import emit
from spyglass.gui.transfers import Transfer, TransferManager, TransferState
from spyglass.gui.views.transfers_panel import TransfersPanel
from spyglass.gui.views.widgets import CameFrom

if TYPE_CHECKING:
    from spyglass.gui.main_window import MainWindow

log = logging.getLogger(__name__)


def done_message(transfer: Transfer) -> str:
    """What the status bar says when a copy is done: where the image went, and that
    the copy has notes (what it changed or left behind) when it has."""
    request = transfer.request
    what = visible(request.label or request.source)
    destination = visible(request.destination)
    snapshot = transfer.snapshot
    # a copy that wrote nothing of the image does not say "Copied"
    if snapshot.held:  # (a registry whose tag named it: asked before)
        done = ("only what is attached to it was written" if snapshot.wrote_attached
                else "nothing was written")
        message = f"Already there: {what} at {destination}, under that name; {done}"
    elif onto_itself(transfer):
        # whether the name pointed there before is not known: a new tag, or one moved
        # onto this image, was written all the same
        message = f"Already there: {what} at {destination}; only its name was written"
    else:
        message = f"Copied {what} to {destination}"
    notes = len(snapshot.notes)
    if notes:
        message += f"; {counted(notes, 'note')} — see Details"
    return f"{message}."


class CopyController(QObject):
    """See the module docstring.

    Attributes:
        manager: the :class:`TransferManager`.
        panel: the Transfers panel.
        dialog: the Copy dialog while one is open.
        copy_action: "Copy To…" (the current image, to a name the user types).
        copy_image_action: "Copy Image by Name…" (an image whose name the user types or
            pastes).
        clipboard_action: Edit's "Copy Image" (Ctrl+C: the selected image onto the
            clipboard, for Paste Image Here).

    Signals:
        dialogOpened(object): a :class:`CopyDialog` was opened.
        statusMessage(str): a notice for the status bar.
        quietStatus(str): a notice for the status bar that readers have heard already
            (from the Transfers panel, where it is said whole).
    """

    dialogOpened = Signal(object)
    statusMessage = Signal(str)
    quietStatus = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._connections: dict[str, Connection] = {}
        self.openers = Openers(source=self._open_source, destination=self._open_destination,
                               refresh=self._sync_connections)
        self.manager = TransferManager(self.openers, self)
        self.panel = TransfersPanel(self.manager)
        self.dialog: CopyDialog | None = None
        self._last_place: DropPlace | None = None
        """Where the last copy went: "Copy To…" suggests the same place."""
        self.manager.finished.connect(self._transfer_done)
        self.manager.changed.connect(self._transfer_changed)
        self._place_was_open: set[int] = set()
        """Ids of the transfers whose local destination was open when they (last) started:
        one closed since stays closed when the copy ends (only a new place is opened)."""
        self._endings_told: dict[int, int] = {}
        """Transfer id → the attempt whose failure or cancel the status bar has said."""
        self.manager.started.connect(lambda _t: self.show_panel())
        self.manager.started.connect(self._note_place)
        self.panel.hideRequested.connect(self.hide_panel)
        self.panel.statusMessage.connect(self.statusMessage)
        self.panel.find_destination = self.find_destination
        self.panel.roomWanted.connect(self._lend_room)
        self._lent: tuple[int, list[int]] | None = None
        """The height lent to the panel for a failure sentence, and the splitter's sizes
        right after: it is given back only while they are still the same."""

        self.copy_action = QAction("Copy &To…", window)
        self.copy_action.setShortcut(QKeySequence(COPY_TO_SHORTCUT))
        self.copy_action.setStatusTip("Copy the selected image to a registry, layout or archive")
        self.copy_action.triggered.connect(lambda _checked=False: self.copy_current())
        # (named apart from Copy To…, and from Edit's Copy Image: this one asks for a name)
        self.copy_image_action = QAction("Copy Image by &Name…", window)
        self.copy_image_action.setShortcut(QKeySequence("Ctrl+Shift+I"))
        self.copy_image_action.setStatusTip(
            "Copy an image by its name: a registry reference, docker://…, oci:…, an archive")
        self.copy_image_action.triggered.connect(lambda _checked=False: self.open_dialog(None))
        self.show_transfers_action = QAction("&Transfers", window)
        self.show_transfers_action.setCheckable(True)
        self.show_transfers_action.setShortcut(QKeySequence("Ctrl+Shift+T"))
        self.show_transfers_action.toggled.connect(self._toggle_panel)
        self.show_transfers_action.triggered.connect(self._panel_asked_for)
        self.show_transfers_action.installEventFilter(self)  # its key: see eventFilter
        self._came_from = CameFrom(self.panel)
        """The widget of the window the keyboard was in before it went into the panel
        (by Ctrl+Shift+T, Tab or a click): hiding the panel from the keyboard gives the
        focus back to it, or to the places (see :meth:`_toggle_panel`)."""
        self._came_from.fallback = lambda: window.tree

        registries = window.registries
        ImageDragSource(window.tree, self._place_image)
        ImageDragSource(registries.tree, self._registry_image)
        ImageDragSource(registries.repository_page.table, self._table_image)
        ImageDragSource(window.image_view.platforms.table, self._platform_image)
        handle = window.image_view.header_icon  # the shown image itself, by its icon
        handle.setCursor(Qt.CursorShape.OpenHandCursor)
        handle.setToolTip("Drag onto a registry, repository, layout or folder to copy this "
                          "image")
        DragSource(handle, lambda _point: self.shown_image())
        self._targets = (
            PlaceDropTarget(window.tree, self._local_place, self._dropped, self._takes),
            PlaceDropTarget(registries.tree, self._registry_place, self._dropped, self._takes))
        # the keyboard's drag and drop: Ctrl+C on an image, Ctrl+V on a place
        said = partial(emit, self.statusMessage)
        ImageCopySource(window.tree, self._place_image, said)
        ImageCopySource(window.image_view.platforms.table, self._platform_image, said)
        registries.image_of_tag = self._tag_image  # (its Ctrl+C is Copy Reference)
        registries.add_paste = self.add_paste
        # Ctrl+C itself is the views' (ImageCopySource: an image row copies its image,
        # any other row or field copies its text); the menu item shows the key and does
        # what it does on an image
        self.clipboard_action = QAction("&Copy Image", window)
        self.clipboard_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        self.clipboard_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.clipboard_action.setStatusTip("Copy the selected image, to paste it on a layout, "
                                           "folder, registry or repository (Ctrl+V)")
        self.clipboard_action.triggered.connect(lambda _checked=False: self.copy_to_clipboard())
        self.paste_action = QAction("&Paste Image Here", window)
        self.paste_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Paste))
        self.paste_action.setStatusTip("Copy the image copied (Ctrl+C) into the layout, "
                                       "folder, registry or repository chosen, as a drop")
        self.paste_action.triggered.connect(lambda _checked=False: self.paste_image())
        self._failed_targets: dict[tuple[int, str | None], bool] = {}
        """Whether a place that failed to open may take a copy, by its row and sentence."""

    # -- opening names (on workers): registries through the window's connections

    def _sync_connections(self) -> None:
        """Take the registries' connections as the registries list has them now (after an
        "Edit Registry…", the new credentials'); the manager calls it as each copy begins."""
        model = self._window.registries.model
        found: dict[str, Connection] = {}
        for row in range(model.rowCount()):
            node = model.registry_node(model.index(row, 0))
            if node is not None:
                found[node.host] = node.connection
        self._connections = found

    def _connection(self, name: str) -> tuple[Connection, DockerName] | None:
        parsed = parse_image_name(name)
        if isinstance(parsed, DockerName):
            connection = self._connections.get(parsed.reference.domain)
            if connection is not None:
                return connection, parsed
        return None

    def _open_source(self, name: str, cancel: CancelToken) -> ImageSource:
        found = self._connection(name)
        if found is None:
            return open_source(name, cancel=cancel)
        from spyglass.core.transports.registry import clients_beside, open_registry_image

        # read where the command line reads it: registries.conf's mirrors, then location
        connection, parsed = found
        return open_registry_image(parsed.reference,
                                   make_client=clients_beside(connection.client()),
                                   cancel=cancel)

    def _open_destination(self, name: str, cancel: CancelToken) -> ImageDestination:
        found = self._connection(name)
        if found is None:
            return open_destination(name, cancel=cancel)
        from spyglass.core.transports.registry.destination import RegistryDestination

        connection, parsed = found
        ref = parsed.reference
        if ref.digest is not None:
            return RegistryDestination(connection.client(), ref.path, digest=ref.digest)
        return RegistryDestination(connection.client(), ref.path, tag=ref.tag or "latest")

    # -- what can be dragged

    def _place_image(self, index: QModelIndex) -> DraggedImage | None:
        node = self._window.places.node(index)
        if isinstance(node, ImageNode) and node.parent.location is not None:
            # the image the row was listed with (its name may name another by now)
            return DraggedImage(node.entry.name, node.entry.label,
                                top_digest=str(node.entry.descriptor.digest))
        return None

    def _tag_image(self, node: object) -> DraggedImage | None:
        if not isinstance(node, TagNode):
            return None
        repo = node.parent
        name = f"docker://{tag_reference(repo.parent.host, repo.name, node.name)}"
        # the digest the row shows, once looked up (the tag may have moved since)
        return DraggedImage(name, f"{repo.name}:{node.name}",
                            top_digest=str(node.digest) if node.digest is not None else "")

    def _registry_image(self, index: QModelIndex) -> DraggedImage | None:
        return self._tag_image(self._window.registries.model.node(index))

    def _table_image(self, index: QModelIndex) -> DraggedImage | None:
        page = self._window.registries.repository_page
        source = page.proxy.mapToSource(index)
        return self._tag_image(self._window.registries.model.node(source))

    def _platform_image(self, index: QModelIndex) -> DraggedImage | None:
        view = self._window.image_view
        state = view.state
        summary = view.platforms.model.row_at(index)
        if state is None or summary is None:
            return None
        descriptor = summary.descriptor
        label = f"{state.entry.label} ({state.label(descriptor)})"
        if is_unplaced(descriptor) or descriptor.digest in state.twins:
            # no platform chooses it (it names none, or another image is chosen for the
            # one it names): copied alone by its digest
            return DraggedImage(state.entry.name, label, digest=str(descriptor.digest),
                                top_digest=str(state.top.digest))
        if descriptor.platform is None:
            return None
        return DraggedImage(state.entry.name, label, str(descriptor.platform),
                            str(descriptor.digest), str(state.top.digest))

    # -- where it can be dropped

    def _local_place(self, index: QModelIndex) -> DropPlace | None:
        node = self._window.places.location_node(index)
        if not isinstance(node, LocationNode):
            return None
        if node.location is not None and node.state is LoadState.LOADED:
            kind = node.location.kind
            if kind in ("oci", "dir", "oci-archive", "docker-archive", "folder"):
                return DropPlace(kind, path=str(node.path))  # type: ignore[arg-type]
            return None
        if node.is_archive:
            return None
        if node.state is LoadState.FAILED:
            key = (node.id, node.error)
            if key not in self._failed_targets:  # (once, not on every move of the drag)
                self._failed_targets[key] = _new_layout_may_go(node.path)
            if not self._failed_targets[key]:
                return None
        return DropPlace("folder", path=str(node.path))

    def _registry_place(self, index: QModelIndex) -> DropPlace | None:
        node = self._window.registries.model.node(index)
        if isinstance(node, TagNode):
            node = node.parent
        if isinstance(node, RepositoryNode):
            return DropPlace("repository", host=node.parent.host, repository=node.name)
        if isinstance(node, RegistryNode):
            return DropPlace("registry", host=node.host)
        return None

    @staticmethod
    def _takes(image: DraggedImage, place: DropPlace) -> bool:
        """Whether ``place`` may take ``image``: not where the copy would name the image
        itself (its own layout, repository or tag; a registry is where a copy may get
        another repository's name, which the dialog offers to type)."""
        if place.kind == "registry":
            return True
        suggested = suggest_destination(image.name, place, image.label, image.part)
        return normalize_name(suggested) != normalize_name(image.name)

    # -- the dialog

    def _dropped(self, image: DraggedImage, place: DropPlace) -> None:
        self.open_dialog(image, place)

    def paste_image(self, view: QAbstractItemView | None = None,
                    index: QModelIndex | None = None) -> CopyDialog | None:
        """Paste Image Here: the image copied (Ctrl+C) dropped on the row ``index`` of
        ``view`` (the current row of the sidebar's tree that has the keyboard, unless
        given), as the mouse drops it: the same Copy dialog, the same destination."""
        image = clipboard_image()
        if image is None:
            emit(self.statusMessage, "Copy an image first (Ctrl+C on an image, a tag or a "
                                     "platform), then paste it on a place.")
            return None
        focused = QApplication.focusWidget()
        target = next((target for target in self._targets if target.view is view or (
            view is None and focused is not None and (
                target.view is focused or target.view.isAncestorOf(focused)))), None)
        if target is None or not target.drop_here(image, index):
            emit(self.statusMessage, f"Choose a layout, folder, registry or repository "
                                     f"other than its own to paste {visible(image.label)} "
                                     "into.")
            return None
        return self.dialog

    def copy_to_clipboard(self) -> DraggedImage | None:
        """Edit ▸ Copy Image: the selected image (:meth:`current_image`) onto the
        clipboard, as Ctrl+C on its row puts it, to paste on a place."""
        image = self.current_image()
        if image is None:
            emit(self.statusMessage, "Select an image to copy first.")
            return None
        emit(self.statusMessage, copy_image(image))
        return image

    def add_paste(self, menu: QMenu, view: QAbstractItemView, index: QModelIndex) -> None:
        """Paste Image Here in the context menu of the row ``index`` of ``view``, where
        that row takes the image copied (a place, a registry, a repository)."""
        image = clipboard_image()
        if image is None or not any(target.view is view and
                                    target.taking(image, index) is not None
                                    for target in self._targets):
            return
        row = QPersistentModelIndex(index)
        paste = menu.addAction(self.paste_action.text(),
                               lambda: self.paste_image(view, row.sibling(row.row(), row.column())))
        paste.setShortcut(self.paste_action.shortcut())  # (shown; the window's acts)
        paste.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        menu.addSeparator()

    def open_dialog(self, image: DraggedImage | None, place: DropPlace | None = None, *,
                    destination: str = "") -> CopyDialog:
        """Open the Copy dialog for ``image`` (window-modal, not blocking); with no image,
        the source is typed in the dialog."""
        self._sync_connections()
        if self.dialog is not None:
            self.dialog.close()
        remembered = place is None
        place = place or self._last_place
        if image is not None and place is not None and not destination:
            destination = suggest_destination(image.name, place, image.label, image.part)
            if remembered and normalize_name(destination) == normalize_name(image.name):
                destination = ""  # the last place is where the image is: not a copy at all
        last = self._last_place
        dialog = CopyDialog(self._window.runner, self.openers,
                            image.name if image is not None else "",
                            label=image.label if image is not None else "",
                            destination=destination,
                            platform=image.platform if image is not None else "",
                            instance=image.digest if image is not None else "",
                            expected=image.top_digest if image is not None else "",
                            suggest=(lambda source: suggest_destination(source, last))
                            if last is not None else None,
                            suggest_for_platform=_platform_suggester(image, place),
                            hosts=lambda: self._window.registries.model.hosts,
                            writing=self.manager.writing,
                            parent=self._window)
        for happened in (self.manager.added, self.manager.changed, self.manager.removed):
            happened.connect(dialog.transfers_changed)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.planned.connect(self.start)
        dialog.destroyed.connect(lambda *_: self._dialog_gone(dialog))
        self.dialog = dialog
        dialog.open()
        emit(self.dialogOpened, dialog)
        return dialog

    def _dialog_gone(self, dialog: CopyDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def current_image(self) -> DraggedImage | None:
        """The image "Copy To…" copies: the current platform of the Platforms table
        where it has the keyboard, the selected tag or image row, else the one shown."""
        window = self._window
        registries = window.registries
        platforms = window.image_view.platforms.table
        focused = QApplication.focusWidget()
        if focused is not None and (focused is platforms or platforms.isAncestorOf(focused)):
            # that platform alone, as dragging its row copies it
            platform = self._platform_image(platforms.currentIndex())
            if platform is not None:
                return platform
        tag = self._tag_image(registries.model.node(registries.chosen_index()))
        if tag is not None:
            return tag
        if window.content.currentWidget() is registries.repository_page:
            # (current_tag is an index of the model already: not the table's proxy's)
            tag = self._tag_image(registries.model.node(
                registries.repository_page.current_tag()))
            if tag is not None:
                return tag
        image = self._place_image(window.chosen_place())
        if image is not None:
            return image
        return self.shown_image()

    def shown_image(self) -> DraggedImage | None:
        """The image the image view shows, if any."""
        state = self._window.image_view.state
        if state is not None:
            return DraggedImage(state.entry.name, state.entry.label,
                                top_digest=str(state.top.digest))
        return None

    def copy_current(self, destination: str = "") -> CopyDialog | None:
        image = self.current_image()
        if image is None:
            emit(self.statusMessage, "Select an image to copy first.")
            return None
        return self.open_dialog(image, destination=destination)

    def copy_into_folder(self, folder: str) -> CopyDialog | None:
        """A folder dropped from the file manager: copy the current image into it."""
        image = self.current_image()
        if image is None:
            return None
        return self.open_dialog(image, DropPlace("folder", path=folder))

    # -- transfers

    def start(self, request: CopyRequest, prepared: Prepared | None = None) -> Transfer:
        self._last_place = place_of(request.destination) or self._last_place
        self._sync_connections()
        transfer = self.manager.start(request, prepared)
        self.panel.follow(transfer)
        emit(self.statusMessage, f"Copying {request.label or request.source}…")
        return transfer

    def show_panel(self) -> None:
        self.show_transfers_action.setChecked(True)

    def hide_panel(self) -> None:
        self.show_transfers_action.setChecked(False)

    def _panel_asked_for(self, shown: bool) -> None:
        """Ctrl+Shift+T (or the menu) by the person: the panel shown by it comes with the
        keyboard in its table (a copy that shows it leaves the keyboard where it is)."""
        if shown:
            self.panel.table.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter: Ctrl+Shift+T while the panel shows and the
        keyboard is elsewhere (where a copy started from the keyboard left it) takes the
        keyboard into the panel's table; it hides the panel only from there. The View
        menu's item still shows or hides it."""
        if watched is self.show_transfers_action and event.type() == QEvent.Type.Shortcut \
                and self.panel.isVisible():
            focused = QApplication.focusWidget()
            if focused is None or not self.panel.isAncestorOf(focused):
                self.panel.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
                return True
        return super().eventFilter(watched, event)

    def _toggle_panel(self, shown: bool) -> None:
        if not shown:
            # the focus goes back where it came from (the tag row it left, say), or to the
            # places, not to whatever Qt finds next (a banner's Dismiss button, which a
            # Space would then press)
            self._came_from.give_back()
        self.panel.setVisible(shown)
        splitter = self._window.vertical
        if shown:
            sizes = splitter.sizes()
            total = sum(sizes)
            if len(sizes) == 2 and sizes[1] < 120:
                panel = min(220, max(160, total // 4))
                splitter.setSizes([total - panel, panel])

    def _lend_room(self, change: int) -> None:
        """The panel taller by the height a failure sentence above its rows takes (from
        the panes above, which keep at least three fifths of the height), and shorter
        again when the sentence goes, unless the split was moved since."""
        splitter = self._window.vertical
        sizes = splitter.sizes()
        if len(sizes) != 2 or self.panel.isHidden():
            self._lent = None
            return
        top, panel = sizes
        if change > 0:
            give = max(0, min(change, top - (top + panel) * 3 // 5))
            if give:
                lent = self._lent[0] if self._lent is not None and \
                    self._lent[1] == sizes else 0
                splitter.setSizes([top - give, panel + give])
                self._lent = (lent + give, splitter.sizes())
        elif self._lent is not None:
            lent, after = self._lent
            if after == sizes:
                back = min(lent, -change)
                splitter.setSizes([top + back, panel - back])
                self._lent = (lent - back, splitter.sizes()) if lent > back else None
            else:
                self._lent = None

    def _transfer_changed(self, row: int) -> None:
        """A copy that failed or was cancelled says so in the status bar (which said
        "Copying …" when it began); the sentence is in the panel and its Details."""
        if not 0 <= row < len(self.manager.transfers):
            return
        transfer = self.manager.transfers[row]
        if transfer.state not in (TransferState.FAILED, TransferState.CANCELLED) \
                or self._endings_told.get(transfer.id) == transfer.attempts:
            return
        self._endings_told[transfer.id] = transfer.attempts
        what = transfer.request.label or transfer.request.source
        if transfer.state is TransferState.FAILED:
            # the panel's banner says the whole sentence (to readers too) of the copy
            # selected in it: not again in other words
            told = self.panel.isVisible() and self.panel.current() is transfer
            emit(self.quietStatus if told else self.statusMessage,
                 f"Copying {what} failed; the Transfers panel says why.")
        else:
            emit(self.statusMessage, f"Copying {what} was cancelled.")

    def _transfer_done(self, transfer: Transfer) -> None:
        """Say so (and whether the copy has notes to read), and refresh the place the
        image went to."""
        emit(self.statusMessage, done_message(transfer))
        try:
            name = parse_image_name(transfer.request.destination)
        except Exception:
            return
        window = self._window
        if isinstance(name, DockerName):
            model = window.registries.model
            ref = name.reference
            repo = model.repository_index(ref.domain, ref.path)
            if repo.isValid():
                model.refresh_repository(repo, ref.tag, transfer.result)
                window.registries.repository_page.refresh()
                if ref.tag is not None and transfer.result is not None:
                    window.registries.tag_written(ref.domain, ref.path, ref.tag,
                                                  transfer.result.digest)
                return
            registry = model.registry_index(ref.domain)
            if registry.isValid():
                model.add_repository(registry, ref.path)
            return
        index = self._open_place_of(transfer.request.destination)
        if index is not None:
            window.places.refresh(index)
            window.tree.expand(index)
        elif transfer.id not in self._place_was_open:
            window.open_location(normalize_location(Path(name.path)), select=False)

    def find_destination(self, transfer: Transfer) -> Callable[[], None] | None:
        """How to show where ``transfer`` copies to in the sidebar, as a copy done there
        refreshes it: a call that selects its repository in REGISTRIES (its registry,
        while the repository is not listed), or its place in LOCAL while that is open,
        and puts the keyboard there; None where the window lists it nowhere."""
        window = self._window
        try:
            name = parse_image_name(transfer.request.destination)
        except SpyglassError:
            return None
        if isinstance(name, DockerName):
            registries = window.registries
            ref = name.reference
            index = registries.model.repository_index(ref.domain, ref.path)
            if not index.isValid():
                index = registries.model.registry_index(ref.domain)
            if not index.isValid():
                return None
            row = QPersistentModelIndex(index)
            return lambda: _reveal(registries.tree, row, registries.select)
        place = self._open_place_of(transfer.request.destination)
        if place is None:
            return None
        return lambda: _reveal(window.tree, QPersistentModelIndex(place),
                               window.tree.setCurrentIndex)

    def _note_place(self, transfer: Transfer) -> None:
        """Whether the place a copy (or its Retry) goes to is open as it starts."""
        if self._open_place_of(transfer.request.destination) is not None:
            self._place_was_open.add(transfer.id)
        else:
            self._place_was_open.discard(transfer.id)

    def _open_place_of(self, destination: str) -> QModelIndex | None:
        """The row of the local place ``destination`` names, when it is open."""
        try:
            name = parse_image_name(destination)
        except Exception:
            return None
        if isinstance(name, DockerName):
            return None
        places = self._window.places
        path = normalize_location(Path(name.path))
        return places.index(places.paths.index(path), 0) if path in places.paths else None

    def shutdown(self) -> None:
        if self.dialog is not None:
            self.dialog.close()
        self.panel.close_dialogs()
        self.manager.shutdown()


__all__ = ["CopyController", "done_message"]


def _reveal(tree: QTreeView, row: QPersistentModelIndex,
            select: Callable[[QModelIndex], None]) -> None:
    """Select ``row`` of ``tree`` (still there) by ``select``, in sight, with the focus."""
    if not row.isValid():
        return
    index = row.sibling(row.row(), row.column())  # (a plain index of it)
    select(index)
    tree.scrollTo(index)
    tree.setFocus(Qt.FocusReason.OtherFocusReason)


def _new_layout_may_go(path: Path) -> bool:
    """Whether a copy may make a layout at ``path``, a place that failed to open: one
    that is gone (a new layout) or an empty folder; not a file, nor a folder of other
    things (the Copy dialog would refuse it)."""
    try:
        if not path.exists():
            return True
        return path.is_dir() and not any(path.iterdir())
    except OSError:
        return False


def _platform_suggester(image: DraggedImage | None, place: DropPlace | None,
                        ) -> Callable[[str], str] | None:
    """The destination to offer for ``image`` dropped on ``place`` as the platforms ticked
    change (a platform, the short digest of an image without one, or "" for several)."""
    if image is None or place is None:
        return None
    def suggest(platform: str) -> str:
        return suggest_destination(image.name, place, image.label, platform)

    return suggest
