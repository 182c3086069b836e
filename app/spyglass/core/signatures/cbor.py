"""Just enough CBOR (RFC 8949) for COSE_Sign1 envelopes.

:func:`loads` reads one data item: integers, byte and text strings (also
indefinite-length), arrays, maps, tags (as :class:`Tagged`), ``false``,
``true``, ``null``, ``undefined`` (as None) and floats. :func:`dumps` writes
the same subset in preferred (shortest) encoding, which is what a COSE
``Sig_structure`` needs. Malformed input raises :class:`InvalidSignature`
with a sentence naming the offset.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final, NoReturn

from spyglass.core.signatures.model import InvalidSignature

MAX_DEPTH: Final = 64
_BREAK: Final = object()


@dataclass(frozen=True)
class Tagged:
    """A tagged data item: ``18([...])`` for COSE_Sign1, ``1(1700000000)`` for epoch time."""

    tag: int
    value: object


def loads(data: bytes, *, what: str = "the CBOR data") -> object:
    """Decode exactly one CBOR data item that fills ``data``."""
    decoder = _Decoder(data, what)
    value = decoder.item(0)
    if value is _BREAK:
        decoder.fail("a stray break byte (0xff)")
    if decoder.pos != len(data):
        decoder.fail(f"{len(data) - decoder.pos} bytes left over after the data item")
    return value


def dumps(value: object) -> bytes:
    """Encode ``value`` (int, bytes, str, list, tuple, dict, Tagged, bool, None)."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


class _Decoder:
    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def fail(self, problem: str) -> NoReturn:
        raise InvalidSignature(
            f"{self.what[:1].upper()}{self.what[1:]} is not valid CBOR: {problem} "
            f"(at byte {self.pos})."
        )

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            self.fail(f"it ends early; {n} more bytes were expected")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def argument(self, info: int) -> int | None:
        """The argument of a head; None for indefinite length (info 31)."""
        if info < 24:
            return info
        if info in (24, 25, 26, 27):
            size = 1 << (info - 24)
            return int.from_bytes(self.take(size), "big")
        if info == 31:
            return None
        self.fail(f"reserved additional information {info}")

    def item(self, depth: int) -> object:
        if depth > MAX_DEPTH:
            self.fail(f"nesting deeper than {MAX_DEPTH} levels")
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 0x1F
        if major == 7:
            return self.simple(info)
        arg = self.argument(info)
        if major == 0:
            return self.definite(arg, "an integer")
        if major == 1:
            return -1 - self.definite(arg, "an integer")
        if major in (2, 3):
            raw = self.string(major, arg, depth)
            if major == 2:
                return raw
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                self.fail("a text string that is not UTF-8")
        if major == 4:
            items: list[object] = []
            if arg is not None and arg > len(self.data) - self.pos:
                self.fail(f"an array of {arg} items is longer than the data")
            while arg is None or len(items) < arg:
                element = self.item(depth + 1)
                if element is _BREAK:
                    if arg is None:
                        return items
                    self.fail("a break byte inside a definite-length array")
                items.append(element)
            return items
        if major == 5:
            mapping: dict[object, object] = {}
            count = 0
            if arg is not None and 2 * arg > len(self.data) - self.pos:
                self.fail(f"a map of {arg} entries is longer than the data")
            while arg is None or count < arg:
                key = self.item(depth + 1)
                if key is _BREAK:
                    if arg is None:
                        return mapping
                    self.fail("a break byte inside a definite-length map")
                if isinstance(key, list | dict):
                    self.fail("a map key that is an array or map")
                value = self.item(depth + 1)
                if value is _BREAK:
                    self.fail("a map key without a value")
                mapping[key] = value
                count += 1
            return mapping
        # major 6: a tag
        return Tagged(self.definite(arg, "a tag"), self.item(depth + 1))

    def definite(self, arg: int | None, what: str) -> int:
        if arg is None:
            self.fail(f"{what} with indefinite length")
        return arg

    def string(self, major: int, arg: int | None, depth: int) -> bytes:
        if arg is not None:
            return self.take(arg)
        chunks: list[bytes] = []
        while True:
            head = self.take(1)[0]
            if head == 0xFF:
                return b"".join(chunks)
            if head >> 5 != major or head & 0x1F == 31:
                self.fail("an indefinite-length string with a chunk of another type")
            chunks.append(self.take(self.definite(self.argument(head & 0x1F), "a chunk")))

    def simple(self, info: int) -> object:
        if info == 20:
            return False
        if info == 21:
            return True
        if info in (22, 23):
            return None
        if info == 25:
            return float(struct.unpack(">e", self.take(2))[0])
        if info == 26:
            return float(struct.unpack(">f", self.take(4))[0])
        if info == 27:
            return float(struct.unpack(">d", self.take(8))[0])
        if info == 31:
            return _BREAK
        if info == 24:
            self.take(1)
        return None  # other simple values carry nothing we use


def _head(major: int, value: int, out: bytearray) -> None:
    if value < 24:
        out.append(major << 5 | value)
    elif value < 1 << 8:
        out.append(major << 5 | 24)
        out.append(value)
    elif value < 1 << 16:
        out.append(major << 5 | 25)
        out += value.to_bytes(2, "big")
    elif value < 1 << 32:
        out.append(major << 5 | 26)
        out += value.to_bytes(4, "big")
    elif value < 1 << 64:
        out.append(major << 5 | 27)
        out += value.to_bytes(8, "big")
    else:
        raise ValueError(f"CBOR cannot encode the integer {value} without a bignum tag")


def _encode(value: object, out: bytearray) -> None:
    if value is False:
        out.append(0xF4)
    elif value is True:
        out.append(0xF5)
    elif value is None:
        out.append(0xF6)
    elif isinstance(value, int):
        if value >= 0:
            _head(0, value, out)
        else:
            _head(1, -1 - value, out)
    elif isinstance(value, bytes | bytearray):
        _head(2, len(value), out)
        out += value
    elif isinstance(value, str):
        raw = value.encode("utf-8")
        _head(3, len(raw), out)
        out += raw
    elif isinstance(value, list | tuple):
        _head(4, len(value), out)
        for element in value:
            _encode(element, out)
    elif isinstance(value, dict):
        _head(5, len(value), out)
        for key, element in value.items():
            _encode(key, out)
            _encode(element, out)
    elif isinstance(value, Tagged):
        _head(6, value.tag, out)
        _encode(value.value, out)
    elif isinstance(value, float):
        out.append(0xFB)
        out += struct.pack(">d", value)
    else:
        raise TypeError(f"CBOR encoding of {type(value).__name__} is not supported")
