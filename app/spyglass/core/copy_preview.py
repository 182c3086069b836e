"""A copy's plan as lines a person reads (``spyglass copy --dry-run``): each image with
its digest before and after, each blob with its role, size and what becomes of it,
the media types a format conversion maps, what goes along, and the totals.

What the plan alone cannot know — whether the destination holds a blob already, or
would mount it from another repository — :func:`look_at_destination` asks, writing
nothing; :func:`plan_lines` says what it found (:class:`Looked`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final

from spyglass.core import media
from spyglass.core.cancel import CancelToken
from spyglass.core.copy_attachments import describe_attachments
from spyglass.core.copy_conversions import format_name, format_of
from spyglass.core.copy_plan import BlobTask, CopyOptions, CopyPlan, Format, InstancePlan
from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor, ImageIndex
from spyglass.core.platform_choice import entry_label
from spyglass.core.referrers import buildkit_attestation_subject
from spyglass.core.text import visible
from spyglass.core.transports.base import BlobHolder, ImageDestination, MountHints
from spyglass.core.units import human_size

LOOKUPS: Final = 8
"""Questions to the destination in flight at once while looking."""

MAX_ATTACHED_LINES: Final = 12
"""Blobs of what goes along listed one by one; the rest are counted."""


@dataclass(frozen=True)
class Looked:
    """What the destination said when asked before the copy, with nothing written."""

    held: bool = False
    """Its name names the very image the copy would write: nothing would be written."""
    there: frozenset[Digest] = frozenset()
    """Blobs it holds already (a registry's word; a layout's file of that name and size,
    whose digest the copy checks before it relies on it)."""
    mounts: Mapping[Digest, str] = field(default_factory=dict)
    """Blobs it would mount, and from which repository (the blob-location cache's word)."""
    made_before: Mapping[tuple[Digest, str | None], Digest] = field(default_factory=dict)
    """Recompressions done before whose result it holds already, by blob task."""


def look_at_destination(
    plan: CopyPlan,
    destination: ImageDestination,
    options: CopyOptions,
    *,
    cancel: CancelToken | None = None,
) -> Looked:
    """Ask ``destination`` what of ``plan`` it holds already, changing nothing (``HEAD``
    requests to a registry; a layout's files looked at). A destination that cannot say
    (an archive, ``dir:``) has nothing there."""
    from spyglass.core.copy import held_already, recompression_target

    held = held_already(plan, destination, options, cancel=cancel)
    holder = destination if isinstance(destination, BlobHolder) else None
    if holder is None:
        return Looked(held=held)
    from spyglass.core.blobcache import default_cache

    cache = default_cache()
    asked: dict[Digest, Descriptor] = {}
    made: dict[tuple[Digest, str | None], Descriptor] = {}
    # an image held whole holds its own blobs; what goes along with it may be missing
    for task in () if held else plan.blobs:
        if task.recompress is None:
            asked.setdefault(task.source.digest, task.source)
            continue
        known = cache.recompressed(task.source.digest, recompression_target(task, options))
        if known is not None:
            made[task.key] = Descriptor(task.media_type, known[0], known[1])
    for blob in plan.attachment_blobs:
        asked.setdefault(blob.digest, blob)
    wanted = [*asked.values(), *made.values()]
    with ThreadPoolExecutor(max_workers=LOOKUPS, thread_name_prefix="spyglass-look") as pool:
        answers = dict(zip((d.digest for d in wanted),
                           pool.map(lambda d: holder.holds_blob(d, cancel=cancel), wanted),
                           strict=True))
    there = frozenset(digest for digest in asked if answers[digest])
    mounts: dict[Digest, str] = {}
    if isinstance(destination, MountHints):
        for digest in asked:
            if digest not in there and (repository := destination.mount_source(digest)):
                mounts[digest] = repository
    return Looked(held=held, there=there, mounts=mounts,
                  made_before={key: d.digest for key, d in made.items() if answers[d.digest]})


def format_plan(plan: CopyPlan, looked: Looked | None = None) -> str:
    """The plan as ``--dry-run`` prints it: each line as :func:`~spyglass.core.text.visible`
    writes it (the command line's ``terminal_safe``), so that what a line quotes from the
    registry (an ``os.version``, a note about it) or a path that is not UTF-8 shows as
    escapes, not as a command to the terminal or a line of its own."""
    return "\n".join(visible(line) for line in plan_lines(plan, looked))


def plan_lines(plan: CopyPlan, looked: Looked | None = None) -> list[str]:
    """The plan, one line for each image and each blob (a blob two images share is
    listed under the first), then the media types a format conversion maps, what goes
    along, the totals and the notes. ``looked``: what the destination holds already."""
    looked = looked or Looked()
    lines = [f"Would copy {plan.source_name} → {plan.destination_name}"]
    if looked.held:
        lines.append(f"  already there: {plan.destination_name} names this very image; "
                     "nothing would be written"
                     + (", but what is attached to it goes along where it is missing"
                        if plan.attachments else ""))
    if plan.list_media_type:
        lines.append(_list_line(plan))
    elif isinstance(plan.top, ImageIndex) and plan.instances:
        lines.append(f"  list: {plan.top.digest.short} (not written: the image below goes "
                     "alone)")
    listed: dict[tuple[Digest, str | None], str] = {}
    top = plan.top if isinstance(plan.top, ImageIndex) else None
    for instance in plan.instances:
        lines.append(_instance_line(plan, instance, top))
        lines.extend(_blob_lines(instance, listed, looked))
    lines.extend(_format_lines(plan))
    lines.extend(_attached_lines(plan, looked))
    lines.append(_total_line(plan, looked))
    lines.extend(f"  note: {note}" for note in plan.notes)
    return lines


def _list_line(plan: CopyPlan) -> str:
    assert plan.list_media_type is not None
    if plan.list_is_source:
        return (f"  list: {plan.top.digest.short} (digest kept), "
                f"{media.friendly(plan.list_media_type)}")
    how = ("converted" if plan.list_media_type != plan.top.media_type else "rebuilt")
    return (f"  list: {plan.top.digest.short} → (new digest: {how}), "
            f"{media.friendly(plan.list_media_type)}")


def _instance_line(plan: CopyPlan, instance: InstancePlan, top: ImageIndex | None) -> str:
    entry = instance.entry
    about = buildkit_attestation_subject(entry) if entry is not None else None
    what = (f"attestation of {about.short}" if about is not None
            else f"image {entry_label(entry, top)}" if entry is not None and entry.platform
            else "image")
    if plan.converted_from is not None:
        digests = f"{plan.converted_from.short} → (new digest: converted from schema 1)"
    elif instance.changes:
        digests = f"{instance.source.digest.short} → (new digest: converted)"
    else:
        digests = f"{instance.source.digest.short} (digest kept)"
    count = len(instance.layers)
    # (the written media type: what it was, the format lines say)
    return (f"  {what}: {digests}, {media.friendly(instance.media_type)}, "
            f"{count} layer{'' if count == 1 else 's'}")


def _blob_lines(instance: InstancePlan, listed: dict[tuple[Digest, str | None], str],
                looked: Looked) -> list[str]:
    """A line for each blob of ``instance`` not listed yet (``listed``: those that were,
    which it adds to), and one naming those that were."""
    roles = [("config", instance.config),
             *((f"layer {n}", task) for n, task in enumerate(instance.layers, 1))]
    width = max(len(role) for role, _task in roles)
    lines: list[str] = []
    above: list[str] = []
    for role, task in roles:
        if task.key in listed:
            above.append(role)
            continue
        listed[task.key] = role
        lines.append(_blob_line(role, width, task.source, _action(task, looked)))
    if above:
        layers = [role.removeprefix("layer ") for role in above if role != "config"]
        named = (["config"] if "config" in above else []) + (
            [f"layer{'s' if len(layers) > 1 else ''} {', '.join(layers)}"] if layers else [])
        lines.append(f"    {' and '.join(named)}: listed above")
    return lines


def _blob_line(role: str, width: int, blob: Descriptor, action: str) -> str:
    return f"    {role:<{width}}  {blob.digest.short}  {human_size(blob.size):>9}  {action}"


def _action(task: BlobTask, looked: Looked) -> str:
    """What becomes of a blob, as far as the plan and the look can tell."""
    if task.external:
        return "left where its URLs point (not copied)"
    if looked.held:
        return "already there"
    if task.recompress is not None:
        made = looked.made_before.get(task.key)
        how = f"{task.change} {task.compressed_before} → {task.recompress}"
        return f"already there as {made.short} ({how} before)" if made else how
    if task.data is not None:
        return "made by the schema 1 conversion"
    return _found(task.source.digest, looked)


def _found(digest: Digest, looked: Looked) -> str:
    if digest in looked.there:
        return "already there"
    if digest in looked.mounts:
        return f"mounted from {looked.mounts[digest]}"
    return "copied"


def _format_lines(plan: CopyPlan) -> list[str]:
    """The media types a format conversion maps, each pair once."""
    pairs: dict[tuple[str, str], None] = {}
    formats: dict[tuple[Format, Format], None] = {}
    if plan.list_media_type is not None and plan.list_media_type != plan.top.media_type:
        pairs[(plan.top.media_type, plan.list_media_type)] = None
    for instance in plan.instances:
        if format_of(instance.media_type) == format_of(instance.source.media_type):
            continue
        formats[(format_of(instance.source.media_type), format_of(instance.media_type))] = None
        pairs[(instance.source.media_type, instance.media_type)] = None
        for task in (instance.config, *instance.layers):
            if task.media_type != task.source.media_type:
                pairs[(task.source.media_type, task.media_type)] = None
    if not formats:
        return []
    said = ", ".join(f"{format_name(before)} → {format_name(after)}"
                     for before, after in formats)
    return [f"  format: {said}; media types mapped:",
            *(f"    {media.friendly(before)} → {media.friendly(after)}"
              for before, after in pairs)]


def _attached_lines(plan: CopyPlan, looked: Looked) -> list[str]:
    attached = describe_attachments(plan.attachments)
    if attached is None:
        if not plan.attachments_removed:
            return []
        inside = any(buildkit_attestation_subject(i.entry) is not None
                     for i in plan.instances if i.entry is not None)
        return ["  attached: left behind without being looked up (signatures, attestations, "
                "SBOMs and referrers kept beside the image are not copied"
                + ("; the attestation manifests inside the list are part of it and stay"
                   if inside else "") + ")"]
    kinds: dict[Digest, list[str]] = {}
    for task in plan.attachments:
        for blob in task.written_blobs:
            named = kinds.setdefault(blob.digest, [])
            if str(task.attachment.kind) not in named:
                named.append(str(task.attachment.kind))
    blobs = plan.attachment_blobs
    roles = [f"part of {' and '.join(kinds.get(blob.digest, ['an attachment']))}"
             for blob in blobs]
    width = max((len(role) for role in roles[:MAX_ATTACHED_LINES]), default=0)
    lines = [f"  {attached}"]
    lines.extend(_blob_line(role, width, blob, _found(blob.digest, looked))
                 for role, blob in zip(roles[:MAX_ATTACHED_LINES], blobs, strict=False))
    if len(blobs) > MAX_ATTACHED_LINES:
        rest = blobs[MAX_ATTACHED_LINES:]
        lines.append(f"    and {len(rest)} more blobs of them, "
                     f"{human_size(sum(b.size for b in rest))}")
    return lines


def _total_line(plan: CopyPlan, looked: Looked) -> str:
    tasks = plan.blobs
    attached = plan.attachment_blobs
    count = len(tasks) + len(attached)
    found: Iterable[tuple[str, int]] = [
        *((_action(task, looked), task.source.size) for task in tasks),
        *((_found(blob.digest, looked), blob.size) for blob in attached),
    ]
    there = mounted = moved = 0
    for action, size in found:
        if action.startswith("already there"):
            there += 1
        elif action.startswith("mounted"):
            mounted += 1
        else:
            moved += size
    said = [f"{there} already there"] if there else []
    said += [f"{mounted} mounted"] if mounted else []
    return (f"  total: {count} blob{'' if count == 1 else 's'}"
            + (f" ({len(attached)} attached)" if attached else "")
            + (f", {human_size(moved)} to move" if moved or not count else ", nothing to move")
            + (f"; {', '.join(said)}" if said else ""))
