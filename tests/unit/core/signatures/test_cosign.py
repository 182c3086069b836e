"""cosign signature layers: decoding, and verification with each key type."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes

from spyglass.core.digest import Digest
from spyglass.core.errors import SpyglassError
from spyglass.core.signatures import (
    InvalidKey,
    InvalidSignature,
    Kind,
    Status,
    decode_cosign_signature,
    verify_cosign,
    verify_cosign_layer,
)
from spyglass.core.signatures.cosign import KEYLESS_DETAIL, NO_KEY_DETAIL
from tests.helpers.cosign import (
    SIGNATURE_ANNOTATION,
    PrivateKey,
    certificate_pem,
    fulcio_like_certificate,
    generate_key,
    make_certificate,
    private_key_pem,
    public_key_pem,
    rekor_bundle,
    sign,
    signature_layer,
    simple_signing_payload,
)

DIGEST = Digest.of(b"the signed manifest")
OTHER = Digest.of(b"another manifest")
REFERENCE = "registry.example/team/app"
KEY_KINDS = ["ecdsa-p256", "ecdsa-p384", "rsa", "ed25519"]


@pytest.fixture(scope="module")
def keys() -> dict[str, PrivateKey]:
    return {kind: generate_key(kind) for kind in KEY_KINDS}


def payload(digest: Digest = DIGEST, **kw: Any) -> bytes:
    return simple_signing_payload(REFERENCE, str(digest), **kw)


# --------------------------------------------------------------------------- decoding


def test_decode_key_signature_shows_reference_digest_and_type() -> None:
    key = generate_key()
    data, notes = signature_layer(payload(optional={"creator": "ci", "timestamp": 1_700_000_000}),
                                  key)
    decoded = decode_cosign_signature(data, notes)
    assert decoded.kind is Kind.COSIGN_SIGNATURE
    assert decoded.claimed_digest == DIGEST
    assert decoded.claimed_reference == REFERENCE
    assert decoded.field("Signed reference") == REFERENCE
    assert decoded.field("Manifest digest") == str(DIGEST)
    assert decoded.field("Signature type") == "key"
    assert decoded.field("Signature") == "present"
    assert decoded.field("Rekor bundle") == "none"
    assert decoded.field("Creator") == "ci"
    assert decoded.field("Signed at") == "2023-11-14 22:13:20 UTC"
    assert decoded.certificate is None and decoded.identity is None
    assert decoded.names_image(DIGEST) is True
    assert decoded.names_image(OTHER) is False
    assert REFERENCE in decoded.title


def test_decode_keyless_signature_shows_identity_and_bundle() -> None:
    key = generate_key()
    cert = fulcio_like_certificate(key, email="dev@example.com",
                                   oidc_issuer="https://token.actions.githubusercontent.com")
    data, notes = signature_layer(payload(), key, certificate=cert, chain=cert,
                                  bundle=rekor_bundle(log_index=42))
    decoded = decode_cosign_signature(data, notes)
    assert decoded.field("Signature type") == "keyless (Fulcio certificate)"
    assert decoded.field("Certificate e-mail") == "dev@example.com"
    assert decoded.field("OIDC issuer") == "https://token.actions.githubusercontent.com"
    assert decoded.field("Certificate chain") == "1 certificate"
    bundle = decoded.field("Rekor bundle")
    assert bundle is not None and bundle.startswith("attached (log index 42, integrated ")
    assert decoded.identity is not None
    assert decoded.identity.subject == "dev@example.com"
    assert decoded.identity.oidc_issuer == "https://token.actions.githubusercontent.com"
    assert decoded.certificate is not None
    assert decoded.field("Valid from") and decoded.field("Valid until")
    assert "dev@example.com" in decoded.title


def test_decode_without_signature_annotation_says_missing() -> None:
    decoded = decode_cosign_signature(payload(), {})
    assert decoded.field("Signature") == "missing"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "not an object"),
        (b'{"critical": {}}', '"identity"'),
        (b'{"critical": {"identity": {"docker-reference": "x"}, "image": {}, "type": "t"}}',
         '"docker-manifest-digest"'),
        (b'{"critical": {"identity": {"docker-reference": "x"}, '
         b'"image": {"docker-manifest-digest": "sha256:abc"}, "type": "t"}}', "invalid"),
    ],
)
def test_decode_malformed_payload_raises_a_sentence(data: bytes, words: str) -> None:
    with pytest.raises(InvalidSignature) as info:
        decode_cosign_signature(data, {})
    assert words in str(info.value)
    assert str(info.value).endswith((".", ")", "…"))


def test_decode_malformed_certificate_annotation_raises_a_sentence() -> None:
    with pytest.raises(InvalidSignature, match="certificate annotation"):
        decode_cosign_signature(payload(), {
            "dev.sigstore.cosign/certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                               "-----END CERTIFICATE-----\n",
        })


def test_decode_bad_base64_signature_raises() -> None:
    with pytest.raises(InvalidSignature, match="base64"):
        decode_cosign_signature(payload(), {SIGNATURE_ANNOTATION: "!!!not base64!!!"})


# --------------------------------------------------------------------------- verification


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_verify_good_signature_for_each_key_type(keys: dict[str, PrivateKey], kind: str) -> None:
    key = keys[kind]
    data, notes = signature_layer(payload(), key)
    result = verify_cosign(data, notes[SIGNATURE_ANNOTATION], public_key_pem(key), DIGEST)
    assert result.status is Status.VERIFIED, result.detail
    assert result.ok
    assert result.signer and "SHA256:" in result.signer
    assert REFERENCE in result.detail


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_verify_wrong_key_is_bad_signature(keys: dict[str, PrivateKey], kind: str) -> None:
    data, notes = signature_layer(payload(), keys[kind])
    other = generate_key(kind)
    result = verify_cosign(data, notes[SIGNATURE_ANNOTATION], public_key_pem(other), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "does not match" in result.detail


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_verify_modified_payload_is_bad_signature(keys: dict[str, PrivateKey], kind: str) -> None:
    key = keys[kind]
    data, notes = signature_layer(payload(), key)
    tampered = data.replace(b"team", b"evil")
    result = verify_cosign(tampered, notes[SIGNATURE_ANNOTATION], public_key_pem(key), DIGEST)
    assert result.status is Status.BAD_SIGNATURE


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_verify_good_signature_for_another_image_is_wrong_image(
    keys: dict[str, PrivateKey], kind: str
) -> None:
    key = keys[kind]
    data, notes = signature_layer(payload(OTHER), key)
    result = verify_cosign(data, notes[SIGNATURE_ANNOTATION], public_key_pem(key), DIGEST)
    assert result.status is Status.WRONG_IMAGE
    assert str(OTHER) in result.detail and str(DIGEST) in result.detail


def test_verify_p384_signature_with_sha384_is_accepted() -> None:
    key = generate_key("ecdsa-p384")
    data = payload()
    signature = base64.b64encode(sign(key, data, ecdsa_hash=hashes.SHA384())).decode()
    assert verify_cosign(data, signature, public_key_pem(key), DIGEST).ok


def test_verify_rsa_pss_signature_is_accepted(keys: dict[str, PrivateKey]) -> None:
    key = keys["rsa"]
    data = payload()
    signature = base64.b64encode(sign(key, data, rsa_pss=True)).decode()
    assert verify_cosign(data, signature, public_key_pem(key), DIGEST).ok


def test_verify_with_a_certificate_as_the_key(keys: dict[str, PrivateKey]) -> None:
    key = keys["ecdsa-p256"]
    cert = certificate_pem(make_certificate(key, common_name="signer"))
    data, notes = signature_layer(payload(), key)
    assert verify_cosign(data, notes[SIGNATURE_ANNOTATION], cert, DIGEST).ok


def test_verify_signature_over_a_non_cosign_payload_names_no_image() -> None:
    key = generate_key()
    data = b'{"hello": "world"}'
    signature = base64.b64encode(sign(key, data)).decode()
    result = verify_cosign(data, signature, public_key_pem(key), DIGEST)
    assert result.status is Status.WRONG_IMAGE
    assert "names no image" in result.detail


def test_verify_signature_over_an_atomic_payload_is_refused() -> None:
    key = generate_key()
    data = payload(payload_type="atomic container signature")
    signature = base64.b64encode(sign(key, data)).decode()
    result = verify_cosign(data, signature, public_key_pem(key), DIGEST)
    assert result.status is Status.WRONG_IMAGE
    assert "atomic container signature" in result.detail


def test_keyless_without_key_is_not_checked() -> None:
    key = generate_key()
    cert = fulcio_like_certificate(key)
    data, notes = signature_layer(payload(), key, certificate=cert)
    result = verify_cosign_layer(data, notes, None, DIGEST)
    assert result.status is Status.NOT_CHECKED
    assert result.detail == KEYLESS_DETAIL
    assert "keyless verification needs the Sigstore trust root" in result.detail


def test_no_key_and_no_certificate_is_not_checked() -> None:
    data, notes = signature_layer(payload(), generate_key())
    result = verify_cosign_layer(data, notes, None, DIGEST)
    assert result.status is Status.NOT_CHECKED
    assert result.detail == NO_KEY_DETAIL


def test_verify_layer_takes_the_signature_from_annotations() -> None:
    key = generate_key()
    data, notes = signature_layer(payload(), key)
    assert verify_cosign_layer(data, notes, public_key_pem(key), DIGEST).ok
    assert verify_cosign_layer(data, notes, public_key_pem(key), OTHER).status is \
        Status.WRONG_IMAGE


@pytest.mark.parametrize("signature", [None, "", "   "])
def test_missing_signature_is_bad_signature(signature: str | None) -> None:
    key = generate_key()
    result = verify_cosign(payload(), signature, public_key_pem(key), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "no signature" in result.detail


def test_signature_that_is_not_base64_is_bad_signature() -> None:
    key = generate_key()
    result = verify_cosign(payload(), "%%%", public_key_pem(key), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "base64" in result.detail


def test_truncated_signature_is_bad_signature() -> None:
    key = generate_key()
    data = payload()
    signature = base64.b64encode(sign(key, data)[:-3]).decode()
    assert verify_cosign(data, signature, public_key_pem(key), DIGEST).status is \
        Status.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("pem", "words"),
    [
        (b"", "empty"),
        (b"garbage", "is not a public key"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "is not a public key"),
    ],
)
def test_unreadable_key_raises_invalid_key(pem: bytes, words: str) -> None:
    with pytest.raises(InvalidKey) as info:
        verify_cosign(payload(), "AAAA", pem, DIGEST)
    assert words in str(info.value)
    assert isinstance(info.value, SpyglassError)


def test_private_key_given_as_public_key_is_refused_with_advice() -> None:
    with pytest.raises(InvalidKey, match="private key"):
        verify_cosign(payload(), "AAAA", private_key_pem(generate_key()), DIGEST)
