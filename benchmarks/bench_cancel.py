"""How soon does a cancelled copy stop? From ``cancel()`` to the copy having given up.

The image of ``bench_copy.py`` (2 platforms x 8 layers x 32 MiB, ``--all``) is
copied in-process by the copy engine and cancelled once a third of its bytes
have moved, in the middle of its blobs: layout → layout, layout → registry,
registry → layout (a local distribution 2.8 seeded with skopeo), layout →
registry recompressing gzip → zstd at level 19 (the slowest chunk there is),
and layout → docker-archive. The time is taken from the cancel to ``execute``
raising ``Cancelled`` — the destination already taken back by then. Each round
also checks that the destination was left as it was: no layout, archive or
temporary file where there was none. Target: under one second, every round.

Run ``.venv/bin/python benchmarks/bench_cancel.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_copy import MIB, REF, REPOSITORY, build_layout
from common import CACHE_DIR, Row, Timing, find_tool, print_table

from tests.helpers.registry import RegistryServer, find_registry_binary

TARGET = 1.0
CANCEL_AT = 1 / 3


Case = tuple[str, str, str | None]
"""A copy to cancel: source, destination and the compression asked for (or None)."""


def cancel_once(source: str, destination: str, compression: str | None) -> float:
    """Copy ``source`` to ``destination`` and cancel a third of the way; the seconds
    from the cancel to the copy raising."""
    from spyglass.core.cancel import CancelToken
    from spyglass.core.copy import BlobProgress, CopyEvent, CopyOptions, execute, plan_copy
    from spyglass.core.errors import Cancelled
    from spyglass.core.platform import Platform
    from spyglass.core.transports import open_destination, open_source
    from spyglass.core.transports.registry import RegistryOptions

    registry = RegistryOptions(tls_verify=False)
    token = CancelToken()
    cancelled_at: list[float] = []
    lock = threading.Lock()
    done: dict[object, int] = {}
    src = open_source(source, registry)
    dst = open_destination(destination, registry)
    try:
        if destination.startswith("docker-archive:"):  # holds one image, not a list
            options = CopyOptions(platforms=(Platform.parse("linux/amd64"),))
        else:
            options = CopyOptions(multi_arch="all", compression=compression,  # type: ignore[arg-type]
                                  compression_level=19 if compression == "zstd" else None)
        plan = plan_copy(src, dst, options)

        def on_event(event: CopyEvent) -> None:
            if not isinstance(event, BlobProgress):
                return
            with lock:
                done[event.digest] = event.done
                if not cancelled_at and sum(done.values()) >= plan.total_bytes * CANCEL_AT:
                    cancelled_at.append(time.perf_counter())
                    token.cancel()

        try:
            execute(plan, src, dst, options, events=on_event, cancel=token)
        except Cancelled:
            stopped = time.perf_counter()
        else:
            raise RuntimeError(f"the copy to {destination} ended before it was cancelled")
    finally:
        dst.close()
        src.close()
    return stopped - cancelled_at[0]


def measure(label: str, rounds: int, make: Callable[[Path], Case], *,
            local: bool = True) -> Row:
    """``rounds`` cancelled copies; ``make(folder)`` gives the case for a fresh destination
    in the empty ``folder``, which must stay empty when the destination is ``local``."""
    times = []
    for _ in range(rounds):
        folder = Path(tempfile.mkdtemp(prefix="cancel-", dir=CACHE_DIR))
        try:
            source, destination, compression = make(folder)
            times.append(cancel_once(source, destination, compression))
            left = sorted(path.name for path in folder.iterdir())
            if local and left:
                raise RuntimeError(f"a cancelled copy to {destination} left {left}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    timing = Timing(tuple(times))
    worst = max(times)
    verdict = "ok" if worst < TARGET else "MISSED"
    return Row.of(label, timing, target=TARGET,
                  note=f"slowest {worst * 1000:.0f} ms (target < 1 s every round): {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    # run_all.py passes every script the same arguments: those for others are ignored
    args, _others = parser.parse_known_args(argv)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    image = build_layout(CACHE_DIR / "copy-2x8x32MiB", ("amd64", "arm64"), 8, 32 * MIB)
    layout = f"oci:{image}:{REF}"
    rows = [
        measure("layout → layout", args.rounds,
                lambda folder: (layout, f"oci:{folder / 'out'}:{REF}", None)),
        measure("layout → docker-archive (one platform)", args.rounds,
                lambda folder: (layout, f"docker-archive:{folder / 'out.tar'}:x/y:1", None)),
    ]
    binary, skopeo = find_registry_binary(), find_tool("skopeo")
    if binary is None or skopeo is None:
        rows.append(Row("registry rows", None, note="need docker-registry and skopeo"))
    else:
        def into_registry(compression: str | None) -> Callable[[Path], Case]:
            def make(folder: Path) -> Case:
                server = RegistryServer(binary=binary, directory=folder / "storage").start()
                servers.append(server)
                return layout, f"docker://{server.host}/{REPOSITORY}:{REF}", compression
            return make

        servers: list[RegistryServer] = []
        try:
            rows.append(measure("layout → registry", args.rounds, into_registry(None),
                                local=False))
            rows.append(measure("layout → registry, gzip → zstd -19", args.rounds,
                                into_registry("zstd"), local=False))
        finally:
            for server in servers:
                server.close()
        with RegistryServer(binary=binary) as source:
            subprocess.run(
                [skopeo, "--insecure-policy", "copy", "--all", "--quiet",
                 "--dest-tls-verify=false", layout, f"docker://{source.host}/{REPOSITORY}:{REF}"],
                check=True,
            )
            rows.append(measure(
                "registry → layout", args.rounds,
                lambda folder: (f"docker://{source.host}/{REPOSITORY}:{REF}",
                                f"oci:{folder / 'out'}:{REF}", None)))
    print_table("From cancel() to the copy having stopped (cancelled a third of the way)", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
