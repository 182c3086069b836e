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
