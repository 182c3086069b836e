"""What a decoded signature, attestation or SBOM looks like, and what checking it found.

Everything here is an immutable value: :class:`Decoded` is the view of one
attached thing a person reads (a title and label/value pairs) plus the few
facts code acts on (the digest the payload names, the signing certificate);
:class:`Verification` is the outcome of checking one signature, with a
sentence for people.

The two errors of this package extend the one tree of
:mod:`spyglass.core.errors`::

    SpyglassError
    ├── InvalidSignature   bytes that are not the signature/attestation/SBOM they claim to be
    └── InvalidKey         a public key or keyring a person gave that cannot be read
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from spyglass.core.digest import Digest
from spyglass.core.errors import SpyglassError


class InvalidSignature(SpyglassError):
    """Bytes that are not a well-formed signature, attestation, envelope or SBOM."""


class InvalidKey(SpyglassError):
    """A public key, certificate or keyring given to verify with cannot be read."""


class Kind(enum.StrEnum):
    """What an attached thing is; the value is how people call it."""

    COSIGN_SIGNATURE = "cosign signature"
    ATTESTATION = "attestation"
    SBOM = "SBOM"
    NOTARY_SIGNATURE = "Notary v2 signature"
    SIMPLE_SIGNING = "simple signing signature"
    SIGNATURE = "signature"
    """Another tool's signature (an artifact type that says so: a PGP one, say)."""
    OTHER = "other"


class Status(enum.StrEnum):
    """The outcome of checking one signature."""

    VERIFIED = "verified"
    """The signature is good for the key given and names the image checked."""
    BAD_SIGNATURE = "bad signature"
    """The signature does not match the payload for the key given (or no key matched)."""
    WRONG_IMAGE = "wrong image"
    """The signature is good, but the payload names another image (or none)."""
    UNSUPPORTED = "unsupported"
    """The signature or key uses something we cannot check (algorithm, missing tool)."""
    NOT_CHECKED = "not checked"
    """Nothing was checked: no key was given, or checking needs a trust root we lack."""


@dataclass(frozen=True)
class Verification:
    """The result of checking one signature.

    ``detail`` is a complete sentence for people. ``signer`` names the key that
    made a good signature when the check can tell (a GPG fingerprint, say).
    """

    status: Status
    detail: str
    signer: str | None = None
    signed_reference: str | None = None
    """For a good simple signing signature (GPG or cosign), the image reference it names
    (``critical.identity.docker-reference``), for :func:`verify_part` to compare."""
    vouched: bool = False
    """True when the key given did not make the signature but vouches for ``signer``, who
    did: a CA (or other trusted) certificate that a Notary v2 signing certificate chains to."""

    @property
    def ok(self) -> bool:
        """True only for :attr:`Status.VERIFIED`."""
        return self.status is Status.VERIFIED


@dataclass(frozen=True)
class CertificateInfo:
    """The parts of an X.509 certificate a person checks.

    ``oidc_issuer`` is the Fulcio OIDC issuer extension
    (1.3.6.1.4.1.57264.1.8, or the older 1.3.6.1.4.1.57264.1.1) when present.
    Times are timezone-aware UTC.
    """

    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    emails: tuple[str, ...] = ()
    uris: tuple[str, ...] = ()
    oidc_issuer: str | None = None
    fingerprint_sha256: str = ""

    @property
    def identity(self) -> str | None:
        """The first e-mail or URI subject alternative name: who Fulcio says signed."""
        if self.emails:
            return self.emails[0]
        if self.uris:
            return self.uris[0]
        return None

    def valid_at(self, moment: datetime) -> bool:
        """True when ``moment`` (timezone-aware) lies within the validity period."""
        return self.not_before <= moment <= self.not_after

    def fields(self) -> tuple[tuple[str, str], ...]:
        """Label/value pairs describing the certificate, in reading order."""
        rows: list[tuple[str, str]] = [("Certificate subject", self.subject or "(empty)")]
        if self.emails:
            rows.append(("Certificate e-mail", ", ".join(self.emails)))
        if self.uris:
            rows.append(("Certificate URI", ", ".join(self.uris)))
        rows.append(("Issuer", self.issuer or "(empty)"))
        if self.oidc_issuer:
            rows.append(("OIDC issuer", self.oidc_issuer))
        rows.append(("Valid from", _when(self.not_before)))
        rows.append(("Valid until", _when(self.not_after)))
        return tuple(rows)


@dataclass(frozen=True)
class KeylessIdentity:
    """Who a keyless (Fulcio) signature claims to come from; unverified."""

    subject: str
    """The certificate's e-mail or URI subject alternative name."""
    oidc_issuer: str | None
    """The OIDC provider that vouched for ``subject`` (Fulcio extension)."""


@dataclass(frozen=True)
class Decoded:
    """The decoded, unverified view of one signature, attestation, SBOM or other blob.

    ``fields`` are label/value pairs for people, in reading order.
    ``claimed_digest`` is the manifest digest a signature payload names;
    ``subject_digests`` are the digests an attestation's in-toto subjects name.
    Nothing here has been checked cryptographically: see the ``verify_*``
    functions for that.
    """

    kind: Kind
    title: str
    media_type: str
    size: int
    fields: tuple[tuple[str, str], ...] = ()
    claimed_digest: Digest | None = None
    claimed_reference: str | None = None
    subject_digests: tuple[Digest, ...] = ()
    key_id: str | None = None
    identity: KeylessIdentity | None = None
    certificate: CertificateInfo | None = None

    def names_image(self, digest: Digest) -> bool | None:
        """Whether the payload names the manifest ``digest``.

        True or False for a payload that names a digest (signature) or
        subjects (attestation); None when it names nothing (a plain SBOM).
        """
        if self.claimed_digest is not None:
            return self.claimed_digest == digest
        if self.subject_digests:
            return digest in self.subject_digests
        return None

    def field(self, label: str) -> str | None:
        """The value of the first field with ``label``, or None."""
        for name, value in self.fields:
            if name == label:
                return value
        return None


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def format_time(moment: datetime) -> str:
    """A timestamp the way the fields show it: ``2024-05-01 12:00:00 UTC``."""
    return _when(moment)


def format_size(size: int) -> str:
    """A byte count for people: ``532 bytes``, ``12.4 KiB (12698 bytes)``."""
    if size < 1024:
        return f"{size} byte" if size == 1 else f"{size} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit} ({size} bytes)"
    raise AssertionError("unreachable")  # pragma: no cover
