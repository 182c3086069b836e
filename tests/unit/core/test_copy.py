"""The copy engine (core/copy.py) on its own: planning, conversions, events, failures.

The destination here is :class:`MemoryDestination`, a complete in-memory
implementation of the ImageDestination protocol that verifies every blob as it
arrives; the real destinations have tests of their own.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import zstandard

from spyglass.core import media
from spyglass.core.cancel import CancelToken
from spyglass.core.copy import (
    BlobDone,
    BlobSkipped,
    BlobStarted,
    CopyCancelled,
    CopyOptions,
    Failed,
    Finished,
    ManifestWritten,
    Planned,
    copy_image,
    execute,
    plan_copy,
)
from spyglass.core.digest import Digest, Readable
from spyglass.core.errors import (
    Cancelled,
    ConnectionFailed,
    DigestMismatch,
    InvalidConfig,
    InvalidManifest,
    PlatformNotFound,
    SizeMismatch,
    SpyglassError,
    TransportError,
    Unsupported,
)
from spyglass.core.manifest import Descriptor, ImageIndex, ImageManifest, parse_manifest
from spyglass.core.platform import Platform, host_platform
from spyglass.core.transports import open_destination, open_source
from tests.helpers.imagebuild import (
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    multi_platform_layout,
)
from tests.helpers.imagecontent import image_content


class MemoryDestination:
    """An ImageDestination keeping blobs and manifests in dicts, verifying what it gets."""

    def __init__(
        self,
        *,
        types: tuple[str, ...] = (),
        lists: bool = True,
        layer_compression: str | None = None,
        have: set[Digest] | None = None,
    ) -> None:
        self.description = "memory:"
        self.supported_manifest_types = types
        self.accepts_lists = lists
        self.desired_layer_compression = layer_compression
        self.blobs: dict[Digest, bytes] = {}
        self.manifests: dict[Digest, tuple[bytes, str]] = {}
        self.committed: tuple[Descriptor, bytes] | None = None
        self.aborted = False
        self.have = have or set()
        self.lock = threading.Lock()

    def reuse_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None,
        sending: bool = True,
    ) -> str | None:
        return "exists" if descriptor.digest in self.have else None

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


def events_of(call: Any) -> list[Any]:
    seen: list[Any] = []
    lock = threading.Lock()

    def record(event: Any) -> None:
        with lock:
            seen.append(event)

    call(record)
    return seen


def test_copies_the_instance_for_the_requested_platform(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    dest = MemoryDestination()
    options = CopyOptions(platforms=(Platform.parse("linux/arm64"),))
    seen = events_of(lambda cb: copy_image(source, dest, options, events=cb))
    assert dest.committed is not None
    top, raw = dest.committed
    manifest = parse_manifest(raw)
    assert isinstance(manifest, ImageManifest)
    config = json.loads(dest.blobs[manifest.config.digest])
    assert config["architecture"] == "arm64"
    for layer in manifest.layers:
        assert Digest.of(dest.blobs[layer.digest]) == layer.digest
    assert isinstance(seen[0], Planned) and isinstance(seen[-1], Finished)
    assert seen[-1].digest == top.digest
    assert sum(isinstance(e, BlobDone) for e in seen) == 1 + len(manifest.layers)


def test_all_copies_the_list_byte_for_byte(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    raw_list, _ = source.get_manifest()
    dest = MemoryDestination()
    plan = plan_copy(source, dest, CopyOptions(multi_arch="all"))
    assert plan.keeps_digests
    top = execute(plan, source, dest)
    assert top.digest == Digest.of(raw_list)
    assert dest.committed is not None and dest.committed[1] == raw_list
    index = parse_manifest(raw_list)
    assert isinstance(index, ImageIndex)
    assert {d.digest for d in index.manifests} <= set(dest.manifests)


def test_several_platforms_make_a_list_of_just_them(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    dest = MemoryDestination()
    options = CopyOptions(platforms=(Platform.parse("linux/amd64"), Platform.parse("linux/arm/v7")))
    plan = plan_copy(source, dest, options)
    assert not plan.keeps_digests
    assert any("rebuilt with 2 of its 3" in note for note in plan.notes)
    execute(plan, source, dest, options)
    assert dest.committed is not None
    rebuilt = parse_manifest(dest.committed[1])
    assert isinstance(rebuilt, ImageIndex)
    assert sorted(str(d.platform) for d in rebuilt.manifests) == ["linux/amd64", "linux/arm/v7"]


def test_preserve_digests_refuses_a_rebuilt_list_before_anything_moves(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    dest = MemoryDestination()
    options = CopyOptions(platforms=(Platform.parse("linux/amd64"), Platform.parse("linux/arm64")),
                          preserve_digests=True)
    with pytest.raises(Unsupported, match="preserving digests forbids") as refused:
        plan_copy(source, dest, options)
    assert "--preserve-digests forbids" in str(refused.value.on_command_line)
    assert dest.blobs == {}


def test_preserve_digests_and_one_image_of_a_list(layout: Path) -> None:
    """One image of a list (this system's by default, a platform asked for, or for a
    destination that holds no list) is written byte for byte, as skopeo writes it, the
    plan noting that the list is not."""
    source = open_source(f"oci:{layout}:latest")
    top = parse_manifest(source.get_manifest(None)[0])
    assert isinstance(top, ImageIndex)
    arm = top.choose(Platform.parse("linux/arm/v7"))
    system = top.choose(host_platform())
    dest = MemoryDestination()
    plan = plan_copy(source, dest, CopyOptions(preserve_digests=True))
    assert (f"one image of the list {top.digest.short} is written as it is, "
            f"{system.digest}, not the list") in plan.notes
    assert copy_image(source, dest, CopyOptions(preserve_digests=True)).digest == system.digest
    for dest, options in (
        (MemoryDestination(), CopyOptions(platforms=(Platform.parse("linux/arm/v7"),),
                                          preserve_digests=True)),
        (MemoryDestination(lists=False), CopyOptions(platforms=(Platform.parse("linux/arm/v7"),),
                                                     preserve_digests=True)),
    ):
        plan = plan_copy(source, dest, options)
        assert (f"one image of the list {top.digest.short} is written as it is, "
                f"{arm.digest}, not the list") in plan.notes
        written = copy_image(source, dest, options)
        assert written.digest == arm.digest
        assert dest.committed is not None and Digest.of(dest.committed[1]) == arm.digest


def test_a_destination_without_lists_gets_one_instance_or_a_refusal(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    with pytest.raises(Unsupported, match="cannot hold a manifest list"):
        plan_copy(source, MemoryDestination(lists=False), CopyOptions(multi_arch="all"))
    dest = MemoryDestination(lists=False)
    copy_image(source, dest, CopyOptions(platforms=(Platform.parse("linux/arm/v7"),)))
    assert dest.committed is not None
    assert isinstance(parse_manifest(dest.committed[1]), ImageManifest)


def test_unknown_platform_names_what_is_offered(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    with pytest.raises(PlatformNotFound, match="linux/amd64"):
        plan_copy(source, MemoryDestination(),
                  CopyOptions(platforms=(Platform.parse("linux/s390x"),)))


def test_format_v2s2_maps_every_media_type(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    dest = MemoryDestination()
    options = CopyOptions(multi_arch="all", format="v2s2")
    copy_image(source, dest, options)
    assert dest.committed is not None
    top, raw = dest.committed
    assert top.media_type == media.DOCKER_LIST
    index = parse_manifest(raw)
    assert isinstance(index, ImageIndex)
    for entry in index.manifests:
        child_raw, child_type = dest.manifests[entry.digest]
        assert child_type == media.DOCKER_V2S2 == entry.media_type
        child = parse_manifest(child_raw)
        assert isinstance(child, ImageManifest)
        assert child.config.media_type == media.DOCKER_CONFIG
        assert {layer.media_type for layer in child.layers} == {media.DOCKER_LAYER_GZIP}
        # blobs themselves are unchanged: same digests as the OCI source
        assert all(layer.digest in dest.blobs for layer in child.layers)


def test_what_docker_schema_2_cannot_hold_is_noted(tmp_path: Path) -> None:
    """Annotations, a subject and list entries' artifact types went without a word (as
    in skopeo), where other losses have notes: the plan says what is left out."""
    builder = LayoutBuilder(tmp_path / "src")
    base = builder.add_image(ImageSpec(layers=[LayerSpec({"b": b"b"})]))
    image = builder.add_image(ImageSpec(
        layers=[LayerSpec({"a": b"a"}, annotations={"l": "1"})],
        annotations={"a": "1", "b": "2"}))
    manifest = builder.read_json(image)
    manifest["subject"] = {key: base[key] for key in ("mediaType", "digest", "size")}
    builder.tag({"mediaType": media.OCI_MANIFEST,
                 **builder.add_blob(json.dumps(manifest).encode())}, "v1")
    builder.tag(builder.add_index([{**image, "annotations": {"e": "1"},
                                    "artifactType": "application/x-e"}, base],
                                  annotations={"i": "x"}), "list")
    plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:v1"),
                     MemoryDestination(types=(media.DOCKER_V2S2,)))
    assert ("the copy leaves out what Docker schema 2 has no place for: the 2 annotations of "
            f"the manifest, the annotations of 1 layer and its subject {base['digest']}"
            in plan.notes), plan.notes
    plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:list"), MemoryDestination(),
                     CopyOptions(multi_arch="all", format="v2s2"))
    assert ("the copy leaves out what Docker schema 2 has no place for: the annotations of 2 "
            "manifests, the annotations of 1 layer, the annotations of 1 list entry and its "
            "artifactType" in plan.notes), plan.notes
    # written as OCI, or nothing to lose: no such note
    builder.tag(base, "base")
    for ref, options in (("list", CopyOptions(multi_arch="all")),
                         ("base", CopyOptions(format="v2s2"))):
        plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:{ref}"), MemoryDestination(),
                         options)
        assert not any("Docker schema 2 has no place" in n for n in plan.notes), plan.notes


def test_recompression_to_zstd_keeps_diff_ids(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    dest = MemoryDestination()
    options = CopyOptions(compression="zstd", platforms=(Platform.parse("linux/amd64"),))
    seen = events_of(lambda cb: copy_image(source, dest, options, events=cb))
    assert dest.committed is not None
    manifest = parse_manifest(dest.committed[1])
    assert isinstance(manifest, ImageManifest)
    # the source's own config, byte for byte: its diff IDs are the ones checked below
    original = image_content(f"oci:{layout}:latest")["linux/amd64"]
    assert str(manifest.config.digest) == original.config_digest
    assert dest.blobs[manifest.config.digest] == original.config
    for layer, diff_id in zip(manifest.layers, original.diff_ids, strict=True):
        assert layer.media_type == media.OCI_LAYER_ZSTD
        plain = zstandard.ZstdDecompressor().stream_reader(dest.blobs[layer.digest]).read()
        assert "sha256:" + hashlib.sha256(plain).hexdigest() == diff_id
    assert all(e.recompressed for e in seen if isinstance(e, BlobDone) and e.written.media_type
               == media.OCI_LAYER_ZSTD)


class _CountingSource:
    """A source that records which blobs were opened."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.opens: list[Digest] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def open_blob(self, descriptor: Descriptor, *, cancel: Any = None) -> Any:
        self.opens.append(descriptor.digest)
        return self._inner.open_blob(descriptor, cancel=cancel)


@pytest.mark.parametrize(("options", "reads_configs"), [
    (CopyOptions(multi_arch="all"), False),
    (CopyOptions(multi_arch="all", format="v2s2"), False),  # media types only: no diff IDs
    (CopyOptions(multi_arch="all", compression="gzip"), False),  # the layers are gzip already
    (CopyOptions(multi_arch="all", compression="zstd"), True),
])
def test_planning_reads_configs_only_to_check_recompressed_layers(
    layout: Path, options: CopyOptions, reads_configs: bool
) -> None:
    source = _CountingSource(open_source(f"oci:{layout}:latest"))
    plan = plan_copy(source, MemoryDestination(), options)
    configs = {instance.config.source.digest for instance in plan.instances}
    assert len(configs) == len(plan.instances) > 1
    assert (set(source.opens) == configs) if reads_configs else not source.opens
    # a destination that takes plain tars needs the diff IDs too; it takes no compression
    source = _CountingSource(open_source(f"oci:{layout}:latest"))
    if options.compression is not None:
        with pytest.raises(Unsupported, match="holds its layers uncompressed"):
            plan_copy(source, MemoryDestination(layer_compression="none"), options)
        return
    plan_copy(source, MemoryDestination(layer_compression="none"), options)
    assert set(source.opens) == configs


def test_a_planning_error_does_not_wait_for_the_questions_still_out(layout: Path) -> None:
    """The first image's manifest is broken; the others' answers never come until their
    requests are cancelled (as a stalled registry's would end, by the socket shutdown).
    A question the pool had not started when the error came is dropped, never asked."""
    inner = open_source(f"oci:{layout}:latest")
    top = inner.get_manifest(None)
    entries = json.loads(top[0])["manifests"]
    broken, stalled = entries[0]["digest"], {e["digest"] for e in entries[1:]}
    asked: list[str] = []
    released: list[str] = []

    class Source:
        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

        def get_manifest(self, reference: str | None, *, cancel: Any = None) -> Any:
            if reference == broken:
                return b"{not json", media.OCI_MANIFEST
            if reference in stalled:
                asked.append(reference)
                answered = threading.Event()
                key = cancel.add_abort(answered.set)
                if key is None or answered.wait(10):
                    released.append(reference)
                    raise Cancelled()
            return inner.get_manifest(reference, cancel=cancel)

    user = CancelToken()
    started = time.monotonic()
    with pytest.raises(InvalidManifest, match=broken):
        plan_copy(Source(), MemoryDestination(), CopyOptions(multi_arch="all"), cancel=user)
    assert time.monotonic() - started < 5
    # every question that went out was released before plan_copy returned
    assert set(released) == set(asked) <= stalled
    assert not user.cancelled  # the caller's token is untouched


def test_zstd_to_v2s2_is_refused_with_the_reason(tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path / "z")
    desc = builder.add_image(ImageSpec(layers=[LayerSpec({"a": b"x"}, compression="zstd")]))
    builder.tag(desc, "z")
    source = open_source(f"oci:{tmp_path / 'z'}:z")
    with pytest.raises(Unsupported, match="zstd"):
        plan_copy(source, MemoryDestination(), CopyOptions(format="v2s2"))


def test_manifest_annotations_that_are_not_strings_stop_the_copy_before_any_blob(
        tmp_path: Path) -> None:
    """A registry refuses the manifest only after every blob went up (MANIFEST_INVALID):
    the copy is refused at once, naming the source, as skopeo refuses it."""
    builder = LayoutBuilder(tmp_path / "src")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"a": b"x"})]))
    manifest = builder.read_json(image)
    manifest["annotations"] = {"n": 5, "b": True}
    written = builder.add_blob(json.dumps(manifest).encode())
    builder.tag({"mediaType": media.OCI_MANIFEST, **written}, "v1")
    destination = MemoryDestination()
    with pytest.raises(InvalidManifest) as refused:
        copy_image(open_source(f"oci:{tmp_path / 'src'}:v1"), destination)
    assert str(refused.value).startswith(f"The manifest of oci:{tmp_path / 'src'}:v1 is not "
                                         "usable: the manifest has annotations that are not "
                                         'strings ("n" is 5; expected a string).')
    assert destination.blobs == {} and destination.manifests == {}


@pytest.mark.parametrize(("name", "done"), [
    ("docker-archive:{}/out.tar:team/app:1", "written uncompressed"),
    ("dir:{}/out", "written uncompressed"),  # (--dest-decompress)
    ("oci:{}/out:1", "recompressed to zstd"),
])
def test_layers_without_diff_ids_are_refused_saying_what_would_be_done(
        tmp_path: Path, name: str, done: str) -> None:
    """A config without rootfs: a docker-archive (which holds plain tars) was refused
    because the layers "cannot be recompressed", though nothing is recompressed there."""
    builder = LayoutBuilder(tmp_path / "src")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"a": b"x"})]))
    manifest = builder.read_json(image)
    config = builder.add_blob(json.dumps({"architecture": "amd64", "os": "linux"}).encode())
    manifest["config"] = {**manifest["config"], **config}
    written = builder.add_blob(json.dumps(manifest).encode())
    builder.tag({"mediaType": media.OCI_MANIFEST, **written}, "v1")
    options = (CopyOptions(compression="zstd") if name.startswith("oci")
               else CopyOptions(compression="none") if name.startswith("dir")
               else CopyOptions())
    with pytest.raises(InvalidManifest) as refused:
        plan_copy(open_source(f"oci:{tmp_path / 'src'}:v1"),
                  open_destination(name.format(tmp_path)), options)
    assert str(refused.value).endswith(
        f"has 1 layer but its config lists 0 diff IDs; its layers cannot be {done} "
        "safely, as each is checked against its diff ID.")
    # copied as stored, it goes as it is (README: as skopeo copies it)
    copy_image(open_source(f"oci:{tmp_path / 'src'}:v1"),
               open_destination(f"dir:{tmp_path / 'plain'}"))
    kept = (tmp_path / "plain" / "manifest.json").read_bytes()
    assert kept == builder.read_blob(written["digest"])


def test_platforms_asked_of_a_single_image_are_noted(tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path / "one")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"a": b"x"})])), "v1")
    source = open_source(f"oci:{tmp_path / 'one'}:v1")
    plan = plan_copy(source, MemoryDestination(),
                     CopyOptions(platforms=(Platform.parse("linux/arm64"),)))
    # the note names the image's own platform, since it is not the one asked for
    assert ("the source is one image, for linux/amd64, not a list, so the platforms asked "
            "for (linux/arm64/v8) do not apply; it is copied as it is, for linux/amd64"
            in plan.notes)
    assert len(plan.instances) == 1
    matching = plan_copy(source, MemoryDestination(),
                         CopyOptions(platforms=(Platform.parse("linux/amd64"),)))
    assert ("the source is one image, for linux/amd64, not a list; it is copied as it is"
            in matching.notes)


def test_a_config_that_cannot_be_parsed_only_loses_the_platform_in_the_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The config is read for the note alone: a copy that takes it as an opaque blob does
    not fail for it."""
    builder = LayoutBuilder(tmp_path / "one")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"a": b"x"})])), "v1")

    def unparsable(raw: bytes) -> Any:
        raise InvalidConfig("The image config lists an invalid diff ID.")

    monkeypatch.setattr("spyglass.core.copy_instances.parse_config", unparsable)
    source = open_source(f"oci:{tmp_path / 'one'}:v1")
    dest = MemoryDestination()
    plan = plan_copy(source, dest, CopyOptions(platforms=(Platform.parse("linux/arm64"),)))
    assert ("the source is one image, not a list, so the platforms asked for do not apply; "
            "it is copied as it is") in plan.notes
    execute(plan, source, dest)
    assert dest.committed is not None


def test_decompressing_destination_gets_plain_tars(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    dest = MemoryDestination(types=(media.DOCKER_V2S2,), lists=False, layer_compression="none")
    copy_image(source, dest, CopyOptions(platforms=(Platform.parse("linux/amd64"),)))
    assert dest.committed is not None
    manifest = parse_manifest(dest.committed[1])
    assert isinstance(manifest, ImageManifest)
    assert manifest.media_type == media.DOCKER_V2S2
    config = json.loads(dest.blobs[manifest.config.digest])
    assert [str(layer.digest) for layer in manifest.layers] == config["rootfs"]["diff_ids"]
    assert {layer.media_type for layer in manifest.layers} == {media.DOCKER_LAYER}


def test_blobs_the_destination_has_are_skipped(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    first = MemoryDestination()
    copy_image(source, first, CopyOptions(multi_arch="all"))
    second = MemoryDestination(have=set(first.blobs))
    seen = events_of(lambda cb: copy_image(source, second, CopyOptions(multi_arch="all"),
                                           events=cb))
    assert second.blobs == {}
    assert {e.digest for e in seen if isinstance(e, BlobSkipped)} == set(first.blobs)


def test_a_corrupt_blob_fails_the_copy_and_aborts(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    plan = plan_copy(source, MemoryDestination(), CopyOptions(multi_arch="all"))
    victim = plan.blobs[-1].source.digest
    path = layout / "blobs" / "sha256" / victim.hex
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    dest = MemoryDestination()
    seen: list[Any] = []
    with pytest.raises((DigestMismatch, SizeMismatch)):
        execute(plan, source, dest, events=seen.append)
    assert dest.aborted and dest.committed is None
    assert isinstance(seen[-1], Failed) and str(victim.hex[:12]) in seen[-1].message


def test_an_upload_cut_off_says_what_the_registry_did_with_what_it_had(
        layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a destination said of an upload it cut off (the registry took the cancel of
    the session, or not) reaches the window as an event for that blob."""
    from spyglass.core.copy import BlobCutOff
    from spyglass.core.errors import RegistryError, mark_upload_cut_off

    source = open_source(f"oci:{layout}:latest")
    plan = plan_copy(source, MemoryDestination(), CopyOptions(multi_arch="all"))
    dest = MemoryDestination()
    victim = plan.blobs[0].source.digest

    def full(stream: Readable, **_kwargs: object) -> Descriptor:
        error = RegistryError("The registry's storage is full.", status=500)
        mark_upload_cut_off(error, False)  # as push.py does when the DELETE gets a 404
        raise error

    monkeypatch.setattr(dest, "put_blob", full)
    seen: list[Any] = []
    with pytest.raises(RegistryError):
        execute(plan, source, dest, CopyOptions(multi_arch="all", parallel=1,
                                                retry_times=0), events=seen.append)
    assert BlobCutOff(victim, False) in seen


def test_memory_running_out_is_a_sentence_not_a_bug(
        layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = open_source(f"oci:{layout}:latest")
    plan = plan_copy(source, MemoryDestination(), CopyOptions(multi_arch="all"))
    dest = MemoryDestination()

    def exhausted(*_args: object, **_kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(dest, "put_blob", exhausted)
    seen: list[Any] = []
    with pytest.raises(SpyglassError) as info:
        execute(plan, source, dest, events=seen.append)
    said = ("Spyglass ran out of memory (no memory was left); free some memory, or raise the "
            "limit set on it (ulimit -v), and try again.")
    assert str(info.value) == said and isinstance(info.value.__cause__, MemoryError)
    assert dest.aborted and dest.committed is None
    assert isinstance(seen[-1], Failed) and seen[-1].message == said


def test_cancelling_stops_and_aborts(layout: Path) -> None:
    source = open_source(f"oci:{layout}:latest")
    dest = MemoryDestination()
    cancel = CancelToken()
    plan = plan_copy(source, dest, CopyOptions(multi_arch="all"))

    def on_event(event: Any) -> None:
        if isinstance(event, Planned):
            cancel.cancel()

    seen: list[Any] = []
    with pytest.raises(Cancelled):
        execute(plan, source, dest, events=lambda e: (seen.append(e), on_event(e)), cancel=cancel)
    assert dest.aborted and dest.committed is None
    assert isinstance(seen[-1], CopyCancelled)
    assert not any(isinstance(e, ManifestWritten) for e in seen)


class _StoppedWhileLooking(MemoryDestination):
    """The copy is stopped (Ctrl+C) while a transfer looks whether the blob is there,
    as it is while one waits for its turn."""

    def __init__(self, cancel: CancelToken) -> None:
        super().__init__()
        self._cancel = cancel

    def reuse_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None,
        sending: bool = True,
    ) -> str | None:
        self._cancel.cancel()
        return None


def test_no_blob_starts_once_the_copy_is_stopped(layout: Path) -> None:
    """No "Copying blob" line after Ctrl+C: a transfer that comes to its start after the
    copy was stopped ends there, before its start is told."""
    source = open_source(f"oci:{layout}:latest")
    cancel = CancelToken()
    dest = _StoppedWhileLooking(cancel)
    plan = plan_copy(source, dest, CopyOptions(multi_arch="all", parallel=1))
    seen: list[Any] = []
    with pytest.raises(Cancelled):
        execute(plan, source, dest, events=seen.append, cancel=cancel)
    assert not [event for event in seen if isinstance(event, BlobStarted)]
    assert isinstance(seen[-1], CopyCancelled) and not dest.blobs


class _SlowToStop(MemoryDestination):
    """Each put_blob blocks until the copy is cancelled, then takes half a second more to
    stop writing, as a transfer finishing its last chunk does."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.stopped_writing: list[float] = []
        self.aborted_at: float | None = None

    def put_blob(self, stream: Readable, *, media_type: str, digest: Digest | None,
                 size: int | None, cancel: CancelToken | None = None,
                 progress: Any = None) -> Descriptor:
        assert cancel is not None
        self.started.set()
        while not cancel.cancelled:
            time.sleep(0.01)
        time.sleep(0.5)
        with self.lock:
            self.stopped_writing.append(time.monotonic())
        raise Cancelled()

    def abort(self) -> None:
        self.aborted_at = time.monotonic()
        super().abort()


@pytest.mark.skipif(signal.getsignal(signal.SIGINT) is not signal.default_int_handler,
                    reason="Python's own Ctrl+C handler is not installed")
def test_a_second_ctrl_c_still_lets_transfers_stop_before_the_take_back(layout: Path) -> None:
    """Ctrl+C stops the transfers; pressed again while they wind down, it must not skip
    waiting for them, or the take-back could run while one still writes."""
    source = open_source(f"oci:{layout}:latest")
    dest = _SlowToStop()
    plan = plan_copy(source, dest, CopyOptions(multi_arch="all"))

    def press_ctrl_c_twice() -> None:
        # a real SIGINT at the main thread, as a terminal's Ctrl+C arrives: it also wakes
        # a thread blocked waiting (interrupt_main only sets a flag for its next bytecode)
        main = threading.main_thread().ident
        assert dest.started.wait(10) and main is not None
        signal.pthread_kill(main, signal.SIGINT)
        time.sleep(0.2)  # the transfers are winding down now
        signal.pthread_kill(main, signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c_twice)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            execute(plan, source, dest)
    finally:
        presser.join()
    assert dest.stopped_writing and dest.aborted_at is not None
    assert dest.aborted_at >= max(dest.stopped_writing)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_gzip_layers_are_written_again_when_asked_for_gzip_from_zstd(tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path / "z")
    desc = builder.add_image(ImageSpec(layers=[LayerSpec({"a": b"hello"}, compression="zstd")]))
    builder.tag(desc, "z")
    source = open_source(f"oci:{tmp_path / 'z'}:z")
    dest = MemoryDestination()
    copy_image(source, dest, CopyOptions(compression="gzip", compression_level=9))
    assert dest.committed is not None
    manifest = parse_manifest(dest.committed[1])
    assert isinstance(manifest, ImageManifest)
    layer = manifest.layers[0]
    assert layer.media_type == media.OCI_LAYER_GZIP
    assert gzip.decompress(dest.blobs[layer.digest])[:512].count(b"a") >= 1


def _image_of_one_layer(root: Path, layer: bytes, diff_id: str,
                        annotations: dict[str, str] | None = None) -> str:
    """A layout of one image whose only (gzip) layer is ``layer`` (with ``annotations``)
    and whose config promises ``diff_id``; returns the ``oci:`` name."""
    from tests.helpers.imagebuild import build_config, dump_json

    builder = LayoutBuilder(root)
    blob = builder.add_blob(layer)
    config = builder.add_blob(dump_json(build_config(ImageSpec(layers=[LayerSpec({})]),
                                                     [diff_id])))
    manifest = {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "config": {"mediaType": media.OCI_CONFIG, **config},
        "layers": [{"mediaType": media.OCI_LAYER_GZIP, **blob,
                    **({"annotations": annotations} if annotations else {})}],
    }
    builder.tag({"mediaType": media.OCI_MANIFEST, **builder.add_blob(dump_json(manifest))},
                "bad")
    return f"oci:{root}:bad"


@pytest.mark.parametrize("target", ["zstd", "none"])
def test_recompressing_a_layer_that_is_not_its_diff_id_is_refused(
    tmp_path: Path, target: str
) -> None:
    plain = bytes(range(256)) * 8192  # 2 MiB: several reads, several compressed pieces
    name = _image_of_one_layer(
        tmp_path / "l", gzip.compress(plain, 1), "sha256:" + hashlib.sha256(b"other").hexdigest()
    )
    dest = MemoryDestination()
    with pytest.raises(DigestMismatch, match="not the diff ID"):
        copy_image(open_source(name), dest, CopyOptions(compression=target))  # type: ignore[arg-type]
    assert dest.aborted and dest.committed is None


@pytest.mark.parametrize(("key", "kind"), [
    ("containerd.io/snapshot/stargz/toc.digest", "eStargz"),
    ("io.github.containers.zstd-chunked.manifest-checksum", "zstd:chunked"),
])
def test_a_layer_with_a_table_of_contents_that_is_not_its_diff_id_is_said_to_be_one(
    tmp_path: Path, key: str, kind: str
) -> None:
    """eStargz and zstd:chunked writers rewrite the tar they compress (skopeo 1.9 keeps
    the old diff ID): the refusal says so, and that the image copies as stored, rather
    than read like corruption; the config's diff IDs are not rewritten."""
    plain = bytes(range(256)) * 64
    name = _image_of_one_layer(
        tmp_path / "l", gzip.compress(plain), "sha256:" + hashlib.sha256(b"other").hexdigest(),
        {key: "sha256:" + "ab" * 32})
    dest = MemoryDestination()
    with pytest.raises(DigestMismatch) as refused:
        copy_image(open_source(name), dest, CopyOptions(compression="zstd"))
    assert f"is a {kind} layer whose tar was rewritten as it was compressed" in str(
        refused.value)
    assert str(refused.value).endswith(
        "so it is not copied; copy the image with its layers as they are stored, in OCI's "
        "format.")
    assert refused.value.on_command_line is not None
    assert refused.value.on_command_line.endswith(
        "copy it as stored: leave out --dest-compress-format, --dest-decompress and "
        "--format v2s2, and do not copy it into a docker-archive:.")
    assert dest.aborted and dest.committed is None
    # as it is stored, it is copied
    copy_image(open_source(name), MemoryDestination())


@pytest.mark.parametrize("target", ["zstd", "none"])
def test_recompressing_a_layer_that_is_not_gzip_fails_with_a_sentence(
    tmp_path: Path, target: str
) -> None:
    plain = bytes(range(256)) * 4096
    broken = bytearray(gzip.compress(plain))
    broken[-8] ^= 0xFF  # the CRC-32 in the trailer: the blob's digest is right, its data not
    name = _image_of_one_layer(
        tmp_path / "l", bytes(broken), "sha256:" + hashlib.sha256(plain).hexdigest()
    )
    dest = MemoryDestination()
    with pytest.raises(TransportError, match="could not be decompressed as gzip: CRC check"):
        copy_image(open_source(name), dest, CopyOptions(compression=target))  # type: ignore[arg-type]
    assert dest.aborted and dest.committed is None


def _stored_layer_replaced(name: str, data: bytes) -> None:
    """Put ``data`` where the only layer of the layout image ``name`` is stored."""
    root = Path(name.removeprefix("oci:").rsplit(":", 1)[0])
    top = json.loads((root / "index.json").read_text())["manifests"][0]["digest"]
    manifest = json.loads((root / "blobs/sha256" / top.removeprefix("sha256:")).read_bytes())
    layer = root / "blobs/sha256" / manifest["layers"][0]["digest"].removeprefix("sha256:")
    layer.write_bytes(data)


@pytest.mark.parametrize("target", ["zstd", "none"])
def test_a_recompressed_layer_is_checked_by_its_diff_id_not_its_compressed_digest(
    tmp_path: Path, target: str
) -> None:
    """Its compressed bytes are not kept, so their digest is not computed (a sha256 pass
    fewer): bytes that differ from the digest but decompress to the diff ID make the
    same layer. Copied as they are, the same bytes are refused."""
    plain = bytes(range(256)) * 8192
    stored = gzip.compress(plain, 1, mtime=0)
    name = _image_of_one_layer(
        tmp_path / "l", stored, "sha256:" + hashlib.sha256(plain).hexdigest()
    )
    other = bytearray(stored)
    other[4:8] = (1234567).to_bytes(4, "little")  # gzip's MTIME: same size, same content
    _stored_layer_replaced(name, bytes(other))

    assert _only_layer_copied(name, target) == plain

    as_is = MemoryDestination()
    with pytest.raises(DigestMismatch, match="does not match its digest"):
        copy_image(open_source(name), as_is, CopyOptions())
    assert as_is.aborted and as_is.committed is None


@pytest.mark.parametrize("extra", [b"\0" * 3, b"more"], ids=["zero padding", "bytes"])
def test_a_recompressed_layer_longer_than_its_descriptor_is_refused(
    tmp_path: Path, extra: bytes
) -> None:
    """The size is still checked when the digest is left to the diff ID: bytes after
    the gzip stream (which decompression alone would not notice) stop the copy."""
    plain = bytes(range(256)) * 4096
    stored = gzip.compress(plain, 1)
    name = _image_of_one_layer(
        tmp_path / "l", stored, "sha256:" + hashlib.sha256(plain).hexdigest()
    )
    _stored_layer_replaced(name, stored + extra)
    dest = MemoryDestination()
    with pytest.raises(SizeMismatch, match="longer than"):
        copy_image(open_source(name), dest, CopyOptions(compression="zstd"))
    assert dest.aborted and dest.committed is None


@pytest.mark.parametrize("target", ["zstd", "gzip", "none"])
def test_recompressing_a_big_layer_round_trips(tmp_path: Path, target: str) -> None:
    import os

    plain = os.urandom(3 * 1024 * 1024 + 17)
    name = _image_of_one_layer(
        tmp_path / "l", gzip.compress(plain, 1), "sha256:" + hashlib.sha256(plain).hexdigest()
    )
    assert _only_layer_copied(name, target) == plain


def _only_layer_copied(name: str, target: str) -> bytes:
    """The only layer of the image ``name`` copied with ``--dest-compress-format target``,
    decompressed."""
    dest = MemoryDestination()
    copy_image(open_source(name), dest, CopyOptions(compression=target))  # type: ignore[arg-type]
    assert dest.committed is not None
    manifest = parse_manifest(dest.committed[1])
    assert isinstance(manifest, ImageManifest)
    written = dest.blobs[manifest.layers[0].digest]
    if target == "zstd":
        return zstandard.ZstdDecompressor().stream_reader(written).read()
    return gzip.decompress(written) if target == "gzip" else written


# --------------------------------------------------------------------------- retries


class _Breaking:
    """A blob stream that breaks off (ConnectionFailed) after ``after`` bytes."""

    def __init__(self, inner: Any, after: int) -> None:
        self._inner = inner
        self._left = after

    def read(self, n: int = -1) -> bytes:
        from spyglass.core.errors import ConnectionFailed

        if self._left <= 0:
            raise ConnectionFailed("The blob broke off: connection reset by peer.")
        data = self._inner.read(min(n, self._left) if n >= 0 else self._left)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> _Breaking:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _FlakySource:
    """A source whose blob ``victim`` breaks off mid-way on its first ``failures`` opens."""

    def __init__(self, inner: Any, victim: Digest, failures: int, error: Exception | None = None):
        self._inner = inner
        self._victim = victim
        self._failures = failures
        self._error = error
        self.opens: list[Digest] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def open_blob(self, descriptor: Descriptor, *, cancel: Any = None) -> Any:
        self.opens.append(descriptor.digest)
        stream = self._inner.open_blob(descriptor, cancel=cancel)
        if descriptor.digest == self._victim and self._failures > 0:
            self._failures -= 1
            if self._error is not None:
                stream.close()
                raise self._error
            return _Breaking(stream, descriptor.size // 2)
        return stream


def _biggest_layer(layout: Path, options: CopyOptions) -> Descriptor:
    plan = plan_copy(open_source(f"oci:{layout}:latest"), MemoryDestination(), options)
    return max((t.source for t in plan.blobs if "layer" in t.source.media_type),
               key=lambda d: d.size)


def test_a_blob_that_breaks_off_is_copied_again_from_its_start(
    layout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spyglass.core import copy as copy_module
    from spyglass.core.copy import BlobRetried

    waits: list[float] = []
    monkeypatch.setattr(copy_module, "pause", lambda seconds, cancel: waits.append(seconds))
    options = CopyOptions(multi_arch="all", retry_times=2)
    victim = _biggest_layer(layout, options)
    source = _FlakySource(open_source(f"oci:{layout}:latest"), victim.digest, failures=2)
    dest = MemoryDestination()
    seen = events_of(lambda cb: copy_image(source, dest, options, events=cb))
    assert dest.committed is not None
    assert dest.blobs[victim.digest] == (layout / "blobs" / "sha256" / victim.digest.hex
                                         ).read_bytes()
    assert source.opens.count(victim.digest) == 3
    retried = [e for e in seen if isinstance(e, BlobRetried)]
    assert [(e.attempt, e.attempts) for e in retried] == [(2, 3), (3, 3)]
    assert "broke off" in retried[0].reason
    assert len(waits) == 2 and all(0 < w <= 30 for w in waits)


def test_retries_run_out(layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spyglass.core import copy as copy_module
    from spyglass.core.errors import ConnectionFailed

    monkeypatch.setattr(copy_module, "pause", lambda seconds, cancel: None)
    options = CopyOptions(multi_arch="all", retry_times=1)
    victim = _biggest_layer(layout, options)
    source = _FlakySource(open_source(f"oci:{layout}:latest"), victim.digest, failures=5)
    dest = MemoryDestination()
    # the sentence says how often it was tried (a stall of a minute a time adds up)
    with pytest.raises(ConnectionFailed, match=r"broke off: connection reset by peer "
                                               r"\(tried 2 times\)\.$"):
        copy_image(source, dest, options)
    assert source.opens.count(victim.digest) == 2
    assert dest.aborted and dest.committed is None


@pytest.mark.parametrize(("spent", "opens"), [(1, 4), (2, 2), (4, 1), (9, 1)])
def test_tries_a_failure_stands_for_come_out_of_the_same_retry_times(
    layout: Path, monkeypatch: pytest.MonkeyPatch, spent: int, opens: int
) -> None:
    """--retry-times N is N retries of a blob in all: a 503 the registry client already
    asked again about (``attempts``), or a download resumed before it broke off for
    good, counts against them, rather than N blob restarts of N requests each."""
    from spyglass.core import copy as copy_module
    from spyglass.core.copy import BlobRetried
    from spyglass.core.errors import RegistryError

    monkeypatch.setattr(copy_module, "pause", lambda seconds, cancel: None)
    options = CopyOptions(multi_arch="all", retry_times=3)
    victim = _biggest_layer(layout, options)
    error = RegistryError("The registry answered HTTP 503 Service Unavailable.", status=503)
    error.attempts = spent
    source = _FlakySource(open_source(f"oci:{layout}:latest"), victim.digest, failures=9,
                          error=error)
    seen: list[Any] = []
    with pytest.raises(RegistryError):
        copy_image(source, MemoryDestination(), options, events=seen.append)
    assert source.opens.count(victim.digest) == opens
    assert len([e for e in seen if isinstance(e, BlobRetried)]) == opens - 1


def test_each_attempt_tells_the_source_what_is_left_of_retry_times(
    layout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A download that resumes inside an attempt counts against what the copy has left
    (with --retry-times 2, a refused resume in the last attempt made a 4th request)."""
    from spyglass.core import copy as copy_module
    from spyglass.core.retry import TRIES_LEFT

    monkeypatch.setattr(copy_module, "pause", lambda seconds, cancel: None)
    options = CopyOptions(multi_arch="all", retry_times=3)
    victim = _biggest_layer(layout, options)
    source = _FlakySource(open_source(f"oci:{layout}:latest"), victim.digest, failures=9)
    left: list[tuple[int, int] | None] = []
    opening = source.open_blob

    def open_blob(descriptor: Descriptor, *, cancel: Any = None) -> Any:
        if descriptor.digest == victim.digest:
            tries = TRIES_LEFT.get()
            left.append(None if tries is None else (tries.left, tries.of))
        return opening(descriptor, cancel=cancel)

    monkeypatch.setattr(source, "open_blob", open_blob)
    with pytest.raises(ConnectionFailed):
        copy_image(source, MemoryDestination(), options)
    assert left == [(4, 4), (3, 4), (2, 4), (1, 4)]
    assert TRIES_LEFT.get() is None  # nothing left behind on this thread


@pytest.mark.parametrize(
    ("error", "tries"),
    [
        ("rate", 2),  # 429: waits what Retry-After asked
        ("rate-long", 2),  # a wait past the cap: waited a minute, then asked again
        ("503", 2),
        ("404", 1),  # not retried
        ("denied", 1),
        ("digest", 1),
    ],
)
def test_which_failures_are_tried_again(
    layout: Path, monkeypatch: pytest.MonkeyPatch, error: str, tries: int
) -> None:
    from spyglass.core import copy as copy_module
    from spyglass.core.errors import AccessDenied, RateLimited, RegistryError

    errors: dict[str, Exception] = {
        "rate": RateLimited("Too many requests.", retry_after=7.0),
        "rate-long": RateLimited("Too many requests.", retry_after=3600.0),
        "503": RegistryError("The registry is unavailable (503).", status=503),
        "404": RegistryError("Not found (404).", status=404),
        "denied": AccessDenied("Denied (403).", status=403),
        "digest": DigestMismatch("The blob does not match its digest."),
    }
    waits: list[float] = []
    monkeypatch.setattr(copy_module, "pause", lambda seconds, cancel: waits.append(seconds))
    options = CopyOptions(multi_arch="all", retry_times=3)
    victim = _biggest_layer(layout, options)
    source = _FlakySource(open_source(f"oci:{layout}:latest"), victim.digest, failures=1,
                          error=errors[error])
    dest = MemoryDestination()
    if tries == 1:
        with pytest.raises(type(errors[error])):
            copy_image(source, dest, options)
    else:
        copy_image(source, dest, options)
        assert dest.committed is not None
    assert source.opens.count(victim.digest) == tries
    if error == "rate":
        assert waits == [7.0]
    if error == "rate-long":
        assert waits == [60.0]  # as skopeo waits (it was failed at once)


def test_the_command_line_reports_a_retry() -> None:
    import io

    from spyglass.cli.progress import Reporter
    from spyglass.core.copy import BlobRetried

    out = io.StringIO()
    reporter = Reporter(out, quiet=False)
    digest = Digest.of(b"layer")
    reporter(BlobRetried(digest, 2, 4, "The blob broke off: connection reset by peer."))
    assert out.getvalue() == (
        f"Retrying blob {digest.short} (attempt 2 of 4): "
        "The blob broke off: connection reset by peer.\n"
    )
    # a body too large for the registry, sent again in pieces, is no attempt of the budget
    out.truncate(0)
    out.seek(0)
    reporter(BlobRetried(digest, 1, 4, "the registry takes no body this large in one "
                         "request (HTTP 413)", counted=False))
    assert out.getvalue() == (f"Sending blob {digest.short} again in pieces: the registry "
                              "takes no body this large in one request (HTTP 413)\n")


def test_transfers_to_one_host_are_limited(layout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from spyglass.core import copy as copy_module

    monkeypatch.setattr(copy_module, "PER_HOST_LIMIT", 2)
    active = 0
    most = 0
    lock = threading.Lock()

    class Slow:
        def __init__(self, inner: Any) -> None:
            nonlocal active, most
            self._inner = inner
            with lock:
                active += 1
                most = max(most, active)

        def read(self, n: int = -1) -> bytes:
            time.sleep(0.02)
            return bytes(self._inner.read(n))

        def close(self) -> None:
            nonlocal active
            with lock:
                active -= 1
            self._inner.close()

    class Registryish:
        host = "registry.example:5000"

        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

        def open_blob(self, descriptor: Descriptor, *, cancel: Any = None) -> Any:
            stream = self._inner.open_blob(descriptor, cancel=cancel)
            if "layer" in descriptor.media_type:
                return Slow(stream)
            return stream

    source = Registryish(open_source(f"oci:{layout}:latest"))
    dest = MemoryDestination()
    copy_image(source, dest, CopyOptions(multi_arch="all", parallel=8))
    assert dest.committed is not None
    assert most == 2


def test_registries_name_their_host() -> None:
    from spyglass.core.transports.registry.destination import RegistryDestination
    from spyglass.core.transports.registry.source import RegistryImageSource

    assert isinstance(RegistryImageSource.host, property)
    assert isinstance(RegistryDestination.host, property)


def test_recompression_reports_progress_as_the_source_is_read(tmp_path: Path) -> None:
    import os

    from spyglass.core.copy import BlobProgress

    plain = os.urandom(3 * 1024 * 1024)
    name = _image_of_one_layer(
        tmp_path / "l", gzip.compress(plain, 1), "sha256:" + hashlib.sha256(plain).hexdigest()
    )
    source = open_source(name)
    layer = plan_copy(source, MemoryDestination(), CopyOptions(compression="zstd")).blobs[-1]
    assert layer.recompress == "zstd"
    seen = events_of(lambda cb: copy_image(source, MemoryDestination(),
                                           CopyOptions(compression="zstd"), events=cb))
    steps = [e.done for e in seen
             if isinstance(e, BlobProgress) and e.digest == layer.source.digest]
    assert len(steps) > 3  # the bar moves while the layer is recompressed
    assert steps == sorted(steps) and steps[-1] == layer.source.size


@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive", "dir"])
def test_a_destination_written_whole_says_what_it_replaces(
    layout: Path, tmp_path: Path, transport: str
) -> None:
    """An archive or dir: image already there is replaced, not added to: the plan says so
    (``spyglass copy`` prints it as a note, ``--dry-run`` with the plan); a new one
    replaces nothing."""
    target = tmp_path / ("out" if transport == "dir" else "out.tar")
    options = CopyOptions(platforms=(Platform.parse("linux/arm64"),))
    first = open_destination(f"{transport}:{target}")
    plan = plan_copy(open_source(f"oci:{layout}:latest"), first, options)
    assert not any("replaced whole" in note for note in plan.notes)
    first.abort()
    copy_image(open_source(f"oci:{layout}:latest"), open_destination(f"{transport}:{target}"),
               options)
    again = open_destination(f"{transport}:{target}")
    plan = plan_copy(open_source(f"oci:{layout}:latest"), again, options)
    again.abort()
    what = (f'the dir: image in "{target}" already there' if transport == "dir"
            else f'the archive "{target}" already there, with what it holds,')
    # (said as the copy starts: what will happen, which a failed copy does not do)
    assert f"{what} will be replaced whole once the copy is complete" in plan.notes
    assert plan.routine == (f"{what} will be replaced whole once the copy is complete",)


@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive", "dir"])
def test_a_failed_copy_says_what_it_would_have_replaced_is_as_it_was(
    tmp_path: Path, transport: str
) -> None:
    """The plan's note said it would be replaced; the failure says it was not."""
    source_layout = tmp_path / "src"
    multi_platform_layout(source_layout)
    target = tmp_path / ("out" if transport == "dir" else "out.tar")
    options = CopyOptions(platforms=(Platform.parse("linux/arm64"),))
    copy_image(open_source(f"oci:{source_layout}:latest"),
               open_destination(f"{transport}:{target}"), options)
    before = sorted(p.read_bytes() for p in ([target] if target.is_file() else
                                             sorted(target.iterdir())))
    source = open_source(f"oci:{source_layout}:latest")
    destination = open_destination(f"{transport}:{target}")
    # another image (none of its blobs there to reuse), every layer of it corrupt
    options = CopyOptions(platforms=(Platform.parse("linux/amd64"),))
    plan = plan_copy(source, destination, options)
    for blob in plan.blobs:
        path = source_layout / "blobs" / "sha256" / blob.source.digest.hex
        path.write_bytes(path.read_bytes()[:-1] + b"!")
    with pytest.raises(SpyglassError) as raised:
        execute(plan, source, destination, options)
    what = (f'The dir: image in "{target}" already there' if transport == "dir"
            else f'The archive "{target}" already there, with what it holds,')
    assert str(raised.value).endswith(f" {what} is left as it was."), str(raised.value)
    assert sorted(p.read_bytes() for p in ([target] if target.is_file() else
                                           sorted(target.iterdir()))) == before


def test_a_nested_list_whose_images_a_layout_must_convert_is_refused(tmp_path: Path) -> None:
    """An OCI index nesting a list of Docker images: an OCI layout holds only OCI
    manifests, so the images would be converted while the nested list, copied as it
    is, still named the originals. Refused, as skopeo refuses it, before anything moves."""
    root = tmp_path / "nested"
    builder = LayoutBuilder(root)
    images = [builder.add_image(ImageSpec(architecture=arch, docker_media_types=True))
              for arch in ("amd64", "arm64")]
    inner = builder.add_index(images)
    top = builder.add_index([inner])
    builder.tag(top, "v1")
    out = tmp_path / "out"
    with pytest.raises(Unsupported, match="nested lists are copied only whole"):
        plan_copy(open_source(f"oci:{root}:v1"), open_destination(f"oci:{out}:v1"),
                  CopyOptions(multi_arch="all"))


def test_an_index_entry_without_a_platform_is_chosen_when_none_fits(tmp_path: Path) -> None:
    """An index of one image saved without its platform: containers/image ranks such an
    entry last but still takes it; so does the copy of this system's image."""
    root = tmp_path / "noplat"
    builder = LayoutBuilder(root)
    image = builder.add_image(ImageSpec(architecture="amd64"))
    bare = {k: v for k, v in image.items() if k != "platform"}
    builder.tag(builder.add_index([bare]), "v1")
    top = copy_image(open_source(f"oci:{root}:v1"), open_destination(f"oci:{tmp_path / 'o'}:v1"),
                     CopyOptions(platforms=(Platform.parse("linux/s390x"),)))
    assert str(top.digest) == image["digest"]


def test_an_image_without_a_platform_is_copied_alone_by_its_digest(tmp_path: Path) -> None:
    """No platform chooses it: ``instances`` names it, alone (one image written, not a
    list) or beside a platform (a list of the two); a digest the list does not name is
    refused, saying so."""
    from spyglass.core.errors import ImageNotFound
    from tests.helpers.platform_lists import platform_lists

    lists = platform_lists(tmp_path / "lists")
    source = f"oci:{lists.root}:noplat_mixed"
    noplat = Digest.parse(lists.images["noplat"]["digest"])
    top = copy_image(open_source(source), open_destination(f"oci:{tmp_path / 'a'}:v1"),
                     CopyOptions(instances=(noplat,)))
    assert top.digest == noplat
    top = copy_image(open_source(source), open_destination(f"oci:{tmp_path / 'b'}:v1"),
                     CopyOptions(platforms=(Platform.parse("linux/arm64/v8"),),
                                 instances=(noplat,)))
    index = json.loads((tmp_path / "b" / "blobs" / "sha256" / top.digest.hex).read_bytes())
    assert [entry["digest"] for entry in index["manifests"]] == [
        lists.images["arm64v8"]["digest"], str(noplat)]
    other = Digest.parse(lists.images["amd64"]["digest"])
    with pytest.raises(ImageNotFound, match=f"names no image {other}"):
        plan_copy(open_source(source), open_destination(f"oci:{tmp_path / 'c'}:v1"),
                  CopyOptions(instances=(other,)))


def test_zstd_for_docker_images_writes_oci(tmp_path: Path) -> None:
    """Docker schema 2 cannot hold zstd layers: asked for zstd with no format, a Docker
    list and its images are written as OCI (as containers/image converts them); asked
    for v2s2 as well, the copy is refused."""
    root = tmp_path / "docker"
    builder = LayoutBuilder(root)
    images = [builder.add_image(ImageSpec(
        architecture=arch, docker_media_types=True,
        layers=[LayerSpec({f"/etc/{arch}": arch.encode()})])) for arch in ("amd64", "arm64")]
    builder.tag(builder.add_index(images, docker_media_types=True), "v1")
    out = tmp_path / "out"
    top = copy_image(open_source(f"oci:{root}:v1"), open_destination(f"oci:{out}:v1"),
                     CopyOptions(multi_arch="all", compression="zstd"))
    index = json.loads((out / "blobs" / "sha256" / top.digest.hex).read_bytes())
    assert index["mediaType"] == media.OCI_INDEX
    for entry in index["manifests"]:
        manifest = json.loads((out / "blobs" / "sha256" / entry["digest"][7:]).read_bytes())
        assert manifest["mediaType"] == media.OCI_MANIFEST
        assert {layer["mediaType"] for layer in manifest["layers"]} == {
            "application/vnd.oci.image.layer.v1.tar+zstd"}
    with pytest.raises(Unsupported, match="Docker schema 2 manifests cannot hold zstd"):
        plan_copy(open_source(f"oci:{root}:v1"), open_destination(f"dir:{tmp_path}/x"),
                  CopyOptions(platforms=(Platform.parse("linux/amd64"),), compression="zstd",
                              format="v2s2"))


def test_index_only_in_another_format_is_refused_at_plan_time(tmp_path: Path) -> None:
    """``--multi-arch index-only`` copies the list as it is; a destination or a --format
    wanting the other format would make it name manifests that are not there."""
    root = tmp_path / "docker-list"
    builder = LayoutBuilder(root)
    images = [builder.add_image(ImageSpec(architecture=arch, docker_media_types=True))
              for arch in ("amd64", "arm64")]
    builder.tag(builder.add_index(images, docker_media_types=True), "v1")
    with pytest.raises(Unsupported, match="wants OCI manifests; copy its images with it"):
        plan_copy(open_source(f"oci:{root}:v1"), open_destination(f"oci:{tmp_path}/o:v1"),
                  CopyOptions(multi_arch="index-only"))
    oci = tmp_path / "oci"
    multi_platform_layout(oci)
    with pytest.raises(Unsupported, match="cannot store Docker schema 2 manifests, only OCI ones"):
        plan_copy(open_source(f"oci:{oci}:latest"), open_destination(f"oci:{tmp_path}/p:v1"),
                  CopyOptions(multi_arch="index-only", format="v2s2"))


def test_a_platform_less_entry_is_the_last_resort_and_only_in_an_oci_index(
        tmp_path: Path) -> None:
    """A nested list's matching image wins over an entry without a platform (an SBOM
    manifest, say); a Docker list's entry without one is never taken (as skopeo)."""
    from spyglass.core.errors import PlatformNotFound
    from spyglass.core.image import load_image

    root = tmp_path / "mixed"
    builder = LayoutBuilder(root)
    amd64 = builder.add_image(ImageSpec(architecture="amd64"))
    inner = builder.add_index([amd64])
    sbom = builder.add_image(ImageSpec(architecture="s390x"))
    bare = {k: v for k, v in sbom.items() if k != "platform"}
    builder.tag(builder.add_index([inner, bare]), "oci")
    docker_images = [builder.add_image(ImageSpec(architecture="arm64", docker_media_types=True)),
                     builder.add_image(ImageSpec(architecture="s390x", docker_media_types=True))]
    docker_bare = {k: v for k, v in docker_images[1].items() if k != "platform"}
    builder.tag(builder.add_index([docker_images[0], docker_bare], docker_media_types=True),
                "docker")
    source = open_source(f"oci:{root}:oci")
    try:
        loaded = load_image(source, platform=Platform.parse("linux/amd64"))
        assert str(loaded.manifest.digest) == amd64["digest"]
    finally:
        source.close()
    with pytest.raises(PlatformNotFound):
        plan_copy(open_source(f"oci:{root}:docker"), open_destination(f"dir:{tmp_path / 'd'}"),
                  CopyOptions(platforms=(Platform.parse("linux/amd64"),)))


def _nested_layout(root: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """An index of [an index of (amd64, arm64), s390x], tagged v1: the top entry and
    each image's entry by architecture."""
    builder = LayoutBuilder(root)
    images = {arch: builder.add_image(ImageSpec(architecture=arch))
              for arch in ("amd64", "arm64", "s390x")}
    inner = builder.add_index([images["amd64"], images["arm64"]])
    top = builder.add_index([inner, images["s390x"]])
    builder.tag(top, "v1")
    return top, images


def test_an_image_of_a_nested_list_is_copied_as_inspect_finds_it(tmp_path: Path) -> None:
    """One platform out of a list of lists: the image inside the nested list, as
    ``inspect`` shows it (the error used to say the list offered only s390x)."""
    _top, images = _nested_layout(tmp_path / "nested")
    written = copy_image(open_source(f"oci:{tmp_path / 'nested'}:v1"),
                         open_destination(f"oci:{tmp_path / 'o'}:v1"),
                         CopyOptions(platforms=(Platform.parse("linux/arm64"),)))
    assert str(written.digest) == images["arm64"]["digest"]


def test_platforms_of_a_nested_list_make_one_list_of_the_images(tmp_path: Path) -> None:
    top, images = _nested_layout(tmp_path / "nested")
    options = CopyOptions(platforms=(Platform.parse("linux/amd64"), Platform.parse("linux/s390x")))
    plan = plan_copy(open_source(f"oci:{tmp_path / 'nested'}:v1"),
                     open_destination(f"oci:{tmp_path / 'o'}:v1"), options)
    assert [str(i.source.digest) for i in plan.instances] == [
        images["amd64"]["digest"], images["s390x"]["digest"]]
    assert ("the list is rebuilt with 2 images (chosen from it and the lists nested in it); "
            "its digest changes") in plan.notes
    written = copy_image(open_source(f"oci:{tmp_path / 'nested'}:v1"),
                         open_destination(f"oci:{tmp_path / 'o'}:v1"), options)
    assert str(written.digest) != top["digest"]
    index = json.loads((tmp_path / "o" / "blobs" / "sha256" / written.digest.hex).read_bytes())
    assert [m["digest"] for m in index["manifests"]] == [
        images["amd64"]["digest"], images["s390x"]["digest"]]


def test_a_platform_no_nested_list_has_names_what_they_all_offer(tmp_path: Path) -> None:
    top, _images = _nested_layout(tmp_path / "nested")
    with pytest.raises(PlatformNotFound) as raised:
        plan_copy(open_source(f"oci:{tmp_path / 'nested'}:v1"),
                  open_destination(f"oci:{tmp_path / 'o'}:v1"),
                  CopyOptions(platforms=(Platform.parse("linux/ppc64le"),)))
    assert str(raised.value) == (
        f"The manifest list {top['digest']} and the lists nested in it have no image for "
        "linux/ppc64le; they offer: linux/amd64, linux/arm64, linux/s390x.")


def test_a_list_copied_onto_itself_as_one_image_says_what_it_loses(layout: Path) -> None:
    """The note comes with the plan, before anything is written: the list at that name
    becomes this system's image alone (skopeo does the same, without a word)."""
    same = f"oci:{layout}:latest"
    plan = plan_copy(open_source(same), open_destination(same),
                     CopyOptions(platforms=(Platform.parse("linux/arm64"),)))
    assert plan.notes[-1] == (
        f"{same} is the list being copied: it is replaced by linux/arm64/v8 alone, and its "
        "2 other images are no longer named there; copy with --all to keep the list whole")
    whole = plan_copy(open_source(same), open_destination(same), CopyOptions(multi_arch="all"))
    assert not any("list being copied" in note for note in whole.notes)
    elsewhere = plan_copy(open_source(same), open_destination(f"oci:{layout}:other"),
                          CopyOptions(platforms=(Platform.parse("linux/arm64"),)))
    assert not any("list being copied" in note for note in elsewhere.notes)
    index_only = plan_copy(open_source(same), open_destination(same),
                           CopyOptions(multi_arch="index-only"))
    assert not any("list being copied" in note for note in index_only.notes)


def test_a_list_of_one_image_copied_onto_itself_loses_nothing_to_say(tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path / "one")
    builder.tag(builder.add_index([builder.add_image(ImageSpec(architecture="amd64"))]), "v1")
    same = f"oci:{tmp_path / 'one'}:v1"
    plan = plan_copy(open_source(same), open_destination(same),
                     CopyOptions(platforms=(Platform.parse("linux/amd64"),)))
    assert not any("list being copied" in note for note in plan.notes)


def _buildx_layout(root: Path, *, nested: bool = False,
                   ) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """A list as ``docker buildx`` pushes it: amd64, arm64 and s390x images, each with
    BuildKit's attestation entry after them; each image's entry and its attestation's.
    ``nested``: amd64 and arm64, with theirs, in a list nested in the list."""
    builder = LayoutBuilder(root)
    pairs = {}
    for arch in ("amd64", "arm64", "s390x"):
        image = builder.add_image(ImageSpec(architecture=arch))
        pairs[arch] = (image, builder.add_attestation(image))
    if nested:
        inner = builder.add_index([e for arch in ("amd64", "arm64") for e in pairs[arch]])
        builder.tag(builder.add_index([inner, *pairs["s390x"]]), "v1")
    else:
        builder.tag(builder.add_index([e for pair in pairs.values() for e in pair]), "v1")
    return pairs


def test_platforms_chosen_bring_their_attestations_into_the_rebuilt_list(tmp_path: Path) -> None:
    pairs = _buildx_layout(tmp_path / "bx")
    options = CopyOptions(platforms=(Platform.parse("linux/amd64"), Platform.parse("linux/arm64")))
    plan = plan_copy(open_source(f"oci:{tmp_path / 'bx'}:v1"),
                     open_destination(f"oci:{tmp_path / 'plan'}:v1"), options)
    assert ("the list is rebuilt with 2 of its 3 images and their attestations; its digest "
            "changes") in plan.notes
    described = plan.describe()
    assert (f"  attestation of {pairs['arm64'][0]['digest'][7:19]}: "
            f"{pairs['arm64'][1]['digest'][7:19]} (digest kept), OCI image manifest, 1 layer") \
        in described
    written = copy_image(open_source(f"oci:{tmp_path / 'bx'}:v1"),
                         open_destination(f"oci:{tmp_path / 'o'}:v1"), options)
    index = json.loads((tmp_path / "o" / "blobs" / "sha256" / written.digest.hex).read_bytes())
    assert sorted(m["digest"] for m in index["manifests"]) == sorted(
        e["digest"] for arch in ("amd64", "arm64") for e in pairs[arch])
    attested = {m["annotations"]["vnd.docker.reference.digest"] for m in index["manifests"]
                if "annotations" in m}
    assert attested == {pairs["amd64"][0]["digest"], pairs["arm64"][0]["digest"]}


def test_one_platform_chosen_notes_its_attestation_stays_behind(tmp_path: Path) -> None:
    pairs = _buildx_layout(tmp_path / "bx")
    plan = plan_copy(open_source(f"oci:{tmp_path / 'bx'}:v1"),
                     open_destination(f"oci:{tmp_path / 'o'}:v1"),
                     CopyOptions(platforms=(Platform.parse("linux/s390x"),)))
    assert [str(i.source.digest) for i in plan.instances] == [pairs["s390x"][0]["digest"]]
    assert (f"the list's attestation manifest for {pairs['s390x'][0]['digest'][7:19]} stays "
            "behind: one image written alone has no list to hold it") in plan.notes


def test_removing_signatures_says_the_lists_own_attestations_stay(tmp_path: Path) -> None:
    _buildx_layout(tmp_path / "bx")
    plan = plan_copy(open_source(f"oci:{tmp_path / 'bx'}:v1"),
                     open_destination(f"oci:{tmp_path / 'o'}:v1"),
                     CopyOptions(multi_arch="all", remove_signatures=True))
    assert plan.list_is_source
    assert ("  attached: left behind without being looked up (signatures, attestations, SBOMs "
            "and referrers kept beside the image are not copied; the attestation manifests "
            "inside the list are part of it and stay)") in plan.describe()


def test_the_rebuilt_list_keeps_the_lists_order_however_platforms_are_named(
    tmp_path: Path,
) -> None:
    """The same images make the same list: in the order the list has them, each
    attestation after its image, not in the order the platforms were typed."""
    pairs = _buildx_layout(tmp_path / "bx")
    options = CopyOptions(platforms=(Platform.parse("linux/s390x"), Platform.parse("linux/amd64")))
    plan = plan_copy(open_source(f"oci:{tmp_path / 'bx'}:v1"),
                     open_destination(f"oci:{tmp_path / 'o'}:v1"), options)
    assert [str(i.source.digest) for i in plan.instances] == [
        e["digest"] for arch in ("amd64", "s390x") for e in pairs[arch]]
    every = CopyOptions(platforms=tuple(Platform.parse(f"linux/{a}")
                                        for a in ("s390x", "arm64", "amd64")))
    whole = plan_copy(open_source(f"oci:{tmp_path / 'bx'}:v1"),
                      open_destination(f"oci:{tmp_path / 'o'}:v1"), every)
    assert whole.list_is_source  # every image named: the list as it is


def test_attestations_of_images_in_a_nested_list_come_along(tmp_path: Path) -> None:
    pairs = _buildx_layout(tmp_path / "bx", nested=True)
    options = CopyOptions(platforms=(Platform.parse("linux/amd64"), Platform.parse("linux/s390x")))
    plan = plan_copy(open_source(f"oci:{tmp_path / 'bx'}:v1"),
                     open_destination(f"oci:{tmp_path / 'o'}:v1"), options)
    assert [str(i.source.digest) for i in plan.instances] == [
        e["digest"] for arch in ("amd64", "s390x") for e in pairs[arch]]
    single = plan_copy(open_source(f"oci:{tmp_path / 'bx'}:v1"),
                       open_destination(f"oci:{tmp_path / 'o'}:v1"),
                       CopyOptions(platforms=(Platform.parse("linux/amd64"),)))
    assert (f"the list's attestation manifest for {pairs['amd64'][0]['digest'][7:19]} stays "
            "behind: one image written alone has no list to hold it") in single.notes


def test_a_docker_list_of_chosen_platforms_leaves_their_attestations_with_a_note(
    tmp_path: Path,
) -> None:
    """Docker schema 2 has no in-toto manifests: the attestations stay behind, rather
    than the copy of the images the user asked for being refused."""
    pairs = _buildx_layout(tmp_path / "bx")
    options = CopyOptions(format="v2s2", platforms=(Platform.parse("linux/amd64"),
                                                    Platform.parse("linux/arm64")))
    plan = plan_copy(open_source(f"oci:{tmp_path / 'bx'}:v1"), MemoryDestination(), options)
    assert [str(i.source.digest) for i in plan.instances] == [
        pairs[arch][0]["digest"] for arch in ("amd64", "arm64")]
    shorts = [pairs[arch][0]["digest"][7:19] for arch in ("amd64", "arm64")]  # list order
    assert (f"the list's attestation manifests for {', '.join(shorts)} stay behind: a Docker "
            "schema 2 list cannot hold them") in plan.notes


def test_a_whole_list_converted_to_docker_leaves_its_attestations_with_a_note(
    tmp_path: Path,
) -> None:
    """--all --format v2s2: the images are converted, the attestations (which Docker
    schema 2 cannot hold) stay behind, rather than the whole copy being refused."""
    pairs = _buildx_layout(tmp_path / "bx")
    plan = plan_copy(open_source(f"oci:{tmp_path / 'bx'}:v1"), MemoryDestination(),
                     CopyOptions(format="v2s2", multi_arch="all"))
    assert [str(i.source.digest) for i in plan.instances] == [
        pairs[arch][0]["digest"] for arch in ("amd64", "arm64", "s390x")]
    assert "the list is rebuilt with its 3 images alone; its digest changes" in plan.notes
    assert any(note.startswith("the list's attestation manifests for ") for note in plan.notes)


def test_lists_repeating_a_list_are_planned_in_linear_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lists that name the list below them six times, six levels deep (46,656 paths to
    one image): planning a copy of this system's image, of some platforms, or of all,
    reads each list once."""
    import spyglass.core.copy_instances as copy_instances_module
    import spyglass.core.copy_planner as copy_planner_module
    import spyglass.core.image as image_module

    builder = LayoutBuilder(tmp_path / "dag")
    current = builder.add_image(ImageSpec(architecture=host_platform().architecture,
                                          variant=host_platform().variant or None))
    image_digest = current["digest"]
    for _level in range(6):
        current = builder.add_index([current] * 6)
    builder.tag(current, "dag")
    calls: list[int] = []
    real = image_module.load_manifest

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        assert len(calls) <= 200, "a repeated list is walked again"
        return real(*args, **kwargs)

    monkeypatch.setattr(image_module, "load_manifest", counted)
    monkeypatch.setattr(copy_planner_module, "load_manifest", counted)
    monkeypatch.setattr(copy_instances_module, "load_manifest", counted)
    for options in (CopyOptions(), CopyOptions(platforms=(host_platform(),)),
                    CopyOptions(multi_arch="all")):
        calls.clear()
        source = open_source(f"oci:{tmp_path / 'dag'}:dag")
        plan = plan_copy(source, MemoryDestination(), options)
        assert {str(i.source.digest) for i in plan.instances} == {image_digest}
        assert len(calls) < 40


def test_a_wait_a_registry_asks_for_inside_a_blob_s_request_is_an_event(
        layout: Path) -> None:
    """A request that waits because the registry asked (Retry-After) says so to the
    copy's events (BlobWaiting), so the window does not take the quiet for a stall; the
    backoff after a refused connection is no wait asked for (the blob's tries count it)."""
    from spyglass.core.copy import BlobWaiting
    from spyglass.core.retry import WAIT_LISTENER, Wait

    options = CopyOptions()
    victim = _biggest_layer(layout, options)

    class AskedToWait(_FlakySource):
        def open_blob(self, descriptor: Descriptor, *, cancel: Any = None) -> Any:
            listener = WAIT_LISTENER.get()
            if descriptor.digest == victim.digest and listener is not None:
                # as the endpoint tells them
                listener(Wait("the registry r.example", 0.7, 2, 4,
                              unreached="connection refused"))
                listener(Wait("the registry r.example", 60.0, 3, 4, asked=120.0))
            return super().open_blob(descriptor, cancel=cancel)

    events: list[Any] = []
    source = AskedToWait(open_source(f"oci:{layout}:latest"), victim.digest, failures=0)
    copy_image(source, MemoryDestination(), options, events=events.append)
    assert [e for e in events if isinstance(e, BlobWaiting)] == [
        BlobWaiting(victim.digest, "the registry r.example", 120.0, 60.0)]
    assert WAIT_LISTENER.get() is None  # (set around each transfer only)


def test_the_name_is_written_last_and_said_before_it_is(layout: Path) -> None:
    """The window says a push stopped from the name's write on "may" have written the
    tag, and before it that the tag is as it was: Naming comes once, after every blob
    and manifest, just before the name."""
    from spyglass.core.copy import BlobDone, ManifestWritten, Naming

    events: list[Any] = []
    top = copy_image(open_source(f"oci:{layout}:latest"), MemoryDestination(),
                     CopyOptions(multi_arch="all"), events=events.append)
    kinds = [type(event) for event in events]
    assert kinds.count(Naming) == 1
    naming = kinds.index(Naming)
    assert all(i < naming for i, kind in enumerate(kinds) if kind in (BlobDone, ManifestWritten))
    assert events[naming] == Naming(top.digest)


@pytest.mark.parametrize(("status", "lost", "refused"), [
    (403, False, True),   # the registry's own refusal: nothing was stored
    (400, False, True),   # MANIFEST_INVALID, an immutable tag
    (403, True, False),   # an earlier try's answer was lost: that try may have written it
    (500, False, False),  # the registry failed part-way: it may have stored it
])
def test_a_name_the_registry_refused_is_said_to_be_as_it_was(
        layout: Path, status: int, lost: bool, refused: bool) -> None:
    """After Naming, a copy stopped "may" have had its tag written; a registry that
    answered the tag's PUT with a refusal did not write it, and the window said "may be
    written … it may have stored the manifest before its answer came" all the same."""
    from spyglass.core.copy import Failed, NameRefused, Naming
    from spyglass.core.errors import RegistryError

    class Refusing(MemoryDestination):
        def commit(self, top: Descriptor, raw: bytes, *,
                   cancel: CancelToken | None = None) -> None:
            error = RegistryError(f"The registry answered {status}.", status=status)
            error.answer_lost = lost
            raise error

    events: list[Any] = []
    with pytest.raises(RegistryError):
        copy_image(open_source(f"oci:{layout}:latest"), Refusing(), events=events.append)
    kinds = [type(event) for event in events]
    naming = kinds.index(Naming)
    assert kinds[naming + 1:] == ([NameRefused, Failed] if refused else [Failed])
    if refused:
        assert events[naming + 1] == NameRefused(events[naming].digest)
