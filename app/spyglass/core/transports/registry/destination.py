"""Writing one image to a registry: :class:`RegistryDestination` (``docker://``).

A blob reaches the repository in the cheapest way available, in this order:

1. it is there already (``HEAD`` on the blob) — ``"exists"``;
2. another repository of the same registry holds it, as far as the
   :mod:`~spyglass.core.blobcache` knows, and the registry
   mounts it from there (``POST …?mount=&from=``) — ``"mounted"``, no bytes sent
   (a blob named by sha256 only: :func:`~.push.mountable`);
3. it is uploaded (:meth:`RegistryClient.upload_blob`), verified as it streams.

Manifests go by digest first (children before the list), and only
:meth:`RegistryDestination.commit` points the tag at the top one, so an
interrupted copy leaves the tag as it was.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Final

from spyglass.core import media
from spyglass.core.blobcache import BlobLocationCache, default_cache
from spyglass.core.cancel import CancelToken, check, in_place_from_here
from spyglass.core.digest import Digest, Readable, read_verified
from spyglass.core.errors import (
    UNREACHED,
    AccessDenied,
    BodyTooLarge,
    DigestMismatch,
    ImageNotFound,
    InvalidReference,
    NotFound,
    RateLimited,
    RegistryError,
    SpyglassError,
    Unsupported,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    manifest_digest,
)
from spyglass.core.referrers import referrer_entry
from spyglass.core.transports.base import COMPRESSED, WAIT_FOR_COPY, ProgressCallback
from spyglass.core.transports.registry.client import RegistryClient
from spyglass.core.transports.registry.errors import DERIVED_TAG_ABSENT
from spyglass.core.transports.registry.push import mountable
from spyglass.core.transports.registry.referrers_tag import (
    change_referrers_tag,
    entries,
    referrers_tag_index,
)
from spyglass.core.transports.registry.underway import UPLOADS_UNDER_WAY
from spyglass.core.transports.stubs import no_stored_signatures
from spyglass.core.units import exact_size

if TYPE_CHECKING:
    from spyglass.core.reference import DockerReference
    from spyglass.core.transports.registry import RegistryOptions

log = logging.getLogger(__name__)

SUPPORTED_MANIFEST_TYPES: Final = (
    media.OCI_MANIFEST,
    media.OCI_INDEX,
    media.DOCKER_V2S2,
    media.DOCKER_LIST,
)
MAX_MOUNT_ATTEMPTS: Final = 3
"""Repositories tried as a mount source per blob before it is uploaded instead."""


MIB: Final = 1024 * 1024
CHUNK_SIZES_AFTER_413: Final = (8 * MIB, 5 * MIB, 4 * MIB, MIB, 256 * 1024)
"""The pieces blobs go in after a body was refused as too large (413), or refused
streamed without a length (411), each tried in turn (those not smaller than a refused
body skipped). The first are at least 5 MiB, the smallest piece but the last that
Google's and Amazon's registries take; smaller ones only once a proxy refused those
too (nginx's default limit is 1 MiB). The distribution spec names a registry's
minimum (``OCI-Chunk-Min-Length``, which the upload honours) but no maximum."""


class RegistryDestination:
    """An :class:`~spyglass.core.transports.base.ImageDestination` for
    ``docker://HOST/REPO:TAG`` or ``docker://HOST/REPO@DIGEST``.

    Exactly one of ``tag`` and ``digest`` names the image. ``cache`` (default:
    the process's :func:`~spyglass.core.blobcache.default_cache`)
    names the repositories to mount blobs from and learns every blob this
    destination finds, mounts or writes. Thread-safe: the copy engine puts
    blobs from several threads at once.
    """

    def __init__(
        self,
        client: RegistryClient,
        repository: str,
        *,
        tag: str | None = None,
        digest: Digest | None = None,
        cache: BlobLocationCache | None = None,
    ) -> None:
        if (tag is None) == (digest is None):
            raise ValueError("a registry destination is named by a tag or by a digest, not both")
        self.client = client
        self.repository = repository
        self.tag = tag
        self.digest = digest
        self._cache = cache
        self._lock = threading.Lock()
        self._held: set[Digest] = set()
        """Blobs the repository is known to hold: found, mounted or written by this copy."""
        self._unmountable: set[str] = set()
        """Repositories a mount from was refused (no pull access to them): not asked again
        in this copy, since each refusal costs the token server two requests."""
        self._chunk_size: int | None = None
        """None: a blob goes in one request; else in pieces of this many bytes, since the
        registry (or a proxy in front of it) refused a body as too large."""
        self._referrers_api: bool | None = None
        """Whether the registry answers the referrers API (None: not asked yet in this
        copy); without it, referrers are listed in the referrers tag's index."""
        self._notes: list[str] = []
        """What writing a referrers tag's index took out of it besides (manifests gone)."""

    def __repr__(self) -> str:
        return f"RegistryDestination({self.description!r})"

    @property
    def cache(self) -> BlobLocationCache:
        return self._cache if self._cache is not None else default_cache()

    @property
    def host(self) -> str:
        """The registry's host: transfers to one host are limited in number."""
        return self.client.host

    @property
    def description(self) -> str:
        """Override ImageDestination.description."""
        name = f"docker://{self.client.host}/{self.repository}"
        return f"{name}@{self.digest}" if self.digest is not None else f"{name}:{self.tag}"

    @property
    def supported_manifest_types(self) -> tuple[str, ...]:
        """Override ImageDestination.supported_manifest_types: OCI and Docker schema 2."""
        return SUPPORTED_MANIFEST_TYPES

    @property
    def skopeo_keeps_schema1(self) -> str:
        """Implement SkopeoKeepsSchema1: containers/image pushes a schema 1 manifest as it
        is, converting it only when the registry refuses it."""
        return "in a registry that still takes it"

    @property
    def accepts_foreign_layers(self) -> bool:
        """Override ForeignLayers.accepts_foreign_layers: a manifest here may name a layer
        kept where its ``urls`` point (as containers/image's destination accepts it)."""
        return True

    @property
    def accepts_lists(self) -> bool:
        """Override ImageDestination.accepts_lists."""
        return True

    @property
    def manifest_digest_algorithm(self) -> str:
        """Implement CanonicalDigests: distribution stores a manifest under its sha256
        digest only (a PUT by a sha512 digest is answered DIGEST_INVALID)."""
        return "sha256"

    @property
    def desired_layer_compression(self) -> str | None:
        """Override ImageDestination.desired_layer_compression: uncompressed layers are
        compressed, as skopeo pushes them."""
        return COMPRESSED

    # ---------------------------------------------------------------- blobs

    def holds_manifest(self, entry: Descriptor, *, cancel: CancelToken | None = None
                       ) -> bool | None:
        """Override ManifestHolder.holds_manifest: a ``HEAD`` of it by digest (None when
        the registry will not say: refused, unsupported)."""
        try:
            self.client.head_manifest(self.repository, str(entry.digest), cancel=cancel)
        except ImageNotFound:
            return False
        except (AccessDenied, Unsupported) as exc:  # a registry that will not say
            log.info("Cannot tell whether %s holds %s: %s", self.description,
                     entry.digest, exc)
            return None
        return True

    def holds_blob(self, descriptor: Descriptor, *, cancel: CancelToken | None = None) -> bool:
        """Implement BlobHolder: a ``HEAD`` of it (the registry's statement, as for
        :meth:`reuse_blob`, which then asks no more); False where the registry will not
        say. A registry that cannot be reached (:data:`~spyglass.core.errors.UNREACHED`)
        raises: the copy's next request would spend its retries again to meet the same."""
        digest = descriptor.digest
        with self._lock:
            if digest in self._held:
                return True
        try:
            size = self.client.blob_exists(self.repository, digest, cancel=cancel)
        except UNREACHED:
            raise
        except SpyglassError as exc:  # refused, say: the copy meets it again, and says it
            log.info("Cannot tell whether %s holds %s: %s", self.description, digest, exc)
            return False
        if size is None or (size >= 0 and size != descriptor.size):
            return False
        self._learn(digest)
        return True

    def mount_source(self, digest: Digest) -> str | None:
        """Implement MountHints: the first repository :meth:`reuse_blob` would mount
        ``digest`` from (the cache's most recent, not one refused in this copy)."""
        if not mountable(digest):
            return None
        candidates = self.cache.candidates(self.client.host, digest, self.repository)
        with self._lock:
            return next((c for c in candidates if c not in self._unmountable), None)

    def reuse_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None,
        sending: bool = True,
    ) -> str | None:
        """Override ImageDestination.reuse_blob: ``HEAD``, then mounts from the cache.

        "exists" rests on the registry's statement (which checked the digest
        when the blob was pushed); a size other than the descriptor's is not
        trusted and the blob is put instead, where the stream is verified.
        Refusals of the ``HEAD`` itself (401, 403) raise: the upload would meet
        the same refusal. A mount the registry refuses (no pull access to the
        other repository, say) or answers with an upload just moves on.
        """
        digest = descriptor.digest
        with self._lock:
            if digest in self._held:
                return "exists"
        size = self.client.blob_exists(self.repository, digest, cancel=cancel)
        if size is not None:
            if size >= 0 and size != descriptor.size:
                log.warning(
                    "%s holds the blob %s with %d bytes, but its descriptor says %d; "
                    "uploading it again to check.",
                    self.description, digest, size, descriptor.size,
                )
                return None
            self._learn(digest)
            return "exists"
        candidates = (self.cache.candidates(self.client.host, digest, self.repository)
                      if mountable(digest) else [])
        with self._lock:
            candidates = [c for c in candidates if c not in self._unmountable]
        for source in candidates[:MAX_MOUNT_ATTEMPTS]:
            try:
                mounted = self.client.mount_blob(self.repository, digest, source, owner=self,
                                                 cancel=cancel)
            except Unsupported as exc:
                log.info("%s", exc)
                break  # the registry does not mount at all
            except RateLimited:
                raise
            except AccessDenied as exc:
                log.info("%s", exc)
                with self._lock:
                    self._unmountable.add(source)
                continue
            except (RegistryError, NotFound) as exc:
                log.info("%s", exc)
                continue
            if mounted:
                self._learn(digest)
                return "mounted"
        if not sending:
            return None  # (a look only: nothing is claimed that no upload would let go)
        waiting = UPLOADS_UNDER_WAY.claim((self.client.host, digest), self)
        if waiting is None:
            return None  # this copy sends it
        # another copy of this process is sending it to this registry: once it has, it is
        # there to mount (or, if that copy failed, this one sends it)
        told = WAIT_FOR_COPY.get() or (lambda host: None)
        told(self.client.host)
        try:
            while not waiting.wait(0.1):
                check(cancel)
        finally:
            told(None)
        return self.reuse_blob(descriptor, cancel=cancel)

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
        """Override ImageDestination.put_blob: an upload session, verified as it streams.

        A failed, mismatched or cancelled upload is cancelled on the registry
        (``DELETE`` of the session), so no blob is stored. A body refused as too
        large (413, as proxies with a request size limit answer), or a streamed body
        refused for want of a length (411, as Apache and older nginx in front of a
        registry answer ``Transfer-Encoding: chunked``), makes this destination send
        blobs in pieces of a stated length, smaller and smaller
        (:data:`CHUNK_SIZES_AFTER_413`), and raises :class:`BodyTooLarge` for the
        copy to send the blob again.
        """
        chunk_size = self._chunk_size
        try:
            written, length = self._upload(stream, digest, size, chunk_size, cancel, progress)
            self._learn(written)  # (where it is, before a copy waiting for it looks)
        finally:
            if digest is not None:
                UPLOADS_UNDER_WAY.release((self.client.host, digest), self)
        return Descriptor(media_type, written, length)

    def _upload(
        self, stream: Readable, digest: Digest | None, size: int | None,
        chunk_size: int | None, cancel: CancelToken | None, progress: ProgressCallback | None,
    ) -> tuple[Digest, int]:
        try:
            return self.client.upload_blob(
                self.repository, stream, digest, size, cancel=cancel, progress=progress,
                chunk_size=chunk_size,
            )
        except RegistryError as exc:
            if type(exc) is not RegistryError or exc.code is not None:
                raise  # not a plain refusal (a proxy's), but a registry error of its own
            if exc.status == 411 and chunk_size is None:
                # a streamed PATCH (a blob of unknown length: recompressed) that a proxy
                # takes only with a length
                why = " (Length Required: a body streamed without its length, refused)"
            elif exc.status == 413:
                why = ""
            else:
                raise
            # pieces as large as the body refused are no help: its length, where the request
            # stated one (a blob that fits one request, even of unknown size, goes in one)
            refused = exc.body_length
            if refused is None and chunk_size is None and digest is not None:
                refused = size
            smaller = self._smaller_than(chunk_size, refused)
            how = (f"; the next attempt sends it in pieces of {exact_size(smaller)}"
                   if smaller is not None else "")
            raise BodyTooLarge(f"{str(exc).rstrip('.')}{why}{how}.", smaller=smaller,
                               code=exc.code, status=exc.status) from exc

    def _smaller_than(self, used: int | None, refused: int | None) -> int | None:
        """The chunk size after ``used`` was refused (None: one request; ``refused``: the
        length of that request's body, where known), or None when there is none smaller:
        always smaller than ``refused``. Transfers refused at once shrink it once."""
        with self._lock:
            current = self._chunk_size
            if current != used and (refused is None or (current or 0) < refused):
                return current  # another transfer made it smaller already
            sizes = [s for s in CHUNK_SIZES_AFTER_413
                     if (current is None or s < current) and (refused is None or s < refused)]
            if sizes:
                self._chunk_size = sizes[0]
            return sizes[0] if sizes else None

    def _learn(self, digest: Digest) -> None:
        with self._lock:
            self._held.add(digest)
        self.cache.record(self.client.host, self.repository, digest)

    # ---------------------------------------------------------------- manifests

    def put_manifest(
        self, raw: bytes, media_type: str, digest: Digest, *, cancel: CancelToken | None = None
    ) -> None:
        """Override ImageDestination.put_manifest: ``PUT …/manifests/DIGEST``.

        The registry checks that the blobs (or, for a list, the manifests) it
        references are in the repository, so children go first. A manifest with a
        ``subject`` is listed among the subject's referrers: by the registry, when it
        answers ``OCI-Subject``, else in the ``sha256-<hex>`` index of the referrers
        tag schema (distribution 2.8), as the distribution spec asks of a client —
        whether it came along with its subject or is the image copied.
        """
        self._put_manifest(raw, media_type, digest, referrer_entry(raw, media_type, digest),
                           cancel)

    def _put_manifest(
        self, raw: bytes, media_type: str, digest: Digest,
        referrer: tuple[Digest, Descriptor] | None, cancel: CancelToken | None,
    ) -> None:
        if referrer is None:
            self.client.put_manifest(
                self.repository, str(digest), raw, media_type, cancel=cancel
            )
            return
        _digest, indexed = self.client.put_referrer(
            self.repository, raw, media_type, digest=digest, cancel=cancel
        )
        if not indexed:
            subject, descriptor = referrer
            change_referrers_tag(self.client, self.repository, subject, add=descriptor,
                                 cancel=cancel, note=self._notes.append)

    @property
    def commit_notes(self) -> tuple[str, ...]:
        """Implement CommitNotes: the entries of manifests gone taken out of a referrers
        tag's index this copy listed a referrer in (the registry refused the index
        with them)."""
        return tuple(self._notes)

    def commit_stores(self, raw: bytes, media_type: str, digest: Digest) -> bool:
        """Implement CommitStoresTop: a name by tag, for a manifest that is no referrer
        (one is also listed for its subject when put by digest)."""
        return self.tag is not None and referrer_entry(raw, media_type, digest) is None

    @property
    def required_digest(self) -> Digest | None:
        """Implement DigestedDestination: the digest of a name by digest."""
        return self.digest

    def commit(
        self, top: Descriptor, raw: bytes, *, cancel: CancelToken | None = None
    ) -> None:
        """Override ImageDestination.commit: ``PUT …/manifests/TAG``.

        A name by digest has nothing left to do: its manifest was stored by
        :meth:`put_manifest` (content-addressed, so nothing else was replaced);
        the digest copied must be the one the name asks for, else
        :class:`DigestMismatch` says so (the copy changed the manifest, by a
        conversion or recompression).
        """
        actual = manifest_digest(raw, top.media_type, top.digest.algorithm)
        if actual != top.digest:
            raise DigestMismatch(
                f"Tagging {self.description}: the manifest given hashes to {actual}, not to "
                f"{top.digest} as its descriptor says; nothing was tagged."
            )
        if self.digest is not None:
            if top.digest != self.digest:
                raise DigestMismatch(
                    f"The image copied to {self.description} has the digest {top.digest}, not "
                    f"{self.digest} as the name asks: the copy changed the manifest (a format "
                    f"conversion or recompression). It is stored, untagged, as {top.digest}; "
                    "name the destination by tag, or copy without changing the image."
                )
            in_place_from_here()  # (stored by put_manifest already)
            return
        assert self.tag is not None
        self.client.put_manifest(self.repository, self.tag, raw, top.media_type, cancel=cancel)
        in_place_from_here()  # the registry answered: the tag names the new image

    # ---------------------------------------------------------------- attachments

    @property
    def attachment_support(self) -> frozenset[str]:
        """Override AttachmentDestination.attachment_support: attached manifests."""
        return frozenset({"manifests"})

    @property
    def stored_signatures_refused(self) -> str:
        """Why simple signing signatures cannot come along, for the refusal's sentence."""
        return ("a registry's simple signing signatures are kept in a lookaside store (a "
                "web or file server that "
                "registries.d names), and Spyglass reads those but writes none (skopeo "
                "writes them to registries.d's lookaside-staging, or, with none named, "
                "to ~/.local/share/containers/sigstore, /var/lib/containers/sigstore for "
                "root)")

    def put_attachment(
        self,
        subject: Digest,
        descriptor: Descriptor,
        raw: bytes,
        *,
        tag: str | None = None,
        cancel: CancelToken | None = None,
    ) -> None:
        """Override AttachmentDestination.put_attachment.

        Under ``tag`` (cosign's layout) the manifest is simply tagged. A referrer is
        stored by digest, and listed as :meth:`put_manifest` lists one.
        """
        if tag is not None:
            self.client.put_manifest(
                self.repository, tag, raw, descriptor.media_type, cancel=cancel
            )
            return
        # listed by what its bytes say; else (no subject to be read there) as it was given
        referrer = referrer_entry(raw, descriptor.media_type, descriptor.digest) or (
            subject, Descriptor(descriptor.media_type, descriptor.digest, len(raw),
                                artifact_type=descriptor.artifact_type))
        self._put_manifest(raw, descriptor.media_type, descriptor.digest, referrer, cancel)

    def referrer_held(
        self, subject: Digest, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> bool:
        """Implement HeldReferrers: a HEAD on the referrer's digest, and where it is
        stored, the subject's referrers asked (the API, else the referrers tag's index).
        An answer that cannot be had (no read access) counts as not held: it is written."""
        try:
            self.client.head_manifest(self.repository, str(descriptor.digest), cancel=cancel)
        except DERIVED_TAG_ABSENT:
            return False
        listed: list[Descriptor] | None = None
        if self._referrers_api is not False:
            try:
                listed = self.client.referrers(self.repository, subject, cancel=cancel)
            except AccessDenied:
                return False
            self._referrers_api = listed is not None
        if listed is not None:
            return any(entry.digest == descriptor.digest for entry in listed)
        index = referrers_tag_index(self.client, self.repository, subject, cancel=cancel)
        return index is not None and any(
            str(entry.get("digest")) == str(descriptor.digest) for entry in entries(index))

    def check_writable(
        self, *, held: Digest | None = None, cancel: CancelToken | None = None
    ) -> None:
        """Override CheckedDestination.check_writable: ``held`` mounted onto itself where
        the repository has it, else an upload session started, kept for this copy's
        first upload (see :meth:`RegistryClient.check_push`). A ``held`` found there is
        not asked about again."""
        if self.client.check_push(self.repository, held=held, owner=self, cancel=cancel):
            assert held is not None
            self._learn(held)

    def named_now(self, *, cancel: CancelToken | None = None) -> Digest | None:
        """Implement WholeImageHolder: a HEAD on the tag, or on the digest named."""
        if self.tag is not None:
            return self.tagged_digest(self.tag, cancel=cancel)
        assert self.digest is not None
        try:
            self.client.head_manifest(self.repository, str(self.digest), cancel=cancel)
        except DERIVED_TAG_ABSENT:
            return None
        return self.digest

    def tagged_digest(self, tag: str, *, cancel: CancelToken | None = None) -> Digest | None:
        """Override TaggedDestination.tagged_digest: a HEAD on the tag."""
        try:
            return self.client.head_manifest(self.repository, tag, cancel=cancel).digest
        except DERIVED_TAG_ABSENT:
            return None

    def read_manifest(
        self, digest: Digest, *, cancel: CancelToken | None = None
    ) -> tuple[bytes, str | None]:
        """Override TaggedDestination.read_manifest: a GET by digest, verified."""
        answer = self.client.get_manifest(self.repository, str(digest), cancel=cancel)
        return answer.raw, answer.media_type

    def read_small_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> bytes:
        """Override TaggedDestination.read_small_blob: a GET of the blob, verified (one
        larger than its descriptor allows is refused before its body is read)."""
        what = f"The blob {descriptor.digest} of {self.description}"
        with self.client.open_blob(self.repository, descriptor.digest, cancel=cancel) as stream:
            return read_verified(stream, descriptor.digest, descriptor.size,
                                 limit=MAX_MANIFEST_SIZE, what=what, cancel=cancel)

    def put_stored_signatures(
        self, subject: Digest, signatures: list[bytes], *, cancel: CancelToken | None = None
    ) -> None:
        """Override AttachmentDestination.put_stored_signatures: registries keep none."""
        raise no_stored_signatures(self.description)

    def abort(self) -> None:
        """Override ImageDestination.abort: there is nothing to undo on a registry.

        Blobs are content-addressed and may be shared with other images of the
        repository (deleting them could break those, and most registries do not
        allow deletes); the manifests stored by digest carry no tag, so nothing
        points at them and the registry's garbage collection may drop them;
        the tag is only written by :meth:`commit`, so the name still shows
        what it showed before. Upload sessions that failed were already
        cancelled by :meth:`put_blob`; those this copy's check and mounts kept, if no
        blob took them, are cancelled here. Safe to call twice.
        """
        UPLOADS_UNDER_WAY.release_all(self)
        self.client.drop_spare_upload(self.repository, owner=self, hurried=True)

    def close(self) -> None:
        """Override ImageDestination.close: connections belong to the shared pool; the
        upload sessions this copy's check and mounts kept, if no blob took them, are
        cancelled."""
        UPLOADS_UNDER_WAY.release_all(self)
        self.client.drop_spare_upload(self.repository, owner=self)


def open_registry_destination(
    reference: DockerReference, options: RegistryOptions | None = None
) -> RegistryDestination:
    """Open ``docker://REFERENCE`` for writing (by tag, ``latest`` when none, or by digest)."""
    from spyglass.core.transports.registry import client_for

    if reference.tag is not None and reference.digest is not None:
        raise InvalidReference(
            f'The destination "docker://{reference}" has both a tag and a digest; name it by '
            "one of them."
        )
    client = client_for(reference.domain, options, repository=reference.path)
    if reference.digest is not None:
        return RegistryDestination(client, reference.path, digest=reference.digest)
    return RegistryDestination(client, reference.path, tag=reference.tag or "latest")


__all__ = ["SUPPORTED_MANIFEST_TYPES", "RegistryDestination", "open_registry_destination"]
