"""The copy engine: plan a copy from any source to any destination, then carry it out.

:func:`plan_copy` reads the source's manifests and decides everything up front:
which instances of a list, which blobs, which conversions (format, layer
compression), and whether the result keeps the source's digests. It raises a
sentence for anything the destination cannot hold before a byte moves.
:func:`execute` then streams every blob once, source → destination, in
parallel across all instances (verified against its digest as it flows),
writes the manifests children first, and commits. Progress is reported as the
frozen dataclass events of :mod:`spyglass.core.copy_events` to a callback,
called from worker threads.

The options and the plan are :mod:`spyglass.core.copy_plan`'s, and planning is
:mod:`spyglass.core.copy_planner`'s; this module carries plans out and is where
callers import the engine from (``__all__``).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import IO, TYPE_CHECKING, Any, Final, cast

from spyglass.core import compression
from spyglass.core.blob_slots import CopySlots
from spyglass.core.cancel import (
    CancelToken,
    check,
    final_stretch,
    interrupts_deferred,
    past_commit,
)
from spyglass.core.copy_attachments import (
    carry_attachments,
)
from spyglass.core.copy_conversions import format_of
from spyglass.core.copy_events import (
    BlobCutOff,
    BlobDone,
    BlobProgress,
    BlobRetried,
    BlobSkipped,
    BlobStarted,
    BlobWaiting,
    BlobWaitingForCopy,
    CopyCancelled,
    CopyEvent,
    DestinationWaiting,
    EventCallback,
    Failed,
    Finished,
    ManifestWritten,
    NameRefused,
    Naming,
    Planned,
)
from spyglass.core.copy_plan import (
    DEFAULT_PARALLEL,
    BlobTask,
    Compression,
    CopyOptions,
    CopyPlan,
    Format,
    InstancePlan,
    MultiArch,
    PlainLayers,
)
from spyglass.core.copy_planner import plan_copy
from spyglass.core.copy_preview import Looked, format_plan, look_at_destination
from spyglass.core.copy_room import check_room
from spyglass.core.digest import CHUNK_SIZE, Digest, VerifyingReader
from spyglass.core.errors import (
    UNREACHED,
    AuthenticationFailed,
    BodyTooLarge,
    Cancelled,
    ConnectionFailed,
    DigestMismatch,
    PolicyRefused,
    RegistryError,
    SpyglassError,
    TokenRenewed,
    out_of_memory,
    upload_cut_off,
)
from spyglass.core.manifest import (
    Descriptor,
    ImageIndex,
)
from spyglass.core.platform import Platform, host_platform
from spyglass.core.referrers import (
    BUILDKIT_REFERENCE_DIGEST,
)
from spyglass.core.retry import (
    TRIES_LEFT,
    WAIT_LISTENER,
    Tries,
    Wait,
    pause,
    wait_after,
    worth_retrying,
)
from spyglass.core.threads import lower_priority
from spyglass.core.transports.base import (
    OUTSIDE_WAIT,
    WAIT_FOR_COPY,
    CanonicalDigests,
    CheckedDestination,
    CommitNotes,
    CommitStoresTop,
    ImageDestination,
    ImageSource,
    LeavesBehind,
    ReplacingDestination,
    TidiesAfter,
    WholeImageHolder,
)

if TYPE_CHECKING:
    from spyglass.core.copy_cosign_tags import Made

log = logging.getLogger(__name__)

PER_HOST_LIMIT: Final = 8
"""At most this many blob transfers talk to one registry host at a time, whatever
``--parallel`` says; a source or destination names its host in ``host``. It
equals the default parallelism: on two cores, 8 transfers from one registry
beat 6 by 40-70 ms of 650 (more of each blob's waits overlap)."""

STOP_WAIT: Final = 10.0
"""Seconds a failed or interrupted copy waits for its other transfers to stop before
it takes the destination back. The cancel reaches them within moments, even when
blocked on a socket; this only bounds a transfer that somehow never checks."""


# ---------------------------------------------------------------------------- execution


def _dump(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _descriptor_json(descriptor: Descriptor, media_type: str, *, docker: bool,
                     entry: bool = False) -> dict[str, Any]:
    """``descriptor`` as a manifest of its format writes it. Docker schema 2 has no
    annotations, artifact types or ``data`` (nor fields it does not know), a platform
    only in a list's ``entry``, and docker and containers/image write its fields in Go's
    struct order (mediaType, size, digest, urls, platform): the same order here makes a
    conversion's digest the one skopeo's gives."""
    if not docker:
        return replace(descriptor, media_type=media_type).to_json()
    out: dict[str, Any] = {"mediaType": media_type, "size": descriptor.size,
                           "digest": str(descriptor.digest)}
    if descriptor.urls:
        out["urls"] = list(descriptor.urls)
    if entry and descriptor.platform is not None:
        out["platform"] = descriptor.platform.to_json(docker=True)
    return out


def _layer_written(
    task: BlobTask, written: dict[tuple[Digest, str | None], Descriptor]
) -> Descriptor:
    """How a converted manifest names a layer. One left where its urls point is named as
    the source names it (the same digest may be copied elsewhere in the list, without
    urls); one whose bytes came along unchanged keeps the urls too, as containers/image
    keeps them (an archive holding it says the same as a layout that does not)."""
    if task.external:
        return _kept_as_go_keeps(task.source, data=False)
    descriptor = _as_source_names_it(task, written[task.key], data=False)
    if task.source.urls and not descriptor.urls and descriptor.digest == task.source.digest:
        return replace(descriptor, urls=task.source.urls)
    return descriptor


_COMPRESSED_BYTES_ANNOTATIONS: Final = (
    "containerd.io/snapshot/stargz/", "io.containers.estargz.",
    "io.github.containers.zstd-chunked.", "io.containers.zstd-chunked.",
    "containerd.io/snapshot/nydus")
"""Prefixes of layer annotations about the compressed bytes themselves (an eStargz or
zstd:chunked table of contents, its position): untrue of a layer recompressed."""

_TOC_ANNOTATIONS: Final = (
    ("io.github.containers.zstd-chunked.manifest-checksum", "zstd:chunked"),
    ("io.containers.zstd-chunked.manifest-checksum", "zstd:chunked"),  # skopeo ≤ 1.9
    ("containerd.io/snapshot/stargz/toc.digest", "eStargz"),
)
"""The annotation that gives a layer's table of contents, and the format it tells."""


def _toc_format(layer: Descriptor) -> str | None:
    """``"zstd:chunked"`` or ``"eStargz"`` for a layer whose annotations give its table
    of contents, else None. The writers of these formats rewrite the tar they compress
    (skopeo 1.9's zstd:chunked writer does, keeping the diff ID of the tar it was given),
    so such a layer may decompress to a tar other than the one its config names."""
    return next((kind for key, kind in _TOC_ANNOTATIONS if key in layer.annotations), None)


def _kept_as_go_keeps(descriptor: Descriptor, *, data: bool) -> Descriptor:
    """``descriptor`` with what of its other fields containers/image keeps when it writes
    a manifest again, so the digest is the one skopeo's copy gives: an OCI manifest's
    config and an OCI index's entries keep their ``data`` (``data=True``: Go's struct has
    the field); a layer is named anew (digest, size, annotations, urls), and a Docker
    schema 2 descriptor has no ``data``; no field Go's structs do not know stays."""
    extra = {"data": descriptor.extra["data"]} if data and "data" in descriptor.extra else {}
    return descriptor if dict(descriptor.extra) == extra else replace(descriptor, extra=extra)


def _as_source_names_it(task: BlobTask, descriptor: Descriptor, *, data: bool) -> Descriptor:
    """``descriptor`` (as the destination took the blob) with the annotations the
    source's descriptor gives it, as containers/image keeps them: a blob uploaded came
    back without them, one found there with them, so the same copy named it two ways.
    A recompressed layer keeps those that do not describe its old bytes. The source's
    ``data`` comes along with ``data`` when the blob is the same
    (:meth:`~spyglass.core.manifest.Descriptor.with_blob`, :func:`_kept_as_go_keeps`)."""
    annotations = task.source.annotations
    if descriptor.digest != task.source.digest:
        annotations = {key: value for key, value in annotations.items()
                       if not key.startswith(_COMPRESSED_BYTES_ANNOTATIONS)}
    extra = _kept_as_go_keeps(task.source.with_blob(descriptor.digest, descriptor.size),
                              data=data).extra
    if dict(descriptor.annotations) == dict(annotations) and descriptor.extra == extra:
        return descriptor
    return replace(descriptor, annotations=annotations, extra=extra)


def _config_written(
    instance: InstancePlan, written: dict[tuple[Digest, str | None], Descriptor]
) -> Descriptor:
    """How a manifest written again names its config, as containers/image does
    (``internal/image/oci.go``, ``docker_schema2.go``): an OCI manifest of an OCI one
    keeps the source's descriptor as Go's struct holds it (urls, annotations, data,
    platform, artifactType); a Docker schema 2 manifest keeps its urls, all that Go's
    Schema2Descriptor holds besides type, size and digest (of an OCI source too); an
    OCI manifest converted from Docker names its config anew (type, digest, size), as
    Go builds that descriptor from the config it converts."""
    task = instance.config
    descriptor = written[task.key]
    from_oci = format_of(instance.source.media_type) == "oci"
    into_oci = format_of(instance.media_type) == "oci"
    if into_oci and not from_oci:
        return Descriptor(descriptor.media_type, descriptor.digest, descriptor.size)
    named = _as_source_names_it(task, descriptor, data=from_oci)
    source = task.source
    if named.digest != source.digest:
        return named
    if into_oci:
        return replace(named, urls=source.urls, platform=source.platform,
                       artifact_type=source.artifact_type)
    return replace(named, urls=source.urls)


def _entry_written(entry: Descriptor, digest: Digest, size: int, *, from_oci: bool,
                   into_oci: bool) -> Descriptor:
    """How a list written again names an image of it (now ``digest``, ``size``), as
    containers/image does (``internal/manifest/oci_index.go``,
    ``docker_schema2_list.go``): an OCI index of an OCI one keeps the entry as Go's
    struct holds it (its ``data`` while it names the same bytes; Go keeps that of an
    image written again too, which then no longer matches it); otherwise urls and a
    platform are all there is: a Docker entry always has one in Go (an empty one where
    its JSON had none; Docker's ``features`` kept into a Docker list), and an OCI entry
    without one going into a Docker list is given the running system's OS and
    architecture, as Go gives it (``runtime.GOOS``, ``runtime.GOARCH``)."""
    named = entry.with_blob(digest, size)
    if from_oci and into_oci:
        return _kept_as_go_keeps(named, data=True)
    platform = named.platform
    if platform is None:
        host = host_platform()
        platform = Platform(host.os, host.architecture) if from_oci else Platform("", "")
    elif from_oci and platform.features:
        platform = replace(platform, features=())  # (no field of OCI's platform)
    return Descriptor(named.media_type, named.digest, named.size, urls=named.urls,
                      platform=platform)


def _instance_manifest(
    instance: InstancePlan, written: dict[tuple[Digest, str | None], Descriptor]
) -> tuple[bytes, Digest]:
    if not instance.changes:
        return instance.source.raw, instance.source.digest
    source = json.loads(instance.source.raw)
    docker = format_of(instance.media_type) != "oci"
    data: dict[str, Any] = {"schemaVersion": 2, "mediaType": instance.media_type}
    data["config"] = _descriptor_json(_config_written(instance, written),
                                      instance.config.media_type, docker=docker)
    data["layers"] = [
        _descriptor_json(_layer_written(task, written), task.media_type, docker=docker)
        for task in instance.layers
    ]
    if not docker:
        for key in ("artifactType", "subject", "annotations"):
            if key in source:
                data[key] = source[key]
        if "mediaType" not in source:
            data["mediaType"] = instance.media_type
    raw = _dump(data)
    return raw, Digest.of(raw)


def _list_manifest(
    plan: CopyPlan, written_instances: list[tuple[InstancePlan, bytes, Digest]]
) -> bytes:
    assert isinstance(plan.top, ImageIndex) and plan.list_media_type is not None
    if plan.list_is_source:
        return plan.top.raw
    source = json.loads(plan.top.raw)
    docker = format_of(plan.list_media_type) != "oci"
    moved = {str(instance.source.digest): str(digest)
             for instance, _raw, digest in written_instances}
    entries = []
    from_oci = format_of(plan.top.media_type) == "oci"
    for instance, raw, digest in written_instances:
        written = (_entry_written(instance.entry, digest, len(raw), from_oci=from_oci,
                                  into_oci=not docker)
                   if instance.entry else Descriptor(instance.media_type, digest, len(raw)))
        if written.annotations.get(BUILDKIT_REFERENCE_DIGEST) in moved:
            # a BuildKit attestation entry names its image by digest: the new one
            annotations = dict(written.annotations)
            annotations[BUILDKIT_REFERENCE_DIGEST] = moved[annotations[BUILDKIT_REFERENCE_DIGEST]]
            written = replace(written, annotations=annotations)
        entries.append(_descriptor_json(written, instance.media_type, docker=docker,
                                        entry=True))
    data: dict[str, Any] = {"schemaVersion": 2, "mediaType": plan.list_media_type,
                            "manifests": entries}
    if not docker:
        for key in ("annotations", "subject", "artifactType"):
            if key in source:
                data[key] = source[key]
    return _dump(data)


class _HostLimits:
    """A semaphore per registry host, so parallel transfers do not swamp one registry."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._semaphores: dict[str, threading.Semaphore] = {}

    def get(self, *parties: object) -> list[threading.Semaphore]:
        hosts = sorted({h for p in parties if isinstance(h := getattr(p, "host", None), str)})
        with self._lock:
            return [self._semaphores.setdefault(h, threading.Semaphore(self._limit))
                    for h in hosts]


class _Turn:
    """What one blob transfer holds while it runs: a slot of the copies run together
    (:attr:`CopyOptions.blob_slots`), then this copy's bounds (its registries', its
    processors'), taken in that order in every copy. Given back while the transfer waits
    for another copy's upload of the blob (:data:`~spyglass.core.transports.base.
    WAIT_FOR_COPY`), which needs none of them, and taken again after."""

    def __init__(self, shared: CopySlots | None, semaphores: list[threading.Semaphore],
                 cancel: CancelToken) -> None:
        self._shared = shared
        self._semaphores = semaphores
        self._cancel = cancel
        self._held = False

    def take(self) -> None:
        """Wait for them (:class:`~spyglass.core.errors.Cancelled` takes none along)."""
        if self._shared is not None:
            self._shared.take(self._cancel)
        for semaphore in self._semaphores:
            semaphore.acquire()
        self._held = True

    def give(self) -> None:
        """Give them back, if held."""
        if not self._held:
            return
        self._held = False
        for semaphore in reversed(self._semaphores):
            semaphore.release()
        if self._shared is not None:
            self._shared.give()

    def aside(self, waiting: bool) -> None:
        """Given back while the transfer waits for another copy, taken again after."""
        if waiting:
            self.give()
        else:
            self.take()


class _Recompressor:
    """Reads a compressed source stream, checks its uncompressed digest, yields the
    target compression; a binary reader for put_blob.

    zstd compresses straight into the buffer :meth:`readinto` is given (its
    stream reader pulls the uncompressed bytes); gzip and no compression
    hand over the pieces their compressor returns.
    """

    def __init__(
        self,
        stream: Any,
        target: Compression,
        level: int | None,
        diff_id: Digest | None,
        what: str,
        toc: str | None = None,
    ) -> None:
        self._source = stream
        self._toc = toc  # the layer's table-of-contents format (see _toc_format)
        # unbuffered: each decompressed piece goes on as it is, never copied into a buffer
        # a layer is decompressed as its bytes say, not as its media type says (a
        # "tar+gzip" that is a plain tar, a "tar" that is gzip), as containers/image
        # detects it; the diff ID still checks what comes out
        self._plain = compression.open_decompressed(stream, None, what=what, buffered=False)
        self._diff = diff_id.hasher() if diff_id is not None else hashlib.sha256()
        self._diff_id = diff_id
        self._what = what
        self._checked = False
        # compressed pieces not yet read, and how much of the first was: never
        # concatenated, since copying them around under the GIL was the cost
        self._pieces: deque[bytes] = deque()
        self._offset = 0
        self._done = False
        self._zstd: Any = None
        self._compressor: Any = None
        if target == "zstd":
            import zstandard

            self._zstd = zstandard.ZstdCompressor(
                level=level if level is not None else 3
            ).stream_reader(cast("IO[bytes]", _Pull(self._next_plain)),
                            read_size=compression.READ_SIZE,
                            closefd=False)
        else:
            self._compressor = _compressor(target, level)

    def readinto(self, buffer: memoryview | bytearray, /) -> int:
        """Like :meth:`read`, into ``buffer``: no slice of a piece is made to be copied."""
        view = buffer if isinstance(buffer, memoryview) else memoryview(buffer)
        if not len(view):
            return 0
        if self._zstd is not None:
            return int(self._zstd.readinto(view))
        self._produce()
        if not self._pieces:
            return 0
        first = self._pieces[0]
        count = min(len(view), len(first) - self._offset)
        view[:count] = memoryview(first)[self._offset : self._offset + count]
        self._offset += count
        if self._offset >= len(first):
            self._pieces.popleft()
            self._offset = 0
        return count

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` compressed bytes (a short read is not the end; ``b""`` is)."""
        if n is None or n < 0:
            parts = []
            while piece := self.read(CHUNK_SIZE):
                parts.append(piece)
            return b"".join(parts)
        if self._zstd is not None:
            return bytes(self._zstd.read(n))
        self._produce()
        if not self._pieces or n == 0:
            return b""
        first = self._pieces[0]
        if self._offset == 0 and len(first) <= n:
            return self._pieces.popleft()
        data = first[self._offset : self._offset + n]
        self._offset += len(data)
        if self._offset >= len(first):
            self._pieces.popleft()
            self._offset = 0
        return data

    def _next_plain(self, size: int) -> bytes:
        """The next uncompressed bytes, hashed for the diff ID; ``b""`` at the end,
        once the source's digest and the diff ID are checked."""
        chunk = self._plain.read(size)
        if chunk:
            self._diff.update(chunk)
            return chunk
        if not self._checked:
            # the uncompressed stream ended: drain the source so its digest is checked
            while self._source.read(CHUNK_SIZE):
                pass
            if self._diff_id is not None and self._diff.hexdigest() != self._diff_id.hex:
                raise self._mismatch(f"{self._diff_id.algorithm}:{self._diff.hexdigest()}")
            self._checked = True
        return b""

    def _mismatch(self, found: str) -> DigestMismatch:
        """The refusal of a layer that decompressed to ``found``, not its diff ID: for a
        zstd:chunked or eStargz one, that its writer rewrote the tar (nothing is corrupt)
        and that the image copies with its layers as stored."""
        if self._toc is None:
            return DigestMismatch(
                f"{self._what} decompresses to {found}, not the diff ID {self._diff_id} its "
                "config promises; it is not copied.")
        said = (f"{self._what} is a {self._toc} layer whose tar was rewritten as it was "
                "compressed (skopeo 1.9 writes zstd:chunked so) and decompresses to "
                f"{found}, not the diff ID {self._diff_id} its config names: recompressed or "
                "uncompressed it would not match its config, so it is not copied; ")
        return DigestMismatch(
            said + "copy the image with its layers as they are stored, in OCI's format.",
            on_command_line=said + "copy it as stored: leave out --dest-compress-format, "
            "--dest-decompress and --format v2s2, and do not copy it into a "
            "docker-archive:.")

    def _produce(self) -> None:
        """Compress until a piece is ready or the source ended."""
        while not self._pieces and not self._done:
            chunk = self._next_plain(CHUNK_SIZE)
            if chunk:
                if piece := self._compressor.compress(chunk):
                    self._pieces.append(piece)
                continue
            if piece := self._compressor.flush():
                self._pieces.append(piece)
            self._done = True

    def close(self) -> None:
        if self._zstd is not None:
            self._zstd.close()
        self._plain.close()
        self._source.close()


class _Counted:
    """A stream that tells ``progress`` how many of its bytes each read took."""

    def __init__(self, inner: Any, progress: Callable[[int], None]) -> None:
        self._inner = inner
        self._progress = progress

    def read(self, n: int = -1, /) -> bytes:
        data: bytes = self._inner.read(n)
        if data:
            self._progress(len(data))
        return data

    def close(self) -> None:
        self._inner.close()


class _Pull:
    """An object with ``read(size)`` over a function: what zstandard's stream reader pulls from."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self.read = read


class _Identity:
    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


def _compressor(target: Compression, level: int | None) -> Any:
    """A compressor object for gzip or none (zstd goes through its stream reader)."""
    if target == "none":
        return _Identity()
    return compression.gzip_compressor(level)


def execute(
    plan: CopyPlan,
    source: ImageSource,
    destination: ImageDestination,
    options: CopyOptions | None = None,
    *,
    events: EventCallback | None = None,
    cancel: CancelToken | None = None,
    check_writable: bool = False,
) -> Descriptor:
    """Carry out ``plan``; return the descriptor of what was written at the top.

    On failure or cancellation the destination is aborted (nothing committed)
    and the error is raised after a :class:`Failed` / :class:`CopyCancelled` event.
    ``events`` is called from worker threads; it must be thread-safe and quick.
    With ``check_writable``, a destination that can tell whether it may be written
    (:class:`CheckedDestination`: a registry) is asked before the first blob, unless
    the copy writes nothing (:func:`held_already`): a refusal is said once, not as each
    blob's retries; and one on this machine's disks is refused where its disk has too
    little room for the copy (:func:`~spyglass.core.copy_room.check_room`).
    """
    options = options or CopyOptions()
    emit = events or (lambda event: None)
    cancel = cancel or CancelToken()
    # an interrupt that comes once the destination is at its point of no return (see
    # in_place_from_here) waits for Finished: the copy ends whole and said, then stops
    with final_stretch():
        return _execute_told(plan, source, destination, options, emit, cancel,
                             check_writable)


def _execute_told(
    plan: CopyPlan,
    source: ImageSource,
    destination: ImageDestination,
    options: CopyOptions,
    emit: EventCallback,
    cancel: CancelToken,
    check_writable: bool,
) -> Descriptor:
    """:func:`execute`, within its final stretch."""
    try:
        # (before the plan is told: a registry that cannot be reached or written says so
        # before "Copying N blobs")
        before = _named_before(destination, cancel)
        held = _held(plan, before, options)
        if check_writable and not held and isinstance(destination, CheckedDestination):
            destination.check_writable(held=plan.check_blob, cancel=cancel)
        if check_writable and not held:  # a disk too small says so before the first byte
            plan = check_room(plan, destination)
        emit(Planned(plan, held))
        wrote_attached = False
        if held:
            top, wrote_attached = _held_already(plan, source, destination, options, emit,
                                                cancel)
        else:
            top = _execute(plan, source, destination, options, emit, cancel)
    except BaseException as exc:
        past_commit()  # (a third interrupt may end a take-back stuck on something outside)
        with interrupts_deferred():  # taken back whole, whatever Ctrl+C says meanwhile
            cancel.cancel()
            destination.abort()
        left = destination.left_behind if isinstance(destination, LeavesBehind) else None
        if isinstance(exc, Cancelled):
            emit(CopyCancelled(left))
        elif isinstance(exc, SpyglassError):
            _say_what_stays(exc, destination)
            emit(Failed(str(exc), left))
        elif (short := out_of_memory(exc)) is not None:
            _say_what_stays(short, destination)
            emit(Failed(str(short), left))
            raise short from exc
        raise
    notes = destination.commit_notes if isinstance(destination, CommitNotes) else ()
    emit(Finished(top.digest, top.media_type, before, held, wrote_attached, notes))
    past_commit()
    if isinstance(destination, TidiesAfter):  # said in place first: nothing slow before it
        destination.tidy()
    return top


def held_already(plan: CopyPlan, destination: ImageDestination, options: CopyOptions, *,
                 cancel: CancelToken | None = None) -> bool:
    """Whether the copy would write nothing: the destination's name (a registry's tag)
    names the very image it would write already. Asked again when the copy runs; this
    answer only spares a check of write access a copy that writes nothing does not
    need (a pull-only account copying what is there already)."""
    return _held(plan, _named_before(destination, cancel or CancelToken()), options)


def _held(plan: CopyPlan, before: Digest | None, options: CopyOptions) -> bool:
    unchanged = plan.unchanged_top
    return (unchanged is not None and before == unchanged.digest
            and not options.force_recursive)


def _named_before(destination: ImageDestination, cancel: CancelToken) -> Digest | None:
    """What the name of a destination that holds images whole (a registry) names before
    the copy; None where it names nothing, or cannot say what (what it answers is not
    understood: the copy writes, and meets any refusal then). A registry that cannot be
    reached, refuses the credentials or is blocked says so here, once: the copy could
    not go on either."""
    if not isinstance(destination, WholeImageHolder):
        return None
    try:
        return destination.named_now(cancel=cancel)
    except _UNREACHED:
        raise
    except SpyglassError as exc:
        log.info("Cannot tell what %s names now: %s", destination.description, exc)
        return None


_UNREACHED: Final = (*UNREACHED, PolicyRefused, AuthenticationFailed)
"""What asking a destination registry what its tag names meets that the copy would meet
as well (said at once, not after each blob's retries): a registry that cannot be reached
(:data:`~spyglass.core.errors.UNREACHED`), or refuses the credentials."""


def _held_already(
    plan: CopyPlan,
    source: ImageSource,
    destination: ImageDestination,
    options: CopyOptions,
    emit: EventCallback,
    cancel: CancelToken,
) -> tuple[Descriptor, bool]:
    """The copy of an image whose name at the destination names it already, where a
    manifest is held only with everything it names (a registry): every blob is there,
    every manifest and the name too, so nothing is written (as crane and regctl skip
    it). What is attached to the image is carried along all the same: it may have
    gained a signature since. Its top descriptor, and whether anything attached was
    written."""
    unchanged = plan.unchanged_top
    assert unchanged is not None
    for task in plan.blobs:
        emit(BlobSkipped(task.source.digest, task.source.size, "exists"))
    wrote = bool(plan.attachments) and carry_attachments(
        plan.attachments, source, destination,
        _AttachedBlobs(source, destination, options, emit, cancel),
        trust_held=_trusts_held(destination, options), cancel=cancel)
    check(cancel)
    media_type = plan.list_media_type or plan.instances[0].media_type
    return Descriptor(media_type, unchanged.digest, len(unchanged.raw)), wrote


def _trusts_held(destination: ImageDestination, options: CopyOptions) -> bool:
    """Whether what the destination holds already may be left as it is, unasked about:
    a manifest held by a registry is held with everything it names (a layout's
    ``index.json`` entry is no proof that its files are there), unless
    ``--force-recursive`` asks for everything again (a registry that lost blobs)."""
    return isinstance(destination, WholeImageHolder) and not options.force_recursive


def _say_tries(error: SpyglassError, tries: int) -> None:
    """A connection that failed (or a token that was refused) each time it was tried says
    how often it was."""
    said = f" (tried {tries} times)"
    for name in ("message", "on_command_line"):
        text = getattr(error, name)
        if text and "times)" not in text:
            setattr(error, name, (text[:-1] + said + ".") if text.endswith(".") else text + said)


def _say_what_stays(error: SpyglassError, destination: ImageDestination) -> None:
    """A copy that failed before it replaced an archive or ``dir:`` image says the one
    there is as it was (its plan's note said it would be replaced)."""
    replaces = (destination.replaces if isinstance(destination, ReplacingDestination)
                else None)
    if replaces is None or "held before" in error.message or "old image" in error.message:
        return  # nothing there, or the sentence says already where it is
    stays = f" {replaces[0].upper()}{replaces[1:]} is left as it was."
    error.message += stays
    if error.on_command_line is not None:
        error.on_command_line += stays


def _processors() -> int:
    """How many blobs are recompressed at once: one per processor (two at least).
    Recompressing is bound by the processors; more at once only crowd their caches
    (a zstd compressor's tables each) and the interpreter's lock: on two cores eight
    at once took a fifth more processor time than two."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 2
    return max(2, count)


def _execute(
    plan: CopyPlan,
    source: ImageSource,
    destination: ImageDestination,
    options: CopyOptions,
    emit: EventCallback,
    cancel: CancelToken,
) -> Descriptor:
    written: dict[tuple[Digest, str | None], Descriptor] = {
        task.key: task.source for instance in plan.instances for task in instance.layers
        if task.external
    }  # left where their urls point: the manifests name them as they are
    limits = _HostLimits(PER_HOST_LIMIT)
    processors = threading.Semaphore(_processors())
    lock = threading.Lock()

    def transfer(task: BlobTask) -> None:
        check(cancel)
        result = _made_before(task, destination, options, emit, cancel)
        if result is None:
            semaphores = limits.get(source, destination)
            if task.recompress is not None:
                semaphores.insert(0, processors)
            turn = _Turn(options.blob_slots, semaphores, cancel)
            turn.take()
            try:
                result = _transfer_blob(task, source, destination, options, emit, cancel,
                                        aside=turn.aside)
            finally:
                turn.give()
        with lock:
            written[task.key] = result

    pool = ThreadPoolExecutor(max_workers=max(1, options.parallel),
                              thread_name_prefix="spyglass-copy",
                              initializer=lower_priority if options.background else None)
    futures: list[Future[None]] = []
    try:
        # recompressions last: one waiting for a processor holds a pool thread, which
        # the plain transfers behind it would wait for
        for task in sorted(plan.blobs, key=lambda task: task.recompress is not None):
            # one by one, and Ctrl+C held off from each submit until its future is kept:
            # landing inside submit (which waits for a new thread to start) it lost a
            # transfer already running, which then wrote on after the take-back
            with interrupts_deferred():
                futures.append(pool.submit(transfer, task))
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        errors = [error for f in done if (error := f.exception()) is not None]
        if errors:
            raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
    except BaseException:
        # A transfer failed, or Ctrl+C in this thread: stop the others at once, and let
        # them end before the destination is taken back, which a second Ctrl+C must not
        # skip (a transfer still writing could put a blob back after the take-back)
        with interrupts_deferred():
            cancel.cancel()
            for future in futures:
                future.cancel()
            stopped = not wait(futures, timeout=STOP_WAIT).not_done
            pool.shutdown(wait=stopped, cancel_futures=True)
            destination.abort()  # here, in the same held-off stretch (execute's is a no-op)
        raise
    pool.shutdown()

    check(cancel)
    # children before the lists naming them (a registry refuses a list whose manifests
    # it lacks): the images, then the nested lists and index-only children, children
    # first, then the top list
    # the top is stored by the commit alone where that stores it whole (a registry's tag),
    # unless attachments are written in between: they come before the name, their
    # subject already stored
    by_commit = not plan.attachments and isinstance(destination, CommitStoresTop)
    deferred: Descriptor | None = None

    def put(raw: bytes, media_type: str, digest: Digest, *, top: bool) -> None:
        nonlocal deferred
        if top and by_commit and cast(CommitStoresTop, destination).commit_stores(
                raw, media_type, digest):
            deferred = Descriptor(media_type, digest, len(raw))
            return
        destination.put_manifest(raw, media_type, digest, cancel=cancel)
        emit(ManifestWritten(digest, media_type))

    results: list[tuple[InstancePlan, bytes, Digest]] = []
    alone = plan.list_media_type is None
    canonical = (destination.manifest_digest_algorithm
                 if isinstance(destination, CanonicalDigests) else None)
    for instance in plan.instances:
        raw, digest = _instance_manifest(instance, written)
        if alone and canonical is not None and digest.algorithm != canonical:
            digest = Digest.of(raw, canonical)  # (named so there: a registry's own name)
        put(raw, instance.media_type, digest, top=alone)
        results.append((instance, raw, digest))
    for raw, media_type, digest in plan.extra_manifests:
        put(raw, media_type, digest, top=False)
    if plan.list_media_type is not None:
        raw = _list_manifest(plan, results)
        # the list as it is keeps the digest it is named by (its entries' sha512 too)
        digest = plan.top.digest if plan.list_is_source else Digest.of(raw)
        put(raw, plan.list_media_type, digest, top=True)
        top = Descriptor(plan.list_media_type, digest, len(raw))
    else:
        instance, raw, digest = results[0]
        top = Descriptor(instance.media_type, digest, len(raw))
    if plan.attachments:

        carry_attachments(plan.attachments, source, destination,
                          _AttachedBlobs(source, destination, options, emit, cancel),
                          trust_held=_trusts_held(destination, options), cancel=cancel)
    check(cancel)
    emit(Naming(top.digest))
    listening = OUTSIDE_WAIT.set(lambda what: emit(DestinationWaiting(what)))
    try:
        destination.commit(top, raw, cancel=cancel)
    except RegistryError as exc:
        if 400 <= exc.status < 500 and not exc.answer_lost:
            emit(NameRefused(top.digest))  # the registry's own answer: nothing stored
        raise
    finally:
        OUTSIDE_WAIT.reset(listening)
    if deferred is not None:
        emit(ManifestWritten(deferred.digest, deferred.media_type))
    return top


class _AttachedBlobs:
    """How attached manifests' blobs move (a :class:`~spyglass.core.copy_attachments.
    BlobMover`): through the engine's own transfer, verified and retried like any blob."""

    def __init__(self, source: ImageSource, destination: ImageDestination,
                 options: CopyOptions, emit: EventCallback, cancel: CancelToken) -> None:
        self._source = source
        self._destination = destination
        self._options = options
        self._emit = emit
        self._cancel = cancel

    def transfer(self, blob: Descriptor, made: Made, *, emit: EventCallback | None = None,
                 ) -> None:
        from spyglass.core.copy_cosign_tags import serving_made_blobs

        _transfer_blob(BlobTask(blob, blob.media_type), serving_made_blobs(self._source, made),
                       self._destination, self._options, emit or self._emit, self._cancel)

    def extra(self, blob: Descriptor, made: Made) -> None:
        self.transfer(blob, made, emit=lambda event: None)

    def unneeded(self, blob: Descriptor) -> None:
        self._emit(BlobSkipped(blob.digest, blob.size, "unneeded"))

    def there(self, blob: Descriptor) -> None:
        self._emit(BlobSkipped(blob.digest, blob.size, "exists"))


def recompression_target(task: BlobTask, options: CopyOptions) -> str:
    """What a recompression made is remembered under, besides the source digest: the
    compression, its level, and the diff ID it was checked against (a config promising
    another one must have the layer checked again)."""
    level = options.compression_level
    return f"{task.recompress}:{'default' if level is None else level}:{task.diff_id}"


def _made_before(
    task: BlobTask,
    destination: ImageDestination,
    options: CopyOptions,
    emit: EventCallback,
    cancel: CancelToken,
) -> Descriptor | None:
    """A recompression done before (the blob cache remembers what the blob became) whose
    result the destination has, or can mount: reused, not made again. None otherwise."""
    if task.recompress is None:
        return None
    from spyglass.core.blobcache import default_cache

    cache = default_cache()
    target = recompression_target(task, options)
    known = cache.recompressed(task.source.digest, target)
    if known is None:
        return None
    result = Descriptor(task.media_type, known[0], known[1])
    try:
        how = destination.reuse_blob(result, cancel=cancel, sending=False)
    except UNREACHED:  # (the transfer would meet it too, after its retries again)
        raise
    except SpyglassError as exc:  # only a hint: asking about it must not fail the copy
        log.info("Could not look for %s at %s (%s); recompressing %s", result.digest,
                 destination.description, exc, task.source.digest)
        return None
    if how is None:
        return None
    cache.record_recompressed(task.source.digest, target, result.digest, result.size)
    emit(BlobSkipped(task.source.digest, task.source.size, how, result.digest))
    return result


def _transfer_blob(
    task: BlobTask,
    source: ImageSource,
    destination: ImageDestination,
    options: CopyOptions,
    emit: EventCallback,
    cancel: CancelToken,
    *,
    aside: Callable[[bool], None] | None = None,
) -> Descriptor:
    """One blob, started again from its first byte after a failure worth retrying
    (what the source or destination half-wrote is discarded by them). A token the
    registry stopped taking (:class:`TokenRenewed`) is worth one more attempt with a
    new one; that refused as well ends it with the registry's refusal. ``aside`` is told
    True as the destination begins to wait for another copy's upload of the blob, and
    False once that wait is over (what the transfer holds is given back meanwhile)."""
    attempts = 1 + max(0, options.retry_times)
    digest = task.source.digest

    def waits(wait: Wait) -> None:
        # a wait a registry asks for, inside a request, is said as one (not as a stall);
        # a backoff after a refused connection is no wait asked for: the request's note
        # says it, and its failure counts against the blob's tries
        if wait.asked is not None:
            emit(BlobWaiting(digest, wait.who, wait.asked, wait.wait))

    def waits_for_copy(host: str | None) -> None:
        # said before what the transfer holds is taken again: a wait for a slot the
        # other copies hold is the one the tooltip says, not the other copy's upload
        emit(BlobWaitingForCopy(digest, host))
        if aside is not None:
            aside(host is not None)

    listening = WAIT_LISTENER.set(waits)
    copy_waits = WAIT_FOR_COPY.set(waits_for_copy)
    renewed = False
    try:
        attempt = 1
        while True:
            # every request of the attempt counts: a resume, a look-up, an upload's
            tries = Tries(attempts - attempt + 1, attempts)
            budget = TRIES_LEFT.set(tries)
            try:
                return _transfer_blob_once(task, source, destination, options, emit, cancel)
            except SpyglassError as error:
                if cancel.cancelled and not isinstance(error, Cancelled):
                    raise Cancelled() from error  # what broke was the cancel itself
                if isinstance(error, BodyTooLarge) and error.smaller is not None:
                    # the destination reshapes the next attempt; its sizes run out by
                    # themselves, so this is not one of the --retry-times
                    emit(BlobRetried(task.source.digest, attempt, attempts, str(error),
                                     counted=False))
                    continue
                if isinstance(error, TokenRenewed):
                    if renewed and error.refusal is not None:
                        # the token fetched after the first refusal was refused too: no
                        # expiry, but a registry that takes none (its own words say why)
                        raise error.refusal from error
                    renewed = True
                # tries the failure already stands for (a request asked again, a download
                # resumed) come out of the same --retry-times: N in all, not N of each
                # (and those of requests asked again and then answered: tries.recovered)
                attempt += max(0, error.attempts - 1) + tries.recovered
                if attempt >= attempts or not worth_retrying(error):
                    if attempt > 1 and isinstance(error, ConnectionFailed | TokenRenewed):
                        _say_tries(error, attempt)
                    raise
                attempt += 1
                emit(BlobRetried(task.source.digest, attempt, attempts, str(error)))
                pause(wait_after(error, attempt - 1), cancel)
            finally:
                TRIES_LEFT.reset(budget)
    finally:
        WAIT_FOR_COPY.reset(copy_waits)
        WAIT_LISTENER.reset(listening)


def _transfer_blob_once(
    task: BlobTask,
    source: ImageSource,
    destination: ImageDestination,
    options: CopyOptions,
    emit: EventCallback,
    cancel: CancelToken,
) -> Descriptor:
    descriptor = task.source
    if task.recompress is None:
        how = destination.reuse_blob(replace(descriptor, media_type=task.media_type),
                                     cancel=cancel)
        if how is not None:
            emit(BlobSkipped(descriptor.digest, descriptor.size, how))
            return replace(descriptor, media_type=task.media_type)
    # a transfer that waited for its turn (a pool thread, a processor) while the copy was
    # stopped starts no more: no "Copying blob" after Ctrl+C
    cancel.check()
    emit(BlobStarted(descriptor.digest, descriptor.size, descriptor.media_type))
    done = 0

    def progress(count: int) -> None:
        nonlocal done
        done += count
        emit(BlobProgress(descriptor.digest, done, descriptor.size))

    if task.data is not None:  # made by the plan
        stream = VerifyingReader(io.BytesIO(task.data), descriptor.digest,
                                 descriptor.size, cancel=cancel)
    else:
        # a foreign layer the source does not hold, for a destination that cannot refer
        # to its urls: from where they point, as containers/image fetches it
        from spyglass.core.transports.external import open_layer_blob

        stream = open_layer_blob(source, descriptor, cancel=cancel)
    try:
        if task.recompress is None:
            written = destination.put_blob(
                stream, media_type=task.media_type, digest=descriptor.digest,
                size=descriptor.size, cancel=cancel, progress=progress,
            )
        else:
            what = f"The layer {descriptor.digest}"
            if task.diff_id is not None and isinstance(stream, VerifyingReader):
                # the diff ID checks the content; the compressed bytes are not kept
                stream.skip_digest()
            # the new size is not known ahead: progress counts the source bytes read
            reader = _Recompressor(
                _Counted(stream, progress), task.recompress, options.compression_level,
                task.diff_id, what, _toc_format(descriptor),
            )
            written = destination.put_blob(
                reader, media_type=task.media_type, digest=None, size=None,
                cancel=cancel, progress=None,
            )
    except BaseException as exc:
        dropped = upload_cut_off(exc)
        if dropped is not None:  # what the registry did with what it had received
            emit(BlobCutOff(descriptor.digest, dropped))
        raise
    finally:
        stream.close()
    written = replace(written, media_type=task.media_type)
    if task.recompress is not None:
        from spyglass.core.blobcache import default_cache

        default_cache().record_recompressed(
            descriptor.digest, recompression_target(task, options), written.digest,
            written.size)
    emit(BlobDone(descriptor.digest, written, task.recompress is not None))
    return written


def copy_image(
    source: ImageSource,
    destination: ImageDestination,
    options: CopyOptions | None = None,
    *,
    events: EventCallback | None = None,
    cancel: CancelToken | None = None,
) -> Descriptor:
    """Plan and execute in one call."""
    plan = plan_copy(source, destination, options, cancel=cancel)
    return execute(plan, source, destination, options, events=events, cancel=cancel)


__all__: Sequence[str] = [
    "DEFAULT_PARALLEL",
    "BlobCutOff",
    "BlobDone",
    "BlobProgress",
    "BlobRetried",
    "BlobSkipped",
    "BlobStarted",
    "BlobTask",
    "BlobWaiting",
    "BlobWaitingForCopy",
    "Compression",
    "CopyCancelled",
    "CopyEvent",
    "CopyOptions",
    "CopyPlan",
    "DestinationWaiting",
    "EventCallback",
    "Failed",
    "Finished",
    "Format",
    "InstancePlan",
    "Looked",
    "ManifestWritten",
    "MultiArch",
    "NameRefused",
    "Naming",
    "PlainLayers",
    "Planned",
    "copy_image",
    "execute",
    "format_plan",
    "held_already",
    "look_at_destination",
    "plan_copy",
]
