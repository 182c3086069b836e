"""Make Notary Project (notation) JWS signatures with ``cryptography`` only.

- :func:`notary_payload` — what notation signs: the target manifest's descriptor;
- :func:`jws_envelope` — a flattened JWS JSON envelope of it, signed with ES256/ES384
  (raw ``r || s``) or PS256, with the ``x5c`` chain given;
- :func:`jose_sign`, :func:`b64url` — the pieces, for envelopes built differently.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from tests.helpers.cosign import PrivateKey, certificate_der

PAYLOAD_TYPE = "application/vnd.cncf.notary.payload.v1+json"
SIGNATURE_TYPE = "application/vnd.cncf.notary.signature"
JWS = "application/jose+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jose_sign(key: PrivateKey, data: bytes) -> bytes:
    """ES256/ES384 as raw r||s, PS256 for RSA."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        size = (key.curve.key_size + 7) // 8
        algo = hashes.SHA256() if size == 32 else hashes.SHA384()
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(algo)))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())


def notary_payload(digest: str, size: int, media_type: str = OCI_MANIFEST) -> bytes:
    """``{"targetArtifact": descriptor}``: the manifest a signature is of."""
    return json.dumps({"targetArtifact": {"mediaType": media_type, "digest": digest,
                                          "size": size}}).encode()


def jws_envelope(key: PrivateKey, chain: Sequence[x509.Certificate], payload: bytes, *,
                 alg: str = "ES256", protected_extra: dict[str, Any] | None = None) -> bytes:
    """A notation JWS envelope of ``payload`` signed by ``key``, ``chain`` (leaf first) as
    its ``x5c``; ``protected_extra`` adds to (or replaces) the protected header."""
    protected = {
        "alg": alg,
        "cty": PAYLOAD_TYPE,
        "crit": ["io.cncf.notary.signingScheme"],
        "io.cncf.notary.signingScheme": "notary.x509",
        "io.cncf.notary.signingTime": "2024-05-01T12:00:00Z",
        **(protected_extra or {}),
    }
    p64 = b64url(json.dumps(protected).encode())
    body64 = b64url(payload)
    signature = jose_sign(key, f"{p64}.{body64}".encode())
    return json.dumps({
        "payload": body64,
        "protected": p64,
        "header": {
            "x5c": [base64.b64encode(certificate_der(c)).decode() for c in chain],
            "io.cncf.notary.signingAgent": "notation/1.0.0",
        },
        "signature": b64url(signature),
    }).encode()
