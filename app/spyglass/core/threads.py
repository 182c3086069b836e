"""Thread priorities: background work yields the processor to the thread a person waits on."""

from __future__ import annotations

import os
import threading
from typing import Final

BACKGROUND_NICENESS: Final = 10


def lower_priority() -> None:
    """Lower the calling thread's scheduling priority (its niceness to
    :data:`BACKGROUND_NICENESS`). Linux schedules threads as tasks, so this
    touches only the caller; elsewhere the call is refused for a thread id and
    the priority stays as it is."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
    except (AttributeError, OSError):
        pass
