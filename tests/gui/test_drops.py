"""Drops from other programs, and what the window gives them: file URLs, drag text,
the clipboard, drops refused where they cannot go."""

from __future__ import annotations

import os
import random
import shlex
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QMimeData,
    QModelIndex,
    QPoint,
    QPointF,
    Qt,
    QUrl,
)
from PySide6.QtGui import QAction, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget
from pytestqt.qtbot import QtBot

from spyglass.core.fileurl import file_url
from spyglass.core.settings import normalize_location
from spyglass.core.text import shell_quoted
from spyglass.gui.copy_drops import DraggedImage
from spyglass.gui.copy_names import pasted_name
from spyglass.gui.dialogs.copy import CopyDialog
from spyglass.gui.dragdrop import image_from_mime, image_mime
from spyglass.gui.main_window import MainWindow
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import (
    WAIT_MS,
    SampleFacts,
    add_registry,
    core_copy,
    item_text,
    select_platform,
    show_image,
    wait_listed,
    wait_repositories,
    wait_tags,
)
from tests.helpers.imagebuild import multi_platform_layout

pytestmark = pytest.mark.gui

BUTTONS, KEYS = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier


def uri_list(*lines: bytes) -> QMimeData:
    """A file manager's drag: ``text/uri-list`` lines as it writes them."""
    mime = QMimeData()
    mime.setData("text/uri-list", QByteArray(b"".join(line + b"\r\n" for line in lines)))
    return mime


def drag(widget: QWidget, mime: QMimeData, where: QPoint | None = None,
         ) -> tuple[bool, bool, bool]:
    """Drag ``mime`` into ``widget`` at ``where``, move and drop there, as Qt delivers
    them (to the widget, then its parents): whether enter, move and drop were accepted
    (a drop only where the move was)."""
    where = where or QPoint(20, 20)
    enter = QDragEnterEvent(where, Qt.DropAction.CopyAction, mime, BUTTONS, KEYS)
    enter.ignore()
    QApplication.sendEvent(widget, enter)
    move = QDragMoveEvent(where, Qt.DropAction.CopyAction, mime, BUTTONS, KEYS,
                          QEvent.Type.DragMove)
    move.ignore()
    QApplication.sendEvent(widget, move)
    if not move.isAccepted():
        return enter.isAccepted(), False, False
    drop = QDropEvent(QPointF(where), Qt.DropAction.CopyAction, mime, BUTTONS, KEYS)
    drop.ignore()
    QApplication.sendEvent(widget, drop)
    return enter.isAccepted(), True, drop.isAccepted()


# -- file URLs dropped on the window


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "own"])
def test_a_file_url_of_this_machine_opens_its_path(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, host: str) -> None:
    """``file://localhost/…`` (and this machine's name) was opened as "//localhost/…",
    which does not exist."""
    host = socket.gethostname() if host == "own" else host
    mime = uri_list(f"file://{host}".encode() + bytes(QUrl.toPercentEncoding(
        str(sample.layout), b"/")))
    with qtbot.waitSignal(window.places.locationLoaded, timeout=WAIT_MS):
        assert drag(window, mime) == (True, True, True)
    assert window.places.paths == [normalize_location(sample.layout)]


def test_a_file_url_of_another_machine_is_refused(window: MainWindow,
                                                  sample: SampleFacts) -> None:
    mime = uri_list(f"file://fileserver.example{sample.layout}".encode())
    assert drag(window, mime) == (False, False, False)
    assert window.places.paths == []


def test_a_dropped_name_that_is_not_utf8_opens_as_its_bytes(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """``caf%E9`` (Latin-1, what a file manager sends, and what Copy Path writes) was
    read as UTF-8: "caf\\ufffd", which does not exist."""
    layout = Path(os.fsdecode(os.fsencode(tmp_path) + b"/latin-caf\xe9"))
    multi_platform_layout(layout)
    window.copy_path(layout)
    copied = QApplication.clipboard().mimeData()
    assert copied.urls()[0].toString(QUrl.ComponentFormattingOption.FullyEncoded) == \
        f"file://{tmp_path}/latin-caf%E9"
    again = QMimeData()
    again.setUrls(copied.urls())
    with qtbot.waitSignal(window.places.locationLoaded, timeout=WAIT_MS):
        assert drag(window, again) == (True, True, True)
    assert window.places.paths == [normalize_location(layout)]


# -- what the window gives other programs: the clipboard, a drag's text


def context_menu_action(window: MainWindow, index: QModelIndex, text: str) -> QAction:
    """The action ``text`` of the places tree's context menu at ``index``."""
    menu = window.context_menu(index)
    assert menu is not None
    return next(a for a in menu.actions() if item_text(a) == text)


@pytest.mark.parametrize(("folder", "text"), [
    (b"latin-caf\xe9", "$'oci:{root}/latin-caf\\xe9:spyglass-demo:1.0'"),
    (b"new\nline", "$'oci:{root}/new\\x0aline:spyglass-demo:1.0'"),
    (b"my layout \xc3\xa9", "oci:{root}/my layout \u00e9:spyglass-demo:1.0"),
])
def test_an_image_name_is_copied_and_dragged_as_a_shell_takes_it(
        qtbot: QtBot, window: MainWindow, tmp_path: Path,
        folder: bytes, text: str) -> None:
    """Copy Image Name and an image drag's text dropped the byte of ``caf\\xe9`` (naming
    another path) and kept a newline raw: both are written as Copy Path writes them."""
    layout = Path(os.fsdecode(os.fsencode(tmp_path) + b"/" + folder))
    multi_platform_layout(layout, ref="spyglass-demo:1.0")
    window.open_location(layout)
    wait_listed(qtbot, window)
    index = window.places.find_image("spyglass-demo:1.0")
    expected = text.format(root=tmp_path)
    context_menu_action(window, index, "Copy Image Name").trigger()
    assert QApplication.clipboard().text() == expected
    assert window.status_text.startswith(f"Copied {expected}")
    image = window.copying._place_image(index)
    assert image is not None
    assert image_mime(image).text() == expected


def test_a_platform_row_of_a_registry_image_is_dragged_by_its_own_digest(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts,
        demo_registry: RegistryFacts) -> None:
    """It carried the list's name, naming every platform but the one dragged. (A layout's
    platform keeps the list's name: neither skopeo 1.9 nor Spyglass takes
    ``oci:PATH@sha256:…``.)"""
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    registries = window.registries
    model = registries.model
    qtbot.waitUntil(lambda: model.repository_index(host, "demo/app").isValid(),
                    timeout=WAIT_MS)
    repo = model.repository_index(host, "demo/app")
    registries.tree.expand(repo)
    model.fetchMore(repo)
    wait_tags(qtbot, window, host, "demo/app")
    with qtbot.waitSignal(window.image_view.imageShown, timeout=WAIT_MS):
        registries.tree.setCurrentIndex(model.tag_index(host, "demo/app", "1.10"))
    select_platform(qtbot, window, "linux/arm64/v8")
    table = window.image_view.platforms.table
    image = window.copying._platform_image(table.currentIndex())
    assert image is not None and image.platform == "linux/arm64/v8"
    digest = sample.images["linux/arm64/v8"].manifest_digest
    assert image_mime(image).text() == f"docker://{host}/demo/app@{digest}"
    assert image_from_mime(image_mime(image)) == image  # the window's own copy: the list's

    window.open_location(sample.layout)
    show_image(qtbot, window, "spyglass-demo:1.0")
    select_platform(qtbot, window, "linux/arm64/v8")
    image = window.copying._platform_image(table.currentIndex())
    assert image is not None
    assert image_mime(image).text() == f"oci:{sample.layout}:spyglass-demo:1.0"


# -- image drags over places that cannot take them


def drag_over_row(window: MainWindow, view: QAbstractItemView, index: QModelIndex,
                  image: DraggedImage | None) -> tuple[bool, bool, bool]:
    assert index.isValid() and image is not None
    view.scrollTo(index)
    return drag(view.viewport(), image_mime(image), view.visualRect(index).center())


def test_a_place_that_failed_as_a_file_or_a_full_folder_refuses_an_image(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """The drop was taken, then the Copy dialog said the place cannot take the image. A
    place that is gone may still become a new layout."""
    notes = tmp_path / "notes.txt"
    notes.write_text("notes\n")
    full = tmp_path / "full"
    full.mkdir()
    (full / "readme").write_text("not an image\n")
    gone = tmp_path / "gone"
    window.open_location(sample.layout)
    for path in (notes, full, gone):
        with qtbot.waitSignal(window.places.locationFailed, timeout=WAIT_MS):
            window.open_location(path, select=False)
    wait_listed(qtbot, window, 0)
    image = window.copying._place_image(window.places.find_image("spyglass-demo:1.0", 0))
    for row in (1, 2):
        assert drag_over_row(window, window.tree, window.places.index(row, 0),
                             image) == (True, False, False)
    with qtbot.waitSignal(window.copying.dialogOpened, timeout=WAIT_MS) as opened:
        assert drag_over_row(window, window.tree, window.places.index(3, 0),
                             image) == (True, True, True)
    assert opened.args[0].destination_edit.text() == f"oci:{gone}:spyglass-demo:1.0"
    opened.args[0].reject()


def test_an_image_over_its_own_place_is_refused(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        demo_registry: RegistryFacts) -> None:
    """Its own layout, its own row, its own repository or tag: the copy would name the
    image itself. Its registry may take a copy under another repository's name, one
    platform of it a copy under a name of its own, another place a copy."""
    other = tmp_path / "other"
    multi_platform_layout(other)
    window.open_location(sample.layout)
    window.open_location(other, select=False)
    wait_listed(qtbot, window, 0)
    wait_listed(qtbot, window, 1)
    places, tree = window.places, window.tree
    own_row = places.find_image("spyglass-demo:1.0", 0)
    image = window.copying._place_image(own_row)
    for index in (places.index(0, 0), own_row, places.find_image("tools:2024.1", 0)):
        assert drag_over_row(window, tree, index, image) == (True, False, False)
    with qtbot.waitSignal(window.copying.dialogOpened, timeout=WAIT_MS) as opened:
        assert drag_over_row(window, tree, places.index(1, 0), image) == (True, True, True)
    opened.args[0].reject()
    show_image(qtbot, window, "spyglass-demo:1.0")
    select_platform(qtbot, window, "linux/arm64/v8")
    platform = window.copying._platform_image(
        window.image_view.platforms.table.currentIndex())
    with qtbot.waitSignal(window.copying.dialogOpened, timeout=WAIT_MS) as opened:
        assert drag_over_row(window, tree, places.index(0, 0), platform) == (True, True, True)
    assert opened.args[0].destination_edit.text() == \
        f"oci:{sample.layout}:spyglass-demo:1.0-linux-arm64-v8"
    opened.args[0].reject()

    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    registries = window.registries
    model = registries.model
    qtbot.waitUntil(lambda: model.repository_index(host, "demo/app").isValid(),
                    timeout=WAIT_MS)
    repo = model.repository_index(host, "demo/app")
    registries.tree.expand(repo)
    model.fetchMore(repo)
    wait_tags(qtbot, window, host, "demo/app")
    tag = window.copying._registry_image(model.tag_index(host, "demo/app", "1.10"))
    for index in (repo, model.tag_index(host, "demo/app", "1.9")):
        assert drag_over_row(window, registries.tree, index, tag) == (True, False, False)
    with qtbot.waitSignal(window.copying.dialogOpened, timeout=WAIT_MS) as opened:
        assert drag_over_row(window, registries.tree, model.registry_index(host),
                             tag) == (True, True, True)
    opened.args[0].reject()


# -- fields of the window


def test_the_registry_pages_fields_leave_image_and_file_drags_to_the_window(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts,
        demo_registry: RegistryFacts) -> None:
    """A tag dragged over a filter was inserted in the middle of what was typed, and so
    was the text of a file drag: the window takes the file, the fields text alone."""
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    registries = window.registries
    registries.tree.setCurrentIndex(registries.model.registry_index(host))
    wait_repositories(qtbot, window, host)
    registry_page, repository_page = registries.registry_page, registries.repository_page
    tag = DraggedImage(f"docker://{host}/demo/app:1.10", "demo/app:1.10")
    for edit in (registry_page.open_edit, registry_page.filter, repository_page.filter):
        edit.setText("de")
        assert drag(edit, image_mime(tag), QPoint(2, 2)) == (False, False, False)
        assert edit.text() == "de"
        text = QMimeData()
        text.setText("mo")
        assert drag(edit, text, QPoint(2, 2)) == (True, True, True)
        assert edit.text() in ("mode", "demo")
        edit.setText("de")
    files = QMimeData()
    files.setUrls([QUrl.fromLocalFile(str(sample.layout))])
    files.setText(files.urls()[0].toString())
    edit = registry_page.filter
    with qtbot.waitSignal(window.places.locationLoaded, timeout=WAIT_MS):
        assert drag(edit, files, QPoint(2, 2)) == (True, True, True)
    assert edit.text() == "de"
    assert window.places.paths == [normalize_location(sample.layout)]


# -- Copy Image…: what a file manager, a terminal or Spyglass itself gives its source


def typed_source(qtbot: QtBot, window: MainWindow, text: str) -> CopyDialog:
    """Copy Image… with ``text`` pasted as its source; once its platforms are listed
    (or the source is refused)."""
    dialog = window.copying.open_dialog(None)
    dialog.source_edit.setText(text)
    qtbot.waitUntil(lambda: not dialog.source_note.text().startswith("Looking at")
                    and "Listing" not in dialog.platforms_label.text(), timeout=WAIT_MS)
    return dialog


def test_copy_image_takes_a_path_or_a_file_url_as_the_command_line_does(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """A bare path was refused with "write oci: or dir: first" (wrong for an archive),
    and a file URL was taken for a registry ("docker://file:///…"); ``spyglass copy
    PATH …`` takes both, looking at the disk for the kind."""
    archive = Path(os.fsdecode(os.fsencode(tmp_path) + b"/tools caf\xe9.tar"))
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci-archive:{archive}")
    # (the byte cannot be text in the field: it is pasted as a URL or shell-quoted)
    for text in (file_url(archive), shell_quoted(str(archive)),
                 f"\n  {shell_quoted(str(archive))}\n\n"):
        dialog = typed_source(qtbot, window, text)
        assert dialog.request().source == f"oci-archive:{archive}", text
        assert dialog.source_note.text() == (
            f"Taken as oci-archive:{tmp_path}/tools caf\\xe9.tar: the OCI layout tarball "
            f"{tmp_path}/tools caf\\xe9.tar.")
        assert dialog.platforms_label.text() == "A single image: copied as it is."
        dialog.reject()
    layout = tmp_path / "my layout é"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{layout}:tools:2024.1")
    for text in (f"'oci:{layout}:tools:2024.1'", f'"oci:{layout}:tools:2024.1"',
                 f"{layout}"):
        dialog = typed_source(qtbot, window, text)
        assert dialog.request().source.startswith(f"oci:{layout}"), text
        assert dialog.copy_label()
        dialog.reject()


@pytest.mark.parametrize("end", ["\n", " ", "\t"])
def test_a_pasted_quoted_path_keeps_the_blank_it_ends_in(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path, end: str) -> None:
    """The name read from quotes was stripped again: ``$'…/layout\\x0a'`` (as Copy Path
    writes it) took ``…/layout``, another layout, when there was one."""
    wanted = tmp_path / f"layout{end}"
    other = tmp_path / "layout"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{wanted}:tools:2024.1")
    core_copy(f"oci:{sample.layout}:spyglass-demo:1.0", f"oci:{other}:other:9")
    text = shell_quoted(str(wanted)) if end != " " else f"'{wanted}'"
    dialog = typed_source(qtbot, window, f"  {text}\n")
    assert dialog.request().source == f"oci:{wanted}", dialog.source_note.text()
    dialog.reject()


@pytest.mark.parametrize(("how", "name"), [
    (how, name) for how in ("ls", "printf %q", "shlex.quote")
    for name in (b"my layout", b"new\nline", b"latin-caf\xe9", b"it's")
    if how != "shlex.quote" or name.isascii()])  # (it writes the byte as it is: no text)
def test_a_path_is_taken_as_ls_bash_and_python_quote_it(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path,
        name: bytes, how: str) -> None:
    """Only one ``'…'``, ``"…"`` or ``$'…'`` was read: GNU ls writes parts one after the
    other (``'…/new'$'\\n''line'``), bash's printf %q backslashes (``my\\ layout``)."""
    layout = Path(os.fsdecode(os.fsencode(tmp_path) + b"/" + name))
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{layout}:tools:2024.1")
    if how == "shlex.quote":
        text = shlex.quote(str(layout))
    else:
        program = "ls" if how == "ls" else "bash"
        if shutil.which(program) is None:
            pytest.skip(f"no {program} here")
        command = (["ls", "-d", "--quoting-style=shell-escape", os.fsencode(layout)]
                   if how == "ls" else ["bash", "-c", 'printf %q "$1"', "_", os.fsencode(layout)])
        text = subprocess.run(command, capture_output=True, check=True).stdout.decode(
            "utf-8", "surrogateescape").strip()
    dialog = typed_source(qtbot, window, text)
    assert dialog.request().source.startswith(f"oci:{layout}"), dialog.source_note.text()
    dialog.reject()


def test_every_name_copy_path_writes_is_pasted_as_itself() -> None:
    """A name Copy Path or Copy Image Name puts on the clipboard is the name again when
    pasted: quotes, backslashes, blanks at its ends, control characters, bytes that are
    not UTF-8 (a name with a blank at an end was written as it is, and pasted stripped)."""
    parts = ["a", "/", ".", " ", "'", '"', "\\", "$", "`", "*", "\n", "\t", "\x01",
             "\u00e9", "\u200b", "\U0001f600", "\udce9", "\\'", "$'"]
    chosen = random.Random(21)
    for _ in range(400):
        name = "/" + "".join(chosen.choice(parts) for _ in range(chosen.randint(1, 10)))
        assert pasted_name(shell_quoted(name)) == (name, ""), repr(name)


def test_a_path_with_a_quote_in_it_is_taken_as_it_is(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """Typed as it is (a file manager's text), not as a shell writes it: the quote is the
    name's."""
    layout = tmp_path / "John's layouts" / "tools"
    layout.parent.mkdir()
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{layout}:tools:2024.1")
    dialog = typed_source(qtbot, window, str(layout))
    assert dialog.request().source.startswith(f"oci:{layout}"), dialog.source_note.text()
    dialog.reject()


@pytest.mark.parametrize(("text", "sentence"), [
    ("localhost:5000/app:1\nlocalhost:5000/app:2\n",
     "Give one image name per copy: the text has 2 lines."),
    ("podman pull localhost:5000/app:1",
     'Invalid image name "podman pull localhost:5000/app:1": '),
    ("/no/such/tools.tar", 'The path "/no/such/tools.tar" does not exist.'),
    ("file://fileserver.example/srv/tools.tar",
     '"file://fileserver.example/srv/tools.tar" names a file of another machine '
     "(fileserver.example): only files of this one can be read."),
    ("file:srv/tools.tar",
     '"file:srv/tools.tar" is not an absolute file: URL: write file:///PATH'),
    ("file://localhost:8080/srv/tools.tar",
     '"file://localhost:8080/srv/tools.tar" names a port (8080), which a file: URL does '
     "not: write file:///PATH."),
    ("file://me@localhost/srv/tools.tar",
     '"file://me@localhost/srv/tools.tar" names a user (me), which a file: URL of this '
     "machine does not: write file:///PATH."),
    ("'/srv/tools.tar' 'localhost:5000/app:1'",
     "Give one image name per copy: \"'/srv/tools.tar' 'localhost:5000/app:1'\" is several "
     "words to a shell, not one name."),
    ("'/srv/tools.tar",
     "The ' at character 1 of \"'/srv/tools.tar\" is not closed: a name in quotes ends "
     "with the quote it starts with."),
    # quoted once, as pasted; and single quotes would have kept $HOME as it is written
    ('"$HOME/tools.tar"',
     '"$HOME/tools.tar" has a $ in double quotes, which a shell would replace, and this '
     "field does not: write the path itself (where $ is part of the name, not a variable, "
     "put it in single quotes)."),
    # not "expected TRANSPORT:REFERENCE"
    ("$HOME/tools.tar",
     '"$HOME/tools.tar" has $HOME, a variable a shell would replace and this field does '
     "not: write the path itself."),
])
def test_copy_image_says_what_was_typed_is_wrong(
        qtbot: QtBot, window: MainWindow, text: str, sentence: str) -> None:
    """Two lines made a tag "1\\nlocalhost:5000/app:2"; a sentence quoted the docker://
    the field added, not what was typed."""
    dialog = typed_source(qtbot, window, text)
    assert dialog.source_note.text().startswith(sentence)
    assert "docker://" not in dialog.source_note.text()
    assert not dialog.copy_button.isEnabled()
    dialog.reject()


def test_files_dropped_on_copy_images_source_are_taken_as_their_paths(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """A drag of files alone was refused; with their text too, the URL was inserted
    where the pointer was, in the middle of what was typed."""
    archive = tmp_path / "tools-oci.tar"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci-archive:{archive}")
    dialog = window.copying.open_dialog(None)
    dialog.source_edit.setText("typed")
    files = QMimeData()
    files.setUrls([QUrl.fromLocalFile(str(archive))])
    with qtbot.waitSignal(dialog.platformsListed, timeout=WAIT_MS):
        assert drag(dialog.source_edit, files, QPoint(2, 2)) == (True, True, True)
    assert dialog.request().source == f"oci-archive:{archive}"
    files.setUrls([QUrl.fromLocalFile(str(archive)), QUrl.fromLocalFile(str(sample.layout))])
    files.setText("two files")
    assert drag(dialog.source_edit, files, QPoint(2, 2)) == (True, True, True)
    assert dialog.source_note.text() == "Give one image name per copy: the text has 2 lines."
    dialog.reject()
