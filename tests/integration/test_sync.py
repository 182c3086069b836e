"""``spyglass sync`` against real registries, side by side with ``skopeo sync``.

The session's anonymous ``registry`` holds this module's sources: ``sync/app``
(a 3-platform list under ``multi`` and ``latest``, single images ``s0``-``s2``)
and ``sync/tools`` (``v0``, ``v1``, ``other``). Each test syncs into a registry
or a folder of its own, and where skopeo can do the same, skopeo sync does it
too and the names (and digests) written must agree.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import require_tool
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, multi_platform_layout
from tests.helpers.registry import ALICE, RegistryServer, push_image
from tests.helpers.tokenserver import TokenServer

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_TAGS = ("latest", "multi", "s0", "s1", "s2")
TOOLS_TAGS = ("other", "v0", "v1")


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def spyglass(*args: str) -> Result:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    done = subprocess.run([sys.executable, "-m", "spyglass", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, env=environment, timeout=120, check=False)
    return Result(done.returncode, done.stdout.decode(), done.stderr.decode())


def skopeo(*args: str) -> str:
    done = subprocess.run([require_tool("skopeo"), "--insecure-policy", *args],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"skopeo {' '.join(args)}:\n{done.stderr}"
    return done.stdout


def single_images(root: Path, names: tuple[str, ...]) -> Path:
    """A layout of small single images, one per name, sharing a base layer."""
    builder = LayoutBuilder(root)
    for number, name in enumerate(names):
        builder.tag(builder.add_image(ImageSpec(layers=[
            LayerSpec({"/etc/motd": b"the shared base\n"}),
            LayerSpec({f"/{name}": f"image {name} {number}\n".encode() * 50})])), name)
    return root


@pytest.fixture(scope="module")
def source(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session registry's host, with ``sync/app`` and ``sync/tools`` pushed."""
    root = tmp_path_factory.mktemp("sync-sources")
    multi_platform_layout(root / "multi")
    singles = single_images(root / "single", ("s0", "s1", "s2", "v0", "v1", "other"))
    for tag in ("multi", "latest"):
        push_image(registry, root / "multi", "latest", f"sync/app:{tag}")
    for tag in ("s0", "s1", "s2"):
        push_image(registry, singles, tag, f"sync/app:{tag}")
    for tag in TOOLS_TAGS:
        push_image(registry, singles, tag, f"sync/tools:{tag}")
    return registry.host


def raw_digest(name: str) -> str:
    raw = subprocess.run([require_tool("skopeo"), "inspect", "--raw", "--tls-verify=false",
                          name], capture_output=True, timeout=60, check=True).stdout
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def tags_of(server: RegistryServer, repository: str) -> list[str]:
    with server.client() as client:
        answer = client.get(f"/v2/{repository}/tags/list")
        return sorted(answer.json().get("tags") or []) if answer.status_code == 200 else []


def catalog(server: RegistryServer) -> list[str]:
    with server.client() as client:
        return sorted(client.get("/v2/_catalog").json()["repositories"])


def tree(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def test_a_repository_with_a_list_is_synced_whole_as_skopeo_syncs_it(
    source: str, fresh_registry: RegistryServer
) -> None:
    target = fresh_registry.host
    done = spyglass("sync", "--all", "--preserve-digests", "--src", "docker", "--dest",
                    "docker", f"{source}/sync/app", f"{target}/mine")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "Synced 5 images from 1 sources"
    assert sorted(line.split(" → ")[1].split()[0] for line in lines[:-1]) == sorted(
        f"docker://{target}/mine/app:{tag}" for tag in APP_TAGS)
    skopeo("sync", "--all", "--src", "docker", "--dest", "docker", "--src-tls-verify=false",
           "--dest-tls-verify=false", f"{source}/sync/app", f"{target}/theirs")
    assert catalog(fresh_registry) == ["mine/app", "theirs/app"]
    assert tags_of(fresh_registry, "mine/app") == tags_of(fresh_registry, "theirs/app") == sorted(
        APP_TAGS)
    for tag in APP_TAGS:
        digest = raw_digest(f"docker://{source}/sync/app:{tag}")
        assert raw_digest(f"docker://{target}/mine/app:{tag}") == digest
        assert raw_digest(f"docker://{target}/theirs/app:{tag}") == digest
        assert f"/mine/app:{tag} ({digest})" in done.stdout
    # --all: every image of the list is there, as skopeo reads it
    index = json.loads(skopeo("inspect", "--raw", "--tls-verify=false",
                              f"docker://{target}/mine/app:multi"))
    assert len(index["manifests"]) == 3
    for entry in index["manifests"]:
        assert raw_digest(f"docker://{target}/mine/app@{entry['digest']}") == entry["digest"]


@pytest.mark.parametrize("scoped", [False, True])
def test_dir_paths_are_skopeo_s_and_skopeo_reads_them_back(
    source: str, fresh_registry: RegistryServer, tmp_path: Path, scoped: bool
) -> None:
    flags = ["--scoped"] if scoped else []
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    done = spyglass("sync", "-q", "--all", *flags, "--src", "docker", "--dest", "dir",
                    f"{source}/sync/tools", str(mine))
    assert done.returncode == 0, done.stderr
    skopeo("sync", "--all", *flags, "--src", "docker", "--dest", "dir",
           "--src-tls-verify=false", f"{source}/sync/tools", str(theirs))
    assert tree(mine) == tree(theirs)
    folders = [path.parent for path in mine.rglob("manifest.json")]
    assert len(folders) == len(TOOLS_TAGS)
    for folder in folders:  # skopeo reads what Spyglass wrote
        assert raw_digest(f"dir:{folder}") == raw_digest(
            f"dir:{theirs / folder.relative_to(mine)}")

    # and back: dir → docker, both tools naming the images alike
    target = fresh_registry.host
    back = spyglass("sync", "-q", *flags, "--src", "dir", "--dest", "docker", str(mine),
                    f"{target}/mine")
    if scoped:  # the folders' names hold the source's port: no repository can
        assert back.returncode == 1 and "registry port included" in back.stderr
        return
    assert back.returncode == 0, back.stderr
    skopeo("sync", "--src", "dir", "--dest", "docker", "--dest-tls-verify=false", str(mine),
           f"{target}/theirs")
    assert tags_of(fresh_registry, "mine/tools") == tags_of(
        fresh_registry, "theirs/tools") == sorted(TOOLS_TAGS)
    for tag in TOOLS_TAGS:
        assert raw_digest(f"docker://{target}/mine/tools:{tag}") == raw_digest(
            f"docker://{source}/sync/tools:{tag}")


@pytest.mark.parametrize("root_there", [True, False], ids=["root-there", "root-missing"])
def test_a_sync_into_folders_makes_the_folders_below_and_a_missing_root_as_skopeo_does(
    source: str, tmp_path: Path, root_there: bool
) -> None:
    """A copy makes no folder above its dir: image, but a sync names each image's folder
    below its destination (``HOST:PORT/sync/tools:v0`` with --scoped) and makes those
    folders; a destination that is not there is made with the folders above it, as
    skopeo sync 1.9 makes it (``MkdirAll``), not refused as a copy's parent is."""
    mine, theirs = tmp_path / "mine" / "mirror", tmp_path / "theirs" / "mirror"
    if root_there:
        mine.mkdir(parents=True)
        theirs.mkdir(parents=True)
    done = spyglass("sync", "-q", "--scoped", "--src", "docker", "--dest", "dir",
                    f"{source}/sync/tools:v0", str(mine))
    assert done.returncode == 0, done.stderr
    skopeo("sync", "--scoped", "--src", "docker", "--dest", "dir", "--src-tls-verify=false",
           f"{source}/sync/tools:v0", str(theirs))
    assert tree(tmp_path / "mine") == tree(tmp_path / "theirs")
    assert (mine / source / "sync" / "tools:v0" / "manifest.json").is_file()


def test_a_yaml_source_with_two_repositories_and_a_tag_expression(
    source: str, fresh_registry: RegistryServer, tmp_path: Path
) -> None:
    listing = tmp_path / "sync.yaml"
    listing.write_text(f"""
{source}:
  tls-verify: false
  images:
    sync/app: [s1]
  images-by-tag-regex:
    sync/tools: ^v
""")
    done = spyglass("sync", "--src", "yaml", "--dest", "docker", str(listing),
                    f"{fresh_registry.host}/m")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "Synced 3 images from 2 sources"
    assert tags_of(fresh_registry, "m/app") == ["s1"]
    assert tags_of(fresh_registry, "m/tools") == ["v0", "v1"]
    skopeo("sync", "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false",
           str(listing), f"{fresh_registry.host}/s")
    assert tags_of(fresh_registry, "s/app") == ["s1"]
    assert tags_of(fresh_registry, "s/tools") == ["v0", "v1"]


def test_a_registry_naming_no_image_is_a_note_and_the_others_are_synced(
    source: str, fresh_registry: RegistryServer, tmp_path: Path
) -> None:
    """As skopeo warns "No images specified for registry" and goes on."""
    listing = tmp_path / "sync.yaml"
    listing.write_text(f"127.0.0.1:9:\n  images: {{}}\n{source}:\n  tls-verify: false\n"
                       "  images:\n    sync/tools: [v0]\n")
    done = spyglass("sync", "-q", "--src", "yaml", "--dest", "docker", str(listing),
                    f"{fresh_registry.host}/m")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f'Note: No images are named for the registry 127.0.0.1:9 in "{listing}": its images '
        "and images-by-tag-regex list none. It is passed over."]
    assert done.stdout.splitlines()[-1] == "Synced 1 images from 1 sources"


def test_a_registry_key_naming_no_host_is_a_note_saying_docker_hub(tmp_path: Path) -> None:
    """``myregistry:`` (a host name from /etc/hosts, say) is read as a Docker Hub
    namespace, as skopeo reads it: the sync went to Docker Hub without a word."""
    listing = tmp_path / "sync.yaml"
    listing.write_text("myregistry:\n  images:\n    lib/app: ['1.0']\n    lib/db: ['15']\n")
    done = spyglass("sync", "--dry-run", "--src", "yaml", "--dest", "dir", str(listing),
                    str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        f'Note: The key "myregistry" in "{listing}" names no registry host (it has no ".", '
        'no ":" and is not localhost): its images are read from Docker Hub, as '
        "docker.io/myregistry/…, as skopeo reads such a key. Write the registry's full name "
        "(registry.example.com, HOST:PORT) for another registry, or docker.io/myregistry for "
        "Docker Hub."]
    assert done.stdout.splitlines()[0] == (
        f"Would copy docker://docker.io/myregistry/lib/app:1.0 → dir:{tmp_path}/out/app:1.0")


@pytest.fixture
def broken_source(
    make_registry: Callable[..., RegistryServer], tmp_path: Path
) -> tuple[RegistryServer, str]:
    """A registry of this test's own with ``broken/app`` ``a``, ``b``, ``c``, whose ``b``
    has lost its own layer from storage; returns the server and ``b``'s layer digest."""
    server = make_registry()
    layout = single_images(tmp_path / "layout", ("a", "b", "c"))
    for tag in ("a", "b", "c"):
        push_image(server, layout, tag, f"broken/app:{tag}")
    manifest = json.loads(skopeo("inspect", "--raw", "--tls-verify=false",
                                 f"docker://{server.host}/broken/app:b"))
    lost = manifest["layers"][-1]["digest"]
    server.blob_path(lost).unlink()
    return server, lost


def test_keep_going_copies_the_others_and_says_which_failed(
    broken_source: tuple[RegistryServer, str], fresh_registry: RegistryServer
) -> None:
    server, _lost = broken_source
    target = fresh_registry.host
    done = spyglass("sync", "--keep-going", "--parallel-images", "1", "--src", "docker",
                    "--dest", "docker", f"{server.host}/broken/app", f"{target}/m")
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[-1] == "Synced 2 images from 1 sources, 1 failed"
    failed = [line for line in done.stderr.splitlines() if " failed: " in line]
    assert len(failed) == 1 and failed[0].startswith(
        f"spyglass: Copying docker://{server.host}/broken/app:b to "
        f"docker://{target}/m/app:b failed: "), done.stderr
    assert tags_of(fresh_registry, "m/app") == ["a", "c"]

    # without --keep-going: it stops there, saying so
    stopped = spyglass("sync", "--parallel-images", "1", "--src", "docker", "--dest",
                       "docker", f"{server.host}/broken/app", f"{target}/n")
    assert stopped.returncode == 1
    last = stopped.stderr.splitlines()[-1]
    assert last.startswith(f"spyglass: Copying docker://{server.host}/broken/app:b to ")
    assert last.endswith("Stopped there: --keep-going goes on with the other images.")


def test_a_dry_run_writes_nothing(
    source: str, fresh_registry: RegistryServer, tmp_path: Path
) -> None:
    for kind, destination in (("dir", str(tmp_path / "out")),
                              ("docker", f"{fresh_registry.host}/m")):
        done = spyglass("sync", "--dry-run", "--src", "docker", "--dest", kind,
                        f"{source}/sync/tools", destination)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[-1] == "Would sync 3 images from 1 sources"
        assert lines[0].startswith(f"Would copy docker://{source}/sync/tools:")
    assert not (tmp_path / "out").exists()
    assert catalog(fresh_registry) == []


def test_a_cancelled_sync_leaves_no_half_written_dir_image(
    source: str, tmp_path: Path
) -> None:
    """Cancelled while an image's blobs are on their way (as the window's Stop does), and
    interrupted (Ctrl+C, in the thread that waits) after the first image is told: every
    folder left is a whole dir: image, and no staging folder stays."""
    from spyglass.core.cancel import CancelToken
    from spyglass.core.copy import BlobStarted, CopyEvent, CopyOptions
    from spyglass.core.errors import Cancelled
    from spyglass.core.sync import SyncImage, SyncRequest, list_sources, registry_tags
    from spyglass.core.sync_run import ImageResult, run_sync
    from spyglass.core.transports.registry import RegistryOptions

    def images(out: Path) -> list[SyncImage]:
        request = SyncRequest("docker", f"{source}/sync/app", "dir", str(out),
                              registry=RegistryOptions(tls_verify=False))
        return [image for each in list_sources(request, registry_tags()) for image in each.images]

    def assert_whole_images_only(out: Path) -> None:
        assert [path.name for path in out.iterdir() if ".spyglass-tmp-" in path.name] == []
        for folder in out.iterdir():
            assert (folder / "manifest.json").is_file() and (folder / "version").is_file()

    cancel = CancelToken()
    listed = images(tmp_path / "cancelled")

    def events_for(image: SyncImage) -> Callable[[CopyEvent], None]:
        def event(happened: CopyEvent) -> None:
            if image is listed[2] and isinstance(happened, BlobStarted):
                cancel.cancel()
        return event

    told: list[ImageResult] = []
    with pytest.raises(Cancelled):
        run_sync(listed, CopyOptions(multi_arch="all"), None, parallel_images=1,
                 events_for=events_for, on_result=told.append, cancel=cancel)
    assert [result.image for result in told] == listed[:2]
    assert_whole_images_only(tmp_path / "cancelled")
    assert sorted(path.name for path in (tmp_path / "cancelled").iterdir()) == sorted(
        Path(str(image.destination).removeprefix("dir:")).name for image in listed[:2])

    def interrupt(result: ImageResult) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sync(images(tmp_path / "interrupted"), CopyOptions(multi_arch="all"), None,
                 parallel_images=4, on_result=interrupt)
    assert_whole_images_only(tmp_path / "interrupted")


def test_bad_input_is_one_sentence_naming_it(tmp_path: Path, source: str) -> None:
    cases = [
        (("--src", "oci", "--dest", "docker", "x", "y"),
         'spyglass: "oci" is not a sync source transport: give --src docker, dir or yaml.'),
        (("--src", "yaml", "--dest", "docker", str(tmp_path / "none.yaml"), "y"),
         f'spyglass: The sync source file "{tmp_path / "none.yaml"}" does not exist.'),
        (("--src", "docker", "--dest", "docker", f"{source}/sync/none", "y"),
         None),
    ]
    for args, said in cases:
        done = spyglass("sync", *args)
        assert done.returncode == 1 and done.stdout == "", done
        lines = done.stderr.splitlines()
        assert len(lines) == 1, done.stderr
        if said is not None:
            assert lines[0] == said
        else:
            assert f"{source}/sync/none" in lines[0]
    signing = spyglass("sync", "--sign-by", "ABC", "--src", "docker", "--dest", "docker",
                       "x", "y")
    assert signing.returncode == 2 and "--sign-by is skopeo's: it signs the copy" in (
        signing.stderr)


def test_a_mistake_in_a_yaml_file_is_the_file_s_not_a_listing_failure(
    tmp_path: Path, source: str, fresh_registry: RegistryServer
) -> None:
    """"Listing the tags of … failed: … Stopped there: --keep-going goes on": nothing
    was listed, and --keep-going changes nothing for a file that is wrong."""
    listing = tmp_path / "ni.yaml"
    listing.write_text(f"{source}:\n  tls-verify: false\n  images:\n    sync/tools:v0: []\n"
                       "    sync/app: [s0]\n")
    for flags in ([], ["--keep-going"]):
        done = spyglass("sync", "-q", *flags, "--src", "yaml", "--dest", "docker",
                        "--dest-tls-verify=false", str(listing), f"{fresh_registry.host}/m")
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.splitlines() == [
            f'spyglass: The entry "{source}" in "{listing}": "sync/tools:v0" names an image, '
            "not a repository; expected REPOSITORY: [TAG, …], with its tags in the list "
            "after it."]
    assert catalog(fresh_registry) == []


def test_a_list_named_by_digest_without_all_is_refused_naming_all(
    source: str, fresh_registry: RegistryServer
) -> None:
    """The refusal said the digest is the whole list's, not how to copy the whole list."""
    listed = raw_digest(f"docker://{source}/sync/app:multi")
    args = ("--src-tls-verify=false", "--dest-tls-verify=false", "--src", "docker", "--dest",
            "docker", f"{source}/sync/app@{listed}", f"{fresh_registry.host}/dm")
    done = spyglass("sync", "-q", *args)
    assert done.returncode == 1
    assert done.stderr.rstrip().endswith(
        "It is the digest of the whole list, which a copy of all its images writes: "
        "give --all."), done.stderr
    whole = spyglass("sync", "-q", "--all", *args)
    assert whole.returncode == 0, whole.stderr


def test_images_into_one_repository_are_copied_one_after_another(
    source: str, fresh_registry: RegistryServer
) -> None:
    """distribution rewrites a repository's blob links by truncating them, so two copies
    into one repository sharing blobs fail each other now and then (a blob "unknown", a
    500): images go into each repository one at a time (several repositories may be
    written at once)."""
    import threading

    from spyglass.core.copy import CopyEvent, CopyOptions, Finished, Planned
    from spyglass.core.sync import SyncImage, SyncRequest, list_sources, registry_tags
    from spyglass.core.sync_run import run_sync
    from spyglass.core.transports.registry import RegistryOptions

    options = RegistryOptions(tls_verify=False)
    listing = fresh_registry.directory / "sync.yaml"
    listing.write_text(f"{source}:\n  tls-verify: false\n  images:\n"
                       f"    sync/app: []\n    sync/tools: []\n")
    request = SyncRequest("yaml", str(listing), "docker", f"{fresh_registry.host}/m",
                          registry=options)
    images = [image for each in list_sources(request, registry_tags()) for image in each.images]
    lock = threading.Lock()
    busy: dict[str, int] = {}
    most: dict[str, int] = {}

    def events_for(image: SyncImage) -> Callable[[CopyEvent], None]:
        repository = str(image.destination).rsplit(":", 1)[0]

        def event(happened: CopyEvent) -> None:
            with lock:
                if isinstance(happened, Planned):
                    busy[repository] = busy.get(repository, 0) + 1
                elif isinstance(happened, Finished):
                    busy[repository] -= 1
                most[repository] = max(most.get(repository, 0), busy.get(repository, 0))
        return event

    results = run_sync(images, CopyOptions(multi_arch="all"), options, parallel_images=4,
                       events_for=events_for)
    assert [result.error for result in results] == [None] * len(APP_TAGS + TOOLS_TAGS)
    assert most == {f"docker://{fresh_registry.host}/m/app": 1,
                    f"docker://{fresh_registry.host}/m/tools": 1}
    assert tags_of(fresh_registry, "m/app") == sorted(APP_TAGS)
    assert tags_of(fresh_registry, "m/tools") == sorted(TOOLS_TAGS)


def test_a_blob_several_repositories_share_is_sent_once_and_mounted(
    source: str, make_registry: Callable[..., RegistryServer], registry: RegistryServer,
    tmp_path: Path
) -> None:
    """Three repositories holding one image, synced three at a time: while one copy
    sends a blob, the others wait for it and mount it, rather than each sending it."""
    singles = single_images(tmp_path / "layout", ("same",))
    for number in range(3):
        push_image(registry, singles, "same", f"sync/same{number}:1")
    target = make_registry(extra_config={"log": {"accesslog": {"disabled": False}}})
    listing = tmp_path / "sync.yaml"
    listing.write_text(f"{source}:\n  tls-verify: false\n  images:\n"
                       + "".join(f"    sync/same{number}: []\n" for number in range(3)))
    done = spyglass("sync", "-q", "--parallel-images", "3", "--src", "yaml", "--dest",
                    "docker", "--dest-tls-verify=false", str(listing), f"{target.host}/m")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "Synced 3 images from 3 sources"
    log = target.log_path.read_text()
    sent = [line for line in log.splitlines() if '"PUT /v2/m/same' in line
            and "/blobs/uploads/" in line]
    assert len(sent) == 3, sent  # the config and the two layers, once each
    assert log.count("mount=sha256") >= 6  # the others' three blobs each, mounted


def test_a_second_sync_leaves_what_is_there_already(
    source: str, make_registry: Callable[..., RegistryServer]
) -> None:
    """As skopeo sync: an image the destination's name holds already (the same manifest,
    nothing else to carry) is not written again; a tag that changed is."""
    target = make_registry(extra_config={"log": {"accesslog": {"disabled": False}}})
    args = ("sync", "--all", "--src", "docker", "--dest", "docker", f"{source}/sync/app",
            f"{target.host}/m")
    first = spyglass(*args)
    assert first.returncode == 0, first.stderr
    target.log_path.write_text("")  # (the server appends: what comes next is the rerun's)
    again = spyglass(*args)
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    # the summary counts them, as the dry run's does
    assert lines[-1] == "Synced 5 images from 1 sources, 5 of them unchanged"
    assert sorted(line.split()[0] for line in lines[:-1]) == ["Unchanged"] * 5
    assert '"PUT /v2/' not in target.log_path.read_text()
    # without --all the image for this system is written: not the list the name holds
    single = spyglass("sync", "--src", "docker", "--dest", "docker", f"{source}/sync/app:multi",
                      f"{target.host}/m")
    assert single.returncode == 0 and single.stdout.startswith("Copied "), single
    # (a tag moved: the line says what it named before, as copy's last line does)
    (listed,) = [line for line in first.stdout.splitlines() if "/sync/app:multi " in line]
    list_digest = listed.rsplit("(", 1)[1].rstrip(")")
    assert single.stdout.splitlines()[0].endswith(f"; it named {list_digest} before"), single


def test_one_token_serves_every_image_of_a_repository(
    make_registry: Callable[..., RegistryServer],
    make_token_server: Callable[..., TokenServer], fresh_registry: RegistryServer,
    tmp_path: Path
) -> None:
    """One process, one client per registry and repository: the token fetched for the
    first image is presented for the others (a loop of copies fetches one each)."""
    tokens = make_token_server()
    server = make_registry(token_server=tokens)
    layout = single_images(tmp_path / "layout", ("a", "b", "c", "d"))
    for tag in ("a", "b", "c", "d"):
        push_image(server, layout, tag, f"team/app:{tag}", creds=ALICE)
    tokens.clear_log()
    done = spyglass("sync", "--src-creds", f"{ALICE[0]}:{ALICE[1]}", "--src-tls-verify=false",
                    "--src", "docker", "--dest", "docker", f"{server.host}/team/app",
                    f"{fresh_registry.host}/m")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "Synced 4 images from 1 sources"
    assert tokens.tokens_issued == 1, tokens.requests


@pytest.fixture(scope="module")
def private_source(auth_registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory
                   ) -> str:
    """The session's auth registry with ``priv/app:a``; returns its host."""
    layout = single_images(tmp_path_factory.mktemp("private") / "layout", ("a",))
    push_image(auth_registry, layout, "a", "priv/app:a", creds=ALICE)
    return auth_registry.host


@pytest.mark.parametrize("kind", ["docker", "docker dry-run", "yaml", "yaml keep-going"])
def test_a_source_wanting_credentials_is_one_sentence_naming_sync_s_flags(
    private_source: str, fresh_registry: RegistryServer, tmp_path: Path, kind: str
) -> None:
    """Not a traceback (the advice once parsed sync's SOURCE as a copy's image name), and
    the flag named is sync's own --src-creds (sync has no --creds); for a yaml entry,
    after the entry's own credentials key (it named the flag alone, which gives every
    registry of the file those credentials)."""
    listing = tmp_path / "nocreds.yaml"
    listing.write_text(f"{private_source}:\n  tls-verify: false\n  images:\n    priv/app: []\n")
    source = f"{private_source}/priv/app" if kind.startswith("docker") else str(listing)
    flags = {"docker dry-run": ["--dry-run"], "yaml keep-going": ["--keep-going"]}.get(kind, [])
    done = spyglass("sync", "-q", *flags, "--src", kind.split()[0], "--dest", "docker",
                    "--src-tls-verify=false", source, f"{fresh_registry.host}/m")
    assert done.returncode == 1
    wants = (f"Listing the tags of {private_source}/priv/app failed: the registry "
             f"{private_source} wants valid credentials. Log in with spyglass login "
             f"{private_source}, or pass --src-creds USER:PASSWORD.")
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    if kind.startswith("yaml"):  # the entry's own credentials first, then the flag's
        wants = wants.replace(", or pass --src-creds USER:PASSWORD", (
            ", or give credentials: {username: USER, password: PASSWORD} in the entry "
            f'"{private_source}" in "{listing}" (or --src-creds USER:PASSWORD, for every '
            "registry of the file)"))
    if kind == "yaml keep-going":  # a line, and the sync goes on
        assert lines[0] == f"spyglass: {wants}", done.stderr
        assert done.stdout.splitlines()[-1] == "Synced 0 images from 0 sources, 1 failed"
        return
    assert lines[0].startswith(f"spyglass: {wants}"), done.stderr  # (a keyring's advice)
    # (one source: --keep-going would go on with no other, and is not advised)
    assert "--keep-going" not in lines[0], done.stderr


def test_refused_credentials_name_their_flag_or_the_yaml_file_they_came_from(
    private_source: str, fresh_registry: RegistryServer, tmp_path: Path
) -> None:
    given = spyglass("sync", "-q", "--src", "docker", "--dest", "docker",
                     "--src-tls-verify=false", "--src-creds", "alice:bad",
                     f"{private_source}/priv/app", f"{fresh_registry.host}/m")
    assert given.returncode == 1
    assert given.stderr == (
        f"spyglass: Listing the tags of {private_source}/priv/app failed: the registry "
        f"{private_source} refused the credentials given. Check the user name and password "
        "given with --src-creds USER:PASSWORD.\n")
    listing = tmp_path / "badcreds.yaml"
    listing.write_text(f"{private_source}:\n  tls-verify: false\n  credentials: {{username: "
                       "alice, password: bad}\n  images:\n    priv/app: []\n    priv/b: []\n")
    from_file = spyglass("sync", "-q", "--src", "yaml", "--dest", "docker", str(listing),
                         f"{fresh_registry.host}/m")
    assert from_file.returncode == 1
    assert from_file.stderr == (
        f"spyglass: Listing the tags of {private_source}/priv/app failed: the registry "
        f"{private_source} refused the credentials given. Check the entry "
        # what it did comes after the advice
        f'"{private_source}" in "{listing}". Stopped there: --keep-going goes on with the '
        "other sources.\n")


def signatures_of(name: str) -> list[object]:
    done = spyglass("signatures", "--tls-verify=false", name)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["Manifests"]  # type: ignore[no-any-return]


def test_a_repository_s_signature_and_referrer_tags_come_along_with_their_image(
    fresh_registry: RegistryServer, make_registry: Callable[..., RegistryServer],
    tmp_path: Path
) -> None:
    """The tags cosign's signatures and the referrers fallback index are under are no
    images of their own: the copy of their image carries them (before, the sync then
    copied the fallback tag as an image, one platform of it: the SBOM was lost), and
    those of an image the sync does not copy are copied whole after the others."""
    from tests.helpers.cosign import signed_layout

    source = make_registry()
    digest, _key = signed_layout(tmp_path / "layout")
    tls = ("--src-tls-verify=false", "--dest-tls-verify=false")
    for name in ("signed/app:v1", f"orphan/app@{digest}"):  # (orphan: no tag names it)
        pushed = spyglass("copy", "-q", *tls, f"oci:{tmp_path / 'layout'}:app",
                          f"docker://{source.host}/{name}")
        assert pushed.returncode == 0, pushed.stderr
    hexdigits = digest.removeprefix("sha256:")
    attached = [f"sha256-{hexdigits}", f"sha256-{hexdigits}.sig"]
    assert tags_of(source, "signed/app") == sorted([*attached, "v1"])
    target = fresh_registry.host

    dry = spyglass("sync", "--dry-run", *tls, "--src", "docker", "--dest", "docker",
                   f"{source.host}/signed/app", f"{target}/m")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0] == (f"Would copy docker://{source.host}/signed/app:v1 → "
                        f"docker://{target}/m/app:v1")
    assert sorted(lines[1:3]) == [
        f"Would carry docker://{source.host}/signed/app:{tag} → docker://{target}/m/app:{tag} "
        f"along with the image {hexdigits[:12]} (or copy it whole, if "
        "that image is not synced)" for tag in attached]
    assert lines[3] == ("Would sync 1 images from 1 sources, with 2 tags of what is attached "
                        "to them")

    done = spyglass("sync", "-q", *tls, "--src", "docker", "--dest", "docker",
                    f"{source.host}/signed/app", f"{target}/m")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"Copied docker://{source.host}/signed/app:v1 → docker://{target}/m/app:v1 ({digest})",
        "Synced 1 images from 1 sources; 2 tags of what is attached to them carried along"]
    assert signatures_of(f"docker://{target}/m/app:v1") == signatures_of(
        f"docker://{source.host}/signed/app:v1")
    for tag in attached:
        assert raw_digest(f"docker://{target}/m/app:{tag}") == raw_digest(
            f"docker://{source.host}/signed/app:{tag}")

    orphan = spyglass("sync", "-q", *tls, "--src", "docker", "--dest", "docker",
                      f"{source.host}/orphan/app", f"{target}/o")
    assert orphan.returncode == 0, orphan.stderr
    assert orphan.stdout.splitlines()[-1] == "Synced 2 images from 1 sources"
    assert tags_of(fresh_registry, "o/app") == attached
    for tag in attached:  # whole: the referrers index is not cut down to one platform
        assert raw_digest(f"docker://{target}/o/app:{tag}") == raw_digest(
            f"docker://{source.host}/orphan/app:{tag}")

    removed = spyglass("sync", "-q", "--remove-signatures", *tls, "--src", "docker",
                       "--dest", "docker", f"{source.host}/signed/app", f"{target}/r")
    assert removed.returncode == 0, removed.stderr
    (said,) = removed.stderr.splitlines()
    assert said in (f"Note: 2 tags of signatures and referrers ({', '.join(order)}) are left "
                    "out, as --remove-signatures asks." for order in (attached, attached[::-1]))
    assert removed.stdout.splitlines()[-1] == "Synced 1 images from 1 sources"
    assert tags_of(fresh_registry, "r/app") == ["v1"]


def test_a_repository_under_images_and_images_by_tag_regex_is_copied_once(
    fresh_registry: RegistryServer, make_registry: Callable[..., RegistryServer],
    tmp_path: Path
) -> None:
    """b/app under both images-by-tag-regex and images (its v1 and attached tags): v1
    was copied twice ("Unchanged" the second time), the summary said "4 tags … carried
    along" of 2, and into dir: 7 images were counted for 4 folders."""
    from tests.helpers.cosign import signed_layout

    source = make_registry()
    digest, _key = signed_layout(tmp_path / "layout")
    for tag in ("v1", "v2"):
        pushed = spyglass("copy", "-q", "--dest-tls-verify=false",
                          f"oci:{tmp_path / 'layout'}:app", f"docker://{source.host}/b/app:{tag}")
        assert pushed.returncode == 0, pushed.stderr
    hexdigits = digest.removeprefix("sha256:")
    listing = tmp_path / "both.yaml"
    listing.write_text(f"{source.host}:\n  tls-verify: false\n  images-by-tag-regex:\n"
                       "    b/app: '.*'\n  images:\n"
                       f"    b/app: [v1, sha256-{hexdigits}.sig, sha256-{hexdigits}]\n")
    registry = ("--dest-tls-verify=false", "--src", "yaml", "--dest", "docker", str(listing),
                f"{fresh_registry.host}/m")
    dry = spyglass("sync", "--dry-run", *registry)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[-1] == ("Would sync 2 images from 2 sources, with 2 tags "
                                           "of what is attached to them")
    done = spyglass("sync", *registry)
    assert done.returncode == 0, done.stderr
    copied = [line for line in done.stdout.splitlines() if line.startswith("Copied ")]
    assert sorted(line.split(" → ")[0] for line in copied) == [
        f"Copied docker://{source.host}/b/app:{tag}" for tag in ("v1", "v2")]
    assert done.stdout.splitlines()[-1] == ("Synced 2 images from 2 sources; 2 tags of what "
                                            "is attached to them carried along")
    folders = spyglass("sync", "-q", "--src", "yaml", "--dest", "dir", str(listing),
                       str(tmp_path / "out"))
    assert folders.returncode == 0, folders.stderr
    assert folders.stdout.splitlines()[-1] == "Synced 4 images from 2 sources"
    assert len(list((tmp_path / "out").iterdir())) == 4


def test_a_signed_repository_synced_into_folders_keeps_its_tags_as_skopeo_writes_them(
    fresh_registry: RegistryServer, make_registry: Callable[..., RegistryServer],
    tmp_path: Path
) -> None:
    """Into dir:, the signature and referrer tags were said to be carried along with
    their image (the dry run promised their folders), but a dir: image keeps no
    referrer: the SBOM was lost, and the signature became a signature-N file skopeo 1.9
    cannot push back. Each tag is now its own folder, as skopeo sync writes it, and
    the tree goes back to a registry whole, by Spyglass and by skopeo."""
    from tests.helpers.cosign import signed_layout

    source = make_registry()
    digest, _key = signed_layout(tmp_path / "layout")
    pushed = spyglass("copy", "-q", "--dest-tls-verify=false", f"oci:{tmp_path / 'layout'}:app",
                      f"docker://{source.host}/signed/app:v1")
    assert pushed.returncode == 0, pushed.stderr
    hexdigits = digest.removeprefix("sha256:")
    tags = sorted([f"sha256-{hexdigits}", f"sha256-{hexdigits}.sig", "v1"])
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    args = ("--src-tls-verify=false", "--src", "docker", "--dest", "dir",
            f"{source.host}/signed/app")

    dry = spyglass("sync", "--dry-run", *args, str(mine))
    assert dry.returncode == 0, dry.stderr
    assert sorted(dry.stdout.splitlines()[:-1]) == [
        f"Would copy docker://{source.host}/signed/app:{tag} → dir:{mine}/app:{tag}"
        for tag in tags]
    assert dry.stdout.splitlines()[-1] == "Would sync 3 images from 1 sources"
    done = spyglass("sync", "-q", *args, str(mine))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "Synced 3 images from 1 sources"
    assert "left behind" not in done.stderr, done.stderr
    skopeo("sync", *args, str(theirs))
    assert sorted(path.name for path in mine.iterdir()) == [f"app:{tag}" for tag in tags]
    assert sorted(path.name for path in theirs.iterdir()) == [f"app:{tag}" for tag in tags]
    assert sorted(path.name for path in (mine / "app:v1").iterdir()) == sorted(
        path.name for path in (theirs / "app:v1").iterdir())  # (no signature-1 file)

    back = spyglass("sync", "-q", "--dest-tls-verify=false", "--src", "dir", "--dest",
                    "docker", str(mine), f"{fresh_registry.host}/rt")
    assert back.returncode == 0, back.stderr
    assert back.stdout.splitlines()[-1] == "Synced 3 images from 1 sources"
    assert tags_of(fresh_registry, "rt/app") == tags
    for tag in tags:  # the referrers index whole, the SBOM with it
        assert raw_digest(f"docker://{fresh_registry.host}/rt/app:{tag}") == raw_digest(
            f"docker://{source.host}/signed/app:{tag}")
    assert signatures_of(f"docker://{fresh_registry.host}/rt/app:v1") == signatures_of(
        f"docker://{source.host}/signed/app:v1")
    skopeo("sync", "--dest-tls-verify=false", "--src", "dir", "--dest", "docker", str(mine),
           f"{fresh_registry.host}/sk")
    assert tags_of(fresh_registry, "sk/app") == tags


def test_signature_and_referrer_tags_a_yaml_file_lists_are_what_a_listing_makes_them(
    make_registry: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    """``images: {b/app: [v1, sha256-X, sha256-X.sig]}`` copied the two tags as
    ordinary images: into a registry, the referrers index v1's copy had written under
    sha256-X was replaced by one of its referrers (one platform of it); into dir:,
    v1's folder got a signature-1 file and the SBOM was lost. They are now carried
    along, or copied whole, as when the repository is listed."""
    from tests.helpers.cosign import signed_layout

    source, target = make_registry(), make_registry()
    digest, _key = signed_layout(tmp_path / "layout")
    pushed = spyglass("copy", "-q", "--dest-tls-verify=false", f"oci:{tmp_path / 'layout'}:app",
                      f"docker://{source.host}/b/app:v1")
    assert pushed.returncode == 0, pushed.stderr
    hexdigits = digest.removeprefix("sha256:")
    attached = [f"sha256-{hexdigits}", f"sha256-{hexdigits}.sig"]
    listing = tmp_path / "listed.yaml"
    listing.write_text(f"{source.host}:\n  tls-verify: false\n  images:\n"
                       f"    b/app: [v1, {', '.join(attached)}]\n")

    done = spyglass("sync", "-q", "--dest-tls-verify=false", "--src", "yaml", "--dest",
                    "docker", str(listing), f"{target.host}/m")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"Copied docker://{source.host}/b/app:v1 → docker://{target.host}/m/app:v1 ({digest})",
        "Synced 1 images from 1 sources; 2 tags of what is attached to them carried along"]
    assert tags_of(target, "m/app") == sorted([*attached, "v1"])
    for tag in attached:  # the referrers index whole, not one referrer of it
        assert raw_digest(f"docker://{target.host}/m/app:{tag}") == raw_digest(
            f"docker://{source.host}/b/app:{tag}")

    folders = tmp_path / "folders"
    into = spyglass("sync", "-q", "--src", "yaml", "--dest", "dir", str(listing), str(folders))
    assert into.returncode == 0, into.stderr
    assert into.stdout.splitlines()[-1] == "Synced 3 images from 1 sources"
    assert "left behind" not in into.stderr, into.stderr
    assert "signature-1" not in [path.name for path in (folders / "app:v1").iterdir()]
    index = (folders / f"app:sha256-{hexdigits}" / "manifest.json").read_bytes()
    assert "sha256:" + hashlib.sha256(index).hexdigest() == raw_digest(
        f"docker://{source.host}/b/app:sha256-{hexdigits}")


def test_into_folders_a_repository_listed_whole_leaves_another_s_signatures_alone(
    make_registry: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    """The same signed image in a/app (listed whole: its signature tags become folders)
    and b/app (named by its tag: its tags are not copied): b/app:v1 lost its signature
    without a word, as if b/app's own tags were folders too. It keeps what a sync of
    b/app alone gives it: the signature-1 file, and the SBOM's note."""
    from tests.helpers.cosign import signed_layout

    source = make_registry()
    digest, _key = signed_layout(tmp_path / "layout")
    for repository in ("a/app", "b/app"):
        pushed = spyglass("copy", "-q", "--dest-tls-verify=false",
                          f"oci:{tmp_path / 'layout'}:app",
                          f"docker://{source.host}/{repository}:v1")
        assert pushed.returncode == 0, pushed.stderr
    hexdigits = digest.removeprefix("sha256:")
    both, alone = tmp_path / "both.yaml", tmp_path / "alone.yaml"
    both.write_text(f"{source.host}:\n  tls-verify: false\n  images-by-tag-regex:\n"
                    "    a/app: '.*'\n  images:\n    b/app: [v1]\n")
    alone.write_text(f"{source.host}:\n  tls-verify: false\n  images:\n    b/app: [v1]\n")
    done = spyglass("sync", "-q", "--scoped", "--src", "yaml", "--dest", "dir", str(both),
                    str(tmp_path / "both"))
    assert done.returncode == 0, done.stderr
    single = spyglass("sync", "-q", "--scoped", "--src", "yaml", "--dest", "dir", str(alone),
                      str(tmp_path / "alone"))
    assert single.returncode == 0, single.stderr
    a, b = tmp_path / "both" / source.host / "a", tmp_path / "both" / source.host / "b"
    assert sorted(path.name for path in a.iterdir()) == sorted(
        f"app:{tag}" for tag in ("v1", f"sha256-{hexdigits}", f"sha256-{hexdigits}.sig"))
    assert "signature-1" not in [path.name for path in (a / "app:v1").iterdir()]
    assert [path.name for path in b.iterdir()] == ["app:v1"]
    assert sorted(path.name for path in (b / "app:v1").iterdir()) == sorted(
        path.name for path in (tmp_path / "alone" / source.host / "b" / "app:v1").iterdir())
    assert "signature-1" in [path.name for path in (b / "app:v1").iterdir()]
    for said in (single.stderr, done.stderr):
        assert said.count("Note: 1 SBOM left behind: ") == 1, said
        assert f"{source.host}/b/app:v1 cannot keep it" in said, said


def test_into_folders_one_image_of_two_repositories_is_refused_without_scoped(
    make_registry: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    """The same image in a/app (listed whole) and d/app (by its tag), each signed by its
    own key: both went to the folder app:v1, the second replaced it whole, and d/app's
    signature was lost without a word (skopeo 1.9 refuses to write the folder again).
    Refused before anything is copied; with --scoped each keeps its own signature."""
    from tests.helpers.cosign import signed_layout

    source = make_registry()
    digests = set()
    for repository in ("a/app", "d/app"):  # (a key of its own each)
        layout = tmp_path / f"layout-{repository[0]}"
        digests.add(signed_layout(layout)[0])
        pushed = spyglass("copy", "-q", "--dest-tls-verify=false", f"oci:{layout}:app",
                          f"docker://{source.host}/{repository}:v1")
        assert pushed.returncode == 0, pushed.stderr
    assert len(digests) == 1
    listing = tmp_path / "sources.yaml"
    listing.write_text(f"{source.host}:\n  tls-verify: false\n  images-by-tag-regex:\n"
                       "    a/app: '.*'\n  images:\n    d/app: [v1]\n")
    for flags in (["--dry-run"], ["-q"]):
        done = spyglass("sync", *flags, "--src", "yaml", "--dest", "dir", str(listing),
                        str(tmp_path / "out"))
        assert (done.returncode, done.stdout) == (1, ""), done
        assert done.stderr == (
            f'spyglass: Two images would be synced to the same name "dir:{tmp_path}/out/'
            f'app:v1": docker://{source.host}/d/app:v1 and docker://{source.host}/a/app:v1 '
            "(the second would replace the first's folder whole, and the signatures the "
            "first's repository holds for it with it, even where both are the same image); "
            "give --scoped to name each after its whole source name, or sync them in "
            "separate runs.\n")
    assert not (tmp_path / "out").exists()
    scoped = spyglass("sync", "-q", "--scoped", "--src", "yaml", "--dest", "dir",
                      str(listing), str(tmp_path / "out"))
    assert scoped.returncode == 0, scoped.stderr
    d_signature = tmp_path / "out" / source.host / "d" / "app:v1" / "signature-1"
    tag = digests.pop().replace(":", "-") + ".sig"
    assert d_signature.is_file()
    assert (tmp_path / "out" / source.host / "a" / f"app:{tag}" / "manifest.json").is_file()


def test_the_images_of_a_sync_share_what_they_learn_of_their_repository(
    source: str, fresh_registry: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each image asked for its repository's tags (to find cosign's tags) and tried the
    referrers API (distribution 2.8 answers 404) anew: a sync of a repository of N tags
    listed it N + 1 times. The copies of one sync share one listing, and the 404."""
    import httpx

    from spyglass.core.copy import CopyOptions
    from spyglass.core.sync import SyncRequest, list_sources, registry_tags
    from spyglass.core.sync_run import run_sync
    from spyglass.core.transports.registry import RegistryOptions

    asked: list[str] = []
    send = httpx.Client.send

    def recorded(client: httpx.Client, request: httpx.Request, **kwargs: object) -> httpx.Response:
        if request.url.netloc.decode() == source and request.method == "GET":
            asked.append(request.url.path.split("/")[-2])
        return send(client, request, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(httpx.Client, "send", recorded)
    options = RegistryOptions(tls_verify=False)
    request = SyncRequest("docker", f"{source}/sync/app", "docker",
                          f"{fresh_registry.host}/shared", registry=options)
    images = [image for each in list_sources(request, registry_tags()) for image in each.images]
    assert len(images) == len(APP_TAGS)
    asked.clear()  # (what listing the sources asked)
    results = run_sync(images, CopyOptions(multi_arch="all"), options, parallel_images=4)
    assert [result.error for result in results] == [None] * len(APP_TAGS)
    assert asked.count("tags") == 1, asked
    assert asked.count("referrers") == 1, asked


def _signed_list(source: RegistryServer, tmp_path: Path
                 ) -> tuple[RegistryServer, dict[str, Any], str]:
    """A 3-platform list with a cosign signature pushed to ``source`` as signed/list:v1:
    the registry, the list's descriptor and the signature's tag."""
    from tests.helpers.cosign import add_cosign_signature, cosign_tag
    from tests.helpers.imagebuild import LayoutBuilder, multi_platform_layout

    root = tmp_path / "layout"
    listed = multi_platform_layout(root, ref="v1")
    add_cosign_signature(LayoutBuilder(root), listed["digest"])
    pushed = spyglass("copy", "-q", "--all", "--dest-tls-verify=false", f"oci:{root}:v1",
                      f"docker://{source.host}/signed/list:v1")
    assert pushed.returncode == 0, pushed.stderr
    return source, listed, cosign_tag(listed["digest"], "sig")


def test_a_signed_list_synced_one_image_of_it_has_its_signature_copied_whole(
    fresh_registry: RegistryServer, make_registry: Callable[..., RegistryServer],
    tmp_path: Path
) -> None:
    """Without --all, one image of a signed list is copied: the list's signature comes
    along with nothing (its subject is not written), so it is copied whole after the
    others, and the summary counts it as such, not as carried (it said 1 carried)."""
    source, listed, sig = _signed_list(make_registry(), tmp_path)
    tls = ("--src-tls-verify=false", "--dest-tls-verify=false")
    done = spyglass("sync", "-q", *tls, "--src", "docker", "--dest", "docker",
                    f"{source.host}/signed/list", f"{fresh_registry.host}/m")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "Synced 2 images from 1 sources"
    # what it says agrees with what it does: not carried along by the copy of the list's
    # image (where it said "not copied"), then copied on its own
    assert done.stderr.splitlines() == [
        f"Note: 1 signature or referrer of {listed['digest']} is not carried along: that "
        "list is not copied, only one of its images",
        f"Note: 1 tag of signatures and referrers ({sig}) is copied on its own, whole: no "
        "image this sync copied as it is carried it along."]
    assert tags_of(fresh_registry, "m/list") == sorted([sig, "v1"])
    assert raw_digest(f"docker://{fresh_registry.host}/m/list:{sig}") == raw_digest(
        f"docker://{source.host}/signed/list:{sig}")


def test_a_signature_copied_on_its_own_that_fails_is_counted_once(
    fresh_registry: RegistryServer, make_registry: Callable[..., RegistryServer],
    tmp_path: Path
) -> None:
    """The signature copied whole after the images (as above) fails, without --keep-going:
    the summary counts it failed, and no image as not copied (it said "-1 not copied":
    the images' count, less every result, the signature's included)."""
    source, _listed, sig = _signed_list(make_registry(), tmp_path)
    tls = ("--src-tls-verify=false", "--dest-tls-verify=false")
    signature = json.loads(spyglass("inspect", "--raw", "--tls-verify=false",
                                    f"docker://{source.host}/signed/list:{sig}").stdout)
    blob = source.blob_path(signature["layers"][0]["digest"])
    damaged = bytearray(blob.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # the same size, other bytes
    blob.write_bytes(bytes(damaged))
    done = spyglass("sync", "-q", *tls, "--src", "docker", "--dest", "docker",
                    f"{source.host}/signed/list", f"{fresh_registry.host}/m")
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[-1] == "Synced 1 images from 1 sources, 1 failed", \
        done.stdout


def test_piped_progress_of_images_copied_at_once_names_each_line_s_image(
    source: str, tmp_path: Path
) -> None:
    """Into dir: each image is a lane of its own, so several are copied at once: each
    progress line starts with its image's short name. One at a time, the lines are
    copy's own."""
    done = spyglass("sync", "--src", "docker", "--dest", "dir", "--src-tls-verify=false",
                    f"{source}/sync/tools", str(tmp_path / "at-once"))
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines()
             if not line.startswith(f"Copying docker://{source}/sync/tools:")]
    assert lines and all(line.split(": ", 1)[0] in {f"tools:{tag}" for tag in TOOLS_TAGS}
                         for line in lines), done.stderr
    assert any(": Writing manifest " in line for line in lines), done.stderr
    one = spyglass("sync", "--parallel-images", "1", "--src", "docker", "--dest", "dir",
                   "--src-tls-verify=false", f"{source}/sync/tools", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    assert not any(line.startswith("tools:") for line in one.stderr.splitlines()), one.stderr
    assert any(line.startswith("Writing manifest ") for line in one.stderr.splitlines())


def _sync_into(stdout: int, *args: str) -> subprocess.CompletedProcess[bytes]:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    return subprocess.run([sys.executable, "-m", "spyglass", "sync", *args],
                          stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE,
                          env=environment, timeout=120, check=False)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_full_disk_under_stdout_is_the_sentence_other_commands_say(
    source: str, tmp_path: Path, dry_run: bool
) -> None:
    with Path("/dev/full").open("wb") as full:
        done = _sync_into(full.fileno(), "-q", *(["--dry-run"] if dry_run else []), "--src",
                          "docker", "--dest", "dir", f"{source}/sync/tools", str(tmp_path / "out"))
    assert done.returncode == 1
    assert done.stderr == (b"spyglass: Cannot write the result to standard output: no space "
                           b"left on device.\n")


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_reader_gone_stops_the_sync_by_sigpipe_saying_nothing(
    source: str, tmp_path: Path, dry_run: bool
) -> None:
    """As ``| grep -q Copied`` does once it has seen a line: the sync stops (copies under
    way taken back) and ends killed by SIGPIPE, as skopeo sync does, with no sentence."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = _sync_into(write_end, "-q", *(["--dry-run"] if dry_run else []), "--src",
                          "docker", "--dest", "dir", f"{source}/sync/tools", str(tmp_path / "out"))
    finally:
        os.close(write_end)
    assert done.returncode == -signal.SIGPIPE
    assert done.stderr == b""


def test_keep_going_is_advised_only_where_there_is_something_else_to_go_on_with(
    source: str, tmp_path: Path
) -> None:
    one = spyglass("sync", "-q", "--src", "docker", "--dest", "dir",
                   f"{source}/sync/tools:nope", str(tmp_path / "one"))
    assert one.returncode == 1
    last = one.stderr.splitlines()[-1]
    assert '/sync/tools has no tag "nope"; its tags are ' in last and "v0" in last, last
    assert "--keep-going" not in one.stderr
    listing = tmp_path / "sources.yaml"
    listing.write_text(f"{source}:\n  images:\n    sync/none: []\n")
    unlisted = spyglass("sync", "-q", "--src", "yaml", "--dest", "dir", str(listing),
                        str(tmp_path / "two"))
    assert unlisted.returncode == 1 and "--keep-going" not in unlisted.stderr, unlisted
    # with more than one, it is said
    listing.write_text(f"{source}:\n  images:\n    sync/none: []\n    sync/tools: [v0]\n")
    unlisted = spyglass("sync", "-q", "--src", "yaml", "--dest", "dir", str(listing),
                        str(tmp_path / "three"))
    assert unlisted.returncode == 1
    assert unlisted.stderr.rstrip().endswith(
        "Stopped there: --keep-going goes on with the other sources."), unlisted.stderr
    listing.write_text(f"{source}:\n  images:\n    sync/tools: [nope, v0]\n")
    failed = spyglass("sync", "-q", "--parallel-images", "1", "--src", "yaml", "--dest", "dir",
                      str(listing), str(tmp_path / "four"))
    assert failed.returncode == 1
    assert failed.stderr.rstrip().endswith(
        "Stopped there: --keep-going goes on with the other images."), failed.stderr


def test_two_sources_given_one_destination_name_are_refused_before_anything_is_copied(
    source: str, make_registry: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    """Another registry's ``sync/tools:v0`` (another image) beside the session's: without
    ``--scoped`` both are named ``tools:v0`` at the destination, and the second would
    replace the first (as skopeo sync lets it in a registry)."""
    other = make_registry()
    target = make_registry()
    push_image(other, single_images(tmp_path / "layout", ("elsewhere",)), "elsewhere",
               "sync/tools:v0")
    listing = tmp_path / "sources.yaml"
    listing.write_text(f"{source}:\n  images:\n    sync/tools: [v1, v0]\n"
                       f"{other.host}:\n  images:\n    sync/tools: [v0]\n")
    # (--scoped names them apart in folders; in a registry the hosts' ports cannot be)
    into_registry = ("sync them in separate runs into different destinations (--scoped "
                     "cannot name them apart here: it would put a registry's port in a "
                     "repository's name, where no colon may be)")
    into_folders = ("give --scoped to name each after its whole source name, or sync them "
                    "in separate runs")
    replaced = "the second would replace the first"
    # (into folders, the first's signatures would go too, whether or not they differ)
    folder = ("the second would replace the first's folder whole, and the signatures the "
              "first's repository holds for it with it, even where both are the same image")
    for dry_run, kind, destination, named, why, advice in (
            (True, "docker", f"{target.host}/m", f"docker://{target.host}/m/tools:v0",
             replaced, into_registry),
            (False, "docker", f"{target.host}/m", f"docker://{target.host}/m/tools:v0",
             replaced, into_registry),
            (False, "dir", str(tmp_path / "out"), f"dir:{tmp_path}/out/tools:v0",
             folder, into_folders)):
        done = spyglass("sync", *(["--dry-run"] if dry_run else []), "--src", "yaml",
                        "--dest", kind, str(listing), destination)
        assert (done.returncode, done.stdout) == (1, ""), done
        assert done.stderr == (
            f'spyglass: Two images would be synced to the same name "{named}": '
            f"docker://{source}/sync/tools:v0 and docker://{other.host}/sync/tools:v0 "
            f"({why}); {advice}.\n")
    assert catalog(target) == []
    assert not (tmp_path / "out").exists()
    # each under its whole name, both are synced; an image listed twice is no conflict
    listing.write_text(f"{source}:\n  images:\n    sync/tools: [v0, v0]\n"
                       f"{other.host}:\n  images:\n    sync/tools: [v0]\n")
    scoped = spyglass("sync", "-q", "--scoped", "--src", "yaml", "--dest", "dir", str(listing),
                      str(tmp_path / "out"))
    assert scoped.returncode == 0, scoped.stderr
    assert scoped.stdout.splitlines()[-1] == "Synced 2 images from 2 sources"  # (v0 once)
    listing.write_text(f"{source}:\n  images:\n    sync/tools: [v0, v0]\n")
    twice = spyglass("sync", "-q", "--src", "yaml", "--dest", "docker", str(listing),
                     f"{target.host}/m")
    assert twice.returncode == 0, twice.stderr
    assert tags_of(target, "m/tools") == ["v0"]


def test_a_dry_run_says_unchanged_where_the_sync_would(
    source: str, make_registry: Callable[..., RegistryServer], auth_registry: RegistryServer
) -> None:
    """The dry run asks what the real run asks (one ``HEAD`` per name, and the source's
    manifests where the name names something), and says "Unchanged" of the same images,
    writing nothing."""
    target = make_registry(extra_config={"log": {"accesslog": {"disabled": False}}})
    args = ("--src", "docker", "--dest", "docker", f"{source}/sync/app", f"{target.host}/m")
    empty = spyglass("sync", "--dry-run", *args)
    assert empty.returncode == 0, empty.stderr
    assert all(line.startswith("Would copy ") for line in empty.stdout.splitlines()[:-1])
    assert empty.stdout.splitlines()[-1] == "Would sync 5 images from 1 sources"
    # a repository's names are listed once: none asked about one by one where none is there
    assert '"HEAD /v2/m/app/manifests/' not in target.log_path.read_text()
    first = spyglass("sync", *args)
    assert first.returncode == 0, first.stderr
    target.log_path.write_text("")
    again = spyglass("sync", "--dry-run", *args)
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert lines[-1] == "Would sync 5 images from 1 sources, 5 of them unchanged"
    # the very lines the real run says of them, once it finds them there
    assert sorted(lines[:-1]) == sorted(
        line.replace("Copied ", "Unchanged ", 1) for line in first.stdout.splitlines()[:-1])
    log = target.log_path.read_text()
    assert '"PUT /v2/' not in log and '"HEAD /v2/m/app/manifests/' in log
    # --all writes the list where the name holds this system's image: copied, as said
    listed = spyglass("sync", "--dry-run", "--all", *args)
    assert listed.returncode == 0, listed.stderr
    assert sorted(line.split(" →")[0] for line in listed.stdout.splitlines()[:-1]) == sorted(
        [f"Would copy docker://{source}/sync/app:{tag}" for tag in ("latest", "multi")]
        + [f"Unchanged docker://{source}/sync/app:{tag}" for tag in ("s0", "s1", "s2")])
    real = spyglass("sync", "--all", *args)
    assert sorted(line.split(" →")[0] for line in real.stdout.splitlines()[:-1]) == sorted(
        [f"Copied docker://{source}/sync/app:{tag}" for tag in ("latest", "multi")]
        + [f"Unchanged docker://{source}/sync/app:{tag}" for tag in ("s0", "s1", "s2")])
    # a destination that cannot be asked: said once, and each image would be copied
    refused = spyglass("sync", "--dry-run", "--src", "docker", "--dest", "docker",
                       f"{source}/sync/app", f"{auth_registry.host}/m")
    assert refused.returncode == 0, refused.stderr
    assert refused.stdout.splitlines()[-1] == "Would sync 5 images from 1 sources"
    (note,) = refused.stderr.splitlines()
    assert note.startswith("Note: Which images the destination has already cannot be told, "
                           "so each is said to be copied: "), note
    assert "wants valid credentials" in note and "--dest-creds" in note, note


def test_the_policy_is_read_once_for_every_image_of_a_sync(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A sync of 20,000 images opened and parsed policy.json 20,000 times; it reads it
    once, and still refuses an image the policy refuses."""
    from spyglass.cli import main
    from spyglass.core import policy

    loads: list[Path] = []
    load = policy.load_policy

    def counted(path: Path) -> policy.Policy:
        loads.append(path)
        return load(path)

    monkeypatch.setattr(policy, "load_policy", counted)
    accepting = tmp_path / "policy.json"
    accepting.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    assert main(["--policy", str(accepting), "sync", "--dry-run", "--src", "docker",
                 "--dest", "dir", f"{source}/sync/app", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "Would sync 5 images from 1 sources"
    # (once as the command starts, as any command checks --policy; once for the 5 images)
    assert loads == [accepting, accepting]
    # the user's own policy, with no --policy: once
    loads.clear()
    home = tmp_path / "home"
    (home / ".config/containers").mkdir(parents=True)
    rejecting = home / ".config/containers/policy.json"
    rejecting.write_text(json.dumps({"default": [{"type": "reject"}]}))
    monkeypatch.setenv("HOME", str(home))
    assert main(["sync", "--dry-run", "--src", "docker", "--dest", "dir",
                 f"{source}/sync/app", str(tmp_path / "out")]) == 1
    assert "reject" in capsys.readouterr().err
    assert loads == [rejecting]


def test_a_dry_run_into_a_registry_that_cannot_be_reached_asks_it_once(source: str) -> None:
    """The destination's tag listing failed, and then the first HEAD waited out the same
    retries again to say the same thing: twice the time (10 s with the default retries)
    before the note."""
    import socket
    import threading

    closing = socket.create_server(("127.0.0.1", 0))  # takes each connection and drops it
    accepted: list[bytes] = []

    def drop() -> None:
        while True:
            try:
                connection, _ = closing.accept()
            except OSError:
                return
            accepted.append(connection.recv(100)[:30])
            connection.close()

    threading.Thread(target=drop, daemon=True).start()
    try:
        host = f"127.0.0.1:{closing.getsockname()[1]}"
        done = spyglass("sync", "--dry-run", "--retry-times", "1", "--src", "docker",
                        "--dest", "docker", "--dest-tls-verify=false", f"{source}/sync/app",
                        f"{host}/m")
    finally:
        closing.close()
    assert done.returncode == 0, done.stderr
    (note,) = done.stderr.splitlines()
    assert note.startswith("Note: Which images the destination has already cannot be told"), \
        note
    # (after the TLS handshake it tries first) the listing's request and its one retry,
    # and no more
    assert [first.split(b" ")[0] for first in accepted if first.startswith(b"GET ")] == \
        [b"GET", b"GET"], accepted


def test_skopeo_s_override_flags_choose_the_image_of_a_list_as_copy_s_do(
    source: str, fresh_registry: RegistryServer
) -> None:
    """``--override-arch`` was taken and passed over: the mirror got this machine's image
    of the list, and said it had done as asked."""
    index = json.loads(skopeo("inspect", "--raw", "--tls-verify=false",
                              f"docker://{source}/sync/app:multi"))
    arm64 = next(entry["digest"] for entry in index["manifests"]
                 if entry["platform"]["architecture"] == "arm64")
    args = ("--src", "docker", "--dest", "docker", f"{source}/sync/app:multi",
            f"{fresh_registry.host}/m")
    done = spyglass("sync", "-q", "--override-arch", "arm64", *args)
    assert done.returncode == 0, done.stderr
    assert raw_digest(f"docker://{fresh_registry.host}/m/app:multi") == arm64
    assert f"({arm64})" in done.stdout.splitlines()[0]
    # the dry run asks about the image the flags choose (before the command, too)
    chosen = spyglass("--override-arch", "arm64", "sync", "--dry-run", *args)
    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.splitlines()[0].startswith("Unchanged ") and (
        f"({arm64})" in chosen.stdout), chosen.stdout
    host = spyglass("sync", "--dry-run", "--override-arch", "arm", "--override-variant", "v7",
                    *args)
    assert host.returncode == 0, host.stderr
    assert host.stdout.splitlines()[0].startswith("Would copy "), host.stdout
    # the images that are no list are copied as they are: under -q, not a note for each
    whole = spyglass("sync", "-q", "--override-arch", "arm64", "--src", "docker", "--dest",
                     "docker", f"{source}/sync/app", f"{fresh_registry.host}/w")
    assert (whole.returncode, whole.stderr) == (0, ""), whole.stderr
    assert whole.stdout.splitlines()[-1] == "Synced 5 images from 1 sources"


def test_a_list_without_the_image_asked_for_advises_sync_s_own_flags(
    make_registry: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    """The advice named --platform, which sync does not take; where the override flags
    chose the platform, there is none to give."""
    other = make_registry()
    builder = LayoutBuilder(tmp_path / "layout")
    image = builder.add_image(ImageSpec(architecture="riscv64", layers=[
        LayerSpec({"/riscv": b"riscv\n"})]))
    builder.tag(builder.add_index([image]), "only")
    push_image(other, tmp_path / "layout", "only", "far/app:only")
    args = ("--src", "docker", "--dest", "dir", f"{other.host}/far/app:only",
            str(tmp_path / "out"))
    unchosen = spyglass("sync", "-q", *args)
    assert unchosen.returncode == 1
    assert unchosen.stderr.rstrip().endswith(
        "it offers: linux/riscv64. Choose one with --override-os, --override-arch and "
        "--override-variant, or give --all for every image of the list."), unchosen.stderr
    for keep_going in ([], ["--keep-going"]):
        chosen = spyglass("sync", "-q", *keep_going, "--override-arch", "s390x", *args)
        assert chosen.returncode == 1
        assert chosen.stderr.rstrip().endswith("it offers: linux/riscv64."), chosen.stderr


def test_yaml_tags_are_synced_as_written_not_as_yaml_1_1_numbers(
    source: str, fresh_registry: RegistryServer, tmp_path: Path
) -> None:
    """``010`` was read as 8 and ``yes`` as True, so the tags ``8`` and ``True`` were
    synced (where there are such); ``1.10`` was refused as no tag."""
    listing = tmp_path / "sync.yaml"
    listing.write_text(f"{source}:\n  tls-verify: false\n  images:\n"
                       "    sync/tools: [010, 1.10, yes]\n")
    done = spyglass("sync", "--dry-run", "--src", "yaml", "--dest", "docker", str(listing),
                    f"{fresh_registry.host}/m")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"Would copy docker://{source}/sync/tools:{tag} → "
        f"docker://{fresh_registry.host}/m/tools:{tag}" for tag in ("010", "1.10", "yes")
    ] + ["Would sync 3 images from 1 sources"]


def test_a_tag_expression_with_a_posix_class_matches_as_skopeo_s(
    source: str, fresh_registry: RegistryServer, tmp_path: Path
) -> None:
    """Go's ``[[:digit:]]`` matched nothing (exit 0, nothing synced), with Python's
    FutureWarning on stderr."""
    listing = tmp_path / "sync.yaml"
    listing.write_text(f"{source}:\n  tls-verify: false\n  images-by-tag-regex:\n"
                       "    sync/tools: '^v[[:digit:]]+$'\n")
    done = spyglass("sync", "--dry-run", "--src", "yaml", "--dest", "docker", str(listing),
                    f"{fresh_registry.host}/m")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert sorted(done.stdout.splitlines()[:-1]) == [
        f"Would copy docker://{source}/sync/tools:{tag} → "
        f"docker://{fresh_registry.host}/m/tools:{tag}" for tag in ("v0", "v1")]


def test_keep_going_into_a_registry_that_is_down_waits_out_its_tries_once(
    source: str, tmp_path: Path
) -> None:
    """Each image waited out the same retries (5 s each with the defaults: a mirror of
    1,000 tags sat 90 minutes); after the first, the others bound there fail at once,
    and each line says how often it was tried."""
    import socket
    import time

    with socket.socket() as closed:  # a port nothing listens on: connections refused
        closed.bind(("127.0.0.1", 0))
        down = f"127.0.0.1:{closed.getsockname()[1]}"
    listing = tmp_path / "sync.yaml"
    listing.write_text(f"{source}:\n  tls-verify: false\n  images:\n"
                       "    sync/app: []\n    sync/tools: []\n")
    args = ("--retry-times", "2", "--src", "yaml", "--dest", "docker",
            "--dest-tls-verify=false")
    (tmp_path / "one.yaml").write_text(f"{source}:\n  tls-verify: false\n  images:\n"
                                       "    sync/tools: [v0]\n")
    started = time.monotonic()
    single = spyglass("sync", "-q", *args, str(tmp_path / "one.yaml"), f"{down}/m")
    assert single.returncode == 1
    once = time.monotonic() - started
    started = time.monotonic()
    done = spyglass("sync", "-q", "--keep-going", "--parallel-images", "1", *args,
                    str(listing), f"{down}/m")
    took = time.monotonic() - started
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "Synced 0 images from 2 sources, 8 failed"
    failed = done.stderr.splitlines()
    assert len(failed) == 8, done.stderr
    said = f"Cannot reach the registry {down}: connection refused (tried 3 times)"
    assert failed[0].endswith(f" failed: {said}."), failed[0]
    assert all(line.endswith(f" failed: {said}; this image was not tried, as an earlier "
                             "one could not reach it.") for line in failed[1:]), failed
    assert took < once * 2 + 2, (took, once)  # (one image's tries, not eight)


def test_keep_going_from_a_yaml_registry_that_is_down_waits_out_its_tries_once(
    tmp_path: Path, fresh_registry: RegistryServer
) -> None:
    """Each repository's listing of a registry that is down waited out the retries
    anew, without saying so (5 s each: a file of 50 repositories sat minutes), and its
    images then tried once more. After the first listing, the others and the images
    fail at once, with its sentence and how often it was tried."""
    import socket
    import time

    with socket.socket() as closed:  # a port nothing listens on: connections refused
        closed.bind(("127.0.0.1", 0))
        down = f"127.0.0.1:{closed.getsockname()[1]}"
    listing = tmp_path / "down.yaml"
    listing.write_text(f"{down}:\n  images:\n    x/y: [a, b]\n    x/a: []\n    x/b: []\n"
                       "    x/c: []\n")
    args = ("--retry-times", "2", "--src", "yaml", "--dest", "docker",
            "--dest-tls-verify=false", "--src-tls-verify=false")
    (tmp_path / "one.yaml").write_text(f"{down}:\n  images:\n    x/a: []\n")
    started = time.monotonic()
    single = spyglass("sync", "-q", *args, str(tmp_path / "one.yaml"), f"{fresh_registry.host}/m")
    once = time.monotonic() - started
    assert single.returncode == 1
    said = f"Cannot reach the registry {down}: connection refused (tried 3 times)"
    assert single.stderr.rstrip().endswith(f"{down}/x/a failed: {said}."), single.stderr
    started = time.monotonic()
    done = spyglass("sync", "-q", "--keep-going", *args, str(listing),
                    f"{fresh_registry.host}/m")
    took = time.monotonic() - started
    assert done.returncode == 1
    assert done.stdout.splitlines()[-1] == "Synced 0 images from 1 sources, 5 failed"
    failed = done.stderr.splitlines()
    assert failed[0] == f"spyglass: Listing the tags of {down}/x/a failed: {said}."
    assert failed[1:3] == [
        f"spyglass: Listing the tags of {down}/x/{name} failed: {said}; this repository "
        "was not tried, as an earlier one could not reach it." for name in ("b", "c")]
    assert [line.split(" failed: ", 1)[1] for line in failed[3:]] == [
        f"{said}; this image was not tried, as an earlier one could not reach it."] * 2
    assert took < once * 1.5 + 1, (took, once)  # (one listing's tries, not five)


@pytest.mark.parametrize("through", ["mirror", "location"])
def test_a_listing_that_cannot_reach_a_registry_fails_no_copy_registries_conf_sends_elsewhere(
    source: str, tmp_path: Path, through: str
) -> None:
    """The named registry is down, registries.conf reads its images from a mirror (or
    rewrites it to another location). A listing goes to the named registry (as in
    skopeo) and fails; the copies, which never go there, were then failed untried as
    "an earlier one could not reach it". skopeo syncs them; so does Spyglass now."""
    import socket

    with socket.socket() as closed:  # a port nothing listens on: connections refused
        closed.bind(("127.0.0.1", 0))
        down = f"127.0.0.1:{closed.getsockname()[1]}"
    conf = tmp_path / "registries.conf"
    conf.write_text(
        f'[[registry]]\nlocation = "{down}"\ninsecure = true\n'
        f'[[registry.mirror]]\nlocation = "{source}"\ninsecure = true\n' if through == "mirror"
        else f'[[registry]]\nprefix = "{down}"\nlocation = "{source}"\ninsecure = true\n')
    listing = tmp_path / "sources.yaml"
    listing.write_text(f"{down}:\n  tls-verify: false\n  images-by-tag-regex:\n"
                       "    sync/app: '.*'\n  images:\n    sync/tools: [v0]\n")
    args = ("--registries-conf", str(conf), "--retry-times", "0", "--src", "yaml",
            "--dest", "dir", str(listing))
    done = spyglass("sync", "-q", "--keep-going", *args, str(tmp_path / "mine"))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"spyglass: Listing the tags of {down}/sync/app failed: Cannot reach the registry "
        f"{down}: connection refused (registries.conf's {through} for this repository "
        f"serves reads of its images only: its tags are listed at {down}, the registry its "
        "name says, as skopeo lists them; name the tags, as REPOSITORY:TAG or in a yaml "
        "file's images list)."], done.stderr
    assert done.stdout.splitlines() == [
        f"Copied docker://{down}/sync/tools:v0 → dir:{tmp_path / 'mine'}/tools:v0 "
        f"({raw_digest(f'docker://{source}/sync/tools:v0')})",
        "Synced 1 images from 1 sources, 1 failed"]
    theirs = subprocess.run(
        [require_tool("skopeo"), "--insecure-policy", "--registries-conf", str(conf), "sync",
         "--keep-going", *args[4:], str(tmp_path / "theirs")],
        capture_output=True, text=True, timeout=120, check=False)
    assert "Synced 1 images from 1 sources" in theirs.stdout + theirs.stderr, theirs
    assert tree(tmp_path / "mine") == tree(tmp_path / "theirs")


@pytest.mark.parametrize("conf", ["none", "location", "mirrors"])
def test_a_docker_source_whose_listing_fails_says_it_and_where_tags_are_listed(
    source: str, tmp_path: Path, conf: str
) -> None:
    """It said only "Cannot reach the registry H: connection refused.", as if the whole
    sync could not reach it: not that listing the repository's tags failed, nor that
    registries.conf's location and mirrors, through which its tags are read, do not
    serve listings (skopeo lists at the name too). A tag named is read through them."""
    import socket

    with socket.socket() as closed:  # a port nothing listens on: connections refused
        closed.bind(("127.0.0.1", 0))
        down = f"127.0.0.1:{closed.getsockname()[1]}"
    written = tmp_path / "registries.conf"
    written.write_text({
        "none": "",
        "location": f'[[registry]]\nprefix = "{down}/team"\nlocation = "{source}/sync"\n'
                    "insecure = true\n",
        "mirrors": f'[[registry]]\nlocation = "{down}/team"\ninsecure = true\n'
                   f'[[registry.mirror]]\nlocation = "{source}/sync"\ninsecure = true\n'
                   f'[[registry.mirror]]\nlocation = "{down}"\ninsecure = true\n'}[conf])
    args = ("--registries-conf", str(written), "--retry-times", "0", "--src", "docker",
            "--dest", "dir")
    done = spyglass("sync", *args, f"{down}/team/app", str(tmp_path / "all"))
    assert done.returncode == 1 and done.stdout == "", done
    where = {"none": "", "location": "location", "mirrors": "mirrors"}[conf]
    said = (f"spyglass: Listing the tags of {down}/team/app failed: Cannot reach the "
            f"registry {down}: connection refused")
    assert done.stderr.splitlines() == [said + (
        f" (registries.conf's {where} for this repository "
        f"{'serves' if where == 'location' else 'serve'} reads of its images only: its tags "
        f"are listed at {down}, the registry its name says, as skopeo lists them; name the "
        "tags, as REPOSITORY:TAG or in a yaml file's images list)." if where else ".")]
    if conf != "none":
        named = spyglass("sync", "-q", *args, f"{down}/team/app:s0", str(tmp_path / "one"))
        assert named.returncode == 0, named.stderr
        assert (tmp_path / "one" / "app:s0" / "manifest.json").is_file()


def test_a_mirror_and_its_origin_listed_together_are_synced_as_skopeo_syncs_them(
    source: str, make_registry: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    """The same repository from two registries, holding the very same images (a mirror
    and its origin): each tag names one manifest in both, so the one name each gets is
    no conflict (they were refused as "the second would replace the first")."""
    mirror = make_registry()
    target = make_registry()
    for tag in ("v0", "v1"):
        pushed = spyglass("copy", "-q", "--src-tls-verify=false", "--dest-tls-verify=false",
                          f"docker://{source}/sync/tools:{tag}",
                          f"docker://{mirror.host}/sync/tools:{tag}")
        assert pushed.returncode == 0, pushed.stderr
    listing = tmp_path / "sources.yaml"
    listing.write_text(f"{source}:\n  images:\n    sync/tools: [v0, v1]\n"
                       f"{mirror.host}:\n  images:\n    sync/tools: [v1, v0]\n")
    dry = spyglass("sync", "--dry-run", "--src", "yaml", "--dest", "docker", str(listing),
                   f"{target.host}/m")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[-1] == "Would sync 4 images from 2 sources"
    done = spyglass("sync", "-q", "--src", "yaml", "--dest", "docker", str(listing),
                    f"{target.host}/m")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("Synced 4 images from 2 sources")
    assert tags_of(target, "m/tools") == ["v0", "v1"]
    for tag in ("v0", "v1"):
        assert raw_digest(f"docker://{target.host}/m/tools:{tag}") == raw_digest(
            f"docker://{source}/sync/tools:{tag}")


def test_tls_advice_for_a_yaml_entry_names_the_entry_not_the_flag_it_wins_over(
    source: str, tls_registry: RegistryServer, fresh_registry: RegistryServer,
    tmp_path: Path
) -> None:
    """An entry's ``tls-verify: true`` wins over ``--src-tls-verify=false``, and the advice
    was to give that very flag; a cert-dir is the entry's to name too."""
    plain = tmp_path / "plain.yaml"
    plain.write_text(f"{source}:\n  tls-verify: true\n  images:\n    sync/tools: [v0]\n")
    listed = tmp_path / "listed.yaml"
    listed.write_text(f"{source}:\n  tls-verify: true\n  images:\n    sync/tools: []\n")
    insecure = (f'allow it to be insecure (tls-verify: false in the entry "{source}" in '
                f'"{plain}").')
    for flags, listing, said in (([], plain, insecure), (["--keep-going"], plain, insecure),
                                 ([], listed, insecure.replace(str(plain), str(listed)))):
        done = spyglass("sync", "-q", *flags, "--src-tls-verify=false", "--src", "yaml",
                        "--dest", "docker", str(listing), f"{fresh_registry.host}/m")
        assert done.returncode == 1
        (line,) = done.stderr.splitlines()
        assert line.endswith(said), line
        assert "--src-tls-verify" not in line

    push_image(tls_registry, single_images(tmp_path / "layout", ("t",)), "t", "sync/t:1")
    untrusted = tmp_path / "untrusted.yaml"
    untrusted.write_text(f"{tls_registry.host}:\n  images:\n    sync/t: ['1']\n")
    done = spyglass("sync", "-q", "--src", "yaml", "--dest", "docker", str(untrusted),
                    f"{fresh_registry.host}/m")
    assert done.returncode == 1
    entry = f'the entry "{tls_registry.host}" in "{untrusted}"'
    assert f"(or a folder named by cert-dir: DIR in {entry}), or allow this registry to be " \
        f"insecure (tls-verify: false in {entry})." in done.stderr, done.stderr


def test_a_rerun_into_folders_notes_no_replaced_image_under_quiet(
    source: str, tmp_path: Path
) -> None:
    """-q said "Note: the dir: image … already there is replaced whole" of every image
    (a thousand lines for a mirror), and said it as done as each copy started, of
    images whose copy was then taken back; the progress says it as what will happen."""
    args = ("--src", "docker", "--dest", "dir", "--src-tls-verify=false",
            f"{source}/sync/tools", str(tmp_path / "out"))
    first = spyglass("sync", "-q", *args)
    assert (first.returncode, first.stderr) == (0, ""), first.stderr
    again = spyglass("sync", "-q", *args)
    assert (again.returncode, again.stderr) == (0, ""), again.stderr
    assert again.stdout.splitlines()[-1] == "Synced 3 images from 1 sources"
    told = spyglass("sync", "--parallel-images", "1", *args)
    assert told.returncode == 0, told.stderr
    notes = [line for line in told.stderr.splitlines() if line.startswith("Note: ")]
    assert sorted(notes) == [
        f'Note: the dir: image in "{tmp_path / "out" / f"tools:{tag}"}" already there will '
        "be replaced whole once the copy is complete" for tag in TOOLS_TAGS], told.stderr


def test_an_image_of_a_shared_name_that_cannot_be_read_fails_and_the_other_is_synced(
    private_source: str, make_registry: Callable[..., RegistryServer], tmp_path: Path
) -> None:
    """A primary and a fallback registry listing one ``repo:tag``, the primary's password
    wrong: not "two images would be synced to the same name" (nothing says they differ),
    but the primary's image failed with its registry's own sentence, as a yaml entry that
    cannot be listed fails; with ``--keep-going`` the fallback's image is synced."""
    fallback, target = make_registry(), make_registry()
    push_image(fallback, single_images(tmp_path / "layout", ("a",)), "a", "priv/app:a")
    listing = tmp_path / "fallback.yaml"
    listing.write_text(f"{private_source}:\n  tls-verify: false\n  credentials: {{username: "
                       "alice, password: bad}\n  images:\n    priv/app: [a]\n"
                       f"{fallback.host}:\n  tls-verify: false\n  images:\n    priv/app: [a]\n")
    args = ("--src", "yaml", "--dest", "docker", str(listing), f"{target.host}/m")
    said = (f"Not syncing docker://{private_source}/priv/app:a, as it could not be compared "
            f"with docker://{fallback.host}/priv/app:a, which would be synced to the same "
            f"name docker://{target.host}/m/app:a: Looking up the manifest {private_source}/"
            f"priv/app:a failed: the registry {private_source} refused the credentials given. "
            f'Check the entry "{private_source}" in "{listing}".')
    stopped = spyglass("sync", "-q", *args)
    assert (stopped.returncode, stopped.stdout) == (1, ""), stopped
    assert stopped.stderr == (f"spyglass: {said} Stopped there: --keep-going goes on with "
                              "the other images.\n")
    assert catalog(target) == []
    dry = spyglass("sync", "--dry-run", "--keep-going", *args)
    assert (dry.returncode, dry.stderr) == (1, f"spyglass: {said}\n"), dry
    assert dry.stdout.splitlines()[-1] == "Would sync 1 images from 2 sources, 1 not read"
    went_on = spyglass("sync", "-q", "--keep-going", *args)
    assert went_on.returncode == 1, went_on
    assert went_on.stderr == f"spyglass: {said}\n"
    assert went_on.stdout.splitlines()[-1] == "Synced 1 images from 2 sources, 1 failed"
    assert tags_of(target, "m/app") == ["a"]


def test_a_tag_removed_after_the_listing_is_said_to_be(
    source: str, fresh_registry: RegistryServer, tmp_path: Path
) -> None:
    """A tag the sync listed but that is gone when its turn comes failed with "has no
    tag", which reads as a mistake in the file: it says it was listed and removed since
    (the listing here answers one tag more than the repository holds: the same thing)."""
    from spyglass.core.copy import CopyOptions
    from spyglass.core.reference import DockerReference
    from spyglass.core.sync import SyncRequest, list_sources, registry_tags
    from spyglass.core.sync_run import run_sync
    from spyglass.core.transports.registry import RegistryOptions

    options = RegistryOptions(tls_verify=False)
    real = registry_tags()

    def with_one_removed(reference: DockerReference,
                         registry: RegistryOptions | None) -> list[str]:
        return [*real(reference, registry), "removed"]

    request = SyncRequest("docker", f"{source}/sync/app", "dir", str(tmp_path / "out"),
                          registry=options)
    images = [image for each in list_sources(request, with_one_removed)
              for image in each.images]
    results = run_sync(images, CopyOptions(), None, parallel_images=1, keep_going=True)
    errors = {str(result.image.source): str(result.error) for result in results
              if result.error is not None}
    [(name, said)] = errors.items()
    assert name.endswith("sync/app:removed")
    assert 'has no tag "removed"; its tags are ' in said
    assert said.endswith("; it was listed at the start of this sync, so it was removed since.")
    assert len(results) == len(APP_TAGS) + 1  # (the others synced)

    # the repository's last tag removed: the registry has no such repository now
    def only_one(reference: DockerReference, registry: RegistryOptions | None) -> list[str]:
        return ["last"]

    request = SyncRequest("docker", f"{source}/sync/emptied", "dir", str(tmp_path / "out2"),
                          registry=options)
    [image] = [image for each in list_sources(request, only_one) for image in each.images]
    [result] = run_sync([image], CopyOptions(), None, keep_going=True)
    assert str(result.error).endswith(
        "has no repository sync/emptied, or it has no tags (some registries answer the same "
        "for both); it was listed at the start of this sync, so it was removed since.")
