"""Quantities written for people, the same in the window and on the command line."""

from __future__ import annotations


def duration_text(seconds: float) -> str:
    """``< 1 s``, ``7 s``, ``2 min 05 s``, ``1 h 02 min``."""
    if seconds < 1:
        return "< 1 s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
