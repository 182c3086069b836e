"""What screen readers are told of the window: every button, view and field by a name,
status changes said aloud, the sentence of a wrong field linked to it, the painted
"signed" pill in the cell's text, and secondary text that can be read (4.5:1) in a
light and a dark palette. Names are read as a reader gets them, through
``QAccessible.queryAccessibleInterface``."""

from __future__ import annotations

from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QLineEdit, QTableView, QToolButton, QWidget
from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow


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
