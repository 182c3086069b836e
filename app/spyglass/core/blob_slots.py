"""One bound on the blob transfers of copies that run together (a window's copies).

Each copy's ``parallel`` bounds its own transfers only; copies run together share a
:class:`BlobSlots`, through a :class:`CopySlots` each (:meth:`BlobSlots.for_copy`,
:attr:`~spyglass.core.copy_plan.CopyOptions.blob_slots`), so that they move no more
blobs at once than the pool's ``size`` (few busy threads: the event loop of a window
on two cores stalled with eight). A copy none of whose transfers runs may always
start one, whatever the others hold: a copy whose source hangs holds its transfers
for minutes, which must not stop the copies beside it. To keep that one free, the
others' further transfers leave a slot to each copy that runs none at the moment:
copies that start together run at most ``size`` transfers at once, or one each where
more copies than that run. Copies that start while others hold every slot run one each
beyond that, until the others' transfers end.
"""

from __future__ import annotations

import threading
from typing import Final

from spyglass.core.cancel import CancelToken, check

SLOT_CHECK: Final = 0.05
"""Seconds between the cancel checks of a transfer waiting for a slot."""


class BlobSlots:
    """The slots copies run together share (see the module docstring).

    Attributes:
        size: how many transfers all copies together run at once (more only where a
            copy would otherwise run none).
    """

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._changed = threading.Condition()
        self._held = 0
        self._idle = 0
        """How many copies not closed run no transfer now (each keeps a slot free)."""

    @property
    def held(self) -> int:
        """How many transfers of all the copies run now."""
        return self._held

    def for_copy(self) -> CopySlots:
        """The slots of one copy (one run of it: a copy retried takes new ones), which
        keep one slot free for it until they are closed (:meth:`CopySlots.close`)."""
        with self._changed:
            self._idle += 1
        return CopySlots(self)


class CopySlots:
    """One copy's share of a :class:`BlobSlots`: each of its blob transfers takes a slot
    (:meth:`take`) for as long as it runs, and gives it back (:meth:`give`).

    Attributes:
        pool: the slots shared.
        held: how many of this copy's transfers run now.
        waiting: how many of this copy's transfers wait for a slot the other copies'
            transfers hold.
    """

    def __init__(self, pool: BlobSlots) -> None:
        self.pool = pool
        self.held = 0
        self.waiting = 0
        self._closed = False

    def _free(self) -> bool:
        pool = self.pool
        return self.held == 0 or pool._held + pool._idle < pool.size

    def take(self, cancel: CancelToken) -> None:
        """Wait for a slot: at once where none of this copy's transfers runs, or where
        the transfers running and the slots kept for the copies running none are fewer
        than the pool's size. Checks ``cancel`` as it waits (the other copies may
        hold the slots for long, and a cancelled copy's transfers must end before its
        destination is taken back): :class:`~spyglass.core.errors.Cancelled` takes no
        slot with it."""
        changed = self.pool._changed
        with changed:
            self.waiting += 1
            try:
                while not self._free():
                    changed.wait(SLOT_CHECK)
                    check(cancel)
                check(cancel)
                if self.held == 0 and not self._closed:
                    self.pool._idle -= 1
                self.held += 1
                self.pool._held += 1
            finally:
                self.waiting -= 1

    def give(self) -> None:
        """Give back the slot a transfer took (it ended, however)."""
        changed = self.pool._changed
        with changed:
            self.held -= 1
            self.pool._held -= 1
            if self.held == 0 and not self._closed:
                self.pool._idle += 1
            changed.notify_all()

    def close(self) -> None:
        """The copy ended: the slot kept free for it goes back to the others."""
        changed = self.pool._changed
        with changed:
            if not self._closed and self.held == 0:
                self.pool._idle -= 1
            self._closed = True
            changed.notify_all()


__all__ = ["SLOT_CHECK", "BlobSlots", "CopySlots"]
