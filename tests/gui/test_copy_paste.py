"""The keyboard's drag and drop, as in a file manager: Ctrl+C on an image (a layout's
image, a tag, a platform) and Paste Image Here (Ctrl+V, the place's context menu, the
Edit menu) on a layout, folder, registry or repository open the Copy dialog a drop
there opens; Copy To… from a platform's row copies that platform alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QAbstractItemView
from pytestqt.qtbot import QtBot

from spyglass.gui.dialogs.copy import CopyDialog
from spyglass.gui.dragdrop import clipboard_image
from spyglass.gui.main_window import MainWindow
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import (
    WAIT_MS,
    SampleFacts,
    add_registry,
    drop_on_row,
    select_platform,
    show_image,
    wait_listed,
    wait_tags,
)
from tests.gui.test_registries import open_repository_page, select_table_tag

pytestmark = pytest.mark.gui

CTRL = Qt.KeyboardModifier.ControlModifier


def paste(qtbot: QtBot, window: MainWindow, view: QAbstractItemView) -> CopyDialog:
    """Ctrl+V on the current row of ``view``; the Copy dialog it opened."""
    window.activateWindow()
    view.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(view.hasFocus, timeout=WAIT_MS)
    with qtbot.waitSignal(window.copying.dialogOpened, timeout=WAIT_MS) as opened:
        qtbot.keyClick(view, Qt.Key.Key_V, CTRL)
    dialog = opened.args[0]
    assert isinstance(dialog, CopyDialog)
    return dialog


def test_an_image_copied_and_pasted_on_a_place_opens_the_dialog_a_drop_opens(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """Choosing the empty folder's row cleared the image view: Copy To… had nothing to
    copy, and only a drop filled in the destination there."""
    empty = tmp_path / "empty"
    empty.mkdir()
    window.open_location(sample.layout, select=False)
    window.open_location(empty, select=False)
    wait_listed(qtbot, window, 0)
    wait_listed(qtbot, window, 1)
    places, tree = window.places, window.tree
    window.activateWindow()
    tree.setFocus(Qt.FocusReason.OtherFocusReason)

    tree.setCurrentIndex(places.index(1, 0))
    QGuiApplication.clipboard().clear()
    with qtbot.assertNotEmitted(window.copying.dialogOpened):
        qtbot.keyClick(tree, Qt.Key.Key_V, CTRL)  # nothing copied yet: said so
    assert window.status_text.startswith("Copy an image first (Ctrl+C")
    menu = window.context_menu(places.index(1, 0))
    assert menu is not None
    assert "Paste Image Here" not in [action.text().replace("&", "") for action in menu.actions()]

    row = places.find_image("spyglass-demo:1.0", 0)
    tree.setCurrentIndex(row)
    qtbot.keyClick(tree, Qt.Key.Key_C, CTRL)
    assert clipboard_image() == window.copying._place_image(row)
    assert QGuiApplication.clipboard().text() == f"oci:{sample.layout}:spyglass-demo:1.0"
    assert window.status_text == f"Copied oci:{sample.layout}:spyglass-demo:1.0"

    tree.setCurrentIndex(places.index(1, 0))
    pasted = paste(qtbot, window, tree)
    destination = pasted.destination_edit.text()
    pasted.reject()
    image = window.copying._place_image(row)
    assert image is not None
    dropped = drop_on_row(qtbot, window, tree, places.index(1, 0), image)
    assert destination == dropped.destination_edit.text() == \
        f"oci:{empty}:spyglass-demo:1.0"
    dropped.reject()

    # its context menu and the Edit menu say so; its own layout takes no copy of it
    menu = window.context_menu(places.index(1, 0))
    assert menu is not None
    here = next(action for action in menu.actions()
                if action.text().replace("&", "") == "Paste Image Here")
    with qtbot.waitSignal(window.copying.dialogOpened, timeout=WAIT_MS) as opened:
        here.trigger()
    assert opened.args[0].destination_edit.text() == destination
    opened.args[0].reject()
    edit = next(action.menu() for action in window.menuBar().actions()
                if action.text() == "&Edit")
    assert window.copying.paste_action in edit.actions()
    tree.setCurrentIndex(places.index(0, 0))
    with qtbot.assertNotEmitted(window.copying.dialogOpened):
        qtbot.keyClick(tree, Qt.Key.Key_V, CTRL)
    assert "other than its own" in window.status_text


def test_a_tag_copied_is_pasted_on_a_registry_as_it_is_dropped(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts,
        sample: SampleFacts) -> None:
    """Copy Reference (Ctrl+C) on a tag puts the tag's image there too; a layout's image
    pasted on a repository's row gets the name a drop there gives it."""
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    registries = window.registries
    model, tree = registries.model, registries.tree
    qtbot.waitUntil(lambda: model.repository_index(host, "demo/app").isValid(),
                    timeout=WAIT_MS)
    repo = model.repository_index(host, "demo/app")
    tree.expand(repo)
    model.fetchMore(repo)
    wait_tags(qtbot, window, host, "demo/app")
    tag = model.tag_index(host, "demo/app", "1.10")
    open_repository_page(qtbot, window, host, "demo/app")
    select_table_tag(qtbot, window, "1.10")
    registries.table_actions["copy_reference"].trigger()  # (Ctrl+C)
    assert QGuiApplication.clipboard().text() == f"{host}/demo/app:1.10"  # as before
    assert window.status_text == f"Copied {host}/demo/app:1.10"
    assert clipboard_image() == window.copying._registry_image(tag)

    window.activateWindow()
    tree.setFocus(Qt.FocusReason.OtherFocusReason)
    tree.setCurrentIndex(model.registry_index(host))
    pasted = paste(qtbot, window, tree)
    image = window.copying._registry_image(tag)
    assert image is not None
    dropped_text = pasted.destination_edit.text()
    pasted.reject()
    dropped = drop_on_row(qtbot, window, tree, model.registry_index(host), image)
    assert dropped_text == dropped.destination_edit.text()
    dropped.reject()

    window.open_location(sample.layout, select=False)
    wait_listed(qtbot, window, 0)
    row = window.places.find_image("spyglass-demo:1.0", 0)
    window.tree.setFocus(Qt.FocusReason.OtherFocusReason)
    window.tree.setCurrentIndex(row)
    qtbot.keyClick(window.tree, Qt.Key.Key_C, CTRL)
    tree.setFocus(Qt.FocusReason.OtherFocusReason)
    tree.setCurrentIndex(repo)
    pasted = paste(qtbot, window, tree)
    assert pasted.destination_edit.text() == f"docker://{host}/demo/app:1.0"
    pasted.reject()


def test_copy_to_from_a_platforms_row_copies_that_platform_alone(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> None:
    """Dragging the row copied that platform alone; Copy To… ticked every platform."""
    window.open_location(sample.layout)
    show_image(qtbot, window, "spyglass-demo:1.0")
    select_platform(qtbot, window, "linux/arm64/v8")
    table = window.image_view.platforms.table
    window.activateWindow()
    table.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(table.hasFocus, timeout=WAIT_MS)
    with qtbot.waitSignal(window.copying.dialogOpened, timeout=WAIT_MS) as opened:
        window.copying.copy_action.trigger()
    dialog = opened.args[0]
    qtbot.waitUntil(lambda: bool(dialog.platform_boxes), timeout=WAIT_MS)
    assert [str(platform) for platform, box in dialog.platform_boxes if box.isChecked()] \
        == ["linux/arm64/v8"]
    dialog.reject()
    qtbot.keyClick(table, Qt.Key.Key_C, CTRL)  # the platform, as its drag carries it
    assert clipboard_image() == window.copying._platform_image(table.currentIndex())


def test_ctrl_c_on_a_list_s_second_image_of_a_platform_pastes_that_image(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Ctrl+C on the row of a list's second linux/amd64 image, then Ctrl+V on a folder:
    the copy chose by platform and wrote the first image. It is copied by its digest."""
    from tests.helpers.platform_lists import platform_lists

    lists = platform_lists(tmp_path / "lists")  # "dup": dupA, dupB (both linux/amd64), arm64
    second = lists.images["dupB"]["digest"]
    empty = tmp_path / "empty"
    empty.mkdir()
    window.open_location(lists.root, select=False)
    window.open_location(empty, select=False)
    wait_listed(qtbot, window, 1)
    show_image(qtbot, window, "dup")
    view = window.image_view
    view.tabs.setCurrentWidget(view.platforms)
    table = view.platforms.table
    assert str(view.platforms.model.rows[1].descriptor.digest) == second
    with qtbot.waitSignal(view.instanceShown, timeout=WAIT_MS):
        table.selectRow(1)
    # the table's caption tells the image shown from its twin
    assert f"show <b>linux/amd64, {second[:19]}</b>" in view.platforms.caption.text()
    window.activateWindow()
    table.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(table.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(table, Qt.Key.Key_C, CTRL)
    image = clipboard_image()
    assert image is not None and (image.platform, image.digest) == ("", second)
    window.tree.setCurrentIndex(window.places.index(1, 0))
    dialog = paste(qtbot, window, window.tree)
    qtbot.waitUntil(lambda: bool(dialog.digest_boxes), timeout=WAIT_MS)
    assert [box.isChecked() for box in dialog.choice_boxes()] == [False, False, True]
    manager = window.copying.manager
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    transfer = manager.transfers[-1]
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=WAIT_MS)
    assert transfer.result is not None and str(transfer.result.digest) == second
    index = json.loads((empty / "index.json").read_bytes())
    assert [entry["digest"] for entry in index["manifests"]] == [second]


def test_ctrl_c_on_a_platforms_row_says_which_platform_was_copied(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts,
        demo_registry: RegistryFacts) -> None:
    """Ctrl+C on a layout list's platform said "Copied oci:…:spyglass-demo:1.0", naming
    the whole list, and so was the text a terminal got: the platform is said, and that
    other programs get the list's name (a layout has none for one platform), as a
    registry's platform is said beside its own name by digest."""
    window.open_location(sample.layout)
    show_image(qtbot, window, "spyglass-demo:1.0")
    select_platform(qtbot, window, "linux/arm64/v8")
    view = window.image_view
    view.tabs.setCurrentWidget(view.platforms)
    table = view.platforms.table
    window.activateWindow()
    table.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(table.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(table, Qt.Key.Key_C, CTRL)
    listed = f"oci:{sample.layout}:spyglass-demo:1.0"
    assert QGuiApplication.clipboard().text() == listed
    assert window.status_text == (f"Copied {listed} (linux/arm64/v8); as text, other "
                                  "programs get the whole list's name")
    image = clipboard_image()
    assert image is not None and image.platform == "linux/arm64/v8"  # (pasted: that one)

    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    model = window.registries.model
    qtbot.waitUntil(lambda: model.repository_index(host, "demo/app").isValid(),
                    timeout=WAIT_MS)
    repo = model.repository_index(host, "demo/app")
    window.registries.tree.expand(repo)
    model.fetchMore(repo)
    wait_tags(qtbot, window, host, "demo/app")
    with qtbot.waitSignal(window.image_view.imageShown, timeout=WAIT_MS):
        window.registries.tree.setCurrentIndex(model.tag_index(host, "demo/app", "1.10"))
    select_platform(qtbot, window, "linux/arm64/v8")
    view.tabs.setCurrentWidget(view.platforms)
    window.activateWindow()
    table.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(table.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(table, Qt.Key.Key_C, CTRL)
    own = f"docker://{host}/demo/app@{sample.images['linux/arm64/v8'].manifest_digest}"
    assert QGuiApplication.clipboard().text() == own
    assert window.status_text == f"Copied {own} (linux/arm64/v8)"


def test_the_edit_menu_has_copy_image_beside_paste_and_file_names_its_copies_apart(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> None:
    """The Ctrl+C that Paste Image Here pastes was in no menu, and File had "Copy To…"
    beside "Copy Image…", which read alike: Edit has Copy Image (Ctrl+C) before Paste
    Image Here, and File's second item says it asks for a name."""
    menus = {action.text().replace("&", ""): action.menu()
             for action in window.menuBar().actions()}
    edit = [action.text().replace("&", "") for action in menus["Edit"].actions()]
    assert edit[:2] == ["Copy Image", "Paste Image Here"]
    copying = window.copying
    assert copying.clipboard_action.shortcut().matches(
        QKeySequence(QKeySequence.StandardKey.Copy)) == QKeySequence.SequenceMatch.ExactMatch
    texts = [action.text().replace("&", "") for action in menus["File"].actions()]
    assert {"Copy To…", "Copy Image by Name…"} <= set(texts)
    # the item copies the selected image as Ctrl+C on its row does
    QGuiApplication.clipboard().clear()
    copying.clipboard_action.trigger()
    assert window.status_text == "Select an image to copy first."
    window.open_location(sample.layout)
    show_image(qtbot, window, "spyglass-demo:1.0")
    copying.clipboard_action.trigger()
    assert clipboard_image() == copying.current_image()
    assert window.status_text == f"Copied oci:{sample.layout}:spyglass-demo:1.0"
    # Ctrl+C in the tree is still the tree's (the item does not take the key)
    tree = window.tree
    window.activateWindow()
    tree.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(tree.hasFocus, timeout=WAIT_MS)
    tree.setCurrentIndex(window.places.find_image("tools:2024.1", 0))
    qtbot.keyClick(tree, Qt.Key.Key_C, CTRL)
    assert QGuiApplication.clipboard().text() == f"oci:{sample.layout}:tools:2024.1"
