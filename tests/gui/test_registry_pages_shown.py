"""What the registry and repository pages and the registries tree show, as a person sees
them: the tag icons, "Same image as", a filter that matches nothing, a registry that
stopped answering, against a real registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import Qt
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
