"""Small typed readers for untrusted JSON and base64, raising InvalidSignature sentences."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from spyglass.core import gojson
from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidDigest
from spyglass.core.signatures.model import InvalidSignature


def load_json_object(data: bytes, what: str) -> dict[str, Any]:
    """Parse ``data`` as a JSON object, or raise InvalidSignature naming ``what``."""
    try:
        value = gojson.loads(data)
    except json.JSONDecodeError as exc:
        raise InvalidSignature(f"{cap(what)} is not valid JSON: {exc}.") from exc
    if not isinstance(value, dict):
        raise InvalidSignature(
            f"{cap(what)} is JSON, but not an object; expected {{...}}."
        )
    return value


def get_object(
    container: Mapping[str, Any], key: str, what: str, *, required: bool = True
) -> dict[str, Any] | None:
    """``container[key]`` as a JSON object; None when absent and not required."""
    value = container.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        missing = "has no" if value is None else "has a malformed"
        raise InvalidSignature(f'{cap(what)} {missing} "{key}" object.')
    return value


def get_str(
    container: Mapping[str, Any], key: str, what: str, *, required: bool = True
) -> str | None:
    """``container[key]`` as a string; None when absent and not required."""
    value = container.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        missing = "has no" if value is None else "has a non-string"
        raise InvalidSignature(f'{cap(what)} {missing} "{key}" string.')
    return value


def get_digest(container: Mapping[str, Any], key: str, what: str) -> Digest:
    """``container[key]`` parsed as a digest."""
    text = get_str(container, key, what)
    assert text is not None
    try:
        return Digest.parse(text)
    except InvalidDigest as exc:
        raise InvalidSignature(f'{cap(what)} has an invalid "{key}": {exc}') from exc


def b64decode(text: object, what: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not."""
    if not isinstance(text, str):
        raise InvalidSignature(f"{cap(what)} is not a base64 string.")
    cleaned = "".join(text.split())
    alphabet_urlsafe = "-" in cleaned or "_" in cleaned
    padded = cleaned + "=" * (-len(cleaned) % 4)
    try:
        altchars = b"-_" if alphabet_urlsafe else None
        return base64.b64decode(padded.encode("ascii"), altchars=altchars, validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise InvalidSignature(f"{cap(what)} is not valid base64.") from exc


def cap(text: str) -> str:
    """``text`` with its first letter upper-cased (sentences start with a capital)."""
    return text[:1].upper() + text[1:]
