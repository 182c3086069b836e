"""OpenPGP packet parsing: gpg-made simple signing signatures and hand-made packets."""

from __future__ import annotations

import base64
import datetime as dt
import zlib

import pytest

from spyglass.core.digest import Digest
from spyglass.core.signatures import (
    InvalidSignature,
    Kind,
    decode_simple_signing,
    parse_openpgp_message,
)
from spyglass.core.signatures.openpgp import dearmor, looks_like_openpgp
from tests.helpers.pgp import ThrowawayGpg, atomic_payload

DIGEST = Digest.of(b"the GPG-signed manifest")
REFERENCE = "registry.example/team/app:1.0"
KEY_ID = bytes.fromhex("0123456789ABCDEF")
FINGERPRINT = bytes.fromhex("AA" * 12) + KEY_ID
CREATED = 1_700_000_000


# --------------------------------------------------------------------------- hand-made packets


def new_packet(tag: int, body: bytes, *, partial: int | None = None) -> bytes:
    """A new-format packet; with ``partial`` (a power of two) the body is sent in
    partial-length chunks of that size before a final normal length."""
    header = bytes([0xC0 | tag])
    if partial is None:
        return header + _new_length(len(body)) + body
    out = header
    rest = body
    exponent = partial.bit_length() - 1
    while len(rest) > partial:
        out += bytes([224 + exponent]) + rest[:partial]
        rest = rest[partial:]
    return out + _new_length(len(rest)) + rest


def _new_length(n: int) -> bytes:
    if n < 192:
        return bytes([n])
    if n < 8384:
        n -= 192
        return bytes([(n >> 8) + 192, n & 0xFF])
    return b"\xff" + n.to_bytes(4, "big")


def old_packet(tag: int, body: bytes, length_type: int = 1) -> bytes:
    header = bytes([0x80 | tag << 2 | length_type])
    if length_type == 3:
        return header + body
    return header + len(body).to_bytes(1 << length_type, "big") + body


def literal(data: bytes) -> bytes:
    return b"b" + bytes([4]) + b"name" + CREATED.to_bytes(4, "big") + data


def one_pass() -> bytes:
    return bytes([3, 0x00, 8, 22]) + KEY_ID + b"\x01"


def subpacket(kind: int, data: bytes) -> bytes:
    return bytes([len(data) + 1, kind]) + data


def signature_v4(*, hashed: bytes | None = None, unhashed: bytes | None = None) -> bytes:
    if hashed is None:
        hashed = subpacket(33, b"\x04" + FINGERPRINT) + subpacket(2, CREATED.to_bytes(4, "big"))
    if unhashed is None:
        unhashed = subpacket(16, KEY_ID)
    return (bytes([4, 0x00, 22, 8]) + len(hashed).to_bytes(2, "big") + hashed
            + len(unhashed).to_bytes(2, "big") + unhashed + b"\xab\xcd"
            + b"\x00\x08\xff" + b"\x00\x08\xff")  # two fake MPIs


def signature_v3() -> bytes:
    return (bytes([3, 5, 0x00]) + CREATED.to_bytes(4, "big") + KEY_ID + bytes([1, 8])
            + b"\xab\xcd" + b"\x00\x08\xff")


def message(payload: bytes, *, wrap: str | None = "zlib", partial: int | None = None) -> bytes:
    inner = (new_packet(4, one_pass()) + new_packet(11, literal(payload), partial=partial)
             + new_packet(2, signature_v4()))
    if wrap is None:
        return inner
    algorithm, data = {
        "none": (0, inner),
        "zip": (1, _raw_deflate(inner)),
        "zlib": (2, zlib.compress(inner)),
    }[wrap]
    return new_packet(8, bytes([algorithm]) + data)


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


PAYLOAD = atomic_payload(REFERENCE, str(DIGEST))


@pytest.mark.parametrize("wrap", [None, "none", "zip", "zlib"])
def test_hand_made_message(wrap: str | None) -> None:
    parsed = parse_openpgp_message(message(PAYLOAD, wrap=wrap))
    assert parsed.literal_data == PAYLOAD
    assert parsed.literal_filename == "name"
    assert parsed.one_pass_key_ids == (KEY_ID.hex().upper(),)
    signature = parsed.signatures[0]
    assert signature.issuer_key_id == KEY_ID.hex().upper()
    assert signature.issuer_fingerprint == FINGERPRINT.hex().upper()
    assert signature.created == dt.datetime.fromtimestamp(CREATED, dt.UTC)
    assert signature.algorithm_text == "EdDSA with SHA-256"
    assert parsed.key_id == KEY_ID.hex().upper()
    assert parsed.compression == {None: None, "none": "uncompressed", "zip": "ZIP",
                                  "zlib": "ZLIB"}[wrap]


@pytest.mark.parametrize("chunk", [1, 16, 512])
def test_partial_body_lengths(chunk: int) -> None:
    big = atomic_payload(REFERENCE, str(DIGEST), optional={"note": "x" * 1500})
    assert parse_openpgp_message(message(big, wrap=None, partial=chunk)).literal_data == big


@pytest.mark.parametrize("length_type", [0, 1, 2, 3])
def test_old_format_headers(length_type: int) -> None:
    packets = (old_packet(4, one_pass(), 0) + old_packet(11, literal(PAYLOAD), 1)
               + old_packet(2, signature_v4(), length_type))
    assert parse_openpgp_message(packets).literal_data == PAYLOAD


def test_two_octet_and_five_octet_new_lengths() -> None:
    big = b"{" + b" " * 9000 + b"}"
    packets = new_packet(11, literal(big)) + new_packet(2, signature_v4())
    assert parse_openpgp_message(packets).literal_data == big
    medium = b"{" + b" " * 300 + b"}"
    packets = new_packet(11, literal(medium)) + new_packet(2, signature_v4())
    assert parse_openpgp_message(packets).literal_data == medium


def test_issuer_only_in_the_hashed_area_and_fingerprint_only() -> None:
    sig = signature_v4(hashed=subpacket(33, b"\x04" + FINGERPRINT), unhashed=b"")
    parsed = parse_openpgp_message(new_packet(11, literal(PAYLOAD)) + new_packet(2, sig))
    assert parsed.signatures[0].issuer_key_id is None
    assert parsed.signatures[0].created is None
    assert parsed.key_id == KEY_ID.hex().upper()  # low 64 bits of the v4 fingerprint


def test_critical_bit_on_subpackets_is_ignored_for_the_type() -> None:
    hashed = bytes([9, 0x80 | 16]) + KEY_ID
    sig = signature_v4(hashed=hashed, unhashed=b"")
    parsed = parse_openpgp_message(new_packet(11, literal(PAYLOAD)) + new_packet(2, sig))
    assert parsed.signatures[0].issuer_key_id == KEY_ID.hex().upper()


def test_version_3_signature() -> None:
    parsed = parse_openpgp_message(new_packet(11, literal(PAYLOAD)) + new_packet(2, signature_v3()))
    assert parsed.signatures[0].version == 3
    assert parsed.signatures[0].issuer_key_id == KEY_ID.hex().upper()
    assert parsed.signatures[0].algorithm_text == "RSA with SHA-256"


def test_marker_packet_is_skipped() -> None:
    data = new_packet(10, b"PGP") + message(PAYLOAD, wrap=None)
    assert parse_openpgp_message(data).literal_data == PAYLOAD


def test_armored_message() -> None:
    binary = message(PAYLOAD)
    lines = base64.b64encode(binary).decode()
    armored = ("-----BEGIN PGP MESSAGE-----\nVersion: test\n\n"
               + "\n".join(lines[i:i + 64] for i in range(0, len(lines), 64))
               + "\n=abcd\n-----END PGP MESSAGE-----\n").encode()
    assert dearmor(armored) == binary
    assert looks_like_openpgp(armored)
    assert parse_openpgp_message(armored).literal_data == PAYLOAD


def test_decode_hand_made_simple_signing() -> None:
    decoded = decode_simple_signing(message(PAYLOAD))
    assert decoded.kind is Kind.SIMPLE_SIGNING
    assert decoded.claimed_digest == DIGEST
    assert decoded.claimed_reference == REFERENCE
    assert decoded.field("Key ID") == KEY_ID.hex().upper()
    assert decoded.field("Key fingerprint") == FINGERPRINT.hex().upper()
    assert decoded.field("Payload type") == "atomic container signature"
    assert decoded.field("Signature created") == "2023-11-14 22:13:20 UTC"
    assert decoded.field("Compression") == "ZLIB"
    assert decoded.key_id == FINGERPRINT.hex().upper()
    assert decoded.names_image(DIGEST) is True


# --------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"\x00\x01", "not a packet header"),
        (message(PAYLOAD, wrap=None)[:-5], "cut short"),
        (new_packet(2, signature_v4()), "no signed data"),
        (new_packet(11, literal(PAYLOAD)), "no signature packet"),
        (new_packet(8, b"\x09abc"), "compression algorithm 9"),
        (new_packet(8, b"\x02not zlib"), "does not inflate"),
        (new_packet(6, b"\x04key"), "tag 6"),
        (new_packet(11, literal(PAYLOAD)) * 2 + new_packet(2, signature_v4()),
         "more than one literal"),
        (new_packet(11, literal(PAYLOAD)) + new_packet(2, b"\x07"), "unknown version 7"),
        (new_packet(11, b"b\x09ab"), "cut short"),
        (new_packet(4, b"\x03\x00"), "not 13 bytes"),
        (new_packet(11, literal(PAYLOAD)) + new_packet(2, signature_v4(hashed=b"\x00")),
         "length 0"),
        (b"-----BEGIN PGP MESSAGE-----\n\nAAAA\n", "no -----END"),
        (b"-----BEGIN PGP MESSAGE-----\n\n!!!!\n-----END PGP MESSAGE-----\n", "base64"),
    ],
)
def test_malformed_messages_raise_sentences(data: bytes, words: str) -> None:
    with pytest.raises(InvalidSignature) as info:
        parse_openpgp_message(data)
    assert words in str(info.value)


def test_nested_compression_bomb_is_refused() -> None:
    data = message(PAYLOAD, wrap=None)
    for _ in range(10):
        data = new_packet(8, b"\x00" + data)
    with pytest.raises(InvalidSignature, match="nested more than"):
        parse_openpgp_message(data)


def test_decompression_limit() -> None:
    huge = zlib.compress(b"\x00" * (17 * 1024 * 1024))
    with pytest.raises(InvalidSignature, match="more than 16 MiB"):
        parse_openpgp_message(new_packet(8, b"\x02" + huge))


def test_simple_signing_with_a_bad_payload_names_it() -> None:
    data = new_packet(11, literal(b"not json")) + new_packet(2, signature_v4())
    with pytest.raises(InvalidSignature, match="payload of the simple signing signature"):
        decode_simple_signing(data)


# --------------------------------------------------------------------------- gpg-made


@pytest.mark.parametrize("compress_algo", [None, "none", "zip", "zlib", "bzip2"])
def test_gpg_made_signature(gpg_key: ThrowawayGpg, compress_algo: str | None) -> None:
    blob = gpg_key.sign(PAYLOAD, compress_algo=compress_algo)
    assert looks_like_openpgp(blob)
    parsed = parse_openpgp_message(blob)
    assert parsed.literal_data == PAYLOAD
    assert parsed.key_id == gpg_key.key_id
    signature = parsed.signatures[0]
    assert signature.issuer_fingerprint in (None, gpg_key.fingerprint)
    assert signature.created is not None
    assert abs((signature.created - dt.datetime.now(dt.UTC)).total_seconds()) < 3600
    decoded = decode_simple_signing(blob)
    assert decoded.claimed_digest == DIGEST
    assert decoded.field("Key ID") == gpg_key.key_id
    assert gpg_key.key_id in decoded.title


def test_gpg_made_rsa_signature() -> None:
    with ThrowawayGpg("RSA Test <rsa@example.invalid>", algorithm="rsa2048") as gpg:
        parsed = parse_openpgp_message(gpg.sign(PAYLOAD))
        assert parsed.key_id == gpg.key_id
        assert parsed.signatures[0].algorithm_text.startswith("RSA with SHA-")
