"""Signatures, attestations and referrers on a real registry (distribution 2.8).

cosign's layout is made by hand with ``cryptography`` (tests/helpers/cosign.py)
and pushed as cosign pushes it: a manifest under ``sha256-<hex>.sig`` / ``.att``
whose layers carry the payloads. Distribution 2.8 has no referrers API, so an
OCI referrer is found through the referrers tag schema (``sha256-<hex>``).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spyglass.core.blobcache import BlobLocationCache
from spyglass.core.copy import BlobDone, BlobSkipped, CopyOptions, execute, plan_copy
from spyglass.core.digest import Digest
from spyglass.core.signatures import Kind, Status
from spyglass.core.signatures.attached import (
    find_attachments,
    image_attachments,
    read_attachment,
    verify_part,
)
from spyglass.core.signatures.stored import split_stored_signature
from spyglass.core.transports import open_source
from spyglass.core.transports.registry import RegistryOptions
from spyglass.core.transports.registry.client import RegistryClient
from spyglass.core.transports.registry.destination import RegistryDestination
from spyglass.core.transports.registry.source import RegistryImageSource
from tests.helpers import cosign
from tests.helpers.imagebuild import OCI_INDEX, OCI_MANIFEST, multi_platform_layout, sha256_digest
from tests.helpers.registry import RegistryServer, push_artifact, push_image

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO = "it-sig/app"


@pytest.fixture(scope="module")
def signed(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The 3-platform image as ``it-sig/app:v1``, signed (cosign, P-256), attested, with
    an SBOM referrer on its arm64 instance; the key pair and digests for the tests."""
    layout = tmp_path_factory.mktemp("sig-layout") / "layout"
    multi_platform_layout(layout)
    top = push_image(registry, layout, "latest", f"{REPO}:v1")
    key = cosign.generate_key("ecdsa-p256")
    reference = f"{registry.host}/{REPO}"

    payload = cosign.simple_signing_payload(f"{reference}:v1", top, optional={"team": "spyglass"})
    sig_layer = cosign.signature_layer(payload, key)
    manifest, blobs = cosign.cosign_manifest([(sig_layer[0], cosign.SIMPLESIGNING_MEDIA_TYPE,
                                               sig_layer[1])])
    push_artifact(registry, REPO, manifest, blobs, cosign.cosign_tag(top, "sig"))

    statement = cosign.in_toto_statement(
        [(reference, top)], "https://slsa.dev/provenance/v0.2", {"builder": {"id": "ci"}}
    )
    envelope = cosign.dsse_envelope(statement, key)
    manifest, blobs = cosign.cosign_manifest([(
        envelope, "application/vnd.dsse.envelope.v1+json",
        {"predicateType": "https://slsa.dev/provenance/v0.2"},
    )])
    push_artifact(registry, REPO, manifest, blobs, cosign.cosign_tag(top, "att"))

    index = json.loads((layout / "index.json").read_text())
    top_index = json.loads(
        (layout / "blobs" / "sha256" / top.split(":", 1)[1]).read_bytes()
    )
    arm64 = next(m for m in top_index["manifests"] if m["platform"]["architecture"] == "arm64")
    sbom = json.dumps({"spdxVersion": "SPDX-2.3", "name": "app", "packages": []}).encode()
    empty = b"{}"
    sbom_manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": "application/spdx+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": sha256_digest(empty), "size": 2},
        "layers": [{"mediaType": "application/spdx+json", "digest": sha256_digest(sbom),
                    "size": len(sbom)}],
        "subject": {"mediaType": arm64["mediaType"], "digest": arm64["digest"],
                    "size": arm64["size"]},
        "annotations": {"org.opencontainers.image.created": "2026-12-04T00:00:00Z"},
    }, separators=(",", ":")).encode()
    sbom_digest = push_artifact(
        registry, REPO, sbom_manifest, {sha256_digest(empty): empty, sha256_digest(sbom): sbom},
        sha256_digest(sbom_manifest),
    )
    referrers_index = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": sbom_digest,
                       "size": len(sbom_manifest), "artifactType": "application/spdx+json"}],
    }).encode()
    push_artifact(registry, REPO, referrers_index, {}, arm64["digest"].replace(":", "-"),
                  media_type=OCI_INDEX)
    assert index["manifests"]
    return {"top": top, "arm64": arm64["digest"], "key": key, "sbom": sbom_digest}


def _source(registry: RegistryServer):  # type: ignore[no-untyped-def]
    return open_source(f"docker://{registry.host}/{REPO}:v1", RegistryOptions(tls_verify=False))


def test_cosign_tags_are_found_decoded_and_verified(
    registry: RegistryServer, signed: dict[str, object]
) -> None:
    top = Digest.parse(str(signed["top"]))
    source = _source(registry)
    found = find_attachments(source, top)
    assert sorted(a.kind for a in found) == sorted([Kind.COSIGN_SIGNATURE, Kind.ATTESTATION])
    contents = {a.kind: read_attachment(source, a) for a in found}
    signature = contents[Kind.COSIGN_SIGNATURE].parts[0]
    assert signature.decoded is not None
    assert signature.decoded.names_image(top) is True
    assert signature.decoded.claimed_reference == f"{registry.host}/{REPO}:v1"

    key_pem = cosign.public_key_pem(signed["key"])  # type: ignore[arg-type]
    assert verify_part(signature, top, key=key_pem).status is Status.VERIFIED
    other = cosign.public_key_pem(cosign.generate_key("ecdsa-p256"))
    assert verify_part(signature, top, key=other).status is Status.BAD_SIGNATURE
    arm64 = Digest.parse(str(signed["arm64"]))
    assert verify_part(signature, arm64, key=key_pem).status is Status.WRONG_IMAGE
    assert verify_part(signature, top).status is Status.NOT_CHECKED

    attestation = contents[Kind.ATTESTATION].parts[0]
    assert attestation.decoded is not None
    assert attestation.decoded.names_image(top) is True
    assert verify_part(attestation, top, key=key_pem).status is Status.VERIFIED
    assert verify_part(attestation, top, key=other).status is Status.BAD_SIGNATURE


def test_referrer_found_through_the_tag_schema(
    registry: RegistryServer, signed: dict[str, object]
) -> None:
    source = _source(registry)
    arm64 = Digest.parse(str(signed["arm64"]))
    found = find_attachments(source, arm64)
    assert [a.found for a in found] == ["OCI referrer"]
    assert found[0].kind is Kind.SBOM
    content = read_attachment(source, found[0])
    assert content.attachment.created == "2026-12-04T00:00:00Z"
    assert content.parts[0].decoded is not None
    assert content.parts[0].decoded.kind is Kind.SBOM
    assert str(found[0].descriptor.digest) == signed["sbom"]  # type: ignore[union-attr]


def test_every_manifest_of_the_list_is_asked(
    registry: RegistryServer, signed: dict[str, object]
) -> None:
    subjects = image_attachments(_source(registry))
    assert subjects[0].label == "manifest list"
    assert len(subjects) == 4
    by_digest = {str(s.digest): s for s in subjects}
    assert len(by_digest[str(signed["top"])].attachments) == 2
    assert len(by_digest[str(signed["arm64"])].attachments) == 1
    others = [s for d, s in by_digest.items() if d not in (signed["top"], signed["arm64"])]
    assert all(not s.attachments for s in others)


def test_cli_signatures_with_a_key(
    registry: RegistryServer, signed: dict[str, object], tmp_path: Path
) -> None:
    key_file = tmp_path / "cosign.pub"
    key_file.write_bytes(cosign.public_key_pem(signed["key"]))  # type: ignore[arg-type]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    done = subprocess.run(
        [sys.executable, "-m", "spyglass", "signatures", "--tls-verify=false", "--key",
         str(key_file), f"docker://{registry.host}/{REPO}:v1"],
        capture_output=True, env=env, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["Digest"] == signed["top"]
    top = report["Manifests"][0]
    kinds = {a["Kind"]: a for a in top["Attached"]}
    signature = kinds["cosign signature"]["Parts"][0]
    assert signature["Verification"]["Status"] == "verified"
    assert signature["NamesThisImage"] is True
    assert kinds["attestation"]["Parts"][0]["Verification"]["Status"] == "verified"

    # another key: the report still, and status 1 with a sentence, as cosign verify fails
    other = tmp_path / "other.pub"
    other.write_bytes(cosign.public_key_pem(cosign.generate_key()))
    failed = subprocess.run(
        [sys.executable, "-m", "spyglass", "signatures", "--tls-verify=false", "--key",
         str(other), f"docker://{registry.host}/{REPO}:v1"],
        capture_output=True, env=env, timeout=60, check=False, text=True,
    )
    assert failed.returncode == 1
    statuses = [(attached["Kind"], part["Verification"]["Status"])
                for attached in json.loads(failed.stdout)["Manifests"][0]["Attached"]
                for part in attached["Parts"]]
    assert sorted(statuses) == [("attestation", "bad signature"),
                                ("cosign signature", "bad signature")]
    assert failed.stderr.strip() == (  # the attestation is no signature of the image
        f'spyglass: No signature of docker://{registry.host}/{REPO}:v1 verifies with the key '
        f'"{other}"; its signatures: bad signature (1).')

    missing = subprocess.run(
        [sys.executable, "-m", "spyglass", "signatures", "--key", str(tmp_path / "nope.pub"),
         f"docker://{registry.host}/{REPO}:v1"],
        capture_output=True, env=env, timeout=60, check=False, text=True,
    )
    assert missing.returncode != 0
    assert missing.stderr.startswith("spyglass: Cannot read the key") and "Traceback" not in (
        missing.stderr
    )
    garbage = tmp_path / "garbage.pub"
    garbage.write_text("not a key\n")
    refused = subprocess.run(
        [sys.executable, "-m", "spyglass", "signatures", "--key", str(garbage),
         f"docker://{registry.host}/{REPO}:v1"],
        capture_output=True, env=env, timeout=60, check=False, text=True,
    )
    assert refused.returncode != 0
    assert refused.stderr.strip() == (
        f'spyglass: The key file "{garbage}" is not a public key: expected a PEM public key '
        '("-----BEGIN PUBLIC KEY-----", as cosign.pub) or a certificate.'
    )


def test_cli_signatures_of_an_unsigned_image_with_a_key_fails(tmp_path: Path) -> None:
    key_file = tmp_path / "cosign.pub"
    key_file.write_bytes(cosign.public_key_pem(cosign.generate_key()))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    name = f"oci:{REPO_ROOT / 'resources' / 'sample-layout'}:tools:2024.1"
    done = subprocess.run(
        [sys.executable, "-m", "spyglass", "signatures", "--key", str(key_file), name],
        capture_output=True, env=env, timeout=60, check=False, text=True,
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["Manifests"][0]["Attached"] == []
    assert done.stderr.strip() == (
        f'spyglass: No signature of {name} verifies with the key "{key_file}"; {name} has '
        "no signature that could be checked with it.")
    listed = subprocess.run(  # without a key it only lists: status 0
        [sys.executable, "-m", "spyglass", "signatures", name],
        capture_output=True, env=env, timeout=60, check=False, text=True,
    )
    assert listed.returncode == 0, listed.stderr


@pytest.mark.parametrize("claimed, accepted", [
    ("{host}/it-sig/replayed:v1", True),
    ("127.0.0.1:1/elsewhere/app:1.0", False),  # replayed from another registry's repository
    ("{host}/it-sig/replayed:v2", False),  # another tag
    ("{host}/it-sig/replayed", True),  # no tag, as cosign signs (a note: matchRepository)
    ("127.0.0.1:1/elsewhere/app", False),  # as cosign signs, another repository
])
def test_cli_signatures_compares_the_signed_reference_with_the_image(
    registry: RegistryServer, tmp_path: Path, claimed: str, accepted: bool
) -> None:
    """A cosign signature whose critical.identity.docker-reference is not the image's (but
    whose digest is) was "verified", exit 0, "names this image (127.0.0.1:1/elsewhere/app)";
    containers/image's sigstoreSigned, with its default signedIdentity, rejects it."""
    layout = tmp_path / "layout"
    multi_platform_layout(layout)
    top = push_image(registry, layout, "latest", "it-sig/replayed:v1")
    key = cosign.generate_key("ecdsa-p256")
    claimed = claimed.format(host=registry.host)
    payload = cosign.simple_signing_payload(claimed, top)
    layer = cosign.signature_layer(payload, key)
    manifest, blobs = cosign.cosign_manifest([(layer[0], cosign.SIMPLESIGNING_MEDIA_TYPE,
                                               layer[1])])
    push_artifact(registry, "it-sig/replayed", manifest, blobs, cosign.cosign_tag(top, "sig"))
    key_file = tmp_path / "cosign.pub"
    key_file.write_bytes(cosign.public_key_pem(key))
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    name = f"docker://{registry.host}/it-sig/replayed:v1"
    done = subprocess.run(
        [sys.executable, "-m", "spyglass", "signatures", "--tls-verify=false", "--top-only",
         "--key", str(key_file), name],
        capture_output=True, env=env, timeout=60, check=False, text=True,
    )
    (attached,) = json.loads(done.stdout)["Manifests"][0]["Attached"]
    part = attached["Parts"][0]
    if accepted:
        assert done.returncode == 0, done.stderr
        assert part["Verification"]["Status"] == "verified"
        assert part["NamesThisImage"] is True
        repository_alone = ":" not in claimed.rsplit("/", 1)[1]
        assert ('"signedIdentity": {"type": "matchRepository"}' in
                part["Verification"]["Detail"]) is repository_alone
        return
    assert done.returncode == 1
    assert part["Verification"]["Status"] == "wrong image"
    assert part["NamesThisImage"] is False
    detail = part["Verification"]["Detail"]
    assert detail.startswith(
        "The signature is good, but it is not accepted for this image: it names "
        f'"{claimed}", and this image is "{registry.host}/it-sig/replayed:v1"; '), detail
    assert done.stderr.strip() == (
        f'spyglass: No signature of {name} verifies with the key "{key_file}"; its '
        "signatures: wrong image (1).")


# --------------------------------------------------------------------------- carried by copies


def _copy(source: str, destination: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    return subprocess.run(
        [sys.executable, "-m", "spyglass", "copy", "--all", "--src-tls-verify=false",
         "--dest-tls-verify=false", *extra, source, destination],
        capture_output=True, env=env, timeout=120, check=False, text=True,
    )


def test_copy_to_another_registry_carries_tags_and_referrers(
    registry: RegistryServer, fresh_registry: RegistryServer, signed: dict[str, object]
) -> None:
    done = _copy(f"docker://{registry.host}/{REPO}:v1",
                 f"docker://{fresh_registry.host}/copied/app:v1")
    assert done.returncode == 0, done.stderr
    copied = open_source(f"docker://{fresh_registry.host}/copied/app:v1",
                         RegistryOptions(tls_verify=False))
    top = Digest.parse(str(signed["top"]))
    found = {a.found: a for a in find_attachments(copied, top)}
    assert set(found) == {f"tag {cosign.cosign_tag(str(top), 'sig')}",
                          f"tag {cosign.cosign_tag(str(top), 'att')}"}
    signature = read_attachment(copied, found[f"tag {cosign.cosign_tag(str(top), 'sig')}"])
    key_pem = cosign.public_key_pem(signed["key"])  # type: ignore[arg-type]
    assert verify_part(signature.parts[0], top, key=key_pem).status is Status.VERIFIED
    arm64 = Digest.parse(str(signed["arm64"]))
    referrers = find_attachments(copied, arm64)
    assert [str(r.descriptor.digest) for r in referrers] == [signed["sbom"]]  # type: ignore[union-attr]


def _referrers_tag_entries(server: RegistryServer, repository: str, subject: str) -> list[
    dict[str, object]
]:
    with server.client() as client:
        answer = client.get(f"/v2/{repository}/manifests/{subject.replace(':', '-')}",
                            headers={"Accept": OCI_INDEX})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["manifests"])


def test_a_referrer_is_listed_with_its_own_annotations_and_artifact_type(
    registry: RegistryServer, fresh_registry: RegistryServer, signed: dict[str, object]
) -> None:
    """The referrers tag index written for a carried referrer describes the referrer as
    the distribution spec has it: the manifest's own annotations, its artifactType."""
    done = _copy(f"docker://{registry.host}/{REPO}:v1",
                 f"docker://{fresh_registry.host}/described/app:v1")
    assert done.returncode == 0, done.stderr
    (entry,) = _referrers_tag_entries(fresh_registry, "described/app", str(signed["arm64"]))
    assert entry["digest"] == signed["sbom"]
    assert entry["artifactType"] == "application/spdx+json"
    assert entry["annotations"] == {"org.opencontainers.image.created": "2026-12-04T00:00:00Z"}


def test_a_referrer_copied_alone_is_listed_for_its_subject(
    registry: RegistryServer, fresh_registry: RegistryServer, signed: dict[str, object]
) -> None:
    """The referrer is the image copied (by digest, to a tag): the registry does not index
    it (distribution 2.8), so the copy adds it to the subject's referrers tag."""
    done = _copy(f"docker://{registry.host}/{REPO}@{signed['sbom']}",
                 f"docker://{fresh_registry.host}/alone/app:sbom")
    assert done.returncode == 0, done.stderr
    (entry,) = _referrers_tag_entries(fresh_registry, "alone/app", str(signed["arm64"]))
    assert entry["digest"] == signed["sbom"]
    assert entry["artifactType"] == "application/spdx+json"


def test_a_layout_referrer_is_listed_without_the_layouts_own_names(tmp_path: Path,
                                                                  fresh_registry: RegistryServer
                                                                  ) -> None:
    """An ``index.json`` entry's annotations (a tag name there) are the layout's, not the
    referrer's: the referrers tag lists the manifest's own."""
    digest, _key = cosign.signed_layout(tmp_path / "src")
    index_path = tmp_path / "src" / "index.json"
    index = json.loads(index_path.read_text())
    for entry in index["manifests"]:
        if entry.get("artifactType") == "application/spdx+json":
            entry["annotations"] = {"org.opencontainers.image.ref.name": "sbom"}
    index_path.write_text(json.dumps(index))
    done = _copy(f"oci:{tmp_path / 'src'}:app", f"docker://{fresh_registry.host}/named/app:v1")
    assert done.returncode == 0, done.stderr
    (entry,) = _referrers_tag_entries(fresh_registry, "named/app", digest)
    assert "annotations" not in entry
    assert entry["artifactType"] == "application/spdx+json"


def test_a_cosign_save_layout_goes_to_a_registry_with_its_signature_tags(
    tmp_path: Path, fresh_registry: RegistryServer
) -> None:
    """``spyglass copy oci:DIR docker://…`` of what cosign save wrote: the image saved, its
    signature and attestation pushed under its ``.sig`` and ``.att`` tags, as cosign load
    pushes them, and verified there with the key."""
    saved = cosign.cosign_saved_layout(tmp_path / "saved")
    done = _copy(f"oci:{saved.root}", f"docker://{fresh_registry.host}/saved/app:v1")
    assert done.returncode == 0, done.stderr
    copied = open_source(f"docker://{fresh_registry.host}/saved/app:v1",
                         RegistryOptions(tls_verify=False))
    raw, _media_type = copied.get_manifest()
    assert sha256_digest(raw) == saved.image
    image = Digest.parse(saved.image)
    found = find_attachments(copied, image)
    assert [(a.found, str(a.descriptor.digest) if a.descriptor else None) for a in found] == [
        (f"tag {cosign.cosign_tag(saved.image, 'sig')}", saved.sig),
        (f"tag {cosign.cosign_tag(saved.image, 'att')}", saved.att),
    ]
    key_pem = cosign.public_key_pem(saved.key)
    for attachment in found:
        (part,) = read_attachment(copied, attachment).parts
        assert verify_part(part, image, key=key_pem).status is Status.VERIFIED


def test_a_copy_within_the_registry_mounts_the_signatures_blobs_too(
    registry: RegistryServer, signed: dict[str, object], tmp_path: Path
) -> None:
    """Into another repository of the same registry, with nothing remembered yet: every
    blob is mounted, the configs and layers of the cosign tags included."""
    fresh = BlobLocationCache(tmp_path / "fresh.sqlite")
    client = RegistryClient(registry.host, insecure=True)
    source = RegistryImageSource(client, REPO, "v1", cache=fresh)
    destination = RegistryDestination(client, "it-sig/mounted", tag="v1", cache=fresh)
    seen: list[object] = []
    try:
        plan = plan_copy(source, destination, CopyOptions(multi_arch="all"))
        assert plan.attachments
        execute(plan, source, destination, events=seen.append)
    finally:
        fresh.close()
    uploaded = [e for e in seen if isinstance(e, BlobDone)]
    assert uploaded == []
    assert {e.how for e in seen if isinstance(e, BlobSkipped)} <= {"mounted", "exists"}


def _tag_digest(server: RegistryServer, repository: str, tag: str) -> str:
    with server.client() as client:
        answer = client.head(f"/v2/{repository}/manifests/{tag}",
                             headers={"Accept": OCI_MANIFEST})
    assert answer.status_code == 200, answer
    return str(answer.headers["docker-content-digest"])


def _statuses(name: str, digest: Digest, key_pem: bytes) -> list[Status]:
    """How ``key_pem`` verifies each signature of the image's cosign .sig tag."""
    source = open_source(name, RegistryOptions(tls_verify=False))
    (found,) = [a for a in find_attachments(source, digest) if a.kind is Kind.COSIGN_SIGNATURE]
    return [verify_part(part, digest, key=key_pem).status
            for part in read_attachment(source, found).parts]


def test_a_signature_tag_the_destination_has_for_others_gets_the_sources_added(
    registry: RegistryServer, fresh_registry: RegistryServer, signed: dict[str, object]
) -> None:
    """Another signer's signatures under the destination's sha256-<hex>.sig stay, first;
    the source's are added after them, as containers/image adds them; copying again
    adds nothing and writes no new manifest."""
    top = str(signed["top"])
    tag = cosign.cosign_tag(top, "sig")
    key = cosign.generate_key("ecdsa-p256")
    payload = cosign.simple_signing_payload(f"{fresh_registry.host}/kept/app", top)
    layer = cosign.signature_layer(payload, key)
    theirs, blobs = cosign.cosign_manifest([(layer[0], cosign.SIMPLESIGNING_MEDIA_TYPE,
                                             layer[1])])
    push_artifact(fresh_registry, "kept/app", theirs, blobs, tag)
    done = _copy(f"docker://{registry.host}/{REPO}:v1",
                 f"docker://{fresh_registry.host}/kept/app:v1")
    assert done.returncode == 0, done.stderr
    assert (f"Note: the source's 1 cosign signature is merged into {tag} at "
            f"docker://{fresh_registry.host}/kept/app:v1, which already holds 1 other "
            "signature") in done.stderr, done.stderr
    merged = _tag_digest(fresh_registry, "kept/app", tag)
    assert merged != sha256_digest(theirs)
    name = f"docker://{fresh_registry.host}/kept/app:v1"
    ours = cosign.public_key_pem(signed["key"])  # type: ignore[arg-type]
    assert _statuses(name, Digest.parse(top), cosign.public_key_pem(key)) == [
        Status.VERIFIED, Status.BAD_SIGNATURE]
    assert _statuses(name, Digest.parse(top), ours) == [Status.BAD_SIGNATURE, Status.VERIFIED]

    again = _copy(f"docker://{registry.host}/{REPO}:v1", name)
    assert again.returncode == 0, again.stderr
    assert (f"Note: {tag} at {name} already holds the source's 1 cosign signature; nothing "
            "is added") in again.stderr, again.stderr
    assert _tag_digest(fresh_registry, "kept/app", tag) == merged


def test_dir_signatures_go_back_to_a_registry_as_a_sig_tag(
    registry: RegistryServer, fresh_registry: RegistryServer, signed: dict[str, object],
    tmp_path: Path,
) -> None:
    """registry → dir: (a sigstore-json signature-1) → another registry, and another
    repository of the same one: a sha256-<hex>.sig whose signature verifies."""
    folder = tmp_path / "dir"
    done = _copy(f"docker://{registry.host}/{REPO}:v1", f"dir:{folder}")
    assert done.returncode == 0, done.stderr
    top = Digest.parse(str(signed["top"]))
    key_pem = cosign.public_key_pem(signed["key"])  # type: ignore[arg-type]
    for name in (f"docker://{fresh_registry.host}/back/app:v1",
                 f"docker://{registry.host}/it-sig/back:v1"):
        done = _copy(f"dir:{folder}", name)
        assert done.returncode == 0, done.stderr
        assert "Note:" not in done.stderr, done.stderr
        copied = open_source(name, RegistryOptions(tls_verify=False))
        found = find_attachments(copied, top)
        assert [a.found for a in found] == [f"tag {cosign.cosign_tag(str(top), 'sig')}"]
        assert _statuses(name, top, key_pem) == [Status.VERIFIED]
        # the layer is the payload with the annotations signature-1 holds
        content = read_attachment(copied, found[0])
        stored = split_stored_signature((folder / "signature-1").read_bytes())
        assert (content.parts[0].data, content.parts[0].annotations) == (
            stored.data, stored.annotations)


def test_dir_signatures_go_into_a_layout_as_a_sig_ref(
    registry: RegistryServer, signed: dict[str, object], tmp_path: Path
) -> None:
    folder = tmp_path / "dir"
    done = _copy(f"docker://{registry.host}/{REPO}:v1", f"dir:{folder}")
    assert done.returncode == 0, done.stderr
    layout = tmp_path / "layout"
    done = _copy(f"dir:{folder}", f"oci:{layout}:v1")
    assert done.returncode == 0, done.stderr
    top = Digest.parse(str(signed["top"]))
    source = open_source(f"oci:{layout}:v1")
    (found,) = find_attachments(source, top)
    assert found.found == f"tag {cosign.cosign_tag(str(top), 'sig')}"
    (part,) = read_attachment(source, found).parts
    key_pem = cosign.public_key_pem(signed["key"])  # type: ignore[arg-type]
    assert verify_part(part, top, key=key_pem).status is Status.VERIFIED


def test_copy_into_a_layout_keeps_them_in_its_index(
    registry: RegistryServer, signed: dict[str, object], tmp_path: Path
) -> None:
    layout = tmp_path / "layout"
    done = _copy(f"docker://{registry.host}/{REPO}:v1", f"oci:{layout}:v1")
    assert done.returncode == 0, done.stderr
    index = json.loads((layout / "index.json").read_text())
    names = sorted(
        (m.get("annotations") or {}).get("org.opencontainers.image.ref.name", "")
        for m in index["manifests"]
    )
    top = str(signed["top"])
    assert names == sorted(["", "v1", cosign.cosign_tag(top, "sig"), cosign.cosign_tag(top, "att")])
    source = open_source(f"oci:{layout}:v1")
    subjects = image_attachments(source)
    counts = {str(s.digest): len(s.attachments) for s in subjects}
    assert counts[top] == 2 and counts[str(signed["arm64"])] == 1
    # skopeo still reads the image by its name among the extra entries
    skopeo = subprocess.run(["skopeo", "inspect", "--raw", f"oci:{layout}:v1"],
                            capture_output=True, check=False)
    assert skopeo.returncode == 0, skopeo.stderr
    assert sha256_digest(skopeo.stdout) == top


def test_a_layout_image_given_no_name_keeps_nothing_attached(
    registry: RegistryServer, signed: dict[str, object], tmp_path: Path
) -> None:
    """Without a name the image would sit among its attachments' entries, and oci:PATH
    (as skopeo and Spyglass read it) would name none: signatures are refused with what
    to do, and left behind with --remove-signatures, which makes a layout of one image."""
    layout = tmp_path / "layout"
    refused = _copy(f"docker://{registry.host}/{REPO}:v1", f"oci:{layout}")
    assert refused.returncode == 1
    said = refused.stderr.strip()
    assert said.startswith(f"spyglass: oci:{layout} cannot keep the signatures of this image: "
                           "cosign signature"), said
    assert said.endswith(f"; an image written without a name keeps nothing attached to it; "
                         f"name it, as oci:{layout}:NAME, to keep what is attached. Copy "
                         "with --remove-signatures to leave them behind."), said
    assert not layout.exists()
    done = _copy(f"docker://{registry.host}/{REPO}:v1", f"oci:{layout}", "--remove-signatures")
    assert done.returncode == 0, done.stderr
    assert len(json.loads((layout / "index.json").read_text())["manifests"]) == 1
    skopeo = subprocess.run(["skopeo", "inspect", "--raw", f"oci:{layout}"],
                            capture_output=True, check=False)
    assert skopeo.returncode == 0, skopeo.stderr
    assert sha256_digest(skopeo.stdout) == signed["top"]


def test_copy_into_dir_writes_sigstore_signature_files(
    registry: RegistryServer, signed: dict[str, object], tmp_path: Path
) -> None:
    folder = tmp_path / "dir"
    done = _copy(f"docker://{registry.host}/{REPO}:v1", f"dir:{folder}")
    assert done.returncode == 0, done.stderr
    assert "left behind" in done.stderr  # the attestation and the SBOM have no place there
    assert (folder / "signature-1").read_bytes().startswith(b"\0sigstore-json\n")
    assert not (folder / "signature-2").exists()
    source = open_source(f"dir:{folder}")
    top = Digest.parse(str(signed["top"]))
    found = find_attachments(source, top)
    assert [a.found for a in found] == ["signature-1"]
    part = read_attachment(source, found[0]).parts[0]
    key_pem = cosign.public_key_pem(signed["key"])  # type: ignore[arg-type]
    assert verify_part(part, top, key=key_pem).status is Status.VERIFIED
    # and from dir: to dir: the file goes along as it is
    again = tmp_path / "again"
    done = _copy(f"dir:{folder}", f"dir:{again}")
    assert done.returncode == 0, done.stderr
    assert (again / "signature-1").read_bytes() == (folder / "signature-1").read_bytes()


def test_oci_archive_keeps_them_like_a_layout(
    registry: RegistryServer, signed: dict[str, object], tmp_path: Path
) -> None:
    archive = tmp_path / "image.tar"
    done = _copy(f"docker://{registry.host}/{REPO}:v1", f"oci-archive:{archive}:v1")
    assert done.returncode == 0, done.stderr
    # the log says what goes along, not only the image's manifests
    assert "Along with the image: " in done.stderr and "cosign signature" in done.stderr
    subjects = image_attachments(open_source(f"oci-archive:{archive}:v1"))
    counts = {str(s.digest): len(s.attachments) for s in subjects}
    assert counts[str(signed["top"])] == 2 and counts[str(signed["arm64"])] == 1


def test_docker_archive_converts_so_signatures_stay_behind_with_a_note(
    registry: RegistryServer, signed: dict[str, object], tmp_path: Path
) -> None:
    """docker-archive holds Docker images: the OCI image is converted, its digest
    changes, and its signatures are noted as not copied rather than refused."""
    archive = tmp_path / "docker.tar"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    done = subprocess.run(
        [sys.executable, "-m", "spyglass", "copy", "--src-tls-verify=false",
         f"docker://{registry.host}/{REPO}@{signed['arm64']}", f"docker-archive:{archive}:app:v1"],
        capture_output=True, env=env, timeout=120, check=False, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "not carried along" in done.stderr and str(signed["arm64"]) in done.stderr
    assert archive.exists()


def test_conversion_leaves_signatures_with_a_note(
    registry: RegistryServer, fresh_registry: RegistryServer, signed: dict[str, object]
) -> None:
    done = _copy(f"docker://{registry.host}/{REPO}:v1",
                 f"docker://{fresh_registry.host}/converted/app:v1", "--format", "v2s2")
    assert done.returncode == 0, done.stderr
    assert "not carried along" in done.stderr and "digest" in done.stderr
    copied = open_source(f"docker://{fresh_registry.host}/converted/app:v1",
                         RegistryOptions(tls_verify=False))
    assert find_attachments(copied, Digest.parse(str(signed["top"]))) == []


def test_sigstore_bundle_referrer_found_verified_and_carried(
    registry: RegistryServer, fresh_registry: RegistryServer, tmp_path: Path
) -> None:
    """cosign --new-bundle-format's layout: a referrer whose layer is a Sigstore bundle;
    distribution 2.8 lists it through the referrers tag, and a copy keeps that list."""
    from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

    layout = tmp_path / "layout"
    builder = LayoutBuilder(layout)
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/b": b"bundle\n"})]))
    builder.tag({k: v for k, v in image.items() if k != "platform"}, "v1")
    repo = "it-sig/bundled"
    digest = push_image(registry, layout, "v1", f"{repo}:v1")
    key = cosign.generate_key()
    bundle = cosign.sigstore_bundle(key, image_digest=digest)
    empty = b"{}"
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": cosign.BUNDLE_MEDIA_TYPE,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": sha256_digest(empty), "size": 2},
        "layers": [{"mediaType": cosign.BUNDLE_MEDIA_TYPE, "digest": sha256_digest(bundle),
                    "size": len(bundle)}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": digest, "size": image["size"]},
    }, separators=(",", ":")).encode()
    referrer = push_artifact(registry, repo, manifest,
                             {sha256_digest(empty): empty, sha256_digest(bundle): bundle},
                             sha256_digest(manifest))
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": referrer, "size": len(manifest),
         "artifactType": cosign.BUNDLE_MEDIA_TYPE}]}).encode()
    push_artifact(registry, repo, index, {}, digest.replace(":", "-"), media_type=OCI_INDEX)

    key_pem = cosign.public_key_pem(key)
    for host, name in ((registry.host, repo), (fresh_registry.host, "copied/bundled")):
        if host == fresh_registry.host:
            done = _copy(f"docker://{registry.host}/{repo}:v1", f"docker://{host}/{name}:v1")
            assert done.returncode == 0, done.stderr
        source = open_source(f"docker://{host}/{name}:v1", RegistryOptions(tls_verify=False))
        (found,) = find_attachments(source, Digest.parse(digest))
        assert found.kind is Kind.COSIGN_SIGNATURE and found.found == "OCI referrer"
        part = read_attachment(source, found).parts[0]
        assert verify_part(part, Digest.parse(digest), key=key_pem).status is Status.VERIFIED


def test_referrers_of_one_subject_written_at_once_are_all_listed(
    fresh_registry: RegistryServer,
) -> None:
    """Two copies at once (two destinations, as the window runs them), each writing a
    referrer of the same subject: the referrers tag index is written whole, so one
    could replace the other's; both stay listed."""
    import threading

    client = RegistryClient(fresh_registry.host, insecure=True)
    repository = "race/app"
    empty = b"{}"
    client.upload_blob(repository, io.BytesIO(empty), Digest.parse(sha256_digest(empty)), 2)
    for round_number in range(8):
        subject = sha256_digest(f"subject {round_number}".encode())
        referrers = []
        for side in ("a", "b"):
            raw = json.dumps({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "artifactType": f"application/vnd.example.{side}",
                "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                           "digest": sha256_digest(empty), "size": 2},
                "layers": [],
                "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 100},
            }).encode()
            referrers.append((raw, Digest.parse(sha256_digest(raw))))
        destinations = [RegistryDestination(client, repository, tag="v1") for _ in referrers]
        start = threading.Barrier(2)

        def put(destination: RegistryDestination, raw: bytes, digest: Digest,
                start: threading.Barrier) -> None:
            start.wait()
            destination.put_manifest(raw, OCI_MANIFEST, digest)

        threads = [threading.Thread(target=put, args=(d, raw, digest, start))
                   for d, (raw, digest) in zip(destinations, referrers, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        listed = {e["digest"] for e in _referrers_tag_entries(fresh_registry, repository, subject)}
        assert listed == {str(digest) for _raw, digest in referrers}, round_number
