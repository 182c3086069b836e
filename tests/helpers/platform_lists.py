"""An OCI layout of small manifest lists whose entries make choosing a platform hard:
the same platform with and without a variant, duplicates, Windows entries that differ
only in ``os.version``, entries without a platform, attestations, an empty list.

Every image carries the label ``id`` naming it (and holds ``/id``), so a test sees
which one was chosen::

    lists = platform_lists(tmp_path / "lists")
    main(["inspect", "--platform", "linux/arm64/v8", f"oci:{lists.root}:arm64both"])
    lists.images["arm64v8"]["digest"]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

_IMAGES: Final = {
    # id: (os, architecture, variant, extra platform fields)
    "amd64": ("linux", "amd64", None, {}),
    "arm64nov": ("linux", "arm64", None, {}),
    "arm64v8": ("linux", "arm64", "v8", {}),
    "armnov": ("linux", "arm", None, {}),
    "arm5": ("linux", "arm", "v5", {}),
    "arm6": ("linux", "arm", "v6", {}),
    "arm7": ("linux", "arm", "v7", {}),
    "dupA": ("linux", "amd64", None, {}),
    "dupB": ("linux", "amd64", None, {}),
    "win1809": ("windows", "amd64", None, {"os.version": "10.0.17763.1234"}),
    "win2022": ("windows", "amd64", None, {"os.version": "10.0.20348.500"}),
    "noplat": ("linux", "amd64", None, {}),
}

LISTS: Final = {
    "arm64both": ["arm64nov", "arm64v8"],
    "arm64both_rev": ["arm64v8", "arm64nov"],
    "arms": ["arm7", "armnov"],
    "arm56": ["arm5", "arm6"],
    "arm67": ["arm6", "arm7"],
    "armnov": ["armnov"],
    "arm64v8": ["arm64v8"],
    "dup": ["dupA", "dupB", "arm64v8"],
    "win": ["win1809", "win2022", "amd64"],
    "attest": ["amd64", "arm64v8", "attestation:amd64", "attestation:arm64v8"],
    "noplat_mixed": ["arm64v8", "noplat"],
    "empty": [],
}
"""The lists tagged in the layout, their entries by image id (``attestation:ID``: BuildKit's
attestation of that image, platform unknown/unknown)."""


@dataclass(frozen=True)
class PlatformLists:
    root: Path
    images: dict[str, dict[str, Any]]
    """The list entry of each image, by id (``noplat``'s without its platform)."""
    lists: dict[str, dict[str, Any]]
    """The descriptor of each list, by tag."""


def platform_lists(root: Path) -> PlatformLists:
    """Write the layout at ``root``: each of :data:`LISTS` tagged by its name, and
    ``docker_noplat``, a Docker list whose one entry names no platform."""
    builder = LayoutBuilder(root)
    images: dict[str, dict[str, Any]] = {}
    for name, (os_name, arch, variant, extra) in _IMAGES.items():
        entry = dict(builder.add_image(ImageSpec(
            os=os_name, architecture=arch, variant=variant, labels={"id": name},
            layers=[LayerSpec({"/id": name.encode()})])))
        entry["platform"] = {**entry["platform"], **extra}
        if name == "noplat":
            del entry["platform"]
        images[name] = entry
    attestations = {name: builder.add_attestation(images[name]) for name in ("amd64", "arm64v8")}
    lists: dict[str, dict[str, Any]] = {}
    for tag, names in LISTS.items():
        entries = [attestations[n.removeprefix("attestation:")] if n.startswith("attestation:")
                   else images[n] for n in names]
        lists[tag] = builder.add_index(entries)
        builder.tag(lists[tag], tag)
    docker = dict(builder.add_image(ImageSpec(
        labels={"id": "docker_noplat"}, docker_media_types=True,
        layers=[LayerSpec({"/id": b"docker_noplat"})])))
    del docker["platform"]
    lists["docker_noplat"] = builder.add_index([docker], docker_media_types=True)
    builder.tag(lists["docker_noplat"], "docker_noplat")
    return PlatformLists(root, images, lists)
