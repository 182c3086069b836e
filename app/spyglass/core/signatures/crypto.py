"""Checking one signature over some bytes with one public key, leniently about the hash.

cosign signs with SHA-256 whatever the key (``signature.LoadVerifier(key,
crypto.SHA256)``); other tools match the hash to the curve or key size
(ES384, PS512). Trying SHA-256 first and then the stronger SHA-2 hashes
accepts all of them without weakening anything: every candidate is a
collision-resistant hash the signer could have chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from spyglass.core.signatures.certificates import PublicKey

_CURVE_HASH: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "secp384r1": hashes.SHA384,
    "secp521r1": hashes.SHA512,
}


def signature_matches(
    key: PublicKey, data: bytes, signature: bytes, *, raw_ecdsa: bool = False
) -> bool:
    """True when ``signature`` is a valid signature of ``data`` by ``key``.

    ECDSA signatures are ASN.1 DER unless ``raw_ecdsa`` says they are the
    fixed-size ``r || s`` of JOSE and COSE. Ed25519/Ed448 verify ``data``
    itself. RSA accepts PKCS #1 v1.5 and PSS. Never raises for a bad
    signature; returns False.
    """
    try:
        if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            return _holds(lambda: key.verify(signature, data))
        if isinstance(key, ec.EllipticCurvePublicKey):
            der = _raw_to_der(key, signature) if raw_ecdsa else signature
            if der is None:
                return False
            return any(
                _ecdsa_holds(key, data, der, algo()) for algo in _hashes_for(key.curve.name)
            )
        # an RSA key, the last kind a PublicKey can be
        for algo in (hashes.SHA256, hashes.SHA384, hashes.SHA512):
            paddings: tuple[padding.AsymmetricPadding, ...] = (
                padding.PKCS1v15(),
                padding.PSS(mgf=padding.MGF1(algo()), salt_length=padding.PSS.AUTO),
            )
            for pad in paddings:
                if _rsa_holds(key, data, signature, pad, algo()):
                    return True
        return False
    except UnsupportedAlgorithm:
        return False


def _ecdsa_holds(
    key: ec.EllipticCurvePublicKey, data: bytes, der: bytes, algo: hashes.HashAlgorithm
) -> bool:
    return _holds(lambda: key.verify(der, data, ec.ECDSA(algo)))


def _rsa_holds(
    key: rsa.RSAPublicKey,
    data: bytes,
    signature: bytes,
    pad: padding.AsymmetricPadding,
    algo: hashes.HashAlgorithm,
) -> bool:
    return _holds(lambda: key.verify(signature, data, pad, algo))


def _hashes_for(curve: str) -> tuple[type[hashes.HashAlgorithm], ...]:
    matched = _CURVE_HASH.get(curve)
    if matched is None:
        return (hashes.SHA256,)
    return (hashes.SHA256, matched)


def _raw_to_der(key: ec.EllipticCurvePublicKey, signature: bytes) -> bytes | None:
    size = (key.curve.key_size + 7) // 8
    if len(signature) != 2 * size:
        return None
    r = int.from_bytes(signature[:size], "big")
    s = int.from_bytes(signature[size:], "big")
    return encode_dss_signature(r, s)


def _holds(check: Callable[[], object]) -> bool:
    try:
        check()
    except (CryptoInvalidSignature, ValueError, TypeError):
        return False
    return True
