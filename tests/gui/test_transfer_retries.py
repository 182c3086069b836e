"""A copy that waits or starts a blob again, as its row shows it: the State cell says it
is retrying (and why, in the tooltip), and Speed and ETA come only from bytes that moved
since, never from the quiet time or from a window in which a blob's bytes fell back. A
copy whose connection broke off for good says why first, in plain words.

The copies are scripted (:class:`ScriptedCopy`): the manager, the Tally and the model are
the app's, the clock is the test's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from spyglass.core import media
from spyglass.core.copy import (
    BlobDone,
    BlobProgress,
    BlobRetried,
    BlobSkipped,
    BlobStarted,
    BlobWaiting,
    BlobWaitingForCopy,
    Planned,
)
from spyglass.gui.formatting import short_digest
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.transfers import ETA, SPEED, STATE
from spyglass.gui.transfers import Transfer
from tests.gui.guitools import WAIT_MS
from tests.gui.scripted import (
    FakeClock,
    MiB,
    ScriptedCopy,
    blob,
    feed,
    last_one_failed,
    plan_of,
    row_texts,
    start_scripted,
)

pytestmark = pytest.mark.gui

RESET = ("Reading the blob sha256:eb2a of 127.0.0.1:25201/img broke off: connection reset "
         "by peer.")


def tooltip(window: MainWindow, transfer: Transfer) -> str:
    model = window.copying.panel.model
    row = window.copying.manager.row_of(transfer)
    text = model.data(model.index(row, STATE), Qt.ItemDataRole.ToolTipRole)
    assert isinstance(text, str)
    return text


def test_a_blob_started_again_says_retrying_until_its_bytes_come_again(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    clock = FakeClock(100.0)
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    small, big = blob("small", 11 * MiB), blob("big", 20 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(blob("c", 1024, media.OCI_CONFIG),
                                                  small, big)),
         BlobStarted(small.digest, small.size, small.media_type),
         BlobStarted(big.digest, big.size, big.media_type))
    for second in range(1, 4):  # 7 MiB a second
        clock.now = 100.0 + second
        feed(qtbot, window, scripted,
             BlobProgress(small.digest, min(small.size, second * 3 * MiB), small.size),
             BlobProgress(big.digest, second * 4 * MiB, big.size))
    assert row_texts(window, transfer)["state"] == "Copying"
    # the big blob broke off at 12 MiB, and the registry does not resume: from its first byte
    clock.now = 103.25
    feed(qtbot, window, scripted, BlobRetried(big.digest, 2, 4, RESET))
    texts = row_texts(window, transfer)
    assert texts == {"state": "Retrying · attempt 2 of 4", "progress": "29 %",
                     "bytes": "9.0 MiB / 31.0 MiB", "speed": "", "eta": ""}
    tip = tooltip(window, transfer)
    assert "Retrying · attempt 2 of 4" in tip
    assert f"(attempt 2 of 4) because r{RESET[1:]}" in tip
    assert "progress fell back" in tip
    # the new attempt has begun, but no byte of it has come: still retrying, for how long
    clock.now = 104.0
    feed(qtbot, window, scripted, BlobStarted(big.digest, big.size, big.media_type))
    assert row_texts(window, transfer)["state"] == "Retrying · attempt 2 of 4"
    clock.now = 123.25
    feed(qtbot, window, scripted, BlobProgress(big.digest, 0, big.size))
    assert row_texts(window, transfer)["state"] == "Retrying · attempt 2 of 4 · 20 s"
    assert "not answering" in tooltip(window, transfer)  # as "Stalled" said it
    # bytes again: copying, and the speed is measured from here, not over the fall
    clock.now = 124.25
    feed(qtbot, window, scripted, BlobProgress(big.digest, 1 * MiB, big.size))
    texts = row_texts(window, transfer)
    assert (texts["state"], texts["speed"], texts["eta"]) == ("Copying", "", "")
    assert "starts again" not in tooltip(window, transfer)
    clock.now = 125.25
    feed(qtbot, window, scripted, BlobProgress(big.digest, 5 * MiB, big.size))
    texts = row_texts(window, transfer)
    # a new connection's first second (its buffers filling) predicts no time left
    assert (texts["speed"], texts["eta"]) == ("4.0 MiB/s", "")
    # the Details say it as they did
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    assert details.outcomes()[str(big.digest)] == "copying (25 %), after 1 retry"
    details.close()
    for now in (126.25, 127.25, 127.75):  # 4 MiB a second: now the time left is told
        clock.now = now
        feed(qtbot, window, scripted,
             BlobProgress(big.digest, int((1 + 4 * (now - 124.25)) * MiB), big.size))
    texts = row_texts(window, transfer)
    assert (texts["speed"], texts["eta"]) == ("4.0 MiB/s", "2 s")  # 2 + 5 MiB left


def test_the_details_count_the_tries_a_resume_took_as_the_row_does(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """The read broke off, its resume (attempt 2, said only in the log) was refused: the
    engine's next start is attempt 3, and the Details must not say "retry 1" beside it,
    nor "copying (0 %)" while the row says it retries."""
    clock = FakeClock(50.0)
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    big = blob("big", 20 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(blob("c", 1024, media.OCI_CONFIG), big)),
         BlobStarted(big.digest, big.size, big.media_type),
         BlobProgress(big.digest, 12 * MiB, big.size))
    details = window.copying.panel.show_details(transfer)
    assert details is not None
    clock.now = 51.0
    feed(qtbot, window, scripted, BlobRetried(big.digest, 3, 4, RESET),
         BlobStarted(big.digest, big.size, big.media_type))  # the new GET, no byte yet
    assert row_texts(window, transfer)["state"] == "Retrying · attempt 3 of 4"
    assert details.outcomes()[str(big.digest)] == "starting again (attempt 3 of 4)"
    clock.now = 52.0
    feed(qtbot, window, scripted, BlobProgress(big.digest, 20 * MiB, big.size),
         BlobDone(big.digest, big, False))
    assert details.outcomes()[str(big.digest)] == "copied, after 2 retries"
    details.close()


def test_the_retry_tooltip_names_the_blob_once_short_and_reads_as_one_sentence(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """It said "…(attempt 3 of 4), after: Reading the blob sha256:<64 hex> of …"."""
    transfer = start_scripted(qtbot, window, scripted, FakeClock(), tmp_path)
    big = blob("big", 20 * MiB)
    reason = (f"Reading the blob {big.digest} of 127.0.0.1:25221/img broke off: connection "
              "reset by peer; resuming it at byte 12582912 was refused.")
    feed(qtbot, window, scripted, Planned(plan_of(blob("c", 1024, media.OCI_CONFIG), big)),
         BlobStarted(big.digest, big.size, big.media_type),
         BlobRetried(big.digest, 3, 4, reason))
    tip = tooltip(window, transfer)
    short = short_digest(big.digest)
    assert (f"The blob {short} starts again from its first byte (attempt 3 of 4) because "
            f"reading the blob {short} of 127.0.0.1:25221/img broke off: connection reset by "
            "peer; resuming it at byte 12582912 was refused.") in tip, tip
    assert str(big.digest) not in tip and "after:" not in tip


def test_no_speed_or_eta_from_a_window_that_holds_a_quiet_time(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """A registry that asked to wait 30 s, then sent the rest: the first bytes after the
    wait made "52.6 KiB/s, 7 min 25 s" of a copy about to end."""
    clock = FakeClock(10.0)
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    layer = blob("layer", 31 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(blob("c", 1024, media.OCI_CONFIG), layer)),
         BlobStarted(layer.digest, layer.size, layer.media_type))
    clock.now = 11.0
    feed(qtbot, window, scripted, BlobProgress(layer.digest, 8 * MiB, layer.size))
    assert row_texts(window, transfer)["speed"] == "8.0 MiB/s"
    for second in range(12, 41, 4):  # the wait: the idle refresh finds nothing moved
        clock.now = float(second)
        feed(qtbot, window, scripted, BlobProgress(layer.digest, 8 * MiB, layer.size))
    assert (row_texts(window, transfer)["speed"], row_texts(window, transfer)["eta"]) == ("", "")
    clock.now = 41.25  # bytes again: a few of them, in the last instant
    feed(qtbot, window, scripted, BlobProgress(layer.digest, 8 * MiB + 160 * 1024, layer.size))
    texts = row_texts(window, transfer)
    assert (texts["speed"], texts["eta"]) == ("", "")
    clock.now = 42.25
    feed(qtbot, window, scripted, BlobProgress(layer.digest, 18 * MiB + 160 * 1024, layer.size))
    texts = row_texts(window, transfer)
    assert (texts["speed"], texts["eta"]) == ("10.0 MiB/s", "")  # (its first second)
    for now in (43.25, 44.5):  # 2 MiB a second from here: the time left is told
        clock.now = now
        feed(qtbot, window, scripted, BlobProgress(
            layer.digest, int((18 + 2 * (now - 42.25)) * MiB) + 160 * 1024, layer.size))
    texts = row_texts(window, transfer)
    assert (texts["speed"], texts["eta"]) == ("2.0 MiB/s", "4 s")  # 8.3 MiB left


def test_a_few_hundred_bytes_make_no_speed_and_no_eta(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """A push whose config went out while its layers waited on 503s: "322 B/s, 23 h 29 min"."""
    clock = FakeClock(10.0)
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    config, layer = blob("c", 493, media.OCI_CONFIG), blob("layer", 26 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, layer)),
         BlobStarted(config.digest, config.size, config.media_type))
    clock.now = 10.1
    feed(qtbot, window, scripted, BlobDone(config.digest, config, False))
    clock.now = 11.5
    feed(qtbot, window, scripted, BlobStarted(layer.digest, layer.size, layer.media_type))
    texts = row_texts(window, transfer)
    assert (texts["bytes"], texts["speed"], texts["eta"]) == ("493 B / 26.0 MiB", "", "")


BLOB = "sha256:9add5b3355c9f5e416886de795e5c56acecaf379177cf13c898c1de0f1cbd3a2"


@pytest.mark.parametrize(("sentence", "cell"), [
    (f"Reading the blob {BLOB} of 127.0.0.1:25201/img broke off: Connection reset by peer "
     "(tried 4 times).",
     "Failed · broke off: connection reset by peer (tried 4 times)."),
    (f"Reading the blob {BLOB} of 127.0.0.1:25206/img broke off: peer closed connection "
     "without sending complete message body (received 1163264 bytes, expected 7132704) "
     "(tried 4 times).",
     "Failed · broke off: the connection was closed before the whole answer came "
     "(tried 4 times)."),
])
def test_a_connection_that_broke_off_shows_its_cause_first(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path,
        sentence: str, cell: str) -> None:
    transfer = last_one_failed(qtbot, window, scripted, tmp_path, 1, sentence)
    assert row_texts(window, transfer)["state"] == cell
    assert sentence in tooltip(window, transfer)  # whole, as the engine said it
    assert window.copying.panel.failure.isVisible()


def test_a_wait_the_registry_asked_for_is_said_as_one_not_as_a_stall(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """A 429 with Retry-After: 120 inside a blob's request: the row said "Stalled · 19 s"
    and the tooltip that the registry was not answering, where it had answered at once."""
    clock = FakeClock(100.0)
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    big = blob("big", 20 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(blob("c", 1024, media.OCI_CONFIG), big)),
         BlobStarted(big.digest, big.size, big.media_type),
         BlobWaiting(big.digest, "the registry 127.0.0.1:25201", 120.0, 60.0))
    assert row_texts(window, transfer)["state"] == "Waiting, as asked · 1 min 00 s left"
    clock.now = 120.0  # the panel's refresh: what is left of the wait, counting down
    feed(qtbot, window, scripted, BlobProgress(big.digest, 0, big.size))
    assert row_texts(window, transfer)["state"] == "Waiting, as asked · 40 s left"
    clock.now = 135.0  # no event: the idle refresh counts down
    qtbot.waitUntil(lambda: row_texts(window, transfer)["state"]
                    == "Waiting, as asked · 25 s left", timeout=WAIT_MS)
    assert ("waits: the registry 127.0.0.1:25201 asked to wait 120 s; asking again in "
            "25 s.\nThe copy goes on by itself after the wait") in tooltip(window, transfer)
    clock.now = 160.5  # the wait is over; the request went out again
    feed(qtbot, window, scripted, BlobProgress(big.digest, 0, big.size))
    assert row_texts(window, transfer)["state"] == "Waiting, as asked · asking again"
    tip = tooltip(window, transfer)
    assert ("waits: the registry 127.0.0.1:25201 asked to wait 120 s; asked again just "
            "now.\nThe copy goes on by itself as soon as the registry answers") in tip
    assert "not answering" not in tip
    clock.now = 170.0  # (it said "asking again in 60 s" after the wait too)
    feed(qtbot, window, scripted, BlobProgress(big.digest, 0, big.size))
    assert "asked to wait 120 s; asked again 10 s ago." in tooltip(window, transfer)
    clock.now = 176.0  # asked again 16 s ago, nothing came: the wait is no part of the stall
    feed(qtbot, window, scripted, BlobProgress(big.digest, 0, big.size))
    assert row_texts(window, transfer)["state"] == "Stalled · 16 s"
    # its bytes come: copying again
    clock.now = 161.0
    feed(qtbot, window, scripted, BlobProgress(big.digest, 2 * MiB, big.size))
    assert row_texts(window, transfer)["state"] == "Copying"
    assert "waits:" not in tooltip(window, transfer)


def test_a_blob_waiting_for_another_copy_s_upload_is_said_as_a_wait_not_a_stall(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """Copies of images sharing a layer into one registry: the one waiting for the other's
    upload of it, to mount it after, said nothing, and its row said "Stalled · 16 s" and
    advised cancelling a copy that would have ended with nothing to send."""
    clock = FakeClock(100.0)
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    config, shared = blob("c", 1024, media.OCI_CONFIG), blob("shared", 20 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(config, shared)),
         BlobSkipped(config.digest, config.size, "exists"),
         BlobWaitingForCopy(shared.digest, "127.0.0.1:25201"))
    waiting = "Waiting · another copy is sending 1 layer to 127.0.0.1:25201"
    assert row_texts(window, transfer)["state"] == waiting
    clock.now = 160.0  # a minute on, not a byte of this copy's moved
    feed(qtbot, window, scripted, BlobProgress(shared.digest, 0, shared.size))
    assert row_texts(window, transfer)["state"] == waiting
    tip = tooltip(window, transfer)
    assert (f"The blob {short_digest(shared.digest)} waits for another copy that is "
            "sending it to 127.0.0.1:25201.\nOnce that copy has sent it, this one mounts "
            "it from there") in tip
    assert "Stalled" not in tip and "not answering" not in tip
    # the other copy is done: a stall counts from the end of the wait, not from its start
    feed(qtbot, window, scripted, BlobWaitingForCopy(shared.digest, None))
    clock.now = 170.0
    feed(qtbot, window, scripted, BlobProgress(shared.digest, 0, shared.size))
    assert row_texts(window, transfer)["state"] == "Copying"
    clock.now = 186.0
    feed(qtbot, window, scripted, BlobProgress(shared.digest, 0, shared.size))
    assert row_texts(window, transfer)["state"] == "Stalled · 26 s"


def test_at_900_px_the_state_of_a_copy_retrying_is_whole_and_no_column_moves(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """"Retrying · attempt 3 of 4 · 16 s" was cut to "Retrying · atte…"; then the empty
    Speed and ETA columns gave it their room, and took it back: the row moved sideways.
    The State column is made for it, and no column moves."""
    window.resize(900, 760)
    panel = window.copying.panel
    table, header = panel.table, panel.table.horizontalHeader()
    qtbot.waitUntil(lambda: abs(window.width() - 900) < 5, timeout=WAIT_MS)
    clock = FakeClock(10.0)
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path,
                              destination="docker://127.0.0.1:25222/img:v1")
    big = blob("big", 20 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(blob("c", 1024, media.OCI_CONFIG), big)),
         BlobStarted(big.digest, big.size, big.media_type),
         BlobProgress(big.digest, 4 * MiB, big.size))
    clock.now = 11.0
    feed(qtbot, window, scripted, BlobProgress(big.digest, 8 * MiB, big.size))
    clock.now = 12.0
    feed(qtbot, window, scripted, BlobProgress(big.digest, 12 * MiB, big.size))
    assert row_texts(window, transfer)["speed"]  # moving: Speed keeps its room
    usual = {column: header.sectionSize(column) for column in (STATE, SPEED, ETA)}
    assert usual[SPEED] > table.fontMetrics().horizontalAdvance("888.8 MiB/s")
    feed(qtbot, window, scripted, BlobRetried(big.digest, 3, 4, RESET))
    clock.now = 28.0
    feed(qtbot, window, scripted, BlobProgress(big.digest, 0, big.size))
    texts = row_texts(window, transfer)
    assert texts["state"] == "Retrying · attempt 3 of 4 · 16 s"
    assert (texts["speed"], texts["eta"]) == ("", "")
    whole = table.fontMetrics().horizontalAdvance(texts["state"])
    assert header.sectionSize(STATE) >= whole + 12
    qtbot.wait(50)  # (anything queued runs)
    assert {column: header.sectionSize(column) for column in usual} == usual
    # bytes again: Speed and ETA have their room back
    clock.now = 29.0
    feed(qtbot, window, scripted, BlobProgress(big.digest, 4 * MiB, big.size))
    clock.now = 30.0
    feed(qtbot, window, scripted, BlobProgress(big.digest, 8 * MiB, big.size))
    assert row_texts(window, transfer)["speed"]
    qtbot.wait(50)
    assert {column: header.sectionSize(column) for column in usual} == usual


def test_a_request_asked_again_after_the_wait_that_hangs_or_fails_is_said_as_such(
        qtbot: QtBot, window: MainWindow, scripted: ScriptedCopy, tmp_path: Path) -> None:
    """The row said "Waiting, as asked · asking again" for ever once the wait was over:
    a request asked again that hung never became "Stalled", and one that failed and was
    tried again never "Retrying"."""
    clock = FakeClock(100.0)
    transfer = start_scripted(qtbot, window, scripted, clock, tmp_path)
    big = blob("big", 20 * MiB)
    feed(qtbot, window, scripted, Planned(plan_of(blob("c", 1024, media.OCI_CONFIG), big)),
         BlobStarted(big.digest, big.size, big.media_type),
         BlobWaiting(big.digest, "the registry 127.0.0.1:25201", 5.0, 5.0))
    clock.now = 106.0
    feed(qtbot, window, scripted, BlobProgress(big.digest, 0, big.size))
    assert row_texts(window, transfer)["state"] == "Waiting, as asked · asking again"
    clock.now = 121.0  # asked again 16 s ago, and nothing came
    feed(qtbot, window, scripted, BlobProgress(big.digest, 0, big.size))
    assert row_texts(window, transfer)["state"] == "Stalled · 16 s"
    feed(qtbot, window, scripted, BlobWaiting(big.digest, "the registry 127.0.0.1:25201",
                                              5.0, 5.0),
         BlobRetried(big.digest, 2, 4, RESET))
    assert row_texts(window, transfer)["state"].startswith("Retrying · attempt 2 of 4")
