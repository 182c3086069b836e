"""Cancel tokens: aborts run once when the token is set, linked tokens, and Ctrl+C held off."""

from __future__ import annotations

import _thread
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from spyglass.core.cancel import (
    FINAL_STRETCH_NOTICE,
    CancelToken,
    Terminated,
    final_stretch,
    held_interrupt,
    held_whole,
    in_place_from_here,
    interrupts_deferred,
    linked,
    past_commit,
    stop_like_ctrl_c_on_termination,
)
from spyglass.core.errors import Cancelled


def test_an_abort_runs_once_in_the_cancelling_call_and_can_be_withdrawn() -> None:
    token = CancelToken()
    ran: list[str] = []
    key = token.add_abort(lambda: ran.append("kept"))
    gone = token.add_abort(lambda: ran.append("withdrawn"))
    token.remove_abort(gone)
    token.add_abort(lambda: 1 / 0)  # a failing abort does not stop the others
    token.cancel()
    token.cancel()
    assert ran == ["kept"] and key is not None
    assert token.add_abort(lambda: ran.append("late")) is None  # set already: nothing kept
    with pytest.raises(Cancelled):
        token.check()


def test_a_linked_token_follows_its_parent_and_ends_with_its_block() -> None:
    parent = CancelToken()
    with linked(parent) as child:
        assert not child.cancelled
        parent.cancel()
        assert child.cancelled
    ended = CancelToken()
    with linked(ended) as child:
        pass
    assert child.cancelled and not ended.cancelled  # the block's end sets only the child
    with pytest.raises(KeyError), linked(None) as orphan:
        raise KeyError("interrupted")
    assert orphan.cancelled
    with linked(parent) as late:  # a parent set already
        assert late.cancelled


def test_a_linked_token_leaves_no_abort_behind_on_its_parent() -> None:
    parent = CancelToken()
    for _ in range(3):
        with linked(parent):
            pass
    assert not parent._aborts  # what the blocks registered is gone



@pytest.fixture(autouse=True)
def _termination_as_a_program_starts() -> Iterator[None]:
    """SIGTERM as a program finds it (tests/conftest.py takes it over for the run, so
    that a stopped run tears down: here, the command line's own taking over is tested)."""
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)

@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="Python's own Ctrl+C handler is not installed")
def test_ctrl_c_waits_for_the_end_of_a_deferred_block() -> None:
    finished = False
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        _thread.interrupt_main(signal.SIGINT)
        time.sleep(0.05)  # a Ctrl+C would have been raised by now
        finished = True
    assert finished
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_deferred_block_without_ctrl_c_raises_nothing() -> None:
    with interrupts_deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_deferred_block_off_the_main_thread_leaves_signals_alone() -> None:
    seen: list[object] = []

    def run() -> None:
        with interrupts_deferred():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [signal.getsignal(signal.SIGINT)]


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="Python's own Ctrl+C handler is not installed")
def test_a_third_ctrl_c_gets_out_of_a_deferred_block() -> None:
    """The second is held off; the one after it is for a clean-up that is stuck."""
    reached: list[str] = []
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        signal.raise_signal(signal.SIGINT)
        reached.append("held")
        signal.raise_signal(signal.SIGINT)
        reached.append("not reached")
    assert reached == ["held"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="Python's own Ctrl+C handler is not installed")
def test_a_termination_is_taken_like_ctrl_c_and_waits_for_a_deferred_block() -> None:
    """SIGTERM (and SIGHUP) stop the command line's main thread as Ctrl+C does: held
    off by a deferred block, then raised as Terminated; the handlers are put back."""
    before = signal.getsignal(signal.SIGTERM)
    finished = False
    with stop_like_ctrl_c_on_termination():
        with pytest.raises(Terminated) as stopped, interrupts_deferred():
            signal.raise_signal(signal.SIGTERM)
            finished = True
        assert finished and stopped.value.signum == signal.SIGTERM
        assert isinstance(stopped.value, KeyboardInterrupt)
        with pytest.raises(Terminated):
            signal.raise_signal(signal.SIGHUP)
    assert signal.getsignal(signal.SIGTERM) is before
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_termination_stays_ignored() -> None:
    """``nohup spyglass copy …``: SIGHUP ignored by the caller is not taken over."""
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with stop_like_ctrl_c_on_termination():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            signal.raise_signal(signal.SIGHUP)  # nothing happens
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, before)


def test_a_termination_is_held_off_even_where_ctrl_c_is_ignored() -> None:
    """A job a script starts in the background has SIGINT ignored; SIGTERM must still
    wait for the end of a deferred block rather than cut its clean-up short."""
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        finished = False
        with stop_like_ctrl_c_on_termination():
            with pytest.raises(Terminated), interrupts_deferred():
                signal.raise_signal(signal.SIGTERM)
                finished = True
            assert finished
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="Python's own Ctrl+C handler is not installed")
def test_a_final_stretch_holds_ctrl_c_only_from_the_point_of_no_return() -> None:
    with pytest.raises(KeyboardInterrupt), final_stretch():
        signal.raise_signal(signal.SIGINT)  # before: at once
    reached: list[str] = []
    with pytest.raises(KeyboardInterrupt), final_stretch():
        in_place_from_here()
        signal.raise_signal(signal.SIGINT)
        reached.append("told")  # the copy is said to be in place, then it stops
    assert reached == ["told"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    in_place_from_here()  # outside a stretch: nothing held
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="Python's own Ctrl+C handler is not installed")
def test_a_final_stretch_within_another_holds_to_the_outer_ones_end() -> None:
    """The command line's stretch around the copy's: what is held once the copy is in
    place is held on through the closes to the telling, which asks for it."""
    reached: list[str] = []
    with stop_like_ctrl_c_on_termination(), \
            pytest.raises(KeyboardInterrupt) as stopped, final_stretch():
        assert held_interrupt() is None
        with final_stretch():
            in_place_from_here()
            past_commit()
        reached.append("copied")
        signal.raise_signal(signal.SIGTERM)  # as the destination closes
        reached.append("closed")
        held = held_interrupt()
        assert isinstance(held, Terminated) and held.signum == signal.SIGTERM
        reached.append("told")
    assert reached == ["copied", "closed", "told"]
    assert isinstance(stopped.value, Terminated)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert held_interrupt() is None  # outside a stretch


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="Python's own Ctrl+C handler is not installed")
def test_a_final_stretch_can_hold_unsaid_and_wake_whoever_waits_for_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sync's waiting thread: the interrupt held says nothing (it stops at once), and
    the first held calls ``on_held`` (which wakes the wait), once."""
    woken: list[str] = []
    with pytest.raises(KeyboardInterrupt), \
            final_stretch(notice=None, on_held=lambda: woken.append("woken")):
        in_place_from_here()
        signal.raise_signal(signal.SIGINT)
        assert woken == ["woken"]
        signal.raise_signal(signal.SIGINT)
        assert isinstance(held_interrupt(), KeyboardInterrupt)
    assert woken == ["woken"]
    assert caplog.records == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="Python's own Ctrl+C handler is not installed")
def test_a_block_written_whole_past_the_commit_holds_every_interrupt_again() -> None:
    """The command line's ``--digestfile``: a third (a fourth) interrupt waits for it to
    be written, and once it is, the next gets out as before; the first is raised at the
    stretch's end. Outside a stretch the block runs as it is."""
    reached: list[str] = []
    with stop_like_ctrl_c_on_termination(), \
            pytest.raises(KeyboardInterrupt) as stopped, final_stretch():
        in_place_from_here()
        past_commit()
        signal.raise_signal(signal.SIGTERM)
        with held_whole():
            for _ in range(3):
                signal.raise_signal(signal.SIGINT)
            reached.append("written")
        reached.append("told")
        signal.raise_signal(signal.SIGINT)  # past the block: at once
        reached.append("not reached")
    assert reached == ["written", "told"]
    assert type(stopped.value) is KeyboardInterrupt  # (the one that got out)
    reached.clear()
    with stop_like_ctrl_c_on_termination(), pytest.raises(Terminated), final_stretch():
        in_place_from_here()
        past_commit()
        with held_whole():
            signal.raise_signal(signal.SIGTERM)
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)
            reached.append("written")
        reached.append("told")
    assert reached == ["written", "told"]  # the first raised at the end
    with pytest.raises(KeyboardInterrupt), held_whole():  # outside a stretch
        signal.raise_signal(signal.SIGINT)
        reached.append("not reached")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="Python's own Ctrl+C handler is not installed")
def test_a_final_stretch_holds_every_interrupt_to_the_commit_then_lets_a_third_go(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """From the point of no return to the commit's end nothing cuts the copy off (a
    second Ctrl+C of someone who saw nothing happen, a service manager's second TERM);
    the first held is said; past the commit, a third ends a stuck clean-up."""
    reached: list[str] = []
    with stop_like_ctrl_c_on_termination(), \
            pytest.raises(KeyboardInterrupt) as stopped, final_stretch():
        in_place_from_here()
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)
        reached.append("committed")
        past_commit()
        signal.raise_signal(signal.SIGTERM)  # the fourth, past the commit: at once
        reached.append("not reached")
    assert reached == ["committed"]
    assert isinstance(stopped.value, Terminated)  # the one that got out
    assert [r.getMessage() for r in caplog.records] == [FINAL_STRETCH_NOTICE]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    reached.clear()
    with pytest.raises(KeyboardInterrupt), final_stretch():
        in_place_from_here()
        past_commit()
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)
        reached.append("tidied")  # two held past the commit too
    assert reached == ["tidied"]
