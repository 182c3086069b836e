"""The context menus of REGISTRIES' Tags table: a right click opens the menu of the tag
clicked."""

from __future__ import annotations

from functools import partial

import pytest
from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.registry_rows import TAG_ROLE
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import add_registry, menu_opened_by, right_click
from tests.gui.test_registries import select_table_tag
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
