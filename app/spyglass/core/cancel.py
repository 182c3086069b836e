"""Cancel tokens: how a caller stops a long core call.

Every core call that can take long accepts a ``cancel`` token and checks it
between chunks; a set token makes the call raise :class:`Cancelled` promptly and
leave destinations as they were.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from spyglass.core.errors import Cancelled

log = logging.getLogger(__name__)


class CancelToken:
    """A thread-safe flag: set once by the caller, read by the worker.

    A worker blocked where it cannot check the flag (a socket read from a
    server that stopped sending) registers an abort with :meth:`add_abort`:
    cancelling runs it, so the wait ends within moments rather than at a
    timeout.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._aborts: dict[int, Callable[[], None]] = {}
        self._next = 0

    def cancel(self) -> None:
        """Ask the operation to stop; safe to call from any thread, any number of times."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            aborts = list(self._aborts.values())
            self._aborts.clear()
        for abort in aborts:
            try:
                abort()
            except Exception:  # an abort only hurries a worker along
                log.debug("An abort callback failed.", exc_info=True)

    def add_abort(self, abort: Callable[[], None]) -> int | None:
        """Run ``abort`` (once, in the cancelling thread) when the token is set; a key for
        :meth:`remove_abort`, or None when the token is already set (nothing registered)."""
        with self._lock:
            if self._event.is_set():
                return None
            key = self._next
            self._next += 1
            self._aborts[key] = abort
            return key

    def remove_abort(self, key: int | None) -> None:
        """Forget an abort registered with :meth:`add_abort`."""
        if key is not None:
            with self._lock:
                self._aborts.pop(key, None)

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if the token was set."""
        if self._event.is_set():
            raise Cancelled()


def check(cancel: CancelToken | None) -> None:
    """Raise :class:`Cancelled` if ``cancel`` is given and set."""
    if cancel is not None:
        cancel.check()
