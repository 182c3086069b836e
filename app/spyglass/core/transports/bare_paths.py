"""A copy's destination given as a bare path (``./app.tar``, ``/srv/mirror``, with no
transport): what the disk says it is (:func:`look_at_path`), one decision for the
window's Copy dialog, which takes the path as that, and the command line, which takes no
bare destination (as skopeo takes none: a script gets no guess) but says what to write
(:func:`bare_destination_error`).

An existing archive or image folder is what it is; a new name ending in ``.tar`` or
``.oci`` is an OCI archive (``.docker``: a docker-archive), any other new name or folder
an OCI layout; a name that says compressed (``.tar.gz``), or a file that is no image
archive, names no destination.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Final, Literal, NamedTuple

from spyglass.core.archive_names import STORAGE_SUFFIXES
from spyglass.core.errors import InvalidLayout, InvalidReference, SpyglassError
from spyglass.core.reference import (
    DirName,
    DockerArchiveName,
    OCIArchiveName,
    OCIName,
    path_without_transport,
)
from spyglass.core.text import visible

PathKind = Literal["oci", "dir", "oci-archive", "docker-archive", "folder"]
"""What a bare destination path is: an OCI layout there (``oci``), a ``dir:`` image, an
archive of either kind, or a folder (new, empty, or of other things) taken as one for an
OCI layout."""

NEW_ARCHIVE_SUFFIXES: Final[dict[str, PathKind]] = {
    ".tar": "oci-archive", ".oci": "oci-archive", ".docker": "docker-archive"}
"""What a bare path not there yet is written as, by how its name ends (a folder, an OCI
layout, otherwise): a user typing ``out.tar`` means an archive, not a folder of that
name; ``.oci`` and ``.docker`` are the names Spyglass gives the two kinds."""

COMPRESSED_SUFFIXES: Final = tuple(suffix for suffix in STORAGE_SUFFIXES
                                   if suffix not in NEW_ARCHIVE_SUFFIXES)
"""What the name of a compressed archive ends with (``.tar.gz``, ``.tgz``, ``.tar.zst``,
``.gz``…; longer ones first): a bare path so named is refused rather than taken (see
:func:`compressed_name_refusal`)."""

_PATH_STARTS: Final = ("/", ".", "~")
"""How a path written as one starts (``/srv``, ``./app.tar``, ``~/copies``)."""


class PathLook(NamedTuple):
    """What the disk says a bare destination path is: the kind of place a copy there
    writes, or why a bare path there names no destination (``refusal``, a sentence; the
    kind is then the archive's where it is refused for a name that says compressed); and
    what was there when it was looked at (``seen``, :func:`_seen_at`), so that two looks
    alike saw the same thing (the Copy dialog looks again as Copy is pressed)."""

    kind: PathKind = "folder"
    refusal: str = ""
    seen: tuple[int, ...] = ()


def look_at_path(path: str) -> PathLook:
    """What the disk says a bare destination path is (an archive is looked into, as
    :func:`~spyglass.core.transports.resolve_name` takes a bare source path: on a
    worker, in the window): an existing archive, OCI layout or ``dir:`` image as what it
    is; a new name as :data:`NEW_ARCHIVE_SUFFIXES` has it; a file that is no image
    archive refused; any other folder as one for an OCI layout (an empty or new folder
    becomes one; a copy into any other says why not). An archive named as a compressed
    one (``out.tar.gz``), there or not, is refused (:func:`compressed_name_refusal`).
    What is there is noted first: a change while it is read shows in the next look."""
    seen = _seen_at(path)
    return _kind_at(path)._replace(seen=seen)


def _seen_at(path: str) -> tuple[int, ...]:
    """What is at ``path`` as far as a copy there cares, cheaply (``lstat``): () for
    nothing; a folder's kind, which folder it is and whether it holds anything (not
    what: that changes as copies add to a layout; an empty folder that no longer is may
    now be refused, or hold an image a copy would replace); a file's also its size and
    when it was written."""
    try:
        there = os.lstat(path)
    except OSError:
        return ()
    kind = stat.S_IFMT(there.st_mode)
    if kind == stat.S_IFDIR:
        return (kind, there.st_dev, there.st_ino, _holds_anything(path))
    return (kind, there.st_dev, there.st_ino, there.st_size, there.st_mtime_ns)


def _holds_anything(folder: str) -> int:
    """1 when ``folder`` holds anything (or cannot be listed), 0 when it is empty."""
    try:
        with os.scandir(folder) as entries:
            return int(next(entries, None) is not None)
    except OSError:
        return 1


def _kind_at(path: str) -> PathLook:
    """:func:`look_at_path` but for what was seen there."""
    from spyglass.core.transports import resolve_name

    compressed = Path(path).name.lower().endswith(COMPRESSED_SUFFIXES)
    if not os.path.lexists(path):
        if compressed:
            return PathLook("oci-archive", compressed_name_refusal(path, "oci-archive"))
        return PathLook(NEW_ARCHIVE_SUFFIXES.get(Path(path).suffix.lower(), "folder"))
    try:
        name = resolve_name(path)
    except InvalidLayout:
        return PathLook() if os.path.isdir(path) or not os.path.exists(path) \
            else PathLook(refusal=not_an_archive_refusal(path))
    except SpyglassError as error:  # (a file that cannot be read: said as it is)
        return PathLook() if os.path.isdir(path) else PathLook(refusal=str(error))
    if isinstance(name, OCIArchiveName | DockerArchiveName):
        kind: PathKind = "oci-archive" if isinstance(name, OCIArchiveName) \
            else "docker-archive"
        return PathLook(kind, compressed_name_refusal(path, kind)) if compressed \
            else PathLook(kind)
    if isinstance(name, DirName):
        return PathLook("dir")
    return PathLook("oci" if isinstance(name, OCIName) else "folder")


def compressed_name_refusal(path: str, kind: str, *, with_kind: bool = False) -> str:
    """Why a bare ``path`` named as a compressed archive is refused: Spyglass writes
    archives uncompressed, as skopeo does, so what the name says would not hold; with
    the name to give instead (``.tar``; ``with_kind``: written with its kind, for the
    command line, which takes no bare destination), or the archive's ``kind`` to give it
    with to have a plain tar under that name all the same (as the command line writes
    one)."""
    name = Path(path).name
    ending = next(suffix for suffix in COMPRESSED_SUFFIXES if name.lower().endswith(suffix))
    plain = visible(os.path.join(os.path.dirname(path), f"{name[:-len(ending)]}.tar"))
    instead = f"{kind}:{plain}" if with_kind else f'"{plain}"'
    return (f'"{visible(path)}" is named as a compressed archive, and Spyglass writes '
            f"archives uncompressed, as skopeo does: name it {instead}, or give "
            f"its kind to write a plain tar under this name ({kind}:{visible(path)}).")


def not_an_archive_refusal(path: str) -> str:
    """Why the file at ``path``, which is no image archive, is no destination as a bare
    path: a copy replaces a file only where it is an image archive (a device or a pipe
    is written into, when the archive's kind is given)."""
    said = f'The file "{visible(path)}" is not an image archive'
    if not os.path.isfile(path):
        return (f"{said}: it is a device or a pipe, which a copy writes an archive into "
                f"when its kind is given (oci-archive:{visible(path)}).")
    return (f"{said}, and a copy writes over no other file: expected an image archive, a "
            "folder, or a new name.")


_THERE: Final[dict[PathKind, str]] = {
    "oci": "an OCI layout", "dir": "a dir: image", "oci-archive": "an OCI archive",
    "docker-archive": "a Docker archive"}
"""What an existing bare destination path is, as the command line's hint says it."""


def names_a_bare_path(text: str) -> bool:
    """Whether ``text``, given where an image name was expected, was meant for a path
    (which the command line wants with its transport): written as one (``./app.tar``,
    ``/srv``, ``~/x``), or a word whose part before any colon is there on disk or is
    named as an archive (``app.tar``, ``out.tar.gz``, ``app.tar:app:1``)."""
    if text.startswith(_PATH_STARTS):
        return True
    head = text.partition(":")[0]
    return bool(head) and (
        os.path.lexists(head) or Path(head).name.lower().endswith(STORAGE_SUFFIXES))


def bare_destination_error(text: str) -> InvalidReference | None:
    """The command line's refusal of ``text``, a copy destination that is a path without
    its transport (:func:`names_a_bare_path`; None for other text): as skopeo, it takes
    none, but the sentence gives the name to write from what :func:`look_at_path` says
    is there, the decision the Copy dialog takes the same path by. A ``:REF`` after the
    path is kept in the name suggested; a ``~`` the shell left is read as it would."""
    if not names_a_bare_path(text):
        return None
    given = os.path.expanduser(text) if text.startswith("~") else text
    path, colon, _ref = given.partition(":")
    look = _kind_at(path)
    if look.refusal:
        if look.kind in ("oci-archive", "docker-archive"):  # (named as compressed)
            return InvalidReference(compressed_name_refusal(path, look.kind, with_kind=True))
        return InvalidReference(look.refusal)
    there = os.path.lexists(path)
    if there and look.kind in _THERE and (look.kind != "dir" or not colon):
        return path_without_transport(
            text, f'; "{path}" is {_THERE[look.kind]}: {look.kind}:{given}')
    if look.kind == "dir":  # (it holds one image, and names none)
        return path_without_transport(text, f'; "{path}" is a dir: image: dir:{path}')
    if look.kind in ("docker-archive", "oci-archive") and \
            Path(path).suffix.lower() != ".tar":  # a new .docker, .oci
        return path_without_transport(text, f", here {look.kind}:{given}")
    if look.kind == "oci-archive":  # a new .tar: either kind
        return path_without_transport(
            text, f", for example oci-archive:{given} (an OCI archive) or "
                  f"docker-archive:{given} (a Docker archive)")
    if colon:  # a dir: name takes no ref
        return path_without_transport(text, f", for example oci:{given}")
    return path_without_transport(text)


__all__ = [
    "COMPRESSED_SUFFIXES",
    "NEW_ARCHIVE_SUFFIXES",
    "PathKind",
    "PathLook",
    "bare_destination_error",
    "compressed_name_refusal",
    "look_at_path",
    "names_a_bare_path",
    "not_an_archive_refusal",
]
