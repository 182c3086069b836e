"""Copies the test drives: the window's real :class:`TransferManager` with the copy job
replaced by a script (:class:`ScriptedCopy`, the ``scripted`` fixture of conftest.py):
the test hands the manager's own event callback the engine's events, so the Tally, the
coalescing and the model are the app's, while the Tally's clock is the test's."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from spyglass.core import media
from spyglass.core.copy import (
    BlobTask,
    CopyEvent,
    CopyOptions,
    CopyPlan,
    Failed,
    InstancePlan,
    Planned,
)
from spyglass.core.digest import Digest
from spyglass.core.errors import SpyglassError
from spyglass.core.manifest import Descriptor, ImageManifest
from spyglass.gui.copy_jobs import CopyRequest
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.transfers import BYTES, ETA, PROGRESS, SPEED, STATE
from spyglass.gui.transfers import Transfer, TransferState
from tests.gui.guitools import WAIT_MS

MiB = 1024 * 1024


# -- a copy job the test drives


class FakeClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ScriptedCopy:
    """Stands in for ``run_copy`` on the transfer's worker thread.

    It hands the manager's event callback (the one that feeds the transfer's
    Tally and wakes the GUI thread) to the test, then waits until the test says
    how the copy ends: with a descriptor (done) or an exception (failed). The
    test calls the callback on the GUI thread, so that each step's events are
    all in the Tally before the manager takes its one snapshot of them.
    """

    def __init__(self) -> None:
        self.events: Callable[[CopyEvent], None] | None = None
        self._ending: queue.Queue[Descriptor | BaseException] = queue.Queue()
        self._endings: dict[str, queue.Queue[Descriptor | BaseException]] = {}
        self._lock = threading.Lock()

    def _own(self, destination: str) -> queue.Queue[Descriptor | BaseException]:
        with self._lock:
            return self._endings.setdefault(destination, queue.Queue())

    def __call__(self, _openers: object, request: CopyRequest, _prepared: object,
                 events: Callable[[CopyEvent], None], cancel: Any) -> Descriptor:
        self.events = events
        own = self._own(request.destination)
        while True:
            try:
                ending = own.get_nowait()
            except queue.Empty:
                try:
                    ending = self._ending.get(timeout=0.05)
                except queue.Empty:
                    cancel.check()  # the window closing cancels the transfer
                    continue
            if isinstance(ending, BaseException):
                raise ending
            return ending

    def finish(self, result: Descriptor | BaseException, destination: str = "") -> None:
        """End a copy running now (whichever takes it), or the copy to ``destination``."""
        (self._own(destination) if destination else self._ending).put(result)


SOURCE = "docker://registry.example/team/app:2.0"
"""The scripted copies' source: never opened (the script stands in for the copy)."""


def start_scripted(qtbot: QtBot, window: MainWindow, script: ScriptedCopy,
                   clock: FakeClock, folder: Path, *, destination: str = "") -> Transfer:
    """Start a scripted copy of :data:`SOURCE` (to ``oci:FOLDER/mirror:app:2.0`` unless
    ``destination`` says otherwise); return once the script has the event callback."""
    transfer = window.copying.start(CopyRequest(
        SOURCE, destination or f"oci:{folder / 'mirror'}:app:2.0", CopyOptions(),
        label="team/app:2.0"))
    transfer.tally.clock = clock  # before any event: every snapshot is on the test's clock
    qtbot.waitUntil(lambda: script.events is not None, timeout=WAIT_MS)
    return transfer


def feed(qtbot: QtBot, window: MainWindow, script: ScriptedCopy,
         *events: CopyEvent) -> None:
    """Hand ``events`` to the manager's callback at once; wait for the one update they cause."""
    assert script.events is not None
    with qtbot.waitSignal(window.copying.manager.changed, timeout=WAIT_MS):
        for event in events:
            script.events(event)


def finish(qtbot: QtBot, window: MainWindow, script: ScriptedCopy,
           ending: Descriptor | BaseException, destination: str = "") -> None:
    """End the scripted copy (the one to ``destination``, when several run) and wait
    until the panel says so: until it has ended (the manager tells the panel as it sets
    the state). Any ``changed`` would not do: the manager's idle refresh sends one for a
    copy still running."""
    running = [t for t in window.copying.manager.transfers
               if t.state in (TransferState.PLANNING, TransferState.COPYING)
               and (not destination or t.request.destination == destination)]
    assert running, f"no copy running{' to ' + destination if destination else ''} to end"
    script.finish(ending, destination)
    qtbot.waitUntil(lambda: any(t.state.finished for t in running), timeout=WAIT_MS)


TOP = Descriptor(media.OCI_MANIFEST, Digest.of(b"manifest"), 2)
"""What the scripted copies write, when they are told to succeed."""


def last_one_failed(qtbot: QtBot, window: MainWindow, script: ScriptedCopy, folder: Path,
                    count: int, sentence: str) -> Transfer:
    """``count`` scripted copies, each of a config and a 1 MiB layer: all but the last
    done, the last failed with ``sentence`` and selected, its sentence shown."""
    transfer: Transfer | None = None
    for number in range(count):
        script.events = None
        transfer = start_scripted(qtbot, window, script, FakeClock(), folder / str(number))
        feed(qtbot, window, script, Planned(plan_of(blob("c", 10, media.OCI_CONFIG),
                                                    blob(f"layer {number}", MiB))))
        if number < count - 1:
            finish(qtbot, window, script, TOP)
            qtbot.waitUntil(lambda t=transfer: t.state is TransferState.DONE, timeout=WAIT_MS)
    assert transfer is not None
    feed(qtbot, window, script, Failed(sentence))
    finish(qtbot, window, script, SpyglassError(sentence))
    qtbot.waitUntil(lambda: transfer.state is TransferState.FAILED, timeout=WAIT_MS)
    panel = window.copying.panel
    panel.select(transfer)
    qtbot.waitUntil(panel.failure.isVisible, timeout=WAIT_MS)
    return transfer


def blob(name: str, size: int, media_type: str = media.OCI_LAYER_GZIP) -> Descriptor:
    return Descriptor(media_type, Digest.of(name.encode()), size)


def plan_of(config: Descriptor, *layers: Descriptor,
            recompress: tuple[Descriptor, ...] = ()) -> CopyPlan:
    """A real plan of one image (what ``Planned`` carries); ``recompress`` go to zstd."""
    squeezed = {layer.digest for layer in recompress}
    manifest = ImageManifest(media.OCI_MANIFEST, config, tuple(layers),
                             Digest.of(b"manifest"), b"{}")
    tasks = tuple(
        BlobTask(layer, media.OCI_LAYER_ZSTD, "zstd") if layer.digest in squeezed
        else BlobTask(layer, layer.media_type)
        for layer in layers)
    instance = InstancePlan(manifest, None, media.OCI_MANIFEST,
                            BlobTask(config, config.media_type), tasks)
    return CopyPlan(SOURCE, "oci:/tmp/mirror:app:2.0", manifest, (instance,), None, False)


def written(descriptor: Descriptor) -> Descriptor:
    return Descriptor(media.OCI_LAYER_ZSTD, Digest.of(b"zstd " + str(descriptor.digest).encode()),
                      descriptor.size // 2)


def row_texts(window: MainWindow, transfer: Transfer) -> dict[str, str]:
    model = window.copying.panel.model
    row = window.copying.manager.row_of(transfer)
    return {name: model.data(model.index(row, column))
            for name, column in (("state", STATE), ("progress", PROGRESS), ("bytes", BYTES),
                                 ("speed", SPEED), ("eta", ETA))}
