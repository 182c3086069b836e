"""Long names (a repository nested deep, a tag of the 128 characters allowed) are cut
where they are shown, whole in their tooltip: they never set the window's least width,
which a 1024 px screen must hold."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from pytestqt.qtbot import QtBot

from spyglass.core.manifest import REF_NAME_ANNOTATION
from spyglass.core.text import visible
from spyglass.gui import icons
from spyglass.gui.main_window import MainWindow
from spyglass.gui.views.registry_pages import PageHeader
from spyglass.gui.views.widgets import ElidedLabel
from tests.gui.guitools import (
    WAIT_MS,
    SampleFacts,
    item_text,
    menu_items,
    press_menu_key,
    select_platform,
    show_image,
    wait_listed,
)

pytestmark = pytest.mark.gui

LONG_REPOSITORY = "platform-team/nightly-builds/very/deeply/nested/repository-name-for-demo"


def test_a_long_repository_name_is_cut_in_the_page_header(qtbot: QtBot) -> None:
    """The repository page's title was a label as wide as the name: the window grew to
    1240 px on a 1024 px screen, and stayed that wide on every other page."""
    header = PageHeader()
    qtbot.addWidget(header)
    header.add_button("Copy Reference")
    header.set(icons.repository_icon(), LONG_REPOSITORY, "127.0.0.1:5000")
    assert header.minimumSizeHint().width() < 400, header.minimumSizeHint()
    header.resize(400, header.sizeHint().height())
    header.show()
    qtbot.waitExposed(header)
    title = header.title
    assert title.text() == LONG_REPOSITORY
    qtbot.waitUntil(lambda: title.shown_text() != LONG_REPOSITORY)
    shown = title.shown_text()
    assert shown.startswith("platform") and shown.endswith("for-demo") and "…" in shown
    assert title.toolTip() == LONG_REPOSITORY


LONG_TAG = ("nightly-build-of-the-main-branch-with-every-optional-feature-enabled-"
            "for-the-integration-environment-2024-06-07-0123456789abcdef")


@pytest.fixture
def long_tagged(sample: SampleFacts, tmp_path: Path) -> Path:
    """The sample layout, its list image tagged with a tag as long as tags may be."""
    layout = tmp_path / "long-tag"
    shutil.copytree(sample.layout, layout)
    index = json.loads((layout / "index.json").read_bytes())
    for entry in index["manifests"]:
        annotations = entry["annotations"]
        if annotations[REF_NAME_ANNOTATION] == "spyglass-demo:1.0":
            annotations[REF_NAME_ANNOTATION] = f"spyglass-demo:{LONG_TAG}"
    (layout / "index.json").write_text(json.dumps(index))
    return layout


def test_a_long_tag_is_cut_in_raw_json_and_in_the_status_bar(
        qtbot: QtBot, make_window: Callable[..., MainWindow], long_tagged: Path) -> None:
    """Raw JSON's path of documents and the status bar's reference were labels as wide
    as the tag: the window could not be narrower than 1000 px once Raw JSON had shown,
    and the status bar cut the reference mid-letter at the window's edge."""
    window = make_window()
    window.resize(900, 600)
    window.open_location(long_tagged, select=False)
    label = f"spyglass-demo:{LONG_TAG}"
    show_image(qtbot, window, label)
    view = window.image_view
    view.tabs.setCurrentWidget(view.raw)
    QApplication.processEvents()
    window.layout().activate()  # (the layouts take in what is shown)
    assert window.minimumSizeHint().width() < 800, window.minimumSizeHint()
    assert view.raw.minimumSizeHint().width() < 400, view.raw.minimumSizeHint()
    assert window.statusBar().minimumSizeHint().width() < 200
    crumbs = view.raw.crumbs
    assert crumbs.titles() == [label]

    # the crumbs: the tag cut in its middle, whole in the tooltip; the last title whole
    select_platform(qtbot, window, "linux/arm/v7")
    assert crumbs.titles() == [label, "linux/arm/v7"]
    qtbot.waitUntil(lambda: crumbs.shown_titles()[0] != label)
    first, last = crumbs.shown_titles()
    assert first.startswith("spyglass-demo:") and "…" in first and last == "linux/arm/v7"
    assert crumbs.toolTip() == f"{label} \u00a0\u203a\u00a0 linux/arm/v7"
    crumbs.linkActivated.emit("crumb:1")  # (a title cut is still a link)
    assert [d.title for d in view.raw.documents] == [label]

    # the status bar: the reference cut in its middle, leaving the notices their room
    name = window.name_label
    assert name.text().endswith(LONG_TAG)
    qtbot.waitUntil(lambda: name.shown_text() != name.text())
    assert "…" in name.shown_text() and name.toolTip() == name.text()
    assert name.width() <= window.width() // 2



def test_the_window_title_cuts_a_long_name_in_its_middle(
        qtbot: QtBot, window: MainWindow, long_tagged: Path) -> None:
    """The window title (the taskbar's, the window switcher's) was the image's name whole,
    hundreds of characters for a long reference, where the title in the window and the
    status bar cut it: cut in its middle too, a short one whole; so is a place's."""
    most = 80  # (main_window.TITLE_CHARS)
    window.open_location(long_tagged, select=False)
    label = f"spyglass-demo:{LONG_TAG}"
    show_image(qtbot, window, label)
    title = window.windowTitle()
    name = title.removesuffix(" — Spyglass")
    assert name != title and len(name) == most
    assert name.startswith("spyglass-demo:nightly-build") and "…" in name
    assert name.endswith("0123456789abcdef")
    show_image(qtbot, window, "tools:2024.1")
    assert window.windowTitle() == "tools:2024.1 — Spyglass"
    deep = long_tagged.parent / ("a-folder-of-layouts-" * 8 + "layout")
    long_tagged.rename(deep)
    window.open_location(deep, select=False)
    wait_listed(qtbot, window, 1)
    window.tree.setCurrentIndex(window.places.index(1, 0))  # the place's own page
    name = window.windowTitle().removesuffix(" — Spyglass")
    assert len(name) == most
    assert name.startswith("a-folder-of-layouts-") and name.endswith("-layout")


def test_a_cut_label_keeps_the_tooltip_its_owner_gave_it(qtbot: QtBot) -> None:
    """Each resize set the tooltip of a cut label to its text, or to nothing where it was
    whole: a tooltip its owner had given it went at the first layout."""
    label = ElidedLabel(mode=Qt.TextElideMode.ElideMiddle)
    qtbot.addWidget(label)
    label.setText(LONG_REPOSITORY)
    label.setToolTip("The owner's words")
    label.resize(2000, 30)
    label.show()
    qtbot.waitExposed(label)
    assert label.shown_text() == LONG_REPOSITORY
    assert label.toolTip() == "The owner's words"
    label.resize(120, 30)
    qtbot.waitUntil(lambda: label.shown_text() != LONG_REPOSITORY)
    assert label.toolTip() == f"{LONG_REPOSITORY}\nThe owner's words"
    label.setToolTip("")
    assert label.toolTip() == LONG_REPOSITORY
    label.resize(2000, 30)
    qtbot.waitUntil(lambda: label.shown_text() == LONG_REPOSITORY)
    assert label.toolTip() == ""


def test_a_cut_label_ends_its_painter_when_it_has_painted(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its painter was left to the garbage collector: where a reference to it outlived
    the paint (a debugger's frame, a profiler), it was still active as the paint ended,
    and Qt said "QBackingStore::endPaint() called with active painter"."""
    from PySide6.QtGui import QPainter

    from spyglass.gui.views import widgets

    painters: list[QPainter] = []

    class Kept(QPainter):
        def __init__(self, *args: object) -> None:
            super().__init__(*args)
            painters.append(self)  # (a reference that outlives the paint)

    monkeypatch.setattr(widgets, "QPainter", Kept)
    label = ElidedLabel(LONG_REPOSITORY, mode=Qt.TextElideMode.ElideMiddle)
    qtbot.addWidget(label)
    label.resize(120, 30)
    label.grab()
    assert painters
    assert not any(painter.isActive() for painter in painters)


def test_the_image_header_subtitle_keeps_the_image_name_in_its_tooltip(
        qtbot: QtBot, demo: MainWindow) -> None:
    """The subtitle says the layout's folder only; its tooltip names the image in full
    (``oci:PATH:REF``): a resize replaced it with the subtitle, or with nothing."""
    subtitle = demo.image_view.subtitle
    state = demo.image_view.state
    assert state is not None
    name = visible(state.entry.name)
    assert name.startswith("oci:") and name.endswith(":spyglass-demo:1.0")
    demo.resize(1700, demo.height())
    qtbot.waitUntil(lambda: subtitle.shown_text() == subtitle.text())
    assert subtitle.toolTip() == name
    demo.resize(700, demo.height())
    qtbot.waitUntil(lambda: subtitle.shown_text() != subtitle.text())
    assert subtitle.toolTip() == f"{subtitle.text()}\n{name}"


def choose_in_menu(qtbot: QtBot, cause: Callable[[], object], item: str) -> dict[str, bool]:
    """Choose ``item`` in the menu ``cause`` pops up; answer the menu's items."""
    seen: list[dict[str, bool]] = []

    def choose() -> None:
        menu = QApplication.activePopupWidget()
        if isinstance(menu, QMenu):
            seen.append(menu_items(menu))
            action = next(a for a in menu.actions() if item_text(a) == item)
            menu.close()
            action.trigger()

    QTimer.singleShot(0, choose)
    cause()
    qtbot.waitUntil(lambda: bool(seen), timeout=WAIT_MS)
    return seen[0]


def activate(qtbot: QtBot, window: QWidget) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=WAIT_MS)


def right_click_on(widget: QWidget) -> None:
    handle = widget.window().windowHandle()
    assert handle is not None
    QTest.mouseClick(handle, Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier,
                     widget.mapTo(widget.window(), widget.rect().center()))


def test_a_cut_repository_title_is_copied_whole(qtbot: QtBot) -> None:
    """The repository page's title was a label whose text the mouse selected and Ctrl+C
    copied; cut in its middle it could not be selected, nor copied (a tooltip cannot).
    Copy in its menu, Ctrl+C once it is clicked, and the menu keys copy it whole."""
    header = PageHeader()
    qtbot.addWidget(header)
    header.set(icons.repository_icon(), LONG_REPOSITORY, "127.0.0.1:5000")
    header.resize(400, header.sizeHint().height())
    header.show()
    qtbot.waitExposed(header)
    title = header.title
    qtbot.waitUntil(lambda: title.shown_text() != LONG_REPOSITORY)
    clipboard = QGuiApplication.clipboard()
    said: list[str] = []
    title.copied.connect(said.append)

    clipboard.setText("")
    items = choose_in_menu(qtbot, lambda: right_click_on(title), "Copy")
    assert items == {"Copy": True}
    qtbot.waitUntil(lambda: clipboard.text() == LONG_REPOSITORY, timeout=WAIT_MS)
    assert said == [f"Copied {LONG_REPOSITORY}"]

    clipboard.setText("")
    activate(qtbot, header)  # (offscreen, the window a menu closed over is not again)
    qtbot.mouseClick(title, Qt.MouseButton.LeftButton)
    assert title.hasFocus()
    QTest.keyClick(title, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == LONG_REPOSITORY

    clipboard.setText("")
    choose_in_menu(qtbot, lambda: QTest.keyClick(title, Qt.Key.Key_F10,
                                                 Qt.KeyboardModifier.ShiftModifier), "Copy")
    qtbot.waitUntil(lambda: clipboard.text() == LONG_REPOSITORY, timeout=WAIT_MS)
    clipboard.setText("")
    activate(qtbot, header)
    title.setFocus()
    choose_in_menu(qtbot, lambda: press_menu_key(title), "Copy")
    qtbot.waitUntil(lambda: clipboard.text() == LONG_REPOSITORY, timeout=WAIT_MS)


def test_the_status_bar_reference_and_the_page_titles_are_copied_whole(
        qtbot: QtBot, make_window: Callable[..., MainWindow], long_tagged: Path) -> None:
    """The status bar's reference was a label the mouse selected and copied from; cut in
    its middle, it could not be. Ctrl+C on it (clicked) copies it whole, not the window's
    Copy Reference; the status bar says what was copied, as of the pages' titles."""
    window = make_window()
    window.resize(900, 600)
    window.open_location(long_tagged, select=False)
    show_image(qtbot, window, f"spyglass-demo:{LONG_TAG}")
    name = window.name_label
    qtbot.waitUntil(lambda: name.shown_text() != name.text())
    assert name.text().endswith(f":spyglass-demo:{LONG_TAG}")
    clipboard = QGuiApplication.clipboard()
    clipboard.setText("")
    qtbot.mouseClick(name, Qt.MouseButton.LeftButton)
    assert name.hasFocus()
    QTest.keyClick(name, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == name.text()
    assert window.message_label.text() == f"Copied {name.text()}"

    for page in (window.registries.registry_page, window.registries.repository_page):
        page.header.title.setText(LONG_REPOSITORY)
        page.header.title.copy()
        assert clipboard.text() == LONG_REPOSITORY
        assert window.message_label.text() == f"Copied {LONG_REPOSITORY}"
        window.message_label.setText("")
