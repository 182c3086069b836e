"""Quantities written for people, the same in the window and on the command line."""

from __future__ import annotations

_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: int) -> str:
    """``512 B``, ``1.5 KiB``, ``23.4 MiB``: binary units, one decimal below 100."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def exact_size(size: int) -> str:
    """``8 MiB``, ``256 KiB``, ``1000 B``: a size said in the largest binary unit it is a
    whole number of (a piece size, a limit), so that nothing is rounded."""
    value, unit = size, "B"
    for larger in _UNITS:
        if value == 0 or value % 1024:
            break
        value, unit = value // 1024, larger
    return f"{value} {unit}"


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
