"""What the registry and repository pages and the registries tree show, as a person sees
them: the tag icons, "Same image as", a filter that matches nothing, a registry that
stopped answering, against a real registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from spyglass.core.settings import RegistrySettings, Settings
from spyglass.gui import icons
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.registry_rows import ALIASES, DIGEST_ROLE
from tests.gui.guitools import WAIT_MS, add_registry, wait_repositories, wait_tags
from tests.helpers.registry import RegistryServer, free_port, seed_tags

pytestmark = pytest.mark.gui


@pytest.fixture
def server(registry_binary: str) -> Iterator[RegistryServer]:
    """A registry of this test's own: ``many/app`` (8 tags of one image) and
    ``one/app`` (one tag)."""
    with RegistryServer(binary=registry_binary) as running:
        seed_tags(running, "many/app", 8)
        seed_tags(running, "one/app", 1, prefix="only-")
        yield running


def same_icon(first: QIcon, second: QIcon) -> bool:
    """Whether two icons draw the same 16 px picture."""
    return bool(first.pixmap(16, 16).toImage() == second.pixmap(16, 16).toImage())


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


def test_a_registry_that_stopped_answering_on_reload_says_so_on_its_page_and_row(
        qtbot: QtBot, make_window: Callable[..., MainWindow], server: RegistryServer) -> None:
    """Server stopped, F5 on a repository: the page kept its tags with no mark, and only
    the status bar said why (until the next notice replaced it). The page says it in a
    banner with Try Again, and the row wears a warning, until it is listed anew."""
    window = make_window()
    window.show()
    host = server.host
    add_registry(qtbot, window, host, insecure=True)
    wait_repositories(qtbot, window, host)
    model = window.registries.model
    page = window.registries.repository_page
    tags = open_repository(qtbot, window, host, "many/app")
    repo = model.repository_index(host, "many/app")

    def icon() -> QIcon:
        decoration: QIcon = model.data(repo, Qt.ItemDataRole.DecorationRole)
        return decoration

    assert same_icon(icon(), icons.repository_icon())
    window.show_status("")
    server.stop()
    window.reload_current_location()
    qtbot.waitUntil(lambda: page.banner.isVisible(), timeout=WAIT_MS * 4)
    assert page.banner.text.startswith(f"Cannot reach the registry {host}")
    assert "The list shown is as it was read at " in page.banner.text
    assert page.banner_retry_button.isVisible()
    assert page.tag_texts() == tags  # kept
    assert same_icon(icon(), icons.warning_icon())
    assert page.banner.text in model.data(repo, Qt.ItemDataRole.ToolTipRole).replace(
        "&quot;", '"')
    assert window.status_text == ""  # (the page says it)
    # the registry's page, the same
    registry = model.registry_index(host)
    window.registries.tree.setCurrentIndex(registry)
    registry_page = window.registries.registry_page
    window.reload_current_location()
    qtbot.waitUntil(lambda: registry_page.banner.isVisible(), timeout=WAIT_MS * 4)
    assert "The list shown is as it was read at " in registry_page.banner.text
    assert registry_page.banner_retry_button.isVisible()
    assert same_icon(model.data(registry, Qt.ItemDataRole.DecorationRole),
                     icons.warning_icon())
    assert registry_page.list.isVisible() and window.status_text == ""
    # back: Try Again lists it anew, and the marks go
    server.start()
    qtbot.mouseClick(registry_page.banner_retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not registry_page.banner.isVisible(), timeout=WAIT_MS * 4)
    assert not registry_page.banner_retry_button.isVisible()
    assert wait_repositories(qtbot, window, host) == ["many/app", "one/app"]
    assert same_icon(model.data(model.registry_index(host), Qt.ItemDataRole.DecorationRole),
                     icons.registry_icon())
    window.close()


def test_a_registry_that_cannot_be_listed_says_it_once_in_the_tree_in_few_words(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """The tree's row under an unreachable registry repeated the page's sentence, cut to
    "Cannot reach the registry 127.0.0.…", and the status bar said it a third time."""
    host = f"127.0.0.1:{free_port()}"
    window = make_window(Settings(first_run_done=True,
                                  registries=[RegistrySettings(host, insecure=True)]))
    window.show()
    model = window.registries.model
    registry = model.registry_index(host)
    window.registries.tree.setCurrentIndex(registry)
    page = window.registries.registry_page
    qtbot.waitUntil(lambda: page.retry_button.isVisible(), timeout=WAIT_MS * 4)
    node = model.registry_node(registry)
    assert node is not None and node.error
    assert page.panel.body.text() == node.error
    child = model.index(0, 0, registry)
    assert child.data() == "Cannot be listed"
    assert node.error in child.data(Qt.ItemDataRole.ToolTipRole).replace("&quot;", '"')
    assert child.data(Qt.ItemDataRole.AccessibleTextRole) == node.error
    assert window.status_text == ""
    # a registry failing out of sight is still said in the status bar
    window.registries.tree.setCurrentIndex(QModelIndex())
    window.registries.show_nothing()
    model.reload(registry)
    qtbot.waitUntil(lambda: node.error is not None and window.status_text == node.error,
                    timeout=WAIT_MS * 4)
    window.close()
