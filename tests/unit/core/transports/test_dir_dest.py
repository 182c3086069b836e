"""Writing ``dir:`` images: ``DirDestination`` (spyglass.core.transports.dirlayout).

The format is checked against what skopeo writes for the same source; the
old image at the path must survive until the new one is complete.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
from pathlib import Path

import pytest

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    Cancelled,
    DigestMismatch,
    InvalidLayout,
    TransportError,
)
from spyglass.core.manifest import Descriptor, ImageIndex, child_descriptors, parse_manifest
from spyglass.core.transports import dir_swap, open_destination, open_source
from spyglass.core.transports.base import ImageDestination
from spyglass.core.transports.dirlayout import VERSION_TEXT, DirDestination
from spyglass.core.transports.temporaries import TEMP_PREFIX
from tests.helpers import require_tool
from tests.helpers.imagebuild import multi_platform_layout
from tests.unit.core.transports.test_layout_dest import (
    ChunkStream,
    _copy_manifest,
    copy_blob,
    copy_image,
    leftovers,
    run,
    single_image_layout,
)


@pytest.fixture(scope="module")
def multi_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("src") / "multi"
    multi_platform_layout(root)
    return root


@pytest.fixture(scope="module")
def single_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("src") / "single"
    single_image_layout(root)
    single_image_layout(root, ref="other", marker=b"v2\n")
    return root


def files_of(folder: Path) -> dict[str, str]:
    """File name → sha256 of its content."""
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in sorted(os.listdir(folder))
    }


def siblings(path: Path) -> list[str]:
    return leftovers(path.parent)


# --------------------------------------------------------------------------- format


def test_a_single_image_is_written_as_skopeo_writes_it(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "image"
    source = open_source(f"oci:{single_source}:app")
    dest = open_destination(f"dir:{out}")
    assert isinstance(dest, DirDestination) and isinstance(dest, ImageDestination)
    assert dest.description == f"dir:{out}"
    assert dest.supported_manifest_types == () and dest.accepts_lists is True
    top = copy_image(source, dest)
    dest.close()

    manifest = parse_manifest(*source.get_manifest())
    expected = {"manifest.json", "version"} | {
        blob.digest.hex for blob in child_descriptors(manifest)
    }
    assert set(os.listdir(out)) == expected
    assert (out / "version").read_text() == VERSION_TEXT == "Directory Transport Version: 1.1\n"
    assert (out / "manifest.json").read_bytes() == source.get_manifest()[0]
    assert siblings(out) == []

    back = open_source(f"dir:{out}")
    assert Digest.of(back.get_manifest()[0]) == top.digest
    for blob in child_descriptors(manifest):
        with back.open_blob(blob) as stream:
            stream.readall()
            assert stream.verified

    skopeo = require_tool("skopeo")
    assert json.loads(run(skopeo, "inspect", f"dir:{out}"))["Digest"] == str(top.digest)
    by_skopeo = tmp_path / "by-skopeo"
    run(skopeo, "copy", "-q", f"oci:{single_source}:app", f"dir:{by_skopeo}")
    assert files_of(out) == files_of(by_skopeo)


def test_a_list_with_all_instances(multi_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "image"
    source = open_source(f"oci:{multi_source}:latest")
    top = copy_image(source, DirDestination(out))
    index = parse_manifest(*source.get_manifest())
    assert isinstance(index, ImageIndex)
    assert (out / "manifest.json").read_bytes() == source.get_manifest()[0]
    instance_files = {name for name in os.listdir(out) if name.endswith(".manifest.json")}
    assert instance_files == {f"{child.digest.hex}.manifest.json" for child in index.manifests}
    assert f"{top.digest.hex}.manifest.json" not in instance_files

    back = open_source(f"dir:{out}")
    for child in index.manifests:
        assert back.get_manifest(str(child.digest))[0] == source.get_manifest(
            str(child.digest)
        )[0]

    skopeo = require_tool("skopeo")
    by_skopeo = tmp_path / "by-skopeo"
    run(skopeo, "copy", "-q", "--all", f"oci:{multi_source}:latest", f"dir:{by_skopeo}")
    assert files_of(out) == files_of(by_skopeo)
    run(skopeo, "copy", "-q", "--all", f"dir:{out}", f"oci:{tmp_path / 'again'}:x")


def test_one_instance_of_a_list_is_a_plain_image(multi_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "image"
    source = open_source(f"oci:{multi_source}:latest")
    index = parse_manifest(*source.get_manifest())
    assert isinstance(index, ImageIndex)
    chosen = index.manifests[1]
    raw, _ = source.get_manifest(str(chosen.digest))
    dest = DirDestination(out)
    top = _copy_manifest(source, dest, raw, chosen.media_type)
    dest.commit(top, raw)
    assert not [name for name in os.listdir(out) if name.endswith(".manifest.json")]
    assert (out / "manifest.json").read_bytes() == raw


def test_a_wrong_manifest_digest_is_refused(tmp_path: Path) -> None:
    dest = DirDestination(tmp_path / "image")
    raw = b'{"schemaVersion":2}'
    with pytest.raises(DigestMismatch):
        dest.put_manifest(raw, "", Digest.of(b"other"))
    dest.abort()


# --------------------------------------------------------------------------- the old image


def test_the_old_image_stays_intact_until_commit(single_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    old_files = files_of(out)
    old_manifest = (out / "manifest.json").read_bytes()

    other = open_source(f"oci:{single_source}:other")
    dest = DirDestination(out)
    raw, media_type = other.get_manifest()
    top = _copy_manifest(other, dest, raw, media_type)
    assert files_of(out) == old_files  # everything new is still beside it
    assert open_source(f"dir:{out}").get_manifest()[0] == old_manifest
    dest.commit(top, raw)

    assert (out / "manifest.json").read_bytes() == raw
    assert files_of(out) != old_files
    assert len(siblings(out)) == 1  # the old image, removed once the copy was told
    dest.close()  # (or by tidy, which the engine calls)
    assert siblings(out) == []


def test_a_failed_copy_leaves_the_old_image(single_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    old_files = files_of(out)

    dest = DirDestination(out)
    with pytest.raises(DigestMismatch):
        dest.put_blob(
            ChunkStream([b"not ", b"this"]), media_type="x", digest=Digest.of(b"that"), size=8
        )
    dest.abort()
    assert files_of(out) == old_files
    assert siblings(out) == []

    dest = DirDestination(out)
    dest.put_blob(io.BytesIO(b"something"), media_type="x", digest=None, size=None)
    assert len(siblings(out)) == 1
    dest.close()  # without commit: the same as abort
    assert files_of(out) == old_files and siblings(out) == []


def test_cancelling_mid_blob_leaves_nothing(single_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    old_files = files_of(out)
    dest = DirDestination(out)
    staging = tmp_path / siblings(out)[0]
    token = CancelToken()
    with pytest.raises(Cancelled):
        dest.put_blob(
            ChunkStream([b"a", b"b", b"c"], lambda i: token.cancel() if i == 1 else None),
            media_type="x",
            digest=None,
            size=None,
            cancel=token,
        )
    assert os.listdir(staging) == []
    dest.abort()
    assert files_of(out) == old_files and siblings(out) == []


def test_a_failed_swap_puts_the_old_image_back(
    single_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    old_files = files_of(out)
    real_rename = os.rename

    def rename(src: object, dst: object) -> None:
        if Path(str(dst)) == out and TEMP_PREFIX + "old-" not in str(src):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_rename(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(dir_swap, "exchange", lambda first, second: False)  # (in two steps)
    dest = DirDestination(out)
    with pytest.raises(TransportError, match="the folder holds the image it held before"):
        copy_image(open_source(f"oci:{single_source}:other"), dest)
    dest.abort()
    assert files_of(out) == old_files and siblings(out) == []


def test_blobs_of_the_old_image_are_reused_after_verifying_them(
    single_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "image"
    source = open_source(f"oci:{single_source}:app")
    copy_image(source, DirDestination(out))
    config, motd, version = child_descriptors(parse_manifest(*source.get_manifest()))
    (out / version.digest.hex).write_bytes(b"\0" * version.size)  # damaged on disk

    dest = DirDestination(out)
    staging = tmp_path / siblings(out)[0]
    assert dest.reuse_blob(config) == "exists"
    assert dest.reuse_blob(motd) == "exists"
    assert (staging / motd.digest.hex).stat().st_ino == (out / motd.digest.hex).stat().st_ino
    assert dest.reuse_blob(version) is None
    copy_blob(source, dest, version)
    raw, _ = source.get_manifest()
    dest.commit(Descriptor(parse_manifest(raw).media_type, Digest.of(raw), len(raw)), raw)
    with source.open_blob(version) as stream:
        assert (out / version.digest.hex).read_bytes() == stream.readall()


def test_a_link_to_the_folder_stays_a_link(single_source: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    link = tmp_path / "link"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(real))
    link.symlink_to(real)
    other = open_source(f"oci:{single_source}:other")
    copy_image(other, DirDestination(link))
    assert link.is_symlink()
    assert (real / "manifest.json").read_bytes() == other.get_manifest()[0]


def test_the_folder_keeps_its_mode(single_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    assert out.stat().st_mode & 0o777 == 0o755
    out.chmod(0o750)
    copy_image(open_source(f"oci:{single_source}:other"), DirDestination(out))
    assert out.stat().st_mode & 0o777 == 0o750


# --------------------------------------------------------------------------- refusals


def test_an_empty_folder_is_fine(single_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    assert (out / "version").is_file()


def test_a_folder_of_other_files_is_refused_untouched(tmp_path: Path) -> None:
    out = tmp_path / "work"
    out.mkdir()
    (out / "notes.txt").write_text("important")
    with pytest.raises(InvalidLayout, match="is not empty and is not a dir: image") as err:
        DirDestination(out)
    assert str(out) in str(err.value)
    assert os.listdir(out) == ["notes.txt"] and siblings(out) == []


def test_an_image_folder_with_other_files_too_is_refused_untouched(
    multi_source: Path, tmp_path: Path
) -> None:
    """A dir: image is replaced whole: files of the user's beside it would be lost (skopeo
    deletes them), so the copy is refused, naming them; an image of a list, with its
    instance manifests, is replaced as it is."""
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{multi_source}:latest"), DirDestination(out))
    (out / "notes.txt").write_text("important")
    before = sorted(os.listdir(out))
    with pytest.raises(InvalidLayout, match=r"holds a dir: image and other files too "
                       r"\(notes.txt\); .* would be lost"):
        DirDestination(out)
    assert sorted(os.listdir(out)) == before and siblings(out) == []
    (out / "notes.txt").unlink()
    destination = DirDestination(out)
    assert destination.replaces is not None
    destination.abort()


def test_a_blob_temporary_an_interrupted_skopeo_left_goes_with_the_image(
    single_source: Path, tmp_path: Path
) -> None:
    """skopeo writes each blob to ``dir-put-blob<digits>`` in the folder first
    (containers/image ``os.CreateTemp(path, "dir-put-blob")``); one that a killed skopeo
    left is part of the dir: image it was writing, and is dropped when the image is
    replaced, not taken for a file of the user's."""
    skopeo = require_tool("skopeo")
    out = tmp_path / "image"
    run(skopeo, "copy", "-q", f"oci:{single_source}:app", f"dir:{out}")
    stray = out / "dir-put-blob1234567890"
    stray.write_bytes(b"half a blob")
    destination = DirDestination(out)
    assert destination.replaces is not None
    top = copy_image(open_source(f"oci:{single_source}:other"), destination)
    assert not stray.exists()
    assert json.loads(run(skopeo, "inspect", f"dir:{out}"))["Digest"] == str(top.digest)
    assert siblings(out) == []


@pytest.mark.parametrize("name", ["dir-put-blob", "dir-put-blobx1", "my-dir-put-blob1"])
def test_names_only_like_skopeos_temporary_still_count_as_other_files(
    single_source: Path, tmp_path: Path, name: str
) -> None:
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    (out / name).write_text("mine")
    with pytest.raises(InvalidLayout, match=f"other files too \\({name}\\)"):
        DirDestination(out)
    assert (out / name).read_text() == "mine"


def test_an_oci_layout_gets_a_hint(multi_source: Path) -> None:
    with pytest.raises(InvalidLayout, match=f"write to it as oci:{multi_source}:REF"):
        DirDestination(multi_source)


def test_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(InvalidLayout, match="is not a folder"):
        DirDestination(target)


def test_missing_parents_are_created_for_a_sync(single_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "missing" / "parents" / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out, make_parents=True))
    assert (out / "manifest.json").is_file() and siblings(out) == []


def test_a_read_only_parent_is_refused_with_a_sentence(unprivileged_dir: Path) -> None:
    parent = unprivileged_dir / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    with pytest.raises(TransportError, match=r"^Cannot write .*Permission denied\.$"):
        DirDestination(parent / "image")
    assert list(parent.iterdir()) == []
