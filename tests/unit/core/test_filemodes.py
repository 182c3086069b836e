"""The modes of what a copy makes on disk: 0644 and 0755 less the umask, as umoci makes
them (spyglass.core.filemodes), in every kind of local destination.

The umask is the process's: :func:`umask` sets it for one test and puts the old one
back. Destinations read it when they are opened, which the tests do after setting it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from spyglass.core import filemodes
from spyglass.core.copy import copy_image
from spyglass.core.filemodes import make_folders, process_umask
from spyglass.core.transports import open_destination, open_source
from spyglass.core.transports.registry.hosts import trust_ca_certificate
from tests.helpers.registry import CertificateAuthority
from tests.unit.core.transports.test_layout_dest import single_image_layout


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("src") / "layout"
    single_image_layout(root)
    return f"oci:{root}:app"


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The umask ``request.param`` for the test (the process's, put back after it)."""
    value: int = request.param
    old = os.umask(value)
    try:
        yield value
    finally:
        os.umask(old)


UMASKS = [0o077, 0o022, 0o002]


def modes(root: Path) -> dict[str, int]:
    """Path below ``root`` (``.`` for itself) → its permission bits."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def expected(root: Path, umask: int) -> dict[str, int]:
    """What :func:`modes` should find: files 0644, folders 0755, less the umask."""
    found = {".": 0o755 & ~umask}
    for path in root.rglob("*"):
        mode = 0o755 if path.is_dir() else 0o644
        found[str(path.relative_to(root))] = mode & ~umask
    return found


@pytest.mark.parametrize("umask", UMASKS, indirect=True, ids="umask-{:03o}".format)
@pytest.mark.parametrize("kind", ["oci", "dir"])
def test_a_folder_image_follows_the_umask(source: str, tmp_path: Path, umask: int,
                                          kind: str) -> None:
    made = tmp_path / "made"  # a missing folder above it is made too, as a sync makes it
    target = made / "image"
    name = f"oci:{target}:app" if kind == "oci" else f"dir:{target}"
    copy_image(open_source(source), open_destination(name, make_parents=True))
    found = modes(made)
    assert found == expected(made, umask)
    if kind == "oci":
        assert {"image/index.json", "image/oci-layout", "image/blobs/sha256"} <= set(found)
    else:
        assert {"image/manifest.json", "image/version"} <= set(found)


@pytest.mark.parametrize("umask", UMASKS, indirect=True, ids="umask-{:03o}".format)
@pytest.mark.parametrize("kind", ["docker-archive", "oci-archive"])
def test_an_archive_follows_the_umask(source: str, tmp_path: Path, umask: int,
                                      kind: str) -> None:
    target = tmp_path / "image.tar"
    copy_image(open_source(source), open_destination(f"{kind}:{target}"))
    assert os.listdir(tmp_path) == ["image.tar"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644 & ~umask


@pytest.mark.parametrize("umask", [0o077], indirect=True, ids="umask-{:03o}".format)
def test_what_is_replaced_keeps_its_mode_whatever_the_umask(
        source: str, tmp_path: Path, umask: int) -> None:
    layout = tmp_path / "layout"
    archive = tmp_path / "image.tar"
    copy_image(open_source(source), open_destination(f"oci:{layout}:app"))
    copy_image(open_source(source), open_destination(f"oci-archive:{archive}"))
    (layout / "index.json").chmod(0o644)
    archive.chmod(0o640)
    copy_image(open_source(source), open_destination(f"oci:{layout}:again"))
    copy_image(open_source(source), open_destination(f"oci-archive:{archive}"))
    assert stat.S_IMODE((layout / "index.json").stat().st_mode) == 0o644
    assert stat.S_IMODE(archive.stat().st_mode) == 0o640


@pytest.mark.parametrize("umask", [0o077], indirect=True, ids="umask-{:03o}".format)
def test_blobs_added_to_a_layout_are_as_readable_as_its_index(
        tmp_path: Path, umask: int) -> None:
    """A shared layout (0644 index) stays readable to its readers when a private umask
    adds to it: they would see an image they cannot read; a private one stays private."""
    from tests.unit.core.transports.test_layout_dest import single_image_layout as build

    other = tmp_path / "other"
    build(other, marker=b"another image\n")
    for index_mode in (0o644, 0o600):
        layout = tmp_path / f"layout-{index_mode:o}"
        copy_image(open_source(f"oci:{other}:app"), open_destination(f"oci:{layout}:old"))
        (layout / "index.json").chmod(index_mode)
        before = set((layout / "blobs" / "sha256").iterdir())
        source = tmp_path / f"src-{index_mode:o}"
        build(source, marker=f"new {index_mode}\n".encode())
        copy_image(open_source(f"oci:{source}:app"), open_destination(f"oci:{layout}:new"))
        added = set((layout / "blobs" / "sha256").iterdir()) - before
        assert added
        assert {stat.S_IMODE(blob.stat().st_mode) for blob in added} == {index_mode}


@pytest.mark.parametrize("umask", [0o077, 0o022], indirect=True, ids="umask-{:03o}".format)
def test_a_trusted_ca_certificate_follows_the_umask(tmp_path: Path, umask: int) -> None:
    (tmp_path / "ca").mkdir()
    pem = CertificateAuthority(tmp_path / "ca").cert_path
    written = trust_ca_certificate("registry.example", pem, roots=[tmp_path / "certs.d"])
    assert stat.S_IMODE(written.stat().st_mode) == 0o644 & ~umask
    assert stat.S_IMODE(written.parent.stat().st_mode) == 0o755 & ~umask


@pytest.mark.parametrize("umask", [0o027], indirect=True, ids="umask-{:03o}".format)
def test_the_umask_is_read_without_changing_it(umask: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert process_umask() == 0o027
    assert os.umask(0o027) == 0o027  # still what the test set
    # where /proc does not show it, it is read once by setting it and putting it back
    monkeypatch.setattr(filemodes, "_umask_from_proc", lambda: None)
    monkeypatch.setattr(filemodes, "_probed_umask", None)
    assert process_umask() == 0o027
    assert os.umask(0o027) == 0o027
    os.umask(0o022)
    assert process_umask() == 0o027  # once: what it read then


def test_make_folders_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError):
        make_folders(tmp_path / "file")
    with pytest.raises(NotADirectoryError):
        make_folders(tmp_path / "file" / "below")
    make_folders(tmp_path)  # there already: fine
    make_folders(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()
