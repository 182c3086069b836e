"""The Runner: answers on the GUI thread through queued signals, stale answers dropped,
failures as sentences, cancellation, and a clean shutdown."""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from PySide6.QtCore import QThread
from pytestqt.qtbot import QtBot

from spyglass.core.cancel import CancelToken
from spyglass.core.errors import ImageNotFound
from spyglass.core.transports.registry.errors import error_for
from spyglass.gui import signals
from spyglass.gui.workers import KEYRING, Job, Runner, threads_abandoned
from tests.gui.guitools import WAIT_MS

pytestmark = pytest.mark.gui


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[Runner]:
    runner = Runner()
    yield runner
    runner.shutdown()
    for thread in runner.findChildren(QThread):
        assert thread.isFinished()


def idle(qtbot: QtBot, runner: Runner) -> None:
    qtbot.waitUntil(lambda: runner.active == 0, timeout=WAIT_MS)


def test_results_arrive_on_the_gui_thread(qtbot: QtBot, runner: Runner) -> None:
    seen: dict[str, object] = {}

    def work(cancel: CancelToken) -> int:
        seen["worker"] = threading.current_thread()
        return 42

    def done(result: int) -> None:
        seen["result"] = result
        seen["callback"] = threading.current_thread()

    with qtbot.waitSignal(runner.busyChanged, timeout=WAIT_MS,
                          check_params_cb=lambda busy: busy is False):
        runner.submit(work, on_done=done)
    assert seen["result"] == 42
    assert seen["callback"] is threading.main_thread()
    assert seen["worker"] is not threading.main_thread()


def test_a_spyglass_error_becomes_its_sentence(qtbot: QtBot, runner: Runner) -> None:
    errors: list[str] = []

    def work(cancel: CancelToken) -> None:
        raise ImageNotFound('The OCI image layout "/x" has no image with the ref "y".')

    runner.submit(work, on_done=lambda _: pytest.fail("no result expected"),
                  on_error=errors.append)
    idle(qtbot, runner)
    assert errors == ['The OCI image layout "/x" has no image with the ref "y".']


def test_a_demand_for_credentials_says_how_to_sign_in_here(qtbot: QtBot, runner: Runner) -> None:
    errors: list[str] = []

    def work(cancel: CancelToken) -> None:
        raise error_for(401, httpx.Headers(), b"", what="Reading the manifest r.example/app:1",
                        host="r.example", kind="manifest", anonymous=True)

    runner.submit(work, on_done=lambda _: pytest.fail("no result expected"), on_error=errors.append)
    idle(qtbot, runner)
    assert errors == [
        "Reading the manifest r.example/app:1 failed: the registry r.example wants valid "
        "credentials. Sign in with Edit Registry… (or Add Registry…, for a registry not "
        "in the list yet)."]  # not spyglass login, not --creds


def test_a_demand_for_credentials_a_locked_keyring_kept_says_to_unlock_it(
    qtbot: QtBot, runner: Runner
) -> None:
    errors: list[str] = []
    runner.listed = lambda host: True

    def work(cancel: CancelToken) -> None:
        raise error_for(401, httpx.Headers(), b"", what="Reading the manifest r.example/app:1",
                        host="r.example", kind="manifest", anonymous=True,
                        keyring_locked="the system keyring")

    runner.submit(work, on_done=lambda _: pytest.fail("no result expected"), on_error=errors.append)
    idle(qtbot, runner)
    assert errors == [
        "Reading the manifest r.example/app:1 failed: the registry r.example wants valid "
        "credentials. The system keyring, where Spyglass keeps credentials, is locked: "
        "unlock it and try again."]  # not "Sign in with Edit Registry": it is signed in


def test_a_token_refused_as_invalid_gets_no_advice_about_the_password(
    qtbot: QtBot, runner: Runner
) -> None:
    errors: list[str] = []
    runner.listed = lambda host: True
    challenge = 'Bearer realm="https://auth.example/token",error="invalid_token"'

    def work(cancel: CancelToken) -> None:
        raise error_for(401, httpx.Headers({"WWW-Authenticate": challenge}), b"",
                        what="Reading the manifest r.example/app:1", host="r.example",
                        kind="manifest")

    runner.submit(work, on_done=lambda _: pytest.fail("no result expected"), on_error=errors.append)
    idle(qtbot, runner)
    [sentence] = errors
    assert "refused the token its token server gave" in sentence
    assert "Edit Registry" not in sentence and "password" not in sentence


@pytest.mark.parametrize(
    ("listed", "anonymous", "advice"),
    [
        (False, True, "Add r.example with Add Registry… to sign in."),
        (True, True, "Sign in with Edit Registry."),
        (True, False, "credentials given. Check the user name and password with Edit Registry."),
    ],
    ids=["not-in-the-list", "in-the-list", "refused"],
)
def test_the_sign_in_advice_names_the_one_action_that_applies(
    qtbot: QtBot, runner: Runner, listed: bool, anonymous: bool, advice: str
) -> None:
    errors: list[str] = []
    runner.listed = lambda host: listed if host == "r.example" else None

    def work(cancel: CancelToken) -> None:
        raise error_for(401, httpx.Headers(), b"", what="Reading the manifest r.example/app:1",
                        host="r.example", kind="manifest", anonymous=anonymous)

    runner.submit(work, on_done=lambda _: pytest.fail("no result expected"), on_error=errors.append)
    idle(qtbot, runner)
    [sentence] = errors
    assert sentence.endswith(f" {advice}")
    assert "Add Registry…, for a registry not in the list yet" not in sentence
    assert sentence.count("Check") <= 1  # one piece of advice, not two in a row


def test_an_unexpected_error_is_logged_and_told_as_a_sentence(
    qtbot: QtBot, runner: Runner, caplog: pytest.LogCaptureFixture
) -> None:
    def work(cancel: CancelToken) -> None:
        raise KeyError("config")

    with qtbot.waitSignal(runner.message, timeout=WAIT_MS) as blocker, \
            caplog.at_level(logging.ERROR, logger="spyglass.gui.workers"):
        runner.submit(work, what="reading the config")  # no on_error: to the status bar
    message = blocker.args[0]
    assert message.startswith("Something unexpected went wrong while reading the config")
    assert "KeyError" in message and message.endswith("the details are in the log.")
    assert "Traceback" in caplog.text or caplog.records[0].exc_info is not None


def test_memory_that_ran_out_is_said_as_such_not_as_a_bug(
        qtbot: QtBot, runner: Runner) -> None:
    def work(cancel: CancelToken) -> None:
        raise MemoryError

    with qtbot.waitSignal(runner.message, timeout=WAIT_MS) as blocker:
        runner.submit(work, what="reading the config")
    assert blocker.args[0] == ("Spyglass ran out of memory (no memory was left); free some "
                               "memory, or raise the limit set on it (ulimit -v), and try "
                               "again.")


class _SlowJob:
    """A job that ignores its token on purpose (its answer itself must be dropped): it
    starts, then holds its answer "A" until ``release`` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.delivered: list[str] = []
        self.cleaned: list[str] = []

    def __call__(self, cancel: CancelToken) -> str:
        self.started.set()
        self.release.wait(WAIT_MS / 1000)
        return "A"

    def submit(self, runner: Runner, key: str) -> Job:
        job = runner.submit(self, on_done=self.delivered.append, key=key,
                            cleanup=self.cleaned.append)
        assert self.started.wait(WAIT_MS / 1000)
        return job


def test_stale_answers_are_dropped_by_generation(qtbot: QtBot, runner: Runner) -> None:
    slow = _SlowJob()
    delivered = slow.delivered
    job_a = slow.submit(runner, "selection")
    job_b = runner.submit(lambda cancel: "B", on_done=delivered.append, key="selection")
    assert job_a.token.cancelled and not job_a.is_current
    assert job_b.generation > job_a.generation
    assert runner.generation("selection") == job_b.generation
    qtbot.waitUntil(lambda: delivered == ["B"], timeout=WAIT_MS)
    with qtbot.waitSignal(runner.jobDropped, timeout=WAIT_MS) as dropped:
        slow.release.set()
    assert dropped.args == ["selection"]
    idle(qtbot, runner)
    assert delivered == ["B"]
    assert slow.cleaned == ["A"]  # what a stale answer holds is released, in the background


def test_a_forgotten_key_is_not_kept_and_its_late_answer_is_dropped(
        qtbot: QtBot, runner: Runner) -> None:
    """A key forgotten (its owner went) leaves nothing in the runner, and an answer of it
    that comes later reaches no callback, even once a new job of the key is current."""
    slow = _SlowJob()
    delivered = slow.delivered
    job_a = slow.submit(runner, "files:1")
    runner.forget("files:1")
    assert runner.keys == frozenset()
    assert job_a.token.cancelled and not job_a.is_current
    assert runner.active == 1  # (still running: only its answer will be dropped)
    with qtbot.waitSignal(runner.jobDropped, timeout=WAIT_MS) as dropped:
        slow.release.set()
    assert dropped.args == ["files:1"]
    idle(qtbot, runner)
    assert delivered == []
    assert slow.cleaned == ["A"]  # what the late answer holds is released, in the background

    # the key begins anew, and an answer of it from before it was forgotten stays stale
    slow.release.clear()
    slow.started.clear()
    job_c = slow.submit(runner, "files:1")
    runner.forget("files:1")
    job_d = runner.submit(lambda cancel: "D", on_done=delivered.append, key="files:1")
    assert job_d.generation > job_c.generation and not job_c.is_current
    qtbot.waitUntil(lambda: delivered == ["D"], timeout=WAIT_MS)
    slow.release.set()
    idle(qtbot, runner)
    assert delivered == ["D"]
    runner.forget("files:1")
    runner.forget("never-used")  # (a key no job used: nothing to keep either)
    assert runner.keys == frozenset()


def test_jobs_without_a_key_are_never_stale(qtbot: QtBot, runner: Runner) -> None:
    results: list[int] = []
    for i in range(10):
        runner.submit(lambda cancel, i=i: i, on_done=results.append)
    idle(qtbot, runner)
    assert sorted(results) == list(range(10))
    assert len(runner.findChildren(QThread)) <= 4


def test_cancel_reaches_the_token(qtbot: QtBot, runner: Runner) -> None:
    started = threading.Event()
    stopped = threading.Event()
    answers: list[object] = []

    def work(cancel: CancelToken) -> None:
        started.set()
        while not cancel.cancelled:
            threading.Event().wait(0.005)
        stopped.set()
        cancel.check()

    runner.submit(work, on_done=answers.append, on_error=answers.append, key="k")
    assert started.wait(WAIT_MS / 1000)
    runner.cancel("k")
    assert stopped.wait(WAIT_MS / 1000)
    idle(qtbot, runner)
    assert answers == []  # a cancelled job reports nothing


def test_a_lane_whose_threads_hang_holds_up_no_other_lane(qtbot: QtBot) -> None:
    """Each lane has threads of its own; a job waits for the first of its lane's to be
    free (not behind one chosen when it came, whose job may be the one that hangs)."""
    from spyglass.gui.workers import registry_lane

    runner = Runner(max_threads=2)
    release = [threading.Event(), threading.Event()]
    held = threading.Barrier(3)

    def hang(which: int) -> Callable[[CancelToken], int]:
        def job(cancel: CancelToken) -> int:
            held.wait()
            while not release[which].wait(0.01):
                cancel.check()
            return which
        return job

    hung = registry_lane("hung.example")
    answers: list[object] = []
    for which in (0, 1):
        runner.submit(hang(which), on_done=answers.append, lane=hung)
    held.wait(WAIT_MS / 1000)
    runner.submit(lambda cancel: "next in line", on_done=answers.append, lane=hung)
    runner.submit(lambda cancel: "local", on_done=answers.append)
    runner.submit(lambda cancel: "another registry", on_done=answers.append,
                  lane=registry_lane("other.example"))
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=WAIT_MS)
    assert sorted(map(str, answers)) == ["another registry", "local"]
    qtbot.wait(50)
    assert len(answers) == 2  # the hung lane's third job waits for one of its two
    release[1].set()  # the second thread frees first: the job waiting takes it
    qtbot.waitUntil(lambda: len(answers) == 4, timeout=WAIT_MS)
    assert answers[2:] == [1, "next in line"]
    runner.shutdown()
    assert all(t.isFinished() for t in runner.findChildren(QThread))


def test_shutdown_cancels_work_waits_for_drain_jobs_and_stops_threads(qtbot: QtBot) -> None:
    runner = Runner()
    started = threading.Event()
    saved = threading.Event()

    def endless(cancel: CancelToken) -> None:
        started.set()
        while not cancel.cancelled:
            threading.Event().wait(0.005)
        cancel.check()

    def save(cancel: CancelToken) -> None:
        threading.Event().wait(0.05)
        saved.set()

    runner.submit(endless)
    assert started.wait(WAIT_MS / 1000)
    runner.submit(save, serial=True, drain=True)
    runner.shutdown()
    assert saved.is_set()
    assert runner.closed
    threads = runner.findChildren(QThread)
    assert threads and all(t.isFinished() for t in threads)
    # after shutdown nothing runs, and shutting down again is harmless
    ran = threading.Event()
    runner.submit(lambda cancel: ran.set())
    runner.shutdown()
    assert not ran.is_set()


def test_a_drain_job_waiting_for_a_thread_of_its_lane_still_runs_at_shutdown(
        qtbot: QtBot) -> None:
    runner = Runner(max_threads=1)
    started = threading.Event()
    closed = threading.Event()

    def endless(cancel: CancelToken) -> None:
        started.set()
        while not cancel.cancelled:
            threading.Event().wait(0.005)
        cancel.check()

    runner.submit(endless)
    assert started.wait(WAIT_MS / 1000)
    runner.submit(lambda cancel: closed.set(), drain=True)  # waits: the one thread is busy
    runner.shutdown()
    assert closed.is_set()
    assert all(t.isFinished() for t in runner.findChildren(QThread))


def test_a_job_that_ignores_its_cancel_does_not_hold_up_closing_or_abort_it(
        qtbot: QtBot) -> None:
    """Two such jobs on two threads: closing waits once (not once per thread), then sets
    the threads aside, so deleting the runner does not destroy a running QThread (Qt
    aborts the process for that); the application leaves with os._exit while any runs."""
    runner = Runner()
    release = threading.Event()
    running = threading.Barrier(3)

    def deaf(cancel: CancelToken) -> None:
        running.wait()
        release.wait(10)  # a call that does not look at the token (a connect, say)

    runner.submit(deaf)
    runner.submit(deaf)
    running.wait(WAIT_MS / 1000)
    threads = runner.findChildren(QThread)
    assert len(threads) == 2
    waits: list[int] = []
    for thread in threads:
        real_wait = thread.wait

        def recorded_wait(ms: int, real_wait: Callable[[int], bool] = real_wait) -> bool:
            waits.append(ms)
            return real_wait(ms)

        thread.wait = recorded_wait  # type: ignore[method-assign]
    runner.shutdown(timeout_ms=300)
    assert len(waits) == 2  # each thread was waited for...
    assert sum(waits) <= 300  # ...out of one 300 ms allowance, not 300 ms each
    assert threads_abandoned()
    assert not runner.findChildren(QThread)  # no longer the runner's to destroy
    runner.deleteLater()
    qtbot.wait(50)  # the runner is gone; the process goes on
    release.set()
    qtbot.waitUntil(lambda: not threads_abandoned(), timeout=WAIT_MS)
    for thread in threads:
        del thread.wait  # the real QThread.wait again
    assert all(thread.wait(WAIT_MS) for thread in threads)


def test_idle_threads_are_not_left_behind_when_a_drain_job_takes_the_time(
        qtbot: QtBot) -> None:
    runner = Runner()
    for _ in range(2):
        runner.submit(lambda cancel: None)
    idle(qtbot, runner)

    def slow_save(cancel: CancelToken) -> None:
        time.sleep(0.4)

    runner.submit(slow_save, serial=True, drain=True)
    runner.shutdown(timeout_ms=300)  # the save alone takes longer than that
    # the two idle workers ended (they are still the runner's); only the writer, still
    # saving, was set aside
    workers = runner.findChildren(QThread)
    assert len(workers) == 2 and all(t.isFinished() for t in workers)
    assert threads_abandoned()
    qtbot.waitUntil(lambda: not threads_abandoned(), timeout=WAIT_MS)


class _LeakySignal:
    """Stands in for a signal; its ``emit`` takes a reference from True when ``leaks``,
    as PySide6 6.12.0's does (the PySide6 these tests run on may not)."""

    def __init__(self, leaks: bool) -> None:
        self.leaks = leaks
        self.emitted: list[tuple[object, ...]] = []

    def emit(self, *args: object) -> None:
        self.emitted.append(args)
        if self.leaks:
            ctypes.pythonapi.Py_DecRef(ctypes.py_object(True))


@pytest.mark.parametrize("leaks", [True, False], ids=["leaking-emit", "sound-emit"])
def test_emitting_keeps_the_reference_count_of_true(
        monkeypatch: pytest.MonkeyPatch, leaks: bool) -> None:
    """PySide6 6.12.0's emit takes a reference from True; the helper gives it back (and,
    on a PySide6 without the bug, gives nothing)."""
    monkeypatch.setattr(signals, "EMIT_LOSES_TRUE", leaks)
    signal = _LeakySignal(leaks)
    emits = 50  # few: True has thousands of references, so a lost one per emit is no crash
    before = sys.getrefcount(True)
    for _ in range(emits):
        signals.emit(signal, False)  # type: ignore[arg-type]
    change = sys.getrefcount(True) - before
    for _ in range(-change):  # put back what a broken helper lost, before failing
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
    for _ in range(change):
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(True))
    assert signal.emitted == [(False,)] * emits
    assert change == 0


def test_lanes_are_registries_and_an_idle_one_lets_its_threads_go(
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lane is a registry (docker://alpine is docker.io's; a name half typed in the
    Copy dialog is no lane of its own), and a registry's lane idle for a while lets its
    threads go: a session visiting thirty registries kept thirty threads and more."""
    from spyglass.gui import workers
    from spyglass.gui.workers import LOCAL, copy_lane, lane_of, registry_lane

    assert lane_of("docker://alpine") == lane_of("docker://team/app:1") == \
        registry_lane("docker.io")
    assert lane_of("docker://127.0.0.1:5000/team/app:1") == registry_lane("127.0.0.1:5000")
    assert lane_of("docker://127.0.0.1:") == lane_of("oci:/tmp/x:1") == LOCAL
    assert copy_lane("oci:/tmp/x:1", "docker://r.example/a:1") == registry_lane("r.example")
    assert copy_lane("docker://s.example/a", "docker://r.example/a") == \
        registry_lane("s.example")

    monkeypatch.setattr(workers, "IDLE_LANE_MS", 50)
    runner = Runner()
    answers: list[object] = []
    for number in range(5):
        runner.submit(lambda cancel, n=number: n, on_done=answers.append,
                      lane=registry_lane(f"r{number}.example"))
    runner.submit(lambda cancel: "local", on_done=answers.append)
    qtbot.waitUntil(lambda: len(answers) == 6, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: set(runner._threads) == {LOCAL}, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not runner._stopping, timeout=WAIT_MS)
    runner.submit(lambda cancel: "again", on_done=answers.append,
                  lane=registry_lane("r0.example"))
    qtbot.waitUntil(lambda: answers[-1] == "again", timeout=WAIT_MS)
    runner.shutdown()
    assert all(t.isFinished() for t in runner.findChildren(QThread))


def test_a_job_cancelled_while_it_waits_for_a_thread_is_let_go_at_once(qtbot: QtBot) -> None:
    """It stayed queued, and counted as work under way (the busy spinner on), until the
    job before it ended: minutes, behind a registry that hangs."""
    runner = Runner(max_threads=1)
    release = threading.Event()
    busy: list[bool] = []
    runner.busyChanged.connect(busy.append)

    def hang(cancel: CancelToken) -> str:
        while not release.wait(0.01):
            cancel.check()
        return "done"

    runner.submit(hang, lane="registry:hung.example", key="first")
    answers: list[object] = []
    runner.submit(lambda cancel: "late", on_done=answers.append, lane="registry:hung.example",
                  key="listing")
    assert runner.active == 2
    runner.cancel("listing")
    assert runner.active == 1
    runner.cancel("first")
    qtbot.waitUntil(lambda: runner.active == 0, timeout=WAIT_MS)
    assert busy == [True, False] and answers == []
    runner.shutdown()


def test_one_job_cancelled_is_let_go_its_answer_dropped(qtbot: QtBot) -> None:
    """:meth:`Runner.cancel_job` ends one job of no key: one waiting for a thread at once,
    one under way once it sees its cancel; neither answers, and the others run on."""
    runner = Runner(max_threads=1)
    release = threading.Event()
    lane = "registry:hung.example"

    def hang(cancel: CancelToken) -> str:
        while not release.wait(0.01):
            cancel.check()
        return "done"

    answers: list[object] = []
    running = runner.submit(hang, on_done=answers.append, on_error=answers.append, lane=lane)
    waiting = runner.submit(lambda cancel: "late", on_done=answers.append, lane=lane)
    runner.submit(lambda cancel: "next", on_done=answers.append, lane=lane)
    runner.cancel_job(waiting)
    assert runner.active == 2 and waiting.token.cancelled
    runner.cancel_job(running)
    qtbot.waitUntil(lambda: runner.active == 0, timeout=WAIT_MS)
    assert answers == ["next"]
    runner.shutdown()


def test_a_keyring_write_that_waits_holds_up_no_settings_save(qtbot: QtBot,
                                                              runner: Runner) -> None:
    """Serial jobs of the keyring's lane have a writer of their own: a keyring waiting on
    its unlock prompt held up the settings saved behind it, past the close."""
    prompt = threading.Event()
    order: list[str] = []

    def keyring_write(_cancel: CancelToken) -> None:
        prompt.wait(WAIT_MS / 1000)
        order.append("keyring")

    runner.submit(keyring_write, serial=True, lane=KEYRING, drain=True)
    runner.submit(lambda _cancel: order.append("settings"), serial=True, drain=True)
    qtbot.waitUntil(lambda: order == ["settings"], timeout=WAIT_MS)
    names = {t.objectName() for t in runner.findChildren(QThread)}
    assert {"spyglass-writer", "spyglass-keyring-writer"} <= names
    # serial within the lane: a second keyring write waits for the first
    runner.submit(lambda _cancel: order.append("keyring 2"), serial=True, lane=KEYRING)
    qtbot.wait(100)
    assert order == ["settings"]
    prompt.set()
    qtbot.waitUntil(lambda: order == ["settings", "keyring", "keyring 2"], timeout=WAIT_MS)
