"""What the Copy dialog's fields share: the note under a field (:func:`note`), and files
dropped on the typed source's field (:class:`FileDrops`).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QLabel, QLineEdit

from spyglass.gui.formatting import shorten_quoted
from spyglass.gui.themed import mute, plain_text, show_as_error


class FileDrops(QObject):
    """Files dropped on a typed source's field from a file manager: their URLs replace
    what it holds (a drag of files alone was refused; one with their text inserted it
    where the pointer was)."""

    def __init__(self, edit: QLineEdit) -> None:
        super().__init__(edit)
        self._edit = edit

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Override QObject::eventFilter."""
        if not isinstance(event, QDropEvent) or self._edit.isReadOnly():
            return False
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if not urls:
            return False
        event.acceptProposedAction()
        if not isinstance(event, QDragEnterEvent | QDragMoveEvent):  # the drop itself
            self._edit.setText("\n".join(
                url.toString(QUrl.ComponentFormattingOption.FullyEncoded) for url in urls))
        return True


def note(label: QLabel, sentence: str, *, wrong: bool, muted: bool = True) -> None:
    """A note under a field: muted while it describes or hints (plain, not ``muted``), in
    the error colour when it says what is wrong with what was typed. A long name it
    quotes is cut in its middle (the field holds it whole): the sentence whole is then
    the label's tooltip."""
    shown = shorten_quoted(sentence)
    label.setText(shown)
    label.setToolTip(sentence if shown != sentence else "")
    if wrong:
        show_as_error(label)
    elif muted:
        mute(label)
    else:
        plain_text(label)


__all__ = ["FileDrops", "note"]
