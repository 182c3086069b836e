"""The registry side of the window: the Registries tree, its pages, dialogs and actions.

:class:`RegistryBrowser` owns the :class:`RegistriesModel`, the tree that shows
it in the sidebar, the registry and repository pages of the middle pane, the
Add/Edit Registry dialog and the actions on tags (copy by tag or digest, copy
a pull command, delete). The main window places its widgets and tells it when
the local places take the selection.

Navigation is the tree's: a registry row shows its repositories, a repository
row its tags, a tag row the image — as an image of a layout is shown. The
pages' lists are the same rows; opening one selects it in the tree.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Final

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
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
from spyglass.core.settings import RegistrySettings, Settings
from spyglass.gui.announce import announce
from spyglass.gui.dialogs.registry import RegistryDialog, RegistryInput
from spyglass.gui.loading import ImageState, load_registry_tag
from spyglass.gui.models.places import LoadState
from spyglass.gui.models.registries import RegistriesModel
from spyglass.gui.models.registry_rows import (
    ATTACHMENT_ROLE,
    KIND_ROLE,
    SIGNED_ROLE,
    RegistryNode,
    RepositoryNode,
    TagNode,
)
from spyglass.gui.registry_jobs import (
    Connection,
    DeletePlan,
    Kept,
    PullTool,
    catalog_listing,
    delete_image,
    digest_reference,
    forget_credentials,
    parse_repository_input,
    plan_delete,
    pull_command,
    resolve_digest,
    save_credentials,
    tag_listing,
    tag_reference,
)
from spyglass.gui.signals import emit
from spyglass.gui.views.delegates import SignedBadgeDelegate
from spyglass.gui.views.image_view import ImageView
from spyglass.gui.views.registry_pages import RegistryPage, RepositoryPage
from spyglass.gui.views.widgets import ChosenRow, KeepCurrentInView, select_row
from spyglass.gui.workers import Runner, registry_lane

Confirm = Callable[[str, str, str], bool]
"""``confirm(title, text, accept_label) -> bool``: ask before something cannot be undone."""

SESSION_ONLY = (
    "No system keyring is available, so the password for {host} is kept only until "
    "Spyglass quits. Set up a keyring (GNOME Keyring, KWallet, …) to keep it."
)

LOCKED_SESSION_ONLY = (
    "{keyring} is locked, so the password for {host} is kept only until Spyglass quits. "
    "Unlock it, then type the password again in Edit Registry… to keep it."
)
"""The banner for a password a locked keyring did not take ({keyring}: "The system
keyring", or the backend by name, as the other sentences name it)."""


def _listed(hosts: list[str]) -> str:
    return hosts[0] if len(hosts) == 1 else ", ".join(hosts[:-1]) + f" and {hosts[-1]}"


def session_only_text(hosts: list[str], store: CredentialStore | None = None) -> str:
    """The banner's sentence for the registries whose passwords last only this session:
    for those a locked keyring did not take, that it is locked; for those one that failed
    did not, that it failed and why; and for the others, that there is no keyring.
    ``store`` tells which (:meth:`CredentialStore.why_not_saved`);
    by default the process's, which is the window's unless it was given another."""
    from spyglass.core.credentials.keyring_store import capitalized

    if store is None:
        from spyglass.core.transports.registry import credential_store

        store = credential_store()
    locked: dict[str, list[str]] = {}  # by keyring
    failed: dict[str, list[str]] = {}  # by the keyring's failure ("The … failed (…)")
    missing: list[str] = []
    for host in hosts:
        why = store.why_not_saved(host)
        if why is not None and why.locked:
            locked.setdefault(capitalized(why.keyring), []).append(host)
        elif why is not None:
            failed.setdefault(capitalized(why.state), []).append(host)
        else:
            missing.append(host)
    said = []
    for state, held in failed.items():
        kept = (f"the password for {held[0]} is" if len(held) == 1
                else f"the passwords for {_listed(held)} are")
        said.append(f"{state}, so {kept} kept only until Spyglass quits. Once the keyring "
                    "works, start Spyglass again and type it in Edit Registry… to keep it.")
    for keyring, held in locked.items():
        if len(held) == 1:
            said.append(LOCKED_SESSION_ONLY.format(keyring=keyring, host=held[0]))
        else:
            said.append(f"{keyring} is locked, so the passwords for {_listed(held)} are kept "
                        "only until Spyglass quits. Unlock it, then type them again in Edit "
                        "Registry… to keep them.")
    if len(missing) == 1:
        said.append(SESSION_ONLY.format(host=missing[0]))
    elif missing:
        said.append(f"No system keyring is available, so the passwords for {_listed(missing)} "
                    "are kept only until Spyglass quits. Set up a keyring (GNOME Keyring, "
                    "KWallet, …) to keep them.")
    return " ".join(said)


def passed_over_text(described: str, setting: str) -> str:
    """The banner's tooltip for the unencrypted keyring file not used (see
    :attr:`CredentialStore.passed_over`): what it is, and the setting that chooses it
    (for those who want it; the banner itself stays one plain sentence)."""
    return (f"The only keyring there is {described}, which Spyglass uses only when "
            f"chosen: to use it, set PYTHON_KEYRING_BACKEND={setting}.")


SHOWN_TAGS: Final = 12
"""How many tags a confirmation names before it counts the rest (with hundreds, the box
would outgrow the screen)."""


def _names(tags: Sequence[str]) -> str:
    """``a, b and 3 more``: the first :data:`SHOWN_TAGS` in bold, then how many more."""
    shown = ", ".join(f"<b>{html.escape(t)}</b>" for t in tags[:SHOWN_TAGS])
    more = len(tags) - SHOWN_TAGS
    return shown + (f" and {more} more" if more > 0 else "")


def delete_question(plan: DeletePlan) -> str:
    """The confirmation's text: what goes, including every other tag of the same image
    (the first few named, the rest counted)."""
    name = f"{plan.repository}:{plan.tag}"
    text = (f"<p>Delete <b>{html.escape(name)}</b> from {html.escape(plan.host)}?</p>"
            f"<p>This deletes the image <code>{plan.digest}</code> itself, ")
    others = plan.other_tags
    if others:
        listed = _names(others)
        noun = "tag" if len(others) == 1 else f"{len(others)} tags"
        text += (f"so the other {noun} pointing at it — {listed} — "
                 f"{'goes' if len(others) == 1 else 'go'} too.</p>")
    else:
        text += "which no other tag points at.</p>"
    if plan.lists:
        listed = _names(plan.lists)
        one = len(plan.lists) == 1
        text += (f"<p>The {'list' if one else 'lists'} {listed} "
                 f"{'holds' if one else 'hold'} this image as one of "
                 f"{'its' if one else 'their'} platforms: {'it' if one else 'they'} would "
                 "name a manifest that is gone.</p>")
    if plan.unchecked:
        listed = _names(plan.unchecked)
        text += (f"<p>Not known for {listed}: {'it' if len(plan.unchecked) == 1 else 'they'}"
                 " could not be looked at.</p>")
    return text + "<p>This cannot be undone.</p>"


class RegistryBrowser(QObject):
    """See the module docstring.

    Attributes:
        model: the :class:`RegistriesModel`.
        tree: the sidebar's view of it.
        registry_page, repository_page: the middle pane for registry and repository rows.
        dialog: the Add/Edit Registry dialog while one is open.
        confirm: how to ask before deleting or removing (tests replace it).

    Signals:
        statusMessage(str): a notice for the status bar.
        settingsChanged(): the registries (or how their tags are listed) changed in the
            settings; save them.
        settingsEdited(str): a registry was edited; save the settings, and once they are
            saved (not before, nor when the save fails) say the sentence.
        sessionOnly(str): the credentials of this host last only until Spyglass quits.
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
        self.dialog: RegistryDialog | None = None
        self.confirm: Confirm = self._ask
        self._pending_tag: tuple[str, str, str] | None = None
        self._looked_at: RepositoryNode | None = None
        """The repository chosen last, or whose tag was (see :meth:`_leave_repository`)."""
        self.copy_to_action: QAction | None = None
        """The window's "Copy To…", added to the tag menus when set."""

        self.model = RegistriesModel(runner, self)
        self.model.message.connect(self.statusMessage)
        self.model.tagsLoaded.connect(self._select_pending)
        # said at once (before the status bar's polite announcement of the same sentence)
        self.model.registryFailed.connect(
            lambda _host, sentence: announce(self.tree, sentence, assertive=True))
        self.model.registryFailed.connect(lambda _host, sentence: emit(self.statusMessage,
                                                                        sentence))
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
        self._connect_pages()
        self._build_actions()
        image_view.imageShown.connect(self._image_shown)

        for entry in settings.registries:
            self.model.add_registry(entry, self._connection(entry))

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
        tree.customContextMenuRequested.connect(self._tree_menu)
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
        page.repositoryActivated.connect(self._select)
        page.openRequested.connect(self._open_from_page)
        page.editRequested.connect(lambda: self.edit_registry(self._page_host()))
        page.removeRequested.connect(lambda: self.remove_registry(self._page_host()))
        page.retryRequested.connect(lambda: self.model.reload(page.source_root))
        page.stopRequested.connect(lambda waited: self._stop(page.source_root, waited))
        repo = self.repository_page
        repo.tagActivated.connect(self._open_tag)
        repo.retryRequested.connect(lambda: self.model.reload(repo.source_root))
        repo.stopRequested.connect(lambda waited: self._stop(repo.source_root, waited))
        repo.forgetRequested.connect(lambda: self._forget_shown_repository(repo.source_root))
        repo.table.customContextMenuRequested.connect(self._table_menu)
        repo.showAttachmentsToggled.connect(self.set_show_attachments)
        repo.table.selectionModel().selectionChanged.connect(
            lambda *_: self._update_tag_buttons())

    def _build_actions(self) -> None:
        table = self.repository_page.table
        self.table_actions = self._tag_actions(table, self.repository_page.current_tag)
        copy_menu = QMenu(self.repository_page.copy_button)
        for name in ("copy_reference", "copy_digest", "copy_podman", "copy_docker"):
            copy_menu.addAction(self.table_actions[name])
        self.repository_page.copy_button.setMenu(copy_menu)
        self.repository_page.copy_button.setDefaultAction(self.table_actions["copy_reference"])
        self.repository_page.delete_button.clicked.connect(
            self.table_actions["delete"].trigger)
        # in the tree, Copy and Delete act on whatever row is current
        self.tree_actions = self._tag_actions(
            self.tree, self._current_tree_tag,
            copy_reference=lambda _index: self._copy_tree_name(),
            delete=lambda _index: self._delete_tree_row(),
        )
        self.add_action = QAction("Add Re&gistry…", self)
        self.add_action.setStatusTip("Add a container registry to browse")
        self.add_action.triggered.connect(lambda _checked=False: self.add_registry())
        self._update_tag_buttons()

    def _tag_actions(self, widget: QWidget, target: Callable[[], QModelIndex],
                     **slots: Callable[[QModelIndex], None]) -> dict[str, QAction]:
        def action(name: str, text: str, slot: Callable[[QModelIndex], None],
                   shortcut: QKeySequence | None = None) -> tuple[str, QAction]:
            act = QAction(text, widget)
            if shortcut is not None:
                act.setShortcut(shortcut)
                act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            chosen = slots.get(name, slot)
            act.triggered.connect(lambda _checked=False: chosen(target()))
            widget.addAction(act)
            return name, act

        return dict([
            action("open", "Open Image", self._select),
            action("copy_reference", "Copy Reference", self.copy_reference,
                   QKeySequence(QKeySequence.StandardKey.Copy)),
            action("copy_digest", "Copy Reference by Digest", self.copy_digest_reference,
                   QKeySequence("Ctrl+Shift+C")),
            action("copy_podman", "Copy podman pull Command",
                   lambda index: self.copy_pull_command(index, "podman"),
                   QKeySequence("Ctrl+Alt+C")),
            action("copy_docker", "Copy docker pull Command",
                   lambda index: self.copy_pull_command(index, "docker")),
            action("delete", "Delete…", self.delete_tag,
                   QKeySequence(QKeySequence.StandardKey.Delete)),
        ])

    # ------------------------------------------------------------------ registries

    def _connection(self, entry: RegistrySettings, input_: RegistryInput | None = None
                    ) -> Connection:
        credentials = input_.credentials if input_ is not None else None
        return Connection(entry.host, insecure=entry.insecure, store=self._store,
                          credentials=credentials)

    def chosen_index(self) -> QModelIndex:
        """The tree's row the user chose (not one only made current by the focus)."""
        return self._chosen.chosen()

    def add_registry(self) -> RegistryDialog:
        """Open the Add Registry dialog (window-modal, not blocking)."""
        return self._open_dialog(None)

    def edit_registry(self, host: str) -> RegistryDialog | None:
        entry = self._settings.registry(host)
        if entry is None:
            return None
        return self._open_dialog(entry)

    def _open_dialog(self, edit: RegistrySettings | None) -> RegistryDialog:
        if self.dialog is not None:
            self.dialog.close()
        dialog = RegistryDialog(self._runner, self._store, existing_hosts=self.model.hosts,
                                edit=edit, parent=self._window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._dialog_accepted(dialog, edit))
        dialog.trusted.connect(self._ca_trusted)
        dialog.destroyed.connect(lambda *_: self._dialog_gone(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _ca_trusted(self, host: str) -> None:
        """A CA certificate was added for ``host``: connections made before it (cached
        clients, the tree's) do not trust it; new ones do."""
        from spyglass.core.transports.registry import forget_clients

        forget_clients()
        entry = self._settings.registry(host)
        node = self.model.registry_node(self.model.registry_index(host))
        if entry is None or node is None or entry.insecure:
            return  # not listed, or not verifying: nothing it connects with changes
        if node.state is LoadState.FAILED:  # (on TLS, likely): list it again, trusting
            self.model.update_registry(entry, self._connection(entry))
        else:  # what is listed stays (and the row chosen); new requests trust the CA
            node.connection = self._connection(entry)

    def _dialog_gone(self, dialog: RegistryDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def _dialog_accepted(self, dialog: RegistryDialog, edit: RegistrySettings | None) -> None:
        result = dialog.result_input
        if result is None:
            return
        if edit is None:
            self._registry_added(result)
        else:
            self._registry_edited(edit, result)

    def _registry_added(self, result: RegistryInput) -> None:
        entry = result.settings()
        self._settings.set_registry(entry)
        index = self.model.add_registry(entry, self._connection(entry, result))
        emit(self.settingsChanged)
        self._keep_secret(result)
        self.tree.setCurrentIndex(index)
        self.tree.expand(index)
        emit(self.registryAdded, entry.host)

    def _registry_edited(self, old: RegistrySettings, result: RegistryInput) -> None:
        entry = result.settings(old.repositories)
        self._settings.set_registry(entry)
        current = self._chosen.chosen()
        showing = self.model.registry_node(current)
        self.model.update_registry(entry, self._connection(entry, result))
        emit(self.settingsEdited, f"Saved the settings of {entry.host}.")
        if result.credentials is not None:
            self._keep_secret(result)
        elif not result.username and old.username:
            host = entry.host
            self._runner.submit(lambda _cancel: forget_credentials(self._store, host),
                                serial=True, what=f"forgetting the password for {host}")
        if showing is not None and showing.host == entry.host:
            index = self.model.registry_index(entry.host)
            self.tree.setCurrentIndex(index)
            self._current_changed(index, QModelIndex())

    def _keep_secret(self, result: RegistryInput) -> None:
        credentials = result.credentials
        if credentials is None:
            return
        host, store = result.host, self._store
        self._runner.submit(
            lambda _cancel: save_credentials(store, host, credentials),
            on_done=lambda kept: self._secret_kept(host, kept),
            on_error=lambda message: emit(self.statusMessage, message),
            serial=True,
            what=f"saving the password for {host}",
        )

    def _secret_kept(self, host: str, kept: Kept) -> None:
        # "the system keyring", or the backend someone chose instead (a file, say)
        keyring = self._store.keyring_description if kept.where == "keyring" else ""
        node = self.model.registry_node(self.model.registry_index(host))
        if node is not None:
            node.credentials_note = (f"password in {keyring}" if kept.where == "keyring"
                                     else "password kept until Spyglass quits")
            index = self.model.registry_index(host)
            emit(self.model.dataChanged, index, index)
        if kept.overruled_by:  # not the keyring's fault: the banner would say that
            emit(self.statusMessage,
                 f"Signed in to {host} until Spyglass quits: $REGISTRY_AUTH_FILE names "
                 f"{kept.overruled_by}, which comes first, so the password was not saved. "
                 "Log in with skopeo login (it writes that file), or remove that entry.")
        elif kept.where == "session":
            emit(self.sessionOnly, host)  # the window's banner says it (once, and stays)
        else:
            emit(self.statusMessage, f"Saved the password for {host} in {keyring}.")

    def remove_registry(self, host: str) -> bool:
        """Take ``host`` off the list (after asking) and forget its saved password."""
        entry = self._settings.registry(host)
        if entry is None:
            return False
        text = f"<p>Remove <b>{html.escape(host)}</b> from Spyglass?</p>"
        if entry.username:
            text += (f"<p>The password saved for {html.escape(entry.username)} is forgotten "
                     "too. Nothing on the registry changes.</p>")
        else:
            text += "<p>Nothing on the registry changes.</p>"
        if not self.confirm("Remove Registry", text, "Remove"):
            return False
        self._settings.remove_registry(host)
        emit(self.settingsChanged)
        store = self._store
        self._runner.submit(lambda _cancel: forget_credentials(store, host), serial=True,
                            what=f"forgetting the password for {host}",
                            on_error=lambda message: emit(self.statusMessage, message))
        self._take_off(host)
        emit(self.statusMessage, f"Removed {host}.")
        emit(self.registryRemoved, host)
        return True

    def _take_off(self, host: str) -> None:
        """Take ``host``'s row out of the tree; what showed it shows something else."""
        showing = self.model.registry_node(self._chosen.chosen())
        self.model.remove_registry(host)
        if showing is not None and showing.host == host:
            current = self._chosen.chosen()
            if current.isValid():  # the row Qt moved to is shown (not the welcome page
                self._current_changed(current, QModelIndex())  # under its title)
            else:
                self._show_nothing()
        request = self._image_view.request
        if request is not None and request.name.startswith(f"docker://{host}/"):
            self._image_view.show_empty()
            emit(self.titleChanged, "")

    def follow_settings(self, before: dict[str, tuple[str, bool]]) -> None:
        """The settings took in what another window (or a hand edit) saved: the tree
        follows. ``before`` is each registry's user name and insecure flag before that.

        A registry added there is listed, one removed there goes, one whose user name
        or flag changed there connects anew; the attachment tags show as set there."""
        now = {entry.host: entry for entry in self._settings.registries}
        for host in before:
            if host not in now:
                self._take_off(host)
                emit(self.registryRemoved, host)
        for host, entry in now.items():
            if host not in before:
                self.model.add_registry(entry, self._connection(entry))
            elif before[host] != (entry.username, entry.insecure):
                self.model.update_registry(entry, self._connection(entry))
        if self._settings.show_attachment_tags != self.show_attachments:
            self.set_show_attachments(self._settings.show_attachment_tags)

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
        self._select(index)
        self._pending_tag = (host, wanted.repository, wanted.tag) if wanted.tag else None
        node = self.model.node(index)
        listed = isinstance(node, RepositoryNode) and node.done  # every tag is in already
        self._select_pending(host, wanted.repository, listed)
        return index

    def _select_pending(self, host: str, repository: str, done: bool) -> None:
        """Select the tag "Open" named, once its page is in."""
        pending = self._pending_tag
        if pending is None or pending[:2] != (host, repository):
            return
        index = self.model.tag_index(*pending)
        if index.isValid() or done:
            self._pending_tag = None
        if index.isValid():
            self.repository_page.select_tag(index)
        elif done:  # every tag is listed, and not that one: said, not left to be noticed
            said = f'{host}/{repository} has no tag "{pending[2]}"; its tags are listed here.'
            self.repository_page.banner.show_text(said)
            emit(self.statusMessage, said)

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

    def _select(self, index: QModelIndex) -> None:
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
        self._select(index)
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
        self._update_tag_buttons()

    def _stop(self, index: QModelIndex, waited: float) -> None:
        """Stop on a page that waited long for a registry: its listing ends, said so."""
        registry = self.model.registry_node(index)
        if registry is None:
            return
        self.model.stop(index, f"Stopped: {registry.host} had not answered after "
                               f"{waited:.0f} s. Try again later.")

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

    def _show_nothing(self) -> None:
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
            kept = QPersistentModelIndex(index)
            if node.state is not LoadState.LOADED or not self.model.rowCount(index):
                self._reload_now(kept)  # nothing to lose
                return True
            # a registry that cannot list now must not take away what was listed: its
            # first page is asked for first (the listing then starts over)
            if isinstance(node, RegistryNode):
                connection, name = node.connection, ""
                first: Callable[[CancelToken], object] = (
                    (lambda cancel: connection.client().check_reachable(cancel=cancel))
                    if node.no_catalog else catalog_listing(connection).next_page)
            else:
                connection, name = node.parent.connection, node.name
                first = tag_listing(connection, name).next_page
            def answered(cancel: CancelToken) -> None:
                try:
                    first(cancel)
                except NotFound:
                    pass  # an answer (gone since): listed again, the list says so

            self._runner.submit(
                answered,
                on_done=lambda _page: self._reload_now(kept),
                on_error=lambda message: emit(
                    self.statusMessage, f"{message} The list shown is as it was read last."),
                key=f"reload:{connection.host}/{name}",
                what=f"listing {connection.host}/{name} again",
                lane=registry_lane(connection.host))
            return True
        return False

    def _reload_now(self, index: QPersistentModelIndex) -> None:
        if not index.isValid():
            return  # gone meanwhile
        # the pane follows, if it shows what is listed again (not another registry's,
        # chosen while the first page was asked for); looked at before the rows go
        target = self.model.index(index.row(), index.column(), index.parent())
        ancestor = self._chosen.chosen()
        while ancestor.isValid() and ancestor != target:
            ancestor = ancestor.parent()
        self.model.reload(index)
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
        model = self.model
        if model.data(parent, KIND_ROLE) != "repository":
            return
        for row in range(first, last + 1):
            if model.data(model.index(row, 0, parent), ATTACHMENT_ROLE):
                self.tree.setRowHidden(row, parent, not show)

    # ------------------------------------------------------------------ tag actions

    def _current_tree_tag(self) -> QModelIndex:
        index = self._chosen.chosen()
        return index if isinstance(self.model.node(index), TagNode) else QModelIndex()

    def _tag(self, index: QModelIndex) -> TagNode | None:
        node = self.model.node(index)
        return node if isinstance(node, TagNode) else None

    def _update_tag_buttons(self) -> None:
        has_tag = self._tag(self.repository_page.current_tag()) is not None
        self.repository_page.copy_button.setEnabled(has_tag)
        self.repository_page.delete_button.setEnabled(has_tag)
        for action in self.table_actions.values():
            action.setEnabled(has_tag)

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        emit(self.statusMessage, f"Copied {text}")

    def copy_reference(self, index: QModelIndex) -> None:
        node = self._tag(index)
        if node is not None:
            repo = node.parent
            self._copy(tag_reference(repo.parent.host, repo.name, node.name))

    def copy_pull_command(self, index: QModelIndex, tool: PullTool) -> None:
        node = self._tag(index)
        if node is not None:
            repo = node.parent
            host = repo.parent.host
            entry = self._settings.registry(host)
            # podman has no loopback exception: a registry reached over plain HTTP here
            # (as loopback ones may be) needs the flag too
            insecure = (entry is not None and entry.insecure) or repo.parent.connection.plain_http
            self._copy(pull_command(tool, host, repo.name, node.name, insecure=insecure))

    def copy_digest_reference(self, index: QModelIndex) -> None:
        """Copy ``HOST/REPO@DIGEST`` (the digest is looked up first if still unknown)."""
        node = self._tag(index)
        if node is None:
            return
        repo = node.parent
        host, name = repo.parent.host, repo.name
        if node.digest is not None:
            self._copy(digest_reference(host, name, node.digest))
            return
        connection, tag = repo.parent.connection, node.name
        emit(self.statusMessage, f"Looking up the digest of {name}:{tag}…")

        def copy(digest: Digest) -> None:
            self.model.set_digest(host, name, tag, digest)
            self._copy(digest_reference(host, name, digest))

        self._runner.submit(lambda cancel: resolve_digest(connection, name, tag, cancel),
                            on_done=copy,
                            on_error=lambda message: emit(self.statusMessage, message),
                            what=f"looking up the digest of {name}:{tag}",
                            lane=registry_lane(host))

    def delete_tag(self, index: QModelIndex) -> None:
        """Delete a tag's image, after a confirmation naming every tag that goes with it."""
        node = self._tag(index)
        if node is None:
            return
        repo = node.parent
        connection, name, tag = repo.parent.connection, repo.name, node.name
        page = self.repository_page
        page.banner.hide()
        page.header.spinner.start()
        emit(self.statusMessage,
             f"Checking which tags of {name} point at the same image as {tag}…")
        host = connection.host
        self._runner.submit(
            lambda cancel: plan_delete(connection, name, tag, cancel),
            on_done=lambda plan: self._confirm_delete(connection, plan),
            on_error=lambda message: self._delete_failed(host, name, message, tag),
            key=f"delete:{connection.host}/{name}",
            what=f"preparing to delete {name}:{tag}",
            lane=registry_lane(host),
        )

    def _confirm_delete(self, connection: Connection, plan: DeletePlan) -> None:
        self.repository_page.header.spinner.stop()
        self.repository_page.refresh()
        if not self.confirm("Delete Image", delete_question(plan), "Delete"):
            emit(self.statusMessage, "Nothing was deleted.")
            return
        self.repository_page.header.spinner.start()
        self._runner.submit(
            lambda cancel: delete_image(connection, plan, cancel),
            on_done=self._image_deleted,
            on_error=lambda message: self._delete_failed(plan.host, plan.repository, message),
            key=f"delete:{plan.host}/{plan.repository}",
            what=f"deleting {plan.repository}@{plan.digest}",
            lane=registry_lane(plan.host),
        )

    def _image_deleted(self, plan: DeletePlan) -> None:
        tags = ", ".join(plan.tags[:SHOWN_TAGS])
        if len(plan.tags) > SHOWN_TAGS:
            tags += f" and {len(plan.tags) - SHOWN_TAGS} more"
        emit(self.statusMessage,
             f"Deleted {plan.repository}@{plan.digest} from {plan.host} (tags: {tags}).")
        request = self._image_view.request
        gone = {f"docker://{tag_reference(plan.host, plan.repository, t)}" for t in plan.tags}
        repo_index = self.model.repository_index(plan.host, plan.repository)
        if request is not None and request.name in gone and repo_index.isValid():
            self.tree.setCurrentIndex(repo_index)
        if repo_index.isValid():
            self.model.reload(repo_index)
            self.repository_page.refresh()
        emit(self.deleted, plan)

    def _delete_failed(self, host: str, repository: str, message: str,
                       tag: str | None = None) -> None:
        """Say why in the repository's page (shown, if a tag's image was)."""
        page = self.repository_page
        page.header.spinner.stop()
        index = self.model.repository_index(host, repository)
        if index.isValid() and page.source_root != index:
            self._select(index)
        page.refresh()
        page.banner.show_text(message)
        emit(self.statusMessage, message)
        if tag is not None:
            # its image may have been deleted meanwhile by someone else: what the tag
            # points at now, rather than the digest it had
            self.model.look_again(host, repository, tag)

    # ------------------------------------------------------------------ tree actions

    def _copy_tree_name(self) -> None:
        index = self._chosen.chosen()
        node = self.model.node(index)
        if isinstance(node, TagNode):
            self.copy_reference(index)
        elif isinstance(node, RepositoryNode):
            self._copy(f"{node.parent.host}/{node.name}")
        elif isinstance(node, RegistryNode):
            self._copy(node.host)

    def _delete_tree_row(self) -> None:
        index = self._chosen.chosen()
        node = self.model.node(index)
        if isinstance(node, TagNode):
            self.delete_tag(index)
        elif isinstance(node, RepositoryNode) and node.pinned:
            self.model.forget_repository(index)
            emit(self.settingsChanged)
        elif isinstance(node, RegistryNode):
            self.remove_registry(node.host)

    def _tree_menu(self, position: QPoint) -> None:
        index = self.tree.indexAt(position)
        if not index.isValid():
            index = self._chosen.chosen()
        elif index != self._chosen.chosen() and self.model.flags(index) \
                & Qt.ItemFlag.ItemIsSelectable:
            self.tree.setCurrentIndex(index)  # the menu acts on the row it was opened on
        node = self.model.node(index)
        menu = QMenu(self.tree)
        if isinstance(node, TagNode):
            self._add_tag_menu(menu, self.tree_actions)
            if self.copy_to_action is not None:
                menu.addSeparator()
                menu.addAction(self.copy_to_action)
        elif isinstance(node, RepositoryNode):
            host, name = node.parent.host, node.name
            menu.addAction("Copy Name", lambda: self._copy(f"{host}/{name}"))
            menu.addAction("Reload Tags", lambda: self.model.reload(index))
            if node.pinned:
                menu.addSeparator()
                menu.addAction("Remove from List", lambda: self._forget(index))
        elif isinstance(node, RegistryNode):
            host = node.host
            menu.addAction("Open Repository…", lambda: self._focus_open_field(index))
            menu.addAction("Copy Host", lambda: self._copy(host))
            menu.addAction("Reload", lambda: self.model.reload(index))
            if node.more:  # (the tree reads a page as its end comes into sight)
                menu.addAction("Load All Repositories", lambda: self.model.fetch_all(index))
            menu.addSeparator()
            menu.addAction("Edit Registry…", lambda: self.edit_registry(host))
            menu.addAction("Remove Registry…", lambda: self.remove_registry(host))
        else:
            menu.addAction(self.add_action)
        menu.exec(self.tree.viewport().mapToGlobal(position))

    def _table_menu(self, position: QPoint) -> None:
        table = self.repository_page.table
        proxy_index = table.indexAt(position)
        if proxy_index.isValid():
            select_row(table, proxy_index.row())
        index = self.repository_page.current_tag()
        if not index.isValid():
            return
        menu = QMenu(table)
        self._add_tag_menu(menu, self.table_actions)
        if self.copy_to_action is not None:
            menu.addSeparator()
            menu.addAction(self.copy_to_action)
        menu.exec(table.viewport().mapToGlobal(position))

    @staticmethod
    def _add_tag_menu(menu: QMenu, actions: dict[str, QAction]) -> None:
        """The tag actions (they act on the current row of their view)."""
        menu.addAction(actions["open"])
        menu.addSeparator()
        for name in ("copy_reference", "copy_digest", "copy_podman", "copy_docker"):
            menu.addAction(actions[name])
        menu.addSeparator()
        menu.addAction(actions["delete"])

    def _forget(self, index: QModelIndex) -> None:
        self.model.forget_repository(index)
        emit(self.settingsChanged)

    def _forget_shown_repository(self, index: QModelIndex) -> None:
        """"Remove from List" on the page of a repository opened by name: off the list,
        and the registry's page shown."""
        node = self.model.node(index)
        if not isinstance(node, RepositoryNode) or not node.pinned:
            return
        registry = self.model.registry_index(node.parent.host)
        self._forget(QModelIndex(index))
        self._select(registry)

    def _focus_open_field(self, index: QModelIndex) -> None:
        self._select(index)
        self.registry_page.open_edit.setFocus()

    # ------------------------------------------------------------------ asking

    def _ask(self, title: str, text: str, accept_label: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self._window)
        box.setTextFormat(Qt.TextFormat.RichText)
        accept = box.addButton(accept_label, QMessageBox.ButtonRole.DestructiveRole)
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(cancel)
        box.exec()
        return box.clickedButton() is accept

    def shutdown(self) -> None:
        if self.dialog is not None:
            self.dialog.close()
        self.model.close_all()


__all__ = ["SESSION_ONLY", "Confirm", "RegistryBrowser", "delete_question",
           "session_only_text"]
