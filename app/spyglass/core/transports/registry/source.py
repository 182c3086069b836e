"""Reading one image from a registry: :class:`RegistryImageSource`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

from spyglass.core import media
from spyglass.core.blobcache import BlobLocationCache, default_cache
from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest, VerifyingReader
from spyglass.core.errors import (
    UNREACHED,
    ConnectionFailed,
    ImageNotFound,
    InvalidDigest,
    InvalidManifest,
    RegistryError,
    SpyglassError,
    as_clause,
)
from spyglass.core.manifest import (
    Descriptor,
    ImageIndex,
    ImageManifest,
    guess_media_type,
    parse_manifest,
)
from spyglass.core.referrers import referrers_tag
from spyglass.core.retry import CONNECT_ONCE, TRIES_LEFT, add_to_sentence, say_last_try
from spyglass.core.transports.registry.client import ManifestResponse, RegistryClient
from spyglass.core.transports.registry.connections import ResponseStream
from spyglass.core.transports.registry.errors import DERIVED_TAG_ABSENT
from spyglass.core.transports.registry.lookaside import lookaside_store, read_signatures

log = logging.getLogger(__name__)

TAG_SNAPSHOT_SECONDS: Final = 30.0
"""How long one listing of a repository's tags answers "is there such a tag?"."""


class SharedLookups:
    """What the copies of one sync learn of a source repository and share, instead of
    each asking again: its tags (one listing answers "is there such a tag?" for
    :data:`TAG_SNAPSHOT_SECONDS`; a sync of a 130-tag repository listed it 131 times),
    and that the registry has no referrers API (it answered 404: one that has it never
    does). Safe between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._tags: dict[tuple[str, str], tuple[float, frozenset[str] | None]] = {}
        self._no_referrers_api: set[tuple[str, str]] = set()

    def tags(self, key: tuple[str, str],
             listing: Callable[[], frozenset[str] | None]) -> frozenset[str] | None:
        """The tags of repository ``key`` (host, repository), from a listing of the last
        :data:`TAG_SNAPSHOT_SECONDS`, else ``listing()`` (once, whoever asks meanwhile)."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            now = time.monotonic()
            listed = self._tags.get(key)
            if listed is None or now - listed[0] > TAG_SNAPSHOT_SECONDS:
                listed = self._tags[key] = (now, listing())
            return listed[1]

    def referrers_api(self, key: tuple[str, str]) -> bool:
        """Whether the repository may answer the referrers API (not known to lack it)."""
        with self._lock:
            return key not in self._no_referrers_api

    def no_referrers_api(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._no_referrers_api.add(key)


_ELSEWHERE: Final = frozenset({
    media.OCI_LAYER_NONDIST, media.OCI_LAYER_NONDIST_GZIP, media.OCI_LAYER_NONDIST_ZSTD,
    media.DOCKER_FOREIGN_LAYER,
})
"""Layers a manifest names that the registry need not hold (fetched from their URLs)."""


class RegistryImageSource:
    """An :class:`~spyglass.core.transports.base.ImageSource` for ``docker://HOST/REPO:TAG|@DIGEST``.

    The top-level manifest is fetched once and kept, so that loading an image
    and then its instances asks the registry for it only once. Every blob
    opened is recorded in ``cache`` (default: the process's blob location
    cache), so a later copy into another repository of the registry can mount it.

    Looking for attachments asks about several tags per manifest (cosign's
    three, the referrers tag schema's): one listing of the repository's tags
    answers those that are not there, when one page holds them all. Manifest
    GETs are what registries such as Docker Hub count against pull limits.
    """

    def __init__(
        self,
        client: RegistryClient,
        repository: str,
        reference: str,
        *,
        cache: BlobLocationCache | None = None,
        registries_d: Path | None = None,
    ) -> None:
        self.client = client
        self.registries_d = registries_d
        self.repository = repository
        self.reference = reference
        self._cache = cache
        self._top: ManifestResponse | None = None
        self._tagged: dict[Digest, ManifestResponse] = {}  # read by tagged_manifest
        self._lock = threading.Lock()
        self._tags_lock = threading.Lock()
        self._tags: frozenset[str] | None = None
        self._tags_at: float | None = None
        self._referrers_api = True  # until the registry answers 404
        self._shared: SharedLookups | None = None

    @property
    def host(self) -> str:
        """The registry's host: transfers to one host are limited in number."""
        return self.client.host

    def share_lookups(self, shared: SharedLookups) -> None:
        """Learn, and tell, what the repository's tags are and whether the registry has a
        referrers API through ``shared`` (the other copies of one sync)."""
        self._shared = shared

    @property
    def description(self) -> str:
        separator = "@" if ":" in self.reference else ":"
        return f"docker://{self.client.host}/{self.repository}{separator}{self.reference}"

    @property
    def named_digest(self) -> Digest | None:
        """Implement NamedDigest: the digest the name is, where it names one."""
        if ":" not in self.reference:
            return None
        try:
            return Digest.parse(self.reference)
        except InvalidDigest:
            return None

    def top_manifest(self, *, cancel: CancelToken | None = None) -> ManifestResponse:
        """The manifest the name points at (fetched once). One not found by its tag says
        whether the repository lacks the tag (naming some it has) or is not there at all
        (:meth:`RegistryClient.say_missing_tag`: what every command reading an image by
        its tag, and the window's image view, say); by its digest, the registry's "no
        such image". A mirror asked before the registry itself (registries.conf) is not
        asked for its tags: its failure is summed up, and the registry asked next."""
        with self._lock:
            if self._top is not None:
                return self._top
        try:
            top = self.client.get_manifest(self.repository, self.reference, cancel=cancel)
        except ImageNotFound as missing:
            if ":" not in self.reference and not CONNECT_ONCE.get():  # a tag, no mirror
                self.client.say_missing_tag(self.repository, self.reference, missing,
                                            cancel=cancel)
            raise
        self._record_blobs(top)
        with self._lock:
            self._top = top
        return top

    def _record_blobs(self, answer: ManifestResponse) -> None:
        """Note in the blob location cache that this repository holds the config and the
        layers of an image manifest just read: a copy into another repository of the
        registry mounts them from here rather than uploading them again, from its first
        blob on (blobs were recorded only as they were read, after that question)."""
        try:
            manifest = parse_manifest(answer.raw, answer.media_type)
        except SpyglassError:
            return  # the caller reports what is wrong with it
        if not isinstance(manifest, ImageManifest):
            return
        cache = self._cache if self._cache is not None else default_cache()
        for blob in (manifest.config, *manifest.layers):
            if blob.media_type not in _ELSEWHERE:
                cache.record(self.client.host, self.repository, blob.digest)

    def get_manifest(
        self, digest: str | None = None, *, cancel: CancelToken | None = None
    ) -> tuple[bytes, str | None]:
        """Override ImageSource.get_manifest."""
        if digest is None:
            top = self.top_manifest(cancel=cancel)
            return top.raw, top.media_type
        wanted = Digest.parse(digest)
        if self._top is not None and self._top.digest == wanted:
            return self._top.raw, self._top.media_type
        with self._lock:
            tagged = self._tagged.get(wanted)
        if tagged is not None:
            return tagged.raw, tagged.media_type
        answer = self.client.get_manifest(self.repository, str(wanted), cancel=cancel)
        self._record_blobs(answer)
        return answer.raw, answer.media_type

    def referrers(
        self,
        digest: Digest,
        *,
        artifact_type: str | None = None,
        cancel: CancelToken | None = None,
    ) -> list[Descriptor]:
        """Override AttachmentSource.referrers: the referrers API, else the
        ``sha256-<hex>`` tag of the referrers tag schema (distribution 2.8 has no API)."""
        key = (self.client.host, self.repository)
        if self._referrers_api and (self._shared is None or self._shared.referrers_api(key)):
            found = self.client.referrers(
                self.repository, digest, artifact_type=artifact_type, cancel=cancel
            )
            if found is not None:
                return found
            self._referrers_api = False  # a registry with the API never answers 404
            if self._shared is not None:
                self._shared.no_referrers_api(key)
        tag = referrers_tag(digest)
        if self._has_tag(tag, cancel) is False:
            return []
        try:
            answer = self.client.get_manifest(self.repository, tag, cancel=cancel)
        except DERIVED_TAG_ABSENT:
            return []
        index = referrers_index(answer, digest)
        if index is None:
            log.info("The tag %s/%s:%s is not a referrers index; %s has no referrers there",
                     self.client.host, self.repository, tag, digest)
            return []
        return [
            d for d in index.manifests
            if artifact_type is None or d.artifact_type == artifact_type
        ]

    def tagged_manifest(
        self, tag: str, *, cancel: CancelToken | None = None
    ) -> Descriptor | None:
        """Override AttachmentSource.tagged_manifest."""
        if self._has_tag(tag, cancel) is False:
            return None
        try:
            answer = self.client.get_manifest(self.repository, tag, cancel=cancel)
        except DERIVED_TAG_ABSENT:
            return None
        media_type = answer.media_type or guess_media_type(answer.raw) or ""
        self._record_blobs(answer)  # a signature's config and layers mount like an image's
        with self._lock:
            self._tagged[answer.digest] = answer
        return Descriptor(media_type, answer.digest, len(answer.raw))

    def _has_tag(self, tag: str, cancel: CancelToken | None) -> bool | None:
        """Whether the repository has ``tag``, from one listing of its tags (asked
        again after :data:`TAG_SNAPSHOT_SECONDS`); None when the listing cannot tell:
        more than one page of tags, or the listing refused."""
        if self._shared is not None:
            tags = self._shared.tags((self.client.host, self.repository),
                                     lambda: self._list_tags(cancel))
            return None if tags is None else tag in tags
        with self._tags_lock:
            now = time.monotonic()
            if self._tags_at is None or now - self._tags_at > TAG_SNAPSHOT_SECONDS:
                self._tags = self._list_tags(cancel)
                self._tags_at = now
            tags = self._tags
        return None if tags is None else tag in tags

    def _list_tags(self, cancel: CancelToken | None) -> frozenset[str] | None:
        try:
            tags, complete = self.client.first_tag_page(self.repository, cancel=cancel)
        except UNREACHED:  # (each tag asked for would spend its retries to meet it again)
            raise
        except SpyglassError:
            return None  # each tag is asked for by itself, as without a listing
        return frozenset(tags) if complete else None

    def stored_signatures(
        self, digest: Digest, *, cancel: CancelToken | None = None
    ) -> list[bytes]:
        """Override AttachmentSource.stored_signatures: the lookaside store of this
        repository (``registries.d``'s, else containers/image's built-in one; registries
        keep none)."""
        store = lookaside_store(self.client.host, self.repository, self.registries_d)
        return read_signatures(store.url, self.repository, digest, cancel=cancel,
                               config=store.config)

    def open_blob(
        self, descriptor: Descriptor, *, cancel: CancelToken | None = None
    ) -> VerifyingReader:
        """Override ImageSource.open_blob."""
        stream = ResumingBlobStream(
            self.client, self.repository, descriptor.digest, cancel=cancel
        )
        cache = self._cache if self._cache is not None else default_cache()
        cache.record(self.client.host, self.repository, descriptor.digest)
        return VerifyingReader(
            stream,
            descriptor.digest,
            descriptor.size,
            what=f"The blob {descriptor.digest} of {self.client.host}/{self.repository}",
            cancel=cancel,
        )

    def close(self) -> None:
        """Override ImageSource.close: connections belong to the shared pool."""


class ResumingBlobStream:
    """A blob download that picks up where it broke off.

    When the connection drops mid-blob, the rest is asked for with a ``Range``
    request, at most ``client.retry_times`` times; it is used only when the
    registry answers 206 with a ``Content-Range`` starting at the right byte
    (:meth:`RegistryClient.open_blob` checks that). Otherwise the original
    error stands: bytes already handed on cannot be taken back, so a download
    is never silently restarted underneath its reader.
    """

    def __init__(
        self,
        client: RegistryClient,
        repository: str,
        digest: Digest,
        *,
        cancel: CancelToken | None = None,
    ) -> None:
        self._client = client
        self._repository = repository
        self._digest = digest
        self._cancel = cancel
        # (its retries come out of what the copy's attempt has left: TRIES_LEFT)
        self._stream: ResponseStream = client.open_blob(repository, digest, cancel=cancel)
        self._offset = 0
        # (those of a copy's attempt are counted there: answered_after)
        self._tries = 1 if TRIES_LEFT.get() is not None else self._stream.attempts
        """Requests made for the blob so far, the first one's retries and each resume's
        counted; in a copy's attempt, those since the attempt last heard of them (its
        :class:`~spyglass.core.retry.Tries` holds the rest)."""

    def read(self, n: int = -1, /) -> bytes:
        while True:
            try:
                data = self._stream.read(n)
            except ConnectionFailed as broken:
                self._resume(broken)
                continue
            self._offset += len(data)
            return data

    def readinto(self, buffer: memoryview | bytearray, /) -> int:
        while True:
            try:
                count = self._stream.readinto(buffer)
            except ConnectionFailed as broken:
                self._resume(broken)
                continue
            self._offset += count
            return count

    def _resume(self, broken: ConnectionFailed) -> None:
        """Ask for the rest after ``broken``, or raise it when that is not possible.

        Every request made for the blob comes out of the client's ``retry_times``: the
        download, each resume and each resume's own retries (a registry that hangs is
        given a minute per request, so ``retry_times`` of them, not that many times
        that many, before the copy hears of it)."""
        self._stream.close()
        broken.attempts = self._tries  # the copy counts them against the same budget
        left = self._client.retry_times - (self._tries - 1)
        budget = TRIES_LEFT.get()  # what the copy's attempt has left of --retry-times
        if budget is not None:
            left = min(left, budget.remaining - self._tries)
        if left <= 0:
            raise broken
        # said as a retry is (a failure later counts the tries: they were seen coming)
        log.warning("Resuming the blob %s at byte %d: %s", self._digest.short, self._offset,
                    as_clause(str(broken)).rstrip("."))
        # (its notes count on from the tries the blob has had)
        resuming = None if budget is None else TRIES_LEFT.set(budget.after(self._tries))
        try:
            self._stream = self._client.open_blob(
                self._repository, self._digest, start=self._offset, retries=left - 1,
                cancel=self._cancel,
            )
        except (ConnectionFailed, RegistryError) as failed:
            self._tries += max(1, failed.attempts)
            broken.attempts = self._tries
            what = f"Reading the blob {self._digest} of {self._client.host}/{self._repository}"
            if isinstance(failed, ConnectionFailed):  # the resume failed as the read did
                say_last_try(broken, failed, what=what)
            else:  # the whole blob, or another range: why the blob starts again is said
                refusal = failed.message.removeprefix(f"{what}: ").rstrip(".")
                add_to_sentence(broken, f"; resuming it at byte {self._offset} was refused "
                                        f"({as_clause(refusal)})")
            raise broken from None
        finally:
            if resuming is not None:
                TRIES_LEFT.reset(resuming)
        if budget is None:
            self._tries += self._stream.attempts
        else:  # the copy's attempt holds the tries that failed: the read, the resume's
            budget.recovered += self._tries + self._stream.attempts - 1
            self._tries = 1

    def close(self) -> None:
        self._stream.close()


def referrers_index(answer: ManifestResponse, subject: Digest) -> ImageIndex | None:
    """The index a referrers-schema tag names, or None when what it names is no such
    index: the spec then has the client assume there are no referrers. GitLab, for
    one, resolves ``sha256-<hex>`` to the manifest ``sha256:<hex>`` itself
    (oras-go#1396), which must not pass for the list of its referrers."""
    if answer.digest == subject:
        return None
    try:
        index = parse_manifest(answer.raw, answer.media_type)
    except InvalidManifest:
        return None
    return index if isinstance(index, ImageIndex) else None
