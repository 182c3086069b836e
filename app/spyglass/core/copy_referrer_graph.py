"""The referrers graph a copy carries: what is attached to what is attached to an image.

An SBOM refers to the image; a signature refers to the SBOM. Copying the SBOM
without its signature leaves a copy that can no longer be verified, so a copy
carries the whole graph, as ``oras cp -r`` does and zot's sync does by default:
breadth first from what is attached to the image's own manifests, each manifest
asked once, :data:`MAX_DEPTH` levels at most. Parents come before their
children in the order the tasks are written, so a referrer's subject is at the
destination (and listed for its own subject) before the referrer is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final

from spyglass.core.cancel import CancelToken, linked
from spyglass.core.digest import Digest
from spyglass.core.signatures.discovery import (
    MAX_REFERRER_DEPTH,
    Attachment,
    find_attachments,
)
from spyglass.core.transports.base import ImageSource

if TYPE_CHECKING:
    from spyglass.core.copy_attachments import AttachmentTask

MAX_DEPTH: Final = MAX_REFERRER_DEPTH
"""Levels of attachments carried below an image's manifest; what lies deeper is noted."""

LOOKUP_THREADS: Final = 8


def look_up(
    source: ImageSource,
    digests: Sequence[Digest],
    find: Callable[[Digest], list[Attachment]] | None,
    cancel: CancelToken | None,
) -> list[list[Attachment]]:
    """What is attached to each of ``digests``, in their order: through ``find`` (the
    caller asked ahead) or the source, all at once (each manifest asks several
    questions: referrers, three tags, stored signatures)."""
    if not digests:
        return []
    with (
        ThreadPoolExecutor(max_workers=LOOKUP_THREADS,
                           thread_name_prefix="spyglass-attached") as pool,
        linked(cancel) as lookups,  # one failing stops the others
    ):
        if find is not None:
            return list(pool.map(find, digests))
        return list(pool.map(
            lambda digest: find_attachments(source, digest, cancel=lookups), digests))


def walk_referrers(
    carried: Iterable[AttachmentTask],
    seen: set[Digest],
    add: Callable[[Attachment, int], AttachmentTask | None],
    look: Callable[[Sequence[Digest]], list[list[Attachment]]],
    notes: list[str],
) -> None:
    """Add, through ``add`` (which makes and keeps the task, or counts what it cannot
    carry), what is attached to each attached manifest ``carried``, then to those,
    level by level. ``seen``: the digests already carried or copied, never asked about
    twice (a cycle through tags ends there). What lies below :data:`MAX_DEPTH` is
    noted, not carried."""
    level = _walkable(carried, seen)
    for depth in range(1, MAX_DEPTH + 1):
        if not level:
            return
        found = look([task.descriptor.digest for task in level if task.descriptor])
        known = {str(digest) for digest in seen}
        new = [attachment for attachments in found for attachment in attachments
               if attachment.key not in known]
        if depth == MAX_DEPTH:
            deeper = len(new)
            if deeper:
                notes.append(
                    f"{deeper} {'referrer' if deeper == 1 else 'referrers'} more than "
                    f"{MAX_DEPTH} levels below the image (attached to what is attached to "
                    f"it, and so on) {'is' if deeper == 1 else 'are'} not copied")
            return
        made = [task for attachment in new if (task := add(attachment, depth)) is not None]
        level = _walkable(made, seen)


def _walkable(tasks: Iterable[AttachmentTask], seen: set[Digest]) -> list[AttachmentTask]:
    """The tasks that write a manifest of the source not asked about yet (marked seen)."""
    out: list[AttachmentTask] = []
    for task in tasks:
        if task.how != "manifest" or task.descriptor is None or task.descriptor.digest in seen:
            continue
        seen.add(task.descriptor.digest)
        out.append(task)
    return out
