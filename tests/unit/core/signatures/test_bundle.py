"""Sigstore bundles (cosign --new-bundle-format): decoded, verified, found as referrers."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from spyglass.core.digest import Digest
from spyglass.core.signatures import Kind, Status, decode_bundle, verify_bundle
from spyglass.core.signatures.attached import (
    find_attachments,
    image_attachments,
    read_attachment,
    verify_part,
)
from spyglass.core.signatures.model import InvalidSignature
from spyglass.core.transports import open_source
from tests.helpers import cosign
from tests.helpers.cosign import PrivateKey
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


# --------------------------------------------------------------------------- odd bundles


def _odd(change: str) -> bytes:
    """A key-signed bundle of IMAGE with one odd field, as the explorer's report found."""
    bundle = json.loads(cosign.sigstore_bundle(cosign.generate_key(), image_digest=IMAGE))
    material = bundle["verificationMaterial"]
    if change == "huge-time":
        material["tlogEntries"][0]["integratedTime"] = "99999999999999999999"
    elif change == "odd-digits":
        material["tlogEntries"][0]["integratedTime"] = "²"
    else:
        material["timestampVerificationData"] = {"rfc3161Timestamps": 5}
    return json.dumps(bundle).encode()


def test_an_integrated_time_no_date_holds_is_shown_as_it_is() -> None:
    """A time past what a date holds made decoding crash (OverflowError), and the whole
    listing with it; ``²`` is a digit that int() refuses (ValueError)."""
    log = decode_bundle(_odd("huge-time")).field("Transparency log") or ""
    assert "'99999999999999999999', not a time" in log and "log index 4242" in log
    assert "'²', not a time" in (decode_bundle(_odd("odd-digits")).field("Transparency log")
                                 or "")


def test_rfc3161_timestamps_that_are_no_list_are_said_so() -> None:
    """``len(5)`` made decoding crash with a TypeError."""
    assert decode_bundle(_odd("timestamps")).field("RFC 3161 timestamps") == "not a list"


def _layout_with(tmp_path: Path, bundles: list[bytes]) -> tuple[str, Digest, PrivateKey]:
    """A layout image ``app`` with each of ``bundles`` attached as a referrer, and a
    cosign signature under its ``.sig`` ref; the name, the image digest and the key."""
    builder = LayoutBuilder(tmp_path / "layout")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"})]))
    builder.tag({k: v for k, v in image.items() if k != "platform"}, "app")
    empty = builder.add_blob(b"{}")
    for bundle in bundles:
        layer = builder.add_blob(bundle)
        written = builder.add_blob(dump_json({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "artifactType": cosign.BUNDLE_MEDIA_TYPE,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
            "layers": [{"mediaType": cosign.BUNDLE_MEDIA_TYPE, **layer}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": image["digest"],
                        "size": image["size"]},
        }))
        builder.tag({"mediaType": OCI_MANIFEST, **written,
                     "artifactType": cosign.BUNDLE_MEDIA_TYPE}, None)
    key = cosign.add_cosign_signature(builder, image["digest"])
    return f"oci:{tmp_path / 'layout'}:app", Digest.parse(image["digest"]), key


@pytest.mark.parametrize("change", ["huge-time", "timestamps"])
def test_odd_bundles_leave_everything_else_listed(tmp_path: Path, change: str) -> None:
    """The explorer's bundles (found as referrers) are listed, decoded, beside the image's
    cosign signature; the listing used to stop at them."""
    name, digest, key = _layout_with(tmp_path, [_odd(change)])
    (subject,) = image_attachments(open_source(name))
    kinds = sorted(str(content.kind) for content in subject.attachments)
    assert kinds == ["cosign signature", "cosign signature"]
    assert all(part.decoded is not None for content in subject.attachments
               for part in content.parts)
    signature = next(c for c in subject.attachments if c.attachment.tag is not None)
    assert verify_part(signature.parts[0], digest,
                       key=cosign.public_key_pem(key)).status is Status.VERIFIED


@pytest.mark.parametrize("slip", [ValueError("bad"), TypeError("odd"), OverflowError("big")])
def test_a_decoder_that_fails_unexpectedly_spoils_only_its_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slip: Exception
) -> None:
    """A decoder that lets an error of its own through (as the bundle decoder did) makes
    that part undecodable, saying so and why; the other attachments are still read. An
    error of another kind is not taken for odd content (a programming error stays one)."""
    from spyglass.core.signatures import attached

    real = attached.decode_layer

    def decode_layer(data: bytes, media_type: str, *args: Any, **kwargs: Any) -> Any:
        if media_type == cosign.BUNDLE_MEDIA_TYPE:
            raise slip
        return real(data, media_type, *args, **kwargs)

    monkeypatch.setattr(attached, "decode_layer", decode_layer)
    name, digest, key = _layout_with(tmp_path, [cosign.sigstore_bundle(None, image_digest=IMAGE)])
    (subject,) = image_attachments(open_source(name))
    bundle = next(c for c in subject.attachments if c.attachment.tag is None)
    (part,) = bundle.parts
    assert part.decoded is None and part.error is not None
    assert part.error.startswith(f"The part {sha256_digest(part.data)} could not be decoded: "
                                 f"its decoder failed with {type(slip).__name__}: {slip} ")
    signature = next(c for c in subject.attachments if c.attachment.tag is not None)
    assert signature.parts[0].decoded is not None
    assert verify_part(part, digest, key=cosign.public_key_pem(key)).status is Status.UNSUPPORTED

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise AttributeError("a programming error")

    monkeypatch.setattr(attached, "decode_layer", broken)
    with pytest.raises(AttributeError):
        image_attachments(open_source(name))


@pytest.mark.parametrize("kind", ["ecdsa-p256", "rsa"])
def test_a_message_digest_of_the_wrong_length_is_a_bad_signature(kind: str) -> None:
    """A 5-byte SHA2_256 digest made the key's verify raise ValueError: an 'unexpected
    internal error' on the command line, with no JSON printed."""
    key = cosign.generate_key(kind)
    bundle = json.loads(cosign.sigstore_bundle(key, image_digest=IMAGE, message=b"hello"))
    bundle["messageSignature"]["messageDigest"]["digest"] = base64.b64encode(b"short").decode()
    result = verify_bundle(json.dumps(bundle).encode(), cosign.public_key_pem(key),
                           Digest.parse(IMAGE))
    assert result.status is Status.BAD_SIGNATURE
    assert result.detail == ("The bundle's message digest is 5 bytes, not the 32 bytes of a "
                             "SHA2_256 digest, so no signature can be over it.")


def test_a_bundle_signature_is_called_a_signature() -> None:
    """A bundle of cosign's sign predicate is listed as a cosign signature; verified, it was
    'the attestation (https://sigstore.dev/cosign/sign/v1) is good'. An attestation
    bundle is still called one."""
    key = cosign.generate_key()
    public = cosign.public_key_pem(key)
    bundle = cosign.sigstore_bundle(key, image_digest=IMAGE)
    assert verify_bundle(bundle, public, Digest.parse(IMAGE)).detail == (
        "Verified with the given ECDSA P-256 key: the signature "
        "(https://sigstore.dev/cosign/sign/v1) is good and names this image.")
    assert verify_bundle(bundle, public, Digest.parse(OTHER)).detail == (
        f"The signature is good, but the signed statement is about image ({IMAGE}), not "
        f"this image ({OTHER}).")
    other = cosign.public_key_pem(cosign.generate_key())
    assert verify_bundle(bundle, other, Digest.parse(IMAGE)).detail.startswith(
        "The signature does not match the signed statement for the given ECDSA P-256 key")
    provenance = cosign.sigstore_bundle(key, image_digest=IMAGE,
                                        predicate_type="https://slsa.dev/provenance/v1")
    assert verify_bundle(provenance, public, Digest.parse(IMAGE)).detail == (
        "Verified with the given ECDSA P-256 key: the attestation "
        "(https://slsa.dev/provenance/v1) is good and names this image.")
