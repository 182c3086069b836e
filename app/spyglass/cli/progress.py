"""What ``spyglass copy`` shows on stderr while it copies.

On a terminal: a bar for each blob on its way, as skopeo and docker draw them,
and under them a line for the whole copy with its speed and the time left;
lines of what happened (a blob copied, skipped, retried, a manifest written)
scroll above the bars. Anywhere else (a CI log, a file): one line per blob, and
every :data:`LOG_PROGRESS_EVERY` seconds a line of how far the copy is. The bars
are redrawn at most ten times a second, each line cut to the terminal's width
so that nothing wraps.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TextIO

from spyglass.cli.notes import NoteHandler
from spyglass.cli.notes import install as install_notes
from spyglass.cli.notes import is_installed as notes_installed
from spyglass.core.units import duration_text

if TYPE_CHECKING:
    from spyglass.core.copy import CopyEvent
    from spyglass.core.copy_events import Finished

LOG_PROGRESS_EVERY: Final = 10.0
"""Seconds between the progress lines of a copy whose output is no terminal (a CI log):
a long blob would otherwise show nothing between its start and the manifests."""

REDRAW_EVERY: Final = 0.1
"""Seconds between two drawings of the bars on a terminal."""

TICK_EVERY = 1.0
"""How often the progress is looked at while no event comes (a stalled copy)."""

SPEED_WINDOW: Final = 3.0
"""Seconds of progress the speed shown is measured over."""

BAR_WIDTH: Final = 24
"""The widest a bar is drawn; narrower on a narrow terminal, and left out below
:data:`NARROWEST_BAR`."""
NARROWEST_BAR: Final = 6
MARGIN: Final = 3
"""Columns left free at the right: a line reaching the last column (or the ``^C`` a
terminal echoes at its end) would wrap, and the bars could not be drawn over."""
_LABEL_WIDTH: Final = 12  # a digest's short form
_CLEAR_LINE: Final = "\x1b[K"
_CLEAR_BELOW: Final = "\x1b[J"


def size_text(count: float) -> str:
    """``512 B``, ``12.0 KiB``, ``1.5 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


def bar_text(done: int, size: int, width: int = BAR_WIDTH) -> str:
    """``[#######---------]``: ``done`` of ``size``, full when the size is unknown."""
    filled = min(width, width * done // size) if size > 0 else width
    return "[" + "#" * filled + "-" * (width - filled) + "]"


@dataclass
class _Blob:
    label: str
    size: int
    done: int = 0
    image: str | None = None
    """The short name of the image it is for, where several are copied at once."""


class Reporter:
    """Turns copy events into what stderr shows (see the module's text). Called from
    the copy's worker threads; ``stream`` is written under a lock.

    While it draws bars, warnings logged meanwhile are written above them as lines
    of their own (they would otherwise land in the middle of a bar). :meth:`close`
    takes the bars away, whatever ended the copy (Ctrl+C included).
    """

    def __init__(self, stream: TextIO | None, *, quiet: bool, several: bool = False) -> None:
        self._stream = stream
        self._quiet = quiet
        self._several = several
        """Several copies at once (a sync), each through :meth:`for_image`: the total
        grows with each copy planned, and one copy's end leaves the others' bars."""
        self._ticker: threading.Thread | None = None
        self._broken = stream is None
        """Whether stderr cannot be written (closed, a full disk, a pipe gone): progress is
        told where it can be, and a copy never fails for want of telling it."""
        # a terminal that cannot move its cursor (TERM=dumb: an editor's shell) gets lines
        self._tty = (stream is not None and _isatty(stream)
                     and os.environ.get("TERM") != "dumb")
        self._lock = threading.RLock()  # a warning may be logged while a line is written
        self._done: dict[str, int] = {}
        self._total = 0
        self._last = 0.0
        self._active: dict[str, _Blob] = {}  # the blobs on their way, in their order
        self._drawn = 0  # lines of bars now under the cursor's line, counting it
        self._samples: deque[tuple[float, int]] = deque()
        self._skipped = 0  # bytes the destination had: they move the bar, not the speed
        self._held: set[str | None] = set()  # (the labels of) images there already
        self._moved = 0.0  # when a byte last moved (for a copy that stalls)
        self._said_done = -1  # the bytes the last progress line said
        self._waiting_for: str | None = None
        """What outside the copy the destination waits for (a program to read its pipe),
        which a progress line of a copy where nothing moves says as the cause."""
        self._ticking = threading.Event()  # set: the ticker stops
        self._notes: NoteHandler | None = None
        self.finished: Finished | None = None
        """The copy's end, once it finished."""
        self._own_notes = False  # the handler was put there for the bars: taken off after
        if self._tty and not quiet:
            # warnings scroll above the bars, through the one handler that writes them
            self._own_notes = not notes_installed()
            self._notes = install_notes()
            self._notes.sink = self.warn

    def close(self) -> None:
        """Take the bars off the screen and stop taking in warnings (idempotent)."""
        self._ticking.set()
        with self._lock:
            self._active.clear()
            self._erase()
            self._flush()
        if self._notes is not None:
            self._notes.sink = None
            if self._own_notes:
                logging.getLogger().removeHandler(self._notes)
            self._notes = None

    def warn(self, text: str) -> None:
        """A logged warning (``spyglass: …``), as a line above the bars."""
        with self._lock:
            self._line(text)

    def for_image(self, label: str, short: str | None = None) -> Callable[[CopyEvent], None]:
        """The events of one of several copies (see ``several``); ``label`` names its
        image on the line that starts it. ``short`` (``app:1.0``), given while several
        are copied at once, starts each of its other lines and names its bars, so that
        the lines of copies side by side can be told apart."""

        def report(event: CopyEvent) -> None:
            self._report(event, label, short)

        return report

    def result(self, text: str) -> None:
        """A line of the command's result on stdout, the bars kept under it when both are
        the same terminal; written as every command writes its result
        (:func:`~spyglass.cli.common.write_text`: a stdout that cannot take it is a
        sentence, a reader gone a :class:`BrokenPipeError`)."""
        from spyglass.cli.common import write_text

        with self._lock:
            self._erase()
            self._flush()
            try:
                write_text(text + "\n")
            finally:
                if self._active:
                    self._draw(time.monotonic())
                    self._flush()

    def __call__(self, event: CopyEvent) -> None:
        self._report(event, None, None)

    def _report(self, event: CopyEvent, label: str | None, short: str | None) -> None:
        from spyglass.core import copy as c

        def line(text: str) -> None:
            self._line(f"{short}: {text}" if short else text)

        if isinstance(event, c.Finished):
            self.finished = event  # (quiet too: what ended, told after the copy)
        if self._quiet:
            # progress is silenced, not what the copy decided on the user's behalf
            # (what it leaves behind, what it replaces): as warnings are in skopeo
            notes = (event.plan.notes if isinstance(event, c.Planned)
                     else event.notes if isinstance(event, c.Finished) else ())
            with self._lock:
                for note_text in notes:
                    line(f"Note: {note_text}")
            return
        with self._lock:
            if isinstance(event, c.Planned):
                self._total = (self._total if self._several else 0) + event.plan.total_bytes
                self._last = self._moved = time.monotonic()
                if self._ticker is None:
                    # the progress is told on time even while no event comes (a registry
                    # that stopped answering sends none)
                    self._ticker = threading.Thread(target=self._tick, daemon=True,
                                                    name="spyglass-progress")
                    self._ticker.start()
                count = len(event.plan.blobs) + len(event.plan.attachment_blobs)
                what = (f"{count} blob{'s' if count != 1 else ''}, "
                        f"{size_text(event.plan.total_bytes)}")
                if event.held:  # (its blobs are not each said to be there)
                    self._held.add(label)
                    there = "the destination has this very image already"
                    if event.plan.attachments:  # (what of those it lacks is written)
                        there += ("; what is attached to it goes along where the "
                                  "destination lacks it")
                    self._line(f"Copying {label}: {there}" if label
                               else f"Nothing to copy: {there}" if not event.plan.attachments
                               else f"{there[:1].upper()}{there[1:]}")
                else:
                    self._line(f"Copying {label}: {what}" if label else f"Copying {what}")
                from spyglass.core.copy_attachments import describe_attachments

                attached = describe_attachments(event.plan.attachments)
                if attached is not None:
                    line(f"Along with the image: {attached.removeprefix('attached: ')}")
                for note_text in event.plan.notes:
                    line(f"Note: {note_text}")
            elif isinstance(event, c.BlobSkipped):
                self._skipped += event.size - self._done.get(str(event.digest), 0)
                self._done[str(event.digest)] = event.size
                self._active.pop(str(event.digest), None)
                if event.how == "exists" and label in self._held:
                    return
                what = {"exists": "already there", "mounted": "mounted",
                        "unneeded": "no longer needed"}.get(event.how, event.how)
                if event.written is not None and event.written != event.digest:
                    what += f" as {event.written.short}"
                line(f"Skipping blob {event.digest.short}: {what}")
            elif isinstance(event, c.BlobStarted):
                if self._tty:
                    self._active[str(event.digest)] = _Blob(event.digest.short, event.size,
                                                            image=short)
                    self._status(force=True)
                else:
                    line(f"Copying blob {event.digest.short} ({size_text(event.size)})")
            elif isinstance(event, c.BlobProgress):
                self._moved = time.monotonic()
                self._done[str(event.digest)] = event.done
                blob = self._active.get(str(event.digest))
                if blob is not None:
                    blob.done, blob.size = event.done, event.size
                self._status()
            elif isinstance(event, c.BlobDone):
                self._active.pop(str(event.digest), None)
                if self._tty:
                    how = " (recompressed)" if event.recompressed else ""
                    line(f"Copied blob {event.digest.short}{how}")
            elif isinstance(event, c.BlobRetried):
                self._done[str(event.digest)] = 0
                blob = self._active.get(str(event.digest))
                if blob is not None:
                    blob.done = 0
                line(f"Retrying blob {event.digest.short} (attempt {event.attempt} of "
                     f"{event.attempts}): {event.reason}" if event.counted else
                     f"Sending blob {event.digest.short} again in pieces: {event.reason}")
            elif isinstance(event, c.BlobWaitingForCopy):
                if event.host is not None:  # (what follows says how it ended: mounted)
                    line(f"Waiting for blob {event.digest.short}: another copy is sending "
                         f"it to {event.host}")
            elif isinstance(event, c.ManifestWritten):
                line(f"Writing manifest {event.digest.short}")
            elif isinstance(event, c.DestinationWaiting):
                self._waiting_for = event.what
                if event.what is not None:
                    line(f"Waiting for {event.what}; the copy goes on once one does")
            elif isinstance(event, (c.Finished, c.Failed, c.CopyCancelled)):
                if isinstance(event, c.Finished):
                    for note_text in event.notes:
                        line(f"Note: {note_text}")
                if self._several:
                    return  # the others go on: close() ends it all
                self._ticking.set()
                self._active.clear()
                self._erase()
                self._flush()

    # ---------------------------------------------------------------- writing

    def _write(self, text: str) -> None:
        """Write to stderr, as far as it can be: a write that fails is dropped; one to a
        stderr that is gone (closed, a pipe whose reader left) turns progress off."""
        if self._broken or self._stream is None:
            return
        try:
            self._stream.write(text)
        except (OSError, ValueError) as exc:
            self._gone(exc)

    def _flush(self) -> None:
        if self._broken or self._stream is None:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError) as exc:
            self._gone(exc)

    def _gone(self, exc: OSError | ValueError) -> None:
        """After a failed write: off for good where stderr is gone (a full disk may have
        room again, and the next line is tried)."""
        if isinstance(exc, ValueError | BrokenPipeError) or exc.errno == errno.EBADF:
            self._broken = True

    def _line(self, text: str) -> None:
        """A line that stays: above the bars, which are drawn again under it. What it
        quotes (a registry's ``os.version`` in a note, a path that is not UTF-8) is
        written as :func:`~spyglass.cli.terminal_safe` writes it: an escape sequence in
        there is shown, not obeyed."""
        from spyglass.cli import terminal_safe

        self._erase()
        self._write(terminal_safe(text, keep="\n") + "\n")
        if self._active:
            self._draw(time.monotonic())
        self._flush()

    def _erase(self) -> None:
        """Take the bars off the screen, the cursor back where they began."""
        if not self._tty or not self._drawn:
            return
        up = f"\x1b[{self._drawn - 1}A" if self._drawn > 1 else ""
        self._write(f"\r{up}{_CLEAR_BELOW}")
        self._drawn = 0

    def _tick(self) -> None:
        """Until the copy ends: the progress again each second (a line every
        :data:`LOG_PROGRESS_EVERY` seconds, or the bars with their speed falling away)."""
        while not self._ticking.wait(TICK_EVERY):
            with self._lock:
                if not self._ticking.is_set():
                    self._status(force=self._tty and bool(self._active))

    def _status(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self._tty:
            if now - self._last >= LOG_PROGRESS_EVERY and self._total:
                self._last = now
                done = sum(self._done.values())
                still = now - self._moved
                stalled = (f"; nothing has moved for {duration_text(still)}"
                           if done == self._said_done and still >= LOG_PROGRESS_EVERY else "")
                if stalled and self._waiting_for is not None:
                    stalled += f": waiting for {self._waiting_for}"
                self._said_done = done
                self._line(f"Copied {size_text(done)} of {size_text(self._total)} "
                           f"({done * 100 // self._total} %){stalled}")
            return
        if not force and now - self._last < REDRAW_EVERY:
            return
        self._last = now
        self._erase()
        self._draw(now)
        self._flush()

    def _draw(self, now: float) -> None:
        """Draw the bars from the cursor's line (the start of a line) down."""
        assert self._stream is not None  # (a terminal, or nothing is drawn)
        columns, rows = _terminal_size(self._stream)
        width = max(1, columns - MARGIN)
        lines = self._bar_lines(now, max(1, rows - 2), width)
        self._write("\n".join(line[:width] + _CLEAR_LINE for line in lines))
        self._drawn = len(lines)

    def _bar_lines(self, now: float, room: int, width: int) -> list[str]:
        """At most ``room`` lines (the total's last), none wider than ``width`` if it can
        be helped: bars narrow (then go) before the sizes do, and the speed goes before
        the bars. Blobs beyond the room are counted on a line of their own."""
        done = sum(self._done.values())
        self._samples.append((now, done - self._skipped))  # (bytes moved: the speed's)
        while len(self._samples) > 2 and now - self._samples[1][0] >= SPEED_WINDOW:
            self._samples.popleft()
        blobs = list(self._active.values())
        shown = blobs if len(blobs) + 1 <= room else blobs[: max(0, room - 2)]
        rows = [(blob.label, blob.done, blob.size,
                 f"{size_text(blob.done)} / {size_text(blob.size)}") for blob in shown]
        named = [f"{blob.image} {blob.label}" if blob.image else blob.label for blob in shown]
        total_text = f"{size_text(done)} / {size_text(self._total)}"
        first_time, first_moved = self._samples[0]
        moved = done - self._skipped
        if now - first_time >= 0.5 and moved > first_moved:
            speed = (moved - first_moved) / (now - first_time)
            left = max(0, self._total - done) / speed
            timed = f"{total_text}  {size_text(speed)}/s  {duration_text(left)} left"
            if _LABEL_WIDTH + 1 + NARROWEST_BAR + 3 + len(timed) <= width:
                total_text = timed
        rows.append(("total", done, self._total, total_text))
        widest = max(len(text) for *_, text in rows)
        label_width = max(len(label) for label in [*named, "total"])
        if label_width > _LABEL_WIDTH and (
                label_width + 1 + NARROWEST_BAR + 3 + widest <= width):
            # several images at once: each bar names its image, where that leaves room
            # for a bar (else the digests alone, as for one image)
            rows = [(label, part, whole, text) for label, (_, part, whole, text)
                    in zip([*named, "total"], rows, strict=True)]
        else:
            label_width = _LABEL_WIDTH
        bar = min(BAR_WIDTH, width - label_width - 1 - 2 - 1 - widest)
        # too narrow for labels and sizes both: the sizes stay whole, the labels go
        labelled = label_width + 1 + widest <= width
        lines = []
        for label, part, whole, text in rows:
            drawn = f"{bar_text(part, whole, bar)} " if bar >= NARROWEST_BAR else ""
            lines.append(f"{label:<{label_width}} {drawn}{text}" if labelled else text)
        if len(shown) < len(blobs) and room >= 2:
            lines.insert(-1, f"{'':<{label_width}} … and {len(blobs) - len(shown)} more")
        return lines


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):  # closed
        return False


def _terminal_size(stream: TextIO) -> tuple[int, int]:
    """The columns and rows of the terminal ``stream`` is; 80 by 24 when that is not known
    (a terminal whose size was never set says 0 by 0: a serial line, ``script``)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return 80, 24
    return size.columns if size.columns > 0 else 80, size.lines if size.lines > 0 else 24
