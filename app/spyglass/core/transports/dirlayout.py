"""containers/image's ``dir:`` layout (``dir:PATH``): reading, and writing it atomically.

A ``dir:`` folder holds exactly one image, as ``skopeo copy … dir:PATH`` writes it
(containers/image ``directory/directory_transport.go``)::

    version                    "Directory Transport Version: 1.1\\n"
    manifest.json              the top-level manifest or list; its media type is not stored
    <hex>                      every blob, named by the hex of its sha256 digest
    <hex>.manifest.json        with ``--all``: one per instance of a manifest list
    signature-N, <hex>.signature-N
                               signatures of the top manifest / of an instance,
                               numbered from 1: a bare OpenPGP message (simple
                               signing) or a zero byte, a format name and a newline
                               before the content (``sigstore-json``)

Blobs of other algorithms: released containers/image names them by the bare hex
(``digest.Encoded()``) whatever the algorithm; the next layout version names
them ``<algorithm>-<hex>`` (``sha512-…``). A sha512 blob is looked for under
both names, the prefixed one first. Hex strings of different algorithms have
different lengths, so the two schemes never collide.

The reader never trusts the folder: every instance manifest and blob is
verified against the digest it is asked for. The writer builds a new image
beside the folder and swaps it in only when it is complete.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from spyglass.core import gojson
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest, Readable, VerifyingReader
from spyglass.core.errors import (
    DigestMismatch,
    ImageNotFound,
    InvalidDigest,
    InvalidLayout,
    InvalidManifest,
    TooLarge,
    TransportError,
    Unsupported,
    VerificationError,
    clause,
)
from spyglass.core.filemodes import (
    keeping_folders,
    make_folders,
    new_folder_mode,
    remove_made_folders,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    manifest_digest,
    parse_manifest,
)
from spyglass.core.transports.base import ImageEntry, ImageSource, ProgressCallback, Room
from spyglass.core.transports.blob_write import KnownBlobs, file_matches, put_blob_file, write_blob
from spyglass.core.transports.dir_swap import (
    recover_set_aside,
    remove_replaced,
    set_aside_hint,
    swap_in,
)
from spyglass.core.transports.file_write import (
    check_replaceable,
    describe_write_error,
    refuse_missing_folder,
    replace_file,
)
from spyglass.core.transports.files import (
    DirTree,
    NotRegularFile,
    describe_os_error,
    location_gone,
    open_regular,
    open_verified,
    read_at_most,
    resolved,
)
from spyglass.core.transports.stubs import no_attached_manifests
from spyglass.core.transports.temporaries import TempFiles, TempFolder

log = logging.getLogger(__name__)

TRANSPORT: Final = "dir"
MANIFEST_FILE: Final = "manifest.json"
VERSION_FILE: Final = "version"
VERSION_PREFIX: Final = "Directory Transport Version: "
SIGNATURE_PREFIX: Final = "signature-"
MAX_SIGNATURE_SIZE: Final = 4 * 1024 * 1024
"""containers/image's limit for one signature, as for manifests."""
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
            hint = set_aside_hint(Path(os.path.abspath(path)))
            raise InvalidLayout(
                f'The path "{path}" does not exist; expected a dir: image folder '
                f"(as skopeo copy … dir:PATH writes it).{hint}"
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
        with open_regular(version_path) as stream:
            raw = stream.read(256)
    except NotRegularFile:
        raise InvalidLayout(
            f'"{path}" is not a dir: image folder: its {VERSION_FILE} is not a regular file.'
        ) from None
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
            raw = read_at_most(stream, MAX_MANIFEST_SIZE)
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
            if not self.path.is_dir():
                raise location_gone(self.path) from None
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
            raise ImageNotFound(
                f"{_what(self.path)} has no manifest {digest!r}: {clause(exc)}"
            ) from exc
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
                f'The manifest "{where}" cannot be verified against {wanted}: {clause(exc)}'
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

    def referrers(
        self,
        digest: Digest,
        *,
        artifact_type: str | None = None,
        cancel: CancelToken | None = None,
    ) -> list[Descriptor]:
        """Override AttachmentSource.referrers: a ``dir:`` folder holds one image, no referrers."""
        return []

    def tagged_manifest(
        self, tag: str, *, cancel: CancelToken | None = None
    ) -> Descriptor | None:
        """Override AttachmentSource.tagged_manifest: a ``dir:`` folder has no tags."""
        return None

    def stored_signatures(
        self, digest: Digest, *, cancel: CancelToken | None = None
    ) -> list[bytes]:
        """Override AttachmentSource.stored_signatures: ``signature-1``, ``signature-2``, …
        for the top manifest, ``<hex>.signature-N`` for an instance of a list, as
        containers/image writes them; read until the first missing number."""
        check(cancel)
        top = manifest_digest(self._top_manifest(), algorithm=digest.algorithm) == digest
        prefix = "" if top else f"{digest.hex}."
        found: list[bytes] = []
        while True:
            name = f"{prefix}{SIGNATURE_PREFIX}{len(found) + 1}"
            try:
                size = self.tree.size(name)
                if size > MAX_SIGNATURE_SIZE:
                    raise TooLarge(
                        f'The signature "{self.path / name}" has {size} bytes, more than the '
                        f"{MAX_SIGNATURE_SIZE // 1024} KiB accepted for a signature."
                    )
                with self.tree.open(name) as stream:
                    found.append(read_at_most(stream, MAX_SIGNATURE_SIZE))
            except FileNotFoundError:
                return found
            except OSError as exc:
                raise TransportError(describe_os_error(exc, str(self.path / name))) from exc

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
                f"{_what(self.path)} has a {MANIFEST_FILE} that is not a usable manifest: "
                f"{clause(exc)}"
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
            with open_regular(version_path) as stream:
                return stream.read(len(VERSION_PREFIX)) == VERSION_PREFIX.encode()
        manifest = path / MANIFEST_FILE
        if manifest.stat().st_size > MAX_MANIFEST_SIZE:
            return False
        data = gojson.loads(manifest.read_bytes())
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and "schemaVersion" in data


# --------------------------------------------------------------------------- write side

VERSION_TEXT: Final = f"{VERSION_PREFIX}1.1\n"
"""What the ``version`` file of a written image says (containers/image's current version)."""


_IMAGE_FILE_RE: Final = re.compile(
    r"version|manifest\.json|signature-[0-9]+"
    r"|(?:[a-z0-9]+-)?[0-9a-f]{32,128}(?:\.manifest\.json|\.signature-[0-9]+)?"
    r"|dir-put-blob[0-9]+"
)
"""The names a dir: image is made of: ``version``, ``manifest.json``, blobs by digest,
instance manifests and signatures (containers/image's ``directory`` paths), and the
``dir-put-blob<digits>`` temporary a skopeo interrupted mid-blob leaves behind
(``directory_dest.go`` makes it with ``os.CreateTemp(path, "dir-put-blob")``): it is
skopeo's own leftover, not a file of the user's, so it goes with the image it was
written into rather than block that image from being replaced."""


def _other_files(entries: list[str]) -> list[str]:
    """The entries of a dir: image folder that are not part of any dir: image."""
    return sorted(e for e in entries if not _IMAGE_FILE_RE.fullmatch(e))


def _is_dir_image_folder(path: Path) -> bool:
    """True when ``path`` has a ``version`` file of dir: layout version 1.x."""
    try:
        with open_regular(path / VERSION_FILE) as stream:
            text = stream.read(256).decode("utf-8", errors="replace")
    except OSError:
        return False
    match = _VERSION_RE.fullmatch(text)
    return match is not None and int(match.group(1)) == 1



def check_dir_destination(path: Path, *, make_parents: bool = False) -> bool:
    """Raise the refusal a ``dir:`` copy to ``path`` would meet (a file there, a folder
    that holds something else than a dir: image, or other files beside one, no folder
    to hold a new one unless ``make_parents``), writing nothing; whether an image is
    there, which the copy replaces."""
    target = Path(os.path.abspath(path))
    if target.is_symlink():
        target = resolved(target)
    try:
        if not target.exists():
            if not make_parents:
                refuse_missing_folder(target.parent, path)  # (a mistyped parent is not made)
            return False
        if not target.is_dir():
            raise InvalidLayout(
                f'"{path}" is not a folder; a dir: image is written into a new or empty '
                "folder or over another dir: image."
            )
        entries = os.listdir(target)
    except OSError as exc:
        raise TransportError(describe_os_error(exc, path)) from exc
    if entries and not _is_dir_image_folder(target):
        hint = ""
        if "oci-layout" in entries:
            hint = f" It is an OCI image layout; write to it as oci:{path}:REF."
        raise InvalidLayout(
            f'The folder "{path}" is not empty and is not a dir: image (it has no '
            f"{VERSION_FILE} file of dir: layout 1.x); Spyglass does not replace other "
            f"files with an image. Choose a new or empty folder.{hint}"
        )
    others = _other_files(entries)
    if others:
        shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
        raise InvalidLayout(
            f'The folder "{path}" holds a dir: image and other files too ({shown}); '
            "Spyglass replaces a dir: image whole, so they would be lost. Move them, or "
            "choose a new or empty folder."
        )
    try:
        existing = target.stat()
    except OSError as exc:
        raise TransportError(describe_os_error(exc, path)) from exc
    check_replaceable(target, existing, path)  # as skopeo, which empties it, would need
    return bool(entries)


class DirDestination:
    """An :class:`~spyglass.core.transports.base.ImageDestination` for ``dir:PATH``.

    Writes containers/image's ``dir:`` format, version 1.1, as
    ``skopeo copy … dir:PATH`` does (``directory/directory_dest.go``): the
    ``version`` file, every blob named by the hex of its digest, the top
    manifest (or list) as ``manifest.json``, and — when a list is copied with
    its instances — each instance manifest as ``<hex>.manifest.json``. Any
    manifest type is stored; lists are accepted.

    A ``dir:`` folder holds one image. containers/image empties an existing
    one when the copy starts; this destination instead builds the new image
    in a hidden sibling folder (``.NAME.spyglass-tmp-*``, same filesystem)
    and swaps it in at :meth:`commit` — in one step where the kernel can, else
    the old folder renamed away, the new one renamed in, the old one removed
    (see :mod:`~spyglass.core.transports.dir_swap`) — so the old image stays
    complete until the new one is. An old image a killed swap left set aside
    is put back before the copy first writes (not by a dry run). :meth:`abort` removes
    the sibling; one that a killed copy left is removed by the next copy to ``PATH`` (see
    :class:`~spyglass.core.transports.temporaries.TempFolder`). A ``PATH`` that
    is a symbolic link is followed: the link stays and the folder it points
    to is replaced.

    The folder that holds ``PATH`` must be there (a missing one is refused, as the
    archives refuse it and skopeo does), unless ``make_parents``: ``spyglass sync``
    names folders below its destination and makes what is missing, as ``skopeo sync``
    does (``MkdirAll``). Refused with
    :class:`InvalidLayout`: a ``PATH`` that is a file, and a
    non-empty folder without a ``version`` file of dir: layout 1.x (which
    containers/image refuses too: "not a containers image directory, don't
    want to overwrite important data").

    :meth:`reuse_blob` answers ``"exists"`` for blobs written in this copy,
    and for blobs of the image being replaced after hashing them: those are
    hard-linked into the new folder (copied where links are impossible).
    """

    def __init__(self, path: Path, *, make_parents: bool = False) -> None:
        self.path = path
        self._make_parents = make_parents
        self._name = f"{TRANSPORT}:{path}"
        target = Path(os.path.abspath(path))
        if target.is_symlink():
            target = resolved(target)
        self._target = target
        self._replaces_image = False
        self._made_folders: list[Path] = []
        """The missing folders above the target this copy made, with ``make_parents``
        (taken back with it)."""
        self._recovered = False  # (see _recover: not here, where a dry run opens it too)
        self._check_target()
        self._folder = self._make_staging()
        self._staging = self._folder.path
        self._temps = TempFiles(self._staging)
        self._known = KnownBlobs()
        self._state = "open"
        self._lock = threading.Lock()
        self._signatures: dict[Digest, list[bytes]] = {}  # put_stored_signatures, by subject
        self._replaced: Path | None = None
        """Where the image the commit replaced is, until :meth:`tidy` removes it."""

    def _recover(self) -> None:
        """Before the copy first writes: put back the old image a killed swap set aside,
        or remove those no longer needed (see
        :func:`~spyglass.core.transports.dir_swap.recover_set_aside`); once. Not when
        the destination opens: a dry run opens it, and writes nothing."""
        with self._lock:
            if self._recovered:
                return
            self._recovered = True
            if self._state != "open":
                return
            recover_set_aside(self._target, self.path, _is_dir_image_folder)
            if not self._replaces_image:  # (one put back is replaced)
                self._replaces_image = os.path.lexists(self._target)

    def _check_target(self) -> None:
        self._replaces_image = check_dir_destination(self.path,
                                                     make_parents=self._make_parents)

    def _make_staging(self) -> TempFolder:
        parent = self._target.parent
        try:
            # in one block: another image's failure must not take back a parent this
            # one found (made by it, still empty) before the staging folder is in it
            with keeping_folders():
                if self._make_parents:  # (a sync's, as skopeo sync's MkdirAll)
                    self._made_folders = make_folders(parent)
                staging = TempFolder(parent, self._target.name)
        except OSError as exc:
            remove_made_folders(self._made_folders)
            raise TransportError(describe_write_error(exc, self._target)) from exc
        try:
            mode = new_folder_mode()  # a folder replaced keeps its mode
            if self._target.is_dir():
                mode = stat.S_IMODE(self._target.stat().st_mode)
            os.chmod(staging.path, mode)
        except OSError:
            pass  # mkdtemp's 0700 is safe, just maybe less open than asked
        return staging

    # -- ImageDestination

    @property
    def description(self) -> str:
        return self._name

    @property
    def replaces(self) -> str | None:
        """The dir: image already in the folder, replaced whole (ReplacingDestination)."""
        return f'the dir: image in "{self.path}" already there' if self._replaces_image else None

    @property
    def supported_manifest_types(self) -> tuple[str, ...]:
        return ()

    @property
    def skopeo_keeps_schema1(self) -> str:
        """Implement SkopeoKeepsSchema1: containers/image stores any manifest here."""
        return "in a dir:"

    @property
    def accepts_lists(self) -> bool:
        return True

    @property
    def desired_layer_compression(self) -> str | None:
        return None

    def _check_open(self) -> None:
        if self._state != "open":
            raise TransportError(
                f"The destination {self._name} was already {self._state}; open it again to "
                "write another image."
            )

    def _blob_target(self, digest: Digest) -> Path:
        return self._staging / blob_names(digest)[-1]

    def room_needed(self, blobs: Sequence[Descriptor]) -> Room:
        """Implement LocalDestination: the blobs, but those of the image replaced (a file
        of that name and size, linked into the new folder rather than copied); the old
        image stays until the new one is whole."""
        needed = 0
        for blob in {blob.digest: blob for blob in blobs}.values():
            try:
                there = any((self._target / name).stat().st_size == blob.size
                            for name in blob_names(blob.digest)
                            if (self._target / name).is_file())
            except OSError:
                there = False
            needed += 0 if there else blob.size
        return Room(self._target.parent, needed)

    def reuse_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None,
        sending: bool = True,
    ) -> str | None:
        self._check_open()
        self._recover()
        digest = descriptor.digest
        with self._known.guard(digest):
            known = self._known.size(digest)
            if known is not None:
                return "exists" if known == descriptor.size else None
            for name in blob_names(digest):
                old = self._target / name
                if file_matches(old, digest, descriptor.size, cancel=cancel):
                    if self._adopt(old, descriptor, cancel):
                        return "exists"
                    break
        return None

    def _adopt(self, old: Path, descriptor: Descriptor, cancel: CancelToken | None) -> bool:
        """Bring a verified blob of the old image into the new folder; False when impossible."""
        target = self._blob_target(descriptor.digest)
        try:
            os.link(old, target)
        except FileExistsError:
            pass
        except OSError:
            try:
                with old.open("rb") as stream:
                    write_blob(
                        stream,
                        temps=self._temps,
                        target=self._blob_target,
                        digest=descriptor.digest,
                        size=descriptor.size,
                        what=f'The blob "{old}"',
                        cancel=cancel,
                    )
            except (OSError, TransportError, VerificationError):
                return False
        self._known.add(descriptor.digest, descriptor.size)
        return True

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
        self._recover()
        return put_blob_file(
            stream, temps=self._temps, target=self._blob_target, known=self._known, name=self._name,
            media_type=media_type, digest=digest, size=size, cancel=cancel, progress=progress,
        )

    def put_manifest(
        self, raw: bytes, media_type: str, digest: Digest, *, cancel: CancelToken | None = None
    ) -> None:
        self._check_open()
        self._recover()
        check(cancel)
        self._verify_manifest(raw, media_type, digest)
        name = instance_manifest_names(digest)[-1]
        replace_file(self._staging / name, raw, temps=self._temps)

    def _verify_manifest(self, raw: bytes, media_type: str | None, digest: Digest) -> None:
        if len(raw) > MAX_MANIFEST_SIZE:
            raise TooLarge(
                f"The manifest {digest} is {len(raw)} bytes, more than the 4 MiB accepted for "
                "manifests."
            )
        try:
            actual = manifest_digest(raw, media_type or None, algorithm=digest.algorithm)
        except InvalidManifest as exc:
            raise DigestMismatch(
                f"The manifest {digest} for {self._name} cannot be verified: {clause(exc)}"
            ) from exc
        if actual != digest:
            raise DigestMismatch(
                f"The manifest for {self._name} does not match its digest: expected {digest}, "
                f"got {actual}. Nothing was stored."
            )

    def commit(self, top: Descriptor, raw: bytes, *, cancel: CancelToken | None = None) -> None:
        self._check_open()
        self._recover()
        check(cancel)
        self._verify_manifest(raw, top.media_type, top.digest)
        staging = self._staging
        replace_file(staging / MANIFEST_FILE, raw, temps=self._temps)
        try:
            (staging / instance_manifest_names(top.digest)[-1]).unlink(missing_ok=True)
        except OSError as exc:
            raise TransportError(describe_write_error(exc, staging)) from exc
        replace_file(staging / VERSION_FILE, VERSION_TEXT.encode(), temps=self._temps)
        with self._lock:
            signed = dict(self._signatures)
        for subject, signatures in signed.items():
            prefix = "" if subject == top.digest else f"{subject.hex}."
            for number, blob in enumerate(signatures, 1):
                check(cancel)
                replace_file(staging / f"{prefix}{SIGNATURE_PREFIX}{number}", blob,
                             temps=self._temps)
        check(cancel)
        self._replaced = swap_in(staging, self._target, self.path)
        self._folder.release()
        self._state = "committed"

    def tidy(self) -> None:
        """Implement TidiesAfter: remove the image the commit replaced."""
        replaced, self._replaced = self._replaced, None
        if replaced is not None:
            remove_replaced(replaced, self.path)

    # ---------------------------------------------------------------- attachments

    @property
    def attachment_support(self) -> frozenset[str]:
        """Override AttachmentDestination.attachment_support: ``signature-N`` files."""
        return frozenset({"stored"})

    def put_attachment(
        self,
        subject: Digest,
        descriptor: Descriptor,
        raw: bytes,
        *,
        tag: str | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        """Override AttachmentDestination.put_attachment: a ``dir:`` folder has no place
        for attached manifests (the engine turns cosign signatures into stored ones)."""
        raise no_attached_manifests(self.description, descriptor.digest)

    def put_stored_signatures(
        self, subject: Digest, signatures: list[bytes], *, cancel: CancelToken | None = None
    ) -> None:
        """Override AttachmentDestination.put_stored_signatures: written at commit, as
        ``signature-N`` (the top manifest) or ``<hex>.signature-N`` (an instance)."""
        check(cancel)
        with self._lock:
            self._signatures.setdefault(subject, []).extend(signatures)

    def abort(self) -> None:
        if self._state == "committed":
            return
        self._temps.remove_all()
        self._folder.remove()
        remove_made_folders(self._made_folders)
        self._state = "aborted"

    def close(self) -> None:
        if self._state == "open":
            self.abort()
        self.tidy()


def open_dir_destination(path: Path, *, make_parents: bool = False) -> DirDestination:
    """Open ``dir:PATH`` for writing; ``make_parents`` makes the missing folders above
    ``PATH`` too (see :class:`DirDestination`)."""
    return DirDestination(path, make_parents=make_parents)
