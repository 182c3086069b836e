"""How fast ``spyglass sync`` mirrors many images, against ``skopeo sync`` 1.9.

Two image sets, each pushed once with skopeo into a source registry (Debian's
``docker-registry``, distribution 2.8, storage on ``/dev/shm``), then synced
docker → docker into a destination registry started fresh for every round:

- ``mirror``: 21 tags in 6 repositories (the shape of a team's mirror): small
  images sharing two base layers, 7 of them 3-platform lists; one yaml source
  lists them (``--src yaml``);
- ``typical``: bench_copy.py's typical image (2 platforms x 10 layers x 4 MiB,
  80 MiB) under 3 repositories (``--src yaml``): the same blobs in each, which
  Spyglass mounts from the first repository it pushed them to.

Rows: Spyglass (``--parallel-images`` 1, 2, 4, 8; the default is 4), skopeo
sync, and a shell loop of ``spyglass copy`` per tag (what the team did before);
all with ``--all``. The ``mirror`` set is synced again over a link with
``--latency`` ms (default 20) added to every request, both registries behind a
relay that holds each request that long: on loopback nothing waits for the
network, and a sync of small images is bound by the processors; over a network
each image's round trips (manifests read, blobs asked about, manifests written)
are what takes the time. Spyglass's blob-location cache is a fresh folder each
round; skopeo's blob-info cache is removed before each of its rounds.

Run ``.venv/bin/python benchmarks/bench_sync.py [--rounds N] [--no-skopeo] [--rebuild]``.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    CACHE_DIR,
    Row,
    Timing,
    find_tool,
    fresh_cache_home,
    keep_compiled_code,
    print_table,
    subprocess_env,
)

from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, multi_platform_layout
from tests.helpers.registry import RegistryServer, find_registry_binary, push_image

SKOPEO_CACHES = (Path("/var/lib/containers/cache/blob-info-cache-v1.boltdb"),
                 Path.home() / ".local/share/containers/cache/blob-info-cache-v1.boltdb")
PARALLEL = (1, 2, 4, 8)


def mirror_set(root: Path) -> dict[str, list[tuple[Path, str]]]:
    """21 tags in 6 repositories: repository → [(layout, ref)]."""
    multi_platform_layout(root / "multi")
    builder = LayoutBuilder(root / "single")
    base = [LayerSpec({"/etc/os-release": b"ID=bench\n"}), LayerSpec({"/lib/libc": b"c" * 4096})]
    for number in range(14):
        builder.tag(builder.add_image(ImageSpec(layers=[
            *base, LayerSpec({f"/app/{number}": bytes([number]) * 20_000})])), f"s{number}")
    single = iter(range(14))
    shape = {"platform/base": (3, 0), "platform/api": (2, 2), "web": (1, 2),
             "tools/cli": (0, 3), "jobs/worker": (1, 4), "signed/app": (0, 3)}
    repositories: dict[str, list[tuple[Path, str]]] = {}
    for repository, (lists, singles) in shape.items():
        repositories[repository] = [(root / "multi", "latest")] * lists + [
            (root / "single", f"s{next(single)}") for _ in range(singles)]
    return repositories


def typical_set(root: Path) -> dict[str, list[tuple[Path, str]]]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_copy import IMAGES, REF, build_layout

    image = IMAGES["typical"]
    layout = build_layout(CACHE_DIR / image.folder, [f"{p}" for p in image.platforms],
                          image.layers, image.layer_mib * 1024 * 1024)
    return {f"typical/app{n}": [(layout, REF)] for n in range(3)}


def seed(server: RegistryServer, repositories: dict[str, list[tuple[Path, str]]],
         named: str) -> Path:
    """Push every image; the yaml file listing them on the registry ``named``."""
    lines = [f"{named}:", "  tls-verify: false", "  images:"]
    for repository, images in repositories.items():
        tags = []
        for number, (layout, ref) in enumerate(images):
            tags.append(f"t{number}")
            push_image(server, layout, ref, f"{repository}:t{number}")
        lines.append(f"    {repository}: [{', '.join(tags)}]")
    listing = server.directory / "sync.yaml"
    listing.write_text("\n".join(lines) + "\n")
    return listing


class SlowLink:
    """A TCP relay to ``target`` that holds each request ``delay`` seconds before it
    passes it on (a burst of bytes after a pause in that direction counts as one)."""

    def __init__(self, target: str, delay: float) -> None:
        host, port = target.rsplit(":", 1)
        self.target = (host, int(port))
        self.delay = delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            for one, other, slow in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pump, args=(one, other, slow),
                                 daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, slow: bool) -> None:
        last = 0.0
        try:
            while data := source.recv(1 << 16):
                now = time.monotonic()
                if slow and now - last > 0.002:
                    time.sleep(self.delay)
                last = time.monotonic()
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def time_round(binary: str, command: Sequence[str] | None, script: str | None,
               env: dict[str, str] | None, delay: float) -> tuple[float, RegistryServer]:
    server = RegistryServer(binary=binary).start()
    link = SlowLink(server.host, delay) if delay else None
    host = link.host if link else server.host
    try:
        final = [a.replace("DEST", host) for a in command] if command else None
        start = time.perf_counter()
        if final is not None:
            done = subprocess.run(final, capture_output=True, env=env, check=False, timeout=600)
        else:
            assert script is not None
            done = subprocess.run(["bash", "-c", script.replace("DEST", host)],
                                  capture_output=True, env=env, check=False, timeout=600)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{final or script} failed: {done.stderr.decode()[-2000:]}")
        return elapsed, server
    finally:
        if link is not None:
            link.close()
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per row")
    parser.add_argument("--no-skopeo", action="store_true", help="skip skopeo's rows")
    parser.add_argument("--rebuild", action="store_true", help="accepted for run_all")
    parser.add_argument("--latency", type=float, default=20.0,
                        help="ms added to each request in the slow-link rows (0: none)")
    args, _others = parser.parse_known_args(argv)
    binary = find_registry_binary()
    skopeo = find_tool("skopeo")
    if binary is None or skopeo is None:
        print("bench_sync: docker-registry and skopeo are needed (make system-deps).",
              file=sys.stderr)
        return 1
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="sync-", dir=CACHE_DIR))
    env = subprocess_env()
    try:
        sets = [("mirror", mirror_set, 0.0), ("typical", typical_set, 0.0)]
        if args.latency:
            sets.insert(1, (f"mirror over a {args.latency:g} ms link", mirror_set,
                            args.latency / 1000))
        for name, make, delay in sets:
            repositories = make(work / name.split()[0])
            count = sum(len(images) for images in repositories.values())
            with RegistryServer(binary=binary) as source:
                link = SlowLink(source.host, delay) if delay else None
                listing = seed(source, repositories, link.host if link else source.host)
                rows = run_rows(args, binary, skopeo, env, work, link.host if link else
                                source.host, listing, repositories, delay)
                if link is not None:
                    link.close()
            print_table(f"sync {name}: {count} tags in {len(repositories)} repositories, "
                        "docker → docker, --all", rows)
            print()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def run_rows(args: argparse.Namespace, binary: str, skopeo: str, env: dict[str, str],
             work: Path, source: str, listing: Path,
             repositories: dict[str, list[tuple[Path, str]]], delay: float) -> list[Row]:
    spyglass = [sys.executable, "-m", "spyglass"]
    commands: list[tuple[str, list[str] | None, str | None, str]] = []
    for parallel in PARALLEL:
        commands.append((f"spyglass sync --parallel-images {parallel}", [
            *spyglass, "sync", "-q", "--all", "--dest-tls-verify=false", "--parallel-images",
            str(parallel), "--src", "yaml", "--dest", "docker", str(listing), "DEST/m"],
            None, "spyglass"))
    if not args.no_skopeo:
        commands.append(("skopeo sync", [
            skopeo, "--insecure-policy", "sync", "--all", "--dest-tls-verify=false",
            "--src", "yaml", "--dest", "docker", str(listing), "DEST/m"], None, "skopeo"))
    loop = "set -e; " + "; ".join(
        f"{' '.join(spyglass)} copy -q --all --src-tls-verify=false --dest-tls-verify=false "
        f"docker://{source}/{repository}:t{n} docker://DEST/m/{repository.split('/')[-1]}"
        f":t{n}"
        for repository, images in repositories.items() for n in range(len(images)))
    commands.append(("shell loop of spyglass copy", None, loop, "spyglass"))
    times: dict[str, list[float]] = {label: [] for label, *_ in commands}
    for round_number in range(args.rounds + 1):  # the first round warms up, untimed
        for label, command, script, tool in commands:
            round_env = dict(env)
            if tool == "spyglass":
                round_env["XDG_CACHE_HOME"] = str(fresh_cache_home(work))
            else:
                for cache in SKOPEO_CACHES:
                    cache.unlink(missing_ok=True)
            elapsed, _server = time_round(binary, command, script, round_env, delay)
            if tool == "spyglass":
                keep_compiled_code(Path(round_env["XDG_CACHE_HOME"]))
            if round_number:
                times[label].append(elapsed)
    skopeo_timing = Timing(tuple(times["skopeo sync"])) if "skopeo sync" in times else None
    rows = []
    for label, timing in ((label, Timing(tuple(t))) for label, t in times.items()):
        note = (f"{timing.median / skopeo_timing.median:.2f}x skopeo"
                if skopeo_timing and label != "skopeo sync" else "")
        rows.append(Row.of(label, timing, note=note))
    return rows


if __name__ == "__main__":
    sys.exit(main())
