"""Pushing to a registry: :class:`RegistryPusher`, the part of
:class:`~spyglass.core.transports.registry.client.RegistryClient` that writes —
blobs mounted from another repository or uploaded, the check that a push is allowed
(and the upload sessions it keeps for the uploads that follow), manifests stored.
What an upload needs besides its requests is in
:mod:`spyglass.core.transports.registry.uploads`.

Uploads (distribution's "Pushing blobs", "Cross-repository blob mount",
"Pushing manifests") are not idempotent and their bodies stream, so no request
of an upload session is ever retried, and a streamed body is only sent once the
``POST`` that opened the session (which carries no body) has settled
authentication: the auth flow then holds a token for the ``pull,push`` scope,
which the session's ``PATCH`` and ``PUT`` requests share.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Final

import httpx

from spyglass.core.buffers import BUFFERS
from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import (
    Digest,
    Readable,
    VerifyingReader,
    verifies_itself,
)
from spyglass.core.errors import (
    ConnectionFailed,
    DigestMismatch,
    NotFound,
    RegistryError,
    SpyglassError,
    TooLarge,
    Unsupported,
    as_clause,
    mark_upload_cut_off,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    ImageManifest,
    manifest_digest,
    parse_manifest,
)
from spyglass.core.text import quoted_value
from spyglass.core.transports.registry.auth import pull_scope, push_scope
from spyglass.core.transports.registry.endpoint import (
    RegistryEndpoint,
    digest_or_none,
    ref_suffix,
)
from spyglass.core.transports.registry.uploads import (
    HashingReader,
    Sent,
    SpareUpload,
    UploadSession,
    fill,
    finished,
    held_back,
    slices,
    streamed,
    with_digest,
)

log = logging.getLogger(__name__)

BLOB_UNKNOWN_TRIES: Final = 4
BLOB_UNKNOWN_PAUSE: Final = 0.1
"""A manifest refused for a blob (or an image of a list) the repository lacks is sent
again, up to :data:`BLOB_UNKNOWN_TRIES` times, after 0.1 s, 0.2 s, 0.3 s. The blob was
stored a moment before, but distribution's filesystem storage writes a repository's
link to a blob by truncating the file and writing it again: while another writer (a
second copy into the same repository, of an image sharing that blob) rewrites the
link, the check reads it empty. Seen once in 20 syncs of 21 images, 4 at a time; a
blob really missing costs 0.6 s more before its sentence."""
_BLOB_UNKNOWN: Final = "MANIFEST_BLOB_UNKNOWN"

UPLOAD_CHUNK_SIZE: Final = 8 * 1024 * 1024
"""Bytes per ``PATCH`` of a chunked upload; one chunk is held in memory."""
_PATCH_ACCEPTED: Final = (201, 202, 204)
"""The answers to an upload's PATCH that take its bytes: 202 as the spec says, 204 of
old registries, and 201 of Amazon ECR (regclient's blobPutUploadChunked)."""
MAX_UPLOAD_CHUNK: Final = 64 * 1024 * 1024
"""The largest chunk a registry's ``OCI-Chunk-Min-Length`` can make us hold in memory."""

OCTET_STREAM: Final = "application/octet-stream"

STORAGE_REFUSALS: Final = (400, 401, 403, 405)
"""What object storage a registry redirects a blob ``HEAD`` to answers when it will not
take one: S3 refuses a ``HEAD`` on a URL signed for ``GET`` with 403 (a registry that
signs its redirects for ``GET`` alone: artifact-keeper, GitLab's virtual registry)."""

ABANDON_TIMEOUT: Final = httpx.Timeout(3.0)
"""For the courtesy ``DELETE`` of a failed or cancelled upload: a registry that does
not answer it at once (perhaps the stalled one the copy was cancelled over) is not
waited for; it purges the session itself."""

HURRIED_ABANDON_TIMEOUT: Final = httpx.Timeout(0.5)
"""The same, when the user cancelled the copy: it is to stop within a second, and a
registry that answers at all answers a ``DELETE`` well within this."""

SPARE_UPLOAD_AGE: Final = 60.0
"""Seconds an upload session a push check or a failed mount opened is kept for an
upload; an older one is cancelled and a new one started."""

MAX_SPARE_UPLOADS: Final = 16
"""Upload sessions kept per repository for uploads to come (failed mounts of a copy's
parallel blobs each leave one)."""

_TOLD_BY_AN_UPLOAD: Final = (RegistryError, NotFound, Unsupported)
"""What the push check's ``HEAD`` or mount may meet that the upload session it then
opens tells better: a refusal (said in the check's words), a registry that does not
mount or answers it with an error; a connection failing is said at once."""


class RegistryPusher(RegistryEndpoint):
    """The requests of :class:`~spyglass.core.transports.registry.client.RegistryClient`
    that write: blobs (looked up, mounted, uploaded), the push check and the upload
    sessions it keeps, and manifests."""

    # ---------------------------------------------------------------- uploads

    def blob_exists(
        self, repository: str, digest: Digest, *, cancel: CancelToken | None = None
    ) -> int | None:
        """HEAD a blob in ``repository``: its size, or None when the repository lacks it.

        The size is the ``Content-Length`` the registry states, -1 when it states
        none. A 404 (no such blob, or no such repository) is None; anything else
        that is not 200 raises the mapped error (401/403 included). A ``HEAD`` the
        registry redirects to storage that refuses it (:data:`STORAGE_REFUSALS`) is
        asked again as a one-byte ``GET`` (:meth:`_blob_by_get`).
        """
        what = f"Looking up the blob {digest} in {self.host}/{repository}"
        return self._blob_size(repository, digest, what=what, cancel=cancel)

    def _blob_size(self, repository: str, digest: Digest, *, what: str,
                   cancel: CancelToken | None, scope: str | None = None) -> int | None:
        """:meth:`blob_exists`, with the token ``scope`` asked for (None: the path's)."""
        found = self._blob_found(repository, digest, what=what, cancel=cancel, scope=scope)
        return None if found is None else found[0]

    def _blob_found(self, repository: str, digest: Digest, *, what: str,
                    cancel: CancelToken | None, scope: str | None
                    ) -> tuple[int, Digest | None] | None:
        """:meth:`_blob_size`, with the name the registry gives the blob
        (``Docker-Content-Digest``, None when it states none)."""
        response = self.send(
            "HEAD", f"/v2/{repository}/blobs/{digest}", what=what, cancel=cancel,
            kind="blob", ok=(200, 404), follow_redirects=True, scope=scope,
            ok_elsewhere=STORAGE_REFUSALS,
        )
        response.close()
        if response.status_code == 404:
            return None
        if response.status_code != 200:  # refused where the registry sent it: see there
            log.info("%s: the registry sent the HEAD on to %s, which refused it (HTTP %d); "
                     "asking with GET", what, response.request.url.host,
                     response.status_code)
            size = self._blob_by_get(repository, digest, what=what, cancel=cancel,
                                     scope=scope)
            return None if size is None else (size, None)
        length = response.headers.get("content-length", "")
        named = digest_or_none(response.headers.get("docker-content-digest", ""))
        return (int(length) if length.isdigit() else -1), named

    def _blob_by_get(self, repository: str, digest: Digest, *, what: str,
                     cancel: CancelToken | None, scope: str | None) -> int | None:
        """Whether ``repository`` holds the blob, asked with a ``GET`` of its first byte
        (storage signs a registry's redirect for ``GET`` alone, S3 refuses a ``HEAD`` of
        it): its size (from ``Content-Range``, -1 when unstated), or None when it is
        missing or the storage refuses this too (then it is uploaded again: the copy
        goes on)."""
        response = self.send(
            "GET", f"/v2/{repository}/blobs/{digest}", what=what, cancel=cancel,
            kind="blob", ok=(200, 206, 404), follow_redirects=True, scope=scope,
            headers={"Range": "bytes=0-0"}, ok_elsewhere=STORAGE_REFUSALS,
        )
        response.close()  # (its body unread: a whole blob, where the range was ignored)
        status = response.status_code
        if status == 404:
            return None
        if status not in (200, 206):
            log.info("%s: %s refused the GET too (HTTP %d); taking the blob for missing",
                     what, response.request.url.host, status)
            return None
        total = response.headers.get("content-range", "").rpartition("/")[2]
        length = total if status == 206 else response.headers.get("content-length", "")
        return int(length) if length.isdigit() else -1

    def mount_blob(
        self,
        repository: str,
        digest: Digest,
        from_repository: str,
        *,
        owner: object = None,
        cancel: CancelToken | None = None,
    ) -> bool:
        """Link the blob ``digest`` of ``from_repository`` into ``repository`` without its bytes.

        ``POST /v2/REPOSITORY/blobs/uploads/?mount=DIGEST&from=FROM``: True when the
        registry mounted it (201). A registry that cannot — the blob is not in
        ``from_repository``, or it does not mount at all — starts an ordinary
        upload instead (202): this returns False, and that session is kept for the
        upload that follows (``owner``'s, see :meth:`drop_spare_upload`). Refusals
        raise the mapped error: distribution wants pull access to ``from_repository``
        as well and answers 401 for the whole request without it
        (:class:`AccessDenied` with credentials).
        """
        what = (
            f"Mounting the blob {digest} from {self.host}/{from_repository} into {repository}"
        )
        if not mountable(digest):
            log.info("%s: not asked (a registry storing blobs by sha256 would link it to "
                     "nothing); it is uploaded instead", what)
            return False
        # the token asks for both repositories at once, as containers/image asks: Docker
        # Hub's challenge names only the one mounted into, and refuses the mount without
        # pull access to the other
        scope = f"{push_scope(repository)} {pull_scope(from_repository)}"
        response = self.send(
            "POST", f"/v2/{repository}/blobs/uploads/", what=what, cancel=cancel,
            params={"mount": str(digest), "from": from_repository}, ok=(201, 202), retries=0,
            scope=scope,
        )
        response.close()
        if response.status_code == 201:
            stated = digest_or_none(response.headers.get("docker-content-digest", ""))
            if _another_blob(stated, digest):
                raise RegistryError(
                    f"{what}: the registry {self.host} answered that it mounted {stated} "
                    "instead.",
                    status=201,
                )
            return True
        try:
            self._keep_spare(repository, self._session_of(response, what, scope), owner)
        except RegistryError as exc:
            log.warning("%s", exc)  # an upload Location we will not follow: nothing to cancel
        return False

    def check_push(
        self,
        repository: str,
        *,
        held: Digest | None = None,
        owner: object = None,
        cancel: CancelToken | None = None,
    ) -> bool:
        """Whether the credentials allow a push to ``repository``, storing nothing; raises
        the refusal a push would meet (:class:`AuthenticationFailed`, :class:`AccessDenied`).
        True when the repository was found to hold ``held`` (no need to ask again).

        ``held`` is a blob the copy writes (its config). Where ``repository`` holds it
        already (a ``HEAD`` says), it is mounted onto itself: the registry checks
        push access and links what is linked (distribution answers 201 and keeps
        nothing); a sha512 blob by the sha256 name the registry states for it (see
        :func:`mountable`). Otherwise, or when that mount is answered with anything but 201
        (a registry that does not mount, or answers it with an upload session), an
        upload session is started and kept for the next :meth:`upload_blob` to
        ``repository`` (``owner``'s: see :meth:`drop_spare_upload`), which then asks
        for none. A copy whose blobs are all there must not open a session it never
        uses: distribution 2.8 refuses its cancel under token authentication (it
        wants ``delete``) and keeps a cancelled session's files under Basic (a week,
        by default)."""
        what = f"Checking that {self.host}/{repository} can be written"
        named = None if held is None else self._holds_for_push(repository, held, what, cancel)
        if named is not None:
            try:
                response = self.send(
                    "POST", f"/v2/{repository}/blobs/uploads/", what=what, cancel=cancel,
                    params={"mount": str(named), "from": repository}, ok=(201, 202),
                    scope=push_scope(repository), retries=0,
                )
            except _TOLD_BY_AN_UPLOAD as exc:
                log.info("%s", exc)  # the upload session that follows tells
            except ConnectionFailed as exc:
                if isinstance(exc.__cause__, httpx.TimeoutException):
                    raise  # a registry that hangs: not asked again and again
                # a connection dropped as the mount came (its answer lost, or a kept-alive
                # connection closed): the upload session that follows is asked again
                log.info("%s", exc)
            else:
                response.close()
                if response.status_code == 201:
                    return True
                try:
                    session = self._session_of(response, what, push_scope(repository))
                except RegistryError as exc:
                    log.warning("%s", exc)  # a Location we will not follow: nothing to cancel
                else:
                    self._keep_spare(repository, session, owner)
                    return True
        self._keep_spare(repository, self._start_upload(repository, what=what, cancel=cancel),
                         owner)
        return False

    def _holds_for_push(self, repository: str, digest: Digest, what: str,
                        cancel: CancelToken | None) -> Digest | None:
        """The name to mount the blob ``digest`` onto ``repository`` by, where it holds
        it, asked with the push token the check needs next (one token): ``digest``
        itself, or for one :func:`mountable` refuses, the sha256 name the registry
        states for it. None when it lacks it, states no sha256 name, or does not say
        (the upload session that follows tells a refusal)."""
        try:
            found = self._blob_found(repository, digest, what=what, cancel=cancel,
                                     scope=push_scope(repository))
        except _TOLD_BY_AN_UPLOAD as exc:
            log.info("%s", exc)
            return None
        if found is None or mountable(digest):
            return None if found is None else digest
        named = found[1]
        return named if named is not None and mountable(named) else None

    def _keep_spare(self, repository: str, session: UploadSession, owner: object) -> None:
        """Keep ``session`` for the next upload to ``repository`` (at most
        :data:`MAX_SPARE_UPLOADS`; the oldest beyond them is cancelled)."""
        with self._lock:
            spares = self._spare_uploads.setdefault(repository, [])
            spares.append(SpareUpload(session, time.monotonic(), owner))
            extra = spares[:-MAX_SPARE_UPLOADS]
            del spares[:-MAX_SPARE_UPLOADS]
        for old in extra:
            self._abandon_upload(old.session.location,
                                 f"An upload to {self.host}/{repository}", old.session.scope)

    def drop_spare_upload(self, repository: str, *, owner: object = None,
                          hurried: bool = False) -> None:
        """Cancel the sessions kept for ``repository`` on behalf of ``owner`` (a copy's
        destination: copies sharing this client keep theirs) that no upload took
        (``hurried``: the copy was stopped)."""
        with self._lock:
            spares = self._spare_uploads.get(repository, [])
            dropped = [spare for spare in spares if spare.owner is owner]
            kept = [spare for spare in spares if spare.owner is not owner]
            if kept:
                self._spare_uploads[repository] = kept
            else:
                self._spare_uploads.pop(repository, None)
        for spare in dropped:
            self._abandon_upload(spare.session.location,
                                 f"An upload to {self.host}/{repository}",
                                 spare.session.scope, hurried=hurried)

    def _take_spare_upload(self, repository: str) -> UploadSession | None:
        """The newest session kept for ``repository``, while it is fresh (a copy that
        waited in a queue, or a registry restarted meanwhile, may find it gone: older
        ones are cancelled, and a new one started)."""
        now = time.monotonic()
        with self._lock:
            spares = self._spare_uploads.get(repository, [])
            stale = [spare for spare in spares if now - spare.opened > SPARE_UPLOAD_AGE]
            fresh = [spare for spare in spares if now - spare.opened <= SPARE_UPLOAD_AGE]
            taken = fresh.pop().session if fresh else None
            if fresh:
                self._spare_uploads[repository] = fresh
            else:
                self._spare_uploads.pop(repository, None)
        for spare in stale:
            self._abandon_upload(spare.session.location,
                                 f"An upload to {self.host}/{repository}", spare.session.scope)
        return taken

    def upload_blob(
        self,
        repository: str,
        stream: Readable,
        digest: Digest | None,
        size: int | None,
        *,
        cancel: CancelToken | None = None,
        progress: Callable[[int], None] | None = None,
        chunk_size: int | None = None,
    ) -> tuple[Digest, int]:
        """Upload a blob read from ``stream`` into ``repository``; return its digest and size.

        A ``POST`` without a body opens an upload session (and settles
        authentication for the ``pull,push`` scope). With ``digest`` and ``size``
        known (and no ``chunk_size``), one ``PUT ?digest=`` then streams the whole
        blob (monolithic).
        Otherwise (a blob being recompressed, say) one ``PATCH`` streams it with
        ``Transfer-Encoding: chunked``, as docker and containers/image push, and
        a closing ``PUT ?digest=`` names the sha256 computed while streaming; a
        blob of at most :data:`UPLOAD_CHUNK_SIZE` bytes goes in that ``PUT``
        alone. With ``chunk_size`` the blob goes instead in ``PATCH`` requests of
        that many bytes (``Content-Range``, each to the ``Location`` the previous
        answer named), for registries or proxies that limit a request's size.

        The bytes are checked against ``digest`` and ``size`` (when given) as they
        flow, and the last piece is held back until the check passed, so a
        mismatch, a failing stream or ``cancel`` never completes the upload: the
        session is cancelled with ``DELETE`` (best effort: distribution 2.8 keeps
        what it received of a broken-off ``PUT`` and then refuses the ``DELETE``,
        whose ``_state`` names the old offset; the registry purges such sessions
        later) and the error raised. Memory use is at most one chunk.
        ``progress`` is called with the bytes just sent. No request of the
        session is retried. An upload ``Location`` on another server (scheme,
        host and port must equal the registry's) or not http(s) is refused with
        :class:`RegistryError`.
        """
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1 byte, not {chunk_size}")
        target = f"{self.host}/{repository}"
        what = f"Uploading {f'the blob {digest}' if digest else 'a blob'} to {target}"
        hashing: HashingReader | None = None
        verifying: VerifyingReader | None = None
        if digest is not None and verifies_itself(stream, digest, size, cancel):
            # it checks digest, size and cancel itself: hashing it again only costs CPU
            assert isinstance(stream, VerifyingReader)
            verifying = stream
            reader: Readable = verifying
        elif digest is not None:
            verifying = VerifyingReader(
                stream, digest, size, what=f"The blob {digest} uploaded to {target}",
                cancel=cancel,
            )
            reader = verifying
        else:
            hashing = HashingReader(
                stream, size, what=f"The blob uploaded to {target}", cancel=cancel
            )
            reader = hashing
        spare = self._take_spare_upload(repository)
        session = spare or self._start_upload(repository, what=what, cancel=cancel)
        try:
            if digest is not None and size is not None and chunk_size is None:
                self._put_whole(
                    session, held_back(reader, progress), digest, size, what=what,
                    cancel=cancel,
                )
            elif chunk_size is None:
                self._patch_streamed(
                    session, reader, lambda: digest or finished(hashing), what=what,
                    cancel=cancel, progress=progress,
                )
            else:
                self._put_chunks(
                    session, reader, lambda: digest or finished(hashing), what=what,
                    cancel=cancel, progress=progress,
                    chunk_size=max(chunk_size, min(session.min_chunk, MAX_UPLOAD_CHUNK)),
                )
        except NotFound as exc:
            self._abandon_upload(session.location, what, session.scope)
            if spare is None:
                raise
            # the session the check kept was gone after all (the registry restarted
            # with another secret, say): worth another attempt, which starts its own
            raise ConnectionFailed(f"{what} failed: the upload session the registry "
                                   f"opened for it was gone ({as_clause(str(exc))})") from exc
        except BaseException as exc:
            dropped = self._abandon_upload(session.location, what, session.scope,
                                           hurried=cancel is not None and cancel.cancelled)
            mark_upload_cut_off(exc, dropped)
            raise
        if verifying is not None:
            assert digest is not None
            return digest, verifying.bytes_read
        assert hashing is not None
        return hashing.digest, hashing.bytes_read

    def _start_upload(
        self, repository: str, *, what: str, cancel: CancelToken | None
    ) -> UploadSession:
        response = self.send(
            "POST", f"/v2/{repository}/blobs/uploads/", what=what, cancel=cancel,
            ok=(202,),  # asked again after a 429 or 502/503/504 (nothing was opened)
        )
        response.close()
        return self._session_of(response, what, push_scope(repository))

    def _session_of(self, response: httpx.Response, what: str, scope: str) -> UploadSession:
        """The upload session a 202 to a ``POST`` opened (``scope``: the token's)."""
        minimum = response.headers.get("oci-chunk-min-length", "")
        return UploadSession(
            self._upload_location(response, what), scope,
            int(minimum) if minimum.isdigit() else 0,
        )

    def _put_whole(
        self,
        session: UploadSession,
        body: Iterator[bytes | memoryview],
        digest: Digest,
        size: int,
        *,
        what: str,
        cancel: CancelToken | None,
    ) -> None:
        response = self.send(
            "PUT", with_digest(session.location, digest), what=what, cancel=cancel,
            scope=session.scope,
            headers={"Content-Type": OCTET_STREAM, "Content-Length": str(size)},
            content=body, ok=(201,), retries=0,
        )
        self._check_created(response, digest, what)

    def _close_upload(
        self, session: UploadSession, digest: Digest, *, what: str, cancel: CancelToken | None
    ) -> None:
        """The ``PUT ?digest=`` without a body that completes an upload sent in ``PATCH``es
        (bytes, so it can be sent again with a new token should the old one expire)."""
        response = self.send(
            "PUT", with_digest(session.location, digest), what=what, cancel=cancel,
            scope=session.scope,
            headers={"Content-Type": OCTET_STREAM, "Content-Length": "0"},
            content=b"", ok=(201,), retries=0,
        )
        self._check_created(response, digest, what)

    def _patch_streamed(
        self,
        session: UploadSession,
        reader: Readable,
        final_digest: Callable[[], Digest],
        *,
        what: str,
        cancel: CancelToken | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        """The blob in one streamed ``PATCH``, then ``PUT ?digest=``; a small one in the
        ``PUT`` alone. A failing or mismatching stream breaks the ``PATCH`` off, so
        the ``PUT`` that would complete the upload is never sent. (distribution 2.8
        then keeps what it received until it purges stale uploads: the ``DELETE``
        can only name the session's state before the ``PATCH``, which it refuses;
        docker and skopeo leave the same behind.)"""
        with BUFFERS.lend(UPLOAD_CHUNK_SIZE) as buffer:
            first, ended = fill(reader, buffer)
            if ended:
                self._put_whole(
                    session, slices(first, progress), final_digest(), len(first),
                    what=what, cancel=cancel,
                )
                return
            sent = Sent()
            response = self.send(
                "PATCH", session.location, what=what, cancel=cancel,
                scope=session.scope,
                headers={"Content-Type": OCTET_STREAM},
                content=streamed(first, reader, buffer, sent, progress),
                ok=_PATCH_ACCEPTED, retries=0,
            )
        response.close()
        if not sent.complete:
            # httpcore stops sending quietly when the server answers early
            raise RegistryError(
                f"{what}: the registry {self.host} answered HTTP {response.status_code} "
                f"after {sent.count} bytes, before the whole blob was sent; the upload was "
                "abandoned.",
                status=response.status_code,
            )
        session.location = self._upload_location(response, what)
        self._check_range(response, sent.count - 1, what)
        self._close_upload(session, final_digest(), what=what, cancel=cancel)

    def _put_chunks(
        self,
        session: UploadSession,
        reader: Readable,
        final_digest: Callable[[], Digest],
        *,
        what: str,
        cancel: CancelToken | None,
        progress: Callable[[int], None] | None,
        chunk_size: int,
    ) -> None:
        with BUFFERS.lend(chunk_size) as buffer:  # the one chunk held in memory
            self._send_chunks(
                session, reader, final_digest, buffer, what=what, cancel=cancel,
                progress=progress,
            )

    def _send_chunks(
        self,
        session: UploadSession,
        reader: Readable,
        final_digest: Callable[[], Digest],
        buffer: memoryview,
        *,
        what: str,
        cancel: CancelToken | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        offset = 0
        while True:
            check(cancel)
            chunk, ended = fill(reader, buffer)
            if ended and offset == 0:
                # all of it fits in one chunk, so its digest is known now: one PUT does it
                self._put_whole(
                    session, slices(chunk, progress), final_digest(), len(chunk),
                    what=what, cancel=cancel,
                )
                return
            if chunk:
                end = offset + len(chunk) - 1
                response = self.send(
                    "PATCH", session.location, what=what, cancel=cancel,
                    scope=session.scope,
                    headers={
                        "Content-Type": OCTET_STREAM,
                        "Content-Length": str(len(chunk)),
                        "Content-Range": f"{offset}-{end}",
                    },
                    content=slices(chunk, progress), ok=_PATCH_ACCEPTED, retries=0,
                )
                response.close()
                session.location = self._upload_location(response, what)
                self._check_range(response, end, what)
                offset = end + 1
            if ended:
                break
        self._close_upload(session, final_digest(), what=what, cancel=cancel)

    def _check_range(self, response: httpx.Response, end: int, what: str) -> None:
        """Compare the ``Range: 0-END`` a chunk's answer states with what was sent."""
        stated = response.headers.get("range", "").strip()
        first, dash, last = stated.removeprefix("bytes=").partition("-")
        if not (dash and first.isdigit() and last.isdigit()):
            return  # not stated, or in a form we do not know: nothing to compare
        if int(first) != 0 or int(last) != end:
            raise RegistryError(
                f"{what}: after {end + 1} bytes were sent the registry {self.host} says it "
                f"holds bytes {stated} of the upload; the upload is out of step and was "
                "abandoned.",
                status=response.status_code,
            )

    def _check_created(self, response: httpx.Response, digest: Digest, what: str) -> None:
        response.close()
        stated = digest_or_none(response.headers.get("docker-content-digest", ""))
        if _another_blob(stated, digest):
            raise DigestMismatch(
                f"{what}: the registry {self.host} stored the blob as {stated}, not as "
                f"{digest}; it is not trusted."
            )

    def _upload_location(self, response: httpx.Response, what: str) -> str:
        """The upload ``Location`` of an answer, resolved; refused unless on the registry.

        Only the registry's own scheme, host and port are accepted: the session's
        requests carry its credentials and the blob.
        """
        location = response.headers.get("location", "").strip()
        if not location:
            raise RegistryError(
                f"{what}: the registry {self.host} answered HTTP {response.status_code} "
                "without the Location to upload to.",
                status=response.status_code,
            )
        shown = quoted_value(location)
        try:
            url = response.request.url.join(location)
        except httpx.InvalidURL as exc:
            raise RegistryError(
                f"{what}: the registry {self.host} named {shown} as the place to upload to, "
                "which is not a URL.",
                status=response.status_code,
            ) from exc
        if url.scheme not in ("http", "https"):
            raise RegistryError(
                f"{what}: the registry {self.host} named {shown} as the place to upload to, "
                "which is not an http(s) URL; refusing to follow it.",
                status=response.status_code,
            )
        base = httpx.URL(self._ping(None) + "/")  # known by now: the POST went there
        if _origin(url) != _origin(base):
            raise RegistryError(
                f"{what}: the registry {self.host} named {_origin_text(url)} as the place to "
                f"upload to, another server than {_origin_text(base)}; refusing to send the "
                f"blob (and the credentials for {self.host}) there.",
                status=response.status_code,
            )
        return str(url.copy_with(fragment=None))

    def _abandon_upload(self, location: str, what: str, scope: str, *,
                        hurried: bool = False) -> bool:
        """Cancel an upload session (best effort: the registry purges stale ones anyway),
        with the session's own token scope: containers/image cancels so too, since the
        ``delete`` action is rarely granted (Quay gives it to no one). ``hurried``: the
        user cancelled the copy, which is to end at once (:data:`HURRIED_ABANDON_TIMEOUT`).
        True when the registry took the cancel (and dropped what it had received);
        False when it may keep that until it purges unfinished uploads."""
        try:
            response = self._send_raw(
                "DELETE", location, what=f"{what} (cancelling the upload)", cancel=None,
                auth=True, retries=0, scope=scope, scope_only=True,
                timeout=HURRIED_ABANDON_TIMEOUT if hurried else ABANDON_TIMEOUT,
            )
        except SpyglassError as exc:
            log.info("%s: cancelling the upload session failed: %s", what, exc)
            return False
        response.close()
        if response.status_code == 404:
            # gone already, or (distribution after a broken-off body) a state it no longer
            # accepts: then it keeps what it received until it purges stale uploads
            log.info("%s: the registry did not take the upload session's cancel (HTTP 404); "
                     "it purges stale uploads itself", what)
        elif response.status_code not in (200, 202, 204):
            log.info(
                "%s: cancelling the upload session answered HTTP %s", what, response.status_code
            )
        return response.status_code in (200, 202, 204)

    def put_manifest(
        self,
        repository: str,
        reference: str,
        raw: bytes,
        media_type: str,
        *,
        cancel: CancelToken | None = None,
    ) -> Digest:
        """PUT a manifest under a tag or digest, with ``media_type`` as its Content-Type.

        Returns its digest. By digest, the bytes must hash to it (checked before
        sending); the ``Docker-Content-Digest`` the registry answers must be
        the digest of the bytes sent, else :class:`DigestMismatch`.
        """
        return self._put_manifest(repository, reference, raw, media_type, cancel=cancel)[0]

    def put_referrer(
        self,
        repository: str,
        raw: bytes,
        media_type: str,
        *,
        digest: Digest | None = None,
        cancel: CancelToken | None = None,
    ) -> tuple[Digest, bool]:
        """PUT a manifest that has a ``subject``, by ``digest`` (default: its sha256): its
        digest, and whether the registry indexed it as a referrer itself (it answered
        ``OCI-Subject``); when not, the client keeps the referrers tag schema's index up
        to date."""
        digest = digest or manifest_digest(raw, media_type)
        stored, headers = self._put_manifest(
            repository, str(digest), raw, media_type, cancel=cancel
        )
        return stored, "oci-subject" in headers

    def _put_manifest(
        self,
        repository: str,
        reference: str,
        raw: bytes,
        media_type: str,
        *,
        cancel: CancelToken | None = None,
    ) -> tuple[Digest, httpx.Headers]:
        what = f"Storing the manifest {self.host}/{repository}{ref_suffix(reference)}"
        if len(raw) > MAX_MANIFEST_SIZE:
            raise TooLarge(
                f"{what}: the manifest is {len(raw)} bytes, more than the "
                f"{MAX_MANIFEST_SIZE // (1024 * 1024)} MiB registries accept."
            )
        by_digest = digest_or_none(reference)
        ours = manifest_digest(raw, media_type, by_digest.algorithm if by_digest else "sha256")
        if by_digest is not None and ours != by_digest:
            raise DigestMismatch(
                f"{what}: the manifest's bytes hash to {ours}, not to the digest it is to be "
                "stored under."
            )
        for attempt in range(1, BLOB_UNKNOWN_TRIES + 1):
            try:
                response = self.send(
                    "PUT", f"/v2/{repository}/manifests/{reference}", what=what, cancel=cancel,
                    # any success, as containers/image takes it (Quay answered 202 until 2017)
                    headers={"Content-Type": media_type}, content=raw, ok=(200, 201, 202, 204),
                )
                break
            except RegistryError as exc:
                if attempt == BLOB_UNKNOWN_TRIES or _BLOB_UNKNOWN not in exc.message:
                    raise
                refused = _foreign_refused(exc, raw, media_type, what, self.host)
                if refused is not None:  # (no other writer will link it: never sent)
                    raise refused from exc
                log.info("%s Asking again (another writer may be linking the blob).", exc)
                from spyglass.core.retry import pause

                pause(BLOB_UNKNOWN_PAUSE * attempt, cancel)
        response.close()
        stated = digest_or_none(response.headers.get("docker-content-digest", ""))
        if stated is not None:
            if stated.algorithm != ours.algorithm:
                ours = manifest_digest(raw, media_type, stated.algorithm)
            if stated != ours:
                raise DigestMismatch(
                    f"{what}: the registry {self.host} says it stored the manifest as "
                    f"{stated}, but the bytes sent hash to {ours}; the registry changed or "
                    "misread it."
                )
        return ours, response.headers


def _foreign_refused(exc: RegistryError, raw: bytes, media_type: str, what: str,
                     host: str) -> RegistryError | None:
    """The sentence for a registry's MANIFEST_BLOB_UNKNOWN that names a layer of the
    manifest left where its ``urls`` point (a foreign or non-distributable layer, which
    a copy does not upload): the registry takes no manifest naming layers kept elsewhere
    (distribution without ``validation.manifests.urls.allow``); asking again cannot help.
    None when the answer names no such layer."""
    try:
        manifest = parse_manifest(raw, media_type)
    except SpyglassError:
        return None
    if not isinstance(manifest, ImageManifest):
        return None
    layer = next((layer for layer in manifest.layers
                  if layer.urls and str(layer.digest) in exc.message), None)
    if layer is None:
        return None
    return RegistryError(
        f"{what} failed: the registry {host} refused the manifest because it does not hold "
        f"the foreign layer {layer.digest} (left at {layer.urls[0]}, as a copy leaves such "
        "layers): it does not accept manifests naming layers stored elsewhere. Allow them "
        "in its configuration (distribution: validation.manifests.urls.allow), or copy the "
        "image to another destination.", status=exc.status, code=exc.code)


_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def _origin_text(url: httpx.URL) -> str:
    scheme, host, port = _origin(url)
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}"


def mountable(digest: Digest) -> bool:
    """Whether a blob may be mounted by the name ``digest``: a sha256 one only.
    distribution (2.8, and 3.0) stores every blob under its sha256 digest, a
    repository's link for another name pointing at it; a mount by a sha512 name writes
    that link anew pointing at the sha512 name itself, where nothing is stored, and
    answers 201 — the repository mounted into, or already holding it, no longer serves
    the blob (``BLOB_UNKNOWN``, and a manifest naming it ``MANIFEST_BLOB_UNKNOWN``). An
    upload links both names right, mending such a link."""
    return digest.algorithm == "sha256"


def _another_blob(stated: Digest | None, digest: Digest) -> bool:
    """Whether a ``Docker-Content-Digest`` answered for ``digest`` names another blob. One
    of another algorithm is the registry's own (canonical) name for it, as the
    distribution spec allows (distribution names a sha512 blob by its sha256): the 201
    that came with it says the bytes matched the digest given."""
    return stated is not None and stated.algorithm == digest.algorithm and stated != digest
