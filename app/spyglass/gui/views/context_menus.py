"""The context menus of the window's trees and tables, opened from the keyboard.

Each view with a context menu has the ``CustomContextMenu`` policy and its own handler of
``customContextMenuRequested``, which takes the point in the viewport's coordinates (a
right click's) and opens the menu for the row there. The Menu key, which the platform
turns into a context menu event for the view with the focus, comes with a point in the
view's own coordinates, where the header shifts it: in a table the handler chose the row
below the current one (or none, past the last). Shift+F10, the Menu key of keyboards
without one, Qt on Linux leaves to each program. :func:`open_by_keyboard` makes both open
the view's menu at its current row, through the same handler as a right click.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtGui import QAction, QContextMenuEvent, QKeySequence
from PySide6.QtWidgets import QAbstractItemView

from spyglass.gui.shortcuts import CONTEXT_MENU_KEYS
from spyglass.gui.signals import emit


class KeyboardMenu(QObject):
    """The Menu key and Shift+F10 on ``view`` ask for its context menu at its current row
    (scrolled into sight first); with no current row, at a point that is on no row.

    Attributes:
        action: the Shift+F10 action (on the view, while it has the focus).
    """

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)
        self._view = view
        view.installEventFilter(self)
        self.action = QAction("Context Menu", view)
        self.action.setShortcut(QKeySequence(CONTEXT_MENU_KEYS))
        self.action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.action.triggered.connect(lambda _checked=False: self.open())
        view.addAction(self.action)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter: a context menu event from the keyboard (a right
        click's goes to the viewport, and on to the view's handler as it is)."""
        if watched is self._view and isinstance(event, QContextMenuEvent) \
                and event.reason() == QContextMenuEvent.Reason.Keyboard:
            self.open()
            return True
        return super().eventFilter(watched, event)

    def open(self) -> None:
        """Ask for the view's context menu at its current row."""
        view = self._view
        index = view.currentIndex()
        point = QPoint(-1, -1)
        if index.isValid():
            view.scrollTo(index)
            point = view.visualRect(index).center()
        emit(view.customContextMenuRequested, point)


def open_by_keyboard(view: QAbstractItemView) -> KeyboardMenu:
    """Give ``view`` (with the ``CustomContextMenu`` policy) its menu by the Menu key and
    Shift+F10, at its current row."""
    return KeyboardMenu(view)


__all__ = ["KeyboardMenu", "open_by_keyboard"]
