"""Manifests: OCI image manifests and indexes, Docker schema 2 and lists, schema 1.

:func:`parse_manifest` turns raw bytes into one of three immutable classes:

- :class:`ImageManifest` — an OCI image manifest or Docker schema 2 manifest,
  including OCI artifacts (``artifactType``, ``subject``);
- :class:`ImageIndex` — an OCI index or Docker manifest list (possibly nested);
- :class:`Schema1Manifest` — Docker schema 1, signed or not (read only).

Each keeps its exact ``raw`` bytes and their ``digest``; the digest of a signed
schema 1 manifest is computed without its JWS signatures, as the registry and
containers/image compute it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from spyglass.core import gojson, media
from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidDigest, InvalidManifest, clause
from spyglass.core.platform import Platform, best_match

MAX_MANIFEST_SIZE: Final = 4 * 1024 * 1024
"""Manifests and configs larger than this are refused (containers/image's limit)."""

REF_NAME_ANNOTATION: Final = "org.opencontainers.image.ref.name"
TITLE_ANNOTATION: Final = "org.opencontainers.image.title"
"""The annotation that names a blob's file (OCI pre-defines it; oras writes it)."""
IMAGE_NAME_ANNOTATION: Final = "io.containerd.image.name"
"""The full name beside a ref name that is only a tag (containerd, BuildKit, Docker 25+)."""


_DESCRIPTOR_FIELDS: Final = frozenset(
    {"mediaType", "digest", "size", "annotations", "platform", "urls", "artifactType"})
"""The descriptor fields :class:`Descriptor` reads; the others are its ``extra``."""


@dataclass(frozen=True)
class Descriptor:
    """A content descriptor: what a manifest says about a blob or child manifest.

    ``extra`` holds the other fields of the JSON it was read from, as they were
    (``data``, the blob's bytes inline; fields of later versions or of other tools),
    so that a manifest written again keeps them: :meth:`to_json` writes them back, and
    :meth:`with_blob` drops them when the descriptor comes to name other bytes.
    """

    media_type: str
    digest: Digest
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    artifact_type: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: object, *, where: str = "a descriptor") -> Descriptor:
        if not isinstance(data, Mapping):
            raise InvalidManifest(f"{where.capitalize()} is not a JSON object.")
        try:
            digest = Digest.parse(data["digest"])
        except KeyError:
            raise InvalidManifest(f"{where.capitalize()} has no digest.") from None
        except InvalidDigest as exc:
            raise InvalidManifest(
                f"{where.capitalize()} has an invalid digest: {clause(exc)}"
            ) from exc
        size = data.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidManifest(
                f"{where.capitalize()} ({digest}) has no valid size; expected a "
                "non-negative integer."
            )
        media_type = data.get("mediaType", "")
        if not isinstance(media_type, str):
            raise InvalidManifest(f"{where.capitalize()} ({digest}) has a non-string mediaType.")
        annotations = data.get("annotations") or {}
        if not isinstance(annotations, Mapping) or not all(
            isinstance(v, str) for v in annotations.values()
        ):
            raise InvalidManifest(
                f"{where.capitalize()} ({digest}) has annotations that are not strings."
            )
        platform = data.get("platform")
        urls = data.get("urls") or ()
        artifact_type = data.get("artifactType")
        return cls(
            media_type=media_type,
            digest=digest,
            size=size,
            annotations=dict(annotations),
            platform=Platform.from_json(platform) if platform is not None else None,
            urls=tuple(str(u) for u in urls) if isinstance(urls, list) else (),
            artifact_type=artifact_type if isinstance(artifact_type, str) else None,
            extra={key: value for key, value in data.items() if key not in _DESCRIPTOR_FIELDS},
        )

    def to_json(self) -> dict[str, Any]:
        """The descriptor as JSON, in the order of the Go struct containers/image writes
        (so a manifest written again has the digest skopeo's has), with ``data`` where
        that struct has it and any other ``extra`` field last, as it was read (a copy
        that writes a manifest again keeps only what Go keeps: see
        :func:`spyglass.core.copy._kept_as_go_keeps`)."""
        out: dict[str, Any] = {}
        if self.media_type:
            out["mediaType"] = self.media_type
        out["digest"] = str(self.digest)
        out["size"] = self.size
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if "data" in self.extra:
            out["data"] = self.extra["data"]
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        out.update((key, value) for key, value in self.extra.items() if key not in out)
        return out

    def with_blob(self, digest: Digest, size: int) -> Descriptor:
        """The descriptor naming the blob ``digest`` of ``size`` bytes instead: its
        ``extra`` fields are kept only when that is the blob it named (``data`` is the
        old blob's bytes, and what the others say of them is not known)."""
        if digest == self.digest and size == self.size:
            return self
        return replace(self, digest=digest, size=size, extra={})

    @property
    def ref_name(self) -> str | None:
        """The ``org.opencontainers.image.ref.name`` annotation, if any."""
        return self.annotations.get(REF_NAME_ANNOTATION)


@dataclass(frozen=True)
class ImageManifest:
    """An OCI image manifest or Docker schema 2 manifest (artifacts included)."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    digest: Digest
    raw: bytes = field(repr=False)
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_artifact(self) -> bool:
        """True for an OCI artifact rather than a runnable image."""
        return bool(self.artifact_type) or self.config.media_type not in media.CONFIG_TYPES

    @property
    def total_size(self) -> int:
        """Bytes of the manifest, its config and its layers."""
        return len(self.raw) + self.config.size + sum(layer.size for layer in self.layers)


@dataclass(frozen=True)
class ImageIndex:
    """An OCI image index or Docker manifest list."""

    media_type: str
    manifests: tuple[Descriptor, ...]
    digest: Digest
    raw: bytes = field(repr=False)
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    def choose(self, wanted: Platform, *, unplaced: bool = True) -> Descriptor:
        """The instance best suited to ``wanted`` (:func:`~spyglass.core.platform.best_match`);
        raise :class:`~spyglass.core.errors.PlatformNotFound`, saying what the list offers.

        With ``unplaced``, an image entry of an OCI index without a platform is
        chosen when none with one fits, as containers/image ranks it last (an
        index of one image saved without its platform); a Docker list's never is,
        nor a nested index (a caller that searches nested lists first asks
        without ``unplaced``, then :meth:`unplaced_image`).
        """
        candidates = [d for d in self.manifests if d.platform is not None]
        found = best_match(wanted, [d.platform for d in candidates if d.platform is not None])
        if found is None:
            fallback = self.unplaced_image() if unplaced else None
            if fallback is not None:
                return fallback
            # (imported here: the sentence's module reads descriptors of this one)
            from spyglass.core.platform_choice import platform_not_found

            raise platform_not_found(self, wanted)
        return candidates[found]

    def unplaced_image(self) -> Descriptor | None:
        """The first image entry without a platform of an OCI index (None for a Docker
        list, as containers/image takes none there)."""
        if self.media_type != media.OCI_INDEX:
            return None
        return next((d for d in self.manifests if d.platform is None
                     and d.media_type in media.IMAGE_MANIFEST_TYPES), None)


@dataclass(frozen=True)
class Schema1Layer:
    """One ``fsLayers`` entry of a schema 1 manifest, in base-to-top order."""

    digest: Digest
    v1_compatibility: Mapping[str, Any]

    @property
    def empty(self) -> bool:
        """Whether the step made no layer (``throwaway``, matched as Go matches it)."""
        return gojson.member(self.v1_compatibility, "throwaway") is True


@dataclass(frozen=True)
class Schema1Manifest:
    """A Docker schema 1 manifest (read only); ``layers`` run from base to top."""

    media_type: str
    name: str
    tag: str
    architecture: str
    entries: tuple[Schema1Layer, ...]
    digest: Digest
    raw: bytes = field(repr=False)

    @property
    def layers(self) -> tuple[Descriptor, ...]:
        """The non-empty layers, base first (sizes are unknown in schema 1: -1 is not used, 0)."""
        return tuple(
            Descriptor(media.DOCKER_LAYER_GZIP, e.digest, 0) for e in self.entries if not e.empty
        )

    @property
    def top_config(self) -> Mapping[str, Any]:
        """The v1Compatibility object of the top layer: the closest schema 1 has to a config."""
        return self.entries[-1].v1_compatibility if self.entries else {}


AnyManifest = ImageManifest | ImageIndex | Schema1Manifest


def _load(raw: bytes, limit: int = MAX_MANIFEST_SIZE, data: object = None) -> dict[str, Any]:
    """``raw`` as a JSON object; ``data``: what ``raw`` decodes to where the caller has
    decoded it already (None: decode it here)."""
    if len(raw) > limit:
        raise InvalidManifest(
            f"The manifest is {len(raw)} bytes, more than the {limit // (1024 * 1024)} MiB "
            "accepted for manifests."
        )
    if data is None:
        try:
            data = gojson.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidManifest(f"The manifest is not valid JSON: {clause(exc)}.") from exc
    if not isinstance(data, dict):
        raise InvalidManifest("The manifest is not a JSON object.")
    return data


def guess_media_type(raw: bytes) -> str | None:
    """Guess a manifest's media type from its content, as containers/image does.

    Returns None when the bytes are no manifest we recognize.
    """
    try:
        data = gojson.loads(raw)
    except json.JSONDecodeError:
        return None
    return guess_media_type_of(data)


def guess_media_type_of(data: object) -> str | None:
    """:func:`guess_media_type` of a manifest decoded already (``data``: what its bytes
    decode to), without decoding them again."""
    if not isinstance(data, dict):
        return None
    declared = data.get("mediaType")
    if declared in (media.DOCKER_V2S2, media.DOCKER_LIST, media.OCI_MANIFEST, media.OCI_INDEX):
        return str(declared)
    version = data.get("schemaVersion")
    if version == 1:
        return media.DOCKER_V2S1_SIGNED if data.get("signatures") is not None else media.DOCKER_V2S1
    if version == 2:
        config = data.get("config")
        config_type = config.get("mediaType") if isinstance(config, dict) else None
        if config_type == media.OCI_CONFIG:
            return media.OCI_MANIFEST
        if config_type == media.DOCKER_CONFIG:
            return media.DOCKER_V2S2
        if isinstance(data.get("manifests"), list) and data["manifests"]:
            return media.OCI_INDEX
        return media.OCI_MANIFEST
    return None


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def schema1_payload(raw: bytes) -> bytes:
    """The signed payload of a schema 1 manifest: the bytes its digest is computed over.

    For a manifest with JWS signatures (libtrust's "pretty" format) the payload
    is the manifest cut at ``formatLength`` plus ``formatTail``, both taken from
    the protected header of the signatures; unsigned manifests are their own
    payload.
    """
    return _schema1_payload(raw, _load(raw))


def _schema1_payload(raw: bytes, data: Mapping[str, Any]) -> bytes:
    """:func:`schema1_payload` of ``raw``, which decodes to ``data``."""
    signatures = data.get("signatures")
    if not signatures:
        return raw
    try:
        protected = json.loads(_b64url(signatures[0]["protected"]))
        length = int(protected["formatLength"])
        tail = _b64url(protected["formatTail"])
    except (KeyError, TypeError, ValueError, IndexError, binascii.Error) as exc:
        raise InvalidManifest(
            "The signed schema 1 manifest has a malformed signature header; "
            "its digest cannot be computed."
        ) from exc
    if not 0 < length <= len(raw):
        raise InvalidManifest("The signed schema 1 manifest's formatLength is out of range.")
    for other in signatures[1:]:
        try:
            other_header = json.loads(_b64url(other["protected"]))
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise InvalidManifest("A schema 1 signature has a malformed header.") from exc
        if other_header.get("formatLength") != length:
            raise InvalidManifest("The schema 1 signatures disagree on the signed payload.")
    return raw[:length] + tail


def manifest_digest(raw: bytes, media_type: str | None = None, algorithm: str = "sha256") -> Digest:
    """The digest of a manifest as registries compute it."""
    kind = media_type or guess_media_type(raw)
    if kind in media.SCHEMA1_TYPES:
        # whether a schema 1 manifest is signed is decided by its content, never its label
        kind = guess_media_type(raw)
    if kind == media.DOCKER_V2S1_SIGNED:
        return Digest.of(schema1_payload(raw), algorithm)
    return Digest.of(raw, algorithm)


def _descriptors(data: Mapping[str, Any], key: str, what: str) -> tuple[Descriptor, ...]:
    items = data.get(key)
    if items is None:
        return ()
    if not isinstance(items, list):
        raise InvalidManifest(f'The manifest\'s "{key}" is not a list.')
    return tuple(
        Descriptor.from_json(item, where=f"{what} {i + 1}") for i, item in enumerate(items)
    )


def _common(data: Mapping[str, Any]) -> tuple[Descriptor | None, str | None, dict[str, str]]:
    subject_data = data.get("subject")
    subject = Descriptor.from_json(subject_data, where="the subject") if subject_data else None
    artifact_type = data.get("artifactType")
    annotations = data.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise InvalidManifest("The manifest's annotations are not a JSON object.")
    wrong = next(((k, v) for k, v in annotations.items() if not isinstance(v, str)), None)
    if wrong is not None:
        # as a descriptor's are refused (and by containers/image, registries): never
        # str() of them, which shows Python's True and lets a copy upload every blob first
        raise InvalidManifest(
            f"The manifest has annotations that are not strings ({_shown(wrong[0])} is "
            f"{_shown(wrong[1])}; expected a string).")
    return (
        subject,
        artifact_type if isinstance(artifact_type, str) else None,
        dict(annotations),
    )


_SHOWN_LENGTH: Final = 40
"""At most this many characters of a JSON value are said in a sentence."""


def _shown(value: object) -> str:
    """``value`` as JSON in a sentence: escaped (a name from outside shows nothing
    hidden), cut after :data:`_SHOWN_LENGTH` characters."""
    text = json.dumps(value)
    return text if len(text) <= _SHOWN_LENGTH else text[:_SHOWN_LENGTH - 1] + "…"


def schema1_fields(raw: bytes) -> dict[str, Any]:
    """The fields of a schema 1 manifest as its digest covers them: a signed one's are
    read from its signed payload alone (:func:`schema1_payload`), as distribution reads
    them, never from what is written after it (a second ``fsLayers`` or ``history``
    after the signatures, which JSON would let win, is not part of the image its
    digest names)."""
    return _schema1_fields(raw, _load(raw))[0]


def _schema1_fields(raw: bytes, data: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """:func:`schema1_fields` of ``raw``, which decodes to ``data``, and the bytes its
    digest is computed over (:func:`schema1_payload`)."""
    if not data.get("signatures"):
        return data, raw
    payload = _schema1_payload(raw, data)
    return _load(payload), payload


def _parse_schema1(raw: bytes, media_type: str, data: dict[str, Any],
                   guessed: str | None) -> Schema1Manifest:
    """The schema 1 manifest ``raw`` (decoded: ``data``), ``media_type`` as said,
    ``guessed`` by its content (:func:`guess_media_type`)."""
    data, signed = _schema1_fields(raw, data)
    fs_layers = data.get("fsLayers")
    history = data.get("history")
    if not isinstance(fs_layers, list) or not isinstance(history, list):
        raise InvalidManifest("The schema 1 manifest lacks fsLayers or history lists.")
    if len(fs_layers) != len(history):
        raise InvalidManifest(
            f"The schema 1 manifest has {len(fs_layers)} fsLayers but {len(history)} "
            "history entries; they must match."
        )
    entries: list[Schema1Layer] = []
    # schema 1 lists the top layer first; keep base-to-top order like schema 2.
    for fs_layer, hist in zip(reversed(fs_layers), reversed(history), strict=True):
        try:
            digest = Digest.parse(fs_layer["blobSum"])
            compat = gojson.loads(hist["v1Compatibility"])
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise InvalidManifest(
                "A schema 1 layer entry lacks a valid blobSum or v1Compatibility."
            ) from exc
        except InvalidDigest as exc:
            raise InvalidManifest(
                f"A schema 1 layer has an invalid blobSum: {clause(exc)}"
            ) from exc
        entries.append(Schema1Layer(digest, compat if isinstance(compat, dict) else {}))
    return Schema1Manifest(
        media_type=media_type,
        name=str(data.get("name", "")),
        tag=str(data.get("tag", "")),
        architecture=str(data.get("architecture", "")),
        entries=tuple(entries),
        # as manifest_digest computes it: over the payload where the content is signed
        digest=Digest.of(signed if guessed == media.DOCKER_V2S1_SIGNED else raw),
        raw=raw,
    )


def parse_manifest(raw: bytes, media_type: str | None = None, *,
                   limit: int = MAX_MANIFEST_SIZE, data: object = None) -> AnyManifest:
    """Parse manifest bytes; ``media_type`` is what the transport said, if anything;
    ``limit``: the most bytes taken (a layout's ``index.json`` may hold more than a
    manifest: :data:`~spyglass.core.transports.layout_files.MAX_INDEX_FILE_SIZE`).

    ``data``: what ``raw`` decodes to (:func:`spyglass.core.gojson.loads`), where the
    caller has decoded it already; ``raw`` is then not decoded again (a layout's
    ``index.json`` of 60 MB took 150 ms a decode, holding the GUI thread). It MUST be
    what ``raw`` decodes to: the manifest's fields are taken from it, its digest from
    ``raw``. None: ``raw`` is decoded here, once.

    Raises :class:`InvalidManifest` with a sentence for anything that is not a
    manifest of a known kind.
    """
    data = _load(raw, limit, data)
    guessed = guess_media_type_of(data)
    kind = media_type if media_type in media.MANIFEST_TYPES else guessed
    if kind is None:
        declared = data.get("mediaType")
        raise InvalidManifest(
            "The content is not a manifest of a known kind"
            + (f' (its mediaType is "{declared}")' if declared else "")
            + "; expected an OCI or Docker manifest or index."
        )
    declared = data.get("mediaType")
    if declared and kind not in media.SCHEMA1_TYPES and declared != kind:
        raise InvalidManifest(
            f'The manifest declares mediaType "{declared}" but was served as "{kind}".'
        )
    if kind in media.SCHEMA1_TYPES:
        return _parse_schema1(raw, kind, data, guessed)
    if data.get("schemaVersion") != 2:
        raise InvalidManifest(
            f"The {media.friendly(kind)} has schemaVersion {data.get('schemaVersion')!r}; "
            "expected 2."
        )
    subject, artifact_type, annotations = _common(data)
    digest = Digest.of(raw)
    if kind in media.INDEX_TYPES:
        if not isinstance(data.get("manifests"), list):
            raise InvalidManifest(f'The {media.friendly(kind)} has no "manifests" list.')
        return ImageIndex(
            media_type=kind,
            manifests=_descriptors(data, "manifests", "manifest entry"),
            digest=digest,
            raw=raw,
            subject=subject,
            artifact_type=artifact_type,
            annotations=annotations,
        )
    if "config" not in data:
        raise InvalidManifest(f'The {media.friendly(kind)} has no "config" descriptor.')
    return ImageManifest(
        media_type=kind,
        config=Descriptor.from_json(data["config"], where="the config descriptor"),
        layers=_descriptors(data, "layers", "layer"),
        digest=digest,
        raw=raw,
        subject=subject,
        artifact_type=artifact_type,
        annotations=annotations,
    )


def child_descriptors(manifest: AnyManifest) -> Sequence[Descriptor]:
    """Every blob or manifest a manifest references directly (config first)."""
    if isinstance(manifest, ImageIndex):
        return manifest.manifests
    if isinstance(manifest, ImageManifest):
        return (manifest.config, *manifest.layers)
    return manifest.layers
