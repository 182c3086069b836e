"""DSSE envelopes of in-toto statements: cosign attestations, decoded and checked.

A cosign attestation is a layer of media type
``application/vnd.dsse.envelope.v1+json`` holding a DSSE envelope::

    {"payloadType": "application/vnd.in-toto+json",
     "payload": "<base64 of the statement>",
     "signatures": [{"keyid": "", "sig": "<base64>"}]}

Each signature is made over the pre-authentication encoding (PAE) of the
payload, ``DSSEv1 <len(type)> <type> <len(body)> <body>``, never over the
payload alone. The statement names the images it is about in ``subject``
(``[{"name": …, "digest": {"sha256": …}}]``) and what it says in
``predicateType`` and ``predicate``. SPDX and CycloneDX predicates are SBOMs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidDigest
from spyglass.core.signatures import media
from spyglass.core.signatures._parse import b64decode, get_str, load_json_object
from spyglass.core.signatures.certificates import key_description, load_public_key
from spyglass.core.signatures.cosign import (
    bad_signature,
    key_fingerprint,
    signing_material,
    without_key,
)
from spyglass.core.signatures.crypto import signature_matches
from spyglass.core.signatures.model import (
    Decoded,
    InvalidSignature,
    Kind,
    Status,
    Verification,
    format_size,
)
from spyglass.core.signatures.sbom import predicate_sbom_format

_PREDICATE_NAMES: Final = (
    ("https://slsa.dev/provenance/", "SLSA provenance"),
    ("https://cosign.sigstore.dev/attestation/vuln/", "vulnerability scan"),
    ("https://cosign.sigstore.dev/attestation/v1", "custom (cosign)"),
    ("https://in-toto.io/attestation/link/", "in-toto link"),
    ("https://in-toto.io/attestation/vulns", "vulnerability scan"),
    ("https://openvex.dev/ns", "OpenVEX"),
    ("https://spdx.dev/Document", "SPDX SBOM"),
    ("https://cyclonedx.org/bom", "CycloneDX SBOM"),
    ("https://syft.dev/bom", "Syft SBOM"),
)


@dataclass(frozen=True)
class EnvelopeSignature:
    """One signature of a DSSE envelope; ``keyid`` is often empty (cosign leaves it so)."""

    keyid: str
    sig: bytes


@dataclass(frozen=True)
class Envelope:
    """A parsed DSSE envelope; ``payload`` is decoded from base64."""

    payload_type: str
    payload: bytes
    signatures: tuple[EnvelopeSignature, ...]


@dataclass(frozen=True)
class Subject:
    """One subject of an in-toto statement: a name and the digests it has."""

    name: str
    digests: tuple[Digest, ...]


@dataclass(frozen=True)
class Statement:
    """The parts of an in-toto statement shown and checked."""

    type: str
    predicate_type: str
    subjects: tuple[Subject, ...]
    predicate: Any


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE v1 pre-authentication encoding that signatures are made over."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def parse_envelope(data: bytes, *, what: str = "the DSSE envelope") -> Envelope:
    """Parse a DSSE envelope; raise InvalidSignature naming what is missing."""
    document = load_json_object(data, what)
    payload_type = get_str(document, "payloadType", what)
    assert payload_type is not None
    payload = b64decode(document.get("payload"), f'the "payload" of {what}')
    raw_signatures = document.get("signatures")
    if not isinstance(raw_signatures, list):
        raise InvalidSignature(
            f'{what[:1].upper()}{what[1:]} has no "signatures" list.'
        )
    signatures: list[EnvelopeSignature] = []
    for index, entry in enumerate(raw_signatures):
        where = f"signature {index + 1} of {what}"
        if not isinstance(entry, dict):
            raise InvalidSignature(f"{where[:1].upper()}{where[1:]} is not a JSON object.")
        keyid = entry.get("keyid") or ""
        if not isinstance(keyid, str):
            raise InvalidSignature(f'{where[:1].upper()}{where[1:]} has a non-string "keyid".')
        signatures.append(EnvelopeSignature(keyid, b64decode(entry.get("sig"), f'the "sig" of '
                                                             f"{where}")))
    return Envelope(payload_type, payload, tuple(signatures))


def parse_statement(payload: bytes, *, what: str = "the in-toto statement") -> Statement:
    """Parse an in-toto statement (v0.1 or v1); raise InvalidSignature on a bad shape."""
    document = load_json_object(payload, what)
    kind = get_str(document, "_type", what)
    predicate_type = get_str(document, "predicateType", what)
    assert kind is not None and predicate_type is not None
    raw_subjects = document.get("subject")
    if not isinstance(raw_subjects, list):
        raise InvalidSignature(f'{what[:1].upper()}{what[1:]} has no "subject" list.')
    subjects: list[Subject] = []
    for index, entry in enumerate(raw_subjects):
        where = f"subject {index + 1} of {what}"
        if not isinstance(entry, dict):
            raise InvalidSignature(f"{where[:1].upper()}{where[1:]} is not a JSON object.")
        name = entry.get("name", "")
        digest_set = entry.get("digest")
        if not isinstance(name, str) or not isinstance(digest_set, dict):
            raise InvalidSignature(
                f'{where[:1].upper()}{where[1:]} needs a "name" string and a "digest" object.'
            )
        digests: list[Digest] = []
        for algorithm, hex_value in sorted(digest_set.items()):
            if algorithm not in ("sha256", "sha512") or not isinstance(hex_value, str):
                continue  # other algorithms (gitCommit, sha1) name no manifest
            try:
                digests.append(Digest(algorithm, hex_value.lower()))
            except InvalidDigest as exc:
                raise InvalidSignature(f"{where[:1].upper()}{where[1:]} has a bad digest: "
                                       f"{exc}") from exc
        subjects.append(Subject(name, tuple(digests)))
    return Statement(kind, predicate_type, tuple(subjects), document.get("predicate"))


def predicate_name(predicate_type: str) -> str | None:
    """A short name for well-known predicate types (``SLSA provenance``), or None."""
    for prefix, name in _PREDICATE_NAMES:
        if predicate_type.startswith(prefix):
            return name
    return None


def decode_attestation(
    envelope: bytes, annotations: Mapping[str, str] | None = None
) -> Decoded:
    """Decode a cosign attestation layer (a DSSE envelope) and its layer annotations.

    Reports the payload type, predicate type, subjects and, for SBOM
    predicates, the SBOM format. Raises :class:`InvalidSignature` on malformed input.
    """
    notes = dict(annotations or {})
    parsed = parse_envelope(envelope, what="the attestation envelope")
    material = signing_material(notes)
    rows: list[tuple[str, str]] = [("Payload type", parsed.payload_type)]
    subject_digests: tuple[Digest, ...] = ()
    title = "Attestation"
    if parsed.payload_type == media.IN_TOTO_PAYLOAD:
        statement = parse_statement(parsed.payload, what="the attested in-toto statement")
        rows.append(("Statement type", statement.type))
        rows.append(("Predicate type", statement.predicate_type))
        friendly = predicate_name(statement.predicate_type)
        if friendly:
            rows.append(("Predicate", friendly))
            title = f"Attestation: {friendly}"
        sbom = predicate_sbom_format(statement.predicate_type, statement.predicate)
        if sbom is not None:
            rows.append(("SBOM format", sbom))
            title = f"SBOM attestation ({sbom})"
        rows.append(("Subjects", _subjects_text(statement.subjects)))
        subject_digests = tuple(d for s in statement.subjects for d in s.digests)
    key_ids = [s.keyid for s in parsed.signatures if s.keyid]
    rows.append(("Signatures", str(len(parsed.signatures))))
    if key_ids:
        rows.append(("Key ID", ", ".join(key_ids)))
    rows.append(("Signature type", material.signature_type))
    rows.extend(material.fields())
    rows.append(("Size", format_size(len(envelope))))
    identity = material.identity
    if identity is not None:
        title += f" by {identity.subject}"
    return Decoded(
        kind=Kind.ATTESTATION,
        title=title,
        media_type=media.DSSE_ENVELOPE,
        size=len(envelope),
        fields=tuple(rows),
        subject_digests=subject_digests,
        key_id=key_ids[0] if key_ids else None,
        identity=identity,
        certificate=material.certificate,
    )


def decode_statement(
    statement: bytes, annotations: Mapping[str, str] | None = None
) -> Decoded:
    """Decode an unsigned in-toto statement layer (``application/vnd.in-toto+json``), as
    BuildKit attaches provenance and SBOMs to the images of a list. Nothing signs
    it: it says what the builder recorded, not who vouches for it."""
    parsed = parse_statement(statement, what="the in-toto statement")
    rows: list[tuple[str, str]] = [
        ("Statement type", parsed.type), ("Predicate type", parsed.predicate_type)
    ]
    title = "Attestation (unsigned)"
    friendly = predicate_name(parsed.predicate_type)
    if friendly:
        rows.append(("Predicate", friendly))
        title = f"Attestation: {friendly} (unsigned)"
    sbom = predicate_sbom_format(parsed.predicate_type, parsed.predicate)
    if sbom is not None:
        rows.append(("SBOM format", sbom))
        title = f"SBOM attestation ({sbom}, unsigned)"
    rows.append(("Subjects", _subjects_text(parsed.subjects)))
    annotated = (annotations or {}).get("in-toto.io/predicate-type")
    if annotated and annotated != parsed.predicate_type:
        rows.append(("Annotated predicate type", annotated))
    rows.append(("Signature type", "none (an unsigned statement)"))
    rows.append(("Size", format_size(len(statement))))
    return Decoded(
        kind=Kind.ATTESTATION,
        title=title,
        media_type=media.IN_TOTO_PAYLOAD,
        size=len(statement),
        fields=tuple(rows),
        subject_digests=tuple(d for s in parsed.subjects for d in s.digests),
    )


def verify_dsse(
    envelope: bytes,
    public_key_pem: bytes | None,
    image_digest: Digest,
    *,
    certificate_pem: bytes | str | None = None,
    signature: bool = False,
) -> Verification:
    """Check a DSSE attestation with a public key, and that a subject is ``image_digest``.

    A signature is good when any of the envelope's signatures verifies over
    the PAE. Without a key the result is NOT_CHECKED (keyless when
    ``certificate_pem`` is given). A malformed envelope is a BAD_SIGNATURE
    with the reason; an unreadable key raises :class:`InvalidKey`.

    ``signature``: the envelope is a signature, not an attestation (a Sigstore bundle's
    statement of cosign's sign predicate, listed as a cosign signature), and the
    sentences call it so.
    """
    what = "signature" if signature else "attestation"
    statement_word = "signed statement" if signature else "attestation"
    envelope_word = "signature's DSSE envelope" if signature else "attestation envelope"
    if public_key_pem is None:
        return without_key(certificate_pem)
    key = load_public_key(public_key_pem)
    try:
        parsed = parse_envelope(envelope, what=f"the {envelope_word}")
    except InvalidSignature as exc:
        return Verification(Status.BAD_SIGNATURE, f"The {what} cannot be checked: {exc}")
    if not parsed.signatures:
        return Verification(Status.BAD_SIGNATURE, f"The {envelope_word} has no signatures.")
    signed = pae(parsed.payload_type, parsed.payload)
    if not any(signature_matches(key, signed, s.sig) for s in parsed.signatures):
        return bad_signature(key, statement_word)
    signer = key_fingerprint(key)
    if parsed.payload_type != media.IN_TOTO_PAYLOAD:
        return Verification(
            Status.WRONG_IMAGE,
            f'The signature is good, but the payload is "{parsed.payload_type}", not an '
            "in-toto statement, so it names no image.",
            signer,
        )
    try:
        statement = parse_statement(parsed.payload, what="the attested in-toto statement")
    except InvalidSignature as exc:
        return Verification(
            Status.WRONG_IMAGE, f"The signature is good, but names no image: {exc}", signer
        )
    if any(image_digest in s.digests for s in statement.subjects):
        return Verification(
            Status.VERIFIED,
            f"Verified with the given {key_description(key)} key: the {what} "
            f"({statement.predicate_type}) is good and names this image.",
            signer,
        )
    return Verification(
        Status.WRONG_IMAGE,
        f"The signature is good, but the {statement_word} is about "
        f"{_subjects_text(statement.subjects)}, not this image ({image_digest}).",
        signer,
    )


def _subjects_text(subjects: tuple[Subject, ...]) -> str:
    if not subjects:
        return "(none)"
    parts = []
    for subject in subjects:
        digests = ", ".join(str(d) for d in subject.digests) or "no sha256 digest"
        parts.append(f"{subject.name or '(unnamed)'} ({digests})")
    return "; ".join(parts)
