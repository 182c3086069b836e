"""Finding what is attached to an image, reading it, and checking it.

:func:`find_attachments` asks a source (an
:class:`~spyglass.core.transports.base.AttachmentSource`) every way things get
attached — OCI referrers (API or tag schema, or a layout's index), cosign's
``sha256-<hex>.sig``/``.att``/``.sbom`` tags, ``dir:``'s ``signature-N``
files — and, given the manifest list the image is part of, BuildKit's
attestation entries for it. :func:`read_attachment` fetches one (its manifest
and small layers, each verified against its digest) and decodes every part;
:func:`verify_part` checks one part with the key or keyring a person chose.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest, read_verified
from spyglass.core.errors import Cancelled, SpyglassError
from spyglass.core.manifest import (
    Descriptor,
    ImageIndex,
    ImageManifest,
    parse_manifest,
)
from spyglass.core.reference import DockerReference
from spyglass.core.referrers import (
    buildkit_attestation_subject,
)
from spyglass.core.signatures import media
from spyglass.core.signatures.bundle import is_bundle_media_type, verify_bundle
from spyglass.core.signatures.certificates import certificate_key_note
from spyglass.core.signatures.cosign import verify_cosign_layer
from spyglass.core.signatures.discovery import (
    CREATED_ANNOTATION,
    MAX_REFERRER_DEPTH,
    Attachment,
    find_attachments,
    guess_kind,
    misplaced_referrer,
)
from spyglass.core.signatures.dsse import verify_dsse
from spyglass.core.signatures.gpg import verify_simple_signing
from spyglass.core.signatures.identity import identity_note, identity_refusal
from spyglass.core.signatures.model import Decoded, Kind, Status, Verification
from spyglass.core.signatures.notation import verify_notation
from spyglass.core.signatures.sbom import decode_sbom, is_sbom_media_type
from spyglass.core.signatures.stored import (
    decode_layer,
    decode_stored_signature,
    split_stored_signature,
)
from spyglass.core.transports.base import ImageSource

__all__ = [
    "AttachedPart",
    "Attachment",
    "AttachmentContent",
    "SubjectAttachments",
    "every_attachment",
    "find_attachments",
    "guess_kind",
    "image_attachments",
    "read_attachment",
    "verify_part",
]

MAX_PART_SIZE: Final = 4 * 1024 * 1024
"""Parts (layers) larger than this are described by type and size, not read."""

_DECODER_SLIPS: Final = (ValueError, TypeError, OverflowError, LookupError)
"""What a decoder may raise on content of a shape it did not foresee (a number too large
for a date, a number where a list belongs), instead of its own
:class:`~spyglass.core.signatures.model.InvalidSignature`: made that part's error, so
one odd attachment does not hide the others."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttachedPart:
    """One part of an attachment (a layer, or a stored signature), decoded.

    ``decoded`` is None when the part could not be decoded; ``error`` then says why.
    ``data`` holds the part's bytes (empty when it was too large to read).
    """

    media_type: str
    size: int
    annotations: Mapping[str, str]
    data: bytes = field(repr=False)
    decoded: Decoded | None
    error: str | None = None
    stored: bool = False

    @property
    def kind(self) -> Kind:
        return self.decoded.kind if self.decoded is not None else Kind.OTHER


@dataclass(frozen=True)
class AttachmentContent:
    """An attachment with its manifest read and its parts decoded."""

    attachment: Attachment
    parts: tuple[AttachedPart, ...]
    manifest: bytes | None = field(default=None, repr=False)
    error: str | None = None
    attachments: tuple[AttachmentContent, ...] = ()
    """What is attached to this attachment's manifest in turn (a signature on an SBOM),
    read the same way (see :func:`image_attachments`)."""
    left_out: str | None = None
    """Why the manifest is not attached to ``attachment.subject`` after all, though a
    referrers index listed it (its own ``subject`` is another manifest, or it is that
    manifest): a sentence. :func:`image_attachments` leaves such content out, its
    sentence among the subject's notes."""

    @property
    def kind(self) -> Kind:
        """What the parts say it is, else the first guess."""
        kinds = [p.kind for p in self.parts if p.kind is not Kind.OTHER]
        return kinds[0] if kinds else self.attachment.kind


def read_attachment(
    source: ImageSource, attachment: Attachment, *, cancel: CancelToken | None = None
) -> AttachmentContent:
    """Fetch and decode ``attachment``. Never raises for content that cannot be read
    or decoded (the content says why), except :class:`Cancelled`. A manifest listed
    as a referrer that is none of ``attachment.subject`` (see
    :func:`~spyglass.core.signatures.discovery.misplaced_referrer`) is not decoded: its
    content says why in :attr:`AttachmentContent.left_out`."""
    if attachment.stored is not None:
        return AttachmentContent(attachment, (_stored_part(attachment.stored),))
    assert attachment.descriptor is not None
    check(cancel)
    try:
        raw, media_type = source.get_manifest(str(attachment.descriptor.digest), cancel=cancel)
        manifest = parse_manifest(raw, media_type or attachment.descriptor.media_type or None)
    except SpyglassError as exc:
        return AttachmentContent(attachment, (), error=str(exc))
    misplaced = misplaced_referrer(
        attachment, manifest.subject.digest
        if isinstance(manifest, ImageManifest | ImageIndex) and manifest.subject else None)
    if misplaced is not None:
        return AttachmentContent(attachment, (), raw, left_out=(
            f"{misplaced[:1].upper()}{misplaced[1:]}: not listed as attached to it."))
    if not isinstance(manifest, ImageManifest):
        kind = "a manifest list" if isinstance(manifest, ImageIndex) else "a schema 1 manifest"
        return AttachmentContent(
            attachment, (), raw, error=f"The attached manifest is {kind}; nothing to decode."
        )
    artifact_type = manifest.artifact_type or attachment.artifact_type
    if artifact_type is None and manifest.config.media_type not in (
        "application/vnd.oci.image.config.v1+json",
        "application/vnd.docker.container.image.v1+json",
    ):
        artifact_type = manifest.config.media_type
    parts = tuple(
        _layer_part(source, layer, artifact_type, cancel) for layer in manifest.layers
    )
    if attachment.artifact_type is None and artifact_type is not None:
        attachment = Attachment(
            attachment.subject, attachment.found,
            attachment.kind if attachment.kind is not Kind.OTHER else guess_kind(artifact_type),
            attachment.descriptor, artifact_type,
            attachment.created or manifest.annotations.get(CREATED_ANNOTATION),
            attachment.tag,
        )
    elif attachment.created is None and CREATED_ANNOTATION in manifest.annotations:
        attachment = Attachment(
            attachment.subject, attachment.found, attachment.kind, attachment.descriptor,
            attachment.artifact_type, manifest.annotations[CREATED_ANNOTATION], attachment.tag,
        )
    return AttachmentContent(attachment, parts, raw)


def _stored_part(blob: bytes) -> AttachedPart:
    decoded, error = _decode(lambda: decode_stored_signature(blob), "The signature file")
    media_type = decoded.media_type if decoded is not None else ""
    return AttachedPart(media_type, len(blob), {}, blob, decoded, error, stored=True)


def _layer_part(
    source: ImageSource,
    layer: Descriptor,
    artifact_type: str | None,
    cancel: CancelToken | None,
) -> AttachedPart:
    if layer.size > MAX_PART_SIZE:
        # a large SBOM or other blob: its type and size say enough
        decoded = (
            decode_sbom(layer.media_type, layer.size)
            if is_sbom_media_type(layer.media_type) else None
        )
        return AttachedPart(
            layer.media_type, layer.size, layer.annotations, b"", decoded,
            None if decoded is not None else
            f"The part {layer.digest} has {layer.size} bytes; parts over "
            f"{MAX_PART_SIZE // (1024 * 1024)} MiB are not read.",
        )
    try:
        with source.open_blob(layer, cancel=cancel) as stream:
            data = read_verified(
                stream, layer.digest, layer.size, limit=MAX_PART_SIZE,
                what=f"The attached blob {layer.digest}", cancel=cancel,
            )
    except Cancelled:
        raise
    except SpyglassError as exc:
        return AttachedPart(layer.media_type, layer.size, layer.annotations, b"", None, str(exc))
    decoded, error = _decode(
        lambda: decode_layer(data, layer.media_type, layer.annotations,
                             artifact_type=artifact_type),
        f"The part {layer.digest}",
    )
    return AttachedPart(layer.media_type, layer.size, layer.annotations, data, decoded, error)


def _decode(decode: Callable[[], Decoded], what: str) -> tuple[Decoded | None, str | None]:
    """What ``decode`` made of a part, or why it could not: the decoders' own sentence
    (:class:`~spyglass.core.signatures.model.InvalidSignature`), or, for an error of
    :data:`_DECODER_SLIPS` that a decoder let through on odd content, a sentence saying
    ``what`` could not be decoded and why, the traceback logged (at INFO: a command
    line shows the sentence, not a traceback). Either way that part alone is
    undecodable, not the listing of everything attached."""
    try:
        return decode(), None
    except SpyglassError as exc:
        return None, str(exc)
    except _DECODER_SLIPS as exc:
        log.info("%s could not be decoded: its decoder failed", what, exc_info=True)
        reason = str(exc).rstrip(".") or "no reason given"
        return None, (f"{what} could not be decoded: its decoder failed with "
                      f"{type(exc).__name__}: {reason} (a bug in Spyglass; please report it).")


def verify_part(
    part: AttachedPart,
    image_digest: Digest,
    *,
    key: bytes | None = None,
    keyring: Path | None = None,
    identity: DockerReference | None = None,
) -> Verification:
    """Check one part against ``image_digest`` with a PEM ``key`` (cosign, attestations;
    a trusted certificate for Notary v2) or a GPG ``keyring`` (simple signing).

    ``identity``: the registry reference the image was named by. A good GPG or cosign
    signature whose signed reference is not accepted for it (see
    :mod:`~spyglass.core.signatures.identity`: replayed from another repository, say)
    is WRONG_IMAGE; with None (an image in a folder, or a signature of an attachment)
    the reference is not compared.

    A certificate given as ``key`` for anything but a Notary v2 signature is used for its
    key alone: a good signature's sentence says so (see
    :func:`~spyglass.core.signatures.certificates.certificate_key_note`), and that it has
    expired, where it has.

    Raises :class:`~spyglass.core.signatures.model.InvalidKey` when the key or
    keyring cannot be read.
    """
    result = _verify_part(part, image_digest, key, keyring)
    if result.ok and key is not None and part.kind is not Kind.NOTARY_SIGNATURE:
        # a certificate given as the key: only its key was used (Notary v2 takes it for a
        # trust anchor, and says what it checked of it)
        said = certificate_key_note(key)
        result = replace(result, detail=f"{result.detail} {said}") if said else result
    if identity is None or not result.ok or result.signed_reference is None:
        return result
    refused = identity_refusal(result.signed_reference, identity)
    if refused is None:
        note = identity_note(result.signed_reference, identity)
        return replace(result, detail=f"{result.detail} {note}") if note else result
    return replace(result, status=Status.WRONG_IMAGE, detail=refused)


def _verify_part(
    part: AttachedPart, image_digest: Digest, key: bytes | None, keyring: Path | None
) -> Verification:
    if part.decoded is None:
        return Verification(Status.UNSUPPORTED, f"It could not be decoded: {part.error}")
    kind = part.decoded.kind
    if is_bundle_media_type(part.media_type):
        return verify_bundle(part.data, key, image_digest)
    if kind is Kind.SIMPLE_SIGNING:
        if keyring is None:
            return Verification(
                Status.NOT_CHECKED, "Not verified: choose a GPG keyring to check it with."
            )
        return verify_simple_signing(_simple_signing_blob(part), keyring, image_digest)
    if kind is Kind.COSIGN_SIGNATURE:
        payload, annotations = _cosign_payload(part)
        return verify_cosign_layer(payload, annotations, key, image_digest)
    if kind is Kind.ATTESTATION and part.decoded.media_type == media.IN_TOTO_PAYLOAD:
        return Verification(
            Status.NOT_CHECKED, "Nothing to verify: the statement is not signed."
        )
    if kind is Kind.ATTESTATION:
        payload, annotations = _cosign_payload(part)
        return verify_dsse(
            payload, key, image_digest,
            certificate_pem=annotations.get(media.COSIGN_CERTIFICATE_ANNOTATION) or None,
        )
    if kind is Kind.NOTARY_SIGNATURE:
        if key is None:
            return Verification(
                Status.NOT_CHECKED,
                "Not verified: choose the signing certificate or a CA certificate to trust.",
            )
        return verify_notation(part.data, part.media_type, key, image_digest)
    return Verification(
        Status.NOT_CHECKED, f"Nothing to verify: {part.decoded.title} is not a signature."
    )


def _simple_signing_blob(part: AttachedPart) -> bytes:
    return split_stored_signature(part.data).data if part.stored else part.data


def _cosign_payload(part: AttachedPart) -> tuple[bytes, Mapping[str, str]]:
    """A layer's bytes and annotations; for a ``dir:`` sigstore signature, its payload and
    annotations as containers/image stores them."""
    if not part.stored:
        return part.data, part.annotations
    stored = split_stored_signature(part.data)
    return stored.data, stored.annotations


@dataclass(frozen=True)
class SubjectAttachments:
    """What is attached to one manifest of an image: the list, or one of its instances."""

    digest: Digest
    label: str
    """``manifest list`` or the platform (``linux/arm64``), or ``image``."""
    attachments: tuple[AttachmentContent, ...]
    notes: tuple[str, ...] = ()
    """Sentences on what was found but is not attached after all, and so is not among
    ``attachments`` (or theirs): a referrers index listing a manifest whose own subject
    is another (see :attr:`AttachmentContent.left_out`)."""


def image_attachments(
    source: ImageSource,
    *,
    instances: bool = True,
    cancel: CancelToken | None = None,
) -> list[SubjectAttachments]:
    """Everything attached to the image ``source`` names, read and decoded: to its top
    manifest and, for a manifest list (with ``instances``), to each platform image.
    BuildKit's attestation entries count for the platform they describe, not as
    platforms of their own."""
    from spyglass.core.image import load_manifest

    top = load_manifest(source, cancel=cancel)
    subjects: list[tuple[Digest, str]] = []
    index = top if isinstance(top, ImageIndex) else None
    artifact = isinstance(top, ImageManifest) and top.is_artifact
    subjects.append((top.digest, "manifest list" if index is not None else
                     "artifact" if artifact else "image"))
    if index is not None and instances:
        for entry in index.manifests:
            if buildkit_attestation_subject(entry) is None:
                label = (str(entry.platform) if entry.platform is not None else
                         f"artifact ({entry.artifact_type})" if entry.artifact_type else
                         str(entry.digest))
                subjects.append((entry.digest, label))
    result: list[SubjectAttachments] = []
    seen = {str(digest) for digest, _label in subjects}
    for digest, label in subjects:
        found = find_attachments(source, digest, index=index, cancel=cancel)
        notes: list[str] = []
        contents = _read_all(source, found, seen, 1, notes, cancel)
        result.append(SubjectAttachments(digest, label, contents, tuple(notes)))
    return result


def _read_all(source: ImageSource, found: Iterable[Attachment], seen: set[str], depth: int,
              notes: list[str], cancel: CancelToken | None) -> tuple[AttachmentContent, ...]:
    """``found`` read, each with what is attached to it in turn, :data:`MAX_REFERRER_DEPTH`
    levels at most; a manifest in ``seen`` (met already: a cycle through tags) is not
    looked into again. What is not attached after all is left out, its sentence added
    to ``notes``."""
    # (what is attached to the image's own manifests is all shown, as found)
    fresh = [attachment for attachment in found if depth == 1 or attachment.key not in seen]
    seen.update(attachment.key for attachment in fresh if attachment.descriptor is not None)
    contents: list[AttachmentContent] = []
    for attachment in fresh:
        content = read_attachment(source, attachment, cancel=cancel)
        if content.left_out is not None:
            notes.append(content.left_out)
            continue
        if (attachment.descriptor is not None and content.manifest is not None
                and depth < MAX_REFERRER_DEPTH):
            try:
                under = find_attachments(source, attachment.descriptor.digest, cancel=cancel)
            except Cancelled:
                raise
            except SpyglassError as exc:
                content = replace(content, error=content.error or (
                    f"Looking for what is attached to it failed: {exc}"))
            else:
                content = replace(content, attachments=_read_all(
                    source, under, seen, depth + 1, notes, cancel))
        contents.append(content)
    return tuple(contents)


def every_attachment(contents: Iterable[AttachmentContent]) -> Iterator[AttachmentContent]:
    """``contents`` and, after each, what is attached to it, at every level."""
    for content in contents:
        yield content
        yield from every_attachment(content.attachments)
