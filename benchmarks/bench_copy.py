"""How fast Spyglass copies a big multi-platform image, against skopeo 1.9.

The image: 2 platforms (linux/amd64, linux/arm64) x 8 layers, each layer one
file of 32 MiB of ``os.urandom`` (incompressible), tarred and gzipped at level
1 (an OCI index of two OCI manifests, 512 MiB of layers). It is built once
and cached as an OCI layout in the bench cache folder (``--rebuild`` rebuilds).

Two local registries (Debian's ``docker-registry``, distribution 2.8, storage
on ``/dev/shm``): the source, seeded once from the layout with skopeo, and a
destination started fresh (empty storage) for every round. Layout
destinations are new folders in the cache folder (on disk: fsync counts).

Scenarios (``--all``, every instance), each timed as a whole process,
alternating Spyglass and skopeo round by round after one untimed warm-up each:

- registry → registry            target Spyglass/skopeo ≤ 0.9
- layout → registry              target ≤ 0.8
- registry → layout              target ≤ 0.5
- registry → registry, gzip → zstd (``--dest-compress-format zstd``)  target ≤ 0.6
- the first three again on an image of the size most are (2 platforms x 10 layers x
  4 MiB, 80 MiB; no target): there the copy takes a few tenths of a second and each
  tool's own start counts, which the ``startup`` rows (``--version``) show apart

Spyglass runs as ``python -m spyglass copy`` with compiled bytecode cached
(``PYTHONPYCACHEPREFIX``) and its blob-location cache in a fresh folder each
round (``XDG_CACHE_HOME``), so it never mounts from an earlier round (that folder
holds only the dataclasses' compiled code an earlier round kept, as bytecode is); skopeo's
blob-info cache (``/var/lib/containers/cache/blob-info-cache-v1.boltdb`` as
root, ``~/.local/share/containers/cache/…`` otherwise) is removed before each of
its rounds. Before timing, both tools' digests are checked to match the
source's where the copy keeps digests.

Each round also counts CPU time: the tool's (``wait4``), each registry's (from
``/proc/PID/stat``) and how much of the machine stayed idle (``/proc/stat``). The
second table puts them side by side: when the tool, the registries and the idle
time add up to all cores for the whole copy, the copy is CPU-bound, and only
less CPU — not more overlap — makes it faster.

Also measured: the peak RSS (``wait4``'s ``ru_maxrss``) of ``spyglass copy``
of an image of one 1 GiB layer, layout → registry and registry → layout
(target < 200 MiB), and each scenario again with ``--parallel`` 2, 4, 8 and 16
(Spyglass only; the four take turns within each round).

Run ``.venv/bin/python benchmarks/bench_copy.py [--rounds N] [--no-skopeo] [--rebuild]
[--skip-rss] [--skip-parallel] [--only N]``; ``--only N`` builds only the image scenario N
copies (and the 1 GiB one unless ``--skip-rss``).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # common puts app/ and the repo root on sys.path
    CACHE_DIR,
    Row,
    Timing,
    find_tool,
    fresh_cache_home,
    keep_compiled_code,
    print_table,
    run_command,
    subprocess_env,
)

from tests.helpers.imagebuild import (
    OCI_LAYER_GZIP,
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    build_config,
    dump_json,
)
from tests.helpers.registry import RegistryServer, find_registry_binary

MIB = 1024 * 1024
REF = "bench"
REPOSITORY = "bench/copy"
BIG_REPOSITORY = "bench/big"

#: Skopeo 1.9's blob-info cache: as root, and for other users.
SKOPEO_CACHES = (
    Path("/var/lib/containers/cache/blob-info-cache-v1.boltdb"),
    Path.home() / ".local/share/containers/cache/blob-info-cache-v1.boltdb",
)


# --------------------------------------------------------------------------- building


def _gzip_layer_file(out_path: Path, file_size: int, seed_name: str) -> tuple[str, int, str]:
    """Write a gzip (level 1) tar of one file of ``file_size`` random bytes.

    Streams, so a 1 GiB layer never sits in memory. Returns
    ``(digest, size, diff_id)`` of the blob written at ``out_path``.
    """
    info = tarfile.TarInfo(f"data/{seed_name}.bin")
    info.size = file_size
    info.mode = 0o644
    info.mtime = 1_700_000_000
    info.uname = info.gname = "root"

    class _Tee(io.RawIOBase):
        """Hashes the uncompressed tar (diff ID) on its way into gzip."""

        def __init__(self, inner: gzip.GzipFile) -> None:
            self.inner = inner
            self.hash = hashlib.sha256()

        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:  # type: ignore[override]
            self.hash.update(data)
            self.inner.write(data)
            return len(data)

    class _Random(io.RawIOBase):
        def __init__(self, size: int) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            count = min(len(buffer), self.left)
            buffer[:count] = os.urandom(count)
            self.left -= count
            return count

    with out_path.open("wb") as raw, gzip.GzipFile(
        fileobj=raw, mode="wb", compresslevel=1, mtime=0
    ) as zipped:
        tee = _Tee(zipped)
        with tarfile.open(fileobj=tee, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(info, io.BufferedReader(cast("io.RawIOBase", _Random(file_size)), 4 * MIB))
    blob_hash = hashlib.sha256()
    with out_path.open("rb") as stream:
        while chunk := stream.read(4 * MIB):
            blob_hash.update(chunk)
    return f"sha256:{blob_hash.hexdigest()}", out_path.stat().st_size, (
        f"sha256:{tee.hash.hexdigest()}"
    )


def build_layout(
    root: Path, platforms: Sequence[str], layers: int, layer_size: int
) -> Path:
    """An OCI layout at ``root`` with one index tagged :data:`REF` (or one image for 1 platform)."""
    marker = root / "complete"
    if marker.exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    builder = LayoutBuilder(root)
    descriptors = []
    for arch in platforms:
        layer_descriptors = []
        diff_ids = []
        for number in range(layers):
            temp = builder.blob_dir / f"tmp-{arch}-{number}"
            digest, size, diff_id = _gzip_layer_file(temp, layer_size, f"{arch}-{number}")
            temp.rename(builder.blob_path(digest))
            layer_descriptors.append({"mediaType": OCI_LAYER_GZIP, "digest": digest, "size": size})
            diff_ids.append(diff_id)
        spec = ImageSpec(
            architecture=arch,
            layers=[LayerSpec({}, created_by=f"ADD layer {n}") for n in range(layers)],
        )
        config = builder.add_blob(dump_json(build_config(spec, diff_ids)))
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
            "layers": layer_descriptors,
        }
        written = builder.add_blob(dump_json(manifest))
        descriptors.append(
            {"mediaType": manifest["mediaType"], **written, "platform": spec.platform()}
        )
    if len(descriptors) == 1:
        builder.tag({k: v for k, v in descriptors[0].items() if k != "platform"}, REF)
    else:
        builder.tag(builder.add_index(descriptors), REF)
    marker.write_text("built\n")
    return root


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Scenario:
    label: str
    source: str  # "registry" or "layout"
    destination: str  # "registry" or "layout"
    zstd: bool
    target: float | None  # Spyglass/skopeo ratio to stay at or below; None: none set
    image: str = "big"  # "big" (2x8x32 MiB) or "typical" (2x10x4 MiB)


SCENARIOS = (
    Scenario("registry → registry", "registry", "registry", False, 0.9),
    Scenario("layout → registry", "layout", "registry", False, 0.8),
    Scenario("registry → layout", "registry", "layout", False, 0.5),
    Scenario("registry → registry, gzip → zstd", "registry", "registry", True, 0.6),
    Scenario("typical image, registry → registry", "registry", "registry", False, None,
             "typical"),
    Scenario("typical image, layout → registry", "layout", "registry", False, None, "typical"),
    Scenario("typical image, registry → layout", "registry", "layout", False, None, "typical"),
)
"""The issue's four scenarios on the big image, then three on an image of the size most
images are (2 platforms x 10 layers x 4 MiB, 80 MiB): there the copy takes a few tenths
of a second, and the interpreter's start (measured on its own, see ``startup``) is a
large part of it. The issue sets no target for those."""


@dataclass(frozen=True)
class Image:
    """An image the scenarios copy, built once into the cache folder as ``folder``;
    ``label`` starts the names of the rows that copy it."""

    folder: str
    layers: int
    layer_mib: int
    label: str = ""
    platforms: tuple[str, ...] = ("amd64", "arm64")

    def describe(self) -> str:
        total = len(self.platforms) * self.layers * self.layer_mib
        size = (f"{len(self.platforms)} platforms x {self.layers} layers x {self.layer_mib} MiB "
                f"= {total} MiB")
        return f"{self.label}: {size}" if self.label else size


IMAGES = {
    "big": Image("copy-2x8x32MiB", 8, 32),
    "typical": Image("copy-2x10x4MiB", 10, 4, label="typical image"),
}
""":attr:`Scenario.image`'s names."""


def chosen_scenarios(only: Sequence[str]) -> list[Scenario]:
    """The scenarios ``--only`` names (every one when it names none)."""
    return [s for n, s in enumerate(SCENARIOS, 1) if not only or str(n) in only]


def images_needed(scenarios: Sequence[Scenario]) -> list[str]:
    """The names of the images ``scenarios`` copy, in :data:`IMAGES`' order: only those
    are built and put in the source registry (``--only 6`` builds no 512 MiB image)."""
    used = {scenario.image for scenario in scenarios}
    return [name for name in IMAGES if name in used]


def table_title(images: Sequence[str]) -> str:
    """The first table's title, naming the images its rows copied."""
    described = "; ".join(IMAGES[name].describe() for name in images)
    return f"Copying {described} (gzip -1 of random data), distribution 2.8 on /dev/shm"


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


PARALLEL_SWEEP: tuple[int, ...] = (2, 4, 8, 16)
"""The ``--parallel`` values the sweep compares."""


def process_cpu(pid: int | None) -> float:
    """Seconds of CPU (user + system) process ``pid`` has used; 0 when unknown."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_times() -> tuple[int, int]:
    """(idle, total) clock ticks of all cores so far, from /proc/stat (zeros when unknown)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return values[3] + values[4], sum(values)


@dataclass(frozen=True)
class Round:
    """One timed copy: wall seconds, peak RSS (KiB), the digest written, and CPU seconds
    of the tool and of each registry, with the share of the machine left idle."""

    elapsed: float
    rss_kib: int
    digest: str
    cpu_tool: float
    cpu_source: float
    cpu_destination: float
    idle: float


@dataclass
class CpuTally:
    """The rounds of one tool in one scenario, for the CPU table."""

    rounds: list[Round]

    def median(self, field: str) -> float:
        return float(statistics.median(getattr(r, field) for r in self.rounds))


class Bench:
    def __init__(self, args: argparse.Namespace, binary: str, skopeo: str | None) -> None:
        self.args = args
        self.binary = binary
        self.skopeo = skopeo
        self.work = Path(tempfile.mkdtemp(prefix="copy-", dir=CACHE_DIR))
        self.env = subprocess_env()
        self.source_registry: RegistryServer | None = None

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

    # -- one copy

    def spyglass_cmd(self, src: str, dst: str, extra: Sequence[str] = ()) -> list[str]:
        return [sys.executable, "-m", "spyglass", "copy", "--all", "--quiet",
                "--src-tls-verify=false", "--dest-tls-verify=false", *extra, src, dst]

    def skopeo_cmd(self, src: str, dst: str, extra: Sequence[str] = ()) -> list[str]:
        assert self.skopeo is not None
        return [self.skopeo, "--insecure-policy", "copy", "--all", "--quiet",
                "--src-tls-verify=false", "--dest-tls-verify=false", *extra, src, dst]

    def spyglass_env(self) -> dict[str, str]:
        env = dict(self.env)
        env["XDG_CACHE_HOME"] = str(fresh_cache_home(self.work))
        return env

    def run_round(
        self,
        tool: str,
        source: str,
        destination_kind: str,
        extra: Sequence[str] = (),
        *,
        measure_rss: bool = False,
    ) -> Round:
        """One copy into a fresh destination."""
        digest_file = self.work / "digest"
        digest_file.unlink(missing_ok=True)
        extra = [*extra, "--digestfile", str(digest_file)]
        server: RegistryServer | None = None
        layout: Path | None = None
        try:
            if destination_kind == "registry":
                server = RegistryServer(binary=self.binary).start()
                dst = f"docker://{server.host}/{REPOSITORY}:{REF}"
            else:
                layout = Path(tempfile.mkdtemp(prefix="dest-", dir=self.work))
                dst = f"oci:{layout}:{REF}"
            if tool == "skopeo":
                for cache in SKOPEO_CACHES:
                    cache.unlink(missing_ok=True)
                command, env = self.skopeo_cmd(source, dst, extra), None
            else:
                command, env = self.spyglass_cmd(source, dst, extra), self.spyglass_env()
            source_pid = self.source_registry.pid if self.source_registry else None
            destination_pid = server.pid if server is not None else None
            source_cpu = process_cpu(source_pid)
            destination_cpu = process_cpu(destination_pid)
            idle_before, total_before = machine_times()
            start = time.perf_counter()
            process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
            )
            assert process.stderr is not None
            err = process.stderr.read()
            _pid, status, usage = os.wait4(process.pid, 0)
            elapsed = time.perf_counter() - start
            idle_after, total_after = machine_times()
            source_cpu = process_cpu(source_pid) - source_cpu
            destination_cpu = process_cpu(destination_pid) - destination_cpu
            process.returncode = os.waitstatus_to_exitcode(status)
            if env is not None:
                keep_compiled_code(Path(env["XDG_CACHE_HOME"]))
            if process.returncode != 0:
                raise RuntimeError(
                    f"{' '.join(command)} failed ({process.returncode}): "
                    f"{err.decode(errors='replace').strip()}"
                )
            ticks = total_after - total_before
            return Round(
                elapsed, usage.ru_maxrss, digest_file.read_text().strip(),
                cpu_tool=usage.ru_utime + usage.ru_stime,
                cpu_source=source_cpu,  # about nothing when the source is a layout
                cpu_destination=destination_cpu,
                idle=(idle_after - idle_before) / ticks if ticks else 0.0,
            )
        finally:
            if server is not None:
                server.close()
            if layout is not None:
                shutil.rmtree(layout, ignore_errors=True)


def print_cpu_table(cpu: list[tuple[str, str, CpuTally]]) -> None:
    """Where each copy's CPU went (medians): the tool, the registries, the idle cores.

    ``floor`` is the CPU of the tool and the registries spread over every core:
    no copy of that much work finishes sooner on this machine.
    """
    print(f"CPU seconds per copy (medians; {CORES} cores)")
    print(f"  {'scenario':36s} {'tool':8s} {'wall':>6s} {'tool':>6s} {'source':>7s} "
          f"{'dest':>6s} {'floor':>6s} {'idle':>5s}")
    for label, tool, tally in cpu:
        tool_cpu, source_cpu = tally.median("cpu_tool"), tally.median("cpu_source")
        destination_cpu = tally.median("cpu_destination")
        floor = (tool_cpu + source_cpu + destination_cpu) / CORES
        print(f"  {label:36s} {tool:8s} {tally.median('elapsed'):6.2f} {tool_cpu:6.2f} "
              f"{source_cpu:7.2f} {destination_cpu:6.2f} {floor:6.2f} "
              f"{tally.median('idle') * 100:4.0f}%")
    print()


def ratio_note(ours: Timing, theirs: Timing | None, target: float | None) -> str:
    if theirs is None:
        return f"target ≤ {target}x skopeo (not compared)" if target is not None else ""
    value = ours.median / theirs.median
    if target is None:
        return f"{value:.2f}x skopeo (no target)"
    verdict = "ok" if value <= target else "MISSED"
    return f"{value:.2f}x skopeo (target ≤ {target}): {verdict}"


def startup_rows(skopeo: str | None, rounds: int, env: dict[str, str]) -> list[Row]:
    """How long each tool takes to start and stop doing nothing (``--version``): the part
    of every copy that does not depend on the image."""
    commands = {"spyglass": [sys.executable, "-m", "spyglass", "--version"]}
    if skopeo is not None:
        commands["skopeo"] = [skopeo, "--version"]
    times: dict[str, list[float]] = {tool: [] for tool in commands}
    for round_number in range(rounds + 1):
        for tool, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True, env=env)
            if round_number:
                times[tool].append(time.perf_counter() - start)
    return [Row.of(f"startup: {tool} --version", Timing(tuple(measured)))
            for tool, measured in times.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per tool and scenario")
    parser.add_argument("--no-skopeo", action="store_true", help="time Spyglass only")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached images")
    parser.add_argument("--skip-rss", action="store_true", help="skip the 1 GiB peak-RSS rows")
    parser.add_argument("--skip-parallel", action="store_true", help="skip the --parallel sweep")
    parser.add_argument("--only", action="append", default=[], metavar="N",
                        choices=[str(n) for n in range(1, len(SCENARIOS) + 1)],
                        help=f"run only scenario N (1-{len(SCENARIOS)}; repeatable), building "
                        "only the image it copies")
    # run_all.py passes every script the same arguments: those for others are ignored
    args, _others = parser.parse_known_args(argv)
    chosen = chosen_scenarios(args.only)

    binary = find_registry_binary()
    skopeo = find_tool("skopeo")
    if binary is None or skopeo is None:
        # the source registry is seeded with skopeo, so both are needed even with --no-skopeo
        print("bench_copy: needs docker-registry and skopeo on PATH; `make system-deps` "
              "installs them.", file=sys.stderr)
        return 1

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    needed = images_needed(chosen)
    image_dirs = {name: CACHE_DIR / IMAGES[name].folder for name in needed}
    big_dir = CACHE_DIR / "copy-1x1x1GiB"
    if args.rebuild:
        for folder in (*image_dirs.values(), big_dir):
            shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    for name, image_dir in image_dirs.items():
        image = IMAGES[name]
        build_layout(image_dir, image.platforms, image.layers, image.layer_mib * MIB)
    if not args.skip_rss:
        build_layout(big_dir, ("amd64",), 1, 1024 * MIB)
    print(f"images ready in {time.perf_counter() - start:.1f} s ({CACHE_DIR})", flush=True)

    bench = Bench(args, binary, None if args.no_skopeo else skopeo)
    rows: list[Row] = []
    summary: list[tuple[str, float | None, float, float | None]] = []
    cpu: list[tuple[str, str, CpuTally]] = []
    try:
        with RegistryServer(binary=binary) as source_registry:
            bench.source_registry = source_registry
            sources: dict[tuple[str, str], str] = {}
            source_digests: dict[str, str] = {}
            for image, image_dir in image_dirs.items():
                repository = f"{REPOSITORY}-{image}"
                run_command([skopeo, "--insecure-policy", "copy", "--all", "--quiet",
                             "--dest-tls-verify=false", f"oci:{image_dir}:{REF}",
                             f"docker://{source_registry.host}/{repository}:{REF}"])
                index = json.loads((image_dir / "index.json").read_text())
                source_digests[image] = index["manifests"][0]["digest"]
                sources[image, "registry"] = (
                    f"docker://{source_registry.host}/{repository}:{REF}")
                sources[image, "layout"] = f"oci:{image_dir}:{REF}"
            rows.extend(startup_rows(bench.skopeo, args.rounds, bench.spyglass_env()))
            for scenario in chosen:
                source_digest = source_digests[scenario.image]
                extra = ["--dest-compress-format", "zstd"] if scenario.zstd else []
                tools = ["spyglass", *(["skopeo"] if bench.skopeo else [])]
                times: dict[str, list[float]] = {tool: [] for tool in tools}
                tallies = {tool: CpuTally([]) for tool in tools}
                for round_number in range(args.rounds + 1):  # round 0 warms up, untimed
                    for tool in tools:
                        copied = bench.run_round(
                            tool, sources[scenario.image, scenario.source],
                            scenario.destination, extra,
                        )
                        if not scenario.zstd and copied.digest != source_digest:
                            raise RuntimeError(f"{tool}: {scenario.label} wrote "
                                               f"{copied.digest}, not {source_digest}")
                        if round_number:
                            times[tool].append(copied.elapsed)
                            tallies[tool].rounds.append(copied)
                cpu.extend((scenario.label, tool, tallies[tool]) for tool in tools)
                ours = Timing(tuple(times["spyglass"]))
                theirs = Timing(tuple(times["skopeo"])) if "skopeo" in times else None
                if theirs is not None:
                    rows.append(Row.of(f"{scenario.label}: skopeo copy", theirs))
                else:
                    rows.append(Row(f"{scenario.label}: skopeo copy", None, note="--no-skopeo"))
                rows.append(Row.of(f"{scenario.label}: spyglass copy", ours,
                                   note=ratio_note(ours, theirs, scenario.target)))
                summary.append((
                    scenario.label, theirs.median if theirs else None, ours.median,
                    scenario.target,
                ))
                print(f"  {scenario.label}: done", flush=True)

            if not args.skip_parallel:
                # every chosen scenario; within a round the four values take turns, so a
                # drift of the machine's speed falls on all of them alike
                for scenario in chosen:
                    extra = ["--dest-compress-format", "zstd"] if scenario.zstd else []
                    sweep: dict[int, list[float]] = {n: [] for n in PARALLEL_SWEEP}
                    for round_number in range(args.rounds + 1):
                        for parallel in PARALLEL_SWEEP:
                            copied = bench.run_round(
                                "spyglass", sources[scenario.image, scenario.source],
                                scenario.destination,
                                [*extra, "--parallel", str(parallel)],
                            )
                            if round_number:
                                sweep[parallel].append(copied.elapsed)
                    timings = {n: Timing(tuple(times)) for n, times in sweep.items()}
                    best = min(timings, key=lambda n: timings[n].median)
                    for parallel, timing in timings.items():
                        rows.append(Row.of(
                            f"{scenario.label}: spyglass --parallel {parallel}", timing,
                            note="best" if parallel == best else "",
                        ))
                print("  --parallel sweep: done", flush=True)

            if not args.skip_rss:
                big_source = f"docker://{source_registry.host}/{BIG_REPOSITORY}:{REF}"
                run_command([skopeo, "--insecure-policy", "copy", "--quiet",
                             "--dest-tls-verify=false", f"oci:{big_dir}:{REF}", big_source])
                for label, source, destination in (
                    ("1 GiB layer, layout → registry", f"oci:{big_dir}:{REF}", "registry"),
                    ("1 GiB layer, registry → layout", big_source, "layout"),
                ):
                    copied = bench.run_round("spyglass", source, destination)
                    elapsed, rss = copied.elapsed, copied.rss_kib / 1024
                    verdict = "ok" if rss < 200 else "MISSED"
                    rows.append(Row(f"{label}: spyglass copy", elapsed, 1, elapsed,
                                    note=f"peak RSS {rss:.0f} MiB (target < 200 MiB): {verdict}"))
                print("  peak RSS: done", flush=True)
    finally:
        bench.close()

    print_table(table_title(needed), rows)
    if cpu:
        print_cpu_table(cpu)
    print("Spyglass / skopeo (medians)")
    for label, skopeo_median, spyglass_median, target in summary:
        if skopeo_median is None:
            print(f"  {label:36s} spyglass {spyglass_median:6.2f} s  (skopeo not run)")
        else:
            value = spyglass_median / skopeo_median
            verdict = ("no target" if target is None else
                       f"target ≤ {target}  {'ok' if value <= target else 'MISSED'}")
            print(f"  {label:36s} skopeo {skopeo_median:6.2f} s  "
                  f"spyglass {spyglass_median:6.2f} s  ratio {value:.2f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
