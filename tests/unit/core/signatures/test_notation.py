"""Notary v2 envelopes (JWS JSON and COSE_Sign1), built here by hand, decoded and verified."""

from __future__ import annotations

import datetime as dt
import json
import struct
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509

from spyglass.core.digest import Digest
from spyglass.core.signatures import (
    InvalidKey,
    InvalidSignature,
    Kind,
    Status,
    decode_layer,
    decode_notation,
    verify_notation,
)
from tests.helpers import notary
from tests.helpers.cosign import (
    PrivateKey,
    certificate_der,
    certificate_pem,
    generate_key,
    make_certificate,
)
from tests.helpers.notary import b64url, jose_sign, notary_payload

JWS = "application/jose+json"
COSE = "application/cose"
PAYLOAD_TYPE = "application/vnd.cncf.notary.payload.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DIGEST = Digest.of(b"the notarized manifest")
OTHER = Digest.of(b"a different manifest")
SIGNING_TIME = 1714564800  # 2024-05-01 12:00:00 UTC


# --------------------------------------------------------------------------- building envelopes


class Tag:
    def __init__(self, tag: int, value: Any) -> None:
        self.tag, self.value = tag, value


def cbor(value: Any) -> bytes:
    """A tiny CBOR encoder written independently of the app's."""
    def head(major: int, n: int) -> bytes:
        if n < 24:
            return bytes([major << 5 | n])
        for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if n < 1 << (8 * size):
                return bytes([major << 5 | info]) + n.to_bytes(size, "big")
        raise ValueError(n)

    if value is None:
        return b"\xf6"
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return head(0, value) if value >= 0 else head(1, -1 - value)
    if isinstance(value, bytes):
        return head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode()
        return head(3, len(raw)) + raw
    if isinstance(value, list):
        return head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    if isinstance(value, Tag):
        return head(6, value.tag) + cbor(value.value)
    if isinstance(value, float):
        return b"\xfb" + struct.pack(">d", value)
    raise TypeError(value)


def target(digest: Digest = DIGEST) -> bytes:
    return notary_payload(str(digest), 1234)


def jws_envelope(key: PrivateKey, chain: list[x509.Certificate], digest: Digest = DIGEST,
                 *, alg: str = "ES256", payload: bytes | None = None,
                 protected_extra: dict[str, Any] | None = None) -> bytes:
    return notary.jws_envelope(key, chain, payload if payload is not None else target(digest),
                               alg=alg, protected_extra=protected_extra)


def cose_envelope(key: PrivateKey, chain: list[x509.Certificate], digest: Digest = DIGEST,
                  *, alg: int = -7, tag: int = 18, payload: bytes | None = None,
                  protected_extra: dict[Any, Any] | None = None) -> bytes:
    protected = cbor({
        1: alg,
        2: ["io.cncf.notary.signingScheme"],
        3: PAYLOAD_TYPE,
        "io.cncf.notary.signingScheme": "notary.x509",
        "io.cncf.notary.signingTime": Tag(1, SIGNING_TIME),
        **(protected_extra or {}),
    })
    body = payload if payload is not None else target(digest)
    signature = jose_sign(key, cbor(["Signature1", protected, b"", body]))
    unprotected = {33: [certificate_der(c) for c in chain],
                   "io.cncf.notary.signingAgent": "notation/1.0.0"}
    return cbor(Tag(tag, [protected, unprotected, body, signature]))


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    """A CA, a leaf it issued, and a self-signed signer."""
    ca_key = generate_key()
    ca = make_certificate(ca_key, common_name="Example Root CA", organization="Example",
                          ca=True)
    leaf_key = generate_key()
    leaf = make_certificate(leaf_key, common_name="Notary Test", organization="Example",
                            issuer_key=ca_key, issuer_certificate=ca)
    self_key = generate_key()
    self_signed = make_certificate(self_key, common_name="Self Signer", organization="Example")
    return {"ca": ca, "leaf_key": leaf_key, "leaf": leaf, "self_key": self_key,
            "self": self_signed}


BUILDERS: dict[str, tuple[Callable[..., bytes], str]] = {
    "jws": (jws_envelope, JWS),
    "cose": (cose_envelope, COSE),
}


# --------------------------------------------------------------------------- decoding


def test_decode_jws_envelope(pki: dict[str, Any]) -> None:
    data = jws_envelope(pki["leaf_key"], [pki["leaf"], pki["ca"]])
    decoded = decode_notation(data, JWS)
    assert decoded.kind is Kind.NOTARY_SIGNATURE
    assert decoded.claimed_digest == DIGEST
    assert decoded.names_image(DIGEST) is True
    assert decoded.field("Manifest digest") == str(DIGEST)
    assert decoded.field("Target media type") == OCI_MANIFEST
    assert decoded.field("Target size") == "1.2 KiB (1234 bytes)"
    assert decoded.field("Envelope") == "JWS (application/jose+json)"
    assert decoded.field("Signature algorithm") == "ES256"
    assert decoded.field("Signing scheme") == "notary.x509"
    assert decoded.field("Signing time") == "2024-05-01T12:00:00Z"
    assert decoded.field("Signing agent") == "notation/1.0.0"
    assert decoded.field("Certificate subject") == "CN=Notary Test,O=Example"
    assert decoded.field("Issuer") == "CN=Example Root CA,O=Example"
    assert decoded.field("Certificate chain") == "2 certificates"
    assert decoded.field("Valid from") is not None
    assert decoded.certificate is not None
    assert decoded.title == "Notary v2 signature by Notary Test"


def test_decode_cose_envelope(pki: dict[str, Any]) -> None:
    data = cose_envelope(pki["self_key"], [pki["self"]])
    decoded = decode_notation(data, COSE)
    assert decoded.field("Envelope") == "COSE_Sign1 (application/cose)"
    assert decoded.field("Signature algorithm") == "ES256"
    assert decoded.field("Signing time") == "2024-05-01 12:00:00 UTC"
    assert decoded.field("Signing scheme") == "notary.x509"
    assert decoded.field("Signing agent") == "notation/1.0.0"
    assert decoded.field("Certificate chain") == "1 certificate"
    assert decoded.claimed_digest == DIGEST


@pytest.mark.parametrize("kind", ["jws", "cose"])
def test_decode_layer_dispatches_notation(pki: dict[str, Any], kind: str) -> None:
    build, media_type = BUILDERS[kind]
    data = build(pki["self_key"], [pki["self"]])
    decoded = decode_layer(data, media_type, artifact_type="application/vnd.cncf.notary.signature")
    assert decoded.kind is Kind.NOTARY_SIGNATURE


def test_untagged_cose_sign1_is_accepted(pki: dict[str, Any]) -> None:
    data = cose_envelope(pki["self_key"], [pki["self"]])
    untagged = data[1:]  # drop the one-byte tag 18 head (0xd2)
    assert data[0] == 0xD2
    assert decode_notation(untagged, COSE).claimed_digest == DIGEST


# --------------------------------------------------------------------------- verification


@pytest.mark.parametrize("kind", ["jws", "cose"])
def test_verify_self_signed_trusted(pki: dict[str, Any], kind: str) -> None:
    build, media_type = BUILDERS[kind]
    data = build(pki["self_key"], [pki["self"]])
    result = verify_notation(data, media_type, certificate_pem(pki["self"]), DIGEST)
    assert result.status is Status.VERIFIED, result.detail
    assert result.signer == "CN=Self Signer,O=Example"


@pytest.mark.parametrize("kind", ["jws", "cose"])
@pytest.mark.parametrize("include_ca", [True, False])
def test_verify_leaf_issued_by_trusted_ca(
    pki: dict[str, Any], kind: str, include_ca: bool
) -> None:
    build, media_type = BUILDERS[kind]
    chain = [pki["leaf"], pki["ca"]] if include_ca else [pki["leaf"]]
    data = build(pki["leaf_key"], chain)
    assert verify_notation(data, media_type, certificate_pem(pki["ca"]), DIGEST).ok


@pytest.mark.parametrize("kind", ["jws", "cose"])
def test_verify_other_image_is_wrong_image(pki: dict[str, Any], kind: str) -> None:
    build, media_type = BUILDERS[kind]
    data = build(pki["self_key"], [pki["self"]], OTHER)
    result = verify_notation(data, media_type, certificate_pem(pki["self"]), DIGEST)
    assert result.status is Status.WRONG_IMAGE
    assert str(OTHER) in result.detail


@pytest.mark.parametrize("kind", ["jws", "cose"])
def test_verify_untrusted_signer_is_bad(pki: dict[str, Any], kind: str) -> None:
    build, media_type = BUILDERS[kind]
    data = build(pki["self_key"], [pki["self"]])
    result = verify_notation(data, media_type, certificate_pem(pki["ca"]), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "not one of the trusted certificates" in result.detail


@pytest.mark.parametrize("kind", ["jws", "cose"])
def test_verify_signature_by_another_key_is_bad(pki: dict[str, Any], kind: str) -> None:
    build, media_type = BUILDERS[kind]
    data = build(generate_key(), [pki["self"]])  # certificate does not match the signing key
    result = verify_notation(data, media_type, certificate_pem(pki["self"]), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "does not match" in result.detail


def test_verify_tampered_jws_payload_is_bad(pki: dict[str, Any]) -> None:
    data = json.loads(jws_envelope(pki["self_key"], [pki["self"]]))
    data["payload"] = b64url(target(OTHER))
    result = verify_notation(json.dumps(data).encode(), JWS, certificate_pem(pki["self"]), DIGEST)
    assert result.status is Status.BAD_SIGNATURE


def test_verify_tampered_cose_payload_is_bad(pki: dict[str, Any]) -> None:
    data = cose_envelope(pki["self_key"], [pki["self"]])
    tampered = data.replace(DIGEST.hex.encode(), OTHER.hex.encode())
    result = verify_notation(tampered, COSE, certificate_pem(pki["self"]), DIGEST)
    assert result.status is Status.BAD_SIGNATURE


@pytest.fixture(scope="module")
def intermediate_pki() -> dict[str, Any]:
    """root CA → intermediate CA → leaf."""
    root = generate_key()
    root_cert = make_certificate(root, common_name="Root", ca=True)
    middle = generate_key()
    middle_cert = make_certificate(middle, common_name="Intermediate", ca=True,
                                   issuer_key=root, issuer_certificate=root_cert)
    leaf = generate_key()
    leaf_cert = make_certificate(leaf, common_name="Leaf", issuer_key=middle,
                                 issuer_certificate=middle_cert)
    return {"root": root_cert, "middle": middle_cert, "leaf_key": leaf, "leaf": leaf_cert}


def test_verify_through_an_intermediate(intermediate_pki: dict[str, Any]) -> None:
    p = intermediate_pki
    data = jws_envelope(p["leaf_key"], [p["leaf"], p["middle"], p["root"]])
    assert verify_notation(data, JWS, certificate_pem(p["root"]), DIGEST).ok


def test_verify_broken_chain_is_bad(intermediate_pki: dict[str, Any]) -> None:
    """A chain whose links do not connect does not reach the trusted root through them."""
    p = intermediate_pki
    stranger = make_certificate(generate_key(), common_name="Stranger", ca=True)
    data = jws_envelope(p["leaf_key"], [p["leaf"], stranger, p["root"]])
    result = verify_notation(data, JWS, certificate_pem(p["root"]), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    # without the intermediate at all, the root is not reached either
    data = jws_envelope(p["leaf_key"], [p["leaf"]])
    assert verify_notation(data, JWS, certificate_pem(p["root"]), DIGEST).status is \
        Status.BAD_SIGNATURE


# --------------------------------------------------------------------------- path validation


@pytest.fixture(scope="module")
def end_entities() -> dict[str, Any]:
    """A CA and two end-entity signing certificates it issued, Alice and Bob."""
    ca_key = generate_key()
    ca = make_certificate(ca_key, common_name="Test CA", ca=True)
    alice_key, bob_key = generate_key(), generate_key()
    alice = make_certificate(alice_key, common_name="Alice", issuer_key=ca_key,
                             issuer_certificate=ca)
    bob = make_certificate(bob_key, common_name="Bob", issuer_key=ca_key,
                           issuer_certificate=ca)
    return {"ca_key": ca_key, "ca": ca, "alice_key": alice_key, "alice": alice,
            "bob_key": bob_key, "bob": bob}


@pytest.mark.parametrize("kind", ["jws", "cose"])
@pytest.mark.parametrize("include_ca", [True, False])
def test_a_leaf_issued_by_an_end_entity_certificate_is_not_trusted(
    end_entities: dict[str, Any], kind: str, include_ca: bool
) -> None:
    """Bob, who holds only a signing certificate from the trusted CA, cannot vouch for a
    certificate of his own making that says it is Alice's."""
    p = end_entities
    forged_key = generate_key()
    forged = make_certificate(forged_key, common_name="Alice", issuer_key=p["bob_key"],
                              issuer_certificate=p["bob"])
    build, media_type = BUILDERS[kind]
    chain = [forged, p["bob"], p["ca"]] if include_ca else [forged, p["bob"]]
    result = verify_notation(build(forged_key, chain), media_type, certificate_pem(p["ca"]),
                             DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert result.signer is None
    assert result.detail == (
        "The signature is intact, but certificate 2 of the chain (CN=Bob), which issued "
        "the signing certificate (CN=Alice), is not a CA certificate (no basicConstraints "
        "cA: true), so the certificates it signs are not vouched for."
    )
    # trusting Bob's certificate itself does not make him a CA either
    result = verify_notation(build(forged_key, [forged, p["bob"]]), media_type,
                             certificate_pem(p["bob"]), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "(CN=Bob), which issued the signing certificate" in result.detail
    # while Alice's own signature still verifies through the CA
    assert verify_notation(build(p["alice_key"], [p["alice"], p["ca"]]), media_type,
                           certificate_pem(p["ca"]), DIGEST).ok


def test_an_issuer_without_key_cert_sign_or_basic_constraints_is_refused() -> None:
    root_key = generate_key()
    root = make_certificate(root_key, common_name="Root", ca=True)
    signing_only = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=True,
        encipher_only=False, decipher_only=False)
    for middle_options, words in (
        ({"ca": True, "key_usage": signing_only}, "has a keyUsage without keyCertSign"),
        ({"without": [x509.BasicConstraints]}, "is not a CA certificate"),
    ):
        middle_key = generate_key()
        middle = make_certificate(middle_key, common_name="Middle", issuer_key=root_key,
                                  issuer_certificate=root, **middle_options)
        leaf_key = generate_key()
        leaf = make_certificate(leaf_key, common_name="Leaf", issuer_key=middle_key,
                                issuer_certificate=middle)
        result = verify_notation(jws_envelope(leaf_key, [leaf, middle, root]), JWS,
                                 certificate_pem(root), DIGEST)
        assert result.status is Status.BAD_SIGNATURE, middle_options
        assert f"certificate 2 of the chain (CN=Middle), which issued the signing " \
            f"certificate (CN=Leaf), {words}" in result.detail


@pytest.mark.parametrize(("path_length", "ok"), [(0, False), (1, True), (None, True)])
def test_the_path_length_constraint_counts_the_ca_certificates_below(
    path_length: int | None, ok: bool
) -> None:
    root_key = generate_key()
    root = make_certificate(root_key, common_name="Root", ca=True, path_length=path_length)
    middle_key = generate_key()
    middle = make_certificate(middle_key, common_name="Middle", ca=True, path_length=0,
                              issuer_key=root_key, issuer_certificate=root)
    leaf_key = generate_key()
    leaf = make_certificate(leaf_key, common_name="Leaf", issuer_key=middle_key,
                            issuer_certificate=middle)
    data = jws_envelope(leaf_key, [leaf, middle, root])
    result = verify_notation(data, JWS, certificate_pem(root), DIGEST)
    assert result.ok is ok, result.detail
    if not ok:
        assert "(CN=Root), which issued certificate 2 of the chain (CN=Middle), allows 0 CA " \
            "certificates below it (pathLenConstraint), and the chain has 1" in result.detail


NOT_FOR_SIGNING = x509.KeyUsage(
    digital_signature=False, content_commitment=True, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
    encipher_only=False, decipher_only=False)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"ca": True}, "is a CA certificate (basicConstraints cA: true)"),
        ({"key_usage": NOT_FOR_SIGNING}, "has a keyUsage without digitalSignature"),
        ({"without": [x509.KeyUsage]}, "has no keyUsage extension"),
        ({"extended_key_usage": [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
                                 x509.oid.ExtendedKeyUsageOID.CODE_SIGNING]},
         "is for TLS servers (its extendedKeyUsage), not for code signing"),
    ],
)
def test_a_signing_certificate_must_be_one_for_signing(
    end_entities: dict[str, Any], options: dict[str, Any], words: str
) -> None:
    p = end_entities
    key = generate_key()
    leaf = make_certificate(key, common_name="Carol", issuer_key=p["ca_key"],
                            issuer_certificate=p["ca"], **options)
    result = verify_notation(jws_envelope(key, [leaf, p["ca"]]), JWS,
                             certificate_pem(p["ca"]), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert result.detail.startswith(
        f"The signature is intact, but the signing certificate (CN=Carol) {words}")


def test_a_signing_certificate_for_another_purpose_besides_is_fine(
    end_entities: dict[str, Any]
) -> None:
    """The Notary Project forbids some extended key usages, and asks for none."""
    p = end_entities
    key = generate_key()
    leaf = make_certificate(key, common_name="Dave", issuer_key=p["ca_key"],
                            issuer_certificate=p["ca"],
                            extended_key_usage=[x509.ObjectIdentifier("1.3.6.1.4.1.99999.1")])
    assert verify_notation(jws_envelope(key, [leaf, p["ca"]]), JWS, certificate_pem(p["ca"]),
                           DIGEST).ok


# --------------------------------------------------------------------------- time and crit

EXPIRY = "io.cncf.notary.expiry"
SCHEME = "io.cncf.notary.signingScheme"


def _expiry(kind: str, moment: dt.datetime) -> dict[Any, Any]:
    """The protected header entries of a signature that expires at ``moment``."""
    if kind == "jws":
        return {EXPIRY: moment.strftime("%Y-%m-%dT%H:%M:%SZ"), "crit": [SCHEME, EXPIRY]}
    return {EXPIRY: Tag(1, int(moment.timestamp())), 2: [SCHEME, EXPIRY]}


@pytest.mark.parametrize("kind", ["jws", "cose"])
def test_an_expired_signature_is_not_verified(end_entities: dict[str, Any], kind: str) -> None:
    p = end_entities
    build, media_type = BUILDERS[kind]
    past = dt.datetime(2021, 1, 1, tzinfo=dt.UTC)
    data = build(p["alice_key"], [p["alice"], p["ca"]], protected_extra=_expiry(kind, past))
    result = verify_notation(data, media_type, certificate_pem(p["ca"]), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert result.detail == (
        "The signature by CN=Alice is intact and trusted, but it expired on 2021-01-01 "
        "00:00:00 UTC (its io.cncf.notary.expiry): its signer said it is not to be used "
        "after then."
    )
    # one that expires tomorrow is good today
    tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    data = build(p["alice_key"], [p["alice"], p["ca"]], protected_extra=_expiry(kind, tomorrow))
    assert verify_notation(data, media_type, certificate_pem(p["ca"]), DIGEST).ok


@pytest.mark.parametrize("kind", ["jws", "cose"])
def test_an_expired_signing_certificate_is_not_verified(
    end_entities: dict[str, Any], kind: str
) -> None:
    """The signing time in the envelope is the signer's own word: the chain must be valid
    now, even when the signature says it was made while the certificate was."""
    p = end_entities
    key = generate_key()
    expired = make_certificate(key, common_name="Expired", issuer_key=p["ca_key"],
                               issuer_certificate=p["ca"],
                               not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                               lifetime=dt.timedelta(days=1))
    build, media_type = BUILDERS[kind]
    backdated: dict[Any, Any] = (
        {"io.cncf.notary.signingTime": "2020-01-01T12:00:00Z"} if kind == "jws"
        else {"io.cncf.notary.signingTime": Tag(1, 1577880000)})
    data = build(key, [expired, p["ca"]], protected_extra=backdated)
    result = verify_notation(data, media_type, certificate_pem(p["ca"]), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert result.detail == (
        "The signature is intact, but the signing certificate (CN=Expired) expired on "
        "2020-01-02 00:00:00 UTC: without a timestamp that Spyglass checks, a Notary v2 "
        "signature is good only while its whole certificate chain is valid."
    )


def test_every_certificate_of_the_path_must_be_valid_now() -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    root_key = generate_key()
    old_root = make_certificate(root_key, common_name="Old Root", ca=True,
                                not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                                lifetime=dt.timedelta(days=30))
    leaf_key = generate_key()
    leaf = make_certificate(leaf_key, common_name="Leaf", issuer_key=root_key,
                            issuer_certificate=old_root)
    # the trusted root itself, in the chain or not
    for chain in ([leaf, old_root], [leaf]):
        result = verify_notation(jws_envelope(leaf_key, chain), JWS, certificate_pem(old_root),
                                 DIGEST)
        assert result.status is Status.BAD_SIGNATURE
        assert "but the trusted certificate (CN=Old Root) expired on 2020-01-31 00:00:00 UTC" \
            in result.detail
    # an intermediate
    new_root = make_certificate(root_key, common_name="New Root", ca=True)
    middle_key = generate_key()
    old_middle = make_certificate(middle_key, common_name="Old Middle", ca=True,
                                  issuer_key=root_key, issuer_certificate=new_root,
                                  not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    leaf = make_certificate(leaf_key, common_name="Leaf", issuer_key=middle_key,
                            issuer_certificate=old_middle)
    result = verify_notation(jws_envelope(leaf_key, [leaf, old_middle, new_root]), JWS,
                             certificate_pem(new_root), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "but certificate 2 of the chain (CN=Old Middle) expired on 2020-01-01 00:10:00 UTC" \
        in result.detail
    # a certificate not valid yet
    early = make_certificate(leaf_key, common_name="Early", issuer_key=root_key,
                             issuer_certificate=old_root, not_before=later.replace(microsecond=0))
    result = verify_notation(jws_envelope(leaf_key, [early]), JWS, certificate_pem(early),
                             DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "but the signing certificate (CN=Early) is not valid until " in result.detail


@pytest.mark.parametrize("kind", ["jws", "cose"])
def test_an_unknown_critical_header_is_not_verified(
    end_entities: dict[str, Any], kind: str
) -> None:
    p = end_entities
    build, media_type = BUILDERS[kind]
    name = "com.example.mustunderstand"
    extra: dict[Any, Any] = {name: "x", ("crit" if kind == "jws" else 2): [SCHEME, name]}
    data = build(p["alice_key"], [p["alice"], p["ca"]], protected_extra=extra)
    result = verify_notation(data, media_type, certificate_pem(p["ca"]), DIGEST)
    assert result.status is Status.UNSUPPORTED
    assert result.detail == (
        'Not verified: the signature marks "com.example.mustunderstand" critical (crit), which '
        "Spyglass does not know; the Notary Project has a verifier refuse a signature with a "
        "critical header it does not understand."
    )
    plugin = {"io.cncf.notary.verificationPlugin": "com.example.nv2plugin",
              ("crit" if kind == "jws" else 2): [SCHEME, "io.cncf.notary.verificationPlugin"]}
    data = build(p["alice_key"], [p["alice"], p["ca"]], protected_extra=plugin)
    result = verify_notation(data, media_type, certificate_pem(p["ca"]), DIGEST)
    assert result.status is Status.UNSUPPORTED
    assert 'verification plugin "com.example.nv2plugin"' in result.detail
    assert "Spyglass runs no plugins" in result.detail


def test_a_critical_cose_label_is_not_understood(end_entities: dict[str, Any]) -> None:
    p = end_entities
    data = cose_envelope(p["alice_key"], [p["alice"], p["ca"]],
                         protected_extra={2: [SCHEME, 258], 258: -16})
    result = verify_notation(data, COSE, certificate_pem(p["ca"]), DIGEST)
    assert result.status is Status.UNSUPPORTED
    assert '"258" critical' in result.detail


@pytest.mark.parametrize(
    ("extra", "status", "words"),
    [
        ({EXPIRY: "next tuesday"}, Status.BAD_SIGNATURE,
         "cannot be checked: its io.cncf.notary.expiry is not an RFC 3339 time: next tuesday."),
        ({EXPIRY: "2030-01-01T00:00:00"}, Status.BAD_SIGNATURE, "not an RFC 3339 time"),
        ({"crit": "io.cncf.notary.signingScheme"}, Status.BAD_SIGNATURE,
         "crit is not a list of header names"),
        ({SCHEME: None}, Status.BAD_SIGNATURE, "has no io.cncf.notary.signingScheme"),
        ({SCHEME: "notary.pgp"}, Status.UNSUPPORTED,
         'uses the signing scheme "notary.pgp", which Spyglass does not know'),
        ({SCHEME: "notary.x509.signingAuthority"}, Status.BAD_SIGNATURE,
         "has no io.cncf.notary.authenticSigningTime"),
    ],
)
def test_signed_headers_that_cannot_be_used_are_not_verified(
    end_entities: dict[str, Any], extra: dict[str, Any], status: Status, words: str
) -> None:
    p = end_entities
    data = jws_envelope(p["alice_key"], [p["alice"], p["ca"]], protected_extra=extra)
    result = verify_notation(data, JWS, certificate_pem(p["ca"]), DIGEST)
    assert result.status is status
    assert words in result.detail


def test_a_signing_authority_signature_is_checked_at_its_authentic_time(
    end_entities: dict[str, Any]
) -> None:
    p = end_entities
    scheme = {SCHEME: "notary.x509.signingAuthority",
              "crit": [SCHEME, "io.cncf.notary.authenticSigningTime"]}
    within = p["alice"].not_valid_before_utc + dt.timedelta(seconds=30)
    data = jws_envelope(p["alice_key"], [p["alice"], p["ca"]], protected_extra={
        **scheme, "io.cncf.notary.authenticSigningTime": within.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert verify_notation(data, JWS, certificate_pem(p["ca"]), DIGEST).ok
    data = jws_envelope(p["alice_key"], [p["alice"], p["ca"]], protected_extra={
        **scheme, "io.cncf.notary.authenticSigningTime": "2020-06-01T00:00:00Z"})
    result = verify_notation(data, JWS, certificate_pem(p["ca"]), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "but the signing certificate (CN=Alice) was not valid at its authentic signing " \
        "time (2020-06-01 00:00:00 UTC)" in result.detail


def test_verify_rsa_ps256_jws() -> None:
    key = generate_key("rsa")
    cert = make_certificate(key, common_name="RSA Signer")
    data = jws_envelope(key, [cert], alg="PS256")
    assert verify_notation(data, JWS, certificate_pem(cert), DIGEST).ok


def test_verify_p384_cose() -> None:
    key = generate_key("ecdsa-p384")
    cert = make_certificate(key, common_name="P-384 Signer")
    data = cose_envelope(key, [cert], alg=-35)
    assert decode_notation(data, COSE).field("Signature algorithm") == "ES384"
    assert verify_notation(data, COSE, certificate_pem(cert), DIGEST).ok


def test_without_trusted_certificates_is_not_checked(pki: dict[str, Any]) -> None:
    data = jws_envelope(pki["self_key"], [pki["self"]])
    result = verify_notation(data, JWS, None, DIGEST)
    assert result.status is Status.NOT_CHECKED
    assert "trust store" in result.detail


def test_unreadable_trusted_certificate_raises(pki: dict[str, Any]) -> None:
    data = jws_envelope(pki["self_key"], [pki["self"]])
    with pytest.raises(InvalidKey):
        verify_notation(data, JWS, b"not a certificate", DIGEST)


def test_malformed_envelope_is_bad_signature(pki: dict[str, Any]) -> None:
    result = verify_notation(b"{}", JWS, certificate_pem(pki["self"]), DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "cannot be checked" in result.detail


# --------------------------------------------------------------------------- malformed input


def _jws_without_x5c(pki: dict[str, Any]) -> bytes:
    data = json.loads(jws_envelope(pki["self_key"], [pki["self"]]))
    del data["header"]["x5c"]
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("make", "media_type", "words"),
    [
        (lambda p: b"[]", JWS, "not an object"),
        (lambda p: b'{"payload": "e30", "signature": "AA"}', JWS, '"protected"'),
        (_jws_without_x5c, JWS, "x5c"),
        (lambda p: jws_envelope(p["self_key"], [p["self"]], payload=b"{}"), JWS,
         '"targetArtifact"'),
        (lambda p: jws_envelope(p["self_key"], [p["self"]],
                                protected_extra={"cty": "text/plain"}), JWS, "text/plain"),
        (lambda p: cose_envelope(p["self_key"], [p["self"]], tag=98), COSE, "tag 98"),
        (lambda p: cbor([1, 2]), COSE, "not a COSE_Sign1 structure"),
        (lambda p: cbor(Tag(18, [b"", {}, None, b""])), COSE, "wrong type"),
        (lambda p: cbor(Tag(18, [b"", {}, target(), b""])), COSE, "x5chain"),
        (lambda p: cbor(Tag(18, [b"", {33: [b"junk"]}, target(), b""])), COSE,
         "not a readable X.509 certificate"),
        (lambda p: b"\xd2\x84", COSE, "not valid CBOR"),
        (lambda p: b"{}", "application/json", "not a Notary v2 envelope type"),
    ],
)
def test_malformed_envelopes_raise_sentences(
    pki: dict[str, Any], make: Any, media_type: str, words: str
) -> None:
    with pytest.raises(InvalidSignature) as info:
        decode_notation(make(pki), media_type)
    assert words in str(info.value)
