"""What ``sync`` copies: the images of a source, and the name each gets at the destination.

skopeo sync's sources (``skopeo-sync(1)``, ``cmd/skopeo/sync.go``), read the
same way:

- ``docker``: ``REGISTRY/REPOSITORY`` is every tag the registry lists for the
  repository; ``REGISTRY/REPOSITORY:TAG`` (or ``@DIGEST``) is that image alone;
- ``dir``: a folder walked for ``dir:`` images (a folder holding a
  ``manifest.json``; what is under an image is not looked into);
- ``yaml``: a file mapping registries to ``images`` (repository → tags or
  digests, none: every tag), ``images-by-tag-regex`` (repository → a regular
  expression the tags must match somewhere in them), and per registry
  ``credentials`` (``username``, ``password``), ``tls-verify`` and ``cert-dir``.

Each repository (each folder, each entry of the file) is one *source*, as
skopeo counts them in "Synced N images from M sources". An image's name at
the destination is ``DESTINATION/SUFFIX``: the suffix is the source's full
reference (``registry/repo:tag``) or the image folder's path under the source
folder; without ``--scoped`` only its last part (``repo:tag``) is kept.
"""

from __future__ import annotations

import functools
import itertools
import os
import posixpath
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from spyglass.core.errors import SpyglassError, as_clause
from spyglass.core.re2 import compile_re2
from spyglass.core.reference import (
    DirName,
    DockerName,
    DockerReference,
    ImageName,
    names_docker_hub,
    parse_docker_reference,
    registry_alone,
    registry_alone_error,
    registry_problem,
    tag_and_digest_error,
)
from spyglass.core.sync_kinds import (
    DESTINATION_KINDS,
    SOURCE_KINDS,
    DestinationKind,
    SourceKind,
)
from spyglass.core.yamlproblem import yaml_problem

if TYPE_CHECKING:
    from spyglass.core.cancel import CancelToken
    from spyglass.core.digest import Digest
    from spyglass.core.sync_unreachable import UnreachableHosts
    from spyglass.core.transports.registry import RegistryOptions

TagLister = Callable[[DockerReference, "RegistryOptions | None"], list[str]]
"""Lists the tags of a repository (a reference without tag) with these registry options."""

DigestLookup = Callable[["SyncImage"], "Digest | SpyglassError | None"]
"""The digest of the manifest a source image's name names now; the error that asking
met (the registry down, the credentials refused, the tag missing), why it could not be
read; None where it cannot be told (see :func:`source_digests`)."""


@dataclass(frozen=True)
class SyncImage:
    """One image to copy: from where, to where, and how its registry is reached."""

    source: ImageName
    destination: ImageName
    registry: RegistryOptions | None = None
    """How the source's registry is reached (a yaml entry's own credentials and TLS)."""
    attached_to: Digest | None = None
    """For a tag of what is attached to another image (see :func:`attachment_subject`):
    that image's digest."""
    entry: str | None = None
    """Where ``registry`` was set, when a yaml file's entry set it (``the entry "REG" in
    "FILE"``), for advice: its ``tls-verify`` and ``cert-dir`` win over the command
    line's flags; None where they are the command line's."""
    whole: bool = False
    """Copied with every image of a list, whatever ``--all`` says: a tag of what is
    attached, copied as an image of its own (a copy of one platform of a referrers
    index would cut it down to one referrer)."""
    tags_apart: frozenset[str] = frozenset()
    """The tags of its own source repository that hold what is attached and are copied
    as images of their own in this sync (see :func:`with_tags_apart`): its copy leaves
    what is found under them to them."""
    listed: bool = False
    """Its tag was found by listing its repository's tags at the start of the sync (not
    named): a tag not found when it is copied was removed since, as its error says."""


class NothingToSync(SpyglassError):
    """A source that holds no image to copy (a repository without tags, none matching)."""


@dataclass(frozen=True)
class SyncSource:
    """One of skopeo's sources: a repository, an image, a folder, an entry of a yaml file."""

    label: str
    images: tuple[SyncImage, ...] = ()
    attached: tuple[SyncImage, ...] = ()
    """The tags of a repository (listed, or given in a yaml entry's list) that hold what
    is attached to another image (:func:`attachment_subject`): not images of their
    own. The copy of their subject carries them along; those whose subject the sync did
    not copy are copied after the others, whole (a copy of one platform would cut a
    referrers index down)."""
    error: SpyglassError | None = None
    """Why its images could not be listed (a yaml entry's repository that is not there);
    the sync says so and, with ``--keep-going``, goes on with the other sources."""
    empty: str | None = None
    """Why a yaml entry has no image to copy (no tag matches its expression, a registry
    names no image): said, and not counted among the sources, as skopeo warns and goes
    on."""
    entry: str | None = None
    """The yaml file's entry it is (see :attr:`SyncImage.entry`); None for others."""
    note: str | None = None
    """What to say of it before anything is copied, which the sync goes on after (a yaml
    key that names no registry host, read as a Docker Hub namespace); said once, on the
    first source of its entry."""
    unread: tuple[UnreadImage, ...] = ()
    """Its images given a name another image of the sync is given too that could not be
    read to tell whether both are one image (:func:`check_destinations`): taken out of
    ``images``, not copied; the sync says why each failed and, with ``--keep-going``,
    goes on with the others."""


@dataclass(frozen=True)
class UnreadImage:
    """An image that would share its destination name with ``other`` and could not be
    read to tell whether both are the same image: not copied, failed with ``error``."""

    image: SyncImage
    other: ImageName
    """The image whose name it would share."""
    error: SpyglassError
    """Why it could not be read (the lookup's own error)."""


@dataclass(frozen=True)
class SyncRequest:
    """What a ``sync`` command line asks for, without the copy's own options."""

    source_kind: SourceKind
    source: str
    destination_kind: DestinationKind
    destination: str
    scoped: bool = False
    registry: RegistryOptions | None = None
    """The source's registry options from the command line (yaml entries refine them)."""


def check_kinds(source_kind: str, destination_kind: str) -> None:
    """Refuse transports sync does not take, with what it takes."""
    if source_kind not in SOURCE_KINDS:
        raise SpyglassError(f'"{source_kind}" is not a sync source transport: give --src '
                            f"{', '.join(SOURCE_KINDS[:-1])} or {SOURCE_KINDS[-1]}.")
    if destination_kind not in DESTINATION_KINDS:
        raise SpyglassError(f'"{destination_kind}" is not a sync destination transport: give '
                            "--dest docker or dir (for an OCI layout or an archive, use "
                            "spyglass copy for each image).")
    if source_kind == "dir" and destination_kind == "dir":
        raise SpyglassError("A sync from dir to dir is not done, as in skopeo: copy the "
                            "folder (cp -a, rsync).")


def list_sources(request: SyncRequest, list_tags: TagLister,
                 digest_of: DigestLookup | None = None) -> list[SyncSource]:
    """Every source of ``request`` with its images and their destinations, in order (a
    repository's tags as the registry lists them, folders by name, the yaml file's
    entries as written). Raises a sentence naming the input for a source that cannot be
    read at all; a yaml entry that cannot be listed is a :class:`SyncSource` with its
    ``error``. ``digest_of``: see :func:`check_destinations`."""
    check_kinds(request.source_kind, request.destination_kind)
    if request.source_kind == "docker":
        sources = [_docker_source(request, list_tags)]
    elif request.source_kind == "dir":
        sources = [_dir_source(request)]
    else:
        sources = _yaml_sources(request, list_tags)
    return check_destinations(request, sources, digest_of)


def check_destinations(request: SyncRequest, sources: list[SyncSource],
                       digest_of: DigestLookup | None = None) -> list[SyncSource]:
    """``sources``, refused before anything is copied where the sync would give two
    different images one name at the destination (the last part of ``registry-a/app:9``
    and of ``registry-b/app:9``, or of the folders ``a/app`` and ``b/app``, without
    ``--scoped``): the second would replace the first, and the mirror lose an image
    without a word (skopeo's sync does so in a registry, and fails halfway into ``dir:``).
    An image listed twice is no conflict: it is copied once (:func:`once`); nor is
    one named by a digest, which names the same content wherever it is read from (a
    mirror and its origin), nor, where ``digest_of`` tells, two names naming the same
    manifest now (a tag of a mirror and of its origin): the same image either way.

    An image of such a name that ``digest_of`` could not read (its registry down, its
    credentials refused, its tag missing) is no proof of a clash, nor of none: it is
    taken out of its source's images into its ``unread``, with the lookup's error, and
    not copied (a lookup that failed once could succeed at its copy, and replace the
    other); the others are checked without it. Where ``digest_of`` tells nothing (None,
    or no ``digest_of``), the names are refused.

    Into ``dir:``, two names from different repositories clash even where they name the
    same image: each copy writes the ``signature-N`` files of its own repository's
    signatures into the folder, and the second replaces the folder whole, the first's
    signatures with it (skopeo 1.9 refuses to write into the folder again)."""
    first: dict[str, SyncImage] = {}
    clashes: dict[str, list[SyncImage]] = {}  # (a name → its images, each image once)
    into_dir = request.destination_kind == "dir"
    for source in sources:
        # (into dir:, each tag of what is attached is a folder of its own too)
        for image in source.images + (source.attached if into_dir else ()):
            named = first.setdefault(str(image.destination), image)
            if into_dir and _other_repositories(named, image):
                raise SpyglassError(
                    f'Two images would be synced to the same name "{image.destination}": '
                    f"{named.source} and {image.source} (the second would replace the "
                    "first's folder whole, and the signatures the first's repository holds "
                    "for it with it, even where both are the same image); "
                    f"{_apart(request, named.source, image.source)}.")
            if not _same_image(named.source, image.source):
                group = clashes.setdefault(str(image.destination), [named])
                if not any(_same_image(other.source, image.source) for other in group):
                    group.append(image)
    if not clashes:
        return sources
    digests = _digests([image for group in clashes.values() for image in group], digest_of)
    unread: list[UnreadImage] = []
    for group in clashes.values():
        known = []
        for image in group:
            found = digests.get(str(image.source))
            if isinstance(found, SpyglassError):
                other = next(each for each in group if each is not image)
                unread.append(UnreadImage(image, other.source, found))
            else:
                known.append((image, found))
        for (one, digest), (other, other_digest) in itertools.pairwise(known):
            if digest is None or digest != other_digest:
                raise SpyglassError(
                    f'Two images would be synced to the same name "{other.destination}": '
                    f"{one.source} and {other.source} (the second would replace the first); "
                    f"{_apart(request, one.source, other.source)}.")
    return [_without(source, unread) for source in sources] if unread else sources


def _without(source: SyncSource, unread: list[UnreadImage]) -> SyncSource:
    """``source`` without the images of ``unread`` (under any name the same image has),
    those of its own in its ``unread``."""

    def left_out(image: SyncImage) -> bool:
        return any(str(image.destination) == str(each.image.destination)
                   and _same_image(image.source, each.image.source) for each in unread)

    own = tuple(each for each in unread if each.image in source.images + source.attached)
    if not own and not any(map(left_out, source.images + source.attached)):
        return source
    return replace(source, images=tuple(i for i in source.images if not left_out(i)),
                   attached=tuple(i for i in source.attached if not left_out(i)),
                   unread=source.unread + own)


def _apart(request: SyncRequest, one: ImageName, other: ImageName) -> str:
    """How to sync two images that would get one name: ``--scoped``, where it can name
    them apart."""
    if request.scoped:
        return "sync them in separate runs into different destinations"
    if request.destination_kind == "docker" and any(
            isinstance(name, DockerName) and ":" in name.reference.domain
            for name in (one, other)):
        return ("sync them in separate runs into different destinations (--scoped cannot "
                "name them apart here: it would put a registry's port in a repository's "
                "name, where no colon may be)")
    return "give --scoped to name each after its whole source name, or sync them in " \
        "separate runs"


_LOOKUPS_AT_ONCE: Final = 8


def _digests(images: list[SyncImage], digest_of: DigestLookup | None
             ) -> dict[str, Digest | SpyglassError | None]:
    """``digest_of`` each of ``images`` (by source name, each asked once, several at a
    time); none without it."""
    if digest_of is None:
        return {}
    from concurrent.futures import ThreadPoolExecutor

    unique = list({str(image.source): image for image in images}.values())
    pool = ThreadPoolExecutor(max_workers=min(_LOOKUPS_AT_ONCE, len(unique)),
                              thread_name_prefix="spyglass-sync-digests")
    try:
        found = list(pool.map(digest_of, unique))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return {str(image.source): digest for image, digest in zip(unique, found, strict=True)}


def once(images: Sequence[SyncImage]) -> list[SyncImage]:
    """``images`` without those listed again under the same source and destination names
    (a tag listed twice, a repository under both ``images`` and ``images-by-tag-regex``):
    each is copied once, and counted once. The first keeps its place."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for image in images:
        key = (str(image.source), str(image.destination))
        if key not in seen:
            seen.add(key)
            kept.append(image)
    return kept


def _other_repositories(one: SyncImage, other: SyncImage) -> bool:
    """Whether two registry images come from different repositories (what is attached to
    an image is looked for in its own)."""
    return (isinstance(one.source, DockerName) and isinstance(other.source, DockerName)
            and _repository_of(one.source) != _repository_of(other.source))


def _same_image(one: ImageName, other: ImageName) -> bool:
    """Whether two source names give the destination the same image: the same name (a
    registry's host in any case: DNS names ignore it), or one digest."""
    if str(one) == str(other):
        return True
    if isinstance(one, DockerName) and isinstance(other, DockerName):
        a, b = one.reference, other.reference
        if a.digest is not None and a.digest == b.digest:
            return True
        return replace(a, domain=a.domain.lower()) == replace(b, domain=b.domain.lower())
    return False


# ------------------------------------------------------------------ destinations


def destination_name(request: SyncRequest, suffix: str, source: ImageName) -> ImageName:
    """``DESTINATION/SUFFIX`` (the suffix's last part alone without ``--scoped``) as an
    image name of the destination's kind, as skopeo's ``path.Join`` makes it."""
    part = suffix if request.scoped else posixpath.basename(suffix.rstrip("/"))
    # (a docker:// before a registry DESTINATION says what --dest says already)
    destination = (request.destination.removeprefix("docker://")
                   if request.destination_kind == "docker" else request.destination)
    joined = _clean(posixpath.join(destination, part.lstrip("/")))
    if request.destination_kind == "dir":
        return DirName(Path(joined))
    try:
        reference = parse_docker_reference(joined)
    except SpyglassError as exc:
        said = (f'The destination name "{joined}" for {source} is not a valid image '
                f"name: {_clause(exc)}.")
        if request.scoped and re.search(r":\d+/", part):
            said += (" --scoped puts the source's whole name, registry port included, in "
                     "the repository's, where no colon may be (skopeo fails the same way); "
                     "leave out --scoped, or sync through dir.")
        raise SpyglassError(said) from exc
    return DockerName(reference)


def _clean(text: str) -> str:
    """Go's ``path.Clean`` of a joined name: no doubled slash, no ``.`` part."""
    parts = [part for part in text.split("/") if part not in ("", ".")]
    lead = "/" if text.startswith("/") else ""
    return lead + "/".join(parts) if parts else (lead or ".")


def _clause(exc: SpyglassError) -> str:
    """An error's sentence as a clause (no capital-letter start needed, no final stop)."""
    return str(exc).rstrip(".")


# ------------------------------------------------------------------ docker


def _docker_source(request: SyncRequest, list_tags: TagLister) -> SyncSource:
    text = request.source.removeprefix("docker://")
    if (registry := registry_alone(text)) is not None:  # (not Docker Hub's library/NAME)
        raise registry_alone_error(request.source, registry)
    reference = parse_docker_reference(text, default_tag=False)
    if reference.tag is not None and reference.digest is not None:
        raise tag_and_digest_error(request.source)  # (as copy and skopeo sync refuse it)
    try:
        return _repository_source(request, reference, request.registry,
                                  _unlisted_raised(list_tags), label=request.source,
                                  refs=None)
    except _Unlisted as unlisted:  # (said as a yaml entry's is: what failed, and where)
        return SyncSource(text, error=unlisted.error)


def _repository_source(
    request: SyncRequest,
    reference: DockerReference,
    registry: RegistryOptions | None,
    list_tags: TagLister,
    *,
    label: str,
    refs: list[DockerReference] | None,
    keep: Callable[[str], bool] | None = None,
) -> SyncSource:
    """A repository's images: the one ``reference`` names; else the ``refs`` (its tags
    or digests) given; else every tag listed (those ``keep`` keeps). Of the tags given or
    listed, those of what is attached (:func:`attachment_subject`) are its
    :attr:`~SyncSource.attached`; the one tag ``reference`` names is an image, copied
    whole if it is one of those."""
    if reference.tag is not None or reference.digest is not None:
        whole = reference.tag is not None and attachment_subject(reference.tag) is not None
        return SyncSource(label, tuple(replace(image, whole=whole) for image in _images(
            request, [reference], registry)))
    listed = not refs
    if refs:
        references = list(refs)
    else:
        tags = list_tags(reference, registry)
        chosen = [tag for tag in tags if keep is None or keep(tag)]
        if not chosen:
            raise NothingToSync(f'No images to sync found in "{label}": the repository '
                                f"{reference.name} has no tags"
                                + (" that match." if keep is not None and tags else "."))
        references = [reference.with_tag(tag) for tag in chosen]
    attached = []
    for each in references:
        subject = None if each.tag is None else attachment_subject(each.tag)
        if subject is not None:
            name = DockerName(each)
            attached.append(SyncImage(name, destination_name(request, str(each), name),
                                      registry, subject, listed=listed))
    images = [each for each in references
              if each.tag is None or attachment_subject(each.tag) is None]
    return SyncSource(label, tuple(replace(image, listed=listed) for image in _images(
        request, images, registry)), tuple(attached))


def with_tags_apart(images: Sequence[SyncImage], apart: Sequence[SyncImage]
                    ) -> list[SyncImage]:
    """``images``, each with the tags of ``apart`` (tags of what is attached, copied as
    images of their own: a sync into ``dir:``) that are in its own source repository as
    its :attr:`~SyncImage.tags_apart`. An image of another repository with the same
    digest keeps what is attached to it: its own tags hold that, and they may not be
    copied at all (a repository named by its tags)."""
    tags: dict[tuple[str, str], set[str]] = {}
    for image in apart:
        if isinstance(image.source, DockerName) and image.source.reference.tag is not None:
            tags.setdefault(_repository_of(image.source), set()).add(
                image.source.reference.tag)
    return [replace(image, tags_apart=frozenset(tags.get(_repository_of(image.source), ())))
            if isinstance(image.source, DockerName) else image for image in images]


def _repository_of(name: DockerName) -> tuple[str, str]:
    """A source image's repository, as the registry clients tell registries apart (DNS
    names ignore case)."""
    return name.reference.domain.lower(), name.reference.path


def _images(request: SyncRequest, references: list[DockerReference],
            registry: RegistryOptions | None) -> tuple[SyncImage, ...]:
    images = []
    for each in references:
        name = DockerName(each)
        images.append(SyncImage(name, destination_name(request, str(each), name), registry))
    return tuple(images)


_ATTACHMENT_TAG: Final = re.compile(r"sha256-([0-9a-f]{64})(?:\.(?:sig|att|sbom))?")


def attachment_subject(tag: str) -> Digest | None:
    """The digest of the image a tag holds what is attached to: cosign's
    ``sha256-<hex>.sig``, ``.att`` and ``.sbom``, and the referrers fallback tag
    ``sha256-<hex>`` (an index of the referrers, for a registry without the referrers
    API); None for any other tag."""
    from spyglass.core.digest import Digest

    found = _ATTACHMENT_TAG.fullmatch(tag)
    return None if found is None else Digest.parse(f"sha256:{found.group(1)}")


def _with_ref(repository: DockerReference, ref: str, listed: str, entry: str
              ) -> DockerReference:
    """A yaml entry's ``ref``: a digest when it has a colon (as skopeo tries a digest
    first), else a tag; one that is neither is the file's error, naming ``entry`` and
    the repository it is ``listed`` under."""
    from spyglass.core.digest import Digest

    where = f"{_capital(entry)}: in the list of {listed},"
    if "@" in ref:
        raise SpyglassError(f'{where} "{ref}" holds a tag and a digest; expected a tag or a '
                            "digest, not both.")
    if not ref:
        raise SpyglassError(f'{where} "" is no tag; expected a tag or a digest.')
    try:
        if ":" in ref:
            return repository.with_digest(Digest.parse(ref))
        return repository.with_tag(ref)
    except SpyglassError as exc:
        if ":" in ref:  # (the digest's sentence says what a digest must be)
            raise SpyglassError(f"{where} {as_clause(str(exc))}") from exc
        said = str(exc).partition(": ")[2]  # (a tag's sentence names the repository)
        raise SpyglassError(f"{where} {as_clause(said.rstrip('.'))}; expected a tag or a "
                            "digest.") from exc


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# ------------------------------------------------------------------ dir


def _dir_source(request: SyncRequest) -> SyncSource:
    base = Path(request.source)
    if not base.exists():
        raise SpyglassError(f'The sync source folder "{base}" does not exist.')
    if not base.is_dir():
        raise SpyglassError(f'The sync source "{base}" is a file; --src dir takes a folder of '
                            "dir: images (or one).")
    images = []
    for folder in _image_folders(base):
        relative = os.path.relpath(folder, base)
        suffix = base.resolve().name if relative == "." else relative.replace(os.sep, "/")
        name = DirName(folder)
        # (a folder a sync into dir: wrote for a tag of what is attached: whole, as it came)
        whole = attachment_subject(folder.name.rpartition(":")[2]) is not None
        images.append(SyncImage(name, destination_name(request, suffix, name), whole=whole))
    if not images:
        raise NothingToSync(f'No images to sync found in "{base}": no folder under it holds '
                            "a dir: image (a manifest.json).")
    return SyncSource(request.source, tuple(images))


def _image_folders(base: Path) -> Iterator[Path]:
    """The folders holding a ``manifest.json`` under ``base`` (itself included), by name;
    what is under one is not looked into."""
    for folder, subfolders, files in os.walk(base, onerror=_walk_error(base)):
        subfolders.sort()
        if "manifest.json" in files:
            subfolders.clear()
            yield Path(folder)
        else:  # staging folders of a copy under way are no images
            subfolders[:] = [name for name in subfolders if ".spyglass-tmp-" not in name]


def _walk_error(base: Path) -> Callable[[OSError], None]:
    def failed(exc: OSError) -> None:
        raise SpyglassError(f'The sync source folder "{base}" cannot be read: '
                            f'"{exc.filename}": {exc.strerror or exc}.') from exc

    return failed


# ------------------------------------------------------------------ yaml

_ENTRY_KEYS: Final = {"images", "images-by-tag-regex", "credentials", "tls-verify", "cert-dir"}
_NEWER_KEYS: Final = {
    "images-by-semver": "newer skopeo's key (tags by a version range), which this sync does "
                        "not read: list the tags under images, or match them with "
                        "images-by-tag-regex",
}
"""Keys of newer skopeo's sync file, refused with what to write instead."""


def _yaml_sources(request: SyncRequest, list_tags: TagLister) -> list[SyncSource]:
    path = Path(request.source)
    # what the file itself gets wrong is its error, said before anything is listed: each
    # entry is checked first, then listed in order
    planned: list[SyncSource | _YamlRepository] = []
    notes: dict[int, str] = {}  # (the first source of an entry → what to say of it)
    for registry, entry in read_yaml(path).items():
        options = _entry_options(path, registry, entry, request.registry)
        if not entry.get("images") and not entry.get("images-by-tag-regex"):
            # as skopeo warns "No images specified for registry" and goes on
            planned.append(SyncSource(registry, empty=f'No images are named for the '
                                      f'registry {registry} in "{path}": its images and '
                                      "images-by-tag-regex list none."))
            continue
        where = f'the entry "{registry}" in "{path}"'
        # (a key may hold a namespace too, quay.io/coreos: skopeo joins it to each
        # repository with a "/"; the joined name is checked as each repository's)
        host = registry.partition("/")[0]
        problem = registry_problem(host)
        if problem is not None:
            raise SpyglassError(f"{_capital(where)}: {problem}.")
        if names_docker_hub(host):  # (as skopeo reads it; a sync file's keys are hosts)
            notes[len(planned)] = (
                f'The key "{registry}" in "{path}" names no registry host (it has no ".", '
                f'no ":" and is not localhost): its images are read from Docker Hub, as '
                f"docker.io/{registry}/…, as skopeo reads such a key. Write the registry's "
                f"full name (registry.example.com, HOST:PORT) for another registry, or "
                f"docker.io/{registry} for Docker Hub.")
        for repository, refs in (entry.get("images") or {}).items():
            planned.append(_yaml_repository(where, registry, repository, options,
                                            refs=list(refs or [])))
        for repository, pattern in (entry.get("images-by-tag-regex") or {}).items():
            planned.append(_yaml_repository(where, registry, repository, options, refs=None,
                                            keep=_matching(compile_re2(pattern or ""))))
    sources = [each if isinstance(each, SyncSource) else _yaml_source(request, each, list_tags)
               for each in planned]
    return [replace(each, note=notes[number]) if number in notes else each
            for number, each in enumerate(sources)]


def _matching(expression: re.Pattern[str]) -> Callable[[str], bool]:
    """Whether a tag matches somewhere in it, as Go's ``MatchString`` (skopeo's test; the
    expression is Go's syntax, :func:`~spyglass.core.re2.compile_re2`)."""
    return lambda tag: expression.search(tag) is not None


@dataclass(frozen=True)
class _YamlRepository:
    """A repository a yaml entry names, checked, not listed yet."""

    label: str
    entry: str
    reference: DockerReference
    options: RegistryOptions | None
    references: list[DockerReference] | None
    """Its tags or digests given; None: those listed (that ``keep`` keeps)."""
    keep: Callable[[str], bool] | None


def _yaml_repository(
    entry: str, registry: str, repository: str, options: RegistryOptions | None, *,
    refs: list[str] | None, keep: Callable[[str], bool] | None = None,
) -> _YamlRepository:
    """The repository ``entry`` names, its name and ``refs`` checked: a sentence naming
    the entry for what is wrong."""
    label = f"{registry}/{repository}"
    try:
        reference = parse_docker_reference(label, default_tag=False)
    except SpyglassError as exc:
        raise SpyglassError(f'{_capital(entry)}: "{repository}" is not a repository name: '
                            f"{_clause(exc).partition(': ')[2]}.") from exc
    if reference.tag is not None or reference.digest is not None:
        expected = ("REPOSITORY: REGEX, the tags' expression after it" if keep is not None
                    else "REPOSITORY: [TAG, …], with its tags in the list after it")
        raise SpyglassError(f'{_capital(entry)}: "{repository}" names an image, not a '
                            f"repository; expected {expected}.")
    references = None if refs is None else [
        _with_ref(reference, ref, repository, entry) for ref in refs]
    return _YamlRepository(label, entry, reference, options, references, keep)


def _yaml_source(request: SyncRequest, named: _YamlRepository, list_tags: TagLister
                 ) -> SyncSource:
    """The images of a repository a yaml entry names (its tags listed, where none are
    given); a listing that fails is the source's :attr:`~SyncSource.error`."""
    label, entry = named.label, named.entry
    try:
        source = _repository_source(request, named.reference, named.options,
                                    _unlisted_raised(list_tags), label=label,
                                    refs=named.references, keep=named.keep)
    except NothingToSync as exc:
        return SyncSource(label, empty=str(exc), entry=entry)
    except _Unlisted as unlisted:
        return SyncSource(label, error=unlisted.error, entry=entry)
    return replace(source, entry=entry,
                   images=tuple(replace(image, entry=entry) for image in source.images),
                   attached=tuple(replace(image, entry=entry) for image in source.attached))


class _Unlisted(Exception):
    """Why a repository (a docker source's, a yaml entry's) could not be listed: its
    source's error (what else fails is the file's, or the command line's)."""

    def __init__(self, error: SpyglassError) -> None:
        super().__init__(str(error))
        self.error = error


def _unlisted_raised(list_tags: TagLister) -> TagLister:
    """``list_tags``, raising its failure as :class:`_Unlisted` (told apart from the
    source's other errors)."""

    def listed(repository: DockerReference, options: RegistryOptions | None) -> list[str]:
        try:
            return list_tags(repository, options)
        except SpyglassError as exc:
            raise _Unlisted(exc) from exc

    return listed


def read_yaml(path: Path) -> dict[str, dict[str, Any]]:
    """The yaml source file, checked for skopeo's shape; a sentence naming the file and
    what is wrong where, else."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpyglassError(f'The sync source file "{path}" does not exist.') from None
    except IsADirectoryError:
        raise SpyglassError(f'The sync source "{path}" is a folder; --src yaml takes a '
                            "file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpyglassError(f'The sync source file "{path}" cannot be read: '
                            f"{getattr(exc, 'strerror', None) or exc}.") from exc
    try:
        data = yaml.load(text, Loader=_go_strings_loader())  # (a SafeLoader)
    except _RepeatedKey as repeated:
        raise SpyglassError(f'The sync source file "{path}" {repeated.said()}.') from None
    except yaml.YAMLError as exc:
        raise SpyglassError(f'The sync source file "{path}" is not valid YAML'
                            f"{yaml_problem(exc)}{_bracket_key_hint(text, exc)}.") from exc
    if data is None:
        data = {}
    wrong = _wrong_shape(data)
    if wrong is not None:
        raise SpyglassError(f'The sync source file "{path}" is not of the expected shape: '
                            f"{wrong}. Expected REGISTRY: {{images: {{REPOSITORY: [TAG, …]}}, "
                            "images-by-tag-regex: {REPOSITORY: REGEX}, credentials: "
                            "{username: …, password: …}, tls-verify: BOOL, cert-dir: DIR}.")
    if not data:
        raise SpyglassError(f'The sync source file "{path}" names no registry.')
    return cast("dict[str, dict[str, Any]]", data)


@functools.cache
def _go_strings_loader() -> type[Any]:
    """A safe YAML loader that reads each scalar as written, as go-yaml decodes into
    skopeo's strings: ``010``, ``1.10``, ``yes`` and ``2024-01-01`` are tags as they
    stand, not the numbers, booleans and dates of YAML 1.1 (``010`` was tag ``8``).
    Only null (``~``, ``null``, nothing) is resolved, and the merge key ``<<``; a plain
    (unquoted, untagged) word go-yaml decodes into a boolean is a :class:`_PlainWord`,
    and ``!!bool`` a boolean, read by :func:`_go_bool` where a boolean is wanted
    (``tls-verify``). A key given twice in one mapping is refused (:class:`_RepeatedKey`),
    as go-yaml v3 refuses it: PyYAML keeps the last one's value, and a registry's first
    entry (a repository's first list) would not be synced, without a word."""
    import yaml

    class GoStrings(yaml.SafeLoader):
        def construct_document(self, node: yaml.Node) -> Any:  # (override)
            _refuse_repeated_keys(node, ())
            return super().construct_document(node)

    GoStrings.yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers
                if tag in ("tag:yaml.org,2002:null", "tag:yaml.org,2002:merge")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    GoStrings.add_implicit_resolver(
        _PLAIN_WORD, re.compile(f"^(?:{'|'.join(_GO_BOOLS)})$"),
        list({word[0] for word in _GO_BOOLS}))

    def plain_word(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
        return _PlainWord(loader.construct_scalar(node))

    def explicit_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
        value = loader.construct_scalar(node)  # (a word go-yaml does not take stays one)
        return _GO_BOOLS.get(value, value) if isinstance(value, str) else value

    GoStrings.add_constructor(_PLAIN_WORD, plain_word)

    GoStrings.add_constructor("tag:yaml.org,2002:bool", explicit_bool)
    return GoStrings


class _RepeatedKey(Exception):
    """A key given twice in one mapping of the sync file: the keys of the mappings it is
    under (outermost first), and the lines (1-based) of both."""

    def __init__(self, key: str | None, under: tuple[str | None, ...], first: int,
                 again: int) -> None:
        super().__init__(key)
        self.key, self.under, self.first, self.again = key, under, first, again

    def said(self) -> str:
        """What the file does wrong and what to do, to follow its name in a sentence."""
        lines = f"(lines {self.first} and {self.again})"
        key = "" if self.key is None else self.key
        if not self.under:
            return (f'gives the registry "{key}" twice {lines}; merge them into one entry '
                    "(only the last one's images would be synced)")
        if len(self.under) == 2 and self.under[1] in ("images", "images-by-tag-regex"):
            merge = "their tags into one list" if self.under[1] == "images" else (
                "their expressions into one (a|b)")
            return (f'gives the repository "{key}" twice under the {self.under[1]} of the '
                    f'registry "{self.under[0]}" {lines}; merge {merge} (only the last one '
                    "would be synced)")
        where = " → ".join(f'"{each}"' for each in self.under)
        return f'gives the key "{key}" twice under {where} {lines}; keep one'


def _refuse_repeated_keys(node: object, under: tuple[str | None, ...],
                          seen: set[int] | None = None) -> None:
    """Raise :class:`_RepeatedKey` for the first key given twice in a mapping of the
    document ``node`` (under the mappings' keys ``under``). Keys are compared as read
    (each scalar a string, null None); what a merge key ``<<`` brings in may be given
    again, as YAML has it (the mapping's own value wins)."""
    import yaml

    seen = set() if seen is None else seen
    if id(node) in seen:  # (an alias: the node is checked where it was anchored)
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_repeated_keys(item, under, seen)
    elif isinstance(node, yaml.MappingNode):
        lines: dict[str | None, int] = {}
        for key_node, value_node in node.value:
            key: str | None = None
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE:
                key = None if key_node.tag == _NULL else str(key_node.value)
                line = key_node.start_mark.line + 1
                if key in lines:
                    raise _RepeatedKey(key, under, lines[key], line)
                lines[key] = line
            _refuse_repeated_keys(value_node, (*under, key), seen)


_MERGE: Final = "tag:yaml.org,2002:merge"
_NULL: Final = "tag:yaml.org,2002:null"

_PLAIN_WORD: Final = "tag:spyglass,2024:plain-boolean-word"


class _PlainWord(str):
    """A plain scalar that is one of :data:`_GO_BOOLS`: a string wherever a string is
    read (a tag ``yes``), a boolean where one is (go-yaml decodes a quoted one, a
    string, into no boolean)."""

    __slots__ = ()


_GO_BOOLS: Final = {
    **dict.fromkeys(("true", "True", "TRUE", "y", "Y", "yes", "Yes", "YES", "on", "On",
                     "ON"), True),
    **dict.fromkeys(("false", "False", "FALSE", "n", "N", "no", "No", "NO", "off", "Off",
                     "OFF"), False)}
"""The words go-yaml v3 decodes into a boolean (YAML 1.2's, and 1.1's it still takes
there), as skopeo reads ``tls-verify``: unquoted, or tagged ``!!bool``."""


def _go_bool(value: object) -> bool | None:
    """``value`` (a scalar read as written) as the boolean it says: a plain word of
    :data:`_GO_BOOLS`, or a ``!!bool``; None where it is none (a quoted word too)."""
    if isinstance(value, bool):
        return value
    return _GO_BOOLS[value] if isinstance(value, _PlainWord) else None


def _bracket_key_hint(text: str, exc: Exception) -> str:
    """``; YAML reads a key starting with "[" as a list…`` when the line the parser
    stopped at begins with an unquoted ``[HOST]:PORT:`` (an IPv6 registry)."""
    import yaml

    mark = exc.problem_mark if isinstance(exc, yaml.MarkedYAMLError) else None
    lines = text.splitlines()
    if mark is None or not 0 <= mark.line < len(lines):
        return ""
    found = re.match(r"\s*(\[[^\]\s]*\](?::\d+)?):", lines[mark.line])
    if found is None:
        return ""
    return ('; YAML reads a key starting with "[" as a list: quote the registry, as '
            f'"{found.group(1)}"')


def _wrong_shape(data: object) -> str | None:
    if not isinstance(data, dict):
        return f"it holds {_a(data)} where a mapping of registries was expected"
    for registry, entry in data.items():
        if not isinstance(registry, str):
            return f"the registry {registry!r} is not a name"
        where = f'under "{registry}"'
        if not isinstance(entry, dict):
            return f'the registry "{registry}" has {_a(entry)} where a mapping was expected'
        unknown = sorted(str(key) for key in entry if key not in _ENTRY_KEYS)
        newer = [key for key in unknown if key in _NEWER_KEYS]
        if newer:
            return f'{where}, "{newer[0]}" is {_NEWER_KEYS[newer[0]]}'
        if unknown:
            return f'{where}, "{unknown[0]}" is not a key skopeo reads'
        problem = _entry_problem(entry)
        if problem is not None:
            return f"{where}, {problem}"
    return None


def _entry_problem(entry: dict[Any, Any]) -> str | None:
    images = entry.get("images")
    if images is not None:
        if not isinstance(images, dict):
            return f"images is {_a(images)} where a mapping of repositories was expected"
        for repository, refs in images.items():
            if refs is not None and not isinstance(refs, list):
                return (f'images: "{repository}" has {_a(refs)} where a list of tags '
                        "was expected")
            odd = next((ref for ref in refs or () if not isinstance(ref, str)), False)
            if odd is not False:
                held = "an empty entry" if odd is None else _a(odd)
                return (f'images: the list of "{repository}" holds {held} where a tag or '
                        "digest was expected")
    regexes = entry.get("images-by-tag-regex")
    if regexes is not None:
        if not isinstance(regexes, dict):
            return (f"images-by-tag-regex is {_a(regexes)} where a mapping of "
                    "repositories was expected")
        for repository, pattern in regexes.items():
            if pattern is not None and not isinstance(pattern, str):
                return f'images-by-tag-regex: "{repository}" has no regular expression'
            try:
                compile_re2(pattern or "")  # (null: "", as go-yaml reads it into a string)
            except re.error as exc:
                return (f'images-by-tag-regex: "{pattern}" for "{repository}" is no regular '
                        f"expression Go reads, as skopeo reads it ({exc}; skopeo skips such "
                        "a repository, saying \"Error parsing regex\")")
    credentials = entry.get("credentials")
    if credentials is not None and not (
            isinstance(credentials, dict) and set(credentials) <= {"username", "password"}
            and all(isinstance(value, str) for value in credentials.values())):
        return "credentials must be {username: USER, password: PASSWORD}"
    if "tls-verify" in entry and entry["tls-verify"] is None:
        del entry["tls-verify"]  # null (~, or nothing): not set, as skopeo reads it
    if "tls-verify" in entry:
        verify = _go_bool(entry["tls-verify"])
        if verify is None and entry["tls-verify"] in _GO_BOOLS:
            return (f'tls-verify must be true or false unquoted: "{entry["tls-verify"]}" '
                    "quoted (or tagged !!str) is a string, which skopeo refuses too")
        if verify is None:
            return "tls-verify must be true or false"
        entry["tls-verify"] = verify
    if "cert-dir" in entry and not isinstance(entry["cert-dir"], str):
        return "cert-dir must be a folder's path"
    return None


def _a(value: object) -> str:
    """What a value read from the file is, as a sentence names it (``a list``, ``no
    value``): each scalar is a string there, or null."""
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "no value"}.get(
        type(value), f"a {type(value).__name__}")


def _entry_options(
    path: Path, registry: str, entry: dict[str, Any], options: RegistryOptions | None
) -> RegistryOptions:
    """The command line's source options with the entry's own: credentials, TLS."""
    from spyglass.core.credentials import Credentials
    from spyglass.core.transports.registry import RegistryOptions

    options = options or RegistryOptions()
    credentials = entry.get("credentials")
    if credentials:
        options = replace(options, anonymous=False, credentials=Credentials(
            credentials.get("username", ""), credentials.get("password", ""),
            source=f'"{path}"', entry=registry))  # (a refusal names the entry)
    if "tls-verify" in entry:
        options = replace(options, tls_verify=entry["tls-verify"])
    if entry.get("cert-dir"):
        options = replace(options, cert_dir=Path(entry["cert-dir"]))
    return options


def source_digests(cancel: CancelToken | None = None) -> DigestLookup:
    """A :data:`DigestLookup`: a registry image's by one ``HEAD`` (through the process's
    shared clients), a ``dir:`` image's from its ``manifest.json``; the error where asking
    fails (what the copy would say)."""
    from spyglass.core.digest import Digest

    def digest_of(image: SyncImage) -> Digest | SpyglassError | None:
        name = image.source
        try:
            if isinstance(name, DockerName):
                reference = name.reference
                if reference.digest is not None:
                    return reference.digest
                from spyglass.core.registries_conf import PullSource
                from spyglass.core.transports.registry import (
                    RegistryClient,
                    RegistryOptions,
                    source_clients,
                )
                from spyglass.core.transports.registry.pulls import first_answering

                tag = reference.tag or "latest"

                def head(client: RegistryClient, source: PullSource) -> Digest:
                    return client.head_manifest(source.repository, tag, cancel=cancel).digest

                # where the copy reads it from: the mirrors registries.conf gives, if any
                return first_answering(
                    reference, source_clients(reference, image.registry or RegistryOptions()),
                    head)
            if isinstance(name, DirName):
                return Digest.of((name.path / "manifest.json").read_bytes())
        except SpyglassError as exc:
            if cancel is not None:
                cancel.check()
            return exc
        except OSError as exc:
            return SpyglassError(f"Cannot read {name}: {exc.strerror or exc}.")
        return None

    return digest_of


def registry_tags(cancel: CancelToken | None = None,
                  unreachable: UnreachableHosts | None = None) -> TagLister:
    """A :data:`TagLister` asking the registry, through the process's shared clients. A
    listing that failed after several tries says how many; with ``unreachable``, a
    registry that could not be reached is kept there, and a listing of a registry kept
    there fails at once (the sync's copies then do too)."""

    def list_tags(repository: DockerReference, options: RegistryOptions | None) -> list[str]:
        from spyglass.core.errors import Cancelled

        try:
            return asked(repository, options)
        except Cancelled:
            raise
        except SpyglassError as exc:
            _say_listed_where_named(exc, repository)
            raise

    def asked(repository: DockerReference, options: RegistryOptions | None) -> list[str]:
        from spyglass.core.credentials import canonical_host
        from spyglass.core.errors import ConnectionFailed, Unreachable
        from spyglass.core.sync_unreachable import say_tries
        from spyglass.core.transports.registry import client_for

        host = canonical_host(repository.domain)
        known = None if unreachable is None else unreachable.failure_for(
            [(host,)], what="repository")
        if known is not None:
            raise known
        try:
            client = client_for(repository.domain, options, repository=repository.path)
            return client.tags_of(repository.path, cancel=cancel)
        except ConnectionFailed as exc:
            say_tries(exc)
            if unreachable is not None and isinstance(exc, Unreachable) and exc.host == host:
                unreachable.add(exc)
            raise

    return list_tags


def _say_listed_where_named(error: SpyglassError, repository: DockerReference) -> None:
    """Add to ``error``, a failed listing of ``repository``, that registries.conf's
    location or mirrors for it (where it has any) serve reads of images only: the tags
    are listed at the registry the name says, as skopeo lists them (a copy of a tag
    named goes through them)."""
    from spyglass.core.credentials import canonical_host
    from spyglass.core.registries_conf import current
    from spyglass.core.retry import add_to_sentence

    host = canonical_host(repository.domain)
    try:
        conf = current()
        sources = [each for digested in (False, True)
                   for each in conf.pull_sources(host, repository.path, digested=digested)]
    except SpyglassError:  # (a registries.conf that cannot be used: the copies say so)
        return
    mirrors = len({each.name for each in sources if each.mirror})
    moved = any(not each.mirror and each.name != f"{host.lower()}/{repository.path}"
                for each in sources)
    what = [*(["mirrors" if mirrors > 1 else "mirror"] if mirrors else []),
            *(["location"] if moved else [])]
    if not what:
        return
    serve = "serves" if len(what) == 1 and mirrors < 2 else "serve"
    add_to_sentence(error, (
        f" (registries.conf's {' and '.join(what)} for this repository {serve} reads of its "
        f"images only: its tags are listed at {repository.domain}, the registry its name "
        "says, as skopeo lists them; name the tags, as REPOSITORY:TAG or in a yaml file's "
        "images list)"))


__all__ = [
    "DESTINATION_KINDS",
    "SOURCE_KINDS",
    "DestinationKind",
    "DigestLookup",
    "NothingToSync",
    "SourceKind",
    "SyncImage",
    "SyncRequest",
    "SyncSource",
    "TagLister",
    "UnreadImage",
    "attachment_subject",
    "check_destinations",
    "check_kinds",
    "destination_name",
    "list_sources",
    "once",
    "read_yaml",
    "registry_tags",
    "source_digests",
    "with_tags_apart",
]
