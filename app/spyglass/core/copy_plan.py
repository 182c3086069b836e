"""What a copy will do: what a person chose (:class:`CopyOptions`) and everything
the copy will do, decided before a byte moves (:class:`CopyPlan`, made of an
:class:`InstancePlan` per image and a :class:`BlobTask` per blob).

:func:`~spyglass.core.copy_planner.plan_copy` makes the plan;
:func:`~spyglass.core.copy.execute` then carries it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from spyglass.core import media
from spyglass.core.blob_slots import CopySlots
from spyglass.core.copy_attachments import (
    AttachmentTask,
)
from spyglass.core.digest import Digest
from spyglass.core.manifest import (
    AnyManifest,
    Descriptor,
    ImageIndex,
    ImageManifest,
)
from spyglass.core.platform import Platform

Format = Literal["oci", "v2s2"]
Compression = Literal["gzip", "zstd", "none"]
MultiArch = Literal["system", "all", "index-only"]

DEFAULT_PARALLEL: Final = 8

PlainLayers = Literal["auto", "keep", "compress"]


@dataclass(frozen=True)
class CopyOptions:
    """What ``spyglass copy`` and the copy dialog let a person choose."""

    platforms: tuple[Platform, ...] = ()
    """Instances of a list to copy; several are written as a list of just them."""
    instances: tuple[Digest, ...] = ()
    """Instances of a list to copy by the digest of their manifest, beside ``platforms``
    (as containers/image's ``Options.Instances``): an image without a platform, which
    no platform chooses. A digest the list (or a list nested in it) does not name is
    refused; with neither these nor ``platforms``, ``multi_arch`` chooses. A source that
    is no list is copied as it is."""
    multi_arch: MultiArch = "system"
    """``system``: the instance for this machine (or ``platforms``); ``all``: the whole
    list; ``index-only``: the list manifest alone."""
    format: Format | None = None
    compression: Compression | None = None
    compression_level: int | None = None
    """The level of what is compressed (-1 and 0: gzip's and zstd's default), checked
    against the compression the plan uses (:data:`COMPRESSION_LEVELS`)."""
    preserve_digests: bool = False
    parallel: int = DEFAULT_PARALLEL
    remove_signatures: bool = False
    """Leave signatures, attestations, SBOMs and other referrers behind."""
    plain_layers: PlainLayers = "auto"
    """What becomes of uncompressed layers when no ``compression`` is asked for:
    ``auto`` gzips them where the destination wants compressed layers (a registry, an
    OCI layout), ``keep`` leaves them (skopeo's ``--dest-oci-accept-uncompressed-layers``),
    ``compress`` gzips them for any destination that keeps compressed layers
    (skopeo's ``--dest-compress`` for ``dir:``)."""
    background: bool = False
    """Run the transfer threads at a lower scheduling priority, so that a window
    copying in the background stays responsive on a machine with few cores."""
    retry_times: int = 3
    """Times a blob transfer starts again after a failure another attempt may not
    meet (a broken connection, 429, 502/503/504): from its first byte, since a
    stream already handed on cannot be rewound."""
    force_recursive: bool = False
    """Copy every blob and manifest even where the destination's name names the very
    image already (which a registry holds whole: the copy then has nothing to write),
    to repair a destination that lost some of them."""
    expected_digest: Digest | None = None
    """The digest of the top manifest (image or list) the source's name is expected to
    name: the one a front end showed under that name. When the name names another now
    (its tag or ref moved since), planning refuses with
    :class:`~spyglass.core.errors.SourceMoved` and nothing is written. None: whatever
    the name names is copied, as skopeo does."""
    blob_slots: CopySlots | None = field(default=None, compare=False, repr=False)
    """This copy's share of the slots copies that run together (a window's) share
    (:meth:`BlobSlots.for_copy <spyglass.core.blob_slots.BlobSlots.for_copy>`): each
    blob transfer takes one for as long as it runs, on top of ``parallel``, which bounds
    one copy's threads only; one transfer of each copy never waits for the others'.
    None: no bound but ``parallel``. A transfer waiting for a slot MUST still see its
    copy cancelled (it checks while it waits)."""
    tags_apart: frozenset[str] = frozenset()
    """Tags of what is attached to images (cosign's ``sha256-<hex>.sig``, the referrers
    fallback tag ``sha256-<hex>``) that travel on their own, as images (a sync into
    ``dir:``, which writes each as its own folder, as skopeo sync does): what is found
    under them is neither carried along nor said to be left behind."""


COMPRESSION_LEVELS: Final = {"gzip": (0, 9), "zstd": (1, 22)}
"""The levels each compression takes (zlib's; zstd's regular levels)."""

DEFAULT_LEVELS: Final = {"gzip": -1, "zstd": 0}
"""The level that stands for each compression's default level (6 for gzip, as Go's
``gzip.DefaultCompression`` and zlib's ``Z_DEFAULT_COMPRESSION`` take -1; 3 for zstd,
as libzstd takes 0): taken as it is by zlib and zstandard."""

DEFAULTS_MEAN: Final = {"gzip": 6, "zstd": 3}
"""The level each of :data:`DEFAULT_LEVELS` stands for, for sentences."""


# ---------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class BlobTask:
    """One blob to bring over: as the source has it, and what to turn it into."""

    source: Descriptor
    media_type: str
    """The media type it is written with (after format/compression mapping)."""
    recompress: Compression | None = None
    """Target compression when the bytes change; None when they are copied as they are."""
    diff_id: Digest | None = None
    """The uncompressed digest the config promises (checked when recompressing)."""
    recompress_from: Compression | None = None
    """How the source's bytes are compressed, when they are recompressed (what the plan
    says they turn from)."""
    external: bool = False
    """A foreign layer left where its ``urls`` point: the destination refers to it
    there, and its bytes are not copied (as containers/image leaves them)."""
    data: bytes | None = field(default=None, repr=False, compare=False)
    """The bytes, for a blob the plan made (the config of a converted schema 1 image):
    written from them, not read from the source."""

    @property
    def key(self) -> tuple[Digest, str | None]:
        return (self.source.digest, self.recompress)

    @property
    def compressed_before(self) -> str | None:
        """How the source's bytes are compressed (as the plan found them, else as their
        media type says): ``gzip``, ``zstd``, ``none``, or None where nothing says."""
        return self.recompress_from or media.layer_compression(self.source.media_type)

    @property
    def change(self) -> Literal["decompressed", "compressed", "recompressed", ""]:
        """What recompressing does to its bytes, in a word: ``decompressed`` (to none),
        ``compressed`` (from none: a plain tar gzipped), ``recompressed`` (one compression
        to another); "" for bytes copied as they are."""
        if self.recompress is None:
            return ""
        if self.recompress == "none":
            return "decompressed"
        return "compressed" if self.compressed_before == "none" else "recompressed"


@dataclass(frozen=True)
class InstancePlan:
    """One image manifest to write (an instance of a list, or the image itself)."""

    source: ImageManifest
    entry: Descriptor | None
    """Its entry in the source list (platform, annotations), None for a lone image."""
    media_type: str
    config: BlobTask
    layers: tuple[BlobTask, ...]

    @property
    def changes(self) -> bool:
        """True when the written manifest differs from the source's bytes."""
        return (
            self.media_type != self.source.media_type
            or self.config.media_type != self.source.config.media_type
            or any(
                task.recompress is not None or task.media_type != task.source.media_type
                for task in self.layers
            )
        )


@dataclass(frozen=True)
class CopyPlan:
    """Everything :func:`execute` will do, decided before anything moves."""

    source_name: str
    destination_name: str
    top: AnyManifest
    instances: tuple[InstancePlan, ...]
    list_media_type: str | None
    """The media type of the list written, or None when a single image is written."""
    list_is_source: bool
    """True when the list is written byte for byte as the source has it."""
    notes: tuple[str, ...] = ()
    extra_manifests: tuple[tuple[bytes, str, Digest], ...] = field(default=(), repr=False)
    """Manifests copied verbatim (nested lists, index-only children), children first, with
    the digests they are named by."""
    attachments: tuple[AttachmentTask, ...] = ()
    """Signatures and referrers carried along (see :mod:`spyglass.core.copy_attachments`)."""
    attachments_removed: bool = False
    """True when the copy leaves whatever is attached behind without asking what it is
    (``remove_signatures``)."""
    converted_from: Digest | None = None
    """The digest of the schema 1 image the one image written was converted from (what is
    attached to it does not match the new digest); ``top`` is then the converted image,
    or the list it was chosen from."""
    routine: tuple[str, ...] = ()
    """Those of ``notes`` that say what a copy does to any image alike (a ``dir:`` image
    there already replaced whole, platforms asked of an image that is no list): a quiet
    sync of many images leaves them out, where they were said of each."""

    @property
    def blobs(self) -> tuple[BlobTask, ...]:
        """Every distinct blob task, configs first."""
        seen: dict[tuple[Digest, str | None], BlobTask] = {}
        for instance in self.instances:
            for task in (instance.config, *instance.layers):
                if not task.external:
                    seen.setdefault(task.key, task)
        return tuple(seen.values())

    @property
    def check_blob(self) -> Digest | None:
        """A blob written as the source has it, for the destination's write check: the
        first image's config (small, and there already when the image was copied
        before); None when the copy writes no blob (a list alone)."""
        return next((task.source.digest for task in self.blobs
                     if task.recompress is None and task.data is None), None)

    @property
    def attachment_blobs(self) -> tuple[Descriptor, ...]:
        """The distinct blobs of the attached manifests carried along that the images do
        not have too: those copied from the source and those the plan made (the payloads
        and config of a cosign signature manifest); signatures a ``dir:`` stores as files
        are not among them."""
        images = {task.source.digest for task in self.blobs}
        seen: dict[Digest, Descriptor] = {}
        for task in self.attachments:
            for blob in task.written_blobs:
                if blob.digest not in images:
                    seen.setdefault(blob.digest, blob)
        return tuple(seen.values())

    @property
    def total_bytes(self) -> int:
        """What the copy reads at most: the images' blobs and the attached ones."""
        return (sum(task.source.size for task in self.blobs)
                + sum(blob.size for blob in self.attachment_blobs))

    def digests_kept(self) -> tuple[list[Digest], list[Digest], list[Digest]]:
        """The source's manifests by what the copy does with them: written with their own
        digest (what is attached to them can come along), written changed (another
        digest), and a list not written (one of its images goes instead)."""
        kept: list[Digest] = []
        changed: list[Digest] = []
        unwritten: list[Digest] = []
        if self.list_media_type is not None:
            (kept if self.list_is_source else changed).append(self.top.digest)
        elif isinstance(self.top, ImageIndex):
            unwritten.append(self.top.digest)  # one of its images goes, not the list
        for instance in self.instances:
            if self.converted_from is not None:  # a schema 1 image, now another digest
                changed.append(self.converted_from)
                continue
            (changed if instance.changes else kept).append(instance.source.digest)
        return kept, changed, unwritten

    @property
    def unchanged_top(self) -> ImageManifest | ImageIndex | None:
        """The manifest written at the top where it is the source's own, bytes and all
        (known before anything moves): the list as it is, or the one image unchanged;
        None where the copy makes a new one."""
        if self.converted_from is not None or any(i.changes for i in self.instances):
            return None
        if self.list_media_type is not None:
            return self.top if self.list_is_source and isinstance(self.top, ImageIndex) \
                else None
        return self.instances[0].source if len(self.instances) == 1 else None

    @property
    def keeps_digests(self) -> bool:
        """True when what is written has the digests the source has."""
        if self.converted_from is not None:
            return False  # a schema 1 image, written as schema 2
        if isinstance(self.top, ImageIndex) and self.list_media_type is None:
            return False  # one instance of a list: the top digest is the instance's
        return not any(i.changes for i in self.instances) and (
            self.list_media_type is None or self.list_is_source
        )

    def describe(self) -> list[str]:
        """The plan as lines for ``--dry-run`` (see :mod:`spyglass.core.copy_preview`,
        which also says what the destination holds already, once asked)."""
        from spyglass.core.copy_preview import plan_lines

        return plan_lines(self)


def replacing_note(replaces: str) -> str:
    """The plan's note of what the copy replaces whole (an archive, a ``dir:`` image there
    already: ``replaces`` names it), said as what will happen: it is said as the copy
    starts, and a copy that fails, or is taken back, leaves that as it was."""
    return f"{replaces} will be replaced whole once the copy is complete"
