"""Run by tests/gui/test_styled_start.py in a process of its own (a crash there is a
failed test, not the end of pytest): build the window under colours or a style sheet of
the views' own, as GNOME's and XFCE's platform theme gives them, open the sample layout,
the Add Registry and the Copy dialog, and exit 1 with the exceptions Qt's callbacks
raised and the keys of the window that clash under the platform's bindings (0 with none).

    python -m tests.gui.start_styled SETTINGS_FILE LAYOUT [palette] [sheet]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from types import TracebackType

import keyring.backends.fail
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

SETTLE_S = 2.0
"""How long the window's event loop runs after it was shown."""


def settle(app: QApplication, seconds: float = SETTLE_S) -> None:
    """Run the event loop for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)


def main(argv: list[str]) -> int:
    settings_file, layout, *modes = argv
    app = QApplication([sys.argv[0]])
    if "palette" in modes:
        # a palette for one class of widgets, as the gtk3 platform theme sets for item views
        palette = QPalette(app.palette())
        palette.setColor(QPalette.ColorRole.Base, QColor("#fafafa"))
        QApplication.setPalette(palette, "QAbstractItemView")
    if "sheet" in modes:
        app.setStyleSheet("QTableView {} QTreeView {}")
    raised: list[str] = []

    def record(kind: type[BaseException], error: BaseException,
               _tb: TracebackType | None) -> None:
        raised.append(f"{kind.__name__}: {error}")

    sys.excepthook = record
    # imported after the hook is set: a module-level widget would be built under it too
    from spyglass.core.credentials.store import CredentialStore
    from spyglass.core.settings import Settings
    from spyglass.gui.main_window import MainWindow
    from tests.gui.shortcut_walk import clashes

    store = CredentialStore(keyring_backend=keyring.backends.fail.Keyring())
    window = MainWindow(Settings(first_run_done=True), settings_file=Path(settings_file),
                        credentials=store)
    window.show()
    window.open_location(Path(layout))
    settle(app)
    window.copying.show_transfers_action.trigger()
    # the platform's key bindings (GNOME's Refresh is Ctrl+R) leave no key two actions'
    raised.extend(f"keys clash: {clash}" for clash in clashes(window))
    for dialog in (window.registries.add_registry(), window.copying.open_dialog(None)):
        settle(app, 0.2)
        dialog.close()
    window.close()
    app.processEvents()
    for line in raised:
        print(line, file=sys.stderr)
    return 1 if raised else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
