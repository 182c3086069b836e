"""Text that stands for bytes: a name on disk, a word of the command line.

Python reads bytes that are not UTF-8 (a file named ``bad\\xff`` on Linux, a Latin-1
word given to a UTF-8 program) as lone surrogates, U+DC80 to U+DCFF, one per byte
(``surrogateescape``). Such text cannot be written as UTF-8, nor held by a QString.
:func:`as_given` writes it back as those bytes; :func:`visible` shows each as ``\\xff``,
as skopeo and ``ls -b`` do.
"""

from __future__ import annotations

import codecs
import re
import string
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
    not UTF-8 as ``\\xff`` (not Python's ``\\udcff``), a control character as ``\\x1b``,
    a format character (a bidi control, a zero-width one) as ``\\u202e``, a line or
    paragraph separator; but the characters of ``keep`` (``"\\n\\t"`` for text shown on
    several lines). A sentence quotes names from registries, files and images: an
    escape sequence in there must not reach a terminal as a command (clear the screen,
    retitle the window, fake output), nor a bidi control (U+202E RIGHT-TO-LEFT
    OVERRIDE) or a zero-width character (U+200B) turn or hide text in a window. Spaces
    show as themselves (a no-break space, the ideographic space), and so do characters
    Python's Unicode tables do not know yet (a new emoji).

    A joiner that does what it is for stays (:func:`joins`), and so do the tag
    characters of a flag (🏴 and U+E0067 …: England's)."""
    if text.isprintable():
        return text
    return "".join(char if char in keep or not _hidden(text, at) else _escaped(char)
                   for at, char in enumerate(text))


QUOTED_MOST: Final = 100
"""The most characters of a value from outside that :func:`quoted_value` shows."""


def quoted_value(text: str, *, most: int = QUOTED_MOST) -> str:
    """``text``, a value from outside that may be long and hold anything (a URL a
    manifest or a registry's challenge names), for a sentence: in double quotes, as
    :func:`visible` shows it, cut after ``most`` characters with ``…`` (before it is
    escaped, so no escape is cut in two) and its length said."""
    if len(text) <= most:
        return f'"{visible(text)}"'
    return f'"{visible(text[:most])}…" ({len(text):,} characters)'


TABS: Final = "\t"
"""For :func:`visible`'s ``keep``: text on one line, whose tabs show as spacing (a build
step's ``set -eux; \\tapt-get …``)."""

LINES: Final = "\n\t"
"""For :func:`visible`'s ``keep``: text shown on several lines."""

_HIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

_ZWNJ: Final = "\u200c"
_ZWJ: Final = "\u200d"
_EMOJI_PARTS: Final = frozenset({"\ufe0f", *map(chr, range(0x1F3FB, 0x1F400))})
"""What may stand between an emoji and its joiner: emoji presentation, skin tones."""

_BLACK_FLAG: Final = "\U0001f3f4"
_TAGS: Final = range(0xE0020, 0xE0080)
"""The tag characters that spell a subdivision flag after 🏴 (ending with U+E007F)."""

_JOINING_SCRIPTS: Final = (
    range(0x0600, 0x0800),  # Arabic, Syriac, Arabic Supplement, Thaana, N'Ko
    range(0x0860, 0x0900),  # Syriac Supplement, Arabic Extended
    range(0x0900, 0x0E00),  # the Brahmic scripts of India and Sri Lanka
    range(0x1000, 0x10A0),  # Myanmar
    range(0x1780, 0x18B0),  # Khmer, Mongolian
    range(0xA8E0, 0xA900),  # Devanagari Extended
    range(0xFB50, 0xFE00),  # Arabic Presentation Forms-A
    range(0xFE70, 0xFF00),  # Arabic Presentation Forms-B
)
"""Where U+200C and U+200D choose how letters join (Persian's half-space, a Malayalam
chillu): elsewhere (Latin, CJK, Hangul) they only hide."""


def _hidden(text: str, at: int) -> bool:
    char = text[at]
    if unicodedata.category(char) not in _HIDDEN_CATEGORIES:
        return False
    if ord(char) in _TAGS:
        return not _in_flag(text, at)
    return not joins(text, at)


def _in_flag(text: str, at: int) -> bool:
    """Whether the tag character at ``at`` follows 🏴 through tag characters only."""
    while at > 0 and ord(text[at - 1]) in _TAGS:
        at -= 1
    return at > 0 and text[at - 1] == _BLACK_FLAG


def joins(text: str, at: int) -> bool:
    """Whether the joiner at ``at`` joins two emoji (a family: one picture), or sits in a
    word of a script whose letters it joins (after a letter or mark of Arabic, Persian,
    Syriac, the Indic scripts, Myanmar, Khmer, Mongolian; a word-final Malayalam
    chillu too)."""
    char = text[at]
    if char not in (_ZWNJ, _ZWJ) or at == 0:
        return False
    before = text[at - 1]
    after = text[at + 1] if at + 1 < len(text) else ""
    if char == _ZWJ and after and _emoji(after) and (_emoji(before) or before in _EMOJI_PARTS):
        return True
    return _joining_letter(before) and (not after or not after.isalpha()
                                        or _joining_letter(after))


def _joining_letter(char: str) -> bool:
    code = ord(char)
    return (any(code in script for script in _JOINING_SCRIPTS)
            and unicodedata.category(char)[0] in "LM")


def _emoji(char: str) -> bool:
    return ord(char) >= 0x2000 and unicodedata.category(char) == "So"


def shell_quoted(text: str) -> str:
    """``text`` (a path, an image name) as a POSIX shell takes it, such that
    :func:`shell_unquoted` reads it back as it is: ``$'…'`` (bash, zsh, ksh) where it holds
    what plain text cannot carry (a byte that is not UTF-8, a control character: each
    such byte as ``\\xff``); ``'…'`` where it holds what would be read as quoting (a
    quote, a backslash) or starts or ends with a space (which a paste strips);
    ``text`` itself where it holds none of these."""
    if not text.isprintable() or any(0xDC80 <= ord(char) <= 0xDCFF for char in text):
        out = []
        for char in text:
            if char in "\\'":
                out.append("\\" + char)
            elif char.isprintable():
                out.append(char)
            else:
                out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8", "surrogateescape"))
        return "$'" + "".join(out) + "'"
    if _QUOTING.isdisjoint(text) and text == text.strip():
        return text
    return "'" + text.replace("'", "'\\''") + "'"


_QUOTING: Final = frozenset("'\"\\")
"""What makes text shell quoting (:func:`shell_unquoted`) rather than a name as it is."""

_C_ESCAPES: Final = {"a": 7, "b": 8, "e": 27, "E": 27, "f": 12, "n": 10, "r": 13, "t": 9,
                     "v": 11, "\\": 92, "'": 39, '"': 34, "?": 63}

_WORD_ENDS: Final = frozenset(" \t\n;&|<>()")
"""What ends a shell word outside quotes (a blank, an operator)."""

_EXPANDED: Final = {"$": "a $", "`": "a `", "*": "a *", "?": "a ?", "[": "a ["}
"""What a shell expands outside quotes (a variable, a command, a pattern of names)."""


class NotOneWord(ValueError):
    """Text in shell quoting that is not one word a shell reads as it is written. Its
    ``str`` is the sentence; ``kind`` says why: ``"words"`` (several words),
    ``"unclosed"`` (a quote that is not closed) or ``"expanded"`` (what a shell would
    replace: ``$HOME``, a backquote, ``*``)."""

    def __init__(self, kind: str, sentence: str) -> None:
        super().__init__(sentence)
        self.kind = kind


def shell_unquoted(text: str) -> str | None:
    """The word a POSIX shell (bash) reads from ``text``, when ``text`` is written in shell
    quoting, as shells and tools write a name: ``'…'``, ``"…"``, ``$'…'`` (with its C
    escapes; ``\\xe9``, a byte that is not UTF-8, read back as :func:`as_given` writes
    it), a backslash outside quotes (``my\\ layout``, as ``printf %q`` writes it), and
    such parts one after the other (``'new'$'\\n''line'``, as GNU ``ls`` writes it).

    None when ``text`` holds no quote and no backslash: a name as it is, with its spaces.

    Raises:
        NotOneWord: several words, a quote that is not closed, or what a shell would
            expand (``$HOME``, a backquote, ``*`` outside quotes).
    """
    if _QUOTING.isdisjoint(text):
        return None
    out, at = bytearray(), 0
    while at < len(text):
        char = text[at]
        if char == "'":
            close = text.find("'", at + 1)
            if close < 0:
                raise _unclosed(text, at)
            out += as_given(text[at + 1:close])
            at = close + 1
        elif text.startswith("$'", at):
            close = at + 2
            while close < len(text) and text[close] != "'":
                close += 2 if text[close] == "\\" else 1
            if close >= len(text):
                raise _unclosed(text, at)
            out += _c_bytes(text[at + 2:close])
            at = close + 1
        elif char == '"' or text.startswith('$"', at):  # ($"…": bash's translated "…")
            at = _double_quoted(text, at + (1 if char == '"' else 2), out)
        elif char == "\\":
            if at + 1 < len(text):
                if text[at + 1] != "\n":  # (a backslash and a line break: one line)
                    out += as_given(text[at + 1])
                at += 2
            else:
                out += b"\\"
                at += 1
        elif char in _WORD_ENDS:
            raise NotOneWord("words", f"{quoted_once(text)} is several words to a shell, "
                             "not one name.")
        elif char in _EXPANDED and not (char == "$" and text[at + 1:at + 2] in ("", " ")):
            raise NotOneWord("expanded", f"{quoted_once(text)} has {_EXPANDED[char]} outside "
                             f"quotes, which a shell would replace{_not_here(char)}")
        else:
            out += as_given(char)
            at += 1
    return out.decode("utf-8", "surrogateescape")


def _double_quoted(text: str, at: int, out: bytearray) -> int:
    """Read the inside of ``"…"`` from ``at`` into ``out``; where it ends, after the
    closing quote. A backslash escapes only ``\\ " $ `` ` and a line break there."""
    start = at - 1
    while at < len(text):
        char = text[at]
        if char == '"':
            return at + 1
        if char == "\\" and at + 1 < len(text) and text[at + 1] in '\\"$`\n':
            if text[at + 1] != "\n":
                out += as_given(text[at + 1])
            at += 2
            continue
        if char in "$`":
            raise NotOneWord("expanded", f"{quoted_once(text)} has {_EXPANDED[char]} in "
                             f"double quotes, which a shell would replace{_not_here(char)}")
        out += as_given(char)
        at += 1
    raise _unclosed(text, start)


def _not_here(char: str) -> str:
    """The end of the sentence about ``char``, which a shell would replace: a variable or
    a command is not replaced here either, so the path itself is what to write (a single
    quote would keep it as it is written); a pattern goes in quotes."""
    if char in "$`":
        what = "a variable" if char == "$" else "a command"
        return (f", and this field does not: write the path itself (where {char} is part of "
                f"the name, not {what}, put it in single quotes).")
    return ": put it in quotes."


_VARIABLE: Final = re.compile(
    r"(?:[a-z][a-z0-9+.-]*:)?(\$(?:\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*))")
"""A shell variable at the start of a name, or of its path after a transport."""


def unexpanded_variable(text: str) -> str:
    """What to say of a name that starts with a shell variable, not in quotes
    (``$HOME/x``, ``oci:${HOME}/x``), which a shell would have replaced: "" for any other
    name. (A name that does not start with one may hold a ``$`` of its own.)"""
    found = _VARIABLE.match(text)
    if found is None:
        return ""
    return (f"{quoted_once(text)} has {found[1]}, a variable a shell would replace and this "
            "field does not: write the path itself.")


def quoted_once(text: str) -> str:
    """``text`` (:func:`visible`) in double quotes for a sentence, unless it is in double
    quotes already (a name pasted as ``"$HOME/x"`` is not shown as ``""$HOME/x""``); in
    single quotes when it holds a double quote and no single one."""
    shown = visible(text)
    if len(shown) >= 2 and shown[0] == shown[-1] == '"':
        return shown
    if '"' in shown and "'" not in shown:
        return f"'{shown}'"
    return f'"{shown}"'


def _unclosed(text: str, at: int) -> NotOneWord:
    quote = "$'" if text.startswith("$'", at) else text[at]
    return NotOneWord("unclosed", f"The {quote} at character {at + 1} of {quoted_once(text)} "
                      "is not closed: a name in quotes ends with the quote it starts with.")


def _c_bytes(body: str) -> bytes:
    """The inside of ``$'…'`` read as bash reads it (ending at its closing quote)."""
    out, at = bytearray(), 0
    while at < len(body):
        char = body[at]
        at += 1
        if char != "\\" or at == len(body):
            out += char.encode("utf-8", AS_GIVEN)
            continue
        code = body[at]
        at += 1
        if code in _C_ESCAPES:
            out.append(_C_ESCAPES[code])
        elif code in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[code]
            digits = ""
            while len(digits) < width and at < len(body) and body[at] in string.hexdigits:
                digits, at = digits + body[at], at + 1
            if not digits:
                out += ("\\" + code).encode()
            elif code == "x":
                out.append(int(digits, 16))
            else:
                out += chr(min(int(digits, 16), 0x10FFFF)).encode("utf-8", AS_GIVEN)
        elif code in "01234567":
            digits = code
            while len(digits) < 3 and at < len(body) and body[at] in "01234567":
                digits, at = digits + body[at], at + 1
            out.append(int(digits, 8) & 0xFF)
        else:
            out += ("\\" + code).encode("utf-8", AS_GIVEN)
    return bytes(out)


def _escaped(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # (a byte that was not UTF-8: that byte)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


__all__ = ["AS_GIVEN", "LINES", "TABS", "NotOneWord", "as_given", "joins", "quoted_once",
           "shell_quoted", "shell_unquoted", "unexpanded_variable", "visible"]
