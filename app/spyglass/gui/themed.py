"""Colours given to one widget that are worked out from the palette it inherits — muted
and error text, a pane's or a notice's background — and worked out again whenever that
palette changes: a desktop switching between light and dark while the window is open
(Qt sets the application palette anew), or the widget moved into a pane of another
colour. Rich text that names colours of the palette (a muted key, JSON coloured for a
dark or a light view, links) is written again then too (:func:`on_palette_change`,
:func:`set_link_text`).

A colour worked out once and set on the widget stayed as it was, among colours that had
changed: a light theme's cream banner under a dark theme's light text read at 1.3:1, and
a signature's details black on dark grey (1.3:1).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget

from spyglass.gui.colors import error_color, link_color, muted_color

Roles = Callable[[QPalette], dict[QPalette.ColorRole, QColor]]
"""Works out the roles a widget sets for itself, from the palette it inherits."""


def inherited_palette(widget: QWidget) -> QPalette:
    """The palette ``widget`` would have without colours of its own: its parent's, or the
    application's for a window."""
    parent = widget.parentWidget()
    if parent is not None and not widget.isWindow():
        return parent.palette()
    return QApplication.palette(widget)


class _Follower(QObject):
    """Sets a widget's own colours, by kind ("text", "background"), and sets them anew
    whenever the palette it inherits changes. One for each widget that has any."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.setObjectName("palette follower")
        self._widget = widget
        self._kinds: dict[str, Roles] = {}
        self._setting = False
        widget.installEventFilter(self)

    def set(self, kind: str, roles: Roles | None) -> None:
        """Colours of ``kind`` worked out by ``roles`` from now on (none: inherited)."""
        if roles is None:
            self._kinds.pop(kind, None)
        else:
            self._kinds[kind] = roles
        self.refresh()

    def refresh(self) -> None:
        """The widget's own colours worked out from the palette it inherits now."""
        if self._setting:
            return
        self._setting = True
        try:
            base = inherited_palette(self._widget)
            own = QPalette()  # only the roles set here: the rest is inherited, and follows
            for roles in self._kinds.values():
                for role, color in roles(base).items():
                    own.setColor(role, color)
            self._widget.setPalette(own)
        finally:
            self._setting = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter: a palette that changed (the application's, or a
        parent's; Qt resolves the widget's before it tells it) is followed."""
        if watched is self._widget and event.type() in (QEvent.Type.PaletteChange,
                                                        QEvent.Type.ParentChange):
            self.refresh()
        return False


def follow_palette(widget: QWidget, kind: str, roles: Roles | None) -> None:
    """Give ``widget`` the colours ``roles`` works out from the palette it inherits, now
    and after every change of that palette; ``kind`` names them, so that setting the same
    kind again replaces them (``roles`` None: the inherited colours again)."""
    follower = widget.findChild(_Follower, "palette follower",
                                Qt.FindChildOption.FindDirectChildrenOnly)
    if follower is None:
        if roles is None:
            return
        follower = _Follower(widget)
    follower.set(kind, roles)


class _Rewriter(QObject):
    """Calls back once after the palette of a widget changed (once for a burst of
    changes: Qt may tell a widget more than once as it resolves the palettes of its
    parents)."""

    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self._widget = widget
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(callback)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter: a palette that changed is written again."""
        if watched is self._widget and event.type() == QEvent.Type.PaletteChange:
            self._timer.start()
        return False


def on_palette_change(widget: QWidget, callback: Callable[[], None]) -> None:
    """Call ``callback`` after each change of the palette ``widget`` has (the
    application's, a parent's, or its own), soon after rather than at once: for a widget
    that writes the colours of its palette into rich text (``color:#…``), which a change
    of the palette leaves as they were written, to write that text again. Colours the
    palette gives without being named (the text's own) need none of this."""
    _Rewriter(widget, callback)


def follow_icon(button: QAbstractButton, make: Callable[[QColor], QIcon]) -> None:
    """Give ``button`` the icon ``make`` draws in the button's text colour, drawn again
    when its palette changes: an icon painted in one theme's text colour was white on
    white, or black on dark grey, after a live switch between light and dark."""
    def draw() -> None:
        button.setIcon(make(button.palette().color(QPalette.ColorRole.ButtonText)))

    draw()
    on_palette_change(button, draw)


def mute(widget: QWidget, amount: float = 0.58) -> None:
    """Give a label the secondary text colour (:func:`~spyglass.gui.colors.muted_color`)."""
    follow_palette(widget, "text", lambda base: {
        QPalette.ColorRole.WindowText: muted_color(base, amount)})


def show_as_error(widget: QWidget) -> None:
    """Give a label the red of error sentences (:func:`~spyglass.gui.colors.error_color`)."""
    follow_palette(widget, "text", lambda base: {
        QPalette.ColorRole.WindowText: error_color(base)})


def plain_text(widget: QWidget) -> None:
    """Give a label its inherited text colour again (after :func:`mute` or
    :func:`show_as_error`)."""
    follow_palette(widget, "text", None)


def fill_background(widget: QWidget, color: Callable[[QPalette], QColor]) -> None:
    """Fill ``widget`` with the colour ``color`` picks from the palette it inherits."""
    widget.setAutoFillBackground(True)
    follow_palette(widget, "background", lambda base: {QPalette.ColorRole.Window: color(base)})


def color_links(text: str, palette: QPalette) -> str:
    """Rich ``text`` with each of its links (``<a …>``) in the link colour of ``palette``
    (:func:`~spyglass.gui.colors.link_color`, written into the link; one written before is
    replaced). Qt colours a link in the application palette's link colour of the moment
    it lays the text out, whatever the widget's palette, and dark themes give blues that
    read at 3.1 to 3.5:1 on their windows."""
    return _ANCHOR.sub(f"<a style='color:{link_color(palette).name()}'", text)


_ANCHOR = re.compile(r"<a(?: style='color:#[0-9a-fA-F]{6}')?(?=[\s>])")
"""The start of a link, with the colour :func:`color_links` gave it, if any."""


def set_link_text(label: QLabel, text: str) -> None:
    """Show rich ``text`` in ``label``, its links in the link colour of the label's
    palette (:func:`color_links`), and written again in that of each palette it has
    after (a theme switched while the window is open): a label lays its rich text out
    once, in the link colour of that moment (after a switch to dark, "Add Registry…"
    stayed #0000ff on dark grey, 1.9:1)."""
    if not label.property(_LINKS_FOLLOWED):
        label.setProperty(_LINKS_FOLLOWED, True)
        on_palette_change(label, lambda: _recolor_links(label))
    label.setText(color_links(text, label.palette()))


_LINKS_FOLLOWED = "spyglass.links-followed"


def _recolor_links(label: QLabel) -> None:
    text = label.text()
    colored = color_links(text, label.palette())
    if colored != text:
        label.setText(colored)


__all__ = ["color_links", "fill_background", "follow_icon", "follow_palette",
           "inherited_palette", "mute", "on_palette_change", "plain_text", "set_link_text",
           "show_as_error"]
