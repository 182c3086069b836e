"""Adding, editing and removing the registries of the Registries tree: the Add/Edit
Registry dialog, the passwords it is given (kept in the keyring, or for the session),
and what another window's (or a hand edit's) settings changed in the list.

:class:`RegistryEditing` is a part of :class:`~spyglass.gui.registries.RegistryBrowser`.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from spyglass.core.credentials.store import CredentialStore
from spyglass.core.settings import RegistrySettings, Settings
from spyglass.gui.dialogs.registry import RegistryDialog, RegistryInput
from spyglass.gui.models.places import LoadState
from spyglass.gui.registry_jobs import Connection, Kept, forget_credentials, save_credentials
from spyglass.gui.signals import emit
from spyglass.gui.views.image_view import ImageView
from spyglass.gui.workers import KEYRING, Runner

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from spyglass.gui.registries import RegistryBrowser


class RegistryEditing:
    """The registries of a :class:`RegistryBrowser`: added, edited, removed.

    Attributes:
        dialog: the Add/Edit Registry dialog while one is open.
    """

    def __init__(self, browser: RegistryBrowser, runner: Runner, settings: Settings,
                 store: CredentialStore, image_view: ImageView, window: QWidget) -> None:
        self._browser = browser
        self._runner = runner
        self._settings = settings
        self._store = store
        self._image_view = image_view
        self._window = window
        self.model = browser.model
        self.tree = browser.tree
        self.dialog: RegistryDialog | None = None

    def connection(self, entry: RegistrySettings, input_: RegistryInput | None = None
                   ) -> Connection:
        """How to reach the registry of ``entry`` (with the credentials of ``input_``)."""
        credentials = input_.credentials if input_ is not None else None
        return Connection(entry.host, insecure=entry.insecure, store=self._store,
                          credentials=credentials, username=entry.username)

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
        node = None if edit is None else self.model.registry_node(
            self.model.registry_index(edit.host))
        dialog = RegistryDialog(self._runner, self._store, existing_hosts=self.model.hosts,
                                edit=edit, found=None if node is None else node.connection.found,
                                parent=self._window)
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
            self.model.update_registry(entry, self.connection(entry))
        else:  # what is listed stays (and the row chosen); new requests trust the CA
            node.connection = self.connection(entry)

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
        index = self.model.add_registry(entry, self.connection(entry, result))
        emit(self._browser.settingsChanged)
        self._keep_secret(result)
        self.tree.setCurrentIndex(index)
        self.tree.expand(index)
        # the keyboard goes on from the registry added (the arrows browse it), not from
        # where it was before the dialog: LOCAL, whose row this one's took, showed none
        self.tree.setFocus(Qt.FocusReason.OtherFocusReason)
        emit(self._browser.registryAdded, entry.host)

    def _registry_edited(self, old: RegistrySettings, result: RegistryInput) -> None:
        entry = result.settings(old)
        self._settings.set_registry(entry)
        current = self._browser.chosen_index()
        showing = self.model.registry_node(current)
        self.model.update_registry(entry, self.connection(entry, result))
        forgotten = result.credentials is None and not result.username and bool(old.username)
        if forgotten:  # (before the save: the settings say what is still to forget)
            self._note_forget(entry.host, old.username)
        emit(self._browser.settingsEdited, f"Saved the settings of {entry.host}.")
        if result.credentials is not None:
            self._keep_secret(result)
        elif forgotten:
            self._forget_secret(entry.host, old.username)
        if showing is not None and showing.host == entry.host:
            index = self.model.registry_index(entry.host)
            self.tree.setCurrentIndex(index)
            self._browser.show_row(index)

    def _keep_secret(self, result: RegistryInput) -> None:
        credentials = result.credentials
        if credentials is None:
            return
        host, store = result.host, self._store
        secret = "token" if credentials.registry_token else "password"  # (a token alone)
        if host in self._settings.forget_pending:  # (its forget runs first, on the lane)
            self._settled(host)
        self._runner.submit(
            lambda _cancel: save_credentials(store, host, credentials),
            on_done=lambda kept: self._secret_kept(host, kept, secret),
            on_error=lambda message: emit(self._browser.statusMessage, message),
            serial=True, lane=KEYRING, drain=True,
            what=f"saving the password for {host}",
        )

    def _note_forget(self, host: str, username: str) -> None:
        """Note in the settings that ``host``'s saved password (of ``username``, "" for a
        token alone) is to be removed, until the keyring has answered: a keyring that
        waits on its unlock prompt while the window closes has it removed at the next
        start (while it is still theirs), not kept for a registry no longer listed."""
        if host not in self._settings.forget_pending:
            self._settings.forget_pending.append(host)
        self._settings.forget_users[host] = username

    def _settled(self, host: str) -> None:
        """``host``'s password is no longer to be removed (:meth:`_note_forget`)."""
        self._settings.forget_pending.remove(host)
        self._settings.forget_users.pop(host, None)

    def _forget_secret(self, host: str, username: str | None = None, *,
                       quiet: bool = False) -> None:
        """Remove ``host``'s saved password on the keyring's writer (:meth:`_note_forget`
        first): with ``username`` (the user the window saved it for, "" for a token
        alone), only while what is saved is still theirs (:func:`forget_credentials`).
        Once the keyring has answered, it is no longer to be forgotten. A failure is said
        in the status bar (only logged when ``quiet``: at start) and the removal is tried
        again at the next start."""
        store = self._store

        def failed(message: str) -> None:
            if quiet:
                log.info("%s", message)
            else:
                emit(self._browser.statusMessage, message)

        self._runner.submit(lambda _cancel: forget_credentials(store, host, username),
                            on_done=lambda _found: self._forgotten(host), on_error=failed,
                            serial=True, lane=KEYRING, drain=True,
                            what=f"forgetting the password for {host}")

    def _forgotten(self, host: str) -> None:
        if host in self._settings.forget_pending:
            self._settled(host)
            emit(self._browser.settingsChanged)

    def forget_pending(self) -> None:
        """At start: remove the saved passwords the settings say are still to be removed
        (a window closed before the keyring answered), but for a registry listed again."""
        listed = {entry.host for entry in self._settings.registries}
        for host in list(self._settings.forget_pending):
            if host in listed:  # added again since (another window): its password stays
                self._settled(host)
                continue
            username = self._settings.forget_users.get(host)
            if username is None:  # noted by an older version: whose it was is not known
                log.info("Removing the password saved for %s from the keyring if it names "
                         "no user (a token the window saved; an entry of a user, which "
                         "spyglass login may have saved, stays): its registry was removed "
                         "before the keyring answered.", host)
            else:
                log.info("Removing the password saved for %s from the keyring: its "
                         "registry was removed before the keyring answered.", host)
            self._forget_secret(host, username or "", quiet=True)

    def _secret_kept(self, host: str, kept: Kept, secret: str = "password") -> None:
        """``secret`` ("password", or "token" for one given alone) for ``host`` is kept
        where ``kept`` says: the registry's page and the status bar say where."""
        # "the system keyring", or the backend someone chose instead (a file, say)
        keyring = self._store.keyring_description if kept.where == "keyring" else ""
        node = self.model.registry_node(self.model.registry_index(host))
        if node is not None:
            node.credentials_note = (f"{secret} in {keyring}" if kept.where == "keyring"
                                     else f"{secret} kept until Spyglass quits")
            index = self.model.registry_index(host)
            emit(self.model.dataChanged, index, index)
        if kept.overruled_by:  # not the keyring's fault: the banner would say that
            emit(self._browser.statusMessage,
                 f"Signed in to {host} until Spyglass quits: $REGISTRY_AUTH_FILE names "
                 f"{kept.overruled_by}, which comes first, so the {secret} was not saved. "
                 "Log in with skopeo login (it writes that file), or remove that entry.")
        elif kept.where == "session":
            emit(self._browser.sessionOnly, host)  # the window's banner says it (once, and stays)
            if self._store.dropped_before(host):
                emit(self._browser.statusMessage,
                     f"The other password an earlier Spyglass kept for {host} in "
                     f"{self._store.passed_over or 'the keyring'} was removed: the new one "
                     "is kept until Spyglass quits.")
        else:
            emit(self._browser.savedInKeyring, host)
            emit(self._browser.statusMessage, f"Saved the {secret} for {host} in {keyring}.")

    def remove_registry(self, host: str) -> bool:
        """Take ``host`` off the list (after asking) and forget the password (or token)
        the window saved for it; credentials it did not save (``spyglass login``'s in
        the same keyring, ``docker login``'s) stay."""
        entry = self._settings.registry(host)
        if entry is None:
            return False
        text = f"<p>Remove <b>{html.escape(host)}</b> from Spyglass?</p>"
        if entry.username:
            text += (f"<p>The password saved for {html.escape(entry.username)} is forgotten "
                     "too. Nothing on the registry changes.</p>")
        elif entry.saved_token:
            text += ("<p>The token saved for it is forgotten too. Nothing on the registry "
                     "changes.</p>")
        else:
            text += ("<p>Credentials saved for it by spyglass login, docker login or podman "
                     "login stay as they are. Nothing on the registry changes.</p>")
        if not self._browser.confirm("Remove Registry", text, "Remove"):
            return False
        self._settings.remove_registry(host)
        # (with no user name, "": a token alone in the keyring goes, which only the window
        # saves, an earlier one without noting saved_token; a user's password stays)
        self._note_forget(host, entry.username)
        emit(self._browser.settingsChanged)
        self._forget_secret(host, entry.username)
        self._browser.keyboard_off_page()  # (before its page goes)
        self._take_off(host)
        emit(self._browser.statusMessage, f"Removed {host}.")
        emit(self._browser.registryRemoved, host)
        return True

    def _take_off(self, host: str) -> None:
        """Take ``host``'s row out of the tree; what showed it shows something else."""
        showing = self.model.registry_node(self._browser.chosen_index())
        self.model.remove_registry(host)
        if showing is not None and showing.host == host:
            current = self._browser.chosen_index()
            if current.isValid():  # the row Qt moved to is shown (not the welcome page
                self._browser.show_row(current)  # under its title)
            else:
                self._browser.show_nothing()
        request = self._image_view.request
        if request is not None and request.name.startswith(f"docker://{host}/"):
            self._image_view.show_empty()
            emit(self._browser.titleChanged, "")

    def follow_settings(self, before: dict[str, tuple[str, bool, bool]]) -> None:
        """The settings took in what another window (or a hand edit) saved: the tree
        follows. ``before`` is each registry's user name, insecure flag and saved token
        (:attr:`~spyglass.core.settings.RegistrySettings.saved_token`) before that.

        A registry added there is listed, one removed there goes, one whose user name,
        flag or token changed there connects anew; the attachment tags show as set there."""
        now = {entry.host: entry for entry in self._settings.registries}
        for host in before:
            if host not in now:
                self._take_off(host)
                emit(self._browser.registryRemoved, host)
        for host, entry in now.items():
            if host not in before:
                self.model.add_registry(entry, self.connection(entry))
            elif before[host] != (entry.username, entry.insecure, entry.saved_token):
                self.model.update_registry(entry, self.connection(entry))
        if self._settings.show_attachment_tags != self._browser.show_attachments:
            self._browser.set_show_attachments(self._settings.show_attachment_tags)
