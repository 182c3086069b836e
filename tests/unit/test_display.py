"""``spyglass`` with no display to open the window on: a sentence and status 1 before Qt
is loaded, not Qt's abort (status 134) with a hint about libxcb-cursor0."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from spyglass.cli.display import display_problem

REPO = Path(__file__).resolve().parents[2]

WHAT_TO_DO = ("start Spyglass in a desktop session, or under xvfb-run (xvfb-run spyglass), "
              "or use its command line (spyglass --help).")


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    """A short folder for X sockets (a socket's path may not be longer than 107 bytes)."""
    with tempfile.TemporaryDirectory(prefix="x11-", dir="/tmp") as folder:
        yield Path(folder)


def test_no_display_at_all_is_said_with_what_to_do(socket_dir: Path) -> None:
    assert display_problem({}, socket_dir) == (
        "There is no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is "
        f"set): {WHAT_TO_DO}")
    assert display_problem({"DISPLAY": "", "QT_QPA_PLATFORM": ""}, socket_dir) is not None
    assert display_problem({"QT_QPA_PLATFORM": "xcb"}, socket_dir) == (
        "There is no display to open the window on (QT_QPA_PLATFORM is xcb and DISPLAY is "
        f"not set): {WHAT_TO_DO}")


def test_a_local_display_nobody_serves_is_said(socket_dir: Path) -> None:
    assert display_problem({"DISPLAY": ":57"}, socket_dir) == (
        f"No X server answers on DISPLAY=:57 (there is no {socket_dir}/X57), so the window "
        f"cannot open: {WHAT_TO_DO}")
    assert display_problem({"DISPLAY": "unix:57.0"}, socket_dir) is not None
    # the socket of an X server that is gone, left behind
    left = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    left.bind(str(socket_dir / "X58"))
    left.close()
    assert display_problem({"DISPLAY": ":58"}, socket_dir) == (
        f"No X server answers on DISPLAY=:58 (nothing listens at {socket_dir}/X58), so the "
        f"window cannot open: {WHAT_TO_DO}")


def test_a_local_display_that_answers_is_left_to_qt(socket_dir: Path) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(socket_dir / "X59"))
        server.listen(1)
        assert display_problem({"DISPLAY": ":59"}, socket_dir) is None
        assert display_problem({"DISPLAY": ":59.0", "QT_QPA_PLATFORM": "xcb"},
                               socket_dir) is None


@pytest.mark.parametrize("environ", [
    {"QT_QPA_PLATFORM": "offscreen"},
    {"QT_QPA_PLATFORM": "offscreen", "DISPLAY": ":57"},
    {"QT_QPA_PLATFORM": "wayland;xcb"},
    {"QT_QPA_PLATFORM": "vnc:size=800x600"},
    {"WAYLAND_DISPLAY": "wayland-0"},
    {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":57"},
    {"DISPLAY": "remote.example:0"},  # over TCP: maybe slow to answer, so not asked
    {"DISPLAY": "localhost:10.0"},  # ssh -X
])
def test_what_cannot_be_told_at_once_is_left_to_qt(environ: dict[str, str],
                                                    socket_dir: Path) -> None:
    assert display_problem(environ, socket_dir) is None


def _without_display(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return dict(env, PYTHONPATH=str(REPO / "app"), **extra)


@pytest.mark.parametrize("extra", [{}, {"DISPLAY": ":57"}])
def test_the_program_says_it_and_exits_1_before_qt_is_loaded(
        extra: dict[str, str], tmp_path: Path) -> None:
    if extra and Path("/tmp/.X11-unix/X57").exists():
        pytest.skip("an X server runs on display :57 here")
    layout = tmp_path / "layout"
    layout.mkdir()
    for args in ([], [str(layout)], [str(layout), str(tmp_path / "gone")]):
        done = subprocess.run(
            [sys.executable, "-m", "spyglass", *args], env=_without_display(**extra),
            capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 1, done.stderr
        said = done.stderr.splitlines()
        assert len(said) == 1, done.stderr
        assert said[0].startswith("spyglass: ") and said[0].endswith(WHAT_TO_DO)
        assert done.stdout == ""


def test_qt_is_not_loaded_for_it() -> None:
    script = ("import sys; from spyglass.cli import main; code = main([]); "
              "print(code, sorted({m.split('.')[0] for m in sys.modules} & {'PySide6'}))")
    done = subprocess.run([sys.executable, "-c", script], env=_without_display(),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout == "1 []\n", done.stderr
