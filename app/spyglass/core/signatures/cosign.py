"""cosign signatures: decoding a signature layer and checking it with a public key.

cosign stores a signature as a layer of media type
``application/vnd.dev.cosign.simplesigning.v1+json`` whose content is the
signed payload (see :mod:`spyglass.core.signatures.payload`). The layer's
annotations carry the rest:

- ``dev.cosignproject.cosign/signature``: base64 of the signature over the
  payload bytes (ECDSA signatures are ASN.1 DER);
- ``dev.sigstore.cosign/certificate`` and ``dev.sigstore.cosign/chain``: PEM
  of the signing certificate and its chain, for keyless (Fulcio) signatures;
- ``dev.sigstore.cosign/bundle``: the Rekor transparency-log bundle, JSON
  ``{"SignedEntryTimestamp": …, "Payload": {"body", "integratedTime",
  "logIndex", "logID"}}``.

Keyless signatures cannot be verified here: that needs the Sigstore trust
root (Fulcio roots, Rekor keys), which Spyglass does not carry. They are
decoded and reported as not checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from cryptography.hazmat.primitives import hashes, serialization

from spyglass.core.digest import Digest
from spyglass.core.signatures import media
from spyglass.core.signatures._parse import b64decode
from spyglass.core.signatures.certificates import (
    PublicKey,
    describe_certificate,
    key_description,
    load_public_key,
    parse_certificate,
    parse_certificate_chain,
)
from spyglass.core.signatures.crypto import signature_matches
from spyglass.core.signatures.model import (
    CertificateInfo,
    Decoded,
    InvalidSignature,
    KeylessIdentity,
    Kind,
    Status,
    Verification,
    format_time,
)
from spyglass.core.signatures.payload import parse_simple_signing_payload

KEYLESS_DETAIL: Final = "Not verified: keyless verification needs the Sigstore trust root."
NO_KEY_DETAIL: Final = "Not verified: no public key was given to check the signature with."


def decode_cosign_signature(
    payload: bytes, annotations: Mapping[str, str] | None = None
) -> Decoded:
    """Decode a cosign signature layer: its payload bytes and the layer's annotations.

    Raises :class:`InvalidSignature` when the payload is not a simple-signing
    payload or an annotation (certificate, signature) is malformed.
    """
    notes = dict(annotations or {})
    parsed = parse_simple_signing_payload(payload, what="the cosign signature payload")
    material = signing_material(notes)
    rows = list(parsed.fields())
    signature = notes.get(media.COSIGN_SIGNATURE_ANNOTATION, "")
    if signature:
        b64decode(signature, "the signature annotation (dev.cosignproject.cosign/signature)")
    rows.append(("Signature type", material.signature_type))
    rows.append(("Signature", "present" if signature else "missing"))
    rows.extend(material.fields())
    identity = material.identity
    who = identity.subject if identity else None
    title = f"cosign signature of {parsed.docker_reference or parsed.manifest_digest.short}"
    if who:
        title += f" by {who}"
    return Decoded(
        kind=Kind.COSIGN_SIGNATURE,
        title=title,
        media_type=media.COSIGN_SIMPLESIGNING,
        size=len(payload),
        fields=tuple(rows),
        claimed_digest=parsed.manifest_digest,
        claimed_reference=parsed.docker_reference,
        identity=identity,
        certificate=material.certificate,
    )


def verify_cosign(
    payload: bytes,
    signature_b64: str | None,
    public_key_pem: bytes | None,
    image_digest: Digest,
    *,
    certificate_pem: bytes | str | None = None,
) -> Verification:
    """Check a cosign signature with a public key, and that it names ``image_digest``.

    ``public_key_pem`` is a PEM public key (``cosign.pub``) or a PEM
    certificate whose key is used. Without a key the result is
    :attr:`Status.NOT_CHECKED`, saying that keyless verification needs the
    Sigstore trust root when ``certificate_pem`` shows the signature is keyless.

    Raises :class:`InvalidKey` when ``public_key_pem`` cannot be read: that
    is a mistake in what the person gave, not a property of the signature.
    """
    if public_key_pem is None:
        return without_key(certificate_pem)
    key = load_public_key(public_key_pem)
    signature = _signature_bytes(signature_b64)
    if isinstance(signature, Verification):
        return signature
    if not signature_matches(key, payload, signature):
        return bad_signature(key, "payload")
    return _check_payload(payload, image_digest, key)


def verify_cosign_layer(
    payload: bytes,
    annotations: Mapping[str, str],
    public_key_pem: bytes | None,
    image_digest: Digest,
) -> Verification:
    """:func:`verify_cosign` with the signature and certificate taken from the annotations."""
    return verify_cosign(
        payload,
        annotations.get(media.COSIGN_SIGNATURE_ANNOTATION),
        public_key_pem,
        image_digest,
        certificate_pem=annotations.get(media.COSIGN_CERTIFICATE_ANNOTATION) or None,
    )


# --------------------------------------------------------------------------- shared with DSSE


@dataclass(frozen=True)
class SigningMaterial:
    """The certificate, chain and Rekor bundle a cosign layer's annotations carry.

    ``bundle`` describes the Rekor bundle (:func:`describe_rekor_bundle`), or
    is None when there is none; ``timestamp`` says an RFC 3161 timestamp is attached.
    """

    certificate: CertificateInfo | None
    chain_length: int
    bundle: str | None
    timestamp: bool

    @property
    def signature_type(self) -> str:
        return "keyless (Fulcio certificate)" if self.certificate is not None else "key"

    @property
    def identity(self) -> KeylessIdentity | None:
        if self.certificate is None or self.certificate.identity is None:
            return None
        return KeylessIdentity(self.certificate.identity, self.certificate.oidc_issuer)

    def fields(self) -> tuple[tuple[str, str], ...]:
        rows: list[tuple[str, str]] = []
        if self.certificate is not None:
            rows.extend(self.certificate.fields())
        if self.chain_length:
            rows.append(("Certificate chain", _count(self.chain_length, "certificate")))
        rows.append(("Rekor bundle", self.bundle or "none"))
        if self.timestamp:
            rows.append(("RFC 3161 timestamp", "attached"))
        return tuple(rows)


def signing_material(annotations: Mapping[str, str]) -> SigningMaterial:
    """Read the certificate, chain and bundle annotations of a cosign layer."""
    certificate: CertificateInfo | None = None
    cert_pem = annotations.get(media.COSIGN_CERTIFICATE_ANNOTATION, "")
    if cert_pem.strip():
        certificate = describe_certificate(
            parse_certificate(cert_pem, what="the certificate annotation (dev.sigstore.cosign/"
                              "certificate)")
        )
    chain_length = 0
    chain_pem = annotations.get(media.COSIGN_CHAIN_ANNOTATION, "")
    if chain_pem.strip():
        chain_length = len(parse_certificate_chain(
            chain_pem, what="the certificate chain annotation (dev.sigstore.cosign/chain)"
        ))
    bundle_text = annotations.get(media.COSIGN_BUNDLE_ANNOTATION, "")
    bundle = describe_rekor_bundle(bundle_text) if bundle_text.strip() else None
    timestamp = bool(annotations.get(media.COSIGN_RFC3161_ANNOTATION, "").strip())
    return SigningMaterial(certificate, chain_length, bundle, timestamp)


def describe_rekor_bundle(text: str) -> str:
    """``attached (log index 123, integrated 2024-…)``; ``attached`` when unreadable.

    The bundle is shown, not checked: checking it needs Rekor's public key.
    """
    try:
        bundle = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return "attached (not readable JSON)"
    if not isinstance(bundle, dict):
        return "attached (not a JSON object)"
    body = bundle.get("Payload")
    if not isinstance(body, dict):
        return "attached"
    parts: list[str] = []
    index = body.get("logIndex")
    if isinstance(index, int) and not isinstance(index, bool):
        parts.append(f"log index {index}")
    when = body.get("integratedTime")
    if isinstance(when, int) and not isinstance(when, bool):
        try:
            parts.append(f"integrated {format_time(datetime.fromtimestamp(when, UTC))}")
        except (OverflowError, OSError, ValueError):
            pass
    return f"attached ({', '.join(parts)})" if parts else "attached"


def bad_signature(key: PublicKey, what: str) -> Verification:
    """The sentence for a signature that does not match ``what`` for ``key``."""
    return Verification(
        Status.BAD_SIGNATURE,
        f"The signature does not match the {what} for the given {key_description(key)} key: "
        "the content was changed, or another key signed it.",
    )


def key_fingerprint(key: PublicKey) -> str:
    """``ECDSA P-256 key SHA256:ab12…``: the SHA-256 of the key's SubjectPublicKeyInfo."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return f"{key_description(key)} key SHA256:{digest.finalize().hex()[:16]}"


def without_key(certificate_pem: bytes | str | None) -> Verification:
    """NOT_CHECKED, explaining keyless signatures when a certificate is present."""
    if certificate_pem is not None and certificate_pem.strip():
        return Verification(Status.NOT_CHECKED, KEYLESS_DETAIL)
    return Verification(Status.NOT_CHECKED, NO_KEY_DETAIL)


def _signature_bytes(signature_b64: str | None) -> bytes | Verification:
    if not signature_b64 or not signature_b64.strip():
        return Verification(
            Status.BAD_SIGNATURE,
            "The layer carries no signature (its dev.cosignproject.cosign/signature "
            "annotation is missing or empty).",
        )
    try:
        return b64decode(signature_b64, "the signature")
    except InvalidSignature:
        return Verification(
            Status.BAD_SIGNATURE,
            "The signature annotation (dev.cosignproject.cosign/signature) is not valid base64.",
        )


def _check_payload(payload: bytes, image_digest: Digest, key: PublicKey) -> Verification:
    signer = key_fingerprint(key)
    try:
        parsed = parse_simple_signing_payload(payload)
    except InvalidSignature as exc:
        return Verification(
            Status.WRONG_IMAGE,
            f"The signature is good, but the signed payload names no image: {exc}",
            signer,
        )
    if parsed.type != media.COSIGN_PAYLOAD_TYPE:
        return Verification(
            Status.WRONG_IMAGE,
            f'The signature is good, but the signed payload is of type "{parsed.type}", '
            f'not "{media.COSIGN_PAYLOAD_TYPE}".',
            signer,
        )
    if parsed.manifest_digest != image_digest:
        return Verification(
            Status.WRONG_IMAGE,
            f"The signature is good, but it signs {parsed.manifest_digest} "
            f"({parsed.docker_reference}), not this image ({image_digest}).",
            signer,
        )
    return Verification(
        Status.VERIFIED,
        f"Verified with the given {key_description(key)} key: the signature is good and "
        f"signs this image as {parsed.docker_reference}.",
        signer,
        parsed.docker_reference,
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


__all__ = [
    "KEYLESS_DETAIL",
    "NO_KEY_DETAIL",
    "SigningMaterial",
    "bad_signature",
    "decode_cosign_signature",
    "describe_rekor_bundle",
    "key_fingerprint",
    "signing_material",
    "verify_cosign",
    "verify_cosign_layer",
    "without_key",
]
