"""The window from the keyboard: Enter in the Add Registry dialog adds (after testing),
never cancels; Tab leaves a table; Enter on a layer lists its files."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QPoint, QRect, Qt
from PySide6.QtGui import QAccessible, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QMenu,
    QScrollArea,
    QTabBar,
    QTableView,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.layers import DIGEST as LAYER_DIGEST
from spyglass.gui.views.buttons import presses_on_enter
from spyglass.gui.views.widgets import select_row
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import (
    WAIT_MS,
    SampleFacts,
    enter_on,
    fill_registry_dialog,
    menu_items,
    menu_letters,
    mnemonics,
    show_image,
)
from tests.gui.scripted import ScriptedCopy


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


def test_the_focus_goes_to_the_registry_added(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts,
        demo_registry: RegistryFacts) -> None:
    """The focus stayed in LOCAL, whose row the new registry's took: nothing showed it."""
    window.open_location(sample.layout, select=True)
    window.show()
    qtbot.waitExposed(window)
    window.tree.setFocus()
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, demo_registry.host, insecure=True)
    dialog.host_edit.setFocus()
    with qtbot.waitSignal(window.registries.registryAdded, timeout=WAIT_MS):
        qtbot.keyClick(dialog.host_edit, Qt.Key.Key_Return)
    tree = window.registries.tree
    # (the window's focus widget: offscreen, no window is active after a dialog)
    qtbot.waitUntil(lambda: window.focusWidget() is tree, timeout=WAIT_MS)
    current = tree.currentIndex()
    assert current == window.registries.model.registry_index(demo_registry.host)
    assert tree.selectionModel().isSelected(current)


def test_enter_on_cancel_adds_no_registry(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts) -> None:
    """Enter on Cancel, tabbed to, added the registry (Cancel was no default button)."""
    from PySide6.QtWidgets import QDialogButtonBox

    window.show()
    qtbot.waitExposed(window)
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, demo_registry.host, insecure=True)
    cancel = dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    assert cancel is not None
    with qtbot.waitSignal(dialog.rejected, timeout=WAIT_MS):
        enter_on(qtbot, cancel)
    assert demo_registry.host not in window.registries.model.hosts


def test_tab_leaves_a_table_and_enter_lists_a_layers_files(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> None:
    """The keyboard gets out of a table (Tab goes to the next control, not round its
    cells) and Enter on a layer does what a double-click does; what says how to list a
    layer's files says so (it named the double-click alone)."""
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
    digest = table.model().index(0, LAYER_DIGEST)
    for said in (view.layers.summary.text(), view.layers.details.hint.text(),
                 digest.data(Qt.ItemDataRole.ToolTipRole)):
        assert "double-click" in said.lower() and "(or press Enter)" in said, said


def test_the_menus_letters_are_each_used_once(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts, sample: SampleFacts,
        scripted: ScriptedCopy, tmp_path: Path) -> None:
    """Alt+F then a letter reaches one item: each item of a menu has a letter of its own.
    The context menus (the Menu key, Shift+F10) had none, and View ▸ Retry Failed Copies
    none: a letter pressed in them did nothing."""
    from spyglass.gui.copy_drops import DraggedImage
    from spyglass.gui.dragdrop import copy_image
    from tests.gui.guitools import add_registry, wait_repositories, wait_tags
    from tests.gui.scripted import FakeClock, start_scripted

    menus: dict[str, QMenu] = {}
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        assert menu is not None
        menus[menu_action.text()] = menu
    # LOCAL: a place's menu and an image's
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    image = window.tree.currentIndex()
    for name, index in (("place", image.parent()), ("image", image)):
        local = window.context_menu(index)
        assert local is not None
        menus[f"LOCAL {name}"] = local
    # REGISTRIES: a registry's, a repository's (with Paste Image Here: an image was
    # copied), a tag's, and on no row; a tag's Copy button
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    assert "demo/app" in wait_repositories(qtbot, window, host)
    browser = window.registries
    model = browser.model
    browser.select(model.repository_index(host, "demo/app"))
    tag = wait_tags(qtbot, window, host, "demo/app")[0]
    copy_image(DraggedImage("oci:/somewhere:app", "app"))
    for name, index in (("registry", model.registry_index(host)),
                        ("repository", model.repository_index(host, "demo/app")),
                        ("tag", model.tag_index(host, "demo/app", tag)),
                        ("no row", QModelIndex())):
        menus[f"REGISTRIES {name}"] = browser.actions.tree_menu(index)
    assert "Paste Image Here" in menu_items(menus["REGISTRIES registry"])
    copy_menu = browser.repository_page.copy_button.menu()
    assert copy_menu is not None
    menus["Copy button"] = copy_menu
    # a row of the Transfers
    start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    transfers = window.copying.panel.context_menu()
    assert transfers is not None
    menus["Transfers"] = transfers
    for name, menu in menus.items():
        items = [action.text() for action in menu.actions() if not action.isSeparator()]
        letters = menu_letters(menu)
        assert len(letters) == len(items), (name, items)  # each has one
        assert len(letters) == len(set(letters)), (name, letters)


def test_the_dialogs_letters_are_each_used_once(window: MainWindow) -> None:
    """Alt+C in the Copy dialog went to Compression and to GNOME's &Cancel in turn, and
    did neither; the Add Registry dialog's fields had no letters at all."""
    copy = window.copying.open_dialog(None)
    letters = mnemonics(copy)
    assert len(letters) == len(set(letters)), letters
    copy.reject()
    add = window.registries.add_registry()
    letters = mnemonics(add)
    assert len(letters) == len(set(letters)), letters
    assert {"r", "u", "p", "i"} <= set(letters)  # each field and the box has one
    # a reader hears the label without its "&"
    interface = QAccessible.queryAccessibleInterface(add.password_edit)
    assert interface is not None
    assert interface.text(QAccessible.Text.Name) == "Password or token:"
    add.reject()


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


def test_home_and_end_go_to_the_first_and_last_row_of_a_table(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts,
        sample: SampleFacts) -> None:
    """End moved along the row, to its last column (nothing to see), in the tables of
    tags, platforms, layers and history, and Home back; only Ctrl+End reached the last
    tag, where the repositories list and the trees go there on End."""
    from spyglass.gui.views.image_view import HISTORY, LAYERS, PLATFORMS
    from tests.gui.guitools import add_registry, wait_repositories, wait_tags

    window.show()
    qtbot.waitExposed(window)
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    tables = []
    for tab in (PLATFORMS, LAYERS, HISTORY):
        view.tabs.setCurrentIndex(tab)
        tables.append(view.tabs.currentWidget().findChild(QTableView))
        check_home_and_end(qtbot, tables[-1])
    add_registry(qtbot, window, demo_registry.host, insecure=True)
    model = window.registries.model
    assert "demo/app" in wait_repositories(qtbot, window, demo_registry.host)
    window.registries.select(model.repository_index(demo_registry.host, "demo/app"))
    assert len(wait_tags(qtbot, window, demo_registry.host, "demo/app")) == 4
    check_home_and_end(qtbot, window.registries.repository_page.table)


def check_home_and_end(qtbot: QtBot, table: QTableView) -> None:
    rows = table.model().rowCount(table.rootIndex())
    assert rows >= 2, table.accessibleName()
    table.window().activateWindow()  # (after a dialog, say)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is table.window(), timeout=WAIT_MS)
    table.setFocus()
    table.setCurrentIndex(table.model().index(0, 1, table.rootIndex()))
    qtbot.waitUntil(table.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(table, Qt.Key.Key_End)
    current = table.currentIndex()
    assert (current.row(), current.column()) == (rows - 1, 1), table.accessibleName()
    assert table.selectionModel().isRowSelected(rows - 1, table.rootIndex())
    qtbot.keyClick(table, Qt.Key.Key_Home)
    assert (table.currentIndex().row(), table.currentIndex().column()) == (0, 1)
    assert table.selectionModel().isRowSelected(0, table.rootIndex())


def test_tabbing_into_the_other_tree_keeps_the_image_shown(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts,
        sample: SampleFacts) -> None:
    """Tab from the registries into LOCAL gives LOCAL the focus, and nothing else: Qt
    makes its first row current, which replaced the registry's image on show; a row is
    taken once it is chosen (Down, Space, a click)."""
    from tests.gui.guitools import add_registry, wait_repositories, wait_tags

    window.show()
    qtbot.waitExposed(window)
    window.open_location(sample.layout, select=False)
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    wait_repositories(qtbot, window, host)
    model, tree = window.registries.model, window.registries.tree
    tree.expand(model.repository_index(host, "demo/app"))
    wait_tags(qtbot, window, host, "demo/app")
    view = window.image_view
    with qtbot.waitSignal(view.imageShown, timeout=WAIT_MS):
        tree.setCurrentIndex(model.tag_index(host, "demo/app", "1.9"))
    assert not window.tree.currentIndex().isValid()
    shown = view.state
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    window.tree.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(window.tree.hasFocus, timeout=WAIT_MS)
    qtbot.wait(50)
    assert view.state is shown and window.content.currentWidget() is view
    assert tree.currentIndex() == model.tag_index(host, "demo/app", "1.9")
    # nor do the actions on "the current place" take that row for chosen
    assert not window.close_location_action.isEnabled()
    window.close_current_location()
    assert window.places.rowCount() == 1
    assert window.copying.current_image() is not None
    assert window.copying.current_image().label.endswith("demo/app:1.9")
    # Space chooses the row the focus is on: the layout's summary, then its image
    qtbot.keyClick(window.tree, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not tree.currentIndex().isValid(), timeout=WAIT_MS)
    qtbot.keyClick(window.tree, Qt.Key.Key_Right)  # open the layout
    with qtbot.waitSignal(view.imageShown, timeout=WAIT_MS):
        qtbot.keyClick(window.tree, Qt.Key.Key_Down)
    assert view.state is not None and view.state is not shown


def test_ctrl_page_down_switches_the_image_tabs_from_the_sidebar(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> None:
    window.show()
    qtbot.waitExposed(window)
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    window.activateWindow()
    window.tree.setFocus()
    qtbot.waitUntil(window.tree.hasFocus, timeout=WAIT_MS)
    first = view.tabs.currentIndex()
    qtbot.keyClick(window.tree, Qt.Key.Key_PageDown, Qt.KeyboardModifier.ControlModifier)
    assert view.tabs.currentIndex() == first + 1
    qtbot.keyClick(window.tree, Qt.Key.Key_PageUp, Qt.KeyboardModifier.ControlModifier)
    assert view.tabs.currentIndex() == first
    assert window.tree.hasFocus()  # the focus stays where it was


def test_the_keyboard_starts_in_the_local_tree(qtbot: QtBot, window: MainWindow,
                                                sample: SampleFacts) -> None:
    # the arrows browse at once (the focus was on the Add-a-registry button, where Space
    # opened its dialog)
    window.open_location(sample.layout, select=True)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    qtbot.waitUntil(window.tree.hasFocus, timeout=WAIT_MS)


def test_enter_on_test_connection_tests(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts) -> None:
    # Enter on the focused button pressed Add instead: the registry was added untested
    window.show()
    qtbot.waitExposed(window)
    dialog = window.registries.add_registry()
    qtbot.keyClicks(dialog.host_edit, demo_registry.host)
    dialog.insecure_box.setChecked(True)
    clicks: list[str] = []
    dialog.test_button.clicked.connect(lambda: clicks.append("test"))
    dialog.accept_button.clicked.connect(lambda: clicks.append("add"))
    dialog.test_button.setFocus()
    qtbot.keyClick(dialog.test_button, Qt.Key.Key_Return)
    assert clicks == ["test"]
    qtbot.waitUntil(lambda: not dialog.testing, timeout=WAIT_MS)
    assert dialog.isVisible() and dialog.result_text.startswith("Connected\n")
    assert window.registries.model.hosts == []  # (Enter in a field adds: the test above)
    dialog.reject()


def test_ctrl_w_closes_the_location(qtbot: QtBot, window: MainWindow,
                                    sample: SampleFacts) -> None:
    # the README promises Ctrl+W; the platform's Close alone is Ctrl+F4 on some
    assert QKeySequence("Ctrl+W") in window.close_location_action.shortcuts()


def test_enter_on_a_focused_button_of_the_window_presses_it(
        qtbot: QtBot, demo: MainWindow) -> None:
    """Qt presses a button on Enter in a dialog only: in the window, Space did, Enter nothing."""
    view = demo.image_view
    button = view.overview.copy_button("Digest")
    assert isinstance(button, QToolButton)
    enter_on(qtbot, button)
    assert demo.status_text.startswith("Copied sha256:")
    view.tabs.setCurrentWidget(view.layers)
    layers = view.layers
    select_row(layers.table, 0)
    with qtbot.waitSignal(layers.filesRequested, timeout=WAIT_MS) as asked:
        enter_on(qtbot, layers.files_button)
    assert asked.args[0] is layers.selected()
    layers.files_button.setEnabled(False)  # a button off takes Enter, and does nothing
    with qtbot.assertNotEmitted(layers.filesRequested):
        qtbot.keyClick(layers.files_button, Qt.Key.Key_Return)


def test_every_button_of_the_window_takes_enter(demo: MainWindow) -> None:
    """Each button the keyboard reaches (not a check box; not a dialog's, nor a tab bar's
    scroll arrows, Qt's own) is pressed by Enter."""
    demo.copying.show_transfers_action.trigger()
    dialogs = demo.findChildren(QDialog)
    missing = [f"{type(b).__name__} {b.text() or b.accessibleName()!r}"
               for b in demo.findChildren(QAbstractButton)
               if b.focusPolicy() & Qt.FocusPolicy.TabFocus and not b.isCheckable()
               and not isinstance(b.parentWidget(), QTabBar)
               and not any(d.isAncestorOf(b) for d in dialogs)
               and not presses_on_enter(b)]
    assert missing == []


def test_tab_skips_the_layer_details_for_their_copy_buttons_scrolled_into_sight(
        qtbot: QtBot, demo: MainWindow) -> None:
    """The details' scroll area was a Tab stop with no name and no focus frame."""
    view = demo.image_view
    view.tabs.setCurrentWidget(view.layers)
    layers = view.layers
    select_row(layers.table, 0)
    area = layers.details_area
    assert not area.focusPolicy() & Qt.FocusPolicy.TabFocus
    area.setFixedHeight(area.minimumHeight())  # (a short window: the details scroll)
    bar = area.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=WAIT_MS)
    bar.setValue(bar.maximum())
    button = layers.details.copy_button("Digest")
    assert button.visibleRegion().isEmpty()
    button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: not button.visibleRegion().isEmpty(), timeout=WAIT_MS)


def in_sight(area: QScrollArea, widget: QWidget) -> bool:
    viewport = area.viewport()
    return viewport.rect().contains(QRect(widget.mapTo(viewport, QPoint(0, 0)),
                                          widget.size()))


def test_the_overview_scrolls_to_a_value_the_focus_comes_into_from_outside(
        qtbot: QtBot, demo: MainWindow) -> None:
    """Qt scrolls a scroll area to a child only as Tab moves between its children: Tab
    from the tab bar (the pane scrolled down) and Shift+Tab back from the Transfers panel
    put the focus on a value out of sight, and the pane did not move."""
    demo.resize(1200, 500)
    demo.activateWindow()
    qtbot.waitExposed(demo)
    view = demo.image_view
    overview = view.overview
    bar = overview.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=WAIT_MS)
    bar.setValue(bar.maximum())  # (read down to the labels)
    tabs = view.tabs.tabBar()
    tabs.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(tabs.hasFocus, timeout=WAIT_MS)
    for _ in range(5):  # (past the tab bar's scroll buttons, if any)
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        if overview.isAncestorOf(QApplication.focusWidget()):
            break
    first = QApplication.focusWidget()
    assert overview.isAncestorOf(first)
    assert in_sight(overview, first)

    table = demo.copying.panel.table
    demo.copying.show_panel()
    table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(table.hasFocus, timeout=WAIT_MS)
    for _ in range(5):  # (the panel's ✕)
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Backtab,
                       Qt.KeyboardModifier.ShiftModifier)
        if overview.isAncestorOf(QApplication.focusWidget()):
            break
    last = QApplication.focusWidget()
    assert overview.isAncestorOf(last) and last is not first
    assert in_sight(overview, last)


def test_file_menu_edits_the_chosen_registry(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts,
        sample: SampleFacts) -> None:
    """Edit Registry… (the way to sign in to a registry listed already: Add Registry…
    refuses its host) was only in the registry row's context menu. File ▸ Edit Registry…
    edits the chosen row's registry (its own row, a repository's or a tag's), and is off
    while none is chosen."""
    from tests.gui.guitools import add_registry, wait_repositories

    browser = window.registries
    action = browser.edit_action
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    assert action in file_menu.actions()
    assert not action.isEnabled()  # no registry yet
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    assert "demo/app" in wait_repositories(qtbot, window, host)
    model = browser.model
    for index in (model.registry_index(host), model.repository_index(host, "demo/app")):
        browser.select(index)
        assert action.isEnabled()
    action.trigger()
    dialog = browser.dialog
    assert dialog is not None and dialog.host_edit.text() == host
    dialog.reject()
    window.open_location(sample.layout, select=True)  # LOCAL took the choice
    qtbot.waitUntil(lambda: not action.isEnabled(), timeout=WAIT_MS)
