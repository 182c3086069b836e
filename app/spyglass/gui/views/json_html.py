"""JSON as coloured HTML for a QTextBrowser, with chosen values turned into links (no Qt)."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spyglass.core.text import LINES, joins, visible

JsonPath = tuple[str | int, ...]
LinkFor = Callable[[JsonPath, str], str | None]
"""Given the path of a string value and the value, the href to make it a link, or None."""

INDENT = "  "


@dataclass(frozen=True)
class JsonColors:
    """The colours of a JSON rendering (CSS colour names or #rrggbb)."""

    key: str
    string: str
    number: str
    keyword: str
    punctuation: str
    link: str

    @classmethod
    def for_background(cls, dark: bool) -> JsonColors:
        if dark:
            return cls(key="#9cdcfe", string="#ce9178", number="#b5cea8",
                       keyword="#c586c0", punctuation="#9e9e9e", link="#4fc1ff")
        return cls(key="#0b4f9c", string="#2e7d32", number="#b35c00",
                   keyword="#8e24aa", punctuation="#757575", link="#0a58ca")


def json_text(value: str) -> str:
    """``value`` as a JSON string, with what would not show as itself (a bidi control such
    as U+202E, which turned the rest of the line around, a closing quote with it; a
    zero-width character) as JSON's own escape: the same JSON, read as it is written
    (a joiner that joins stays: see :func:`~spyglass.core.text.visible`)."""
    text = json.dumps(value, ensure_ascii=False)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() or joins(text, at) else _json_escape(char)
                   for at, char in enumerate(text))


def _json_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # (JSON writes a character beyond the BMP as a surrogate pair)
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _span(color: str, text: str) -> str:
    return f'<span style="color:{color}">{html.escape(text, quote=False)}</span>'


def render_json(data: Any, colors: JsonColors, link_for: LinkFor | None = None) -> str:
    """``data`` pretty-printed as HTML (a ``<pre>``), keys in order, links where asked."""
    out: list[str] = []

    def scalar(value: Any, path: JsonPath) -> str:
        if isinstance(value, str):
            text = json_text(value)
            href = link_for(path, value) if link_for is not None else None
            if href is not None:
                inner = html.escape(text[1:-1], quote=False)
                return (_span(colors.string, '"')
                        + f'<a href="{html.escape(href)}" style="color:{colors.link}">{inner}</a>'
                        + _span(colors.string, '"'))
            return _span(colors.string, text)
        if value is None or isinstance(value, bool):
            return _span(colors.keyword, json.dumps(value))
        return _span(colors.number, json.dumps(value))

    def walk(value: Any, path: JsonPath, depth: int) -> None:
        pad = INDENT * (depth + 1)
        if isinstance(value, dict):
            if not value:
                out.append(_span(colors.punctuation, "{}"))
                return
            out.append(_span(colors.punctuation, "{") + "\n")
            for i, (key, item) in enumerate(value.items()):
                out.append(pad + _span(colors.key, json_text(str(key)))
                           + _span(colors.punctuation, ": "))
                walk(item, (*path, str(key)), depth + 1)
                out.append(_span(colors.punctuation, ",") if i < len(value) - 1 else "")
                out.append("\n")
            out.append(INDENT * depth + _span(colors.punctuation, "}"))
        elif isinstance(value, list):
            if not value:
                out.append(_span(colors.punctuation, "[]"))
                return
            out.append(_span(colors.punctuation, "[") + "\n")
            for i, item in enumerate(value):
                out.append(pad)
                walk(item, (*path, i), depth + 1)
                out.append(_span(colors.punctuation, ",") if i < len(value) - 1 else "")
                out.append("\n")
            out.append(INDENT * depth + _span(colors.punctuation, "]"))
        else:
            out.append(scalar(value, path))

    walk(data, (), 0)
    # every line from the left (one holding a Hebrew or Arabic string alone floated right)
    return "<pre dir=\"ltr\" style=\"margin:0\">" + "".join(out) + "</pre>"


def render_text(raw: bytes, colors: JsonColors, link_for: LinkFor | None = None) -> str:
    """Render JSON bytes; bytes that are not JSON are shown as escaped text."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        text = visible(raw.decode("utf-8", "replace"), keep=LINES)
        return "<pre dir=\"ltr\">" + html.escape(text) + "</pre>"
    return render_json(data, colors, link_for)
