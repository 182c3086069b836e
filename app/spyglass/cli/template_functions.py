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
from typing import Any, Final

from spyglass.cli.gotime import GoTime
from spyglass.cli.template_values import MISSING, GoMap, float_text, is_true, kind_of, print_value
from spyglass.core import gojson
from spyglass.core.text import as_given

MAX_WIDTH: Final = 4096
"""The widest a ``printf`` field may be."""


def _plain(value: Any) -> Any:
    """``value`` as JSON holds it, maps' keys sorted as Go's encoder sorts them."""
    if isinstance(value, GoMap):
        return None if value.nil else {key: _plain(value[key]) for key in sorted(value)}
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, GoTime):
        return value.text
    return None if value is MISSING else value


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
    return str(value) if isinstance(value, GoTime) else value


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
    return value


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
    """As Go's ``printf`` for the verbs people use — ``%v %s %q %d %t %x %X %o %f %e
    %g %%`` with flags, width and precision — and Go's ``%!`` marks for what does not
    fit (a missing value, a value of the wrong kind, one too many)."""
    if not isinstance(layout, str):
        raise CannotApply(f"its first argument is the layout, a string, not {kind_of(layout)}")
    left = list(values)

    def verb(match: re.Match[str]) -> str:
        flags, width, precision, letter = match.groups()
        if letter == "%":
            return "%"
        if not letter:
            return "%!(NOVERB)"
        if (width and int(width) > MAX_WIDTH) or (precision and int(precision) > MAX_WIDTH):
            raise CannotApply(f"a width or precision above {MAX_WIDTH} is not printed")
        if not left:
            return f"%!{letter}(MISSING)"
        text = _format_value(left.pop(0), letter, flags, precision)
        if width and len(text) < int(width):
            pad = int(width) - len(text)
            if "-" in flags:
                text += " " * pad
            elif "0" in flags and letter in "dxXofeg" and text[:1] in "+-":
                text = text[0] + "0" * pad + text[1:]
            elif "0" in flags and letter in "dxXofeg":
                text = "0" * pad + text
            else:
                text = " " * pad + text
        return text

    printed = _VERB.sub(verb, layout)
    if left:
        printed += "%!(EXTRA " + ", ".join(
            f"{_go_type(value)}={print_value(value)}" for value in left) + ")"
    return printed


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "interface {}"


def _format_value(value: Any, letter: str, flags: str, precision: str | None) -> str:
    """One value as ``%<flags><letter>`` prints it (width aside)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    plus = "+" if "+" in flags else ""
    if letter in "vs":
        text = print_value(value)
        return text[: int(precision)] if precision and letter == "s" else text
    if letter == "q" and isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if letter == "t" and isinstance(value, bool):
        return "true" if value else "false"
    if letter in "dxXo" and number and isinstance(value, int):
        spec = {"d": "d", "x": "x", "X": "X", "o": "o"}[letter]
        return format(value, plus + spec)
    if letter in "xX" and isinstance(value, str):
        text = as_given(value).hex()
        return text.upper() if letter == "X" else text
    if letter in "feg" and number:
        digits = 6 if precision in (None, "") else int(precision)
        if letter == "g" and precision in (None, ""):
            return plus + float_text(float(value)) if value >= 0 or not plus \
                else float_text(float(value))
        # (%e: Go writes at least two exponent digits, as Python does)
        return format(float(value), f"{plus}.{digits}{letter}")
    return f"%!{letter}({_go_type(value)}={print_value(value)})"


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
