"""Which of a window's keys clash: two actions or shortcuts with the same key that can be
live at once, where Qt fires neither ("Ambiguous shortcut overload") and the key does
nothing.

A key is live, by its context, in the whole window (Window, Application), in a widget and
the widgets inside it (WidgetWithChildren), or in one widget (Widget) while that has the
focus; and only while its widget shows: two pages of one stack (a QStackedWidget, a
QTabWidget's pages) never show together.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QMenu, QMenuBar, QStackedWidget, QWidget

Context = Qt.ShortcutContext
WHOLE_WINDOW = (Context.WindowShortcut, Context.ApplicationShortcut)


@dataclass(frozen=True)
class Binding:
    """One key of one action or shortcut, and where it is live."""

    name: str
    origin: QObject
    """The action or shortcut: one live in two places clashes with none."""
    keys: str
    context: Context
    widget: QWidget

    def __str__(self) -> str:
        return f"{self.name!r} ({self.keys}, {self.context.name} on " \
               f"{type(self.widget).__name__} {self.widget.accessibleName()!r})"


def _menu_owner(menu: QMenu) -> QWidget | None:
    """The window whose menu bar ``menu`` hangs from; None for a menu that pops up."""
    for owner in menu.menuAction().associatedObjects():
        if isinstance(owner, QMenuBar):
            return owner.window()
        if isinstance(owner, QMenu):
            return _menu_owner(owner)
    return None


def _owners(action: QAction) -> list[QWidget]:
    owners: list[QWidget] = []
    for owner in action.associatedObjects():
        widget = _menu_owner(owner) if isinstance(owner, QMenu) else owner
        if isinstance(widget, QWidget):
            owners.append(widget)
    return owners


def bindings(window: QWidget) -> list[Binding]:
    """Every key of ``window``'s actions and shortcuts, with where it is live."""
    found: list[Binding] = []
    # only the actions with keys are looked into (and all held while the walk goes on):
    # the action of the menu bar's own overflow menu went from under its wrapper
    actions = window.findChildren(QAction)
    for action in [a for a in actions if a.shortcuts()]:
        name = action.text().replace("&", "") or action.objectName()
        for widget in _owners(action):
            for sequence in action.shortcuts():
                found.append(Binding(name, action, sequence.toString(),
                                     action.shortcutContext(), widget))
    for shortcut in window.findChildren(QShortcut):
        parent = shortcut.parent()
        if not isinstance(parent, QWidget):
            continue
        for sequence in shortcut.keys():  # noqa: SIM118 (a QShortcut, no dict)
            found.append(Binding(shortcut.objectName() or "shortcut", shortcut,
                                 sequence.toString(), shortcut.context(), parent))
    return [b for b in found if not QKeySequence(b.keys).isEmpty()]


def _within(inner: QWidget, outer: QWidget) -> bool:
    return inner is outer or outer.isAncestorOf(inner)


def _show_together(a: QWidget, b: QWidget) -> bool:
    """Whether ``a`` and ``b`` can show at once: not on two pages of one stack."""
    widget: QObject | None = a
    while isinstance(widget, QWidget):
        parent = widget.parentWidget()
        if isinstance(parent, QStackedWidget) and not _within(b, widget) \
                and _within(b, parent):
            return False
        widget = parent
    return True


def _live_together(a: Binding, b: Binding) -> bool:
    if not _show_together(a.widget, b.widget):
        return False
    if a.context in WHOLE_WINDOW or b.context in WHOLE_WINDOW:
        return a.widget.window() is b.widget.window()
    if a.context == Context.WidgetWithChildrenShortcut and _within(b.widget, a.widget):
        return True
    if b.context == Context.WidgetWithChildrenShortcut and _within(a.widget, b.widget):
        return True
    return a.widget is b.widget


def clashes(window: QWidget) -> list[str]:
    """The pairs of ``window``'s keys that clash, each said in a line."""
    found = bindings(window)
    said: list[str] = []
    for i, a in enumerate(found):
        for b in found[i + 1:]:
            if a.keys == b.keys and a.origin is not b.origin \
                    and _live_together(a, b):
                said.append(f"{a} and {b}")
    return said
