"""A registry destination's look-ups of the tags it derives (cosign's ``.sig``, the
referrers tag schema), against scripted registries with real-world quirks."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from spyglass.core import media
from spyglass.core.blobcache import BlobLocationCache
from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor
from spyglass.core.referrers import cosign_tag
from spyglass.core.transports.registry.destination import RegistryDestination
from tests.unit.core.transports.registry.fakes import Routes, registry_error

CONFIG = {"mediaType": media.OCI_CONFIG, "digest": str(Digest.of(b"{}")), "size": 2}


def manifest(**extra: object) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": media.OCI_MANIFEST,
                       "config": CONFIG, "layers": [], **extra}).encode()


def index(*entries: dict[str, object]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": media.OCI_INDEX,
                       "manifests": list(entries)}).encode()


def served(raw: bytes, media_type: str) -> httpx.Response:
    return httpx.Response(200, content=raw, headers={
        "Content-Type": media_type, "Docker-Content-Digest": str(Digest.of(raw))})


def stored(digest: Digest) -> Callable[[httpx.Request], httpx.Response]:
    """A manifest PUT answered as a registry stores it."""
    return lambda request: httpx.Response(201, headers={"Docker-Content-Digest": str(digest)})


def kept_in(written: list[bytes]) -> Callable[[httpx.Request], httpx.Response]:
    """A manifest PUT whose body is kept in ``written``, answered as stored."""
    def put(request: httpx.Request) -> httpx.Response:
        written.append(request.content)
        return httpx.Response(201, headers={"Docker-Content-Digest": str(Digest.of(
            request.content))})
    return put


def denied(request: httpx.Request) -> httpx.Response:
    return registry_error(403, "UNAUTHORIZED", "The client does not have permission for manifest")


def destination(client: object) -> RegistryDestination:
    return RegistryDestination(client, "team/app", tag="v1",  # type: ignore[arg-type]
                               cache=BlobLocationCache(None))


def test_a_cosign_tag_answered_403_is_not_there(make_client) -> None:
    """JFrog Artifactory's virtual repositories answer 403 for a tag they lack
    (go-containerregistry#1691, cosign#2973): the .sig tag is then written anew."""
    tag = cosign_tag(Digest.of(b"image"), ".sig")
    client, _ = make_client(Routes({("HEAD", f"/v2/team/app/manifests/{tag}"): denied}))
    assert destination(client).tagged_digest(tag) is None


def test_a_referrers_tag_resolved_to_the_subject_is_not_merged(make_client) -> None:
    """GitLab answers ``manifests/sha256-<hex>`` with the manifest ``sha256:<hex>``
    itself (oras-go#1396): the referrers index written holds the new referrer alone,
    not the subject's own entries."""
    child = {"mediaType": media.OCI_MANIFEST, "digest": str(Digest.of(b"child")), "size": 5}
    subject_raw = index(child)
    subject = Digest.of(subject_raw)
    referrer_raw = manifest(subject={"mediaType": media.OCI_INDEX, "digest": str(subject),
                                     "size": len(subject_raw)},
                            artifactType="application/spdx+json")
    referrer = Descriptor(media.OCI_MANIFEST, Digest.of(referrer_raw), len(referrer_raw))
    tag_path = f"/v2/team/app/manifests/sha256-{subject.hex}"
    written: list[bytes] = []
    client, _ = make_client(Routes({
        ("PUT", f"/v2/team/app/manifests/{referrer.digest}"): stored(referrer.digest),
        ("GET", tag_path): lambda request: served(subject_raw, media.OCI_INDEX),
        ("PUT", tag_path): kept_in(written),
    }))
    destination(client).put_attachment(subject, referrer, referrer_raw)
    [raw] = written
    assert [entry["digest"] for entry in json.loads(raw)["manifests"]] == [str(referrer.digest)]


def test_an_attachment_whose_bytes_name_no_subject_is_listed_as_given(make_client) -> None:
    """The subject the copy found it by still lists it (its bytes name none to read)."""
    subject = Digest.of(b"subject")
    referrer_raw = manifest(artifactType="application/spdx+json")
    referrer = Descriptor(media.OCI_MANIFEST, Digest.of(referrer_raw), len(referrer_raw),
                          artifact_type="application/spdx+json")
    tag_path = f"/v2/team/app/manifests/sha256-{subject.hex}"
    written: list[bytes] = []

    def get_index(request: httpx.Request) -> httpx.Response:
        if not written:
            return registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        return served(written[-1], media.OCI_INDEX)

    client, _ = make_client(Routes({
        ("PUT", f"/v2/team/app/manifests/{referrer.digest}"): stored(referrer.digest),
        ("GET", tag_path): get_index,
        ("PUT", tag_path): kept_in(written),
    }))
    destination(client).put_attachment(subject, referrer, referrer_raw)
    [raw] = written
    assert json.loads(raw)["manifests"] == [{
        "mediaType": media.OCI_MANIFEST, "digest": str(referrer.digest),
        "size": len(referrer_raw), "artifactType": "application/spdx+json"}]


def test_a_referrers_tag_the_account_cannot_read_is_written_once(make_client) -> None:
    """403 to reading the tag (an account that may push but not pull; Artifactory for a
    tag it lacks): written once, not again and again for want of reading it back."""
    subject = Digest.of(b"subject")
    referrer_raw = manifest(subject={"mediaType": media.OCI_MANIFEST, "digest": str(subject),
                                     "size": 7}, artifactType="application/spdx+json")
    referrer = Descriptor(media.OCI_MANIFEST, Digest.of(referrer_raw), len(referrer_raw))
    tag_path = f"/v2/team/app/manifests/sha256-{subject.hex}"
    written: list[bytes] = []
    client, _ = make_client(Routes({
        ("PUT", f"/v2/team/app/manifests/{referrer.digest}"): stored(referrer.digest),
        ("GET", tag_path): denied,
        ("PUT", tag_path): kept_in(written),
    }))
    destination(client).put_manifest(referrer_raw, media.OCI_MANIFEST, referrer.digest)
    [raw] = written
    assert [e["digest"] for e in json.loads(raw)["manifests"]] == [str(referrer.digest)]


def test_what_others_wrote_in_a_referrers_tag_stays_as_it_was(make_client) -> None:
    """Another tool's entry (its ``data``, a field of its own, its order of fields) and
    the index's annotations are written back as they were read, the new referrer added
    after them: they were rebuilt from what Spyglass reads of them, and lost the rest."""
    subject = Digest.of(b"subject")
    theirs = {"size": 3, "digest": str(Digest.of(b"sig")), "mediaType": media.OCI_MANIFEST,
              "data": "c2ln", "x-vendor": {"k": 1}, "artifactType": "application/x-sig",
              "annotations": {"org.example": "yes"}}
    existing = json.dumps({"schemaVersion": 2, "mediaType": media.OCI_INDEX,
                           "manifests": [theirs], "annotations": {"made.by": "other"}}).encode()
    referrer_raw = manifest(subject={"mediaType": media.OCI_MANIFEST, "digest": str(subject),
                                     "size": 7}, artifactType="application/spdx+json")
    referrer = Descriptor(media.OCI_MANIFEST, Digest.of(referrer_raw), len(referrer_raw))
    tag_path = f"/v2/team/app/manifests/sha256-{subject.hex}"
    written: list[bytes] = []

    def get_index(request: httpx.Request) -> httpx.Response:
        return served(written[-1] if written else existing, media.OCI_INDEX)

    client, _ = make_client(Routes({
        ("PUT", f"/v2/team/app/manifests/{referrer.digest}"): stored(referrer.digest),
        ("GET", tag_path): get_index,
        ("PUT", tag_path): kept_in(written),
    }))
    destination(client).put_manifest(referrer_raw, media.OCI_MANIFEST, referrer.digest)
    [raw] = written
    index_written = json.loads(raw)
    assert json.dumps(index_written["manifests"][0]) == json.dumps(theirs)
    assert [e["digest"] for e in index_written["manifests"]] == [
        theirs["digest"], str(referrer.digest)]
    assert index_written["annotations"] == {"made.by": "other"}
