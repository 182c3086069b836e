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

def hook(where, count):
    module, qualname = where.split(":")
    owner = importlib.import_module(module)
    *path, name = qualname.split(".")
    for part in path:
        owner = getattr(owner, part)
    real = getattr(owner, name)
    sent = []

    def call(*args, **kwargs):  # the signals just before the first call
        if not sent:
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
    (``module:Class.method=N``, comma-separated: N signals)."""
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
