"""Text that stands for bytes: a name on disk, a word of the command line.

Python reads bytes that are not UTF-8 (a file named ``bad\\xff`` on Linux, a Latin-1
word given to a UTF-8 program) as lone surrogates, U+DC80 to U+DCFF, one per byte
(``surrogateescape``). Such text cannot be written as UTF-8, nor held by a QString.
:func:`as_given` writes it back as those bytes.
"""

from __future__ import annotations

import codecs
from typing import Final

AS_GIVEN: Final = "spyglass-as-given"
"""The codec error handler that writes each escaped byte back as it was, and any other
lone surrogate (which no byte was read as) as U+FFFD."""

_REPLACEMENT: Final = "\ufffd".encode()


def _bytes_back(error: UnicodeError) -> tuple[bytes, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = bytearray()
    for char in error.object[error.start:error.end]:
        code = ord(char)
        out += bytes([code - 0xDC00]) if 0xDC80 <= code <= 0xDCFF else _REPLACEMENT
    return bytes(out), error.end


codecs.register_error(AS_GIVEN, _bytes_back)


def as_given(text: str) -> bytes:
    """``text`` in UTF-8, each byte that was not UTF-8 where it came from as it was."""
    return text.encode("utf-8", AS_GIVEN)


__all__ = ["AS_GIVEN", "as_given"]
