"""The limits Spyglass raises for itself (``core.limits``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_a_low_soft_open_file_limit_is_raised_to_the_hard_one() -> None:
    # skopeo (Go) does this at start: a copy with parallel transfers then works under a
    # shell whose soft limit is low
    script = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (16, 4096))\n"
        "from spyglass.core.limits import raise_open_file_limit\n"
        "raise_open_file_limit()\n"
        "print(*resource.getrlimit(resource.RLIMIT_NOFILE))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO_ROOT / "app")}, check=True)
    assert done.stdout.split() == ["4096", "4096"]


def test_spyglass_raises_it_as_it_starts() -> None:
    script = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (16, 4096))\n"
        "from spyglass.cli import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(*resource.getrlimit(resource.RLIMIT_NOFILE))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO_ROOT / "app")}, check=True)
    assert done.stdout.split()[-2:] == ["4096", "4096"]
