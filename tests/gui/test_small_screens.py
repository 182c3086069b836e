"""The window and its dialogs on a screen smaller than they would like (the offscreen
screen is 800x800): they open within it, and what they show is within reach."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from spyglass.core.settings import Settings
from spyglass.gui.copy_drops import DraggedImage
from spyglass.gui.main_window import MainWindow
from tests.gui.guitools import SampleFacts, show_image

pytestmark = pytest.mark.gui


def within_screen(window: QWidget) -> tuple[QRect, QRect]:
    """``window``'s frame and its screen's room, for an assertion that the one holds the
    other."""
    return window.frameGeometry(), window.screen().availableGeometry()


def test_the_first_window_fits_its_screen(qtbot: QtBot,
                                          make_window: Callable[..., MainWindow]) -> None:
    """The window opened at 1200x760 on any screen: on 1280x720, or 1080p at 150 %, its
    status bar and the Transfers rows were below the screen's edge."""
    window = make_window()
    assert not window.restore_window_geometry()  # (none saved)
    qtbot.waitExposed(window)
    frame, room = within_screen(window)
    assert room.contains(frame), (frame, room)
    places, content = window.splitter.sizes()
    assert places < content  # (the places keep their width, the content the rest)


def test_a_window_saved_on_a_larger_screen_comes_back_within_this_one(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """A laptop taken off its monitor: the window was put back as large as it was."""
    larger = make_window()
    larger.setGeometry(300, 200, 1600, 1000)
    qtbot.waitExposed(larger)
    geometry = bytes(larger.saveGeometry().toBase64().data()).decode("ascii")
    window = make_window(Settings(first_run_done=True, window_geometry=geometry))
    qtbot.waitExposed(window)
    assert window.restore_window_geometry()
    frame, room = within_screen(window)
    assert room.contains(frame), (frame, room)


@pytest.mark.parametrize("font", ["default", "big"])
def test_the_layer_files_dialog_fits_its_screen(
        request: pytest.FixtureRequest, qtbot: QtBot, make_window: Callable[..., MainWindow],
        sample: SampleFacts, font: str) -> None:
    """It opened at 920x600 whatever the screen (its Close button below a 960x540 one),
    and at a large font its digest line made it 1350 px wide."""
    if font == "big":
        request.getfixturevalue("big_font")
    window = make_window()
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    row = view.layers.model.rows[1]
    view.open_layer_files(row.descriptor, number=row.number)
    dialog = view.file_dialogs[-1]
    qtbot.waitExposed(dialog)
    frame, room = within_screen(dialog)
    assert room.contains(frame), (frame, room)
    assert dialog.minimumSizeHint().width() < room.width() // 2, dialog.minimumSizeHint()
    digest = str(row.descriptor.digest)
    assert dialog.digest.text() == digest
    if font == "big":
        dialog.resize(room.width() // 2, dialog.height())
        qtbot.waitUntil(lambda: dialog.digest.shown_text() != digest)
        assert dialog.digest.toolTip() == digest


@pytest.mark.usefixtures("big_font")
def test_at_a_large_font_add_registry_is_as_wide_as_what_it_shows(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """Qt opened it at most two thirds of the screen wide, and its least width of 520 px
    kept it there: "Allow insecure connections (plain HTTP or unverified TLS)" was cut."""
    window = make_window()
    dialog = window.registries.add_registry()
    qtbot.waitExposed(dialog)
    QApplication.processEvents()
    box = dialog.insecure_box
    assert box.width() >= box.sizeHint().width(), (box.width(), box.sizeHint(), dialog.size())
    assert dialog.width() >= dialog.minimumSizeHint().width()
    frame, room = within_screen(dialog)
    assert frame.width() <= room.width(), (frame, room)


def test_a_long_invalid_destination_is_cut_in_the_copy_dialogs_sentence(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts) -> None:
    """The sentence quoted the name whole, which no line could break: it ran past the
    dialog's edge (the dialog's least width became 1153 px)."""
    window = make_window()
    image = DraggedImage(f"oci:{sample.layout}:spyglass-demo:1.0", "spyglass-demo:1.0")
    dialog = window.copying.open_dialog(image)
    qtbot.waitExposed(dialog)
    typed = "Name:" + "v" * 300
    dialog.destination_edit.setText(typed)
    note = dialog.destination_note
    qtbot.waitUntil(lambda: note.text().startswith("Invalid image name"))
    whole = f'Invalid image name "{typed}"'
    assert whole not in note.text() and '"Name:vvv' in note.text() and "…" in note.text()
    assert note.toolTip().startswith(whole)  # (and the field holds it whole)
    QApplication.processEvents()
    room = dialog.screen().availableGeometry()
    assert dialog.minimumSizeHint().width() < room.width(), dialog.minimumSizeHint()
    assert dialog.width() >= dialog.minimumSizeHint().width()
    dialog.reject()


@pytest.mark.usefixtures("big_font")
def test_at_a_large_font_add_registrys_hint_wraps_only_where_the_fields_end(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """"Leave both empty to browse without signing in." wraps now that the dialog fits a
    small screen: at the fields' width, not half of it."""
    window = make_window()
    dialog = window.registries.add_registry()
    qtbot.waitExposed(dialog)
    QApplication.processEvents()
    assert dialog.credentials_hint.width() == dialog.user_edit.width()
