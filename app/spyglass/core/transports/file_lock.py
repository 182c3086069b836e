"""The lock between processes that serializes a layout's ``index.json`` updates:
:func:`exclusive_lock`, an advisory ``flock`` on a file made for it and removed again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Final

from spyglass.core.cancel import CancelToken, check
from spyglass.core.errors import LockHeld, TransportError
from spyglass.core.filemodes import FILE_MODE
from spyglass.core.retry import NOTED_WAIT, retry_notes
from spyglass.core.transports.file_write import describe_write_error

_LOCK_POLL: Final = 0.02

LOCK_LISTENER: ContextVar[Callable[[Path | None], None] | None] = ContextVar(
    "spyglass_lock_listener", default=None)
"""Told the folder (a layout's) whose lock this thread waits for, once the wait for the
program holding it is long enough to be said (:data:`~spyglass.core.retry.NOTED_WAIT`),
and told None once the lock is taken after that: the window's copy says it waits for
another program, where it said "Planning…"."""


@contextmanager
def exclusive_lock(
    lock_path: Path, *, what: str, cancel: CancelToken | None = None,
    wait: float | None = None,
) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` for the ``with`` block; the file is
    created for it and removed again, so a layout keeps no trace of being written.

    The lock is advisory and between processes (and between threads, each
    of which opens the file anew): every Spyglass writer of one layout takes
    it around its read-modify-write of ``index.json``. The holder removes the
    file before it lets go, so a writer that was waiting may find itself
    holding the lock on a file no longer there (or replaced by another
    writer's): it then starts again with the file now at that name. Only the
    writer holding the file that is at the name holds the lock. A file left
    by a killed writer is just taken, and so is one this user may not write (another
    user's, left by ``sudo``): ``flock`` needs only a descriptor open for reading.
    With ``cancel``, waiting polls the token and raises
    :class:`~spyglass.core.errors.Cancelled`; with ``wait``, after that many seconds it
    raises :class:`~spyglass.core.errors.LockHeld`. ``what`` names the place in error
    sentences.
    """
    deadline = None if wait is None else time.monotonic() + wait
    while True:
        fd = _open_lock(lock_path)
        try:
            _lock_fd(fd, lock_path, what, cancel, deadline)
            try:
                held = os.path.samestat(os.fstat(fd), os.stat(lock_path))
            except FileNotFoundError:
                held = False
            if held:
                try:
                    yield
                finally:
                    _remove_if_ours(fd, lock_path)
                return
        finally:
            os.close(fd)  # closing the only descriptor releases the lock


def _remove_if_ours(fd: int, lock_path: Path) -> None:
    """Remove the lock file, if the name still leads to the one ``fd`` holds (only a
    holder removes it, so while ``fd`` holds it no other writer can have; the block
    itself may have, removing the folder it was in). One left is taken next time."""
    with contextlib.suppress(OSError):
        if os.path.samestat(os.fstat(fd), os.stat(lock_path)):
            os.unlink(lock_path)


def _open_lock(lock_path: Path) -> int:
    """A descriptor of the lock file, made if need be; read-only when this user may not
    write one that is there."""
    try:
        return os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    except PermissionError as exc:
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(lock_path).st_mode):
                return os.open(lock_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        raise TransportError(describe_write_error(exc, lock_path)) from exc
    except OSError as exc:
        raise TransportError(describe_write_error(exc, lock_path)) from exc


def _lock_fd(fd: int, lock_path: Path, what: str, cancel: CancelToken | None,
             deadline: float | None) -> None:
    """Take the lock, polling: a wait of :data:`~spyglass.core.retry.NOTED_WAIT` or
    longer is said once (:data:`~spyglass.core.retry.RETRY_NOTES`), so that a copy that
    waits for another one (stopped with Ctrl+Z, hung) is not taken for one that froze."""
    noted = time.monotonic() + NOTED_WAIT
    listener = LOCK_LISTENER.get()
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if listener is not None and noted == float("inf"):
                    listener(None)
                return
            except BlockingIOError:
                if cancel is not None:
                    check(cancel)
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    raise LockHeld(f'{what} is being written by another program, which '
                                   f'holds "{lock_path}".') from None
                if now >= noted:
                    retry_notes.warning('%s is being written by another program, which '
                                        'holds "%s"; waiting for it to finish…', what,
                                        lock_path)
                    noted = float("inf")
                    if listener is not None:  # (absolute: "oci:." names a folder too)
                        listener(Path(os.path.abspath(lock_path.parent)))
                time.sleep(_LOCK_POLL)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise TransportError(
            f'{what} cannot be locked for writing ("{lock_path}"): {reason.rstrip(".")}.'
        ) from exc
