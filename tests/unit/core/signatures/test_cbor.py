"""The small CBOR decoder/encoder used for COSE: RFC 8949 Appendix A examples, and refusals."""

from __future__ import annotations

import pytest

from spyglass.core.signatures import InvalidSignature
from spyglass.core.signatures.cbor import Tagged, dumps, loads

# (value, encoding) pairs from RFC 8949 Appendix A that the decoder and encoder share
ROUND_TRIP = [
    (0, "00"), (23, "17"), (24, "1818"), (100, "1864"), (1000, "1903e8"),
    (1000000, "1a000f4240"), (1000000000000, "1b000000e8d4a51000"),
    (18446744073709551615, "1bffffffffffffffff"),
    (-1, "20"), (-10, "29"), (-100, "3863"), (-1000, "3903e7"),
    (b"", "40"), (b"\x01\x02\x03\x04", "4401020304"),
    ("", "60"), ("a", "6161"), ("IETF", "6449455446"), ("\u00fc", "62c3bc"),
    ([], "80"), ([1, 2, 3], "83010203"), ([1, [2, 3], [4, 5]], "8301820203820405"),
    ({}, "a0"), ({1: 2, 3: 4}, "a201020304"), ({"a": 1, "b": [2, 3]}, "a26161016162820203"),
    (False, "f4"), (True, "f5"), (None, "f6"),
    (Tagged(1, 1363896240), "c11a514b67b0"),
    (1.1, "fb3ff199999999999a"),
]

DECODE_ONLY = [
    ("f93e00", 1.5), ("fa47c35000", 100000.0), ("f7", None),
    ("5f42010243030405ff", b"\x01\x02\x03\x04\x05"),
    ("7f657374726561646d696e67ff", "streaming"),
    ("9fff", []), ("9f018202039f0405ffff", [1, [2, 3], [4, 5]]),
    ("bf61610161629f0203ffff", {"a": 1, "b": [2, 3]}),
    ("d8184100", Tagged(24, b"\x00")),
]


@pytest.mark.parametrize(("value", "encoded"), ROUND_TRIP)
def test_rfc_8949_examples_round_trip(value: object, encoded: str) -> None:
    assert loads(bytes.fromhex(encoded)) == value
    assert dumps(value).hex() == encoded


@pytest.mark.parametrize(("encoded", "value"), DECODE_ONLY)
def test_rfc_8949_examples_decode(encoded: str, value: object) -> None:
    assert loads(bytes.fromhex(encoded)) == value


@pytest.mark.parametrize(
    ("encoded", "words"),
    [
        ("", "ends early"),
        ("18", "ends early"),
        ("1c", "reserved additional information"),
        ("0000", "left over"),
        ("61ff", "not UTF-8"),
        ("a18000", "map key that is an array"),
        ("ff", "stray break"),
        ("9bffffffffffffffff", "longer than the data"),
        ("bbffffffffffffffff", "longer than the data"),
        ("5f6161ff", "chunk of another type"),
        ("1f", "indefinite length"),
        ("830102ff", "break byte inside a definite-length array"),
        ("a1", "longer than the data"),
        ("a20102", "longer than the data"),
        ("a201020318", "ends early"),
    ],
)
def test_malformed_cbor_raises_a_sentence(encoded: str, words: str) -> None:
    with pytest.raises(InvalidSignature) as info:
        loads(bytes.fromhex(encoded), what="the test data")
    assert words in str(info.value)
    assert str(info.value).startswith("The test data is not valid CBOR:")


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="nesting deeper"):
        loads(b"\x81" * 200 + b"\x00")


def test_encoding_unsupported_values_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        dumps(object())
    with pytest.raises(ValueError):
        dumps(1 << 64)
