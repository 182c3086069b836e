"""Decoding and verifying what is attached to images: signatures, attestations, SBOMs.

Finding these things (``.sig``/``.att``/``.sbom`` tags, referrers, ``dir:``
``signature-N`` files) is someone else's job; this package takes the bytes
found and says what they are (:class:`Decoded`) and whether they hold up
(:class:`Verification`).

Decoding — each raises only :class:`InvalidSignature` (a
:class:`~spyglass.core.errors.SpyglassError`) with a sentence:

- :func:`decode_cosign_signature` — a cosign signature layer (payload + annotations);
- :func:`decode_attestation` — a cosign attestation layer (DSSE envelope of an in-toto statement);
- :func:`decode_sbom` — a plain SBOM layer, by media type and size;
- :func:`decode_notation` — a Notary v2 envelope (JWS JSON or COSE_Sign1);
- :func:`decode_simple_signing` — a containers/image GPG signature;
- :func:`decode_stored_signature` — a ``dir:`` ``signature-N`` file, either kind;
- :func:`decode_layer` — any of the layer kinds above, chosen by media type.

Verifying — each returns a :class:`Verification`; only a key or keyring the
caller gave that cannot be read raises (:class:`InvalidKey`):

- :func:`verify_cosign` / :func:`verify_cosign_layer` — cosign signature with a public key;
- :func:`verify_dsse` — cosign attestation with a public key;
- :func:`verify_notation` — Notary v2 signature against trusted certificates;
- :func:`verify_simple_signing` — GPG signature with a keyring, through ``gpgv``/``gpg``.

Keyless (Fulcio) signatures are decoded, with the certificate's identity,
but not verified: that needs the Sigstore trust root.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spyglass.core.signatures.bundle import decode_bundle, verify_bundle
    from spyglass.core.signatures.certificates import (
        describe_certificate,
        load_public_key,
        parse_certificate,
        parse_certificate_chain,
    )
    from spyglass.core.signatures.cosign import (
        decode_cosign_signature,
        verify_cosign,
        verify_cosign_layer,
    )
    from spyglass.core.signatures.dsse import decode_attestation, pae, verify_dsse
    from spyglass.core.signatures.gpg import verify_simple_signing
    from spyglass.core.signatures.model import (
        CertificateInfo,
        Decoded,
        InvalidKey,
        InvalidSignature,
        KeylessIdentity,
        Kind,
        Status,
        Verification,
    )
    from spyglass.core.signatures.notation import decode_notation, verify_notation
    from spyglass.core.signatures.openpgp import parse_openpgp_message
    from spyglass.core.signatures.sbom import decode_sbom, sbom_format
    from spyglass.core.signatures.simplesigning import decode_simple_signing
    from spyglass.core.signatures.stored import (
        StoredSignature,
        decode_layer,
        decode_stored_signature,
        split_stored_signature,
    )

# Imported on first use: the discovery side (model, discovery) is needed by copies
# and tag lists, which should not pay for loading ``cryptography``.
_EXPORTS: dict[str, str] = {
    "decode_bundle": "spyglass.core.signatures.bundle",
    "verify_bundle": "spyglass.core.signatures.bundle",
    "CertificateInfo": "spyglass.core.signatures.model",
    "Decoded": "spyglass.core.signatures.model",
    "InvalidKey": "spyglass.core.signatures.model",
    "InvalidSignature": "spyglass.core.signatures.model",
    "KeylessIdentity": "spyglass.core.signatures.model",
    "Kind": "spyglass.core.signatures.model",
    "Status": "spyglass.core.signatures.model",
    "StoredSignature": "spyglass.core.signatures.stored",
    "Verification": "spyglass.core.signatures.model",
    "decode_attestation": "spyglass.core.signatures.dsse",
    "decode_cosign_signature": "spyglass.core.signatures.cosign",
    "decode_layer": "spyglass.core.signatures.stored",
    "decode_notation": "spyglass.core.signatures.notation",
    "decode_sbom": "spyglass.core.signatures.sbom",
    "decode_simple_signing": "spyglass.core.signatures.simplesigning",
    "decode_stored_signature": "spyglass.core.signatures.stored",
    "describe_certificate": "spyglass.core.signatures.certificates",
    "load_public_key": "spyglass.core.signatures.certificates",
    "pae": "spyglass.core.signatures.dsse",
    "parse_certificate": "spyglass.core.signatures.certificates",
    "parse_certificate_chain": "spyglass.core.signatures.certificates",
    "parse_openpgp_message": "spyglass.core.signatures.openpgp",
    "sbom_format": "spyglass.core.signatures.sbom",
    "split_stored_signature": "spyglass.core.signatures.stored",
    "verify_cosign": "spyglass.core.signatures.cosign",
    "verify_cosign_layer": "spyglass.core.signatures.cosign",
    "verify_dsse": "spyglass.core.signatures.dsse",
    "verify_notation": "spyglass.core.signatures.notation",
    "verify_simple_signing": "spyglass.core.signatures.gpg",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CertificateInfo",
    "Decoded",
    "InvalidKey",
    "InvalidSignature",
    "KeylessIdentity",
    "Kind",
    "Status",
    "StoredSignature",
    "Verification",
    "decode_attestation",
    "decode_bundle",
    "decode_cosign_signature",
    "decode_layer",
    "decode_notation",
    "decode_sbom",
    "decode_simple_signing",
    "decode_stored_signature",
    "describe_certificate",
    "load_public_key",
    "pae",
    "parse_certificate",
    "parse_certificate_chain",
    "parse_openpgp_message",
    "sbom_format",
    "split_stored_signature",
    "verify_bundle",
    "verify_cosign",
    "verify_cosign_layer",
    "verify_dsse",
    "verify_notation",
    "verify_simple_signing",
]
