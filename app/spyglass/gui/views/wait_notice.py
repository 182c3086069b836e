"""A line that says how long something has waited on a registry, with Stop: what a busy
:class:`~spyglass.gui.views.widgets.MessagePanel` shows, for a dialog's own row."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from spyglass.core.credentials.keyring_store import capitalized
from spyglass.core.retry import Wait
from spyglass.gui.themed import mute
from spyglass.gui.views import widgets
from spyglass.gui.views.buttons import push_button


def waiting_text(waiting: str, waited: float) -> str:
    """"Still waiting for HOST (25 s)…": ``waiting`` and how long it has been."""
    return f"{waiting} ({waited:.0f} s)…"


def stopped_text(host: str, waited: float, retrying: Retrying | None = None) -> str:
    """What a wait on ``host`` stopped by the person says afterwards; one stopped while a
    request waited to be asked again (``retrying``), why it was asked again."""
    if retrying is not None:
        return f"Stopped after {waited:.0f} s: {retrying.wait.reason}. Try again later."
    return f"Stopped: {host} had not answered after {waited:.0f} s. Try again later."


@dataclass(frozen=True)
class Retrying:
    """A :class:`~spyglass.core.retry.Wait` a job's request began (told by the job's
    ``on_wait``), and until when (on :func:`time.monotonic`) what it says holds: while it
    does, a notice says it rather than "Still waiting for HOST"."""

    wait: Wait
    until: float

    @classmethod
    def begun(cls, wait: Wait) -> Retrying:
        """``wait``, begun now."""
        return cls(wait, time.monotonic() + wait.holds)

    @property
    def text(self) -> str:
        """What a wait notice says of it: "Cannot reach the registry HOST (connection
        refused); asking again, attempt 2 of 4" (then the time waited in all)."""
        wait = self.wait
        return (f"{capitalized(wait.reason)}; {wait.again}, attempt {wait.attempt} of "
                f"{wait.attempts}")

    @staticmethod
    def holding(retrying: Retrying | None) -> Retrying | None:
        """``retrying`` while what it says holds; None once it is over (the request asked
        again got its connection, say: the plan then waits as any other)."""
        return retrying if retrying is not None and time.monotonic() < retrying.until \
            else None


class WaitNotice(QWidget):
    """Hidden until what it waits on has taken
    :data:`~spyglass.gui.views.widgets.STILL_WAITING_S`; then "Still waiting for HOST
    (N s)…" and a Stop button, the time going on every half second.

    Signals:
        stopRequested(): Stop was pressed.
    """

    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        mute(self.label)
        self.stop_button = push_button("Stop", "Stop waiting for an answer")
        self.stop_button.clicked.connect(self.stopRequested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.stop_button)
        self._waiting: str | Callable[[], str] = ""
        self._since = 0.0
        self._clock = QTimer(self)
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._tick)
        self.hide()

    @property
    def waited_for(self) -> float:
        """Seconds waited (0 when it waits on nothing)."""
        return time.monotonic() - self._since if self._waiting else 0.0

    def start(self, waiting: str | Callable[[], str]) -> None:
        """Begin to wait on what ``waiting`` says ("Still waiting for HOST"); "" for
        nothing worth saying (a wait on local files). A callable is asked at each tick:
        what is waited on may change (a plan that asks its source, then its destination)."""
        self._waiting = waiting
        self._since = time.monotonic()
        if waiting:
            self._clock.start()
        self._tick()

    def stop(self) -> None:
        """The wait ended (answered, stopped, or given up): hide."""
        self._waiting = ""
        self._clock.stop()
        self.hide()

    def _tick(self) -> None:
        waited = self.waited_for
        waiting = self._waiting() if callable(self._waiting) else self._waiting
        late = bool(waiting) and waited >= widgets.STILL_WAITING_S
        if late:
            self.label.setText(waiting_text(waiting, waited))
        self.setVisible(late)


__all__ = ["Retrying", "WaitNotice", "stopped_text", "waiting_text"]
