"""An interrupt (Ctrl+C, SIGTERM) that comes once a copy's image is in place does not
take it back: the copy is told whole, said to stay, and the program ends by the signal.
Real signals, sent by the copying process to itself right after its last rename."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from spyglass.core.cancel import FINAL_STRETCH_NOTICE
from spyglass.core.digest import Digest
from spyglass.core.transports import open_source
from tests.unit.core.transports.test_layout_dest import leftovers, single_image_layout

REPO = Path(__file__).resolve().parents[2]

_HOOKED = r"""
import os, re, runpy, signal, sys
import shutil
match, signame, count, tidying, *argv = sys.argv[1:]
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
signum = getattr(signal, "SIG" + signame)
sent = []

def after(dst):
    if not sent and re.search(match, os.fspath(dst)):
        sent.append(dst)
        for _ in range(int(count)):  # a second: one who saw nothing happen presses again
            os.kill(os.getpid(), signum)  # as if it came during the call

real_rmtree = shutil.rmtree

def rmtree(*args, **kwargs):  # the dir: image replaced is removed: it takes a while
    if sent and len(sent) == 1:
        sent.append("tidying")
        for _ in range(int(tidying)):
            os.kill(os.getpid(), signum)
    return real_rmtree(*args, **kwargs)

shutil.rmtree = rmtree

def hooked(real):
    def call(src, dst, *args, **kwargs):
        done = real(src, dst, *args, **kwargs)
        after(dst)
        return done
    return call

os.rename, os.replace = hooked(os.rename), hooked(os.replace)
from spyglass.core.transports import dir_swap
dir_swap.exchange = hooked(dir_swap.exchange)
sys.argv = ["spyglass", *argv]
runpy.run_module("spyglass", run_name="__main__", alter_sys=True)
"""


def _copy_signalled(match: str, signame: str, *args: str, count: int = 1, tidying: int = 0
                    ) -> subprocess.CompletedProcess[str]:
    """``copy ARGS``, sent ``count`` signals right after the step ``match`` names, and
    ``tidying`` more as the first folder is removed after it (the dir: image replaced)."""
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'app'}{os.pathsep}{REPO}")
    return subprocess.run([sys.executable, "-c", _HOOKED, match, signame, str(count),
                           str(tidying), "copy", *args],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("src") / "layout"
    single_image_layout(root, ref="a")
    single_image_layout(root, ref="b", marker=b"v2\n")
    return root


@pytest.mark.parametrize(("transport", "last_step"), [
    ("dir", r"/out$"),  # the swap's exchange (or its second rename)
    ("oci", r"/out/index\.json$"),
    ("oci-archive", r"/out$"),
])
@pytest.mark.parametrize(("signame", "said"), [("INT", "interrupted."),
                                                ("TERM", "stopped by SIGTERM.")])
@pytest.mark.parametrize("count", [1, 2])
def test_an_interrupt_after_the_last_step_keeps_the_copy_and_says_so(
        source: Path, tmp_path: Path, transport: str, last_step: str, signame: str,
        said: str, count: int) -> None:
    """Once, or twice (nothing seemed to happen): the copy is told whole either way."""
    out = tmp_path / "out"
    name = f"{transport}:{out}" + ("" if transport == "dir" else ":b")
    first = _copy_signalled("^$", signame, "-q", f"oci:{source}:a", name)
    assert first.returncode == 0, first.stderr  # an image there already, replaced
    digestfile = tmp_path / "digest"
    done = _copy_signalled(last_step, signame, "-q", "--digestfile", str(digestfile),
                           f"oci:{source}:b", name, count=count)
    assert done.returncode == -getattr(signal, f"SIG{signame}")  # ended by it, as asked
    digest = digestfile.read_text()
    # (said at the first, so that nobody waits unsure)
    assert f"spyglass: {FINAL_STRETCH_NOTICE}" in done.stderr.splitlines()
    assert done.stderr.splitlines()[-2:] == [
        f"spyglass: Copied oci:{source}:b to {name} ({digest}): the image was in place "
        "when the interrupt came, so it stays there.", f"spyglass: {said}"]
    assert "Traceback" not in done.stderr
    assert str(Digest.of(open_source(name).get_manifest()[0])) == digest  # the new image
    assert leftovers(tmp_path) == []


def test_a_third_interrupt_gets_out_of_a_slow_tidying_and_still_tells_the_copy(
        source: Path, tmp_path: Path) -> None:
    """The dir: image replaced is removed once the copy is said to be in place: a third
    Ctrl+C stops that removal, and the copy is still told whole (its digest written)."""
    out = tmp_path / "out"
    first = _copy_signalled("^$", "INT", "-q", f"oci:{source}:a", f"dir:{out}")
    assert first.returncode == 0, first.stderr
    digestfile = tmp_path / "digest"
    done = _copy_signalled(r"/out$", "INT", "-q", "--digestfile", str(digestfile),
                           f"oci:{source}:b", f"dir:{out}", count=2, tidying=1)
    assert done.returncode == -signal.SIGINT
    digest = digestfile.read_text()
    assert done.stderr.splitlines()[-2:] == [
        f"spyglass: Copied oci:{source}:b to dir:{out} ({digest}): the image was in place "
        "when the interrupt came, so it stays there.", "spyglass: interrupted."]
    assert str(Digest.of(open_source(f"dir:{out}").get_manifest()[0])) == digest
    [left] = leftovers(tmp_path)  # the old image, said to stay for a later copy
    assert f'what is left of it is in {tmp_path / left}, which a later copy to "{out}" ' \
        "removes." in done.stderr


_HOOKED_CALLS = r"""
import importlib, os, runpy, signal, sys
hooks, signame, *argv = sys.argv[1:]
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
signum = getattr(signal, "SIG" + signame)

def resolve(where):
    module, qualname = where.split(":")
    owner = importlib.import_module(module)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, name

def hook(where, count):
    outer, _, inner = where.rpartition(">")  # (OUTER>INNER: INNER's first call in OUTER)
    owner, name = resolve(inner)
    real = getattr(owner, name)
    sent, within = [], []
    if outer:
        outer_owner, outer_name = resolve(outer)
        real_outer = getattr(outer_owner, outer_name)

        def around(*args, **kwargs):
            within.append(outer)
            try:
                return real_outer(*args, **kwargs)
            finally:
                within.pop()

        setattr(outer_owner, outer_name, around)

    def call(*args, **kwargs):  # the signals just before the first call
        if not sent and (within or not outer):
            sent.append(where)
            for _ in range(count):
                os.kill(os.getpid(), signum)
        return real(*args, **kwargs)

    setattr(owner, name, call)

for one in hooks.split(","):
    where, count = one.rsplit("=", 1)
    hook(where, int(count))
sys.argv = ["spyglass", *argv]
runpy.run_module("spyglass", run_name="__main__", alter_sys=True)
"""


def _copy_signalled_at(hooks: str, signame: str, *args: str
                       ) -> subprocess.CompletedProcess[str]:
    """``copy ARGS``, sent signals just before the first call of each of ``hooks``
    (``module:Class.method=N``, comma-separated: N signals; ``OUTER>INNER=N``: before
    INNER's first call made during a call of OUTER)."""
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'app'}{os.pathsep}{REPO}")
    return subprocess.run([sys.executable, "-c", _HOOKED_CALLS, hooks, signame, "copy",
                           *args],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


_LAYOUT_WRITE = "spyglass.core.transports.layout_write:OCILayoutDestination"


@pytest.mark.parametrize(("transport", "hooks"), [
    # once the image is in place, as the bars go
    ("oci", "spyglass.cli.progress:Reporter.close=1"),
    # as the destination closes
    ("oci", f"{_LAYOUT_WRITE}.close=1"),
    ("dir", "spyglass.core.transports.dirlayout:DirDestination.close=1"),
    # as the source closes
    ("oci", "spyglass.core.transports.layout:LayoutImageSource.close=1"),
    # a first at the point of no return (held, said), a second as the bars go
    ("oci", f"{_LAYOUT_WRITE}._update_index=1,spyglass.cli.progress:Reporter.close=1"),
    # two as the bars go (one who saw nothing happen presses again)
    ("dir", "spyglass.cli.progress:Reporter.close=2"),
])
@pytest.mark.parametrize(("signame", "said"), [("INT", "interrupted."),
                                                ("TERM", "stopped by SIGTERM.")])
def test_an_interrupt_as_the_copy_closes_keeps_the_copy_and_says_so(
        source: Path, tmp_path: Path, transport: str, hooks: str, signame: str,
        said: str) -> None:
    """Between the copy's end and its telling (the bars, the destination and the source
    closed): the copy is told whole, its digest written, and the program ends by it."""
    out = tmp_path / "out"
    name = f"{transport}:{out}" + ("" if transport == "dir" else ":b")
    digestfile = tmp_path / "digest"
    done = _copy_signalled_at(hooks, signame, "--digestfile", str(digestfile),
                              f"oci:{source}:b", name)
    assert done.returncode == -getattr(signal, f"SIG{signame}"), done.stderr
    digest = digestfile.read_text()
    assert done.stderr.splitlines()[-2:] == [
        f"spyglass: Copied oci:{source}:b to {name} ({digest}): the image was in place "
        "when the interrupt came, so it stays there.", f"spyglass: {said}"], done.stderr
    assert "Traceback" not in done.stderr
    assert str(Digest.of(open_source(name).get_manifest()[0])) == digest
    assert leftovers(tmp_path) == []


_DIGEST_RENAMED_IN = ("spyglass.cli.copy_cmd:_write_digestfile"
                      ">spyglass.core.transports.file_write:_keep_access")
"""The ``--digestfile``'s temporary written, not yet renamed in."""


@pytest.mark.parametrize("hooks", [
    pytest.param(f"{_DIGEST_RENAMED_IN}=3", id="three-as-it-is-written"),
    # one who saw nothing happen presses again and again: a first as the bars go
    pytest.param(f"spyglass.cli.progress:Reporter.close=1,{_DIGEST_RENAMED_IN}=3",
                 id="one-then-three-more"),
])
@pytest.mark.parametrize(("signame", "said"), [("INT", "interrupted."),
                                                ("TERM", "stopped by SIGTERM.")])
def test_interrupts_as_the_digestfile_is_written_are_held_and_the_copy_is_told(
        source: Path, tmp_path: Path, hooks: str, signame: str, said: str) -> None:
    """A third (or fourth) interrupt as the ``--digestfile`` is written no longer gets out:
    the file is written whole, the copy told, and the program ends by the first."""
    out = tmp_path / "out"
    digestfile = tmp_path / "digest"
    digestfile.write_text("sha256:" + "0" * 64)  # (one there before: replaced whole)
    done = _copy_signalled_at(hooks, signame, "--digestfile", str(digestfile),
                              f"oci:{source}:b", f"dir:{out}")
    assert done.returncode == -getattr(signal, f"SIG{signame}"), done.stderr
    digest = str(Digest.of(open_source(f"dir:{out}").get_manifest()[0]))
    assert digestfile.read_text() == digest
    assert done.stderr.splitlines()[-2:] == [
        f"spyglass: Copied oci:{source}:b to dir:{out} ({digest}): the image was in place "
        "when the interrupt came, so it stays there.", f"spyglass: {said}"], done.stderr
    assert "Traceback" not in done.stderr
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("count", [2, 3])
def test_a_third_interrupt_gets_out_of_a_digestfile_pipe_and_the_copy_is_still_told(
        source: Path, tmp_path: Path, count: int) -> None:
    """A pipe's reader may never come (a FIFO nobody opens): there a third interrupt gets
    out of the writing, and the copy is told all the same, saying so."""
    out = tmp_path / "out"
    fifo = tmp_path / "digest"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # (a reader there: no waiting)
    try:
        done = _copy_signalled_at(f"spyglass.cli.copy_cmd:_write_digestfile={count}", "INT",
                                  "--digestfile", str(fifo), f"oci:{source}:b", f"dir:{out}")
        try:
            written = os.read(reader, 200).decode()
        except BlockingIOError:
            written = ""
    finally:
        os.close(reader)
    assert done.returncode == -signal.SIGINT, done.stderr
    digest = str(Digest.of(open_source(f"dir:{out}").get_manifest()[0]))
    copied = (f"spyglass: Copied oci:{source}:b to dir:{out} ({digest}): the image was in "
              "place when the interrupt came, so it stays there")
    if count == 2:  # (both held: written, told)
        assert written == digest
        assert done.stderr.splitlines()[-2:] == [f"{copied}.", "spyglass: interrupted."]
    else:
        assert written == ""
        assert done.stderr.splitlines()[-2:] == [
            f'{copied}; its digest may not have been written to "{fifo}": the interrupt '
            "stopped that.", "spyglass: interrupted."], done.stderr
    assert "Traceback" not in done.stderr
