"""The files an OCI image layout is made of (``oci-layout``, ``index.json`` and the
lock its writers hold) and what a writer checks of them before it writes:
``index.json`` read for an update (:func:`read_index_file`, which waits a moment
for one another program is writing), and a folder that is neither empty nor a
layout, or a new layout's missing parent folder, refused (:func:`check_layout_destination`).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Final

from spyglass.core import gojson, media
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    InvalidLayout,
    InvalidManifest,
    SpyglassError,
    TransportError,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    ImageIndex,
    ImageManifest,
    parse_manifest,
)
from spyglass.core.transports.file_write import (
    refuse_missing_folder,
    refuse_read_only_filesystem,
)
from spyglass.core.transports.files import (
    NotRegularFile,
    blob_path,
    describe_os_error,
    link_outside,
    open_regular,
    read_at_most,
    resolved,
)
from spyglass.core.transports.temporaries import TEMP_PREFIX

LAYOUT_FILE: Final = "oci-layout"
INDEX_FILE: Final = "index.json"
MAX_INDEX_FILE_SIZE: Final = 256 * 1024 * 1024
"""The largest ``index.json`` read or written. What it bounds is memory: the file is
read whole and held decoded, several times its size (an index.json of 61 MB took the
window from 150 to 324 MB, 616 MB at its peak), so 256 MiB is about a gigabyte. It holds
some million refs, or thousands of entries with large annotations (skopeo read one of
101 MB, 5,000 entries of 20 KB annotations, that 64 MiB refused); the 4 MiB of a
manifest held some 16,000 refs."""

INDEX_LOCK: Final = "index.json.lock"
"""The lock file every Spyglass writer of a layout holds while it updates ``index.json``."""

_CONTAINERS_TEMP_PREFIX: Final = "oci-put-blob"
"""How containers/image names a blob it is writing into a layout (left there when it
is stopped)."""


def containers_temporaries(path: Path) -> list[str]:
    """The blob temporaries of containers/image (skopeo, podman, buildah) in the layout
    ``path``: a copy of theirs is writing into it, or was stopped while it did (none when
    the folder cannot be listed)."""
    try:
        return sorted(name for name in os.listdir(path)
                      if name.startswith(_CONTAINERS_TEMP_PREFIX))
    except OSError:
        return []


def null_manifests(data: dict[str, Any]) -> bool:
    """Turn ``"manifests": null`` into an empty list; True when it did.

    ``umoci init`` writes an empty layout's index that way (a Go nil slice),
    and Go readers take it for an empty list.
    """
    if "manifests" in data and data["manifests"] is None:
        data["manifests"] = []
        return True
    return False


def empty_index() -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": []}


def dump_index(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def index_file(layout: Path) -> Path:
    """The file a copy into the layout at ``layout`` reads and replaces as its
    ``index.json``: that file, or the file it leads to where it is a symbolic link that
    stays inside the layout (there or not yet: a link to nothing is written at its
    target, as skopeo writes it).

    A link is written through, never replaced: replacing it with a file (as skopeo does)
    quietly parted the layout from the file the link named, which then no longer
    changed; archive and ``dir:`` destinations write through a link to them too. A link
    that leads outside the layout is refused with the sentence a source layout gives it
    (:class:`~spyglass.core.transports.files.DirTree`), before anything is written:
    writing through it would change a file outside the folder the user named (one a
    layout that came from elsewhere chose), and replacing it would break the link. A
    loop of links is refused (:func:`~spyglass.core.transports.files.resolved`).
    """
    index = layout / INDEX_FILE
    if not index.is_symlink():
        return index
    target = resolved(index)
    if not target.is_relative_to(resolved(layout)):
        raise link_outside(index, layout, "write")
    return target


INDEX_BEING_WRITTEN: Final = 5.0
"""Seconds since an ``index.json`` that is not JSON was changed within which it is taken
for one another program is still writing."""
INDEX_REREAD_FOR: Final = 1.0
INDEX_REREAD_EVERY: Final = 0.05


def read_index_file(path: Path, what: str) -> dict[str, Any]:
    """The ``index.json`` at ``path`` as data, for a copy into its layout (``what``, in
    the sentences); an empty index when there is none. One that is not JSON yet was just
    written is read again for a moment: a program that takes no lock (skopeo) writes it
    in place, so it is empty or cut short while that program is at it."""
    waited = 0.0
    while True:
        try:
            with open_regular(path) as stream:
                raw = read_at_most(stream, MAX_INDEX_FILE_SIZE)
                changed = time.time() - os.fstat(stream.fileno()).st_mtime
        except FileNotFoundError:
            return empty_index()
        except NotRegularFile:
            raise InvalidLayout(
                f"{what} has an index.json that is not a regular file (a FIFO, a device "
                "or a folder); it was left as it is and the image was not written. Replace "
                "it with the layout's index.json file."
            ) from None
        except OSError as exc:
            raise TransportError(describe_os_error(exc, path)) from exc
        data, problem, not_json = _parse_index(raw)
        if problem is None:
            assert isinstance(data, dict)
            return data
        fresh = not_json and changed < INDEX_BEING_WRITTEN
        if not fresh or waited >= INDEX_REREAD_FOR:
            break
        time.sleep(INDEX_REREAD_EVERY)
        waited += INDEX_REREAD_EVERY
    if fresh:
        advice = ("another program may be writing it (skopeo writes it in place, "
                  "without a lock): copy again once it is done")
    else:
        advice = "repair it (removing it forgets every image the layout names) and copy again"
    raise InvalidLayout(
        f"{what} has an index.json that {problem}; it was left as it is and the image was "
        f"not added. {advice[0].upper()}{advice[1:]}."
    )


def _parse_index(raw: bytes) -> tuple[object, str | None, bool]:
    """``index.json``'s bytes as data, what is wrong with them (None: nothing), and
    whether that is that they are not JSON."""
    if len(raw) > MAX_INDEX_FILE_SIZE:
        return None, f"is larger than {MAX_INDEX_FILE_SIZE // (1024 * 1024)} MiB", False
    try:
        data = gojson.loads(raw)
        if isinstance(data, dict) and null_manifests(data):
            raw = dump_index(data)
        parse_manifest(raw, media.OCI_INDEX, limit=MAX_INDEX_FILE_SIZE, data=data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"is not JSON ({exc})", True
    except InvalidManifest as exc:
        return None, f"is not a valid image index ({str(exc).rstrip('.')})", False
    if not (isinstance(data, dict) and isinstance(data.get("manifests"), list)):
        return None, 'is not a JSON object with a "manifests" list', False
    return data, None, False


def referenced_blobs(path: Path, what: str) -> set[Digest] | None:
    """Every blob the ``index.json`` of the layout at ``path`` (``what``, in the
    sentences) leads to (through lists and manifests, to configs and layers); None when
    some of it cannot be read."""
    try:
        data = read_index_file(index_file(path), what)
        top = parse_manifest(dump_index(data), media.OCI_INDEX, limit=MAX_INDEX_FILE_SIZE,
                             data=data)
    except SpyglassError:
        return None
    assert isinstance(top, ImageIndex)
    used: set[Digest] = set()
    # (descriptor, named by a list): what a list names must be a manifest we can walk
    pending = [(entry, True) for entry in top.manifests]
    while pending:
        entry, listed = pending.pop()
        if entry.digest in used:
            continue
        used.add(entry.digest)
        if not listed:
            continue  # a config or a layer
        try:
            with (path / blob_path(entry.digest)).open("rb") as stream:
                raw = read_at_most(stream, MAX_MANIFEST_SIZE)
            manifest = parse_manifest(raw, entry.media_type or None)
        except (OSError, SpyglassError):
            return None
        if isinstance(manifest, ImageIndex):
            pending.extend((child, True) for child in manifest.manifests)
        elif isinstance(manifest, ImageManifest):
            pending.extend((blob, False) for blob in (manifest.config, *manifest.layers))
        else:
            return None  # schema 1 or another kind whose blobs are not walked here
    return used


def check_layout_destination(path: Path, *, make_parents: bool = False) -> bool:
    """Raise the refusal an ``oci:`` copy to ``path`` would meet (a file there, a folder
    of other things, an unreadable index, no folder to hold a new layout unless
    ``make_parents``, a read-only filesystem), writing nothing (the Copy dialog says it
    before the copy starts). Answer whether an OCI image layout is there already (the
    copy adds to it; see :func:`check_existing`), rather than one the copy makes."""
    there = False
    try:
        if path.exists() or path.is_symlink():
            refuse_other_than_folder(path)
            there = check_existing(path)
        elif not make_parents:
            refuse_missing_folder(Path(os.path.abspath(path)).parent, path)
    except OSError as exc:
        raise TransportError(describe_os_error(exc, path)) from exc
    refuse_read_only_filesystem(path)
    return there


def refuse_other_than_folder(path: Path) -> None:
    if not path.is_dir():
        resolved(path)  # a loop of links says so
        if path.is_symlink() and not path.exists():
            raise InvalidLayout(
                f'"{path}" is a link to "{os.readlink(path)}", which does not exist; an oci: '
                "image is written into a new or empty folder or an existing OCI image layout."
            )
        raise InvalidLayout(
            f'"{path}" is not a folder; an oci: image is written into a new or empty '
            "folder or an existing OCI image layout."
        )


def _check_blobs_folder(path: Path) -> None:
    """Refuse a layout whose ``blobs`` is no folder: a link to nothing, a loop of links,
    a file (its blobs could not be written; "File exists" said nothing of why)."""
    blobs = path / "blobs"
    if blobs.is_dir():
        return
    keeps = f'the OCI image layout "{path}" keeps its blobs there'
    if blobs.is_symlink():
        try:
            resolved(blobs)
        except InvalidLayout:
            raise InvalidLayout(f'"{blobs}" is a symbolic link that leads back to itself (a '
                                f"loop of links); {keeps}.") from None
        if not blobs.exists():
            raise InvalidLayout(f'"{blobs}" is a link to "{os.readlink(blobs)}", which does '
                                f"not exist; {keeps}. Make it lead to a folder, or remove "
                                "it.")
    raise InvalidLayout(f'"{blobs}" is not a folder; {keeps}.')


def check_existing(path: Path) -> bool:
    """Refuse a folder that is neither empty nor a layout (nor what containers/image leaves
    of one it was writing), and a layout a reader refuses for its ``oci-layout`` file (a
    version other than 1.x: the image a copy added could not be read back). Answer
    whether it is a layout (False: an empty folder, or what is left of one being written,
    which a copy makes a layout of)."""
    # (the reader's module imports this one)
    from spyglass.core.transports.layout import check_layout_file

    try:
        entries = [
            entry
            for entry in os.listdir(path)
            if entry != INDEX_LOCK and not entry.startswith(TEMP_PREFIX)
        ]
    except OSError as exc:
        raise TransportError(describe_os_error(exc, path)) from exc
    if not entries:
        return False
    if LAYOUT_FILE in entries or (INDEX_FILE in entries and "blobs" in entries):
        # a layout without its oci-layout file gets one, as containers/image writes it
        if LAYOUT_FILE in entries:
            check_layout_file(path)
        if INDEX_FILE in entries:
            read_index_file(index_file(path), f'The OCI image layout "{path}"')
        if "blobs" in entries:
            _check_blobs_folder(path)
        return True
    if "blobs" in entries and (path / "blobs").is_dir() and all(
            entry == "blobs" or entry.startswith(_CONTAINERS_TEMP_PREFIX)
            for entry in entries):
        # what containers/image leaves of a layout it was writing when it stopped (its
        # blobs, unfinished blobs beside them): a copy goes on into it, as skopeo does
        return False
    hint = ""
    if "version" in entries and "manifest.json" in entries:
        hint = f" It holds a dir: image; write to it as dir:{path}."
    raise InvalidLayout(
        f'The folder "{path}" is not empty and is not an OCI image layout (it has no '
        "oci-layout file); an oci: image is written only into a new or empty folder or an "
        f"existing layout.{hint}"
    )


