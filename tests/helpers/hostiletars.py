"""Tars made to exhaust a reader's memory or trip its parser: extended headers and sparse
maps that go on, sparse records that are no numbers. Built block by block, since
tarfile writes none of them."""

from __future__ import annotations

import tarfile


def declaring(size: int, kind: bytes) -> bytes:
    """A tar whose first member is an extended header (``kind``) declaring ``size`` bytes
    (base-256 in its size field), of which it holds only a block, then its end."""
    info = tarfile.TarInfo("././@LongLink" if kind == tarfile.GNUTYPE_LONGNAME
                           else "././@PaxHeader")
    info.type, info.size = kind, size
    return info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 3 * tarfile.BLOCKSIZE


def _checksummed(block: bytearray) -> bytes:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def old_gnu_sparse(extension_blocks: int, *, end: bool = True) -> bytes:
    """A GNU sparse member (type ``S``) whose map goes on in ``extension_blocks`` blocks
    of 21 entries each; ``end`` False: the tar stops inside them."""
    info = tarfile.TarInfo("sparse")
    info.type = tarfile.GNUTYPE_SPARSE
    header = bytearray(info.tobuf(format=tarfile.GNU_FORMAT))
    header[482] = 1  # "the map goes on in an extension block"
    extension = bytearray(tarfile.BLOCKSIZE)
    for number in range(21):
        extension[number * 24: number * 24 + 24] = b"%011o\0%011o\0" % (number * 1000, 1)
    blocks = [bytes(extension[:504]) + bytes([number < extension_blocks - 1]) + bytes(7)
              for number in range(extension_blocks)]
    tail = b"\0" * 2 * tarfile.BLOCKSIZE if end else b""
    return _checksummed(header) + b"".join(blocks if end else blocks[:-1]) + tail


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % tarfile.BLOCKSIZE)


def pax_member(records: dict[str, str], data: bytes = b"") -> bytes:
    """A member ``f`` holding ``data``, after a pax header of ``records`` (no tar's end)."""
    info = tarfile.TarInfo("f")
    info.size, info.pax_headers = len(data), records
    return info.tobuf(format=tarfile.PAX_FORMAT) + _padded(data)


def after_a_member(member: bytes) -> bytes:
    """``member`` after a good ``manifest.json``: a tar whose first header is good, so
    that what follows is damage, not "no tar"."""
    info = tarfile.TarInfo("manifest.json")
    info.size = 2
    return info.tobuf(format=tarfile.GNU_FORMAT) + _padded(b"[]") + member
