"""OCI 1.1 referrers of a registry: the API (filters, pages), the tag schema fallback, and
cosign's tags, against scripted registries (``RegistryClient.referrers``,
``RegistryImageSource.referrers`` / ``tagged_manifest``)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from spyglass.core import media
from spyglass.core.blobcache import BlobLocationCache
from spyglass.core.cancel import CancelToken
from spyglass.core.credentials import Credentials
from spyglass.core.digest import Digest
from spyglass.core.errors import Cancelled, RegistryError
from spyglass.core.manifest import Descriptor
from spyglass.core.signatures import Kind, Status
from spyglass.core.signatures.attached import find_attachments, read_attachment, verify_part
from spyglass.core.transports.base import AttachmentSource
from spyglass.core.transports.registry.source import RegistryImageSource
from tests.helpers.cosign import (
    SIMPLESIGNING_MEDIA_TYPE,
    cosign_manifest,
    cosign_tag,
    generate_key,
    public_key_pem,
    signature_layer,
    simple_signing_payload,
)
from tests.unit.core.transports.registry import fakes
from tests.unit.core.transports.registry.fakes import (
    BASE,
    HOST,
    Routes,
    TokenRegistry,
    basic,
    registry_error,
)

IMAGE = json.dumps({
    "schemaVersion": 2, "mediaType": media.OCI_MANIFEST,
    "config": {"mediaType": media.OCI_CONFIG, "digest": str(Digest.of(b"{}")), "size": 2},
    "layers": [],
}).encode()
DIGEST = Digest.of(IMAGE)
SPDX = "application/spdx+json"
COSIGN_SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
NOTARY = "application/vnd.cncf.notary.signature"
REFERRERS = f"/v2/team/app/referrers/{DIGEST}"
TAG_SCHEMA = f"/v2/team/app/manifests/sha256-{DIGEST.hex}"
TAGS = "/v2/team/app/tags/list"
FILTERS = {"OCI-Filters-Applied": "artifactType"}


def referrer(name: str, artifact_type: str) -> dict[str, Any]:
    raw = name.encode()
    return {"mediaType": media.OCI_MANIFEST, "digest": str(Digest.of(raw)), "size": len(raw),
            "artifactType": artifact_type,
            "annotations": {"org.opencontainers.image.created": "2024-05-01T12:00:00Z"}}


SBOM = referrer("an SBOM", SPDX)
SIG = referrer("a signature", COSIGN_SIG)
NOTATION = referrer("a notation", NOTARY)


def index(*descriptors: dict[str, Any]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": media.OCI_INDEX,
                       "manifests": list(descriptors)}).encode()


def answer(
    body: bytes, *, headers: dict[str, str] | None = None, content_type: str = media.OCI_INDEX
) -> fakes.Handler:
    return lambda request: httpx.Response(
        200, content=body, headers={"Content-Type": content_type, **(headers or {})}
    )


def not_found(request: httpx.Request) -> httpx.Response:
    return httpx.Response(404, text="404 page not found\n")


def tag_list(*tags: str, more: bool = False) -> fakes.Handler:
    """The repository's tags, in one page (or the first of several with ``more``)."""
    link = {"Link": '</v2/team/app/tags/list?last=zzz&n=1000>; rel="next"'} if more else {}
    body = json.dumps({"name": "team/app", "tags": list(tags)}).encode()
    return lambda request: httpx.Response(
        200, content=body, headers={"Content-Type": "application/json", **link}
    )


def denied(request: httpx.Request) -> httpx.Response:
    return registry_error(403, "DENIED", "requested access to the resource is denied")


def digests(found: list[Descriptor]) -> list[str]:
    return [str(d.digest) for d in found]


def source_for(client: Any) -> RegistryImageSource:
    return RegistryImageSource(client, "team/app", "v1", cache=BlobLocationCache(None))


# --------------------------------------------------------------------------- the API


def test_the_api_answers_an_index(make_client) -> None:
    client, seen = make_client(Routes({("GET", REFERRERS): answer(index(SBOM, SIG))}))
    found = client.referrers("team/app", DIGEST)
    assert found is not None
    assert digests(found) == [SBOM["digest"], SIG["digest"]]
    assert [d.artifact_type for d in found] == [SPDX, COSIGN_SIG]
    assert found[0].annotations["org.opencontainers.image.created"] == "2024-05-01T12:00:00Z"
    [request] = seen.to(REFERRERS)
    assert request.headers["accept"] == media.OCI_INDEX
    assert "artifactType" not in request.url.params


def test_an_empty_index_is_no_referrers(make_client) -> None:
    client, _ = make_client(Routes({("GET", REFERRERS): answer(index())}))
    assert client.referrers("team/app", DIGEST) == []
    assert source_for(client).referrers(DIGEST) == []  # no fallback to the tag schema


def test_a_filter_the_server_applied_is_trusted(make_client) -> None:
    client, seen = make_client(Routes({
        ("GET", REFERRERS): answer(index(SBOM), headers=FILTERS),
    }))
    found = client.referrers("team/app", DIGEST, artifact_type=SPDX)
    assert found is not None and digests(found) == [SBOM["digest"]]
    [request] = seen.to(REFERRERS)
    assert request.url.params["artifactType"] == SPDX


def test_a_filter_the_server_ignored_is_applied_here(make_client) -> None:
    # no OCI-Filters-Applied: the server sent everything
    client, seen = make_client(Routes({("GET", REFERRERS): answer(index(SBOM, SIG, NOTATION))}))
    found = client.referrers("team/app", DIGEST, artifact_type=NOTARY)
    assert found is not None and digests(found) == [NOTATION["digest"]]
    assert seen.to(REFERRERS)[0].url.params["artifactType"] == NOTARY
    # the source passes the filter on
    assert digests(source_for(client).referrers(DIGEST, artifact_type=SPDX)) == [SBOM["digest"]]


def test_pages_are_followed_in_order(make_client) -> None:
    pages = {
        None: (index(SBOM), f'<{REFERRERS}?n=1&last=a>; rel="next"'),
        "a": (index(SIG), f'<{BASE}{REFERRERS}?n=1&last=b>; rel="next"'),
        "b": (index(NOTATION), None),
    }

    def paged(request: httpx.Request) -> httpx.Response:
        body, link = pages[request.url.params.get("last")]
        headers = {"Content-Type": media.OCI_INDEX, **({"Link": link} if link else {})}
        return httpx.Response(200, content=body, headers=headers)

    client, seen = make_client(Routes({("GET", REFERRERS): paged}))
    found = client.referrers("team/app", DIGEST)
    assert found is not None
    assert digests(found) == [SBOM["digest"], SIG["digest"], NOTATION["digest"]]
    assert [dict(r.url.params) for r in seen.to(REFERRERS)] == [
        {}, {"n": "1", "last": "a"}, {"n": "1", "last": "b"},
    ]


def test_a_filter_is_asked_for_once_and_the_next_link_kept_as_given(make_client) -> None:
    pages = {
        None: (index(SBOM), f'<{REFERRERS}?artifactType={quote(SPDX, safe="")}&last=a>; '
                            'rel="next"'),
        "a": (index(SBOM | {"digest": str(Digest.of(b"another SBOM"))}), None),
    }

    def paged(request: httpx.Request) -> httpx.Response:
        body, link = pages[request.url.params.get("last")]
        return httpx.Response(200, content=body, headers={
            "Content-Type": media.OCI_INDEX, **FILTERS, **({"Link": link} if link else {})
        })

    client, seen = make_client(Routes({("GET", REFERRERS): paged}))
    found = client.referrers("team/app", DIGEST, artifact_type=SPDX)
    assert found is not None and len(found) == 2
    assert [r.url.params.get_list("artifactType") for r in seen.to(REFERRERS)] == [
        [SPDX], [SPDX],
    ]


@pytest.mark.parametrize(
    "target",
    [
        f"https://evil.example{REFERRERS}?last=a",
        f"//evil.example{REFERRERS}?last=a",
        f"http://{HOST}{REFERRERS}?last=a",  # same host, but no longer over TLS
    ],
)
def test_a_next_link_to_another_host_is_asked_of_the_registry(make_client, target: str
                                                              ) -> None:
    """Its path and query only, of the registry as reached (as containers/image does):
    nothing goes to another host or over plain HTTP."""
    first = answer(index(SBOM), headers={"Link": f'<{target}>; rel="next"'})
    second = answer(index(SIG))
    client, seen = make_client(Routes({
        ("GET", REFERRERS): lambda r: (second if r.url.params.get("last") else first)(r),
    }))
    found = client.referrers("team/app", DIGEST)
    assert [d.artifact_type for d in found] == [SPDX, COSIGN_SIG]
    assert len(seen.requests) == len(seen.to(host=HOST))  # nothing went elsewhere
    assert {r.url.scheme for r in seen.requests} == {"https"}


def test_a_next_link_back_to_a_page_already_read_stops(make_client) -> None:
    client, seen = make_client(Routes({
        ("GET", REFERRERS): answer(index(SBOM), headers={"Link": f'<{REFERRERS}>; rel="next"'}),
    }))
    with pytest.raises(RegistryError, match="already read"):
        client.referrers("team/app", DIGEST)
    assert len(seen.to(REFERRERS)) == 1


def test_a_page_that_disappears_is_an_error(make_client) -> None:
    client, _ = make_client(Routes({
        ("GET", REFERRERS): [
            answer(index(SBOM), headers={"Link": f'<{REFERRERS}?last=a>; rel="next"'}),
            not_found,
        ],
    }))
    with pytest.raises(RegistryError, match=r"lost a page"):
        client.referrers("team/app", DIGEST)


NOT_AN_INDEX = [
    (IMAGE, media.OCI_MANIFEST),
    (b"<html><body>Welcome to nginx!</body></html>", "text/html"),
    (b'{"errors": []}', "application/json"),
    (b"", media.OCI_INDEX),
]


@pytest.mark.parametrize(("body", "content_type"), NOT_AN_INDEX)
def test_a_first_page_that_is_no_index_means_no_api(
    make_client, body: bytes, content_type: str
) -> None:
    """Some registries answer 200 with a web page (sigstore-js#1187): the spec's fallback,
    the referrers tag, is used."""
    client, _ = make_client(Routes({
        ("GET", REFERRERS): answer(body, content_type=content_type),
    }))
    assert client.referrers("team/app", DIGEST) is None


@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain"])
def test_a_first_page_not_typed_as_an_index_means_no_api(
    make_client, content_type: str | None
) -> None:
    """The spec types the answer; an empty list typed otherwise (or not at all) is taken
    for a registry without the API, as oras-go takes it, so the tag schema is asked."""
    headers = {"Content-Type": content_type} if content_type else {}
    client, _ = make_client(Routes({("GET", REFERRERS): lambda request: httpx.Response(
        200, content=index(), headers=headers)}))
    assert client.referrers("team/app", DIGEST) is None


@pytest.mark.parametrize(("body", "content_type"), NOT_AN_INDEX)
def test_a_later_page_that_is_no_index_is_a_clear_error(
    make_client, body: bytes, content_type: str
) -> None:
    client, _ = make_client(Routes({
        ("GET", REFERRERS): [
            answer(index(SBOM), headers={"Link": f'<{REFERRERS}?last=a>; rel="next"'}),
            answer(body, content_type=content_type),
        ],
    }))
    with pytest.raises(RegistryError) as caught:
        client.referrers("team/app", DIGEST)
    message = str(caught.value)
    assert "not an image index" in message
    assert message.startswith(f"Listing the referrers of {HOST}/team/app@{DIGEST}: ")
    assert f"the registry {HOST} answered with" in message


@pytest.mark.parametrize(
    "refusal",
    [
        lambda request: httpx.Response(401),  # Harbor 2.7: no challenge at all
        denied,
        lambda request: registry_error(400, "UNSUPPORTED", "not supported"),
        lambda request: httpx.Response(405),
        lambda request: httpx.Response(406),
        lambda request: httpx.Response(501),
    ],
    ids=["401-harbor", "403", "400", "405", "406", "501"],
)
def test_what_registries_without_the_api_answer_falls_back_to_the_tag(
    make_client, refusal: fakes.Handler
) -> None:
    tagged = index(SIG)
    client, seen = make_client(Routes({
        ("GET", REFERRERS): refusal,
        ("GET", TAGS): tag_list("v1", f"sha256-{DIGEST.hex}"),
        ("GET", TAG_SCHEMA): answer(
            tagged, headers={"Docker-Content-Digest": str(Digest.of(tagged))}
        ),
    }))
    source = source_for(client)
    assert digests(source.referrers(DIGEST)) == [SIG["digest"]]
    assert digests(source.referrers(DIGEST)) == [SIG["digest"]]
    assert len(seen.to(REFERRERS)) == 1  # asked once: the registry has no API


def test_cancelled_before_asking(make_client) -> None:
    client, seen = make_client(Routes({("GET", REFERRERS): answer(index(SBOM))}))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        client.referrers("team/app", DIGEST, cancel=token)
    assert seen.to(REFERRERS) == []


# --------------------------------------------------------------------------- authentication


def test_a_basic_challenge_is_answered(make_client) -> None:
    def guarded(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != basic("alice", "pw"):
            return registry_error(401, "UNAUTHORIZED", "authentication required",
                                  {"WWW-Authenticate": 'Basic realm="Registry Realm"'})
        return answer(index(SBOM))(request)

    client, seen = make_client(Routes({("GET", REFERRERS): guarded}),
                               credentials=Credentials("alice", "pw"))
    found = client.referrers("team/app", DIGEST)
    assert found is not None and digests(found) == [SBOM["digest"]]
    assert [r.headers.get("authorization") for r in seen.to(REFERRERS)] == [
        None, basic("alice", "pw"),
    ]


def test_a_bearer_token_is_fetched_for_the_repository(
    make_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the fake's scope table predates the referrers API: teach it the endpoint
    table = fakes.needed_scope

    def needed_scope(request: httpx.Request) -> str | None:
        if "/referrers/" in request.url.path:
            return "repository:team/app:pull"
        return table(request)

    monkeypatch.setattr(fakes, "needed_scope", needed_scope)
    registry = TokenRegistry(app=Routes({("GET", REFERRERS): answer(index(SBOM))}))
    client, seen = make_client(registry)
    found = client.referrers("team/app", DIGEST)
    assert found is not None and digests(found) == [SBOM["digest"]]
    assert [t.params.get("scope") for t in registry.token_requests] == [
        "repository:team/app:pull"
    ]
    assert seen.to(REFERRERS)[-1].headers["authorization"] == "Bearer tok-1"


def test_harbor_27s_bare_401_behind_token_auth_means_no_api(
    make_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Harbor 2.7 answers the referrers API with 401 and no WWW-Authenticate
    (goharbor/harbor#18305), with a good token in hand: no API, not a failed login."""
    registry = TokenRegistry(app=Routes({
        ("GET", REFERRERS): lambda request: httpx.Response(401),
        ("GET", "/v2/team/app/manifests/v1"): answer(IMAGE, content_type=media.OCI_MANIFEST),
    }))
    client, _ = make_client(registry)
    client.get_manifest("team/app", "v1")  # the token for the repository is in hand
    assert client.referrers("team/app", DIGEST) is None


# --------------------------------------------------------------------------- tag schema


def test_404_means_no_api(make_client) -> None:
    client, _ = make_client(Routes({("GET", REFERRERS): not_found}))
    assert client.referrers("team/app", DIGEST) is None


def test_without_the_api_the_referrers_tag_is_read(make_client) -> None:
    tagged = index(SBOM, SIG)
    client, seen = make_client(Routes({
        ("GET", REFERRERS): not_found,
        ("GET", TAGS): tag_list("v1", f"sha256-{DIGEST.hex}"),
        ("GET", TAG_SCHEMA): answer(
            tagged, headers={"Docker-Content-Digest": str(Digest.of(tagged))}
        ),
    }))
    source = source_for(client)
    assert isinstance(source, AttachmentSource)
    assert digests(source.referrers(DIGEST)) == [SBOM["digest"], SIG["digest"]]
    assert digests(source.referrers(DIGEST, artifact_type=COSIGN_SIG)) == [SIG["digest"]]
    assert len(seen.to(REFERRERS)) == 1  # a registry with the API never answers 404
    assert len(seen.to(TAGS)) == 1
    assert seen.to(TAG_SCHEMA)[0].url.path.endswith(f"sha256-{DIGEST.hex}")


@pytest.mark.parametrize(
    "missing",
    [not_found, lambda request: registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown")],
)
def test_without_the_api_or_the_tag_there_are_none(make_client, missing: fakes.Handler) -> None:
    # the tag listing is refused, so the tag is asked for by itself
    client, seen = make_client(Routes({
        ("GET", REFERRERS): not_found,
        ("GET", TAGS): denied,
        ("GET", TAG_SCHEMA): missing,
    }))
    assert source_for(client).referrers(DIGEST) == []
    assert len(seen.to(TAG_SCHEMA)) == 1


def test_a_tag_the_listing_does_not_have_is_not_asked_for(make_client) -> None:
    client, seen = make_client(Routes({
        ("GET", REFERRERS): not_found,
        ("GET", TAGS): tag_list("v1", "v2"),
    }))
    source = source_for(client)
    assert source.referrers(DIGEST) == []
    for suffix in ("sig", "att", "sbom"):
        assert source.tagged_manifest(cosign_tag(str(DIGEST), suffix)) is None
    assert len(seen.to(TAGS)) == 1  # one listing answers every question
    assert [r.url.path for r in seen.requests if "/manifests/" in r.url.path] == []


def test_a_listing_of_more_than_one_page_is_not_trusted(make_client) -> None:
    sig_tag = cosign_tag(str(DIGEST))
    client, seen = make_client(Routes({
        ("GET", TAGS): tag_list("v1", more=True),
        ("GET", f"/v2/team/app/manifests/{sig_tag}"): answer(
            IMAGE, content_type=media.OCI_MANIFEST),
    }))
    source = source_for(client)
    assert source.tagged_manifest(sig_tag) == Descriptor(media.OCI_MANIFEST, DIGEST, len(IMAGE))
    assert len(seen.to(TAGS)) == 1  # the next page is not fetched
    assert len(seen.to(f"/v2/team/app/manifests/{sig_tag}")) == 1


def test_the_listing_is_asked_again_after_a_while(
    make_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spyglass.core.transports.registry import source as source_module

    client, seen = make_client(Routes({("GET", TAGS): tag_list("v1")}))
    source = source_for(client)
    now = [1000.0]
    monkeypatch.setattr(source_module.time, "monotonic", lambda: now[0])
    assert source.tagged_manifest("sha256-abc.sig") is None
    now[0] += source_module.TAG_SNAPSHOT_SECONDS / 2
    assert source.tagged_manifest("sha256-abc.att") is None
    assert len(seen.to(TAGS)) == 1
    now[0] += source_module.TAG_SNAPSHOT_SECONDS
    assert source.tagged_manifest("sha256-abc.sbom") is None
    assert len(seen.to(TAGS)) == 2


def test_a_referrers_tag_naming_a_manifest_means_none(make_client) -> None:
    """The spec: a tag schema that does not give a valid index means no referrers."""
    client, _ = make_client(Routes({
        ("GET", REFERRERS): not_found,
        ("GET", TAGS): tag_list(f"sha256-{DIGEST.hex}"),
        ("GET", TAG_SCHEMA): answer(IMAGE, content_type=media.OCI_MANIFEST),
    }))
    assert source_for(client).referrers(DIGEST) == []


def test_a_referrers_tag_resolved_to_the_subject_itself_means_none(make_client) -> None:
    """GitLab answers ``manifests/sha256-<hex>`` with the manifest ``sha256:<hex>``
    (oras-go#1396); for an index subject its children must not pass for referrers."""
    subject = index(SBOM, SIG)
    subject_digest = Digest.of(subject)
    client, _ = make_client(Routes({
        ("GET", f"/v2/team/app/referrers/{subject_digest}"): not_found,
        ("GET", TAGS): tag_list("v1", more=True),  # the listing cannot tell
        ("GET", f"/v2/team/app/manifests/sha256-{subject_digest.hex}"): answer(
            subject, headers={"Docker-Content-Digest": str(subject_digest)}
        ),
    }))
    assert source_for(client).referrers(subject_digest) == []


def test_a_derived_tag_answered_403_is_absent(make_client) -> None:
    """JFrog Artifactory's virtual repositories answer 403 for a tag they do not have
    (go-containerregistry#1691, cosign#2973)."""
    client, _ = make_client(Routes({
        ("GET", REFERRERS): not_found,
        ("GET", TAGS): tag_list("v1", more=True),
        ("GET", TAG_SCHEMA): denied,
        ("GET", f"/v2/team/app/manifests/{cosign_tag(str(DIGEST))}"): denied,
    }))
    source = source_for(client)
    assert source.referrers(DIGEST) == []
    assert source.tagged_manifest(cosign_tag(str(DIGEST))) is None


# --------------------------------------------------------------------------- cosign tags


def test_tagged_manifest_is_read_once(make_client) -> None:
    sig_tag = cosign_tag(str(DIGEST))
    client, seen = make_client(Routes({
        ("GET", TAGS): tag_list("v1", sig_tag),
        ("GET", f"/v2/team/app/manifests/{sig_tag}"): answer(IMAGE,
                                                            content_type=media.OCI_MANIFEST),
    }))
    source = source_for(client)
    found = source.tagged_manifest(sig_tag)
    assert found == Descriptor(media.OCI_MANIFEST, DIGEST, len(IMAGE))
    assert source.tagged_manifest(cosign_tag(str(DIGEST), "att")) is None  # not listed
    # reading the manifest it named asks nothing more
    assert source.get_manifest(str(DIGEST)) == (IMAGE, media.OCI_MANIFEST)
    assert len(seen.requests) == 3  # ping, the tag list, .sig


def test_a_cosign_signature_is_found_read_and_verified(make_client) -> None:
    key = generate_key()
    payload, notes = signature_layer(simple_signing_payload(f"{HOST}/team/app", str(DIGEST)),
                                     key)
    raw, blobs = cosign_manifest([(payload, SIMPLESIGNING_MEDIA_TYPE, notes)])
    sig_digest = Digest.of(raw)

    def blob(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=blobs[request.url.path.rsplit("/", 1)[1]])

    table: dict[tuple[str, str], Any] = {
        ("GET", REFERRERS): not_found,
        ("GET", TAGS): tag_list("v1", cosign_tag(str(DIGEST), "sig")),
        ("GET", TAG_SCHEMA): not_found,
        ("GET", f"/v2/team/app/manifests/{cosign_tag(str(DIGEST), 'sig')}"): answer(
            raw, content_type=media.OCI_MANIFEST,
            headers={"Docker-Content-Digest": str(sig_digest)},
        ),
        ("GET", f"/v2/team/app/manifests/{cosign_tag(str(DIGEST), 'att')}"): not_found,
        ("GET", f"/v2/team/app/manifests/{cosign_tag(str(DIGEST), 'sbom')}"): not_found,
    }
    for digest in blobs:
        table[("GET", f"/v2/team/app/blobs/{digest}")] = blob
    client, seen = make_client(Routes(table))
    source = source_for(client)

    [found] = find_attachments(source, DIGEST)
    assert found.found == f"tag {cosign_tag(str(DIGEST), 'sig')}"
    assert found.descriptor is not None and found.descriptor.digest == sig_digest
    content = read_attachment(source, found)
    assert content.kind is Kind.COSIGN_SIGNATURE and content.manifest == raw
    [part] = content.parts
    assert verify_part(part, DIGEST, key=public_key_pem(key)).status is Status.VERIFIED
    assert verify_part(part, DIGEST, key=public_key_pem(generate_key())).status \
        is Status.BAD_SIGNATURE
    # the signature manifest was fetched once, by its tag; tags not listed were not asked
    assert seen.to(f"/v2/team/app/manifests/{sig_digest}") == []
    assert seen.to(TAG_SCHEMA) == []
    assert seen.to(f"/v2/team/app/manifests/{cosign_tag(str(DIGEST), 'att')}") == []
