"""A long session in the real window: what is opened and closed again and again leaves
nothing behind in the window's bookkeeping."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.registry_rows import RepositoryNode
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import (
    WAIT_MS,
    SampleFacts,
    add_registry,
    show_image,
    test_connection,
    wait_repositories,
    wait_tags,
)

pytestmark = pytest.mark.gui

ROUNDS = 12

PER_OBJECT = ("places:", "files:", "copy-dialog:", "registry-dialog:")
"""The runner keys made for one place or one dialog each."""


def _layer_files(qtbot: QtBot, window: MainWindow) -> None:
    """Open the Layer files dialog of the shown image's first layer, let it list, close it."""
    view = window.image_view
    assert view.state is not None and view.state.image is not None
    view.open_layer_files(view.state.image.manifest.layers[0], number=1)
    [dialog] = view.file_dialogs
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=WAIT_MS)
    dialog.close()
    qtbot.waitUntil(lambda: not view.file_dialogs, timeout=WAIT_MS)


def _copy_dialog(qtbot: QtBot, window: MainWindow, destination: Path) -> None:
    """Open the Copy dialog of the shown image, let it look at a destination, close it."""
    dialog = window.copying.copy_current()
    assert dialog is not None
    dialog.destination_edit.setText(f"oci:{destination}:demo")
    qtbot.waitUntil(lambda: bool(dialog.platform_boxes), timeout=WAIT_MS)
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    dialog.close()


def _registry_dialogs(qtbot: QtBot, window: MainWindow, host: str) -> None:
    """Open Add Registry and close it; open Edit Registry, test the connection, close it."""
    window.registries.add_registry().close()
    dialog = window.registries.edit_registry(host)
    assert dialog is not None
    assert test_connection(qtbot, dialog).startswith("Connected\n")
    dialog.close()


def _reload_registry(qtbot: QtBot, window: MainWindow, host: str) -> None:
    """List a repository's tags, then reload the registry (its rows are made anew)."""
    model = window.registries.model
    tree = window.registries.tree
    wait_repositories(qtbot, window, host)
    tree.expand(model.repository_index(host, "demo/app"))
    wait_tags(qtbot, window, host, "demo/app")
    old = model.node(model.repository_index(host, "demo/app"))
    tree.setCurrentIndex(model.registry_index(host))
    assert window.registries.reload_current()

    def anew() -> None:
        node = model.node(model.repository_index(host, "demo/app"))
        assert isinstance(node, RepositoryNode) and node is not old

    qtbot.waitUntil(anew, timeout=WAIT_MS)
    wait_repositories(qtbot, window, host)


def test_places_and_dialogs_opened_and_closed_leave_no_runner_keys_behind(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts,
        demo_registry: RegistryFacts, tmp_path: Path) -> None:
    """Each place and each dialog has keys of its own in the runner; once it is closed
    they go too (kept, they piled up all session long: one or more for every place,
    Layer files, Copy and Registry dialog ever opened, and for every repository row a
    registry's reload replaced)."""
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    runner = window.runner
    counts: list[int] = []
    for _ in range(ROUNDS):
        window.open_location(sample.layout, select=False)
        show_image(qtbot, window, "spyglass-demo:1.0")
        _layer_files(qtbot, window)
        _copy_dialog(qtbot, window, tmp_path / "not-written")
        _registry_dialogs(qtbot, window, host)
        _reload_registry(qtbot, window, host)
        window.tree.setCurrentIndex(window.places.index(0, 0))
        window.close_current_location()
        assert window.places.rowCount() == 0
        qtbot.waitUntil(lambda: runner.active == 0, timeout=WAIT_MS)
        counts.append(len(runner.keys))
    assert not [key for key in runner.keys if key.startswith(PER_OBJECT)], runner.keys
    assert counts[-1] == counts[1] and counts[-1] < 12, (counts, sorted(runner.keys))
