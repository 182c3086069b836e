"""Text that stands for bytes: a name on disk, a word of the command line.

Python reads bytes that are not UTF-8 (a file named ``bad\\xff`` on Linux, a Latin-1
word given to a UTF-8 program) as lone surrogates, U+DC80 to U+DCFF, one per byte
(``surrogateescape``). Such text cannot be written as UTF-8, nor held by a QString.
:func:`as_given` writes it back as those bytes; :func:`visible` shows each as ``\\xff``,
as skopeo and ``ls -b`` do.
"""

from __future__ import annotations

import codecs
import unicodedata
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


def visible(text: str, *, keep: str = "") -> str:
    """``text`` with what would not show as itself written as an escape: a byte that was
    not UTF-8 as ``\\xff`` (not Python's ``\\udcff``), a control or format character as
    ``\\x1b``, ``\\u202e``; but the characters of ``keep`` (``"\\n"`` for text shown on
    several lines). A sentence quotes names from registries, files and images: an
    escape sequence in there must not reach a terminal as a command (clear the screen,
    retitle the window, fake output), nor a bidi control (U+202E RIGHT-TO-LEFT
    OVERRIDE) or a zero-width character (U+200B) turn or hide text in a window.

    A joiner that does what it is for stays: U+200D between two emoji (a family, a
    flag: one picture), U+200C and U+200D between two letters of a script that joins
    its letters (Arabic, Persian, the Indic scripts; from U+0600 on)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() or char in keep or joins(text, at)
                   else _escaped(char) for at, char in enumerate(text))


_ZWNJ: Final = "\u200c"
_ZWJ: Final = "\u200d"
_EMOJI_PARTS: Final = frozenset({"\ufe0f", *map(chr, range(0x1F3FB, 0x1F400))})
"""What may stand between an emoji and its joiner: emoji presentation, skin tones."""


def joins(text: str, at: int) -> bool:
    """Whether the joiner at ``at`` joins two emoji, or two letters of a joining script."""
    char = text[at]
    if char not in (_ZWNJ, _ZWJ) or not 0 < at < len(text) - 1:
        return False
    before, after = text[at - 1], text[at + 1]
    if char == _ZWJ and _emoji(after) and (_emoji(before) or before in _EMOJI_PARTS):
        return True
    return all(ord(c) >= 0x600 and unicodedata.category(c)[0] in "LM" for c in (before, after))


def _emoji(char: str) -> bool:
    return ord(char) >= 0x2000 and unicodedata.category(char) == "So"


def _escaped(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # (a byte that was not UTF-8: that byte)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


__all__ = ["AS_GIVEN", "as_given", "joins", "visible"]
