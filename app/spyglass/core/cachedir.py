"""The user's cache folder for Spyglass, and making it without making a home folder.

``platformdirs.user_cache_dir("spyglass")`` names it (``$XDG_CACHE_HOME/spyglass``,
else ``~/.cache/spyglass``). The folder and the ones leading to it are made only
below a folder that is there already: the home folder, or ``$XDG_CACHE_HOME`` when the
cache is not in the home folder. A home folder that does not exist (``HOME`` pointing
nowhere, as services and containers often run) is never made, nor anything above it.

The settings folder follows the same rule with ``$XDG_CONFIG_HOME``
(:func:`make_user_folder`, :func:`may_make_user_folder`).

Spyglass's own folders (:func:`own_folders`: the cache, settings and data folders named
``spyglass``) are made 0700. One an older Spyglass made 0755 is tightened to 0700 when
it is used (:func:`tighten_own_folder`), and so are its own files in them
(:func:`tighten_own_file`): never a folder above them, never one the user does not own,
never through a symbolic link (a settings folder linked into a dotfiles repository keeps
its mode).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

APP_NAME: Final = "spyglass"

FOLDER_MODE: Final = 0o700
"""The mode of the cache and settings folders made (less the umask): what is in them says
which registries and repositories the user works with, as containers/image makes its own."""

FILE_MODE: Final = 0o600
"""The mode of Spyglass's own files in them, for the same reason."""


def user_cache_folder() -> Path:
    """Where Spyglass's caches live (the folder may not exist yet)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME))


def own_folders() -> tuple[Path, ...]:
    """Spyglass's own folders: the cache, settings and data folders (``~/.cache/spyglass``,
    ``~/.config/spyglass``, ``~/.local/share/spyglass`` or where the XDG variables say)."""
    import platformdirs

    return tuple(Path(os.path.normpath(folder)) for folder in (
        platformdirs.user_cache_dir(APP_NAME), platformdirs.user_config_dir(APP_NAME),
        platformdirs.user_data_dir(APP_NAME)))


def _tighten(path: Path, mode: int, *, folder: bool) -> None:
    """Take from ``path`` the group's and others' permissions ``mode`` does not give, where
    it is a folder (``folder``) or a regular file of the user's, not a symbolic link
    (opened without following one, and changed through that descriptor).

    A file is opened ``O_PATH`` (on Linux), never for reading: closing any ordinary
    descriptor of a file drops every POSIX lock this process holds on it, and SQLite
    locks its database and ``-shm`` files that way. Opened and closed as
    ``blob-locations.sqlite`` was used, its own connection's locks went, and another
    process closing the file took itself for its last user, deleted the write-ahead
    log this one was writing, and the file came out malformed."""
    if not folder:
        _tighten_file(path, mode)
        return
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags | (os.O_DIRECTORY if folder else 0))
    except OSError:
        return  # not there, a symbolic link, not a folder, not readable: left alone
    try:
        modes = _tightened(os.fstat(fd), mode, stat.S_ISDIR if folder else stat.S_ISREG)
        if modes is not None:
            _changed(path, lambda tight: os.fchmod(fd, tight), *modes)
    finally:
        os.close(fd)


_O_PATH: Final = getattr(os, "O_PATH", 0) if os.path.isdir("/proc/self/fd") else 0
"""``O_PATH`` where a descriptor opened so can be changed through ``/proc/self/fd``."""


def _tighten_file(path: Path, mode: int) -> None:
    """:func:`_tighten` of a file, through an ``O_PATH`` descriptor (which holds no lock
    of the file's, and drops none when closed); without one (no ``/proc``), by its path
    once :func:`os.lstat` has found it a regular file of the user's."""
    if not _O_PATH:
        try:
            modes = _tightened(os.lstat(path), mode, stat.S_ISREG)
        except OSError:
            return  # not there
        if modes is not None:
            _changed(path, lambda tight: os.chmod(path, tight), *modes)
        return
    try:
        fd = os.open(path, _O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return  # not there
    try:
        # (a symbolic link is opened as itself, and is no regular file)
        modes = _tightened(os.fstat(fd), mode, stat.S_ISREG)
        if modes is not None:
            _changed(path, lambda tight: os.chmod(f"/proc/self/fd/{fd}", tight), *modes)
    finally:
        os.close(fd)


def _tightened(found: os.stat_result, mode: int,
               kind: Callable[[int], bool]) -> tuple[int, int] | None:
    """The mode a file or folder (``found``) has and the one it is to be given, or None
    to leave it as it is: not of ``kind``, not the user's, or no looser than ``mode``."""
    now = stat.S_IMODE(found.st_mode)
    tight = now & ~(0o077 & ~mode)  # (the owner's bits and setgid are kept)
    if not kind(found.st_mode) or found.st_uid != os.getuid() or tight == now:
        return None
    return now, tight


def _changed(path: Path, change: Callable[[int], None], now: int, tight: int) -> None:
    """Give ``path`` (mode ``now``) the mode ``tight`` by ``change``, saying so in the
    log."""
    try:
        change(tight)
    except OSError as exc:
        log.info("%s is mode %o and could not be made %o (%s).", path, now, tight, exc)
        return
    log.info("%s was mode %o (an older Spyglass made it so); it is %o now.",
             path, now, tight)


def tighten_own_folder(folder: Path) -> None:
    """Make ``folder`` 0700 (less what it lacks already) if it is one of
    :func:`own_folders`, the user's, and open to others (an older Spyglass made it
    0755); nothing for any other folder. Never raises."""
    folder = Path(os.path.normpath(folder))
    if folder in own_folders():
        _tighten(folder, FOLDER_MODE, folder=True)


def tighten_own_file(path: Path) -> None:
    """Make ``path`` (a file Spyglass made and names, such as its blob location cache)
    0600 (less what it lacks already) if it is the user's and open to others. Never
    raises."""
    _tighten(path, FILE_MODE, folder=False)


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
    """The existing home folder or ``$variable`` that ``folder`` is below, or None.
    ``$variable`` counts when it is missing but the folder it would be made in exists:
    the XDG specification has a missing one made (0700) when a file is written there."""
    xdg = os.environ.get(variable, "")
    xdg_base = Path(os.path.normpath(xdg)) if xdg and os.path.isabs(xdg) else None
    for base in _bases(variable):
        if not folder.is_relative_to(base):
            continue
        if base.is_dir() or (base == xdg_base and base.parent.is_dir()):
            return base
    return None


def nearest_existing(folder: Path) -> Path:
    """``folder``, or the nearest folder above it that exists (the one it would be made
    in)."""
    folder = Path(os.path.normpath(folder))
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def unwritable_above(folder: Path) -> Path | None:
    """The existing folder that ``folder`` (not there) would be made in, when this user
    may not write to it (a read-only home folder); None when ``folder`` is there or that
    one may be written to."""
    folder = Path(os.path.normpath(folder))
    if folder.is_dir():
        return None
    above = nearest_existing(folder)
    return None if os.access(above, os.W_OK) else above


def may_make_user_folder(folder: Path, variable: str) -> bool:
    """Whether ``folder`` is there, or :func:`make_user_folder` may make it (it is below
    an existing home folder or ``$variable``). Looks only; makes nothing."""
    folder = Path(os.path.normpath(folder))
    return folder.is_dir() or _base_holding(folder, variable) is not None


def make_user_folder(folder: Path, variable: str) -> None:
    """Make ``folder`` (one of the user's folders for Spyglass) and the folders leading
    to it, but only below an existing home folder or ``$variable`` (``XDG_CACHE_HOME``
    for the cache, ``XDG_CONFIG_HOME`` for the settings; a missing ``$variable`` is made,
    0700, when the folder it names would be made in exists); nothing when it is there
    already.

    Raises ``OSError`` when it cannot be made, or may not be: ``FileNotFoundError``
    when no such folder holds it."""
    folder = Path(os.path.normpath(folder))
    if folder.is_dir():
        tighten_own_folder(folder)
        return
    base = _base_holding(folder, variable)
    if base is None:
        raise FileNotFoundError(
            errno.ENOENT,
            f"neither the home folder nor ${variable} is an existing folder holding it",
            str(folder),
        )
    if not base.is_dir():  # a missing $XDG_..._HOME, as the XDG specification asks
        base.mkdir(FOLDER_MODE)
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
    "nearest_existing",
    "own_folders",
    "tighten_own_file",
    "tighten_own_folder",
    "unwritable_above",
    "user_cache_folder",
]
