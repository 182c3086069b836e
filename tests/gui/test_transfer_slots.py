"""The window's copies share one bound on blob transfers (TransferManager.blob_slots): a
copy whose source hangs holds its transfers, and the copies beside it go on all the
same, one transfer each at least, saying that the rest wait for the other copies'.
Real copies between layouts; the hung source's layers are held until it is cancelled
(tests/helpers/held_copies.py), as a registry that stopped answering holds them."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from spyglass.core.cancel import CancelToken
from spyglass.core.copy import CopyOptions
from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor
from spyglass.gui.copy_jobs import CopyRequest
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.transfers import (
    STALLED_AFTER,
    STATE,
    TRANSFER,
    state_text,
    turn_sentence,
)
from spyglass.gui.transfers import Transfer, TransferState
from tests.gui.guitools import WAIT_MS
from tests.helpers.held_copies import HeldLayer
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

pytestmark = pytest.mark.gui


def _layout(root: Path, layers: int) -> frozenset[Digest]:
    """A layout of one image ``app:1`` of ``layers`` small layers; their digests."""
    builder = LayoutBuilder(root)
    descriptor = builder.add_image(ImageSpec(layers=[
        LayerSpec({f"/f{number}": bytes([number]) * 1000}) for number in range(layers)]))
    builder.tag(descriptor, "1")
    return frozenset(Digest.parse(layer["digest"])
                     for layer in builder.read_json(descriptor)["layers"])


class _Slow:
    """An image source (``inner``) each of whose blobs takes ``delay`` seconds to open."""

    def __init__(self, inner: Any, delay: float) -> None:
        self._inner = inner
        self._delay = delay

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def open_blob(self, descriptor: Descriptor, *, cancel: CancelToken | None = None) -> Any:
        time.sleep(self._delay)
        return self._inner.open_blob(descriptor, cancel=cancel)


def _cell(window: MainWindow, transfer: Transfer, column: int,
          role: Qt.ItemDataRole = Qt.ItemDataRole.DisplayRole) -> str:
    model = window.copying.panel.model
    return str(model.data(model.index(window.copying.manager.row_of(transfer), column),
                          role))


def _hang(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
          tmp_path: Path, *, slow: float = 0.0) -> tuple[Transfer, HeldLayer]:
    """A copy from ``tmp_path/hung`` holding every slot of the window, its layers held;
    sources elsewhere open each blob ``slow`` seconds late."""
    slots = window.copying.manager.blob_slots.size
    held_layers = _layout(tmp_path / "hung", slots + 2)
    openers = window.copying.openers
    real_source = openers.source
    hung: list[HeldLayer] = []

    def source(name: str, cancel: CancelToken) -> Any:
        if "/hung:" in name:
            hung.append(HeldLayer(real_source(name, cancel), held_layers))
            return hung[-1]
        return _Slow(real_source(name, cancel), slow) if slow else real_source(name, cancel)

    monkeypatch.setattr(openers, "source", source)
    first = window.copying.start(CopyRequest(f"oci:{tmp_path / 'hung'}:1",
                                             f"oci:{tmp_path / 'out-hung'}:1", CopyOptions()))
    qtbot.waitUntil(lambda: bool(hung) and hung[0].holding == slots, timeout=WAIT_MS)
    assert window.copying.manager.blob_slots.held == slots
    return first, hung[0]


def test_a_copy_whose_source_hangs_does_not_hold_up_the_others(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """Its transfers hold every shared slot (for minutes, a registry that stopped
    answering); a local copy started after it ends all the same."""
    first, _held = _hang(qtbot, window, monkeypatch, tmp_path)
    _layout(tmp_path / "local", 6)
    second = window.copying.start(CopyRequest(f"oci:{tmp_path / 'local'}:1",
                                              f"oci:{tmp_path / 'out-local'}:1",
                                              CopyOptions()))
    try:
        qtbot.waitUntil(lambda: second.state.finished, timeout=WAIT_MS)
    finally:
        window.copying.manager.cancel(first)
    assert second.state is TransferState.DONE
    qtbot.waitUntil(lambda: first.state.finished, timeout=WAIT_MS)
    assert window.copying.manager.blob_slots.held == 0


def test_a_copy_whose_other_transfers_wait_for_the_others_says_so(
        qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """Beside the hung copy, a copy moves one blob at a time, its own: its row says the
    others wait for the other copies' transfers, and why; once it ends, nothing of it."""
    first, _held = _hang(qtbot, window, monkeypatch, tmp_path, slow=0.3)
    _layout(tmp_path / "local", 6)
    second = window.copying.start(CopyRequest(f"oci:{tmp_path / 'local'}:1",
                                              f"oci:{tmp_path / 'out-local'}:1",
                                              CopyOptions()))
    size = window.copying.manager.blob_slots.size
    try:
        qtbot.waitUntil(lambda: second.slots_seen[0] == 1 and "wait for the other "
                        "copies' transfers" in _cell(window, second, TRANSFER,
                                                     Qt.ItemDataRole.ToolTipRole),
                        timeout=WAIT_MS)
        tip = _cell(window, second, TRANSFER, Qt.ItemDataRole.ToolTipRole)
        assert (f"of this copy wait for the other copies' transfers: the window's copies "
                f"move at most {size} blobs at once together (each copy one at least), so "
                "that the window stays responsive.") in tip
        assert _cell(window, second, STATE) == "Copying"  # (one of its own moves)
        qtbot.waitUntil(lambda: second.state.finished, timeout=WAIT_MS * 3)
    finally:
        window.copying.manager.cancel(first)
    assert second.state is TransferState.DONE
    assert "other copies" not in _cell(window, second, TRANSFER, Qt.ItemDataRole.ToolTipRole)


def test_the_tooltip_counts_the_blobs_waiting_for_the_other_copies(
        window: MainWindow) -> None:
    """A copy whose other blobs wait for the other copies' transfers says how many in its
    tooltip; one whose own transfer moves nothing is stalled as any other (the shared
    bound never keeps a copy from running one transfer of its own)."""
    transfer = Transfer(1, CopyRequest("oci:/s/s:1", "oci:/d/d:1", CopyOptions()))
    transfer.state = TransferState.COPYING
    transfer.snapshot = replace(transfer.snapshot, planned=True, total=6000, done=0,
                                still=STALLED_AFTER + 5)
    transfer.slots = window.copying.manager.blob_slots.for_copy()
    transfer.slots_seen = (1, 3)
    assert "3 blobs of this copy wait for the other copies' transfers" in turn_sentence(
        transfer)
    assert state_text(transfer) == "Stalled · 20 s"
    transfer.slots_seen = (1, 0)
    assert turn_sentence(transfer) == ""
    transfer.slots.close()
