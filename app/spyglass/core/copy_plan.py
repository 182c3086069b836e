"""Planning a copy: what a person chose (:class:`CopyOptions`) and everything the
copy will do, decided before a byte moves (:class:`CopyPlan`).

:func:`plan_copy` reads the source's manifests and decides which instances of
a list, which blobs, which conversions (format, layer compression), and
whether the result keeps the source's digests. It raises a sentence for
anything the destination cannot hold. :func:`~spyglass.core.copy.execute`
then carries the plan out.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, Final, Literal, cast

from spyglass.core import compression, media
from spyglass.core.cancel import CancelToken, linked
from spyglass.core.config import ImageConfig, parse_config
from spyglass.core.copy_attachments import (
    AttachmentTask,
    describe_attachments,
    plan_attachments,
)
from spyglass.core.digest import Digest, VerifyingReader, read_verified
from spyglass.core.errors import (
    UNREADABLE,
    Cancelled,
    InvalidManifest,
    ListNotAccepted,
    SpyglassError,
    Unsupported,
    clause,
)
from spyglass.core.image import choose_entry, load_manifest, nested_entries
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    AnyManifest,
    Descriptor,
    ImageIndex,
    ImageManifest,
    Schema1Manifest,
)
from spyglass.core.platform import Platform, host_platform
from spyglass.core.platform_choice import choice_notes, entry_label, same_image_note
from spyglass.core.referrers import (
    buildkit_attestation_subject,
)
from spyglass.core.signatures.discovery import Attachment, find_attachments
from spyglass.core.transports.base import (
    COMPRESSED,
    AttachmentSource,
    BlobHolder,
    DigestedDestination,
    ForeignLayers,
    ImageDestination,
    ImageSource,
    ManifestHolder,
    ReplacingDestination,
    StoredCompression,
)

Format = Literal["oci", "v2s2"]
Compression = Literal["gzip", "zstd", "none"]
MultiArch = Literal["system", "all", "index-only"]

log = logging.getLogger(__name__)

DEFAULT_PARALLEL: Final = 8

PlainLayers = Literal["auto", "keep", "compress"]


@dataclass(frozen=True)
class CopyOptions:
    """What ``spyglass copy`` and the copy dialog let a person choose."""

    platforms: tuple[Platform, ...] = ()
    """Instances of a list to copy; several are written as a list of just them."""
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


COMPRESSION_LEVELS: Final = {"gzip": (0, 9), "zstd": (1, 22)}
"""The levels each compression takes (zlib's; zstd's regular levels)."""

DEFAULT_LEVELS: Final = {"gzip": -1, "zstd": 0}
"""The level that stands for each compression's default level (6 for gzip, as Go's
``gzip.DefaultCompression`` and zlib's ``Z_DEFAULT_COMPRESSION`` take -1; 3 for zstd,
as libzstd takes 0): taken as it is by zlib and zstandard."""


def _check_level(plan: CopyPlan, level: int | None) -> None:
    """Refuse a compression ``level`` out of range for a compression ``plan`` compresses
    layers with; a level nothing is compressed with goes unused, as in skopeo (a ``dir:``
    destination, layers copied as they are, decompressed ones)."""
    if level is None:
        return
    used = {task.recompress for task in plan.blobs}
    for algorithm in sorted(a for a in used if a is not None and a != "none"):
        low, high = COMPRESSION_LEVELS[algorithm]
        default = DEFAULT_LEVELS[algorithm]
        if low <= level <= high or level == default:
            continue
        takes = f"takes {low} to {high} ({default}: its default)"
        raise SpyglassError(
            f"The compression level {level} is out of range for {algorithm}, which {takes}.",
            on_command_line=f"--dest-compress-level {level} is out of range for "
            f"{algorithm}, which this copy compresses layers with: {algorithm} {takes}.")



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
    external: bool = False
    """A foreign layer left where its ``urls`` point: the destination refers to it
    there, and its bytes are not copied (as containers/image leaves them)."""
    data: bytes | None = field(default=None, repr=False, compare=False)
    """The bytes, for a blob the plan made (the config of a converted schema 1 image):
    written from them, not read from the source."""

    @property
    def key(self) -> tuple[Digest, str | None]:
        return (self.source.digest, self.recompress)


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
    extra_manifests: tuple[tuple[bytes, str], ...] = field(default=(), repr=False)
    """Manifests copied verbatim (nested lists, index-only children), children first."""
    attachments: tuple[AttachmentTask, ...] = ()
    """Signatures and referrers carried along (see :mod:`spyglass.core.copy_attachments`)."""
    attachments_removed: bool = False
    """True when the copy leaves whatever is attached behind without asking what it is
    (``remove_signatures``)."""
    converted_from: Digest | None = None
    """The digest of the schema 1 image the top was converted from (what is attached to
    it does not match the new digest)."""

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
        """The plan as lines for ``--dry-run`` and the copy dialog."""
        lines = [f"Copy {self.source_name} → {self.destination_name}"]
        if self.list_media_type:
            how = "as it is" if self.list_is_source else "rebuilt"
            lines.append(f"  list: {media.friendly(self.list_media_type)} ({how})")
        top = self.top if isinstance(self.top, ImageIndex) else None
        for instance in self.instances:
            platform = instance.entry.platform if instance.entry else None
            about = buildkit_attestation_subject(instance.entry) if instance.entry else None
            what = (f"attestation of {about.short}" if about is not None
                    else f"image {entry_label(instance.entry, top)}"
                    if instance.entry is not None and platform else "image")
            lines.append(
                f"  {what}: {media.friendly(instance.media_type)}, "
                f"{len(instance.layers)} layer{'' if len(instance.layers) == 1 else 's'}"
                + (" (converted)" if instance.changes or self.converted_from else "")
            )
        attached_blobs = len(self.attachment_blobs)
        lines.append(f"  blobs: {len(self.blobs)}"
                     + (f" and {attached_blobs} attached" if attached_blobs else "")
                     + f", {self.total_bytes} bytes to read at most")
        if (attached := describe_attachments(self.attachments)) is not None:
            lines.append(f"  {attached}")
        elif self.attachments_removed:
            inside = any(buildkit_attestation_subject(i.entry) is not None
                         for i in self.instances if i.entry is not None)
            lines.append("  attached: left behind without being looked up (signatures, "
                         "attestations, SBOMs and referrers kept beside the image are not "
                         "copied" + ("; the attestation manifests inside the list are part "
                                     "of it and stay" if inside else "") + ")")
        lines.extend(f"  note: {note}" for note in self.notes)
        return lines


# ---------------------------------------------------------------------------- media types

_TO_OCI: Final = {
    media.DOCKER_V2S2: media.OCI_MANIFEST,
    media.DOCKER_LIST: media.OCI_INDEX,
    media.DOCKER_CONFIG: media.OCI_CONFIG,
    media.DOCKER_LAYER: media.OCI_LAYER,
    media.DOCKER_LAYER_GZIP: media.OCI_LAYER_GZIP,
    media.DOCKER_LAYER_ZSTD: media.OCI_LAYER_ZSTD,
    media.DOCKER_FOREIGN_LAYER: media.OCI_LAYER_NONDIST_GZIP,
    media.DOCKER_FOREIGN_LAYER_PLAIN: media.OCI_LAYER_NONDIST,
}
_TO_DOCKER: Final = {
    media.OCI_MANIFEST: media.DOCKER_V2S2,
    media.OCI_INDEX: media.DOCKER_LIST,
    media.OCI_CONFIG: media.DOCKER_CONFIG,
    media.OCI_LAYER: media.DOCKER_LAYER,
    media.OCI_LAYER_GZIP: media.DOCKER_LAYER_GZIP,
    media.OCI_LAYER_NONDIST_GZIP: media.DOCKER_FOREIGN_LAYER,
    media.OCI_LAYER_NONDIST: media.DOCKER_FOREIGN_LAYER_PLAIN,
}
_LAYER_BY_COMPRESSION: Final = {
    ("oci", "gzip"): media.OCI_LAYER_GZIP,
    ("oci", "zstd"): media.OCI_LAYER_ZSTD,
    ("oci", "none"): media.OCI_LAYER,
    ("v2s2", "gzip"): media.DOCKER_LAYER_GZIP,
    ("v2s2", "none"): media.DOCKER_LAYER,
}


def format_of(media_type: str) -> Format:
    return "v2s2" if "docker" in media_type else "oci"


def _map_type(media_type: str, target: Format) -> str:
    table = _TO_OCI if target == "oci" else _TO_DOCKER
    if format_of(media_type) == target:
        return media_type
    mapped = table.get(media_type)
    if mapped is None:
        raise Unsupported(
            f'The media type "{media_type}" has no {_format_name(target)} equivalent; '
            "the image cannot be converted."
        )
    return mapped


def _check_images_held(top: ImageIndex, destination: ImageDestination,
                       cancel: CancelToken | None) -> None:
    """A list copied alone must not name images its destination does not hold (where
    the destination can tell)."""
    if not isinstance(destination, ManifestHolder):
        return
    missing = [entry.digest for entry in top.manifests
               if destination.holds_manifest(entry, cancel=cancel) is False]
    if not missing:
        return
    shown = ", ".join(str(digest) for digest in missing[:3])
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    said = (f"{destination.description} does not hold "
            f"{'the image' if len(missing) == 1 else f'{len(missing)} of the images'} "
            f"the list {top.digest} names ({shown}{more}), and index-only copies the list "
            "alone; copy its images with it")
    raise Unsupported(f"{said}.", on_command_line=f"{said} (--multi-arch all).")


def _format_name(target: Format) -> str:
    return "OCI" if target == "oci" else "Docker schema 2"


# ---------------------------------------------------------------------------- planning


def _choose_format(
    manifest_type: str, destination: ImageDestination, options: CopyOptions
) -> Format:
    wanted: Format = options.format or format_of(manifest_type)
    supported = destination.supported_manifest_types
    if (options.format is None and options.compression == "zstd" and wanted == "v2s2"
            and (not supported or any(format_of(t) == "oci" for t in supported))):
        # Docker schema 2 cannot hold zstd layers: written as OCI, as containers/image
        # converts when the compression asked for needs it
        wanted = "oci"
    if supported and not any(format_of(t) == wanted for t in supported):
        if options.format is not None:
            takes = _format_name(format_of(supported[0]))
            raise Unsupported(
                f"{destination.description} cannot store {_format_name(wanted)} manifests, "
                f"only {takes} ones."
            )
        wanted = format_of(supported[0])
    return wanted


def _forced_format_note(manifest_type: str, destination: ImageDestination,
                        options: CopyOptions) -> str:
    """What the copy converts without being asked (no ``--format``): a Docker image into
    a destination that takes OCI manifests only, or one recompressed to zstd."""
    if options.format is not None or options.multi_arch == "index-only":
        return ""
    was = format_of(manifest_type)
    target = _choose_format(manifest_type, destination, options)
    if target == was:
        return ""
    supported = destination.supported_manifest_types
    if supported and not any(format_of(t) == was for t in supported):
        why = f"{destination.description} takes {_format_name(target)} manifests only"
    else:
        why = "Docker schema 2 cannot hold zstd layers"
    return (f"written as {_format_name(target)}, from {_format_name(was)}: {why}, so the "
            "digests change")


def _plan_instance(
    manifest: ImageManifest,
    entry: Descriptor | None,
    config: ImageConfig | None,
    destination: ImageDestination,
    options: CopyOptions,
    stored: StoredBy,
    plain_to: Compression | None = None,
) -> InstancePlan:
    target = _choose_format(manifest.media_type, destination, options)
    if target == "v2s2" and manifest.is_artifact:
        raise Unsupported(
            f"The image {manifest.digest} is an OCI artifact "
            f"({manifest.artifact_type or manifest.config.media_type}); Docker schema 2 cannot "
            "represent it."
        )
    wanted_compression = _wanted_compression(destination, options)
    if _opaque(manifest):
        wanted_compression = plain_to = None
    layers: list[BlobTask] = []
    diff_ids = config.diff_ids if config else ()
    for index, layer in enumerate(manifest.layers):
        layers.append(
            _plan_layer(manifest, index, layer, diff_ids, target, wanted_compression, stored,
                        plain_to, destination=destination)
        )
    config_type = (
        _map_type(manifest.config.media_type, target)
        if manifest.config.media_type in media.CONFIG_TYPES
        else manifest.config.media_type
    )
    manifest_type = _map_type(manifest.media_type, target)
    return InstancePlan(
        source=manifest,
        entry=entry,
        media_type=manifest_type,
        config=BlobTask(manifest.config, config_type),
        layers=tuple(layers),
    )


_PLAIN_LAYER_TYPES: Final = frozenset({
    media.OCI_LAYER, media.OCI_LAYER_GZIP, media.OCI_LAYER_ZSTD,
    media.DOCKER_LAYER, media.DOCKER_LAYER_GZIP, media.DOCKER_LAYER_ZSTD,
})
"""Layer types whose compression can be changed (not foreign or artifact blobs)."""


def _wanted_compression(
    destination: ImageDestination, options: CopyOptions
) -> Compression | None:
    """The layer compression the copy writes, None to keep each layer's own."""
    if destination.desired_layer_compression == "none":
        return "none"
    return options.compression


def _plain_target(destination: ImageDestination, options: CopyOptions) -> Compression | None:
    """``"gzip"`` when uncompressed layers are compressed though no compression was asked
    for: the destination wants compressed layers (a registry, an OCI layout), as skopeo
    does, or ``plain_layers`` says so, and nothing asks for the digests to be kept."""
    wanted = destination.desired_layer_compression
    if (
        options.compression is not None
        or options.preserve_digests
        or options.plain_layers == "keep"
        or wanted == "none"
        or (options.plain_layers == "auto" and wanted != COMPRESSED)
        or (isinstance(destination, DigestedDestination)
            and destination.required_digest is not None)
    ):
        return None
    return "gzip"


StoredBy = Callable[[Descriptor], str | None]
"""How a source stores a layer's bytes, where not as its media type says (see
:class:`~spyglass.core.transports.base.StoredCompression`)."""


def _stored_by(source: ImageSource) -> StoredBy:
    if isinstance(source, StoredCompression):
        return source.stored_compression
    return lambda layer: None


def _compression_change(
    layer: Descriptor, stored: StoredBy, wanted: Compression | None,
    plain_to: Compression | None = None, *, names_unstored: bool = False,
) -> tuple[Compression | None, Compression]:
    """``(recompress to, compression written)`` of a plain layer: what ``wanted`` asks
    for, else what its media type names (``plain_to`` for one declared uncompressed).
    Bytes stored otherwise than their media type says (a docker-archive's plain tars
    named ``tar.gzip``) are made to match it where uncompressed layers are compressed
    (``plain_to``), and compressed bytes named ``tar`` are named for what they are there;
    elsewhere (``dir:``, or digests to keep) they are copied as they are, under the media
    type they came with, as containers/image copies them. So are plain bytes into a
    destination that keeps no manifest (``names_unstored``: a docker-archive, whose
    readers name every layer ``tar.gzip`` again): renamed ``tar``, the digest reported
    would be of a manifest no reader sees."""
    declared = cast("Compression", media.layer_compression(layer.media_type))
    current = cast("Compression", stored(layer) or declared)
    if names_unstored and wanted == "none" and current == "none":
        return None, declared
    if wanted is None and current != declared and not (current == "none" and plain_to):
        if plain_to is not None and declared == "none" and current in ("gzip", "zstd"):
            return None, current  # the same bytes, named for what they are
        return None, declared
    after = wanted if wanted is not None else declared
    if wanted is None and plain_to is not None and declared == "none":
        after = plain_to
    return (after if after != current else None), after


def _names_unstored(destination: ImageDestination) -> bool:
    """Whether ``destination`` keeps no manifest, only plain layers (a docker-archive:
    its readers build one, naming every layer ``tar.gzip``)."""
    return destination.desired_layer_compression == "none"


def _recompresses(
    manifest: ImageManifest,
    destination: ImageDestination,
    options: CopyOptions,
    stored: StoredBy,
) -> bool:
    """True when some layer of ``manifest`` changes compression: then, and only then,
    planning needs the config (its diff IDs check the recompressed layers)."""
    if _opaque(manifest):
        return False
    wanted = _wanted_compression(destination, options)
    plain_to = _plain_target(destination, options)
    return any(
        layer.media_type in _PLAIN_LAYER_TYPES and not layer.urls
        and _compression_change(layer, stored, wanted, plain_to,
                                names_unstored=_names_unstored(destination))[0] is not None
        for layer in manifest.layers
    )


def _opaque(manifest: ImageManifest) -> bool:
    """Whether ``manifest``'s blobs are no image layers (an artifact: its config is not an
    image config, e.g. what ``oras push`` writes, whose files are ``…layer.v1.tar``
    blobs): they are copied as they are, never recompressed, as containers/image copies
    them (``CanChangeLayerCompression``)."""
    return manifest.config.media_type not in media.CONFIG_TYPES


def _foreign_layer(layer: Descriptor, target: Format, destination: ImageDestination) -> BlobTask:
    """A layer with ``urls`` (a Windows base layer): a destination that may refer to it
    where they point (a registry, an OCI layout) does, as containers/image leaves it;
    another gets its bytes from the source, like any blob (a source that lacks them
    says so)."""
    external = isinstance(destination, ForeignLayers) and destination.accepts_foreign_layers
    return BlobTask(layer, _map_type(layer.media_type, target), external=external)


def _plan_layer(
    manifest: ImageManifest,
    index: int,
    layer: Descriptor,
    diff_ids: tuple[Digest, ...],
    target: Format,
    wanted: Compression | None,
    stored: StoredBy,
    plain_to: Compression | None = None,
    *,
    destination: ImageDestination,
) -> BlobTask:
    if layer.urls:
        return _foreign_layer(layer, target, destination)
    if layer.media_type not in _PLAIN_LAYER_TYPES:
        # non-distributable layers without urls and artifact blobs: copied as they are
        return BlobTask(layer, _map_type(layer.media_type, target))
    recompress, after = _compression_change(layer, stored, wanted, plain_to,
                                            names_unstored=_names_unstored(destination))
    if target == "v2s2" and after == "zstd":
        if wanted == "zstd":
            raise Unsupported(
                "Docker schema 2 manifests cannot hold zstd layers: compress to gzip, or "
                "write OCI manifests."
            )
        said = f"Layer {layer.digest} is zstd-compressed, which Docker schema 2 cannot hold; "
        raise Unsupported(said + "compress the layers to gzip, or keep the OCI format.",
                          on_command_line=said + "add --dest-compress-format gzip or keep "
                          "the OCI format.")
    unchanged = recompress is None and after == media.layer_compression(layer.media_type)
    if unchanged and format_of(layer.media_type) == target:
        return BlobTask(layer, layer.media_type)
    media_type = _LAYER_BY_COMPRESSION[(target, after)]
    if recompress is None:
        return BlobTask(layer, media_type)
    if index >= len(diff_ids):
        raise InvalidManifest(
            f"The image {manifest.digest} has more layers than its config has diff IDs; "
            "its layers cannot be recompressed safely."
        )
    return BlobTask(layer, media_type, recompress, diff_ids[index])


def _with_narrowing_note(plan: CopyPlan, source: ImageSource,
                         destination: ImageDestination) -> CopyPlan:
    """A list copied onto itself as fewer images than it has (this system's, or those
    of --platform) loses the others there: the plan says so, before it happens."""
    top = plan.top
    if not isinstance(top, ImageIndex) or source.description != destination.description:
        return plan
    images = [entry for entry in top.manifests if entry.media_type in media.IMAGE_MANIFEST_TYPES]
    if plan.list_media_type is not None and (
            not plan.instances or len(plan.instances) >= len(images)):
        return plan  # the list written (index-only: as it is), every image kept
    if len(plan.instances) >= len(images):
        return plan  # a list of one image, written as that image: nothing else lost
    kept = ", ".join(str(i.entry.platform) for i in plan.instances
                     if i.entry is not None and i.entry.platform) or "one image"
    lost = len(images) - len(plan.instances)
    others = "its other image is" if lost == 1 else f"its {lost} other images are"
    return replace(plan, notes=(*plan.notes, (
        f"{destination.description} is the list being copied: it is replaced by {kept} "
        f"alone, and {others} no longer named there; copy with --all to keep the list "
        "whole")))


def _chosen_entries(source: ImageSource, top: ImageIndex, wanted: list[Platform],
                    notes: list[str], cancel: CancelToken | None) -> list[Descriptor]:
    """The entry of each platform of ``wanted`` in ``top`` (an image of a list nested in
    it is chosen as inspect shows it), each once, in the order asked; ``notes`` get what
    was taken otherwise than asked, and platforms that chose the same image."""
    chosen: list[tuple[Descriptor, list[Platform]]] = []
    for platform in wanted:
        entry = choose_entry(source, top, platform, cancel=cancel)
        asked = next((names for taken, names in chosen if taken == entry), None)
        if asked is None:
            notes.extend(choice_notes(top, platform, entry, "copied"))
            chosen.append((entry, [platform]))
        else:
            asked.append(platform)
    notes.extend(same_image_note(names, taken, len(chosen) == 1)
                 for taken, names in chosen if len(names) > 1)
    return [taken for taken, _names in chosen]


def _one_image_note(config: ImageConfig | None, asked: tuple[Platform, ...]) -> str:
    """The note for platforms asked of a source that is one image, not a list."""
    platform = (Platform(config.os, config.architecture, config.variant)
                if config is not None and config.os and config.architecture else None)
    wanted = ", ".join(str(p) for p in asked)
    if platform is None:
        return ("the source is one image, not a list, so the platforms asked for do not "
                "apply; it is copied as it is")
    if any(p.matches(platform) for p in asked):
        return f"the source is one image, for {platform}, not a list; it is copied as it is"
    return (f"the source is one image, for {platform}, not a list, so the platforms asked "
            f"for ({wanted}) do not apply; it is copied as it is, for {platform}")


def _config_if_readable(
    source: ImageSource, manifest: ImageManifest, cancel: CancelToken | None
) -> ImageConfig | None:
    """The config, only to say which platform the image is: one that cannot be read or
    parsed says nothing (the copy takes it as an opaque blob, as it would anyway)."""
    try:
        return _load_config(source, manifest, lambda _manifest: True, cancel)
    except Cancelled:
        raise
    except SpyglassError:
        return None


def _load_config(
    source: ImageSource,
    manifest: ImageManifest,
    needed: Callable[[ImageManifest], bool],
    cancel: CancelToken | None,
) -> ImageConfig | None:
    """The config of ``manifest`` when ``needed(manifest)``; a plain copy does not read
    it here (it is copied as a blob like any other)."""
    if manifest.config.media_type not in media.CONFIG_TYPES or not needed(manifest):
        return None
    with source.open_blob(manifest.config, cancel=cancel) as stream:
        raw = read_verified(
            stream, manifest.config.digest, manifest.config.size, limit=MAX_MANIFEST_SIZE,
            what=f"The config {manifest.config.digest}", cancel=cancel,
        )
    return parse_config(raw)


def _image(source: ImageSource, digest: Digest, cancel: CancelToken | None) -> ImageManifest:
    child = load_manifest(source, digest, cancel=cancel)
    if isinstance(child, Schema1Manifest):
        raise Unsupported(
            f"The list entry {digest} is a Docker schema 1 manifest; Spyglass converts a "
            "schema 1 image copied alone (name it by its digest), not one inside a list."
        )
    if isinstance(child, ImageIndex):
        said = f"The list entry {digest} is itself a list; nested lists are copied only whole"
        raise Unsupported(f"{said}, every image of them, without conversion.",
                          on_command_line=f"{said} (--all) without conversion.")
    return child


def _unreadable_entry(exc: SpyglassError, entry: Descriptor, top: ImageIndex,
                      many: bool) -> SpyglassError:
    """``exc`` (an image of the list that cannot be read) saying which platform's image
    it is, and, where others were asked for too, how to copy those without it."""
    label = entry_label(entry, top) or f"the entry {entry.digest.short}"
    said = f"The image for {label} of the list {top.digest.short} cannot be read: {clause(exc)}"
    if not many or entry.platform is None:
        return type(exc)(said if said.endswith(".") else f"{said}.")
    said = said.rstrip(".")
    failed = type(exc)(f"{said}; untick it to copy the others.",
                       on_command_line=f"{said}; name the others with --platform to copy "
                       "them.")
    return failed


def _nested(
    source: ImageSource, index: ImageIndex, cancel: CancelToken | None, depth: int = 0,
    seen: set[Digest] | None = None,
) -> Iterator[tuple[Descriptor, AnyManifest]]:
    """Every manifest below ``index``, children before their parents, each once (lists
    may name an entry again, at every level: ``seen`` holds the digests yielded, so the
    work grows with the number of manifests, not of paths through them)."""
    if depth > 8:
        raise InvalidManifest("Manifest lists are nested more than 8 deep.")
    if seen is None:
        seen = set()
    for entry in index.manifests:
        if entry.digest in seen:
            continue
        seen.add(entry.digest)
        child = load_manifest(source, entry.digest, cancel=cancel)
        if isinstance(child, ImageIndex):
            yield from _nested(source, child, cancel, depth + 1, seen)
        yield entry, child


def plan_copy(
    source: ImageSource,
    destination: ImageDestination,
    options: CopyOptions | None = None,
    *,
    cancel: CancelToken | None = None,
) -> CopyPlan:
    """Decide the whole copy; raise a sentence for anything that cannot be done.

    Signatures and referrers of every manifest written unchanged go along
    unless ``options.remove_signatures``. The questions planning asks the
    source (each image's manifest and config, what is attached to each
    manifest) go out together as soon as the list is known, not one round
    trip after another.
    """
    options = options or CopyOptions()
    keep_names = getattr(destination, "keep_names_of", None)
    if keep_names is not None:  # a docker-archive copied onto itself without a name
        keep_names(source)
    if options.compression in ("gzip", "zstd") and \
            destination.desired_layer_compression == "none":
        # docker-archive: layers as docker save writes them (containers/image decompresses)
        raise Unsupported(
            f"{destination.description} holds its layers uncompressed, as docker save "
            f"writes them: they cannot be {options.compression}-compressed there.",
            on_command_line=f"{destination.description} holds its layers uncompressed, as "
            "docker save writes them; leave out --dest-compress-format "
            f"{options.compression}.")
    carry = not options.remove_signatures and isinstance(source, AttachmentSource)
    needs_config = partial(_recompresses, destination=destination, options=options,
                           stored=_stored_by(source))
    with (
        ThreadPoolExecutor(max_workers=PLAN_THREADS, thread_name_prefix="spyglass-plan") as pool,
        linked(cancel) as lookups,  # the questions still out stop with the plan
    ):
        ahead = _Ahead(pool, source, lookups, attachments=carry, needs_config=needs_config)
        try:
            plan = _plan_images(source, destination, options, cancel, ahead)
            _check_level(plan, options.compression_level)
            plan = _with_foreign_note(plan, destination)
            plan = _with_narrowing_note(plan, source, destination)
            _check_required_digest(plan, destination)
            if isinstance(destination, ReplacingDestination) and destination.replaces:
                plan = replace(plan, notes=(*plan.notes, f"{destination.replaces} is "
                                            "replaced whole"))
            if not carry:
                return replace(plan, attachments_removed=options.remove_signatures)
            kept: list[Digest] = []
            changed: list[Digest] = []
            unwritten: list[Digest] = []
            if plan.list_media_type is not None:
                (kept if plan.list_is_source else changed).append(plan.top.digest)
            elif isinstance(plan.top, ImageIndex):
                unwritten.append(plan.top.digest)  # one of its images goes, not the list
            for instance in plan.instances:
                if plan.converted_from is not None:  # a schema 1 image, now another digest
                    changed.append(plan.converted_from)
                    continue
                (changed if instance.changes else kept).append(instance.source.digest)
            for digest in kept + changed:  # those not asked yet (a nested list's images)
                ahead.start_attachments(digest)
            tasks, notes = plan_attachments(
                source, destination, kept, changed, unwritten, cancel=cancel,
                find=ahead.attachments,
            )
        finally:
            ahead.drop()
    return replace(plan, attachments=tasks, notes=plan.notes + notes)


PLAN_THREADS: Final = 8
"""Questions in flight at once while planning."""


class _Ahead:
    """Answers fetched ahead on ``pool``: images (manifest, and config when
    ``needs_config`` says planning needs it) and, with ``attachments``, what is
    attached to a manifest. Each is asked once; an error surfaces where the
    answer is used."""

    def __init__(
        self,
        pool: ThreadPoolExecutor,
        source: ImageSource,
        cancel: CancelToken | None,
        *,
        attachments: bool,
        needs_config: Callable[[ImageManifest], bool],
    ) -> None:
        self._pool = pool
        self._source = source
        self._cancel = cancel
        self._carry = attachments
        self.needs_config = needs_config
        self._images: dict[Digest, Future[tuple[ImageManifest, ImageConfig | None]]] = {}
        self._attached: dict[Digest, Future[list[Attachment]]] = {}

    def start_image(self, digest: Digest) -> None:
        if digest not in self._images:
            self._images[digest] = self._pool.submit(self._load_image, digest)
        self.start_attachments(digest)

    def _load_image(self, digest: Digest) -> tuple[ImageManifest, ImageConfig | None]:
        manifest = _image(self._source, digest, self._cancel)
        return manifest, _load_config(self._source, manifest, self.needs_config, self._cancel)

    def image(self, digest: Digest) -> tuple[ImageManifest, ImageConfig | None]:
        self.start_image(digest)
        return self._images[digest].result()

    def start_attachments(self, digest: Digest) -> None:
        if self._carry and digest not in self._attached:
            self._attached[digest] = self._pool.submit(
                find_attachments, self._source, digest, cancel=self._cancel
            )

    def attached(self, digest: Digest) -> bool:
        """Whether anything is attached to ``digest`` that the copy would carry."""
        return self._carry and bool(self.attachments(digest))

    def attachments(self, digest: Digest) -> list[Attachment]:
        if digest not in self._attached:
            return find_attachments(self._source, digest, cancel=self._cancel)
        return self._attached[digest].result()

    def drop(self) -> None:
        """Cancel what has not started (the plan failed or no longer needs it)."""
        for image in self._images.values():
            image.cancel()
        for attached in self._attached.values():
            attached.cancel()


class _WithMade:
    """A source that also serves a blob the plan made (a converted image's config), for
    planning to read like any other."""

    def __init__(self, inner: ImageSource, made: Descriptor, data: bytes) -> None:
        self._inner = inner
        self._made = made
        self._data = data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def open_blob(self, descriptor: Descriptor, *,
                  cancel: CancelToken | None = None) -> VerifyingReader:
        if descriptor.digest == self._made.digest:
            return VerifyingReader(io.BytesIO(self._data), descriptor.digest, len(self._data),
                                   what=f"The config {descriptor.digest}", cancel=cancel)
        return self._inner.open_blob(descriptor, cancel=cancel)


def _plan_images(
    source: ImageSource,
    destination: ImageDestination,
    options: CopyOptions,
    cancel: CancelToken | None,
    ahead: _Ahead,
) -> CopyPlan:
    top = load_manifest(source, cancel=cancel)
    ahead.start_attachments(top.digest)
    stored = _stored_by(source)
    notes: list[str] = []
    made_config: bytes | None = None
    converted_from: Digest | None = None
    if isinstance(top, Schema1Manifest):
        said = (f"{source.description} is a Docker schema 1 image, which Spyglass copies "
                "converted to schema 2: its digest changes")
        if options.preserve_digests:
            raise Unsupported(f"{said}.",
                              on_command_line=f"{said}; leave out --preserve-digests.")
        if isinstance(destination, DigestedDestination) and destination.required_digest:
            raise Unsupported(f"{said}, so {destination.description}, named by digest, "
                              "cannot take it; name the destination by tag.")
        from spyglass.core.schema1 import convert

        converted_from = top.digest
        converted = convert(source, top, cancel=cancel)
        top, made_config = converted.manifest, converted.config
        source = _WithMade(source, top.config, made_config)
        notes.append("the Docker schema 1 image is converted to schema 2, as skopeo "
                     "converts it (its layers were read once already while planning, to "
                     "learn their uncompressed digests)")
    forced = _forced_format_note(top.media_type, destination, options)
    if forced:
        notes.append(forced)
    plain = _PlainLayers(_plain_target(destination, options), ahead, notes, stored,
                         destination, cancel)
    if isinstance(top, ImageManifest):
        config = _load_config(source, top, ahead.needs_config, cancel)
        instance = _plan_instance(top, None, config, destination, options, stored,
                                  plain.target(top))
        if made_config is not None:
            instance = replace(instance, config=replace(instance.config, data=made_config))
        if options.platforms:
            notes.append(_one_image_note(config or _config_if_readable(source, top, cancel),
                                         options.platforms))
        plain.note(destination)
        plan = CopyPlan(source.description, destination.description, top, (instance,), None,
                        False, tuple(notes), converted_from=converted_from)
        _check_preserve(plan, options, destination)
        return plan

    # a list
    entries = list(top.manifests)
    if options.multi_arch == "index-only":
        if not destination.accepts_lists:
            raise Unsupported(f"{destination.description} cannot hold a manifest list.")
        if isinstance(destination, ReplacingDestination):
            said = (f"{destination.description} is written whole, so the list alone would "
                    "name images it does not hold; copy its images with it")
            raise Unsupported(f"{said}.", on_command_line=f"{said} (--multi-arch all).")
        target = _choose_format(top.media_type, destination, options)
        if target != format_of(top.media_type):
            # its entries name the images as they are, which are not copied: a list in
            # another format would name manifests of the other format that are not there
            said = (f"The list {top.digest} is copied alone as it is, and "
                    f"{destination.description if options.format is None else 'the copy'} "
                    f"wants {_format_name(target)} manifests; copy its images with it")
            raise Unsupported(f"{said}, to convert them.",
                              on_command_line=f"{said} (--all), to convert them.")
        _check_images_held(top, destination, cancel)
        notes.append("only the list manifest is copied; its images must already be there")
        return CopyPlan(source.description, destination.description, top, (), top.media_type,
                        True, tuple(notes))

    if options.multi_arch == "all" and not options.platforms:
        chosen = entries
        if _choose_format(top.media_type, destination, options) != "oci" and any(
                buildkit_attestation_subject(e) is not None for e in entries):
            # a Docker list cannot hold BuildKit's in-toto manifests: its images are
            # copied, and the attestations stay behind with a note (as when named)
            chosen = [e for e in entries if buildkit_attestation_subject(e) is None]
    else:
        chosen = _chosen_entries(source, top, list(options.platforms) or [host_platform()],
                                 notes, cancel)
    images = [e for e in entries if buildkit_attestation_subject(e) is None]
    many = options.multi_arch == "all" or len(chosen) > 1
    attested: list[Descriptor] = []
    if chosen is not entries:
        chosen, attested = _with_attestations(source, top, chosen, many, notes, cancel,
                                              _choose_format(top.media_type, destination,
                                                             options))
    whole = chosen == entries
    if many and not destination.accepts_lists and images and all(
            e.artifact_type and e.platform is None for e in images):
        # no platform to choose: the advice to choose one would lead nowhere
        raise Unsupported(
            f"{destination.description} cannot hold a manifest list, and this one names no "
            "image for a platform, only artifacts; copy it to a registry, an oci: layout "
            "or an oci-archive:.")
    if many and not destination.accepts_lists and not images:
        # no image to choose: the advice to choose one would lead nowhere
        raise Unsupported(
            f"{destination.description} cannot hold a manifest list, and this one "
            f"{'is empty' if not entries else 'holds only attestations'}: it has no image "
            "to copy.")
    if many and not destination.accepts_lists:
        raise ListNotAccepted(
            f"{destination.description} cannot hold a manifest list; choose one platform."
        )
    extra: list[tuple[bytes, str]] = []
    instances: list[InstancePlan] = []
    nested_whole = whole and options.format is None and options.compression is None
    for entry in chosen:
        if not (media.is_index(entry.media_type) and nested_whole):
            ahead.start_image(entry.digest)
    nested_seen: set[Digest] = set()  # the manifests below nested lists, planned once
    for entry in chosen:
        if media.is_index(entry.media_type) and nested_whole:
            if entry.digest in nested_seen:
                continue
            nested_seen.add(entry.digest)
            nested = load_manifest(source, entry.digest, cancel=cancel)
            assert isinstance(nested, ImageIndex)
            for child_entry, child in _nested(source, nested, cancel, seen=nested_seen):
                if isinstance(child, ImageManifest):
                    config = _load_config(source, child, ahead.needs_config, cancel)
                    planned = _plan_instance(child, child_entry, config, destination,
                                             options, stored)
                    if planned.changes:  # the nested list, written as it is, would dangle
                        said = (f"The list entry {entry.digest} is itself a list, whose "
                                f"image {child.digest} {destination.description} can hold "
                                "only converted; nested lists are copied only whole")
                        raise Unsupported(f"{said}, without conversion.",
                                          on_command_line=f"{said} (--all) without "
                                          "conversion.")
                    instances.append(planned)
                else:
                    extra.append((child.raw, child.media_type))
            extra.append((nested.raw, nested.media_type))
            continue
        try:
            manifest, config = ahead.image(entry.digest)
        except UNREADABLE as exc:
            raise _unreadable_entry(exc, entry, top, many) from exc
        instances.append(_plan_instance(
            manifest, entry, config, destination, options, stored,
            # the list's own attachments count only where it would otherwise be kept
            plain.target(manifest, top if many and whole and options.format is None
                         else None),
        ))
    plain.note(destination)

    if not many:
        if options.preserve_digests and instances:
            notes.append(f"one image of the list {top.digest.short} is written as it is, "
                         f"{instances[0].source.digest}, not the list")
        plan = CopyPlan(source.description, destination.description, top, tuple(instances),
                        None, False, tuple(notes))
        _check_preserve(plan, options, destination)
        return plan

    list_target = _choose_format(top.media_type, destination, options)
    list_type = _map_type(top.media_type, list_target)
    unchanged = whole and list_type == top.media_type and not any(
        i.changes for i in instances
    )
    if not whole:
        kept = len([e for e in chosen if buildkit_attestation_subject(e) is None])
        of = (f"{kept} image{'' if kept == 1 else 's'} (chosen from it and the lists "
              "nested in it)" if any(media.is_index(e.media_type) for e in entries)
              else f"its {kept} image{'' if kept == 1 else 's'} alone" if kept == len(images)
              else f"{kept} of its {len(images)} image{'' if len(images) == 1 else 's'}")
        notes.append(
            f"the list is rebuilt with {of}"
            + (" and their attestations" if attested else "") + "; its digest changes"
        )
    plan = CopyPlan(source.description, destination.description, top, tuple(instances),
                    list_type, unchanged, tuple(notes), tuple(extra))
    _check_preserve(plan, options, destination)
    return plan


def _with_attestations(
    source: ImageSource, top: ImageIndex, chosen: list[Descriptor], many: bool,
    notes: list[str], cancel: CancelToken | None, list_format: Format,
) -> tuple[list[Descriptor], list[Descriptor]]:
    """The images chosen out of ``top`` (or the lists nested in it) with BuildKit's
    attestations of them, in the order the lists have them (so the same images make the
    same list, however they were named); and the attestations that came along.

    An attestation comes along, as what is attached to an image written unchanged does,
    into a list written with several images; one image written alone, or a Docker
    schema 2 list (which cannot hold an in-toto manifest), leaves it behind, with a note.
    """
    chosen_digests = {entry.digest for entry in chosen}
    # where each entry first stands, by digest (a descriptor, holding a dict, is no key)
    walked: dict[Digest, list[tuple[Descriptor, int]]] = {}
    total = 0
    attestations: list[Descriptor] = []
    for _holder, entry in nested_entries(source, top, cancel=cancel):
        same = walked.setdefault(entry.digest, [])
        if entry not in (seen for seen, _at in same):
            same.append((entry, total))
            if buildkit_attestation_subject(entry) in chosen_digests and entry not in chosen:
                attestations.append(entry)
        total += 1

    def position(entry: Descriptor) -> int:
        return next((at for seen, at in walked.get(entry.digest, ()) if seen == entry), total)

    def in_order(entries: list[Descriptor]) -> list[Descriptor]:
        return sorted(entries, key=position)

    if many and attestations and list_format == "oci":
        return in_order([*chosen, *attestations]), attestations
    if not attestations:
        return in_order(chosen), []
    count = len(attestations)
    them = "them" if count > 1 else "it"
    why = (f"one image written alone has no list to hold {them}" if not many
           else f"a Docker schema 2 list cannot hold {them}")
    subjects = list(dict.fromkeys(subject.short for a in attestations  # the list's order
                                  if (subject := buildkit_attestation_subject(a)) is not None))
    notes.append(f"the list's attestation manifest{'s' if count > 1 else ''} for "
                 f"{', '.join(subjects)} stay{'' if count > 1 else 's'} behind: {why}")
    return in_order(chosen), []


class _PlainLayers:
    """Decides, image by image, whether uncompressed layers are compressed (see
    :func:`_plain_target`), and notes what it did: an image with something attached
    (or in a list with something attached) keeps them, as skopeo keeps a signed image
    unchanged, since a new digest would lose what is attached."""

    def __init__(self, target: Compression | None, ahead: _Ahead, notes: list[str],
                 stored: StoredBy, destination: ImageDestination,
                 cancel: CancelToken | None) -> None:
        self._target = target
        self._holder = destination if isinstance(destination, BlobHolder) else None
        self._cancel = cancel
        self._stored = stored
        self._ahead = ahead
        self._notes = notes
        self._compressed: set[Digest] = set()
        self._renamed: set[Digest] = set()

    def target(self, manifest: ImageManifest, written_list: AnyManifest | None = None,
               ) -> Compression | None:
        """What ``manifest``'s uncompressed layers become (None: they stay); the list
        ``written_list`` is written too, so what is attached to it counts."""
        stored = {layer.digest: (self._stored(layer) or media.layer_compression(layer.media_type),
                                 media.layer_compression(layer.media_type))
                  for layer in manifest.layers
                  if layer.media_type in _PLAIN_LAYER_TYPES and not layer.urls}
        plain = [digest for digest, (now, _named) in stored.items() if now == compression.NONE]
        # compressed bytes named "tar" are named for what they are too (no bytes change)
        misnamed = [digest for digest, (now, named) in stored.items()
                    if named == compression.NONE and now != named]
        if self._target is None or not (plain or misnamed) or _opaque(manifest):
            return None
        # where they all are already (an image copied onto itself, say) they stay: the
        # image keeps its digest. Image by image, not layer by layer as containers/image
        # decides (which keeps those there and compresses the others): one image is
        # written one way, and a layer already there in gzip is found by its own digest
        holder = self._holder
        if holder is not None and all(
                holder.holds_blob(layer, cancel=self._cancel) for layer in manifest.layers
                if layer.digest in plain or layer.digest in misnamed):
            return None
        attested = isinstance(written_list, ImageIndex) and any(
            buildkit_attestation_subject(entry) == manifest.digest
            for entry in written_list.manifests)
        for subject in (manifest, written_list):
            if subject is not None and ((attested and subject is manifest)
                                        or self._ahead.attached(subject.digest)):
                whose = "its" if subject is manifest else f"the list {subject.digest.short}'s"
                kept, change = ("uncompressed layers", "compressing them") if plain else (
                    "layers named uncompressed", "naming them for the compressed bytes they hold")
                self._notes.append(
                    f"the {kept} of {manifest.digest.short} are kept as they are: {change} "
                    f"would change {whose} digest, and what is attached to it would no longer "
                    "match")
                return None
        self._compressed.update(plain)
        self._renamed.update(misnamed)
        return self._target

    def note(self, destination: ImageDestination) -> None:
        if count := len(self._renamed):
            layers = "1 layer named uncompressed holds" if count == 1 else \
                f"{count} layers named uncompressed hold"
            self._notes.append(
                f"{layers} compressed bytes, and {'is' if count == 1 else 'are'} named for "
                f"them at {destination.description}, so the image's digest changes "
                "(preserving digests keeps the names)")
        if count := len(self._compressed):
            layers = "1 uncompressed layer is" if count == 1 else \
                f"{count} uncompressed layers are"
            self._notes.append(
                f"{layers} compressed with {self._target} for {destination.description}, as "
                "skopeo does, so the image's digest changes (preserving digests keeps "
                f"{'it' if count == 1 else 'them'} as {'it is' if count == 1 else 'they are'})")


def _with_foreign_note(plan: CopyPlan, destination: ImageDestination) -> CopyPlan:
    """The plan, noting the foreign layers left where their urls point (they are not
    among the blobs copied, so the copy's tally would not show them)."""
    external = {task.source.digest for instance in plan.instances
                for task in instance.layers if task.external}
    if not external:
        return plan
    layers = "1 foreign layer stays" if len(external) == 1 else \
        f"{len(external)} foreign layers stay"
    note = (f"{layers} where {'its' if len(external) == 1 else 'their'} urls point: "
            f"{destination.description} refers to {'it' if len(external) == 1 else 'them'} "
            "there, as skopeo leaves them")
    return replace(plan, notes=(*plan.notes, note))


def _check_required_digest(plan: CopyPlan, destination: ImageDestination) -> None:
    """A destination named by digest takes that image only, unchanged: refuse anything
    else now, rather than once the blobs have moved (as skopeo does)."""
    if not isinstance(destination, DigestedDestination):
        return
    required = destination.required_digest
    if required is None:
        return
    if any(i.changes for i in plan.instances) or (
        plan.list_media_type is not None and not plan.list_is_source
    ):
        raise Unsupported(
            f"{destination.description} is named by digest, so the image must arrive "
            "unchanged, but this copy changes its manifest (a format or compression "
            "conversion, or a rebuilt list); name the destination by tag instead."
        )
    written = plan.top.digest if plan.list_media_type is not None else (
        plan.instances[0].source.digest if plan.instances else plan.top.digest
    )
    if written != required:
        whole = (" It is the digest of the whole list, which a copy of all its images "
                 "writes." if required == plan.top.digest else "")
        raise Unsupported(
            f"{destination.description} asks for the image {required}, but the image "
            f"copied is {written}; a destination named by digest takes only that image."
            + whole
        )


def _check_preserve(
    plan: CopyPlan, options: CopyOptions, destination: ImageDestination
) -> None:
    if not options.preserve_digests:
        return
    changed = [i for i in plan.instances if i.changes]
    rebuilt = plan.list_media_type is not None and not plan.list_is_source
    if not changed and not rebuilt:
        return
    reasons: list[str] = []
    flag_reason = ""  # the first reason in the command line's words, when it names a flag
    converted = [i for i in changed if format_of(i.media_type) != format_of(i.source.media_type)]
    if converted:
        source_format = _format_name(format_of(converted[0].source.media_type))
        target_format = _format_name(format_of(converted[0].media_type))
        if options.format is not None:
            reasons.append(f"the {source_format} manifests would be converted to "
                           f"{target_format}")
            flag_reason = f"--format {options.format} converts the {source_format} manifests"
        elif options.compression == "zstd" and target_format == "OCI":
            reasons.append(f"zstd layers need OCI manifests, so the {source_format} ones "
                           "would be converted")
        else:
            reasons.append(f"{destination.description} stores only {target_format} "
                           f"manifests, so the {source_format} ones would be converted")
    if any(t.recompress is not None for i in changed for t in i.layers):
        reasons.append("layers would be recompressed")
    if rebuilt and isinstance(plan.top, ImageIndex) \
            and len(plan.instances) < len(plan.top.manifests):
        reasons.append("the list would be rebuilt with fewer images")
    why = "; ".join(reasons) or "the manifests would be written anew"
    flag_why = "; ".join([flag_reason, *reasons[1:]]) if flag_reason else why
    raise Unsupported(
        f"The copy would change digests ({why}), which preserving digests forbids.",
        on_command_line=f"The copy would change digests ({flag_why}), which "
        "--preserve-digests forbids.",
    )


def format_plan(plan: CopyPlan) -> str:
    return "\n".join(plan.describe())
