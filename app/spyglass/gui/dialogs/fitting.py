"""Dialogs that grow to fit what they show.

A top-level window does not follow its layout's height-for-width by itself: when
a label it shows wraps onto more lines (a test result, a refusal, a note), the
rows overlap or the line edits are squeezed below their own height. :class:`Fitter`
makes the dialog at least as tall as its layout needs, once the layout has taken
in the change (after the events already posted), and as short again once it needs
less, unless the person sized it since (then the spare height stays theirs, below
what the dialog shows). :meth:`Fitter.open_at` opens it
at the width it would like, within its screen, and never narrower than what it shows
(an explicit least width would let Qt open it narrower: Qt opens a window at most two
thirds of its screen wide, and then keeps the least width given, not its layout's).
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from spyglass.gui.on_screen import fitted_size


def height_for(window: QWidget, width: int) -> int:
    """The height ``window``'s layout needs at ``width``."""
    layout = window.layout()
    if layout is None:
        return window.minimumSizeHint().height()
    height = layout.totalMinimumSize().height()
    if layout.hasHeightForWidth():
        height = max(height, layout.totalHeightForWidth(width))
    return height


class Fitter:
    """Fits a window's height to what its layout needs; :meth:`fit` after a change of content.

    Attributes:
        sized: the height the fitter last gave the window (``None`` before it gave one);
            while the window still has it, or its least height, the fitter may shrink it.
    """

    def __init__(self, window: QWidget) -> None:
        self._window = window
        self._pending = False
        self.sized: int | None = None

    def open_at(self, width: int) -> None:
        """Size the window, before it shows, at ``width`` or the width its layout would
        like if more (less on a screen too narrow for that, never less than its layout
        needs), and the height its layout needs there."""
        window = self._window
        layout = window.layout()
        if layout is None:
            return
        window.ensurePolished()  # (its font and style, which set what it needs)
        layout.activate()
        liked = fitted_size(window, max(width, layout.totalSizeHint().width()), 0).width()
        width = max(liked, layout.totalMinimumSize().width())
        self._resize(width, height_for(window, width))

    def _resize(self, width: int, height: int) -> None:
        self._window.resize(width, height)
        self.sized = self._window.height()

    def fit(self) -> None:
        """Grow (or shrink back) to fit, once the layout has taken in what just changed."""
        if not self._pending:
            self._pending = True
            QTimer.singleShot(0, self._window, self.fit_now)

    def fit_now(self) -> None:
        self._pending = False
        window = self._window
        layout = window.layout()
        if layout is None:
            return
        layout.invalidate()  # nested layouts keep stale heights for a width otherwise
        layout.activate()
        needed = height_for(window, window.width())
        # shorter only when the height is still one given here or by the least height
        # (raising that grows the window by itself): a height the person chose is kept,
        # and the layout puts what is spare above the buttons
        ours = window.height() in (self.sized, window.minimumHeight())
        window.setMinimumHeight(needed)
        if needed > window.height() or (ours and needed < window.height()):
            self._resize(window.width(), needed)
