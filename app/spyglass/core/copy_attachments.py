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
(:mod:`spyglass.core.signatures.cosign_tag`). A ``.sig`` tag the destination
already has for other signatures is added to, as containers/image does: its
layers stay, the source's signatures not among them follow
(:mod:`spyglass.core.copy_cosign_tags`). Everything is decided while planning,
so the plan says what is added where.

Executed after the image's manifests and before the commit
(:func:`carry_attachments`): blobs first (through the engine's own transfer,
verified like every other blob: those the plan made, payloads and configs,
from memory), then the attached manifest, under cosign's tag or as a referrer;
``dir:`` gets ``signature-N`` files.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Final

from spyglass.core.cancel import CancelToken, check, linked
from spyglass.core.digest import Digest, VerifyingReader, read_verified
from spyglass.core.errors import (
    InvalidConfig,
    InvalidManifest,
    NotFound,
    TooLarge,
    Unsupported,
    VerificationError,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    ImageManifest,
    guess_media_type,
    parse_manifest,
)
from spyglass.core.referrers import cosign_tag
from spyglass.core.signatures.cosign_tag import (
    SignatureManifest,
    Written,
    check_signature_manifest,
    read_signature_manifest,
    signature_layer,
    write_signature_manifest,
)
from spyglass.core.signatures.discovery import Attachment, find_attachments
from spyglass.core.signatures.media import COSIGN_SIMPLESIGNING
from spyglass.core.signatures.model import Kind
from spyglass.core.transports.base import (
    AttachmentDestination,
    AttachmentSource,
    ImageDestination,
    ImageSource,
    TaggedDestination,
)

SIGNATURE_KINDS = frozenset({Kind.COSIGN_SIGNATURE, Kind.NOTARY_SIGNATURE, Kind.SIMPLE_SIGNING})


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


def _is(count: int) -> str:
    return "is" if count == 1 else "are"


def _not_copied(count: int, digest: Digest, why: str) -> str:
    """``2 signatures or referrers of sha256:… are not copied: WHY``."""
    what = ("1 signature or referrer" if count == 1
            else f"{count} signatures or referrers")
    return f"{what} of {digest} {'is' if count == 1 else 'are'} not copied: {why}"


_INDEX: Final = "index"
"""What :func:`_task` answers for an attached index: not carried, whatever the
destination can keep."""


def plan_attachments(
    source: ImageSource,
    destination: ImageDestination,
    kept: Iterable[Digest],
    changed: Iterable[Digest],
    unwritten: Iterable[Digest] = (),
    *,
    cancel: CancelToken | None = None,
    find: Callable[[Digest], list[Attachment]] | None = None,
) -> tuple[tuple[AttachmentTask, ...], tuple[str, ...]]:
    """The attachments to carry for the manifests ``kept`` (written with their digests)
    and notes for those of ``changed`` ones, of ``unwritten`` ones (a list of which one
    image is copied) and anything left behind.

    ``find`` answers what is attached to a manifest when the caller asked
    ahead; by default the source is asked, for all manifests at once.
    Raises :class:`Unsupported` when the destination cannot keep a signature
    the copy would carry: nothing has moved yet.
    """
    if not isinstance(source, AttachmentSource):
        return (), ()
    kept, changed = list(kept), list(changed)
    rewritten = len(changed)  # the notes of those that follow say the list is not copied
    changed += unwritten
    if find is not None:
        found = [find(digest) for digest in kept + changed]
    else:
        # each manifest asks several questions (referrers, three tags, stored
        # signatures): ask for all manifests at once
        with (
            ThreadPoolExecutor(max_workers=8, thread_name_prefix="spyglass-attached") as pool,
            linked(cancel) as lookups,  # one failing stops the others
        ):
            found = list(pool.map(
                lambda digest: find_attachments(source, digest, cancel=lookups), kept + changed
            ))
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
    tasks: list[AttachmentTask] = []
    refused: list[str] = []
    left: dict[Kind, int] = {}
    indexes: dict[Kind, int] = {}
    for attachments in found_kept:
        for attachment in attachments:
            task = _task(source, attachment, support, cancel)
            if isinstance(task, AttachmentTask):
                tasks.append(task)
            elif task == _INDEX:
                indexes[attachment.kind] = indexes.get(attachment.kind, 0) + 1
            elif attachment.kind in SIGNATURE_KINDS:
                refused.append(f"{attachment.kind} ({attachment.found} of "
                               f"{attachment.subject.short})")
            else:
                left[attachment.kind] = left.get(attachment.kind, 0) + 1
    if refused:
        said = (f"{destination.description} cannot keep the signatures of this image: "
                f"{', '.join(refused)}. ")
        raise Unsupported(said + "Copy without signatures to leave them behind.",
                          on_command_line=said + "Copy with --remove-signatures to leave "
                          "them behind.")
    tasks = _settle_tags(_gather_signature_files(tasks), destination, notes, cancel)
    if left:
        what = ", ".join(_what(count, kind) for kind, count in left.items())
        them = "it" if sum(left.values()) == 1 else "them"
        notes.append(f"{what} left behind: {destination.description} cannot keep {them}")
    if indexes:
        what = ", ".join(_what(count, kind) for kind, count in indexes.items())
        notes.append(f"{what} not copied: {'it is' if sum(indexes.values()) == 1 else 'they are'}"
                     " an index (a list) attached as a referrer, which Spyglass does not "
                     "copy yet")
    return tuple(tasks), tuple(notes)


def _task(
    source: ImageSource,
    attachment: Attachment,
    support: frozenset[str],
    cancel: CancelToken | None,
) -> AttachmentTask | str | None:
    """How to carry ``attachment``; None when the destination cannot keep it,
    :data:`_INDEX` for an attached index (never carried)."""
    if attachment.stored is not None:
        if "stored" in support:
            return AttachmentTask(attachment, "stored")
        if "manifests" in support and attachment.kind is Kind.COSIGN_SIGNATURE:
            return _signature_file_task(source, attachment)
        return None
    if "manifests" not in support and not (
        "stored" in support and attachment.kind is Kind.COSIGN_SIGNATURE
    ):
        return None
    assert attachment.descriptor is not None
    raw, media_type = source.get_manifest(str(attachment.descriptor.digest), cancel=cancel)
    manifest = parse_manifest(raw, media_type or attachment.descriptor.media_type or None)
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


def _signature_file_task(source: ImageSource, attachment: Attachment) -> AttachmentTask | None:
    """A ``signature-N`` file in ``sigstore-json`` form as a layer of the subject's ``.sig``
    manifest (gathered by :func:`_gather_signature_files`); None for a payload other than
    cosign's simple signing, which has no place there."""
    from spyglass.core.signatures.model import InvalidSignature
    from spyglass.core.signatures.stored import split_stored_signature

    assert attachment.stored is not None
    try:
        stored = split_stored_signature(attachment.stored)
    except InvalidSignature as exc:
        said = (f"{attachment.found} of {attachment.subject.short} in {source.description} "
                f"cannot become a cosign signature: {exc} ")
        raise InvalidSignature(said + "Copy without signatures to leave it behind.",
                               on_command_line=said + "Copy with --remove-signatures to "
                               "leave it behind.") from exc
    if stored.mime_type != COSIGN_SIMPLESIGNING:
        return None
    layer = signature_layer(stored.data, stored.mime_type, stored.annotations)
    return AttachmentTask(attachment, "to-tag", tag=cosign_tag(attachment.subject, ".sig"),
                          made=((layer, stored.data),))


def _gather_signature_files(tasks: list[AttachmentTask]) -> list[AttachmentTask]:
    """The ``"to-tag"`` tasks of each subject made into one: the ``.sig`` manifest of their
    layers, in file order, each signature once, as containers/image writes it fresh."""
    groups: dict[Digest, list[AttachmentTask]] = {}
    out: list[AttachmentTask] = []
    for task in tasks:
        if task.how == "to-tag":
            groups.setdefault(task.attachment.subject, []).append(task)
        else:
            out.append(task)
    for group in groups.values():
        payloads = {layer.digest: data for task in group for layer, data in task.made}
        written = write_signature_manifest(layer for task in group for layer, _ in task.made)
        out.append(AttachmentTask(
            group[0].attachment, "manifest", written.manifest, written.descriptor,
            tag=group[0].tag, made=_made(written, payloads),
            more=tuple(task.attachment for task in group[1:]),
        ))
    return out


def _made(written: Written, payloads: Mapping[Digest, bytes]) -> tuple[
    tuple[Descriptor, bytes], ...
]:
    """The blobs to put for ``written``: the payloads of its new layers that are in
    ``payloads`` (once each), then its config."""
    made = {layer.digest: (layer, payloads[layer.digest])
            for layer in written.added if layer.digest in payloads}
    return (*made.values(), (written.config_descriptor, written.config))


def _settle_tags(
    tasks: list[AttachmentTask], destination: ImageDestination, notes: list[str],
    cancel: CancelToken | None,
) -> list[AttachmentTask]:
    """The tasks, those whose tag the destination has for something else settled: a
    ``.sig`` manifest there gets the source's signatures added (:func:`_add_to_theirs`);
    anything else there is kept, and the note says what is not copied instead."""
    if not isinstance(destination, TaggedDestination):
        return tasks
    settled: list[AttachmentTask] = []
    for task in tasks:
        if task.tag is not None and task.descriptor is not None:
            there = destination.tagged_digest(task.tag, cancel=cancel)
            if there is not None and there != task.descriptor.digest:
                added = _add_to_theirs(task, there, destination, destination.description,
                                       notes, cancel)
                if added is not None:
                    settled.append(added)
                continue
        settled.append(task)
    return settled


def _add_to_theirs(
    task: AttachmentTask, there: Digest, destination: TaggedDestination, name: str,
    notes: list[str], cancel: CancelToken | None,
) -> AttachmentTask | None:
    """``task`` turned into adding its signatures to the ``.sig`` manifest ``there``, as
    containers/image does; None (and a note) when there is nothing to add or it cannot
    be added to."""
    assert task.tag is not None
    where = f"{task.tag} at {name}"
    read = _read_theirs(task, there, destination, cancel)
    if isinstance(read, str):
        notes.append(f"{name} already has other content under {task.tag} ({there.short}); it "
                     f"is kept, and the source's {task.attachment.kind} is not copied{read}")
        return None
    ours, theirs = read
    written = write_signature_manifest(ours, theirs)
    if not written.added:
        notes.append(f"{where} already holds the source's "
                     f"{_what(len(ours), 'cosign signature')}; nothing is added")
        return None
    count = len(written.added)
    note = (f"the source's {_what(count, 'cosign signature')} {_is(count)} merged into {where},"
            f" which already holds {_what(written.kept, 'other signature')}")
    if written.already:
        note += f"; the source's other {written.already} {_is(written.already)} there already"
    notes.append(note)
    payloads = {layer.digest: data for layer, data in task.made}
    return replace(
        task, manifest=written.manifest, descriptor=written.descriptor,
        blobs=tuple(layer for layer in written.added if layer.digest not in payloads),
        made=_made(written, payloads),
    )


def _read_theirs(
    task: AttachmentTask, there: Digest, destination: TaggedDestination,
    cancel: CancelToken | None,
) -> tuple[tuple[Descriptor, ...], SignatureManifest] | str:
    """The source's signature layers and the signature manifest ``there`` to add them to,
    both checked (the destination's read verified); else why not, as the end of a note."""
    assert task.tag is not None and task.manifest is not None and task.descriptor is not None
    if not task.tag.endswith(".sig") or task.attachment.kind is not Kind.COSIGN_SIGNATURE:
        return " (Spyglass adds only to cosign's signature tags, .sig)"
    try:
        ours = check_signature_manifest(task.manifest, task.descriptor.media_type)
    except InvalidManifest:
        return (": it holds other layers than cosign signatures, which Spyglass does not add "
                "to a signature tag")
    try:
        raw, media_type = destination.read_manifest(there, cancel=cancel)
        parsed = check_signature_manifest(raw, media_type)
        config = destination.read_small_blob(parsed.config, cancel=cancel)
        return ours.layers, read_signature_manifest(raw, parsed, config)
    except (NotFound, InvalidManifest, InvalidConfig, VerificationError, TooLarge) as exc:
        return f", since Spyglass adds signatures only to a cosign signature manifest. {exc}"


def describe_attachments(tasks: Iterable[AttachmentTask]) -> str | None:
    """One line for the plan: what goes along, by kind."""
    counts: dict[Kind, int] = {}
    for task in tasks:
        for attachment in task.attachments:
            counts[attachment.kind] = counts.get(attachment.kind, 0) + 1
    if not counts:
        return None
    return "attached: " + ", ".join(_what(count, kind) for kind, count in counts.items())


def carry_attachments(
    tasks: Iterable[AttachmentTask],
    source: ImageSource,
    destination: ImageDestination,
    transfer: Callable[[Descriptor], None],
    *,
    cancel: CancelToken | None = None,
) -> None:
    """Write every task to ``destination``; ``transfer`` brings one blob over (those
    the plan made too: see :func:`with_made_blobs`)."""
    if not isinstance(destination, AttachmentDestination):
        return
    stored: dict[Digest, list[bytes]] = {}
    for task in tasks:
        check(cancel)
        subject = task.attachment.subject
        if task.how == "stored":
            assert task.attachment.stored is not None
            stored.setdefault(subject, []).append(task.attachment.stored)
        elif task.how == "to-stored":
            stored.setdefault(subject, []).extend(_as_stored(source, task, cancel))
        else:
            assert task.manifest is not None and task.descriptor is not None
            for blob in task.written_blobs:
                transfer(blob)
            destination.put_attachment(
                subject, task.descriptor, task.manifest, tag=task.tag, cancel=cancel
            )
    for subject, signatures in stored.items():
        destination.put_stored_signatures(subject, signatures, cancel=cancel)


class _WithMade:
    """``source``, and the blobs the plan made served from memory (verified as they are
    read, like every blob a copy writes)."""

    def __init__(self, source: ImageSource, made: Mapping[Digest, bytes]) -> None:
        self._source = source
        self._made = made

    @property
    def description(self) -> str:
        return self._source.description

    def get_manifest(
        self, digest: str | None = None, *, cancel: CancelToken | None = None
    ) -> tuple[bytes, str | None]:
        return self._source.get_manifest(digest, cancel=cancel)

    def open_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> VerifyingReader:
        data = self._made.get(descriptor.digest)
        if data is None:
            return self._source.open_blob(descriptor, cancel=cancel)
        return VerifyingReader(io.BytesIO(data), descriptor.digest, descriptor.size,
                               what=f"The blob {descriptor.digest} made for the copy",
                               cancel=cancel)

    def close(self) -> None:
        """The source is its owner's to close."""


def with_made_blobs(source: ImageSource, tasks: Iterable[AttachmentTask]) -> ImageSource:
    """``source``, also serving the blobs ``tasks`` made (signature payloads from
    ``signature-N`` files, signature manifests' configs): what the ``transfer`` given to
    :func:`carry_attachments` reads from."""
    made = {descriptor.digest: data for task in tasks for descriptor, data in task.made}
    return _WithMade(source, made) if made else source


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
