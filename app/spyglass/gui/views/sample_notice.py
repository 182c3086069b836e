"""The notice across the top of the window at its first start: what it shows is a sample
bundled with Spyglass, and how to open your own images instead."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from spyglass.gui import icons
from spyglass.gui.announce import announce
from spyglass.gui.colors import is_dark
from spyglass.gui.signals import emit
from spyglass.gui.themed import fill_background
from spyglass.gui.views.buttons import push_button
from spyglass.gui.views.widgets import CLOSE_GLYPH, CameFrom, tool_button

SAMPLE_TEXT = ("This is a sample image bundled with Spyglass, not one of yours. "
               "Open your own:")


class SampleNotice(QFrame):
    """"This is a sample…", with Open Layout Folder…, Open Archive…, Add Registry… and a
    button that dismisses it (for good: the window does not show it again).

    Signals:
        openFolderRequested(): its "Open Layout Folder…" was pressed.
        openArchiveRequested(): its "Open Archive…" was pressed.
        addRegistryRequested(): its "Add Registry…" was pressed.
        dismissed(): the user closed it.
    """

    openFolderRequested = Signal()
    openArchiveRequested = Signal()
    addRegistryRequested = Signal()
    dismissed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sampleNotice")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # an information's blue, not a warning's amber: nothing is wrong
        fill_background(self, lambda base: QColor("#1f3a4a") if is_dark(base)
                        else QColor("#e8f2fc"))
        icon = QLabel()
        size = self.fontMetrics().height()
        icon.setPixmap(icons.information_icon().pixmap(size, size))
        self.label = QLabel(SAMPLE_TEXT)
        self.label.setWordWrap(True)
        self.buttons: list[QPushButton] = []
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(icon, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.label, 1)
        for text, signal in (("Open Layout Folder…", self.openFolderRequested),
                             ("Open Archive…", self.openArchiveRequested),
                             ("Add Registry…", self.addRegistryRequested)):
            button = push_button(text)
            button.clicked.connect(signal)
            layout.addWidget(button, 0, Qt.AlignmentFlag.AlignVCenter)
            self.buttons.append(button)
        self.close_button = tool_button("Dismiss", text=CLOSE_GLYPH)
        # (what it dismisses, beside the ✕ of a banner shown with it)
        self.close_button.setAccessibleDescription(SAMPLE_TEXT.removesuffix(" Open your own:"))
        self.close_button.clicked.connect(self.dismiss)
        self.keyboard = CameFrom(self)
        """Where the keyboard came from: it goes back there as the notice is dismissed."""
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_notice(self) -> None:
        self.show()
        announce(self.label, SAMPLE_TEXT)

    def dismiss(self) -> None:
        self.keyboard.give_back()  # (before it hides: Qt would move the keyboard on)
        self.hide()
        emit(self.dismissed)


__all__ = ["SAMPLE_TEXT", "SampleNotice"]
