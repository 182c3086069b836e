"""OCI image layout directories (``oci:PATH[:REF]``), read side: the reader of
``oci-layout``, ``index.json`` and ``blobs/``, an image of a layout as an
:class:`~spyglass.core.transports.base.ImageSource`, and a layout as a browsable
location.

The reader works on any :class:`FileTree`, so ``oci-archive:`` reuses it over
the members of a tarball. Writing a layout is
:mod:`~spyglass.core.transports.layout_write`'s; the names of a layout's files and
``index.json`` read for an update are :mod:`~spyglass.core.transports.layout_files`'.
"""

from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from spyglass.core import compression, gojson, media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest, VerifyingReader
from spyglass.core.errors import (
    BlobNotFound,
    ImageNotFound,
    ImageRemoved,
    InvalidDigest,
    InvalidLayout,
    InvalidManifest,
    InvalidReference,
    NotFound,
    SpyglassError,
    TooLarge,
    TransportError,
    VerificationError,
    clause,
    json_problem,
)
from spyglass.core.listed import some_names
from spyglass.core.manifest import (
    IMAGE_NAME_ANNOTATION,
    MAX_MANIFEST_SIZE,
    Descriptor,
    ImageIndex,
    ImageManifest,
    parse_manifest,
)
from spyglass.core.reference import is_valid_oci_ref, parse_docker_reference
from spyglass.core.referrers import (
    attachment_tag_subject,
    cosign_saved_suffix,
    cosign_tag,
    is_attached_entry,
    is_cosign_saved_image,
    manifest_subject,
    names_subject,
)
from spyglass.core.transports.base import (
    FileTree,
    ImageEntry,
    ImageSource,
)
from spyglass.core.transports.files import (
    DirTree,
    blob_path,
    describe_os_error,
    open_verified,
    read_at_most,
    read_small_blob,
    resolved,
)
from spyglass.core.transports.layout_files import (
    INDEX_FILE,
    LAYOUT_FILE,
    MAX_INDEX_FILE_SIZE,
    dump_index,
    null_manifests,
)

REREAD_PAUSES: Final = (0.05, 0.1)
"""The pauses before a layout's ``index.json`` or ``oci-layout`` found empty or cut short
is read again (see :meth:`OCILayoutReader._read_json`): 150 ms in all, at most, on the
way to a refusal; a file another program writes in place is whole well before."""

_TAR_MAGIC_AT: Final = 257
_TAR_MAGIC_END: Final = 263
"""Where a tar header's ``ustar`` mark is (POSIX, GNU and PAX tars all have it)."""


def _same_image_name(name: str | None, ref: str) -> bool:
    """Whether ``ref`` (``foo:1``) names the image ``name`` (``docker.io/library/foo:1``),
    both read as Docker names; False for a ref no Docker name could be."""
    if name is None or ":" not in ref:
        return False
    try:
        return str(parse_docker_reference(ref)) == str(parse_docker_reference(name))
    except InvalidReference:
        return False


def _answer(value: bool) -> Callable[[Descriptor], bool]:
    """A question about an entry answered already (its manifest read once, not twice)."""
    return lambda _: value


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
                    f"{limit // (1024 * 1024)} MiB accepted (it is read whole into "
                    "memory)."
                )
            with self.tree.open(name) as stream:
                return read_at_most(stream, limit)
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
        try:
            _raw, data = self._read_json(LAYOUT_FILE, "oci-layout file", MAX_MANIFEST_SIZE)
            version = data["imageLayoutVersion"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidLayout(
                f'{self.what} has an oci-layout file that is not JSON with an '
                f'"imageLayoutVersion"; expected {{"imageLayoutVersion": "1.0.0"}}.'
            ) from exc
        if not isinstance(version, str) or not (version == "1" or version.startswith("1.")):
            raise InvalidLayout(
                f'{self.what} declares layout version "{version}"; only 1.x is supported.'
            )

    def index(self) -> ImageIndex:
        """The parsed ``index.json`` (read once)."""
        if self._index is None:
            try:
                raw, data = self._read_json(INDEX_FILE, "index.json", MAX_INDEX_FILE_SIZE)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InvalidLayout(
                    f"{self.what} has an index.json that is not JSON: {json_problem(exc)}."
                ) from exc
            if isinstance(data, dict) and null_manifests(data):
                raw = dump_index(data)
            if not isinstance(data, dict) or not isinstance(data.get("manifests"), list):
                raise InvalidLayout(
                    f'{self.what} has an index.json that is not an image index; expected a '
                    'JSON object with a "manifests" list.'
                )
            try:
                # decoded once: read as it was read above (60 MB take 150 ms a decode)
                parsed = parse_manifest(raw, media.OCI_INDEX, limit=MAX_INDEX_FILE_SIZE,
                                        data=data)
            except InvalidManifest as exc:
                raise InvalidLayout(
                    f"{self.what} has an invalid index.json: {clause(exc)}"
                ) from exc
            assert isinstance(parsed, ImageIndex)
            self._index = parsed
        return self._index

    def _read_json(self, name: str, shown: str, limit: int) -> tuple[bytes, Any]:
        """The bytes of the layout's file ``name`` (``shown`` so in sentences) and what
        they decode to, as Go reads them (U+FFFD for bad text).

        A layout folder's ``oci-layout`` or ``index.json`` found empty or JSON cut off
        before its end (:func:`~spyglass.core.gojson.cut_short`) is read again after each
        pause of :data:`REREAD_PAUSES`: skopeo takes no lock and rewrites both in place
        at each copy (emptied, then written), so a read while it is at it may find them
        so for a moment. Still so, it is refused with a sentence that says another
        program may be writing it. Other bytes that are not JSON raise the decoder's
        error at once, for the caller's sentence, as does an archive's file, which is
        read as the tar was scanned. No Spyglass copy leaves either so, even for a
        moment: it replaces them whole (reading ``index.json`` under the layout's lock
        through :func:`~spyglass.core.transports.layout_files.read_index_file`, not this).
        """
        pauses = iter(REREAD_PAUSES)
        while True:
            raw = self._read_small(name, limit)
            try:
                return raw, gojson.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                if self.transport != "oci" or not (
                        isinstance(exc, json.JSONDecodeError) and gojson.cut_short(exc)):
                    raise
                pause = next(pauses, None)
                if pause is None:
                    raise self._being_written(shown, raw, exc) from exc
            time.sleep(pause)

    def _being_written(self, shown: str, raw: bytes, exc: ValueError) -> InvalidLayout:
        """The refusal of the file ``shown`` found empty or cut short (``raw``, which did
        not decode: ``exc``) each time :meth:`_read_json` read it."""
        found = (f"an empty {shown}" if not raw.strip() else
                 f"{'an' if shown[0] in 'aeiou' else 'a'} {shown} cut off before its end "
                 f"({json_problem(exc)})")
        return InvalidLayout(
            f"{self.what} has {found}: another program may be writing it (skopeo writes it "
            "in place, without a lock); try again once it is done.")

    def names_now(self, digest: Digest) -> bool:
        """Whether ``index.json`` as it is on disk now (read again, not the one read
        before) names ``digest``; True where that cannot be told (an archive, which is
        read once; an index.json that cannot be read now)."""
        if self.transport != "oci":
            return True
        try:
            data = gojson.loads(self._read_small(INDEX_FILE, MAX_INDEX_FILE_SIZE))
            entries = data["manifests"]
            return any(isinstance(e, dict) and e.get("digest") == str(digest)
                       for e in entries)
        except (SpyglassError, OSError, ValueError, KeyError, TypeError):
            return True

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
            subject = self.attached_to(descriptor)
            attached = is_attached_entry(descriptor, _answer(subject is not None))
            yield ImageEntry(
                label=descriptor.annotations.get(IMAGE_NAME_ANNOTATION) or ref
                or f"@{descriptor.digest.algorithm}:{descriptor.digest.short}",
                descriptor=descriptor,
                name=self.name_for(ref) if usable else self.name_for(None, position),
                attached=attached,
                attached_to=subject if attached else None,
            )

    def is_attached(self, descriptor: Descriptor) -> bool:
        """Whether an ``index.json`` entry holds something attached to an image rather
        than an image (:func:`~spyglass.core.referrers.is_attached_entry`; an unnamed
        entry's manifest is read for its subject; one that cannot be read is an image,
        which says what is wrong when opened)."""
        return is_attached_entry(descriptor, self._has_subject)

    def attached_to(self, descriptor: Descriptor) -> Digest | None:
        """What an ``index.json`` entry is attached to, where it tells: the image its
        cosign tag (``sha256-<hex>.sig``) names, the image of a ``cosign save`` layout for
        the signatures kept beside it, an unnamed referrer's ``subject``; else None."""
        if cosign_saved_suffix(descriptor.annotations) is not None:
            saved = self.cosign_saved_image()
            return saved.digest if saved is not None else None
        if descriptor.ref_name is not None:
            return attachment_tag_subject(descriptor.ref_name)
        try:
            return manifest_subject(self.read_manifest(descriptor.digest, descriptor.size))
        except (SpyglassError, OSError):
            return None

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
            # only what names one image: a ref several share (a Docker 25+ save names
            # each "latest") is refused when given, their containerd names are not
            by_ref, by_name = _digests_named(manifests)
            single: set[str] = set()
            own: set[str] = set()
            shared: list[str] = []
            unnamed: list[str] = []
            for n, d in enumerate(manifests):
                if not any(d is image for image in images):
                    continue
                if d.ref_name and len(by_ref[d.ref_name]) == 1:
                    single.add(d.ref_name)
                elif (name := _own_name(d, by_ref, by_name)) is not None:
                    own.add(name)
                else:
                    (shared if d.ref_name else unnamed).append(f"@{n}")
            known = ([f"refs: {some_names(sorted(single))}"] if single else []) + (
                [f"names: {some_names(sorted(own))}"] if own else []) + (
                [f"by position: {some_names(shared)}"] if shared else []) + (
                [f"without a name: {some_names(unnamed)}"] if (single or own or shared)
                and unnamed else [])
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
                + (f"it has: {some_names(refs)}" if refs else "it has no named images")
                + (f" (or by name: {some_names(names)})." if names else ".")
            )
        if len(matches) > 1 and len({d.digest for d in matches}) > 1:
            by_ref, by_name = _digests_named(manifests)
            # one way to each image (an image listed twice under the ref is one of them)
            firsts = [d for n, d in enumerate(matches)
                      if all(d.digest != e.digest for e in matches[:n])]
            named = [(_own_name(d, by_ref, by_name), n) for n, d in enumerate(manifests)
                     if any(d is first for first in firsts)]
            ways = [self.name_for(name) if name is not None else self.name_for(None, n)
                    for name, n in named]
            with_names = sum(name is not None for name, _n in named)
            how = ("its position" if not with_names else "its own name"
                   if with_names == len(named)
                   else "its own name or position")
            raise ImageNotFound(
                f'{self.what} has {len(firsts)} different images with the ref "{ref}"; '
                f"name one by {how}: {some_names(ways)}."
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
        try:
            return read_small_blob(
                self.tree,
                blob_path(digest),
                digest,
                size,
                what=f"The manifest {digest} in {self.what[4:]}",
                cancel=cancel,
            )
        except BlobNotFound as exc:
            raise self._missing(exc) from exc.__cause__

    def open_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> VerifyingReader:
        try:
            return open_verified(
                self.tree, blob_path(descriptor.digest), descriptor.digest, descriptor.size,
                cancel=cancel,
            )
        except BlobNotFound as exc:
            raise self._missing(exc) from exc.__cause__

    def _missing(self, exc: BlobNotFound) -> BlobNotFound:
        """``exc``, a blob found missing, with a hint when the layout folder holds none of
        the blobs its ``index.json`` names: ``skopeo copy --dest-shared-blob-dir`` writes
        a layout so (its blobs in the folder given, which Spyglass does not read)."""
        if self.transport != "oci":
            return exc
        try:
            manifests = self.index().manifests
            named = {entry.digest for entry in manifests}
            if not named or any(self.tree.exists(blob_path(digest)) for digest in named):
                return exc
        except (SpyglassError, OSError):
            return exc
        refs = sorted({entry.ref_name for entry in manifests if entry.ref_name})
        ref, each = (refs[0], "") if len(refs) == 1 else ("REF", (
            f", for each of its refs ({', '.join(refs)})" if refs else ""))
        return BlobNotFound(
            f"{exc} {self.what} holds none of the blobs its index.json names: was it "
            "written with skopeo's --dest-shared-blob-dir? Spyglass does not read shared "
            "blob folders; copy the image into a layout of its own first: skopeo copy "
            f"--src-shared-blob-dir DIR oci:{self.path}:{ref} oci:NEWPATH:{ref}{each}.")

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

    @property
    def named_digest(self) -> Digest:
        """Implement NamedDigest: the digest of the layout's entry."""
        return self._top.digest

    def get_manifest(
        self, digest: str | None = None, *, cancel: CancelToken | None = None
    ) -> tuple[bytes, str | None]:
        check(cancel)
        if digest is None:
            try:
                raw = self._reader.read_manifest(self._top.digest, self._top.size,
                                                 cancel=cancel)
            except BlobNotFound as exc:
                self._check_still_held(exc, self._top.digest)
                raise
            return raw, self._top.media_type or None
        try:
            wanted = Digest.parse(digest)
        except InvalidDigest as exc:
            raise NotFound(str(exc)) from exc
        try:
            return self._reader.read_manifest(wanted, None, cancel=cancel), None
        except BlobNotFound as exc:
            self._check_still_held(exc, wanted)
            raise

    def open_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> VerifyingReader:
        try:
            return self._reader.open_blob(descriptor, cancel=cancel)
        except BlobNotFound as exc:
            self._check_still_held(exc, descriptor.digest)
            raise

    def _check_still_held(self, missing: BlobNotFound, digest: Digest) -> None:
        """For the blob ``digest`` found missing: :class:`ImageRemoved` when the layout no
        longer holds this image at all (another program removed it since the layout was
        read, and collected its blobs), rather than a blob missing from an image there."""
        if self._reader.names_now(self._top.digest):
            return
        ref = self._top.ref_name
        image = f'the image "{ref}"' if ref else f"the image {self._top.digest}"
        raise ImageRemoved(
            f"{self._reader.what} no longer holds {image}: another program removed it "
            f"since the layout was read, and its blob {digest} with it.") from missing

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


def check_directory(path: Path, kind: str, *, listed: bool = True) -> None:
    """Refuse a path that does not exist, is not a folder or cannot be read, with a sentence.

    Without ``listed`` a folder need only be searched (its files opened by name, as
    skopeo opens them; a shared tree may have folders that cannot be listed)."""
    try:
        if not path.exists():
            if path.is_symlink():
                resolved(path)  # a loop of links says so
                raise InvalidLayout(f'"{path}" is a link to "{os.readlink(path)}", which does '
                                    f"not exist; expected {kind} folder.")
            raise InvalidLayout(f'The path "{path}" does not exist; expected {kind} folder.')
        if not path.is_dir():
            raise InvalidLayout(f'"{path}" is not a folder; expected {kind} folder.')
        if listed:
            os.listdir(path)
        elif not os.access(path, os.X_OK, effective_ids=os.access in os.supports_effective_ids):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    except PermissionError as exc:
        raise TransportError(describe_os_error(exc, path)) from exc


def open_layout(path: Path, *, listed: bool = True) -> OCILayoutLocation:
    """Open an OCI image layout folder for browsing (``listed``: it must be one that can
    be listed; without it, searched will do)."""
    check_directory(path, "an OCI image layout", listed=listed)
    return OCILayoutLocation(OCILayoutReader(DirTree(path), transport="oci", path=path))


def check_layout_file(path: Path) -> None:
    """Refuse the layout folder ``path`` when a reader would refuse its ``oci-layout`` file
    (not JSON with an ``"imageLayoutVersion"``, a version other than 1.x), with the
    reader's sentence: a writer checks it before it writes anything there, so that it
    never adds an image to a layout that Spyglass then cannot read."""
    OCILayoutReader(DirTree(path), transport="oci", path=path)


def open_layout_image(path: Path, ref: str | None, index: int | None = None) -> ImageSource:
    """Open ``oci:PATH[:REF|:@N]``: a layout folder that can be searched but not listed
    will do, as for skopeo (the files an image is read from are opened by name)."""
    location = open_layout(path, listed=False)
    top = location.reader.find(ref, index)
    return LayoutImageSource(location.reader, top, location.reader.name_for(ref, index))


def _digests_named(manifests: Sequence[Descriptor]
                   ) -> tuple[dict[str, set[Digest]], dict[str, set[Digest]]]:
    """The digests each ref name names, and each containerd name
    (``io.containerd.image.name``)."""
    by_ref: dict[str, set[Digest]] = {}
    by_name: dict[str, set[Digest]] = {}
    for d in manifests:
        if d.ref_name:
            by_ref.setdefault(d.ref_name, set()).add(d.digest)
        if (name := d.annotations.get(IMAGE_NAME_ANNOTATION)) is not None:
            by_name.setdefault(name, set()).add(d.digest)
    return by_ref, by_name


def _own_name(descriptor: Descriptor, by_ref: dict[str, set[Digest]],
              by_name: dict[str, set[Digest]]) -> str | None:
    """The containerd name of an entry where it opens exactly that image (no ref is the
    same text, no other image has that name); else None."""
    name = descriptor.annotations.get(IMAGE_NAME_ANNOTATION)
    if name is None or name in by_ref or by_name[name] != {descriptor.digest}:
        return None
    return name
