"""The distribution API client: one :class:`RegistryClient` per registry host.

It is built in layers, each in a module of its own:
:class:`~spyglass.core.transports.registry.endpoint.RegistryEndpoint` reaches the
registry and sends every request (authentication, retries, blocked registries, the
sentences of failures);
:class:`~spyglass.core.transports.registry.push.RegistryPusher` adds what writes
(blob mounts and uploads, the push check, manifests stored); :class:`RegistryClient`
adds, here, what reads: paged lists (catalog, tags), manifests, the referrers API,
blobs, and a manifest's deletion.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

import httpx

from spyglass.core import gojson, media
from spyglass.core.cancel import CancelToken, linked
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    Cancelled,
    DigestMismatch,
    ImageNotFound,
    InvalidDigest,
    InvalidManifest,
    NotFound,
    RegistryError,
    RepositoryNotFound,
    SpyglassError,
    TooLarge,
    Unsupported,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    ImageIndex,
    guess_media_type,
    manifest_digest,
    parse_manifest,
)
from spyglass.core.referrers import attachment_tag_subject, referrers_tag
from spyglass.core.transports.registry.connections import HTTPPool, ResponseStream
from spyglass.core.transports.registry.endpoint import digest_or_none, ref_suffix
from spyglass.core.transports.registry.errors import missing_tag_sentence
from spyglass.core.transports.registry.links import NextPage, next_page
from spyglass.core.transports.registry.push import (
    ABANDON_TIMEOUT,
    HURRIED_ABANDON_TIMEOUT,
    UPLOAD_CHUNK_SIZE,
    RegistryPusher,
)

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE: Final = 1000
_NO_REFERRERS_API: Final = (400, 401, 403, 404, 405, 406, 501)
"""What registries without the referrers API answer it (the spec says 404)."""
HEAD_404S_BELIED: Final = 3
"""Manifest ``HEAD`` 404s that ``GET`` belies before a registry's ``HEAD`` is not asked
any more: one may be a moment's (a tag pushed between the two, storage that is
eventually consistent), and a ``GET`` counts against Docker Hub's pull limit where a
``HEAD`` does not."""


class NamePage(list[str]):
    """One page of a paged list (``_catalog``, ``tags/list``): its names, and
    :attr:`linked`, whether the answer named a next page (a ``Link`` with ``rel="next"``
    as :func:`links.next_page` reads it, read next). A page without is the last, however
    short or long: a registry may cap its pages below the size asked for (Quay, GHCR,
    Harbor), or page without being asked."""

    def __init__(self, names: Iterable[str], *, linked: bool) -> None:
        super().__init__(names)
        self.linked = linked


@dataclass(frozen=True)
class ManifestResponse:
    """A manifest as the registry served it, verified."""

    raw: bytes
    media_type: str | None
    digest: Digest


@dataclass(frozen=True)
class ManifestHead:
    """What a ``HEAD`` on a manifest tells: its digest, size and media type."""

    digest: Digest
    size: int | None
    media_type: str | None


@dataclass(frozen=True)
class ManifestUsers:
    """What uses a manifest in a repository (see :meth:`RegistryClient.manifest_users`)."""

    tags: list[str]
    """The tags pointing at it."""
    lists: list[str]
    """The tags of manifest lists that hold it as one of their images."""
    unchecked: list[str] = field(default_factory=list)
    """The tags that could not be looked at (gone meanwhile, unreadable)."""
    referrers: list[str] = field(default_factory=list)
    """The referrers tags (``sha256-<hex>``, the referrers tag schema) whose index lists
    it: it is a referrer of their subject. No lists of images: a delete takes it out of
    them, as the distribution spec asks."""
    attached: list[str] = field(default_factory=list)
    """The tags of what is attached to it: cosign's ``sha256-<hex>.sig``, ``.att`` and
    ``.sbom``, and its own referrers tag. Deleting it leaves them, naming a manifest
    that is gone."""


_UNREADABLE: Final = (NotFound, InvalidManifest, InvalidDigest, TooLarge, DigestMismatch)
"""What makes one tag or list unreadable, not the registry unreachable: a scan of what
uses a manifest says so of that tag and goes on (a failed connection, a refused
sign-in or a rate limit still stop it)."""


def _head_of(got: ManifestResponse) -> ManifestHead:
    """What a ``HEAD`` would have told of a manifest read whole; its type, where the
    registry labelled it with none, from the body (as containers/image guesses it)."""
    return ManifestHead(got.digest, len(got.raw), got.media_type or guess_media_type(got.raw))


def _is_referrers_tag(tag: str) -> bool:
    """Whether ``tag`` is named as the referrers tag schema names an index
    (``sha256-<hex>``, no cosign suffix)."""
    subject = attachment_tag_subject(tag)
    return subject is not None and tag == referrers_tag(subject)


def _lists_image(raw: bytes, digest: Digest) -> bool:
    """Whether the manifest list ``raw`` names ``digest`` among its images."""
    try:
        entries = gojson.loads(raw).get("manifests") or []
        return any(isinstance(e, dict) and e.get("digest") == str(digest) for e in entries)
    except (ValueError, AttributeError, TypeError):
        return False


class RegistryClient(RegistryPusher):
    """Talks to one registry host. Thread-safe; share one per host and settings.

    ``host`` is the registry as people name it (``docker.io``, ``quay.io``,
    ``127.0.0.1:5000``); requests go to :func:`api_host` of it. ``insecure``
    allows plain HTTP and unverified TLS for this registry (skopeo's
    ``--tls-verify=false``); with ``plain_loopback`` loopback hosts fall back to
    plain HTTP anyway, as Docker does (an explicit ``--tls-verify=true`` turns that
    off, as in skopeo).
    """

    # ---------------------------------------------------------------- listing

    def pages(
        self,
        path: str,
        key: str,
        *,
        what: str,
        page_size: int = DEFAULT_PAGE_SIZE,
        cancel: CancelToken | None = None,
        kind: str | None = None,
    ) -> Iterator[NamePage]:
        """Yield the pages of a paged list (``_catalog``, ``tags/list``) following ``Link``.

        ``n`` asks for pages of ``page_size``; a registry that refuses that size (400:
        distribution 3.1 above its limit, Quay's TOO_MANY_TAGS_REQUESTED) is asked
        again without it, for pages of its own size, as containers/image asks.
        """
        sized: dict[str, str | int] = {"n": page_size}
        listed: set[str] = set()
        for params in (sized, None):
            first = True
            for response in self._linked_pages(
                self.url(path, cancel=cancel), params, what=what, cancel=cancel,
                first_ok=(200, 400) if params else None, kind=kind,
            ):
                if first and response.status_code == 400:
                    response.close()
                    log.info("%s: the registry %s refused pages of %d; asking without a "
                             "size", what, self.host, page_size)
                    break
                first = False
                _, body = self._read_whole(response, limit=MAX_LIST_BODY, what=what,
                                           cancel=cancel, kind=kind)
                names = _names(body, key, what=what, host=self.host)
                new = set(names) - listed
                links_on = _links_on(response)
                if names and not new and links_on:
                    raise RegistryError(
                        f"{what}: the registry {self.host} sent a next page that repeats "
                        "names already listed, and a link to yet another; stopping.")
                listed |= new
                if len(listed) > MAX_LISTED_NAMES:
                    raise TooLarge(
                        f"{what}: the registry {self.host} has listed more than "
                        f"{MAX_LISTED_NAMES:,} names, and links to more; stopping.")
                yield NamePage(names, linked=links_on)
            else:
                return

    def _linked_pages(
        self,
        url: str,
        params: dict[str, str | int] | None,
        *,
        what: str,
        cancel: CancelToken | None,
        ok: tuple[int, ...] = (200,),
        first_ok: tuple[int, ...] | None = None,
        headers: Mapping[str, str] | None = None,
        kind: str | None = None,
    ) -> Iterator[httpx.Response]:
        """GET ``url`` and every page its ``Link`` ``rel="next"`` leads to (on this
        registry only, never twice); the caller reads (and closes) each response.
        ``first_ok``: the statuses taken for the first page, if not ``ok``."""
        base = httpx.URL(self._ping(cancel) + "/")  # (url() checked the path's repository)
        seen: set[httpx.URL] = set()
        page: httpx.URL | None = httpx.URL(url)
        written = ""  # the Link's target, as the registry wrote it
        elsewhere = False  # the Link named another host: its path asked of this registry
        while page is not None:  # (each URL parsed once: from its Link, or url)
            if page in seen:
                raise RegistryError(
                    f"{what}: the registry {self.host} sent a next-page link back to a page "
                    "already read; stopping."
                )
            if len(seen) >= MAX_PAGES:
                raise TooLarge(
                    f"{what}: the registry {self.host} has sent {MAX_PAGES:,} pages, each "
                    "linking to another; stopping.")
            seen.add(page)
            try:
                response = self.send(
                    "GET", page, what=what, cancel=cancel, params=params,
                    ok=first_ok if first_ok is not None and len(seen) == 1 else ok,
                    headers=headers, follow_redirects=True, kind=kind,
                )
            except NotFound as exc:
                if len(seen) == 1:
                    raise
                # not "no such repository": its first page was read
                raise RegistryError(_nowhere(page, written, elsewhere, what=what,
                                             host=self.host), status=404) from exc
            following = next_page(response.headers.get("link"))
            yield response
            if following is None:
                return
            written = following.target
            page, elsewhere = _next_link(following, page, base, what=what, host=self.host)
            params = None

    def catalog_pages(
        self, *, page_size: int = DEFAULT_PAGE_SIZE, cancel: CancelToken | None = None
    ) -> Iterator[NamePage]:
        """The registry's repositories, page by page."""
        return self.pages(
            "/v2/_catalog", "repositories", what=f"Listing the repositories of {self.host}",
            page_size=page_size, cancel=cancel, kind="catalog",
        )

    def tag_pages(
        self, repository: str, *, page_size: int = DEFAULT_PAGE_SIZE,
        cancel: CancelToken | None = None,
    ) -> Iterator[NamePage]:
        """A repository's tags, page by page, in the registry's order."""
        return self.pages(
            f"/v2/{repository}/tags/list", "tags",
            what=f"Listing the tags of {self.host}/{repository}",
            page_size=page_size, cancel=cancel,
        )

    def first_tag_page(
        self, repository: str, *, page_size: int = DEFAULT_PAGE_SIZE,
        cancel: CancelToken | None = None, retries: int | None = None,
    ) -> tuple[list[str], bool]:
        """The first page of a repository's tags, and whether it is the whole list
        (no ``Link`` to a next page); the next page is not asked for. ``retries`` (None:
        the client's ``retry_times``) caps each request's retries."""
        what = f"Listing the tags of {self.host}/{repository}"
        response = self.send(
            "GET", f"/v2/{repository}/tags/list", what=what, cancel=cancel,
            params={"n": page_size}, ok=(200, 400), retries=retries,
        )
        if response.status_code == 400:  # that page size refused: see pages()
            response.close()
            response = self.send("GET", f"/v2/{repository}/tags/list", what=what,
                                 cancel=cancel, retries=retries)
        whole = not _links_on(response)
        body = self.read_body(response, limit=MAX_LIST_BODY, what=what, cancel=cancel)
        return _names(body, "tags", what=what, host=self.host), whole

    def say_missing_tag(self, repository: str, tag: str, error: ImageNotFound, *,
                        cancel: CancelToken | None = None) -> None:
        """Make ``error``, the registry's "no such image" for the manifest
        ``repository:tag`` (:meth:`get_manifest`), say which part is wrong: one request
        for the first page of the repository's tags (as ``spyglass tags`` lists them,
        with the same credentials; not asked again on failure), then either that the
        repository has no such tag and some of those it has, or that there is no such
        repository (:func:`~.errors.missing_tag_sentence`). A failure of that request
        leaves ``error`` as it was (a cancel is raised); so does a list that holds the
        tag (its manifest not served all the same: the registry's word stands)."""
        listed: list[str] | None
        try:
            listed, whole = self.first_tag_page(repository, cancel=cancel, retries=0)
        except RepositoryNotFound:
            listed, whole = None, True
        except Cancelled:
            raise
        except SpyglassError as exc:
            log.info("%s: %s/%s's tags could not be listed to say what it has (%s)",
                     error, self.host, repository, exc)
            return
        if listed is not None and tag in listed:
            return
        said = missing_tag_sentence(self._reading_manifest(repository, tag), self.host,
                                    repository, tag, listed, whole=whole)
        if error.on_command_line in (None, error.message):
            error.on_command_line = None
        error.message = said
        error.missing_tag = tag

    def tags_of(self, repository: str, *, cancel: CancelToken | None = None) -> list[str]:
        """Every tag of a repository."""
        return [tag for page in self.tag_pages(repository, cancel=cancel) for tag in page]

    def manifest_users(
        self,
        repository: str,
        digest: Digest,
        *,
        tags: list[str] | None = None,
        cancel: CancelToken | None = None,
        workers: int = 8,
        lists: bool = True,
        looking: Callable[[int], None] | None = None,
        looked: Callable[[int], None] | None = None,
    ) -> ManifestUsers:
        """What in ``repository`` uses the manifest ``digest``: the tags pointing at it,
        and (with ``lists``) the tags of manifest lists that hold it as one of their
        images, which deleting it would break, and the referrers tags listing it (see
        :class:`ManifestUsers`); by their names, the tags of what is attached to it.
        HEAD requests in parallel; each list a tag points at is read once, and so is
        each manifest a tag points at whose ``HEAD`` names no single image's type (none,
        ``application/json``): it may be a list. ``looking`` is told how many tags are looked at,
        before they are (one request each: a command may say so); ``looked``, as each
        tag's look is over, how many are (from the lookup threads, in order: a window
        shows how far it is). A cancel stops the lookups: :class:`Cancelled` is raised."""
        from concurrent.futures import ThreadPoolExecutor

        candidates = self.tags_of(repository, cancel=cancel) if tags is None else tags
        if looking is not None:
            looking(len(candidates))
        held: dict[Digest, bool | None] = {}
        reading: dict[Digest, threading.Lock] = {}
        guard = threading.Lock()
        done = 0

        def holds(list_digest: Digest, cancel: CancelToken) -> bool | None:
            """Whether the list names ``digest`` (None: it cannot be read): each list
            read once, whatever the tags pointing at it."""
            with guard:
                lock = reading.setdefault(list_digest, threading.Lock())
            with lock:
                if list_digest not in held:
                    try:
                        raw = self.get_manifest(repository, str(list_digest),
                                                cancel=cancel).raw
                        held[list_digest] = _lists_image(raw, digest)
                    except _UNREADABLE:
                        held[list_digest] = None
                return held[list_digest]

        # leaving the pool's block waits for its lookups: they stop with the block
        with ThreadPoolExecutor(max_workers=workers) as pool, linked(cancel) as lookups:

            def use(tag: str) -> str:
                found = look(tag)
                if looked is not None:
                    nonlocal done
                    with guard:
                        done += 1
                        looked(done)
                return found

            def look(tag: str) -> str:
                try:
                    head = self.head_manifest(repository, tag, cancel=lookups,
                                              confirm_missing=True)
                except _UNREADABLE:
                    if not lists:
                        raise
                    return "unchecked"  # gone meanwhile, or unreadable: said, not fatal
                if head.digest == digest:
                    return "tag"
                if not lists or head.media_type in media.SINGLE_IMAGE_TYPES:
                    return ""
                # a list, or a tag the registry labels with no manifest type (Pulp sends
                # none, proxies application/json or text/plain): its manifest tells
                found = holds(head.digest, lookups)
                if found and _is_referrers_tag(tag):
                    return "referrers"
                return "unchecked" if found is None else "list" if found else ""

            uses = list(pool.map(use, candidates))
        pairs = list(zip(candidates, uses, strict=True))
        return ManifestUsers([t for t, u in pairs if u == "tag"],
                             [t for t, u in pairs if u == "list"],
                             [t for t, u in pairs if u == "unchecked"],
                             [t for t, u in pairs if u == "referrers"],
                             [t for t, u in pairs
                              if u != "tag" and attachment_tag_subject(t) == digest])

    def referrers(
        self,
        repository: str,
        digest: Digest,
        *,
        artifact_type: str | None = None,
        cancel: CancelToken | None = None,
    ) -> list[Descriptor] | None:
        """The OCI 1.1 referrers of manifest ``digest`` through the referrers API, every
        page (``Link`` ``rel="next"``); None when the registry has no such API.

        "No such API" is what the spec says (404), and what registries without it
        answer instead: 400, 405, 406 or 501, a 401 or 403 that the credentials do not
        cure (Harbor 2.7 answers 401 without a challenge), or a first page that is
        not an image index (a web page). The caller then falls back to the referrers
        tag schema, as go-containerregistry does.

        ``artifact_type`` filters, on the server when it says it applied the
        filter (``OCI-Filters-Applied``), else here.
        """
        what = f"Listing the referrers of {self.host}/{repository}@{digest}"
        params: dict[str, str | int] | None = (
            {"artifactType": artifact_type} if artifact_type else None
        )
        found: list[Descriptor] = []
        for response in self._linked_pages(
            self.url(f"/v2/{repository}/referrers/{digest}", cancel=cancel), params, what=what,
            cancel=cancel, ok=(200, *_NO_REFERRERS_API), headers={"Accept": media.OCI_INDEX},
        ):
            status = response.status_code
            if status != 200:
                response.close()
                if found:
                    raise RegistryError(
                        f"{what}: the registry {self.host} lost a page of the list ({status})."
                    )
                log.info("%s: the registry %s answered %d; taking it for a registry "
                         "without the referrers API", what, self.host, status)
                return None
            typed = response.headers.get("content-type", "").split(";")[0].strip()
            if typed != media.OCI_INDEX and not found:
                # the spec's answer is typed so; anything else (an untyped empty list,
                # say) is no referrers API, as oras-go takes it: the tag schema is asked
                response.close()
                log.info("%s: the registry %s answered with %s, not an image index; taking "
                         "it for a registry without the referrers API", what, self.host,
                         typed or "no Content-Type")
                return None
            filtered = "artifacttype" in response.headers.get(
                "oci-filters-applied", ""
            ).lower()
            body = self.read_body(response, limit=MAX_LIST_BODY, what=what, cancel=cancel)
            try:
                index = parse_manifest(body, media.OCI_INDEX)
                if not isinstance(index, ImageIndex):
                    raise InvalidManifest("it is a manifest, not an index")
            except SpyglassError as exc:
                problem = (f"{what}: the registry {self.host} answered with something that "
                           f"is not an image index: {str(exc).rstrip('.')}.")
                if found:
                    raise RegistryError(problem) from exc
                log.info("%s; taking it for a registry without the referrers API", problem)
                return None
            found.extend(
                d for d in index.manifests
                if filtered or artifact_type is None or d.artifact_type == artifact_type
            )
        return found

    # ---------------------------------------------------------------- manifests and blobs

    def get_manifest(
        self, repository: str, reference: str, *, cancel: CancelToken | None = None
    ) -> ManifestResponse:
        """GET a manifest by tag or digest, verified against the digest asked for (or the
        ``Docker-Content-Digest`` the registry states, for a tag)."""
        what = self._reading_manifest(repository, reference)
        response = self.send(
            "GET", f"/v2/{repository}/manifests/{reference}", what=what,
            cancel=cancel, kind="manifest",
            headers={"Accept": ", ".join(media.ACCEPT_MANIFESTS)},
            follow_redirects=True,  # registry.k8s.io sends them to another registry
        )
        response, raw = self._read_whole(response, limit=MAX_MANIFEST_SIZE, what=what,
                                         cancel=cancel, kind="manifest")
        stated = response.headers.get("docker-content-digest")
        content_type = response.headers.get("content-type", "").split(";")[0].strip() or None
        media_type = content_type if content_type in media.MANIFEST_TYPES else None
        expected = digest_or_none(reference) or digest_or_none(stated or "")
        algorithm = expected.algorithm if expected else "sha256"
        actual = manifest_digest(raw, media_type, algorithm)
        if expected is not None and actual != expected:
            raise DigestMismatch(
                f"{what}: the registry sent a manifest that hashes to {actual}, not {expected}; "
                "it is not trusted."
            )
        return ManifestResponse(raw, media_type, actual)

    def _reading_manifest(self, repository: str, reference: str) -> str:
        """What :meth:`get_manifest` says it does, to start its failures' sentences."""
        return f"Reading the manifest {self.host}/{repository}{ref_suffix(reference)}"

    def head_manifest(
        self, repository: str, reference: str, *, cancel: CancelToken | None = None,
        confirm_missing: bool = False,
    ) -> ManifestHead:
        """HEAD a manifest: its digest (``Docker-Content-Digest``), size and media type.

        A registry that answers no ``HEAD`` (405) is asked with ``GET``. So is one that
        answers ``HEAD`` 404 when ``confirm_missing`` (older Nexus answers 404 to the
        ``HEAD`` of a manifest it serves), for the callers to whom "not there" must be
        sure (a delete, the window's digests), as skopeo resolves a tag with ``GET``;
        once ``GET`` found what ``HEAD`` denied :data:`HEAD_404S_BELIED` times, every
        lookup is a ``GET``.

        The media type is a manifest type or None: a ``Content-Type`` that names none
        (``application/json``, ``text/plain``) says nothing; a manifest read instead
        has its type from the body where the registry labels it so."""
        # "manifest" in ``what`` maps a body-less 404 to ImageNotFound (errors.error_for)
        what = f"Looking up the manifest {self.host}/{repository}{ref_suffix(reference)}"
        if self._no_head:  # it said so once: not asked twice each time
            return _head_of(self.get_manifest(repository, reference, cancel=cancel))
        try:
            response = self.send(
                "HEAD", f"/v2/{repository}/manifests/{reference}", what=what,
                cancel=cancel, kind="manifest",
                headers={"Accept": ", ".join(media.ACCEPT_MANIFESTS)},
                follow_redirects=True,
            )
        except (Unsupported, ImageNotFound) as exc:
            if isinstance(exc, ImageNotFound) and not confirm_missing:
                raise
            if isinstance(exc, Unsupported):
                self._no_head = True
            got = _head_of(self.get_manifest(repository, reference, cancel=cancel))
            if not self._no_head:  # a HEAD 404 that GET belies: once may be a moment's
                with self._lock:
                    self._head_belied += 1
                    belied = self._head_belied
                switch = belied >= HEAD_404S_BELIED
                log.info("%s: the registry answered HEAD with 404 and GET with the manifest%s",
                         what, "; manifests are looked up with GET from now on" if switch
                         else f" ({belied} of {HEAD_404S_BELIED} times before GET is used)")
                self._no_head = switch
            return got
        response.close()
        stated = response.headers.get("docker-content-digest")
        digest = digest_or_none(stated or "")
        if digest is None:
            if (by_digest := digest_or_none(reference)) is not None:
                digest = by_digest
            else:
                # no digest header: fetch the manifest itself and hash it
                return _head_of(self.get_manifest(repository, reference, cancel=cancel))
        length = response.headers.get("content-length")
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        return ManifestHead(digest, int(length) if length and length.isdigit() else None,
                            content_type if content_type in media.MANIFEST_TYPES else None)

    def open_blob(
        self,
        repository: str,
        digest: Digest,
        *,
        start: int = 0,
        end: int | None = None,
        retries: int | None = None,
        cancel: CancelToken | None = None,
    ) -> ResponseStream:
        """Stream a blob (following redirects; ``Authorization`` never leaves the registry).
        ``retries`` (None: the client's ``retry_times``) caps the request's retries.

        With ``start``/``end`` (inclusive), a ranged read: the registry must answer 206
        with a matching ``Content-Range``, else this raises.
        """
        what = f"Reading the blob {digest} of {self.host}/{repository}"
        headers: dict[str, str] = {}
        ranged = start > 0 or end is not None
        if ranged:
            headers["Range"] = f"bytes={start}-{'' if end is None else end}"
        response = self.send(
            "GET", f"/v2/{repository}/blobs/{digest}", what=what,
            cancel=cancel, kind="blob", retries=retries,
            headers=headers, follow_redirects=True, ok=(200, 206) if ranged else (200,),
        )
        if ranged:
            if response.status_code != 206:
                response.close()
                raise RegistryError(
                    f"{what}: the registry ignored the range request for bytes {start}- and "
                    f"answered HTTP {response.status_code} with the whole blob.",
                    status=response.status_code,
                )
            content_range = response.headers.get("content-range", "")
            if not content_range.startswith(f"bytes {start}-"):
                response.close()
                raise RegistryError(
                    f"{what}: the registry answered the range request with "
                    f'"{content_range}" instead of bytes {start}-.',
                    status=206,
                )
        return ResponseStream(response, what, cancel)

    def delete_manifest(
        self, repository: str, digest: Digest, *, cancel: CancelToken | None = None
    ) -> bool:
        """DELETE a manifest by digest (the registry must allow deletes).

        Returns False when the registry said it deleted it; True when the answer to the
        ``DELETE`` was lost (a connection broken after it went out, a gateway's 502) and,
        asked again, the registry has no such manifest any more: the first one did it."""
        what = f"Deleting {self.host}/{repository}@{digest}"
        try:
            response = self.send(
                "DELETE", f"/v2/{repository}/manifests/{digest}", what=what,
                cancel=cancel, kind="manifest",
                ok=(200, 202),
            )
        except NotFound as gone:
            if not gone.answer_lost:
                raise
            log.info("%s: the registry's answer was lost; asked again, it has no such "
                     "manifest any more (%s)", what, gone)
            return True
        response.close()
        return False


MAX_LIST_BODY: Final = 16 * 1024 * 1024
"""Catalog and tag-list pages are read to at most this many bytes."""

MAX_PAGES: Final = 10_000
"""The most pages of one listing (tags, catalog, referrers) followed through ``Link``
headers: a registry that links each page to a new one would be read for ever."""

MAX_LISTED_NAMES: Final = 1_000_000
"""The most names (tags, repositories) one listing gathers before it stops."""


def _names(body: bytes, key: str, *, what: str, host: str) -> list[str]:
    try:
        data = gojson.loads(body)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise RegistryError(f"{what}: the registry {host} answered with something that is not "
                            "a JSON list.")
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise RegistryError(f'{what}: the registry {host} sent a "{key}" that is not a list '
                            "of names.")
    return items


def _links_on(response: httpx.Response) -> bool:
    """Whether ``response`` names a next page (see :func:`links.next_page`)."""
    return next_page(response.headers.get("link")) is not None


def _next_link(
    following: NextPage, current: httpx.URL, base: httpx.URL, *, what: str, host: str
) -> tuple[httpx.URL, bool]:
    """The next page a ``Link`` header names (:func:`links.next_page`), resolved against
    ``current`` as RFC 3986 resolves a reference, on the registry's host: a link to
    another host (a registry behind a proxy that names its own inside address) is taken
    for its path and query only, as containers/image takes it, so nothing (credentials
    least of all) goes elsewhere. The bool says whether it was (the host replaced)."""
    if not following.named:
        log.info("%s: the registry %s sent a Link without rel; following it as the next "
                 "page, as skopeo does", what, host)
    url = current.join(following.target)
    if url.scheme != base.scheme or url.netloc != base.netloc:
        log.info("%s: the registry %s points the next page at %s; asking the registry "
                 "itself for %s", what, host, url.host, url.raw_path.decode())
        return base.copy_with(raw_path=url.raw_path), True
    return url, False


def _nowhere(page: httpx.URL, written: str, elsewhere: bool, *, what: str, host: str) -> str:
    """The sentence for a next page that is not there (404), named as the ``Link`` wrote
    it (``written``) and, where that differs, as it was read: ``elsewhere``, its path
    asked of the registry, since it named another host."""
    asked = page.raw_path.decode()
    read = ""
    if elsewhere:
        read = (", which names another host (Spyglass asked the registry itself for "
                f"{asked}),")
    elif written not in (asked, str(page)):
        read = f", which is {asked} read against the page's own address,"
    return (f"{what} failed: the registry {host} links to its next page as {written}{read} "
            "and answers that with 404 (not found).")


# the client, its answers and its constants; ABANDON_TIMEOUT, HURRIED_ABANDON_TIMEOUT,
# UPLOAD_CHUNK_SIZE and HTTPPool are re-exported for those who import them from here:
# patch them where they are read (push, connections), not here
__all__ = [
    "ABANDON_TIMEOUT",
    "DEFAULT_PAGE_SIZE",
    "HURRIED_ABANDON_TIMEOUT",
    "MAX_LIST_BODY",
    "UPLOAD_CHUNK_SIZE",
    "HTTPPool",
    "ManifestHead",
    "ManifestResponse",
    "ManifestUsers",
    "NamePage",
    "RegistryClient",
]
