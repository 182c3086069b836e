"""File trees on disk: how transports read blobs and small files out of a tree.

:class:`DirTree` (a :class:`~spyglass.core.transports.base.FileTree` over a folder),
:func:`open_verified` and :func:`read_small_blob` (blobs read against their digest),
:func:`open_regular` (a small file, never a FIFO or a device), :func:`read_at_most` (a
small file read whole, up to a limit), :func:`safe_relative`,
:func:`blob_path` and :func:`resolved` (paths in a layout), :func:`describe_os_error`.

What local destinations share when they write lives beside it:
:mod:`~spyglass.core.transports.temporaries` (temporary files, their claims, the
sweeping of orphans), :mod:`~spyglass.core.transports.file_write` (write errors'
sentences, small files replaced atomically), :mod:`~spyglass.core.transports.file_lock`
(the ``flock`` around ``index.json`` updates) and
:mod:`~spyglass.core.transports.blob_write` (blobs streamed into place).
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import IO, Final

from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import (
    CHUNK_SIZE,
    Digest,
    VerifyingReader,
    read_verified,
)
from spyglass.core.errors import (
    BlobNotFound,
    DigestMismatch,
    InvalidDigest,
    InvalidLayout,
    LocationGone,
    TransportError,
    os_reason,
)
from spyglass.core.manifest import MAX_MANIFEST_SIZE
from spyglass.core.transports.base import FileTree


def safe_relative(path: str, *, where: str) -> str:
    """Normalize a relative ``/`` path; refuse absolute paths and ``..`` components.

    Raises :class:`InvalidLayout` naming ``where`` (the layout or archive).
    """
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or "\\" in path or "\0" in path:
        raise InvalidLayout(
            f'{where} refers to "{path}", which leads outside it; refusing to read it.'
        )
    parts = [p for p in pure.parts if p not in ("", ".")]
    if not parts:
        raise InvalidLayout(f'{where} refers to an empty path "{path}".')
    return "/".join(parts)


_BLOB_PATH: Final = re.compile(r"blobs/([a-z0-9]+)/([0-9a-f]+)")
"""Where an OCI layout keeps a blob, as :func:`blob_path` writes it."""


class DirTree:
    """A :class:`FileTree` over a folder on disk. Links may not lead outside the folder,
    except the links of an OCI layout's blobs.

    Bazel's rules_oci writes layouts whose ``blobs/sha256/*`` are relative links
    into another layout, and containers/image (``oci_src.go``, ``GetBlob``)
    simply opens ``blobs/<alg>/<hex>``, following them. Such a path is followed
    wherever it leads, because a blob names its own content: a file reached
    outside the folder is hashed *before* it is handed out, and refused with
    :class:`DigestMismatch` unless it is exactly the blob. Checking only at the
    end of the read, as for every other blob, would let a hostile layout stream
    any file of the reader's (``~/.ssh/id_rsa``) to wherever the image is
    copied before the mismatch stops the copy. ``index.json``, ``oci-layout``
    and every other path stay refused when a link takes them outside.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._resolved = resolved(root)

    @property
    def description(self) -> str:
        return str(self.root)

    def _path(self, path: str) -> tuple[Path, Digest | None]:
        """The file for ``path``, and the digest it must have when it is a blob that a link
        leads outside the folder (None inside it)."""
        rel = safe_relative(path, where=f'The layout "{self.root}"')
        full = self.root / rel
        target = resolved(full)
        if target.is_relative_to(self._resolved):
            return full, None
        blob = _BLOB_PATH.fullmatch(rel)
        if blob is not None:
            try:
                return full, Digest(blob.group(1), blob.group(2))
            except InvalidDigest:
                pass  # no digest to check it against: refused like any other path
        raise link_outside(full, self.root, "read")

    def _regular(self, path: str) -> tuple[Path, Digest | None]:
        """The file for ``path`` (see :meth:`_path`); FileNotFoundError when there is none,
        a sentence when it cannot be looked at (permissions)."""
        full, digest = self._path(path)
        try:
            if not full.is_file():
                raise FileNotFoundError(str(full))
        except PermissionError as exc:
            raise TransportError(describe_os_error(exc, full)) from exc
        return full, digest

    def open(self, path: str, *, cancel: CancelToken | None = None,
             size: int | None = None) -> IO[bytes]:
        """Open a file; a blob linked from outside the folder only once it proved to be
        the blob (``cancel`` is checked while it is hashed; one of another ``size`` than
        its descriptor's is refused before it is read)."""
        full, digest = self._regular(path)
        try:
            stream = full.open("rb")
        except PermissionError as exc:
            raise TransportError(describe_os_error(exc, full)) from exc
        if digest is None:
            return stream
        try:
            self._check_linked_blob(stream, full, digest, cancel, size)
        except BaseException:
            stream.close()
            raise
        return stream

    def head(self, path: str, size: int) -> bytes:
        full, _digest = self._regular(path)
        try:
            with full.open("rb") as stream:
                return stream.read(size)
        except OSError as exc:
            raise TransportError(describe_os_error(exc, full)) from exc

    def _check_linked_blob(
        self, stream: IO[bytes], full: Path, digest: Digest, cancel: CancelToken | None,
        size: int | None = None,
    ) -> None:
        """Hash the open file, then rewind it; DigestMismatch when it is not the blob (at
        once, from its size, when that is not ``size``)."""
        try:
            actual_size = os.fstat(stream.fileno()).st_size
        except OSError as exc:
            raise TransportError(describe_os_error(exc, full)) from exc
        if size is not None and actual_size != size:
            raise DigestMismatch(
                f'The blob "{full}" of the layout "{self.root}" is a link to '
                f'"{full.resolve()}", outside the layout, of {actual_size:,} bytes where its '
                f"descriptor promises {size:,}; refusing to read it."
            )
        hasher = digest.hasher()
        try:
            while True:
                check(cancel)
                chunk = stream.read(CHUNK_SIZE)
                if not chunk:
                    break
                hasher.update(chunk)
            stream.seek(0)
        except OSError as exc:
            raise TransportError(describe_os_error(exc, full)) from exc
        actual = Digest(digest.algorithm, hasher.hexdigest())
        if actual != digest:
            raise DigestMismatch(
                f'The blob "{full}" of the layout "{self.root}" is a link to '
                f'"{full.resolve()}", outside the layout, whose content does not match its '
                f"digest: expected {digest}, got {actual}; refusing to read it."
            )

    def exists(self, path: str) -> bool:
        try:
            self._regular(path)
        except FileNotFoundError:
            return False
        return True

    def size(self, path: str) -> int:
        return self._regular(path)[0].stat().st_size

    def close(self) -> None:
        pass


class NotRegularFile(OSError):
    """:func:`open_regular` found something else than a regular file (a FIFO, a device,
    a folder) where a file was expected."""


def open_regular(path: Path) -> IO[bytes]:
    """Open ``path`` (links followed) to read it, when it is a regular file.

    MUST be used for a small file of a layout or image folder that is read whole: a
    FIFO there made ``open()`` wait for a writer for ever (a device reads without end).
    It is opened without waiting and looked at before anything is read; else
    :class:`NotRegularFile`. Other OSErrors (FileNotFoundError, …) pass through."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


_READ_STEP: Final = 64 * 1024
"""What :func:`read_at_most` reads at a time from a stream whose size it does not know."""


def read_at_most(stream: IO[bytes], limit: int) -> bytes:
    """The first ``limit + 1`` bytes of ``stream`` at most: a small file read whole, which
    is too large when more than ``limit`` come back.

    MUST be used instead of ``stream.read(limit + 1)``: a buffered ``read(n)`` allocates
    ``n`` bytes before it reads one (64 MiB for an 88-byte ``index.json``), so under a
    memory limit a copy failed, and so did the take-back of what it had written. Reads
    as much as the file holds when ``stream`` is a plain file (its size from ``fstat``),
    else 64 KiB at a time; OSError passes through."""
    hint: int | None = None
    raw = getattr(stream, "raw", stream)
    if isinstance(raw, io.FileIO):  # (not a member of an archive: its file is the archive)
        try:
            found = os.fstat(raw.fileno())
            if stat.S_ISREG(found.st_mode):
                hint = max(found.st_size - stream.tell(), 0)
        except (OSError, ValueError):
            hint = None
    parts: list[bytes] = []
    total = 0
    while total <= limit:
        want = limit + 1 - total
        if hint is not None and total <= hint:
            want = min(want, hint + 1 - total)  # (the one more byte finds a file that grew)
        else:
            want = min(want, _READ_STEP)
        chunk = stream.read(want)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def blob_path(digest: Digest) -> str:
    """Where an OCI layout keeps a blob: ``blobs/<alg>/<hex>``."""
    return f"blobs/{digest.algorithm}/{digest.hex}"


def location_gone(folder: Path) -> LocationGone:
    """The sentence of a layout or image folder opened earlier that is no longer there."""
    return LocationGone(f'The folder "{folder}" is no longer there: it was moved or deleted '
                        "since it was opened.")


def _open(
    tree: FileTree, path: str, digest: Digest, cancel: CancelToken | None = None,
    size: int | None = None,
) -> IO[bytes]:
    try:
        return tree.open(path, cancel=cancel, size=size)
    except FileNotFoundError:
        if isinstance(tree, DirTree) and not os.path.isdir(tree.root):
            # not one blob missing: the whole folder, since the tree was opened
            raise location_gone(tree.root) from None
        if isinstance(tree, DirTree) and os.path.lexists(tree.root / path):
            raise BlobNotFound(  # (still missing as a blob: nothing else is read instead)
                f"The blob {digest} in {tree.description} is not a regular file (at {path}: "
                "a FIFO, a device, a folder, or a link to one or to nothing); it cannot be "
                "read.") from None
        from spyglass.core.transports.tartree import TarTree, truncation_hint

        # (an oci-archive cut between two members reads as a whole tar but for its end)
        hint = truncation_hint(tree) if isinstance(tree, TarTree) else ""
        raise BlobNotFound(
            f"The blob {digest} is missing from {tree.description} (expected at {path})."
            f"{hint}"
        ) from None
    except OSError as exc:
        raise TransportError(describe_os_error(exc, f"{tree.description}: {path}")) from exc


def open_verified(
    tree: FileTree,
    path: str,
    digest: Digest,
    size: int | None,
    *,
    cancel: CancelToken | None = None,
) -> VerifyingReader:
    """Open ``path`` in ``tree`` as a stream verified against ``digest`` and ``size``."""
    return VerifyingReader(
        _open(tree, path, digest, cancel, size),
        digest,
        size,
        what=f"The blob {path} in {tree.description}",
        cancel=cancel,
    )


def read_small_blob(
    tree: FileTree,
    path: str,
    digest: Digest,
    size: int | None,
    *,
    what: str,
    cancel: CancelToken | None = None,
) -> bytes:
    """Read a manifest or config whole: verified, and refused above 4 MiB."""
    stream = _open(tree, path, digest, cancel, size)
    try:
        return read_verified(
            stream, digest, size, limit=MAX_MANIFEST_SIZE, what=what, cancel=cancel
        )
    except OSError as exc:
        raise TransportError(describe_os_error(exc, f"{tree.description}: {path}")) from exc
    finally:
        stream.close()


def link_outside(link: Path, layout: Path, doing: str) -> InvalidLayout:
    """The refusal of ``link``, a file of the layout at ``layout`` whose symbolic link
    leads outside it, which a copy was to ``doing`` (``read``, ``write``): a source's and
    a destination's alike."""
    return InvalidLayout(
        f'"{link}" is a link that leads outside the layout "{layout}"; refusing to {doing} it.'
    )


def resolved(path: Path) -> Path:
    """``path`` with its symbolic links followed (``Path.resolve``), refused with a
    sentence when they go round in a loop."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:  # Python < 3.13 says a loop with RuntimeError
        raise InvalidLayout(
            f'"{path}" is a symbolic link that leads back to itself (a loop of links); '
            "name the file or folder itself."
        ) from exc


def describe_os_error(exc: OSError, path: Path | str) -> str:
    """A sentence for an OSError on ``path``."""
    return f'Cannot read "{path}": {os_reason(exc)}.'
