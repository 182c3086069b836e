"""A breadcrumb that fits its row: each title is cut in its middle where they do not
all fit, so a long tag does not set the window's least width."""

from __future__ import annotations

import html

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from spyglass.gui.themed import set_link_text

SEPARATOR = " \u00a0\u203a\u00a0 "
"""What stands between two titles: an angle quote between spaces."""


def shares(widths: list[int], room: int) -> list[int]:
    """How much of ``room`` each of ``widths`` gets: all it needs where they fit, else the
    narrow ones what they need and the others an equal share of what is left."""
    given = [0] * len(widths)
    left = sorted(range(len(widths)), key=lambda i: widths[i])
    room = max(0, room)
    while left:
        share = room // len(left)
        i = left.pop(0)
        given[i] = min(widths[i], share)
        room -= given[i]
    return given


class Crumbs(QLabel):
    """The titles of a path of documents, the last in bold and the others links (their
    ``href`` given with them), each cut in its middle where the row is too narrow for them
    all; the whole path is then the tooltip. It asks for no width of its own: it takes
    what its layout leaves.

    Signals:
        linkActivated(str): QLabel's, for a title that is a link.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._crumbs: list[tuple[str, str]] = []
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def set_crumbs(self, crumbs: list[tuple[str, str]]) -> None:
        """Show ``crumbs``: (title, href) pairs; the href of the last one is not used."""
        self._crumbs = list(crumbs)
        self._lay_out()

    def titles(self) -> list[str]:
        """The titles shown, whole."""
        return [title for title, _ in self._crumbs]

    def shown_titles(self) -> list[str]:
        """The titles as they are drawn at the label's width now."""
        if not self._crumbs:
            return []
        plain, bold = self.fontMetrics(), QFontMetrics(self._bold())
        metrics = [plain] * (len(self._crumbs) - 1) + [bold]
        titles = self.titles()
        room = self.contentsRect().width() - plain.horizontalAdvance(SEPARATOR) * (
            len(titles) - 1)
        # (a pixel more than measured: a title cut to its exact width is still cut)
        widths = [m.horizontalAdvance(t) + 1 for m, t in zip(metrics, titles, strict=True)]
        return [m.elidedText(t, Qt.TextElideMode.ElideMiddle, w)
                for m, t, w in zip(metrics, titles, shares(widths, room), strict=True)]

    def _bold(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        return font

    def _lay_out(self) -> None:
        shown = self.shown_titles()
        parts = []
        for depth, (title, (_, href)) in enumerate(zip(shown, self._crumbs, strict=True),
                                                   start=1):
            title = html.escape(title)
            parts.append(f"<b>{title}</b>" if depth == len(shown)
                         else f"<a href='{html.escape(href)}'>{title}</a>")
        set_link_text(self, SEPARATOR.join(parts))
        whole = SEPARATOR.join(self.titles())
        self.setToolTip(whole if shown != self.titles() else "")

    def minimumSizeHint(self) -> QSize:
        """Override QLabel::minimumSizeHint: any width will do."""
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Override QWidget::resizeEvent: the titles cut anew."""
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._lay_out()
