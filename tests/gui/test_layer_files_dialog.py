"""The List Files dialog on large and unusual listings (fed a listing, not a real layer)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from spyglass.core import media
from spyglass.core.digest import Digest
from spyglass.core.errors import ConnectionFailed, TooLarge
from spyglass.core.layerfiles import LayerFile, LayerListing
from spyglass.core.manifest import Descriptor
from spyglass.gui.dialogs import layer_files as dialogs
from spyglass.gui.dialogs.layer_files import LayerFilesDialog
from spyglass.gui.formatting import format_epoch
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.layer_files import KIND, MODE, MODIFIED, PATH, SIZE, LayerFilesModel
from tests.gui.guitools import WAIT_MS

pytestmark = pytest.mark.gui

LAYER = Descriptor(media.OCI_LAYER_GZIP, Digest.of(b"layer"), 1234)


class Untouched:
    def open_blob(self, *_args: object, **_kwargs: object) -> None:
        raise AssertionError("nothing is read")


def opened(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
           listing: Callable[[], object]) -> LayerFilesDialog:
    """The dialog, shown, once the listing ``listing`` gives has arrived (or failed)."""
    monkeypatch.setattr(dialogs, "list_files", lambda *_args: listing())
    dialog = LayerFilesDialog(window.runner, Untouched(), LAYER, "big:1")  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.pages.currentWidget() is dialog.table or bool(dialog.error),
                    timeout=WAIT_MS)
    return dialog


def many(count: int) -> list[LayerFile]:
    return [LayerFile(f"usr/lib/pkg{i // 100:03d}/mod{(i * 7919) % count:06d}.py",
                      "file" if i % 5 else "dir", i % 977, 0o644, None, 1_700_000_000 + i)
            for i in range(count)]


def column(dialog: LayerFilesDialog, number: int, rows: Sequence[int]) -> list[str]:
    shown = dialog.table.model()
    return [shown.data(shown.index(r, number)) for r in rows]


def test_sorting_and_filtering_50000_entries_asks_for_each_key_once(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    """A click on a column's title sorted through a QSortFilterProxyModel that asked Python
    for two values per comparison: 100,000 entries held every window for 30 to 40 s, and
    each letter typed in the filter for 2 s. The model sorts by keys worked out once per
    column, and filters on paths folded once."""
    files = many(50_000)
    dialog = opened(qtbot, window, monkeypatch, lambda: LayerListing(files))
    asked: list[int] = []
    real = LayerFilesModel.sort_value

    def counted(model: LayerFilesModel, row: LayerFile, number: int) -> object:
        asked.append(number)
        return real(model, row, number)

    monkeypatch.setattr(LayerFilesModel, "sort_value", counted)
    started = time.monotonic()
    dialog.table.sortByColumn(PATH, Qt.SortOrder.DescendingOrder)
    assert column(dialog, PATH, [0, 1]) == sorted(("/" + f.path for f in files),
                                                   reverse=True)[:2]
    dialog.table.sortByColumn(SIZE, Qt.SortOrder.AscendingOrder)
    dialog.table.sortByColumn(KIND, Qt.SortOrder.AscendingOrder)
    dialog.table.sortByColumn(PATH, Qt.SortOrder.AscendingOrder)  # (its keys kept)
    assert len(asked) <= 3 * len(files)
    assert column(dialog, PATH, [0]) == [min("/" + f.path for f in files)]
    qtbot.keyClicks(dialog.filter, "MOD01")  # (filtered once typing pauses)
    assert dialog.table.model().rowCount() == 50_000
    qtbot.waitUntil(lambda: dialog.table.model().rowCount() < 50_000, timeout=WAIT_MS)
    shown = dialog.table.model().rowCount()
    assert shown == sum("mod01" in f.path for f in files) > 0
    assert dialog.count.text() == f"{shown:,} of 50,000 entries"
    paths = column(dialog, PATH, range(shown))
    assert paths == sorted(paths)  # filtered, still sorted
    dialog.filter.clear()
    assert dialog.table.model().rowCount() == 50_000
    assert len(asked) <= 3 * len(files)
    assert time.monotonic() - started < 10  # (about 1 s; 2 minutes before)


def test_the_selected_entry_stays_selected_as_the_rows_are_sorted(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
        qtmodeltester: ModelTester) -> None:
    files = [LayerFile("b", "file", 1, 0o644, None, 0), LayerFile("a", "file", 2, 0o644, None, 0),
             LayerFile("c", "dir", 0, 0o755, None, 0)]
    dialog = opened(qtbot, window, monkeypatch, lambda: LayerListing(files))
    qtmodeltester.check(dialog.model)
    dialog.table.selectRow(0)  # /b
    dialog.table.sortByColumn(PATH, Qt.SortOrder.AscendingOrder)
    assert column(dialog, PATH, range(3)) == ["/a", "/b", "/c"]
    assert [i.row() for i in dialog.table.selectionModel().selectedRows()] == [1]
    dialog.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # archive order again
    assert column(dialog, PATH, range(3)) == ["/b", "/a", "/c"]
    qtbot.keyClicks(dialog.filter, "c")
    assert column(dialog, PATH, range(dialog.model.rowCount())) == ["/c"]
    assert not dialog.table.selectionModel().selectedRows()
    qtmodeltester.check(dialog.model)


def test_a_layer_past_the_limit_lists_its_first_entries_and_says_how_many_more(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    """A layer of 200,000 entries was not listed at all ("Spyglass lists at most
    100,000"), with a Try Again that could not help: its first entries are listed, and
    the count says how many the layer holds."""
    files = many(1000)
    dialog = opened(qtbot, window, monkeypatch, lambda: LayerListing(files, 99_000))
    assert dialog.error == ""
    assert dialog.model.rowCount() == 1000
    assert dialog.count.text().startswith("the first 1,000 of 100,000 entries · ")
    assert "the other 99,000 were read and checked" in dialog.count.toolTip()
    qtbot.keyClicks(dialog.filter, "mod000017")
    assert dialog.count.text() == "1 of the first 1,000 of 100,000 entries"


def test_a_filter_that_finds_nothing_past_the_limit_says_the_rest_was_not_listed(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    """A filter that matched none of the first entries showed a blank table, though the
    files it looked for may lie past them; the size beside the count read as the
    layer's, and was that of the first entries alone."""
    files = [LayerFile(f"file-{i:06d}", "file", 2, 0o644, None, 1_700_000_000)
             for i in range(1000)]
    dialog = opened(qtbot, window, monkeypatch, lambda: LayerListing(files, 1000))
    assert dialog.count.text() == \
        "the first 1,000 of 2,000 entries · 2.0 KiB of the files listed"
    qtbot.keyClicks(dialog.filter, "file-0019")
    assert dialog.pages.currentWidget() is dialog.no_match
    assert dialog.no_match.title.text() == "No entry matches “file-0019”"
    assert dialog.no_match.body.text() == (
        "Only the first 1,000 of the layer's 2,000 entries are listed and searched: the "
        "other 1,000 were read and checked, not listed, so any of them that match are not "
        "found here. Clear the filter to see the 1,000 listed.")
    assert dialog.count.text() == "0 of the first 1,000 of 2,000 entries"
    assert dialog.error == ""
    # a match shows the table again; Clear Filter shows every entry listed
    for _ in range(3):
        qtbot.keyClick(dialog.filter, Qt.Key.Key_Backspace)
    assert dialog.filter.text() == "file-0"
    assert dialog.pages.currentWidget() is dialog.table
    assert dialog.model.rowCount() == 1000
    qtbot.keyClicks(dialog.filter, "9x")
    assert dialog.pages.currentWidget() is dialog.no_match
    assert dialog.clear_filter_button.isVisibleTo(dialog)
    qtbot.mouseClick(dialog.clear_filter_button, Qt.MouseButton.LeftButton)
    assert dialog.filter.text() == ""
    assert dialog.pages.currentWidget() is dialog.table
    assert dialog.model.rowCount() == 1000


def test_a_filter_that_finds_nothing_in_a_whole_listing_says_to_clear_it(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    files = many(300)
    dialog = opened(qtbot, window, monkeypatch, lambda: LayerListing(files, 0))
    assert dialog.count.text().endswith(" of files")
    qtbot.keyClicks(dialog.filter, "nothing-like-it")
    assert dialog.pages.currentWidget() is dialog.no_match
    assert dialog.no_match.body.text() == "Clear the filter to see all 300 entries."


@pytest.mark.parametrize(("error", "retry"), [
    (TooLarge("The layer sha256:ab has a file-name header of 2,000,000 bytes."), False),
    (ConnectionFailed("Cannot reach the registry r.example: connection refused."), True),
])
def test_try_again_is_offered_only_where_it_can_go_otherwise(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
        error: Exception, retry: bool) -> None:
    def fails() -> None:
        raise error

    dialog = opened(qtbot, window, monkeypatch, fails)
    assert dialog.error == str(error)
    assert dialog.retry_button.isVisibleTo(dialog) is retry


def test_extended_attributes_are_marked_in_the_mode_and_named_in_its_tooltip(
        qtmodeltester: ModelTester) -> None:
    model = LayerFilesModel()
    model.set_rows([
        LayerFile("usr/bin/ping", "file", 13, 0o755, None, 0,
                  xattrs=("security.capability", "user.comment")),
        LayerFile("usr/bin/env", "file", 13, 0o755, None, 0)])
    qtmodeltester.check(model)
    assert model.data(model.index(0, MODE)) == "-rwxr-xr-x+"
    tip = model.data(model.index(0, MODE), Qt.ItemDataRole.ToolTipRole)
    assert "security.capability (file capabilities" in tip and "user.comment" in tip
    assert model.data(model.index(1, MODE)) == "-rwxr-xr-x"
    assert model.data(model.index(1, MODE), Qt.ItemDataRole.ToolTipRole) is None
    model.sort(MODE, Qt.SortOrder.DescendingOrder)
    assert model.data(model.index(0, MODE)) == "-rwxr-xr-x+"


def test_devices_show_their_type_and_numbers_and_an_unknown_type_says_so(
        qtmodeltester: ModelTester) -> None:
    """A block device showed as a character device (``crw-rw----``), no device its major
    and minor numbers, and an entry of a type no tar defines as a plain file."""
    model = LayerFilesModel()
    model.set_rows([
        LayerFile("dev/null", "chardev", 0, 0o666, None, 0, device=(1, 3)),
        LayerFile("dev/sda", "blockdev", 0, 0o660, None, 0, device=(8, 0)),
        LayerFile("dev/odd", "other", 0, 0o644, None, 0, typeflag="Z")])
    qtmodeltester.check(model)
    texts = [[model.data(model.index(r, c)) for c in (KIND, SIZE, MODE)] for r in range(3)]
    assert texts == [["char device", "1, 3", "crw-rw-rw-"],
                     ["block device", "8, 0", "brw-rw----"],
                     ["unknown type", "", "?rw-r--r--"]]
    assert "of type 'Z'" in model.data(model.index(2, KIND), Qt.ItemDataRole.ToolTipRole)
    assert "major 8, minor 0" in model.data(model.index(1, SIZE), Qt.ItemDataRole.ToolTipRole)


def test_an_opaque_folder_shows_no_mode() -> None:
    """The opaque marker's own mode (``.wh..wh..opq``, 0644) showed as the folder's,
    ``drw-r--r--``, a mode no folder of the image has; the tooltip says what it is."""
    model = LayerFilesModel()
    model.set_rows([LayerFile("lowerdir", "dir", 0, 0o755, None, 0),
                    LayerFile("lowerdir", "opaque", 0, 0o644, None, 0)])
    assert model.data(model.index(0, MODE)) == "drwxr-xr-x"
    assert model.data(model.index(1, MODE)) == ""
    assert "opaque folder" in model.data(model.index(1, MODE), Qt.ItemDataRole.ToolTipRole)


@pytest.mark.parametrize(("seconds", "shown"), [
    (1_704_164_645, "2024-01-02 03:04 UTC"),
    (10**12, "33658-09-27 01:46 UTC"),  # as tar -tv shows it
    (-(10**12), "-29719-04-05 22:13 UTC"),
    (int(1e300), "after year 31,000,000 (out of range)"),
    (-int(1e300), "before year -31,000,000 (out of range)"),
], ids=["2024", "33658", "-29719", "1e300", "-1e300"])
def test_an_mtime_past_the_year_9999_is_a_date_or_says_it_is_out_of_range(
        seconds: int, shown: str) -> None:
    """An mtime beyond Python's dates showed as its integer: 10^12 as 1000000000000, a
    pax mtime of 1e300 as 301 digits that widened the column past the dialog."""
    assert format_epoch(seconds) == shown
    model = LayerFilesModel()
    model.set_rows([LayerFile("p/future", "file", 0, 0o644, None, seconds)])
    assert model.data(model.index(0, MODIFIED)) == shown
    tip = model.data(model.index(0, MODIFIED), Qt.ItemDataRole.ToolTipRole)
    assert (tip is not None) == ("range" in shown)
    assert tip is None or (len(tip) <= 400 and tip.endswith("seconds since 1970-01-01 00:00 UTC"))


def test_a_long_heading_is_cut_in_the_middle_in_the_title(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dialog's title is also the taskbar's: a layer of an image with a long reference
    named it whole (hundreds of characters), as the window's title did."""
    monkeypatch.setattr(dialogs, "list_files", lambda *_args: LayerListing([], 0))
    heading = f"Layer 1 of registry.example.com/{'deep/' * 40}app:{'v' * 60} (linux/amd64)"
    dialog = LayerFilesDialog(window.runner, Untouched(), LAYER, heading)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    title = dialog.windowTitle()
    assert title.startswith("Files — Layer 1 of registry.example.com/deep/")
    assert title.endswith("(linux/amd64)") and "…" in title
    assert len(title) == len("Files — ") + 80
    short = LayerFilesDialog(window.runner, Untouched(), LAYER, "Layer 2 of big:1")  # type: ignore[arg-type]
    qtbot.addWidget(short)
    assert short.windowTitle() == "Files — Layer 2 of big:1"
