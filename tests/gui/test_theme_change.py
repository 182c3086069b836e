"""The window's colours of its own follow a palette changed while it is open, as a desktop
switching between light and dark does (Qt sets the application palette anew)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QToolButton, QWidget
from pytestqt.qtbot import QtBot

from spyglass.core.signatures.model import Kind
from spyglass.gui.colors import contrast_ratio, error_color, is_dark, link_color
from spyglass.gui.main_window import MainWindow
from spyglass.gui.views.image_view import LAYERS, RAW
from tests.gui.guitools import (
    SampleFacts,
    dark_palette,
    select_platform,
    show_image,
    text_color,
)
from tests.gui.test_signatures import attachment, build_signed_layout, open_signatures

PALETTES: dict[str, Callable[[], QPalette]] = {
    "light": lambda: QApplication.style().standardPalette(), "dark": dark_palette}


@pytest.fixture
def restore_palette(qapp: QApplication) -> Iterator[None]:
    before = QApplication.palette()
    yield
    QApplication.setPalette(before)


def text_on_window(widget: QWidget) -> float:
    """The contrast of a widget's text on its own background."""
    palette = widget.palette()
    return contrast_ratio(palette.color(QPalette.ColorRole.WindowText),
                          palette.color(QPalette.ColorRole.Window))


@pytest.mark.parametrize("start", ["light", "dark"])
@pytest.mark.usefixtures("restore_palette")
def test_colours_of_our_own_follow_a_palette_changed_while_the_window_is_open(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts,
        start: str) -> None:
    QApplication.setPalette(PALETTES[start]())
    window = make_window()
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    banner = window.copying.panel.failure
    banner.show_text("The copy failed: the destination is read-only.")
    dialog = window.registries.add_registry()
    dialog.host_edit.setText("exa mple.com/path?")
    dialog.test()
    qtbot.waitUntil(dialog.host_error.isVisible)
    caption = window.sidebar.local_caption.findChild(QLabel)
    assert caption is not None
    field = next(label for label in window.image_view.findChildren(QLabel)
                 if label.text() == "Reference")  # (an Overview field name)

    after = "dark" if start == "light" else "light"
    QApplication.setPalette(PALETTES[after]())
    palette = QApplication.palette()

    def follows() -> None:
        # the banner's background is the new theme's, under the new theme's text
        assert is_dark(banner.palette()) == (after == "dark")
        assert contrast_ratio(text_color(banner.label),
                              banner.palette().color(QPalette.ColorRole.Window)) >= 4.5
        # the sidebar is the new theme's view colour, its muted captions read on it, its
        # trees are in the new colours
        assert window.sidebar.palette().color(QPalette.ColorRole.Window) == \
            palette.color(QPalette.ColorRole.Base)
        assert text_on_window(caption) >= 4.5
        for tree in (window.tree, window.registries.tree):  # (no style sheet keeps them)
            assert tree.palette().color(QPalette.ColorRole.Base) == \
                palette.color(QPalette.ColorRole.Base)
        # muted text (the header's subtitle, the Overview's field names) reads and is muted
        for muted in (window.image_view.subtitle, field):
            assert text_on_window(muted) >= 4.5
            assert text_color(muted) != palette.color(QPalette.ColorRole.WindowText)
        # an error sentence is the red of the new theme
        assert text_color(dialog.host_error) == error_color(palette)
        assert text_on_window(dialog.host_error) >= 4.5

    qtbot.waitUntil(follows)  # (Qt tells widgets of the change through posted events)
    dialog.reject()


def icon_ink(button: QAbstractButton) -> QColor:
    """The colour an icon is drawn in: its most opaque pixel's."""
    assert not button.icon().isNull(), button.toolTip()
    image = button.icon().pixmap(16, 16).toImage()
    assert image.width() > 0, button.toolTip()
    pixels = [image.pixelColor(x, y) for x in range(image.width())
              for y in range(image.height())]
    return max(pixels, key=lambda pixel: pixel.alpha())


@pytest.mark.parametrize("start", ["light", "dark"])
@pytest.mark.usefixtures("restore_palette")
def test_icons_drawn_in_the_text_colour_follow_a_palette_changed_while_the_window_is_open(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts,
        start: str) -> None:
    """The "+" of Add a registry and the copy buttons were painted once, in the text
    colour of the palette at start: after a switch, white on white or black on dark
    grey."""
    QApplication.setPalette(PALETTES[start]())
    window = make_window()
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    buttons = [window.sidebar.add_registry_button,
               *[b for b in window.image_view.findChildren(QToolButton)
                 if b.toolTip().startswith("Copy the ") and b.isVisible()][:1]]
    assert len(buttons) == 2  # (a hidden page's buttons are told when it shows)
    new = PALETTES["dark" if start == "light" else "light"]()
    QApplication.setPalette(new)
    # judged once the switch has reached the buttons (judged before, the icon drawn for
    # the old palette passed against the old ground)
    ground = new.color(QPalette.ColorRole.Button)
    qtbot.waitUntil(lambda: all(button.palette().color(QPalette.ColorRole.Button) == ground
                                for button in buttons))
    qtbot.wait(50)  # (what the change starts is done on the next turns of the loop)
    for button in buttons:
        assert contrast_ratio(icon_ink(button), ground) >= 3, button.toolTip()


@pytest.mark.usefixtures("restore_palette")
def test_links_take_the_link_colour_of_a_palette_changed_while_the_window_is_open(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """A label lays its link out once, in that moment's colour: after a switch to dark,
    "Add a registry…" stayed light-theme blue on dark grey (1.9:1)."""
    from collections import Counter

    QApplication.setPalette(PALETTES["light"]())
    window = make_window()
    link = window.sidebar.add_registry_link
    link.show()

    def drawn() -> set[str]:
        image = link.grab().toImage()
        counts = Counter(QColor(image.pixel(x, y)).name()
                         for x in range(image.width()) for y in range(image.height()))
        return {name for name, _count in counts.most_common(3)}

    dark = dark_palette()
    dark.setColor(QPalette.ColorRole.Link, QColor("#8ab4f8"))  # (as dark themes give it)
    assert "#8ab4f8" not in drawn()
    QApplication.setPalette(dark)
    qtbot.waitUntil(lambda: "#8ab4f8" in drawn(), timeout=2000)


COLOURED = re.compile(r"color:\s*(#[0-9a-fA-F]{6})")


def colours_read(rich_text: str, ground: QColor) -> dict[str, float]:
    """The colours rich text names (``color:#…``), each with its contrast on ``ground``."""
    return {name: round(contrast_ratio(QColor(name), ground), 2)
            for name in set(COLOURED.findall(rich_text))}


def reads(what: str, rich_text: str, ground: QColor, dark: bool) -> None:
    """Every colour ``rich_text`` names reads on ``ground`` (there is one at least), the
    ground of a dark palette or of a light one."""
    assert (ground.lightness() < 128) == dark, f"{what}: the palette is not the new one yet"
    said = colours_read(rich_text, ground)
    assert said, f"{what}: no colour named"
    assert min(said.values()) >= 4.5, f"{what} on {ground.name()}: {said}"


def base_of(widget: QWidget) -> QColor:
    return widget.palette().color(QPalette.ColorRole.Base)


def window_of(widget: QWidget) -> QColor:
    return widget.palette().color(QPalette.ColorRole.Window)


@pytest.mark.parametrize("start", ["light", "dark"])
@pytest.mark.usefixtures("restore_palette")
def test_rich_text_is_written_again_in_the_colours_of_a_palette_changed_while_it_shows(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts,
        start: str) -> None:
    """Colours written into rich text stayed as they were written: after a switch to dark,
    the Raw JSON's keys were #0b4f9c on #232323 (2.0:1), the Overview's Labels keys a
    light theme's grey on dark grey (2.1:1)."""
    QApplication.setPalette(PALETTES[start]())
    window = make_window()
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    select_platform(qtbot, window, "linux/amd64")
    view = window.image_view
    overview, layers, history, raw = view.overview, view.layers, view.history, view.raw
    view.tabs.setCurrentIndex(LAYERS)
    layers.table.selectRow(1)
    history.render_config()  # (what showing the tab does)
    view.tabs.setCurrentIndex(RAW)
    qtbot.waitUntil(lambda: bool(raw.current) and "color:" in raw.browser.toHtml())
    about = window.about_box()
    labels = overview._values["Labels"]
    media_type = layers.details._values["Media type"]
    written = {"raw": raw.browser.toHtml(), "labels": labels.text(),
               "media type": media_type.text(), "about": about.text()}

    dark = start == "light"
    QApplication.setPalette(PALETTES["dark" if dark else "light"]())

    def written_again() -> None:
        reads("Raw JSON", raw.browser.toHtml(), base_of(raw.browser), dark)  # (in sight)
        history.render_config()  # (hidden: written again when seen)
        reads("the config", history.config_view.toHtml(), base_of(history.config_view), dark)
        reads("Labels", labels.text(), window_of(labels), dark)
        reads("Annotations", overview._values["Annotations"].text(), window_of(labels), dark)
        reads("Overview's media type", overview._values["Media type"].text(),
              window_of(labels), dark)
        reads("a layer's media type", media_type.text(), window_of(media_type), dark)
        reads("About", about.text(), window_of(about), dark)

    qtbot.waitUntil(written_again)
    assert written != {"raw": raw.browser.toHtml(), "labels": labels.text(),
                       "media type": media_type.text(), "about": about.text()}
    about.close()


@pytest.mark.parametrize("start", ["light", "dark"])
@pytest.mark.usefixtures("restore_palette")
def test_signature_details_take_the_colours_of_a_palette_changed_while_they_show(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, start: str) -> None:
    """The details of a signature wrote the text colour of their moment: after a switch to
    dark the values were black on #232323 (1.3:1), after one to light white on white."""
    QApplication.setPalette(PALETTES[start]())
    signed = build_signed_layout(tmp_path / "signed")
    window.open_location(signed.path, select=False)
    show_image(qtbot, window, "app:1")
    page = open_signatures(qtbot, window)
    page.select(attachment(page, Kind.COSIGN_SIGNATURE))
    text_before = page.details.palette().color(QPalette.ColorRole.Text).name()
    reads("the details", page.details.toHtml(), base_of(page.details), start == "dark")

    dark = start == "light"
    QApplication.setPalette(PALETTES["dark" if dark else "light"]())

    def written_again() -> None:
        html = page.details.toHtml()
        reads("the details", html, base_of(page.details), dark)
        assert text_before not in colours_read(html, base_of(page.details))

    qtbot.waitUntil(written_again)
    assert "Manifest digest" in dict(page.detail_rows)


def with_link(palette: QPalette, link: str) -> QPalette:
    palette = QPalette(palette)
    palette.setColor(QPalette.ColorRole.Link, QColor(link))
    return palette


GROUNDS = (QPalette.ColorRole.Window, QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase)


@pytest.mark.parametrize(("start", "link", "kept"), [
    ("dark", "#308cc6", False),  # GTK's dark Adwaita: 3.1:1 on its window
    ("dark", "#2a82da", False),  # the usual Fusion dark palette's: 3.1:1
    ("dark", "#8ab4f8", True),   # (5.7:1)
    ("light", "#0000ff", True),  # Fusion's
    ("light", "#6fa8ff", False),  # a pale one: 2.3:1 on Fusion's window
])
def test_the_link_colour_reads_on_every_ground_and_one_that_does_is_kept(
        qapp: QApplication, start: str, link: str, kept: bool) -> None:
    palette = with_link(PALETTES[start](), link)
    color = link_color(palette)
    assert (color.name() == link) == kept, color.name()
    for role in GROUNDS:
        assert contrast_ratio(color, palette.color(role)) >= 4.5, (role, color.name())
    # (lighter on a dark window, darker on a light one)
    assert (color.lightness() >= QColor(link).lightness()) == (start == "dark" or kept)


@pytest.mark.parametrize("start", ["dark", "light"])
@pytest.mark.usefixtures("restore_palette")
def test_links_read_in_a_dark_theme_and_after_a_switch(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts,
        monkeypatch: pytest.MonkeyPatch, start: str) -> None:
    """Links took the palette's link colour as it came: dark Adwaita's #308cc6 read at
    3.1 to 3.5:1 under "Add Registry…", the Raw JSON crumbs and "Show it as plain
    text", where secondary text beside them was made to read at 4.5:1. ("Load all", a
    link too then, is a button now.)"""
    from collections import Counter

    from spyglass.gui.views import raw_json

    monkeypatch.setattr(raw_json, "LARGE_JSON", 16)  # (every document too large to lay out)
    QApplication.setPalette(PALETTES[start]())
    window = make_window()
    link = window.sidebar.add_registry_link
    qtbot.waitUntil(link.isVisible)
    image = link.grab().toImage()
    ground, ink = (QColor(name) for name, _count in Counter(
        image.pixel(x, y) for x in range(image.width())
        for y in range(image.height())).most_common(2))
    assert contrast_ratio(ink, ground) >= 4.5, (ink.name(), ground.name())
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    raw = view.raw
    view.tabs.setCurrentIndex(RAW)
    select_platform(qtbot, window, "linux/arm/v7")  # (the list's title a link above it)
    qtbot.waitUntil(lambda: "<a " in raw.crumbs.text()
                    and "Show it as plain text" in raw.browser.toPlainText())
    def links_read(dark: bool) -> None:
        reads("Add Registry…", link.text(), window_of(link), dark)
        reads("the crumbs", raw.crumbs.text(), window_of(raw.crumbs), dark)
        raw.render_document()  # (hidden: written again when seen)
        reads("Show it as plain text", raw.browser.toHtml(), base_of(raw.browser), dark)

    links_read(start == "dark")
    after = "light" if start == "dark" else "dark"
    QApplication.setPalette(PALETTES[after]())
    qtbot.waitUntil(lambda: links_read(after == "dark"))
