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
from contextvars import ContextVar
from typing import Any, Final

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


class _Holding:
    """Ctrl+C (and a SIGTERM or SIGHUP taken like it) held off from :meth:`start` to
    :meth:`end`, which raises the :class:`KeyboardInterrupt` asked for meanwhile. Only in
    the main thread, and only for the signals whose handler is ours (Python's Ctrl+C,
    :func:`stop_like_ctrl_c_on_termination`'s): elsewhere (a worker thread, the window's
    handler) nothing is held.

    How many are held: ``escape_at``, the interrupt that is raised at once rather than
    held (counting those asked since :meth:`start`), for a clean-up stuck on something
    outside; None holds them all. :func:`interrupts_deferred` holds one and lets the next
    go (a clean-up after a first Ctrl+C: the second is held, a third gets out); the final
    stretch holds them all while the image goes in place, then lets the third go (see
    :func:`past_commit`), but in a block written whole (:func:`held_whole`).
    """

    def __init__(self, escape_at: int | None = 2, *, notice: str | None = None,
                 on_held: Callable[[], None] | None = None) -> None:
        self._held: dict[int, Any] = {}
        self._asked: list[int] = []
        self.escape_at = escape_at
        self._notice = notice
        """A warning logged when the first interrupt is held (so that nobody presses
        Ctrl+C again for want of an answer)."""
        self._on_held = on_held
        """Called (in the signal's handler) when the first interrupt is held."""

    def start(self) -> None:
        """Hold the signals from now on; a no-op when already holding."""
        if self._held or threading.current_thread() is not threading.main_thread():
            return
        # each signal held only where its handler is ours (SIGINT may be ignored, as in a
        # job a script started in the background, while SIGTERM is not)
        self._held = {signum: handler for signum in (signal.SIGINT, *_TERMINATING)
                      if (handler := signal.getsignal(signum))
                      in (signal.default_int_handler, _terminate)}
        for signum in self._held:
            signal.signal(signum, self._hold)

    def _hold(self, signum: int, frame: object) -> None:
        self._asked.append(signum)
        if self.escape_at is not None and len(self._asked) >= self.escape_at:
            raise _interrupted(signum)
        if len(self._asked) == 1 and self._notice is not None:
            log.warning(self._notice)
        if len(self._asked) == 1 and self._on_held is not None:
            self._on_held()

    def stop(self) -> None:
        """Put the handlers back; what was asked meanwhile stays asked."""
        held, self._held = self._held, {}
        for signum, handler in held.items():
            signal.signal(signum, handler)

    def asked(self) -> KeyboardInterrupt | None:
        """The interrupt asked for since :meth:`start` (the first), or None."""
        return _interrupted(self._asked[0]) if self._asked else None

    def end(self) -> None:
        """:meth:`stop`, then raise the interrupt asked for meanwhile, if one was."""
        self.stop()
        if (asked := self.asked()) is not None:
            raise asked


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
    holding = _Holding()
    holding.start()
    try:
        yield
    finally:
        holding.stop()
    holding.end()


_FINAL_STRETCH: ContextVar[_Holding | None] = ContextVar("spyglass_final_stretch",
                                                         default=None)

FINAL_STRETCH_NOTICE: Final = ("Interrupted as the image goes in place: it is finished first, "
                               "then the copy stops.")
"""What is said when the final stretch holds an interrupt."""

_FINAL_ESCAPE: Final = 3
"""The interrupt the final stretch lets go at once once past the commit (see
:func:`past_commit`): the first two stay held, a third ends a stuck clean-up."""


@contextmanager
def final_stretch(*, notice: str | None = FINAL_STRETCH_NOTICE,
                  on_held: Callable[[], None] | None = None) -> Iterator[None]:
    """The block in which a copy is put in place and said to be: from the moment code in it
    calls :func:`in_place_from_here` (a destination at its point of no return), Ctrl+C
    and SIGTERM are held off to the block's end (one held is said, as a warning:
    :data:`FINAL_STRETCH_NOTICE`), and raised there, once the block has said the image
    is in place.

    So an interrupt that comes once the new image is going in place no longer cuts the
    copy off between that and its telling (a ``dir:`` folder between its two renames, a
    ``Finished`` event never sent): the copy ends whole and said, then the interrupt
    stops what comes after. Up to :func:`past_commit` every interrupt is held (a second
    and a third too: the commit's last steps are renames and small writes); from there
    the third gets out at once, for housekeeping stuck on something outside, after the
    image was said to be in place, but for a block in it written whole
    (:func:`held_whole`: the ``--digestfile``). A block that fails lets the held
    interrupt go with its error (the error is what the caller hears).

    A stretch within another joins it: the outer one holds on to its end. So a caller
    that tells the copy itself (the command line: the bars, the destination and the
    source closed, then the ``Copied`` line) wraps :func:`~spyglass.core.copy.execute` in
    one, calls :func:`in_place_from_here` once the copy finished, and asks
    :func:`held_interrupt` when it tells it.

    ``notice`` is what the first interrupt held says (None: nothing), and ``on_held`` is
    called as it is held (in the main thread, by the signal's handler: something quick,
    such as waking a wait that asks :func:`held_interrupt`); both are the outer
    stretch's where this one joins it. So a sync's waiting thread, which tells each
    image its copies put in place, holds interrupts while it waits and tells, and is
    woken to stop at once (see :func:`~spyglass.core.sync_run.run_sync`)."""
    if _FINAL_STRETCH.get() is not None:
        yield
        return
    holding = _Holding(None, notice=notice, on_held=on_held)
    token = _FINAL_STRETCH.set(holding)
    try:
        yield
    finally:
        _FINAL_STRETCH.reset(token)
        holding.stop()
    holding.end()


def in_place_from_here() -> None:
    """Tell :func:`final_stretch` that the destination is at its point of no return (the
    last rename, the tag's answer): interrupts are held off from here to the stretch's end.
    Outside a stretch (a destination committed by hand), nothing happens."""
    holding = _FINAL_STRETCH.get()
    if holding is not None:
        holding.start()


def past_commit() -> None:
    """Tell :func:`final_stretch` that the destination's commit is over (the image said to
    be in place, or the commit failed): from here a third interrupt gets out at once, for
    a clean-up stuck on something outside. Outside a stretch, nothing happens."""
    holding = _FINAL_STRETCH.get()
    if holding is not None:
        holding.escape_at = _FINAL_ESCAPE


@contextmanager
def held_whole() -> Iterator[None]:
    """Within a :func:`final_stretch` past its commit: a block that every interrupt is held
    off from again, as up to :func:`past_commit` (a third no longer gets out), for a short
    write that is part of telling the copy and must not be cut in two: the command line's
    ``--digestfile``, a regular file, written whole or not at all. For nothing that can
    wait on something outside (a pipe nobody reads): only ``kill -9`` would get out of
    that. Outside a stretch the block runs as it is."""
    holding = _FINAL_STRETCH.get()
    if holding is None:
        yield
        return
    escape, holding.escape_at = holding.escape_at, None
    try:
        yield
    finally:
        holding.escape_at = escape


def held_interrupt() -> KeyboardInterrupt | None:
    """The interrupt the current :func:`final_stretch` holds (raised at its end), or None
    (none came, or outside a stretch): for telling a finished copy as interrupted."""
    holding = _FINAL_STRETCH.get()
    return holding.asked() if holding is not None else None


def check(cancel: CancelToken | None) -> None:
    """Raise :class:`Cancelled` if ``cancel`` is given and set."""
    if cancel is not None:
        cancel.check()
