"""The window starts under colours or a style sheet of the item views' own, as GNOME's and
XFCE's platform theme (gtk3) and ``-stylesheet`` give them: setting them up sends the
views events before the pages that watch them were whole, and an event filter reading
what was not yet there raised at start, then crashed the process.

Each start runs in a process of its own (tests/gui/start_styled.py): a crash fails the
test rather than ending pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "resources" / "sample-layout"
START_TIMEOUT_S = 120


def start_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """An environment whose settings, caches and credentials are the test's own."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "app"),
                                                        str(REPO_ROOT)]),
           "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_RUNTIME_DIR": str(tmp_path / "run"),
           "DOCKER_CONFIG": str(tmp_path / "docker"), **extra}
    for key in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
                "XDG_RUNTIME_DIR", "DOCKER_CONFIG"):
        Path(env[key]).mkdir(parents=True, exist_ok=True)
    return env


def start(tmp_path: Path, modes: list[str], env: dict[str, str],
          prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    layout = tmp_path / "layout"
    shutil.copytree(SAMPLE, layout)
    settings_file = tmp_path / "config" / "settings.json"
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "tests.gui.start_styled", str(settings_file),
         str(layout), *modes],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S)


@pytest.mark.parametrize("modes", [["palette"], ["sheet"], ["palette", "sheet"]])
def test_the_window_starts_under_colours_or_a_style_sheet_of_the_views_own(
        tmp_path: Path, modes: list[str]) -> None:
    done = start(tmp_path, modes, start_env(tmp_path))
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stderr[-4000:]}"


def gtk3_display() -> list[str] | None:
    """How to run a program with a display that GTK can open: as it is (a display is set),
    under ``xvfb-run``, or None for neither."""
    if os.environ.get("DISPLAY"):
        return []
    if shutil.which("xvfb-run"):
        return ["xvfb-run", "-a"]
    return None


def test_the_window_starts_under_the_gtk3_platform_theme(tmp_path: Path) -> None:
    prefix = gtk3_display()
    if prefix is None:
        pytest.skip("no X display, and no xvfb-run to make one")
    env = start_env(tmp_path, QT_QPA_PLATFORM="xcb", QT_QPA_PLATFORMTHEME="gtk3",
                    QT_LOGGING_RULES="qt.qpa.theme=true")
    env.pop("WAYLAND_DISPLAY", None)
    probe = subprocess.run(
        [*prefix, sys.executable, "-c",
         "from PySide6.QtWidgets import QApplication; QApplication([])"],
        env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S)
    if probe.returncode != 0 or 'platform theme "gtk3"' not in probe.stderr \
            or "Successfully created" not in probe.stderr:
        pytest.skip("Qt's gtk3 platform theme does not load here")
    done = start(tmp_path, [], env, prefix)
    assert done.returncode == 0, f"exit {done.returncode}:\n{done.stderr[-4000:]}"
