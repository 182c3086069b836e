"""Go's regular expressions (RE2 syntax), read by Python's :mod:`re`.

skopeo sync matches a yaml file's ``images-by-tag-regex`` with Go's ``regexp``;
Python's ``re`` reads most of that syntax alike, but not what is Go's own
(``regexp/syntax``'s doc.go):

- ASCII classes inside brackets: ``[[:digit:]]``, ``[[:^alpha:]_]`` (Python
  read ``[[:digit:]]`` as the set ``[:digt`` followed by ``]``, and warned);
- Unicode classes: ``\\pL``, ``\\p{Lu}``, ``\\PN``, ``\\p{^L}``, ``\\p{Latin}``;
- ``\\z`` (the end of the text), ``\\Q…\\E`` (literal text) and ``\\x{10FFFF}``.

Go's ``U`` flag (``(?U)``, ``(?U:…)``: lazy repetitions greedy and greedy ones lazy)
is written as each repetition the other way, and Go's flags in the middle of an
expression (``a(?i)b|c``, to the end of its group) as Python's groups of flags.

What Python reads and Go refuses is refused (as skopeo refuses the expression):
lookarounds, ``(?#…)``, ``(?>…)``, ``(?P=name)``, ``(?<name>…)`` (Go reads it from
1.22; skopeo 1.9 is built with Go 1.19), flags but ``imsU``, a repetition
repeated (Python's possessive ``a++``), ``\\Z``, ``\\1`` and the escapes Go does not
know (``\\u0041``, ``[\\b]``), and a count above 1000.

They are written in Python's syntax before the expression is compiled, and a
``[`` or a doubled ``&&``, ``~~``, ``||``, ``--`` inside brackets is escaped (Go
reads them as the characters; Python warns that it will read them otherwise).

The classes are those of ASCII, where Go's are Unicode's (``\\pL`` is
``A-Za-z``): the expressions match tags, which hold ASCII letters, digits and
``_.-`` only, and there the two agree. Go's ``\\d``, ``\\w``, ``\\s`` and ``\\b``
are ASCII too; the expression is compiled with :data:`re.ASCII` for them.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

_ASCII: Final = range(0x80)

_POSIX: Final[dict[str, Callable[[int], bool]]] = {
    "alnum": lambda c: chr(c).isalnum(),
    "alpha": lambda c: chr(c).isalpha(),
    "ascii": lambda c: True,
    "blank": lambda c: chr(c) in "\t ",
    "cntrl": lambda c: c < 0x20 or c == 0x7F,
    "digit": lambda c: chr(c).isdigit(),
    "graph": lambda c: 0x21 <= c <= 0x7E,
    "lower": lambda c: chr(c).islower(),
    "print": lambda c: 0x20 <= c <= 0x7E,
    "punct": lambda c: 0x21 <= c <= 0x7E and not chr(c).isalnum(),
    "space": lambda c: chr(c) in "\t\n\v\f\r ",
    "upper": lambda c: chr(c).isupper(),
    "word": lambda c: chr(c).isalnum() or c == ord("_"),
    "xdigit": lambda c: chr(c) in "0123456789ABCDEFabcdef",
}
"""Go's ASCII classes (``[:name:]``), each a test of an ASCII code point."""

_CATEGORIES: Final = frozenset({
    "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn",
    "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk",
    "Sm", "So", "Z", "Zl", "Zp", "Zs"})
"""Unicode's general categories, as Go names them in ``\\p{…}``."""


@dataclass(frozen=True)
class _Class:
    """A class of characters: its ASCII members, and whether every other character is one
    too (a negated class)."""

    ascii: frozenset[int]
    beyond: bool = False

    def negated(self) -> _Class:
        return _Class(frozenset(_ASCII) - self.ascii, not self.beyond)

    def members(self) -> str:
        """The class as the inside of Python's brackets (``\\x30-\\x39``)."""
        parts: list[str] = []
        codes = sorted(self.ascii)
        start = 0
        while start < len(codes):
            end = start
            while end + 1 < len(codes) and codes[end + 1] == codes[end] + 1:
                end += 1
            parts.append(f"\\x{codes[start]:02x}" if start == end
                         else f"\\x{codes[start]:02x}-\\x{codes[end]:02x}")
            start = end + 1
        if self.beyond:
            parts.append("\\x80-\\U0010ffff")
        return "".join(parts)


def _bracket(body: str, negate: bool) -> str:
    """Python's brackets around ``body``; one that holds nothing matches nothing (or, negated,
    anything), where ``[]`` would be no expression."""
    if not body:
        return "[\\x00-\\U0010ffff]" if negate else "[^\\x00-\\U0010ffff]"
    return f"[{'^' if negate else ''}{body}]"


@dataclass
class _Group:
    """A group being read: the flag groups its ``(?FLAGS)`` opened in Python's syntax
    (``(?i:``), which its ``|`` and its end close (Go's flags last to the group's end,
    Python's inline ones must start the expression), and whether its repetitions are
    lazy ones (Go's ``U``, which Python has not: each is written the other way)."""

    opened: list[str]
    lazy: bool

    def closed(self) -> str:
        return ")" * len(self.opened)


def translate(pattern: str) -> str:
    """``pattern``, in Go's syntax, written in Python's (see the module's docstring).
    Raises :class:`re.error` for what Go refuses and Python would read (a lookaround,
    ``(?#…)``, ``(?>…)``, ``(?P=name)``, a flag but ``imsU``, a possessive ``a++``,
    ``\\Z``, a backreference), a class Go does not know, or an escape left unended."""
    out: list[str] = []
    groups = [_Group([], lazy=False)]
    repeated = ""  # the repetition just read: Go refuses one more straight after it
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        group = groups[-1]
        found = _GO_REPEAT.match(pattern, i) if char == "{" else None
        if char in "*+?" or found is not None:
            i, repeated = _repetition(pattern, i, found, repeated, group.lazy, out)
            continue
        repeated = ""
        if char == "\\":
            if i + 1 >= n:
                raise re.error("trailing backslash at end of expression")
            after = pattern[i + 1]
            if after == "z":
                out.append("\\Z")
                i += 2
            elif after == "Q":  # \Q…\E: literal text (to the end where no \E follows)
                end = pattern.find("\\E", i + 2)
                out.append(re.escape(pattern[i + 2:n if end < 0 else end]))
                i = n if end < 0 else end + 2
            elif after in "pP":
                unicode, i = _unicode_class(pattern, i)
                out.append(_bracket(unicode.members(), False))
            elif after == "x" and pattern.startswith("{", i + 2):
                code, i = _hex_code(pattern, i)
                out.append(code)
            else:
                escape, i = _escape(pattern, i, in_set=False)
                out.append(escape)
        elif char == "[":
            body, negate, i = _set(pattern, i)
            out.append(_bracket(body, negate))
        elif pattern.startswith("(?", i):
            i = _group(pattern, i, groups, out)
        elif char == "(":
            groups.append(_Group([], group.lazy))
            out.append("(")
            i += 1
        elif char == ")" and len(groups) > 1:
            out.append(groups.pop().closed() + ")")
            i += 1
        elif char == "|":  # (Go's flags hold for each alternative after them)
            out.append(group.closed() + "|" + "".join(group.opened))
            i += 1
        elif char == "{":
            out.append("\\{")  # Go reads a { that starts no {n}, {n,}, {n,m} as itself
            i += 1
        else:
            out.append(char)
            i += 1
    out.extend(group.closed() for group in reversed(groups))
    return "".join(out)


_REPEAT_MAX: Final = 1000
"""The most times Go's ``{n,m}`` repeats."""


def _repetition(pattern: str, start: int, counted: re.Match[str] | None, repeated: str,
                lazy: bool, out: list[str]) -> tuple[int, str]:
    """The repetition at ``start`` (``*``, ``+``, ``?``, ``{n,m}``, each maybe with its
    lazy ``?``) added to ``out`` (lazy or not as Go reads it under ``U``): where it ends,
    and the repetition as written. Go refuses a repetition straight after another."""
    end = start + (len(counted.group()) if counted is not None else 1)
    if counted is not None and any(int(count) > _REPEAT_MAX for count in re.findall(
            r"[0-9]+", counted.group())):
        raise re.error(f"{counted.group()} repeats more than Go's {_REPEAT_MAX} times")
    asked_lazy = pattern.startswith("?", end)
    written = pattern[start:end + asked_lazy]
    if repeated:
        raise re.error(f"{repeated}{written} repeats a repetition, which Go refuses (a "
                       "possessive a++ or a*+ is Python's syntax, not Go's)")
    out.append(pattern[start:end] + ("?" if asked_lazy != lazy else ""))
    return end + asked_lazy, written


_GO_FLAGS: Final = "imsU"


def _group(pattern: str, start: int, groups: list[_Group], out: list[str]) -> int:
    """The group or flags at ``start`` (``(?`` follows): Go's ``(?P<name>``,
    ``(?FLAGS)`` and ``(?FLAGS:`` in Python's syntax; where it ends. What else Python
    reads after ``(?`` is refused, and ``(?<name>``, which Go reads only from 1.22."""
    group = groups[-1]
    if pattern.startswith("(?P<", start):
        groups.append(_Group([], group.lazy))
        out.append("(?P<")  # (Go's named group, as Python writes it)
        return start + 4
    if pattern.startswith("(?<", start) and not pattern.startswith(("(?<=", "(?<!"), start):
        raise re.error("(?<name>…) is not Go's syntax as skopeo reads it: Go 1.19, which "
                       "skopeo 1.9 uses, reads only (?P<name>…) (Go 1.22 reads both)")
    on: list[str] = []
    off: list[str] = []
    flags = on
    i = start + 2
    while i < len(pattern) and pattern[i] in _GO_FLAGS + "-":
        if pattern[i] == "-":
            if flags is off:
                break
            flags = off
        elif pattern[i] not in flags:
            flags.append(pattern[i])
        i += 1
    if i >= len(pattern) or pattern[i] not in ":)" or (flags is off and not off):
        said = pattern[start:i + 2 if pattern.startswith(("(?<=", "(?<!"), start) else i + 1]
        raise re.error(
            f"{said} is not Go's syntax: Go reads (?P<name>…), and the flags "
            f"{', '.join(_GO_FLAGS[:-1])} and {_GO_FLAGS[-1]} as (?i) or (?i:…); "
            "lookarounds, (?#…), (?>…), (?P=name) and other flags are Python's")
    lazy = ("U" in on or group.lazy) and "U" not in off
    on = [flag for flag in on if flag != "U" and flag not in off]
    off = [flag for flag in off if flag != "U"]
    python = "".join(on) + ("-" + "".join(off) if off else "")
    opened = f"(?{python}:" if python else ""
    if pattern[i] == ":":
        groups.append(_Group([], lazy))
        out.append(opened or "(?:")
    else:  # (?FLAGS): to the end of the group, in each alternative after it
        group.lazy = lazy
        if opened:
            group.opened.append(opened)
            out.append(opened)
    return i + 1


def _escape(pattern: str, start: int, *, in_set: bool) -> tuple[str, int]:
    """The escape of one character at ``start`` in Python's syntax, and where it ends; Go's
    octal ``\\0``, ``\\12`` as a code. One Go does not know is refused."""
    after = pattern[start + 1]
    if after in "01234567" and (after == "0" or pattern[start + 2:start + 3] in set(
            "01234567")):
        end = start + 2
        while end < min(start + 4, len(pattern)) and pattern[end] in "01234567":
            end += 1
        return f"\\U{int(pattern[start + 1:end], 8):08x}", end
    known = "afnrtvxdDsSwW" + ("" if in_set else "bBA")
    if (after.isascii() and not after.isalnum()) or after in known:
        return pattern[start:start + 2], start + 2
    if after in "123456789":
        raise re.error(f"\\{after} is a backreference, which Go's expressions do not have")
    if after == "Z":
        raise re.error("\\Z is Python's end of the text, not Go's: Go's is \\z")
    raise re.error(f"\\{after} is no escape Go knows"
                   + (" inside brackets" if in_set and after in "bBAz" else ""))


_GO_REPEAT: Final = re.compile(r"\{[0-9]+(?:,[0-9]*)?\}")


def _set(pattern: str, start: int) -> tuple[str, bool, int]:
    """The set in brackets at ``start``: the inside of Python's brackets for it, whether it
    is negated, and where it ends."""
    i = start + 1
    negate = pattern.startswith("^", i)
    if negate:
        i += 1
    parts: list[str] = []
    first = True
    was_class = after_class = False
    while True:
        if i >= len(pattern):
            raise re.error(f"missing closing ] for the set at position {start}")
        char = pattern[i]
        after_class, was_class = was_class, False
        if char == "]" and not first:
            return "".join(parts), negate, i + 1
        first = False
        if pattern.startswith("[:", i) and (end := pattern.find(":]", i + 2)) >= 0:
            name = pattern[i + 2:end]
            posix = _POSIX.get(name.removeprefix("^"))
            if posix is None:
                raise re.error(f"[:{name}:] is no class Go knows; it knows "
                               f"{', '.join(f'[:{known}:]' for known in _POSIX)}")
            ascii_class = _Class(frozenset(c for c in _ASCII if posix(c)))
            parts.append((ascii_class.negated() if name.startswith("^") else ascii_class)
                         .members())
            i = end + 2
            was_class = True
        elif char == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "pP":
            unicode, i = _unicode_class(pattern, i)
            parts.append(unicode.members())
            was_class = True
        elif char == "\\" and pattern.startswith("x{", i + 1):
            code, i = _hex_code(pattern, i)
            parts.append(code)
        elif char == "\\":
            if i + 1 >= len(pattern):
                raise re.error(f"missing closing ] for the set at position {start}")
            escape, end = _escape(pattern, i, in_set=True)
            parts.append(escape)
            was_class = pattern[i + 1] in "dDsSwW"
            i = end
        elif char == "-" and after_class:  # Go: a - after a class is the character
            parts.append("\\-")
            i += 1
        elif char in "[]&~|" or (char == "-" and parts and parts[-1] == "-"):
            parts.append(f"\\{char}")  # the character itself, as Go reads it
            i += 1
        else:
            parts.append(char)
            i += 1


def _unicode_class(pattern: str, start: int) -> tuple[_Class, int]:
    """``\\pL``, ``\\p{Lu}``, ``\\P{^N}`` at ``start``, and where it ends."""
    negate = pattern[start + 1] == "P"
    i = start + 2
    if pattern.startswith("{", i):
        end = pattern.find("}", i)
        if end < 0:
            raise re.error(f"missing closing }} for \\{pattern[start + 1]} at position {start}")
        name, i = pattern[i + 1:end], end + 1
    elif i < len(pattern):
        name, i = pattern[i], i + 1
    else:
        raise re.error(f"\\{pattern[start + 1]} at the end names no class")
    if name.startswith("^"):
        negate, name = not negate, name[1:]
    if name in _CATEGORIES:
        found = _Class(frozenset(c for c in _ASCII
                                 if unicodedata.category(chr(c)).startswith(name)))
    elif name == "Any":
        found = _Class(frozenset(_ASCII), beyond=True)
    elif name == "Latin":
        found = _Class(frozenset(c for c in _ASCII if chr(c).isalpha()))
    elif name == "Common":
        found = _Class(frozenset(c for c in _ASCII if not chr(c).isalpha()))
    else:
        raise re.error(f"\\p{{{name}}} is not read here: tags are ASCII, and the classes "
                       "read are the general categories (\\pL, \\p{Lu}, \\pN, …), Latin, "
                       "Common and Any")
    return (found.negated() if negate else found), i


def _hex_code(pattern: str, start: int) -> tuple[str, int]:
    """``\\x{10FFFF}`` at ``start``, as Python's ``\\U0010ffff``, and where it ends."""
    end = pattern.find("}", start)
    digits = pattern[start + 3:end] if end >= 0 else ""
    if not digits or len(digits) > 8 or not all(d in "0123456789abcdefABCDEF" for d in digits):
        raise re.error(f"no character code in \\x{{…}} at position {start}")
    code = int(digits, 16)
    if code > 0x10FFFF:
        raise re.error(f"\\x{{{digits}}} is beyond Unicode")
    return f"\\U{code:08x}", end + 1


def compile_re2(pattern: str) -> re.Pattern[str]:
    """``pattern`` (Go's syntax) compiled, as Go's ``regexp`` reads it for ASCII text.
    Raises :class:`re.error` with what is wrong; a set Python would read otherwise in a
    later version (its ``FutureWarning``) is refused, never a warning on stderr."""
    return _compile(translate(pattern), pattern)


def _compile(translated: str, written: str) -> re.Pattern[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        try:
            return re.compile(translated, re.ASCII)
        except FutureWarning as warning:
            said = str(warning)
            raise re.error(f"{said[:1].lower()}{said[1:]}, which a later Python may read "
                           "otherwise: put a backslash before the character meant") from None
        except re.error as exc:  # (a position in the translation is none in what was written)
            if translated == written:
                raise
            raise re.error(exc.msg) from None


__all__ = ["compile_re2", "translate"]
