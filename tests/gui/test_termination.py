"""The window closes properly on SIGTERM and SIGHUP (a session ending, ``kill``) and on
SIGINT (Ctrl+C in its terminal): the settings are saved and the process ends normally,
rather than dying on the spot (or, for a Ctrl+C, with a CRITICAL traceback logged)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from spyglass import dataclass_code
from spyglass.gui import app as app_module
from spyglass.gui.main_window import MainWindow
from tests.gui.scripted import FakeClock, ScriptedCopy, start_scripted
from tests.gui.xserver import catches, private_x_server, start_window, wait_for_window, window_env

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize(("signum", "status"),
                         [(signal.SIGTERM, 0), (signal.SIGHUP, 0), (signal.SIGINT, 130)])
def test_a_termination_closes_the_window_and_saves_the_settings(
    tmp_path: Path, signum: int, status: int
) -> None:
    env = {**{key: value for key, value in os.environ.items()
              if key != "PYTHONDONTWRITEBYTECODE"},
           "PYTHONPATH": str(REPO_ROOT / "app"), "QT_QPA_PLATFORM": "offscreen",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_DATA_HOME": str(tmp_path / "data")}
    # $XDG_CONFIG_HOME is there (Spyglass makes its own folder in it, never the base)
    (tmp_path / "config").mkdir()
    layout = REPO_ROOT / "resources" / "sample-layout"
    # (SIGINT as a terminal leaves it, not ignored as a script's background job has it)
    process = subprocess.Popen([sys.executable, "-m", "spyglass", str(layout)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=_sigint_default)
    try:
        deadline = time.monotonic() + 30
        # SIGTERM, taken over with the others (Python takes SIGINT from its start)
        while not catches(process.pid, signal.SIGTERM):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the window never took the signal over"
            time.sleep(0.05)
        process.send_signal(signum)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == status, err.decode()
    said = err.decode()
    assert f"{signal.Signals(signum).name}: closing the window" in said, said
    assert "Traceback" not in said and "CRITICAL" not in said, said
    saved = next((tmp_path / "config").rglob("*.json"))
    locations = json.loads(saved.read_text()).get("open_locations")
    assert locations and str(layout) in json.dumps(locations), saved.read_text()
    # and the compiled code of its dataclasses kept for the next start
    assert (tmp_path / "cache" / "spyglass" / dataclass_code.FILE_NAME).is_file()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_the_window_ends_cleanly_when_its_x_server_goes_away(tmp_path: Path) -> None:
    """An X11 logout or ``xvfb-run`` ending with the window open: the process aborted
    (QThread destroyed while running: an idle worker thread), now it closes the window
    as a close from the program does and ends."""
    layout = REPO_ROOT / "resources" / "sample-layout"
    with private_x_server() as (server, display):
        process = start_window(window_env(tmp_path, display), str(layout))
        try:
            wait_for_window(process)
            time.sleep(DISPLAY_SHOWN_S)  # the sample opened: its worker thread idle
            server.kill()
            server.wait(timeout=30)
            _out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode not in (-signal.SIGABRT, 128 + signal.SIGABRT), err.decode()
    assert process.returncode >= 0, err.decode()
    assert "QThread: Destroyed" not in err.decode(), err.decode()
    saved = next((tmp_path / "config").rglob("*.json"))
    locations = json.loads(saved.read_text()).get("open_locations")
    assert locations and str(layout) in json.dumps(locations), saved.read_text()


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


DISPLAY_SHOWN_S = 2.0
"""How long the window runs on its display before the display goes away."""


# -- in the window's own process: a termination while a dialog is open


RESCUE_MS = 20_000
"""How long a test waits for the signal to end a dialog before it ends it itself (so that
a failing test fails rather than hangs)."""


@pytest.fixture
def terminable(window: MainWindow) -> Iterator[MainWindow]:
    """The window with SIGTERM, SIGHUP and SIGINT taken over as ``run`` takes them over.

    The wake-up socket's notifier belongs to an object of the fixture's, as ``run``'s
    belongs to the application, not to the window: a window deleted first took the
    notifier with it, and putting the handlers back failed on it."""
    owner = QObject()
    termination = app_module.close_on_termination(window, owner)
    yield window
    termination.restore()
    shiboken6.delete(owner)


def _terminated_during(open_dialog: Callable[[], object],
                       signum: int) -> tuple[list[object], int]:
    """Run the application's event loop, as ``run`` does; in it, ``open_dialog`` (which
    returns once its dialog is closed if it runs the dialog's own loop), and ``signum``
    once the dialog is up.

    Returns what ``open_dialog`` returned (nothing if it never did) and the event loop's
    status. A dialog still open :data:`RESCUE_MS` after the signal is closed by the test,
    which then fails (rather than hangs)."""
    returned: list[object] = []
    rescued: list[str] = []

    def rescue() -> None:
        while (widget := QApplication.activeModalWidget()) is not None:
            rescued.append(f"{type(widget).__name__} {widget.windowTitle()!r}")
            widget.hide()
        QApplication.exit(1)

    def terminate_once_open() -> None:
        if QApplication.activeModalWidget() is None:
            QTimer.singleShot(10, terminate_once_open)
            return
        rescuer.start()
        signal.raise_signal(signum)

    def run_dialog() -> None:
        QTimer.singleShot(0, terminate_once_open)
        returned.append(open_dialog())

    rescuer = QTimer(singleShot=True, interval=RESCUE_MS)
    rescuer.timeout.connect(rescue)
    QTimer.singleShot(0, run_dialog)
    status = QApplication.exec()
    rescuer.stop()
    assert not rescued, f"the signal left {rescued} open"
    return returned, status


def _saved_and_stopped(window: MainWindow, settings_file: Path) -> None:
    assert not window.isVisible() and window.runner.closed
    assert json.loads(settings_file.read_text())["first_run_done"] is True


@pytest.mark.gui
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_termination_ends_the_unexpected_error_dialog(
        terminable: MainWindow, settings_file: Path, signum: int) -> None:
    handler = app_module.CrashHandler(lambda *_: None)

    def crash() -> bool:
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            handler(type(exc), exc, exc.__traceback__)
        return True

    returned, status = _terminated_during(crash, signum)
    assert returned == [True] and status == 0
    _saved_and_stopped(terminable, settings_file)


@pytest.mark.gui
def test_a_termination_during_the_quit_question_stops_the_copies_and_ends(
        qtbot: QtBot, terminable: MainWindow, settings_file: Path, scripted: ScriptedCopy,
        tmp_path: Path) -> None:
    transfer = start_scripted(qtbot, terminable, scripted, FakeClock(), tmp_path)
    returned, status = _terminated_during(terminable.quit_action.trigger, signal.SIGTERM)
    assert returned == [None] and status == 0
    _saved_and_stopped(terminable, settings_file)
    assert transfer.token.cancelled


@pytest.mark.gui
def test_a_termination_ends_a_file_dialog(terminable: MainWindow,
                                          settings_file: Path) -> None:
    returned, status = _terminated_during(terminable.open_archive_action.trigger,
                                         signal.SIGTERM)
    assert returned == [None] and status == 0
    _saved_and_stopped(terminable, settings_file)
    assert terminable.places.rowCount() == 0  # nothing was chosen, nothing opened


@pytest.mark.gui
def test_a_termination_ends_the_copy_dialog(terminable: MainWindow,
                                            settings_file: Path) -> None:
    """The Copy dialog is window-modal, with no event loop of its own (open(), not exec())."""
    returned, status = _terminated_during(lambda: terminable.copying.open_dialog(None),
                                          signal.SIGTERM)
    assert len(returned) == 1 and status == 0
    assert QApplication.activeModalWidget() is None
    assert terminable.copying.dialog is None or not terminable.copying.dialog.isVisible()
    _saved_and_stopped(terminable, settings_file)
