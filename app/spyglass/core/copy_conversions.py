"""Conversions a copy plans: the format each manifest is written in (OCI or Docker
schema 2, media types mapped between them) and what becomes of each layer's
compression (recompressed, compressed where it was plain, named for its bytes,
left where its urls point), image by image (:func:`plan_instance`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, cast

from spyglass.core import compression, media
from spyglass.core.cancel import CancelToken
from spyglass.core.config import ImageConfig
from spyglass.core.copy_instances import Ahead
from spyglass.core.copy_plan import BlobTask, Compression, CopyOptions, Format, InstancePlan
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    InvalidManifest,
    Unsupported,
)
from spyglass.core.manifest import (
    AnyManifest,
    Descriptor,
    ImageIndex,
    ImageManifest,
)
from spyglass.core.referrers import (
    buildkit_attestation_subject,
)
from spyglass.core.transports.base import (
    COMPRESSED,
    BlobHolder,
    DigestedDestination,
    ForeignLayers,
    ImageDestination,
    ImageSource,
    StoredCompression,
)

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


def map_type(media_type: str, target: Format) -> str:
    table = _TO_OCI if target == "oci" else _TO_DOCKER
    if format_of(media_type) == target:
        return media_type
    mapped = table.get(media_type)
    if mapped is None:
        raise Unsupported(
            f'The media type "{media_type}" has no {format_name(target)} equivalent; '
            "the image cannot be converted."
        )
    return mapped


def format_name(target: Format) -> str:
    return "OCI" if target == "oci" else "Docker schema 2"


def choose_format(
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
            takes = format_name(format_of(supported[0]))
            raise Unsupported(
                f"{destination.description} cannot store {format_name(wanted)} manifests, "
                f"only {takes} ones."
            )
        wanted = format_of(supported[0])
    return wanted


def forced_format_note(manifest_type: str, destination: ImageDestination,
                       options: CopyOptions) -> str:
    """What the copy converts without being asked (no ``--format``): a Docker image into
    a destination that takes OCI manifests only, or one recompressed to zstd."""
    if options.format is not None or options.multi_arch == "index-only":
        return ""
    was = format_of(manifest_type)
    target = choose_format(manifest_type, destination, options)
    if target == was:
        return ""
    supported = destination.supported_manifest_types
    if supported and not any(format_of(t) == was for t in supported):
        why = f"{destination.description} takes {format_name(target)} manifests only"
    else:
        why = "Docker schema 2 cannot hold zstd layers"
    return (f"written as {format_name(target)}, from {format_name(was)}: {why}, so the "
            "digests change")


def plan_instance(
    manifest: ImageManifest,
    entry: Descriptor | None,
    config: ImageConfig | None,
    destination: ImageDestination,
    options: CopyOptions,
    stored: StoredBy,
    plain_to: Compression | None = None,
) -> InstancePlan:
    target = choose_format(manifest.media_type, destination, options)
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
        map_type(manifest.config.media_type, target)
        if manifest.config.media_type in media.CONFIG_TYPES
        else manifest.config.media_type
    )
    manifest_type = map_type(manifest.media_type, target)
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


def plain_target(destination: ImageDestination, options: CopyOptions) -> Compression | None:
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


def stored_by(source: ImageSource) -> StoredBy:
    if isinstance(source, StoredCompression):
        return source.stored_compression
    return lambda layer: None


def _compression_change(
    layer: Descriptor, stored: StoredBy, wanted: Compression | None,
    plain_to: Compression | None = None, *, names_unstored: bool = False,
    converted: bool = False,
) -> tuple[Compression | None, Compression]:
    """``(recompress to, compression written)`` of a plain layer: what ``wanted`` asks
    for, else what its media type names (``plain_to`` for one declared uncompressed).
    Bytes stored otherwise than their media type says (a docker-archive's plain tars
    named ``tar.gzip``) are made to match it where uncompressed layers are compressed
    (``plain_to``), and compressed bytes named ``tar`` are named for what they are there.
    In a manifest written anew in the other format (``converted``: its digest changes
    anyway) any such bytes are named for what they are (plain tars ``…layer.v1.tar``,
    ``…rootfs.diff.tar``), so that readers such as umoci do not take them for gzip.
    Only where the manifest is copied unchanged (``dir:``, or digests to keep) are they
    copied under the media type they came with, as containers/image copies them, which
    keeps skopeo's digest. So are plain bytes into a destination that keeps no manifest
    (``names_unstored``: a docker-archive, whose readers name every layer ``tar.gzip``
    again): renamed ``tar``, the digest reported would be of a manifest no reader sees."""
    declared = cast("Compression", media.layer_compression(layer.media_type))
    current = cast("Compression", stored(layer) or declared)
    if names_unstored and wanted == "none" and current == "none":
        return None, declared
    if wanted is None and current != declared and not (current == "none" and plain_to):
        if converted or (plain_to is not None and declared == "none"
                         and current in ("gzip", "zstd")):
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


def recompresses(
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
    plain_to = plain_target(destination, options)
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
    where they point (a registry, an OCI layout or archive) does, as containers/image
    leaves it; another gets its bytes from the source, like any blob (a source that lacks them
    says so)."""
    external = isinstance(destination, ForeignLayers) and destination.accepts_foreign_layers
    return BlobTask(layer, map_type(layer.media_type, target), external=external)


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
        return BlobTask(layer, map_type(layer.media_type, target))
    recompress, after = _compression_change(
        layer, stored, wanted, plain_to, names_unstored=_names_unstored(destination),
        converted=format_of(manifest.media_type) != target)
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
        # (each layer written anew is checked against its diff ID: without one it cannot)
        done = ("written uncompressed" if recompress == compression.NONE
                else f"recompressed to {recompress}")
        raise InvalidManifest(
            f"The image {manifest.digest} has {len(manifest.layers)} layer"
            f"{'s' if len(manifest.layers) != 1 else ''} but its config lists "
            f"{len(diff_ids)} diff ID{'s' if len(diff_ids) != 1 else ''}; its layers cannot "
            f"be {done} safely, as each is checked against its diff ID."
        )
    current = cast("Compression", stored(layer) or media.layer_compression(layer.media_type))
    return BlobTask(layer, media_type, recompress, diff_ids[index], recompress_from=current)



class PlainLayerChoice:
    """Decides, image by image, whether uncompressed layers are compressed (see
    :func:`plain_target`), and notes what it did: an image with something attached
    (or in a list with something attached) keeps them, as skopeo keeps a signed image
    unchanged, since a new digest would lose what is attached."""

    def __init__(self, target: Compression | None, ahead: Ahead, notes: list[str],
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


