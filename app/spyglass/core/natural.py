"""Natural order for names people read: ``1.9`` before ``1.10``, ``v2`` before ``v10``."""

from __future__ import annotations

import re
from typing import Final

_DIGITS: Final = re.compile(r"(\d+)")

NaturalKey = tuple[tuple[str | int, ...], str]


def natural_key(text: str) -> NaturalKey:
    """A sort key that orders digit runs by their value: ``1.9`` < ``1.10`` < ``latest``.

    ``re.split`` with a capturing group puts text at even and digits at odd
    positions, so two keys always compare text with text and numbers with
    numbers. Case is folded for the order; the text itself breaks ties, so
    the order is total.
    """
    parts = _DIGITS.split(text)
    return (
        tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)),
        text,
    )


def naturally_sorted(names: list[str]) -> list[str]:
    """``names`` in natural order."""
    return sorted(names, key=natural_key)
