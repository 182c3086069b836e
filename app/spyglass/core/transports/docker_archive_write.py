"""The ``docker-archive:`` destination: what ``docker save`` and containers/image write.

A ``docker-archive:`` gets ``manifest.json``, the config file, one layer file per
diff ID and the legacy ``repositories`` and per-layer ``json``.
"""


from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from spyglass.core import compression, gojson, media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest, Readable
from spyglass.core.errors import (
    BlobNotFound,
    DigestMismatch,
    InvalidManifest,
    InvalidReference,
    TooLarge,
    TransportError,
    Unsupported,
    clause,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    ImageManifest,
    parse_manifest,
)
from spyglass.core.reference import DockerReference, parse_docker_reference
from spyglass.core.transports.archive import DOCKER_ARCHIVE
from spyglass.core.transports.archive_output import ArchiveDestination, ArchiveOutput, TarWriter
from spyglass.core.transports.base import ProgressCallback
from spyglass.core.transports.blob_write import KnownBlobs, put_blob_file
from spyglass.core.transports.file_write import describe_write_error
from spyglass.core.transports.files import describe_os_error
from spyglass.core.transports.temporaries import TempFiles

_LEGACY_TOP_ATTRIBUTES: Final = (
    "architecture",
    "config",
    "container",
    "container_config",
    "created",
    "docker_version",
    "os",
)
"""The config fields containers/image copies into the legacy ``json`` of an archive's top layer."""


class DockerArchiveDestination(ArchiveDestination):
    """An :class:`~spyglass.core.transports.base.ImageDestination` for ``docker-archive:``.

    ``docker-archive:PATH[:NAME:TAG]`` is written in the ``docker save`` format
    as skopeo writes it (containers/image ``docker/internal/tarfile/writer.go``)::

        <hex>.tar                  each layer, uncompressed, named by its digest
        <hex>.json                 the config
        <id>/layer.tar, VERSION, json
                                   legacy per-layer metadata (``layer.tar`` links to
                                   ``../<hex>.tar``; ``<id>`` is the layer's chain ID)
        manifest.json              [{"Config", "RepoTags", "Layers"}]
        repositories               {NAME: {TAG: <top layer id>}}, or {} without a name

    ``RepoTags`` holds the fully qualified ``NAME:TAG``
    (``docker.io/library/busybox:latest``), empty without a name. Members have
    mode 0444, mtime 0 and owner 0:0.

    One single-platform Docker schema 2 image: no lists, no OCI manifests (the
    copy engine converts), and layers are wanted uncompressed
    (:attr:`desired_layer_compression` is ``"none"``) — what :meth:`put_blob`
    is given is stored as it is; decompressing is the engine's job. Blobs
    are staged in a folder next to ``PATH``; :meth:`commit` builds the tar
    from the top manifest and renames it into place when complete. Unlike
    skopeo, which refuses to write over a non-empty archive, an existing file
    is replaced (at commit, atomically) — the archive then holds only this
    image.
    """

    def __init__(
        self,
        path: Path,
        reference: DockerReference | None = None,
        additional_tags: tuple[DockerReference, ...] = (),
    ) -> None:
        self.path = path
        self.reference = reference
        self.additional_tags = additional_tags
        self._name = f"{DOCKER_ARCHIVE}:{path}" + (f":{reference}" if reference else "")
        self._output = ArchiveOutput(path, DOCKER_ARCHIVE)
        self._blobs = self._output.staging / "blobs"
        try:
            self._blobs.mkdir()
        except OSError as exc:
            self._output.cleanup()
            raise TransportError(describe_write_error(exc, self._blobs)) from exc
        self._temps = TempFiles(self._output.staging)
        self._known = KnownBlobs()
        self._state = "open"

    @property
    def supported_manifest_types(self) -> tuple[str, ...]:
        return (media.DOCKER_V2S2,)

    @property
    def accepts_lists(self) -> bool:
        return False

    def keep_names_of(self, source: object) -> None:
        """Copied onto itself without a name, the image keeps the names it has in this
        archive (written without one, the archive would lose them; skopeo refuses such
        a copy). Anything else is left as it was named."""
        item = getattr(source, "item", None)
        named = getattr(source, "path", None)
        if self.reference is not None or item is None or named is None \
                or os.path.realpath(named) != os.path.realpath(self.path):
            return
        tags = [parse_docker_reference(tag, default_tag=False)
                for tag in getattr(item, "repo_tags", ())]
        if tags:
            self.reference = tags[0]
            self.additional_tags = (*tags[1:], *self.additional_tags)
            self._name = f"{DOCKER_ARCHIVE}:{self.path}:{self.reference}"

    @property
    def desired_layer_compression(self) -> str | None:
        return compression.NONE

    def _blob_path(self, digest: Digest) -> Path:
        return self._blobs / f"{digest.algorithm}-{digest.hex}"

    def reuse_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None,
        sending: bool = True,
    ) -> str | None:
        self._check_open()
        known = self._known.size(descriptor.digest)
        return "exists" if known is not None and known == descriptor.size else None

    def put_blob(
        self,
        stream: Readable,
        *,
        media_type: str,
        digest: Digest | None,
        size: int | None,
        cancel: CancelToken | None = None,
        progress: ProgressCallback | None = None,
    ) -> Descriptor:
        self._check_open()
        with self._output.staged():
            return put_blob_file(
                stream, temps=self._temps, target=self._blob_path, known=self._known,
                name=self._name, media_type=media_type, digest=digest, size=size,
                cancel=cancel, progress=progress,
            )

    def _refuse_type(self, media_type: str) -> None:
        if media.is_index(media_type):
            raise Unsupported(
                f"{self._name} holds single images, not a {media.friendly(media_type)}; "
                "choose one platform to copy."
            )
        if media_type != media.DOCKER_V2S2:
            raise Unsupported(
                f"{self._name} stores Docker schema 2 manifests only, not a "
                f"{media.friendly(media_type)} ({media_type}); the copy has to convert it first."
            )

    def put_manifest(
        self, raw: bytes, media_type: str, digest: Digest, *, cancel: CancelToken | None = None
    ) -> None:
        self._check_open()
        check(cancel)
        self._refuse_type(media_type)
        self._verify(raw, digest)

    def _verify(self, raw: bytes, digest: Digest) -> None:
        actual = Digest.of(raw, digest.algorithm)
        if actual != digest:
            raise DigestMismatch(
                f"The manifest for {self._name} does not match its digest: expected {digest}, "
                f"got {actual}."
            )

    def commit(self, top: Descriptor, raw: bytes, *, cancel: CancelToken | None = None) -> None:
        self._check_open()
        check(cancel)
        self._verify(raw, top.digest)
        try:
            manifest = parse_manifest(raw, top.media_type or None)
        except InvalidManifest as exc:
            raise InvalidManifest(
                f"The manifest for {self._name} is not usable: {clause(exc)}"
            ) from exc
        self._refuse_type(manifest.media_type)
        assert isinstance(manifest, ImageManifest)
        for descriptor in (manifest.config, *manifest.layers):
            if descriptor.digest not in self._known:
                raise BlobNotFound(
                    f"The blob {descriptor.digest} that the manifest of {self._name} names was "
                    "never stored; the copy is incomplete and nothing was written."
                )
        config = self._read_config(manifest.config)
        self._output.write(
            lambda tar: self._fill(tar, manifest, config), file_mode=0o444, cancel=cancel,
            blobs=list(dict.fromkeys(self._blob_path(descriptor.digest)
                                     for descriptor in (*manifest.layers, manifest.config))),
        )
        self._state = "committed"
        self._output.cleanup()

    def _read_config(self, descriptor: Descriptor) -> bytes:
        path = self._blob_path(descriptor.digest)
        try:
            if path.stat().st_size > MAX_MANIFEST_SIZE:
                raise TooLarge(
                    f"The config {descriptor.digest} for {self._name} is more than the 4 MiB "
                    "accepted for configs."
                )
            return path.read_bytes()
        except OSError as exc:
            raise TransportError(describe_os_error(exc, path)) from exc

    def _fill(self, tar: TarWriter, manifest: ImageManifest, config: bytes) -> None:
        layer_names: list[str] = []
        for layer in manifest.layers:
            name = f"{layer.digest.hex}.tar"
            if name not in layer_names:
                tar.file(name, self._blob_path(layer.digest), consume=True)
            layer_names.append(name)
        config_name = f"{manifest.config.digest.hex}.json"
        tar.file(config_name, self._blob_path(manifest.config.digest), consume=True)
        top_id = self._legacy_layers(tar, manifest.layers, config)
        repo_tags: list[str] = []
        repositories: dict[str, dict[str, str]] = {}
        named = (self.reference,) if self.reference is not None else ()
        for reference in (*named, *self.additional_tags):  # as containers/image: deduplicated
            if reference.tag is None or f"{reference.name}:{reference.tag}" in repo_tags:
                continue
            repo_tags.append(f"{reference.name}:{reference.tag}")
            if top_id is not None:
                repositories.setdefault(reference.name, {})[reference.tag] = top_id
        item = {"Config": config_name, "RepoTags": repo_tags, "Layers": layer_names}
        tar.data("manifest.json", _go_json([item]))  # a list: the keys keep struct order
        tar.data("repositories", _go_json(repositories))

    @staticmethod
    def _legacy_layers(
        tar: TarWriter, layers: Sequence[Descriptor], config: bytes
    ) -> str | None:
        """Write the per-layer legacy folders; return the top layer's ID (None without layers).

        As containers/image's ``writeLegacyMetadataLocked``: each layer's ``json``
        names its parent, the top one also carries seven fields of the config;
        its ID is the sha256 of that object with ``layer_id`` set to the layer's
        chain ID (docker/docker's ``layer.CreateChainID``), which keeps IDs
        unique when one layer appears twice.
        """
        try:
            config_data = gojson.loads(config)
        except json.JSONDecodeError:
            config_data = None
        if not isinstance(config_data, dict):
            config_data = {}
        chain: Digest | None = None
        parent: str | None = None
        written: set[str] = set()
        for position, layer in enumerate(layers):
            legacy: dict[str, object] = {}
            if parent is not None:
                legacy["parent"] = parent
            if position == len(layers) - 1:
                for attribute in _LEGACY_TOP_ATTRIBUTES:
                    legacy[attribute] = config_data.get(attribute)
            chain = layer.digest if chain is None else Digest.of(f"{chain} {layer.digest}".encode())
            layer_id = Digest.of(_go_json({**legacy, "layer_id": str(chain)})).hex
            legacy["id"] = layer_id
            if layer_id not in written:
                tar.symlink(f"{layer_id}/layer.tar", f"../{layer.digest.hex}.tar")
                tar.data(f"{layer_id}/VERSION", b"1.0")
                tar.data(f"{layer_id}/json", _go_json(legacy))
                written.add(layer_id)
            parent = layer_id
        return parent

    def abort(self) -> None:
        if self._state == "committed":
            return
        self._temps.remove_all()
        self._output.cleanup()
        self._state = "aborted"


def _go_json(data: object) -> bytes:
    """JSON as Go's ``json.Marshal`` writes it: compact, map keys sorted, ``<>&`` escaped.

    Nested objects keep their order (containers/image passes config fields
    through as raw JSON).
    """
    if isinstance(data, dict):
        data = dict(sorted(data.items()))
    return gojson.dumps(data).encode("utf-8")


def open_docker_archive_destination(
    path: Path,
    reference: DockerReference | None = None,
    index: int | None = None,
    *,
    additional_tags: Sequence[DockerReference] = (),
) -> DockerArchiveDestination:
    """Open ``docker-archive:PATH[:NAME:TAG]`` for writing; ``additional_tags`` are more
    ``NAME:TAG`` names for the image (skopeo's ``--additional-tag``)."""
    if index is not None:
        raise InvalidReference(
            f'"{DOCKER_ARCHIVE}:{path}:@{index}" names an image by its position, which only '
            f"works for reading; write to {DOCKER_ARCHIVE}:{path}:NAME:TAG or "
            f"{DOCKER_ARCHIVE}:{path}."
        )
    return DockerArchiveDestination(path, reference, tuple(additional_tags))
