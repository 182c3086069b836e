"""Pushing to real registries through :class:`RegistryDestination` (distribution 2.8).

The protocol is driven by hand (:func:`push_by_hand`: reuse or put every blob,
the instance manifests, the list, the commit), reading from an OCI layout
built by ``tests.helpers.imagebuild``, so these tests check the destination
and the client's upload primitives, not the copy engine. What lands is
checked by skopeo and by our own ``load_image``.

Requests are counted on the client side (:class:`Counting`, a transport
wrapper that also counts the body bytes actually sent), since the test
registries run without an access log.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from spyglass.core.blob_slots import BlobSlots
from spyglass.core.blobcache import (
    BlobLocationCache,
    default_cache,
    set_default_cache,
)
from spyglass.core.copy import (
    BlobSkipped,
    BlobWaitingForCopy,
    CopyOptions,
    execute,
    plan_copy,
)
from spyglass.core.credentials import Credentials
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    DigestMismatch,
    RepositoryNotFound,
)
from spyglass.core.image import load_image
from spyglass.core.manifest import Descriptor, ImageIndex, ImageManifest, parse_manifest
from spyglass.core.platform import Platform
from spyglass.core.reference import parse_docker_reference
from spyglass.core.transports import ImageSource, open_source
from spyglass.core.transports.registry import RegistryOptions, forget_clients
from spyglass.core.transports.registry.client import (
    UPLOAD_CHUNK_SIZE,
    HTTPPool,
    RegistryClient,
)
from spyglass.core.transports.registry.destination import (
    RegistryDestination,
    open_registry_destination,
)
from spyglass.core.transports.registry.source import RegistryImageSource
from spyglass.core.transports.registry.underway import UPLOADS_UNDER_WAY
from tests.helpers import require_tool
from tests.helpers.connections import connections_opened
from tests.helpers.imagebuild import multi_platform_layout, sha512_layout
from tests.helpers.registry import ALICE, BOB, RegistryServer
from tests.helpers.tokenserver import TokenServer

pytestmark = pytest.mark.integration

PLATFORMS = ("linux/amd64", "linux/arm64/v8", "linux/arm/v7")
UNIQUE_BLOBS = 8  # 3 configs, 3 platform layers, the shared base and app layers
BLOB_REFERENCES = 12  # 3 platforms x (config + 3 layers)


@pytest.fixture(autouse=True)
def _no_shared_clients() -> Iterator[None]:
    """Each test gets clients of its own: a port may come back as another test's server."""
    forget_clients()
    yield
    forget_clients()


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dest-layout") / "oci"
    multi_platform_layout(root)
    return root


@pytest.fixture(scope="module")
def docker_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dest-layout") / "docker"
    multi_platform_layout(root, docker_media_types=True)
    return root


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[BlobLocationCache]:
    made = BlobLocationCache(tmp_path / "blob-locations.sqlite")
    yield made
    made.close()


# --------------------------------------------------------------------------- counting


class _CountingBody(httpx.SyncByteStream):
    def __init__(self, inner: Any, counter: Counting) -> None:
        self._inner = inner
        self._counter = counter

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            self._counter.add_bytes(len(chunk))
            yield chunk

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


@dataclass
class Counting(httpx.BaseTransport):
    """A transport that records each request (method, path, query) and the body bytes sent."""

    inner: httpx.BaseTransport = field(default_factory=httpx.HTTPTransport)
    requests: list[httpx.Request] = field(default_factory=list)
    body_bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self.body_bytes += count

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        if not isinstance(request.stream, _CountingBody):  # an auth flow sends it again
            request.stream = _CountingBody(request.stream, self)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

    def methods(self, marker: str) -> Counter[str]:
        with self._lock:
            return Counter(r.method for r in self.requests if marker in r.url.path)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.body_bytes = 0


@pytest.fixture
def counting() -> Iterator[tuple[Counting, HTTPPool]]:
    transport = Counting()
    pool = HTTPPool(transport=transport)
    yield transport, pool
    pool.close()


# --------------------------------------------------------------------------- pushing by hand


def push_by_hand(source: ImageSource, destination: RegistryDestination) -> Counter[str]:
    """Copy the image ``source`` names, unchanged, through the destination protocol.

    Returns how each blob reference got there: ``exists``, ``mounted`` or ``put``.
    """
    raw, media_type = source.get_manifest()
    top = parse_manifest(raw, media_type)
    how: Counter[str] = Counter()

    def put_image(manifest: ImageManifest) -> None:
        for descriptor in (manifest.config, *manifest.layers):
            reused = destination.reuse_blob(descriptor)
            if reused is None:
                with source.open_blob(descriptor) as stream:
                    written = destination.put_blob(
                        stream, media_type=descriptor.media_type, digest=descriptor.digest,
                        size=descriptor.size,
                    )
                assert (written.digest, written.size) == (descriptor.digest, descriptor.size)
                reused = "put"
            how[reused] += 1
        destination.put_manifest(manifest.raw, manifest.media_type, manifest.digest)

    if isinstance(top, ImageIndex):
        for entry in top.manifests:
            child_raw, child_type = source.get_manifest(str(entry.digest))
            child = parse_manifest(child_raw, child_type)
            assert isinstance(child, ImageManifest)
            put_image(child)
        destination.put_manifest(top.raw, top.media_type, top.digest)
    else:
        assert isinstance(top, ImageManifest)
        put_image(top)
    destination.commit(Descriptor(top.media_type, top.digest, len(top.raw)), top.raw)
    return how


def layout_source(path: Path) -> ImageSource:
    return open_source(f"oci:{path}:latest")


def skopeo_inspect(server: RegistryServer, name: str, *, raw: bool = False,
                   platform: Platform | None = None,
                   creds: tuple[str, str] | None = None) -> Any:
    """``skopeo inspect [--raw] docker://HOST/NAME``, for ``platform`` when given."""
    skopeo = require_tool("skopeo")
    command = [skopeo]
    if platform is not None:
        command += ["--override-os", platform.os, "--override-arch", platform.architecture]
        if platform.variant:
            command += ["--override-variant", platform.variant]
    command += ["inspect", "--retry-times", "0"]
    if server.tls:
        assert server.cert_dir is not None
        command += ["--cert-dir", str(server.cert_dir)]
    else:
        command.append("--tls-verify=false")
    if creds is not None:
        command += ["--creds", ":".join(creds)]
    if raw:
        command.append("--raw")
    command.append(f"docker://{server.host}/{name}")
    result = subprocess.run(command, capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout if raw else json.loads(result.stdout)


def check_landed(server: RegistryServer, name: str, layout_path: Path,
                 options: RegistryOptions | None = None,
                 creds: tuple[str, str] | None = None) -> None:
    """skopeo and load_image agree with the layout on what ``name`` holds, blobs included."""
    original = layout_source(layout_path)
    top_raw, _ = original.get_manifest()
    assert skopeo_inspect(server, name, raw=True, creds=creds) == top_raw
    pushed = open_source(f"docker://{server.host}/{name}", options)
    for platform in PLATFORMS:
        wanted = Platform.parse(platform)
        ours = load_image(pushed, platform=wanted)
        theirs = load_image(original, platform=wanted)
        assert ours.instance == theirs.instance
        assert ours.manifest.raw == theirs.manifest.raw
        seen = skopeo_inspect(server, name, platform=wanted, creds=creds)
        assert seen["Digest"] == str(Digest.of(top_raw))
        assert seen["Architecture"] == wanted.architecture
        assert seen["Layers"] == [str(layer.digest) for layer in ours.layers]
        assert isinstance(ours.manifest, ImageManifest)
        for descriptor in (ours.manifest.config, *ours.layers):
            with pushed.open_blob(descriptor) as reader:
                reader.read()
                assert reader.verified


# --------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("which", ["oci", "docker"])
def test_push_by_hand_then_skopeo_and_load_image_agree(
    registry: RegistryServer, layout: Path, docker_layout: Path, cache: BlobLocationCache,
    which: str,
) -> None:
    path = layout if which == "oci" else docker_layout
    client = RegistryClient(registry.host)
    destination = RegistryDestination(client, f"it-dest/push-{which}", tag="v1", cache=cache)
    how = push_by_hand(layout_source(path), destination)
    assert how == {"put": UNIQUE_BLOBS, "exists": BLOB_REFERENCES - UNIQUE_BLOBS}
    check_landed(registry, f"it-dest/push-{which}:v1", path)


def test_monolithic_and_chunked_uploads_land(
    registry: RegistryServer, counting: tuple[Counting, HTTPPool]
) -> None:
    transport, pool = counting
    client = RegistryClient(registry.host, pool=pool)
    repository = "it-dest/uploads"
    data = hashlib.sha512(b"seed").digest() * 4800  # 307,200 bytes
    known = Digest.of(data)

    assert client.upload_blob(repository, _Reader(data), known, len(data)) == (known, len(data))
    assert transport.methods("/blobs/uploads/") == {"POST": 1, "PUT": 1}

    other = data[::-1]
    transport.reset()
    digest, size = client.upload_blob(repository, _Reader(other), None, None,
                                      chunk_size=64 * 1024)
    assert (digest, size) == (Digest.of(other), len(other))
    assert transport.methods("/blobs/uploads/") == {"POST": 1, "PATCH": 5, "PUT": 1}
    assert transport.body_bytes == len(other)

    # known digest and size, in pieces all the same (as after a proxy's 413)
    third = data[1:]
    transport.reset()
    assert client.upload_blob(repository, _Reader(third), Digest.of(third), len(third),
                              chunk_size=128 * 1024) == (Digest.of(third), len(third))
    assert transport.methods("/blobs/uploads/") == {"POST": 1, "PATCH": 3, "PUT": 1}

    # unknown size, more than one first piece: one streamed PATCH, as docker pushes
    streamed = os.urandom(UPLOAD_CHUNK_SIZE + 3 * 1024 * 1024 + 17)
    transport.reset()
    digest, size = client.upload_blob(repository, _Reader(streamed), None, None)
    assert (digest, size) == (Digest.of(streamed), len(streamed))
    assert transport.methods("/blobs/uploads/") == {"POST": 1, "PATCH": 1, "PUT": 1}
    patch = next(r for r in transport.requests if r.method == "PATCH")
    assert patch.headers["transfer-encoding"] == "chunked"
    assert transport.body_bytes == len(streamed)

    for blob in (data, other, third, streamed):
        assert client.blob_exists(repository, Digest.of(blob)) == len(blob)
        with client.open_blob(repository, Digest.of(blob)) as stream:
            assert stream.read() == blob
    assert not _leftover_uploads(registry, repository)


def test_a_sha512_blob_the_registry_names_by_its_sha256_is_taken(
    registry: RegistryServer,
) -> None:
    """distribution answers a sha512 upload with its own sha256 in Docker-Content-Digest,
    as the distribution spec allows; its 201 says the sha512 given matched. The first
    push is taken, as the second was (the blob was there by then)."""
    client = RegistryClient(registry.host)
    data = b"a blob named by sha512" * 1000
    digest = Digest("sha512", hashlib.sha512(data).hexdigest())
    assert client.upload_blob("it-dest/sha512", _Reader(data), digest, len(data)) == (
        digest, len(data))
    assert client.blob_exists("it-dest/sha512", digest)
    # no mount of it is asked (distribution would link it to nothing: test_copy_sha512)
    assert not client.mount_blob("it-dest/sha512-mounted", digest, "it-dest/sha512")
    assert client.blob_exists("it-dest/sha512", digest)


def test_a_list_naming_its_images_by_sha512_is_refused_before_anything_moves(
    registry: RegistryServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """distribution stores a manifest under its sha256 digest only: the images of a
    list whose entries are sha512 digests would be refused (DIGEST_INVALID) one by one
    after their blobs went up. The copy says so before; one image of it goes."""
    from spyglass.cli import main

    multi_platform_layout(tmp_path / "plain", ref="i512")
    sha512_layout(tmp_path / "plain", tmp_path / "l512")
    destination = f"docker://{registry.host}/it-dest/sha512-list:1"
    assert main(["copy", "-q", "--all", f"oci:{tmp_path}/l512:i512", destination]) == 1
    said = capsys.readouterr().err
    assert "names its images by sha512 digests (sha512:" in said
    assert "nothing was copied. Copy one of its images (--platform), or the list into an OCI " \
        "layout or archive, which keep sha512 names.\n" in said
    assert not (registry.storage_dir / "docker/registry/v2/repositories/it-dest/sha512-list"
                ).exists()
    digestfile = tmp_path / "digest"
    assert main(["copy", "-q", "--platform", "linux/arm64", "--digestfile", str(digestfile),
                 f"oci:{tmp_path}/l512:i512", destination]) == 0
    # named as the registry names it
    assert digestfile.read_text() == str(load_image(open_source(destination)).manifest.digest)
    assert digestfile.read_text().startswith("sha256:")


def test_a_second_push_reuses_every_blob_without_a_post(
    registry: RegistryServer, layout: Path, cache: BlobLocationCache,
    counting: tuple[Counting, HTTPPool],
) -> None:
    transport, pool = counting
    repository = "it-dest/twice"
    client = RegistryClient(registry.host, pool=pool)
    push_by_hand(layout_source(layout), RegistryDestination(client, repository, tag="v1",
                                                            cache=cache))
    transport.reset()
    again = RegistryDestination(client, repository, tag="v2", cache=cache)
    how = push_by_hand(layout_source(layout), again)
    assert how == {"exists": BLOB_REFERENCES}
    assert transport.methods("/blobs/") == {"HEAD": UNIQUE_BLOBS}
    assert transport.methods("/manifests/") == {"PUT": 5}  # 3 instances, the list, the tag
    check_landed(registry, f"{repository}:v2", layout)


def test_a_push_into_another_repository_mounts_every_blob(
    registry: RegistryServer, layout: Path, cache: BlobLocationCache,
    counting: tuple[Counting, HTTPPool],
) -> None:
    transport, pool = counting
    client = RegistryClient(registry.host, pool=pool)
    push_by_hand(layout_source(layout),
                 RegistryDestination(client, "it-dest/mount-from", tag="v1", cache=cache))
    transport.reset()
    elsewhere = RegistryDestination(client, "it-dest/mount-into", tag="v1", cache=cache)
    how = push_by_hand(layout_source(layout), elsewhere)
    assert how == {"mounted": UNIQUE_BLOBS, "exists": BLOB_REFERENCES - UNIQUE_BLOBS}
    uploads = [r for r in transport.requests if "/blobs/uploads/" in r.url.path]
    assert [r.method for r in uploads] == ["POST"] * UNIQUE_BLOBS
    assert {r.url.params["from"] for r in uploads} == {"it-dest/mount-from"}
    manifests = sum(len(r.content) for r in transport.requests if "/manifests/" in r.url.path)
    assert transport.body_bytes == manifests  # zero blob bytes uploaded
    check_landed(registry, "it-dest/mount-into:v1", layout)


def test_a_stale_cache_entry_costs_no_request_of_its_own(
    registry: RegistryServer, cache: BlobLocationCache, counting: tuple[Counting, HTTPPool],
) -> None:
    transport, pool = counting
    data = b"a blob nobody has\n" * 100
    descriptor = Descriptor("application/octet-stream", Digest.of(data), len(data))
    cache.record(registry.host, "it-dest/never-had-it", descriptor.digest)
    client = RegistryClient(registry.host, pool=pool)
    destination = RegistryDestination(client, "it-dest/stale", tag="v1", cache=cache)
    assert destination.reuse_blob(descriptor) is None
    # distribution answered the mount with a new upload (202), kept for the upload
    assert transport.methods("/blobs/uploads/") == {"POST": 1}
    written = destination.put_blob(_Reader(data), media_type=descriptor.media_type,
                                   digest=descriptor.digest, size=descriptor.size)
    assert written == descriptor
    assert transport.methods("/blobs/uploads/") == {"POST": 1, "PUT": 1}
    destination.close()
    uploads = registry.repository_dir("it-dest/stale") / "_uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_token_auth_alice_pushes_and_bob_is_denied_before_any_bytes(
    token_registry: RegistryServer, layout: Path, cache: BlobLocationCache,
    counting: tuple[Counting, HTTPPool],
) -> None:
    transport, pool = counting
    alice = RegistryClient(token_registry.host, credentials=Credentials(*ALICE), pool=pool)
    push_by_hand(layout_source(layout),
                 RegistryDestination(alice, "private/it-dest", tag="v1", cache=cache))
    check_landed(token_registry, "private/it-dest:v1", layout,
                 RegistryOptions(credentials=Credentials(*ALICE)), creds=ALICE)

    # bob may pull public/*, nothing else: his HEADs work, the mounts from alice's private
    # repository (the cache offers it) and the upload are refused before a byte is sent
    bob = RegistryClient(token_registry.host, credentials=Credentials(*BOB), pool=pool)
    transport.reset()
    with pytest.raises(AccessDenied) as denied:
        push_by_hand(layout_source(layout),
                     RegistryDestination(bob, "public/it-dest-bob", tag="v1", cache=cache))
    assert "denied" in str(denied.value)
    blob_requests = [r for r in transport.requests if "/blobs/" in r.url.path]
    assert {r.method for r in blob_requests} <= {"HEAD", "POST"}
    assert transport.body_bytes == 0

    transport.reset()
    with pytest.raises(AccessDenied):
        push_by_hand(layout_source(layout),
                     RegistryDestination(bob, "private/it-dest", tag="bob", cache=cache))
    assert transport.body_bytes == 0


def copy_with_nothing_remembered(
    client: RegistryClient, layout: Path, origin: str, target: str, tmp_path: Path,
    transport: Counting,
) -> int:
    """Push the layout's image to ``origin`` by hand, then copy it to ``target`` on the
    same registry with an empty blob-location cache (the requests of that copy alone in
    ``transport``); how many blobs were mounted."""
    push_by_hand(layout_source(layout),
                 RegistryDestination(client, origin, tag="v1", cache=BlobLocationCache(None)))
    fresh = BlobLocationCache(tmp_path / "fresh.sqlite")
    try:
        transport.reset()
        source = RegistryImageSource(client, origin, "v1", cache=fresh)
        destination = RegistryDestination(client, target, tag="v1", cache=fresh)
        plan = plan_copy(source, destination, CopyOptions(multi_arch="all"))
        seen: list[object] = []
        execute(plan, source, destination, events=seen.append)
    finally:
        fresh.close()
    return sum(1 for e in seen if isinstance(e, BlobSkipped) and e.how == "mounted")


def test_token_auth_a_copy_between_repositories_mounts_with_one_scope_per_parameter(
    token_registry: RegistryServer, token_server: TokenServer, layout: Path, tmp_path: Path,
    counting: tuple[Counting, HTTPPool],
) -> None:
    """distribution wants pull access to the repository mounted from as well: its
    challenge names both scopes, space-separated, and the token spec asks for them as
    one ``scope`` parameter each (the test token server refuses the joined form)."""
    transport, pool = counting
    alice = RegistryClient(token_registry.host, credentials=Credentials(*ALICE), pool=pool)
    token_server.clear_log()
    mounted = copy_with_nothing_remembered(alice, layout, "private/mount-origin",
                                           "private/mount-copy", tmp_path, transport)
    assert mounted == UNIQUE_BLOBS
    assert transport.body_bytes == sum(
        len(r.content) for r in transport.requests if "/manifests/" in r.url.path
    )  # not a blob byte uploaded
    asked = [r for r in token_server.requests if r.params.get("scope")]
    assert all(r.status == 200 for r in asked)
    assert any(
        set(r.params["scope"]) == {"repository:private/mount-copy:pull,push",
                                   "repository:private/mount-origin:pull"}
        for r in asked
    )
    check_landed(token_registry, "private/mount-copy:v1", layout,
                 RegistryOptions(credentials=Credentials(*ALICE)), creds=ALICE)


def test_a_mount_refused_for_lack_of_access_is_not_asked_again(
    make_token_server: Any, make_registry: Any, layout: Path,
    cache: BlobLocationCache, counting: tuple[Counting, HTTPPool],
) -> None:
    """bob may push team-b but not read team-a, where the cache says the blobs are: the
    first refused mount settles it, and the other blobs are uploaded without asking (each
    refusal costs the token server two requests)."""
    transport, pool = counting
    tokens = make_token_server(acl={"alice": {"*": ["*"]}, "bob": {"team-b/*": ["*"]}})
    server = make_registry(token_server=tokens)
    alice = RegistryClient(server.host, credentials=Credentials(*ALICE), pool=pool)
    push_by_hand(layout_source(layout), RegistryDestination(alice, "team-a/app", tag="v1",
                                                            cache=cache))
    bob = RegistryClient(server.host, credentials=Credentials(*BOB), pool=pool)
    transport.reset()
    how = push_by_hand(layout_source(layout),
                       RegistryDestination(bob, "team-b/app", tag="v1", cache=cache))
    assert how == {"put": UNIQUE_BLOBS, "exists": BLOB_REFERENCES - UNIQUE_BLOBS}
    mounts = {str(r.url) for r in transport.requests if "mount" in r.url.params}
    assert len(mounts) == 1, mounts  # (sent twice: the second time with a new token)
    check_landed(server, "team-b/app:v1", layout,
                 RegistryOptions(credentials=Credentials(*ALICE)), creds=ALICE)


def test_a_push_check_cancels_its_upload_with_the_push_token_alone(
    make_token_server: Any, make_registry: Any, counting: tuple[Counting, HTTPPool],
) -> None:
    """Cancelling an upload session is challenged for ``delete``, which a pusher rarely
    has: the cancel is sent once with the push token, and no delete token is asked for."""
    transport, pool = counting
    tokens = make_token_server(acl={"bob": {"team-b/*": ["pull", "push"]}})
    server = make_registry(token_server=tokens)
    bob = RegistryClient(server.host, credentials=Credentials(*BOB), pool=pool)
    bob.check_push("team-b/app")
    bob.drop_spare_upload("team-b/app")  # no upload took the session the check opened
    scopes = [scope for r in tokens.requests for scope in r.params.get("scope", [])]
    assert scopes == ["repository:team-b/app:pull,push"]
    assert [r.method for r in transport.requests if "/blobs/uploads/" in r.url.path] == [
        "POST", "DELETE"]


def test_a_push_check_hands_its_upload_session_to_the_first_upload(
    registry: RegistryServer, counting: tuple[Counting, HTTPPool],
) -> None:
    """The check costs no request of its own, and leaves no cancelled session on the
    registry (distribution 2.8 keeps a cancelled one's hash state)."""
    transport, pool = counting
    client = RegistryClient(registry.host, pool=pool)
    client.check_push("it-dest/spare")
    blob = b"the first blob takes the checked session"
    client.upload_blob("it-dest/spare", io.BytesIO(blob), Digest.of(blob), len(blob))
    client.drop_spare_upload("it-dest/spare")  # nothing left to drop
    assert [r.method for r in transport.requests if "/blobs/uploads/" in r.url.path] == [
        "POST", "PUT"]
    uploads = registry.repository_dir("it-dest/spare") / "_uploads"
    assert not uploads.exists() or not any(uploads.iterdir())


def test_a_kept_upload_session_that_is_gone_or_old_gives_way_to_a_new_one(
    registry: RegistryServer, counting: tuple[Counting, HTTPPool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A copy that waited (in the window's queue), or a registry restarted with another
    secret, may find the checked session gone: that upload is worth another attempt,
    which opens its own; a session older than a minute is not used at all."""
    from spyglass.core.errors import ConnectionFailed
    from spyglass.core.retry import worth_retrying
    from spyglass.core.transports.registry import push as push_module

    transport, pool = counting
    client = RegistryClient(registry.host, pool=pool)
    blob = b"a blob whose checked session was dropped"
    client.check_push("it-dest/gone")
    spare = client._spare_uploads["it-dest/gone"][0].session
    with registry.client() as http:
        assert http.delete(spare.location).status_code == 204  # the registry drops it
    with pytest.raises(ConnectionFailed) as gone:
        client.upload_blob("it-dest/gone", io.BytesIO(blob), Digest.of(blob), len(blob))
    assert worth_retrying(gone.value)
    assert "the upload session the registry opened for it was gone" in str(gone.value)
    assert client.upload_blob("it-dest/gone", io.BytesIO(blob), Digest.of(blob),
                              len(blob)) == (Digest.of(blob), len(blob))
    # an old one is cancelled, not used
    monkeypatch.setattr(push_module, "SPARE_UPLOAD_AGE", 0.0)
    client.check_push("it-dest/old")
    transport.reset()
    other = b"a blob after a minute"
    client.upload_blob("it-dest/old", io.BytesIO(other), Digest.of(other), len(other))
    assert [r.method for r in transport.requests if "/blobs/uploads/" in r.url.path] == [
        "DELETE", "POST", "PUT"]


def test_tls_registry(tls_registry: RegistryServer, layout: Path) -> None:
    options = RegistryOptions(cert_dir=tls_registry.cert_dir)
    reference = parse_docker_reference(f"{tls_registry.host}/it-dest/tls:v1")
    destination = open_registry_destination(reference, options)
    assert destination.description == f"docker://{tls_registry.host}/it-dest/tls:v1"
    push_by_hand(layout_source(layout), destination)
    check_landed(tls_registry, "it-dest/tls:v1", layout, options)


def test_by_digest_names_need_no_tag(registry: RegistryServer, layout: Path,
                                     cache: BlobLocationCache) -> None:
    top_raw, _ = layout_source(layout).get_manifest()
    digest = Digest.of(top_raw)
    reference = parse_docker_reference(f"{registry.host}/it-dest/by-digest@{digest}")
    destination = open_registry_destination(reference)
    assert destination.digest == digest and destination.tag is None
    push_by_hand(layout_source(layout), destination)
    client = RegistryClient(registry.host)
    assert client.head_manifest("it-dest/by-digest", str(digest)).digest == digest
    # no tag was written; distribution 2.8 has no tag list at all for such a repository
    with pytest.raises(RepositoryNotFound):
        client.tags_of("it-dest/by-digest")


def test_the_blob_cache_lands_under_xdg_cache_home(registry: RegistryServer,
                                                   layout: Path) -> None:
    old = set_default_cache(None)  # found again from the environment
    try:
        reference = parse_docker_reference(f"{registry.host}/it-dest/default-cache:v1")
        push_by_hand(layout_source(layout), open_registry_destination(reference))
        expected = Path(os.environ["XDG_CACHE_HOME"]) / "spyglass" / "blob-locations.sqlite"
        assert default_cache().path == expected and expected.is_file()
        index = parse_manifest(layout_source(layout).get_manifest()[0])
        assert isinstance(index, ImageIndex)
        config = _config_of(layout, index.manifests[0].digest)
        assert "it-dest/default-cache" in default_cache().candidates(registry.host, config)
    finally:
        cache = set_default_cache(old)
        if cache is not None:
            cache.close()


def test_reading_from_a_registry_records_blob_locations(
    registry: RegistryServer, layout: Path, tmp_path: Path,
) -> None:
    client = RegistryClient(registry.host)
    push_by_hand(layout_source(layout),
                 RegistryDestination(client, "it-dest/read-me", tag="v1",
                                     cache=BlobLocationCache(None)))
    reads = BlobLocationCache(tmp_path / "reads.sqlite")
    source = RegistryImageSource(client, "it-dest/read-me", "v1", cache=reads)
    image = load_image(source, platform=Platform.parse("linux/arm/v7"))
    assert isinstance(image.manifest, ImageManifest)
    layer = image.layers[0]
    with source.open_blob(layer) as reader:
        reader.read()
    assert reads.candidates(registry.host, layer.digest) == ["it-dest/read-me"]
    assert reads.candidates(registry.host, image.manifest.config.digest) == ["it-dest/read-me"]
    reads.close()


def test_a_copy_between_repositories_of_a_registry_mounts_from_its_source(
    registry: RegistryServer, layout: Path, tmp_path: Path,
    counting: tuple[Counting, HTTPPool],
) -> None:
    """With nothing remembered yet, the source repository itself is where every blob
    mounts from: reading the manifests notes their blobs before any is asked for."""
    transport, pool = counting
    client = RegistryClient(registry.host, pool=pool)
    mounted = copy_with_nothing_remembered(client, layout, "it-dest/origin", "it-dest/copy",
                                           tmp_path, transport)
    assert mounted == UNIQUE_BLOBS
    uploads = [r for r in transport.requests if "/blobs/uploads/" in r.url.path]
    assert {r.url.params["from"] for r in uploads} == {"it-dest/origin"}
    assert not [r for r in transport.requests if r.method in ("PATCH", "PUT")
                and "/blobs/" in r.url.path]
    check_landed(registry, "it-dest/copy:v1", layout)


def test_a_mismatch_stores_no_blob(registry: RegistryServer) -> None:
    client = RegistryClient(registry.host)
    data = os.urandom(3 * 1024 * 1024)
    wrong = Digest.of(b"something else")

    # chunked: the check fails after the last PATCH, before the PUT; the DELETE that follows
    # goes to the Location the last PATCH named, and ends the session
    with pytest.raises(DigestMismatch):
        client.upload_blob("it-dest/mismatch-chunked", _Reader(data), wrong, None,
                           chunk_size=1024 * 1024)
    assert not _leftover_uploads(registry, "it-dest/mismatch-chunked")

    # monolithic: the PUT's body breaks off before its last piece. distribution 2.8 keeps
    # what it received in the session, so the session's offset no longer matches the _state
    # of the only Location we have, and it refuses the DELETE (404 BLOB_UPLOAD_INVALID,
    # "upload resumed at wrong offset"): the partial session stays until the registry's
    # upload purging. Nothing is committed either way.
    with pytest.raises(DigestMismatch):
        client.upload_blob("it-dest/mismatch-whole", _Reader(data), wrong, len(data))
    for session in _leftover_uploads(registry, "it-dest/mismatch-whole"):
        assert (session / "data").stat().st_size < len(data)

    # streamed (more than the first piece): the PATCH's body breaks off before its end,
    # so no PUT follows
    longer = os.urandom(UPLOAD_CHUNK_SIZE + 1024 * 1024)
    with pytest.raises(DigestMismatch):
        client.upload_blob("it-dest/mismatch-streamed", _Reader(longer), wrong, None)
    assert client.blob_exists("it-dest/mismatch-streamed", Digest.of(longer)) is None

    for repository in (
        "it-dest/mismatch-chunked", "it-dest/mismatch-whole", "it-dest/mismatch-streamed"
    ):
        assert client.blob_exists(repository, Digest.of(data)) is None
        assert client.blob_exists(repository, wrong) is None
    assert not registry.blob_path(str(Digest.of(data))).exists()
    assert not registry.blob_path(str(wrong)).exists()


def test_memory_does_not_grow_with_the_blob(registry: RegistryServer) -> None:
    client = RegistryClient(registry.host)
    size = 96 * 1024 * 1024
    hasher = hashlib.sha256()
    generated = _Generated(size)
    while piece := generated.read(3 * 1000 * 1000):  # other read sizes, the same bytes
        hasher.update(piece)
    digest = Digest("sha256", hasher.hexdigest())

    tracemalloc.start()
    try:
        for known in (True, False):
            tracemalloc.reset_peak()
            got = client.upload_blob(
                "it-dest/big", _Generated(size), digest if known else None,
                size if known else None,
            )
            assert got == (digest, size)
            _, peak = tracemalloc.get_traced_memory()
            assert peak < 16 * 1024 * 1024, f"known={known}: peak {peak} bytes"
    finally:
        tracemalloc.stop()
    assert client.blob_exists("it-dest/big", digest) == size


# --------------------------------------------------------------------------- helpers


class _Reader:
    """A plain binary reader over bytes (no seek, no len: what a network stream offers)."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0

    def read(self, n: int = -1, /) -> bytes:
        end = len(self._data) if n < 0 else self._at + n
        piece = bytes(self._data[self._at:end])
        self._at += len(piece)
        return piece


class _Generated:
    """``size`` bytes made up as they are read (the same bytes whatever the read sizes);
    never all in memory."""

    BLOCK_SIZE = 64 * 1024
    FILLER = hashlib.sha512(b"block").digest() * (BLOCK_SIZE // 64)

    def __init__(self, size: int) -> None:
        self._size = size
        self._at = 0

    def _block(self, number: int) -> bytes:
        return number.to_bytes(8, "big") + self.FILLER[8:]

    def read(self, n: int = -1, /) -> bytes:
        end = self._size if n < 0 else min(self._size, self._at + n)
        parts = []
        at = self._at
        while at < end:
            number, offset = divmod(at, self.BLOCK_SIZE)
            piece = self._block(number)[offset:offset + end - at]
            parts.append(piece)
            at += len(piece)
        self._at = end
        return b"".join(parts)


def _leftover_uploads(server: RegistryServer, repository: str) -> list[Path]:
    """The upload sessions of ``repository`` still alive in the registry's storage.

    A live session has a ``startedat`` file. A cancelled one may leave a folder with
    just ``hashstates/``: distribution 2.8 closes the upload after cancelling it, and
    closing stores the hash state again. The session is gone all the same (its
    Location answers 404); the registry's upload purging removes the folder.
    """
    uploads = server.repository_dir(repository) / "_uploads"
    if not uploads.is_dir():
        return []
    return [session for session in uploads.iterdir() if (session / "startedat").exists()]


def _config_of(layout_path: Path, manifest_digest: Digest) -> Digest:
    raw = (layout_path / "blobs" / "sha256" / manifest_digest.hex).read_bytes()
    return Digest.parse(json.loads(raw)["config"]["digest"])


def test_requests_without_a_body_keep_their_connection(
    registry: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HEADs and the upload steps (answers with no body, closed unread) hand their
    connection back to the pool: one thread's pushes go over one connection instead
    of a new one (a TLS handshake on HTTPS) per request."""
    opened = connections_opened(monkeypatch)
    pool = HTTPPool()
    try:
        client = RegistryClient(registry.host, pool=pool)
        client.ping()
        before = len(opened)
        for number in range(5):
            data = os.urandom(1000 + number)
            digest = Digest.of(data)
            assert client.blob_exists("it-dest/keep-alive", digest) is None
            client.upload_blob("it-dest/keep-alive", _Reader(data), digest, len(data))
            assert client.blob_exists("it-dest/keep-alive", digest) == len(data)
        assert len(opened) - before <= 1, opened  # 20 requests
    finally:
        pool.close()


def test_check_writable_leaves_no_upload_behind_and_says_the_refusal(
    auth_registry: RegistryServer, registry: RegistryServer,
) -> None:
    """An upload session started, kept for the first blob, and cancelled when the
    destination closes without one: nothing left on the registry; without credentials,
    the refusal a push would meet."""
    client = RegistryClient(registry.host)
    checked = RegistryDestination(client, "it-dest/checked", tag="v1",
                                  cache=BlobLocationCache(None))
    checked.check_writable()
    assert _leftover_uploads(registry, "it-dest/checked")  # kept for the first blob
    checked.close()
    assert not _leftover_uploads(registry, "it-dest/checked")
    anonymous = RegistryClient(auth_registry.host)
    with pytest.raises(AuthenticationFailed, match="wants valid credentials"):
        RegistryDestination(anonymous, "it-dest/checked", tag="v1",
                            cache=BlobLocationCache(None)).check_writable()
    with pytest.raises(AuthenticationFailed, match=r"^Checking that .* wants valid cred"):
        RegistryDestination(anonymous, "it-dest/checked", tag="v1",
                            cache=BlobLocationCache(None)).check_writable(
                                held=Digest.of(b"a config"))
    alice = RegistryClient(auth_registry.host, credentials=Credentials(*ALICE))
    checked = RegistryDestination(alice, "it-dest/checked", tag="v1",
                                  cache=BlobLocationCache(None))
    checked.check_writable()
    checked.abort()  # a copy stopped before its first blob
    assert not _leftover_uploads(auth_registry, "it-dest/checked")


def test_copying_what_the_registry_holds_opens_no_upload_session(
    make_token_server: Any, make_registry: Any, auth_registry: RegistryServer, layout: Path,
) -> None:
    """A copy whose blobs are all there already is checked by mounting its config onto
    itself: no upload session is opened, so none is left in the registry's storage
    (distribution keeps a cancelled one's files, and refuses the cancel itself under
    token authentication, where it is challenged for ``delete``)."""
    tokens = make_token_server(acl={"bob": {"team-b/*": ["pull", "push"]}})
    for server, creds in ((make_registry(token_server=tokens), BOB), (auth_registry, ALICE)):
        options = RegistryOptions(credentials=Credentials(*creds))
        reference = parse_docker_reference(f"{server.host}/team-b/held:v1")
        uploads = server.repository_dir("team-b/held") / "_uploads"
        for round_number in range(2):
            # (the first copy's blobs may come by mounts from other tests' repositories,
            # and leave its check's session unused: only the second is looked at)
            first = set(uploads.iterdir()) if round_number and uploads.exists() else set()
            source = layout_source(layout)
            destination = open_registry_destination(reference, options)
            try:
                plan = plan_copy(source, destination, CopyOptions(multi_arch="all"))
                assert plan.check_blob is not None
                destination.check_writable(held=plan.check_blob)
                execute(plan, source, destination, CopyOptions(multi_arch="all"))
            finally:
                destination.close()
                source.close()
        assert not uploads.exists() or set(uploads.iterdir()) == first
        check_landed(server, "team-b/held:v1", layout, options, creds=creds)
    forget_clients()


def test_a_push_check_with_a_held_blob_asks_one_token_and_opens_no_session(
    make_token_server: Any, make_registry: Any, counting: tuple[Counting, HTTPPool],
) -> None:
    """The HEAD that finds the blob asks for the push token the mount needs next; a
    blob the repository lacks is checked with an upload session, kept as before; an
    account without push access meets the refusal in the check's words."""
    transport, pool = counting
    tokens = make_token_server(acl={"bob": {"team-b/*": ["pull", "push"]},
                                    "alice": {"team-b/*": ["pull"]}})
    server = make_registry(token_server=tokens)
    bob = RegistryClient(server.host, credentials=Credentials(*BOB), pool=pool)
    blob = b"a config the repository has"
    bob.upload_blob("team-b/app", io.BytesIO(blob), Digest.of(blob), len(blob))
    asked = len(tokens.requests)
    transport.reset()
    bob = RegistryClient(server.host, credentials=Credentials(*BOB), pool=pool)
    bob.check_push("team-b/app", held=Digest.of(blob))
    assert [(r.method, "mount" in r.url.params) for r in transport.requests
            if "/blobs/" in r.url.path and r.headers.get("authorization")] == [
        ("HEAD", False), ("POST", True)]
    assert [s for r in tokens.requests[asked:] for s in r.params.get("scope", [])] == [
        "repository:team-b/app:pull,push"]
    assert not bob._spare_uploads
    transport.reset()
    bob.check_push("team-b/app", held=Digest.of(b"a blob it lacks"))
    assert "team-b/app" in bob._spare_uploads
    bob.drop_spare_upload("team-b/app")
    alice = RegistryClient(server.host, credentials=Credentials(*ALICE), pool=pool)
    with pytest.raises(AccessDenied, match="Checking that"):
        alice.check_push("team-b/app", held=Digest.of(blob))


def test_a_config_the_push_check_found_is_not_asked_about_again(
    registry: RegistryServer, counting: tuple[Counting, HTTPPool], tmp_path: Path,
) -> None:
    """The check HEADs the config and mounts it onto itself; the copy's own look at the
    config then HEADed it once more (a request per image in every copy again)."""
    transport, pool = counting
    client = RegistryClient(registry.host, pool=pool)
    blob = b"a config the repository has"
    client.upload_blob("it-dest/checked", io.BytesIO(blob), Digest.of(blob), len(blob))
    config = Descriptor("application/vnd.oci.image.config.v1+json", Digest.of(blob), len(blob))
    destination = RegistryDestination(client, "it-dest/checked", tag="v1",
                                      cache=BlobLocationCache(tmp_path / "cache.sqlite"))
    destination.check_writable(held=config.digest)
    transport.reset()
    assert destination.reuse_blob(config) == "exists"
    assert transport.requests == []


def test_a_look_at_a_recompression_done_before_claims_nothing(
    registry: RegistryServer, tmp_path: Path,
) -> None:
    """A copy looks for what a layer became when it was recompressed before; that look
    claimed the blob for the copy as if it sent it next, but the copy then sends the
    bytes it makes without a digest, so the claim held until the whole copy ended: two
    copies each holding one such layer the other needed waited for each other for ever
    (a sync of uncompressed dir: images into a second registry)."""
    client = RegistryClient(registry.host)
    cache = BlobLocationCache(tmp_path / "cache.sqlite")
    made = Descriptor("application/vnd.oci.image.layer.v1.tar+gzip",
                      Digest.of(b"what the layer became"), 21)
    first = RegistryDestination(client, "it-dest/first", tag="v1", cache=cache)
    second = RegistryDestination(client, "it-dest/second", tag="v1", cache=cache)
    try:
        assert first.reuse_blob(made, sending=False) is None  # a look, no more
        answers: list[str | None] = []
        asking = threading.Thread(target=lambda: answers.append(second.reuse_blob(made)))
        asking.start()
        asking.join(5)
        assert not asking.is_alive(), "the second copy waited for a blob nobody sends"
        assert answers == [None]  # it sends it itself
    finally:
        first.close()
        second.close()


def test_a_copy_waiting_for_another_copy_s_upload_says_so_and_holds_no_slot(
    registry: RegistryServer, layout: Path, tmp_path: Path,
) -> None:
    """A copy whose blobs another copy of the process is sending to the same registry
    waits for those uploads, to mount the blobs after. It said nothing while it waited
    (the window took it for a stalled copy and advised cancelling it), and each waiting
    transfer held a slot of the window's, idle, for as long as the other upload took."""
    client = RegistryClient(registry.host)
    cache = BlobLocationCache(tmp_path / "cache.sqlite")
    first = RegistryDestination(client, "it-dest/waits-first", tag="v1", cache=cache)
    second = RegistryDestination(client, "it-dest/waits-second", tag="v1", cache=cache)
    slots = BlobSlots(4)
    share = slots.for_copy()
    options = CopyOptions(multi_arch="all", blob_slots=share)
    seen: list[object] = []
    ended: list[BaseException] = []
    try:
        plan = plan_copy(layout_source(layout), second, options)
        digests = {task.source.digest for task in plan.blobs}
        for digest in digests:  # the first copy is about to send them all
            assert UPLOADS_UNDER_WAY.claim((client.host, digest), first) is None

        def run() -> None:
            try:
                execute(plan, layout_source(layout), second, options, events=seen.append)
            except BaseException as exc:  # (the test looks at it)
                ended.append(exc)

        waiting = threading.Thread(target=run)
        waiting.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (
                share.held == 0 and any(isinstance(e, BlobWaitingForCopy) for e in seen)):
            time.sleep(0.01)
        said = [e for e in seen if isinstance(e, BlobWaitingForCopy)]
        assert said and {e.host for e in said} == {client.host}, seen
        assert share.held == 0 and slots.held == 0  # none kept while the other sends
        execute(plan_copy(layout_source(layout), first, CopyOptions(multi_arch="all")),
                layout_source(layout), first)  # the other copy sends them
        waiting.join(10)
        assert not waiting.is_alive() and ended == []
        for digest in digests:
            told = [e for e in seen if getattr(e, "digest", None) == digest]
            assert [(type(e).__name__, getattr(e, "host", getattr(e, "how", None)))
                    for e in told] in (
                [("BlobSkipped", "mounted")],  # (it looked after the other had sent it)
                [("BlobWaitingForCopy", client.host), ("BlobWaitingForCopy", None),
                 ("BlobSkipped", "mounted")]), told
        check_landed(registry, "it-dest/waits-second:v1", layout)
    finally:
        share.close()
        first.close()
        second.close()
        cache.close()


def test_a_docker_manifest_without_its_media_type_is_refused_before_any_upload(
        registry: RegistryServer, tmp_path: Path) -> None:
    """distribution answers MANIFEST_INVALID to a Docker schema 2 manifest that declares
    no mediaType: the copy uploaded every blob first, then said only that; it now says
    why before anything moves, and --format oci (which writes one) copies it."""
    import gzip

    from tests.integration.test_copy_roundtrip import spyglass

    layer = gzip.compress(b"\0" * 1024, mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
        "type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(b"\0" * 1024).hexdigest()]}
    }).encode()
    folder = tmp_path / "nomediatype"
    folder.mkdir()
    (folder / "version").write_text("Directory Transport Version: 1.1\n")
    described = []
    for blob, kind in ((config, "application/vnd.docker.container.image.v1+json"),
                       (layer, "application/vnd.docker.image.rootfs.diff.tar.gzip")):
        digest = hashlib.sha256(blob).hexdigest()
        (folder / digest).write_bytes(blob)
        described.append({"mediaType": kind, "size": len(blob), "digest": f"sha256:{digest}"})
    (folder / "manifest.json").write_text(json.dumps(
        {"schemaVersion": 2, "config": described[0], "layers": described[1:]}))
    target = f"docker://{registry.host}/nomediatype/app:v1"
    refused = spyglass("copy", "--dest-tls-verify=false", f"dir:{folder}", target)
    assert refused.returncode == 1
    assert "declares no mediaType" in refused.stderr and "--format oci" in refused.stderr
    assert "Traceback" not in refused.stderr
    for blob in described:  # nothing was uploaded
        assert httpx.head(f"http://{registry.host}/v2/nomediatype/app/blobs/"
                          f"{blob['digest']}").status_code == 404
    done = spyglass("copy", "--dest-tls-verify=false", "--format", "oci", f"dir:{folder}",
                    target)
    assert done.returncode == 0, done.stderr
