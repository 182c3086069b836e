"""The registry side of the real window, against real registries (docker-registry + skopeo).

Registries are added through the Add Registry dialog, browsed in the tree and the
pages, and their images opened in the image view; credentials go to a keyring
(keyrings.alt's plaintext file in tmp_path) or, without one, to the session.
"""

from __future__ import annotations

import base64
import http.server
import json
import logging
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from keyrings.alt.file import PlaintextKeyring
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from spyglass.core.credentials.keyring_store import KEYRING_SERVICE
from spyglass.core.credentials.store import CredentialStore
from spyglass.core.settings import RegistrySettings, Settings
from spyglass.core.settings_file import load_settings
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.places import LoadState
from spyglass.gui.models.registry_rows import (
    ALIASES,
    ALIASES_ROLE,
    DIGEST,
    DIGEST_ROLE,
    KIND_ROLE,
    NAME,
    TAG_ROLE,
    TYPE,
    RegistryNode,
)
from spyglass.gui.session_banner import SESSION_ONLY
from tests.gui.conftest import RegistryFacts, store_environ
from tests.gui.guitools import (
    WAIT_MS,
    add_registry,
    fill_registry_dialog,
    test_connection,
    wait_repositories,
    wait_tags,
)
from tests.helpers.registry import free_port

pytestmark = pytest.mark.gui


@pytest.fixture
def keyring_store(tmp_path: Path) -> CredentialStore:
    """A store with a real keyring backend: keyrings.alt's plaintext file in tmp_path."""
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring" / "keyring_pass.cfg")
    return CredentialStore(keyring_backend=backend, environ=store_environ(tmp_path / "env"))


def open_repository_page(qtbot: QtBot, window: MainWindow, host: str,
                         repository: str) -> list[str]:
    """Select the registry, click the repository in its page; return the tags as listed."""
    registries = window.registries
    window.registries.tree.setCurrentIndex(registries.model.registry_index(host))
    assert window.content.currentWidget() is registries.registry_page
    assert repository in wait_repositories(qtbot, window, host)
    page = registries.registry_page
    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.list, timeout=WAIT_MS)
    root = page.list.rootIndex()
    names = [page.proxy.index(r, 0, root).data() for r in range(page.proxy.rowCount(root))]
    row = names.index(repository)
    rect = page.list.visualRect(page.proxy.index(row, 0, root))
    qtbot.mouseClick(page.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.content.currentWidget() is registries.repository_page
    return wait_tags(qtbot, window, host, repository)


def wait_digests(qtbot: QtBot, window: MainWindow, host: str, repository: str,
                 tags: list[str]) -> dict[str, str]:
    model = window.registries.model

    def known() -> None:
        for tag in tags:
            assert model.data(model.tag_index(host, repository, tag), DIGEST_ROLE)

    qtbot.waitUntil(known, timeout=WAIT_MS)
    return {tag: model.data(model.tag_index(host, repository, tag), DIGEST_ROLE)
            for tag in tags}


def focus(qtbot: QtBot, widget: QWidget) -> None:
    """Give ``widget`` the keyboard focus (its window activated first), as a click would."""
    window = widget.window()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)
    widget.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=WAIT_MS)


def select_table_tag(qtbot: QtBot, window: MainWindow, tag: str) -> QModelIndex:
    page = window.registries.repository_page
    row = page.tag_texts().index(tag)
    index = page.proxy.index(row, 0, page.table.rootIndex())
    qtbot.mouseClick(page.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=page.table.visualRect(index).center())
    assert page.current_tag().data(TAG_ROLE) == tag
    return index


# -- adding and browsing


def test_add_a_registry_browse_it_and_open_a_tag(qtbot: QtBot, window: MainWindow,
                                                demo_registry: RegistryFacts,
                                                settings_file: Path) -> None:
    host = demo_registry.host
    dialog = window.registries.add_registry()
    assert dialog.isVisible() and dialog.windowTitle() == "Add Registry"
    # a pasted URL: the scheme goes, and http:// turns on "insecure"
    fill_registry_dialog(qtbot, dialog, f"http://{host}/")
    assert dialog.insecure_box.isChecked()
    text = test_connection(qtbot, dialog)
    assert text == f"Connected\n{host} answers as a registry over plain HTTP, without " \
        "signing in."
    with qtbot.waitSignal(window.registries.registryAdded, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)

    model = window.registries.model
    assert model.hosts == [host]
    registry = model.registry_index(host)
    assert window.registries.tree.currentIndex() == registry
    assert window.registries.tree.isExpanded(registry)
    assert wait_repositories(qtbot, window, host) == ["demo/app", "other/tools"]
    assert model.data(registry, Qt.ItemDataRole.DecorationRole) is not None
    assert window.windowTitle() == f"{host} — Spyglass"
    assert window.settings.registries == [RegistrySettings(host, "", True, [])]

    # the repository: its tags in natural order, in the page and in the tree
    tags = open_repository_page(qtbot, window, host, "demo/app")
    assert tags == ["1.2", "1.9", "1.10", "latest"]
    page = window.registries.repository_page
    assert page.tag_texts() == tags
    assert page.count.text() == "4 tags"
    assert page.header.title.text() == "demo/app"
    # counted once, beside the filter (the header said "4 tags" too), as the registry
    # page counts its repositories; the hint says the tooltip's digest is the whole one
    assert page.header.subtitle.text() == host
    assert page.hint.text().endswith(
        "Hover a tag for its full digest; Ctrl+Shift+C copies its reference by digest.")

    # opening a tag shows the image as a local one is shown
    view = window.image_view
    index = select_table_tag(qtbot, window, "1.10")
    with qtbot.waitSignal(view.imageShown, timeout=WAIT_MS):
        qtbot.mouseDClick(page.table.viewport(), Qt.MouseButton.LeftButton,
                          pos=page.table.visualRect(index).center())
    assert window.content.currentWidget() is view
    state = view.state
    assert state is not None and state.is_list
    assert state.entry.name == f"docker://{host}/demo/app:1.10"
    assert str(state.entry.descriptor.digest) == demo_registry.digests["demo/app:1.10"]
    assert [str(s.descriptor.platform) for s in view.platforms.model.rows] == [
        "linux/amd64", "linux/arm64/v8", "linux/arm/v7"]
    assert view.layers.model.rowCount() == 4
    assert view.title.text() == "demo/app:1.10"
    assert host in view.subtitle.text()
    assert window.windowTitle() == "demo/app:1.10 — Spyglass"
    tree_tag = model.tag_index(host, "demo/app", "1.10")
    assert window.registries.tree.currentIndex() == tree_tag
    # the local tree let go of its selection, and the settings were saved without secrets
    assert not window.tree.currentIndex().isValid()
    qtbot.waitUntil(lambda: settings_file.exists(), timeout=WAIT_MS)
    assert load_settings(settings_file).registries == [RegistrySettings(host, "", True, [])]


def test_a_registry_on_this_machine_is_said_to_be_reached_over_plain_http(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts) -> None:
    """Reached over plain HTTP though insecure connections were not allowed for it (as
    Docker reaches one on this machine): said by Test Connection and the page,
    where they said only "answers as a registry" and "Anonymous"."""
    host = demo_registry.host
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, host, insecure=False)
    assert test_connection(qtbot, dialog) == (
        f"Connected\n{host} answers as a registry over plain HTTP (allowed for this "
        "machine), without signing in.")
    with qtbot.waitSignal(window.registries.registryAdded, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    wait_repositories(qtbot, window, host)
    page = window.registries.registry_page
    qtbot.waitUntil(lambda: page.header.subtitle.text()
                    == "Anonymous · over plain HTTP (allowed for this machine)",
                    timeout=WAIT_MS)


def test_a_tag_selected_in_the_tree_opens_like_a_local_image(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts,
        sample_layout: Path) -> None:
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    wait_repositories(qtbot, window, host)
    model = window.registries.model
    tree = window.registries.tree
    repo = model.repository_index(host, "demo/app")
    tree.expand(repo)
    assert wait_tags(qtbot, window, host, "demo/app") == ["1.2", "1.9", "1.10", "latest"]
    view = window.image_view
    with qtbot.waitSignal(view.imageShown, timeout=WAIT_MS):
        tree.setCurrentIndex(model.tag_index(host, "demo/app", "1.9"))
    assert view.state is not None and not view.state.is_list
    assert not view.tabs.isTabEnabled(1)
    # the digest the image view learned is in the model at once
    assert model.data(model.tag_index(host, "demo/app", "1.9"), DIGEST_ROLE) \
        == demo_registry.digests["demo/app:1.9"]
    # and a local place takes the selection back
    window.open_location(sample_layout)
    qtbot.waitUntil(lambda: view.state is not None
                    and view.state.entry.label == "spyglass-demo:1.0", timeout=WAIT_MS)
    assert not tree.currentIndex().isValid()
    assert window.content.currentWidget() is view


def test_a_narrow_tag_table_keeps_same_image_as_in_sight(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts) -> None:
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    open_repository_page(qtbot, window, host, "demo/app")
    page = window.registries.repository_page
    header = page.table.horizontalHeader()
    window.resize(1200, 760)  # (wide: the window opens at most 0.9 of the 800 px screen)
    window.show()
    qtbot.waitUntil(lambda: page.table.viewport().width() > 700, timeout=WAIT_MS)
    wide = {column: header.sectionSize(column) for column in (NAME, TYPE)}
    window.resize(900, 700)
    qtbot.waitUntil(lambda: page.table.viewport().width() < 650, timeout=WAIT_MS)
    QApplication.processEvents()
    assert header.sectionSize(ALIASES) >= page.ALIASES_ROOM
    assert header.length() <= page.table.viewport().width()  # no sideways scrolling
    assert header.sectionSize(NAME) < wide[NAME]
    # narrower still, names and types give way down to their least
    window.resize(700, 700)
    qtbot.waitUntil(lambda: header.sectionSize(NAME) == page.LEAST[NAME], timeout=WAIT_MS)
    assert header.sectionSize(TYPE) == page.LEAST[TYPE]
    window.resize(1600, 900)
    qtbot.waitUntil(lambda: header.sectionSize(NAME) == wide[NAME], timeout=WAIT_MS)
    assert header.sectionSize(TYPE) == wide[TYPE]


def test_digests_load_for_shown_rows_and_aliases_are_marked(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts) -> None:
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    tags = open_repository_page(qtbot, window, host, "demo/app")
    # the table shows every row, so every digest is looked up
    digests = wait_digests(qtbot, window, host, "demo/app", tags)
    assert digests == {t: demo_registry.digests[f"demo/app:{t}"] for t in tags}
    model = window.registries.model

    def aliases(tag: str) -> list[str]:
        return model.data(model.tag_index(host, "demo/app", tag), ALIASES_ROLE)

    qtbot.waitUntil(lambda: aliases("latest") == ["1.10"], timeout=WAIT_MS)
    assert aliases("1.10") == ["latest"]
    assert aliases("1.9") == [] and aliases("1.2") == []
    page = window.registries.repository_page
    assert page.tag_texts(ALIASES) == ["", "", "latest", "1.10"]
    assert page.tag_texts(TYPE) == ["OCI image index", "OCI image manifest",
                                    "OCI image index", "OCI image index"]
    assert page.tag_texts(DIGEST)[0] == "sha256:" + digests["1.2"][7:19]
    tooltip = model.data(model.tag_index(host, "demo/app", "1.10"),
                         Qt.ItemDataRole.ToolTipRole)
    assert digests["1.10"] in tooltip and "Same image as latest" in tooltip
    # the filter narrows the table; the tree keeps every tag
    qtbot.keyClicks(page.filter, "1.")
    assert page.tag_texts() == ["1.2", "1.9", "1.10"]
    assert page.count.text() == "3 of 4 tags"
    assert model.rowCount(model.repository_index(host, "demo/app")) == 4
    # Ctrl+F reaches the filter from anywhere in the window; Enter opens the first tag
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    window.registries.tree.setFocus()
    qtbot.waitUntil(window.registries.tree.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(window.registries.tree, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert page.filter.hasFocus() and page.filter.selectedText() == "1."
    qtbot.keyClicks(page.filter, "1.1")
    assert page.tag_texts() == ["1.10"]
    with qtbot.waitSignal(window.image_view.imageShown, timeout=WAIT_MS):
        qtbot.keyClick(page.filter, Qt.Key.Key_Return)
    assert window.image_view.state is not None
    assert window.image_view.state.entry.label.endswith("demo/app:1.10")
    # the keyboard is in the image's tabs (not on whatever came next in the Tab order)
    assert QApplication.focusWidget() is window.image_view.tabs.tabBar()
    # a tag highlighted in another repository's page is not this page's: its first is
    select_table_tag(qtbot, window, "1.10")
    open_repository_page(qtbot, window, host, "other/tools")
    qtbot.keyClicks(page.filter, "v")
    with qtbot.waitSignal(window.image_view.imageShown, timeout=WAIT_MS):
        qtbot.keyClick(page.filter, Qt.Key.Key_Return)
    assert window.image_view.state.entry.label.endswith("other/tools:v1")


@pytest.mark.parametrize("quirk", ["head-404", "head-json"])
def test_digests_and_types_of_a_registry_that_answers_head_otherwise(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts, quirk: str) -> None:
    """Older Nexus answers a manifest HEAD 404 while GET serves it: every row said
    "Digest unknown: … has no such image". A registry labelling manifests
    application/json had that in the Type column; a type is a manifest type, from the
    body where one was read."""
    from tests.helpers.faultproxy import Fault, FaultProxy

    with FaultProxy(demo_registry.host) as proxy:
        json_type = {"Content-Type": "application/json"}
        if quirk == "head-404":
            proxy.add(Fault("HEAD", "/manifests/", "status", status=404, count=10_000))
            proxy.add(Fault("GET", "/manifests/", "answer_edited", count=10_000,
                            headers=json_type))
            types = ["OCI image index", "OCI image manifest", "OCI image index",
                     "OCI image index"]
        else:
            proxy.add(Fault("HEAD", "/manifests/", "answer_edited", count=10_000,
                            headers=json_type))
            types = ["", "", "", ""]  # (not read: a HEAD tells no more)
        host = proxy.address
        add_registry(qtbot, window, host, insecure=True)
        tags = open_repository_page(qtbot, window, host, "demo/app")
        digests = wait_digests(qtbot, window, host, "demo/app", tags)
        assert digests == {t: demo_registry.digests[f"demo/app:{t}"] for t in tags}
        page = window.registries.repository_page
        assert page.tag_texts(TYPE) == types
        heads = [seen for seen in proxy.seen if seen.method == "HEAD"]
        if quirk == "head-404":  # once belied by GET, HEAD is not asked again
            assert len(heads) <= 4, heads
        window.close()


def test_copy_to_copies_the_tag_chosen_in_the_repository_table(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts) -> None:
    """Copy To… with a row chosen in the repository page's tag table copies that tag: it
    copied the image shown instead (the table's index was mapped through its proxy
    twice, so no tag was found), which wrote the wrong image under every name chosen."""
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    open_repository_page(qtbot, window, host, "demo/app")
    select_table_tag(qtbot, window, "1.2")
    focus(qtbot, window.registries.repository_page.table)
    with qtbot.waitSignal(window.copying.dialogOpened, timeout=WAIT_MS) as opened:
        window.copying.copy_action.trigger()
    dialog = opened.args[0]
    assert dialog.source_edit.text() == f"docker://{host}/demo/app:1.2"
    dialog.reject()


@pytest.mark.parametrize("insecure", [True, False])
def test_copy_actions_put_references_on_the_clipboard(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts, insecure: bool) -> None:
    """Not marked insecure, a loopback registry is still reached over plain HTTP, which
    podman (no loopback exception) must be told of too."""
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=insecure)
    open_repository_page(qtbot, window, host, "demo/app")
    select_table_tag(qtbot, window, "1.10")
    actions = window.registries.table_actions
    clipboard = QGuiApplication.clipboard()
    digest = demo_registry.digests["demo/app:1.10"]

    actions["copy_reference"].trigger()
    assert clipboard.text() == f"{host}/demo/app:1.10"
    assert window.status_text == f"Copied {host}/demo/app:1.10"
    clipboard.clear()
    actions["copy_digest"].trigger()  # looked up first if not known yet
    qtbot.waitUntil(lambda: clipboard.text() == f"{host}/demo/app@{digest}", timeout=WAIT_MS)
    actions["copy_podman"].trigger()
    assert clipboard.text() == f"podman pull --tls-verify=false {host}/demo/app:1.10"
    actions["copy_docker"].trigger()
    assert clipboard.text() == f"docker pull {host}/demo/app:1.10"
    # the keyboard: Ctrl+C on the table copies the reference
    page = window.registries.repository_page
    focus(qtbot, page.table)
    qtbot.keyClick(page.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == f"{host}/demo/app:1.10"
    # and in the tree, Ctrl+C copies the current row's name
    tree = window.registries.tree
    tree.setCurrentIndex(window.registries.model.repository_index(host, "other/tools"))
    focus(qtbot, tree)
    qtbot.keyClick(tree, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == f"{host}/other/tools"


def test_delete_names_the_other_tags_and_removes_them(
        qtbot: QtBot, window: MainWindow, own_registry: RegistryFacts) -> None:
    host = own_registry.host
    add_registry(qtbot, window, host, insecure=True)
    open_repository_page(qtbot, window, host, "demo/app")
    asked: list[tuple[str, str, str]] = []
    answers = [False, True]

    def confirm(title: str, text: str, accept: str) -> bool:
        asked.append((title, text, accept))
        return answers.pop(0)

    window.registries.confirm = confirm
    select_table_tag(qtbot, window, "latest")
    action = window.registries.table_actions["delete"]
    qtbot.waitUntil(lambda: action.isEnabled(), timeout=WAIT_MS)
    # first the answer is "no": nothing goes
    action.trigger()
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=WAIT_MS)
    assert window.status_text == "Nothing was deleted."
    title, text, accept = asked[0]
    assert (title, accept) == ("Delete Image", "Delete")
    assert "demo/app:latest" in text and own_registry.digests["demo/app:latest"] in text
    assert "<b>1.10</b>" in text  # the other tag of the same manifest is named
    assert "1.9" not in text
    # then "yes", through the Delete key on the table
    page = window.registries.repository_page
    focus(qtbot, page.table)
    with qtbot.waitSignal(window.registries.deleted, timeout=WAIT_MS) as blocker:
        qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    assert blocker.args[0].tags == ("1.10", "latest")
    # (listed again as Refresh lists: the rows stay until the new list is read)
    qtbot.waitUntil(lambda: wait_tags(qtbot, window, host, "demo/app") == ["1.2", "1.9"],
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: page.tag_texts() == ["1.2", "1.9"], timeout=WAIT_MS)
    assert "Deleted demo/app@" in window.status_text


def test_reload_and_delete_keep_a_tag_chosen(
        qtbot: QtBot, window: MainWindow, own_registry: RegistryFacts) -> None:
    """F5 took the chosen tag away: the table's current row went to its first tag,
    unselected (Copy Reference and Delete… disabled, Ctrl+C copied the cell's text), a
    delete did the same, and F5 on a tag in the tree showed its repository's page in place
    of its image. The tag is chosen again; after a delete, the one after it."""
    host = own_registry.host
    add_registry(qtbot, window, host, insecure=True)
    open_repository_page(qtbot, window, host, "demo/app")
    page = window.registries.repository_page
    # F5 in the Tags table
    select_table_tag(qtbot, window, "1.9")
    focus(qtbot, page.table)
    qtbot.keyClick(page.table, Qt.Key.Key_F5)
    node = window.registries.model.node(window.registries.model.repository_index(
        host, "demo/app"))
    old = node.by_name["1.9"]
    qtbot.waitUntil(lambda: node.by_name.get("1.9") not in (None, old), timeout=WAIT_MS)
    assert page.table.hasFocus()
    assert page.current_tag().data(TAG_ROLE) == "1.9"
    assert page.delete_button.isEnabled()
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(page.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == f"{host}/demo/app:1.9"
    # Delete in the Tags table: the next tag is chosen, the focus stays
    window.registries.confirm = lambda *_: True
    with qtbot.waitSignal(window.registries.deleted, timeout=WAIT_MS):
        qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: page.tag_texts() == ["1.2", "1.10", "latest"], timeout=WAIT_MS)
    assert page.current_tag().data(TAG_ROLE) == "1.10"
    assert page.table.hasFocus()
    # the last tag deleted: the one before it
    select_table_tag(qtbot, window, "latest")  # (1.10 goes with it: the same image)
    focus(qtbot, page.table)
    with qtbot.waitSignal(window.registries.deleted, timeout=WAIT_MS):
        qtbot.keyClick(page.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: page.tag_texts() == ["1.2"], timeout=WAIT_MS)
    assert page.current_tag().data(TAG_ROLE) == "1.2"
    # F5 in the tree on a tag whose image is shown: the tag stays chosen, its image shown
    b = window.registries
    tag = b.model.tag_index(host, "demo/app", "1.2")
    b.select(tag)
    qtbot.waitUntil(lambda: window.image_view.state is not None
                    and window.image_view.state.entry.label.endswith("1.2"), timeout=WAIT_MS)
    focus(qtbot, b.tree)
    old = b.model.node(tag)
    asked: list[str] = []
    show_image = window.image_view.show_image
    window.image_view.show_image = lambda label, *rest: (  # type: ignore[method-assign]
        asked.append(label), show_image(label, *rest))
    qtbot.keyClick(b.tree, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: b.model.node(b.tree.currentIndex()) not in (None, old),
                    timeout=WAIT_MS)
    assert b.tree.currentIndex().data() == "1.2"
    assert b.chosen_index() == b.tree.currentIndex()
    assert window.content.currentWidget() is window.image_view
    qtbot.waitUntil(lambda: window.image_view.state is not None
                    and window.image_view.state.entry.label.endswith("1.2"), timeout=WAIT_MS)
    assert asked == ["demo/app:1.2"]  # read again once (not its repository's page between)


def test_the_check_before_a_delete_shows_how_far_it_is_and_cancel_stops_it(
        qtbot: QtBot, window: MainWindow, registry_binary: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Deleting one of 20,000 tags first looks at each (a HEAD each, half a minute) with
    only "Checking which tags…" in the status bar: the page says how many it has looked
    at, and Esc or Cancel stops it, nothing deleted."""
    from spyglass.core.transports.registry import RegistryClient
    from spyglass.gui import registry_jobs
    from tests.helpers.registry import RegistryServer, seed_tags

    heads: list[str] = []
    head = RegistryClient.head_manifest

    def paced(self: RegistryClient, repository: str, reference: str,
              **kwargs: Any) -> Any:
        heads.append(reference)
        threading.Event().wait(0.02)  # (a registry far away: the check takes a while)
        return head(self, repository, reference, **kwargs)

    monkeypatch.setattr(RegistryClient, "head_manifest", paced)
    monkeypatch.setattr(registry_jobs, "DELETE_PROGRESS_S", 0.0)
    asked: list[str] = []
    with RegistryServer(binary=registry_binary) as server:
        names = seed_tags(server, "big/few", 400, direct=True)
        add_registry(qtbot, window, server.host, insecure=True)
        assert open_repository_page(qtbot, window, server.host, "big/few") == names
        window.registries.confirm = lambda title, text, accept: bool(asked.append(text))
        actions = window.registries.actions
        page = window.registries.repository_page
        label = actions.check_label
        for stop in ("Esc", "Cancel"):
            select_table_tag(qtbot, window, "tag-00005")
            qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
            heads.clear()
            window.registries.table_actions["delete"].trigger()
            qtbot.waitUntil(lambda: label.isVisible()
                            and label.text().startswith("Checked ")
                            and label.text() != "Checked 0 of 400 tags of big/few…",
                            timeout=WAIT_MS)
            assert label.text().endswith(" of 400 tags of big/few…"), label.text()
            assert actions.check_cancel.isVisible()
            if stop == "Esc":
                focus(qtbot, page.table)
                qtbot.keyClick(page.table, Qt.Key.Key_Escape)
            else:
                qtbot.mouseClick(actions.check_cancel, Qt.MouseButton.LeftButton)
            assert not actions.checking and not label.isVisible()
            assert not actions.check_cancel.isVisible()
            assert window.status_text == ("Stopped looking at the tags of big/few: "
                                          "nothing was deleted.")
            qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
            assert len(heads) < 300, len(heads)  # (stopped: not one HEAD per tag)
            qtbot.wait(200)
            assert asked == []  # never asked, so never deleted
        # begun from the tree with the tag's image shown: the page with its count and
        # Cancel is out of sight, so the status bar counts, and Esc still stops it
        tree, model = window.registries.tree, window.registries.model
        tree.setCurrentIndex(model.tag_index(server.host, "big/few", "tag-00007"))
        assert window.content.currentWidget() is not page
        qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
        said: list[str] = []
        window.registries.statusMessage.connect(said.append)
        actions.tree_actions["delete"].trigger()
        qtbot.waitUntil(lambda: window.status_text.startswith("Checked ")
                        and window.status_text.endswith(
                            " of 400 tags of big/few… Press Esc to stop: nothing is "
                            "deleted."), timeout=WAIT_MS)
        # told after every HEAD, the label counts on; the status bar (each message of
        # which a screen reader announces) said the first count, and says the next only
        # after CHECK_STATUS_S
        counts = {label.text()}
        qtbot.waitUntil(lambda: bool(counts.add(label.text())) or len(counts) >= 5,
                        timeout=WAIT_MS)
        qtbot.wait(300)
        assert actions.checking
        assert len([text for text in said if text.startswith("Checked ")]) == 1, said
        focus(qtbot, tree)
        qtbot.keyClick(tree, Qt.Key.Key_Escape)
        assert not actions.checking
        assert window.status_text == ("Stopped looking at the tags of big/few: "
                                      "nothing was deleted.")
        qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
        qtbot.wait(200)
        assert asked == []
        with server.client() as client:
            listed = client.get("/v2/big/few/tags/list").json()["tags"]
        assert sorted(listed) == names
        window.close()


def test_delete_takes_a_referrer_out_of_its_referrers_index_and_names_the_tags_that_stay(
        qtbot: QtBot, window: MainWindow, own_registry: RegistryFacts, tmp_path: Path) -> None:
    """On distribution 2.8 (no referrers API) the ``sha256-<subject>`` index is no list
    the delete would break: the question says the referrer is taken out of it, and it
    is; deleting the signed image names its signature and referrer tags, which stay."""
    from tests.gui.guitools import core_copy
    from tests.helpers.cosign import add_cosign_signature
    from tests.helpers.imagebuild import referred_layout

    builder, image, sbom, scan = referred_layout(tmp_path / "layout")
    add_cosign_signature(builder, image["digest"])
    server, host = own_registry.server, own_registry.host
    core_copy(f"oci:{tmp_path / 'layout'}:app", f"docker://{host}/signed/app:v1")
    index_tag = image["digest"].replace(":", "-")
    accept = {"Accept": "application/vnd.oci.image.index.v1+json, "
                        "application/vnd.oci.image.manifest.v1+json"}
    with server.client() as client:  # the SBOM under a tag, for the window to delete
        raw = client.get(f"/v2/signed/app/manifests/{sbom['digest']}", headers=accept).content
        put = client.put("/v2/signed/app/manifests/sbom", content=raw,
                         headers={"Content-Type": sbom["mediaType"]})
        assert put.status_code == 201, put.text
    add_registry(qtbot, window, host, insecure=True)
    assert {"sbom", "v1"} <= set(open_repository_page(qtbot, window, host, "signed/app"))
    asked: list[str] = []

    def confirm(title: str, text: str, accept: str) -> bool:
        asked.append(text)
        return True

    window.registries.confirm = confirm
    action = window.registries.table_actions["delete"]
    select_table_tag(qtbot, window, "sbom")
    qtbot.waitUntil(lambda: action.isEnabled(), timeout=WAIT_MS)
    with qtbot.waitSignal(window.registries.deleted, timeout=WAIT_MS):
        action.trigger()
    assert "The list" not in asked[0]
    assert (f"It is a referrer of another image: the referrers index <b>{index_tag}</b> is "
            "written again without it") in asked[0]
    assert "signature and referrer" not in asked[0]  # nothing is attached to the SBOM
    assert f"The referrers index {index_tag} lists it no more." in window.status_text
    with server.client() as client:
        listed = client.get(f"/v2/signed/app/manifests/{index_tag}", headers=accept).json()
    assert [entry["digest"] for entry in listed["manifests"]] == [scan["digest"]]

    page = window.registries.repository_page
    qtbot.waitUntil(lambda: "sbom" not in page.tag_texts() and "v1" in page.tag_texts(),
                    timeout=WAIT_MS)
    select_table_tag(qtbot, window, "v1")
    qtbot.waitUntil(lambda: action.isEnabled(), timeout=WAIT_MS)
    with qtbot.waitSignal(window.registries.deleted, timeout=WAIT_MS):
        action.trigger()
    assert (f"Its signature and referrer tags <b>{index_tag}</b>, <b>{index_tag}.sig</b> "
            "stay, naming an image that is gone") in asked[1]
    assert (f"Its signature and referrer tags {index_tag}, {index_tag}.sig stay, naming an "
            "image that is gone: to delete them too, tick Show signature and referrer tags "
            "and delete each.") in window.status_text


def test_open_repository_by_name_validates_and_selects_the_tag(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts,
        settings_file: Path) -> None:
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    wait_repositories(qtbot, window, host)
    page = window.registries.registry_page
    qtbot.keyClicks(page.open_edit, "Demo/App")
    qtbot.keyClick(page.open_edit, Qt.Key.Key_Return)
    assert page.open_error.isVisible()
    assert "repository name must be lowercase" in page.open_error.text()
    assert '"Demo/App"' in page.open_error.text()
    assert page.open_edit.text() == "Demo/App"  # refused: left to be mended
    page.open_edit.clear()
    assert not page.open_error.isVisible()
    qtbot.keyClicks(page.open_edit, f"{host}/demo/app:1.9")
    qtbot.mouseClick(page.open_button, Qt.MouseButton.LeftButton)
    assert window.content.currentWidget() is window.registries.repository_page
    assert page.open_edit.text() == ""  # taken: the registry's page is not left pending
    repo_page = window.registries.repository_page
    qtbot.waitUntil(lambda: repo_page.current_tag().data(TAG_ROLE) == "1.9", timeout=WAIT_MS)
    # the catalog lists it: nothing to remember, and it is in the tree once
    assert window.settings.registry(host).repositories == []
    model = window.registries.model
    names = [model.index(r, 0, model.registry_index(host)).data()
             for r in range(model.rowCount(model.registry_index(host)))]
    assert names.count("demo/app") == 1
    # a tag the repository has not is said, once every tag is listed
    window.registries.open_repository(host, "demo/app:nope")
    qtbot.waitUntil(repo_page.banner.isVisible, timeout=WAIT_MS)
    assert repo_page.banner.text == \
        f'{host}/demo/app has no tag "nope"; its tags are listed here.'
    window.registries.tree.setCurrentIndex(model.repository_index(host, "other/tools"))
    qtbot.waitUntil(lambda: not repo_page.banner.isVisible(), timeout=WAIT_MS)



def test_a_repository_opened_by_name_that_cannot_be_listed_can_be_removed_there(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts) -> None:
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    wait_repositories(qtbot, window, host)
    window.registries.open_repository(host, "does/notexist")
    assert window.settings.registry(host).repositories == ["does/notexist"]
    page = window.registries.repository_page
    qtbot.waitUntil(page.forget_button.isVisible, timeout=WAIT_MS)
    assert page.retry_button.isVisible()
    qtbot.mouseClick(page.forget_button, Qt.MouseButton.LeftButton)
    model = window.registries.model
    assert not model.repository_index(host, "does/notexist").isValid()
    assert window.settings.registry(host).repositories == []
    assert window.content.currentWidget() is window.registries.registry_page


def test_a_repository_listed_without_tags_loses_its_expand_arrow(
        qtbot: QtBot, window: MainWindow, own_registry: RegistryFacts) -> None:
    # its tags listed and none found, the sidebar still offered to expand it (a
    # "This repository has no tags." row under it, which its page says already)
    host = own_registry.host
    tags = own_registry.server.repository_dir("other/tools") / "_manifests" / "tags"
    shutil.rmtree(tags)  # (its only tag: the folder stays, or it is said not to exist)
    tags.mkdir()
    add_registry(qtbot, window, host, insecure=True)
    wait_repositories(qtbot, window, host)
    model, tree = window.registries.model, window.registries.tree
    empty = model.repository_index(host, "other/tools")
    assert model.hasChildren(empty)  # not listed yet: it may have tags
    tree.setCurrentIndex(empty)
    assert wait_tags(qtbot, window, host, "other/tools") == []
    page = window.registries.repository_page
    qtbot.waitUntil(lambda: any("has no tags." in t for t in shown_texts(page)),
                    timeout=WAIT_MS)
    assert not model.hasChildren(empty) and not model.canFetchMore(empty)
    assert model.rowCount(empty) == 0
    # expanded, it shows nothing under it
    tree.expand(empty)
    assert tree.indexBelow(empty).parent() != empty
    # a repository with tags keeps its arrow
    assert model.hasChildren(model.repository_index(host, "demo/app"))


def test_a_registry_listed_without_repositories_loses_its_expand_arrow(
        qtbot: QtBot, window: MainWindow, registry_binary: str) -> None:
    """A "This registry holds no repositories." row under it kept the arrow; its page
    says so already."""
    from tests.helpers.registry import RegistryServer

    with RegistryServer(binary=registry_binary) as server:
        add_registry(qtbot, window, server.host, insecure=True)
        assert wait_repositories(qtbot, window, server.host) == []
        model = window.registries.model
        index = model.registry_index(server.host)
        assert not model.hasChildren(index) and not model.canFetchMore(index)
        assert model.rowCount(index) == 0
        window.close()


# -- credentials


def shown_texts(root: QWidget) -> list[str]:
    """What ``root`` and the widgets in it show: titles, tooltips, labels, buttons, text
    boxes, and line edits as displayed (dots for a password)."""
    texts = [root.windowTitle()]
    for widget in [root, *root.findChildren(QWidget)]:
        texts.append(widget.toolTip())
        if isinstance(widget, QLabel | QAbstractButton):
            texts.append(widget.text())
        elif isinstance(widget, QLineEdit):
            texts.append(widget.displayText())
        elif isinstance(widget, QTextEdit | QPlainTextEdit):
            texts.append(widget.toPlainText())
    return texts


def test_wrong_password_says_so_and_the_right_one_goes_to_the_keyring(
        qtbot: QtBot, make_window: Callable[..., MainWindow], alice_registry: RegistryFacts,
        keyring_store: CredentialStore, settings_file: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore"):  # (the window keeps them to warnings: not here)
        caplog.set_level(logging.DEBUG, logger=name)
    wrong = "nope-3f9d1c"
    window = make_window(credentials=keyring_store)
    statuses: list[str] = []
    window.registries.statusMessage.connect(statuses.append)
    window.runner.message.connect(statuses.append)
    host = alice_registry.host
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, host)
    # nothing typed: no login was tried, so none "failed"; what to type is said
    assert test_connection(qtbot, dialog) == (
        f"The registry wants a user name and password\n{host} wants a user name and "
        "password: type them above, then Test Connection again.")
    assert dialog.last_check is not None and dialog.last_check.unsigned
    fill_registry_dialog(qtbot, dialog, host, "", "a-token-alone")  # basic auth: no user
    assert test_connection(qtbot, dialog).startswith(
        "The registry wants a user name with the password or token\n")
    fill_registry_dialog(qtbot, dialog, host, "alice", wrong)
    text = test_connection(qtbot, dialog)
    assert text.startswith("The registry did not accept the sign-in\n")
    assert dialog.last_check is not None and dialog.last_check.problem == "auth"
    # the refused password is shown nowhere: not in the dialog (its field shows dots),
    # the status bar or the log, not even as the Basic header that carried it
    assert dialog.password_edit.text() == wrong
    assert wrong not in text
    assert not [t for t in shown_texts(dialog) if wrong in t]
    assert wrong not in window.status_text and not [t for t in statuses if wrong in t]
    basic = base64.b64encode(f"alice:{wrong}".encode()).decode()
    assert caplog.records and wrong not in caplog.text and basic not in caplog.text
    # the sentence wraps onto lines of its own: the dialog grows rather than squeeze
    # the fields below their height
    qtbot.waitUntil(lambda: all(
        edit.height() >= edit.minimumSizeHint().height()
        for edit in (dialog.host_edit, dialog.user_edit, dialog.password_edit)),
        timeout=WAIT_MS)
    # after a failed test the button offers "Add Anyway" (Add does not test again)
    assert dialog.accept_button.text() == "Add Anyway"
    assert dialog.isVisible()
    fill_registry_dialog(qtbot, dialog, host, "alice", "wonderland")
    assert dialog.accept_button.text() == "Add"
    # Add tests first, and closes the dialog on success
    with qtbot.waitSignal(window.registries.registryAdded, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert wait_repositories(qtbot, window, host) == ["demo/app", "other/tools"]
    # where it went, said as it is: this test's keyring is a plain file it chose
    kept = keyring_store.keyring_description
    assert kept.startswith("the keyring backend PlaintextKeyring (") and "unencrypted" in kept
    qtbot.waitUntil(lambda: window.status_text == f"Saved the password for {host} in {kept}.",
                    timeout=WAIT_MS)
    assert not window.session_banner.isVisible()
    stored = keyring_store._keyring.backend().get_password(KEYRING_SERVICE, host)
    assert json.loads(stored) == {"username": "alice", "password": "wonderland"}
    assert wrong not in window.status_text and not [t for t in statuses if wrong in t]
    assert wrong not in caplog.text and basic not in caplog.text

    # the secret never lands in settings.json
    window.close()
    text = settings_file.read_text(encoding="utf-8")
    assert "wonderland" not in text
    assert json.loads(text)["registries"] == [
        {"host": host, "username": "alice", "insecure": False, "repositories": []}]

    # the next start finds the password in the keyring
    again = make_window(load_settings(settings_file), credentials=CredentialStore(
        keyring_backend=keyring_store._keyring.backend(),
        environ=store_environ(settings_file.parent)))
    model = again.registries.model
    again.registries.tree.setCurrentIndex(model.registry_index(host))
    assert wait_repositories(qtbot, again, host) == ["demo/app", "other/tools"]
    assert again.registries.registry_page.header.subtitle.text().startswith("User alice")


def test_a_password_the_chosen_auth_file_would_overrule_is_not_saved(
        qtbot: QtBot, make_window: Callable[..., MainWindow], alice_registry: RegistryFacts,
        tmp_path: Path) -> None:
    """$REGISTRY_AUTH_FILE comes before the keyring: a password saved there would never
    sign in after a restart, so the window keeps it for the session and says why."""
    host = alice_registry.host
    auth_file = tmp_path / "chosen-auth.json"
    basic = base64.b64encode(b"bob:builder").decode()
    auth_file.write_text(json.dumps({"auths": {host: {"auth": basic}}}), encoding="utf-8")
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring" / "keyring_pass.cfg")
    environ = store_environ(tmp_path / "env") | {"REGISTRY_AUTH_FILE": str(auth_file)}
    store = CredentialStore(keyring_backend=backend, environ=environ)
    window = make_window(credentials=store)
    add_registry(qtbot, window, host, "alice", "wonderland")
    # the typed password serves this session: the repositories list
    assert wait_repositories(qtbot, window, host) == ["demo/app", "other/tools"]
    qtbot.waitUntil(lambda: "was not saved" in window.status_text, timeout=WAIT_MS)
    assert window.status_text == (
        f"Signed in to {host} until Spyglass quits: $REGISTRY_AUTH_FILE names the entry "
        f'"{host}" in {auth_file}, which comes first, so the password was not saved. Log '
        "in with skopeo login (it writes that file), or remove that entry.")
    assert backend.get_password(KEYRING_SERVICE, host) is None
    assert "wonderland" not in window.status_text
    # a connection made again (a CA trusted, the registry edited) still signs in as alice
    kept = store.lookup(host)
    assert kept is not None and (kept.username, kept.source) == ("alice", "session")
    node = window.registries.model.registry_node(window.registries.model.registry_index(host))
    assert node is not None and node.credentials_note == "password kept until Spyglass quits"
    assert not window.session_banner.isVisible()  # the keyring is not at fault


def test_without_a_keyring_the_window_says_the_password_lasts_this_session(
        qtbot: QtBot, window: MainWindow, alice_registry: RegistryFacts) -> None:
    host = alice_registry.host
    assert not window.session_banner.isVisible()
    add_registry(qtbot, window, host, "alice", "wonderland")
    qtbot.waitUntil(window.session_banner.isVisible, timeout=WAIT_MS)
    assert window.session_banner.text == SESSION_ONLY.format(host=host)
    assert "until Spyglass quits" in window.session_banner.text
    assert window.status_text != window.session_banner.text  # said once, not twice
    # it stays: later status messages do not replace it
    window.show_status("something else")
    assert window.session_banner.isVisible()
    # and the session's credentials work
    assert wait_repositories(qtbot, window, host) == ["demo/app", "other/tools"]
    page = window.registries.registry_page
    assert "until Spyglass quits" in page.header.subtitle.text()


def test_removing_a_registry_takes_it_off_the_banner_and_shows_the_next_one(
        qtbot: QtBot, window: MainWindow, alice_registry: RegistryFacts,
        demo_registry: RegistryFacts) -> None:
    alice, demo = alice_registry.host, demo_registry.host
    add_registry(qtbot, window, alice, "alice", "wonderland")
    add_registry(qtbot, window, demo, insecure=True)
    window.show_session_only(demo)  # as if its password, too, lasted only this session
    qtbot.waitUntil(lambda: alice in window.session_banner.text, timeout=WAIT_MS)
    assert demo in window.session_banner.text
    window.registries.confirm = lambda title, text, accept: True
    model = window.registries.model
    window.registries.tree.setCurrentIndex(model.registry_index(alice))
    qtbot.waitUntil(lambda: window.content.currentWidget() is not window.image_view,
                    timeout=WAIT_MS)
    assert window.registries.remove_registry(alice)
    assert window.session_banner.text == SESSION_ONLY.format(host=demo)
    # the registry the tree moved to is shown, not the welcome page under its title
    current = model.registry_node(window.registries.tree.currentIndex())
    assert current is not None and current.host == demo
    assert window.content.currentWidget() is not window.image_view
    assert demo in window.windowTitle()
    assert window.registries.remove_registry(demo)
    assert not window.session_banner.isVisible()
    assert window.windowTitle() == "Spyglass"  # (it named the registry removed)


def test_removing_a_registry_from_its_page_leaves_the_keyboard_in_the_sidebar(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """Remove Registry… pressed from the keyboard: as the page went, Qt moved the focus
    to the first screen's text, and nothing in the sidebar was current. It goes back to
    the tree (on the next registry), and to LOCAL once the last is gone, as Delete in
    the tree leaves it."""
    hosts = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    window = make_window(Settings(first_run_done=True, registries=[
        RegistrySettings(host, insecure=True) for host in hosts]))
    b = window.registries
    b.confirm = lambda *_: True
    page = b.registry_page
    for host, left in ((hosts[0], b.tree), (hosts[1], window.tree)):
        b.tree.setCurrentIndex(b.model.registry_index(host))
        focus(qtbot, b.tree)
        focus(qtbot, page.remove_button)  # (Tab from the tree)
        qtbot.keyClick(page.remove_button, Qt.Key.Key_Return)
        assert host not in b.model.hosts
        assert QApplication.focusWidget() is left
    assert b.tree.isHidden()


def test_editing_keeps_the_saved_password_and_removing_forgets_it(
        qtbot: QtBot, make_window: Callable[..., MainWindow], alice_registry: RegistryFacts,
        keyring_store: CredentialStore) -> None:
    window = make_window(credentials=keyring_store)
    host = alice_registry.host
    add_registry(qtbot, window, host, "alice", "wonderland")
    backend = keyring_store._keyring.backend()
    qtbot.waitUntil(lambda: backend.get_password(KEYRING_SERVICE, host) is not None,
                    timeout=WAIT_MS)
    dialog = window.registries.edit_registry(host)
    assert dialog is not None and dialog.host_edit.isReadOnly()
    assert dialog.user_edit.text() == "alice" and dialog.password_edit.text() == ""
    qtbot.waitUntil(lambda: dialog.password_edit.placeholderText()
                    == "unchanged — type to replace it", timeout=WAIT_MS)
    # the saved password is what the test uses
    assert test_connection(qtbot, dialog).startswith("Connected\n")
    dialog.insecure_box.setChecked(True)
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.settings.registry(host).insecure, timeout=WAIT_MS)
    assert backend.get_password(KEYRING_SERVICE, host) is not None
    assert wait_repositories(qtbot, window, host) == ["demo/app", "other/tools"]

    asked: list[str] = []
    window.registries.confirm = lambda title, text, accept: asked.append(text) or True
    window.registries.tree.setCurrentIndex(window.registries.model.registry_index(host))
    qtbot.mouseClick(window.registries.registry_page.remove_button, Qt.MouseButton.LeftButton)
    assert "forgotten too" in asked[0]
    assert window.registries.model.hosts == []
    assert window.settings.registries == []
    qtbot.waitUntil(lambda: backend.get_password(KEYRING_SERVICE, host) is None,
                    timeout=WAIT_MS)
    assert window.content.currentWidget() is window.image_view
    assert window.sidebar.add_registry_link.isVisible()


def test_editing_a_registry_whose_password_was_not_kept_says_so(
        qtbot: QtBot, make_window: Callable[..., MainWindow], alice_registry: RegistryFacts,
        keyring_store: CredentialStore) -> None:
    """Without a usable keyring a password lasts for the session only: after a restart
    the Edit dialog does not claim one is saved."""
    from spyglass.core.settings import RegistrySettings

    window = make_window(credentials=keyring_store)
    window.settings.set_registry(RegistrySettings(alice_registry.host, "alice"))
    dialog = window.registries.edit_registry(alice_registry.host)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.password_edit.placeholderText()
                    == "none saved — type it to sign in", timeout=WAIT_MS)
    # what one edits has the focus (the host is fixed, and out of Tab's way)
    assert dialog.focusWidget() is dialog.password_edit
    assert dialog.host_edit.focusPolicy() == Qt.FocusPolicy.ClickFocus
    dialog.close()


def test_a_locked_keyring_is_said_locked_and_asked_again_once_unlocked(
        qtbot: QtBot, make_window: Callable[..., MainWindow], alice_registry: RegistryFacts,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """GNOME Keyring or KWallet not unlocked: the window says so (not "sign in"), and once
    it is unlocked, Try Again signs in with what it keeps, with no restart."""
    from spyglass.core.credentials import Credentials
    from spyglass.core.credentials import keyring_store as keyring_module
    from tests.helpers.keyrings import LockableKeyring

    monkeypatch.setattr(keyring_module, "KEYRING_LOCKED_PAUSE", 0.2)
    host = alice_registry.host
    backend = LockableKeyring()
    environ = store_environ(tmp_path / "env")
    CredentialStore(keyring_backend=backend, environ=environ).save(
        host, Credentials("alice", "wonderland"))
    backend.locked = True
    window = make_window(Settings(first_run_done=True,
                                  registries=[RegistrySettings(host, "alice")]),
                         credentials=CredentialStore(keyring_backend=backend, environ=environ))
    model = window.registries.model
    with qtbot.waitSignal(model.registryFailed, timeout=WAIT_MS) as blocker:
        window.registries.tree.setCurrentIndex(model.registry_index(host))
    sentence = blocker.args[1]
    assert sentence.endswith(
        f"the registry {host} wants valid credentials. The keyring backend LockableKeyring, "
        "where Spyglass keeps credentials, is locked: unlock it and try again."), sentence
    assert "Edit Registry" not in sentence
    page = window.registries.registry_page
    assert page.panel.body.text() == sentence and page.retry_button.isVisible()
    # Edit Registry does not claim that no password is saved
    dialog = window.registries.edit_registry(host)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.password_edit.placeholderText()
                    == "not read: the keyring is locked — unlock it, or type it",
                    timeout=WAIT_MS)
    dialog.close()
    # unlocked: Try Again signs in with the password it keeps
    backend.locked = False
    qtbot.wait(300)  # past the pause that spares the user a prompt for each request
    qtbot.mouseClick(page.retry_button, Qt.MouseButton.LeftButton)
    assert wait_repositories(qtbot, window, host) == ["demo/app", "other/tools"]


def test_signing_in_while_the_keyring_is_locked_says_so_in_the_banner(
        qtbot: QtBot, make_window: Callable[..., MainWindow], alice_registry: RegistryFacts,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spyglass.core.transports import registry as registry_module
    from spyglass.gui.session_banner import LOCKED_SESSION_ONLY
    from tests.helpers.keyrings import LockableKeyring

    backend = LockableKeyring(locked=True)
    store = CredentialStore(keyring_backend=backend, environ=store_environ(tmp_path / "env"))
    monkeypatch.setitem(registry_module._stores, None, store)  # the process's: the window's
    window = make_window(credentials=store)
    host = alice_registry.host
    add_registry(qtbot, window, host, "alice", "wonderland")
    qtbot.waitUntil(window.session_banner.isVisible, timeout=WAIT_MS)
    assert window.session_banner.text == LOCKED_SESSION_ONLY.format(
        keyring="The keyring backend LockableKeyring", host=host)
    assert backend.stored(host) is None
    # the password serves this session
    assert wait_repositories(qtbot, window, host) == ["demo/app", "other/tools"]


# -- errors


class _NotARegistry(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html>a web page</html>"
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotARegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_test_connection_says_what_failed(qtbot: QtBot, window: MainWindow,
                                          registry_binary: str, web_server: str,
                                          tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from tests.helpers.names import resolver
    from tests.helpers.registry import RegistryServer

    # a name that resolves nowhere is said so without asking the machine's DNS server
    monkeypatch.setattr(socket, "getaddrinfo", resolver({}))

    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, f"127.0.0.1:{free_port()}")
    text = test_connection(qtbot, dialog)
    assert text.startswith("The connection failed\nCannot reach the registry ")
    assert "connection refused" in text and "Errno" not in text
    assert dialog.last_check is not None and dialog.last_check.problem == "connection"
    assert dialog.result_frame.isVisible()
    dialog.user_edit.setText("someone")  # the result was of other fields: it goes
    assert not dialog.result_frame.isVisible()
    dialog.user_edit.setText("")

    fill_registry_dialog(qtbot, dialog, "no-such-registry.invalid")
    assert test_connection(qtbot, dialog).startswith(
        "The connection failed\nCannot reach the registry ")

    fill_registry_dialog(qtbot, dialog, web_server, insecure=True)
    text = test_connection(qtbot, dialog)
    assert dialog.last_check is not None
    assert dialog.last_check.problem in ("registry", "tls"), text  # see the report

    with RegistryServer(binary=registry_binary, tls=True) as tls:
        fill_registry_dialog(qtbot, dialog, tls.host, insecure=False)
        text = test_connection(qtbot, dialog)
        assert text.startswith("The secure (TLS) connection failed\n")
        assert "could not be verified" in text and "--tls-verify" not in text
        # allowing it to be insecure is the way through
        dialog.insecure_box.setChecked(True)
        assert test_connection(qtbot, dialog).startswith("Connected\n")

    fill_registry_dialog(qtbot, dialog, "not a host")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.host_error.isVisible() and "not a registry host" in dialog.host_error.text()
    dialog.reject()


def _skopeo_sees_tag(server: Any, home: Path) -> None:
    import os
    import shutil
    import subprocess

    from tests.helpers.registry import seed_image

    skopeo = shutil.which("skopeo")
    if skopeo is None:
        return
    with server.client() as client:
        manifest, _digest = seed_image(client, "trusted/app")
        client.put("/v2/trusted/app/manifests/v1", content=manifest,
                   headers={"Content-Type": json.loads(manifest)["mediaType"]}
                   ).raise_for_status()
    done = subprocess.run([skopeo, "list-tags", f"docker://{server.host}/trusted/app"],
                          env=dict(os.environ, HOME=str(home)), capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Tags"] == ["v1"]


def test_a_registry_with_a_private_ca_is_trusted_from_the_dialog(
        qtbot: QtBot, window: MainWindow, registry_binary: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    from tests.helpers.registry import RegistryServer

    with RegistryServer(binary=registry_binary, tls=True) as tls:
        assert tls.ca_path is not None
        dialog = window.registries.add_registry()
        fill_registry_dialog(qtbot, dialog, tls.host, insecure=False)
        text = test_connection(qtbot, dialog)
        assert text.startswith("The secure (TLS) connection failed\n")
        assert dialog.trust_button.isVisible()

        # a file that is no certificate: said in the result, the button stays for another
        not_a_cert = tmp_path / "notes.txt"
        not_a_cert.write_text("hello\n")
        dialog.trust_certificate(not_a_cert)
        qtbot.waitUntil(lambda: not dialog.testing, timeout=WAIT_MS)
        assert dialog.result_text.startswith("The CA certificate could not be added\n")
        assert f'"{not_a_cert}" holds no certificate' in dialog.result_text
        assert dialog.trust_button.isVisible()

        # the CA, picked in the file dialog: trusted, and the test runs again by itself
        shown: list[str] = []

        def pick(parent: object, caption: str, folder: str, filters: str) -> tuple[str, str]:
            shown.append(caption)
            return str(tls.ca_path), filters
        monkeypatch.setattr(QFileDialog, "getOpenFileName", pick)
        with qtbot.waitSignals([dialog.trusted, dialog.checked], timeout=WAIT_MS * 3):
            qtbot.mouseClick(dialog.trust_button, Qt.MouseButton.LeftButton)
        checked = dialog.last_check
        assert shown == [f"CA Certificate for {tls.host}"]
        assert checked is not None and checked.ok
        written = Path.home() / ".config/containers/certs.d" / tls.host / "ca.crt"
        assert written.is_file()
        assert dialog.result_text.startswith("Connected\n")
        assert dialog.result_text.endswith(
            f"\n\nThe CA certificate is trusted for {tls.host} now: it is in "
            f"~/.config/containers/certs.d/{tls.host}/ca.crt, where skopeo and podman find "
            "it too.")
        assert not dialog.trust_button.isVisible()
        assert dialog.accept_button.text() == "Add"  # not "Add Anyway" any more
        # a certificate added while the fields were edited: said, not tested with others
        before = dialog._inputs()
        dialog.user_edit.setText("someone")
        dialog._trusted(tls.host, Path.home() / "x.crt", before)
        assert not dialog.testing and dialog.test_button.isEnabled()
        assert dialog.result_text.startswith(f"The CA certificate is trusted for {tls.host}")
        dialog.user_edit.setText("")
        # skopeo finds it there too (containers/image reads ~/.config/containers/certs.d)
        _skopeo_sees_tag(tls, Path.home())
        # added, the registry is browsed over verified TLS
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
        node = window.registries.model.registry_node(
            window.registries.model.registry_index(tls.host))
        assert node is not None and not node.config.insecure
        # a CA trusted later (Edit Registry): the tree's connection is made anew
        wait_repositories(qtbot, window, tls.host)
        old, chosen = node.connection, window.registries.chosen_index()
        window.registries.editing._ca_trusted(tls.host)
        assert node.connection is not old
        assert window.registries.chosen_index() == chosen  # what is shown stays


@pytest.mark.parametrize(("error", "headline"), [
    ("NotARegistry", "This is not a container registry"),
    ("AccessDenied", "The registry denied access"),
    ("TLSFailed", "The secure (TLS) connection failed"),
])
def test_each_kind_of_failure_has_its_headline(qtbot: QtBot, window: MainWindow,
                                               monkeypatch: pytest.MonkeyPatch,
                                               error: str, headline: str) -> None:
    from spyglass.core import errors
    from spyglass.gui import registry_jobs

    class Failing:
        def __init__(self, host: str, **_kwargs: object) -> None:
            self.host = host

        def check_credentials(self, **_kwargs: object) -> None:
            raise getattr(errors, error)(f"The registry {self.host} said no.")

    monkeypatch.setattr(registry_jobs, "RegistryClient", Failing)
    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, "registry.example.com", "bob", "builder")
    assert test_connection(qtbot, dialog) == \
        f"{headline}\nThe registry registry.example.com said no."
    dialog.reject()


def test_an_unreachable_registry_is_a_sentence_in_the_pane_and_the_tree(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    host = f"127.0.0.1:{free_port()}"
    window = make_window(Settings(first_run_done=True,
                                  registries=[RegistrySettings(host, insecure=True)]))
    model = window.registries.model
    index = model.registry_index(host)
    assert index.isValid() and model.canFetchMore(index)
    assert model.rowCount(index) == 0  # nothing is fetched before someone looks
    with qtbot.waitSignal(model.registryFailed, timeout=WAIT_MS * 4) as blocker:
        window.registries.tree.setCurrentIndex(index)
    sentence = blocker.args[1]
    assert "connection refused" in sentence and host in sentence
    page = window.registries.registry_page
    assert page.stack.currentWidget() is page.panel
    assert page.panel.title.text() == f"Cannot list the repositories of {host}"
    assert page.panel.body.text() == sentence
    assert page.retry_button.isVisible()
    message = model.index(0, 0, index)
    assert model.data(message, KIND_ROLE) == "message"
    assert model.data(message) == "Cannot be listed"  # (the page says the sentence)
    assert model.data(message, Qt.ItemDataRole.AccessibleTextRole) == sentence
    assert not model.flags(message) & Qt.ItemFlag.ItemIsEnabled
    node = model.registry_node(index)
    assert isinstance(node, RegistryNode) and node.state is LoadState.FAILED
    assert window.status_text == ""  # said on the page in sight, not a third time


def test_ten_thousand_tags_in_one_answer(qtbot: QtBot, window: MainWindow,
                                         registry_binary: str) -> None:
    """distribution 2.8 ignores ``n`` for tags/list: 10,000 tags come in one answer."""
    from spyglass.gui.models.registry_digests import MAX_WANTED
    from spyglass.gui.models.registry_rows import RepositoryNode
    from tests.helpers.registry import RegistryServer, seed_tags

    with RegistryServer(binary=registry_binary) as server:
        names = seed_tags(server, "big/many", 10_000, direct=True)
        add_registry(qtbot, window, server.host, insecure=True)
        model = window.registries.model
        inserts: list[int] = []
        model.rowsInserted.connect(
            lambda parent, first, last: model.data(parent, KIND_ROLE) == "repository"
            and inserts.append(last - first + 1))
        assert open_repository_page(qtbot, window, server.host, "big/many") == names
        assert inserts == [10_000]
        page = window.registries.repository_page
        qtbot.waitUntil(lambda: page.count.text() == "10,000 tags", timeout=WAIT_MS)
        node = model.node(model.repository_index(server.host, "big/many"))
        assert isinstance(node, RepositoryNode)
        # digests only for the rows on screen: a few dozen HEAD requests, not 10,000
        first_row = model.tag_index(server.host, "big/many", names[0])
        qtbot.waitUntil(lambda: model.data(first_row, DIGEST_ROLE) is not None,
                        timeout=WAIT_MS)
        qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
        asked = sum(1 for t in node.tags if t.digest is not None or t.error or t.pending)
        assert 0 < asked <= MAX_WANTED
        page.table.scrollToBottom()
        last_row = model.tag_index(server.host, "big/many", names[-1])
        qtbot.waitUntil(lambda: model.data(last_row, DIGEST_ROLE) is not None,
                        timeout=WAIT_MS)
        # one manifest behind every tag: each known one is an alias of the others
        assert len(model.data(last_row, ALIASES_ROLE)) >= 1
        # Reload (F5) lists them again
        assert window.reload_action.isEnabled()
        with qtbot.waitSignal(model.tagsLoaded, timeout=WAIT_MS,
                              check_params_cb=lambda host, repo, done: done):
            window.reload_action.trigger()
        assert model.rowCount(model.repository_index(server.host, "big/many")) == 10_000
        window.close()


def paged_tag_names() -> list[str]:
    """2,999 tags whose lexical order (a registry's) is far from their natural order (the
    window's): 1.0.0 … 3.19.39 and v1 … v599."""
    return [f"{major}.{minor}.{patch}" for major in range(1, 4) for minor in range(20)
            for patch in range(40)] + [f"v{n}" for n in range(1, 600)]


def test_tags_in_pages_of_100_go_in_among_the_rows_without_filtering_them_again(
        qtbot: QtBot, make_window: Callable[..., MainWindow], registry_binary: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry that pages its tags at 100 (Quay, GHCR, Harbor) sends them in lexical
    order, 1.0.10 before 1.0.2: each page put in order with a layout change sent every row
    listed so far through both pages' filters (689,000 filterAcceptsRow calls for 56
    pages) and the tree's layout again: 14 s frozen for 5,449 tags. Rows now go in where
    they belong, each filtered once per page that shows its repository."""
    from spyglass.core.natural import natural_key
    from spyglass.gui.models.registry_filter import ChildFilterModel
    from tests.helpers.pager import PagingRelay
    from tests.helpers.registry import RegistryServer, seed_tags

    filtered = [0]
    filter_row = ChildFilterModel.filterAcceptsRow

    def counted(proxy: ChildFilterModel, row: int, parent: Any) -> bool:
        filtered[0] += 1
        return filter_row(proxy, row, parent)

    monkeypatch.setattr(ChildFilterModel, "filterAcceptsRow", counted)
    window = make_window()
    names = paged_tag_names()
    with RegistryServer(binary=registry_binary) as server, \
            PagingRelay(server.host, cap=100) as relay:
        seed_tags(server, "big/paged", len(names), names=names, direct=True)
        add_registry(qtbot, window, relay.address, insecure=True)
        model = window.registries.model
        layouts: list[int] = []
        model.layoutChanged.connect(lambda *_: layouts.append(1))
        filtered[0] = 0
        listed = open_repository_page(qtbot, window, relay.address, "big/paged")
        assert listed == sorted(names, key=natural_key)
        assert relay.tag_requests("big/paged") == 30  # (pages of 100)
        assert layouts == []
        assert filtered[0] <= 3 * len(names)
        page = window.registries.repository_page
        assert page.tag_texts() == listed
        assert page.count.text() == "2,999 tags"
        window.close()


@pytest.mark.parametrize("link_form", ['<{target}>; REL="Next"', "<{target}>"],
                         ids=["caps", "no-rel"])
def test_tags_linked_on_in_another_form_are_all_listed(
        qtbot: QtBot, window: MainWindow, registry_binary: str, link_form: str) -> None:
    """A ``Link`` not written exactly ``rel="next"`` left the repository with its first
    page of tags, shown as all of them."""
    from tests.helpers.pager import PagingRelay
    from tests.helpers.registry import RegistryServer, seed_tags

    with RegistryServer(binary=registry_binary) as server, \
            PagingRelay(server.host, cap=3, link_form=link_form) as relay:
        names = seed_tags(server, "paged/app", 7)
        add_registry(qtbot, window, relay.address, insecure=True)
        assert open_repository_page(qtbot, window, relay.address, "paged/app") == names
        assert relay.tag_requests("paged/app") == 3
        assert window.registries.repository_page.count.text() == "7 tags"
        window.close()


def test_a_refused_delete_is_a_sentence_in_the_repository_page(
        qtbot: QtBot, window: MainWindow, registry_binary: str, sample_layout: Path,
        tmp_path: Path) -> None:
    from tests.gui.conftest import fill_registry
    from tests.helpers.registry import RegistryServer

    with RegistryServer(binary=registry_binary,
                        extra_config={"storage": {"delete": {"enabled": False}}}) as server:
        fill_registry(server, sample_layout, tmp_path)
        add_registry(qtbot, window, server.host, insecure=True)
        wait_repositories(qtbot, window, server.host)
        model, tree = window.registries.model, window.registries.tree
        repo = model.repository_index(server.host, "demo/app")
        tree.expand(repo)
        wait_tags(qtbot, window, server.host, "demo/app")
        with qtbot.waitSignal(window.image_view.imageShown, timeout=WAIT_MS):
            tree.setCurrentIndex(model.tag_index(server.host, "demo/app", "1.9"))
        window.registries.confirm = lambda title, text, accept: True
        page = window.registries.repository_page
        focus(qtbot, tree)
        qtbot.keyClick(tree, Qt.Key.Key_Delete)  # the tag's image is shown: Delete in the tree
        qtbot.waitUntil(lambda: bool(page.banner.text), timeout=WAIT_MS)
        assert window.content.currentWidget() is page
        assert "does not support this operation" in page.banner.text
        assert window.status_text == page.banner.text
        assert wait_tags(qtbot, window, server.host, "demo/app") == [
            "1.2", "1.9", "1.10", "latest"]
        window.close()


def test_the_open_a_tag_hint_shows_only_while_there_are_tags(
        qtbot: QtBot, window: MainWindow, own_registry: RegistryFacts) -> None:
    host = own_registry.host
    add_registry(qtbot, window, host, insecure=True)
    open_repository_page(qtbot, window, host, "demo/app")
    page = window.registries.repository_page
    assert page.hint.isVisible()
    own_registry.server.stop()  # the registry goes away: listing the tags again fails
    model = window.registries.model
    model.reload(model.repository_index(host, "demo/app"))
    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.panel, timeout=WAIT_MS * 4)
    assert not page.hint.isVisible()  # nothing to double-click


def test_the_session_banner_names_a_keyring_file_nobody_chose(
    make_window: Callable[..., MainWindow], keyring_store: CredentialStore
) -> None:
    """keyring's fallback to a readable file, not used for new passwords unless chosen:
    the banner says so, with the setting that chooses it."""
    keyring_store._keyring._chosen = False  # as if keyring had fallen back to it by itself
    window = make_window(credentials=keyring_store)
    window.show_session_only("r.example")
    text = window.session_banner.text
    assert text == SESSION_ONLY.format(host="r.example"), text  # one plain sentence
    assert window.session_banner.label.toolTip().endswith(
        "to use it, set PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring.")


def test_a_new_password_says_it_removed_the_one_an_earlier_spyglass_kept(
    qtbot: QtBot, make_window: Callable[..., MainWindow], keyring_store: CredentialStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An earlier Spyglass kept a password in the keyring file nobody chose; a different
    one typed now removes it (it would outlive the new one) and is kept until Spyglass
    quits: the status bar says the old one went, where before it went unsaid."""
    import socket

    from spyglass.gui.dialogs.registry import RegistryInput
    from tests.helpers.names import resolver

    # (the registry added is listed: r.example resolves nowhere, without a DNS query)
    monkeypatch.setattr(socket, "getaddrinfo", resolver({}))

    keyring_store._keyring._chosen = False  # as if keyring had fallen back to it by itself
    backend = keyring_store._keyring.backend()
    backend.set_password("spyglass", "r.example",
                         json.dumps({"username": "alice", "password": "old"}))
    window = make_window(credentials=keyring_store)
    window.registries.editing._registry_added(
        RegistryInput("r.example", "alice", "new", insecure=False, check=None))
    qtbot.waitUntil(lambda: "was removed" in window.status_text, timeout=WAIT_MS)
    assert window.status_text == (
        f"The other password an earlier Spyglass kept for r.example in "
        f"{keyring_store.passed_over} was removed: the new one is kept until Spyglass "
        "quits.")
    assert backend.get_password("spyglass", "r.example") is None


def test_a_wrong_field_is_said_under_it_and_the_dialog_makes_room(
        qtbot: QtBot, window: MainWindow) -> None:
    """In a fresh dialog (nothing shown yet that made it taller), the sentence wraps onto
    the lines it needs instead of being squeezed into the checkbox below it."""

    def squeezed(label: QLabel) -> bool:
        return label.height() < label.heightForWidth(label.width())

    dialog = window.registries.add_registry()
    dialog.show()
    fill_registry_dialog(qtbot, dialog, "not a host!")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.host_error.isVisible()
    qtbot.waitUntil(lambda: not squeezed(dialog.host_error), timeout=WAIT_MS)
    fill_registry_dialog(qtbot, dialog, "registry.example", "alice")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.host_error.isHidden()  # said under the password, which has the focus
    assert dialog.password_error.isVisible()
    assert dialog.password_error.text() == "Enter the password or token for alice."
    qtbot.waitUntil(lambda: not squeezed(dialog.password_error), timeout=WAIT_MS)
    # as wide as the field above it: it wrapped at half that, a short sentence on 2 lines
    assert dialog.password_error.width() >= dialog.password_edit.width() - 2
    dialog.reject()


def test_deleting_a_tag_someone_else_deleted_lists_the_tags_again(
        qtbot: QtBot, window: MainWindow, own_registry: RegistryFacts) -> None:
    """The registry says it has no such image: the banner says so, and the tag is looked
    up again without a Reload (the stale row no longer shows the old digest)."""
    import httpx

    host = own_registry.host
    add_registry(qtbot, window, host, insecure=True)
    open_repository_page(qtbot, window, host, "demo/app")
    select_table_tag(qtbot, window, "1.9")
    digest = own_registry.digests["demo/app:1.9"]
    model = window.registries.model

    def row() -> Any:
        return model.node(model.tag_index(host, "demo/app", "1.9"))

    qtbot.waitUntil(lambda: str(row().digest) == digest, timeout=WAIT_MS)  # shown, as known
    gone = httpx.delete(f"http://{host}/v2/demo/app/manifests/{digest}")
    assert gone.status_code == 202
    window.registries.confirm = lambda title, text, accept: True
    page = window.registries.repository_page
    window.registries.table_actions["delete"].trigger()
    qtbot.waitUntil(lambda: bool(page.banner.text), timeout=WAIT_MS)
    assert "has no such image" in page.banner.text
    # distribution 2.8 still lists a tag whose manifest was deleted: the row stays, and
    # says what the registry says of it now, not the digest it had
    qtbot.waitUntil(lambda: row().digest is None and "has no such image" in (row().error or ""),
                    timeout=WAIT_MS)


def test_reloading_a_registry_that_is_down_keeps_what_was_listed(
        qtbot: QtBot, window: MainWindow, own_registry: RegistryFacts,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # F5 during an outage took away every repository listed, and the tags open
    host = own_registry.host
    add_registry(qtbot, window, host, insecure=True)
    listed = wait_repositories(qtbot, window, host)
    model = window.registries.model
    window.registries.tree.setCurrentIndex(model.registry_index(host))
    own_registry.server.stop()
    window.reload_current_location()
    page = window.registries.registry_page
    qtbot.waitUntil(lambda: "The list shown is as it was read at" in page.banner.text,
                    timeout=WAIT_MS * 4)
    assert f"Cannot reach the registry {host}" in page.banner.text
    assert wait_repositories(qtbot, window, host) == listed
    own_registry.server.start()
    # there, but its catalog cannot be read now (storage down: 503): kept all the same
    import spyglass.gui.registries as registries_module
    from spyglass.core.errors import RegistryError

    class Broken:
        def next_page(self, cancel: object) -> None:
            raise RegistryError("Listing the repositories failed: HTTP 503.", status=503)

    with monkeypatch.context() as patched:
        patched.setattr(registries_module, "catalog_listing", lambda _connection: Broken())
        window.reload_current_location()
        qtbot.waitUntil(lambda: "HTTP 503. The list shown" in page.banner.text,
                        timeout=WAIT_MS)
        assert wait_repositories(qtbot, window, host) == listed
    # back: F5 lists it again
    before = model.registry_node(model.registry_index(host)).children[0]
    window.reload_current_location()
    qtbot.waitUntil(lambda: model.registry_node(model.registry_index(host)).children[:1]
                    != [before], timeout=WAIT_MS)  # listed anew
    assert wait_repositories(qtbot, window, host) == listed


def test_reloading_a_registry_down_after_a_later_page_failed_keeps_what_was_listed(
        qtbot: QtBot, window: MainWindow, own_registry: RegistryFacts,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Load all failed in the outage (the registry then in its failed state, with the rows
    # read before): F5 took them all away, where it keeps them after a complete page

    import spyglass.gui.models.registry_listings as registry_listings
    import spyglass.gui.registry_jobs as registry_jobs
    from spyglass.gui.models.places import LoadState
    from spyglass.gui.models.registry_rows import RepositoryNode

    monkeypatch.setattr(registry_jobs, "CATALOG_PAGE_SIZE", 1)  # a page per repository
    real_listing = registry_listings.catalog_listing

    def down_after_the_first_page(connection: Any) -> registry_jobs.Listing:
        listing = real_listing(connection)
        pages = listing._open

        def opened(cancel: Any) -> Iterator[Any]:
            read = pages(cancel)
            yield next(read)
            own_registry.server.stop()  # the outage: the next page is asked of nobody
            yield from read

        listing._open = opened
        return listing

    monkeypatch.setattr(registry_listings, "catalog_listing", down_after_the_first_page)
    host = own_registry.host
    add_registry(qtbot, window, host, insecure=True)
    model = window.registries.model
    window.registries.tree.setCurrentIndex(model.registry_index(host))
    node = model.registry_node(model.registry_index(host))
    assert node is not None

    def names() -> list[str]:
        return [c.name for c in node.children if isinstance(c, RepositoryNode)]

    qtbot.waitUntil(lambda: node.state is LoadState.FAILED, timeout=WAIT_MS * 4)
    listed = names()
    assert listed and not node.done  # the first page, then the next one failed
    window.reload_current_location()
    page = window.registries.registry_page
    qtbot.waitUntil(lambda: "The list shown is as it was read at" in page.banner.text,
                    timeout=WAIT_MS * 4)
    assert names() == listed
    own_registry.server.start()


def test_a_registry_whose_password_was_not_kept_says_so_above_what_is_known(
        qtbot: QtBot, make_window: Callable[..., MainWindow],
        alice_registry: RegistryFacts) -> None:
    """The window started again, with no keyring: the user name is remembered, the
    password is not; the repository opened by name stays listed, and the page says why
    the rest is not (it was left to the status bar)."""
    host = alice_registry.host
    settings = Settings(first_run_done=True, registries=[RegistrySettings(
        host, username="alice", insecure=True, repositories=["demo/app"])])
    window = make_window(settings)
    window.registries.tree.setCurrentIndex(window.registries.model.registry_index(host))
    assert wait_repositories(qtbot, window, host) == ["demo/app"]
    page = window.registries.registry_page
    qtbot.waitUntil(lambda: bool(page.banner.text), timeout=WAIT_MS)
    assert page.banner.text.startswith(f"Listing the repositories of {host} failed: the "
                                       "registry")
    assert page.banner.text.endswith("Only those known already are shown.")
    assert "Edit Registry" in page.banner.text  # the way to sign in


def test_a_test_connection_to_a_server_that_never_answers_can_be_stopped(
        qtbot: QtBot, window: MainWindow) -> None:
    # it holds the test for half a minute; Stop Test ends it, and its answer is not taken
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        dialog = window.registries.add_registry()
        fill_registry_dialog(qtbot, dialog, f"127.0.0.1:{silent.getsockname()[1]}")
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        assert dialog.testing and dialog.test_button.text() == "Stop Test"
        assert dialog.test_button.isEnabled()
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        assert not dialog.testing and dialog.test_button.text() == "Test Connection"
        assert dialog.result_text.startswith("Test stopped.")
        qtbot.wait(100)
        assert dialog.result_text.startswith("Test stopped.")
        # and Add adds, without a test of its own (as after a failed one)
        assert dialog.accept_button.text() == "Add Anyway"
        with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
            qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
        assert not dialog.testing


def test_reloading_a_repository_that_is_gone_says_so(
        qtbot: QtBot, window: MainWindow, own_registry: RegistryFacts,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # "no such repository" is an answer, not an outage: the list is read again and says it
    import spyglass.gui.registries as registries_module
    from spyglass.core.errors import RepositoryNotFound

    host = own_registry.host
    add_registry(qtbot, window, host, insecure=True)
    wait_repositories(qtbot, window, host)
    model = window.registries.model
    window.registries.tree.expand(model.repository_index(host, "demo/app"))
    wait_tags(qtbot, window, host, "demo/app")
    window.registries.tree.setCurrentIndex(model.repository_index(host, "demo/app"))

    class Gone:
        def next_page(self, cancel: object) -> None:
            raise RepositoryNotFound("Listing the tags failed: no such repository.")

    monkeypatch.setattr(registries_module, "tag_listing", lambda *_args: Gone())
    node = model.node(model.repository_index(host, "demo/app"))
    before = node.children[0]
    window.reload_current_location()
    qtbot.waitUntil(lambda: node.children[:1] != [before], timeout=WAIT_MS)  # listed anew
    assert "The list shown is as it was read" not in window.status_text
    assert "The list shown is as it was read" not in \
        window.registries.repository_page.banner.text


def test_a_registry_expanded_and_a_repository_clicked_read_one_page_of_the_catalog(
        qtbot: QtBot, window: MainWindow, registry_binary: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A catalog is read a page at a time, each when asked for: adding a registry (which
    expands it in the tree) and clicking a repository on its page (which expands it
    again) read the first page alone; the tree's end coming into sight reads the next,
    and "Load all" the rest (an expanded registry read its whole catalog, re-laying out
    the tree after every page: 18 s frozen for 23,000 repositories)."""
    from spyglass.gui import registry_jobs
    from tests.helpers.registry import RegistryServer, seed_repos

    monkeypatch.setattr(registry_jobs, "CATALOG_PAGE_SIZE", 50)
    logged = {"log": {"accesslog": {"disabled": False}}}
    with RegistryServer(binary=registry_binary, extra_config=logged) as server:
        names = seed_repos(server, 300, prefix="many/repo-")

        def asked() -> int:
            return sum('"GET /v2/_catalog' in line
                       for line in server.log_path.read_text().splitlines())

        add_registry(qtbot, window, server.host, insecure=True)
        model, tree = window.registries.model, window.registries.tree
        registry = model.registry_index(server.host)
        node = model.registry_node(registry)
        assert node is not None
        qtbot.waitUntil(lambda: model.rowCount(registry) == 50 and window.runner.active == 0,
                        timeout=WAIT_MS)
        assert tree.isExpanded(registry)
        page = window.registries.registry_page
        assert page.count.text() == "50 repositories so far"
        assert page.load_all_button.isVisible()
        shown = page.proxy.index(3, 0, page.list.rootIndex())
        qtbot.mouseClick(page.list.viewport(), Qt.MouseButton.LeftButton,
                         pos=page.list.visualRect(shown).center())
        assert window.content.currentWidget() is window.registries.repository_page
        assert wait_tags(qtbot, window, server.host, names[3]) == ["latest"]
        # the page shows the tag's digest: its look-up (a HEAD on a worker thread) ends
        # in its own time, then nothing else follows by itself
        wait_digests(qtbot, window, server.host, names[3], ["latest"])
        qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
        qtbot.wait(200)  # what would follow by itself has had its time
        assert window.runner.active == 0
        assert model.rowCount(registry) == 50 and node.more
        assert asked() == 1
        # the tree scrolled to its end: the next page
        qtbot.waitUntil(lambda: tree.verticalScrollBar().maximum() > 0, timeout=WAIT_MS)
        tree.scrollToBottom()
        qtbot.waitUntil(lambda: model.rowCount(registry) == 100, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
        qtbot.wait(100)
        assert model.rowCount(registry) == 100 and asked() == 2
        # and Load All, the rest: from the keyboard (it was a link in the count, which
        # Tab never reached), Tab from the filter
        tree.setCurrentIndex(registry)
        focus(qtbot, page.filter)
        qtbot.keyClick(page.filter, Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is page.load_all_button
        qtbot.keyClick(page.load_all_button, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: node.done, timeout=WAIT_MS)
        assert wait_repositories(qtbot, window, server.host) == names
        assert page.count.text() == "300 repositories"
        assert page.load_all_button.isHidden()
        window.close()


def test_a_catalog_in_pages_of_100_is_read_a_page_at_a_time_too(
        qtbot: QtBot, window: MainWindow, registry_binary: str) -> None:
    """A page shorter than the 1,000 asked for was taken for the last but one, and the
    next read at once: a registry that caps its pages at 100 had its whole catalog read
    as it was selected (41 requests for 4,004 repositories), and "Load all" never
    showed. Whether a page is the last is what its answer's ``Link`` says."""
    from tests.helpers.pager import PagingRelay
    from tests.helpers.registry import RegistryServer, seed_repos

    with RegistryServer(binary=registry_binary) as server, \
            PagingRelay(server.host, cap=100) as relay:
        names = seed_repos(server, 250, prefix="many/repo-")
        add_registry(qtbot, window, relay.address, insecure=True)
        model, tree = window.registries.model, window.registries.tree
        registry = model.registry_index(relay.address)
        node = model.registry_node(registry)
        assert node is not None
        tree.setCurrentIndex(registry)
        qtbot.waitUntil(lambda: model.rowCount(registry) == 100 and window.runner.active == 0,
                        timeout=WAIT_MS)
        qtbot.wait(200)  # what would follow by itself has had its time
        assert window.runner.active == 0 and node.more
        assert relay.catalog_requests() == 1
        page = window.registries.registry_page
        assert page.count.text() == "100 repositories so far"
        assert page.load_all_button.isVisible()
        # the tree scrolled to its end: the next page
        qtbot.waitUntil(lambda: tree.verticalScrollBar().maximum() > 0, timeout=WAIT_MS)
        tree.scrollToBottom()
        qtbot.waitUntil(lambda: model.rowCount(registry) == 200, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
        assert relay.catalog_requests() == 2
        # Load All: the last page, known as the last by itself (no request after it)
        page.load_all_button.click()
        qtbot.waitUntil(lambda: node.done, timeout=WAIT_MS)
        assert wait_repositories(qtbot, window, relay.address) == names
        assert relay.catalog_requests() == 3
        assert page.count.text() == "250 repositories"
        window.close()


def test_a_keyring_that_failed_is_said_failed_not_missing(
        qtbot: QtBot, make_window: Callable[..., MainWindow], alice_registry: RegistryFacts,
        tmp_path: Path) -> None:
    """It said there was no keyring, and to set one up; at start, to sign in again."""
    from spyglass.core.credentials import Credentials
    from tests.helpers.keyrings import FailingKeyring

    host = alice_registry.host
    backend = FailingKeyring(failing=False)
    environ = store_environ(tmp_path / "env")
    CredentialStore(keyring_backend=backend, environ=environ).save(
        host, Credentials("alice", "wonderland"))
    backend.failing = True
    store = CredentialStore(keyring_backend=backend, environ=environ)
    window = make_window(Settings(first_run_done=True,
                                  registries=[RegistrySettings(host, "alice")]),
                         credentials=store)
    model = window.registries.model
    with qtbot.waitSignal(model.registryFailed, timeout=WAIT_MS) as blocker:
        window.registries.tree.setCurrentIndex(model.registry_index(host))
    failed = "The keyring backend FailingKeyring failed (RuntimeError: backend exploded)"
    assert (f"the registry {host} wants valid credentials. {failed}, so it could not be "
            f"asked for credentials for {host}.") in blocker.args[1]
    # signing in again: kept for the session, and the banner says why
    dialog = window.registries.edit_registry(host)
    assert dialog is not None
    fill_registry_dialog(qtbot, dialog, host, "alice", "wonderland")
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.session_banner.isVisible, timeout=WAIT_MS)
    assert window.session_banner.text == (
        f"{failed}, so the password for {host} is kept only until Spyglass quits. Once "
        "the keyring works, start Spyglass again and type it in Edit Registry… to keep it.")


def test_the_connection_check_of_a_tls_registry_with_a_plain_http_token_server_fails(
        registry_binary: str) -> None:
    """Add/Edit Registry's check: the password is kept from the token server on plain
    HTTP, so /v2/ answering its anonymous token checks nothing; the check says why."""
    import shutil

    from spyglass.core.cancel import CancelToken
    from spyglass.core.credentials import Credentials
    from spyglass.gui.registry_jobs import check_connection
    from tests.helpers.registry import ALICE, RegistryServer
    from tests.helpers.tokenserver import TokenServer

    with TokenServer(users=dict([ALICE])) as tokens, RegistryServer(
            binary=registry_binary, tls=True, token_server=tokens) as tls:
        assert tls.ca_path is not None and tokens.realm.startswith("http://")
        trusted = Path.home() / ".config/containers/certs.d" / tls.host
        trusted.mkdir(parents=True)
        try:
            shutil.copyfile(tls.ca_path, trusted / "ca.crt")
            check = check_connection(tls.host, insecure=False, credentials=Credentials(*ALICE),
                                     store=None, cancel=CancelToken())
        finally:
            shutil.rmtree(trusted)
    assert check.problem == "auth"
    assert check.sentence.startswith(f"The credentials for {tls.host} could not be checked. "
                                     f"The password for {tls.host} was not sent over plain "
                                     "HTTP:"), check.sentence


def test_the_connection_check_says_an_unchecked_certificate(registry_binary: str) -> None:
    """An insecure registry on TLS whose certificate no one trusts: "Connected. H answers
    as a registry, without signing in." said nothing of the certificate not checked, where
    plain HTTP is said."""
    from spyglass.core.cancel import CancelToken
    from spyglass.gui.registry_jobs import check_connection
    from tests.helpers.registry import RegistryServer

    with RegistryServer(binary=registry_binary, tls=True) as tls:
        check = check_connection(tls.host, insecure=True, credentials=None, store=None,
                                 cancel=CancelToken())
    assert check.ok
    assert check.sentence == (f"{tls.host} answers as a registry over TLS without checking "
                              "its certificate, without signing in.")
