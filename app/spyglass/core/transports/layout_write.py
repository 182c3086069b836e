"""Writing OCI image layouts (``oci:PATH[:REF]``): :class:`OCILayoutDestination`
prepares the folder, lands blobs and manifests, names the image in
``index.json`` under a lock, and takes back what a failed copy added. Over a
private staging folder it writes the content of an ``oci-archive:`` too.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import stat
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from spyglass.core import gojson, media
from spyglass.core.cancel import CancelToken, check, in_place_from_here
from spyglass.core.digest import Digest, Readable
from spyglass.core.errors import (
    InvalidDigest,
    InvalidReference,
    SpyglassError,
    TooLarge,
    TransportError,
    Unsupported,
)
from spyglass.core.filemodes import FOLDER_MODE, make_folders, remove_made_folders
from spyglass.core.manifest import (
    IMAGE_NAME_ANNOTATION,
    MAX_MANIFEST_SIZE,
    REF_NAME_ANNOTATION,
    Descriptor,
    guess_media_type,
)
from spyglass.core.transports.base import (
    COMPRESSED,
    LeftBehind,
    ProgressCallback,
    Room,
)
from spyglass.core.transports.blob_write import KnownBlobs, file_matches, write_blob
from spyglass.core.transports.file_lock import exclusive_lock
from spyglass.core.transports.file_write import (
    describe_write_error,
    fsync_dir,
    fsync_file,
    refuse_missing_folder,
    replace_file,
)
from spyglass.core.transports.files import DirTree, blob_path, read_small_blob
from spyglass.core.transports.layout_files import (
    INDEX_FILE,
    INDEX_LOCK,
    LAYOUT_FILE,
    MAX_INDEX_FILE_SIZE,
    check_existing,
    containers_temporaries,
    dump_index,
    empty_index,
    index_file,
    read_index_file,
    referenced_blobs,
    refuse_other_than_folder,
)
from spyglass.core.transports.layout_left import (
    LEFT_FILE,
    LeftJournal,
    disown_left,
    forget_left,
    made_folders,
    read_left,
    record_left,
)
from spyglass.core.transports.stubs import no_stored_signatures
from spyglass.core.transports.temporaries import (
    ORPHAN_AGE,
    TempFiles,
    claimed_by_others,
    last_change,
    sweep_orphans,
)
from spyglass.core.units import human_size

log = logging.getLogger(__name__)

AT_WORK: Final = "at-work-"
"""The kind of temporary (``.spyglass-tmp-at-work-…``) a copy into a layout keeps there,
claimed, while it relies on the layout's blobs."""

_LAYOUT_BYTES: Final = b'{"imageLayoutVersion":"1.0.0"}'

TAKE_BACK_WAIT: Final = 2.0
"""Seconds a stopped copy waits for the index lock to take back what it wrote: another
copy holds it moments at a time, but a program that holds it on (another tool, one
stopped with Ctrl+Z) must not keep a cancel from ending; its blobs then stay,
unreferenced."""


class OCILayoutDestination:
    """An :class:`~spyglass.core.transports.base.ImageDestination` for ``oci:PATH[:REF]``.

    Opening it prepares the layout: a folder that does not exist or is empty
    becomes a layout (``oci-layout`` with version 1.0.0, ``blobs/``, an empty
    ``index.json``); an existing layout is checked (its ``oci-layout`` and
    ``index.json`` must be readable, its layout version 1.x as for reading it);
    anything else is refused with
    :class:`InvalidLayout`, so nothing is ever written into a folder of other
    files. The layout's own folder is made where it is missing, not the folders
    above it (a missing one is refused, as the archives refuse it and skopeo does),
    unless ``make_parents``: ``spyglass sync`` names layouts below its destination
    folder and makes what is missing, as ``skopeo sync`` does.

    Blobs and manifests land through
    :func:`~spyglass.core.transports.blob_write.write_blob`: a temporary file in
    the layout folder (``.spyglass-tmp-*``), verified, synced and renamed to
    ``blobs/<alg>/<hex>``. :meth:`reuse_blob` trusts a blob already in the
    layout only after hashing it (once per copy: blobs this destination wrote
    or verified are remembered). A blob that is a link (Bazel's rules_oci, a
    shared store of blobs) is the blob when what it leads to hashes to it, and
    stays a link; one that does not is never renamed over (a failed copy could
    not put it back): the copy is refused, saying so.

    :meth:`commit` is the only step that touches ``index.json``: under an
    exclusive ``flock`` on ``index.json.lock`` (containers/image and umoci lock
    nothing around ``index.json``; every Spyglass writer, in any thread or
    process, takes this one; the file is there only while it is held) it
    re-reads the index, adds the entry named ``REF`` (annotation
    ``org.opencontainers.image.ref.name``), and replaces the file atomically.
    Two copies into one layout therefore both keep their refs. As
    containers/image does, the entries ``REF`` named before keep their place
    without it (a Docker 25+ save names every image "latest" and tells them
    apart by ``io.containerd.image.name``; dropped, they would lose that name
    too, and their blobs to the next garbage collection); :attr:`commit_notes`
    names them. An entry of the same digest that no ref names becomes the new
    entry, keeping its other annotations; else the entry is appended.

    Opening it also removes what a killed copy left: ``.spyglass-tmp-*`` files
    no live process claims (see :func:`~spyglass.core.transports.temporaries.sweep_orphans`).

    :meth:`abort` removes temporary files and takes back the blobs this copy
    added (under the lock, leaving any an ``index.json`` entry leads to, and
    all of them when some of the layout cannot be walked and ``index.json`` changed
    since the copy began; nothing it does allocates much, so it works in a copy that
    failed for want of memory), so a cancelled or
    failed copy leaves the layout as it was; ``index.json`` is untouched. A
    concurrent Spyglass copy that reused such a blob finds it gone when it
    commits and fails with a sentence instead of naming a missing blob. No
    blob is taken back while another copy is at work in the layout (a Spyglass
    copy's claimed marker, or a containers/image temporary, ``oci-put-blob*``,
    changed in the last 15 minutes, is there): it may have found them there. They are recorded then
    (:mod:`~spyglass.core.transports.layout_left`), :attr:`left_behind` says so,
    and the last copy to leave the layout (committed or stopped, no other at
    work) takes back those no entry names by then, and the layout a stopped copy
    made when nothing else is left in it: copies cancelled together leave the
    layout as it was. Other
    tools (skopeo between blobs, umoci) take no lock and leave no trace: one
    that reuses a blob this copy added and then takes back could name a
    missing blob. A layout folder the destination
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
        make_parents: bool = False,
        cancel: CancelToken | None = None,
    ) -> None:
        self.path = path
        self.ref = ref
        shown = name_path if name_path is not None else path
        self._name = f"{transport}:{shown}" + (f":{ref}" if ref else "")
        self._unnamed_name = f"{transport}:{shown}"
        self._private = private
        self._make_parents = make_parents
        self._temps = TempFiles(path)
        self._known = KnownBlobs()
        self._media_types: dict[Digest, str] = {}
        self._attached: list[dict[str, Any]] = []  # index entries of attachments put
        self._unnamed: list[tuple[int, dict[str, Any]]] = []
        """The entries the ref was taken from when the copy was committed, by position."""
        self._lock = threading.Lock()
        self._synced_dirs: set[Path] = set()
        self._state = "open"
        self._made_folders: list[Path] = []
        """The folders this destination made: the layout's (and, with ``make_parents``,
        those above it)."""
        self._made_layout = False
        self._created: list[str] = []
        """What setting the layout up wrote in it (oci-layout, index.json, blobs), taken
        back if the set-up fails."""
        self._written: set[Digest] = set()
        self._added: set[Digest] = set()  # blobs that were not in the layout before this copy
        self._marked = False
        self._marker: Path | None = None
        """A claimed temporary in the layout while this copy relies on its blobs: a
        concurrent copy's take-back sees it and spares them (see _take_back_blobs)."""
        self._index_found: tuple[int, ...] | None = None
        """What told the layout's ``index.json`` apart when this copy set the layout up
        (:func:`_file_identity`): while it is still that file, no entry names a blob this
        copy added (see :meth:`_take_back_own`)."""
        self._left: LeftBehind | None = None
        self._tidy = False
        """Committed, with :meth:`tidy` still to do."""
        self._prepare(cancel)

    # -- preparing the layout

    @property
    def _what(self) -> str:
        return f'The OCI image layout "{self.path}"'

    def _prepare(self, cancel: CancelToken | None) -> None:
        path = self.path
        try:
            if path.exists() or path.is_symlink():
                refuse_other_than_folder(path)
                if not self._private:
                    check_existing(path)  # refuse before creating anything in it
            elif not self._make_parents:
                # (a mistyped parent is said, not made)
                refuse_missing_folder(Path(os.path.abspath(path)).parent, path)
            self._made_folders = make_folders(path)
        except OSError as exc:
            raise TransportError(describe_write_error(exc, path)) from exc
        try:
            if self._private:
                try:
                    self._create_files()
                except BaseException:
                    self._undo_preparing()
                    raise
                return
            with exclusive_lock(path / INDEX_LOCK, what=self._what, cancel=cancel):
                try:
                    check_existing(path)
                    self._create_files()
                    self._index_found = _file_identity(index_file(path))
                    sweep_orphans(path)
                    self._disown_if_named()
                except BaseException:
                    # under the lock: another copy's set-up of this folder, or its
                    # image, cannot come between the look and the removal
                    self._undo_preparing()
                    raise
        except BaseException:
            # interrupted while waiting for the lock too: another copy may have set up
            # the folder this one made meanwhile, so each folder goes only if empty
            self._temps.remove_all()
            remove_made_folders(self._made_folders)
            raise

    def _disown_if_named(self) -> None:
        """A layout whose index.json names an image was not made by a stopped copy, whatever
        its journal says (see :func:`~spyglass.core.transports.layout_left.disown_left`);
        the caller holds the index lock."""
        if not (self.path / LEFT_FILE).exists():
            return
        try:
            named = bool(self._read_index()["manifests"])
        except SpyglassError:
            return
        if named:
            disown_left(self.path, temps=self._temps)

    def _undo_preparing(self) -> None:
        """After a failure to set up a layout in a folder this destination made (a full
        disk, Ctrl+C): remove what it wrote there, so a refused copy leaves nothing (an
        existing folder keeps what it had; the folders made go after, each if empty).

        Called with the index lock held (or on a private folder). Only the files this
        set-up wrote, and only while the layout holds nothing else: no entry in its
        index, no blob, nothing else in the folder, as :meth:`_undo_creation` checks.
        """
        self._temps.remove_all()
        created, self._created = self._created, []
        path = self.path
        if not created or path not in self._made_folders:
            return
        try:
            index = path / INDEX_FILE
            if index.exists() and gojson.loads(index.read_bytes()).get("manifests"):
                return
            for _folder, _dirs, files in os.walk(path / "blobs"):
                if files:
                    return
            if any(name not in (LAYOUT_FILE, INDEX_FILE, INDEX_LOCK, "blobs")
                   for name in os.listdir(path)):
                return
            for name in created:
                if name != "blobs":
                    (path / name).unlink()
            if "blobs" in created:
                (path / "blobs").rmdir()  # (only while empty)
        except (OSError, ValueError, AttributeError):
            return  # leave it: a layout that is there is better than a half-removed one

    def _create_files(self) -> None:
        """Write what a layout needs before a blob goes in (``blobs``, an empty
        ``index.json``, ``oci-layout``), not synced: the syncs would cost each copy into a
        new folder four journal commits before its first request (about 0.1 s on
        ext4). :meth:`commit` syncs ``oci-layout`` and replaces ``index.json``
        durably before the image counts; a copy that fails takes them back.

        ``oci-layout`` goes last: a copy killed between two of them leaves ``blobs`` (what
        containers/image leaves of a layout it was writing) or ``blobs`` and ``index.json``
        (a layout without its ``oci-layout`` file, as older BuildKit wrote them), which
        readers read and a later copy completes; never an ``oci-layout`` without
        ``index.json``, which no tool reads (see
        :func:`~spyglass.core.transports.layout_files.check_existing`)."""
        path = self.path
        try:
            if not (path / LAYOUT_FILE).exists():
                # a layout made here is taken back if the copy fails; one that only
                # lacked its oci-layout file (older BuildKit) keeps what it had
                self._made_layout = not (path / INDEX_FILE).exists()
                layout_file = True
            else:
                layout_file = False
            try:
                (path / "blobs").mkdir(FOLDER_MODE)
            except FileExistsError:
                if not (path / "blobs").is_dir():
                    raise
            else:
                self._created.append("blobs")
            index = index_file(path)
            if not index.exists():
                replace_file(index, dump_index(empty_index()), temps=self._temps,
                             durable=False)
                self._created.append(INDEX_FILE)
            elif not self._private:
                # a layout that was there: its blobs are as readable as the index that
                # names them, whatever the umask (a shared layout stays readable to
                # all its readers, a private one private)
                self._temps.file_mode = stat.S_IMODE(index.stat().st_mode) & 0o666
            if layout_file:
                replace_file(path / LAYOUT_FILE, _LAYOUT_BYTES, temps=self._temps, durable=False)
                self._created.append(LAYOUT_FILE)
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

    def _blob_target(self, digest: Digest) -> Path | None:
        """Where the blob ``digest`` goes, asked just before the rename into place; None
        when a link there leads to it (the link stays). A link that does not is refused:
        a rename over it could not be taken back should the copy fail."""
        target = self.path / blob_path(digest)
        try:
            linked = stat.S_ISLNK(os.lstat(target).st_mode)
        except FileNotFoundError:
            new = True
        else:
            new = False
            if linked:
                if file_matches(target, digest, None, links=True):
                    return None
                raise TransportError(self._wrong_link(target, digest))
        with self._lock:
            self._synced_dirs.add(target.parent)
            if new:
                self._added.add(digest)
        return target

    def _wrong_link(self, target: Path, digest: Digest) -> str:
        """The sentence for a blob's link in the layout that does not lead to the blob."""
        try:
            leads = f'a link to "{os.readlink(target)}", which '
        except OSError:
            leads = "a link, which "
        if os.path.exists(target):
            leads += "does not hold that blob"
        else:
            leads += "does not exist"
        return (f"The blob {digest} in the {self._what[4:]} is {leads}; Spyglass does not "
                "replace a link in a layout (a copy that failed could not put it back). "
                "Remove the link, or make it lead to the blob, and copy again.")

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
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None,
        sending: bool = True,
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
            # a link to the blob (rules_oci's layouts, a store of blobs shared by layouts)
            # is the blob, as it is to read: checked, wherever it leads, and left as it is
            if file_matches(self.path / blob_path(digest), digest, descriptor.size,
                            cancel=cancel, links=True):
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

    def room_needed(self, blobs: Sequence[Descriptor]) -> Room:
        """Implement LocalDestination: the blobs the layout does not hold yet, and its
        ``index.json`` once more (replaced whole, the old one stays until the new one is
        written)."""
        try:
            index = (self.path / INDEX_FILE).stat().st_size
        except OSError:
            index = 0
        return Room(self.path, index + sum(blob.size for blob in {
            blob.digest: blob for blob in blobs if not self.holds_blob(blob)}.values()))

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
        # oci-layout first: its sync commits the renames of blobs into place with it,
        # so the folders' syncs after it find little left to do
        fsync_file(self.path / LAYOUT_FILE)
        with self._lock:
            dirs = sorted(self._synced_dirs)
        if dirs:
            dirs.append(self.path / "blobs")  # (blobs/sha256's own entry, when made)
        for folder in dirs:
            fsync_dir(folder)
        if self._private:
            self._update_index(entry)
            self._state = "committed"
            return
        with exclusive_lock(self.path / INDEX_LOCK, what=self._what, cancel=cancel):
            self._check_blobs_still_there()
            in_place_from_here()  # (the new index.json names the image once renamed)
            self._update_index(entry)
            self._state = "committed"
            if (self.path / LEFT_FILE).exists():  # it holds an image: no longer new
                disown_left(self.path, temps=self._temps)
            # under the lock: a copy stopped after this sees it gone (see _leave)
            if self._marker is not None:
                self._temps.discard(self._marker)
            self._tidy = True

    def tidy(self) -> None:
        """Implement TidiesAfter: as the last copy to leave the layout, once committed,
        take back what stopped copies left there (see :meth:`_leave`), under the index
        lock. Best effort, and silent: the image is in place."""
        tidy, self._tidy = self._tidy, False
        if not tidy or not (self.path / LEFT_FILE).exists():
            return
        try:
            with exclusive_lock(self.path / INDEX_LOCK, what=self._what, wait=TAKE_BACK_WAIT):
                self._leave(set(), "them")
        except (OSError, SpyglassError) as exc:
            log.info('The blobs stopped copies left in the OCI image layout "%s" stay: %s',
                     self.path, exc)

    def _check_blobs_still_there(self) -> None:
        """Every blob this copy relies on is still in the layout (the caller holds the lock).

        Something else may have removed one while the copy ran: a garbage collection
        (``umoci gc`` removes the blobs no entry of index.json names yet, those this
        copy wrote among them), or a cancelled copy taking back the blobs it added (one
        this copy found there and reused may have been among them). Which, the layout
        does not tell: the sentence says what is known.
        """
        missing = [d for d in self._known.digests() if not (self.path / blob_path(d)).exists()]
        if missing:
            raise TransportError(
                f'The blob {missing[0]} went missing from the OCI image layout "{self.path}" '
                "while the image was copied: this copy wrote it there or counted on it being "
                "there, and something else removed it (a garbage collection such as umoci gc "
                "does, and so does a cancelled copy into the same layout, taking back what it "
                "added); index.json was left as it is. Copy again once nothing else is "
                "changing the layout."
            )

    def _read_index(self) -> dict[str, Any]:
        """The layout's ``index.json`` as data (the caller holds the lock)."""
        return read_index_file(index_file(self.path), self._what)

    def _update_index(self, entry: dict[str, Any]) -> None:
        """Add ``entry`` and the attachments put to index.json; the caller holds the
        lock (or the folder is private).

        As containers/image does: the images the new entry's ref name named keep their
        entries, without that annotation (a Docker 25+ save names each image "latest",
        told apart by ``io.containerd.image.name``); an entry of the same digest that no
        ref names becomes the new entry, its other annotations kept; other entries stay.
        An attachment's entry (a cosign tag) replaces the entry of its name: the new one
        holds what the old one did (see :mod:`spyglass.core.copy_attachments`).
        """
        data = self._read_index()
        with self._lock:
            attached = list(self._attached)
        updated, unnamed = _add_entry(list(data["manifests"]), entry, keep_named=True)
        for new in attached:
            updated, _ = _add_entry(updated, new, keep_named=False)
        data["manifests"] = updated
        raw = dump_index(data)
        if len(raw) > MAX_INDEX_FILE_SIZE:  # never write what could not be read again
            raise TooLarge(
                f"{self._what}'s index.json would grow to {len(raw)} bytes with this image, "
                f"more than the {MAX_INDEX_FILE_SIZE // (1024 * 1024)} MiB read back; it was "
                "left as it is. Write the image into another layout.")
        replace_file(index_file(self.path), raw, temps=self._temps)
        self._unnamed = [(n, item) for n, item in enumerate(updated)
                         if any(item is kept for kept in unnamed)]

    @property
    def commit_notes(self) -> tuple[str, ...]:
        """Implement CommitNotes: the images the ref was taken from (they stay, unnamed
        but for their other names, at their positions)."""
        if not self._unnamed or self.ref is None:
            return ()
        count = len(self._unnamed)
        shown = ", ".join(
            f"{self._unnamed_name}:@{n}"
            + f" ({(item.get('annotations') or {}).get(IMAGE_NAME_ANNOTATION) or item['digest']})"
            for n, item in self._unnamed[:8]) + (f" and {count - 8} more" if count > 8 else "")
        images = "another image" if count == 1 else f"{count} other images"
        return (f'the ref "{self.ref}" named {images} in the {self._what[4:]} before; '
                f"{'it stays' if count == 1 else 'they stay'} there without it: {shown}",)

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
        (as skopeo and Spyglass read it) would then hold several images, none chosen.
        A clause that stands after "left behind: " (the destination named once, in what
        to do)."""
        if self.ref is not None:
            return None
        return (f"an image written without a name keeps nothing attached to it; name it, "
                f"as {self._unnamed_name}:NAME, to keep what is attached")

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

    @property
    def left_behind(self) -> LeftBehind | None:
        """Implement LeavesBehind: the blobs :meth:`abort` left in the layout, and why."""
        return self._left

    def abort(self) -> None:
        if self._state in ("committed", "aborted"):
            return
        self._temps.remove_all()  # (this copy's claim goes with them: see _leave)
        self._state = "aborted"
        if self._private:
            return
        made = self._take_back_blobs()
        if made is not None:
            self._undo_creation(*made)

    def _take_back_blobs(self) -> tuple[list[Path], set[Digest]] | None:
        """Remove the blobs this copy added to the layout, so that it is as it was; and,
        as the last copy to leave it, those stopped copies left there (see :meth:`_leave`).

        Under the index lock, and only those no ``index.json`` entry names; none
        while another copy is at work in the layout: a Spyglass copy (its claimed
        marker or temporaries are there), or one of containers/image (skopeo,
        podman: its ``oci-put-blob*`` temporary is there, changed lately; it takes no
        lock, and
        commits an entry naming any blob it found there without looking again).
        Either may have found them there and be relying on them, so they stay,
        recorded in the layout's journal (:mod:`~spyglass.core.transports.layout_left`)
        for the last copy to leave the layout to take back, and :attr:`left_behind`
        says so. A Spyglass copy that reused one in the moment between that look and
        the removal checks at its commit that it is still there. Best effort: a blob
        that cannot be removed stays, recorded in the journal and said (see
        :meth:`_left_stuck`). When the layout cannot be read whole (a broken index.json,
        or no memory to read it), the blobs this copy added go all the same while
        index.json is the file it found (:meth:`_take_back_own`); a MemoryError never
        leaves this method.

        Returns what :meth:`_undo_creation` is given, when this copy made the layout or
        takes back one a stopped copy made: the folders made for it, and the blobs
        taken back besides this copy's; None when neither.
        """
        with self._lock:
            added = set(self._added)
            written = set(self._written)
        made = (self._made_folders, written) if self._made_layout else None
        if not self._marked and not self._made_layout and not self._made_folders:
            return None  # it relied on nothing there: no copy left it anything to take back
        them = "it" if len(added) == 1 else "them"
        try:
            with exclusive_lock(self.path / INDEX_LOCK, what=self._what, wait=TAKE_BACK_WAIT):
                why, journal = self._leave(added, them)
                if why is not None:
                    later = self._record_left(added)
                    if added:
                        self._say_left(added, why, later=later)
                    return made
                if journal is not None and (self._made_layout or journal.made_layout):
                    # the layout a stopped copy made, or this one: with the most folders
                    # either made for it (one may have made the folder, the other the files)
                    folders = self._made_folders
                    if journal.folders > len(folders):
                        folders = made_folders(self.path, journal.folders)
                    made = (folders, written | journal.blobs)
        except SpyglassError as exc:  # the lock could not be taken: the blobs stay
            if added:
                self._say_left(added, str(exc).rstrip("."), later=False)
        except MemoryError:  # (reading index.json needs none: see _take_back_own)
            if added:
                self._say_left(added, "Spyglass ran out of memory while taking them back",
                               later=False)
            return None
        return made

    def _leave(self, added: set[Digest], them: str) -> tuple[str | None, LeftJournal | None]:
        """As this copy leaves the layout (the caller holds the index lock): remove the
        blobs ``added`` and those stopped copies left (the journal's), each unless an
        entry of ``index.json`` leads to it, and forget the journal; unless another copy
        is at work there, or the layout cannot be read whole.

        Returns why nothing was removed (a clause, ``them`` naming the blobs), or None;
        and the journal that was read (None when there was none, or it was not read, or
        it was left as it is because only this copy's blobs could be told apart). A blob
        that cannot be removed is recorded and said (:meth:`_left_stuck`).
        """
        if claimed_by_others(self.path):
            return f"another copy is at work there and may use {them}", None
        writing, stale = self._containers_temporaries()
        if writing:
            return (f"a skopeo copy (or another containers/image tool) is writing there "
                    f"({writing[0]}) and may use {them}"), None
        journal = read_left(self.path)
        if not added and journal is None:
            return None, None
        for name, changed in stale[:1]:
            log.warning('The OCI image layout "%s" holds %s, a temporary a skopeo copy (or '
                        "another containers/image tool) left there, unchanged since %s: no "
                        "such copy is taken to be at work (remove it).", self.path, name,
                        time.strftime("%Y-%m-%d %H:%M", time.localtime(changed)))
        try:
            used = referenced_blobs(self.path, self._what)
        except MemoryError:
            used = None
        if used is None:  # a layout we cannot read whole: leave everything as it is
            if self._take_back_own(added):  # but what no entry can name
                return None, None
            return ("its index.json or a manifest it names could not be read, so which "
                    "are used could not be told"), journal
        left = journal.blobs if journal is not None else frozenset()
        stuck = self._remove_blobs((added | left) - used)
        if journal is not None:
            forget_left(self.path)
            if taken := left - used - stuck.keys():
                log.info('Took back %d blobs stopped copies had left in the OCI image layout '
                         '"%s".', len(taken), self.path)
        if stuck:
            self._left_stuck(stuck, added, journal)
        return None, journal

    def _remove_blobs(self, digests: set[Digest]) -> dict[Digest, OSError]:
        """Remove the blobs ``digests`` from the layout; those that could not be removed
        (one gone already is not among them), and why."""
        stuck: dict[Digest, OSError] = {}
        for digest in digests:
            try:
                (self.path / blob_path(digest)).unlink()
            except FileNotFoundError:
                pass  # gone already
            except OSError as exc:  # (the permission to change blobs/ lost, a read-only disk)
                stuck[digest] = exc
        return stuck

    def _left_stuck(self, stuck: dict[Digest, OSError], added: set[Digest],
                    journal: LeftJournal | None) -> None:
        """Blobs :meth:`_leave` could not remove: recorded in the journal for a later copy
        to take back (with the layout a stopped copy made, which they keep there now), and
        said (:meth:`_say_left`) of those this copy added (the caller holds the lock)."""
        committed = self._state == "committed"  # (the layout holds an image: not new)
        made = not committed and (self._made_layout
                                  or (journal is not None and journal.made_layout))
        folders = 0 if committed else max(len(self._made_folders),
                                          journal.folders if journal is not None else 0)
        try:
            record_left(self.path, LeftJournal(frozenset(stuck), made, folders),
                        temps=self._temps)
            later = True
        except (OSError, SpyglassError) as exc:
            log.info("The blobs left could not be recorded: %s", exc)
            later = False
        own = set(stuck) & added
        if own:
            first = min(own, key=str)
            reason = stuck[first].strerror or type(stuck[first]).__name__
            more = f" and {len(own) - 1} more" if len(own) > 1 else ""
            self._say_left(own, f"{'it' if len(own) == 1 else 'they'} could not be removed "
                                f"({reason.rstrip('.')}: {self.path / blob_path(first)}{more})",
                           later=later)

    def _take_back_own(self, added: set[Digest]) -> bool:
        """Remove the blobs ``added`` when the layout cannot be read whole (its index.json
        is broken, or there was no memory to read it) but is still the one this copy
        found: they were not there when it set the layout up, and no entry named them
        since, so nothing else needs them (the caller holds the lock, and no other copy
        is at work). False, removing nothing, when index.json changed meanwhile. Reads
        nothing: a copy that failed for want of memory still takes back what it wrote."""
        if self._index_found is None or _file_identity(
                index_file(self.path)) != self._index_found:
            return False
        stuck = self._remove_blobs(added)
        if stuck:
            self._left_stuck(stuck, added, None)
        return True

    def _containers_temporaries(self) -> tuple[list[str], list[tuple[str, float]]]:
        """The blob temporaries of containers/image in the layout: those a copy of theirs
        is writing (changed within :data:`~spyglass.core.transports.temporaries.ORPHAN_AGE`:
        they take no claim, so their age alone tells), and those a stopped one left, with
        when they last changed (they keep nothing: a killed skopeo's stays for ever)."""
        writing: list[str] = []
        stale: list[tuple[str, float]] = []
        now = time.time()
        for name in containers_temporaries(self.path):
            changed = last_change(self.path / name)
            if changed is None:
                continue  # gone meanwhile: its copy renamed it into place
            if now - changed < ORPHAN_AGE:
                writing.append(name)
            else:
                stale.append((name, changed))
        return writing, stale

    def _record_left(self, added: set[Digest]) -> bool:
        """Record ``added`` in the layout's journal, and that this copy made the layout or
        folders for it if it did, for the last copy to leave to take back (the caller
        holds the index lock); False when the journal cannot be written (the blobs then
        stay for good)."""
        if not added and not self._made_layout and not self._made_folders:
            return True
        left = LeftJournal(frozenset(added), self._made_layout, len(self._made_folders))
        try:
            record_left(self.path, left, temps=self._temps)
        except SpyglassError as exc:
            log.info("The blobs left could not be recorded: %s", exc)
            return False
        return True

    def _say_left(self, added: set[Digest], why: str, *, later: bool) -> None:
        """A note (a warning: the command line shows it, ``-q`` or not) that the blobs
        ``added`` stay in the layout, unnamed, and why; and :attr:`left_behind`.
        ``later``: they are recorded for the last copy to leave the layout."""
        size = 0
        for digest in added:
            try:
                size += (self.path / blob_path(digest)).stat().st_size
            except OSError:
                continue
        count = f"{len(added)} blob{'' if len(added) == 1 else 's'}"
        them = "it" if len(added) == 1 else "them"
        self._left = LeftBehind(tuple(sorted(added, key=str)), size, why, later)
        log.warning('Left the %s (%s) the stopped copy added in the OCI image layout "%s" '
                    "(blobs/, named by no entry of index.json): %s%s.", count,
                    human_size(size), self.path, why,
                    f"; the last copy to leave the layout takes {them} back" if later else "")

    def _undo_creation(self, made: list[Path], ours: set[Digest]) -> None:
        """Remove the layout a copy created (this one, or a stopped one that left it to
        this one), if nothing but the blobs ``ours`` is in it, and then the folders
        ``made`` for it, each if empty.

        So a refused or failed copy into a new folder leaves no empty layout
        behind. Anything another writer put there (a committed entry, a blob
        or temporary file not among ``ours``, another copy's journal) keeps it.
        """
        path = self.path
        try:
            with exclusive_lock(path / INDEX_LOCK, what=self._what, wait=TAKE_BACK_WAIT):
                index = gojson.loads((path / INDEX_FILE).read_bytes())
                if index.get("manifests"):
                    return
                mine = {str(path / blob_path(d)) for d in ours}
                for folder, _dirs, files in os.walk(path / "blobs"):
                    if any(os.path.join(folder, f) not in mine for f in files):
                        return
                for name in os.listdir(path):
                    if name not in (LAYOUT_FILE, INDEX_FILE, INDEX_LOCK, "blobs"):
                        return
                shutil.rmtree(path / "blobs")
                for name in (LAYOUT_FILE, INDEX_FILE):
                    (path / name).unlink()
            # the lock file goes as the lock is let go; the folder then, if it is empty
            # (another writer may be waiting in it, with a lock file of its own), and
            # the folders above it the copy made, each if empty
            remove_made_folders(made)
        except (OSError, ValueError, SpyglassError, MemoryError):
            # leave it: a layout that is there is better than a half-removed one (or
            # nothing to do: one deleted under the copy cannot be locked)
            return

    def close(self) -> None:
        if self._state == "open":
            self.abort()
        self.tidy()


def _file_identity(path: Path) -> tuple[int, ...] | None:
    """What tells the file at ``path`` from another or a changed one (replaced, written in
    place); None when it cannot be looked at."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _ref_of(item: dict[str, Any]) -> str | None:
    # parse_manifest checked every entry is an object with string annotations
    name: str | None = (item.get("annotations") or {}).get(REF_NAME_ANNOTATION)
    return name


def _add_entry(entries: list[dict[str, Any]], new: dict[str, Any], *, keep_named: bool
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``entries`` with ``new`` added (see OCILayoutDestination._update_index), and the
    entries of other digests that lost their ref name to it (with ``keep_named``; without,
    they are dropped)."""
    name = _ref_of(new)
    kept: list[dict[str, Any]] = []
    unnamed: list[dict[str, Any]] = []
    for item in entries:
        if name is not None and _ref_of(item) == name:
            if not keep_named:
                continue
            annotations = {key: value for key, value in item["annotations"].items()
                           if key != REF_NAME_ANNOTATION}
            item = {key: value for key, value in item.items() if key != "annotations"}
            if annotations:
                item["annotations"] = annotations
            unnamed.append(item)
        kept.append(item)
    for n, item in enumerate(kept):
        if _ref_of(item) is None and item.get("digest") == new["digest"]:
            # the same manifest: what else its entry says of it (its platform, its
            # containerd name) stays true
            merged = {**item, **new}
            annotations = {**(item.get("annotations") or {}), **(new.get("annotations") or {})}
            if annotations:
                merged["annotations"] = annotations
            kept[n] = merged
            break
    else:
        kept.append(new)
    return kept, [item for item in unnamed if item.get("digest") != new["digest"]]


def open_layout_destination(
    path: Path, ref: str | None, index: int | None = None, *,
    make_parents: bool = False, cancel: CancelToken | None = None,
) -> OCILayoutDestination:
    """Open ``oci:PATH[:REF]`` for writing (``@N`` picks an image to read, never to write);
    ``make_parents`` makes the missing folders above ``PATH`` too (see
    :class:`OCILayoutDestination`); ``cancel`` stops the wait for another program's lock
    on the layout."""
    if index is not None:
        raise InvalidReference(
            f'"oci:{path}:@{index}" names an image by its position, which only works for '
            f"reading; write to oci:{path}:REF or oci:{path}."
        )
    return OCILayoutDestination(path, ref, make_parents=make_parents, cancel=cancel)
