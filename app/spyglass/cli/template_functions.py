"""The functions ``--format`` templates call (:mod:`spyglass.cli.template`), as Go's
``text/template`` has them: ``json``, ``index``, ``len``, ``lower``, ``upper``,
``join``, the comparisons, ``and``, ``or``, ``not``, ``print``, ``printf``,
``println``, ``slice``, ``html``, ``js`` and ``urlquery``.

:data:`FUNCTIONS` maps each name to its function and how many arguments it takes; a
function given what it cannot work on raises :class:`CannotApply`, with a sentence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from spyglass.cli.gotime import GoTime
from spyglass.cli.template_values import (
    MISSING,
    GoDigest,
    GoList,
    GoMap,
    GoStruct,
    JSONField,
    float_text,
    is_true,
    kind_of,
    print_value,
)
from spyglass.core import gojson
from spyglass.core.text import as_given

MAX_WIDTH: Final = 4096
"""The widest a ``printf`` field may be."""


def _plain(value: Any) -> Any:
    """``value`` as Go's ``json.Marshal`` writes it: maps' keys sorted, a struct's
    fields under their JSON tags' names (:attr:`GoStruct.json`), those ``omitempty``
    left out when empty, a nil list or map ``null``, a time in RFC 3339 with
    nanoseconds, a digest as its string."""
    if isinstance(value, GoMap):
        return None if value.nil else {key: _plain(value[key]) for key in sorted(value)}
    if isinstance(value, GoStruct):
        out = {}
        for name, item in value.items():
            field = value.json.get(name, JSONField(name))
            if not (field.omitempty and _empty(item)):
                out[field.name] = _plain(item)
        return out
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, GoList) and value.nil:
        return None
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, GoTime):
        return value.format("2006-01-02T15:04:05.999999999Z07:00")
    if isinstance(value, str):
        return str(value)
    return None if value is MISSING else value


def _empty(value: Any) -> bool:
    """What Go's ``omitempty`` leaves out: false, 0, "", nil, an empty list or map (a
    struct never)."""
    if isinstance(value, GoStruct | GoTime):
        return False
    return value is None or value is MISSING or (
        isinstance(value, bool | int | float | str | list | tuple | Mapping) and not value)


def _json(value: Any) -> str:
    """As Go's ``json.Marshal``: compact, with ``<``, ``>`` and ``&`` escaped."""
    return gojson.dumps(_plain(value))


class CannotApply(Exception):
    """A function given what it cannot work on; the text says what."""


def _index(value: Any, *keys: Any) -> Any:
    """As Go's ``index``: a list or a string by a whole number in range, a map by a
    string, a key it has not giving its zero value (:attr:`GoMap.zero`). A struct is
    not indexed (Go: "can't index item of type …"); its fields are looked up by name."""
    for key in keys:
        whole = isinstance(key, int) and not isinstance(key, bool)
        if isinstance(value, GoMap):
            if key is None:
                raise CannotApply("nil is no key; a map's keys are strings")
            if not isinstance(key, str):
                raise CannotApply(f"{print_value(key)} is {kind_of(key)}, and a map's keys are "
                                   "strings")
            value = value.get(key, value.zero)
        elif isinstance(value, Mapping):
            field = (f"; its field is written .{key}" if isinstance(key, str) and key in value
                     and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else
                     " (only a list, a string or a map can; a struct's fields are looked "
                     "up by name, as .Name)")
            raise CannotApply(f"a struct cannot be indexed{field}")
        elif isinstance(value, str) and whole:
            data = as_given(value)
            if not 0 <= key < len(data):
                raise CannotApply(f"{key} is out of range (the string has {len(data)} bytes)")
            value = data[key]
        elif isinstance(value, list | tuple) and whole:
            if not 0 <= key < len(value):
                raise CannotApply(f"{key} is out of range (the list has {len(value)})")
            value = value[key]
        else:
            shown = (json.dumps(key, ensure_ascii=False) if isinstance(key, str)
                     else repr(key) if isinstance(key, float) else print_value(key))
            if isinstance(value, list | tuple | str):
                raise CannotApply(f"{kind_of(value)}'s index is a whole number, not {shown}")
            raise CannotApply(f"{kind_of(value)} cannot be indexed with {shown}")
    return value


def _len(value: Any) -> int:
    if value is MISSING or value is None:
        return 0
    if isinstance(value, str):
        return len(as_given(value))  # Go counts a string's bytes
    if isinstance(value, Mapping | list | tuple):
        return len(value)
    raise CannotApply(f"{kind_of(value)} has no length")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise CannotApply(f"it takes a string, not {kind_of(value)}")
    return value


def _join(items: Any, separator: Any) -> str:
    if not isinstance(items, list | tuple) or not isinstance(separator, str):
        raise CannotApply("it takes a list and then a separator string")
    return separator.join(print_value(item) for item in items)


def _equal(first: Any, *others: Any) -> bool:
    """As Go's ``eq``: true if the first equals any of the others."""
    return any(_same(first, other) for other in others)


def _comparable(value: Any) -> Any:
    if isinstance(value, Mapping | list | tuple):
        raise CannotApply(f"{kind_of(value)} cannot be compared")
    # (a time compares as its text; a digest is a string, however it is marked)
    return str(value) if isinstance(value, GoTime | str) else value


def _same(first: Any, other: Any) -> bool:
    """Go's ``eq`` of two values: of one kind (numbers are one), or refused."""
    first, other = _comparable(first), _comparable(other)
    if first is MISSING or other is MISSING:
        return first is other
    kinds = {type(first) if not isinstance(first, int | float) or isinstance(first, bool)
             else float,
             type(other) if not isinstance(other, int | float) or isinstance(other, bool)
             else float}
    if len(kinds) > 1:
        raise CannotApply(f"{kind_of(first)} and {kind_of(other)} cannot be compared")
    return bool(first == other)


def _number_or_text(value: Any) -> Any:
    """A value ``lt`` and its kin can order: a number or a string."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise CannotApply(f"{kind_of(value)} cannot be ordered")
    return str(value) if isinstance(value, str) else value


def _less(first: Any, second: Any) -> bool:
    """As Go's ``lt``: two integers, two floats or two strings (bytewise)."""
    first, second = _number_or_text(first), _number_or_text(second)
    if type(first) is not type(second):
        raise CannotApply("incompatible types for comparison")
    if isinstance(first, str):
        return bool(as_given(first) < as_given(second))
    return bool(first < second)


def _less_or_equal(first: Any, second: Any) -> bool:
    return _less(first, second) or _same(first, second)


def _print_line(*values: Any) -> str:
    """As Go's ``println``: spaces between all operands, a newline after them."""
    return " ".join(print_value(value) for value in values) + "\n"


def _slice(value: Any, *indexes: Any) -> Any:
    """As Go's ``slice``: ``slice x 1 2`` is ``x[1:2]`` (a string's bytes, or a list;
    a list also takes a third index, its capacity)."""
    if any(isinstance(i, bool) or not isinstance(i, int) for i in indexes):
        raise CannotApply("its indexes are integers")
    if isinstance(value, str):
        data: Any = as_given(value)
        if len(indexes) > 2:
            raise CannotApply("a string takes at most two indexes")
    elif isinstance(value, list | tuple):
        data = list(value)
    else:
        raise CannotApply(f"{kind_of(value)} cannot be sliced")
    bounds: list[int] = [*indexes, *[0, len(data), len(data)][len(indexes):]]
    start, end, capacity = bounds
    if not 0 <= start <= end <= capacity <= len(data):
        raise CannotApply(f"the indexes {', '.join(map(str, indexes))} are out of range "
                           f"(it has {len(data)})")
    piece = data[start:end]
    # (bytes cut out of a character stay bytes, as Go keeps them)
    return piece.decode("utf-8", "surrogateescape") if isinstance(piece, bytes) else piece


def _as_text(values: tuple[Any, ...]) -> str:
    """The text the escaping functions work on: one string as it is, else as ``print``."""
    if len(values) == 1 and isinstance(values[0], str):
        return values[0]
    return _print_all(*values)


_HTML_ESCAPES: Final = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;",
                        "\0": "\ufffd"}
_JS_ESCAPES: Final = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C",
                      ">": "\\u003E", "&": "\\u0026", "=": "\\u003D"}


def _html(*values: Any) -> str:
    """As Go's ``html``."""
    return "".join(_HTML_ESCAPES.get(char, char) for char in _as_text(values))


def _js(*values: Any) -> str:
    """As Go's ``js``: quotes, backslashes and markup escaped, controls as ``\\u00XX``."""
    out = []
    for char in _as_text(values):
        if char in _JS_ESCAPES:
            out.append(_JS_ESCAPES[char])
        elif char < " " or (char >= "\x80" and not char.isprintable()):
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def _urlquery(*values: Any) -> str:
    """As Go's ``urlquery`` (``url.QueryEscape``)."""
    from urllib.parse import quote_plus

    return quote_plus(_as_text(values), safe="")


def _and(*values: Any) -> Any:
    for value in values:
        if not is_true(value):
            return value
    return values[-1]


def _or(*values: Any) -> Any:
    for value in values:
        if is_true(value):
            return value
    return values[-1]


_VERB: Final = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d*))?(.?)", re.DOTALL)


def _printf(layout: Any, *values: Any) -> str:
    """As Go's ``printf`` for the verbs people use — ``%v %s %q %d %t %x %X %o %b %c %U
    %f %e %g %T %%`` with flags, width and precision, a list's elements and a map's keys
    and values each printed with the verb — and Go's ``%!`` marks for what does not fit
    (a missing value, a value of the wrong kind, one too many)."""
    if not isinstance(layout, str):
        raise CannotApply(f"its first argument is the layout, a string, not {kind_of(layout)}")
    left = list(values)

    def verb(match: re.Match[str]) -> str:
        flags, width, precision, letter = match.groups()
        if letter == "%":
            return "%"
        if not letter:
            return "%!(NOVERB)"
        if letter in "[*":  # (refused, not printed wrong: Go would print the value)
            raise CannotApply("argument indexes (%[1]d) and * widths are not supported; "
                              "write the width in the layout and the values in order")
        if (width and int(width) > MAX_WIDTH) or (precision and int(precision) > MAX_WIDTH):
            raise CannotApply(f"a width or precision above {MAX_WIDTH} is not printed")
        if not left:
            return f"%!{letter}(MISSING)"
        return _format_value(left.pop(0), _Verb(letter, flags, int(width or 0), precision))

    printed = _VERB.sub(verb, layout)
    if left:
        printed += "%!(EXTRA " + ", ".join(
            f"{_go_type(value)}={print_value(value)}" for value in left) + ")"
    return printed


@dataclass(frozen=True)
class _Verb:
    """A ``printf`` verb: its letter, flags, width (0: none) and precision (None: none;
    "" for a bare dot, which Go reads as 0)."""

    letter: str
    flags: str
    width: int
    precision: str | None

    @property
    def sharp_v(self) -> bool:
        return self.letter == "v" and "#" in self.flags

    def pad(self, text: str, *, number: bool = False) -> str:
        """``text`` padded to the width: left with ``-``, with zeros after any sign for a
        number with ``0``, else with spaces on the left."""
        gap = self.width - len(text)
        if gap <= 0:
            return text
        if "-" in self.flags:
            return text + " " * gap
        if "0" in self.flags and number:
            sign = text[:1] if text[:1] in "+-" else ""
            return sign + "0" * gap + text[len(sign):]
        return " " * gap + text


def _format_value(value: Any, verb: _Verb) -> str:
    """One value as ``verb`` prints it, as Go's fmt: a list ``[e1 e2]`` and a map
    ``map[k:v]`` (keys sorted) with the verb applied to each element, key and value (and
    the width to each), a struct ``{v1 v2}`` (``%+v``: ``{Name:v1 …}``); ``%#v`` in Go's
    syntax; ``%T`` the value's Go type."""
    if verb.letter == "T":
        return verb.pad(_go_type(value))
    if verb.sharp_v:
        return _go_syntax(value)
    if isinstance(value, GoMap):
        return "map[" + " ".join(f"{_format_value(key, verb)}:{_format_value(value[key], verb)}"
                                 for key in sorted(value)) + "]"
    if isinstance(value, Mapping):
        named = verb.letter == "v" and "+" in verb.flags
        pointer = "&" if _go_type(value).startswith("*") else ""
        return pointer + "{" + " ".join((f"{name}:" if named else "") + _format_value(item, verb)
                              for name, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_format_value(item, verb) for item in value) + "]"
    return _format_scalar(value, verb)


def _format_scalar(value: Any, verb: _Verb) -> str:
    """A value that is no list, map or struct as ``verb`` prints it, padded."""
    letter, flags, precision = verb.letter, verb.flags, verb.precision
    whole = isinstance(value, int) and not isinstance(value, bool)
    number = whole or isinstance(value, float)
    plus = "+" if "+" in flags else ""
    cut = None if precision is None else int(precision or 0)
    if isinstance(value, GoTime | GoDigest) and letter in "vsq":
        value = str(value)  # (as its String method gives it, as Go's fmt calls it)
    if letter in "vs" and isinstance(value, str):
        return verb.pad(value if cut is None else value[:cut])
    if letter == "v" and number and not isinstance(value, float):
        return verb.pad(format(value, plus + "d"), number=True)
    if letter == "v" or (letter == "s" and value is MISSING):
        return verb.pad(print_value(value), number=number)
    if letter == "s" and isinstance(value, GoTime):
        return verb.pad(str(value))
    if letter == "q" and isinstance(value, str):
        text = value if cut is None else value[:cut]
        if "#" in flags and _can_backquote(text):
            return verb.pad(f"`{text}`")
        return verb.pad(go_quote(text, ascii_only="+" in flags))
    if letter == "t" and isinstance(value, bool):
        return verb.pad("true" if value else "false")
    if whole and letter in "dxXobcqU":
        return verb.pad(_format_integer(value, letter, flags), number=letter in "dxXob")
    if letter in "xX" and isinstance(value, str):
        text = as_given(value).hex()
        if cut is not None:
            text = text[: cut * 2]
        return verb.pad(text.upper() if letter == "X" else text)
    if letter in "feg" and number:
        if letter == "g" and precision is None:
            text = float_text(float(value))
            return verb.pad(plus + text if plus and value >= 0 else text, number=True)
        digits = 6 if precision is None else int(precision or 0)
        # (%e: Go writes at least two exponent digits, as Python does)
        return verb.pad(format(float(value), f"{plus}.{digits}{letter}"), number=True)
    if value is None:
        return f"%!{letter}(<nil>)"
    if value is MISSING:
        return f"%!{letter}(<no value>)"
    # as Go: the value inside the mark printed with %v and the same flags and width
    inner = _format_value(value, _Verb("v", flags, verb.width, precision))
    return f"%!{letter}({_go_type(value)}={inner})"


def _format_integer(value: int, letter: str, flags: str) -> str:
    """An integer as ``%d %x %X %o %b %c %q %U`` prints it (``#``: ``0x``, ``0``, ``0b``
    prefixes, ``U+0041 'A'``; ``+`` and space: a sign)."""
    if letter == "c":
        return _rune(value)
    if letter == "q":
        return "'" + go_quote(_rune(value), ascii_only="+" in flags, quote="'")[1:-1] + "'"
    if letter == "U":
        text = f"U+{value:04X}"
        char = _rune(value)
        return text + (f" '{char}'" if "#" in flags and char.isprintable() else "")
    sign = "-" if value < 0 else "+" if "+" in flags else " " if " " in flags else ""
    digits = format(abs(value), {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[letter])
    prefix = ({"x": "0x", "X": "0X", "o": "0", "b": "0b"}.get(letter, "")
              if "#" in flags else "")
    return sign + prefix + digits


def _rune(value: int) -> str:
    """The character of code point ``value``; U+FFFD where there is none, as Go."""
    return chr(value) if 0 <= value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF \
        else "\ufffd"


_SHORT_ESCAPES: Final = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n",
                         "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(text: str, *, ascii_only: bool = False, quote: str = '"') -> str:
    r"""``text`` as Go's ``strconv.Quote`` writes it (``ascii_only``: ``QuoteToASCII``):
    the quote and the backslash escaped, ``\a \b \f \n \r \t \v`` so, another
    control character (and DEL) as ``\x..``, a byte that was not UTF-8 as ``\x..``,
    a character that does not print (U+2028, a format character) as ``\u....`` or
    ``\U........``; printable characters, Unicode too, as themselves."""
    out = [quote]
    for char in text:
        code = ord(char)
        if char in (quote, "\\"):
            out.append("\\" + char)
        elif char.isprintable() and (code < 0x80 or not ascii_only):
            out.append(char)
        elif char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept as given
            out.append(f"\\x{code - 0xDC00:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append(quote)
    return "".join(out)


def _can_backquote(text: str) -> bool:
    """As Go's ``strconv.CanBackquote``: one line, no backquote, no control but tab."""
    return all(char == "\t" or (char >= " " and char not in "`\x7f\ufeff"
                                 and not 0xD800 <= ord(char) <= 0xDFFF) for char in text)


def _go_syntax(value: Any) -> str:
    """``value`` as Go's ``%#v`` prints it: strings quoted, lists and maps with their
    type (``[]string{"a", "b"}``, ``map[string]string{"k":"v"}``)."""
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, GoMap):
        if value.nil:
            return f"{_go_type(value)}(nil)"
        return _go_type(value) + "{" + ", ".join(
            f"{_go_syntax(key)}:{_go_syntax(value[key])}" for key in sorted(value)) + "}"
    if isinstance(value, Mapping):
        name = _go_type(value)
        return ("&" + name[1:] if name.startswith("*") else name) + "{" + ", ".join(
            f"{name}:{_go_syntax(item)}" for name, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        if isinstance(value, GoList) and value.nil:
            return f"{_go_type(value)}(nil)"
        return _go_type(value) + "{" + ", ".join(_go_syntax(item) for item in value) + "}"
    if isinstance(value, GoTime):
        return value.go_syntax()
    if value is None:
        return "<nil>"
    return print_value(value)


def _go_type(value: Any) -> str:
    """The Go type ``%T`` names for ``value``, as skopeo's structs declare it."""
    if value is None or value is MISSING:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, GoDigest):
        return "digest.Digest"
    if isinstance(value, str):
        return "string"
    if isinstance(value, GoTime):
        return "*time.Time" if value.pointer else "time.Time"
    if isinstance(value, GoMap):
        if isinstance(value.zero, Mapping):
            return "map[string]struct {}"
        return "map[string]string" if isinstance(value.zero, str) \
            else "map[string]interface {}"
    if isinstance(value, GoStruct):
        return value.type_name
    if isinstance(value, Mapping):
        return "struct {}"
    if isinstance(value, list | tuple):
        if isinstance(value, GoList) and value.element_type:
            return "[]" + value.element_type
        types = {_go_type(item) for item in value} or {"string"}
        return "[]" + (types.pop() if len(types) == 1 else "interface {}")
    return "interface {}"


def _print_all(*values: Any) -> str:
    """As Go's ``print``: a space between two operands when neither is a string."""
    out = ""
    for number, value in enumerate(values):
        if number and not isinstance(value, str) and not isinstance(values[number - 1], str):
            out += " "
        out += print_value(value)
    return out


FUNCTIONS: Final[dict[str, tuple[Callable[..., Any], int, int | None]]] = {
    # name: (function, fewest arguments, most arguments or None for any number)
    "json": (_json, 1, 1),
    "index": (_index, 1, None),
    "len": (_len, 1, 1),
    "lower": (lambda text: _text(text).lower(), 1, 1),
    "upper": (lambda text: _text(text).upper(), 1, 1),
    "join": (_join, 2, 2),
    "eq": (_equal, 2, None),
    "ne": (lambda first, second: not _same(first, second), 2, 2),
    "not": (lambda value: not is_true(value), 1, 1),
    "and": (_and, 1, None),
    "or": (_or, 1, None),
    "printf": (_printf, 1, None),
    "print": (_print_all, 0, None),
    "println": (_print_line, 0, None),
    "lt": (_less, 2, 2),
    "le": (_less_or_equal, 2, 2),
    "gt": (lambda first, second: not _less_or_equal(first, second), 2, 2),
    "ge": (lambda first, second: not _less(first, second), 2, 2),
    "slice": (_slice, 1, 4),
    "html": (_html, 0, None),
    "js": (_js, 0, None),
    "urlquery": (_urlquery, 0, None),
}
