"""OCI image layout directories (``oci:PATH[:REF]``): reading and writing.

The reader works on any :class:`FileTree`, so ``oci-archive:`` reuses it over
the members of a tarball. :class:`OCILayoutDestination` writes a layout (and,
over a private staging folder, the content of an ``oci-archive:``).
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from spyglass.core import compression, gojson, media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest, Readable, VerifyingReader
from spyglass.core.errors import (
    ImageNotFound,
    InvalidDigest,
    InvalidLayout,
    InvalidManifest,
    InvalidReference,
    NotFound,
    SpyglassError,
    TooLarge,
    TransportError,
    Unsupported,
    VerificationError,
    clause,
    json_problem,
)
from spyglass.core.filemodes import FOLDER_MODE, make_folders
from spyglass.core.manifest import (
    IMAGE_NAME_ANNOTATION,
    MAX_MANIFEST_SIZE,
    REF_NAME_ANNOTATION,
    Descriptor,
    ImageIndex,
    ImageManifest,
    guess_media_type,
    parse_manifest,
)
from spyglass.core.reference import is_valid_oci_ref, parse_docker_reference
from spyglass.core.referrers import (
    cosign_saved_suffix,
    cosign_tag,
    is_attached_entry,
    is_cosign_saved_image,
    names_subject,
)
from spyglass.core.transports.base import (
    COMPRESSED,
    FileTree,
    ImageEntry,
    ImageSource,
    ProgressCallback,
)
from spyglass.core.transports.files import (
    TEMP_PREFIX,
    DirTree,
    KnownBlobs,
    NotRegularFile,
    TempFiles,
    blob_path,
    claimed_by_others,
    describe_os_error,
    describe_write_error,
    exclusive_lock,
    file_matches,
    fsync_dir,
    open_regular,
    open_verified,
    read_small_blob,
    replace_file,
    resolved,
    sweep_orphans,
    write_blob,
)
from spyglass.core.transports.stubs import no_stored_signatures

log = logging.getLogger(__name__)

_TAR_MAGIC_AT: Final = 257
_TAR_MAGIC_END: Final = 263
"""Where a tar header's ``ustar`` mark is (POSIX, GNU and PAX tars all have it)."""

_CONTAINERS_TEMP_PREFIX: Final = "oci-put-blob"
"""How containers/image names a blob it is writing into a layout (left there when it
is stopped)."""


def _same_image_name(name: str | None, ref: str) -> bool:
    """Whether ``ref`` (``foo:1``) names the image ``name`` (``docker.io/library/foo:1``),
    both read as Docker names; False for a ref no Docker name could be."""
    if name is None or ":" not in ref:
        return False
    try:
        return str(parse_docker_reference(ref)) == str(parse_docker_reference(name))
    except InvalidReference:
        return False


class OCILayoutReader:
    """Reads an OCI image layout: ``oci-layout``, ``index.json`` and ``blobs/``.

    ``transport`` and ``path`` only shape names and messages
    (``oci:PATH:REF`` or ``oci-archive:PATH:REF``).
    """

    def __init__(self, tree: FileTree, *, transport: str, path: Path) -> None:
        self.tree = tree
        self.transport = transport
        self.path = path
        self._index: ImageIndex | None = None
        self._check_layout_file()

    @property
    def what(self) -> str:
        kind = "OCI archive" if self.transport == "oci-archive" else "OCI image layout"
        return f'The {kind} "{self.path}"'

    def _read_small(self, name: str, limit: int = MAX_MANIFEST_SIZE) -> bytes:
        try:
            size = self.tree.size(name)
            if size > limit:
                raise TooLarge(
                    f"{self.what} has an {name} file of {size} bytes, more than the "
                    f"{limit // (1024 * 1024)} MiB accepted."
                )
            with self.tree.open(name) as stream:
                return stream.read(limit + 1)
        except FileNotFoundError:
            if self.path.is_dir() and os.path.lexists(self.path / name):
                raise InvalidLayout(  # a FIFO, a device, a folder, a link to nothing
                    f"{self.what} is not an OCI image layout: its {name} is not a regular "
                    "file."
                ) from None
            raise InvalidLayout(
                f"{self.what} is not an OCI image layout: it has no {name} file."
            ) from None
        except OSError as exc:
            raise TransportError(describe_os_error(exc, f"{self.path}/{name}")) from exc

    def _check_layout_file(self) -> None:
        if not self.tree.exists(LAYOUT_FILE) and self.tree.exists(INDEX_FILE):
            # read as containers/image reads it: BuildKit wrote layouts without the file
            # (before moby/buildkit#3729); the index.json is checked all the same
            return
        raw = self._read_small("oci-layout")
        try:
            data = gojson.loads(raw)
            version = data["imageLayoutVersion"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidLayout(
                f'{self.what} has an oci-layout file that is not JSON with an '
                f'"imageLayoutVersion"; expected {{"imageLayoutVersion": "1.0.0"}}.'
            ) from exc
        if not isinstance(version, str) or not version.startswith("1."):
            raise InvalidLayout(
                f'{self.what} declares layout version "{version}"; only 1.x is supported.'
            )

    def index(self) -> ImageIndex:
        """The parsed ``index.json`` (read once)."""
        if self._index is None:
            raw = self._read_small(INDEX_FILE, MAX_INDEX_FILE_SIZE)
            try:
                data = gojson.loads(raw)  # (as Go reads it: U+FFFD for bad text)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InvalidLayout(
                    f"{self.what} has an index.json that is not JSON: {json_problem(exc)}."
                ) from exc
            if isinstance(data, dict) and _null_manifests(data):
                raw = _dump(data)
            if not isinstance(data, dict) or not isinstance(data.get("manifests"), list):
                raise InvalidLayout(
                    f'{self.what} has an index.json that is not an image index; expected a '
                    'JSON object with a "manifests" list.'
                )
            try:
                parsed = parse_manifest(raw, media.OCI_INDEX, limit=MAX_INDEX_FILE_SIZE)
            except InvalidManifest as exc:
                raise InvalidLayout(
                    f"{self.what} has an invalid index.json: {clause(exc)}"
                ) from exc
            assert isinstance(parsed, ImageIndex)
            self._index = parsed
        return self._index

    def name_for(self, ref: str | None, index: int | None = None) -> str:
        name = f"{self.transport}:{self.path}" + (f":{ref}" if ref else "")
        return name + (f":@{index}" if index is not None else "")

    def entries(self) -> Iterator[ImageEntry]:
        """Each image, named by its ref where that reopens exactly it, else by position:
        a Docker 25+ save of two images names both "latest", and a ref need not follow
        the ref grammar. Shown by its full name where one is annotated beside the ref."""
        manifests = self.index().manifests
        digests: dict[str, set[Digest]] = {}
        for descriptor in manifests:
            if descriptor.ref_name:
                digests.setdefault(descriptor.ref_name, set()).add(descriptor.digest)
        for position, descriptor in enumerate(manifests):
            ref = descriptor.ref_name
            usable = ref is not None and len(digests.get(ref, ())) == 1 and is_valid_oci_ref(ref)
            yield ImageEntry(
                label=descriptor.annotations.get(IMAGE_NAME_ANNOTATION) or ref
                or f"@{descriptor.digest.algorithm}:{descriptor.digest.short}",
                descriptor=descriptor,
                name=self.name_for(ref) if usable else self.name_for(None, position),
                attached=self.is_attached(descriptor),
            )

    def is_attached(self, descriptor: Descriptor) -> bool:
        """Whether an ``index.json`` entry holds something attached to an image rather
        than an image (:func:`~spyglass.core.referrers.is_attached_entry`; an unnamed
        entry's manifest is read for its subject; one that cannot be read is an image,
        which says what is wrong when opened)."""
        return is_attached_entry(descriptor, self._has_subject)

    def _has_subject(self, descriptor: Descriptor) -> bool:
        try:
            return names_subject(self.read_manifest(descriptor.digest, descriptor.size))
        except (SpyglassError, OSError):
            return False

    def find(self, ref: str | None, index: int | None = None) -> Descriptor:
        """The index.json entry for ``ref``, or at ``index``, or the only entry."""
        manifests = self.index().manifests
        if index is not None:
            if index >= len(manifests):
                raise ImageNotFound(
                    f"{self.what} has {len(manifests)} images; there is no image @{index} "
                    "(positions count from 0)."
                )
            return manifests[index]
        if ref is None:
            if len(manifests) == 1:
                return manifests[0]
            if not manifests:
                raise ImageNotFound(f"{self.what} holds no images.")
            images = [d for d in manifests if not self.is_attached(d)]
            if images and len({d.digest for d in images}) == 1:
                # one image and what is attached to it (cosign's tags, referrers, or the
                # signatures a cosign save keeps beside the image it saved)
                return images[0]
            if not images:  # (nothing but attachments: each is named as an image)
                images = list(manifests)
            refs = sorted({d.ref_name for d in images if d.ref_name})
            unnamed = [f"@{n}" for n, d in enumerate(manifests)
                       if not d.ref_name and any(d is image for image in images)]
            known = ([f"refs: {', '.join(refs)}"] if refs else []) + (
                [f"without a name: {', '.join(unnamed[:8])}"
                 + (f" and {len(unnamed) - 8} more" if len(unnamed) > 8 else "")]
                if refs and unnamed else [])
            attached = len(manifests) - len(images)
            raise ImageNotFound(
                f"{self.what} holds {len(images)} image{'s' if len(images) != 1 else ''}"
                + (f" (and {attached} signature{'s' if attached != 1 else ''} or other "
                   f"manifest{'s' if attached != 1 else ''} attached to them)"
                   if attached else "")
                + f"; name one with {self.name_for('REF')} or {self.name_for(None, 0)}"
                + (f" ({'; '.join(known)})." if known else ".")
            )
        matches = [d for d in manifests if d.ref_name == ref] or [
            d for d in manifests if d.annotations.get(IMAGE_NAME_ANNOTATION) == ref
        ] or [  # containerd's full name (docker.io/library/alpine:latest) beside a bare
            # tag, named as Docker names it (alpine:latest), as docker save wrote it
            d for d in manifests if _same_image_name(d.annotations.get(IMAGE_NAME_ANNOTATION),
                                                     ref)]
        if not matches:
            refs = sorted({d.ref_name for d in manifests if d.ref_name})
            names = sorted({name for d in manifests
                            if (name := d.annotations.get(IMAGE_NAME_ANNOTATION))})
            raise ImageNotFound(
                f'{self.what} has no image with the ref "{ref}"; '
                + (f"it has: {', '.join(refs)}" if refs else "it has no named images")
                + (f" (or by name: {', '.join(names)})." if names else ".")
            )
        if len(matches) > 1 and len({d.digest for d in matches}) > 1:
            positions = [self.name_for(None, n) for n, d in enumerate(manifests)
                         if any(d is match for match in matches)]
            raise ImageNotFound(
                f'{self.what} has {len(matches)} different images with the ref "{ref}"; '
                f"name one by its position: {', '.join(positions)}."
            )
        return matches[0]

    def cosign_saved_image(self) -> Descriptor | None:
        """The entry ``cosign save`` annotated as the image (or image index) it saved, when
        it is one manifest: what the layout's entries of signatures and attestations,
        which name nothing, are attached to (see :mod:`spyglass.core.referrers`)."""
        saved = [d for d in self.index().manifests if is_cosign_saved_image(d.annotations)]
        return saved[0] if saved and len({d.digest for d in saved}) == 1 else None

    def tagged(self, tag: str) -> Descriptor | None:
        """The ``index.json`` entry that stands for the tag ``tag``: the entry of that ref
        name, else the entry of signatures or attestations ``cosign save`` took from it
        (``sha256-<hex>.sig`` of the image it saved); None when there is none."""
        manifests = self.index().manifests
        for entry in manifests:
            if entry.ref_name == tag:
                return entry
        saved = self.cosign_saved_image()
        if saved is None:
            return None
        for entry in manifests:
            suffix = cosign_saved_suffix(entry.annotations)
            if suffix is not None and cosign_tag(saved.digest, suffix) == tag:
                return entry
        return None

    def read_manifest(
        self, digest: Digest, size: int | None, *, cancel: CancelToken | None = None
    ) -> bytes:
        return read_small_blob(
            self.tree,
            blob_path(digest),
            digest,
            size,
            what=f"The manifest {digest} in {self.what[4:]}",
            cancel=cancel,
        )

    def open_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> VerifyingReader:
        return open_verified(
            self.tree, blob_path(descriptor.digest), descriptor.digest, descriptor.size,
            cancel=cancel,
        )

    def sniffed_compression(self, layer: Descriptor) -> str | None:
        """How the stored bytes of ``layer`` are compressed, by their first bytes, when that
        is not what its media type says (a plain tar named ``tar+gzip``, as some tools
        write): ``"none"`` (a tar: its header's ``ustar`` mark), ``"gzip"`` or ``"zstd"``;
        None when they agree, when the bytes are none of these (bzip2, no layer at all:
        copied as they are), or when the blob cannot be looked at here (the copy or the
        read says what is wrong with it)."""
        declared = media.layer_compression(layer.media_type)
        if declared is None or layer.size == 0:
            return None
        try:
            header = self.tree.head(blob_path(layer.digest), _TAR_MAGIC_END)
        except (SpyglassError, OSError):
            return None
        found = compression.detect(header)
        if found is None and header[_TAR_MAGIC_AT:_TAR_MAGIC_END].startswith(b"ustar"):
            found = compression.NONE
        if found not in (compression.NONE, compression.GZIP, compression.ZSTD):
            return None
        return found if found != declared else None

    def referrers(
        self, digest: Digest, *, cancel: CancelToken | None = None
    ) -> list[Descriptor]:
        """The ``index.json`` entries whose manifest names ``digest`` as its ``subject``
        (how oras and cosign keep referrers in a layout). Entries that cannot be read
        are skipped: they are not this question's business."""
        found: list[Descriptor] = []
        for entry in self.index().manifests:
            check(cancel)
            if entry.digest == digest or entry.media_type not in media.MANIFEST_TYPES:
                continue
            try:
                raw = self.read_manifest(entry.digest, entry.size, cancel=cancel)
                parsed = parse_manifest(raw, entry.media_type)
            except (InvalidManifest, NotFound, TransportError, TooLarge, VerificationError):
                continue
            subject = getattr(parsed, "subject", None)
            if subject is not None and subject.digest == digest:
                artifact_type = getattr(parsed, "artifact_type", None) or entry.artifact_type
                if artifact_type is None and isinstance(parsed, ImageManifest):
                    artifact_type = parsed.config.media_type
                found.append(replace(entry, artifact_type=artifact_type))
        return found


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
                raw = stream.read(MAX_INDEX_FILE_SIZE + 1)
                changed = time.time() - os.fstat(stream.fileno()).st_mtime
        except FileNotFoundError:
            return _empty_index()
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
        if isinstance(data, dict) and _null_manifests(data):
            raw = _dump(data)
        parse_manifest(raw, media.OCI_INDEX, limit=MAX_INDEX_FILE_SIZE)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"is not JSON ({exc})", True
    except InvalidManifest as exc:
        return None, f"is not a valid image index ({str(exc).rstrip('.')})", False
    if not (isinstance(data, dict) and isinstance(data.get("manifests"), list)):
        return None, 'is not a JSON object with a "manifests" list', False
    return data, None, False


class LayoutImageSource:
    """An :class:`ImageSource` for one image (top-level entry) of an OCI layout."""

    def __init__(self, reader: OCILayoutReader, top: Descriptor, name: str) -> None:
        self._reader = reader
        self._top = top
        self._name = name
        self._stored: dict[Digest, str | None] = {}

    def stored_compression(self, layer: Descriptor) -> str | None:
        """Implement StoredCompression: what the layer's first bytes say, where that is not
        what its media type says (looked at once per layer)."""
        if layer.digest not in self._stored:
            self._stored[layer.digest] = self._reader.sniffed_compression(layer)
        return self._stored[layer.digest]

    @property
    def description(self) -> str:
        return self._name

    def get_manifest(
        self, digest: str | None = None, *, cancel: CancelToken | None = None
    ) -> tuple[bytes, str | None]:
        check(cancel)
        if digest is None:
            raw = self._reader.read_manifest(self._top.digest, self._top.size, cancel=cancel)
            return raw, self._top.media_type or None
        try:
            wanted = Digest.parse(digest)
        except InvalidDigest as exc:
            raise NotFound(str(exc)) from exc
        return self._reader.read_manifest(wanted, None, cancel=cancel), None

    def open_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> VerifyingReader:
        return self._reader.open_blob(descriptor, cancel=cancel)

    def referrers(
        self,
        digest: Digest,
        *,
        artifact_type: str | None = None,
        cancel: CancelToken | None = None,
    ) -> list[Descriptor]:
        """Override AttachmentSource.referrers: from the layout's index."""
        return [
            d for d in self._reader.referrers(digest, cancel=cancel)
            if artifact_type is None or d.artifact_type == artifact_type
        ]

    def tagged_manifest(
        self, tag: str, *, cancel: CancelToken | None = None
    ) -> Descriptor | None:
        """Override AttachmentSource.tagged_manifest: the index entry with that ref name,
        or the one ``cosign save`` kept of that tag (see :meth:`OCILayoutReader.tagged`)."""
        check(cancel)
        return self._reader.tagged(tag)

    def stored_signatures(
        self, digest: Digest, *, cancel: CancelToken | None = None
    ) -> list[bytes]:
        """Override AttachmentSource.stored_signatures: layouts keep none beside manifests."""
        return []

    def close(self) -> None:
        pass


class OCILayoutLocation:
    """A browsable OCI layout: a :class:`Location` over :class:`OCILayoutReader`."""

    def __init__(self, reader: OCILayoutReader, *, owns_tree: bool = True) -> None:
        self.reader = reader
        self._owns_tree = owns_tree

    @property
    def kind(self) -> str:
        return self.reader.transport

    @property
    def title(self) -> str:
        return self.reader.path.name or str(self.reader.path)

    @property
    def description(self) -> str:
        return f"{self.reader.transport}:{self.reader.path}"

    def list_images(self, *, cancel: CancelToken | None = None) -> Iterator[ImageEntry]:
        check(cancel)
        yield from self.reader.entries()

    def open_image(self, entry: ImageEntry) -> ImageSource:
        return LayoutImageSource(self.reader, entry.descriptor, entry.name)

    def close(self) -> None:
        if self._owns_tree:
            self.reader.tree.close()


def check_directory(path: Path, kind: str) -> None:
    """Refuse a path that does not exist, is not a folder or cannot be read, with a sentence."""
    try:
        if not path.exists():
            if path.is_symlink():
                resolved(path)  # a loop of links says so
                raise InvalidLayout(f'"{path}" is a link to "{os.readlink(path)}", which does '
                                    f"not exist; expected {kind} folder.")
            raise InvalidLayout(f'The path "{path}" does not exist; expected {kind} folder.')
        if not path.is_dir():
            raise InvalidLayout(f'"{path}" is not a folder; expected {kind} folder.')
        os.listdir(path)
    except PermissionError as exc:
        raise TransportError(describe_os_error(exc, path)) from exc


def open_layout(path: Path) -> OCILayoutLocation:
    """Open an OCI image layout folder for browsing."""
    check_directory(path, "an OCI image layout")
    return OCILayoutLocation(OCILayoutReader(DirTree(path), transport="oci", path=path))


def open_layout_image(path: Path, ref: str | None, index: int | None = None) -> ImageSource:
    """Open ``oci:PATH[:REF|:@N]``."""
    location = open_layout(path)
    top = location.reader.find(ref, index)
    return LayoutImageSource(location.reader, top, location.reader.name_for(ref, index))


# --------------------------------------------------------------------------- write side

LAYOUT_FILE: Final = "oci-layout"
INDEX_FILE: Final = "index.json"
MAX_INDEX_FILE_SIZE: Final = 64 * 1024 * 1024
"""The largest ``index.json`` read or written: some 250,000 refs (skopeo reads 40,000;
the 4 MiB of a manifest held some 16,000)."""
AT_WORK: Final = "at-work-"
"""The kind of temporary (``.spyglass-tmp-at-work-…``) a copy into a layout keeps there,
claimed, while it relies on the layout's blobs."""

INDEX_LOCK: Final = "index.json.lock"
"""The lock file every Spyglass writer of a layout holds while it updates ``index.json``."""

_LAYOUT_BYTES: Final = b'{"imageLayoutVersion":"1.0.0"}'


def _null_manifests(data: dict[str, Any]) -> bool:
    """Turn ``"manifests": null`` into an empty list; True when it did.

    ``umoci init`` writes an empty layout's index that way (a Go nil slice),
    and Go readers take it for an empty list.
    """
    if "manifests" in data and data["manifests"] is None:
        data["manifests"] = []
        return True
    return False


def _empty_index() -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": []}


def _dump(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class OCILayoutDestination:
    """An :class:`~spyglass.core.transports.base.ImageDestination` for ``oci:PATH[:REF]``.

    Opening it prepares the layout: a folder that does not exist or is empty
    becomes a layout (``oci-layout`` with version 1.0.0, ``blobs/``, an empty
    ``index.json``); an existing layout is checked (its ``oci-layout`` and
    ``index.json`` must be readable); anything else is refused with
    :class:`InvalidLayout`, so nothing is ever written into a folder of other
    files.

    Blobs and manifests land through
    :func:`~spyglass.core.transports.files.write_blob`: a temporary file in
    the layout folder (``.spyglass-tmp-*``), verified, synced and renamed to
    ``blobs/<alg>/<hex>``. :meth:`reuse_blob` trusts a blob already in the
    layout only after hashing it (once per copy: blobs this destination wrote
    or verified are remembered).

    :meth:`commit` is the only step that touches ``index.json``: under an
    exclusive ``flock`` on ``index.json.lock`` (containers/image and umoci lock
    nothing around ``index.json``; every Spyglass writer, in any thread or
    process, takes this one; the file is there only while it is held) it
    re-reads the index, replaces the entry named ``REF`` (annotation
    ``org.opencontainers.image.ref.name``) in place or appends one, and
    replaces the file atomically. Two copies into one layout therefore both
    keep their refs. Unlike containers/image, which keeps the entry a new
    image displaces as an unnamed entry, the displaced entry is dropped. With
    no REF, an unnamed entry of the same digest is replaced, else one is
    appended.

    Opening it also removes what a killed copy left: ``.spyglass-tmp-*`` files
    no live process claims (see :func:`~spyglass.core.transports.files.sweep_orphans`).

    :meth:`abort` removes temporary files and takes back the blobs this copy
    added (under the lock, leaving any an ``index.json`` entry leads to, and
    all of them when some of the layout cannot be walked), so a cancelled or
    failed copy leaves the layout as it was; ``index.json`` is untouched. A
    concurrent Spyglass copy that reused such a blob finds it gone when it
    commits and fails with a sentence instead of naming a missing blob.
    Other tools (skopeo, umoci) take no lock: one writing into the same
    layout at the same moment that reuses a blob this copy added and then
    takes back could name a missing blob. A layout folder the destination
    created is removed when nothing else was put in it.

    Only OCI manifests and indexes are stored, as containers/image's OCI
    destination does; skopeo (up to at least 1.9) skips ``index.json``
    entries of Docker media types, so the copy engine converts them.

    ``private`` is for a folder only this destination uses (the staging
    folder of an ``oci-archive:``): no lock file, no checks of other content.
    ``transport`` and ``name_path`` (default ``path``) shape the description,
    e.g. ``oci-archive:/srv/image.tar:1.0`` for a staging folder.

    Thread-safe: blobs may be put and reused from several threads at once.
    """

    def __init__(
        self,
        path: Path,
        ref: str | None = None,
        *,
        transport: str = "oci",
        name_path: Path | None = None,
        private: bool = False,
    ) -> None:
        self.path = path
        self.ref = ref
        shown = name_path if name_path is not None else path
        self._name = f"{transport}:{shown}" + (f":{ref}" if ref else "")
        self._unnamed_name = f"{transport}:{shown}"
        self._private = private
        self._temps = TempFiles(path)
        self._known = KnownBlobs()
        self._media_types: dict[Digest, str] = {}
        self._attached: list[dict[str, Any]] = []  # index entries of attachments put
        self._lock = threading.Lock()
        self._synced_dirs: set[Path] = set()
        self._state = "open"
        self._made_folder = False
        self._made_layout = False
        self._written: set[Digest] = set()
        self._added: set[Digest] = set()  # blobs that were not in the layout before this copy
        self._marked = False
        self._marker: Path | None = None
        """A claimed temporary in the layout while this copy relies on its blobs: a
        concurrent copy's take-back sees it and spares them (see _take_back_blobs)."""
        self._prepare()

    # -- preparing the layout

    @property
    def _what(self) -> str:
        return f'The OCI image layout "{self.path}"'

    def _prepare(self) -> None:
        path = self.path
        try:
            if path.exists() or path.is_symlink():
                _refuse_other_than_folder(path)
                if not self._private:
                    _check_existing(path)  # refuse before creating anything in it
            else:
                self._made_folder = True
            make_folders(path)
        except OSError as exc:
            raise TransportError(describe_write_error(exc, path)) from exc
        if self._private:
            self._create_files()
            return
        with exclusive_lock(path / INDEX_LOCK, what=self._what):
            _check_existing(path)
            self._create_files()
            sweep_orphans(path)

    def _create_files(self) -> None:
        path = self.path
        try:
            if not (path / LAYOUT_FILE).exists():
                replace_file(path / LAYOUT_FILE, _LAYOUT_BYTES, temps=self._temps)
                # a layout made here is taken back if the copy fails; one that only
                # lacked its oci-layout file (older BuildKit) keeps what it had
                self._made_layout = not (path / INDEX_FILE).exists()
            (path / "blobs").mkdir(FOLDER_MODE, exist_ok=True)
            index = path / INDEX_FILE
            if not index.exists():
                replace_file(index, _dump(_empty_index()), temps=self._temps)
            elif not self._private:
                # a layout that was there: its blobs are as readable as the index that
                # names them, whatever the umask (a shared layout stays readable to
                # all its readers, a private one private)
                self._temps.file_mode = stat.S_IMODE(index.stat().st_mode) & 0o666
        except OSError as exc:
            raise TransportError(describe_write_error(exc, path)) from exc

    # -- ImageDestination

    @property
    def description(self) -> str:
        return self._name

    @property
    def supported_manifest_types(self) -> tuple[str, ...]:
        return (media.OCI_MANIFEST, media.OCI_INDEX)

    @property
    def accepts_foreign_layers(self) -> bool:
        """Override ForeignLayers.accepts_foreign_layers: a manifest here may name a layer
        kept where its ``urls`` point (as containers/image's destination accepts it)."""
        return True

    @property
    def accepts_lists(self) -> bool:
        return True

    @property
    def desired_layer_compression(self) -> str | None:
        return COMPRESSED  # as skopeo writes OCI layouts

    def _check_open(self) -> None:
        if self._state != "open":
            raise TransportError(
                f"The destination {self._name} was already {self._state}; open it again to "
                "write another image."
            )

    def _blob_target(self, digest: Digest) -> Path:
        target = self.path / blob_path(digest)
        new = not target.exists()  # asked just before the rename into place
        with self._lock:
            self._synced_dirs.add(target.parent)
            if new:
                self._added.add(digest)
        return target

    def _mark_at_work(self) -> None:
        """Put this copy's claimed marker in the layout, once, before it first relies on
        a blob there (best effort: where it cannot be made, nothing is marked)."""
        if self._private:
            return
        with self._lock:
            if self._marked:
                return
            self._marked = True
            try:
                fd, self._marker = self._temps.create(AT_WORK)
            except OSError:
                return
            os.close(fd)  # the claim stays, held by the temporaries' own descriptor

    def reuse_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> str | None:
        self._check_open()
        self._mark_at_work()
        digest = descriptor.digest
        known = self._known.size(digest)
        if known is not None:
            return "exists" if known == descriptor.size else None
        with self._known.guard(digest):
            known = self._known.size(digest)
            if known is not None:
                return "exists" if known == descriptor.size else None
            if file_matches(self.path / blob_path(digest), digest, descriptor.size, cancel=cancel):
                self._known.add(digest, descriptor.size)
                return "exists"
        return None

    def holds_blob(self, descriptor: Descriptor, *, cancel: CancelToken | None = None) -> bool:
        """Implement BlobHolder: a file of that name and size is there (its digest is
        checked when :meth:`reuse_blob` is asked)."""
        known = self._known.size(descriptor.digest)
        if known is not None:
            return known == descriptor.size
        try:
            return (self.path / blob_path(descriptor.digest)).stat().st_size == descriptor.size
        except (OSError, ValueError):
            return False

    def holds_manifest(self, entry: Descriptor, *, cancel: CancelToken | None = None
                       ) -> bool | None:
        """Override ManifestHolder.holds_manifest: its blob is there, digest checked."""
        return self.reuse_blob(entry, cancel=cancel) == "exists"

    def _write(
        self,
        stream: Readable,
        *,
        digest: Digest | None,
        size: int | None,
        what: str,
        cancel: CancelToken | None,
        progress: ProgressCallback | None,
    ) -> tuple[Digest, int]:
        self._check_open()
        self._mark_at_work()
        written, length = write_blob(
            stream,
            temps=self._temps,
            target=self._blob_target,
            digest=digest,
            size=size,
            what=what,
            cancel=cancel,
            progress=progress,
        )
        self._known.add(written, length)
        with self._lock:
            self._written.add(written)
        return written, length

    def put_blob(
        self,
        stream: Readable,
        *,
        media_type: str,
        digest: Digest | None,
        size: int | None,
        cancel: CancelToken | None = None,
        progress: ProgressCallback | None = None,
    ) -> Descriptor:
        what = f"The blob {digest} for {self._name}" if digest else f"A blob for {self._name}"
        written, length = self._write(
            stream, digest=digest, size=size, what=what, cancel=cancel, progress=progress
        )
        return Descriptor(media_type, written, length)

    def put_manifest(
        self, raw: bytes, media_type: str, digest: Digest, *, cancel: CancelToken | None = None
    ) -> None:
        if media_type not in self.supported_manifest_types:
            raise Unsupported(
                f"{self._name} stores OCI image manifests and indexes only, not a "
                f"{media.friendly(media_type)} ({media_type}); the copy has to convert it first."
            )
        if len(raw) > MAX_MANIFEST_SIZE:
            raise TooLarge(
                f"The manifest {digest} is {len(raw)} bytes, more than the 4 MiB accepted for "
                "manifests."
            )
        self._write(
            io.BytesIO(raw),
            digest=digest,
            size=len(raw),
            what=f"The manifest {digest} for {self._name}",
            cancel=cancel,
            progress=None,
        )
        with self._lock:
            self._media_types[digest] = media_type

    def commit(self, top: Descriptor, raw: bytes, *, cancel: CancelToken | None = None) -> None:
        self._check_open()
        check(cancel)
        media_type = top.media_type or self._media_types.get(top.digest)
        if media_type is None:
            media_type = guess_media_type(raw) or ""
        if top.digest not in self._known:
            self.put_manifest(raw, media_type, top.digest, cancel=cancel)
        size = self._known.size(top.digest)
        entry: dict[str, Any] = {
            "mediaType": media_type,
            "digest": str(top.digest),
            "size": size if size is not None else len(raw),
        }
        if self.ref is not None:
            entry["annotations"] = {REF_NAME_ANNOTATION: self.ref}
        with self._lock:
            dirs = sorted(self._synced_dirs)
        for folder in dirs:
            fsync_dir(folder)
        if self._private:
            self._update_index(entry)
        else:
            with exclusive_lock(self.path / INDEX_LOCK, what=self._what, cancel=cancel):
                self._check_blobs_still_there()
                self._update_index(entry)
        self._state = "committed"
        if self._marker is not None:
            self._temps.discard(self._marker)

    def _check_blobs_still_there(self) -> None:
        """Every blob this copy relies on is still in the layout (the caller holds the lock).

        A cancelled copy takes back the blobs it added; one this copy found
        there and reused may have been among them.
        """
        missing = [d for d in self._known.digests() if not (self.path / blob_path(d)).exists()]
        if missing:
            raise TransportError(
                f'The blob {missing[0]} went missing from the OCI image layout "{self.path}" '
                "while the image was "
                "copied (a copy into the same layout was cancelled and took back what it had "
                "added); index.json was left as it is. Copy again."
            )

    def _read_index(self) -> dict[str, Any]:
        """The layout's ``index.json`` as data (the caller holds the lock)."""
        return read_index_file(self.path / INDEX_FILE, self._what)

    def _update_index(self, entry: dict[str, Any]) -> None:
        """Add ``entry`` and the attachments put to index.json; the caller holds the
        lock (or the folder is private).

        An entry with a ref name replaces the entry of that name; one without
        replaces an unnamed entry of the same digest; other entries stay.
        """
        data = self._read_index()
        with self._lock:
            entries = [entry, *self._attached]
        updated: list[dict[str, Any]] = list(data["manifests"])
        for new in entries:
            name = (new.get("annotations") or {}).get(REF_NAME_ANNOTATION)
            kept: list[dict[str, Any]] = []
            placed = False
            for item in updated:
                # parse_manifest checked every entry is an object with string annotations
                item_name = (item.get("annotations") or {}).get(REF_NAME_ANNOTATION)
                if name is not None:
                    same = item_name == name
                else:
                    same = item_name is None and item.get("digest") == new["digest"]
                if same:
                    if not placed:
                        kept.append(new)
                        placed = True
                    continue
                kept.append(item)
            if not placed:
                kept.append(new)
            updated = kept
        data["manifests"] = updated
        raw = _dump(data)
        if len(raw) > MAX_INDEX_FILE_SIZE:  # never write what could not be read again
            raise TooLarge(
                f"{self._what}'s index.json would grow to {len(raw)} bytes with this image, "
                f"more than the {MAX_INDEX_FILE_SIZE // (1024 * 1024)} MiB read back; it was "
                "left as it is. Write the image into another layout.")
        replace_file(self.path / INDEX_FILE, raw, temps=self._temps)

    # ---------------------------------------------------------------- attachments

    @property
    def attachment_support(self) -> frozenset[str]:
        """Override AttachmentDestination.attachment_support: attached manifests, kept in
        ``index.json``: a referrer unnamed (its ``artifactType`` on the entry), a cosign
        tag's manifest named by the tag (``sha256-<hex>.sig``), as a registry holds it.
        Not as ``cosign save`` keeps them (unnamed, annotated ``kind``): that form is
        read, never written. None for an image given no name (see
        :attr:`attachments_withheld`)."""
        return frozenset() if self.attachments_withheld else frozenset({"manifests"})

    @property
    def attachments_withheld(self) -> str | None:
        """Why nothing attached is kept here, or None: an image written without a name
        would sit among its attachments' entries, and the layout named without a ref
        (as skopeo and Spyglass read it) would then hold several images, none chosen."""
        if self.ref is not None:
            return None
        return (f"the image gets no name there, and beside the entries of what is attached "
                f"to it, {self._unnamed_name} would hold several images and name none; name "
                f"it ({self._unnamed_name}:NAME) to keep what is attached")

    def put_attachment(
        self,
        subject: Digest,
        descriptor: Descriptor,
        raw: bytes,
        *,
        tag: str | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        """Override AttachmentDestination.put_attachment: stored now, listed at commit."""
        self.put_manifest(raw, descriptor.media_type, descriptor.digest, cancel=cancel)
        entry: dict[str, Any] = {
            "mediaType": descriptor.media_type,
            "digest": str(descriptor.digest),
            "size": len(raw),
        }
        if descriptor.artifact_type:
            entry["artifactType"] = descriptor.artifact_type
        if tag is not None:
            entry["annotations"] = {REF_NAME_ANNOTATION: tag}
        with self._lock:
            self._attached.append(entry)

    def tagged_digest(self, tag: str, *, cancel: CancelToken | None = None) -> Digest | None:
        """Override TaggedDestination.tagged_digest: the entry of index.json named ``tag``."""
        for entry in self._read_index()["manifests"]:
            if not isinstance(entry, dict):
                continue
            named = entry.get("annotations") or {}
            if isinstance(named, dict) and named.get(REF_NAME_ANNOTATION) == tag:
                try:
                    return Digest.parse(str(entry.get("digest", "")))
                except InvalidDigest:
                    return None
        return None

    def read_manifest(
        self, digest: Digest, *, cancel: CancelToken | None = None
    ) -> tuple[bytes, str | None]:
        """Override TaggedDestination.read_manifest: ``blobs/<alg>/<hex>``, verified."""
        raw = read_small_blob(DirTree(self.path), blob_path(digest), digest, None,
                              what=f"The manifest {digest} in {self._what[4:]}", cancel=cancel)
        return raw, None

    def read_small_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> bytes:
        """Override TaggedDestination.read_small_blob: ``blobs/<alg>/<hex>``, verified."""
        digest = descriptor.digest
        return read_small_blob(DirTree(self.path), blob_path(digest), digest, descriptor.size,
                               what=f"The blob {digest} in {self._what[4:]}", cancel=cancel)

    def put_stored_signatures(
        self, subject: Digest, signatures: list[bytes], *, cancel: CancelToken | None = None
    ) -> None:
        """Override AttachmentDestination.put_stored_signatures: layouts keep none."""
        raise no_stored_signatures(self._name)

    def abort(self) -> None:
        if self._state in ("committed", "aborted"):
            return
        self._temps.remove_all()
        self._state = "aborted"
        if self._private:
            return
        self._take_back_blobs()
        if self._made_layout:
            self._undo_creation()

    def _take_back_blobs(self) -> None:
        """Remove the blobs this copy added to the layout, so that it is as it was.

        Under the index lock, and only those no ``index.json`` entry names; none
        while another copy is at work in the layout (its claimed marker or
        temporaries are there): it may have found them there and be relying on
        them, so they stay (correct, and unreferenced should it not). A copy
        that reused one in the moment between that look and the removal checks
        at its commit that it is still there. Best effort: a blob that cannot be
        removed stays.
        """
        with self._lock:
            added = set(self._added)
        if not added:
            return
        try:
            with exclusive_lock(self.path / INDEX_LOCK, what=self._what):
                if claimed_by_others(self.path):
                    log.info("Left the %d blobs a stopped copy added to %s: another copy "
                             "is at work there and may use them.", len(added), self.path)
                    return
                used = self._referenced()
                if used is None:
                    return  # a layout we cannot read whole: leave everything as it is
                for digest in added - used:
                    try:
                        (self.path / blob_path(digest)).unlink()
                    except OSError:
                        pass
        except SpyglassError:
            pass  # the lock could not be taken: the blobs stay

    def _referenced(self) -> set[Digest] | None:
        """Every blob ``index.json`` leads to (through lists and manifests, to configs
        and layers); None when some of it cannot be read."""
        try:
            top = parse_manifest(_dump(self._read_index()), media.OCI_INDEX,
                                 limit=MAX_INDEX_FILE_SIZE)
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
                with (self.path / blob_path(entry.digest)).open("rb") as stream:
                    raw = stream.read(MAX_MANIFEST_SIZE + 1)
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

    def _undo_creation(self) -> None:
        """Remove the layout this destination created, if nothing but its own writes is in it.

        So a refused or failed copy into a new folder leaves no empty layout
        behind. Anything another writer put there (a committed entry, a blob
        or temporary file this destination did not write) keeps it.
        """
        path = self.path
        try:
            with exclusive_lock(path / INDEX_LOCK, what=self._what):
                index = gojson.loads((path / INDEX_FILE).read_bytes())
                if index.get("manifests"):
                    return
                ours = {str(path / blob_path(d)) for d in self._written}
                for folder, _dirs, files in os.walk(path / "blobs"):
                    if any(os.path.join(folder, f) not in ours for f in files):
                        return
                for name in os.listdir(path):
                    if name not in (LAYOUT_FILE, INDEX_FILE, INDEX_LOCK, "blobs"):
                        return
                shutil.rmtree(path / "blobs")
                for name in (LAYOUT_FILE, INDEX_FILE):
                    (path / name).unlink()
            # the lock file goes as the lock is let go; the folder then, if it is empty
            # (another writer may be waiting in it, with a lock file of its own)
            if self._made_folder:
                path.rmdir()
        except (OSError, ValueError, SpyglassError):
            # leave it: a layout that is there is better than a half-removed one (or
            # nothing to do: one deleted under the copy cannot be locked)
            return

    def close(self) -> None:
        if self._state == "open":
            self.abort()


def check_layout_destination(path: Path) -> None:
    """Raise the refusal an ``oci:`` copy to ``path`` would meet (a file there, a folder
    of other things, an unreadable index), writing nothing (the Copy dialog says it before
    the copy starts)."""
    try:
        if path.exists() or path.is_symlink():
            _refuse_other_than_folder(path)
            _check_existing(path)
    except OSError as exc:
        raise TransportError(describe_os_error(exc, path)) from exc


def _refuse_other_than_folder(path: Path) -> None:
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


def _check_existing(path: Path) -> None:
    """Refuse a folder that is neither empty nor a layout (nor what containers/image leaves
    of one it was writing)."""
    try:
        entries = [
            entry
            for entry in os.listdir(path)
            if entry != INDEX_LOCK and not entry.startswith(TEMP_PREFIX)
        ]
    except OSError as exc:
        raise TransportError(describe_os_error(exc, path)) from exc
    if not entries:
        return
    if LAYOUT_FILE in entries or (INDEX_FILE in entries and "blobs" in entries):
        # a layout without its oci-layout file gets one, as containers/image writes it
        if INDEX_FILE in entries:
            read_index_file(path / INDEX_FILE, f'The OCI image layout "{path}"')
        return
    if "blobs" in entries and (path / "blobs").is_dir() and all(
            entry == "blobs" or entry.startswith(_CONTAINERS_TEMP_PREFIX)
            for entry in entries):
        # what containers/image leaves of a layout it was writing when it stopped (its
        # blobs, unfinished blobs beside them): a copy goes on into it, as skopeo does
        return
    hint = ""
    if "version" in entries and "manifest.json" in entries:
        hint = f" It holds a dir: image; write to it as dir:{path}."
    raise InvalidLayout(
        f'The folder "{path}" is not empty and is not an OCI image layout (it has no '
        "oci-layout file); an oci: image is written only into a new or empty folder or an "
        f"existing layout.{hint}"
    )


def open_layout_destination(
    path: Path, ref: str | None, index: int | None = None
) -> OCILayoutDestination:
    """Open ``oci:PATH[:REF]`` for writing (``@N`` picks an image to read, never to write)."""
    if index is not None:
        raise InvalidReference(
            f'"oci:{path}:@{index}" names an image by its position, which only works for '
            f"reading; write to oci:{path}:REF or oci:{path}."
        )
    return OCILayoutDestination(path, ref)
