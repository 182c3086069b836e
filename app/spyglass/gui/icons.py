"""The window's icons: the application icon, and small icons drawn here so they look
the same on every desktop (no icon theme is needed)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QGuiApplication,
    QIcon,
    QIconEngine,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
)
from PySide6.QtWidgets import QApplication, QStyle, QStyleOption, QWidget

import spyglass

_SIZES = (16, 24, 32, 48)


def resources_dir() -> Path:
    """What the window bundles (the sample layout, the icon): ``spyglass/resources`` in
    an installed copy, where the wheel puts it (see ``setup.py``), else ``resources/`` of
    the source tree (a checkout, an editable install)."""
    package = Path(spyglass.__file__).resolve().parent
    installed = package / "resources"
    if installed.is_dir():
        return installed
    return package.parents[1] / "resources"


Draw = Callable[[QPainter, float], None]
"""Draws an icon on a 16x16 grid (the painter scaled to the size asked for)."""


class PaintedIconEngine(QIconEngine):
    """An icon drawn at the size it is asked for, in device pixels: sharp at any scale
    (a fixed set of 16 to 48 px pixmaps was stretched, and blurred, at 2x: a 36 px
    header icon is 72 device pixels). The pixmaps drawn are kept, by size and mode, and a
    Disabled or Selected one by the application palette too, as Qt's own pixmap engine
    keeps them: the style greys or tints it in the palette's colours, and after a change
    of theme the kept one had the old ones (a selected row's icon in the old highlight, a
    disabled one greyed for the old background)."""

    def __init__(self, draw: Draw) -> None:
        super().__init__()
        self._draw = draw
        self._drawn: dict[tuple[int, int, QIcon.Mode, int], QPixmap] = {}

    def _at(self, width: int, height: int, mode: QIcon.Mode) -> QPixmap:
        app = QApplication.instance()
        style = app.style() if isinstance(app, QApplication) \
            and mode in (QIcon.Mode.Disabled, QIcon.Mode.Selected) else None
        palette = QGuiApplication.palette().cacheKey() if style is not None else 0
        key = (width, height, mode, palette)
        pixmap = self._drawn.get(key)
        if pixmap is None:
            if style is not None:  # those greyed in another palette are of no more use
                self._drawn = {kept: drawn for kept, drawn in self._drawn.items()
                               if kept[3] in (0, palette)}
            side = min(width, height)
            pixmap = QPixmap(max(side, 1), max(side, 1))
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.scale(side / 16, side / 16)
            self._draw(painter, 16.0)
            painter.end()
            if style is not None:  # (greyed as the style greys)
                pixmap = style.generatedIconPixmap(mode, pixmap, QStyleOption())
            self._drawn[key] = pixmap
        return pixmap

    def scaledPixmap(self, size: QSize, mode: QIcon.Mode, _state: QIcon.State,
                     scale: float) -> QPixmap:
        """Override QIconEngine::scaledPixmap: drawn at ``size`` times ``scale``."""
        pixmap = QPixmap(self._at(round(size.width() * scale), round(size.height() * scale),
                                  mode))
        pixmap.setDevicePixelRatio(scale)
        return pixmap

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        """Override QIconEngine::pixmap."""
        return self.scaledPixmap(size, mode, state, 1.0)

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode,
              state: QIcon.State) -> None:
        """Override QIconEngine::paint: at the device's own pixel ratio."""
        scale = painter.device().devicePixelRatioF() if painter.device() else 1.0
        painter.drawPixmap(rect, self.scaledPixmap(rect.size(), mode, state, scale))

    def actualSize(self, size: QSize, _mode: QIcon.Mode, _state: QIcon.State) -> QSize:
        """Override QIconEngine::actualSize: square, as large as fits."""
        side = min(size.width(), size.height())
        return QSize(side, side)

    def availableSizes(self, _mode: QIcon.Mode = QIcon.Mode.Normal,
                       _state: QIcon.State = QIcon.State.Off) -> list[QSize]:
        """Override QIconEngine::availableSizes: any will do; these are the usual."""
        return [QSize(size, size) for size in _SIZES]

    def clone(self) -> QIconEngine:
        """Override QIconEngine::clone (for an icon copied and then changed: none of the
        window's is). The copy is kept referenced here: returned alone, Python would
        delete it under the icon that now owns it."""
        engine = PaintedIconEngine(self._draw)
        _CLONES.append(engine)
        return engine

    def key(self) -> str:
        """Override QIconEngine::key."""
        return "spyglass-painted"


_CLONES: list[PaintedIconEngine] = []


def _painted(draw: Draw) -> QIcon:
    return QIcon(PaintedIconEngine(draw))


def _layer(painter: QPainter, y: float, fill: QColor, edge: QColor) -> None:
    """One flat rhombus of a layer stack, its top corner at ``y``."""
    shape = QPolygonF([QPointF(8, y), QPointF(15, y + 3.2), QPointF(8, y + 6.4),
                       QPointF(1, y + 3.2)])
    painter.setPen(QPen(edge, 0.9))
    painter.setBrush(fill)
    painter.drawPolygon(shape)


def _stack(base: str) -> Callable[[QPainter, float], None]:
    def draw(painter: QPainter, _size: float) -> None:
        color = QColor(base)
        edge = color.darker(150)
        _layer(painter, 8.4, color.lighter(125), edge)
        _layer(painter, 5.2, color.lighter(110), edge)
        _layer(painter, 2.0, color, edge)
    return draw


def _index(painter: QPainter, _size: float) -> None:
    """Two stacks, one behind the other: the images of a list."""
    for dx, dy, base in ((-2.2, -1.6, "#9575cd"), (2.0, 1.4, "#3f51b5")):
        color = QColor(base)
        painter.save()
        painter.translate(8 + dx, 8 + dy)
        painter.scale(0.78, 0.78)
        painter.translate(-8, -8)
        edge = color.darker(160)
        _layer(painter, 7.6, color.lighter(130), edge)
        _layer(painter, 4.4, color.lighter(112), edge)
        _layer(painter, 1.2, color, edge)
        painter.restore()


def _archive(painter: QPainter, _size: float) -> None:
    painter.setPen(QPen(QColor("#8d6e63").darker(130), 0.9))
    painter.setBrush(QColor("#c8a27a"))
    painter.drawRoundedRect(QRectF(1.5, 4.5, 13, 10), 1.5, 1.5)
    painter.setBrush(QColor("#b08862"))
    painter.drawRoundedRect(QRectF(1, 2, 14, 3.4), 1.2, 1.2)
    painter.setPen(QPen(QColor("#5d4037"), 1.2))
    for y in (6.5, 8.5, 10.5, 12.5):
        painter.drawLine(QPointF(7.2, y), QPointF(8.8, y))


def _folder(painter: QPainter, _size: float) -> None:
    back = QColor("#5d9ad6")
    painter.setPen(QPen(back.darker(140), 0.9))
    painter.setBrush(back.darker(110))
    path = QPainterPath()
    path.moveTo(1.5, 3)
    path.lineTo(6, 3)
    path.lineTo(7.5, 4.6)
    path.lineTo(14.5, 4.6)
    path.lineTo(14.5, 13.5)
    path.lineTo(1.5, 13.5)
    path.closeSubpath()
    painter.drawPath(path)
    painter.setBrush(back.lighter(115))
    painter.drawRoundedRect(QRectF(1.5, 6, 13, 7.5), 1, 1)


def _current(painter: QPainter, _size: float) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#2e7d32"))
    painter.drawEllipse(QRectF(3.5, 3.5, 9, 9))
    painter.setPen(QPen(QColor("white"), 1.6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(QPointF(5.8, 8.2), QPointF(7.4, 9.8))
    painter.drawLine(QPointF(7.4, 9.8), QPointF(10.4, 6.4))


def _copy(painter: QPainter, _size: float, color: QColor) -> None:
    painter.setPen(QPen(color, 1.1))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRoundedRect(QRectF(5, 5, 8.5, 9.5), 1.2, 1.2)
    painter.drawPolyline(QPolygonF([QPointF(3, 10.5), QPointF(2.5, 10.5), QPointF(2.5, 2.5),
                                    QPointF(9.5, 2.5), QPointF(9.5, 3)]))


def _registry(painter: QPainter, _size: float) -> None:
    """A registry: two server units, one above the other, with a light each."""
    body = QColor("#546e7a")
    for y in (2.0, 8.6):
        painter.setPen(QPen(body.darker(140), 0.9))
        painter.setBrush(body.lighter(120) if y < 5 else body)
        painter.drawRoundedRect(QRectF(1.5, y, 13, 5.4), 1.4, 1.4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#66bb6a"))
        painter.drawEllipse(QRectF(11.0, y + 1.9, 1.8, 1.8))
        painter.setPen(QPen(QColor("#eceff1"), 0.9))
        painter.drawLine(QPointF(3.6, y + 2.7), QPointF(8.6, y + 2.7))


def _repository(painter: QPainter, _size: float) -> None:
    """A repository: a box that holds images."""
    color = QColor("#26a69a")
    edge = color.darker(150)
    painter.setPen(QPen(edge, 0.9))
    painter.setBrush(color)
    painter.drawPolygon(QPolygonF([QPointF(1.5, 5.5), QPointF(14.5, 5.5), QPointF(13.5, 14.5),
                                   QPointF(2.5, 14.5)]))
    painter.setBrush(color.lighter(125))
    painter.drawRoundedRect(QRectF(1, 2.2, 14, 3.6), 1, 1)
    painter.setPen(QPen(edge, 1.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(QPointF(6.2, 8.2), QPointF(9.8, 8.2))


def _tag(painter: QPainter, _size: float) -> None:
    """A tag: a label with a hole."""
    color = QColor("#ffa726")
    painter.setPen(QPen(color.darker(150), 0.9))
    painter.setBrush(color)
    painter.drawPolygon(QPolygonF([QPointF(1.5, 4.5), QPointF(10, 4.5), QPointF(14.5, 8),
                                   QPointF(10, 11.5), QPointF(1.5, 11.5)]))
    painter.setBrush(QColor("white"))
    painter.drawEllipse(QRectF(9.2, 7.0, 2, 2))


def _add(painter: QPainter, _size: float, color: QColor) -> None:
    painter.setPen(QPen(color, 1.5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(QPointF(8, 3), QPointF(8, 13))
    painter.drawLine(QPointF(3, 8), QPointF(13, 8))


def _spyglass(painter: QPainter, _size: float) -> None:
    """The application icon when ``resources/icons/spyglass.svg`` is not there."""
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#37474f"))
    painter.drawRoundedRect(QRectF(0.5, 0.5, 15, 15), 3.5, 3.5)
    painter.setPen(QPen(QColor("#ffb74d"), 2.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    painter.drawLine(QPointF(10.2, 10.2), QPointF(13.4, 13.4))
    painter.setPen(QPen(QColor("#eceff1"), 1.4))
    painter.setBrush(QBrush(QColor("#4fc3f7")))
    painter.drawEllipse(QRectF(2.4, 2.4, 9, 9))
    painter.setPen(QPen(QColor("#0277bd"), 0.9))
    for y in (5.4, 6.9, 8.4):
        painter.drawLine(QPointF(4.6, y), QPointF(9.2, y))


def row_icon_size(view: QWidget) -> QSize:
    """The size of the icons of ``view``'s rows at its font: 16 px at the usual font,
    larger with a larger one (they stayed 16 px beside 16 pt text). The icons are drawn,
    so any size is crisp."""
    side = max(16, view.fontMetrics().height() - 2)
    return QSize(side, side)


@functools.cache
def app_icon() -> QIcon:
    """The Spyglass icon: the SVG from ``resources/icons`` when present, else a drawn one."""
    svg = resources_dir() / "icons" / "spyglass.svg"
    if svg.is_file():
        icon = QIcon(str(svg))
        if not icon.isNull():
            return icon
    return _painted(_spyglass)


@functools.cache
def image_icon() -> QIcon:
    """A single image: a stack of layers."""
    return _painted(_stack("#42a5f5"))


@functools.cache
def index_icon() -> QIcon:
    """A manifest list / image index: two stacks."""
    return _painted(_index)


@functools.cache
def folder_icon() -> QIcon:
    return _painted(_folder)


@functools.cache
def archive_icon() -> QIcon:
    return _painted(_archive)


@functools.cache
def registry_icon() -> QIcon:
    return _painted(_registry)


@functools.cache
def repository_icon() -> QIcon:
    return _painted(_repository)


@functools.cache
def tag_icon() -> QIcon:
    return _painted(_tag)


def add_icon(color: QColor | None = None) -> QIcon:
    """The "+" of Add, drawn in ``color`` (default: the application's text colour; a
    button gives its own, again when its palette changes: :func:`themed.follow_icon`)."""
    return _line_icon("add", (color or QApplication.palette().text().color()).rgba())


@functools.cache
def current_icon() -> QIcon:
    """The mark of the instance the other tabs show."""
    return _painted(_current)


def copy_icon(color: QColor | None = None) -> QIcon:
    """Two sheets, for Copy, drawn in ``color`` (as :func:`add_icon`)."""
    return _line_icon("copy", (color or QApplication.palette().text().color()).rgba())


@functools.cache
def _line_icon(kind: str, rgba: int) -> QIcon:
    """A line icon drawn in one colour of the text (one icon per colour: a live switch
    between light and dark asks for the other)."""
    draw = {"add": _add, "copy": _copy}[kind]
    color = QColor.fromRgba(rgba)
    return _painted(lambda painter, size: draw(painter, size, color))


def warning_icon() -> QIcon:
    return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)


def information_icon() -> QIcon:
    return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)


def back_icon() -> QIcon:
    return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_ArrowBack)
