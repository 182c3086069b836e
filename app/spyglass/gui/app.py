"""Starting the window: the application object, the crash dialog hook, the first places."""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Final

from PySide6.QtCore import QCoreApplication, QObject, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from spyglass import __version__, dataclass_code
from spyglass.core.settings import settings_path
from spyglass.core.settings_file import read_settings
from spyglass.gui import icons
from spyglass.gui.dialogs.crash import CrashDialog, crash_report
from spyglass.gui.main_window import MainWindow
from spyglass.gui.workers import threads_abandoned
from spyglass.launch import end_interrupted
from spyglass.window_args import split_arguments

log = logging.getLogger(__name__)

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


class CrashHandler:
    """A ``sys.excepthook`` that logs an uncaught exception and shows :class:`CrashDialog`.

    Exceptions raised in Qt slots and overrides reach ``sys.excepthook``
    (PySide prints them through it); without this hook they would scroll by on
    a terminal nobody watches, or take the window down. A second exception
    while the dialog is up goes to the previous hook only. A KeyboardInterrupt (Ctrl+C)
    is no crash: it is logged at INFO, without a traceback, and ends the event loop
    with status 130 (while ``starting``, the process, as :func:`end_interrupted` does).

    While ``starting`` (the window being made), there is no going on: Qt calls back
    into a window half made (an event filter before its attributes are set), and
    "Keep Working" went on making it, into a segmentation fault. The dialog then offers
    to quit only, and the process ends with status 1 once it is closed.
    """

    def __init__(self, previous: ExceptHook | None = None) -> None:
        self.previous = previous or sys.__excepthook__
        self._showing = False
        self.starting = False
        self.dialog_factory: Callable[..., CrashDialog] = CrashDialog

    def __call__(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            # a Ctrl+C that came before the window took SIGINT over (or after it gave
            # it back): the way out it is meant as, no crash to report
            if self.starting:
                end_interrupted()  # (no event loop yet to leave)
            log.info("Ctrl+C: closing the window")
            QCoreApplication.exit(INTERRUPTED_STATUS)
            return
        log.critical("Uncaught exception", exc_info=(exc_type, exc, tb))
        if self._showing or QApplication.instance() is None:
            self.previous(exc_type, exc, tb)
            return
        self._showing = True
        try:
            summary = f"{exc_type.__name__}: {exc}" if str(exc) else exc_type.__name__
            dialog = self.dialog_factory(summary, crash_report(exc_type, exc, tb),
                                         starting=self.starting)
            dialog.exec()
            if self.starting:
                # no event loop runs yet to exit, and the window cannot be finished
                log.critical("Spyglass could not start; ending")
                logging.shutdown()
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(1)
            if dialog.quit_requested:
                QCoreApplication.exit(1)
        finally:
            self._showing = False

    def install(self) -> None:
        sys.excepthook = self


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    # httpx logs each request's whole URL at INFO, redirects too: a blob's pre-signed
    # URL (its signature, its user:password@) would go to stderr and the session's log
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


QUIET_LOGGERS: Final = ("httpx", "httpcore")
"""Loggers kept to warnings: what they say at INFO holds URLs that hold secrets."""


GUI_SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits (Python's default: 0.005)."""


QT_PROGRAM_NAME: Final = "spyglass"
"""The ``argv[0]`` Qt is given, however the program was started (``spyglass``, ``python -m
spyglass``: ``…/__main__.py``): Qt's X11 windows take their ``WM_CLASS`` instance name
from it, which the desktop entry's ``StartupWMClass`` and taskbars go by. Qt needs
nothing else of it (the program's own path it reads from ``/proc``)."""


def create_application(argv: list[str]) -> QApplication:
    """The QApplication (or the one that exists), named and with the Spyglass icon."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(argv)
    app.setApplicationName("Spyglass")
    app.setApplicationDisplayName("Spyglass")
    app.setOrganizationName("Spyglass")
    app.setOrganizationDomain("spyglass.invalid")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("spyglass")
    app.setWindowIcon(icons.app_icon())
    # Worker threads hand the GIL back to the event loop within 1 ms instead of 5:
    # every Qt callback into Python needs it, and copies keep several threads busy.
    sys.setswitchinterval(GUI_SWITCH_INTERVAL)
    return app


def run(argv: list[str]) -> int:
    """Open the window; ``argv`` holds paths of layouts or archives to open (and Qt options).

    Settings are read here, before the window exists (a small file under the
    user's config folder); everything after that reads disk only on worker
    threads.
    """
    _configure_logging()
    options, paths = split_arguments(argv)
    # Qt is given its own options only: the paths are no business of its
    app = create_application([QT_PROGRAM_NAME, *options])
    crashes = CrashHandler(sys.excepthook)
    crashes.install()
    path = settings_path()
    loaded = read_settings(path)
    crashes.starting = True
    window = MainWindow(loaded.settings, settings_file=path, settings_read=loaded)
    window.restore_window_geometry()
    termination = close_on_termination(window, app)
    window.show()
    crashes.starting = False
    # the places of last time come back beside those given (make run gives the sample;
    # a file manager, the files chosen): none of the session is lost for them
    window.restore_session(given=paths)
    for i, path in enumerate(paths):
        window.open_location(path, select=(i == 0))
    settle()
    code = app.exec()
    if not window.closed:
        # the event loop ended with the window open: its display went away (Qt's xcb
        # leaves the loop when the X server ends: a logout, xvfb-run done) or a Ctrl+C.
        # Closed as a close from the program is, its threads are stopped and its places
        # saved; left to the interpreter's end, its running QThreads were destroyed
        # while running, which Qt answers with an abort
        log.info("The event loop ended with the window open; closing it")
        end_session(window)
    termination.restore()
    if code == 0 and termination.received == signal.SIGINT:
        code = INTERRUPTED_STATUS  # closed by a Ctrl+C: said so to the shell
    dataclass_code.save()  # (if installed)
    if threads_abandoned():
        # a job that ignored its cancel still runs: ending the interpreter would destroy
        # its running QThread, which Qt answers with an abort; leave at once instead
        # (its temporaries are claimed, and the next copy sweeps them away)
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    return code


class Termination:
    """The signals :func:`close_on_termination` took over.

    Attributes:
        received: the last of them that came (``None`` while none has).
    """

    def __init__(self, restore: Callable[[], None] = lambda: None) -> None:
        self.received: int | None = None
        self._restore = restore

    def restore(self) -> None:
        """Put the handlers as they were before."""
        self._restore()


def close_on_termination(window: MainWindow, owner: QObject) -> Termination:
    """SIGTERM, SIGHUP (the session ending, ``kill``) and SIGINT (Ctrl+C in the terminal
    the window was started from) close the window as a close from the program does
    (:func:`end_session`, which ends a dialog open then too): copies under way are
    cancelled and take back what they wrote, the settings are saved, and the program
    ends. SIGTERM and SIGHUP used to end the process on the spot; SIGINT raised a
    KeyboardInterrupt in whatever slot ran next, which the crash hook logged as a crash.
    A SIGINT that is ignored (a job a script started in the background) stays ignored.

    Python runs a signal handler only once it runs again, which an idle event loop
    may not do for long: a wake-up socket that the loop watches makes it run at once.
    ``owner`` keeps the socket. Returns what was taken over, and which signal came
    (:func:`run` ends with status 130 after a SIGINT, as a shell expects).
    """
    if threading.current_thread() is not threading.main_thread():
        return Termination()
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    try:
        signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    except ValueError:
        reader.close()
        writer.close()
        return Termination()
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, owner)

    def drain() -> None:
        try:
            reader.recv(512)
        except OSError:
            pass

    def close_sockets() -> None:
        try:
            previous = signal.set_wakeup_fd(-1)
            if previous != writer.fileno():
                signal.set_wakeup_fd(previous)  # another's since: put it back
        except (ValueError, OSError):
            pass
        reader.close()
        writer.close()

    notifier.activated.connect(drain)
    # the connections keep both sockets for as long as the notifier lives
    notifier.destroyed.connect(close_sockets)

    def close_window(signum: int, frame: object) -> None:
        log.info("%s: closing the window", signal.Signals(signum).name)
        termination.received = signum
        QTimer.singleShot(0, lambda: end_session(window))

    taken = [signal.SIGTERM, signal.SIGHUP]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        taken.append(signal.SIGINT)
    before = {signum: signal.signal(signum, close_window) for signum in taken}

    def restore() -> None:
        for signum, handler in before.items():
            signal.signal(signum, handler)
        notifier.setEnabled(False)
        close_sockets()

    termination = Termination(restore)
    return termination


def end_session(window: MainWindow) -> None:
    """Close the window as a close from the program does (the last window closed, Qt
    leaves the event loop).

    A dialog open then is rejected first, as Cancel would. The window's own dialogs (a
    question, a file dialog, the Copy dialog) would close with it, but the Unexpected
    Error dialog belongs to no window: its ``exec()`` loop kept running, and the
    process with it, until a SIGKILL.
    """
    for _ in range(MODAL_DIALOGS_MAX):
        widget = QApplication.activeModalWidget()
        if widget is None:
            break
        if isinstance(widget, QDialog):
            widget.done(QDialog.DialogCode.Rejected)
        if widget.isVisible():  # no dialog, or one that stays on its way out
            widget.hide()
    window.close()


INTERRUPTED_STATUS: Final = 128 + signal.SIGINT
"""The window's exit status after a Ctrl+C (130), as a shell gives a program SIGINT ended."""


MODAL_DIALOGS_MAX: Final = 32
"""More dialogs open one over another than a person could open; a guard against one
that keeps coming back."""


def settle() -> None:
    """Once the window is up: move everything made so far (modules, Qt wrappers) out
    of the garbage collector's sight, so its full collections, which hold the GIL and
    with it the event loop, stay short."""
    gc.collect()
    gc.freeze()


__all__ = ["CrashHandler", "Termination", "close_on_termination", "create_application", "run",
           "settle", "split_arguments"]
