"""The system libraries Qt's window needs, and which of them this system lacks, asked
before Qt is loaded.

PySide6's wheels carry Qt, but not the libraries Qt links to. Without one, importing
``PySide6.QtWidgets`` fails with an ``ImportError`` naming a ``.so`` (``libEGL.so.1``
for every platform), or Qt's xcb plugin aborts the process (status 134, perhaps a core
dump) with "Reinstalling the application may fix this problem" (``libxcb-cursor.so.0``).
:func:`missing_libraries_problem` says instead which library is missing and the
package that holds it.

The Makefile's ``WINDOW_PACKAGES`` (``make window-deps``, ``make run``) is
:data:`WINDOW_LIBRARIES`'s Debian packages, printed by running this file as a script
(``python3 app/spyglass/cli/window_libraries.py``): one list for both. The file needs
only the standard library, as a script too.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Final, NamedTuple

__all__ = ["WINDOW_LIBRARIES", "WindowLibrary", "debian_packages", "import_problem",
           "missing_libraries_problem"]


class WindowLibrary(NamedTuple):
    """A library Qt's window loads: its file name (``None`` for a package of data, such as
    fonts), the Debian (and Ubuntu) package that holds it, and whether only the xcb
    platform (X11) needs it."""

    soname: str | None
    debian: str
    xcb_only: bool


WINDOW_LIBRARIES: Final = (
    WindowLibrary("libEGL.so.1", "libegl1", False),
    WindowLibrary("libGL.so.1", "libgl1", False),
    WindowLibrary("libxkbcommon.so.0", "libxkbcommon0", False),
    WindowLibrary("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", True),
    WindowLibrary("libxcb-cursor.so.0", "libxcb-cursor0", True),
    WindowLibrary("libxcb-icccm.so.4", "libxcb-icccm4", True),
    WindowLibrary("libxcb-image.so.0", "libxcb-image0", True),
    WindowLibrary("libxcb-keysyms.so.1", "libxcb-keysyms1", True),
    WindowLibrary("libxcb-randr.so.0", "libxcb-randr0", True),
    WindowLibrary("libxcb-render-util.so.0", "libxcb-render-util0", True),
    WindowLibrary("libxcb-shape.so.0", "libxcb-shape0", True),
    WindowLibrary("libxcb-xinerama.so.0", "libxcb-xinerama0", True),
    WindowLibrary("libxcb-xfixes.so.0", "libxcb-xfixes0", True),
    WindowLibrary("libxcb-xkb.so.1", "libxcb-xkb1", True),
    WindowLibrary("libfontconfig.so.1", "libfontconfig1", False),
    WindowLibrary("libdbus-1.so.3", "libdbus-1-3", False),
    WindowLibrary(None, "fonts-dejavu-core", False),
)
"""What Qt's window needs beyond PySide6's wheel (``ldd`` of its ``libqxcb.so`` and of
``libQt6Gui.so.6``, less what every desktop system has: libc, libstdc++, glib, X11),
in the order ``make window-deps`` names them."""

Loader = Callable[[str], object]
"""Loads a shared library by its file name, raising ``OSError`` when it cannot."""


def debian_packages() -> list[str]:
    """The Debian packages of :data:`WINDOW_LIBRARIES` (the Makefile's ``WINDOW_PACKAGES``)."""
    return [library.debian for library in WINDOW_LIBRARIES]


def _load(soname: str) -> object:
    return ctypes.CDLL(soname)


def missing(xcb: bool, load: Loader | None = None) -> list[WindowLibrary]:
    """The libraries of :data:`WINDOW_LIBRARIES` that cannot be loaded here: those every
    platform needs, and the xcb platform's when ``xcb``. Loading them is what Qt does
    next anyway (each is loaded once)."""
    load = load or _load
    lacking = []
    for library in WINDOW_LIBRARIES:
        if library.soname is None or (library.xcb_only and not xcb):
            continue
        try:
            load(library.soname)
        except OSError:
            lacking.append(library)
    return lacking


def libraries_sentence(lacking: Sequence[WindowLibrary]) -> str:
    """What is missing, as one sentence naming the files, the Debian or Ubuntu command
    that installs them, and what to look for elsewhere."""
    names = [library.soname or library.debian for library in lacking]
    packages = " ".join(library.debian for library in lacking)
    if len(lacking) == 1:
        return (f"The window needs the system library {names[0]}, which is not installed: "
                f"on Debian or Ubuntu, sudo apt-get install {packages}; on another system, "
                f"install the package of your distribution that provides {names[0]}.")
    return (f"The window needs system libraries that are not installed: "
            f"{', '.join(names)}; on Debian or Ubuntu, sudo apt-get install {packages}; on "
            "another system, install the packages of your distribution that provide them.")


def missing_libraries_problem(xcb: bool, load: Loader | None = None) -> str | None:
    """Why the window cannot start for want of a system library, as a sentence; ``None``
    when every library it needs (the xcb platform's too when ``xcb``) can be loaded."""
    lacking = missing(xcb, load)
    return libraries_sentence(lacking) if lacking else None


def import_problem(exc: ImportError) -> str | None:
    """An ``ImportError`` of Qt for a system library (``libEGL.so.1: cannot open shared
    object file``) as the sentence of :func:`libraries_sentence` (any library named,
    one of the table or not); ``None`` for an error that names no shared library."""
    text = str(exc)
    known = [library for library in WINDOW_LIBRARIES
             if library.soname is not None and library.soname in text]
    if known:
        return libraries_sentence(known)
    soname = _soname_in(text.split())
    if soname is None:
        return None
    return (f"The window needs the system library {soname}, which Qt could not load "
            f"({text.strip()}): install the package of your distribution that provides it.")


def _soname_in(words: Iterable[str]) -> str | None:
    for word in words:
        name = word.strip("'\":,()")
        if ".so" in name and not name.endswith(".py"):
            return name.rsplit("/", 1)[-1]
    return None


if __name__ == "__main__":  # the Makefile's WINDOW_PACKAGES
    sys.stdout.write(" ".join(debian_packages()) + "\n")
