"""The Transfers table's context menu: opened by a right click on a row, the Menu key and
Shift+F10; what it offers for a running, failed, cancelled and done copy; and what each of
its items does (the clipboard, the rows, the sidebar).

The copies are scripted (:class:`~tests.gui.scripted.ScriptedCopy`): the window's own
manager runs them, and the test says how each ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from spyglass.core.copy import Planned
from spyglass.core.errors import SpyglassError
from spyglass.core.settings import RegistrySettings, Settings
from spyglass.gui.main_window import MainWindow
from spyglass.gui.transfers import Transfer, TransferState
from spyglass.gui.views.transfers_panel import TransfersPanel
from tests.gui.guitools import (
    WAIT_MS,
    item_text,
    menu_items,
    menu_opened_by,
    press_menu_key,
    right_click,
)
from tests.gui.scripted import (
    SOURCE,
    TOP,
    FakeClock,
    ScriptedCopy,
    blob,
    feed,
    finish,
    plan_of,
    start_scripted,
)

pytestmark = pytest.mark.gui

REFUSED = "The registry registry.example refused the push of team/app: denied."

NATIVE = QKeySequence.SequenceFormat.NativeText

ROW_ITEMS = ("Cancel", "Retry", "Details…", "Copy Source Reference",
             "Copy Destination Reference", "Copy Error", "Show Destination",
             "Remove from List", "Clear Finished")
"""The menu's items, in their order (separators left out)."""


def item(menu: QMenu, text: str) -> Callable[[], None]:
    action = next(a for a in menu.actions() if item_text(a) == text)
    return action.trigger


def enabled(*texts: str) -> dict[str, bool]:
    return {text: text in texts for text in ROW_ITEMS}


def ended(qtbot: QtBot, window: MainWindow, script: ScriptedCopy, folder: Path,
          ending: BaseException | None, destination: str = "") -> Transfer:
    """A scripted copy into ``folder`` (or to ``destination``), done (``ending`` None) or
    failed with ``ending``."""
    script.events = None
    transfer = start_scripted(qtbot, window, script, FakeClock(), folder,
                              destination=destination)
    feed(qtbot, window, script, Planned(plan_of(blob("c", 10), blob(f"layer {folder}", 10))))
    finish(qtbot, window, script, TOP if ending is None else ending)
    state = TransferState.DONE if ending is None else TransferState.FAILED
    qtbot.waitUntil(lambda: transfer.state is state, timeout=WAIT_MS)
    return transfer


@pytest.fixture
def rows(qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy,
         tmp_path: Path) -> Iterator[dict[str, Transfer]]:
    """Four rows of the window's Transfers panel: a copy done, one failed, one cancelled
    and one running (last), each into a folder of its own."""
    done = ended(qtbot, window, scripted, tmp_path / "done", None)
    failed = ended(qtbot, window, scripted, tmp_path / "failed", SpyglassError(REFUSED))
    scripted.events = None
    cancelled = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path / "cancelled")
    window.copying.manager.cancel(cancelled)  # the script stops at the cancelled token
    qtbot.waitUntil(lambda: cancelled.state is TransferState.CANCELLED, timeout=WAIT_MS)
    scripted.events = None
    running = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path / "running")
    yield {"done": done, "failed": failed, "cancelled": cancelled, "running": running}
    window.copying.manager.cancel(running)


def shown_panel(qtbot: QtBot, window: MainWindow) -> TransfersPanel:
    """The panel, shown, with the keyboard in its table."""
    qtbot.waitExposed(window)
    window.copying.show_panel()
    panel = window.copying.panel
    panel.table.setFocus()
    qtbot.waitUntil(panel.table.hasFocus, timeout=WAIT_MS)
    return panel


# -- what it offers


def test_the_menu_offers_what_each_row_allows(
        qtbot: QtBot, window: MainWindow, rows: dict[str, Transfer]) -> None:
    """Cancel, Retry and Details as the buttons allow them; Copy Error for a failed copy;
    Remove from List for a finished one; Show Destination where the sidebar lists it."""
    panel = window.copying.panel
    every = ("Details…", "Copy Source Reference", "Copy Destination Reference",
             "Clear Finished")
    expected = {
        # the copy done opened its new place in LOCAL, as one does
        "done": enabled(*every, "Show Destination", "Remove from List"),
        "failed": enabled(*every, "Retry", "Copy Error", "Remove from List"),
        "cancelled": enabled(*every, "Retry", "Remove from List"),
        "running": enabled(*every, "Cancel"),
    }
    for name, transfer in rows.items():
        panel.select(transfer)
        menu = panel.context_menu()
        assert menu is not None
        assert menu_items(menu) == expected[name], name
        assert [item_text(a) for a in menu.actions() if not a.isSeparator()] == list(ROW_ITEMS)


def test_the_menus_keys_are_the_tables_own(
        qtbot: QtBot, window: MainWindow, rows: dict[str, Transfer]) -> None:
    """The menu shows Delete, Ctrl+R and Enter beside the table's actions of those keys
    (the same actions): pressed in the table, each does what its item does."""
    panel = shown_panel(qtbot, window)
    panel.select(rows["running"])
    menu = panel.context_menu()
    assert menu is not None
    shown = {item_text(a): a.shortcut().toString(NATIVE) for a in menu.actions()
             if not a.shortcut().isEmpty()}
    assert shown == {"Cancel": QKeySequence(QKeySequence.StandardKey.Delete).toString(NATIVE),
                     "Retry": "Ctrl+R", "Details…": "Enter"}
    for action in menu.actions():
        if not action.shortcut().isEmpty():
            assert action in panel.table.actions()
            assert action.shortcutContext() == Qt.ShortcutContext.WidgetShortcut
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert rows["running"].cancel_requested
    panel.select(rows["failed"])
    qtbot.keyClick(panel.table, Qt.Key.Key_Enter)
    assert [d.transfer for d in panel.details] == [rows["failed"]]


def test_an_empty_list_has_no_menu(window: MainWindow) -> None:
    assert window.copying.panel.context_menu() is None


# -- how it opens


def test_the_menu_key_opens_the_menu_of_the_selected_row(
        qtbot: QtBot, window: MainWindow, rows: dict[str, Transfer]) -> None:
    """The menu is the selected row's: the table's header shifts the point Qt gives (the
    view's, not the viewport's), which chose the row below."""
    panel = shown_panel(qtbot, window)
    panel.select(rows["failed"])
    shown = menu_opened_by(qtbot, lambda: press_menu_key(panel.table))
    assert shown["Copy Error"] and shown["Retry"]
    assert panel.current() is rows["failed"]


def test_shift_f10_opens_the_menu_of_the_selected_row(
        qtbot: QtBot, window: MainWindow, rows: dict[str, Transfer]) -> None:
    panel = shown_panel(qtbot, window)
    panel.select(rows["running"])
    shown = menu_opened_by(qtbot, lambda: qtbot.keyClick(
        panel.table, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier))
    assert shown["Cancel"] and not shown["Remove from List"]
    assert panel.current() is rows["running"]


def test_a_right_click_selects_the_row_and_opens_its_menu(
        qtbot: QtBot, window: MainWindow, rows: dict[str, Transfer]) -> None:
    panel = shown_panel(qtbot, window)
    panel.select(rows["running"])
    row = window.copying.manager.row_of(rows["failed"])
    shown = menu_opened_by(qtbot, partial(right_click, panel.table,
                                          panel.sorted.mapFromSource(
                                              panel.model.index(row, 0))))
    assert panel.current() is rows["failed"]
    assert shown["Copy Error"] and not shown["Cancel"]


# -- what its items do


def test_copy_source_destination_and_error(
        qtbot: QtBot, window: MainWindow, rows: dict[str, Transfer]) -> None:
    panel = window.copying.panel
    failed = rows["failed"]
    panel.select(failed)
    clip = QGuiApplication.clipboard()
    for text, expected in (("Copy Source Reference", SOURCE),
                           ("Copy Destination Reference", failed.request.destination)):
        menu = panel.context_menu()
        assert menu is not None
        item(menu, text)()
        assert clip.text() == expected
        assert window.status_text == f"Copied {expected}"
    menu = panel.context_menu()
    assert menu is not None
    item(menu, "Copy Error")()
    assert clip.text() == REFUSED
    assert window.status_text == "Copied why copying team/app:2.0 failed."


def test_a_name_a_paste_would_read_otherwise_is_copied_as_a_shell_takes_it(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """As the places tree's Copy Image Name does."""
    destination = f"oci:{tmp_path}/it's:app:1"
    ended(qtbot, window, scripted, tmp_path, SpyglassError(REFUSED), destination)
    menu = window.copying.panel.context_menu()
    assert menu is not None
    item(menu, "Copy Destination Reference")()
    assert QGuiApplication.clipboard().text() == f"'oci:{tmp_path}/it'\\''s:app:1'"


def test_remove_from_list_and_clear_finished(
        qtbot: QtBot, window: MainWindow, rows: dict[str, Transfer]) -> None:
    panel = window.copying.panel
    manager = window.copying.manager
    panel.select(rows["failed"])
    menu = panel.context_menu()
    assert menu is not None
    item(menu, "Remove from List")()
    assert manager.transfers == [rows["done"], rows["cancelled"], rows["running"]]
    assert panel.summary.text() == "1 running · 1 done · 1 cancelled"
    panel.select(rows["running"])
    manager.remove(rows["running"])  # a copy not finished stays
    menu = panel.context_menu()
    assert menu is not None
    item(menu, "Clear Finished")()
    assert manager.transfers == [rows["running"]]


def local_copy(qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, place: Path,
               tmp_path: Path) -> Transfer:
    return ended(qtbot, window, scripted, tmp_path, SpyglassError(REFUSED),
                 f"oci:{place}:copied:1")


def test_show_destination_selects_the_place_in_local(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        sample_layout_copy: Path) -> None:
    """The place the copy goes into, open in LOCAL, is chosen there (what it holds shows),
    with the keyboard; closed, it cannot be shown."""
    window.open_location(sample_layout_copy, select=False)
    registry_row = window.registries.chosen_index()
    transfer = local_copy(qtbot, window, scripted, sample_layout_copy, tmp_path)
    panel = shown_panel(qtbot, window)
    panel.select(transfer)
    menu = panel.context_menu()
    assert menu is not None
    item(menu, "Show Destination")()
    place = window.places.index(0, 0)
    assert window.chosen_place() == place
    qtbot.waitUntil(window.tree.hasFocus, timeout=WAIT_MS)
    assert window.registries.chosen_index() == registry_row
    window.close_current_location()
    menu = panel.context_menu()
    assert menu is not None
    assert not menu_items(menu)["Show Destination"]
    assert not panel.show_destination(transfer)
    assert "is not listed in the sidebar" in window.status_text


@pytest.fixture
def with_registry(make_window: Callable[..., MainWindow]) -> MainWindow:
    """A window whose REGISTRIES list a registry nobody answers (loopback, a closed port)
    with the repository team/app opened by name."""
    entry = RegistrySettings("127.0.0.1:9", insecure=True, repositories=["team/app"])
    return make_window(Settings(first_run_done=True, registries=[entry]))


@pytest.mark.parametrize(("repository", "shown"), [
    ("team/app", "team/app"),  # its repository, listed
    ("other/app", "127.0.0.1:9"),  # a repository not listed: its registry
])
def test_show_destination_selects_the_repository_or_registry(
        qtbot: QtBot, with_registry: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        repository: str, shown: str) -> None:
    window = with_registry
    transfer = ended(qtbot, window, scripted, tmp_path, SpyglassError(REFUSED),
                     f"docker://127.0.0.1:9/{repository}:1")
    panel = shown_panel(qtbot, window)
    panel.select(transfer)
    menu = panel.context_menu()
    assert menu is not None
    item(menu, "Show Destination")()
    chosen = window.registries.chosen_index()
    assert chosen.data() == shown
    qtbot.waitUntil(window.registries.tree.hasFocus, timeout=WAIT_MS)
    assert window.chosen_place() == QModelIndex()


def test_a_destination_the_sidebar_does_not_list_cannot_be_shown(
        qtbot: QtBot, with_registry: MainWindow, scripted: ScriptedCopy,
        tmp_path: Path) -> None:
    transfer = ended(qtbot, with_registry, scripted, tmp_path, SpyglassError(REFUSED),
                     "docker://registry.example/team/app:1")
    panel = with_registry.copying.panel
    panel.select(transfer)
    menu = panel.context_menu()
    assert menu is not None
    assert not menu_items(menu)["Show Destination"]



# -- several rows at once


def shown_row(panel: TransfersPanel, transfer: Transfer) -> QModelIndex:
    return panel.sorted.mapFromSource(panel.model.index(panel.manager.row_of(transfer), 0))


def choose(qtbot: QtBot, panel: TransfersPanel, *transfers: Transfer) -> None:
    """Click the first row, then Ctrl+click each of the others, as a person picks them."""
    for number, transfer in enumerate(transfers):
        modifier = Qt.KeyboardModifier.ControlModifier if number else \
            Qt.KeyboardModifier.NoModifier
        qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, modifier,
                         panel.table.visualRect(shown_row(panel, transfer)).center())
    assert {t.id for t in panel.selected()} == {t.id for t in transfers}


def test_retry_runs_every_selected_copy_that_stopped(
        qtbot: QtBot, window: MainWindow, rows: dict[str, Transfer]) -> None:
    """The failed and the cancelled copy, chosen with Ctrl+click, both run again from
    one Ctrl+R (the copy done among them is left as it is); the status bar counts them."""
    panel = shown_panel(qtbot, window)
    choose(qtbot, panel, rows["failed"], rows["done"], rows["cancelled"])
    assert panel.retry_button.isEnabled()
    assert not panel.cancel_button.isEnabled()  # nothing chosen is running
    assert panel.current() is rows["cancelled"]  # the row clicked last
    qtbot.keyClick(panel.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    try:
        assert rows["failed"].attempts == 2 and rows["cancelled"].attempts == 2
        assert not rows["failed"].state.finished and not rows["cancelled"].state.finished
        assert rows["done"].state is TransferState.DONE and rows["done"].attempts == 1
        assert window.status_text == "Copying 2 copies again…"
        assert panel.cancel_button.isEnabled() and not panel.retry_button.isEnabled()
    finally:
        window.copying.manager.cancel_all()


def test_cancel_cancels_every_selected_copy_still_running(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        rows: dict[str, Transfer]) -> None:
    """Two running copies and a finished one chosen: Delete cancels the two."""
    scripted.events = None
    second = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path / "second")
    panel = shown_panel(qtbot, window)
    choose(qtbot, panel, rows["running"], rows["done"], second)
    assert panel.cancel_button.isEnabled() and not panel.retry_button.isEnabled()
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert rows["running"].cancel_requested and second.cancel_requested
    assert rows["done"].state is TransferState.DONE
    assert not panel.cancel_button.isEnabled()


def test_a_new_copy_keeps_several_chosen_rows_chosen(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        rows: dict[str, Transfer]) -> None:
    """A copy asked for while a person has several rows chosen does not take their choice
    away (one chosen row is still left for the new one's, as before)."""
    panel = shown_panel(qtbot, window)
    choose(qtbot, panel, rows["failed"], rows["cancelled"])
    scripted.events = None
    new = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path / "new")
    assert panel.selected() == [rows["failed"], rows["cancelled"]]
    window.copying.manager.cancel(new)
    choose(qtbot, panel, rows["done"])
    scripted.events = None
    newer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path / "newer")
    assert panel.selected() == [newer]
    window.copying.manager.cancel(newer)


def test_the_menu_over_a_chosen_row_acts_on_every_chosen_row(
        qtbot: QtBot, window: MainWindow, rows: dict[str, Transfer]) -> None:
    """A right click on one of several chosen rows keeps them chosen: the references of
    each go to the clipboard one a line, Remove from List takes the finished ones off,
    and Copy Error and Show Destination are about the row clicked."""
    panel = shown_panel(qtbot, window)
    manager = window.copying.manager
    choose(qtbot, panel, rows["done"], rows["failed"], rows["running"])
    # (on the done row: QTest takes a right click where the last one was, in another
    # test moments ago by its clock, for a double click, which opens no menu)
    shown = menu_opened_by(qtbot, partial(right_click, panel.table,
                                          shown_row(panel, rows["done"])))
    assert len(panel.selected()) == 3
    assert panel.current() is rows["done"]
    assert not shown["Copy Error"] and shown["Show Destination"]
    assert shown["Cancel"] and shown["Retry"] and shown["Remove from List"]
    assert "Copy Source References" in shown and "Copy Destination References" in shown
    menu = panel.context_menu()
    assert menu is not None
    item(menu, "Copy Destination References")()
    chosen = (rows["done"], rows["failed"], rows["running"])
    assert QGuiApplication.clipboard().text() == "\n".join(
        t.request.destination for t in chosen)
    assert window.status_text == \
        "Copied the destination references of 3 copies, one a line."
    menu = panel.context_menu()
    assert menu is not None
    item(menu, "Remove from List")()
    assert manager.transfers == [rows["cancelled"], rows["running"]]


def test_a_right_click_on_a_row_not_chosen_chooses_it_alone(
        qtbot: QtBot, window: MainWindow, rows: dict[str, Transfer]) -> None:
    panel = shown_panel(qtbot, window)
    choose(qtbot, panel, rows["done"], rows["failed"])
    menu_opened_by(qtbot, partial(right_click, panel.table, shown_row(panel, rows["running"])))
    assert panel.selected() == [rows["running"]]


def test_ctrl_a_chooses_every_row(
        qtbot: QtBot, window: MainWindow, rows: dict[str, Transfer]) -> None:
    panel = shown_panel(qtbot, window)
    qtbot.keyClick(panel.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert panel.selected() == list(rows.values())
    assert panel.cancel_button.isEnabled() and panel.retry_button.isEnabled()


def test_the_failure_line_follows_the_current_row_within_the_choice(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """Two failed copies chosen: the current row moved by Ctrl+Up or a right click on a
    chosen row changes no selection, and the line above the rows kept the other row's
    failure (Details and Copy Error acting on this one); its ✕ then dismissed the failure
    of the current row, never shown, and the one shown came back."""
    first = ended(qtbot, window, scripted, tmp_path / "first",
                  SpyglassError("The first registry refused it."))
    second = ended(qtbot, window, scripted, tmp_path / "second",
                   SpyglassError("The second registry refused it."))
    panel = shown_panel(qtbot, window)
    choose(qtbot, panel, first, second)
    assert panel.current() is second and "second registry" in panel.failure.text
    qtbot.keyClick(panel.table, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert len(panel.selected()) == 2 and panel.current() is first
    assert "first registry" in panel.failure.text
    # the menu opened on the other chosen row: the line says that row's failure
    shown = menu_opened_by(qtbot, partial(right_click, panel.table, shown_row(panel, second)))
    assert shown["Copy Error"] and len(panel.selected()) == 2
    assert panel.current() is second and "second registry" in panel.failure.text
    # the line's ✕ dismisses the failure it shows: the other's comes back on its own
    qtbot.keyClick(panel.table, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert panel.current() is first and "first registry" in panel.failure.text
    qtbot.mouseClick(panel.failure.close_button, Qt.MouseButton.LeftButton)
    assert panel.failure.isHidden()
    choose(qtbot, panel, second)
    assert "second registry" in panel.failure.text
    choose(qtbot, panel, first)
    assert panel.failure.isHidden()
