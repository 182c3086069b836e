"""Cancel All of copies running into one layout: the rows say what became of what each
wrote (the first to stop left its blobs to the copy still at work; the last took back
everything), and the layout ends as it was. Real copies, held on their last layer
(tests/helpers/held_copies.py), their take-backs in a set order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from spyglass.core.cancel import CancelToken
from spyglass.core.copy import CopyOptions
from spyglass.core.transports.layout_left import LEFT_FILE
from spyglass.gui.copy_jobs import CopyRequest
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.transfers import TRANSFER
from spyglass.gui.transfers import Transfer, TransferState
from tests.gui.guitools import WAIT_MS
from tests.gui.scripted import row_texts
from tests.helpers.held_copies import AbortsInTurn, HeldLayer, source_layout
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

pytestmark = pytest.mark.gui


def _tooltip(window: MainWindow, transfer: Transfer) -> str:
    model = window.copying.panel.model
    return str(model.data(model.index(window.copying.manager.row_of(transfer), TRANSFER),
                          Qt.ItemDataRole.ToolTipRole))


def _all_but_held_copied(transfer: Transfer) -> bool:
    blobs = transfer.snapshot.blobs
    return len(blobs) == 3 and sum(blob.outcome == "copied" for blob in blobs) == 2


@pytest.mark.parametrize("existing", [False, True], ids=["new layout", "existing layout"])
def test_cancel_all_of_two_copies_into_one_layout_leaves_it_as_it_was_and_says_so(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        existing: bool) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    held = source_layout(src)
    if existing:
        builder = LayoutBuilder(dst)
        builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/etc/motd": b"hi\n"})])),
                    "old")
    before = ({str(p.relative_to(dst)): p.read_bytes() for p in dst.rglob("*") if p.is_file()}
              if existing else None)
    openers = window.copying.openers
    real_source, real_destination = openers.source, openers.destination
    turns = AbortsInTurn()  # the copy of "one" takes back first, "two" still at work

    def source(name: str, cancel: CancelToken) -> Any:
        return HeldLayer(real_source(name, cancel), held[name.rsplit(":", 1)[1]])

    def destination(name: str, cancel: CancelToken) -> Any:
        return turns.wrap(real_destination(name, cancel), 0 if name.endswith(":one") else 1)

    monkeypatch.setattr(openers, "source", source)
    monkeypatch.setattr(openers, "destination", destination)
    one, two = (window.copying.start(CopyRequest(f"oci:{src}:{ref}", f"oci:{dst}:{ref}",
                                                 CopyOptions()))
                for ref in ("one", "two"))
    qtbot.waitUntil(lambda: _all_but_held_copied(one) and _all_but_held_copied(two),
                    timeout=WAIT_MS)
    qtbot.mouseClick(window.copying.panel.cancel_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: one.state.finished and two.state.finished, timeout=WAIT_MS)
    assert one.state is two.state is TransferState.CANCELLED
    # the layout: as it was (a new one gone whole), nothing unnamed, no journal
    if existing:
        assert {str(p.relative_to(dst)): p.read_bytes() for p in dst.rglob("*")
                if p.is_file()} == before
        assert not (dst / LEFT_FILE).exists()
    else:
        assert not dst.exists()
    # the rows: the first to stop left its blobs for the copy at work, which took back all
    assert row_texts(window, one)["progress"] == "2 blobs left"
    left = one.snapshot.left
    assert left is not None and left.later
    tip = _tooltip(window, one)
    assert " had been copied when the copy was cancelled. 2 blobs (" in tip
    assert ") were left in the layout, unnamed, because another copy is at work there and " \
        "may use them; the last copy to leave the layout takes them back (unless an image " \
        "there names them by then)." in tip
    assert "taken back: the destination is as it was" not in tip
    assert row_texts(window, two)["progress"] == "taken back"
    assert "all of it was taken back: the destination is as it was." in _tooltip(window, two)
    details = window.copying.panel.show_details(one)
    assert details is not None
    assert sorted(details.outcomes().values()) == [
        "copied, left in the layout", "copied, left in the layout", "interrupted, taken back"]
