"""The context menus of LOCAL, REGISTRIES and a repository's Tags: the Menu key and
Shift+F10 open the menu of the row the keyboard is on, and a right click the menu of the
row clicked (the Transfers table's: tests/gui/test_transfers_menu.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView
from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.registry_rows import TAG_ROLE
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import (
    WAIT_MS,
    SampleFacts,
    add_registry,
    menu_opened_by,
    press_menu_key,
    right_click,
    show_image,
)
from tests.gui.test_registries import focus, select_table_tag
from tests.gui.test_transfers_panel import open_repository_page

pytestmark = pytest.mark.gui


def test_a_right_click_on_a_tag_opens_the_menu_for_that_tag(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts) -> None:
    """The row clicked is selected first (the table shows one repository's tags, under a
    root row: the row of that number among the registries was selected, or none)."""
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    tags = open_repository_page(qtbot, window, host, "demo/app")
    page = window.registries.repository_page
    table = page.table
    select_table_tag(qtbot, window, tags[0])
    for row in (1, 0):
        index = page.proxy.index(row, 0, table.rootIndex())
        shown = menu_opened_by(qtbot, partial(right_click, table, index))
        assert shown["Copy Reference"]
        assert page.current_tag().data(TAG_ROLE) == tags[row]


def shift_f10(view: QAbstractItemView) -> None:
    QTest.keyClick(view, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)


KEYS: dict[str, Callable[[QAbstractItemView], None]] = {
    "menu": press_menu_key, "shift+f10": shift_f10}
"""The keys that open a context menu, each pressed on a view with the focus."""


@pytest.mark.parametrize("key", KEYS)
def test_the_keys_open_the_local_trees_menu_at_its_row(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, key: str) -> None:
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    focus(qtbot, window.tree)
    shown = menu_opened_by(qtbot, lambda: KEYS[key](window.tree))
    assert "Copy Image Name" in shown  # the image row's menu, not its place's
    assert window.places.node(window.tree.currentIndex()).entry.label \
        == "spyglass-demo:1.0"


@pytest.mark.parametrize("key", KEYS)
def test_the_keys_open_the_registries_trees_menu_at_its_row(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts, key: str) -> None:
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    tree = window.registries.tree
    tree.setCurrentIndex(window.registries.model.registry_index(host))
    focus(qtbot, tree)
    shown = menu_opened_by(qtbot, lambda: KEYS[key](tree))
    assert "Copy Host" in shown  # the registry row's
    assert tree.currentIndex() == window.registries.model.registry_index(host)


@pytest.mark.parametrize("key", KEYS)
def test_the_keys_open_the_tag_tables_menu_for_the_tag_selected(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts, key: str) -> None:
    """Not for the tag below it: the table's header shifted the point Qt gives the Menu
    key's event (the view's, not the viewport's) by about a row."""
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    tags = open_repository_page(qtbot, window, host, "demo/app")
    page = window.registries.repository_page
    select_table_tag(qtbot, window, tags[0])
    focus(qtbot, page.table)
    shown = menu_opened_by(qtbot, lambda: KEYS[key](page.table))
    assert shown["Copy Reference"]
    qtbot.waitUntil(lambda: page.current_tag().data(TAG_ROLE) == tags[0], timeout=WAIT_MS)


def test_a_menu_item_acts_on_its_row_when_a_row_above_went_while_it_was_open(
        qtbot: QtBot, window: MainWindow) -> None:
    """The tree's menu kept its row as a plain index: a row above going while the menu
    was open (a delete, a refresh ending) made "Remove from List" on c/three remove
    d/four. It acts on its own row, and on nothing once that row is gone."""
    from spyglass.core.settings import RegistrySettings
    from spyglass.gui.models.registry_rows import REPOSITORY_ROLE
    from tests.gui.test_registry_models import HOST, FakeClient, FakeConnection

    model = window.registries.model
    model.add_registry(RegistrySettings(HOST, repositories=["a/one", "b/two", "c/three",
                                                            "d/four"]),
                       FakeConnection(FakeClient()))  # type: ignore[arg-type]
    registry = model.registry_index(HOST)

    def names() -> list[str]:
        return [model.data(model.index(row, 0, registry), REPOSITORY_ROLE)
                for row in range(model.rowCount(registry))]

    def remove_item(name: str) -> Callable[[], None]:
        menu = window.registries.actions.tree_menu(model.repository_index(HOST, name))
        return next(a for a in menu.actions() if a.text() == "Re&move from List").trigger

    remove = remove_item("c/three")
    model.forget_repository(model.repository_index(HOST, "a/one"))
    remove()
    assert names() == ["b/two", "d/four"]
    remove = remove_item("d/four")
    model.forget_repository(model.repository_index(HOST, "d/four"))
    remove()  # (gone already: nothing else goes)
    assert names() == ["b/two"]
