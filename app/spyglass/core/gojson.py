"""Image JSON read as Go's ``encoding/json`` reads it, so what Spyglass shows of an image
is what skopeo and the registries (all Go) see.

Go decodes bytes that are not UTF-8, and ``\\ud800``-style escapes of a lone surrogate,
to U+FFFD; Python refuses the first and keeps the second, which then cannot be written
as UTF-8 (a ``--format`` output failed) or read by strict JSON readers (jq). The bytes
of a manifest or config are never changed: their digests are over the bytes; only
what is read from them is.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Mapping
from typing import Any, Final

SURROGATE: Final = re.compile("[\ud800-\udfff]")
"""A lone UTF-16 surrogate in a Python string (a pair is one character already)."""

_ESCAPED_SURROGATE: Final = re.compile(r"\\u[dD][89a-fA-F]")

_GO_ESCAPES: Final = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                      "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_ESCAPED: Final = re.compile("[<>&\u2028\u2029]")


def dumps(value: Any) -> str:
    """``value`` as Go's ``json.Marshal`` writes it: compact, not ASCII-escaped, with
    ``<``, ``>``, ``&``, U+2028 and U+2029 escaped (:func:`go_escaped`)."""
    return go_escaped(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def go_escaped(text: str) -> str:
    """JSON ``text`` with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped, as Go's
    encoder writes them (a JSON value holds them only inside strings, so the
    replacement never touches the structure)."""
    return _GO_ESCAPED.sub(lambda match: _GO_ESCAPES[match.group()], text)


def _one_per_byte(error: UnicodeError) -> tuple[str, int]:
    """U+FFFD for each byte that is not UTF-8, as Go decodes (Python's "replace" gives
    one for a run of them: a cut-off sequence of three bytes is one, where Go has three)."""
    assert isinstance(error, UnicodeDecodeError)
    return "\ufffd" * (error.end - error.start), error.end


_GO_REPLACE: Final = "spyglass-go-replace"
codecs.register_error(_GO_REPLACE, _one_per_byte)


_TOO_MANY_DIGITS: Final = "integer string conversion"
"""In the ValueError Python raises for an integer of more digits than it converts."""


def loads(raw: bytes | str, **kwargs: Any) -> Any:
    """``json.loads`` as Go decodes: bytes that are not UTF-8 and lone surrogates are
    U+FFFD. Nesting too deep for Python, and an integer of more digits than Python
    converts (4,300), are a :class:`json.JSONDecodeError`, as the rest of what is not
    JSON: whoever reads JSON from outside catches that alone."""
    text = (raw.decode("utf-8", errors=_GO_REPLACE) if isinstance(raw, bytes | bytearray)
            else raw)
    try:
        value = json.loads(text, **kwargs)
        return _without_surrogates(value) if _ESCAPED_SURROGATE.search(text) else value
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except json.JSONDecodeError as exc:
        if text[exc.pos:exc.pos + 1] == "\ufffd" and isinstance(raw, bytes | bytearray):
            raise NotUTF8(raw, exc.pos, text) from None  # (what stopped it: say so)
        raise
    except ValueError as exc:
        if _TOO_MANY_DIGITS not in str(exc):
            raise  # a hook's own refusal (parse_constant=…) says what it says
        limit = sys.get_int_max_str_digits()
        raise json.JSONDecodeError(f"a number has more than {limit:,} digits", text,
                                   0) from None


class NotUTF8(json.JSONDecodeError):
    """JSON that stops being JSON where its bytes stop being UTF-8 text (a UTF-16 file,
    a Latin-1 one): said so, naming the first such byte."""

    def __init__(self, raw: bytes | bytearray, pos: int, text: str) -> None:
        try:
            raw.decode("utf-8")
            offset, byte = pos, 0
        except UnicodeDecodeError as bad:
            offset, byte = bad.start, raw[bad.start]
        super().__init__("not UTF-8 text", text, pos)
        self.sentence = f"it is not UTF-8 text (byte 0x{byte:02x} at {offset})"

    def __str__(self) -> str:
        return self.sentence


_CUT_TOKEN: Final = re.compile(
    r"t(r(ue?)?)?|f(a(l(se?)?)?)?|n(u(ll?)?)?|-|[.eE][-+]?|u[0-9a-fA-F]{0,4}")
"""What is left at a decoding error where a literal (``tru``), a number (``-``, ``1.``,
``1e``) or a ``\\u`` escape inside a string (``\\u00``) was cut off before its end."""


def cut_short(error: json.JSONDecodeError) -> bool:
    """Whether JSON that did not decode may be whole JSON cut off before its end: nothing
    at all, or nothing but whitespace from where decoding stopped; a string with no
    closing quote before the end (the decoder's "Unterminated string", said where the
    string starts); a literal, a number or an escape cut off. False for anything else
    (a stray character, a missing comma, with more after it): such JSON is not cut short
    but wrong, and no more of it would mend it."""
    rest = error.doc[error.pos:].rstrip()
    if not rest or error.msg.startswith("Unterminated string"):
        return True
    return _CUT_TOKEN.fullmatch(rest) is not None


_FOLDED: Final = {"\u017f": "s", "\u212a": "k"}
"""The two runes besides ASCII letters that Go's decoder folds onto an ASCII one when it
matches a key to a field (the long s and the Kelvin sign)."""


def member(obj: Mapping[str, Any], name: str) -> Any:
    """The member of the object ``obj`` that Go's decoder puts in the struct field
    ``name`` (an ASCII name): any key equal to it but for case, the last one written
    winning (Go decodes each in turn); None where there is none."""
    found = None
    for key, value in obj.items():
        if names_field(key, name):
            found = value
    return found


def names_field(key: str, name: str) -> bool:
    """Whether Go's decoder puts the member ``key`` in the struct field ``name`` (an
    ASCII name): the same name but for case."""
    wanted = name.lower()
    return len(key) == len(wanted) and all(
        _FOLDED.get(ch, ch.lower()) == want for ch, want in zip(key, wanted, strict=True))


def without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate U+FFFD (what Go would have made of it)."""
    return SURROGATE.sub("\ufffd", text)


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return without_surrogates(value)
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {without_surrogates(key): _without_surrogates(item)
                for key, item in value.items()}
    return value
