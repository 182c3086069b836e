"""What screen readers are told of the window: every button, view and field by a name,
status changes said aloud, the sentence of a wrong field linked to it, the painted
"signed" pill in the cell's text, and secondary text that can be read (4.5:1) in a
light and a dark palette. Names are read as a reader gets them, through
``QAccessible.queryAccessibleInterface``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QTableView,
    QTextEdit,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor
from spyglass.gui.dialogs.crash import CrashDialog
from spyglass.gui.dialogs.layer_files import LayerFilesDialog
from spyglass.gui.main_window import MainWindow
from tests.gui.scripted import FakeClock, ScriptedCopy, start_scripted


def name_of(widget: QWidget) -> str:
    interface = QAccessible.queryAccessibleInterface(widget)
    assert interface is not None
    return interface.text(QAccessible.Text.Name)


def description_of(widget: QWidget) -> str:
    interface = QAccessible.queryAccessibleInterface(widget)
    assert interface is not None
    return interface.text(QAccessible.Text.Description)


def own_tool_buttons(window: QWidget) -> list[QToolButton]:
    """The window's icon and mark buttons (not the clear buttons Qt puts in line edits,
    nor the tab bar's and menu bar's scroll buttons, which Qt names itself)."""
    return [button for button in window.findChildren(QToolButton)
            if not isinstance(button.parent(), QLineEdit | QTableView)
            and button.parent().metaObject().className() not in ("QTabBar", "QMenuBar")]


# -- buttons


def test_icon_and_close_buttons_are_named_by_what_they_do(qtbot: QtBot, demo: MainWindow) -> None:
    """The copy buttons, "+", Back and the ✕ buttons: a reader said "push button" (no name)
    or "multiplication x"."""
    overview = demo.image_view.overview
    digest_button = overview.copy_button("Digest")
    assert digest_button is not None
    assert name_of(digest_button) == "Copy the digest"
    assert name_of(demo.add_registry_button) == "Add a registry"
    raw = demo.image_view.raw
    assert name_of(raw.back_button) == "Back to the previous document"
    assert name_of(raw.copy_button) == "Copy this document's JSON"
    assert name_of(demo.copying.panel.close_button) == "Hide the Transfers panel"
    assert name_of(demo.session_banner.close_button) == "Dismiss"
    buttons = own_tool_buttons(demo)
    assert len(buttons) > 6
    for button in buttons:
        name = name_of(button)
        assert len(name) > 3 and any(c.isalpha() for c in name), (button.toolTip(), name)


# -- views and fields


def unnamed(root: QWidget) -> list[str]:
    """The views, text panes and fields under ``root`` that a reader gets with no name
    (the line edits of combo and spin boxes are theirs)."""
    def wanted(widget: QWidget) -> bool:
        if isinstance(widget, QLineEdit):
            return not isinstance(widget.parent(), QComboBox | QAbstractSpinBox)
        return isinstance(widget, QAbstractItemView | QTextEdit | QPlainTextEdit) \
            and not isinstance(widget, QHeaderView)  # (the table's own)

    return [f"{type(widget).__name__} in {widget.parent().metaObject().className()}"
            for widget in root.findChildren(QWidget)
            if wanted(widget) and not name_of(widget).strip()]


def test_trees_tables_lists_panes_and_filters_say_what_they_hold(
        qtbot: QtBot, demo: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """A reader entering a view heard "tree" or "table", and a filter field its hint
    only; the sidebar's trees are named as their captions say."""
    assert name_of(demo.tree) == "Local places"
    assert name_of(demo.registries.tree) == "Registries"
    view = demo.image_view
    assert [name_of(table) for table in (view.platforms.table, view.layers.table,
                                         view.history.table, demo.copying.panel.table)] \
        == ["Platforms", "Layers", "History", "Transfers"]
    assert name_of(demo.registries.repository_page.table) == "Tags"
    assert name_of(demo.registries.repository_page.filter) == "Filter tags"
    assert name_of(demo.registries.registry_page.filter) == "Filter repositories"
    assert name_of(demo.registries.registry_page.list) == "Repositories"
    assert unnamed(demo) == []

    class Untouched:
        def open_blob(self, *_args: object, **_kwargs: object) -> None:
            raise AssertionError("nothing is read")

    blob = Descriptor("application/wasm", Digest.of(b"\0asm"), 4)
    files = LayerFilesDialog(demo.runner, Untouched(), blob, "module.wasm")  # type: ignore[arg-type]
    qtbot.addWidget(files)
    assert name_of(files.filter) == "Filter by path"
    assert name_of(files.table) == "Files"
    crash = CrashDialog("RuntimeError: boom", "Traceback …")
    qtbot.addWidget(crash)
    transfer = start_scripted(qtbot, demo, scripted, FakeClock(), tmp_path)
    panel = demo.copying.panel
    panel.select(transfer)
    details = panel.show_details(transfer)
    assert details is not None
    for dialog in (files, crash, details):
        assert unnamed(dialog) == [], dialog.windowTitle()
