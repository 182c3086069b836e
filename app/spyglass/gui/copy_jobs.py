"""The window's copies as jobs for the :class:`~spyglass.gui.workers.Runner`, off the GUI
thread: :func:`list_platforms`, :func:`prepare_copy` and :func:`run_copy` (they take the
job's cancel token), opening names through :class:`Openers`. Nothing here imports Qt.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace

from spyglass.core.cancel import CancelToken, check
from spyglass.core.copy import (
    DEFAULT_PARALLEL,
    CopyEvent,
    CopyOptions,
    CopyPlan,
    execute,
    held_already,
    plan_copy,
)
from spyglass.core.copy_room import check_room
from spyglass.core.digest import Digest
from spyglass.core.image import load_manifest, nested_entries
from spyglass.core.manifest import Descriptor, ImageIndex, Schema1Manifest
from spyglass.core.platform import Platform
from spyglass.core.platform_choice import is_unplaced, platform_twins
from spyglass.core.policy import check_copy_source
from spyglass.core.reference import parse_image_name
from spyglass.core.referrers import buildkit_attestation_subject
from spyglass.core.transports import open_destination, open_source
from spyglass.core.transports.base import (
    CheckedDestination,
    ImageDestination,
    ImageSource,
)

Opener = Callable[[str, CancelToken], ImageSource]
"""Opens a source name; the token cancels a long open (a compressed archive being
decompressed)."""
DestinationOpener = Callable[[str, CancelToken], ImageDestination]
"""Opens a destination name; the token cancels a wait while opening (another program's
lock on a layout)."""


def open_source_cancellably(name: str, cancel: CancelToken) -> ImageSource:
    """The default :data:`Opener`."""
    return open_source(name, cancel=cancel)


def open_destination_cancellably(name: str, cancel: CancelToken) -> ImageDestination:
    """The default :data:`DestinationOpener`."""
    return open_destination(name, cancel=cancel)


def _nothing_to_refresh() -> None:
    pass


@dataclass
class Openers:
    """How jobs open names: registry names through the window's connections where it has one.

    ``refresh`` is called on the GUI thread just before a copy job is handed to a
    worker: it brings what the openers use up to date (the window's registry
    connections as the registries list has them now: a Retry after "Edit Registry…"
    signs in with the new credentials).
    """

    source: Opener = open_source_cancellably
    destination: DestinationOpener = open_destination_cancellably
    refresh: Callable[[], None] = _nothing_to_refresh


@dataclass(frozen=True)
class SourcePlatforms:
    """What the copy dialog offers: the platforms of a list (empty for a single image)."""

    is_list: bool
    platforms: tuple[Platform, ...]
    digest: Digest
    schema1: bool = False
    """A Docker schema 1 image: converted to schema 2 as it is copied."""
    instances: tuple[Digest, ...] = ()
    """The digest of each platform's image (the one its platform chooses), as
    ``platforms``."""
    by_digest: tuple[Descriptor, ...] = ()
    """The images of the list that no platform chooses: those that name none
    (:func:`~spyglass.core.platform_choice.is_unplaced`), and those whose platform
    chooses another image of the list (:func:`~spyglass.core.platform_choice.platform_twins`:
    the same platform twice). Each is offered on its own, copied by its digest
    (:attr:`~spyglass.core.copy.CopyOptions.instances`)."""
    others: int = 0
    """Other entries that name no platform (artifacts, say; not attestations): they go
    only with the list whole."""


def list_platforms(openers: Openers, source_name: str, cancel: CancelToken) -> SourcePlatforms:
    """The platforms of the source's list (a job)."""
    source = openers.source(source_name, cancel)
    try:
        top = load_manifest(source, cancel=cancel)
        if not isinstance(top, ImageIndex):
            return SourcePlatforms(False, (), top.digest, isinstance(top, Schema1Manifest))
        seen: list[Platform] = []
        digests: list[Digest] = []
        # the images of lists nested in the list too: a copy chooses among them as well,
        # preferring the list's own image of a platform, as it does
        images = [entry for _holder, entry in nested_entries(source, top, cancel=cancel)]
        twins = platform_twins(top.manifests, images)
        by_digest: list[Descriptor] = []
        others = 0
        for entry in images:
            platform = entry.platform
            if is_unplaced(entry):
                if entry not in by_digest:
                    by_digest.append(entry)
                continue
            if platform is None or not platform.os:
                others += buildkit_attestation_subject(entry) is None
                continue
            if platform.os == "unknown":
                continue
            if entry.digest in twins:  # (its platform chooses another image)
                if entry not in by_digest:
                    by_digest.append(entry)
                continue
            if platform not in seen:
                seen.append(platform)
                digests.append(entry.digest)
    finally:
        source.close()
    return SourcePlatforms(True, tuple(seen), top.digest, instances=tuple(digests),
                           by_digest=tuple(by_digest), others=others)


@dataclass(frozen=True)
class CopyRequest:
    """One copy as the dialog asked for it: names and options (Retry runs it again)."""

    source: str
    destination: str
    options: CopyOptions
    label: str = ""


@dataclass
class Prepared:
    """A planned copy, with the source and destination it was planned against (open)."""

    plan: CopyPlan
    source: ImageSource
    destination: ImageDestination

    def close(self) -> None:
        try:
            self.destination.abort()
        finally:
            try:
                self.destination.close()
            finally:
                self.source.close()


def prepare_copy(openers: Openers, request: CopyRequest, cancel: CancelToken,
                 asking: Callable[[str], None] | None = None) -> Prepared:
    """Open both ends and plan the copy (a job); raises the refusal sentence. The
    signature policy (``policy.json``, as skopeo reads it) is asked first, before
    anything is opened. ``asking`` is told, on the job's thread, which end the step under
    way asks: the source's name (reading the source, planning), then the destination's
    (what its name names now, whether it may be written)."""
    check_copy_source(parse_image_name(request.source))
    if asking is not None:
        asking(request.source)
    source = openers.source(request.source, cancel)
    try:
        destination = openers.destination(request.destination, cancel)
    except BaseException:
        source.close()
        raise
    try:
        plan = plan_copy(source, destination, request.options, cancel=cancel)
        if asking is not None:
            asking(request.destination)
        if isinstance(destination, CheckedDestination) and not held_already(
                plan, destination, request.options, cancel=cancel):
            # a refusal to write (no credentials yet) is said in the dialog, not after it
            # (a copy of what the registry's tag names already writes nothing: no need)
            destination.check_writable(held=plan.check_blob, cancel=cancel)
        # a disk too small for the copy is said in the dialog too (as execute does on the
        # command line); one that may be too small, as a note of the copy
        plan = check_room(plan, destination)
        check(cancel)
    except BaseException:
        try:
            destination.close()
        finally:
            source.close()
        raise
    return Prepared(plan, source, destination)


def window_parallel() -> int:
    """Blob transfers at once for the window's copies: the command line's default,
    but at most two per processor core. More threads than that mostly wait for the
    processor, and make the event loop wait with them (on two cores, eight busy
    threads stalled it for up to 85 ms; four stay under 35 ms)."""
    return min(DEFAULT_PARALLEL, 2 * (os.cpu_count() or 1))


def run_copy(
    openers: Openers,
    request: CopyRequest,
    prepared: Prepared | None,
    events: Callable[[CopyEvent], None],
    cancel: CancelToken,
) -> Descriptor:
    """Plan (unless ``prepared``) and carry out one copy (a job); closes both ends."""
    if prepared is None:
        prepared = prepare_copy(openers, request, cancel)
    try:
        # the window's copies run behind the event loop: lower their threads' priority
        options = replace(request.options, background=True)
        return execute(prepared.plan, prepared.source, prepared.destination, options,
                       events=events, cancel=cancel)
    finally:
        try:
            prepared.destination.close()
        finally:
            prepared.source.close()



__all__ = [
    "CopyRequest",
    "Openers",
    "Prepared",
    "SourcePlatforms",
    "list_platforms",
    "prepare_copy",
    "run_copy",
    "window_parallel",
]
