"""Descriptors named as files: ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N``,
``/proc/self/fd/N``.

Such a name leads to whatever this process has open under that number when it is
opened. One the caller gave (a shell's ``3>file``, ``>(…)``) is open from the start; one
it did not give is free, until Spyglass opens something of its own under that number (a
source archive, a connection, the blob cache), and what is written to the name then goes
into that. So a command line holds a duplicate of each descriptor it names
(:func:`hold`) before it opens anything, refusing one that is not open, and what is
written to the name later goes through that duplicate (:func:`held`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from spyglass.core.errors import SpyglassError

_HELD: dict[int, int] = {}
"""The descriptor a name gives → the duplicate :func:`hold` took of it."""

_LOCK = threading.Lock()


def descriptor_named(path: str | Path) -> int | None:
    """The descriptor of this process's own that ``path`` names (``/dev/stdout`` is 1,
    ``/dev/fd/N`` and ``/proc/self/fd/N`` are N), or None."""
    text = os.path.abspath(path)
    named = {"/dev/stdout": 1, "/dev/stderr": 2}.get(text)
    if named is not None:
        return named
    for prefix in ("/dev/fd/", "/proc/self/fd/"):
        if text.startswith(prefix) and text[len(prefix):].isdigit():
            return int(text[len(prefix):])
    return None


def not_given(what: str, fd: int, exc: OSError) -> SpyglassError:
    """The refusal of a name of a descriptor the caller did not give."""
    return SpyglassError(f"{what} cannot be written: spyglass was given no descriptor {fd} "
                         f"({exc.strerror or exc}).")


def hold(path: str | Path, what: str) -> int | None:
    """A duplicate of the descriptor ``path`` names, taken now and kept until
    :func:`release_all` (the same one for each name of that descriptor), or None for a
    path that names none. ``what`` is the input as a sentence names it
    (``The --digestfile "/dev/fd/7"``): a descriptor the caller did not give is refused
    with it (:class:`~spyglass.core.errors.SpyglassError`)."""
    fd = descriptor_named(path)
    if fd is None:
        return None
    with _LOCK:
        if fd not in _HELD:
            try:
                _HELD[fd] = os.dup(fd)
            except OSError as exc:
                raise not_given(what, fd, exc) from exc
        return _HELD[fd]


def held(fd: int) -> int | None:
    """The duplicate :func:`hold` keeps of ``fd``, or None."""
    with _LOCK:
        return _HELD.get(fd)


def release_all() -> None:
    """Close the duplicates :func:`hold` took (a command is over)."""
    with _LOCK:
        duplicates = list(_HELD.values())
        _HELD.clear()
    for duplicate in duplicates:
        try:
            os.close(duplicate)
        except OSError:
            pass  # (closed already)
