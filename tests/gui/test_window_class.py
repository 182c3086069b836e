"""The window's X11 ``WM_CLASS`` is ``"spyglass", "Spyglass"`` however it is started: the
desktop entry's ``StartupWMClass=spyglass`` matches it, and a taskbar groups and names it
as Spyglass. ``python -m spyglass`` made it ``"__main__.py"`` (Qt takes the instance name
from ``argv[0]``)."""

from __future__ import annotations

import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.gui.xserver import (
    REPO_ROOT,
    private_x_server,
    start_window,
    wait_for_window,
    window_classes,
    window_env,
)

SHOWN_TIMEOUT_S = 30


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
@pytest.mark.skipif(shutil.which("xwininfo") is None, reason="needs xwininfo (x11-utils)")
@pytest.mark.parametrize("program", [["-m", "spyglass"],
                                     [str(REPO_ROOT / "app" / "spyglass" / "__main__.py")]],
                         ids=["python -m spyglass", "python path/__main__.py"])
def test_the_window_class_is_spyglass_however_it_is_started(
        tmp_path: Path, program: list[str]) -> None:
    with private_x_server() as (_server, display):
        process = start_window(window_env(tmp_path, display),
                               program=[sys.executable, *program])
        try:
            wait_for_window(process)
            deadline = time.monotonic() + SHOWN_TIMEOUT_S
            while not (classes := window_classes(display, "Spyglass")):
                assert time.monotonic() < deadline, "no Spyglass window showed"
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=60)
    assert set(classes) == {("spyglass", "Spyglass")}
