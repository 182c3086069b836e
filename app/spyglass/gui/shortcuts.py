"""The window's keys that come from the platform's key bindings, and the keys the window
gives its own actions.

The platform's bindings differ between desktops: on GNOME and XFCE (Qt's gtk3 theme),
Refresh is Ctrl+R before F5, and ``setShortcut(QKeySequence.StandardKey.Refresh)`` took
Ctrl+R only. Reload Location then lost the F5 the README promises, and Ctrl+R in the
Transfers table, its Retry, was ambiguous and did nothing. Every key taken from the
platform goes through :func:`platform_keys` (one seam the tests give another desktop's
bindings through), and :func:`keys_for` makes an action's keys of the platform's plus the
ones promised, less those another action of the window has.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from PySide6.QtGui import QKeySequence

StandardKey = QKeySequence.StandardKey

RETRY_KEYS: Final = "Ctrl+R"
"""Retry in the Transfers table."""
RELOAD_KEYS: Final = "F5"
"""Reload Location, as the README says it, on every desktop."""
CLOSE_LOCATION_KEYS: Final = "Ctrl+W"
"""Close Location, as the README says it, beside the platform's Close."""
CONTEXT_MENU_KEYS: Final = "Shift+F10"
"""A tree's or table's context menu, as the Menu key opens it (keyboards without one)."""


def platform_keys(key: StandardKey) -> list[QKeySequence]:
    """All the platform's bindings of ``key``, its preferred first (a QKeySequence made
    of ``key`` keeps only that one)."""
    return list(QKeySequence.keyBindings(key))


def standard_key(key: StandardKey) -> QKeySequence:
    """The platform's preferred binding of ``key`` (none: an empty sequence)."""
    keys = platform_keys(key)
    return keys[0] if keys else QKeySequence()


def keys_for(bindings: Iterable[QKeySequence], *, promised: Iterable[str] = (),
             taken: Iterable[str] = ()) -> list[QKeySequence]:
    """An action's keys: the ones ``promised`` (as the README gives them) first, then the
    platform's ``bindings`` in their order, without any that are ``taken`` by another
    action of the window, and each once."""
    dropped = [QKeySequence(keys) for keys in taken]
    chosen: list[QKeySequence] = []
    for sequence in [*(QKeySequence(keys) for keys in promised), *bindings]:
        if not sequence.isEmpty() and sequence not in dropped and sequence not in chosen:
            chosen.append(sequence)
    return chosen


def reload_keys(bindings: Iterable[QKeySequence] | None = None) -> list[QKeySequence]:
    """Reload Location's keys, of the Refresh ``bindings`` (none given: the platform's):
    F5 first, never the Transfers table's Retry (Ctrl+R, GNOME's first Refresh)."""
    if bindings is None:
        bindings = platform_keys(StandardKey.Refresh)
    return keys_for(bindings, promised=[RELOAD_KEYS], taken=[RETRY_KEYS])


def close_location_keys(bindings: Iterable[QKeySequence] | None = None) -> list[QKeySequence]:
    """Close Location's keys, of the Close ``bindings`` (none given: the platform's):
    Ctrl+W first, then the platform's (Ctrl+F4 on some)."""
    if bindings is None:
        bindings = platform_keys(StandardKey.Close)
    return keys_for(bindings, promised=[CLOSE_LOCATION_KEYS])
