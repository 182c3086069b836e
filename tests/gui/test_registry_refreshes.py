"""A registry's or repository's list read again while something else reads or writes it:
Refresh (F5) racing a copy into it, and a list that was stale answering again (real
registries)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from spyglass.core.cancel import CancelToken
from spyglass.core.copy import CopyOptions
from spyglass.core.settings import RegistrySettings, Settings
from spyglass.gui.copy_jobs import CopyRequest
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.places import LoadState
from spyglass.gui.models.registry_listings import SortedPage
from spyglass.gui.models.registry_rows import RegistryNode, RepositoryNode
from spyglass.gui.registry_jobs import Connection, Listing, Page
from spyglass.gui.transfers import TransferState
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import COPY_MS, WAIT_MS, add_registry, wait_repositories, wait_tags
from tests.helpers.registry import RegistryServer, seed_tags


def _copy(qtbot: QtBot, window: MainWindow, source: str, destination: str) -> None:
    """A copy from the window (its end refreshes the destination, as a user's does)."""
    transfer = window.copying.start(CopyRequest(source, destination, CopyOptions()))
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=COPY_MS)
    assert transfer.state is TransferState.DONE, transfer.error


def test_a_repository_listed_again_by_a_copy_loses_its_stale_banner(
        qtbot: QtBot, window: MainWindow, own_registry: RegistryFacts,
        sample_layout: Path) -> None:
    """F5 while the registry was down: the banner and the row's warning, rightly. The
    registry back, a copy into the repository listed its tags again (the new tag came),
    but the banner still said "Cannot reach the registry … The list shown is as it was
    read at …", with Try Again, and the row kept its warning."""
    host = own_registry.host
    add_registry(qtbot, window, host, insecure=True)
    wait_repositories(qtbot, window, host)
    model = window.registries.model
    repo = model.repository_index(host, "demo/app")
    window.registries.tree.setCurrentIndex(repo)
    wait_tags(qtbot, window, host, "demo/app")
    node = model.node(repo)
    assert isinstance(node, RepositoryNode)
    page = window.registries.repository_page
    own_registry.server.stop()
    window.reload_current_location()
    qtbot.waitUntil(lambda: "The list shown is as it was read at" in page.banner.text,
                    timeout=WAIT_MS * 4)
    assert page.banner.isVisible() and page.banner_retry_button.isVisible()
    assert "Cannot reach the registry" in str(model.data(repo, Qt.ItemDataRole.ToolTipRole))
    own_registry.server.start()
    _copy(qtbot, window, f"oci:{sample_layout}:tools:2024.1", f"docker://{host}/demo/app:aaa-new")
    qtbot.waitUntil(lambda: "aaa-new" in page.tag_texts(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not node.stale, timeout=WAIT_MS)
    assert not page.banner.isVisible() and not page.banner_retry_button.isVisible()
    assert "Cannot reach" not in str(model.data(repo, Qt.ItemDataRole.ToolTipRole))
    assert model.data(repo, Qt.ItemDataRole.DecorationRole) is not None  # (its own icon)
    window.close()


def test_a_catalog_read_to_its_end_loses_its_stale_banner(
        qtbot: QtBot, make_window: Callable[..., MainWindow], own_registry: RegistryFacts,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for a registry: its catalog, stale after a Refresh in an outage, read on
    to its end once the registry answers (a page at a time, as scrolling reads it)."""
    import spyglass.gui.registry_jobs as registry_jobs

    monkeypatch.setattr(registry_jobs, "CATALOG_PAGE_SIZE", 1)  # a page per repository
    host = own_registry.host
    window = make_window(Settings(first_run_done=True,
                                  registries=[RegistrySettings(host, insecure=True)]))
    model = window.registries.model
    index = model.registry_index(host)
    node = model.registry_node(index)
    assert isinstance(node, RegistryNode)
    model.fetch_next(index)  # its first page (its page not shown: it would read them all)
    qtbot.waitUntil(lambda: node.state is LoadState.LOADED, timeout=WAIT_MS)
    assert not node.done  # one page of two read
    own_registry.server.stop()
    window.registries.reload_keeping(index)  # (Refresh)
    qtbot.waitUntil(lambda: bool(node.stale), timeout=WAIT_MS * 4)
    assert "Cannot reach" in str(model.data(index, Qt.ItemDataRole.ToolTipRole))
    own_registry.server.start()
    model.fetch_all(index)
    qtbot.waitUntil(lambda: node.done, timeout=WAIT_MS)
    assert not node.stale
    assert "Cannot reach" not in str(model.data(index, Qt.ItemDataRole.ToolTipRole))
    window.registries.tree.setCurrentIndex(index)
    page = window.registries.registry_page
    assert page.node is node and not page.banner.isVisible()
    window.close()


def test_refresh_racing_a_copy_into_the_repository_keeps_the_copied_tag(
        qtbot: QtBot, make_window: Callable[..., MainWindow], registry_binary: str,
        sample_layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """F5 on a repository reads its whole tag list, then lists it in place of the rows. A
    copy into it that ended while that read was under way (a slow registry, many pages)
    listed its tag, and then the F5 answer, read before the copy ended, took it away:
    nothing listed it again until the next F5."""
    from spyglass.gui import registries as gui_registries

    window = make_window()
    with RegistryServer(binary=registry_binary) as server:
        seed_tags(server, "paged/app", 12)
        host = server.host
        add_registry(qtbot, window, host, insecure=True)
        wait_repositories(qtbot, window, host)
        model = window.registries.model
        repo = model.repository_index(host, "paged/app")
        window.registries.tree.setCurrentIndex(repo)
        assert len(wait_tags(qtbot, window, host, "paged/app")) == 12
        page = window.registries.repository_page
        # the F5 read has read the registry; its answer comes once the copy has ended
        gate = threading.Event()
        read = gui_registries.whole_tag_list

        def held(listing: Listing, cancel: CancelToken) -> SortedPage:
            tags = read(listing, cancel)
            gate.wait(20)
            return tags

        monkeypatch.setattr(gui_registries, "whole_tag_list", held)
        try:
            window.reload_current_location()
            _copy(qtbot, window, f"oci:{sample_layout}:tools:2024.1",
                  f"docker://{host}/paged/app:aaa-copied")
            qtbot.waitUntil(lambda: "aaa-copied" in page.tag_texts(), timeout=WAIT_MS)
        finally:
            released = time.time()
            gate.set()
        node = model.node(repo)
        assert isinstance(node, RepositoryNode)
        # the F5 answer listed in place of the rows: 12 tags read, and the copied one kept
        qtbot.waitUntil(lambda: node.read_at >= released, timeout=WAIT_MS)
        qtbot.wait(500)  # (nothing else lists it again)
        assert "aaa-copied" in page.tag_texts() and len(page.tag_texts()) == 13
        assert "aaa-copied" in wait_tags(qtbot, window, host, "paged/app")
        window.close()


def test_a_repository_a_copy_creates_while_a_catalog_page_is_read_is_listed(
        qtbot: QtBot, make_window: Callable[..., MainWindow], own_registry: RegistryFacts,
        sample_layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy into a new repository ended while the registry's catalog page was under way
    (read before the copy created it): the copy's end added no row (the catalog was being
    read), and the page, when it came, lacked it."""
    import spyglass.gui.models.registry_listings as registry_listings

    gate, asked = threading.Event(), threading.Event()
    real = registry_listings.catalog_listing

    def held_listing(connection: Connection) -> Listing:
        listing = real(connection)
        read = listing.next_page

        def next_page(cancel: CancelToken) -> Page:
            got = read(cancel)
            asked.set()
            gate.wait(20)
            return got

        listing.next_page = next_page  # type: ignore[method-assign]
        return listing

    monkeypatch.setattr(registry_listings, "catalog_listing", held_listing)
    host = own_registry.host
    window = make_window(Settings(first_run_done=True,
                                  registries=[RegistrySettings(host, insecure=True)]))
    model = window.registries.model
    index = model.registry_index(host)
    node = model.registry_node(index)
    assert isinstance(node, RegistryNode)
    try:
        window.registries.tree.setCurrentIndex(index)
        qtbot.waitUntil(asked.is_set, timeout=WAIT_MS)
        _copy(qtbot, window, f"oci:{sample_layout}:tools:2024.1",
              f"docker://{host}/aaa/new:1")
        assert node.state is LoadState.LOADING  # (the page read before it, still held)
    finally:
        gate.set()
    qtbot.waitUntil(lambda: node.state is LoadState.LOADED, timeout=WAIT_MS)
    assert [r.name for r in node.repositories] == ["aaa/new", "demo/app", "other/tools"]
    assert wait_repositories(qtbot, window, host) == ["aaa/new", "demo/app", "other/tools"]
    window.close()
