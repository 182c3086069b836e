"""The window's own colours that must follow the theme: the red of error sentences, the
grey of secondary text, the colour of links, and whether the palette is a dark one
(colours of our own are chosen for it)."""

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


MUTED_CONTRAST = 4.5
"""The least contrast of secondary text and of links on the window and in views (WCAG's
AA for text)."""


def contrast_ratio(first: QColor, second: QColor) -> float:
    """The contrast of two colours as WCAG 2 measures it, from 1 (none) to 21."""

    def luminance(color: QColor) -> float:
        def channel(value: float) -> float:
            return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

        return (0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF())
                + 0.0722 * channel(color.blueF()))

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def muted_color(palette: QPalette | None = None, amount: float = 0.58) -> QColor:
    """Secondary text (notes, a view's rows that say less): the text colour moved
    ``1 - amount`` of the way to the window's, but never so far that it reads at less
    than :data:`MUTED_CONTRAST` on the window, a view's base or its alternate rows.

    Rows that say something are drawn in it, not in the palette's disabled grey, which
    reads at 1.9:1 on a light view (Fusion's #bebebe on white)."""
    palette = palette if palette is not None else QApplication.palette()
    return _readable("muted", palette, palette.color(QPalette.ColorRole.Window), amount)


def link_color(palette: QPalette | None = None) -> QColor:
    """The colour of links: the palette's, or, where that reads at less than
    :data:`MUTED_CONTRAST` on the window, a view's base or its alternate rows, the
    palette's moved toward the text colour until it does (lighter on a dark window,
    darker on a light one; dark themes give blues that read at 3.1 to 3.5:1 there).

    Qt colours a link as the application's palette has it when the text is laid out, and
    a widget's own palette does not change that: the link is given this colour in the
    text (:func:`~spyglass.gui.themed.color_links`)."""
    palette = palette if palette is not None else QApplication.palette()
    return _readable("link", palette, palette.color(QPalette.ColorRole.Link), 0.0)


_readables: dict[tuple[str, int, float], QColor] = {}


def _readable(kind: str, palette: QPalette, away: QColor, share: float) -> QColor:
    """``away`` moved ``share`` of the way to the palette's text colour, and nearer it a
    step at a time (to the text itself at last) until it reads at
    :data:`MUTED_CONTRAST` on the window, a view's base and its alternate rows; ``kind``
    names what ``away`` is, for the cache."""
    key = (kind, palette.cacheKey(), share)
    kept = _readables.get(key)
    if kept is not None:
        return QColor(kept)
    text = palette.color(QPalette.ColorRole.WindowText)
    grounds = [palette.color(role) for role in (QPalette.ColorRole.Window,
                                                 QPalette.ColorRole.Base,
                                                 QPalette.ColorRole.AlternateBase)]
    while True:
        color = QColor(away) if share <= 0.0 else QColor.fromRgbF(
            text.redF() * share + away.redF() * (1 - share),
            text.greenF() * share + away.greenF() * (1 - share),
            text.blueF() * share + away.blueF() * (1 - share),
        )
        if share >= 1.0 or all(contrast_ratio(color, ground) >= MUTED_CONTRAST
                               for ground in grounds):
            break
        share = min(1.0, share + 0.02)
    if len(_readables) > 64:
        _readables.clear()
    _readables[key] = color
    return QColor(color)


__all__ = ["contrast_ratio", "error_color", "is_dark", "link_color", "muted_color"]
