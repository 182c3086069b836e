"""cosign's signature manifest (tag ``sha256-<hex>.sig``), built and added to as
containers/image writes it.

containers/image (``docker/docker_image_dest.go``,
``putSignaturesToSigstoreAttachments``) keeps every cosign signature of an image
as one layer of a single OCI image manifest under that tag:

- each layer is a signature: its blob is the payload, its media type the
  payload's (``application/vnd.dev.cosign.simplesigning.v1+json``), its
  annotations the signature's (``dev.cosignproject.cosign/signature``, the
  certificate, chain and bundle ones);
- the config (``application/vnd.oci.image.config.v1+json``) is a small image
  config whose ``rootfs.diff_ids`` list the layer digests;
- adding signatures reads the manifest and config there, keeps their layers
  first, appends each new signature that is not there already (same media type,
  payload digest and size, and annotations) and writes a new config and
  manifest.

Both are serialized the way Go's ``encoding/json`` writes containers/image's
structs (field order, sorted annotation keys, ``<``, ``>`` and ``&`` escaped),
so a tag written fresh is byte for byte skopeo's, and one added to keeps the
same bytes skopeo would write for cosign's own layout. Unlike containers/image,
fields its structs do not know are kept (after the known ones), not dropped:
another signer's manifest loses nothing.

Pure: no I/O. Reading what a destination holds, and writing, is the copy's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from spyglass.core import gojson, media
from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidConfig, InvalidManifest
from spyglass.core.manifest import Descriptor, ImageManifest, parse_manifest
from spyglass.core.signatures.media import COSIGN_SIMPLESIGNING

_MANIFEST_FIELDS: Final = ("schemaVersion", "mediaType", "artifactType", "config", "layers",
                           "subject", "annotations")
"""image-spec's ``Manifest`` in Go's field order."""
_DESCRIPTOR_FIELDS: Final = ("mediaType", "digest", "size", "urls", "annotations", "data",
                             "platform", "artifactType")
_CONFIG_FIELDS: Final = ("created", "author", "architecture", "os", "os.version",
                         "os.features", "variant", "config", "rootfs", "history")
"""image-spec's ``Image`` in Go's field order."""


def go_json(value: object) -> bytes:
    """``value`` as Go's ``json.Marshal`` writes it: compact, UTF-8, with ``<``, ``>``,
    ``&``, U+2028 and U+2029 escaped (a JSON value holds them only inside strings),
    and a lone surrogate (which Go cannot hold) as U+FFFD."""
    return gojson.SURROGATE.sub("\ufffd", gojson.dumps(value)).encode("utf-8")


def _ordered(data: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """``data`` with the fields Go knows first, in its order, then the others as they were."""
    out = {name: data[name] for name in fields if name in data}
    out.update((name, value) for name, value in data.items() if name not in out)
    if isinstance(out.get("annotations"), Mapping):
        out["annotations"] = dict(sorted(out["annotations"].items()))
    return out


def _descriptor_json(data: Mapping[str, Any]) -> dict[str, Any]:
    return _ordered(data, _DESCRIPTOR_FIELDS)


def signature_layer(payload: bytes, media_type: str, annotations: Mapping[str, str]) -> Descriptor:
    """The layer descriptor of one signature: its payload's digest and size, its
    annotations (a ``dir:`` ``signature-N`` file in ``sigstore-json`` form holds all three)."""
    return Descriptor(media_type, Digest.of(payload), len(payload), annotations=dict(annotations))


def same_signature(layer: Descriptor, signature: Descriptor) -> bool:
    """True when ``layer`` already is ``signature``: the same media type, payload digest
    and size, and annotations (containers/image's ``layerMatchesSigstoreSignature``)."""
    return (
        layer.media_type == signature.media_type
        and layer.digest == signature.digest
        and layer.size == signature.size
        and dict(layer.annotations) == dict(signature.annotations)
    )


@dataclass(frozen=True)
class SignatureManifest:
    """A cosign signature manifest and its config, as JSON objects (a tag there to add to).

    Made by :func:`read_signature_manifest`, which checked both.
    """

    manifest: Mapping[str, Any]
    config: Mapping[str, Any]
    layers: tuple[Descriptor, ...]


def check_signature_manifest(raw: bytes, media_type: str | None) -> ImageManifest:
    """``raw`` parsed, when it is a cosign signature manifest signatures can be added to:
    an OCI image manifest whose layers are all cosign signatures. Else raises
    :class:`InvalidManifest` saying why."""
    parsed = parse_manifest(raw, media_type)
    if not isinstance(parsed, ImageManifest) or parsed.media_type != media.OCI_MANIFEST:
        raise InvalidManifest("It is not an OCI image manifest.")
    odd = [layer.media_type for layer in parsed.layers if layer.media_type != COSIGN_SIMPLESIGNING]
    if odd:
        raise InvalidManifest(
            f"It has a layer of type {odd[0] or '(none)'}, not a cosign signature."
        )
    return parsed


def _field(document: object, name: str, default: object) -> object:
    """``document[name]``, ``default`` for a field missing or null (as Go reads it); None
    when ``document`` is not an object."""
    if not isinstance(document, dict):
        return None
    value = document.get(name)
    return default if value is None else value


def read_signature_manifest(raw: bytes, parsed: ImageManifest, config: bytes) -> SignatureManifest:
    """The manifest ``raw`` (checked by :func:`check_signature_manifest` into ``parsed``)
    with its ``config`` (bytes verified by the caller). Raises :class:`InvalidConfig`
    when the config is not a JSON object with a ``rootfs.diff_ids`` list of strings."""
    try:
        document = json.loads(config)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidConfig("Its config is not JSON.") from None
    rootfs = _field(document, "rootfs", {})
    diff_ids = _field(rootfs, "diff_ids", [])
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) for d in diff_ids):
        raise InvalidConfig('Its config is not a JSON object with a "rootfs.diff_ids" list.')
    assert isinstance(document, dict)
    manifest = json.loads(raw)  # an object: parse_manifest read it
    return SignatureManifest(manifest, document, parsed.layers)


@dataclass(frozen=True)
class Written:
    """A signature manifest to write: its bytes, its config's, and what changed."""

    manifest: bytes
    config: bytes
    added: tuple[Descriptor, ...]
    """The signature layers that were not there, in the order given."""
    already: int
    """Signatures given that were there already (or given twice)."""
    kept: int
    """The layers of the manifest added to."""

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(media.OCI_MANIFEST, Digest.of(self.manifest), len(self.manifest))

    @property
    def config_descriptor(self) -> Descriptor:
        return Descriptor(media.OCI_CONFIG, Digest.of(self.config), len(self.config))


def write_signature_manifest(
    signatures: Iterable[Descriptor], existing: SignatureManifest | None = None
) -> Written:
    """The manifest holding ``existing``'s layers, then each of ``signatures`` not among
    them yet, and its config (``existing``'s with the new ``diff_ids``, or a fresh one)."""
    if existing is None:
        manifest: dict[str, Any] = {"schemaVersion": 2, "mediaType": media.OCI_MANIFEST}
        config: dict[str, Any] = {"rootfs": {"type": "layers"}}
        layers: list[Any] = []
        have: list[Descriptor] = []
    else:
        manifest = dict(existing.manifest)
        config = dict(existing.config)
        layers = [_descriptor_json(layer) for layer in existing.manifest.get("layers") or []]
        have = list(existing.layers)
    rootfs = dict(config.get("rootfs") or {})
    kind = rootfs.pop("type", "")
    diff_ids = list(rootfs.pop("diff_ids", None) or [])
    added: list[Descriptor] = []
    already = 0
    for signature in signatures:
        if any(same_signature(layer, signature) for layer in have):
            already += 1
            continue
        layer = Descriptor(signature.media_type, signature.digest, signature.size,
                           annotations=dict(signature.annotations))
        have.append(layer)
        added.append(layer)
        layers.append(_descriptor_json(layer.to_json()))
        diff_ids.append(str(layer.digest))
    # Go always writes these fields of an image config (none is omitempty)
    config.setdefault("architecture", "")
    config.setdefault("os", "")
    config.setdefault("config", {})
    config["rootfs"] = {"type": kind, "diff_ids": diff_ids, **rootfs}
    config_bytes = go_json(_ordered(config, _CONFIG_FIELDS))
    manifest["config"] = Descriptor(media.OCI_CONFIG, Digest.of(config_bytes),
                                    len(config_bytes)).to_json()
    manifest["layers"] = layers
    return Written(
        manifest=go_json(_ordered(manifest, _MANIFEST_FIELDS)),
        config=config_bytes,
        added=tuple(added),
        already=already,
        kept=len(existing.layers) if existing is not None else 0,
    )


__all__ = [
    "SignatureManifest",
    "Written",
    "check_signature_manifest",
    "go_json",
    "read_signature_manifest",
    "same_signature",
    "signature_layer",
    "write_signature_manifest",
]
