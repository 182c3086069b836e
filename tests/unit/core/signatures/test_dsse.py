"""cosign attestations: DSSE envelopes of in-toto statements, decoded and verified."""

from __future__ import annotations

import base64
import json

import pytest

from spyglass.core.digest import Digest
from spyglass.core.signatures import (
    InvalidKey,
    InvalidSignature,
    Kind,
    Status,
    decode_attestation,
    pae,
    verify_dsse,
)
from spyglass.core.signatures.cosign import KEYLESS_DETAIL
from tests.helpers import cosign as helpers
from tests.helpers.cosign import (
    PrivateKey,
    dsse_envelope,
    fulcio_like_certificate,
    generate_key,
    in_toto_statement,
    public_key_pem,
    sign,
)

DIGEST = Digest.of(b"the attested manifest")
OTHER = Digest.of(b"some other manifest")
NAME = "registry.example/team/app"
SLSA = "https://slsa.dev/provenance/v0.2"
KEY_KINDS = ["ecdsa-p256", "ecdsa-p384", "rsa", "ed25519"]


@pytest.fixture(scope="module")
def keys() -> dict[str, PrivateKey]:
    return {kind: generate_key(kind) for kind in KEY_KINDS}


def statement(digest: Digest = DIGEST, predicate_type: str = SLSA, predicate: object = None):
    return in_toto_statement([(NAME, str(digest))], predicate_type,
                             predicate if predicate is not None else {"builder": {"id": "ci"}})


def test_pae_matches_the_dsse_specification_example() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == \
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    assert pae("t", b"") == helpers.pae("t", b"")


# --------------------------------------------------------------------------- decoding


def test_decode_slsa_attestation() -> None:
    envelope = dsse_envelope(statement(), generate_key(), keyid="my-key")
    decoded = decode_attestation(envelope, {"predicateType": SLSA,
                                            "dev.cosignproject.cosign/signature": ""})
    assert decoded.kind is Kind.ATTESTATION
    assert decoded.field("Payload type") == "application/vnd.in-toto+json"
    assert decoded.field("Predicate type") == SLSA
    assert decoded.field("Predicate") == "SLSA provenance"
    assert decoded.field("Statement type") == "https://in-toto.io/Statement/v0.1"
    assert decoded.field("Subjects") == f"{NAME} ({DIGEST})"
    assert decoded.field("Key ID") == "my-key"
    assert decoded.field("Signatures") == "1"
    assert decoded.field("SBOM format") is None
    assert decoded.subject_digests == (DIGEST,)
    assert decoded.names_image(DIGEST) is True
    assert decoded.names_image(OTHER) is False
    assert decoded.key_id == "my-key"
    assert decoded.title == "Attestation: SLSA provenance"


@pytest.mark.parametrize(
    ("predicate_type", "predicate", "expected"),
    [
        ("https://spdx.dev/Document", {"spdxVersion": "SPDX-2.3", "name": "app"},
         "SPDX 2.3 (JSON)"),
        ("https://spdx.dev/Document/v2.3", {"SPDXID": "SPDXRef-DOCUMENT"}, "SPDX (JSON)"),
        ("https://cyclonedx.org/bom", {"bomFormat": "CycloneDX", "specVersion": "1.5"},
         "CycloneDX 1.5 (JSON)"),
        ("https://cyclonedx.org/bom/v1.4", {"Data": json.dumps({"specVersion": "1.4"}),
                                            "Timestamp": "2023-01-01T00:00:00Z"},
         "CycloneDX 1.4 (JSON)"),
    ],
)
def test_decode_sbom_attestation_reports_the_format(
    predicate_type: str, predicate: object, expected: str
) -> None:
    envelope = dsse_envelope(statement(predicate_type=predicate_type, predicate=predicate),
                             generate_key())
    decoded = decode_attestation(envelope)
    assert decoded.field("SBOM format") == expected
    assert decoded.title.startswith(f"SBOM attestation ({expected})")
    assert decoded.kind is Kind.ATTESTATION


def test_decode_keyless_attestation_has_identity() -> None:
    key = generate_key()
    cert = fulcio_like_certificate(key, email=None, uri="https://github.com/org/repo/.github/"
                                   "workflows/release.yml@refs/heads/main")
    decoded = decode_attestation(dsse_envelope(statement(), key),
                                 {"dev.sigstore.cosign/certificate": cert.decode()})
    assert decoded.identity is not None
    assert decoded.identity.subject.startswith("https://github.com/org/repo/")
    assert decoded.field("Signature type") == "keyless (Fulcio certificate)"


def test_decode_envelope_with_other_payload_type() -> None:
    envelope = dsse_envelope(b"opaque", generate_key(), payload_type="text/plain")
    decoded = decode_attestation(envelope)
    assert decoded.field("Payload type") == "text/plain"
    assert decoded.field("Predicate type") is None
    assert decoded.names_image(DIGEST) is None


def test_subject_with_only_other_digest_algorithms_names_nothing() -> None:
    stmt = statement()
    stmt["subject"] = [{"name": "src", "digest": {"gitCommit": "abc123"}}]
    decoded = decode_attestation(dsse_envelope(stmt, generate_key()))
    assert decoded.subject_digests == ()
    assert decoded.field("Subjects") == "src (no sha256 digest)"


@pytest.mark.parametrize(
    ("envelope", "words"),
    [
        (b"{", "not valid JSON"),
        (b'{"payload": "e30=", "signatures": []}', '"payloadType"'),
        (b'{"payloadType": "x", "payload": "***", "signatures": []}', "base64"),
        (b'{"payloadType": "x", "payload": "e30="}', '"signatures"'),
        (b'{"payloadType": "x", "payload": "e30=", "signatures": ["no"]}', "not a JSON object"),
        (b'{"payloadType": "application/vnd.in-toto+json", "payload": "e30=", '
         b'"signatures": []}', '"_type"'),
    ],
)
def test_decode_malformed_envelope_raises_a_sentence(envelope: bytes, words: str) -> None:
    with pytest.raises(InvalidSignature) as info:
        decode_attestation(envelope)
    assert words in str(info.value)


def test_decode_statement_with_bad_subject_digest_raises() -> None:
    stmt = statement()
    stmt["subject"][0]["digest"]["sha256"] = "xyz"
    with pytest.raises(InvalidSignature, match="bad digest"):
        decode_attestation(dsse_envelope(stmt, generate_key()))


# --------------------------------------------------------------------------- verification


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_verify_good_attestation(keys: dict[str, PrivateKey], kind: str) -> None:
    key = keys[kind]
    result = verify_dsse(dsse_envelope(statement(), key), public_key_pem(key), DIGEST)
    assert result.status is Status.VERIFIED, result.detail
    assert SLSA in result.detail


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_verify_wrong_key(keys: dict[str, PrivateKey], kind: str) -> None:
    envelope = dsse_envelope(statement(), keys[kind])
    result = verify_dsse(envelope, public_key_pem(generate_key(kind)), DIGEST)
    assert result.status is Status.BAD_SIGNATURE


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_verify_modified_payload(keys: dict[str, PrivateKey], kind: str) -> None:
    key = keys[kind]
    document = json.loads(dsse_envelope(statement(), key))
    body = json.loads(base64.b64decode(document["payload"]))
    body["predicate"] = {"builder": {"id": "attacker"}}
    document["payload"] = base64.b64encode(json.dumps(body).encode()).decode()
    result = verify_dsse(json.dumps(document).encode(), public_key_pem(key), DIGEST)
    assert result.status is Status.BAD_SIGNATURE


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_verify_attestation_about_another_image(keys: dict[str, PrivateKey], kind: str) -> None:
    key = keys[kind]
    result = verify_dsse(dsse_envelope(statement(OTHER), key), public_key_pem(key), DIGEST)
    assert result.status is Status.WRONG_IMAGE
    assert str(OTHER) in result.detail


def test_signature_over_the_bare_payload_is_not_accepted() -> None:
    """DSSE signs the PAE; a signature over the payload alone must not verify."""
    key = generate_key()
    payload = json.dumps(statement()).encode()
    envelope = json.dumps({
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(sign(key, payload)).decode()}],
    }).encode()
    assert verify_dsse(envelope, public_key_pem(key), DIGEST).status is Status.BAD_SIGNATURE


def test_any_matching_signature_is_enough() -> None:
    key, stranger = generate_key(), generate_key()
    envelope = dsse_envelope(statement(), stranger, extra_keys=[key])
    assert verify_dsse(envelope, public_key_pem(key), DIGEST).ok


def test_envelope_without_signatures_is_bad() -> None:
    envelope = dsse_envelope(statement(), None)
    result = verify_dsse(envelope, public_key_pem(generate_key()), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "no signatures" in result.detail


def test_good_signature_over_a_non_in_toto_payload_names_no_image() -> None:
    key = generate_key()
    envelope = dsse_envelope(b"hello", key, payload_type="text/plain")
    result = verify_dsse(envelope, public_key_pem(key), DIGEST)
    assert result.status is Status.WRONG_IMAGE
    assert "names no image" in result.detail


def test_malformed_envelope_is_a_bad_signature_with_the_reason() -> None:
    result = verify_dsse(b"not json", public_key_pem(generate_key()), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "not valid JSON" in result.detail


def test_keyless_attestation_is_not_checked() -> None:
    key = generate_key()
    result = verify_dsse(dsse_envelope(statement(), key), None, DIGEST,
                         certificate_pem=fulcio_like_certificate(key))
    assert result.status is Status.NOT_CHECKED
    assert result.detail == KEYLESS_DETAIL


def test_unreadable_key_raises() -> None:
    with pytest.raises(InvalidKey):
        verify_dsse(dsse_envelope(statement(), generate_key()), b"nope", DIGEST)
