"""File trees on disk, and the shared way transports read blobs out of a tree."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import IO

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest, VerifyingReader, read_verified
from spyglass.core.errors import BlobNotFound, InvalidLayout, TransportError
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


class DirTree:
    """A :class:`FileTree` over a folder on disk. Links may not lead outside the folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._resolved = root.resolve()

    @property
    def description(self) -> str:
        return str(self.root)

    def _path(self, path: str) -> Path:
        rel = safe_relative(path, where=f'The layout "{self.root}"')
        full = self.root / rel
        resolved = full.resolve()
        if not resolved.is_relative_to(self._resolved):
            raise InvalidLayout(
                f'"{full}" is a link that leads outside the layout "{self.root}"; '
                "refusing to read it."
            )
        return full

    def open(self, path: str) -> IO[bytes]:
        full = self._path(path)
        if not full.is_file():
            raise FileNotFoundError(str(full))
        return full.open("rb")

    def exists(self, path: str) -> bool:
        return self._path(path).is_file()

    def size(self, path: str) -> int:
        full = self._path(path)
        if not full.is_file():
            raise FileNotFoundError(str(full))
        return full.stat().st_size

    def close(self) -> None:
        pass


def blob_path(digest: Digest) -> str:
    """Where an OCI layout keeps a blob: ``blobs/<alg>/<hex>``."""
    return f"blobs/{digest.algorithm}/{digest.hex}"


def _open(tree: FileTree, path: str, digest: Digest) -> IO[bytes]:
    try:
        return tree.open(path)
    except FileNotFoundError:
        raise BlobNotFound(
            f"The blob {digest} is missing from {tree.description} (expected at {path})."
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
        _open(tree, path, digest),
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
    stream = _open(tree, path, digest)
    try:
        return read_verified(
            stream, digest, size, limit=MAX_MANIFEST_SIZE, what=what, cancel=cancel
        )
    except OSError as exc:
        raise TransportError(describe_os_error(exc, f"{tree.description}: {path}")) from exc
    finally:
        stream.close()


def describe_os_error(exc: OSError, path: Path | str) -> str:
    """A sentence for an OSError on ``path``."""
    reason = exc.strerror or str(exc)
    return f'Cannot read "{path}": {reason}{"" if reason.endswith(".") else "."}'
