"""Names under which things attached to an image are kept, and how to recognize them.

- The OCI referrers tag schema (distribution spec 1.1, for registries without
  the referrers API): an index tagged ``<alg>-<hex>`` of the subject's digest
  lists the manifests whose ``subject`` is it.
- cosign's tags: ``<alg>-<hex>.sig`` (signatures), ``.att`` (attestations),
  ``.sbom`` (SBOMs), each a manifest whose layers are the things attached.
- BuildKit's attestation entries in a manifest list: an ``unknown/unknown``
  instance annotated ``vnd.docker.reference.type: attestation-manifest`` and
  ``vnd.docker.reference.digest: <the platform image it describes>``.
- The layout ``cosign save`` writes (cosign's ``pkg/oci/layout``): its
  ``index.json`` names nothing; each entry is annotated ``kind`` —
  ``dev.cosignproject.cosign/image`` (or ``…/imageIndex``) for the image saved,
  ``…/sigs`` and ``…/atts`` for the manifests its ``.sig`` and ``.att`` tags
  named. ``cosign load`` pushes these back under the image's tags.

Light on purpose: transports and tag lists import it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Final

from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidDigest, InvalidManifest
from spyglass.core.manifest import Descriptor, ImageIndex, ImageManifest, parse_manifest

COSIGN_SUFFIXES: Final = (".sig", ".att", ".sbom")
"""cosign's tag suffixes: signatures, attestations, SBOMs."""

BUILDKIT_REFERENCE_TYPE: Final = "vnd.docker.reference.type"
BUILDKIT_REFERENCE_DIGEST: Final = "vnd.docker.reference.digest"
BUILDKIT_ATTESTATION: Final = "attestation-manifest"

COSIGN_KIND_ANNOTATION: Final = "kind"
"""What each ``index.json`` entry of a ``cosign save`` layout is annotated with."""
COSIGN_SAVED_IMAGE: Final = "dev.cosignproject.cosign/image"
COSIGN_SAVED_INDEX: Final = "dev.cosignproject.cosign/imageIndex"
_COSIGN_SAVED_SUFFIXES: Final = {
    "dev.cosignproject.cosign/sigs": ".sig",
    "dev.cosignproject.cosign/atts": ".att",
}

_ATTACHMENT_TAG: Final = re.compile(
    r"(sha256-[0-9a-f]{64}|sha512-[0-9a-f]{128})(\.sig|\.att|\.sbom)?"
)


def referrers_tag(digest: Digest) -> str:
    """The referrers-tag-schema tag of ``digest``: ``sha256-<hex>``."""
    return f"{digest.algorithm}-{digest.hex}"


def cosign_tag(digest: Digest, suffix: str) -> str:
    """cosign's tag for ``digest`` with ``suffix`` (``.sig``, ``.att``, ``.sbom``)."""
    return f"{referrers_tag(digest)}{suffix}"


def is_attachment_tag(tag: str) -> bool:
    """True for tags that hold things attached to images rather than images:
    ``sha256-<hex>`` referrers indexes and cosign's ``.sig``/``.att``/``.sbom``."""
    return _ATTACHMENT_TAG.fullmatch(tag) is not None


def attachment_tag_subject(tag: str) -> Digest | None:
    """The digest an attachment tag is about (``sha256-<hex>.sig`` → ``sha256:<hex>``)."""
    match = _ATTACHMENT_TAG.fullmatch(tag)
    if match is None:
        return None
    algorithm, _, hex_part = match.group(1).partition("-")
    return Digest(algorithm, hex_part)


def is_cosign_saved_image(annotations: Mapping[str, str]) -> bool:
    """True for the ``index.json`` entry ``cosign save`` annotated as the image (or image
    index) it saved."""
    return annotations.get(COSIGN_KIND_ANNOTATION) in (COSIGN_SAVED_IMAGE, COSIGN_SAVED_INDEX)


def cosign_saved_suffix(annotations: Mapping[str, str]) -> str | None:
    """For an ``index.json`` entry ``cosign save`` annotated as the image's signatures or
    attestations, the suffix of the tag they were under (``.sig``, ``.att``); else None."""
    kind = annotations.get(COSIGN_KIND_ANNOTATION)
    return _COSIGN_SAVED_SUFFIXES.get(kind) if isinstance(kind, str) else None


def is_attached_entry(descriptor: Descriptor,
                      has_subject: Callable[[Descriptor], bool] | None = None) -> bool:
    """True for a layout's ``index.json`` entry that holds something attached to an image
    rather than an image: a cosign ``sha256-….sig``/``.att``/``.sbom`` ref, the
    signatures or attestations of a ``cosign save`` layout (unnamed, annotated ``kind``),
    or an unnamed referrer — a manifest with a ``subject``, which ``has_subject`` reads
    (without it, an unnamed entry with an artifact type is taken for one). An unnamed
    artifact with no subject (an ``oras push`` into a layout) is an image of its own."""
    if cosign_saved_suffix(descriptor.annotations) is not None:
        return True
    ref = descriptor.ref_name
    if ref is not None:
        return is_attachment_tag(ref)
    if has_subject is None:
        return descriptor.artifact_type is not None
    return has_subject(descriptor)


def names_subject(raw: bytes) -> bool:
    """True when the manifest ``raw`` has a ``subject`` (a referrer of another)."""
    return manifest_subject(raw) is not None


def manifest_subject(raw: bytes) -> Digest | None:
    """The digest the manifest ``raw`` names as its ``subject``; None when it names none
    (or is no manifest)."""
    if b'"subject"' not in raw:
        return None  # the cheap answer for almost every manifest
    try:
        manifest = parse_manifest(raw)
    except InvalidManifest:
        return None
    if not isinstance(manifest, (ImageManifest, ImageIndex)) or manifest.subject is None:
        return None
    return manifest.subject.digest


def buildkit_attestation_subject(entry: Descriptor) -> Digest | None:
    """For a BuildKit attestation entry of a manifest list, the digest of the platform
    image it describes; None for any other entry."""
    if entry.annotations.get(BUILDKIT_REFERENCE_TYPE) != BUILDKIT_ATTESTATION:
        return None
    text = entry.annotations.get(BUILDKIT_REFERENCE_DIGEST, "")
    try:
        return Digest.parse(text)
    except InvalidDigest:  # a malformed annotation just means no subject
        return None


def referrer_entry(raw: bytes, media_type: str, digest: Digest) -> tuple[Digest, Descriptor] | None:
    """For a manifest with a ``subject``: that subject's digest, and the descriptor that
    lists the manifest among its referrers — its media type, digest and size, its
    ``artifactType`` (an image manifest's config media type when it names none) and its
    own annotations, as the distribution spec has a referrers list describe it. None for
    a manifest without a subject, or bytes that are no manifest."""
    if b'"subject"' not in raw:
        return None  # the cheap answer for almost every manifest
    try:
        manifest = parse_manifest(raw, media_type)
    except InvalidManifest:
        return None
    if not isinstance(manifest, (ImageManifest, ImageIndex)) or manifest.subject is None:
        return None
    artifact_type = manifest.artifact_type
    if artifact_type is None and isinstance(manifest, ImageManifest):
        artifact_type = manifest.config.media_type
    return manifest.subject.digest, Descriptor(
        manifest.media_type or media_type, digest, len(raw),
        annotations=dict(manifest.annotations), artifact_type=artifact_type,
    )
