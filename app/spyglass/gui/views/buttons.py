"""Buttons that Enter presses as Space does, where they have the focus.

Qt presses a focused button on Enter only in a dialog, and only a push button that is
its default there (``autoDefault``): in the main window a keyboard or screen-reader user
who tabbed to "List Files…", "Retry" or a copy icon pressed Enter, as on the web and in
GTK, and nothing happened. :func:`press_on_enter` gives any button that, without making it
a dialog's default button (which would take Enter from the fields of a dialog it is in).
"""

from __future__ import annotations

from itertools import pairwise

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QIcon, QKeyEvent
from PySide6.QtWidgets import QAbstractButton, QDialogButtonBox, QPushButton, QWidget

ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class _PressOnEnter(QObject):
    """Clicks the button it watches on Enter or Return with no modifier but the keypad's."""

    def __init__(self, button: QAbstractButton) -> None:
        super().__init__(button)
        self._button = button
        button.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter."""
        if watched is self._button and event.type() == QEvent.Type.KeyPress \
                and isinstance(event, QKeyEvent) and event.key() in ENTER_KEYS \
                and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            if self._button.isEnabled():
                self._button.click()
            return True
        return False


def press_on_enter(button: QAbstractButton) -> None:
    """Let Enter press ``button`` while it has the focus (once, however often called)."""
    if not presses_on_enter(button):
        _PressOnEnter(button)


def presses_on_enter(button: QAbstractButton) -> bool:
    """Whether Enter presses ``button`` where it has the focus (:func:`press_on_enter`)."""
    return button.findChild(_PressOnEnter, options=Qt.FindChildOption.FindDirectChildrenOnly) \
        is not None


def push_button(text: str, tooltip: str = "", parent: QWidget | None = None) -> QPushButton:
    """A push button of a pane, which Enter presses where it has the focus (as Space does),
    and which never becomes a dialog's default (Enter in a field goes on to that)."""
    button = QPushButton(text, parent)
    if tooltip:
        button.setToolTip(tooltip)
    button.setAutoDefault(False)
    press_on_enter(button)
    return button


def tab_as_drawn(box: QDialogButtonBox) -> None:
    """Tab goes through the buttons of ``box`` in the order they are drawn. Qt chains
    them in the order they were added, and the platform's style lays them out in its own
    (the accept button before Cancel in Fusion, after it in GNOME's), so Tab went
    Cancel → Add with Add drawn left of Cancel. Call it once the box is in its dialog
    (put in, its buttons are chained in the order they were added again)."""
    layout = box.layout()
    if layout is None:
        return
    items = (layout.itemAt(i) for i in range(layout.count()))
    drawn = [widget for item in items
             if item is not None and isinstance(widget := item.widget(), QAbstractButton)]
    for before, after in pairwise(drawn):
        QWidget.setTabOrder(before, after)


def plain_buttons(dialog: QWidget) -> None:
    """Take the icons off the standard buttons (Cancel, Close, OK) of ``dialog``'s button
    boxes (or of ``dialog``, a button box): Qt gives them one where the platform theme
    asks for it (plain X11, Xfce), and none to the buttons a dialog names itself (Add,
    Copy), so one row mixed both. Call it once the buttons are in."""
    boxes = [dialog] if isinstance(dialog, QDialogButtonBox) \
        else dialog.findChildren(QDialogButtonBox)
    for box in boxes:
        for button in box.buttons():
            button.setIcon(QIcon())
