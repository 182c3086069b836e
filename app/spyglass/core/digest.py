"""Content digests and readers that verify a stream against one as it flows.

A :class:`Digest` is validated when it is made, so a digest that exists can be
used as a path component or a URL part without further checks.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from spyglass.core.errors import (
    Cancelled,
    DigestMismatch,
    InvalidDigest,
    SizeMismatch,
    TooLarge,
)

if TYPE_CHECKING:
    from spyglass.core.cancel import CancelToken

# algorithm → length of its lower-case hex encoding
_ALGORITHMS: Final = {"sha256": 64, "sha512": 128}
_HEX = re.compile(r"[0-9a-f]+")

CHUNK_SIZE: Final = 1024 * 1024


class Readable(Protocol):
    """Anything with a binary ``read(n)``: files, responses, other readers.

    Readers that can also fill a caller's buffer (``readinto``, as files and
    sockets have it) save an allocation per chunk; :func:`read_into` uses it
    where it exists.
    """

    def read(self, n: int = -1, /) -> bytes: ...


def read_into(stream: Readable, view: memoryview) -> int:
    """Fill up to ``len(view)`` bytes of ``view`` from ``stream``; 0 at its end.

    Uses the stream's ``readinto`` when it has one (no new bytes object per
    chunk, which at blob sizes costs page faults and GIL hand-offs), else
    copies one ``read``.
    """
    readinto = getattr(stream, "readinto", None)
    if readinto is not None:
        count = readinto(view)
        return int(count or 0)
    data = stream.read(len(view))
    view[: len(data)] = data
    return len(data)


@dataclass(frozen=True, order=True)
class Digest:
    """A content digest such as ``sha256:9f86d0…``.

    Only ``sha256`` and ``sha512`` with lower-case hex of the right length
    exist; anything else is refused by :meth:`parse` and by the constructor.
    """

    algorithm: str
    hex: str

    def __post_init__(self) -> None:
        length = _ALGORITHMS.get(self.algorithm)
        if length is None:
            raise InvalidDigest(
                f'"{self}" is not a valid digest: unsupported algorithm '
                f'"{self.algorithm}"; expected sha256 or sha512.'
            )
        if len(self.hex) != length or not _HEX.fullmatch(self.hex):
            raise InvalidDigest(
                f'"{self}" is not a valid digest: a {self.algorithm} digest is '
                f"{length} lower-case hexadecimal characters."
            )

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``algorithm:hex``; raise :class:`InvalidDigest` with a sentence."""
        if not isinstance(text, str):
            raise InvalidDigest(f"{text!r} is not a valid digest: expected a string.")
        algorithm, sep, hexpart = text.partition(":")
        if not sep:
            raise InvalidDigest(
                f'"{text}" is not a valid digest: expected ALGORITHM:HEX, '
                "for example sha256:9f86d081…"
            )
        return cls(algorithm, hexpart)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """The digest of ``data``."""
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def hasher(self) -> hashlib._Hash:
        """A fresh hash object of this digest's algorithm."""
        return hashlib.new(self.algorithm)

    @property
    def short(self) -> str:
        """The first 12 hex characters, as people show image IDs."""
        return self.hex[:12]

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


class VerifyingReader:
    """A binary reader that checks the stream it wraps against a digest and size.

    Reading returns the wrapped stream's bytes unchanged; when the wrapped
    stream ends, the total size and the digest are compared with what was
    promised, and :class:`SizeMismatch` or :class:`DigestMismatch` is raised
    instead of returning the final empty read. Reading more than ``size``
    bytes fails as soon as the excess is seen, so an over-long stream is never
    consumed whole. A caller therefore only trusts the bytes once a read has
    returned ``b""``.

    ``what`` names the content in error messages (for example a blob digest in
    a layout path). A ``size`` of None, or negative (a schema 1 layer's, which no
    manifest states), is not checked: the digest alone is.
    """

    def __init__(
        self,
        stream: Readable,
        digest: Digest,
        size: int | None,
        *,
        what: str | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        self._stream = stream
        self._digest = digest
        self._size = size if size is None or size >= 0 else None  # negative: not known
        self._what = what or str(digest)
        self._cancel = cancel
        self._hash: hashlib._Hash | None = digest.hasher()
        self._seen = 0
        self._verified = False

    @property
    def bytes_read(self) -> int:
        return self._seen

    @property
    def verified(self) -> bool:
        """True once the whole stream was read and matched its digest (never after
        :meth:`skip_digest`, which checks the size alone)."""
        return self._verified and self._hash is not None

    def promises(
        self, digest: Digest, size: int | None, cancel: CancelToken | None = None
    ) -> bool:
        """True when this unread reader checks exactly ``digest`` (and ``size``, and
        watches ``cancel``): a consumer that reads it to its end need not hash again."""
        return (
            self._hash is not None
            and self._seen == 0
            and self._digest == digest
            and (size is None or self._size == size)
            and (cancel is None or self._cancel is cancel)
        )

    def read(self, n: int = -1) -> bytes:
        if self._cancel is not None and self._cancel.cancelled:
            raise Cancelled()
        if n is None or n < 0:
            return self.readall()
        if n == 0:  # an empty read is not the end of the stream
            return b""
        data = self._stream.read(n)
        if data:
            self._seen += len(data)
            if self._size is not None and self._seen > self._size:
                raise SizeMismatch(
                    f"{self._what} is longer than the {self._size} bytes its descriptor "
                    "promises; the content is not trusted."
                )
            if self._hash is not None:
                self._hash.update(data)
            return data
        self._finish()
        return b""

    def readinto(self, buffer: memoryview | bytearray, /) -> int:
        """Like :meth:`read`, into ``buffer``: the count read, 0 only once verified."""
        if self._cancel is not None and self._cancel.cancelled:
            raise Cancelled()
        view = buffer if isinstance(buffer, memoryview) else memoryview(buffer)
        if not len(view):
            return 0
        count = read_into(self._stream, view)
        if count:
            self._seen += count
            if self._size is not None and self._seen > self._size:
                raise SizeMismatch(
                    f"{self._what} is longer than the {self._size} bytes its descriptor "
                    "promises; the content is not trusted."
                )
            if self._hash is not None:
                self._hash.update(view[:count])
            return count
        self._finish()
        return 0

    def readall(self) -> bytes:
        parts: list[bytes] = []
        while chunk := self.read(CHUNK_SIZE):
            parts.append(chunk)
        return b"".join(parts)

    def _finish(self) -> None:
        if self._verified:
            return
        if self._size is not None and self._seen != self._size:
            raise SizeMismatch(
                f"{self._what} has {self._seen} bytes but its descriptor promises "
                f"{self._size}; the content is not trusted."
            )
        if self._hash is None:  # checked by what the bytes become instead
            self._verified = True
            return
        actual = self._hash.hexdigest()
        if actual != self._digest.hex:
            raise DigestMismatch(
                f"{self._what} does not match its digest: expected {self._digest}, "
                f"got {self._digest.algorithm}:{actual}. The content is corrupt or was "
                "tampered with."
            )
        self._verified = True

    def skip_digest(self) -> None:
        """Check the size only, not the digest, for a reader that is not read yet.

        For a consumer that checks what the bytes become against another digest it
        trusts, and keeps nothing else of them: a layer being recompressed, whose
        uncompressed bytes are checked against the diff ID its config promises (one
        sha256 pass fewer, a fifth of a recompression's processor time). A stream
        whose bytes differ but decompress to the same content makes the same layer.
        """
        if self._seen:
            raise ValueError("skip_digest() after reading has begun")
        self._hash = None

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> VerifyingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_verified(
    stream: Readable,
    digest: Digest,
    size: int | None,
    *,
    limit: int,
    what: str,
    cancel: CancelToken | None = None,
) -> bytes:
    """Read a small blob (a manifest or config) whole, verified, at most ``limit`` bytes.

    Raises :class:`TooLarge` when the promised or actual size exceeds the limit.
    """
    if size is not None and size > limit:
        raise TooLarge(
            f"{what} is {size} bytes, more than the {limit // (1024 * 1024)} MiB "
            "accepted for manifests and configs."
        )
    reader = VerifyingReader(stream, digest, size, what=what, cancel=cancel)
    parts: list[bytes] = []
    total = 0
    while chunk := reader.read(CHUNK_SIZE):
        total += len(chunk)
        if total > limit:
            raise TooLarge(
                f"{what} is more than the {limit // (1024 * 1024)} MiB accepted "
                "for manifests and configs."
            )
        parts.append(chunk)
    return b"".join(parts)


def verifies_itself(
    stream: Readable,
    digest: Digest | None,
    size: int | None,
    cancel: CancelToken | None = None,
) -> bool:
    """True when ``stream`` is an unread :class:`VerifyingReader` for exactly ``digest``.

    Such a stream raises instead of ending when its bytes do not hash to
    ``digest`` (or are not ``size`` long, when given) and checks ``cancel``
    itself, so a consumer that reads it to its end need not hash the bytes a
    second time. Copies from registries and layouts hand over such streams.
    """
    return (
        digest is not None
        and isinstance(stream, VerifyingReader)
        and stream.promises(digest, size, cancel)
    )
