"""A tag listing that fails after its first page, as the repository page shows it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.places import LoadState
from tests.gui.guitools import WAIT_MS, add_registry, wait_repositories
from tests.helpers.faultproxy import Fault, FaultProxy
from tests.helpers.pager import PagingRelay
from tests.helpers.registry import RegistryServer, seed_tags

DENIED = b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}'


def test_a_later_page_that_fails_is_said_on_the_page_with_try_again(
        qtbot: QtBot, make_window: Callable[..., MainWindow], registry_binary: str) -> None:
    """Page 2 refused: the page showed the 5 tags read and "5 tags so far…", as if more
    were coming; why not, and Try Again, were in the tree's error row only."""
    window = make_window()
    with RegistryServer(binary=registry_binary) as server, \
            PagingRelay(server.host, cap=5) as relay, FaultProxy(relay.address) as proxy:
        seed_tags(server, "paged/app", 12)
        proxy.add(Fault("GET", r"tags/list\?.*last=", "status", count=100, status=403,
                        body=DENIED))
        host = proxy.address
        add_registry(qtbot, window, host, insecure=True)
        wait_repositories(qtbot, window, host)
        model = window.registries.model
        repo = model.repository_index(host, "paged/app")
        window.registries.tree.setCurrentIndex(repo)
        node = model.node(repo)
        qtbot.waitUntil(lambda: node.state is LoadState.FAILED, timeout=WAIT_MS)
        page = window.registries.repository_page
        assert window.content.currentWidget() is page
        assert len(page.tag_texts()) == 5
        assert page.count.text() == "5 tags listed before it failed"
        assert page.banner.isVisible()
        assert page.banner.text.startswith(node.error)
        assert "denied access" in page.banner.text
        assert page.banner.text.endswith("Only the tags listed before it failed are shown.")
        assert page.banner_retry_button.isVisible()
        # Try Again, the registry answering now: every tag, and the failure said no more
        with proxy._lock:
            proxy.faults.clear()
        qtbot.mouseClick(page.banner_retry_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(page.tag_texts()) == 12, timeout=WAIT_MS)
        assert page.count.text() == "12 tags"
        assert not page.banner.isVisible() and not page.banner_retry_button.isVisible()
        window.close()


def test_refresh_while_later_pages_still_fail_keeps_every_tag_read(
        qtbot: QtBot, make_window: Callable[..., MainWindow], registry_binary: str) -> None:
    """Pages 1 and 2 read, page 3 refused; Refresh while the registry refused every later
    page took the ten tags away and listed page 1's five again (the first page answering
    counted as the registry answering). Every tag read stays until the whole list comes."""
    window = make_window()
    with RegistryServer(binary=registry_binary) as server, \
            PagingRelay(server.host, cap=5) as relay, FaultProxy(relay.address) as proxy:
        seed_tags(server, "paged/app", 12)
        proxy.add(Fault("GET", r"tags/list\?.*last=tag-00009", "status", count=100,
                        status=403, body=DENIED))
        host = proxy.address
        add_registry(qtbot, window, host, insecure=True)
        wait_repositories(qtbot, window, host)
        model = window.registries.model
        repo = model.repository_index(host, "paged/app")
        window.registries.tree.setCurrentIndex(repo)
        node = model.node(repo)
        qtbot.waitUntil(lambda: node.state is LoadState.FAILED, timeout=WAIT_MS)
        page = window.registries.repository_page
        assert len(page.tag_texts()) == 10
        # the registry now refuses every page after the first: Refresh keeps the ten
        proxy.add(Fault("GET", r"tags/list\?.*last=", "status", count=100, status=403,
                        body=DENIED))
        window.reload_current_location()
        qtbot.waitUntil(lambda: "The list shown is as it was read at" in page.banner.text,
                        timeout=WAIT_MS)
        assert "denied access" in page.banner.text
        assert len(page.tag_texts()) == 10
        assert page.count.text() == "10 tags listed before it failed"
        assert page.banner_retry_button.isVisible()
        # Try Again as well, while it still fails: said again (the banner came back)
        page.banner.hide()
        qtbot.mouseClick(page.banner_retry_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "The list shown is as it was read at" in page.banner.text,
                        timeout=WAIT_MS)
        assert len(page.tag_texts()) == 10
        # the registry answers again: the whole list, and the failure said no more
        with proxy._lock:
            proxy.faults.clear()
        window.reload_current_location()
        qtbot.waitUntil(lambda: len(page.tag_texts()) == 12, timeout=WAIT_MS)
        assert page.count.text() == "12 tags"
        assert not page.banner.isVisible() and not page.banner_retry_button.isVisible()
        # a complete list is kept the same way when a later page fails on Refresh
        proxy.add(Fault("GET", r"tags/list\?.*last=", "status", count=100, status=403,
                        body=DENIED))
        window.reload_current_location()
        qtbot.waitUntil(lambda: "The list shown is as it was read at" in page.banner.text,
                        timeout=WAIT_MS)
        assert len(page.tag_texts()) == 12 and node.state is LoadState.LOADED and node.done
        window.close()
