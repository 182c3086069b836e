"""Emitting Qt signals from Python: always through :func:`emit`.

PySide6 6.12.0's ``SignalInstance.emit`` hands back ``True`` without owning a
reference to it, so every emit from Python takes one reference away from
``True``. On Python 3.11, where ``True`` is not immortal, a long enough
session (or test run) then aborts with "Fatal Python error: bool_dealloc:
deallocating True or False". Whether the running PySide6 does this is found out
once, here, with a probe signal; if it does, :func:`emit` gives the reference
back after each emit. On a PySide6 without the bug it is a plain emit.

``SignalInstance.disconnect`` has the same fault; the window never calls it
(Qt drops a connection when either end is deleted).
"""

from __future__ import annotations

import ctypes
import sys
from typing import Final

from PySide6.QtCore import QObject, Signal, SignalInstance

_PROBES: Final = 32


class _Probe(QObject):
    ping = Signal()


def _give_back(count: int) -> None:
    """Return ``count`` references to ``True`` (harmless if ``True`` is immortal)."""
    for _ in range(count):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))


def _emit_takes_a_reference() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(_PROBES):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    if lost > 0:
        _give_back(lost)
    return lost >= _PROBES


EMIT_LOSES_TRUE: Final = _emit_takes_a_reference()
"""True when this PySide6's ``emit`` takes a reference from ``True`` (6.12.0 does)."""


def emit(signal: SignalInstance, *args: object) -> None:
    """``signal.emit(*args)``, without the reference leak of some PySide6 versions."""
    signal.emit(*args)
    if EMIT_LOSES_TRUE:
        _give_back(1)
