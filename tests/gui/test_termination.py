"""The window closes properly on SIGTERM and SIGHUP (a session ending, ``kill``): the
settings are saved and the process ends normally, rather than dying on the spot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _catches(pid: int, signum: int) -> bool:
    """Whether the process has a handler for ``signum`` (Linux: /proc's SigCgt mask)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line.split()[1] for line in status.splitlines()
                      if line.startswith("SigCgt:")), 16)
    return bool(caught >> (signum - 1) & 1)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_termination_closes_the_window_and_saves_the_settings(
    tmp_path: Path, signum: int
) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app"), "QT_QPA_PLATFORM": "offscreen",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    # $XDG_CONFIG_HOME is there (Spyglass makes its own folder in it, never the base)
    (tmp_path / "config").mkdir()
    layout = REPO_ROOT / "resources" / "sample-layout"
    process = subprocess.Popen([sys.executable, "-m", "spyglass", str(layout)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not _catches(process.pid, signum):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the window never took the signal over"
            time.sleep(0.05)
        process.send_signal(signum)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err.decode()
    saved = next((tmp_path / "config").rglob("*.json"))
    locations = json.loads(saved.read_text()).get("open_locations")
    assert locations and str(layout) in json.dumps(locations), saved.read_text()
