"""The window and its dialogs on a screen smaller than they would like (the offscreen
screen is 800x800): they open within it, and what they show is within reach."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from spyglass.core import media
from spyglass.core.copy import Planned
from spyglass.core.settings import Settings
from spyglass.gui import on_screen
from spyglass.gui.copy_drops import DraggedImage
from spyglass.gui.dialogs.crash import CrashDialog
from spyglass.gui.main_window import MainWindow
from tests.gui.guitools import SampleFacts, show_image
from tests.gui.scripted import FakeClock, MiB, ScriptedCopy, blob, feed, plan_of, start_scripted

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


SMALL_ROOM = QRect(0, 0, 683, 384)
"""A 1366x768 screen at 200 % (its panel aside): what Qt gives a window there."""


def fits_small_room(size: QSize) -> bool:
    return size.width() <= SMALL_ROOM.width() * on_screen.SCREEN_SHARE \
        and size.height() <= SMALL_ROOM.height() * on_screen.SCREEN_SHARE


def test_transfer_details_fit_a_small_screen_also_when_their_rows_come(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Transfer Details opened at 860x440 whatever the screen, and grew back to 440 px
    high when its blobs came: Close was below the edge of a 683x384 one."""
    monkeypatch.setattr(on_screen, "screen_room", lambda _widget: QRect(SMALL_ROOM))
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    panel = window.copying.panel
    waiting = panel.show_details(transfer)  # (planning: no rows yet, the list hidden)
    assert waiting is not None and waiting.blobs.isHidden()
    qtbot.waitExposed(waiting)
    assert fits_small_room(waiting.size()), waiting.size()
    feed(qtbot, window, scripted, Planned(plan_of(blob("config", 1500, media.OCI_CONFIG),
                                                  blob("layer", 3 * MiB))))
    assert not waiting.blobs.isHidden()
    assert fits_small_room(waiting.size()), waiting.size()  # (it grew, within the room)
    assert waiting.height() > waiting.minimumSizeHint().height()
    waiting.close()
    listed = panel.show_details(transfer)  # (opened with its rows)
    assert listed is not None and listed is not waiting
    qtbot.waitExposed(listed)
    assert fits_small_room(listed.size()), listed.size()
    listed.close()
    window.copying.manager.cancel(transfer)


def test_the_crash_dialog_fits_a_small_screen(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """It opened at 720x460 whatever the screen: its buttons below a 683x384 one."""
    monkeypatch.setattr(on_screen, "screen_room", lambda _widget: QRect(SMALL_ROOM))
    dialog = CrashDialog("RuntimeError: boom", "Traceback …")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert fits_small_room(dialog.size()), dialog.size()
    assert dialog.width() > SMALL_ROOM.width() // 2  # (as large as the room allows)
