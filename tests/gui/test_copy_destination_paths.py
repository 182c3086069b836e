"""A bare path typed as the Copy dialog's destination is taken as what is on disk there:
an existing archive as that archive, a dir: image as dir:, a new name ending in .tar as
an OCI archive, a folder as an OCI layout in it."""

from __future__ import annotations

import gzip
import tarfile
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from spyglass.gui.colors import error_color
from spyglass.gui.copy_drops import DraggedImage
from spyglass.gui.dialogs.copy import CopyDialog
from spyglass.gui.main_window import MainWindow
from spyglass.gui.transfers import TransferState
from tests.gui.guitools import COPY_MS, WAIT_MS, SampleFacts, core_copy, text_color


def _typed(qtbot: QtBot, window: MainWindow, sample: SampleFacts, typed: str) -> CopyDialog:
    image = DraggedImage(f"oci:{sample.layout}:tools:2024.1", "tools:2024.1")
    dialog = window.copying.open_dialog(image, destination="")
    dialog.destination_edit.setText(typed)
    qtbot.waitUntil(lambda: dialog.destination_note.text().startswith("Taken as")
                    or bool(dialog.destination_refusal), timeout=WAIT_MS)
    return dialog


@pytest.mark.parametrize("transport", ["oci-archive", "docker-archive", "dir"])
def test_an_existing_archive_or_dir_image_is_taken_as_what_it_is(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        transport: str) -> None:
    """An existing oci-archive or docker-archive was taken as "the OCI image layout in
    …/a.tar" and refused as not a folder; a dir: image folder as a layout, refused as
    "not empty and is not an OCI image layout"."""
    there = tmp_path / ("image" if transport == "dir" else "image.tar")
    written = {"oci-archive": f"oci-archive:{there}:old",
               "docker-archive": f"docker-archive:{there}:old/app:1",
               "dir": f"dir:{there}"}[transport]
    core_copy(f"oci:{sample.layout}:tools:2024.1", written)
    dialog = _typed(qtbot, window, sample, str(there))
    taken = {"oci-archive": f"oci-archive:{there}:tools:2024.1",
             "docker-archive": f"docker-archive:{there}:tools:2024.1",
             "dir": f"dir:{there}"}[transport]
    qtbot.waitUntil(lambda: dialog.destination_refusal != "" or dialog.copy_button.isEnabled()
                    or dialog.replace_box.isVisible(), timeout=WAIT_MS)
    assert dialog.destination_name() == taken
    assert dialog.destination_note.text().startswith(f"Taken as {taken}:")
    assert not dialog.destination_refusal
    dialog.reject()


def test_a_new_name_ending_in_tar_is_written_as_an_oci_archive(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """It was written as a layout folder named new.tar."""
    new = tmp_path / "new.tar"
    dialog = _typed(qtbot, window, sample, str(new))
    taken = f"oci-archive:{new}:tools:2024.1"
    assert dialog.destination_name() == taken
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    manager = window.copying.manager
    with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
        dialog.copy_button.click()
    transfer = manager.transfers[-1]
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=COPY_MS)
    assert transfer.state is TransferState.DONE, transfer.error
    assert transfer.request.destination == taken
    assert new.is_file() and tarfile.is_tarfile(new)
    with tarfile.open(new) as archive:
        assert "index.json" in archive.getnames()


@pytest.mark.parametrize(("typed", "plain"), [("new.tar.gz", "new.tar"),
                                               ("new.tgz", "new.tar"),
                                               ("new.tar.zst", "new.tar"),
                                               ("old.tar.gz", "old.tar")])
def test_a_compressed_archive_name_is_refused_with_what_to_type(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        typed: str, plain: str) -> None:
    """A new name ending in .tar.gz, .tgz or .tar.zst was taken as a folder (an OCI
    layout named new.tar.gz), and an existing gzipped archive as the archive, replaced
    by a plain tar under its .gz name: Spyglass writes archives uncompressed, as skopeo
    does, so the name is refused, saying what to type (the command line takes a bare
    path as no destination, and writes a plain tar for oci-archive:new.tar.gz)."""
    there = tmp_path / typed
    if typed.startswith("old"):
        core_copy(f"oci:{sample.layout}:tools:2024.1", f"docker-archive:{tmp_path / plain}")
        there.write_bytes(gzip.compress((tmp_path / plain).read_bytes()))
        (tmp_path / plain).unlink()
    kind = "docker-archive" if typed.startswith("old") else "oci-archive"
    image = DraggedImage(f"oci:{sample.layout}:tools:2024.1", "tools:2024.1")
    dialog = window.copying.open_dialog(image, destination="")
    dialog.destination_edit.setText(str(there))
    said = (f'"{there}" is named as a compressed archive, and Spyglass writes archives '
            f'uncompressed, as skopeo does: name it "{tmp_path / plain}", or give its kind '
            f"to write a plain tar under this name ({kind}:{there}).")
    qtbot.waitUntil(lambda: dialog.destination_edit.accessibleDescription() == said,
                    timeout=WAIT_MS)
    assert text_color(dialog.destination_note) == error_color()
    assert not dialog.copy_button.isEnabled()
    assert there.exists() == typed.startswith("old")
    # what it says to type is taken
    dialog.destination_edit.setText(f"{kind}:{there}")
    qtbot.waitUntil(lambda: dialog.copy_button.isEnabled()
                    or dialog.replace_box.isVisible(), timeout=WAIT_MS)
    dialog.destination_edit.setText(str(tmp_path / plain))
    qtbot.waitUntil(lambda: dialog.destination_edit.accessibleDescription().startswith(
        f"Taken as oci-archive:{tmp_path / plain}:tools:2024.1:"), timeout=WAIT_MS)
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    dialog.reject()


def test_copy_waits_for_the_disk_to_say_what_a_path_is(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """While the path is looked at (an archive is read for it), the field says so and
    Copy stays off: it would copy into what the path was only guessed to be."""
    import threading

    from spyglass.gui.dialogs import copy_destination

    gate = threading.Event()
    real = copy_destination.look_at_path

    def slow(path: str) -> copy_destination.PathLook:
        gate.wait(10)
        return real(path)

    monkeypatch.setattr(copy_destination, "look_at_path", slow)
    image = DraggedImage(f"oci:{sample.layout}:tools:2024.1", "tools:2024.1")
    dialog = window.copying.open_dialog(image, destination="")
    there = tmp_path / "out"
    try:
        dialog.destination_edit.setText(str(there))
        qtbot.wait(300)
        assert dialog.destination_note.text() == f"Looking at {there}…"
        assert not dialog.copy_button.isEnabled()
    finally:
        gate.set()
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    assert dialog.destination_name() == f"oci:{there}:tools:2024.1"
    dialog.reject()


def test_a_file_that_is_no_image_is_said_to_be_none_at_once(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """A text file was taken as "the OCI image layout in …" (Copy on), then refused as
    not a folder: it is said to be no image archive as soon as it is looked at, and
    Copy stays off."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image\n")
    image = DraggedImage(f"oci:{sample.layout}:tools:2024.1", "tools:2024.1")
    dialog = window.copying.open_dialog(image, destination="")
    dialog.destination_edit.setText(str(notes))
    said = (f'The file "{notes}" is not an image archive, and a copy writes over no other '
            "file: expected an image archive, a folder, or a new name.")
    # (the note shortens a long path in its middle; the field's description has it whole)
    qtbot.waitUntil(lambda: dialog.destination_edit.accessibleDescription() == said,
                    timeout=WAIT_MS)
    assert dialog.destination_note.text().endswith(
        "notes.txt\" is not an image archive, and a copy writes over no other file: "
        "expected an image archive, a folder, or a new name.")
    assert text_color(dialog.destination_note) == error_color()
    qtbot.wait(300)  # (nothing checked after it turns it into a layout's refusal)
    assert dialog.destination_edit.accessibleDescription() == said
    assert not dialog.copy_button.isEnabled()
    assert notes.read_text() == "not an image\n"
    # a device is written into by an archive name only: said how
    dialog.destination_edit.setText("/dev/null")
    qtbot.waitUntil(lambda: dialog.destination_note.text() == (
        'The file "/dev/null" is not an image archive: it is a device or a pipe, which a '
        "copy writes an archive into when its kind is given (oci-archive:/dev/null)."),
        timeout=WAIT_MS)
    assert not dialog.copy_button.isEnabled()
    dialog.reject()


def test_browse_takes_a_folder_as_the_same_path_typed(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Browse… filled in oci:FOLDER:… without looking at the disk: a dir: image folder
    chosen there was taken as a layout, and refused as "not empty and is not an OCI image
    layout". It is looked at as the same path typed is, and the field gets its whole
    name once the disk has said; chosen again, it is looked at again."""
    from PySide6.QtWidgets import QFileDialog

    there = tmp_path / "image"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"dir:{there}")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *_args: str(there))
    image = DraggedImage(f"oci:{sample.layout}:tools:2024.1", "tools:2024.1")
    dialog = window.copying.open_dialog(image, destination="")
    dialog.browse_button.click()
    qtbot.waitUntil(lambda: dialog.destination_edit.text() == f"dir:{there}",
                    timeout=WAIT_MS)
    qtbot.waitUntil(dialog.replace_box.isVisible, timeout=WAIT_MS)  # (it holds an image)
    assert not dialog.destination_refusal
    # the same folder, emptied and chosen again: what it is now, not what it was
    for child in there.iterdir():
        child.unlink()
    dialog.destination_edit.setText(str(there))
    qtbot.waitUntil(lambda: dialog.destination_note.text().startswith("Taken as dir:"),
                    timeout=WAIT_MS)
    dialog.browse_button.click()
    qtbot.waitUntil(lambda: dialog.destination_edit.text() == f"oci:{there}:tools:2024.1",
                    timeout=WAIT_MS)
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    dialog.reject()


def test_browse_starts_in_the_folder_of_the_path_typed_whatever_its_kind(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Browse… started in the home folder unless the field held an oci: name: a dir:
    folder, an archive (with its kind or bare) or a new name there started it at home,
    far from where the image was to go. It starts in the path's folder: the path where
    it is a folder, else the folder it is in."""
    from PySide6.QtWidgets import QFileDialog, QWidget

    images = tmp_path / "srv" / "images"
    (images / "x").mkdir(parents=True)
    data = tmp_path / "data"
    data.mkdir()
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci-archive:{data / 'a.tar'}:old")
    started: list[str] = []

    def chooser(_parent: QWidget, _title: str, start: str) -> str:
        started.append(start)
        return ""  # (cancelled: the field stays)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", chooser)
    image = DraggedImage(f"oci:{sample.layout}:tools:2024.1", "tools:2024.1")
    dialog = window.copying.open_dialog(image, destination="")
    for typed, folder in ((f"dir:{images / 'x'}", images / "x"),
                          (f"dir:{images / 'new'}", images),
                          (f"oci-archive:{data / 'a.tar'}", data),
                          (f"docker-archive:{data / 'b.tar'}:app:1", data),
                          (str(data / "a.tar"), data),
                          (str(data / "gone" / "new.tar"), data),
                          (f"oci:{images}:app:1", images),
                          ("docker://registry.example/app:1", Path.home())):
        dialog.destination_edit.setText(typed)
        dialog.browse_button.click()
        assert started[-1] == str(folder), typed
        assert dialog.destination_edit.text() == typed
    dialog.reject()


@pytest.mark.parametrize("written", ["docker-archive", "oci-archive"])
def test_copy_looks_at_the_path_again_and_says_what_changed(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        written: str) -> None:
    """A new name, looked at while nothing was there, then an archive written there
    before Copy: it was copied over unasked, as the OCI archive first taken (a
    docker-archive holding old/app:1 became an OCI archive). Copy looks at the path
    again: the field says what it is now, the copy waits for the replacement to be
    confirmed and Copy to be pressed again, and then writes it as what it is."""
    new = tmp_path / "new.tar"
    dialog = _typed(qtbot, window, sample, str(new))
    assert dialog.destination_name() == f"oci-archive:{new}:tools:2024.1"
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    core_copy(f"oci:{sample.layout}:spyglass-demo:1.0", f"{written}:{new}:old/app:1")
    manager = window.copying.manager
    count = len(manager.transfers)
    dialog.copy_button.click()
    taken = f"{written}:{new}:tools:2024.1"
    qtbot.waitUntil(dialog.replace_box.isVisible, timeout=WAIT_MS)
    assert dialog.error_text == (
        f'"{new}" changed on disk since the dialog looked at it, and the copy did not '
        "start: see what it is taken as now, then press Copy again.")
    assert dialog.destination_note.text().startswith(f"Taken as {taken}:")
    assert dialog.destination_name() == taken
    assert dialog.copy_button.text() == "Replace" and not dialog.copy_button.isEnabled()
    assert len(manager.transfers) == count and dialog.isVisible()
    dialog.replace_box.setChecked(True)
    with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
        dialog.copy_button.click()
    transfer = manager.transfers[-1]
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=COPY_MS)
    assert transfer.state is TransferState.DONE, transfer.error
    assert transfer.request.destination == taken


def test_a_file_written_at_the_path_before_copy_is_said_to_be_no_image(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """A text file written where a new name was looked at: Copy says so (the copy's own
    check refused it only as it was planned)."""
    new = tmp_path / "new.tar"
    dialog = _typed(qtbot, window, sample, str(new))
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    new.write_text("precious notes\n")
    dialog.copy_button.click()
    qtbot.waitUntil(lambda: dialog.destination_edit.accessibleDescription().startswith(
        f'The file "{new}" is not an image archive'), timeout=WAIT_MS)
    assert dialog.error_text.startswith(f'"{new}" changed on disk')
    assert not dialog.copy_button.isEnabled()
    assert new.read_text() == "precious notes\n"
    dialog.reject()


@pytest.mark.parametrize(("typed", "put"), [
    ("oci-archive:{path}.tar:app:1", "archive"),
    ("oci-archive:{path}.tar", "file"),
    ("docker-archive:{path}.tar:app:1", "archive"),
    ("dir:{path}", "dir image"),
    ("dir:{path}", "file in the folder"),
])
def test_a_destination_typed_with_its_kind_is_looked_at_again_at_copy(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        typed: str, put: str) -> None:
    """Only a bare path was looked at again as Copy was pressed: typed with its kind, an
    archive or dir: image written there since the dialog looked was replaced unasked, and
    a file there (or in the empty folder) was refused only once the copy was planned.
    Copy looks at it again through the same look, and says so in the same words."""
    path = tmp_path / "new"
    if put == "file in the folder":
        path.mkdir()  # (empty: a dir: image may go there)
    name = typed.format(path=path)
    there = Path(name.split(":")[1])
    image = DraggedImage(f"oci:{sample.layout}:tools:2024.1", "tools:2024.1")
    dialog = window.copying.open_dialog(image, destination=name)
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    assert dialog.copy_button.text() == "Copy"
    if put == "archive":
        core_copy(f"oci:{sample.layout}:spyglass-demo:1.0",
                  f"{name.split(':')[0]}:{there}:old/app:1")
    elif put == "dir image":
        core_copy(f"oci:{sample.layout}:spyglass-demo:1.0", f"dir:{there}")
    elif put == "file":
        there.write_text("precious notes\n")
    else:
        (there / "notes.txt").write_text("precious notes\n")
    manager = window.copying.manager
    count = len(manager.transfers)
    dialog.copy_button.click()
    qtbot.waitUntil(lambda: dialog.error_text != "", timeout=WAIT_MS)
    assert dialog.error_text == (
        f'"{there}" changed on disk since the dialog looked at it, and the copy did not '
        "start: see what it is taken as now, then press Copy again.")
    assert len(manager.transfers) == count and dialog.isVisible()
    assert dialog.destination_name() == name  # (its kind, as typed)
    if put in ("archive", "dir image"):  # to be replaced only once confirmed
        qtbot.waitUntil(dialog.replace_box.isVisible, timeout=WAIT_MS)
        assert dialog.copy_button.text() == "Replace" and not dialog.copy_button.isEnabled()
        dialog.replace_box.setChecked(True)
        with qtbot.waitSignal(manager.added, timeout=WAIT_MS):
            dialog.copy_button.click()
        transfer = manager.transfers[-1]
        qtbot.waitUntil(lambda: transfer.state.finished, timeout=COPY_MS)
        assert transfer.state is TransferState.DONE, transfer.error
        assert transfer.request.destination == name
    else:  # refused before any copy, in the words the copy would have used
        qtbot.waitUntil(lambda: dialog.destination_refusal != "", timeout=WAIT_MS)
        assert not dialog.copy_button.isEnabled()
        notes = there if put == "file" else there / "notes.txt"
        assert notes.read_text() == "precious notes\n"
        dialog.reject()
