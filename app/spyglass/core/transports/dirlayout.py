"""containers/image's ``dir:`` layout (``dir:PATH``), read side.

A ``dir:`` folder holds exactly one image, as ``skopeo copy … dir:PATH`` writes it
(containers/image ``directory/directory_transport.go``)::

    version                    "Directory Transport Version: 1.1\\n"
    manifest.json              the top-level manifest or list; its media type is not stored
    <hex>                      every blob, named by the hex of its sha256 digest
    <hex>.manifest.json        with ``--all``: one per instance of a manifest list
    signature-N, <hex>.signature-N
                               simple-signing signatures (not read yet)

Blobs of other algorithms: released containers/image names them by the bare hex
(``digest.Encoded()``) whatever the algorithm; the next layout version names
them ``<algorithm>-<hex>`` (``sha512-…``). A sha512 blob is looked for under
both names, the prefixed one first. Hex strings of different algorithms have
different lengths, so the two schemes never collide.

The folder is read, never written, and never trusted: every instance manifest
and blob is verified against the digest it is asked for.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest, VerifyingReader
from spyglass.core.errors import (
    DigestMismatch,
    ImageNotFound,
    InvalidDigest,
    InvalidLayout,
    InvalidManifest,
    TooLarge,
    TransportError,
    Unsupported,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    manifest_digest,
    parse_manifest,
)
from spyglass.core.transports.base import ImageEntry, ImageSource
from spyglass.core.transports.files import DirTree, describe_os_error, open_verified

TRANSPORT: Final = "dir"
MANIFEST_FILE: Final = "manifest.json"
VERSION_FILE: Final = "version"
VERSION_PREFIX: Final = "Directory Transport Version: "
_VERSION_RE: Final = re.compile(r"Directory Transport Version: (\d+)\.(\d+)\n?")


def blob_names(digest: Digest) -> tuple[str, ...]:
    """The file names a blob may have in a ``dir:`` folder, the preferred one first."""
    if digest.algorithm == "sha256":
        return (digest.hex,)
    return (f"{digest.algorithm}-{digest.hex}", digest.hex)


def instance_manifest_names(digest: Digest) -> tuple[str, ...]:
    """The file names of a per-instance manifest (``skopeo copy --all``), preferred first."""
    return tuple(f"{name}.manifest.json" for name in blob_names(digest))


def _what(path: Path) -> str:
    return f'The dir: image folder "{path}"'


def _check_folder(path: Path) -> None:
    """Refuse a path that is no ``dir:`` image folder, with a sentence naming it."""
    try:
        if not path.exists():
            raise InvalidLayout(
                f'The path "{path}" does not exist; expected a dir: image folder '
                "(as skopeo copy … dir:PATH writes it)."
            )
        if not path.is_dir():
            raise InvalidLayout(f'"{path}" is not a folder; expected a dir: image folder.')
        manifest = path / MANIFEST_FILE
        if not manifest.exists():
            hint = ""
            if (path / "oci-layout").is_file():
                hint = f" It looks like an OCI image layout; open it as oci:{path}."
            raise InvalidLayout(
                f'"{path}" is not a dir: image folder: it has no {MANIFEST_FILE}.{hint}'
            )
        if not manifest.is_file():
            raise InvalidLayout(
                f'"{path}" is not a dir: image folder: its {MANIFEST_FILE} is not a regular file.'
            )
    except OSError as exc:
        raise TransportError(describe_os_error(exc, path)) from exc
    _check_version(path)


def _check_version(path: Path) -> None:
    """Accept a missing ``version`` file or a 1.x one; refuse anything else with a sentence."""
    version_path = path / VERSION_FILE
    try:
        if not version_path.exists():
            return
        with version_path.open("rb") as stream:
            raw = stream.read(256)
    except OSError as exc:
        raise TransportError(describe_os_error(exc, version_path)) from exc
    text = raw.decode("utf-8", errors="replace")
    match = _VERSION_RE.fullmatch(text)
    if match is None:
        raise InvalidLayout(
            f'{_what(path)} has a version file that reads "{text.strip()[:60]}"; expected '
            f'"{VERSION_PREFIX}1.1".'
        )
    if int(match.group(1)) != 1:
        raise Unsupported(
            f"{_what(path)} was written in dir: layout version {match.group(1)}."
            f"{match.group(2)}; Spyglass reads version 1.x."
        )


def _read_manifest_file(tree: DirTree, name: str, path: Path) -> bytes:
    """Read a manifest file whole, refusing it above 4 MiB; FileNotFoundError when absent."""
    try:
        size = tree.size(name)
        if size > MAX_MANIFEST_SIZE:
            raise TooLarge(
                f'The manifest "{path / name}" is {size} bytes, more than the 4 MiB accepted '
                "for manifests."
            )
        with tree.open(name) as stream:
            raw = stream.read(MAX_MANIFEST_SIZE + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise TransportError(describe_os_error(exc, path / name)) from exc
    if len(raw) > MAX_MANIFEST_SIZE:
        raise TooLarge(
            f'The manifest "{path / name}" is more than the 4 MiB accepted for manifests.'
        )
    return raw


class DirImageSource:
    """An :class:`ImageSource` over a ``dir:`` folder.

    ``get_manifest(None)`` returns ``manifest.json`` unverified (nothing names
    its digest) with media type None; ``get_manifest(digest)`` returns the
    per-instance manifest ``<hex>.manifest.json`` (or ``manifest.json`` when
    that is the manifest asked for), verified with
    :func:`~spyglass.core.manifest.manifest_digest` so that signed schema 1
    manifests verify as registries compute their digests.
    """

    def __init__(self, path: Path) -> None:
        _check_folder(path)
        self.path = path
        self.tree = DirTree(path)

    @property
    def description(self) -> str:
        return f"{TRANSPORT}:{self.path}"

    def _top_manifest(self) -> bytes:
        try:
            return _read_manifest_file(self.tree, MANIFEST_FILE, self.path)
        except FileNotFoundError:
            raise InvalidLayout(
                f'"{self.path}" is not a dir: image folder: it has no {MANIFEST_FILE}.'
            ) from None

    def get_manifest(
        self, digest: str | None = None, *, cancel: CancelToken | None = None
    ) -> tuple[bytes, str | None]:
        check(cancel)
        if digest is None:
            return self._top_manifest(), None
        try:
            wanted = Digest.parse(digest)
        except InvalidDigest as exc:
            raise ImageNotFound(f"{_what(self.path)} has no manifest {digest!r}: {exc}") from exc
        for name in instance_manifest_names(wanted):
            try:
                raw = _read_manifest_file(self.tree, name, self.path)
            except FileNotFoundError:
                continue
            self._verify(raw, wanted, self.path / name)
            return raw, None
        top = self._top_manifest()
        if manifest_digest(top, algorithm=wanted.algorithm) == wanted:
            return top, None
        raise ImageNotFound(
            f"{_what(self.path)} has no manifest {wanted}: neither {MANIFEST_FILE} nor a "
            f"{instance_manifest_names(wanted)[0]} file matches it."
        )

    @staticmethod
    def _verify(raw: bytes, wanted: Digest, where: Path) -> None:
        try:
            actual = manifest_digest(raw, algorithm=wanted.algorithm)
        except InvalidManifest as exc:
            raise DigestMismatch(
                f'The manifest "{where}" cannot be verified against {wanted}: {exc}'
            ) from exc
        if actual != wanted:
            raise DigestMismatch(
                f'The manifest "{where}" does not match its digest: expected {wanted}, got '
                f"{actual}. The content is corrupt or was tampered with."
            )

    def open_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> VerifyingReader:
        check(cancel)
        names = blob_names(descriptor.digest)
        for name in names[:-1]:
            if self.tree.exists(name):
                return open_verified(
                    self.tree, name, descriptor.digest, descriptor.size, cancel=cancel
                )
        return open_verified(
            self.tree, names[-1], descriptor.digest, descriptor.size, cancel=cancel
        )

    def close(self) -> None:
        self.tree.close()


class DirLocation:
    """A ``dir:`` folder as a browsable :class:`Location` with its one image."""

    def __init__(self, path: Path) -> None:
        self._source = DirImageSource(path)
        self.path = path

    @property
    def kind(self) -> str:
        return "dir"

    @property
    def title(self) -> str:
        return self.path.name or str(self.path)

    @property
    def description(self) -> str:
        return f"{TRANSPORT}:{self.path}"

    def list_images(self, *, cancel: CancelToken | None = None) -> Iterator[ImageEntry]:
        check(cancel)
        raw, _ = self._source.get_manifest(cancel=cancel)
        try:
            parsed = parse_manifest(raw)
        except InvalidManifest as exc:
            raise InvalidLayout(
                f"{_what(self.path)} has a {MANIFEST_FILE} that is not a usable manifest: {exc}"
            ) from exc
        descriptor = Descriptor(
            media_type=parsed.media_type,
            digest=parsed.digest,
            size=len(raw),
        )
        yield ImageEntry(
            label=self.path.name or "image",
            descriptor=descriptor,
            name=self.description,
        )

    def open_image(self, entry: ImageEntry) -> ImageSource:
        if entry.name != self.description:
            raise ImageNotFound(
                f'{_what(self.path)} holds one image, {self.description}; "{entry.name}" is not it.'
            )
        return DirImageSource(self.path)

    def close(self) -> None:
        self._source.close()


def open_dir_image(path: Path) -> DirImageSource:
    """Open ``dir:PATH`` for reading."""
    return DirImageSource(path)


def open_dir_location(path: Path) -> DirLocation:
    """Open a ``dir:`` folder for browsing."""
    return DirLocation(path)


def looks_like_dir_layout(path: Path) -> bool:
    """True when ``path`` is a folder that looks like a ``dir:`` image; never raises.

    With a ``version`` file, that file decides; without one (hand-made folders),
    ``manifest.json`` must be a JSON object with a ``schemaVersion``, which
    tells it apart from an unpacked ``docker save`` (whose manifest.json is a list).
    """
    try:
        if not (path / MANIFEST_FILE).is_file():
            return False
        version_path = path / VERSION_FILE
        if version_path.exists():
            with version_path.open("rb") as stream:
                return stream.read(len(VERSION_PREFIX)) == VERSION_PREFIX.encode()
        manifest = path / MANIFEST_FILE
        if manifest.stat().st_size > MAX_MANIFEST_SIZE:
            return False
        data = json.loads(manifest.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and "schemaVersion" in data
