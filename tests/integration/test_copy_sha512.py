"""Images whose blobs are named by sha512 digests, copied into distribution 2.8 and back.

distribution stores every blob under its sha256 digest; a repository's link for the
sha512 name points at that sha256 (``_layers/sha512/HEX/link`` holds ``sha256:…``).
A mount (``POST …/blobs/uploads/?mount=sha512:…``) writes that link anew pointing
at the sha512 name itself, where no blob is stored: the repository no longer serves
the blob, even where it held it before the mount. So no copy mounts a blob by its
sha512 name, and the write check (which mounts the config onto the destination
itself) mounts it by the sha256 name the registry states for it.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from spyglass.cli import main
from spyglass.core.digest import Digest
from spyglass.core.transports.registry.client import RegistryClient
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, sha512_layout
from tests.helpers.registry import RegistryServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sha512_image(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A layout of one image named all by sha512 (ref ``s512``), and its manifest."""
    plain = tmp_path_factory.mktemp("plain") / "image"
    builder = LayoutBuilder(plain)
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/f": b"sha512 twice\n"})])),
                "s512")
    root = tmp_path_factory.mktemp("sha512") / "image"
    entry = sha512_layout(plain, root)
    manifest = json.loads((root / "blobs" / "sha512" / entry["digest"][7:]).read_bytes())
    return root, manifest


def blobs_of(manifest: dict[str, Any]) -> list[str]:
    return [manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]


def assert_readable(registry: RegistryServer, repository: str,
                    manifest: dict[str, Any]) -> None:
    """Every blob of ``manifest`` is served by its sha512 name, its bytes matching it."""
    with registry.client() as http:
        for digest in blobs_of(manifest):
            answer = http.get(f"/v2/{repository}/blobs/{digest}")
            assert answer.status_code == 200, (repository, digest, answer.text)
            assert f"sha512:{hashlib.sha512(answer.content).hexdigest()}" == digest


def copy(source: str, destination: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["copy", "-q", source, destination])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()


def test_a_sha512_image_copied_twice_into_one_repository_stays_readable(
    registry: RegistryServer, sha512_image: tuple[Path, dict[str, Any]], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The second copy's write check mounted the config onto the repository by its
    sha512 name: distribution relinked it to nothing, refused the manifest
    (MANIFEST_BLOB_UNKNOWN) and no longer served the config the first copy left."""
    layout, manifest = sha512_image
    repository = "it-sha512/twice"
    for tag in ("1", "1", "2"):
        copy(f"oci:{layout}:s512", f"docker://{registry.host}/{repository}:{tag}", capsys)
        assert_readable(registry, repository, manifest)
    # the check mounted the config by its sha256 name: no upload session was opened
    assert not any((registry.repository_dir(repository) / "_uploads").iterdir())
    assert main(["inspect", "--config", f"docker://{registry.host}/{repository}:1"]) == 0
    assert json.loads(capsys.readouterr().out)["architecture"] == "amd64"
    # and back into a layout: the registry names the manifest by sha256, its blobs by sha512
    out = tmp_path / "back"
    copy(f"docker://{registry.host}/{repository}:2", f"oci:{out}:back", capsys)
    for digest in blobs_of(manifest):
        assert (out / "blobs" / "sha512" / digest[7:]).is_file()
    assert main(["inspect", "--config", f"oci:{out}:back"]) == 0
    assert json.loads(capsys.readouterr().out)["rootfs"]["type"] == "layers"


def test_a_copy_into_another_repository_uploads_sha512_blobs_and_leaves_the_first_whole(
    registry: RegistryServer, sha512_image: tuple[Path, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A mount from the repository the blob-location cache saw them in would link them
    to nothing in the one copied into: they are uploaded instead."""
    layout, manifest = sha512_image
    copy(f"oci:{layout}:s512", f"docker://{registry.host}/it-sha512/first:1", capsys)
    copy(f"oci:{layout}:s512", f"docker://{registry.host}/it-sha512/second:1", capsys)
    for repository in ("it-sha512/first", "it-sha512/second"):
        assert_readable(registry, repository, manifest)
        links = registry.repository_dir(repository) / "_layers" / "sha512"
        for digest in blobs_of(manifest):
            assert (links / digest[7:] / "link").read_text().startswith("sha256:")


def test_a_repository_a_sha512_mount_broke_is_mended_by_the_next_copy(
    registry: RegistryServer, sha512_image: tuple[Path, dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As an earlier Spyglass left it: the config's sha512 link pointing at itself."""
    layout, manifest = sha512_image
    repository = "it-sha512/broken"
    copy(f"oci:{layout}:s512", f"docker://{registry.host}/{repository}:1", capsys)
    config = manifest["config"]["digest"]
    link = registry.repository_dir(repository) / "_layers" / "sha512" / config[7:] / "link"
    link.write_text(config)
    with registry.client() as http:
        assert http.head(f"/v2/{repository}/blobs/{config}").status_code == 404
    copy(f"oci:{layout}:s512", f"docker://{registry.host}/{repository}:2", capsys)
    assert_readable(registry, repository, manifest)


def test_no_blob_is_mounted_by_its_sha512_name(registry: RegistryServer) -> None:
    """The client asks no such mount: not onto the repository holding the blob (which it
    would break), nor into another (which would get a link to nothing)."""
    client = RegistryClient(registry.host)
    data = b"mounted by sha512? no" * 100
    digest = Digest("sha512", hashlib.sha512(data).hexdigest())
    assert client.upload_blob("it-sha512/held", io.BytesIO(data), digest, len(data)) == (
        digest, len(data))
    assert client.mount_blob("it-sha512/held", digest, "it-sha512/held") is False
    assert client.mount_blob("it-sha512/never", digest, "it-sha512/held") is False
    assert client.blob_exists("it-sha512/held", digest) == len(data)
    assert not registry.repository_dir("it-sha512/never").exists()
