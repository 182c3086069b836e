"""Finding, reading and checking what is attached to an image (spyglass.core.signatures.attached).

The places are real: OCI layouts written with :class:`LayoutBuilder` holding an
image, cosign's ``sha256-<hex>.sig``/``.att`` tags as ref names (as a copy from a
registry keeps them), an SBOM artifact whose ``subject`` is the image (as ``oras
attach`` keeps it in a layout) and BuildKit attestation entries of a manifest list;
layouts as ``cosign save`` writes them (no names, entries annotated ``kind``);
``dir:`` folders written by hand as ``skopeo copy [--all] --sign-by…`` leaves
them, with ``signature-N`` and ``<hex>.signature-N`` files.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spyglass.core import media
from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import Cancelled, TooLarge
from spyglass.core.manifest import ImageIndex, parse_manifest
from spyglass.core.referrers import (
    BUILDKIT_ATTESTATION,
    BUILDKIT_REFERENCE_DIGEST,
    BUILDKIT_REFERENCE_TYPE,
)
from spyglass.core.signatures import Kind, Status
from spyglass.core.signatures import media as sigmedia
from spyglass.core.signatures.attached import (
    MAX_PART_SIZE,
    AttachedPart,
    Attachment,
    AttachmentContent,
    find_attachments,
    guess_kind,
    image_attachments,
    read_attachment,
    verify_part,
)
from spyglass.core.signatures.model import Decoded
from spyglass.core.transports.base import AttachmentSource, ImageSource
from spyglass.core.transports.dirlayout import open_dir_image
from spyglass.core.transports.layout import open_layout_image
from tests.helpers import cosign
from tests.helpers.cosign import (
    DSSE_MEDIA_TYPE,
    SIMPLESIGNING_MEDIA_TYPE,
    PrivateKey,
    cosign_manifest,
    cosign_tag,
    dsse_envelope,
    generate_key,
    in_toto_statement,
    public_key_pem,
    signature_layer,
    simple_signing_payload,
    stored_sigstore_signature,
)
from tests.helpers.imagebuild import (
    OCI_MANIFEST,
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    dump_json,
    sha256_digest,
)
from tests.helpers.pgp import ThrowawayGpg, atomic_payload

REFERENCE = "registry.example/team/app"
SPDX = "application/spdx+json"
CREATED = "org.opencontainers.image.created"
SBOM_CREATED = "2024-05-01T12:00:00Z"
SLSA = "https://slsa.dev/provenance/v0.2"
SPDX_DOCUMENT = dump_json({
    "spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "app",
    "packages": [{"name": "busybox", "SPDXID": "SPDXRef-busybox"}],
})
EMPTY_CONFIG = b"{}"
OTHER_IMAGE = Digest.of(b"some other image")


# --------------------------------------------------------------------------- building


def add_manifest(builder: LayoutBuilder, manifest: dict[str, Any]) -> dict[str, Any]:
    """Store a manifest as a blob; its descriptor (no platform)."""
    return {"mediaType": manifest.get("mediaType", OCI_MANIFEST),
            **builder.add_blob(dump_json(manifest))}


def add_cosign(
    builder: LayoutBuilder,
    layers: list[tuple[bytes, str, dict[str, str]]],
    *,
    subject: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A manifest as ``cosign sign``/``attest`` pushes it (optionally with a ``subject``)."""
    raw, blobs = cosign_manifest(layers)
    for blob in blobs.values():
        builder.add_blob(blob)
    manifest = json.loads(raw)
    if subject is not None:
        manifest["subject"] = subject
    return add_manifest(builder, manifest)


def add_artifact(
    builder: LayoutBuilder,
    artifact_type: str,
    layers: list[dict[str, Any]],
    subject: dict[str, Any],
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An OCI 1.1 artifact manifest (empty config) with ``subject``, as ``oras attach`` writes."""
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": media.OCI_EMPTY, **builder.add_blob(EMPTY_CONFIG)},
        "layers": layers,
        "subject": subject,
    }
    if annotations:
        manifest["annotations"] = annotations
    return add_manifest(builder, manifest)


def subject_of(descriptor: dict[str, Any]) -> dict[str, Any]:
    return {k: descriptor[k] for k in ("mediaType", "digest", "size")}


def sign_cosign(key: PrivateKey, digest: str) -> tuple[bytes, str, dict[str, str]]:
    payload, annotations = signature_layer(simple_signing_payload(REFERENCE, digest), key)
    return payload, SIMPLESIGNING_MEDIA_TYPE, annotations


def attest(key: PrivateKey, digest: str) -> tuple[bytes, str, dict[str, str]]:
    statement = in_toto_statement([(REFERENCE, digest)], SLSA, {"builder": {"id": "ci"}})
    return dsse_envelope(statement, key), DSSE_MEDIA_TYPE, {"predicateType": SLSA}


def image_spec(arch: str = "amd64", variant: str | None = None) -> ImageSpec:
    return ImageSpec(architecture=arch, variant=variant,
                     layers=[LayerSpec({"/etc/arch": f"{arch}\n".encode()})])


@pytest.fixture(scope="module")
def key() -> PrivateKey:
    return generate_key()


@pytest.fixture(scope="module")
def wrong_key() -> PrivateKey:
    return generate_key()


class SignedLayout:
    """An OCI layout: ``latest`` (one image), its cosign ``.sig`` and ``.att`` refs, and an
    SBOM artifact whose subject is the image."""

    def __init__(self, root: Path, key: PrivateKey) -> None:
        self.root = root
        self.builder = LayoutBuilder(root)
        self.image = self.builder.add_image(image_spec())
        self.builder.tag(self.image, "latest")
        self.digest = Digest.parse(self.image["digest"])
        self.sig = add_cosign(self.builder, [sign_cosign(key, self.image["digest"])])
        self.builder.tag(self.sig, cosign_tag(self.image["digest"], "sig"))
        self.att = add_cosign(self.builder, [attest(key, self.image["digest"])])
        self.builder.tag(self.att, cosign_tag(self.image["digest"], "att"))
        self.sbom_layer = {"mediaType": SPDX, **self.builder.add_blob(SPDX_DOCUMENT)}
        self.sbom = add_artifact(self.builder, SPDX, [self.sbom_layer], subject_of(self.image),
                                 {CREATED: SBOM_CREATED})
        self.builder.tag(self.sbom, None)  # oras keeps referrers in index.json, unnamed

    def source(self) -> ImageSource:
        return open_layout_image(self.root, "latest")


@pytest.fixture
def layout(tmp_path: Path, key: PrivateKey) -> SignedLayout:
    return SignedLayout(tmp_path / "layout", key)


def read_all(source: ImageSource, digest: Digest, **kwargs: Any) -> list[AttachmentContent]:
    return [read_attachment(source, a) for a in find_attachments(source, digest, **kwargs)]


def only_part(content: AttachmentContent) -> AttachedPart:
    assert content.error is None
    [part] = content.parts
    return part


# --------------------------------------------------------------------------- guess_kind


@pytest.mark.parametrize(
    ("artifact_type", "tag", "kind"),
    [
        (None, f"sha256-{'a' * 64}.sig", Kind.COSIGN_SIGNATURE),
        (None, f"sha256-{'a' * 64}.att", Kind.ATTESTATION),
        (None, f"sha256-{'a' * 64}.sbom", Kind.SBOM),
        (SPDX, f"sha256-{'a' * 64}.sig", Kind.COSIGN_SIGNATURE),  # the tag wins
        ("application/vnd.cncf.notary.signature", None, Kind.NOTARY_SIGNATURE),
        ("application/vnd.dev.cosign.artifact.sig.v1+json", None, Kind.COSIGN_SIGNATURE),
        ("application/vnd.dev.sigstore.bundle.v0.3+json", None, Kind.COSIGN_SIGNATURE),
        ("application/vnd.dsse.envelope.v1+json", None, Kind.ATTESTATION),
        ("application/vnd.in-toto+json", None, Kind.ATTESTATION),
        ("application/vnd.example.attestation.v1", None, Kind.ATTESTATION),
        (SPDX, None, Kind.SBOM),
        ("application/vnd.cyclonedx+json", None, Kind.SBOM),
        ("application/vnd.example.sbom.v1+json", None, Kind.SBOM),
        # another tool's signature is no cosign signature (it was called one)
        ("application/vnd.example.signature.v1", None, Kind.SIGNATURE),
        ("application/pgp-signature", None, Kind.SIGNATURE),
        ("application/vnd.oci.image.config.v1+json", None, Kind.OTHER),
        ("application/vnd.example.readme", None, Kind.OTHER),
        ("", None, Kind.OTHER),
        (None, None, Kind.OTHER),
        (None, "latest", Kind.OTHER),
    ],
)
def test_guess_kind(artifact_type: str | None, tag: str | None, kind: Kind) -> None:
    assert guess_kind(artifact_type, tag) is kind


# --------------------------------------------------------------------------- OCI layouts


def test_layout_sources_are_attachment_sources(layout: SignedLayout) -> None:
    assert isinstance(layout.source(), AttachmentSource)


def test_every_way_of_attaching_is_found_in_a_layout(layout: SignedLayout) -> None:
    found = find_attachments(layout.source(), layout.digest)
    sig_tag = cosign_tag(layout.image["digest"], "sig")
    att_tag = cosign_tag(layout.image["digest"], "att")
    assert [(a.found, a.kind, str(a.descriptor.digest) if a.descriptor else None)
            for a in found] == [
        ("OCI referrer", Kind.SBOM, layout.sbom["digest"]),
        (f"tag {sig_tag}", Kind.COSIGN_SIGNATURE, layout.sig["digest"]),
        (f"tag {att_tag}", Kind.ATTESTATION, layout.att["digest"]),
    ]
    assert all(a.subject == layout.digest for a in found)
    referrer, sig, att = found
    assert referrer.artifact_type == SPDX and referrer.tag is None
    assert (sig.tag, att.tag) == (sig_tag, att_tag)
    assert referrer.stored is None and referrer.key == layout.sbom["digest"]


def test_nothing_is_attached_to_another_manifest(layout: SignedLayout) -> None:
    # the attachments themselves, and a digest the layout does not hold, have none
    source = layout.source()
    assert find_attachments(source, Digest.parse(layout.sig["digest"])) == []
    assert find_attachments(source, OTHER_IMAGE) == []


def test_cosign_signature_reads_decodes_and_verifies(
    layout: SignedLayout, key: PrivateKey, wrong_key: PrivateKey
) -> None:
    source = layout.source()
    [signature] = [a for a in find_attachments(source, layout.digest)
                   if a.kind is Kind.COSIGN_SIGNATURE]
    content = read_attachment(source, signature)
    assert content.kind is Kind.COSIGN_SIGNATURE
    assert content.manifest == layout.builder.read_blob(layout.sig["digest"])
    part = only_part(content)
    assert part.media_type == SIMPLESIGNING_MEDIA_TYPE
    assert part.stored is False
    assert part.decoded is not None and part.decoded.claimed_digest == layout.digest
    assert part.annotations[cosign.SIGNATURE_ANNOTATION]

    good = verify_part(part, layout.digest, key=public_key_pem(key))
    assert good.status is Status.VERIFIED and good.ok
    bad = verify_part(part, layout.digest, key=public_key_pem(wrong_key))
    assert bad.status is Status.BAD_SIGNATURE and not bad.ok
    elsewhere = verify_part(part, OTHER_IMAGE, key=public_key_pem(key))
    assert elsewhere.status is Status.WRONG_IMAGE
    assert not verify_part(part, layout.digest).ok  # no key: nothing vouches for it


def test_cosign_attestation_reads_and_verifies(
    layout: SignedLayout, key: PrivateKey, wrong_key: PrivateKey
) -> None:
    source = layout.source()
    [attestation] = [a for a in find_attachments(source, layout.digest)
                     if a.kind is Kind.ATTESTATION]
    part = only_part(read_attachment(source, attestation))
    assert part.kind is Kind.ATTESTATION
    assert part.decoded is not None and layout.digest in part.decoded.subject_digests
    assert verify_part(part, layout.digest, key=public_key_pem(key)).ok
    bad = verify_part(part, layout.digest, key=public_key_pem(wrong_key))
    assert bad.status is Status.BAD_SIGNATURE


def test_sbom_referrer_reads_and_is_nothing_to_verify(
    layout: SignedLayout, key: PrivateKey
) -> None:
    source = layout.source()
    [sbom] = [a for a in find_attachments(source, layout.digest) if a.kind is Kind.SBOM]
    assert sbom.created is None  # the index.json entry carries no annotations
    content = read_attachment(source, sbom)
    # ... so the manifest's annotations tell when it was made
    assert content.attachment.created == SBOM_CREATED
    assert content.attachment.artifact_type == SPDX
    part = only_part(content)
    assert part.kind is Kind.SBOM
    assert part.data == SPDX_DOCUMENT
    assert part.decoded is not None and "SPDX 2.3" in part.decoded.title + str(part.decoded.fields)
    outcome = verify_part(part, layout.digest, key=public_key_pem(key))
    assert outcome.status is Status.NOT_CHECKED
    assert "not a signature" in outcome.detail


def test_artifact_type_filter_of_a_layout(layout: SignedLayout) -> None:
    source = layout.source()
    assert isinstance(source, AttachmentSource)
    [only] = source.referrers(layout.digest, artifact_type=SPDX)
    assert str(only.digest) == layout.sbom["digest"]
    assert source.referrers(layout.digest, artifact_type="application/vnd.example") == []


def test_the_same_manifest_found_two_ways_is_listed_once(
    tmp_path: Path, key: PrivateKey
) -> None:
    # cosign's OCI 1.1 mode: the signature manifest has a subject AND the .sig ref name
    builder = LayoutBuilder(tmp_path / "layout")
    image = builder.add_image(image_spec())
    builder.tag(image, "latest")
    sig = add_cosign(builder, [sign_cosign(key, image["digest"])], subject=subject_of(image))
    builder.tag(sig, cosign_tag(image["digest"], "sig"))

    source = open_layout_image(tmp_path / "layout", "latest")
    assert isinstance(source, AttachmentSource)
    digest = Digest.parse(image["digest"])
    # both ways really find it ...
    assert [str(d.digest) for d in source.referrers(digest)] == [sig["digest"]]
    tagged = source.tagged_manifest(cosign_tag(image["digest"], "sig"))
    assert tagged is not None and str(tagged.digest) == sig["digest"]
    # ... and it is listed once, under the first way
    [found] = find_attachments(source, digest)
    assert found.found == "OCI referrer"
    assert found.descriptor is not None and str(found.descriptor.digest) == sig["digest"]
    assert read_attachment(source, found).kind is Kind.COSIGN_SIGNATURE


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"X" * len(data),  # same size, other bytes
        lambda data: data[: len(data) // 2],  # cut short
        lambda data: data + b"trailing",  # longer
    ],
    ids=["replaced", "truncated", "extended"],
)
def test_a_corrupted_attached_blob_gives_an_error_sentence(
    layout: SignedLayout, damage: Callable[[bytes], bytes]
) -> None:
    path = layout.builder.blob_path(layout.sbom_layer["digest"])
    path.write_bytes(damage(path.read_bytes()))
    source = layout.source()
    [sbom] = [a for a in find_attachments(source, layout.digest) if a.kind is Kind.SBOM]
    content = read_attachment(source, sbom)
    assert content.error is None  # the manifest is fine; one part is not
    [part] = content.parts
    assert part.decoded is None and part.data == b""
    assert part.kind is Kind.OTHER
    assert part.error is not None
    assert layout.sbom_layer["digest"].removeprefix("sha256:") in part.error
    outcome = verify_part(part, layout.digest)
    assert outcome.status is Status.UNSUPPORTED
    assert part.error in outcome.detail


def test_a_missing_attached_blob_gives_an_error_sentence(layout: SignedLayout) -> None:
    layout.builder.blob_path(layout.sbom_layer["digest"]).unlink()
    source = layout.source()
    [sbom] = [a for a in find_attachments(source, layout.digest) if a.kind is Kind.SBOM]
    [part] = read_attachment(source, sbom).parts
    assert part.decoded is None
    assert part.error and part.error.endswith(".")


def test_a_corrupted_attached_manifest_gives_an_error_sentence(layout: SignedLayout) -> None:
    path = layout.builder.blob_path(layout.sig["digest"])
    path.write_bytes(path.read_bytes().replace(b'"layers"', b'"lAyers"'))
    source = layout.source()
    [sig] = [a for a in find_attachments(source, layout.digest)
             if a.kind is Kind.COSIGN_SIGNATURE]
    content = read_attachment(source, sig)
    assert content.parts == ()
    assert content.error is not None and layout.sig["digest"] in content.error
    assert content.kind is Kind.COSIGN_SIGNATURE  # the tag still says what it was meant to be


def test_an_unreadable_referrer_is_skipped_not_fatal(layout: SignedLayout) -> None:
    # the SBOM's manifest is damaged: whether it names the image cannot be told
    path = layout.builder.blob_path(layout.sbom["digest"])
    path.write_bytes(path.read_bytes()[:-1] + b" ")
    found = find_attachments(layout.source(), layout.digest)
    assert [a.kind for a in found] == [Kind.COSIGN_SIGNATURE, Kind.ATTESTATION]


def test_an_attached_manifest_list_is_not_decoded(tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path / "layout")
    image = builder.add_image(image_spec())
    builder.tag(image, "latest")
    index = builder.add_index([image])
    builder.tag(index, cosign_tag(image["digest"], "sig"))
    source = open_layout_image(tmp_path / "layout", "latest")
    [found] = find_attachments(source, Digest.parse(image["digest"]))
    content = read_attachment(source, found)
    assert content.parts == ()
    assert content.error == "The attached manifest is a manifest list; nothing to decode."
    assert content.manifest == builder.read_blob(index["digest"])


def test_parts_over_4_mib_are_described_without_being_read(tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path / "layout")
    image = builder.add_image(image_spec())
    builder.tag(image, "latest")
    big = MAX_PART_SIZE + 1
    # the blobs are not in the layout at all: reading them would fail
    layers = [
        {"mediaType": SPDX, "digest": sha256_digest(b"a big SBOM"), "size": big},
        {"mediaType": "application/octet-stream", "digest": sha256_digest(b"big"), "size": big},
    ]
    builder.tag(add_artifact(builder, SPDX, layers, subject_of(image)), None)
    source = open_layout_image(tmp_path / "layout", "latest")
    [found] = find_attachments(source, Digest.parse(image["digest"]))
    sbom, other = read_attachment(source, found).parts

    assert sbom.error is None and sbom.data == b""
    assert sbom.decoded is not None and sbom.decoded.kind is Kind.SBOM
    assert sbom.decoded.size == big and sbom.size == big

    assert other.decoded is None and other.data == b"" and other.size == big
    assert other.error is not None
    assert str(big) in other.error and "4 MiB" in other.error and "not read" in other.error
    assert layers[1]["digest"] in other.error


def test_a_part_of_exactly_4_mib_is_read(tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path / "layout")
    image = builder.add_image(image_spec())
    builder.tag(image, "latest")
    data = b"\0" * MAX_PART_SIZE
    layer = {"mediaType": "application/octet-stream", **builder.add_blob(data)}
    builder.tag(add_artifact(builder, "application/vnd.example.blob", [layer],
                             subject_of(image)), None)
    source = open_layout_image(tmp_path / "layout", "latest")
    [found] = find_attachments(source, Digest.parse(image["digest"]))
    [part] = read_attachment(source, found).parts
    assert part.error is None
    assert part.data == data
    assert part.decoded is not None and part.decoded.kind is Kind.OTHER


def test_cancelled_before_finding(layout: SignedLayout) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        find_attachments(layout.source(), layout.digest, cancel=token)


# --------------------------------------------------------------------------- BuildKit


class BuildKitLayout:
    """A layout whose ``latest`` is a list: linux/amd64, linux/arm64/v8, and a BuildKit
    attestation entry for amd64 (an SBOM statement, as ``docker buildx --sbom`` writes)."""

    def __init__(self, root: Path, *, with_annotations: bool = True) -> None:
        self.root = root
        builder = LayoutBuilder(root)
        self.amd64 = builder.add_image(image_spec())
        self.arm64 = builder.add_image(image_spec("arm64", "v8"))
        self.statement = dump_json(in_toto_statement(
            [("pkg:docker/app@latest?platform=linux%2Famd64", self.amd64["digest"])],
            "https://spdx.dev/Document", json.loads(SPDX_DOCUMENT),
            statement_type="https://in-toto.io/Statement/v0.1",
        ))
        layer = {"mediaType": "application/vnd.in-toto+json",
                 **builder.add_blob(self.statement),
                 "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"}}
        config = builder.add_blob(dump_json({
            "architecture": "unknown", "os": "unknown", "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
        }))
        self.attestation = add_manifest(builder, {
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": media.OCI_CONFIG, **config},
            "layers": [layer],
        })
        entry = {**self.attestation, "platform": {"architecture": "unknown", "os": "unknown"}}
        if with_annotations:
            entry["annotations"] = {
                BUILDKIT_REFERENCE_TYPE: BUILDKIT_ATTESTATION,
                BUILDKIT_REFERENCE_DIGEST: self.amd64["digest"],
            }
        self.index = builder.add_index([self.amd64, self.arm64, entry])
        builder.tag(self.index, "latest")
        self.parsed = parse_manifest(builder.read_blob(self.index["digest"]), media.OCI_INDEX)
        assert isinstance(self.parsed, ImageIndex)

    def source(self) -> ImageSource:
        return open_layout_image(self.root, "latest")


def test_buildkit_attestation_entry_counts_for_its_platform(tmp_path: Path) -> None:
    built = BuildKitLayout(tmp_path / "layout")
    source = built.source()
    amd64 = Digest.parse(built.amd64["digest"])
    arm64 = Digest.parse(built.arm64["digest"])

    [found] = find_attachments(source, amd64, index=built.parsed)
    assert found.found == "attestation entry of the manifest list"
    assert found.kind is Kind.ATTESTATION
    assert found.descriptor is not None
    assert str(found.descriptor.digest) == built.attestation["digest"]
    # not for the other platform, nor without the list
    assert find_attachments(source, arm64, index=built.parsed) == []
    assert find_attachments(source, amd64) == []

    content = read_attachment(source, found)
    assert content.error is None and content.kind is Kind.ATTESTATION
    [part] = content.parts
    assert part.error is None and part.data == built.statement
    assert part.decoded is not None and part.decoded.kind is Kind.ATTESTATION
    assert part.decoded.field("SBOM format") is not None
    assert part.decoded.names_image(amd64) is True
    assert verify_part(part, amd64).status is Status.NOT_CHECKED


def test_an_entry_without_buildkits_annotations_is_no_attestation(tmp_path: Path) -> None:
    built = BuildKitLayout(tmp_path / "layout", with_annotations=False)
    amd64 = Digest.parse(built.amd64["digest"])
    assert find_attachments(built.source(), amd64, index=built.parsed) == []


def test_a_source_without_attachments_gives_only_attestation_entries(tmp_path: Path) -> None:
    class Plain:
        """An ImageSource that holds no attachments (as an archive does)."""

        def __init__(self, inner: ImageSource) -> None:
            self.description = inner.description
            self.get_manifest = inner.get_manifest
            self.open_blob = inner.open_blob

        def close(self) -> None:
            pass

    built = BuildKitLayout(tmp_path / "layout")
    plain = Plain(built.source())
    assert not isinstance(plain, AttachmentSource)
    amd64 = Digest.parse(built.amd64["digest"])
    [found] = find_attachments(plain, amd64, index=built.parsed)  # type: ignore[arg-type]
    assert found.kind is Kind.ATTESTATION
    assert find_attachments(plain, amd64) == []  # type: ignore[arg-type]
    content = read_attachment(plain, found)  # type: ignore[arg-type]
    assert content.parts[0].data == built.statement


def test_image_attachments_of_a_list_counts_instances_not_attestations(
    tmp_path: Path, key: PrivateKey
) -> None:
    built = BuildKitLayout(tmp_path / "layout")
    builder = LayoutBuilder(built.root)  # add a cosign signature of the list itself
    sig = add_cosign(builder, [sign_cosign(key, built.index["digest"])])
    builder.tag(sig, cosign_tag(built.index["digest"], "sig"))

    subjects = image_attachments(open_layout_image(built.root, "latest"))
    assert [(str(s.digest), s.label) for s in subjects] == [
        (built.index["digest"], "manifest list"),
        (built.amd64["digest"], "linux/amd64"),
        (built.arm64["digest"], "linux/arm64/v8"),
    ]
    top, amd64, arm64 = subjects
    [list_sig] = top.attachments
    assert list_sig.kind is Kind.COSIGN_SIGNATURE
    assert verify_part(list_sig.parts[0], top.digest, key=public_key_pem(key)).ok
    [attestation] = amd64.attachments
    assert attestation.attachment.found == "attestation entry of the manifest list"
    assert arm64.attachments == ()

    # without instances, only the list
    assert [s.label for s in image_attachments(built.source(), instances=False)] == [
        "manifest list"
    ]


def test_image_attachments_call_an_artifact_and_a_list_of_them_so(tmp_path: Path) -> None:
    # a Helm chart "Describes": "image"; a list of charts and modules, by digest alone
    builder = LayoutBuilder(tmp_path / "artifacts")
    empty = {**builder.add_blob(b"{}"), "mediaType": "application/vnd.oci.empty.v1+json"}
    layer = {**builder.add_blob(b"chart"), "mediaType": "text/plain"}
    raw = json.dumps({"schemaVersion": 2, "mediaType": media.OCI_MANIFEST,
                      "artifactType": "application/vnd.example.chart", "config": empty,
                      "layers": [layer]}).encode()
    chart = {**builder.add_blob(raw), "mediaType": media.OCI_MANIFEST,
             "artifactType": "application/vnd.example.chart"}
    builder.tag(chart, "chart")
    builder.tag(builder.add_index([chart]), "charts")
    [alone] = image_attachments(open_layout_image(tmp_path / "artifacts", "chart"))
    assert alone.label == "artifact"
    listed = image_attachments(open_layout_image(tmp_path / "artifacts", "charts"))
    assert [s.label for s in listed] == ["manifest list",
                                         "artifact (application/vnd.example.chart)"]


def test_image_attachments_of_a_single_image(layout: SignedLayout) -> None:
    [subject] = image_attachments(layout.source())
    assert subject.label == "image" and subject.digest == layout.digest
    assert sorted(c.kind for c in subject.attachments) == sorted(
        [Kind.SBOM, Kind.COSIGN_SIGNATURE, Kind.ATTESTATION]
    )
    assert all(c.error is None for c in subject.attachments)


# --------------------------------------------------------------------------- cosign save


def test_a_cosign_save_layouts_entries_are_its_images_signatures(
    tmp_path: Path, key: PrivateKey, wrong_key: PrivateKey
) -> None:
    """cosign save keeps the manifests of the image's ``.sig`` and ``.att`` tags unnamed,
    annotated ``kind: dev.cosignproject.cosign/sigs`` (``/atts``): found as those tags,
    decoded, and verified with the key that signed them."""
    saved = cosign.cosign_saved_layout(tmp_path / "saved", key)
    source = open_layout_image(saved.root, None)
    digest = Digest.parse(saved.image)
    sig_tag, att_tag = cosign_tag(saved.image, "sig"), cosign_tag(saved.image, "att")
    found = find_attachments(source, digest)
    assert [(a.found, a.kind, a.tag, str(a.descriptor.digest) if a.descriptor else None)
            for a in found] == [
        (f"cosign save entry {sig_tag}", Kind.COSIGN_SIGNATURE, sig_tag, saved.sig),
        (f"cosign save entry {att_tag}", Kind.ATTESTATION, att_tag, saved.att),
    ]
    for content in (read_attachment(source, a) for a in found):
        part = only_part(content)
        assert verify_part(part, digest, key=public_key_pem(key)).status is Status.VERIFIED
        assert verify_part(part, digest,
                           key=public_key_pem(wrong_key)).status is Status.BAD_SIGNATURE
    # they are the saved image's: nothing is attached to them, nor to another digest
    assert find_attachments(source, Digest.parse(saved.sig)) == []
    assert find_attachments(source, OTHER_IMAGE) == []


def test_a_cosign_saved_index_has_them_on_the_list(tmp_path: Path, key: PrivateKey) -> None:
    """``cosign save`` of a list (``kind: …/imageIndex``) keeps the list's own signatures;
    its platform images have none there."""
    saved = cosign.cosign_saved_layout(tmp_path / "saved", key, index=True)
    subjects = image_attachments(open_layout_image(saved.root, None))
    assert [(s.label, len(s.attachments)) for s in subjects] == [
        ("manifest list", 2), ("linux/amd64", 0), ("linux/arm64", 0)]
    assert str(subjects[0].digest) == saved.image
    signature = next(c for c in subjects[0].attachments if c.kind is Kind.COSIGN_SIGNATURE)
    assert verify_part(only_part(signature), subjects[0].digest,
                       key=public_key_pem(key)).status is Status.VERIFIED


def test_a_cosign_save_layouts_signatures_stay_with_the_image_saved(
    tmp_path: Path, key: PrivateKey
) -> None:
    """Another image put into the layout gets none of them; the image saved, named by its
    position, keeps them."""
    saved = cosign.cosign_saved_layout(tmp_path / "saved", key)
    builder = LayoutBuilder(saved.root)
    other = builder.add_image(image_spec("arm64"))
    builder.tag(other, "other")
    assert find_attachments(open_layout_image(saved.root, "other"),
                            Digest.parse(other["digest"])) == []
    found = find_attachments(open_layout_image(saved.root, None, 0), Digest.parse(saved.image))
    assert [str(a.descriptor.digest) for a in found if a.descriptor] == [saved.sig, saved.att]


def test_two_entries_annotated_as_the_image_saved_leave_the_signatures_unmatched(
    tmp_path: Path, key: PrivateKey
) -> None:
    """cosign save writes one image: with two, which one its signatures are of is not
    known, so neither is given them (each still verifies nothing it does not name)."""
    saved = cosign.cosign_saved_layout(tmp_path / "saved", key)
    builder = LayoutBuilder(saved.root)
    other = builder.add_image(image_spec("arm64"))
    builder.tag({k: v for k, v in other.items() if k != "platform"}
                | {"annotations": {"kind": "dev.cosignproject.cosign/image"}}, None)
    for position, digest in ((0, saved.image), (3, other["digest"])):
        source = open_layout_image(saved.root, None, position)
        assert find_attachments(source, Digest.parse(digest)) == []


# --------------------------------------------------------------------------- dir:


def write_dir(target: Path, *, platforms: int = 1) -> tuple[Digest, list[Digest]]:
    """A ``dir:`` folder as skopeo writes it: one image, or (``platforms`` > 1, as ``copy
    --all``) a list with ``<hex>.manifest.json`` per instance. The top digest and the
    instance digests."""
    scratch = LayoutBuilder(target.parent / f"{target.name}-scratch")
    specs = [image_spec(), image_spec("arm64", "v8"), image_spec("arm", "v7")][:platforms]
    images = [scratch.add_image(spec) for spec in specs]
    target.mkdir()
    (target / "version").write_bytes(b"Directory Transport Version: 1.1\n")
    for blob in scratch.blob_dir.iterdir():
        shutil.copyfile(blob, target / blob.name)
    if platforms == 1:
        top = images[0]
    else:
        top = scratch.add_index(images)
        for image in images:
            hex_part = image["digest"].removeprefix("sha256:")
            (target / f"{hex_part}.manifest.json").write_bytes(scratch.read_blob(image["digest"]))
    (target / "manifest.json").write_bytes(scratch.read_blob(top["digest"]))
    return Digest.parse(top["digest"]), [Digest.parse(i["digest"]) for i in images]


def sigstore_file(key: PrivateKey, digest: Digest) -> bytes:
    payload, annotations = signature_layer(simple_signing_payload(REFERENCE, str(digest)), key)
    return stored_sigstore_signature(payload, annotations)


def test_dir_sources_are_attachment_sources(tmp_path: Path) -> None:
    write_dir(tmp_path / "image")
    source = open_dir_image(tmp_path / "image")
    assert isinstance(source, AttachmentSource)
    digest, _ = write_dir(tmp_path / "other")
    assert source.referrers(digest) == []
    assert source.tagged_manifest(cosign_tag(str(digest), "sig")) is None


def test_dir_signatures_simple_signing_and_sigstore(
    tmp_path: Path,
    key: PrivateKey,
    wrong_key: PrivateKey,
    gpg_key: ThrowawayGpg,
    other_gpg_key: ThrowawayGpg,
    keyring: Path,
) -> None:
    target = tmp_path / "image"
    digest, _ = write_dir(target)
    simple = gpg_key.sign(atomic_payload(f"{REFERENCE}:1", str(digest)))
    (target / "signature-1").write_bytes(simple)
    (target / "signature-2").write_bytes(sigstore_file(key, digest))
    source = open_dir_image(target)

    found = find_attachments(source, digest)
    assert [(a.found, a.descriptor) for a in found] == [("signature-1", None),
                                                        ("signature-2", None)]
    assert found[0].stored == simple
    first, second = (read_attachment(source, a) for a in found)

    part = only_part(first)
    assert part.stored and part.data == simple
    assert first.kind is Kind.SIMPLE_SIGNING
    assert part.decoded is not None and part.decoded.claimed_digest == digest
    good = verify_part(part, digest, keyring=keyring)
    assert good.status is Status.VERIFIED, good.detail
    wrong_keyring = other_gpg_key.export_public(tmp_path / "other.gpg")
    assert verify_part(part, digest, keyring=wrong_keyring).status is Status.BAD_SIGNATURE
    assert verify_part(part, digest).status is Status.NOT_CHECKED
    assert verify_part(part, OTHER_IMAGE, keyring=keyring).status is Status.WRONG_IMAGE

    part = only_part(second)
    assert second.kind is Kind.COSIGN_SIGNATURE  # found as signature-2, decoded as cosign
    assert part.media_type == SIMPLESIGNING_MEDIA_TYPE
    assert verify_part(part, digest, key=public_key_pem(key)).status is Status.VERIFIED
    bad = verify_part(part, digest, key=public_key_pem(wrong_key))
    assert bad.status is Status.BAD_SIGNATURE


def test_dir_sigstore_signature_without_gpg(
    tmp_path: Path, key: PrivateKey, wrong_key: PrivateKey
) -> None:
    target = tmp_path / "image"
    digest, _ = write_dir(target)
    (target / "signature-1").write_bytes(sigstore_file(key, digest))
    source = open_dir_image(target)
    [content] = read_all(source, digest)
    part = only_part(content)
    assert content.kind is Kind.COSIGN_SIGNATURE
    assert verify_part(part, digest, key=public_key_pem(key)).ok
    assert verify_part(part, digest, key=public_key_pem(wrong_key)).status \
        is Status.BAD_SIGNATURE
    assert verify_part(part, OTHER_IMAGE, key=public_key_pem(key)).status is Status.WRONG_IMAGE


def test_dir_sigstore_attestation_verifies_as_dsse(
    tmp_path: Path, key: PrivateKey, wrong_key: PrivateKey
) -> None:
    target = tmp_path / "image"
    digest, _ = write_dir(target)
    envelope, mime_type, notes = attest(key, str(digest))
    (target / "signature-1").write_bytes(stored_sigstore_signature(envelope, notes, mime_type))
    [content] = read_all(open_dir_image(target), digest)
    part = only_part(content)
    assert content.kind is Kind.ATTESTATION
    assert verify_part(part, digest, key=public_key_pem(key)).ok
    assert verify_part(part, digest, key=public_key_pem(wrong_key)).status \
        is Status.BAD_SIGNATURE


def test_dir_signatures_stop_at_the_first_missing_number(
    tmp_path: Path, key: PrivateKey
) -> None:
    target = tmp_path / "image"
    digest, _ = write_dir(target)
    (target / "signature-1").write_bytes(sigstore_file(key, digest))
    (target / "signature-3").write_bytes(sigstore_file(key, digest))
    assert [a.found for a in find_attachments(open_dir_image(target), digest)] == [
        "signature-1"
    ]


def test_an_unreadable_dir_signature_gives_an_error_sentence(
    tmp_path: Path, key: PrivateKey
) -> None:
    target = tmp_path / "image"
    digest, _ = write_dir(target)
    (target / "signature-1").write_bytes(b"garbage, not a signature")
    (target / "signature-2").write_bytes(sigstore_file(key, digest))
    source = open_dir_image(target)
    broken, fine = read_all(source, digest)
    [part] = broken.parts
    assert part.decoded is None and part.kind is Kind.OTHER
    assert part.error is not None and "0x67" in part.error
    assert verify_part(part, digest, key=public_key_pem(key)).status is Status.UNSUPPORTED
    assert verify_part(only_part(fine), digest, key=public_key_pem(key)).ok


def test_an_oversized_dir_signature_is_refused_with_a_sentence(tmp_path: Path) -> None:
    target = tmp_path / "image"
    digest, _ = write_dir(target)
    with (target / "signature-1").open("wb") as sparse:
        sparse.truncate(MAX_PART_SIZE + 1)  # containers/image's limit is 4 MiB too
    with pytest.raises(TooLarge) as caught:
        find_attachments(open_dir_image(target), digest)
    assert str(target / "signature-1") in str(caught.value)


def test_dir_list_signatures_per_instance(tmp_path: Path, key: PrivateKey) -> None:
    target = tmp_path / "list"
    top, (amd64, arm64) = write_dir(target, platforms=2)
    (target / "signature-1").write_bytes(sigstore_file(key, top))
    (target / f"{amd64.hex}.signature-1").write_bytes(sigstore_file(key, amd64))
    (target / f"{amd64.hex}.signature-2").write_bytes(sigstore_file(key, amd64))
    source = open_dir_image(target)
    assert isinstance(source, AttachmentSource)
    assert source.stored_signatures(top) == [(target / "signature-1").read_bytes()]
    assert len(source.stored_signatures(amd64)) == 2
    assert source.stored_signatures(arm64) == []

    subjects = image_attachments(source)
    assert [(s.digest, s.label, len(s.attachments)) for s in subjects] == [
        (top, "manifest list", 1),
        (amd64, "linux/amd64", 2),
        (arm64, "linux/arm64/v8", 0),
    ]
    for subject in subjects:
        for content in subject.attachments:
            # each instance's signatures name that instance, and verify for it
            outcome = verify_part(only_part(content), subject.digest, key=public_key_pem(key))
            assert outcome.ok, outcome.detail


# --------------------------------------------------------------------------- verify_part


def decoded_part(kind: Kind, media_type: str = "application/octet-stream") -> AttachedPart:
    decoded = Decoded(kind=kind, title=f"A {kind}", media_type=media_type, size=3)
    return AttachedPart(media_type, 3, {}, b"abc", decoded)


def test_notary_signature_without_a_certificate_is_not_checked() -> None:
    outcome = verify_part(decoded_part(Kind.NOTARY_SIGNATURE, sigmedia.NOTARY_JWS), OTHER_IMAGE)
    assert outcome.status is Status.NOT_CHECKED
    assert "certificate" in outcome.detail


def test_simple_signing_without_a_keyring_is_not_checked() -> None:
    outcome = verify_part(decoded_part(Kind.SIMPLE_SIGNING), OTHER_IMAGE)
    assert outcome.status is Status.NOT_CHECKED
    assert "keyring" in outcome.detail


def test_other_parts_are_nothing_to_verify(key: PrivateKey) -> None:
    outcome = verify_part(decoded_part(Kind.OTHER), OTHER_IMAGE, key=public_key_pem(key))
    assert outcome.status is Status.NOT_CHECKED
    assert "A other is not a signature" in outcome.detail


def test_an_undecoded_part_is_unsupported_and_says_why() -> None:
    part = AttachedPart("application/x", 0, {}, b"", None, "It was eaten by a grue.")
    outcome = verify_part(part, OTHER_IMAGE)
    assert outcome.status is Status.UNSUPPORTED
    assert outcome.detail == "It could not be decoded: It was eaten by a grue."


def test_attachment_key_tells_stored_ones_apart() -> None:
    one = Attachment(OTHER_IMAGE, "signature-1", Kind.SIMPLE_SIGNING, stored=b"a")
    two = Attachment(OTHER_IMAGE, "signature-2", Kind.SIMPLE_SIGNING, stored=b"a")
    assert one.key != two.key


# ------------------------------------------------------------- a certificate as the key


@pytest.mark.parametrize("when", ["expired", "not yet valid", "valid"])
def test_a_certificate_given_as_the_key_is_said_to_be_used_for_its_key_alone(
    tmp_path: Path, when: str
) -> None:
    """A certificate given as the key is used for its key: an expired one verified
    silently. The verdict says the certificate's validity is not checked (and that it has
    expired, or is not valid yet), or, within its validity, that its issuer is not."""
    import datetime as dt

    key = generate_key()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = {"expired": dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
             "not yet valid": now + dt.timedelta(days=30),
             "valid": now - dt.timedelta(days=1)}[when]
    certificate = cosign.make_certificate(key, common_name="Signer", not_before=start,
                                          lifetime=dt.timedelta(days=1 if when == "expired"
                                                                else 60))
    builder = LayoutBuilder(tmp_path / "layout")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"})]))
    builder.tag({k: v for k, v in image.items() if k != "platform"}, "app")
    cosign.add_cosign_signature(builder, image["digest"], key)
    source = open_layout_image(builder.root, "app")
    digest = Digest.parse(image["digest"])
    (found,) = find_attachments(source, digest)
    (part,) = read_attachment(source, found).parts
    result = verify_part(part, digest, key=cosign.certificate_pem(certificate))
    assert result.status is Status.VERIFIED
    lead = ("Verified with the given ECDSA P-256 key: the signature is good and signs this "
            "image as example.com/app. ")
    if when == "valid":
        until = (start + dt.timedelta(days=60)).strftime("%Y-%m-%d %H:%M:%S UTC")
        assert result.detail == (lead + f"The key is that of the certificate given "
                                 f"(CN=Signer, valid until {until}); the certificate's "
                                 "issuer is not checked.")
    else:
        said = ("which expired on 2020-01-02 00:00:00 UTC" if when == "expired" else
                f"which is valid only from {start.strftime('%Y-%m-%d %H:%M:%S UTC')}")
        assert result.detail == (lead + f"The key is that of the certificate given "
                                 f"(CN=Signer), {said}: its key was used all the same, "
                                 "since the certificate's validity and issuer are not "
                                 "checked.")
    # a bare public key says nothing of the kind
    assert verify_part(part, digest, key=public_key_pem(key)).detail == lead.rstrip()
