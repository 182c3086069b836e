"""A copy's progress, for the transfers panel and its Details: :class:`Tally` gathers the
copy engine's events, which arrive from the engine's threads, into a :class:`Snapshot` the
GUI reads a few times a second (a :class:`BlobRow` for each blob). Nothing here imports Qt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, Literal

from spyglass.core import media
from spyglass.core.copy import (
    BlobCutOff,
    BlobDone,
    BlobProgress,
    BlobRetried,
    BlobSkipped,
    BlobStarted,
    BlobWaiting,
    BlobWaitingForCopy,
    CopyCancelled,
    CopyEvent,
    DestinationWaiting,
    Failed,
    Finished,
    NameRefused,
    Naming,
    Planned,
)
from spyglass.core.copy_attachments import describe_attachments
from spyglass.core.digest import Digest
from spyglass.core.transports.base import LeftBehind

BlobOutcome = Literal["waiting", "copying", "retrying", "copied", "skipped", "mounted",
                      "unneeded", "compressed", "recompressed", "decompressed",
                      "interrupted"]

WRITTEN_ANEW: Final = ("copied", "compressed", "recompressed", "decompressed")
"""The outcomes of a blob the copy wrote itself, whole."""
PAST_BLOB: Final = (*WRITTEN_ANEW, "skipped", "mounted", "unneeded")
"""The outcomes of a blob the copy is done with: written, or there already."""


@dataclass
class BlobRow:
    """One blob of a copy, for the Details dialog."""

    digest: Digest
    size: int
    media_type: str
    """The source's type of the blob: the one its digest and size are of."""
    done: int = 0
    outcome: BlobOutcome = "waiting"
    retries: int = 0
    """How many of its ``--retry-times`` the blob took: each start again after an error,
    and each try a resume inside an attempt took (the engine's attempt counts them), so
    that the Details and the row's "attempt 3 of 4" agree."""
    last_error: str = ""
    """The error it last started again after."""
    attachment: str = ""
    """What attached thing the blob is part of (``cosign signature``, ``SBOM``, …), or ""
    for a blob of the images themselves."""
    written: Digest | None = None
    """The digest it was written as, where that is not its own (recompressed)."""
    written_type: str = ""
    """The type it is written as, where that is not :attr:`media_type` (a plain layer
    gzipped, a Docker layer named as an OCI one); "" where it is the same."""
    change: Literal["decompressed", "compressed", "recompressed", ""] = ""
    """What the plan does to its bytes (:attr:`BlobTask.change`): its outcome once
    written; "" for bytes copied as they are."""
    dropped: bool | None = None
    """Of a blob whose upload to a registry was cut off: whether the registry took the
    cancel of the upload and dropped what it had received (False: it may keep that until
    it purges unfinished uploads); None when no upload of it was cut off."""
    restarting: bool = False
    """It started again from its first byte after an error, and no byte of the new
    attempt has come yet (the row says the copy is retrying, not just copying)."""
    attempt: int = 0
    """Of a blob that started again: the attempt it is on (2 for the first retry)."""
    attempts: int = 0
    """Of a blob that started again: how many attempts it may take in all."""
    asked_wait: str = ""
    """While a request for it waits because the registry asked (``Retry-After``), and no
    byte has come since: who asked, for how long ("the registry H asked to wait 120 s");
    "" otherwise."""
    asked_for: float = 0.0
    """Of a blob :attr:`asked_wait`: the seconds asked for."""
    wait_ends: float = 0.0
    """Of a blob :attr:`asked_wait`: when (on the tally's clock) the wait ends and the
    request is sent again."""
    wait_left: float = 0.0
    """Of a blob :attr:`asked_wait`: the seconds of the wait left when the snapshot was
    taken (below 0 once it is over: how long ago it ended)."""
    other_copy: str = ""
    """While it waits for another copy of this process that is sending it to the same
    registry (to mount it from there after: :class:`~spyglass.core.copy_events.
    BlobWaitingForCopy`): that registry's host; "" otherwise."""


@dataclass(frozen=True)
class Snapshot:
    """A copy's progress at one moment, handed to the GUI thread."""

    planned: bool
    done: int
    total: int
    blobs: tuple[BlobRow, ...]
    speed: float
    """Bytes a second over the last few seconds."""
    finished: bool
    error: str
    notes: tuple[str, ...] = ()
    """What the plan decided on the user's behalf (``plan.notes``: layers compressed, what
    is left behind or replaced, signatures merged), as the engine words them; and what the
    copy met that stays (a broken blob location cache renamed aside, a layout's ref taken
    from other images: ``Finished.notes``)."""
    attached: str = ""
    """What goes along with the images (``1 SBOM, 1 cosign signature``), or ""."""
    source_digest: Digest | None = None
    """The digest of the source's top manifest, once planned."""
    still: float = 0.0
    """Seconds since a byte last moved (since the plan, before the first): a copy that
    waits on a registry that stopped answering shows it. Kept at 0 while a blob waits for
    another copy's upload (:attr:`BlobRow.other_copy`): that copy's row says whether its
    bytes move."""
    held: bool = False
    """The destination's name named this very image already: nothing of it was written
    (:attr:`~spyglass.core.copy_events.Finished.held`)."""
    wrote_attached: bool = False
    """Of a ``held`` image: something attached to it was written
    (:attr:`~spyglass.core.copy_events.Finished.wrote_attached`)."""
    tag_in_doubt: bool = False
    """The copy is writing the destination's name, or has (the engine's
    :class:`~spyglass.core.copy_events.Naming`): a copy into a registry stopped now may
    have had its tag written all the same (the registry may have stored it before its
    answer came). Before it, the tag is as it was, and so it is after the registry's
    refusal (:class:`~spyglass.core.copy_events.NameRefused`)."""
    locked_by: str = ""
    """The folder (a layout) whose lock the copy waits for, held by another program long
    enough to be said (:data:`~spyglass.core.transports.file_lock.LOCK_LISTENER`); ""
    otherwise."""
    waiting_for: str = ""
    """What outside the copy the destination waits for (``a program to read the pipe
    "f"``: :class:`~spyglass.core.copy_events.DestinationWaiting`); "" otherwise."""
    settled: bool = False
    """The speed is measured over :data:`ETA_SPAN` seconds or more, none of them in the
    first :data:`SETTLE_AFTER` seconds of bytes moving: it may predict the time left."""
    left: LeftBehind | None = None
    """Of a copy that stopped: what of it the destination could not take back (blobs left
    in a layout another copy was at work in: :attr:`~spyglass.core.copy_events.Failed.left`);
    None when it took back everything."""


SPEED_WINDOW: Final = 3.0
"""Seconds of samples the speed is measured over."""
QUIET_AFTER: Final = SPEED_WINDOW
"""Seconds without a byte moving after which the speed is measured afresh from the first
bytes that move again: the quiet time (a registry asking to wait, a stalled read) is no
part of the line's speed, and counted in, it made a speed of a few bytes a second and an
ETA of hours for a copy about to end."""
SETTLE_AFTER: Final = 1.0
"""Seconds after bytes begin to move (again) that no time left is predicted from: what is
counted as sent is what the connection took, and its buffers take the first megabytes at
once, so that the first speeds are far above the link's (an ETA of "< 1 s" for half of a
copy of seconds on a slow link)."""
ETA_SPAN: Final = 2.0
"""The fewest seconds of samples, past :data:`SETTLE_AFTER`, whose speed predicts the time
left."""
MIN_MEASURED: Final = 64 * 1024
"""The fewest bytes moved in the window that make a speed: a config blob of a few hundred
bytes says nothing of how fast the rest will go."""


@dataclass
class Tally:
    """The engine's events for one copy, gathered under a lock (they come from its threads).

    :meth:`feed` answers True when a change arrived after the last
    :meth:`snapshot`: the caller then asks the GUI thread, once, to take one.
    """

    clock: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _blobs: dict[Digest, BlobRow] = field(default_factory=dict)
    _planned: bool = False
    _finished: bool = False
    _error: str = ""
    _notes: tuple[str, ...] = ()
    _attached: str = ""
    _source_digest: Digest | None = None
    _dirty: bool = False
    _samples: list[tuple[float, int]] = field(default_factory=list)
    _moved: tuple[float, int] | None = None
    """When the bytes done last changed, and to what."""
    _began: float | None = None
    """When the speed's samples started (again): :attr:`Snapshot.settled` counts from it."""
    _fresh: bool = False
    """The speed's samples start again at the next one that shows bytes moving (after a
    blob started again, or a quiet time)."""
    _held: bool = False
    _wrote_attached: bool = False
    _naming: bool = False
    _locked_by: str = ""
    _waiting_for: str = ""
    _left: LeftBehind | None = None

    def feed(self, event: CopyEvent) -> bool:
        with self._lock:
            self._apply(event)
            wake = not self._dirty
            self._dirty = True
            return wake

    def lock_waited(self, place: Path | None) -> bool:
        """The copy waits for another program's lock on ``place`` (None: no longer); as
        :meth:`feed`, True when the GUI thread is to be woken."""
        with self._lock:
            self._locked_by = "" if place is None else str(place)
            wake = not self._dirty
            self._dirty = True
            return wake

    def _apply(self, event: CopyEvent) -> None:
        blobs = self._blobs
        if isinstance(event, Planned):
            plan = event.plan
            self._planned = True
            self._notes = plan.notes
            self._source_digest = plan.top.digest
            attached = describe_attachments(plan.attachments) or ""
            self._attached = attached.removeprefix("attached: ")
            for task in plan.blobs:
                d = task.source
                row = blobs.setdefault(d.digest, BlobRow(d.digest, d.size, d.media_type))
                row.change = row.change or task.change
                if task.media_type != row.media_type:
                    row.written_type = task.media_type
            part_of: dict[Digest, list[str]] = {}  # a blob shared by several: each kind
            for attachment in plan.attachments:
                kind = str(attachment.attachment.kind)
                for blob in attachment.written_blobs:
                    kinds = part_of.setdefault(blob.digest, [])
                    if kind not in kinds:
                        kinds.append(kind)
            for d in plan.attachment_blobs:  # counted from the start, not on arrival
                blobs.setdefault(d.digest, BlobRow(d.digest, d.size, d.media_type,
                                                   attachment=", ".join(part_of.get(d.digest, []))))
        elif isinstance(event, BlobStarted):
            row = blobs.setdefault(event.digest,
                                   BlobRow(event.digest, event.size, event.media_type))
            row.outcome = "copying"
        elif isinstance(event, BlobRetried):
            again = blobs.get(event.digest)
            if again is not None:
                again.done = 0
                again.outcome = "retrying"
                again.asked_wait = ""  # (the wait asked for is over: this is a new try)
                if event.counted:  # tries a resume took count too, as in the row's attempt
                    again.retries = max(again.retries + 1, event.attempt - 1)
                again.last_error = event.reason
                again.restarting = True
                again.attempt, again.attempts = event.attempt, event.attempts
            self._fresh = True  # the bytes it had are gone: no speed from them
        elif isinstance(event, BlobWaiting):
            asked = blobs.get(event.digest)
            if asked is not None:
                asked.asked_for = event.asked
                asked.wait_ends = self.clock() + event.wait
                asked.asked_wait = f"{event.who} asked to wait {event.asked:.0f} s"
            self._fresh = True  # (the quiet time is no speed)
        elif isinstance(event, BlobWaitingForCopy):
            waits = blobs.get(event.digest)
            if waits is not None:
                waits.other_copy = event.host or ""
            self._fresh = True  # (the quiet time is no speed)
        elif isinstance(event, BlobProgress):
            progressed = blobs.get(event.digest)
            if progressed is not None:
                progressed.done = min(event.done, progressed.size) if progressed.size \
                    else event.done
                if event.done > 0:
                    progressed.restarting = False
                    progressed.asked_wait = ""
        elif isinstance(event, BlobSkipped):
            row = blobs.setdefault(event.digest, BlobRow(event.digest, event.size, ""))
            row.done = row.size
            row.restarting = False
            row.asked_wait = ""
            row.outcome = ("mounted" if event.how == "mounted" else
                           "unneeded" if event.how == "unneeded" else "skipped")
            if event.written is not None and event.written != event.digest:
                row.written = event.written
        elif isinstance(event, BlobCutOff):
            cut = blobs.get(event.digest)
            if cut is not None:  # what an earlier attempt left stays
                cut.dropped = event.dropped and cut.dropped is not False
        elif isinstance(event, BlobDone):
            written = blobs.get(event.digest)
            if written is not None:
                written.done = written.size
                written.restarting = False
                written.asked_wait = ""
                written.outcome = "copied"
                if event.recompressed:  # as the plan said (a plain tar is compressed)
                    plain = media.layer_compression(event.written.media_type) == "none"
                    written.outcome = written.change or (
                        "decompressed" if plain else "recompressed")
                if event.written.digest != event.digest:
                    written.written = event.written.digest
                if event.written.media_type and written.media_type \
                        and event.written.media_type != written.media_type:
                    written.written_type = event.written.media_type
        elif isinstance(event, Naming | NameRefused):
            self._naming = isinstance(event, Naming)
        elif isinstance(event, DestinationWaiting):
            self._waiting_for = event.what or ""
        elif isinstance(event, Finished):
            self._finished = True
            self._held = event.held
            self._wrote_attached = event.wrote_attached
            self._notes = (*self._notes, *event.notes)
            self._take_cache_notice()
        elif isinstance(event, Failed | CopyCancelled):
            self._left = event.left
            if isinstance(event, Failed):
                self._error = event.message
                self._take_cache_notice()
            for row in blobs.values():
                row.restarting = False
                row.asked_wait = ""
                row.other_copy = ""
                if row.outcome in ("copying", "retrying"):
                    row.outcome = "interrupted"

    def _take_cache_notice(self) -> None:
        """The blob location cache's notice (a broken file renamed aside), with the notes of
        the copy that met it, once: the window says it nowhere else."""
        from spyglass.core.blobcache import default_cache

        if notice := default_cache().take_notice():
            self._notes = (*self._notes, notice)

    def _speed(self, now: float, done: int) -> float:
        """Bytes a second over the last :data:`SPEED_WINDOW` seconds of bytes moving: none
        from a window that holds a blob's restart (its bytes fell back), and none over a
        quiet time (see :data:`QUIET_AFTER`)."""
        if not self._samples:  # (bytes done by the first sample moved before it)
            self._began = now if done > 0 else None
        last = self._samples[-1][1] if self._samples else done
        if self._began is None and done > last:
            # bytes move, since the last sample that saw none: before it was set-up
            self._began = self._samples[-1][0] if self._samples else now
        if done < last:
            self._fresh = True
        elif done > last and self._moved is not None and now - self._moved[0] >= QUIET_AFTER:
            self._fresh = True  # what moved now may have moved in its last instant
        if self._fresh:
            self._samples = [(now, done)]
            self._began = now if done > last else None
            self._fresh = done <= last  # it starts here once bytes move
            return 0.0
        self._samples.append((now, done))
        self._samples = [s for s in self._samples if now - s[0] <= SPEED_WINDOW]
        first_time, first_done = self._samples[0]
        span, moved = now - first_time, done - first_done
        return moved / span if span > 0.2 and moved >= MIN_MEASURED else 0.0

    def _settled(self, now: float) -> bool:
        """Whether the speed's samples are fit to predict the time left (see
        :attr:`Snapshot.settled`)."""
        if not self._samples or self._fresh or self._began is None:
            return False
        first_time = self._samples[0][0]
        return first_time - self._began >= SETTLE_AFTER and now - first_time >= ETA_SPAN

    def snapshot(self) -> Snapshot:
        with self._lock:
            self._dirty = False
            done = sum(row.done for row in self._blobs.values())
            total = sum(row.size for row in self._blobs.values())
            now = self.clock()
            speed = self._speed(now, done)
            waited = max((r.wait_ends for r in self._blobs.values() if r.asked_wait),
                         default=None)
            if not self._planned:
                still = 0.0
            elif self._moved is None or done != self._moved[1]:
                self._moved = (now, done)
                still = 0.0
            elif any(r.other_copy for r in self._blobs.values()):
                # a wait for another copy's upload is no stall: one counts from its end
                self._moved = (now, done)
                still = 0.0
            elif waited is not None:
                # a wait the registry asked for is no stall: one counts from its end
                still = max(0.0, now - max(self._moved[0], waited))
            else:
                still = now - self._moved[0]
            blobs = tuple(replace(r, wait_left=r.wait_ends - now if r.asked_wait else 0.0)
                          for r in self._blobs.values())
            tag_in_doubt = self._naming
            return Snapshot(self._planned, done, total, blobs, speed, self._finished,
                            self._error, self._notes, self._attached, self._source_digest,
                            still, self._held, self._wrote_attached, tag_in_doubt,
                            self._locked_by, self._waiting_for,
                            speed > 0 and self._settled(now), left=self._left)



__all__ = [
    "ETA_SPAN",
    "PAST_BLOB",
    "SETTLE_AFTER",
    "WRITTEN_ANEW",
    "BlobRow",
    "Snapshot",
    "Tally",
]
