"""Run by tests/gui/test_unusual_images.py under X11 (xcb, which has the selection a
middle click pastes; offscreen has none): select a long Overview value with the keys
and with Select All, and print what X11's selection then holds, one line each.

    python -m tests.gui.select_overview
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QClipboard, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def main() -> int:
    app = QApplication([sys.argv[0]])
    clipboard = QGuiApplication.clipboard()
    if not clipboard.supportsSelection():
        print("no selection")
        return 0
    from spyglass.gui.views.overview import OverviewPage

    page = OverviewPage()
    page.resize(500, 600)
    page.show()
    page._set("Working folder", "A" * 80)
    label = page._values["Working folder"]
    label.setFocus()
    QTest.qWaitForWindowExposed(page)

    def selected() -> str:
        app.processEvents()
        return clipboard.text(QClipboard.Mode.Selection)

    QTest.keyClick(label, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    print(ascii(selected()))
    clipboard.clear(QClipboard.Mode.Selection)
    QTest.keyClick(label, Qt.Key.Key_Home)
    QTest.keyClick(label, Qt.Key.Key_End, Qt.KeyboardModifier.ShiftModifier)
    print(ascii(selected()))
    clipboard.clear(QClipboard.Mode.Selection)
    label._select_all()
    print(ascii(selected()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
