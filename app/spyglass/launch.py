"""The ``spyglass`` program's entry point (and ``python -m spyglass``'s): :func:`main`.

It imports nothing but the standard library's ``os``, ``signal`` and ``sys`` before it is
ready for a Ctrl+C: importing the command line (:mod:`spyglass.cli`) takes a tenth of
a second or more, and a Ctrl+C in it would otherwise end the program with a traceback.
First of all it installs :mod:`spyglass.dataclass_code`, which keeps the compiled code of
the dataclasses' methods from one start to the next.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import NoReturn

INTERRUPTED = "spyglass: interrupted.\n"
"""What a Ctrl+C says, whenever it comes (:func:`spyglass.cli.run` says the same)."""


def main() -> NoReturn:
    """Run :func:`spyglass.cli.run`; a Ctrl+C while it is imported (or after it is done
    with its own handling) says :data:`INTERRUPTED` and ends the program by SIGINT, as
    a Ctrl+C during a command does (130 in a shell)."""
    try:
        from spyglass import dataclass_code

        dataclass_code.install()  # before anything defines a dataclass
        from spyglass.cli import run

        run()
    except KeyboardInterrupt:
        end_interrupted()


def end_interrupted() -> NoReturn:
    """Say :data:`INTERRUPTED` (on a stderr that can take it) and end by SIGINT."""
    try:
        if sys.stderr is not None:
            sys.stderr.write(INTERRUPTED)
            sys.stderr.flush()
    except (OSError, ValueError):  # closed, or its reader gone: nothing to tell
        pass
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
    os._exit(128 + signal.SIGINT)  # (where the signal does not end the process at once)


__all__ = ["INTERRUPTED", "end_interrupted", "main"]
