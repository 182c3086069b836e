"""The modes of the files and folders Spyglass makes in a destination, and the umask.

A new file gets :data:`FILE_MODE` less the umask, a new folder :data:`FOLDER_MODE`
less the umask, so that under ``umask 077`` an image written is the user's alone, as
umoci writes it (and skopeo its folders and small files; its blobs it makes 0644 in
folders no one else may enter). A file or folder replaced keeps the mode it had (the
writers see to that).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

FILE_MODE: Final = 0o644
"""The mode of a file a destination makes, before the umask takes its bits away
(:func:`new_file_mode`); archive members get it as it is."""

FOLDER_MODE: Final = 0o755
"""The mode of a folder a destination makes, before the umask takes its bits away: what
containers/image's ``MkdirAll(path, 0755)`` gives, never more open than the files in it."""


def _umask_from_proc() -> int | None:
    """The process's umask as Linux (4.7 and later) shows it, or None where it does not."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


_probed_umask: int | None = None
_probe_lock = threading.Lock()


def process_umask() -> int:
    """The process's umask, read without changing it where the system shows it
    (``/proc/self/status``); elsewhere it was read once, when this module was imported.

    Thread-safe. The umask is the process's, and elsewhere the only way to read it is to
    set another and put it back: this is done once, with 0o077 in between, so a file
    another thread makes at that instant is made more private, never less."""
    found = _umask_from_proc()
    if found is not None:
        return found
    global _probed_umask
    with _probe_lock:
        if _probed_umask is None:
            _probed_umask = os.umask(0o077)
            os.umask(_probed_umask)
        return _probed_umask


if _umask_from_proc() is None:  # read before any worker thread makes files
    process_umask()


def new_file_mode() -> int:
    """The mode for a new file in a destination: :data:`FILE_MODE` less the umask, as
    ``open(…, 0o644)`` would make it."""
    return FILE_MODE & ~process_umask()


def new_folder_mode() -> int:
    """The mode for a new folder in a destination: :data:`FOLDER_MODE` less the umask."""
    return FOLDER_MODE & ~process_umask()


_made_folders_lock = threading.RLock()
"""Held while folders are made and filled (:func:`keeping_folders`), and while made
folders are taken back (:func:`remove_made_folders`)."""


@contextmanager
def keeping_folders() -> Iterator[None]:
    """Hold off every :func:`remove_made_folders` of this process until the block ends.

    Whoever makes a folder with :func:`make_folders` and then puts its own file or folder
    in it does both in one such block: else another copy that made the same folder (two
    images synced into one new folder) may find it still empty in between, as its
    failure takes back what it made, and remove it. Reentrant; keep the block short (no
    waiting for anything else in it)."""
    with _made_folders_lock:
        yield


def make_folders(path: Path) -> list[Path]:
    """Make ``path`` and any missing folder above it (``mkdir -p``), each with
    :data:`FOLDER_MODE` less the umask (``Path.mkdir(parents=True)`` makes the ones above
    0o777 less the umask); return the folders it made, outermost first (for
    :func:`remove_made_folders`). OSError when one cannot be made, or a file is in the
    way (those it made before then stay). To put something in ``path`` after, call it
    in :func:`keeping_folders`."""
    with _made_folders_lock:
        return _make_folders(path)


def _make_folders(path: Path) -> list[Path]:
    try:
        path.mkdir(FOLDER_MODE)
    except FileNotFoundError:
        if path.parent == path:
            raise
        made = _make_folders(path.parent)
        try:
            path.mkdir(FOLDER_MODE)
        except FileExistsError:
            if not path.is_dir():
                raise
            return made  # another process made it meanwhile: not ours to remove
        return [*made, path]
    except FileExistsError:
        if not path.is_dir():
            raise
        return []
    return [path]


def remove_made_folders(made: list[Path]) -> None:
    """Remove the folders :func:`make_folders` made, innermost first, each only while it
    is empty (what a failed copy takes back: nothing it did not make, nothing put there
    since, nor one another copy of this process is putting something in, in
    :func:`keeping_folders`). Best effort: one that cannot be removed, and those above
    it, stay."""
    with _made_folders_lock:
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:
                return


__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "keeping_folders",
    "make_folders",
    "new_file_mode",
    "new_folder_mode",
    "process_umask",
    "remove_made_folders",
]
