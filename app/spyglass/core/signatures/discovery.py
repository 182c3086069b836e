"""Finding what is attached to an image, without reading it.

Light on purpose (no cryptography): copies and tag lists use it.
:func:`find_attachments` asks a source (an
:class:`~spyglass.core.transports.base.AttachmentSource`) every way things get
attached — OCI referrers (API or tag schema, or a layout's index), cosign's
``sha256-<hex>.sig``/``.att``/``.sbom`` tags (in a ``cosign save`` layout, the
unnamed entries it keeps of them), ``dir:``'s ``signature-N`` files — and,
given the manifest list the image is part of, BuildKit's attestation entries
for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor, ImageIndex
from spyglass.core.referrers import (
    COSIGN_SUFFIXES,
    buildkit_attestation_subject,
    cosign_saved_suffix,
    cosign_tag,
    referrers_tag,
)
from spyglass.core.signatures import media
from spyglass.core.signatures.model import Kind
from spyglass.core.signatures.sbom import is_sbom_media_type
from spyglass.core.transports.base import AttachmentSource, ImageSource

CREATED_ANNOTATION: Final = "org.opencontainers.image.created"

REFERRER_FOUND: Final = "OCI referrer"
"""How an attachment listed among a manifest's referrers was found (:attr:`Attachment.found`)."""

MAX_REFERRER_DEPTH: Final = 4
"""Levels of attachments followed below an image's manifest, by copies and the
Signatures tab alike: what is attached to it (1), what is attached to that (a signature
on an SBOM, 2), and two more."""

_COSIGN_KINDS: Final = {".sig": Kind.COSIGN_SIGNATURE, ".att": Kind.ATTESTATION,
                        ".sbom": Kind.SBOM}

_ARTIFACT_KINDS: Final = {
    media.NOTARY_ARTIFACT_TYPE: Kind.NOTARY_SIGNATURE,
    "application/vnd.dev.cosign.artifact.sig.v1+json": Kind.COSIGN_SIGNATURE,
    "application/vnd.dev.cosign.simplesigning.v1+json": Kind.COSIGN_SIGNATURE,
    "application/vnd.dev.cosign.artifact.sbom.v1+json": Kind.SBOM,
    "application/vnd.dsse.envelope.v1+json": Kind.ATTESTATION,
    "application/vnd.in-toto+json": Kind.ATTESTATION,
}


@dataclass(frozen=True)
class Attachment:
    """One thing attached to the manifest ``subject``, before its content is read.

    ``found`` says how it was found, for people (``referrers API``, ``tag
    sha256-….sig``, ``signature-1``, ``attestation entry of the list``).
    ``descriptor`` is the attached manifest; a stored signature (``dir:``) has
    none and carries its bytes in ``stored`` instead.
    """

    subject: Digest
    found: str
    kind: Kind
    descriptor: Descriptor | None = None
    artifact_type: str | None = None
    created: str | None = None
    tag: str | None = None
    stored: bytes | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        """Tells attachments apart: the manifest digest, or how a stored one was found."""
        return str(self.descriptor.digest) if self.descriptor is not None else self.found


def guess_kind(artifact_type: str | None, tag: str | None = None) -> Kind:
    """What an attachment probably is, from its artifact type or cosign tag."""
    if tag is not None:
        for suffix, kind in _COSIGN_KINDS.items():
            if tag.endswith(suffix):
                return kind
    if artifact_type:
        if artifact_type in _ARTIFACT_KINDS:
            return _ARTIFACT_KINDS[artifact_type]
        if is_sbom_media_type(artifact_type) or "sbom" in artifact_type.lower():
            return Kind.SBOM
        if "in-toto" in artifact_type or "attestation" in artifact_type:
            return Kind.ATTESTATION
        if "sigstore" in artifact_type or "cosign" in artifact_type:
            return Kind.COSIGN_SIGNATURE
        if "signature" in artifact_type:
            return Kind.SIGNATURE  # another tool's (a PGP one, say): no cosign signature
    return Kind.OTHER


def misplaced_referrer(attachment: Attachment, named: Digest | None) -> str | None:
    """Why the manifest ``attachment`` names is not attached to ``attachment.subject``
    after all, though listed among its referrers: ``named``, the subject its own bytes
    name, is another manifest's or none (it is that manifest itself); None when it is
    attached (or was not found as a referrer).

    A registry's ``sha256-<hex>`` referrers index (the tag schema, on a registry without
    the referrers API) is written by clients, and may list anything; a referrer counts
    for the subject it names itself, as the distribution spec defines one. The answer
    is a clause (``the referrers index sha256-… lists sha256:…, whose subject is
    sha256:…, not sha256:…``) that the listing and the copy each end their own way."""
    if attachment.found != REFERRER_FOUND or attachment.descriptor is None:
        return None
    if named == attachment.subject:
        return None
    digest, subject = attachment.descriptor.digest, attachment.subject
    index = f"the referrers index {referrers_tag(subject)}"
    if digest == subject:
        return f"{index} lists {subject} itself"
    if named is None:
        return f"{index} lists {digest}, which names no subject"
    return f"{index} lists {digest}, whose subject is {named}, not {subject}"


def find_attachments(
    source: ImageSource,
    digest: Digest,
    *,
    index: ImageIndex | None = None,
    cancel: CancelToken | None = None,
) -> list[Attachment]:
    """Everything attached to the manifest ``digest`` of ``source``.

    ``index``: the manifest list ``digest`` is an instance of, whose BuildKit
    attestation entries for it count too. A source that holds no attachments
    (an archive) gives only those. The same manifest found two ways is listed
    once, under the first way.
    """
    found: list[Attachment] = []
    if index is not None:
        for entry in index.manifests:
            if buildkit_attestation_subject(entry) == digest:
                found.append(Attachment(
                    digest, "attestation entry of the manifest list", Kind.ATTESTATION,
                    descriptor=entry, artifact_type=entry.artifact_type,
                    created=entry.annotations.get(CREATED_ANNOTATION),
                ))
    if isinstance(source, AttachmentSource):
        for referrer in source.referrers(digest, cancel=cancel):
            found.append(Attachment(
                digest, REFERRER_FOUND, guess_kind(referrer.artifact_type),
                descriptor=referrer, artifact_type=referrer.artifact_type,
                created=referrer.annotations.get(CREATED_ANNOTATION),
            ))
        for suffix in COSIGN_SUFFIXES:
            check(cancel)
            tag = cosign_tag(digest, suffix)
            tagged = source.tagged_manifest(tag, cancel=cancel)
            if tagged is not None:
                # a cosign save layout keeps the tag's manifest unnamed, annotated instead
                saved = (tagged.ref_name != tag
                         and cosign_saved_suffix(tagged.annotations) is not None)
                found.append(Attachment(
                    digest, f"cosign save entry {tag}" if saved else f"tag {tag}",
                    guess_kind(None, tag), descriptor=tagged,
                    artifact_type=tagged.artifact_type, tag=tag,
                ))
        for number, blob in enumerate(source.stored_signatures(digest, cancel=cancel), 1):
            # containers/image keeps cosign signatures there too, as sigstore-json
            kind = (Kind.COSIGN_SIGNATURE
                    if blob.startswith(b"\0" + media.DIR_SIGSTORE_FORMAT.encode() + b"\n")
                    else Kind.SIMPLE_SIGNING)
            found.append(Attachment(digest, f"signature-{number}", kind, stored=blob))
    unique: dict[str, Attachment] = {}
    for attachment in found:
        unique.setdefault(attachment.key, attachment)
    return list(unique.values())
