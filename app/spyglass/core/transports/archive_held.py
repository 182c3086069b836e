"""What an image archive already at a destination's path holds, read before a copy
replaces it: the names of its images (``docker save``'s ``manifest.json``, an OCI
layout's ``index.json``), and how the names of one image are said.
"""


from __future__ import annotations

import functools
import json
import lzma
import tarfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from spyglass.core import compression, gojson
from spyglass.core.errors import (
    DamagedArchive,
    InvalidLayout,
    InvalidManifest,
    TooLarge,
    UnsafeArchive,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    REF_NAME_ANNOTATION,
    Descriptor,
)
from spyglass.core.tarheaders import BoundedTarInfo, HugeHeader
from spyglass.core.transports.archive import go_field
from spyglass.core.transports.tartree import TarTree


def images_held(path: Path) -> list[str] | None:
    """The names of the images in the tar (compressed or not) at ``path``, ``@N`` for one
    without a name, or None when it is no image archive: neither an OCI layout
    (``oci-layout``; its ``index.json`` names the images, cosign's tags and referrers
    aside) nor a ``docker save`` (a ``manifest.json`` listing configs and layers). Only
    an image archive may be replaced by an ``…-archive:`` copy, unlike any other file (a
    web site's backup has an ``index.json`` too). ``OSError`` when it cannot be read."""
    with path.open("rb") as stream:  # unreadable: say so, rather than "not an image archive"
        header = stream.read(compression.HEADER_SIZE)
    if compression.detect(header) == compression.ZSTD:
        return _images_held_in_tree(path)  # tarfile reads gzip, bzip2 and xz, not zstd
    try:
        with tarfile.open(path, tarinfo=BoundedTarInfo) as tar:
            members = {PurePosixPath(info.name.lstrip("/")).as_posix(): info for info in tar}

            def small(*names: str) -> dict[str, bytes]:
                """The small regular members named, read in the order they lie in the
                tar: a compressed one is then decompressed once, not once a member."""
                found = [(members[n].offset_data, n) for n in names if n in members
                         and members[n].isfile() and members[n].size <= MAX_MANIFEST_SIZE]
                read: dict[str, bytes] = {}
                for _offset, name in sorted(found):
                    member = tar.extractfile(members[name])
                    if member is not None:
                        read[name] = member.read()
                return read

            return _images_named(small, members.__contains__)
    except (tarfile.TarError, HugeHeader, EOFError, OSError, zlib.error, lzma.LZMAError):
        return None


def _images_named(
    small: Callable[..., dict[str, bytes]], has: Callable[[str], bool]
) -> list[str] | None:
    """The images an archive holds (see :func:`images_held`), from ``small(*names)`` (its
    small members' bytes) and ``has(name)``."""
    top = small("manifest.json", "index.json")
    saved = _docker_save_names(top.get("manifest.json", b""))
    if saved:
        return saved  # docker 25's archives are layouts too: these count
    if not has("oci-layout"):
        return None
    raw = top.get("index.json", b"{}")
    return _index_names(raw, small(*_unnamed_blobs(raw)).get)


def _images_held_in_tree(path: Path) -> list[str] | None:
    """:func:`images_held` for an archive tarfile cannot read, through a :class:`TarTree`
    (which decompresses it once, and removes that copy when closed)."""
    try:
        tree = TarTree(path)
    except (InvalidLayout, DamagedArchive, UnsafeArchive, TooLarge):
        return None  # no tar of an image inside; what stops it from being looked at, says so
    try:
        def small(*names: str) -> dict[str, bytes]:
            read: dict[str, bytes] = {}
            for name in names:
                if tree.exists(name) and tree.size(name) <= MAX_MANIFEST_SIZE:
                    with tree.open(name) as member:
                        read[name] = member.read()
            return read

        return _images_named(small, tree.exists)
    except (InvalidLayout, TooLarge):
        return None
    finally:
        tree.close()


def _blob_member(entry: Mapping[str, Any]) -> str | None:
    """The tar member of an ``index.json`` entry's manifest: ``blobs/ALG/HEX``."""
    algorithm, _, hexdigest = str(entry.get("digest", "")).partition(":")
    return f"blobs/{algorithm}/{hexdigest}" if algorithm and hexdigest else None


def _unnamed_blobs(raw: bytes) -> list[str]:
    """The members of the manifests an ``index.json`` lists without a name."""
    return [member for entry in _index_entries(raw) if isinstance(entry, dict)
            and not _ref_name(entry) and (member := _blob_member(entry)) is not None]


def _ref_name(entry: Mapping[str, Any]) -> str | None:
    annotations = entry.get("annotations") or {}
    name = annotations.get(REF_NAME_ANNOTATION) if isinstance(annotations, dict) else None
    return name if isinstance(name, str) else None


def _is_referrer(entry: Mapping[str, Any], blob: Callable[[str], bytes | None]) -> bool:
    """Whether an ``index.json`` entry is a manifest with a subject (a referrer Spyglass
    or oras listed there, which goes with its image)."""
    if entry.get("subject") is not None:
        return True
    member = _blob_member(entry)
    raw = blob(member) if member is not None else None
    try:
        return raw is not None and isinstance(gojson.loads(raw).get("subject"), dict)
    except (json.JSONDecodeError, AttributeError):
        return False


def _entry_is_referrer(entry: Mapping[str, Any], blob: Callable[[str], bytes | None],
                       _descriptor: Descriptor) -> bool:
    return _is_referrer(entry, blob)


def _docker_save_names(raw: bytes) -> list[str] | None:
    try:
        data = gojson.loads(raw)
    except json.JSONDecodeError:
        return None
    if not (isinstance(data, list) and data and all(
        isinstance(item, dict) and go_field(item, "Config") is not None
        and isinstance(go_field(item, "Layers"), list)
        for item in data
    )):
        return None
    names: list[str] = []
    for number, item in enumerate(data):
        tags = go_field(item, "RepoTags")
        tags = [str(tag) for tag in tags] if isinstance(tags, list) else []
        names.append(names_of_one_image(tags) if tags else f"@{number}")
    return names


def names_of_one_image(names: list[str]) -> str:
    """How the names of one image are said: ``app:1 (also app:latest)``."""
    return names[0] + (f" (also {', '.join(names[1:])})" if len(names) > 1 else "")


def _index_names(raw: bytes, blob: Callable[[str], bytes | None]) -> list[str]:
    """The images an OCI layout's ``index.json`` names (cosign's tags, the entries
    ``cosign save`` keeps of them, and referrers, which go with an image, left out);
    ``blob`` reads a small member, to tell a referrer (its manifest has a subject) from
    an image without a name."""
    from spyglass.core.referrers import is_attached_entry

    names: dict[str, list[str]] = {}  # one image under several refs is one image
    for number, entry in enumerate(_index_entries(raw)):
        if not isinstance(entry, dict):
            continue
        try:
            descriptor = Descriptor.from_json(entry)
        except InvalidManifest:
            descriptor = None  # (an entry that is no descriptor counts as an image)
        if descriptor is not None and is_attached_entry(
                descriptor, functools.partial(_entry_is_referrer, entry, blob)):
            continue  # as the layout reader tells them (OCILayoutReader.is_attached)
        name = _ref_name(entry)
        names.setdefault(str(entry.get("digest", number)), []).append(name or f"@{number}")
    return [names_of_one_image(refs) for refs in names.values()]


def _index_entries(raw: bytes) -> list[Any]:
    """The ``manifests`` of an ``index.json`` ([] for anything else)."""
    try:
        entries = gojson.loads(raw).get("manifests") or []
    except (json.JSONDecodeError, AttributeError):
        return []
    return entries if isinstance(entries, list) else []
