"""The window's colours of its own follow a palette changed while it is open, as a desktop
switching between light and dark does (Qt sets the application palette anew)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from spyglass.gui.colors import contrast_ratio, error_color, is_dark
from spyglass.gui.main_window import MainWindow
from tests.gui.guitools import SampleFacts, dark_palette, show_image, text_color

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


@pytest.mark.usefixtures("restore_palette")
def test_links_take_the_link_colour_of_a_palette_changed_while_the_window_is_open(
        qtbot: QtBot, make_window: Callable[..., MainWindow]) -> None:
    """A label lays its link out once, in that moment's colour: after a switch to dark,
    "Add a registry…" stayed light-theme blue on dark grey (1.9:1)."""
    from collections import Counter

    from PySide6.QtGui import QColor

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
