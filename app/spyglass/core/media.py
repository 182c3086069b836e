"""Media types of manifests, configs and layers, and the families they fall in."""

from __future__ import annotations

from typing import Final

OCI_MANIFEST: Final = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX: Final = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG: Final = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY: Final = "application/vnd.oci.empty.v1+json"
OCI_LAYOUT_HEADER: Final = "application/vnd.oci.layout.header.v1+json"
OCI_LAYER: Final = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP: Final = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD: Final = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDIST: Final = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDIST_GZIP: Final = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDIST_ZSTD: Final = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

DOCKER_V2S2: Final = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST: Final = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_V2S1: Final = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_V2S1_SIGNED: Final = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_CONFIG: Final = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER: Final = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP: Final = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_ZSTD: Final = "application/vnd.docker.image.rootfs.diff.tar.zstd"
DOCKER_FOREIGN_LAYER: Final = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_FOREIGN_LAYER_PLAIN: Final = "application/vnd.docker.image.rootfs.foreign.diff.tar"

INDEX_TYPES: Final = frozenset({OCI_INDEX, DOCKER_LIST})
IMAGE_MANIFEST_TYPES: Final = frozenset({OCI_MANIFEST, DOCKER_V2S2})
SCHEMA1_TYPES: Final = frozenset({DOCKER_V2S1, DOCKER_V2S1_SIGNED})
MANIFEST_TYPES: Final = INDEX_TYPES | IMAGE_MANIFEST_TYPES | SCHEMA1_TYPES
SINGLE_IMAGE_TYPES: Final = IMAGE_MANIFEST_TYPES | SCHEMA1_TYPES
"""The manifests of one image, which name no other manifest."""
CONFIG_TYPES: Final = frozenset({OCI_CONFIG, DOCKER_CONFIG})

# what every manifest-fetching request accepts, best first
ACCEPT_MANIFESTS: Final = (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_V2S2,
                           DOCKER_V2S1_SIGNED, DOCKER_V2S1)

_FRIENDLY: Final = {
    OCI_MANIFEST: "OCI image manifest",
    OCI_INDEX: "OCI image index",
    DOCKER_V2S2: "Docker manifest (schema 2)",
    DOCKER_LIST: "Docker manifest list",
    DOCKER_V2S1: "Docker manifest (schema 1)",
    DOCKER_V2S1_SIGNED: "Docker manifest (schema 1, signed)",
    OCI_CONFIG: "OCI image config",
    DOCKER_CONFIG: "Docker image config",
}


def is_index(media_type: str) -> bool:
    """True for a manifest list or OCI index."""
    return media_type in INDEX_TYPES


def is_manifest(media_type: str) -> bool:
    """True for any manifest or index media type we understand."""
    return media_type in MANIFEST_TYPES


def layer_compression(media_type: str) -> str | None:
    """The compression a layer media type declares: ``gzip``, ``zstd``, ``none``, or None.

    None means the media type says nothing we know (an artifact blob, say).
    """
    if media_type.endswith(("+gzip", ".tar.gzip")):
        return "gzip"
    if media_type.endswith(("+zstd", ".tar.zstd")):
        return "zstd"
    if media_type.endswith((".tar", "v1.tar")):
        return "none"
    return None


def friendly(media_type: str) -> str:
    """A short human name for a media type, or the type itself (a vendor's layer, such as
    a Helm chart's ``….tar+gzip``, is no OCI layer for all its ending). A foreign or
    non-distributable layer (a Windows base layer, kept outside the image where its
    ``urls`` point) says so."""
    if media_type in _FRIENDLY:
        return _FRIENDLY[media_type]
    compression = layer_compression(media_type)
    if compression is not None and media_type.startswith(_IMAGE_LAYER_PREFIXES):
        family = "Docker" if "docker" in media_type else "OCI"
        if is_foreign_layer(media_type):
            family += " foreign" if family == "Docker" else " non-distributable"
        return f"{family} layer ({compression})" if compression != "none" else f"{family} layer"
    return media_type


def is_foreign_layer(media_type: str) -> bool:
    """True for a Docker foreign layer or an OCI non-distributable one: a layer a registry
    need not hold, fetched from the ``urls`` of its descriptor."""
    return media_type.startswith(_FOREIGN_LAYER_PREFIXES)


_FOREIGN_LAYER_PREFIXES: Final = ("application/vnd.oci.image.layer.nondistributable.",
                                  "application/vnd.docker.image.rootfs.foreign.")


_IMAGE_LAYER_PREFIXES: Final = ("application/vnd.oci.image.layer.",
                                "application/vnd.docker.image.rootfs.")
