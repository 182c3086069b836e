"""Buffers lent to blob transfers and given back, so a copy of many blobs does not
allocate (and zero, under the GIL) a fresh one for each.

Each buffer is its own anonymous memory map: page-aligned, as writes that
bypass the page cache need (:mod:`spyglass.core.directio`).
"""

from __future__ import annotations

import mmap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final


class BufferPool:
    """Buffers by size; at most ``keep`` of each size are kept between uses."""

    def __init__(self, keep: int = 16) -> None:
        self._keep = keep
        self._free: dict[int, list[mmap.mmap]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def lend(self, size: int) -> Iterator[memoryview]:
        """A page-aligned buffer of ``size`` bytes for the ``with`` block (its old
        contents are whatever the last user left: write before reading)."""
        with self._lock:
            free = self._free.get(size)
            buffer = free.pop() if free else None
        if buffer is None:
            buffer = mmap.mmap(-1, size)
        try:
            yield memoryview(buffer)
        finally:
            with self._lock:
                free = self._free.setdefault(size, [])
                if len(free) < self._keep:
                    free.append(buffer)


BUFFERS: Final = BufferPool()
"""The process's pool, shared by every transfer."""
