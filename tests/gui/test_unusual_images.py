"""The window on unusual images: lists of lists, many annotations, a config that is not
JSON, foreign layers, values without spaces, empty layers."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from spyglass.core.digest import Digest
from spyglass.gui.dialogs.layer_files import LayerFilesDialog
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models import layers as layer_columns
from spyglass.gui.views.image_view import LAYERS, PLATFORMS
from tests.gui.guitools import WAIT_MS, select_platform, show_image
from tests.helpers.fileserver import ServedFile
from tests.helpers.imagebuild import (
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    build_layer,
    dump_json,
    sha256_digest,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

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


# -- a list of artifacts (a referrers index)


def test_a_list_of_artifacts_has_entries_not_platforms_and_its_own_annotations(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """A referrers index (``sha256-<digest>``: an SBOM and a scan of one image) names no
    platform: its Overview says Entries and Shown entry (it said "Platforms:
    sha256:…", "Shown platform" and "for all platforms"), shows the index's own
    annotations, and those of the entry shown under a heading of their own (they were
    shown as the index's, and the index's nowhere)."""
    builder = LayoutBuilder(tmp_path / "referrers")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/hello": b"hello\n"})]))
    empty = builder.add_blob(b"{}")
    sbom = {"mediaType": OCI_MANIFEST, **builder.add_blob(dump_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/spdx+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
        "layers": [{"mediaType": "application/spdx+json", **empty}],
        "subject": {k: image[k] for k in ("mediaType", "digest", "size")},
        "annotations": {"org.example.tool": "syft"}}))}
    scan = builder.add_referrer(image, "application/vnd.example.scan+json")
    entries = [{**sbom, "artifactType": "application/spdx+json",
                "annotations": {"org.example.tool": "syft"}},  # (as the manifest has them)
               {**scan, "artifactType": "application/vnd.example.scan+json"}]
    ref = "sha256-" + image["digest"][7:]
    builder.tag(builder.add_index(entries, annotations={"org.example.written-by": "other"}),
                ref)
    window.open_location(builder.root, select=False)
    show_image(qtbot, window, ref)
    view = window.image_view
    overview = view.overview
    state = view.state
    assert state is not None and state.current is not None
    shown = state.current.descriptor
    titles = ("Platforms", "Shown platform", "Image digest", "Entries", "Shown entry",
              "Entry digest", "Size", "Artifact type", "Annotations", "Shown annotations")
    texts = {title: overview.field_text(title) for title in titles}
    assert not any("platform" in text for text in texts.values()), texts
    assert texts["Platforms"] == texts["Shown platform"] == texts["Image digest"] == ""
    assert texts["Entries"] == (f"sha256:{sbom['digest'][7:19]} (application/spdx+json), "
                                f"sha256:{scan['digest'][7:19]} "
                                "(application/vnd.example.scan+json)")
    assert texts["Shown entry"] == f"sha256:{shown.digest.short} ({shown.artifact_type})"
    assert texts["Entry digest"] == str(shown.digest)
    assert "for all entries" in texts["Size"]
    assert texts["Artifact type"] == ""  # the index names none: not the entry's
    assert "org.example.written-by" in texts["Annotations"]
    assert "org.example.tool" not in texts["Annotations"]
    assert "2 entries" in view.subtitle.text()
    # the entry with annotations: they are under its own heading
    if shown.digest != Digest.parse(sbom["digest"]):
        view.tabs.setCurrentIndex(PLATFORMS)
        rows = view.platforms.model.rows
        with qtbot.waitSignal(view.instanceShown, timeout=WAIT_MS):
            view.platforms.table.selectRow(next(
                i for i, s in enumerate(rows) if str(s.descriptor.digest) == sbom["digest"]))
    assert "org.example.tool" in overview.field_text("Shown annotations")
    assert overview._shown_annotations.heading.text() == (
        f"Annotations of sha256:{sbom['digest'][7:19]} (application/spdx+json)")


def test_a_list_of_images_shows_its_annotations_apart_from_its_image_s(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """A list's own annotations are its (the Overview showed the shown platform's as the
    list's); the platform's come under its name."""
    builder = LayoutBuilder(tmp_path / "annotated")
    images = [builder.add_image(ImageSpec(
        architecture=arch, layers=[LayerSpec({"/arch": arch.encode()})],
        annotations={"org.example.arch": arch})) for arch in ("amd64", "arm64")]
    builder.tag(builder.add_index(images, annotations={"org.example.list": "yes"}), "v1")
    window.open_location(builder.root, select=False)
    show_image(qtbot, window, "v1")
    overview = window.image_view.overview
    state = window.image_view.state
    assert state is not None and state.current is not None
    shown = str(state.current.descriptor.platform)
    assert "org.example.list" in overview.field_text("Annotations")
    assert "org.example.arch" not in overview.field_text("Annotations")
    assert "org.example.arch" in overview.field_text("Shown annotations")
    assert overview._shown_annotations.heading.text() == f"Annotations of {shown}"
    assert overview.field_text("Shown platform") == shown
    assert overview.field_text("Entries") == ""


# -- many annotations and labels, long values


def _image_with(tmp_path: Path, spec: ImageSpec) -> Path:
    builder = LayoutBuilder(tmp_path / "image")
    spec.layers = spec.layers or [LayerSpec({"/a": b"a"})]
    builder.tag(builder.add_image(spec), "v1")
    return builder.root


def test_thousands_of_annotations_and_labels_show_the_first_few_and_a_count(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """One table row each, Qt laid 5,000 annotations out for 7 s (100,000: over 90 s) on
    the GUI thread, whatever tab was current: the first of them are shown, and how many
    more there are, and where."""
    from spyglass.gui.views.overview import MOST_ITEMS

    count = 3000
    root = _image_with(tmp_path, ImageSpec(
        annotations={f"a{i:05d}": f"v{i}" for i in range(count)},
        labels={f"l{i:05d}": f"v{i}" for i in range(count)},
        env=[f"E{i:05d}=v{i}" for i in range(count)],
        exposed_ports=[f"{i}/tcp" for i in range(1000, 1000 + count)],
        volumes=[f"/v{i}" for i in range(count)]))
    window.open_location(root, select=False)
    show_image(qtbot, window, "v1")
    overview = window.image_view.overview
    left = f"… and {count - MOST_ITEMS:,} more"
    for title, where in (("Annotations", "the Raw JSON tab"),
                         ("Labels", "the Config & History tab")):
        table = overview._values[title].text()
        assert table.count("<tr>") == MOST_ITEMS + 1  # and the row that counts the rest
        last, first_left = f"{MOST_ITEMS - 1:05d}", f"{MOST_ITEMS:05d}"
        assert f"a{last}" in table or f"l{last}" in table
        assert f"a{first_left}" not in table and f"l{first_left}" not in table
        assert overview._values[title].plain_text().rstrip().endswith(
            f"{left} ({where} has them all)")
    environment = overview.field_text("Environment").splitlines()
    assert len(environment) == MOST_ITEMS + 1
    assert environment[-1] == f"{left} (the Config & History tab has them all)"
    for title in ("Ports", "Volumes"):
        items = overview.field_text(title).split(", ")
        assert len(items) == MOST_ITEMS + 1
        assert items[-1] == f"{left} (the Config & History tab has them all)"


def test_a_hundred_labels_and_variables_are_not_all_laid_out_in_the_overview(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """100 labels and 100 environment variables, all laid out as rich text in the
    Overview, stalled the window 250 ms each time the image was shown: it shows the
    first 25 of each and counts the rest."""
    root = _image_with(tmp_path, ImageSpec(
        labels={f"l{i:05d}": f"v{i}" for i in range(100)},
        env=[f"E{i:05d}=v{i}" for i in range(100)]))
    window.open_location(root, select=False)
    show_image(qtbot, window, "v1")
    overview = window.image_view.overview
    environment = overview.field_text("Environment").splitlines()
    assert environment[24:] == ["E00024=v24",
                                "… and 75 more (the Config & History tab has them all)"]
    labels = overview._values["Labels"]
    assert labels.text().count("<tr>") == 26 and "l00024" in labels.text()
    assert labels.plain_text().rstrip().endswith("… and 75 more (the Config & History tab "
                                                 "has them all)")


def test_a_long_value_without_spaces_wraps_and_copies_whole(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """A signature or bundle in base64 (here 2,000 ``x``) made the Overview as wide as
    it, scrolling sideways with its header off the right edge: it wraps anywhere, and
    what is copied of it has none of the breaks that let it."""
    value = "x" * 1500 + "=="
    root = _image_with(tmp_path, ImageSpec(
        annotations={"bundle": value}, cmd=["/bin/run", "--key=" + "k" * 800]))
    window.open_location(root, select=False)
    show_image(qtbot, window, "v1")
    overview = window.image_view.overview
    assert overview.widget().minimumSizeHint().width() < 1000
    assert overview._values["Annotations"].plain_text().split() == ["bundle", value]
    command = "/bin/run --key=" + "k" * 800
    assert overview.field_text("Command") == command
    for title, whole in (("Command", command), ("Annotations", value)):
        label = overview._values[title]
        label.setFocus()
        qtbot.keyClick(label, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        QGuiApplication.clipboard().clear()
        qtbot.keyClick(label, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
        copied = QGuiApplication.clipboard().text()
        assert whole in copied and "\u200b" not in copied


def test_a_long_key_is_cut_short_and_whole_in_the_tooltip(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """A key of 5,000 characters was cut as a value is, at 2,000: the column of keys,
    120 px wide, ran hundreds of lines down the Overview. A key is cut at 100, whole in
    the table's tooltip (to 2,000 characters, as a value is shown; beyond, the tab that
    has it is named)."""
    from PySide6.QtGui import QTextDocument

    from spyglass.gui.views.overview import LONGEST_KEY

    long, huge = "k" * 300, "h" * 5000
    root = _image_with(tmp_path, ImageSpec(
        annotations={long: "v", "short": "w"}, labels={huge: "z", "plain": "y"}))
    window.open_location(root, select=False)
    show_image(qtbot, window, "v1")
    overview = window.image_view.overview

    def plain(text: str) -> str:
        rendered = QTextDocument()
        rendered.setHtml(text)
        return rendered.toPlainText().replace("\u200b", "")

    annotations = plain(overview._values["Annotations"].text())
    assert "k" * LONGEST_KEY + "… (300 characters; the tooltip has all of it)" in annotations
    assert "k" * (LONGEST_KEY + 1) not in annotations
    assert plain(overview._values["Annotations"].toolTip()).split() == [
        "A", "key", "cut", "here,", "whole:", long]
    labels = plain(overview._values["Labels"].text())
    assert "h" * (LONGEST_KEY + 1) not in labels
    assert "(5,000 characters; the Raw JSON tab has all of it)" in labels
    tip = plain(overview._values["Labels"].toolTip())
    assert "h" * 2000 + "… (5,000 characters; the Raw JSON tab has all of it)" in tip
    assert len(labels) < 500 and len(annotations) < 500


REALISTIC_KEY = "io.buildpacks.lifecycle.metadata.launcher.process.web.command.args"


def _value_column_x(label: Any) -> float:
    """Where the values of the table ``label`` shows start, laid out at its width."""
    from PySide6.QtGui import QTextDocument, QTextOption, QTextTable

    document = QTextDocument()
    document.setDefaultFont(label.font())
    option = document.defaultTextOption()
    option.setWrapMode(QTextOption.WrapMode.WordWrap)  # (as a label wraps: not anywhere)
    document.setDefaultTextOption(option)
    document.setDocumentMargin(0)
    document.setHtml(label.text())
    document.setTextWidth(label.contentsRect().width())
    [table] = [f for f in document.rootFrame().childFrames() if isinstance(f, QTextTable)]
    block = table.cellAt(0, 1).firstCursorPosition().block()
    return float(document.documentLayout().blockBoundingRect(block).x())


@pytest.mark.parametrize("long_key", [REALISTIC_KEY, "com.example." + "k" * 150])
def test_a_long_key_breaks_in_a_column_that_leaves_the_values_their_room(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, long_key: str) -> None:
    """A key of 100 characters without a break made its column 700 px wide: every value
    of its table wrapped at 14 characters (a description became 330 lines), and at
    800 px the values were off to the right. A key wider than the column's
    :data:`KEYS_ALIGNED_CHARS` breaks after its dots (a realistic 66-character key on
    two lines), or anywhere in a long run; the keys that fit are whole; copied, every
    key is as it is."""
    from spyglass.gui.formatting import BREAK
    from spyglass.gui.views.overview import KEYS_ALIGNED_CHARS, NAMES_GAP

    description = "A small web service that answers health checks. " * 12
    root = _image_with(tmp_path, ImageSpec(annotations={
        long_key: "bundle exec rails server -b 0.0.0.0 -p 8080 --environment production",
        "org.opencontainers.image.description": description,
        "org.opencontainers.image.version": "1.0"}))
    window.resize(1024, 640)
    window.open_location(root, select=False)
    show_image(qtbot, window, "v1")
    overview = window.image_view.overview
    label = overview._values["Annotations"]
    qtbot.waitUntil(lambda: label.width() > 300, timeout=WAIT_MS)
    most = KEYS_ALIGNED_CHARS * label.fontMetrics().averageCharWidth() + NAMES_GAP
    assert _value_column_x(label) <= most + 2
    assert overview.horizontalScrollBar().maximum() == 0
    text = label.text()
    assert "org.opencontainers.image.description" in text  # (no break in it)
    if long_key == REALISTIC_KEY:
        assert f"launcher.{BREAK}process" in text
    assert long_key[:100] in overview.field_text("Annotations")


def test_a_value_selected_with_the_keys_is_x11s_selection_without_its_breaks(
        tmp_path: Path) -> None:
    """Qt put the keys' selection of a value in X11's selection (a middle click pastes
    it) with the breaks wrapping put in: a path that looked right and was not."""
    prefix = [] if os.environ.get("DISPLAY") else (
        ["xvfb-run", "-a"] if shutil.which("xvfb-run") else None)
    if prefix is None:
        pytest.skip("no X display, and no xvfb-run to make one")
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "XDG_CONFIG_HOME": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "app"), str(REPO_ROOT)])}
    done = subprocess.run([*prefix, sys.executable, "-m", "tests.gui.select_overview"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    if done.stdout.strip() == "no selection":
        pytest.skip("this X server keeps no selection")
    whole, line, everything = (ast.literal_eval(text) for text in done.stdout.split())
    assert whole == everything == "A" * 80
    assert line and set(line) == {"A"}  # Shift+End: to the end of the line shown


def test_wrapping_anywhere_keeps_what_is_drawn_as_one_character_whole() -> None:
    """A break goes between the characters of a long run, not between a letter and its
    accent, an emoji and its skin tone, nor the two halves of a flag; short words, paths
    and hyphenated names, which a line breaks already, are left as they are;
    :func:`unbroken` takes the breaks out."""
    from spyglass.gui.formatting import BREAK, unbroken, wrap_anywhere

    accented = "e\u0301" * 20 + "\U0001f44b\U0001f3fd" * 20
    wrapped = wrap_anywhere(accented)
    assert unbroken(wrapped) == accented
    assert "\u0301" not in wrapped.split(BREAK) and "\U0001f3fd" not in wrapped.split(BREAK)
    assert wrapped.count(BREAK) == 39
    flags = "\U0001f1e9\U0001f1ea" * 16 + "\U0001f1eb"  # 16 German flags, a lone F
    assert wrap_anywhere(flags).split(BREAK) == ["\U0001f1e9\U0001f1ea"] * 16 + ["\U0001f1eb"]
    for whole in ("two words", "/usr/local/lib/some/long/path/of/many/parts",
                  "a-hyphenated-name-that-goes-on-for-long-enough", "x" * 30):
        assert wrap_anywhere(whole) == whole


# -- a config that is not JSON


def _not_json_config(builder: LayoutBuilder, arch: str = "amd64") -> dict[str, Any]:
    """An OCI image whose config blob is ``this is not json`` (as the CLI copies it)."""
    layer, _diff_id = build_layer(LayerSpec({"/a": arch.encode()}))
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **builder.add_blob(b"this is not json\n")},
        "layers": [{"mediaType": OCI_LAYER_GZIP, **builder.add_blob(layer)}]}
    return {"mediaType": OCI_MANIFEST, **builder.add_blob(dump_json(manifest)),
            "platform": {"os": "linux", "architecture": arch}}


def test_an_image_whose_config_is_not_json_shows_its_manifest_and_layers(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """The whole view was "Cannot show v1 — The config … is not usable" with Try Again,
    not even Raw JSON to look at, though the manifest is fine: the manifest is shown,
    with a banner about the config."""
    builder = LayoutBuilder(tmp_path / "badconfig")
    image = _not_json_config(builder)
    builder.tag(image, "v1")
    window.open_location(builder.root, select=False)
    show_image(qtbot, window, "v1")
    view = window.image_view
    assert view.pages.currentWidget() is view.content
    assert view.banner.text.startswith("The config sha256:")
    assert "not valid JSON" in view.banner.text
    assert view.banner.text.endswith("Only its manifest and layers can be shown.")
    assert view.tabs.isTabEnabled(LAYERS) and view.layers.model.rowCount() == 1
    assert [d.digest for d in view.raw.documents] == [Digest.parse(image["digest"])]
    assert view.overview.field_text("Layers") == "1 layer"
    assert "cannot be shown" in view.history.config_caption.text()
    assert "which cannot be shown" in view.history.history_caption.text()



def test_an_image_whose_config_is_missing_shows_its_manifest_and_layers(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """As for a config that is not JSON: the manifest and layers, and why not the rest."""
    builder = LayoutBuilder(tmp_path / "noconfig")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})]))
    builder.tag(image, "v1")
    config = builder.read_json(image)["config"]["digest"]
    builder.blob_path(config).unlink()
    window.open_location(builder.root, select=False)
    show_image(qtbot, window, "v1")
    view = window.image_view
    assert view.pages.currentWidget() is view.content
    assert config in view.banner.text and "missing" in view.banner.text
    assert view.banner.text.endswith("Only its manifest and layers can be shown.")
    assert view.layers.model.rowCount() == 1


# -- foreign layers, empty layers


FOREIGN = LayerSpec({"/windows/system32/kernel": b"base\n"})


def _foreign_image(root: Path, url: str, tag: str = "win") -> None:
    """An OCI image whose first layer (:data:`FOREIGN`) is non-distributable, kept at
    ``url`` and not in the layout, as a Windows base layer is."""
    builder = LayoutBuilder(root)
    foreign, foreign_diff = build_layer(FOREIGN)
    own, own_diff = build_layer(LayerSpec({"/app/run.cmd": b"run\n"}))
    layer = {"mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
             "digest": sha256_digest(foreign), "size": len(foreign), "urls": [url]}
    config = builder.add_blob(dump_json({
        "architecture": "amd64", "os": "windows",
        "rootfs": {"type": "layers", "diff_ids": [foreign_diff, own_diff]}}))
    manifest = builder.add_blob(dump_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **config},
        "layers": [layer, {"mediaType": OCI_LAYER_GZIP, **builder.add_blob(own)}]}))
    builder.tag({"mediaType": OCI_MANIFEST, **manifest}, tag)


def _open_files(qtbot: QtBot, window: MainWindow, row: int) -> LayerFilesDialog:
    view = window.image_view
    view.tabs.setCurrentIndex(LAYERS)
    view.open_layer_files(view.layers.model.rows[row].descriptor, number=row + 1)
    dialog = view.file_dialogs[-1]
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.table
                    or bool(dialog.error), timeout=WAIT_MS)
    return dialog


def test_a_foreign_layer_says_so_shows_its_urls_and_lists_its_files_from_there(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """A non-distributable layer was "OCI layer (gzip)", its urls shown nowhere but in Raw
    JSON, and List Files said its blob was missing from the layout (and Try Again): it
    says what it is, where it is kept, and its files are read from there, as a copy
    fetches it."""
    served = ServedFile("/nd.tar.gz", build_layer(FOREIGN)[0])
    try:
        _foreign_image(tmp_path / "win", served.url)
        window.open_location(tmp_path / "win", select=False)
        show_image(qtbot, window, "win")
        view = window.image_view
        model = view.layers.model
        assert model.data(model.index(0, layer_columns.TYPE)) == "OCI non-distributable layer"
        assert model.data(model.index(1, layer_columns.TYPE)) == "OCI layer"
        view.tabs.setCurrentIndex(LAYERS)
        view.layers.table.selectRow(0)
        details = view.layers.details
        assert details.value("URLs") == served.url
        assert details._values["URLs"].isVisibleTo(details)
        view.layers.table.selectRow(1)
        assert not details._values["URLs"].isVisibleTo(details)

        dialog = _open_files(qtbot, window, 0)
        assert dialog.error == ""
        assert [row.path for row in dialog.model.rows if row.kind == "file"] == [
            "windows/system32/kernel"]
        assert served.gets == 1
        dialog.close()
    finally:
        served.close()


def test_a_foreign_layer_its_urls_do_not_serve_is_said_to_be_kept_there(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Not served where its urls point: the dialog says the layer is kept there, and why
    it could not be read; Try Again only where another try can go otherwise (an http
    url may answer later; an ftp one is never fetched)."""
    served = ServedFile("/elsewhere", b"")
    try:
        gone = served.url.replace("/elsewhere", "/nd.tar.gz")
        _foreign_image(tmp_path / "win", gone)
        window.open_location(tmp_path / "win", select=False)
        show_image(qtbot, window, "win")
        dialog = _open_files(qtbot, window, 0)
        assert dialog.error.startswith(f"This layer is kept outside the image, at {gone}.")
        assert "HTTP 404" in dialog.error
        assert "missing from" not in dialog.error
        assert dialog.retry_button.isVisibleTo(dialog)
        dialog.close()
    finally:
        served.close()
    _foreign_image(tmp_path / "ftp", "ftp://example.invalid/nd.tar.gz", "ftp")
    window.open_location(tmp_path / "ftp", select=False)
    show_image(qtbot, window, "ftp", row=1)
    dialog = _open_files(qtbot, window, 0)
    assert dialog.error.startswith(
        "This layer is kept outside the image, at ftp://example.invalid/nd.tar.gz.")
    assert not dialog.retry_button.isVisibleTo(dialog)
    dialog.close()


def test_an_empty_layer_is_said_to_be_no_tar_without_try_again(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """A zero-byte layer is no tar however often it is read: no Try Again."""
    builder = LayoutBuilder(tmp_path / "empty")
    config = builder.add_blob(dump_json({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(b"")]}}))
    manifest = builder.add_blob(dump_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **config},
        "layers": [{"mediaType": OCI_LAYER_GZIP, **builder.add_blob(b"")}]}))
    builder.tag({"mediaType": OCI_MANIFEST, **manifest}, "v1")
    window.open_location(builder.root, select=False)
    show_image(qtbot, window, "v1")
    dialog = _open_files(qtbot, window, 0)
    assert "empty file" in dialog.error
    assert not dialog.retry_button.isVisibleTo(dialog)
    dialog.close()


def test_a_list_of_hundreds_of_platforms_names_the_first_hundred(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """The Overview's list of platforms is cut as its other lists are; the Platforms tab
    has a row for each."""
    from spyglass.gui.views.overview import MOST_ITEMS

    builder = LayoutBuilder(tmp_path / "many")
    layer = [LayerSpec({"/a": b"a"})]
    images = [builder.add_image(ImageSpec(architecture=f"arch{i:03d}", layers=layer))
              for i in range(MOST_ITEMS + 20)]
    builder.tag(builder.add_index(images), "v1")
    window.open_location(builder.root, select=False)
    show_image(qtbot, window, "v1")
    view = window.image_view
    named = view.overview.field_text("Platforms").split(", ")
    assert len(named) == MOST_ITEMS + 1
    assert named[-1] == "… and 20 more (the Platforms tab has them all)"
    assert view.platforms.model.rowCount() == MOST_ITEMS + 20


def test_buildkit_attestations_are_not_counted_as_platforms_in_the_header(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """A list of two images and their two attestations (unknown/unknown) said "4
    platforms" above an Overview that said two platforms "(and 2 attestations)"."""
    from tests.helpers.platform_lists import platform_lists

    lists = platform_lists(tmp_path / "lists")
    window.open_location(lists.root, select=False)
    show_image(qtbot, window, "attest")
    subtitle = window.image_view.subtitle.text()
    assert "2 platforms (and 2 attestations)" in subtitle, subtitle
    assert "4 platforms" not in subtitle


def test_an_image_without_a_platform_is_counted_and_named_as_the_cli_names_it(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """An index of an arm64 image and an image without a platform: the header said "1
    platform", the Overview listed the second by its digest as if it were a platform,
    and its row of Platforms read "— —". They say "image without a platform", as inspect
    does; so does a list of such images alone, and one beside attestations."""
    from spyglass.cli import main
    from spyglass.core.platform import Platform
    from spyglass.gui.models.platforms import ARCH, OS
    from tests.helpers.platform_lists import platform_lists

    monkeypatch.setattr("spyglass.gui.loading.host_platform", lambda: Platform("linux", "amd64"))
    lists = platform_lists(tmp_path / "lists")
    builder = LayoutBuilder(lists.root)
    builder.tag(builder.add_index([lists.images["noplat"],
                                   builder.add_attestation(lists.images["amd64"])]),
                "noplat_attested")
    window.open_location(lists.root, select=False)
    short = lists.images["noplat"]["digest"][:19]
    view = window.image_view
    for tag, counted, platforms in (
            ("noplat_mixed", "1 platform (and 1 image without a platform)",
             "linux/arm64/v8 (and 1 image without a platform)"),
            ("docker_noplat", "1 image without a platform", ""),
            ("noplat_attested", "1 image without a platform (and 1 attestation)",
             "1 image without a platform and 1 attestation")):
        show_image(qtbot, window, tag)
        parts = view.subtitle.text().split("  ·  ")
        assert parts[1] == counted, parts
        assert view.overview.field_text("Platforms") == platforms
    show_image(qtbot, window, "noplat_mixed")
    model = view.platforms.model
    row = next(r for r, s in enumerate(model.rows) if s.descriptor.platform is None)
    assert [model.data(model.index(row, column)) for column in (OS, ARCH)] == [
        "no platform", ""]
    assert "image without a platform" in model.data(
        model.index(row, OS), Qt.ItemDataRole.ToolTipRole)
    # shown (as this system's image), it is called what inspect calls it
    assert view.overview.field_text("Shown platform") == \
        f"image without a platform, {short}"
    assert main(["inspect", "--platform", "linux/s390x",
                 f"oci:{lists.root}:noplat_mixed"]) == 0
    assert "its image without a platform, " in capsys.readouterr().err


def test_a_list_of_attestations_alone_says_it_holds_no_image_as_the_cli_does(
        qtbot: QtBot, window: MainWindow, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """An index of BuildKit's attestation of an image it does not hold (a list pushed in
    part): its Platforms read " (and 1 attestation)", the banner that no entry names a
    platform (it is unknown/unknown), and inspect "of no image it holds"."""
    from spyglass.cli import main

    builder = LayoutBuilder(tmp_path / "att")
    images = [builder.add_image(ImageSpec(architecture=arch, layers=[LayerSpec({"/a": b"a"})]))
              for arch in ("arm64", "s390x")]
    attestations = [builder.add_attestation(image) for image in images]
    builder.tag(builder.add_index(attestations[:1]), "one")
    builder.tag(builder.add_index(attestations), "two")
    window.open_location(builder.root, select=False)
    for tag, held in (("one", "holds only an attestation, of an image it does not hold"),
                      ("two", "holds only 2 attestations, of images it does not hold")):
        show_image(qtbot, window, tag)
        view = window.image_view
        assert view.overview.field_text("Platforms") == f"none: the list {held}"
        assert view.banner.text == f"This list {held}."
        assert main(["inspect", "--platform", "linux/amd64",
                     f"oci:{builder.root}:{tag}"]) == 1
        assert capsys.readouterr().err.rstrip().endswith(
            f"has no image for linux/amd64: it {held}.")


# -- Docker schema 1


def _schema1_layout(tmp_path: Path, *, signed: bool = True) -> tuple[Path, str]:
    """A layout holding, as ``s1``, the schema 1 image skopeo signs (``--format v2s1``),
    stored as the blob of its bytes (what a blob store can hold); and that blob's digest.
    Without ``signed``, its signatures are left out (its digest is then its bytes')."""
    import hashlib
    import json

    from tests.helpers import require_tool
    from tests.helpers.imagebuild import multi_platform_layout
    from tests.integration.test_copy_roundtrip import run

    skopeo = require_tool("skopeo")
    multi_platform_layout(tmp_path / "source")
    folder = tmp_path / "signed"
    run(skopeo, "--insecure-policy", "copy", "--quiet", "--override-arch", "amd64",
        "--format", "v2s1", f"oci:{tmp_path / 'source'}:latest", f"dir:{folder}")
    builder = LayoutBuilder(tmp_path / "s1layout")
    for blob in folder.iterdir():
        if len(blob.name) == 64:
            builder.add_blob(blob.read_bytes())
    raw = (folder / "manifest.json").read_bytes()
    if not signed:
        raw = json.dumps({key: value for key, value in json.loads(raw).items()
                          if key != "signatures"}, indent=3).encode()
    stored = builder.add_blob(raw)
    assert stored["digest"] == "sha256:" + hashlib.sha256(raw).hexdigest()
    kind = "prettyjws" if signed else "json"
    builder.tag({"mediaType": f"application/vnd.docker.distribution.manifest.v1+{kind}",
                 **stored}, "s1")
    return builder.root, stored["digest"]


def test_a_schema1_image_shows_its_sizes_as_unknown(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Schema 1 records no layer sizes: the window said "0 B" for each layer and the
    manifest's bytes for the image; they are unknown, and said so."""
    from spyglass.gui.formatting import SCHEMA1_SIZES, UNKNOWN_SIZE

    root, _stored = _schema1_layout(tmp_path)
    window.open_location(root, select=False)
    show_image(qtbot, window, "s1")
    view = window.image_view
    size = view.overview.field_text("Size")
    assert size.startswith(UNKNOWN_SIZE) and "schema 1" in size and "0 B" not in size
    assert "size not recorded" in view.subtitle.text()
    model = view.layers.model
    assert model.rowCount() == 3
    for row in range(model.rowCount()):
        for column in (layer_columns.SIZE, layer_columns.SHARE):
            index = model.index(row, column)
            assert model.data(index) == UNKNOWN_SIZE
            assert model.data(index, Qt.ItemDataRole.ToolTipRole) == SCHEMA1_SIZES
    assert "sizes not recorded (Docker schema 1)" in view.layers.summary.text()
    assert "0 B" not in view.layers.summary.text()


def test_a_signed_schema1_image_shows_the_digest_inspect_shows(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Its digest is the signed payload's, as inspect and the Raw JSON tab show it (the
    Overview showed the digest of the bytes the layout stores it as, which is said
    beside it)."""
    root, stored = _schema1_layout(tmp_path)
    window.open_location(root, select=False)
    show_image(qtbot, window, "s1")
    overview = window.image_view.overview
    inspected = subprocess.run(
        [sys.executable, "-m", "spyglass", "inspect", "--format", "{{.Digest}}",
         f"oci:{root}:s1"], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}).stdout.strip()
    assert overview.field_text("Digest") == inspected != stored
    assert stored in overview._values["Digest"].toolTip()


def test_a_history_naming_more_layers_than_the_manifest_has_says_so(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Four steps that made a layer, two layers: the History numbered steps "3" and "4",
    layers that do not exist, and nothing said the history does not match."""
    import gzip

    from spyglass.gui.models import history as history_columns
    from spyglass.gui.views.image_view import HISTORY

    builder = LayoutBuilder(tmp_path / "histmore")
    layers = [builder.add_blob(gzip.compress(name.encode() * 512, mtime=0))
              for name in ("a", "b")]
    steps = [{"created": "2024-01-01T00:00:00Z", "created_by": by} for by in
             ("ADD a", "ADD b", "RUN c", "RUN d")]
    config = builder.add_blob(dump_json({
        "architecture": "amd64", "os": "linux", "history": steps,
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(b"a"), sha256_digest(b"b")]}}))
    manifest = builder.add_blob(dump_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **config},
        "layers": [{"mediaType": OCI_LAYER_GZIP, **layer} for layer in layers]}))
    builder.tag({"mediaType": OCI_MANIFEST, **manifest}, "v1")
    window.open_location(builder.root, select=False)
    show_image(qtbot, window, "v1")
    view = window.image_view
    view.tabs.setCurrentIndex(HISTORY)
    page = view.history
    assert "the history names 4 layers; the manifest has 2" in page.history_caption.text()
    model = page.model
    shown = [model.data(model.index(row, history_columns.LAYER))
             for row in range(model.rowCount())]
    assert shown == ["1", "2", "—", "—"]
    assert "the manifest has 2 layers" in model.data(
        model.index(3, history_columns.LAYER), Qt.ItemDataRole.ToolTipRole)


def test_a_list_with_a_schema1_image_says_its_size_leaves_out_that_image_s_layers(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """(A signed one's entry cannot be named in a layout: by its payload digest the
    blob store holds no such file, by its bytes' the manifest's digest is another.)"""
    root, stored = _schema1_layout(tmp_path, signed=False)
    builder = LayoutBuilder(root)
    other = builder.add_image(ImageSpec(architecture="arm64",
                                        layers=[LayerSpec({"/a": b"a" * 100})]))
    entry = {"mediaType": "application/vnd.docker.distribution.manifest.v1+json",
             "digest": stored, "size": len(builder.read_blob(stored)),
             "platform": {"architecture": "amd64", "os": "linux"}}
    builder.tag(builder.add_index([entry, other]), "both")
    window.open_location(root, select=False)
    show_image(qtbot, window, "both")
    view = window.image_view
    view.tabs.setCurrentIndex(PLATFORMS)
    select_platform(qtbot, window, "linux/amd64")
    size = view.overview.field_text("Size")
    assert "without the layers of the Docker schema 1 image" in size, size
    assert size.endswith("— for linux/amd64"), size
    # the header's size, after "showing linux/amd64", is the list's, and says what it
    # leaves out (it read as that image's, all of it)
    subtitle = view.subtitle.text()
    assert "showing linux/amd64" in subtitle, subtitle
    assert " in all, without the schema 1 layers  ·  " in subtitle, subtitle


@pytest.mark.parametrize(("blob", "media_type", "said"), [
    # oras push names a file it pushes a tar layer; its bytes are the file's own
    (b"release notes, not a tar archive\n" * 40, "application/vnd.oci.image.layer.v1.tar",
     "is not a tar archive"),
    (b"no gzip at all\n" * 40, OCI_LAYER_GZIP, "could not be decompressed as gzip"),
])
def test_a_layer_that_is_no_tar_says_so_without_try_again(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, blob: bytes, media_type: str,
        said: str) -> None:
    """A blob read whole, its digest right, that is not the tar its media type says:
    "Cannot list this layer" with Try Again, which reads the same bytes again. It says
    it is not a layer of files, and that its bytes are the image's own."""
    builder = LayoutBuilder(tmp_path / "artifact")
    config = builder.add_blob(dump_json({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(blob)]}}))
    manifest = builder.add_blob(dump_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, **config},
        "layers": [{"mediaType": media_type, **builder.add_blob(blob)}]}))
    builder.tag({"mediaType": OCI_MANIFEST, **manifest}, "notes")
    window.open_location(builder.root, select=False)
    show_image(qtbot, window, "notes")
    dialog = _open_files(qtbot, window, 0)
    assert not dialog.retry_button.isVisibleTo(dialog)
    assert said in dialog.error
    assert dialog.error.endswith("Its bytes are the ones the image names (their digest "
                                 "is right): reading it again would not list it either.")
    assert dialog.panel.title.text() == "Not a layer of files"
    dialog.close()


def test_a_zstd_layer_without_zstandard_names_the_package_not_a_bug(
        qtbot: QtBot, window: MainWindow, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """zstandard, imported only for zstd data, missing (pip install --no-deps) was "This
    is a bug in Spyglass" in the window, where the command line names the package: the
    window's jobs say the same sentence."""
    builder = LayoutBuilder(tmp_path / "z")
    builder.tag(builder.add_image(ImageSpec(layers=[
        LayerSpec({"/etc/motd": b"hi\n"}, compression="zstd")])), "z")
    monkeypatch.setitem(sys.modules, "zstandard", None)  # as if it were not installed
    window.open_location(tmp_path / "z", select=False)
    show_image(qtbot, window, "z")
    dialog = _open_files(qtbot, window, 0)
    assert dialog.error == (
        "Spyglass needs the Python package zstandard, which is not installed (No module "
        "named 'zstandard'): install Spyglass again with its dependencies (pip install "
        "without --no-deps), or install zstandard where Spyglass is installed (pip install "
        "'zstandard', or your distribution's package of it).")
    dialog.close()
