"""Image configuration: the JSON blob that says how to run an image and how it was built."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spyglass.core import gojson
from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidConfig, InvalidDigest, clause
from spyglass.core.manifest import MAX_MANIFEST_SIZE, Schema1Manifest


@dataclass(frozen=True)
class HistoryEntry:
    """One step of an image's build history."""

    created: str | None
    created_by: str
    author: str
    comment: str
    empty_layer: bool


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an OCI/Docker image config that people look at.

    ``data`` keeps the whole parsed JSON and ``raw`` the exact bytes.
    """

    raw: bytes = field(repr=False)
    data: Mapping[str, Any] = field(repr=False)
    created: str | None
    author: str
    architecture: str
    os: str
    variant: str
    os_version: str
    docker_version: str
    env: tuple[str, ...]
    entrypoint: tuple[str, ...] | None
    cmd: tuple[str, ...] | None
    working_dir: str
    user: str
    exposed_ports: tuple[str, ...]
    volumes: tuple[str, ...]
    labels: Mapping[str, str]
    stop_signal: str
    diff_ids: tuple[Digest, ...]
    history: tuple[HistoryEntry, ...]

    def layer_history(self, layer_count: int) -> list[HistoryEntry | None]:
        """The history step that made each layer, aligned with the manifest's layers.

        Entries marked ``empty_layer`` made no layer and are skipped; a layer
        without a matching step (history shorter than the layers) gets None.
        """
        steps = [h for h in self.history if not h.empty_layer]
        return [steps[i] if i < len(steps) else None for i in range(layer_count)]


def _strings(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return None


def _keys(value: object) -> tuple[str, ...]:
    return tuple(sorted(str(k) for k in value)) if isinstance(value, Mapping) else ()


def _history(value: object) -> tuple[HistoryEntry, ...]:
    if not isinstance(value, list):
        return ()
    out = []
    for item in value:
        if not isinstance(item, Mapping):
            continue
        out.append(
            HistoryEntry(
                created=str(item["created"]) if item.get("created") else None,
                created_by=str(item.get("created_by", "")),
                author=str(item.get("author", "")),
                comment=str(item.get("comment", "")),
                empty_layer=bool(item.get("empty_layer", False)),
            )
        )
    return tuple(out)


def parse_config(raw: bytes) -> ImageConfig:
    """Parse an image config blob; raise :class:`InvalidConfig` with a sentence."""
    if len(raw) > MAX_MANIFEST_SIZE:
        raise InvalidConfig(
            f"The image config is {len(raw)} bytes, more than the 4 MiB accepted for configs."
        )
    try:
        data = gojson.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidConfig(f"The image config is not valid JSON: {clause(exc)}.") from exc
    if not isinstance(data, dict):
        raise InvalidConfig("The image config is not a JSON object.")
    # Only "config" is how the image runs; "container_config" is the container that ran
    # the last build step (its Cmd is that step), never the image's own settings.
    run = data.get("config") or {}
    if not isinstance(run, Mapping):
        run = {}
    rootfs = data.get("rootfs") or {}
    diff_ids: list[Digest] = []
    if isinstance(rootfs, Mapping):
        listed = rootfs.get("diff_ids") or []
        if not isinstance(listed, list):
            raise InvalidConfig(
                "The image config's rootfs.diff_ids is not a list (it is "
                f"{_shown(listed)}); expected a list of digests, one per layer.")
        for value in listed:
            try:
                diff_ids.append(Digest.parse(value))
            except InvalidDigest as exc:
                raise InvalidConfig(
                    f"The image config lists an invalid diff ID: {clause(exc)}"
                ) from exc
    labels = run.get("Labels") or {}
    return ImageConfig(
        raw=raw,
        data=data,
        created=str(data["created"]) if data.get("created") else None,
        author=str(data.get("author", "") or ""),
        architecture=str(data.get("architecture", "") or ""),
        os=str(data.get("os", "") or ""),
        variant=str(data.get("variant", "") or ""),
        os_version=str(data.get("os.version", "") or ""),
        docker_version=str(data.get("docker_version", "") or ""),
        env=_strings(run.get("Env")) or (),
        entrypoint=_strings(run.get("Entrypoint")),
        cmd=_strings(run.get("Cmd")),
        working_dir=str(run.get("WorkingDir", "") or ""),
        user=str(run.get("User", "") or ""),
        exposed_ports=_keys(run.get("ExposedPorts")),
        volumes=_keys(run.get("Volumes")),
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {},
        stop_signal=str(run.get("StopSignal", "") or ""),
        diff_ids=tuple(diff_ids),
        history=_history(data.get("history")),
    )


def _shown(value: object) -> str:
    """``value`` as JSON in a sentence, cut after 40 characters."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _build_command(compat: Mapping[str, Any]) -> str:
    """The command of a schema 1 step: its ``container_config.Cmd`` (none where
    ``container_config`` is not an object, as the conversion finds none there)."""
    container = gojson.member(compat, "container_config")
    if not isinstance(container, Mapping):
        return ""
    return " ".join(_strings(gojson.member(container, "Cmd")) or ())


def schema1_config(manifest: Schema1Manifest) -> ImageConfig:
    """An :class:`ImageConfig` assembled from a schema 1 manifest's v1Compatibility entries
    (their fields matched as Go's decoder, and so the copy's conversion, matches them)."""
    top: dict[str, Any] = dict(manifest.top_config)
    # schema 1 bookkeeping, and what a schema 1 image never uses (its layers are its
    # fsLayers, its history its entries: a "rootfs" written there is no one's, and the
    # conversion replaces it, as containers/image's does)
    for key in ("id", "parent", "throwaway", "rootfs"):
        top.pop(key, None)
    top["history"] = [
        {
            "created": gojson.member(e.v1_compatibility, "created"),
            "created_by": _build_command(e.v1_compatibility),
            "author": gojson.member(e.v1_compatibility, "author") or "",
            "comment": gojson.member(e.v1_compatibility, "comment") or "",
            "empty_layer": e.empty,
        }
        for e in manifest.entries
    ]
    top.setdefault("architecture", manifest.architecture)
    return parse_config(json.dumps(top).encode())


def labels_of(config: ImageConfig | None) -> Mapping[str, str]:
    return config.labels if config is not None else {}


def command_line(parts: Sequence[str] | None) -> str:
    """A shell-ish rendering of an Entrypoint/Cmd list for display."""
    if not parts:
        return ""
    return " ".join(json.dumps(p) if (" " in p or not p) else p for p in parts)
