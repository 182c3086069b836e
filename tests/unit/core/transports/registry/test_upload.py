"""Uploads to a scripted registry: blobs (monolithic, chunked, mounted), manifests, and
:class:`RegistryDestination` on top — what a real registry will not show on demand.

:class:`FakeUploads` answers the distribution upload API the way distribution
2.8 does (a new ``Location`` with a fresh ``_state`` after every request, and
the old one refused; ``Range: 0-N``), with knobs for the answers a real
registry never gives: upload Locations on other hosts or schemes, lying
``Range`` and ``Docker-Content-Digest`` headers, 202 answers to mounts.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from spyglass.core import media
from spyglass.core.blobcache import BlobLocationCache
from spyglass.core.cancel import CancelToken
from spyglass.core.credentials import Credentials
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    BodyTooLarge,
    Cancelled,
    ConnectionFailed,
    DigestMismatch,
    RegistryError,
    SizeMismatch,
    TokenRenewed,
    TooLarge,
    Unreachable,
    upload_cut_off,
)
from spyglass.core.manifest import MAX_MANIFEST_SIZE, Descriptor
from spyglass.core.retry import worth_retrying
from spyglass.core.transports.base import COMPRESSED, ImageDestination
from spyglass.core.transports.registry import push as push_module
from spyglass.core.transports.registry import uploads as uploads_module
from spyglass.core.transports.registry.client import RegistryClient
from spyglass.core.transports.registry.destination import (
    CHUNK_SIZES_AFTER_413,
    SUPPORTED_MANIFEST_TYPES,
    RegistryDestination,
)
from tests.helpers.clock import AuthClock
from tests.unit.core.transports.registry.fakes import (
    API,
    BASE,
    HOST,
    Handler,
    Recorder,
    TokenRegistry,
    registry_error,
)

REPO = "team/app"
UPLOADS = f"/v2/{REPO}/blobs/uploads/"
BLOB = bytes(range(256)) * 40  # 10,240 bytes
BLOB_DIGEST = Digest.of(BLOB)
CHUNK = 4096

LocationFor = Callable[[str, str, int], str]


def default_location(repo: str, uuid: str, state: int) -> str:
    # distribution's _state is base64 (with "=" escaped); the "+" checks the query is kept
    # byte for byte: re-encoded, it would no longer decode to the state we expect
    return f"{BASE}/v2/{repo}/blobs/uploads/{uuid}?_state=s{state}%3D%3D+x"


def expected_state(state: int) -> str:
    return f"s{state}== x"


@dataclass
class Session:
    repo: str
    data: bytearray = field(default_factory=bytearray)
    state: int = 0
    pieces: list[int] = field(default_factory=list)


@dataclass
class FakeUploads:
    """The upload half of a registry at :data:`BASE`, in memory, strict like distribution."""

    location: LocationFor = default_location
    blobs: dict[tuple[str, str], bytes] = field(default_factory=dict)
    manifests: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    refuse_mounts_from: set[str] = field(default_factory=set)
    mounts: bool = True
    range_lies: bool = False
    stated_manifest_digest: str | None = None
    patch_location: LocationFor | None = None
    blob_head_size: Callable[[bytes], str] | None = None
    max_body: int | None = None
    """Request bodies longer than this get a proxy's 413, as behind a size limit."""
    stated_blob_digest: str | None = None
    """The Docker-Content-Digest a completed upload answers, when not the blob's."""
    patch_status: int = 202
    """What a PATCH that took its bytes answers (Amazon ECR: 201)."""
    min_chunk: int | None = None
    """A completed upload whose PATCHes but the last were shorter than this is refused
    (400 SIZE_INVALID), as Google's and Amazon's registries refuse parts under 5 MiB."""
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v2/":
            return httpx.Response(200, headers=API)
        if m := re.fullmatch(r"/v2/(?P<repo>.+)/blobs/uploads/(?P<uuid>[^/]*)", path):
            if self.max_body is not None and len(request.content) > self.max_body:
                return httpx.Response(413, text="<html>413 Request Entity Too Large</html>")
            return self.upload(request, m["repo"], m["uuid"])
        if m := re.fullmatch(r"/v2/(?P<repo>.+)/blobs/(?P<digest>[^/]+)", path):
            data = self.blobs.get((m["repo"], m["digest"]))
            assert request.method in ("HEAD", "GET"), request
            if data is None:
                return httpx.Response(404)  # distribution's HEAD: no body
            size = self.blob_head_size(data) if self.blob_head_size else str(len(data))
            return httpx.Response(200, headers={"Content-Length": size,
                                                "Docker-Content-Digest": m["digest"]})
        if m := re.fullmatch(r"/v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)", path):
            assert request.method == "PUT", request
            digest = "sha256:" + hashlib.sha256(request.content).hexdigest()
            content_type = request.headers.get("content-type", "")
            self.manifests[(m["repo"], m["ref"])] = (request.content, content_type)
            return httpx.Response(201, headers={
                "Docker-Content-Digest": self.stated_manifest_digest or digest,
                "Location": f"{BASE}/v2/{m['repo']}/manifests/{digest}",
            })
        raise AssertionError(f"the fake registry was not told to answer {request.method} {path}")

    def upload(self, request: httpx.Request, repo: str, uuid: str) -> httpx.Response:
        if request.method == "POST" and not uuid:
            mount, source = request.url.params.get("mount"), request.url.params.get("from")
            if mount and source and self.mounts:
                if source in self.refuse_mounts_from:
                    return registry_error(403, "DENIED", "requested access to the resource "
                                                         "is denied")
                data = self.blobs.get((source, mount))
                if data is not None:
                    self.blobs[(repo, mount)] = data
                    return httpx.Response(201, headers={
                        "Docker-Content-Digest": mount,
                        "Location": f"{BASE}/v2/{repo}/blobs/{mount}",
                    })
            uuid = f"u{next(self._ids)}"
            self.sessions[uuid] = Session(repo)
            return self.progress(repo, uuid, 202, self.location)
        session = self.sessions.get(uuid)
        if session is None:
            return registry_error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown")
        if request.url.params.get("_state") != expected_state(session.state):
            return registry_error(404, "BLOB_UPLOAD_INVALID", "blob upload invalid")
        if request.method == "DELETE":
            del self.sessions[uuid]
            return httpx.Response(204)
        session.data += request.content
        if request.method == "PATCH":
            session.state += 1
            session.pieces.append(len(request.content))
            return self.progress(repo, uuid, self.patch_status,
                                 self.patch_location or self.location)
        assert request.method == "PUT", request
        del self.sessions[uuid]
        if self.min_chunk is not None and any(n < self.min_chunk for n in session.pieces[:-1]):
            return registry_error(400, "SIZE_INVALID", "chunk too small")
        wanted = request.url.params.get("digest", "")
        actual = "sha256:" + hashlib.sha256(session.data).hexdigest()
        if wanted != actual:
            return registry_error(400, "DIGEST_INVALID",
                                  "provided digest did not match uploaded content")
        self.blobs[(repo, actual)] = bytes(session.data)
        stated = self.stated_blob_digest or actual
        return httpx.Response(201, headers={"Docker-Content-Digest": stated,
                                            "Location": f"{BASE}/v2/{repo}/blobs/{actual}"})

    def progress(self, repo: str, uuid: str, status: int, where: LocationFor) -> httpx.Response:
        size = len(self.sessions[uuid].data)
        end = max(size - 1, 0) + (7 if self.range_lies and size else 0)
        return httpx.Response(status, headers={
            "Location": where(repo, uuid, self.sessions[uuid].state),
            "Range": f"0-{end}",
            "Docker-Upload-UUID": uuid,
        })


def uploads_sent(seen: Recorder, method: str | None = None) -> list[httpx.Request]:
    return [r for r in seen.to(method=method) if "/blobs/uploads/" in r.url.path]


# --------------------------------------------------------------------------- monolithic


def test_monolithic_upload_is_one_post_and_one_streamed_put(make_client) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    moved: list[int] = []
    digest, size = client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB),
                                      progress=moved.append)
    assert (digest, size) == (BLOB_DIGEST, len(BLOB))
    assert fake.blobs[(REPO, str(BLOB_DIGEST))] == BLOB
    post, put = uploads_sent(seen)
    assert (post.method, post.url.path, post.content) == ("POST", UPLOADS, b"")
    assert put.method == "PUT"
    assert put.headers["content-length"] == str(len(BLOB))
    assert put.headers["content-type"] == "application/octet-stream"
    assert "transfer-encoding" not in put.headers
    # the registry's own query, byte for byte, then the digest
    assert str(put.url).endswith(f"?_state=s0%3D%3D+x&digest=sha256%3A{BLOB_DIGEST.hex}")
    assert sum(moved) == len(BLOB)
    assert not fake.sessions


def test_empty_blob(make_client) -> None:
    fake = FakeUploads()
    client, _ = make_client(fake)
    empty = Digest.of(b"")
    assert client.upload_blob(REPO, io.BytesIO(b""), empty, 0) == (empty, 0)
    assert client.upload_blob(REPO, io.BytesIO(b""), None, None) == (empty, 0)
    assert fake.blobs[(REPO, str(empty))] == b""


# --------------------------------------------------------------------------- chunked


def test_chunked_upload_follows_every_new_location_then_puts_the_digest(make_client) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    moved: list[int] = []
    digest, size = client.upload_blob(REPO, io.BytesIO(BLOB), None, None, chunk_size=CHUNK,
                                      progress=moved.append)
    assert (digest, size) == (BLOB_DIGEST, len(BLOB))
    assert fake.blobs[(REPO, str(BLOB_DIGEST))] == BLOB
    sent = uploads_sent(seen)
    assert [r.method for r in sent] == ["POST", "PATCH", "PATCH", "PATCH", "PUT"]
    patches = sent[1:4]
    assert [r.headers["content-range"] for r in patches] == ["0-4095", "4096-8191", "8192-10239"]
    assert [r.headers["content-length"] for r in patches] == ["4096", "4096", "2048"]
    # each request went where the answer before it said (the fake refuses stale states)
    assert [r.url.params["_state"] for r in sent[1:]] == [expected_state(n) for n in range(4)]
    final = sent[-1]
    assert final.content == b"" and final.url.params["digest"] == str(BLOB_DIGEST)
    assert sum(moved) == len(BLOB)


def test_chunked_when_the_digest_is_known_but_not_the_size(make_client) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    assert client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, None, chunk_size=CHUNK) == (
        BLOB_DIGEST, len(BLOB))
    assert [r.method for r in uploads_sent(seen)] == ["POST", "PATCH", "PATCH", "PATCH", "PUT"]


def test_a_blob_that_fits_one_chunk_goes_in_one_put(make_client) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    assert client.upload_blob(REPO, io.BytesIO(BLOB), None, None) == (BLOB_DIGEST, len(BLOB))
    assert [r.method for r in uploads_sent(seen)] == ["POST", "PUT"]
    put = uploads_sent(seen)[1]
    assert put.content == BLOB
    assert put.url.params["digest"] == str(BLOB_DIGEST)


@pytest.mark.parametrize("chunked", [True, False], ids=["chunks", "streamed"])
def test_ecr_answers_a_patch_with_201(make_client, chunked: bool,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Amazon ECR answers an upload's PATCH 201, not 202 (regclient, tart#273)."""
    monkeypatch.setattr(push_module, "UPLOAD_CHUNK_SIZE", CHUNK)
    fake = FakeUploads(patch_status=201)
    client, seen = make_client(fake)
    digest, size = client.upload_blob(REPO, io.BytesIO(BLOB), None, None,
                                      chunk_size=CHUNK if chunked else None)
    assert (digest, size) == (BLOB_DIGEST, len(BLOB))
    assert fake.blobs[(REPO, str(BLOB_DIGEST))] == BLOB
    assert uploads_sent(seen)[-1].method == "PUT"


# --------------------------------------------------------------------------- streamed


@pytest.fixture
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """A streamed upload's first piece 4,096 bytes and its body pieces 1,000 bytes, so
    :data:`BLOB` streams through the buffer in many refills."""
    monkeypatch.setattr(push_module, "UPLOAD_CHUNK_SIZE", CHUNK)
    monkeypatch.setattr(uploads_module, "CHUNK_SIZE", 1000)


@pytest.mark.usefixtures("small_pieces")
@pytest.mark.parametrize("known_digest", [False, True])
def test_an_unknown_size_streams_in_one_patch_then_puts_the_digest(
    make_client, known_digest: bool
) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    moved: list[int] = []
    digest, size = client.upload_blob(
        REPO, io.BytesIO(BLOB), BLOB_DIGEST if known_digest else None, None,
        progress=moved.append,
    )
    assert (digest, size) == (BLOB_DIGEST, len(BLOB))
    assert fake.blobs[(REPO, str(BLOB_DIGEST))] == BLOB
    post, patch, put = uploads_sent(seen)
    assert (post.method, patch.method, put.method) == ("POST", "PATCH", "PUT")
    # one streamed body, as docker and containers/image send it: chunked, no range (the
    # recorder's snapshot of the request adds a Content-Length of its own)
    assert patch.headers["transfer-encoding"] == "chunked"
    assert "content-range" not in patch.headers
    assert patch.headers["content-type"] == "application/octet-stream"
    assert patch.content == BLOB  # every refill of the buffer went out as it was read
    assert put.content == b"" and put.url.params["digest"] == str(BLOB_DIGEST)
    assert put.url.params["_state"] == expected_state(1)  # where the PATCH's answer said
    assert sum(moved) == len(BLOB)
    assert not fake.sessions


@pytest.mark.usefixtures("small_pieces")
def test_a_streamed_upload_the_registry_holds_differently_is_abandoned(make_client) -> None:
    fake = FakeUploads(range_lies=True)
    client, seen = make_client(fake)
    with pytest.raises(RegistryError, match="out of step"):
        client.upload_blob(REPO, io.BytesIO(BLOB), None, None)
    assert [r.method for r in uploads_sent(seen)] == ["POST", "PATCH", "DELETE"]
    assert not fake.sessions and not fake.blobs


@pytest.mark.usefixtures("small_pieces")
def test_a_streamed_upload_that_fails_its_check_never_completes(make_client) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    wrong = Digest.of(b"something else")
    with pytest.raises(DigestMismatch, match=str(wrong)):
        client.upload_blob(REPO, io.BytesIO(BLOB), wrong, None)
    with pytest.raises(SizeMismatch):
        client.upload_blob(REPO, io.BytesIO(BLOB), None, len(BLOB) + 1)
    # the check fails on the stream's last read, inside the PATCH's body: the body is
    # broken off, so the registry never gets a whole PATCH, let alone the PUT
    assert [r.method for r in uploads_sent(seen)] == ["POST", "DELETE", "POST", "DELETE"]
    assert not fake.sessions and not fake.blobs


@pytest.mark.usefixtures("small_pieces")
def test_a_streamed_upload_stops_on_a_failing_source_or_a_cancel(make_client) -> None:
    class Broken:
        def __init__(self) -> None:
            self.calls = 0

        def read(self, n: int = -1, /) -> bytes:
            self.calls += 1
            if self.calls > 6:
                raise ConnectionFailed("The source broke off.")
            return b"a" * min(n, 1000)

    fake = FakeUploads()
    client, seen = make_client(fake)
    with pytest.raises(ConnectionFailed, match="broke off"):
        client.upload_blob(REPO, Broken(), None, None)
    cancel = CancelToken()
    with pytest.raises(Cancelled):
        client.upload_blob(REPO, io.BytesIO(BLOB), None, None, cancel=cancel,
                           progress=lambda n: cancel.cancel())
    assert [r.method for r in uploads_sent(seen)] == ["POST", "DELETE", "POST", "DELETE"]
    assert not fake.sessions and not fake.blobs


def test_relative_locations_are_resolved_against_the_registry(make_client) -> None:
    def relative(repo: str, uuid: str, state: int) -> str:
        if state % 2:
            return f"{uuid}?_state=s{state}%3D%3D+x"  # relative to the request's path
        return f"/v2/{repo}/blobs/uploads/{uuid}?_state=s{state}%3D%3D+x"

    fake = FakeUploads(location=relative)
    client, seen = make_client(fake)
    client.upload_blob(REPO, io.BytesIO(BLOB), None, None, chunk_size=CHUNK)
    assert {r.url.host for r in uploads_sent(seen)} == {HOST}
    assert {r.url.path for r in uploads_sent(seen)[1:]} == {f"{UPLOADS}u1"}
    assert fake.blobs[(REPO, str(BLOB_DIGEST))] == BLOB


def test_a_range_that_does_not_match_what_was_sent_abandons_the_upload(make_client) -> None:
    fake = FakeUploads(range_lies=True)
    client, seen = make_client(fake)
    with pytest.raises(RegistryError, match="out of step"):
        client.upload_blob(REPO, io.BytesIO(BLOB), None, None, chunk_size=CHUNK)
    assert [r.method for r in uploads_sent(seen)] == ["POST", "PATCH", "DELETE"]
    assert not fake.sessions and not fake.blobs


# --------------------------------------------------------------------------- verification


def test_digest_mismatch_mid_upload_deletes_the_session_without_a_final_put(make_client) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    wrong = Digest.of(b"something else")
    with pytest.raises(DigestMismatch, match=str(wrong)):
        client.upload_blob(REPO, io.BytesIO(BLOB), wrong, None, chunk_size=CHUNK)
    methods = [r.method for r in uploads_sent(seen)]
    assert methods[0] == "POST" and "PATCH" in methods
    assert methods[-1] == "DELETE" and "PUT" not in methods
    delete = uploads_sent(seen, "DELETE")[0]
    last_patch = uploads_sent(seen, "PATCH")[-1]
    assert delete.url.params["_state"] == expected_state(len(uploads_sent(seen, "PATCH")))
    assert delete.url.path == last_patch.url.path
    assert not fake.sessions and not fake.blobs


def test_digest_mismatch_in_a_monolithic_upload_never_completes_the_put(make_client) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    data = b"x" * (3 * 1024 * 1024)  # several pieces: the last is held back until verified
    wrong = Digest.of(b"not this")
    with pytest.raises(DigestMismatch):
        client.upload_blob(REPO, io.BytesIO(data), wrong, len(data))
    # the PUT's body failed before it was complete: the registry never got a whole request
    assert [r.method for r in uploads_sent(seen)] == ["POST", "DELETE"]
    assert not fake.sessions and not fake.blobs


@pytest.mark.parametrize("size", [len(BLOB) - 1, len(BLOB) + 1])
def test_size_mismatch_abandons_the_upload(make_client, size: int) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    with pytest.raises(SizeMismatch):
        client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, size)
    with pytest.raises(SizeMismatch):
        client.upload_blob(REPO, io.BytesIO(BLOB), None, size, chunk_size=CHUNK)
    assert not uploads_sent(seen, "PUT")
    assert len(uploads_sent(seen, "DELETE")) == 2
    assert not fake.sessions and not fake.blobs


def test_a_failing_source_stream_abandons_the_upload(make_client) -> None:
    class Broken:
        def __init__(self) -> None:
            self.calls = 0

        def read(self, n: int = -1, /) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise ConnectionFailed("The source broke off.")
            return b"a" * CHUNK

    fake = FakeUploads()
    client, seen = make_client(fake)
    with pytest.raises(ConnectionFailed, match="broke off"):
        client.upload_blob(REPO, Broken(), None, None, chunk_size=CHUNK)
    assert [r.method for r in uploads_sent(seen)] == ["POST", "PATCH", "PATCH", "DELETE"]
    assert not fake.sessions


def test_cancel_mid_upload(make_client) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    cancel = CancelToken()
    with pytest.raises(Cancelled):
        client.upload_blob(REPO, io.BytesIO(BLOB), None, None, chunk_size=CHUNK, cancel=cancel,
                           progress=lambda n: cancel.cancel())
    assert [r.method for r in uploads_sent(seen)] == ["POST", "PATCH", "DELETE"]

    cancel = CancelToken()
    data = b"y" * (3 * 1024 * 1024)
    with pytest.raises(Cancelled):
        client.upload_blob(REPO, io.BytesIO(data), Digest.of(data), len(data), cancel=cancel,
                           progress=lambda n: cancel.cancel())
    assert [r.method for r in uploads_sent(seen)][3:] == ["POST", "DELETE"]
    assert not fake.sessions and not fake.blobs


# --------------------------------------------------------------------------- locations


@pytest.mark.parametrize("where", [
    "https://evil.test/v2/team/app/blobs/uploads/u1",
    "//evil.test/v2/team/app/blobs/uploads/u1",
    "https://registry.test:8443/v2/team/app/blobs/uploads/u1",
    "http://registry.test/v2/team/app/blobs/uploads/u1",  # the same host, unencrypted
])
def test_an_upload_location_on_another_server_is_refused(make_client, where: str) -> None:
    fake = FakeUploads(location=lambda repo, uuid, state: where)
    client, seen = make_client(fake)
    with pytest.raises(RegistryError) as refused:
        client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB))
    text = str(refused.value)
    assert "another server" in text and "refusing" in text and HOST in text
    assert [r.method for r in seen.to(host=None) if r.url.path != "/v2/"] == ["POST"]


@pytest.mark.parametrize("where", [
    "ftp://registry.test/v2/team/app/blobs/uploads/u1",
    "file:///etc/passwd",
    "javascript:alert(1)",
])
def test_an_upload_location_that_is_not_http_is_refused(make_client, where: str) -> None:
    fake = FakeUploads(location=lambda repo, uuid, state: where)
    client, seen = make_client(fake)
    with pytest.raises(RegistryError, match=r"not an http\(s\) URL"):
        client.upload_blob(REPO, io.BytesIO(BLOB), None, None)
    assert [r.method for r in seen.to(host=None) if r.url.path != "/v2/"] == ["POST"]


def test_an_upload_location_refused_is_quoted_escaped_and_cut(make_client) -> None:
    """A registry's Location is quoted as every value from outside is: an escape in it
    written as one (not a command to the terminal), a long one cut with its length."""
    where = "ftp://registry.test/\x1b[2J" + "u" * 300
    fake = FakeUploads(location=lambda repo, uuid, state: where)
    client, _seen = make_client(fake)
    with pytest.raises(RegistryError) as raised:
        client.upload_blob(REPO, io.BytesIO(BLOB), None, None)
    text = str(raised.value)
    assert "\x1b" not in text and r'named "ftp://registry.test/\x1b[2J' in text, text
    assert "(324 characters)" in text, text


def test_a_location_elsewhere_mid_upload_is_refused_and_the_session_cancelled(
    make_client,
) -> None:
    fake = FakeUploads(patch_location=lambda repo, uuid, state: f"https://evil.test/{uuid}")
    client, seen = make_client(fake)
    with pytest.raises(RegistryError, match=r"evil\.test"):
        client.upload_blob(REPO, io.BytesIO(BLOB), None, None, chunk_size=CHUNK)
    assert [r.method for r in seen.to(host=None) if r.url.path != "/v2/"] == [
        "POST", "PATCH", "DELETE"]
    assert not seen.to(host="evil.test")
    # the cancel goes to the last Location that was on the registry; distribution (like the
    # fake) no longer accepts that one after a PATCH, so the registry purges the session later
    assert uploads_sent(seen, "DELETE")[0].url.params["_state"] == expected_state(0)
    assert not fake.blobs


def test_a_202_without_location_is_an_error(make_client) -> None:
    client, _ = make_client(lambda request: (
        httpx.Response(200, headers=API) if request.url.path == "/v2/"
        else httpx.Response(202)))
    with pytest.raises(RegistryError, match="without the Location"):
        client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB))


# --------------------------------------------------------------------------- no blind retries


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_upload_requests_are_never_retried(make_client, sleeps, method: str) -> None:
    fake = FakeUploads()

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.method == method and "/blobs/uploads/u" in request.url.path:
            return registry_error(503, "UNAVAILABLE", "try later")
        return fake(request)

    client, seen = make_client(flaky, retry_times=5)
    with pytest.raises(RegistryError, match="UNAVAILABLE"):
        client.upload_blob(REPO, io.BytesIO(BLOB), None, None, chunk_size=CHUNK)
    assert len(uploads_sent(seen, method)) == 1
    assert sleeps == []
    assert uploads_sent(seen)[-1].method == "DELETE"


def test_a_manifest_put_is_retried(make_client, sleeps) -> None:
    fake = FakeUploads()
    answers = iter([registry_error(503, "UNAVAILABLE", "later")])

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and "/manifests/" in request.url.path:
            return next(answers, None) or fake(request)
        return fake(request)

    client, seen = make_client(flaky)
    client.put_manifest(REPO, "v1", MANIFEST, media.OCI_MANIFEST)
    assert len(seen.to(method="PUT")) == 2 and len(sleeps) == 1


# --------------------------------------------------------------------------- auth


def test_streamed_bodies_go_once_with_the_token_the_post_settled(make_client) -> None:
    fake = FakeUploads()
    registry = TokenRegistry(app=fake, users={"alice": "pw"})
    client, seen = make_client(registry, credentials=Credentials("alice", "pw"))
    client.upload_blob(REPO, io.BytesIO(BLOB), None, None, chunk_size=CHUNK)
    client.upload_blob(REPO, io.BytesIO(BLOB * 2), Digest.of(BLOB * 2), 2 * len(BLOB))
    streamed = [r for r in uploads_sent(seen) if r.method in ("PATCH", "PUT")]
    assert [r.method for r in streamed] == ["PATCH", "PATCH", "PATCH", "PUT", "PUT"]
    assert all(r.headers["authorization"].startswith("Bearer ") for r in streamed)
    assert [t.params["scope"] for t in registry.token_requests] == [
        f"repository:{REPO}:pull,push"]


def refusing_puts(registry: TokenRegistry, *, revoke_once: bool = False) -> Handler:
    """``registry``, whose blob ``PUT`` meets a 401 ``error="invalid_token"`` as a token
    expired (or revoked) on the registry's side does: ``revoke_once``, the first one
    (every token issued until then is forgotten); else every one."""
    refused: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and request.url.path.startswith(UPLOADS):
            if revoke_once and not refused:
                registry.revoke_all()
            elif not revoke_once:
                return registry_error(401, "UNAUTHORIZED", "authentication required",
                                      registry.challenge(f"repository:{REPO}:pull,push",
                                                         "invalid_token"))
            refused.append(request.headers.get("authorization", ""))
        return registry(request)

    return handler


def test_a_token_refused_partway_is_renewed_and_the_blob_sent_again_works(
        make_client) -> None:
    """The token the upload session's POST was taken with is refused at its streamed PUT
    (it expired on the registry's side): the new one is cached, and the failure is one
    worth doing again, not a refusal of the credentials the token server just took."""
    fake = FakeUploads()
    registry = TokenRegistry(app=fake, users={"alice": "pw"})
    client, seen = make_client(refusing_puts(registry, revoke_once=True),
                               credentials=Credentials("alice", "pw", source="command line"))
    with pytest.raises(TokenRenewed) as refused:
        client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB))
    error = refused.value
    assert not isinstance(error, AuthenticationFailed) and worth_retrying(error)
    assert str(error) == (
        f"Uploading the blob {BLOB_DIGEST} to {HOST}/{REPO} failed: the registry {HOST} no "
        "longer takes the token it took until now (it expired or was revoked there); a new "
        "one was fetched.")
    assert client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB)) == (
        BLOB_DIGEST, len(BLOB))
    assert fake.blobs[(REPO, str(BLOB_DIGEST))] == BLOB
    puts = uploads_sent(seen, "PUT")
    assert [r.headers["authorization"] for r in puts] == ["Bearer tok-1", "Bearer tok-2"]
    assert len(registry.token_requests) == 2  # one more than without the refusal


def test_a_token_fetched_for_a_streamed_body_and_refused_is_an_authentication_failure(
        make_client, auth_clock: AuthClock) -> None:
    """The PUT's own token (the one cached had run out), refused: no token was good there,
    so sending it again would not help."""
    registry = TokenRegistry(app=FakeUploads(), users={"alice": "pw"}, expires_in=30)
    client, seen = make_client(refusing_puts(registry),
                               credentials=Credentials("alice", "pw", source="command line"))
    client.check_push(REPO)  # its session is kept for the upload: no POST there
    auth_clock.now += 60
    with pytest.raises(AuthenticationFailed) as refused:
        client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB))
    assert not isinstance(refused.value, TokenRenewed) and refused.value.token_refused
    assert "refused the token its token server gave" in str(refused.value)
    assert [r.method for r in uploads_sent(seen)] == ["POST", "PUT", "DELETE"]
    assert len(registry.token_requests) == 3  # the POST's, the PUT's, and one after it


def test_a_push_refused_fails_at_the_post_before_any_bytes(make_client) -> None:
    registry = TokenRegistry(app=FakeUploads(), users={"bob": "pw"}, always_401=True,
                             insufficient=True)
    client, seen = make_client(registry, credentials=Credentials("bob", "pw"))
    with pytest.raises(AccessDenied):
        client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB))
    assert {r.method for r in uploads_sent(seen)} == {"POST"}


# --------------------------------------------------------------------------- exists and mounts


def test_blob_exists(make_client) -> None:
    fake = FakeUploads(blobs={(REPO, str(BLOB_DIGEST)): BLOB})
    client, seen = make_client(fake)
    assert client.blob_exists(REPO, BLOB_DIGEST) == len(BLOB)
    assert client.blob_exists(REPO, Digest.of(b"other")) is None
    assert client.blob_exists("team/none", BLOB_DIGEST) is None
    assert {r.method for r in seen.to() if r.url.path != "/v2/"} == {"HEAD"}
    fake.blob_head_size = lambda data: ""
    assert client.blob_exists(REPO, BLOB_DIGEST) == -1


def test_blob_exists_raises_refusals(make_client) -> None:
    registry = TokenRegistry(app=FakeUploads(), always_401=True)
    client, _ = make_client(registry)
    with pytest.raises(AuthenticationFailed):
        client.blob_exists(REPO, BLOB_DIGEST)


def test_mount_201_is_mounted(make_client) -> None:
    fake = FakeUploads(blobs={("team/base", str(BLOB_DIGEST)): BLOB})
    client, seen = make_client(fake)
    assert client.mount_blob(REPO, BLOB_DIGEST, "team/base") is True
    assert fake.blobs[(REPO, str(BLOB_DIGEST))] == BLOB
    (post,) = uploads_sent(seen)
    assert post.url.params["mount"] == str(BLOB_DIGEST)
    assert post.url.params["from"] == "team/base"
    assert post.content == b""


def test_mount_answered_with_an_upload_keeps_that_session_for_the_upload(
    make_client,
) -> None:
    """The session the registry opened instead of mounting is the one the upload that
    follows uses (no request of its own, none cancelled); one no upload takes is
    cancelled when the copy lets go of the repository."""
    fake = FakeUploads()  # team/base does not hold the blob: the registry starts an upload
    client, seen = make_client(fake)
    assert client.mount_blob(REPO, BLOB_DIGEST, "team/base") is False
    assert [r.method for r in uploads_sent(seen)] == ["POST"]
    assert len(fake.sessions) == 1
    assert client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB)) == (
        BLOB_DIGEST, len(BLOB))
    _post, put = uploads_sent(seen)
    assert put.method == "PUT" and put.url.path == f"{UPLOADS}u1"
    assert not fake.sessions and fake.blobs[(REPO, str(BLOB_DIGEST))] == BLOB
    assert client.mount_blob(REPO, BLOB_DIGEST, "team/elsewhere") is False
    client.drop_spare_upload(REPO)
    delete = uploads_sent(seen)[-1]
    assert delete.method == "DELETE" and delete.url.path == f"{UPLOADS}u2"
    assert delete.url.params["_state"] == expected_state(0)
    assert not fake.sessions


def test_mount_refused_raises(make_client) -> None:
    fake = FakeUploads(blobs={("team/base", str(BLOB_DIGEST)): BLOB},
                       refuse_mounts_from={"team/base"})
    client, _ = make_client(fake)
    with pytest.raises(AccessDenied):
        client.mount_blob(REPO, BLOB_DIGEST, "team/base")


# --------------------------------------------------------------------------- manifests

MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": media.OCI_MANIFEST,
    "config": {"mediaType": media.OCI_CONFIG, "digest": str(BLOB_DIGEST), "size": len(BLOB)},
    "layers": [],
}).encode()
MANIFEST_DIGEST = Digest.of(MANIFEST)


def test_put_manifest_by_tag_and_digest(make_client) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    assert client.put_manifest(REPO, "v1", MANIFEST, media.OCI_MANIFEST) == MANIFEST_DIGEST
    assert client.put_manifest(REPO, str(MANIFEST_DIGEST), MANIFEST,
                               media.OCI_MANIFEST) == MANIFEST_DIGEST
    assert fake.manifests[(REPO, "v1")] == (MANIFEST, media.OCI_MANIFEST)
    assert fake.manifests[(REPO, str(MANIFEST_DIGEST))] == (MANIFEST, media.OCI_MANIFEST)
    assert [r.headers["content-type"] for r in seen.to(method="PUT")] == [media.OCI_MANIFEST] * 2


@pytest.mark.parametrize("code", [200, 202, 204])
def test_put_manifest_takes_any_success(make_client, code: int) -> None:
    """As containers/image takes it: Quay answered 202 until 2017 (the tag was never
    written: the copy failed after storing the manifest by digest)."""
    client, _ = make_client(lambda request: httpx.Response(
        code if request.method == "PUT" else 200))
    assert client.put_manifest(REPO, "v1", MANIFEST, media.OCI_MANIFEST) == MANIFEST_DIGEST


def test_put_manifest_asks_again_while_a_blob_is_being_linked(make_client, sleeps) -> None:
    """distribution's filesystem storage rewrites a blob's link in a repository by
    truncating it: a second copy into the repository sharing the blob makes the check
    of a manifest read it empty for a moment (seen syncing 4 images at a time). The
    manifest is sent again; a blob really missing is still said, after a few tries."""
    unknown = registry_error(400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry")
    answers = iter([unknown, unknown, httpx.Response(201)])
    client, seen = make_client(lambda request: next(answers) if request.method == "PUT"
                               else httpx.Response(200))
    assert client.put_manifest(REPO, "v1", MANIFEST, media.OCI_MANIFEST) == MANIFEST_DIGEST
    assert len(seen.to(method="PUT")) == 3 and sleeps == [0.1, 0.2]

    client, seen = make_client(lambda request: registry_error(
        400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry") if request.method == "PUT"
        else httpx.Response(200))
    with pytest.raises(RegistryError, match="MANIFEST_BLOB_UNKNOWN"):
        client.put_manifest(REPO, "v1", MANIFEST, media.OCI_MANIFEST)
    assert len(seen.to(method="PUT")) == 4


def test_put_manifest_refuses_a_registry_that_states_another_digest(make_client) -> None:
    fake = FakeUploads(stated_manifest_digest=str(Digest.of(b"changed")))
    client, _ = make_client(fake)
    with pytest.raises(DigestMismatch, match="changed or misread"):
        client.put_manifest(REPO, "v1", MANIFEST, media.OCI_MANIFEST)


def test_put_manifest_checks_its_own_digest_and_size_first(make_client) -> None:
    client, seen = make_client(FakeUploads())
    with pytest.raises(DigestMismatch):
        client.put_manifest(REPO, str(Digest.of(b"x")), MANIFEST, media.OCI_MANIFEST)
    with pytest.raises(TooLarge):
        client.put_manifest(REPO, "v1", b" " * (MAX_MANIFEST_SIZE + 1), media.OCI_MANIFEST)
    assert not seen.to(method="PUT")


# --------------------------------------------------------------------------- the destination


@pytest.fixture
def cache(tmp_path) -> BlobLocationCache:
    made = BlobLocationCache(tmp_path / "locations.sqlite")
    yield made
    made.close()


def destination(client: RegistryClient, cache: BlobLocationCache,
                **name: str | Digest) -> RegistryDestination:
    if not name:
        name = {"tag": "v1"}
    return RegistryDestination(client, REPO, cache=cache, **name)  # type: ignore[arg-type]


def blob_descriptor(data: bytes = BLOB) -> Descriptor:
    return Descriptor(media.OCI_LAYER_GZIP, Digest.of(data), len(data))


def test_destination_properties(make_client, cache) -> None:
    client, _ = make_client(FakeUploads())
    dest = destination(client, cache)
    assert isinstance(dest, ImageDestination)
    assert dest.description == f"docker://{HOST}/{REPO}:v1"
    assert destination(client, cache, digest=BLOB_DIGEST).description == (
        f"docker://{HOST}/{REPO}@{BLOB_DIGEST}")
    assert set(dest.supported_manifest_types) == set(SUPPORTED_MANIFEST_TYPES) == {
        media.OCI_MANIFEST, media.OCI_INDEX, media.DOCKER_V2S2, media.DOCKER_LIST}
    assert dest.accepts_lists is True
    assert dest.desired_layer_compression == COMPRESSED  # uncompressed layers get gzipped
    with pytest.raises(ValueError):
        RegistryDestination(client, REPO, tag="v1", digest=BLOB_DIGEST)


def test_holds_blob_is_false_where_the_registry_will_not_say(make_client, cache) -> None:
    """A ``HEAD`` refused (403) only keeps the plan from reusing the blob: not said."""
    client, _ = make_client(lambda request: registry_error(403, "DENIED", "no")
                            if request.method == "HEAD" else httpx.Response(200, headers=API))
    assert destination(client, cache).holds_blob(blob_descriptor()) is False


def test_holds_blob_of_a_registry_that_cannot_be_reached_raises(
        make_client, cache, sleeps: list[float]) -> None:
    """Taken for "not there", the refusal was met again by the copy's next request, which
    spent a whole --retry-times more (twice the 3.5 to 7 s, and nothing said meanwhile)."""
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    client, seen = make_client(refused)
    with pytest.raises(Unreachable) as caught:
        destination(client, cache).holds_blob(blob_descriptor())
    assert str(caught.value) == f"Cannot reach the registry {HOST}: connection refused."
    assert len(seen.to()) == 4 and len(sleeps) == 3  # one round of retries


def test_reuse_blob_exists_without_any_post(make_client, cache) -> None:
    fake = FakeUploads(blobs={(REPO, str(BLOB_DIGEST)): BLOB})
    client, seen = make_client(fake)
    dest = destination(client, cache)
    assert dest.reuse_blob(blob_descriptor()) == "exists"
    assert dest.reuse_blob(blob_descriptor()) == "exists"  # known now: not even a HEAD
    assert [r.method for r in seen.to() if r.url.path != "/v2/"] == ["HEAD"]
    assert cache.candidates(HOST, BLOB_DIGEST) == [REPO]


def test_reuse_blob_mounts_from_a_cached_repository(make_client, cache) -> None:
    fake = FakeUploads(blobs={("team/base", str(BLOB_DIGEST)): BLOB},
                       refuse_mounts_from={"team/secret"})
    cache.record(HOST, "team/base", BLOB_DIGEST)
    cache.record(HOST, "team/gone", BLOB_DIGEST)
    cache.record(HOST, "team/secret", BLOB_DIGEST)  # most recent: tried first
    cache.record("elsewhere.test", "team/other", BLOB_DIGEST)
    client, seen = make_client(fake)
    dest = destination(client, cache)
    assert dest.reuse_blob(blob_descriptor()) == "mounted"
    posts = uploads_sent(seen, "POST")
    assert [r.url.params["from"] for r in posts] == ["team/secret", "team/gone", "team/base"]
    assert fake.blobs[(REPO, str(BLOB_DIGEST))] == BLOB
    assert REPO in cache.candidates(HOST, BLOB_DIGEST)
    # the 202 the registry answered the mount from team/gone with was kept for an
    # upload; none came, so closing cancels it
    assert not uploads_sent(seen, "DELETE") and len(fake.sessions) == 1
    dest.close()
    assert len(uploads_sent(seen, "DELETE")) == 1 and not fake.sessions


def test_reuse_blob_none_when_nothing_can_be_mounted(make_client, cache) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    dest = destination(client, cache)
    assert dest.reuse_blob(blob_descriptor()) is None
    assert not uploads_sent(seen)
    cache.record(HOST, "team/gone", BLOB_DIGEST)
    assert dest.reuse_blob(blob_descriptor()) is None
    assert [r.method for r in uploads_sent(seen)] == ["POST"]  # kept for the upload
    dest.close()
    assert [r.method for r in uploads_sent(seen)] == ["POST", "DELETE"]


def test_reuse_blob_does_not_trust_another_size(make_client, cache) -> None:
    fake = FakeUploads(blobs={(REPO, str(BLOB_DIGEST)): BLOB})
    client, _ = make_client(fake)
    dest = destination(client, cache)
    wrong = Descriptor(media.OCI_LAYER_GZIP, BLOB_DIGEST, len(BLOB) + 1)
    assert dest.reuse_blob(wrong) is None


def test_put_blob_records_the_location(make_client, cache) -> None:
    fake = FakeUploads()
    client, _ = make_client(fake)
    dest = destination(client, cache)
    written = dest.put_blob(io.BytesIO(BLOB), media_type=media.OCI_LAYER_GZIP, digest=None,
                            size=None)
    assert written == Descriptor(media.OCI_LAYER_GZIP, BLOB_DIGEST, len(BLOB))
    assert cache.candidates(HOST, BLOB_DIGEST) == [REPO]
    assert dest.reuse_blob(written) == "exists"


def test_commit_by_tag_puts_the_tag_last(make_client, cache) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    dest = destination(client, cache)
    top = Descriptor(media.OCI_MANIFEST, MANIFEST_DIGEST, len(MANIFEST))
    dest.put_manifest(MANIFEST, media.OCI_MANIFEST, MANIFEST_DIGEST)
    assert (REPO, "v1") not in fake.manifests
    dest.commit(top, MANIFEST)
    assert [r.url.path for r in seen.to(method="PUT")] == [
        f"/v2/{REPO}/manifests/{MANIFEST_DIGEST}", f"/v2/{REPO}/manifests/v1"]
    dest.abort()
    dest.abort()
    dest.close()


def test_commit_refuses_bytes_that_are_not_the_descriptor(make_client, cache) -> None:
    client, seen = make_client(FakeUploads())
    dest = destination(client, cache)
    top = Descriptor(media.OCI_MANIFEST, Digest.of(b"other"), len(MANIFEST))
    with pytest.raises(DigestMismatch, match="nothing was tagged"):
        dest.commit(top, MANIFEST)
    assert not seen.to(method="PUT")


def test_commit_by_digest(make_client, cache) -> None:
    fake = FakeUploads()
    client, seen = make_client(fake)
    top = Descriptor(media.OCI_MANIFEST, MANIFEST_DIGEST, len(MANIFEST))
    dest = destination(client, cache, digest=MANIFEST_DIGEST)
    dest.put_manifest(MANIFEST, media.OCI_MANIFEST, MANIFEST_DIGEST)
    dest.commit(top, MANIFEST)
    assert len(seen.to(method="PUT")) == 1  # the commit has nothing left to write

    other = destination(client, cache, digest=Digest.of(b"asked for"))
    with pytest.raises(DigestMismatch, match="changed the manifest"):
        other.commit(top, MANIFEST)


def test_a_body_too_large_for_a_proxy_goes_again_in_smaller_pieces(make_client, cache) -> None:
    """A proxy refuses bodies over 300 kB (413): the copy sends the blob again, in
    pieces of 1 MiB (those of 8, 5 and 4 MiB would be one request again, as large as
    the one refused), then 256 KiB, which pass; the destination keeps the size for the
    blobs after it."""
    from spyglass.core.copy import BlobRetried, BlobTask, CopyOptions, _transfer_blob

    fake = FakeUploads(max_body=300_000)
    client, seen = make_client(fake)
    dest = destination(client, cache)
    data = bytes(range(256)) * 5000  # 1.28 MB
    descriptor = blob_descriptor(data)

    class Source:
        def open_blob(self, blob: Descriptor, *, cancel: object = None) -> io.BytesIO:
            return io.BytesIO(data)

    events: list[object] = []
    written = _transfer_blob(  # the smaller pieces are not among the --retry-times
        BlobTask(descriptor, descriptor.media_type), Source(), dest,  # type: ignore[arg-type]
        CopyOptions(retry_times=0), events.append, CancelToken(),
    )
    assert written.digest == descriptor.digest
    assert fake.blobs[(REPO, str(descriptor.digest))] == data
    retries = [e for e in events if isinstance(e, BlobRetried)]
    assert len(retries) == 2 and all("413" in e.reason for e in retries)
    assert "the next attempt sends it in pieces of 1 MiB" in retries[0].reason
    assert "the next attempt sends it in pieces of 256 KiB" in retries[1].reason
    assert not any(e.counted for e in retries)  # not "attempt 1 of 4" for a new start
    piece = CHUNK_SIZES_AFTER_413[-1]
    assert [len(p.content) for p in uploads_sent(seen, "PATCH")] == [
        1024 * 1024,  # refused
        *[piece] * (len(data) // piece), len(data) % piece,
    ]
    assert not fake.sessions  # every refused session was cancelled

    # the next blob goes in those pieces at once
    seen.requests.clear()
    other = data[::-1]
    dest.put_blob(io.BytesIO(other), media_type=descriptor.media_type,
                  digest=Digest.of(other), size=len(other))
    assert [r.method for r in uploads_sent(seen)] == ["POST"] + ["PATCH"] * 5 + ["PUT"]


def test_pieces_after_a_413_are_of_5_mib_at_least_while_they_pass(make_client, cache) -> None:
    """Google's and Amazon's registries refuse parts under 5 MiB (but the last) when the
    upload completes: behind a proxy that limits bodies to 6 MiB, the pieces of 4 MiB
    the copy went on in were refused (SIZE_INVALID). It tries 8 MiB, then 5 MiB."""
    from spyglass.core.copy import BlobRetried, BlobTask, CopyOptions, _transfer_blob

    mib = 1024 * 1024
    fake = FakeUploads(max_body=6 * mib, min_chunk=5 * mib)
    client, seen = make_client(fake)
    dest = destination(client, cache)
    data = bytes(range(256)) * (48 * 1024)  # 12 MiB
    descriptor = blob_descriptor(data)

    class Source:
        def open_blob(self, blob: Descriptor, *, cancel: object = None) -> io.BytesIO:
            return io.BytesIO(data)

    events: list[object] = []
    written = _transfer_blob(
        BlobTask(descriptor, descriptor.media_type), Source(), dest,  # type: ignore[arg-type]
        CopyOptions(retry_times=0), events.append, CancelToken(),
    )
    assert written.digest == descriptor.digest
    assert fake.blobs[(REPO, str(descriptor.digest))] == data
    retries = [e.reason for e in events if isinstance(e, BlobRetried)]
    assert ["pieces of 8 MiB" in retries[0], "pieces of 5 MiB" in retries[1]] == [True, True]
    assert [len(p.content) for p in uploads_sent(seen, "PATCH")] == [
        8 * mib,  # refused
        5 * mib, 5 * mib, 2 * mib]


def test_pieces_after_a_413_are_smaller_than_the_refused_body_of_unknown_size(
    make_client, cache
) -> None:
    """A blob being recompressed (digest and size unknown) of 3 MiB goes in one ``PUT``
    of its stated length; refused by a proxy's 1 MiB limit, the next attempt goes in
    pieces of 1 MiB at once, not of 8, 5 and 4 MiB, each of which would be that whole
    body again. A piece size a parallel transfer chose is not taken when the body
    refused was no larger."""
    mib = 1024 * 1024
    fake = FakeUploads(max_body=mib)
    client, seen = make_client(fake)
    dest = destination(client, cache)
    data = bytes(range(256)) * (12 * 1024)  # 3 MiB
    with pytest.raises(BodyTooLarge) as refused:
        dest.put_blob(io.BytesIO(data), media_type=media.OCI_LAYER_GZIP, digest=None, size=None)
    assert refused.value.smaller == mib
    assert "the next attempt sends it in pieces of 1 MiB" in str(refused.value)
    dest.put_blob(io.BytesIO(data), media_type=media.OCI_LAYER_GZIP, digest=None, size=None)
    assert fake.blobs[(REPO, str(Digest.of(data)))] == data
    assert [len(r.content) for r in uploads_sent(seen) if r.method in ("PUT", "PATCH")] == [
        3 * mib,  # refused
        mib, mib, mib, 0]

    # another transfer's 8 MiB pieces would send this 3 MiB body whole again
    other = destination(client, cache)
    other._chunk_size = 8 * mib  # (as a larger blob refused at once left it)
    with pytest.raises(BodyTooLarge) as again:
        other.put_blob(io.BytesIO(data), media_type=media.OCI_LAYER_GZIP, digest=None,
                       size=None)
    assert again.value.smaller == mib


def test_a_body_too_large_even_in_the_smallest_pieces_is_an_error(make_client, cache) -> None:
    fake = FakeUploads(max_body=1000)
    client, _ = make_client(fake)
    dest = destination(client, cache)
    data = bytes(range(256)) * 1200  # 300 KiB: pieces of 256 KiB are the only smaller
    for expected in (CHUNK_SIZES_AFTER_413[-1], None):
        with pytest.raises(BodyTooLarge) as refused:
            dest.put_blob(io.BytesIO(data), media_type=media.OCI_LAYER_GZIP,
                          digest=Digest.of(data), size=len(data))
        assert refused.value.smaller == expected
        assert refused.value.status == 413
    assert "next attempt" not in str(refused.value)
    assert not fake.blobs


def test_a_413_the_registry_explains_is_its_own_error(make_client, cache) -> None:
    """A 413 with a registry error code (a quota, say) is not a proxy's size limit:
    smaller pieces would not help, so it is not turned into BodyTooLarge."""
    client, _ = make_client(lambda request: (
        httpx.Response(200, headers=API) if request.url.path == "/v2/"
        else registry_error(413, "DENIED", "quota exceeded") if request.method == "PUT"
        else FakeUploads()(request)))
    with pytest.raises(AccessDenied) as refused:
        destination(client, cache).put_blob(io.BytesIO(BLOB), media_type=media.OCI_LAYER_GZIP,
                                            digest=BLOB_DIGEST, size=len(BLOB))
    assert not isinstance(refused.value, BodyTooLarge)


def test_a_completed_upload_stated_as_another_blob_is_not_trusted(make_client) -> None:
    """A sha256 named in the answer that is not the one sent (the same algorithm) means
    the registry stored something else; another algorithm is its own name for the blob
    (see the sha512 test against distribution)."""
    other = Digest.of(b"something else")
    client, _seen = make_client(FakeUploads(stated_blob_digest=str(other)))
    with pytest.raises(DigestMismatch, match=f"stored the blob as {other}, not as"):
        client.upload_blob(REPO, io.BytesIO(BLOB), Digest.of(BLOB), len(BLOB))


def test_a_slow_link_gets_small_pieces_and_a_fast_one_big_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each piece is counted once sent: on a slow link they stay small, so progress (and
    the stall a window shows after 15 s without a byte) follows what is sent."""
    from spyglass.core.transports.registry import uploads

    data = memoryview(bytes(3 * 1024 * 1024))
    clock = iter(range(1000))  # each piece takes a second to go
    monkeypatch.setattr(uploads, "_clock", lambda: float(next(clock)))
    counted: list[int] = []
    slow = [len(p) for p in uploads.Pacing().pieces(data, counted.append)]
    assert slow == [uploads.PIECE_SIZE] * 12 and counted == slow
    monkeypatch.setattr(uploads, "_clock", lambda: 0.0)  # as fast as can be
    fast = [len(p) for p in uploads.Pacing().pieces(data, None)]
    assert fast == [uploads.PIECE_SIZE, *[1024 * 1024] * 2, 768 * 1024]


def test_an_upload_of_a_known_blob_is_paced_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The common path (digest and size known: held_back) hands over small pieces on a
    slow link, as the streamed one does."""
    from spyglass.core.transports.registry import uploads

    clock = iter(range(1000))  # each piece takes a second to go
    monkeypatch.setattr(uploads, "_clock", lambda: float(next(clock)))
    counted: list[int] = []
    pieces = [len(p) for p in uploads.held_back(io.BytesIO(bytes(2 * 1024 * 1024)),
                                                counted.append)]
    assert pieces == [uploads.PIECE_SIZE] * 8 and counted == pieces


# --------------------------------------------------------------------------- push check


@pytest.mark.parametrize("answer", [
    registry_error(404, "NAME_UNKNOWN", "repository name not known to registry"),
    registry_error(405, "UNSUPPORTED", "The operation is unsupported."),
    registry_error(400, "BLOB_UNKNOWN", "blob unknown to registry"),
    httpx.Response(500, text="internal error"),
])
def test_a_push_check_whose_mount_fails_opens_an_upload_session(
    make_client, answer: httpx.Response,
) -> None:
    """A registry that answers the check's mount onto itself with an error (it does not
    mount, or not that way) is checked with an upload session, as before: the check
    passes where the copy could push, and says the refusal where it could not."""
    fake = FakeUploads(blobs={(REPO, str(BLOB_DIGEST)): BLOB})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and "mount" in request.url.params:
            return httpx.Response(answer.status_code, headers=answer.headers,
                                  content=answer.content)
        return fake(request)

    client, seen = make_client(handler, retry_times=0)
    client.check_push(REPO, held=BLOB_DIGEST)
    posts = uploads_sent(seen, "POST")
    assert ["mount" in r.url.params for r in posts] == [True, False]
    assert len(fake.sessions) == 1  # kept for the first upload
    assert client.upload_blob(REPO, io.BytesIO(b"x"), Digest.of(b"x"), 1)
    assert len(uploads_sent(seen, "POST")) == 2 and not fake.sessions


def test_a_push_check_with_its_blob_there_opens_no_session(make_client) -> None:
    fake = FakeUploads(blobs={(REPO, str(BLOB_DIGEST)): BLOB})
    client, seen = make_client(fake)
    client.check_push(REPO, held=BLOB_DIGEST)
    assert [(r.method, r.url.params.get("from")) for r in seen.to()
            if "/blobs/" in r.url.path] == [("HEAD", None), ("POST", REPO)]
    assert not fake.sessions and not client._spare_uploads


def test_kept_sessions_are_capped_and_each_copy_cancels_only_its_own(make_client) -> None:
    """Sessions beyond MAX_SPARE_UPLOADS are cancelled at once; a copy's destination
    closing cancels the sessions it kept, not those of another copy into the same
    repository through the same client (the window shares one per registry)."""
    from spyglass.core.transports.registry.push import MAX_SPARE_UPLOADS

    fake = FakeUploads(mounts=False)
    client, seen = make_client(fake)
    first, second = object(), object()
    for _ in range(MAX_SPARE_UPLOADS + 2):
        assert client.mount_blob(REPO, BLOB_DIGEST, "team/base", owner=first) is False
    assert len(uploads_sent(seen, "DELETE")) == 2
    assert len(fake.sessions) == MAX_SPARE_UPLOADS
    assert {d.url.path for d in uploads_sent(seen, "DELETE")} == {
        f"{UPLOADS}u1", f"{UPLOADS}u2"}  # the oldest
    client.drop_spare_upload(REPO, owner=first)
    client.check_push(REPO, owner=second)
    assert client.mount_blob(REPO, BLOB_DIGEST, "team/base", owner=first) is False
    client.drop_spare_upload(REPO, owner=first)
    assert len(fake.sessions) == 1  # the second copy's
    assert client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB))
    assert not fake.sessions and len(uploads_sent(seen, "PUT")) == 1


# --------------------------------------------------------------------------- a full registry

NO_SPACE_HEX = "9e05" + "7c" * 30
STORE = "/tmp/explore21/diskfull/mnt6/docker/registry/v2/repositories"
STORAGE_FULL = ("has no room left: its storage is full (no space left on device), which its "
                "administrator has to free; it answered UNKNOWN: unknown error")


def driver_error(path: str, number: int = 28) -> httpx.Response:
    """distribution 2.8's answer when its filesystem driver meets ENOSPC: the detail is
    the driver's error object, a Go ``*PathError`` with ``Err: 28`` inside."""
    return httpx.Response(500, json={"errors": [{
        "code": "UNKNOWN", "message": "unknown error",
        "detail": {"DriverName": "filesystem",
                   "Enclosed": {"Op": "write", "Path": path, "Err": number}}}]})


def test_a_driver_error_number_no_system_has_is_said_as_a_number(make_client) -> None:
    """os.strerror overflowed on 2**31: the registry's answer became an OverflowError."""
    fake = FakeUploads()

    def odd(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return driver_error(f"{STORE}/team/app/_uploads/x/startedat", 2**31)
        return fake(request)

    client, _seen = make_client(odd)
    with pytest.raises(RegistryError) as caught:
        client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB))
    assert f"startedat: errno {2**31})" in str(caught.value), str(caught.value)


def test_a_registry_with_full_storage_says_so_when_asked_for_an_upload(make_client) -> None:
    fake = FakeUploads()
    uuid = "6b7a0f2c-52e1-4b8c-a7b0-0e4c0d31f1a9"

    def full(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return driver_error(f"{STORE}/team/app/_uploads/{uuid}/startedat")
        return fake(request)

    client, seen = make_client(full)
    with pytest.raises(RegistryError) as caught:
        client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB))
    said = str(caught.value)
    assert said.endswith(
        f"{STORAGE_FULL} (write …/repositories/team/app/_uploads/"
        f"6b7a0f2c-52e…/startedat: no space left on device) (HTTP 500)."), said
    assert len(seen.to(method="POST")) == 1


def test_a_registry_with_full_storage_says_so_when_a_manifest_is_stored(make_client) -> None:
    fake = FakeUploads()

    def full(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and "/manifests/" in request.url.path:
            return driver_error(f"{STORE}/team/app/_manifests/tags/3/index/sha256/"
                                f"{NO_SPACE_HEX}/link")
        return fake(request)

    client, _seen = make_client(full)
    with pytest.raises(RegistryError) as caught:
        client.put_manifest(REPO, "v1", MANIFEST, media.OCI_MANIFEST)
    said = str(caught.value)
    assert f"(write …/repositories/team/app/_manifests/tags/3/index/sha256/{NO_SPACE_HEX[:12]}…"\
           "/link: no space left on device)" in said, said
    assert STORAGE_FULL in said, said
    assert said.endswith("/link: no space left on device) (HTTP 500)."), said


def test_a_long_storage_path_in_a_string_detail_is_shortened_not_dropped(make_client) -> None:
    fake = FakeUploads()
    deep = "/srv/" + "/".join(f"level-{n:02d}-of-a-deep-mount" for n in range(8))
    path = f"{deep}/docker/registry/v2/repositories/team/app/_uploads/{'ab' * 18}/data"
    assert len(path) > 200

    def full(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and "/blobs/uploads/" in request.url.path:
            return httpx.Response(500, json={"errors": [{
                "code": "UNKNOWN", "message": "unknown error",
                "detail": f"write {path}: no space left on device"}]})
        return fake(request)

    client, _seen = make_client(full)
    with pytest.raises(RegistryError) as caught:
        client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB))
    said = str(caught.value)
    assert (f"{STORAGE_FULL} (write …/repositories/team/app/_uploads/abababababab…/data: no "
            "space left on device) (HTTP 500).") in said, said


@pytest.mark.parametrize(("answer", "dropped"), [(204, True), (404, False), (500, False)])
def test_an_upload_cut_off_says_whether_the_registry_took_its_cancel(
        make_client, answer: int, dropped: bool) -> None:
    """distribution answers the DELETE of an upload whose body broke off with 404 and keeps
    what it received until it purges unfinished uploads: only a DELETE it took (2xx)
    counts as dropped."""
    fake = FakeUploads()

    def failing(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT" and "/blobs/uploads/" in request.url.path:
            request.read()
            return driver_error(f"{STORE}/team/app/_uploads/x/data")
        if request.method == "DELETE":
            return httpx.Response(answer)
        return fake(request)

    client, seen = make_client(failing)
    with pytest.raises(RegistryError) as caught:
        client.upload_blob(REPO, io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB))
    assert upload_cut_off(caught.value) is dropped
    assert len(seen.to(method="DELETE")) == 1
