"""What real registries do otherwise than distribution 2.8, played by a relay in front of
one (tests/helpers/faultproxy, tests/helpers/pager): manifests labelled
``application/json``, ``text/plain`` or nothing, ``Link`` headers written otherwise,
a manifest ``HEAD`` answered 404 while ``GET`` works, and so on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.faultproxy import Fault, FaultProxy
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, multi_platform_layout
from tests.helpers.pager import PagingRelay
from tests.helpers.registry import ALICE, RegistryServer, seed_repos, seed_tags
from tests.helpers.storage import ObjectStorage

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
ALWAYS = 1_000_000
"""A fault's count that lasts the whole test."""


def spyglass(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spyglass", *args], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}, stdin=subprocess.DEVNULL,
        timeout=120, check=False)


def ok(*args: str) -> subprocess.CompletedProcess[str]:
    done = spyglass(*args)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[FaultProxy]:
    with FaultProxy(registry.host) as fault_proxy:
        yield fault_proxy


@pytest.fixture(scope="module")
def multi_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quirks") / "layout"
    multi_platform_layout(root)
    return root


# --------------------------------------------------------------------------- manifest types


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""],
                         ids=["json", "text", "none"])
def test_delete_refuses_to_break_a_list_whose_tag_is_labelled_otherwise(
        registry: RegistryServer, proxy: FaultProxy, multi_layout: Path, repo_name: str,
        content_type: str) -> None:
    """Pulp answers a manifest HEAD without Content-Type, proxies label it generically:
    the list's tag was taken for no list, the guard found nothing, and the delete broke
    the list. A tag of any type but a single image's is read now."""
    base = f"docker://{registry.host}/{repo_name}"
    ok("copy", "-q", "--all", f"oci:{multi_layout}:latest", f"{base}:list")
    ok("copy", "-q", "--platform", "linux/arm64", f"oci:{multi_layout}:latest", f"{base}:arm")
    proxy.add(Fault("HEAD", "/manifests/", "answer_edited", count=ALWAYS,
                    headers={"Content-Type": content_type}))
    through = f"docker://{proxy.address}/{repo_name}"
    refusal = spyglass("delete", f"{through}:arm")
    assert refusal.returncode == 1, refusal.stderr
    assert f"The list {proxy.address}/{repo_name}:list holds" in refusal.stderr
    assert "Nothing was deleted" in refusal.stderr
    assert any(seen.outcome == "answer_edited" for seen in proxy.seen)
    ok("inspect", "--raw", f"{base}:arm")  # still there, and so the list whole


# --------------------------------------------------------------------------- Link headers

LINK_FORMS = {
    "caps": '<{target}>; REL="Next"',  # RFC 8288: names and relation types, any case
    "unquoted": "<{target}> ;Rel = NEXT",
    "several": '<{target}>; rel="next last"; type="application/json"',
    "quoted-comma": '</v2/?a=b>; rel="first"; title="one, two", <{target}>; rel=next',
    "no-rel": "<{target}>",  # followed by skopeo (containers/image) and crane
}


@pytest.mark.parametrize("form", list(LINK_FORMS))
def test_tags_catalog_and_sync_follow_every_form_of_next_link(
        make_registry: Callable[..., RegistryServer], tmp_path: Path, form: str) -> None:
    """A ``Link`` not written exactly ``rel="next"`` ended the list after its first page,
    with exit status 0: sync left the other images out without a word."""
    server = make_registry()
    tags = seed_tags(server, "paged/app", 7)
    repos = seed_repos(server, 4, prefix="paged/repo-")
    with PagingRelay(server.host, cap=3, link_form=LINK_FORMS[form]) as relay:
        listed = json.loads(ok("tags", f"docker://{relay.address}/paged/app").stdout)
        assert listed["Tags"] == tags
        assert relay.tag_requests("paged/app") == 3
        catalog = ok("catalog", relay.address).stdout.splitlines()
        assert catalog == sorted(["paged/app", *repos])
        assert relay.catalog_requests() == 2
        synced = ok("sync", "--src", "docker", "--dest", "dir", "--src-tls-verify=false",
                    f"{relay.address}/paged/app", str(tmp_path / "out"))
        assert "Synced 7 images" in synced.stdout + synced.stderr, synced.stderr
        assert len(list((tmp_path / "out").rglob("manifest.json"))) == 7


def test_a_link_to_another_relation_alone_ends_the_list(
        make_registry: Callable[..., RegistryServer]) -> None:
    server = make_registry()
    seed_tags(server, "paged/app", 7)
    with PagingRelay(server.host, cap=3, link_form='<{target}>; rel="prev"') as relay:
        listed = json.loads(ok("tags", f"docker://{relay.address}/paged/app").stdout)
        assert listed["Tags"] == ["tag-00000", "tag-00001", "tag-00002"]


def test_a_next_link_that_leads_nowhere_is_said_so_not_taken_for_no_repository(
        make_registry: Callable[..., RegistryServer]) -> None:
    """``<v2/…>`` without a leading slash is relative to the page's own address (RFC
    3986), as skopeo takes it too: a path under ``…/tags/`` that the registry has not.
    Its 404 was said as "no such repository" of a repository just listed."""
    server = make_registry()
    seed_tags(server, "paged/app", 7)
    with PagingRelay(server.host, cap=3, link_form='<{unrooted}>; rel="next"') as relay:
        failed = spyglass("tags", f"docker://{relay.address}/paged/app")
        assert failed.returncode == 1, failed.stderr
        said = failed.stderr.strip()
        assert "no such repository" not in said, said
        assert (f"the registry {relay.address} links to its next page as "
                "v2/paged/app/tags/list?n=3&last=tag-00002, which is "
                "/v2/paged/app/tags/v2/paged/app/tags/list?n=3&last=tag-00002 read "
                "against the page's own address, and answers that with 404") in said, said


def test_a_next_link_to_another_host_that_leads_nowhere_says_the_host_was_replaced(
        make_registry: Callable[..., RegistryServer]) -> None:
    """A proxy that names the registry's inside address in its ``Link``: only the path
    is asked, of the registry itself. Its 404 was said as the path "read against the
    page's own address", leaving out that the host named was not the one asked."""
    server = make_registry()
    seed_tags(server, "paged/app", 7)
    form = '<http://internal.example:5000/v3{target}>; rel="next"'
    with PagingRelay(server.host, cap=3, link_form=form) as relay:
        failed = spyglass("tags", f"docker://{relay.address}/paged/app")
        assert failed.returncode == 1, failed.stderr
        said = failed.stderr.strip()
        assert "read against the page's own address" not in said, said
        assert (f"the registry {relay.address} links to its next page as "
                "http://internal.example:5000/v3/v2/paged/app/tags/list?n=3&last=tag-00002, "
                "which names another host (Spyglass asked the registry itself for "
                "/v3/v2/paged/app/tags/list?n=3&last=tag-00002), and answers that with "
                "404") in said, said


# --------------------------------------------------------------------------- object storage


def one_image(tmp_path: Path, content: bytes) -> Path:
    """A one-layer image (``latest``) in a new layout."""
    builder = LayoutBuilder(tmp_path / "layout")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/data": content})])), "latest")
    return builder.root


def test_a_blob_head_sent_to_storage_signed_for_get_alone_is_no_failure(
        auth_registry: RegistryServer, tmp_path: Path, repo_name: str) -> None:
    """A registry that redirects a blob HEAD to a URL its storage signed for GET alone
    (artifact-keeper, GitLab's virtual registry): the storage's 403 ended the copy,
    "which refused it (HTTP 403); Spyglass sends that server no credentials", though
    the registry had every blob. The blob is looked for with GET now."""
    source = f"oci:{one_image(tmp_path, f'{tmp_path}'.encode() * 5000)}:latest"
    creds = ("--dest-creds", ":".join(ALICE))
    with FaultProxy(auth_registry.host) as proxy, \
            ObjectStorage(auth_registry.host, credentials=ALICE) as storage:
        destination = f"docker://{proxy.address}/{repo_name}"
        ok("copy", "-q", *creds, source, f"{destination}:x")
        for method in ("HEAD", "GET"):
            proxy.add(Fault(method, "/blobs/sha256:", "status", status=307, count=ALWAYS,
                            headers={"Location": storage.url("GET")}))
        proxy.seen.clear()
        again = ok("copy", *creds, source, f"{destination}:x")
        assert "nothing was written" in again.stderr, again.stderr
        other = ok("copy", *creds, source, f"{destination}:y")
        assert "Copying blob" not in other.stderr, other.stderr
        written = [seen for seen in proxy.seen
                   if seen.method in ("PATCH", "PUT") and "/blobs/" in seen.target]
        assert written == []
        assert {(seen.method, seen.status) for seen in storage.seen} >= {("HEAD", 403)}
        assert any(seen.method == "GET" and seen.status in (200, 206) for seen in storage.seen)
        assert not any(seen.authorized for seen in storage.seen)


# --------------------------------------------------------------------------- upload bodies


def test_a_streamed_upload_refused_411_goes_again_in_pieces_of_a_stated_length(
        registry: RegistryServer, tmp_path: Path, repo_name: str) -> None:
    """Apache, or an older nginx, in front of a registry answers a body streamed
    ``Transfer-Encoding: chunked`` (a layer recompressed on its way) with 411 Length
    Required: the copy failed with "answered HTTP 411". It goes again in pieces with a
    ``Content-Length`` now, the first of 8 MiB."""
    source = f"oci:{one_image(tmp_path, os.urandom(12 * 1024 * 1024))}:latest"
    with FaultProxy(registry.host) as proxy:
        proxy.add(Fault("PATCH", "/blobs/uploads/", "status", status=411, count=ALWAYS,
                        chunked=True, headers={"Content-Type": "text/html"}))
        destination = f"docker://{proxy.address}/{repo_name}:zstd"
        copied = ok("copy", "--dest-compress-format", "zstd", source, destination)
        assert "Length Required" in copied.stderr, copied.stderr
        assert "pieces of 8 MiB" in copied.stderr, copied.stderr
        patches = [seen.outcome for seen in proxy.seen if seen.method == "PATCH"]
        assert patches == ["status", "forwarded", "forwarded"]
        raw = json.loads(ok("inspect", "--raw", destination).stdout)
        assert raw["layers"][0]["mediaType"].endswith("+zstd")
