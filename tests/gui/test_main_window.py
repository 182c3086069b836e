"""The real window on the bundled sample layout: places, every tab, errors, drops, closing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QMimeData, QModelIndex, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

import spyglass
from spyglass.core.platform import host_platform
from spyglass.core.settings import Settings, normalize_location
from spyglass.core.settings_file import load_settings
from spyglass.gui import icons
from spyglass.gui.formatting import human_size
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models import history as history_columns
from spyglass.gui.models import layers as layer_columns
from spyglass.gui.models import platforms as platform_columns
from spyglass.gui.models.places import ImageNode, LoadState, MessageNode
from spyglass.gui.signals import emit
from spyglass.gui.views.image_view import HISTORY, LAYERS, PLATFORMS, RAW
from spyglass.gui.window_locations import sample_layout_path
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import WAIT_MS, SampleFacts, select_platform, show_image, wait_listed
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, multi_platform_layout

pytestmark = pytest.mark.gui


def cell(model, row: int, column: int, role: int = Qt.ItemDataRole.DisplayRole):
    return model.data(model.index(row, column), role)


def column_texts(model, column: int) -> list[str]:
    return [cell(model, row, column) for row in range(model.rowCount())]


# -- places


def test_sample_layout_lists_its_images(qtbot: QtBot, window: MainWindow,
                                        sample: SampleFacts) -> None:
    with qtbot.waitSignal(window.places.locationLoaded, timeout=WAIT_MS) as blocker:
        window.open_location(sample.layout)
    assert blocker.args == [sample.layout]
    places = window.places
    location = places.index(0, 0)
    assert places.data(location) == "sample-layout"
    assert places.rowCount(location) == 2
    labels = [places.data(places.index(r, 0, location)) for r in range(2)]
    assert labels == ["spyglass-demo:1.0", "tools:2024.1"]
    tooltip = places.data(places.index(0, 0, location), Qt.ItemDataRole.ToolTipRole)
    assert sample.index_digest in tooltip
    assert "OCI image index" in tooltip
    assert places.data(places.index(0, 0, location), Qt.ItemDataRole.DecorationRole) is not None
    # opened by the user: selected, and its first image shown
    qtbot.waitUntil(lambda: window.image_view.state is not None, timeout=WAIT_MS)
    assert window.image_view.state.entry.label == "spyglass-demo:1.0"
    assert window.windowTitle() == "spyglass-demo:1.0 — Spyglass"
    # and remembered
    assert window.settings.recent_locations == [normalize_location(sample.layout)]


def test_places_load_lazily_through_fetch_more(qtbot: QtBot, window: MainWindow,
                                               sample: SampleFacts) -> None:
    places = window.places
    index = places.add_location(sample.layout, load=False)
    assert places.hasChildren(index)
    assert places.canFetchMore(index)
    assert places.rowCount(index) == 0
    with qtbot.waitSignal(places.locationLoaded, timeout=WAIT_MS):
        places.fetchMore(index)
        assert not places.canFetchMore(index)
    assert places.rowCount(index) == 2
    assert not places.canFetchMore(index)


def test_opening_the_same_place_twice_keeps_one_row(qtbot: QtBot, window: MainWindow,
                                                    sample: SampleFacts) -> None:
    window.open_location(sample.layout)
    wait_listed(qtbot, window)
    again = window.open_location(str(sample.layout) + "/")
    assert again.row() == 0
    assert window.places.rowCount() == 1


def test_close_location_returns_to_the_empty_state(qtbot: QtBot, demo: MainWindow) -> None:
    demo.tree.setCurrentIndex(demo.places.index(0, 0))
    assert demo.close_location_action.isEnabled()
    demo.close_location_action.trigger()
    assert demo.places.rowCount() == 0
    assert demo.image_view.pages.currentWidget() is demo.image_view.empty
    assert not demo.close_location_action.isEnabled()


@pytest.mark.parametrize("how", ["menu", "context"])
def test_closing_the_location_of_the_image_shown_lets_go_of_it(
        qtbot: QtBot, demo: MainWindow, how: str) -> None:
    # the image's row (not the location's) is current: Qt says nothing when its parent
    # goes, and the pane kept the image (an archive's then failed: "was closed")
    assert isinstance(demo.places.node(demo.tree.currentIndex()), ImageNode)
    assert demo.image_view.state is not None
    if how == "menu":
        demo.close_location_action.trigger()
    else:
        demo._close_path(demo.places.paths[0])
    assert demo.places.rowCount() == 0
    assert demo.image_view.state is None
    assert demo.image_view.pages.currentWidget() is demo.image_view.empty
    assert demo.windowTitle() == "Spyglass"
    assert demo.copying.current_image() is None  # (Copy To… would copy nothing)


def test_copies_into_the_place_shown_keep_one_old_listing_open(
        qtbot: QtBot, window: MainWindow, sample_layout_copy: Path) -> None:
    # the image view reads on through the listing it was shown from; every later one a
    # refresh (a copy landing) replaced is closed (they piled up: ~1 MB a copy)
    window.open_location(sample_layout_copy, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    node = window.places.location_node(window.places.index(0, 0))
    assert node is not None
    first = node.location
    for _ in range(4):
        with qtbot.waitSignal(window.places.locationRefreshed, timeout=WAIT_MS):
            window.places.refresh(window.places.index(0, 0))
        assert node.retired == [first]
    assert window.image_view.state is not None  # still shown, not read again
    assert window.image_view.state.entry.label == "spyglass-demo:1.0"


def test_empty_state_invites_opening_a_folder(window: MainWindow) -> None:
    view = window.image_view
    assert view.pages.currentWidget() is view.empty
    assert view.empty.title.text() == "Open a layout folder or drop one here"
    assert view.state is None


# -- the image view


def test_overview_of_the_list_image(demo: MainWindow, sample: SampleFacts) -> None:
    overview = demo.image_view.overview
    assert overview.field_text("Name") == "spyglass-demo:1.0"
    assert overview.field_text("Digest") == sample.index_digest
    assert "OCI image index" in overview.field_text("Media type")
    assert "application/vnd.oci.image.index.v1+json" in overview.field_text("Media type")
    assert overview.field_text("Platforms") == "linux/amd64, linux/arm64/v8, linux/arm/v7"
    shown = demo.image_view.state.current.descriptor
    assert overview.field_text("Image digest") == str(shown.digest)
    assert overview.field_text("Created").startswith("2024-03-01 12:00:00 UTC")
    assert "for all platforms" in overview.field_text("Size")
    assert overview.field_text("Layers") == "4 layers"
    assert overview.field_text("Entrypoint") == "/app/hello.sh"
    assert overview.field_text("Command") == "--name world"
    assert overview.field_text("Working folder") == "/app"
    assert overview.field_text("User") == "app"
    assert overview.field_text("Ports") == "8080/tcp"
    assert "LANG=C.UTF-8" in overview.field_text("Environment").splitlines()
    assert "org.opencontainers.image.licenses" in overview.field_text("Labels")
    assert overview.field_text("Author") == ""  # hidden row


def test_the_labels_values_start_where_every_other_value_does(
        qtbot: QtBot, demo: MainWindow) -> None:
    """The Labels' keys were a column of their own, left-aligned, their values 100 px to
    the right of the other sections' values."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QTextDocument

    overview = demo.image_view.overview
    demo.image_view.tabs.setCurrentWidget(overview)
    body = overview.widget()
    labels = overview._values["Labels"]
    qtbot.waitUntil(lambda: labels.isVisible() and labels.width() > 0, timeout=WAIT_MS)

    def x_of(title: str) -> int:
        return overview._values[title].mapTo(body, QPoint(0, 0)).x()

    assert x_of("Name") == x_of("Entrypoint")
    # where the table's value column starts: the label's document laid out as it is
    document = QTextDocument()
    document.setDefaultFont(labels.font())
    document.setDocumentMargin(0)
    document.setHtml(labels.text())
    document.setTextWidth(labels.width())
    for key, value in (("org.opencontainers.image.description", "The demo image"),
                       ("org.opencontainers.image.version", "1.0")):
        layout = document.documentLayout()
        value_x = layout.blockBoundingRect(document.find(value).block()).x()
        assert x_of("Labels") + round(value_x) == x_of("Name"), value
        # the key ends where the names do (right-aligned, against its value)
        key_block = document.find(key).block()
        key_right = layout.blockBoundingRect(key_block).x() \
            + key_block.layout().lineAt(0).naturalTextRect().right()
        name = overview._fields["Name"][0].names[0]
        assert abs(x_of("Labels") + key_right - (name.mapTo(body, QPoint(0, 0)).x()
                                                + name.width())) <= 2, key


def test_an_image_without_a_command_says_so_under_how_it_runs(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    layout = tmp_path / "plain"
    builder = LayoutBuilder(layout)
    layer = LayerSpec({"/data/x": b"x"})
    builder.tag(builder.add_image(ImageSpec(layers=[layer])), "bare")
    builder.tag(builder.add_image(ImageSpec(layers=[layer], entrypoint=["/bin/run"])), "entry")
    window.open_location(layout, select=False)
    overview = window.image_view.overview
    show_image(qtbot, window, "bare")
    # the heading is not left over nothing: the image names nothing to run, and says so
    assert not overview._run.isHidden()
    assert overview.field_text("Command") == "no command set"
    assert overview.field_text("Entrypoint") == ""
    show_image(qtbot, window, "entry")
    assert overview.field_text("Entrypoint") == "/bin/run"
    assert overview.field_text("Command") == ""  # the entrypoint runs: nothing missing


def test_copy_buttons_copy_the_digest(qtbot: QtBot, demo: MainWindow,
                                      sample: SampleFacts) -> None:
    from PySide6.QtGui import QGuiApplication

    button = demo.image_view.overview.copy_button("Digest")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == sample.index_digest
    assert sample.index_digest in demo.status_text


def test_a_narrow_overview_cuts_its_digests_rather_than_scrolling_sideways(
        qtbot: QtBot, demo: MainWindow, sample: SampleFacts) -> None:
    from PySide6.QtGui import QGuiApplication

    overview = demo.image_view.overview
    demo.show()
    demo.resize(900, 700)
    qtbot.waitUntil(lambda: overview.viewport().width() < 650, timeout=WAIT_MS)
    QApplication.processEvents()
    assert overview.horizontalScrollBar().maximum() == 0
    digest = overview._values["Digest"]
    assert "\u2026" in digest.shown_text()  # cut in its middle…
    assert digest.shown_text().startswith("sha256:")
    assert digest.text() == digest.toolTip() == sample.index_digest  # …whole underneath
    button = overview.copy_button("Digest")
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == sample.index_digest


def test_platforms_tab_lists_three_platforms(demo: MainWindow) -> None:
    view = demo.image_view
    assert view.tabs.isTabEnabled(PLATFORMS)
    model = view.platforms.model
    assert model.rowCount() == 3
    assert column_texts(model, platform_columns.OS) == ["linux", "linux", "linux"]
    assert column_texts(model, platform_columns.ARCH) == ["amd64", "arm64", "arm"]
    assert column_texts(model, platform_columns.VARIANT) == ["", "v8", "v7"]
    current = view.state.current.descriptor.digest
    assert model.current == current
    row = model.row_of(current)
    assert cell(model, row, platform_columns.OS, Qt.ItemDataRole.DecorationRole) is not None
    assert view.platforms.table.isColumnHidden(platform_columns.OS_VERSION)
    assert str(current) in cell(model, row, platform_columns.DIGEST)
    assert "KiB" in cell(model, row, platform_columns.SIZE)


def test_selecting_arm64_shows_its_layers(qtbot: QtBot, demo: MainWindow,
                                          sample: SampleFacts) -> None:
    view = demo.image_view
    if str(view.state.current.descriptor.platform) == "linux/arm64/v8":
        select_platform(qtbot, demo, "linux/amd64")
    before = [row.descriptor.digest for row in view.layers.model.rows]
    select_platform(qtbot, demo, "linux/arm64/v8")
    arm64 = sample.images["linux/arm64/v8"]
    after = [str(row.descriptor.digest) for row in view.layers.model.rows]
    assert after == arm64.layer_digests
    assert [str(d) for d in before] != after  # the base layer differs per architecture
    assert view.platforms.model.current == view.state.image.manifest.digest
    assert str(view.state.image.manifest.digest) == arm64.manifest_digest
    assert view.overview.field_text("Shown platform") == "linux/arm64/v8"
    assert view.overview.field_text("Image digest") == arm64.manifest_digest
    assert "showing linux/arm64/v8" in view.subtitle.text()
    # the Raw JSON tab follows: the index, then the instance
    assert [d.title for d in view.raw.documents] == ["spyglass-demo:1.0", "linux/arm64/v8"]


def test_layers_table_contents(qtbot: QtBot, demo: MainWindow, sample: SampleFacts) -> None:
    select_platform(qtbot, demo, "linux/amd64")
    view = demo.image_view
    view.tabs.setCurrentIndex(LAYERS)
    model = view.layers.model
    amd64 = sample.images["linux/amd64"]
    layers = amd64.manifest["layers"]
    assert model.rowCount() == len(layers) == 4
    steps = [h["created_by"] for h in amd64.config["history"] if not h.get("empty_layer")]
    total = sum(layer["size"] for layer in layers)
    for row, layer in enumerate(layers):
        digest = layer["digest"]
        assert cell(model, row, layer_columns.NUMBER) == str(row + 1)
        assert cell(model, row, layer_columns.DIGEST) == digest[:19]  # sha256: + 12
        assert digest in cell(model, row, layer_columns.DIGEST, Qt.ItemDataRole.ToolTipRole)
        assert cell(model, row, layer_columns.TYPE) == "OCI layer"  # (gzip: in Compression)
        assert cell(model, row, layer_columns.COMPRESSION) == "gzip"
        assert cell(model, row, layer_columns.SIZE) == human_size(layer["size"])
        share = cell(model, row, layer_columns.SHARE, layer_columns.SHARE_ROLE)
        assert share == pytest.approx(layer["size"] / total)
        assert cell(model, row, layer_columns.CREATED_BY, Qt.ItemDataRole.ToolTipRole) \
            == steps[row]
    assert cell(model, 1, layer_columns.CREATED_BY) == "RUN apk add --no-cache hello-doc"
    details = view.layers.details
    assert details.title.text() == "Layer details" and not details.value("Digest")
    view.layers.table.selectRow(1)
    assert details.title.text() == "Layer 2"
    assert details.value("Digest") == layers[1]["digest"]
    assert details.value("Diff ID") == amd64.config["rootfs"]["diff_ids"][1]
    assert details.value("Created by") == steps[1]
    assert view.layers.files_button.isEnabled()
    assert cell(model, 3, layer_columns.CREATED_BY) == "COPY hello.sh /app/"
    assert view.layers.summary.text().startswith("4 layers")


def test_history_tab(qtbot: QtBot, demo: MainWindow, sample: SampleFacts) -> None:
    select_platform(qtbot, demo, "linux/amd64")
    history = demo.image_view.history
    model = history.model
    config = sample.images["linux/amd64"].config
    assert model.rowCount() == len(config["history"]) == 12
    layers = column_texts(model, history_columns.LAYER)
    assert layers.count("empty") == 8
    assert [x for x in layers if x != "empty"] == ["1", "2", "3", "4"]
    steps = column_texts(model, history_columns.STEP)
    assert "WORKDIR /app" in steps
    assert 'ENTRYPOINT ["/app/hello.sh"]' in steps
    assert all(c.startswith("2024-03-01 12:00:00") for c in column_texts(model,
                                                                           history_columns.CREATED))
    assert history.table.isColumnHidden(history_columns.COMMENT)  # no step has a comment
    history.render_config()  # what showing the tab does
    text = history.config_view.toPlainText()
    assert json.loads(text) == config
    assert "12 steps, 4 made a layer" in history.history_caption.text()


def test_raw_json_links_every_digest_and_follows_them(qtbot: QtBot, demo: MainWindow,
                                                      sample: SampleFacts) -> None:
    raw = demo.image_view.raw
    assert raw.current.digest.__str__() == sample.index_digest
    html = raw.html()
    for image in sample.images.values():
        assert f'href="manifest:{image.manifest_digest}"' in html
    assert json.loads(raw.browser.toPlainText()) == sample.index
    assert not raw.back_button.isEnabled()

    arm = sample.images["linux/arm/v7"]
    raw.open_link(QUrl(f"manifest:{arm.manifest_digest}"))
    qtbot.waitUntil(lambda: str(raw.current.digest) == arm.manifest_digest, timeout=WAIT_MS)
    raw.render_document()  # what showing the tab does
    assert json.loads(raw.browser.toPlainText()) == arm.manifest
    assert [d.title for d in raw.documents] == ["spyglass-demo:1.0", "linux/arm/v7"]
    html = raw.html()
    assert f'href="config:{arm.manifest["config"]["digest"]}"' in html
    for digest in arm.layer_digests:
        assert f'href="layer:{digest}"' in html
    assert raw.back_button.isEnabled()

    raw.open_link(QUrl(f"config:{arm.manifest['config']['digest']}"))
    qtbot.waitUntil(lambda: raw.current.kind == "config", timeout=WAIT_MS)
    raw.render_document()
    assert json.loads(raw.browser.toPlainText()) == arm.config
    assert "href=" not in raw.html().split("<body", 1)[1].replace('href="crumb', "")

    raw.browser.setFocus()  # Alt+Left goes back, as in a browser
    qtbot.keyClick(raw.browser, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert str(raw.current.digest) == arm.manifest_digest
    # and from anywhere in the window while the page shows (here, the tab bar)
    raw.open_link(QUrl(f"config:{arm.manifest['config']['digest']}"))
    qtbot.waitUntil(lambda: raw.current.kind == "config", timeout=WAIT_MS)
    demo.image_view.tabs.setCurrentIndex(RAW)
    demo.show()
    qtbot.waitExposed(demo)
    demo.activateWindow()
    tabs = demo.image_view.tabs.tabBar()
    tabs.setFocus()
    qtbot.waitUntil(tabs.hasFocus, timeout=WAIT_MS)
    qtbot.keyClick(tabs, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert str(raw.current.digest) == arm.manifest_digest
    raw.open_link(QUrl("crumb:1"))
    assert str(raw.current.digest) == sample.index_digest
    assert len(raw.documents) == 1


def test_raw_json_shows_a_failure_in_the_tab(qtbot: QtBot, demo: MainWindow) -> None:
    raw = demo.image_view.raw
    missing = "sha256:" + "0" * 64
    raw.open_link(QUrl(f"manifest:{missing}"))
    qtbot.waitUntil(lambda: raw.banner.text != "", timeout=WAIT_MS)
    assert missing in raw.banner.text
    assert len(raw.documents) == 1
    assert demo.image_view.pages.currentWidget() is demo.image_view.content


def test_a_layouts_misnamed_layer_is_shown_as_stored_looked_at_off_this_thread(
        qtbot: QtBot, window: MainWindow, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain tar named gzip in a layout: its first bytes say so, read on a worker (the
    window's thread reads no disk), and the table says how it is stored."""
    import threading

    from spyglass.core.transports.files import DirTree
    from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, build_tar

    builder = LayoutBuilder(tmp_path / "layout")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})]))
    builder.tag({k: v for k, v in image.items() if k != "platform"}, "good")
    tar = build_tar(LayerSpec({"/etc/motd": b"misnamed\n"}))
    layer = builder.add_blob(tar)
    config = builder.add_blob(json.dumps({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}}).encode())
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
    }).encode()
    builder.tag({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                 **builder.add_blob(manifest)}, "misnamed")
    looked: list[bool] = []
    real = DirTree.head
    monkeypatch.setattr(DirTree, "head", lambda self, path, size: (
        looked.append(threading.current_thread() is threading.main_thread()),
        real(self, path, size))[1])
    window.open_location(tmp_path / "layout", select=False)
    show_image(qtbot, window, "misnamed")
    model = window.image_view.layers.model
    assert column_texts(model, layer_columns.COMPRESSION) == ["none"]
    assert cell(model, 0, layer_columns.COMPRESSION, Qt.ItemDataRole.ToolTipRole).startswith(
        "Stored none, though its media type says gzip: it is read as its bytes say")
    show_image(qtbot, window, "good")
    assert column_texts(model, layer_columns.COMPRESSION) == ["gzip"]
    assert looked and not any(looked), "a layer's bytes were looked at on the window's thread"


def test_a_docker_archives_layers_are_plain_tars_and_list_their_files(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    """docker save's layers are plain tars under the manifest's gzip name: the table says
    how they are stored, and their files are listed (they were called corrupt). The
    Files dialog says how it is stored as the table does (it said "Docker layer (gzip)"
    beside the table's "none")."""
    from tests.gui.guitools import core_copy

    archive = tmp_path / "app.tar"
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"docker-archive:{archive}:app:1")
    window.open_location(archive, select=False)
    wait_listed(qtbot, window, 0)
    show_image(qtbot, window, "docker.io/library/app:1")
    view = window.image_view
    model = view.layers.model
    assert set(column_texts(model, layer_columns.COMPRESSION)) == {"none"}
    tip = cell(model, 0, layer_columns.COMPRESSION, Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Stored none, though its media type says gzip")
    assert " uncompressed · " in view.layers.summary.text()
    view.tabs.setCurrentIndex(LAYERS)
    table = view.layers.table
    rect = table.visualRect(model.index(0, layer_columns.DIGEST))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    [dialog] = view.file_dialogs
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS) as loaded:
        pass
    assert loaded.args[0] > 0, dialog.windowTitle()
    kind = next(label for label in dialog.findChildren(QLabel)
                if label.text().startswith("· "))  # (the line under the heading)
    assert kind.text().startswith("· Docker layer, stored uncompressed · ")
    assert kind.toolTip() == tip
    dialog.close()
    # a layer stored as its media type says is named by it, as before
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "tools:2024.1", row=1)
    view.open_layer_files(view.layers.model.rows[0].descriptor, number=1)
    [dialog] = view.file_dialogs
    kind = next(label for label in dialog.findChildren(QLabel)
                if label.text().startswith("· "))
    assert kind.text().startswith("· Docker layer (gzip) · ")
    assert kind.toolTip() == ""
    dialog.close()


def test_a_broken_image_of_a_docker_archive_does_not_hide_the_others(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Each name of an image is a row (as each ref of a layout is); an image whose layer
    file is missing is a row that says so, below the images that can be read."""
    import json

    from tests.helpers.imagebuild import dump_json
    from tests.unit.core.transports.test_archive import (
        docker_save_entries,
        image_spec,
        write_tar,
    )

    entries = docker_save_entries([
        (["app:1", "app:latest"], image_spec("amd64", ["one"])),
        (["broken:2"], image_spec("arm64", ["two"])),
    ])
    items = json.loads(entries[-1][2])
    items[1]["Layers"] = ["missing/layer.tar"]
    entries[-1] = ("file", "manifest.json", dump_json(items))
    archive = write_tar(tmp_path / "saved.tar", entries)
    window.open_location(archive, select=False)
    wait_listed(qtbot, window, 0)
    places = window.places
    location = places.index(0, 0)
    rows = [places.index(row, 0, location) for row in range(places.rowCount(location))]
    assert [row.data() for row in rows[:2]] == ["app:1", "app:latest"]
    assert len(rows) == 3
    assert rows[2].data() == "broken:2 cannot be read"  # the sentence: its tooltip
    said = rows[2].data(places.ERROR_ROLE)
    assert '"missing/layer.tar"' in said and "@1" in said
    assert "missing/layer.tar" in rows[2].data(Qt.ItemDataRole.ToolTipRole)
    show_image(qtbot, window, "app:latest")
    # chosen (from the keyboard too), the row says why in the pane: its tooltip alone
    # left the keyboard out
    window.tree.setCurrentIndex(rows[2])
    view = window.image_view
    assert view.pages.currentWidget() is view.error
    assert '"missing/layer.tar"' in view.error_text


def test_layer_link_opens_the_file_listing(qtbot: QtBot, demo: MainWindow,
                                           sample: SampleFacts) -> None:
    select_platform(qtbot, demo, "linux/amd64")
    view = demo.image_view
    layers = sample.images["linux/amd64"].layer_digests
    view.raw.open_link(QUrl(f"manifest:{sample.images['linux/amd64'].manifest_digest}"))
    qtbot.waitUntil(lambda: len(view.raw.documents) == 2, timeout=WAIT_MS)
    view.raw.open_link(QUrl(f"layer:{layers[3]}"))
    assert len(view.file_dialogs) == 1
    dialog = view.file_dialogs[0]
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=WAIT_MS)
    paths = [row.path for row in dialog.model.rows]
    assert "app/hello.sh" in paths
    assert dialog.windowTitle().startswith("Files — Layer 4 of spyglass-demo:1.0")
    dialog.close()
    qtbot.waitUntil(lambda: not view.file_dialogs, timeout=WAIT_MS)


def test_a_layer_link_in_another_platforms_manifest_is_that_platforms_layer(
        qtbot: QtBot, demo: MainWindow, sample: SampleFacts) -> None:
    """Shown: linux/amd64; the Raw JSON of the arm64 manifest links its own layers, and the
    listing is titled (and numbered) as that platform's."""
    select_platform(qtbot, demo, "linux/amd64")
    view = demo.image_view
    arm = sample.images["linux/arm64/v8"]
    view.raw.open_link(QUrl(f"manifest:{arm.manifest_digest}"))
    qtbot.waitUntil(lambda: len(view.raw.documents) == 2, timeout=WAIT_MS)
    last = len(arm.layer_digests)
    view.raw.open_link(QUrl(f"layer:{arm.layer_digests[-1]}"))
    assert len(view.file_dialogs) == 1
    dialog = view.file_dialogs[0]
    assert dialog.windowTitle().startswith(
        f"Files — Layer {last} of spyglass-demo:1.0 (linux/arm64/v8)"), dialog.windowTitle()
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=WAIT_MS)
    dialog.close()
    qtbot.waitUntil(lambda: not view.file_dialogs, timeout=WAIT_MS)


def test_double_clicking_a_layer_lists_its_files_with_a_filter(
    qtbot: QtBot, demo: MainWindow
) -> None:
    view = demo.image_view
    view.tabs.setCurrentIndex(LAYERS)
    table = view.layers.table
    index = view.layers.model.index(0, layer_columns.DIGEST)
    rect = table.visualRect(index)
    # a real double click: press and release, then the double click
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert len(view.file_dialogs) == 1
    dialog = view.file_dialogs[0]
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS) as blocker:
        pass
    count = blocker.args[0]
    assert count == dialog.model.rowCount() > 5
    assert "etc/os-release" in [row.path for row in dialog.model.rows]
    qtbot.keyClicks(dialog.filter, "ALPINE")
    files = dialog.table.model()
    shown = [files.data(files.index(r, 0)) for r in range(files.rowCount())]
    assert shown == ["/etc/alpine-release"]
    assert dialog.count.text() == f"1 of {count:,} entries"
    dialog.filter.clear()
    assert files.rowCount() == count
    # the same layer again: the listing open already comes to the front, not a second one
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.file_dialogs == [dialog]
    dialog.close()


def test_a_layer_whose_files_could_not_be_listed_can_be_tried_again(
    qtbot: QtBot, demo: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spyglass.core.errors import ConnectionFailed
    from spyglass.gui.dialogs import layer_files

    real, calls = layer_files.list_files, []

    def down_once(*args: object) -> object:
        calls.append(args)
        if len(calls) == 1:
            raise ConnectionFailed("Cannot reach the registry r.example: connection refused.")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(layer_files, "list_files", down_once)
    view = demo.image_view
    view.tabs.setCurrentIndex(LAYERS)
    view.layers.table.activated.emit(view.layers.model.index(0, layer_columns.DIGEST))
    assert len(view.file_dialogs) == 1
    dialog = view.file_dialogs[0]
    qtbot.waitUntil(lambda: bool(dialog.error), timeout=WAIT_MS)
    assert dialog.retry_button.isVisible() and not dialog.filter.isEnabled()
    with qtbot.waitSignal(dialog.loaded, timeout=WAIT_MS):  # Enter tries again (not Close)
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert dialog.model.rowCount() > 5 and not dialog.retry_button.isVisible()
    dialog.close()


def test_an_artifacts_blob_that_is_no_tar_is_not_listed_as_one(
    qtbot: QtBot, window: MainWindow
) -> None:
    # a text file or a WASM module pushed as an artifact: it has no files (it was read as
    # a tar, failed "truncated header", and offered Try Again)
    from spyglass.core.digest import Digest
    from spyglass.core.manifest import Descriptor
    from spyglass.gui.dialogs.layer_files import LayerFilesDialog

    class Untouched:
        def open_blob(self, *_args: object, **_kwargs: object) -> None:
            raise AssertionError("nothing is read")

    blob = Descriptor("application/wasm", Digest.of(b"\0asm"), 4)
    dialog = LayerFilesDialog(window.runner, Untouched(), blob, "module.wasm")  # type: ignore[arg-type]
    assert dialog.panel.title.text() == "Not a layer of files"
    assert "application/wasm, not a tar archive of files" in dialog.panel.body.text()
    assert not dialog.retry_button.isVisible() and not dialog.filter.isEnabled()
    dialog.close()


def test_an_artifact_says_what_it_is(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    # a Helm chart or an oras push showed as an "OCI image manifest" with nothing more;
    # its type, annotations and file names were only in Raw JSON
    builder = LayoutBuilder(tmp_path / "artifacts")
    empty = {**builder.add_blob(b"{}"), "mediaType": "application/vnd.oci.empty.v1+json"}
    readme = {**builder.add_blob(b"hello\n"), "mediaType": "text/plain",
              "annotations": {"org.opencontainers.image.title": "README.txt"}}
    raw = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.docs", "config": empty, "layers": [readme],
        "annotations": {"org.opencontainers.image.description": "The docs"}}).encode()
    docs = {**builder.add_blob(raw), "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/vnd.example.docs"}
    builder.tag(docs, "docs")
    builder.tag(builder.add_index([docs]), "docs-list")
    window.open_location(tmp_path / "artifacts", select=False)
    show_image(qtbot, window, "docs")
    overview = window.image_view.overview
    assert overview.field_text("Artifact type") == "application/vnd.example.docs"
    assert overview.field_text("Config type") == ""  # the empty config says nothing
    assert "The docs" in overview.field_text("Annotations")
    assert overview.field_text("Platforms") == ""  # an artifact runs on none
    assert window.image_view.subtitle.text().startswith(
        "Artifact (application/vnd.example.docs)")
    details = window.image_view.layers.details
    window.image_view.layers.table.selectRow(0)
    assert details.value("File name") == "README.txt"
    # a list of artifacts: its entries are counted, and each says what it is
    show_image(qtbot, window, "docs-list")
    assert "1 entry" in window.image_view.subtitle.text()
    platforms = window.image_view.platforms.model
    assert (cell(platforms, 0, 0), cell(platforms, 0, 1)) == (
        "artifact", "application/vnd.example.docs")


def test_single_docker_image(qtbot: QtBot, demo: MainWindow, sample: SampleFacts) -> None:
    show_image(qtbot, demo, "tools:2024.1")
    view = demo.image_view
    assert not view.tabs.isTabEnabled(PLATFORMS)
    assert view.overview.field_text("Digest") == sample.tools_digest
    assert view.overview.field_text("Media type").startswith("Docker manifest (schema 2)")
    assert view.overview.field_text("Platforms") == "linux/amd64"
    assert view.overview.field_text("Shown platform") == ""
    assert view.overview.field_text("Author") == "Spyglass developers"
    assert view.layers.model.rowCount() == 3
    assert cell(view.layers.model, 0, layer_columns.TYPE) == "Docker layer"
    assert [d.title for d in view.raw.documents] == ["tools:2024.1"]
    assert 'href="config:' in view.raw.html()


# -- errors


def test_a_path_that_does_not_exist_shows_the_sentence(qtbot: QtBot, window: MainWindow,
                                                       tmp_path: Path) -> None:
    missing = tmp_path / "no-such-layout"
    with qtbot.waitSignal(window.places.locationFailed, timeout=WAIT_MS) as blocker:
        window.open_location(missing)
    path, sentence = blocker.args
    assert path == missing
    assert "does not exist" in sentence and str(missing) in sentence
    places = window.places
    location = places.index(0, 0)
    assert places.data(location, places.STATE_ROLE) == LoadState.FAILED.value
    assert places.rowCount(location) == 1
    message = places.index(0, 0, location)
    assert isinstance(places.node(message), MessageNode)
    # short in the narrow sidebar (the sentence was cut to the path's first characters)
    assert places.data(message) == "Cannot be opened"
    assert "does not exist" in places.data(message, Qt.ItemDataRole.ToolTipRole)
    assert places.data(message, places.ERROR_ROLE) == sentence
    assert not places.flags(message) & Qt.ItemFlag.ItemIsEnabled
    # the location is selected, so the pane says it whole; the status bar does not say
    # it a third time
    assert window.image_view.error_text == sentence
    assert window.status_text == ""
    assert window.settings.recent_locations == []
    # "Try Again" lists it again once it exists; "Close Location" closes it
    assert window.image_view.location_close.text() == "Close Location"
    assert window.image_view.location_retry.isVisible()
    multi_platform_layout(missing)
    with qtbot.waitSignal(window.places.locationLoaded, timeout=WAIT_MS):
        window.image_view.location_retry.click()
    qtbot.waitUntil(lambda: window.image_view.state is not None, timeout=WAIT_MS)
    assert window.image_view.state.entry.label == "latest"
    window.tree.setCurrentIndex(window.places.index(0, 0))
    assert not window.image_view.location_close.isVisible()


def test_a_names_byte_that_is_not_utf8_is_shown_as_that_byte(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """``bad\\xff`` was shown as ``bad`` (a QString drops the byte) in the sentences, the
    places tree and the recent list: it is shown ``bad\\xff``, as the command line says it."""
    root = os.fsencode(tmp_path)
    missing = Path(os.fsdecode(root + b"/bad\xff/gone"))
    with qtbot.waitSignal(window.places.locationFailed, timeout=WAIT_MS) as blocker:
        window.open_location(missing)
    shown = f"{tmp_path}/bad\\xff/gone"
    assert blocker.args[0] == missing
    assert f'"{shown}"' in blocker.args[1] and "does not exist" in blocker.args[1]
    assert window.image_view.error_text == blocker.args[1]
    layout = Path(os.fsdecode(root + b"/bad\xff/layout\xfe"))
    multi_platform_layout(layout)
    with qtbot.waitSignal(window.places.locationLoaded, timeout=WAIT_MS):
        window.open_location(layout)
    places = window.places
    assert places.data(places.index(1, 0)) == "layout\\xfe"
    assert f"{tmp_path}/bad\\xff/layout\\xfe" in places.data(places.index(1, 0),
                                                            Qt.ItemDataRole.ToolTipRole)
    emit(window.recent_menu.aboutToShow)
    texts = [a.text() for a in window.recent_menu.actions() if not a.isSeparator()]
    assert texts[0] == f"{tmp_path}/bad\\xff/layout\\xfe"
    # Copy Path: as a shell takes it, and as a file: URL carrying the bytes
    window.copy_path(layout)
    data = QGuiApplication.clipboard().mimeData()
    assert data.text() == f"$'{tmp_path}/bad\\xff/layout\\xfe'"
    url = data.urls()[0].toString(QUrl.ComponentFormattingOption.FullyEncoded)
    assert urllib.parse.unquote_to_bytes(url.removeprefix("file://")) == \
        root + b"/bad\xff/layout\xfe"
    assert "written as a shell takes it" in window.status_text


def test_copy_path_quotes_a_name_a_paste_would_read_otherwise(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """A name with a quote, or a space at its end, was put on the clipboard as it is: a
    paste took the quote for quoting, or stripped the space."""
    for name, written in (("it's", "it'\\''s"), ("ends ", "ends ")):
        window.copy_path(tmp_path / name)
        assert QGuiApplication.clipboard().text() == f"'{tmp_path}/{written}'"
        assert "written as a shell takes it" in window.status_text
    window.copy_path(tmp_path / "plain name")
    assert QGuiApplication.clipboard().text() == f"{tmp_path}/plain name"


def test_a_long_status_message_is_cut_with_an_ellipsis(qtbot: QtBot, window: MainWindow) -> None:
    message = ("Copied registry.example.com/some/rather/long/repository/name:1.0 to "
               "oci:/home/someone/with/a/deep/folder/of/layouts/mirror:team/app:1.0; "
               "2 notes — see Details.")
    window.resize(700, 500)
    qtbot.waitUntil(lambda: window.width() <= 720, timeout=WAIT_MS)
    window.show_status(message)
    label = window.message_label
    qtbot.waitUntil(lambda: label.shown_text() != message, timeout=WAIT_MS)
    shown = label.shown_text()
    assert shown.endswith("…") and message.startswith(shown[:-1])
    assert label.toolTip() == message
    assert window.status_text == message
    window.resize(1800, 500)
    qtbot.waitUntil(lambda: label.shown_text() == message, timeout=WAIT_MS)
    assert label.toolTip() == ""


def test_closing_a_broken_location_from_the_pane(qtbot: QtBot, window: MainWindow,
                                                 tmp_path: Path) -> None:
    with qtbot.waitSignal(window.places.locationFailed, timeout=WAIT_MS):
        window.open_location(tmp_path / "gone")
    window.image_view.location_close.click()
    assert window.places.rowCount() == 0
    assert window.image_view.pages.currentWidget() is window.image_view.empty


def test_a_folder_that_is_no_layout_shows_the_sentence(qtbot: QtBot, window: MainWindow,
                                                       tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8")
    with qtbot.waitSignal(window.places.locationFailed, timeout=WAIT_MS) as blocker:
        window.open_location(folder)
    sentence = blocker.args[1]
    assert "is not an image layout" in sentence
    assert window.image_view.error_text == sentence
    row = window.places.index(0, 0, window.places.index(0, 0))
    assert window.places.data(row) == "Cannot be opened"
    assert window.places.data(row, window.places.ERROR_ROLE) == sentence


def test_a_place_that_failed_leaves_the_status_bar_when_another_opens(
        qtbot: QtBot, window: MainWindow, tmp_layout: Path, tmp_path: Path) -> None:
    folder = tmp_path / "notalayout"
    folder.mkdir()
    (folder / "readme.txt").write_text("hello\n")
    with qtbot.waitSignal(window.places.locationFailed, timeout=WAIT_MS) as failed:
        window.open_location(folder, select=False)  # (not chosen: its page is not shown)
    assert window.status_text == failed.args[1]
    window.tree.setCurrentIndex(window.places.index(0, 0))  # its own row: kept
    assert window.status_text == failed.args[1]
    window.open_location(tmp_layout)
    qtbot.waitUntil(lambda: window.image_view.state is not None, timeout=WAIT_MS)
    # the image shown is not the failed folder's: the bar does not name it under it
    assert window.status_text == ""
    row = window.places.index(0, 0, window.places.index(0, 0))
    assert window.places.data(row, window.places.ERROR_ROLE) \
        == failed.args[1]  # (the failed place's row still says it, in its tooltip)


def test_an_image_that_failed_leaves_the_status_bar_when_another_is_shown(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path / "two-images")
    broken = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})]))
    builder.tag(broken, "broken")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/b": b"b"})])), "fine")
    builder.blob_path(broken["digest"]).write_bytes(b"no manifest")
    window.open_location(builder.root, select=False)
    wait_listed(qtbot, window)
    with qtbot.waitSignal(window.image_view.loadFailed, timeout=WAIT_MS) as failed:
        window.tree.setCurrentIndex(window.places.find_image("broken"))
    # the pane says why, whole: the status bar does not echo it
    assert window.image_view.error_text == failed.args[0]
    assert window.status_text == ""
    show_image(qtbot, window, "fine")
    assert window.status_text == ""


def test_an_empty_folder_opened_is_a_place_to_copy_into_not_an_error(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts, tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    with qtbot.waitSignal(window.places.locationLoaded, timeout=WAIT_MS):
        window.open_location(folder)
    view = window.image_view
    qtbot.waitUntil(lambda: view.location.title.text() == "empty", timeout=WAIT_MS)
    assert view.error_text == ""
    assert view.location.body.text() == (
        f"An empty folder: drop an image on it, or copy one to oci:{folder}:TAG, to make it "
        "an OCI image layout.")  # said once, not again as "holds no images"
    place = window.copying._local_place(window.places.index(0, 0))
    assert place is not None and place.kind == "folder"
    row = window.places.index(0, 0, window.places.index(0, 0))  # the row under it
    assert row.data() == "No images yet"  # (short: the sidebar is narrow)
    assert row.data(Qt.ItemDataRole.ToolTipRole) == \
        "<p>No images yet: drop one here to copy it in.</p>"
    # a sentence is cut at its end (names, such as the folder's, in the middle)
    from PySide6.QtWidgets import QStyleOptionViewItem

    for index, mode in ((row, Qt.TextElideMode.ElideRight),
                        (window.places.index(0, 0), Qt.TextElideMode.ElideMiddle)):
        option = QStyleOptionViewItem()
        option.textElideMode = window.tree.textElideMode()
        window.tree.itemDelegateForIndex(index).initStyleOption(option, index)
        assert option.textElideMode == mode
    assert os.listdir(folder) == []  # looked at, not written
    from tests.gui.guitools import core_copy

    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{folder}:tools")
    window.places.refresh(window.places.index(0, 0))  # as a copy's end refreshes it
    qtbot.waitUntil(lambda: window.places.find_image("tools", 0).isValid(), timeout=WAIT_MS)
    assert window.places.rowCount(window.places.index(0, 0)) == 1  # the note went


def test_a_broken_image_shows_a_message_panel(qtbot: QtBot, window: MainWindow,
                                              sample_layout_copy: Path,
                                              sample: SampleFacts) -> None:
    arm = sample.images["linux/arm/v7"]
    blob = sample_layout_copy / "blobs" / "sha256" / arm.manifest["config"]["digest"][7:]
    blob.write_bytes(b'{"tampered": true}')
    window.open_location(sample_layout_copy, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    with qtbot.waitSignal(view.loadFailed, timeout=WAIT_MS) as blocker:
        select_platform_row = next(i for i, s in enumerate(view.platforms.model.rows)
                                   if str(s.descriptor.platform) == "linux/arm/v7")
        view.platforms.table.selectRow(select_platform_row)
    assert "the content is not trusted" in blocker.args[0]
    assert view.banner.text == blocker.args[0]
    assert view.pages.currentWidget() is view.content  # the list stays usable


def _remove_manifests(layout: Path, sample: SampleFacts, platforms: list[str]) -> None:
    for platform in platforms:
        digest = sample.images[platform].manifest_digest
        (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).unlink()


def test_a_list_missing_one_platforms_manifest_shows_the_others(
        qtbot: QtBot, window: MainWindow, sample_layout_copy: Path,
        sample: SampleFacts) -> None:
    # as a registry holds a list one of whose platforms was deleted by digest, or a
    # layout written with skopeo --multi-arch index-only: the CLI reads the others
    missing = next(p for p in sample.images if p != str(host_platform()))
    _remove_manifests(sample_layout_copy, sample, [missing])
    window.open_location(sample_layout_copy, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    assert view.pages.currentWidget() is view.content
    assert view.state.image is not None and view.tabs.isTabEnabled(LAYERS)
    assert missing not in view.subtitle.text()
    assert view.banner.text.startswith(f"The image for {missing} cannot be read: its "
                                       "manifest ")
    assert "saved there without all of its images" in view.banner.text
    model = view.platforms.model
    row = next(i for i, s in enumerate(model.rows) if str(s.descriptor.platform) == missing)
    assert cell(model, row, platform_columns.SIZE) == "cannot be read"
    assert "is not in" in cell(model, row, platform_columns.DIGEST,
                               Qt.ItemDataRole.ToolTipRole)
    assert "3 entries in this list, 1 of which cannot be read" in view.platforms.caption.text()
    assert "for the platforms that can be read" in view.overview.field_text("Size")
    with qtbot.waitSignal(view.loadFailed, timeout=WAIT_MS) as blocker:
        view.platforms.table.selectRow(row)
    assert blocker.args[0].startswith(f"Cannot show the image for {missing}: its manifest ")
    assert view.banner.text == blocker.args[0]
    assert view.pages.currentWidget() is view.content


def test_a_list_none_of_whose_images_can_be_read_is_still_shown(
        qtbot: QtBot, window: MainWindow, sample_layout_copy: Path,
        sample: SampleFacts) -> None:
    _remove_manifests(sample_layout_copy, sample, list(sample.images))
    window.open_location(sample_layout_copy, select=False)
    view = window.image_view
    view.tabs.setCurrentIndex(LAYERS)
    show_image(qtbot, window, "spyglass-demo:1.0")
    assert view.pages.currentWidget() is view.content
    assert view.state.image is None
    assert view.banner.text.startswith("None of its 3 entries can be read: its manifest ")
    assert not view.tabs.isTabEnabled(LAYERS) and not view.tabs.isTabEnabled(HISTORY)
    assert view.tabs.tabToolTip(LAYERS) == view.banner.text
    assert view.tabs.currentIndex() == PLATFORMS
    assert view.platforms.model.rowCount() == 3
    assert "3 entries in this list, 3 of which cannot be read. No image of it is shown." in (
        view.platforms.caption.text())
    assert view.overview.field_text("Shown platform") == "—"
    assert view.overview.field_text("Image digest") == ""
    assert view.overview.field_text("Layers") == ""
    assert view.overview.field_text("Size").endswith(
        ": the list alone (none of its images can be read)")
    assert [d.title for d in view.raw.documents] == ["spyglass-demo:1.0"]
    # another image brings the tabs back
    show_image(qtbot, window, "tools:2024.1")
    assert view.tabs.isTabEnabled(LAYERS) and view.tabs.isTabEnabled(HISTORY)
    assert view.banner.text == ""


def test_a_list_whose_first_image_cannot_be_read_shows_the_next(
        qtbot: QtBot, window: MainWindow, sample_layout_copy: Path,
        sample: SampleFacts) -> None:
    # this system's image has its manifest but not its config: the next one is shown
    host = str(host_platform())
    first = host if host in sample.images else next(iter(sample.images))
    config = sample.images[first].manifest["config"]["digest"]
    (sample_layout_copy / "blobs" / "sha256" / config.removeprefix("sha256:")).unlink()
    window.open_location(sample_layout_copy, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    view = window.image_view
    assert view.state.image is not None and view.tabs.isTabEnabled(LAYERS)
    assert str(view.state.current.descriptor.platform) != first
    assert view.banner.text.startswith(f"The image for {first} cannot be read: the blob ")
    model = view.platforms.model
    row = next(i for i, s in enumerate(model.rows) if str(s.descriptor.platform) == first)
    assert cell(model, row, platform_columns.SIZE) == "cannot be read"
    assert config in cell(model, row, platform_columns.OS, Qt.ItemDataRole.ToolTipRole)


def test_an_empty_list_is_shown_as_empty(qtbot: QtBot, window: MainWindow,
                                         tmp_path: Path) -> None:
    empty = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": []}).encode()
    digest = hashlib.sha256(empty).hexdigest()
    layout = tmp_path / "empty-list"
    (layout / "blobs" / "sha256").mkdir(parents=True)
    (layout / "blobs" / "sha256" / digest).write_bytes(empty)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json", "size": len(empty),
        "digest": f"sha256:{digest}",
        "annotations": {"org.opencontainers.image.ref.name": "nothing"}}]}))
    window.open_location(layout, select=False)
    show_image(qtbot, window, "nothing")
    view = window.image_view
    assert view.pages.currentWidget() is view.content
    assert view.banner.text == "This list is empty: it names no image."
    assert "0 entries in this list. No image of it is shown." in view.platforms.caption.text()
    assert "0 entries" in view.subtitle.text()


# -- stale answers


def test_a_stale_image_answer_is_dropped(qtbot: QtBot, window: MainWindow,
                                         sample: SampleFacts) -> None:
    window.open_location(sample.layout, select=False)
    wait_listed(qtbot, window)
    places, view = window.places, window.image_view
    shown: list[str] = []
    view.imageShown.connect(lambda state: shown.append(state.entry.label))
    generation = window.runner.generation("image")
    # two selections in one turn of the event loop: the first answer can only arrive late
    window.tree.setCurrentIndex(places.find_image("spyglass-demo:1.0"))
    window.tree.setCurrentIndex(places.find_image("tools:2024.1"))
    assert window.runner.generation("image") > generation + 1
    qtbot.waitUntil(lambda: window.runner.active == 0, timeout=WAIT_MS)
    assert shown == ["tools:2024.1"]
    assert view.state.entry.label == "tools:2024.1"


# -- drag and drop


def drop_event(cls, paths: list[Path]):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    if cls is QDropEvent:
        event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                           Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    else:
        event = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    return mime, event


def test_dropping_a_folder_opens_it(qtbot: QtBot, window: MainWindow,
                                    sample: SampleFacts) -> None:
    assert window.acceptDrops()
    _mime, enter = drop_event(QDragEnterEvent, [sample.layout])
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    _mime2, drop = drop_event(QDropEvent, [sample.layout])
    with qtbot.waitSignal(window.places.locationLoaded, timeout=WAIT_MS):
        window.dropEvent(drop)
    assert drop.isAccepted()
    assert window.places.paths == [normalize_location(sample.layout)]


@pytest.mark.parametrize("sidebar", ["places", "registries"])
def test_a_folder_dragged_over_the_sidebars_is_taken_by_the_window(
    qtbot: QtBot, window: MainWindow, sample: SampleFacts, sidebar: str
) -> None:
    """The sidebars take dragged images only; a folder from the file manager passes
    through them to the window at every step of the drag, so the pointer never says
    "no drop" over them (Qt sends the events to the widget under the pointer first)."""
    tree = window.tree if sidebar == "places" else window.registries.tree
    viewport = tree.viewport()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(sample.layout))])
    where = QPoint(10, 10)
    buttons, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(where, Qt.DropAction.CopyAction, mime, buttons, keys)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    move = QDragMoveEvent(where, Qt.DropAction.CopyAction, mime, buttons, keys,
                          QEvent.Type.DragMove)
    move.ignore()  # as Qt delivers a move: it is for the receiver to accept
    QApplication.sendEvent(viewport, move)
    assert move.isAccepted()
    drop = QDropEvent(QPointF(where), Qt.DropAction.CopyAction, mime, buttons, keys)
    drop.ignore()
    with qtbot.waitSignal(window.places.locationLoaded, timeout=WAIT_MS):
        QApplication.sendEvent(viewport, drop)
    assert drop.isAccepted()


def test_dragging_text_is_refused(window: MainWindow) -> None:
    mime = QMimeData()
    mime.setText("not a file")
    enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    assert not enter.isAccepted()


# -- settings and session


def _first_start(qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Path:
    """Start as the first time, $XDG_DATA_HOME in ``tmp_path``; the place it opened, which
    is asserted to be the user's own copy of the sample there."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    window = make_window(Settings())
    window.restore_session()
    wait_listed(qtbot, window)
    own = tmp_path / "data" / "spyglass" / "sample-layout"
    assert window.places.paths == [normalize_location(own)]
    return own


def test_first_start_opens_the_sample(qtbot: QtBot, make_window: Callable[..., MainWindow],
                                      sample: SampleFacts, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # the user's own copy of it: what is dropped on it is written there, not into the
    # source tree's committed sample (nor an installed package)
    own = _first_start(qtbot, make_window, tmp_path, monkeypatch)
    assert (own / "index.json").read_bytes() == (sample.layout / "index.json").read_bytes()
    # (and beside it, the digest of the index.json it was copied with: spyglass.gui.sample)
    assert sorted(p.name for p in (tmp_path / "data" / "spyglass").iterdir()) == [
        ".sample-layout.made-from", "sample-layout"]


def test_an_installed_copy_opens_the_sample_it_was_installed_with(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A wheel puts resources/ inside the package (site-packages/spyglass/resources), where
    no source tree is around it; a checkout keeps it at the top of the tree."""
    source_tree = Path(spyglass.__file__).resolve().parents[2]
    assert icons.resources_dir() == source_tree / "resources"
    package = tmp_path / "site-packages" / "spyglass"
    shutil.copytree(sample.layout, package / "resources" / "sample-layout")
    (package / "resources" / "icons").mkdir()
    monkeypatch.setattr(spyglass, "__file__", str(package / "__init__.py"))
    assert icons.resources_dir() == package / "resources"
    assert sample_layout_path() == package / "resources" / "sample-layout"
    installed = package / "resources" / "sample-layout" / "index.json"
    installed.write_bytes(installed.read_bytes().replace(b"spyglass-demo:1.0", b"installed:1"))
    own = _first_start(qtbot, make_window, tmp_path, monkeypatch)
    assert (own / "index.json").read_bytes() == installed.read_bytes()  # (copied from it)


def test_later_starts_reopen_the_last_places(qtbot: QtBot,
                                             make_window: Callable[..., MainWindow],
                                             sample: SampleFacts, tmp_layout: Path) -> None:
    settings = Settings(first_run_done=True, recent_locations=[str(tmp_layout)],
                        open_locations=[str(tmp_layout)])
    window = make_window(settings)
    window.restore_session()
    wait_listed(qtbot, window)
    assert window.places.paths == [str(tmp_layout)]


def _restore_and_wait(qtbot: QtBot, window: MainWindow, count: int) -> None:
    """``restore_session``, then wait until ``count`` places were listed and the window
    was told so (its own slot, connected first, has run)."""
    listed: list[object] = []
    window.places.locationLoaded.connect(listed.append)
    window.restore_session()
    qtbot.waitUntil(lambda: len(listed) == count, timeout=WAIT_MS)


def test_reopening_the_last_places_leaves_recent_in_its_order(
        qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path) -> None:
    """Each place listed again went to the top of File ▸ Recent, in the order the
    listings finished: every start shuffled it though the user opened nothing."""
    layouts = [str(tmp_path / name) for name in ("a", "b", "c", "d")]
    for layout in layouts:
        multi_platform_layout(Path(layout))
    # (c, not open, between the two that are: any order of listing moved it down)
    recent = [layouts[0], layouts[2], layouts[1]]
    settings = Settings(first_run_done=True, recent_locations=list(recent),
                        open_locations=[layouts[1], layouts[0]])
    window = make_window(settings)
    _restore_and_wait(qtbot, window, 2)
    assert window.settings.recent_locations == recent
    window.open_location(layouts[3])  # one the user opens goes to the top
    qtbot.waitUntil(lambda: window.settings.recent_locations[0] == layouts[3],
                    timeout=WAIT_MS)
    assert window.settings.recent_locations == [layouts[3], *recent]
    window.places.reload(window.places.index(0, 0))  # (a reload is the user's too)
    qtbot.waitUntil(lambda: window.settings.recent_locations[0] == layouts[1],
                    timeout=WAIT_MS)


def test_a_remembered_bundled_sample_is_reopened_as_the_users_copy(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts,
        tmp_layout: Path, tmp_path: Path, settings_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Spyglass before its own copies opened the bundled sample (in the installed package,
    or a checkout) and remembered it: after an upgrade it was reopened there, images
    dropped on it written into the package, and the user's copy never made."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    bundled = normalize_location(sample_layout_path())
    settings = Settings(first_run_done=True, recent_locations=[str(tmp_layout), bundled],
                        open_locations=[bundled, str(tmp_layout)])
    window = make_window(settings)
    _restore_and_wait(qtbot, window, 2)
    own = normalize_location(tmp_path / "data" / "spyglass" / "sample-layout")
    assert window.places.paths == [own, str(tmp_layout)]
    assert (Path(own) / "index.json").read_bytes() == \
        (sample.layout / "index.json").read_bytes()
    assert window.settings.recent_locations == [str(tmp_layout), own]
    window.close()
    saved = load_settings(settings_file)
    assert saved.open_locations == [own, str(tmp_layout)]
    assert saved.recent_locations == [str(tmp_layout), own]


def test_a_close_before_the_copy_is_there_keeps_the_last_places(
        qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_layout: Path,
        settings_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The places wait for the user's copy of the sample (made on a worker): a window
    closed meanwhile has none open yet, and must not save that as its places."""
    from spyglass.gui import window_locations

    copying, may_end = threading.Event(), threading.Event()

    def slow_copy(bundled: Path) -> Path:
        copying.set()
        may_end.wait(WAIT_MS / 1000)
        return bundled

    monkeypatch.setattr(window_locations, "own_sample", slow_copy)
    places = [normalize_location(sample_layout_path()), str(tmp_layout)]
    window = make_window(Settings(first_run_done=True, recent_locations=list(places),
                                  open_locations=list(places)))
    window.restore_session()
    qtbot.waitUntil(copying.is_set, timeout=WAIT_MS)
    threading.Timer(0.2, may_end.set).start()  # (while the close waits for the worker)
    window.close()
    assert load_settings(settings_file).open_locations == places


def test_a_start_whose_first_place_is_gone_shows_the_next(
        qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_layout: Path,
        tmp_path: Path) -> None:
    gone = tmp_path / "gone-layout"
    settings = Settings(first_run_done=True, recent_locations=[str(tmp_layout)],
                        open_locations=[str(gone), str(tmp_layout)])
    window = make_window(settings)
    window.restore_session()
    view = window.image_view
    qtbot.waitUntil(lambda: view.state is not None, timeout=WAIT_MS)
    node = window.places.location_node(window.chosen_place().parent())
    assert node is not None and node.path == tmp_layout
    assert window.places.paths == [str(gone), str(tmp_layout)]  # the gone one stays listed
    # later, choosing the gone place and reloading it shows its error: no moving on now
    gone_index = window.places.index(0, 0)
    window.tree.setCurrentIndex(gone_index)
    window.reload_current_location()
    qtbot.waitUntil(lambda: view.error_text.startswith("The path"), timeout=WAIT_MS)
    assert window.chosen_place() == gone_index


def test_a_place_of_last_session_not_there_at_start_is_still_remembered(
        qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_layout: Path,
        tmp_path: Path, settings_file: Path) -> None:
    """A drive not plugged in, a network folder not mounted: its row says the path does
    not exist, and the next start (the drive back) opened it no more. Closing its row
    forgets it; a place the user opens that fails is not remembered either."""
    usb, archive = tmp_path / "media" / "usb" / "layout", tmp_path / "gone" / "archive.tar"
    places = [normalize_location(p) for p in (usb, archive, tmp_layout)]
    window = make_window(Settings(first_run_done=True, recent_locations=list(places),
                                  open_locations=list(places)))
    window.restore_session()
    def states() -> list[LoadState]:
        nodes = [window.places.location_node(window.places.index(row, 0))
                 for row in range(window.places.rowCount())]
        return [node.state for node in nodes if node is not None]

    qtbot.waitUntil(lambda: states() == [LoadState.FAILED, LoadState.FAILED,
                                         LoadState.LOADED], timeout=WAIT_MS)
    window.open_location(tmp_path / "never-there")  # the user's own try
    qtbot.waitUntil(lambda: states()[3:] == [LoadState.FAILED], timeout=WAIT_MS)
    window.tree.setCurrentIndex(window.places.index(1, 0))  # the archive's row, closed
    window.close_current_location()
    window.close()
    assert load_settings(settings_file).open_locations == [places[0], places[2]]


def test_the_about_box_names_every_kind_of_place(window: MainWindow) -> None:
    about = window.about_box()
    text = about.text()
    about.close()
    for kind in ("registries", "OCI image layouts", "dir: layouts", "image archives"):
        assert kind in text


def test_closing_saves_settings_and_stops_threads(qtbot: QtBot, demo: MainWindow,
                                                  sample: SampleFacts,
                                                  settings_file: Path) -> None:
    demo.close()
    assert demo.runner.closed
    saved = load_settings(settings_file)
    assert saved.first_run_done
    assert saved.recent_locations == [normalize_location(sample.layout)]
    assert saved.open_locations == [normalize_location(sample.layout)]
    assert saved.window_geometry
    # a new window takes the geometry back (the offscreen screen is too small to compare sizes)
    other = MainWindow(saved, settings_file=settings_file)
    qtbot.addWidget(other)
    assert other.restore_window_geometry()
    other.close()


def test_open_recent_menu_lists_recent_places(qtbot: QtBot, demo: MainWindow,
                                              sample: SampleFacts) -> None:
    emit(demo.recent_menu.aboutToShow)
    texts = [a.text() for a in demo.recent_menu.actions() if not a.isSeparator()]
    assert texts == [normalize_location(sample.layout), "Clear Recent"]
    demo.recent_menu.actions()[-1].trigger()
    assert demo.settings.recent_locations == []
    assert not demo.recent_menu.isEnabled()


def test_tree_children_are_images(qtbot: QtBot, demo: MainWindow) -> None:
    location = demo.places.index(0, 0)
    nodes = [demo.places.node(demo.places.index(r, 0, location)) for r in range(2)]
    assert all(isinstance(n, ImageNode) for n in nodes)
    assert demo.places.parent(demo.places.index(0, 0, location)) == location
    assert demo.places.parent(location) == QModelIndex()


def test_a_folder_dropped_that_cannot_be_read_is_opened_not_a_bug(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """_copy_target runs on a worker: an unreadable folder is "not an empty folder"
    (opening it then says why), never an unexpected error (root reads every folder, so
    the refusal is made here)."""
    from spyglass.gui.main_window import _copy_target

    empty = tmp_path / "empty"
    empty.mkdir()
    assert _copy_target(str(empty))
    assert not _copy_target(str(tmp_path))  # holds "empty"
    assert not _copy_target(str(tmp_path / "missing"))

    def refuse(self: Path) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "iterdir", refuse)
    assert not _copy_target(str(empty))


def test_local_keeps_room_for_its_rows_when_the_transfers_panel_opens(
    qtbot: QtBot, window: MainWindow, sample: SampleFacts, registry_binary: str
) -> None:
    from tests.gui.guitools import add_registry
    from tests.helpers.registry import RegistryServer

    with RegistryServer(binary=registry_binary) as server:
        add_registry(qtbot, window, server.host, insecure=True)
        window.resize(1000, 650)
        window.open_location(sample.layout, select=False)
        wait_listed(qtbot, window)
        window.tree.expand(window.places.index(0, 0))
        rows = 1 + window.places.rowCount(window.places.index(0, 0))
        needed = rows * window.tree.sizeHintForRow(0)

        def local_fits() -> None:
            assert window.tree.viewport().height() >= needed

        qtbot.waitUntil(local_fits, timeout=WAIT_MS)
        window.copying.show_panel()  # the sidebar gets shorter
        qtbot.waitUntil(lambda: window.copying.panel.isVisible(), timeout=WAIT_MS)
        qtbot.waitUntil(local_fits, timeout=WAIT_MS)
        window.resize(1000, 560)  # and shorter still
        qtbot.waitUntil(local_fits, timeout=WAIT_MS)


def test_many_layouts_take_the_room_the_registries_leave(
    qtbot: QtBot, window: MainWindow, sample: SampleFacts, registry_binary: str,
    tmp_path: Path,
) -> None:
    """LOCAL was held to 45 % of the sidebar, scrolling, beside an empty REGISTRIES."""
    import shutil

    from tests.gui.guitools import add_registry
    from tests.helpers.registry import RegistryServer

    with RegistryServer(binary=registry_binary) as server:
        add_registry(qtbot, window, server.host, insecure=True)
        window.registries.tree.collapseAll()
        window.resize(1000, 700)
        for n in range(12):
            copy = tmp_path / f"layout-{n:02}"
            shutil.copytree(sample.layout, copy)
            window.open_location(copy, select=False)
        qtbot.waitUntil(lambda: window.places.rowCount() == 12, timeout=WAIT_MS)
        needed = 12 * window.tree.sizeHintForRow(0)

        def local_fits() -> None:
            window.sidebar.fit()
            assert window.tree.viewport().height() >= needed

        qtbot.waitUntil(local_fits, timeout=WAIT_MS)
        registries, local = window.sidebar.sizes()
        assert local > 0.45 * (registries + local)


def test_local_gets_its_room_back_when_a_registry_browsed_is_closed(
    qtbot: QtBot, window: MainWindow, sample: SampleFacts, demo_registry: RegistryFacts,
    tmp_path: Path,
) -> None:
    """A registry opened (its repositories and tags listed) takes the sidebar, LOCAL held
    to 45 %; closed again, LOCAL stayed squeezed, scrolling, beside an empty REGISTRIES:
    the split did not follow the registries' rows."""
    from tests.gui.guitools import add_registry, wait_repositories

    host = demo_registry.host
    add_registry(qtbot, window, host)
    window.resize(1000, 560)
    for n in range(5):
        copy = tmp_path / f"layout-{n}"
        shutil.copytree(sample.layout, copy)
        window.open_location(copy, select=False)
        wait_listed(qtbot, window, n)
    window.tree.expandAll()
    needed = window.places.rowCount() * 3 * window.tree.sizeHintForRow(0)

    def local_fits() -> bool:
        return window.tree.viewport().height() >= needed

    qtbot.waitUntil(local_fits, timeout=WAIT_MS)
    # browsed: every repository's tags listed
    model, tree = window.registries.model, window.registries.tree
    tree.expand(model.registry_index(host))
    assert wait_repositories(qtbot, window, host) == ["demo/app", "other/tools"]
    for row in range(model.rowCount(model.registry_index(host))):
        repository = model.index(row, 0, model.registry_index(host))
        tree.expand(repository)
        qtbot.waitUntil(lambda r=repository: model.rowCount(r) > 0  # type: ignore[misc]
                        and not model.canFetchMore(r), timeout=WAIT_MS)
    window.resize(1000, 550)  # (as the Transfers panel opening does: fitted again)
    qtbot.waitUntil(lambda: not local_fits(), timeout=WAIT_MS)  # REGISTRIES took room
    registries, local = window.sidebar.sizes()
    assert local >= 0.4 * (registries + local)
    # closed again: LOCAL shows its rows, as before
    tree.collapseAll()
    qtbot.waitUntil(local_fits, timeout=WAIT_MS)


def test_a_long_image_name_does_not_widen_the_window(
        qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> None:
    """A cosign tag's name (sha256-<64 hex>.sig) in the header is shortened in its middle:
    it must not set the window's narrowest width."""
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    narrowest = window.minimumSizeHint().width()
    view = window.image_view
    long_name = f"127.0.0.1:5000/team/app:sha256-{'a' * 64}.sig"
    view.title.setText(long_name)
    view.subtitle.setText("OCI image manifest · " + "x" * 400)
    assert window.minimumSizeHint().width() == narrowest
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: view.title.width() < view.fontMetrics().horizontalAdvance(long_name),
                    timeout=WAIT_MS)
    assert view.title.shown_text() != long_name and "…" in view.title.shown_text()
    assert view.title.toolTip() == long_name


def test_a_platform_that_cannot_be_shown_is_named(qtbot: QtBot, window: MainWindow,
                                                  tmp_path: Path) -> None:
    root = tmp_path / "multi"
    top = multi_platform_layout(root)
    index = json.loads((root / "blobs/sha256" / top["digest"][7:]).read_bytes())
    arm = next(m for m in index["manifests"] if m["platform"]["architecture"] == "arm64")
    manifest = json.loads((root / "blobs/sha256" / arm["digest"][7:]).read_bytes())
    config = root / "blobs/sha256" / manifest["config"]["digest"][7:]
    config.write_bytes(config.read_bytes().replace(b"arm64", b"arm65"))  # corrupt
    window.open_location(root, select=False)
    show_image(qtbot, window, "latest")
    view = window.image_view
    model = view.platforms.model
    row = next(i for i, s in enumerate(model.rows) if str(s.descriptor.digest) == arm["digest"])
    with qtbot.waitSignal(view.loadFailed, timeout=WAIT_MS) as failed:
        view.platforms.table.selectRow(row)
    assert failed.args[0].startswith("Cannot show the image for linux/arm64/v8: ")


def test_a_narrow_layers_table_keeps_created_by_in_sight(
    qtbot: QtBot, demo: MainWindow
) -> None:
    """Too narrow for every column as fitted, the digests narrow first (elided) and the
    step that made each layer keeps what is left, with no sideways scrolling; wider
    again, the digests get their width back."""
    view = demo.image_view
    view.tabs.setCurrentIndex(LAYERS)
    table, header = view.layers.table, view.layers.table.horizontalHeader()
    demo.show()
    demo.resize(1400, 800)
    qtbot.waitUntil(lambda: header.length() <= table.viewport().width(), timeout=WAIT_MS)
    fitted = header.sectionSize(layer_columns.DIGEST)
    others = sum(header.sectionSize(c) for c in range(header.count())
                 if c not in (layer_columns.DIGEST, layer_columns.CREATED_BY))
    # narrower by half the digests' width than all of it fitted needs
    demo.resize(demo.width() - (table.viewport().width() - others - fitted
                                - view.layers.CREATED_BY_ROOM) - fitted // 2, 600)
    qtbot.waitUntil(lambda: header.sectionSize(layer_columns.DIGEST) < fitted,
                    timeout=WAIT_MS)
    assert header.length() <= table.viewport().width()  # no sideways scrolling
    assert header.sectionSize(layer_columns.CREATED_BY) >= view.layers.CREATED_BY_LEAST
    demo.resize(1400, 800)
    qtbot.waitUntil(lambda: header.sectionSize(layer_columns.DIGEST) == fitted,
                    timeout=WAIT_MS)
    assert header.sectionSize(layer_columns.CREATED_BY) >= view.layers.CREATED_BY_ROOM


def test_an_image_of_300_layers_shows_without_measuring_the_tables_out_of_sight(
    qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Showing an image of 400 layers and 3,400 history steps held the window for 0.5 s,
    every time: its Layers and History tables, out of sight on their tabs, were fitted
    to their contents, measuring 200 rows each. A table is fitted as its tab comes into
    sight, on 50 rows."""
    from spyglass.gui.models.table import RowTableModel
    from spyglass.gui.views.widgets import FIT_ROWS

    builder = LayoutBuilder(tmp_path / "deep")
    builder.tag(builder.add_image(ImageSpec(
        layers=[LayerSpec({f"/layer/{n}": b"x"}, created_by=f"RUN step {n}")
                for n in range(300)],
        empty_history_steps=[(n, f"ENV STEP={n}") for n in range(0, 300, 3)])), "deep")
    asked: dict[str, set[int]] = {}
    data = RowTableModel.data

    def counted(model: RowTableModel[Any], index: Any,
                role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        asked.setdefault(type(model).__name__, set()).add(index.row())
        return data(model, index, role)

    monkeypatch.setattr(RowTableModel, "data", counted)
    window = make_window()
    window.resize(1100, 700)
    window.open_location(tmp_path / "deep", select=False)
    view = window.image_view
    asked.clear()
    show_image(qtbot, window, "deep")
    assert len(view.layers.model.rows) == 300 and len(view.history.model.rows) == 400
    assert not asked.get("LayersModel") and not asked.get("HistoryModel")
    for tab, model in ((LAYERS, "LayersModel"), (HISTORY, "HistoryModel")):
        asked.clear()
        table = view.layers.table if tab == LAYERS else view.history.table
        view.tabs.setCurrentIndex(tab)  # (fitted as it comes into sight)
        assert 0 < len(asked.get(model, ())) <= FIT_ROWS == 50
        header = table.horizontalHeader()
        assert header.sectionSize(0) != header.defaultSectionSize()
    assert view.layers.table.horizontalHeader().sectionSize(layer_columns.SHARE) >= 130


# -- text that could turn or hide other text


HEBREW = "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd"


def _ink(label: QWidget, top: float = 0.0, bottom: float = 1.0) -> tuple[int, int]:
    """The leftmost and rightmost columns with text drawn in a band of ``label`` (its
    height from ``top`` to ``bottom``, as fractions)."""
    from PySide6.QtGui import QColor

    image = label.grab().toImage()
    background = QColor(image.pixelColor(0, 0)).lightness()
    columns = [x for x in range(image.width())
               for y in range(int(image.height() * top), int(image.height() * bottom))
               if abs(image.pixelColor(x, y).lightness() - background) > 60]
    assert columns, "nothing drawn there"
    return min(columns), max(columns)


def test_bidi_and_zero_width_characters_are_shown_and_values_stay_left(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """An image's U+202E turned the rest of its label around (``abedirrevo-LTR``), and
    U+200B hid itself, so a label could pass for another: each is shown as its escape,
    as the command line shows it. A value in Hebrew floated right, away from its name."""
    builder = LayoutBuilder(tmp_path / "bidi")
    descriptor = builder.add_image(ImageSpec(
        layers=[LayerSpec({"/etc/motd": b"hi\n"})],
        labels={"a": "x" * 60, "b": HEBREW, "zwj": "a\u200bb\u202eRTL-override"},
        author=HEBREW, env=["GREETING=h\u00e9llo \u202ecba"],
        empty_history_steps=[(0, "/bin/sh -c #(nop) LABEL x=\u202eevil\u202c ok")],
        annotations={"org.opencontainers.image.title": "\u200ftitle\u2066"}))
    builder.tag(descriptor, "latest")
    window.resize(1200, 800)
    window.open_location(tmp_path / "bidi", select=False)
    show_image(qtbot, window, "latest")
    overview = window.image_view.overview
    labels = overview.field_text("Labels")
    assert "a\\u200bb\\u202eRTL-override" in labels
    assert "\u202e" not in labels and "\u200b" not in labels
    assert "\\u200ftitle\\u2066" in overview.field_text("Annotations")
    assert overview.field_text("Environment") == "GREETING=h\u00e9llo \\u202ecba"
    steps = column_texts(window.image_view.history.model, history_columns.STEP)
    assert "LABEL x=\\u202eevil\\u202c ok" in steps
    window.image_view.history.render_config()  # what showing the tab does
    window.image_view.raw.render_document()
    config_text = window.image_view.history.config_view.toPlainText()
    assert "\\u202eevil" in config_text and "\u202e" not in config_text
    assert json.loads(config_text)["config"]["Labels"]["zwj"] == "a\u200bb\u202eRTL-override"
    assert "\\u200ftitle" in window.image_view.raw.browser.toPlainText()

    # every value from the left of its column: the Hebrew one too
    author = overview._values["Author"]
    name = overview._values["Name"]
    qtbot.waitUntil(lambda: author.isVisible() and author.width() > 400, timeout=WAIT_MS)
    assert author.mapTo(overview, author.rect().topLeft()).x() == \
        name.mapTo(overview, name.rect().topLeft()).x()
    assert _ink(author)[0] < 10
    table = overview._values["Labels"]
    _long_left, long_right = _ink(table, 0.0, 0.3)  # the row of "a"
    _hebrew_left, hebrew_right = _ink(table, 0.36, 0.63)  # the row of "b"
    assert hebrew_right < long_right / 2


def test_an_images_text_shows_as_written_tabs_spaces_and_markup_included(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """A build step's tabs stay tabs (official images' ``set -eux; \\tapt-get …`` read
    ``\\x09``), a no-break space a space; markup in a value is text (a step echoing
    ``<h1>`` showed a heading in the layer's details) and ``<b>x</b> & y`` in the
    Overview reads as typed."""
    step = "RUN set -eux; \tapt-get update; \t\techo '<h1>Hello</h1>' > index.html"
    builder = LayoutBuilder(tmp_path / "text")
    descriptor = builder.add_image(ImageSpec(
        layers=[LayerSpec({"/etc/motd": b"hi\n"}, created_by=step)],
        labels={"price": "10\xa0\u20ac", "lines": "one\ntwo"},
        author="<b>x</b> & y", env=["TABBED=a\tb"]))
    builder.tag(descriptor, "latest")
    window.open_location(tmp_path / "text", select=False)
    show_image(qtbot, window, "latest")
    overview = window.image_view.overview
    assert overview.field_text("Author") == "<b>x</b> & y"
    assert overview.field_text("Environment") == "TABBED=a\tb"
    labels = overview.field_text("Labels")
    assert "10\xa0\u20ac" in labels and "\\x" not in labels
    assert column_texts(window.image_view.history.model, history_columns.STEP) == [step]
    view = window.image_view
    view.tabs.setCurrentWidget(view.layers)
    view.layers.table.selectRow(0)
    details = view.layers.details
    qtbot.waitUntil(lambda: details.value("Created by") == step, timeout=WAIT_MS)
    label = details._values["Created by"]
    assert label.textFormat() == Qt.TextFormat.PlainText


def test_a_megabyte_manifest_and_config_are_shown_at_once(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """A 1 MB manifest and config (valid, well under the 4 MiB accepted) held the window
    up for seconds, with gigabytes, as Raw JSON and History laid them out in colour:
    above 256 KiB they are offered as plain text, and laid out only when seen (what
    the tabs hold is checked here; how long that takes belongs in a benchmark)."""
    builder = LayoutBuilder(tmp_path / "big")
    plain = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})]))
    manifest = builder.read_json(plain)
    config = builder.read_json(manifest["config"])
    config["x"] = [0] * 500_000
    manifest["config"] = {**manifest["config"], **builder.add_blob(
        json.dumps(config).encode())}
    manifest["x"] = [0] * 500_000
    big = builder.add_blob(json.dumps(manifest).encode())
    builder.tag({**big, "mediaType": manifest["mediaType"]}, "big")
    window.resize(1000, 700)
    window.show()
    window.open_location(tmp_path / "big", select=False)
    show_image(qtbot, window, "big")
    view = window.image_view
    for tab in (HISTORY, RAW):
        view.tabs.setCurrentIndex(tab)
        qtbot.wait(1)
    assert "too large to show" in view.raw.browser.toPlainText()
    assert "too large to show" in view.history.config_view.toPlainText()
    assert len(view.raw.browser.toHtml()) < 10_000

    view.raw.open_link(QUrl("show:plain"))  # the placeholder's link: plain text
    assert json.loads(view.raw.browser.toPlainText()) == manifest
    view.tabs.setCurrentIndex(HISTORY)
    view.history.config_view.anchorClicked.emit(QUrl("show:plain"))
    assert json.loads(view.history.config_view.toPlainText()) == config


def test_a_long_annotation_is_shown_cut_in_the_overview(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """A description of 3.5 MB held the window up for 17 s as the Overview laid it out:
    a value is shown to 2,000 characters, with a note that Raw JSON has all of it."""
    builder = LayoutBuilder(tmp_path / "long")
    words = "lorem ipsum dolor sit amet " * 20_000  # 540,000 characters
    builder.tag(builder.add_image(ImageSpec(
        layers=[LayerSpec({"/a": b"a"})], labels={"long": words},
        annotations={"org.opencontainers.image.description": words})), "latest")
    window.open_location(tmp_path / "long", select=False)
    show_image(qtbot, window, "latest")
    overview = window.image_view.overview
    for field in ("Annotations", "Labels"):
        text = overview.field_text(field)
        assert "(540,000 characters; the Raw JSON tab has all of it)" in text
        assert len(text) < 2600  # the rich text of a table of one row


def test_a_start_without_a_copy_of_the_sample_does_not_remember_the_bundled_one(
        qtbot: QtBot, make_window: Callable[..., MainWindow], sample: SampleFacts,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings_file: Path) -> None:
    """Opened where no copy can be made; remembered, every later start opened the
    checkout's committed files (where what is dropped is written)."""
    monkeypatch.setenv("HOME", str(tmp_path / "nonexistent"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    window = make_window(Settings())
    window.restore_session()
    wait_listed(qtbot, window)
    assert window.places.paths == [normalize_location(sample_layout_path())]
    window.close()
    assert load_settings(settings_file).first_run_done
    assert load_settings(settings_file).recent_locations == []
    assert load_settings(settings_file).open_locations == []
