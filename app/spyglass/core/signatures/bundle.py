"""Sigstore bundles: how newer cosign (``--new-bundle-format``) attaches signatures and
attestations, as OCI referrers whose one layer is the bundle's JSON.

A bundle (``application/vnd.dev.sigstore.bundle.v0.3+json``; older versions as
``application/vnd.dev.sigstore.bundle+json;version=0.x``) holds the
verification material — a Fulcio certificate (``certificate``, or an
``x509CertificateChain``) or a public key hint, Rekor transparency-log entries,
RFC 3161 timestamps — and either a DSSE envelope (``dsseEnvelope``: an in-toto
statement; cosign signs images with the predicate
``https://sigstore.dev/cosign/sign/v1``) or a ``messageSignature`` over a
digest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidDigest
from spyglass.core.signatures._parse import b64decode, load_json_object
from spyglass.core.signatures.certificates import (
    describe_certificate,
    key_description,
    load_public_key,
    parse_certificate,
)
from spyglass.core.signatures.cosign import bad_signature, key_fingerprint, without_key
from spyglass.core.signatures.dsse import (
    parse_envelope,
    parse_statement,
    predicate_name,
    verify_dsse,
)
from spyglass.core.signatures.model import (
    CertificateInfo,
    Decoded,
    InvalidSignature,
    KeylessIdentity,
    Kind,
    Status,
    Verification,
    format_size,
    format_time,
)
from spyglass.core.signatures.sbom import predicate_sbom_format

BUNDLE_PREFIX: Final = "application/vnd.dev.sigstore.bundle"
COSIGN_SIGN_PREDICATE: Final = "https://sigstore.dev/cosign/sign/v1"
_HASHES: Final = {"SHA2_256": ("sha256", hashes.SHA256), "SHA2_384": ("sha384", hashes.SHA384),
                  "SHA2_512": ("sha512", hashes.SHA512)}


def is_bundle_media_type(media_type: str) -> bool:
    """True for the media types of Sigstore bundles (every version)."""
    return media_type.split(";", 1)[0].strip().startswith(BUNDLE_PREFIX)


def _certificate_der(material: Mapping[str, Any]) -> bytes | None:
    certificate = material.get("certificate")
    if isinstance(certificate, Mapping):
        return b64decode(certificate.get("rawBytes"), "the bundle's certificate")
    chain = material.get("x509CertificateChain")
    if isinstance(chain, Mapping):
        certificates = chain.get("certificates")
        if isinstance(certificates, list) and certificates and isinstance(
            certificates[0], Mapping
        ):
            return b64decode(certificates[0].get("rawBytes"), "the bundle's certificate")
    return None


def _tlog_text(material: Mapping[str, Any]) -> str:
    entries = material.get("tlogEntries")
    if not isinstance(entries, list) or not entries:
        return "none"
    first = entries[0] if isinstance(entries[0], Mapping) else {}
    parts = []
    if "logIndex" in first:
        parts.append(f"log index {first['logIndex']}")
    integrated = first.get("integratedTime")
    if isinstance(integrated, str | int) and not isinstance(integrated, bool):
        try:  # (a string in the bundle's JSON: any number of digits, or none)
            when = datetime.fromtimestamp(int(integrated), UTC)
        except (OverflowError, OSError, ValueError):
            parts.append(f"integrated at {str(integrated)[:40]!r}, not a time")
        else:
            parts.append(f"integrated {format_time(when)}")
    count = f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
    return f"{count} ({', '.join(parts)})" if parts else count


def _load(data: bytes) -> tuple[dict[str, Any], Mapping[str, Any]]:
    bundle = load_json_object(data, "the Sigstore bundle")
    material = bundle.get("verificationMaterial")
    if not isinstance(material, Mapping):
        raise InvalidSignature(
            'The Sigstore bundle has no "verificationMaterial" object; expected a bundle as '
            "cosign --new-bundle-format writes it."
        )
    if not isinstance(bundle.get("dsseEnvelope"), Mapping) and not isinstance(
        bundle.get("messageSignature"), Mapping
    ):
        raise InvalidSignature(
            'The Sigstore bundle has neither a "dsseEnvelope" nor a "messageSignature".'
        )
    return bundle, material


def _envelope_bytes(bundle: Mapping[str, Any]) -> bytes:
    """The bundle's DSSE envelope as the JSON of a plain DSSE envelope (same fields)."""
    return json.dumps(bundle["dsseEnvelope"]).encode()


def _signs_the_image(bundle: Mapping[str, Any]) -> bool:
    """Whether the bundle's DSSE statement is cosign's signature of an image (the sign
    predicate), which :func:`decode_bundle` lists as a signature, not an attestation:
    read unchecked, only to call it by its name."""
    try:
        envelope = parse_envelope(_envelope_bytes(bundle), what="the bundle's DSSE envelope")
        statement = parse_statement(envelope.payload, what="the bundle's in-toto statement")
    except InvalidSignature:
        return False
    return statement.predicate_type == COSIGN_SIGN_PREDICATE


def decode_bundle(data: bytes, annotations: Mapping[str, str] | None = None) -> Decoded:
    """Decode a Sigstore bundle layer; raise :class:`InvalidSignature` when malformed."""
    bundle, material = _load(data)
    rows: list[tuple[str, str]] = [
        ("Bundle", str(bundle.get("mediaType") or "Sigstore bundle")),
    ]
    certificate: CertificateInfo | None = None
    der = _certificate_der(material)
    if der is not None:
        certificate = describe_certificate(parse_certificate(der, what="the bundle's certificate"))
        rows.append(("Signature type", "keyless (Fulcio certificate)"))
        rows.extend(certificate.fields())
    else:
        hint = material.get("publicKey", {}).get("hint") if isinstance(
            material.get("publicKey"), Mapping) else None
        rows.append(("Signature type", "key"))
        if hint:
            rows.append(("Key hint", str(hint)))
    rows.append(("Transparency log", _tlog_text(material)))
    timestamps = material.get("timestampVerificationData")
    if isinstance(timestamps, Mapping) and timestamps.get("rfc3161Timestamps"):
        listed = timestamps["rfc3161Timestamps"]
        rows.append(("RFC 3161 timestamps", str(len(listed)) if isinstance(listed, list)
                     else "not a list"))
    kind = Kind.COSIGN_SIGNATURE
    title = "Sigstore bundle signature"
    claimed: Digest | None = None
    subjects: tuple[Digest, ...] = ()
    if isinstance(bundle.get("dsseEnvelope"), Mapping):
        envelope = parse_envelope(_envelope_bytes(bundle), what="the bundle's DSSE envelope")
        rows.append(("Payload type", envelope.payload_type))
        statement = parse_statement(envelope.payload, what="the bundle's in-toto statement")
        rows.append(("Predicate type", statement.predicate_type))
        subjects = tuple(d for s in statement.subjects for d in s.digests)
        rows.append(("Subjects", ", ".join(
            f"{s.name or '(unnamed)'} {', '.join(str(d) for d in s.digests)}"
            for s in statement.subjects
        ) or "none"))
        if statement.predicate_type != COSIGN_SIGN_PREDICATE:
            kind = Kind.ATTESTATION
            friendly = predicate_name(statement.predicate_type)
            title = f"Attestation (Sigstore bundle){f': {friendly}' if friendly else ''}"
            sbom = predicate_sbom_format(statement.predicate_type, statement.predicate)
            if sbom is not None:
                rows.append(("SBOM format", sbom))
                title = f"SBOM attestation ({sbom}, Sigstore bundle)"
    else:
        signature = bundle["messageSignature"]
        message = signature.get("messageDigest")
        if not isinstance(message, Mapping):
            raise InvalidSignature('The bundle\'s "messageSignature" has no "messageDigest".')
        algorithm = str(message.get("algorithm", ""))
        raw = b64decode(message.get("digest"), "the bundle's message digest")
        rows.append(("Message digest", f"{algorithm} {raw.hex()}"))
        if algorithm in _HASHES:
            try:
                claimed = Digest(_HASHES[algorithm][0], raw.hex())
            except InvalidDigest:
                claimed = None
    identity = None
    if certificate is not None and certificate.identity is not None:
        identity = KeylessIdentity(certificate.identity, certificate.oidc_issuer)
        title += f" by {identity.subject}"
    rows.append(("Size", format_size(len(data))))
    return Decoded(
        kind=kind, title=title, media_type=str(bundle.get("mediaType") or BUNDLE_PREFIX),
        size=len(data), fields=tuple(rows), claimed_digest=claimed, subject_digests=subjects,
        identity=identity, certificate=certificate,
    )


def verify_bundle(data: bytes, public_key_pem: bytes | None, image_digest: Digest) -> Verification:
    """Check a Sigstore bundle with a public key: its DSSE envelope over the PAE (and a
    subject naming ``image_digest``), or its message signature over the digest it
    names (which must be ``image_digest``). Keyless bundles are not checked."""
    try:
        bundle, material = _load(data)
    except InvalidSignature as exc:
        return Verification(Status.BAD_SIGNATURE, f"The bundle cannot be checked: {exc}")
    if public_key_pem is None:
        der = _certificate_der(material)
        return without_key(b"certificate" if der is not None else None)
    if isinstance(bundle.get("dsseEnvelope"), Mapping):
        return verify_dsse(_envelope_bytes(bundle), public_key_pem, image_digest,
                           signature=_signs_the_image(bundle))
    key = load_public_key(public_key_pem)
    signature = bundle["messageSignature"]
    message = signature.get("messageDigest") if isinstance(signature, Mapping) else None
    try:
        algorithm = str(message.get("algorithm", "")) if isinstance(message, Mapping) else ""
        digest = b64decode(message.get("digest") if message else None, "the message digest")
        signed = b64decode(signature.get("signature"), "the bundle's signature")
    except InvalidSignature as exc:
        return Verification(Status.BAD_SIGNATURE, f"The bundle cannot be checked: {exc}")
    if algorithm not in _HASHES:
        return Verification(
            Status.UNSUPPORTED, f'The bundle signs a "{algorithm}" digest, which is not checked.'
        )
    name, hash_type = _HASHES[algorithm]
    size = hash_type().digest_size
    if len(digest) != size:  # (the key's verify would raise ValueError)
        return Verification(
            Status.BAD_SIGNATURE,
            f"The bundle's message digest is {len(digest)} bytes, not the {size} bytes of "
            f"a {algorithm} digest, so no signature can be over it.",
        )
    prehashed = utils.Prehashed(hash_type())
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signed, digest, ec.ECDSA(prehashed))
        elif isinstance(key, rsa.RSAPublicKey):
            try:
                key.verify(signed, digest, padding.PKCS1v15(), prehashed)
            except CryptoInvalidSignature:
                key.verify(signed, digest, padding.PSS(
                    mgf=padding.MGF1(hash_type()), salt_length=padding.PSS.AUTO), prehashed)
        else:
            return Verification(
                Status.UNSUPPORTED,
                f"A {key_description(key)} key cannot check a signature over a digest alone.",
            )
    except CryptoInvalidSignature:
        return bad_signature(key, "bundle's message digest")
    signer = key_fingerprint(key)
    if Digest(name, digest.hex()) != image_digest:
        return Verification(
            Status.WRONG_IMAGE,
            f"The signature is good, but it signs {name}:{digest.hex()}, not this image "
            f"({image_digest}).",
            signer,
        )
    return Verification(
        Status.VERIFIED,
        f"Verified with the given {key_description(key)} key: the bundle's signature is good "
        "and signs this image's digest.",
        signer,
    )
