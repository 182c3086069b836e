"""What a copy reports as it goes: plain frozen dataclasses handed to a callback
(:data:`EventCallback`), called from the copy's worker threads. The window and
the command line each turn them into what they show."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from spyglass.core.copy_plan import CopyPlan
from spyglass.core.digest import Digest
from spyglass.core.manifest import (
    Descriptor,
)
from spyglass.core.transports.base import LeftBehind


@dataclass(frozen=True)
class Planned:
    plan: CopyPlan
    held: bool = False
    """The destination's name names this very image already: none of its blobs and
    manifests will be written (what is attached may be; see :class:`Finished`)."""


@dataclass(frozen=True)
class BlobStarted:
    digest: Digest
    size: int
    media_type: str


@dataclass(frozen=True)
class BlobProgress:
    digest: Digest
    done: int
    size: int


@dataclass(frozen=True)
class BlobSkipped:
    digest: Digest
    size: int
    how: str
    """``exists`` (the destination has it), ``mounted`` (cross-repository mount) or
    ``unneeded`` (planned, but what it belonged to changed: a cosign tag settled anew)."""
    written: Digest | None = None
    """The digest it is kept under there when that is another (recompressed before, by
    an earlier copy: found in the blob-location cache)."""


@dataclass(frozen=True)
class BlobDone:
    digest: Digest
    written: Descriptor
    recompressed: bool


@dataclass(frozen=True)
class BlobRetried:
    """A blob transfer failed with ``reason`` and starts again: attempt ``attempt``
    (2 for the first retry) of at most ``attempts``."""

    digest: Digest
    attempt: int
    attempts: int
    reason: str
    counted: bool = True
    """False for a new start that is not one of the ``--retry-times`` (a body too large
    for the registry, sent in pieces next): ``attempt`` is then the attempt it repeats,
    not a new one, and is better left unsaid."""


@dataclass(frozen=True)
class BlobWaiting:
    """A request for a blob waits ``wait`` seconds because ``who`` (``the registry
    HOST``, its token server) asked for ``asked`` with ``Retry-After``: a wait, not a
    registry that stopped answering."""

    digest: Digest
    who: str
    asked: float
    wait: float


@dataclass(frozen=True)
class BlobWaitingForCopy:
    """The blob waits for another copy of this process that is sending it to the same
    registry, ``host`` (see :data:`~spyglass.core.transports.registry.underway.
    UPLOADS_UNDER_WAY`): once that copy has, it is mounted from there, with no byte sent
    again (or sent, where that copy failed). None once the wait is over. A wait for
    another copy's bytes, not a registry that stopped answering; the blob holds none of
    the window's blob slots meanwhile (:attr:`~spyglass.core.copy_plan.CopyOptions.
    blob_slots`)."""

    digest: Digest
    host: str | None


@dataclass(frozen=True)
class BlobCutOff:
    """A blob's upload to a registry was cut off, and the registry took the cancel of its
    upload session (``dropped``: what it had received is gone) or did not (it may keep
    that until it purges unfinished uploads: distribution 2.8 answers 404 after a body
    broken off)."""

    digest: Digest
    dropped: bool


@dataclass(frozen=True)
class ManifestWritten:
    digest: Digest
    media_type: str


@dataclass(frozen=True)
class Naming:
    """The destination's name (a registry's tag, a layout's ref) is being written, to
    name ``digest``: a copy stopped from here on may have had it written (a registry may
    store what it was sent before its answer comes). Before it, the name is as it was."""

    digest: Digest


@dataclass(frozen=True)
class NameRefused:
    """The destination answered the name's write (:class:`Naming`) with a refusal (a
    registry's 4xx to the tag's ``PUT``, no earlier try of which lost its answer): the
    name is as it was, whatever a copy stopped from :class:`Naming` on may otherwise have
    left. A :class:`Failed` follows."""

    digest: Digest


@dataclass(frozen=True)
class DestinationWaiting:
    """The destination waits for something outside the copy before it can go on:
    ``what`` says for what (``a program to read the pipe "f"``); None once that wait is
    over (see :data:`~spyglass.core.transports.base.OUTSIDE_WAIT`)."""

    what: str | None


@dataclass(frozen=True)
class Finished:
    digest: Digest
    media_type: str
    before: Digest | None = None
    """What the destination's name named before the copy (a registry's tag, asked at its
    start), where it named something; None otherwise, or where that is not known."""
    held: bool = False
    """True when the name named this very image already, at a destination that holds an
    image whole (a registry): nothing of it was written, not even the name."""
    wrote_attached: bool = False
    """Of a ``held`` image: something attached to it was written (a signature or referrer
    the destination did not have yet); else nothing at all was written."""
    notes: tuple[str, ...] = ()
    """What writing the name did besides, which the plan's notes could not say (a layout's
    ref taken from other images there: :class:`~spyglass.core.transports.base.CommitNotes`)."""


@dataclass(frozen=True)
class Failed:
    message: str
    left: LeftBehind | None = None
    """What of the copy's writes the destination could not take back (blobs left in a
    layout another copy was at work in: :class:`~spyglass.core.transports.base.LeavesBehind`);
    None when it took back everything it could be asked to."""


@dataclass(frozen=True)
class CopyCancelled:
    left: LeftBehind | None = None
    """As :attr:`Failed.left`."""


CopyEvent = (
    Planned | BlobStarted | BlobProgress | BlobSkipped | BlobRetried | BlobWaiting
    | BlobWaitingForCopy | BlobDone | BlobCutOff | ManifestWritten | Naming | NameRefused
    | DestinationWaiting | Finished | Failed | CopyCancelled
)
EventCallback = Callable[[CopyEvent], None]
