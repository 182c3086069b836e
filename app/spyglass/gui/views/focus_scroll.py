"""A scroll area that scrolls to what has the keyboard's focus inside it, however the
focus came in.

``QScrollArea`` scrolls to a child only as Tab moves the focus from one of its children
to the next: Tab from the tab bar, or Shift+Tab from the Transfers panel, put the focus
on a value scrolled out of sight (the Overview's first or last), framed where nobody saw
it, and the page did not move.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget


class _FollowFocus(QObject):
    """Kept by its area (and gone with it): the application's focus changes, watched."""

    def __init__(self, area: QScrollArea) -> None:
        super().__init__(area)
        self._area = area
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        body = self._area.widget()
        if new is not None and body is not None and body.isAncestorOf(new):
            self._area.ensureWidgetVisible(new)


def follow_focus(area: QScrollArea) -> None:
    """Have ``area`` scroll to the widget in it that gets the focus, from wherever it
    came (see the module docstring)."""
    if area.findChild(_FollowFocus) is None:
        _FollowFocus(area)


__all__ = ["follow_focus"]
