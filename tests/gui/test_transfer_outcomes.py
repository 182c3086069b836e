"""What the Transfers panel and the Details say once a copy has ended: the copy's notes,
what became of the bytes of one that failed or was cancelled, a copy onto itself, and
how the columns and the status bar make room for all of it.

The copies are scripted (see tests/gui/scripted.py): the events are the engine's, fed
to the window's own manager.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QHeaderView
from pytestqt.qtbot import QtBot

from spyglass.core import media
from spyglass.core.copy import (
    BlobCutOff,
    BlobDone,
    BlobProgress,
    BlobRetried,
    BlobSkipped,
    BlobStarted,
    CopyCancelled,
    CopyOptions,
    CopyPlan,
    Failed,
    Finished,
    ManifestWritten,
    Naming,
    Planned,
)
from spyglass.core.copy_attachments import AttachmentTask
from spyglass.core.digest import Digest
from spyglass.core.errors import SpyglassError
from spyglass.core.manifest import Descriptor
from spyglass.core.settings import RegistrySettings, Settings
from spyglass.core.signatures.discovery import Attachment
from spyglass.core.signatures.model import Kind
from spyglass.core.transports.base import LeftBehind
from spyglass.gui import on_screen
from spyglass.gui.copy_jobs import CopyRequest
from spyglass.gui.dialogs.transfer_details import TransferDetailsDialog
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.transfers import (
    BYTES,
    ETA,
    PROGRESS,
    PROGRESS_ROLE,
    SPEED,
    STATE,
    TRANSFER,
)
from spyglass.gui.transfers import Transfer, TransferManager, TransferState
from spyglass.gui.views.transfers_panel import summary_text
from tests.gui.guitools import WAIT_MS
from tests.gui.scripted import (
    SOURCE,
    TOP,
    FakeClock,
    MiB,
    ScriptedCopy,
    blob,
    feed,
    finish,
    last_one_failed,
    plan_of,
    row_texts,
    start_scripted,
)

pytestmark = pytest.mark.gui

COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
RECOMPRESSED = ("2 uncompressed layers are compressed with gzip for docker://registry.example/"
                "team/app:2.0, as skopeo does, so the image's digest changes")
LEFT_BEHIND = "1 SBOM left behind: dir:/tmp/out cannot keep it"


def tooltip(window: MainWindow, transfer: Transfer, column: int = TRANSFER) -> str:
    model = window.copying.panel.model
    text = model.data(model.index(window.copying.manager.row_of(transfer), column),
                      Qt.ItemDataRole.ToolTipRole)
    return str(text)


def progress_value(window: MainWindow, transfer: Transfer) -> object:
    model = window.copying.panel.model
    return model.data(model.index(window.copying.manager.row_of(transfer), PROGRESS),
                      PROGRESS_ROLE)


def attached(kind: Kind, tag: str | None, *blobs: Descriptor) -> AttachmentTask:
    """A planned attachment of ``kind`` whose manifest holds ``blobs``."""
    manifest = Descriptor(media.OCI_MANIFEST, Digest.of(f"{kind} manifest".encode()), 400)
    return AttachmentTask(Attachment(Digest.of(b"manifest"), f"tag {tag}" if tag else
                                     "referrers API", kind, manifest),
                          "manifest", b"{}", manifest, tuple(blobs), tag)




# -- 1. the copy's notes


def test_the_notes_reach_the_details_the_row_and_the_status_bar(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    clock = FakeClock()
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    config, layer = blob("config", 1500, media.OCI_CONFIG), blob("layer", 3 * MiB)
    signature = blob("signature", 263, COSIGN_SIMPLESIGNING)
    signature_config = blob("signature config", 233, media.OCI_CONFIG)
    sbom = blob("sbom", 5000, "application/spdx+json")
    plan = replace(plan_of(config, layer), notes=(RECOMPRESSED, LEFT_BEHIND), attachments=(
        attached(Kind.COSIGN_SIGNATURE, "sha256-abc.sig", signature_config, signature),
        attached(Kind.SBOM, None, sbom)))
    feed(qtbot, window, scripted, Planned(plan))
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    # while it runs: the notes are there to read, the row keeps to its state
    assert details.notes_text.splitlines() == [
        "• Goes along with the image: 1 cosign signature, 1 SBOM.",
        "• 2 uncompressed layers are compressed with gzip for docker://registry.example/"
        "team/app:2.0, as skopeo does, so the image's digest changes.",
        "• 1 SBOM left behind: dir:/tmp/out cannot keep it.",
    ]
    flags = details.notes_label.textInteractionFlags()
    assert flags & Qt.TextInteractionFlag.TextSelectableByMouse
    layout = details.layout()
    assert layout.indexOf(details.notes_label) < layout.indexOf(details.blobs)
    assert row_texts(window, transfer)["state"] == "Copying"

    clock.now += 1
    feed(qtbot, window, scripted,
         *(event for d in (config, layer, signature_config, signature, sbom) for event in (
             BlobStarted(d.digest, d.size, d.media_type), BlobDone(d.digest, d, False))),
         Finished(TOP.digest, TOP.media_type))
    with qtbot.waitSignal(window.copying.manager.finished, timeout=WAIT_MS):
        scripted.finish(TOP)
    assert row_texts(window, transfer)["state"] == "Done · 2 notes"
    tip = tooltip(window, transfer, STATE)
    assert "• 1 SBOM left behind: dir:/tmp/out cannot keep it." in tip
    assert "• Copied along with the image: 1 cosign signature, 1 SBOM." in tip
    assert "State: Done · 2 notes" in details.heading.text()
    assert details.notes_text.splitlines()[0] \
        == "• Copied along with the image: 1 cosign signature, 1 SBOM."
    assert window.status_text == (f"Copied team/app:2.0 to {transfer.request.destination}; "
                                  "2 notes — see Details.")
    details.close()


def _one_blob_copied(qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy,
                     tmp_path: Path) -> Transfer:
    """A scripted copy of one config blob, copied (the copy not finished yet)."""
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    config = blob("config", 1500, media.OCI_CONFIG)
    feed(qtbot, window, scripted, Planned(plan_of(config)),
         BlobStarted(config.digest, config.size, config.media_type),
         BlobDone(config.digest, config, False))
    return transfer


def test_a_copy_without_notes_says_nothing_more(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    transfer = _one_blob_copied(qtbot, window, scripted, tmp_path)
    details = window.copying.panel.show_details(transfer)
    assert details is not None and details.notes_text == "" and details.notes_label.isHidden()
    with qtbot.waitSignal(window.copying.manager.finished, timeout=WAIT_MS):
        scripted.finish(TOP)
    assert row_texts(window, transfer)["state"] == "Done"
    assert window.status_text == f"Copied team/app:2.0 to {transfer.request.destination}."
    details.close()


# -- 6. the Details' columns


def test_details_show_digests_short_and_name_what_is_attached(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    config, layer = blob("config", 1500, media.OCI_CONFIG), blob("layer", 3 * MiB)
    parts = {
        "cosign signature": blob("signature", 263, COSIGN_SIMPLESIGNING),
        "cosign signature config": blob("signature config", 233, media.OCI_CONFIG),
        "SPDX SBOM": blob("spdx", 5000, "application/spdx+json"),
        "CycloneDX SBOM": blob("cyclonedx", 5000, "application/vnd.cyclonedx+json"),
        "attestation (DSSE)": blob("dsse", 900, "application/vnd.dsse.envelope.v1+json"),
        "attestation (in-toto)": blob("in-toto", 900, "application/vnd.in-toto+json"),
        "sigstore bundle": blob("bundle", 3000, "application/vnd.dev.sigstore.bundle.v0.3+json"),
        "Notation signature (JWS)": blob("jws", 2000, "application/jose+json"),
    }
    plan = replace(plan_of(config, layer), attachments=(
        attached(Kind.COSIGN_SIGNATURE, "sha256-abc.sig", parts["cosign signature config"],
                 parts["cosign signature"]),
        attached(Kind.SBOM, None, parts["SPDX SBOM"], parts["CycloneDX SBOM"]),
        attached(Kind.ATTESTATION, None, parts["attestation (DSSE)"],
                 parts["attestation (in-toto)"], parts["sigstore bundle"]),
        attached(Kind.NOTARY_SIGNATURE, None, parts["Notation signature (JWS)"])))
    feed(qtbot, window, scripted, Planned(plan),
         BlobSkipped(config.digest, config.size, "mounted"))
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    items = details.items()
    assert {name: items[str(d.digest)].text(2) for name, d in parts.items()} \
        == {name: name for name in parts}
    assert items[str(layer.digest)].text(2) == "OCI layer (gzip)"
    assert items[str(config.digest)].text(2) == "OCI image config"
    # the raw type, and what it is part of, in the tooltip
    signature = items[str(parts["cosign signature"].digest)]
    assert signature.toolTip(2) == (f"{COSIGN_SIMPLESIGNING}\n"
                                    "Part of what is attached to the image: cosign signature")
    # the digest: its algorithm and 12 hex, whole in the tooltip
    row = items[str(config.digest)]
    assert row.text(0) == f"sha256:{config.digest.hex[:12]}"
    assert row.toolTip(0) == str(config.digest)
    # so the outcome has the room to be read whole
    details.show()
    qtbot.waitExposed(details)
    header = details.blobs.header()
    outcome = row.text(3)
    assert outcome == "mounted from another repository"
    assert details.blobs.fontMetrics().horizontalAdvance(outcome) + 12 <= header.sectionSize(3)
    for name in parts:
        assert details.blobs.fontMetrics().horizontalAdvance(name) + 12 \
            <= header.sectionSize(2), name
    # sizes and their heading line up, on the right
    right = Qt.AlignmentFlag.AlignRight
    assert Qt.AlignmentFlag(details.blobs.headerItem().textAlignment(1)) & right
    assert Qt.AlignmentFlag(row.textAlignment(1)) & right
    details.close()


# -- 3. copies that did not succeed


def test_a_failed_copy_claims_no_progress_and_says_its_bytes_were_taken_back(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """A blob retried, then given up: what the row showed was "0 %" and "1.1 KiB / 144 MiB"."""
    clock = FakeClock()
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    config, layer = blob("config", 1126, media.OCI_CONFIG), blob("layer", 144 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, layer)),
         BlobStarted(config.digest, config.size, config.media_type),
         BlobDone(config.digest, config, False),
         BlobStarted(layer.digest, layer.size, layer.media_type),
         BlobProgress(layer.digest, 104 * MiB, layer.size))
    assert row_texts(window, transfer)["progress"] == "72 %"
    reason = "The registry registry.example answered HTTP 503 (try later)."
    clock.now += 1
    feed(qtbot, window, scripted, BlobRetried(layer.digest, 2, 2, reason),
         BlobProgress(layer.digest, 40 * MiB, layer.size), Failed(reason))
    finish(qtbot, window, scripted, SpyglassError(reason))
    assert transfer.state is TransferState.FAILED
    texts = row_texts(window, transfer)
    assert (texts["progress"], texts["bytes"], texts["speed"], texts["eta"]) \
        == ("taken back", "40.0 MiB of 144 MiB", "", "")
    assert progress_value(window, transfer) is None  # no bar
    assert ("40.0 MiB of 144 MiB had been copied when the copy failed, and all of it was "
            "taken back: the destination is as it was.") in tooltip(window, transfer, BYTES)
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    assert "all of it was taken back" in details.heading.text()
    assert details.outcomes()[str(layer.digest)] == "interrupted, after 1 retry, taken back"
    assert details.outcomes()[str(config.digest)] == "copied, taken back"
    details.close()
    panel = window.copying.panel
    panel.select(transfer)
    assert panel.retry_button.isEnabled()
    assert panel.summary.text() == "1 failed"


def test_a_failed_copy_whose_layout_kept_its_blobs_says_so_not_taken_back(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """The layout could not take back what the copy wrote (its lock was held by another
    program): the row must not say the destination is as it was."""
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    config, layer = blob("config", 1126, media.OCI_CONFIG), blob("layer", 144 * MiB)
    reason = "The registry registry.example answered HTTP 503 (try later)."
    why = (f'The OCI image layout "{tmp_path}/mirror" is being written by another program, '
           f'which holds "{tmp_path}/mirror/index.json.lock"')
    feed(qtbot, window, scripted, Planned(plan_of(config, layer)),
         BlobStarted(config.digest, config.size, config.media_type),
         BlobDone(config.digest, config, False),
         BlobStarted(layer.digest, layer.size, layer.media_type),
         BlobProgress(layer.digest, 40 * MiB, layer.size),
         Failed(reason, LeftBehind((config.digest,), config.size, why, later=False)))
    finish(qtbot, window, scripted, SpyglassError(reason))
    assert row_texts(window, transfer)["progress"] == "1 blob left"
    tip = tooltip(window, transfer, BYTES)
    assert ("40.0 MiB of 144 MiB had been copied when the copy failed. 1 blob (1.1 KiB) was "
            "left in the layout, unnamed, because the OCI image layout") in tip
    assert ("index.json.lock\"; nothing takes it back (umoci gc removes the blobs no image "
            "there names).") in tip
    assert "taken back:" not in tip
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    assert details.outcomes() == {str(config.digest): "copied, left in the layout",
                                  str(layer.digest): "interrupted, taken back"}


def test_a_cancelled_copy_to_a_registry_says_the_image_was_not_written(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path,
                              destination="docker://registry.example/mirror/app:2.0")
    config, layer = blob("config", 1126, media.OCI_CONFIG), blob("layer", 144 * MiB)
    there = blob("there", 16 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, there, layer)),
         BlobSkipped(there.digest, there.size, "exists"),
         BlobStarted(config.digest, config.size, config.media_type),
         BlobDone(config.digest, config, False),
         BlobStarted(layer.digest, layer.size, layer.media_type),
         BlobProgress(layer.digest, 104 * MiB, layer.size),
         BlobCutOff(layer.digest, dropped=True))  # it took the upload's cancel
    script_events = scripted.events
    assert script_events is not None
    script_events(CopyCancelled())  # as the engine says it, before the job ends
    window.copying.manager.cancel(transfer)  # the script stops at the cancelled token
    qtbot.waitUntil(lambda: transfer.state is TransferState.CANCELLED, timeout=WAIT_MS)
    texts = row_texts(window, transfer)
    # what was already there is not counted as the copy's, nor what the registry drops
    # of the layer cut off: only the config was sent whole
    assert (texts["state"], texts["progress"], texts["bytes"]) \
        == ("Cancelled", "not written", "1.1 KiB sent")
    assert progress_value(window, transfer) is None
    tip = tooltip(window, transfer)
    assert "1 blob (1.1 KiB of 160 MiB) had been sent whole when the copy was cancelled; " \
        "the image was not written (the tag is as it was). The registry keeps it, unused, " \
        "so copying again need not send it again. It drops what it had received of the " \
        "blobs cut off." in tip
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    assert details.outcomes()[str(layer.digest)] == "interrupted, dropped by the registry"
    assert details.outcomes()[str(config.digest)] == "copied"  # nothing taken back
    details.close()
    assert window.copying.panel.summary.text() == "1 cancelled"


def test_a_copy_to_a_registry_cut_off_in_its_first_blobs_says_nothing_is_kept(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """A blob cut off is not a blob: the registry drops what it had of it, so a copy that
    sent none whole does not promise that copying again sends less."""
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path,
                              destination="docker://registry.example/mirror/app:2.0")
    layer = blob("layer", 50 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(blob("c", 900, media.OCI_CONFIG), layer)),
         BlobStarted(layer.digest, layer.size, layer.media_type),
         BlobProgress(layer.digest, 7 * MiB, layer.size),
         BlobCutOff(layer.digest, dropped=True),
         Failed("The registry went away."))
    finish(qtbot, window, scripted, SpyglassError("The registry went away."))
    texts = row_texts(window, transfer)
    assert (texts["progress"], texts["bytes"]) == ("not written", "0 B sent")
    tip = tooltip(window, transfer)
    assert "The copy failed before any blob was sent whole: the image was not written (the " \
        "tag is as it was), and the registry drops what it had received of the blobs cut " \
        "off." in tip
    assert "keeps" not in tip


def test_a_registry_that_did_not_take_the_cancel_of_an_upload_may_keep_what_it_received(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """distribution answers the DELETE of an upload broken off with 404 and keeps its data
    until it purges unfinished uploads (a week later by default): that is not "dropped",
    which matters most when the registry failed for want of room."""
    # a screen with room for the dialog's opening size (the offscreen one, 800 px wide,
    # has it open narrower)
    monkeypatch.setattr(on_screen, "screen_room", lambda _widget: QRect(0, 0, 1920, 1080))
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path,
                              destination="docker://registry.example/mirror/app:2.0")
    config, layer = blob("config", 1126, media.OCI_CONFIG), blob("layer", 50 * MiB)
    other = blob("other", 50 * MiB)
    reason = "The registry's storage is full."
    feed(qtbot, window, scripted, Planned(plan_of(config, layer, other)),
         BlobStarted(config.digest, config.size, config.media_type),
         BlobDone(config.digest, config, False),
         BlobStarted(layer.digest, layer.size, layer.media_type),
         BlobProgress(layer.digest, 7 * MiB, layer.size),
         BlobStarted(other.digest, other.size, other.media_type),
         BlobProgress(other.digest, 3 * MiB, other.size),
         BlobCutOff(layer.digest, dropped=False),
         BlobCutOff(other.digest, dropped=True),
         Failed(reason))
    finish(qtbot, window, scripted, SpyglassError(reason))
    tip = tooltip(window, transfer)
    assert "so copying again need not send it again. It may keep what it had received of " \
        "the blobs cut off until it purges unfinished uploads." in tip, tip
    assert "drops" not in tip
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    qtbot.waitExposed(details)
    # the cell short (whole, it was cut at "until it purg…" at the dialog's opening
    # size), the tooltip whole
    cell = "interrupted, the registry may keep the part sent"
    assert details.outcomes()[str(layer.digest)] == cell
    item = details.items()[str(layer.digest)]
    assert item.toolTip(3) == "interrupted, the registry may keep what it received " \
        "until it purges unfinished uploads"
    assert details.blobs.columnWidth(3) >= details.blobs.fontMetrics().horizontalAdvance(
        f"{cell}, after 2 retries") + 12  # (a margin each side)
    assert details.outcomes()[str(other.digest)] == "interrupted, dropped by the registry"
    details.close()


def test_a_copy_that_ended_before_writing_says_nothing_was_written(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    layer = blob("layer", 3 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(blob("c", 10, media.OCI_CONFIG), layer)),
         Failed("The source went away."))
    finish(qtbot, window, scripted, SpyglassError("The source went away."))
    texts = row_texts(window, transfer)
    assert (texts["progress"], texts["bytes"]) == ("nothing written", "0 B of 3.0 MiB")


def test_the_summary_counts_what_failed_or_was_cancelled_apart() -> None:
    states = [TransferState.DONE] * 6 + [TransferState.FAILED, TransferState.CANCELLED,
                                         TransferState.COPYING]
    manager = SimpleNamespace(transfers=[SimpleNamespace(state=s) for s in states],
                              running=1, waiting=2, started_any=True,
                              counts=lambda: Counter(states))
    assert summary_text(cast(TransferManager, manager)) \
        == "1 running · 2 waiting · 6 done · 1 failed · 1 cancelled"
    manager.transfers, manager.running, manager.waiting = [], 0, 0
    assert summary_text(cast(TransferManager, manager)) == "No copies in the list."
    manager.started_any = False
    assert summary_text(cast(TransferManager, manager)).startswith(
        "No copies yet: drag an image onto")


# -- 7. a copy done: no Retry; a copy onto itself


def test_retry_is_for_copies_that_did_not_succeed(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    transfer = _one_blob_copied(qtbot, window, scripted, tmp_path)
    with qtbot.waitSignal(window.copying.manager.finished, timeout=WAIT_MS):
        scripted.finish(TOP)
    panel = window.copying.panel
    panel.select(transfer)
    assert not panel.retry_button.isEnabled()
    assert panel.details_button.isEnabled() and panel.clear_button.isEnabled()


def test_a_copy_onto_itself_says_the_image_is_already_there(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path,
                              destination=SOURCE)
    config, layer = blob("config", 1500, media.OCI_CONFIG), blob("layer", 144 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, layer)),
         BlobSkipped(config.digest, config.size, "exists"),
         BlobSkipped(layer.digest, layer.size, "exists"), Finished(TOP.digest, TOP.media_type))
    with qtbot.waitSignal(window.copying.manager.finished, timeout=WAIT_MS):
        scripted.finish(TOP)
    texts = row_texts(window, transfer)
    assert (texts["state"], texts["bytes"], texts["speed"]) \
        == ("Done", "144 MiB already there", "same image")
    assert "The destination has this very image" in tooltip(window, transfer)
    assert window.status_text == ("Already there: team/app:2.0 at docker://registry.example/"
                                  "team/app:2.0; only its name was written.")


def test_a_copy_a_registry_had_under_its_name_says_nothing_was_written(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """The engine asked the tag first and wrote nothing: not even the name ("only its name
    was written" was said of a copy that wrote every manifest again)."""
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path,
                              destination=SOURCE)
    config, layer = blob("config", 1500, media.OCI_CONFIG), blob("layer", 144 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, layer)),
         BlobSkipped(config.digest, config.size, "exists"),
         BlobSkipped(layer.digest, layer.size, "exists"),
         Finished(TOP.digest, TOP.media_type, TOP.digest, held=True))
    with qtbot.waitSignal(window.copying.manager.finished, timeout=WAIT_MS):
        scripted.finish(TOP)
    assert row_texts(window, transfer)["speed"] == "same image"
    assert window.status_text == ("Already there: team/app:2.0 at docker://registry.example/"
                                  "team/app:2.0, under that name; nothing was written.")


def _held_copy(qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path, *,
               new_sbom: bool) -> Transfer:
    """A signed image copied into a registry whose tag named it already, as the engine
    reports it: its blobs there, the signature held there too; with ``new_sbom``, an SBOM
    the registry lacked is written (its blob copied), else nothing is."""
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path,
                              destination=SOURCE)
    config, layer = blob("config", 1500, media.OCI_CONFIG), blob("layer", 144 * MiB)
    signature = blob("signature", 263, COSIGN_SIMPLESIGNING)
    sbom = blob("sbom", 5000, "application/spdx+json")
    plan = replace(plan_of(config, layer), attachments=(
        attached(Kind.COSIGN_SIGNATURE, "sha256-abc.sig", signature),
        attached(Kind.SBOM, None, sbom)))
    sbom_events = ((BlobStarted(sbom.digest, sbom.size, sbom.media_type),
                    BlobDone(sbom.digest, sbom, False)) if new_sbom
                   else (BlobSkipped(sbom.digest, sbom.size, "exists"),))
    feed(qtbot, window, scripted, Planned(plan, held=True),
         *(BlobSkipped(d.digest, d.size, "exists") for d in (config, layer, signature)),
         *sbom_events,
         Finished(TOP.digest, TOP.media_type, TOP.digest, held=True, wrote_attached=new_sbom))
    with qtbot.waitSignal(window.copying.manager.finished, timeout=WAIT_MS):
        scripted.finish(TOP)
    return transfer


def test_a_copy_that_wrote_nothing_does_not_say_its_attachments_were_copied(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """The tooltip and the Details said "Copied along with the image: 1 cosign signature,
    1 SBOM" of a copy that wrote nothing at all."""
    transfer = _held_copy(qtbot, window, scripted, tmp_path, new_sbom=False)
    said = "• Along with the image, there already: 1 cosign signature, 1 SBOM."
    tip = tooltip(window, transfer)
    assert said in tip and "Copied along" not in tip
    assert "under that name already (the same digest): nothing was written" in tip
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    assert details.notes_text == said
    heading = details.heading.text()
    assert "State: Done · already there" in heading
    assert "under that name already (the same digest): nothing was written" in heading
    details.close()


def test_a_copy_that_wrote_only_an_attachment_keeps_saying_the_image_was_there(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """Only the status bar, which clears, said the image was not written again: the row
    said "Done", the Details "State: Done", and both "Copied along with the image" of
    every attachment, though only the new SBOM was written."""
    transfer = _held_copy(qtbot, window, scripted, tmp_path, new_sbom=True)
    texts = row_texts(window, transfer)
    assert (texts["state"], texts["speed"]) == ("Done", "same image")
    not_again = ("under that name already (the same digest): the image was not written "
                 "again; what is attached to it and was not there yet was.")
    said = ("• Along with the image: 1 cosign signature, 1 SBOM; only what the destination "
            "did not have yet was written (1 blob copied, part of: SBOM).")
    tip = tooltip(window, transfer, STATE)
    assert not_again in tip and said in tip and "Copied along" not in tip
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    heading = details.heading.text()
    assert "State: Done · same image" in heading and not_again in heading
    assert details.notes_text == said
    details.close()


def test_a_copy_a_registry_had_that_carried_its_attachments_keeps_its_notes() -> None:
    """What is attached was carried along and added a signature: not "nothing was
    written"; and the pointer to the copy's notes stayed off. Attachments held there
    already too: nothing was written."""
    from spyglass.gui.copy_side import done_message

    for wrote, said in ((True, "only what is attached to it was written"),
                        (False, "nothing was written")):
        transfer = SimpleNamespace(
            request=SimpleNamespace(label="team/app:2.0", source=SOURCE, destination=SOURCE),
            snapshot=SimpleNamespace(held=True, attached="1 cosign signature",
                                     wrote_attached=wrote,
                                     notes=("the source's 1 cosign signature is merged …",)))
        assert done_message(cast(Transfer, transfer)) == (
            f"Already there: team/app:2.0 at {SOURCE}, under that name; {said}; 1 note — "
            "see Details.")


def test_a_copy_that_wrote_another_manifest_is_not_already_there(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """Every blob there, but what was written is not the source's manifest (one platform
    of a list, a conversion): the tag changed, so the copy did something."""
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path,
                              destination=SOURCE)
    config, layer = blob("config", 1500, media.OCI_CONFIG), blob("layer", 144 * MiB)
    other = Descriptor(media.OCI_MANIFEST, Digest.of(b"another manifest"), 3)
    feed(qtbot, window, scripted, Planned(plan_of(config, layer)),
         BlobSkipped(config.digest, config.size, "exists"),
         BlobSkipped(layer.digest, layer.size, "exists"),
         Finished(other.digest, other.media_type))
    with qtbot.waitSignal(window.copying.manager.finished, timeout=WAIT_MS):
        scripted.finish(other)
    texts = row_texts(window, transfer)
    assert (texts["state"], texts["speed"]) == ("Done", "nothing to copy")
    assert "very image" not in tooltip(window, transfer)
    assert window.status_text.startswith("Copied ")


# -- 2. room for the route


def test_the_route_takes_the_spare_width(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path,
                              destination="oci:/srv/mirror:team/app:2.0")
    panel = window.copying.panel
    table = panel.table
    header = table.horizontalHeader()
    others = (STATE, PROGRESS, BYTES, SPEED, ETA)
    assert all(header.sectionResizeMode(c) == QHeaderView.ResizeMode.Interactive
               for c in (TRANSFER, *others))
    route = panel.model.index(0, TRANSFER).data()
    for width, share in ((900, 0.2), (1200, 0.4)):
        window.resize(width, 700)
        qtbot.waitUntil(lambda width=width: abs(table.width() - width) < 40, timeout=WAIT_MS)
        room = header.sectionSize(TRANSFER)
        assert room >= table.viewport().width() - sum(header.sectionSize(c) for c in others) - 2
        assert room >= panel.route_least()
        assert room > table.viewport().width() * share, (width, room)
        # the image and the place's name, whole
        assert table.fontMetrics().horizontalAdvance(route) + 16 <= room, (width, route)
    # the others fit their usual texts (once they follow the resize, on a timer: the
    # window opened narrower than 900 px, and they gave way there)
    metrics = table.fontMetrics()

    def usual_texts_fit() -> None:
        for column, text in ((STATE, "Done · 1 note"), (BYTES, "144 MiB of 144 MiB"),
                             (SPEED, "888.8 MiB/s"), (ETA, "12 min 05 s"),
                             (PROGRESS, "nothing written")):
            assert metrics.horizontalAdvance(text) + 12 <= header.sectionSize(column), text

    qtbot.waitUntil(usual_texts_fit, timeout=WAIT_MS)
    # a longer state is cut, whole in the tooltip
    assert "\n\nPlanning…" in tooltip(window, transfer, STATE)
    window.copying.manager.cancel(transfer)


def test_the_details_of_an_empty_plan_are_no_trouble(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """Only the list manifest copied: no blobs, a note (the CLI's "only the list manifest
    is copied")."""
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    plan = plan_of(blob("config", 10, media.OCI_CONFIG))
    empty = CopyPlan(plan.source_name, plan.destination_name, plan.top, (), media.OCI_INDEX,
                     True, ("only the list manifest is copied; its images must already be "
                            "there",))
    feed(qtbot, window, scripted, Planned(empty), Finished(TOP.digest, TOP.media_type))
    with qtbot.waitSignal(window.copying.manager.finished, timeout=WAIT_MS):
        scripted.finish(TOP)
    details = window.copying.panel.show_details(transfer)
    assert isinstance(details, TransferDetailsDialog)
    assert details.notes_text == ("• Only the list manifest is copied; its images must "
                                  "already be there.")
    assert row_texts(window, transfer)["state"] == "Done · 1 note"
    details.close()


def test_a_blob_shared_by_two_attachments_names_both() -> None:
    """The empty config that an SBOM and an attestation referrer share is part of both."""
    from spyglass.gui.copy_progress import Tally

    empty = Descriptor(media.OCI_EMPTY, Digest.of(b"{}"), 2)
    sbom = blob("sbom", 300, "application/spdx+json")
    statement = blob("statement", 400, "application/vnd.in-toto+json")
    config = blob("config", 1500, media.OCI_CONFIG)
    plan = replace(plan_of(config), attachments=(
        attached(Kind.SBOM, None, empty, sbom), attached(Kind.ATTESTATION, None, empty,
                                                          statement)))
    tally = Tally()
    tally.feed(Planned(plan))
    rows = {row.digest: row for row in tally.snapshot().blobs}
    assert rows[empty.digest].attachment == f"{Kind.SBOM}, {Kind.ATTESTATION}"
    assert rows[sbom.digest].attachment == str(Kind.SBOM)


def test_the_failure_sentence_keeps_its_row_in_sight(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """The sentence above the rows takes room from them: the failed row it is about is
    scrolled back into sight, not left below the rows shown."""
    panel = window.copying.panel
    panel.setFixedHeight(panel.table.verticalHeader().defaultSectionSize() * 7)
    transfer = last_one_failed(qtbot, window, scripted, tmp_path, 8,
                               "The registry went away. " * 6)
    table = panel.table
    row = window.copying.manager.row_of(transfer)
    shown = table.viewport().rect()
    assert shown.height() < table.verticalHeader().length()  # not every row fits
    assert shown.contains(table.visualRect(panel.sorted.mapFromSource(panel.model.index(row, 0))))


def test_a_push_stopped_while_writing_its_manifest_says_the_tag_may_be_written(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every blob is in the registry and the manifest's PUT has gone out; its answer has
    not come. The registry may have stored it, tag and all: neither the question before
    quitting nor the row of the copy cancelled may say the tag is as it was."""
    asked: list[str] = []
    monkeypatch.setattr(window, "ask_to_stop_copies", lambda sentence: asked.append(sentence))
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path,
                              destination="docker://registry.example/mirror/app:2.0")
    config, layer = blob("config", 1126, media.OCI_CONFIG), blob("layer", 26 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, layer)),
         BlobStarted(config.digest, config.size, config.media_type),
         BlobDone(config.digest, config, False),
         BlobStarted(layer.digest, layer.size, layer.media_type),
         BlobProgress(layer.digest, 26 * MiB, layer.size))
    assert row_texts(window, transfer)["state"] == "Finishing…"
    window.quit_action.trigger()  # the last blob not taken in yet: the tag is as it was
    assert "the tag is as it was" in asked[-1]
    feed(qtbot, window, scripted, BlobDone(layer.digest, layer, False),
         ManifestWritten(Digest.of(b"image"), media.OCI_MANIFEST))
    window.quit_action.trigger()  # stored by digest only: the tag is as it was still
    assert "the tag is as it was" in asked[-1]
    feed(qtbot, window, scripted, Naming(Digest.of(b"image")))  # the tag's PUT went out
    window.quit_action.trigger()
    assert asked[-1] == (
        "1 copy is not finished: the image's tag is being written. Quitting stops it, "
        "but the registry may write the image, and its tag, all the same.")
    assert window.isVisible()
    script_events = scripted.events
    assert script_events is not None
    script_events(CopyCancelled())
    window.copying.manager.cancel(transfer)
    qtbot.waitUntil(lambda: transfer.state is TransferState.CANCELLED, timeout=WAIT_MS)
    texts = row_texts(window, transfer)
    assert (texts["state"], texts["progress"]) == ("Cancelled", "may be written")
    tip = tooltip(window, transfer)
    assert "The copy was cancelled while the image's tag was being written: the " \
        "registry may have written the image, and its tag, all the same" in tip, tip
    assert "as it was" not in tip and "not written" not in tip
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    assert "may have written the image" in details.heading.text()
    assert "as it was" not in details.heading.text()
    details.close()


@pytest.mark.parametrize("fault", ["refused", "lost"])
def test_a_tag_the_registry_refused_to_write_is_as_it_was(
        qtbot: QtBot, make_window: Callable[..., MainWindow], registry_binary: str,
        tmp_path: Path, fault: str) -> None:
    """The registry answered the tag's PUT with a 403: the row said "may be written" and
    the tooltip "it may have stored the manifest before its answer came", where the
    answer came and said no. A PUT whose answer was lost may have been written still."""
    from tests.helpers.faultproxy import Fault, FaultProxy
    from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder
    from tests.helpers.registry import RegistryServer

    builder = LayoutBuilder(tmp_path / "layout")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/f": fault.encode()})])),
                "latest")
    # (a registry of its own: the shared demo registry's repositories are counted
    # elsewhere, and this writes outcomes/FAULT into it)
    with RegistryServer(binary=registry_binary) as server, FaultProxy(server.host) as proxy:
        proxy.add(Fault("PUT", r"/manifests/1$", "status", status=403) if fault == "refused"
                  else Fault("PUT", r"/manifests/1$", "reset", count=10))
        window = make_window(Settings(first_run_done=True,
                                      registries=[RegistrySettings(proxy.address,
                                                                   insecure=True)]))
        transfer = window.copying.start(CopyRequest(
            f"oci:{builder.root}:latest", f"docker://{proxy.address}/outcomes/{fault}:1",
            CopyOptions(retry_times=0), label=fault))
        qtbot.waitUntil(lambda: transfer.state.finished, timeout=WAIT_MS)
    assert transfer.state is TransferState.FAILED
    progress, tip = row_texts(window, transfer)["progress"], tooltip(window, transfer)
    if fault == "refused":
        assert progress == "not written", progress
        assert "the image was not written (the tag is as it was)" in tip, tip
        assert "may have" not in tip
    else:
        assert progress == "may be written", progress


def test_quitting_two_pushes_writing_their_tags_says_so(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The question before quitting said two pushes past Naming were "writing the image's
    manifest", where the one-copy question says its tag is being written."""
    asked: list[str] = []
    monkeypatch.setattr(window, "ask_to_stop_copies", lambda sentence: asked.append(sentence))
    config, layer = blob("config", 1126, media.OCI_CONFIG), blob("layer", MiB)
    for number in (1, 2):
        scripted.events = None
        start_scripted(qtbot, window, scripted, FakeClock(), tmp_path,
                       destination=f"docker://registry.example/mirror/app{number}:2.0")
        feed(qtbot, window, scripted, Planned(plan_of(config, layer)),
             BlobDone(config.digest, config, False), BlobDone(layer.digest, layer, False),
             Naming(Digest.of(b"image")))
    window.quit_action.trigger()
    assert asked[-1] == (
        "2 copies are not finished. Quitting stops them, but 2 of them are writing their "
        "images' tags, which the registries may write all the same. Other tags are as they "
        "were, and each registry keeps the blobs already sent whole, unused, and may keep "
        "what it had received of one cut off until it purges unfinished uploads.")


def test_a_push_stopped_in_what_goes_along_before_its_tag_says_the_tag_is_as_it_was(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """A copy with a signature writes the image's manifest by digest, then the
    signature, and the tag last: cut off in the signature's blobs, the tag is as it was
    (it said the tag "may be written")."""
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path,
                              destination="docker://registry.example/mirror/app:2.0")
    config, layer = blob("config", 1126, media.OCI_CONFIG), blob("layer", 6 * MiB)
    late = blob("signature layer", 4 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, layer, late)),
         BlobDone(config.digest, config, False), BlobDone(layer.digest, layer, False),
         ManifestWritten(Digest.of(b"manifest"), media.OCI_MANIFEST),
         BlobStarted(late.digest, late.size, late.media_type),
         BlobProgress(late.digest, MiB, late.size),
         Failed("The registry went away."))
    finish(qtbot, window, scripted, SpyglassError("The registry went away."))
    assert row_texts(window, transfer)["progress"] != "may be written"
    assert "may have written the image" not in tooltip(window, transfer)
