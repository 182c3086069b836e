"""The pieces of a blob upload that are not requests: the session's state, the
reader that hashes and counts what is sent, and the body streams of ``PATCH``
and ``PUT`` (see :meth:`~spyglass.core.transports.registry.push.RegistryPusher.upload_blob`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from spyglass.core.buffers import BUFFERS
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import (
    CHUNK_SIZE,
    Digest,
    Readable,
    read_into,
)
from spyglass.core.errors import (
    SizeMismatch,
)
from spyglass.core.transports.registry.abortable import current_stream


@dataclass
class UploadSession:
    location: str
    """Where the next request of the session goes (each answer names the next)."""
    scope: str
    """The token scope of its requests: the Location need not be under ``/v2/NAME/``
    (Google Artifact Registry's ``/artifacts-uploads/…``)."""
    min_chunk: int = 0
    """The registry's ``OCI-Chunk-Min-Length``, 0 when it names none."""


@dataclass(frozen=True)
class SpareUpload:
    """An upload session opened before an upload needed it (by a push check, or by a
    registry answering a mount with one), kept for the next upload."""

    session: UploadSession
    opened: float
    """When (``time.monotonic``): an old one is not trusted to be still open."""
    owner: object
    """Whose it is (a copy's destination), so that a copy ending cancels only its own."""


class HashingReader:
    """Passes a stream on, hashing it (sha256) and counting it against ``size`` if given.

    The uploads' counterpart of :class:`VerifyingReader` for content whose
    digest is only known at its end (a recompressed layer): the end of the
    stream (an empty read) comes only after the size matched, and
    :attr:`digest` then holds the digest.
    """

    def __init__(
        self, stream: Readable, size: int | None, *, what: str, cancel: CancelToken | None
    ) -> None:
        self._stream = stream
        self._size = size
        self._what = what
        self._cancel = cancel
        self._hash = hashlib.sha256()
        self._digest: Digest | None = None
        self.bytes_read = 0

    def read(self, n: int = -1, /) -> bytes:
        check(self._cancel)
        data = self._stream.read(n)
        if data:
            self._count(data)
            return data
        self._finish()
        return b""

    def readinto(self, buffer: memoryview | bytearray, /) -> int:
        check(self._cancel)
        view = buffer if isinstance(buffer, memoryview) else memoryview(buffer)
        count = read_into(self._stream, view)
        if count:
            self._count(view[:count])
            return count
        self._finish()
        return 0

    def _count(self, data: bytes | memoryview) -> None:
        self.bytes_read += len(data)
        if self._size is not None and self.bytes_read > self._size:
            raise SizeMismatch(
                f"{self._what} is longer than the {self._size} bytes promised; it was "
                "not stored."
            )
        self._hash.update(data)

    def _finish(self) -> None:
        if self._size is not None and self.bytes_read != self._size:
            raise SizeMismatch(
                f"{self._what} has {self.bytes_read} bytes, not the {self._size} promised; "
                "it was not stored."
            )
        self._digest = Digest("sha256", self._hash.hexdigest())

    @property
    def digest(self) -> Digest:
        """The sha256 of everything read; only once the stream was read to its end."""
        if self._digest is None:
            raise RuntimeError("the digest of a stream not read to its end")
        return self._digest


def finished(reader: HashingReader | None) -> Digest:
    assert reader is not None
    return reader.digest


def held_back(
    reader: Readable, progress: Callable[[int], None] | None
) -> Iterator[memoryview]:
    """The stream as request-body pieces, each yielded only once the next one was read.

    The read that ends a verifying stream is the one that checks it, so the
    last piece leaves only after the check passed: a mismatch never completes
    the body.
    """
    # two buffers taking turns: the piece being sent and the one read after it
    with BUFFERS.lend(CHUNK_SIZE) as first, BUFFERS.lend(CHUNK_SIZE) as second:
        buffers = (first, second)
        turn = 0
        pacing = Pacing()
        pending = read_into(reader, buffers[turn])
        while pending:
            following = read_into(reader, buffers[1 - turn])
            yield from pacing.pieces(buffers[turn][:pending], progress)
            turn, pending = 1 - turn, following


def fill(reader: Readable, buffer: memoryview) -> tuple[memoryview, bool]:
    """``buffer`` filled from ``reader`` as far as it goes: the part filled, and
    whether the reader ended (its empty read was seen)."""
    have = 0
    while have < len(buffer):
        count = read_into(reader, buffer[have : have + CHUNK_SIZE])
        if not count:
            return buffer[:have], True
        have += count
    return buffer, False


class Sent:
    """How many bytes a streamed request body has handed over so far, and whether
    it handed over the whole stream."""

    __slots__ = ("complete", "count")

    def __init__(self) -> None:
        self.count = 0
        self.complete = False


def streamed(
    first: memoryview,
    reader: Readable,
    buffer: memoryview,
    sent: Sent,
    progress: Callable[[int], None] | None,
) -> Iterator[memoryview]:
    """``first`` (already read into ``buffer``), then the rest of ``reader`` through
    ``buffer``, as request-body pieces; the buffer is refilled only after the
    piece in it was sent."""
    pacing = Pacing()
    for piece in pacing.pieces(first, progress):
        sent.count += len(piece)
        yield piece
    window = buffer[:CHUNK_SIZE]
    while count := read_into(reader, window):
        for piece in pacing.pieces(window[:count], progress):
            sent.count += len(piece)
            yield piece
    sent.complete = True


PIECE_SIZE: Final = 256 * 1024
"""The bytes handed to the connection at a time on a slow link, each counted once it is
sent: at 64 KiB/s a piece takes seconds, not the quarter of a minute a 1 MiB one takes,
which made the speed jump and a copy look stalled while it sent."""
FAST_PIECE: Final = 0.05
"""Seconds within which a piece sent makes the next ones :data:`CHUNK_SIZE` (a fast link,
where fewer pieces cost less)."""


_clock = time.monotonic  # (tests make pieces slow by giving it another)


class Pacing:
    """How much of a body to hand the connection at a time: :data:`PIECE_SIZE` while
    pieces take long to send, :data:`CHUNK_SIZE` once they go fast.

    A piece is counted as it leaves the machine, not as the connection takes it: the
    kernel's send queue holds megabytes, which a slow uplink takes minutes to drain
    (the copy showed 100 % and tens of MiB/s at once, then waited). Where the queue can
    be looked at (:func:`~.abortable.unsent`), what is counted is what was handed over
    less what is still queued, and the rest is counted as it leaves while the answer is
    waited for; elsewhere a piece counts once handed over."""

    def __init__(self) -> None:
        self.size = PIECE_SIZE
        self._handed = 0
        self._told = 0
        self._progress: Callable[[int], None] | None = None

    def pieces(self, data: memoryview, progress: Callable[[int], None] | None,
               ) -> Iterator[memoryview]:
        """``data`` as request-body pieces, reporting each to ``progress`` once it was
        sent. The pieces are views, not copies: each is sent before the next is asked
        for, and the buffer is refilled only after the request is done."""
        start = 0
        while start < len(data):
            piece = data[start : start + self.size]
            began = _clock()
            yield piece
            self.size = CHUNK_SIZE if _clock() - began < FAST_PIECE else PIECE_SIZE
            start += len(piece)
            if progress is not None:
                self._sent(len(piece), progress)

    def _sent(self, count: int, progress: Callable[[int], None]) -> None:
        self._handed += count
        stream = current_stream()
        queued = stream.unsent() if stream is not None else None
        if stream is None or queued is None:
            self._told += count
            progress(count)
            return
        if self._progress is None:
            self._progress = progress
            stream.on_leaving(self._left)
        self._left(queued)

    def _left(self, queued: int) -> None:
        """``queued`` bytes are still in the connection's send queue: count the rest."""
        assert self._progress is not None
        gone = min(self._handed, max(self._told, self._handed - queued))
        if gone > self._told:
            count, self._told = gone - self._told, gone
            self._progress(count)


def slices(data: memoryview, progress: Callable[[int], None] | None) -> Iterator[memoryview]:
    """``data`` as request-body pieces (see :meth:`Pacing.pieces`)."""
    return Pacing().pieces(data, progress)


def with_digest(location: str, digest: Digest) -> str:
    """The upload URL with ``digest=`` added, the rest of its query kept byte for byte."""
    separator = "&" if "?" in location else "?"
    return f"{location}{separator}digest={digest.algorithm}%3A{digest.hex}"
