"""What screen readers are told of the window: every button, view and field by a name,
status changes said aloud, the sentence of a wrong field linked to it, the painted
"signed" pill in the cell's text, and secondary text that can be read (4.5:1) in a
light and a dark palette. Names are read as a reader gets them, through
``QAccessible.queryAccessibleInterface``."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QAccessible,
    QAccessibleEvent,
    QColor,
    QGuiApplication,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTableView,
    QTextEdit,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from spyglass.core import media
from spyglass.core.config import HistoryEntry
from spyglass.core.digest import Digest
from spyglass.core.errors import RegistryError, SpyglassError
from spyglass.core.layerfiles import LayerFile
from spyglass.core.manifest import Descriptor
from spyglass.core.settings import RegistrySettings, Settings
from spyglass.core.signatures.model import Kind
from spyglass.core.transports.registry import RegistryClient
from spyglass.gui import announce
from spyglass.gui.colors import contrast_ratio, muted_color
from spyglass.gui.dialogs.crash import CrashDialog
from spyglass.gui.dialogs.layer_files import LayerFilesDialog
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.history import LAYER, HistoryModel, HistoryRow
from spyglass.gui.models.layer_files import PATH, LayerFilesModel
from spyglass.gui.views.signatures_page import NOT_SIGNATURE_TIP, VERIFY_TIP
from spyglass.gui.views.widgets import Spinner, select_row
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import (
    WAIT_MS,
    SampleFacts,
    accessible_cells,
    add_registry,
    dark_palette,
    fill_registry_dialog,
    show_image,
    test_connection,
    wait_listed,
    wait_repositories,
    wait_tags,
)
from tests.gui.scripted import FakeClock, ScriptedCopy, finish, start_scripted
from tests.gui.test_registries import focus
from tests.gui.test_signatures import attachment, build_signed_layout, open_signatures
from tests.helpers import cosign
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder
from tests.helpers.registry import free_port

ANNOUNCEMENT_EVENT = getattr(QtGui, "QAccessibleAnnouncementEvent", None)
"""Qt's announcement event (PySide6 6.8 on); the tests of what is said need it, the rest
of the file runs on the older PySide6 the window takes."""

Said = list[tuple[str, bool]]
"""What screen readers were told: each sentence, and whether it was assertive."""


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> Said:
    """The announcements the window sends, recorded where they reach Qt."""
    if ANNOUNCEMENT_EVENT is None:
        pytest.skip("needs PySide6 6.8 or later (QAccessibleAnnouncementEvent)")
    told: Said = []

    def update(event: QAccessibleEvent) -> None:
        if isinstance(event, ANNOUNCEMENT_EVENT):
            told.append((event.message(), event.politeness()
                         is QAccessible.AnnouncementPoliteness.Assertive))

    announce.forget()
    monkeypatch.setattr(QAccessible, "updateAccessibility", staticmethod(update))
    return told


def name_of(widget: QWidget) -> str:
    interface = QAccessible.queryAccessibleInterface(widget)
    assert interface is not None
    return interface.text(QAccessible.Text.Name)


def description_of(widget: QWidget) -> str:
    interface = QAccessible.queryAccessibleInterface(widget)
    assert interface is not None
    return interface.text(QAccessible.Text.Description)


def own_tool_buttons(window: QWidget) -> list[QToolButton]:
    """The window's icon and mark buttons, and the fields' clear buttons (not the tab
    bar's and menu bar's scroll buttons, which Qt names itself)."""
    return [button for button in window.findChildren(QToolButton)
            if not isinstance(button.parent(), QTableView)
            and button.parent().metaObject().className() not in ("QTabBar", "QMenuBar")]


# -- buttons


def test_icon_and_close_buttons_are_named_by_what_they_do(qtbot: QtBot, demo: MainWindow) -> None:
    """The copy buttons, "+", Back and the ✕ buttons: a reader said "push button" (no name)
    or "multiplication x"."""
    overview = demo.image_view.overview
    digest_button = overview.copy_button("Digest")
    assert digest_button is not None
    assert name_of(digest_button) == "Copy the digest"
    assert name_of(demo.sidebar.add_registry_button) == "Add Registry"
    raw = demo.image_view.raw
    assert name_of(raw.back_button) == "Back to the previous document"
    assert name_of(raw.copy_button) == "Copy this document's JSON"
    assert name_of(demo.copying.panel.close_button) == "Hide the Transfers panel"
    assert name_of(demo.session_banner.close_button) == "Dismiss"
    clear = demo.registries.repository_page.filter.findChild(QToolButton)
    assert clear is not None and name_of(clear) == "Clear"  # (Qt's, in the field)
    buttons = own_tool_buttons(demo)
    assert len(buttons) > 6
    for button in buttons:
        name = name_of(button)
        assert len(name) > 3 and any(c.isalpha() for c in name), (button.toolTip(), name)


# -- views and fields


def unnamed(root: QWidget) -> list[str]:
    """The views, text panes and fields under ``root`` that a reader gets with no name
    (the line edits of combo and spin boxes are theirs), and the scroll areas Tab stops
    at with none (the Layers tab's details were a stop nothing named nor framed)."""
    def wanted(widget: QWidget) -> bool:
        if isinstance(widget, QLineEdit):
            return not isinstance(widget.parent(), QComboBox | QAbstractSpinBox)
        if isinstance(widget, QAbstractItemView | QTextEdit | QPlainTextEdit):
            return not isinstance(widget, QHeaderView)  # (the table's own)
        return isinstance(widget, QAbstractScrollArea) \
            and bool(widget.focusPolicy() & Qt.FocusPolicy.TabFocus)

    return [f"{type(widget).__name__} in {widget.parent().metaObject().className()}"
            for widget in root.findChildren(QWidget)
            if wanted(widget) and not name_of(widget).strip()]


def test_trees_tables_lists_panes_and_filters_say_what_they_hold(
        qtbot: QtBot, demo: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """A reader entering a view heard "tree" or "table", and a filter field its hint
    only; the sidebar's trees are named as their captions say."""
    assert name_of(demo.tree) == "Local places"
    assert name_of(demo.registries.tree) == "Registries"
    view = demo.image_view
    assert [name_of(table) for table in (view.platforms.table, view.layers.table,
                                         view.history.table, demo.copying.panel.table)] \
        == ["Platforms", "Layers", "History", "Transfers"]
    assert name_of(demo.registries.repository_page.table) == "Tags"
    assert name_of(demo.registries.repository_page.filter) == "Filter tags"
    assert name_of(demo.registries.registry_page.filter) == "Filter repositories"
    assert name_of(demo.registries.registry_page.list) == "Repositories"
    assert unnamed(demo) == []
    assert {name_of(spinner) for spinner in demo.findChildren(Spinner)} == {"Busy"}

    class Untouched:
        def open_blob(self, *_args: object, **_kwargs: object) -> None:
            raise AssertionError("nothing is read")

    blob = Descriptor("application/wasm", Digest.of(b"\0asm"), 4)
    files = LayerFilesDialog(demo.runner, Untouched(), blob, "module.wasm")  # type: ignore[arg-type]
    qtbot.addWidget(files)
    assert name_of(files.filter) == "Filter by path"
    assert name_of(files.table) == "Files"
    crash = CrashDialog("RuntimeError: boom", "Traceback …")
    qtbot.addWidget(crash)
    transfer = start_scripted(qtbot, demo, scripted, FakeClock(), tmp_path)
    panel = demo.copying.panel
    panel.select(transfer)
    details = panel.show_details(transfer)
    assert details is not None
    for dialog in (files, crash, details):
        assert unnamed(dialog) == [], dialog.windowTitle()


# -- contrast


def grey_palette() -> QPalette:
    """A light theme with a mid-grey window: the usual mix of text and window reads 3.5:1."""
    palette = QApplication.style().standardPalette()
    for role, color in ((QPalette.ColorRole.Window, "#d0d0d0"),
                        (QPalette.ColorRole.WindowText, "#202020"),
                        (QPalette.ColorRole.Text, "#202020")):
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            palette.setColor(group, role, QColor(color))
    return palette


PALETTES = {"light": lambda: QApplication.style().standardPalette(),
            "dark": dark_palette, "grey": grey_palette}


@pytest.fixture(params=sorted(PALETTES))
def palette(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[QPalette]:
    """The application under each palette in turn (the one before it restored)."""
    before = QApplication.palette()
    chosen = PALETTES[request.param]()
    QApplication.setPalette(chosen)
    yield QApplication.palette()
    QApplication.setPalette(before)


def least_contrast(color: object, palette: QPalette) -> float:
    assert isinstance(color, QColor), color
    return min(contrast_ratio(color, palette.color(role))
               for role in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase,
                            QPalette.ColorRole.Window))


def test_secondary_text_reads_at_4_5_to_1_in_each_palette(palette: QPalette) -> None:
    assert least_contrast(muted_color(), palette) >= 4.5
    assert least_contrast(muted_color(palette, 0.7), palette) >= 4.5


def test_rows_that_say_less_are_still_readable(
        qtbot: QtBot, palette: QPalette, window: MainWindow, tmp_path: Path) -> None:
    """An empty history step, a whiteout and a place that cannot be read were drawn in the
    palette's disabled grey: 1.9:1 on a light view."""
    history = HistoryModel()
    history.set_rows([HistoryRow(HistoryEntry(None, "ENV A=1", "", "", True), None)])
    files = LayerFilesModel()
    files.set_rows([LayerFile("etc/gone", "whiteout", 0, 0, None, 0)])
    broken = tmp_path / "broken-layout"
    broken.mkdir()
    (broken / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (broken / "index.json").write_text("{not json")
    place = window.open_location(broken, select=False)
    places = window.places
    qtbot.waitUntil(lambda: places.rowCount(place) > 0, timeout=WAIT_MS)
    message = places.index(0, 0, place)
    assert "not JSON" in str(message.data(places.ERROR_ROLE))  # (the row: short)
    for index in (history.index(0, LAYER), files.index(0, PATH), message):
        color = index.data(Qt.ItemDataRole.ForegroundRole)
        assert least_contrast(color, palette) >= 4.5, (index.data(), QColor(color).name())


# -- what is only painted


def test_the_shown_platform_and_a_failed_registry_are_told_not_only_drawn(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts) -> None:
    """The Platforms row shown has an icon and bold type; a registry that cannot be listed
    a warning icon: a screen reader got neither."""
    host = f"127.0.0.1:{free_port()}"
    window = make_window(Settings(first_run_done=True,
                                  registries=[RegistrySettings(host, insecure=True)]))
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    cells = accessible_cells(window.image_view.platforms.table)
    assert [name for name in cells if name.endswith(", shown")] == ["linux, shown"], cells
    model = window.registries.model
    index = model.registry_index(host)
    with qtbot.waitSignal(model.registryFailed, timeout=WAIT_MS * 4) as failed:
        window.registries.tree.setCurrentIndex(index)
    assert f"{host}, cannot be listed" in accessible_cells(window.registries.tree)
    assert model.data(index, Qt.ItemDataRole.AccessibleDescriptionRole) == failed.args[1]


def test_a_tags_digest_cell_is_told_in_words_with_the_whole_digest(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A digest not known yet read as "…" ("horizontal ellipsis"), one that could not be
    read as "—" ("em dash"), and the whole digest and the reason were in the tooltip
    alone, which the keyboard cannot show."""
    head = RegistryClient.head_manifest
    release = threading.Event()

    def failing(self: RegistryClient, repository: str, reference: str,
                **kwargs: Any) -> Any:
        if reference == "1.2":
            release.wait(5)
        if reference == "1.9":
            raise RegistryError("The registry answered HTTP 500 for demo/app:1.9.",
                                status=500)
        return head(self, repository, reference, **kwargs)

    monkeypatch.setattr(RegistryClient, "head_manifest", failing)
    host = demo_registry.host
    add_registry(qtbot, window, host, insecure=True)
    wait_repositories(qtbot, window, host)
    b = window.registries
    b.select(b.model.repository_index(host, "demo/app"))
    wait_tags(qtbot, window, host, "demo/app")
    table = b.repository_page.table

    def cell(tag: str) -> Any:
        interface = QAccessible.queryAccessibleInterface(table)
        assert interface is not None
        children = [interface.child(i) for i in range(interface.childCount())]
        row = next(i for i, child in enumerate(children)
                   if child.text(QAccessible.Text.Name) == tag)
        return children[row + 1]  # (the digest, beside the name)

    qtbot.waitUntil(lambda: "1.2" in accessible_cells(table), timeout=WAIT_MS)
    assert cell("1.2").text(QAccessible.Text.Name) == "looking up the digest"
    release.set()
    qtbot.waitUntil(lambda: cell("1.9").text(QAccessible.Text.Name) == "digest unknown",
                    timeout=WAIT_MS)
    assert cell("1.9").text(QAccessible.Text.Description) == \
        "The registry answered HTTP 500 for demo/app:1.9."
    digest = demo_registry.digests["demo/app:1.2"]
    qtbot.waitUntil(lambda: cell("1.2").text(QAccessible.Text.Description) == digest,
                    timeout=WAIT_MS)
    assert digest.startswith(cell("1.2").text(QAccessible.Text.Name))


# -- announcements


def test_copies_ending_and_text_copied_are_said_aloud(
        qtbot: QtBot, demo: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        said: Said) -> None:
    """A reader heard nothing when a copy finished or failed, or when a copy button had
    put a digest on the clipboard: only labels out of focus changed."""
    button = demo.image_view.overview.copy_button("Digest")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith("sha256:")
    assert said == [(f"Copied {copied}", False)]

    manager = demo.copying.manager
    for folder in ("one", "two"):  # (a scripted copy writes nothing: the place it opens
        # afterwards must be there, or its "does not exist" takes the status bar)
        mirror = tmp_path / folder / "mirror"
        mirror.mkdir(parents=True)
        (mirror / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
        (mirror / "index.json").write_text('{"schemaVersion": 2, "manifests": []}')
    start_scripted(qtbot, demo, scripted, FakeClock(), tmp_path / "one")
    with qtbot.waitSignal(manager.finished, timeout=WAIT_MS):
        scripted.finish(Descriptor(media.OCI_MANIFEST, Digest.of(b"manifest"), 2))
    assert said[-1] == (demo.status_text, False)
    assert said[-1][0].startswith("Copied team/app:2.0 to oci:")

    scripted.events = None
    start_scripted(qtbot, demo, scripted, FakeClock(), tmp_path / "two")
    sentence = "The registry registry.example closed the connection while sending a blob."
    finish(qtbot, demo, scripted, SpyglassError(sentence))
    # said once, whole, from the panel's banner; the status bar's shorter words (for
    # the eye) are not said after it (a reader heard the failure twice)
    qtbot.waitUntil(lambda: any(sentence in text for text, _ in said), timeout=WAIT_MS)
    assert demo.status_text == "Copying team/app:2.0 failed; the Transfers panel says why."
    assert [text for text, _ in said if "failed" in text] == [
        next(text for text, _ in said if sentence in text)]


def test_the_files_dialogs_digest_copy_is_shown_and_said(
        qtbot: QtBot, demo: MainWindow, said: Said) -> None:
    """Its copy button put the digest on the clipboard in silence, where every other
    copy button says "Copied …" in the status bar and to readers."""
    view = demo.image_view
    view.tabs.setCurrentWidget(view.layers)
    select_row(view.layers.table, 0)
    view.layers.table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(view.layers.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(view.file_dialogs), timeout=WAIT_MS)
    dialog = view.file_dialogs[0]
    button = next(button for button in dialog.findChildren(QToolButton)
                  if name_of(button) == "Copy the layer's digest")
    button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(button, Qt.Key.Key_Space)
    digest = str(dialog.layer.digest)
    assert QGuiApplication.clipboard().text() == digest
    assert demo.status_text == f"Copied {digest}"
    assert said == [(f"Copied {digest}", False)]
    dialog.close()


def test_a_retry_is_shown_and_said_as_a_start_and_a_cancel_are(
        qtbot: QtBot, demo: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        said: Said) -> None:
    """After Ctrl+R the status bar still said "…was cancelled", and a reader heard
    nothing; the Retry button alike."""
    transfer = start_scripted(qtbot, demo, scripted, FakeClock(), tmp_path)
    panel = demo.copying.panel
    demo.copying.show_panel()
    panel.table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(panel.table.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=WAIT_MS)
    assert demo.status_text == "Copying team/app:2.0 was cancelled."
    announce.forget()
    said.clear()
    scripted.events = None
    qtbot.keyClick(panel.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: transfer.attempts == 2, timeout=WAIT_MS)
    assert demo.status_text == "Copying team/app:2.0 again…"
    assert said == [("Copying team/app:2.0 again…", False)]

    qtbot.waitUntil(lambda: scripted.events is not None, timeout=WAIT_MS)
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: transfer.state.finished, timeout=WAIT_MS)
    announce.forget()
    said.clear()
    scripted.events = None
    qtbot.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: transfer.attempts == 3, timeout=WAIT_MS)
    assert said == [("Copying team/app:2.0 again…", False)]


def test_a_place_or_image_that_cannot_be_opened_is_said_at_once(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, said: Said) -> None:
    missing = tmp_path / "nowhere"
    window.open_location(missing)
    qtbot.waitUntil(lambda: bool(said), timeout=WAIT_MS)
    # (the pane shows it; the status bar does not echo it, a reader is told all the same)
    assert said == [(window.image_view.error_text, True)] and str(missing) in said[0][0]

    builder = LayoutBuilder(tmp_path / "broken-image")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})]))
    builder.tag(image, "app:1")
    # (its manifest: an image whose config alone is missing is shown, with a banner)
    builder.blob_path(image["digest"]).write_bytes(b"no manifest")
    window.open_location(builder.root, select=False)
    wait_listed(qtbot, window, 1)
    with qtbot.waitSignal(window.image_view.loadFailed, timeout=WAIT_MS) as failed:
        window.tree.setCurrentIndex(window.places.find_image("app:1", 1))
    assert (failed.args[0], True) in said


def test_a_registry_that_cannot_be_reached_is_said_at_once(
        qtbot: QtBot, make_window: Callable[..., MainWindow], said: Said) -> None:
    host = f"127.0.0.1:{free_port()}"
    window = make_window(Settings(first_run_done=True,
                                  registries=[RegistrySettings(host, insecure=True)]))
    model = window.registries.model
    with qtbot.waitSignal(model.registryFailed, timeout=WAIT_MS * 4) as failed:
        window.registries.tree.setCurrentIndex(model.registry_index(host))
    # said once, at once (the page in sight shows the sentence; the status bar does not
    # repeat it)
    assert said.count((failed.args[1], True)) == 1
    assert [text for text, _ in said].count(failed.args[1]) == 1
    assert window.status_text == ""


def test_a_banner_is_said_when_it_comes_not_each_time_it_is_shown_again(
        qtbot: QtBot, window: MainWindow, said: Said) -> None:
    banner = window.session_banner
    banner.show_text("Passwords last until Spyglass quits.")
    banner.show_text("Passwords last until Spyglass quits.")
    assert said == [("Passwords last until Spyglass quits.", False)]
    announce.forget()
    banner.hide()
    banner.show_text("Passwords last until Spyglass quits.")
    assert len(said) == 2


def test_what_a_dialog_answers_is_said(
        qtbot: QtBot, demo: MainWindow, tmp_path: Path, said: Said) -> None:
    """Test Connection's result and a copy the dialog refuses came in labels out of focus."""
    dialog = demo.registries.add_registry()
    fill_registry_dialog(qtbot, dialog, f"127.0.0.1:{free_port()}", insecure=True)
    result = test_connection(qtbot, dialog)
    assert "connection refused" in result
    assert said == [(" ".join(result.split()), True)]
    dialog.reject()

    copy = demo.copying.copy_current()
    assert copy is not None
    copy.destination_edit.setText(f"oci:{tmp_path / 'converted'}:demo")
    qtbot.waitUntil(lambda: bool(copy.platform_boxes), timeout=WAIT_MS)
    copy.compression_combo.setCurrentIndex(copy.compression_combo.findData("zstd"))
    copy.preserve_box.setChecked(True)
    qtbot.waitUntil(copy.copy_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(copy.refused, timeout=WAIT_MS) as refused:
        qtbot.mouseClick(copy.copy_button, Qt.MouseButton.LeftButton)
    assert said[-1] == (refused.args[0], True)
    copy.reject()


# -- a field and what is wrong with it


def test_a_fields_error_is_its_description_while_it_shows(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts,
        tmp_path: Path, said: Said) -> None:
    """A reader on a field heard its label and hint, never the red sentence under it."""
    host = f"127.0.0.1:{free_port()}"
    window = make_window(Settings(first_run_done=True,
                                  registries=[RegistrySettings(host, insecure=True)]))
    dialog = window.registries.add_registry()
    hint = description_of(dialog.host_edit)
    fill_registry_dialog(qtbot, dialog, "http://bad host name")
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    sentence = dialog.host_error.text()
    assert dialog.host_error.isVisible() and "is not a registry host" in sentence
    assert description_of(dialog.host_edit) == sentence
    assert said[-1] == (sentence, True)  # (the focus is on Add)
    fill_registry_dialog(qtbot, dialog, "registry.example.com", "bob")
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert dialog.host_error.isHidden() and description_of(dialog.host_edit) == hint
    assert description_of(dialog.password_edit) == "Enter the password or token for bob."
    dialog.reject()

    page = window.registries.registry_page
    window.registries.open_repository(host, "Demo/App")
    assert "must be lowercase" in description_of(page.open_edit)
    assert said[-1] == (page.open_error.text(), True)
    page.open_edit.setText("demo/")
    assert description_of(page.open_edit) == page.open_edit.placeholderText()

    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    copy = window.copying.copy_current()
    assert copy is not None
    field = copy.destination_edit
    qtbot.keyClicks(field, "oci:")
    assert description_of(field) == copy.destination_note.text() \
        == 'Invalid image name "oci:": the path is empty.'
    qtbot.keyClicks(field, str(tmp_path / "mirror"))
    # right, what the destination is (as said under it) is read with it
    assert description_of(field) == copy.destination_note.text() == (
        f"The OCI image layout in {tmp_path / 'mirror'} (a new one if there is none yet), "
        "the image without a name (add :NAME to give it one).")
    copy.reject()


def test_what_is_said_under_the_copy_destination_reaches_a_reader(
        qtbot: QtBot, demo: MainWindow, sample: SampleFacts, tmp_path: Path,
        said: Said) -> None:
    """The note that the copy takes a name from another image (which then leaves the
    layout), and a refusal, were drawn under the field only: a reader heard the field's
    hint, and Enter copied."""
    target = tmp_path / "layout"
    shutil.copytree(sample.layout, target)
    demo.activateWindow()
    demo.tree.setFocus()
    qtbot.keyClick(demo.tree, Qt.Key.Key_S,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    copy = demo.copying.dialog
    assert copy is not None
    field = copy.destination_edit
    field.selectAll()
    qtbot.keyClicks(field, f"oci:{target}:tools:2024.1")
    qtbot.waitUntil(lambda: not copy.named_note.isHidden(), timeout=WAIT_MS)
    warning = copy.named_note.text()
    assert "names another image now" in warning
    assert description_of(field) == f"{warning} {copy.destination_note.text()}"
    assert said == [(warning, False)]  # once, politely
    announce.forget()
    copy.parallel_spin.setValue(copy.parallel_spin.value() - 1)  # (the dialog validated)
    assert said == [(warning, False)]

    field.setText(f"oci:{target}:new")  # the note goes: nothing of it stays
    qtbot.waitUntil(lambda: copy.named_note.isHidden(), timeout=WAIT_MS)
    assert description_of(field) == copy.destination_note.text()

    (tmp_path / "file").write_text("not a layout")
    field.setText(f"oci:{tmp_path / 'file'}:demo")  # refused
    qtbot.waitUntil(lambda: bool(copy.destination_refusal), timeout=WAIT_MS)
    assert description_of(field) == copy.replace_note.text() == copy.destination_refusal
    assert said[-1] == (copy.destination_refusal, False)
    copy.reject()


# -- the Overview from the keyboard


def test_the_keyboard_reaches_selects_and_copies_the_overviews_values(
        qtbot: QtBot, demo: MainWindow) -> None:
    """Tab stopped on the Overview pane itself (nothing showed it; a reader said "filler")
    and never on its values, which only the mouse could select."""
    demo.resize(1200, 760)  # (every tab in sight: a narrower bar's scroll button is a stop)
    qtbot.waitExposed(demo)
    view = demo.image_view
    overview = view.overview
    view.tabs.setCurrentWidget(overview)
    bar = view.tabs.tabBar()
    bar.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(bar.hasFocus, timeout=WAIT_MS)
    stops: list[QWidget] = []
    for _ in range(40):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focused = QApplication.focusWidget()
        if focused is overview or not overview.isAncestorOf(focused):
            break
        stops.append(focused)
    assert QApplication.focusWidget() is not overview
    values = [stop for stop in stops if isinstance(stop, QLabel)]
    assert [description_of(value) for value in values[:2]] == ["Name", "Reference"]
    assert view.state is not None
    assert name_of(values[1]) == view.state.entry.name == overview.field_text("Reference")
    assert len(values) >= 8  # Media type, Platforms, Created, Size, Layers…
    assert name_of(overview) == "Overview"

    name_value = values[0]
    view.tabs.tabBar().setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(view.tabs.tabBar().hasFocus, timeout=WAIT_MS)
    unfocused = name_value.grab().toImage()
    name_value.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(name_value.hasFocus, timeout=WAIT_MS)
    assert name_value.grab().toImage() != unfocused  # framed: the focus is seen
    unselected = name_value.grab().toImage()
    qtbot.keyClick(name_value, Qt.Key.Key_Home)
    qtbot.keyClick(name_value, Qt.Key.Key_End, Qt.KeyboardModifier.ShiftModifier)
    assert name_value.selectedText() == "spyglass-demo:1.0"
    assert name_value.grab().toImage() != unselected  # the selection shows
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(name_value, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == "spyglass-demo:1.0"


def test_without_qts_announcements_nothing_is_said_and_nothing_fails(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # PySide6 before 6.8 has no QAccessibleAnnouncementEvent (the window takes 6.7 on)
    sent: list[object] = []
    monkeypatch.setattr(announce, "ANNOUNCEMENT", None)
    monkeypatch.setattr(QAccessible, "updateAccessibility", sent.append)
    announce.forget()
    announce.announce(QWidget(), "Copied sha256:0123")
    assert sent == []


def test_the_keyboard_reaches_the_layer_details_values(
        qtbot: QtBot, demo: MainWindow) -> None:
    """Tab went from the Layers table to the two copy buttons and on: the diff ID, the
    creation date, the step that made the layer were the mouse's alone, and a reader
    heard "Copy the diff id, button" but never the diff ID."""
    demo.resize(1200, 760)
    qtbot.waitExposed(demo)
    view = demo.image_view
    view.tabs.setCurrentWidget(view.layers)
    layers = view.layers
    select_row(layers.table, 0)
    details = layers.details
    layers.table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(layers.table.hasFocus, timeout=WAIT_MS)
    stops: list[QWidget] = []
    for _ in range(20):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focused = QApplication.focusWidget()
        if not details.isAncestorOf(focused):
            break
        stops.append(focused)
    assert [description_of(stop) for stop in stops] == [
        details.value("Digest"), details.value("Diff ID"),
        "Media type", "Size", "Created", "Created by"]
    assert [name_of(stop) for stop in stops[:2]] == ["Copy the digest", "Copy the diff id"]
    step = stops[-1]
    assert isinstance(step, QLabel) and name_of(step) == details.value("Created by")
    step.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(step, Qt.Key.Key_Home)
    qtbot.keyClick(step, Qt.Key.Key_End, Qt.KeyboardModifier.ShiftModifier)
    QGuiApplication.clipboard().clear()
    qtbot.keyClick(step, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == details.value("Created by").split("\n")[0]


# -- the Signatures tab's Verify…


def test_verify_is_described_as_what_it_does_on_a_signature(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Once a row that is no signature (an SBOM) had been selected, Verify… kept saying
    "Only signatures and attestations can be verified." on the signatures it checks: its
    tooltip, which a reader says as the button's description."""
    signed = build_signed_layout(tmp_path / "signed")
    window.open_location(signed.path, select=False)
    show_image(qtbot, window, "app:1")
    page = open_signatures(qtbot, window)
    page.select(attachment(page, Kind.SBOM))
    assert not page.verify_button.isEnabled()
    assert description_of(page.verify_button) == NOT_SIGNATURE_TIP
    page.select(attachment(page, Kind.COSIGN_SIGNATURE))
    assert page.verify_button.isEnabled()
    assert page.verify_button.toolTip() == VERIFY_TIP
    assert description_of(page.verify_button) == VERIFY_TIP


def test_a_verdict_is_said_and_the_keyboard_comes_back_to_verify(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, said: Said,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Verify… pressed from the keyboard: the verdict changed under the button in silence
    (nothing said, nothing in the status bar), and the keyboard was left in Details,
    where Qt moved it as the button was disabled for the check."""
    signed = build_signed_layout(tmp_path / "signed")
    window.open_location(signed.path, select=False)
    show_image(qtbot, window, "app:1")
    page = open_signatures(qtbot, window)
    page.select(attachment(page, Kind.COSIGN_SIGNATURE))
    wrong, right = tmp_path / "other.pub", tmp_path / "cosign.pub"
    wrong.write_bytes(cosign.public_key_pem(cosign.generate_key("ecdsa-p256")))
    right.write_bytes(cosign.public_key_pem(signed.key))
    button = page.verify_button
    for key, verdict, assertive in [(wrong, "Signature not valid for the key other.pub.", True),
                                    (right, "Signature valid — made with the key cosign.pub",
                                     False)]:
        monkeypatch.setattr(QFileDialog, "getOpenFileName",
                            staticmethod(lambda *_a, key=key, **_k: (str(key), "")))
        button.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(button.hasFocus, timeout=WAIT_MS)
        said.clear()
        with qtbot.waitSignal(page.verified, timeout=WAIT_MS * 2):
            qtbot.keyClick(button, Qt.Key.Key_Return)
        assert page.verdict.text().startswith(verdict)
        assert [(text.startswith(verdict), loud) for text, loud in said] == [(True, assertive)]
        assert window.status_text.startswith(verdict)
        assert QApplication.focusWidget() is button


# -- notices


def test_a_notice_dismissed_gives_the_keyboard_back_and_says_what_it_closes(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> None:
    """A banner's ✕ pressed from the keyboard sent the focus on to the "+" after it
    (Add Registry), where the next Space opened the Add Registry dialog; with the sample
    notice up too, to the notice's Open Layout Folder…. And the two ✕ were both
    "Dismiss", nothing telling which notice each closes."""
    window.open_location(sample.layout, select=True)
    show_image(qtbot, window, "spyglass-demo:1.0")
    window.show_sample(sample.layout)
    sentence = "Passwords last until Spyglass quits."
    window.session_banner.show_text(sentence)
    banner_close = window.session_banner.close_button
    notice_close = window.sample_notice.close_button
    assert description_of(banner_close) == sentence
    assert description_of(notice_close).startswith("This is a sample image")
    focus(qtbot, window.tree)
    focus(qtbot, banner_close)  # (from LOCAL)
    qtbot.keyClick(banner_close, Qt.Key.Key_Return)
    assert window.session_banner.isHidden()
    assert QApplication.focusWidget() is window.tree
    # the sample notice, from the tree's neighbour that is gone since: to LOCAL
    window.registries.tree.show()
    focus(qtbot, window.registries.tree)
    focus(qtbot, notice_close)
    window.registries.tree.hide()
    qtbot.keyClick(notice_close, Qt.Key.Key_Return)
    assert window.sample_notice.isHidden()
    assert QApplication.focusWidget() is window.tree
    window.registries.tree.show()
    qtbot.keyClick(window.tree, Qt.Key.Key_Space)
    assert window.registries.editing.dialog is None
