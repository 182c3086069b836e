"""Referrers of referrers (a signature on an SBOM that refers to the image) on a real
registry (distribution 2.8, referrers tag schema), and a referrers index that lists a
manifest the registry no longer has.

The image A has two OCI referrers, the SBOM S and the scan V, listed in ``sha256-<A>``;
S has a referrer of its own, the signature RR, listed in ``sha256-<S>``, and a cosign
signature under ``sha256-<S>.sig``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.signatures.attached import find_attachments, image_attachments
from spyglass.core.transports import open_source
from spyglass.core.transports.registry.client import RegistryClient
from spyglass.gui.registry_actions import delete_result
from spyglass.gui.registry_jobs import DeletePlan, delete_image
from tests.helpers import cosign
from tests.helpers.imagebuild import OCI_INDEX, OCI_MANIFEST, dump_json, sha256_digest
from tests.helpers.registry import RegistryServer, push_artifact, seed_image

REPO_ROOT = Path(__file__).resolve().parents[2]
EMPTY = b"{}"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"


@dataclass(frozen=True)
class Graph:
    repo: str
    image: str
    sbom: str
    scan: str
    signature: str
    """RR: the referrer whose subject is the SBOM."""
    sbom_sig_tag: str


def _referrer(server: RegistryServer, repo: str, subject: str, artifact_type: str,
              body: bytes) -> tuple[str, dict[str, object]]:
    """A referrer of ``subject`` pushed by digest; its digest and referrers index entry."""
    subject_raw = _get(server, repo, subject)
    manifest = dump_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
        "config": {"mediaType": EMPTY_TYPE, "digest": sha256_digest(EMPTY), "size": 2},
        "layers": [{"mediaType": artifact_type, "digest": sha256_digest(body),
                    "size": len(body)}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": len(subject_raw)},
    })
    digest = push_artifact(server, repo, manifest,
                           {sha256_digest(EMPTY): EMPTY, sha256_digest(body): body},
                           sha256_digest(manifest))
    return digest, {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(manifest),
                    "artifactType": artifact_type}


def _list_referrers(server: RegistryServer, repo: str, subject: str,
                    entries: list[dict[str, object]]) -> None:
    index = dump_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
    push_artifact(server, repo, index, {}, subject.replace(":", "-"), media_type=OCI_INDEX)


def _get(server: RegistryServer, repo: str, reference: str) -> bytes:
    with server.client() as client:
        answer = client.get(f"/v2/{repo}/manifests/{reference}",
                            headers={"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"})
    assert answer.status_code == 200, (reference, answer.text)
    return answer.content


def _image(server: RegistryServer, repo: str) -> str:
    with server.client() as client:
        manifest, digest = seed_image(client, repo)
    push_artifact(server, repo, manifest, {}, "v1")
    return digest


@pytest.fixture(scope="module")
def graph(registry: RegistryServer) -> Graph:
    repo = "it-graph/app"
    image = _image(registry, repo)
    sbom, sbom_entry = _referrer(registry, repo, image, "application/spdx+json",
                                 b'{"spdxVersion":"SPDX-2.3"}')
    scan, scan_entry = _referrer(registry, repo, image, "application/vnd.example.scan+json",
                                 b'{"vulnerabilities":[]}')
    _list_referrers(registry, repo, image, [sbom_entry, scan_entry])
    signature, signature_entry = _referrer(
        registry, repo, sbom, "application/vnd.example.signature.v1+json", b"signed")
    _list_referrers(registry, repo, sbom, [signature_entry])
    key = cosign.generate_key("ecdsa-p256")
    payload = cosign.simple_signing_payload(f"{registry.host}/{repo}", sbom)
    layer = cosign.signature_layer(payload, key)
    manifest, blobs = cosign.cosign_manifest([(layer[0], cosign.SIMPLESIGNING_MEDIA_TYPE,
                                               layer[1])])
    tag = cosign.cosign_tag(sbom, "sig")
    push_artifact(registry, repo, manifest, blobs, tag)
    return Graph(repo, image, sbom, scan, signature, tag)


def _spyglass(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    return subprocess.run(
        [sys.executable, "-m", "spyglass", *args], capture_output=True, env=env, timeout=120,
        check=False, text=True,
    )


def _copy(source: str, destination: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return _spyglass("copy", "--src-tls-verify=false", "--dest-tls-verify=false", *extra,
                     source, destination)


def _listed(server: RegistryServer, repo: str, subject: str) -> list[str]:
    index = json.loads(_get(server, repo, subject.replace(":", "-")))
    return [str(entry["digest"]) for entry in index["manifests"]]


def test_a_signature_on_the_sbom_goes_to_another_registry_with_it(
    registry: RegistryServer, fresh_registry: RegistryServer, graph: Graph
) -> None:
    source = f"docker://{registry.host}/{graph.repo}:v1"
    destination = f"docker://{fresh_registry.host}/copied/app:v1"
    planned = _copy(source, destination, "--dry-run")
    assert planned.returncode == 0, planned.stderr
    assert "(2 of them attached to another of them)" in planned.stdout, planned.stdout
    done = _copy(source, destination)
    assert done.returncode == 0, done.stderr
    assert sorted(_listed(fresh_registry, "copied/app", graph.image)) == sorted(
        [graph.sbom, graph.scan])
    assert _listed(fresh_registry, "copied/app", graph.sbom) == [graph.signature]
    assert sha256_digest(_get(fresh_registry, "copied/app", graph.signature)) == graph.signature
    assert _get(fresh_registry, "copied/app", graph.sbom_sig_tag) == _get(
        registry, graph.repo, graph.sbom_sig_tag)
    # copied again: all there, nothing written twice, nothing listed twice
    again = _copy(source, destination)
    assert again.returncode == 0, again.stderr
    assert _listed(fresh_registry, "copied/app", graph.sbom) == [graph.signature]


@pytest.mark.parametrize("transport", ["oci", "oci-archive"])
def test_a_signature_on_the_sbom_goes_into_a_layout_with_it(
    registry: RegistryServer, graph: Graph, tmp_path: Path, transport: str
) -> None:
    target = tmp_path / ("archive.tar" if transport == "oci-archive" else "layout")
    done = _copy(f"docker://{registry.host}/{graph.repo}:v1", f"{transport}:{target}:v1")
    assert done.returncode == 0, done.stderr
    if transport == "oci-archive":
        with tarfile.open(target) as archive:
            index = json.load(archive.extractfile("index.json"))  # type: ignore[arg-type]
    else:
        index = json.loads((target / "index.json").read_text())
    digests = [entry["digest"] for entry in index["manifests"]]
    # each parent before what is attached to it
    assert digests.index(graph.sbom) < digests.index(graph.signature)
    copied = open_source(f"{transport}:{target}:v1")
    found = find_attachments(copied, Digest.parse(graph.sbom))
    assert sorted(str(a.descriptor.digest) for a in found if a.descriptor) == sorted(
        [graph.signature, sha256_digest(_get(registry, graph.repo, graph.sbom_sig_tag))])


def test_the_signatures_command_shows_what_is_attached_to_an_attachment(
    registry: RegistryServer, graph: Graph
) -> None:
    subjects = image_attachments(open_source(f"docker://{registry.host}/{graph.repo}:v1"))
    (top,) = subjects
    by_digest = {str(c.attachment.descriptor.digest): c for c in top.attachments
                 if c.attachment.descriptor}
    assert set(by_digest) == {graph.sbom, graph.scan}
    under = by_digest[graph.sbom].attachments
    assert sorted(str(c.attachment.descriptor.digest) for c in under
                  if c.attachment.descriptor) == sorted(
        [graph.signature, sha256_digest(_get(registry, graph.repo, graph.sbom_sig_tag))])
    assert by_digest[graph.scan].attachments == ()
    done = _spyglass("signatures", "--tls-verify=false",
                     f"docker://{registry.host}/{graph.repo}:v1")
    assert done.returncode == 0, done.stderr
    (manifest,) = json.loads(done.stdout)["Manifests"]
    (sbom,) = [a for a in manifest["Attached"] if a["Digest"] == graph.sbom]
    assert sorted(a["Digest"] for a in sbom["Attached"]) == sorted(
        [graph.signature, sha256_digest(_get(registry, graph.repo, graph.sbom_sig_tag))])


def test_a_referrer_gone_from_the_source_is_left_behind_with_a_note(
    registry: RegistryServer, fresh_registry: RegistryServer, tmp_path: Path
) -> None:
    """The referrers index of the image lists the SBOM and a manifest deleted since: the
    copy carries the SBOM, says what is gone, and the destination lists only the SBOM."""
    repo = "it-graph/stale"
    image = _image(registry, repo)
    sbom, sbom_entry = _referrer(registry, repo, image, "application/spdx+json", b"{}\n")
    gone, gone_entry = _referrer(registry, repo, image,
                                 "application/vnd.example.signature.v1+json", b"gone")
    _list_referrers(registry, repo, image, [sbom_entry, gone_entry])
    with registry.client() as client:  # (as registry GC or another tool leaves it)
        assert client.delete(f"/v2/{repo}/manifests/{gone}").status_code == 202
    source = f"docker://{registry.host}/{repo}:v1"
    note = (f"Note: 1 referrer listed in the referrers index {image.replace(':', '-')} is "
            f"gone from the source ({gone}): left behind, and not listed at the destination")
    planned = _copy(source, f"oci:{tmp_path / 'layout'}:v1", "--dry-run")
    assert planned.returncode == 0, planned.stderr
    done = _copy(source, f"docker://{fresh_registry.host}/stale/app:v1")
    assert done.returncode == 0, done.stderr
    assert note in done.stderr, done.stderr
    assert _listed(fresh_registry, "stale/app", image) == [sbom]


@pytest.mark.parametrize("case", ["another subject", "the image itself"])
def test_a_referrers_index_entry_that_is_no_referrer_of_the_image_is_not_attached(
    registry: RegistryServer, fresh_registry: RegistryServer, case: str
) -> None:
    """The image's referrers index (distribution 2.8 has no referrers API) lists its SBOM
    and a manifest that is no referrer of it: an SBOM whose own ``subject`` is another
    manifest, or the image itself. That one was shown and counted as attached ('1 thing
    attached'), and a copy wrote it 'along with the image', under the other subject's
    index at the destination (or the image listed as its own referrer). Now it is left
    out of the listing, the command line's JSON and the copy, each saying why, and the
    SBOM beside it is as before."""
    repo = f"it-graph/misplaced-{case.split()[-1]}"
    image = _image(registry, repo)
    sbom, sbom_entry = _referrer(registry, repo, image, "application/spdx+json", b"{}\n")
    if case == "another subject":
        elsewhere = "sha256:" + "ef" * 32
        body = b'{"spdxVersion":"SPDX-2.3","name":"not this image"}'
        manifest = dump_json({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "artifactType": "application/spdx+json",
            "config": {"mediaType": EMPTY_TYPE, "digest": sha256_digest(EMPTY), "size": 2},
            "layers": [{"mediaType": "application/spdx+json", "digest": sha256_digest(body),
                        "size": len(body)}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": elsewhere, "size": 100},
        })
        listed = push_artifact(registry, repo, manifest,
                               {sha256_digest(EMPTY): EMPTY, sha256_digest(body): body},
                               sha256_digest(manifest))
        entry = {"mediaType": OCI_MANIFEST, "digest": listed, "size": len(manifest),
                 "artifactType": "application/spdx+json"}
        why = (f"the referrers index {image.replace(':', '-')} lists {listed}, whose "
               f"subject is {elsewhere}, not {image}")
    else:
        listed = image
        entry = {"mediaType": OCI_MANIFEST, "digest": image,
                 "size": len(_get(registry, repo, image)),
                 "artifactType": "application/spdx+json"}
        why = f"the referrers index {image.replace(':', '-')} lists {image} itself"
    _list_referrers(registry, repo, image, [entry, sbom_entry])
    source = f"docker://{registry.host}/{repo}:v1"
    shown = f"{why[:1].upper()}{why[1:]}: not listed as attached to it."

    (top,) = image_attachments(open_source(source))
    assert [str(c.attachment.descriptor.digest) for c in top.attachments
            if c.attachment.descriptor] == [sbom]
    assert top.notes == (shown,)
    listing = _spyglass("signatures", "--tls-verify=false", source)
    assert listing.returncode == 0, listing.stderr
    (manifest_json,) = json.loads(listing.stdout)["Manifests"]
    assert [a["Digest"] for a in manifest_json["Attached"]] == [sbom]
    assert manifest_json["Notes"] == [shown]

    done = _copy(source, f"docker://{fresh_registry.host}/misplaced/app:v1")
    assert done.returncode == 0, done.stderr
    assert "Along with the image: 1 SBOM" in done.stderr + done.stdout, done.stderr
    assert (f"Note: {why}: not carried along, since it is not attached to it"
            in done.stderr), done.stderr
    assert _listed(fresh_registry, "misplaced/app", image) == [sbom]
    assert _tags(fresh_registry, "misplaced/app") == sorted(["v1", image.replace(":", "-")])


# ------------------------------------------------- the referrers index a delete takes one out of


@dataclass(frozen=True)
class _Connection:
    """The window's registry connection, as :func:`delete_image` uses it."""

    host: str

    def client(self) -> RegistryClient:
        return RegistryClient(self.host)


def _tags(server: RegistryServer, repo: str) -> list[str]:
    with server.client() as client:
        answer = client.get(f"/v2/{repo}/tags/list")
    assert answer.status_code == 200, answer.text
    return sorted(answer.json()["tags"] or [])


def _delete_referrer(how: str, server: RegistryServer, repo: str, digest: str,
                     subject: str) -> tuple[str, str]:
    """Delete the referrer ``digest`` of ``subject`` from the command line (``--force``:
    another tag holds its referrers index) or as the window does; what each said of
    the referrers index, and of the rest."""
    tag = subject.replace(":", "-")
    if how == "command":
        done = _spyglass("delete", "--force", "--tls-verify=false",
                         f"docker://{server.host}/{repo}@{digest}")
        assert done.returncode == 0, done.stderr
        *rest, last = done.stderr.splitlines()
        return last, "\n".join(rest)
    plan = DeletePlan(server.host, repo, "", Digest.parse(digest), (), referrers=(tag,))
    done_plan = delete_image(_Connection(server.host), plan,  # type: ignore[arg-type]
                             CancelToken())
    assert done_plan.unlist_failed is None, done_plan.unlist_failed
    (unlisted,) = done_plan.unlisted
    return str(unlisted), delete_result(done_plan)


@pytest.mark.parametrize("how", ["command", "window"])
def test_the_last_referrer_deleted_takes_its_referrers_tag_and_no_other_tag(
    registry: RegistryServer, repo_name: str, how: str
) -> None:
    """distribution 2.8 deletes no tag by its name (400): the emptied referrers index was
    deleted by the digest it was read as, and with it every other tag naming that
    manifest (a copy of the index kept under another tag), unsaid. Only the referrers
    tag goes now."""
    image = _image(registry, repo_name)
    signature, entry = _referrer(registry, repo_name, image,
                                 "application/vnd.example.signature.v1+json", b"signed")
    _list_referrers(registry, repo_name, image, [entry])
    tag = image.replace(":", "-")
    index = _get(registry, repo_name, tag)
    push_artifact(registry, repo_name, index, {}, "backup", media_type=OCI_INDEX)
    said, _rest = _delete_referrer(how, registry, repo_name, signature, image)
    assert said == (
        f"spyglass: {signature} was a referrer of {image}; the index "
        f"{registry.host}/{repo_name}:{tag} listing its referrers listed no other, and is "
        "deleted too." if how == "command" else str((tag, "deleted")))
    assert _tags(registry, repo_name) == ["backup", "v1"]
    assert _get(registry, repo_name, "backup") == index


def _stale_index(server: RegistryServer, repo: str, *listed: tuple[str, dict[str, object]]
                 ) -> tuple[str, str]:
    """The image v1 in ``repo``, its referrers index listing a referrer deleted since (as
    ``skopeo delete``, ``crane delete`` or a garbage collection leave it) and ``listed``:
    the image's digest and the gone referrer's."""
    image = _image(server, repo)
    gone, gone_entry = _referrer(server, repo, image, "application/x.old", b"old")
    _list_referrers(server, repo, image, [gone_entry, *(entry for _d, entry in listed)])
    with server.client() as client:
        assert client.delete(f"/v2/{repo}/manifests/{gone}").status_code == 202
    return image, gone


def test_a_copy_takes_a_manifest_gone_out_of_the_destinations_referrers_index(
    registry: RegistryServer, fresh_registry: RegistryServer
) -> None:
    """distribution refuses an index listing a manifest it does not have, and the index
    was written back with every entry it had: a destination's index left listing one
    made every copy of a referrer of the image fail (``MANIFEST_BLOB_UNKNOWN``). The
    entry is taken out, with a note, and the copy goes on."""
    repo = "it-graph/stale-dest"
    image = _image(registry, repo)
    sbom, sbom_entry = _referrer(registry, repo, image, "application/spdx+json", b"{}\n")
    _list_referrers(registry, repo, image, [sbom_entry])
    _image(fresh_registry, "dst/app")
    same, gone = _stale_index(fresh_registry, "dst/app")
    assert same == image
    done = _copy(f"docker://{registry.host}/{repo}:v1",
                 f"docker://{fresh_registry.host}/dst/app:v1")
    assert done.returncode == 0, done.stderr
    assert (f"Note: the referrers index {fresh_registry.host}/dst/app:{image.replace(':', '-')} "
            f"listed {gone}, which the registry no longer has (deleted by another tool, or "
            "collected): taken out, since the registry stores no index listing a manifest it "
            "lacks") in done.stderr, done.stderr
    assert _listed(fresh_registry, "dst/app", image) == [sbom]


@pytest.mark.parametrize("how", ["command", "window"])
def test_a_delete_takes_a_manifest_gone_out_of_the_referrers_index_too(
    registry: RegistryServer, repo_name: str, how: str
) -> None:
    """Taking the referrer deleted out of an index that also lists a manifest gone was
    refused (``MANIFEST_BLOB_UNKNOWN``), which left both listed: both are taken out, the
    one gone named, and the other entry stays."""
    image = _image(registry, repo_name)
    keep, keep_entry = _referrer(registry, repo_name, image, "application/x.keep", b"keep")
    other, other_entry = _referrer(registry, repo_name, image, "application/x.other", b"other")
    same, gone = _stale_index(registry, repo_name, (keep, keep_entry), (other, other_entry))
    assert same == image
    tag = image.replace(":", "-")
    said, rest = _delete_referrer(how, registry, repo_name, keep, image)
    dropped = (f"the referrers index {registry.host}/{repo_name}:{tag} listed {gone}, which "
               "the registry no longer has (deleted by another tool, or collected): taken "
               "out, since the registry stores no index listing a manifest it lacks")
    if how == "command":
        assert f"spyglass: T{dropped[1:]}." in rest.splitlines(), rest
        assert said == (f"spyglass: {keep} was a referrer of {image}; the index "
                        f"{registry.host}/{repo_name}:{tag} listing its referrers no longer "
                        "lists it.")
    else:
        assert said == str((tag, "written"))
        assert f" T{dropped[1:]}." in rest, rest
    assert _listed(registry, repo_name, image) == [other]
