"""Where the window's sign-in to a registry comes from, and what it says of it: credentials
from ``docker login``'s file (Test Connection uses them, the page names them), and a saved
password gone from the keyring at the next start."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from spyglass.core.credentials import Credentials
from spyglass.core.credentials.store import CredentialStore
from spyglass.core.settings import RegistrySettings, Settings
from spyglass.gui.main_window import MainWindow
from tests.gui.conftest import RegistryFacts, store_environ
from tests.gui.guitools import (
    WAIT_MS,
    add_registry,
    fill_registry_dialog,
    test_connection,
    wait_repositories,
    wait_tags,
)
from tests.helpers.keyrings import LockableKeyring
from tests.helpers.registry import RegistryServer, seed_tags
from tests.helpers.tokenserver import TokenServer


@pytest.fixture(scope="module")
def token_registry(registry_binary: str) -> Iterator[RegistryServer]:
    """An empty registry behind a token server that knows alice, and nobody anonymous."""
    with TokenServer(users={"alice": "alicepw"}, acl={"alice": {"*": ["*"],
                                                              "registry:catalog": ["*"]}},
                     allow_anonymous=False) as tokens, \
            RegistryServer(binary=registry_binary, token_server=tokens) as server:
        yield server


def test_add_registry_tests_and_browses_with_docker_login_s_file(
        qtbot: QtBot, make_window: Callable[..., MainWindow], alice_registry: RegistryFacts,
        tmp_path: Path) -> None:
    """Test Connection asked nothing but what was typed ("wants a user name and password")
    though the registry, once added, was browsed as alice from ~/.docker/config.json; the
    page then said "Anonymous"."""
    host = alice_registry.host
    env = store_environ(tmp_path / "env")
    config = Path(env["DOCKER_CONFIG"], "config.json")
    config.write_text(json.dumps({"auths": {host: {
        "auth": base64.b64encode(b"alice:wonderland").decode()}}}))
    store = CredentialStore(keyring_backend=LockableKeyring(), environ=env)
    window = make_window(credentials=store)
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, host, insecure=False)
    assert test_connection(qtbot, dialog) == (
        f"Connected\n{host} answers as a registry over plain HTTP (allowed for this "
        f"machine), as alice (from {config}).")
    assert dialog.accept_button.text() == "Add"
    with qtbot.waitSignal(window.registries.registryAdded, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert wait_repositories(qtbot, window, host) == ["demo/app", "other/tools"]
    model = window.registries.model
    window.registries.tree.setCurrentIndex(model.registry_index(host))
    page = window.registries.registry_page
    said = f"User alice (from {config}) · over plain HTTP (allowed for this machine)"
    qtbot.waitUntil(lambda: page.header.subtitle.text() == said, timeout=WAIT_MS)
    assert said in model.data(model.registry_index(host), Qt.ItemDataRole.ToolTipRole)
    assert window.settings.registry(host) == RegistrySettings(host, "", False, [])


def test_a_password_gone_from_the_keyring_is_said_missing_not_anonymous(
        qtbot: QtBot, make_window: Callable[..., MainWindow],
        token_registry: RegistryServer, tmp_path: Path) -> None:
    """Signed in as alice, whose keyring entry was removed before this start: the page said
    "User alice" and that the token server "refused an anonymous token …; log in"."""
    host = token_registry.host
    backend = LockableKeyring()
    env = store_environ(tmp_path / "env")
    first = make_window(credentials=CredentialStore(keyring_backend=backend, environ=env))
    add_registry(qtbot, first, host, "alice", "alicepw")
    qtbot.waitUntil(lambda: backend.get_password("spyglass", host) is not None,
                    timeout=WAIT_MS)
    first.close()
    backend.delete_password("spyglass", host)
    window = make_window(Settings(first_run_done=True,
                                  registries=[RegistrySettings(host, "alice")]),
                         credentials=CredentialStore(keyring_backend=backend, environ=env))
    model = window.registries.model
    window.registries.tree.setCurrentIndex(model.registry_index(host))
    page = window.registries.registry_page
    qtbot.waitUntil(lambda: "was not found" in page.panel.body.text(), timeout=WAIT_MS)
    said = page.panel.body.text()
    assert (f"The password for alice was not found in the keyring backend LockableKeyring "
            f"(it has no entry for {host}). Sign in with Edit Registry.") in said
    assert "log in to" not in said
    assert page.header.subtitle.text().startswith("User alice, no password saved")
    # Edit Registry's test sends no password, as there is none: it asks for one (it said
    # the token server "refused to log in anonymously…; check the user name and password")
    dialog = window.registries.edit_registry(host)
    assert dialog is not None and dialog.user_edit.text() == "alice"
    assert test_connection(qtbot, dialog) == (
        f"The registry wants a password\n{host} wants the password of alice: type it "
        "above, then Test Connection again.")
    fill_registry_dialog(qtbot, dialog, host, "alice", "alicepw")
    assert test_connection(qtbot, dialog).startswith("Connected\n")
    dialog.close()


def test_edit_registry_names_the_user_an_auth_file_signs_in_and_saving_keeps_it(
        qtbot: QtBot, make_window: Callable[..., MainWindow], alice_registry: RegistryFacts,
        tmp_path: Path) -> None:
    """Browsed as alice from containers' auth.json, the page said so, while Edit Registry
    showed an empty user name over "Leave both empty to browse without signing in." It
    names alice and the file; Save unchanged writes nothing and still signs in as alice."""
    host = alice_registry.host
    env = store_environ(tmp_path / "env")
    auth = Path(env["XDG_RUNTIME_DIR"], "containers", "auth.json")
    auth.parent.mkdir()
    auth.write_text(json.dumps({"auths": {host: {
        "auth": base64.b64encode(b"alice:wonderland").decode()}}}))
    backend = LockableKeyring()
    store = CredentialStore(keyring_backend=backend, environ=env)
    window = make_window(Settings(first_run_done=True, registries=[RegistrySettings(host)]),
                         credentials=store)
    model = window.registries.model
    window.registries.tree.setCurrentIndex(model.registry_index(host))
    page = window.registries.registry_page
    said = f"User alice (from {auth}) · over plain HTTP (allowed for this machine)"
    qtbot.waitUntil(lambda: page.header.subtitle.text() == said, timeout=WAIT_MS)
    dialog = window.registries.edit_registry(host)
    assert dialog is not None
    assert dialog.user_edit.text() == "alice"
    hint = dialog.credentials_hint.text()
    assert f"Signed in as alice with the credentials from {auth}" in hint
    assert "without signing in" not in hint
    assert dialog.password_edit.placeholderText() == "not needed: from that file"
    # Test Connection and Save, nothing changed: alice from the file, nothing kept
    assert test_connection(qtbot, dialog) == (
        f"Connected\n{host} answers as a registry over plain HTTP (allowed for this "
        f"machine), as alice (from {auth}).")
    with qtbot.waitSignal(window.registries.settingsEdited, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert window.settings.registry(host) == RegistrySettings(host, "", False, [])
    qtbot.waitUntil(lambda: page.header.subtitle.text() == said, timeout=WAIT_MS)
    assert backend._load() == {}
    assert json.loads(auth.read_text())["auths"][host]
    # another user typed, with no password: asked for, as for any user name
    dialog = window.registries.edit_registry(host)
    assert dialog is not None
    fill_registry_dialog(qtbot, dialog, host, "bob")
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert dialog.password_error.text() == "Enter the password or token for bob."
    dialog.reject()


def _keyring_entry(backend: LockableKeyring, host: str) -> dict[str, str] | None:
    stored = backend.get_password("spyglass", host)
    return None if stored is None else dict(json.loads(stored))


def test_removing_a_registry_leaves_the_password_spyglass_login_saved(
        qtbot: QtBot, make_window: Callable[..., MainWindow], alice_registry: RegistryFacts,
        tmp_path: Path) -> None:
    """``spyglass login`` saved alice's password; the registry was added with both fields
    empty (browsed as alice). Remove Registry deleted that keyring entry, unasked: the
    command line then wanted a login again. It stays, and the confirmation says so."""
    host = alice_registry.host
    backend = LockableKeyring()
    env = store_environ(tmp_path / "env")
    store = CredentialStore(keyring_backend=backend, environ=env)
    store.save(host, Credentials("alice", "wonderland"))  # as spyglass login saves it
    window = make_window(credentials=store)
    add_registry(qtbot, window, host)
    assert wait_repositories(qtbot, window, host) == ["demo/app", "other/tools"]
    asked: list[str] = []
    window.registries.confirm = lambda title, text, accept: asked.append(text) or True
    assert window.registries.remove_registry(host)
    assert asked == [f"<p>Remove <b>{host}</b> from Spyglass?</p><p>Credentials saved for it "
                     "by spyglass login, docker login or podman login stay as they are. "
                     "Nothing on the registry changes.</p>"]
    qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
    assert window.settings.forget_pending == []
    assert _keyring_entry(backend, host) == {"username": "alice", "password": "wonderland"}


def test_a_token_an_earlier_spyglass_saved_is_the_window_s_and_goes_with_the_registry(
        qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path) -> None:
    """A token typed with no user name, saved by an earlier Spyglass (its settings do not
    note saved_token): only the window saves a token alone in the keyring, so it is the
    window's. It was left behind by Remove Registry, said to be spyglass login's."""
    from spyglass.gui.registry_jobs import credentials_origin, saved_by_window

    host = "registry.example.com"
    entry = RegistrySettings(host)  # (as an earlier version wrote it)
    token = Credentials("", "t0ken", source="keyring")
    assert saved_by_window(token, entry) and credentials_origin(token, entry) == ""
    login = Credentials("alice", "wonderland", source="keyring")
    assert not saved_by_window(login, entry)
    backend = LockableKeyring()
    store = CredentialStore(keyring_backend=backend, environ=store_environ(tmp_path / "env"))
    for saved, stays in ((Credentials("", "t0ken"), False),
                         (Credentials("alice", "wonderland"), True)):
        store.save(host, saved)
        window = make_window(Settings(first_run_done=True, registries=[entry]),
                             credentials=store)
        window.registries.confirm = lambda title, text, accept: True
        assert window.registries.remove_registry(host)
        qtbot.waitUntil(lambda w=window: w.runner.active == 0  # type: ignore[misc]
                        and not w.settings.forget_pending, timeout=WAIT_MS)
        assert (_keyring_entry(backend, host) is not None) is stays
        window.close()
        if stays:
            backend.delete_password("spyglass", host)


def test_removing_forgets_the_window_s_password_but_not_another_login_s_since(
        qtbot: QtBot, make_window: Callable[..., MainWindow], alice_registry: RegistryFacts,
        tmp_path: Path) -> None:
    """The window saved alice's password, and is asked to forget it with the registry;
    a ``spyglass login`` as bob since replaced it in the keyring: bob's is not the
    window's to forget. (Without that login, Remove forgets alice's.)"""
    host = alice_registry.host
    backend = LockableKeyring()
    env = store_environ(tmp_path / "env")
    store = CredentialStore(keyring_backend=backend, environ=env)
    window = make_window(credentials=store)
    for login_since in (False, True):
        add_registry(qtbot, window, host, "alice", "wonderland")
        qtbot.waitUntil(lambda: _keyring_entry(backend, host) is not None, timeout=WAIT_MS)
        if login_since:
            store.save(host, Credentials("bob", "builder"))
        window.registries.confirm = lambda title, text, accept: "forgotten too" in text
        assert window.registries.remove_registry(host)
        qtbot.waitUntil(lambda: window.runner.active == 0
                        and not window.settings.forget_pending, timeout=WAIT_MS)
        assert _keyring_entry(backend, host) == (
            {"username": "bob", "password": "builder"} if login_since else None)


@pytest.mark.parametrize(("users", "stays"), [
    ({"r.example": "alice"}, True),  # the window's alice was to go; bob's stays
    ({}, True),  # noted by an older version: whose is not known, so a user's stays
    ({"r.example": "bob"}, False),  # still the one the window saved: it goes
])
def test_a_pending_forget_at_start_removes_only_what_the_window_saved(
        qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path,
        users: dict[str, str], stays: bool) -> None:
    """A forget left pending (the keyring locked as the registry was removed), and a
    ``spyglass login`` as bob since: the next start removed bob's entry, whatever the
    window had saved."""
    backend = LockableKeyring()
    store = CredentialStore(keyring_backend=backend, environ=store_environ(tmp_path / "env"))
    store.save("r.example", Credentials("bob", "builder"))
    window = make_window(Settings(first_run_done=True, forget_pending=["r.example"],
                                  forget_users=users), credentials=store)
    qtbot.waitUntil(lambda: window.runner.active == 0 and not window.settings.forget_pending,
                    timeout=WAIT_MS)
    assert window.settings.forget_users == {}
    assert _keyring_entry(backend, "r.example") == (
        {"username": "bob", "password": "builder"} if stays else None)


def test_a_token_typed_with_no_user_name_is_the_window_s_and_goes_with_the_registry(
        qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings name no user for a token typed alone: they note that the window
    saved it, so that Remove Registry forgets it (and says so), as a user's password."""
    import socket

    from spyglass.gui.dialogs.registry import RegistryInput
    from tests.helpers.names import resolver

    monkeypatch.setattr(socket, "getaddrinfo", resolver({}))  # (r.example: no DNS query)
    backend = LockableKeyring()
    store = CredentialStore(keyring_backend=backend, environ=store_environ(tmp_path / "env"))
    window = make_window(credentials=store)
    window.registries.editing._registry_added(
        RegistryInput("r.example", "", "t0ken", insecure=False, check=None))
    assert window.settings.registry("r.example") == RegistrySettings("r.example",
                                                                      saved_token=True)
    qtbot.waitUntil(lambda: _keyring_entry(backend, "r.example") is not None,
                    timeout=WAIT_MS)
    asked: list[str] = []
    window.registries.confirm = lambda title, text, accept: asked.append(text) or True
    assert window.registries.remove_registry("r.example")
    assert "<p>The token saved for it is forgotten too." in asked[0]
    qtbot.waitUntil(lambda: _keyring_entry(backend, "r.example") is None, timeout=WAIT_MS)


@pytest.fixture
def tokens_and_registry(registry_binary: str) -> Iterator[tuple[TokenServer, RegistryServer]]:
    """A registry behind a token server that gives alice everything and nobody anonymous
    anything, with one tag of demo/app."""
    with TokenServer(users={"alice": "wonderland"},
                     acl={"alice": {"*": ["*"], "registry:catalog": ["*"]}},
                     allow_anonymous=False) as tokens, \
            RegistryServer(binary=registry_binary, token_server=tokens) as server:
        seed_tags(server, "demo/app", 1, creds=("alice", "wonderland"))
        yield tokens, server


def test_a_token_typed_with_no_user_name_is_presented_to_a_token_auth_registry(
        qtbot: QtBot, make_window: Callable[..., MainWindow],
        tokens_and_registry: tuple[TokenServer, RegistryServer], tmp_path: Path) -> None:
    """A token in the password field, the user name empty: the token server was asked
    anonymously and the token went nowhere, while Test Connection said "without signing
    in" and the page "Signed in with a token" (demo/app then wanted valid credentials).
    It is presented as it is, as --registry-token presents one, then and after a restart
    (from the keyring); one the registry refuses is said to be the token."""
    tokens, server = tokens_and_registry
    host = server.host
    token = tokens.issue_token("alice", tokens.grant("alice", ["repository:demo/app:pull"]))
    backend = LockableKeyring()
    env = store_environ(tmp_path / "env")
    window = make_window(credentials=CredentialStore(keyring_backend=backend, environ=env))
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, host, "", token)
    tokens.clear_log()
    assert test_connection(qtbot, dialog) == (
        f"Connected\n{host} answers as a registry over plain HTTP (allowed for this "
        "machine), with the token.")
    with qtbot.waitSignal(window.registries.registryAdded, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    window.registries.open_repository(host, "demo/app")  # (the token lists no catalog)
    assert wait_tags(qtbot, window, host, "demo/app") == ["tag-00000"]
    assert tokens.requests == []  # the token given is the one sent: none was asked for
    assert window.settings.registry(host) == RegistrySettings(
        host, repositories=["demo/app"], saved_token=True)
    qtbot.waitUntil(lambda: _keyring_entry(backend, host) == {"username": "",
                                                               "password": token},
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.status_text.startswith("Saved the token for"),
                    timeout=WAIT_MS)
    window.close()

    again = make_window(Settings(first_run_done=True, registries=[
        RegistrySettings(host, saved_token=True)]),
        credentials=CredentialStore(keyring_backend=backend, environ=env))
    again.registries.open_repository(host, "demo/app")
    assert wait_tags(qtbot, again, host, "demo/app") == ["tag-00000"]
    assert tokens.requests == []
    dialog = again.registries.edit_registry(host)
    assert dialog is not None and dialog.user_edit.text() == ""
    assert dialog.credentials_hint.text().startswith(
        "Signed in with the token saved for this registry: leave both empty to keep it.")
    qtbot.waitUntil(lambda: dialog.password_edit.placeholderText()
                    == "unchanged — type to replace it", timeout=WAIT_MS)
    assert test_connection(qtbot, dialog).endswith(", with the token.")
    fill_registry_dialog(qtbot, dialog, host, "", token[:-4] + "AAAA")
    assert test_connection(qtbot, dialog) == (
        f"The registry did not accept the token\nLogging in to {host} failed: the registry "
        f"{host} refused the Bearer token given. Check the token (typed in Edit Registry).")
    assert tokens.requests == []
    dialog.reject()


def test_edit_registry_names_the_user_spyglass_login_saved_in_the_keyring(
        qtbot: QtBot, make_window: Callable[..., MainWindow], alice_registry: RegistryFacts,
        tmp_path: Path) -> None:
    """Added with both fields empty, browsed as alice from the keyring entry ``spyglass
    login`` saved: Edit Registry showed an empty user name over "Leave both empty to
    browse without signing in" (its test said "as alice"). It names alice and where her
    credentials are, as for an auth file's; Save unchanged keeps them, writing nothing."""
    host = alice_registry.host
    backend = LockableKeyring()
    store = CredentialStore(keyring_backend=backend, environ=store_environ(tmp_path / "env"))
    store.save(host, Credentials("alice", "wonderland"))  # as spyglass login saves it
    window = make_window(credentials=store)
    add_registry(qtbot, window, host)
    assert wait_repositories(qtbot, window, host) == ["demo/app", "other/tools"]
    page = window.registries.registry_page
    said = ("User alice (saved in the keyring, e.g. by spyglass login) · over plain HTTP "
            "(allowed for this machine)")
    qtbot.waitUntil(lambda: page.header.subtitle.text() == said, timeout=WAIT_MS)
    dialog = window.registries.edit_registry(host)
    assert dialog is not None and dialog.user_edit.text() == "alice"
    assert dialog.credentials_hint.text() == (
        "Signed in as alice with the credentials saved in the keyring, e.g. by spyglass "
        f"login; this window did not save them (to browse without them, log out with "
        f"spyglass logout {host}). Type another user name and its password or token to sign "
        "in with those instead: they take their place in the keyring.")
    assert dialog.password_edit.placeholderText() == "not needed: in the keyring"
    assert test_connection(qtbot, dialog) == (
        f"Connected\n{host} answers as a registry over plain HTTP (allowed for this "
        "machine), as alice (saved in the keyring, e.g. by spyglass login).")
    with qtbot.waitSignal(window.registries.settingsEdited, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert window.settings.registry(host) == RegistrySettings(host)
    qtbot.waitUntil(lambda: page.header.subtitle.text() == said, timeout=WAIT_MS)
    assert _keyring_entry(backend, host) == {"username": "alice", "password": "wonderland"}


def test_a_refusal_of_the_keyring_s_credentials_says_whose_they_are_and_where(
        qtbot: QtBot, make_window: Callable[..., MainWindow], alice_registry: RegistryFacts,
        tmp_path: Path) -> None:
    """``spyglass login``'s password for alice went stale: Add Registry, both fields
    empty, said "refused the credentials given. Check the user name and password." with
    nothing typed to check, and the page after Add Anyway sent to Edit Registry, whose
    fields were empty. Both say whose they are and where they are."""
    host = alice_registry.host
    store = CredentialStore(keyring_backend=LockableKeyring(),
                            environ=store_environ(tmp_path / "env"))
    store.save(host, Credentials("alice", "kr-stale-2"))
    window = make_window(credentials=store)
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, host)
    assert test_connection(qtbot, dialog) == (
        f"The registry did not accept the sign-in\nLogging in to {host} failed: the registry "
        f"{host} refused the credentials given. Check the user name \"alice\" and its "
        "password (saved in the keyring, e.g. by spyglass login): log in again with "
        f"spyglass login {host}, or type a user name and password above to sign in with "
        "those.")
    assert dialog.accept_button.text() == "Add Anyway"
    model = window.registries.model
    with qtbot.waitSignal(model.registryFailed, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert blocker.args[1].endswith(
        f"the registry {host} refused the credentials given. Check the user name \"alice\" "
        "and its password (saved in the keyring) with Edit Registry."), blocker.args[1]
    assert "kr-stale-2" not in blocker.args[1]


@pytest.mark.parametrize("trouble", ["docker-config-not-json", "keyring-locked"])
def test_test_connection_looks_credentials_up_only_when_the_registry_asks(
        qtbot: QtBot, make_window: Callable[..., MainWindow], demo_registry: RegistryFacts,
        alice_registry: RegistryFacts, tmp_path: Path, trouble: str) -> None:
    """Test Connection looked the stored credentials up before it asked the registry: one
    that wants none failed with "The credentials file … is not valid JSON" (or "The
    keyring … is locked", a real one raising its unlock prompt), though the window then
    browsed it. Asked only once the registry wants some, as browsing asks; one that does
    is told of the trouble."""
    env = store_environ(tmp_path / "env")
    backend = LockableKeyring(locked=trouble == "keyring-locked")
    if trouble == "docker-config-not-json":
        Path(env["DOCKER_CONFIG"], "config.json").write_text("not json")
    window = make_window(credentials=CredentialStore(keyring_backend=backend, environ=env))
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, demo_registry.host)
    assert test_connection(qtbot, dialog) == (
        f"Connected\n{demo_registry.host} answers as a registry over plain HTTP (allowed "
        "for this machine), without signing in.")
    assert backend.calls == 0  # (a system keyring: no unlock prompt)
    assert dialog.accept_button.text() == "Add"
    fill_registry_dialog(qtbot, dialog, alice_registry.host)
    said = test_connection(qtbot, dialog)
    if trouble == "keyring-locked":
        assert said == (
            f"The keyring is locked\nLogging in to {alice_registry.host} failed: the "
            f"registry {alice_registry.host} wants valid credentials. The keyring backend "
            "LockableKeyring, where Spyglass keeps credentials, is locked: unlock it and try "
            "again.")
    else:
        assert said.startswith("The test failed\nThe credentials file ") \
            and "config.json\" is not valid JSON" in said, said
    dialog.reject()


def test_a_refusal_says_the_account_was_typed_in_add_registry(
        qtbot: QtBot, make_window: Callable[..., MainWindow], registry_binary: str,
        sample_layout: Path, tmp_path: Path) -> None:
    """bob, signed in with Add Registry, may only pull demo/*: a copy to demo/new was
    refused for 'the account "bob" (from Spyglass)', which told nothing (after a
    restart: "saved in the keyring"). It says where he was signed in."""
    from spyglass.core.copy import CopyOptions
    from spyglass.gui.copy_jobs import CopyRequest

    with TokenServer(users={"bob": "builder"}, acl={"bob": {"demo/*": ["pull"]}}) as tokens, \
            RegistryServer(binary=registry_binary, token_server=tokens) as server:
        window = make_window(credentials=CredentialStore(
            keyring_backend=LockableKeyring(), environ=store_environ(tmp_path / "env")))
        add_registry(qtbot, window, server.host, "bob", "builder")
        transfer = window.copying.start(CopyRequest(
            f"oci:{sample_layout}:spyglass-demo:1.0", f"docker://{server.host}/demo/new:1",
            CopyOptions()))
        qtbot.waitUntil(lambda: transfer.state.finished, timeout=WAIT_MS * 6)
    assert transfer.error is not None and transfer.error.endswith(
        f'the registry {server.host} denied access; the account "bob" (typed in Add '
        "Registry) is not allowed to do this."), transfer.error
