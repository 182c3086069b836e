"""Re-reads of a place or a repository after copies into it, coalesced.

Copies that end one after another into the same place each ask for it to be read
again. Each read is a listing on a worker and a merge of its rows on the GUI thread;
200 small copies into ten layouts read the layouts 200 times, and the window stalled
for it. :class:`Refreshes` lets at most one read of a thing be under way and at most one
wait after it: every ask that comes meanwhile is that one waiting read. It starts a short
rest (:data:`REST_MS`) after the read under way has ended, and so reads what all of those
copies wrote: N copies ending into one place while it is read cause two reads, not N, and
a place copies keep ending into is read a few times a second at most.

The model that reads (the places model, the registries model) says when a read of a
thing ends (:meth:`Refreshes.ended`, read or failed) and when one was stopped or the
thing is gone (:meth:`Refreshes.forget`); it keys each thing by its listing's runner key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from PySide6.QtCore import QObject, QTimer

REST_MS: Final = 300
"""How long after a read of a thing ends the read waiting after it starts (copies that
end meanwhile join that one). A place a copy ended in after a rest is read at once."""


class Refreshes:
    """At most one re-read under way per key, and at most one waiting after it.

    ``context``: the object whose timers start the waiting reads (they are dropped with
    it: the model that reads)."""

    def __init__(self, context: QObject) -> None:
        self._context = context
        self._under_way: set[str] = set()
        """Keys read now, or resting after a read (asks wait meanwhile)."""
        self._waiting: dict[str, Callable[[], None]] = {}
        self._resting: set[str] = set()

    def ask(self, key: str, start: Callable[[], None], *, under_way: bool = False) -> None:
        """Read ``key`` again with ``start``: now, or — while a read of it is under way,
        one started here or, with ``under_way``, one the model started otherwise (which
        may have read past the change) — once that one has ended and a rest has passed.
        Asks that come while one waits are that one: it reads the latest state.

        ``start`` MUST begin a read whose end the model reports with :meth:`ended`, or
        call :meth:`forget` (the thing went, or is listed anew from scratch): a read
        never reported keeps every later ask waiting."""
        if key in self._under_way or under_way:
            self._under_way.add(key)
            self._waiting[key] = start
            return
        self._under_way.add(key)
        start()

    def ended(self, key: str) -> None:
        """A read of ``key`` ended (listed, or failed): the one waiting starts after a
        rest. A key nothing was asked of is left alone (a model reports every read's
        end)."""
        if key not in self._under_way:
            return
        self._resting.add(key)
        QTimer.singleShot(REST_MS, self._context, lambda: self._rested(key))

    def forget(self, key: str) -> None:
        """The read of ``key`` under way was stopped, or ``key`` is gone: nothing waits
        for it any more (what the model does instead — reload from scratch, close — reads
        the latest state anyway)."""
        self._under_way.discard(key)
        self._waiting.pop(key, None)
        self._resting.discard(key)

    def busy(self, key: str) -> bool:
        """Whether a read of ``key`` asked here is under way, resting or waiting."""
        return key in self._under_way

    def _rested(self, key: str) -> None:
        if key not in self._resting:
            return  # (forgotten meanwhile)
        self._resting.discard(key)
        start = self._waiting.pop(key, None)
        if start is None:
            self._under_way.discard(key)
            return
        start()
