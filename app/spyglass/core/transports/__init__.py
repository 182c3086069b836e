"""Transports: one module per place images live, behind the protocols in ``base``.

This module holds the tables that map an image name to the transport that
opens it for reading (:func:`open_source`) or writing (:func:`open_destination`),
and a path on disk to the kind of place it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from spyglass.core.cancel import CancelToken
from spyglass.core.errors import InvalidLayout, InvalidReference, SpyglassError, TransportError
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


def _open_docker(
    name: DockerName, options: RegistryOptions | None, cancel: CancelToken | None
) -> ImageSource:
    from spyglass.core.transports.registry import open_registry_image

    return open_registry_image(name.reference, options, cancel=cancel)


def _open_oci(
    name: OCIName, options: RegistryOptions | None, cancel: CancelToken | None
) -> ImageSource:
    from spyglass.core.transports.layout import open_layout_image

    return open_layout_image(name.path, name.ref, name.index)


def _open_dir(
    name: DirName, options: RegistryOptions | None, cancel: CancelToken | None
) -> ImageSource:
    from spyglass.core.transports.dirlayout import open_dir_image

    return open_dir_image(name.path)


def _open_docker_archive(
    name: DockerArchiveName, options: RegistryOptions | None, cancel: CancelToken | None
) -> ImageSource:
    from spyglass.core.transports.archive import open_docker_archive_image

    reference = str(name.reference) if name.reference is not None else None
    return open_docker_archive_image(name.path, reference, name.index, cancel=cancel)


def _open_oci_archive(
    name: OCIArchiveName, options: RegistryOptions | None, cancel: CancelToken | None
) -> ImageSource:
    from spyglass.core.transports.archive import open_oci_archive_image

    return open_oci_archive_image(name.path, name.ref, name.index, cancel=cancel)


_SOURCES: dict[type, Callable[..., ImageSource]] = {
    DockerName: _open_docker,
    OCIName: _open_oci,
    DirName: _open_dir,
    DockerArchiveName: _open_docker_archive,
    OCIArchiveName: _open_oci_archive,
}


def open_source(
    name: ImageName | str,
    options: RegistryOptions | None = None,
    *,
    cancel: CancelToken | None = None,
) -> ImageSource:
    """Open the image an image name points at, for reading.

    ``options`` say how to reach a registry (credentials, TLS); local
    transports ignore them. ``cancel`` stops what opening itself may take long
    for: decompressing a compressed archive.
    """
    parsed = parse_image_name(name) if isinstance(name, str) else name
    split = _split_at_a_folders_colon(parsed)
    if split is not None:
        raise split
    return _SOURCES[type(parsed)](parsed, options, cancel)


def _split_at_a_folders_colon(name: ImageName) -> InvalidLayout | None:
    """The refusal of ``oci:/x/c:d:1`` where ``/x/c`` is not there and ``/x/c:d`` (or
    ``/x/c:d:1``) is: the path of an ``oci:`` or archive name ends at its first colon (in
    containers/image's parser too), so the name reads as the layout ``/x/c`` and the ref
    ``d:1``. Said as the bare path ``/x/c:d`` is (:func:`refuse_colon`): how to name such
    a folder, not only that ``/x/c`` is missing. None for any other name."""
    if not isinstance(name, OCIName | OCIArchiveName | DockerArchiveName):
        return None
    path = Path(name.path)
    try:
        if os.path.lexists(path) or not path.name:
            return None
        meant = sorted(entry for entry in os.listdir(path.parent)
                       if entry.startswith(f"{path.name}:"))
    except OSError:  # (the copy says what is wrong with the folder)
        return None
    if not meant:
        return None
    there = path.parent / meant[0]
    split = (f'The path "{path}" does not exist; in {name.transport}: names the path ends at '
             "its first colon, and what follows it names the image in it.")
    refusal = colon_refusal(there, f"{name.transport}:", "folder" if there.is_dir() else "file")
    return InvalidLayout(f"{split} {refusal}")


def _write_docker(
    name: DockerName, options: RegistryOptions | None, cancel: CancelToken | None,
    make_parents: bool,
) -> ImageDestination:
    from spyglass.core.transports.registry.destination import open_registry_destination

    return open_registry_destination(name.reference, options)


def _write_oci(
    name: OCIName, options: RegistryOptions | None, cancel: CancelToken | None,
    make_parents: bool,
) -> ImageDestination:
    from spyglass.core.transports.layout_write import open_layout_destination

    return open_layout_destination(name.path, name.ref, name.index, make_parents=make_parents,
                                   cancel=cancel)


def _write_dir(
    name: DirName, options: RegistryOptions | None, cancel: CancelToken | None,
    make_parents: bool,
) -> ImageDestination:
    from spyglass.core.transports.dirlayout import open_dir_destination

    return open_dir_destination(name.path, make_parents=make_parents)


def _write_docker_archive(
    name: DockerArchiveName, options: RegistryOptions | None, cancel: CancelToken | None,
    make_parents: bool,
) -> ImageDestination:
    from spyglass.core.transports.docker_archive_write import open_docker_archive_destination

    return open_docker_archive_destination(name.path, name.reference, name.index,
                                           additional_tags=name.additional_tags)


def _write_oci_archive(
    name: OCIArchiveName, options: RegistryOptions | None, cancel: CancelToken | None,
    make_parents: bool,
) -> ImageDestination:
    from spyglass.core.transports.archive_write import open_oci_archive_destination

    return open_oci_archive_destination(name.path, name.ref, name.index)


_DESTINATIONS: dict[type, Callable[..., ImageDestination]] = {
    DockerName: _write_docker,
    OCIName: _write_oci,
    DirName: _write_dir,
    DockerArchiveName: _write_docker_archive,
    OCIArchiveName: _write_oci_archive,
}


def open_destination(
    name: ImageName | str, options: RegistryOptions | None = None, *,
    make_parents: bool = False, cancel: CancelToken | None = None,
) -> ImageDestination:
    """Open the place an image name points at, for writing one image there.

    Nothing is visible under the name until the destination's ``commit``.
    ``options`` say how to reach a registry; local transports ignore them.
    A local destination's own file or folder is made, never the folders above it,
    unless ``make_parents``: then an ``oci:`` or ``dir:`` destination makes every
    missing folder above it too (``spyglass sync``'s, below its destination folder, as
    ``skopeo sync`` makes them); an archive's folder must be there all the same.
    ``cancel`` stops what opening may wait for: another program's lock on a layout.
    Raises :class:`~spyglass.core.errors.InvalidReference` for names that
    only make sense for reading (``oci:PATH:@N``), and the transport's own
    errors for a place it cannot write (a folder of other files, a missing
    parent folder, no permission).
    """
    parsed = parse_image_name(name) if isinstance(name, str) else name
    return _DESTINATIONS[type(parsed)](parsed, options, cancel, make_parents)


def detect_location_kind(path: Path, *, cancel: CancelToken | None = None) -> str:
    """Which transport a path on disk is: ``oci``, ``dir``, ``oci-archive`` or ``docker-archive``.

    A compressed archive is decompressed to be looked at (``cancel`` is checked
    meanwhile); :func:`open_location` looks and opens in one go. Raises
    :class:`InvalidLayout` with a sentence when it is none of them, and
    :class:`TransportError` when it cannot be looked at.
    """
    try:
        kind = _folder_kind(path)
        if kind is not None:
            return kind
        from spyglass.core.transports.archive import sniff_archive

        kind = sniff_archive(path, cancel=cancel)
    except PermissionError as exc:
        raise _unreadable(exc, path) from exc
    if kind is None:
        raise _not_an_image_archive(path)
    return kind


def _unreadable(exc: OSError, path: Path) -> TransportError:
    from spyglass.core.transports.files import describe_os_error

    return TransportError(describe_os_error(exc, path))


def _folder_kind(path: Path) -> str | None:
    """``oci`` or ``dir`` for an image folder; None for a file (maybe an archive).
    Raises :class:`InvalidLayout` for a path that is not there or a folder of neither."""
    if not path.exists():
        raise path_not_found(path)
    if not path.is_dir():
        return None
    if (path / "oci-layout").is_file() or (
        (path / "index.json").is_file() and (path / "blobs").is_dir()
    ):  # a layout without its oci-layout file (older BuildKit) is read as skopeo reads it
        return "oci"
    from spyglass.core.transports.dirlayout import looks_like_dir_layout

    if looks_like_dir_layout(path):
        return "dir"
    raise InvalidLayout(
        f'The folder "{path}" is not an image layout: it has neither an oci-layout file '
        "(OCI image layout) nor a manifest.json (dir: layout)."
    )


def path_not_found(path: Path | str) -> InvalidLayout:
    """The sentence for a layout or archive path that is not there; for a bare path
    with a ref (``./layout:1.0``) whose part before the colon is there, how to name an
    image in it (a bare path names the folder or archive alone)."""
    said = f'The path "{path}" does not exist.'
    head, colon, ref = str(path).partition(":")
    if colon and head and ref and Path(head).exists():
        try:
            kind = detect_location_kind(Path(head))
        except SpyglassError:
            return InvalidLayout(said)  # nothing that names images: nothing to suggest
        if kind == "dir":
            said += (f' "{head}" is a dir: image, which holds one image and names none: '
                     f"dir:{head}.")
        elif kind == "docker-archive" and ":" not in ref and not ref.startswith("@"):
            said += (f' To name an image in the docker-archive "{head}", give its kind and '
                     f"NAME:TAG, or @N for its Nth image: docker-archive:{head}:@0.")
        else:
            said += f' To name the image {ref} in "{head}", give its kind: {kind}:{path}.'
    return InvalidLayout(said)


def _not_an_image_archive(path: Path) -> InvalidLayout:
    from spyglass.core.transports.archive import not_an_image_archive

    return not_an_image_archive(path)


def refuse_colon(path: Path, transports: str, thing: str) -> None:
    """Refuse a path whose image names could not be opened again.

    ``oci:``, ``oci-archive:`` and ``docker-archive:`` names end the path at
    its first colon (``oci:PATH:REF``), in Spyglass's parser as in
    containers/image's, so the images of ``/data/a:b`` would get names that
    open ``/data/a`` instead; better a sentence now than names that fail (or
    open something else) later. A ``dir:`` name takes the whole rest as its
    path and has no such problem.
    """
    refusal = colon_refusal(path, transports, thing)
    if refusal is not None:
        raise InvalidLayout(refusal)


def colon_refusal(path: Path, transports: str, thing: str) -> str | None:
    """Why ``path`` (a ``thing``: ``folder``, ``file``) cannot be named by ``transports``
    (``oci:``) names, and what to do, where it has a colon (see :func:`refuse_colon`)."""
    part = next((part for part in path.parts if ":" in part), None)
    if part is None:
        return None
    renamed = f'the {thing}' if part == path.name else f'"{part}"'
    return (f'The path "{path}" contains a colon (in "{part}"), which {transports} image '
            f"names cannot express, nor can skopeo's; rename {renamed}, or open the {thing} "
            "through a link whose path has no colon.")


def _names_images(path: Path) -> bool:
    """True when ``path`` is a layout or archive (a folder that is neither is not)."""
    try:
        return path.exists() and bool(detect_location_kind(path))
    except SpyglassError:
        return False


def resolve_name(text: str) -> ImageName:
    """Parse an image name; a bare path that exists is taken as the layout or archive it is
    (an empty name is none: not the current folder, as skopeo refuses it). What the
    command line and the window's Copy Image… take as a source."""
    try:
        return parse_image_name(text)
    except InvalidReference:
        path = Path(text)
        if text.startswith(("/", ".")) and not path.exists():
            raise path_not_found(text) from None  # a path, written as one: not there
        head = text.partition(":")[0]
        if not path.exists() and head and "/" not in head and _names_images(Path(head)):
            # "layout:1.0" where ./layout is a layout: said as for ./layout:1.0
            raise path_not_found(text) from None
        if not text or ":" in text.split("/")[0] or not path.exists():
            raise
        # a colon would end the path of an oci: or archive name there, the rest read as
        # its ref (another image, or another folder's); only dir: names take it whole
        if not path.is_dir():
            refuse_colon(path, "oci-archive: and docker-archive:", "file")
        kind = detect_location_kind(path)
        if kind != "dir":
            refuse_colon(path, f"{kind}:", "folder")
        return parse_image_name(f"{kind}:{path}")


def open_location(path: Path, *, cancel: CancelToken | None = None) -> Location:
    """Open a folder or archive on disk for browsing, whatever kind it is.

    An archive is looked at and opened over one tree: a compressed one is
    decompressed once (``cancel`` is checked meanwhile). A path with a colon
    is refused unless it is a ``dir:`` image (see :func:`refuse_colon`), before
    anything is decompressed.
    """
    try:
        kind = _folder_kind(path)
    except PermissionError as exc:
        raise _unreadable(exc, path) from exc
    if kind == "dir":
        from spyglass.core.transports.dirlayout import open_dir_location

        return open_dir_location(path)
    if kind == "oci":
        refuse_colon(path, "oci:", "folder")
        from spyglass.core.transports.layout import open_layout

        return open_layout(path)
    refuse_colon(path, "oci-archive: and docker-archive:", "file")
    from spyglass.core.transports.archive import open_archive_location

    location = open_archive_location(path, cancel=cancel)
    if location is None:
        raise _not_an_image_archive(path)
    return location


__all__ = [
    "ImageDestination",
    "ImageSource",
    "Location",
    "detect_location_kind",
    "open_destination",
    "open_location",
    "open_source",
    "resolve_name",
]
