"""cosign's ``sha256-<hex>.sig`` tag as Spyglass writes it from ``dir:`` signature files,
and as skopeo writes it from the same files: the same bytes, each read by the other.

A registry of this module's own (Debian's ``docker-registry`` on loopback) holds an
image signed as cosign signs (tests/helpers/cosign.py), copied by Spyglass into a
``dir:`` (a ``sigstore-json`` ``signature-1``). From that folder:

- Spyglass and skopeo (``use-sigstore-attachments`` in its registries.d) write the
  ``.sig`` tag to repositories of their own: the manifests and configs are the same
  bytes, and each reads the other's (skopeo copies Spyglass's back into ``dir:`` with
  the same ``signature-1``; Spyglass verifies skopeo's);
- both add to a ``.sig`` cosign wrote for another key: the same bytes again, and
  skopeo copying again onto Spyglass's result changes nothing;
- a ``sigstoreSigned`` policy with the key accepts Spyglass's tag and one with another
  key rejects it. Debian's skopeo 1.9.3 refuses every ``sigstoreSigned`` policy
  ("Debian-local change: sigstore disabled"): that test skips there, saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spyglass.core.digest import Digest
from spyglass.core.signatures import Kind, Status
from spyglass.core.signatures.attached import find_attachments, read_attachment, verify_part
from spyglass.core.transports import open_source
from spyglass.core.transports.registry import RegistryOptions
from tests.helpers import cosign, require_tool
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder
from tests.helpers.registry import RegistryServer, push_artifact, push_image

pytestmark = pytest.mark.interop

REPO_ROOT = Path(__file__).resolve().parents[2]
SIGSTORE_DISABLED = "sigstore disabled"
"""What Debian's skopeo says of any sigstoreSigned policy."""


def _spyglass(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spyglass", "copy", "--src-tls-verify=false",
         "--dest-tls-verify=false", *args],
        capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")},
        timeout=120, check=False, text=True,
    )


class World:
    """The registry, the signed image, its ``dir:`` copy and skopeo's settings."""

    def __init__(self, server: RegistryServer, root: Path) -> None:
        self.server = server
        self.root = root
        self.skopeo = require_tool("skopeo")
        layout = root / "layout"
        builder = LayoutBuilder(layout)
        image = builder.add_image(ImageSpec(layers=[LayerSpec({"/app": b"signed\n"})]))
        builder.tag({k: v for k, v in image.items() if k != "platform"}, "app")
        self.layout = layout
        self.digest = push_image(server, layout, "app", "src/app:v1")
        self.tag = cosign.cosign_tag(self.digest, "sig")
        self.key = cosign.generate_key()
        payload = cosign.simple_signing_payload(f"{server.host}/src/app", self.digest)
        layer = cosign.signature_layer(payload, self.key)
        manifest, blobs = cosign.cosign_manifest(
            [(layer[0], cosign.SIMPLESIGNING_MEDIA_TYPE, layer[1])])
        push_artifact(server, "src/app", manifest, blobs, self.tag)
        self.folder = root / "dir"
        done = _spyglass(f"docker://{server.host}/src/app:v1", f"dir:{self.folder}")
        assert done.returncode == 0, done.stderr
        self.registries_d = root / "registries.d"
        self.registries_d.mkdir()
        (self.registries_d / "sigstore.yaml").write_text(
            "default-docker:\n  use-sigstore-attachments: true\n")

    def name(self, repository: str) -> str:
        return f"docker://{self.server.host}/{repository}:v1"

    def run_skopeo(
        self, *args: str, policy: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        trust = ["--policy", str(policy)] if policy is not None else ["--insecure-policy"]
        return subprocess.run(
            [self.skopeo, *trust, "--registries.d", str(self.registries_d), "copy",
             "--src-tls-verify=false", "--dest-tls-verify=false", *args],
            capture_output=True, timeout=120, check=False, text=True,
        )

    def sig_tag(self, repository: str) -> tuple[bytes, bytes]:
        """The manifest under the image's .sig tag in ``repository``, and its config."""
        with httpx.Client(base_url=self.server.url) as client:
            manifest = client.get(f"/v2/{repository}/manifests/{self.tag}",
                                  headers={"Accept": cosign.OCI_MANIFEST})
            assert manifest.status_code == 200, manifest.text
            config = client.get(
                f"/v2/{repository}/blobs/{json.loads(manifest.content)['config']['digest']}",
                follow_redirects=True)
        return manifest.content, config.content

    def statuses(self, repository: str, key_pem: bytes) -> list[Status]:
        source = open_source(self.name(repository), RegistryOptions(tls_verify=False))
        digest = Digest.parse(self.digest)
        (found,) = [a for a in find_attachments(source, digest)
                    if a.kind is Kind.COSIGN_SIGNATURE]
        return [verify_part(part, digest, key=key_pem).status
                for part in read_attachment(source, found).parts]

    def theirs(self, *repositories: str) -> bytes:
        """The image, and one .sig cosign wrote for another key, in each of
        ``repositories``; that key's public PEM."""
        key = cosign.generate_key("ecdsa-p384")
        payload = cosign.simple_signing_payload(f"{self.server.host}/src/app", self.digest)
        layer = cosign.signature_layer(payload, key)
        manifest, blobs = cosign.cosign_manifest(
            [(layer[0], cosign.SIMPLESIGNING_MEDIA_TYPE, layer[1])])
        for repository in repositories:
            push_image(self.server, self.layout, "app", f"{repository}:v0")
            push_artifact(self.server, repository, manifest, blobs, self.tag)
        return cosign.public_key_pem(key)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    binary = require_tool("docker-registry", "registry")
    require_tool("skopeo")
    with RegistryServer(binary=binary) as server:
        yield World(server, tmp_path_factory.mktemp("cosign-tag-interop"))


def test_spyglass_and_skopeo_write_the_same_sig_tag_and_read_each_others(
    world: World, tmp_path: Path
) -> None:
    done = _spyglass(f"dir:{world.folder}", world.name("ours/app"))
    assert done.returncode == 0, done.stderr
    skopeo = world.run_skopeo(f"dir:{world.folder}", world.name("skopeos/app"))
    assert skopeo.returncode == 0, skopeo.stderr
    assert world.sig_tag("ours/app") == world.sig_tag("skopeos/app")
    key_pem = cosign.public_key_pem(world.key)
    assert world.statuses("skopeos/app", key_pem) == [Status.VERIFIED]
    # skopeo reads Spyglass's tag back into the signature file it came from
    back = tmp_path / "back"
    skopeo = world.run_skopeo(world.name("ours/app"), f"dir:{back}")
    assert skopeo.returncode == 0, skopeo.stderr
    assert (back / "signature-1").read_bytes() == (world.folder / "signature-1").read_bytes()
    assert not (back / "signature-2").exists()


def _policy(path: Path, key_pem: bytes, repository: str) -> Path:
    (path.parent / f"{path.stem}.pub").write_bytes(key_pem)
    requirement: dict[str, Any] = {
        "type": "sigstoreSigned", "keyPath": str(path.parent / f"{path.stem}.pub"),
        "signedIdentity": {"type": "exactRepository", "dockerRepository": repository},
    }
    path.write_text(json.dumps({"default": [{"type": "reject"}],
                                "transports": {"docker": {"": [requirement]}}}))
    return path


def test_a_sigstore_policy_with_the_key_accepts_spyglass_tag(
    world: World, tmp_path: Path
) -> None:
    done = _spyglass(f"dir:{world.folder}", world.name("policy/app"))
    assert done.returncode == 0, done.stderr
    signed_as = f"{world.server.host}/src/app"
    trusted = _policy(tmp_path / "trusted.json", cosign.public_key_pem(world.key), signed_as)
    accepted = world.run_skopeo(world.name("policy/app"), f"dir:{tmp_path / 'a'}",
                                policy=trusted)
    if SIGSTORE_DISABLED in accepted.stderr:
        pytest.skip(f"this skopeo checks no sigstore signatures: {accepted.stderr.strip()}")
    assert accepted.returncode == 0, accepted.stderr
    other = _policy(tmp_path / "other.json",
                    cosign.public_key_pem(cosign.generate_key()), signed_as)
    rejected = world.run_skopeo(world.name("policy/app"), f"dir:{tmp_path / 'b'}",
                                policy=other)
    assert rejected.returncode != 0 and "rejected" in rejected.stderr, rejected.stderr


def test_both_add_to_a_cosign_tag_alike(world: World) -> None:
    """Another key's .sig, as cosign writes it, in two repositories: skopeo adds the
    dir:'s signature to one, Spyglass to the other; the same bytes come out (cosign's
    layer and config rewritten in containers/image's field order). Then skopeo adds the
    same again to Spyglass's: nothing changes."""
    their_key = world.theirs("merge-skopeo/app", "merge-ours/app")
    theirs = world.sig_tag("merge-ours/app")
    skopeo = world.run_skopeo(f"dir:{world.folder}", world.name("merge-skopeo/app"))
    assert skopeo.returncode == 0, skopeo.stderr
    done = _spyglass(f"dir:{world.folder}", world.name("merge-ours/app"))
    assert done.returncode == 0, done.stderr
    assert "is merged into" in done.stderr, done.stderr
    ours = world.sig_tag("merge-ours/app")
    assert ours != theirs
    assert ours == world.sig_tag("merge-skopeo/app")
    for repository in ("merge-skopeo/app", "merge-ours/app"):
        assert world.statuses(repository, their_key) == [Status.VERIFIED,
                                                         Status.BAD_SIGNATURE]
        assert world.statuses(repository, cosign.public_key_pem(world.key)) == [
            Status.BAD_SIGNATURE, Status.VERIFIED]
    again = world.run_skopeo(f"dir:{world.folder}", world.name("merge-ours/app"))
    assert again.returncode == 0, again.stderr
    assert world.sig_tag("merge-ours/app") == ours
