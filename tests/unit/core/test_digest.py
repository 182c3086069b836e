"""Digests and verifying readers (spyglass.core.digest)."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import CHUNK_SIZE, Digest, VerifyingReader, read_verified
from spyglass.core.errors import (
    Cancelled,
    DigestMismatch,
    InvalidDigest,
    SizeMismatch,
    TooLarge,
)

CONTENT = b"The quick brown fox jumps over the lazy dog.\n" * 1000
SHA256_HEX = hashlib.sha256(CONTENT).hexdigest()
SHA512_HEX = hashlib.sha512(CONTENT).hexdigest()


class CountingStream(io.BytesIO):
    """A BytesIO that remembers how many bytes were handed out."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.handed_out = 0

    def read(self, n: int | None = -1) -> bytes:
        data = super().read(n)
        self.handed_out += len(data)
        return data


def reader_for(
    data: bytes, digest: Digest | None = None, size: int | None = None, **kw: Any
) -> VerifyingReader:
    digest = digest or Digest.of(CONTENT)
    return VerifyingReader(io.BytesIO(data), digest, size, **kw)


# --------------------------------------------------------------------------- parsing


def test_parse_sha256() -> None:
    digest = Digest.parse(f"sha256:{SHA256_HEX}")
    assert digest.algorithm == "sha256"
    assert digest.hex == SHA256_HEX
    assert str(digest) == f"sha256:{SHA256_HEX}"
    assert digest.short == SHA256_HEX[:12]
    assert digest == Digest.of(CONTENT)


def test_parse_sha512() -> None:
    digest = Digest.parse(f"sha512:{SHA512_HEX}")
    assert digest.algorithm == "sha512"
    assert digest == Digest.of(CONTENT, "sha512")
    assert digest.hasher().name == "sha512"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (f"sha256:{SHA256_HEX.upper()}", "lower-case hexadecimal"),
        (f"SHA256:{SHA256_HEX}", 'unsupported algorithm "SHA256"'),
        (f"sha256:{SHA256_HEX[:-1]}", "64 lower-case hexadecimal characters"),
        (f"sha256:{SHA256_HEX}0", "64 lower-case hexadecimal characters"),
        (f"sha512:{SHA256_HEX}", "128 lower-case hexadecimal characters"),
        (f"sha256:{SHA256_HEX[:-1]}g", "lower-case hexadecimal"),
        (f"md5:{'0' * 32}", 'unsupported algorithm "md5"'),
        (f"sha384:{'0' * 96}", 'unsupported algorithm "sha384"'),
        (SHA256_HEX, "expected ALGORITHM:HEX"),
        ("", "expected ALGORITHM:HEX"),
        ("sha256:", "64 lower-case hexadecimal characters"),
        (f"sha256:{SHA256_HEX}\n", "lower-case hexadecimal"),
        (f" sha256:{SHA256_HEX}", 'unsupported algorithm " sha256"'),
    ],
)
def test_parse_refuses(text: str, fragment: str) -> None:
    with pytest.raises(InvalidDigest) as info:
        Digest.parse(text)
    message = str(info.value)
    assert fragment in message
    assert "is not a valid digest" in message


@pytest.mark.parametrize(
    "text",
    [
        "sha256:../../../../etc/passwd",
        f"sha256:../{SHA256_HEX[3:]}",
        f"sha256:{SHA256_HEX[:30]}/../{SHA256_HEX[:30]}",
        f"../sha256:{SHA256_HEX}",
        f"sha256/../../x:{SHA256_HEX}",
        f"sha256:{SHA256_HEX[:62]}/x",
        f"sha256:{SHA256_HEX[:63]}\0",
    ],
)
def test_parse_refuses_path_smuggling(text: str) -> None:
    """A digest becomes a path component (blobs/sha256/HEX): nothing path-like gets through."""
    with pytest.raises(InvalidDigest):
        Digest.parse(text)


def test_constructor_validates_too() -> None:
    with pytest.raises(InvalidDigest):
        Digest("sha256", "../../etc/passwd")
    with pytest.raises(InvalidDigest):
        Digest("sha1", "0" * 40)


def test_parse_refuses_non_strings() -> None:
    with pytest.raises(InvalidDigest, match="expected a string"):
        Digest.parse(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidDigest, match="expected a string"):
        Digest.parse(None)  # type: ignore[arg-type]


def test_digests_order_and_hash() -> None:
    a = Digest("sha256", "0" * 64)
    b = Digest("sha256", "1" + "0" * 63)
    assert a < b
    assert {a, b, Digest.parse(str(a))} == {a, b}


# --------------------------------------------------------------------------- VerifyingReader


def test_exact_content_passes() -> None:
    reader = reader_for(CONTENT, size=len(CONTENT))
    parts = []
    while chunk := reader.read(4096):
        parts.append(chunk)
    assert b"".join(parts) == CONTENT
    assert reader.verified
    assert reader.bytes_read == len(CONTENT)
    # reading on after the end keeps returning b"" without raising
    assert reader.read(10) == b""
    assert reader.verified


def test_exact_content_passes_without_a_size() -> None:
    reader = reader_for(CONTENT, size=None)
    assert reader.read() == CONTENT
    assert reader.verified


def test_readall_and_read_minus_one() -> None:
    assert reader_for(CONTENT, size=len(CONTENT)).readall() == CONTENT
    assert reader_for(CONTENT, size=len(CONTENT)).read(-1) == CONTENT


def test_sha512_content_passes() -> None:
    reader = reader_for(CONTENT, Digest.of(CONTENT, "sha512"), len(CONTENT))
    assert reader.read() == CONTENT
    assert reader.verified


def test_flipped_byte_raises_only_at_the_end() -> None:
    corrupt = bytearray(CONTENT)
    corrupt[len(corrupt) // 2] ^= 0x01
    reader = reader_for(bytes(corrupt), size=len(CONTENT))
    received = b""
    # every read that returns data succeeds: the mismatch can only be known at the end
    while len(received) < len(CONTENT):
        chunk = reader.read(1000)
        assert chunk
        received += chunk
    assert received == bytes(corrupt)
    assert not reader.verified
    with pytest.raises(DigestMismatch) as info:
        reader.read(1000)
    message = str(info.value)
    assert f"expected sha256:{SHA256_HEX}" in message
    assert f"got sha256:{hashlib.sha256(corrupt).hexdigest()}" in message
    assert not reader.verified


def test_mismatch_names_what() -> None:
    corrupt = CONTENT[:-1] + b"?"
    reader = reader_for(corrupt, size=len(CONTENT), what="The blob blobs/sha256/abc in /srv")
    with pytest.raises(DigestMismatch, match=r"^The blob blobs/sha256/abc in /srv does not match"):
        reader.readall()


def test_truncated_raises_size_mismatch() -> None:
    reader = reader_for(CONTENT[:-10], size=len(CONTENT))
    data = reader.read(len(CONTENT))
    assert data == CONTENT[:-10]
    with pytest.raises(SizeMismatch) as info:
        reader.read(10)
    assert f"has {len(CONTENT) - 10} bytes but its descriptor promises {len(CONTENT)}" in str(
        info.value
    )


def test_truncated_without_size_is_a_digest_mismatch() -> None:
    with pytest.raises(DigestMismatch):
        reader_for(CONTENT[:-10], size=None).readall()


def test_over_long_stops_before_reading_it_all() -> None:
    huge = CONTENT + b"\0" * (64 * CHUNK_SIZE)
    stream = CountingStream(huge)
    reader = VerifyingReader(stream, Digest.of(CONTENT), len(CONTENT))
    with pytest.raises(SizeMismatch, match=f"longer than the {len(CONTENT)} bytes"):
        while reader.read(CHUNK_SIZE):
            pass
    # the excess is noticed in the first chunk past the promised size
    assert stream.handed_out <= len(CONTENT) + CHUNK_SIZE
    assert stream.handed_out < len(huge)
    assert not reader.verified


def test_over_long_by_one_byte() -> None:
    reader = reader_for(CONTENT + b"!", size=len(CONTENT))
    with pytest.raises(SizeMismatch):
        reader.readall()


def test_read_zero_is_not_the_end() -> None:
    """``read(0)`` returns nothing without taking the stream for finished."""
    reader = reader_for(CONTENT, size=len(CONTENT))
    assert reader.read(0) == b""
    assert not reader.verified
    assert reader.read() == CONTENT
    assert reader.verified


def test_cancel_stops_reading() -> None:
    token = CancelToken()
    reader = reader_for(CONTENT, size=len(CONTENT), cancel=token)
    assert reader.read(100) == CONTENT[:100]
    token.cancel()
    with pytest.raises(Cancelled):
        reader.read(100)
    assert not reader.verified


def test_context_manager_closes_the_stream() -> None:
    stream = io.BytesIO(CONTENT)
    with VerifyingReader(stream, Digest.of(CONTENT), len(CONTENT)) as reader:
        reader.read(10)
    assert stream.closed


# --------------------------------------------------------------------------- read_verified


def test_read_verified_returns_the_content() -> None:
    data = read_verified(
        io.BytesIO(CONTENT), Digest.of(CONTENT), len(CONTENT), limit=1 << 20, what="The config"
    )
    assert data == CONTENT


def test_read_verified_refuses_a_promised_size_over_the_limit_without_reading() -> None:
    stream = CountingStream(CONTENT)
    with pytest.raises(TooLarge) as info:
        read_verified(
            stream, Digest.of(CONTENT), 5 * 1024 * 1024, limit=4 * 1024 * 1024,
            what="The manifest sha256:x",
        )
    assert str(info.value).startswith("The manifest sha256:x is 5242880 bytes")
    assert "4 MiB" in str(info.value)
    assert stream.handed_out == 0


def test_read_verified_refuses_content_over_the_limit_when_size_is_unknown() -> None:
    big = b"x" * (2 * 1024 * 1024 + 1)
    with pytest.raises(TooLarge, match="The manifest is more than the 2 MiB accepted"):
        read_verified(
            io.BytesIO(big), Digest.of(big), None, limit=2 * 1024 * 1024, what="The manifest"
        )


def test_read_verified_checks_the_digest() -> None:
    with pytest.raises(DigestMismatch):
        read_verified(
            io.BytesIO(CONTENT[:-1] + b"x"), Digest.of(CONTENT), len(CONTENT),
            limit=1 << 20, what="The config",
        )


def test_read_verified_cancel() -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        read_verified(
            io.BytesIO(CONTENT), Digest.of(CONTENT), len(CONTENT), limit=1 << 20,
            what="The config", cancel=token,
        )


# --------------------------------------------------------------------------- skip_digest


def test_skip_digest_checks_the_size_but_not_the_digest() -> None:
    wrong = Digest.of(b"something else")
    reader = VerifyingReader(io.BytesIO(CONTENT), wrong, len(CONTENT))
    reader.skip_digest()
    assert reader.read() == CONTENT
    assert reader.read() == b""  # the end: the size matched, nothing raised
    assert not reader.verified  # its digest was not checked


@pytest.mark.parametrize("data", [CONTENT[:-1], CONTENT + b"!"])
def test_skip_digest_still_refuses_a_wrong_size(data: bytes) -> None:
    reader = VerifyingReader(io.BytesIO(data), Digest.of(CONTENT), len(CONTENT))
    reader.skip_digest()
    with pytest.raises(SizeMismatch):
        reader.readall()
    assert not reader.verified


def test_skip_digest_only_before_reading() -> None:
    reader = reader_for(CONTENT, size=len(CONTENT))
    reader.read(10)
    with pytest.raises(ValueError, match="reading has begun"):
        reader.skip_digest()


def test_a_reader_that_skips_its_digest_promises_nothing() -> None:
    reader = reader_for(CONTENT, size=len(CONTENT))
    assert reader.promises(Digest.of(CONTENT), len(CONTENT))
    reader.skip_digest()
    assert not reader.promises(Digest.of(CONTENT), len(CONTENT))
