"""What a copy writes under cosign's ``sha256-<hex>.sig`` tag when the source's
signatures are not simply that manifest, copied as it is.

- ``dir:``'s ``signature-N`` files in ``sigstore-json`` form become the layers of a
  fresh ``.sig`` manifest (:func:`signature_file_layer`, :func:`fresh_signature_tag`),
  as skopeo writes them to a registry.
- A ``.sig`` tag the destination already has for other signatures is added to
  (:func:`add_to_theirs`): its manifest and config are read back from the destination
  (:class:`~spyglass.core.transports.base.TaggedDestination`, verified), its layers
  stay first and the source's signatures not among them follow, as containers/image
  does. What is there and is not a cosign signature manifest is kept, with a note.

The manifests and configs are built by :mod:`spyglass.core.signatures.cosign_tag`;
what is decided here goes into the plan (:mod:`spyglass.core.copy_attachments`), with
the blobs it made, which the copy puts from memory (:func:`serving_made_blobs`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest, VerifyingReader
from spyglass.core.errors import UNREADABLE, InvalidManifest, clause
from spyglass.core.manifest import Descriptor
from spyglass.core.signatures.cosign_tag import (
    SignatureManifest,
    Written,
    check_signature_manifest,
    read_signature_manifest,
    same_signature,
    signature_layer,
    write_signature_manifest,
)
from spyglass.core.signatures.discovery import Attachment
from spyglass.core.signatures.media import COSIGN_SIMPLESIGNING
from spyglass.core.signatures.model import InvalidSignature, Kind
from spyglass.core.transports.base import ImageSource, TaggedDestination

Made = tuple[tuple[Descriptor, bytes], ...]
"""Blobs a plan made, with their bytes: signature payloads, a signature manifest's config."""


@dataclass(frozen=True)
class TagWrite:
    """A ``.sig`` manifest to write: its bytes and descriptor, the blobs to copy from the
    source first, and those made here."""

    manifest: bytes = field(repr=False)
    descriptor: Descriptor
    blobs: tuple[Descriptor, ...]
    made: Made = field(repr=False)


def _count(count: int, what: str) -> str:
    return f"{count} {what}{'' if count == 1 else 's'}"


def _is(count: int) -> str:
    return "is" if count == 1 else "are"


def signature_file_layer(
    attachment: Attachment, source_name: str
) -> tuple[Descriptor, bytes] | None:
    """The layer (and payload) a ``signature-N`` file in ``sigstore-json`` form becomes in
    the subject's ``.sig`` manifest; None for a payload other than cosign's simple
    signing, which has no place there. A file that cannot be read raises
    :class:`InvalidSignature` naming it and what to do."""
    from spyglass.core.signatures.stored import split_stored_signature

    assert attachment.stored is not None
    try:
        stored = split_stored_signature(attachment.stored)
    except InvalidSignature as exc:
        said = (f"{attachment.found} of {attachment.subject.short} in {source_name} cannot "
                f"become a cosign signature: {clause(exc)} ")
        raise InvalidSignature(said + "Copy without signatures to leave it behind.",
                               on_command_line=said + "Copy with --remove-signatures to "
                               "leave it behind.") from exc
    if stored.mime_type != COSIGN_SIMPLESIGNING:
        return None
    return signature_layer(stored.data, stored.mime_type, stored.annotations), stored.data


def fresh_signature_tag(layers: Iterable[tuple[Descriptor, bytes]]) -> TagWrite:
    """The ``.sig`` manifest of ``layers`` (with their payloads), in order, each signature
    once, as containers/image writes it where there is none."""
    given = list(layers)
    written = write_signature_manifest(layer for layer, _payload in given)
    payloads = {layer.digest: payload for layer, payload in given}
    return TagWrite(written.manifest, written.descriptor, (), _made(written, payloads))


def _made(written: Written, payloads: Mapping[Digest, bytes]) -> Made:
    """The blobs to put for ``written``: the payloads of its new layers that are in
    ``payloads`` (once each), then its config."""
    made = {layer.digest: (layer, payloads[layer.digest])
            for layer in written.added if layer.digest in payloads}
    return (*made.values(), (written.config_descriptor, written.config))


def add_to_theirs(
    ours: TagWrite,
    kind: Kind,
    tag: str,
    there: Digest,
    destination: TaggedDestination,
    name: str,
    notes: list[str],
    cancel: CancelToken | None = None,
) -> TagWrite | None:
    """``ours`` (the source's manifest for ``tag``, as it is or made fresh) turned into
    adding its signatures to the manifest ``there`` the destination ``name`` has under
    ``tag``; None (and a note) when there is nothing to add or it cannot be added to."""
    where = f"{tag} at {name}"
    read = _read_theirs(ours, kind, tag, there, destination, cancel)
    if isinstance(read, str):
        notes.append(f"{name} already has other content under {tag} ({there.short}); it is "
                     f"kept, and the source's {kind} is not copied{read}")
        return None
    layers, theirs = read
    written = write_signature_manifest(layers, theirs)
    if not written.added:
        notes.append(f"{where} already holds the source's "
                     f"{_count(len(layers), 'cosign signature')}; nothing is added")
        return None
    count = len(written.added)
    others = sum(not any(same_signature(layer, mine) for mine in layers)
                 for layer in theirs.layers)
    note = (f"the source's {_count(count, 'cosign signature')} {_is(count)} merged into "
            f"{where}, which already holds {_count(others, 'other signature')}")
    if written.already:
        note += f"; the source's other {written.already} {_is(written.already)} there already"
    notes.append(note)
    payloads = {layer.digest: data for layer, data in ours.made}
    return TagWrite(
        written.manifest, written.descriptor,
        tuple(layer for layer in written.added if layer.digest not in payloads),
        _made(written, payloads),
    )


def _read_theirs(
    ours: TagWrite, kind: Kind, tag: str, there: Digest, destination: TaggedDestination,
    cancel: CancelToken | None,
) -> tuple[tuple[Descriptor, ...], SignatureManifest] | str:
    """The source's signature layers and the signature manifest ``there`` to add them to,
    both checked (what the destination gave verified); else why not, as a note ends."""
    if not tag.endswith(".sig") or kind is not Kind.COSIGN_SIGNATURE:
        return " (Spyglass adds only to cosign's signature tags, .sig)"
    try:
        layers = check_signature_manifest(ours.manifest, ours.descriptor.media_type).layers
    except InvalidManifest:
        return (": it holds other layers than cosign signatures, which Spyglass does not add "
                "to a signature tag")
    try:
        raw, media_type = destination.read_manifest(there, cancel=cancel)
        parsed = check_signature_manifest(raw, media_type)
        config = destination.read_small_blob(parsed.config, cancel=cancel)
        return layers, read_signature_manifest(raw, parsed, config)
    except UNREADABLE as exc:
        return f", since Spyglass adds signatures only to a cosign signature manifest. {exc}"


class _ServingMade:
    """``source``, and the blobs a plan made served from memory (verified as they are
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


def serving_made_blobs(
    source: ImageSource, made: Iterable[tuple[Descriptor, bytes]]
) -> ImageSource:
    """``source``, also serving the blobs ``made`` (from memory)."""
    blobs = {descriptor.digest: data for descriptor, data in made}
    return _ServingMade(source, blobs) if blobs else source


__all__ = [
    "Made",
    "TagWrite",
    "add_to_theirs",
    "fresh_signature_tag",
    "serving_made_blobs",
    "signature_file_layer",
]
