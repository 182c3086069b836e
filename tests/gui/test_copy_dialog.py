"""The Copy dialog as a person meets it: what it asks before replacing, when Copy is
allowed, how it lays itself out, and what can be typed or pasted into it."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QRadioButton, QWidget
from pytestqt.qtbot import QtBot

from spyglass.core.cancel import CancelToken
from spyglass.core.copy import CopyOptions
from spyglass.core.digest import Digest
from spyglass.core.errors import SpyglassError
from spyglass.core.platform import Platform
from spyglass.core.transports.base import ImageDestination, ImageSource
from spyglass.gui.colors import error_color, muted_color
from spyglass.gui.copy_drops import DraggedImage, DropPlace
from spyglass.gui.dialogs.copy import CopyDialog
from spyglass.gui.formatting import short_digest
from spyglass.gui.main_window import MainWindow
from spyglass.gui.on_screen import SCREEN_SHARE
from spyglass.gui.transfers import Transfer, TransferManager, TransferState
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import (
    COPY_MS,
    WAIT_MS,
    SampleFacts,
    add_registry,
    core_copy,
    drop_on_row,
    enter_on,
    show_image,
    text_color,
    wait_listed,
)
from tests.gui.scripted import TOP, FakeClock, ScriptedCopy, finish, start_scripted
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder
from tests.helpers.mounts import read_only_view

pytestmark = pytest.mark.gui


def open_places(qtbot: QtBot, window: MainWindow, *paths: Path) -> None:
    for row, path in enumerate(paths):
        window.open_location(path, select=False)
        wait_listed(qtbot, window, row)


def drop_sample_on_place(qtbot: QtBot, window: MainWindow, row: int,
                         label: str = "spyglass-demo:1.0") -> CopyDialog:
    """Drop the sample's image ``label`` (the place at row 0) on the place at ``row``."""
    places = window.places
    image = window.copying._place_image(places.find_image(label, 0))
    assert image is not None
    return drop_on_row(qtbot, window, window.tree, places.index(row, 0), image)


def wait_ready(qtbot: QtBot, dialog: CopyDialog) -> None:
    """Wait until the platforms are listed and the destination has been looked at."""
    qtbot.waitUntil(lambda: "Listing" not in dialog.platforms_label.text()
                    and getattr(dialog, "_destination_known", True), timeout=WAIT_MS)


# -- 1. replacing what is there asks first


def copy_to_done(qtbot: QtBot, dialog: CopyDialog, manager: TransferManager) -> Transfer:
    """Click Copy (once it may be: the destination looked at), and wait for the copy it
    adds to the Transfers panel to finish well."""
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    transfer = manager.transfers[-1]
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=COPY_MS)
    assert transfer.state is TransferState.DONE, transfer.error
    return transfer


@pytest.mark.parametrize("transport", ["oci-archive", "docker-archive", "dir"])
def test_a_copy_that_replaces_an_archive_or_dir_asks_first(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        transport: str) -> None:
    place = tmp_path / ("images.tar" if transport != "dir" else "image-dir")
    suffix = "" if transport == "dir" else ":tools:2024.1"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"{transport}:{place}{suffix}")
    open_places(qtbot, window, sample.layout, place)
    dialog = drop_sample_on_place(qtbot, window, 1)
    assert dialog.destination_edit.text().startswith(f"{transport}:{place}")
    wait_ready(qtbot, dialog)
    # nothing is replaced unasked: Copy waits for the confirmation, which names the loss
    assert not dialog.copy_button.isEnabled()
    assert dialog.replace_box.isVisible() and not dialog.replace_box.isChecked()
    assert str(place) in dialog.replace_note.text()
    if transport != "dir":
        assert "tools:2024.1" in dialog.replace_note.text()
    assert dialog.copy_button.text() == "Replace"
    manager = window.copying.manager
    dialog.start()
    assert manager.transfers == [] and dialog.isVisible()
    # ticked: the copy goes, and replaces what was there
    dialog.choose_system()  # a docker save tarball takes one platform
    dialog.replace_box.setChecked(True)
    assert dialog.copy_button.isEnabled()
    copy_to_done(qtbot, dialog, manager)  # done: no refusal came


@pytest.mark.parametrize("kind", ["dir over a layout", "archive over a text file",
                                  "layout over a text file", "layout over a folder of notes",
                                  "layout in a missing folder", "dir in a missing folder"])
def test_a_destination_a_copy_would_refuse_is_refused_at_once(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        kind: str) -> None:
    """Not a confirmation to replace what is there, then the refusal: the refusal, with
    Copy off, and nothing touched."""
    if kind.endswith("in a missing folder"):  # (a mistyped parent: said, not made)
        target = tmp_path / "out"
        target.mkdir()
        typed = target / "mirorr" / "app"
        destination = f"oci:{typed}:x" if kind.startswith("layout") else f"dir:{typed}"
        said = (f'The folder "{typed.parent}" that should hold {typed} does not exist; '
                "create it first.")
    elif kind.startswith("dir"):
        target = tmp_path / "layout"
        core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{target}:tools")
        destination, said = f"dir:{target}", "is not empty and is not a dir: image"
    elif kind == "layout over a text file":
        target = tmp_path / "notes.txt"
        target.write_text("my notes\n")
        destination, said = f"oci:{target}:x", "is not a folder; an oci: image is written"
    elif kind == "layout over a folder of notes":
        target = tmp_path / "notes"
        target.mkdir()
        (target / "todo.txt").write_text("my notes\n")
        destination, said = f"oci:{target}:x", "is not empty and is not an OCI image layout"
    else:
        target = tmp_path / "notes.txt"
        target.write_text("my notes\n")
        destination, said = f"docker-archive:{target}:team/x:1", "is not an image archive"
    def state() -> list[tuple[str, bytes]]:
        files = [target] if target.is_file() else sorted(target.rglob("*"))
        return [(str(p), p.read_bytes() if p.is_file() else b"") for p in files]

    before = state()
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "tools:2024.1")
    dialog = window.copying.open_dialog(window.copying.current_image(),
                                        destination=destination)
    with qtbot.waitSignal(dialog.destinationChecked, timeout=WAIT_MS):
        pass
    assert said in dialog.replace_note.text()
    assert dialog.replace_note.isVisible() and not dialog.replace_box.isVisible()
    assert text_color(dialog.replace_note) == error_color()
    # the grey description of the destination ("a new one if there is none yet") is not
    # shown above the refusal it contradicts
    assert not dialog.destination_note.isVisible()
    assert dialog.copy_button.text() == "Copy" and not dialog.copy_button.isEnabled()
    # a name being typed that is no name yet: its own sentence, not the old refusal too
    dialog.destination_edit.setText("bogus-transport:foo")
    assert not dialog.replace_note.isVisible() and dialog.destination_note.isVisible()
    assert not dialog.copy_button.isEnabled()
    dialog.destination_edit.setText(destination)  # back: looked at again, refused again
    qtbot.waitUntil(dialog.replace_note.isVisible, timeout=WAIT_MS)
    assert said in dialog.replace_note.text()
    assert not dialog.destination_note.isVisible()
    dialog.destination_edit.setText(f"dir:{tmp_path / 'new'}")  # another: Copy again
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    assert not dialog.replace_note.isVisible() and dialog.destination_note.isVisible()
    dialog.reject()
    assert state() == before


def test_a_layout_on_a_read_only_filesystem_is_refused_at_once(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """As an archive or dir: image there is: Copy was on, and the copy then failed."""
    place = tmp_path / "place"
    place.mkdir()
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{place / 'layout'}:tools")
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "tools:2024.1")
    with read_only_view(place, tmp_path / "ro") as seen:
        dialog = window.copying.open_dialog(window.copying.current_image(),
                                            destination=f"oci:{seen / 'layout'}:x")
        with qtbot.waitSignal(dialog.destinationChecked, timeout=WAIT_MS):
            pass
        assert dialog.replace_note.text() == \
            f'Cannot write "{seen / "layout"}": Read-only file system.'
        assert text_color(dialog.replace_note) == error_color()
        assert not dialog.copy_button.isEnabled()
        dialog.reject()


def test_the_dialog_is_as_wide_as_its_font_needs(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> None:
    """A larger font widens it (at 15 pt the source's name showed only its end), as far
    as its screen has room."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    image = DraggedImage(f"oci:{sample.layout}:spyglass-demo:1.0", "spyglass-demo:1.0")
    font = app.font()
    try:
        bigger = app.font()
        bigger.setPointSizeF(font.pointSizeF() * 1.6)
        app.setFont(bigger)
        dialog = window.copying.open_dialog(image)
        wanted = 85 * dialog.fontMetrics().averageCharWidth()
        room = dialog.screen().availableGeometry().width()
        assert dialog.width() >= min(wanted, int(room * SCREEN_SHARE)) and wanted > 620
        assert dialog.width() <= room
        dialog.reject()
    finally:
        app.setFont(font)


def test_a_docker_archive_destination_offers_this_systems_platform(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """A docker save tarball holds one image: the dialog ticks the one for this machine
    rather than every platform, and its platforms are one choice (radio buttons, no
    "All") while the destination is such an archive."""
    archive = tmp_path / "new.tar"
    image = DraggedImage(f"oci:{sample.layout}:spyglass-demo:1.0", "spyglass-demo:1.0")
    dialog = window.copying.open_dialog(image, destination=f"docker-archive:{archive}:demo:1")
    wait_ready(qtbot, dialog)
    ticked = [str(p) for p, box in dialog.platform_boxes if box.isChecked()]
    assert len(ticked) == 1, ticked
    assert not dialog.all_button.isEnabled()
    boxes = [box for _p, box in dialog.platform_boxes]
    assert all(isinstance(box, QRadioButton) for box in boxes)  # drawn as one choice
    # the shortcuts' tooltips speak of one choice, and say why All is off
    assert dialog.system_button.toolTip().startswith("Choose the image for this machine")
    assert dialog.all_button.toolTip() == ("A docker-archive holds one image: choose one "
                                           "platform")
    other = next(box for box in boxes if not box.isChecked())
    qtbot.mouseClick(other, Qt.MouseButton.LeftButton)
    assert [box for box in boxes if box.isChecked()] == [other]
    qtbot.mouseClick(other, Qt.MouseButton.LeftButton)  # the one chosen stays chosen
    assert other.isChecked()
    dialog.choose_system()  # "This System" still chooses this machine's alone
    assert [str(p) for p, box in dialog.platform_boxes if box.isChecked()] == ticked
    # another kind of destination holds a list: check boxes, independent again
    dialog.destination_edit.setText(f"oci:{tmp_path / 'layout'}:demo")
    boxes = [box for _p, box in dialog.platform_boxes]
    assert all(isinstance(box, QCheckBox) for box in boxes)
    assert [str(p) for p, box in dialog.platform_boxes if box.isChecked()] == ticked
    assert dialog.all_button.isEnabled()
    assert dialog.system_button.toolTip().startswith("Tick only the image for this machine")
    assert dialog.all_button.toolTip() == "Tick every platform"
    dialog.choose_all()
    assert all(box.isChecked() for box in boxes)
    # and back: one is kept, this system's
    dialog.destination_edit.setText(f"docker-archive:{archive}:demo:1")
    boxes = [box for _p, box in dialog.platform_boxes]
    assert all(isinstance(box, QRadioButton) for box in boxes)
    assert [str(p) for p, box in dialog.platform_boxes if box.isChecked()] == ticked


def test_another_destination_needs_its_own_confirmation(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    first, second = tmp_path / "first.tar", tmp_path / "second.tar"
    for archive in (first, second):
        core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci-archive:{archive}:tools:2024.1")
    open_places(qtbot, window, sample.layout, first)
    dialog = drop_sample_on_place(qtbot, window, 1)
    wait_ready(qtbot, dialog)
    dialog.replace_box.setChecked(True)
    assert dialog.copy_button.isEnabled()
    with qtbot.waitSignal(dialog.destinationChecked, timeout=WAIT_MS):
        dialog.destination_edit.setText(f"oci-archive:{second}:demo")
    assert not dialog.replace_box.isChecked() and not dialog.copy_button.isEnabled()
    # a new archive replaces nothing: no question
    dialog.destination_edit.setText(f"oci-archive:{tmp_path / 'new.tar'}:demo")
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    assert dialog.replace_box.isHidden() and dialog.copy_button.text() == "Copy"
    dialog.reject()


def test_an_archive_written_into_a_device_or_a_pipe_is_no_file_replaced(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """``docker-archive:/dev/full:a:1`` asked to confirm that "Copying here replaces the
    file /dev/full.": a character device or a pipe is written into, and stays what it
    is; nothing to confirm. A disk's content is written over: asked, and said so."""
    import os
    import stat

    from spyglass.gui.copy_destinations import Replaced

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    layout = tmp_path / "layout"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{layout}:tools")
    open_places(qtbot, window, sample.layout, layout)
    dialog = drop_sample_on_place(qtbot, window, 1)
    wait_ready(qtbot, dialog)
    for destination in ("docker-archive:/dev/full:a:1", f"oci-archive:{fifo}:a"):
        with qtbot.waitSignal(dialog.destinationChecked, timeout=WAIT_MS):
            dialog.destination_edit.setText(destination)
        assert dialog.replace_box.isHidden() and dialog.replace_note.isHidden(), destination
        assert dialog.copy_button.text() == "Copy"
    assert not fifo.is_file()
    disks = [path for path in (Path("/dev/loop0"), Path("/dev/sda"), Path("/dev/vda"))
             if path.exists() and stat.S_ISBLK(path.stat().st_mode)]
    if disks:
        with qtbot.waitSignal(dialog.destinationChecked, timeout=WAIT_MS):
            dialog.destination_edit.setText(f"docker-archive:{disks[0]}:a:1")
        assert dialog.replace_box.isVisible() and not dialog.copy_button.isEnabled()
        assert dialog.replace_note.text() == (
            f"Copying here writes the archive into the device {disks[0]}, over what it "
            "holds.")
    else:
        assert Replaced("/dev/sdz", "device", ()).sentence() == (
            "Copying here writes the archive into the device /dev/sdz, over what it holds.")
    dialog.reject()


def test_copying_into_an_oci_layout_adds_a_tag_without_asking(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{layout}:tools:2024.1")
    open_places(qtbot, window, sample.layout, layout)
    dialog = drop_sample_on_place(qtbot, window, 1)
    wait_ready(qtbot, dialog)
    assert dialog.copy_button.isEnabled() and dialog.copy_button.text() == "Copy"
    assert dialog.replace_box.isHidden() and dialog.replace_note.isHidden()
    dialog.reject()


def test_a_layout_there_already_is_said_to_be_one_once_looked_at(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """Dropped on a layout, the dialog said "The OCI image layout in … (a new one if there
    is none yet)" although it had looked, and it was one: once looked at, it says an
    existing layout; an empty folder, typed or dropped on, may still become one."""
    layout, empty = tmp_path / "layout", tmp_path / "empty"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{layout}:tools:2024.1")
    empty.mkdir()
    open_places(qtbot, window, sample.layout, layout, empty)
    dialog = drop_sample_on_place(qtbot, window, 1)
    wait_ready(qtbot, dialog)
    said = f"The existing OCI image layout in {layout}, named spyglass-demo:1.0."
    assert dialog.destination_note.text() == said
    assert dialog.destination_note.isVisible()
    assert dialog.destination_edit.accessibleDescription() == said
    # a bare path to it says so too, once the disk is looked at
    dialog.destination_edit.setText(str(layout))
    qtbot.waitUntil(lambda: dialog.destination_note.text() == (
        f"Taken as oci:{layout}:spyglass-demo:1.0: the existing OCI image layout in "
        f"{layout}, named spyglass-demo:1.0."), timeout=WAIT_MS)
    # an empty folder becomes one: said as before
    dialog.destination_edit.setText(f"oci:{empty}:x")
    qtbot.waitUntil(lambda: dialog._destination_known, timeout=WAIT_MS)
    assert dialog.destination_note.text() == (
        f"The OCI image layout in {empty} (a new one if there is none yet), named x.")
    dialog.reject()
    dialog = drop_sample_on_place(qtbot, window, 2)
    wait_ready(qtbot, dialog)
    assert "(a new one if there is none yet)" in dialog.destination_note.text()
    dialog.reject()


def demo_dialog(qtbot: QtBot, window: MainWindow, sample: SampleFacts,
                tmp_path: Path) -> CopyDialog:
    """The Copy dialog for the sample's list, into a new layout."""
    open_places(qtbot, window, sample.layout)
    image = window.copying._place_image(window.places.find_image("spyglass-demo:1.0", 0))
    return window.copying.open_dialog(image, DropPlace("oci", path=str(tmp_path / "x")))


def test_every_platform_of_a_list_starts_ticked(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """The window copies a whole list unless told (the README says so, beside the
    command line, which copies this system's alone)."""
    dialog = demo_dialog(qtbot, window, sample, tmp_path)
    wait_ready(qtbot, dialog)
    assert len(dialog.platform_boxes) >= 2
    assert all(box.isChecked() for _platform, box in dialog.platform_boxes)
    options = dialog.options()  # the list whole, as copy --all
    assert options.multi_arch == "all" and options.platforms == ()
    dialog.reject()


def test_a_docker_archive_typed_and_taken_back_gives_the_platforms_back(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """The archive's one choice untick boxes; once the destination is no archive again,
    they are ticked as before (a registry copy would otherwise drop platforms unseen),
    unless a box was changed in between."""
    dialog = demo_dialog(qtbot, window, sample, tmp_path)
    wait_ready(qtbot, dialog)
    layout = dialog.destination_edit.text()
    dialog.destination_edit.setText(f"docker-archive:{tmp_path / 'd.tar'}:x:1")
    assert sum(box.isChecked() for _p, box in dialog.platform_boxes) == 1
    dialog.destination_edit.setText(layout)
    boxes = [box for _p, box in dialog.platform_boxes]
    assert all(isinstance(box, QCheckBox) and box.isChecked() for box in boxes)
    assert dialog.platforms_label.text().endswith("copy these:")
    options = dialog.options()
    assert options.multi_arch == "all" and options.platforms == ()
    # some unticked first: those come back, not all
    boxes[0].setChecked(False)
    kept = [str(p) for p, box in dialog.platform_boxes if box.isChecked()]
    dialog.destination_edit.setText(f"docker-archive:{tmp_path / 'd.tar'}:x:1")
    dialog.destination_edit.setText(layout)
    assert [str(p) for p, box in dialog.platform_boxes if box.isChecked()] == kept
    # a platform chosen while the archive was the destination is kept as chosen
    dialog.destination_edit.setText(f"docker-archive:{tmp_path / 'd.tar'}:x:1")
    other = next(box for _p, box in dialog.platform_boxes if not box.isChecked())
    other.setChecked(True)
    chosen = [str(p) for p, box in dialog.platform_boxes if box.isChecked()]
    dialog.destination_edit.setText(layout)
    assert [str(p) for p, box in dialog.platform_boxes if box.isChecked()] == chosen
    assert len(chosen) == 1
    dialog.reject()


def test_enter_in_the_destination_copies_and_ticks_nothing(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    dialog = demo_dialog(qtbot, window, sample, tmp_path)
    wait_ready(qtbot, dialog)
    dialog.choose_all()
    ticked = [box.isChecked() for _platform, box in dialog.platform_boxes]
    assert all(ticked)
    dialog.destination_edit.setFocus()
    assert dialog.copy_button.isDefault() and not dialog.system_button.isDefault()
    manager = window.copying.manager
    with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
        qtbot.keyClick(dialog.destination_edit, Qt.Key.Key_Return)
    assert [box.isChecked() for _platform, box in dialog.platform_boxes] == ticked
    transfer = manager.transfers[-1]
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=COPY_MS)
    assert transfer.state is TransferState.DONE, transfer.error


def test_enter_on_cancel_cancels(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """Enter on Cancel, tabbed to, copied: Cancel never took the default from Copy."""
    from PySide6.QtWidgets import QDialogButtonBox

    dialog = demo_dialog(qtbot, window, sample, tmp_path)
    wait_ready(qtbot, dialog)
    cancel = dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    assert cancel is not None
    with qtbot.waitSignal(dialog.rejected, timeout=WAIT_MS):
        enter_on(qtbot, cancel)
    assert window.copying.manager.transfers == []
    assert not dialog.isVisible()


def test_enter_on_all_ticks_every_platform_and_copies_nothing(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """Enter on All (or This System), tabbed to, copied, where it presses the button as on
    any focused button (and as on Cancel)."""
    dialog = demo_dialog(qtbot, window, sample, tmp_path)
    wait_ready(qtbot, dialog)
    dialog.choose_system()
    assert not all(box.isChecked() for _platform, box in dialog.platform_boxes)
    enter_on(qtbot, dialog.all_button)
    assert all(box.isChecked() for _platform, box in dialog.platform_boxes)
    assert dialog.isVisible() and window.copying.manager.transfers == []
    dialog.destination_edit.setFocus()  # and Enter in a field copies again
    assert dialog.copy_button.isDefault() and not dialog.all_button.isDefault()
    # a click leaves the focus where it was (Enter pressed it again, copying nothing)
    qtbot.mouseClick(dialog.system_button, Qt.MouseButton.LeftButton)
    assert dialog.destination_edit.hasFocus() and dialog.copy_button.isDefault()


def test_only_what_the_destination_takes_is_offered(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    from PySide6.QtGui import QStandardItemModel

    dialog = demo_dialog(qtbot, window, sample, tmp_path)
    wait_ready(qtbot, dialog)

    def offered(combo: object) -> list[str]:
        model = combo.model()  # type: ignore[attr-defined]
        assert isinstance(model, QStandardItemModel)
        return [model.item(r).text() for r in range(model.rowCount())
                if model.item(r).isEnabled()]

    dialog.format_combo.setCurrentIndex(2)  # Docker schema 2, for a layout: given up
    assert dialog.format_combo.currentData() is None
    assert offered(dialog.format_combo) == ["Keep the source's", "OCI"]
    assert "Docker schema 2" not in offered(dialog.format_combo)
    dialog.destination_edit.setText(f"docker-archive:{tmp_path / 'a.tar'}")
    assert offered(dialog.format_combo) == ["Keep the source's", "Docker schema 2"]
    assert offered(dialog.compression_combo) == ["Automatic", "None"]
    model = dialog.compression_combo.model()
    assert "plain tars" in model.item(1).toolTip()
    dialog.destination_edit.setText(f"dir:{tmp_path / 'd'}")  # every choice again
    assert len(offered(dialog.format_combo)) == 3
    assert len(offered(dialog.compression_combo)) == 4
    assert "every registry and runtime takes" in model.item(1).toolTip()  # its own again
    dialog.reject()


def test_tab_goes_through_the_platforms_where_they_show(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    dialog = demo_dialog(qtbot, window, sample, tmp_path)
    wait_ready(qtbot, dialog)
    boxes = [box for _platform, box in dialog.platform_boxes]
    assert len(boxes) >= 2
    # pressed as a person presses it: every box is a stop of its own
    dialog.activateWindow()
    dialog.destination_edit.setFocus()
    qtbot.waitUntil(dialog.destination_edit.hasFocus, timeout=WAIT_MS)
    order = []
    for _ in range(len(boxes) + 4):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    assert order == [dialog.browse_button, *boxes, dialog.system_button, dialog.all_button,
                     dialog.format_combo]
    # a docker-archive holds one image: the boxes are one choice, still a stop each
    dialog.destination_edit.setText(f"docker-archive:{tmp_path / 'a.tar'}:demo:1")
    assert "choose one" in dialog.platforms_label.text()
    boxes = [box for _platform, box in dialog.platform_boxes]
    dialog.destination_edit.setFocus()
    qtbot.keyClick(dialog.destination_edit, Qt.Key.Key_Tab)  # (Browse…)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is boxes[1]
    qtbot.keyClick(boxes[1], Qt.Key.Key_Space)
    assert [box.isChecked() for box in boxes] == [i == 1 for i in range(len(boxes))]
    qtbot.keyClick(boxes[1], Qt.Key.Key_Space)  # the one ticked stays ticked
    assert boxes[1].isChecked()
    # "Platforms" has a mnemonic like every other label; it goes to the first box
    assert dialog.platforms_caption.text() == "P&latforms:"
    assert dialog.platforms_caption.buddy() is boxes[0]
    dialog.reject()


def test_a_name_that_cannot_be_used_is_said_in_the_error_colour(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    dialog = demo_dialog(qtbot, window, sample, tmp_path)
    assert text_color(dialog.destination_note) == muted_color()  # a description: muted
    dialog.destination_edit.setText("team/app:1")
    assert "unknown transport" in dialog.destination_note.text()
    assert text_color(dialog.destination_note) == error_color()
    assert not dialog.copy_button.isEnabled()
    dialog.destination_edit.setText("")  # a hint of what to type: muted again
    assert text_color(dialog.destination_note) == muted_color()
    dialog.reject()


TRANSPORT_TYPOS = ("ocu:/tmp/x", "oci-arcive:/tmp/x.tar", "dri:/tmp/d")


def test_a_mistyped_transport_is_said_to_be_one_not_taken_as_a_registry(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        demo_registry: RegistryFacts) -> None:
    """``oci-arcive:/tmp/x.tar`` is a transport mistyped: said as the command line says
    it, in the destination and in Copy Image by Name…'s source, not read as the registry
    "oci-arcive:" (what follows its colon is no port); nor pointed to the window's
    registries (HOST/oci-arcive:/tmp/x.tar is no name either)."""
    add_registry(qtbot, window, demo_registry.host)
    dialog = demo_dialog(qtbot, window, sample, tmp_path)
    for typed in TRANSPORT_TYPOS:
        dialog.destination_edit.clear()
        qtbot.keyClicks(dialog.destination_edit, typed)
        said = dialog.destination_note.text()
        assert f'unknown transport "{typed.partition(":")[0]}"' in said, said
        assert "registry" not in said, said
        assert text_color(dialog.destination_note) == error_color()
        assert not dialog.copy_button.isEnabled()
    # a registry with its port is still taken as one
    dialog.destination_edit.setText(f"{demo_registry.host}/mirror/app:1")
    assert dialog.destination_note.text().startswith(
        f"Taken as docker://{demo_registry.host}/mirror/app:1")
    dialog.reject()
    source = window.copying.open_dialog(None)
    for typed in TRANSPORT_TYPOS:
        source.source_edit.clear()
        qtbot.keyClicks(source.source_edit, typed)
        said = source.source_note.text()
        assert f'unknown transport "{typed.partition(":")[0]}"' in said, said
        assert "registry" not in said, said
    source.reject()


# -- 2. Copy waits for the platforms


class HeldSource:
    """The window's source opener, held until the test lets it go (or made to fail)."""

    def __init__(self, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                 error: str = "", *, always: bool = False) -> None:
        self.release = threading.Event()
        self._original = window.copying.openers.source
        self._error = error
        self._always = always
        monkeypatch.setattr(window.copying.openers, "source", self)

    def __call__(self, name: str, cancel: CancelToken) -> ImageSource:
        self.release.wait(WAIT_MS / 1000)
        if self._error:
            error = self._error
            if not self._always:
                self._error = ""  # only the first opening fails
            raise SpyglassError(error)
        return self._original(name, cancel)


def dragged_platform(qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> DraggedImage:
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    payload = window.copying._platform_image(view.platforms.model.index(1, 0))
    assert payload is not None and payload.platform
    return payload


def test_copy_waits_until_the_platforms_are_listed(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    payload = dragged_platform(qtbot, window, sample)
    held = HeldSource(window, monkeypatch)
    dialog = window.copying.open_dialog(payload, DropPlace("oci", path=str(tmp_path / "x")))
    assert "Listing" in dialog.platforms_label.text()
    # a click now would copy every platform, not the one dragged
    assert not dialog.copy_button.isEnabled()
    manager = window.copying.manager
    dialog.start()
    with qtbot.waitSignal(dialog.platformsListed, timeout=WAIT_MS):
        held.release.set()
    assert manager.transfers == []
    # (the destination's own checks may still be out on a busy machine: they enable it)
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    options = manager.transfers[0].request.options
    assert [str(p) for p in options.platforms] == [payload.platform]
    assert options.multi_arch == "system"


def test_a_dragged_platform_is_kept_when_the_platforms_cannot_be_listed(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    payload = dragged_platform(qtbot, window, sample)
    held = HeldSource(window, monkeypatch, error="The layout could not be read.")
    held.release.set()
    dialog = window.copying.open_dialog(payload, DropPlace("oci", path=str(tmp_path / "x")))
    qtbot.waitUntil(lambda: "could not be listed" in dialog.platforms_label.text(),
                    timeout=WAIT_MS)
    # (the destination's own check may still be out: it enables Copy when it is in)
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    assert text_color(dialog.platforms_label) == error_color()  # said as the error it is
    options = dialog.options()
    assert [str(p) for p in options.platforms] == [payload.platform]
    assert options.multi_arch == "system"
    dialog.reject()


def test_a_source_that_cannot_be_read_is_said_once(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    payload = dragged_platform(qtbot, window, sample)
    held = HeldSource(window, monkeypatch, error="Cannot reach the registry r.example: "
                      "connection refused.", always=True)
    held.release.set()
    dialog = window.copying.open_dialog(payload, DropPlace("oci", path=str(tmp_path / "x")))
    qtbot.waitUntil(lambda: "could not be listed" in dialog.platforms_label.text(),
                    timeout=WAIT_MS)
    assert dialog.platforms_label.text() == ("The platforms could not be listed: cannot "
                                             "reach the registry r.example: connection "
                                             "refused.")
    wait_ready(qtbot, dialog)
    dialog.start()
    qtbot.waitUntil(lambda: bool(dialog.error_text), timeout=WAIT_MS)
    assert "Cannot reach the registry r.example" in dialog.error_text
    assert dialog.platforms_label.text() == "The platforms could not be listed."
    dialog.reject()


def test_the_platforms_caption_sits_at_the_top_of_its_row(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A sentence of two lines in the Platforms row had its caption between the lines;
    the other captions sit at the top of their field."""
    payload = dragged_platform(qtbot, window, sample)
    held = HeldSource(window, monkeypatch, error="Cannot reach the registry r.example: "
                      "connection refused, " + "and more words said about it " * 8,
                      always=True)
    held.release.set()
    dialog = window.copying.open_dialog(payload, DropPlace("oci", path=str(tmp_path / "x")))
    dialog.show()
    qtbot.waitUntil(lambda: "could not be listed" in dialog.platforms_label.text(),
                    timeout=WAIT_MS)
    label = dialog.platforms_label
    qtbot.waitUntil(lambda: label.height() > 2 * label.fontMetrics().height(),
                    timeout=1000)
    caption = dialog.platforms_caption

    def first_ink(widget: QWidget) -> int:
        """The dialog's y of the widget's topmost pixel unlike its top-left one."""
        image = widget.grab().toImage()
        background = image.pixel(0, 0)
        top = next(y for y in range(image.height())
                   if any(image.pixel(x, y) != background for x in range(image.width())))
        return widget.mapTo(dialog, QPoint(0, 0)).y() + round(top / image.devicePixelRatio())

    assert abs(first_ink(caption) - first_ink(label)) <= 3
    dialog.reject()


def test_the_name_offered_for_a_dragged_platform_follows_the_platforms_ticked(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """One platform dragged is named after it; ticking All names the copy as the list
    (under the platform's name, the whole list would pass for one platform); another
    single platform, after that one. A name typed over stays."""
    payload = dragged_platform(qtbot, window, sample)
    place = DropPlace("oci", path=str(tmp_path / "x"))
    dialog = window.copying.open_dialog(payload, place)
    wait_ready(qtbot, dialog)
    suffix = payload.platform.replace("/", "-")
    folder = tmp_path / "x"
    assert dialog.destination_edit.text() == f"oci:{folder}:spyglass-demo:1.0-{suffix}"
    assert dialog.request().label == f"spyglass-demo:1.0 ({payload.platform})"
    qtbot.mouseClick(dialog.all_button, Qt.MouseButton.LeftButton)
    assert dialog.destination_edit.text() == f"oci:{folder}:spyglass-demo:1.0"
    assert dialog.request().label == "spyglass-demo:1.0"
    assert dialog.source_note.text() == "spyglass-demo:1.0"  # the caption follows too
    others = [(p, box) for p, box in dialog.platform_boxes if str(p) != payload.platform]
    for platform, box in dialog.platform_boxes:
        box.setChecked(platform == others[0][0])
    other = str(others[0][0])
    assert dialog.destination_edit.text() == \
        f"oci:{folder}:spyglass-demo:1.0-{other.replace('/', '-')}"
    assert dialog.request().label == f"spyglass-demo:1.0 ({other})"
    others[1][1].setChecked(True)
    assert dialog.destination_edit.text() == f"oci:{folder}:spyglass-demo:1.0"
    assert dialog.request().label == f"spyglass-demo:1.0 (2 of {len(dialog.platform_boxes)} " \
        "platforms)"
    dialog.destination_edit.setText(f"oci:{folder}:mine")
    qtbot.mouseClick(dialog.all_button, Qt.MouseButton.LeftButton)
    assert dialog.destination_edit.text() == f"oci:{folder}:mine"
    dialog.reject()


# -- 3. the dialog grows with what it shows


def layout_problems(dialog: CopyDialog) -> list[str]:
    """Rows that overlap, and widgets squashed below what their text needs."""
    widgets: list[QWidget] = [
        dialog.source_edit, dialog.destination_edit, dialog.destination_note,
        dialog.replace_note, dialog.replace_box, dialog.platforms_label,
        *(box for _p, box in dialog.platform_boxes), dialog.system_button, dialog.all_button,
        dialog.format_combo, dialog.compression_combo, dialog.preserve_box,
        dialog.signatures_box, dialog.parallel_spin, dialog.error_label, dialog.copy_button]
    shown = [w for w in widgets if w.isVisible()]
    problems = []
    for widget in shown:
        needed = widget.heightForWidth(widget.width()) if isinstance(widget, QLabel) \
            and widget.wordWrap() else widget.minimumSizeHint().height()
        if widget.height() < needed:
            problems.append(f"{widget.objectName() or type(widget).__name__} "
                            f"{widget.text() if hasattr(widget, 'text') else ''!r}: "
                            f"{widget.height()} px high, needs {needed}")
    rects = [(w, QRect(w.mapTo(dialog, QPoint(0, 0)), w.size())) for w in shown]
    for i, (first, a) in enumerate(rects):
        for second, b in rects[i + 1:]:
            if a.intersects(b):
                problems.append(f"{type(first).__name__} overlaps {type(second).__name__}")
    return problems


def test_the_dialog_grows_when_platforms_and_a_refusal_arrive(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    archive = tmp_path / "images.tar"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci-archive:{archive}:tools:2024.1")
    open_places(qtbot, window, sample.layout, archive)
    dialog = drop_sample_on_place(qtbot, window, 1)
    wait_ready(qtbot, dialog)
    assert dialog.platform_boxes
    qtbot.waitUntil(lambda: not layout_problems(dialog), timeout=1000)
    dialog.replace_box.setChecked(True)
    dialog.compression_combo.setCurrentIndex(dialog.compression_combo.findData("zstd"))
    dialog.preserve_box.setChecked(True)
    with qtbot.waitSignal(dialog.refused, timeout=WAIT_MS):
        dialog.start()
    assert dialog.error_label.isVisible()
    qtbot.waitUntil(lambda: not layout_problems(dialog), timeout=1000)
    dialog.reject()


def test_the_dialog_shrinks_back_when_a_note_gets_shorter(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """A destination whose note wraps onto several lines makes the dialog taller; a short
    one makes it as short again, rather than leaving a band above the heading. A height
    the person chose is kept, and what is spare stays below the fields."""
    dialog = demo_dialog(qtbot, window, sample, tmp_path)
    dialog.show()
    wait_ready(qtbot, dialog)
    heading_y = dialog.heading.y()
    short = f"dir:{tmp_path / 'd'}"
    dialog.destination_edit.setText(short)
    qtbot.waitUntil(lambda: not dialog._fitter._pending, timeout=1000)
    first = dialog.height()
    dialog.destination_edit.setText(f"oci:{tmp_path / ('long-folder-name-' * 12)}:demo")
    qtbot.waitUntil(lambda: dialog.height() > first, timeout=1000)
    dialog.destination_edit.setText(short)
    qtbot.waitUntil(lambda: dialog.height() == first, timeout=1000)
    assert dialog.heading.y() == heading_y
    # made taller by hand: the height stays, and the heading at the top
    dialog.resize(dialog.width(), first + 120)
    qtbot.waitUntil(lambda: dialog.height() == first + 120, timeout=1000)
    dialog.destination_edit.setText(f"dir:{tmp_path / 'e'}")
    qtbot.wait(50)
    assert dialog.height() == first + 120
    assert dialog.heading.y() == heading_y
    dialog.reject()


def test_a_disk_too_small_for_the_copy_is_refused_in_the_dialog(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same check as the command line's, before the first byte: the dialog says it
    and stays open, and no copy starts."""
    import os

    disk = tmp_path / "disk"
    disk.mkdir()
    real = os.statvfs

    def small(path: object) -> os.statvfs_result:
        found = real(path)  # type: ignore[arg-type]
        if not str(path).startswith(str(disk)):
            return found
        fields = list(found)
        fields[0] = fields[1] = 4096
        fields[3] = fields[4] = 0  # full
        return os.statvfs_result(fields)

    monkeypatch.setattr(os, "statvfs", small)
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "tools:2024.1")
    dialog = window.copying.open_dialog(window.copying.current_image(),
                                        destination=f"oci:{disk / 'layout'}:x")
    wait_ready(qtbot, dialog)
    count = len(window.copying.manager.transfers)
    with qtbot.waitSignal(dialog.refused, timeout=WAIT_MS):
        dialog.start()
    assert dialog.error_text.startswith(
        f'There is no room for this copy in "oci:{disk / "layout"}:x": it needs about '), \
        dialog.error_text
    assert "which has 0 B free" in dialog.error_text
    assert dialog.isVisible() and len(window.copying.manager.transfers) == count
    dialog.reject()


# -- 4. pasted names, and copying by name from the keyboard


def test_a_pasted_registry_reference_is_taken_as_a_docker_name(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> None:
    window.open_location(sample.layout)
    show_image(qtbot, window, "spyglass-demo:1.0")
    dialog = window.copying.copy_current()
    assert dialog is not None
    dialog.destination_edit.setFocus()
    QApplication.clipboard().setText("localhost:5000/team/app:1.0")  # as Copy Reference does
    qtbot.keyClick(dialog.destination_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert dialog.destination_edit.text() == "localhost:5000/team/app:1.0"
    note = dialog.destination_note.text()
    assert note.startswith("Taken as docker://localhost:5000/team/app:1.0"), note
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    assert dialog.request().destination == "docker://localhost:5000/team/app:1.0"
    for bare in ("registry.example/app@sha256:" + "a" * 64, "localhost/app"):
        dialog.destination_edit.setText(bare)
        assert dialog.request().destination == f"docker://{bare}"
    # a name with no registry in it is not guessed at
    dialog.destination_edit.setText("team/app:1.0")
    assert not dialog.copy_button.isEnabled()
    dialog.reject()


def test_a_bare_folder_path_is_taken_as_a_layout_there(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """A folder path typed without ``oci:`` turned Copy off with a syntax lesson: it is
    taken as an OCI layout in that folder, the image named as a drop on the folder names
    it, and the dialog says so as it does for a bare registry reference."""
    window.open_location(sample.layout)
    show_image(qtbot, window, "spyglass-demo:1.0")
    dialog = window.copying.copy_current()
    assert dialog is not None
    folder = tmp_path / "copies" / "out-folder"
    folder.parent.mkdir()  # (the layout's folder is made, not the one above it)
    dialog.destination_edit.setText(str(folder))
    taken = f"oci:{folder}:spyglass-demo:1.0"
    # (the disk is looked at first: an archive or a dir: image there is taken as that)
    qtbot.waitUntil(lambda: dialog.destination_note.text().startswith("Taken as"),
                    timeout=WAIT_MS)
    note = dialog.destination_note.text()
    assert note.startswith(f"Taken as {taken}: the OCI image layout in {folder}"), note
    assert text_color(dialog.destination_note) == muted_color()  # not an error
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    assert dialog.request().destination == taken
    transfer = copy_to_done(qtbot, dialog, window.copying.manager)
    assert transfer.request.destination == taken
    assert json.loads((folder / "index.json").read_text())["manifests"][0][
        "annotations"]["org.opencontainers.image.ref.name"] == "spyglass-demo:1.0"


def test_browse_picks_a_folder_and_names_the_image_there(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """There was no way to pick a folder: Browse… chooses one, and the field gets the
    whole name, whose tag can then be edited."""
    from PySide6.QtWidgets import QFileDialog

    window.open_location(sample.layout)
    show_image(qtbot, window, "tools:2024.1")
    dialog = window.copying.copy_current()
    assert dialog is not None
    assert dialog.heading.text() == "Copy tools:2024.1"  # what is copied, on top
    asked: list[str] = []
    picked = tmp_path / "picked"
    picked.mkdir()

    def chooser(_parent: QWidget, title: str, start: str) -> str:
        asked.append(title)
        return str(picked)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", chooser)
    assert dialog.browse_button.text() == "&Browse…"  # (Alt+B; its letter is its own)
    qtbot.mouseClick(dialog.browse_button, Qt.MouseButton.LeftButton)
    assert asked == ["Copy Into Folder"]
    # (the disk is looked at first, as for a path typed: a dir: image there is dir:)
    qtbot.waitUntil(lambda: dialog.destination_edit.text() == f"oci:{picked}:tools:2024.1",
                    timeout=WAIT_MS)
    assert dialog.focusWidget() is dialog.destination_edit
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)  # (an empty folder)
    # the chooser cancelled: the destination stays
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_args: "")
    qtbot.mouseClick(dialog.browse_button, Qt.MouseButton.LeftButton)
    assert dialog.destination_edit.text() == f"oci:{picked}:tools:2024.1"
    # the parallel copies are said in a person's words
    assert "blob" not in dialog.parallel_spin.suffix()
    dialog.reject()


def test_copy_image_copies_a_typed_source(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    controller = window.copying
    assert controller.copy_image_action in window.menuBar().actions()[0].menu().actions()
    assert controller.copy_image_action.shortcut().toString() == "Ctrl+Shift+I"
    with qtbot.waitSignal(controller.dialogOpened, timeout=WAIT_MS) as opened:
        controller.copy_image_action.trigger()
    dialog = opened.args[0]
    assert not dialog.source_edit.isReadOnly() and dialog.focusWidget() is dialog.source_edit
    assert not dialog.copy_button.isEnabled()
    qtbot.keyClicks(dialog.source_edit, f"oci:{sample.layout}:spyglass-demo:1.0")
    with qtbot.waitSignal(dialog.platformsListed, timeout=WAIT_MS):
        pass
    assert sorted(str(p) for p, _box in dialog.platform_boxes) == sorted(sample.images)
    dialog.destination_edit.setText(f"oci:{tmp_path / 'copied'}:demo")
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    # another source: the platforms are listed again, and Copy waits for them
    dialog.source_edit.setText(f"oci:{sample.layout}:tools:2024.1")
    assert not dialog.copy_button.isEnabled() and not dialog.platform_boxes
    with qtbot.waitSignal(dialog.platformsListed, timeout=WAIT_MS):
        pass
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    transfer = copy_to_done(qtbot, dialog, controller.manager)
    assert transfer.request.source == f"oci:{sample.layout}:tools:2024.1"
    # named as Copy To… names the image (its label), not by its whole transport name
    qtbot.waitUntil(lambda: window.status_text.startswith("Copied "), timeout=WAIT_MS)
    assert window.status_text.startswith(f"Copied tools:2024.1 to oci:{tmp_path / 'copied'}")


def test_copy_image_takes_a_bare_registry_reference_as_its_source(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts) -> None:
    host = demo_registry.host
    dialog = window.copying.open_dialog(None)
    dialog.source_edit.setText(f"{host}/demo/app:1.10")
    assert dialog.source_note.text().startswith(f"Taken as docker://{host}/demo/app:1.10")
    with qtbot.waitSignal(dialog.platformsListed, timeout=WAIT_MS):
        pass
    assert len(dialog.platform_boxes) >= 2, dialog.platforms_label.text()
    assert dialog.request().source == f"docker://{host}/demo/app:1.10"
    dialog.reject()


def test_a_source_that_does_not_answer_is_said_to(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry that takes the connection and answers nothing: past a while the dialog
    says so, rather than "Listing the platforms…" for as long as it waits."""
    import socket

    from spyglass.gui.dialogs import copy_platforms

    monkeypatch.setattr(copy_platforms, "LISTING_SLOW_AFTER", 0.5)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        dialog = window.copying.open_dialog(None)
        dialog.source_edit.setText(f"127.0.0.1:{silent.getsockname()[1]}/team/app:1.0")
        qtbot.waitUntil(lambda: "has not answered for" in dialog.platforms_label.text(),
                        timeout=WAIT_MS)
        assert dialog.platforms_label.text().startswith("Listing the platforms… the source "
                                                        "has not answered for ")
        assert not dialog.copy_button.isEnabled()
        dialog.reject()
    finally:
        silent.close()


def test_a_plan_that_waits_on_the_destination_says_so_and_stop_ends_it(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Copy pressed, and the destination's write check never answered: a bare spinner
    for a minute. It says how long, as the browsing pages do, and offers Stop."""
    import re
    import socket

    from spyglass.gui.views import widgets

    monkeypatch.setattr(widgets, "STILL_WAITING_S", 0.2)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    host = f"127.0.0.1:{silent.getsockname()[1]}"
    try:
        source = DraggedImage(f"oci:{sample.layout}:tools:2024.1", "tools:2024.1")
        dialog = window.copying.open_dialog(source, destination=f"docker://{host}/team/app:1")
        qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
        assert dialog.spinner.isVisible()
        notice = dialog.plan_wait
        qtbot.waitUntil(notice.stop_button.isVisible, timeout=WAIT_MS)
        assert re.fullmatch(rf"Still waiting for {re.escape(host)} \(\d+ s\)…",
                            notice.label.text())
        qtbot.mouseClick(notice.stop_button, Qt.MouseButton.LeftButton)
        assert not dialog.spinner.isVisible() and not notice.isVisible()
        assert re.fullmatch(rf"Stopped: {re.escape(host)} had not answered after \d+ s\. "
                            r"Try again later\.", dialog.error_text)
        assert dialog.copy_button.isEnabled() and dialog.isVisible()  # Copy asks again
        assert window.copying.manager.transfers == []
        dialog.reject()
    finally:
        silent.close()


def stopped_on_silent_destination(qtbot: QtBot, window: MainWindow, source: str,
                                  host: str) -> CopyDialog:
    """The Copy dialog from ``source`` to the registry at ``host`` that never answers:
    Copy pressed, the wait shown, Stop pressed by the keyboard; the dialog is returned."""
    dialog = window.copying.open_dialog(DraggedImage(source, "app"),
                                        destination=f"docker://{host}/team/app:1")
    dialog.activateWindow()
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    notice = dialog.plan_wait
    qtbot.waitUntil(notice.stop_button.isVisible, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: host in notice.label.text(), timeout=WAIT_MS)
    assert notice.label.text().startswith(f"Still waiting for {host} (")
    notice.stop_button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(notice.stop_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not notice.isVisible(), timeout=WAIT_MS)
    return dialog


def test_the_plan_waits_name_only_the_registry_that_has_not_answered(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The source answered; the destination's check hangs: "Still waiting for SRC or
    DST", then "SRC or DST had not answered", blamed a registry that had."""
    import socket

    from spyglass.gui.views import widgets

    monkeypatch.setattr(widgets, "STILL_WAITING_S", 0.2)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    host = f"127.0.0.1:{silent.getsockname()[1]}"
    try:
        dialog = stopped_on_silent_destination(
            qtbot, window, f"docker://{demo_registry.host}/demo/app:1.9", host)
        assert dialog.error_text.startswith(f"Stopped: {host} had not answered after ")
        assert demo_registry.host not in dialog.error_text
        dialog.reject()
    finally:
        silent.close()


def test_after_stop_the_focus_is_on_copy_not_on_cancel(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Stop hides itself: the focus went on to Cancel, drawn as unfocused, where Space
    closed the dialog and Enter started the copy (Copy is the default)."""
    import socket

    from spyglass.gui.views import widgets

    monkeypatch.setattr(widgets, "STILL_WAITING_S", 0.2)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        dialog = stopped_on_silent_destination(
            qtbot, window, f"oci:{sample.layout}:tools:2024.1",
            f"127.0.0.1:{silent.getsockname()[1]}")
        assert dialog.copy_button.isEnabled()
        assert dialog.focusWidget() is dialog.copy_button
        assert dialog.copy_button.hasFocus()
        dialog.reject()
    finally:
        silent.close()


def closed_port() -> int:
    """A loopback port nothing listens on: each connection to it is refused at once."""
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return int(unused.getsockname()[1])


@pytest.mark.parametrize("stop", [False, True])
def test_a_destination_that_refuses_connections_is_not_said_to_be_waited_for(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, stop: bool) -> None:
    """A docker-archive's plain layers are looked for at the destination while the copy
    is planned: a registry that refuses every connection is asked again (one round of
    retries, not one for that question and another for the copy's), the notice saying
    so, never "Still waiting for HOST": nothing answered late, the port refused at once.
    Stop while it is asked again says what was stopped."""
    from spyglass.core.transports.registry import endpoint
    from spyglass.gui.views import widgets

    monkeypatch.setattr(widgets, "STILL_WAITING_S", 0.0)
    # (pauses long enough to be seen; the tests' own are a hundredth of the real ones)
    monkeypatch.setattr(endpoint.RegistryEndpoint, "_backoff",
                        staticmethod(lambda attempt: 0.6))
    archive = tmp_path / "app.tar"
    core_copy(f"oci:{sample.layout}:spyglass-demo:1.0", f"docker-archive:{archive}")
    host = f"127.0.0.1:{closed_port()}"
    dialog = window.copying.open_dialog(
        DraggedImage(f"docker-archive:{archive}", "app.tar"),
        destination=f"docker://{host}/team/app:1")
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    notice = dialog.plan_wait
    said: list[str] = []

    def seen(text: str) -> bool:
        """Whether the notice has said ``text`` (noting what it says, as it changes)."""
        if notice.isVisible() and notice.label.text() not in said:
            said.append(notice.label.text())
        return any(text in line for line in said)

    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    if stop:
        qtbot.waitUntil(lambda: seen("attempt 3 of 4"), timeout=WAIT_MS)
        qtbot.mouseClick(notice.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: seen("") and bool(dialog.error_text), timeout=WAIT_MS)
    assert said and not [text for text in said if "Still waiting" in text], said
    refused = f"Cannot reach the registry {host} (connection refused); asking again, "
    attempts = [re.fullmatch(rf"{re.escape(refused)}attempt ([234]) of 4 \(\d+ s\)…", text)
                for text in said]
    assert all(attempts), said
    # one round of retries, the question of the plain layers' included: not one more
    numbers = [int(m.group(1)) for m in attempts if m]
    assert numbers == sorted(numbers), said
    if stop:
        assert re.fullmatch(rf"Stopped after \d+ s: cannot reach the registry "
                            rf"{re.escape(host)} \(connection refused\)\. Try again later\.",
                            dialog.error_text)
    else:
        assert dialog.error_text == f"Cannot reach the registry {host}: connection refused."
    assert window.copying.manager.transfers == []
    dialog.reject()


# -- 5. lists as they come, and a plan that no longer fits


def list_layout(root: Path, *platforms: dict[str, str]) -> str:
    """A layout at ``root`` holding one list, tagged ``app:1``, of images of ``platforms``
    (descriptor platform objects, as indexes write them); its name."""
    builder = LayoutBuilder(root)
    manifests = []
    for number, platform in enumerate(platforms):
        spec = ImageSpec(os=platform["os"], architecture=platform["architecture"],
                         layers=[LayerSpec({"/n": f"{number}\n".encode()})])
        manifests.append({**builder.add_image(spec), "platform": dict(platform)})
    builder.tag(builder.add_index(manifests), "app:1")
    return f"oci:{root}:app:1"


def test_a_dragged_platform_is_ticked_however_the_list_writes_it(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    source = list_layout(
        tmp_path / "list",
        {"os": "linux", "architecture": "amd64"},
        {"os": "linux", "architecture": "arm64"},  # no variant, as many lists have it
        {"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.5458"})
    for dragged in ("linux/arm64", "windows/amd64"):  # what the Platforms row carries
        dialog = window.copying.open_dialog(DraggedImage(source, "app:1", dragged),
                                            destination=f"oci:{tmp_path / 'out'}:app:1")
        qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
        ticked = [platform for platform, box in dialog.platform_boxes if box.isChecked()]
        assert [str(platform) for platform in ticked] == [dragged]
        options = dialog.options()
        assert options.platforms == tuple(ticked) and options.multi_arch == "system"
        dialog.reject()


def test_a_list_without_platform_images_is_copied_whole(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    unknown = {"os": "unknown", "architecture": "unknown"}  # attestations, as buildx writes
    source = list_layout(tmp_path / "list", unknown, unknown)
    dialog = window.copying.open_dialog(DraggedImage(source, "app:1"),
                                        destination=f"oci:{tmp_path / 'out'}:app:1")
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    text = dialog.platforms_label.text()
    assert "0 platforms" not in text and "copied whole" in text, text
    options = dialog.options()
    assert (options.platforms, options.multi_arch) == ((), "all")
    copy_to_done(qtbot, dialog, window.copying.manager)


class HeldDestination:
    """The window's destination opener, held until the test lets it go."""

    def __init__(self, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        self._original = window.copying.openers.destination
        monkeypatch.setattr(window.copying.openers, "destination", self)

    def __call__(self, name: str, cancel: CancelToken) -> ImageDestination:
        self.entered.set()
        self.release.wait(WAIT_MS / 1000)
        return self._original(name, cancel)


def test_editing_the_destination_while_planning_drops_that_plan(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    held = HeldDestination(window, monkeypatch)
    source = DraggedImage(f"oci:{sample.layout}:tools:2024.1", "tools:2024.1")
    dialog = window.copying.open_dialog(source, destination=f"oci:{tmp_path / 'old'}:tools:1")
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    assert not dialog.copy_button.isEnabled() and dialog.spinner.isVisible()
    assert held.entered.wait(WAIT_MS / 1000)  # the plan for "old" is under way
    dialog.destination_edit.setText(f"oci:{tmp_path / 'new'}:tools:1")
    assert not dialog.spinner.isVisible()  # the plan for "old" is dropped
    # and Copy plans for "new", once it is looked at (a worker: no disk on this thread)
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(window.runner.jobDropped, timeout=WAIT_MS):
        held.release.set()  # the old plan comes in after all: it is not used
    manager = window.copying.manager
    assert manager.transfers == [] and dialog.isVisible()
    assert not (tmp_path / "old").exists()
    transfer = copy_to_done(qtbot, dialog, manager)
    assert transfer.request.destination == f"oci:{tmp_path / 'new'}:tools:1"


def test_the_compression_choices_say_what_they_do(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> None:
    window.open_location(sample.layout)
    show_image(qtbot, window, "spyglass-demo:1.0")
    dialog = window.copying.copy_current()
    assert dialog is not None
    combo = dialog.compression_combo
    assert [combo.itemText(i) for i in range(combo.count())] \
        == ["Automatic", "gzip", "zstd", "None"]
    assert combo.currentData() is None and combo.currentText() == "Automatic"
    explained = [str(combo.itemData(i, Qt.ItemDataRole.ToolTipRole)) for i in range(4)]
    assert "Uncompressed ones are compressed with gzip for a registry, an OCI layout" \
        in explained[0]
    assert all(explained) and len(set(explained)) == 4
    assert combo.toolTip().startswith(f"Automatic: {explained[0]}")
    combo.setCurrentIndex(combo.findData("zstd"))
    assert combo.toolTip().startswith(f"zstd: {explained[2]}")
    assert dialog.options().compression == "zstd"
    dialog.reject()


def test_copy_to_suggests_the_place_of_the_last_copy(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """After a copy into a layout or a registry, "Copy To…" starts at the same place, the
    image under its own name; a dir: or an archive (one image each) is not suggested."""
    from spyglass.core.copy import CopyOptions
    from spyglass.gui.copy_drops import place_of
    from spyglass.gui.copy_jobs import CopyRequest

    layout = tmp_path / "mirror"
    assert place_of(f"oci:{layout}:app:1") == DropPlace("oci", path=str(layout))
    assert place_of("docker://registry.example:5000/team/app:1") == DropPlace(
        "registry", host="registry.example:5000")
    assert place_of(f"dir:{tmp_path / 'd'}") is None
    assert place_of(f"docker-archive:{tmp_path / 'a.tar'}") is None
    manager = window.copying.manager
    with qtbot.waitSignal(manager.finished, timeout=WAIT_MS):
        window.copying.start(CopyRequest(f"oci:{sample.layout}:tools:2024.1",
                                         f"oci:{layout}:tools:2024.1", CopyOptions()))
    image = DraggedImage(f"oci:{sample.layout}:spyglass-demo:1.0", "spyglass-demo:1.0")
    dialog = window.copying.open_dialog(image)
    assert dialog.destination_edit.text() == f"oci:{layout}:spyglass-demo:1.0"
    dialog.close()
    # the image that was copied, now in the mirror: the last place is where it is, and
    # a copy onto itself is not suggested
    copied = DraggedImage(f"oci:{layout}:tools:2024.1", "tools:2024.1")
    dialog = window.copying.open_dialog(copied)
    assert dialog.destination_edit.text() == ""
    dialog.close()
    # Copy Image…: a typed source is offered the same place once it is recognised, until
    # the destination is typed by hand
    dialog = window.copying.open_dialog(None)
    dialog.source_edit.setText(f"oci:{sample.layout}:spyglass-demo:1.0")
    qtbot.waitUntil(lambda: dialog.destination_edit.text() != "", timeout=WAIT_MS)
    assert dialog.destination_edit.text() == f"oci:{layout}:spyglass-demo:1.0"
    dialog.source_edit.setText(f"oci:{sample.layout}:tools:2024.1")
    qtbot.waitUntil(lambda: dialog.destination_edit.text().endswith(":tools:2024.1"),
                    timeout=WAIT_MS)
    dialog.destination_edit.setText(f"oci:{tmp_path / 'mine'}:x")
    dialog.source_edit.setText(f"oci:{sample.layout}:spyglass-demo:1.0")
    qtbot.waitUntil(lambda: dialog.platform_boxes != [], timeout=WAIT_MS)
    assert dialog.destination_edit.text() == f"oci:{tmp_path / 'mine'}:x"
    dialog.close()


def test_a_registry_that_wants_credentials_is_said_in_the_dialog(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts,
        alice_registry: RegistryFacts) -> None:
    """The plan checks that the destination registry may be written: with no credentials
    yet, the dialog says so and how to sign in, and nothing is added to Transfers."""
    host = alice_registry.server.host
    window.open_location(sample.layout)
    show_image(qtbot, window, "spyglass-demo:1.0")
    dialog = window.copying.copy_current()
    assert dialog is not None
    dialog.destination_edit.setText(f"docker://{host}/new/app:1")
    wait_ready(qtbot, dialog)
    with qtbot.waitSignal(dialog.refused, timeout=WAIT_MS) as refused:
        dialog.start()
    sentence = refused.args[0]
    assert "wants valid credentials" in sentence
    assert sentence.endswith(f"Add {host} with Add Registry… to sign in.")
    assert dialog.isVisible() and dialog.error_label.isVisible()
    assert window.copying.manager.transfers == []
    dialog.reject()



# -- 6. a name that names something already


def test_a_layout_ref_that_names_another_image_is_said(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """Copying onto a ref of a layout moves the name off the image it names: said before
    Copy (the other image leaves the layout's index); the same image, said so, as the
    platforms ticked decide what is written."""
    target = tmp_path / "layout"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{target}:big:1.0")
    before = (target / "index.json").read_bytes()
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    image = window.copying.current_image()
    dialog = window.copying.open_dialog(image, destination=f"oci:{target}:big:1.0")
    qtbot.waitUntil(dialog.named_note.isVisible, timeout=WAIT_MS)
    tools = json.loads(before)["manifests"][0]["digest"]
    assert dialog.named_note.text() == (
        f'The name "big:1.0" there names another image now '
        f"({short_digest(Digest.parse(tools))}); the copy gives the name to this one, and "
        "that image is no longer listed in the layout.")
    wait_ready(qtbot, dialog)
    assert dialog.copy_button.isEnabled()  # a note, not a confirmation
    dialog.destination_edit.setText(f"oci:{target}:new:1")
    qtbot.waitUntil(lambda: not dialog.named_note.isVisible(), timeout=WAIT_MS)
    dialog.reject()
    assert (target / "index.json").read_bytes() == before  # looked at, not written

    core_copy(f"oci:{sample.layout}:spyglass-demo:1.0", f"oci:{target}:demo",
              CopyOptions(multi_arch="all"))  # the list, unchanged
    same = window.copying.open_dialog(image, destination=f"oci:{target}:demo")
    qtbot.waitUntil(same.named_note.isVisible, timeout=WAIT_MS)
    wait_ready(qtbot, same)
    assert same.named_note.text() == ('The name "demo" there names this very image '
                                      "already: none of its blobs will be copied again.")
    # one platform ticked writes that platform's image, not the list the name names
    for number, (_platform, box) in enumerate(same.platform_boxes):
        box.setChecked(number == 0)
    assert same.named_note.text().startswith('The name "demo" there names another image now (')
    same.compression_combo.setCurrentIndex(same.compression_combo.findData("zstd"))
    assert same.named_note.text().startswith('The name "demo" there names an image now (')
    assert same.named_note.text().endswith("the copy gives the name to the one it writes, "
                                           "and that image is no longer listed in the layout.")
    same.reject()

    # a platform dragged, onto a ref that names that platform's image already
    platform = dragged_platform(qtbot, window, sample)
    core_copy(f"oci:{sample.layout}:spyglass-demo:1.0", f"oci:{target}:one",
              CopyOptions(platforms=(Platform.parse(platform.platform),)))
    one = window.copying.open_dialog(platform, destination=f"oci:{target}:one")
    qtbot.waitUntil(lambda: "very image" in one.named_note.text(), timeout=WAIT_MS)
    one.reject()


def test_a_registry_tag_that_names_another_image_is_said(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts,
        demo_registry: RegistryFacts) -> None:
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    image = window.copying.current_image()
    dialog = window.copying.open_dialog(image, destination=f"docker://{host}/demo/app:1.9")
    qtbot.waitUntil(dialog.named_note.isVisible, timeout=WAIT_MS)
    other = Digest.parse(demo_registry.digests["demo/app:1.9"])
    assert dialog.named_note.text() == (
        f'The tag "1.9" there names another image now ({short_digest(other)}); the copy '
        "gives the name to this one.")
    # the tag named as one, quoted: "1.10 there names this very image already" read as a
    # count; and what the copy will write said before it is asked to
    dialog.destination_edit.setText(f"docker://{host}/demo/app:1.10")  # pushed from it
    qtbot.waitUntil(lambda: "very image" in dialog.named_note.text(), timeout=WAIT_MS)
    assert dialog.named_note.text() == (
        'The tag "1.10" there names this very image already: nothing of it will be '
        "written, only what is attached to it that the registry does not have yet.")
    dialog.signatures_box.setChecked(False)
    assert dialog.named_note.text() == ('The tag "1.10" there names this very image '
                                        "already: nothing will be written.")
    dialog.destination_edit.setText(f"docker://{host}/demo/app:never-pushed")
    qtbot.waitUntil(lambda: not dialog.named_note.isVisible(), timeout=WAIT_MS)
    dialog.reject()


def _listed(qtbot: QtBot, window: MainWindow, source: str) -> CopyDialog:
    dialog = window.copying.open_dialog(None)
    dialog.source_edit.setText(source)
    with qtbot.waitSignal(dialog.platformsListed, timeout=WAIT_MS):
        pass
    return dialog


def test_windows_images_told_apart_by_os_version_are_two_boxes_saying_so(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from tests.helpers.platform_lists import platform_lists

    lists = platform_lists(tmp_path / "lists")
    dialog = _listed(qtbot, window, f"oci:{lists.root}:win")
    texts = [box.text() for _p, box in dialog.platform_boxes]
    versions = [lists.images[name]["platform"]["os.version"] for name in ("win1809", "win2022")]
    assert [t for t in texts if t.startswith("windows/")] == [
        f"windows/amd64 ({version})" for version in versions]  # (both read windows/amd64)
    assert "linux/amd64" in texts
    dialog.reject()


def test_this_system_is_off_where_no_image_of_the_list_runs_here(
        qtbot: QtBot, window: MainWindow, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # it unticked every box, saying nothing until Copy was refused
    from spyglass.gui.dialogs import copy_platforms
    from tests.helpers.platform_lists import platform_lists

    lists = platform_lists(tmp_path / "lists")
    monkeypatch.setattr(copy_platforms, "host_platform", lambda: Platform("linux", "amd64"))
    dialog = _listed(qtbot, window, f"oci:{lists.root}:arm64both")
    assert not dialog.system_button.isEnabled()
    assert "No image of this list runs on this machine (linux/amd64)" in (
        dialog.system_button.toolTip())
    assert all(box.isChecked() for _p, box in dialog.platform_boxes)
    dialog.reject()


def test_a_list_with_an_image_naming_no_platform_offers_it_on_its_own(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    # "A list of 1 platform": ticking it copied the list whole, its other image too; then
    # the image was said to go only with every platform ("naming none"): it has its own
    # box, in the words the window and inspect call it, and goes by its digest
    from tests.helpers.platform_lists import platform_lists

    lists = platform_lists(tmp_path / "lists")
    dialog = _listed(qtbot, window, f"oci:{lists.root}:noplat_mixed")
    assert dialog.platforms_label.text() == (
        "A list of 1 platform and 1 image without a platform; copy these:")
    noplat = lists.images["noplat"]["digest"]
    assert [box.text() for box in dialog.choice_boxes()] == [
        "linux/arm64/v8", f"image without a platform, {noplat[:19]}"]
    assert all(box.isChecked() for box in dialog.choice_boxes())
    assert dialog.options().multi_arch == "all"  # (both: the list whole)
    dialog.digest_boxes[0][1].setChecked(False)
    options = dialog.options()
    assert ([str(p) for p in options.platforms], options.instances) == (["linux/arm64/v8"], ())
    dialog.set_platforms([noplat])
    options = dialog.options()
    assert (options.platforms, [str(d) for d in options.instances]) == ((), [noplat])
    assert dialog.copy_label().endswith(f"(image without a platform, {noplat[:19]})")
    dialog.reject()


def test_a_list_with_two_images_of_one_platform_offers_each_by_its_digest(
        qtbot: QtBot, window: MainWindow, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # one linux/amd64 box stood for both: ticked, it copied the first image only, and the
    # second went only with the list whole. Each is a box now, said with its digest; the
    # second is copied by its digest, as an image without a platform is
    from spyglass.gui.dialogs import copy_platforms
    from tests.helpers.platform_lists import platform_lists

    lists = platform_lists(tmp_path / "lists")
    first, second = (lists.images[name]["digest"] for name in ("dupA", "dupB"))
    monkeypatch.setattr(copy_platforms, "host_platform", lambda: Platform("linux", "amd64"))
    dialog = _listed(qtbot, window, f"oci:{lists.root}:dup")
    assert dialog.platforms_label.text() == "A list of 3 images for 2 platforms; copy these:"
    assert [box.text() for box in dialog.choice_boxes()] == [
        f"linux/amd64, {first[:19]}", "linux/arm64/v8", f"linux/amd64, {second[:19]}"]
    assert "copied by its digest" in dialog.digest_boxes[0][1].toolTip()
    assert all(box.isChecked() for box in dialog.choice_boxes())
    assert dialog.options().multi_arch == "all"  # (every box: the list whole)
    # This System takes the one linux/amd64 chooses, as skopeo does
    qtbot.mouseClick(dialog.system_button, Qt.MouseButton.LeftButton)
    assert [box.isChecked() for box in dialog.choice_boxes()] == [True, False, False]
    options = dialog.options()
    assert ([str(p) for p in options.platforms], options.instances) == (["linux/amd64"], ())
    assert dialog.copy_label().endswith(f" (linux/amd64, {first[:19]})")
    dialog.set_platforms([second])
    options = dialog.options()
    assert (options.platforms, [str(d) for d in options.instances]) == ((), [second])
    assert dialog.copy_label().endswith(f" (linux/amd64, {second[:19]})")
    dialog.set_platforms(["linux/amd64", second])
    options = dialog.options()
    assert ([str(p) for p in options.platforms], [str(d) for d in options.instances]) == (
        ["linux/amd64"], [second])
    assert dialog.copy_label().endswith(" (2 of 3 images)")
    dialog.reject()


@pytest.mark.parametrize("named", ["absolute", "."])
def test_the_plan_waiting_for_another_program_s_lock_says_so_and_stop_says_why(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, named: str) -> None:
    """Copy into a layout another program held locked sat with its button greyed out and
    nothing said, for as long as that program held it."""
    import subprocess

    from spyglass.core.transports import file_lock
    from spyglass.gui.views import widgets

    monkeypatch.setattr(file_lock, "NOTED_WAIT", 0.2)
    monkeypatch.setattr(widgets, "STILL_WAITING_S", 0.2)
    destination = tmp_path / "dst"
    destination.mkdir()
    holder = subprocess.Popen(["flock", str(destination / "index.json.lock"), "sleep", "60"])
    try:
        qtbot.waitUntil(lambda: (destination / "index.json.lock").exists(), timeout=WAIT_MS)
        source = DraggedImage(f"oci:{sample.layout}:tools:2024.1", "tools:2024.1")
        if named == ".":  # (a folder named "." has no name of its own: it said nothing)
            monkeypatch.chdir(destination)
        where = destination if named == "absolute" else "."
        dialog = window.copying.open_dialog(source, destination=f"oci:{where}:tools")
        qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
        wait = dialog.plan_wait
        qtbot.waitUntil(lambda: wait.isVisible() and wait.label.text().startswith(
            "Waiting for another program to finish writing dst ("), timeout=WAIT_MS)
        qtbot.mouseClick(wait.stop_button, Qt.MouseButton.LeftButton)
        assert re.fullmatch(r"Stopped: dst was being written by another program after \d+ "
                            r"s\. Try again once it is done\.", dialog.error_text), \
            dialog.error_text
        assert dialog.isVisible() and window.copying.manager.transfers == []
        qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
    finally:
        holder.kill()
        holder.wait()


def test_a_destination_a_copy_in_transfers_writes_is_said(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, scripted: ScriptedCopy,
        tmp_path: Path) -> None:
    """A copy to oci:…/mirror:app:2.0 running in Transfers, and the dialog for another
    copy to that ref (written another way) said nothing: the second waits for the first,
    then moves the name onto its own image. Said under the destination, and gone when
    the first copy ends; another ref of the layout is not written by it."""
    running = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    place = f"{tmp_path / 'mirror'}:app:2.0"
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    image = window.copying.current_image()
    dialog = window.copying.open_dialog(
        image, destination=f"oci:{tmp_path}/../{tmp_path.name}/mirror:app:2.0")
    said = (f"A copy in Transfers is writing {place} now (from team/app:2.0): this one "
            "will wait for it to end, then give the name to its own image.")
    assert dialog.busy_note.isVisible() and dialog.busy_note.text() == said
    assert said in dialog.destination_edit.accessibleDescription()
    wait_ready(qtbot, dialog)
    assert dialog.copy_button.isEnabled()  # a note, not a refusal
    dialog.destination_edit.setText(f"oci:{tmp_path / 'mirror'}:app:other")
    assert not dialog.busy_note.isVisible()
    assert said not in dialog.destination_edit.accessibleDescription()
    dialog.destination_edit.setText(f"oci:{place}")
    assert dialog.busy_note.text() == said
    finish(qtbot, window, scripted, TOP)
    qtbot.waitUntil(lambda: running.state.finished, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not dialog.busy_note.isVisible(), timeout=WAIT_MS)
    assert said not in dialog.destination_edit.accessibleDescription()
    dialog.reject()
