"""The dialog an uncaught exception shows instead of the window vanishing."""

from __future__ import annotations

import html
import platform
import traceback
from types import TracebackType

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from spyglass import __version__
from spyglass.gui.models.table import monospace_font
from spyglass.gui.on_screen import fitted_size


def crash_report(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> str:
    """The text a bug report needs: versions and the traceback."""
    lines = traceback.format_exception(exc_type, exc, tb)
    return (
        f"Spyglass {__version__} · Qt {qVersion()} · PySide6 {pyside_version} · "
        f"Python {platform.python_version()} · {platform.platform()}\n\n" + "".join(lines)
    )


class CrashDialog(QDialog):
    """Says that something went wrong, shows the details, offers to go on or quit.

    Attributes:
        quit_requested: True when the user chose "Quit Spyglass".
    """

    def __init__(self, summary: str, details: str, parent: QWidget | None = None, *,
                 starting: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Spyglass — Unexpected Error")
        self.resize(fitted_size(self, 720, 460))  # (its buttons within a small screen)
        self.quit_requested = False
        heading = QLabel(
            (f"<h3>Something went wrong while Spyglass was starting.</h3>"
             f"<p>{html.escape(summary)}</p>"
             "<p>This is a bug, and Spyglass cannot go on with a window it could not "
             "finish making. Please report it with the details below.</p>") if starting
            else ("<h3>Something went wrong inside Spyglass.</h3>"
                  f"<p>{html.escape(summary)}</p>"
                  "<p>This is a bug. You can keep working, but what you were doing may not "
                  "have finished. Please report it with the details below.</p>")
        )
        heading.setWordWrap(True)
        self.details = QPlainTextEdit(details)
        self.details.setAccessibleName("Details")
        self.details.setReadOnly(True)
        self.details.setFont(monospace_font())
        self.details.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        buttons = QDialogButtonBox(self)  # in the dialog: its default button sticks
        copy = QPushButton("Copy Details")
        copy.setAutoDefault(False)  # Enter keeps working, it does not copy
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(details))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        quit_button = buttons.addButton("Quit Spyglass", QDialogButtonBox.ButtonRole.RejectRole)
        quit_button.clicked.connect(self._quit)
        if starting:
            quit_button.setDefault(True)
        else:
            keep = buttons.addButton("Keep Working", QDialogButtonBox.ButtonRole.AcceptRole)
            keep.setDefault(True)
            buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)

    def _quit(self) -> None:
        self.quit_requested = True
        self.reject()
