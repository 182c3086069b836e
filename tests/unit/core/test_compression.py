"""Compression detection and streaming decompression (spyglass.core.compression)."""

from __future__ import annotations

import bz2
import functools
import gzip
import io
import lzma
import os
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import pytest
import zstandard

from spyglass.core.compression import (
    ALGORITHMS,
    HEADER_SIZE,
    detect,
    open_decompressed,
)
from spyglass.core.digest import Digest, VerifyingReader
from spyglass.core.errors import DigestMismatch, SpyglassError, TransportError, Unsupported

# Compressible and incompressible parts, so streams have several blocks of both kinds.
DATA = (b"spyglass " * 50_000) + os.urandom(300_000) + bytes(500_000)

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "zstd": lambda data: zstandard.ZstdCompressor(level=3).compress(data),
    "bzip2": bz2.compress,
    "xz": lzma.compress,
}


@functools.cache
def compressed_data(algorithm: str) -> bytes:
    """DATA compressed with ``algorithm`` (made once: bzip2 and xz take their time)."""
    return COMPRESSORS[algorithm](DATA)


class Trickle(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes a read, as sockets and pipes do."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data = data
        self._pos = 0
        self._step = step
        self.closed_by_someone = False

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = len(self._data)
        chunk = self._data[self._pos : self._pos + min(n, self._step)]
        self._pos += len(chunk)
        return chunk

    def seek(self, *args: object) -> int:
        raise AssertionError("decompression must not seek")

    def tell(self) -> int:
        raise AssertionError("decompression must not ask where it is")

    def close(self) -> None:
        self.closed_by_someone = True
        super().close()


def read_in_chunks(stream: Any, size: int = 65536) -> bytes:
    parts = []
    while chunk := stream.read(size):
        parts.append(chunk)
    return b"".join(parts)


# --------------------------------------------------------------------------- detect


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_detect(algorithm: str) -> None:
    compressed = COMPRESSORS[algorithm](b"hello")
    assert detect(compressed[:HEADER_SIZE]) == algorithm
    assert detect(compressed) == algorithm


@pytest.mark.parametrize(
    "header",
    [
        b"",
        b"\x1f",  # too short to be sure
        b"\x1f\x8b\x00",  # gzip magic with an unknown method: not gzip
        b"BZ",
        b"\xfd7zXZ",
        b"\x28\xb5\x2f",
        b"etc/motd\x00\x00",  # the start of a tar header
        b"{\"schemaVersion\": 2}",
        bytes(512),
    ],
)
def test_detect_uncompressed(header: bytes) -> None:
    assert detect(header) is None


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_round_trip_named(algorithm: str) -> None:
    compressed = compressed_data(algorithm)
    with open_decompressed(io.BytesIO(compressed), algorithm) as stream:
        assert read_in_chunks(stream) == DATA


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_round_trip_detected(algorithm: str) -> None:
    compressed = compressed_data(algorithm)
    with open_decompressed(io.BytesIO(compressed)) as stream:
        assert stream.read() == DATA


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_short_reads_do_not_lose_the_peeked_header(algorithm: str) -> None:
    """Detection peeks at the first bytes; a stream that gives 7 bytes a read still works."""
    compressed = COMPRESSORS[algorithm](DATA[:200_000])
    source = Trickle(compressed, step=7)
    stream = open_decompressed(source)
    assert read_in_chunks(stream, 10_000) == DATA[:200_000]
    stream.close()
    assert not source.closed_by_someone  # the caller's stream stays the caller's


def test_uncompressed_passes_through() -> None:
    tar_like = b"etc/motd" + bytes(504) + DATA[:10_000]
    assert open_decompressed(io.BytesIO(tar_like)).read() == tar_like
    assert open_decompressed(io.BytesIO(tar_like), "none").read() == tar_like
    assert open_decompressed(Trickle(tar_like, step=3)).read() == tar_like


def test_none_is_taken_at_its_word() -> None:
    compressed = gzip.compress(b"hi")
    assert open_decompressed(io.BytesIO(compressed), "none").read() == compressed


def test_empty_stream() -> None:
    assert open_decompressed(io.BytesIO(b"")).read() == b""


@pytest.mark.parametrize("algorithm", ["gzip", "zstd", "bzip2", "xz"])
def test_concatenated_streams_read_as_one(algorithm: str) -> None:
    compress = COMPRESSORS[algorithm]
    parts = [b"first part\n" * 1000, b"", b"second part\n" * 2000, DATA[:50_000]]
    compressed = b"".join(compress(part) for part in parts)
    assert open_decompressed(io.BytesIO(compressed)).read() == b"".join(parts)


def test_zstd_frames_of_every_kind() -> None:
    """Checksums, no content size (streamed), multi-threaded frames and skippable frames."""
    streamed = io.BytesIO()
    with zstandard.ZstdCompressor(write_checksum=True).stream_writer(
        streamed, closefd=False
    ) as writer:
        for _ in range(20):
            writer.write(DATA[:100_000])
    threaded = zstandard.ZstdCompressor(threads=2, level=1).compress(DATA)
    skippable = (0x184D2A5E).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"12345"
    compressed = streamed.getvalue() + skippable + threaded
    stream = open_decompressed(Trickle(compressed, step=1000), "zstd")
    assert read_in_chunks(stream) == DATA[:100_000] * 20 + DATA


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_corrupt_input_is_a_sentence(algorithm: str) -> None:
    if algorithm == "zstd":
        # without a checksum zstd cannot notice a changed byte inside a raw block
        compressed = bytearray(zstandard.ZstdCompressor(write_checksum=True).compress(DATA))
    else:
        compressed = bytearray(compressed_data(algorithm))
    middle = len(compressed) // 2
    compressed[middle : middle + 64] = bytes(64)
    with pytest.raises(TransportError) as info:
        read_in_chunks(open_decompressed(io.BytesIO(bytes(compressed)), what="The layer sha256:x"))
    message = str(info.value)
    assert message.startswith(f"The layer sha256:x could not be decompressed as {algorithm}: ")
    assert message.endswith("The data is corrupt or truncated.")
    assert "\n" not in message


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("cut", [1, 4, 1000])
def test_truncated_input_is_an_error(algorithm: str, cut: int) -> None:
    """zstandard alone takes a stream cut in a frame for a normal end; we do not."""
    compressed = compressed_data(algorithm)
    with pytest.raises(TransportError, match=f"could not be decompressed as {algorithm}"):
        read_in_chunks(open_decompressed(io.BytesIO(compressed[:-cut])))


@pytest.mark.parametrize("algorithm", ["gzip", "zstd"])
def test_trailing_garbage_is_an_error(algorithm: str) -> None:
    compressed = compressed_data(algorithm) + b"garbage!"
    with pytest.raises(TransportError) as info:
        read_in_chunks(open_decompressed(io.BytesIO(compressed)))
    if algorithm == "gzip":  # it does start with a gzip header: what follows is the fault
        assert "its gzip data is followed by bytes that are neither another gzip member " \
            "nor zero padding" in str(info.value)
        assert "does not start with a gzip header" not in str(info.value)


def test_wrong_algorithm_named() -> None:
    with pytest.raises(TransportError, match="could not be decompressed as zstd"):
        open_decompressed(io.BytesIO(gzip.compress(DATA)), "zstd").read()
    with pytest.raises(TransportError, match="could not be decompressed as gzip"):
        open_decompressed(io.BytesIO(b"plain text, not gzip"), "gzip").read()


def test_gzip_crc_is_checked() -> None:
    compressed = bytearray(gzip.compress(DATA))
    compressed[-8] ^= 0xFF  # the CRC32 in the trailer
    with pytest.raises(TransportError, match="CRC check failed"):
        read_in_chunks(open_decompressed(io.BytesIO(bytes(compressed))))


def test_unknown_algorithm() -> None:
    with pytest.raises(Unsupported, match='uses the compression "lz4"'):
        open_decompressed(io.BytesIO(b""), "lz4", what="The layer sha256:y")


def test_read_errors_of_the_stream_become_sentences() -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: object) -> int:
            raise OSError(5, "Input/output error")

    expected = r"^The blob x could not be read: Input/output error\.$"
    with pytest.raises(TransportError, match=expected):
        open_decompressed(Broken(), what="The blob x").read()


@pytest.mark.parametrize("algorithm", [*ALGORITHMS, None])
def test_errors_of_the_stream_pass_through(algorithm: str | None) -> None:
    """A verifying reader's mismatch reaches the caller as itself, not as a decompression error."""
    payload = DATA[:100_000]
    compressed = COMPRESSORS[algorithm](payload) if algorithm else payload
    tampered = compressed + b"\0" if algorithm is None else compressed
    reader = VerifyingReader(io.BytesIO(tampered), Digest.of(b"something else"), None)
    with pytest.raises(DigestMismatch):
        read_in_chunks(open_decompressed(reader))


def test_spyglass_errors_are_not_rewrapped() -> None:
    class Cancelling(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: object) -> int:
            raise SpyglassError("Stopped on purpose.")

    with pytest.raises(SpyglassError, match=r"^Stopped on purpose\.$"):
        open_decompressed(Cancelling(), "gzip").read()


# --------------------------------------------------------------------------- memory


def compressed_zeros(algorithm: str, total: int) -> bytes:
    """``total`` zero bytes compressed, written piecewise so the test itself stays small."""
    block = bytes(1024 * 1024)
    out = io.BytesIO()
    if algorithm == "gzip":
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
        for _ in range(total // len(block)):
            out.write(compressor.compress(block))
        out.write(compressor.flush())
    elif algorithm == "zstd":
        with zstandard.ZstdCompressor().stream_writer(out, closefd=False) as writer:
            for _ in range(total // len(block)):
                writer.write(block)
    elif algorithm == "xz":
        lz = lzma.LZMACompressor(preset=0)
        for _ in range(total // len(block)):
            out.write(lz.compress(block))
        out.write(lz.flush())
    else:
        bz = bz2.BZ2Compressor(1)
        for _ in range(total // len(block)):
            out.write(bz.compress(block))
        out.write(bz.flush())
    return out.getvalue()


@pytest.mark.parametrize("algorithm", ["gzip", "zstd", "xz", "bzip2"])
def test_memory_stays_bounded(algorithm: str) -> None:
    total = 64 * 1024 * 1024
    compressed = compressed_zeros(algorithm, total)
    assert len(compressed) < total // 100
    source = io.BytesIO(compressed)
    tracemalloc.start()
    try:
        stream = open_decompressed(source)
        seen = 0
        while chunk := stream.read(1024 * 1024):
            seen += len(chunk)
        stream.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == total
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes while decompressing {total}"


def test_gzip_zero_padding_between_and_after_members() -> None:
    """As gzip(1) and Python's gzip accept: zero bytes pad members, the data stays the same."""
    padded = gzip.compress(b"one\n" * 5000) + b"\0" * 300 + gzip.compress(b"two\n") + b"\0" * 7
    stream = open_decompressed(Trickle(padded, step=97), "gzip")
    assert read_in_chunks(stream) == b"one\n" * 5000 + b"two\n"


def test_gzip_truncated_inside_a_member_is_an_error() -> None:
    compressed = gzip.compress(DATA)
    with pytest.raises(TransportError, match="could not be decompressed as gzip"):
        read_in_chunks(open_decompressed(io.BytesIO(compressed[: len(compressed) // 2]), "gzip"))


def test_gzip_goes_through_zlib_ng_and_stays_plain_gzip() -> None:
    """zlib-ng (a dependency, for speed) inflates and deflates; what it writes is
    gzip any reader takes, and a bad CRC in what it reads is still a sentence."""
    from zlib_ng import zlib_ng

    from spyglass.core import compression

    assert compression._inflater is zlib_ng.decompressobj
    compressor = compression.gzip_compressor(6)
    written = compressor.compress(DATA) + compressor.flush()
    assert gzip.decompress(written) == DATA
    assert open_decompressed(io.BytesIO(written), "gzip").read() == DATA
    broken = bytearray(written)
    broken[-8] ^= 0xFF  # the CRC-32
    with pytest.raises(TransportError, match="CRC check failed"):
        open_decompressed(io.BytesIO(bytes(broken)), "gzip").read()
