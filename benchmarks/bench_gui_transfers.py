"""Does the window stay responsive with many transfers in its list, and with several big
copies at once? A timer probe says.

The real main window (offscreen Qt), as ``bench_gui_copy.py`` measures it, with a 5 ms
``QTimer`` recording how late each tick comes (the longest gap beyond the interval is the
longest the event loop stalled). Target: never more than 50 ms.

- 200 copies of a 1 KB image into 10 layouts, asked for at once (4 run, the rest wait);
- one 24 MiB copy beside those 200 finished rows;
- what one change of one row costs the GUI thread with 201 rows listed (a progress
  update, timed around the manager's ``changed`` signal, with the panel shown);
- sorting the 201 rows by each column (a header click each);
- four copies at once of a 128 MiB image of 8 uncompressed layers into four new layouts
  (which gzip them): many blob threads busy across the copies.

Run ``.venv/bin/python benchmarks/bench_gui_transfers.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_gui_copy import PROBE_MS, TARGET_MS, _Probe
from common import CACHE_DIR, Row, gui_sandbox, print_table

from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

MIB = 1 << 20


def _sources(root: Path) -> Path:
    """A layout with ``tiny`` (one 1 KB layer), ``mid`` (24 MiB, two uncompressed layers)
    and ``big`` (8 uncompressed layers of 16 MiB), built once."""
    marker = root / "complete"
    if marker.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    builder = LayoutBuilder(root)
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"x" * 1000})])), "tiny")
    builder.tag(builder.add_image(ImageSpec(layers=[
        LayerSpec({f"/m/{k}": os.urandom(12 * MIB)}, compression="none") for k in range(2)])),
        "mid")
    builder.tag(builder.add_image(ImageSpec(layers=[
        LayerSpec({f"/b/{k}": os.urandom(16 * MIB)}, compression="none") for k in range(8)])),
        "big")
    marker.write_text("")
    return root


def _wait(transfers: list[Any]) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    waiter = QTimer()
    waiter.setInterval(20)
    waiter.timeout.connect(lambda: loop.quit() if all(t.state.finished for t in transfers)
                           else None)
    waiter.start()
    loop.exec()
    waiter.stop()
    failed = [t.error for t in transfers if t.error]
    if failed:
        raise RuntimeError(f"{len(failed)} copies failed: {failed[0]}")


def _stall_row(what: str, gaps: list[float], note: str = "") -> Row:
    worst = max(gaps) if gaps else 0.0
    ordered = sorted(gaps)
    p99 = ordered[int(len(ordered) * 0.99)] if ordered else 0.0
    over = sum(1 for gap in gaps if gap > TARGET_MS)
    verdict = "ok" if worst <= TARGET_MS else "MISSED"
    return Row(f"{what}: longest stall", worst / 1000, 1, worst / 1000,
               note=f"{note}p99 {p99:.0f} ms, {len(gaps)} ticks, {over} over "
                    f"{TARGET_MS:.0f} ms (target ≤ {TARGET_MS:.0f} ms): {verdict}")


def _one_round(source: Path, number: int) -> list[Row]:
    from PySide6.QtCore import Qt

    from spyglass.core.copy import CopyOptions
    from spyglass.core.settings import Settings
    from spyglass.gui.app import settle
    from spyglass.gui.copy_jobs import CopyRequest, window_parallel
    from spyglass.gui.main_window import MainWindow

    sandbox = Path(tempfile.mkdtemp(prefix="gui-transfers-", dir=CACHE_DIR))
    window = MainWindow(Settings(first_run_done=True), settings_file=sandbox / "settings.json")
    window.resize(1200, 800)
    window.show()
    settle()
    rows: list[Row] = []
    label = f"round {number}"

    def start(name: str, destination: str) -> Any:
        options = CopyOptions(parallel=window_parallel())
        return window.copying.start(CopyRequest(f"oci:{source}:{name}", destination, options))

    try:
        began = time.perf_counter()
        transfers = [start("tiny", f"oci:{sandbox}/d{i % 10}:t{i}") for i in range(200)]
        asked = time.perf_counter() - began
        rows.append(Row(f"asking for 200 copies in one go, {label} (per copy)", asked / 200,
                        200, note=f"{asked * 1000:.0f} ms for all 200 (a stall of that "
                                  "length: asked in one turn of the event loop)"))
        probe = _Probe()
        _wait(transfers)
        probe.stop()
        rows.append(_stall_row(f"200 tiny copies running, {label}", probe.gaps,
                               f"took {time.perf_counter() - began:.1f} s, "))

        probe = _Probe()
        _wait([start("mid", f"oci:{sandbox}/late:mid")])
        probe.stop()
        rows.append(_stall_row(f"24 MiB copy beside 200 rows, {label}", probe.gaps))

        manager = window.copying.manager
        costs = []
        for row in range(0, len(manager.transfers), 10):
            began = time.perf_counter()
            manager.changed.emit(row)
            window.copying.panel.table.viewport().repaint()
            costs.append(time.perf_counter() - began)
        rows.append(Row(f"one row changed among 201, {label} (median, worst)",
                        statistics.median(costs), len(costs), max(costs),
                        note="the panel's handling and a repaint"))

        header = window.copying.panel.table.horizontalHeader()
        began = time.perf_counter()
        for column in range(header.count()):
            header.setSortIndicator(column, Qt.SortOrder.AscendingOrder)
        per_click = (time.perf_counter() - began) / header.count()
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        rows.append(Row(f"sorting 201 rows, {label} (per column)", per_click, header.count(),
                        per_click))

        manager.remove_finished()
        probe = _Probe()
        began = time.perf_counter()
        big = [start("big", f"oci:{sandbox}/big{i}:big") for i in range(4)]
        _wait(big)
        probe.stop()
        rows.append(_stall_row(f"4 x 128 MiB copies at once, {label}", probe.gaps,
                               f"took {time.perf_counter() - began:.1f} s, "))
    finally:
        window.copying.manager.shutdown()
        window.close()
        shutil.rmtree(sandbox, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    # run_all.py passes every script the same arguments: those for others are ignored
    args, _others = parser.parse_known_args(argv)
    gui_sandbox()
    from spyglass.gui.app import create_application

    source = _sources(CACHE_DIR / "transfers-sources")
    app = create_application([sys.argv[0]])
    rows: list[Row] = []
    for number in range(1, args.rounds + 1):
        rows += _one_round(source, number)
    app.processEvents()
    print_table(f"The window's event loop with many transfers ({PROBE_MS} ms timer probe)", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
