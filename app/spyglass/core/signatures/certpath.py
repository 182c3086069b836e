"""Whether a signing certificate chain leads to a trusted certificate: path validation.

This is RFC 5280 path validation cut down to what a signature check with a few
trusted certificates needs, with the Notary Project's certificate requirements
(signature specification, "Certificate Requirements"):

- every certificate that issues another (the next one of the chain, or a trusted
  certificate) is a CA: ``basicConstraints`` with ``cA: true``, a
  ``pathLenConstraint`` (when it has one) that leaves room for the CA certificates
  below it, and ``keyCertSign`` when it has a ``keyUsage`` extension;
- the signing (leaf) certificate is not a CA, has a ``keyUsage`` extension with
  ``digitalSignature`` and none of the certificate, CRL or encryption usages, and its
  ``extendedKeyUsage``, when it has one, names none of the purposes the Notary Project
  forbids (``anyExtendedKeyUsage``, ``serverAuth``, ``clientAuth``,
  ``emailProtection``, ``timeStamping``, ``OCSPSigning``).

:meth:`TrustPath.invalid_at` then says whether every certificate of the path is
valid at a time: which time is the caller's to choose.

A certificate signed with SHA-1, which the Notary Project refuses, is issued by
nothing here: ``cryptography`` verifies no such signature.

``cryptography.x509.verification`` validates the Web PKI profile, not this one (its
end-entity rules are for TLS, and a refusal says only that no path was found), so
the extensions are read here by hand. Other extensions are not looked at (the
Notary Project "fails open" on them); revocation is not checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID

_ExtensionT = TypeVar("_ExtensionT", bound=x509.ExtensionType)

FORBIDDEN_SIGNING_PURPOSES: Final = {
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "any purpose",
    ExtendedKeyUsageOID.SERVER_AUTH: "TLS servers",
    ExtendedKeyUsageOID.CLIENT_AUTH: "TLS clients",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "e-mail",
    ExtendedKeyUsageOID.TIME_STAMPING: "time stamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSP responses",
}
"""Extended key usages a signing certificate must not have, as the Notary Project says
(and notation, which adds OCSP signing), with how a sentence names them."""


@dataclass(frozen=True)
class TrustPath:
    """A chain that leads to a trusted certificate: the signing certificate first, then
    each issuer, ending with the trusted certificate (which may be the signing one)."""

    certificates: tuple[x509.Certificate, ...]
    from_chain: int
    """How many of :attr:`certificates` come from the chain (the rest, one at most, is
    the trusted certificate that issued the last of them)."""

    def invalid_at(self, moment: datetime) -> tuple[str, x509.Certificate] | None:
        """The first certificate of the path not valid at ``moment`` (timezone-aware), with
        how a sentence names it (``"the signing certificate (CN=Alice)"``), or None."""
        for index, cert in enumerate(self.certificates):
            if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
                who = _which(index, cert) if index < self.from_chain \
                    else f"the trusted certificate ({_name(cert)})"
                return who, cert
        return None


class _Refused(Exception):
    """A certificate of the chain cannot be what the path needs; the reason, as a clause."""


def find_path(
    chain: Sequence[x509.Certificate], trusted: Sequence[x509.Certificate]
) -> TrustPath | str:
    """The path from ``chain[0]`` (the signing certificate, then its issuers in order) to
    one of ``trusted``, or why there is none, as a clause (``"certificate 2 of the chain
    (CN=Bob), which issued …, is not a CA certificate"``) to follow "but".

    The path ends at the first certificate of the chain that is a trusted one, or at a
    trusted certificate that issued one of the chain. Each certificate's issuer must
    be the next of the chain (or a trusted certificate) and a CA that may issue it.
    """
    if not chain:
        return "it has no certificate"
    try:
        _check_signing_certificate(chain[0])
        anchors = {cert.fingerprint(hashes.SHA256()) for cert in trusted}
        for index, cert in enumerate(chain):
            if cert.fingerprint(hashes.SHA256()) in anchors:
                return TrustPath(tuple(chain[: index + 1]), index + 1)
            refusal: _Refused | None = None
            for anchor in trusted:
                if not _issued_by(cert, anchor):
                    continue
                try:
                    _check_issuer(anchor, index, cert, "the trusted certificate")
                except _Refused as exc:
                    refusal = refusal or exc
                    continue
                return TrustPath((*chain[: index + 1], anchor), index + 1)
            if index + 1 == len(chain):
                if refusal is not None:
                    raise refusal
                return (
                    f"its certificate ({_name(chain[0])}) is not one of the trusted "
                    "certificates given, nor issued by one"
                )
            issuer = chain[index + 1]
            if not _issued_by(cert, issuer):
                return (
                    f"{_which(index, cert)} was not issued by the next certificate of the "
                    f"chain ({_name(issuer)}): the chain is broken"
                )
            _check_issuer(issuer, index, cert, f"certificate {index + 2} of the chain")
    except _Refused as exc:
        return str(exc)
    raise AssertionError("unreachable: the last certificate of the chain returns")


def _check_signing_certificate(cert: x509.Certificate) -> None:
    who = f"the signing certificate ({_name(cert)})"
    constraints = _extension(cert, x509.BasicConstraints, who)
    if constraints is not None and constraints.ca:
        raise _Refused(
            f"{who} is a CA certificate (basicConstraints cA: true), and a signature must "
            "be made with an end-entity certificate"
        )
    usage = _extension(cert, x509.KeyUsage, who)
    if usage is None or not usage.digital_signature:
        what = "has no keyUsage extension" if usage is None \
            else "has a keyUsage without digitalSignature"
        raise _Refused(f"{who} {what}: it is not for making signatures")
    extra = [name for name, allowed in (
        ("keyCertSign", usage.key_cert_sign), ("cRLSign", usage.crl_sign),
        ("keyEncipherment", usage.key_encipherment),
        ("dataEncipherment", usage.data_encipherment), ("keyAgreement", usage.key_agreement),
    ) if allowed]
    if extra:
        raise _Refused(
            f"{who} also allows {', '.join(extra)} in its keyUsage, which a signing "
            "certificate must not"
        )
    purposes = _extension(cert, x509.ExtendedKeyUsage, who)
    forbidden = [FORBIDDEN_SIGNING_PURPOSES[oid] for oid in purposes or ()
                 if oid in FORBIDDEN_SIGNING_PURPOSES]
    if forbidden:
        raise _Refused(
            f"{who} is for {', '.join(forbidden)} (its extendedKeyUsage), not for code signing"
        )


def _check_issuer(
    issuer: x509.Certificate, index: int, cert: x509.Certificate, role: str
) -> None:
    """``issuer`` signed ``cert``, the certificate at ``index`` of the chain: may it?"""
    who = f"{role} ({_name(issuer)}), which issued {_which(index, cert)},"
    constraints = _extension(issuer, x509.BasicConstraints, who)
    if constraints is None or not constraints.ca:
        raise _Refused(
            f"{who} is not a CA certificate (no basicConstraints cA: true), so the "
            "certificates it signs are not vouched for"
        )
    # the CA certificates between it and the signing certificate: index (the leaf is 0)
    if constraints.path_length is not None and constraints.path_length < index:
        raise _Refused(
            f"{who} allows {constraints.path_length} CA certificate"
            f"{'' if constraints.path_length == 1 else 's'} below it (pathLenConstraint), "
            f"and the chain has {index}"
        )
    usage = _extension(issuer, x509.KeyUsage, who)
    if usage is not None and not usage.key_cert_sign:
        raise _Refused(f"{who} has a keyUsage without keyCertSign: it may not sign certificates")


def _extension(
    cert: x509.Certificate, kind: type[_ExtensionT], who: str
) -> _ExtensionT | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    except (ValueError, x509.DuplicateExtension) as exc:
        raise _Refused(f"{who} has extensions that cannot be read ({exc})") from exc


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, CryptoInvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _which(index: int, cert: x509.Certificate) -> str:
    if index == 0:
        return f"the signing certificate ({_name(cert)})"
    return f"certificate {index + 1} of the chain ({_name(cert)})"


def _name(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string() or "an empty subject"
    except ValueError:
        return "an unreadable subject"
