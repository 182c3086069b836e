"""The window when another program changes a place it shows: a layout's folder moved away,
an image removed from a layout and its blobs collected, a ref or tag moved to another
image. The window watches nothing and shows the place as it was listed until Reload (F5):
what fails says what happened, and points there; a copy of an image the window showed
copies that image or nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from spyglass.gui.dialogs.copy import CopyDialog
from spyglass.gui.main_window import MainWindow
from spyglass.gui.transfers import Transfer, TransferState
from spyglass.gui.workers import RELOAD_ADVICE
from tests.gui.conftest import RegistryFacts, SampleFacts
from tests.gui.guitools import (
    COPY_MS,
    WAIT_MS,
    add_registry,
    drop_on_row,
    item_text,
    show_image,
    wait_listed,
    wait_repositories,
    wait_tags,
)
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, dump_json
from tests.helpers.registry import push_image

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


# -- a copy of the image shown, after its name moved


def move_ref(root: Path, ref: str) -> str:
    """What ``skopeo copy … oci:ROOT:REF`` of another image does: REF names that image
    now. Its digest."""
    builder = LayoutBuilder(root)
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/moved": b"another image\n"})],
                                        labels={"moved": "yes"}))
    builder.tag(image, ref)
    return str(image["digest"])


def moved_sentence(name: str, now: str, shown: str) -> str:
    return (f"{name} now names {now}, not the image shown ({shown}); reload the place (F5) "
            "to see it, then copy again.")


def refused(qtbot: QtBot, dialog: CopyDialog) -> str:
    """Click Copy once it may be; the sentence the plan was refused with."""
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.refused, timeout=WAIT_MS) as said:
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.error_text == said.args[0]
    return str(said.args[0])


def copied(qtbot: QtBot, window: MainWindow, dialog: CopyDialog) -> Transfer:
    """Click Copy once it may be, and wait for the transfer it starts to end."""
    manager = window.copying.manager
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    transfer = manager.transfers[-1]
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=COPY_MS)
    return transfer


def top_of(layout: Path) -> str:
    return str(json.loads((layout / "index.json").read_bytes())["manifests"][0]["digest"])


def test_copy_to_of_the_image_shown_after_its_ref_moved_copies_nothing(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    root, out = tmp_path / "lay", tmp_path / "out"
    images = three_tags(root)
    window.open_location(root, select=False)
    show_image(qtbot, window, "t0")
    view = window.image_view
    assert view.state is not None and str(view.state.top.digest) == images["t0"]["digest"]
    now = move_ref(root, "t0")  # the window still shows the old t0
    dialog = window.copying.copy_current(destination=f"oci:{out}:x")
    assert dialog is not None
    assert refused(qtbot, dialog) == moved_sentence(f"oci:{root}:t0", now,
                                                    images["t0"]["digest"])
    assert window.copying.manager.transfers == []
    assert not out.exists()  # nothing written, not even the new layout's folder


@pytest.mark.parametrize("dragged", ["image row", "image view", "platform row"])
def test_a_dragged_image_whose_ref_moved_since_it_was_shown_is_not_copied(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        dragged: str) -> None:
    source, dest = tmp_path / "sample", tmp_path / "dest"
    shutil.copytree(sample.layout, source)
    three_tags(dest)
    window.open_location(source, select=False)
    window.open_location(dest, select=False)
    wait_listed(qtbot, window, 1)
    show_image(qtbot, window, "spyglass-demo:1.0")
    copying, view = window.copying, window.image_view
    if dragged == "image row":
        image = copying._place_image(window.places.find_image("spyglass-demo:1.0"))
    elif dragged == "image view":  # its header's icon
        image = copying.shown_image()
    else:
        image = copying._platform_image(view.platforms.model.index(0, 0))
    assert image is not None and image.top_digest == sample.index_digest
    now = move_ref(source, "spyglass-demo:1.0")
    dialog = drop_on_row(qtbot, window, window.tree, window.places.index(1, 0), image)
    assert refused(qtbot, dialog) == moved_sentence(
        f"oci:{source}:spyglass-demo:1.0", now, sample.index_digest)
    assert copying.manager.transfers == []
    assert len(json.loads((dest / "index.json").read_bytes())["manifests"]) == 3


def test_a_retried_copy_of_an_image_whose_ref_moved_since_fails_writing_nothing(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    root, out = tmp_path / "lay", tmp_path / "out"
    images = three_tags(root)
    window.open_location(root, select=False)
    show_image(qtbot, window, "t0")
    dialog = window.copying.copy_current(destination=f"oci:{out}:x")
    assert dialog is not None
    transfer = copied(qtbot, window, dialog)
    assert transfer.state is TransferState.DONE, transfer.error
    assert top_of(out) == images["t0"]["digest"]
    written = (out / "index.json").read_bytes()
    now = move_ref(root, "t0")
    window.copying.manager.retry(transfer)
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=COPY_MS)
    assert transfer.state is TransferState.FAILED
    assert transfer.error == moved_sentence(f"oci:{root}:t0", now, images["t0"]["digest"])
    assert (out / "index.json").read_bytes() == written


def test_a_typed_source_is_copied_by_name(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Copy Image… with a name typed or pasted: the window showed nothing under it, and
    what it names when the copy starts is copied (as skopeo copies)."""
    root, out = tmp_path / "lay", tmp_path / "out"
    three_tags(root)
    window.open_location(root, select=False)
    show_image(qtbot, window, "t0")
    now = move_ref(root, "t0")
    dialog = window.copying.open_dialog(None)
    dialog.source_edit.setText(f"oci:{root}:t0")
    dialog.destination_edit.setText(f"oci:{out}:x")
    transfer = copied(qtbot, window, dialog)
    assert transfer.state is TransferState.DONE, transfer.error
    assert top_of(out) == now


def test_a_registry_tag_pushed_over_since_it_was_shown_is_not_copied(
        qtbot: QtBot, window: MainWindow, own_registry: RegistryFacts,
        sample: SampleFacts, tmp_path: Path) -> None:
    host = own_registry.host
    add_registry(qtbot, window, host, insecure=True)
    registries = window.registries
    model = registries.model
    assert "demo/app" in wait_repositories(qtbot, window, host)
    repository = model.repository_index(host, "demo/app")
    registries.tree.expand(repository)
    model.fetchMore(repository)
    assert "1.9" in wait_tags(qtbot, window, host, "demo/app")
    shown = own_registry.digests["demo/app:1.9"]
    with qtbot.waitSignal(window.image_view.imageShown, timeout=WAIT_MS):
        registries.tree.setCurrentIndex(model.tag_index(host, "demo/app", "1.9"))
    now = push_image(own_registry.server, sample.layout, "spyglass-demo:1.0", "demo/app:1.9")
    assert now != shown
    out = tmp_path / "out"
    dialog = window.copying.copy_current(destination=f"oci:{out}:x")
    assert dialog is not None
    assert refused(qtbot, dialog) == moved_sentence(f"docker://{host}/demo/app:1.9", now,
                                                    shown)
    assert not out.exists()


def test_reload_keeps_the_image_chosen_while_it_is_still_there(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """F5 on a layout went to its first image, whatever image was chosen (the user
    reloads to see what ``skopeo copy`` did to the one looked at): the image is chosen
    again by its name, with the tab it was on, what it names now shown; the first image
    only once it is gone. The context menu's Reload does the same."""
    root = tmp_path / "lay"
    images = three_tags(root)
    window.open_location(root, select=False)
    show_image(qtbot, window, "t2")
    view, tree, places = window.image_view, window.tree, window.places
    view.tabs.setCurrentWidget(view.layers)
    # another program moves t2 onto t1's image
    index = json.loads((root / "index.json").read_bytes())
    for entry in index["manifests"]:
        if entry["annotations"]["org.opencontainers.image.ref.name"] == "t2":
            entry.update({k: images["t1"][k] for k in ("digest", "size")})
    (root / "index.json").write_bytes(dump_json(index))

    def reloaded_by_key() -> None:
        window.activateWindow()
        tree.setFocus(Qt.FocusReason.OtherFocusReason)
        qtbot.waitUntil(tree.hasFocus, timeout=WAIT_MS)
        with qtbot.waitSignal(view.imageShown, timeout=WAIT_MS):
            qtbot.keyClick(tree, Qt.Key.Key_F5)
        wait_listed(qtbot, window)

    reloaded_by_key()
    assert tree.currentIndex() == places.find_image("t2")
    assert view.state is not None and view.state.entry.label == "t2"
    assert str(view.state.entry.descriptor.digest) == images["t1"]["digest"]
    assert view.tabs.currentWidget() is view.layers

    tree.setCurrentIndex(places.find_image("t1"))
    qtbot.waitUntil(lambda: view.state is not None and view.state.entry.label == "t1",
                    timeout=WAIT_MS)
    menu = window.context_menu(places.find_image("t1"))
    assert menu is not None
    reload = next(a for a in menu.actions() if item_text(a) == "Reload")
    with qtbot.waitSignal(view.imageShown, timeout=WAIT_MS):
        reload.trigger()
    wait_listed(qtbot, window)
    assert tree.currentIndex() == places.find_image("t1")
    assert view.state is not None and view.state.entry.label == "t1"

    remove_and_collect(root, images["t0"])  # (t1 first now)
    tree.setCurrentIndex(places.find_image("t2"))
    qtbot.waitUntil(lambda: view.state is not None and view.state.entry.label == "t2",
                    timeout=WAIT_MS)
    index = json.loads((root / "index.json").read_bytes())
    index["manifests"] = [m for m in index["manifests"]
                          if m["annotations"]["org.opencontainers.image.ref.name"] != "t2"]
    (root / "index.json").write_bytes(dump_json(index))
    reloaded_by_key()  # t2 gone: the first image
    assert tree.currentIndex() == places.find_image("t1")
    assert view.state is not None and view.state.entry.label == "t1"
    assert places.find_image("t2").isValid() is False
