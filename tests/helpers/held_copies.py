"""Copies a test holds mid-way and stops together: a source whose one layer is held until
the copy is cancelled (:class:`HeldLayer`), and destinations whose aborts run in an order
the test sets (:class:`AbortsInTurn`), so that copies cancelled together meet each other
in the layout the same way every run."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import Cancelled
from spyglass.core.manifest import Descriptor
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

HOLD_LIMIT = 120.0
"""Seconds a held read or abort waits at most (a test that went wrong ends, failing)."""


def _noise(seed: int, size: int) -> bytes:
    """Bytes gzip cannot shrink: a layer of about ``size`` bytes."""
    return random.Random(seed).randbytes(size)


def source_layout(root: Path, *, shared: bool = False) -> dict[str, Digest]:
    """A layout of two images, ``one`` and ``two``, each of a layer of its own (512 KiB)
    and a last, small one (the one to hold); with ``shared``, a first layer both hold (a
    base image's, 256 KiB). Returns each image's last layer."""
    builder = LayoutBuilder(root)
    last: dict[str, Digest] = {}
    for seed, ref in enumerate(("one", "two"), start=1):
        layers = [LayerSpec({"/usr/lib/shared.so": _noise(0, 256 * 1024)})] if shared else []
        layers += [LayerSpec({f"/app/{ref}": _noise(seed, 512 * 1024)}),
                   LayerSpec({f"/app/{ref}.last": _noise(seed + 10, 64 * 1024)})]
        descriptor = builder.add_image(ImageSpec(layers=layers))
        builder.tag(descriptor, ref)
        last[ref] = Digest.parse(builder.read_json(descriptor)["layers"][-1]["digest"])
    return last


class HeldLayer:
    """An image source (``inner``) whose blob ``held`` (or each of several) is not read
    until the copy is cancelled; then it raises :class:`Cancelled`, as a read broken off
    by the cancel does. Every other blob reads as it is. :attr:`holding` counts the reads
    held now."""

    def __init__(self, inner: Any, held: Digest | frozenset[Digest]) -> None:
        self._inner = inner
        self.held = held if isinstance(held, frozenset) else frozenset({held})
        self.holding = 0
        self._counting = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def open_blob(self, descriptor: Descriptor, *, cancel: CancelToken | None = None) -> Any:
        if descriptor.digest not in self.held:
            return self._inner.open_blob(descriptor, cancel=cancel)
        assert cancel is not None
        gate = threading.Event()
        key = cancel.add_abort(gate.set)
        with self._counting:
            self.holding += 1
        try:
            if key is not None and not gate.wait(HOLD_LIMIT):
                raise AssertionError("the held copy was never cancelled")
        finally:
            with self._counting:
                self.holding -= 1
            cancel.remove_abort(key)
        raise Cancelled()


class AbortsInTurn:
    """Hands out destinations (:meth:`wrap`) whose first abort waits for its turn: the one
    given turn 0 aborts first, then turn 1, and so on."""

    def __init__(self) -> None:
        self._turn = 0
        self._changed = threading.Condition()

    def wrap(self, inner: Any, turn: int) -> Any:
        return _InTurn(inner, self, turn)

    def _wait_for(self, turn: int) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self._turn >= turn, HOLD_LIMIT):
                raise AssertionError(f"abort {turn} never got its turn")

    def _done(self) -> None:
        with self._changed:
            self._turn += 1
            self._changed.notify_all()


class _InTurn:
    """A destination (``inner``) whose first abort waits for its turn (see AbortsInTurn)."""

    def __init__(self, inner: Any, turns: AbortsInTurn, turn: int) -> None:
        self._inner = inner
        self._turns = turns
        self._turn = turn
        self._aborted = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def abort(self) -> None:
        if self._aborted:
            self._inner.abort()
            return
        self._aborted = True
        self._turns._wait_for(self._turn)
        try:
            self._inner.abort()
        finally:
            self._turns._done()
