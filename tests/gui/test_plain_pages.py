"""What the image pane says about places: in words a newcomer follows, each thing once, and
its buttons where they were last time (the visual review's findings 7, 8, 9 and 14)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from spyglass.core.settings import Settings
from spyglass.core.settings_file import load_settings
from spyglass.gui.main_window import MainWindow
from tests.gui.guitools import WAIT_MS, wait_listed
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

pytestmark = pytest.mark.gui


def empty_layout(path: Path) -> Path:
    path.mkdir()
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": []}))
    (path / "blobs" / "sha256").mkdir(parents=True)
    return path


def test_an_empty_layouts_page_says_how_to_put_an_image_in_it(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """The sidebar row said "No images yet: drop one here to copy…" (cut), the page, with
    all the room, only "It holds no images.": the page says how, the row is short. The
    sentence sat right under the path, and broke "Copy To…" across two lines."""
    layout = empty_layout(tmp_path / "empty-layout")
    with qtbot.waitSignal(window.places.locationLoaded, timeout=WAIT_MS):
        window.open_location(layout)
    view = window.image_view
    qtbot.waitUntil(lambda: view.location.title.text() == "empty-layout", timeout=WAIT_MS)
    body = view.location.body.text()
    assert "It holds no images yet." in body
    assert "drag an image onto this place" in body and "Copy\u00a0To…" in body
    # the menu item does not break across lines; the path stands apart from the sentence
    description, gap, sentence = body.split("\n")
    assert str(layout) in description and gap == "" and sentence.startswith("It holds")
    row = window.places.index(0, 0, window.places.index(0, 0))
    assert row.data() == "No images yet"
    assert not row.flags() & Qt.ItemFlag.ItemIsEnabled


def test_a_place_that_cannot_be_opened_has_a_short_row_and_no_status_echo(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """The sentence was said three times: on a child row (cut to "The folder "/tmp/…"),
    on the page, and again in the status bar. The row is short, the sentence whole on
    the page and in the row's tooltip; the status bar stays quiet."""
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8")
    with qtbot.waitSignal(window.places.locationFailed, timeout=WAIT_MS) as failed:
        window.open_location(folder)
    sentence = failed.args[1]
    places = window.places
    row = places.index(0, 0, places.index(0, 0))
    assert row.data() == "Cannot be opened"
    assert sentence.split('"')[0] in row.data(Qt.ItemDataRole.ToolTipRole)
    view = window.image_view
    assert view.error_text == sentence
    assert window.status_text == ""


def test_try_again_is_first_on_both_error_pages_and_close_says_what_it_closes(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """"Try Again | Close" on a place, "Reload Location | Try Again" on an image: the
    retry moved, and "Close" under "Cannot open …" read as dismissing the message."""
    with qtbot.waitSignal(window.places.locationFailed, timeout=WAIT_MS):
        window.open_location(tmp_path / "gone")
    view = window.image_view
    qtbot.waitUntil(lambda: view.location_close.isVisible(), timeout=WAIT_MS)
    assert view.location_close.text() == "Close Location"
    assert view.location_retry.x() < view.location_close.x()

    builder = LayoutBuilder(tmp_path / "two-images")
    broken = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})]))
    builder.tag(broken, "broken")
    builder.blob_path(broken["digest"]).write_bytes(b"no manifest")
    window.open_location(builder.root, select=False)
    wait_listed(qtbot, window, 1)
    with qtbot.waitSignal(view.loadFailed, timeout=WAIT_MS):
        window.tree.setCurrentIndex(window.places.find_image("broken", 1))
    qtbot.waitUntil(lambda: view.reload_button.isVisible(), timeout=WAIT_MS)
    assert view.retry_button.text() == view.location_retry.text() == "Try Again"
    assert view.retry_button.x() < view.reload_button.x()


def test_the_first_screen_says_what_spyglass_opens_in_plain_words(window: MainWindow) -> None:
    """It read like the command line's documentation: "dir: layouts", "image archives made
    by docker save or of OCI layouts"."""
    view = window.image_view
    assert view.pages.currentWidget() is view.empty
    body = view.empty.body.text()
    assert "dir:" not in body and "of OCI layouts" not in body
    assert body.startswith("Spyglass opens container images from folders, from archives")


def test_the_first_start_says_it_shows_a_sample_until_dismissed(
        qtbot: QtBot, make_window: Callable[..., MainWindow], settings_file: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first start opened straight on spyglass-demo:1.0: only the folder name hinted
    it was not the user's own, and the empty window's Open and Add buttons were never
    seen. A notice says so, with those buttons; dismissed, it is not shown again."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    window = make_window(Settings())
    window.restore_session()
    wait_listed(qtbot, window)
    notice = window.sample_notice
    qtbot.waitUntil(notice.isVisible, timeout=WAIT_MS)
    assert notice.label.text().startswith("This is a sample image bundled with Spyglass,")
    assert [b.text() for b in notice.buttons] == [
        "Open Layout Folder…", "Open Archive…", "Add Registry…"]
    qtbot.mouseClick(notice.close_button, Qt.MouseButton.LeftButton)
    assert not notice.isVisible()
    assert window.settings.first_run_done
    window.close()
    assert load_settings(settings_file).first_run_done

    again = make_window(load_settings(settings_file))  # the next start: the sample's
    again.restore_session()  # place again, without the notice
    wait_listed(qtbot, again)
    assert not again.sample_notice.isVisible()


def test_rows_with_a_copy_button_are_as_tall_as_the_others(
        qtbot: QtBot, demo: MainWindow) -> None:
    """Digest, Image digest and Diff ID (rows with a copy button) were 26-27 px tall, the
    others 18-22 px: the key/value lists had uneven gaps. The button is a line high."""
    view = demo.image_view
    overview = view.overview
    QApplication.processEvents()  # (laid out)
    button = overview.copy_button("Digest")
    assert button is not None and button.isVisible()
    line = overview._values["Digest"].fontMetrics().height()
    assert button.height() <= line and button.parentWidget().height() <= line + 2
    view.tabs.setCurrentWidget(view.layers)
    view.layers.table.selectRow(1)
    QApplication.processEvents()
    details = view.layers.details
    for name in ("Digest", "Diff ID"):
        field = details.copy_button(name).parentWidget()
        assert field.height() <= details.fontMetrics().height() + 2, name
