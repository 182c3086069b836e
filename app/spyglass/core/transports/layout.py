"""OCI image layout directories (``oci:PATH[:REF]``), read side.

The reader works on any :class:`FileTree`, so ``oci-archive:`` reuses it over
the members of a tarball.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from spyglass.core import media
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest, VerifyingReader
from spyglass.core.errors import (
    ImageNotFound,
    InvalidDigest,
    InvalidLayout,
    InvalidManifest,
    NotFound,
    TooLarge,
    TransportError,
)
from spyglass.core.manifest import MAX_MANIFEST_SIZE, Descriptor, ImageIndex, parse_manifest
from spyglass.core.transports.base import FileTree, ImageEntry, ImageSource
from spyglass.core.transports.files import (
    DirTree,
    blob_path,
    describe_os_error,
    open_verified,
    read_small_blob,
)


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

    def _read_small(self, name: str) -> bytes:
        try:
            size = self.tree.size(name)
            if size > MAX_MANIFEST_SIZE:
                raise TooLarge(
                    f"{self.what} has an {name} file of {size} bytes, more than the "
                    "4 MiB accepted."
                )
            with self.tree.open(name) as stream:
                return stream.read(MAX_MANIFEST_SIZE + 1)
        except FileNotFoundError:
            raise InvalidLayout(
                f"{self.what} is not an OCI image layout: it has no {name} file."
            ) from None
        except OSError as exc:
            raise TransportError(describe_os_error(exc, f"{self.path}/{name}")) from exc

    def _check_layout_file(self) -> None:
        raw = self._read_small("oci-layout")
        try:
            data = json.loads(raw)
            version = data["imageLayoutVersion"]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
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
            raw = self._read_small("index.json")
            try:
                data = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InvalidLayout(
                    f"{self.what} has an index.json that is not JSON: {exc}."
                ) from exc
            if not isinstance(data, dict) or not isinstance(data.get("manifests"), list):
                raise InvalidLayout(
                    f'{self.what} has an index.json that is not an image index; expected a '
                    'JSON object with a "manifests" list.'
                )
            try:
                parsed = parse_manifest(raw, media.OCI_INDEX)
            except InvalidManifest as exc:
                raise InvalidLayout(f"{self.what} has an invalid index.json: {exc}") from exc
            assert isinstance(parsed, ImageIndex)
            self._index = parsed
        return self._index

    def name_for(self, ref: str | None, index: int | None = None) -> str:
        name = f"{self.transport}:{self.path}" + (f":{ref}" if ref else "")
        return name + (f":@{index}" if index is not None else "")

    def entries(self) -> Iterator[ImageEntry]:
        for position, descriptor in enumerate(self.index().manifests):
            ref = descriptor.ref_name
            yield ImageEntry(
                label=ref or f"@{descriptor.digest.algorithm}:{descriptor.digest.short}",
                descriptor=descriptor,
                name=self.name_for(ref) if ref else self.name_for(None, position),
            )

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
            refs = sorted({d.ref_name for d in manifests if d.ref_name})
            raise ImageNotFound(
                f"{self.what} holds {len(manifests)} images; name one with "
                f"{self.name_for('REF')} or {self.name_for(None, 0)}"
                + (f" (refs: {', '.join(refs)})." if refs else ".")
            )
        matches = [d for d in manifests if d.ref_name == ref]
        if not matches:
            refs = sorted({d.ref_name for d in manifests if d.ref_name})
            raise ImageNotFound(
                f'{self.what} has no image with the ref "{ref}"; '
                + (f"it has: {', '.join(refs)}." if refs else "it has no named images.")
            )
        if len(matches) > 1 and len({d.digest for d in matches}) > 1:
            raise ImageNotFound(
                f'{self.what} has {len(matches)} different images with the ref "{ref}"; '
                "it is ambiguous."
            )
        return matches[0]

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


class LayoutImageSource:
    """An :class:`ImageSource` for one image (top-level entry) of an OCI layout."""

    def __init__(self, reader: OCILayoutReader, top: Descriptor, name: str) -> None:
        self._reader = reader
        self._top = top
        self._name = name

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
    """Refuse a path that does not exist or is not a folder, with a sentence."""
    if not path.exists():
        raise InvalidLayout(f'The path "{path}" does not exist; expected {kind} folder.')
    if not path.is_dir():
        raise InvalidLayout(f'"{path}" is not a folder; expected {kind} folder.')


def open_layout(path: Path) -> OCILayoutLocation:
    """Open an OCI image layout folder for browsing."""
    check_directory(path, "an OCI image layout")
    return OCILayoutLocation(OCILayoutReader(DirTree(path), transport="oci", path=path))


def open_layout_image(path: Path, ref: str | None, index: int | None = None) -> ImageSource:
    """Open ``oci:PATH[:REF|:@N]``."""
    location = open_layout(path)
    top = location.reader.find(ref, index)
    return LayoutImageSource(location.reader, top, location.reader.name_for(ref, index))
