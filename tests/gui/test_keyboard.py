"""The window from the keyboard: Enter in the Add Registry dialog adds (after testing),
never cancels; Tab leaves a table; Enter on a layer lists its files."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import WAIT_MS, SampleFacts, fill_registry_dialog, show_image


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


def test_tab_leaves_a_table_and_enter_lists_a_layers_files(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> None:
    """The keyboard gets out of a table (Tab goes to the next control, not round its
    cells) and Enter on a layer does what a double-click does."""
    window.show()
    qtbot.waitExposed(window)
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    view.tabs.setCurrentWidget(view.layers)
    table = view.layers.table
    table.setFocus()
    table.setCurrentIndex(table.model().index(0, 0))
    qtbot.waitUntil(table.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(table, Qt.Key.Key_Tab)
    assert not table.hasFocus()
    table.setFocus()
    with qtbot.waitSignal(view.layers.filesRequested, timeout=WAIT_MS) as asked:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert asked.args[0].number == 1


def test_the_menus_letters_are_each_used_once(window: MainWindow) -> None:
    """Alt+F then a letter reaches one item: no two items of a menu share a mnemonic."""
    import re

    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        assert menu is not None
        letters = [match.group(1).lower() for action in menu.actions()
                   if (match := re.search(r"&(\w)", action.text()))]
        assert len(letters) == len(set(letters)), (menu_action.text(), letters)


def test_tabbing_into_a_table_selects_its_row(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> None:
    """A table the keyboard moves into has its row selected, not only framed: what works
    on the selection (Copy Reference, Delete, List Files) is on at once."""
    window.show()
    qtbot.waitExposed(window)
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    view.tabs.setCurrentWidget(view.layers)
    table = view.layers.table
    table.clearSelection()
    assert not table.selectionModel().hasSelection()
    table.setFocus(Qt.FocusReason.TabFocusReason)  # as Tab from the control before it
    qtbot.waitUntil(table.hasFocus, timeout=WAIT_MS)
    assert table.selectionModel().hasSelection()
    assert view.layers.files_button.isEnabled()
