"""Notary Project (Notary v2, ``notation``) signatures: JWS and COSE envelopes.

A notation signature is an OCI artifact of type
``application/vnd.cncf.notary.signature`` with one layer, the envelope:

- ``application/jose+json``: flattened JWS JSON serialization
  ``{"payload", "protected", "header": {"x5c": [base64 DER, …], …}, "signature"}``;
  the protected header holds ``alg``, ``cty``, ``crit`` and
  ``io.cncf.notary.signingScheme`` / ``signingTime`` / ``expiry`` (RFC 3339).
  The signature is over ``ASCII(protected "." payload)``.
- ``application/cose``: ``COSE_Sign1_Tagged``, ``18([protected bstr,
  unprotected map, payload bstr, signature bstr])``; label 1 is ``alg``, 3
  the content type, 33 ``x5chain`` (unprotected); times are ``1(epoch)``.
  The signature is over ``["Signature1", protected, h'', payload]`` in CBOR.

The payload is ``{"targetArtifact": {"mediaType", "digest", "size"}}``: the
manifest signed. ECDSA signatures are the raw ``r || s`` of JOSE/COSE.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from spyglass.core.digest import Digest
from spyglass.core.signatures import cbor, media
from spyglass.core.signatures._parse import (
    b64decode,
    get_digest,
    get_object,
    get_str,
    load_json_object,
)
from spyglass.core.signatures.certificates import (
    describe_certificate,
    key_description,
    parse_certificate,
    parse_certificate_chain,
)
from spyglass.core.signatures.certpath import find_path
from spyglass.core.signatures.crypto import signature_matches
from spyglass.core.signatures.model import (
    Decoded,
    InvalidKey,
    InvalidSignature,
    Kind,
    Status,
    Verification,
    format_size,
    format_time,
)

COSE_ALGORITHMS: Final = {
    -7: "ES256", -35: "ES384", -36: "ES512", -8: "EdDSA",
    -37: "PS256", -38: "PS384", -39: "PS512",
    -257: "RS256", -258: "RS384", -259: "RS512",
}
X5CHAIN_LABEL: Final = 33
_NOTARY: Final = "io.cncf.notary."
NO_TRUST_DETAIL: Final = (
    "Not verified: Notary v2 signatures are checked against a trust store; give the signing "
    "certificate or the CA certificate that issued it."
)


@dataclass(frozen=True)
class NotaryEnvelope:
    """A parsed notation envelope, whichever its encoding.

    ``signed_bytes`` is what the signature is over; ``headers`` are the
    ``io.cncf.notary.*`` and other named header entries as text.
    """

    encoding: str
    algorithm: str
    content_type: str
    headers: tuple[tuple[str, str], ...]
    payload: bytes
    signed_bytes: bytes
    signature: bytes
    chain: tuple[x509.Certificate, ...]
    target_media_type: str
    target_digest: Digest
    target_size: int | None
    protected: tuple[tuple[str | int, object], ...] = ()
    """The protected (signed) header's entries as parsed: JSON values for JWS; CBOR
    values, keyed by label or name, for COSE (``crit`` is label 2 there)."""


def parse_notation(data: bytes, media_type: str) -> NotaryEnvelope:
    """Parse a notation envelope: ``application/jose+json`` (JWS) or ``application/cose``."""
    if media_type == media.NOTARY_JWS:
        return _parse_jws(data)
    if media_type == media.NOTARY_COSE:
        return _parse_cose(data)
    raise InvalidSignature(
        f'"{media_type}" is not a Notary v2 envelope type; expected {media.NOTARY_JWS} or '
        f"{media.NOTARY_COSE}."
    )


def decode_notation(data: bytes, media_type: str) -> Decoded:
    """Decode a Notary v2 signature envelope (JWS JSON or COSE_Sign1) for people.

    Shows the signed manifest (target artifact), the signing scheme and times,
    and the signing certificate's subject, issuer and validity. Raises
    :class:`InvalidSignature` with a sentence on malformed input.
    """
    envelope = parse_notation(data, media_type)
    leaf = describe_certificate(envelope.chain[0])
    rows: list[tuple[str, str]] = [
        ("Manifest digest", str(envelope.target_digest)),
        ("Target media type", envelope.target_media_type),
    ]
    if envelope.target_size is not None:
        rows.append(("Target size", format_size(envelope.target_size)))
    rows.append(("Envelope", f"{envelope.encoding} ({media_type})"))
    rows.append(("Signature algorithm", envelope.algorithm))
    rows.extend(envelope.headers)
    rows.extend(leaf.fields())
    rows.append(("Certificate chain", f"{len(envelope.chain)} certificate"
                 + ("" if len(envelope.chain) == 1 else "s")))
    rows.append(("Size", format_size(len(data))))
    return Decoded(
        kind=Kind.NOTARY_SIGNATURE,
        title=f"Notary v2 signature by {_common_name(envelope.chain[0]) or leaf.subject}",
        media_type=media_type,
        size=len(data),
        fields=tuple(rows),
        claimed_digest=envelope.target_digest,
        certificate=leaf,
    )


def verify_notation(
    data: bytes,
    media_type: str,
    trusted_certificate_pem: bytes | None,
    image_digest: Digest,
) -> Verification:
    """Check a Notary v2 signature against trusted certificates, and that it names the image.

    ``trusted_certificate_pem`` holds one or more PEM certificates: the
    signing certificate itself or a CA in its chain. The signature must
    verify with the leaf certificate's key; the signed headers marked
    critical must all be ones understood here (the Notary Project has a
    verifier refuse others: UNSUPPORTED); the envelope's chain must lead to a trusted certificate
    as :func:`~spyglass.core.signatures.certpath.find_path` validates it, each
    certificate of that path valid now (and, for the
    ``notary.x509.signingAuthority`` scheme, at the authentic signing time
    too); and the signature's own expiry (``io.cncf.notary.expiry``) must not
    have passed. Revocation is not checked, nor timestamp countersignatures.
    Without certificates the result is NOT_CHECKED; unreadable certificates
    raise :class:`InvalidKey`.
    """
    if trusted_certificate_pem is None:
        return Verification(Status.NOT_CHECKED, NO_TRUST_DETAIL)
    try:
        trusted = parse_certificate_chain(trusted_certificate_pem, what="the trusted certificate")
    except InvalidSignature as exc:
        raise InvalidKey(str(exc)) from exc
    try:
        envelope = parse_notation(data, media_type)
    except InvalidSignature as exc:
        return Verification(Status.BAD_SIGNATURE, f"The signature cannot be checked: {exc}")
    leaf = envelope.chain[0]
    try:
        leaf_key = leaf.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        return Verification(
            Status.UNSUPPORTED,
            f"Not verified: the key of the signing certificate cannot be used ({exc}).",
        )
    if not isinstance(
        leaf_key,
        ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
        | ed448.Ed448PublicKey,
    ):
        return Verification(
            Status.UNSUPPORTED,
            f"The signing certificate has a key we cannot verify with ({type(leaf_key).__name__}).",
        )
    if not signature_matches(leaf_key, envelope.signed_bytes, envelope.signature, raw_ecdsa=True):
        return Verification(
            Status.BAD_SIGNATURE,
            f"The signature does not match the envelope for the {key_description(leaf_key)} key "
            "of its signing certificate: the envelope was changed.",
        )
    try:
        attributes = _signed_attributes(envelope)
    except InvalidSignature as exc:
        return Verification(Status.BAD_SIGNATURE, f"The signature cannot be checked: {exc}")
    refusal = _not_understood(attributes, envelope)
    if refusal is not None:
        return Verification(Status.UNSUPPORTED, refusal)
    path = find_path(envelope.chain, trusted)
    if isinstance(path, str):
        return Verification(Status.BAD_SIGNATURE, f"The signature is intact, but {path}.")
    now = datetime.now(UTC)
    # The chain must be valid now. The signing time (io.cncf.notary.signingTime) is the
    # signer's own word, unauthenticated: checked at it, a key whose certificate expired
    # (or was taken after it did) could sign with any date it likes. notation checks the
    # chain at the time of an RFC 3161 timestamp countersignature it verifies with a TSA
    # trust store, else at the time of verification; Spyglass verifies no timestamp, so
    # it is always now. notation's "permissive" level only logs this failure (its
    # "authentic timestamp" check) and the expiry below; both are enforced here, as
    # "strict" enforces them: there is no policy here to relax them, and "verified" must
    # not mean less than notation's strictest level.
    outside = path.invalid_at(now)
    if outside is not None:
        who, cert = outside
        if now > cert.not_valid_after_utc:
            return Verification(
                Status.BAD_SIGNATURE,
                f"The signature is intact, but {who} expired on "
                f"{format_time(cert.not_valid_after_utc)}: without a timestamp that Spyglass "
                "checks, a Notary v2 signature is good only while its whole certificate chain "
                "is valid.",
            )
        return Verification(
            Status.BAD_SIGNATURE,
            f"The signature is intact, but {who} is not valid until "
            f"{format_time(cert.not_valid_before_utc)}.",
        )
    # A signing authority vouches for the time it signed at: the chain must have been valid
    # then too. (Now as well: notation takes that time only from a signing authority
    # trusted as one, in a trust store of its own, and the certificates given here are
    # not told apart.)
    signed_at = attributes.authentic_signing_time
    outside = path.invalid_at(signed_at) if signed_at is not None else None
    if signed_at is not None and outside is not None:
        who, cert = outside
        return Verification(
            Status.BAD_SIGNATURE,
            f"The signature is intact, but {who} was not valid at its authentic signing time "
            f"({format_time(signed_at)}): it is valid from "
            f"{format_time(cert.not_valid_before_utc)} to {format_time(cert.not_valid_after_utc)}.",
        )
    signer = describe_certificate(leaf).subject
    if attributes.expiry is not None and attributes.expiry <= now:
        return Verification(
            Status.BAD_SIGNATURE,
            f"The signature by {signer} is intact and trusted, but it expired on "
            f"{format_time(attributes.expiry)} (its {_NOTARY}expiry): its signer said it is not "
            "to be used after then.",
        )
    if envelope.target_digest != image_digest:
        return Verification(
            Status.WRONG_IMAGE,
            f"The signature is good, but it signs {envelope.target_digest}, not this image "
            f"({image_digest}).",
            signer,
            vouched=True,
        )
    return Verification(
        Status.VERIFIED,
        f"Verified: signed by {signer}, which the given certificates trust, and names this image.",
        signer,
        vouched=True,
    )


SIGNING_SCHEMES: Final = ("notary.x509", "notary.x509.signingAuthority")
UNDERSTOOD_CRITICAL: Final = frozenset(
    _NOTARY + name for name in ("signingScheme", "expiry", "authenticSigningTime")
)
"""The signed headers a signature may mark critical (``crit``) and still be verified here:
the Notary Project's own. A verification plugin's are not: Spyglass runs no plugins."""


@dataclass(frozen=True)
class _SignedAttributes:
    critical: tuple[str | int, ...]
    scheme: str
    expiry: datetime | None
    authentic_signing_time: datetime | None


def _signed_attributes(envelope: NotaryEnvelope) -> _SignedAttributes:
    """What verifying needs of the protected header; InvalidSignature when it is malformed."""
    protected = dict(envelope.protected)
    jws = envelope.encoding == "JWS"
    critical = protected.get("crit" if jws else 2, [])
    if not isinstance(critical, list) or not all(
        isinstance(name, str) or (not jws and isinstance(name, int) and not isinstance(name, bool))
        for name in critical
    ):
        raise InvalidSignature("its protected header's crit is not a list of header names.")
    scheme = protected.get(_NOTARY + "signingScheme")
    if not isinstance(scheme, str):
        raise InvalidSignature(
            f"its protected header has no {_NOTARY}signingScheme, which the Notary Project "
            "requires."
        )
    signed_at = _signed_time(protected, "authenticSigningTime", jws)
    if scheme == SIGNING_SCHEMES[1] and signed_at is None:
        raise InvalidSignature(
            f"it uses the {scheme} scheme but has no {_NOTARY}authenticSigningTime, which "
            "that scheme requires."
        )
    return _SignedAttributes(
        critical=tuple(critical),
        scheme=scheme,
        expiry=_signed_time(protected, "expiry", jws),
        authentic_signing_time=signed_at,
    )


def _signed_time(protected: dict[str | int, object], name: str, jws: bool) -> datetime | None:
    """An RFC 3339 time (JWS) or ``1(epoch)`` (COSE) of the protected header, or None."""
    value = protected.get(_NOTARY + name)
    if value is None:
        return None
    moment: datetime | None = None
    if jws and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is None:
            moment = None
    elif not jws and isinstance(value, cbor.Tagged) and value.tag == 1 \
            and isinstance(value.value, int | float) and not isinstance(value.value, bool):
        try:
            moment = datetime.fromtimestamp(value.value, UTC)
        except (OverflowError, OSError, ValueError):
            moment = None
    if moment is None:
        shape = "an RFC 3339 time" if jws else "an epoch time (CBOR tag 1)"
        text = _jws_text(value) if jws else _cose_text(value)
        raise InvalidSignature(f"its {_NOTARY}{name} is not {shape}: {text}.")
    return moment


def _not_understood(attributes: _SignedAttributes, envelope: NotaryEnvelope) -> str | None:
    """Why the signature asks for more than is checked here, as a sentence; or None."""
    unknown = [name for name in attributes.critical if name not in UNDERSTOOD_CRITICAL]
    plugin = dict(envelope.protected).get(_NOTARY + "verificationPlugin")
    if _NOTARY + "verificationPlugin" in unknown:
        named = f' "{plugin}"' if isinstance(plugin, str) else ""
        return (
            f"Not verified: the signature asks to be checked by the notation verification "
            f"plugin{named} (its {_NOTARY}verificationPlugin header is critical), and Spyglass "
            "runs no plugins."
        )
    if unknown:
        names = ", ".join(f'"{name}"' for name in unknown)
        return (
            f"Not verified: the signature marks {names} critical (crit), which Spyglass does "
            "not know; the Notary Project has a verifier refuse a signature with a critical "
            "header it does not understand."
        )
    if attributes.scheme not in SIGNING_SCHEMES:
        return (
            f'Not verified: the signature uses the signing scheme "{attributes.scheme}", which '
            f"Spyglass does not know ({' or '.join(SIGNING_SCHEMES)})."
        )
    return None


# --------------------------------------------------------------------------- JWS


def _parse_jws(data: bytes) -> NotaryEnvelope:
    what = "the Notary v2 JWS envelope"
    document = load_json_object(data, what)
    protected_b64 = get_str(document, "protected", what)
    payload_b64 = get_str(document, "payload", what)
    signature_b64 = get_str(document, "signature", what)
    assert protected_b64 is not None and payload_b64 is not None and signature_b64 is not None
    protected = load_json_object(
        b64decode(protected_b64, f"the protected header of {what}"),
        f"the protected header of {what}",
    )
    header = get_object(document, "header", what, required=False) or {}
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c:
        raise InvalidSignature(
            f'The unprotected header of {what} has no "x5c" certificate chain.'
        )
    chain = tuple(
        parse_certificate(b64decode(entry, f"certificate {i + 1} of the x5c chain"),
                          what=f"certificate {i + 1} of the x5c chain")
        for i, entry in enumerate(x5c)
    )
    payload = b64decode(payload_b64, f"the payload of {what}")
    algorithm = protected.get("alg")
    headers = [
        (_label(key), _jws_text(value))
        for key, value in protected.items()
        if key.startswith(_NOTARY)
    ]
    agent = header.get(_NOTARY + "signingAgent")
    if isinstance(agent, str):
        headers.append(("Signing agent", agent))
    if header.get(_NOTARY + "timestampSignature") or header.get(_NOTARY + "timestamp"):
        headers.append(("Timestamp signature", "attached"))
    cty = protected.get("cty")
    return _finish(
        "JWS",
        algorithm if isinstance(algorithm, str) else "(none)",
        cty if isinstance(cty, str) else "",
        headers,
        payload,
        f"{protected_b64}.{payload_b64}".encode("ascii", "replace"),
        b64decode(signature_b64, f"the signature of {what}"),
        chain,
        protected,
    )


def _jws_text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


# --------------------------------------------------------------------------- COSE


def _parse_cose(data: bytes) -> NotaryEnvelope:
    what = "the Notary v2 COSE envelope"
    item = cbor.loads(data, what=what)
    if isinstance(item, cbor.Tagged):
        if item.tag != 18:
            raise InvalidSignature(
                f"{what[:1].upper()}{what[1:]} has CBOR tag {item.tag}; expected 18 (COSE_Sign1)."
            )
        item = item.value
    if not isinstance(item, list) or len(item) != 4:
        raise InvalidSignature(
            f"{what[:1].upper()}{what[1:]} is not a COSE_Sign1 structure (an array of "
            "protected header, unprotected header, payload and signature)."
        )
    protected_raw, unprotected, payload, signature = item
    if not isinstance(protected_raw, bytes) or not isinstance(unprotected, dict) \
            or not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise InvalidSignature(
            f"{what[:1].upper()}{what[1:]} has parts of the wrong type: expected a byte string "
            "protected header, a map unprotected header, an attached byte string payload and a "
            "byte string signature."
        )
    protected = cbor.loads(protected_raw, what=f"the protected header of {what}") \
        if protected_raw else {}
    if not isinstance(protected, dict):
        raise InvalidSignature(f"The protected header of {what} is not a CBOR map.")
    alg = protected.get(1)
    algorithm = COSE_ALGORITHMS.get(alg, str(alg)) if isinstance(alg, int) else "(none)"
    cty = protected.get(3)
    headers: list[tuple[str, str]] = []
    for key, value in protected.items():
        if isinstance(key, str) and key.startswith(_NOTARY):
            headers.append((_label(key), _cose_text(value)))
    agent = unprotected.get(_NOTARY + "signingAgent")
    if isinstance(agent, str):
        headers.append(("Signing agent", agent))
    if unprotected.get(_NOTARY + "timestampSignature"):
        headers.append(("Timestamp signature", "attached"))
    x5chain = unprotected.get(X5CHAIN_LABEL, protected.get(X5CHAIN_LABEL))
    if isinstance(x5chain, bytes):
        x5chain = [x5chain]
    if not isinstance(x5chain, list) or not x5chain or \
            not all(isinstance(c, bytes) for c in x5chain):
        raise InvalidSignature(
            f"{what[:1].upper()}{what[1:]} has no x5chain (header label 33) of DER certificates."
        )
    chain = tuple(
        parse_certificate(cert, what=f"certificate {i + 1} of the x5chain")
        for i, cert in enumerate(x5chain)
        if isinstance(cert, bytes)
    )
    sig_structure = cbor.dumps(["Signature1", protected_raw, b"", payload])
    return _finish(
        "COSE_Sign1",
        algorithm,
        cty if isinstance(cty, str) else "",
        headers,
        payload,
        sig_structure,
        signature,
        chain,
        protected,
    )


def _cose_text(value: object) -> str:
    if isinstance(value, cbor.Tagged) and value.tag == 1 and isinstance(value.value, int | float):
        try:
            return format_time(datetime.fromtimestamp(value.value, UTC))
        except (OverflowError, OSError, ValueError):
            return str(value.value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(_cose_text(v) for v in value)
    return str(value)


# --------------------------------------------------------------------------- shared


def _finish(
    encoding: str,
    algorithm: str,
    content_type: str,
    headers: list[tuple[str, str]],
    payload: bytes,
    signed_bytes: bytes,
    signature: bytes,
    chain: tuple[x509.Certificate, ...],
    protected: dict[Any, Any],
) -> NotaryEnvelope:
    if content_type and content_type != media.NOTARY_PAYLOAD:
        raise InvalidSignature(
            f'The Notary v2 {encoding} envelope signs content of type "{content_type}"; '
            f"expected {media.NOTARY_PAYLOAD}."
        )
    what = f"the payload of the Notary v2 {encoding} envelope"
    document = load_json_object(payload, what)
    target = get_object(document, "targetArtifact", what)
    assert target is not None
    target_what = f"the target artifact in {what}"
    target_type = get_str(target, "mediaType", target_what, required=False) or ""
    digest = get_digest(target, "digest", target_what)
    size: Any = target.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise InvalidSignature(f'{target_what[:1].upper()}{target_what[1:]} has a bad "size".')
    return NotaryEnvelope(
        encoding=encoding,
        algorithm=algorithm,
        content_type=content_type or media.NOTARY_PAYLOAD,
        headers=tuple(headers),
        payload=payload,
        signed_bytes=signed_bytes,
        signature=signature,
        chain=chain,
        target_media_type=target_type,
        target_digest=digest,
        target_size=size,
        protected=tuple((key, value) for key, value in protected.items()
                        if isinstance(key, str | int) and not isinstance(key, bool)),
    )


_LABELS: Final = {
    "signingScheme": "Signing scheme",
    "signingTime": "Signing time",
    "authenticSigningTime": "Authentic signing time",
    "expiry": "Expiry",
    "verificationPlugin": "Verification plugin",
    "verificationPluginMinVersion": "Verification plugin minimum version",
}


def _label(key: str) -> str:
    short = key.removeprefix(_NOTARY)
    return _LABELS.get(short, key)


def _common_name(certificate: x509.Certificate) -> str | None:
    try:
        names = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    except ValueError:
        return None
    if names and isinstance(names[0].value, str):
        return names[0].value
    return None
