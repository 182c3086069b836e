"""A value shown beside its name (the Overview's, the layer details'), that the
keyboard reaches as the mouse does: a Tab stop, selected with Shift and the arrows,
copied with Ctrl+C."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import (
    QClipboard,
    QContextMenuEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QTextDocument,
)
from PySide6.QtWidgets import QLabel, QMenu, QSizePolicy, QToolButton

from spyglass.gui.formatting import unbroken
from spyglass.gui.models.table import monospace_font


class ValueLabel(QLabel):
    """A value the keyboard reaches too: Tab stops on it, the arrows with Shift select and
    Ctrl+C copies (the mouse alone could). While it has the focus it is framed in the
    highlight colour (its text cursor alone, thin and blinking, was easily missed); the
    frame is drawn over it, so the value does not move.

    What is copied from it (Ctrl+C, its menu's Copy, a selection the mouse made) is its
    text without the breaks :func:`~spyglass.gui.formatting.wrap_anywhere` put in it."""

    def plain_text(self) -> str:
        """The text as shown (rich text rendered), without the breaks put in it."""
        if self.textFormat() == Qt.TextFormat.PlainText:
            return unbroken(self.text())
        rendered = QTextDocument()
        rendered.setHtml(self.text())
        return unbroken(rendered.toPlainText())

    def _copy_selection(self, mode: QClipboard.Mode = QClipboard.Mode.Clipboard) -> None:
        if self.hasSelectedText():
            QGuiApplication.clipboard().setText(unbroken(self.selectedText()), mode)

    def _select_for_middle_click(self) -> None:
        """X11's selection (a middle click pastes it) the text selected without its
        breaks: Qt puts it there with them, as selected."""
        if QGuiApplication.clipboard().supportsSelection():
            self._copy_selection(QClipboard.Mode.Selection)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Override QLabel::keyPressEvent: Copy copies the text without its breaks, and
        a selection the keys made is X11's without them."""
        if event.matches(QKeySequence.StandardKey.Copy) and self.hasSelectedText():
            self._copy_selection()
            event.accept()
            return
        super().keyPressEvent(event)
        self._select_for_middle_click()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """Override QLabel::mouseReleaseEvent: the selection (X11's, for a middle click)
        is the text without its breaks."""
        super().mouseReleaseEvent(event)
        self._select_for_middle_click()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """Override QLabel::contextMenuEvent: its Copy and Select All, Copy copying the
        text without its breaks."""
        menu = QMenu(self)
        copy = menu.addAction("&Copy", self._copy_selection)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setEnabled(self.hasSelectedText())
        menu.addAction("Select All", self._select_all).setShortcut(
            QKeySequence.StandardKey.SelectAll)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(event.globalPos())
        event.accept()

    def _select_all(self) -> None:
        rendered = QTextDocument()
        if self.textFormat() == Qt.TextFormat.PlainText:
            rendered.setPlainText(self.text())
        else:
            rendered.setHtml(self.text())
        self.setSelection(0, rendered.characterCount() - 1)
        self._select_for_middle_click()

    def paintEvent(self, event: QPaintEvent) -> None:
        """Override QLabel::paintEvent: the frame of the focus over the text."""
        super().paintEvent(event)
        if self.hasFocus():
            painter = QPainter(self)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 1))
            painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 3, 3)
            painter.end()


def names_side() -> str:
    """The side of the pane the names are on, and so their values: "left", or "right"
    in a right-to-left layout (``-reverse``; every value, pinned left, sat 500 px from
    its name)."""
    rtl = QGuiApplication.layoutDirection() == Qt.LayoutDirection.RightToLeft
    return "right" if rtl else "left"


def value_alignment() -> Qt.AlignmentFlag:
    """Every value beside its name (:func:`names_side`): a value in Hebrew or Arabic
    too (its own direction floated it to the other side of the pane)."""
    side = Qt.AlignmentFlag.AlignRight if names_side() == "right" else Qt.AlignmentFlag.AlignLeft
    return side | Qt.AlignmentFlag.AlignAbsolute | Qt.AlignmentFlag.AlignVCenter


def fit_to_line(button: QToolButton, value: QLabel) -> None:
    """``button`` (a copy button beside ``value``) no taller than a line of ``value``'s
    text: a row with one was 26-27 px beside rows of 18-22 px, so the key/value list had
    uneven gaps."""
    line = value.fontMetrics().height()
    button.setFixedSize(line + 2, line)
    button.setIconSize(QSize(line - 2, line - 2))


def value_label(*, mono: bool = False) -> QLabel:
    label = ValueLabel()
    label.setAlignment(value_alignment())
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                  | Qt.TextInteractionFlag.TextSelectableByKeyboard)
    label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # (Qt gives such a label click focus)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    label.setCursor(Qt.CursorShape.IBeamCursor)
    if mono:
        label.setFont(monospace_font())
    return label


__all__ = ["ValueLabel", "fit_to_line", "names_side", "value_alignment", "value_label"]
