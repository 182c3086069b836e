"""Starting the window through ``run``, and the crash dialog hook."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel, QPushButton
from pytestqt.qtbot import QtBot

from spyglass.core.settings import normalize_location, settings_path
from spyglass.core.settings_file import load_settings
from spyglass.gui import app as app_module
from spyglass.gui.dialogs.crash import CrashDialog, crash_report
from spyglass.gui.main_window import MainWindow
from spyglass.gui.models.places import LoadState
from spyglass.window_args import split_arguments
from tests.helpers.imagebuild import multi_platform_layout

pytestmark = pytest.mark.gui

CloseOnceListed = Callable[[int], dict[str, Any]]
"""The ``close_once_listed`` fixture: given how many places to wait for."""


@pytest.fixture(autouse=True)
def own_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test's window its own settings: a run on paths brings back the places the
    last window of the session left open, which would be another test's."""
    (tmp_path / "config").mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


class FakeDialog:
    """Stands in for CrashDialog: records what it was shown instead of blocking."""

    shown: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, summary: str, details: str, *, starting: bool = False) -> None:
        self.summary, self.details, self.starting = summary, details, starting
        self.quit_requested = False

    def exec(self) -> int:
        FakeDialog.shown.append((self.summary, self.details))
        return 0


def test_crash_handler_logs_and_shows_the_dialog(qapp: QApplication,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    previous_calls: list[BaseException] = []
    handler = app_module.CrashHandler(lambda t, e, tb: previous_calls.append(e))
    handler.dialog_factory = FakeDialog  # type: ignore[assignment]
    FakeDialog.shown.clear()
    try:
        raise ValueError("the layer table is upside down")
    except ValueError as exc:
        handler(type(exc), exc, exc.__traceback__)
    summary, details = FakeDialog.shown[0]
    assert summary == "ValueError: the layer table is upside down"
    assert "Traceback" in details and "test_app.py" in details
    assert details.startswith("Spyglass ")
    assert "Uncaught exception" in caplog.text
    assert previous_calls == []


def test_a_ctrl_c_reaching_the_crash_handler_is_no_crash(
        qapp: QApplication, caplog: pytest.LogCaptureFixture) -> None:
    """A KeyboardInterrupt raised in a slot (a Ctrl+C before SIGINT is taken over) ends
    the event loop with 130, logged at INFO: no CRITICAL line, no traceback, no dialog."""
    previous_calls: list[BaseException] = []
    handler = app_module.CrashHandler(lambda t, e, tb: previous_calls.append(e))
    handler.dialog_factory = FakeDialog  # type: ignore[assignment]
    FakeDialog.shown.clear()
    caplog.set_level(logging.INFO, logger=app_module.log.name)
    statuses: list[int] = []

    def interrupted() -> None:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            handler(type(exc), exc, exc.__traceback__)

    QTimer.singleShot(0, interrupted)
    give_up = QTimer()  # (a failing test ends; stopped after, or it ends a later test's loop)
    give_up.setSingleShot(True)
    give_up.timeout.connect(lambda: QApplication.exit(1))
    give_up.start(5_000)
    try:
        statuses.append(QApplication.exec())
    finally:
        give_up.stop()
    assert statuses == [130]
    assert FakeDialog.shown == [] and previous_calls == []
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "Ctrl+C: closing the window")]
    assert not any(r.exc_info for r in caplog.records)


def test_crash_dialog_offers_to_keep_working_or_quit(qtbot: QtBot) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        report = crash_report(type(exc), exc, exc.__traceback__)
    dialog = CrashDialog("RuntimeError: boom", report)
    qtbot.addWidget(dialog)
    assert "RuntimeError: boom" in dialog.details.toPlainText()
    assert not dialog.quit_requested
    # Enter keeps working (it copied the details: that button was the default)
    QGuiApplication.clipboard().setText("left alone")
    dialog.show()
    qtbot.waitExposed(dialog)
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert QGuiApplication.clipboard().text() == "left alone"
    dialog._quit()
    assert dialog.quit_requested


def test_the_crash_dialog_of_a_start_offers_to_quit_only(qtbot: QtBot) -> None:
    """A window half made cannot be worked in: no "Keep Working", and Enter quits."""
    dialog = CrashDialog("AttributeError: splitter", "details", starting=True)
    qtbot.addWidget(dialog)
    texts = [button.text() for button in dialog.findChildren(QPushButton)]
    assert "Keep Working" not in texts and "Quit Spyglass" in texts
    assert "while Spyglass was starting" in dialog.findChild(QLabel).text()
    dialog.show()
    qtbot.waitExposed(dialog)
    with qtbot.waitSignal(dialog.rejected, timeout=2000):
        qtbot.keyClick(dialog, Qt.Key.Key_Return)
    assert dialog.quit_requested


class _Ended(Exception):
    """Stands in for the end of the process."""


def test_an_exception_while_the_window_is_made_ends_the_process(
        qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> None:
    """Going on making a window whose making raised ended in a segmentation fault: the
    handler says it with the start's dialog, then ends with status 1."""
    ends: list[int] = []

    def end(status: int) -> None:
        ends.append(status)
        raise _Ended

    monkeypatch.setattr(app_module.os, "_exit", end)
    handler = app_module.CrashHandler(lambda *_: None)
    handler.dialog_factory = FakeDialog  # type: ignore[assignment]
    FakeDialog.shown.clear()
    handler.starting = True
    with pytest.raises(_Ended):
        try:
            raise AttributeError("'LayersPage' object has no attribute 'splitter'")
        except AttributeError as exc:
            handler(type(exc), exc, exc.__traceback__)
    assert ends == [1] and len(FakeDialog.shown) == 1
    handler.starting = False  # once the window is shown, one may keep working
    try:
        raise ValueError("later")
    except ValueError as exc:
        handler(type(exc), exc, exc.__traceback__)
    assert ends == [1] and len(FakeDialog.shown) == 2


def test_run_is_starting_while_the_window_is_made(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_layout: Path,
        close_once_listed: CloseOnceListed) -> None:
    """run() marks its handler as starting while MainWindow is made, and not after."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    states: list[bool] = []
    made = MainWindow.__init__

    def making(self: MainWindow, *args: Any, **kwargs: Any) -> None:
        states.append(getattr(sys.excepthook, "starting", None) is True)
        made(self, *args, **kwargs)

    monkeypatch.setattr(MainWindow, "__init__", making)
    seen = close_once_listed(1)
    assert app_module.run([str(tmp_layout)]) == 0
    assert states == [True]
    assert seen["hook"].starting is False


def test_create_application_names_the_app(qapp: QApplication) -> None:
    app = app_module.create_application([])
    assert app is qapp
    assert app.applicationName() == "Spyglass"
    assert not app.windowIcon().isNull()


def test_run_opens_the_paths_it_is_given(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch,
                                         sample_layout: Path, tmp_layout: Path,
                                         close_once_listed: CloseOnceListed) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run() installs its own
    seen = close_once_listed(1)
    assert app_module.run([str(tmp_layout)]) == 0
    assert seen["paths"] == [str(tmp_layout)]
    assert isinstance(seen["hook"], app_module.CrashHandler)
    saved = load_settings(settings_path())
    assert normalize_location(tmp_layout) in saved.recent_locations
    assert saved.first_run_done


def test_qt_is_given_its_own_options_and_the_paths_stay_python_paths() -> None:
    """``spyglass PATH`` with a byte of PATH that is not UTF-8 crashed in QApplication
    (PySide6 segfaults on a surrogate): Qt gets its options alone, the paths stay whole."""
    bad = os.fsdecode(b"/layouts/bad\xff")
    options, paths = split_arguments(
        ["-platform", "offscreen", bad, "-style=fusion", "-reverse", "caf\u00e9.tar",
         "-stylesheet", os.fsdecode(b"x\xff.qss")])
    assert options == ["-platform", "offscreen", "-style=fusion", "-reverse",
                       "-stylesheet", "x\ufffd.qss"]
    assert paths == [Path(bad), Path("caf\u00e9.tar")]
    assert os.fsencode(paths[0]) == b"/layouts/bad\xff"
    # after --, every word is a path (spyglass -- PATH…): none goes to Qt, nor -- itself
    assert split_arguments(["-reverse", "--", "-style", "inspect"]) == (
        ["-reverse"], [Path("-style"), Path("inspect")])


def test_a_first_run_on_the_sample_shows_its_notice(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        sample_layout: Path, close_once_listed: CloseOnceListed) -> None:
    """``make run`` starts the window on the user's copy of the sample: at the first start,
    the notice that says it is a sample (with the ways to open one's own) is shown over
    it, as at a first start without a path. It never was, and the first start was over."""
    from spyglass.gui.sample import own_sample

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run() installs its own
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    (tmp_path / "data").mkdir()
    own = own_sample(sample_layout)
    assert own is not None and own != sample_layout
    seen = close_once_listed(1)
    assert app_module.run([str(own)]) == 0
    assert seen["paths"] == [str(own)]
    assert seen["sample_notice"] is True


def test_a_first_run_on_another_path_shows_no_sample_notice(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_layout: Path,
        close_once_listed: CloseOnceListed) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run() installs its own
    seen = close_once_listed(1)
    assert app_module.run([str(tmp_layout)]) == 0
    assert seen["paths"] == [str(tmp_layout)]
    assert seen["sample_notice"] is False


def test_run_on_a_path_brings_back_the_places_of_last_time_too(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        tmp_layout: Path, close_once_listed: CloseOnceListed) -> None:
    """``spyglass PATH`` (make run gives the sample; a file manager, the files chosen)
    opened PATH alone, and the window then remembered PATH alone: the places open before
    were lost from the session. They come back beside it; PATH is the one selected."""
    from spyglass.core.settings import Settings
    from spyglass.core.settings_file import save_settings

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run() installs its own
    before = tmp_path / "before"
    multi_platform_layout(before)
    save_settings(Settings(open_locations=[str(before)], recent_locations=[str(before)],
                           first_run_done=True), settings_path())
    seen = close_once_listed(2)
    assert app_module.run([str(tmp_layout)]) == 0
    assert sorted(seen["paths"]) == sorted([str(before), str(tmp_layout)])
    assert seen["selected"] == str(tmp_layout)
    saved = load_settings(settings_path())
    assert sorted(saved.open_locations) == sorted([str(before), str(tmp_layout)])


def test_run_opens_a_folder_whose_name_is_not_utf8(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        close_once_listed: CloseOnceListed) -> None:
    """The window opens ``bad\\xff/layout`` given on the command line (it crashed), and
    what Qt is given holds no path."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run() installs its own
    layout = Path(os.fsdecode(os.fsencode(tmp_path) + b"/bad\xff/layout"))
    multi_platform_layout(layout)
    given: list[list[str]] = []
    create = app_module.create_application

    def recording(argv: list[str]) -> QApplication:
        given.append(list(argv))
        return create(argv)

    monkeypatch.setattr(app_module, "create_application", recording)
    seen = close_once_listed(1)
    assert app_module.run([str(layout)]) == 0
    assert len(given) == 1 and str(layout) not in given[0]
    for arg in given[0]:
        arg.encode("utf-8")  # nothing a QString cannot hold
    assert seen["paths"] == [str(layout)]
    assert seen["states"] == [LoadState.LOADED.value]


def test_the_program_opens_each_path_it_is_given(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch,
                                                tmp_layout: Path, tmp_path: Path,
                                                close_once_listed: CloseOnceListed) -> None:
    """``spyglass A B`` (a desktop entry's Exec=spyglass %F): each path a place, and one
    that is not there says so in its row, as a place that is gone does."""
    from spyglass.cli import main

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # run() installs its own
    gone = tmp_path / "gone.tar"
    seen = close_once_listed(2)
    assert main([str(tmp_layout), str(gone)]) == 0
    assert seen["paths"] == [str(tmp_layout), str(gone)]
    assert seen["states"] == [LoadState.LOADED.value, LoadState.FAILED.value]
    assert seen["errors"][1] == f'The path "{gone}" does not exist.'


@pytest.fixture
def close_once_listed() -> Iterator[CloseOnceListed]:
    """Watch for the window :func:`run` opens; once it lists ``places_wanted`` places, none
    still loading, note their paths, states and errors and the exception hook in the
    dict returned, and close it (the run ends after 10 s whatever happens, so a test
    never hangs).

    The timers are stopped as the test ends: left running, the 10 s quit ended a later
    test's event loop, and the watch closed a later test's window."""
    timers: list[QTimer] = []

    def watch(places_wanted: int) -> dict[str, Any]:
        seen: dict[str, Any] = {}

        def close_when_listed() -> None:
            windows = [w for w in QApplication.topLevelWidgets()
                       if isinstance(w, MainWindow) and w.isVisible()]
            if not windows:
                return
            places = windows[0].places
            rows = [places.index(r, 0) for r in range(places.rowCount())]
            states = [places.data(row, places.STATE_ROLE) for row in rows]
            if len(states) == places_wanted and LoadState.LOADING.value not in states:
                seen["paths"] = places.paths
                seen["states"] = states
                seen["errors"] = [places.data(row, places.ERROR_ROLE) for row in rows]
                seen["hook"] = sys.excepthook
                seen["sample_notice"] = not windows[0].sample_notice.isHidden()
                chosen = windows[0].tree.currentIndex()  # (a place, or an image of it)
                while chosen.parent().isValid():
                    chosen = chosen.parent()
                seen["selected"] = places.data(chosen, places.PATH_ROLE)
                timer.stop()
                windows[0].close()

        timer = QTimer()
        timer.setInterval(20)
        timer.timeout.connect(close_when_listed)
        timer.start()
        give_up = QTimer()
        give_up.setSingleShot(True)
        give_up.timeout.connect(QApplication.quit)
        give_up.start(10_000)
        timers.extend((timer, give_up))
        return seen

    yield watch
    for timer in timers:
        timer.stop()


def test_colours_and_fonts_of_our_own_follow_the_theme(qapp: QApplication) -> None:
    """A dark theme gets a light red for error sentences (the deep one read at 1.3:1 on
    it), and fixed-pitch text (digests, paths, JSON) takes the application's font size."""
    from PySide6.QtGui import QColor, QPalette

    from spyglass.gui.colors import error_color
    from spyglass.gui.models.table import monospace_font

    light, dark = QPalette(), QPalette()
    light.setColor(QPalette.ColorRole.Window, QColor("#f0f0f0"))
    dark.setColor(QPalette.ColorRole.Window, QColor("#2d2d30"))
    assert error_color(light).lightness() < 128 < error_color(dark).lightness()
    font = qapp.font()
    try:
        bigger = qapp.font()
        bigger.setPointSizeF(15.0)
        qapp.setFont(bigger)
        assert monospace_font().pointSizeF() == 15.0
    finally:
        qapp.setFont(font)
