"""containers/image "simple signing" signatures: GPG-signed payloads, decoded for people.

These are what ``skopeo copy --sign-by`` and ``podman push --sign-by`` write
(to ``dir:`` as ``signature-N``, to lookaside stores, or as
``X-Registry-Supports-Signatures`` extensions): a binary OpenPGP message whose
literal data is the simple-signing payload with ``critical.type`` "atomic
container signature". Checking the signature goes through GnuPG
(:func:`spyglass.core.signatures.gpg.verify_simple_signing`).
"""

from __future__ import annotations

from spyglass.core.signatures.model import Decoded, Kind, format_size, format_time
from spyglass.core.signatures.openpgp import parse_openpgp_message
from spyglass.core.signatures.payload import parse_simple_signing_payload

MEDIA_TYPE = "application/pgp-signature"
"""What a simple signing signature is shown as; it is stored without a media type."""


def decode_simple_signing(blob: bytes) -> Decoded:
    """Decode a simple signing signature (OpenPGP message) without verifying it.

    Shows the signed reference and manifest digest from the payload, and the
    key ID, fingerprint, algorithm and creation time from the signature
    packet. Raises :class:`InvalidSignature` on malformed input.
    """
    message = parse_openpgp_message(blob)
    assert message.literal_data is not None
    parsed = parse_simple_signing_payload(
        message.literal_data, what="the payload of the simple signing signature"
    )
    rows = list(parsed.fields())
    signature = message.signatures[0]
    key_id = message.key_id
    rows.append(("Signature type", "OpenPGP (GPG)"))
    rows.append(("Key ID", key_id or "(not stated)"))
    if signature.issuer_fingerprint:
        rows.append(("Key fingerprint", signature.issuer_fingerprint))
    rows.append(("Signature algorithm", signature.algorithm_text))
    if signature.created is not None:
        rows.append(("Signature created", format_time(signature.created)))
    if message.compression is not None:
        rows.append(("Compression", message.compression))
    if len(message.signatures) > 1:
        rows.append(("Signatures", str(len(message.signatures))))
    rows.append(("Size", format_size(len(blob))))
    title = f"Simple signing signature of {parsed.docker_reference or parsed.manifest_digest.short}"
    if key_id:
        title += f" by key {key_id}"
    return Decoded(
        kind=Kind.SIMPLE_SIGNING,
        title=title,
        media_type=MEDIA_TYPE,
        size=len(blob),
        fields=tuple(rows),
        claimed_digest=parsed.manifest_digest,
        claimed_reference=parsed.docker_reference,
        key_id=signature.issuer_fingerprint or key_id,
    )
