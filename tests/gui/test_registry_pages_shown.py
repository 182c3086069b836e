"""What the registry and repository pages and the registries tree show, as a person sees
them: the tag icons, "Same image as", a filter that matches nothing, a registry that
stopped answering, against a real registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from spyglass.gui import icons
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.registry_rows import ALIASES, DIGEST_ROLE
from tests.gui.guitools import WAIT_MS, add_registry, wait_repositories, wait_tags
from tests.helpers.registry import RegistryServer, seed_tags

pytestmark = pytest.mark.gui


@pytest.fixture
def server(registry_binary: str) -> Iterator[RegistryServer]:
    """A registry of this test's own: ``many/app`` (8 tags of one image) and
    ``one/app`` (one tag)."""
    with RegistryServer(binary=registry_binary) as running:
        seed_tags(running, "many/app", 8)
        seed_tags(running, "one/app", 1, prefix="only-")
        yield running


def open_repository(qtbot: QtBot, window: MainWindow, host: str, name: str) -> list[str]:
    """Select the repository in the tree; wait for its tags and their digests."""
    model = window.registries.model
    window.registries.tree.setCurrentIndex(model.repository_index(host, name))
    tags = wait_tags(qtbot, window, host, name)
    qtbot.waitUntil(lambda: all(
        model.data(model.tag_index(host, name, tag), DIGEST_ROLE) for tag in tags),
        timeout=WAIT_MS)
    return tags


def test_every_tag_wears_one_icon_and_many_others_lead_with_their_count(
        qtbot: QtBot, make_window: Callable[..., MainWindow], server: RegistryServer) -> None:
    """A tag that shared its image wore a stacked icon, which read as "multi-platform"
    (an index wore the single one); and "Same image as" named the first of 600 others,
    cut long before the count after them. One tag icon for all; past two others, the
    count comes first."""
    window = make_window()
    host = server.host
    add_registry(qtbot, window, host, insecure=True)
    assert wait_repositories(qtbot, window, host) == ["many/app", "one/app"]
    model = window.registries.model
    page = window.registries.repository_page
    tags = open_repository(qtbot, window, host, "many/app")
    assert page.tag_texts(ALIASES)[0] == ("7 other tags: tag-00001, tag-00002, tag-00003, "
                                          "tag-00004, …")
    shared = model.data(model.tag_index(host, "many/app", tags[0]),
                        Qt.ItemDataRole.DecorationRole)
    open_repository(qtbot, window, host, "one/app")
    assert page.tag_texts(ALIASES) == [""]
    alone = model.data(model.tag_index(host, "one/app", "only-00000"),
                       Qt.ItemDataRole.DecorationRole)
    assert shared.cacheKey() == alone.cacheKey() == icons.tag_icon().cacheKey()
    window.close()


def test_a_filter_that_matches_nothing_says_so_in_the_page_with_a_way_back(
        qtbot: QtBot, make_window: Callable[..., MainWindow], server: RegistryServer) -> None:
    """A filter matching no tag left a blank table, with only the small "0 of 8 tags"
    at the right to say why; the same for repositories. The page says it, in the view,
    with Clear Filter."""
    window = make_window()
    window.show()
    host = server.host
    add_registry(qtbot, window, host, insecure=True)
    wait_repositories(qtbot, window, host)
    page = window.registries.repository_page
    open_repository(qtbot, window, host, "many/app")
    qtbot.keyClicks(page.filter, "zzz-nothing")
    assert page.stack.currentWidget() is page.panel and page.panel.isVisible()
    assert page.panel.title.text() == "No tag matches “zzz-nothing”"
    assert page.panel.body.text() == "Clear the filter to see all 8 tags."
    assert page.clear_filter_button.isVisible() and not page.retry_button.isVisible()
    assert page.count.text() == "0 of 8 tags"
    qtbot.mouseClick(page.clear_filter_button, Qt.MouseButton.LeftButton)
    assert page.filter.text() == "" and page.stack.currentWidget() is page.table
    assert len(page.tag_texts()) == 8
    # the registry's page: the same for its repositories
    model = window.registries.model
    window.registries.tree.setCurrentIndex(model.registry_index(host))
    registry_page = window.registries.registry_page
    qtbot.keyClicks(registry_page.filter, "nope")
    qtbot.waitUntil(lambda: registry_page.stack.currentWidget() is registry_page.panel,
                    timeout=WAIT_MS)
    assert registry_page.panel.title.text() == "No repository matches “nope”"
    assert registry_page.panel.body.text() == "Clear the filter to see all 2 repositories."
    assert registry_page.clear_filter_button.isVisible()
    assert not registry_page.retry_button.isVisible()
    assert not registry_page.panel_edit_button.isVisible()
    qtbot.mouseClick(registry_page.clear_filter_button, Qt.MouseButton.LeftButton)
    assert registry_page.stack.currentWidget() is registry_page.list
    window.close()


def test_a_page_with_no_list_has_no_filter_and_its_fields_line_up(
        qtbot: QtBot, make_window: Callable[..., MainWindow], server: RegistryServer) -> None:
    """An unreachable registry's page showed "Filter repositories" above its failure,
    filtering nothing, and 12 px wider than the field above it."""
    window = make_window()
    window.resize(1200, 760)
    window.show()
    host = server.host
    add_registry(qtbot, window, host, insecure=True)
    wait_repositories(qtbot, window, host)
    model = window.registries.model
    window.registries.tree.setCurrentIndex(model.registry_index(host))
    page = window.registries.registry_page
    qtbot.waitUntil(lambda: page.list.isVisible(), timeout=WAIT_MS)
    assert page.filter.isVisible()

    def right(widget: QWidget) -> int:
        return widget.mapTo(page, widget.rect().topRight()).x()

    assert right(page.filter) == right(page.open_edit)
    assert right(page.count) == right(page.open_button)
    server.stop()
    model.reload(model.registry_index(host))  # listed anew (as after Edit): none read now
    qtbot.waitUntil(lambda: page.panel.isVisible() and page.retry_button.isVisible(),
                    timeout=WAIT_MS * 4)
    assert page.panel.title.text() == f"Cannot list the repositories of {host}"
    assert not page.filter.isVisible()
    window.close()
