"""Every model of the window passes pytest-qt's model tester, filled with real data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPersistentModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from spyglass.core.layerfiles import LayerFile
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.history import HistoryModel
from spyglass.gui.models.layer_files import LayerFilesModel
from spyglass.gui.models.layers import LayersModel
from spyglass.gui.models.places import ImageNode, PlacesModel
from spyglass.gui.models.platforms import PlatformsModel
from spyglass.gui.workers import Runner
from tests.gui.guitools import (
    WAIT_MS,
    SampleFacts,
    core_copy,
    select_platform,
    wait_listed,
)
from tests.helpers.imagebuild import REF_NAME_ANNOTATION as REF_NAME

pytestmark = pytest.mark.gui


@pytest.fixture
def runner(qtbot: QtBot):
    runner = Runner()
    yield runner
    runner.shutdown()


def test_places_model_while_it_loads_and_after(qtbot: QtBot, qtmodeltester: ModelTester,
                                               runner: Runner, sample: SampleFacts,
                                               tmp_path: Path, tmp_layout: Path) -> None:
    model = PlacesModel(runner)
    qtmodeltester.check(model)  # empty
    model.add_location(sample.layout, load=False)
    model.add_location(tmp_path / "missing")
    model.add_location(tmp_layout)
    # the tester stays connected: inserting the listed rows is checked as it happens
    qtbot.waitUntil(lambda: all(model.rowCount(model.index(r, 0)) > 0 for r in (1, 2)),
                    timeout=WAIT_MS)
    qtmodeltester.check(model)  # fetches the first location's images itself
    qtbot.waitUntil(lambda: model.rowCount(model.index(0, 0)) == 2, timeout=WAIT_MS)
    qtmodeltester.check(model)
    model.reload(model.index(0, 0))
    qtbot.waitUntil(lambda: model.rowCount(model.index(0, 0)) == 2, timeout=WAIT_MS)
    model.remove_location(model.index(1, 0))
    assert model.rowCount() == 2
    model.close_all()
    assert model.rowCount() == 0


def test_table_models_of_the_image_view(qtbot: QtBot, qtmodeltester: ModelTester,
                                        demo: MainWindow) -> None:
    view = demo.image_view
    for model in (view.platforms.model, view.layers.model, view.history.model):
        qtmodeltester.check(model)
    # switching platforms resets the tables and moves the current mark while checked
    other = "linux/arm/v7"
    select_platform(qtbot, demo, other)
    for model in (view.platforms.model, view.layers.model, view.history.model):
        qtmodeltester.check(model)


def test_empty_table_models(qtmodeltester: ModelTester) -> None:
    for model in (PlatformsModel(), LayersModel(), HistoryModel(), LayerFilesModel()):
        qtmodeltester.check(model)


def test_layer_files_model_and_filter(qtmodeltester: ModelTester) -> None:
    files = [
        LayerFile("etc", "dir", 0, 0o755, None, 1704164645),
        LayerFile("etc/motd", "file", 37, 0o644, None, 1704164645),
        LayerFile("bin/sh", "symlink", 0, 0o777, "/bin/busybox", 1704164645),
        LayerFile("etc/old.conf", "whiteout", 0, 0, None, 0),
        LayerFile("var/cache", "opaque", 0, 0o755, None, 0),
    ]
    model = LayerFilesModel()
    model.set_rows(files)
    qtmodeltester.check(model)
    texts = [[model.data(model.index(r, c)) for c in range(model.columnCount())]
             for r in range(model.rowCount())]
    assert texts[0][:4] == ["/etc", "folder", "", "drwxr-xr-x"]
    assert texts[1][:4] == ["/etc/motd", "file", "37 B", "-rw-r--r--"]
    assert texts[2][1] == "symlink" and texts[2][3] == "lrwxrwxrwx"
    assert texts[2][5] == "/bin/busybox"
    assert texts[0][4] == "2024-01-02 03:04 UTC"  # in the zone every time is shown in
    assert texts[3][1] == "deleted"
    assert texts[4][1] == "opaque folder"
    model.set_filter_text("ETC")
    assert model.rowCount() == 3
    qtmodeltester.check(model)


def test_layer_file_names_show_each_byte_that_is_not_utf8(qtmodeltester: ModelTester) -> None:
    """Two names that differ in bytes that are not UTF-8 both showed as U+FFFD: each
    byte is shown as ``\\xNN`` (and a control character escaped, not drawn)."""
    files = [LayerFile(os.fsdecode(b"caf\xe9"), "file", 1, 0o644, None, 0),
             LayerFile(os.fsdecode(b"\xff\xfe"), "symlink", 0, 0o777,
                       os.fsdecode(b"to\xe9\n"), 0)]
    model = LayerFilesModel()
    model.set_rows(files)
    qtmodeltester.check(model)
    assert model.data(model.index(0, 0)) == "/caf\\xe9"
    assert model.data(model.index(1, 0)) == "/\\xff\\xfe"
    assert model.data(model.index(1, 5)) == "to\\xe9\\x0a"
    assert model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole) == "/caf\\xe9"


def test_places_model_survives_a_listing_arriving_after_removal(
    qtbot: QtBot, runner: Runner, sample: SampleFacts
) -> None:
    model = PlacesModel(runner)
    model.add_location(sample.layout)
    model.remove_location(model.index(0, 0))  # before the answer is in
    qtbot.waitUntil(lambda: runner.active == 0, timeout=WAIT_MS)
    assert model.rowCount() == 0


def test_wait_listed_helper_sees_failures(qtbot: QtBot, window: MainWindow,
                                          tmp_path: Path) -> None:
    window.open_location(tmp_path / "nothing-here")
    wait_listed(qtbot, window)
    assert window.places.rowCount(window.places.index(0, 0)) == 1


def test_refreshing_a_place_keeps_the_rows_of_images_still_there(
    qtbot: QtBot, qtmodeltester: ModelTester, runner: Runner, sample: SampleFacts,
    tmp_path: Path,
) -> None:
    layout = tmp_path / "layout"
    for tag in ("a", "b", "c"):
        core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{layout}:{tag}")
    model = PlacesModel(runner)
    model.add_location(layout)
    qtbot.waitUntil(lambda: model.rowCount(model.index(0, 0)) == 3, timeout=WAIT_MS)
    qtmodeltester.check(model)  # stays connected: the merge's row changes are checked
    kept = QPersistentModelIndex(model.find_image("b"))
    c_before = model.node(model.find_image("c"))
    assert isinstance(c_before, ImageNode)
    c_digest = c_before.entry.descriptor.digest
    # another tool rewrites the layout: "a" gone, "c" now another image, "d" new
    core_copy(f"oci:{sample.layout}:spyglass-demo:1.0", f"oci:{layout}:c")
    core_copy(f"oci:{sample.layout}:tools:2024.1", f"oci:{layout}:d")
    index_file = layout / "index.json"
    index = json.loads(index_file.read_text())
    index["manifests"] = [m for m in index["manifests"]
                          if m["annotations"]["org.opencontainers.image.ref.name"] != "a"]
    index_file.write_text(json.dumps(index))
    with qtbot.waitSignal(model.locationRefreshed, timeout=WAIT_MS):
        model.refresh(model.index(0, 0))
    parent = model.index(0, 0)
    labels = [model.data(model.index(r, 0, parent)) for r in range(model.rowCount(parent))]
    assert labels == ["b", "c", "d"]
    assert kept.isValid() and kept.row() == 0 and model.data(kept) == "b"
    c_after = model.node(model.find_image("c"))
    assert c_after is c_before  # the same row, now with the new image
    assert isinstance(c_after, ImageNode)
    assert c_after.entry.descriptor.digest != c_digest
    node = model.location_node(parent)
    assert node is not None and len(node.retired) == 1
    model.release_retired()
    assert node.retired == []
    model.close_all()


def test_images_added_to_and_gone_from_a_layout_come_and_go_in_runs(
    qtbot: QtBot, qtmodeltester: ModelTester, runner: Runner, tmp_path: Path,
) -> None:
    """A refresh put each new image in with an insert of its own, after looking for it
    among all the rows (a second for 1,600 images added to a layout of 1,600): the
    images that come between the same two rows are one insert, those that go one
    removal."""
    from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

    layout = tmp_path / "layout"
    builder = LayoutBuilder(layout)
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/n": b"n"})]))
    image = {k: v for k, v in image.items() if k != "platform"}
    before = [f"a-{n}" for n in range(0, 400, 2)]
    for name in before:
        builder.tag(image, name)
    model = PlacesModel(runner)
    model.add_location(layout)
    parent = model.index(0, 0)
    qtbot.waitUntil(lambda: model.rowCount(parent) == 200, timeout=WAIT_MS)
    qtmodeltester.check(model)  # stays connected: the merge's row changes are checked
    kept = QPersistentModelIndex(model.find_image("a-300"))
    gone = [f"a-{n}" for n in range(100, 200, 2)]
    added = ["a-1", "a-3", "a-5"] + [f"b-{n}" for n in range(100)]
    index_file = layout / "index.json"
    index = json.loads(index_file.read_text())
    index["manifests"] = [m for m in index["manifests"]
                          if m["annotations"][REF_NAME] not in gone]
    index["manifests"] += [{**image, "annotations": {REF_NAME: name}} for name in added]
    index_file.write_text(json.dumps(index))
    inserted: list[tuple[int, int]] = []
    removed: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    model.rowsRemoved.connect(lambda _parent, first, last: removed.append((first, last)))
    with qtbot.waitSignal(model.locationRefreshed, timeout=WAIT_MS):
        model.refresh(parent)
    labels = [model.data(model.index(r, 0, parent)) for r in range(model.rowCount(parent))]
    assert labels == ["a-0", "a-1", "a-2", "a-3", "a-4", "a-5", *before[3:50],
                      *before[100:], *added[3:]]
    assert inserted == [(1, 1), (3, 3), (5, 5), (153, 252)]
    assert removed == [(53, 102)]
    assert kept.isValid() and model.data(kept) == "a-300" and kept.row() == labels.index("a-300")
    model.close_all()


@pytest.mark.parametrize("zero", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000+00:00"])
def test_gos_zero_time_is_no_time_at_all(zero: str) -> None:
    """A time a Go program never set (a cosign signature's created) is shown as none, not
    as the year 1, "2025 years ago"."""
    from spyglass.gui.formatting import format_timestamp, relative_age

    assert format_timestamp(zero) == "—"
    assert relative_age(zero) == ""
    assert format_timestamp("2024-03-01T12:00:00Z") == "2024-03-01 12:00:00 UTC"


def test_a_layouts_images_are_listed_by_name_then_unnamed_in_layout_order(
        tmp_path: Path) -> None:
    """As a browser lists files: 1.9 before 1.10, whatever order index.json keeps; images
    without a name after them, in the layout's own order (their @N names say it)."""
    from spyglass.core.cancel import CancelToken
    from spyglass.gui.loading import open_and_list
    from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

    builder = LayoutBuilder(tmp_path / "layout")
    for number, ref in enumerate(["v1.10", None, "beta", "v1.9", None, "Alpha"]):
        image = builder.add_image(ImageSpec(layers=[LayerSpec({"/n": str(number).encode()})]))
        builder.tag({k: v for k, v in image.items() if k != "platform"}, ref)
    listed = open_and_list(tmp_path / "layout", CancelToken())
    try:
        labels = [entry.label for entry in listed.entries]
        names = [entry.name.rsplit(":", 1)[-1] for entry in listed.entries]
    finally:
        listed.location.close()
    assert labels[:4] == ["Alpha", "beta", "v1.9", "v1.10"]
    assert all(label.startswith("@sha256:") for label in labels[4:])
    assert names[4:] == ["@1", "@4"]


def test_layer_files_elides_a_name_of_a_megabyte(qtbot: QtBot) -> None:
    """A tar entry's name of a megabyte (what a pax record may declare) was measured and
    drawn whole, holding the window up: it is shown with its middle elided, its length
    said, and sorted whole; the file list's columns are fitted at once."""

    from spyglass.gui.views.widgets import fit_columns, make_table

    name = "a" * 600_000 + "z" * 600_000
    model = LayerFilesModel()
    model.set_rows([LayerFile(name, "symlink", 0, 0o777, "/" + name, 0),
                    LayerFile("etc", "dir", 0, 0o755, None, 0)])
    shown = model.data(model.index(0, 0))
    assert len(shown) <= 1000
    assert shown.startswith("/aaa") and shown.endswith("zzz")
    assert "(1,200,001 characters)" in shown
    assert len(model.data(model.index(0, 5))) <= 1000
    assert len(model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole)) <= 20_000
    table = make_table("Files")
    qtbot.addWidget(table)
    table.setModel(model)
    fit_columns(table, maximum=520)  # (measures what is shown: a thousand characters)
    assert table.columnWidth(0) <= 520
    # the filter looks at the whole path (a word in the elided middle is found), and a
    # long path short of 20,000 characters is in its tooltip whole
    middle = "b" * 800 + "needle" + "c" * 2000
    model.set_rows([*model.rows, LayerFile(middle, "file", 1, 0o644, None, 0)])
    model.set_filter_text("NEEDLE")
    assert model.rowCount() == 1
    assert "needle" not in model.data(model.index(0, 0))
    assert model.data(model.index(0, 0), Qt.ItemDataRole.ToolTipRole) == "/" + middle
