"""Compressed image archives (``docker save | gzip``): decompressed once into a private
temporary file and read from there (spyglass.core.transports.decompressed, and the
archive transports over it).

Whatever is read through a compressed archive must equal what is read through the
same archive uncompressed — which the archive tests hold against skopeo — and nothing
may be left in the temporary folder once the archive is closed, fails or is cancelled.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import io
import json
import lzma
import os
import re
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from spyglass.core.cancel import CancelToken
from spyglass.core.errors import (
    Cancelled,
    DamagedArchive,
    InvalidLayout,
    UnsafeArchive,
)
from spyglass.core.manifest import ImageIndex, parse_manifest
from spyglass.core.transports import decompressed as decompressed_module
from spyglass.core.transports import detect_location_kind, open_location, open_source
from spyglass.core.transports.archive import (
    DockerArchiveLocation,
    open_docker_archive_image,
    open_docker_archive_location,
    open_oci_archive_image,
    sniff_archive,
)
from spyglass.core.transports.base import ImageSource
from spyglass.core.transports.decompressed import FOLDER_PREFIX, PIPED, big_files_folder
from spyglass.core.transports.tartree import TarTree
from spyglass.core.transports.temporaries import ORPHAN_AGE
from tests.helpers.imagebuild import ImageSpec, LayerSpec
from tests.unit.core.transports.test_archive import (
    docker25_entries,
    docker_save_entries,
    image_manifest,
    image_spec,
    read_all,
    run_skopeo,
    skopeo_raw,
    write_tar,
)

REPO = Path(__file__).resolve().parents[4]


def _zstd(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor(level=3).compress(data)


PACKERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "zstd": _zstd,
    "xz": lzma.compress,
    "bzip2": bz2.compress,
}


def pack(plain: Path, algorithm: str, target: Path | None = None) -> Path:
    """``plain`` compressed with ``algorithm``, beside it (``x.tar.gzip``) or at ``target``."""
    packed = target or plain.with_name(f"{plain.name}.{algorithm}")
    packed.write_bytes(PACKERS[algorithm](plain.read_bytes()))
    return packed


@pytest.fixture(autouse=True)
def temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """$TMPDIR for every test: where decompressed archives must go, and be gone from
    (a copy a sniff parked is removed after the test, as the command line removes it)."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    yield folder
    decompressed_module.remove_parked()


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The archives decompressed during the test, in order."""
    decompressed: list[Path] = []
    original = decompressed_module.DecompressedArchive

    def counting(*args: object, **kwargs: object) -> object:
        decompressed.append(Path(str(args[0])))
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(decompressed_module, "DecompressedArchive", counting)
    return decompressed


def leftovers(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def everything(source: ImageSource) -> dict[str, bytes]:
    """Every manifest and blob of a source (each instance of a list): digest → bytes."""
    found: dict[str, bytes] = {}
    raw, media_type = source.get_manifest()
    found["top"] = raw
    top = parse_manifest(raw, media_type)
    digests = [str(d.digest) for d in top.manifests] if isinstance(top, ImageIndex) else [None]
    for digest in digests:
        manifest = image_manifest(source, digest)
        found[str(manifest.digest)] = source.get_manifest(digest)[0]
        for descriptor in (manifest.config, *manifest.layers):
            found[str(descriptor.digest)] = read_all(source, descriptor)
    return found


# --------------------------------------------------------------------------- reading


@pytest.mark.parametrize("algorithm", list(PACKERS))
def test_a_compressed_docker_archive_reads_as_the_uncompressed_one(
    skopeo_docker_archive: Path, tmp_path: Path, temporary_folder: Path, algorithm: str
) -> None:
    packed = pack(skopeo_docker_archive, algorithm, tmp_path / f"x.tar.{algorithm}")
    plain = open_docker_archive_image(skopeo_docker_archive)
    source = open_docker_archive_image(packed)
    try:
        assert everything(source) == everything(plain)
        assert source.get_manifest()[0] == skopeo_raw(f"docker-archive:{skopeo_docker_archive}")
        if algorithm != "gzip":  # skopeo 1.9.3 reads a gzipped one as "unexpected EOF"
            assert source.get_manifest()[0] == skopeo_raw(f"docker-archive:{packed}")
        assert source.description == f"docker-archive:{packed}"
        [folder] = leftovers(temporary_folder)
        assert folder.startswith(FOLDER_PREFIX)
        assert os.listdir(temporary_folder / folder) == ["archive.tar"]
    finally:
        source.close()
        plain.close()
    assert leftovers(temporary_folder) == []


@pytest.mark.parametrize("algorithm", ["gzip", "zstd"])
def test_a_compressed_oci_archive_reads_as_the_uncompressed_one(
    skopeo_oci_archive: Path, tmp_path: Path, temporary_folder: Path, algorithm: str
) -> None:
    packed = pack(skopeo_oci_archive, algorithm, tmp_path / f"all.tar.{algorithm}")
    plain = open_oci_archive_image(skopeo_oci_archive, "v1")
    source = open_oci_archive_image(packed, "v1")
    try:
        assert everything(source) == everything(plain)
        assert source.get_manifest()[0] == skopeo_raw(f"oci-archive:{skopeo_oci_archive}:v1")
        assert source.get_manifest()[0] == skopeo_raw(f"oci-archive:{packed}:v1")
    finally:
        source.close()
        plain.close()
    assert leftovers(temporary_folder) == []


def test_a_gzipped_docker_25_save_is_sniffed_and_reads_in_both_views(
    tmp_path: Path, temporary_folder: Path
) -> None:
    spec = image_spec("amd64", ["new", "style"], docker=False)
    plain = write_tar(tmp_path / "d25.tar", docker25_entries(["app:1"], spec))
    packed = pack(plain, "gzip", tmp_path / "d25.tar.gz")
    assert sniff_archive(packed) == "oci-archive"
    assert detect_location_kind(packed) == "oci-archive"
    # what was looked at is kept for the open that follows, once
    assert len(leftovers(temporary_folder)) == 1
    decompressed_module.remove_parked()
    assert leftovers(temporary_folder) == []
    for opener in (
        lambda path: open_oci_archive_image(path, "1"),
        lambda path: open_docker_archive_image(path, "app:1"),
    ):
        theirs, ours = opener(plain), opener(packed)
        try:
            assert everything(ours) == everything(theirs)
        finally:
            ours.close()
            theirs.close()
    assert skopeo_raw(f"docker-archive:{plain}:app:1") == open_docker_archive_image(
        packed, "app:1").get_manifest()[0]


def test_a_location_is_sniffed_and_opened_over_one_decompressed_copy(
    skopeo_docker_archive: Path, tmp_path: Path, temporary_folder: Path, made: list[Path],
) -> None:
    packed = pack(skopeo_docker_archive, "gzip", tmp_path / "x.tar.gz")
    location = open_location(packed)
    try:
        assert isinstance(location, DockerArchiveLocation)
        assert location.description == f"docker-archive:{packed}"
        entry, *also = list(location.list_images())  # a row per name of the one image
        assert entry.name == f"docker-archive:{packed}:example.com/x:1"
        assert all(other.descriptor == entry.descriptor for other in also)
        image = location.open_image(entry)
        assert image.get_manifest()[0] == skopeo_raw(f"docker-archive:{skopeo_docker_archive}")
        assert made == [packed]
        assert len(leftovers(temporary_folder)) == 1
        reopened = open_source(entry.name)  # the name reopens it, over the same copy
        try:
            assert reopened.get_manifest() == image.get_manifest()
        finally:
            reopened.close()
        assert made == [packed] and len(leftovers(temporary_folder)) == 1
    finally:
        location.close()
    assert leftovers(temporary_folder) == []


def test_a_bare_path_is_looked_at_and_opened_over_one_decompressed_copy(
    skopeo_docker_archive: Path, tmp_path: Path, temporary_folder: Path, made: list[Path],
) -> None:
    """The command line learns a bare path's kind, then opens it: once decompressed, and
    gone when the command ends."""
    packed = pack(skopeo_docker_archive, "gzip", tmp_path / "x.tar.gz")
    kind = detect_location_kind(packed)
    source = open_source(f"{kind}:{packed}")
    try:
        assert source.get_manifest()[0] == skopeo_raw(f"docker-archive:{skopeo_docker_archive}")
    finally:
        source.close()
    assert made == [packed]
    decompressed_module.remove_parked()
    assert leftovers(temporary_folder) == []
    # changed since: decompressed anew
    packed.write_bytes(packed.read_bytes())
    os.utime(packed, ns=(time.time_ns(), time.time_ns() + 10**9))
    detect_location_kind(packed)
    open_source(f"{kind}:{packed}").close()
    assert made == [packed, packed]


def test_readers_open_when_the_archive_closes_keep_reading(
    skopeo_docker_archive: Path, tmp_path: Path, temporary_folder: Path
) -> None:
    packed = pack(skopeo_docker_archive, "gzip", tmp_path / "x.tar.gz")
    tree = TarTree(packed)
    assert tree.compression == "gzip"
    expected = TarTree(skopeo_docker_archive).open("manifest.json").read()
    reader = tree.open("manifest.json")
    tree.close()
    tree.close()
    assert leftovers(temporary_folder) == []
    assert reader.read() == expected
    reader.close()


def test_a_plain_tar_that_starts_like_bzip2_is_a_plain_tar(tmp_path: Path) -> None:
    """A plain tar is tried first: a first member named "BZh…" is no bzip2 magic."""
    path = write_tar(tmp_path / "bzh.tar", [("file", "BZh91AY&SY", b"data")])
    tree = TarTree(path)
    assert tree.compression is None
    assert tree.open("BZh91AY&SY").read() == b"data"


def test_memory_does_not_grow_with_the_archive(tmp_path: Path, temporary_folder: Path) -> None:
    size = 48 * 1024 * 1024
    spec = ImageSpec(
        layers=[LayerSpec({"/big": bytes(size)}, compression="none")], docker_media_types=True
    )
    plain = write_tar(tmp_path / "big.tar", docker_save_entries([(["big:1"], spec)]))
    packed = pack(plain, "gzip", tmp_path / "big.tar.gz")
    plain.unlink()
    tracemalloc.start()
    try:
        tree = TarTree(packed)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        assert tree.size(next(n for n in tree.names() if n.endswith("layer.tar"))) > size
        assert peak < 8 * 1024 * 1024, peak
    finally:
        tree.close()


# --------------------------------------------------------------------------- nothing left


def test_a_damaged_compressed_archive_is_refused_and_leaves_nothing(
    skopeo_docker_archive: Path, tmp_path: Path, temporary_folder: Path
) -> None:
    data = gzip.compress(skopeo_docker_archive.read_bytes())
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) // 2])
    flipped = tmp_path / "flipped.tar.gz"
    flipped.write_bytes(data[:-12] + bytes([data[-12] ^ 0xFF]) + data[-11:])
    for path in (cut, flipped):
        for attempt in (
            lambda p=path: open_docker_archive_image(p),
            lambda p=path: open_location(p),
            lambda p=path: sniff_archive(p),
        ):
            with pytest.raises(DamagedArchive) as caught:
                attempt()
            assert str(path) in str(caught.value)
            assert "gzip" in str(caught.value)
            assert leftovers(temporary_folder) == []


def test_a_compressed_tar_cut_short_inside_is_damaged(
    skopeo_docker_archive: Path, tmp_path: Path, temporary_folder: Path
) -> None:
    path = tmp_path / "inner-cut.tar.gz"
    path.write_bytes(gzip.compress(skopeo_docker_archive.read_bytes()[:5000]))
    with pytest.raises(DamagedArchive, match="is truncated or damaged") as caught:
        sniff_archive(path)
    assert str(path) in str(caught.value)
    assert leftovers(temporary_folder) == []


def test_compressed_files_that_hold_no_tar_are_no_archives(
    tmp_path: Path, temporary_folder: Path
) -> None:
    notes = tmp_path / "notes.txt.gz"
    notes.write_bytes(gzip.compress(b"These are not the droids you are looking for.\n" * 40))
    empty = tmp_path / "empty.gz"
    empty.write_bytes(gzip.compress(b""))
    # (of nothing at all: that, not tarfile's "empty header")
    for path, said in ((notes, "what it holds is not a tar"), (empty, "it holds nothing;")):
        assert sniff_archive(path) is None
        with pytest.raises(InvalidLayout, match="not an image archive"):
            open_location(path)
        with pytest.raises(InvalidLayout, match=f"gzip-compressed, but {said}"):
            open_docker_archive_image(path)
        assert leftovers(temporary_folder) == []


def test_an_unsafe_compressed_archive_is_refused_and_leaves_nothing(
    tmp_path: Path, temporary_folder: Path
) -> None:
    entries = docker_save_entries([(["x:1"], image_spec("amd64", ["a"]))])
    plain = write_tar(tmp_path / "names.tar", [*entries, ("file", "../evil", b"x")])
    packed = pack(plain, "gzip", tmp_path / "names.tar.gz")
    for attempt in (lambda: sniff_archive(packed), lambda: open_location(packed)):
        with pytest.raises(UnsafeArchive, match=r"\.\./evil"):
            attempt()
    assert leftovers(temporary_folder) == []


class CancelOnCheck(CancelToken):
    """A token the operation itself cancels at its ``at``-th check."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at
        self.checks = 0

    def check(self) -> None:
        self.checks += 1
        if self.checks == self.at:
            self.cancel()
        super().check()


def test_cancelling_the_decompression_leaves_nothing(
    tmp_path: Path, temporary_folder: Path
) -> None:
    spec = ImageSpec(
        layers=[LayerSpec({"/big": os.urandom(4 * 1024 * 1024)}, compression="none")],
        docker_media_types=True,
    )
    plain = write_tar(tmp_path / "big.tar", docker_save_entries([(["big:1"], spec)]))
    packed = pack(plain, "gzip", tmp_path / "big.tar.gz")
    for attempt in (
        lambda token: open_location(packed, cancel=token),
        lambda token: open_source(f"docker-archive:{packed}", cancel=token),
        lambda token: open_docker_archive_location(packed, cancel=token),
        lambda token: detect_location_kind(packed, cancel=token),
    ):
        token = CancelOnCheck(at=3)
        with pytest.raises(Cancelled):
            attempt(token)
        assert token.checks == 3  # stopped in the middle, not after the whole archive
        assert leftovers(temporary_folder) == []


class InterruptOnCheck(CancelToken):
    """Ctrl+C arriving while the archive is decompressed (the command line has no token:
    the interrupt lands wherever the main thread is)."""

    def check(self) -> None:
        raise KeyboardInterrupt


def test_an_interrupt_during_the_decompression_leaves_nothing(
    skopeo_docker_archive: Path, tmp_path: Path, temporary_folder: Path
) -> None:
    packed = pack(skopeo_docker_archive, "zstd", tmp_path / "x.tar.zst")
    with pytest.raises(KeyboardInterrupt):
        open_docker_archive_image(packed, cancel=InterruptOnCheck())
    assert leftovers(temporary_folder) == []


def test_a_full_disk_is_a_sentence_naming_the_archive_and_the_folder(
    skopeo_docker_archive: Path, tmp_path: Path, temporary_folder: Path
) -> None:
    """The temporary file may grow no bigger than 4 KiB (RLIMIT_FSIZE: each write past it
    fails with EFBIG, as on a full disk); the command says so and leaves nothing."""
    packed = pack(skopeo_docker_archive, "gzip", tmp_path / "x.tar.gz")

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    done = subprocess.run(
        [sys.executable, "-m", "spyglass", "inspect", "--raw", f"docker-archive:{packed}"],
        # (no bytecode written under the 4 KiB limit: a cut one broke later runs)
        env={**os.environ, "PYTHONPATH": str(REPO / "app"), "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=small_files, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode != 0
    assert done.stderr.startswith("spyglass: There is no room for the gzip-compressed "), \
        done.stderr
    assert f'"{packed}"' in done.stderr and f'"{temporary_folder}' in done.stderr
    assert "Traceback" not in done.stderr
    assert leftovers(temporary_folder) == []


@pytest.mark.parametrize("flag", [False, True])
def test_a_full_temporary_folder_advises_the_way_it_was_chosen(
    skopeo_docker_archive: Path, tmp_path: Path, temporary_folder: Path, flag: bool
) -> None:
    """Chosen with --tmpdir, the advice names --tmpdir (the user just used it); else
    $TMPDIR."""
    packed = pack(skopeo_docker_archive, "gzip", tmp_path / "x.tar.gz")

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    chosen = tmp_path / "chosen"
    chosen.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "spyglass", *(["--tmpdir", str(chosen)] if flag else []),
         "inspect", "--raw", f"docker-archive:{packed}"],
        env={**os.environ, "PYTHONPATH": str(REPO / "app"), "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=small_files, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode != 0
    folder = chosen if flag else temporary_folder
    how = "give --tmpdir a folder" if flag else "set TMPDIR to a folder"
    assert done.stderr.rstrip().endswith(
        f'temporary folder "{folder}" (File too large); free some space there, or {how} '
        "with more room."), done.stderr


def test_a_temporary_folder_that_cannot_be_written_is_a_sentence(
    skopeo_docker_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spyglass.core.errors import TemporarySpaceFailed

    packed = pack(skopeo_docker_archive, "gzip", tmp_path / "x.tar.gz")
    nowhere = tmp_path / "no" / "such" / "folder"
    monkeypatch.setenv("TMPDIR", str(nowhere))
    for attempt in (lambda: open_docker_archive_image(packed), lambda: sniff_archive(packed)):
        with pytest.raises(TemporarySpaceFailed) as caught:
            attempt()
        message = str(caught.value)
        assert f'"{packed}"' in message and f'"{nowhere}"' in message and "TMPDIR" in message
        assert message.endswith("; quit Spyglass and start it again with TMPDIR set to a "
                                "folder Spyglass can write to."), message
        assert str(caught.value.on_command_line).endswith(
            "; set TMPDIR to a folder Spyglass can write to."), caught.value.on_command_line


def test_a_full_temporary_folder_tells_the_window_to_start_spyglass_again(
    skopeo_docker_archive: Path, tmp_path: Path, temporary_folder: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window keeps the $TMPDIR it was started with: "set TMPDIR" alone does nothing
    there. The command line's sentence is unchanged."""
    from spyglass.core.errors import TemporarySpaceFailed

    packed = pack(skopeo_docker_archive, "gzip", tmp_path / "x.tar.gz")

    def full(self: decompressed_module.DecompressedArchive, _out: object,
             _chunk: bytes) -> None:
        raise self._space_error(OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(decompressed_module.DecompressedArchive, "_write_all", full)
    with pytest.raises(TemporarySpaceFailed) as caught:
        open_docker_archive_image(packed)
    said = (f'There is no room for the gzip-compressed archive "{packed}" in the temporary '
            f'folder "{temporary_folder}" (No space left on device); free some space there, or ')
    assert str(caught.value) == (
        f"{said}quit Spyglass and start it again with TMPDIR set to a folder with more room.")
    assert caught.value.on_command_line == f"{said}set TMPDIR to a folder with more room."
    assert leftovers(temporary_folder) == []


def _zstd_zeros(size: int) -> bytes:
    """A zstd frame of ``size`` zeros in RLE blocks of 128 KiB: 4 bytes a block, so that a
    megabyte holds 32 GB (what the explorer's bomb was made of)."""
    block = 128 * 1024
    count = -(-size // block)
    frame = bytearray(b"\x28\xb5\x2f\xfd\x00\x38")  # magic; no size, no checksum
    for number in range(count):
        last = number == count - 1
        frame += ((block << 3) | 2 | last).to_bytes(3, "little") + b"\0"
    return bytes(frame)


def _zstd_bomb(path: Path, size: int) -> Path:
    """A .tar.zst whose one member claims a terabyte, then ``size`` zeros: it decompresses
    until the disk is full, or until its end (and is then a tar cut short)."""
    info = tarfile.TarInfo("big")
    info.size = 10**12
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    raw = b"\x28\xb5\x2f\xfd\x00\x38" + ((len(header) << 3) | 1).to_bytes(3, "little")
    path.write_bytes(raw + header + _zstd_zeros(size))
    return path


class _FakeDisk:
    """A disk of ``size`` bytes for ``free_bytes`` and ``os.statvfs``, on which only the
    decompressed copies take room, and which remembers the least room ever left."""

    def __init__(self, folder: Path, size: int) -> None:
        self.folder = folder
        self.size = size
        self.least = size

    def used(self) -> int:
        return sum(file.stat().st_size for file in self.folder.rglob("*") if file.is_file())

    def free_bytes(self, _folder: Path) -> int:
        free = self.size - self.used()
        self.least = min(self.least, free)
        return free


def test_a_copy_stops_while_room_is_kept_free_on_its_disk(
    tmp_path: Path, temporary_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compressed archive was decompressed until its disk was full: 1 MB of zstd holds
    32 GB, and /var/tmp is on the root filesystem. The copy grows only while 5 % of its
    disk (at most 1 GiB) stays free, looked at every 64 MiB (scaled down here), never
    eaten into; then it is stopped, removed, and said, with how far it grew."""
    disk = _FakeDisk(temporary_folder, 40 * 1024 * 1024)
    monkeypatch.setattr(decompressed_module, "free_bytes", disk.free_bytes)
    monkeypatch.setattr(decompressed_module, "kept_free", lambda _folder: 4 * 1024 * 1024)
    monkeypatch.setattr(decompressed_module, "ROOM_LOOK_EVERY", 8 * 1024 * 1024)
    bomb = _zstd_bomb(tmp_path / "bomb.tar.zst", 10**9)
    from spyglass.core.errors import TemporarySpaceFailed

    for attempt in (lambda: open_docker_archive_image(bomb), lambda: sniff_archive(bomb)):
        with pytest.raises(TemporarySpaceFailed) as caught:
            attempt()
        said = (f'There is no room for the zstd-compressed archive "{bomb}" in the temporary '
                f'folder "{temporary_folder}": it was stopped at 36.0 MiB decompressed, with '
                "4.0 MiB left on that disk, which is kept free for other programs; free some "
                "space there, or ")
        assert caught.value.on_command_line == f"{said}set TMPDIR to a folder with more room."
        assert str(caught.value) == (f"{said}quit Spyglass and start it again with TMPDIR "
                                     "set to a folder with more room.")
        assert disk.least >= 4 * 1024 * 1024
        assert leftovers(temporary_folder) == []
    piped = io.BytesIO(_zstd_bomb(tmp_path / "piped.tar.zst", 10**8).read_bytes())
    with pytest.raises(TemporarySpaceFailed) as caught:
        decompressed_module.DecompressedArchive(Path("/dev/stdin"), piped, PIPED)
    assert caught.value.on_command_line == (
        'There is no room for the archive read from the pipe "/dev/stdin" in the temporary '
        f'folder "{temporary_folder}": it was stopped at 36.0 MiB, with 4.0 MiB left on that '
        "disk, which is kept free for other programs; free some space there, or set TMPDIR "
        "to a folder with more room.")
    assert leftovers(temporary_folder) == []

    # an archive that fits beside the room kept is read, however near it comes
    images = [(["example.com/big:1"], ImageSpec(layers=[LayerSpec(
        {"/big": os.urandom(30 * 1024 * 1024)}, compression="none")]))]
    fits = pack(write_tar(tmp_path / "fits.tar", docker_save_entries(images)), "zstd")
    source = open_docker_archive_image(fits)
    try:
        assert image_manifest(source).layers[0].size > 30 * 1024 * 1024
    finally:
        source.close()
    assert 4 * 1024 * 1024 <= disk.least < 10 * 1024 * 1024


def test_the_room_kept_free_is_5_percent_of_the_disk_at_most_a_gibibyte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """5 %: a small folder (a tmpfs of 200 MB) can still be used, where a fixed gigabyte
    would refuse every archive; at most 1 GiB: 5 % of 2 TB would refuse archives that fit
    with room to spare. A filesystem that gives no sizes keeps nothing (as before)."""
    def disk(blocks: int) -> os.statvfs_result:
        return os.statvfs_result((4096, 4096, blocks, blocks, blocks, 0, 0, 0, 0, 255))

    for blocks, kept in ((51_200, 10 * 1024 * 1024),  # 200 MiB
                         (10 * 1024 * 1024, 1024**3),  # 40 GiB: 2 GiB, capped
                         (5 * 1024 * 1024, 1024**3),  # 20 GiB: exactly 1 GiB
                         (0, None)):
        monkeypatch.setattr(os, "statvfs", lambda _path, blocks=blocks: disk(blocks))
        assert decompressed_module.kept_free(tmp_path) == kept
    monkeypatch.undo()
    assert decompressed_module.kept_free(tmp_path / "nowhere") is None


def test_a_bomb_on_a_small_disk_is_stopped_before_the_disk_is_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For real, on a tmpfs of 32 MiB (root only): a 1 GB zstd bomb is stopped with 5 %
    of it still free, where it got "No space left on device" once the disk was full, and
    an archive that fits is read there."""
    from spyglass.core.errors import TemporarySpaceFailed
    from tests.helpers.mounts import small_filesystem

    with small_filesystem(tmp_path / "mnt", "32m") as disk:
        monkeypatch.setenv("TMPDIR", str(disk))
        bomb = _zstd_bomb(tmp_path / "bomb.tar.zst", 10**9)
        with pytest.raises(TemporarySpaceFailed) as caught:
            open_docker_archive_image(bomb)
        said = str(caught.value.on_command_line)
        assert re.search(r"it was stopped at 3\d\.\d MiB decompressed, with 1\.\d MiB left on "
                         r"that disk, which is kept free for other programs; free some space "
                         r"there, or set TMPDIR to a folder with more room\.$", said), said
        assert leftovers(disk) == []
        images = [(["example.com/fits:1"], image_spec("amd64", ["alpha"]))]
        fits = pack(write_tar(tmp_path / "fits.tar", docker_save_entries(images)), "gzip")
        source = open_docker_archive_image(fits)
        source.close()
        assert leftovers(disk) == []


def test_a_folder_a_killed_spyglass_left_is_swept(
    skopeo_docker_archive: Path, tmp_path: Path, temporary_folder: Path
) -> None:
    orphan = temporary_folder / f"{FOLDER_PREFIX}killed"
    orphan.mkdir()
    (orphan / "archive.tar").write_bytes(b"half")
    old = time.time() - ORPHAN_AGE - 60
    os.utime(orphan / "archive.tar", (old, old))
    os.utime(orphan, (old, old))
    packed = pack(skopeo_docker_archive, "gzip", tmp_path / "x.tar.gz")
    open_docker_archive_image(packed).close()
    assert leftovers(temporary_folder) == []


def test_big_temporary_files_go_to_tmpdir_else_var_tmp(monkeypatch: pytest.MonkeyPatch) -> None:
    """containers/image's TemporaryDirectoryForBigFiles: not /tmp, often held in memory."""
    monkeypatch.setenv("TMPDIR", "/somewhere/else")
    assert big_files_folder() == Path("/somewhere/else")
    monkeypatch.delenv("TMPDIR")
    expected = "/var/tmp" if os.path.isdir("/var/tmp") else tempfile.gettempdir()
    assert big_files_folder() == Path(expected)


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_an_archive_written_to_a_tar_gz_name_is_a_plain_tar(
    source_layout: Path, tmp_path: Path, transport: str
) -> None:
    """Writing stays uncompressed, as skopeo writes, whatever the file is called."""
    from spyglass.core.copy import CopyOptions, copy_image
    from spyglass.core.platform import Platform
    from spyglass.core.transports import open_destination

    target = tmp_path / "out.tar.gz"
    copy_image(open_source(f"oci:{source_layout}:latest"),
               open_destination(f"{transport}:{target}"),
               CopyOptions(platforms=(Platform("linux", "arm64", "v8"),)))
    with target.open("rb") as stream:
        assert not stream.read(3).startswith(b"\x1f\x8b")
    with tarfile.open(target, mode="r:") as tar:
        assert "manifest.json" in tar.getnames() or "index.json" in tar.getnames()
    raw = skopeo_raw(f"{transport}:{target}")
    source = open_source(f"{transport}:{target}")
    try:
        assert source.get_manifest()[0] == raw
    finally:
        source.close()


def test_json_of_a_gzipped_archive_is_what_skopeo_reads(
    skopeo_docker_archive: Path, tmp_path: Path
) -> None:
    """The config read through the compressed archive is the image's config."""
    packed = pack(skopeo_docker_archive, "xz", tmp_path / "x.tar.xz")
    source = open_docker_archive_image(packed)
    try:
        config = json.loads(read_all(source, image_manifest(source).config))
    finally:
        source.close()
    inspected = json.loads(run_skopeo("inspect", "--config", f"docker-archive:{packed}"))
    assert config == inspected


def test_a_window_copy_from_a_compressed_archive_is_cancelled_while_decompressing(
    tmp_path: Path, temporary_folder: Path
) -> None:
    """The window's copy job passes its token to the source it opens: Cancel stops the
    decompression of a big archive at once, not after it."""
    from spyglass.core.copy import CopyOptions
    from spyglass.gui.copy_jobs import CopyRequest, Openers, prepare_copy

    spec = ImageSpec(
        layers=[LayerSpec({"/big": os.urandom(4 * 1024 * 1024)}, compression="none")],
        docker_media_types=True,
    )
    plain = write_tar(tmp_path / "big.tar", docker_save_entries([(["big:1"], spec)]))
    packed = pack(plain, "gzip", tmp_path / "big.tar.gz")
    request = CopyRequest(f"docker-archive:{packed}", f"oci:{tmp_path / 'out'}:v1",
                          CopyOptions())
    token = CancelOnCheck(at=3)
    with pytest.raises(Cancelled):
        prepare_copy(Openers(), request, token)
    assert token.checks == 3
    assert leftovers(temporary_folder) == []


@pytest.mark.parametrize("algorithm", ["none", "gzip"])
def test_an_archive_piped_in_is_read_as_skopeo_reads_it(
    skopeo_docker_archive: Path, tmp_path: Path, temporary_folder: Path, algorithm: str
) -> None:
    """``docker save img | spyglass copy docker-archive:/dev/stdin …``: the pipe is read
    once into a private temporary file, compressed or not, and that file goes at the end."""
    piped = skopeo_docker_archive if algorithm == "none" else pack(skopeo_docker_archive,
                                                                   algorithm)
    target = tmp_path / "out"
    with piped.open("rb") as data:
        pipe = subprocess.Popen(["cat"], stdin=data, stdout=subprocess.PIPE)
        done = subprocess.run(
            [sys.executable, "-m", "spyglass", "copy", "-q", "docker-archive:/dev/stdin",
             f"oci:{target}:x"],
            env={**os.environ, "PYTHONPATH": str(REPO / "app")}, stdin=pipe.stdout,
            capture_output=True, text=True, timeout=60, check=False,
        )
        pipe.wait()
    assert done.returncode == 0, done.stderr
    # the same image as a copy from the file itself
    from_file = tmp_path / "from-file"
    done = subprocess.run(
        [sys.executable, "-m", "spyglass", "copy", "-q",
         f"docker-archive:{skopeo_docker_archive}", f"oci:{from_file}:x"],
        env={**os.environ, "PYTHONPATH": str(REPO / "app")},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (target / "index.json").read_bytes() == (from_file / "index.json").read_bytes()
    assert leftovers(temporary_folder) == []


def test_what_is_no_tar_through_a_pipe_is_a_sentence(temporary_folder: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "spyglass", "inspect", "docker-archive:/dev/stdin"],
        env={**os.environ, "PYTHONPATH": str(REPO / "app")}, input="not a tar\n",
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith('spyglass: What comes through the pipe "/dev/stdin" is '
                                  "not a tar archive"), done.stderr
    assert leftovers(temporary_folder) == []


@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_an_empty_pipe_is_said_to_have_brought_nothing(temporary_folder: Path,
                                                       transport: str) -> None:
    """``true | spyglass copy docker-archive:/dev/stdin …`` said "(empty header)"."""
    done = subprocess.run(
        [sys.executable, "-m", "spyglass", "inspect", f"{transport}:/dev/stdin"],
        env={**os.environ, "PYTHONPATH": str(REPO / "app")}, input="",
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1
    assert done.stderr == ('spyglass: Nothing came through the pipe "/dev/stdin"; expected an '
                           "image archive as docker save or skopeo copy … oci-archive: writes "
                           "it, compressed or not.\n"), done.stderr
    assert leftovers(temporary_folder) == []


@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_stdin_from_dev_null_is_said_to_have_brought_nothing(temporary_folder: Path,
                                                             transport: str) -> None:
    """``spyglass copy docker-archive:/dev/stdin … </dev/null`` said "/dev/stdin" is not
    a regular file, though pipes are taken: an empty device brought nothing, as an
    empty pipe does."""
    with open(os.devnull, "rb") as nothing:
        done = subprocess.run(
            [sys.executable, "-m", "spyglass", "inspect", f"{transport}:/dev/stdin"],
            env={**os.environ, "PYTHONPATH": str(REPO / "app")}, stdin=nothing,
            capture_output=True, text=True, timeout=60, check=False,
        )
    assert done.returncode == 1
    assert done.stderr == ('spyglass: Nothing came through "/dev/stdin": it is a device that '
                           "gives no bytes; expected an image archive as docker save or "
                           "skopeo copy … oci-archive: writes it, compressed or not.\n"
                           ), done.stderr
    assert leftovers(temporary_folder) == []


def test_a_device_that_never_ends_is_refused_unread(temporary_folder: Path) -> None:
    """/dev/zero is not kept in a temporary file as a pipe's bytes are: it never ends."""
    with pytest.raises(InvalidLayout, match='"/dev/zero" is a device, not an image archive'):
        TarTree(Path("/dev/zero"))
    assert leftovers(temporary_folder) == []


def test_a_terminal_is_refused_with_how_to_pipe_an_archive_in() -> None:
    """``spyglass copy docker-archive:/dev/stdin …`` typed with no pipe is not left
    waiting for keys."""
    leader, follower = os.openpty()
    try:
        with pytest.raises(InvalidLayout, match=r"is a terminal, not an image archive; "
                                                r"pipe one in, as in docker save IMAGE \|"):
            TarTree(Path(os.ttyname(follower)))
    finally:
        os.close(leader)
        os.close(follower)


def test_a_named_pipe_nobody_writes_to_is_not_waited_for(
    tmp_path: Path, temporary_folder: Path
) -> None:
    """Opening a FIFO blocks until a writer comes: a window listing one dropped on it
    would hang its worker for good. It reads as empty instead, and is no archive."""
    fifo = tmp_path / "pipe.tar"
    os.mkfifo(fifo)
    with pytest.raises(InvalidLayout, match="is not an image archive"):
        open_location(fifo)
    with pytest.raises(InvalidLayout, match="Nothing came through the pipe"):
        open_source(f"docker-archive:{fifo}")
    assert leftovers(temporary_folder) == []
