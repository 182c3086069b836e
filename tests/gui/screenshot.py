"""Take screenshots of the real window on the sample layout, for the README and for review.

Run under a virtual X server (or any display)::

    xvfb-run -s "-screen 0 1400x900x24" python tests/gui/screenshot.py

It writes ``resources/screenshots/main-window.png`` (the multi-platform demo
image, Layers tab, second layer selected) and, next to it,
``main-window-overview.png``, ``-platforms``, ``-history``, ``-raw-json``,
``-files`` (the file listing of a layer), ``-empty`` (nothing open) and
``-error`` (a folder that does not exist). Settings go to a temporary folder:
the user's own are never read or written.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
for _path in (REPO_ROOT / "app", REPO_ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

_SANDBOX = tempfile.mkdtemp(prefix="spyglass-screenshot-")
os.environ["XDG_CONFIG_HOME"] = _SANDBOX
os.environ["XDG_CACHE_HOME"] = _SANDBOX

from PySide6.QtGui import QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from spyglass.core.settings import Settings  # noqa: E402
from spyglass.gui.app import create_application  # noqa: E402
from spyglass.gui.main_window import MainWindow, sample_layout_path  # noqa: E402
from spyglass.gui.views.image_view import HISTORY, LAYERS, OVERVIEW, PLATFORMS, RAW  # noqa: E402

SIZE = (1200, 760)


def wait_until(app: QApplication, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the window")
        app.processEvents()
        time.sleep(0.01)


def settle(app: QApplication, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def save(pixmap: QPixmap, target: Path) -> None:
    if not pixmap.save(str(target)):
        raise SystemExit(f"could not write {target}")
    print(f"wrote {target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "resources" / "screenshots")
    parser.add_argument("--layout", type=Path, default=sample_layout_path())
    parser.add_argument("--image", default="spyglass-demo:1.0")
    parser.add_argument("--platform", default="", help="select this row of Platforms first, "
                        "e.g. linux/arm64/v8")
    args = parser.parse_args(argv)

    app = create_application([sys.argv[0]])
    window = MainWindow(Settings(first_run_done=True),
                        settings_file=Path(_SANDBOX) / "settings.json")
    window.resize(*SIZE)
    window.show()
    args.out.mkdir(parents=True, exist_ok=True)
    settle(app)
    save(window.grab(), args.out / "main-window-empty.png")
    window.open_location(args.layout, select=False)
    wait_until(app, lambda: window.places.find_image(args.image).isValid())
    window.tree.setCurrentIndex(window.places.find_image(args.image))
    view = window.image_view
    wait_until(app, lambda: view.state is not None and view.state.entry.label == args.image)
    if args.platform:
        model = view.platforms.model
        row = next(i for i, s in enumerate(model.rows)
                   if str(s.descriptor.platform) == args.platform)
        before = view.state.image if view.state else None
        view.platforms.table.selectRow(row)
        wait_until(app, lambda: view.state is not None and view.state.image is not before)

    view.layers.table.selectRow(1)
    shots = [
        (LAYERS, "main-window.png"),
        (OVERVIEW, "main-window-overview.png"),
        (PLATFORMS, "main-window-platforms.png"),
        (HISTORY, "main-window-history.png"),
        (RAW, "main-window-raw-json.png"),
    ]
    for tab, name in shots:
        view.tabs.setCurrentIndex(tab)
        settle(app)
        save(window.grab(), args.out / name)

    view.tabs.setCurrentIndex(LAYERS)
    row = view.layers.model.rows[1]
    view.open_layer_files(row.descriptor, number=row.number)
    dialog = view.file_dialogs[-1]
    wait_until(app, lambda: dialog.model.rowCount() > 0)
    settle(app)
    save(dialog.grab(), args.out / "main-window-files.png")
    dialog.close()

    missing = Path(_SANDBOX) / "layouts" / "nightly-build"
    window.open_location(missing)
    wait_until(app, lambda: bool(view.error_text))
    settle(app)
    save(window.grab(), args.out / "main-window-error.png")
    window.close()
    settle(app, 0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
