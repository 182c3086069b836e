"""The window when another program changes a place it shows: a layout's folder moved away,
an image removed from a layout and its blobs collected. The window watches nothing and
shows the place as it was listed until Reload (F5): what fails says what happened, and
points there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow
from spyglass.gui.workers import RELOAD_ADVICE
from tests.gui.guitools import WAIT_MS, show_image, wait_listed
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, dump_json

pytestmark = pytest.mark.gui


def three_tags(root: Path) -> dict[str, dict[str, Any]]:
    """A layout of t0, t1 and t2, three images that share no blob; their descriptors."""
    builder = LayoutBuilder(root)
    images = {}
    for n in range(3):
        images[f"t{n}"] = builder.add_image(ImageSpec(
            layers=[LayerSpec({f"/file{n}": f"image {n}\n".encode() * 50})],
            labels={"n": str(n)}))
        builder.tag(images[f"t{n}"], f"t{n}")
    return images


def remove_and_collect(root: Path, image: dict[str, Any]) -> None:
    """What ``umoci rm`` and ``umoci gc`` do to an image none of whose blobs another shares:
    out of index.json, and its blobs deleted."""
    blobs = root / "blobs" / "sha256"
    manifest = json.loads((blobs / image["digest"].removeprefix("sha256:")).read_bytes())
    index = json.loads((root / "index.json").read_bytes())
    index["manifests"] = [m for m in index["manifests"] if m["digest"] != image["digest"]]
    (root / "index.json").write_bytes(dump_json(index))
    for descriptor in (image, manifest["config"], *manifest["layers"]):
        (blobs / descriptor["digest"].removeprefix("sha256:")).unlink()


def test_an_image_of_a_layout_folder_moved_away_says_so_and_offers_reload(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    root = tmp_path / "lay"
    three_tags(root)
    window.open_location(root, select=False)
    show_image(qtbot, window, "t1")
    root.rename(tmp_path / "renamed")
    view = window.image_view
    with qtbot.waitSignal(view.loadFailed, timeout=WAIT_MS) as failed:
        window.tree.setCurrentIndex(window.places.find_image("t2"))
    said = (f'The folder "{root}" is no longer there: it was moved or deleted since it was '
            f"opened. {RELOAD_ADVICE}")
    assert failed.args == [said]
    assert view.error_text == said
    # Try Again would read the same listing again: Reload lists the place anew
    assert view.reload_button.isVisible()
    view.reload_button.click()
    wait_listed(qtbot, window)
    qtbot.waitUntil(lambda: "does not exist" in view.error_text, timeout=WAIT_MS)


def test_the_layer_of_an_image_removed_from_its_layout_says_so(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    root = tmp_path / "lay"
    images = three_tags(root)
    window.open_location(root, select=False)
    show_image(qtbot, window, "t1")
    remove_and_collect(root, images["t1"])
    view = window.image_view
    state = view.state
    assert state is not None and state.image is not None
    layer = state.image.manifest.layers[0]
    view.open_layer_files(layer)
    [dialog] = view.file_dialogs
    qtbot.waitUntil(lambda: dialog.error != "", timeout=WAIT_MS)
    assert dialog.error == (
        f'The OCI image layout "{root}" no longer holds the image "t1": another program '
        f"removed it since the layout was read, and its blob {layer.digest} with it. "
        f"{RELOAD_ADVICE}")
    dialog.close()


def test_a_blob_missing_from_an_image_still_in_its_layout_is_said_as_it_was(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """A blob missing from an image the layout still holds: the listing is right, and the
    sentence says what is missing, without the advice to reload (the pane offers Reload
    Location beside Try Again all the same, as for any image of a listing)."""
    root = tmp_path / "lay"
    images = three_tags(root)
    (root / "blobs" / "sha256" / images["t2"]["digest"].removeprefix("sha256:")).unlink()
    window.open_location(root, select=False)
    wait_listed(qtbot, window)
    view = window.image_view
    with qtbot.waitSignal(view.loadFailed, timeout=WAIT_MS) as failed:
        window.tree.setCurrentIndex(window.places.find_image("t2"))
    assert failed.args[0].startswith(f"The blob {images['t2']['digest']} is missing from")
    assert RELOAD_ADVICE not in failed.args[0]
    assert view.reload_button.isVisible() and view.retry_button.isVisible()
