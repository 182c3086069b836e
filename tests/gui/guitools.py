"""Helpers for the GUI tests: waiting for the window, and what the sample layout holds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.places import LoadState

WAIT_MS = 5000


def read_blob(layout: Path, digest: str) -> Any:
    algorithm, hexpart = digest.split(":")
    return json.loads((layout / "blobs" / algorithm / hexpart).read_bytes())


@dataclass(frozen=True)
class SampleImage:
    """One platform of the sample's list, as its files say."""

    platform: str
    manifest_digest: str
    manifest: dict[str, Any]
    config: dict[str, Any]

    @property
    def layer_digests(self) -> list[str]:
        return [layer["digest"] for layer in self.manifest["layers"]]


@dataclass(frozen=True)
class SampleFacts:
    layout: Path
    index_digest: str
    index: dict[str, Any]
    images: dict[str, SampleImage]
    tools_digest: str


def wait_listed(qtbot: QtBot, window: MainWindow, row: int = 0) -> None:
    """Wait until the location at ``row`` is listed or has failed."""
    def done() -> None:
        index = window.places.index(row, 0)
        assert index.isValid()
        assert window.places.data(index, window.places.STATE_ROLE) in (
            LoadState.LOADED.value, LoadState.FAILED.value)
    qtbot.waitUntil(done, timeout=WAIT_MS)


def show_image(qtbot: QtBot, window: MainWindow, label: str, row: int = 0) -> None:
    """Select the image ``label`` of the location at ``row`` and wait until it is shown."""
    wait_listed(qtbot, window, row)
    index = window.places.find_image(label, row)
    assert index.isValid(), f"no image {label} in the tree"
    view = window.image_view
    if view.state is not None and view.state.entry.label == label:
        return
    with qtbot.waitSignal(view.imageShown, timeout=WAIT_MS):
        window.tree.setCurrentIndex(index)
    assert view.state is not None and view.state.entry.label == label


def select_platform(qtbot: QtBot, window: MainWindow, platform: str) -> None:
    """Select the row of ``platform`` in the Platforms tab and wait until it is shown."""
    view = window.image_view
    model = view.platforms.model
    row = next(i for i, s in enumerate(model.rows) if str(s.descriptor.platform) == platform)
    if model.current == model.rows[row].descriptor.digest:
        return
    with qtbot.waitSignal(view.instanceShown, timeout=WAIT_MS):
        view.platforms.table.selectRow(row)
    assert view.state is not None and view.state.current is not None
    assert str(view.state.current.descriptor.platform) == platform

