"""Fixtures for driving the real window: a MainWindow with its own settings file, and
what the bundled sample layout holds, read straight from its files to check against."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from spyglass.core.settings import Settings
from spyglass.gui.main_window import MainWindow
from tests.gui.guitools import SampleFacts, SampleImage, read_blob, show_image


@pytest.fixture(scope="session")
def sample(sample_layout: Path) -> SampleFacts:
    top = json.loads((sample_layout / "index.json").read_bytes())
    by_ref = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in top["manifests"]}
    index_digest = by_ref["spyglass-demo:1.0"]["digest"]
    index = read_blob(sample_layout, index_digest)
    images = {}
    for entry in index["manifests"]:
        p = entry["platform"]
        name = "/".join(filter(None, [p["os"], p["architecture"], p.get("variant")]))
        manifest = read_blob(sample_layout, entry["digest"])
        images[name] = SampleImage(name, entry["digest"], manifest,
                                   read_blob(sample_layout, manifest["config"]["digest"]))
    return SampleFacts(sample_layout, index_digest, index, images,
                       by_ref["tools:2024.1"]["digest"])


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    return tmp_path / "config" / "settings.json"


@pytest.fixture
def make_window(qtbot: QtBot, settings_file: Path) -> Iterator[Callable[..., MainWindow]]:
    """Build MainWindows that are shown, closed at the end, and checked to stop their threads."""
    windows: list[MainWindow] = []

    def make(settings: Settings | None = None) -> MainWindow:
        window = MainWindow(settings or Settings(first_run_done=True),
                            settings_file=settings_file)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        assert window.runner.closed
        for thread in window.runner.findChildren(QThread):
            assert thread.isFinished(), f"{thread.objectName()} still runs after close"


@pytest.fixture
def window(make_window: Callable[..., MainWindow]) -> MainWindow:
    return make_window()


@pytest.fixture
def demo(qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> MainWindow:
    """The window with the sample layout open and its list image shown."""
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    return window
