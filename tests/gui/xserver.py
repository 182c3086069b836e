"""An X server of a test's own (Xvfb), for what only a real display shows: a window's
``WM_CLASS``, the window's end when its display goes away."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 30


@contextmanager
def private_x_server() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """An Xvfb of the test's own on a display it picked free (``-displayfd``), and that
    display's name; killed (by its pid) at the end. Skips the test without Xvfb."""
    if shutil.which("Xvfb") is None:
        pytest.skip("needs Xvfb")
    reader, writer = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(writer), "-screen", "0",
                               "1280x800x24", "-nolisten", "tcp"], pass_fds=(writer,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(writer)
    try:
        with os.fdopen(reader, "rb") as said:
            number = said.readline().strip().decode()  # once it takes connections
        if not number:
            pytest.skip("Xvfb did not start")
        yield server, f":{number}"
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=START_TIMEOUT_S)


def window_env(tmp_path: Path, display: str) -> dict[str, str]:
    """An environment for the window on ``display`` (xcb), its settings, caches and
    credentials the test's own."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app"), "QT_QPA_PLATFORM": "xcb",
           "DISPLAY": display, "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    for name in ("WAYLAND_DISPLAY", "SNAP", "FLATPAK_ID"):  # (Qt would ask a portal)
        env.pop(name, None)
    (tmp_path / "config").mkdir(exist_ok=True)
    return env


def catches(pid: int, signum: int) -> bool:
    """Whether the process has a handler for ``signum`` (Linux: /proc's SigCgt mask)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line.split()[1] for line in status.splitlines()
                      if line.startswith("SigCgt:")), 16)
    return bool(caught >> (signum - 1) & 1)


def wait_for_window(process: subprocess.Popen[bytes]) -> None:
    """Wait until ``process`` (the window) took SIGTERM over, as it does just before the
    window shows."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not catches(process.pid, signal.SIGTERM):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the window never started"
        time.sleep(0.05)


def start_window(env: dict[str, str], *args: str,
                 program: list[str] | None = None) -> subprocess.Popen[bytes]:
    """``python -m spyglass ARGS`` (or ``program ARGS``), its stderr piped."""
    command = program if program is not None else [sys.executable, "-m", "spyglass"]
    return subprocess.Popen([*command, *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def window_classes(display: str, title_part: str) -> list[tuple[str, str]]:
    """The ``WM_CLASS`` (instance, class) of each window on ``display`` whose title holds
    ``title_part`` (``xwininfo -tree`` prints it beside the title)."""
    tree = subprocess.run(["xwininfo", "-root", "-tree", "-display", display],
                          capture_output=True, text=True, timeout=START_TIMEOUT_S, check=True)
    return [(m["instance"], m["class"]) for m in re.finditer(
        r'"(?P<title>[^"\n]*)": \("(?P<instance>[^"]*)" "(?P<class>[^"]*)"\)', tree.stdout)
        if title_part in m["title"]]
