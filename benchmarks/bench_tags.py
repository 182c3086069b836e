"""How fast a repository's tags are listed: Spyglass's core and command line against skopeo.

A real registry (Debian's ``docker-registry``, distribution 2.8, on loopback,
started for the run) holds a repository of 10,000 tags of one tiny image,
written straight into its storage (``seed_tags(direct=True)``, a few seconds).

Measured, for the first page and for the whole list:

(a) core: ``RegistryClient(host).tag_pages(repo)`` in this process, a new
    client each round (so the ``/v2/`` ping is included, as in a fresh
    window), next page until the end;
(b) ``python -m spyglass tags docker://HOST/REPO``, a whole process: first byte
    on stdout, and exit;
(c) ``skopeo list-tags --tls-verify=false docker://HOST/REPO``, the same.

Distribution 2.8 ignores ``n`` on ``tags/list`` and answers every tag in one
page, and both command lines print only once they have them all, so the
"first page" rows of (b) and (c) are their first output byte: nearly the
whole run. Before timing, the three answers are checked to hold the same tags.

Run ``.venv/bin/python benchmarks/bench_tags.py [--tags N] [--rounds N] [--no-skopeo]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # common puts app/ and the repo root on sys.path
    Row,
    Timing,
    find_tool,
    print_table,
    run_command,
    subprocess_env,
    time_command,
)

from tests.helpers.registry import RegistryServer, find_registry_binary, seed_tags

REPOSITORY = "bench/tags"


# --------------------------------------------------------------------------- (a) the core


def measure_core(host: str, count: int, rounds: int) -> tuple[Timing, Timing]:
    """(a) A fresh client's first page and its whole list, in this process."""
    from spyglass.core.transports.registry import RegistryClient

    first_times: list[float] = []
    full_times: list[float] = []
    for round_number in range(rounds + 1):  # the first round warms up, untimed
        start = time.perf_counter()
        client = RegistryClient(host, insecure=True)
        pages = client.tag_pages(REPOSITORY)
        listed = list(next(pages))
        first = time.perf_counter()
        for page in pages:
            listed.extend(page)
        full = time.perf_counter()
        if len(listed) != count:
            raise RuntimeError(f"the core listed {len(listed)} tags, expected {count}")
        if round_number:
            first_times.append(first - start)
            full_times.append(full - start)
    return Timing(tuple(first_times)), Timing(tuple(full_times))


# --------------------------------------------------------------------------- processes


def time_process(
    args: Sequence[str], rounds: int, *, env: dict[str, str] | None = None
) -> tuple[Timing, Timing]:
    """Wall time to a process's first stdout byte and to its exit, over ``rounds``."""
    first_times: list[float] = []
    full_times: list[float] = []
    for round_number in range(rounds + 1):  # the first round warms up, untimed
        start = time.perf_counter()
        process = subprocess.Popen(
            list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        assert process.stdout is not None
        head = process.stdout.read(1)
        first = time.perf_counter()
        _rest, err = process.communicate(timeout=300)
        full = time.perf_counter()
        if process.returncode != 0 or not head:
            raise RuntimeError(
                f"{' '.join(args)} failed ({process.returncode}): "
                f"{err.decode(errors='replace').strip()}"
            )
        if round_number:
            first_times.append(first - start)
            full_times.append(full - start)
    return Timing(tuple(first_times)), Timing(tuple(full_times))


def tags_printed(args: Sequence[str], env: dict[str, str] | None = None) -> set[str]:
    return set(json.loads(run_command(args, env))["Tags"])


# --------------------------------------------------------------------------- main


def ratio(ours: Timing, theirs: Timing | None) -> str:
    return f"{ours.median / theirs.median:.2f}x skopeo" if theirs else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tags", type=int, default=10_000, help="tags in the repository")
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds per measurement")
    parser.add_argument("--no-skopeo", action="store_true", help="skip (c), skopeo")
    parser.add_argument("--rebuild", action="store_true", help="accepted for run_all; no cache")
    # run_all.py passes every script the same arguments: those for others are ignored
    args, _others = parser.parse_known_args(argv)

    binary = find_registry_binary()
    if binary is None:
        print(
            "bench_tags: docker-registry (or registry) is not on PATH; "
            "`make system-deps` installs it.",
            file=sys.stderr,
        )
        return 1

    with RegistryServer(binary=binary) as server:
        start = time.perf_counter()
        expected = set(seed_tags(server, REPOSITORY, args.tags, direct=True))
        print(
            f"registry {server.url}: {REPOSITORY} has {len(expected)} tags "
            f"(seeded in {time.perf_counter() - start:.1f} s)"
        )
        name = f"docker://{server.host}/{REPOSITORY}"
        env = subprocess_env()
        ours_cmd = [sys.executable, "-m", "spyglass", "tags", "--tls-verify=false", name]
        if tags_printed(ours_cmd, env) != expected:
            raise RuntimeError(f"spyglass tags did not list the {args.tags} tags of {name}")
        skopeo = None if args.no_skopeo else find_tool("skopeo")
        skopeo_cmd = [skopeo, "list-tags", "--tls-verify=false", name] if skopeo else None
        if skopeo_cmd and tags_printed(skopeo_cmd) != expected:
            raise RuntimeError(f"skopeo list-tags did not list the {args.tags} tags of {name}")

        core_first, core_full = measure_core(server.host, args.tags, args.rounds)
        cli_first, cli_full = time_process(ours_cmd, args.rounds, env=env)
        skopeo_first = skopeo_full = None
        if skopeo_cmd:
            skopeo_first, skopeo_full = time_process(skopeo_cmd, args.rounds)
        startup = time_command([sys.executable, "-c", "pass"], args.rounds)

    why_not = "skipped (--no-skopeo)" if args.no_skopeo else "skopeo is not on PATH"
    rows: list[Row] = []
    for label, skopeo_time, cli_time, core_time in (
        ("first page", skopeo_first, cli_first, core_first),
        ("full list", skopeo_full, cli_full, core_full),
    ):
        if skopeo_time is None:
            rows.append(Row(f"{label}: skopeo list-tags", None, note=why_not))
        else:
            rows.append(Row.of(f"{label}: skopeo list-tags (process)", skopeo_time))
        rows.append(
            Row.of(f"{label}: spyglass tags (process)", cli_time, note=ratio(cli_time, skopeo_time))
        )
        rows.append(
            Row.of(
                f"{label}: core RegistryClient.tag_pages",
                core_time,
                note=ratio(core_time, skopeo_time) or "in-process",
            )
        )
    rows.append(Row.of("python -c pass (interpreter start-up)", startup, note="baseline"))
    print_table(f"Listing the {args.tags} tags of {REPOSITORY} (distribution 2.8)", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
