"""A registry whose answers are lost on the way back (a connection reset after it did the
work, a gateway's 502 instead of its answer), or whose kept-alive connection closes as a
request comes: a real registry behind a fault-injecting proxy (tests/helpers/faultproxy)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.faultproxy import Fault, FaultProxy
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder
from tests.helpers.registry import ALICE, RegistryServer
from tests.helpers.tokenserver import TokenServer

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def spyglass(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spyglass", *args], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}, stdin=subprocess.DEVNULL,
        timeout=120, check=False)


@pytest.fixture
def proxy(registry: RegistryServer) -> Iterator[FaultProxy]:
    with FaultProxy(registry.host) as fault_proxy:
        yield fault_proxy


def layout(tmp_path: Path, content: bytes) -> Path:
    """A one-layer image (``latest``) no registry has seen, in a new layout."""
    builder = LayoutBuilder(tmp_path / "layout")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/data": content})])), "latest")
    return builder.root


def pushed(proxy: FaultProxy, tmp_path: Path, repo: str) -> str:
    """Push a fresh image to ``repo`` (through the proxy, no fault): its digest."""
    source = layout(tmp_path, f"{tmp_path}\n".encode())
    done = spyglass("copy", "--digestfile", str(tmp_path / "digest"), f"oci:{source}:latest",
                    f"docker://{proxy.address}/{repo}:v1")
    assert done.returncode == 0, done.stderr
    return (tmp_path / "digest").read_text()


@pytest.mark.parametrize("lost", [
    Fault("DELETE", "/manifests/", "answer_lost"),
    Fault("DELETE", "/manifests/", "answer_replaced", status=502),
])
def test_a_delete_whose_answer_was_lost_is_a_delete(
        proxy: FaultProxy, tmp_path: Path, repo_name: str, lost: Fault) -> None:
    """The first DELETE worked, its answer was lost, and the retry got 404: the image is
    gone, as asked (it said "has no such image" and failed)."""
    digest = pushed(proxy, tmp_path, repo_name)
    proxy.add(lost)
    name = f"docker://{proxy.address}/{repo_name}@{digest}"
    done = spyglass("delete", name)
    assert done.returncode == 0, done.stderr
    assert (f"Deleted {proxy.address}/{repo_name}@{digest} (the registry's answer to the "
            "delete was lost; asked again, it no longer has the image).") in done.stderr
    deletes = [seen.outcome for seen in proxy.seen if seen.method == "DELETE"]
    assert deletes == [lost.action, "forwarded"]
    assert "no such image" in spyglass("inspect", name).stderr


def test_a_delete_of_what_is_not_there_still_says_so(
        proxy: FaultProxy, tmp_path: Path, repo_name: str) -> None:
    digest = pushed(proxy, tmp_path, repo_name)
    proxy.add(Fault("DELETE", "/manifests/", "status", status=503))  # did nothing
    name = f"docker://{proxy.address}/{repo_name}@{digest}"
    assert spyglass("delete", name).returncode == 0
    proxy.add(Fault("DELETE", "/manifests/", "status", status=503))
    again = spyglass("delete", name)
    assert again.returncode == 1 and "no such image" in again.stderr


@pytest.mark.parametrize("action", ["reset", "answer_replaced"])
def test_a_delete_by_a_digest_that_was_never_there_is_no_delete_after_a_lost_answer(
        proxy: FaultProxy, tmp_path: Path, repo_name: str, action: str) -> None:
    """A digest typed wrong, and the first DELETE broken off before it reached the
    registry: the retry's 404 was taken for the first one having worked ("Deleted …"),
    of an image that never was. The digest is looked up first now."""
    pushed(proxy, tmp_path, repo_name)
    proxy.add(Fault("DELETE", "/manifests/", action, status=502))  # type: ignore[arg-type]
    name = f"docker://{proxy.address}/{repo_name}@sha256:{'ab' * 32}"
    done = spyglass("delete", name)
    assert done.returncode == 1, done.stderr
    assert "no such image" in done.stderr and "Deleted" not in done.stderr, done.stderr


@pytest.mark.parametrize("action", ["answer_lost", "reset"])
def test_a_push_whose_first_upload_post_broke_is_asked_again(
        proxy: FaultProxy, tmp_path: Path, repo_name: str, action: str) -> None:
    """The push check's POST (it opens an upload session) that lost its answer, or met a
    connection reset as it came, is asked again: the push failed at once, whatever
    --retry-times said."""
    source = layout(tmp_path, b"pushed through a hiccup\n")
    proxy.add(Fault("POST", r"/blobs/uploads/$", action))  # type: ignore[arg-type]
    done = spyglass("copy", f"oci:{source}:latest", f"docker://{proxy.address}/{repo_name}:v1")
    assert done.returncode == 0, done.stderr
    posts = [seen.outcome for seen in proxy.seen if seen.method == "POST"]
    assert posts[:2] == [action, "forwarded"]
    check = spyglass("inspect", f"docker://{proxy.address}/{repo_name}:v1")
    assert check.returncode == 0, check.stderr


def test_a_token_server_answering_503_for_now_is_asked_again(
        token_registry: RegistryServer, token_server: TokenServer, tmp_path: Path,
        repo_name: str) -> None:
    """The token server's 503s are asked again within --retry-times, as the registry's
    own are (one hiccup of it failed the command at once), and a wrong password is not."""
    source = layout(tmp_path, b"read past a busy token server\n")
    target = f"docker://{token_registry.host}/{repo_name}:v1"
    creds = f"{ALICE[0]}:{ALICE[1]}"
    done = spyglass("copy", "--dest-creds", creds, f"oci:{source}:latest", target)
    assert done.returncode == 0, done.stderr

    before = len(token_server.requests)
    token_server.fail_next(2, status=503)
    done = spyglass("inspect", "--creds", creds, target)
    assert done.returncode == 0, done.stderr
    assert [r.status for r in token_server.requests[before:]] == [503, 503, 200]

    before = len(token_server.requests)
    refused = spyglass("inspect", "--creds", f"{ALICE[0]}:not-{ALICE[1]}", target)
    assert refused.returncode == 1 and "refused to log in" in refused.stderr
    assert [r.status for r in token_server.requests[before:]] == [401]


def test_a_token_the_registry_stops_taking_during_an_upload_is_fetched_again(
        token_registry: RegistryServer, token_server: TokenServer, tmp_path: Path,
        repo_name: str) -> None:
    """A 401 ``invalid_token`` to a blob's streamed PUT, as a registry answers a token
    revoked, or expired on its side sooner than the token server said: the copy gets a
    new token and sends the blob again (it failed, saying to check the user name and
    password the token server had just taken)."""
    creds = f"{ALICE[0]}:{ALICE[1]}"
    with FaultProxy(token_registry.host) as proxy:
        def copy(content: bytes, repo: str) -> tuple[subprocess.CompletedProcess[str], int]:
            source = layout(tmp_path / repo.replace("/", "-"), content)
            before = token_server.tokens_issued
            done = spyglass("copy", "--parallel", "1", "--dest-creds", creds,
                            f"oci:{source}:latest", f"docker://{proxy.address}/{repo}:v1")
            return done, token_server.tokens_issued - before

        plain, tokens = copy(b"no fault\n", f"{repo_name}/plain")
        assert plain.returncode == 0, plain.stderr
        proxy.add(Fault("PUT", r"/blobs/uploads/", "status", status=401, headers={
            "WWW-Authenticate": f'Bearer realm="{token_server.realm}",service='
            f'"{token_server.service}",scope="repository:{repo_name}/refused:pull,push",'
            'error="invalid_token"'}))
        done, renewed = copy(b"a token refused\n", f"{repo_name}/refused")
        assert done.returncode == 0, done.stderr
        assert "user name and password" not in done.stderr
        assert "no longer takes the token it took until now" in done.stderr  # the retry
        assert renewed == tokens + 1
        puts = [seen.outcome for seen in proxy.seen
                if seen.method == "PUT" and "/refused/blobs/" in seen.target]
        assert puts[0] == "status" and puts[1:] == ["forwarded"] * 2  # config and layer


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_registry_that_refuses_every_new_token_is_refused_by_after_one_more_try(
        token_registry: RegistryServer, token_server: TokenServer, tmp_path: Path,
        repo_name: str, method: str) -> None:
    """Every blob ``PUT`` (or the streamed ``PATCH`` of a blob being recompressed) meets
    a 401 ``invalid_token``: the token the upload's ``POST`` was just taken with is worth
    one new token, not one per --retry-times (the blob sent whole each time), and the
    copy ends with the registry's refusal in its own words, not a token "expired"."""
    creds = f"{ALICE[0]}:{ALICE[1]}"
    recompress = ["--dest-compress-format", "zstd"] if method == "PATCH" else []
    content = os.urandom(12 * 1024 * 1024) if method == "PATCH" else b"every token refused\n"
    source = layout(tmp_path, content)
    with FaultProxy(token_registry.host) as proxy:
        proxy.add(Fault(method, r"/blobs/uploads/", "status", status=401, count=1_000_000,
                        headers={
            "Content-Type": "application/json",
            "WWW-Authenticate": f'Bearer realm="{token_server.realm}",service='
            f'"{token_server.service}",scope="repository:{repo_name}:pull,push",'
            'error="invalid_token"'},
            body=b'{"errors":[{"code":"UNAUTHORIZED","message":"token signed by an '
                 b'untrusted key","detail":null}]}'))
        done = spyglass("copy", "--parallel", "1", *recompress, "--dest-creds", creds,
                        f"oci:{source}:latest", f"docker://{proxy.address}/{repo_name}:v1")
        refused = [seen for seen in proxy.seen if seen.method == method
                   and "/blobs/uploads/" in seen.target]
    assert done.returncode == 1
    assert len(refused) == 2, proxy.seen  # the first token, then the one fetched after it
    last = done.stderr.strip().splitlines()[-1]
    assert "refused the token its token server gave" in last
    assert "token signed by an untrusted key" in last
    assert "expired" not in last


def _layer_hex(source: Path) -> str:
    """The hex digest of the layer of the one image in the layout ``source``."""
    manifest = json.loads((source / "index.json").read_text())["manifests"][0]
    blobs = source / "blobs" / "sha256"
    return str(json.loads((blobs / manifest["digest"].removeprefix("sha256:")).read_text()
                          )["layers"][0]["digest"].removeprefix("sha256:"))


def test_a_blob_retried_after_a_broken_upload_is_tried_retry_times_in_all(
        proxy: FaultProxy, tmp_path: Path, repo_name: str) -> None:
    """The layer's upload is reset, then each look-up of it answers 503: the requests of
    the blob's next attempt count against the same --retry-times as the first did (the
    look-up was asked 3 times more, so the blob was tried 4 times for --retry-times 2)."""
    source = layout(tmp_path, b"an upload that breaks, then a registry that is busy\n")
    layer = _layer_hex(source)
    proxy.add(Fault("HEAD", f"/blobs/sha256:{layer}$", "status", status=404))
    proxy.add(Fault("PUT", layer, "reset"))
    proxy.add(Fault("HEAD", f"/blobs/sha256:{layer}$", "status", status=503, count=20))
    done = spyglass("copy", "--retry-times", "2", f"oci:{source}:latest",
                    f"docker://{proxy.address}/{repo_name}:v1")
    assert done.returncode == 1, done.stderr
    tries = [(seen.method, seen.outcome) for seen in proxy.seen
             if layer in seen.target and seen.method in ("HEAD", "PUT")]
    assert tries == [("HEAD", "status"), ("PUT", "reset"), ("HEAD", "status"),
                     ("HEAD", "status")], done.stderr
    assert re.findall(r"attempt (\d) of (\d)", done.stderr) == [("2", "3")], done.stderr
    assert "answered HTTP 503 (asked 2 times)" in done.stderr, done.stderr


def test_the_retries_of_a_look_up_that_was_answered_count_against_the_blob(
        proxy: FaultProxy, tmp_path: Path, repo_name: str) -> None:
    """A look-up of the layer answered 503 twice, then answered: its two retries spent
    two of the blob's three tries (--retry-times 2), so the upload that breaks next ends
    the copy; it was started twice more, five failed requests said as "tried 3 times"
    (the review's finding)."""
    source = layout(tmp_path, b"a look-up asked again, then an upload that breaks\n")
    layer = _layer_hex(source)
    proxy.add(Fault("HEAD", f"/blobs/sha256:{layer}$", "status", status=503, count=2))
    proxy.add(Fault("PUT", layer, "reset", count=20))
    done = spyglass("copy", "--retry-times", "2", f"oci:{source}:latest",
                    f"docker://{proxy.address}/{repo_name}:v1")
    assert done.returncode == 1, done.stderr
    tries = [(seen.method, seen.outcome) for seen in proxy.seen
             if layer in seen.target and seen.method in ("HEAD", "PUT")]
    assert tries == [("HEAD", "status"), ("HEAD", "status"), ("HEAD", "forwarded"),
                     ("PUT", "reset")], done.stderr
    assert "Retrying blob" not in done.stderr and "(tried 3 times)" in done.stderr, done.stderr
