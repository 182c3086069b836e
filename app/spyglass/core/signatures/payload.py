"""The "simple signing" payload that cosign and containers/image sign.

Both sign the same JSON shape; only ``critical.type`` differs ("cosign
container image signature" for cosign, "atomic container signature" for
containers/image with GPG)::

    {"critical": {"identity": {"docker-reference": "registry.example/app"},
                  "image": {"docker-manifest-digest": "sha256:…"},
                  "type": "cosign container image signature"},
     "optional": {"creator": "…", "timestamp": 1700000000, …}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from spyglass.core.digest import Digest
from spyglass.core.signatures._parse import get_digest, get_object, get_str, load_json_object
from spyglass.core.signatures.model import InvalidSignature, format_time


@dataclass(frozen=True)
class SimpleSigningPayload:
    """A parsed simple-signing payload; ``optional`` keeps every optional entry as text."""

    type: str
    docker_reference: str
    manifest_digest: Digest
    optional: tuple[tuple[str, str], ...] = field(default=())

    @property
    def creator(self) -> str | None:
        return dict(self.optional).get("creator")

    def fields(self) -> tuple[tuple[str, str], ...]:
        """Label/value pairs: signed reference, manifest digest, type, optional entries."""
        rows: list[tuple[str, str]] = [
            ("Signed reference", self.docker_reference or "(none)"),
            ("Manifest digest", str(self.manifest_digest)),
            ("Payload type", self.type),
        ]
        for key, value in self.optional:
            if key == "creator":
                rows.append(("Creator", value))
            elif key == "timestamp":
                rows.append(("Signed at", value))
            else:
                rows.append((f"Annotation {key}", value))
        return tuple(rows)


def parse_simple_signing_payload(
    data: bytes, *, what: str = "the signed payload"
) -> SimpleSigningPayload:
    """Parse a simple-signing payload; raise InvalidSignature naming the missing part."""
    document = load_json_object(data, what)
    critical = get_object(document, "critical", what)
    assert critical is not None
    identity = get_object(critical, "identity", f'the "critical" part of {what}')
    image = get_object(critical, "image", f'the "critical" part of {what}')
    assert identity is not None and image is not None
    kind = get_str(critical, "type", f'the "critical" part of {what}')
    reference = get_str(identity, "docker-reference", f"the identity in {what}")
    digest = get_digest(image, "docker-manifest-digest", f"the image in {what}")
    assert kind is not None and reference is not None
    optional_raw = document.get("optional")
    if optional_raw is not None and not isinstance(optional_raw, dict):
        raise InvalidSignature(f'{what[:1].upper()}{what[1:]} has a malformed "optional" part.')
    optional = tuple(
        (str(key), _optional_text(key, value))
        for key, value in sorted((optional_raw or {}).items())
    )
    return SimpleSigningPayload(kind, reference, digest, optional)


def _optional_text(key: str, value: Any) -> str:
    if key == "timestamp" and isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return format_time(datetime.fromtimestamp(value, UTC))
        except (OverflowError, OSError, ValueError):
            return str(value)
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True)
