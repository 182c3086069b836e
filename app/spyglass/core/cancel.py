"""Cancel tokens: how a caller stops a long core call.

Every core call that can take long accepts a ``cancel`` token and checks it
between chunks; a set token makes the call raise :class:`Cancelled` promptly and
leave destinations as they were.
"""

from __future__ import annotations

import threading

from spyglass.core.errors import Cancelled


class CancelToken:
    """A thread-safe flag: set once by the caller, read by the worker."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the operation to stop; safe to call from any thread, any number of times."""
        self._event.set()

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
