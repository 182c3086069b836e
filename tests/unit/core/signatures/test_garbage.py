"""Every decoder meets garbage and truncated input with InvalidSignature, never a traceback."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from spyglass.core.signatures import (
    InvalidSignature,
    decode_attestation,
    decode_cosign_signature,
    decode_layer,
    decode_notation,
    decode_sbom,
    decode_simple_signing,
    decode_stored_signature,
)
from spyglass.core.signatures.cbor import loads
from tests.helpers.cosign import (
    dsse_envelope,
    fulcio_like_certificate,
    generate_key,
    in_toto_statement,
    signature_layer,
    simple_signing_payload,
    stored_sigstore_signature,
)

DIGEST = "sha256:" + "ab" * 32


def _samples() -> dict[str, bytes]:
    key = generate_key()
    cert = fulcio_like_certificate(key)
    payload, notes = signature_layer(simple_signing_payload("r.example/a", DIGEST), key,
                                     certificate=cert)
    envelope = dsse_envelope(in_toto_statement([("a", DIGEST)], "https://spdx.dev/Document",
                                               {"spdxVersion": "SPDX-2.3"}), key)
    return {
        "payload": payload,
        "envelope": envelope,
        "stored": stored_sigstore_signature(payload, notes),
        # an OpenPGP-looking prefix: compressed data packet, zlib
        "pgp": b"\xa3\x02" + bytes(range(40)),
    }


DECODERS: dict[str, Callable[[bytes], object]] = {
    "cosign": lambda b: decode_cosign_signature(b, {}),
    "attestation": decode_attestation,
    "jws": lambda b: decode_notation(b, "application/jose+json"),
    "cose": lambda b: decode_notation(b, "application/cose"),
    "simple signing": decode_simple_signing,
    "stored": decode_stored_signature,
    "sbom": lambda b: decode_sbom("text/spdx+json", len(b), b),
    "layer": lambda b: decode_layer(b, "application/vnd.dsse.envelope.v1+json"),
    "cbor": loads,
}


def _inputs() -> list[bytes]:
    rng = random.Random(20240501)
    inputs = [b"", b"\x00", b"\xff" * 8, b"null", b"[]", b"{}", b'"x"', b"\xd2\x84\x40\xa0",
              b"\xa3\x09", b"\xc8\x05\x02xx", b"\x00sigstore-json\n{}"]
    inputs += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))) for _ in range(60)]
    for sample in _samples().values():
        inputs += [sample[:n] for n in range(0, len(sample), max(1, len(sample) // 25))]
        flipped = bytearray(sample)
        for _ in range(5):
            flipped[rng.randrange(len(flipped))] ^= 0xFF
        inputs.append(bytes(flipped))
    return inputs


INPUTS = _inputs()


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_decoders_raise_only_invalid_signature(name: str) -> None:
    decode = DECODERS[name]
    for data in INPUTS:
        try:
            decode(data)
        except InvalidSignature as exc:
            message = str(exc)
            assert message[:1].isupper(), message
            assert message.rstrip().endswith((".", ")", '"')), message
