"""The window's command line, read without Qt: Qt's own options (``-reverse``,
``-style fusion``, ``-platform offscreen``, …), given to Qt, and the paths to open.

The command line (:mod:`spyglass.cli`) asks it whether a command line opens the window
at all before anything of Qt is loaded; the window (:mod:`spyglass.gui.app`) splits it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

QT_OPTIONS_WITH_VALUES: Final = frozenset({
    "platform", "platformpluginpath", "platformtheme", "plugin", "qmljsdebugger",
    "qwindowgeometry", "qwindowicon", "qwindowtitle", "session", "style", "stylesheet",
    "display", "geometry", "title", "name", "visual", "cmap", "fontengine", "dialogs",
})
"""Qt's own command-line options that take the next argument as their value
(``-platform offscreen``; ``-style=fusion`` holds its value itself)."""

QT_FLAGS: Final = frozenset({"reverse", "widgetcount", "nograb", "dograb", "sync"})
"""Qt's own command-line options that stand alone (``-reverse``: right to left)."""


def is_qt_option(arg: str) -> bool:
    """Whether ``arg`` is one of Qt's options: one dash, and a name Qt reads (so that
    ``spyglass -reverse`` opens the window, and ``spyglass -x`` is still refused)."""
    if not arg.startswith("-") or arg.startswith("--"):
        return False
    name, has_value, _value = arg[1:].partition("=")
    return name in QT_OPTIONS_WITH_VALUES or (name in QT_FLAGS and not has_value)


def without_qt_options(argv: list[str]) -> list[str]:
    """``argv`` without Qt's options and their values: what is left to be paths."""
    rest: list[str] = []
    value_next = False
    for arg in argv:
        if value_next:
            value_next = False
        elif is_qt_option(arg):
            name = arg[1:]
            value_next = "=" not in name and name in QT_OPTIONS_WITH_VALUES
        else:
            rest.append(arg)
    return rest


def paths_after_double_dash(argv: list[str]) -> list[str] | None:
    """``spyglass [QT OPTIONS] -- PATH…``: the words after ``--``, each a path to open
    (one named as a command, or starting with ``-``, too), where ``--`` comes first
    once Qt's options are left aside; None otherwise (``spyglass inspect -- PATH`` is
    the command's to read)."""
    value_next = False
    for i, arg in enumerate(argv):
        if value_next:
            value_next = False
        elif arg == "--":
            return argv[i + 1:]
        elif is_qt_option(arg):
            name = arg[1:]
            value_next = "=" not in name and name in QT_OPTIONS_WITH_VALUES
        else:
            return None
    return None


def split_arguments(argv: list[str]) -> tuple[list[str], list[Path]]:
    """``argv`` (what follows the program's name) as Qt's options, with their values, and
    the paths to open (every word after a ``--``). The paths stay Python's: a byte of a
    name that is not UTF-8 is kept (as ``os.fsdecode`` keeps it), where a QString would
    drop it, and PySide6 crashes on such a string given to QApplication."""
    options: list[str] = []
    paths: list[Path] = []
    value_next = False
    for i, arg in enumerate(argv):
        if value_next:
            options.append(for_qt(arg))
            value_next = False
        elif arg == "--":
            paths.extend(Path(path) for path in argv[i + 1:])
            break
        elif arg.startswith("-"):
            options.append(for_qt(arg))
            name = arg.lstrip("-")
            value_next = "=" not in name and name in QT_OPTIONS_WITH_VALUES
        else:
            paths.append(Path(arg))
    return options, paths


def for_qt(arg: str) -> str:
    """``arg`` as a QString can hold it: a byte that is not UTF-8 (a surrogate here)
    becomes U+FFFD (PySide6 crashes on a surrogate)."""
    try:
        raw = arg.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # (a surrogate no byte was decoded to)
        raw = arg.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")
