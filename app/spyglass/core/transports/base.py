"""The contracts every transport implements.

A transport module provides an :class:`ImageSource` (read one image: its
manifests and blobs) and, where it can be browsed, a :class:`Location` (list the
images a place holds). The copy engine and the front ends know only these
protocols, never a concrete transport.

All methods may block on disk or network I/O and must be safe to call from a
worker thread. Every method that can take long accepts ``cancel`` and checks it
between chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final, Protocol, runtime_checkable

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest, Readable, VerifyingReader
from spyglass.core.manifest import Descriptor

COMPRESSED: Final = "compressed"
"""What :attr:`ImageDestination.desired_layer_compression` says of a destination whose
uncompressed layers the copy compresses (containers/image's ``types.Compress``)."""

OUTSIDE_WAIT: ContextVar[Callable[[str | None], None] | None] = ContextVar(
    "spyglass_outside_wait", default=None)
"""Told, on the thread of a destination's call, what outside the copy the destination
waits for before it can go on (``a program to read the pipe "f"``: an archive written to
a named pipe no program reads yet), and None once that wait is over. The copy engine
sets it around :meth:`ImageDestination.commit`, so that a copy that waits is said to,
not taken for one that stalled."""

WAIT_FOR_COPY: ContextVar[Callable[[str | None], None] | None] = ContextVar(
    "spyglass_wait_for_copy", default=None)
"""Told, on the thread of :meth:`ImageDestination.reuse_blob`, the registry host that
another copy of this process is sending the blob to, as the destination begins to wait
for that upload (to mount the blob from there once it is done: :data:`~spyglass.core.
transports.registry.underway.UPLOADS_UNDER_WAY`), and None once the wait is over. The
copy engine sets it around each blob's transfer, so that the copy is said to wait, not
taken for one that stalled, and gives back what the transfer held meanwhile."""


@runtime_checkable
class ImageSource(Protocol):
    """Read access to one image (or manifest list) and the blobs it references."""

    @property
    def description(self) -> str:
        """The image's name as a person would type it, e.g. ``oci:/srv/layout:1.0``."""
        ...

    def get_manifest(
        self, digest: str | None = None, *, cancel: CancelToken | None = None
    ) -> tuple[bytes, str | None]:
        """Return ``(raw bytes, media type or None)`` of a manifest.

        With ``digest`` None: the manifest (or list) the image name points at.
        With a digest: that manifest, which MUST be one the image references
        (an instance of a list, a nested index) or is. The bytes MUST have been
        verified against ``digest`` (when given) before they are returned, and
        MUST be refused with :class:`~spyglass.core.errors.TooLarge` above
        :data:`~spyglass.core.manifest.MAX_MANIFEST_SIZE`. The media type is
        what the transport recorded, or None when it does not know; callers
        then guess it from the content.

        Raises :class:`~spyglass.core.errors.ImageNotFound` when the name or
        digest is unknown to the source.
        """
        ...

    def open_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> VerifyingReader:
        """Open a blob for streaming.

        The returned reader MUST verify the content against ``descriptor``'s
        digest and size as it is read, raising a
        :class:`~spyglass.core.errors.VerificationError` instead of the final
        empty read when it does not match. A caller trusts the bytes only after
        reading to the end. WARNING: memory use must not grow with the blob's
        size; never read the whole blob to return it.

        Raises :class:`~spyglass.core.errors.BlobNotFound` when it is missing.
        """
        ...

    def close(self) -> None:
        """Release files and connections. Safe to call twice."""
        ...


@runtime_checkable
class NamedDigest(Protocol):
    """An :class:`ImageSource` that knows the digest of the manifest its name names before
    reading it: a layout's ``index.json`` entry, a registry's name by digest. The manifest
    read keeps that digest, of whatever algorithm (a manifest's bytes hash to a sha256
    digest too, but an entry named ``sha512:…`` is stored and found under that name)."""

    @property
    def named_digest(self) -> Digest | None:
        """The digest :meth:`ImageSource.get_manifest` without one serves the manifest of,
        where it is known; None otherwise."""
        ...


@runtime_checkable
class AttachmentSource(Protocol):
    """What a source can say about the things attached to its manifests: signatures,
    attestations, SBOMs, other OCI referrers. Sources that hold none (archives)
    do not implement it.

    ``get_manifest`` and ``open_blob`` of such a source MUST also serve the
    manifests and blobs of what these methods return.
    """

    def referrers(
        self,
        digest: Digest,
        *,
        artifact_type: str | None = None,
        cancel: CancelToken | None = None,
    ) -> list[Descriptor]:
        """Manifests whose ``subject`` is the manifest ``digest`` (OCI 1.1 referrers),
        found the best way the place allows (a registry's referrers API, else its
        ``sha256-<hex>`` referrers tag; a layout's index). Empty when there are none.
        """
        ...

    def tagged_manifest(
        self, tag: str, *, cancel: CancelToken | None = None
    ) -> Descriptor | None:
        """The manifest a tag of the image's repository (or ref name of its layout)
        names, such as cosign's ``sha256-<hex>.sig``; None when there is no such tag.
        A layout ``cosign save`` wrote names none: the entry it kept of that tag
        (annotated ``kind``, see :mod:`spyglass.core.referrers`) stands for it."""
        ...

    def stored_signatures(
        self, digest: Digest, *, cancel: CancelToken | None = None
    ) -> list[bytes]:
        """Signatures kept beside the manifest ``digest`` rather than as manifests:
        ``dir:``'s ``signature-N`` files, in order. Empty when there are none."""
        ...


@runtime_checkable
class DigestedDestination(Protocol):
    """An :class:`ImageDestination` that may be named by digest
    (``docker://HOST/REPO@sha256:…``): then only the manifest with that digest can be
    written at the top, and the copy checks so before a byte moves."""

    @property
    def required_digest(self) -> Digest | None:
        """The digest the name asks for; None for a name by tag."""
        ...


@runtime_checkable
class CanonicalDigests(Protocol):
    """An :class:`ImageDestination` that names each manifest by the digest it computes
    itself, of one algorithm (a registry: distribution names manifests by sha256, and
    answers DIGEST_INVALID to one stored under a sha512 name). A list whose entries name
    manifests by another algorithm cannot be stored there as it is."""

    @property
    def manifest_digest_algorithm(self) -> str:
        """The algorithm of the digests the destination names manifests by (``sha256``)."""
        ...


@runtime_checkable
class CommitStoresTop(Protocol):
    """An :class:`ImageDestination` whose :meth:`~ImageDestination.commit` stores the top
    manifest itself (a registry's ``PUT`` by tag stores it by digest too): the copy then
    does not put it first, one request less."""

    def commit_stores(self, raw: bytes, media_type: str, digest: Digest) -> bool:
        """Whether :meth:`~ImageDestination.commit` with this top manifest stores all that
        :meth:`~ImageDestination.put_manifest` would (not where it is named by digest
        only, or where putting it does more: a referrer listed for its subject)."""
        ...


@runtime_checkable
class HeldReferrers(Protocol):
    """An :class:`AttachmentDestination` that can say whether it holds a referrer already:
    a copy then does not write it, nor ask about its blobs, again."""

    def referrer_held(
        self, subject: Digest, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> bool:
        """Whether the referrer ``descriptor`` is stored here and listed among the
        referrers of ``subject``."""
        ...


@runtime_checkable
class TaggedDestination(Protocol):
    """An :class:`ImageDestination` that can say what one of its tags names now: a copy
    then never replaces a tag it does not own (cosign's ``sha256-<hex>.sig`` there
    may hold other signatures than the source's), and can read what the tag names, so
    that the copy adds its signatures to those there as containers/image does."""

    def tagged_digest(self, tag: str, *, cancel: CancelToken | None = None) -> Digest | None:
        """The digest ``tag`` names at the destination now; None when there is none."""
        ...

    def read_manifest(
        self, digest: Digest, *, cancel: CancelToken | None = None
    ) -> tuple[bytes, str | None]:
        """``(raw bytes, media type or None)`` of the manifest ``digest`` the destination
        holds (one :meth:`tagged_digest` named).

        The bytes MUST have been verified against ``digest`` and MUST be refused
        with :class:`~spyglass.core.errors.TooLarge` above
        :data:`~spyglass.core.manifest.MAX_MANIFEST_SIZE`. Raises
        :class:`~spyglass.core.errors.NotFound` when it is not there.
        """
        ...

    def read_small_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> bytes:
        """The whole of a small blob the destination holds (the config of a manifest
        :meth:`read_manifest` gave), verified against ``descriptor``'s digest and size.

        MUST refuse more than :data:`~spyglass.core.manifest.MAX_MANIFEST_SIZE` with
        :class:`~spyglass.core.errors.TooLarge`, without reading it all. Raises
        :class:`~spyglass.core.errors.BlobNotFound` when it is not there.
        """
        ...


@runtime_checkable
class ForeignLayers(Protocol):
    """An :class:`ImageDestination` whose manifests may refer to a foreign layer where its
    ``urls`` point, without holding its bytes (a registry, an OCI layout or archive)."""

    @property
    def accepts_foreign_layers(self) -> bool: ...


@runtime_checkable
class SkopeoKeepsSchema1(Protocol):
    """An :class:`ImageDestination` into which containers/image copies a Docker schema 1
    image as it is (``dir:``, which takes any manifest; a registry, which its push tries
    schema 1 first), where Spyglass converts it to schema 2: the copy says that skopeo's
    image there would differ. Elsewhere (an OCI layout or archive, a docker-archive)
    skopeo converts it too."""

    @property
    def skopeo_keeps_schema1(self) -> str:
        """Where skopeo keeps it, ending "… skopeo would keep schema 1 …": ``"in a
        dir:"``, ``"in a registry that still takes it"``."""
        ...


@dataclass(frozen=True)
class Room:
    """The room a copy takes on this machine: about ``needed`` bytes on the filesystem
    that holds ``folder``, where the destination writes them."""

    folder: Path
    needed: int
    what: str = ""
    """What ``folder`` is, where the bytes go somewhere else than the destination (an
    archive for a pipe is made first in the folder for big temporary files): a phrase
    naming it, which a refusal says instead of the destination, with the advice to
    choose another such folder; "" for the destination's own disk."""


@runtime_checkable
class LocalDestination(Protocol):
    """An :class:`ImageDestination` on this machine's disks (a layout, ``dir:``, an
    archive), which can say how much room a copy takes there before it starts: see
    :func:`~spyglass.core.copy_room.check_room`."""

    def room_needed(self, blobs: Sequence[Descriptor]) -> Room:
        """The room writing ``blobs`` takes: those the destination holds already (a
        layout's blob of that name and size, a ``dir:`` image's being replaced) cost
        nothing, and its own files are counted as it makes them (an archive's tar beside
        its staged blobs). MUST change nothing, and be quick (no hashing)."""
        ...


@runtime_checkable
class CheckedDestination(Protocol):
    """An :class:`ImageDestination` that can find out, before anything is copied,
    whether it may be written at all (a registry: the credentials allow a push)."""

    def check_writable(
        self, *, held: Digest | None = None, cancel: CancelToken | None = None
    ) -> None:
        """Raise the refusal (:class:`~spyglass.core.errors.AuthenticationFailed`,
        :class:`~spyglass.core.errors.AccessDenied`, …) that a write would meet; leave
        nothing behind. ``held`` is a blob the copy writes as the source has it (see
        :attr:`~spyglass.core.copy_plan.CopyPlan.check_blob`): where the destination
        holds it already, the check may use it."""
        ...


@runtime_checkable
class WholeImageHolder(Protocol):
    """An :class:`ImageDestination` where a manifest is only ever held with all it names (a
    registry checks that a pushed manifest's blobs and images are there): once its name
    names the very manifest a copy would write, the copy has nothing left to write."""

    def named_now(self, *, cancel: CancelToken | None = None) -> Digest | None:
        """The digest the destination's name names now (its tag's, or its digest where
        that manifest is there); None when it names nothing yet."""
        ...


@runtime_checkable
class ManifestHolder(Protocol):
    """An :class:`ImageDestination` that can say whether it holds a manifest already
    (a layout, a registry): a list copied alone (``--multi-arch index-only``) must
    not name images that are not there."""

    def holds_manifest(self, entry: Descriptor, *, cancel: CancelToken | None = None
                       ) -> bool | None:
        """Whether the manifest of ``entry`` is there (a layout checks its digest); None
        when that cannot be told."""
        ...


@runtime_checkable
class BlobHolder(Protocol):
    """An :class:`ImageDestination` that can say, changing nothing (no mount), whether a
    blob is there already (a layout, a registry repository): planning keeps uncompressed
    layers as they are when they are, as containers/image reuses a blob before it would
    compress it, so an image copied where it already is keeps its digest."""

    def holds_blob(self, descriptor: Descriptor, *, cancel: CancelToken | None = None) -> bool:
        """Whether a blob of that digest and size is there. Not a check of its bytes:
        :meth:`ImageDestination.reuse_blob` still decides whether it counts."""
        ...


@runtime_checkable
class MountHints(Protocol):
    """An :class:`ImageDestination` that mounts blobs from other repositories of its
    registry, where its blob-location cache says they are (a registry)."""

    def mount_source(self, digest: Digest) -> str | None:
        """The repository a copy would try to mount ``digest`` from first, as the cache
        knows it; None when it knows none. Asks the registry nothing, and changes
        nothing: ``--dry-run`` says with it what would be mounted."""
        ...


@runtime_checkable
class ReplacingDestination(Protocol):
    """An :class:`ImageDestination` written whole (an archive, a ``dir:`` folder): what
    is there already is replaced, not added to. The copy's plan says so in a note
    (the command line prints it, ``--dry-run`` shows it)."""

    @property
    def replaces(self) -> str | None:
        """What the copy replaces, as the subject of a sentence (``the archive "a.tar"
        already there``); None when nothing is there."""
        ...


@runtime_checkable
class CommitNotes(Protocol):
    """An :class:`ImageDestination` whose commit can change what else is there in a way
    the plan could not tell beforehand (a layout's ref taken from the images it named:
    whether they are other images is known only once the top manifest is written). The
    copy's :class:`~spyglass.core.copy_events.Finished` carries the notes."""

    @property
    def commit_notes(self) -> tuple[str, ...]:
        """What the last :meth:`ImageDestination.commit` did besides naming the image, as
        notes (lower-case sentences without their full stop); () when nothing."""
        ...


@runtime_checkable
class TidiesAfter(Protocol):
    """An :class:`ImageDestination` with housekeeping to do once the image is in place
    (removing the image it replaced, taking back what stopped copies left): the copy does
    it after it said the image is in place, so that nothing slow stands between the two
    (and an interrupt that stops it cannot hide a finished copy)."""

    def tidy(self) -> None:
        """Do the housekeeping of the last :meth:`~ImageDestination.commit`, once; best
        effort (what cannot be done is logged, never raised). :meth:`close` does it where
        nobody did."""
        ...


@dataclass(frozen=True)
class LeftBehind:
    """Blobs a stopped copy added to its destination and could not take back."""

    blobs: tuple[Digest, ...]
    """The blobs left, as written there."""
    size: int
    """Their bytes, as found there."""
    why: str
    """Why they were left: a clause without its full stop (``another copy is at work
    there and may use them``)."""
    later: bool
    """They are recorded for the last copy to leave the destination to take back (those
    no image there names by then); False: nothing takes them back."""


@runtime_checkable
class LeavesBehind(Protocol):
    """An :class:`ImageDestination` whose :meth:`~ImageDestination.abort` may leave some
    of what the copy wrote (a layout another copy is at work in). The copy's
    :class:`~spyglass.core.copy_events.CopyCancelled` or
    :class:`~spyglass.core.copy_events.Failed` carries it."""

    @property
    def left_behind(self) -> LeftBehind | None:
        """What the last :meth:`~ImageDestination.abort` left; None when it took back
        everything (or was not called). MUST be read only after abort returned."""
        ...


@runtime_checkable
class StoredCompression(Protocol):
    """An :class:`ImageSource` whose layer bytes are not always compressed as their media
    types say.

    containers/image's docker-archive source calls every layer ``tar.gzip`` in
    the manifest it builds, whatever the layer file holds, and serves the bytes
    uncompressed; Spyglass builds the same manifest, byte for byte, and says
    here what the bytes really are, so that a copy never passes plain tars on
    under a gzip name.
    """

    def stored_compression(self, layer: Descriptor) -> str | None:
        """The compression (``"gzip"``, ``"zstd"`` or ``"none"``) of the bytes
        :meth:`ImageSource.open_blob` gives for ``layer``; None when its media type
        says it."""
        ...


def served_compression(source: object, layer: Descriptor) -> str | None:
    """How the bytes ``source`` serves for ``layer`` are compressed: what the source
    says (:class:`StoredCompression`), else what the media type declares (None when
    it declares nothing)."""
    from spyglass.core import media

    if isinstance(source, StoredCompression):
        stored = source.stored_compression(layer)
        if stored is not None:
            return stored
    return media.layer_compression(layer.media_type)


@dataclass(frozen=True)
class ImageEntry:
    """One image a :class:`Location` holds, as a list shows it."""

    label: str
    """What to show: a ref name, ``name:tag``, or a short digest."""
    descriptor: Descriptor
    """The top-level manifest or index of the image."""
    name: str
    """An image name that reopens exactly this image, e.g. ``oci:/p:1.0``."""
    attached: bool = False
    """Something attached to an image (a signature, a referrer) rather than an image: a
    layout lists it, a window shows it with the image it is attached to
    (:func:`~spyglass.core.referrers.is_attached_entry`)."""
    attached_to: Digest | None = None
    """Of an ``attached`` entry, the digest of the manifest it is attached to, where the
    location can tell (a cosign tag names it, a referrer's ``subject``); else None."""


@runtime_checkable
class Location(Protocol):
    """A place that holds images and can be browsed: a layout, an archive, a registry."""

    @property
    def kind(self) -> str:
        """The transport of the place: ``oci``, ``dir``, ``oci-archive``, ``docker-archive``."""
        ...

    @property
    def title(self) -> str:
        """A short name for the place (the folder or file name, the registry host)."""
        ...

    @property
    def description(self) -> str:
        """A longer name: the full path or URL with its transport."""
        ...

    def list_images(self, *, cancel: CancelToken | None = None) -> Iterator[ImageEntry]:
        """Yield the images the place holds, in the place's own order.

        MUST validate what it reads (the index or manifest list) and raise a
        :class:`~spyglass.core.errors.SpyglassError` subclass with a sentence
        naming the path for anything malformed. MAY yield lazily, page by page.
        """
        ...

    def open_image(self, entry: ImageEntry) -> ImageSource:
        """An :class:`ImageSource` for one of the entries :meth:`list_images` yielded."""
        ...

    def close(self) -> None:
        """Release files and connections. Safe to call twice."""
        ...


@runtime_checkable
class PartlyListed(Protocol):
    """A :class:`Location` whose listing passes over an image it cannot read, rather than
    end there: one broken image of a docker-archive must not hide the others."""

    @property
    def unlisted(self) -> tuple[tuple[str, str], ...]:
        """For each image the last :meth:`Location.list_images` passed over, a short name
        of it (``app:1``, ``@2``) and the sentence that says what is wrong with it."""
        ...


class FileTree(Protocol):
    """Read-only access to the files of a layout, on disk or inside an archive.

    Paths are relative, ``/``-separated, and MUST be refused (with
    :class:`~spyglass.core.errors.UnsafeArchive` or
    :class:`~spyglass.core.errors.InvalidLayout`) when they would lead outside
    the tree: ``..`` components, absolute paths, links pointing out. The one
    exception: a tree MAY follow a link out for a blob (``blobs/<alg>/<hex>``),
    and then MUST hand it out only once its content proved to hash to that
    digest (see :class:`~spyglass.core.transports.files.DirTree`).
    """

    @property
    def description(self) -> str:
        """The tree's location for messages: a folder path or an archive path."""
        ...

    def open(self, path: str, *, cancel: CancelToken | None = None,
             size: int | None = None) -> IO[bytes]:
        """Open a regular file; raise FileNotFoundError when there is none.

        ``cancel`` is checked by whatever opening itself reads (a blob hashed
        before it is handed out); reading the stream is the caller's to cancel.
        ``size``, when known, is the size the blob's descriptor promises: a blob that
        must be hashed before it is handed out MUST be refused first when its size is
        another (a link to a file of terabytes was read to its end).
        """
        ...

    def head(self, path: str, size: int) -> bytes:
        """The first ``size`` bytes (fewer for a shorter file) of a regular file, to tell
        what it is; only the tree's own code looks at them, so a blob linked outside is
        not hashed first. FileNotFoundError when there is none."""
        ...

    def exists(self, path: str) -> bool:
        """True when ``path`` names a regular file (after following links inside the tree)."""
        ...

    def size(self, path: str) -> int:
        """The size of a regular file; raise FileNotFoundError when there is none."""
        ...

    def close(self) -> None:
        ...


ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just moved (not the running total)."""


@runtime_checkable
class ImageDestination(Protocol):
    """Write access to one place an image is copied to.

    The copy engine calls, in this order: :meth:`reuse_blob` / :meth:`put_blob`
    for every blob (from several threads at once), :meth:`put_manifest` for
    every instance manifest and then the list (children before parents), and
    finally :meth:`commit` once, which makes the image visible under its name.
    :meth:`abort` instead of :meth:`commit` discards everything not yet
    committed. Nothing a destination writes may be visible under the final
    name before :meth:`commit`; an existing image there stays intact until
    then.
    """

    @property
    def description(self) -> str:
        """The destination's name as a person would type it."""
        ...

    @property
    def supported_manifest_types(self) -> tuple[str, ...]:
        """Manifest media types it can store, preferred first; empty means any."""
        ...

    @property
    def accepts_lists(self) -> bool:
        """Whether it can store a manifest list / index (docker-archive cannot)."""
        ...

    @property
    def desired_layer_compression(self) -> str | None:
        """``"none"`` when layers MUST be stored uncompressed (docker-archive);
        :data:`COMPRESSED` when uncompressed layers are better compressed (a registry,
        an OCI layout: the copy then gzips them unless that would change a digest it
        must keep, as skopeo does); None to keep each layer as it comes (``dir:``)."""
        ...

    def reuse_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None,
        sending: bool = True,
    ) -> str | None:
        """Make the blob available without uploading it, if the destination can.

        Returns ``"exists"`` when the destination already holds it — which MUST
        have been verified (digest checked, or written by this destination in
        this copy) or be the registry's own statement — ``"mounted"`` when it
        was cross-mounted from another repository, or None when it must be
        put. MUST NOT raise for a blob it simply does not have. ``sending``: the
        caller puts this very blob next, by its digest, when it is not there (a
        registry then has the process's other copies wait for it rather than
        send it too); False for a look only (a recompression done before, whose
        bytes are made again and put without a digest when they are not
        there).
        """
        ...

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
        """Store a blob streamed from ``stream``; return its descriptor.

        With ``digest`` (and ``size``) given, the bytes MUST be verified against
        them while they stream; with ``digest`` None (recompressed content) the
        destination computes the sha256 and size. A failure — the stream
        raising, a mismatch, cancellation — MUST leave no trace of the blob.
        WARNING: memory must not grow with the blob's size.
        """
        ...

    def put_manifest(
        self, raw: bytes, media_type: str, digest: Digest, *, cancel: CancelToken | None = None
    ) -> None:
        """Store a manifest (an instance or a list) by digest; not yet tagged."""
        ...

    def commit(
        self, top: Descriptor, raw: bytes, *, cancel: CancelToken | None = None
    ) -> None:
        """Make ``top`` (already stored by :meth:`put_manifest`) the image of this name.

        For a layout this is the ``index.json`` entry (replaced atomically
        under a lock); for a registry the tag; for an archive the file being
        renamed into place (or, for a pipe, the tar written into it: a wait for a
        program to read it is told to :data:`OUTSIDE_WAIT`, and MUST end at ``cancel``).
        """
        ...

    def abort(self) -> None:
        """Discard what was written and not committed. Safe to call twice."""
        ...

    def close(self) -> None:
        """Release files and connections. Safe to call twice."""
        ...


@runtime_checkable
class AttachmentDestination(Protocol):
    """A destination that can keep what is attached to the images it receives.

    ``attachment_support`` says how: ``"manifests"`` — attached manifests
    (cosign's tagged ``.sig``/``.att``/``.sbom`` manifests, OCI referrers),
    whose blobs the engine puts first with :meth:`ImageDestination.put_blob`;
    ``"stored"`` — signatures kept beside the image (``dir:``'s
    ``signature-N``). Destinations that implement neither (archives) are not
    instances; a copy that would lose signatures there is refused up front.
    Like everything else, nothing becomes visible before
    :meth:`ImageDestination.commit` where the transport can hold it back.
    """

    @property
    def attachment_support(self) -> frozenset[str]:
        ...

    def put_attachment(
        self,
        subject: Digest,
        descriptor: Descriptor,
        raw: bytes,
        *,
        tag: str | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        """Store the attached manifest ``raw`` (described by ``descriptor``) for the
        manifest ``subject``: under ``tag`` when given (cosign's tags), else as an OCI
        referrer of ``subject`` (its ``subject`` field names it)."""
        ...

    def put_stored_signatures(
        self, subject: Digest, signatures: list[bytes], *, cancel: CancelToken | None = None
    ) -> None:
        """Keep ``signatures`` (containers/image's signature blobs) for ``subject``."""
        ...
