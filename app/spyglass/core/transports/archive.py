"""Image tarballs, read side: ``docker-archive:`` and ``oci-archive:``.

Both are read member by member from the tar file, in place: the archive is
never extracted. :class:`TarTree` scans the tar headers once (for an
uncompressed tar that is a walk of seeks) and then serves each member by
opening the archive again and reading ``member.size`` bytes from
``member.offset_data``, so concurrent reads (two blobs on two worker threads)
never share a file position.

Compressed tarballs (``docker save | gzip``, and bzip2, xz or zstd) are read
as containers/image reads them: decompressed once, before anything else, into
a private temporary file that the tree reads in place and removes when it is
closed (:mod:`spyglass.core.transports.decompressed`). Written archives are
always plain tars, whatever the file is called.

``oci-archive:PATH[:REF]``
    a tar of an OCI image layout, read by
    :class:`~spyglass.core.transports.layout.OCILayoutReader` over a
    :class:`TarTree`.

``docker-archive:PATH[:NAME:TAG | :@N]``
    a ``docker save`` tarball: ``manifest.json`` lists the images, each with
    its ``Config`` file, ``RepoTags`` and ``Layers`` files. The image has no
    stored manifest; :class:`DockerArchiveReader` synthesizes the one
    containers/image synthesizes (``docker/internal/tarfile/src.go``,
    ``GetManifest``), byte for byte, so the digest equals what
    ``skopeo inspect docker-archive:…`` prints:

    - Docker schema 2, serialized as Go's ``encoding/json`` does: compact, keys
      in struct order (``schemaVersion, mediaType, config, layers``; in each
      descriptor ``mediaType, size, digest``);
    - the config: ``application/vnd.docker.container.image.v1+json``, the sha256
      of the config file and its length;
    - one layer per ``rootfs.diff_ids`` entry of the config, in order
      (duplicates included): digest = the diff ID, size = the length of the
      *uncompressed* layer (the tar member's size, or for a compressed layer
      file the length after decompressing it), media type
      ``application/vnd.docker.image.rootfs.diff.tar.gzip``, containers/image's
      ``DockerV2Schema2LayerMediaType``, although the blob is an uncompressed
      tar: the name is kept for the digest's sake.

    Its blobs are served accordingly: the config file's bytes, and each layer
    file decompressed when it is compressed (gzip, bzip2, xz, zstd, detected by
    content as containers/image's ``compression.AutoDecompress`` does), so that
    what is read hashes to the diff ID. The legacy ``repositories`` file and
    ``LayerSources`` are ignored, as containers/image ignores them.

Safety: member names that are absolute or contain ``..`` make the whole
archive refused (:class:`UnsafeArchive`); symbolic and hard links are followed
only while their targets stay inside the archive; paths named in a
``manifest.json`` are checked before anything they name is read.
"""

from __future__ import annotations

import fcntl
import io
import json
import lzma
import os
import stat
import tarfile
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, Final

from spyglass.core import compression, media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import CHUNK_SIZE, Digest, Readable, VerifyingReader
from spyglass.core.errors import (
    BlobNotFound,
    DamagedArchive,
    DigestMismatch,
    ImageNotFound,
    InvalidConfig,
    InvalidDigest,
    InvalidLayout,
    InvalidManifest,
    InvalidReference,
    SpyglassError,
    TemporarySpaceFailed,
    TooLarge,
    TransportError,
    UnsafeArchive,
    Unsupported,
    json_problem,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    REF_NAME_ANNOTATION,
    Descriptor,
    ImageManifest,
    parse_manifest,
)
from spyglass.core.reference import DockerReference, parse_docker_reference
from spyglass.core.transports.base import FileTree, ImageEntry, ProgressCallback
from spyglass.core.transports.decompressed import PIPED, DecompressedArchive, not_a_tar
from spyglass.core.transports.decompressed import acquire as acquire_decompressed
from spyglass.core.transports.decompressed import release as release_decompressed
from spyglass.core.transports.files import (
    FILE_MODE,
    KnownBlobs,
    TempFiles,
    TempFolder,
    describe_os_error,
    describe_write_error,
    fsync_dir,
    resolved,
    write_blob,
)
from spyglass.core.transports.layout import (
    INDEX_FILE,
    LAYOUT_FILE,
    LayoutImageSource,
    OCILayoutDestination,
    OCILayoutLocation,
    OCILayoutReader,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

DOCKER_ARCHIVE: Final = "docker-archive"
OCI_ARCHIVE: Final = "oci-archive"

MAX_LINK_HOPS: Final = 16
"""How many links in a row a member lookup follows before it calls it a loop."""

_BLOCK: Final = tarfile.BLOCKSIZE
_READ_BUFFER: Final = 256 * 1024

# --------------------------------------------------------------------------- tar access


def _member_name(name: str, archive: Path) -> str | None:
    """The normalized name of a member (no ``./``, no empty parts); None for the root entry.

    Raises :class:`UnsafeArchive` for absolute names and names with ``..``.
    """
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if name.startswith("/") or ".." in parts:
        raise UnsafeArchive(
            f'The archive "{archive}" has a member named "{name}", which leads outside the '
            "archive; refusing to read it."
        )
    return "/".join(parts) or None


def _join_inside(base: str, target: str) -> str | None:
    """``target`` resolved against the folder ``base`` ("" is the root); None when it leaves."""
    if target.startswith("/"):
        return None
    parts = base.split("/") if base else []
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


def _identity(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class _MemberReader(io.RawIOBase):
    """The bytes of one member: a window of ``size`` bytes at ``start`` of its own file object."""

    def __init__(self, file: io.FileIO, start: int, size: int, what: str) -> None:
        super().__init__()
        self._file = file
        self._start = start
        self._size = size
        self._pos = 0
        self._what = what

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        remaining = self._size - self._pos
        if remaining <= 0:
            return 0
        view = memoryview(buffer).cast("B")
        got = self._file.readinto(view[: min(len(view), remaining)])
        if not got:
            raise TransportError(
                f"{self._what} ends after {self._pos} of its {self._size} bytes: the archive "
                "is truncated or changed while it was read."
            )
        self._pos += got
        return got

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            position = offset
        elif whence == io.SEEK_CUR:
            position = self._pos + offset
        elif whence == io.SEEK_END:
            position = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._pos = position
        self._file.seek(self._start + min(position, self._size))
        return position

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


class TarTree:
    """A :class:`~spyglass.core.transports.base.FileTree` over a tar file.

    The headers are scanned once, when the tree is made; member names are
    normalized (``./blobs/x`` is ``blobs/x``) and the first member of a name
    wins, as containers/image's docker-archive reader finds it. Each
    :meth:`open` opens the archive file again and reads the member's bytes in
    place, so readers on different threads are independent; a reader fails
    with :class:`TransportError` if the file was replaced since the scan.

    A compressed tar (gzip, bzip2, xz, zstd) is first decompressed into a
    private temporary file (:class:`DecompressedArchive`), which the tree reads
    instead and removes when it is closed; ``cancel`` is checked while that
    runs. :attr:`compression` says which it was.

    Symbolic links resolve against the link's folder and hard links against
    the archive root (tar's rules); both are followed, up to
    :data:`MAX_LINK_HOPS` in a row, only while they stay inside the archive.

    Raises, when made: :class:`InvalidLayout` (no such file, not a tar, a
    truncated or damaged tar — :class:`DamagedArchive` —, compressed or not),
    :class:`UnsafeArchive` (a member named absolutely or with ``..``),
    :class:`TransportError` (the file cannot be read),
    :class:`~spyglass.core.errors.TemporarySpaceFailed` (no room to decompress
    it), :class:`~spyglass.core.errors.Cancelled`.
    """

    def __init__(
        self, path: Path, *, cancel: CancelToken | None = None, park: bool = False
    ) -> None:
        self.path = path
        self._park = park
        """Keep the decompressed copy of a compressed archive when closed, for the next
        open of the same file (see :func:`~spyglass.core.transports.decompressed.release`)."""
        self.compression: str | None = None
        """The compression undone before reading, or None for a plain tar."""
        self._members: dict[str, tarfile.TarInfo] = {}
        self._closed = False
        self._decompressed: DecompressedArchive | None = None
        self._data = path
        """The tar file read: the archive itself, or its decompressed copy."""
        self._identity = self._scan(cancel)

    # -- scanning

    def _scan(self, cancel: CancelToken | None) -> tuple[int, int, int, int]:
        try:
            file = _open_without_waiting(self.path)
        except FileNotFoundError:
            raise InvalidLayout(
                f'The path "{self.path}" does not exist; expected an image archive (a tar file).'
            ) from None
        except IsADirectoryError:
            raise InvalidLayout(
                f'"{self.path}" is a folder, not an image archive; a folder is opened as '
                f"oci:{self.path} or dir:{self.path}."
            ) from None
        except OSError as exc:
            raise TransportError(describe_os_error(exc, self.path)) from exc
        with file:
            try:
                st = os.fstat(file.fileno())
                if stat.S_ISFIFO(st.st_mode):  # docker save … | spyglass … /dev/stdin
                    return self._decompress(file, PIPED, cancel)
                if not stat.S_ISREG(st.st_mode):
                    raise InvalidLayout(
                        f'"{self.path}" is not a regular file; expected an image archive '
                        "(a tar file)."
                    )
                try:
                    tar = tarfile.open(fileobj=file, mode="r:")  # noqa: SIM115 (_read_headers closes it)
                except tarfile.TarError as exc:
                    # a plain tar is tried first: a tar whose first member is named
                    # "BZh…" is not bzip2
                    file.seek(0)
                    kind = compression.detect(file.read(compression.HEADER_SIZE))
                    if kind is None:
                        raise InvalidLayout(
                            f'"{self.path}" is not a tar archive ({exc}); expected an image '
                            "archive as docker save or skopeo copy … oci-archive: writes it."
                        ) from exc
                    file.seek(0)
                    return self._decompress(file, kind, cancel)
                self._read_headers(tar, file, st.st_size)
            except OSError as exc:
                raise TransportError(describe_os_error(exc, self.path)) from exc
        return _identity(st)

    def _decompress(
        self, file: IO[bytes], kind: str, cancel: CancelToken | None
    ) -> tuple[int, int, int, int]:
        """Decompress the archive into its temporary file and scan that; the identity of
        the temporary file, which every :meth:`open` reads."""
        decompressed = acquire_decompressed(self.path, file, kind, cancel=cancel)
        try:
            with decompressed.path.open("rb") as data:
                st = os.fstat(data.fileno())
                try:
                    tar = tarfile.open(fileobj=data, mode="r:")  # noqa: SIM115 (_read_headers closes it)
                except tarfile.TarError as exc:
                    raise not_a_tar(self.path, kind, str(exc)) from exc
                self._read_headers(tar, data, st.st_size)
        except OSError as exc:
            release_decompressed(decompressed)
            raise TransportError(describe_os_error(exc, decompressed.path)) from exc
        except BaseException:
            release_decompressed(decompressed)
            raise
        self._decompressed = decompressed
        self._data = decompressed.path
        self.compression = None if kind == PIPED else kind
        return _identity(st)

    def _read_headers(self, tar: tarfile.TarFile, file: IO[bytes], file_size: int) -> None:
        try:
            with tar:
                while (info := tar.next()) is not None:
                    name = _member_name(info.name, self.path)
                    if name is not None:
                        self._members.setdefault(name, info)
                end = tar.offset
        except tarfile.TarError as exc:
            raise DamagedArchive(
                f'The archive "{self.path}" is truncated or damaged ({exc}); it cannot be read.'
            ) from exc
        # tarfile stops quietly at a bad header after the first: demand the end-of-archive
        # zero block there, or a clean end of file as Go's archive/tar accepts.
        file.seek(end)
        block = file.read(_BLOCK)
        damaged = bool(block) and (len(block) < _BLOCK or block.count(0) != _BLOCK)
        if damaged or any(
            info.offset_data + info.size > file_size
            for info in self._members.values()
            if info.isreg()
        ):
            raise DamagedArchive(
                f'The archive "{self.path}" is truncated or damaged after {end} bytes; it '
                "cannot be read."
            )

    # -- lookups

    def names(self) -> list[str]:
        """The normalized names of all members, in archive order."""
        return list(self._members)

    def _request(self, path: str) -> str:
        parts = [part for part in path.split("/") if part not in ("", ".")]
        if path.startswith("/") or ".." in parts or "\0" in path or not parts:
            raise UnsafeArchive(
                f'"{path}" is not a path inside the archive "{self.path}"; refusing to read it.'
            )
        return "/".join(parts)

    def _lookup(self, path: str) -> tarfile.TarInfo | None:
        """The member ``path`` names after following links, or None when there is none."""
        if self._closed:
            raise TransportError(f'The archive "{self.path}" was closed; open it again.')
        current = self._request(path)
        for _ in range(MAX_LINK_HOPS + 1):
            info = self._members.get(current)
            if info is None:
                return None
            if info.issym():
                base = current.rpartition("/")[0]
            elif info.islnk():
                base = ""
            else:
                return info
            resolved = _join_inside(base, info.linkname)
            if resolved is None:
                raise UnsafeArchive(
                    f'The member "{current}" of the archive "{self.path}" is a link to '
                    f'"{info.linkname}", which leads outside the archive; refusing to follow it.'
                )
            current = resolved
        raise InvalidLayout(
            f'The member "{path}" of the archive "{self.path}" is a chain of more than '
            f"{MAX_LINK_HOPS} links (a loop?); refusing to follow it."
        )

    def _regular(self, path: str) -> tarfile.TarInfo:
        info = self._lookup(path)
        if info is None or not info.isreg():
            raise FileNotFoundError(f"{self.path}: {path}")
        if info.issparse():
            raise Unsupported(
                f'The member "{path}" of the archive "{self.path}" is a sparse file, which '
                "Spyglass cannot read in place."
            )
        return info

    # -- FileTree

    @property
    def description(self) -> str:
        return str(self.path)

    def exists(self, path: str) -> bool:
        info = self._lookup(path)
        return info is not None and info.isreg()

    def size(self, path: str) -> int:
        return self._regular(path).size

    def open(self, path: str, *, cancel: CancelToken | None = None) -> io.BufferedReader:
        """Open a member (after links) for reading; seekable within the member."""
        check(cancel)
        info = self._regular(path)
        try:
            file = self._data.open("rb", buffering=0)
        except OSError as exc:
            raise TransportError(describe_os_error(exc, self.path)) from exc
        try:
            if _identity(os.fstat(file.fileno())) != self._identity:
                raise TransportError(
                    f'The archive "{self.path}" changed on disk since it was opened; open it again.'
                )
            file.seek(info.offset_data)
        except BaseException:
            file.close()
            raise
        what = f'The member "{path}" of the archive "{self.path}"'
        return io.BufferedReader(
            _MemberReader(file, info.offset_data, info.size, what), _READ_BUFFER
        )

    def close(self) -> None:
        """Forget the archive, and remove its decompressed copy; readers already open keep
        working. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._decompressed is not None:
            release_decompressed(self._decompressed, park=self._park)


def _read_small(tree: TarTree, name: str, what: str) -> bytes:
    """Read a member whole, refused above 4 MiB; FileNotFoundError when there is none."""
    size = tree.size(name)
    if size > MAX_MANIFEST_SIZE:
        raise TooLarge(f"{what} is {size} bytes, more than the 4 MiB accepted.")
    try:
        with tree.open(name) as stream:
            return stream.read()
    except OSError as exc:
        raise TransportError(describe_os_error(exc, f"{tree.path}: {name}")) from exc


def open_decompressed(tree: TarTree, name: str, what: str) -> tuple[IO[bytes], str | None]:
    """Open a member, decompressing it when its content is compressed; also return the kind."""
    stream = compression.open_decompressed(tree.open(name), what=what, close_stream=True)
    return stream, compression.detected_algorithm(stream)


# --------------------------------------------------------------------------- docker-archive


def _field(data: Mapping[str, Any], key: str) -> Any:
    """``data[key]``, or a key equal to it but for case, as Go's encoding/json matches fields."""
    if key in data:
        return data[key]
    folded = key.casefold()
    for name, value in data.items():
        if name.casefold() == folded:
            return value
    return None


@dataclass(frozen=True)
class DockerArchiveItem:
    """One image of a ``docker save`` archive: an entry of its ``manifest.json``."""

    index: int
    """The entry's position, as ``docker-archive:PATH:@N`` counts."""
    config: str
    """The member holding the image config (a normalized name inside the archive)."""
    repo_tags: tuple[str, ...]
    """The names the image was saved under, as written (``busybox:latest``)."""
    layers: tuple[str, ...]
    """The layer members, base first, one per ``rootfs.diff_ids`` entry of the config."""


@dataclass(frozen=True)
class ArchiveLayer:
    """Where a layer of a docker-archive image lives and how long it is uncompressed."""

    path: str
    size: int


@dataclass(frozen=True)
class DockerArchiveImage:
    """What containers/image computes for a docker-archive image, and its manifest."""

    item: DockerArchiveItem
    config: bytes
    config_digest: Digest
    diff_ids: tuple[Digest, ...]
    layers: Mapping[Digest, ArchiveLayer]
    manifest: bytes
    manifest_digest: Digest


def schema2_manifest(
    config_digest: Digest, config_size: int, layers: Sequence[tuple[Digest, int]]
) -> bytes:
    """The manifest containers/image synthesizes for a docker-archive image, byte for byte.

    ``json.Marshal`` of ``manifest.Schema2``: compact, fields in struct order;
    layers carry ``DockerV2Schema2LayerMediaType`` (the ``tar.gzip`` name).
    """

    def descriptor(media_type: str, size: int, digest: Digest) -> dict[str, Any]:
        return {"mediaType": media_type, "size": size, "digest": str(digest)}

    manifest = {
        "schemaVersion": 2,
        "mediaType": media.DOCKER_V2S2,
        "config": descriptor(media.DOCKER_CONFIG, config_size, config_digest),
        "layers": [descriptor(media.DOCKER_LAYER_GZIP, size, digest) for digest, size in layers],
    }
    return json.dumps(manifest, separators=(",", ":")).encode()


class DockerArchiveReader:
    """Reads a ``docker save`` archive: its ``manifest.json`` at once, each image on demand.

    Every path ``manifest.json`` names is checked before anything is read
    through it. Per-image data (config, layer sizes, the synthesized manifest)
    is computed once, under a lock, and shared by every source of the archive.
    """

    def __init__(self, tree: TarTree, path: Path) -> None:
        self.tree = tree
        self.path = path
        self._lock = threading.Lock()
        self._images: dict[int, DockerArchiveImage] = {}
        self.items: tuple[DockerArchiveItem, ...] = self._read_manifest_json()

    @property
    def what(self) -> str:
        return f'The docker-archive "{self.path}"'

    # -- manifest.json

    def _read_manifest_json(self) -> tuple[DockerArchiveItem, ...]:
        if not self.tree.exists("manifest.json"):
            if self.tree.exists("oci-layout"):
                hint = f" It looks like an OCI archive; open it as oci-archive:{self.path}."
            elif self.tree.exists("repositories"):
                hint = (
                    " It has only the legacy repositories file of Docker before 1.10, which "
                    "Spyglass (like skopeo) does not read; save the image again with a newer "
                    "Docker."
                )
            else:
                hint = ""
            raise InvalidLayout(
                f'"{self.path}" is not a docker-archive: it has no manifest.json (as docker '
                f"save writes it).{hint}"
            )
        try:
            raw = _read_small(self.tree, "manifest.json", f"{self.what} has a manifest.json that")
        except FileNotFoundError:  # pragma: no cover - exists() said it was there
            raise InvalidLayout(f"{self.what} has no readable manifest.json.") from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidLayout(
                f"{self.what} has a manifest.json that is not JSON: {json_problem(exc)}."
            ) from exc
        if not isinstance(data, list):
            raise InvalidLayout(
                f"{self.what} has a manifest.json that is not a list of images; expected "
                '[{"Config": …, "RepoTags": […], "Layers": […]}].'
            )
        return tuple(self._item(i, entry) for i, entry in enumerate(data))

    def _item(self, index: int, entry: object) -> DockerArchiveItem:
        where = f"{self.what}: image @{index} in manifest.json"
        if not isinstance(entry, dict):
            raise InvalidLayout(f"{where} is not a JSON object.")
        config = _field(entry, "Config")
        if not isinstance(config, str) or not config:
            raise InvalidLayout(f'{where} has no "Config" file name.')
        tags = _field(entry, "RepoTags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise InvalidLayout(f'{where} has "RepoTags" that are not a list of strings.')
        layers = _field(entry, "Layers") or []
        if not isinstance(layers, list) or not all(isinstance(p, str) for p in layers):
            raise InvalidLayout(f'{where} has "Layers" that are not a list of file names.')
        return DockerArchiveItem(
            index=index,
            config=self._inside(config, where),
            repo_tags=tuple(tags),
            layers=tuple(self._inside(p, where) for p in layers),
        )

    def _inside(self, name: str, where: str) -> str:
        parts = [part for part in name.split("/") if part not in ("", ".")]
        if name.startswith("/") or ".." in parts or "\0" in name or not parts:
            raise UnsafeArchive(
                f'{where} names the file "{name}", which leads outside the archive; refusing '
                "to read the archive."
            )
        return "/".join(parts)

    # -- choosing an image

    def _matching(self, reference: str) -> DockerArchiveItem | None:
        wanted = parse_docker_reference(reference)
        if wanted.digest is not None:
            raise InvalidReference(
                f'"{reference}" names a digest; a docker-archive image is chosen by NAME:TAG or @N.'
            )
        for item in self.items:
            for tag in item.repo_tags:
                try:
                    parsed = parse_docker_reference(tag, default_tag=False)
                except InvalidReference:
                    continue
                if str(parsed) == str(wanted):
                    return item
        return None

    def _listing(self) -> str:
        return "; ".join(
            f"@{item.index} {', '.join(item.repo_tags) or '(no tags)'}" for item in self.items
        )

    def choose(self, reference: str | None, index: int | None) -> DockerArchiveItem:
        """The image named by ``reference`` (``NAME:TAG``, normalized) or ``index`` (``@N``).

        With neither, the archive's only image. Raises :class:`ImageNotFound`
        with a sentence listing what the archive holds.
        """
        if reference is not None and index is not None:
            raise InvalidReference(
                f'docker-archive:{self.path}: give either a NAME:TAG ("{reference}") or an '
                f"@INDEX (@{index}), not both."
            )
        if reference is not None:
            found = self._matching(reference)
            if found is None:
                raise ImageNotFound(
                    f'{self.what} has no image tagged "{reference}"; it holds: '
                    f"{self._listing() or 'no images'}."
                )
            return found
        if index is not None:
            if not 0 <= index < len(self.items):
                raise ImageNotFound(
                    f"{self.what} has no image @{index}; it holds {len(self.items)} "
                    + (f"(@0 to @{len(self.items) - 1})." if self.items else "images.")
                )
            return self.items[index]
        if len(self.items) == 1:
            return self.items[0]
        if not self.items:
            raise ImageNotFound(f"{self.what} holds no images.")
        raise ImageNotFound(
            f"{self.what} holds {len(self.items)} images; name one as "
            f"docker-archive:{self.path}:NAME:TAG or docker-archive:{self.path}:@N. "
            f"It holds: {self._listing()}."
        )

    def name_for(self, item: DockerArchiveItem) -> str:
        """A name that reopens exactly ``item``: by its first usable tag, else by ``@N``."""
        for tag in item.repo_tags:
            try:
                parsed = parse_docker_reference(tag, default_tag=False)
            except InvalidReference:
                continue
            if parsed.tag is not None and parsed.digest is None and self._matching(tag) is item:
                return f"{DOCKER_ARCHIVE}:{self.path}:{tag}"
        return f"{DOCKER_ARCHIVE}:{self.path}:@{item.index}"

    def item_for_name(self, name: str) -> DockerArchiveItem:
        """The image a name made by :meth:`name_for` (or typed by a person) stands for."""
        prefix = f"{DOCKER_ARCHIVE}:{self.path}"
        if not name.startswith(prefix):
            raise ImageNotFound(f'"{name}" is not an image of {self.what[4:]}.')
        rest = name[len(prefix) :]
        if not rest:
            return self.choose(None, None)
        if rest.startswith(":@") and rest[2:].isdigit():
            return self.choose(None, int(rest[2:]))
        if rest.startswith(":"):
            return self.choose(rest[1:], None)
        raise ImageNotFound(f'"{name}" is not an image of {self.what[4:]}.')

    # -- one image

    def image(
        self, item: DockerArchiveItem, *, cancel: CancelToken | None = None
    ) -> DockerArchiveImage:
        """Config, layers and synthesized manifest of ``item`` (computed once, thread-safe)."""
        with self._lock:
            cached = self._images.get(item.index)
            if cached is None:
                cached = self._compute(item, cancel)
                self._images[item.index] = cached
            return cached

    def _compute(self, item: DockerArchiveItem, cancel: CancelToken | None) -> DockerArchiveImage:
        where = f"{self.what}: image @{item.index}"
        try:
            config = _read_small(
                self.tree, item.config, f'{where} has a config "{item.config}" that'
            )
        except FileNotFoundError:
            raise InvalidLayout(
                f'{where} names the config "{item.config}", but the archive has no such file.'
            ) from None
        diff_ids = self._diff_ids(config, f'{where} has a config "{item.config}"')
        if len(diff_ids) != len(item.layers):
            raise InvalidLayout(
                f"{where} lists {len(item.layers)} layers in manifest.json but its config has "
                f"{len(diff_ids)} diff IDs; they must match."
            )
        layers: dict[Digest, ArchiveLayer] = {}
        owners: dict[str, Digest] = {}
        for diff_id, layer_path in zip(diff_ids, item.layers, strict=True):
            if diff_id in layers:
                # the same layer twice in one image: docker save links the copies together
                continue
            if layer_path in owners:
                raise InvalidLayout(
                    f'{where} uses the layer file "{layer_path}" for two different diff IDs, '
                    f"{owners[layer_path]} and {diff_id}."
                )
            owners[layer_path] = diff_id
            layers[diff_id] = ArchiveLayer(layer_path, self._layer_size(layer_path, where, cancel))
        config_digest = Digest.of(config)
        manifest = schema2_manifest(
            config_digest, len(config), [(d, layers[d].size) for d in diff_ids]
        )
        return DockerArchiveImage(
            item=item,
            config=config,
            config_digest=config_digest,
            diff_ids=diff_ids,
            layers=layers,
            manifest=manifest,
            manifest_digest=Digest.of(manifest),
        )

    @staticmethod
    def _diff_ids(config: bytes, what: str) -> tuple[Digest, ...]:
        try:
            data = json.loads(config)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidConfig(f"{what} that is not JSON: {exc}.") from exc
        if not isinstance(data, dict):
            raise InvalidConfig(f"{what} that is not a JSON object.")
        rootfs = _field(data, "rootfs")
        if not isinstance(rootfs, dict):
            raise InvalidConfig(f'{what} without a "rootfs" object; it lists no layers.')
        ids = _field(rootfs, "diff_ids") or []
        if not isinstance(ids, list):
            raise InvalidConfig(f'{what} whose "rootfs.diff_ids" is not a list.')
        try:
            return tuple(Digest.parse(d) for d in ids)
        except InvalidDigest as exc:
            raise InvalidConfig(f"{what} with an invalid diff ID: {exc}") from exc

    def _layer_size(self, layer_path: str, where: str, cancel: CancelToken | None) -> int:
        """The uncompressed size of a layer file, as containers/image's prepareLayerData has it."""
        what = f'The layer "{layer_path}" of the docker-archive "{self.path}"'
        try:
            stream, kind = open_decompressed(self.tree, layer_path, what)
        except FileNotFoundError:
            raise InvalidLayout(
                f'{where} names the layer "{layer_path}", but the archive has no such file.'
            ) from None
        with stream:
            if kind is None:
                return self.tree.size(layer_path)
            total = 0
            try:
                while chunk := stream.read(CHUNK_SIZE):
                    check(cancel)
                    total += len(chunk)
            except OSError as exc:
                raise TransportError(describe_os_error(exc, f"{self.path}: {layer_path}")) from exc
            return total

    def open_layer(self, layer: ArchiveLayer) -> IO[bytes]:
        """The uncompressed bytes of a layer file."""
        what = f'The layer "{layer.path}" of the docker-archive "{self.path}"'
        try:
            stream, _ = open_decompressed(self.tree, layer.path, what)
        except FileNotFoundError:
            raise BlobNotFound(f"{what} is missing from the archive.") from None
        return stream


class DockerArchiveImageSource:
    """An :class:`ImageSource` for one image of a ``docker save`` archive.

    The manifest is the schema 2 manifest containers/image synthesizes (see
    the module docstring); there are no manifest lists. The data is computed
    on the first :meth:`get_manifest` or :meth:`open_blob`, so problems with
    the config or the layer files surface there.
    """

    def __init__(
        self,
        reader: DockerArchiveReader,
        item: DockerArchiveItem,
        name: str,
        *,
        owns_tree: bool,
    ) -> None:
        self._reader = reader
        self._item = item
        self._name = name
        self._owns_tree = owns_tree

    @property
    def description(self) -> str:
        return self._name

    @property
    def item(self) -> DockerArchiveItem:
        return self._item

    def image(self, *, cancel: CancelToken | None = None) -> DockerArchiveImage:
        """The computed data of this image."""
        return self._reader.image(self._item, cancel=cancel)

    def stored_compression(self, layer: Descriptor) -> str | None:
        """Implement StoredCompression: every layer is served uncompressed (its digest is
        the diff ID), though the manifest names it ``tar.gzip`` as containers/image does."""
        return compression.NONE if layer.media_type == media.DOCKER_LAYER_GZIP else None

    def get_manifest(
        self, digest: str | None = None, *, cancel: CancelToken | None = None
    ) -> tuple[bytes, str | None]:
        check(cancel)
        image = self.image(cancel=cancel)
        if digest is not None and digest != str(image.manifest_digest):
            raise ImageNotFound(
                f"{self._name} has no manifest {digest}; its only manifest is "
                f"{image.manifest_digest} (docker-archive images have no manifest lists)."
            )
        return image.manifest, media.DOCKER_V2S2

    def open_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> VerifyingReader:
        check(cancel)
        image = self.image(cancel=cancel)
        wanted = descriptor.digest
        if wanted == image.config_digest:
            return VerifyingReader(
                io.BytesIO(image.config),
                wanted,
                descriptor.size,
                what=f'The config "{self._item.config}" of {self._name}',
                cancel=cancel,
            )
        layer = image.layers.get(wanted)
        if layer is None:
            raise BlobNotFound(
                f"The blob {wanted} is not part of {self._name}; it holds the config "
                f"{image.config_digest} and {len(image.layers)} layers."
            )
        return VerifyingReader(
            self._reader.open_layer(layer),
            wanted,
            descriptor.size,
            what=f'The layer "{layer.path}" (diff ID {wanted}) of {self._name}',
            cancel=cancel,
        )

    def close(self) -> None:
        if self._owns_tree:
            self._reader.tree.close()


class DockerArchiveLocation:
    """A ``docker save`` archive as a browsable :class:`Location`: one entry per image.

    Listing synthesizes each image's manifest (for its digest); for layer
    files stored compressed that means decompressing them once to learn their
    size, as containers/image does.
    """

    def __init__(self, reader: DockerArchiveReader) -> None:
        self.reader = reader

    @property
    def kind(self) -> str:
        return DOCKER_ARCHIVE

    @property
    def title(self) -> str:
        return self.reader.path.name or str(self.reader.path)

    @property
    def description(self) -> str:
        return f"{DOCKER_ARCHIVE}:{self.reader.path}"

    def list_images(self, *, cancel: CancelToken | None = None) -> Iterator[ImageEntry]:
        for item in self.reader.items:
            check(cancel)
            image = self.reader.image(item, cancel=cancel)
            yield ImageEntry(
                label=item.repo_tags[0] if item.repo_tags else f"@{item.index}",
                descriptor=Descriptor(
                    media.DOCKER_V2S2, image.manifest_digest, len(image.manifest)
                ),
                name=self.reader.name_for(item),
            )

    def open_image(self, entry: ImageEntry) -> DockerArchiveImageSource:
        item = self.reader.item_for_name(entry.name)
        return DockerArchiveImageSource(self.reader, item, entry.name, owns_tree=False)

    def close(self) -> None:
        self.reader.tree.close()


def open_docker_archive_location(
    path: Path, *, cancel: CancelToken | None = None
) -> DockerArchiveLocation:
    """Open a ``docker save`` archive for browsing (``cancel``: while a compressed one is
    decompressed)."""
    tree = TarTree(path, cancel=cancel)
    try:
        return DockerArchiveLocation(DockerArchiveReader(tree, path))
    except BaseException:
        tree.close()
        raise


def open_docker_archive_image(
    path: Path,
    reference: str | None = None,
    index: int | None = None,
    *,
    cancel: CancelToken | None = None,
) -> DockerArchiveImageSource:
    """Open ``docker-archive:PATH[:NAME:TAG | :@N]``.

    ``reference`` is matched against each image's ``RepoTags`` after both are
    normalized as Docker references (``busybox:latest`` matches
    ``docker.io/library/busybox:latest``); ``index`` counts from 0. ``cancel``
    is checked while a compressed archive is decompressed.
    """
    tree = TarTree(path, cancel=cancel)
    try:
        reader = DockerArchiveReader(tree, path)
        item = reader.choose(reference, index)
    except BaseException:
        tree.close()
        raise
    if reference is not None:
        name = f"{DOCKER_ARCHIVE}:{path}:{reference}"
    elif index is not None:
        name = f"{DOCKER_ARCHIVE}:{path}:@{index}"
    else:
        name = f"{DOCKER_ARCHIVE}:{path}"
    return DockerArchiveImageSource(reader, item, name, owns_tree=True)


# --------------------------------------------------------------------------- oci-archive


class OCIArchiveImageSource(LayoutImageSource):
    """A :class:`LayoutImageSource` that closes its archive when it is closed."""

    def __init__(self, reader: OCILayoutReader, top: Descriptor, name: str) -> None:
        super().__init__(reader, top, name)
        self._tree: FileTree = reader.tree

    def close(self) -> None:
        self._tree.close()


def _oci_reader(path: Path, cancel: CancelToken | None) -> OCILayoutReader:
    tree = TarTree(path, cancel=cancel)
    try:
        return _oci_reader_over(tree, path)
    except BaseException:
        tree.close()
        raise


def _oci_reader_over(tree: TarTree, path: Path) -> OCILayoutReader:
    if not tree.exists("oci-layout") and tree.exists("manifest.json"):
        raise InvalidLayout(
            f'"{path}" is not an OCI archive: it has no oci-layout file. It looks like a '
            f"docker save archive; open it as docker-archive:{path}."
        )
    return OCILayoutReader(tree, transport=OCI_ARCHIVE, path=path)


def open_oci_archive_location(
    path: Path, *, cancel: CancelToken | None = None
) -> OCILayoutLocation:
    """Open a tarball of an OCI layout for browsing (``cancel``: while a compressed one is
    decompressed)."""
    return OCILayoutLocation(_oci_reader(path, cancel))


def open_oci_archive_image(
    path: Path,
    ref: str | None = None,
    index: int | None = None,
    *,
    cancel: CancelToken | None = None,
) -> OCIArchiveImageSource:
    """Open ``oci-archive:PATH[:REF|:@N]`` (``cancel``: while a compressed one is
    decompressed)."""
    reader = _oci_reader(path, cancel)
    try:
        top = reader.find(ref, index)
    except BaseException:
        reader.tree.close()
        raise
    return OCIArchiveImageSource(reader, top, reader.name_for(ref, index))


# --------------------------------------------------------------------------- sniffing


def sniff_archive(path: Path, *, cancel: CancelToken | None = None) -> str | None:
    """Which archive transport ``path`` is: ``"oci-archive"``, ``"docker-archive"`` or None.

    Decided by :func:`sniff_tree`. A compressed archive is decompressed to be
    looked at (its member names are known only at its end), and the copy is
    removed again: to look and then open, :func:`open_archive_location` does
    both over one decompressed copy. ``cancel`` is checked meanwhile.

    Returns None for a path that is no tar file (compressed or not) or a tar of
    something else. Raises :class:`DamagedArchive` for a tar cut short or
    corrupt past its start (an archive all the same, whose sentence says so),
    :class:`UnsafeArchive` for one with members leading outside it, and
    :class:`~spyglass.core.errors.TemporarySpaceFailed` when there is no room
    to decompress one, since those deserve their own sentence.
    """
    tree = _tree_or_none(path, cancel, park=True)
    if tree is None:
        return None
    try:
        return sniff_tree(tree)
    finally:
        tree.close()  # a decompressed copy is parked: what was looked at is opened next


def _tree_or_none(
    path: Path, cancel: CancelToken | None, *, park: bool = False
) -> TarTree | None:
    """The archive at ``path``, or None when it is no tar (see :func:`sniff_archive`)."""
    try:
        return TarTree(path, cancel=cancel, park=park)
    except (DamagedArchive, TemporarySpaceFailed):
        raise  # an archive all the same, or this machine's trouble: say so
    except (InvalidLayout, TransportError):
        return None


def sniff_tree(tree: TarTree) -> str | None:
    """Which archive transport the tar ``tree`` is, by its member names; None for neither.

    ``oci-layout`` and ``index.json`` make an OCI archive even when a
    ``manifest.json`` is there too (Docker 25 and later save both), because the
    OCI view keeps the images' own manifests and digests where the
    docker-archive view synthesizes new ones; a ``manifest.json`` alone makes
    a docker-archive. Only when such an ``index.json`` lists fewer images than
    the ``manifest.json`` beside it (Docker 25.0.0 to 25.0.2 wrote
    ``"manifests": null`` for some saves) is the archive a docker-archive, so
    that no image is hidden. A person who wants the other view names the
    transport (``docker-archive:PATH``), which is never sniffed.
    """
    if tree.exists("oci-layout") and tree.exists("index.json"):
        if tree.exists("manifest.json") and _fewer_in_index(tree):
            return DOCKER_ARCHIVE
        return OCI_ARCHIVE
    if tree.exists("manifest.json"):
        return DOCKER_ARCHIVE
    return None


def open_archive_location(
    path: Path, *, cancel: CancelToken | None = None
) -> DockerArchiveLocation | OCILayoutLocation | None:
    """Open the archive at ``path`` for browsing as the kind :func:`sniff_tree` finds;
    None when it is no image archive (raising as :func:`sniff_archive` does).

    Looking and opening share one tree, so a compressed archive is decompressed
    once, not once to sniff and again to open.
    """
    tree = _tree_or_none(path, cancel)
    if tree is None:
        return None
    try:
        kind = sniff_tree(tree)
        if kind == OCI_ARCHIVE:
            return OCILayoutLocation(_oci_reader_over(tree, path))
        if kind == DOCKER_ARCHIVE:
            return DockerArchiveLocation(DockerArchiveReader(tree, path))
    except BaseException:
        tree.close()
        raise
    tree.close()
    return None


def _fewer_in_index(tree: TarTree) -> bool:
    """Whether the ``index.json`` of an archive holding both views lists fewer images
    than its ``manifest.json``; False when either cannot be read (the OCI view then
    says what is wrong)."""
    try:
        index = json.loads(_read_small(tree, "index.json", "index.json"))
        items = json.loads(_read_small(tree, "manifest.json", "manifest.json"))
    except (SpyglassError, ValueError):
        return False
    if not isinstance(index, dict) or not isinstance(items, list):
        return False
    listed = index.get("manifests")
    return len(listed if isinstance(listed, list) else []) < len(items)


# --------------------------------------------------------------------------- write side

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
_GO_ESCAPES: Final = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


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

    def __init__(self, tar: tarfile.TarFile, cancel: CancelToken | None, file_mode: int) -> None:
        self._tar = tar
        self._cancel = cancel
        self._file_mode = file_mode

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
        """Add the file at ``path``; with ``consume``, remove it once it is in the tar, so
        staging and tar together need little more space than the archive alone."""
        check(self._cancel)
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


def _open_without_waiting(path: Path) -> IO[bytes]:
    """``path`` opened for reading; a named pipe no program writes to is not waited for
    (opening one blocks until a writer comes): it reads as empty, and is refused as no
    archive. A pipe being written to (``… | spyglass copy docker-archive:/dev/stdin``)
    reads as usual."""
    nonblocking = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | nonblocking)
    try:
        if nonblocking:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~nonblocking)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


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
        return raw is not None and isinstance(json.loads(raw).get("subject"), dict)
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return False


def _docker_save_names(raw: bytes) -> list[str] | None:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not (isinstance(data, list) and data and all(
        isinstance(item, dict) and _field(item, "Config") is not None
        and isinstance(_field(item, "Layers"), list)
        for item in data
    )):
        return None
    names: list[str] = []
    for number, item in enumerate(data):
        tags = _field(item, "RepoTags")
        names.append(str(tags[0]) if isinstance(tags, list) and tags else f"@{number}")
    return names


def _index_names(raw: bytes, blob: Callable[[str], bytes | None]) -> list[str]:
    """The images an OCI layout's ``index.json`` names (cosign's tags and referrers,
    which go with an image, left out); ``blob`` reads a small member, to tell a
    referrer (its manifest has a subject) from an image without a name."""
    from spyglass.core.referrers import is_attachment_tag

    names: list[str] = []
    for number, entry in enumerate(_index_entries(raw)):
        if not isinstance(entry, dict):
            continue
        name = _ref_name(entry)
        if name is not None and is_attachment_tag(name):
            continue
        if not name and _is_referrer(entry, blob):
            continue
        names.append(name or f"@{number}")
    return names


def _index_entries(raw: bytes) -> list[Any]:
    """The ``manifests`` of an ``index.json`` ([] for anything else)."""
    try:
        entries = json.loads(raw).get("manifests") or []
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return []
    return entries if isinstance(entries, list) else []


def article(word: str) -> str:
    """``a`` or ``an`` before ``word`` as it is read aloud (``an oci-archive``)."""
    return "an" if word[:1].lower() in "aeio" else "a"


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
    commit; its staging folder is in the system's temporary folder.
    """

    def __init__(self, path: Path, transport: str) -> None:
        self.path = path
        target = Path(os.path.abspath(path))
        self.streamed = str(target).startswith(_STREAMED_PREFIXES)
        self.append = False
        self.mode = FILE_MODE
        self.replaces_image = False
        """Whether an image archive is there already (it is replaced at commit)."""
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
                    held = _images_held(target) if st.st_size else []
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
            parent = Path(tempfile.gettempdir()) if self.streamed else target.parent
            if not parent.is_dir():
                for ancestor in [parent, *parent.parents]:
                    if ancestor.exists() and not ancestor.is_dir():
                        raise InvalidLayout(
                            f'Cannot write "{path}": "{ancestor}" is a file, not a folder.')
                raise InvalidLayout(
                    f'The folder "{parent}" that should hold {path} does not exist; create it '
                    "first."
                )
            self._folder = TempFolder(parent, target.name or "archive")
            self.staging = self._folder.path
        except OSError as exc:
            raise TransportError(describe_write_error(exc, path)) from exc
        self.target = target

    def write(
        self,
        fill: Callable[[_TarWriter], None],
        *,
        file_mode: int,
        cancel: CancelToken | None,
    ) -> None:
        """Write the tar that ``fill`` describes to the target; raise TransportError on failure."""
        if self.streamed:
            flags = os.O_WRONLY | os.O_CLOEXEC | (os.O_APPEND if self.append else 0)
            try:
                fd = os.open(self.target, flags)
                with os.fdopen(fd, "wb", buffering=CHUNK_SIZE) as out:
                    self._tar(out, fill, file_mode, cancel)
            except OSError as exc:
                raise TransportError(describe_write_error(exc, self.path)) from exc
            return
        temp = self.staging / _ARCHIVE_FILE_NAME
        try:
            with temp.open("wb", buffering=CHUNK_SIZE) as out:
                self._tar(out, fill, file_mode, cancel)
                out.flush()
                os.fsync(out.fileno())
                os.fchmod(out.fileno(), self.mode)
            check(cancel)
            os.rename(temp, self.target)
        except OSError as exc:
            raise TransportError(describe_write_error(exc, self.path)) from exc
        fsync_dir(self.target.parent)

    @staticmethod
    def _tar(
        out: IO[bytes],
        fill: Callable[[_TarWriter], None],
        file_mode: int,
        cancel: CancelToken | None,
    ) -> None:
        with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            fill(_TarWriter(tar, cancel, file_mode))

    def cleanup(self) -> None:
        self._folder.remove()


class OCIArchiveDestination:
    """An :class:`~spyglass.core.transports.base.ImageDestination` for ``oci-archive:PATH[:REF]``.

    The content is an OCI layout built by an
    :class:`~spyglass.core.transports.layout.OCILayoutDestination` in a
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
    def description(self) -> str:
        return self._name

    @property
    def replaces(self) -> str | None:
        """The archive already at the path, replaced whole (ReplacingDestination)."""
        if not self._output.replaces_image:
            return None
        return f'the archive "{self.path}" already there, with the images in it,'

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
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
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
        self._layout.commit(top, raw, cancel=cancel)
        self._output.write(self._fill, file_mode=FILE_MODE, cancel=cancel)
        self._state = "committed"
        self._output.cleanup()

    def _fill(self, tar: _TarWriter) -> None:
        root = self._layout.path
        blobs = root / "blobs"
        tar.folder("blobs")
        for algorithm in sorted(os.listdir(blobs)):
            folder = blobs / algorithm
            tar.folder(f"blobs/{algorithm}")
            for name in sorted(os.listdir(folder)):
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


class DockerArchiveDestination:
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
    def description(self) -> str:
        return self._name

    @property
    def replaces(self) -> str | None:
        """The archive already at the path, replaced whole (ReplacingDestination)."""
        if not self._output.replaces_image:
            return None
        return f'the archive "{self.path}" already there, with the images in it,'

    @property
    def supported_manifest_types(self) -> tuple[str, ...]:
        return (media.DOCKER_V2S2,)

    @property
    def accepts_lists(self) -> bool:
        return False

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
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
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
        what = f"The blob {digest} for {self._name}" if digest else f"A blob for {self._name}"
        written, length = write_blob(
            stream,
            temps=self._temps,
            target=self._blob_path,
            digest=digest,
            size=size,
            what=what,
            cancel=cancel,
            progress=progress,
        )
        self._known.add(written, length)
        return Descriptor(media_type, written, length)

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
            raise InvalidManifest(f"The manifest for {self._name} is not usable: {exc}") from exc
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
            lambda tar: self._fill(tar, manifest, config), file_mode=0o444, cancel=cancel
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
            config_data = json.loads(config)
        except (UnicodeDecodeError, json.JSONDecodeError):
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
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in _GO_ESCAPES:
        text = text.replace(char, escaped)
    return text.encode("utf-8")


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
