"""X.509 certificates and public keys: reading them, and what a person checks in them.

Fulcio (the Sigstore CA) writes the OIDC issuer that vouched for the signer
into the certificate: extension 1.3.6.1.4.1.57264.1.1 holds the bare string
(deprecated), 1.3.6.1.4.1.57264.1.8 holds it as a DER UTF8String.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final, TypeAlias

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x448, x25519
from cryptography.x509.oid import ExtensionOID

from spyglass.core.signatures.model import (
    CertificateInfo,
    InvalidKey,
    InvalidSignature,
    format_time,
)
from spyglass.core.signatures.openpgp import openpgp_key_kind

FULCIO_ISSUER_V1: Final = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
FULCIO_ISSUER_V2: Final = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")

PublicKey: TypeAlias = (
    ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
    | ed448.Ed448PublicKey
)
"""The public key types that can verify a signature (not DSA: no signature format read
here uses it, and cryptography deprecates it, warning on every run that touches it)."""

_PEM_BLOCK = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]+)-----\s.*?-----END \1-----", re.DOTALL
)


def parse_certificate(data: bytes | str, *, what: str = "the certificate") -> x509.Certificate:
    """Read one certificate from PEM or DER bytes; raise InvalidSignature naming ``what``."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(raw.strip() + b"\n")
        return x509.load_der_x509_certificate(raw)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InvalidSignature(
            f"{what[:1].upper()}{what[1:]} is not a readable X.509 certificate (PEM or DER): "
            f"{exc}"
        ) from exc


def parse_certificate_chain(
    data: bytes | str, *, what: str = "the certificate chain"
) -> tuple[x509.Certificate, ...]:
    """Read every certificate of a PEM bundle, in order."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    blocks = [m.group(0) for m in _PEM_BLOCK.finditer(raw) if m.group(1) == b"CERTIFICATE"]
    if not blocks:
        raise InvalidSignature(
            f"{what[:1].upper()}{what[1:]} holds no PEM certificate "
            '("-----BEGIN CERTIFICATE-----").'
        )
    return tuple(parse_certificate(block, what=what) for block in blocks)


def describe_certificate(certificate: x509.Certificate) -> CertificateInfo:
    """The subject, issuer, SANs, Fulcio OIDC issuer and validity of ``certificate``."""
    emails: tuple[str, ...] = ()
    uris: tuple[str, ...] = ()
    try:
        san = certificate.extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME
        ).value
    except x509.ExtensionNotFound:
        pass
    except ValueError:  # a malformed extension: show the rest of the certificate
        pass
    else:
        assert isinstance(san, x509.SubjectAlternativeName)
        emails = tuple(san.get_values_for_type(x509.RFC822Name))
        uris = tuple(san.get_values_for_type(x509.UniformResourceIdentifier))
    return CertificateInfo(
        subject=_name(certificate, "subject"),
        issuer=_name(certificate, "issuer"),
        serial=format(certificate.serial_number, "x"),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        emails=emails,
        uris=uris,
        oidc_issuer=fulcio_oidc_issuer(certificate),
        fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
    )


def fulcio_oidc_issuer(certificate: x509.Certificate) -> str | None:
    """The OIDC issuer Fulcio recorded, preferring the DER-encoded v2 extension."""
    try:
        extensions = list(certificate.extensions)
    except ValueError:
        return None
    values = {ext.oid: ext.value for ext in extensions}
    v2 = values.get(FULCIO_ISSUER_V2)
    if isinstance(v2, x509.UnrecognizedExtension):
        text = _der_utf8_string(v2.value)
        if text is not None:
            return text
    v1 = values.get(FULCIO_ISSUER_V1)
    if isinstance(v1, x509.UnrecognizedExtension):
        try:
            return v1.value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return None


def load_public_key(data: bytes | str, *, what: str = "the key given") -> PublicKey:
    """Read a PEM (or DER) public key, or the public key of a PEM certificate.

    Raises :class:`InvalidKey` with a sentence when ``data`` is neither, or
    holds a key that cannot sign (X25519, X448).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    stripped = raw.strip()
    label = what[:1].upper() + what[1:]
    if not stripped:
        raise InvalidKey(f"{label} is empty; expected a PEM public key (cosign.pub).")
    if b"-----BEGIN CERTIFICATE-----" in stripped:
        try:
            key: object = parse_certificate_chain(stripped, what=what)[0].public_key()
        except InvalidSignature as exc:
            raise InvalidKey(str(exc)) from exc
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise InvalidKey(f"The key in {what} cannot be used: {exc}.") from exc
    else:
        if b"PRIVATE KEY-----" in stripped:
            raise InvalidKey(
                f"{label} is a private key; give the public key instead (cosign.pub, "
                "not cosign.key)."
            )
        openpgp = openpgp_key_kind(raw)
        if openpgp is not None:
            raise _openpgp_key(label, openpgp)
        try:
            if stripped.startswith(b"-----BEGIN"):
                key = serialization.load_pem_public_key(stripped + b"\n")
            else:
                key = serialization.load_der_public_key(raw)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise InvalidKey(
                f"{label} is not a public key: expected a PEM public key "
                '("-----BEGIN PUBLIC KEY-----", as cosign.pub) or a certificate.'
            ) from exc
    if isinstance(key, x25519.X25519PublicKey | x448.X448PublicKey):
        raise InvalidKey(f"{label} is a key-agreement key ({type(key).__name__}), not a "
                         "signing key.")
    if not isinstance(
        key,
        ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
        | ed448.Ed448PublicKey,
    ):
        raise InvalidKey(f"{label} has a key type we cannot verify with ({type(key).__name__}).")
    return key


def certificate_key_note(data: bytes | str, now: datetime | None = None) -> str | None:
    """For a key given as a PEM certificate (:func:`load_public_key` takes its key and
    nothing else): the sentence a good signature's verdict adds, saying so: whether the
    certificate's validity covers ``now`` (by default the present), which is not
    checked, and that its issuer is not checked. None for a bare public key."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if b"-----BEGIN CERTIFICATE-----" not in raw:
        return None
    try:
        info = describe_certificate(parse_certificate_chain(raw)[0])
    except InvalidSignature:
        return None
    moment = now or datetime.now(UTC)
    who = info.subject or "no subject"
    if moment > info.not_after:
        when = f"which expired on {format_time(info.not_after)}"
    elif moment < info.not_before:
        when = f"which is valid only from {format_time(info.not_before)}"
    else:
        return (f"The key is that of the certificate given ({who}, valid until "
                f"{format_time(info.not_after)}); the certificate's issuer is not checked.")
    return (f"The key is that of the certificate given ({who}), {when}: its key was used "
            "all the same, since the certificate's validity and issuer are not checked.")


def _openpgp_key(label: str, kind: str) -> InvalidKey:
    """The refusal of an OpenPGP (GPG) key given where a PEM key or certificate belongs:
    such a key checks simple signing signatures only, as a keyring (on the command line,
    ``--keyring``; a private one exported first)."""
    what = "an OpenPGP (GPG) key" if kind == "public" else "an OpenPGP (GPG) private key"
    export = "" if kind == "public" else "export its public key (gpg --export) and "
    return InvalidKey(
        f"{label} is {what}, which checks simple signing signatures only (as a keyring); "
        "choose a PEM public key (cosign.pub) or a certificate for this signature.",
        on_command_line=f"{label} is {what}, not a PEM public key or certificate: "
        f"{export}give it with --keyring, which checks simple signing signatures.",
    )


def key_description(key: PublicKey) -> str:
    """``ECDSA P-256``, ``RSA 2048``, ``Ed25519``, …"""
    if isinstance(key, ec.EllipticCurvePublicKey):
        curves = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        return f"ECDSA {curves.get(key.curve.name, key.curve.name)}"
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA {key.key_size}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    return "Ed448"


def _name(certificate: x509.Certificate, which: str) -> str:
    try:
        name = certificate.subject if which == "subject" else certificate.issuer
        return name.rfc4514_string()
    except ValueError:
        return "(unreadable)"


def _der_utf8_string(data: bytes) -> str | None:
    """Decode a DER UTF8String (tag 0x0C), or None if ``data`` is not one."""
    if len(data) < 2 or data[0] != 0x0C:
        return None
    length = data[1]
    offset = 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count:
            return None
        length = int.from_bytes(data[2 : 2 + count], "big")
        offset = 2 + count
    if offset + length != len(data):
        return None
    try:
        return data[offset:].decode("utf-8")
    except UnicodeDecodeError:
        return None
