"""Transports: one module per place images live, behind the protocols in ``base``.

This module holds the tables that map an image name to the transport that
opens it for reading (:func:`open_source`) or writing (:func:`open_destination`),
and a path on disk to the kind of place it is.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from spyglass.core.errors import InvalidLayout, TransportError
from spyglass.core.reference import (
    DirName,
    DockerArchiveName,
    DockerName,
    ImageName,
    OCIArchiveName,
    OCIName,
    parse_image_name,
)
from spyglass.core.transports.base import ImageDestination, ImageSource, Location

if TYPE_CHECKING:
    from spyglass.core.transports.registry import RegistryOptions


def _open_docker(name: DockerName, options: RegistryOptions | None) -> ImageSource:
    from spyglass.core.transports.registry import open_registry_image

    return open_registry_image(name.reference, options)


def _open_oci(name: OCIName, options: RegistryOptions | None) -> ImageSource:
    from spyglass.core.transports.layout import open_layout_image

    return open_layout_image(name.path, name.ref, name.index)


def _open_dir(name: DirName, options: RegistryOptions | None) -> ImageSource:
    from spyglass.core.transports.dirlayout import open_dir_image

    return open_dir_image(name.path)


def _open_docker_archive(
    name: DockerArchiveName, options: RegistryOptions | None
) -> ImageSource:
    from spyglass.core.transports.archive import open_docker_archive_image

    reference = str(name.reference) if name.reference is not None else None
    return open_docker_archive_image(name.path, reference, name.index)


def _open_oci_archive(name: OCIArchiveName, options: RegistryOptions | None) -> ImageSource:
    from spyglass.core.transports.archive import open_oci_archive_image

    return open_oci_archive_image(name.path, name.ref, name.index)


_SOURCES: dict[type, Callable[..., ImageSource]] = {
    DockerName: _open_docker,
    OCIName: _open_oci,
    DirName: _open_dir,
    DockerArchiveName: _open_docker_archive,
    OCIArchiveName: _open_oci_archive,
}


def open_source(name: ImageName | str, options: RegistryOptions | None = None) -> ImageSource:
    """Open the image an image name points at, for reading.

    ``options`` say how to reach a registry (credentials, TLS); local
    transports ignore them.
    """
    parsed = parse_image_name(name) if isinstance(name, str) else name
    return _SOURCES[type(parsed)](parsed, options)


def _write_docker(name: DockerName, options: RegistryOptions | None) -> ImageDestination:
    from spyglass.core.transports.registry.destination import open_registry_destination

    return open_registry_destination(name.reference, options)


def _write_oci(name: OCIName, options: RegistryOptions | None) -> ImageDestination:
    from spyglass.core.transports.layout import open_layout_destination

    return open_layout_destination(name.path, name.ref, name.index)


def _write_dir(name: DirName, options: RegistryOptions | None) -> ImageDestination:
    from spyglass.core.transports.dirlayout import open_dir_destination

    return open_dir_destination(name.path)


def _write_docker_archive(
    name: DockerArchiveName, options: RegistryOptions | None
) -> ImageDestination:
    from spyglass.core.transports.archive import open_docker_archive_destination

    return open_docker_archive_destination(name.path, name.reference, name.index)


def _write_oci_archive(name: OCIArchiveName, options: RegistryOptions | None) -> ImageDestination:
    from spyglass.core.transports.archive import open_oci_archive_destination

    return open_oci_archive_destination(name.path, name.ref, name.index)


_DESTINATIONS: dict[type, Callable[..., ImageDestination]] = {
    DockerName: _write_docker,
    OCIName: _write_oci,
    DirName: _write_dir,
    DockerArchiveName: _write_docker_archive,
    OCIArchiveName: _write_oci_archive,
}


def open_destination(
    name: ImageName | str, options: RegistryOptions | None = None
) -> ImageDestination:
    """Open the place an image name points at, for writing one image there.

    Nothing is visible under the name until the destination's ``commit``.
    ``options`` say how to reach a registry; local transports ignore them.
    Raises :class:`~spyglass.core.errors.InvalidReference` for names that
    only make sense for reading (``oci:PATH:@N``), and the transport's own
    errors for a place it cannot write (a folder of other files, a missing
    parent folder, no permission).
    """
    parsed = parse_image_name(name) if isinstance(name, str) else name
    return _DESTINATIONS[type(parsed)](parsed, options)


def detect_location_kind(path: Path) -> str:
    """Which transport a path on disk is: ``oci``, ``dir``, ``oci-archive`` or ``docker-archive``.

    Raises :class:`InvalidLayout` with a sentence when it is none of them, and
    :class:`TransportError` when it cannot be looked at.
    """
    try:
        return _detect(path)
    except PermissionError as exc:
        from spyglass.core.transports.files import describe_os_error

        raise TransportError(describe_os_error(exc, path)) from exc


def _detect(path: Path) -> str:
    if not path.exists():
        raise InvalidLayout(f'The path "{path}" does not exist.')
    if path.is_dir():
        if (path / "oci-layout").is_file():
            return "oci"
        from spyglass.core.transports.dirlayout import looks_like_dir_layout

        if looks_like_dir_layout(path):
            return "dir"
        raise InvalidLayout(
            f'The folder "{path}" is not an image layout: it has neither an oci-layout file '
            "(OCI image layout) nor a manifest.json (dir: layout)."
        )
    from spyglass.core.transports.archive import sniff_archive

    kind = sniff_archive(path)
    if kind is None:
        raise InvalidLayout(
            f'The file "{path}" is not an image archive: expected a tarball made by '
            "docker save (docker-archive) or of an OCI layout (oci-archive)."
        )
    return kind


def open_location(path: Path) -> Location:
    """Open a folder or archive on disk for browsing, whatever kind it is."""
    kind = detect_location_kind(path)
    if kind == "oci":
        from spyglass.core.transports.layout import open_layout

        return open_layout(path)
    if kind == "dir":
        from spyglass.core.transports.dirlayout import open_dir_location

        return open_dir_location(path)
    from spyglass.core.transports import archive

    if kind == "oci-archive":
        return archive.open_oci_archive_location(path)
    return archive.open_docker_archive_location(path)


__all__ = [
    "ImageDestination",
    "ImageSource",
    "Location",
    "detect_location_kind",
    "open_destination",
    "open_location",
    "open_source",
]
