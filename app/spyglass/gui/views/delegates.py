"""Item delegates: the share-of-image bar of the Layers table, the Transfers progress bar
and route, the "signed" pill of signed tags, rows cut at their end, padded rows."""

from __future__ import annotations

from typing import ClassVar, Final

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from spyglass.gui.formatting import ROUTE_ARROW, SIGNED_TEXT
from spyglass.gui.models.layers import SHARE_ROLE
from spyglass.gui.models.tree import SENTENCE_ROLE

LRM: Final = "\u200e"
"""The left-to-right mark."""


def keep_left_to_right(option: QStyleOptionViewItem) -> None:
    """In a right-to-left view, a cell's text as it is written, left to right: between
    left-to-right marks. Without, its slashes, dashes and digits were laid out right to
    left around it (``/etc/apk/world`` read ``etc/apk/world/``, ``41 B`` ``B 41``). The
    cell's alignment still mirrors (its text at its right)."""
    if option.direction == Qt.LayoutDirection.RightToLeft and option.text \
            and not option.text.startswith(LRM):
        option.text = f"{LRM}{option.text}{LRM}"


def filled_part(rect: QRectF, share: float, direction: Qt.LayoutDirection,
                least: float = 0.0) -> QRectF:
    """The part of a bar ``rect`` that ``share`` (0.0 to 1.0) fills, from the start of the
    line (the right, right to left), at least ``least`` wide."""
    filled = QRectF(rect)
    filled.setWidth(min(rect.width(), max(least, rect.width() * min(max(share, 0.0), 1.0))))
    if direction == Qt.LayoutDirection.RightToLeft:
        filled.moveRight(rect.right())
    return filled


def unfilled_part(rect: QRectF, filled: QRectF) -> QRectF:
    """What of a bar ``rect`` its ``filled`` part (see :func:`filled_part`) leaves."""
    if filled.left() > rect.left():  # (filled from the right)
        return QRectF(rect.left(), rect.top(), filled.left() - rect.left(), rect.height())
    return QRectF(filled.right(), rect.top(), rect.right() - filled.right(), rect.height())


class DataDelegate(QStyledItemDelegate):
    """The delegate of every view's cells: what they show is written left to right
    (names, paths, digests, sizes, commands, and the window's own English), kept so in
    a right-to-left layout (:func:`keep_left_to_right`)."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """Override QStyledItemDelegate::initStyleOption."""
        super().initStyleOption(option, index)
        keep_left_to_right(option)


class ShareBarDelegate(DataDelegate):
    """Draws a cell's share (``SHARE_ROLE``, 0.0 to 1.0) as a bar with the percentage on it."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        """Override QStyledItemDelegate::paint."""
        share = index.data(SHARE_ROLE)
        if not isinstance(share, float):
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)

        rect = QRectF(opt.rect).adjusted(6, 5, -6, -5)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette = opt.palette
        track = QColor(palette.color(QPalette.ColorRole.Text))
        track.setAlphaF(0.08 if not selected else 0.18)
        bar = QColor(palette.color(QPalette.ColorRole.Highlight))
        if selected:
            bar = QColor(palette.color(QPalette.ColorRole.HighlightedText))
            bar.setAlphaF(0.45)
        else:
            bar.setAlphaF(0.55)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(track)
        painter.drawRoundedRect(rect, 3, 3)
        if share > 0:
            painter.setBrush(bar)
            painter.drawRoundedRect(filled_part(rect, share, opt.direction, 3.0), 3, 3)
        painter.setPen(palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        painter.setFont(opt.font)
        # the percentage at the bar's far end: the left one, right to left
        end = QStyle.visualAlignment(opt.direction, Qt.AlignmentFlag.AlignRight)
        painter.drawText(rect.adjusted(4, 0, -4, 0),
                         int(end | Qt.AlignmentFlag.AlignVCenter), text)
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        """Override QStyledItemDelegate::sizeHint: room for a readable bar."""
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width() + 24, 120), hint.height())


class ProgressBarDelegate(DataDelegate):
    """Draws a cell's progress (``role``, 0.0 to 1.0) as a progress bar with the cell's
    text on it (the Transfers table); a cell whose ``role`` is None has no bar, only its
    text.

    The bar is drawn here, not by the style: a trough in the view's base colour, filled
    solidly in the highlight colour from the start of the line, the text in the
    highlight's text colour over the fill and in the view's over the rest. Each style
    draws its own bar and the text could not be right for all: the "Windows" style's
    fill is chunks with the trough between them, and the white text over them read at
    1.15:1 where it crossed a gap."""

    READABLE: ClassVar[int] = 100
    """The least width a bar reads at."""

    def __init__(self, role: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._role = role

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        """Override QStyledItemDelegate::paint."""
        value = index.data(self._role)
        if not isinstance(value, float):
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        text = opt.text
        opt.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        # (the active colours: a bar in a window in the background reads the same)
        palette = opt.palette

        def color(role: QPalette.ColorRole) -> QColor:
            return palette.color(QPalette.ColorGroup.Active, role)

        rect = QRectF(opt.rect.adjusted(4, 3, -4, -3))
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        # (on a selected row, an outline in the selection's text colour: the fill is the
        # selection's colour)
        outline = color(QPalette.ColorRole.HighlightedText if selected
                        else QPalette.ColorRole.Text)
        outline.setAlphaF(0.6 if selected else 0.3)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(rect, 3, 3)
        filled = filled_part(rect, value, opt.direction)
        if filled.width() > 0:
            painter.setBrush(color(QPalette.ColorRole.Highlight))
            painter.drawRoundedRect(filled, 3, 3)
        painter.setPen(QPen(outline, 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 3, 3)
        if text:
            painter.setFont(opt.font)
            for clip, role in ((filled, QPalette.ColorRole.HighlightedText),
                               (unfilled_part(rect, filled), QPalette.ColorRole.Text)):
                painter.setClipRect(clip)
                painter.setPen(color(role))
                painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        """Override QStyledItemDelegate::sizeHint: room for a readable bar."""
        hint = super().sizeHint(option, index)
        return QSize(max(hint.width() + 24, self.READABLE), hint.height())


class PaddedDelegate(DataDelegate):
    """Cells ``padding`` pixels taller above and below than the style makes them (the
    sidebar's and the Signatures trees'), and their text ``end_margin`` pixels short of
    the cell's end (a right-aligned size otherwise touches the next column's text). A
    style sheet's ``QTreeView::item { padding }`` did that before, and kept the tree in
    the old colours when the palette changed: Qt does not pass a new palette on to a
    widget with a style sheet."""

    def __init__(self, parent: QObject | None = None, *, padding: int = 0,
                 end_margin: int = 0) -> None:
        super().__init__(parent)
        self._padding = padding
        self._end_margin = end_margin

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        """Override QStyledItemDelegate::paint: the cell's background whole, its text
        short of the end margin."""
        if not self._end_margin:
            super().paint(painter, option, index)
            return
        _paint_background(self, painter, option, index)
        narrow = QStyleOptionViewItem(option)
        if option.direction == Qt.LayoutDirection.RightToLeft:  # (its end is its left)
            narrow.rect = option.rect.adjusted(self._end_margin, 0, 0, 0)
        else:
            narrow.rect = option.rect.adjusted(0, 0, -self._end_margin, 0)
        super().paint(painter, narrow, index)

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        """Override QStyledItemDelegate::sizeHint: the padding above and below, and the
        end margin."""
        hint = super().sizeHint(option, index)
        return QSize(hint.width() + self._end_margin, hint.height() + 2 * self._padding)


class SentenceAwareDelegate(PaddedDelegate):
    """For a view that cuts its names in the middle: a row that is a sentence
    (:data:`SENTENCE_ROLE`) is cut at its end instead, which keeps what it says first."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """Override QStyledItemDelegate::initStyleOption."""
        super().initStyleOption(option, index)
        if index.data(SENTENCE_ROLE) is True:
            option.textElideMode = Qt.TextElideMode.ElideRight


class SignedBadgeDelegate(SentenceAwareDelegate):
    """Draws a small green "signed" pill at the right end of a cell whose ``role`` is True
    (the tags of a repository that have a cosign signature); other cells as usual."""

    def __init__(self, role: int, parent: QObject | None = None, *, padding: int = 0) -> None:
        super().__init__(parent, padding=padding)
        self._role = role

    def _pill_font(self, option: QStyleOptionViewItem) -> QFont:
        font = QFont(option.font)
        if font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() * 0.85)
        font.setBold(True)
        return font

    def pill_room(self, font: QFont) -> int:
        """What the pill takes of a cell's width (the text has the rest), at ``font``."""
        option = QStyleOptionViewItem()
        option.font = font
        return self._pill_width(option) + 8

    def _pill_width(self, option: QStyleOptionViewItem) -> int:
        return QFontMetrics(self._pill_font(option)).horizontalAdvance(SIGNED_TEXT) + 12

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        """Override QStyledItemDelegate::paint."""
        if index.data(self._role) is not True:
            super().paint(painter, option, index)
            return
        font = self._pill_font(option)
        metrics = QFontMetrics(font)
        width = self._pill_width(option)
        height = metrics.height() + 2
        rect = option.rect
        if rect.width() < width + 48:  # too narrow for both: the text wins
            super().paint(painter, option, index)
            return
        _paint_background(self, painter, option, index)
        narrow = QStyleOptionViewItem(option)
        narrow.rect = rect.adjusted(0, 0, -(width + 8), 0)
        super().paint(painter, narrow, index)
        pill = QRectF(rect.right() - width - 4, rect.center().y() - height / 2 + 1,
                      width, height)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#2e7d32"))
        painter.drawRoundedRect(pill, height / 2, height / 2)
        painter.setPen(QColor("white"))
        painter.setFont(font)
        painter.drawText(pill, int(Qt.AlignmentFlag.AlignCenter), SIGNED_TEXT)
        painter.restore()

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        """Override QStyledItemDelegate::sizeHint: room for the pill."""
        hint = super().sizeHint(option, index)
        if index.data(self._role) is not True:
            return hint
        metrics = QFontMetrics(self._pill_font(option))
        return QSize(hint.width() + metrics.horizontalAdvance(SIGNED_TEXT) + 20, hint.height())


class ElideRightDelegate(PaddedDelegate):
    """Cuts long text at its end (the view's default cuts paths in the middle): for
    sentences, whose beginning says the most."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """Override QStyledItemDelegate::initStyleOption."""
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideRight


def fit_route(metrics: QFontMetrics, source: str, destination: str, room: int) -> str:
    """``source → destination`` in at most ``room`` pixels: each side shortened in its
    middle (the transport and the tag stay), the arrow always whole. A side shorter
    than half the room gives what it leaves to the other."""
    whole = f"{source}{ROUTE_ARROW}{destination}"
    if metrics.horizontalAdvance(whole) <= room:
        return whole
    sides = max(0, room - metrics.horizontalAdvance(ROUTE_ARROW))
    source_width = metrics.horizontalAdvance(source)
    destination_width = metrics.horizontalAdvance(destination)
    half = sides // 2
    if source_width <= half:
        source_room, destination_room = source_width, sides - source_width
    elif destination_width <= half:
        source_room, destination_room = sides - destination_width, destination_width
    else:
        source_room, destination_room = half, sides - half
    return (f"{_fit_name(metrics, source, source_room)}{ROUTE_ARROW}"
            f"{_fit_name(metrics, destination, destination_room)}")


def _fit_name(metrics: QFontMetrics, name: str, room: int) -> str:
    """``name`` in at most ``room`` pixels: what comes before its first ``/`` (a
    registry's host and port, a transport and ``…``) stays whole where it can, and the
    rest loses its beginning, so the tag stays too (a port cut in its middle reads as
    another port); else shortened in its middle."""
    if metrics.horizontalAdvance(name) <= room:
        return name
    head, slash, rest = name.partition("/")
    if slash and rest and head.endswith(":…"):
        return _fit_local(metrics, head + slash, rest, room)
    kept = metrics.horizontalAdvance(head + slash + "…") + metrics.horizontalAdvance("xxxx")
    if slash and rest and kept <= room:
        left = room - metrics.horizontalAdvance(head + slash)
        return head + slash + _fit_repository(metrics, rest, left)
    return metrics.elidedText(name, Qt.TextElideMode.ElideMiddle, room)


def _fit_repository(metrics: QFontMetrics, rest: str, room: int) -> str:
    """A registry name after its host (``team/app-gateway-0:TAG``) in ``room`` pixels: it
    loses its beginning, but a long tag or digest may take only half the room, cut in its
    middle, so the end of the repository stays in sight (pushes to ``…-gateway-0`` and
    ``…-gateway-1`` with one long tag read alike otherwise)."""
    last = rest.rsplit("/", 1)[-1]
    at = rest.rfind("@") if "@" in last else (rest.rfind(":") if ":" in last else -1)
    whole = metrics.elidedText(rest, Qt.TextElideMode.ElideLeft, room)
    if at <= 0 or metrics.horizontalAdvance(rest[at:]) <= room // 2:
        return whole
    # the ref takes what a short repository leaves, half the room at least
    repository_width = metrics.horizontalAdvance(rest[:at])
    ref = metrics.elidedText(rest[at:], Qt.TextElideMode.ElideMiddle,
                             room - min(repository_width, room - room // 2))
    repository = metrics.elidedText(rest[:at], Qt.TextElideMode.ElideLeft,
                                    room - metrics.horizontalAdvance(ref))
    return repository + ref


def _fit_local(metrics: QFontMetrics, head: str, rest: str, room: int) -> str:
    """A local place shortened already (``oci:…/`` ``FOLDER:REF``) in ``room`` pixels: the
    folder cut at its end and the ref kept whole, which tell copies apart (``d0:nightly``,
    ``d1:nightly``); with too little room, the ``oci:…/`` goes first, then the ref is
    cut too (in its middle)."""
    folder, colon, ref = rest.partition(":")
    least = metrics.horizontalAdvance(folder[:3] + "…")  # some of the folder, at least
    for prefix in (head, "…/"):
        left = room - metrics.horizontalAdvance(prefix)
        if metrics.horizontalAdvance(rest) <= left:
            return prefix + rest
        tail = colon + ref
        if colon and metrics.horizontalAdvance(tail) + min(
                least, metrics.horizontalAdvance(folder)) <= left:
            cut = metrics.elidedText(folder, Qt.TextElideMode.ElideRight,
                                     left - metrics.horizontalAdvance(tail))
            return prefix + cut + tail
    return metrics.elidedText(rest, Qt.TextElideMode.ElideMiddle, room)


class RouteDelegate(DataDelegate):
    """Draws a ``(source, destination)`` pair (``role``) as ``source → destination``,
    each side shortened on its own, so however narrow the column both ends and the
    arrow between them stay in sight (the view's own eliding cut the arrow out)."""

    TEXT_MARGINS = 12
    """The pixels of a cell the style keeps around its text, with a little to spare."""

    def __init__(self, role: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._role = role

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        """Override QStyledItemDelegate::initStyleOption."""
        super().initStyleOption(option, index)
        route = index.data(self._role)
        if not (isinstance(route, tuple) and len(route) == 2) or option.rect.width() <= 0:
            return  # a size hint (no cell yet) takes the whole text
        room = option.rect.width() - self.TEXT_MARGINS
        if option.features & QStyleOptionViewItem.ViewItemFeature.HasDecoration:
            room -= option.decorationSize.width() + 4
        option.text = fit_route(option.fontMetrics, str(route[0]), str(route[1]), room)
        option.textElideMode = Qt.TextElideMode.ElideRight
        keep_left_to_right(option)


def _paint_background(delegate: QStyledItemDelegate, painter: QPainter,
                      option: QStyleOptionViewItem,
                      index: QModelIndex | QPersistentModelIndex) -> None:
    """The whole cell's background (its selection, its hover) as ``delegate`` would paint
    it, without its text or icon: the delegate paints those in part of the cell."""
    opt = QStyleOptionViewItem(option)
    delegate.initStyleOption(opt, index)
    widget = opt.widget
    style = widget.style() if widget is not None else QApplication.style()
    background = QStyleOptionViewItem(opt)
    background.text = ""
    background.icon = QIcon()
    style.drawControl(QStyle.ControlElement.CE_ItemViewItem, background, painter, widget)
