"""The copy engine when things go wrong: a registry that goes away, corrupt blobs,
cancellation, concurrent writers and a destination that cannot be written.

The copies run in-process (``copy_image``) so the tests can act from the event
callback at an exact point of the copy; every failure must leave the destination
layout as it was (``index.json`` unchanged, no ``.spyglass-tmp-*`` files) and
raise one sentence.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from spyglass.core.cancel import CancelToken
from spyglass.core.copy import (
    BlobDone,
    BlobProgress,
    BlobRetried,
    BlobStarted,
    CopyCancelled,
    CopyEvent,
    CopyOptions,
    Failed,
    Finished,
    copy_image,
)
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    Cancelled,
    DigestMismatch,
    SizeMismatch,
    SpyglassError,
    VerificationError,
)
from spyglass.core.transports import open_destination, open_source
from spyglass.core.transports.registry import RegistryOptions
from tests.helpers import require_tool
from tests.helpers.imagebuild import (
    REF_NAME_ANNOTATION,
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    multi_platform_layout,
)
from tests.helpers.imagecontent import image_content
from tests.helpers.registry import RegistryServer, push_image

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
NO_RETRIES = RegistryOptions(retry_times=0)
ALL = CopyOptions(multi_arch="all", parallel=1, retry_times=0)


def one_sentence(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and text.endswith("."), text
    return text


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".spyglass-tmp*")]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def refs(layout: Path) -> set[str]:
    index = json.loads((layout / "index.json").read_bytes())
    return {m.get("annotations", {}).get(REF_NAME_ANNOTATION) for m in index["manifests"]}


def copy(
    source: str,
    destination: str,
    options: CopyOptions = ALL,
    *,
    events: Callable[[CopyEvent], None] | None = None,
    cancel: CancelToken | None = None,
) -> None:
    src = open_source(source, NO_RETRIES)
    try:
        dst = open_destination(destination, NO_RETRIES)
        try:
            copy_image(src, dst, options, events=events, cancel=cancel)
        finally:
            dst.close()
    finally:
        src.close()


@pytest.fixture
def source_layout(tmp_path: Path) -> Path:
    root = tmp_path / "source"
    multi_platform_layout(root)
    return root


@pytest.fixture
def destination(tmp_path: Path) -> Path:
    """An OCI layout that already holds one image, tagged ``old``."""
    root = tmp_path / "destination"
    builder = LayoutBuilder(tmp_path / "seed")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/old": b"old\n"})])), "old")
    copy(f"oci:{tmp_path / 'seed'}:old", f"oci:{root}:old")
    assert refs(root) == {"old"}
    return root


class Recorder:
    def __init__(self, action: Callable[[CopyEvent], None] | None = None) -> None:
        self.events: list[CopyEvent] = []
        self.lock = threading.Lock()
        self.action = action

    def __call__(self, event: CopyEvent) -> None:
        with self.lock:
            self.events.append(event)
        if self.action is not None:
            self.action(event)


def test_source_registry_stops_mid_copy(
    fresh_registry: RegistryServer, source_layout: Path, destination: Path
) -> None:
    push_image(fresh_registry, source_layout, "latest", "it/stop:1")
    index_before = (destination / "index.json").read_bytes()
    stopped = threading.Event()

    def stop_after_first_blob(event: CopyEvent) -> None:
        if isinstance(event, BlobDone) and not stopped.is_set():
            stopped.set()
            fresh_registry.stop()

    recorder = Recorder(stop_after_first_blob)
    name = f"docker://{fresh_registry.host}/it/stop:1"
    with pytest.raises(SpyglassError) as caught:
        copy(name, f"oci:{destination}:new", events=recorder)
    assert stopped.is_set()
    assert not isinstance(caught.value, Cancelled)
    message = one_sentence(caught.value)
    assert message == f"Cannot reach the registry {fresh_registry.host}: connection refused."
    assert isinstance(recorder.events[-1], Failed)
    assert (destination / "index.json").read_bytes() == index_before
    assert temp_files(destination) == []

    fresh_registry.start()
    recorder = Recorder()
    copy(name, f"oci:{destination}:new", events=recorder)
    assert isinstance(recorder.events[-1], Finished)
    assert refs(destination) == {"old", "new"}
    assert temp_files(destination) == []


def test_source_registry_stops_mid_blob(
    fresh_registry: RegistryServer, destination: Path, tmp_path: Path
) -> None:
    builder = LayoutBuilder(tmp_path / "big")
    big = os.urandom(24 * 1024 * 1024)
    builder.tag(builder.add_image(
        ImageSpec(layers=[LayerSpec({"/big": big}, compression="none")])), "latest")
    push_image(fresh_registry, tmp_path / "big", "latest", "it/big:1")
    name = f"docker://{fresh_registry.host}/it/big:1"
    before = snapshot(destination)
    stops: list[Digest] = []  # the blob the registry stopped in the middle of

    def stop_mid_blob(restart_after: float | None) -> Callable[[CopyEvent], None]:
        def action(event: CopyEvent) -> None:
            if (isinstance(event, BlobProgress) and event.size > len(big) // 2
                    and 0 < event.done < event.size // 2 and not stops):
                stops.append(event.digest)
                fresh_registry.stop()
                if restart_after is not None:  # back while the copy waits to try again
                    threading.Timer(restart_after, fresh_registry.start).start()
        return action

    # without retries: a clear sentence, and the layout as it was
    with pytest.raises(SpyglassError) as caught:
        copy(name, f"oci:{destination}:new", events=Recorder(stop_mid_blob(None)))
    assert stops, "the registry was not stopped in the middle of the big blob"
    assert re.fullmatch(
        rf"Reading the blob {stops[0]} of {re.escape(fresh_registry.host)}/it/big broke off: "
        r"(the connection was closed before the whole answer came \([\d.]+ [KMG]?i?B short\)|"
        r"connection reset by peer)\.",
        one_sentence(caught.value)), caught.value
    assert snapshot(destination) == before
    assert temp_files(destination) == []

    # with retries: the blob starts again from its first byte once the registry is back
    fresh_registry.start()
    stops.clear()
    recorder = Recorder(stop_mid_blob(0.4))
    copy(name, f"oci:{destination}:new",
         CopyOptions(multi_arch="all", parallel=1, retry_times=6), events=recorder)
    assert stops
    layer = stops[0]
    retried = [i for i, e in enumerate(recorder.events)
               if isinstance(e, BlobRetried) and e.digest == layer]
    assert retried, "the big blob was not tried again"
    # the last attempt is a transfer of its own (BlobStarted again), which counts the
    # whole blob from zero, not the rest of the broken one
    last_try = recorder.events[retried[-1]:]
    started = [e for e in last_try if isinstance(e, BlobStarted) and e.digest == layer]
    assert len(started) == 1
    done = [e.done for e in last_try if isinstance(e, BlobProgress) and e.digest == layer]
    assert done == sorted(done) and done[0] > 0 and done[-1] == started[0].size
    assert isinstance(recorder.events[-1], Finished)
    assert refs(destination) == {"old", "new"}
    assert temp_files(destination) == []


def test_corrupt_blob_in_the_registry(
    fresh_registry: RegistryServer, source_layout: Path, destination: Path
) -> None:
    push_image(fresh_registry, source_layout, "latest", "it/corrupt:1")
    index = json.loads((source_layout / "index.json").read_bytes())["manifests"][0]
    top = json.loads((source_layout / "blobs/sha256" / index["digest"][7:]).read_bytes())
    amd64 = json.loads(
        (source_layout / "blobs/sha256" / top["manifests"][0]["digest"][7:]).read_bytes()
    )
    layer = amd64["layers"][1]["digest"]  # the amd64-only layer
    stored = fresh_registry.blob_path(layer)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stored.write_bytes(bytes(data))
    index_before = (destination / "index.json").read_bytes()

    with pytest.raises(DigestMismatch) as caught:
        copy(f"docker://{fresh_registry.host}/it/corrupt:1", f"oci:{destination}:new")
    assert layer in one_sentence(caught.value)
    assert (destination / "index.json").read_bytes() == index_before
    assert temp_files(destination) == []
    assert not (destination / "blobs/sha256" / layer[7:]).exists()


def test_cancel_mid_copy_leaves_the_layout_as_it_was(
    source_layout: Path, destination: Path
) -> None:
    before = snapshot(destination)
    token = CancelToken()

    def cancel_on_progress(event: CopyEvent) -> None:
        if isinstance(event, BlobProgress):
            token.cancel()

    recorder = Recorder(cancel_on_progress)
    with pytest.raises(Cancelled):
        copy(f"oci:{source_layout}:latest", f"oci:{destination}:new", events=recorder,
             cancel=token)
    assert isinstance(recorder.events[-1], CopyCancelled)
    assert snapshot(destination) == before
    assert temp_files(destination) == []


def test_cancel_with_parallel_transfers(source_layout: Path, destination: Path) -> None:
    before = snapshot(destination)
    token = CancelToken()

    def cancel_after_first(event: CopyEvent) -> None:
        if isinstance(event, BlobDone):
            token.cancel()

    with pytest.raises(Cancelled):
        copy(f"oci:{source_layout}:latest", f"oci:{destination}:new",
             CopyOptions(multi_arch="all"), events=Recorder(cancel_after_first), cancel=token)
    # the blobs already renamed into place are taken back too
    assert snapshot(destination) == before
    assert temp_files(destination) == []


def test_two_concurrent_copies_into_one_layout(
    source_layout: Path, destination: Path, tmp_path: Path
) -> None:
    umoci = require_tool("umoci")
    other = tmp_path / "other"
    multi_platform_layout(other, docker_media_types=True)
    errors: list[BaseException] = []

    def run(source: str, ref: str) -> None:
        try:
            copy(source, f"oci:{destination}:{ref}", CopyOptions(multi_arch="all"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(f"oci:{source_layout}:latest", "first")),
        threading.Thread(target=run, args=(f"oci:{other}:latest", "second")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert refs(destination) == {"old", "first", "second"}
    assert temp_files(destination) == []
    listed = subprocess.run([umoci, "ls", "--layout", str(destination)],
                            capture_output=True, text=True, check=True).stdout.split()
    assert sorted(listed) == ["first", "old", "second"]


def test_concurrent_copy_processes_into_one_layout(
    source_layout: Path, destination: Path, tmp_path: Path
) -> None:
    """Not threads of one process: ``spyglass copy`` commands started together, each a
    process of its own, into one layout (so only the lock file keeps ``index.json``
    whole), two images each copied five times under other tags, so that processes
    also write the same blobs at once. Every tag stays, and every blob is whole. Three
    bursts of ten: without the lock one burst lost a tag in about 4 runs of 5."""
    umoci = require_tool("umoci")
    other = tmp_path / "other"
    multi_platform_layout(other, docker_media_types=True)
    # (a layout holds OCI manifests: the Docker list is written converted, as alone)
    copy(f"oci:{other}:latest", f"oci:{tmp_path / 'alone'}:x", CopyOptions(multi_arch="all"))
    second = refs_digest(tmp_path / "alone", "x")
    first = refs_digest(source_layout, "latest")
    sources = {f"t{n}": (f"oci:{source_layout}:latest", first) if n % 2 else
               (f"oci:{other}:latest", second) for n in range(1, 31)}
    expected = {"old": refs_digest(destination, "old"),
                **{tag: digest for tag, (_name, digest) in sources.items()}}
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app"),
                   "XDG_CACHE_HOME": str(tmp_path / "cache")}
    outcomes = []
    bursts = list(sources.items())
    for start in range(0, len(bursts), 10):
        processes = [
            subprocess.Popen([sys.executable, "-m", "spyglass", "copy", "-q", "--all", name,
                              f"oci:{destination}:{tag}"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=environment)
            for tag, (name, _digest) in bursts[start:start + 10]
        ]
        try:
            for process in processes:
                out, err = process.communicate(timeout=120)
                outcomes.append((process.returncode, out, err.decode(errors="replace")))
        finally:
            for process in processes:  # (one that hung: stopped, by its own pid)
                if process.poll() is None:
                    process.kill()
                    process.wait()
    assert [code for code, _out, _err in outcomes] == [0] * len(sources), outcomes
    assert {tag: refs_digest(destination, tag) for tag in refs(destination)} == expected
    assert temp_files(destination) == []
    for path in (destination / "blobs" / "sha256").iterdir():  # none half-written
        assert Digest.of(path.read_bytes()).hex == path.name, path
    listed = subprocess.run([umoci, "ls", "--layout", str(destination)],
                            capture_output=True, text=True, check=True).stdout.split()
    assert sorted(listed) == sorted(expected)
    for tag in sources:  # Spyglass reads each one back whole
        assert image_content(f"oci:{destination}:{tag}") == image_content(
            f"oci:{source_layout}:latest" if sources[tag][1] == first
            else f"oci:{tmp_path / 'alone'}:x")


def refs_digest(layout: Path, ref: str) -> str:
    """The digest ``index.json`` names under ``ref``."""
    (digest,) = [str(entry["digest"])
                 for entry in json.loads((layout / "index.json").read_bytes())["manifests"]
                 if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref]
    return digest


@pytest.mark.parametrize("damage", ["truncated", "over-long"])
def test_bad_blob_in_a_source_layout(damage: str, tmp_path: Path, destination: Path) -> None:
    source = tmp_path / "bad"
    builder = LayoutBuilder(source)
    spec = ImageSpec(layers=[LayerSpec({"/a": b"a" * 5000}), LayerSpec({"/b": b"b\n"})])
    desc = builder.add_image(spec)
    builder.tag(desc, "bad")
    layer = builder.read_json(desc)["layers"][0]["digest"]
    path = builder.blob_path(layer)
    data = path.read_bytes()
    path.write_bytes(data[:-10] if damage == "truncated" else data + b"\0" * 10)
    index_before = (destination / "index.json").read_bytes()
    recorder = Recorder()

    with pytest.raises(VerificationError) as caught:
        copy(f"oci:{source}:bad", f"oci:{destination}:new", events=recorder)
    assert isinstance(caught.value, SizeMismatch | DigestMismatch)
    assert layer.removeprefix("sha256:") in one_sentence(caught.value)
    assert isinstance(recorder.events[-1], Failed)
    assert (destination / "index.json").read_bytes() == index_before
    assert refs(destination) == {"old"}
    assert temp_files(destination) == []
    assert not (destination / "blobs/sha256" / layer[7:]).exists()


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A folder uid 65534 can reach (pytest's own temporary folders are root's, 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="spyglass-ro-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in (folder, *folder.rglob("*")):
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


def test_read_only_destination(public_dir: Path, source_layout: Path, destination: Path) -> None:
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv (util-linux) to run the copy as an unprivileged user")
    if os.geteuid() != 0:
        pytest.skip("needs root: it gives the folders to uid 65534 (chown) and runs the copy "
                    "as that user")
    source = Path(shutil.copytree(source_layout, public_dir / "source"))
    destination = Path(shutil.copytree(destination, public_dir / "destination"))
    home = public_dir / "home"
    home.mkdir()
    for path in (source, *source.rglob("*")):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    os.chown(home, 65534, 65534)
    os.chown(destination, 65534, 65534)
    for path in (destination, *destination.rglob("*")):
        os.chmod(path, 0o555 if path.is_dir() else 0o444)
    before = snapshot(destination)
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO_ROOT / "app"),
        "HOME": str(home),
        **{name: str(home) for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME",
                                        "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "DOCKER_CONFIG")},
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    probe = subprocess.run([*NOBODY, sys.executable, "-c", "import spyglass"], env=environment,
                           capture_output=True, check=False, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"python cannot run as uid 65534 here: {probe.stderr.decode()[-200:]}")
    done = subprocess.run(
        [*NOBODY, sys.executable, "-m", "spyglass", "copy", "--all",
         f"oci:{source}:latest", f"oci:{destination}:new"],
        env=environment, capture_output=True, stdin=subprocess.DEVNULL, check=False, timeout=60,
    )
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 1, stderr
    assert done.stdout == b""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("spyglass: ") and lines[0].endswith("."), lines[0]
    assert str(destination) in lines[0] and "permission" in lines[0].lower(), lines[0]
    assert snapshot(destination) == before
