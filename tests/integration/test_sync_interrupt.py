"""An interrupt (Ctrl+C, SIGTERM) that comes once an image of a sync is in place does not
hide it: its line is said and the summary counts it, the copies under way are taken
back, no other image begins, and the program ends by the signal. Real signals, sent by
the syncing process to itself: as an image is put in place (in its lane's thread), as the
waiting thread takes its end, and as it writes its line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder
from tests.helpers.registry import RegistryServer, push_image

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
TAGS = ("t0", "t1", "t2")

_HOOKED = r"""
import os, queue, re, runpy, signal, sys
wheres, signame, count, *argv = sys.argv[1:]
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
signum = getattr(signal, "SIG" + signame)
sent = set()

def send(where):
    if where not in sent:
        sent.add(where)
        for _ in range(int(count)):  # a second: one who saw nothing happen presses again
            os.kill(os.getpid(), signum)

where = wheres.split("+")
if "in place" in where:  # the lane's thread, right after an image's folder is renamed in
    def hooked(real):
        def call(src, dst, *args, **kwargs):
            done = real(src, dst, *args, **kwargs)
            if re.search(r"/out/app:t\d$", os.fspath(dst)):
                send("in place")
            return done
        return call

    os.rename, os.replace = hooked(os.rename), hooked(os.replace)
    from spyglass.core.transports import dir_swap
    dir_swap.exchange = hooked(dir_swap.exchange)
if "taken" in where:  # the waiting thread, as it takes an image's end from its lane
    class Ended(queue.SimpleQueue):
        def get(self, *args, **kwargs):
            item = super().get(*args, **kwargs)
            if type(item).__name__ == "ImageResult":
                send("taken")
            return item

    queue.SimpleQueue = Ended
if "told" in where:  # the waiting thread, as it writes an image's line
    from spyglass.cli import progress
    real = progress.Reporter.result

    def result(self, text):
        send("told")
        return real(self, text)

    progress.Reporter.result = result
if "summary" in where:  # as the last line is written (after a first interrupt)
    from spyglass.cli import sync_cmd
    real_write = sync_cmd._write

    def write(line):
        if line.startswith("Synced"):
            send("summary")
        return real_write(line)

    sync_cmd._write = write
sys.argv = ["spyglass", *argv]
runpy.run_module("spyglass", run_name="__main__", alter_sys=True)
"""


@pytest.fixture(scope="module")
def source(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``sync-interrupt/app`` on the session registry: three small images."""
    root = tmp_path_factory.mktemp("sync-interrupt") / "layout"
    builder = LayoutBuilder(root)
    for tag in TAGS:
        builder.tag(builder.add_image(ImageSpec(layers=[
            LayerSpec({"/etc/motd": b"the shared base\n"}),
            LayerSpec({f"/{tag}": f"image {tag}\n".encode() * 50})])), tag)
    for tag in TAGS:
        push_image(registry, root, tag, f"sync-interrupt/app:{tag}")
    return f"{registry.host}/sync-interrupt/app"


def _sync_signalled(where: str, signame: str, count: int, *args: str
                    ) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=f"{REPO_ROOT / 'app'}{os.pathsep}{REPO_ROOT}")
    return subprocess.run([sys.executable, "-c", _HOOKED, where, signame, str(count), "sync",
                           *args], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize("where", [
    "in place", "taken", "told",
    "in place+summary",  # and more as the summary is written: it is written whole
])
@pytest.mark.parametrize(("signame", "said"), [("INT", "interrupted."),
                                                ("TERM", "stopped by SIGTERM.")])
@pytest.mark.parametrize("count", [1, 2])
def test_an_image_in_place_when_the_interrupt_came_is_said_and_counted(
        source: str, tmp_path: Path, where: str, signame: str, said: str, count: int
) -> None:
    """One image at a time: the first is in place when the signal comes (once, or twice:
    nothing seemed to happen); each image in the destination has its line, the last line
    counts them, and the sync ends by the signal (the first) without starting another."""
    out = tmp_path / "out"
    done = _sync_signalled(where, signame, count, "-q", "--parallel-images", "1",
                           "--src", "docker", "--dest", "dir", "--src-tls-verify=false",
                           source, str(out))
    assert done.returncode == -getattr(signal, f"SIG{signame}"), done.stderr
    assert done.stderr.splitlines()[-1] == f"spyglass: {said}", done.stderr
    assert "Traceback" not in done.stderr
    in_place = sorted(os.listdir(out))
    assert all(re.fullmatch(r"app:t\d", name) for name in in_place), in_place  # nothing left
    *lines, last = done.stdout.splitlines()
    copied = re.compile(rf"Copied docker://{re.escape(source)}:(t\d) → "
                        rf"dir:{re.escape(str(out))}/app:\1 \(sha256:[0-9a-f]{{64}}\)")
    told = [match.group(1) for line in lines if (match := copied.fullmatch(line))]
    assert len(told) == len(lines), done.stdout
    # what is in place is what is said, and counted: the first at least (the signal came
    # once it was in place); not every one (the copy under way was taken back, or the
    # next not begun)
    assert sorted(f"app:{tag}" for tag in told) == in_place, done.stdout
    assert 1 <= len(told) < len(TAGS), done.stdout
    assert last == (f"Synced {len(told)} images from 1 sources, then interrupted; "
                    f"{len(TAGS) - len(told)} not copied"), done.stdout
