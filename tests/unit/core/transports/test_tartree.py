"""TarTree against tars made to exhaust memory (more in test_archive and test_decompressed)."""

from __future__ import annotations

import gzip
import io
import tarfile
import tracemalloc
from pathlib import Path

import pytest

import spyglass.core.tarheaders as tarheaders
from spyglass.core.errors import DamagedArchive, TooLarge
from spyglass.core.transports import detect_location_kind, open_location
from spyglass.core.transports.archive import open_docker_archive_image
from spyglass.core.transports.archive_held import images_held
from spyglass.core.transports.tartree import TarTree
from tests.helpers.hostiletars import after_a_member, declaring, old_gnu_sparse, pax_member


def _tar(*names: str, fmt: int) -> bytes:
    """A tar of empty files ``names``, then a ``manifest.json``: a long name is written as
    a pax record or a GNU long name, after the format."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for name in (*names, "manifest.json"):
            data = b"[]" if name == "manifest.json" else b""
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_an_extended_header_longer_than_the_bound_is_refused_naming_the_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: int,
) -> None:
    """tarfile read a pax header (or a GNU long name) whole, whatever size it declared: a
    3 KB tar declaring 20 GiB ran out of memory, and a 97 KB .tar.zst declaring 3 GiB took
    3 GB of it. One longer than the bound (scaled down here) is refused as Go's
    archive/tar refuses one over 1 MiB, first member or later, compressed or not."""
    monkeypatch.setattr(tarheaders, "MAX_HEADER_RECORD", 4096)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    ok = tmp_path / "ok.tar"
    ok.write_bytes(_tar("a" * 3000, "b", fmt=fmt))
    assert TarTree(ok).names() == ["a" * 3000, "b", "manifest.json"]

    for name, data in (
        ("first.tar", _tar("a" * 10_000, fmt=fmt)),
        ("later.tar", _tar("b", "a" * 10_000, fmt=fmt)),
        ("later.tar.gz", gzip.compress(_tar("b", "a" * 10_000, fmt=fmt))),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        sentence = (rf'The archive "{path}" has a file-name header \(a tar pax record or GNU '
                    r"long name\) of 10,\d\d\d bytes, more than the 4,096 Spyglass reads; it "
                    r"cannot be read\.")
        for opened in (TarTree, detect_location_kind, open_location,
                       lambda p: open_docker_archive_image(p, None, None)):
            with pytest.raises(DamagedArchive, match=f"^{sentence}$"):
                opened(path)
        assert images_held(path) is None  # an archive a copy would replace: not an image's
    assert list(tmp_path.glob("spyglass-decompressed-*")) == []


@pytest.mark.parametrize("kind", [tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME])
def test_a_header_declaring_a_terabyte_is_refused_before_it_is_read(
    tmp_path: Path, kind: bytes,
) -> None:
    """What the explorer saw: a tar of 2 KB whose header declares more than memory holds
    got "Spyglass ran out of memory"; it is refused from the size declared."""
    path = tmp_path / "bomb.tar"
    path.write_bytes(declaring(2**40, kind))
    with pytest.raises(DamagedArchive) as caught:
        TarTree(path)
    assert str(caught.value) == (
        f'The archive "{path}" has a file-name header (a tar pax record or GNU long name) '
        "of 1,099,511,627,776 bytes, more than the 1,048,576 Spyglass reads; it cannot be "
        "read.")


def test_a_sparse_map_longer_than_the_bound_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A GNU sparse file's map goes on for as many blocks as each says another follows:
    100 MB of them took 430 MB of memory (and a .tar.zst of repeated blocks holds
    gigabytes). It is read up to the bound (scaled down here), as Go reads a GNU 1.0 map."""
    monkeypatch.setattr(tarheaders, "MAX_HEADER_RECORD", 4096)  # 8 blocks
    ok = tmp_path / "ok.tar"
    ok.write_bytes(after_a_member(old_gnu_sparse(8)))
    assert TarTree(ok).names() == ["manifest.json", "sparse"]

    for name, data in (
        ("old.tar", after_a_member(old_gnu_sparse(9))),
        ("gnu10.tar", after_a_member(pax_member(
            {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "s",
             "GNU.sparse.realsize": "1"}, b"100000\n" + b"1\n" * 5000))),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(DamagedArchive) as caught:
            TarTree(path)
        assert str(caught.value) == (
            f'The archive "{path}" has a sparse file\'s map (where its data lies) longer than '
            "the 4,096 bytes Spyglass reads; it cannot be read.")


@pytest.mark.parametrize(("member", "reason"), [
    (old_gnu_sparse(3, end=False), "a sparse file's map in it is cut short"),
    (pax_member({"GNU.sparse.size": "abc"}), "a sparse file's record in it is malformed"),
    (pax_member({"GNU.sparse.realsize": "q"}), "a sparse file's record in it is malformed"),
    (pax_member({"GNU.sparse.map": "x,y"}), "a sparse file's record in it is malformed"),
    (pax_member({"GNU.sparse.major": "1", "GNU.sparse.minor": "0"}, b"zz\n1\n"),
     "a sparse file's record in it is malformed"),
    (pax_member({"GNU.sparse.major": "1", "GNU.sparse.minor": "0"}, b"7" * 600),
     "a sparse file's record in it is malformed"),
    (pax_member({"GNU.sparse.major": "1", "GNU.sparse.minor": "0"}, b"9\n1\n2\n"),
     "a sparse file's map in it is cut short"),
])
def test_a_malformed_sparse_record_is_a_damaged_archive_not_an_internal_error(
    tmp_path: Path, member: bytes, reason: str,
) -> None:
    """tarfile parses what a sparse file's records say with int() and unpacking, and read
    past the end of a map cut short: ValueError and IndexError went out as "unexpected
    internal error"."""
    path = tmp_path / "damaged.tar"
    path.write_bytes(after_a_member(member))
    with pytest.raises(DamagedArchive) as caught:
        TarTree(path)
    assert str(caught.value).startswith(
        f'The archive "{path}" is truncated or damaged ({reason}')


def _many_members(path: Path, count: int) -> Path:
    """A plain tar of ``count`` empty files and its end (written block by block: tarfile
    takes a second for 20,000)."""
    with path.open("wb") as out:
        for number in range(count):
            info = tarfile.TarInfo(f"member-{number:07}")
            out.write(info.tobuf(format=tarfile.USTAR_FORMAT))
        out.write(b"\0" * 2 * tarfile.BLOCKSIZE)
    return path


def test_a_member_kept_costs_a_few_hundred_bytes_not_a_tarinfo(tmp_path: Path) -> None:
    """A tar of a million empty members (6 MB gzipped) took 517 MB: the tree kept each
    member's whole TarInfo, and tarfile a list of them all. It keeps where each member's
    data lies and what it is (about 200 bytes a member with its name, counted here
    without the interpreter's own)."""
    path = _many_members(tmp_path / "many.tar", 10_000)
    tracemalloc.start()
    try:
        tree = TarTree(path)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(tree.names()) == 10_000 and tree.size("member-0001234") == 0
    assert kept < 300 * 10_000, kept
    assert peak < 300 * 10_000 + 1024 * 1024, peak


def test_more_members_than_the_bound_are_refused_naming_the_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past a million members (scaled down here) a tar is refused, as a registry's
    listing stops at a million names: no image archive holds that many."""
    import spyglass.core.transports.tartree as tartree

    monkeypatch.setattr(tartree, "MAX_MEMBERS", 5)
    assert len(TarTree(_many_members(tmp_path / "five.tar", 5)).names()) == 5
    path = _many_members(tmp_path / "six.tar", 6)
    for opened in (TarTree, detect_location_kind, open_location,
                   lambda p: open_docker_archive_image(p, None, None)):
        with pytest.raises(TooLarge) as caught:
            opened(path)
        assert str(caught.value) == (
            f'The archive "{path}" has more than 5 members, more than Spyglass reads; an '
            "image archive holds a few for each image.")


@pytest.mark.parametrize("fmt", ["gnu", "posix"])
def test_a_sparse_member_is_read_as_stored_and_said_to_be_sparse(tmp_path: Path, fmt: str) -> None:
    """A sparse file of 100 MB holding 4 bytes (GNU tar -S): its size is the file's, what
    the tar stores a block; the archive was refused as "truncated or damaged" (its size
    ran past the tar's end), so the sentence for a sparse member never came. A tar cut
    inside the stored data is damaged still."""
    import shutil
    import subprocess

    if shutil.which("tar") is None:
        pytest.skip("GNU tar makes the sparse file")
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "manifest.json").write_text("[]")
    with open(folder / "big", "wb") as big:
        big.truncate(100 * 1024 * 1024)
        big.seek(50_000_000)
        big.write(b"data")
    archive = tmp_path / "sparse.tar"
    subprocess.run(["tar", f"--format={fmt}", "-S", "-cf", str(archive), "-C", str(folder),
                    "manifest.json", "big"], check=True)
    assert archive.stat().st_size < 64 * 1024
    tree = TarTree(archive)
    assert tree.names() == ["manifest.json", "big"]
    with pytest.raises(Exception, match=r'The member "big" .* is a sparse file, which Spyglass '
                                        r"cannot read in place\."):
        tree.open("big")
    data = archive.read_bytes()
    with tarfile.open(archive) as tar:
        stored = tar.getmember("big").offset_data
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[:stored + 2])
    with pytest.raises(DamagedArchive, match="truncated or damaged"):
        TarTree(cut)
