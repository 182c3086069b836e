"""Loading an image from any source: the manifest, the chosen instance, the config.

This is what ``spyglass inspect`` and the image view share: resolve a name to
its top-level manifest, walk a (possibly nested) list to the instance for a
platform, and read the config — every byte verified on the way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from spyglass.core import media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.config import ImageConfig, parse_config, schema1_config
from spyglass.core.digest import Digest, read_verified
from spyglass.core.errors import (
    UNREADABLE,
    BlobNotFound,
    DigestMismatch,
    InvalidConfig,
    InvalidManifest,
    PlatformNotFound,
    clause,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    AnyManifest,
    Descriptor,
    ImageIndex,
    ImageManifest,
    Schema1Manifest,
    manifest_digest,
    parse_manifest,
)
from spyglass.core.platform import Platform, host_platform
from spyglass.core.platform_choice import offered_by, platform_not_found
from spyglass.core.transports.base import (
    ImageSource,
    NamedDigest,
    StoredCompression,
    served_compression,
)

MAX_INDEX_DEPTH = 8


@dataclass(frozen=True)
class LoadedImage:
    """One image, resolved and loaded.

    ``top`` is what the name points at; ``manifest`` the image chosen from it
    (the same object when ``top`` is not a list); ``chain`` the list entries
    walked to get there, outermost first.
    """

    name: str
    top: AnyManifest
    manifest: ImageManifest | Schema1Manifest
    chain: tuple[Descriptor, ...]
    config: ImageConfig | None
    served: tuple[str | None, ...] = ()
    """How the source serves each layer's bytes (:func:`served_compressions`), looked at
    where the image was loaded (a window's worker), so that showing it reads nothing."""
    config_problem: str = ""
    """Why ``config`` is None for an image that names one ("" when it is read, or the
    image is an artifact): the config is missing, damaged or not JSON. The window shows
    the manifest and its layers all the same (:func:`config_or_problem`)."""

    @property
    def instance(self) -> Descriptor | None:
        """The list entry of the chosen image, or None when the name names an image."""
        return self.chain[-1] if self.chain else None

    @property
    def layers(self) -> tuple[Descriptor, ...]:
        return self.manifest.layers


def load_manifest(
    source: ImageSource, digest: Digest | None = None, *, cancel: CancelToken | None = None
) -> AnyManifest:
    """Fetch and parse a manifest; with ``digest``, check the bytes hash to it.

    The manifest keeps the digest it is named by, of whatever algorithm (an index whose
    entries are sha512 digests names its images so, and a copy stores them so); without
    ``digest``, the one the source's name names where it knows it (:class:`NamedDigest`:
    a layout's entry), else its sha256 digest.
    """
    raw, media_type = source.get_manifest(str(digest) if digest else None, cancel=cancel)
    try:
        manifest = parse_manifest(raw, media_type)
    except InvalidManifest as exc:
        which = f"The manifest {digest}" if digest else f"The manifest of {source.description}"
        raise InvalidManifest(f"{which} is not usable: {clause(exc)}") from exc
    named = digest
    if named is None and isinstance(source, NamedDigest):
        named = source.named_digest
        if named is not None and named.algorithm == manifest.digest.algorithm:
            named = None  # (checked by the source as it read it, and as parsed)
    if named is not None:
        actual = manifest_digest(raw, manifest.media_type, named.algorithm)
        if actual != named:
            raise DigestMismatch(
                f"The manifest served for {named} by {source.description} hashes to "
                f"{actual}; it is not trusted."
            )
        if manifest.digest != named:
            manifest = replace(manifest, digest=named)
    return manifest


def load_config(
    source: ImageSource, manifest: ImageManifest | Schema1Manifest, *,
    cancel: CancelToken | None = None,
) -> ImageConfig | None:
    """The image's config, or None for an artifact whose config is no image config."""
    if isinstance(manifest, Schema1Manifest):
        return schema1_config(manifest)
    descriptor = manifest.config
    if descriptor.media_type not in media.CONFIG_TYPES:
        return None
    raw = read_config_blob(source, manifest, cancel=cancel)
    try:
        return parse_config(raw)
    except InvalidConfig as exc:
        raise InvalidConfig(
            f"The config {descriptor.digest} is not usable: {clause(exc)}") from exc


def config_or_problem(
    source: ImageSource, manifest: ImageManifest | Schema1Manifest, *,
    cancel: CancelToken | None = None,
) -> tuple[ImageConfig | None, str]:
    """:func:`load_config`, or None and why the config cannot be had (missing, damaged,
    not JSON, too large): for showing what else there is of the image."""
    try:
        return load_config(source, manifest, cancel=cancel), ""
    except UNREADABLE as exc:
        return None, str(exc)


def _choose(
    source: ImageSource, index: ImageIndex, wanted: Platform, depth: int,
    cancel: CancelToken | None, searched: dict[Digest, frozenset[str]] | None = None,
) -> tuple[list[Descriptor], ImageManifest | Schema1Manifest]:
    """Walk ``index`` (and nested indexes) to the best image for ``wanted``.

    ``searched`` holds the nested lists already searched in vain, with what they offer:
    a list named again (lists may repeat an entry, at every level) is not searched
    again, so the work grows with the number of lists, not of paths through them."""
    if searched is None:
        searched = {}
    if depth > MAX_INDEX_DEPTH:
        raise nested_too_deep(source, index)
    try:
        entry = index.choose(wanted, unplaced=False)  # nested lists are searched first
    except PlatformNotFound as not_here:
        nested = [d for d in index.manifests if media.is_index(d.media_type)]
        unplaced = index.unplaced_image()
        if not nested:
            if unplaced is not None:
                return [unplaced], _image_at(source, unplaced, cancel)
            raise
        offered = offered_by(index.manifests, wanted)
        for candidate in nested:
            if candidate.digest in searched:
                offered.update(searched[candidate.digest])
                continue
            child = load_manifest(source, candidate.digest, cancel=cancel)
            if isinstance(child, ImageIndex):
                try:
                    chain, image = _choose(source, child, wanted, depth + 1, cancel, searched)
                except PlatformNotFound as exc:
                    searched[candidate.digest] = exc.offered
                    offered.update(exc.offered)
                    continue
                return [candidate, *chain], image
        if unplaced is not None:
            return [unplaced], _image_at(source, unplaced, cancel)
        raise platform_not_found(index, wanted, nested=offered) from not_here
    child = load_manifest(source, entry.digest, cancel=cancel)
    if isinstance(child, ImageIndex):
        chain, image = _choose(source, child, wanted, depth + 1, cancel, searched)
        return [entry, *chain], image
    return [entry], child


def nested_too_deep(source: ImageSource, index: ImageIndex) -> InvalidManifest:
    """The sentence of ``index``, a list of ``source``'s image nested below more than
    :data:`MAX_INDEX_DEPTH` others: the image and the list named."""
    return InvalidManifest(
        f"The image {source.description} nests manifest lists more than {MAX_INDEX_DEPTH} "
        f"deep (the list {index.digest.short} is one level too many); Spyglass reads them "
        "no deeper.")


def nested_entries(
    source: ImageSource, index: ImageIndex, *, cancel: CancelToken | None = None,
    depth: int = 0, walked: set[Digest] | None = None,
) -> Iterator[tuple[ImageIndex, Descriptor]]:
    """Every entry of ``index`` and of the lists nested in it that is not itself a list,
    each with the list that holds it, in the order the lists name them (a nested list's
    entries where it stands). A list without nested lists is not read further.

    A nested list named more than once (lists may repeat an entry, at every level) is
    walked once, where it first stands (``walked`` holds the lists walked so far), so
    the work grows with the number of lists, not of paths through them."""
    if walked is None:
        walked = set()
    for entry in index.manifests:
        if media.is_index(entry.media_type) and depth < MAX_INDEX_DEPTH:
            if entry.digest in walked:
                continue
            nested = load_manifest(source, entry.digest, cancel=cancel)
            if isinstance(nested, ImageIndex):
                walked.add(entry.digest)
                yield from nested_entries(source, nested, cancel=cancel, depth=depth + 1,
                                          walked=walked)
                continue
        yield index, entry


def read_config_blob(
    source: ImageSource, manifest: ImageManifest, *, cancel: CancelToken | None = None
) -> bytes:
    """The bytes of ``manifest``'s config blob, whatever its media type (an artifact's
    too), checked against its digest."""
    descriptor = manifest.config
    with source.open_blob(descriptor, cancel=cancel) as stream:
        return read_verified(
            stream, descriptor.digest, descriptor.size, limit=MAX_MANIFEST_SIZE,
            what=f"The config {descriptor.digest}", cancel=cancel,
        )


def choose_entry(
    source: ImageSource, index: ImageIndex, wanted: Platform, *,
    cancel: CancelToken | None = None,
) -> Descriptor:
    """The entry of the image best suited to ``wanted`` in ``index`` or the lists nested
    in it (as :func:`load_image` walks them); :class:`PlatformNotFound` names what all
    of them offer. A list without nested lists is not read further."""
    if not any(media.is_index(d.media_type) for d in index.manifests):
        return index.choose(wanted)
    chain, _image = _choose(source, index, wanted, 0, cancel)
    return chain[-1]


def _image_at(
    source: ImageSource, entry: Descriptor, cancel: CancelToken | None
) -> ImageManifest | Schema1Manifest:
    child = load_manifest(source, entry.digest, cancel=cancel)
    if isinstance(child, ImageIndex):
        raise InvalidManifest(f"The list entry {entry.digest} says it is an image, but is a list.")
    return child


def load_image(
    source: ImageSource,
    *,
    platform: Platform | None = None,
    instance: Digest | None = None,
    cancel: CancelToken | None = None,
) -> LoadedImage:
    """Load the image a source names.

    For a list, the instance is ``instance`` when given, else the one best
    suited to ``platform`` (default: this system).
    """
    top, chain, image = chosen_manifest(source, platform=platform, instance=instance,
                                        cancel=cancel)
    check(cancel)
    config = load_config(source, image, cancel=cancel)
    return LoadedImage(source.description, top, image, tuple(chain), config,
                       served_compressions(source, image))


def chosen_manifest(
    source: ImageSource,
    *,
    platform: Platform | None = None,
    instance: Digest | None = None,
    cancel: CancelToken | None = None,
) -> tuple[ImageManifest | Schema1Manifest | ImageIndex, list[Descriptor],
           ImageManifest | Schema1Manifest]:
    """The manifest of the image :func:`load_image` would load, its config not read:
    (the top manifest, the list entries that lead to it, the image's manifest)."""
    top = load_manifest(source, cancel=cancel)
    chain: list[Descriptor] = []
    if isinstance(top, ImageIndex):
        if instance is not None:
            chosen = next((d for d in walk_index_entries(top) if d.digest == instance), None)
            child = load_manifest(source, instance, cancel=cancel)
            if isinstance(child, ImageIndex):
                raise InvalidManifest(f"{instance} is itself a manifest list, not an image.")
            if chosen is not None:
                chain = [chosen]
            image: ImageManifest | Schema1Manifest = child
        else:
            chain, image = _choose(source, top, platform or host_platform(), 0, cancel)
    else:
        image = top
    return top, chain, image


def served_compressions(source: ImageSource, image: ImageManifest | Schema1Manifest,
                        ) -> tuple[str | None, ...]:
    """How ``source`` serves each of ``image``'s layers (``"gzip"``, ``"zstd"``,
    ``"none"``; None where nothing says): its bytes as stored, where the source knows
    them otherwise than the media type says (see
    :func:`~spyglass.core.transports.base.served_compression`; a layout looks at each
    layer's first bytes). A schema 1 image's layers name no media type (the one their
    descriptors carry is made up): only what the source knows of their bytes is said."""
    if isinstance(image, Schema1Manifest):
        return tuple(source.stored_compression(layer)
                     if isinstance(source, StoredCompression) else None
                     for layer in image.layers)
    return tuple(served_compression(source, layer) for layer in image.layers)


def walk_index_entries(index: ImageIndex) -> Iterator[Descriptor]:
    """The entries of an index (not descending into nested indexes)."""
    yield from index.manifests


@dataclass(frozen=True)
class InstanceSummary:
    """One image of a list (or of a list nested in it) with the size of that image."""

    descriptor: Descriptor
    manifest: AnyManifest | None
    """None when it cannot be read (:attr:`problem` says why)."""
    image_size: int
    """Manifest + config + layers of the instance (0 when it is a nested list or unread)."""
    problem: str = ""
    """Why the entry's image cannot be read ("" when it can): its manifest (a platform
    deleted by digest from a registry, a list copied with ``--multi-arch index-only``),
    or, found when it was to be shown, its config; the list is shown all the same, as
    the CLI still reads its other images."""


def absent_entry_text(entry: Descriptor, source: ImageSource) -> str:
    """Why an entry of a list whose manifest ``source`` does not hold is not shown: the
    list was saved there with some of its images only."""
    return (f"Its manifest {entry.digest.short} is not in {source.description}: the list "
            "was saved there without all of its images (as ctr export of one platform, or "
            "a copy of some platforms keeping the list whole, writes it).")


def summarize_index(
    source: ImageSource, index: ImageIndex, *, cancel: CancelToken | None = None
) -> tuple[list[InstanceSummary], int]:
    """Each image of ``index`` and of the lists nested in it with its image size, and the
    total of the distinct blobs (the lists', and those of the images that could be read).

    A nested list is no entry of its own: its images are, where it stands (as the CLI
    chooses among them), down to :data:`MAX_INDEX_DEPTH` lists deep, each list walked
    once (lists may repeat an entry). A nested list that cannot be read, or is nested
    deeper, is an entry saying why."""
    out: list[InstanceSummary] = []
    seen: dict[Digest, int] = {index.digest: len(index.raw)}
    _summarize(source, index, 0, out, seen, cancel)
    return out, sum(seen.values())


def _summarize(
    source: ImageSource, index: ImageIndex, depth: int, out: list[InstanceSummary],
    seen: dict[Digest, int], cancel: CancelToken | None,
) -> None:
    """Add the images of ``index`` (nested ``depth`` lists deep) to ``out``, and the sizes
    of the distinct manifests and blobs to ``seen``."""
    for entry in index.manifests:
        check(cancel)
        if media.is_index(entry.media_type) and entry.digest in seen:
            continue  # a list walked already
        try:
            child = load_manifest(source, entry.digest, cancel=cancel)
        except BlobNotFound:
            # what `ctr export` of one platform writes, and a copy of some platforms
            # keeping the list as it is: no damage, and said so
            out.append(InstanceSummary(entry, None, 0, absent_entry_text(entry, source)))
            continue
        except UNREADABLE as exc:
            out.append(InstanceSummary(entry, None, 0, str(exc)))
            continue
        if isinstance(child, ImageIndex):
            if entry.digest in seen:
                continue
            if depth >= MAX_INDEX_DEPTH:
                out.append(InstanceSummary(entry, child, 0, str(nested_too_deep(source, child))))
                continue
            seen[entry.digest] = entry.size
            _summarize(source, child, depth + 1, out, seen, cancel)
            continue
        seen[entry.digest] = entry.size
        size = 0
        if isinstance(child, ImageManifest):
            size = child.total_size
            for blob in (child.config, *child.layers):
                seen[blob.digest] = blob.size
        out.append(InstanceSummary(entry, child, size))
