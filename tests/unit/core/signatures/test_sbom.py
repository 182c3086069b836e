"""SBOM layers: format from media type (and content), size, names."""

from __future__ import annotations

import json

import pytest

from spyglass.core.digest import Digest
from spyglass.core.signatures import InvalidSignature, Kind, decode_sbom, sbom_format


@pytest.mark.parametrize(
    ("media_type", "data", "expected"),
    [
        ("text/spdx+json", None, "SPDX (JSON)"),
        ("spdx+json", b'{"spdxVersion": "SPDX-2.2"}', "SPDX 2.2 (JSON)"),
        ("application/spdx+json", b'{"spdxVersion": "SPDX-2.3"}', "SPDX 2.3 (JSON)"),
        ("text/spdx", b"SPDXVersion: SPDX-2.1\nDataLicense: CC0-1.0\n", "SPDX 2.1 (tag-value)"),
        ("application/vnd.cyclonedx+json", b'{"bomFormat":"CycloneDX","specVersion":"1.5"}',
         "CycloneDX 1.5 (JSON)"),
        ("application/vnd.cyclonedx+xml",
         b'<bom xmlns="http://cyclonedx.org/schema/bom/1.4"/>', "CycloneDX 1.4 (XML)"),
        ("application/vnd.syft+json", None, "Syft (JSON)"),
        ("application/octet-stream", None, None),
    ],
)
def test_sbom_format(media_type: str, data: bytes | None, expected: str | None) -> None:
    assert sbom_format(media_type, data) == expected


def test_decode_spdx_json_sbom() -> None:
    data = json.dumps({"spdxVersion": "SPDX-2.3", "name": "app-1.0",
                       "packages": [{"name": "a"}, {"name": "b"}]}).encode()
    decoded = decode_sbom("text/spdx+json", len(data), data)
    assert decoded.kind is Kind.SBOM
    assert decoded.field("SBOM format") == "SPDX 2.3 (JSON)"
    assert decoded.field("Document name") == "app-1.0"
    assert decoded.field("Packages") == "2"
    assert decoded.field("Size") == f"{len(data)} bytes"
    assert decoded.names_image(Digest.of(b"")) is None
    assert decoded.title == "SBOM (SPDX 2.3 (JSON)): app-1.0"


def test_decode_cyclonedx_names_its_component() -> None:
    data = json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6",
                       "metadata": {"component": {"name": "web"}},
                       "components": [{}, {}, {}]}).encode()
    decoded = decode_sbom("application/vnd.cyclonedx+json", len(data), data)
    assert decoded.field("Document name") == "web"
    assert decoded.field("Components") == "3"


def test_decode_by_media_type_and_size_only() -> None:
    decoded = decode_sbom("text/spdx", 5 * 1024 * 1024)
    assert decoded.field("SBOM format") == "SPDX (tag-value)"
    assert decoded.field("Size") == "5.0 MiB (5242880 bytes)"


def test_decode_tag_value_document_name() -> None:
    data = b"SPDXVersion: SPDX-2.3\nDocumentName: my-image\n"
    assert decode_sbom("text/spdx", len(data), data).field("Document name") == "my-image"


def test_not_an_sbom_media_type_raises() -> None:
    with pytest.raises(InvalidSignature, match='"image/png" is not an SBOM media type'):
        decode_sbom("image/png", 10)


def test_json_sbom_that_is_not_json_raises() -> None:
    with pytest.raises(InvalidSignature, match="not valid JSON"):
        decode_sbom("text/spdx+json", 3, b"{{{")
