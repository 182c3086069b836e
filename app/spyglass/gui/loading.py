"""What the window's background jobs do: plain functions over the core, run by the Runner.

Nothing here touches Qt, so every function can run on a worker thread; each
takes the job's cancel token and returns an immutable result for the GUI.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from spyglass.core import media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest, read_verified
from spyglass.core.errors import (
    UNREADABLE,
    InvalidLayout,
    InvalidManifest,
    PlatformNotFound,
    SpyglassError,
    Unsupported,
    as_clause,
)
from spyglass.core.image import (
    InstanceSummary,
    LoadedImage,
    config_or_problem,
    load_config,
    load_image,
    load_manifest,
    served_compressions,
    summarize_index,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    AnyManifest,
    Descriptor,
    ImageIndex,
    ImageManifest,
    Schema1Manifest,
    parse_manifest,
)
from spyglass.core.natural import natural_key
from spyglass.core.platform import host_platform
from spyglass.core.platform_choice import holds_only_attestations, platform_twins
from spyglass.core.reference import DockerName, DockerReference, parse_image_name
from spyglass.core.signatures.attached import (
    AttachedPart,
    SubjectAttachments,
    every_attachment,
    image_attachments,
    verify_part,
)
from spyglass.core.signatures.certificates import load_public_key
from spyglass.core.signatures.model import InvalidKey, Kind, Verification
from spyglass.core.transports import open_location
from spyglass.core.transports.base import ImageEntry, ImageSource, Location, PartlyListed
from spyglass.core.transports.registry import (
    RegistryClient,
    clients_beside,
    open_registry_image,
)
from spyglass.gui.formatting import instance_label, is_attestation

if TYPE_CHECKING:
    from spyglass.core.layerfiles import LayerListing


@dataclass(frozen=True)
class ListedLocation:
    """An opened location and the images it holds."""

    location: Location
    entries: tuple[ImageEntry, ...]
    unlisted: tuple[tuple[str, str], ...] = ()
    """Each image the listing passed over, and why it could not be read (PartlyListed)."""


def is_attachment_entry(entry: ImageEntry) -> bool:
    """True for a layout entry that holds something attached to an image rather than an
    image (:attr:`ImageEntry.attached`): those show in their image's Signatures tab."""
    return entry.attached


def shown_entries(location: Location, entries: Sequence[ImageEntry],
                  cancel: CancelToken) -> list[ImageEntry]:
    """The entries of a listing a window shows: its images, and what is attached to an
    image it does not hold — a signature or referrer shows in its image's Signatures tab
    only when that image (or the list holding it, or a referrer of it) is there, so one of
    an image that is not stays listed, rather than the place look empty."""
    images = [e for e in entries if not is_attachment_entry(e)]
    attached = [e for e in entries if is_attachment_entry(e)]
    if not attached:
        return images
    present = {e.descriptor.digest for e in images}
    if any(e.attached_to not in present for e in attached):
        present |= _instances(location, images, cancel)
    hidden: set[int] = set()
    grew = True
    while grew:  # a signature on an SBOM goes with the SBOM, which goes with its image
        grew = False
        for number, entry in enumerate(attached):
            if number not in hidden and entry.attached_to in present:
                hidden.add(number)
                present.add(entry.descriptor.digest)
                grew = True
    return images + [e for n, e in enumerate(attached) if n not in hidden]


def _instances(location: Location, images: Sequence[ImageEntry],
               cancel: CancelToken) -> set[Digest]:
    """The digests the lists among ``images`` hold (one that cannot be read holds none
    here: opening it says what is wrong)."""
    held: set[Digest] = set()
    for entry in images:
        if not media.is_index(entry.descriptor.media_type):
            continue
        check(cancel)
        source = location.open_image(entry)
        try:
            raw, media_type = source.get_manifest(cancel=cancel)
            top = parse_manifest(raw, media_type)
        except (SpyglassError, OSError):
            continue
        finally:
            source.close()
        if isinstance(top, ImageIndex):
            held.update(d.digest for d in top.manifests)
    return held


class EmptyFolder:
    """An empty folder opened as a place (a :class:`Location` of no images): an image
    dropped or copied onto it makes it an OCI image layout."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def kind(self) -> str:
        return "folder"

    @property
    def title(self) -> str:
        return self.path.name or str(self.path)

    @property
    def description(self) -> str:
        return (f"An empty folder: drop an image on it, or copy one to oci:{self.path}:TAG, "
                "to make it an OCI image layout.")

    def list_images(self, *, cancel: CancelToken | None = None) -> Iterator[ImageEntry]:
        return iter(())

    def open_image(self, entry: ImageEntry) -> ImageSource:
        raise InvalidLayout(f'The folder "{self.path}" is empty; it holds no image.')

    def close(self) -> None:
        """Nothing is open."""


def open_and_list(path: Path, cancel: CancelToken) -> ListedLocation:
    """Open a layout folder or archive and list its images (not what is attached to them),
    named ones in natural order (``1.9`` before ``1.10``), then those without a name in
    the order the layout keeps them; an empty folder is an :class:`EmptyFolder`.

    ``cancel`` also stops the decompressing of a compressed archive, which opening it
    starts."""
    try:
        empty = path.is_dir() and not any(path.iterdir())
    except OSError:
        empty = False  # opening it says what is wrong
    if empty:
        return ListedLocation(EmptyFolder(path), ())
    location = open_location(path, cancel=cancel)
    try:
        entries = tuple(sorted(
            shown_entries(location, list(location.list_images(cancel=cancel)), cancel),
            key=lambda e: (1, natural_key("")) if e.label.startswith("@")
            else (0, natural_key(e.label))))
        check(cancel)
    except BaseException:
        location.close()
        raise
    unlisted = location.unlisted if isinstance(location, PartlyListed) else ()
    return ListedLocation(location, entries, unlisted)


@dataclass(frozen=True)
class ImageState:
    """Everything the image view shows about one image, as loaded.

    ``instances`` is empty unless ``top`` is a list; ``image`` is the image
    shown in the per-image tabs (for a list, one of its instances). A list none of
    whose images can be shown (an empty one, one whose images are all missing) is still
    shown, its ``image`` None and ``problem`` saying why.
    """

    location_title: str
    entry: ImageEntry
    source: ImageSource
    top: AnyManifest
    instances: tuple[InstanceSummary, ...]
    total_size: int
    image: LoadedImage | None
    problem: str = ""
    """Why no image of the list is shown ("" when one is)."""
    read_from: str = ""
    """Where the bytes were read from when that is not where ``entry.name`` points (a
    registries.conf mirror of a registry's tag), else "". Only shown: ``entry.name`` is
    the name the image is copied, checked by policy and signed as."""

    @property
    def is_list(self) -> bool:
        return isinstance(self.top, ImageIndex)

    @property
    def current(self) -> InstanceSummary | None:
        """The list entry shown, or None for a single image."""
        instance = self.image.instance if self.image is not None else None
        if instance is None:
            return None
        return next(
            (s for s in self.instances if s.descriptor.digest == instance.digest), None
        )

    @property
    def of_entries(self) -> bool:
        """A list none of whose entries names a platform (a referrers index, a list of
        artifacts): what it holds are entries, not platforms."""
        return self.is_list and not any(s.descriptor.platform is not None
                                        for s in self.instances)

    @functools.cached_property
    def twins(self) -> dict[Digest, Descriptor]:
        """The list's images that their platform does not choose, for another image of the
        list has it too (:func:`~spyglass.core.platform_choice.platform_twins`), each with
        that other image: copied alone, such an image goes by its digest. Worked out once
        a state: every label of a list's entries (:meth:`label`) reads it."""
        if not isinstance(self.top, ImageIndex):
            return {}
        return platform_twins(self.top.manifests, [s.descriptor for s in self.instances])

    def label(self, descriptor: Descriptor) -> str:
        """What the list's entry ``descriptor`` is called (:func:`instance_label`): with
        its digest where the list has another image for its platform (:attr:`twins`)."""
        twins = self.twins
        return instance_label(descriptor, twinned=descriptor.digest in twins
                              or descriptor in twins.values())

    @property
    def unreadable(self) -> tuple[InstanceSummary, ...]:
        """The list's entries whose image cannot be read (its manifest, or its config)."""
        return tuple(s for s in self.instances if s.problem)

    @property
    def unsized(self) -> int:
        """How many of the list's images are Docker schema 1, whose layers' sizes are not
        recorded: ``total_size`` leaves their layers out."""
        return sum(1 for s in self.instances if isinstance(s.manifest, Schema1Manifest))

    def with_image(self, image: LoadedImage) -> ImageState:
        return dataclasses.replace(self, image=image, problem="")


def _image_size(manifest: AnyManifest) -> int:
    if isinstance(manifest, ImageManifest):
        return manifest.total_size
    return len(manifest.raw)


def default_instance(
    top: ImageIndex, instances: tuple[InstanceSummary, ...]
) -> InstanceSummary | None:
    """The entry to show first: the image of ``top``'s entries (``instances``, a nested
    list's where it stands) that the command line and skopeo take for this machine, by
    the same rule (:meth:`~spyglass.core.manifest.ImageIndex.choose`: the best match of
    those that name a platform, else an OCI index's first image without one), among
    those that can be read; else the first of those."""
    images = [
        s for s in instances
        if isinstance(s.manifest, ImageManifest | Schema1Manifest) and not s.problem
        and not is_attestation(s.descriptor)
    ]
    if not images:
        return None
    readable = dataclasses.replace(top, manifests=tuple(s.descriptor for s in images))
    try:
        chosen = readable.choose(host_platform())
    except PlatformNotFound:
        return images[0]
    return next(s for s in images if s.descriptor is chosen)


def _instance_image(
    source: ImageSource, top: ImageIndex, summary: InstanceSummary, cancel: CancelToken
) -> LoadedImage:
    manifest = summary.manifest
    if manifest is None:
        raise InvalidManifest(summary.problem)
    if isinstance(manifest, ImageIndex):
        raise InvalidManifest(
            f"{summary.descriptor.digest} is itself a manifest list; open it from the "
            "Raw JSON tab."
        )
    config = load_config(source, manifest, cancel=cancel)
    return LoadedImage(source.description, top, manifest, (summary.descriptor,), config,
                       served_compressions(source, manifest))


def load_entry(
    location: Location, entry: ImageEntry, location_title: str, cancel: CancelToken
) -> ImageState:
    """Open one image of a location: its top manifest, a list's entries, one image's config."""
    return load_source(location.open_image(entry), entry, location_title, cancel)


def load_registry_tag(
    client: RegistryClient, repository: str, tag: str, cancel: CancelToken
) -> ImageState:
    """Open ``docker://HOST/REPOSITORY:TAG`` as the image view shows any image, read
    where the command line reads it (registries.conf's mirrors and location, in order).

    The entry's descriptor comes from the manifest the tag points at now
    (fetched once: the source keeps it for :func:`load_source`). The entry is named
    ``docker://HOST/REPOSITORY:TAG`` whichever pull source answered, as containers/image
    names it: a policy's scope and a signature's identity are the name's, not a
    mirror's, and a copy of the entry reads through the mirrors again (falling back to
    HOST); the mirror read is the state's ``read_from``.
    """
    reference = DockerReference(client.host, repository, tag)
    source = open_registry_image(reference, make_client=clients_beside(client), cancel=cancel)
    try:
        top = load_manifest(source, cancel=cancel)
    except BaseException:
        source.close()
        raise
    descriptor = Descriptor(top.media_type, top.digest, len(top.raw))
    entry = ImageEntry(f"{repository}:{tag}", descriptor, f"docker://{reference}")
    state = load_source(source, entry, client.host, cancel)
    if source.description != entry.name:  # a mirror answered
        state = dataclasses.replace(state, read_from=source.description)
    return state


def load_source(
    source: ImageSource, entry: ImageEntry, location_title: str, cancel: CancelToken
) -> ImageState:
    """Load what the image view shows of ``entry`` from ``source`` (closed on failure)."""
    try:
        top = load_manifest(source, cancel=cancel)
        problem = ""
        image: LoadedImage | None
        if isinstance(top, ImageIndex):
            summaries, total = summarize_index(source, top, cancel=cancel)
            instances = tuple(summaries)
            image, problem, instances = _first_image(source, top, instances, cancel)
        else:
            instances = ()
            total = _image_size(top)
            # a config that cannot be had (not JSON, say) leaves the manifest to show
            config, config_problem = config_or_problem(source, top, cancel=cancel)
            image = LoadedImage(source.description, top, top, (), config,
                                served_compressions(source, top), config_problem)
        check(cancel)
    except BaseException:
        source.close()
        raise
    return ImageState(location_title, entry, source, top, instances, total, image, problem)


def _first_image(
    source: ImageSource, top: ImageIndex, instances: tuple[InstanceSummary, ...],
    cancel: CancelToken,
) -> tuple[LoadedImage | None, str, tuple[InstanceSummary, ...]]:
    """The image a list is first shown with (:func:`default_instance`; if that cannot be
    read, the next that can, the one that could not marked so; else what
    :func:`load_image` chooses), or None and why none can be: the list is shown all the
    same, its Platforms and Raw JSON being what there is to see. With the entries, as
    marked."""
    marked = list(instances)
    while (chosen := default_instance(top, tuple(marked))) is not None:
        try:
            return _instance_image(source, top, chosen, cancel), "", tuple(marked)
        except UNREADABLE as exc:  # (its config, say, is missing): the next one
            marked[marked.index(chosen)] = dataclasses.replace(chosen, problem=str(exc))
    instances = tuple(marked)
    try:
        if not instances:
            return None, "This list is empty: it names no image.", instances
        if all(s.problem for s in instances):
            count = len(instances)
            return None, (f"{'None of its' if count > 1 else 'Its'} {count} entr"
                          f"{'ies' if count > 1 else 'y'} can be read: "
                          f"{as_clause(instances[0].problem)}"), instances
        return load_image(source, cancel=cancel), "", instances
    except PlatformNotFound:
        if all(is_attestation(s.descriptor) for s in instances):
            return None, f"This list {holds_only_attestations(len(instances))}.", instances
        return None, ("No entry of this list names a platform to show first; select one "
                      "in Platforms."), instances
    except UNREADABLE as exc:
        return None, f"Cannot show the image for this list: {exc}", instances


def load_instance(state: ImageState, digest: Digest, cancel: CancelToken) -> LoadedImage:
    """Another instance of the list ``state`` shows."""
    if not isinstance(state.top, ImageIndex):
        raise InvalidManifest(f"{state.entry.label} is not a manifest list.")
    summary = next((s for s in state.instances if s.descriptor.digest == digest), None)
    if summary is None:
        return load_image(state.source, instance=digest, cancel=cancel)
    return _instance_image(state.source, state.top, summary, cancel)


DocumentKind = Literal["manifest", "config"]


@dataclass(frozen=True)
class RawDocument:
    """One JSON document the Raw JSON tab shows: a manifest, an index or a config.

    ``manifest`` is the parsed manifest (None for a config); ``title`` is what
    the breadcrumb calls it.
    """

    title: str
    kind: DocumentKind
    raw: bytes
    media_type: str
    digest: Digest
    manifest: AnyManifest | None = None


def manifest_document(manifest: AnyManifest, title: str) -> RawDocument:
    return RawDocument(title, "manifest", manifest.raw, manifest.media_type,
                       manifest.digest, manifest)


def fetch_manifest_document(
    source: ImageSource, digest: Digest, title: str, cancel: CancelToken
) -> RawDocument:
    """A manifest (or index) the current document references, verified against ``digest``."""
    return manifest_document(load_manifest(source, digest, cancel=cancel), title)


def fetch_blob_document(
    source: ImageSource, descriptor: Descriptor, title: str, cancel: CancelToken
) -> RawDocument:
    """A small JSON blob (a config) the current manifest references, verified."""
    with source.open_blob(descriptor, cancel=cancel) as stream:
        raw = read_verified(
            stream, descriptor.digest, descriptor.size, limit=MAX_MANIFEST_SIZE,
            what=f"The blob {descriptor.digest}", cancel=cancel,
        )
    return RawDocument(title, "config", raw, descriptor.media_type, descriptor.digest)


def list_files(
    source: ImageSource, layer: Descriptor, cancel: CancelToken
) -> LayerListing:
    """The files of one layer (through :mod:`spyglass.core.layerfiles`)."""
    try:
        from spyglass.core.layerfiles import list_layer_files
    except ImportError as exc:
        raise Unsupported(
            "Listing the files of a layer is not available in this build of Spyglass."
        ) from exc
    return list_layer_files(source, layer, cancel=cancel)


# -- signatures and other attachments

MAX_KEY_FILE_SIZE: Final = 1024 * 1024
"""A public key or certificate file is a few kilobytes; larger files are refused unread."""


@dataclass(frozen=True)
class Attachments:
    """What is attached to the image a source names (see :func:`load_attachments`)."""

    source: ImageSource
    top: Digest
    subjects: tuple[SubjectAttachments, ...]

    @property
    def count(self) -> int:
        """Everything attached, to attachments too (a signature on an SBOM)."""
        return sum(1 for s in self.subjects for _content in every_attachment(s.attachments))

    @property
    def nested(self) -> int:
        """How many of :attr:`count` are attached to another attachment."""
        return self.count - sum(len(s.attachments) for s in self.subjects)

    @property
    def notes(self) -> tuple[str, ...]:
        """Sentences on what was found but is not attached after all, and is not shown
        (:attr:`~spyglass.core.signatures.attached.SubjectAttachments.notes`)."""
        return tuple(note for s in self.subjects for note in s.notes)


def load_attachments(source: ImageSource, top: Digest, cancel: CancelToken) -> Attachments:
    """Everything attached to the image ``source`` names and to each of its platform images,
    read and decoded (:func:`~spyglass.core.signatures.attached.image_attachments`)."""
    subjects = image_attachments(source, cancel=cancel)
    check(cancel)
    return Attachments(source, top, tuple(subjects))


def read_key_file(path: Path) -> bytes:
    """The bytes of a public key or certificate file a person chose (small, or refused)."""
    try:
        size = path.stat().st_size
        if size > MAX_KEY_FILE_SIZE:
            raise InvalidKey(
                f"{path} has {size:,} bytes, too many for a public key or certificate "
                "(those are a few kilobytes). Choose the PEM file of the key."
            )
        return path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InvalidKey(f"Cannot read the key file {path}: {reason}.") from exc


def registry_identity(name: str) -> DockerReference | None:
    """The registry reference an image was opened by (``docker://HOST/REPO:TAG``), which
    its signatures must name (:func:`~spyglass.core.signatures.identity.identity_refusal`);
    None for an image in a folder or archive, whose name a signature does not claim."""
    try:
        parsed = parse_image_name(name)
    except SpyglassError:
        return None
    return parsed.reference if isinstance(parsed, DockerName) else None


def verify_parts(
    parts: Sequence[AttachedPart], image: Digest, key_file: Path, cancel: CancelToken,
    identity: DockerReference | None = None,
) -> tuple[Verification, ...]:
    """Check each of ``parts`` against the manifest ``image`` with ``key_file``: a GPG
    keyring for simple signing signatures, a PEM public key or certificate for the rest.
    ``identity``: the registry reference the image was opened by, which a signature's
    signed reference must be accepted for (as ``spyglass signatures`` compares it; see
    :func:`~spyglass.core.signatures.attached.verify_part`); None for an image in a
    folder or archive.

    Raises :class:`~spyglass.core.signatures.model.InvalidKey` when the file cannot be read.
    """
    key: bytes | None = None
    results: list[Verification] = []
    for part in parts:
        check(cancel)
        if part.kind is Kind.SIMPLE_SIGNING:
            results.append(verify_part(part, image, keyring=key_file, identity=identity))
            continue
        if key is None:
            key = read_key_file(key_file)
            load_public_key(key, what=f'the key file "{key_file}"')  # named if unusable
        results.append(verify_part(part, image, key=key, identity=identity))
    return tuple(results)
