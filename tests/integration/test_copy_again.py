"""``spyglass copy`` into a registry whose tag names the very image already writes nothing
(as crane and regctl skip it; skopeo writes every manifest again), says so, and
``--force-recursive`` writes it all the same; a tag that named another image says which.

What the registry wrote is read from its storage folder: distribution rewrites a tag's
``current/link`` file on every ``PUT`` of the tag, so a file left as it was stands for
a copy that wrote nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, multi_platform_layout
from tests.helpers.registry import ALICE, BOB, RegistryServer, push_image

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
REF_NAME = "org.opencontainers.image.ref.name"


def spyglass(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    return subprocess.run([sys.executable, "-m", "spyglass", *args], capture_output=True,
                          text=True, env=environment, timeout=60, check=False,
                          stdin=subprocess.DEVNULL)


def copy(source: str, destination: str, *flags: str) -> str:
    """The copy's last line on stderr (it must succeed)."""
    done = spyglass("copy", "--all", "--dest-tls-verify=false", *flags, source, destination)
    assert done.returncode == 0, done.stderr
    return done.stderr.splitlines()[-1]


def tag_link(registry: RegistryServer, repository: str, tag: str) -> Path:
    return registry.repository_dir(repository) / "_manifests/tags" / tag / "current/link"


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, str]:
    root = tmp_path / "layout"
    digest = multi_platform_layout(root)["digest"]
    return root, str(digest)


def test_a_copy_the_tag_names_already_writes_nothing_and_says_so(
        registry: RegistryServer, layout: tuple[Path, str]) -> None:
    root, digest = layout
    destination = f"docker://{registry.host}/again/app:1"
    copy(f"oci:{root}:latest", destination)
    link = tag_link(registry, "again/app", "1")
    os.utime(link, ns=(0, 0))  # (any write of the tag gives it the time of now)

    again = spyglass("copy", "--all", "--dest-tls-verify=false", f"oci:{root}:latest",
                     destination)
    assert again.returncode == 0, again.stderr
    # one line says so, not one "Skipping blob …: already there" per blob
    assert again.stderr.splitlines() == [
        "Nothing to copy: the destination has this very image already",
        f"spyglass: Copied oci:{root}:latest to {destination} ({digest}): its name named "
        "this very image already, so nothing was written."]
    assert link.stat().st_mtime_ns == 0

    said = copy(f"oci:{root}:latest", destination, "--force-recursive")
    assert said == f"spyglass: Copied oci:{root}:latest to {destination} ({digest})."
    assert link.stat().st_mtime_ns != 0  # written again, every manifest with it


def test_a_copy_says_what_the_tag_named_before(registry: RegistryServer,
                                               tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path / "layout")
    first = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"first\n"})]))
    second = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"second\n"})]))
    builder.tag(first, "one")
    builder.tag(second, "two")
    destination = f"docker://{registry.host}/again/moved:stable"
    copy(f"oci:{tmp_path / 'layout'}:one", destination)

    said = copy(f"oci:{tmp_path / 'layout'}:two", destination)
    assert said == (f"spyglass: Copied oci:{tmp_path / 'layout'}:two to {destination} "
                    f"({second['digest']}); the name named {first['digest']} before.")


def test_a_copy_that_changes_the_image_writes_it_though_the_tag_names_the_source(
        registry: RegistryServer, layout: tuple[Path, str]) -> None:
    """Only the very manifest the copy would write counts: a conversion writes another."""
    root, digest = layout
    destination = f"docker://{registry.host}/again/converted:1"
    copy(f"oci:{root}:latest", destination)
    said = copy(f"oci:{root}:latest", destination, "--format", "v2s2")
    assert said.endswith(f"; the name named {digest} before.")
    assert f"({digest})" not in said


def test_an_account_that_may_only_pull_copies_what_is_there_already(
        make_token_server: Any, make_registry: Any, layout: tuple[Path, str]) -> None:
    """Nothing to write, so nothing to be allowed: the check of push access before the
    copy refused it (and, for a list alone, opened an upload session it could not
    cancel)."""
    root, digest = layout
    tokens = make_token_server(acl={"alice": {"team/*": ["pull", "push"]},
                                    "bob": {"team/*": ["pull"]}})
    server = make_registry(token_server=tokens)
    push_image(server, root, "latest", "team/app:1", creds=ALICE)
    destination = f"docker://{server.host}/team/app:1"
    said = copy(f"oci:{root}:latest", destination, "--dest-creds", ":".join(BOB))
    assert said.endswith(f"({digest}): its name named this very image already, so nothing "
                         "was written.")
    index_only = spyglass("copy", "--multi-arch", "index-only", "--dest-tls-verify=false",
                          "--dest-creds", ":".join(BOB), f"oci:{root}:latest", destination)
    assert index_only.returncode == 0, index_only.stderr
    assert not (server.repository_dir("team/app") / "_uploads").exists() or not any(
        (server.repository_dir("team/app") / "_uploads").iterdir())
    refused = spyglass("copy", "--all", "--dest-tls-verify=false", "--dest-creds",
                       ":".join(BOB), "--force-recursive", f"oci:{root}:latest", destination)
    assert refused.returncode == 1 and "denied" in refused.stderr, refused.stderr


def test_a_signed_image_copied_again_writes_nothing(registry: RegistryServer,
                                                   tmp_path: Path) -> None:
    """What is attached (a cosign signature under its tag, an SBOM referrer listed in the
    referrers tag: distribution 2.8 has no referrers API) and held already is not
    written again, nor are its blobs asked about; a signature added since is written,
    and the last line says so. (Before, every attached manifest was PUT again.)"""
    from tests.helpers.cosign import signed_layout

    root = tmp_path / "layout"
    digest, _key = signed_layout(root)
    destination = f"docker://{registry.host}/again/signed:1"
    copy(f"oci:{root}:app", destination)
    links = sorted((registry.repository_dir("again/signed") / "_manifests").rglob("link"))
    assert len(links) >= 6  # the image, the .sig and its tag, the SBOM, the referrers tag
    for link in links:
        os.utime(link, ns=(0, 0))  # (any write of a manifest or tag gives it the time of now)

    done = spyglass("copy", "--all", "--dest-tls-verify=false", f"oci:{root}:app", destination)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"spyglass: Copied oci:{root}:app to {destination} ({digest}): its name named this "
        "very image already, so nothing was written.")
    assert "Copying blob" not in done.stderr
    assert [link for link in links if link.stat().st_mtime_ns != 0] == []

    builder = LayoutBuilder(root)
    builder.tag(builder.add_referrer({"digest": digest, "size": len(
        (root / "blobs/sha256" / digest.removeprefix("sha256:")).read_bytes()),
        "mediaType": "application/vnd.oci.image.manifest.v1+json"},
        "application/vnd.example.new+json"), None)
    added = spyglass("copy", "--all", "--dest-tls-verify=false", f"oci:{root}:app",
                     destination)
    assert added.returncode == 0, added.stderr
    # (not "Nothing to copy": the new referrer's blobs are copied next)
    assert added.stderr.splitlines()[0] == (
        "The destination has this very image already; what is attached to it goes along "
        "where the destination lacks it")
    said = added.stderr.splitlines()[-1]
    assert said.endswith(f"({digest}): its name named this very image already, so the "
                         "image was not written again.")
    written = {link.relative_to(registry.repository_dir("again/signed") / "_manifests").parts[:2]
               for link in links if link.stat().st_mtime_ns != 0}
    # the referrers tag alone, which lists the new one too (not the image's tag, not the .sig)
    assert written == {("tags", digest.replace(":", "-"))}
    listed = spyglass("signatures", "--tls-verify=false", f"docker://{registry.host}/"
                      "again/signed:1")
    assert listed.returncode == 0, listed.stderr
    assert "application/vnd.example.new+json" in listed.stdout


def test_force_recursive_writes_what_is_attached_again_and_a_layout_is_not_trusted(
        registry: RegistryServer, tmp_path: Path) -> None:
    """A registry holds a manifest only with its blobs, so what it holds is left as it
    is (as the image itself is); one that lost a blob since is repaired with
    ``--force-recursive``, for what is attached as for the image. A layout's index
    entry proves nothing of its files: the .sig manifest is written again there."""
    import httpx

    from tests.helpers.cosign import signed_layout

    root = tmp_path / "layout"
    digest, _key = signed_layout(root)
    destination = f"docker://{registry.host}/again/lost:1"
    copy(f"oci:{root}:app", destination)
    base = f"http://{registry.host}/v2/again/lost"
    signature = httpx.get(f"{base}/manifests/{digest.replace(':', '-')}.sig", headers={
        "Accept": "application/vnd.oci.image.manifest.v1+json"}).json()
    layer = signature["layers"][0]["digest"]
    assert httpx.delete(f"{base}/blobs/{layer}").status_code == 202  # lost, as it may be
    assert copy(f"oci:{root}:app", destination).endswith("so nothing was written.")
    assert httpx.head(f"{base}/blobs/{layer}").status_code == 404
    copy(f"oci:{root}:app", destination, "--force-recursive")
    assert httpx.head(f"{base}/blobs/{layer}").status_code == 200

    into = tmp_path / "copy"
    copy(f"oci:{root}:app", f"oci:{into}:app")
    entries = json.loads((into / "index.json").read_bytes())["manifests"]
    (sig,) = [entry["digest"] for entry in entries
              if entry.get("annotations", {}).get(REF_NAME, "").endswith(".sig")]
    (into / "blobs/sha256" / sig.removeprefix("sha256:")).unlink()
    copy(f"oci:{root}:app", f"oci:{into}:app")
    assert (into / "blobs/sha256" / sig.removeprefix("sha256:")).is_file()
