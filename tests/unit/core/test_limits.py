"""The limits Spyglass raises for itself (``core.limits``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]

RAISE_IT = "from spyglass.core.limits import raise_open_file_limit\nraise_open_file_limit()\n"
START = ("from spyglass.cli import main\n"
         "try:\n"
         "    main(['--version'])\n"
         "except SystemExit:\n"
         "    pass\n")


@pytest.mark.parametrize("then", [RAISE_IT, START], ids=["the function", "spyglass's start"])
def test_a_low_soft_open_file_limit_is_raised_to_the_hard_one(then: str) -> None:
    # skopeo (Go) does this at start: a copy with parallel transfers then works under a
    # shell whose soft limit is low
    script = ("import resource\n"
              "resource.setrlimit(resource.RLIMIT_NOFILE, (16, 4096))\n"
              f"{then}"
              "print(*resource.getrlimit(resource.RLIMIT_NOFILE))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO_ROOT / "app")}, check=True)
    assert done.stdout.split()[-2:] == ["4096", "4096"]
