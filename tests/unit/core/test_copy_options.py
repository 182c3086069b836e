"""Copy options of the engine (core/copy.py): which instances of a list, index-only,
format refusals, the compression level, parallel transfers, and the terminal
progress bar of ``spyglass copy`` that shows them.

The destination is :class:`MemoryDestination`, an in-memory ImageDestination
that verifies every blob as it arrives (a copy of the one test_copy.py uses,
kept here so the two files can change independently).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import re
import sys
import threading
import time
import types
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import zstandard

from spyglass.core import media
from spyglass.core.blob_slots import BlobSlots, CopySlots
from spyglass.core.cancel import CancelToken
from spyglass.core.copy import (
    BlobDone,
    BlobProgress,
    BlobSkipped,
    BlobStarted,
    CopyOptions,
    Finished,
    ManifestWritten,
    Planned,
    copy_image,
    execute,
    plan_copy,
)
from spyglass.core.copy_plan import BlobTask, Compression
from spyglass.core.digest import Digest, Readable
from spyglass.core.errors import DigestMismatch, SizeMismatch, SourceMoved, Unsupported
from spyglass.core.manifest import Descriptor, ImageIndex, ImageManifest, parse_manifest
from spyglass.core.platform import Platform, host_platform
from spyglass.core.transports import open_source
from tests.helpers.held_copies import HeldLayer
from tests.helpers.imagebuild import (
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    build_config,
    dump_json,
    multi_platform_layout,
)
from tests.helpers.terminal import screen


class MemoryDestination:
    """An ImageDestination keeping blobs and manifests in dicts, verifying what it gets."""

    def __init__(self, *, lists: bool = True) -> None:
        self.description = "memory:"
        self.supported_manifest_types: tuple[str, ...] = ()
        self.accepts_lists = lists
        self.desired_layer_compression: str | None = None
        self.blobs: dict[Digest, bytes] = {}
        self.manifests: dict[Digest, tuple[bytes, str]] = {}
        self.committed: tuple[Descriptor, bytes] | None = None
        self.aborted = False
        self.lock = threading.Lock()

    def reuse_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None,
        sending: bool = True,
    ) -> str | None:
        return None

    def put_blob(self, stream: Readable, *, media_type: str, digest: Digest | None,
                 size: int | None, cancel: CancelToken | None = None,
                 progress: Any = None) -> Descriptor:
        parts = []
        while chunk := stream.read(65536):
            parts.append(chunk)
            if progress:
                progress(len(chunk))
        data = b"".join(parts)
        actual = Digest.of(data)
        if digest is not None and actual != digest:
            raise DigestMismatch(f"memory: {actual} != {digest}")
        if size is not None and len(data) != size:
            raise SizeMismatch("memory: size")
        with self.lock:
            self.blobs[actual] = data
        return Descriptor(media_type, actual, len(data))

    def put_manifest(self, raw: bytes, media_type: str, digest: Digest, *,
                     cancel: CancelToken | None = None) -> None:
        assert Digest.of(raw) == digest
        self.manifests[digest] = (raw, media_type)

    def commit(self, top: Descriptor, raw: bytes, *, cancel: CancelToken | None = None) -> None:
        assert top.digest in self.manifests
        self.committed = (top, raw)

    def abort(self) -> None:
        self.aborted = True

    def close(self) -> None:
        pass


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    root = tmp_path / "layout"
    multi_platform_layout(root)
    return root


def recorder() -> tuple[list[Any], Any]:
    seen: list[Any] = []
    lock = threading.Lock()

    def record(event: Any) -> None:
        with lock:
            seen.append(event)

    return seen, record


def is_sentence(message: str) -> bool:
    """One line ending in a full stop (it may begin with a lower-case transport name)."""
    return bool(message) and message.endswith(".") and "\n" not in message


# --------------------------------------------------------------------------- multi-arch


def test_default_copy_of_a_list_writes_only_this_machines_image(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    raw_list, _ = source.get_manifest()
    index = parse_manifest(raw_list)
    assert isinstance(index, ImageIndex)
    host = host_platform()
    mine = [entry for entry in index.manifests
            if entry.platform is not None and entry.platform.matches(host)]
    if not mine:
        pytest.skip(f"this machine ({host}) is none of the test image's platforms")
    (entry,) = mine

    dest = MemoryDestination()
    options = CopyOptions()  # multi_arch="system", no platforms
    assert options.multi_arch == "system" and options.platforms == ()
    plan = plan_copy(source, dest, options)
    assert plan.list_media_type is None
    seen, record = recorder()
    top = execute(plan, source, dest, options, events=record)

    # one image, written as it is: the list entry's manifest, not a list
    assert top.digest == entry.digest
    assert dest.committed is not None
    committed_top, raw = dest.committed
    assert committed_top.digest == entry.digest
    manifest = parse_manifest(raw)
    assert isinstance(manifest, ImageManifest)
    assert not media.is_index(committed_top.media_type)
    assert list(dest.manifests) == [entry.digest]
    assert Digest.of(raw_list) not in dest.manifests
    # its config is this machine's; only its own blobs moved
    config = json.loads(dest.blobs[manifest.config.digest])
    assert (config["os"], config["architecture"]) == (host.os, host.architecture)
    assert set(dest.blobs) == {manifest.config.digest, *(layer.digest for layer in manifest.layers)}
    assert [e.digest for e in seen if isinstance(e, ManifestWritten)] == [entry.digest]
    assert isinstance(seen[-1], Finished) and seen[-1].digest == entry.digest


def test_a_dry_run_that_removes_signatures_says_so(layout: Path) -> None:
    """The plan says what --remove-signatures does, since it does not look anything up."""
    def attached(options: CopyOptions) -> list[str]:
        plan = plan_copy(open_source(f"oci:{layout}:latest"), MemoryDestination(), options)
        return [line for line in plan.describe() if line.startswith("  attached:")]

    assert attached(CopyOptions(multi_arch="all")) == []
    (line,) = attached(CopyOptions(multi_arch="all", remove_signatures=True))
    assert "left behind without being looked up" in line


def test_index_only_writes_the_list_manifest_and_no_blobs(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    raw_list, list_type = source.get_manifest()
    dest = MemoryDestination()
    options = CopyOptions(multi_arch="index-only")
    plan = plan_copy(source, dest, options)
    assert plan.blobs == () and plan.instances == ()
    assert any("only the list manifest" in note for note in plan.notes)
    seen, record = recorder()
    top = execute(plan, source, dest, options, events=record)

    assert top.digest == Digest.of(raw_list)
    assert dest.blobs == {}
    assert dest.manifests == {Digest.of(raw_list): (raw_list, list_type)}
    assert dest.committed is not None and dest.committed[1] == raw_list
    assert not any(isinstance(e, BlobStarted | BlobDone) for e in seen)


@pytest.mark.parametrize("transport", ["oci-archive", "dir"])
def test_index_only_is_refused_by_a_destination_written_whole(
    layout: Path, tmp_path: Path, transport: str
) -> None:
    """An archive or dir: holds what this copy writes and nothing else: a list alone there
    names images that are not there (skopeo writes that broken image; this refuses)."""
    from spyglass.core.transports import open_destination

    target = tmp_path / ("out" if transport == "dir" else "out.tar")
    dest = open_destination(f"{transport}:{target}")
    try:
        with pytest.raises(Unsupported, match="is written whole") as caught:
            plan_copy(open_source(f"oci:{layout}:latest"), dest,
                      CopyOptions(multi_arch="index-only"))
    finally:
        dest.abort()
    assert (caught.value.on_command_line or "").endswith("(--multi-arch all).")
    assert not target.exists()


def test_index_only_into_a_layout_needs_the_images_there(layout: Path,
                                                         tmp_path: Path) -> None:
    """A list alone in a layout without its images is a broken image (skopeo writes it):
    refused while they are missing, copied once they are there."""
    from spyglass.core.copy import copy_image
    from spyglass.core.transports import open_destination

    target = tmp_path / "target"
    dest = open_destination(f"oci:{target}:list")
    try:
        with pytest.raises(Unsupported) as caught:
            plan_copy(open_source(f"oci:{layout}:latest"), dest,
                      CopyOptions(multi_arch="index-only"))
    finally:
        dest.abort()
    message = str(caught.value)
    assert is_sentence(message), message
    assert "does not hold 3 of the images the list sha256:" in message
    assert "index-only copies the list alone; copy its images with it." in message
    assert (caught.value.on_command_line or "").endswith("(--multi-arch all).")
    assert not (target / "index.json").exists()

    def copy(ref: str, options: CopyOptions) -> Descriptor:
        source, destination = open_source(f"oci:{layout}:latest"), open_destination(ref)
        try:
            return copy_image(source, destination, options)
        finally:
            destination.close()
            source.close()

    copy(f"oci:{target}:all", CopyOptions(multi_arch="all"))
    top = copy(f"oci:{target}:list", CopyOptions(multi_arch="index-only"))
    refs = {m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"]
            for m in json.loads((target / "index.json").read_text())["manifests"]}
    assert refs == {"all": str(top.digest), "list": str(top.digest)}


def test_index_only_of_a_nested_list_names_the_list_it_lacks(tmp_path: Path) -> None:
    """The entry a nested list names is itself a list: "the inner list", not "the image"."""
    from spyglass.core.transports import open_destination

    builder = LayoutBuilder(tmp_path / "nested")
    inner = builder.add_index([builder.add_image(ImageSpec(architecture=arch))
                               for arch in ("amd64", "arm64")])
    builder.tag(builder.add_index([inner]), "v1")
    dest = open_destination(f"oci:{tmp_path / 'target'}:list")
    try:
        with pytest.raises(Unsupported) as caught:
            plan_copy(open_source(f"oci:{tmp_path / 'nested'}:v1"), dest,
                      CopyOptions(multi_arch="index-only"))
    finally:
        dest.abort()
    message = str(caught.value)
    assert is_sentence(message), message
    assert re.search(r" does not hold the inner list the list sha256:\w+ names "
                     r"\(sha256:\w+\), and index-only copies the list alone; copy what it "
                     r"names with it\.$", message), message



def test_index_only_is_refused_by_a_destination_without_lists(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    dest = MemoryDestination(lists=False)
    with pytest.raises(Unsupported, match="cannot hold a manifest list") as caught:
        plan_copy(source, dest, CopyOptions(multi_arch="index-only"))
    message = str(caught.value)
    assert is_sentence(message) and message.startswith("memory: "), message
    assert dest.blobs == {} and dest.manifests == {} and dest.committed is None


# --------------------------------------------------------------------------- expected digest


def test_a_source_whose_name_moved_from_the_expected_image_is_refused_before_writing(
        layout: Path) -> None:
    """A window copies the image it showed: when another program moved the ref since,
    the plan refuses, and the destination was asked nothing."""
    shown = open_source(f"oci:{layout}:latest").get_manifest()[0]
    expected = Digest.of(shown)
    builder = LayoutBuilder(layout)
    moved = builder.add_image(ImageSpec(layers=[LayerSpec(files={"/moved": b"yes\n"})]))
    builder.tag(moved, "latest")
    destination = MemoryDestination()
    with pytest.raises(SourceMoved) as caught:
        copy_image(open_source(f"oci:{layout}:latest"), destination,
                   CopyOptions(multi_arch="all", expected_digest=expected))
    assert str(caught.value) == (
        f"oci:{layout}:latest now names {moved['digest']}, not {expected}, the image the copy "
        "was asked for; nothing was copied. Look at it again, then copy again.")
    assert (caught.value.found, caught.value.expected) == (Digest.parse(moved["digest"]),
                                                           expected)
    assert destination.blobs == {} and destination.manifests == {}
    assert destination.committed is None
    # by name, as before: what the ref names now
    copy_image(open_source(f"oci:{layout}:latest"), destination)
    assert destination.committed is not None
    assert str(destination.committed[0].digest) == moved["digest"]


def test_the_expected_image_is_copied_and_compared_in_its_own_algorithm(
        layout: Path) -> None:
    raw = open_source(f"oci:{layout}:latest").get_manifest()[0]
    for expected in (Digest.of(raw), Digest.of(raw, "sha512")):
        destination = MemoryDestination()
        copy_image(open_source(f"oci:{layout}:latest"), destination,
                   CopyOptions(multi_arch="all", expected_digest=expected))
        assert destination.committed is not None
        assert destination.committed[0].digest == Digest.of(raw)


# --------------------------------------------------------------------------- v2s2 refusals


def _artifact_layout(root: Path, config_type: str, artifact_type: str | None) -> str:
    """A layout holding one OCI manifest with a config of ``config_type`` (and
    ``artifactType`` if given) and one blob; returns the ``oci:`` name."""
    builder = LayoutBuilder(root)
    if config_type == media.OCI_CONFIG:
        config_bytes = dump_json(build_config(ImageSpec(layers=[LayerSpec({})]), []))
    else:
        config_bytes = b"{}"
    config = builder.add_blob(config_bytes)
    payload = builder.add_blob(b'{"spdxVersion": "SPDX-2.3"}\n')
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "config": {"mediaType": config_type, **config},
        "layers": [{"mediaType": "application/spdx+json", **payload}],
    }
    if artifact_type is not None:
        manifest["artifactType"] = artifact_type
    builder.tag({"mediaType": media.OCI_MANIFEST, **builder.add_blob(dump_json(manifest))},
                "artifact")
    return f"oci:{root}:artifact"


@pytest.mark.parametrize(
    ("config_type", "artifact_type", "named"),
    [
        ("application/vnd.example.sbom.config.v1+json", None,
         "application/vnd.example.sbom.config.v1+json"),
        (media.OCI_EMPTY, "application/spdx+json", "application/spdx+json"),
        (media.OCI_CONFIG, "application/vnd.example.signed-image", "vnd.example.signed-image"),
    ],
    ids=["config-type", "empty-config-artifact-type", "image-config-artifact-type"],
)
def test_v2s2_refuses_an_oci_artifact_naming_why(
    tmp_path: Path, config_type: str, artifact_type: str | None, named: str
) -> None:
    source = open_source(_artifact_layout(tmp_path / "a", config_type, artifact_type))
    dest = MemoryDestination()
    with pytest.raises(Unsupported) as caught:
        plan_copy(source, dest, CopyOptions(format="v2s2"))
    message = str(caught.value)
    assert is_sentence(message), message
    assert "OCI artifact" in message and "Docker schema 2 cannot represent it" in message
    assert named in message
    assert dest.blobs == {} and dest.manifests == {}
    # the same artifact copies as it is without the conversion
    copy_image(source, dest, CopyOptions())
    assert dest.committed is not None


def test_v2s2_refuses_recompressing_gzip_layers_to_zstd(layout: Path) -> None:
    # test_copy.py covers a zstd *source*; here the zstd would come from recompression
    source = open_source(f"oci:{layout}:latest")
    dest = MemoryDestination()
    options = CopyOptions(format="v2s2", compression="zstd",
                          platforms=(Platform.parse("linux/amd64"),))
    with pytest.raises(Unsupported) as caught:
        plan_copy(source, dest, options)
    message = str(caught.value)
    assert is_sentence(message), message
    assert "Docker schema 2 manifests cannot hold zstd layers" in message
    assert dest.blobs == {} and dest.manifests == {}


# --------------------------------------------------------------------------- compression level


def _compressible_text(size: int) -> bytes:
    """``size`` bytes of text made of a few dozen words in a seeded random order."""
    rng = random.Random(20240102)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
             "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau",
             "upsilon", "phi", "chi", "psi", "omega", "container", "image", "layer", "blob",
             "manifest", "registry", "digest"]
    out = bytearray()
    while len(out) < size:
        out += (" ".join(rng.choice(words) for _ in range(rng.randint(3, 12))) + ".\n").encode()
    return bytes(out[:size])


def _one_layer_image(root: Path, layer: bytes, diff_id: str) -> str:
    builder = LayoutBuilder(root)
    blob = builder.add_blob(layer)
    config = builder.add_blob(dump_json(build_config(ImageSpec(layers=[LayerSpec({})]),
                                                     [diff_id])))
    manifest = {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "config": {"mediaType": media.OCI_CONFIG, **config},
        "layers": [{"mediaType": media.OCI_LAYER_GZIP, **blob}],
    }
    builder.tag({"mediaType": media.OCI_MANIFEST, **builder.add_blob(dump_json(manifest))},
                "text")
    return f"oci:{root}:text"


def test_compression_level_changes_the_zstd_blob(tmp_path: Path) -> None:
    plain = _compressible_text(2 * 1024 * 1024)
    diff_id = "sha256:" + hashlib.sha256(plain).hexdigest()
    name = _one_layer_image(tmp_path / "text", gzip.compress(plain, 6, mtime=0), diff_id)

    written: dict[int, bytes] = {}
    for level in (1, 19):
        dest = MemoryDestination()
        copy_image(open_source(name), dest, CopyOptions(compression="zstd",
                                                        compression_level=level))
        assert dest.committed is not None
        manifest = parse_manifest(dest.committed[1])
        assert isinstance(manifest, ImageManifest)
        (layer,) = manifest.layers
        assert layer.media_type == media.OCI_LAYER_ZSTD
        data = dest.blobs[layer.digest]
        assert layer.size == len(data)
        unpacked = zstandard.ZstdDecompressor().stream_reader(data).read()
        assert "sha256:" + hashlib.sha256(unpacked).hexdigest() == diff_id
        written[level] = data

    assert len(written[19]) < len(written[1]) * 0.9, {k: len(v) for k, v in written.items()}


# --------------------------------------------------------------------------- parallel


class _SlowStream:
    def __init__(self, inner: Any, delay: float) -> None:
        self._inner = inner
        self._delay = delay

    def read(self, n: int = -1) -> bytes:
        time.sleep(self._delay)
        return bytes(self._inner.read(n))

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> _SlowStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SlowLayers:
    """A source whose layer streams sleep ``delay`` before every read."""

    def __init__(self, inner: Any, delay: float) -> None:
        self._inner = inner
        self._delay = delay

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def open_blob(self, descriptor: Descriptor, *, cancel: Any = None) -> Any:
        stream = self._inner.open_blob(descriptor, cancel=cancel)
        if "layer" in descriptor.media_type:
            return _SlowStream(stream, self._delay)
        return stream


def _platform_layers(layout: Path) -> dict[Digest, str]:
    """The layers that belong to exactly one platform of the list, and that platform."""
    source = open_source(f"oci:{layout}:latest")
    index = parse_manifest(source.get_manifest()[0])
    assert isinstance(index, ImageIndex)
    owners: dict[Digest, set[str]] = {}
    for entry in index.manifests:
        child = parse_manifest(source.get_manifest(str(entry.digest))[0])
        assert isinstance(child, ImageManifest)
        for layer in child.layers:
            owners.setdefault(layer.digest, set()).add(str(entry.platform))
    own = {digest: next(iter(names)) for digest, names in owners.items() if len(names) == 1}
    assert len(set(own.values())) == 3
    return own


def _overlaps_across_platforms(seen: list[Any], own: dict[Digest, str]) -> bool:
    """True when a layer of one platform started before a layer of another was done."""
    started: dict[Digest, int] = {}
    done: dict[Digest, int] = {}
    for position, event in enumerate(seen):
        if isinstance(event, BlobStarted) and event.digest in own:
            started[event.digest] = position
        elif isinstance(event, BlobDone) and event.digest in own:
            done[event.digest] = position
    assert set(started) == set(done) == set(own)
    return any(
        started[b] < done[a]
        for a in own for b in own
        if a != b and own[a] != own[b] and started[a] < started[b]
    )


def test_blob_transfers_run_in_parallel_across_the_instances(layout: Path) -> None:
    own = _platform_layers(layout)

    seen, record = recorder()
    source = _SlowLayers(open_source(f"oci:{layout}:latest"), delay=0.05)
    dest = MemoryDestination()
    copy_image(source, dest, CopyOptions(multi_arch="all", parallel=4), events=record)
    assert dest.committed is not None
    assert _overlaps_across_platforms(seen, own), [type(e).__name__ for e in seen]

    # the contrast: one transfer at a time never overlaps
    seen, record = recorder()
    source = _SlowLayers(open_source(f"oci:{layout}:latest"), delay=0.05)
    copy_image(source, MemoryDestination(), CopyOptions(multi_arch="all", parallel=1),
               events=record)
    assert not _overlaps_across_platforms(seen, own)


class _CountingDestination(MemoryDestination):
    """Counts the blobs being put at once, the recompressed (no digest known) apart."""

    def __init__(self) -> None:
        super().__init__()
        self.now = {"recompressed": 0, "all": 0}
        self.most = {"recompressed": 0, "all": 0}

    def put_blob(self, stream: Readable, *, media_type: str, digest: Digest | None,
                 size: int | None, cancel: CancelToken | None = None,
                 progress: Any = None) -> Descriptor:
        kinds = ["all"] + (["recompressed"] if digest is None else [])
        with self.lock:
            for kind in kinds:
                self.now[kind] += 1
                self.most[kind] = max(self.most[kind], self.now[kind])
        try:
            time.sleep(0.05)
            return super().put_blob(stream, media_type=media_type, digest=digest, size=size,
                                    cancel=cancel, progress=progress)
        finally:
            with self.lock:
                for kind in kinds:
                    self.now[kind] -= 1


def test_recompressing_runs_one_blob_per_processor(
    layout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recompressing is bound by the processors: at most one blob per processor is
    recompressed at once, whatever --parallel says (the other transfers are not held)."""
    from spyglass.core import copy as copy_module

    monkeypatch.setattr(copy_module, "_processors", lambda: 2)
    dest = _CountingDestination()
    copy_image(open_source(f"oci:{layout}:latest"), dest,
               CopyOptions(multi_arch="all", parallel=8, compression="zstd"))
    assert dest.committed is not None
    assert dest.most["recompressed"] == 2, dest.most

    plain = _CountingDestination()
    copy_image(open_source(f"oci:{layout}:latest"), plain,
               CopyOptions(multi_arch="all", parallel=8))
    assert plain.most["recompressed"] == 0 and plain.most["all"] > 2, plain.most


class _CountedTogether(MemoryDestination):
    """Counts the blobs being put at once by every destination sharing ``count``."""

    def __init__(self, count: dict[str, int], lock: threading.Lock) -> None:
        super().__init__()
        self.count, self.count_lock = count, lock

    def put_blob(self, stream: Readable, *, media_type: str, digest: Digest | None,
                 size: int | None, cancel: CancelToken | None = None,
                 progress: Any = None) -> Descriptor:
        with self.count_lock:
            self.count["now"] += 1
            self.count["most"] = max(self.count["most"], self.count["now"])
        try:
            time.sleep(0.03)
            return super().put_blob(stream, media_type=media_type, digest=digest, size=size,
                                    cancel=cancel, progress=progress)
        finally:
            with self.count_lock:
                self.count["now"] -= 1


def _together(layout: Path, slots: BlobSlots | None) -> int:
    """Two copies of the list at once, of ``parallel`` 4 each: the most blobs put at once."""
    count, lock = {"now": 0, "most": 0}, threading.Lock()
    destinations = [_CountedTogether(count, lock) for _ in range(2)]
    shares = [slots.for_copy() if slots is not None else None for _ in destinations]
    threads = [threading.Thread(target=copy_image, args=(
        open_source(f"oci:{layout}:latest"), destination,
        CopyOptions(multi_arch="all", parallel=4, blob_slots=share)))
        for destination, share in zip(destinations, shares, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(destination.committed is not None for destination in destinations)
    return count["most"]


def test_copies_sharing_blob_slots_move_no_more_blobs_at_once_than_it_has(
        layout: Path) -> None:
    """``parallel`` bounds one copy's transfers; copies run together (a window's) share
    ``blob_slots``: four copies of four threads each on two cores stalled the window."""
    assert _together(layout, BlobSlots(2)) == 2
    assert _together(layout, None) > 2  # the contrast: each copy its own 4


def _held_copy(layout: Path, slots: CopySlots, cancel: CancelToken,
               ended: list[BaseException]) -> tuple[threading.Thread, HeldLayer]:
    """A copy of the list whose every layer is held until it is cancelled, running."""
    source = open_source(f"oci:{layout}:latest")
    layers = frozenset(task.source.digest for task in plan_copy(
        source, MemoryDestination(), CopyOptions(multi_arch="all")).blobs
        if task.source.media_type.endswith("gzip"))
    held = HeldLayer(source, layers)

    def run() -> None:
        try:
            copy_image(held, MemoryDestination(),
                       CopyOptions(multi_arch="all", blob_slots=slots), cancel=cancel)
        except BaseException as exc:  # (the test looks at it)
            ended.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, held


def test_a_copy_whose_transfers_hang_leaves_one_transfer_to_each_other_copy(
        layout: Path) -> None:
    """A copy whose source hangs holds its transfers for minutes: another copy sharing the
    slots runs all the same (one transfer at a time, its own), and takes the shared ones
    again once the hung copy let go."""
    slots = BlobSlots(2)
    cancel, ended = CancelToken(), list[BaseException]()
    hung_share = slots.for_copy()
    hung, held = _held_copy(layout, hung_share, cancel, ended)
    deadline = time.monotonic() + 10
    while held.holding < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert held.holding == 2 and slots.held == 2  # every slot the pool has
    count, lock = {"now": 0, "most": 0}, threading.Lock()
    other = _CountedTogether(count, lock)
    share = slots.for_copy()
    beside = threading.Thread(target=copy_image, args=(
        open_source(f"oci:{layout}:latest"), other,
        CopyOptions(multi_arch="all", parallel=4, blob_slots=share)))
    beside.start()
    beside.join(10)
    finished = not beside.is_alive()
    cancel.cancel()  # (the hung copy lets go of its slots: the other ends, if it waited)
    beside.join(5)
    hung.join(5)
    share.close()
    assert finished, "the copy beside the hung one waited for its slots"
    assert other.committed is not None and count["most"] == 1
    hung_share.close()
    assert [type(exc).__name__ for exc in ended] == ["Cancelled"]
    assert slots.held == 0
    count["most"] = 0
    share = slots.for_copy()
    copy_image(open_source(f"oci:{layout}:latest"), _CountedTogether(count, lock),
               CopyOptions(multi_arch="all", parallel=4, blob_slots=share))
    assert count["most"] == 2  # as many as a copy alone takes


def test_a_copy_waiting_for_a_shared_slot_is_cancelled_at_once(layout: Path) -> None:
    """The other copies may hold the slots for long: a cancelled copy whose further
    transfers wait for one ends without writing a blob, not once a slot comes free."""
    slots = BlobSlots(1)
    other = slots.for_copy()
    other.take(CancelToken())  # another copy's transfer holds it
    cancel, ended = CancelToken(), list[BaseException]()
    share = slots.for_copy()
    thread, held = _held_copy(layout, share, cancel, ended)
    deadline = time.monotonic() + 10
    while (held.holding < 1 or share.waiting < 1) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert held.holding == 1 and share.waiting >= 1  # its own transfer, the others wait
    cancel.cancel()
    thread.join(2)
    assert not thread.is_alive()
    assert [type(exc).__name__ for exc in ended] == ["Cancelled"]
    assert share.held == 0 and share.waiting == 0 and slots.held == 1  # took none along
    other.give()
    assert slots.held == 0


def test_a_remembered_recompression_is_only_a_hint(
    layout: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """What the blob cache remembers of a recompression counts only where the layer was
    checked against the same diff ID, and a destination that cannot be asked about the
    result gets the layer recompressed, not a failed copy."""
    from spyglass.core import blobcache
    from spyglass.core import copy as copy_module
    from spyglass.core.errors import RegistryError

    cache = blobcache.BlobLocationCache(tmp_path / "cache.sqlite")
    previous = blobcache.set_default_cache(cache)
    try:
        options = CopyOptions(multi_arch="all", compression="zstd")
        first = MemoryDestination()
        copy_image(open_source(f"oci:{layout}:latest"), first, options)
        plan = plan_copy(open_source(f"oci:{layout}:latest"), MemoryDestination(), options)
        task = next(t for t in plan.blobs if t.recompress is not None)
        target = copy_module.recompression_target(task, options)
        assert str(task.diff_id) in target
        assert cache.recompressed(task.source.digest, target) is not None
        other = replace(task, diff_id=Digest.of(b"another promise"))
        assert cache.recompressed(task.source.digest,
                                  copy_module.recompression_target(other, options)) is None

        class Refusing(MemoryDestination):
            def reuse_blob(self, descriptor: Descriptor, *,
                           cancel: CancelToken | None = None,
                           sending: bool = True) -> str | None:
                if descriptor.media_type.endswith("+zstd"):  # the remembered results
                    raise RegistryError("The registry answered 500.")
                return None

        seen, record = recorder()
        again = Refusing()
        copy_image(open_source(f"oci:{layout}:latest"), again, options, events=record)
        assert again.committed is not None
        assert any(isinstance(e, BlobDone) and e.recompressed for e in seen)
    finally:
        blobcache.set_default_cache(previous)
        cache.close()


# --------------------------------------------------------------------------- progress bars


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_terminal_shows_a_bar_per_blob_under_what_happened(
    layout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spyglass.cli import progress
    from spyglass.cli.progress import Reporter, bar_text, size_text

    clock = iter(range(1000, 2000))  # one second per reading: the bars are never held back
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))
    plan = plan_copy(open_source(f"oci:{layout}:latest"), MemoryDestination(),
                     CopyOptions(platforms=(Platform.parse("linux/amd64"),)))
    blobs = [task.source for task in plan.blobs]
    total = plan.total_bytes
    assert len(blobs) == 4 and total == sum(blob.size for blob in blobs)
    first, second = blobs[0], blobs[1]

    out = _Terminal()
    reporter = Reporter(out, quiet=False)
    reporter(Planned(plan))
    assert screen(out.getvalue()) == [f"Copying 4 blobs, {size_text(total)}"]

    reporter(BlobStarted(first.digest, first.size, first.media_type))
    reporter(BlobStarted(second.digest, second.size, second.media_type))
    half = first.size // 2
    reporter(BlobProgress(first.digest, half, first.size))
    shown = screen(out.getvalue())
    assert shown[0] == f"Copying 4 blobs, {size_text(total)}"
    assert shown[1] == (f"{first.digest.short} {bar_text(half, first.size)} "
                        f"{size_text(half)} / {size_text(first.size)}")
    assert shown[2] == (f"{second.digest.short} {bar_text(0, second.size)} "
                        f"0 B / {size_text(second.size)}")
    assert shown[3].startswith(f"total        {bar_text(half, total)} "
                               f"{size_text(half)} / {size_text(total)}  ")
    assert re.search(r"  [\d.]+ (B|KiB)/s  \d+ s left$", shown[3]), shown[3]
    assert len(shown) == 4

    reporter(BlobProgress(first.digest, first.size, first.size))
    written = Descriptor(first.media_type, first.digest, first.size)
    reporter(BlobDone(first.digest, written, recompressed=True))
    shown = screen(out.getvalue())
    assert shown[:2] == [f"Copying 4 blobs, {size_text(total)}",
                         f"Copied blob {first.digest.short} (recompressed)"]
    assert [line.split()[0] for line in shown[2:]] == [second.digest.short, "total"]
    assert "Copying blob" not in out.getvalue()  # on a terminal the bars stand for those

    reporter(BlobProgress(second.digest, second.size, second.size))
    reporter(BlobDone(second.digest, Descriptor(second.media_type, second.digest, second.size),
                      recompressed=False))
    reporter(Finished(first.digest, first.media_type))
    assert screen(out.getvalue()) == [  # the bars are gone; what happened stays
        f"Copying 4 blobs, {size_text(total)}",
        f"Copied blob {first.digest.short} (recompressed)",
        f"Copied blob {second.digest.short}",
    ]
    reporter.close()


def test_the_bars_fit_the_terminal(layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No line wraps (the bars could not be drawn over again), and blobs beyond the
    rows at hand are counted on one line."""
    from spyglass.cli import progress
    from spyglass.cli.progress import Reporter

    clock = iter(range(1000, 2000))
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))
    monkeypatch.setattr(progress, "_terminal_size", lambda stream: (40, 6))
    plan = plan_copy(open_source(f"oci:{layout}:latest"), MemoryDestination(),
                     CopyOptions(multi_arch="all"))
    blobs = [task.source for task in plan.blobs]
    assert len(blobs) >= 5
    out = _Terminal()
    reporter = Reporter(out, quiet=False)
    reporter(Planned(plan))
    for blob in blobs:
        reporter(BlobStarted(blob.digest, blob.size, blob.media_type))
        reporter(BlobProgress(blob.digest, blob.size // 3, blob.size))
    shown = screen(out.getvalue())
    assert all(len(line) < 40 for line in shown), shown
    bars = shown[1:]
    assert len(bars) == 4  # of 6 rows, 2 kept for what scrolls above
    assert bars[0].startswith(blobs[0].digest.short)
    assert bars[1].startswith(blobs[1].digest.short)
    assert bars[2].strip() == f"… and {len(blobs) - 2} more"
    assert bars[3].startswith("total ")
    reporter.close()


def _terminal_reporter(layout: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
                       ) -> tuple[Any, _Terminal, Any]:
    """A copy of every platform of the layout planned, and a Reporter drawing it on a
    terminal of ``size`` whose clock moves a second a reading: (the plan, the terminal,
    the reporter, told of the plan)."""
    from spyglass.cli import progress
    from spyglass.cli.progress import Reporter

    clock = iter(range(1000, 2000))
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))
    monkeypatch.setattr(progress, "_terminal_size", lambda stream: size)
    plan = plan_copy(open_source(f"oci:{layout}:latest"), MemoryDestination(),
                     CopyOptions(multi_arch="all"))
    out = _Terminal()
    reporter = Reporter(out, quiet=False)
    reporter(Planned(plan))
    return plan, out, reporter


def test_a_narrow_terminal_keeps_the_sizes_whole(
        layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a 30-column pane: the labels go before a size is cut ("159.6 KiB / 18")
    from spyglass.cli.progress import size_text

    plan, out, reporter = _terminal_reporter(layout, monkeypatch, (30, 8))
    blob = plan.blobs[0].source
    reporter(BlobStarted(blob.digest, blob.size, blob.media_type))
    reporter(BlobProgress(blob.digest, blob.size // 3, blob.size))
    shown = screen(out.getvalue())
    assert f"{size_text(blob.size // 3)} / {size_text(blob.size)}" in shown
    assert shown[-1].endswith(f" / {size_text(plan.total_bytes)}"), shown
    reporter.close()


def test_blobs_the_destination_had_move_the_bar_not_the_speed(
        layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a base image already there made the first seconds say "< 1 s left"
    plan, out, reporter = _terminal_reporter(layout, monkeypatch, (120, 20))
    had, moving = plan.blobs[0].source, plan.blobs[1].source
    reporter(BlobStarted(moving.digest, moving.size, moving.media_type))
    reporter(BlobSkipped(had.digest, had.size, "exists"))
    reporter(BlobProgress(moving.digest, 1, moving.size))
    reporter(BlobProgress(moving.digest, 2, moving.size))
    total = screen(out.getvalue())[-1]
    reporter.close()
    speed = re.search(r"  ([\d.]+) (B|KiB|MiB)/s  ", total)
    assert speed is not None, total
    said = float(speed.group(1)) * {"B": 1, "KiB": 1024, "MiB": 1024 ** 2}[speed.group(2)]
    assert said < 2, total  # two bytes moved: not the skipped blob's


@pytest.mark.parametrize("broken", [None, "full"])
def test_progress_that_cannot_be_told_does_not_fail_the_copy(
        layout: Path, broken: str | None) -> None:
    # stderr closed (2>&-) or a log on a full disk: skopeo copies all the same
    from spyglass.cli.progress import Reporter

    class Full(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

    stream = None if broken is None else Full()
    destination = MemoryDestination()
    reporter = Reporter(stream, quiet=False)
    copy_image(open_source(f"oci:{layout}:latest"), destination, CopyOptions(multi_arch="all"),
               events=reporter)
    reporter.close()
    assert destination.committed is not None


def test_closing_takes_the_bars_away_and_warnings_go_above_them(
    layout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+C ends a copy with no event of its end: the command line's close() still
    takes the bars off before its sentence; a warning logged meanwhile is a line of
    its own above the bars, not text in the middle of one."""
    import logging

    from spyglass.cli import progress
    from spyglass.cli.progress import Reporter

    clock = iter(range(1000, 2000))
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))
    plan = plan_copy(open_source(f"oci:{layout}:latest"), MemoryDestination(),
                     CopyOptions(platforms=(Platform.parse("linux/amd64"),)))
    blob = plan.blobs[0].source
    out = _Terminal()
    reporter = Reporter(out, quiet=False)
    reporter(Planned(plan))
    reporter(BlobStarted(blob.digest, blob.size, blob.media_type))
    reporter(BlobProgress(blob.digest, blob.size // 2, blob.size))
    logging.getLogger("spyglass.test").warning("the registry said something odd")
    shown = screen(out.getvalue())
    assert shown[1] == "spyglass: the registry said something odd"
    assert shown[2].startswith(blob.digest.short) and shown[3].startswith("total ")
    reporter.close()
    out.write("spyglass: interrupted.\n")
    assert screen(out.getvalue()) == [shown[0], "spyglass: the registry said something odd",
                                      "spyglass: interrupted."]
    logging.getLogger("spyglass.test").warning("after")  # no longer taken in
    assert "after" not in out.getvalue()
    from spyglass.cli import notes

    assert not notes.is_installed()  # the handler it put there for its bars went with them
    reporter.close()  # again: nothing happens


@pytest.mark.parametrize("columns", [40, 60, 80, 120])
def test_the_bars_narrow_before_the_numbers_go(
    layout: Path, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    """Every line fits with room to spare (a terminal echoes ^C at the end of the
    line); the sizes, and where there is room the speed and time left, are whole."""
    from spyglass.cli import progress
    from spyglass.cli.progress import Reporter

    clock = iter(range(1000, 2000))
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))
    monkeypatch.setattr(progress, "_terminal_size", lambda stream: (columns, 30))
    plan = plan_copy(open_source(f"oci:{layout}:latest"), MemoryDestination(),
                     CopyOptions(multi_arch="all"))
    out = _Terminal()
    reporter = Reporter(out, quiet=False)
    reporter(Planned(plan))
    for task in plan.blobs[:3]:
        blob = task.source
        reporter(BlobStarted(blob.digest, blob.size, blob.media_type))
        reporter(BlobProgress(blob.digest, blob.size // 2, blob.size))
    bars = screen(out.getvalue())[1:]
    assert all(len(line) <= columns - progress.MARGIN for line in bars), bars
    total = bars[-1]
    assert re.search(r" [\d.]+ (B|KiB) / [\d.]+ KiB( |$)", total), total
    if columns >= 80:
        assert total.endswith(" left") and "[" in total, total
    if columns == 40:
        assert "/s" not in total, total  # no room for the speed: the sizes stay whole
    reporter.close()


def test_a_dumb_terminal_gets_lines_not_bars(
    layout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spyglass.cli.progress import Reporter

    monkeypatch.setenv("TERM", "dumb")
    plan = plan_copy(open_source(f"oci:{layout}:latest"), MemoryDestination(),
                     CopyOptions(platforms=(Platform.parse("linux/amd64"),)))
    blob = plan.blobs[0].source
    out = _Terminal()
    reporter = Reporter(out, quiet=False)
    reporter(Planned(plan))
    reporter(BlobStarted(blob.digest, blob.size, blob.media_type))
    reporter(BlobProgress(blob.digest, blob.size, blob.size))
    reporter.close()
    assert "\x1b" not in out.getvalue()
    assert f"Copying blob {blob.digest.short}" in out.getvalue()


@pytest.mark.parametrize(("columns", "rows"), [(10, 6), (5, 3), (30, 4), (200, 1)])
def test_a_tiny_terminal_gets_what_fits(
    layout: Path, monkeypatch: pytest.MonkeyPatch, columns: int, rows: int
) -> None:
    from spyglass.cli import progress
    from spyglass.cli.progress import Reporter

    clock = iter(range(1000, 2000))
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))
    monkeypatch.setattr(progress, "_terminal_size", lambda stream: (columns, rows))
    plan = plan_copy(open_source(f"oci:{layout}:latest"), MemoryDestination(),
                     CopyOptions(multi_arch="all"))
    out = _Terminal()
    reporter = Reporter(out, quiet=False)
    reporter(Planned(plan))
    for task in plan.blobs:
        reporter(BlobStarted(task.source.digest, task.source.size, task.source.media_type))
    bars = screen(out.getvalue())[1:]
    assert 1 <= len(bars) <= max(1, rows - 2), bars
    assert all(len(line) <= max(1, columns - progress.MARGIN) for line in bars), bars
    reporter.close()
    assert len(screen(out.getvalue())) == 1  # only the "Copying" line stays


def test_a_terminal_of_no_size_is_taken_as_80_by_24(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pty whose size was never set (``script``, a serial line) says 0 by 0: the bars
    are drawn for 80 by 24, not cut to nothing."""
    import os as real_os

    from spyglass.cli import progress

    monkeypatch.setattr(progress.os, "get_terminal_size",
                        lambda fd: real_os.terminal_size((0, 0)))
    assert progress._terminal_size(sys.stderr) == (80, 24)
    monkeypatch.setattr(progress.os, "get_terminal_size",
                        lambda fd: real_os.terminal_size((120, 0)))
    assert progress._terminal_size(sys.stderr) == (120, 24)


def test_a_conversion_nobody_asked_for_is_noted(tmp_path: Path) -> None:
    """A Docker image is written as OCI into an OCI layout (it takes nothing else), or
    when its layers become zstd: the digests change, and the plan says why."""
    from spyglass.core.transports import open_destination

    root = tmp_path / "docker"
    builder = LayoutBuilder(root)
    builder.tag(builder.add_image(ImageSpec(docker_media_types=True)), "v1")

    def notes(destination: object, options: CopyOptions) -> list[str]:
        plan = plan_copy(open_source(f"oci:{root}:v1"), destination,
                         options)
        return [n for n in plan.notes if n.startswith("written as")]

    layout = open_destination(f"oci:{tmp_path / 'out'}:v1")
    try:
        assert notes(layout, CopyOptions()) == [
            f"written as OCI, from Docker schema 2: oci:{tmp_path / 'out'}:v1 takes OCI "
            "manifests only, so the digests change"]
        assert notes(layout, CopyOptions(format="oci")) == []  # asked for: no note
    finally:
        layout.abort()
    anything = MemoryDestination()
    assert notes(anything, CopyOptions()) == []
    assert notes(anything, CopyOptions(compression="zstd")) == [
        "written as OCI, from Docker schema 2: Docker schema 2 cannot hold zstd layers, so "
        "the digests change"]


def test_a_compression_level_is_checked_against_the_compression_used(tmp_path: Path) -> None:
    """A level out of gzip's range is refused when the plan gzips a layer (an OCI layout
    gets the plain one compressed), and unused where nothing is compressed (dir: keeps
    it plain), as skopeo's gzip refuses it only when it compresses; -1 and 0 are gzip's
    and zstd's default levels. (CopyOptions refused 19 whatever the destination.)"""
    from spyglass.core.errors import SpyglassError
    from spyglass.core.transports import open_destination

    builder = LayoutBuilder(tmp_path / "src")
    builder.tag(builder.add_image(ImageSpec(layers=[
        LayerSpec({"/a": b"plain\n" * 1000}, compression="none")])), "x")
    options = CopyOptions(compression_level=19)
    plan_copy(open_source(f"oci:{tmp_path / 'src'}:x"),
              open_destination(f"dir:{tmp_path / 'dir'}"), options)
    with pytest.raises(SpyglassError) as caught:
        plan_copy(open_source(f"oci:{tmp_path / 'src'}:x"),
                  open_destination(f"oci:{tmp_path / 'out'}:x"), options)
    assert str(caught.value) == ("The compression level 19 is out of range for gzip, which "
                                 "takes 0 to 9 (-1: its default, 6).")
    written = {}
    for compression, level in (("gzip", -1), ("gzip", None), ("zstd", 0), ("zstd", None)):
        dest = MemoryDestination()
        copy_image(open_source(f"oci:{tmp_path / 'src'}:x"), dest,
                   CopyOptions(compression=compression,
                               compression_level=level))
        assert dest.committed is not None
        written[compression, level] = dest.committed[1]
    assert written["gzip", -1] == written["gzip", None]
    assert written["zstd", 0] == written["zstd", None]


@pytest.mark.parametrize(("media_type", "recompress", "found", "change"), [
    (media.OCI_LAYER, "gzip", None, "compressed"),
    # a docker save layer: named gzip, found plain by the plan
    (media.DOCKER_LAYER_GZIP, "gzip", "none", "compressed"),
    (media.OCI_LAYER_GZIP, "zstd", None, "recompressed"),
    (media.OCI_LAYER_ZSTD, "none", None, "decompressed"),
    (media.OCI_LAYER_GZIP, None, None, ""),
])
def test_a_blob_task_names_what_recompressing_does_to_it(
        media_type: str, recompress: Compression | None, found: Compression | None,
        change: str) -> None:
    layer = Descriptor(media_type, Digest.of(b"layer"), 10)
    task = BlobTask(layer, media_type, recompress, recompress_from=found)
    assert task.change == change
