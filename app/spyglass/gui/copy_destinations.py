"""What is at a copy's destination already, looked at before the copy starts: what a copy
there would replace and whether a layout is there (:func:`look_at_destination`,
:func:`find_replaced`) and what its name names now (:func:`named_now`), jobs for the
:class:`~spyglass.gui.workers.Runner` (they take the job's cancel token); which
destinations are written whole (:func:`written_whole`), and what no two copies may
write at once (:func:`written_alone`).
Nothing here imports Qt.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest
from spyglass.core.errors import SpyglassError
from spyglass.core.reference import (
    DirName,
    DockerArchiveName,
    DockerName,
    ImageName,
    OCIArchiveName,
    OCIName,
    parse_image_name,
)
from spyglass.core.settings import normalize_location
from spyglass.core.transports.base import TaggedDestination
from spyglass.gui.copy_jobs import Openers


@dataclass(frozen=True)
class Replaced:
    """What a copy would replace: an archive or a ``dir:`` layout already there, and the
    images it holds (empty when they could not be listed); or what a disk (a block
    device) named as an archive holds, which the archive is written over."""

    path: str
    kind: Literal["archive", "folder", "device"]
    images: tuple[str, ...]

    def sentence(self) -> str:
        """What is lost, for the confirmation the Copy dialog asks for."""
        if self.kind == "device":
            return (f"Copying here writes the archive into the device {self.path}, over "
                    "what it holds.")
        if self.kind == "archive":
            what, whole = f"the archive {self.path}", "whole"
        else:
            what, whole = f"what is in the folder {self.path}", ""
        if not self.images:
            return f"Copying here replaces the file {self.path}." if self.kind == "archive" \
                else f"Copying here replaces {what}."
        shown = ", ".join(self.images[:3])
        if len(self.images) > 3:
            shown += f" and {len(self.images) - 3} more"
        if len(self.images) == 1:
            return f"Copying here replaces {what}{' ' + whole if whole else ''}: the image " \
                   f"in it, {shown}, is not kept."
        return f"Copying here replaces {what}{' ' + whole if whole else ''}: the " \
               f"{len(self.images)} images in it ({shown}) are not kept."


def may_replace(name: ImageName) -> bool:
    """Whether a copy to ``name`` replaces what is there (archives and ``dir:`` layouts are
    written whole) rather than adding to it: :func:`find_replaced` then says what."""
    return isinstance(name, OCIArchiveName | DockerArchiveName | DirName)



def written_whole(destination: str) -> str | None:
    """The absolute path of the archive or ``dir:`` folder a copy to ``destination``
    writes whole (None for a registry or an OCI layout, which a copy adds to): two copies
    there at once would each replace the other's. As written (:func:`normalize_location`,
    no disk looked at on the window's thread): the same file reached through a link is
    not known to be the same."""
    try:
        name = parse_image_name(destination)
    except SpyglassError:
        return None
    if isinstance(name, OCIArchiveName | DockerArchiveName | DirName):  # (as may_replace)
        return normalize_location(name.path)
    return None


def written_alone(destination: str) -> str | None:
    """What a copy to ``destination`` writes that another copy must not write at the same
    time: the archive or ``dir:`` folder it writes whole (:func:`written_whole`), or the
    name it writes, a registry's ``HOST/REPOSITORY:TAG`` or a layout's ``PATH:REF``. Two
    copies to one name at once would leave it naming whichever ended last, not the one
    asked for last. None where a copy names nothing (by digest, a layout's unnamed image).
    As written: a name reached another way (a link, another host name) is not known."""
    whole = written_whole(destination)
    if whole is not None:
        return whole
    try:
        name = parse_image_name(destination)
    except SpyglassError:
        return None
    if isinstance(name, DockerName) and name.reference.tag is not None:
        return f"{name.reference.domain}/{name.reference.path}:{name.reference.tag}"
    if isinstance(name, OCIName) and name.ref is not None:
        return f"{normalize_location(name.path)}:{name.ref}"
    return None


def looked_at_first(name: ImageName) -> bool:
    """Whether the dialog looks at a local destination (:func:`find_replaced`) before the
    copy may start: what it would replace, or the refusal it would meet."""
    return isinstance(name, OCIName) or may_replace(name)


@dataclass(frozen=True)
class DestinationLook:
    """What the Copy dialog found at a local destination before the copy
    (:func:`look_at_destination`)."""

    replaced: Replaced | None = None
    """What a copy there would replace (:func:`find_replaced`)."""
    layout_there: bool = False
    """Of an ``oci:`` destination: an OCI image layout is there already (the copy adds to
    it), rather than a new or empty folder (the copy makes one)."""


def look_at_destination(name: ImageName, cancel: CancelToken) -> DestinationLook:
    """What is at the local destination ``name`` (a job): what a copy would replace there
    (:func:`find_replaced`), and of an ``oci:`` one whether a layout is there already.
    Raises the refusal a copy there would meet."""
    from spyglass.core.transports.layout_files import check_layout_destination

    if isinstance(name, OCIName):
        return DestinationLook(layout_there=check_layout_destination(Path(name.path)))
    return DestinationLook(find_replaced(name, cancel))


def find_replaced(name: ImageName, cancel: CancelToken) -> Replaced | None:
    """What a copy to ``name`` would replace (a job): an archive file already there, or a
    ``dir:`` folder with something in it; None for a place a copy adds to (a registry,
    an OCI layout) or that is not there yet. Raises the refusal a copy there would meet
    (a file that is no image archive, a folder of other files)."""
    from spyglass.core.transports.archive_held import names_of_one_image
    from spyglass.core.transports.archive_write import check_archive_destination
    from spyglass.core.transports.dirlayout import check_dir_destination
    from spyglass.core.transports.layout_files import check_layout_destination
    from spyglass.gui.loading import open_and_list

    kind: Literal["archive", "folder"]
    if isinstance(name, OCIName):
        check_layout_destination(Path(name.path))
        return None
    if isinstance(name, OCIArchiveName | DockerArchiveName):
        path, kind = Path(name.path), "archive"
        # what the copy would refuse is said now, not asked to be confirmed first (what a
        # compressed one holds is not read: that would decompress all of it)
        check_archive_destination(path, name.transport,
                                  look_inside=not (path.is_file() and _compressed(path)))
        if not path.exists():
            return None
        mode = _file_mode(path)
        if mode is not None and not stat.S_ISREG(mode):
            # a pipe or a character device (/dev/null, /dev/full, a terminal) is written
            # into and stays what it is: nothing in it is replaced, nothing to confirm;
            # a disk (a block device) has what it holds written over
            return Replaced(str(path), "device", ()) if stat.S_ISBLK(mode) else None
    elif isinstance(name, DirName):
        path, kind = Path(name.path), "folder"
        check_dir_destination(path)
        if not path.is_dir() or not any(path.iterdir()):
            return None
    else:
        return None
    images: tuple[str, ...] = ()
    if kind == "archive" and _compressed(path):
        # what it holds would be learned only by decompressing all of it first
        return Replaced(str(path), kind, images)
    try:
        listed = open_and_list(path, cancel)
    except Exception:  # not an image there: the file or folder itself is replaced
        check(cancel)
    else:
        listed.location.close()
        names: dict[Digest, list[str]] = {}  # one image under several names is one image
        for entry in listed.entries:
            names.setdefault(entry.descriptor.digest, []).append(entry.label)
        images = tuple(names_of_one_image(labels) for labels in names.values())
    return Replaced(str(path), kind, images)


def named_now(openers: Openers, name: ImageName, cancel: CancelToken) -> Digest | None:
    """The digest the tag or ref a copy to ``name`` writes names there now (a job): an
    OCI layout's ref (read from its index, which is not written), a registry's tag (a
    HEAD); None where it names nothing yet, or for a place written whole (an archive,
    ``dir:``, where :func:`find_replaced` says what goes)."""
    from spyglass.core.manifest import REF_NAME_ANNOTATION

    if isinstance(name, OCIName) and name.ref is not None:
        try:
            index = json.loads((Path(name.path) / "index.json").read_bytes())
        except (OSError, ValueError):
            return None  # no layout there yet, or one the copy will say is unreadable
        entries = index.get("manifests") if isinstance(index, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            annotations = entry.get("annotations") if isinstance(entry, dict) else None
            if isinstance(annotations, dict) and \
                    annotations.get(REF_NAME_ANNOTATION) == name.ref:
                try:
                    return Digest.parse(str(entry.get("digest")))
                except SpyglassError:
                    return None
        return None
    if isinstance(name, DockerName) and name.reference.tag is not None:
        destination = openers.destination(str(name), cancel)
        try:
            if isinstance(destination, TaggedDestination):
                return destination.tagged_digest(name.reference.tag, cancel=cancel)
            return None
        finally:
            destination.abort()
            destination.close()
    return None


def _file_mode(path: Path) -> int | None:
    """The mode of what ``path`` leads to; None where it cannot be looked at (the copy
    says why)."""
    try:
        return path.stat().st_mode
    except OSError:
        return None


def _compressed(path: Path) -> bool:
    """Whether the file at ``path`` starts like compressed data (gzip, zstd, xz, bzip2)."""
    from spyglass.core import compression

    try:
        with path.open("rb") as stream:
            return compression.detect(stream.read(compression.HEADER_SIZE)) is not None
    except OSError:
        return False



__all__ = [
    "DestinationLook",
    "Replaced",
    "find_replaced",
    "look_at_destination",
    "looked_at_first",
    "may_replace",
    "named_now",
    "written_alone",
    "written_whole",
]
