"""Dispatching: a layer by its media type, a ``dir:`` ``signature-N`` file by its first byte.

containers/image stores signatures in ``dir:`` layouts (and lookaside
stores) as ``signature-1``, ``signature-2``, … Each file is either

- a bare simple signing signature: an OpenPGP message, first byte a packet
  header (0xA3, 0x90, 0xC4, …); or
- a zero byte, a format name, a newline, then the format's data. The
  formats are ``simple-signing`` (an OpenPGP message again) and
  ``sigstore-json``: ``{"mimeType": …, "payload": <base64>,
  "annotations": {…}}``, a cosign signature (payload plus the layer
  annotations) as ``skopeo copy --sign-by-sigstore`` writes it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from spyglass.core.signatures import media
from spyglass.core.signatures._parse import b64decode, get_str, load_json_object
from spyglass.core.signatures.bundle import decode_bundle, is_bundle_media_type
from spyglass.core.signatures.cosign import decode_cosign_signature
from spyglass.core.signatures.dsse import decode_attestation, decode_statement
from spyglass.core.signatures.model import Decoded, InvalidSignature, Kind, format_size
from spyglass.core.signatures.notation import decode_notation
from spyglass.core.signatures.openpgp import looks_like_openpgp
from spyglass.core.signatures.sbom import decode_sbom, is_sbom_media_type
from spyglass.core.signatures.simplesigning import decode_simple_signing
from spyglass.core.text import visible


@dataclass(frozen=True)
class StoredSignature:
    """A ``signature-N`` file split into its format and contents.

    For ``simple-signing``, ``data`` is the OpenPGP message. For
    ``sigstore-json``, ``data`` is the decoded payload, and ``mime_type``
    and ``annotations`` are as stored (the signature is the
    ``dev.cosignproject.cosign/signature`` annotation).
    """

    format: str
    data: bytes
    mime_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)


def split_stored_signature(blob: bytes) -> StoredSignature:
    """Split a containers/image signature blob; raise InvalidSignature naming the problem."""
    if not blob:
        raise InvalidSignature("The signature file is empty.")
    if blob[0] != 0:
        if looks_like_openpgp(blob):
            return StoredSignature(media.DIR_SIMPLE_SIGNING_FORMAT, blob)
        raise InvalidSignature(
            f"The signature file starts with byte 0x{blob[0]:02x}: it is neither an OpenPGP "
            "message nor a containers/image signature (a zero byte and a format name)."
        )
    name, newline, chunk = blob[1:].partition(b"\n")
    if not newline:
        raise InvalidSignature(
            "The signature file starts with a zero byte but has no newline after the format name."
        )
    if any(b < 32 or b >= 0x7F for b in name):
        raise InvalidSignature("The signature file's format name is not printable ASCII.")
    format_name = name.decode("ascii")
    if format_name == media.DIR_SIMPLE_SIGNING_FORMAT:
        return StoredSignature(format_name, chunk)
    if format_name == media.DIR_SIGSTORE_FORMAT:
        what = "the sigstore signature in the signature file"
        document = load_json_object(chunk, what)
        mime_type = get_str(document, "mimeType", what, required=False)
        payload = b64decode(document.get("payload", ""), f"the payload of {what}")
        raw_annotations = document.get("annotations") or {}
        if not isinstance(raw_annotations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in raw_annotations.items()
        ):
            raise InvalidSignature(
                f'The "annotations" of {what} are not a map of strings to strings.'
            )
        return StoredSignature(format_name, payload, mime_type, dict(raw_annotations))
    raise InvalidSignature(
        f'The signature file has format "{format_name}"; expected '
        f'"{media.DIR_SIMPLE_SIGNING_FORMAT}" or "{media.DIR_SIGSTORE_FORMAT}".'
    )


FROM_BLOB_OPENPGP_STARTS: Final = frozenset({
    0xA0, 0xA1, 0xA2, 0xA3, 0xC8,  # a compressed data packet (old format, new format)
    0x90, 0x91, 0x92, 0x3D, 0xC4,  # a one-pass signature packet (0x3D where 0x93 was meant)
    0x88, 0x89, 0x8A, 0x8B, 0xC2,  # a signature packet
})
"""The first bytes containers/image's ``signature.FromBlob`` takes for a bare simple
signing signature (an OpenPGP message), its list as it is."""


def containers_image_refusal(blob: bytes) -> str | None:
    """Why containers/image (``signature.FromBlob``) refuses ``blob`` as a stored
    signature (``signature-N`` of a ``dir:`` image or a lookaside store), as a clause
    ("it is empty"), or None when it takes it: a bare OpenPGP message whose first byte is
    one of :data:`FROM_BLOB_OPENPGP_STARTS`, or a zero byte, ``simple-signing`` or
    ``sigstore-json``, a newline and the data (a JSON object for ``sigstore-json``).
    Stricter than :func:`split_stored_signature`, which reads armored messages too."""
    if not blob:
        return "it is empty"
    if blob[0] != 0:
        if blob[0] in FROM_BLOB_OPENPGP_STARTS:
            return None
        return ("it is neither an OpenPGP message nor a zero byte and a format name "
                "(containers/image's two forms)")
    name, newline, chunk = blob[1:].partition(b"\n")
    if not newline:
        return "it starts with a zero byte, but no newline ends a format name"
    if any(b < 32 or b >= 0x7F for b in name):
        return "its format name, after the zero byte, is not printable ASCII"
    format_name = name.decode("ascii")
    if format_name == media.DIR_SIMPLE_SIGNING_FORMAT:
        return None
    if format_name != media.DIR_SIGSTORE_FORMAT:
        return (f'its format "{format_name}" is neither "{media.DIR_SIMPLE_SIGNING_FORMAT}" '
                f'nor "{media.DIR_SIGSTORE_FORMAT}"')
    try:
        document = json.loads(chunk)
    except ValueError:
        document = []
    if document is not None and not isinstance(document, dict):  # (Go takes null)
        return f'its "{media.DIR_SIGSTORE_FORMAT}" data is not a JSON object'
    return None


SHOWN_START: Final = 40
"""How many of its first bytes the refusal of something that is no signature shows."""


def not_a_signature(blob: bytes) -> str | None:
    """What ``blob`` is said to be where containers/image refuses it as a stored
    signature (:func:`containers_image_refusal`), with why: ``something that is not a
    signature, starting with "<html>…": it is neither …``, ``nothing: it is empty``;
    None where it takes it."""
    refusal = containers_image_refusal(blob)
    if refusal is None:
        return None
    if not blob:
        return f"nothing: {refusal}"
    start = blob[:SHOWN_START].decode("utf-8", "surrogateescape")
    shown = f'"{visible(start)}{"…" if len(blob) > SHOWN_START else ""}"'
    return f"something that is not a signature, starting with {shown}: {refusal}"


def encode_sigstore_signature(
    payload: bytes, mime_type: str, annotations: Mapping[str, str]
) -> bytes:
    """A cosign signature layer as containers/image keeps it in a ``signature-N`` file:
    a zero byte, ``sigstore-json`` and a newline, then the JSON that
    :func:`split_stored_signature` reads back."""
    document = {
        "mimeType": mime_type,
        "payload": base64.b64encode(payload).decode("ascii"),
        "annotations": dict(annotations),
    }
    return (
        b"\0" + media.DIR_SIGSTORE_FORMAT.encode("ascii") + b"\n"
        + json.dumps(document, separators=(",", ":")).encode()
    )


def decode_stored_signature(blob: bytes) -> Decoded:
    """Decode a ``dir:`` ``signature-N`` file (simple signing or sigstore-json)."""
    stored = split_stored_signature(blob)
    if stored.format == media.DIR_SIMPLE_SIGNING_FORMAT:
        return decode_simple_signing(stored.data)
    return decode_layer(stored.data, stored.mime_type or "", stored.annotations)


def decode_layer(
    data: bytes,
    media_type: str,
    annotations: Mapping[str, str] | None = None,
    *,
    artifact_type: str | None = None,
) -> Decoded:
    """Decode one layer of a signature, attestation, SBOM or Notary artifact by media type.

    ``artifact_type`` (the manifest's ``artifactType`` or config media type)
    disambiguates Notary envelopes. A media type that is none of these gives
    a :attr:`Kind.OTHER` view with the size. Raises :class:`InvalidSignature`
    when the data does not match its media type.
    """
    notes = annotations or {}
    base = media_type.split(";", 1)[0].strip()
    if base == media.COSIGN_SIMPLESIGNING:
        return decode_cosign_signature(data, notes)
    if base == media.DSSE_ENVELOPE:
        return decode_attestation(data, notes)
    if base == media.IN_TOTO_PAYLOAD:
        return decode_statement(data, notes)
    if is_bundle_media_type(base):
        return decode_bundle(data, notes)
    if base in (media.NOTARY_JWS, media.NOTARY_COSE) and (
        artifact_type in (None, media.NOTARY_ARTIFACT_TYPE)
    ):
        return decode_notation(data, base)
    if is_sbom_media_type(base):
        return decode_sbom(media_type, len(data), data)
    return Decoded(
        kind=Kind.OTHER,
        title=f"Attached {media_type or 'blob'}",
        media_type=media_type,
        size=len(data),
        fields=(("Media type", media_type or "(none)"), ("Size", format_size(len(data)))),
    )
