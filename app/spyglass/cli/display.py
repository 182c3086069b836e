"""Whether the window has a display to open on, asked before Qt is loaded.

Without one, Qt's xcb plugin aborts the process (status 134, perhaps a core dump)
after a hint about ``libxcb-cursor0`` that is wrong when the library is there and
only the display is missing. What can be told cheaply and without waiting is told
here in a sentence instead; a library of Qt's missing is told by
:mod:`spyglass.cli.window_libraries`; anything else is left for Qt to try.
"""

from __future__ import annotations

import re
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

__all__ = ["X11_SOCKET_DIR", "display_problem", "xcb_platform"]

X11_SOCKET_DIR: Final = Path("/tmp/.X11-unix")
"""Where an X server on this machine listens, display N at ``XN`` (and in the abstract
socket namespace under the same name, on Linux)."""

_LOCAL_DISPLAY: Final = re.compile(r"(?:unix)?:(\d+)(?:\.\d+)?")
"""``:0``, ``:0.0``, ``unix:0``: a display on this machine, reached by its socket.
``host:0`` and ``localhost:10.0`` (ssh's forwarding) go over TCP and are not checked."""

_WHAT_TO_DO: Final = ("start Spyglass in a desktop session, or under xvfb-run "
                      "(xvfb-run spyglass), or use its command line (spyglass --help)")


def display_problem(environ: Mapping[str, str],
                    x11_socket_dir: Path = X11_SOCKET_DIR) -> str | None:
    """Why the window cannot open here, as a sentence naming what to do; ``None`` when
    it may (or when that cannot be told without trying).

    ``QT_QPA_PLATFORM`` naming another platform than X's (``offscreen``, ``wayland``,
    ``eglfs``, ``vnc``) is Qt's business, as is ``WAYLAND_DISPLAY`` set. A ``DISPLAY``
    of this machine is asked at its socket, which answers at once; a remote one
    (``host:0``) is left to Qt, which may have to wait for it.
    """
    if not xcb_platform(environ):
        return None  # (macOS and Windows need no display variable)
    platform = environ.get("QT_QPA_PLATFORM", "").strip()
    display = environ.get("DISPLAY", "")
    if not display:
        why = ("QT_QPA_PLATFORM is xcb and DISPLAY is not set" if platform
               else "neither DISPLAY nor WAYLAND_DISPLAY is set")
        return f"There is no display to open the window on ({why}): {_WHAT_TO_DO}."
    local = _LOCAL_DISPLAY.fullmatch(display)
    if local is None:
        return None
    path = x11_socket_dir / f"X{local.group(1)}"
    answer = _x_server_answers(path)
    if answer is not False:
        return None
    where = ("nothing listens at " if path.exists() else "there is no ") + str(path)
    return (f"No X server answers on DISPLAY={display} ({where}), so the window cannot "
            f"open: {_WHAT_TO_DO}.")


def xcb_platform(environ: Mapping[str, str]) -> bool:
    """Whether Qt will open the window with its xcb platform (X11): ``QT_QPA_PLATFORM``
    naming only xcb, or naming nothing with no ``WAYLAND_DISPLAY`` set, on a system whose
    Qt has no platform of its own (not macOS, not Windows)."""
    if sys.platform in ("darwin", "win32"):
        return False
    platform = environ.get("QT_QPA_PLATFORM", "").strip()
    if platform:
        return {part.split(":", 1)[0].strip() for part in platform.split(";")} == {"xcb"}
    return not environ.get("WAYLAND_DISPLAY")


def _x_server_answers(path: Path) -> bool | None:
    """Whether an X server takes a connection at ``path`` (or at its name in the abstract
    namespace, where Linux X servers listen too): ``None`` when that cannot be told at
    once (a full backlog, a folder that may not be read). Never waits."""
    addresses = [str(path)]
    if sys.platform.startswith("linux"):
        addresses.append("\0" + str(path))
    for address in addresses:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.setblocking(False)
        try:
            probe.connect(address)
        except (FileNotFoundError, ConnectionRefusedError):
            continue
        except OSError:
            return None
        finally:
            probe.close()
        return True
    return False
