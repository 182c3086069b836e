"""What an image holds, read back through Spyglass's own sources from any transport:
each platform's config (bytes and digest), its diff IDs, and the digest each layer
decompresses to. Conversion tests compare a copy's content with its source's: the
configs byte for byte, and the layers with the diff IDs the *source's* config promises
(not with those of the config the copy wrote, which a copy that rewrote its config
would make agree)."""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass

import zstandard

from spyglass.core.image import load_manifest
from spyglass.core.manifest import ImageIndex, ImageManifest
from spyglass.core.transports import open_source
from spyglass.core.transports.base import ImageSource
from spyglass.core.transports.registry import RegistryOptions

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True)
class ImageContent:
    """One image (one platform of a list)."""

    manifest_digest: str
    config_digest: str
    config: bytes
    diff_ids: tuple[str, ...]
    """As the config lists them."""
    layer_compressions: tuple[str, ...]
    """``gzip``, ``zstd`` or ``none``: what each layer's bytes are (by their magic)."""
    layers_decompressed: tuple[str, ...]
    """The sha256 each layer's bytes decompress to."""


def decompressed(data: bytes) -> tuple[str, bytes]:
    """The compression of ``data`` (by its magic) and its bytes decompressed."""
    if data.startswith(GZIP_MAGIC):
        return "gzip", gzip.decompress(data)
    if data.startswith(ZSTD_MAGIC):
        return "zstd", zstandard.ZstdDecompressor().stream_reader(data).read()
    return "none", data


def _read(source: ImageSource, manifest: ImageManifest) -> ImageContent:
    with source.open_blob(manifest.config) as stream:
        config = stream.read()
    compressions: list[str] = []
    plain: list[str] = []
    for layer in manifest.layers:
        with source.open_blob(layer) as stream:
            kind, data = decompressed(stream.read())
        compressions.append(kind)
        plain.append("sha256:" + hashlib.sha256(data).hexdigest())
    return ImageContent(str(manifest.digest), str(manifest.config.digest), config,
                        tuple(json.loads(config)["rootfs"]["diff_ids"]), tuple(compressions),
                        tuple(plain))


def image_content(name: str) -> dict[str, ImageContent]:
    """The images of ``name`` by platform (``linux/arm64/v8``; a lone image's is read from
    its config)."""
    source = open_source(name, RegistryOptions(tls_verify=False))
    try:
        top = load_manifest(source)
        found: dict[str, ImageContent] = {}
        if isinstance(top, ImageIndex):
            for entry in top.manifests:
                child = load_manifest(source, entry.digest)
                assert isinstance(child, ImageManifest), entry
                found[str(entry.platform)] = _read(source, child)
            return found
        assert isinstance(top, ImageManifest), name
        content = _read(source, top)
        config = json.loads(content.config)
        platform = f"{config['os']}/{config['architecture']}" + (
            f"/{config['variant']}" if config.get("variant") else "")
        return {platform: content}
    finally:
        source.close()


def assert_same_content(written: str, source: str, *, compression: str | None = None) -> None:
    """Every image of ``written`` has its source's config, byte for byte, and layers that
    decompress to the diff IDs of the *source's* config (each ``compression`` when
    given)."""
    before = image_content(source)
    after = image_content(written)
    assert set(after) <= set(before), (sorted(after), sorted(before))
    assert after, written
    for platform, image in after.items():
        original = before[platform]
        assert image.config == original.config, f"{written} {platform}: the config changed"
        assert image.config_digest == original.config_digest, platform
        assert image.layers_decompressed == original.diff_ids, \
            f"{written} {platform}: the layers do not decompress to the source's diff IDs"
        if compression is not None:
            assert set(image.layer_compressions) == {compression}, image.layer_compressions
