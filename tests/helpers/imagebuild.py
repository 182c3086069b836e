"""Build real container images as OCI image layout directories, with the stdlib only.

The images are real: layers are tar archives (with a directory entry for every
parent), configs are OCI/Docker image configs whose ``rootfs.diff_ids`` are
the digests of the uncompressed tars, and manifests, indexes and Docker
manifest lists reference everything by digest. skopeo and umoci read them.

Everything is deterministic: tar entries carry a fixed mtime, uid, gid and
owner names and are sorted by name; gzip streams carry mtime 0; JSON is
written with ``json.dumps(obj, separators=(",", ":"))``. The same spec gives
the same digests, so tests can compare against digests they compute.

Typical use::

    builder = LayoutBuilder(tmp_path / "layout")
    desc = builder.add_image(ImageSpec(layers=[LayerSpec({"/etc/motd": b"hi\\n"})]))
    builder.tag(desc, "latest")

zstd layers use the ``zstandard`` package, imported only when asked for.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "DOCKER_CONFIG",
    "DOCKER_LAYER",
    "DOCKER_LAYER_GZIP",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_ZSTD",
    "OCI_MANIFEST",
    "REF_NAME_ANNOTATION",
    "ImageSpec",
    "LayerSpec",
    "LayoutBuilder",
    "build_layer",
    "dump_json",
    "multi_platform_layout",
    "sha256_digest",
]

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"

DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"

#: The mtime of every tar entry: 2024-01-02T03:04:05Z, the default ``created``.
TAR_MTIME = 1704164645

_COMPRESSIONS = ("gzip", "none", "zstd")


def sha256_digest(data: bytes) -> str:
    """Return ``sha256:<hex>`` for *data*."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def dump_json(obj: Any) -> bytes:
    """Serialise *obj* the one way this module does: compact, UTF-8, insertion order."""
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


@dataclass
class LayerSpec:
    """One layer: the files it adds, and how it is compressed.

    Attributes:
        files: absolute or relative paths to contents (``"/etc/motd": b"hi\\n"``).
            Parent directories get their own entries. A whiteout is just a file
            named ``.wh.NAME`` with empty contents.
        compression: ``"gzip"`` (default), ``"none"`` or ``"zstd"``.
        created_by: the history line for this layer.
        modes: permission bits per path (as given in *files*); default 0o644.
        symlinks: link path to target, e.g. ``{"/bin/sh": "busybox"}``.
        annotations: on the layer's descriptor in the manifest (OCI only).
    """

    files: dict[str, bytes]
    compression: str = "gzip"
    created_by: str = "/bin/sh -c #(nop) ADD file:spyglass-test in / "
    modes: dict[str, int] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class ImageSpec:
    """One single-platform image: platform, layers, runtime config and history.

    ``empty_history_steps`` holds ``(position, created_by)`` pairs: a history
    entry with ``empty_layer: true`` lands at *position* of the final history
    list (0 is before the first layer's entry).

    With ``docker_media_types`` the manifest is Docker schema 2 (and its
    config and layers carry Docker media types); otherwise OCI. ``annotations``
    go on the manifest (OCI only; Docker schema 2 has none).
    """

    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None
    layers: list[LayerSpec] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    cmd: list[str] | None = None
    entrypoint: list[str] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    working_dir: str | None = None
    exposed_ports: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    author: str | None = None
    created: str = "2024-01-02T03:04:05Z"
    empty_history_steps: list[tuple[int, str]] = field(default_factory=list)
    docker_media_types: bool = False
    annotations: dict[str, str] | None = None

    def platform(self) -> dict[str, str]:
        """The platform object of this image, as descriptors carry it."""
        platform = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            platform["variant"] = self.variant
        return platform


# --------------------------------------------------------------------------- layers


def _tar_path(path: str) -> str:
    """Normalise *path* to a relative tar member name, refusing ``..``."""
    parts = [part for part in PurePosixPath("/" + path).parts[1:] if part not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError(f"layer path {path!r} must name something below the root, without '..'")
    return "/".join(parts)


def _tar_info(name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = TAR_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build_tar(spec: LayerSpec) -> bytes:
    """Return the uncompressed tar of *spec*: sorted, with parent directories, fixed metadata."""
    entries: dict[str, tuple[bytes, int, bytes | str]] = {}
    for path, data in spec.files.items():
        entries[_tar_path(path)] = (tarfile.REGTYPE, spec.modes.get(path, 0o644), data)
    for path, target in spec.symlinks.items():
        entries[_tar_path(path)] = (tarfile.SYMTYPE, 0o777, target)
    for name in list(entries):
        parent = PurePosixPath(name).parent
        while str(parent) != ".":
            entries.setdefault(str(parent), (tarfile.DIRTYPE, 0o755, b""))
            parent = parent.parent

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(entries):
            kind, mode, payload = entries[name]
            info = _tar_info(name, kind, mode)
            if kind == tarfile.SYMTYPE:
                assert isinstance(payload, str)
                info.linkname = payload
                tar.addfile(info)
            elif kind == tarfile.DIRTYPE:
                tar.addfile(info)
            else:
                assert isinstance(payload, bytes)
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def compress(data: bytes, compression: str) -> bytes:
    """Compress *data* deterministically with ``gzip``, ``zstd`` or ``none``."""
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "zstd":
        import zstandard  # lazily: only tests that ask for zstd need the package

        return zstandard.ZstdCompressor(level=3).compress(data)
    if compression == "none":
        return data
    raise ValueError(f"unknown layer compression {compression!r}; expected one of {_COMPRESSIONS}")


def build_layer(spec: LayerSpec) -> tuple[bytes, str]:
    """Return ``(blob, diff_id)``: the compressed layer and the digest of its uncompressed tar."""
    tar = build_tar(spec)
    return compress(tar, spec.compression), sha256_digest(tar)


def _layer_media_type(compression: str, docker: bool) -> str:
    if docker:
        if compression == "gzip":
            return DOCKER_LAYER_GZIP
        if compression == "none":
            return DOCKER_LAYER
        raise ValueError(
            f"Docker schema 2 has no media type for {compression!r} layers; "
            "use gzip or none, or OCI media types"
        )
    return {"gzip": OCI_LAYER_GZIP, "none": OCI_LAYER, "zstd": OCI_LAYER_ZSTD}[compression]


# --------------------------------------------------------------------------- configs


def build_config(spec: ImageSpec, diff_ids: list[str]) -> dict[str, Any]:
    """Return the image config of *spec* (empty fields left out, as Go's omitempty does)."""
    runtime: dict[str, Any] = {}
    if spec.user:
        runtime["User"] = spec.user
    if spec.exposed_ports:
        runtime["ExposedPorts"] = {port: {} for port in spec.exposed_ports}
    if spec.env:
        runtime["Env"] = list(spec.env)
    if spec.entrypoint is not None:
        runtime["Entrypoint"] = list(spec.entrypoint)
    if spec.cmd is not None:
        runtime["Cmd"] = list(spec.cmd)
    if spec.volumes:
        runtime["Volumes"] = {volume: {} for volume in spec.volumes}
    if spec.working_dir:
        runtime["WorkingDir"] = spec.working_dir
    if spec.labels:
        runtime["Labels"] = dict(spec.labels)

    history: list[dict[str, Any]] = []
    for layer in spec.layers:
        history.append({"created": spec.created, "created_by": layer.created_by})
    for position, created_by in sorted(spec.empty_history_steps, key=lambda step: step[0]):
        entry = {"created": spec.created, "created_by": created_by, "empty_layer": True}
        history.insert(position, entry)
    if spec.author:
        for entry in history:
            entry["author"] = spec.author

    config: dict[str, Any] = {"created": spec.created}
    if spec.author:
        config["author"] = spec.author
    config["architecture"] = spec.architecture
    if spec.variant:
        config["variant"] = spec.variant
    config["os"] = spec.os
    config["config"] = runtime
    config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    config["history"] = history
    return config


# --------------------------------------------------------------------------- layouts


class LayoutBuilder:
    """Writes blobs, manifests and indexes into an OCI image layout at *root*.

    Creating a builder creates ``oci-layout``, ``blobs/sha256`` and an empty
    ``index.json`` (or keeps the ``index.json`` already there, so images can
    be added to an existing layout).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blob_dir = self.root / "blobs" / "sha256"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        (self.root / "oci-layout").write_bytes(dump_json({"imageLayoutVersion": "1.0.0"}))
        index_path = self.root / "index.json"
        if index_path.exists():
            self.index: dict[str, Any] = json.loads(index_path.read_bytes())
        else:
            self.index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
            self._write_index()

    # -- blobs

    def add_blob(self, data: bytes) -> dict[str, Any]:
        """Store *data* as a blob (idempotent); return ``{"digest", "size"}``."""
        digest = sha256_digest(data)
        path = self.blob_dir / digest.removeprefix("sha256:")
        if not path.exists():
            path.write_bytes(data)
        return {"digest": digest, "size": len(data)}

    def blob_path(self, digest: str) -> Path:
        """The file holding the blob *digest*."""
        return self.blob_dir / digest.removeprefix("sha256:")

    def read_blob(self, digest: str) -> bytes:
        """The bytes of the blob *digest*."""
        return self.blob_path(digest).read_bytes()

    def read_json(self, descriptor: dict[str, Any]) -> Any:
        """The parsed JSON of the blob *descriptor* points at."""
        return json.loads(self.read_blob(descriptor["digest"]))

    # -- images

    def add_image(self, spec: ImageSpec) -> dict[str, Any]:
        """Write the layers, config and manifest of *spec*; return the manifest descriptor.

        The descriptor has ``mediaType``, ``digest``, ``size`` and ``platform``.
        """
        docker = spec.docker_media_types
        layers: list[dict[str, Any]] = []
        diff_ids: list[str] = []
        for layer in spec.layers:
            blob, diff_id = build_layer(layer)
            media_type = _layer_media_type(layer.compression, docker)
            layers.append({"mediaType": media_type, **self.add_blob(blob)})
            if layer.annotations and not docker:
                layers[-1]["annotations"] = dict(layer.annotations)
            diff_ids.append(diff_id)

        config = self.add_blob(dump_json(build_config(spec, diff_ids)))
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG if docker else OCI_CONFIG, **config},
            "layers": layers,
        }
        if spec.annotations and not docker:
            manifest["annotations"] = dict(spec.annotations)
        written = self.add_blob(dump_json(manifest))
        return {"mediaType": manifest["mediaType"], **written, "platform": spec.platform()}

    def add_attestation(self, image: dict[str, Any]) -> dict[str, Any]:
        """Write BuildKit's attestation manifest of *image* (an in-toto statement about it,
        platform unknown/unknown); return the list entry that names it, as ``docker
        buildx`` puts it after the image's own."""
        statement = self.add_blob(dump_json({
            "_type": "https://in-toto.io/Statement/v0.1",
            "subject": [{"digest": {"sha256": image["digest"].split(":", 1)[1]}}]}))
        config = self.add_blob(b"{}")
        attestation = self.add_blob(dump_json({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, **config},
            "layers": [{"mediaType": "application/vnd.in-toto+json", **statement}],
        }))
        return {"mediaType": OCI_MANIFEST, **attestation,
                "platform": {"architecture": "unknown", "os": "unknown"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                "vnd.docker.reference.digest": image["digest"]}}

    def add_referrer(self, subject: dict[str, Any], artifact_type: str) -> dict[str, Any]:
        """Write an artifact whose ``subject`` is *subject* (a descriptor as
        :meth:`add_image` returns it), as ``oras attach`` makes one; return its descriptor
        (``mediaType``, ``digest``, ``size``: its ``artifactType`` is left off the entry,
        as a layout may list it)."""
        empty = self.add_blob(b"{}")
        written = self.add_blob(dump_json({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", **empty},
            "layers": [{"mediaType": artifact_type, **empty}],
            "subject": {k: subject[k] for k in ("mediaType", "digest", "size")}}))
        return {"mediaType": OCI_MANIFEST, **written}

    def add_index(
        self,
        manifests: list[dict[str, Any]],
        docker_media_types: bool = False,
        *,
        annotations: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Write an OCI index (or a Docker manifest list) of *manifests*; return its descriptor.

        *manifests* are descriptors as :meth:`add_image` returns them. The
        returned descriptor has ``mediaType``, ``digest`` and ``size``.
        """
        media_type = DOCKER_MANIFEST_LIST if docker_media_types else OCI_INDEX
        index: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": [dict(descriptor) for descriptor in manifests],
        }
        if annotations and not docker_media_types:
            index["annotations"] = dict(annotations)
        return {"mediaType": media_type, **self.add_blob(dump_json(index))}

    # -- index.json

    def tag(self, descriptor: dict[str, Any], ref: str | None) -> None:
        """Add *descriptor* to ``index.json``, named *ref* (replacing an entry of that name)."""
        entry = dict(descriptor)
        if ref is not None:
            entry["annotations"] = {**entry.get("annotations", {}), REF_NAME_ANNOTATION: ref}
            self.index["manifests"] = [
                existing
                for existing in self.index["manifests"]
                if existing.get("annotations", {}).get(REF_NAME_ANNOTATION) != ref
            ]
        self.index["manifests"].append(entry)
        self._write_index()

    def _write_index(self) -> None:
        (self.root / "index.json").write_bytes(dump_json(self.index))


# --------------------------------------------------------------------------- ready-made


def _platform_files(arch: str) -> dict[str, bytes]:
    return {
        "/etc/os-release": b'NAME="Spyglass Test Linux"\nID=spyglass\nVERSION_ID=1.0\n',
        "/etc/arch": f"{arch}\n".encode(),
    }


def multi_platform_layout(
    root: Path, *, docker_media_types: bool = False, ref: str = "latest"
) -> dict[str, Any]:
    """Build a 3-platform image (linux/amd64, linux/arm64/v8, linux/arm/v7) at *root*.

    Every platform has a shared base layer, a per-platform layer and an app
    layer, env, labels, cmd and a history with one ``empty_layer`` step. The
    index (or Docker manifest list) is tagged *ref*; its descriptor is
    returned.
    """
    builder = LayoutBuilder(root)
    base = LayerSpec(
        {"/etc/motd": b"Welcome to the Spyglass test image.\n", "/etc/hostname": b"spyglass\n"},
        created_by="/bin/sh -c #(nop) ADD file:base in / ",
    )
    app = LayerSpec(
        {"/app/run.sh": b"#!/bin/sh\necho hello\n"},
        created_by="COPY run.sh /app/ # buildkit",
        modes={"/app/run.sh": 0o755},
    )
    manifests = []
    for arch, variant in (("amd64", None), ("arm64", "v8"), ("arm", "v7")):
        platform_layer = LayerSpec(
            _platform_files(arch + (variant or "")),
            created_by=f"RUN /bin/sh -c echo {arch} > /etc/arch # buildkit",
        )
        spec = ImageSpec(
            architecture=arch,
            variant=variant,
            layers=[base, platform_layer, app],
            env=["PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=hello"],
            cmd=["/app/run.sh"],
            labels={"org.opencontainers.image.title": "spyglass-test", "arch": arch},
            working_dir="/app",
            empty_history_steps=[(1, "ENV GREETING=hello")],
            docker_media_types=docker_media_types,
        )
        manifests.append(builder.add_image(spec))
    index = builder.add_index(manifests, docker_media_types=docker_media_types)
    builder.tag(index, ref)
    return index


def referred_layout(root: Path) -> tuple[LayoutBuilder, dict[str, Any], dict[str, Any],
                                         dict[str, Any]]:
    """A layout at *root* holding the image ``app`` and two referrers of it, an SBOM and
    a scan (listed, unnamed, as ``oras attach`` leaves them): the builder and the
    image's, the SBOM's and the scan's descriptors."""
    builder = LayoutBuilder(root)
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"})]))
    builder.tag({k: v for k, v in image.items() if k != "platform"}, "app")
    sbom = builder.add_referrer(image, "application/spdx+json")
    scan = builder.add_referrer(image, "application/vnd.example.scan+json")
    for referrer in (sbom, scan):
        builder.tag(referrer, None)
    return builder, image, sbom, scan


def sha512_layout(source: Path, root: Path) -> dict[str, Any]:
    """Copy the layout *source* to *root* with every blob and manifest named by its sha512
    digest (``blobs/sha512/``), manifests rewritten to name them so, as a tool that
    digests with sha512 writes a layout (the configs' diff_ids stay as they are). Returns
    the first ``index.json`` entry."""
    blobs = root / "blobs" / "sha512"
    blobs.mkdir(parents=True, exist_ok=True)

    def convert(descriptor: dict[str, Any]) -> dict[str, Any]:
        data = (source / "blobs" / "sha256" / descriptor["digest"][7:]).read_bytes()
        if descriptor["mediaType"] in (OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST,
                                       DOCKER_MANIFEST_LIST):
            document = json.loads(data)
            if "manifests" in document:
                document["manifests"] = [convert(d) for d in document["manifests"]]
            else:
                document["config"] = convert(document["config"])
                document["layers"] = [convert(d) for d in document["layers"]]
            data = dump_json(document)
        digest = hashlib.sha512(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {**descriptor, "digest": f"sha512:{digest}", "size": len(data)}

    index = json.loads((source / "index.json").read_bytes())
    index["manifests"] = [convert(d) for d in index["manifests"]]
    (root / "index.json").write_bytes(dump_json(index))
    (root / "oci-layout").write_bytes(dump_json({"imageLayoutVersion": "1.0.0"}))
    first: dict[str, Any] = index["manifests"][0]
    return first
