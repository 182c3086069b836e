"""Background jobs: every disk or network call of the window runs here, never on the GUI thread.

A job is a function ``fn(cancel) -> result``. :meth:`Runner.submit` wraps it in
a :class:`Worker` (a QObject), moves that to a QThread the runner owns, and
starts it with a queued call. The worker calls the function there and reports
back only through its signals; the runner, which lives on the GUI thread,
receives them queued and hands the answer to the caller's callbacks. The runner
holds every job until its answer is in (git-cola's ``RunTask``), so nothing is
collected while it runs.

Lanes: every job runs in a *lane* — what it waits on: a registry's host
(:func:`registry_lane`), or :data:`LOCAL` for the disk and everything else —
and each lane has threads of its own, at most ``max_threads``. A job starts
only on a thread of its lane with nothing to do; while there is none it waits
in its lane's queue, for whichever of them is free first. A registry that takes
requests and never answers (each is given minutes: a 60 s read, four times)
so holds up its own jobs alone: another registry's, and the local layouts', run
beside it. (One pool for all let four hung listings hold every thread, a local
layout's included, for four minutes; and a job queued on a busy thread waited
for that thread's job, though another's thread was free.)

Stale answers are dropped (git-cola's grep widget): a job submitted with a
``key`` gets the next *generation* of that key and cancels the older jobs of
the same key. An answer whose generation is no longer current — the user
selected something else meanwhile — never reaches its callbacks; if it holds
something that must be released, the job's ``cleanup`` runs on it in the
background. The owner of a key made for one object (a place, a dialog) forgets
it when the object goes (:meth:`Runner.forget`), so the keys do not pile up.

Lifetimes: once its answer is in, a worker is deleted by its own thread
(``deleteLater``), and the runner keeps the Python wrapper until the C++ object
is gone — a wrapper that dies first leaves Qt calling into freed memory.
Workers are never disconnected by hand (PySide6 6.12's ``disconnect`` shares
the reference bug :mod:`spyglass.gui.signals` works around); Qt removes a
worker's connections as it deletes it. :meth:`Runner.shutdown` (the
window calls it when it closes) cancels every job, waits for the ones marked
``drain`` (saving the settings), and stops the threads with ``quit`` + ``wait``.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import shiboken6
from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, QTimer, Signal, Slot

from spyglass.core.cancel import CancelToken
from spyglass.core.errors import (
    AuthenticationFailed,
    ChangedSinceRead,
    SourceMoved,
    SpyglassError,
)
from spyglass.core.retry import WAIT_LISTENER, WAITING_ON, Wait
from spyglass.core.text import visible
from spyglass.core.threads import lower_priority
from spyglass.gui.signals import emit

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_THREADS: Final = 4
"""Threads per lane."""
LOCAL: Final = "local"
"""The lane of jobs that wait on no registry: disk, keyring lookups, what is computed."""
KEYRING: Final = "keyring"
"""The lane of the writes to the system keyring (passwords saved and removed), serial:
one that waits on the keyring's unlock prompt holds up only these, never the settings
saved on :data:`LOCAL`'s writer (closing would lose those)."""
IDLE_LANE_MS: Final = 30_000
"""A registry's lane whose threads have had nothing to do this long lets them go (a
session that visits many registries does not keep four threads for each)."""
SHUTDOWN_WAIT_MS: Final = 5000
"""How long closing waits, all threads together, for the jobs it cancelled to end."""

QUIT_GRACE_MS: Final = 1000
"""What a thread without a job gets to end at shutdown, whatever is left of the wait."""

_ABANDONED: list[QThread] = []
"""Threads still running when their runner shut down. Qt aborts the process when a
running QThread is destroyed, so they are never destroyed: they are held here, and
:func:`threads_abandoned` tells the application to end with ``os._exit``."""


def registry_lane(host: str) -> str:
    """The lane of the jobs that wait on the registry ``host``."""
    return f"registry:{host}"


def registry_host(name: str) -> str:
    """The registry of an image name (``docker://HOST/…``, ``docker://alpine``:
    docker.io); "" for any other place, and for a name that is not a reference yet
    (half typed: its lane would be one more of its own)."""
    if not name.startswith("docker://"):
        return ""
    from spyglass.core.errors import SpyglassError
    from spyglass.core.reference import parse_docker_reference

    try:
        return parse_docker_reference(name.removeprefix("docker://")).domain
    except SpyglassError:
        return ""


def lane_of(name: str) -> str:
    """The lane of the jobs that read the image or place ``name`` (``docker://HOST/…``:
    that registry's; anything else, :data:`LOCAL`)."""
    host = registry_host(name)
    return registry_lane(host) if host else LOCAL


def copy_lane(source: str, destination: str) -> str:
    """The lane of a job that reads ``source`` and asks ``destination`` (planning a copy):
    the source's registry's, else the destination's, else :data:`LOCAL`."""
    for name in (source, destination):
        if registry_host(name):
            return lane_of(name)
    return LOCAL


def threads_abandoned() -> bool:
    """Whether a shutdown left a thread running (a job that ignored its cancel)."""
    return any(thread.isRunning() for thread in _ABANDONED)


SIGN_IN_ADVICE: Final = ("Sign in with Edit Registry… (or Add Registry…, for a registry "
                         "not in the list yet).")
"""What the window adds to a registry's demand for credentials when it cannot tell
whether the registry is in its list (the command line names its own ``spyglass
login`` and ``--creds`` instead)."""

Listed = Callable[[str], bool | None]
"""Whether a registry host is in the window's list (None: cannot tell)."""


def _unknown(host: str) -> bool | None:
    return None


RELOAD_ADVICE: Final = "Reload the place (F5) to see what it holds now."
"""What the window adds to the sentence of a place that changed since it was read (a
layout folder moved, an image removed from it): its rows still show it as it was."""


def window_sentence(exc: SpyglassError, listed: Listed = _unknown) -> str:
    """The error's sentence, with how to act on it in this window where there is a way:
    for a registry that wants credentials, the one action that applies to it (none
    when the keyring that keeps them was locked: the sentence says to unlock it; nor
    when the registry refused the token its token server gave for them); for a
    place that changed since the window read it, Reload (the window's rows show it as it
    was; a copy whose source's name moved names the image the window showed)."""
    if isinstance(exc, SourceMoved):
        return (f"{exc.name} now names {exc.found}, not the image shown ({exc.expected}); "
                "reload the place (F5) to see it, then copy again.")
    if isinstance(exc, ChangedSinceRead):
        return f"{exc} {RELOAD_ADVICE}"
    if not isinstance(exc, AuthenticationFailed) or exc.keyring_locked or exc.token_refused:
        return str(exc)
    known = listed(exc.host) if exc.host else None
    if known is False:
        advice = f"Add {exc.host} with Add Registry… to sign in."
    elif known and exc.credentials_sent and exc.refusal:
        return f"{exc.refusal} Check {exc.to_check} with Edit Registry."
    elif known and exc.credentials_sent:
        advice = "Change them with Edit Registry."
    elif known:
        advice = "Sign in with Edit Registry."
    else:
        advice = SIGN_IN_ADVICE
    return f"{exc} {advice}"


def unexpected_error_sentence(what: str, exc: BaseException) -> str:
    """What a person sees for an exception the core did not mean to raise (memory that
    ran out is no bug: it says so; nor a Python dependency missing, imported only when a
    job needs it: it names the package, as the command line does)."""
    from spyglass.core.errors import out_of_memory
    from spyglass.dependencies import missing_dependency_problem

    if (short := out_of_memory(exc)) is not None:
        return str(short)
    if (missing := missing_dependency_problem(exc)) is not None:
        return missing
    detail = str(exc).strip()
    detail = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return (
        f"Something unexpected went wrong while {what} ({detail}). "
        "This is a bug in Spyglass; the details are in the log."
    )


class Worker(QObject):
    """Calls one job's function on the thread it has been moved to.

    Signals:
        finished(object): the function returned; carries its result.
        failed(str): the function raised; carries a sentence for a person —
            the :class:`SpyglassError`'s own, or for any other exception a
            generic one (the traceback goes to the log); what would not show as
            itself written as an escape (:func:`~spyglass.core.text.visible`).
    """

    finished = Signal(object)
    failed = Signal(str)
    waitBegins = Signal(object)
    """A request of the function begins a :class:`~spyglass.core.retry.Wait` before it is
    asked again: one a registry asked for (``Retry-After``), or the backoff after it could
    not be reached. Neither is a registry that stopped answering."""
    waitingOn = Signal(str)
    """A request of the function waits on another server than its registry's (``the
    token server H of R``), or no longer does (""): see
    :data:`~spyglass.core.retry.WAITING_ON`."""

    def __init__(
        self, fn: Callable[[CancelToken], object], token: CancelToken, what: str,
        listed: Listed = _unknown,
    ) -> None:
        super().__init__()
        self._fn = fn
        self._token = token
        self.what = what
        """What the job does, completing "while …"."""
        self._listed = listed
        self.done = threading.Event()
        """Set (on the worker thread) once :meth:`run` is over, whatever the outcome."""

    @Slot()
    def run(self) -> None:
        listening = WAIT_LISTENER.set(lambda wait: emit(self.waitBegins, wait))
        watching = WAITING_ON.set(lambda who: emit(self.waitingOn, who))
        try:
            self._token.check()
            result = self._fn(self._token)
        except SpyglassError as exc:
            # (a name's byte that is not UTF-8 as \xff: a QString would drop it)
            emit(self.failed, visible(window_sentence(exc, self._listed)))
        except Exception as exc:
            log.exception("Unexpected error while %s", self.what)
            emit(self.failed, visible(unexpected_error_sentence(self.what, exc)))
        else:
            emit(self.finished, result)
        finally:
            WAITING_ON.reset(watching)
            WAIT_LISTENER.reset(listening)
            self.done.set()


@dataclass(eq=False)
class Job:
    """One submitted job, as the :class:`Runner` tracks it.

    Attributes:
        key: the request key, or None for a job that is never stale.
        generation: the key's generation when the job was submitted.
        token: the job's cancel token.
        drain: whether shutdown waits for this job instead of cancelling it.
        lane: the lane it runs in (see the module docstring).
        thread: the QThread the worker runs on; None while it waits for one (and for a
            job refused after shutdown).
    """

    runner: Runner
    worker: Worker | None
    key: str | None
    generation: int
    token: CancelToken
    on_done: Callable[[Any], None] | None
    on_error: Callable[[str], None] | None
    cleanup: Callable[[Any], object] | None
    drain: bool
    lane: str
    thread: QThread | None = None
    on_wait: Callable[[Wait], None] | None = None
    on_waiting_on: Callable[[str], None] | None = None

    @property
    def is_current(self) -> bool:
        """False once a newer job of the same key was submitted (or the key cancelled)."""
        return self.runner.is_current(self)

    def cancel(self) -> None:
        self.token.cancel()


class Runner(QObject):
    """Runs jobs on a few QThreads per lane and delivers their answers on the GUI thread.

    Owned by the main window; call :meth:`shutdown` before it goes away.

    Signals:
        busyChanged(bool): True when the first job starts, False when the last ends.
        message(str): the failure sentence of a job submitted without ``on_error``.
        jobDropped(str): an answer for ``key`` arrived stale or cancelled and was discarded.
    """

    busyChanged = Signal(bool)
    message = Signal(str)
    jobDropped = Signal(str)

    def __init__(self, parent: QObject | None = None, *, max_threads: int = MAX_THREADS) -> None:
        super().__init__(parent)
        self._max_threads = max(1, max_threads)
        self._threads: dict[str, list[QThread]] = {}
        """Each lane's threads."""
        self._waiting: dict[str, deque[Job]] = {}
        """Each lane's jobs waiting for a thread of it, first come first."""
        self._idle_timers: dict[str, QTimer] = {}
        self._stopping: list[QThread] = []
        """Threads of idle lanes asked to quit, held until they have."""
        self._writers: dict[str, QThread] = {}
        """Each lane's writer: the thread of its ``serial`` jobs."""
        self._load: dict[QThread, int] = {}
        self._jobs: dict[Worker, Job] = {}
        self._retiring: list[Worker] = []
        self._generations: dict[str, int] = {}
        self.listed: Listed = _unknown
        """Whether a registry is in the window's list, for the advice of failure
        sentences (:func:`window_sentence`); set by the window. Called on worker threads."""
        self._counter = itertools.count(1)
        self._closed = False

    # -- public

    @property
    def active(self) -> int:
        """How many jobs are submitted and not yet answered."""
        return len(self._jobs)

    @property
    def closed(self) -> bool:
        return self._closed

    def generation(self, key: str) -> int:
        """The current generation of ``key`` (0 before any job used it)."""
        return self._generations.get(key, 0)

    def is_current(self, job: Job) -> bool:
        return job.key is None or self._generations.get(job.key) == job.generation

    def submit(
        self,
        fn: Callable[[CancelToken], T],
        *,
        on_done: Callable[[T], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        key: str | None = None,
        what: str = "working in the background",
        cleanup: Callable[[T], object] | None = None,
        serial: bool = False,
        drain: bool = False,
        lane: str = LOCAL,
        on_wait: Callable[[Wait], None] | None = None,
        on_waiting_on: Callable[[str], None] | None = None,
    ) -> Job:
        """Run ``fn(cancel_token)`` on a worker thread of ``lane``.

        ``on_done(result)`` or ``on_error(sentence)`` is called later on the GUI
        thread — unless the job was cancelled or, with a ``key``, superseded
        by a newer job of that key first. ``what`` completes the sentence
        "while …" for unexpected errors. ``serial`` jobs run one after another
        on the writer thread of their lane (writes: the settings on :data:`LOCAL`'s,
        the keyring on :data:`KEYRING`'s), beside the lane's other jobs. ``drain`` jobs
        are waited for, not cancelled, at shutdown. A job that waits on a registry
        runs in its lane (:func:`registry_lane`), or one that hangs holds up others.
        ``on_wait(wait)`` is called on the GUI thread while the job is current, as a
        request of it begins a :class:`~spyglass.core.retry.Wait`: one a registry asked
        for (``Retry-After``), or the backoff after it could not be reached.
        ``on_waiting_on(who)`` is called so too as a request of it waits on another
        server than its registry (``the token server H of R``), and with "" once it no
        longer does (:data:`~spyglass.core.retry.WAITING_ON`).
        """
        token = CancelToken()
        generation = 0
        if key is not None:
            generation = next(self._counter)
            self._generations[key] = generation
            for job in self._jobs.values():
                if job.key == key:
                    job.cancel()
        if self._closed:
            log.debug("Not running a job submitted after shutdown: %s", what)
            token.cancel()
            return Job(self, None, key, generation, token, on_done, on_error, cleanup, drain,
                       lane)
        self._purge()
        worker = Worker(fn, token, what, self.listed)
        job = Job(self, worker, key, generation, token, on_done, on_error, cleanup, drain,
                  lane, on_wait=on_wait, on_waiting_on=on_waiting_on)
        self._jobs[worker] = job
        worker.finished.connect(self._worker_finished)
        worker.failed.connect(self._worker_failed)
        worker.waitBegins.connect(self._worker_waits)
        worker.waitingOn.connect(self._worker_waiting_on)
        if len(self._jobs) == 1:
            emit(self.busyChanged, True)
        if serial:
            self._start(job, self._writer(lane))
        else:
            self._waiting.setdefault(lane, deque()).append(job)
            self._dispatch(lane)
        return job


    def cancel(self, key: str) -> None:
        """Make every job of ``key`` stale and ask it to stop; one still waiting for a
        thread is let go at once (it no longer counts as work under way)."""
        self._generations[key] = next(self._counter)
        for job in self._jobs.values():
            if job.key == key:
                job.cancel()
        for queue in self._waiting.values():
            for job in [job for job in queue if job.key == key]:
                self._drop_waiting(queue, job)
        if not self._jobs:
            emit(self.busyChanged, False)

    def forget(self, key: str) -> None:
        """:meth:`cancel` ``key``, and keep nothing of it: for the key of something gone
        (a place closed, a dialog closed), or a long session keeps one entry for each
        it ever made. An answer of the key that still comes is dropped all the same (no
        generation of it is current: none ever is again, the numbers only go up); a
        later job of the key begins it anew."""
        self.cancel(key)
        del self._generations[key]

    @property
    def keys(self) -> frozenset[str]:
        """The keys the runner keeps a generation for (until :meth:`forget`)."""
        return frozenset(self._generations)

    def cancel_job(self, job: Job) -> None:
        """Ask ``job`` to stop: its answer, if one still comes, never reaches its callbacks.
        One still waiting for a thread is let go at once (as :meth:`cancel` lets go of
        those of a key)."""
        job.cancel()
        queue = self._waiting.get(job.lane)
        if queue is not None and job in queue:
            self._drop_waiting(queue, job)
            if not self._jobs:
                emit(self.busyChanged, False)

    def cancel_all(self) -> None:
        for job in self._jobs.values():
            if not job.drain:
                job.cancel()

    def shutdown(self, timeout_ms: int = SHUTDOWN_WAIT_MS) -> None:
        """Cancel the jobs, let ``drain`` jobs finish, stop the threads, all within
        ``timeout_ms`` (a thread without a job always gets :data:`QUIT_GRACE_MS`). A thread
        still in a job then is set aside (see :func:`threads_abandoned`). Safe to call
        twice."""
        if self._closed:
            return
        self._closed = True
        self.cancel_all()
        deadline = time.monotonic() + timeout_ms / 1000  # one wait for all, not one each

        def left_ms() -> int:
            return max(0, round((deadline - time.monotonic()) * 1000))

        for lane in list(self._waiting):  # (the event loop will not hand them on now)
            self._dispatch(lane, all_of_them=True)
        for worker, job in self._jobs.items():
            if job.drain and not worker.done.wait(left_ms() / 1000):
                log.warning("Closing without waiting longer for %s: it did not finish in "
                            "time.", worker.what)
        busy = {job.thread for worker, job in self._jobs.items() if not worker.done.is_set()}
        for worker in list(self._jobs):
            self._retire(worker)
        self._jobs.clear()
        for timer in self._idle_timers.values():
            timer.stop()
        threads = [*(t for lane in self._threads.values() for t in lane), *self._stopping,
                   *self._writers.values()]
        for thread in threads:
            thread.quit()  # a finishing thread deletes what was deleteLater()'d on it
        for thread in threads:
            # an idle thread ends at once, but gets its moment even when a drain job
            # took all the time: only a thread still in a job is ever left behind
            wait_ms = left_ms() if thread in busy else max(left_ms(), QUIT_GRACE_MS)
            if not thread.wait(wait_ms):
                log.warning("The background thread %s did not stop in time; it is left "
                            "to end with the process.", thread.objectName())
                thread.setParent(None)  # not destroyed with the runner while it runs
                _ABANDONED.append(thread)
        self._purge()
        emit(self.busyChanged, False)

    # -- internals

    def _new_thread(self, name: str) -> QThread:
        thread = QThread(self)
        thread.setObjectName(name)
        # jobs are background work: the event loop's thread gets the processor first
        thread.started.connect(lower_priority, Qt.ConnectionType.DirectConnection)
        thread.start()
        return thread

    def _writer(self, lane: str) -> QThread:
        writer = self._writers.get(lane)
        if writer is None:
            name = "spyglass-writer" if lane == LOCAL else f"spyglass-{lane}-writer"
            writer = self._writers[lane] = self._new_thread(name)
        return writer

    def _start(self, job: Job, thread: QThread) -> None:
        worker = job.worker
        assert worker is not None
        job.thread = thread
        self._load[thread] = self._load.get(thread, 0) + 1
        worker.moveToThread(thread)
        QMetaObject.invokeMethod(worker, "run", Qt.ConnectionType.QueuedConnection)

    def _dispatch(self, lane: str, *, all_of_them: bool = False) -> None:
        """Start the jobs waiting in ``lane`` on its free threads (a new one while it has
        fewer than ``max_threads``); ``all_of_them`` queues the rest behind the jobs
        running (at shutdown, when no answer will hand them on)."""
        waiting = self._waiting.get(lane)
        threads = self._threads.setdefault(lane, [])
        while waiting:
            idle = next((t for t in threads if self._load.get(t, 0) == 0), None)
            if idle is None and len(threads) < self._max_threads:
                idle = self._new_thread(f"spyglass-{lane}-{len(threads) + 1}")
                threads.append(idle)
            if idle is None and all_of_them:
                idle = min(threads, key=lambda t: self._load.get(t, 0))
            if idle is None:
                return
            self._start(waiting.popleft(), idle)

    def _watch_idle(self, lane: str) -> None:
        """Let a registry's lane go once it has been idle :data:`IDLE_LANE_MS`."""
        if lane == LOCAL or self._closed:
            return
        timer = self._idle_timers.get(lane)
        if timer is None:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(IDLE_LANE_MS)
            timer.timeout.connect(lambda: self._let_go(lane))
            self._idle_timers[lane] = timer
        timer.start()

    def _let_go(self, lane: str) -> None:
        threads = self._threads.get(lane, [])
        if self._closed or self._waiting.get(lane) or any(
                self._load.get(thread, 0) for thread in threads):
            return  # busy again: its next answer watches it anew
        self._threads.pop(lane, None)
        self._waiting.pop(lane, None)
        self._idle_timers.pop(lane).deleteLater()
        for thread in threads:
            self._load.pop(thread, None)
            self._stopping.append(thread)
            thread.quit()  # (it has no job: it ends at once)
        QTimer.singleShot(QUIT_GRACE_MS, self, self._reap_stopped)

    def _reap_stopped(self) -> None:
        """Delete the threads of lanes let go that have ended (on the GUI thread)."""
        for thread in [t for t in self._stopping if t.isFinished()]:
            self._stopping.remove(thread)
            thread.deleteLater()

    def _drop_waiting(self, queue: deque[Job], job: Job) -> None:
        """Take a cancelled ``job`` out of the ``queue`` it waits in, and forget it."""
        queue.remove(job)
        if job.worker is not None:
            self._jobs.pop(job.worker, None)
            self._retire(job.worker)
            job.worker = None
        emit(self.jobDropped, job.key or "")

    def _retire(self, worker: Worker) -> None:
        """Let the worker's own thread delete it; hold the wrapper until it has."""
        worker.deleteLater()
        self._retiring.append(worker)

    def _purge(self) -> None:
        """Forget the wrappers of workers whose C++ objects are gone."""
        self._retiring = [w for w in self._retiring if shiboken6.isValid(w)]

    @Slot(object)
    def _worker_finished(self, result: object) -> None:
        self._answer(self.sender(), True, result)

    @Slot(object)
    def _worker_waits(self, wait: Wait) -> None:
        sender = self.sender()
        job = self._jobs.get(sender) if isinstance(sender, Worker) else None
        if (job is not None and job.on_wait is not None and self.is_current(job)
                and not job.token.cancelled):
            job.on_wait(wait)

    @Slot(str)
    def _worker_waiting_on(self, who: str) -> None:
        sender = self.sender()
        job = self._jobs.get(sender) if isinstance(sender, Worker) else None
        if (job is not None and job.on_waiting_on is not None and self.is_current(job)
                and not job.token.cancelled):
            job.on_waiting_on(who)

    @Slot(str)
    def _worker_failed(self, message: str) -> None:
        self._answer(self.sender(), False, message)

    def _answer(self, sender: QObject | None, ok: bool, payload: object) -> None:
        job = self._jobs.pop(sender, None) if isinstance(sender, Worker) else None
        if job is None or job.worker is None:
            return  # shut down meanwhile
        self._retire(job.worker)
        job.worker = None
        if job.thread is not None:
            self._load[job.thread] = max(0, self._load.get(job.thread, 0) - 1)
            if job.thread is not self._writers.get(job.lane):
                self._dispatch(job.lane)
                self._watch_idle(job.lane)
        try:
            if not self.is_current(job) or job.token.cancelled:
                log.debug("Dropping a stale answer for %s", job.key)
                if ok and job.cleanup is not None:
                    cleanup = job.cleanup
                    self.submit(lambda _token: cleanup(payload), what="releasing a location")
                emit(self.jobDropped, job.key or "")
                return
            if ok:
                if job.on_done is not None:
                    job.on_done(payload)
            else:
                message = str(payload)
                if job.on_error is not None:
                    job.on_error(message)
                else:
                    emit(self.message, message)
        finally:
            if not self._jobs:
                emit(self.busyChanged, False)


__all__ = ["KEYRING", "LOCAL", "Job", "Runner", "Worker", "copy_lane", "lane_of", "registry_host",
           "registry_lane", "threads_abandoned", "unexpected_error_sentence",
           "window_sentence"]
