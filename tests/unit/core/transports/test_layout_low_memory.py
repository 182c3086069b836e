"""A copy into an OCI layout when memory is short, when it is killed while it makes the
layout, and when a blob cannot be removed: small files are read without reserving their
limit (``read_at_most``), a failed copy takes back what it wrote without reading
anything, a new layout's ``oci-layout`` file is written last, and a blob left is said
and recorded (spyglass.core.transports.files and layout_write)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spyglass.core.digest import Digest
from spyglass.core.transports import layout_files, layout_write, open_source
from spyglass.core.transports.files import blob_path, read_at_most
from spyglass.core.transports.layout_left import LEFT_FILE
from spyglass.core.transports.layout_write import OCILayoutDestination
from tests.unit.core.transports.test_dir_dest import single_source
from tests.unit.core.transports.test_layout_dest import copy_image, single_image_layout
from tests.unit.core.transports.test_layout_left import layout_files as files_of

__all__ = ["single_source"]  # (the fixture, used by name)

_ROOT = Path(__file__).resolve().parents[4]


class _Counting(io.BytesIO):
    """A stream that is no file, which keeps the sizes asked of it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, n: int | None = -1, /) -> bytes:
        self.asked.append(-1 if n is None else n)
        return super().read(n)


@pytest.mark.parametrize("size", [0, 88, 65536, 100_000, 100_001, 300_000])
def test_read_at_most_reads_the_file_up_to_one_byte_over_the_limit(
        tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    with (tmp_path / "f").open("rb") as stream:
        assert read_at_most(stream, 100_000) == data[:100_001]
    counting = _Counting(data)
    assert read_at_most(counting, 100_000) == data[:100_001]
    assert max(counting.asked) <= 64 * 1024  # a stream of unknown size: a chunk at a time


def test_read_at_most_asks_a_file_for_its_size_not_the_limit(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 88)
    asked: list[int] = []
    with (tmp_path / "f").open("rb") as stream:
        real = stream.read

        def read(n: int = -1, /) -> bytes:
            asked.append(n)
            return real(n)

        stream.read = read  # type: ignore[method-assign]
        assert read_at_most(stream, 64 * 1024 * 1024) == b"x" * 88
    assert max(asked) == 89


def _run_limited(script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a Python whose address space may grow by 48 MiB past what it
    uses once Spyglass is imported: a 64 MiB buffer cannot be had there."""
    prologue = textwrap.dedent("""\
        import resource
        import spyglass.core.transports.layout_write
        import spyglass.core.transports.layout
        with open("/proc/self/status") as status:
            size = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
        limit = (size + 48 * 1024) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
        try:
            bytearray(64 * 1024 * 1024)
        except MemoryError:
            pass
        else:
            raise SystemExit("the limit did not hold")
        """)
    env = {**os.environ, "PYTHONPATH": f"{_ROOT / 'app'}:{_ROOT}"}
    return subprocess.run([sys.executable, "-c", prologue + textwrap.dedent(script)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_copy_into_a_layout_needs_no_buffer_of_the_index_limit(
        tmp_path: Path, single_source: Path) -> None:
    """index.json (88 bytes) was read with ``read(64 MiB + 1)``, which reserves it all:
    under a memory limit the copy failed at its commit (and its take-back the same way)."""
    dst = tmp_path / "dst"
    done = _run_limited(f"""
        from pathlib import Path
        from spyglass.core.transports import open_source
        from spyglass.core.transports.layout_write import OCILayoutDestination
        from tests.unit.core.transports.test_layout_dest import copy_image
        source = open_source("oci:{single_source}:app")
        copy_image(source, OCILayoutDestination(Path("{dst}"), "a"))
        print(open_source("oci:{dst}:a").get_manifest()[1])
        """)
    assert done.returncode == 0, done.stderr
    assert "manifest" in done.stdout


def _no_memory_to_read_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading index.json (for the commit, and for the take-back) runs out of memory."""

    def no_memory(path: Path, what: str) -> dict[str, object]:
        raise MemoryError

    monkeypatch.setattr(layout_write, "read_index_file", no_memory)
    monkeypatch.setattr(layout_files, "read_index_file", no_memory)


def test_a_copy_failing_for_memory_takes_back_the_new_layout(
        tmp_path: Path, single_source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dst = tmp_path / "new" / "dst"
    dest = OCILayoutDestination(dst, "a", make_parents=True)
    _no_memory_to_read_the_index(monkeypatch)
    with pytest.raises(MemoryError):
        copy_image(open_source(f"oci:{single_source}:app"), dest)
    dest.abort()
    assert dest.left_behind is None
    assert not (tmp_path / "new").exists()


def test_a_copy_failing_for_memory_leaves_a_layout_as_it_was(
        tmp_path: Path, single_source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dst = tmp_path / "dst"
    single_image_layout(dst, ref="old", marker=b"old\n")
    OCILayoutDestination(dst, "seed").abort()  # leaves the lock file, as any writer does
    before = files_of(dst)
    dest = OCILayoutDestination(dst, "a")
    _no_memory_to_read_the_index(monkeypatch)
    with pytest.raises(MemoryError):
        copy_image(open_source(f"oci:{single_source}:app"), dest)
    dest.abort()
    assert dest.left_behind is None
    assert files_of(dst) == before


def test_blobs_stay_when_the_index_changed_and_cannot_be_read(
        tmp_path: Path, single_source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Taken back without reading index.json only while it is the one the copy found: an
    entry written since may name a blob the copy added, so they stay, recorded."""
    dst = tmp_path / "dst"
    single_image_layout(dst, ref="old", marker=b"old\n")
    dest = OCILayoutDestination(dst, "a")
    _no_memory_to_read_the_index(monkeypatch)
    with pytest.raises(MemoryError):
        copy_image(open_source(f"oci:{single_source}:app"), dest)
    index = dst / "index.json"
    index.write_bytes(index.read_bytes())  # another program wrote it meanwhile
    dest.abort()
    left = dest.left_behind
    assert left is not None and left.later and left.blobs
    assert all((dst / blob_path(d)).is_file() for d in left.blobs)
    recorded = json.loads((dst / LEFT_FILE).read_bytes())["blobs"]
    assert recorded == sorted(str(d) for d in left.blobs)


def test_a_new_layout_gets_its_oci_layout_file_last(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy killed between the two files left ``oci-layout`` without ``index.json``, a
    folder no tool reads; stopped after the first, the folder is now a layout without its
    ``oci-layout`` file, which a later copy completes."""
    renamed: list[str] = []
    real_replace = layout_write.replace_file

    def replace_then_stop(path: Path, data: bytes, **kwargs: object) -> None:
        real_replace(path, data, **kwargs)  # type: ignore[arg-type]
        renamed.append(path.name)
        raise KeyboardInterrupt  # (kill -9 leaves no take-back: this one's is undone below)

    dst = tmp_path / "dst"
    monkeypatch.setattr(layout_write, "replace_file", replace_then_stop)
    monkeypatch.setattr(OCILayoutDestination, "_undo_preparing", lambda self: None)
    monkeypatch.setattr(layout_write, "remove_made_folders", lambda made: None)
    with pytest.raises(KeyboardInterrupt):
        OCILayoutDestination(dst, "a")
    assert renamed == ["index.json"]
    assert sorted(n for n in os.listdir(dst) if not n.startswith(".spyglass-tmp-")
                  and n != "index.json.lock") == ["blobs", "index.json"]
    monkeypatch.undo()
    # read as a layout (empty), and completed by a later copy
    later = OCILayoutDestination(dst, "b")
    assert later.tagged_digest("b") is None
    assert (dst / "oci-layout").is_file()
    later.abort()


def _abort_with_blobs_kept(dest: OCILayoutDestination, layout: Path) -> None:
    """``dest``'s abort while its layout's blobs folder may not be written (no blob it
    added can be removed)."""
    folder = layout / "blobs" / "sha256"
    folder.chmod(0o555)
    try:
        dest.abort()
    finally:
        folder.chmod(0o755)


def test_a_blob_that_cannot_be_removed_is_said_and_recorded(
        unprivileged_dir: Path) -> None:
    """Permission to change blobs/sha256 lost while a copy ran: its blob there was passed
    over silently, named by nothing and recorded nowhere, for good."""
    dst = unprivileged_dir / "dst"
    single_image_layout(dst, ref="old", marker=b"old\n")
    dest = OCILayoutDestination(dst, "a")
    data = b"the stopped copy's blob\n"
    digest = Digest.of(data)
    dest.put_blob(io.BytesIO(data), media_type="application/octet-stream",
                  digest=digest, size=len(data))
    _abort_with_blobs_kept(dest, dst)
    left = dest.left_behind
    assert left is not None and left.blobs == (digest,) and left.later
    assert left.why == f"it could not be removed (Permission denied: {dst / blob_path(digest)})"
    assert json.loads((dst / LEFT_FILE).read_bytes())["blobs"] == [str(digest)]
    # once it can be, a later copy takes it back
    later = OCILayoutDestination(dst, "c")
    later.put_blob(io.BytesIO(b"c\n"), media_type="application/octet-stream",
                   digest=Digest.of(b"c\n"), size=2)
    later.abort()
    assert not (dst / blob_path(digest)).exists()
    assert not (dst / LEFT_FILE).exists()


def test_a_sentence_when_blobs_cannot_be_removed_names_how_many(
        unprivileged_dir: Path) -> None:
    dst = unprivileged_dir / "dst"
    single_image_layout(dst, ref="old", marker=b"old\n")
    dest = OCILayoutDestination(dst, "a")
    for data in (b"one\n", b"two\n", b"three\n"):
        dest.put_blob(io.BytesIO(data), media_type="application/octet-stream",
                      digest=Digest.of(data), size=len(data))
    _abort_with_blobs_kept(dest, dst)
    left = dest.left_behind
    assert left is not None and len(left.blobs) == 3
    assert left.why.startswith("they could not be removed (Permission denied: ")
    assert left.why.endswith(" and 2 more)")
