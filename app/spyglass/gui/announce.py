"""Saying a change aloud: what the status bar and the banners show, sent to screen readers
as an announcement.

A reader speaks what has the focus. A label elsewhere that changes its text (the status
bar's "Copied …", a banner's sentence) only changed its name, which Orca does not say:
a copy finished or failed, or a place failed to open, in silence. An announcement
(``QAccessibleAnnouncementEvent``, AT-SPI's ``object:announcement``) is said whatever
has the focus.

Callers are the few places every message goes through (``MainWindow.show_status``,
``Banner.show_text``) and what ends a user's own request in failure; this module is the
one place that builds the event.
"""

from __future__ import annotations

import time
from typing import Any, Final

from PySide6 import QtGui
from PySide6.QtCore import QObject
from PySide6.QtGui import QAccessible

ANNOUNCEMENT: Final[Any] = getattr(QtGui, "QAccessibleAnnouncementEvent", None)
"""Qt's announcement event, new in Qt 6.8: with an older PySide6 (the window runs on 6.7
and later) nothing is announced, and the window starts all the same."""

REPEAT_S: Final = 1.0
"""The same sentence again within this many seconds is not said again (a banner and the
status bar given one sentence at once; a copy button pressed twice)."""

_last: tuple[str, float] = ("", -REPEAT_S)


def announce(source: QObject, text: str, *, assertive: bool = False) -> None:
    """Have screen readers say ``text``, from ``source`` (the widget that shows it).

    Polite waits until the reader has finished what it is saying (a copy done, text
    copied); ``assertive`` interrupts it: for a request of the user's that failed (a
    place or an image that cannot be opened, a registry that cannot be reached).
    Nothing is sent when no assistive technology listens (Qt drops it).
    """
    global _last
    if ANNOUNCEMENT is None:
        return
    said = " ".join(text.split())
    now = time.monotonic()
    if not said or (said == _last[0] and now - _last[1] < REPEAT_S):
        return
    _last = (said, now)
    event = ANNOUNCEMENT(source, said)
    event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive if assertive
                        else QAccessible.AnnouncementPoliteness.Polite)
    QAccessible.updateAccessibility(event)


def forget() -> None:
    """Forget the last sentence said (a test's announcements do not meet the last test's)."""
    global _last
    _last = ("", -REPEAT_S)


__all__ = ["announce", "forget"]
