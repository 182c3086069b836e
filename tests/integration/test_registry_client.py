"""The registry transport against real registry servers: our client, not skopeo, under test.

Every server here is distribution 2.8 (Debian's ``docker-registry``) on
loopback, started by the fixtures of ``conftest.py``: anonymous, htpasswd
Basic auth, token auth (the test token server, whose log shows every token
the client asks for), and TLS with a test CA. Images get there by skopeo
(``push_image``, once per module) or by ``seed_tags``/``seed_repos``.

What is checked: reading an image list and every blob of every platform,
verified; each auth mode with no, wrong and right credentials; token reuse,
identity (refresh) tokens over the OAuth2 POST form and the GET fallback,
expired tokens renewed; TLS trust from ``cert_dir``, ``certs.d`` and
``tls_verify=False``; catalog paging and a 1,000-tag list; not-found errors;
a corrupted blob; a registry that goes away between pages; deletes; HEAD and
GET agreeing on digests.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from spyglass.core.cancel import CancelToken
from spyglass.core.credentials import Credentials
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    BlobNotFound,
    ConnectionFailed,
    DigestMismatch,
    ImageNotFound,
    RepositoryNotFound,
    TLSFailed,
)
from spyglass.core.image import load_image, load_manifest
from spyglass.core.manifest import Descriptor, ImageIndex, ImageManifest
from spyglass.core.platform import Platform
from spyglass.core.transports import open_source
from spyglass.core.transports.registry import RegistryClient, RegistryOptions, forget_clients
from spyglass.core.transports.registry.connections import HTTPPool
from spyglass.core.transports.registry.source import RegistryImageSource
from tests.helpers.clock import AuthClock
from tests.helpers.connections import connections_opened as track_connections
from tests.helpers.imagebuild import OCI_INDEX, OCI_MANIFEST, multi_platform_layout
from tests.helpers.registry import (
    ALICE,
    CertificateAuthority,
    RegistryServer,
    push_image,
    seed_repos,
    seed_tags,
)
from tests.helpers.tokenserver import TokenServer

pytestmark = pytest.mark.integration

PLATFORMS = ("linux/amd64", "linux/arm64/v8", "linux/arm/v7")
ALICE_CREDS = Credentials(*ALICE)
BOB_CREDS = Credentials("bob", "builder")


@pytest.fixture(autouse=True)
def _no_shared_clients() -> Iterator[None]:
    """Each test gets clients of its own: a port may come back as another test's server."""
    forget_clients()
    yield
    forget_clients()


@dataclass(frozen=True)
class Pushed:
    """An image pushed by skopeo: where, and what it was made from."""

    server: RegistryServer
    repository: str
    tag: str
    digest: str
    layout: Path

    @property
    def name(self) -> str:
        return f"docker://{self.server.host}/{self.repository}:{self.tag}"

    def layout_blob(self, digest: Digest) -> bytes:
        return (self.layout / "blobs" / digest.algorithm / digest.hex).read_bytes()


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 3-platform test image (an OCI index tagged ``latest``), built once."""
    root = tmp_path_factory.mktemp("client-layout") / "layout"
    multi_platform_layout(root)
    return root


@pytest.fixture(scope="module")
def pushed(registry: RegistryServer, layout: Path) -> Pushed:
    """The test image on the anonymous registry as ``it-client/multi:v1`` (and ``:v2``)."""
    digest = push_image(registry, layout, "latest", "it-client/multi:v1")
    push_image(registry, layout, "latest", "it-client/multi:v2")
    return Pushed(registry, "it-client/multi", "v1", digest, layout)


@pytest.fixture(scope="module")
def pushed_htpasswd(auth_registry: RegistryServer, layout: Path) -> Pushed:
    digest = push_image(auth_registry, layout, "latest", "it-client/basic:v1", creds=ALICE)
    return Pushed(auth_registry, "it-client/basic", "v1", digest, layout)


@pytest.fixture(scope="module")
def pushed_token(token_registry: RegistryServer, layout: Path) -> dict[str, Pushed]:
    """The test image on the token registry, as ``public/…`` and ``private/…``."""
    out = {}
    for kind in ("public", "private"):
        repository = f"{kind}/it-client"
        digest = push_image(token_registry, layout, "latest", f"{repository}:v1", creds=ALICE)
        out[kind] = Pushed(token_registry, repository, "v1", digest, layout)
    return out


def read_all_blobs(source: Any, platform: str) -> tuple[Any, int]:
    """Load ``platform`` of ``source`` and read its config and every layer to the end."""
    image = load_image(source, platform=Platform.parse(platform))
    assert isinstance(image.manifest, ImageManifest)
    total = 0
    for descriptor in (image.manifest.config, *image.layers):
        with source.open_blob(descriptor) as reader:
            data = reader.read()
            assert reader.verified, descriptor.digest
        assert len(data) == descriptor.size
        total += len(data)
    return image, total


def token_log_since(tokens: TokenServer, before: int) -> list[Any]:
    return tokens.requests[before:]


# --------------------------------------------------------------------------- anonymous


def test_load_the_list_choose_platforms_and_read_every_blob(pushed: Pushed) -> None:
    source = open_source(pushed.name)
    try:
        top = load_manifest(source)
        assert isinstance(top, ImageIndex)
        assert str(top.digest) == pushed.digest
        assert top.media_type == OCI_INDEX
        assert [str(d.platform) for d in top.manifests] == list(PLATFORMS)

        for platform in PLATFORMS:
            image = load_image(source, platform=Platform.parse(platform))
            assert image.instance is not None and str(image.instance.platform) == platform
            assert image.config is not None
            wanted = Platform.parse(platform)
            assert (image.config.os, image.config.architecture) == (wanted.os, wanted.architecture)
            assert image.config.labels["arch"] == wanted.architecture
            assert len(image.layers) == 3
            assert isinstance(image.manifest, ImageManifest)
            for descriptor in (image.manifest.config, *image.layers):
                with source.open_blob(descriptor) as reader:
                    data = reader.read()
                    assert reader.verified
                assert data == pushed.layout_blob(descriptor.digest)
    finally:
        source.close()


def test_open_source_with_options(pushed: Pushed) -> None:
    # --tls-verify=false on a plain-HTTP registry; loopback falls back to http anyway.
    for options in (RegistryOptions(tls_verify=False), RegistryOptions(), None):
        source = open_source(pushed.name, options)
        image = load_image(source, platform=Platform.parse("linux/arm/v7"))
        assert image.config is not None and image.config.architecture == "arm"
        assert source.description == pushed.name
        source.close()


def test_head_digests_equal_get_digests(pushed: Pushed) -> None:
    client = RegistryClient(pushed.server.host)
    by_tag = client.get_manifest(pushed.repository, pushed.tag)
    head = client.head_manifest(pushed.repository, pushed.tag)
    assert str(head.digest) == str(by_tag.digest) == pushed.digest
    assert head.media_type == by_tag.media_type == OCI_INDEX
    assert head.size == len(by_tag.raw)
    for entry in json.loads(by_tag.raw)["manifests"]:
        got = client.get_manifest(pushed.repository, entry["digest"])
        head = client.head_manifest(pushed.repository, entry["digest"])
        assert str(got.digest) == str(head.digest) == entry["digest"]
        assert head.size == len(got.raw) == entry["size"]
        assert head.media_type == got.media_type == OCI_MANIFEST
    # another tag on the same list has the same digest
    assert str(client.head_manifest(pushed.repository, "v2").digest) == pushed.digest


def test_a_head_404_that_get_belies_once_keeps_head_for_later_lookups(pushed: Pushed) -> None:
    """One manifest HEAD 404 that GET belies (a tag pushed between the two, storage not
    yet consistent) is a moment's: later lookups, plain ones above all, still HEAD (a
    GET counts against Docker Hub's pull limit). Belied again and again (older Nexus),
    HEAD is not asked any more."""
    from tests.helpers.faultproxy import Fault, FaultProxy

    with FaultProxy(pushed.server.host) as proxy:
        client = RegistryClient(proxy.address, insecure=True)
        manifests = f"/v2/{pushed.repository}/manifests/"
        proxy.add(Fault("HEAD", f"{manifests}v1$", "status", status=404))

        def asked() -> list[tuple[str, str]]:
            seen = [(s.method, s.target.removeprefix(manifests)) for s in proxy.seen
                    if s.target.startswith(manifests)]
            proxy.seen.clear()
            return seen

        for tag in ("v1", "v2"):
            head = client.head_manifest(pushed.repository, tag, confirm_missing=True)
            assert str(head.digest) == pushed.digest
        assert str(client.head_manifest(pushed.repository, "v1").digest) == pushed.digest
        assert asked() == [("HEAD", "v1"), ("GET", "v1"), ("HEAD", "v2"), ("HEAD", "v1")]

        proxy.add(Fault("HEAD", manifests, "status", status=404, count=2))
        for tag in ("v2", "v1"):  # the second and third time HEAD is belied
            client.head_manifest(pushed.repository, tag, confirm_missing=True)
        assert str(client.head_manifest(pushed.repository, "v2").digest) == pushed.digest
        assert asked() == [("HEAD", "v2"), ("GET", "v2"), ("HEAD", "v1"), ("GET", "v1"),
                           ("GET", "v2")]


# --------------------------------------------------------------------------- htpasswd


def test_htpasswd_without_wrong_and_right_credentials(pushed_htpasswd: Pushed) -> None:
    pushed = pushed_htpasswd
    host = pushed.server.host

    with pytest.raises(AuthenticationFailed) as missing:
        load_manifest(open_source(pushed.name))
    text = missing.value.on_command_line or ""
    assert f"spyglass login {host}" in text and "--creds" in text
    assert "wants valid credentials" in str(missing.value) and "--creds" not in str(missing.value)
    assert missing.value.status == 401

    wrong = RegistryOptions(credentials=Credentials("alice", "not-the-password"))
    with pytest.raises(AuthenticationFailed) as refused:
        load_manifest(open_source(pushed.name, wrong))
    assert "not-the-password" not in str(refused.value)

    right = open_source(pushed.name, RegistryOptions(credentials=ALICE_CREDS))
    image, size = read_all_blobs(right, "linux/arm/v7")
    assert image.config is not None and image.config.variant == "v7"
    assert size > 0
    client = RegistryClient(host, credentials=ALICE_CREDS)
    assert client.tags_of(pushed.repository) == ["v1"]
    assert client.auth.scheme == "basic"


# --------------------------------------------------------------------------- token auth


def test_token_anonymous_pulls_public_only(
    pushed_token: dict[str, Pushed], token_registry: RegistryServer
) -> None:
    public, private = pushed_token["public"], pushed_token["private"]
    image, _ = read_all_blobs(open_source(public.name), "linux/amd64")
    assert image.config is not None

    with pytest.raises(AuthenticationFailed) as refused:
        load_manifest(open_source(private.name))
    text = refused.value.on_command_line or ""
    assert f"spyglass login {token_registry.host}" in text, text
    with pytest.raises(AuthenticationFailed):
        RegistryClient(token_registry.host).tags_of(private.repository)


def test_token_alice_reads_private(pushed_token: dict[str, Pushed]) -> None:
    private = pushed_token["private"]
    options = RegistryOptions(credentials=ALICE_CREDS)
    image, _ = read_all_blobs(open_source(private.name, options), "linux/arm64/v8")
    assert image.config is not None and image.config.architecture == "arm64"


def test_token_bob_may_not_push_or_delete_or_read_private(
    pushed_token: dict[str, Pushed], token_registry: RegistryServer
) -> None:
    public, private = pushed_token["public"], pushed_token["private"]
    bob = RegistryClient(token_registry.host, credentials=BOB_CREDS)
    assert bob.tags_of(public.repository) == ["v1"]  # pulling public/* is allowed

    with pytest.raises(AccessDenied) as push:
        bob.send(
            "POST",
            f"/v2/{public.repository}/blobs/uploads/",
            what=f"Pushing to {public.repository}",
            ok=(202,),
        ).close()
    assert "denied access" in str(push.value)
    # which account was refused, and where its credentials came from
    assert 'the account "bob" is not allowed' in str(push.value)
    with pytest.raises(AccessDenied) as delete:
        bob.delete_manifest(public.repository, Digest.parse(public.digest))
    assert "Deleting" in str(delete.value)
    with pytest.raises(AccessDenied):
        bob.get_manifest(private.repository, private.tag)
    # nothing was deleted
    alice = RegistryClient(token_registry.host, credentials=ALICE_CREDS)
    assert str(alice.head_manifest(public.repository, public.tag).digest) == public.digest


def test_a_tag_not_found_names_the_tags_with_the_same_token(
    pushed_token: dict[str, Pushed], token_registry: RegistryServer
) -> None:
    """What the window loads (``load_registry_tag``) of a mistyped tag of a private
    repository: the tags are listed with the credentials and the pull scope the
    manifest was asked with, and named; anonymously, the refusal stays what it was."""
    from spyglass.gui.loading import load_registry_tag

    private = pushed_token["private"]
    alice = RegistryClient(token_registry.host, credentials=ALICE_CREDS)
    with pytest.raises(ImageNotFound) as missing:
        load_registry_tag(alice, private.repository, "v2", CancelToken())
    assert str(missing.value) == (
        f"Reading the manifest {token_registry.host}/{private.repository}:v2 failed: the "
        f'repository {token_registry.host}/{private.repository} has no tag "v2"; its only '
        "tag is v1.")
    with pytest.raises(AuthenticationFailed):
        load_registry_tag(RegistryClient(token_registry.host), private.repository, "v2",
                          CancelToken())


def test_token_reuse_one_token_for_many_reads(
    pushed_token: dict[str, Pushed], token_server: TokenServer, token_registry: RegistryServer
) -> None:
    private = pushed_token["private"]
    client = RegistryClient(token_registry.host, credentials=ALICE_CREDS)
    before = len(token_server.requests)
    top = client.get_manifest(private.repository, private.tag)
    for _ in range(5):
        client.head_manifest(private.repository, private.tag)
        client.get_manifest(private.repository, private.tag)
    for entry in json.loads(top.raw)["manifests"]:
        manifest = json.loads(client.get_manifest(private.repository, entry["digest"]).raw)
        for blob in (manifest["config"], *manifest["layers"]):
            stream = client.open_blob(private.repository, Digest.parse(blob["digest"]))
            assert len(stream.read()) == blob["size"]
            stream.close()
    assert client.tags_of(private.repository) == ["v1"]

    log = token_log_since(token_server, before)
    assert [(r.method, r.status, r.account, r.scopes) for r in log] == [
        ("GET", 200, "alice", (f"repository:{private.repository}:pull",))
    ]
    assert client.auth.tokens_fetched == 1


def refresh_token_for(tokens: TokenServer, creds: tuple[str, str] = ALICE) -> str:
    """A refresh (identity) token from the token server's OAuth2 password grant."""
    answer = httpx.post(
        tokens.realm,
        data={
            "grant_type": "password",
            "username": creds[0],
            "password": creds[1],
            "service": tokens.service,
            "client_id": "spyglass-tests",
            "access_type": "offline",
        },
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["refresh_token"])


def test_identity_token_uses_the_oauth2_refresh_flow(
    pushed_token: dict[str, Pushed], token_server: TokenServer, token_registry: RegistryServer
) -> None:
    private = pushed_token["private"]
    identity = Credentials("", "", identity_token=refresh_token_for(token_server))
    before = len(token_server.requests)
    source = open_source(private.name, RegistryOptions(credentials=identity))
    image, _ = read_all_blobs(source, "linux/amd64")
    assert image.config is not None

    log = token_log_since(token_server, before)
    assert [(r.method, r.grant_type, r.status, r.account) for r in log] == [
        ("POST", "refresh_token", 200, "alice")
    ]
    assert log[0].refresh_token_used and not log[0].basic_auth
    assert log[0].params["client_id"] == ["spyglass"]
    assert log[0].scopes == (f"repository:{private.repository}:pull",)


def test_token_server_without_post_falls_back_to_get(
    make_token_server: Callable[..., TokenServer],
    make_registry: Callable[..., RegistryServer],
) -> None:
    tokens = make_token_server(allow_post=False)
    server = make_registry(token_server=tokens)
    tags = seed_tags(server, "private/get-only", 2, creds=ALICE)
    offline = httpx.get(
        tokens.realm,
        params={"service": tokens.service, "offline_token": "true", "client_id": "tests"},
        auth=ALICE,
    ).json()
    credentials = Credentials(*ALICE, identity_token=offline["refresh_token"])
    tokens.clear_log()
    client = RegistryClient(server.host, credentials=credentials)
    assert sorted(client.tags_of("private/get-only")) == tags
    assert [(r.method, r.status) for r in tokens.requests] == [("POST", 404), ("GET", 200)]
    assert tokens.requests[-1].account == "alice" and tokens.requests[-1].basic_auth


def test_expired_tokens_are_renewed_transparently(
    make_token_server: Callable[..., TokenServer],
    make_registry: Callable[..., RegistryServer],
    monkeypatch: pytest.MonkeyPatch,
    auth_clock: AuthClock,
) -> None:
    tokens = make_token_server(expires_in=2)
    server = make_registry(token_server=tokens)
    tags = seed_tags(server, "private/expiring", 2, creds=ALICE)

    # (a) the token server's first token is already long expired when it arrives:
    # the registry refuses it (invalid_token), the client gets another and retries.
    real_issue = tokens.issue_token
    issued: list[str] = []

    def issue_stale_first(account: str, access: list[dict[str, Any]], **kwargs: Any) -> str:
        if not issued:
            kwargs["issued_at"] = time.time() - 3600
        token = real_issue(account, access, **kwargs)
        issued.append(token)
        return token

    monkeypatch.setattr(tokens, "issue_token", issue_stale_first)
    tokens.clear_log()
    client = RegistryClient(server.host, credentials=ALICE_CREDS)
    assert sorted(client.tags_of("private/expiring")) == tags
    assert tokens.tokens_issued == 2
    assert client.auth.tokens_fetched == 2

    # (b) a 2-second token is renewed before it runs out, without a failed request.
    auth_clock.now += 0.5
    assert sorted(client.tags_of("private/expiring")) == tags
    assert tokens.tokens_issued == 2  # still fresh: reused
    auth_clock.now += 1.0  # 1.5 s into its 2: due for renewal, not yet expired
    assert sorted(client.tags_of("private/expiring")) == tags
    assert tokens.tokens_issued == 3


def test_revoked_identity_token_asks_to_log_in_again(
    make_token_server: Callable[..., TokenServer],
    make_registry: Callable[..., RegistryServer],
    auth_clock: AuthClock,
) -> None:
    tokens = make_token_server(expires_in=2)
    server = make_registry(token_server=tokens)
    seed_tags(server, "private/revoked", 1, creds=ALICE)
    client = RegistryClient(
        server.host, credentials=Credentials("", "", identity_token=refresh_token_for(tokens))
    )
    assert client.tags_of("private/revoked") == ["tag-00000"]
    tokens.revoke_refresh_tokens()
    auth_clock.now += 1.5  # the 2-second access token is due for renewal
    with pytest.raises(AuthenticationFailed) as refused:
        client.tags_of("private/revoked")
    assert str(refused.value).endswith("(invalid_grant); enter the password again.")
    assert f"spyglass login {server.host}" in (refused.value.on_command_line or "")
    assert tokens.requests[-1].grant_type == "refresh_token"
    assert tokens.requests[-1].status == 400


# --------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_repo(tls_registry: RegistryServer) -> str:
    seed_tags(tls_registry, "it-client/tls", 2)
    return "it-client/tls"


def test_tls_untrusted_is_a_sentence(tls_registry: RegistryServer, tls_repo: str) -> None:
    with pytest.raises(TLSFailed) as failed:
        RegistryClient(tls_registry.host).tags_of(tls_repo)
    text = str(failed.value)
    assert "could not be verified (self-signed certificate in certificate chain)" in text \
        or "could not be verified (unable to get local issuer certificate)" in text, text
    assert "_ssl.c" not in text and "[SSL:" not in text  # OpenSSL's own trimmings go
    assert f"certs.d/{tls_registry.host}/ca.crt" in text
    assert "--tls-verify=false" in (failed.value.on_command_line or "")


def test_tls_untrusted_with_a_cert_dir_names_that_folder(
    tls_registry: RegistryServer, tls_repo: str, tmp_path: Path
) -> None:
    """certs.d is not read when a folder is given, so the advice names the folder given."""
    with pytest.raises(TLSFailed) as failed:
        RegistryClient(tls_registry.host, cert_dir=tmp_path).tags_of(tls_repo)
    assert f"Put its CA certificate in a *.crt file in {tmp_path}," in str(failed.value)
    assert "certs.d" not in str(failed.value)


def test_tls_trusted_with_cert_dir(tls_registry: RegistryServer, tls_repo: str) -> None:
    assert tls_registry.cert_dir is not None
    options = RegistryOptions(cert_dir=tls_registry.cert_dir)
    source = open_source(f"docker://{tls_registry.host}/{tls_repo}:tag-00001", options)
    image = load_image(source)
    assert image.config is not None and image.config.architecture == "amd64"
    client = RegistryClient(tls_registry.host, cert_dir=tls_registry.cert_dir)
    assert sorted(client.tags_of(tls_repo)) == ["tag-00000", "tag-00001"]
    assert client.ping().startswith("https://")


@pytest.fixture
def connections_opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ``HOST:PORT`` of every connection the registry clients open from here on."""
    return track_connections(monkeypatch)


def test_the_pings_connection_is_kept_for_the_listing(
    tls_registry: RegistryServer, tls_repo: str, connections_opened: list[str]
) -> None:
    """The ping's answer is read to its end, so its connection (and TLS handshake)
    serves the requests after it: one connection for a command's requests."""
    pool = HTTPPool()
    try:
        client = RegistryClient(tls_registry.host, cert_dir=tls_registry.cert_dir,
                                plain_loopback=False, pool=pool)
        assert sorted(client.tags_of(tls_repo)) == ["tag-00000", "tag-00001"]
    finally:
        pool.close()
    assert connections_opened == [tls_registry.host]


def test_the_401_pings_connection_is_kept_too(
    pushed_token: dict[str, Pushed], token_registry: RegistryServer,
    connections_opened: list[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from spyglass.core.transports.registry import endpoint

    monkeypatch.setattr(endpoint, "_PLAIN_HOSTS", set())  # (not known as plain HTTP yet)
    pool = HTTPPool()
    try:
        client = RegistryClient(token_registry.host, pool=pool)
        assert client.tags_of(pushed_token["public"].repository) == ["v1"]
    finally:
        pool.close()
    # (the first is the TLS probe a plain-HTTP registry answers; the token server's aside)
    assert [host for host in connections_opened if host == token_registry.host] == \
        [token_registry.host] * 2


def test_a_ping_whose_body_falls_short_is_not_waited_for(
    connections_opened: list[str],
) -> None:
    """A ping's answer whose Content-Length promises more than comes: its connection is
    given up after SMALL_BODY_WAIT (not kept), where reading the rest waited the ping's
    whole read timeout (20 s) before the listing could begin."""
    from spyglass.core.transports.registry.connections import SMALL_BODY_WAIT
    from tests.helpers.hanging import HangingRegistry

    with HangingRegistry({"app": ["v1"]}, short_ping=True) as server:
        pool = HTTPPool()
        try:
            client = RegistryClient(server.host, pool=pool)
            started = time.monotonic()
            assert client.tags_of("app") == ["v1"]
            took = time.monotonic() - started
        finally:
            pool.close()
    assert SMALL_BODY_WAIT <= took < SMALL_BODY_WAIT + 2
    assert connections_opened[-2:] == [server.host] * 2  # the ping's, then the listing's


def test_tls_verify_false(tls_registry: RegistryServer, tls_repo: str) -> None:
    options = RegistryOptions(tls_verify=False)
    image = load_image(open_source(f"docker://{tls_registry.host}/{tls_repo}:tag-00000", options))
    assert image.config is not None
    client = RegistryClient(tls_registry.host, insecure=True)
    assert client.ping().startswith("https://")  # still TLS, just unverified


def test_tls_trusted_through_certs_d_in_home(
    tls_registry: RegistryServer, tls_repo: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_registry.ca_path is not None
    folder = tmp_path / "home" / ".config" / "containers" / "certs.d" / tls_registry.host
    folder.mkdir(parents=True)
    shutil.copyfile(tls_registry.ca_path, folder / "ca.crt")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    source = open_source(f"docker://{tls_registry.host}/{tls_repo}:tag-00000")
    assert load_image(source).config is not None
    assert sorted(RegistryClient(tls_registry.host).tags_of(tls_repo)) == [
        "tag-00000",
        "tag-00001",
    ]


def test_a_registry_asking_for_a_client_certificate_says_so(
    registry_binary: str, test_ca: CertificateAuthority, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mutual TLS: without a client certificate the handshake's alert is the news (not the
    400 plain HTTP gets on loopback, nor advice to turn verification off); with the
    certificate in the folder, it works."""
    with RegistryServer(binary=registry_binary, tls=True, ca=test_ca,
                        client_certificates=True) as server:
        assert server.cert_dir is not None and server.client_cert_dir is not None
        seed_tags(server, "it-client/mtls", 1)
        for client in (RegistryClient(server.host, cert_dir=server.cert_dir),
                       RegistryClient(server.host, cert_dir=server.cert_dir, insecure=True)):
            with pytest.raises(TLSFailed) as failed:
                client.tags_of("it-client/mtls")
            said = str(failed.value)
            assert said.startswith(f"The registry {server.host} asks for a client "
                                   "certificate, and none was given ("), said
            assert f"Put it in {server.cert_dir} as client.cert, with its key as client.key." \
                in said
            assert "not look like a container registry" not in said
        client = RegistryClient(server.host, cert_dir=server.client_cert_dir)
        assert client.tags_of("it-client/mtls") == ["tag-00000"]
        # a certs.d folder in use is where the advice sends the CA (not another, which
        # would hide this one's client certificate)
        home = tmp_path / "home"
        folder = home / ".config" / "containers" / "certs.d" / server.host
        folder.mkdir(parents=True)
        assert server.client_cert is not None
        shutil.copyfile(server.client_cert.cert_path, folder / "client.cert")
        shutil.copyfile(server.client_cert.key_path, folder / "client.key")
        monkeypatch.setenv("HOME", str(home))
        with pytest.raises(TLSFailed) as failed:
            RegistryClient(server.host).tags_of("it-client/mtls")
        assert f"Put its CA certificate in {folder}/ca.crt" in str(failed.value)


# --------------------------------------------------------------------------- listing


@pytest.fixture(scope="module")
def catalog_registry(registry_binary: str) -> Iterator[tuple[RegistryServer, list[str]]]:
    """A registry of this module's own holding exactly 250 repositories."""
    with RegistryServer(binary=registry_binary) as server:
        yield server, seed_repos(server, 250)


def test_catalog_pages(catalog_registry: tuple[RegistryServer, list[str]]) -> None:
    server, repos = catalog_registry
    client = RegistryClient(server.host)
    pages = list(client.catalog_pages(page_size=100))
    assert [len(page) for page in pages] == [100, 100, 50]
    assert [name for page in pages for name in page] == repos


def test_registry_stopped_between_pages(
    catalog_registry: tuple[RegistryServer, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, repos = catalog_registry
    waits: list[float] = []
    monkeypatch.setattr(RegistryClient, "_sleep", staticmethod(lambda s, c: waits.append(s)))
    client = RegistryClient(server.host, retry_times=3)
    pages = client.catalog_pages(page_size=100)
    assert next(pages) == repos[:100]
    server.stop()
    try:
        with pytest.raises(ConnectionFailed) as failed:
            next(pages)
    finally:
        server.start()
    text = str(failed.value)
    assert text.startswith(f"Cannot reach the registry {server.host}: ")
    assert "refused" in text.lower() and "\n" not in text
    assert len(waits) == 3  # retried three times before giving up
    assert failed.value.attempts == 4  # what a caller retrying the whole counts against N

    again = list(client.catalog_pages(page_size=100))
    assert [name for page in again for name in page] == repos


def test_a_thousand_tags(registry: RegistryServer, repo_name: str) -> None:
    tags = seed_tags(registry, repo_name, 1000, direct=True)
    client = RegistryClient(registry.host)
    listed = client.tags_of(repo_name)
    assert len(listed) == 1000 and sorted(listed) == tags
    # distribution 2.8 ignores n on tags/list: whatever the page size, all of them
    pages = list(client.tag_pages(repo_name, page_size=100))
    assert sorted(tag for page in pages for tag in page) == tags


# --------------------------------------------------------------------------- not found


def test_not_found_errors(pushed: Pushed) -> None:
    host, repository = pushed.server.host, pushed.repository
    client = RegistryClient(host)

    # An unknown repository: a manifest in it is an image not found (distribution
    # says MANIFEST_UNKNOWN), its tag list a repository not found (NAME_UNKNOWN).
    with pytest.raises(ImageNotFound) as manifest:
        client.get_manifest("it-client/no-such-repo", "v1")
    assert "no such image" in str(manifest.value)
    with pytest.raises(ImageNotFound):
        client.head_manifest("it-client/no-such-repo", "v1")
    with pytest.raises(RepositoryNotFound) as tags:
        client.tags_of("it-client/no-such-repo")
    assert "no such repository" in str(tags.value)
    with pytest.raises(ImageNotFound):
        load_manifest(open_source(f"docker://{host}/it-client/no-such-repo:v1"))

    # An unknown tag.
    with pytest.raises(ImageNotFound) as tag:
        load_image(open_source(f"docker://{host}/{repository}:no-such-tag"))
    assert f"{host}/{repository}:no-such-tag" in str(tag.value)
    with pytest.raises(ImageNotFound):
        client.head_manifest(repository, "no-such-tag")

    # An unknown blob.
    missing = Digest.of(b"no such blob")
    with pytest.raises(BlobNotFound) as blob:
        client.open_blob(repository, missing)
    assert str(missing) in str(blob.value)
    source = open_source(pushed.name)
    with pytest.raises(BlobNotFound):
        source.open_blob(Descriptor("application/octet-stream", missing, 12))


def test_corrupted_blob_is_a_digest_mismatch(fresh_registry: RegistryServer) -> None:
    seed_tags(fresh_registry, "it-client/corrupt", 1)
    client = RegistryClient(fresh_registry.host)
    manifest = json.loads(client.get_manifest("it-client/corrupt", "tag-00000").raw)
    layer = Descriptor.from_json(manifest["layers"][0])
    path = fresh_registry.blob_path(str(layer.digest))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    path.write_bytes(bytes(data))

    source = RegistryImageSource(client, "it-client/corrupt", "tag-00000")
    with source.open_blob(layer) as reader:
        assert len(reader.read(10)) == 10  # no verdict before the end
        with pytest.raises(DigestMismatch) as mismatch:
            while reader.read(4096):
                pass
    assert str(layer.digest) in str(mismatch.value)
    assert not reader.verified


# --------------------------------------------------------------------------- delete


def test_delete_by_digest_and_the_tags_sharing_a_manifest(
    registry: RegistryServer, repo_name: str, layout: Path
) -> None:
    tags = seed_tags(registry, repo_name, 3)
    other_digest = push_image(registry, layout, "latest", f"{repo_name}:other")
    client = RegistryClient(registry.host)

    digest = client.head_manifest(repo_name, tags[0]).digest
    assert sorted(client.manifest_users(repo_name, digest, lists=False).tags) == tags
    assert client.manifest_users(repo_name, Digest.parse(other_digest),
                                 lists=False).tags == ["other"]

    client.delete_manifest(repo_name, digest)
    for tag in tags:
        with pytest.raises(ImageNotFound):
            client.get_manifest(repo_name, tag)
    with pytest.raises(ImageNotFound):
        client.get_manifest(repo_name, str(digest))
    assert client.tags_of(repo_name) == ["other"]
    assert str(client.get_manifest(repo_name, "other").digest) == other_digest


def test_a_list_with_a_platform_deleted_by_digest_is_loaded_with_the_others(
    registry: RegistryServer, repo_name: str, layout: Path
) -> None:
    """What the window loads (``load_registry_tag``) of a list one of whose images was
    deleted from the registry: the list, its other images, and which cannot be read."""
    from spyglass.gui.loading import load_registry_tag

    push_image(registry, layout, "latest", f"{repo_name}:all")
    client = RegistryClient(registry.host)
    index = load_manifest(RegistryImageSource(client, repo_name, "all"))
    assert isinstance(index, ImageIndex)
    gone = next(e for e in index.manifests if e.platform != Platform("linux", "amd64"))
    client.delete_manifest(repo_name, gone.digest)
    state = load_registry_tag(client, repo_name, "all", CancelToken())
    try:
        assert [s.descriptor.digest for s in state.unreadable] == [gone.digest]
        assert "has no such image" in state.unreadable[0].problem
        assert state.image is not None and state.current is not None
        assert state.current.descriptor.digest != gone.digest
        assert len(state.instances) == len(index.manifests)
    finally:
        state.source.close()


@pytest.mark.parametrize("server_name", ["registry", "tls_registry"])
def test_big_blobs_read_straight_from_the_socket(
    server_name: str, request: pytest.FixtureRequest
) -> None:
    """Bodies of 1 MiB and more are read from the socket once httpx's buffer is
    drained: every way of reading gives the exact bytes, plain HTTP and TLS, and the
    client goes on working afterwards (the connection is closed, not reused)."""
    import hashlib
    import os

    from spyglass.core.digest import VerifyingReader

    server: RegistryServer = request.getfixturevalue(server_name)
    client = (
        RegistryClient(server.host, cert_dir=server.cert_dir) if server.tls
        else RegistryClient(server.host)
    )
    data = os.urandom(3 * 1024 * 1024 + 12345)
    digest = Digest("sha256", hashlib.sha256(data).hexdigest())
    client.upload_blob("it-client/direct", io.BytesIO(data), digest, len(data))

    def by_read(size: int) -> bytes:
        with client.open_blob("it-client/direct", digest) as stream:
            parts = []
            while piece := stream.read(size):
                assert len(piece) <= size
                parts.append(piece)
            return b"".join(parts)

    def by_readinto(size: int) -> bytes:
        with client.open_blob("it-client/direct", digest) as stream:
            buffer = bytearray(size)
            parts = []
            while count := stream.readinto(buffer):
                parts.append(bytes(buffer[:count]))
            return b"".join(parts)

    def mixed() -> bytes:
        with client.open_blob("it-client/direct", digest) as stream:
            parts, buffer, turn = [], bytearray(300_000), 0
            while True:
                turn += 1
                if turn % 2:
                    piece = stream.read(777_777)
                else:
                    piece = bytes(buffer[: stream.readinto(buffer)])
                if not piece:
                    return b"".join(parts)
                parts.append(piece)

    for how in (lambda: by_read(65536), lambda: by_read(5 * 1024 * 1024),
                lambda: by_readinto(700_000), mixed):
        assert how() == data
    with client.open_blob("it-client/direct", digest) as stream:
        verified = VerifyingReader(stream, digest, len(data))
        assert verified.read(-1) == data
    assert client.blob_exists("it-client/direct", digest) == len(data)


def test_credentials_never_go_to_a_plain_http_token_server_of_a_verified_tls_registry(
    make_token_server: Callable[..., TokenServer],
    make_registry: Callable[..., RegistryServer],
) -> None:
    """A registry reached over verified TLS whose challenge names a token server on plain
    HTTP: the token server is asked anonymously (no Basic, no refresh token), which does
    for public/*; where it does not, the sentence names both and says why. With
    --tls-verify=false (insecure) the credentials go as before."""
    tokens = make_token_server()
    server = make_registry(tls=True, token_server=tokens)
    assert server.cert_dir is not None and tokens.realm.startswith("http://")
    seed_tags(server, "private/plain-realm", 1, creds=ALICE)
    refresh = refresh_token_for(tokens)
    tokens.clear_log()
    for credentials in (Credentials(*ALICE, source="command line"),
                        Credentials("", "", identity_token=refresh)):
        client = RegistryClient(server.host, credentials=credentials, cert_dir=server.cert_dir)
        with pytest.raises(RepositoryNotFound):  # asked for, anonymously: no such repository
            client.tags_of("public/none-here")
        with pytest.raises((AuthenticationFailed, AccessDenied)) as refused:
            client.tags_of("private/plain-realm")
        secret = "password" if credentials.password else "identity token"
        assert (f"The {secret} for {server.host} was not sent over plain HTTP: {server.host} "
                f"is reached over verified TLS, but names the token server {tokens.realm}, "
                "which is not https, so it was asked without credentials; the registry's "
                "administrator has to serve it over https.") in str(
                    refused.value)
        assert "refused the credentials" not in str(refused.value)
    assert tokens.requests and all(r.method == "GET" and not r.basic_auth
                                   and r.account == "" for r in tokens.requests)

    insecure = RegistryClient(server.host, credentials=Credentials(*ALICE), insecure=True)
    assert insecure.tags_of("private/plain-realm")
    assert tokens.requests[-1].basic_auth and tokens.requests[-1].account == "alice"


def test_a_token_request_sent_on_to_another_server_goes_there_without_the_password(
    make_token_server: Callable[..., TokenServer],
    make_registry: Callable[..., RegistryServer],
) -> None:
    """A token server that redirects (307) to another server: the request goes on there
    without its Basic header, as skopeo's does, so what anyone may pull is pulled; a
    refusal says the password was not sent there."""
    import http.server

    from tests.helpers.loopback_http import LoopbackServer

    tokens = make_token_server()
    server = make_registry(token_server=tokens)
    seed_tags(server, "public/redirected", 1, creds=ALICE)
    seed_tags(server, "private/redirected", 1, creds=ALICE)

    class Redirector(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(307)
            self.send_header("Location", f"{tokens.realm}?{self.path.partition('?')[2]}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    with LoopbackServer() as redirector:
        redirector.start(Redirector)
        server.extra_config = {"auth": {"token": {"realm": f"http://{redirector.address}/t"}}}
        server.restart()
        tokens.clear_log()
        client = RegistryClient(server.host, credentials=Credentials(*ALICE))
        assert client.tags_of("public/redirected")
        with pytest.raises((AuthenticationFailed, AccessDenied)) as refused:
            client.tags_of("private/redirected")
        with pytest.raises(AuthenticationFailed) as unchecked:  # login: nothing checked
            RegistryClient(server.host, credentials=Credentials(*ALICE)).check_credentials()
    assert str(unchecked.value).startswith(
        f"The credentials for {server.host} could not be checked. The password for "
        f"{server.host} was not sent there: the token server {redirector.address}")
    assert (f"The password for {server.host} was not sent there: the token server "
            f"{redirector.address} of {server.host} sent the request for a token on to "
            f"{tokens.realm} (HTTP 307), another server, which was asked without "
            "credentials, as credentials are never sent on to another server.") in str(
                refused.value), refused.value
    assert tokens.requests and not any(r.basic_auth for r in tokens.requests)
