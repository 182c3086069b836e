"""Carrying signatures, attestations, SBOMs and other referrers along with a copy.

Planned with the copy (:func:`plan_attachments`), before any blob moves:
what is attached to every manifest the copy writes unchanged goes along; what
is attached to a manifest whose digest the copy changes (a conversion, a
rebuilt list) is left behind with a note, since it would no longer match. A
destination that cannot keep signatures refuses up front, naming
``--remove-signatures``; other attachments it cannot keep (an SBOM into
``dir:``) are left behind with a note.

cosign signatures move between their two forms as skopeo moves them: a
``sha256-<hex>.sig`` manifest copied into ``dir:`` becomes containers/image's
``sigstore-json`` ``signature-N`` files, and those files copied to a registry or
layout become the layers of a ``.sig`` manifest
(:mod:`spyglass.core.copy_cosign_tags`). A ``.sig`` tag the destination
already has for other signatures is added to, as containers/image does: its
layers stay, the source's signatures not among them follow. Everything is
decided while planning, so the plan says what is added where.

Executed after the image's manifests and before the commit
(:func:`carry_attachments`): blobs first (through the engine's own transfer,
verified like every other blob: those the plan made, payloads and configs,
from memory), then the attached manifest, under cosign's tag or as a referrer;
``dir:`` gets ``signature-N`` files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final, Protocol

from spyglass.core.cancel import CancelToken, check
from spyglass.core.copy_referrer_graph import look_up, walk_referrers
from spyglass.core.digest import Digest, read_verified
from spyglass.core.errors import AccessDenied, ImageNotFound, Unsupported
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    ImageIndex,
    ImageManifest,
    guess_media_type,
    parse_manifest,
)
from spyglass.core.referrers import cosign_tag, referrers_tag
from spyglass.core.signatures.discovery import REFERRER_FOUND, Attachment, misplaced_referrer
from spyglass.core.signatures.media import COSIGN_SIMPLESIGNING
from spyglass.core.signatures.model import Kind
from spyglass.core.transports.base import (
    AttachmentDestination,
    AttachmentSource,
    HeldReferrers,
    ImageDestination,
    ImageSource,
    TaggedDestination,
)

if TYPE_CHECKING:  # the cosign tag module is imported when a copy carries a tag
    from spyglass.core.copy_cosign_tags import Made, TagWrite

SIGNATURE_KINDS = frozenset({Kind.COSIGN_SIGNATURE, Kind.NOTARY_SIGNATURE, Kind.SIMPLE_SIGNING,
                             Kind.SIGNATURE})

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttachmentTask:
    """One attachment to bring over for the manifest ``attachment.subject`` (with
    ``more``: several, written as one manifest).

    ``how``: ``"manifest"`` (``manifest``, under ``tag`` or as a referrer, after
    its ``blobs`` from the source and the ``made`` ones from memory),
    ``"stored"`` (signature bytes kept as they are), ``"to-stored"`` (a cosign
    signature manifest whose layers become ``signature-N`` files) or, only while
    planning, ``"to-tag"`` (a ``signature-N`` file that becomes a layer of a
    ``.sig`` manifest).
    """

    attachment: Attachment
    how: str
    manifest: bytes | None = field(default=None, repr=False)
    descriptor: Descriptor | None = None
    blobs: tuple[Descriptor, ...] = ()
    tag: str | None = None
    made: tuple[tuple[Descriptor, bytes], ...] = field(default=(), repr=False)
    """Blobs the plan made (signature payloads, a config), with their bytes."""
    more: tuple[Attachment, ...] = ()
    planned_over: Digest | None = None
    """What the destination's ``tag`` named when the copy was planned (None: nothing);
    looked at again just before the write (see :func:`carry_attachments`)."""
    own: TagWrite | None = field(default=None, repr=False)
    """The source's own manifest for ``tag``, before any merge: what a tag that changed
    since the plan is settled with anew."""
    depth: int = 0
    """0 for what is attached to an image's manifest; 1 for what is attached to that
    (a signature on an SBOM), and so on."""

    @property
    def attachments(self) -> tuple[Attachment, ...]:
        """Every attachment the task carries."""
        return (self.attachment, *self.more)

    @property
    def written_blobs(self) -> tuple[Descriptor, ...]:
        """The blobs a ``"manifest"`` task puts before its manifest: from the source,
        then made; none for the others (their signatures are files)."""
        if self.how != "manifest":
            return ()
        return (*self.blobs, *(descriptor for descriptor, _data in self.made))


def _what(count: int, kind: Kind | str) -> str:
    word = str(kind)
    return f"{count} {word}{'' if count == 1 else 's'}"


def _not_copied(count: int, digest: Digest, why: str) -> str:
    """``2 signatures or referrers of sha256:… are not carried along: WHY``: not with this
    copy (a sync copies the tags they are under on their own, after its images)."""
    what = ("1 signature or referrer" if count == 1
            else f"{count} signatures or referrers")
    return f"{what} of {digest} {'is' if count == 1 else 'are'} not carried along: {why}"


_INDEX: Final = "index"
"""What :func:`_task` answers for an attached index: not carried, whatever the
destination can keep."""

_GONE: Final = "gone"
"""What :func:`_task` answers for a referrer its subject's referrers index lists but the
source no longer has (deleted since, or collected): left behind, noted."""


@dataclass(frozen=True)
class _Misplaced:
    """What :func:`_task` answers for a manifest a referrers index lists that is no
    referrer of that subject (see
    :func:`~spyglass.core.signatures.discovery.misplaced_referrer`): not carried, noted
    with ``why``."""

    why: str


def plan_attachments(
    source: ImageSource,
    destination: ImageDestination,
    kept: Iterable[Digest],
    changed: Iterable[Digest],
    unwritten: Iterable[Digest] = (),
    *,
    cancel: CancelToken | None = None,
    find: Callable[[Digest], list[Attachment]] | None = None,
    apart: frozenset[str] = frozenset(),
) -> tuple[tuple[AttachmentTask, ...], tuple[str, ...]]:
    """The attachments to carry for the manifests ``kept`` (written with their digests)
    and notes for those of ``changed`` ones, of ``unwritten`` ones (a list of which one
    image is copied) and anything left behind.

    ``find`` answers what is attached to a manifest when the caller asked
    ahead; by default the source is asked, for all manifests at once.
    ``apart``: tags whose attachments travel on their own
    (:attr:`~spyglass.core.copy_plan.CopyOptions.tags_apart`): passed over without a
    word, at every level.

    Raises :class:`Unsupported` when the destination cannot keep a signature
    the copy would carry: nothing has moved yet.
    """
    if not isinstance(source, AttachmentSource):
        return (), ()
    kept, changed = list(kept), list(changed)
    rewritten = len(changed)  # the notes of those that follow say the list is not copied
    changed += unwritten

    def look(digests: Sequence[Digest]) -> list[list[Attachment]]:
        return [[attachment for attachment in attachments
                 if not _under(attachment, apart)]
                for attachments in look_up(source, digests, find, cancel)]

    found = look(kept + changed)
    found_kept, found_changed = found[: len(kept)], found[len(kept):]
    notes: list[str] = []
    for number, (digest, lost) in enumerate(zip(changed, found_changed, strict=True)):
        if lost:
            notes.append(_not_copied(
                len(lost), digest,
                "the copy changes that manifest's digest, so they would not match it"
                if number < rewritten else
                "that list is not copied, only one of its images"))
    support = (
        destination.attachment_support
        if isinstance(destination, AttachmentDestination) else frozenset[str]()
    )
    sorter = _Sorter(source, support, cancel)
    carried = [task for attachments in found_kept for attachment in attachments
               if (task := sorter.add(attachment)) is not None]
    # what is attached to what goes along (a signature on an SBOM), level by level: a
    # parent's referrers tag is written before its children's
    walk_referrers(carried, {*kept, *changed}, sorter.add, look, notes)
    tasks, refused, left, indexes = sorter.tasks, sorter.refused, sorter.left, sorter.indexes
    notes.extend(sorter.gone_notes())
    notes.extend(f"{why}: not carried along, since it is not attached to it"
                 for why in sorter.misplaced)
    # a reason the destination gives for keeping nothing attached (a layout image
    # without a name), with what to do about it
    withheld: str | None = getattr(destination, "attachments_withheld", None)
    if withheld is None and any("simple signing" in what for what in refused):
        withheld = getattr(destination, "stored_signatures_refused", None)
    if refused:
        said = (f"{destination.description} cannot keep the signatures of this image: "
                f"{', '.join(refused)}" + (f"; {withheld}" if withheld else "") + ". ")
        raise Unsupported(said + "Copy without signatures to leave them behind.",
                          on_command_line=said + "Copy with --remove-signatures to leave "
                          "them behind.")
    tasks = _settle_tags(_gather_signature_files(tasks), destination, notes, cancel)
    if left:
        what = ", ".join(_what(count, kind) for kind, count in left.items())
        them = "it" if sum(left.values()) == 1 else "them"
        notes.append(f"{what} left behind: "
                     + (withheld or f"{destination.description} cannot keep {them}"))
    if indexes:
        what = ", ".join(_what(count, kind) for kind, count in indexes.items())
        notes.append(f"{what} not copied: {'it is' if sum(indexes.values()) == 1 else 'they are'}"
                     " an index (a list) attached as a referrer, which Spyglass does not "
                     "copy yet")
    return tuple(tasks), tuple(notes)


def _under(attachment: Attachment, tags: frozenset[str]) -> bool:
    """Whether ``attachment`` is found under one of ``tags``: its cosign tag, or the
    referrers fallback tag of its subject (the index that lists it)."""
    if not tags:
        return False
    if attachment.tag is not None:
        return attachment.tag in tags
    return (attachment.found == REFERRER_FOUND
            and referrers_tag(attachment.subject) in tags)


class _Sorter:
    """Sorts attachments into tasks, or what is refused, left behind, not copied (an
    index), gone or misplaced (listed for a subject it is no referrer of), for the
    notes."""

    def __init__(self, source: ImageSource, support: frozenset[str],
                 cancel: CancelToken | None) -> None:
        self._source, self._support, self._cancel = source, support, cancel
        self.tasks: list[AttachmentTask] = []
        self.refused: list[str] = []
        self.left: dict[Kind, int] = {}
        self.indexes: dict[Kind, int] = {}
        self.gone: dict[Digest, list[Digest]] = {}
        self.misplaced: list[str] = []

    def add(self, attachment: Attachment, depth: int = 0) -> AttachmentTask | None:
        """The task made for ``attachment`` (also kept in :attr:`tasks`), or None."""
        task = _task(self._source, attachment, self._support, self._cancel)
        if isinstance(task, AttachmentTask):
            task = replace(task, depth=depth) if depth else task
            self.tasks.append(task)
            return task
        if isinstance(task, _Misplaced):
            self.misplaced.append(task.why)
        elif task == _INDEX:
            self.indexes[attachment.kind] = self.indexes.get(attachment.kind, 0) + 1
        elif task == _GONE:
            assert attachment.descriptor is not None
            self.gone.setdefault(attachment.subject, []).append(attachment.descriptor.digest)
        elif attachment.kind in SIGNATURE_KINDS:
            self.refused.append(f"{attachment.kind} ({attachment.found} of "
                                f"{attachment.subject.short})")
        else:
            self.left[attachment.kind] = self.left.get(attachment.kind, 0) + 1
        return None

    def gone_notes(self) -> list[str]:
        """One note per subject whose referrers index lists manifests the source lacks."""
        notes = []
        for subject, digests in self.gone.items():
            what = "1 referrer" if len(digests) == 1 else f"{len(digests)} referrers"
            notes.append(
                f"{what} listed in the referrers index {referrers_tag(subject)} "
                f"{'is' if len(digests) == 1 else 'are'} gone from the source "
                f"({', '.join(str(d) for d in digests)}): left behind, and not listed at "
                "the destination")
        return notes


def _task(
    source: ImageSource,
    attachment: Attachment,
    support: frozenset[str],
    cancel: CancelToken | None,
) -> AttachmentTask | str | _Misplaced | None:
    """How to carry ``attachment``; None when the destination cannot keep it,
    :data:`_INDEX` for an attached index (never carried), :data:`_GONE` for a listed
    referrer the source does not have, :class:`_Misplaced` for one whose own subject is
    another manifest."""
    if attachment.stored is not None:
        if "stored" in support:
            return AttachmentTask(attachment, "stored")
        if "manifests" in support and attachment.kind is Kind.COSIGN_SIGNATURE:
            from spyglass.core.copy_cosign_tags import signature_file_layer

            layer = signature_file_layer(attachment, source.description)
            if layer is None:
                return None  # not cosign's simple signing: no place in a .sig manifest
            return AttachmentTask(attachment, "to-tag", tag=cosign_tag(attachment.subject, ".sig"),
                                  made=(layer,))
        return None
    if "manifests" not in support and not (
        "stored" in support and attachment.kind is Kind.COSIGN_SIGNATURE
    ):
        return None
    assert attachment.descriptor is not None
    try:
        raw, media_type = source.get_manifest(str(attachment.descriptor.digest), cancel=cancel)
    except (ImageNotFound, AccessDenied):  # (a 403: how Artifactory says "none")
        if attachment.found != REFERRER_FOUND:
            raise
        return _GONE  # a referrers index is advisory, as regctl and oras take it
    manifest = parse_manifest(raw, media_type or attachment.descriptor.media_type or None)
    misplaced = misplaced_referrer(  # (written, it would be listed for its own subject)
        attachment, manifest.subject.digest
        if isinstance(manifest, ImageManifest | ImageIndex) and manifest.subject else None)
    if misplaced is not None:
        return _Misplaced(misplaced)
    if not isinstance(manifest, ImageManifest):
        return _INDEX  # an index as a referrer: rare, and not carried yet
    descriptor = Descriptor(
        manifest.media_type or guess_media_type(raw) or attachment.descriptor.media_type,
        attachment.descriptor.digest, len(raw),
        artifact_type=manifest.artifact_type or attachment.descriptor.artifact_type,
        annotations=attachment.descriptor.annotations,
    )
    if "manifests" in support:
        return AttachmentTask(
            attachment, "manifest", raw, descriptor, (manifest.config, *manifest.layers),
            tag=attachment.tag,
        )
    if not manifest.layers or any(
        layer.media_type != COSIGN_SIMPLESIGNING for layer in manifest.layers
    ):
        return None  # only cosign's simple-signing layers have a signature-N form
    return AttachmentTask(attachment, "to-stored", raw, descriptor, tuple(manifest.layers))


def _gather_signature_files(tasks: list[AttachmentTask]) -> list[AttachmentTask]:
    """The ``"to-tag"`` tasks of each subject made into one: the ``.sig`` manifest of their
    layers, in file order, as containers/image writes it fresh."""
    groups: dict[Digest, list[AttachmentTask]] = {}
    out: list[AttachmentTask] = []
    for task in tasks:
        if task.how == "to-tag":
            groups.setdefault(task.attachment.subject, []).append(task)
        else:
            out.append(task)
    for group in groups.values():
        from spyglass.core.copy_cosign_tags import fresh_signature_tag

        write = fresh_signature_tag(made for task in group for made in task.made)
        out.append(AttachmentTask(
            group[0].attachment, "manifest", write.manifest, write.descriptor,
            tag=group[0].tag, made=write.made,
            more=tuple(task.attachment for task in group[1:]),
        ))
    return out


def _settle_tags(
    tasks: list[AttachmentTask], destination: ImageDestination, notes: list[str],
    cancel: CancelToken | None,
) -> list[AttachmentTask]:
    """The tasks, those whose tag the destination has for something else settled: a
    ``.sig`` manifest there gets the source's signatures added
    (:func:`~spyglass.core.copy_cosign_tags.add_to_theirs`); anything else there is
    kept, and the note says what is not copied instead."""
    if not isinstance(destination, TaggedDestination):
        return tasks
    settled: list[AttachmentTask] = []
    for task in tasks:
        if task.tag is not None and task.manifest is not None and task.descriptor is not None:
            there = destination.tagged_digest(task.tag, cancel=cancel)
            from spyglass.core.copy_cosign_tags import TagWrite

            ours = TagWrite(task.manifest, task.descriptor, task.blobs, task.made)
            write = _settle(task, ours, there, destination, destination.description, notes,
                            cancel)
            if write is not None:
                settled.append(replace(task, manifest=write.manifest,
                                       descriptor=write.descriptor, blobs=write.blobs,
                                       made=write.made, planned_over=there, own=ours))
            continue
        settled.append(task)
    return settled


def _settle(
    task: AttachmentTask, ours: TagWrite, there: Digest | None, destination: TaggedDestination,
    name: str, notes: list[str], cancel: CancelToken | None,
) -> TagWrite | None:
    """What to write under ``task.tag`` when the destination has ``there`` under it:
    ours, ours added to theirs, or nothing (noted)."""
    if there is None or there == ours.descriptor.digest:
        return ours
    assert task.tag is not None
    from spyglass.core.copy_cosign_tags import add_to_theirs

    return add_to_theirs(ours, task.attachment.kind, task.tag, there, destination, name,
                         notes, cancel)


def describe_attachments(tasks: Iterable[AttachmentTask]) -> str | None:
    """One line for the plan: what goes along, by kind, and how many of those are
    attached to another attachment (a signature on an SBOM)."""
    counts: dict[Kind, int] = {}
    nested = 0
    for task in tasks:
        for attachment in task.attachments:
            counts[attachment.kind] = counts.get(attachment.kind, 0) + 1
            nested += task.depth > 0
    if not counts:
        return None
    return "attached: " + ", ".join(_what(count, kind) for kind, count in counts.items()) + (
        f" ({nested} of them attached to another of them)" if nested else "")


class BlobMover(Protocol):
    """How :func:`carry_attachments` has the engine move blobs."""

    def transfer(self, blob: Descriptor, made: Made) -> None:
        """Bring a blob the plan counted over, from the source or from ``made`` (blobs
        a plan made: signature payloads, a config), reporting its progress."""

    def extra(self, blob: Descriptor, made: Made) -> None:
        """Bring over a small blob the plan did not count (a signature manifest's config
        made anew), without reporting it."""

    def unneeded(self, blob: Descriptor) -> None:
        """A blob the plan counted is not needed after all."""

    def there(self, blob: Descriptor) -> None:
        """A blob the plan counted is at the destination already (the manifest it
        belongs to is stored there): nothing moves."""


def carry_attachments(
    tasks: Iterable[AttachmentTask],
    source: ImageSource,
    destination: ImageDestination,
    mover: BlobMover,
    *,
    trust_held: bool = False,
    cancel: CancelToken | None = None,
) -> bool:
    """Write every task to ``destination``, its blobs brought over by ``mover``; whether
    anything was written.

    A tag is looked at again just before it is written: one that changed since the
    plan (another signer's signature added meanwhile) is settled anew with what it
    holds now, so that signature is not lost. Its blobs that the plan did not count
    (a new config) go over unreported, and those it counted and no longer needs are
    reported as such, so that progress adds up. With ``trust_held`` (a destination that
    holds a manifest only with everything it names: a registry; and no
    ``--force-recursive``), a manifest it holds already (the tag names it; a referrer
    stored and listed there) is not written again, nor are its blobs asked about: a
    second copy of a signed image writes nothing."""
    if not isinstance(destination, AttachmentDestination):
        return False
    stored: dict[Digest, list[bytes]] = {}
    wrote = False
    for task in tasks:
        check(cancel)
        subject = task.attachment.subject
        if task.how == "stored":
            assert task.attachment.stored is not None
            stored.setdefault(subject, []).append(task.attachment.stored)
        elif task.how == "to-stored":
            stored.setdefault(subject, []).extend(_as_stored(source, task, cancel))
        else:
            write, named = _still_right(task, destination, cancel)
            if trust_held and write is not None and (
                    named or _referrer_held(task, write, destination, cancel)):
                for blob in task.written_blobs:
                    mover.there(blob)
                continue
            planned = {blob.digest: blob for blob in task.written_blobs}
            wanted = () if write is None else (
                *write.blobs, *(descriptor for descriptor, _data in write.made))
            for blob in wanted:
                if planned.pop(blob.digest, None) is not None:
                    mover.transfer(blob, write.made if write is not None else ())
                else:
                    mover.extra(blob, write.made if write is not None else ())
            for blob in planned.values():
                mover.unneeded(blob)
            if write is not None:
                destination.put_attachment(
                    subject, write.descriptor, write.manifest, tag=task.tag, cancel=cancel
                )
                wrote = True
    for subject, signatures in stored.items():
        destination.put_stored_signatures(subject, signatures, cancel=cancel)
        wrote = True
    return wrote


def _still_right(
    task: AttachmentTask, destination: ImageDestination, cancel: CancelToken | None
) -> tuple[TagWrite | None, bool]:
    """What to write for a ``"manifest"`` task now: as planned, or, for a tag that names
    something else than when the copy was planned, settled anew (None: nothing); and
    whether the tag names the very manifest to write already."""
    assert task.manifest is not None and task.descriptor is not None
    from spyglass.core.copy_cosign_tags import TagWrite

    planned = TagWrite(task.manifest, task.descriptor, task.blobs, task.made)
    if task.tag is None or task.own is None or not isinstance(destination, TaggedDestination):
        return planned, False
    now = destination.tagged_digest(task.tag, cancel=cancel)
    if now == task.descriptor.digest:
        return planned, True
    if now == task.planned_over:
        return planned, False
    notes: list[str] = []
    write = _settle(task, task.own, now, destination, destination.description, notes, cancel)
    log.info("%s changed at %s while copying; settled anew%s", task.tag,
             destination.description, "".join(f"; {note}" for note in notes))
    return write, False


def _referrer_held(task: AttachmentTask, write: TagWrite, destination: ImageDestination,
                   cancel: CancelToken | None) -> bool:
    """Whether the destination holds the referrer ``write`` already, stored and listed
    for its subject (a registry that can tell: :class:`HeldReferrers`)."""
    if task.tag is not None or not isinstance(destination, HeldReferrers):
        return False
    return destination.referrer_held(task.attachment.subject, write.descriptor, cancel=cancel)


def _as_stored(
    source: ImageSource, task: AttachmentTask, cancel: CancelToken | None
) -> list[bytes]:
    from spyglass.core.signatures.stored import encode_sigstore_signature

    out: list[bytes] = []
    for layer in task.blobs:
        with source.open_blob(layer, cancel=cancel) as stream:
            payload = read_verified(
                stream, layer.digest, layer.size, limit=MAX_MANIFEST_SIZE,
                what=f"The signature layer {layer.digest}", cancel=cancel,
            )
        out.append(encode_sigstore_signature(payload, layer.media_type, layer.annotations))
    return out
