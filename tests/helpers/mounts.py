"""Filesystems for real, for the tests of what a copy says there: a folder seen through a
read-only bind mount, a small tmpfs that fills (root only; skipped otherwise)."""

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


@contextmanager
def small_filesystem(at: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (``"4m"``) mounted at ``at`` (made here), unmounted at the end:
    a disk that fills for real. Skipped where mounting is not allowed (not root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    at.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(at)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not allowed here: {mounted.stderr.decode().strip()}")
    try:
        yield at
    finally:
        subprocess.run(["umount", str(at)], check=True)
