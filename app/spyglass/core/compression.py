"""Detecting and undoing the compression of layers, as a stream.

:func:`detect` names the compression of a stream from its first bytes, as
containers/image's ``compression.DetectCompression`` does; :func:`open_decompressed`
wraps a compressed stream in a reader of the decompressed bytes. Nothing is held
in memory beyond a chunk or two, however long the stream: layers are read
straight from a blob stream (usually a :class:`~spyglass.core.digest.VerifyingReader`)
and never land whole anywhere.

Failures come out as :class:`~spyglass.core.errors.TransportError` with a
sentence naming what could not be decompressed; errors the wrapped stream
itself raises on purpose (a :class:`~spyglass.core.errors.SpyglassError` such
as a digest mismatch or a cancellation) pass through unchanged.
"""

from __future__ import annotations

import bz2
import io
import lzma
import sys
import zlib
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Final, Protocol, cast

from spyglass.core.errors import CorruptData, SpyglassError, TransportError, Unsupported

try:
    # zlib-ng inflates gzip layers about twice as fast as the system's zlib (its
    # CRC-32 is four times faster) and deflates them twice as fast at the same
    # level, for output 1 % larger
    from zlib_ng import zlib_ng

    _inflater: Callable[[int], Any] = zlib_ng.decompressobj
    _deflater: Callable[[int, int, int], Any] = zlib_ng.compressobj
    _INFLATE_ERRORS: tuple[type[Exception], ...] = (
        zlib.error, cast("type[Exception]", zlib_ng.error))
except ImportError:  # pragma: no cover - an install without the wheel
    _inflater = zlib.decompressobj
    _deflater = zlib.compressobj
    _INFLATE_ERRORS = (zlib.error,)

GZIP_LEVEL: Final = 6
"""The gzip level when none is asked for (gzip's and containers/image's default)."""


def gzip_compressor(level: int | None = None) -> Any:
    """A compressor object (``compress``, ``flush``) writing one gzip member."""
    return _deflater(GZIP_LEVEL if level is None else level, zlib.DEFLATED, 31)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

GZIP: Final = "gzip"
ZSTD: Final = "zstd"
BZIP2: Final = "bzip2"
XZ: Final = "xz"
NONE: Final = "none"
"""Explicitly uncompressed: what :func:`spyglass.core.media.layer_compression` says for ``.tar``."""

ALGORITHMS: Final = (GZIP, ZSTD, BZIP2, XZ)

# containers/image pkg/compression: the magic bytes each format starts with.
_MAGIC: Final = (
    (GZIP, b"\x1f\x8b\x08"),
    (BZIP2, b"BZh"),
    (XZ, b"\xfd7zXZ\x00"),
    (ZSTD, b"\x28\xb5\x2f\xfd"),
)

HEADER_SIZE: Final = max(len(magic) for _, magic in _MAGIC)
"""How many leading bytes :func:`detect` needs to decide."""

READ_SIZE: Final = 256 * 1024
"""How much compressed input is read from the wrapped stream at a time."""


def detect(header: bytes) -> str | None:
    """The compression a stream starting with ``header`` uses, or None when it is uncompressed.

    Returns ``"gzip"``, ``"zstd"``, ``"bzip2"`` or ``"xz"``. ``header`` should
    hold at least :data:`HEADER_SIZE` bytes (fewer only when the stream is
    that short).
    """
    for algorithm, magic in _MAGIC:
        if header.startswith(magic):
            return algorithm
    return None


class ByteStream(Protocol):
    """What :func:`open_decompressed` reads from: a file object, a verifying reader, …"""

    def read(self, size: int = ..., /) -> bytes: ...


class _Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...

    def close(self) -> None: ...


class _ZstdFrames:
    """Follows the frame and block headers of zstd input to see whether it ends on a frame end.

    zstandard's stream reader takes input that stops in the middle of a frame
    for a normal end and returns what it decoded so far; this bookkeeping (the
    headers only, block contents are skipped) tells a truncated stream from a
    complete one.
    """

    _FRAME_MAGIC: Final = 0xFD2FB528
    _SKIPPABLE_MASK: Final = 0xFFFFFFF0
    _SKIPPABLE_MAGIC: Final = 0x184D2A50

    def __init__(self) -> None:
        self._state = "magic"
        self._need = 4
        self._header = bytearray()
        self._skip = 0
        self._checksum = False
        self.problem: str | None = None

    @property
    def at_frame_end(self) -> bool:
        """True when the input seen so far is whole frames (or nothing)."""
        return (
            self.problem is None
            and self._state == "magic"
            and not self._header
            and self._skip == 0
        )

    def feed(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while pos < end and self.problem is None:
            if self._skip:
                step = min(self._skip, end - pos)
                self._skip -= step
                pos += step
                continue
            take = min(self._need - len(self._header), end - pos)
            self._header += data[pos : pos + take]
            pos += take
            if len(self._header) == self._need:
                header = bytes(self._header)
                self._header.clear()
                self._advance(header)

    def _expect(self, state: str, need: int, skip: int = 0) -> None:
        self._state, self._need, self._skip = state, need, skip

    def _advance(self, header: bytes) -> None:
        value = int.from_bytes(header, "little")
        if self._state == "magic":
            if value == self._FRAME_MAGIC:
                self._expect("descriptor", 1)
            elif value & self._SKIPPABLE_MASK == self._SKIPPABLE_MAGIC:
                self._expect("skippable size", 4)
            else:
                self.problem = "a zstd frame does not start with the zstd magic number"
        elif self._state == "skippable size":
            self._expect("magic", 4, skip=value)
        elif self._state == "descriptor":
            if value & 0x08:
                self.problem = "a zstd frame header has its reserved bit set"
                return
            single_segment = bool(value & 0x20)
            self._checksum = bool(value & 0x04)
            window = 0 if single_segment else 1
            dictionary = (0, 1, 2, 4)[value & 0x03]
            content_size = ((1 if single_segment else 0), 2, 4, 8)[value >> 6]
            self._expect("block", 3, skip=window + dictionary + content_size)
        else:  # a block header
            last = value & 0x01
            block_type = (value >> 1) & 0x03
            size = value >> 3
            if block_type == 3:
                self.problem = "a zstd block has the reserved block type"
                return
            content = 1 if block_type == 1 else size
            if last:
                self._expect("magic", 4, skip=content + (4 if self._checksum else 0))
            else:
                self._expect("block", 3, skip=content)


class _Source:
    """The compressed stream, read in large chunks, with the peeked header served first.

    An ``OSError`` of the wrapped stream becomes a :class:`TransportError`, so
    that every ``OSError`` coming out of a decompressor is about the data.
    """

    def __init__(self, stream: ByteStream, what: str, *, close_stream: bool = False) -> None:
        self._stream = stream
        self._what = what
        self._close_stream = close_stream
        self._buffer = b""
        self._pos = 0
        self.eof = False
        self.frames: _ZstdFrames | None = None

    def _read_stream(self, size: int) -> bytes:
        """One read of the wrapped stream; an ``OSError`` becomes a sentence."""
        try:
            chunk = self._stream.read(size)
        except SpyglassError:
            raise
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise TransportError(
                f"{self._what} could not be read: {reason.rstrip('.')}."
            ) from exc
        if not chunk:
            self.eof = True
        return chunk

    def _fill(self) -> bool:
        """Read the next chunk into the (consumed) buffer; False at the end of the stream."""
        if self.eof:
            return False
        chunk = self._read_stream(READ_SIZE)
        if not chunk:
            return False
        if self.frames is not None:
            self.frames.feed(chunk)
        self._buffer = self._buffer[self._pos :] + chunk
        self._pos = 0
        return True

    def peek(self, size: int) -> bytes:
        """At least ``size`` bytes from the current position (fewer only at the end), unread."""
        while len(self._buffer) - self._pos < size and self._fill():
            pass
        return self._buffer[self._pos : self._pos + size]

    def watch_zstd_frames(self) -> None:
        """Follow zstd frames from the current position (nothing may have been read yet)."""
        self.frames = _ZstdFrames()
        self.frames.feed(self._buffer[self._pos :])

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            parts = [self._buffer[self._pos :]]
            self._buffer, self._pos = b"", 0
            while self._fill():
                parts.append(self._buffer)
                self._buffer = b""
            return b"".join(parts)
        if self._pos >= len(self._buffer):
            if self.frames is None and not self.eof:
                # nothing buffered and no frames to watch: hand over the read as it is,
                # without copying it into the buffer and out again
                self._buffer, self._pos = b"", 0
                return self._read_stream(size)
            if not self._fill():
                return b""
        data = self._buffer[self._pos : self._pos + size]
        self._pos += len(data)
        if self._pos >= len(self._buffer):
            self._buffer, self._pos = b"", 0
        return data

    def close(self) -> None:
        """Closes the wrapped stream only when it was handed over (``close_stream``)."""
        close = getattr(self._stream, "close", None)
        if self._close_stream and close is not None:
            close()


_DATA_ERRORS: Final = (OSError, EOFError, zlib.error, lzma.LZMAError)


def _data_errors() -> tuple[type[Exception], ...]:
    """The errors that mean bad data. zstandard is imported only for zstd data
    (it costs start-up time), so its error counts once it is loaded."""
    zstd = sys.modules.get("zstandard")
    return _DATA_ERRORS if zstd is None else (*_DATA_ERRORS, zstd.ZstdError)


_ZLIB_REASONS: Final = {
    "incorrect data check": "CRC check failed",
    "incorrect length check": "the length in a gzip trailer does not match the data",
    "incorrect header check": "it does not start with a gzip header",
}


def _zlib_reason(message: str) -> str:
    """zlib's "Error -3 while decompressing data: incorrect data check" as a reason."""
    detail = message.rpartition(": ")[2]
    return _ZLIB_REASONS.get(detail, detail or message)


class _GzipMembers:
    """The decompressed bytes of concatenated gzip members, straight from zlib (zlib-ng).

    zlib checks each member's header, CRC-32 and length itself; zero bytes
    between or after members are padding, as for ``gzip``. Compared with
    :class:`gzip.GzipFile` this skips two layers of Python buffering and its
    8 KiB reads, which mattered when a copy recompresses hundreds of MiB.
    """

    def __init__(self, source: _Source) -> None:
        self._source = source
        self._inflate = _inflater(31)
        self._input = b""
        self._fresh = True  # no input given to this member's decompressor yet
        self._ended = False
        self._later = False  # a member after the first one

    def read(self, size: int = -1, /) -> bytes:
        if size is None or size < 0:
            parts = []
            while piece := self.read(READ_SIZE):
                parts.append(piece)
            return b"".join(parts)
        while not self._ended and size:
            if self._inflate.eof:
                self._input = self._inflate.unused_data.lstrip(b"\0")
                self._inflate = _inflater(31)
                self._fresh = True
                self._later = True
            if not self._input:
                self._input = self._source.read(READ_SIZE)
                if self._fresh:
                    self._input = self._input.lstrip(b"\0")
                    while not self._input and not self._source.eof:
                        self._input = self._source.read(READ_SIZE).lstrip(b"\0")
                if not self._input:
                    if self._fresh:
                        self._ended = True
                        return b""
                    raise EOFError(
                        "the data ends before the end of its last gzip member"
                    )
            self._fresh = False
            try:
                data: bytes = self._inflate.decompress(self._input, size)
            except _INFLATE_ERRORS as exc:
                # the standard library's error, whichever zlib inflated
                reason = _zlib_reason(str(exc))
                if self._later and reason == _ZLIB_REASONS["incorrect header check"]:
                    reason = ("its gzip data is followed by bytes that are neither another "
                              "gzip member nor zero padding")
                raise zlib.error(reason) from exc
            # at a member's end the rest is in unused_data (unconsumed_tail may repeat it)
            self._input = b"" if self._inflate.eof else self._inflate.unconsumed_tail
            if data:
                return data
        return b""

    def close(self) -> None:
        self._input = b""


class _DecompressedRaw(io.RawIOBase):
    """The decompressed bytes of a :class:`_Source`, with errors turned into sentences."""

    def __init__(self, source: _Source, algorithm: str | None, what: str) -> None:
        super().__init__()
        self._source = source
        self._algorithm = algorithm
        self.algorithm = algorithm
        """The algorithm undone, or None when the bytes pass through."""
        self._what = what
        self._done = False
        self._inner: _Readable
        # The decompressors only call read(size) on their input; their stubs ask for more.
        fileobj = cast("IO[bytes]", source)
        if algorithm is None:
            self._inner = source
        elif algorithm == GZIP:
            self._inner = _GzipMembers(source)
        elif algorithm == BZIP2:
            self._inner = bz2.BZ2File(fileobj, mode="rb")
        elif algorithm == XZ:
            self._inner = lzma.LZMAFile(fileobj, mode="rb")  # noqa: SIM115 (closed in close())
        else:
            import zstandard

            source.watch_zstd_frames()
            self._inner = zstandard.ZstdDecompressor().stream_reader(
                fileobj,
                read_size=READ_SIZE,
                read_across_frames=True,
                closefd=False,
            )

    def readable(self) -> bool:
        return True

    def _fail(self, reason: str) -> TransportError:
        return CorruptData(
            f"{self._what} could not be decompressed as {self._algorithm}: "
            f"{reason.rstrip('.')}. The data is corrupt or truncated."
        )

    def _read(self, size: int) -> bytes:
        if self._done or size == 0:
            return b""
        try:
            data = self._inner.read(size)
        except SpyglassError:
            raise
        except _data_errors() as exc:
            raise self._fail(str(exc) or type(exc).__name__) from exc
        if not data:
            self._finish()
        return data

    def _finish(self) -> None:
        frames = self._source.frames
        if frames is not None:
            if self._source.read(1):
                raise self._fail("there is data after the last zstd frame")
            if not frames.at_frame_end:
                raise self._fail(frames.problem or "the stream ends in the middle of a zstd frame")
        self._done = True

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` decompressed bytes as the decompressor made them (no copy)."""
        if size is None or size < 0:
            return self.readall() or b""
        return self._read(size)

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        data = self._read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            try:
                if self._inner is not self._source:
                    self._inner.close()
            finally:
                try:
                    self._source.close()
                finally:
                    super().close()


def open_decompressed(
    stream: ByteStream,
    algorithm: str | None = None,
    *,
    what: str = "The stream",
    close_stream: bool = False,
    buffered: bool = True,
) -> IO[bytes]:
    """A reader of the decompressed bytes of ``stream``.

    ``algorithm`` is ``"gzip"``, ``"zstd"``, ``"bzip2"``, ``"xz"``, ``"none"``
    (pass the bytes through), or None to detect it from the first bytes, which
    are peeked without being lost. Concatenated gzip members, zstd frames,
    bzip2 and xz streams are read one after another as one stream.

    ``what`` names the content at the start of error sentences, e.g.
    ``"The layer sha256:…"``. Reading raises :class:`TransportError` when the
    data is corrupt or ends early (a truncated zstd stream included, which
    zstandard alone would take for a normal end); errors the wrapped stream
    raises on purpose pass through unchanged. Memory use does not grow with
    the stream's size.

    With ``buffered`` false the reader is not buffered: ``read(n)`` hands over
    what the decompressor produced (at most ``n`` bytes, fewer before the
    end), without copying it again; for a consumer that takes whole chunks.

    Closing the reader does not close ``stream`` (it belongs to the caller)
    unless ``close_stream`` is true. Raises
    :class:`~spyglass.core.errors.Unsupported` for an unknown ``algorithm``.
    """
    if algorithm is not None and algorithm != NONE and algorithm not in ALGORITHMS:
        raise Unsupported(
            f'{what} uses the compression "{algorithm}", which Spyglass cannot decompress; '
            f"it reads {', '.join(ALGORITHMS)} and uncompressed data."
        )
    source = _Source(stream, what, close_stream=close_stream)
    if algorithm is None:
        algorithm = detect(source.peek(HEADER_SIZE))
    elif algorithm == NONE:
        algorithm = None
    raw = _DecompressedRaw(source, algorithm, what)
    return io.BufferedReader(raw, buffer_size=READ_SIZE) if buffered else cast("IO[bytes]", raw)


def detected_algorithm(reader: IO[bytes]) -> str | None:
    """The algorithm a reader from :func:`open_decompressed` undoes; None when it passes through."""
    raw = reader if isinstance(reader, _DecompressedRaw) else getattr(reader, "raw", None)
    return raw.algorithm if isinstance(raw, _DecompressedRaw) else None
