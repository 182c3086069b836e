"""Windows that fit their screen.

Qt opens a window at the size it is given, whatever the screen: a 1200x760 window
on a 1280x720 laptop, or a 1080p screen at 150 % (1280x720 logical), ends below the
screen's edge with its status bar and buttons out of reach. Windows and dialogs ask
for the size they would like through :func:`fitted_size`, which caps it at a share
of the room their screen leaves (panels and docks taken off), and a window put back
where it was on another screen is brought within this one by :func:`keep_on_screen`.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

SCREEN_SHARE = 0.9
"""The most of its screen's room a window opens at: what is left is for its frame and
for the window below it to show that it is one."""


def screen_room(widget: QWidget) -> QRect | None:
    """The room (the available geometry) of the screen ``widget`` is on, or of the
    primary screen before it is on one; None with no screen at all."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return None if screen is None else screen.availableGeometry()


def fitted_size(widget: QWidget, width: int, height: int, *,
                share: float = SCREEN_SHARE) -> QSize:
    """``width`` x ``height``, or less where that would take more than ``share`` of the
    room of ``widget``'s screen."""
    room = screen_room(widget)
    if room is None:
        return QSize(width, height)
    return QSize(min(width, int(room.width() * share)),
                 min(height, int(room.height() * share)))


def keep_on_screen(window: QWidget) -> None:
    """Bring ``window`` (frame and all) within the room of its screen, where it is not:
    put back as it was on a larger screen (a laptop taken off its monitor), it is made
    the size a first window would be there, and moved in. A maximized or full-screen
    window is the screen's business."""
    room = screen_room(window)
    if room is None or window.isMaximized() or window.isFullScreen():
        return
    frame = window.frameGeometry()
    if room.contains(frame):
        return
    margins = frame.size() - window.size()  # (none known before the window is shown)
    if frame.width() > room.width() or frame.height() > room.height():
        window.resize(fitted_size(window, window.width(), window.height()))
    size = window.size() + margins
    x = min(max(frame.x(), room.x()), room.right() + 1 - size.width())
    y = min(max(frame.y(), room.y()), room.bottom() + 1 - size.height())
    window.move(max(x, room.x()), max(y, room.y()))
