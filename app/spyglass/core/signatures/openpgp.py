"""Reading (not verifying) OpenPGP signed messages, as containers/image stores them.

A containers/image "simple signing" signature is what ``gpg --sign`` writes:
an OpenPGP message (RFC 4880 / RFC 9580), usually a compressed data packet
(tag 8) around a one-pass signature packet (tag 4), a literal data packet
(tag 11, the signed JSON payload) and a signature packet (tag 2).

This module walks those packets: old- and new-format headers, partial body
lengths, compression (uncompressed, ZIP, ZLIB, BZip2), and reads from the
signature the issuer key ID (subpacket 16), issuer fingerprint (33) and
creation time (2), from the hashed or unhashed area. Checking the signature
is left to GnuPG (:mod:`spyglass.core.signatures.gpg`).
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from spyglass.core.signatures.model import InvalidSignature

MAX_DECOMPRESSED: Final = 16 * 1024 * 1024
"""A signed payload is a few hundred bytes; more than this after decompression is refused."""
MAX_NESTING: Final = 8

TAG_SIGNATURE: Final = 2
TAG_ONE_PASS_SIGNATURE: Final = 4
TAG_SECRET_KEY: Final = 5
TAG_PUBLIC_KEY: Final = 6
TAG_COMPRESSED: Final = 8
TAG_MARKER: Final = 10
TAG_LITERAL: Final = 11

PUBLIC_KEY_ALGORITHMS: Final = {
    1: "RSA", 2: "RSA", 3: "RSA", 16: "Elgamal", 17: "DSA", 18: "ECDH", 19: "ECDSA",
    22: "EdDSA", 27: "Ed25519", 28: "Ed448",
}
HASH_ALGORITHMS: Final = {
    1: "MD5", 2: "SHA-1", 3: "RIPEMD-160", 8: "SHA-256", 9: "SHA-384", 10: "SHA-512",
    11: "SHA-224", 12: "SHA3-256", 14: "SHA3-512",
}
COMPRESSION_ALGORITHMS: Final = {0: "uncompressed", 1: "ZIP", 2: "ZLIB", 3: "BZip2"}

_WHAT: Final = "the OpenPGP signature"


@dataclass(frozen=True)
class OpenPGPSignature:
    """What a signature packet says about who signed, when and how.

    ``issuer_key_id`` is 16 upper-case hex digits; ``issuer_fingerprint`` 40
    (v4 keys) or 64 (v5/v6 keys), when the packet carries them.
    """

    version: int
    signature_type: int
    public_key_algorithm: int
    hash_algorithm: int
    created: datetime | None
    issuer_key_id: str | None
    issuer_fingerprint: str | None

    @property
    def algorithm_text(self) -> str:
        """``EdDSA with SHA-256``."""
        pk = PUBLIC_KEY_ALGORITHMS.get(self.public_key_algorithm,
                                       f"algorithm {self.public_key_algorithm}")
        digest = HASH_ALGORITHMS.get(self.hash_algorithm, f"hash {self.hash_algorithm}")
        return f"{pk} with {digest}"

    @property
    def key_id(self) -> str | None:
        """The issuer key ID, or the last 16 hex digits of a v4 fingerprint."""
        if self.issuer_key_id:
            return self.issuer_key_id
        if self.issuer_fingerprint and len(self.issuer_fingerprint) == 40:
            return self.issuer_fingerprint[-16:]
        if self.issuer_fingerprint:
            return self.issuer_fingerprint[:16]
        return None


@dataclass(frozen=True)
class OpenPGPMessage:
    """The packets of a signed message that matter here."""

    literal_data: bytes | None
    literal_filename: str
    compression: str | None
    one_pass_key_ids: tuple[str, ...]
    signatures: tuple[OpenPGPSignature, ...]

    @property
    def key_id(self) -> str | None:
        """The key ID of the first signature, or of the first one-pass signature."""
        for signature in self.signatures:
            if signature.key_id:
                return signature.key_id
        return self.one_pass_key_ids[0] if self.one_pass_key_ids else None


def looks_like_openpgp(data: bytes) -> bool:
    """True when ``data`` starts like a binary or ASCII-armored OpenPGP message."""
    if data.lstrip()[:15] == b"-----BEGIN PGP ":
        return True
    return _first_tag(data) in (TAG_SIGNATURE, TAG_ONE_PASS_SIGNATURE, TAG_COMPRESSED,
                                TAG_MARKER, TAG_LITERAL)


def openpgp_key_kind(data: bytes) -> str | None:
    """``"public"`` or ``"private"`` when ``data`` starts like an OpenPGP key as ``gpg
    --export`` (``--export-secret-keys``) writes it, binary or ASCII-armored (its first
    packet a public or secret key); None for anything else."""
    text = data.lstrip()
    if text.startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----"):
        return "public"
    if text.startswith(b"-----BEGIN PGP PRIVATE KEY BLOCK-----"):
        return "private"
    tag = _first_tag(data)
    return "public" if tag == TAG_PUBLIC_KEY else "private" if tag == TAG_SECRET_KEY else None


def _first_tag(data: bytes) -> int | None:
    """The packet tag of the packet header ``data`` starts with (old or new format), or
    None when its first byte is no packet header."""
    if not data or data[0] & 0x80 == 0:
        return None
    first = data[0]
    return first & 0x3F if first & 0x40 else (first >> 2) & 0x0F


def dearmor(data: bytes) -> bytes:
    """The binary form of an ASCII-armored block; binary input is returned unchanged."""
    text = data.lstrip()
    if not text.startswith(b"-----BEGIN PGP "):
        return data
    lines = text.splitlines()
    body: list[bytes] = []
    in_headers = True
    for line in lines[1:]:
        stripped = line.strip()
        if stripped.startswith(b"-----END PGP "):
            break
        if in_headers:
            if not stripped:
                in_headers = False
            elif b":" not in stripped:  # no armor headers at all
                in_headers = False
                body.append(stripped)
            continue
        if stripped.startswith(b"="):  # CRC-24 checksum line
            break
        body.append(stripped)
    else:
        raise InvalidSignature("The ASCII-armored OpenPGP data has no -----END PGP …----- line.")
    try:
        return base64.b64decode(b"".join(body), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignature("The ASCII-armored OpenPGP data is not valid base64.") from exc


def parse_openpgp_message(data: bytes) -> OpenPGPMessage:
    """Walk the packets of a signed OpenPGP message (binary or armored).

    Raises :class:`InvalidSignature` with a sentence for truncated or
    malformed packets, unknown compression, or a message without a literal
    data packet or signature.
    """
    state = _State()
    _walk(dearmor(data), state, 0)
    if state.literal is None:
        raise InvalidSignature(
            f"{_WHAT[:1].upper()}{_WHAT[1:]} holds no signed data (no literal data packet); "
            "it may be a detached signature, which simple signing does not use."
        )
    if not state.signatures:
        raise InvalidSignature(f"{_WHAT[:1].upper()}{_WHAT[1:]} holds data but no signature "
                               "packet.")
    return OpenPGPMessage(
        literal_data=state.literal,
        literal_filename=state.filename,
        compression=state.compression,
        one_pass_key_ids=tuple(state.one_pass),
        signatures=tuple(state.signatures),
    )


class _State:
    def __init__(self) -> None:
        self.literal: bytes | None = None
        self.filename = ""
        self.compression: str | None = None
        self.one_pass: list[str] = []
        self.signatures: list[OpenPGPSignature] = []


def _fail(problem: str) -> InvalidSignature:
    return InvalidSignature(f"{_WHAT[:1].upper()}{_WHAT[1:]} is malformed: {problem}.")


def _walk(data: bytes, state: _State, depth: int) -> None:
    if depth > MAX_NESTING:
        raise _fail(f"compressed packets are nested more than {MAX_NESTING} deep")
    if not data:
        raise _fail("it is empty")
    for tag, body in _packets(data):
        if tag == TAG_COMPRESSED:
            state.compression = _compression_name(body)
            _walk(_decompress(body), state, depth + 1)
        elif tag == TAG_ONE_PASS_SIGNATURE:
            state.one_pass.append(_one_pass_key_id(body))
        elif tag == TAG_LITERAL:
            if state.literal is not None:
                raise _fail("it holds more than one literal data packet")
            state.filename, state.literal = _literal(body)
        elif tag == TAG_SIGNATURE:
            state.signatures.append(_signature(body))
        elif tag == TAG_MARKER:
            continue
        else:
            raise _fail(f"it holds a packet of tag {tag}, which a signed message does not have")


def _packets(data: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos < len(data):
        first = data[pos]
        if first & 0x80 == 0:
            raise _fail(f"byte {pos} is not a packet header (bit 7 is clear)")
        pos += 1
        if first & 0x40:  # new format
            tag = first & 0x3F
            chunks: list[bytes] = []
            while True:
                length, partial, pos = _new_length(data, pos)
                chunks.append(_slice(data, pos, length))
                pos += length
                if not partial:
                    break
            yield tag, b"".join(chunks)
        else:
            tag = (first >> 2) & 0x0F
            length_type = first & 0x03
            if length_type == 3:
                body = data[pos:]
                pos = len(data)
            else:
                size = 1 << length_type
                length = int.from_bytes(_slice(data, pos, size), "big")
                pos += size
                body = _slice(data, pos, length)
                pos += length
            yield tag, body


def _new_length(data: bytes, pos: int) -> tuple[int, bool, int]:
    """(length, is_partial, new position) of a new-format length at ``pos``."""
    first = _slice(data, pos, 1)[0]
    if first < 192:
        return first, False, pos + 1
    if first < 224:
        second = _slice(data, pos + 1, 1)[0]
        return ((first - 192) << 8) + second + 192, False, pos + 2
    if first == 255:
        return int.from_bytes(_slice(data, pos + 1, 4), "big"), False, pos + 5
    return 1 << (first & 0x1F), True, pos + 1


def _slice(data: bytes, pos: int, length: int) -> bytes:
    if pos + length > len(data):
        raise _fail(f"a packet is cut short ({pos + length - len(data)} bytes missing)")
    return data[pos : pos + length]


def _compression_name(body: bytes) -> str:
    if not body:
        raise _fail("a compressed data packet is empty")
    return COMPRESSION_ALGORITHMS.get(body[0], f"algorithm {body[0]}")


def _decompress(body: bytes) -> bytes:
    algorithm, payload = body[0], body[1:]
    if algorithm == 0:
        return payload
    if algorithm in (1, 2):
        inflater = zlib.decompressobj(-15 if algorithm == 1 else 15)
        try:
            out = inflater.decompress(payload, MAX_DECOMPRESSED)
        except zlib.error as exc:
            raise _fail(f"its compressed data does not inflate ({exc})") from exc
        if inflater.unconsumed_tail:
            raise _fail(f"it inflates to more than {MAX_DECOMPRESSED // (1024 * 1024)} MiB")
        return out
    if algorithm == 3:
        try:
            import bz2
        except ImportError:  # Python built without bz2
            raise InvalidSignature(
                "The OpenPGP signature is BZip2-compressed, which this Python cannot read."
            ) from None
        decompressor = bz2.BZ2Decompressor()
        try:
            out = decompressor.decompress(payload, MAX_DECOMPRESSED)
        except (OSError, ValueError) as exc:
            raise _fail(f"its BZip2 data does not decompress ({exc})") from exc
        if not decompressor.eof and not decompressor.needs_input:
            raise _fail(f"it decompresses to more than {MAX_DECOMPRESSED // (1024 * 1024)} MiB")
        return out
    raise InvalidSignature(
        f"The OpenPGP signature uses compression algorithm {algorithm}, which is not "
        "supported; expected uncompressed, ZIP, ZLIB or BZip2."
    )


def _one_pass_key_id(body: bytes) -> str:
    if len(body) < 1:
        raise _fail("a one-pass signature packet is empty")
    if body[0] == 3:
        if len(body) != 13:
            raise _fail("a version 3 one-pass signature packet is not 13 bytes")
        return body[4:12].hex().upper()
    if body[0] == 6:
        # version, type, hash, pk, salt length, salt, fingerprint (32), nested
        if len(body) < 5 or len(body) < 5 + body[4] + 33:
            raise _fail("a version 6 one-pass signature packet is cut short")
        fingerprint = body[5 + body[4] : 5 + body[4] + 32]
        return fingerprint.hex().upper()[:16]
    raise _fail(f"a one-pass signature packet has unknown version {body[0]}")


def _literal(body: bytes) -> tuple[str, bytes]:
    if len(body) < 6:
        raise _fail("a literal data packet is cut short")
    name_length = body[1]
    if len(body) < 2 + name_length + 4:
        raise _fail("a literal data packet is cut short")
    filename = body[2 : 2 + name_length].decode("utf-8", "replace")
    return filename, body[2 + name_length + 4 :]


def _signature(body: bytes) -> OpenPGPSignature:
    if not body:
        raise _fail("a signature packet is empty")
    version = body[0]
    if version in (2, 3):
        if len(body) < 19 or body[1] != 5:
            raise _fail("a version 3 signature packet is cut short")
        return OpenPGPSignature(
            version=version,
            signature_type=body[2],
            public_key_algorithm=body[15],
            hash_algorithm=body[16],
            created=datetime.fromtimestamp(int.from_bytes(body[3:7], "big"), UTC),
            issuer_key_id=body[7:15].hex().upper(),
            issuer_fingerprint=None,
        )
    if version not in (4, 5, 6):
        raise _fail(f"a signature packet has unknown version {version}")
    count_size = 2 if version == 4 else 4
    if len(body) < 4 + count_size:
        raise _fail("a signature packet is cut short")
    pos = 4
    areas: list[bytes] = []
    for _ in range(2):  # hashed, then unhashed subpackets
        length = int.from_bytes(_slice(body, pos, count_size), "big")
        pos += count_size
        areas.append(_slice(body, pos, length))
        pos += length
    created: datetime | None = None
    key_id: str | None = None
    fingerprint: str | None = None
    for area in areas:
        for kind, value in _subpackets(area):
            if kind == 2 and len(value) == 4 and created is None:
                created = datetime.fromtimestamp(int.from_bytes(value, "big"), UTC)
            elif kind == 16 and len(value) == 8 and key_id is None:
                key_id = value.hex().upper()
            elif kind == 33 and len(value) >= 21 and fingerprint is None:
                fingerprint = value[1:].hex().upper()
    return OpenPGPSignature(
        version=version,
        signature_type=body[1],
        public_key_algorithm=body[2],
        hash_algorithm=body[3],
        created=created,
        issuer_key_id=key_id,
        issuer_fingerprint=fingerprint,
    )


def _subpackets(area: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos < len(area):
        first = area[pos]
        if first < 192:
            length, pos = first, pos + 1
        elif first < 255:
            second = _slice(area, pos + 1, 1)[0]
            length, pos = ((first - 192) << 8) + second + 192, pos + 2
        else:
            length, pos = int.from_bytes(_slice(area, pos + 1, 4), "big"), pos + 5
        if length == 0:
            raise _fail("a signature subpacket has length 0")
        packet = _slice(area, pos, length)
        pos += length
        yield packet[0] & 0x7F, packet[1:]
