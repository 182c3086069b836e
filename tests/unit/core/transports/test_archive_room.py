"""An archive on a filesystem it just fits on: the blobs that would not fit there twice
while the tar is put together wait in the folder for big temporary files, when that is
another filesystem with room (a USB stick the archive fits on gets it, as from skopeo)."""

from __future__ import annotations

import os
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from spyglass.core.cancel import CancelToken, check
from spyglass.core.copy import copy_image
from spyglass.core.errors import Cancelled, TransportError
from spyglass.core.transports import archive_room, open_destination, open_source, temporaries
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder
from tests.unit.core.transports.test_layout_dest import leftovers

MIB = 1024 * 1024


def four_layer_layout(root: Path) -> None:
    """Four 1 MiB layers of random bytes, each stored uncompressed (they would not shrink):
    an archive of about 4 MiB, its largest blob 1 MiB."""
    builder = LayoutBuilder(root)
    image = builder.add_image(ImageSpec(layers=[
        LayerSpec({f"/data/l{i}": os.urandom(MIB)}, compression="none") for i in range(4)]))
    builder.tag(image, "big")


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` at ``folder``, unmounted at the end (root only)."""
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                   check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="mounting a small tmpfs (a full disk for real) needs root")


@needs_root
@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_an_archive_that_fits_is_written_with_the_blobs_waiting_on_another_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    four_layer_layout(tmp_path / "src")
    spare = tmp_path / "spare"  # another filesystem than the tmpfs, with room
    spare.mkdir()
    monkeypatch.setenv("TMPDIR", str(spare))
    # room for the archive (about 4 MiB) and half a blob more: not for a blob twice
    with small_disk(tmp_path / "stick", "4608k") as stick:
        out = stick / "a.tar"
        copy_image(open_source(f"oci:{tmp_path / 'src'}:big"),
                   open_destination(f"{transport}:{out}"))
        assert tarfile.is_tarfile(out)
        copy_image(open_source(f"{transport}:{out}"),
                   open_destination(f"oci:{tmp_path / 'back'}:big"))
        assert sorted(p.name for p in stick.iterdir()) == ["a.tar"]
    assert list(spare.iterdir()) == []


@needs_root
def test_an_archive_with_no_other_disk_for_its_blobs_says_what_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    four_layer_layout(tmp_path / "src")
    with small_disk(tmp_path / "stick", "4608k") as stick:
        spare = stick / "tmp"  # the big-files folder on the same filesystem: no help
        spare.mkdir()
        monkeypatch.setenv("TMPDIR", str(spare))
        out = stick / "a.tar"
        with pytest.raises(TransportError) as caught:
            copy_image(open_source(f"oci:{tmp_path / 'src'}:big"),
                       open_destination(f"docker-archive:{out}"))
        said = str(caught.value)
        assert said.startswith(
            f'Cannot write "{out}": No space left on device; an archive is put together '
            "beside its final name, so it needs room there for all of it (about 4.0 MiB), "
            "and for its largest blob once more (1.0 MiB): blobs go there while the archive "
            f'is put together only when the folder for big temporary files, "{spare}" '), said
        assert said.endswith("is on another filesystem with room for them, and that one is "
                             "on the same filesystem."), said
        assert sorted(p.name for p in stick.iterdir()) == ["tmp"]
        assert list(spare.iterdir()) == []


def test_only_the_blobs_with_no_room_twice_move_and_nothing_is_left_of_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With df saying the target is short (statvfs stands in for a small disk), the
    blobs larger than what is free move to the big-files folder on another filesystem
    (os.stat stands in for that), the archive is what it would have been, and the
    folder they waited in goes."""
    target, spare = _short_target(tmp_path, monkeypatch)
    plain = tmp_path / "plain.tar"  # (its folder is not short: nothing moves for it)
    monkeypatch.setattr(archive_room, "free_bytes", lambda folder: (
        archive_room.ARCHIVE_ROOM + 6 * archive_room.MEMBER_ROOM + MIB // 2
        if folder == target else 1 << 40))
    copy_image(open_source(f"oci:{tmp_path / 'src'}:big"),
               open_destination(f"docker-archive:{plain}"))
    moved: list[int] = []
    original = archive_room._copy

    def copying(source: Path, to: Path, cancel: object) -> None:
        moved.append(source.stat().st_size)
        original(source, to, None)

    monkeypatch.setattr(archive_room, "_copy", copying)
    out = target / "a.tar"
    copy_image(open_source(f"oci:{tmp_path / 'src'}:big"),
               open_destination(f"docker-archive:{out}"))
    assert len(moved) == 4 and all(size > MIB for size in moved)  # not the small config
    assert out.read_bytes() == plain.read_bytes()
    assert list(spare.iterdir()) == [] and leftovers(target) == []


def _short_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A source of four 1 MiB blobs, a target folder df calls short (statvfs stands in for
    a small disk) and a big-files folder on another filesystem (os.stat stands in)."""
    four_layer_layout(tmp_path / "src")
    spare = tmp_path / "spare"
    spare.mkdir()
    monkeypatch.setenv("TMPDIR", str(spare))
    target = tmp_path / "stick"
    target.mkdir()
    free = {target: archive_room.ARCHIVE_ROOM + 6 * archive_room.MEMBER_ROOM + MIB // 2,
            spare: 1 << 40}
    monkeypatch.setattr(archive_room, "free_bytes", lambda folder: free[folder])
    monkeypatch.setattr(archive_room, "_device", lambda path: hash(path))
    return target, spare


@pytest.mark.parametrize("stop", ["cancel", "ctrl-c"])
@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_a_copy_stopped_while_blobs_move_leaves_nothing_in_the_big_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str, stop: str
) -> None:
    """Cancel pressed (or Ctrl+C) while the second blob is half moved: neither the blob
    moved already nor the half-moved one stays in the big-files folder, nor its claim."""
    target, spare = _short_target(tmp_path, monkeypatch)
    token = CancelToken()
    original = archive_room._copy
    moving: list[Path] = []

    def copying(source: Path, to: Path, cancel: CancelToken | None) -> None:
        moving.append(source)
        if len(moving) < 2:
            original(source, to, cancel)
            return
        with source.open("rb") as reading, to.open("xb") as writing:
            writing.write(reading.read(MIB // 4))  # a quarter of it there
        if stop == "ctrl-c":
            raise KeyboardInterrupt
        token.cancel()
        check(cancel)

    monkeypatch.setattr(archive_room, "_copy", copying)
    claimed: list[int] = []
    released: list[int] = []
    claim, release = temporaries._claim, temporaries._release

    def claiming(fd: int) -> int | None:
        held = claim(fd)
        claimed.extend([held] if held is not None else [])
        return held

    def releasing(held: int | None) -> None:
        released.extend([held] if held is not None else [])
        release(held)

    monkeypatch.setattr(temporaries, "_claim", claiming)
    monkeypatch.setattr(temporaries, "_release", releasing)
    out = target / "a.tar"
    with pytest.raises(Cancelled if stop == "cancel" else KeyboardInterrupt):
        copy_image(open_source(f"oci:{tmp_path / 'src'}:big"),
                   open_destination(f"{transport}:{out}"), cancel=token)
    assert len(moving) == 2
    assert list(spare.iterdir()) == []
    assert leftovers(target) == [] and not out.exists()
    assert len(claimed) >= 2 and sorted(released) == sorted(claimed)  # all given up


@needs_root
def test_a_copy_cancelled_while_blobs_move_to_another_disk_leaves_nothing_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same with a real small disk: Cancel pressed while the second blob moves."""
    four_layer_layout(tmp_path / "src")
    spare = tmp_path / "spare"
    spare.mkdir()
    monkeypatch.setenv("TMPDIR", str(spare))
    token = CancelToken()
    original = archive_room._copy
    moving: list[Path] = []

    def copying(source: Path, to: Path, cancel: CancelToken | None) -> None:
        moving.append(source)
        if len(moving) == 2:
            token.cancel()
        original(source, to, cancel)

    monkeypatch.setattr(archive_room, "_copy", copying)
    with small_disk(tmp_path / "stick", "4608k") as stick:
        with pytest.raises(Cancelled):
            copy_image(open_source(f"oci:{tmp_path / 'src'}:big"),
                       open_destination(f"docker-archive:{stick / 'a.tar'}"), cancel=token)
        assert list(stick.iterdir()) == []
    assert len(moving) == 2
    assert list(spare.iterdir()) == []
