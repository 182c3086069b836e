"""A copy into an OCI layout when memory is short: small files are read without reserving
their limit (``read_at_most``, spyglass.core.transports.files)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spyglass.core.transports.files import read_at_most
from tests.unit.core.transports.test_dir_dest import single_source

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
    """Run ``script`` in a Python whose address space may grow by 24 MiB past what it
    uses once Spyglass is imported: a 64 MiB buffer cannot be had there."""
    prologue = textwrap.dedent("""\
        import resource
        import spyglass.core.transports.layout_write
        import spyglass.core.transports.layout
        with open("/proc/self/status") as status:
            size = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
        limit = (size + 24 * 1024) * 1024
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
