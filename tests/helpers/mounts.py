"""A folder seen through a read-only bind mount: a read-only filesystem for real, for the
tests of what a copy says there (root only; skipped otherwise)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def read_only_view(folder: Path, at: Path) -> Iterator[Path]:
    """``folder`` mounted read-only at ``at`` (made here), unmounted at the end; the test
    is skipped where mounting is not allowed (not root, a container without it)."""
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    at.mkdir()
    bound = subprocess.run(["mount", "--bind", str(folder), str(at)], capture_output=True,
                           check=False)
    if bound.returncode != 0:
        pytest.skip(f"mount --bind is not allowed here: {bound.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(at)], check=True,
                       capture_output=True)
        yield at
    finally:
        subprocess.run(["umount", str(at)], check=True)
