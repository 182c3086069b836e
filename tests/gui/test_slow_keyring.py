"""Keyrings that take their time or refuse: one whose unlock prompt is not answered yet
while the window closes (the settings are saved all the same, and a password of a
registry removed is removed at the next start, not kept for a registry no longer
listed), and one that refuses a password (it takes it typed again, with no restart)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from spyglass.core.credentials import Credentials
from spyglass.core.credentials.store import CredentialStore
from spyglass.core.settings import RegistrySettings, Settings, normalize_location
from spyglass.core.settings_file import load_settings
from spyglass.gui.main_window import MainWindow
from tests.gui.conftest import store_environ
from tests.gui.guitools import WAIT_MS, fill_registry_dialog
from tests.helpers.keyrings import GatedKeyring, RefusingKeyring
from tests.helpers.registry import free_port

Windows = Callable[..., MainWindow]


@pytest.fixture
def gated() -> Iterator[GatedKeyring]:
    """A keyring whose calls wait while its gate is shut; opened again at the end (its
    calls then end, and so do the threads closing left to them). (Closing waits for it
    as long as it does for anything: seconds.)"""
    backend = GatedKeyring()
    yield backend
    backend.gate.set()


def gated_store(backend: GatedKeyring, tmp_path: Path) -> CredentialStore:
    return CredentialStore(keyring_backend=backend, environ=store_environ(tmp_path / "env"))


def test_closing_while_the_keyring_takes_a_password_still_saves_the_settings(
        qtbot: QtBot, make_window: Windows, settings_file: Path, tmp_layout: Path,
        tmp_path: Path, gated: GatedKeyring) -> None:
    """The password went on the settings' writer: the closing save waited behind the
    keyring, was given up, and the next start looked like the first (no places, no
    geometry)."""
    window = make_window(Settings(first_run_done=True), credentials=gated_store(gated, tmp_path))
    host = f"127.0.0.1:{free_port()}"
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, host, "alice", "wonderland", insecure=True)
    with qtbot.waitSignal(dialog.checked, timeout=WAIT_MS):  # (nothing answers there)
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    gated.gate.clear()  # the keyring's prompt waits for an answer
    with qtbot.waitSignal(window.registries.registryAdded, timeout=WAIT_MS):  # Add Anyway
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    window.open_location(tmp_layout)
    layout = normalize_location(tmp_layout)
    qtbot.waitUntil(lambda: window.settings.recent_locations == [layout], timeout=WAIT_MS)
    window.close()
    saved = load_settings(settings_file)
    assert saved.registry(host) is not None
    assert saved.open_locations == saved.recent_locations == [layout]
    assert saved.first_run_done and saved.window_geometry
    assert gated.stored(host) is None  # (the keyring never answered)


def test_a_password_the_keyring_had_not_removed_at_close_goes_at_the_next_start(
        qtbot: QtBot, make_window: Windows, settings_file: Path, tmp_layout: Path,
        tmp_path: Path, gated: GatedKeyring) -> None:
    """The registry was gone from the list, its password stayed in the keyring: nothing
    in the window would ever remove it."""
    host = f"127.0.0.1:{free_port()}"
    store = gated_store(gated, tmp_path)
    store.save(host, Credentials("alice", "wonderland"))
    window = make_window(Settings(first_run_done=True,
                                  registries=[RegistrySettings(host, "alice", True)]),
                         credentials=store)
    gated.gate.clear()
    window.registries.confirm = lambda *_args: True
    assert window.registries.remove_registry(host)
    window.open_location(tmp_layout)
    window.close()
    saved = load_settings(settings_file)
    assert saved.registries == [] and saved.forget_pending == [host]
    assert saved.open_locations == [normalize_location(tmp_layout)]
    assert gated.stored(host) is not None

    gated.gate.set()  # answered: the next start removes it
    again = make_window(load_settings(settings_file), credentials=gated_store(gated, tmp_path))
    qtbot.waitUntil(lambda: gated.stored(host) is None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: load_settings(settings_file).forget_pending == [],
                    timeout=WAIT_MS)
    assert again.settings.forget_pending == []


def test_a_registry_added_again_keeps_its_password_whatever_was_to_be_forgotten(
        qtbot: QtBot, make_window: Windows, settings_file: Path, tmp_path: Path,
        gated: GatedKeyring) -> None:
    host = f"127.0.0.1:{free_port()}"
    store = gated_store(gated, tmp_path)
    store.save(host, Credentials("alice", "wonderland"))
    window = make_window(Settings(first_run_done=True, forget_pending=[host],
                                  registries=[RegistrySettings(host, "alice", True)]),
                         credentials=store)
    qtbot.wait(200)
    assert window.settings.forget_pending == []
    assert gated.stored(host) is not None


def test_a_password_the_keyring_refused_is_typed_again_with_no_restart(
        qtbot: QtBot, make_window: Windows, tmp_path: Path) -> None:
    """KWallet's "Cancelled by user": the banner said to start Spyglass again once the
    keyring works, though it works, and takes the password typed again."""
    backend = RefusingKeyring()
    window = make_window(credentials=CredentialStore(keyring_backend=backend,
                                                     environ=store_environ(tmp_path / "env")))
    host = f"127.0.0.1:{free_port()}"
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, host, "alice", "wonderland", insecure=True)
    with qtbot.waitSignal(dialog.checked, timeout=WAIT_MS):  # (nothing answers there)
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)  # Add Anyway
    qtbot.waitUntil(window.session_banner.isVisible, timeout=WAIT_MS)
    assert window.session_banner.text == (
        f"The keyring backend RefusingKeyring did not take the password for {host} "
        "(PasswordSetError: Cancelled by user), so it is kept only until Spyglass quits. "
        "Type it again in Edit Registry… to keep it.")
    # typed again: the keyring takes it, and the banner goes
    dialog = window.registries.edit_registry(host)
    assert dialog is not None
    fill_registry_dialog(qtbot, dialog, host, "alice", "wonderland")
    with qtbot.waitSignal(dialog.checked, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    said: list[str] = []
    window.registries.statusMessage.connect(said.append)
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)  # Save Anyway
    qtbot.waitUntil(lambda: backend.stored(host) is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.session_banner.isVisible(), timeout=WAIT_MS)
    # (the password goes on the keyring's own lane: the settings' sentence may come
    # before it or after)
    password = f"Saved the password for {host} in the keyring backend RefusingKeyring."
    qtbot.waitUntil(lambda: password in said, timeout=WAIT_MS)
