"""Image JSON read as Go's ``encoding/json`` reads it, so what Spyglass shows of an image
is what skopeo and the registries (all Go) see.

Go decodes bytes that are not UTF-8, and ``\\ud800``-style escapes of a lone surrogate,
to U+FFFD; Python refuses the first and keeps the second, which then cannot be written
as UTF-8 (a ``--format`` output failed) or read by strict JSON readers (jq). The bytes
of a manifest or config are never changed: their digests are over the bytes; only
what is read from them is.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

SURROGATE: Final = re.compile("[\ud800-\udfff]")
"""A lone UTF-16 surrogate in a Python string (a pair is one character already)."""

_ESCAPED_SURROGATE: Final = re.compile(r"\\u[dD][89a-fA-F]")


def loads(raw: bytes | str, **kwargs: Any) -> Any:
    """``json.loads`` as Go decodes: bytes that are not UTF-8 and lone surrogates are
    U+FFFD. Nesting too deep for Python is a :class:`json.JSONDecodeError`, as the rest
    of what is not JSON."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes | bytearray) else raw
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    return _without_surrogates(value) if _ESCAPED_SURROGATE.search(text) else value


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
