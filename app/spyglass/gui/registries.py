"""The registry side of the window: the Registries tree, its pages, dialogs and actions.

:class:`RegistryBrowser` owns the :class:`RegistriesModel`, the tree that shows
it in the sidebar, the registry and repository pages of the middle pane, the
Add/Edit Registry dialog and the actions on tags (copy by tag or digest, copy
a pull command, delete). The main window places its widgets and tells it when
the local places take the selection.

Navigation is the tree's: a registry row shows its repositories, a repository
row its tags, a tag row the image — as an image of a layout is shown. The
pages' lists are the same rows; opening one selects it in the tree.

Its parts: :class:`~spyglass.gui.registry_editing.RegistryEditing` (adding, editing and
removing registries) and :class:`~spyglass.gui.registry_actions.RegistryActions` (the
tag actions and the context menus).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QTreeView,
    QWidget,
)

from spyglass.core.cancel import CancelToken
from spyglass.core.credentials.store import CredentialStore
from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidReference, NotFound
from spyglass.core.settings import Settings
from spyglass.gui.announce import announce
from spyglass.gui.copy_drops import DraggedImage
from spyglass.gui.dialogs.registry import RegistryDialog
from spyglass.gui.loading import ImageState, load_registry_tag
from spyglass.gui.models.places import LoadState
from spyglass.gui.models.registries import RegistriesModel
from spyglass.gui.models.registry_data import stale_text
from spyglass.gui.models.registry_listings import SortedPage, whole_tag_list
from spyglass.gui.models.registry_rows import (
    SIGNED_ROLE,
    MessageRow,
    RegistryNode,
    RepositoryNode,
    TagNode,
)
from spyglass.gui.registry_actions import RegistryActions
from spyglass.gui.registry_editing import RegistryEditing
from spyglass.gui.registry_jobs import (
    catalog_listing,
    parse_repository_input,
    tag_listing,
    tag_reference,
)
from spyglass.gui.signals import emit
from spyglass.gui.views.buttons import plain_buttons
from spyglass.gui.views.context_menus import open_by_keyboard
from spyglass.gui.views.delegates import SignedBadgeDelegate
from spyglass.gui.views.image_view import ImageView
from spyglass.gui.views.registry_pages import RegistryPage, RepositoryPage
from spyglass.gui.views.widgets import CameFrom, ChosenRow, KeepCurrentInView
from spyglass.gui.workers import Runner, registry_lane

Confirm = Callable[[str, str, str], bool]
"""``confirm(title, text, accept_label) -> bool``: ask before something cannot be undone."""


@dataclass(frozen=True)
class ChooseAgain:
    """Tags of one repository to choose once its tags are listed (again): the tag "Open"
    named, or those chosen before a reload or a delete took the rows away."""

    host: str
    repository: str
    table: tuple[str, ...] = ()
    """The tags to select in the repository page's table, the one wanted first; the first
    of them still listed (and shown) is selected: after a delete, the tag after the one
    deleted, or before it when it was the last."""
    tree: str = ""
    """The tag chosen in the tree (its image shown): chosen again while it is listed,
    else its repository is."""
    say_missing: bool = False
    """Say so when the first of :attr:`table` is not among the tags listed (one named by
    "Open")."""

    def wanted(self) -> tuple[str, ...]:
        """The tags waited for before anything is chosen (while the tags are listed)."""
        return tuple(name for name in (self.tree, *self.table[:1]) if name)


class RegistryBrowser(QObject):
    """See the module docstring.

    Attributes:
        model: the :class:`RegistriesModel`.
        tree: the sidebar's view of it.
        registry_page, repository_page: the middle pane for registry and repository rows.
        dialog: the Add/Edit Registry dialog while one is open.
        confirm: how to ask before deleting or removing (tests replace it).
        editing: the :class:`RegistryEditing`: adding, editing, removing registries.
        actions: the :class:`RegistryActions`: the tag actions and context menus
            (``table_actions``, ``tree_actions``: its actions by name).
        add_action: "Add Registry…", for the window's menu and the tree's.
        edit_action: "Edit Registry…" of the chosen row's registry, for the window's menu
            (the window enables it while a registry's row, or one in it, is chosen).

    Signals:
        statusMessage(str): a notice for the status bar.
        settingsChanged(): the registries (or how their tags are listed) changed in the
            settings; save them.
        settingsEdited(str): a registry was edited; save the settings, and once they are
            saved (not before, nor when the save fails) say the sentence.
        sessionOnly(str): the credentials of this host last only until Spyglass quits.
        savedInKeyring(str): the credentials of this host were saved in the keyring.
        selected(): a row of the registries tree became current.
        titleChanged(str): what the window title should say ("": nothing is shown).
        registryAdded(str): a registry was added through the dialog.
        registryRemoved(str): a registry was taken off the list.
        deleted(object): a tag's image was deleted (the :class:`DeletePlan`).
    """

    statusMessage = Signal(str)
    settingsChanged = Signal()
    settingsEdited = Signal(str)
    sessionOnly = Signal(str)
    savedInKeyring = Signal(str)
    selected = Signal()
    titleChanged = Signal(str)
    registryAdded = Signal(str)
    registryRemoved = Signal(str)
    deleted = Signal(object)

    def __init__(
        self,
        runner: Runner,
        settings: Settings,
        store: CredentialStore,
        image_view: ImageView,
        content: QStackedWidget,
        parent: QWidget,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._settings = settings
        self._store = store
        self._image_view = image_view
        self._content = content
        self._window = parent
        self._clearing = False
        self.confirm: Confirm = self._ask
        self._pending: ChooseAgain | None = None
        """What to choose once the tags of its repository are listed (see
        :meth:`_select_pending`)."""
        self._looked_at: RepositoryNode | None = None
        """The repository chosen last, or whose tag was (see :meth:`_leave_repository`)."""
        self.copy_to_action: QAction | None = None
        """The window's "Copy To…", added to the tag menus when set."""
        self.add_paste: Callable[[QMenu, QAbstractItemView, QModelIndex], None] | None = None
        """Adds the window's "Paste Image Here" for a row to its menu, where the row
        takes the image copied (when set)."""
        self.image_of_tag: Callable[[TagNode], DraggedImage | None] | None = None
        """A tag's image as a drag carries it: Copy Reference (Ctrl+C) puts that on the
        clipboard too, to paste on a place (when set)."""

        self.model = RegistriesModel(runner, self)
        self.model.message.connect(self.statusMessage)
        self.model.tagsLoaded.connect(self._select_pending)
        # said at once (before the status bar's polite announcement of the same sentence)
        self.model.registryFailed.connect(self._announce_failure)
        self.model.registryFailed.connect(self._registry_failed)
        self.show_attachments = settings.show_attachment_tags
        """Whether tags holding signatures and referrers are listed (the tree and the page)."""
        self.tree: QTreeView = QTreeView()
        self.tree.setAccessibleName("Registries")
        self._build_tree()
        self.registry_page = RegistryPage(self.model)
        self.repository_page = RepositoryPage(self.model)
        if self.show_attachments:
            self.repository_page.set_show_attachments(True)
        content.addWidget(self.registry_page)
        content.addWidget(self.repository_page)
        self._page_keyboard = CameFrom(self.registry_page)
        self._page_keyboard.fallback = lambda: self.tree
        self.editing = RegistryEditing(self, runner, settings, store, image_view, parent)
        self._connect_pages()
        self._build_actions()
        image_view.imageShown.connect(self._image_shown)

        for entry in settings.registries:
            self.model.add_registry(entry, self.editing.connection(entry))
        self.editing.forget_pending()

    # ------------------------------------------------------------------ building

    def _build_tree(self) -> None:
        tree = self.tree
        tree.setModel(self.model)
        tree.setHeaderHidden(True)
        for column in range(1, self.model.columnCount()):
            tree.setColumnHidden(column, True)
        tree.setUniformRowHeights(True)
        tree.setAnimated(True)
        tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        open_by_keyboard(tree)
        tree.setIndentation(16)
        tree.setItemDelegateForColumn(0, SignedBadgeDelegate(SIGNED_ROLE, tree, padding=3))
        self._chosen = ChosenRow(tree, self._current_changed)
        self._keep_in_view = KeepCurrentInView(tree)
        self.model.rowsInserted.connect(self._tags_inserted)
        # a registry's next page is read as its last rows come near, not before
        self._near_end = QTimer(self)
        self._near_end.setSingleShot(True)
        self._near_end.setInterval(0)
        self._near_end.timeout.connect(self._fetch_near_end)
        # (when a person scrolls or opens a row: not as rows come in, nor as the selected
        # row is kept in place below rows that came in; either read page after page, the
        # end of a registry above the selection staying in sight as each came in)
        tree.verticalScrollBar().valueChanged.connect(self._scrolled)
        tree.expanded.connect(lambda _index: self._near_end.start())

    def _announce_failure(self, _host: str, sentence: str) -> None:
        announce(self.tree, sentence, assertive=True)

    def _registry_failed(self, host: str, sentence: str) -> None:
        """A registry's listing failed: the status bar says it, unless its page, in sight,
        says it already (it was said three times: the page, the tree, the status bar)."""
        if not self._on_page(self.model.registry_node(self.model.registry_index(host))):
            emit(self.statusMessage, sentence)

    def _on_page(self, node: object) -> bool:
        """Whether the middle pane shows the page of ``node`` (a registry or repository)."""
        shown = self._content.currentWidget()
        return node is not None and (
            (shown is self.registry_page and self.registry_page.node is node)
            or (shown is self.repository_page and self.repository_page.node is node))

    def _scrolled(self, _value: int) -> None:
        if not self._keep_in_view.restoring:
            self._near_end.start()

    def _fetch_near_end(self) -> None:
        """Read the next page of each expanded registry whose last row is in sight, or
        within a screenful of it (the tree asks for a registry's first page alone)."""
        tree, model = self.tree, self.model
        viewport = tree.viewport().rect()
        for row in range(model.rowCount()):
            registry = model.index(row, 0)
            node = model.registry_node(registry)
            count = model.rowCount(registry)
            if node is None or not node.more or not count or not tree.isExpanded(registry):
                continue
            last = tree.visualRect(model.index(count - 1, 0, registry))
            # in sight or below it (a registry whose end has scrolled above the view is
            # not near its end: with the selected row kept in place below it, each page
            # read there would ask for the next, to the end of its catalog)
            if (last.isValid() and last.bottom() >= viewport.top()
                    and last.top() <= viewport.bottom() + viewport.height()):
                model.fetch_next(registry)

    def _connect_pages(self) -> None:
        page = self.registry_page
        page.repositoryActivated.connect(self.select)
        page.openRequested.connect(self._open_from_page)
        page.editRequested.connect(lambda: self.edit_registry(self._page_host()))
        page.removeRequested.connect(lambda: self.remove_registry(self._page_host()))
        page.retryRequested.connect(lambda: self.reload_keeping(page.source_root))
        page.stopRequested.connect(lambda waited: self._stop(page.source_root, waited))
        page.header.title.copied.connect(self.statusMessage)
        repo = self.repository_page
        repo.header.title.copied.connect(self.statusMessage)
        repo.tagActivated.connect(self._open_tag)
        repo.retryRequested.connect(lambda: self.reload_keeping(repo.source_root))
        repo.stopRequested.connect(lambda waited: self._stop(repo.source_root, waited))
        repo.showAttachmentsToggled.connect(self.set_show_attachments)

    def _build_actions(self) -> None:
        self.actions = RegistryActions(self, self._runner, self._settings, self._image_view)
        self.table_actions = self.actions.table_actions
        self.tree_actions = self.actions.tree_actions
        self.add_action = QAction("Add Re&gistry…", self)
        self.add_action.setStatusTip("Add a container registry to browse")
        self.add_action.triggered.connect(lambda _checked=False: self.add_registry())
        self.edit_action = QAction("&Edit Registry…", self)
        self.edit_action.setStatusTip("Change the chosen registry's address or sign in to it")
        self.edit_action.triggered.connect(lambda _checked=False: self.edit_chosen())
        self.actions.update_buttons()

    # ------------------------------------------------------------------ registries

    @property
    def dialog(self) -> RegistryDialog | None:
        """The Add/Edit Registry dialog while one is open."""
        return self.editing.dialog

    def chosen_index(self) -> QModelIndex:
        """The tree's row the user chose (not one only made current by the focus)."""
        return self._chosen.chosen()

    def add_registry(self) -> RegistryDialog:
        """Open the Add Registry dialog (window-modal, not blocking)."""
        return self.editing.add_registry()

    def edit_registry(self, host: str) -> RegistryDialog | None:
        return self.editing.edit_registry(host)

    def chosen_host(self) -> str | None:
        """The host of the registry the chosen row is (or is in); None without one."""
        node = self.model.registry_node(self.chosen_index())
        return node.host if node is not None else None

    def edit_chosen(self) -> RegistryDialog | None:
        """File ▸ Edit Registry…: the Edit Registry dialog of the chosen row's registry
        (the tree's menu has it too, for the row it is opened on)."""
        host = self.chosen_host()
        if host is None:
            emit(self.statusMessage, "Select a registry to edit first.")
            return None
        return self.edit_registry(host)

    def remove_registry(self, host: str) -> bool:
        """Take ``host`` off the list (after asking) and forget its saved password."""
        return self.editing.remove_registry(host)

    def keyboard_off_page(self) -> None:
        """The keyboard, if on the registry page (its Remove Registry…), goes back where
        it came from, else to the tree (whose next row is chosen as a registry goes; as
        the page went, Qt moved it to the first screen's text)."""
        self._page_keyboard.give_back()

    def follow_settings(self, before: dict[str, tuple[str, bool, bool]]) -> None:
        """The settings took in what another window (or a hand edit) saved: the tree
        follows (see :meth:`RegistryEditing.follow_settings`)."""
        self.editing.follow_settings(before)

    # ------------------------------------------------------------------ repositories

    def open_repository(self, host: str, text: str) -> QModelIndex:
        """Open ``text`` (``team/app`` or ``team/app:tag``) on ``host``; select it (or the tag).

        A name that is not valid shows its sentence under the field.
        """
        registry_index = self.model.registry_index(host)
        if not registry_index.isValid():
            return QModelIndex()
        try:
            wanted = parse_repository_input(host, text)
        except InvalidReference as exc:
            self.registry_page.set_open_error(str(exc))
            return QModelIndex()
        self.registry_page.set_open_error("")
        self.registry_page.open_edit.clear()  # taken: the page is not left as if pending
        index = self.model.open_repository(registry_index, wanted.repository)
        emit(self.settingsChanged)
        self.tree.expand(registry_index)
        self.select(index)
        self._pending = ChooseAgain(host, wanted.repository, (wanted.tag,), say_missing=True) \
            if wanted.tag else None
        node = self.model.node(index)
        listed = isinstance(node, RepositoryNode) and node.done  # every tag is in already
        self._select_pending(host, wanted.repository, listed)
        return index

    def _select_pending(self, host: str, repository: str, done: bool) -> None:
        """Choose again what :attr:`_pending` names (the tag "Open" named, those chosen
        before a reload), once the tags listed so far hold it, or every tag is listed."""
        pending = self._pending
        if pending is None or (pending.host, pending.repository) != (host, repository):
            return
        model = self.model
        if not done and not all(model.tag_index(host, repository, name).isValid()
                                for name in pending.wanted()):
            return  # (a later page may bring it)
        self._pending = None
        repo = model.repository_index(host, repository)
        if pending.tree and self.tree.currentIndex() in (repo, QModelIndex()):
            # (not when another row was chosen meanwhile)
            tag = model.tag_index(host, repository, pending.tree)
            self.select(tag if tag.isValid() else repo)
        node = model.node(repo)
        if not pending.table or node is None or self.repository_page.node is not node:
            return
        for name in pending.table:
            tag = model.tag_index(host, repository, name)
            if tag.isValid() and self.repository_page.select_tag(tag):
                return
        if pending.say_missing:  # every tag is listed, and not that one: said, not left
            # to be noticed
            said = f'{host}/{repository} has no tag "{pending.table[0]}"; its tags are ' \
                   "listed here."
            self.repository_page.banner.show_text(said)
            emit(self.statusMessage, said)

    def _chosen_tags(self, node: RepositoryNode) -> ChooseAgain | None:
        """The tags of ``node`` chosen now, in the tree and in its page's table (with the
        rows after the table's, then those before it, nearest first), to choose again
        once its tags are listed again; None when none is chosen."""
        table: tuple[str, ...] = ()
        page = self.repository_page
        current = page.current_tag() if page.node is node else QModelIndex()
        if current.isValid():
            row = current.row()
            children = node.children
            table = tuple(child.name for child in (
                children[row], *children[row + 1:], *reversed(children[:row]))
                if isinstance(child, TagNode))
        chosen = self.model.node(self._chosen.chosen())
        tree = chosen.name if isinstance(chosen, TagNode) and chosen.parent is node else ""
        if not table and not tree:
            return None
        return ChooseAgain(node.parent.host, node.name, table, tree)

    def _open_from_page(self, text: str) -> None:
        host = self._page_host()
        if host:
            self.open_repository(host, text)

    def _page_host(self) -> str:
        node = self.registry_page.node
        if node is None:
            node = self.model.registry_node(self._chosen.chosen())
        return node.host if node is not None else ""

    # ------------------------------------------------------------------ selection

    def select(self, index: QModelIndex) -> None:
        """Make ``index`` (of the model) the tree's current row: the pane follows."""
        if not index.isValid():
            return
        parent = self.model.parent(index)
        while parent.isValid():
            self.tree.expand(parent)
            parent = self.model.parent(parent)
        self.tree.setCurrentIndex(index)
        self.tree.scrollTo(index)

    def _open_tag(self, index: QModelIndex) -> None:
        """A tag opened from its repository's page (Enter, a double click, or Enter in the
        filter): the image shows, and the keyboard goes to its tabs, wherever it was (the
        filter or table it was in is gone from sight)."""
        self.select(index)
        if self._content.currentWidget() is self._image_view:
            self._image_view.tabs.tabBar().setFocus(Qt.FocusReason.OtherFocusReason)

    def clear_selection(self) -> None:
        """The local places took the selection."""
        self._leave_repository(None)
        self._clearing = True
        try:
            self.tree.selectionModel().clear()
        finally:
            self._clearing = False

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._clearing or not current.isValid():
            return
        node = self.model.node(current)
        self._leave_repository(node)
        emit(self.selected)
        if isinstance(node, RegistryNode):
            self.registry_page.show_registry(current)
            self._content.setCurrentWidget(self.registry_page)
            emit(self.titleChanged, node.host)
            if node.state is LoadState.PENDING:
                self.model.fetch_next(current)
        elif isinstance(node, RepositoryNode):
            self.repository_page.show_repository(current)
            self._content.setCurrentWidget(self.repository_page)
            emit(self.titleChanged, f"{node.parent.host}/{node.name}")
            if node.state is LoadState.PENDING:
                self.model.fetch_next(current)
        elif isinstance(node, TagNode):
            self._show_tag(node)
        self.actions.update_buttons()

    def _stop(self, index: QModelIndex, waited: float) -> None:
        """Stop on a page that waited long for a registry: its listing ends, said so."""
        registry = self.model.registry_node(index)
        if registry is None:
            return
        node = self.model.node(index)
        asked = who = ""
        if isinstance(node, RegistryNode | RepositoryNode):
            asked = node.wait_reason if node.asked_wait else ""
            who = node.waiting_on  # (its token server, if that is what did not answer)
        who = who or registry.host
        self.model.stop(index, f"Stopped while waiting: {asked}. Try again later." if asked
                        else f"Stopped: {who} had not answered after {waited:.0f} s. Try "
                             "again later.")

    def _leave_repository(self, node: object) -> None:
        """``node`` is chosen now (None: a local place is): the repository chosen before, or
        whose tag was, is no longer looked at when ``node`` is not it or its tag. Its
        listing, if nothing of it has come yet and the tree does not show it open, is
        stopped (see :meth:`RegistriesModel.set_aside`): a registry that hangs held a
        thread with each repository clicked and left, for minutes."""
        repo = node.parent if isinstance(node, TagNode) else node
        left = self._looked_at
        self._looked_at = repo if isinstance(repo, RepositoryNode) else None
        if left is None or left is repo or not self.model.alive(left):
            return
        index = self.model.index_of(left)
        if not self.tree.isExpanded(index):
            self.model.set_aside(index)

    def tag_written(self, host: str, repository: str, tag: str, digest: Digest) -> None:
        """A copy made ``tag`` name ``digest``: the tag shown is shown again when it named
        another image (the image view keeps its tab)."""
        node = self.model.node(self._chosen.chosen())
        if not isinstance(node, TagNode) or node.name != tag or node.parent.name != repository \
                or node.parent.parent.host != host:
            return
        state = self._image_view.state
        if state is None or state.entry.descriptor.digest != digest:
            self._show_tag(node)

    def _show_tag(self, node: TagNode) -> None:
        repo = node.parent
        connection, name, tag = repo.parent.connection, repo.name, node.name
        self._content.setCurrentWidget(self._image_view)
        self._image_view.show_image(
            f"{name}:{tag}", f"docker://{tag_reference(connection.host, name, tag)}",
            lambda cancel: load_registry_tag(connection.client(), name, tag, cancel),
        )
        emit(self.titleChanged, f"{name}:{tag}")

    def show_row(self, index: QModelIndex) -> None:
        """Show ``index`` in the pane again, as if it had just become current."""
        self._current_changed(index, QModelIndex())

    def show_nothing(self) -> None:
        """Show no image and no page of a row (the window's own name alone)."""
        self._content.setCurrentWidget(self._image_view)
        self._image_view.show_empty()
        emit(self.titleChanged, "")  # (the window's own name alone)

    def _image_shown(self, state: ImageState) -> None:
        node = self.model.node(self._chosen.chosen())
        if not isinstance(node, TagNode):
            return
        repo = node.parent
        expected = f"docker://{tag_reference(repo.parent.host, repo.name, node.name)}"
        if state.entry.name == expected:
            descriptor = state.entry.descriptor
            self.model.set_digest(repo.parent.host, repo.name, node.name, descriptor.digest,
                                  descriptor.media_type)

    def reload_current(self) -> bool:
        """Reload the registry or repository of the current row; False when none is."""
        index = self._chosen.chosen()
        node = self.model.node(index)
        if isinstance(node, TagNode):
            index = self.model.parent(index)
            node = node.parent
        if isinstance(node, RegistryNode | RepositoryNode):
            self.reload_keeping(index)
            return True
        return False

    def reload_keeping(self, index: QModelIndex | QPersistentModelIndex) -> None:
        """List the registry or repository at ``index`` again (Refresh, a page's Try
        Again, the tree menu's Reload, a delete), taking nothing away while the registry
        does not answer: a registry's first page is asked for first (the listing then
        starts over); a repository's tags are read to their end first, then shown in
        place of those listed (a later page that failed, again, would leave only the
        pages before it), with the tags copies wrote meanwhile
        (:meth:`RegistriesModel.relisting`). The tags chosen in the tree and in the
        repository's table are chosen again once listed (:meth:`_chosen_tags`)."""
        node = self.model.node(index)
        if not isinstance(node, RegistryNode | RepositoryNode):
            return
        kept = QPersistentModelIndex(index)
        if not _listed(node):
            self._reload_now(kept)  # nothing to lose
            return
        first: Callable[[CancelToken], object]
        if isinstance(node, RegistryNode):
            connection, name = node.connection, ""
            first = ((lambda cancel: connection.client().check_reachable(cancel=cancel))
                     if node.no_catalog else catalog_listing(connection).next_page)
        else:
            connection, name = node.parent.connection, node.name
            listing = tag_listing(connection, name)
            first = lambda cancel: whole_tag_list(listing, cancel)  # noqa: E731
            self.model.relisting(index)  # (the tags copies write meanwhile are kept)

        def answered(cancel: CancelToken) -> object:
            try:
                return first(cancel)
            except NotFound:
                return None  # an answer (gone since): listed again, the list says so

        self._runner.submit(
            answered,
            on_done=lambda answer: self._reload_now(
                kept, answer if isinstance(answer, SortedPage) else None),
            on_error=lambda message: self._reload_failed(kept, message),
            key=f"reload:{connection.host}/{name}",
            what=f"listing {connection.host}/{name} again",
            lane=registry_lane(connection.host))

    def _reload_failed(self, index: QPersistentModelIndex, message: str) -> None:
        """Listing ``index`` again failed: its rows stay as read before, its row wears a
        warning and its page says so with Try Again (:meth:`RegistriesModel.mark_stale`);
        the status bar says it too while the page is not in sight (that alone said it,
        and the next notice took it away)."""
        if not index.isValid():
            return  # gone meanwhile
        self.model.mark_stale(index, message)
        node = self.model.node(index)
        if not self._on_page(node):
            said = stale_text(node) if isinstance(node, RegistryNode | RepositoryNode) \
                else message
            emit(self.statusMessage, said)

    def _reload_now(self, index: QPersistentModelIndex, tags: SortedPage | None = None) -> None:
        if not index.isValid():
            return  # gone meanwhile
        # the pane follows, if it shows what is listed again (not another registry's,
        # chosen while the first page was asked for); looked at before the rows go
        target = self.model.index(index.row(), index.column(), index.parent())
        ancestor = self._chosen.chosen()
        while ancestor.isValid() and ancestor != target:
            ancestor = ancestor.parent()
        # the tags chosen (in the tree, in the table) are chosen again once listed: the
        # table's current row went to its first, unselected (Copy Reference, Delete…
        # disabled), and a tag's image shown gave way to its repository's page
        node = self.model.node(index)
        kept = self._chosen_tags(node) if isinstance(node, RepositoryNode) else None
        if kept is not None:
            self._pending = kept
        with self._chosen.quiet():  # (the tree's current row goes to the repository, and
            # back: only the row chosen at the end is shown)
            if tags is None:
                self.model.reload(index)
            else:
                self.model.relist_tags(index, tags)
                if kept is not None:  # every tag is in
                    self._select_pending(kept.host, kept.repository, True)
        if ancestor.isValid() or not self._chosen.chosen().isValid():
            self._current_changed(self._chosen.chosen(), QModelIndex())

    # ------------------------------------------------------------------ attachment tags

    def set_show_attachments(self, show: bool) -> None:
        """List (or hide) the tags that hold signatures, attestations, SBOMs and referrers,
        in the tree and in the repository page."""
        self.show_attachments = show
        self.repository_page.set_show_attachments(show)
        if self._settings.show_attachment_tags != show:
            self._settings.show_attachment_tags = show
            emit(self.settingsChanged)
        model = self.model
        for registry_row in range(model.rowCount()):
            registry = model.index(registry_row, 0)
            for repo_row in range(model.rowCount(registry)):
                self._hide_attachment_rows(model.index(repo_row, 0, registry), 0,
                                           model.rowCount(model.index(repo_row, 0, registry)) - 1,
                                           show=show)

    def _tags_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if not self.show_attachments:
            self._hide_attachment_rows(parent, first, last, show=False)

    def _hide_attachment_rows(self, parent: QModelIndex, first: int, last: int, *,
                              show: bool) -> None:
        # the rows' nodes, not a model.data() per row: 10,000 tags listed at once took
        # 0.3 s of the window's time here, for a repository with no attachment tag
        node = self.model.node(parent)
        if not isinstance(node, RepositoryNode):
            return
        for row, child in enumerate(node.children[first:last + 1], start=first):
            if isinstance(child, TagNode) and child.attachment:
                self.tree.setRowHidden(row, parent, not show)

    # ------------------------------------------------------------------ asking

    def _ask(self, title: str, text: str, accept_label: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self._window)
        box.setTextFormat(Qt.TextFormat.RichText)
        accept = box.addButton(accept_label, QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        plain_buttons(box)
        box.setDefaultButton(cancel)
        box.exec()
        return box.clickedButton() is accept

    def shutdown(self) -> None:
        if self.editing.dialog is not None:
            self.editing.dialog.close()
        self.model.close_all()


def _listed(node: RegistryNode | RepositoryNode) -> bool:
    """Whether ``node`` shows repositories or tags its listing read (not only messages
    and repositories someone added by name): what listing it again would take away until
    it answers, whatever its state (a later page that failed leaves it failed, with the
    rows read before)."""
    return any(not isinstance(child, MessageRow) and not getattr(child, "pinned", False)
               for child in node.children)


__all__ = ["Confirm", "RegistryBrowser"]
