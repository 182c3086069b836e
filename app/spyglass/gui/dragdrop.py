"""Dragging images inside the window, and dropping them on places.

:class:`ImageDragSource` starts a drag from an item view's row when the
caller's ``payload(index)`` names an image there (:class:`DragSource`, from
any widget, such as the image view's header); the drag carries
:data:`~spyglass.gui.copy_drops.MIME_TYPE` (JSON) and the name as plain text.
:class:`PlaceDropTarget` accepts that type over rows for which ``place(index)``
names a place, and calls ``dropped(image, place)``. Both are event filters on
the view's viewport, so the models stay as they are.

The keyboard's drag and drop is copy and paste, as in a file manager:
:class:`ImageCopySource` puts the image of a view's current row on the clipboard
(Ctrl+C: the same type and text a drag carries), and :meth:`PlaceDropTarget.drop_here`
drops the clipboard's image on the current row, as the mouse drops it there.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QEvent, QMimeData, QModelIndex, QObject, QPoint, Qt, QUrl
from PySide6.QtGui import (
    QDrag,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
)
from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget

from spyglass.core.fileurl import local_path
from spyglass.core.text import shell_quoted, visible
from spyglass.gui.copy_drops import MIME_TYPE, DraggedImage, DropPlace

PayloadFor = Callable[[QModelIndex], DraggedImage | None]
PlaceFor = Callable[[QModelIndex], DropPlace | None]
Dropped = Callable[[DraggedImage, DropPlace], None]


def url_path(url: QUrl) -> str | None:
    """The local path of a ``file:`` URL (see :func:`spyglass.core.fileurl.local_path`:
    the bytes of its percent-escapes, not them read as UTF-8; ``localhost`` or this
    machine as its host), or None for any other URL."""
    return local_path(url.toString(QUrl.ComponentFormattingOption.FullyEncoded))


def dropped_paths(mime: QMimeData) -> list[str]:
    """The local paths of the ``file:`` URLs ``mime`` carries (those of other hosts left
    out)."""
    if not mime.hasUrls():
        return []
    return [path for path in map(url_path, mime.urls()) if path is not None]


def image_mime(image: DraggedImage) -> QMimeData:
    mime = QMimeData()
    mime.setData(MIME_TYPE, QByteArray(json.dumps(image.to_json()).encode()))
    mime.setText(shell_quoted(image.text))  # (a byte that is not UTF-8 kept, as $'…\xe9')
    return mime


def copy_image(image: DraggedImage, text: str = "") -> str:
    """Put ``image`` on the clipboard as a drag carries it (pasted on a place, it is
    dropped there), with ``text`` (a reference as Copy Reference writes it) for other
    programs in place of its name; answer what the status bar says of it."""
    mime = image_mime(image)
    if text:
        mime.setText(text)
    QGuiApplication.clipboard().setMimeData(mime)
    return copied_sentence(image, text)


def copied_sentence(image: DraggedImage, text: str = "") -> str:
    """What the status bar says of ``image`` put on the clipboard (:func:`copy_image`),
    ``text`` (or its name) being what other programs get: "Copied NAME", and of one
    platform of a list (:attr:`~spyglass.gui.copy_drops.DraggedImage.part`) which one.
    A registry's platform is named by its own digest
    (``Copied docker://HOST/REPO@sha256:… (linux/arm64)``); a layout's or an
    archive's has no name of its own, so its text is the list's name, and the sentence
    says so: pasted on a place in the window it is that platform, in a terminal
    (``skopeo copy``) it would be the whole list."""
    shown = visible(text or image.text)
    part = image.part
    if not part:
        return f"Copied {shown}"
    if (text or image.text) != image.name:  # (a name of that image alone)
        return f"Copied {shown} ({part})"
    return f"Copied {shown} ({part}); as text, other programs get the whole list's name"


def clipboard_image() -> DraggedImage | None:
    """The image on the clipboard, put there by Copy in this window (None for any other
    content: text is no image to paste)."""
    mime = QGuiApplication.clipboard().mimeData()
    return image_from_mime(mime) if mime is not None else None


def image_from_mime(mime: QMimeData) -> DraggedImage | None:
    if not mime.hasFormat(MIME_TYPE):
        return None
    try:
        data = json.loads(bytes(mime.data(MIME_TYPE).data()).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    return DraggedImage.from_json(data)


class DragSource(QObject):
    """Starts a copy drag from ``widget``: the left button pressed on it and moved
    past the drag distance. ``payload(point)`` names the image under the point
    where the button went down, or None for no drag there."""

    def __init__(
        self, widget: QWidget, payload: Callable[[QPoint], DraggedImage | None]
    ) -> None:
        super().__init__(widget)
        self._widget = widget
        self._payload = payload
        self._press: QPoint | None = None
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter."""
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
            if event.button() == Qt.MouseButton.LeftButton:
                self._press = event.position().toPoint()
        elif kind == QEvent.Type.MouseButtonRelease:
            self._press = None
        elif kind == QEvent.Type.MouseMove and isinstance(event, QMouseEvent) \
                and self._press is not None and event.buttons() & Qt.MouseButton.LeftButton:
            moved = (event.position().toPoint() - self._press).manhattanLength()
            if moved >= QApplication.startDragDistance():
                press, self._press = self._press, None
                image = self._payload(press)
                if image is not None:
                    self.start_drag(image)
                    return True
        return False

    def start_drag(self, image: DraggedImage) -> Qt.DropAction:
        drag = QDrag(self._widget)
        drag.setMimeData(image_mime(image))
        return drag.exec(Qt.DropAction.CopyAction)


class ImageDragSource(DragSource):
    """Starts a copy drag from a row of ``view`` that ``payload(index)`` names an image for."""

    def __init__(self, view: QAbstractItemView, payload: PayloadFor) -> None:
        def at(point: QPoint) -> DraggedImage | None:
            index = view.indexAt(point)
            return payload(index) if index.isValid() else None

        super().__init__(view.viewport(), at)


class ImageCopySource(QObject):
    """Ctrl+C on a row of ``view`` that ``payload(index)`` names an image for puts that
    image on the clipboard (:func:`copy_image`), and ``copied`` is told what the status
    bar says; on any other row the view copies as it does."""

    def __init__(self, view: QAbstractItemView, payload: PayloadFor,
                 copied: Callable[[str], None]) -> None:
        super().__init__(view)
        self._view = view
        self._payload = payload
        self._copied = copied
        view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter: Copy on an image's row."""
        if event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and \
                isinstance(event, QKeyEvent) and event.matches(QKeySequence.StandardKey.Copy):
            index = self._view.currentIndex()
            image = self._payload(index) if index.isValid() else None
            if image is None:
                return False
            event.accept()
            if event.type() == QEvent.Type.KeyPress:
                self._copied(copy_image(image))
            return True
        return False


class PlaceDropTarget(QObject):
    """Accepts dragged images over the places of ``view`` (see the module docstring) that
    ``takes(image, place)`` says may take them (not an image's own place: no copy at all)."""

    def __init__(self, view: QAbstractItemView, place: PlaceFor, dropped: Dropped,
                 takes: Callable[[DraggedImage, DropPlace], bool] | None = None) -> None:
        super().__init__(view)
        self._view = view
        self._place = place
        self._dropped = dropped
        self._takes = takes
        view.setAcceptDrops(True)
        view.viewport().setAcceptDrops(True)
        view.viewport().installEventFilter(self)

    def target(self, position: QPoint) -> DropPlace | None:
        index = self._view.indexAt(position)
        return self._place(index) if index.isValid() else None

    @property
    def view(self) -> QAbstractItemView:
        return self._view

    def taking(self, image: DraggedImage, index: QModelIndex) -> DropPlace | None:
        """The place of the row ``index`` where it may take ``image`` (None: no place,
        or the image's own)."""
        place = self._place(index) if index.isValid() else None
        if place is not None and self._takes is not None and not self._takes(image, place):
            return None
        return place

    def drop_here(self, image: DraggedImage, index: QModelIndex | None = None) -> bool:
        """Paste: drop ``image`` on the row ``index`` (the view's current one unless
        given) as the mouse drops it there; False where that row takes none."""
        place = self.taking(image, self._view.currentIndex() if index is None else index)
        if place is None:
            return False
        self._dropped(image, place)
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter: handle image drags; let anything else through."""
        if isinstance(event, QDragEnterEvent | QDragMoveEvent | QDropEvent):
            image = image_from_mime(event.mimeData())
            if image is None:
                event.ignore()
                return True  # not ours (files from the file manager go to the window)
            # "no drop" over an image's own place, as a file manager says over an item's
            # own folder
            place = self.taking(image, self._view.indexAt(event.position().toPoint()))
            if place is None:
                if isinstance(event, QDragEnterEvent):
                    event.acceptProposedAction()  # keep following the drag over other rows
                else:
                    event.ignore()
                return True
            if isinstance(event, QDropEvent) and not isinstance(event, QDragMoveEvent):
                event.setDropAction(Qt.DropAction.CopyAction)
                event.accept()
                self._dropped(image, place)
            else:
                event.acceptProposedAction()
            return True
        return False


__all__ = ["ImageCopySource", "ImageDragSource", "PlaceDropTarget", "clipboard_image",
           "copied_sentence", "copy_image", "dropped_paths", "image_from_mime", "image_mime",
           "url_path"]
