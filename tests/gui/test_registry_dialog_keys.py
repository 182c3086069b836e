"""The Add Registry dialog from the keyboard: Enter adds (after testing), it never cancels."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import WAIT_MS, fill_registry_dialog


def test_enter_in_the_host_field_adds_the_registry(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts) -> None:
    window.show()
    qtbot.waitExposed(window)
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, demo_registry.host, insecure=True)
    dialog.host_edit.setFocus()
    with qtbot.waitSignal(window.registries.registryAdded, timeout=WAIT_MS):
        qtbot.keyClick(dialog.host_edit, Qt.Key.Key_Return)
    assert demo_registry.host in window.registries.model.hosts
