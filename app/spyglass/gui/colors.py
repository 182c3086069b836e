"""The window's own colours that must follow the theme: the red of error sentences, and
whether the palette is a dark one (colours of our own are chosen for it)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


def is_dark(palette: QPalette) -> bool:
    """Whether the palette's window is dark (a dark theme)."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def error_color(palette: QPalette | None = None) -> QColor:
    """The red of error sentences: a deep one on a light window, a light one on a dark
    window (the deep red read at 1.3:1 there)."""
    palette = palette if palette is not None else QApplication.palette()
    return QColor("#ff8a80") if is_dark(palette) else QColor("#c62828")


def error_style(palette: QPalette | None = None) -> str:
    """A style sheet giving a label the red of :func:`error_color`."""
    return f"color: {error_color(palette).name()};"


__all__ = ["error_color", "error_style", "is_dark"]
