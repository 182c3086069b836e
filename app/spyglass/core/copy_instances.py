"""Which images of a source a copy takes, and reading them for the plan: the
entries of a list chosen by platform (with BuildKit's attestations of them),
lists nested in a list, each image's manifest and config, and what is attached
to each, fetched ahead together (:class:`Ahead`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from spyglass.core import media
from spyglass.core.cancel import CancelToken
from spyglass.core.config import ImageConfig, parse_config
from spyglass.core.copy_plan import Format
from spyglass.core.digest import Digest, read_verified
from spyglass.core.errors import (
    UNREACHED,
    ImageNotFound,
    SpyglassError,
    Unsupported,
    clause,
)
from spyglass.core.image import (
    MAX_INDEX_DEPTH,
    choose_entry,
    load_manifest,
    nested_entries,
    nested_too_deep,
)
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    AnyManifest,
    Descriptor,
    ImageIndex,
    ImageManifest,
    Schema1Manifest,
)
from spyglass.core.platform import Platform
from spyglass.core.platform_choice import choice_notes, entry_label, same_image_note
from spyglass.core.referrers import (
    buildkit_attestation_subject,
)
from spyglass.core.signatures.discovery import Attachment, find_attachments
from spyglass.core.transports.base import (
    ImageSource,
)


def entries_named(source: ImageSource, top: ImageIndex, wanted: Sequence[Digest],
                  cancel: CancelToken | None) -> list[Descriptor]:
    """The entry of each digest of ``wanted`` in ``top`` or the lists nested in it (the
    first where it stands twice), in the order asked; a digest none of them names is
    refused (:class:`~spyglass.core.errors.ImageNotFound`). A list without nested lists
    is not read further."""
    if not wanted:
        return []
    named: dict[Digest, Descriptor] = {}
    for _holder, entry in nested_entries(source, top, cancel=cancel):
        named.setdefault(entry.digest, entry)
    missing = [str(digest) for digest in wanted if digest not in named]
    if missing:
        raise ImageNotFound(
            f"The manifest list {top.digest} names no image {', '.join(missing)}: it may "
            "have changed since it was read; choose its images again.")
    return [named[digest] for digest in dict.fromkeys(wanted)]


def chosen_entries(source: ImageSource, top: ImageIndex, wanted: list[Platform],
                   notes: list[str], cancel: CancelToken | None) -> list[Descriptor]:
    """The entry of each platform of ``wanted`` in ``top`` (an image of a list nested in
    it is chosen as inspect shows it), each once, in the order asked; ``notes`` get what
    was taken otherwise than asked, and platforms that chose the same image."""
    chosen: list[tuple[Descriptor, list[Platform]]] = []
    for platform in wanted:
        entry = choose_entry(source, top, platform, cancel=cancel)
        asked = next((names for taken, names in chosen if taken == entry), None)
        if asked is None:
            notes.extend(choice_notes(top, platform, entry, "copied"))
            chosen.append((entry, [platform]))
        else:
            asked.append(platform)
    notes.extend(same_image_note(names, taken, len(chosen) == 1)
                 for taken, names in chosen if len(names) > 1)
    return [taken for taken, _names in chosen]


def one_image_note(config: ImageConfig | None, asked: tuple[Platform, ...]) -> str:
    """The note for platforms asked of a source that is one image, not a list."""
    platform = (Platform(config.os, config.architecture, config.variant)
                if config is not None and config.os and config.architecture else None)
    wanted = ", ".join(str(p) for p in asked)
    if platform is None:
        return ("the source is one image, not a list, so the platforms asked for do not "
                "apply; it is copied as it is")
    if any(p.matches(platform) for p in asked):
        return f"the source is one image, for {platform}, not a list; it is copied as it is"
    return (f"the source is one image, for {platform}, not a list, so the platforms asked "
            f"for ({wanted}) do not apply; it is copied as it is, for {platform}")


def config_if_readable(
    source: ImageSource, manifest: ImageManifest, cancel: CancelToken | None
) -> ImageConfig | None:
    """The config, only to say which platform the image is: one that cannot be read or
    parsed says nothing (the copy takes it as an opaque blob, as it would anyway); a
    source that cannot be reached raises (the copy would spend its retries again)."""
    try:
        return load_config(source, manifest, lambda _manifest: True, cancel)
    except UNREACHED:
        raise
    except SpyglassError:
        return None


def load_config(
    source: ImageSource,
    manifest: ImageManifest,
    needed: Callable[[ImageManifest], bool],
    cancel: CancelToken | None,
) -> ImageConfig | None:
    """The config of ``manifest`` when ``needed(manifest)``; a plain copy does not read
    it here (it is copied as a blob like any other)."""
    if manifest.config.media_type not in media.CONFIG_TYPES or not needed(manifest):
        return None
    with source.open_blob(manifest.config, cancel=cancel) as stream:
        raw = read_verified(
            stream, manifest.config.digest, manifest.config.size, limit=MAX_MANIFEST_SIZE,
            what=f"The config {manifest.config.digest}", cancel=cancel,
        )
    return parse_config(raw)


def _image(source: ImageSource, digest: Digest, cancel: CancelToken | None) -> ImageManifest:
    child = load_manifest(source, digest, cancel=cancel)
    if isinstance(child, Schema1Manifest):
        raise Unsupported(
            f"The list entry {digest} is a Docker schema 1 manifest; Spyglass converts a "
            "schema 1 image copied alone (one platform of the list, or named by its "
            "digest), not one inside a list copied with other images."
        )
    if isinstance(child, ImageIndex):
        said = f"The list entry {digest} is itself a list; nested lists are copied only whole"
        raise Unsupported(f"{said}, every image of them, without conversion.",
                          on_command_line=f"{said} (--all) without conversion.")
    return child


def unreadable_entry(exc: SpyglassError, entry: Descriptor, top: ImageIndex,
                     many: bool) -> SpyglassError:
    """``exc`` (an image of the list that cannot be read) saying which platform's image
    it is, and, where others were asked for too, how to copy those without it."""
    label = entry_label(entry, top) or f"the entry {entry.digest.short}"
    said = f"The image for {label} of the list {top.digest.short} cannot be read: {clause(exc)}"
    if not many or entry.platform is None:
        return type(exc)(said if said.endswith(".") else f"{said}.")
    said = said.rstrip(".")
    failed = type(exc)(f"{said}; untick it to copy the others.",
                       on_command_line=f"{said}; name the others with --platform to copy "
                       "them.")
    return failed


def nested_manifests(
    source: ImageSource, index: ImageIndex, cancel: CancelToken | None, depth: int = 0,
    seen: set[Digest] | None = None,
) -> Iterator[tuple[Descriptor, AnyManifest]]:
    """Every manifest below ``index``, children before their parents, each once (lists
    may name an entry again, at every level: ``seen`` holds the digests yielded, so the
    work grows with the number of manifests, not of paths through them)."""
    if depth > MAX_INDEX_DEPTH:
        raise nested_too_deep(source, index)
    if seen is None:
        seen = set()
    for entry in index.manifests:
        if entry.digest in seen:
            continue
        seen.add(entry.digest)
        child = load_manifest(source, entry.digest, cancel=cancel)
        if isinstance(child, ImageIndex):
            yield from nested_manifests(source, child, cancel, depth + 1, seen)
        yield entry, child


class Ahead:
    """Answers fetched ahead on ``pool``: images (manifest, and config when
    ``needs_config`` says planning needs it) and, with ``attachments``, what is
    attached to a manifest. Each is asked once; an error surfaces where the
    answer is used."""

    def __init__(
        self,
        pool: ThreadPoolExecutor,
        source: ImageSource,
        cancel: CancelToken | None,
        *,
        attachments: bool,
        needs_config: Callable[[ImageManifest], bool],
    ) -> None:
        self._pool = pool
        self._source = source
        self._cancel = cancel
        self._carry = attachments
        self.needs_config = needs_config
        self._images: dict[Digest, Future[tuple[ImageManifest, ImageConfig | None]]] = {}
        self._attached: dict[Digest, Future[list[Attachment]]] = {}

    def start_image(self, digest: Digest) -> None:
        if digest not in self._images:
            self._images[digest] = self._pool.submit(self._load_image, digest)
        self.start_attachments(digest)

    def _load_image(self, digest: Digest) -> tuple[ImageManifest, ImageConfig | None]:
        manifest = _image(self._source, digest, self._cancel)
        return manifest, load_config(self._source, manifest, self.needs_config, self._cancel)

    def image(self, digest: Digest) -> tuple[ImageManifest, ImageConfig | None]:
        self.start_image(digest)
        return self._images[digest].result()

    def start_attachments(self, digest: Digest) -> None:
        if self._carry and digest not in self._attached:
            self._attached[digest] = self._pool.submit(
                find_attachments, self._source, digest, cancel=self._cancel
            )

    def attached(self, digest: Digest) -> bool:
        """Whether anything is attached to ``digest`` that the copy would carry."""
        return self._carry and bool(self.attachments(digest))

    def attachments(self, digest: Digest) -> list[Attachment]:
        if digest not in self._attached:
            return find_attachments(self._source, digest, cancel=self._cancel)
        return self._attached[digest].result()

    def drop(self) -> None:
        """Cancel what has not started (the plan failed or no longer needs it)."""
        for image in self._images.values():
            image.cancel()
        for attached in self._attached.values():
            attached.cancel()



def with_attestations(
    source: ImageSource, top: ImageIndex, chosen: list[Descriptor], many: bool,
    notes: list[str], cancel: CancelToken | None, list_format: Format,
) -> tuple[list[Descriptor], list[Descriptor]]:
    """The images chosen out of ``top`` (or the lists nested in it) with BuildKit's
    attestations of them, in the order the lists have them (so the same images make the
    same list, however they were named); and the attestations that came along.

    An attestation comes along, as what is attached to an image written unchanged does,
    into a list written with several images; one image written alone, or a Docker
    schema 2 list (which cannot hold an in-toto manifest), leaves it behind, with a note.
    """
    chosen_digests = {entry.digest for entry in chosen}
    # where each entry first stands, by digest (a descriptor, holding a dict, is no key)
    walked: dict[Digest, list[tuple[Descriptor, int]]] = {}
    total = 0
    attestations: list[Descriptor] = []
    for _holder, entry in nested_entries(source, top, cancel=cancel):
        same = walked.setdefault(entry.digest, [])
        if entry not in (seen for seen, _at in same):
            same.append((entry, total))
            if buildkit_attestation_subject(entry) in chosen_digests and entry not in chosen:
                attestations.append(entry)
        total += 1

    def position(entry: Descriptor) -> int:
        return next((at for seen, at in walked.get(entry.digest, ()) if seen == entry), total)

    def in_order(entries: list[Descriptor]) -> list[Descriptor]:
        return sorted(entries, key=position)

    if many and attestations and list_format == "oci":
        return in_order([*chosen, *attestations]), attestations
    if not attestations:
        return in_order(chosen), []
    count = len(attestations)
    them = "them" if count > 1 else "it"
    why = (f"one image written alone has no list to hold {them}" if not many
           else f"a Docker schema 2 list cannot hold {them}")
    subjects = list(dict.fromkeys(subject.short for a in attestations  # the list's order
                                  if (subject := buildkit_attestation_subject(a)) is not None))
    notes.append(f"the list's attestation manifest{'s' if count > 1 else ''} for "
                 f"{', '.join(subjects)} stay{'' if count > 1 else 's'} behind: {why}")
    return in_order(chosen), []


