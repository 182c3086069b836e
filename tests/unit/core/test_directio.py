"""Writes past the page cache: the same bytes on disk whichever way they went."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
from pathlib import Path

import pytest

from spyglass.core import directio
from spyglass.core.buffers import BufferPool
from spyglass.core.digest import CHUNK_SIZE, Digest
from spyglass.core.directio import ALIGNMENT, DirectWriter
from spyglass.core.transports.blob_write import write_blob
from spyglass.core.transports.temporaries import TempFiles

pytestmark = pytest.mark.skipif(
    not getattr(os, "O_DIRECT", 0), reason="no O_DIRECT on this platform"
)


def _open(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)


def test_pool_buffers_are_page_aligned() -> None:
    pool = BufferPool()
    import ctypes

    with pool.lend(CHUNK_SIZE) as view:
        address = ctypes.addressof(ctypes.c_char.from_buffer(view))
        assert address % ALIGNMENT == 0
        assert len(view) == CHUNK_SIZE


def test_aligned_chunks_go_direct_and_the_tail_does_not(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    pool = BufferPool()
    fd = _open(path)
    try:
        writer = DirectWriter(fd, direct=True)
        if not writer.direct:
            pytest.skip("this filesystem refuses O_DIRECT")
        with pool.lend(2 * ALIGNMENT) as view:
            view[:] = b"a" * ALIGNMENT + b"b" * ALIGNMENT
            writer.write(view)
            assert writer.direct
            assert fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT
            view[:3] = b"end"
            writer.write(view[:3])
        assert not writer.direct  # a tail is written the ordinary way
        assert not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT
    finally:
        os.close(fd)
    assert path.read_bytes() == b"a" * ALIGNMENT + b"b" * ALIGNMENT + b"end"


def test_a_last_write_with_a_tail_sends_its_whole_blocks_direct(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A blob's last buffer (or a small blob's only one) is rarely whole blocks: its
    blocks go past the page cache all the same, only the tail does not (it all went
    the ordinary way, a 4 MiB buffer's worth of a 1.5 MiB layer)."""
    path = tmp_path / "blob"
    pool = BufferPool()
    fd = _open(path)
    writes: list[tuple[int, bool]] = []
    real = os.write

    def write(to: int, data: memoryview) -> int:
        writes.append((len(data), bool(fcntl.fcntl(to, fcntl.F_GETFL) & os.O_DIRECT)))
        return real(to, data)

    try:
        writer = DirectWriter(fd, direct=True)
        if not writer.direct:
            pytest.skip("this filesystem refuses O_DIRECT")
        monkeypatch.setattr(directio.os, "write", write)
        with pool.lend(3 * ALIGNMENT) as view:
            view[:] = b"x" * (3 * ALIGNMENT)
            writer.write(view[: 2 * ALIGNMENT + 3])
        assert not writer.direct
    finally:
        os.close(fd)
    assert writes == [(2 * ALIGNMENT, True), (3, False)]
    assert path.read_bytes() == b"x" * (2 * ALIGNMENT + 3)


def test_a_misaligned_buffer_falls_back(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    pool = BufferPool()
    fd = _open(path)
    try:
        writer = DirectWriter(fd, direct=True)
        if not writer.direct:
            pytest.skip("this filesystem refuses O_DIRECT")
        with pool.lend(2 * ALIGNMENT) as view:
            view[:] = bytes(range(256)) * (2 * ALIGNMENT // 256)
            writer.write(view[1 : 1 + ALIGNMENT])  # aligned length, misaligned address
            expected = bytes(view[1 : 1 + ALIGNMENT])
        assert not writer.direct
    finally:
        os.close(fd)
    assert path.read_bytes() == expected


def test_a_filesystem_that_refuses_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fcntl = fcntl.fcntl

    def refusing(fd: int, cmd: int, arg: int = 0) -> int:
        if cmd == fcntl.F_SETFL and arg & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_fcntl(fd, cmd, arg)

    monkeypatch.setattr(directio.fcntl, "fcntl", refusing)
    path = tmp_path / "blob"
    fd = _open(path)
    try:
        writer = DirectWriter(fd, direct=True)
        assert not writer.direct
        writer.write(memoryview(b"x" * (ALIGNMENT + 5)))
    finally:
        os.close(fd)
    assert path.read_bytes() == b"x" * (ALIGNMENT + 5)


def test_a_filesystem_that_takes_the_flag_but_not_the_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    refused: list[int] = []

    def refusing(fd: int, data: memoryview) -> int:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            refused.append(len(data))
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(directio.os, "write", refusing)
    pool = BufferPool()
    path = tmp_path / "blob"
    fd = _open(path)
    try:
        writer = DirectWriter(fd, direct=True)
        if not writer.direct:
            pytest.skip("this filesystem refuses O_DIRECT")
        with pool.lend(ALIGNMENT) as view:
            view[:] = b"z" * ALIGNMENT
            writer.write(view)
    finally:
        os.close(fd)
    assert refused == [ALIGNMENT]
    assert path.read_bytes() == b"z" * ALIGNMENT


def test_other_write_errors_propagate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int, data: memoryview) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(directio.os, "write", full)
    fd = _open(tmp_path / "blob")
    try:
        writer = DirectWriter(fd, direct=True)
        with pytest.raises(OSError) as caught:
            writer.write(memoryview(b"x" * ALIGNMENT))
        assert caught.value.errno == errno.ENOSPC
    finally:
        os.close(fd)


class _Trickle:
    """A stream that hands out its bytes in odd-sized pieces."""

    def __init__(self, data: bytes, piece: int) -> None:
        self._data = memoryview(data)
        self._piece = piece

    def read(self, size: int = -1) -> bytes:
        count = min(self._piece, len(self._data), size if size >= 0 else len(self._data))
        out, self._data = bytes(self._data[:count]), self._data[count:]
        return out


@pytest.mark.parametrize("piece", [1000, 65_537, CHUNK_SIZE + 3])
def test_write_blob_stores_a_big_blob_exactly(tmp_path: Path, piece: int) -> None:
    data = os.urandom(3 * CHUNK_SIZE + 12_345)
    digest = Digest("sha256", hashlib.sha256(data).hexdigest())
    blobs = tmp_path / "blobs"
    temps = TempFiles(tmp_path)
    seen: list[int] = []
    written, size = write_blob(
        _Trickle(data, piece), temps=temps, target=lambda d: blobs / d.hex, digest=digest,
        size=len(data), what="the test blob", progress=seen.append,
    )
    assert (written, size) == (digest, len(data))
    assert (blobs / digest.hex).read_bytes() == data
    assert sum(seen) == len(data)
    assert [p.name for p in tmp_path.iterdir()] == ["blobs"]  # no temporary file left
