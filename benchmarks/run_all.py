"""Run every benchmark script (``bench_*.py`` beside this file), one after another.

Each script runs in its own process with ``app/`` on the path and Qt offscreen;
their tables go to stdout. Arguments are passed to every script
(``.venv/bin/python benchmarks/run_all.py --rounds 5``; a leading ``--`` is dropped). The
exit status is non-zero when any script failed to measure.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import subprocess_env

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    extra = argv[1:] if argv[:1] == ["--"] else argv
    scripts = sorted(HERE.glob("bench_*.py"))
    if not scripts:
        print(f"run_all: no bench_*.py scripts in {HERE}.", file=sys.stderr)
        return 1
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, str(script), *extra], env=subprocess_env(), check=False
        )
        elapsed = time.perf_counter() - start
        status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
        print(f"== {script.name}: {status} in {elapsed:.1f} s\n", flush=True)
        if result.returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"run_all: {len(failed)} benchmark(s) failed: {', '.join(failed)}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
