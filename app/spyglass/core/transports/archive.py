"""Image tarballs, read side: ``docker-archive:`` and ``oci-archive:``.

Both are read member by member from the tar file, in place: the archive is
never extracted (:class:`~spyglass.core.transports.tartree.TarTree`).
Writing them is :mod:`spyglass.core.transports.archive_write` (``oci-archive:``) and
:mod:`spyglass.core.transports.docker_archive_write` (``docker-archive:``).

Compressed tarballs (``docker save | gzip``, and bzip2, xz or zstd) are read
as containers/image reads them: decompressed once, before anything else, into
a private temporary file that the tree reads in place and removes when it is
closed (:mod:`spyglass.core.transports.decompressed`).

``oci-archive:PATH[:REF]``
    a tar of an OCI image layout, read by
    :class:`~spyglass.core.transports.layout.OCILayoutReader` over a
    :class:`TarTree`.

``docker-archive:PATH[:NAME:TAG | :@N]``
    a ``docker save`` tarball: ``manifest.json`` lists the images, each with
    its ``Config`` file, ``RepoTags`` and ``Layers`` files. The image has no
    stored manifest; :class:`DockerArchiveReader` synthesizes the one
    containers/image synthesizes (``docker/internal/tarfile/src.go``,
    ``GetManifest``), byte for byte, so the digest equals what
    ``skopeo inspect docker-archive:…`` prints:

    - Docker schema 2, serialized as Go's ``encoding/json`` does: compact, keys
      in struct order (``schemaVersion, mediaType, config, layers``; in each
      descriptor ``mediaType, size, digest``);
    - the config: ``application/vnd.docker.container.image.v1+json``, the sha256
      of the config file and its length;
    - one layer per ``rootfs.diff_ids`` entry of the config, in order
      (duplicates included): digest = the diff ID, size = the length of the
      *uncompressed* layer (the tar member's size, or for a compressed layer
      file the length after decompressing it), media type
      ``application/vnd.docker.image.rootfs.diff.tar.gzip``, containers/image's
      ``DockerV2Schema2LayerMediaType``, although the blob is an uncompressed
      tar: the name is kept for the digest's sake.

    One deliberate difference: a layer file stored as a link (``docker save``
    before Docker 25 links a layer it saved for another image already) is
    followed, and its size is the size of what it links to. skopeo 1.9 takes
    the link's own header size, 0, so its digest differs there, and its copy of
    such an image fails ("write too long").

    Its blobs are served accordingly: the config file's bytes, and each layer
    file decompressed when it is compressed (gzip, bzip2, xz, zstd, detected by
    content as containers/image's ``compression.AutoDecompress`` does), so that
    what is read hashes to the diff ID. The legacy ``repositories`` file and
    ``LayerSources`` are ignored, as containers/image ignores them.

Safety: member names that are absolute or contain ``..`` make the whole
archive refused (:class:`UnsafeArchive`); symbolic and hard links are followed
only while their targets stay inside the archive; paths named in a
``manifest.json`` are checked before anything they name is read.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from spyglass.core import compression, gojson, media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import CHUNK_SIZE, Digest, VerifyingReader
from spyglass.core.errors import (
    BlobNotFound,
    CorruptData,
    DamagedArchive,
    ImageNotFound,
    InvalidConfig,
    InvalidDigest,
    InvalidLayout,
    InvalidReference,
    SpyglassError,
    TemporarySpaceFailed,
    TransportError,
    UnsafeArchive,
    clause,
    json_problem,
)
from spyglass.core.listed import some_names
from spyglass.core.manifest import (
    Descriptor,
)
from spyglass.core.reference import parse_docker_reference
from spyglass.core.transports.base import FileTree, ImageEntry
from spyglass.core.transports.files import (
    describe_os_error,
)
from spyglass.core.transports.layout import (
    LayoutImageSource,
    OCILayoutLocation,
    OCILayoutReader,
)
from spyglass.core.transports.tartree import (
    TarTree,
    open_decompressed,
    read_small,
    truncation_hint,
)

DOCKER_ARCHIVE: Final = "docker-archive"
OCI_ARCHIVE: Final = "oci-archive"


# --------------------------------------------------------------------------- docker-archive


def go_field(data: Mapping[str, Any], key: str) -> Any:
    """``data[key]``, or a key equal to it but for case, as Go's encoding/json matches fields."""
    if key in data:
        return data[key]
    folded = key.casefold()
    for name, value in data.items():
        if name.casefold() == folded:
            return value
    return None


@dataclass(frozen=True)
class DockerArchiveItem:
    """One image of a ``docker save`` archive: an entry of its ``manifest.json``."""

    index: int
    """The entry's position, as ``docker-archive:PATH:@N`` counts."""
    config: str
    """The member holding the image config (a normalized name inside the archive)."""
    repo_tags: tuple[str, ...]
    """The names the image was saved under, as written (``busybox:latest``)."""
    layers: tuple[str, ...]
    """The layer members, base first, one per ``rootfs.diff_ids`` entry of the config."""


@dataclass(frozen=True)
class ArchiveLayer:
    """Where a layer of a docker-archive image lives and how long it is uncompressed."""

    path: str
    size: int


@dataclass(frozen=True)
class DockerArchiveImage:
    """What containers/image computes for a docker-archive image, and its manifest."""

    item: DockerArchiveItem
    config: bytes
    config_digest: Digest
    diff_ids: tuple[Digest, ...]
    layers: Mapping[Digest, ArchiveLayer]
    manifest: bytes
    manifest_digest: Digest


def schema2_manifest(
    config_digest: Digest, config_size: int, layers: Sequence[tuple[Digest, int]]
) -> bytes:
    """The manifest containers/image synthesizes for a docker-archive image, byte for byte.

    ``json.Marshal`` of ``manifest.Schema2``: compact, fields in struct order;
    layers carry ``DockerV2Schema2LayerMediaType`` (the ``tar.gzip`` name).
    """

    def descriptor(media_type: str, size: int, digest: Digest) -> dict[str, Any]:
        return {"mediaType": media_type, "size": size, "digest": str(digest)}

    manifest = {
        "schemaVersion": 2,
        "mediaType": media.DOCKER_V2S2,
        "config": descriptor(media.DOCKER_CONFIG, config_size, config_digest),
        "layers": [descriptor(media.DOCKER_LAYER_GZIP, size, digest) for digest, size in layers],
    }
    return json.dumps(manifest, separators=(",", ":")).encode()


class DockerArchiveReader:
    """Reads a ``docker save`` archive: its ``manifest.json`` at once, each image on demand.

    Every path ``manifest.json`` names is checked before anything is read
    through it. Per-image data (config, layer sizes, the synthesized manifest)
    is computed once, under a lock, and shared by every source of the archive.
    """

    def __init__(self, tree: TarTree, path: Path) -> None:
        self.tree = tree
        self.path = path
        self._lock = threading.Lock()
        self._images: dict[int, DockerArchiveImage] = {}
        self.items: tuple[DockerArchiveItem, ...] = self._read_manifest_json()

    @property
    def what(self) -> str:
        return f'The docker-archive "{self.path}"'

    # -- manifest.json

    def _read_manifest_json(self) -> tuple[DockerArchiveItem, ...]:
        if not self.tree.exists("manifest.json"):
            if self.tree.exists("oci-layout"):
                hint = f" It looks like an OCI archive; open it as oci-archive:{self.path}."
            elif self.tree.exists("repositories"):
                hint = (
                    " It has only the legacy repositories file of Docker before 1.10, which "
                    "Spyglass (like skopeo) does not read; save the image again with a newer "
                    "Docker."
                )
            else:
                hint = ""
            hint = truncation_hint(self.tree) + hint
            raise InvalidLayout(
                f'"{self.path}" is not a docker-archive: it has no manifest.json (as docker '
                f"save writes it).{hint}"
            )
        try:
            raw = read_small(self.tree, "manifest.json", f"{self.what} has a manifest.json that")
        except FileNotFoundError:  # pragma: no cover - exists() said it was there
            raise InvalidLayout(f"{self.what} has no readable manifest.json.") from None
        try:
            data = gojson.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidLayout(
                f"{self.what} has a manifest.json that is not JSON: {json_problem(exc)}."
            ) from exc
        if not isinstance(data, list):
            raise InvalidLayout(
                f"{self.what} has a manifest.json that is not a list of images; expected "
                '[{"Config": …, "RepoTags": […], "Layers": […]}].'
            )
        return tuple(self._item(i, entry) for i, entry in enumerate(data))

    def _item(self, index: int, entry: object) -> DockerArchiveItem:
        where = f"{self.what}: image @{index} in manifest.json"
        if not isinstance(entry, dict):
            raise InvalidLayout(f"{where} is not a JSON object.")
        config = go_field(entry, "Config")
        if not isinstance(config, str) or not config:
            raise InvalidLayout(f'{where} has no "Config" file name.')
        tags = go_field(entry, "RepoTags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise InvalidLayout(f'{where} has "RepoTags" that are not a list of strings.')
        layers = go_field(entry, "Layers") or []
        if not isinstance(layers, list) or not all(isinstance(p, str) for p in layers):
            raise InvalidLayout(f'{where} has "Layers" that are not a list of file names.')
        return DockerArchiveItem(
            index=index,
            config=self._inside(config, where),
            repo_tags=tuple(tags),
            layers=tuple(self._inside(p, where) for p in layers),
        )

    def _inside(self, name: str, where: str) -> str:
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if name.startswith("/") or ".." in parts or "\0" in name or not parts:
            raise UnsafeArchive(
                f'{where} names the file "{name}", which leads outside the archive; refusing '
                "to read the archive."
            )
        return "/".join(parts)

    # -- choosing an image

    def _matching(self, reference: str) -> DockerArchiveItem | None:
        wanted = parse_docker_reference(reference)
        if wanted.digest is not None:
            raise InvalidReference(
                f'"{reference}" names a digest; a docker-archive image is chosen by NAME:TAG or @N.'
            )
        for item in self.items:
            for tag in item.repo_tags:
                try:
                    parsed = parse_docker_reference(tag, default_tag=False)
                except InvalidReference:
                    continue
                if str(parsed) == str(wanted):
                    return item
        return None

    def _listing(self) -> str:
        """The images held and their tags, for a sentence (the first few of each)."""
        return some_names([f"@{item.index} {some_names(item.repo_tags) or '(no tags)'}"
                           for item in self.items], joined_by="; ", more_of="image")

    def choose(self, reference: str | None, index: int | None) -> DockerArchiveItem:
        """The image named by ``reference`` (``NAME:TAG``, normalized) or ``index`` (``@N``).

        With neither, the archive's only image. Raises :class:`ImageNotFound`
        with a sentence listing what the archive holds.
        """
        if reference is not None and index is not None:
            raise InvalidReference(
                f'docker-archive:{self.path}: give either a NAME:TAG ("{reference}") or an '
                f"@INDEX (@{index}), not both."
            )
        if reference is not None:
            found = self._matching(reference)
            if found is None:
                raise ImageNotFound(
                    f'{self.what} has no image tagged "{reference}"; it holds: '
                    f"{self._listing() or 'no images'}."
                )
            return found
        if index is not None:
            if not 0 <= index < len(self.items):
                raise ImageNotFound(
                    f"{self.what} has no image @{index}; it holds {len(self.items)} "
                    + (f"(@0 to @{len(self.items) - 1})." if self.items else "images.")
                )
            return self.items[index]
        if len(self.items) == 1:
            return self.items[0]
        if not self.items:
            raise ImageNotFound(f"{self.what} holds no images.")
        raise ImageNotFound(
            f"{self.what} holds {len(self.items)} images; name one as "
            f"docker-archive:{self.path}:NAME:TAG or docker-archive:{self.path}:@N. "
            f"It holds: {self._listing()}."
        )

    def name_for(self, item: DockerArchiveItem) -> str:
        """A name that reopens exactly ``item``: by its first usable tag, else by ``@N``."""
        for tag in item.repo_tags:
            name = self.name_for_tag(item, tag)
            if name is not None:
                return name
        return f"{DOCKER_ARCHIVE}:{self.path}:@{item.index}"

    def name_for_tag(self, item: DockerArchiveItem, tag: str) -> str | None:
        """``docker-archive:PATH:TAG`` when that reopens exactly ``item`` (the tag is a
        usable NAME:TAG, and no earlier image has it), else None."""
        try:
            parsed = parse_docker_reference(tag, default_tag=False)
        except InvalidReference:
            return None
        if parsed.tag is not None and parsed.digest is None and self._matching(tag) is item:
            return f"{DOCKER_ARCHIVE}:{self.path}:{tag}"
        return None

    def item_for_name(self, name: str) -> DockerArchiveItem:
        """The image a name made by :meth:`name_for` (or typed by a person) stands for."""
        prefix = f"{DOCKER_ARCHIVE}:{self.path}"
        if not name.startswith(prefix):
            raise ImageNotFound(f'"{name}" is not an image of {self.what[4:]}.')
        rest = name[len(prefix) :]
        if not rest:
            return self.choose(None, None)
        if rest.startswith(":@") and rest[2:].isdigit():
            return self.choose(None, int(rest[2:]))
        if rest.startswith(":"):
            return self.choose(rest[1:], None)
        raise ImageNotFound(f'"{name}" is not an image of {self.what[4:]}.')

    # -- one image

    def image(
        self, item: DockerArchiveItem, *, cancel: CancelToken | None = None
    ) -> DockerArchiveImage:
        """Config, layers and synthesized manifest of ``item`` (computed once, thread-safe)."""
        with self._lock:
            cached = self._images.get(item.index)
            if cached is None:
                cached = self._compute(item, cancel)
                self._images[item.index] = cached
            return cached

    def _compute(self, item: DockerArchiveItem, cancel: CancelToken | None) -> DockerArchiveImage:
        where = f"{self.what}: image @{item.index}"
        try:
            config = read_small(
                self.tree, item.config, f'{where} has a config "{item.config}" that'
            )
        except FileNotFoundError:
            raise self._not_a_file(where, "config", item.config) from None
        diff_ids = self._diff_ids(config, f'{where} has a config "{item.config}"')
        if len(diff_ids) != len(item.layers):
            raise InvalidLayout(
                f"{where} lists {len(item.layers)} layers in manifest.json but its config has "
                f"{len(diff_ids)} diff IDs; they must match."
            )
        layers: dict[Digest, ArchiveLayer] = {}
        owners: dict[str, Digest] = {}
        for diff_id, layer_path in zip(diff_ids, item.layers, strict=True):
            if diff_id in layers:
                # the same layer twice in one image: docker save links the copies together
                continue
            if layer_path in owners:
                raise InvalidLayout(
                    f'{where} uses the layer file "{layer_path}" for two different diff IDs, '
                    f"{owners[layer_path]} and {diff_id}."
                )
            owners[layer_path] = diff_id
            layers[diff_id] = ArchiveLayer(layer_path, self._layer_size(layer_path, where, cancel))
        config_digest = Digest.of(config)
        manifest = schema2_manifest(
            config_digest, len(config), [(d, layers[d].size) for d in diff_ids]
        )
        return DockerArchiveImage(
            item=item,
            config=config,
            config_digest=config_digest,
            diff_ids=diff_ids,
            layers=layers,
            manifest=manifest,
            manifest_digest=Digest.of(manifest),
        )

    def _not_a_file(self, where: str, what: str, name: str) -> InvalidLayout:
        """The refusal of the file ``name`` manifest.json names as an image's ``what``
        (``config``, ``layer``) where the archive holds no such file: a folder is said to
        be one; a missing file, in a tar that ends without its end-of-archive marker,
        that the archive may be cut short (:func:`truncation_hint`), as a missing
        manifest.json is."""
        if self.tree.is_folder(name):
            return InvalidLayout(
                f'{where} names the {what} "{name}", but that is a folder in the archive, '
                "not a file.")
        return InvalidLayout(f'{where} names the {what} "{name}", but the archive has no '
                             f"such file.{truncation_hint(self.tree)}")

    @staticmethod
    def _diff_ids(config: bytes, what: str) -> tuple[Digest, ...]:
        try:
            data = gojson.loads(config)
        except json.JSONDecodeError as exc:
            raise InvalidConfig(f"{what} that is not JSON: {clause(exc)}.") from exc
        if not isinstance(data, dict):
            raise InvalidConfig(f"{what} that is not a JSON object.")
        rootfs = go_field(data, "rootfs")
        if not isinstance(rootfs, dict):
            raise InvalidConfig(f'{what} without a "rootfs" object; it lists no layers.')
        ids = go_field(rootfs, "diff_ids") or []
        if not isinstance(ids, list):
            raise InvalidConfig(f'{what} whose "rootfs.diff_ids" is not a list.')
        try:
            return tuple(Digest.parse(d) for d in ids)
        except InvalidDigest as exc:
            raise InvalidConfig(f"{what} with an invalid diff ID: {clause(exc)}") from exc

    def _layer_size(self, layer_path: str, where: str, cancel: CancelToken | None) -> int:
        """The uncompressed size of a layer file, as containers/image's prepareLayerData has it."""
        what = f'The layer "{layer_path}" of the docker-archive "{self.path}"'
        try:
            stream, kind = open_decompressed(self.tree, layer_path, what)
        except FileNotFoundError:
            raise self._not_a_file(where, "layer", layer_path) from None
        with stream:
            if kind is None:
                return self.tree.size(layer_path)
            total = 0
            try:
                while chunk := stream.read(CHUNK_SIZE):
                    check(cancel)
                    total += len(chunk)
            except OSError as exc:
                raise TransportError(describe_os_error(exc, f"{self.path}: {layer_path}")) from exc
            return total

    def open_layer(self, layer: ArchiveLayer) -> IO[bytes]:
        """The uncompressed bytes of a layer file."""
        what = f'The layer "{layer.path}" of the docker-archive "{self.path}"'
        try:
            stream, _ = open_decompressed(self.tree, layer.path, what)
        except FileNotFoundError:
            raise BlobNotFound(f"{what} is missing from the archive.") from None
        return stream


class DockerArchiveImageSource:
    """An :class:`ImageSource` for one image of a ``docker save`` archive.

    The manifest is the schema 2 manifest containers/image synthesizes (see
    the module docstring); there are no manifest lists. The data is computed
    on the first :meth:`get_manifest` or :meth:`open_blob`, so problems with
    the config or the layer files surface there.
    """

    def __init__(
        self,
        reader: DockerArchiveReader,
        item: DockerArchiveItem,
        name: str,
        *,
        owns_tree: bool,
    ) -> None:
        self._reader = reader
        self._item = item
        self._name = name
        self._owns_tree = owns_tree

    @property
    def description(self) -> str:
        return self._name

    @property
    def item(self) -> DockerArchiveItem:
        return self._item

    @property
    def path(self) -> Path:
        """The archive, as it was named."""
        return self._reader.path

    def image(self, *, cancel: CancelToken | None = None) -> DockerArchiveImage:
        """The computed data of this image."""
        return self._reader.image(self._item, cancel=cancel)

    def stored_compression(self, layer: Descriptor) -> str | None:
        """Implement StoredCompression: every layer is served uncompressed (its digest is
        the diff ID), though the manifest names it ``tar.gzip`` as containers/image does."""
        return compression.NONE if layer.media_type == media.DOCKER_LAYER_GZIP else None

    def get_manifest(
        self, digest: str | None = None, *, cancel: CancelToken | None = None
    ) -> tuple[bytes, str | None]:
        check(cancel)
        image = self.image(cancel=cancel)
        if digest is not None and digest != str(image.manifest_digest):
            raise ImageNotFound(
                f"{self._name} has no manifest {digest}; its only manifest is "
                f"{image.manifest_digest} (docker-archive images have no manifest lists)."
            )
        return image.manifest, media.DOCKER_V2S2

    def open_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> VerifyingReader:
        check(cancel)
        image = self.image(cancel=cancel)
        wanted = descriptor.digest
        if wanted == image.config_digest:
            return VerifyingReader(
                io.BytesIO(image.config),
                wanted,
                descriptor.size,
                what=f'The config "{self._item.config}" of {self._name}',
                cancel=cancel,
            )
        layer = image.layers.get(wanted)
        if layer is None:
            raise BlobNotFound(
                f"The blob {wanted} is not part of {self._name}; it holds the config "
                f"{image.config_digest} and {len(image.layers)} layers."
            )
        return VerifyingReader(
            self._reader.open_layer(layer),
            wanted,
            descriptor.size,
            what=f'The layer "{layer.path}" (diff ID {wanted}) of {self._name}',
            cancel=cancel,
        )

    def close(self) -> None:
        if self._owns_tree:
            self._reader.tree.close()


class DockerArchiveLocation:
    """A ``docker save`` archive as a browsable :class:`Location`: one entry per image.

    Listing synthesizes each image's manifest (for its digest); for layer
    files stored compressed that means decompressing them once to learn their
    size, as containers/image does.
    """

    def __init__(self, reader: DockerArchiveReader) -> None:
        self.reader = reader
        self._unlisted: tuple[tuple[str, str], ...] = ()

    @property
    def kind(self) -> str:
        return DOCKER_ARCHIVE

    @property
    def title(self) -> str:
        return self.reader.path.name or str(self.reader.path)

    @property
    def description(self) -> str:
        return f"{DOCKER_ARCHIVE}:{self.reader.path}"

    def list_images(self, *, cancel: CancelToken | None = None) -> Iterator[ImageEntry]:
        """One entry per name of each image (an image without a name: one, ``@N``), as
        an OCI layout lists one per ref; an image that cannot be read (a layer file
        missing, say) is passed over, its sentence in :attr:`unlisted`."""
        unlisted: list[tuple[str, str]] = []
        self._unlisted = ()
        for item in self.reader.items:
            check(cancel)
            try:
                image = self.reader.image(item, cancel=cancel)
            except (InvalidLayout, InvalidConfig, InvalidDigest, BlobNotFound,
                    CorruptData) as exc:
                # this image's own fault (a damaged archive's would be all of them)
                unlisted.append((item.repo_tags[0] if item.repo_tags else f"@{item.index}",
                                 str(exc)))
                continue
            descriptor = Descriptor(media.DOCKER_V2S2, image.manifest_digest, len(image.manifest))
            for label, name in self._rows(item):
                yield ImageEntry(label=label, descriptor=descriptor, name=name)
        self._unlisted = tuple(unlisted)

    def _rows(self, item: DockerArchiveItem) -> list[tuple[str, str]]:
        """``(label, name)`` of each row of ``item``: one per tag that names it (a tag an
        earlier image has too opens that one: its row reopens this image by position)."""
        fallback = self.reader.name_for(item)
        rows = [(tag, self.reader.name_for_tag(item, tag) or fallback)
                for tag in dict.fromkeys(item.repo_tags)]
        return rows or [(f"@{item.index}", fallback)]

    @property
    def unlisted(self) -> tuple[tuple[str, str], ...]:
        """Implement PartlyListed: why each image the last listing passed over was."""
        return self._unlisted

    def open_image(self, entry: ImageEntry) -> DockerArchiveImageSource:
        item = self.reader.item_for_name(entry.name)
        return DockerArchiveImageSource(self.reader, item, entry.name, owns_tree=False)

    def close(self) -> None:
        self.reader.tree.close()


def open_docker_archive_location(
    path: Path, *, cancel: CancelToken | None = None
) -> DockerArchiveLocation:
    """Open a ``docker save`` archive for browsing (``cancel``: while a compressed one is
    decompressed)."""
    tree = TarTree(path, cancel=cancel)
    try:
        return DockerArchiveLocation(DockerArchiveReader(tree, path))
    except BaseException:
        tree.close()
        raise


def open_docker_archive_image(
    path: Path,
    reference: str | None = None,
    index: int | None = None,
    *,
    cancel: CancelToken | None = None,
) -> DockerArchiveImageSource:
    """Open ``docker-archive:PATH[:NAME:TAG | :@N]``.

    ``reference`` is matched against each image's ``RepoTags`` after both are
    normalized as Docker references (``busybox:latest`` matches
    ``docker.io/library/busybox:latest``); ``index`` counts from 0. ``cancel``
    is checked while a compressed archive is decompressed.
    """
    tree = TarTree(path, cancel=cancel)
    try:
        reader = DockerArchiveReader(tree, path)
        item = reader.choose(reference, index)
    except BaseException:
        tree.close()
        raise
    if reference is not None:
        name = f"{DOCKER_ARCHIVE}:{path}:{reference}"
    elif index is not None:
        name = f"{DOCKER_ARCHIVE}:{path}:@{index}"
    else:
        name = f"{DOCKER_ARCHIVE}:{path}"
    return DockerArchiveImageSource(reader, item, name, owns_tree=True)


# --------------------------------------------------------------------------- oci-archive


class OCIArchiveImageSource(LayoutImageSource):
    """A :class:`LayoutImageSource` that closes its archive when it is closed."""

    def __init__(self, reader: OCILayoutReader, top: Descriptor, name: str) -> None:
        super().__init__(reader, top, name)
        self._tree: FileTree = reader.tree

    def close(self) -> None:
        self._tree.close()


def _oci_reader(path: Path, cancel: CancelToken | None) -> OCILayoutReader:
    tree = TarTree(path, cancel=cancel)
    try:
        return _oci_reader_over(tree, path)
    except BaseException:
        tree.close()
        raise


def _oci_reader_over(tree: TarTree, path: Path) -> OCILayoutReader:
    if not tree.exists("oci-layout") and tree.exists("manifest.json"):
        raise InvalidLayout(
            f'"{path}" is not an OCI archive: it has no oci-layout file. It looks like a '
            f"docker save archive; open it as docker-archive:{path}."
        )
    if not tree.exists("index.json") and tree.unmarked_end:
        # cut at a member's end, before its index: said as a docker-archive cut before
        # its manifest.json is (an oci-layout missing alone is read as skopeo reads it)
        also = "" if tree.exists("oci-layout") else " and no oci-layout file"
        raise InvalidLayout(
            f'"{path}" is not an OCI archive: it has no index.json{also} (as skopeo copy … '
            f"oci-archive: writes it).{truncation_hint(tree)}"
        )
    tree.read_as_extracted()  # skopeo extracts an oci-archive: the last copy of a name wins
    return OCILayoutReader(tree, transport=OCI_ARCHIVE, path=path)


def open_oci_archive_location(
    path: Path, *, cancel: CancelToken | None = None
) -> OCILayoutLocation:
    """Open a tarball of an OCI layout for browsing (``cancel``: while a compressed one is
    decompressed)."""
    return OCILayoutLocation(_oci_reader(path, cancel))


def open_oci_archive_image(
    path: Path,
    ref: str | None = None,
    index: int | None = None,
    *,
    cancel: CancelToken | None = None,
) -> OCIArchiveImageSource:
    """Open ``oci-archive:PATH[:REF|:@N]`` (``cancel``: while a compressed one is
    decompressed)."""
    reader = _oci_reader(path, cancel)
    try:
        top = reader.find(ref, index)
    except BaseException:
        reader.tree.close()
        raise
    return OCIArchiveImageSource(reader, top, reader.name_for(ref, index))


# --------------------------------------------------------------------------- sniffing


def sniff_archive(path: Path, *, cancel: CancelToken | None = None) -> str | None:
    """Which archive transport ``path`` is: ``"oci-archive"``, ``"docker-archive"`` or None.

    Decided by :func:`sniff_tree`. A compressed archive is decompressed to be
    looked at (its member names are known only at its end), and the copy is
    removed again: to look and then open, :func:`open_archive_location` does
    both over one decompressed copy. ``cancel`` is checked meanwhile.

    Returns None for a path that is no tar file (compressed or not) or a tar of
    something else. Raises :class:`DamagedArchive` for a tar cut short or
    corrupt past its start (an archive all the same, whose sentence says so),
    :class:`UnsafeArchive` for one with members leading outside it,
    :class:`~spyglass.core.errors.TemporarySpaceFailed` when there is no room
    to decompress one, :class:`TransportError` for a file that cannot be read
    (``Cannot read "PATH": Permission denied.``), and :class:`InvalidLayout` for a
    tar of neither that ends without its end-of-archive marker (it may be cut short
    before its ``manifest.json`` or ``index.json``: :func:`not_an_image_archive` says
    so), since those deserve their own sentence.
    """
    tree = _tree_or_none(path, cancel, park=True)
    if tree is None:
        return None
    try:
        kind = sniff_tree(tree)
        if kind is None and tree.unmarked_end:
            raise not_an_image_archive(path, tree)
        return kind
    finally:
        tree.close()  # a decompressed copy is parked: what was looked at is opened next


def _tree_or_none(
    path: Path, cancel: CancelToken | None, *, park: bool = False
) -> TarTree | None:
    """The archive at ``path``, or None when it is no tar (see :func:`sniff_archive`).

    A file that cannot be read (permission denied, an I/O error: :class:`TransportError`)
    is no answer either way, and is said as such, as ``docker-archive:PATH`` says it: never
    "not an image archive", which would have a good archive deleted or saved again."""
    try:
        return TarTree(path, cancel=cancel, park=park)
    except (DamagedArchive, TemporarySpaceFailed):
        raise  # an archive all the same, or this machine's trouble: say so
    except InvalidLayout:
        return None


def sniff_tree(tree: TarTree) -> str | None:
    """Which archive transport the tar ``tree`` is, by its member names; None for neither.

    ``oci-layout`` and ``index.json`` make an OCI archive even when a
    ``manifest.json`` is there too (Docker 25 and later save both), because the
    OCI view keeps the images' own manifests and digests where the
    docker-archive view synthesizes new ones; a ``manifest.json`` alone makes
    a docker-archive. Only when such an ``index.json`` lists fewer images than
    the ``manifest.json`` beside it (Docker 25.0.0 to 25.0.2 wrote
    ``"manifests": null`` for some saves) is the archive a docker-archive, so
    that no image is hidden. A person who wants the other view names the
    transport (``docker-archive:PATH``), which is never sniffed.
    """
    if tree.exists("oci-layout") and tree.exists("index.json"):
        if tree.exists("manifest.json") and _fewer_in_index(tree):
            return DOCKER_ARCHIVE
        return OCI_ARCHIVE
    if tree.exists("manifest.json"):
        return DOCKER_ARCHIVE
    if tree.exists("repositories"):
        return DOCKER_ARCHIVE  # a save of Docker before 1.10: its reader says what it lacks
    return None


def open_archive_location(
    path: Path, *, cancel: CancelToken | None = None
) -> DockerArchiveLocation | OCILayoutLocation | None:
    """Open the archive at ``path`` for browsing as the kind :func:`sniff_tree` finds;
    None when it is no image archive (raising as :func:`sniff_archive` does, a tar of
    neither that may be cut short included).

    Looking and opening share one tree, so a compressed archive is decompressed
    once, not once to sniff and again to open.
    """
    tree = _tree_or_none(path, cancel)
    if tree is None:
        return None
    try:
        kind = sniff_tree(tree)
        if kind == OCI_ARCHIVE:
            return OCILayoutLocation(_oci_reader_over(tree, path))
        if kind == DOCKER_ARCHIVE:
            return DockerArchiveLocation(DockerArchiveReader(tree, path))
        if tree.unmarked_end:  # (cut short before its manifest.json or index.json?)
            raise not_an_image_archive(path, tree)
    except BaseException:
        tree.close()
        raise
    tree.close()
    return None


def not_an_image_archive(path: Path, tree: TarTree | None = None) -> InvalidLayout:
    """The refusal of the file ``path`` (a bare path: no transport named), a tar holding
    neither kind of image archive; ``tree``, where it was read, adds that it may be cut
    short (see :func:`~spyglass.core.transports.tartree.truncation_hint`)."""
    return InvalidLayout(
        f'The file "{path}" is not an image archive: expected a tarball made by '
        "docker save (docker-archive) or of an OCI layout (oci-archive), compressed or not."
        + (truncation_hint(tree) if tree is not None else "")
    )


def _fewer_in_index(tree: TarTree) -> bool:
    """Whether the ``index.json`` of an archive holding both views lists fewer images
    than its ``manifest.json``; False when either cannot be read (the OCI view then
    says what is wrong)."""
    try:
        index = gojson.loads(read_small(tree, "index.json", "index.json"))
        items = gojson.loads(read_small(tree, "manifest.json", "manifest.json"))
    except (SpyglassError, ValueError):
        return False
    if not isinstance(index, dict) or not isinstance(items, list):
        return False
    listed = index.get("manifests")
    return len(listed if isinstance(listed, list) else []) < len(items)
