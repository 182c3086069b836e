"""Warnings logged anywhere in the program, as the command line's other notes are: one
``spyglass: …`` line on stderr, control characters escaped, or above the progress bars
while they are drawn (not bare, as Python's last-resort handler prints them)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class NoteHandler(logging.Handler):
    """On the root logger, for warnings and worse; ``sink``, where set, takes the lines
    instead of stderr (the progress bars' reporter: they scroll above the bars)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.sink: Callable[[str], None] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from spyglass.cli import terminal_safe

            line = f"spyglass: {terminal_safe(record.getMessage())}"
            if self.sink is not None:
                self.sink(line)
            else:
                print(line, file=sys.stderr)  # the standard error of the moment
        except Exception:  # as logging's own handlers: never the command's failure
            self.handleError(record)


def is_installed() -> bool:
    """Whether the root logger has the note handler."""
    return any(isinstance(handler, NoteHandler) for handler in logging.getLogger().handlers)


def install() -> NoteHandler:
    """The root logger's note handler, added the first time (idempotent)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, NoteHandler):
            return handler
    handler = NoteHandler()
    root.addHandler(handler)
    return handler


@contextmanager
def installed() -> Iterator[NoteHandler]:
    """The note handler for the ``with`` block (a command's run), taken off after it
    unless it was there before (a program calling ``main`` twice keeps one)."""
    root = logging.getLogger()
    before = is_installed()
    handler = install()
    try:
        yield handler
    finally:
        if not before:
            root.removeHandler(handler)


@contextmanager
def unsaid(logger: str) -> Iterator[None]:
    """The warnings of ``logger`` left out of the notes for the ``with`` block (a copy
    with ``--quiet`` does not say it asks a registry again)."""
    def said(record: logging.LogRecord) -> bool:
        return not (record.name == logger or record.name.startswith(f"{logger}."))

    handler = install()
    handler.addFilter(said)
    try:
        yield
    finally:
        handler.removeFilter(said)


@contextmanager
def retries_unsaid_if(quiet: bool) -> Iterator[None]:
    """With ``quiet`` (``-q``), the notes that a registry is asked again left out for the
    ``with`` block: they are progress, which ``-q`` leaves unsaid (a failure is still said)."""
    if not quiet:
        yield
        return
    from spyglass.core.retry import RETRY_NOTES

    with unsaid(RETRY_NOTES):
        yield
