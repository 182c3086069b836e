"""Copying in the window: drag an image onto a place, the Copy dialog, the Transfers panel."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPersistentModelIndex, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QToolButton
from pytestqt.qtbot import QtBot

from spyglass.core.cancel import CancelToken
from spyglass.core.copy import CopyOptions
from spyglass.gui.copy_drops import DraggedImage, DropPlace, suggest_destination
from spyglass.gui.copy_jobs import CopyRequest, window_parallel
from spyglass.gui.copy_names import describe_name, image_label, normalize_name
from spyglass.gui.copy_progress import Tally
from spyglass.gui.dialogs.copy import CopyDialog
from spyglass.gui.loading import ListedLocation
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models import places as places_model
from spyglass.gui.models.transfers import PROGRESS, PROGRESS_ROLE, STATE, TRANSFER
from spyglass.gui.transfers import Transfer, TransferState
from spyglass.gui.views.image_view import LAYERS, ImageView
from tests.gui.guitools import (
    COPY_MS,
    WAIT_MS,
    SampleFacts,
    core_copy,
    drop_on,
    show_image,
    wait_listed,
)
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

pytestmark = pytest.mark.gui


def second_layout(tmp_path: Path, sample: SampleFacts) -> Path:
    """A second layout holding only the sample's tools image (made with the core)."""
    target = tmp_path / "second"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{target}:tools:2024.1")
    return target


def open_two_layouts(qtbot: QtBot, window: MainWindow, sample: SampleFacts,
                     tmp_path: Path) -> Path:
    target = second_layout(tmp_path, sample)
    window.open_location(sample.layout, select=False)
    window.open_location(target, select=False)
    wait_listed(qtbot, window, 0)
    wait_listed(qtbot, window, 1)
    return target


def drop_sample_on_second(qtbot: QtBot, window: MainWindow) -> CopyDialog:
    places = window.places
    source = places.find_image("spyglass-demo:1.0", 0)
    payload = window.copying._place_image(source)
    assert payload is not None
    target = places.index(1, 0)
    rect = window.tree.visualRect(target)
    with qtbot.waitSignal(window.copying.dialogOpened, timeout=WAIT_MS) as opened:
        assert drop_on(window.tree.viewport(), rect.center(), payload)
    dialog = opened.args[0]
    assert isinstance(dialog, CopyDialog)
    if not dialog.platform_boxes and "Listing" in dialog.platforms_label.text():
        qtbot.waitSignal(dialog.platformsListed, timeout=WAIT_MS).wait()
    return dialog


def wait_finished(qtbot: QtBot, transfer: Transfer) -> None:
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=COPY_MS)


def test_dropping_an_image_on_a_layout_copies_it_there(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    target = open_two_layouts(qtbot, window, sample, tmp_path)
    dialog = drop_sample_on_second(qtbot, window)
    assert dialog.source_edit.isReadOnly()
    assert dialog.source_edit.text().endswith(":spyglass-demo:1.0")
    assert dialog.destination_edit.text() == f"oci:{target}:spyglass-demo:1.0"
    assert "OCI image layout" in dialog.destination_note.text()
    # the sample's list: every platform offered, all checked; "This System" picks one
    assert len(dialog.platform_boxes) >= 2
    assert all(box.isChecked() for _p, box in dialog.platform_boxes)
    dialog.choose_system()
    assert sum(box.isChecked() for _p, box in dialog.platform_boxes) == 1
    dialog.choose_all()
    assert dialog.parallel_spin.value() == window_parallel()
    # no more than the window's copies move together: more would not be true
    assert dialog.parallel_spin.maximum() == window_parallel()
    assert (f"together they move at most {window_parallel()} layers at once"
            in dialog.parallel_spin.toolTip())
    dialog.parallel_spin.setValue(3)
    manager = window.copying.manager
    # Copy waits until the destination has been looked at (on a worker)
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert window.copying.panel.isVisible()
    transfer = manager.transfers[0]
    assert transfer.request.options.parallel == 3
    assert transfer.request.options.multi_arch == "all"
    with qtbot.waitSignal(manager.finished, timeout=COPY_MS):
        pass
    assert transfer.state is TransferState.DONE, transfer.error
    model = window.copying.panel.model
    assert model.data(model.index(0, STATE)) == "Done"
    assert model.data(model.index(0, PROGRESS), PROGRESS_ROLE) == 1.0
    assert "spyglass-demo:1.0" in model.data(model.index(0, TRANSFER))
    # the layout was listed again, and holds the image now
    qtbot.waitUntil(lambda: window.places.find_image("spyglass-demo:1.0", 1).isValid(),
                    timeout=WAIT_MS)
    assert window.places.find_image("tools:2024.1", 1).isValid()
    # Details: every blob with its outcome
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    outcomes = details.outcomes()
    for image in sample.images.values():
        for digest in image.layer_digests:
            assert outcomes[digest] in ("copied", "skipped (already there)")
    details.close()


def tools_on_layers_tab(qtbot: QtBot, window: MainWindow, sample: SampleFacts,
                        tmp_path: Path) -> tuple[Path, ImageView]:
    """Two layouts open, the second's tools image shown on its Layers tab."""
    target = open_two_layouts(qtbot, window, sample, tmp_path)
    show_image(qtbot, window, "tools:2024.1", 1)
    view = window.image_view
    view.tabs.setCurrentIndex(LAYERS)
    return target, view


def test_a_copy_into_the_layout_shown_keeps_the_image_and_its_tab(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    target, view = tools_on_layers_tab(qtbot, window, sample, tmp_path)
    shown = view.state
    with qtbot.waitSignal(window.places.locationRefreshed, timeout=COPY_MS):
        transfer = window.copying.start(CopyRequest(
            f"oci:{sample.layout}:spyglass-demo:1.0", f"oci:{target}:spyglass-demo:1.0",
            CopyOptions()))
    assert transfer.state is TransferState.DONE, transfer.error
    assert window.places.find_image("spyglass-demo:1.0", 1).isValid()  # the new row
    # the row looked at, the image shown (not read again) and its tab all stay
    assert window.tree.currentIndex() == window.places.find_image("tools:2024.1", 1)
    assert view.pages.currentWidget() is view.content
    assert view.state is shown
    assert view.tabs.currentIndex() == LAYERS
    # what the view reads through its (old) listing still works; the next image shown
    # is read through the new one, and the old is closed then
    node = window.places.location_node(window.places.index(1, 0))
    assert node is not None and len(node.retired) == 1
    show_image(qtbot, window, "spyglass-demo:1.0", 1)
    assert node.retired == []


def test_copies_ending_into_a_layout_being_read_again_read_it_once_more(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each copy into a place asks for it to be read again; those that end while it is
    being read wait as one read after it (200 small copies into ten layouts read them
    200 times, and the window stalled). The first re-read is held, once it has read the
    layout, until every copy has ended: then one more read follows, which lists every
    tag, and the row looked at stays current."""
    target, _view = tools_on_layers_tab(qtbot, window, sample, tmp_path)
    looked_at = QPersistentModelIndex(window.tree.currentIndex())
    reads: list[Path] = []
    release = threading.Event()
    real = places_model.open_and_list

    def counted(path: Path, cancel: CancelToken) -> ListedLocation:
        listed = real(path, cancel)
        if path == target:
            reads.append(path)
            if len(reads) == 1:  # (what it read is what the first copy wrote, or less)
                release.wait()
        return listed

    monkeypatch.setattr(places_model, "open_and_list", counted)
    tags = [f"copy{number}" for number in range(6)]
    try:
        copies = [window.copying.start(CopyRequest(
            f"oci:{sample.layout}:spyglass-demo:1.0", f"oci:{target}:{tag}", CopyOptions()))
            for tag in tags]
        qtbot.waitUntil(lambda: all(t.state.finished for t in copies), timeout=COPY_MS)
        assert [t.error for t in copies if t.state is not TransferState.DONE] == []
        assert len(reads) == 1  # the rest wait as one
    finally:
        release.set()
    qtbot.waitUntil(lambda: len(reads) == 2 and all(
        window.places.find_image(tag, 1).isValid() for tag in tags), timeout=WAIT_MS)
    assert window.tree.currentIndex() == looked_at
    assert window.tree.currentIndex() == window.places.find_image("tools:2024.1", 1)


def test_a_place_closed_during_a_copy_into_it_stays_closed(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """The user closed it: the copy ending does not open it again. A new place, one that
    was not open when the copy began, is opened."""
    target = open_two_layouts(qtbot, window, sample, tmp_path)
    manager = window.copying.manager
    transfer = window.copying.start(CopyRequest(
        f"oci:{sample.layout}:spyglass-demo:1.0", f"oci:{target}:spyglass-demo:1.0",
        CopyOptions()))
    window._close_path(str(target))  # before the copy's end can reach the window
    assert len(window.places.paths) == 1
    wait_finished(qtbot, transfer)
    assert transfer.state is TransferState.DONE, transfer.error
    qtbot.wait(50)
    assert len(window.places.paths) == 1
    fresh = tmp_path / "fresh"
    with qtbot.waitSignal(manager.finished, timeout=COPY_MS):
        window.copying.start(CopyRequest(f"oci:{sample.layout}:tools:2024.1",
                                         f"oci:{fresh}:tools", CopyOptions()))
    qtbot.waitUntil(lambda: len(window.places.paths) == 2, timeout=WAIT_MS)


def test_a_copy_into_the_archive_shown_reads_the_image_again(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    # an archive is written anew whole: the image shown is read again from the new file,
    # even when it is the same image, and the old listing is closed
    archive = tmp_path / "x.tar"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci-archive:{archive}:tools")
    window.open_location(archive, select=False)
    show_image(qtbot, window, "tools", 0)
    view = window.image_view
    before = view.state
    with qtbot.waitSignal(view.imageShown, timeout=COPY_MS):
        transfer = window.copying.start(CopyRequest(
            f"oci:{sample.layout}:tools:2024.1", f"oci-archive:{archive}:tools",
            CopyOptions()))
    assert transfer.state is TransferState.DONE, transfer.error
    assert before is not None and view.state is not None and view.state is not before
    assert view.state.entry.descriptor == before.entry.descriptor
    node = window.places.location_node(window.places.index(0, 0))
    assert node is not None and node.retired == []
    # what the view reads from now on comes from the new file
    from spyglass.core.image import load_config

    assert load_config(view.state.source, view.state.image.manifest) is not None


def test_a_copy_replacing_the_image_shown_shows_the_new_one(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    target, view = tools_on_layers_tab(qtbot, window, sample, tmp_path)
    before = view.state
    assert before is not None
    with qtbot.waitSignal(view.imageShown, timeout=COPY_MS):
        transfer = window.copying.start(CopyRequest(
            f"oci:{sample.layout}:spyglass-demo:1.0", f"oci:{target}:tools:2024.1",
            CopyOptions(multi_arch="all")))
    assert transfer.state is TransferState.DONE, transfer.error
    assert window.tree.currentIndex() == window.places.find_image("tools:2024.1", 1)
    assert view.state is not None and transfer.result is not None
    assert view.state.entry.descriptor.digest == transfer.result.digest
    assert view.state.entry.descriptor.digest != before.entry.descriptor.digest
    assert view.tabs.currentIndex() == LAYERS


def test_a_dropped_platform_row_copies_that_platform(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    open_two_layouts(qtbot, window, sample, tmp_path)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    payload = window.copying._platform_image(view.platforms.model.index(1, 0))
    assert payload is not None and payload.platform
    dialog = window.copying.open_dialog(payload, DropPlace("oci", path=str(tmp_path / "x")))
    qtbot.waitUntil(lambda: bool(dialog.platform_boxes), timeout=WAIT_MS)
    checked = [str(p) for p, box in dialog.platform_boxes if box.isChecked()]
    assert checked == [payload.platform]
    options = dialog.options()
    assert [str(p) for p in options.platforms] == [payload.platform]
    dialog.reject()


def _platform_rows_dragged(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                           lists: Path, target: Path, shown: str
                           ) -> tuple[list[DraggedImage], Any, Any]:
    """Open the layout ``lists`` (showing its image ``shown``) and ``target``; the images
    a drag from the Platforms table starts are kept in the list returned (instead of
    Qt's modal drag loop), with that table and its model."""
    from spyglass.gui.dragdrop import DragSource

    window.open_location(lists, select=False)
    window.open_location(target, select=False)
    wait_listed(qtbot, window, 1)
    show_image(qtbot, window, shown)
    started: list[DraggedImage] = []

    def record(_self: DragSource, image: DraggedImage) -> Qt.DropAction:
        started.append(image)
        return Qt.DropAction.CopyAction

    monkeypatch.setattr(DragSource, "start_drag", record)
    return started, window.image_view.platforms.table, window.image_view.platforms.model


def test_a_platform_row_without_a_platform_is_dragged_and_copied_alone_by_its_digest(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Its row (which read "— —") could not be dragged: no platform named it, and the
    dialog's boxes offered only platforms (it went only with the list whole). Dragged
    now, it is the one box ticked, named after its digest, and copied alone by it."""
    from tests.gui.guitools import drop_on_row
    from tests.gui.test_drag_sources import drag_with_the_mouse
    from tests.helpers.platform_lists import platform_lists

    lists = platform_lists(tmp_path / "lists")
    target = second_layout(tmp_path, sample)
    started, table, model = _platform_rows_dragged(qtbot, window, monkeypatch, lists.root,
                                                   target, "noplat_mixed")
    row = next(r for r, s in enumerate(model.rows) if s.descriptor.platform is None)
    index = model.index(row, 0)
    table.scrollTo(index)
    drag_with_the_mouse(table.viewport(), table.visualRect(index).center())
    noplat = lists.images["noplat"]["digest"]
    label = f"noplat_mixed (image without a platform, {noplat[:19]})"
    assert [(image.label, image.digest, image.platform) for image in started] == [
        (label, noplat, "")]
    dialog = drop_on_row(qtbot, window, window.tree, window.places.index(1, 0), started[0])
    qtbot.waitUntil(lambda: bool(dialog.digest_boxes), timeout=WAIT_MS)
    assert dialog.platforms_label.text() == (
        "A list of 1 platform and 1 image without a platform; copy these:")
    assert [box.isChecked() for box in dialog.choice_boxes()] == [False, True]
    assert dialog.destination_edit.text() == f"oci:{target}:noplat_mixed-{noplat[7:19]}"
    manager = window.copying.manager
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    transfer = manager.transfers[-1]
    assert transfer.request.label == label
    assert [str(d) for d in transfer.request.options.instances] == [noplat]
    wait_finished(qtbot, transfer)
    assert transfer.state is TransferState.DONE, transfer.error
    assert transfer.result is not None and str(transfer.result.digest) == noplat
    model_ = window.copying.panel.model
    assert model_.data(model_.index(len(manager.transfers) - 1, STATE)) == "Done"
    qtbot.waitUntil(lambda: window.places.find_image(
        f"noplat_mixed-{noplat[7:19]}", 1).isValid(), timeout=WAIT_MS)


def test_a_windows_row_told_apart_by_os_version_ticks_its_own_box_alone(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Two Windows images differ by os.version alone: dragging the second one's row
    ticked both boxes (the platform dragged matched each). Its digest ticks its own."""
    from tests.helpers.platform_lists import platform_lists

    lists = platform_lists(tmp_path / "lists")  # "win": win1809, win2022, amd64
    window.open_location(lists.root, select=False)
    show_image(qtbot, window, "win")
    model = window.image_view.platforms.model
    assert str(model.rows[1].descriptor.digest) == lists.images["win2022"]["digest"]
    payload = window.copying._platform_image(model.index(1, 0))
    assert payload is not None and payload.platform == "windows/amd64"
    dialog = window.copying.open_dialog(payload, DropPlace("oci", path=str(tmp_path / "x")))
    qtbot.waitUntil(lambda: bool(dialog.platform_boxes), timeout=WAIT_MS)
    assert [box.isChecked() for box in dialog.choice_boxes()] == [False, True, False]
    assert [p.os_version for p in dialog.options().platforms] == ["10.0.20348.500"]
    dialog.reject()


def test_the_second_image_of_a_platform_dragged_is_the_one_copied(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A list with two linux/amd64 images (made by hand, or built wrongly): dragging the
    second one's row offered one linux/amd64 box, and the copy, choosing by platform,
    was of the first image, under the name offered for the second. Now the second is a
    box of its own, each twin said with its digest, the dragged one alone ticked, and it
    is copied by its digest."""
    from tests.gui.guitools import drop_on_row
    from tests.gui.test_drag_sources import drag_with_the_mouse
    from tests.helpers.platform_lists import platform_lists

    lists = platform_lists(tmp_path / "lists")  # "dup": dupA, dupB (both linux/amd64), arm64
    first, second = (lists.images[name]["digest"] for name in ("dupA", "dupB"))
    target = second_layout(tmp_path, sample)
    started, table, model = _platform_rows_dragged(qtbot, window, monkeypatch, lists.root,
                                                   target, "dup")
    assert [str(s.descriptor.digest) for s in model.rows][:2] == [first, second]
    # the overview names the twins apart, as the table does
    assert window.image_view.overview.field_text("Platforms") == (
        f"linux/amd64, {first[:19]}; linux/amd64, {second[:19]}; linux/arm64/v8")
    # the table says which of the two a platform chooses
    assert "which that platform chooses" in str(model.index(1, 0).data(
        Qt.ItemDataRole.ToolTipRole))
    assert "this one is the one that platform chooses" in str(model.index(0, 0).data(
        Qt.ItemDataRole.ToolTipRole))
    index = model.index(1, 0)
    table.scrollTo(index)
    drag_with_the_mouse(table.viewport(), table.visualRect(index).center())
    label = f"dup (linux/amd64, {second[:19]})"
    assert [(image.label, image.digest, image.platform) for image in started] == [
        (label, second, "")]
    dialog = drop_on_row(qtbot, window, window.tree, window.places.index(1, 0), started[0])
    qtbot.waitUntil(lambda: bool(dialog.digest_boxes), timeout=WAIT_MS)
    assert dialog.platforms_label.text() == "A list of 3 images for 2 platforms; copy these:"
    assert [box.text() for box in dialog.choice_boxes()] == [
        f"linux/amd64, {first[:19]}", "linux/arm64/v8", f"linux/amd64, {second[:19]}"]
    assert [box.isChecked() for box in dialog.choice_boxes()] == [False, False, True]
    assert dialog.destination_edit.text() == f"oci:{target}:dup-{second[7:19]}"
    manager = window.copying.manager
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    transfer = manager.transfers[-1]
    assert transfer.request.label == label
    assert (transfer.request.options.platforms,
            [str(d) for d in transfer.request.options.instances]) == ((), [second])
    wait_finished(qtbot, transfer)
    assert transfer.state is TransferState.DONE, transfer.error
    assert transfer.result is not None and str(transfer.result.digest) == second
    written = {entry["annotations"]["org.opencontainers.image.ref.name"]: entry["digest"]
               for entry in json.loads((target / "index.json").read_bytes())["manifests"]}
    assert written[f"dup-{second[7:19]}"] == second

    # the first one's row is that platform's, ticked alone (not its twin)
    payload = window.copying._platform_image(model.index(0, 0))
    assert payload is not None
    assert (payload.label, payload.platform, payload.digest) == (
        f"dup (linux/amd64, {first[:19]})", "linux/amd64", first)
    dialog = window.copying.open_dialog(payload, DropPlace("oci", path=str(target)))
    qtbot.waitUntil(lambda: bool(dialog.digest_boxes), timeout=WAIT_MS)
    assert [box.isChecked() for box in dialog.choice_boxes()] == [True, False, False]
    options = dialog.options()
    assert ([str(p) for p in options.platforms], options.instances) == (["linux/amd64"], ())
    assert dialog.copy_label() == f"dup (linux/amd64, {first[:19]})"
    dialog.reject()


def test_cancelling_a_copy_leaves_the_layout_unchanged(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    big = tmp_path / "big"
    builder = LayoutBuilder(big)
    builder.tag(builder.add_image(ImageSpec(layers=[
        LayerSpec({"/data/blob": os.urandom(24 * 1024 * 1024)}, compression="none"),
        LayerSpec({"/data/more": os.urandom(8 * 1024 * 1024)}, compression="none"),
    ])), "big")
    target = second_layout(tmp_path, sample)
    before = (target / "index.json").read_bytes()
    blobs_before = sorted(p.name for p in (target / "blobs" / "sha256").iterdir())
    controller = window.copying
    transfer = controller.start(CopyRequest(f"oci:{big}:big", f"oci:{target}:big",
                                            CopyOptions(parallel=1)))
    controller.manager.cancel(transfer)
    model = controller.panel.model
    assert model.data(model.index(0, STATE)) == "Cancelling…"
    wait_finished(qtbot, transfer)
    assert transfer.state is TransferState.CANCELLED
    assert model.data(model.index(0, STATE)) == "Cancelled"
    assert (target / "index.json").read_bytes() == before
    assert sorted(p.name for p in (target / "blobs" / "sha256").iterdir()) == blobs_before
    # Retry runs the same copy again, to the end this time
    controller.manager.retry(transfer)
    assert transfer.state is TransferState.PLANNING
    wait_finished(qtbot, transfer)
    assert transfer.state is TransferState.DONE, transfer.error
    assert transfer.attempts == 2
    assert b'"big"' in (target / "index.json").read_bytes()


def test_a_refused_copy_says_why_in_the_dialog(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    window.open_location(sample.layout)
    show_image(qtbot, window, "spyglass-demo:1.0")
    dialog = window.copying.copy_current()
    assert dialog is not None
    assert dialog.destination_edit.text() == ""
    assert not dialog.copy_button.isEnabled()
    qtbot.keyClicks(dialog.destination_edit, "nonsense")
    assert "unknown transport" in dialog.destination_note.text() \
        or "expected TRANSPORT:REFERENCE" in dialog.destination_note.text()
    assert not dialog.copy_button.isEnabled()
    dialog.destination_edit.setText(f"oci:{tmp_path / 'converted'}:demo")
    qtbot.waitUntil(lambda: bool(dialog.platform_boxes), timeout=WAIT_MS)
    # (the destination is looked at on a worker too: under load it may answer after the
    # platforms do)
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    dialog.compression_combo.setCurrentIndex(dialog.compression_combo.findData("zstd"))
    dialog.preserve_box.setChecked(True)
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.refused, timeout=WAIT_MS) as refused:
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert dialog.error_text == refused.args[0]
    assert "preserving digests forbids" in dialog.error_text  # the window's words
    assert "--" not in dialog.error_text
    assert dialog.isVisible()
    assert window.copying.manager.transfers == []
    index = tmp_path / "converted" / "index.json"
    assert not index.exists() or json.loads(index.read_bytes())["manifests"] == []
    dialog.reject()


def test_a_policy_that_rejects_the_source_refuses_the_windows_copy(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's policy.json, as skopeo reads it: a source it rejects is not copied,
    from the dialog or from a Retry, and the sentence names the file and its scope."""
    policy = tmp_path / "home" / ".config" / "containers" / "policy.json"
    policy.parent.mkdir(parents=True)
    policy.write_text(json.dumps({
        "default": [{"type": "insecureAcceptAnything"}],
        "transports": {"oci": {str(sample.layout.resolve()): [{"type": "reject"}]}},
    }))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    source = f"oci:{sample.layout}:spyglass-demo:1.0"
    said = (f'The policy "{policy}" rejects {source}: its requirements for the oci scope '
            f'"{sample.layout.resolve()}" include reject, so it is not copied. To copy it, '
            "change the policy.")
    window.open_location(sample.layout)
    show_image(qtbot, window, "spyglass-demo:1.0")
    dialog = window.copying.copy_current(f"oci:{tmp_path / 'out'}:demo")
    assert dialog is not None
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.refused, timeout=WAIT_MS) as refused:
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert refused.args[0] == said == dialog.error_text
    assert window.copying.manager.transfers == []
    dialog.reject()
    transfer = window.copying.start(CopyRequest(source, f"oci:{tmp_path / 'out'}:demo",
                                                CopyOptions()))
    wait_finished(qtbot, transfer)
    assert (transfer.state, transfer.error) == (TransferState.FAILED, said)
    assert not (tmp_path / "out").exists()


def test_a_failed_copy_shows_its_sentence(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    transfer = window.copying.start(CopyRequest(f"oci:{sample.layout}:tools:2024.1",
                                                f"oci:{blocker}:x", CopyOptions()))
    wait_finished(qtbot, transfer)
    assert transfer.state is TransferState.FAILED
    assert transfer.error
    model = window.copying.panel.model
    from spyglass.gui.models.transfers import failure_cause, run_on

    # the cause after a dot, as the other states' details, in lower case
    assert model.data(model.index(0, STATE)) == \
        f"Failed · {run_on(failure_cause(transfer.error))}"
    assert not model.data(model.index(0, STATE)).startswith("Failed · The ")
    assert transfer.error in model.data(model.index(0, STATE), Qt.ItemDataRole.ToolTipRole)
    details = window.copying.panel.show_details(transfer)
    assert details is not None and details.error_label.text() == transfer.error
    details.close()
    # the whole sentence above the rows (the State cell has room for its start only),
    # until dismissed; a Retry that fails again says it again
    panel = window.copying.panel
    assert panel.failure.isVisible()
    assert panel.failure.text.startswith("Copying ")
    # the image and the place, as the row names them
    assert panel.failure.text.startswith(
        f"Copying tools:2024.1 to a-file as x failed. {transfer.error}")
    qtbot.mouseClick(panel.failure.findChild(QToolButton), Qt.MouseButton.LeftButton)
    panel.table.selectRow(0)
    assert not panel.failure.isVisible()
    # the keyboard: Enter opens the Details (as a double click does), Ctrl+R retries
    panel.table.setFocus()
    opened = len(panel.details)
    qtbot.keyClick(panel.table, Qt.Key.Key_Return)
    assert len(panel.details) == opened + 1
    qtbot.keyClick(panel.table, Qt.Key.Key_Return)  # the same window, brought forward
    assert len(panel.details) == opened + 1
    panel.close_dialogs()
    qtbot.keyClick(panel.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert transfer.attempts == 2 or not transfer.state.finished
    wait_finished(qtbot, transfer)
    assert transfer.attempts == 2
    assert transfer.state is TransferState.FAILED
    assert panel.failure.isVisible() and transfer.error in panel.failure.text
    # the status bar said "Copying …" when it began; now it says how it ended
    assert window.status_text == (
        f"Copying oci:{sample.layout}:tools:2024.1 failed; the Transfers panel says why.")


def test_a_failure_sentence_takes_its_room_from_the_panes_above(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """The sentence above the rows makes the panel taller by its height, so the rows
    keep theirs, and gives the height back when dismissed; a split moved by hand
    in between stays where it was put."""
    done = window.copying.start(CopyRequest(f"oci:{sample.layout}:tools:2024.1",
                                            f"oci:{tmp_path / 'fine'}:x", CopyOptions()))
    wait_finished(qtbot, done)
    splitter, panel = window.vertical, window.copying.panel
    before = splitter.sizes()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    failed = window.copying.start(CopyRequest(f"oci:{sample.layout}:tools:2024.1",
                                              f"oci:{blocker}:x", CopyOptions()))
    wait_finished(qtbot, failed)
    assert panel.failure.isVisible()
    qtbot.waitUntil(lambda: panel.failure.height() > 0, timeout=WAIT_MS)
    grown = splitter.sizes()
    assert grown[1] - before[1] == panel.failure.height()
    assert sum(grown) == sum(before)
    qtbot.mouseClick(panel.failure.findChild(QToolButton), Qt.MouseButton.LeftButton)
    assert splitter.sizes() == before
    # again, then the split moved by hand: dismissing leaves it alone
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    wait_finished(qtbot, failed)
    assert panel.failure.isVisible() and splitter.sizes() == grown
    by_hand = [grown[0] - 40, grown[1] + 40]
    splitter.setSizes(by_hand)
    qtbot.mouseClick(panel.failure.findChild(QToolButton), Qt.MouseButton.LeftButton)
    assert splitter.sizes() == by_hand


def test_the_state_cell_puts_a_failures_cause_first() -> None:
    from spyglass.gui.models.transfers import failure_cause

    assert failure_cause(
        "Looking up the blob sha256:cbab in r.example/demo failed: the registry r.example "
        "wants valid credentials.") == "The registry r.example wants valid credentials."
    plain = "The registry registry.example closed the connection while sending a blob."
    assert failure_cause(plain) == plain


def test_the_state_cell_of_a_registry_with_full_storage_starts_with_that() -> None:
    """distribution's ENOSPC answer names a storage path of up to 200 characters: the cause
    came after it, past what the State cell shows."""
    import httpx

    from spyglass.core.transports.registry.errors import error_for
    from spyglass.gui.models.transfers import failure_cause

    path = ("/var/lib/docker-registry/docker/registry/v2/repositories/w/big/_uploads/"
            "6b7a0f2c-52e1-4b8c-a7b0-0e4c0d31f1a9/data")
    body = json.dumps({"errors": [{
        "code": "UNKNOWN", "message": "unknown error",
        "detail": {"DriverName": "filesystem",
                   "Enclosed": {"Op": "write", "Path": path, "Err": 28}}}]}).encode()
    sentence = str(error_for(500, httpx.Headers(), body, host="127.0.0.1:53995",
                             what="Uploading the blob sha256:9e05 to 127.0.0.1:53995/w/big"))
    cause = failure_cause(sentence)
    assert cause.startswith("The registry 127.0.0.1:53995 has no room left: its storage is "
                            "full (no space left on device)"), cause
    assert "UNKNOWN: unknown error (write …/repositories/w/big/_uploads/" in cause, cause


def test_the_transfers_model_passes_the_model_tester(
        qtbot: QtBot, qtmodeltester, window: MainWindow, sample: SampleFacts,
        tmp_path: Path) -> None:
    controller = window.copying
    model = controller.panel.model
    qtmodeltester.check(model, force_py=True)
    first = controller.start(CopyRequest(f"oci:{sample.layout}:tools:2024.1",
                                         f"oci:{tmp_path / 'one'}:tools", CopyOptions()))
    second = controller.start(CopyRequest(f"oci:{sample.layout}:spyglass-demo:1.0",
                                          f"oci:{tmp_path / 'two'}:demo",
                                          CopyOptions(multi_arch="all")))
    assert model.rowCount() == 2
    wait_finished(qtbot, first)
    wait_finished(qtbot, second)
    assert first.state is second.state is TransferState.DONE
    controller.manager.remove_finished()  # the tester checks every change it sees
    assert model.rowCount() == 0


def test_progress_is_coalesced() -> None:
    from spyglass.core.copy import BlobProgress, BlobStarted
    from spyglass.core.digest import Digest

    digest = Digest.of(b"x")
    tally = Tally()
    assert tally.feed(BlobStarted(digest, 100, "application/octet-stream"))
    # more events before the GUI looks: no more wake-ups
    assert not tally.feed(BlobProgress(digest, 10, 100))
    assert not tally.feed(BlobProgress(digest, 60, 100))
    snapshot = tally.snapshot()
    assert snapshot.done == 60 and snapshot.total == 100
    assert tally.feed(BlobProgress(digest, 100, 100))


def test_a_retried_blob_starts_again_in_the_details() -> None:
    from spyglass.core.copy import BlobProgress, BlobRetried, BlobStarted, Failed
    from spyglass.core.digest import Digest
    from spyglass.gui.dialogs.transfer_details import OUTCOME_TEXT

    digest = Digest.of(b"x")
    tally = Tally()
    tally.feed(BlobStarted(digest, 100, "application/octet-stream"))
    tally.feed(BlobProgress(digest, 60, 100))
    tally.feed(BlobRetried(digest, 2, 4, "The blob broke off."))
    [row] = tally.snapshot().blobs
    assert (row.done, row.outcome) == (0, "retrying")
    assert OUTCOME_TEXT[row.outcome] == "starting again"
    tally.feed(Failed("The blob broke off."))
    assert tally.snapshot().blobs[0].outcome == "interrupted"


def test_the_tally_carries_the_plans_notes_and_what_goes_along() -> None:
    from dataclasses import replace

    from spyglass.core import media
    from spyglass.core.copy import Planned
    from spyglass.core.copy_attachments import AttachmentTask
    from spyglass.core.digest import Digest
    from spyglass.core.manifest import Descriptor
    from spyglass.core.signatures.discovery import Attachment
    from spyglass.core.signatures.model import Kind
    from tests.gui.scripted import blob, plan_of

    config = blob("config", 10, media.OCI_CONFIG)
    signature = blob("signature", 263, "application/vnd.dev.cosign.simplesigning.v1+json")
    manifest = Descriptor(media.OCI_MANIFEST, Digest.of(b"signature manifest"), 400)
    task = AttachmentTask(Attachment(Digest.of(b"manifest"), "tag sha256-x.sig",
                                     Kind.COSIGN_SIGNATURE, manifest),
                          "manifest", b"{}", manifest, (signature,), "sha256-x.sig")
    plan = replace(plan_of(config), notes=("the list is rebuilt with 1 of its 3 images, so "
                                           "its digest changes",), attachments=(task,))
    tally = Tally()
    assert tally.snapshot().notes == () and tally.snapshot().attached == ""
    tally.feed(Planned(plan))
    snapshot = tally.snapshot()
    assert snapshot.notes == plan.notes
    assert snapshot.attached == "1 cosign signature"
    rows = {row.digest: row for row in snapshot.blobs}
    assert rows[signature.digest].attachment == "cosign signature"
    assert rows[config.digest].attachment == ""


def test_destination_names_are_suggested_and_described() -> None:
    assert suggest_destination("docker://localhost:5000/demo/app:1.10",
                               DropPlace("registry", host="r.example:5000")) \
        == "docker://r.example:5000/demo/app:1.10"
    assert suggest_destination("oci:/x/layout:spyglass-demo:1.0",
                               DropPlace("repository", host="h:1", repository="team/web")) \
        == "docker://h:1/team/web:1.0"
    assert suggest_destination("docker://h:1/a/b:v2", DropPlace("oci", path="/tmp/l")) \
        == "oci:/tmp/l:a/b:v2"
    assert suggest_destination("oci:/x/my-layout:latest", DropPlace("registry", host="h:1")) \
        == "docker://h:1/my-layout:latest"
    # docker save names images docker.io/library/NAME; other registries keep their path
    assert suggest_destination("docker-archive:/x/d.tar:docker.io/library/tools:2024.1",
                               DropPlace("registry", host="h:1")) == "docker://h:1/tools:2024.1"
    assert suggest_destination("docker-archive:/x/d.tar:quay.io/library/tools:1",
                               DropPlace("registry", host="h:1")) \
        == "docker://h:1/library/tools:1"
    # an image named by its position (a Docker 25+ save of two "latest" images) is
    # named by its label, not after the file both share
    layout = DropPlace("oci", path="/tmp/l")
    assert suggest_destination("oci-archive:/x/two.tar:@1", layout,
                               "docker.io/library/busybox:latest") == "oci:/tmp/l:busybox:latest"
    assert suggest_destination("oci-archive:/x/two.tar:@0", layout,
                               "docker.io/library/alpine:latest") == "oci:/tmp/l:alpine:latest"
    assert suggest_destination("oci-archive:/x/two.tar:@0", layout, "@sha256:abc") \
        == "oci:/tmp/l:two:latest"
    # layout to layout: the image keeps its own ref, whatever the folder is called
    assert suggest_destination("oci:/x/big-layout:nightly", layout) == "oci:/tmp/l:nightly"
    assert suggest_destination("oci:/x/big-layout:nightly",
                               DropPlace("oci-archive", path="/tmp/a.tar")) \
        == "oci-archive:/tmp/a.tar:nightly"
    assert suggest_destination("oci:/x/big-layout:nightly", DropPlace("registry", host="h:1")) \
        == "docker://h:1/big-layout:nightly"
    # one platform of a list: not under the list's own tag, which it would replace
    assert suggest_destination("oci:/x/l:spyglass-demo:1.0", layout, platform="linux/arm64/v8") \
        == "oci:/tmp/l:spyglass-demo:1.0-linux-arm64-v8"
    assert suggest_destination("docker://h:1/a/b:v2", DropPlace("registry", host="r:2"),
                               platform="linux/amd64") == "docker://r:2/a/b:v2-linux-amd64"
    # an image named by its digest keeps it: a tag ("latest") would replace another image
    digest = "sha256:" + "ab" * 32
    assert suggest_destination(f"docker://h:1/a/b@{digest}", DropPlace("registry", host="r:2")) \
        == f"docker://r:2/a/b@{digest}"
    assert suggest_destination(f"docker://h:1/a/b@{digest}",
                               DropPlace("repository", host="r:2", repository="mirror/b")) \
        == f"docker://r:2/mirror/b@{digest}"
    assert suggest_destination(f"docker://h:1/a/b@{digest}", layout) == "oci:/tmp/l"
    assert suggest_destination(f"docker://h:1/a/b@{digest}",
                               DropPlace("docker-archive", path="/tmp/a.tar")) \
        == "docker-archive:/tmp/a.tar"
    assert suggest_destination(f"docker://h:1/a/b@{digest}", DropPlace("registry", host="r:2"),
                               platform="linux/arm64/v8") == "docker://r:2/a/b:linux-arm64-v8"
    # an empty folder dropped on becomes a layout: the image goes in unnamed, as above
    assert suggest_destination(f"docker://h:1/a/b@{digest}",
                               DropPlace("folder", path="/tmp/d")) == "oci:/tmp/d"
    assert suggest_destination(f"docker://h:1/a/b@{digest}", layout,
                               platform="linux/arm64/v8") == "oci:/tmp/l:a/b:linux-arm64-v8"
    name, sentence = describe_name("docker://h:1/a:b")
    assert name is not None and "repository a" in sentence
    name, sentence = describe_name("oci:")
    assert name is None and sentence
    # a name without its registry, in a window that has registries: pointed to them,
    # not only to docker://, which is Docker Hub
    name, sentence = describe_name("team/app:1", hosts=["127.0.0.1:5000"])
    assert name is None and sentence.endswith(
        "For a registry of the list, write its host first, for example "
        "127.0.0.1:5000/team/app:1.")
    assert "For a registry" not in describe_name("team/app:1")[1]
    assert "For a registry" not in describe_name("/no/such:x", hosts=["h:1"])[1]
    assert "For a registry" not in describe_name("layout-folder", hosts=["h:1"])[1]
    # a registry is HOST:PORT with a port of digits, an [IPv6 address], localhost or a
    # name with a dot; "oci-arcive:" is a transport mistyped, named as the parser names it
    assert normalize_name("h:5000/a") == "docker://h:5000/a"
    assert normalize_name("[::1]/a") == "docker://[::1]/a"
    assert normalize_name("[::1]:5000/a") == "docker://[::1]:5000/a"
    for typed in ("oci-arcive:/tmp/x.tar", "ocu:/tmp/x", "h:x/a", "h:/a"):
        assert normalize_name(typed) == typed
    name, sentence = describe_name("oci-arcive:/tmp/x.tar", hosts=["h:1"])
    assert name is None and 'unknown transport "oci-arcive"' in sentence
    assert "registry" not in sentence  # nor pointed to h:1/oci-arcive:/tmp/x.tar
    # a URL, or a transport of skopeo's that Spyglass lacks: said what to write instead,
    # as the command line says it (no registry is put before it)
    for typed, advice in (
            ("https://h:1/team/app:1", "(an image on a registry is written "
                                       "docker://h:1/team/app:1, not as a URL)."),
            ("docker-daemon:alpine:3", "then name docker-archive:app.tar).")):
        name, sentence = describe_name(typed, hosts=["127.0.0.1:5000"])
        assert name is None and sentence.startswith(f'Invalid image name "{typed}": unknown '
                                                    "transport") and \
            sentence.endswith(advice), sentence
    # a layout destination without a ref stores the image without a name: said before
    assert describe_name("oci:/srv/mirror")[1] == (
        "The OCI image layout in /srv/mirror (a new one if there is none yet), the image "
        "without a name (add :NAME to give it one).")
    assert describe_name("oci:/srv/mirror:app-1")[1].endswith("none yet), named app-1.")


def test_a_relative_destination_says_where_it_is(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    """The window shows no working folder: a relative path is said with the one it is in."""
    monkeypatch.chdir(tmp_path)
    assert describe_name("oci:out/layout:app")[1] == (
        f"The OCI image layout in out/layout (in {tmp_path}) (a new one if there is none yet), "
        "named app.")
    assert describe_name("docker-archive:app.tar")[1] == (
        f"A docker save tarball at app.tar (in {tmp_path}), the image without a name (add "
        ":NAME:TAG to give it one).")
    assert describe_name(f"dir:{tmp_path}/d")[1] == f"A dir: layout in {tmp_path}/d."


def test_a_path_without_its_transport_is_said_to_be_a_path(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """./layout is a path, not a registry called "."; ~ is the home folder, as in a shell."""
    for typed in ("./my-layout:tools", "../my-layout", "/srv/layout:app", "~/layout"):
        name, sentence = describe_name(typed)
        example = typed.replace("~", str(Path.home()), 1)
        assert name is None and sentence == (
            f'Invalid image name "{typed}": a path is written after its transport, for '
            f"example oci:{example} or dir:{example}.")
        assert describe_name(typed, what="source")[1] == sentence
    monkeypatch.setenv("HOME", str(tmp_path))
    assert normalize_name("oci:~/layout:app") == f"oci:{tmp_path}/layout:app"
    assert normalize_name("dir:~") == f"dir:{tmp_path}"
    assert describe_name("docker-archive:~/a.tar:x:1")[1].startswith(
        f"A docker save tarball at {tmp_path}/a.tar,")
    assert normalize_name("docker://h:1/a:~b") == "docker://h:1/a:~b"  # not a path
    assert normalize_name("oci:~bob/layout:1") == "oci:~bob/layout:1"  # nobody looked up


def test_dropping_an_empty_folder_offers_to_copy_into_it(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    from PySide6.QtCore import QMimeData, QUrl

    window.open_location(sample.layout)
    show_image(qtbot, window, "spyglass-demo:1.0")
    folder = tmp_path / "empty"
    folder.mkdir()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.copying.dialogOpened, timeout=WAIT_MS) as opened:
        window.dropEvent(drop)
    dialog = opened.args[0]
    assert dialog.destination_edit.text() == f"oci:{folder}:spyglass-demo:1.0"
    dialog.reject()


def test_an_image_dropped_on_a_registry_is_copied_there(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, registry_binary: str) -> None:
    from tests.gui.guitools import add_registry, wait_tags
    from tests.helpers.registry import RegistryServer

    with RegistryServer(binary=registry_binary) as server:
        add_registry(qtbot, window, server.host, insecure=True)
        window.open_location(sample.layout, select=False)
        wait_listed(qtbot, window)
        payload = window.copying._place_image(window.places.find_image("tools:2024.1"))
        assert payload is not None
        registries = window.registries
        index = registries.model.registry_index(server.host)
        rect = registries.tree.visualRect(index)
        with qtbot.waitSignal(window.copying.dialogOpened, timeout=WAIT_MS) as opened:
            assert drop_on(registries.tree.viewport(), rect.center(), payload)
        dialog = opened.args[0]
        assert dialog.destination_edit.text() == f"docker://{server.host}/tools:2024.1"
        manager = window.copying.manager
        qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)  # platforms listed
        with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
            dialog.start()
        transfer = manager.transfers[0]
        wait_finished(qtbot, transfer)
        assert transfer.state is TransferState.DONE, transfer.error
        repo = registries.model.repository_index(server.host, "tools")
        qtbot.waitUntil(lambda: registries.model.repository_index(server.host,
                                                                  "tools").isValid(),
                        timeout=WAIT_MS)
        repo = registries.model.repository_index(server.host, "tools")
        registries.tree.expand(repo)
        registries.model.fetchMore(repo)
        assert wait_tags(qtbot, window, server.host, "tools") == ["2024.1"]

        # looking at that tag while another copy goes into its repository: the tag stays
        # selected and shown, the new tag joins it, the tag copied over gets its digest
        tag = registries.model.tag_index(server.host, "tools", "2024.1")
        with qtbot.waitSignal(window.image_view.imageShown, timeout=WAIT_MS):
            registries.tree.setCurrentIndex(tag)
        view = window.image_view
        view.tabs.setCurrentIndex(LAYERS)
        shown = view.state

        def copy_demo_to(destination: str) -> Transfer:
            copied = window.copying.start(CopyRequest(
                f"oci:{sample.layout}:spyglass-demo:1.0",
                f"docker://{server.host}/{destination}", CopyOptions(multi_arch="all")))
            wait_finished(qtbot, copied)
            assert copied.state is TransferState.DONE, copied.error
            assert copied.result is not None
            return copied

        copy_demo_to("tools:second")
        qtbot.waitUntil(lambda: registries.model.tag_index(
            server.host, "tools", "second").isValid(), timeout=WAIT_MS)
        assert registries.tree.currentIndex() == tag
        assert view.state is shown
        # a copy over the tag shown: the view shows what the tag names now, same tab
        with qtbot.waitSignal(view.imageShown, timeout=COPY_MS):
            again = copy_demo_to("tools:2024.1")
        assert registries.tree.currentIndex() == tag
        assert again.result is not None and view.state is not None
        assert view.state.entry.descriptor.digest == again.result.digest
        assert view.tabs.currentIndex() == LAYERS
        assert registries.model.node(tag).digest == again.result.digest


def test_the_dialog_carries_signatures_unless_told_not_to(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    window.open_location(sample.layout)
    show_image(qtbot, window, "spyglass-demo:1.0")
    dialog = window.copying.copy_current()
    assert dialog is not None
    assert dialog.signatures_box.isChecked()
    assert dialog.options().remove_signatures is False
    dialog.signatures_box.setChecked(False)
    assert dialog.options().remove_signatures is True
    dialog.reject()


@pytest.mark.parametrize(("chosen", "manifest_type"), [
    ("v2s2", "application/vnd.docker.distribution.manifest.v2+json"),
    ("oci", "application/vnd.oci.image.manifest.v1+json"),
])
def test_the_format_chosen_in_the_dialog_is_the_one_written(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        chosen: str, manifest_type: str) -> None:
    """The sample's OCI list, one platform of it, into a dir: folder (which keeps
    either format): Docker schema 2 or OCI, as picked."""
    window.open_location(sample.layout)
    show_image(qtbot, window, "spyglass-demo:1.0")
    dialog = window.copying.copy_current()
    assert dialog is not None
    out = tmp_path / "out"
    dialog.destination_edit.setText(f"dir:{out}")
    qtbot.waitUntil(lambda: len(dialog.platform_boxes) >= 2, timeout=WAIT_MS)  # listed
    dialog.choose_system()
    assert sum(box.isChecked() for _p, box in dialog.platform_boxes) == 1
    combo = dialog.format_combo
    combo.setCurrentIndex(combo.findData(chosen))
    assert dialog.options().format == chosen
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    manager = window.copying.manager
    with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    transfer = manager.transfers[0]
    assert transfer.request.options.format == chosen
    wait_finished(qtbot, transfer)
    assert transfer.state is TransferState.DONE, transfer.error
    manifest = json.loads((out / "manifest.json").read_bytes())
    assert manifest["mediaType"] == manifest_type
    config_type = manifest["config"]["mediaType"]
    assert ("docker" in config_type) == (chosen == "v2s2"), config_type


def test_names_suggested_from_archives_lose_the_whole_suffix() -> None:
    registry = DropPlace("registry", host="h:1")
    for archive, repository in (("app.tar.gz", "app"), ("app.tar.zst", "app"),
                                ("app.tgz", "app"), ("foo-.tar", "foo"),
                                ("app.tar.bz2", "app"), ("app.tar.xz", "app"),
                                ("app.tzst", "app"), ("app.txz", "app"),
                                ("My Images.oci.tar", "my-images")):
        suggested = suggest_destination(f"oci-archive:/x/{archive}", registry)
        assert suggested == f"docker://h:1/{repository}:latest"
        name, sentence = describe_name(suggested)  # what the dialog takes
        assert name is not None, sentence


def test_an_image_named_by_position_is_shown_with_its_label(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """``two.tar:@1`` does not say which image it is: the Transfers row and the Copy
    dialog add its label."""
    from spyglass.core.copy import CopyOptions
    from spyglass.gui.copy_jobs import CopyRequest
    from spyglass.gui.models.transfers import ROUTE_ROLE, TRANSFER, route_sides

    label = "docker.io/library/busybox:latest"
    request = CopyRequest(f"oci-archive:{tmp_path}/two.tar:@1", f"oci:{tmp_path}/l:b",
                          CopyOptions(), label=label)
    assert route_sides(request) == (label, "l as b")
    unlabelled = CopyRequest(f"oci-archive:{tmp_path}/two.tar:@1", f"oci:{tmp_path}/m",
                             CopyOptions())
    assert route_sides(unlabelled) == ("two.tar:@1", "m")
    # the row as drawn (the route delegate) and its tooltip say it too
    transfer = window.copying.manager.start(request)
    model = window.copying.panel.model
    row = model.index(model.rowCount() - 1, TRANSFER)
    assert model.data(row, ROUTE_ROLE)[0] == label
    assert f"two.tar:@1 ({label})" in model.data(row, Qt.ItemDataRole.ToolTipRole)
    window.copying.manager.cancel(transfer)
    dialog = window.copying.open_dialog(DraggedImage(request.source, label))
    assert (dialog.source_note.isVisibleTo(dialog), dialog.source_note.text()) == (True, label)
    dialog.close()


def test_replacing_a_compressed_archive_is_confirmed_without_decompressing_it(
        tmp_path: Path, sample: SampleFacts, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a compressed archive holds is learned only by decompressing all of it: the
    Copy dialog's check names the file it replaces, not its images."""
    import gzip

    from spyglass.core.cancel import CancelToken
    from spyglass.core.reference import parse_image_name
    from spyglass.core.transports import decompressed
    from spyglass.gui.copy_destinations import find_replaced

    plain = tmp_path / "app.tar"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"docker-archive:{plain}:tools:1")
    packed = tmp_path / "app.tar.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=1))

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("decompressed to confirm a replace")

    monkeypatch.setattr(decompressed, "DecompressedArchive", refused)
    from spyglass.core.transports import archive_output

    held = archive_output.images_held

    def not_the_packed_one(path: Path) -> list[str] | None:
        assert path != packed, "read a compressed archive whole to check it"
        return held(path)

    monkeypatch.setattr(archive_output, "images_held", not_the_packed_one)
    replaced = find_replaced(parse_image_name(f"docker-archive:{packed}"), CancelToken())
    assert replaced is not None and (replaced.path, replaced.images) == (str(packed), ())
    listed = find_replaced(parse_image_name(f"docker-archive:{plain}"), CancelToken())
    assert listed is not None and listed.images


def test_replacing_an_archive_of_one_image_under_several_names_names_one_image(
        sample: SampleFacts, tmp_path: Path) -> None:
    """As the copy counts them: one image, its other names said with it."""
    import tarfile

    from spyglass.core.cancel import CancelToken
    from spyglass.core.reference import parse_image_name
    from spyglass.gui.copy_destinations import find_replaced

    layout = tmp_path / "layout"
    for ref in ("v1", "v1.0", "latest"):
        core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{layout}:{ref}")
    archive = tmp_path / "app.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted(layout.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(layout)), recursive=False)
    replaced = find_replaced(parse_image_name(f"oci-archive:{archive}:v2"), CancelToken())
    assert replaced is not None and replaced.images == ("latest (also v1, v1.0)",)
    assert replaced.sentence().endswith(
        "the image in it, latest (also v1, v1.0), is not kept.")


def test_a_schema1_image_is_copied_from_the_window(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    from tests.helpers import require_tool
    from tests.integration.test_copy_roundtrip import run

    skopeo = require_tool("skopeo")
    legacy = tmp_path / "legacy"
    run(skopeo, "--insecure-policy", "copy", "--quiet", "--override-arch", "amd64",
        "--format", "v2s1", f"oci:{sample.layout}:spyglass-demo:1.0", f"dir:{legacy}")
    dialog = window.copying.open_dialog(DraggedImage(f"dir:{legacy}", "legacy"),
                                        DropPlace("oci", path=str(tmp_path / "new")))
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    assert "schema 1: converted to schema 2" in dialog.platforms_label.text()
    manager = window.copying.manager
    with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
        dialog.start()
        # it is read whole while planning: the dialog says so meanwhile
        assert not dialog.planning_label.isHidden()
    transfer = manager.transfers[-1]
    wait_finished(qtbot, transfer)
    assert transfer.state is TransferState.DONE, transfer.error
    assert any("schema 1" in note for note in transfer.snapshot.notes)
    index = json.loads((tmp_path / "new" / "index.json").read_bytes())
    assert index["manifests"][0]["mediaType"] == "application/vnd.oci.image.manifest.v1+json"


def test_a_copy_into_another_place_keeps_the_listing_the_view_reads_through(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for layout in (first, second):
        core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{layout}:tools")
    window.open_location(first, select=False)
    window.open_location(second, select=False)
    show_image(qtbot, window, "tools", 1)

    def copy_into(layout: Path, ref: str) -> None:
        with qtbot.waitSignal(window.places.locationRefreshed, timeout=COPY_MS):
            done = window.copying.start(CopyRequest(
                f"oci:{sample.layout}:tools:2024.1", f"oci:{layout}:{ref}", CopyOptions()))
        assert done.state is TransferState.DONE, done.error

    copy_into(second, "more")  # the view keeps reading tools through the old listing
    shown = window.places.location_node(window.places.index(1, 0))
    assert shown is not None and len(shown.retired) == 1
    copy_into(first, "more")  # another place: the listing the view reads through stays
    assert len(shown.retired) == 1
    assert window.image_view.state is not None


def test_the_dialog_offers_the_platforms_of_nested_lists(tmp_path: Path) -> None:
    """A list of lists: the images of the nested lists are offered (a copy chooses among
    them as inspect does), not "a list without images for a platform"."""
    from spyglass.core.cancel import CancelToken
    from spyglass.gui.copy_jobs import Openers, list_platforms

    builder = LayoutBuilder(tmp_path / "nested")
    images = {arch: builder.add_image(ImageSpec(architecture=arch))
              for arch in ("amd64", "arm64", "s390x")}
    inner = builder.add_index([images["amd64"], images["arm64"]])
    builder.tag(builder.add_index([inner, images["s390x"]]), "v1")
    listed = list_platforms(Openers(), f"oci:{tmp_path / 'nested'}:v1", CancelToken())
    assert listed.is_list
    assert [p.architecture for p in listed.platforms] == ["amd64", "arm64", "s390x"]
    assert [str(d) for d in listed.instances] == [
        images[a]["digest"] for a in ("amd64", "arm64", "s390x")]


def test_a_copy_into_a_pipe_no_program_reads_says_so_and_cancels(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """A copy into a named pipe no program reads said "Finishing…", then "Stalled", for
    as long as nobody read it: it says what it waits for, and Cancel ends the wait."""
    builder = LayoutBuilder(tmp_path / "src")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/f": b"piped"})])), "1")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    transfer = window.copying.start(CopyRequest(
        f"oci:{builder.root}:1", f"docker-archive:{fifo}:app:1", CopyOptions(), label="piped"))
    model = window.copying.panel.model
    qtbot.waitUntil(lambda: model.data(model.index(0, STATE)) ==
                    f'Waiting for a program to read the pipe "{fifo}"', timeout=WAIT_MS)
    window.copying.manager.cancel(transfer)
    qtbot.waitUntil(lambda: transfer.state is TransferState.CANCELLED, timeout=WAIT_MS)
    assert fifo.exists() and not fifo.is_file()


def test_a_copy_waiting_for_another_program_s_lock_says_so_and_cancels(
        qtbot: QtBot, window: MainWindow, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy into a layout another program held locked said "Planning…" for as long as
    that program held it, and Cancel took effect only once it let go (never, had it
    hung): the lock taken as the destination was opened did not heed the cancel."""
    import subprocess

    from spyglass.core.transports import file_lock

    monkeypatch.setattr(file_lock, "NOTED_WAIT", 0.2)
    builder = LayoutBuilder(tmp_path / "src")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/f": b"locked"})])), "1")
    destination = tmp_path / "dst"
    destination.mkdir()
    holder = subprocess.Popen(["flock", str(destination / "index.json.lock"), "sleep", "60"])
    try:
        qtbot.waitUntil(lambda: (destination / "index.json.lock").exists(), timeout=WAIT_MS)
        transfer = window.copying.start(CopyRequest(
            f"oci:{builder.root}:1", f"oci:{destination}:1", CopyOptions(), label="locked"))
        model = window.copying.panel.model
        qtbot.waitUntil(lambda: model.data(model.index(0, STATE)) ==
                        "Waiting · dst is being written by another program", timeout=WAIT_MS)
        window.copying.manager.cancel(transfer)
        qtbot.waitUntil(lambda: transfer.state is TransferState.CANCELLED, timeout=WAIT_MS)
        assert holder.poll() is None  # (it ended while the lock was held still)
    finally:
        holder.kill()
        holder.wait()
    # nothing of the copy left (the lock file is the other program's)
    assert os.listdir(destination) == ["index.json.lock"]


@pytest.mark.parametrize(("name", "label"), [
    ("docker://registry.example/team/app:1.10", "team/app:1.10"),
    ("docker://registry.example/team/app@sha256:" + "ab" * 32, "team/app@sha256:" + "ab" * 6),
    ("oci:/srv/layouts/main:tools:2024.1", "tools:2024.1"),
    ("oci:/srv/layouts/main", "main"),
    ("oci-archive:/tmp/demo.tar:@1", "demo.tar:@1"),
    ("docker-archive:/tmp/app.tar:team/app:1.0", "team/app:1.0"),
    ("dir:/tmp/tools-dir", "tools-dir"),
    ("nonsense", "nonsense"),
])
def test_a_typed_source_is_labelled_as_a_dragged_one(name: str, label: str) -> None:
    assert image_label(name) == label
