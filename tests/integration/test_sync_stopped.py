"""A sync without ``--keep-going`` that one image's failure stops: the images that were
in place as the others were stopped are said and counted, as they are with
``--keep-going`` and at an interrupt. Images copied side by side (``--parallel-images``)
from a real registry whose ``b`` lost a layer; the moments are placed by hooks in the
syncing process: ``a`` and ``c`` are renamed in before ``b``'s failure is taken, and go
on only once the sync is stopping."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import require_tool
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder
from tests.helpers.registry import RegistryServer, push_image

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]

_HOOKED = r"""
import os, queue, re, runpy, sys, threading
placed_names, *argv = sys.argv[1:]
placed = re.compile(placed_names)
in_place, all_in_place, stopping = [], threading.Event(), threading.Event()
lock = threading.Lock()

def hooked(real):  # the lanes' threads: an image renamed in waits for the stop to begin
    def call(src, dst, *args, **kwargs):
        done = real(src, dst, *args, **kwargs)
        if placed.search(os.fspath(dst)):
            with lock:
                in_place.append(dst)
                if len(in_place) == 2:
                    all_in_place.set()
            stopping.wait(60)
        return done
    return call

os.rename, os.replace = hooked(os.rename), hooked(os.replace)
from spyglass.core.transports import dir_swap
dir_swap.exchange = hooked(dir_swap.exchange)

class Ended(queue.SimpleQueue):  # the failure is taken once the others are in place
    def put(self, item, *args, **kwargs):
        if type(item).__name__ == "ImageResult" and item.error is not None:
            all_in_place.wait(60)
        return super().put(item, *args, **kwargs)

queue.SimpleQueue = Ended
from spyglass.core import sync_run
real_stop = sync_run._stop

def stop(*args, **kwargs):
    stopping.set()
    return real_stop(*args, **kwargs)

sync_run._stop = stop
sys.argv = ["spyglass", *argv]
runpy.run_module("spyglass", run_name="__main__", alter_sys=True)
"""


@pytest.fixture(scope="module")
def source(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``sync-stopped/app`` ``a``, ``b`` and ``c`` on the session registry, ``b`` without
    its own layer in the registry's storage."""
    root = tmp_path_factory.mktemp("sync-stopped") / "layout"
    builder = LayoutBuilder(root)
    for tag in ("a", "b", "c"):
        builder.tag(builder.add_image(ImageSpec(layers=[
            LayerSpec({f"/{tag}": f"sync-stopped {tag}\n".encode() * 50})])), tag)
    for tag in ("a", "b", "c"):
        push_image(registry, root, tag, f"sync-stopped/app:{tag}")
    manifest = json.loads(subprocess.run(
        [require_tool("skopeo"), "inspect", "--raw", "--tls-verify=false",
         f"docker://{registry.host}/sync-stopped/app:b"],
        capture_output=True, text=True, timeout=60, check=True).stdout)
    registry.blob_path(manifest["layers"][-1]["digest"]).unlink()
    return f"{registry.host}/sync-stopped/app"


def test_images_in_place_as_a_failure_stops_the_sync_are_said_and_counted(
        source: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=f"{REPO_ROOT / 'app'}{os.pathsep}{REPO_ROOT}")
    done = subprocess.run(
        [sys.executable, "-c", _HOOKED, r"/out/app:[ac]$", "sync", "-q",
         "--parallel-images", "3", "--retry-times", "0", "--src", "docker", "--dest", "dir",
         "--src-tls-verify=false", source, str(out)],
        env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        check=False)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith(f"spyglass: Copying docker://{source}:b to dir:{out}/app:b "
                           "failed: "), done.stderr
    assert last.endswith("Stopped there: --keep-going goes on with the other images.")
    in_place = sorted(os.listdir(out))
    assert in_place == ["app:a", "app:c"], in_place  # (and nothing half written)
    *lines, summary = done.stdout.splitlines()
    copied = re.compile(rf"Copied docker://{re.escape(source)}:([ac]) → "
                        rf"dir:{re.escape(str(out))}/app:\1 \(sha256:[0-9a-f]{{64}}\)")
    told = sorted(match.group(1) for line in lines if (match := copied.fullmatch(line)))
    assert len(told) == len(lines), done.stdout
    # each image in the destination has its line, and is counted
    assert [f"app:{tag}" for tag in told] == in_place, done.stdout
    assert summary == "Synced 2 images from 1 sources, 1 failed", done.stdout
