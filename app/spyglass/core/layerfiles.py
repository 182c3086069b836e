"""The files a layer adds, changes or deletes: a listing read straight from the blob stream.

A layer is a tar archive, usually compressed. :func:`list_layer_files` reads
it once, front to back, through the source's verifying reader: nothing is
extracted, nothing is seeked, and memory holds the listing, not the layer. The
listing is only returned once the whole blob has been read and matched its
digest, so a corrupt or tampered layer never yields a list.

Whiteouts follow the OCI image spec (and AUFS before it): an entry
``DIR/.wh.NAME`` says ``DIR/NAME`` was deleted, and ``DIR/.wh..wh..opq``
says ``DIR`` was made opaque (what lower layers held in it is hidden).
"""

from __future__ import annotations

import math
import tarfile
from dataclasses import dataclass
from typing import IO, Final, NoReturn
from urllib.parse import unquote

from spyglass.core import media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.compression import open_decompressed
from spyglass.core.digest import CHUNK_SIZE, VerifyingReader
from spyglass.core.errors import NotATarArchive, TooLarge, TransportError, VerificationError
from spyglass.core.manifest import Descriptor
from spyglass.core.tarheaders import BoundedTarInfo, HugeHeader
from spyglass.core.transports.base import ImageSource, served_compression
from spyglass.core.transports.external import open_layer_blob

DEFAULT_LIMIT: Final = 100_000
"""The most entries :func:`list_layer_files` lists; the rest are read, checked and counted."""

def _huge_header(what: str, huge: HugeHeader) -> TooLarge:
    return TooLarge(f"{what} has {huge.said}; its files are not listed.")


WHITEOUT_PREFIX: Final = ".wh."
OPAQUE_WHITEOUT: Final = ".wh..wh..opq"
_WHITEOUT_META_PREFIX: Final = ".wh..wh."

KINDS: Final = ("file", "dir", "symlink", "hardlink", "chardev", "blockdev", "fifo",
                 "whiteout", "opaque", "other")


@dataclass(frozen=True)
class LayerFile:
    """One entry of a layer's tar.

    ``path`` is relative to the image's root (``etc/motd``), without a
    leading ``./`` or ``/`` and without a trailing ``/``. ``kind`` is one of
    :data:`KINDS`: for a ``whiteout`` the path is the deleted entry (the
    ``.wh.`` marker taken off), for ``opaque`` the directory made opaque.
    ``link_target`` is the target of a symlink (as written) or hard link
    (normalized like a path), else None. ``size`` counts the entry's content
    (0 but for regular files); ``mode`` holds the permission bits; ``mtime``
    is in seconds since the epoch. ``xattrs`` names the extended attributes the
    entry carries in pax records (``security.capability``: file capabilities, which
    grant a program privileges as setuid does), in the order written; their values
    (binary) are left out. ``device`` is a device's major and minor numbers;
    ``typeflag`` the tar type of an ``other`` entry (one no tar format defines).
    """

    path: str
    kind: str
    size: int
    mode: int
    link_target: str | None
    mtime: int
    xattrs: tuple[str, ...] = ()
    device: tuple[int, int] | None = None
    typeflag: str = ""


@dataclass(frozen=True)
class LayerListing:
    """What :func:`list_layer_files` found: the entries listed, in archive order, and how
    many more the layer holds past the limit (read and checked, counted, not listed)."""

    files: list[LayerFile]
    unlisted: int = 0

    @property
    def entries(self) -> int:
        """How many entries the layer holds, listed or not."""
        return len(self.files) + self.unlisted


def normalize_path(name: str) -> str:
    """A tar member name as a path from the root: ``./etc/motd`` and ``/etc/motd`` → ``etc/motd``.

    Empty and ``.`` components go; ``..`` components stay, so a listing shows
    what the layer really says. The root itself becomes ``""``.
    """
    return "/".join(part for part in name.split("/") if part not in ("", "."))


_XATTR_PREFIXES: Final = ("SCHILY.xattr.", "LIBARCHIVE.xattr.")
"""The pax keywords of extended attributes: GNU tar's and star's, and bsdtar's (whose
names are %-encoded)."""


def _xattrs(info: tarfile.TarInfo) -> tuple[str, ...]:
    """The names of the extended attributes ``info``'s pax records carry."""
    names: list[str] = []
    for key in info.pax_headers:
        if key.startswith(_XATTR_PREFIXES[0]):
            name = key[len(_XATTR_PREFIXES[0]):]
        elif key.startswith(_XATTR_PREFIXES[1]):
            name = unquote(key[len(_XATTR_PREFIXES[1]):], errors="surrogateescape")
        else:
            continue
        if name not in names:
            names.append(name)
    return tuple(names)


def _kind(info: tarfile.TarInfo) -> str:
    if info.issym():
        return "symlink"
    if info.islnk():
        return "hardlink"
    if info.isdir():
        return "dir"
    if info.ischr():
        return "chardev"
    if info.isblk():
        return "blockdev"
    if info.isfifo():
        return "fifo"
    return "file" if info.isreg() else "other"


def _entry(info: tarfile.TarInfo) -> LayerFile | None:
    """The listing entry for one tar member, or None for the root directory's own entry."""
    path = normalize_path(info.name)
    if not path:
        return None
    parent, _, base = path.rpartition("/")
    kind = _kind(info)
    if base == OPAQUE_WHITEOUT:
        path, kind = parent, "opaque"
    elif base.startswith(WHITEOUT_PREFIX) and not base.startswith(_WHITEOUT_META_PREFIX):
        path = f"{parent}/{base[len(WHITEOUT_PREFIX):]}" if parent else base[len(WHITEOUT_PREFIX):]
        kind = "whiteout"
    if kind == "symlink":
        target: str | None = info.linkname
    elif kind == "hardlink":
        target = normalize_path(info.linkname)
    else:
        target = None
    return LayerFile(
        path=path,
        kind=kind,
        size=info.size if kind == "file" else 0,
        mode=info.mode & 0o7777,
        link_target=target,
        # (a pax mtime is any decimal: "inf" or "nan" reads, and is no time)
        mtime=int(info.mtime) if math.isfinite(info.mtime) else 0,
        xattrs=_xattrs(info) if info.pax_headers else (),
        device=(info.devmajor, info.devminor) if kind in ("chardev", "blockdev") else None,
        typeflag=info.type.decode("latin-1") if kind == "other" else "",
    )


def _drain(stream: IO[bytes] | VerifyingReader) -> None:
    """Read ``stream`` to its end, discarding the bytes (a verifying reader checks them)."""
    while stream.read(CHUNK_SIZE):
        pass


def _blame_content_first(blob: VerifyingReader, error: TransportError) -> NoReturn:
    """Raise ``error``, unless the blob's bytes are not what the manifest promised.

    A layer that cannot be decompressed or read as a tar is most often a
    corrupt download: read the rest of the blob so that its digest decides.
    A mismatch is raised in place of ``error`` (chained to it); an intact
    blob means the layer really is broken: :class:`NotATarArchive`, saying how.
    """
    try:
        _drain(blob)
    except VerificationError as mismatch:
        raise mismatch from error
    except (OSError, TransportError):
        pass  # the blob cannot be read further: the first error tells the story
    if not blob.verified:  # (the reader raises rather than get here)
        raise error
    raise NotATarArchive(f"{error} Its bytes are the ones the image names (their digest is "
                         "right): reading it again would not list it either.") from error


def list_layer_files(
    source: ImageSource,
    layer: Descriptor,
    *,
    cancel: CancelToken | None = None,
    limit: int = DEFAULT_LIMIT,
) -> LayerListing:
    """List the entries of ``layer``'s tar, in archive order, verified against its digest.

    The first ``limit`` entries are listed; those past it are read (so that the tar is
    checked to its end) and counted, not kept: memory holds ``limit`` entries at most.

    The compression is the one the source serves the layer with
    (:func:`~spyglass.core.transports.base.served_compression`), else detected
    from the first bytes. After the tar's last member the rest of the blob is read
    so that the digest is checked: a mismatch raises
    :class:`~spyglass.core.errors.VerificationError` and nothing is returned.
    ``cancel`` is checked between members (and by the blob reader between chunks).

    A foreign layer the source does not hold is read from where its ``urls`` point
    (:func:`~spyglass.core.transports.external.open_layer_blob`).

    Raises :class:`TransportError` for a blob that cannot be decompressed or
    is no tar, :class:`~spyglass.core.errors.TooLarge` for an extended header longer
    than :data:`~spyglass.core.tarheaders.MAX_HEADER_RECORD`, and what
    ``source.open_blob`` raises (:class:`~spyglass.core.errors.BlobNotFound`, …).
    """
    what = f"The layer {layer.digest}"
    declared = served_compression(source, layer)  # a docker-archive's are plain tars
    check(cancel)
    # (a foreign layer the source lacks from where its urls point, as a copy fetches it)
    with open_layer_blob(source, layer, cancel=cancel) as blob:
        stream = open_decompressed(blob, declared, what=what)
        try:
            listing = _read_tar(stream, what, cancel, limit)
            # The tar ends with zero blocks and record padding; read them and
            # the rest of the compressed stream, so the end is checked too.
            _drain(stream)
        except TransportError as exc:
            _blame_content_first(blob, exc)
        finally:
            stream.close()
        _drain(blob)
        if not blob.verified:  # the reader raises rather than get here; never trust silently
            raise TransportError(f"{what} was not read to its end; its digest is unchecked.")
    return listing


def holds_files(media_type: str) -> bool:
    """Whether a blob of ``media_type`` is a tar of files (an image layer, or a vendor's
    ``….tar+gzip`` such as a Helm chart's), rather than a file of its own (an
    artifact's text, JSON or WASM module), which has no files to list."""
    return media.layer_compression(media_type) is not None or ".tar" in media_type


def _open_tar(stream: IO[bytes], what: str) -> tarfile.TarFile:
    """``stream`` as a tar read front to back (mode ``r|``: no seeking, no compression).

    Names are read as UTF-8, whatever the locale (an image's content does not depend on
    who looks at it: under Latin-1 ``café`` was listed ``cafÃ©``); a byte that is not
    UTF-8 is kept, as a surrogate (see :mod:`spyglass.core.text`)."""
    try:
        return tarfile.open(fileobj=stream, mode="r|", encoding="utf-8",
                            errors="surrogateescape", tarinfo=BoundedTarInfo)
    except HugeHeader as exc:
        raise _huge_header(what, exc) from None
    except (tarfile.TarError, EOFError) as exc:
        raise TransportError(f"{what} is not a tar archive ({exc}); it cannot be listed.") from exc


def _read_tar(
    stream: IO[bytes], what: str, cancel: CancelToken | None, limit: int
) -> LayerListing:
    """The entries of the tar ``stream`` (the first ``limit`` of them, and how many more);
    tar errors become :class:`TransportError`."""
    files: list[LayerFile] = []
    unlisted = 0
    count = 0
    with _open_tar(stream, what) as tar:
        while True:
            check(cancel)
            try:
                info = tar.next()
            except HugeHeader as exc:
                raise _huge_header(what, exc) from None
            except (tarfile.TarError, EOFError) as exc:
                raise TransportError(
                    f"{what} is not a valid tar archive after its first {count} entries "
                    f"({exc}); it cannot be listed."
                ) from exc
            if info is None:
                break
            count += 1
            entry = _entry(info)
            if entry is None:
                pass
            elif len(files) < limit:
                files.append(entry)
            else:
                unlisted += 1
            # TarFile keeps every member it has read (an attribute typeshed leaves out);
            # the listing is all that is needed, so memory stays with the listing.
            tar.members.clear()  # type: ignore[attr-defined]
    return LayerListing(files, unlisted)
