"""Cancel tokens: how a caller stops a long core call.

Every core call that can take long accepts a ``cancel`` token and checks it
between chunks; a set token makes the call raise :class:`Cancelled` promptly and
leave destinations as they were.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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


@contextmanager
def linked(parent: CancelToken | None) -> Iterator[CancelToken]:
    """A token set when ``parent`` is, and when the block ends: what the block started
    on other threads (lookups, say) stops with it, whether it ends well, fails or is
    interrupted (Ctrl+C), so nobody waits for answers no longer wanted."""
    child = CancelToken()
    key = parent.add_abort(child.cancel) if parent is not None else None
    if parent is not None and key is None:
        child.cancel()  # set already
    try:
        yield child
    finally:
        child.cancel()
        if parent is not None:
            parent.remove_abort(key)


class Terminated(KeyboardInterrupt):
    """A SIGTERM or SIGHUP (``systemd``, ``timeout``, ``docker stop``, a closed
    terminal), taken like Ctrl+C: the copy stops and takes back what it wrote."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_TERMINATING = tuple(
    s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
    if s is not None
)


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


@contextmanager
def stop_like_ctrl_c_on_termination() -> Iterator[None]:
    """For the block, SIGTERM and SIGHUP interrupt the main thread as Ctrl+C does
    (they end the process on the spot otherwise, leaving temporary files behind).
    For the command line; elsewhere than in the main thread the block runs as it is.
    A signal set to be ignored stays ignored (``nohup spyglass copy …`` goes on after
    the terminal closes).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {signum: signal.signal(signum, _terminate) for signum in _TERMINATING
              if signal.getsignal(signum) is signal.SIG_DFL}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def _interrupted(signum: int) -> KeyboardInterrupt:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl+C (and a SIGTERM or SIGHUP taken like it) off for the block, then
    raise the :class:`KeyboardInterrupt` it asked for.

    For the clean-up after a first Ctrl+C (transfers winding down, a
    destination taken back), which a second one must not cut short: that would
    leave half of it undone. A third gets out at once, for a clean-up stuck on
    something outside (a lock another process holds). Applies only in the main
    thread while Python's own SIGINT handler is installed; elsewhere (a worker
    thread, the window's handler) the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # each signal held only where its handler is ours (SIGINT may be ignored, as in a
    # job a script started in the background, while SIGTERM is not)
    held_signals = {signum: handler for signum in (signal.SIGINT, *_TERMINATING)
                    if (handler := signal.getsignal(signum))
                    in (signal.default_int_handler, _terminate)}
    if not held_signals:
        yield
        return
    asked: list[int] = []

    def held(signum: int, frame: object) -> None:
        asked.append(signum)
        if len(asked) > 1:
            raise _interrupted(signum)

    for signum in held_signals:
        signal.signal(signum, held)
    try:
        yield
    finally:
        for signum, handler in held_signals.items():
            signal.signal(signum, handler)
    if asked:
        raise _interrupted(asked[0])


def check(cancel: CancelToken | None) -> None:
    """Raise :class:`Cancelled` if ``cancel`` is given and set."""
    if cancel is not None:
        cancel.check()
