"""``dir:`` ``signature-N`` files and the by-media-type layer dispatcher."""

from __future__ import annotations

import json

import pytest

from spyglass.core.digest import Digest
from spyglass.core.signatures import (
    InvalidSignature,
    Kind,
    decode_layer,
    decode_stored_signature,
    split_stored_signature,
    verify_cosign,
)
from spyglass.core.signatures.stored import containers_image_refusal
from tests.helpers.cosign import (
    DSSE_MEDIA_TYPE,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
    dsse_envelope,
    generate_key,
    in_toto_statement,
    public_key_pem,
    signature_layer,
    simple_signing_payload,
    stored_sigstore_signature,
)
from tests.helpers.pgp import ThrowawayGpg, atomic_payload

DIGEST = Digest.of(b"a manifest in a dir: layout")
REFERENCE = "registry.example/team/app:3"


def test_bare_openpgp_file_is_simple_signing(gpg_key: ThrowawayGpg) -> None:
    blob = gpg_key.sign(atomic_payload(REFERENCE, str(DIGEST)))
    stored = split_stored_signature(blob)
    assert stored.format == "simple-signing"
    assert stored.data == blob
    decoded = decode_stored_signature(blob)
    assert decoded.kind is Kind.SIMPLE_SIGNING
    assert decoded.claimed_digest == DIGEST
    assert decoded.key_id == gpg_key.fingerprint


def test_prefixed_simple_signing_file(gpg_key: ThrowawayGpg) -> None:
    blob = gpg_key.sign(atomic_payload(REFERENCE, str(DIGEST)))
    stored = split_stored_signature(b"\x00simple-signing\n" + blob)
    assert stored.format == "simple-signing" and stored.data == blob
    assert decode_stored_signature(b"\x00simple-signing\n" + blob).kind is Kind.SIMPLE_SIGNING


def test_sigstore_json_file_decodes_and_verifies() -> None:
    key = generate_key()
    payload, notes = signature_layer(simple_signing_payload(REFERENCE, str(DIGEST)), key)
    blob = stored_sigstore_signature(payload, notes)
    stored = split_stored_signature(blob)
    assert stored.format == "sigstore-json"
    assert stored.mime_type == SIMPLESIGNING_MEDIA_TYPE
    assert stored.data == payload
    assert stored.annotations == notes
    decoded = decode_stored_signature(blob)
    assert decoded.kind is Kind.COSIGN_SIGNATURE
    assert decoded.claimed_digest == DIGEST
    result = verify_cosign(stored.data, stored.annotations[SIGNATURE_ANNOTATION],
                           public_key_pem(key), DIGEST)
    assert result.ok


def test_sigstore_json_attestation() -> None:
    envelope = dsse_envelope(in_toto_statement([(REFERENCE, str(DIGEST))],
                                               "https://slsa.dev/provenance/v1", {}),
                             generate_key())
    blob = stored_sigstore_signature(envelope, {}, mime_type=DSSE_MEDIA_TYPE)
    assert decode_stored_signature(blob).kind is Kind.ATTESTATION


@pytest.mark.parametrize(
    ("blob", "words"),
    [
        (b"", "empty"),
        (b"{json}", "starts with byte 0x7b"),
        (b"\x00sigstore-json", "no newline"),
        (b"\x00sig\x01store\n{}", "not printable"),
        (b"\x00x-future-format\n...", '"x-future-format"'),
        (b"\x00sigstore-json\nnot json", "not valid JSON"),
        (b'\x00sigstore-json\n{"mimeType": 5}', '"mimeType"'),
        (b'\x00sigstore-json\n{"payload": "!!"}', "base64"),
        (b'\x00sigstore-json\n{"payload": "", "annotations": {"a": 1}}', "map of strings"),
    ],
)
def test_malformed_signature_files_raise_sentences(blob: bytes, words: str) -> None:
    with pytest.raises(InvalidSignature) as info:
        decode_stored_signature(blob)
    assert words in str(info.value)


def test_decode_layer_dispatch() -> None:
    key = generate_key()
    payload, notes = signature_layer(simple_signing_payload(REFERENCE, str(DIGEST)), key)
    assert decode_layer(payload, SIMPLESIGNING_MEDIA_TYPE, notes).kind is Kind.COSIGN_SIGNATURE
    envelope = dsse_envelope(in_toto_statement([(REFERENCE, str(DIGEST))], "x", {}), key)
    assert decode_layer(envelope, DSSE_MEDIA_TYPE).kind is Kind.ATTESTATION
    sbom = json.dumps({"spdxVersion": "SPDX-2.3"}).encode()
    decoded = decode_layer(sbom, "text/spdx+json")
    assert decoded.kind is Kind.SBOM and decoded.field("SBOM format") == "SPDX 2.3 (JSON)"
    other = decode_layer(b"12345", "application/vnd.example.thing")
    assert other.kind is Kind.OTHER
    assert other.field("Size") == "5 bytes"
    assert other.names_image(DIGEST) is None
    # a JOSE blob that is not in a Notary artifact is not treated as one
    assert decode_layer(b"{}", "application/jose+json",
                        artifact_type="application/vnd.example").kind is Kind.OTHER


@pytest.mark.parametrize(("blob", "refusal"), [
    (b"\xa3\x01", None),  # gpg --sign's compressed message
    (b"\x90\x0d", None),  # a one-pass signature first
    (b"\xc2\x01", None),  # a signature packet, new format
    (b"\x3d", None),  # containers/image's list has 0x3d where 0x93 was meant
    (b"\x93", "it is neither an OpenPGP message nor a zero byte and a format name "
              "(containers/image's two forms)"),
    (b"\xb4", "it is neither an OpenPGP message nor a zero byte and a format name "
              "(containers/image's two forms)"),  # a literal data packet: not taken
    (b"-----BEGIN PGP MESSAGE-----\n", "it is neither an OpenPGP message nor a zero byte "
     "and a format name (containers/image's two forms)"),  # armored: not taken either
    (b"<html>", "it is neither an OpenPGP message nor a zero byte and a format name "
                "(containers/image's two forms)"),
    (b"", "it is empty"),
    (b"\0simple-signing\n\xa3", None),
    (b"\0sigstore-json\n{}", None),
    (b"\0sigstore-json\nnull", None),  # Go's json.Unmarshal takes it
    (b"\0sigstore-json\n[]", 'its "sigstore-json" data is not a JSON object'),
    (b"\0sigstore-json\n{", 'its "sigstore-json" data is not a JSON object'),
    (b"\0simple-signing", "it starts with a zero byte, but no newline ends a format name"),
    (b"\0caf\xe9\n", "its format name, after the zero byte, is not printable ASCII"),
    (b"\0cosign\n{}", 'its format "cosign" is neither "simple-signing" nor "sigstore-json"'),
])
def test_containers_image_refusal_is_that_of_from_blob(blob: bytes, refusal: str | None) -> None:
    """What containers/image's signature.FromBlob takes, and why it refuses the rest (a
    lookaside store's answer is checked with it)."""
    assert containers_image_refusal(blob) == refusal
