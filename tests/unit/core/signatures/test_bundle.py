"""Sigstore bundles (cosign --new-bundle-format): decoded, verified, found as referrers."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from spyglass.core.digest import Digest
from spyglass.core.signatures import Kind, Status, decode_bundle, verify_bundle
from spyglass.core.signatures.attached import find_attachments, read_attachment, verify_part
from spyglass.core.signatures.model import InvalidSignature
from spyglass.core.transports import open_source
from tests.helpers import cosign
from tests.helpers.imagebuild import (
    OCI_MANIFEST,
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    dump_json,
    sha256_digest,
)

IMAGE = "sha256:" + "ab" * 32
OTHER = "sha256:" + "cd" * 32


def test_dsse_bundle_signed_with_a_key() -> None:
    key = cosign.generate_key()
    bundle = cosign.sigstore_bundle(key, image_digest=IMAGE)
    decoded = decode_bundle(bundle)
    assert decoded.kind is Kind.COSIGN_SIGNATURE
    assert decoded.names_image(Digest.parse(IMAGE)) is True
    assert decoded.field("Signature type") == "key"
    assert "log index 4242" in (decoded.field("Transparency log") or "")
    public = cosign.public_key_pem(key)
    assert verify_bundle(bundle, public, Digest.parse(IMAGE)).status is Status.VERIFIED
    assert verify_bundle(bundle, public, Digest.parse(OTHER)).status is Status.WRONG_IMAGE
    other_key = cosign.public_key_pem(cosign.generate_key())
    assert verify_bundle(bundle, other_key, Digest.parse(IMAGE)).status is Status.BAD_SIGNATURE
    assert verify_bundle(bundle, None, Digest.parse(IMAGE)).status is Status.NOT_CHECKED
    # a payload changed after signing no longer verifies
    tampered = json.loads(bundle)
    statement = cosign.in_toto_statement([("image", OTHER)], cosign.COSIGN_SIGN_PREDICATE, {})
    tampered["dsseEnvelope"]["payload"] = base64.b64encode(
        json.dumps(statement).encode()).decode()
    assert verify_bundle(json.dumps(tampered).encode(), public,
                         Digest.parse(OTHER)).status is Status.BAD_SIGNATURE


def test_an_attestation_bundle_names_its_predicate() -> None:
    key = cosign.generate_key()
    bundle = cosign.sigstore_bundle(key, image_digest=IMAGE,
                                    predicate_type="https://slsa.dev/provenance/v1")
    decoded = decode_bundle(bundle)
    assert decoded.kind is Kind.ATTESTATION
    assert decoded.field("Predicate type") == "https://slsa.dev/provenance/v1"


@pytest.mark.parametrize("kind", ["ecdsa-p256", "rsa"])
def test_message_signature_bundle(kind: str) -> None:
    key = cosign.generate_key(kind)
    manifest = b'{"schemaVersion":2}'
    digest = Digest("sha256", hashlib.sha256(manifest).hexdigest())
    bundle = cosign.sigstore_bundle(key, image_digest=str(digest), message=manifest)
    decoded = decode_bundle(bundle)
    assert decoded.claimed_digest == digest
    public = cosign.public_key_pem(key)
    assert verify_bundle(bundle, public, digest).status is Status.VERIFIED
    assert verify_bundle(bundle, public, Digest.parse(OTHER)).status is Status.WRONG_IMAGE
    wrong = cosign.public_key_pem(cosign.generate_key(kind))
    assert verify_bundle(bundle, wrong, digest).status is Status.BAD_SIGNATURE


def test_keyless_bundle_shows_the_identity_and_is_not_checked() -> None:
    key = cosign.generate_key()
    pem = cosign.fulcio_like_certificate(key)
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    bundle = cosign.sigstore_bundle(key, image_digest=IMAGE, certificate=der)
    decoded = decode_bundle(bundle)
    assert decoded.identity is not None and decoded.certificate is not None
    result = verify_bundle(bundle, None, Digest.parse(IMAGE))
    assert result.status is Status.NOT_CHECKED and "trust root" in result.detail


@pytest.mark.parametrize("data", [
    b"not json", b"{}", b'{"verificationMaterial": {}}',
    b'{"verificationMaterial": {}, "dsseEnvelope": {"payload": "!!"}}',
])
def test_malformed_bundles_are_sentences(data: bytes) -> None:
    with pytest.raises(InvalidSignature):
        decode_bundle(data)
    assert verify_bundle(data, None, Digest.parse(IMAGE)).status in (
        Status.BAD_SIGNATURE, Status.NOT_CHECKED)


def test_bundle_referrer_in_a_layout_is_found_decoded_and_verified(tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path / "layout")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"})]))
    builder.tag({k: v for k, v in image.items() if k != "platform"}, "app")
    key = cosign.generate_key()
    bundle = cosign.sigstore_bundle(key, image_digest=image["digest"])
    empty = builder.add_blob(b"{}")
    layer = builder.add_blob(bundle)
    manifest = dump_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": cosign.BUNDLE_MEDIA_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
        "layers": [{"mediaType": cosign.BUNDLE_MEDIA_TYPE, **layer}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": image["digest"],
                    "size": image["size"]},
    })
    written = builder.add_blob(manifest)
    builder.tag({"mediaType": OCI_MANIFEST, **written,
                 "artifactType": cosign.BUNDLE_MEDIA_TYPE}, None)
    assert written["digest"] == sha256_digest(manifest)
    source = open_source(f"oci:{tmp_path / 'layout'}:app")
    digest = Digest.parse(image["digest"])
    (found,) = find_attachments(source, digest)
    assert found.kind is Kind.COSIGN_SIGNATURE
    part = read_attachment(source, found).parts[0]
    assert part.decoded is not None and part.decoded.kind is Kind.COSIGN_SIGNATURE
    assert verify_part(part, digest, key=cosign.public_key_pem(key)).status is Status.VERIFIED


def test_a_bundle_cannot_become_a_signature_file(tmp_path: Path) -> None:
    """dir: keeps containers/image signature files; a Sigstore bundle has no such form, so
    a copy there is refused up front (and goes with --remove-signatures)."""
    from spyglass.core.copy import CopyOptions, copy_image
    from spyglass.core.errors import Unsupported
    from spyglass.core.transports import open_destination

    test_bundle_referrer_in_a_layout_is_found_decoded_and_verified(tmp_path)
    name = f"oci:{tmp_path / 'layout'}:app"
    with pytest.raises(Unsupported, match="without signatures") as refused:
        copy_image(open_source(name), open_destination(f"dir:{tmp_path / 'dir'}"))
    assert "--remove-signatures" in str(refused.value.on_command_line)
    copy_image(open_source(name), open_destination(f"dir:{tmp_path / 'dir'}"),
               CopyOptions(remove_signatures=True))
    assert not (tmp_path / "dir" / "signature-1").exists()
