"""Helpers for the GUI tests: waiting for the window, what the sample layout holds, and
the context menus a key or a click pops up."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import (
    QAccessible,
    QAction,
    QColor,
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QPalette,
)
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMenu,
    QWidget,
)
from pytestqt.qtbot import QtBot

from spyglass.core.copy import CopyOptions, copy_image
from spyglass.core.transports import open_destination, open_source
from spyglass.gui.copy_drops import DraggedImage
from spyglass.gui.dialogs.copy import CopyDialog
from spyglass.gui.dragdrop import image_mime
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.places import LoadState

WAIT_MS = 5000
COPY_MS = WAIT_MS * 4
"""How long a test waits for a copy to finish."""


def accessible_cells(view: QAbstractItemView) -> list[str]:
    """The names of the cells (and headers) of ``view`` in sight, as a screen reader gets
    them through Qt's accessibility interface."""
    interface = QAccessible.queryAccessibleInterface(view)
    assert interface is not None
    return [interface.child(i).text(QAccessible.Text.Name)
            for i in range(interface.childCount())]


def core_copy(source: str, destination: str, options: CopyOptions | None = None) -> None:
    """Copy with the engine alone (no window): to set a place up before a test."""
    src, dst = open_source(source), open_destination(destination)
    try:
        copy_image(src, dst, options or CopyOptions())
    finally:
        dst.close()
        src.close()


def read_blob(layout: Path, digest: str) -> Any:
    algorithm, hexpart = digest.split(":")
    return json.loads((layout / "blobs" / algorithm / hexpart).read_bytes())


@dataclass(frozen=True)
class SampleImage:
    """One platform of the sample's list, as its files say."""

    platform: str
    manifest_digest: str
    manifest: dict[str, Any]
    config: dict[str, Any]

    @property
    def layer_digests(self) -> list[str]:
        return [layer["digest"] for layer in self.manifest["layers"]]


@dataclass(frozen=True)
class SampleFacts:
    layout: Path
    index_digest: str
    index: dict[str, Any]
    images: dict[str, SampleImage]
    tools_digest: str


def wait_listed(qtbot: QtBot, window: MainWindow, row: int = 0) -> None:
    """Wait until the location at ``row`` is listed or has failed."""
    def done() -> None:
        index = window.places.index(row, 0)
        assert index.isValid()
        assert window.places.data(index, window.places.STATE_ROLE) in (
            LoadState.LOADED.value, LoadState.FAILED.value)
    qtbot.waitUntil(done, timeout=WAIT_MS)


def show_image(qtbot: QtBot, window: MainWindow, label: str, row: int = 0) -> None:
    """Select the image ``label`` of the location at ``row`` and wait until it is shown."""
    wait_listed(qtbot, window, row)
    index = window.places.find_image(label, row)
    assert index.isValid(), f"no image {label} in the tree"
    view = window.image_view
    if view.state is not None and view.state.entry.label == label:
        return
    with qtbot.waitSignal(view.imageShown, timeout=WAIT_MS):
        window.tree.setCurrentIndex(index)
    assert view.state is not None and view.state.entry.label == label


def select_platform(qtbot: QtBot, window: MainWindow, platform: str) -> None:
    """Select the row of ``platform`` in the Platforms tab and wait until it is shown."""
    view = window.image_view
    model = view.platforms.model
    row = next(i for i, s in enumerate(model.rows) if str(s.descriptor.platform) == platform)
    if model.current == model.rows[row].descriptor.digest:
        return
    with qtbot.waitSignal(view.instanceShown, timeout=WAIT_MS):
        view.platforms.table.selectRow(row)
    assert view.state is not None and view.state.current is not None
    assert str(view.state.current.descriptor.platform) == platform


# -- drag and drop


def enter_on(qtbot: QtBot, button: QWidget) -> None:
    """Tab to ``button`` (its focus as Tab gives it) and press Enter there."""
    button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(button.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(button, Qt.Key.Key_Return)


def drop_on(widget: QWidget, position: QPoint, image: DraggedImage) -> bool:
    """Drag ``image`` over ``position`` of ``widget`` and drop it; True if the drop was taken."""
    mime = image_mime(image)
    buttons, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(widget, QDragEnterEvent(position, Qt.DropAction.CopyAction, mime,
                                                   buttons, keys))
    move = QDragMoveEvent(position, Qt.DropAction.CopyAction, mime, buttons, keys,
                          QEvent.Type.DragMove)
    QApplication.sendEvent(widget, move)
    if not move.isAccepted():
        return False
    drop = QDropEvent(QPointF(position), Qt.DropAction.CopyAction, mime, buttons, keys)
    QApplication.sendEvent(widget, drop)
    return drop.isAccepted()


def drop_on_row(qtbot: QtBot, window: MainWindow, view: QAbstractItemView,
                index: QModelIndex, image: DraggedImage) -> CopyDialog:
    """Drop ``image`` on the row ``index`` of ``view``; the Copy dialog it opened."""
    assert index.isValid()
    view.scrollTo(index)
    with qtbot.waitSignal(window.copying.dialogOpened, timeout=WAIT_MS) as opened:
        assert drop_on(view.viewport(), view.visualRect(index).center(), image)
    dialog = opened.args[0]
    assert isinstance(dialog, CopyDialog)
    return dialog


# -- registries


def fill_registry_dialog(qtbot: QtBot, dialog: Any, host: str, username: str = "",
                         password: str = "", *, insecure: bool | None = None) -> None:
    """Type into the Add/Edit Registry dialog's fields as a person would."""
    fields = [(dialog.user_edit, username), (dialog.password_edit, password)]
    if not dialog.host_edit.isReadOnly():
        fields.insert(0, (dialog.host_edit, host))
    for edit, text in fields:
        edit.clear()
        if text:
            qtbot.keyClicks(edit, text)
    if insecure is not None:
        dialog.insecure_box.setChecked(insecure)


def test_connection(qtbot: QtBot, dialog: Any) -> str:
    """Press Test Connection and wait for the result; return its text."""
    from PySide6.QtCore import Qt

    with qtbot.waitSignal(dialog.checked, timeout=WAIT_MS * 3):
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    text: str = dialog.result_text
    return text


test_connection.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def add_registry(qtbot: QtBot, window: MainWindow, host: str, username: str = "",
                 password: str = "", *, insecure: bool | None = None) -> None:
    """Add a registry through the dialog: fill it, test, accept, wait until it is listed."""
    from PySide6.QtCore import Qt

    dialog = window.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, host, username, password, insecure=insecure)
    assert test_connection(qtbot, dialog).startswith("Connected\n")
    with qtbot.waitSignal(window.registries.registryAdded, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)


def wait_repositories(qtbot: QtBot, window: MainWindow, host: str) -> list[str]:
    """Wait until the registry's repositories are listed; return their names."""
    from spyglass.gui.models.registry_rows import REPOSITORY_ROLE

    model = window.registries.model

    def listed() -> None:
        node = model.registry_node(model.registry_index(host))
        assert node is not None and (node.done or node.state.value == "failed")

    qtbot.waitUntil(listed, timeout=WAIT_MS)
    parent = model.registry_index(host)
    return [model.data(model.index(r, 0, parent), REPOSITORY_ROLE)
            for r in range(model.rowCount(parent))
            if model.data(model.index(r, 0, parent), REPOSITORY_ROLE) is not None]


def wait_tags(qtbot: QtBot, window: MainWindow, host: str, repository: str) -> list[str]:
    """Wait until every tag of the repository is listed; return them in tree order."""
    from spyglass.gui.models.registry_rows import TAG_ROLE, RepositoryNode

    model = window.registries.model

    def done() -> None:
        node = model.node(model.repository_index(host, repository))
        assert isinstance(node, RepositoryNode)
        assert node.done or node.state.value == "failed"

    qtbot.waitUntil(done, timeout=WAIT_MS)
    parent = model.repository_index(host, repository)
    return [model.data(model.index(r, 0, parent), TAG_ROLE)
            for r in range(model.rowCount(parent))
            if model.data(model.index(r, 0, parent), TAG_ROLE) is not None]


def dark_palette() -> QPalette:
    """A dark palette as dark themes give it (Fusion's disabled text reads 3:1 on it)."""
    palette = QPalette()
    for role, color in ((QPalette.ColorRole.Window, "#353535"),
                        (QPalette.ColorRole.WindowText, "#ffffff"),
                        (QPalette.ColorRole.Base, "#232323"),
                        (QPalette.ColorRole.AlternateBase, "#353535"),
                        (QPalette.ColorRole.Text, "#ffffff"),
                        (QPalette.ColorRole.Button, "#353535"),
                        (QPalette.ColorRole.ButtonText, "#ffffff"),
                        (QPalette.ColorRole.Highlight, "#2a82da"),
                        (QPalette.ColorRole.HighlightedText, "#ffffff"),
                        (QPalette.ColorRole.Link, "#308cc6")):  # (GTK's dark Adwaita)
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7f7f7f"))
    return palette


def text_color(widget: QWidget) -> QColor:
    """The colour a label's text is drawn in."""
    return widget.palette().color(QPalette.ColorRole.WindowText)


def mnemonics(dialog: QDialog) -> list[str]:
    """The letters Alt reaches things by in ``dialog`` (its labels, boxes and buttons, shown
    or not), with Cancel and OK lettered as GNOME and KDE letter them (Qt alone does not)."""
    for standard, text in ((QDialogButtonBox.StandardButton.Cancel, "&Cancel"),
                           (QDialogButtonBox.StandardButton.Ok, "&OK")):
        for box in dialog.findChildren(QDialogButtonBox):
            button = box.button(standard)
            if button is not None:
                button.setText(text)
    texts = [w.text() for w in dialog.findChildren(QLabel)] \
        + [w.text() for w in dialog.findChildren(QAbstractButton)]
    return [match.group(1).lower() for text in texts
            for match in re.finditer(r"&([^&\s])", text.replace("&&", ""))]


# -- context menus


def item_text(action: QAction) -> str:
    """An item's text as it reads, without the "&" of its letter."""
    return re.sub(r"&(.)", r"\1", action.text())


def menu_items(menu: QMenu) -> dict[str, bool]:
    """A menu's items (separators left out, as they read), each with whether it is enabled."""
    return {item_text(a): a.isEnabled() for a in menu.actions() if not a.isSeparator()}


def menu_letters(menu: QMenu) -> list[str]:
    """The letters that reach ``menu``'s items (lower case, one an item that has one)."""
    return [match.group(1).lower() for action in menu.actions()
            if (match := re.search(r"&([^&\s])", action.text().replace("&&", "")))]


def menu_opened_by(qtbot: QtBot, cause: Callable[[], object]) -> dict[str, bool]:
    """The items of the menu that ``cause`` pops up (closed once read)."""
    seen: list[dict[str, bool]] = []

    def read() -> None:
        menu = QApplication.activePopupWidget()
        if isinstance(menu, QMenu):
            seen.append(menu_items(menu))
            menu.close()

    QTimer.singleShot(0, read)  # (the menu runs its own event loop until it is closed)
    cause()
    qtbot.waitUntil(lambda: bool(seen), timeout=WAIT_MS)
    return seen[0]


def press_menu_key(widget: QWidget) -> None:
    """The Menu key, as the platform (xcb, Wayland) turns it into a context menu event from
    the keyboard for the window, which Qt hands to the widget with the focus: the offscreen
    platform does not, so the event is sent as the platform's would be."""
    handle = widget.window().windowHandle()
    assert handle is not None
    QApplication.sendEvent(handle, QContextMenuEvent(QContextMenuEvent.Reason.Keyboard,
                                                     QPoint(), QPoint()))


def right_click(view: QAbstractItemView, index: QModelIndex) -> None:
    """The right button pressed and let go on ``index``'s row, through the window, as a
    mouse's button goes (Qt makes the context menu event of it, on the press or the
    release as the platform has it)."""
    window = view.window()
    handle = window.windowHandle()
    assert handle is not None
    point = view.viewport().mapTo(window, view.visualRect(index).center())
    QTest.mouseClick(handle, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier,
                     point)
