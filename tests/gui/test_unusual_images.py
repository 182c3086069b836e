"""The window on unusual images: lists of lists, many annotations, a config that is not
JSON, foreign layers, values without spaces, empty layers."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow
from spyglass.gui.views.image_view import PLATFORMS
from tests.gui.guitools import select_platform, show_image
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

pytestmark = pytest.mark.gui


# -- a list of lists


def test_a_list_of_lists_offers_the_images_of_its_nested_lists(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """An index whose one entry is an index of two images: those two are its platforms
    (it said "no platform" while it showed one, counted the lists' bytes alone as the
    size of all platforms, and offered one row, "list", that could not be shown)."""
    builder = LayoutBuilder(tmp_path / "nested")
    images = {arch: builder.add_image(ImageSpec(
        architecture=arch, layers=[LayerSpec({"/arch": arch.encode() * 100})]))
        for arch in ("amd64", "arm64")}
    inner = builder.add_index([images["amd64"], images["arm64"]])
    builder.tag(builder.add_index([inner]), "v1")
    window.open_location(builder.root, select=False)
    show_image(qtbot, window, "v1")
    view = window.image_view
    state = view.state
    assert state is not None and state.current is not None
    assert [str(s.descriptor.platform) for s in view.platforms.model.rows] == [
        "linux/amd64", "linux/arm64"]
    shown = str(state.current.descriptor.platform)
    assert view.overview.field_text("Shown platform") == shown
    assert view.overview.field_text("Platforms") == "linux/amd64, linux/arm64"
    assert f"The other tabs show <b>{shown}</b>" in view.platforms.caption.text()
    both = sum(s.image_size for s in state.instances)
    assert state.total_size >= both
    assert view.overview.field_text("Size").endswith(f"for {shown}")

    other = "linux/arm64" if shown == "linux/amd64" else "linux/amd64"
    view.tabs.setCurrentIndex(PLATFORMS)
    select_platform(qtbot, window, other)
    assert view.banner.isHidden()
    assert view.overview.field_text("Shown platform") == other
    assert view.overview.field_text("Image digest") == images[other.split("/")[1]]["digest"]
