"""Writing a big file past the page cache (``O_DIRECT``), where the filesystem lets us.

A blob written into a layout is synced before it counts, so its bytes must
reach the disk before the copy ends anyway. Written the ordinary way they
are first copied into freshly allocated page-cache pages and written back at
``fsync``; on the machines we measured, taking in those pages cost the kernel
0.1 to 1 s of CPU per 512 MiB, more than hashing them. Written with
``O_DIRECT`` they go from our (page-aligned) buffer to the device, and the
final ``fsync`` has only metadata left to do.

``O_DIRECT`` needs the buffer's address, the length and the file offset
aligned to the device's block size. :class:`DirectWriter` writes only whole
aligned chunks that way; a tail that is not a whole number of blocks, a
filesystem that refuses the flag (tmpfs, some FUSE filesystems) and any
platform without it fall back to ordinary writes, silently: the bytes
written are the same either way.
"""

from __future__ import annotations

import errno
import fcntl
import os
from typing import Final

ALIGNMENT: Final = 4096
"""What direct writes are aligned to: the largest logical block size in use."""

_O_DIRECT: Final = getattr(os, "O_DIRECT", 0)


class DirectWriter:
    """Writes to ``fd``, bypassing the page cache for aligned chunks when it can.

    ``direct`` asks for the bypass; it is dropped for good as soon as the
    filesystem refuses it or a write is not aligned. Buffers handed to
    :meth:`write` must be page-aligned for the bypass to be used (those from
    :data:`spyglass.core.buffers.BUFFERS` are); errors other than the refusal
    propagate as :class:`OSError`.
    """

    def __init__(self, fd: int, *, direct: bool) -> None:
        self._fd = fd
        self.direct = False
        """True while writes go past the page cache."""
        if direct and _O_DIRECT:
            self.direct = self._set_direct(True)

    def _set_direct(self, on: bool) -> bool:
        try:
            flags = fcntl.fcntl(self._fd, fcntl.F_GETFL)
            flags = flags | _O_DIRECT if on else flags & ~_O_DIRECT
            fcntl.fcntl(self._fd, fcntl.F_SETFL, flags)
        except OSError:
            return not on  # left as it was
        return on

    def _leave_direct(self) -> None:
        if self.direct:
            self._set_direct(False)
            self.direct = False

    def write(self, view: memoryview) -> None:
        """Write all of ``view`` at the file's current offset."""
        if self.direct and len(view) % ALIGNMENT:
            # a tail: its whole blocks still go past the page cache, the rest (and any
            # later write, at offsets no longer aligned) the ordinary way
            head = len(view) - len(view) % ALIGNMENT
            if head:
                self._write_all(view[:head])
                view = view[head:]
            self._leave_direct()
        self._write_all(view)

    def _write_all(self, view: memoryview) -> None:
        while view:
            try:
                written = os.write(self._fd, view)
            except OSError as exc:
                if not self.direct or exc.errno != errno.EINVAL:
                    raise
                self._leave_direct()  # the filesystem takes the flag but not the write
                continue
            if self.direct and written % ALIGNMENT:
                self._leave_direct()
            view = view[written:]
