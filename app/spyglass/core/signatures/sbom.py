"""SBOMs: which format an SBOM blob or an SBOM attestation predicate is in, and its size.

cosign attaches SBOMs as plain layers (``cosign attach sbom``, tags ending in
``.sbom``) whose media type names the format — ``text/spdx``,
``spdx+json`` (sic), ``application/vnd.cyclonedx+json``, … — and as
attestations whose predicate type is ``https://spdx.dev/Document`` or
``https://cyclonedx.org/bom``. When the content is at hand, the version is
read from it (``spdxVersion``, ``specVersion``).
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from spyglass.core.signatures import media
from spyglass.core.signatures.model import Decoded, InvalidSignature, Kind, format_size

_SPDX_TAG_VERSION: Final = re.compile(rb"^SPDXVersion:\s*SPDX-([0-9.]+)", re.MULTILINE)
_SPDX_TAG_NAME: Final = re.compile(rb"^DocumentName:\s*(.+?)\s*$", re.MULTILINE)
_CYCLONEDX_XML_VERSION: Final = re.compile(rb"cyclonedx\.org/schema/bom/([0-9.]+)")
_SNIFF_LIMIT: Final = 64 * 1024 * 1024


def sbom_format(media_type: str, data: bytes | None = None) -> str | None:
    """The SBOM format a media type names, with the version when ``data`` tells it.

    ``SPDX 2.3 (JSON)``, ``CycloneDX (XML)``, … or None for a media type that
    is not an SBOM.
    """
    base = media_type.split(";", 1)[0].strip().lower()
    if base in media.SPDX_JSON_TYPES:
        version = _json_field(data, "spdxVersion")
        return _versioned("SPDX", _strip_prefix(version, "SPDX-"), "JSON")
    if base in media.SPDX_TEXT_TYPES:
        match = _SPDX_TAG_VERSION.search(data) if data is not None else None
        return _versioned("SPDX", match.group(1).decode() if match else None, "tag-value")
    if base in media.CYCLONEDX_JSON_TYPES:
        return _versioned("CycloneDX", _json_field(data, "specVersion"), "JSON")
    if base in media.CYCLONEDX_XML_TYPES:
        match = _CYCLONEDX_XML_VERSION.search(data) if data is not None else None
        return _versioned("CycloneDX", match.group(1).decode() if match else None, "XML")
    if base in media.SYFT_JSON_TYPES:
        return "Syft (JSON)"
    return None


def is_sbom_media_type(media_type: str) -> bool:
    """True for the media types SBOM layers are stored with."""
    return media_type.split(";", 1)[0].strip().lower() in media.SBOM_TYPES


def predicate_sbom_format(predicate_type: str, predicate: Any = None) -> str | None:
    """The SBOM format of an in-toto predicate, or None when it is no SBOM."""
    inner = _unwrap_predicate(predicate)
    if predicate_type.startswith(media.SPDX_PREDICATE_PREFIX):
        version = inner.get("spdxVersion") if isinstance(inner, dict) else None
        if isinstance(inner, str):
            match = _SPDX_TAG_VERSION.search(inner.encode("utf-8", "replace"))
            return _versioned("SPDX", match.group(1).decode() if match else None, "tag-value")
        return _versioned("SPDX", _strip_prefix(_as_str(version), "SPDX-"), "JSON")
    if predicate_type.startswith(media.CYCLONEDX_PREDICATE_PREFIX):
        version = inner.get("specVersion") if isinstance(inner, dict) else None
        return _versioned("CycloneDX", _as_str(version), "JSON")
    if predicate_type.startswith(media.SYFT_PREDICATE_PREFIX):
        return "Syft (JSON)"
    return None


def decode_sbom(media_type: str, size: int, data: bytes | None = None) -> Decoded:
    """Describe a plain SBOM layer: its format (from the media type) and size.

    With ``data``, the format version, document name and package count are
    read too. Raises :class:`InvalidSignature` when the media type is no SBOM
    type, or JSON content is not JSON.
    """
    fmt = sbom_format(media_type, data)
    if fmt is None:
        raise InvalidSignature(
            f'"{media_type}" is not an SBOM media type; expected SPDX (text/spdx, '
            "text/spdx+json), CycloneDX (application/vnd.cyclonedx+json or +xml) or Syft."
        )
    rows: list[tuple[str, str]] = [("SBOM format", fmt), ("Media type", media_type),
                                   ("Size", format_size(size))]
    name: str | None = None
    if data is not None and fmt.endswith("(JSON)") and len(data) <= _SNIFF_LIMIT:
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise InvalidSignature(
                f"The {fmt.split()[0]} SBOM claims to be JSON ({media_type}) but is not "
                f"valid JSON: {exc}."
            ) from exc
        if isinstance(document, dict):
            name = _document_name(document)
            for key, label in (("packages", "Packages"), ("components", "Components"),
                               ("artifacts", "Packages")):
                items = document.get(key)
                if isinstance(items, list):
                    rows.append((label, str(len(items))))
                    break
    elif data is not None and fmt.endswith("(tag-value)"):
        match = _SPDX_TAG_NAME.search(data)
        if match:
            name = match.group(1).decode("utf-8", "replace")
    if name:
        rows.insert(1, ("Document name", name))
    return Decoded(
        kind=Kind.SBOM,
        title=f"SBOM ({fmt})" + (f": {name}" if name else ""),
        media_type=media_type,
        size=size,
        fields=tuple(rows),
    )


def _document_name(document: dict[str, Any]) -> str | None:
    """SPDX's ``name``, or CycloneDX's ``metadata.component.name``."""
    name = _as_str(document.get("name"))
    if name:
        return name
    metadata = document.get("metadata")
    component = metadata.get("component") if isinstance(metadata, dict) else None
    return _as_str(component.get("name")) if isinstance(component, dict) else None


def _unwrap_predicate(predicate: Any) -> Any:
    """Old cosign wrapped custom predicates as ``{"Data": …, "Timestamp": …}``."""
    if isinstance(predicate, dict) and set(predicate) <= {"Data", "Timestamp"} and \
            "Data" in predicate:
        data = predicate["Data"]
        if isinstance(data, str):
            try:
                return json.loads(data)
            except (json.JSONDecodeError, RecursionError):
                return data
        return data
    return predicate


def _json_field(data: bytes | None, key: str) -> str | None:
    if data is None or len(data) > _SNIFF_LIMIT:
        return None
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return _as_str(document.get(key)) if isinstance(document, dict) else None


def _as_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _strip_prefix(value: str | None, prefix: str) -> str | None:
    if value is not None and value.startswith(prefix):
        return value[len(prefix):]
    return value


def _versioned(name: str, version: str | None, encoding: str) -> str:
    return f"{name} {version} ({encoding})" if version else f"{name} ({encoding})"
