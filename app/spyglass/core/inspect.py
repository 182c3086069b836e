"""What ``spyglass inspect`` prints: the fields of ``skopeo inspect``, from a loaded image."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from spyglass.core import media
from spyglass.core.image import LoadedImage
from spyglass.core.manifest import ImageIndex, Schema1Manifest, manifest_digest
from spyglass.core.reference import DockerArchiveName, DockerName, ImageName

_RFC3339 = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})"
)

GO_ZERO_TIME = "0001-01-01T00:00:00Z"
"""Go's zero ``time.Time`` as skopeo prints it: a Docker image's ``Created`` when its
config has none (an OCI image's is null)."""


def created_as_skopeo(created: str | None) -> str | None:
    """A config's ``created`` as ``skopeo inspect`` prints it.

    skopeo parses the time and prints it back in Go's RFC 3339 with
    nanoseconds: the fraction cut to nine digits with its trailing zeros (and
    a bare dot) dropped, a zero offset as ``Z``, other offsets kept
    (``2023-06-07T08:09:10.120000000+00:00`` → ``2023-06-07T08:09:10.12Z``).
    Text that is no RFC 3339 time, which skopeo refuses, is shown unchanged.
    """
    if created is None:
        return None
    match = _RFC3339.fullmatch(created)
    if match is None:
        return created
    stamp, fraction, zone = match.groups()
    fraction = (fraction or "")[:9].rstrip("0")
    if zone in ("+00:00", "-00:00"):
        zone = "Z"
    return stamp + (f".{fraction}" if fraction else "") + zone


def docker_name_of(name: ImageName) -> str | None:
    """The repository name skopeo shows as ``Name``: only names that carry a Docker reference."""
    if isinstance(name, DockerName):
        return name.reference.name
    if isinstance(name, DockerArchiveName) and name.reference is not None:
        return name.reference.name
    return None


def inspect_output(image: LoadedImage, name: ImageName, repo_tags: list[str]) -> dict[str, Any]:
    """The ``skopeo inspect`` JSON object for ``image``.

    ``Digest`` is the digest of what the name points at (the list, for a
    list), the other fields describe the chosen instance, as skopeo does.
    """
    config = image.config
    out: dict[str, Any] = {}
    docker_name = docker_name_of(name)
    if docker_name:
        out["Name"] = docker_name
    if isinstance(image.manifest, Schema1Manifest) and image.manifest.tag:
        out["Tag"] = image.manifest.tag  # (only schema 1 names its tag: skopeo shows it)
    top = image.top
    out["Digest"] = str(  # (of the algorithm it is named by: a layout's sha512 entry)
        top.digest if isinstance(top, ImageIndex)
        else manifest_digest(top.raw, top.media_type, top.digest.algorithm)
    )
    out["RepoTags"] = repo_tags
    out["Created"] = created_as_skopeo(config.created) if config else None
    if out["Created"] is None and config and (
            isinstance(image.manifest, Schema1Manifest)
            or image.manifest.media_type == media.DOCKER_V2S2):
        # containers/image reads a Docker config's created into a time.Time, not a
        # pointer as OCI's: absent (or null) is Go's zero time, which skopeo prints
        out["Created"] = GO_ZERO_TIME
    out["DockerVersion"] = config.docker_version if config else ""
    # maps come out with their keys sorted, as Go's encoder (skopeo's) writes them
    # an empty map or list the config holds is shown so ({}, []), as Go keeps it; only
    # one it lacks (or has as null) is null
    run = config.data.get("config") if config else None
    run = run if isinstance(run, Mapping) else {}
    out["Labels"] = (dict(sorted(config.labels.items()))
                     if config and (config.labels or isinstance(run.get("Labels"), Mapping))
                     else None)
    out["Architecture"] = config.architecture if config else ""
    if config and config.variant:
        out["Variant"] = config.variant
    out["Os"] = config.os if config else ""
    if isinstance(image.manifest, Schema1Manifest):
        # as skopeo: every fsLayers blob, base first, the empty ones of steps that made
        # no layer too (a mirror fetches them all); and no LayersData, as schema 1 records
        # no sizes or media types (skopeo 1.9 leaves it out)
        out["Layers"] = [str(entry.digest) for entry in image.manifest.entries]
        out["Env"] = (list(config.env)
                      if config and (config.env or isinstance(run.get("Env"), list)) else None)
        return out
    out["Layers"] = [str(layer.digest) for layer in image.layers]
    out["LayersData"] = [
        {
            "MIMEType": layer.media_type,
            "Digest": str(layer.digest),
            "Size": layer.size,
            "Annotations": dict(sorted(layer.annotations.items())) if layer.annotations
            else None,
        }
        for layer in image.layers
    ]
    out["Env"] = (list(config.env)
                  if config and (config.env or isinstance(run.get("Env"), list)) else None)
    return out
