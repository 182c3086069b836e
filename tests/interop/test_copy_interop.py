"""What ``spyglass copy`` prints, and a docker-archive written to a pipe, read by skopeo.

On a non-terminal stderr the command prints one line per blob and stays off
stdout; ``-q`` prints nothing; ``--digestfile`` gets the digest; and
``docker-archive:/dev/stdout`` streams a tarball skopeo reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers import require_tool
from tests.helpers.imagebuild import multi_platform_layout

pytestmark = pytest.mark.interop

REPO_ROOT = Path(__file__).resolve().parents[2]


def spyglass(
    *args: str, stdout: int | None = subprocess.PIPE, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    environment = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO_ROOT / "app")}
    return subprocess.run(
        [sys.executable, "-m", "spyglass", *args],
        stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE,
        env=environment, timeout=60, check=False,
    )


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("copy-interop") / "layout"
    return root, str(multi_platform_layout(root)["digest"])


def test_progress_on_a_pipe(layout: tuple[Path, str], tmp_path: Path) -> None:
    source, digest = layout
    digestfile = tmp_path / "digest"
    done = spyglass("copy", "--all", "--digestfile", str(digestfile),
                    f"oci:{source}:latest", f"oci:{tmp_path / 'out'}:v1")
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    assert done.stdout == b""
    assert "\r" not in stderr and "\x1b" not in stderr  # no terminal status line
    assert digestfile.read_text() == digest
    lines = stderr.splitlines()
    blob_lines = [line for line in lines if re.match(r"(Copying|Skipping) blob ", line)]
    blobs = {line.split()[2] for line in blob_lines}
    assert len(blobs) == 8  # 3 configs, 3 platform layers, a shared base and app layer
    assert len(blob_lines) == len(blobs), stderr  # one line per blob
    assert lines[0] == "Copying 8 blobs, 3.7 KiB"
    assert len([line for line in lines if line.startswith("Writing manifest ")]) == 4
    assert lines[-1].startswith("spyglass: Copied ") and digest in lines[-1]

    # again: everything is there already, one "Skipping" line per blob
    again = spyglass("copy", "--all", f"oci:{source}:latest", f"oci:{tmp_path / 'out'}:v2")
    assert again.returncode == 0 and again.stdout == b""
    skipped = [line for line in again.stderr.decode().splitlines()
               if line.startswith("Skipping blob ")]
    assert len(skipped) == 8 and all(line.endswith("already there") for line in skipped)


def test_quiet_prints_nothing(layout: tuple[Path, str], tmp_path: Path) -> None:
    source, digest = layout
    digestfile = tmp_path / "digest"
    done = spyglass("copy", "-q", "--all", "--digestfile", str(digestfile),
                    f"oci:{source}:latest", f"dir:{tmp_path / 'dir'}")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"" and done.stderr == b""
    assert digestfile.read_text() == digest


def test_docker_archive_to_stdout(layout: tuple[Path, str], tmp_path: Path) -> None:
    skopeo = require_tool("skopeo")
    source, _ = layout
    archive = tmp_path / "piped.tar"
    with archive.open("wb") as out:
        done = spyglass("copy", "--platform", "linux/arm64/v8", f"oci:{source}:latest",
                        "docker-archive:/dev/stdout:it/piped:1", stdout=out.fileno())
    assert done.returncode == 0, done.stderr.decode()
    assert archive.stat().st_size > 0
    inspected = json.loads(subprocess.run(
        [skopeo, "inspect", f"docker-archive:{archive}"],
        capture_output=True, check=True, timeout=60,
    ).stdout)
    assert inspected["Architecture"] == "arm64"
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest[0]["RepoTags"] == ["docker.io/it/piped:1"]
    # and the same image written to a file is the same image
    written = tmp_path / "file.tar"
    assert spyglass("copy", "-q", "--platform", "linux/arm64/v8", f"oci:{source}:latest",
                    f"docker-archive:{written}:it/piped:1").returncode == 0
    raw = [
        subprocess.run([skopeo, "inspect", "--raw", f"docker-archive:{path}"],
                       capture_output=True, check=True, timeout=60).stdout
        for path in (archive, written)
    ]
    assert hashlib.sha256(raw[0]).digest() == hashlib.sha256(raw[1]).digest()


def test_umoci_and_skopeo_accept_a_layout_with_attachments(tmp_path: Path) -> None:
    """A copy that carries a cosign tag and a referrer into a layout leaves a layout
    umoci lists, reads and garbage-collects without losing the attached blobs."""
    from spyglass.core.copy import copy_image
    from spyglass.core.transports import open_destination, open_source
    from tests.helpers.cosign import signed_layout

    umoci = require_tool("umoci")
    skopeo = require_tool("skopeo")
    digest, _key = signed_layout(tmp_path / "src")
    target = tmp_path / "dst"
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
               open_destination(f"oci:{target}:copied"))
    names = subprocess.run([umoci, "ls", "--layout", str(target)], capture_output=True,
                           text=True, check=True).stdout.split()
    assert sorted(names) == sorted(["copied", f"{digest.replace(':', '-')}.sig"])
    subprocess.run([umoci, "stat", "--image", f"{target}:copied"], capture_output=True,
                   check=True)
    before = sorted(p.name for p in (target / "blobs" / "sha256").iterdir())
    subprocess.run([umoci, "gc", "--layout", str(target)], capture_output=True, check=True)
    assert sorted(p.name for p in (target / "blobs" / "sha256").iterdir()) == before
    raw = subprocess.run([skopeo, "inspect", "--raw", f"oci:{target}:copied"],
                         capture_output=True, check=True).stdout
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest


@pytest.mark.parametrize(("extra", "skopeo_extra"), [
    (("--all",), ("--all",)),
    (("--platform", "linux/arm64"), ("--override-arch", "arm64")),  # skopeo 1.9: no --platform
])
def test_a_conversion_to_docker_schema_2_writes_what_skopeo_writes(
    layout: tuple[Path, str], tmp_path: Path, extra: tuple[str, ...],
    skopeo_extra: tuple[str, ...],
) -> None:
    """OCI → Docker schema 2, by each tool into ``dir:``: the same manifests byte for byte
    (Docker's field order: mediaType, size, digest), so the same digests."""
    skopeo = require_tool("skopeo")
    root, _ = layout
    source = f"oci:{root}:latest"
    theirs, ours = tmp_path / "skopeo", tmp_path / "spyglass"
    subprocess.run([skopeo, "--insecure-policy", "copy", "--quiet", "--format", "v2s2",
                    *skopeo_extra, source, f"dir:{theirs}"], check=True, timeout=60)
    done = spyglass("copy", "--quiet", "--format", "v2s2", *extra, source, f"dir:{ours}")
    assert done.returncode == 0, done.stderr.decode()
    manifests = sorted(p.name for p in theirs.iterdir() if p.name.endswith("manifest.json"))
    assert manifests == sorted(p.name for p in ours.iterdir()
                               if p.name.endswith("manifest.json"))
    assert manifests  # manifest.json, and with --all one per instance
    for name in manifests:
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), name
    top = json.loads((ours / "manifest.json").read_bytes())
    assert top["mediaType"].startswith("application/vnd.docker.distribution.manifest.")


def test_quiet_still_says_what_is_left_behind(tmp_path: Path) -> None:
    """-q silences progress, not the notes of what the copy leaves out (an SBOM a dir:
    cannot keep), as skopeo's warnings stay."""
    from tests.helpers.cosign import signed_layout

    signed_layout(tmp_path / "src")
    done = spyglass("copy", "-q", f"oci:{tmp_path / 'src'}:app", f"dir:{tmp_path / 'dir'}")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b""
    assert done.stderr.decode() == (
        f"Note: 1 SBOM left behind: dir:{tmp_path / 'dir'} cannot keep it\n")


@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_a_gzipped_archive_copies_into_a_layout_umoci_and_skopeo_read(
    layout: tuple[Path, str], tmp_path: Path, transport: str
) -> None:
    """``docker save img | gzip > img.tar.gz``, then ``spyglass copy docker-archive:img.tar.gz
    oci:out:tag``: the image lands as the uncompressed archive's would, umoci and skopeo
    read it, and the decompressed copy is gone from $TMPDIR afterwards."""
    import gzip

    skopeo = require_tool("skopeo")
    umoci = require_tool("umoci")
    source, _ = layout
    plain = tmp_path / "saved.tar"
    name = ":it/saved:1" if transport == "docker-archive" else ":v1"
    subprocess.run([skopeo, "copy", "-q", "--override-arch", "arm64",
                    f"oci:{source}:latest", f"{transport}:{plain}{name}"],
                   check=True, timeout=60)
    packed = tmp_path / "saved.tar.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    temporary = tmp_path / "tmpdir"
    temporary.mkdir()
    out = tmp_path / "out"
    done = spyglass("copy", "-q", f"{transport}:{packed}", f"oci:{out}:tag",
                    env={"TMPDIR": str(temporary)})
    assert done.returncode == 0, done.stderr.decode()
    assert list(temporary.iterdir()) == []

    names = subprocess.run([umoci, "ls", "--layout", str(out)], capture_output=True,
                           text=True, check=True).stdout.split()
    assert names == ["tag"]
    subprocess.run([umoci, "stat", "--image", f"{out}:tag"], capture_output=True, check=True)
    subprocess.run([umoci, "unpack", "--rootless", "--image", f"{out}:tag",
                    str(tmp_path / "bundle")], capture_output=True, check=True)
    assert (tmp_path / "bundle" / "rootfs" / "app" / "run.sh").is_file()

    def config(name: str) -> object:
        return json.loads(subprocess.run([skopeo, "inspect", "--config", name],
                                         capture_output=True, check=True, timeout=60).stdout)

    assert config(f"oci:{out}:tag") == config(f"{transport}:{plain}")
    subprocess.run([skopeo, "copy", "-q", f"oci:{out}:tag", f"dir:{tmp_path / 'again'}"],
                   capture_output=True, check=True, timeout=60)


def test_a_layout_a_stopped_skopeo_copy_left_is_copied_into(tmp_path: Path) -> None:
    """skopeo makes the folder and its blobs/ before it reads the source: one that fails
    (here, a source registry nobody answers on) leaves them, and a copy goes on there."""
    skopeo = require_tool("skopeo")
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    out = tmp_path / "layout"
    failed = subprocess.run(
        [skopeo, "--insecure-policy", "copy", "--retry-times", "0", "--src-tls-verify=false",
         f"docker://127.0.0.1:{port}/nobody/here:1", f"oci:{out}:app"],
        capture_output=True, text=True, timeout=60, check=False)
    assert failed.returncode != 0
    assert out.is_dir() and "oci-layout" not in os.listdir(out)
    multi_platform_layout(tmp_path / "source")
    copied = spyglass("copy", "-q", f"oci:{tmp_path / 'source'}:latest", f"oci:{out}:app")
    assert copied.returncode == 0, copied.stderr
    listed = subprocess.run([skopeo, "inspect", f"oci:{out}:app"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert listed.returncode == 0, listed.stderr


def test_a_zstd_chunked_image_skopeo_wrote_is_refused_saying_why(
    layout: tuple[Path, str], tmp_path: Path
) -> None:
    """skopeo 1.9's zstd:chunked writer rewrites each layer's tar but keeps the config's
    diff IDs: such an image copies as stored, and converting it is refused saying that
    the layer is zstd:chunked and how to copy it, not as if it were corrupt."""
    skopeo = require_tool("skopeo")
    root, _ = layout
    chunked = tmp_path / "zc"
    subprocess.run([skopeo, "--insecure-policy", "copy", "-q", "--override-arch", "amd64",
                    "--dest-compress-format", "zstd:chunked", f"oci:{root}:latest",
                    f"oci:{chunked}:t"], check=True, capture_output=True, timeout=60)
    manifest = json.loads(subprocess.run([skopeo, "inspect", "--raw", f"oci:{chunked}:t"],
                                         check=True, capture_output=True).stdout)
    if not any("zstd-chunked" in key for layer in manifest["layers"]
               for key in layer.get("annotations", {})):
        pytest.skip("this skopeo writes no zstd:chunked annotations")

    kept = spyglass("copy", "-q", f"oci:{chunked}:t", f"oci:{tmp_path / 'kept'}:t")
    assert kept.returncode == 0, kept.stderr.decode()
    for flags, name in ((("--dest-compress-format", "gzip"), f"oci:{tmp_path / 'gz'}:t"),
                        ((), f"docker-archive:{tmp_path / 'a.tar'}:it/zc:1")):
        refused = spyglass("copy", "-q", *flags, f"oci:{chunked}:t", name)
        stderr = refused.stderr.decode()
        if refused.returncode == 0:
            pytest.skip("this skopeo's zstd:chunked layers match their diff IDs")
        assert refused.returncode == 1
        assert re.fullmatch(
            r"spyglass: The layer sha256:[0-9a-f]{64} is a zstd:chunked layer whose tar was "
            r"rewritten as it was compressed \(skopeo 1\.9 writes zstd:chunked so\) and "
            r"decompresses to sha256:[0-9a-f]{64}, not the diff ID sha256:[0-9a-f]{64} its "
            r"config names: recompressed or uncompressed it would not match its config, so "
            r"it is not copied; copy it as stored: leave out --dest-compress-format, "
            r"--dest-decompress and --format v2s2, and do not copy it into a "
            r"docker-archive:\.", stderr.splitlines()[-1]), stderr
    assert not (tmp_path / "gz").exists() and not (tmp_path / "a.tar").exists()
