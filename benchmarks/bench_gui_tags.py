"""Does the window list a repository's tags as fast as the command line when the registry
serves them in small pages, and stay responsive meanwhile? A timer probe says.

A local distribution 2.8 holds ``big/tags``: 5,447 tags of one tiny image whose
lexical order (a registry's) is far from their natural order (the window's):
``1.0.0`` … ``3.19.39``, ``v1`` … ``v999``, ``build-1`` … ``build-1999``,
``V1-RC`` … ``V49-RC``. distribution 2.8 ignores ``n`` for tags, so a loopback relay
(``tests/helpers/pager.py``) serves them in pages of 100 (and of 1,000), with
``Link: rel="next"``, as Quay, GHCR and Harbor do. Measured, over the relay:

- the real main window (Qt offscreen, a new one each round): from opening the
  repository until every tag is listed, with a 10 ms ``QTimer`` recording how late
  each tick comes (the longest gap beyond the interval is the longest the event loop
  stalled), and how many batches were merged into the table;
- ``python -m spyglass tags`` and ``skopeo list-tags``, whole processes.

Run ``.venv/bin/python benchmarks/bench_gui_tags.py [--rounds N] [--no-skopeo]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    CACHE_DIR,
    Row,
    Timing,
    find_tool,
    gui_sandbox,
    print_table,
    subprocess_env,
    time_command,
)

from tests.helpers.pager import PagingRelay
from tests.helpers.registry import RegistryServer, find_registry_binary, seed_tags

REPOSITORY = "big/tags"
PROBE_MS = 10


def tag_names() -> list[str]:
    names = [f"{major}.{minor}.{patch}" for major in range(1, 4) for minor in range(20)
             for patch in range(40)]
    names += [f"v{n}" for n in range(1, 1000)] + [f"build-{n}" for n in range(1, 2000)]
    return names + [f"V{n}-RC" for n in range(1, 50)]


def list_in_window(host: str, count: int) -> tuple[float, float, int]:
    """One round: (seconds until listed, the longest stall in ms, batches merged)."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer

    from spyglass.core.settings import RegistrySettings, Settings
    from spyglass.gui.app import settle
    from spyglass.gui.main_window import MainWindow

    def pump(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    sandbox = Path(tempfile.mkdtemp(prefix="gui-tags-", dir=CACHE_DIR))
    window = MainWindow(Settings(first_run_done=True,
                                 registries=[RegistrySettings(host, insecure=True)]),
                        settings_file=sandbox / "settings.json")
    window.resize(1400, 900)
    window.show()
    settle()
    try:
        model = window.registries.model
        window.registries.tree.setCurrentIndex(model.registry_index(host))
        registry = model.registry_node(model.registry_index(host))
        while registry is None or registry.state.value != "loaded":
            pump(20)
        pump(200)
        merges: list[Any] = []
        model.tagsLoaded.connect(lambda *args: merges.append(args))
        gaps: list[float] = []
        clock = QElapsedTimer()
        clock.start()
        last = [clock.nsecsElapsed()]

        def tick() -> None:
            now = clock.nsecsElapsed()
            gaps.append((now - last[0]) / 1e6 - PROBE_MS)
            last[0] = now

        probe = QTimer()
        probe.setTimerType(Qt.TimerType.PreciseTimer)
        probe.setInterval(PROBE_MS)
        probe.timeout.connect(tick)
        probe.start()
        start = time.perf_counter()
        window.registries.select(model.repository_index(host, REPOSITORY))
        node = model.node(model.repository_index(host, REPOSITORY))
        while not getattr(node, "done", False):
            pump(10)
        elapsed = time.perf_counter() - start
        probe.stop()
        listed = len(getattr(node, "by_name", ()))
        if listed != count:
            raise RuntimeError(f"the window listed {listed} tags, expected {count}")
        return elapsed, max(gaps, default=0.0), len(merges)
    finally:
        window.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per measurement")
    parser.add_argument("--no-skopeo", action="store_true", help="skip skopeo list-tags")
    # run_all.py passes every script the same arguments: those for others are ignored
    args, _others = parser.parse_known_args(argv)
    binary = find_registry_binary()
    if binary is None:
        print("bench_gui_tags: docker-registry (or registry) is not on PATH; "
              "`make system-deps` installs it.", file=sys.stderr)
        return 1
    gui_sandbox()
    from spyglass.gui.app import create_application

    app = create_application([sys.argv[0]])
    names = tag_names()
    rows: list[Row] = []
    skopeo = None if args.no_skopeo else find_tool("skopeo")
    with RegistryServer(binary=binary) as server:
        seed_tags(server, REPOSITORY, len(names), names=names, direct=True)
        for cap in (100, 1000):
            with PagingRelay(server.host, cap=cap) as relay:
                pages = -(-len(names) // cap)
                rounds = [list_in_window(relay.address, len(names))
                          for _ in range(args.rounds)]
                rows.append(Row.of(
                    f"window, pages of {cap:,} ({pages}): listed",
                    Timing(tuple(r[0] for r in rounds)),
                    note=f"longest stall {max(r[1] for r in rounds):.0f} ms, "
                         f"{max(r[2] for r in rounds)} merges"))
                name = f"docker://{relay.address}/{REPOSITORY}"
                ours = [sys.executable, "-m", "spyglass", "tags", "--tls-verify=false", name]
                rows.append(Row.of(f"spyglass tags (process), pages of {cap:,}",
                                   time_command(ours, args.rounds, env=subprocess_env())))
                if skopeo:
                    rows.append(Row.of(
                        f"skopeo list-tags (process), pages of {cap:,}",
                        time_command([skopeo, "list-tags", "--tls-verify=false", name],
                                     args.rounds)))
    app.processEvents()
    print_table(f"Listing the {len(names):,} tags of {REPOSITORY} in pages, "
                "window against the command line", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
