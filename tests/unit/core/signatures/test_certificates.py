"""Certificates (Fulcio extensions, SANs, validity) and public keys."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import x25519

from spyglass.core.signatures import (
    InvalidKey,
    InvalidSignature,
    describe_certificate,
    load_public_key,
    parse_certificate,
    parse_certificate_chain,
)
from spyglass.core.signatures.certificates import key_description
from tests.helpers.cosign import (
    certificate_der,
    certificate_pem,
    fulcio_like_certificate,
    generate_key,
    make_certificate,
    public_key_pem,
)
from tests.helpers.pgp import ThrowawayGpg

START = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def test_fulcio_like_certificate_fields() -> None:
    key = generate_key()
    cert = make_certificate(
        key, emails=["dev@example.com"], uris=["https://example.com/ci"],
        oidc_issuer="https://accounts.google.com", not_before=START,
        lifetime=dt.timedelta(minutes=10),
    )
    info = describe_certificate(parse_certificate(certificate_pem(cert)))
    assert info.emails == ("dev@example.com",)
    assert info.uris == ("https://example.com/ci",)
    assert info.identity == "dev@example.com"
    assert info.oidc_issuer == "https://accounts.google.com"
    assert info.not_before == START
    assert info.not_after == START + dt.timedelta(minutes=10)
    assert info.valid_at(START + dt.timedelta(minutes=5))
    assert not info.valid_at(START + dt.timedelta(minutes=11))
    assert info.subject == ""
    assert len(info.fingerprint_sha256) == 64
    fields = dict(info.fields())
    assert fields["Valid from"] == "2024-05-01 12:00:00 UTC"
    assert fields["Valid until"] == "2024-05-01 12:10:00 UTC"
    assert fields["OIDC issuer"] == "https://accounts.google.com"
    assert fields["Certificate subject"] == "(empty)"


def test_oidc_issuer_from_the_old_raw_extension_only() -> None:
    key = generate_key()
    cert = make_certificate(key, emails=["a@example.com"], oidc_issuer="https://old.example")
    # make_certificate writes both; build one with only v1 by hand
    v1_only = (
        x509.CertificateBuilder()
        .subject_name(cert.subject).issuer_name(cert.issuer)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(START).not_valid_after(START + dt.timedelta(days=1))
        .add_extension(x509.UnrecognizedExtension(
            x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1"), b"https://old.example"),
            critical=False)
        .sign(key, hashes.SHA256())
    )
    assert describe_certificate(v1_only).oidc_issuer == "https://old.example"


def test_oidc_issuer_v2_is_preferred_and_long_values_decode() -> None:
    key = generate_key()
    issuer = "https://" + "x" * 200 + ".example"
    cert = make_certificate(key, uris=["https://ci"], oidc_issuer=issuer, oidc_issuer_v1=False)
    assert describe_certificate(cert).oidc_issuer == issuer


def test_certificate_with_names() -> None:
    key = generate_key()
    ca = make_certificate(key, common_name="Example CA", organization="Example", ca=True)
    info = describe_certificate(ca)
    assert info.subject == "CN=Example CA,O=Example"
    assert info.issuer == info.subject
    assert info.identity is None
    assert info.oidc_issuer is None


def test_der_and_pem_both_parse() -> None:
    cert = make_certificate(generate_key(), common_name="x")
    assert parse_certificate(certificate_der(cert)) == cert
    assert parse_certificate(certificate_pem(cert).decode()) == cert


def test_chain_keeps_order() -> None:
    a = make_certificate(generate_key(), common_name="a")
    b = make_certificate(generate_key(), common_name="b")
    assert parse_certificate_chain(certificate_pem(a, b)) == (a, b)


@pytest.mark.parametrize("data", [b"", b"junk", b"-----BEGIN CERTIFICATE-----\nAA==\n"
                                  b"-----END CERTIFICATE-----\n"])
def test_unreadable_certificate_raises_a_sentence(data: bytes) -> None:
    with pytest.raises(InvalidSignature, match=r"not a readable X\.509 certificate"):
        parse_certificate(data)


def test_chain_without_certificates_raises() -> None:
    with pytest.raises(InvalidSignature, match="holds no PEM certificate"):
        parse_certificate_chain(b"hello")


@pytest.mark.parametrize(("kind", "text"), [("ecdsa-p256", "ECDSA P-256"),
                                            ("ecdsa-p384", "ECDSA P-384"),
                                            ("rsa", "RSA 2048"), ("ed25519", "Ed25519")])
def test_load_public_key_kinds(kind: str, text: str) -> None:
    key = generate_key(kind)
    assert key_description(load_public_key(public_key_pem(key))) == text


def test_load_public_key_from_der_and_certificate() -> None:
    key = generate_key()
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    assert key_description(load_public_key(der)) == "ECDSA P-256"
    assert key_description(load_public_key(fulcio_like_certificate(key))) == "ECDSA P-256"


def test_key_agreement_key_is_refused() -> None:
    pem = x25519.X25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(InvalidKey, match="key-agreement"):
        load_public_key(pem)


def test_broken_certificate_as_key_raises_invalid_key() -> None:
    with pytest.raises(InvalidKey):
        load_public_key(b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")


@pytest.mark.parametrize("armor", [False, True])
def test_an_openpgp_key_given_as_the_key_is_said_to_be_one(
    gpg_key: ThrowawayGpg, tmp_path: Path, armor: bool
) -> None:
    """``gpg --export`` (binary or --armor) given where a PEM key belongs was 'not a public
    key', which it is: a GPG one, for simple signing signatures (--keyring)."""
    exported = gpg_key.export_public(tmp_path / "gpg.pub", armor=armor).read_bytes()
    with pytest.raises(InvalidKey) as refused:
        load_public_key(exported, what='the key file "gpg.pub"')
    assert str(refused.value) == (
        'The key file "gpg.pub" is an OpenPGP (GPG) key, which checks simple signing '
        "signatures only (as a keyring); choose a PEM public key (cosign.pub) or a "
        "certificate for this signature.")
    assert refused.value.on_command_line == (
        'The key file "gpg.pub" is an OpenPGP (GPG) key, not a PEM public key or '
        "certificate: give it with --keyring, which checks simple signing signatures.")


@pytest.mark.parametrize("exported", [
    b"\x95\x01\xd8\x04", b"\xc5\x01\x04",  # a secret key packet, old and new format
    b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQ==\n-----END PGP PRIVATE KEY BLOCK-----\n",
])
def test_an_openpgp_private_key_is_said_to_be_one(exported: bytes) -> None:
    with pytest.raises(InvalidKey) as refused:
        load_public_key(exported, what='the key file "secret.gpg"')
    assert refused.value.on_command_line == (
        'The key file "secret.gpg" is an OpenPGP (GPG) private key, not a PEM public key or '
        "certificate: export its public key (gpg --export) and give it with --keyring, "
        "which checks simple signing signatures.")
