"""The icons the window draws itself: sharp at any scale, and greyed where disabled."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from spyglass.gui import icons

pytestmark = pytest.mark.gui

PAINTED = ["image_icon", "index_icon", "folder_icon", "archive_icon", "registry_icon",
           "repository_icon", "tag_icon", "current_icon", "add_icon",
           "copy_icon"]


@pytest.mark.parametrize("name", PAINTED)
@pytest.mark.parametrize("scale", [1.0, 1.5, 2.0])
def test_a_painted_icon_is_drawn_at_the_device_pixels_asked_for(
        qapp: object, name: str, scale: float) -> None:
    """At 2x a 36 px header icon was the 48 px pixmap stretched to 72 device pixels:
    blurred. Each is drawn at the size asked for, times the scale."""
    icon: QIcon = getattr(icons, name)()
    for logical in (16, 36, 48, 96):
        pixmap = icon.pixmap(QSize(logical, logical), scale)
        assert pixmap.width() == round(logical * scale), (name, logical, pixmap.size())
        assert pixmap.devicePixelRatio() == scale
        blank = QPixmap(pixmap.size())
        blank.fill(Qt.GlobalColor.transparent)
        assert pixmap.toImage() != blank.toImage()  # (something drawn)


def test_a_disabled_painted_icon_is_greyed(qapp: object) -> None:
    icon = icons.tag_icon()
    normal = icon.pixmap(QSize(16, 16), 1.0, QIcon.Mode.Normal).toImage()
    disabled = icon.pixmap(QSize(16, 16), 1.0, QIcon.Mode.Disabled).toImage()
    assert normal != disabled


def test_a_painted_icon_copied_and_changed_still_draws(qapp: object) -> None:
    """Qt copies the engine of an icon that is changed (a clone): it is kept alive."""
    icon = QIcon(icons.registry_icon())
    icon.addPixmap(QPixmap(8, 8))
    assert icon.pixmap(QSize(24, 24), 2.0).width() == 48


@pytest.mark.parametrize("mode", [QIcon.Mode.Selected, QIcon.Mode.Disabled])
def test_a_greyed_or_selected_painted_icon_follows_a_change_of_palette(
        qapp: QApplication, mode: QIcon.Mode) -> None:
    """The style tints a selected icon in the highlight colour and greys a disabled one
    for the background; after a change of theme the kept pixmap had the old palette's
    colours (Qt's own pixmap engine draws it again)."""
    light = QPalette(QColor("#efefef"))
    light.setColor(QPalette.ColorRole.Highlight, QColor("#308cc6"))
    dark = QPalette(QColor("#202020"))
    dark.setColor(QPalette.ColorRole.Highlight, QColor("#e0a000"))
    before = QApplication.palette()
    try:
        QApplication.setPalette(light)
        icon = icons.tag_icon()
        under_light = icon.pixmap(QSize(32, 32), 1.0, mode).toImage()
        QApplication.setPalette(dark)
        under_dark = icon.pixmap(QSize(32, 32), 1.0, mode).toImage()
        fresh = icons.tag_icon().pixmap(QSize(32, 32), 1.0, mode).toImage()
        assert under_dark == fresh
        assert under_dark != under_light
        QApplication.setPalette(light)
        assert icon.pixmap(QSize(32, 32), 1.0, mode).toImage() == under_light
    finally:
        QApplication.setPalette(before)
