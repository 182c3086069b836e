"""Make cosign-format signatures, attestations and certificates with ``cryptography`` only.

Everything returns plain bytes, strings and dicts, so unit tests can feed
them to the decoders and integration tests can push them to a registry or
write them into layouts:

- keys: :func:`generate_key` (ECDSA P-256/P-384, RSA, Ed25519),
  :func:`public_key_pem`, :func:`private_key_pem`;
- signatures: :func:`simple_signing_payload` (what cosign signs),
  :func:`sign` (the raw signature cosign makes: ECDSA/RSA over SHA-256,
  Ed25519 over the bytes), :func:`signature_layer` (payload + the layer
  annotations ``dev.cosignproject.cosign/signature`` and friends);
- attestations: :func:`in_toto_statement`, :func:`dsse_envelope` (signed
  over the DSSE PAE);
- certificates: :func:`make_certificate` (self-signed or CA-issued, with
  e-mail/URI SANs and the Fulcio OIDC issuer extensions 1.3.6.1.4.1.57264.1.1
  and .1.8), :func:`fulcio_like_certificate`, :func:`certificate_pem`;
- storage: :func:`rekor_bundle` (a bundle-shaped annotation, not a real
  Rekor entry), :func:`cosign_manifest` (an OCI manifest with its config and
  layer blobs, as ``cosign sign`` pushes it), :func:`cosign_tag`
  (``sha256-<hex>.sig``), :func:`stored_sigstore_signature` (a containers/image
  ``signature-N`` file in the ``sigstore-json`` format);
- layouts: :func:`signed_layout` (cosign's tags as ref names, an SBOM referrer),
  :func:`cosign_saved_layout` (as ``cosign save`` writes one: unnamed entries
  annotated ``kind``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, dump_json

__all__ = [
    "COSIGN_CONFIG",
    "COSIGN_PAYLOAD_TYPE",
    "DSSE_MEDIA_TYPE",
    "FULCIO_ISSUER_V1",
    "FULCIO_ISSUER_V2",
    "IN_TOTO_PAYLOAD_TYPE",
    "SIMPLESIGNING_MEDIA_TYPE",
    "CosignSaved",
    "PrivateKey",
    "certificate_der",
    "certificate_pem",
    "cosign_manifest",
    "cosign_saved_layout",
    "cosign_tag",
    "dsse_envelope",
    "fulcio_like_certificate",
    "generate_key",
    "in_toto_statement",
    "make_certificate",
    "pae",
    "private_key_pem",
    "public_key_pem",
    "rekor_bundle",
    "sign",
    "signature_layer",
    "simple_signing_payload",
    "stored_sigstore_signature",
]

PrivateKey: TypeAlias = (
    ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
)

SIMPLESIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
COSIGN_PAYLOAD_TYPE = "cosign container image signature"
COSIGN_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION = "dev.sigstore.cosign/chain"
BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
FULCIO_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
FULCIO_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")


# --------------------------------------------------------------------------- keys


def generate_key(kind: str = "ecdsa-p256") -> PrivateKey:
    """A fresh private key: ``ecdsa-p256`` (cosign's default), ``ecdsa-p384``,
    ``rsa`` (2048 bits) or ``ed25519``."""
    if kind == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ecdsa-p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unknown key kind {kind!r}")


def public_key_pem(key: PrivateKey) -> bytes:
    """The PEM ``-----BEGIN PUBLIC KEY-----`` block, as in ``cosign.pub``."""
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_key_pem(key: PrivateKey) -> bytes:
    """The unencrypted PKCS #8 PEM of ``key``."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def sign(key: PrivateKey, data: bytes, *, rsa_pss: bool = False,
         ecdsa_hash: hashes.HashAlgorithm | None = None) -> bytes:
    """Sign ``data`` as cosign does: ECDSA (DER) and RSA (PKCS #1 v1.5, or PSS) over
    SHA-256, Ed25519 over the bytes themselves."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(ecdsa_hash or hashes.SHA256()))
    if isinstance(key, rsa.RSAPrivateKey):
        pad: padding.AsymmetricPadding = (
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            if rsa_pss else padding.PKCS1v15()
        )
        return key.sign(data, pad, hashes.SHA256())
    return key.sign(data)


# --------------------------------------------------------------------------- signatures


def simple_signing_payload(
    docker_reference: str,
    manifest_digest: str,
    *,
    optional: Mapping[str, Any] | None = None,
    payload_type: str = COSIGN_PAYLOAD_TYPE,
) -> bytes:
    """The JSON cosign signs: ``{"critical": {...}, "optional": ...}``, compact as Go writes it.

    ``payload_type="atomic container signature"`` gives containers/image's variant.
    """
    document = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": payload_type,
        },
        "optional": dict(optional) if optional is not None else None,
    }
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def signature_layer(
    payload: bytes,
    key: PrivateKey | None,
    *,
    certificate: bytes | None = None,
    chain: bytes | None = None,
    bundle: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A cosign signature layer: its content (the payload) and its annotations.

    With ``key`` the signature annotation holds base64 of :func:`sign`; with
    ``certificate``/``chain`` (PEM) the keyless annotations are added.
    """
    annotations: dict[str, str] = {
        SIGNATURE_ANNOTATION: base64.b64encode(sign(key, payload)).decode() if key else ""
    }
    if certificate is not None:
        annotations[CERTIFICATE_ANNOTATION] = certificate.decode()
    if chain is not None:
        annotations[CHAIN_ANNOTATION] = chain.decode()
    if bundle is not None:
        annotations[BUNDLE_ANNOTATION] = bundle
    return payload, annotations


def rekor_bundle(log_index: int = 12345, integrated_time: int = 1_700_000_000) -> str:
    """A ``dev.sigstore.cosign/bundle`` value shaped like cosign's (the SET is not real)."""
    return json.dumps({
        "SignedEntryTimestamp": base64.b64encode(b"not a real signed entry timestamp").decode(),
        "Payload": {
            "body": base64.b64encode(b'{"kind":"hashedrekord"}').decode(),
            "integratedTime": integrated_time,
            "logIndex": log_index,
            "logID": "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d",
        },
    }, separators=(",", ":"))


def cosign_tag(manifest_digest: str, suffix: str = "sig") -> str:
    """The tag cosign stores attachments under: ``sha256-<hex>.sig`` (``.att``, ``.sbom``)."""
    return f"{manifest_digest.replace(':', '-')}.{suffix}"


def cosign_manifest(
    layers: Sequence[tuple[bytes, str, Mapping[str, str]]],
) -> tuple[bytes, dict[str, bytes]]:
    """An OCI manifest as cosign pushes it, and every blob it references by digest.

    ``layers`` are ``(content, media type, annotations)``. The config is the
    near-empty image config cosign writes, with ``rootfs.diff_ids`` of the layers.
    """
    blobs: dict[str, bytes] = {}
    descriptors = []
    for content, media_type, layer_annotations in layers:
        digest = "sha256:" + hashlib.sha256(content).hexdigest()
        blobs[digest] = content
        descriptor: dict[str, Any] = {"mediaType": media_type, "size": len(content),
                                      "digest": digest}
        if layer_annotations:
            descriptor["annotations"] = dict(layer_annotations)
        descriptors.append(descriptor)
    config = json.dumps({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d in descriptors]},
        "config": {},
    }, separators=(",", ":")).encode()
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    blobs[config_digest] = config
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": COSIGN_CONFIG, "size": len(config), "digest": config_digest},
        "layers": descriptors,
    }, separators=(",", ":")).encode()
    return manifest, blobs


def stored_sigstore_signature(
    payload: bytes,
    annotations: Mapping[str, str],
    mime_type: str = SIMPLESIGNING_MEDIA_TYPE,
) -> bytes:
    """A containers/image ``signature-N`` file in the ``sigstore-json`` format."""
    chunk = json.dumps({
        "mimeType": mime_type,
        "payload": base64.b64encode(payload).decode(),
        "annotations": dict(annotations),
    }, separators=(",", ":")).encode()
    return b"\x00sigstore-json\n" + chunk


# --------------------------------------------------------------------------- attestations


def in_toto_statement(
    subjects: Iterable[tuple[str, str]],
    predicate_type: str,
    predicate: Any,
    *,
    statement_type: str = "https://in-toto.io/Statement/v0.1",
) -> dict[str, Any]:
    """An in-toto statement; ``subjects`` are ``(name, "sha256:<hex>")`` pairs."""
    return {
        "_type": statement_type,
        "predicateType": predicate_type,
        "subject": [
            {"name": name, "digest": {digest.split(":", 1)[0]: digest.split(":", 1)[1]}}
            for name, digest in subjects
        ],
        "predicate": predicate,
    }


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding (written here independently of the app's)."""
    kind = payload_type.encode()
    return b" ".join([b"DSSEv1", str(len(kind)).encode(), kind,
                      str(len(payload)).encode(), payload])


def dsse_envelope(
    statement: Mapping[str, Any] | bytes,
    key: PrivateKey | None,
    *,
    payload_type: str = IN_TOTO_PAYLOAD_TYPE,
    keyid: str = "",
    extra_keys: Sequence[PrivateKey] = (),
) -> bytes:
    """A DSSE envelope of ``statement`` signed over the PAE by ``key`` (and ``extra_keys``)."""
    payload = statement if isinstance(statement, bytes) else json.dumps(
        statement, separators=(",", ":")
    ).encode()
    signed = pae(payload_type, payload)
    signatures = [
        {"keyid": keyid, "sig": base64.b64encode(sign(k, signed)).decode()}
        for k in ([key] if key is not None else []) + list(extra_keys)
    ]
    return json.dumps({
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": signatures,
    }, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- certificates


def make_certificate(
    subject_key: PrivateKey,
    *,
    common_name: str | None = None,
    organization: str | None = None,
    emails: Sequence[str] = (),
    uris: Sequence[str] = (),
    oidc_issuer: str | None = None,
    oidc_issuer_v1: bool = True,
    issuer_key: PrivateKey | None = None,
    issuer_certificate: x509.Certificate | None = None,
    ca: bool = False,
    not_before: dt.datetime | None = None,
    lifetime: dt.timedelta = dt.timedelta(minutes=10),
    path_length: int | None = None,
    key_usage: x509.KeyUsage | None = None,
    extended_key_usage: Sequence[x509.ObjectIdentifier] | None = None,
    without: Sequence[type[x509.ExtensionType]] = (),
) -> x509.Certificate:
    """A certificate for ``subject_key``: self-signed, or issued by ``issuer_key`` and
    ``issuer_certificate``. ``oidc_issuer`` adds the Fulcio extensions (.1.8 as a DER
    UTF8String, and .1.1 as the raw string unless ``oidc_issuer_v1=False``).

    By default a CA (``ca``) may sign certificates and CRLs with no path length limit
    (``path_length`` sets one), and an end-entity certificate is for digital signatures
    and code signing; ``key_usage`` and ``extended_key_usage`` replace those,
    ``without`` leaves out extensions (``x509.BasicConstraints``, say)."""
    attributes = []
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if common_name:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    subject = x509.Name(attributes)
    start = not_before or dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1)
    signer = issuer_key or subject_key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_certificate.subject if issuer_certificate is not None else subject)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + lifetime)
    )
    if x509.BasicConstraints not in without:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
    if x509.KeyUsage not in without:
        builder = builder.add_extension(
            key_usage or x509.KeyUsage(
                digital_signature=not ca, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca,
                crl_sign=ca, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    purposes = extended_key_usage if extended_key_usage is not None else (
        [] if ca else [ExtendedKeyUsageOID.CODE_SIGNING])
    if purposes and x509.ExtendedKeyUsage not in without:
        builder = builder.add_extension(x509.ExtendedKeyUsage(purposes), critical=False)
    names: list[x509.GeneralName] = [x509.RFC822Name(e) for e in emails]
    names += [x509.UniformResourceIdentifier(u) for u in uris]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=not attributes)
    if oidc_issuer is not None:
        raw = oidc_issuer.encode()
        if oidc_issuer_v1:
            builder = builder.add_extension(
                x509.UnrecognizedExtension(FULCIO_ISSUER_V1, raw), critical=False
            )
        builder = builder.add_extension(
            x509.UnrecognizedExtension(FULCIO_ISSUER_V2, _der_utf8(raw)), critical=False
        )
    algorithm = None if isinstance(signer, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(signer, algorithm)


def fulcio_like_certificate(
    key: PrivateKey,
    *,
    email: str | None = "signer@example.com",
    uri: str | None = None,
    oidc_issuer: str = "https://accounts.example.com",
) -> bytes:
    """A self-signed PEM certificate shaped like a Fulcio leaf: empty subject, SAN e-mail
    or URI, code-signing usage, OIDC issuer extensions, ten minutes of validity."""
    cert = make_certificate(
        key,
        emails=[email] if email else [],
        uris=[uri] if uri else [],
        oidc_issuer=oidc_issuer,
    )
    return certificate_pem(cert)


def certificate_pem(*certificates: x509.Certificate) -> bytes:
    """The PEM of one certificate, or a bundle of several in order."""
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


def certificate_der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def _der_utf8(raw: bytes) -> bytes:
    if len(raw) < 128:
        return bytes([0x0C, len(raw)]) + raw
    length = len(raw).to_bytes((len(raw).bit_length() + 7) // 8, "big")
    return bytes([0x0C, 0x80 | len(length)]) + length + raw


# --------------------------------------------------------------------------- layouts


def add_cosign_signature(builder: LayoutBuilder, digest: str,
                         key: PrivateKey | None = None) -> PrivateKey:
    """Sign the manifest ``digest`` of ``builder``'s layout as ``cosign sign`` does: a
    ``.sig`` manifest of one simple-signing layer, tagged ``sha256-<hex>.sig``; the key."""
    key = key or generate_key()
    layer = signature_layer(simple_signing_payload("example.com/app", digest), key)
    manifest, blobs = cosign_manifest([(layer[0], SIMPLESIGNING_MEDIA_TYPE, layer[1])])
    for blob in blobs.values():
        builder.add_blob(blob)
    builder.tag({"mediaType": OCI_MANIFEST, **builder.add_blob(manifest)},
                cosign_tag(digest, "sig"))
    return key


def signed_layout(root: Path, *, notation: bool = False) -> tuple[str, bytes]:
    """An image ``app`` with a cosign ``.sig`` ref and an SBOM referrer (or a Notary v2
    signature referrer); returns the image digest and the cosign public key."""
    builder = LayoutBuilder(root)
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"})]))
    builder.tag({k: v for k, v in image.items() if k != "platform"}, "app")
    digest = image["digest"]
    key = add_cosign_signature(builder, digest)
    empty = builder.add_blob(b"{}")
    content = b'{"spdxVersion":"SPDX-2.3"}' if not notation else b'{"payload":"x"}'
    part = builder.add_blob(content)
    artifact_type = (
        "application/vnd.cncf.notary.signature" if notation else "application/spdx+json"
    )
    referrer = dump_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
        "layers": [{"mediaType": "application/jose+json" if notation
                    else "application/spdx+json", **part}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": digest, "size": image["size"]},
    })
    written = builder.add_blob(referrer)
    builder.tag({"mediaType": OCI_MANIFEST, **written, "artifactType": artifact_type}, None)
    return digest, public_key_pem(key)


COSIGN_KIND = "kind"
"""The annotation of every ``index.json`` entry ``cosign save`` writes (pkg/oci/layout)."""
SAVED_IMAGE = "dev.cosignproject.cosign/image"
SAVED_INDEX = "dev.cosignproject.cosign/imageIndex"
SAVED_SIGS = "dev.cosignproject.cosign/sigs"
SAVED_ATTS = "dev.cosignproject.cosign/atts"


@dataclass(frozen=True)
class CosignSaved:
    """What :func:`cosign_saved_layout` wrote: digests, and the key that signed."""

    root: Path
    image: str
    """The digest of the image (or index) saved, which the signature names."""
    sig: str
    """The digest of the manifest the image's ``.sig`` tag named."""
    att: str
    """The digest of the manifest the image's ``.att`` tag named."""
    key: PrivateKey
    reference: str


def cosign_saved_layout(
    root: Path,
    key: PrivateKey | None = None,
    *,
    index: bool = False,
    reference: str = "example.com/team/app",
) -> CosignSaved:
    """An OCI layout as ``cosign save`` writes one (cosign's ``pkg/oci/layout``,
    ``WriteSignedImage`` / ``WriteSignedImageIndex``): an empty index, then the image
    (with ``index``, a list of two platforms) appended, then the manifest its ``.sig``
    tag named (a cosign signature of it by ``key``), then its ``.att`` (a signed SLSA
    attestation). No entry has a ref name; each is annotated ``kind``:
    ``dev.cosignproject.cosign/image`` (``/imageIndex``), ``/sigs``, ``/atts``."""
    key = key if key is not None else generate_key()
    builder = LayoutBuilder(root)
    if index:
        images = [builder.add_image(ImageSpec(architecture=arch, layers=[
            LayerSpec({"/etc/arch": f"{arch}\n".encode()})])) for arch in ("amd64", "arm64")]
        top = builder.add_index(images)
        kind = SAVED_INDEX
    else:
        image = builder.add_image(ImageSpec(layers=[LayerSpec({"/hello": b"hello\n"})]))
        top = {k: v for k, v in image.items() if k != "platform"}
        kind = SAVED_IMAGE
    builder.tag({**top, "annotations": {COSIGN_KIND: kind}}, None)
    digest = top["digest"]

    payload, annotations = signature_layer(simple_signing_payload(reference, digest), key)
    sig, blobs = cosign_manifest([(payload, SIMPLESIGNING_MEDIA_TYPE, annotations)])
    slsa = "https://slsa.dev/provenance/v0.2"
    statement = in_toto_statement([(reference, digest)], slsa, {"builder": {"id": "ci"}})
    att, more = cosign_manifest([(dsse_envelope(statement, key), DSSE_MEDIA_TYPE,
                                  {"predicateType": slsa})])
    for blob in [*blobs.values(), *more.values()]:
        builder.add_blob(blob)
    written: dict[str, str] = {}
    for manifest, kind in ((sig, SAVED_SIGS), (att, SAVED_ATTS)):
        descriptor = {"mediaType": OCI_MANIFEST, **builder.add_blob(manifest)}
        builder.tag({**descriptor, "annotations": {COSIGN_KIND: kind}}, None)
        written[kind] = descriptor["digest"]
    return CosignSaved(root, digest, written[SAVED_SIGS], written[SAVED_ATTS], key, reference)


# --------------------------------------------------------------------------- Sigstore bundles

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"


def sigstore_bundle(
    key: PrivateKey | None,
    *,
    image_digest: str,
    predicate_type: str = COSIGN_SIGN_PREDICATE,
    certificate: bytes | None = None,
    message: bytes | None = None,
) -> bytes:
    """A Sigstore bundle (v0.3) as cosign --new-bundle-format writes one: a DSSE envelope
    of an in-toto statement about ``image_digest`` (default), or, with ``message``, a
    ``messageSignature`` over the sha256 of ``message``. ``certificate`` (DER) makes it
    keyless; a Rekor entry is listed either way (its proofs are not real)."""
    material: dict[str, Any] = {
        "tlogEntries": [{"logIndex": "4242", "integratedTime": "1700000000",
                         "kindVersion": {"kind": "dsse", "version": "0.0.1"}}],
    }
    if certificate is not None:
        material["certificate"] = {"rawBytes": base64.b64encode(certificate).decode()}
    else:
        material["publicKey"] = {"hint": "spyglass-test-key"}
    bundle: dict[str, Any] = {"mediaType": BUNDLE_MEDIA_TYPE, "verificationMaterial": material}
    if message is not None:
        signature = sign(key, message) if key is not None else b""
        digest = base64.b64encode(hashlib.sha256(message).digest()).decode()
        bundle["messageSignature"] = {
            "messageDigest": {"algorithm": "SHA2_256", "digest": digest},
            "signature": base64.b64encode(signature).decode(),
        }
    else:
        statement = in_toto_statement([("image", image_digest)], predicate_type, {})
        bundle["dsseEnvelope"] = json.loads(dsse_envelope(statement, key))
    return json.dumps(bundle, separators=(",", ":")).encode()
