"""Bad input through the command line: one sentence naming the input, exit 1, nothing changed.

Each case builds its own bad input, runs ``spyglass inspect`` in a subprocess
(as a user would), and checks that stderr is a single sentence that names what
was wrong, that nothing went to stdout, and that the files involved are exactly
as they were before.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.imagebuild import LayoutBuilder, multi_platform_layout

REPO = Path(__file__).resolve().parents[2]


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` with a hash of its content (or its link target)."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


def run_inspect(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    return subprocess.run(
        [sys.executable, "-m", "spyglass", "inspect", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def add_symlink(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


# Each case: (given tmp_path) -> (image name to inspect, words the sentence must contain)
Case = Callable[[Path], tuple[str, list[str]]]


def missing_path(tmp: Path) -> tuple[str, list[str]]:
    return f"oci:{tmp}/nowhere:latest", [f"{tmp}/nowhere", "does not exist"]


def folder_not_a_layout(tmp: Path) -> tuple[str, list[str]]:
    folder = tmp / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"\xff\xd8\xff")
    return f"oci:{folder}", [str(folder), "oci-layout"]


def bare_folder_not_a_layout(tmp: Path) -> tuple[str, list[str]]:
    folder = tmp / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("nothing here\n")
    return str(folder), [str(folder), "not an image layout"]


def index_not_json(tmp: Path) -> tuple[str, list[str]]:
    layout = tmp / "layout"
    multi_platform_layout(layout)
    (layout / "index.json").write_text("{ this is not json")
    return f"oci:{layout}:latest", [str(layout), "index.json", "not JSON"]


def index_not_utf8(tmp: Path) -> tuple[str, list[str]]:
    layout = tmp / "layout"
    multi_platform_layout(layout)
    (layout / "index.json").write_bytes(b'\xff\xfe{"schemaVersion": 2}')
    return f"oci:{layout}:latest", [str(layout), "index.json", "not UTF-8 text (byte 0xff"]


def index_not_an_index(tmp: Path) -> tuple[str, list[str]]:
    layout = tmp / "layout"
    multi_platform_layout(layout)
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "layers": []}))
    return f"oci:{layout}:latest", [str(layout), "index.json", "manifests"]


def blob_not_matching_its_name(tmp: Path) -> tuple[str, list[str]]:
    layout = tmp / "layout"
    index = multi_platform_layout(layout)
    blob = layout / "blobs" / "sha256" / index["digest"].split(":")[1]
    data = bytearray(blob.read_bytes())
    data[10] ^= 0x01
    blob.write_bytes(bytes(data))
    return f"oci:{layout}:latest", [index["digest"], "does not match"]


def manifest_over_4_mib(tmp: Path) -> tuple[str, list[str]]:
    layout = tmp / "layout"
    builder = LayoutBuilder(layout)
    padding = " " * (4 * 1024 * 1024 + 10)
    huge = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": "sha256:" + "0" * 64, "size": 2},
            "layers": [],
            "annotations": {"padding": padding},
        }
    ).encode()
    descriptor = builder.add_blob(huge)
    descriptor["mediaType"] = "application/vnd.oci.image.manifest.v1+json"
    builder.tag(descriptor, "huge")
    return f"oci:{layout}:huge", ["4 MiB"]


def docker_archive_escaping_manifest(tmp: Path) -> tuple[str, list[str]]:
    archive = tmp / "evil.tar"
    manifest = [{"Config": "../../etc/passwd", "RepoTags": ["evil:1"], "Layers": []}]
    with tarfile.open(archive, "w") as tar:
        add_member(tar, "manifest.json", json.dumps(manifest).encode())
    return f"docker-archive:{archive}", ["../../etc/passwd"]


def archive_with_escaping_symlink(tmp: Path) -> tuple[str, list[str]]:
    archive = tmp / "evil.tar"
    manifest = [{"Config": "config.json", "RepoTags": ["evil:1"], "Layers": []}]
    with tarfile.open(archive, "w") as tar:
        add_member(tar, "manifest.json", json.dumps(manifest).encode())
        add_symlink(tar, "config.json", "../../../../etc/passwd")
    return f"docker-archive:{archive}", ["config.json", "outside"]


def unknown_transport(tmp: Path) -> tuple[str, list[str]]:
    return "floppy:/dev/fd0", ['"floppy:/dev/fd0"', "unknown transport"]


def malformed_reference(tmp: Path) -> tuple[str, list[str]]:
    return "docker://Alpine:latest", ['"docker://Alpine:latest"', "lowercase"]


def malformed_oci_ref(tmp: Path) -> tuple[str, list[str]]:
    layout = tmp / "layout"
    multi_platform_layout(layout)
    return f"oci:{layout}:bad ref!", ["bad ref!"]


def bare_layout_path_with_a_colon(tmp: Path) -> tuple[str, list[str]]:
    # "rel:v1" read as the layout "rel" with the ref "v1" would show another image
    multi_platform_layout(tmp / "rel")
    colon = tmp / "rel:v1"
    multi_platform_layout(colon)
    return str(colon), [f'"{colon}"', "colon"]


def layout_link_loop(tmp: Path) -> tuple[str, list[str]]:
    (tmp / "loop-a").symlink_to(tmp / "loop-b")
    (tmp / "loop-b").symlink_to(tmp / "loop-a")
    return f"oci:{tmp}/loop-a:latest", [f"{tmp}/loop-a", "loop"]


def dangling_layout_link(tmp: Path) -> tuple[str, list[str]]:
    (tmp / "gone").symlink_to(tmp / "nowhere")
    return f"oci:{tmp}/gone:latest", [f"{tmp}/gone", f"{tmp}/nowhere", "does not exist"]


def escape_sequence_in_a_name(tmp: Path) -> tuple[str, list[str]]:
    # quoted back as escapes: the terminal must not clear itself or change its title
    return f"oci:{tmp}/\x1b]0;owned\x07\x1b[2J:latest", ["\\x1b]0;owned\\x07\\x1b[2J"]


CASES: list[Case] = [
    escape_sequence_in_a_name,
    bare_layout_path_with_a_colon,
    layout_link_loop,
    dangling_layout_link,
    missing_path,
    folder_not_a_layout,
    bare_folder_not_a_layout,
    index_not_json,
    index_not_utf8,
    index_not_an_index,
    blob_not_matching_its_name,
    manifest_over_4_mib,
    docker_archive_escaping_manifest,
    archive_with_escaping_symlink,
    unknown_transport,
    malformed_reference,
    malformed_oci_ref,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_bad_input_gets_one_sentence_and_changes_nothing(case: Case, tmp_path: Path) -> None:
    name, words = case(tmp_path)
    before = snapshot(tmp_path)

    result = run_inspect(name)

    assert result.returncode == 1, result
    assert result.stdout == ""
    message = result.stderr.strip()
    assert "Traceback" not in result.stderr
    assert "\x1b" not in result.stderr
    assert len(message.splitlines()) == 1, message
    assert message.startswith("spyglass: ")
    assert message.endswith((".", ")")), message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert snapshot(tmp_path) == before
