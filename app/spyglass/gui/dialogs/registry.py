"""Adding or editing a registry: its host, a user name and password or token, and whether
plain HTTP / unverified TLS is allowed; "Test Connection" says exactly what fails, and
"Trust CA Certificate…" adds a private CA to the registry's ``certs.d`` folder."""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from spyglass.core.cancel import CancelToken
from spyglass.core.credentials import (
    SIGN_IN_DIALOGS,
    TOKEN_USERNAME,
    Credentials,
    token_alone,
)
from spyglass.core.credentials.keyring_store import KeyringUnavailable
from spyglass.core.credentials.store import CredentialStore
from spyglass.core.errors import InvalidReference, SpyglassError
from spyglass.core.settings import RegistrySettings
from spyglass.core.transports.registry.hosts import trust_ca_certificate
from spyglass.gui import icons
from spyglass.gui.announce import announce
from spyglass.gui.dialogs.fitting import Fitter
from spyglass.gui.formatting import home_shortened
from spyglass.gui.registry_jobs import (
    ConnectionCheck,
    check_connection,
    credentials_origin,
    parse_host_input,
)
from spyglass.gui.signals import emit
from spyglass.gui.themed import mute, show_as_error
from spyglass.gui.views.buttons import plain_buttons, press_on_enter, tab_as_drawn
from spyglass.gui.views.widgets import Spinner, link_error, scaled_font
from spyglass.gui.workers import Runner, registry_lane

_ids = itertools.count(1)

HEADLINES = {
    "connection": "The connection failed",  # (the sentence says "Cannot reach…")
    "tls": "The secure (TLS) connection failed",
    "auth": "The registry did not accept the sign-in",
    "denied": "The registry denied access",
    "registry": "This is not a container registry",
    "other": "The test failed",
    "trust": "The CA certificate could not be added",
}
"""What failed, by :attr:`ConnectionCheck.problem`."""


def _wants_sign_in(host: str, username: str) -> str:
    """What a test that sent no credentials says when the registry ``host`` wants some
    (:attr:`ConnectionCheck.unsigned`): none was tried, so not that a login failed, but
    what to type; ``username``, the one typed, if any."""
    if username:
        return f"{host} wants the password of {username}: type it above, then Test " \
               "Connection again."
    return f"{host} wants a user name and password: type them above, then Test " \
           "Connection again."


@dataclass(frozen=True)
class RegistryInput:
    """What the dialog was accepted with.

    ``password`` is "" when none was typed: no credentials for a new registry,
    the saved ones kept when editing (unless the user name was cleared).
    """

    host: str
    username: str
    password: str
    insecure: bool
    check: ConnectionCheck | None
    dialog: str = SIGN_IN_DIALOGS[0]
    """The dialog they were typed in, "Add Registry" or "Edit Registry" (a sentence
    about the credentials says "typed in Add Registry")."""

    @property
    def credentials(self) -> Credentials | None:
        """The credentials typed in, or None when no secret was; a secret with no user
        name is a token, presented as it is (:func:`token_alone`)."""
        if not self.password:
            return None
        return token_alone(Credentials(self.username, self.password, source=self.dialog))

    def settings(self, old: RegistrySettings | None = None) -> RegistrySettings:
        """The registry's settings, accepted; ``old``, those it had (Edit Registry): its
        repositories, and its saved token while no user name or other secret was typed."""
        token = not self.username and (bool(self.password) or (
            old is not None and old.saved_token))
        return RegistrySettings(self.host, self.username, self.insecure,
                                list(old.repositories) if old is not None else [],
                                saved_token=token)


def _buddy(text: str, field: QWidget) -> QLabel:
    """A form's label that Alt and its underlined letter take to ``field``, and that
    names it to a screen reader (which looks for a field's label beside it, not beside
    the cell it shares with its error)."""
    label = QLabel(text)
    label.setBuddy(field)
    field.setAccessibleName(text.replace("&", ""))
    return label


def _with_error(field: QWidget, error: QLabel) -> QWidget:
    """``field`` and, right under it, its ``error`` (hidden while there is none)."""
    cell = QWidget()
    column = QVBoxLayout(cell)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(3)
    column.addWidget(field)
    error.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    column.addWidget(error)
    return cell


def _outside_user(edit: RegistrySettings | None, found: Credentials | None) -> str:
    """The user name of ``found`` when the registry ``edit`` names no user of its own and
    is browsed with credentials the window did not save (an auth file's, a credential
    helper's, those ``spyglass login`` saved in the keyring); "" otherwise (a token alone
    too)."""
    if edit is None or edit.keeps_secret or found is None \
            or not credentials_origin(found, edit):
        return ""
    return "" if found.username == TOKEN_USERNAME else found.username


class RegistryDialog(QDialog):
    """Add Registry (or Edit Registry, for ``edit``); open it with ``open()``.

    Accepting tests the connection first unless the inputs were just tested
    successfully; after a failed test the button reads "Add Anyway".

    Attributes:
        result_input: the :class:`RegistryInput` once accepted, else None.
        last_check: the latest answer of a connection test, or None.

    Signals:
        checked(object): a connection test answered (a :class:`ConnectionCheck`).
        trusted(str): a CA certificate was added for this host (connections made before
            do not trust it yet).
    """

    checked = Signal(object)
    trusted = Signal(str)

    def __init__(
        self,
        runner: Runner,
        store: CredentialStore,
        *,
        existing_hosts: list[str] | tuple[str, ...] = (),
        edit: RegistrySettings | None = None,
        found: Credentials | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._fitter = Fitter(self)
        self._runner = runner
        self._store = store
        self._existing = set(existing_hosts)
        self._edit = edit
        self._outside = _outside_user(edit, found)
        """The user whose credentials from outside Spyglass (an auth file, a credential
        helper) the registry edited is browsed with, shown in the user name field: that
        name with no password typed saves the registry as it was (no user of its own)."""
        self._key = f"registry-dialog:{next(_ids)}"
        self._tested: tuple[object, ...] | None = None
        self._failed_inputs: tuple[object, ...] | None = None
        self._result_for: tuple[object, ...] | None = None
        """The inputs the result shown was tested with."""
        self._accept_after_test = False
        self.result_input: RegistryInput | None = None
        self.last_check: ConnectionCheck | None = None

        adding = edit is None
        self.setWindowTitle("Add Registry" if edit is None else f"Edit Registry — {edit.host}")

        # named as the menu, the sidebar and the window title name it
        heading = QLabel("Add Registry" if adding else "Edit Registry")
        heading.setFont(scaled_font(heading.font(), 1.2, bold=True))
        intro = QLabel(
            "Spyglass lists a container registry's repositories and tags and opens its "
            "images. The password or token goes to the system keyring, never to the "
            "settings file."
        )
        intro.setWordWrap(True)
        mute(intro)

        self.host_edit = QLineEdit()
        self.host_edit.setPlaceholderText("registry.example.com, localhost:5000 or a URL")
        self.host_error = QLabel()
        self.host_error.setWordWrap(True)
        show_as_error(self.host_error)
        self.host_error.hide()
        self.insecure_box = QCheckBox("Allow &insecure connections (plain HTTP or unverified TLS)")
        self.insecure_box.setToolTip(
            "For registries on a private network without a trusted certificate. Credentials "
            "may then travel unencrypted.")
        self.user_edit = QLineEdit()
        self.user_edit.setPlaceholderText("optional")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("optional — a token works too")
        self.password_edit.setToolTip("A password, or an access token (some registries take "
                                      "a token with no user name)")
        self.password_error = QLabel()
        self.password_error.setWordWrap(True)
        show_as_error(self.password_error)
        self.password_error.hide()
        self.credentials_hint = QLabel("Leave both empty to browse without signing in.")
        self.credentials_hint.setWordWrap(True)
        mute(self.credentials_hint)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        # too narrow for a label and its field side by side (a large font, a small
        # screen), the label goes above
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(8)
        # as wide as the fields (a form grows only fields that ask to; these wrapped at
        # half their width)
        for label in (self.host_error, self.password_error, self.credentials_hint):
            label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        # Alt and the underlined letter reach each field, as in the Copy dialog; a field's
        # error sits right under it, in its own cell (in a row of its own, the form gave
        # it a blank line above and below: it read as unrelated to the field)
        form.addRow(_buddy("&Registry:", self.host_edit),
                    _with_error(self.host_edit, self.host_error))
        form.addRow("", self.insecure_box)
        form.addRow("&User name:", self.user_edit)
        form.addRow(_buddy("&Password or token:", self.password_edit),
                    _with_error(self.password_edit, self.password_error))
        form.addRow("", self.credentials_hint)

        self.test_button = QPushButton("Test Connection")
        self.test_button.setAutoDefault(False)  # Enter in a field adds (Add is the default)
        press_on_enter(self.test_button)  # and Enter on this button tests
        self.test_button.clicked.connect(self._test_clicked)
        self._stoppable = False
        """Whether a test runs that Stop Test ends (Test Connection is then Stop Test)."""
        self.spinner = Spinner()
        self.spinner.hide()
        self.result_icon = QLabel()
        self.result_icon.hide()
        self.result_label = QLabel()
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.trust_button = QPushButton("Trust CA Certificate…")
        self.trust_button.setAutoDefault(False)
        self.trust_button.setToolTip(
            "Choose the certificate of the CA that signed the registry's certificate. It is "
            "added to the registry's certs.d folder, where skopeo and podman find it too.")
        self.trust_button.clicked.connect(self._pick_certificate)
        self.trust_button.hide()
        self._trust_note = ""
        """Said above the next test result: where a CA certificate just went."""
        result_text = QVBoxLayout()
        result_text.setContentsMargins(0, 0, 0, 0)
        result_text.addWidget(self.result_label)
        result_text.addWidget(self.trust_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.result_frame = QFrame()
        self.result_frame.setFrameShape(QFrame.Shape.StyledPanel)
        result_layout = QHBoxLayout(self.result_frame)
        result_layout.setContentsMargins(10, 8, 10, 8)
        result_layout.addWidget(self.spinner, 0, Qt.AlignmentFlag.AlignTop)
        result_layout.addWidget(self.result_icon, 0, Qt.AlignmentFlag.AlignTop)
        result_layout.addLayout(result_text, 1)
        self.result_frame.hide()
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addStretch(1)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.accept_button = self.buttons.addButton(
            "Add" if adding else "Save", QDialogButtonBox.ButtonRole.AcceptRole)
        plain_buttons(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(test_row)
        layout.addWidget(self.result_frame)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        tab_as_drawn(self.buttons)  # (Cancel, added first, came first)
        self._fitter.open_at(520)
        # Enter adds (or saves); on Cancel, tabbed to, it cancels, as on a focused button
        # anywhere. Set once the button is in the dialog: set before, the dialog never
        # took it for its default, and Cancel became the default as it was shown
        self.accept_button.setDefault(True)

        if edit is not None:
            self.host_edit.setText(edit.host)
            self.host_edit.setReadOnly(True)
            self.host_edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # (it can be copied)
            self.user_edit.setText(edit.username)
            self.insecure_box.setChecked(edit.insecure)
            if edit.username:
                self.password_edit.setPlaceholderText("looking for the saved password…")
                self._look_for_saved(edit.host, edit.username)
            elif edit.saved_token:  # a token alone: the window's own, as a password is
                self.password_edit.setPlaceholderText("looking for the saved token…")
                self.credentials_hint.setText(
                    "Signed in with the token saved for this registry: leave both empty to "
                    "keep it. Type another token, or a user name and its password, to sign "
                    "in with those instead.")
                self._look_for_saved(edit.host, "")
            elif found is not None and credentials_origin(found, edit):
                self._say_outside(found, edit)
        for edit_field in (self.host_edit, self.user_edit, self.password_edit):
            edit_field.textChanged.connect(self._inputs_changed)
        self.insecure_box.toggled.connect(self._inputs_changed)
        self.host_edit.textEdited.connect(self._host_edited)
        if edit is not None:  # what one edits: the credentials (the host is fixed)
            (self.password_edit if edit.keeps_secret else self.user_edit).setFocus()

    def _say_outside(self, found: Credentials, edit: RegistrySettings) -> None:
        """The registry ``edit`` names no user, and is browsed with ``found``, which the
        window did not save (from an auth file, a credential helper, or the keyring entry
        ``spyglass login`` saved): said in the fields, not as anonymous browsing."""
        origin = credentials_origin(found, edit)
        if self._outside:
            self.user_edit.setText(self._outside)
            who = f"Signed in as {self._outside} with the credentials {origin}"
        else:
            who = f"Signed in with a token {origin}"
        if found.source == "keyring":  # the one entry per host: what is typed replaces it
            self.password_edit.setPlaceholderText("not needed: in the keyring")
            self.credentials_hint.setText(
                f"{who}; this window did not save them (to browse without them, log out "
                f"with spyglass logout {edit.host}). Type another user name and its "
                "password or token to sign in with those instead: they take their place "
                "in the keyring.")
            return
        self.password_edit.setPlaceholderText("not needed: from that file"
                                              if found.source.startswith("/")
                                              else "not needed: from there")
        self.credentials_hint.setText(
            f"{who}, which Spyglass reads and never changes (to browse without them, log "
            "out with docker or podman). Type another user name and its password or token "
            "to sign in with those instead: they go to the keyring.")

    def _look_for_saved(self, host: str, username: str) -> None:
        """Find out (on a worker: a keyring may be slow) whether a password is saved for
        the registry: without a keyring it lasted only for the last session, and an
        empty field then means no password, not the saved one."""
        store = self._store

        def saved(cancel: CancelToken) -> bool | None:
            try:
                found = store.lookup(host)
            except KeyringUnavailable as exc:
                return None if exc.locked else False  # None: cannot be known
            except SpyglassError:
                return False
            return found is not None and found.username == username and bool(
                found.password or found.identity_token)

        self._runner.submit(saved, on_done=self._saved_known,
                            on_error=lambda message: self._saved_known(False),
                            key=f"{self._key}:saved",
                            what=f"looking up the saved password for {host}")

    def _saved_known(self, saved: object) -> None:
        self.password_edit.setPlaceholderText(
            "unchanged — type to replace it" if saved is True
            else "not read: the keyring is locked — unlock it, or type it" if saved is None
            else "none saved — type it to sign in")

    # -- reading the fields

    @property
    def testing(self) -> bool:
        return self.spinner.running

    @property
    def result_text(self) -> str:
        """The test result as shown (plain text), or "" while none is."""
        if self.result_frame.isHidden() or self.testing:
            return ""
        return html.unescape(self.result_label.text().replace("<b>", "").replace("</b>", "")
                             .replace("<br>", "\n").replace("&nbsp;", " "))

    def _inputs(self) -> tuple[object, ...]:
        return (self.host_edit.text().strip(), self.user_edit.text().strip(),
                self.password_edit.text(), self.insecure_box.isChecked())

    def _validated(self) -> RegistryInput | None:
        """The inputs, or None after showing what is wrong with them (under the field that
        is wrong)."""
        if not (self.host_error.isHidden() and self.password_error.isHidden()):
            self.host_error.hide()
            self.password_error.hide()
            self._fitter.fit()
        for field in (self.host_edit, self.password_edit):
            link_error(field, "")
        try:
            parsed = parse_host_input(self.host_edit.text())
        except InvalidReference as exc:
            self._invalid(str(exc))
            return None
        if self._edit is None and parsed.host in self._existing:
            self._invalid(f"{parsed.host} is in the list already; edit it there.")
            return None
        username = self.user_edit.text().strip()
        password = self.password_edit.text()
        if self._edit is not None and self._outside and username == self._outside \
                and not password:
            username = self._edit.username  # (the file's user: none of its own, as before)
        keeps_saved = self._edit is not None and username == self._edit.username
        if username and not password and not keeps_saved:
            self._invalid(f"Enter the password or token for {username}.", self.password_error)
            self.password_edit.setFocus()  # (read with the sentence, now its description)
            return None
        return RegistryInput(parsed.host, username, password, self.insecure_box.isChecked(),
                             None, SIGN_IN_DIALOGS[self._edit is not None])

    def _invalid(self, sentence: str, under: QLabel | None = None) -> None:
        label = under or self.host_error
        label.setText(sentence)
        label.show()
        self._fitter.fit()  # the sentence wraps: make room rather than squeeze the fields
        link_error(self.password_edit if label is self.password_error else self.host_edit,
                   sentence)
        if label is not self.password_error:  # (the password field is given the focus)
            announce(label, sentence, assertive=True)

    def _host_edited(self, text: str) -> None:
        if text.strip().lower().startswith("http://") and not self.insecure_box.isChecked():
            self.insecure_box.setChecked(True)

    def _inputs_changed(self, *_args: object) -> None:
        if self._result_for is not None and self._inputs() != self._result_for:
            # a result says something of the fields as they were tested, not as they are
            self._result_for = None
            self.result_frame.hide()
            self._fitter.fit()
        if self._failed_inputs is not None and self._inputs() != self._failed_inputs:
            self._failed_inputs = None
            self.accept_button.setText("Add" if self._edit is None else "Save")

    # -- testing

    def test(self) -> None:
        """Test the connection with the inputs (in the background)."""
        inputs = self._validated()
        if inputs is None:
            return
        # no password typed: the credentials the window will browse with, as it finds
        # them (the keyring's, ~/.docker/config.json's, a credential helper's) — but not
        # the saved ones of a user name cleared in Edit: saving forgets them
        use_saved = not inputs.password and (
            self._edit is None or inputs.username == self._edit.username)
        credentials = inputs.credentials
        store = self._store if use_saved else None
        host, insecure, entry = inputs.host, inputs.insecure, self._edit
        snapshot = self._inputs()
        self._show_busy(f"Connecting to {html.escape(host)}…", stoppable=True)
        self._runner.submit(
            lambda cancel: check_connection(host, insecure=insecure, credentials=credentials,
                                            store=store, cancel=cancel, entry=entry),
            on_done=lambda check: self._checked(check, snapshot),
            on_error=lambda message: self._checked(
                ConnectionCheck(host, "other", message, inputs.username), snapshot),
            key=self._key,
            what=f"testing the connection to {host}",
            lane=registry_lane(host),
        )

    def _test_clicked(self) -> None:
        if self._stoppable:
            self.stop_test()
        else:
            self.test()

    def stop_test(self) -> None:
        """Stop the test under way (a server that takes the connection and never answers
        holds it for half a minute): its answer, if it comes, is not taken."""
        if not self._stoppable:
            return
        self._runner.cancel(self._key)
        self._accept_after_test = False
        self._show_result(False, "<b>Test stopped.</b><br>Test again, or add the registry "
                          "without a test.")
        # as after a failed test: Add does not test again, it adds ("Anyway")
        self._failed_inputs = self._inputs()
        self.accept_button.setText("Add Anyway" if self._edit is None else "Save Anyway")

    def _show_busy(self, text: str, *, stoppable: bool = False) -> None:
        self.spinner.start()
        self.result_icon.hide()
        self.trust_button.hide()
        self.result_label.setText(text)
        self.result_frame.show()
        self._stoppable = stoppable
        self.test_button.setText("Stop Test" if stoppable else "Test Connection")
        self.test_button.setEnabled(stoppable)

    def _show_result(self, ok: bool, text: str) -> None:
        self.result_frame.show()
        self.spinner.stop()
        self._stoppable = False
        self.test_button.setText("Test Connection")
        self.test_button.setEnabled(True)
        icon = icons.current_icon() if ok else icons.warning_icon()
        self.result_icon.setPixmap(icon.pixmap(20, 20))
        self.result_icon.show()
        self.result_label.setText(text)
        self._fitter.fit()  # the sentence wraps: make room rather than squeeze the fields
        announce(self.result_label, self.result_text, assertive=not ok)

    def _checked(self, check: ConnectionCheck, snapshot: tuple[object, ...]) -> None:
        if check.unsigned:  # no login was tried ("Logging in … failed"): ask for one
            check = replace(check, sentence=_wants_sign_in(check.host, str(snapshot[1])))
        self.last_check = check
        self._result_for = snapshot
        if check.ok:
            self._tested = snapshot
            text = f"<b>Connected</b><br>{html.escape(check.sentence)}"
        else:
            self._tested = None
            headline = HEADLINES.get(check.problem, HEADLINES["other"])
            if check.unsigned and snapshot[1]:
                headline = "The registry wants a password"
            elif check.token_refused:
                headline = "The registry did not accept the token"
            elif check.keyring_locked:  # (not a user name that is missing)
                headline = "The keyring is locked"
            elif check.problem == "auth" and not check.username:
                # a token alone was refused: it wants a user name with it
                headline = ("The registry wants a user name with the password or token"
                            if snapshot[2] else "The registry wants a user name and password")
            text = f"<b>{html.escape(headline)}</b><br>{html.escape(check.sentence)}"
        if self._trust_note:
            text = f"{text}<br><br>{html.escape(self._trust_note)}"
            self._trust_note = ""
        self.trust_button.setVisible(check.untrusted)
        self._show_result(check.ok, text)
        if check.ok:
            self._failed_inputs = None  # a failure before is answered: no "Anyway" now
            self.accept_button.setText("Add" if self._edit is None else "Save")
            self.accept_button.setFocus()
        emit(self.checked, check)
        accepting, self._accept_after_test = self._accept_after_test, False
        if accepting and check.ok and snapshot == self._inputs():
            self._finish(check)
        elif not check.ok:
            # a failed test (by Test Connection too) is not run again by Add: Add Anyway
            self._failed_inputs = snapshot
            self.accept_button.setText("Add Anyway" if self._edit is None
                                       else "Save Anyway")

    # -- trusting a CA certificate

    def _pick_certificate(self) -> None:
        inputs = self._validated()
        if inputs is None:
            return
        chosen, _filter = QFileDialog.getOpenFileName(
            self, f"CA Certificate for {inputs.host}", str(Path.home()),
            "Certificates (*.crt *.pem *.cer *.der);;All files (*)")
        if chosen:
            self.trust_certificate(Path(chosen))

    def trust_certificate(self, path: Path) -> None:
        """Add the CA certificate at ``path`` to the registry's ``certs.d`` folder (on a
        worker), then test the connection again."""
        inputs = self._validated()
        if inputs is None:
            return
        host = inputs.host
        snapshot = self._inputs()
        self._show_busy(f"Adding the CA certificate {html.escape(path.name)}…")
        self._runner.submit(
            lambda _cancel: trust_ca_certificate(host, path),
            on_done=lambda target: self._trusted(host, target, snapshot),
            on_error=self._trust_failed,
            key=f"{self._key}:trust",
            what=f"adding a CA certificate for {host}",
        )

    def _trusted(self, host: str, target: object, snapshot: tuple[object, ...]) -> None:
        shown = home_shortened(str(target))
        note = (f"The CA certificate is trusted for {host} now: it is in {shown}, where "
                "skopeo and podman find it too.")
        emit(self.trusted, host)
        if self._inputs() != snapshot:  # the fields changed meanwhile: test those by hand
            self.trust_button.hide()
            self._show_result(True, html.escape(note))
            return
        self._trust_note = note
        self.test()

    def _trust_failed(self, message: str) -> None:
        self.trust_button.show()  # another file may do
        self._show_result(False, f"<b>{html.escape(HEADLINES['trust'])}</b><br>"
                                 f"{html.escape(message)}")

    # -- accepting

    def accept(self) -> None:
        """Override QDialog::accept: test first, unless just tested (or told "Anyway")."""
        inputs = self._validated()
        if inputs is None:
            return
        snapshot = self._inputs()
        tested_ok = snapshot == self._tested and self.last_check is not None \
            and self.last_check.ok
        if tested_ok or snapshot == self._failed_inputs:
            self._finish(self.last_check)
        elif not self.testing:
            self._accept_after_test = True
            self.test()

    def _finish(self, check: ConnectionCheck | None) -> None:
        inputs = self._validated()
        if inputs is None:
            return
        self.result_input = replace(inputs, check=check)
        super().accept()

    def done(self, result: int) -> None:
        """Override QDialog::done: stop a test or a look-up still running (its answer
        must not reach widgets that are gone); the runner forgets their keys."""
        for key in (self._key, f"{self._key}:saved", f"{self._key}:trust"):
            self._runner.forget(key)
        self.spinner.stop()
        super().done(result)


__all__ = ["HEADLINES", "RegistryDialog", "RegistryInput"]
