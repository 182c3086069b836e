"""Image tarballs, write side: ``docker-archive:`` and ``oci-archive:`` destinations.

An archive is written to a temporary file next to its final name and renamed
into place only when it is complete, so a failed or cancelled copy leaves
nothing at that name and a retry can run (one named ``/dev/stdout`` or another
stream is put together in the temporary folder and then streamed out).
Written archives are always plain tars, whatever the file is called; their
members have mtime 0 and owner 0:0, so equal images give equal tars. A
``docker-archive:`` gets what ``docker save`` and containers/image write:
``manifest.json``, the config file, one layer file per diff ID and the legacy
``repositories`` and per-layer ``json``.
"""


from __future__ import annotations

import errno
import functools
import io
import json
import lzma
import os
import stat
import tarfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any, Final

from spyglass.core import compression, gojson, media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import CHUNK_SIZE, Digest, Readable
from spyglass.core.errors import (
    BlobNotFound,
    DamagedArchive,
    DigestMismatch,
    InvalidLayout,
    InvalidManifest,
    InvalidReference,
    TemporarySpaceFailed,
    TooLarge,
    TransportError,
    UnsafeArchive,
    Unsupported,
    clause,
)
from spyglass.core.filemodes import FILE_MODE, new_file_mode
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    REF_NAME_ANNOTATION,
    Descriptor,
    ImageManifest,
    parse_manifest,
)
from spyglass.core.reference import DockerReference, parse_docker_reference
from spyglass.core.transports.archive import DOCKER_ARCHIVE, OCI_ARCHIVE, go_field
from spyglass.core.transports.archive_room import Relocation, make_room
from spyglass.core.transports.base import ProgressCallback
from spyglass.core.transports.blob_write import KnownBlobs, put_blob_file
from spyglass.core.transports.decompressed import big_files_folder
from spyglass.core.transports.file_write import (
    check_replaceable,
    describe_write_error,
    fsync_dir,
    out_of_inodes,
)
from spyglass.core.transports.files import describe_os_error, resolved
from spyglass.core.transports.layout_files import (
    INDEX_FILE,
    LAYOUT_FILE,
)
from spyglass.core.transports.layout_write import OCILayoutDestination
from spyglass.core.transports.tartree import TarTree
from spyglass.core.transports.temporaries import TempFiles, TempFolder
from spyglass.core.units import human_size

_ARCHIVE_FILE_NAME: Final = "archive.tar"
_STREAMED_PREFIXES: Final = ("/dev/", "/proc/")
_LEGACY_TOP_ATTRIBUTES: Final = (
    "architecture",
    "config",
    "container",
    "container_config",
    "created",
    "docker_version",
    "os",
)
"""The config fields containers/image copies into the legacy ``json`` of an archive's top layer."""

# Outside strings JSON has none of these characters, so replacing them everywhere is safe.


class _CancellableReader:
    """A file read by tarfile in chunks, with the cancel token checked before each."""

    def __init__(self, stream: IO[bytes], cancel: CancelToken | None) -> None:
        self._stream = stream
        self._cancel = cancel

    def read(self, size: int = -1, /) -> bytes:
        check(self._cancel)
        return self._stream.read(size)


class _TarWriter:
    """Adds members with fixed metadata (mtime 0, owner 0:0), so equal images give equal tars."""

    def __init__(self, tar: tarfile.TarFile, cancel: CancelToken | None, file_mode: int,
                 where: Callable[[Path], Path] = lambda path: path) -> None:
        self._tar = tar
        self._cancel = cancel
        self._file_mode = file_mode
        self._where = where

    def _info(self, name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode
        info.mtime = 0
        info.uid = info.gid = 0
        return info

    def folder(self, name: str) -> None:
        self._tar.addfile(self._info(name.rstrip("/") + "/", tarfile.DIRTYPE, 0o755))

    def data(self, name: str, data: bytes) -> None:
        check(self._cancel)
        info = self._info(name, tarfile.REGTYPE, self._file_mode)
        info.size = len(data)
        self._tar.addfile(info, io.BytesIO(data))

    def file(self, name: str, path: Path, *, consume: bool = False) -> None:
        """Add the file at ``path`` (or where it was moved to make room); with ``consume``,
        remove it once it is in the tar, so staging and tar together need little more space
        than the archive alone."""
        check(self._cancel)
        path = self._where(path)
        with path.open("rb") as stream:
            info = self._info(name, tarfile.REGTYPE, self._file_mode)
            info.size = os.fstat(stream.fileno()).st_size
            self._tar.addfile(info, _CancellableReader(stream, self._cancel))
        if consume:
            path.unlink()

    def symlink(self, name: str, target: str) -> None:
        info = self._info(name, tarfile.SYMTYPE, 0)  # Go's FileInfoHeader gives links mode 0
        info.linkname = target
        self._tar.addfile(info)


def _images_held(path: Path) -> list[str] | None:
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
        with tarfile.open(path) as tar:
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
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError):
        return None


def _images_named(
    small: Callable[..., dict[str, bytes]], has: Callable[[str], bool]
) -> list[str] | None:
    """The images an archive holds (see :func:`_images_held`), from ``small(*names)`` (its
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
    """:func:`_images_held` for an archive tarfile cannot read, through a :class:`TarTree`
    (which decompresses it once, and removes that copy when closed)."""
    try:
        tree = TarTree(path)
    except (InvalidLayout, DamagedArchive, UnsafeArchive):
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


def check_archive_destination(path: Path, transport: str, *, look_inside: bool = True
                              ) -> None:
    """Raise the refusal a copy to the archive ``path`` would meet (a folder there, a
    file that is no image archive, an archive of several images, no folder to hold it),
    writing nothing: what a copy would replace is asked about only when it may be.
    Without ``look_inside`` what the file there holds is not read (a compressed one
    would be decompressed whole for it); the copy still checks it."""
    _ArchiveOutput(path, transport, stage=False, look_inside=look_inside)


def article(word: str) -> str:
    """``a`` or ``an`` before ``word`` as it is read aloud (``an oci-archive``)."""
    return "an" if word[:1].lower() in "aeio" else "a"


PIPED_PREFIX: Final = "spyglass-piped-archive-"
"""The staging folder of an archive written to a pipe, in the big-files folder."""


BIG_FILES: Final = "$TMPDIR or --tmpdir, else /var/tmp"
"""Where the folder for big temporary files comes from, as sentences say it."""

CHOOSE_TMPDIR: Final = "choose another folder for them (TMPDIR, or --tmpdir on the command line)"


class _ArchiveOutput:
    """Where an archive destination stages its content, and where the tar goes at commit.

    A regular file (existing or not) is written as a temporary file in the
    staging folder — a hidden sibling of the target, ``.NAME.spyglass-tmp-*``,
    on the same filesystem — and renamed over the target only when the tar
    is complete, so a failed copy leaves nothing at the final name and an
    older archive there stays intact. A staging folder a killed copy left is
    removed by the next copy to the same name. A symbolic link to a file is followed
    (the link stays). Anything under ``/dev/`` or ``/proc/`` (``/dev/stdout``)
    and any existing non-regular file (a FIFO) is written straight through at
    commit; its staging folder (``spyglass-piped-archive-*``, visible, named for what it
    is) is in the folder for big temporary files: ``$TMPDIR``, else ``/var/tmp``.
    """

    def __init__(self, path: Path, transport: str, *, stage: bool = True,
                 look_inside: bool = True) -> None:
        self.path = path
        target = Path(os.path.abspath(path))
        self.streamed = str(target).startswith(_STREAMED_PREFIXES)
        self.append = False
        self.mode = new_file_mode()  # a new archive; one replaced keeps its mode
        self.replaces_image = False
        """Whether an image archive is there already (it is replaced at commit)."""
        self._relocation = Relocation()
        try:
            if target.exists():
                st = os.stat(target)  # the kernel follows /proc's links to pipes too
                if stat.S_ISDIR(st.st_mode):
                    folder_kind = "oci" if transport == OCI_ARCHIVE else "dir"
                    raise InvalidLayout(
                        f'"{path}" is a folder; {article(transport)} {transport} image is a '
                        "file. Name a file, or "
                        f"write the folder as {folder_kind}:{path}."
                    )
                if self.streamed:
                    self.append = stat.S_ISREG(st.st_mode)  # stdout redirected to a file
                elif stat.S_ISREG(st.st_mode):
                    target = resolved(target)
                    self.mode = stat.S_IMODE(st.st_mode)
                    check_replaceable(target, st, path)  # before reading what it holds
                    held = _images_held(target) if st.st_size and look_inside else []
                    if held is None:
                        raise InvalidLayout(
                            f'"{path}" exists and is not an image archive; Spyglass replaces '
                            f"only an image archive with {article(transport)} {transport} "
                            "image. Name a new file, or remove that one first."
                        )
                    if len(held) > 1:
                        shown = ", ".join(held[:4]) + (", …" if len(held) > 4 else "")
                        raise InvalidLayout(
                            f'"{path}" already holds {len(held)} images ({shown}); Spyglass '
                            "writes an archive whole, so this copy would lose them. Name a "
                            "new file, or remove that one first."
                        )
                    self.replaces_image = bool(st.st_size)
                else:
                    self.streamed = True
            elif target.is_symlink():
                target = resolved(target)
            # one written to a pipe is made whole first where big temporary files go
            # ($TMPDIR, else /var/tmp: not /tmp, which is often memory)
            parent = big_files_folder() if self.streamed else target.parent
            if self.streamed and not parent.is_dir():
                what = "is not a folder" if parent.exists() else "does not exist"
                raise InvalidLayout(
                    f'The folder for big temporary files, "{parent}" ({BIG_FILES}), where an '
                    f'archive written to "{path}" is made first, {what}; create it, or '
                    f"{CHOOSE_TMPDIR} that does."
                )
            if not parent.is_dir():
                for ancestor in [parent, *parent.parents]:
                    if ancestor.exists() and not ancestor.is_dir():
                        raise InvalidLayout(
                            f'Cannot write "{path}": "{ancestor}" is a file, not a folder.')
                raise InvalidLayout(
                    f'The folder "{parent}" that should hold {path} does not exist; create it '
                    "first."
                )
            self._parent = parent
            if stage:
                # beside the target, hidden; in the big-files folder, visible and named
                # for what it is (as a decompressed archive's is there)
                with self.staged():
                    self._folder = TempFolder(parent, target.name or "archive",
                                              prefix=PIPED_PREFIX if self.streamed else None)
                self.staging = self._folder.path
        except OSError as exc:
            raise TransportError(describe_write_error(exc, path)) from exc
        self.target = target

    @contextmanager
    def staged(self) -> Iterator[None]:
        """Where an archive for a pipe is made first (the big-files folder) is what a
        failure to write there is said of: not the pipe, not a folder of the copy's own."""
        try:
            yield
        except (OSError, TransportError) as exc:
            cause = exc if isinstance(exc, OSError) else exc.__cause__
            if not self.streamed or not isinstance(cause, OSError) or cause.errno not in (
                    errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            where = (f'the folder for big temporary files "{self._parent}" ({BIG_FILES}), '
                     f'where an archive written to "{self.path}" is made first')
            reason = cause.strerror or str(cause)
            if cause.errno == errno.ENOSPC and out_of_inodes(self._parent):
                said = (f"There are no file entries (inodes) left in {where}; {CHOOSE_TMPDIR} "
                        "on a filesystem with more.")
            elif cause.errno in (errno.ENOSPC, errno.EDQUOT):
                said = (f"There is no room in {where} ({reason}); free some space there, or "
                        f"{CHOOSE_TMPDIR} with more room.")
            else:
                said = (f"Spyglass cannot write in {where} ({reason}); {CHOOSE_TMPDIR} it "
                        "can write to.")
            raise TemporarySpaceFailed(said) from cause

    def write(
        self,
        fill: Callable[[_TarWriter], None],
        *,
        file_mode: int,
        cancel: CancelToken | None,
        blobs: Sequence[Path] = (),
    ) -> None:
        """Write the tar that ``fill`` describes to the target; raise TransportError on
        failure. ``blobs`` are the staged files ``fill`` consumes: those the target's
        filesystem has no room for twice are moved first (see :mod:`.archive_room`)."""
        if self.streamed:
            flags = os.O_WRONLY | os.O_CLOEXEC | (os.O_APPEND if self.append else 0)
            try:
                fd = os.open(self.target, flags)
                with os.fdopen(fd, "wb", buffering=CHUNK_SIZE) as out:
                    self._tar(out, fill, file_mode, cancel, lambda path: path)
            except OSError as exc:
                raise TransportError(describe_write_error(exc, self.path)) from exc
            return
        temp = self.staging / _ARCHIVE_FILE_NAME
        staged = self._staged_sizes()  # (before the tar takes them in, one by one)
        try:
            self._relocation = make_room(blobs, self.target, name=self.target.name,
                                         cancel=cancel)
            with temp.open("wb", buffering=CHUNK_SIZE) as out:
                self._tar(out, fill, file_mode, cancel, self._relocation.where)
                out.flush()
                os.fsync(out.fileno())
                os.fchmod(out.fileno(), self.mode)
            check(cancel)
            os.rename(temp, self.target)
        except OSError as exc:
            said = describe_write_error(exc, self.path)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT) and staged and "inodes" not in said:
                said = self._room_needed(said, staged)
            raise TransportError(said) from exc
        fsync_dir(self.target.parent)

    def _room_needed(self, said: str, staged: list[int]) -> str:
        """``said`` (a write that found no room), with why an archive that would fit did
        not: it is put together beside its final name from the blobs staged there, each
        removed once it is in, and those with no room to be there twice are moved to the
        big-files folder only where that is another filesystem with room for them."""
        whole = (f"{said[:-1]}; an archive is put together beside its final name, so it "
                 f"needs room there for all of it (about {human_size(sum(staged))})")
        if self.replaces_image:
            whole += ", besides the archive it replaces, kept until the new one is whole"
        unmoved = self._relocation.unmoved
        if unmoved is None:
            return whole + "."
        where = f'the folder for big temporary files, "{big_files_folder()}" ({BIG_FILES}),'
        why = ("is on the same filesystem" if unmoved == "same"
               else "has no room for them either")
        return (f"{whole}, and for its largest blob once more ({human_size(max(staged))}): "
                f"blobs go there while the archive is put together only when {where} is on "
                f"another filesystem with room for them, and that one {why}.")

    def _staged_sizes(self) -> list[int]:
        """The sizes of the files staged for the archive (none where they cannot be read)."""
        try:
            return [entry.stat().st_size for entry in self.staging.rglob("*")
                    if entry.is_file()]
        except OSError:
            return []

    @staticmethod
    def _tar(
        out: IO[bytes],
        fill: Callable[[_TarWriter], None],
        file_mode: int,
        cancel: CancelToken | None,
        where: Callable[[Path], Path],
    ) -> None:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            fill(_TarWriter(tar, cancel, file_mode, where))

    def cleanup(self) -> None:
        self._relocation.remove()
        self._folder.remove()


class _ArchiveDestination:
    """What both archive destinations say of themselves: their name, and the archive
    already at their path that a copy replaces whole."""

    path: Path
    _name: str
    _output: _ArchiveOutput

    @property
    def description(self) -> str:
        return self._name

    @property
    def replaces(self) -> str | None:
        """The archive already at the path, replaced whole (ReplacingDestination)."""
        if not self._output.replaces_image:
            return None
        return f'the archive "{self.path}" already there, with what it holds,'


class OCIArchiveDestination(_ArchiveDestination):
    """An :class:`~spyglass.core.transports.base.ImageDestination` for ``oci-archive:PATH[:REF]``.

    The content is an OCI layout built by an
    :class:`~spyglass.core.transports.layout_write.OCILayoutDestination` in a
    private staging folder next to ``PATH``; :meth:`commit` writes the layout
    as a tar (``blobs/…``, ``index.json``, ``oci-layout``; mtime 0, owner 0:0)
    and renames it into place when it is complete (see :class:`_ArchiveOutput`
    for ``/dev/stdout`` and other non-regular targets). Like skopeo, the
    archive holds this one image: an existing file at ``PATH`` is replaced,
    not added to. :meth:`abort` removes the staging folder; nothing appears
    at ``PATH``.
    """

    def __init__(self, path: Path, ref: str | None = None) -> None:
        self.path = path
        self._name = f"{OCI_ARCHIVE}:{path}" + (f":{ref}" if ref else "")
        self._output = _ArchiveOutput(path, OCI_ARCHIVE)
        try:
            self._layout = OCILayoutDestination(
                self._output.staging / "layout",
                ref,
                transport=OCI_ARCHIVE,
                name_path=path,
                private=True,
            )
        except BaseException:
            self._output.cleanup()
            raise
        self._state = "open"

    @property
    def supported_manifest_types(self) -> tuple[str, ...]:
        return self._layout.supported_manifest_types

    @property
    def accepts_lists(self) -> bool:
        return True

    @property
    def desired_layer_compression(self) -> str | None:
        return self._layout.desired_layer_compression

    def reuse_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None,
        sending: bool = True,
    ) -> str | None:
        return self._layout.reuse_blob(descriptor, cancel=cancel)

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
        with self._output.staged():
            return self._layout.put_blob(
                stream, media_type=media_type, digest=digest, size=size, cancel=cancel,
                progress=progress,
            )

    def put_manifest(
        self, raw: bytes, media_type: str, digest: Digest, *, cancel: CancelToken | None = None
    ) -> None:
        self._layout.put_manifest(raw, media_type, digest, cancel=cancel)

    @property
    def attachment_support(self) -> frozenset[str]:
        """Override AttachmentDestination.attachment_support: as the layout inside."""
        return self._layout.attachment_support

    @property
    def attachments_withheld(self) -> str | None:
        """As the layout inside (see OCILayoutDestination.attachments_withheld)."""
        return self._layout.attachments_withheld

    def put_attachment(
        self,
        subject: Digest,
        descriptor: Descriptor,
        raw: bytes,
        *,
        tag: str | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        self._layout.put_attachment(subject, descriptor, raw, tag=tag, cancel=cancel)

    def put_stored_signatures(
        self, subject: Digest, signatures: list[bytes], *, cancel: CancelToken | None = None
    ) -> None:
        self._layout.put_stored_signatures(subject, signatures, cancel=cancel)

    def commit(self, top: Descriptor, raw: bytes, *, cancel: CancelToken | None = None) -> None:
        if self._state != "open":
            raise TransportError(
                f"The destination {self._name} was already {self._state}; open it again to "
                "write another image."
            )
        with self._output.staged():
            self._layout.commit(top, raw, cancel=cancel)
        blobs = self._layout.path / "blobs"
        try:
            held = {algorithm: sorted(os.listdir(blobs / algorithm))
                    for algorithm in sorted(os.listdir(blobs))}
        except OSError as exc:
            raise TransportError(describe_os_error(exc, blobs)) from exc
        self._output.write(
            lambda tar: self._fill(tar, held), file_mode=FILE_MODE, cancel=cancel,
            blobs=[blobs / algorithm / name for algorithm, names in held.items()
                   for name in names],
        )
        self._state = "committed"
        self._output.cleanup()

    def _fill(self, tar: _TarWriter, held: Mapping[str, list[str]]) -> None:
        root = self._layout.path
        blobs = root / "blobs"
        tar.folder("blobs")
        for algorithm, names in held.items():
            folder = blobs / algorithm
            tar.folder(f"blobs/{algorithm}")
            for name in names:
                tar.file(f"blobs/{algorithm}/{name}", folder / name, consume=True)
        tar.file(INDEX_FILE, root / INDEX_FILE)
        tar.file(LAYOUT_FILE, root / LAYOUT_FILE)

    def abort(self) -> None:
        if self._state == "committed":
            return
        self._layout.abort()
        self._output.cleanup()
        self._state = "aborted"

    def close(self) -> None:
        if self._state == "open":
            self.abort()


class DockerArchiveDestination(_ArchiveDestination):
    """An :class:`~spyglass.core.transports.base.ImageDestination` for ``docker-archive:``.

    ``docker-archive:PATH[:NAME:TAG]`` is written in the ``docker save`` format
    as skopeo writes it (containers/image ``docker/internal/tarfile/writer.go``)::

        <hex>.tar                  each layer, uncompressed, named by its digest
        <hex>.json                 the config
        <id>/layer.tar, VERSION, json
                                   legacy per-layer metadata (``layer.tar`` links to
                                   ``../<hex>.tar``; ``<id>`` is the layer's chain ID)
        manifest.json              [{"Config", "RepoTags", "Layers"}]
        repositories               {NAME: {TAG: <top layer id>}}, or {} without a name

    ``RepoTags`` holds the fully qualified ``NAME:TAG``
    (``docker.io/library/busybox:latest``), empty without a name. Members have
    mode 0444, mtime 0 and owner 0:0.

    One single-platform Docker schema 2 image: no lists, no OCI manifests (the
    copy engine converts), and layers are wanted uncompressed
    (:attr:`desired_layer_compression` is ``"none"``) — what :meth:`put_blob`
    is given is stored as it is; decompressing is the engine's job. Blobs
    are staged in a folder next to ``PATH``; :meth:`commit` builds the tar
    from the top manifest and renames it into place when complete. Unlike
    skopeo, which refuses to write over a non-empty archive, an existing file
    is replaced (at commit, atomically) — the archive then holds only this
    image.
    """

    def __init__(
        self,
        path: Path,
        reference: DockerReference | None = None,
        additional_tags: tuple[DockerReference, ...] = (),
    ) -> None:
        self.path = path
        self.reference = reference
        self.additional_tags = additional_tags
        self._name = f"{DOCKER_ARCHIVE}:{path}" + (f":{reference}" if reference else "")
        self._output = _ArchiveOutput(path, DOCKER_ARCHIVE)
        self._blobs = self._output.staging / "blobs"
        try:
            self._blobs.mkdir()
        except OSError as exc:
            self._output.cleanup()
            raise TransportError(describe_write_error(exc, self._blobs)) from exc
        self._temps = TempFiles(self._output.staging)
        self._known = KnownBlobs()
        self._state = "open"

    @property
    def supported_manifest_types(self) -> tuple[str, ...]:
        return (media.DOCKER_V2S2,)

    @property
    def accepts_lists(self) -> bool:
        return False

    def keep_names_of(self, source: object) -> None:
        """Copied onto itself without a name, the image keeps the names it has in this
        archive (written without one, the archive would lose them; skopeo refuses such
        a copy). Anything else is left as it was named."""
        item = getattr(source, "item", None)
        named = getattr(source, "path", None)
        if self.reference is not None or item is None or named is None \
                or os.path.realpath(named) != os.path.realpath(self.path):
            return
        tags = [parse_docker_reference(tag, default_tag=False)
                for tag in getattr(item, "repo_tags", ())]
        if tags:
            self.reference = tags[0]
            self.additional_tags = (*tags[1:], *self.additional_tags)
            self._name = f"{DOCKER_ARCHIVE}:{self.path}:{self.reference}"

    @property
    def desired_layer_compression(self) -> str | None:
        return compression.NONE

    def _check_open(self) -> None:
        if self._state != "open":
            raise TransportError(
                f"The destination {self._name} was already {self._state}; open it again to "
                "write another image."
            )

    def _blob_path(self, digest: Digest) -> Path:
        return self._blobs / f"{digest.algorithm}-{digest.hex}"

    def reuse_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None,
        sending: bool = True,
    ) -> str | None:
        self._check_open()
        known = self._known.size(descriptor.digest)
        return "exists" if known is not None and known == descriptor.size else None

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
        self._check_open()
        with self._output.staged():
            return put_blob_file(
                stream, temps=self._temps, target=self._blob_path, known=self._known,
                name=self._name, media_type=media_type, digest=digest, size=size,
                cancel=cancel, progress=progress,
            )

    def _refuse_type(self, media_type: str) -> None:
        if media.is_index(media_type):
            raise Unsupported(
                f"{self._name} holds single images, not a {media.friendly(media_type)}; "
                "choose one platform to copy."
            )
        if media_type != media.DOCKER_V2S2:
            raise Unsupported(
                f"{self._name} stores Docker schema 2 manifests only, not a "
                f"{media.friendly(media_type)} ({media_type}); the copy has to convert it first."
            )

    def put_manifest(
        self, raw: bytes, media_type: str, digest: Digest, *, cancel: CancelToken | None = None
    ) -> None:
        self._check_open()
        check(cancel)
        self._refuse_type(media_type)
        self._verify(raw, digest)

    def _verify(self, raw: bytes, digest: Digest) -> None:
        actual = Digest.of(raw, digest.algorithm)
        if actual != digest:
            raise DigestMismatch(
                f"The manifest for {self._name} does not match its digest: expected {digest}, "
                f"got {actual}."
            )

    def commit(self, top: Descriptor, raw: bytes, *, cancel: CancelToken | None = None) -> None:
        self._check_open()
        check(cancel)
        self._verify(raw, top.digest)
        try:
            manifest = parse_manifest(raw, top.media_type or None)
        except InvalidManifest as exc:
            raise InvalidManifest(
                f"The manifest for {self._name} is not usable: {clause(exc)}"
            ) from exc
        self._refuse_type(manifest.media_type)
        assert isinstance(manifest, ImageManifest)
        for descriptor in (manifest.config, *manifest.layers):
            if descriptor.digest not in self._known:
                raise BlobNotFound(
                    f"The blob {descriptor.digest} that the manifest of {self._name} names was "
                    "never stored; the copy is incomplete and nothing was written."
                )
        config = self._read_config(manifest.config)
        self._output.write(
            lambda tar: self._fill(tar, manifest, config), file_mode=0o444, cancel=cancel,
            blobs=list(dict.fromkeys(self._blob_path(descriptor.digest)
                                     for descriptor in (*manifest.layers, manifest.config))),
        )
        self._state = "committed"
        self._output.cleanup()

    def _read_config(self, descriptor: Descriptor) -> bytes:
        path = self._blob_path(descriptor.digest)
        try:
            if path.stat().st_size > MAX_MANIFEST_SIZE:
                raise TooLarge(
                    f"The config {descriptor.digest} for {self._name} is more than the 4 MiB "
                    "accepted for configs."
                )
            return path.read_bytes()
        except OSError as exc:
            raise TransportError(describe_os_error(exc, path)) from exc

    def _fill(self, tar: _TarWriter, manifest: ImageManifest, config: bytes) -> None:
        layer_names: list[str] = []
        for layer in manifest.layers:
            name = f"{layer.digest.hex}.tar"
            if name not in layer_names:
                tar.file(name, self._blob_path(layer.digest), consume=True)
            layer_names.append(name)
        config_name = f"{manifest.config.digest.hex}.json"
        tar.file(config_name, self._blob_path(manifest.config.digest), consume=True)
        top_id = self._legacy_layers(tar, manifest.layers, config)
        repo_tags: list[str] = []
        repositories: dict[str, dict[str, str]] = {}
        named = (self.reference,) if self.reference is not None else ()
        for reference in (*named, *self.additional_tags):  # as containers/image: deduplicated
            if reference.tag is None or f"{reference.name}:{reference.tag}" in repo_tags:
                continue
            repo_tags.append(f"{reference.name}:{reference.tag}")
            if top_id is not None:
                repositories.setdefault(reference.name, {})[reference.tag] = top_id
        item = {"Config": config_name, "RepoTags": repo_tags, "Layers": layer_names}
        tar.data("manifest.json", _go_json([item]))  # a list: the keys keep struct order
        tar.data("repositories", _go_json(repositories))

    @staticmethod
    def _legacy_layers(
        tar: _TarWriter, layers: Sequence[Descriptor], config: bytes
    ) -> str | None:
        """Write the per-layer legacy folders; return the top layer's ID (None without layers).

        As containers/image's ``writeLegacyMetadataLocked``: each layer's ``json``
        names its parent, the top one also carries seven fields of the config;
        its ID is the sha256 of that object with ``layer_id`` set to the layer's
        chain ID (docker/docker's ``layer.CreateChainID``), which keeps IDs
        unique when one layer appears twice.
        """
        try:
            config_data = gojson.loads(config)
        except json.JSONDecodeError:
            config_data = None
        if not isinstance(config_data, dict):
            config_data = {}
        chain: Digest | None = None
        parent: str | None = None
        written: set[str] = set()
        for position, layer in enumerate(layers):
            legacy: dict[str, object] = {}
            if parent is not None:
                legacy["parent"] = parent
            if position == len(layers) - 1:
                for attribute in _LEGACY_TOP_ATTRIBUTES:
                    legacy[attribute] = config_data.get(attribute)
            chain = layer.digest if chain is None else Digest.of(f"{chain} {layer.digest}".encode())
            layer_id = Digest.of(_go_json({**legacy, "layer_id": str(chain)})).hex
            legacy["id"] = layer_id
            if layer_id not in written:
                tar.symlink(f"{layer_id}/layer.tar", f"../{layer.digest.hex}.tar")
                tar.data(f"{layer_id}/VERSION", b"1.0")
                tar.data(f"{layer_id}/json", _go_json(legacy))
                written.add(layer_id)
            parent = layer_id
        return parent

    def abort(self) -> None:
        if self._state == "committed":
            return
        self._temps.remove_all()
        self._output.cleanup()
        self._state = "aborted"

    def close(self) -> None:
        if self._state == "open":
            self.abort()


def _go_json(data: object) -> bytes:
    """JSON as Go's ``json.Marshal`` writes it: compact, map keys sorted, ``<>&`` escaped.

    Nested objects keep their order (containers/image passes config fields
    through as raw JSON).
    """
    if isinstance(data, dict):
        data = dict(sorted(data.items()))
    return gojson.dumps(data).encode("utf-8")


def open_oci_archive_destination(
    path: Path, ref: str | None = None, index: int | None = None
) -> OCIArchiveDestination:
    """Open ``oci-archive:PATH[:REF]`` for writing."""
    if index is not None:
        raise InvalidReference(
            f'"{OCI_ARCHIVE}:{path}:@{index}" names an image by its position, which only works '
            f"for reading; write to {OCI_ARCHIVE}:{path}:REF or {OCI_ARCHIVE}:{path}."
        )
    return OCIArchiveDestination(path, ref)


def open_docker_archive_destination(
    path: Path,
    reference: DockerReference | None = None,
    index: int | None = None,
    *,
    additional_tags: Sequence[DockerReference] = (),
) -> DockerArchiveDestination:
    """Open ``docker-archive:PATH[:NAME:TAG]`` for writing; ``additional_tags`` are more
    ``NAME:TAG`` names for the image (skopeo's ``--additional-tag``)."""
    if index is not None:
        raise InvalidReference(
            f'"{DOCKER_ARCHIVE}:{path}:@{index}" names an image by its position, which only '
            f"works for reading; write to {DOCKER_ARCHIVE}:{path}:NAME:TAG or "
            f"{DOCKER_ARCHIVE}:{path}."
        )
    return DockerArchiveDestination(path, reference, tuple(additional_tags))
