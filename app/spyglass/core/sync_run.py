"""Carrying out a sync: many copies in one process, a few images at a time.

Each image is one copy by the copy engine (:func:`~spyglass.core.copy.plan_copy`
and :func:`~spyglass.core.copy.execute`), with its own cancel token linked to
the sync's: a failed image stops only itself (``keep_going``) or, without it,
the whole sync. The registry clients are the process's shared ones
(:func:`~spyglass.core.transports.registry.client_for`), so tokens and
connections are reused from image to image, and the blob-location cache lets
an image mount the blobs an earlier one pushed to another repository.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from spyglass.core.cancel import (
    CancelToken,
    final_stretch,
    held_interrupt,
    in_place_from_here,
    interrupts_deferred,
    linked,
    past_commit,
)
from spyglass.core.copy_events import Planned
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    Cancelled,
    ConnectionFailed,
    ImageNotFound,
    SpyglassError,
    Unreachable,
    out_of_memory,
)
from spyglass.core.sync import SyncImage
from spyglass.core.sync_kinds import DEFAULT_PARALLEL_IMAGES
from spyglass.core.sync_unreachable import UnreachableHosts, say_tries

if TYPE_CHECKING:
    from spyglass.core.copy import CopyEvent, CopyOptions, EventCallback
    from spyglass.core.transports.registry import RegistryOptions
    from spyglass.core.transports.registry.source import SharedLookups


@dataclass(frozen=True)
class ImageResult:
    """How one image's copy ended: its digest, or why it failed."""

    image: SyncImage
    digest: Digest | None = None
    error: SpyglassError | None = None
    unchanged: bool = False
    """The destination had this very image under the name already: nothing was written."""
    before: Digest | None = None
    """What the destination's name named before, where it named another image (a tag
    moved at the source); None otherwise."""
    covered: frozenset[Digest] = frozenset()
    """The source's digests the copy wrote as they are: its top manifest's when written
    so, and those of the instances it copied unchanged (what a tag attached to one of
    them is carried along by; a list of which one image went carries nothing)."""


_WAKE_EVERY: Final = 0.2
"""How often the waiting thread wakes while no copy ends (each lane's results, and its
end, are told at once; so is an interrupt, held meanwhile: see :func:`run_sync`)."""

class _Woken:
    """What wakes the waiting thread for an interrupt it holds (see :func:`run_sync`)."""


_WAKE: Final = _Woken()


@dataclass(frozen=True)
class _LaneEnded:
    """A lane's last word to :func:`run_sync`: it ended, and how if it failed."""

    error: BaseException | None


def copy_one(
    image: SyncImage,
    options: CopyOptions,
    destination_options: RegistryOptions | None,
    *,
    events: EventCallback | None = None,
    cancel: CancelToken | None = None,
    shared: SharedLookups | None = None,
) -> tuple[Digest, bool, Digest | None]:
    """Copy one image of a sync as ``spyglass copy`` would: its top digest, whether the
    destination had it already, and what the destination's name named before where
    that was another image. As skopeo sync (its copies
    ``OptimizeDestinationImageAlreadyExists``), a registry destination whose name
    already names the manifest the copy would write is left as it is (the engine asks
    with one ``HEAD``; what is attached is still carried along), where skopeo copy asks
    about every blob and writes every manifest again. ``shared``: what the sync's copies
    learn of their source repositories (tags, no referrers API), asked once for all."""
    from spyglass.core.copy import Finished, execute, plan_copy
    from spyglass.core.reference import DockerName
    from spyglass.core.transports import open_destination, open_source
    from spyglass.core.transports.registry.source import RegistryImageSource

    options = options_for(image, options)
    source = open_source(image.source, image.registry if isinstance(image.source, DockerName)
                         else None)
    if shared is not None and isinstance(source, RegistryImageSource):
        source.share_lookups(shared)
    held = False
    before: Digest | None = None

    def tell(event: CopyEvent) -> None:
        nonlocal held, before
        if isinstance(event, Finished):
            held = event.held
            before = event.before if event.before != event.digest else None
        if events is not None:
            events(event)

    try:
        # (a dir: image's folder, below the destination's, is made with those above it, as
        # skopeo sync makes them: the destination folder itself too)
        destination = open_destination(
            image.destination,
            destination_options if isinstance(image.destination, DockerName) else None,
            make_parents=True)
        try:
            plan = plan_copy(source, destination, options, cancel=cancel)
            top = execute(plan, source, destination, options, events=tell, cancel=cancel,
                          check_writable=True)
        except BaseException:
            with interrupts_deferred():
                destination.abort()  # (a no-op after execute's own)
            raise
        finally:
            destination.close()
    finally:
        source.close()
    return top.digest, held, before


def options_for(image: SyncImage, options: CopyOptions) -> CopyOptions:
    """The options an image is copied with: with every image of a list for one
    :attr:`~spyglass.core.sync.SyncImage.whole`, and its own
    :attr:`~spyglass.core.sync.SyncImage.tags_apart`."""
    from dataclasses import replace

    return replace(options, multi_arch="all" if image.whole else options.multi_arch,
                   tags_apart=options.tags_apart | image.tags_apart)


def unchanged_digest(
    image: SyncImage,
    options: CopyOptions,
    destination_options: RegistryOptions | None,
    *,
    cancel: CancelToken | None = None,
    shared: SharedLookups | None = None,
) -> Digest | None:
    """For a dry run, what :func:`copy_one` would find: the digest the image's name at a
    registry destination names where that is the very manifest the copy would write (it
    is left as it is, "Unchanged"); None where it would be copied (a ``dir:``
    destination is always written). One ``HEAD`` for a name that names nothing; the
    source's manifests are read only for one that names something. A source that
    cannot be read is None (the copy would say why). Raises what asking the destination
    meets (it cannot be reached, wants credentials)."""
    from spyglass.core.copy import held_already, plan_copy
    from spyglass.core.reference import DockerName
    from spyglass.core.transports import open_destination, open_source
    from spyglass.core.transports.base import WholeImageHolder
    from spyglass.core.transports.registry.source import RegistryImageSource

    if not isinstance(image.destination, DockerName):
        return None
    options = options_for(image, options)
    destination = open_destination(image.destination, destination_options)
    try:
        if not isinstance(destination, WholeImageHolder):
            return None
        if destination.named_now(cancel=cancel) is None:
            return None
        source = open_source(image.source, image.registry if isinstance(
            image.source, DockerName) else None)
        try:
            if shared is not None and isinstance(source, RegistryImageSource):
                source.share_lookups(shared)
            try:
                plan = plan_copy(source, destination, options, cancel=cancel)
            except Cancelled:
                raise
            except SpyglassError:
                return None
            unchanged = plan.unchanged_top
            if unchanged is None or not held_already(plan, destination, options,
                                                     cancel=cancel):
                return None
            return unchanged.digest
        finally:
            source.close()
    finally:
        destination.close()


def unchanged_digests(
    images: Sequence[SyncImage],
    options: CopyOptions,
    destination_options: RegistryOptions | None,
    *,
    parallel_images: int = DEFAULT_PARALLEL_IMAGES,
    cancel: CancelToken | None = None,
) -> tuple[list[Digest | None], SpyglassError | None]:
    """:func:`unchanged_digest` of each of ``images`` (in their order), ``parallel_images``
    asked at a time; and, where asking the destination failed, why: the first failure
    stops the asking (the others are None), as a dry run should not try a registry that
    cannot be reached once per image. Each destination repository's tags are listed
    first, so that only the names there are asked about (a new mirror's thousands of
    tags cost a listing, not a ``HEAD`` each). Ctrl+C (or ``cancel``) stops it and is
    raised."""
    from spyglass.core.reference import DockerName
    from spyglass.core.transports.registry.source import SharedLookups

    cancel = cancel or CancelToken()
    shared = SharedLookups()
    found: list[Digest | None] = [None] * len(images)
    failed: list[SpyglassError] = []
    there, unreachable = _destination_tags(images, destination_options, cancel)
    if unreachable is not None:  # (each HEAD would wait out the same retries again)
        return found, unreachable

    def names_nothing(image: SyncImage) -> bool:
        """Whether the destination's listing says the image's name names nothing yet."""
        tags = there.get(lane_of(image))
        name = image.destination
        return (tags is not None and isinstance(name, DockerName)
                and name.reference.tag is not None and name.reference.tag not in tags)

    def ask(index: int, image: SyncImage) -> None:
        if failed or cancel.cancelled:
            return
        try:
            found[index] = unchanged_digest(image, options, destination_options,
                                            cancel=cancel, shared=shared)
        except Cancelled:
            return
        except SpyglassError as exc:
            failed.append(exc)

    # (only those the destination may hold: a new mirror's 20,000 tags were 20,000 futures
    # that each returned at once)
    asked = [(index, image) for index, image in enumerate(images) if not names_nothing(image)]
    pool = ThreadPoolExecutor(max_workers=max(1, min(parallel_images, len(asked))),
                              thread_name_prefix="spyglass-dry-run")
    try:
        for future in [pool.submit(ask, index, image) for index, image in asked]:
            future.result()
    except BaseException:
        with interrupts_deferred():
            cancel.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    cancel.check()
    return found, (failed[0] if failed else None)


def _destination_tags(
    images: Sequence[SyncImage], options: RegistryOptions | None, cancel: CancelToken,
) -> tuple[dict[object, frozenset[str]], ConnectionFailed | None]:
    """The tags each registry repository the images go to has now (by :func:`lane_of`),
    where it can list them: none for one that is not there yet; and why the registry
    could not be asked at all, if it could not: no connection could be made, or none
    brought the listing's first page (it stopped answering, or dropped each connection).
    After a listing that fails otherwise (it wants credentials, or it broke off after a
    page came) none is tried again: the names of the repositories left out are asked
    about, and the first ``HEAD`` that fails the same way says why."""
    from spyglass.core.errors import RepositoryNotFound
    from spyglass.core.reference import DockerName
    from spyglass.core.transports.registry import client_for

    tags: dict[object, frozenset[str]] = {}
    for image in images:
        name, lane = image.destination, lane_of(image)
        if not isinstance(name, DockerName) or lane in tags:
            continue
        reference = name.reference
        pages = 0
        try:
            client = client_for(reference.domain, options, repository=reference.path)
            listed: set[str] = set()
            for page in client.tag_pages(reference.path, cancel=cancel):
                pages += 1
                listed.update(page)
            tags[lane] = frozenset(listed)
        except RepositoryNotFound:
            tags[lane] = frozenset()
        except Cancelled:
            raise
        except ConnectionFailed as exc:
            if not pages or isinstance(exc, Unreachable):
                return tags, exc  # each HEAD would wait out the same tries again
            break  # it answered: a HEAD may well be answered too
        except SpyglassError:
            break
    return tags, None


def run_sync(
    images: Sequence[SyncImage],
    options: CopyOptions,
    destination_options: RegistryOptions | None,
    *,
    parallel_images: int = DEFAULT_PARALLEL_IMAGES,
    keep_going: bool = False,
    events_for: Callable[[SyncImage], EventCallback | None] = lambda image: None,
    on_result: Callable[[ImageResult], None] = lambda result: None,
    cancel: CancelToken | None = None,
    unreachable: UnreachableHosts | None = None,
) -> list[ImageResult]:
    """Copy ``images``, up to ``parallel_images`` at a time but one at a time into each
    repository (see :func:`lane_of`), in their order within it; ``on_result`` is called
    in this thread as each ends, and the results are returned in that order. Without
    ``keep_going`` the first failure stops the rest: copies under way are taken back
    (their destinations as they were), those not begun are not begun, and the results
    end with that failure, then the images that were whole by then (those in place
    as the others were stopped), each told to ``on_result`` too. Ctrl+C (or ``cancel``)
    stops every copy the same way and is raised, after ``on_result`` was told of each
    image that was whole by then (those that ended while the others were stopped too,
    by the same path: :func:`_tell_finished`): in the main thread an interrupt
    (Ctrl+C, SIGTERM, SIGHUP) is held while an image is taken and told, so none is cut
    off from its telling (see :func:`held_while_telling`). With ``keep_going``, once a copy could
    not reach a registry at all (after its tries), the images left that would reach it
    fail at once with that sentence (see
    :class:`~spyglass.core.sync_unreachable.UnreachableHosts`: ``unreachable``, where the
    sync's listings found some already)."""
    from spyglass.core.transports.registry.source import SharedLookups

    cancel = cancel or CancelToken()
    results: list[ImageResult] = []
    ended: queue.SimpleQueue[ImageResult | _LaneEnded | _Woken] = queue.SimpleQueue()
    shared = SharedLookups()
    unreachable = unreachable or UnreachableHosts()

    def copy(image: SyncImage) -> ImageResult:
        routes = _routes_of(image)
        known = unreachable.failure_for(routes)
        if known is not None:
            return ImageResult(image, error=known)
        covered: set[Digest] = set()
        told = events_for(image)

        def tell(event: CopyEvent) -> None:
            if isinstance(event, Planned):  # (what it carries along is for these)
                covered.update(event.plan.digests_kept()[0])
            if told is not None:
                told(event)

        with linked(cancel) as token:
            token.check()
            try:
                digest, unchanged, before = copy_one(image, options, destination_options,
                                                     events=tell, cancel=token,
                                                     shared=shared)
            except Cancelled:
                raise
            except SpyglassError as exc:
                if isinstance(exc, ConnectionFailed):
                    say_tries(exc)
                if isinstance(exc, Unreachable) and any(exc.host in route for route in routes):
                    unreachable.add(exc)
                if isinstance(exc, ImageNotFound) and image.listed and \
                        exc.missing_tag is not None:
                    exc.message = (f"{exc.message.rstrip('.')}; it was listed at the start "
                                   "of this sync, so it was removed since.")
                return ImageResult(image, error=exc)
            except MemoryError as exc:
                short = out_of_memory(exc)
                if short is None:
                    raise
                return ImageResult(image, error=short)
            return ImageResult(image, digest=digest, unchanged=unchanged,
                               covered=frozenset(covered), before=before)

    def lane(queued: list[SyncImage]) -> None:
        error: BaseException | None = None
        try:
            for image in queued:
                result = copy(image)
                ended.put(result)
                if result.error is not None and not keep_going:
                    return
        except BaseException as exc:
            error = exc
            raise
        finally:
            ended.put(_LaneEnded(error))  # (said at once: the loop below waits for no timeout)

    lanes: dict[object, list[SyncImage]] = {}
    for image in images:
        lanes.setdefault(lane_of(image), []).append(image)
    pool = ThreadPoolExecutor(max_workers=max(1, min(parallel_images, len(lanes))),
                              thread_name_prefix="spyglass-sync")
    pending: set[Future[None]] = set()

    def stop_and_tell() -> None:  # (a failure without keep_going, or an interrupt)
        _stop(cancel, pending, pool)
        _tell_finished(ended, results, on_result)

    # An interrupt (Ctrl+C, SIGTERM: it lands in this thread, whichever copy it came
    # during) is held while this thread waits and tells, and taken between waits (it
    # wakes the wait), never between an image taken from its lane and its line: each
    # image a lane put in place is told, those that end as the others stop too, and the
    # copies under way are taken back (a second interrupt held meanwhile, a third gets
    # out). Off the main thread nothing is held: the window stops a sync by ``cancel``.
    with held_while_telling(on_held=lambda: ended.put(_WAKE)):
        try:
            _raise_held()
            pending.update(pool.submit(lane, queued) for queued in lanes.values())
            lanes_left = len(pending)
            while lanes_left:
                _raise_held()
                try:
                    result = ended.get(timeout=_WAKE_EVERY)
                except queue.Empty:
                    continue
                if isinstance(result, _Woken):
                    continue  # (the interrupt held is raised above)
                if isinstance(result, _LaneEnded):
                    lanes_left -= 1
                    if result.error is not None and not (isinstance(result.error, Cancelled)
                                                         and cancel.cancelled):
                        raise result.error
                    continue
                results.append(result)
                on_result(result)
                if result.error is not None and not keep_going:
                    stop_and_tell()
                    return results
            _raise_held()  # (one that came as the last image was told)
        except BaseException:
            stop_and_tell()
            raise
    pool.shutdown()  # (each lane has ended: this waits for no copy)
    cancel.check()  # the caller's cancel: what ended was told
    return results


@contextmanager
def held_while_telling(on_held: Callable[[], None] | None = None) -> Iterator[None]:
    """For a block that tells images in place (in the main thread): Ctrl+C, and a SIGTERM
    or SIGHUP taken like it, held to its end and raised there, a second too; a third
    gets out at once (a telling stuck on a stdout nobody reads). Said nothing of: the
    block stops as soon as it can (``on_held`` is called as the first is held, to wake a
    wait; see :func:`~spyglass.core.cancel.final_stretch`, whose holding this is)."""
    with final_stretch(notice=None, on_held=on_held):
        in_place_from_here()  # (holding from here)
        past_commit()  # (a third gets out)
        yield


def _raise_held() -> None:
    """Raise the interrupt :func:`run_sync`'s stretch holds, if one came."""
    held = held_interrupt()
    if held is not None:
        raise held


def _routes_of(image: SyncImage) -> list[tuple[str, ...]]:
    """The registries an image's copy reaches, as the registry clients know them: its
    source's pull sources in the order they are tried (registries.conf's mirrors, then
    its location: not the name's own host where a mirror or location stands for it),
    and its destination's host (a push goes where the name says)."""
    from spyglass.core.credentials import canonical_host
    from spyglass.core.reference import DockerName

    routes: list[tuple[str, ...]] = []
    if isinstance(image.source, DockerName):
        from spyglass.core.errors import SpyglassError
        from spyglass.core.transports.registry.pulls import pull_sources

        reference = image.source.reference
        try:
            routes.append(tuple(canonical_host(source.host)
                                for source in pull_sources(reference)))
        except SpyglassError:  # (a registries.conf that cannot be used, or cannot
            # rewrite this name: the copy says so, for this image alone)
            routes.append((canonical_host(reference.domain),))
    if isinstance(image.destination, DockerName):
        routes.append((canonical_host(image.destination.reference.domain),))
    return routes


def _tell_finished(ended: queue.SimpleQueue[ImageResult | _LaneEnded | _Woken],
                   results: list[ImageResult], on_result: Callable[[ImageResult], None]
                   ) -> None:
    """After the copies were stopped (Ctrl+C, or a failure without ``keep_going``): the
    images that were whole by then, not yet told (those that ended as the others were
    stopped), told as the others were."""
    while True:
        try:
            result = ended.get_nowait()
        except queue.Empty:
            return
        if isinstance(result, ImageResult) and result.error is None:
            results.append(result)
            on_result(result)


def lane_of(image: SyncImage) -> object:
    """Images of one lane are copied one after another: those into one repository of a
    registry. distribution's filesystem storage writes a repository's link to a blob
    (and to a manifest) by truncating the file and writing it again, so two copies
    into one repository that share blobs (tags of one repository mostly do) read each
    other's links empty for a moment: a blob "unknown", or a 500, to the other copy.
    Different repositories, and ``dir:`` folders, have nothing in common."""
    from spyglass.core.reference import DockerName

    if isinstance(image.destination, DockerName):
        return (image.destination.reference.domain, image.destination.reference.path)
    return image.destination


def _stop(cancel: CancelToken, pending: set[Future[None]], pool: ThreadPoolExecutor) -> None:
    """Stop the copies under way and wait for each to take its destination back (a
    second Ctrl+C must not skip that: a copy still writing could leave half an image)."""
    with interrupts_deferred():
        cancel.cancel()
        for future in pending:
            future.cancel()
        wait(pending)
        pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["DEFAULT_PARALLEL_IMAGES", "ImageResult", "copy_one", "held_while_telling",
           "lane_of", "run_sync", "unchanged_digest", "unchanged_digests"]
