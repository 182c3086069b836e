"""Docker schema 1 images, converted to schema 2 for copying, as containers/image does.

A schema 1 manifest (``application/vnd.docker.distribution.manifest.v1+json``,
signed or not) has no config blob and states neither its layers' sizes nor their
uncompressed digests; every registry but the oldest refuses it, and so do OCI
layouts and archives. containers/image copies one by converting it
(``manifest/docker_schema1.go``, ``ToSchema2Config``): the config is the top
``v1Compatibility`` object without its schema 1 bookkeeping (``id``, ``parent``,
``Size``, ``parent_id``, ``layer_id``, ``throwaway``), with the history built
from every entry and ``rootfs.diff_ids`` from the layers, which are the entries
not marked ``throwaway``, base first.

Those diff IDs and sizes are only known by reading the layers: :func:`convert`
reads each (distinct) layer once, as a stream, verified against its digest, and
the copy then reads it again to send it. A schema 1 image is legacy; reading it
twice keeps the copy engine's plan-then-execute shape whole.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from spyglass.core import compression, media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor, ImageManifest, Schema1Manifest, parse_manifest
from spyglass.core.transports.base import ImageSource

_DROPPED = ("id", "parent", "Size", "parent_id", "layer_id", "throwaway")
"""The schema 1 bookkeeping a schema 2 config does not carry."""


@dataclass(frozen=True)
class Converted:
    """A schema 1 image as schema 2: its manifest (parsed, with its bytes) and config."""

    manifest: ImageManifest
    config: bytes


def convert(
    source: ImageSource, manifest: Schema1Manifest, *, cancel: CancelToken | None = None
) -> Converted:
    """The schema 2 image ``manifest`` becomes; its layers are read from ``source`` to
    learn their sizes and uncompressed digests (a damaged one fails here)."""
    measured: dict[Digest, tuple[int, Digest]] = {}
    layers: list[dict[str, Any]] = []
    diff_ids: list[str] = []
    for entry in manifest.entries:
        if entry.empty:
            continue
        check(cancel)
        if entry.digest not in measured:
            measured[entry.digest] = _measure(source, entry.digest, cancel)
        size, diff_id = measured[entry.digest]
        layers.append({"mediaType": media.DOCKER_LAYER_GZIP, "size": size,
                       "digest": str(entry.digest)})
        diff_ids.append(str(diff_id))
    config = {k: v for k, v in manifest.top_config.items() if k not in _DROPPED}
    config["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
    config["history"] = [_history(entry.v1_compatibility, entry.empty)
                         for entry in manifest.entries]
    config.setdefault("architecture", manifest.architecture)
    config_raw = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    raw = json.dumps({
        "schemaVersion": 2,
        "mediaType": media.DOCKER_V2S2,
        "config": {"mediaType": media.DOCKER_CONFIG, "size": len(config_raw),
                   "digest": str(Digest.of(config_raw))},
        "layers": layers,
    }, indent=3).encode()  # as docker and containers/image write schema 2 manifests
    converted = parse_manifest(raw, media.DOCKER_V2S2)
    assert isinstance(converted, ImageManifest)
    return Converted(converted, config_raw)


def _history(compat: Any, empty: bool) -> dict[str, Any]:
    """One history entry of the schema 2 config, from an entry's v1Compatibility (the
    fields containers/image takes, empty ones left out as Go's ``omitempty`` does)."""
    container = compat.get("container_config") or {}
    command = container.get("Cmd") if isinstance(container, dict) else None
    entry = {
        "created": compat.get("created"),
        "created_by": " ".join(c for c in command if isinstance(c, str))
        if isinstance(command, list) else "",
        "author": compat.get("author"),
        "comment": compat.get("comment"),
        "empty_layer": empty,
    }
    return {key: value for key, value in entry.items() if value}


def _measure(source: ImageSource, digest: Digest,
             cancel: CancelToken | None) -> tuple[int, Digest]:
    """A layer's size and uncompressed digest, read once as a stream (verified against
    its digest: schema 1 states no size)."""
    descriptor = Descriptor(media.DOCKER_LAYER_GZIP, digest, -1)
    plain = hashlib.sha256()
    with source.open_blob(descriptor, cancel=cancel) as stream:
        counted = _Counting(stream)
        reader = compression.open_decompressed(
            counted, None, what=f"The layer {digest}", buffered=False)
        with reader:
            while chunk := reader.read(compression.READ_SIZE):
                check(cancel)
                plain.update(chunk)
        while counted.read(compression.READ_SIZE):  # to its end: the digest is checked
            pass
    return counted.count, Digest("sha256", plain.hexdigest())


class _Counting:
    """Counts the bytes read through it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.count = 0

    def read(self, n: int = -1, /) -> bytes:
        data: bytes = self._stream.read(n)
        self.count += len(data)
        return data


__all__ = ["Converted", "convert"]
