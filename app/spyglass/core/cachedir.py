"""The user's cache folder for Spyglass, and making it without making a home folder.

``platformdirs.user_cache_dir("spyglass")`` names it (``$XDG_CACHE_HOME/spyglass``,
else ``~/.cache/spyglass``). The folder and the ones leading to it are made only
below a folder that is there already: the home folder, or ``$XDG_CACHE_HOME`` when the
cache is not in the home folder. A home folder that does not exist (``HOME`` pointing
nowhere, as services and containers often run) is never made, nor anything above it.

The settings folder follows the same rule with ``$XDG_CONFIG_HOME``
(:func:`make_user_folder`, :func:`may_make_user_folder`).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Final

APP_NAME: Final = "spyglass"

FOLDER_MODE: Final = 0o700
"""The mode of the cache and settings folders made (less the umask): what is in them says
which registries and repositories the user works with, as containers/image makes its own."""


def user_cache_folder() -> Path:
    """Where Spyglass's caches live (the folder may not exist yet)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME))


def _bases(variable: str) -> list[Path]:
    """The folders below which the user's folders may be made: the home folder, and
    ``$variable`` (``XDG_CACHE_HOME``, ``XDG_CONFIG_HOME``; only absolute paths count, as
    the XDG specification says)."""
    found = []
    for text in (os.path.expanduser("~"), os.environ.get(variable, "")):
        if text and os.path.isabs(text):
            found.append(Path(os.path.normpath(text)))
    return found


def _base_holding(folder: Path, variable: str) -> Path | None:
    """The existing home folder or ``$variable`` that ``folder`` is below, or None."""
    for base in _bases(variable):
        if folder.is_relative_to(base) and base.is_dir():
            return base
    return None


def may_make_user_folder(folder: Path, variable: str) -> bool:
    """Whether ``folder`` is there, or :func:`make_user_folder` may make it (it is below
    an existing home folder or ``$variable``). Looks only; makes nothing."""
    folder = Path(os.path.normpath(folder))
    return folder.is_dir() or _base_holding(folder, variable) is not None


def make_user_folder(folder: Path, variable: str) -> None:
    """Make ``folder`` (one of the user's folders for Spyglass) and the folders leading
    to it, but only below an existing home folder or ``$variable`` (``XDG_CACHE_HOME``
    for the cache, ``XDG_CONFIG_HOME`` for the settings); nothing when it is there
    already.

    Raises ``OSError`` when it cannot be made, or may not be: ``FileNotFoundError``
    when no such folder holds it."""
    folder = Path(os.path.normpath(folder))
    if folder.is_dir():
        return
    base = _base_holding(folder, variable)
    if base is None:
        raise FileNotFoundError(
            errno.ENOENT,
            f"neither the home folder nor ${variable} is an existing folder holding it",
            str(folder),
        )
    below = folder.relative_to(base).parts
    for depth in range(1, len(below) + 1):
        base.joinpath(*below[:depth]).mkdir(FOLDER_MODE, exist_ok=True)


def make_cache_folder(folder: Path) -> None:
    """Make ``folder`` (a cache folder) and the folders leading to it, but only below an
    existing home folder or ``$XDG_CACHE_HOME``; nothing when it is there already.

    Raises ``OSError`` when it cannot be made, or may not be: ``FileNotFoundError``
    when no such folder holds it."""
    make_user_folder(folder, "XDG_CACHE_HOME")


def make_user_cache_folder() -> Path:
    """:func:`user_cache_folder`, made if need be (see :func:`make_cache_folder`)."""
    folder = user_cache_folder()
    make_cache_folder(folder)
    return folder


__all__ = [
    "APP_NAME",
    "make_cache_folder",
    "make_user_cache_folder",
    "make_user_folder",
    "may_make_user_folder",
    "user_cache_folder",
]
