"""Where attached things are kept, by name (spyglass.core.referrers)."""

from __future__ import annotations

import json

import pytest

from spyglass.core import media
from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor
from spyglass.core.platform import Platform
from spyglass.core.referrers import (
    BUILDKIT_ATTESTATION,
    BUILDKIT_REFERENCE_DIGEST,
    BUILDKIT_REFERENCE_TYPE,
    COSIGN_SUFFIXES,
    attachment_tag_subject,
    buildkit_attestation_subject,
    cosign_tag,
    is_attachment_tag,
    referrers_tag,
)

SHA256 = Digest.of(b"an image manifest")
SHA512 = Digest.of(b"an image manifest", "sha512")
HEX64 = SHA256.hex
HEX128 = SHA512.hex
ATTESTATION = Digest.of(b"a BuildKit attestation manifest")


# --------------------------------------------------------------------------- tags


def test_referrers_tag_is_algorithm_dash_hex() -> None:
    assert referrers_tag(SHA256) == f"sha256-{HEX64}"
    assert referrers_tag(SHA512) == f"sha512-{HEX128}"
    # a tag may not hold ":"; the dash stands in for it
    assert ":" not in referrers_tag(SHA256)


@pytest.mark.parametrize("suffix", COSIGN_SUFFIXES)
def test_cosign_tag_adds_the_suffix(suffix: str) -> None:
    assert cosign_tag(SHA256, suffix) == f"sha256-{HEX64}{suffix}"
    assert cosign_tag(SHA512, suffix) == f"sha512-{HEX128}{suffix}"


def test_cosign_suffixes_are_cosigns_three() -> None:
    assert set(COSIGN_SUFFIXES) == {".sig", ".att", ".sbom"}


@pytest.mark.parametrize(
    "tag",
    [
        f"sha256-{HEX64}",
        f"sha256-{HEX64}.sig",
        f"sha256-{HEX64}.att",
        f"sha256-{HEX64}.sbom",
        f"sha512-{HEX128}",
        f"sha512-{HEX128}.sig",
    ],
)
def test_attachment_tags_are_recognized_and_name_their_subject(tag: str) -> None:
    assert is_attachment_tag(tag)
    subject = attachment_tag_subject(tag)
    assert subject is not None
    assert subject == (SHA512 if tag.startswith("sha512") else SHA256)


@pytest.mark.parametrize("digest", [SHA256, SHA512])
@pytest.mark.parametrize("suffix", ["", *COSIGN_SUFFIXES])
def test_round_trip_from_digest_to_tag_and_back(digest: Digest, suffix: str) -> None:
    tag = cosign_tag(digest, suffix) if suffix else referrers_tag(digest)
    assert attachment_tag_subject(tag) == digest


@pytest.mark.parametrize(
    "tag",
    [
        "latest",
        "v1.2.3",
        "",
        f"sha256:{HEX64}",  # a digest, not a tag
        f"sha256-{HEX64[:-1]}",  # one hex short
        f"sha256-{HEX64}0",  # one hex too many
        f"sha256-{HEX64.upper()}",  # digests are lower-case hex
        f"sha256-{HEX64[:-1]}g.sig",  # not hex
        f"sha512-{HEX64}",  # a sha256-long hex under sha512
        f"sha256-{HEX128}",  # a sha512-long hex under sha256
        f"md5-{HEX64[:32]}",
        f"sha384-{'a' * 96}",
        f"sha256-{HEX64}.SIG",
        f"sha256-{HEX64}.sig.bak",
        f"sha256-{HEX64}.",
        f"sha256-{HEX64}-sig",
        f"prefix-sha256-{HEX64}.sig",
        f" sha256-{HEX64}",
        f"sha256-{HEX64}.sig\n",
    ],
)
def test_other_tags_are_not_attachment_tags(tag: str) -> None:
    assert not is_attachment_tag(tag)
    assert attachment_tag_subject(tag) is None


@pytest.mark.parametrize("suffix", [".bak", ".old", ".prod"])
def test_only_cosigns_suffixes_make_attachment_tags(suffix: str) -> None:
    # a user's own tag such as sha256-<hex>.bak must not pass for an attachment
    tag = f"sha256-{HEX64}{suffix}"
    assert not is_attachment_tag(tag)
    assert attachment_tag_subject(tag) is None


# --------------------------------------------------------------------------- BuildKit


def buildkit_entry(annotations: dict[str, str]) -> Descriptor:
    return Descriptor(
        media.OCI_MANIFEST, ATTESTATION, 840, annotations=annotations,
        platform=Platform("unknown", "unknown"),
    )


def test_buildkit_attestation_entry_names_its_platform_image() -> None:
    entry = buildkit_entry({
        BUILDKIT_REFERENCE_TYPE: BUILDKIT_ATTESTATION,
        BUILDKIT_REFERENCE_DIGEST: str(SHA256),
    })
    assert buildkit_attestation_subject(entry) == SHA256


def test_buildkit_annotation_keys_are_buildkits() -> None:
    # the values BuildKit writes (exporter/containerimage/attestations.go)
    assert BUILDKIT_REFERENCE_TYPE == "vnd.docker.reference.type"
    assert BUILDKIT_REFERENCE_DIGEST == "vnd.docker.reference.digest"
    assert BUILDKIT_ATTESTATION == "attestation-manifest"


def test_buildkit_entry_with_a_sha512_subject() -> None:
    entry = buildkit_entry({
        BUILDKIT_REFERENCE_TYPE: BUILDKIT_ATTESTATION,
        BUILDKIT_REFERENCE_DIGEST: str(SHA512),
    })
    assert buildkit_attestation_subject(entry) == SHA512


@pytest.mark.parametrize(
    "annotations",
    [
        {},  # a platform image
        {BUILDKIT_REFERENCE_DIGEST: str(SHA256)},  # digest without the type
        {BUILDKIT_REFERENCE_TYPE: "something-else", BUILDKIT_REFERENCE_DIGEST: str(SHA256)},
        {BUILDKIT_REFERENCE_TYPE: BUILDKIT_ATTESTATION},  # type without a digest
        {BUILDKIT_REFERENCE_TYPE: BUILDKIT_ATTESTATION, BUILDKIT_REFERENCE_DIGEST: ""},
        {BUILDKIT_REFERENCE_TYPE: BUILDKIT_ATTESTATION, BUILDKIT_REFERENCE_DIGEST: "latest"},
        {BUILDKIT_REFERENCE_TYPE: BUILDKIT_ATTESTATION, BUILDKIT_REFERENCE_DIGEST: HEX64},
        {BUILDKIT_REFERENCE_TYPE: BUILDKIT_ATTESTATION,
         BUILDKIT_REFERENCE_DIGEST: f"sha256:{HEX64[:10]}"},
        {BUILDKIT_REFERENCE_TYPE: BUILDKIT_ATTESTATION,
         BUILDKIT_REFERENCE_DIGEST: f"md5:{HEX64[:32]}"},
    ],
)
def test_other_entries_have_no_attestation_subject(annotations: dict[str, str]) -> None:
    assert buildkit_attestation_subject(buildkit_entry(annotations)) is None


def test_referrer_entry_describes_the_manifest_itself() -> None:
    from spyglass.core.referrers import referrer_entry

    subject = "sha256:" + "a" * 64
    raw = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.example.config+json",
                   "digest": "sha256:" + "b" * 64, "size": 2},
        "layers": [],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": subject, "size": 10},
        "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
    }).encode()
    digest = Digest.parse("sha256:" + "c" * 64)
    found = referrer_entry(raw, "application/vnd.oci.image.manifest.v1+json", digest)
    assert found is not None
    named, descriptor = found
    assert named == Digest.parse(subject)
    assert (descriptor.digest, descriptor.size) == (digest, len(raw))
    # no artifactType: the config's media type stands for it, as the spec says
    assert descriptor.artifact_type == "application/vnd.example.config+json"
    assert descriptor.annotations == {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}


def test_referrer_entry_is_none_without_a_subject() -> None:
    from spyglass.core.referrers import referrer_entry

    raw = (b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",'
           b'"manifests":[]}')
    assert referrer_entry(raw, "application/vnd.oci.image.index.v1+json",
                          Digest.parse("sha256:" + "c" * 64)) is None
    assert referrer_entry(b'{"subject": 1}', "application/json",
                          Digest.parse("sha256:" + "c" * 64)) is None
