"""What the window's copies do off the GUI thread: names, jobs and a progress tally.

Nothing here imports Qt. :func:`suggest_destination` turns a dragged image
and the place it was dropped on into a destination name; :func:`list_platforms`,
:func:`prepare_copy` and :func:`run_copy` are jobs for the :class:`Runner`
(they take the job's cancel token); :class:`Tally` gathers the copy engine's
events, which arrive from the engine's threads, into a snapshot the GUI reads
a few times a second.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final, Literal

from spyglass.core import media
from spyglass.core.archive_names import STORAGE_SUFFIXES
from spyglass.core.cancel import CancelToken, check
from spyglass.core.copy import (
    DEFAULT_PARALLEL,
    BlobCutOff,
    BlobDone,
    BlobProgress,
    BlobRetried,
    BlobSkipped,
    BlobStarted,
    BlobWaiting,
    CopyCancelled,
    CopyEvent,
    CopyOptions,
    CopyPlan,
    Failed,
    Finished,
    Naming,
    Planned,
    execute,
    held_already,
    plan_copy,
)
from spyglass.core.copy_attachments import describe_attachments
from spyglass.core.digest import Digest
from spyglass.core.errors import SpyglassError
from spyglass.core.fileurl import is_file_url, local_path, not_local
from spyglass.core.image import load_manifest, nested_entries
from spyglass.core.manifest import Descriptor, ImageIndex, Schema1Manifest
from spyglass.core.platform import Platform
from spyglass.core.policy import check_copy_source
from spyglass.core.reference import (
    DirName,
    DockerArchiveName,
    DockerName,
    ImageName,
    OCIArchiveName,
    OCIName,
    Transport,
    parse_docker_reference,
    parse_image_name,
)
from spyglass.core.referrers import buildkit_attestation_subject
from spyglass.core.settings import normalize_location
from spyglass.core.text import NotOneWord, shell_unquoted, unexpanded_variable
from spyglass.core.transports import open_destination, open_source
from spyglass.core.transports.base import (
    CheckedDestination,
    ImageDestination,
    ImageSource,
    TaggedDestination,
)

MIME_TYPE: Final = "application/x-spyglass-image"
"""The drag-and-drop type of an image dragged inside the window (JSON of :class:`DraggedImage`)."""

PlaceKind = Literal["registry", "repository", "oci", "dir", "oci-archive", "docker-archive",
                    "folder"]


@dataclass(frozen=True)
class DraggedImage:
    """An image picked up in the window: its name and, for one platform of a list, that one."""

    name: str
    label: str
    platform: str = ""
    digest: str = ""
    """The manifest digest of ``platform``'s image (where it is known)."""

    @property
    def text(self) -> str:
        """The name other programs get (a drag's plain text): one platform of a list in a
        registry by its own digest (``docker://HOST/REPO@sha256:…``), else ``name``. (An
        ``oci:`` layout has no name for an image by digest that skopeo takes.)"""
        if self.platform and self.digest:
            try:
                parsed = parse_image_name(self.name)
            except SpyglassError:
                return self.name
            if isinstance(parsed, DockerName):
                ref = parsed.reference
                return f"docker://{ref.domain}/{ref.path}@{self.digest}"
        return self.name

    def to_json(self) -> dict[str, str]:
        data = {"name": self.name, "label": self.label, "platform": self.platform}
        if self.digest:
            data["digest"] = self.digest
        return data

    @classmethod
    def from_json(cls, data: object) -> DraggedImage | None:
        if not isinstance(data, dict):
            return None
        name, label = data.get("name"), data.get("label")
        platform = data.get("platform") or ""
        digest = data.get("digest") or ""
        if not isinstance(name, str) or not isinstance(label, str) \
                or not isinstance(platform, str) or not isinstance(digest, str):
            return None
        return cls(name, label, platform, digest)


@dataclass(frozen=True)
class DropPlace:
    """Where an image was dropped: a registry (``host``), a repository in it, or a path."""

    kind: PlaceKind
    host: str = ""
    repository: str = ""
    path: str = ""


def _named_by(label: str) -> tuple[str, str] | None:
    """``(REPO, TAG)`` from an image's label when it is a tagged reference
    (``docker.io/library/alpine:latest`` → ``("alpine", "latest")``), else None."""
    if not label or ":" not in label:
        return None
    try:
        reference = parse_docker_reference(label, default_tag=False)
    except Exception:
        return None
    if reference.tag is None or reference.digest is not None:
        return None
    path = reference.path.removeprefix("library/") if reference.domain == "docker.io" else (
        reference.path)
    return path, reference.tag


def _repository_and_tag(source: str, label: str = "") -> tuple[str, str]:
    """``(REPO, TAG)`` for a source name: what a copy names the image by default. An
    image named by its position in a layout or archive (``PATH:@1``: a Docker 25+
    save of two "latest" images) is named by its label, where that is a reference,
    rather than after the file both share."""
    try:
        parsed = parse_image_name(source)
    except Exception:
        return "image", "latest"
    if getattr(parsed, "index", None) is not None and (named := _named_by(label)):
        return named
    if isinstance(parsed, DockerName):
        ref = parsed.reference
        return ref.path, ref.tag or "latest"
    if isinstance(parsed, DockerArchiveName) and parsed.reference is not None:
        # docker save names images docker.io/library/NAME: suggest NAME, as for layouts
        ref = parsed.reference
        path = ref.path.removeprefix("library/") if ref.domain == "docker.io" else ref.path
        return path, ref.tag or "latest"
    oci_ref = getattr(parsed, "ref", None)
    folder = _safe_repository(Path(getattr(parsed, "path", "image")).name)
    if isinstance(oci_ref, str) and oci_ref:
        name, colon, tag = oci_ref.rpartition(":")
        if colon and "/" not in tag:
            try:
                reference = parse_docker_reference(f"{name}:{tag}")
                return reference.path.removeprefix("library/"), reference.tag or "latest"
            except Exception:
                return _safe_repository(name) or folder, tag
        return folder, oci_ref
    return folder, "latest"


def _without_archive_suffixes(name: str) -> str:
    """``name`` without the :data:`STORAGE_SUFFIXES` it ends with (``app.oci.tar`` → ``app``)."""
    while True:
        suffix = next((s for s in STORAGE_SUFFIXES if name.endswith(s) and name != s), None)
        if suffix is None:
            return name
        name = name.removesuffix(suffix)


def _safe_repository(text: str) -> str:
    """A folder or file name as a repository path component (lower case, allowed characters
    only, without an archive's suffixes, not starting or ending with punctuation)."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "-" for c in text.lower())
    cleaned = _without_archive_suffixes(cleaned.strip("._-")).strip("._-")
    return cleaned or "image"


def suggest_destination(source: str, place: DropPlace, label: str = "",
                        platform: str = "") -> str:
    """The destination name the copy dialog starts with for ``source`` (shown as
    ``label``; ``platform``, one platform of it) dropped on ``place``.

    Registry: ``docker://HOST/REPO:TAG`` (REPO the repository dropped on, or the
    source's own); layout: ``oci:PATH:REPO:TAG``, or the source layout's own ref as
    it is. One platform of a list gets the platform after its tag
    (``1.0-linux-arm64``): under the list's own tag it would replace the list. A
    source named by digest has no tag: it keeps its digest in a registry, goes
    unnamed into a layout or archive, and one platform of it is named after that
    platform.
    """
    repository, tag = _repository_and_tag(source, label)
    suffix = "-" + platform.replace("/", "-") if platform else ""
    digest = _digest_of(source)
    if digest is not None:
        # named by digest, it has no tag to keep ("latest" would replace another image)
        if not suffix and place.kind in ("registry", "repository"):
            named = place.repository if place.kind == "repository" else repository
            return f"docker://{place.host}/{named}@{digest}"
        if not suffix and place.kind in ("oci", "folder", "oci-archive", "docker-archive"):
            # unnamed; the dialog says how to name it (an empty folder becomes a layout)
            kind = "oci" if place.kind == "folder" else place.kind
            return f"{kind}:{place.path}"
        tag, suffix = platform.replace("/", "-"), ""  # one platform: named after it
    tag += suffix
    if place.kind == "registry":
        return f"docker://{place.host}/{repository}:{tag}"
    if place.kind == "repository":
        return f"docker://{place.host}/{place.repository}:{tag}"
    if place.kind == "dir":
        return f"dir:{place.path}"
    if place.kind == "docker-archive":
        return f"docker-archive:{place.path}:{repository}:{tag}"
    own = _layout_ref(source)
    ref = own + suffix if own else f"{repository}:{tag}"
    if place.kind == "oci-archive":
        return f"oci-archive:{place.path}:{ref}"
    return f"oci:{place.path}:{ref}"


def _digest_of(source: str) -> str | None:
    """The digest a registry source is named by (``docker://HOST/REPO@sha256:…``)."""
    try:
        parsed = parse_image_name(source)
    except SpyglassError:
        return None
    if isinstance(parsed, DockerName) and parsed.reference.digest is not None:
        return str(parsed.reference.digest)
    return None


def _layout_ref(source: str) -> str:
    """The ref an OCI layout or OCI archive source is named by ("" for none): a copy
    into another layout keeps it as it is (``nightly`` stays ``nightly``)."""
    try:
        parsed = parse_image_name(source)
    except SpyglassError:
        return ""
    if isinstance(parsed, OCIName | OCIArchiveName) and parsed.ref:
        return parsed.ref
    return ""


def place_of(destination: str) -> DropPlace | None:
    """The place a copy went to, for suggesting the next copy's destination there: the
    registry of a ``docker://`` name (the next image keeps its own repository), the
    layout of an ``oci:`` one. None for places that hold one image (``dir:``, archives),
    where a second image would replace the first."""
    try:
        name = parse_image_name(destination)
    except SpyglassError:
        return None
    if isinstance(name, DockerName):
        return DropPlace("registry", host=name.reference.domain)
    if isinstance(name, OCIName):
        return DropPlace("oci", path=str(name.path))
    return None


def normalize_name(text: str) -> str:
    """A typed or pasted image name as the core takes it: a bare registry reference
    (``HOST[:PORT]/REPO[:TAG|@DIGEST]``, what "Copy Reference" puts on the clipboard)
    becomes ``docker://…``; anything else is left as it is.

    A reference is bare when it starts with no known transport and its first
    component names a registry: ``localhost``, or something with a ``.`` or a
    ``:`` (so ``alpine`` or ``team/app`` stay errors: which registry is not said), and
    does not start with ``.`` (``./layout``, ``../layout`` are paths, not hosts).
    A path after a local transport that starts with ``~/`` is taken from the home folder,
    as a shell would (the window has no shell to do it).
    """
    text = text.strip()
    transport, colon, rest = text.partition(":")
    if colon and transport in {t.value for t in Transport}:
        path, sep, after = rest.partition(":")
        if transport != Transport.DOCKER.value and (path == "~" or path.startswith("~/")):
            # yours only: another user's (~bob) would be looked up (a directory service,
            # perhaps over the network) on every key typed
            return f"{transport}:{os.path.expanduser(path)}{sep}{after}"
        return text
    first, slash, _path = text.partition("/")
    if slash and not first.startswith(".") and (
            first == "localhost" or "." in first or ":" in first):
        return f"docker://{text}"
    return text


def pasted_name(text: str) -> tuple[str, str]:
    """What a pasted or dropped source names, and ``""``; or ``""`` and why it names
    nothing. Of several lines, the only one that is not blank (several: one name per
    copy), unless they are one word in shell quotes; a name in shell quotes (``'…'``,
    ``"…"``, ``$'…\\xe9'`` as Copy Path and Copy Image Name write it, ``my\\ layout`` as
    ``printf %q``, ``'new'$'\\n''line'`` as ``ls`` does) unquoted: the name, as it is;
    a ``file:`` URL (a file manager's drop) as its path.

    A name with a quote in it that does not read as one word in quotes (``/srv/John's
    layout``) is taken as it is; one that starts with a quote must read as one word."""
    whole = text.strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        try:
            unquoted = shell_unquoted(whole)  # (a quoted line break, as shlex.quote writes it)
        except NotOneWord:
            unquoted = None
        if unquoted is None:
            return "", f"Give one image name per copy: the text has {len(lines)} lines."
        lines = [whole]
    name = lines[0] if lines else ""
    try:
        unquoted = shell_unquoted(name)
    except NotOneWord as exc:
        if name.startswith(("'", '"', "$'", '$"')):
            return "", (f"Give one image name per copy: {exc}" if exc.kind == "words"
                        else str(exc))
        unquoted = None  # (a quote in a name)
    if unquoted is not None:
        name = unquoted  # as it is: a space or a line break it ends in is the name's
    elif said := unexpanded_variable(name):
        return "", said
    if is_file_url(name):
        path = local_path(name)
        if path is None:
            return "", not_local(name) or ""
        return path, ""
    return name, ""


def names_a_path(name: str) -> bool:
    """Whether ``name`` (see :func:`pasted_name`) is a path without its transport, which
    the disk says the kind of (:func:`~spyglass.core.transports.resolve_name`)."""
    return name.startswith(("/", "./", "../", "~")) or name in (".", "..")


def describe_name(text: str, *, what: str = "destination",
                  hosts: Sequence[str] = ()) -> tuple[ImageName | None, str]:
    """Parse a typed name (see :func:`normalize_name`): ``(name, sentence)`` — the
    sentence says what it is or what is wrong. ``what`` is ``"destination"`` or
    ``"source"``; ``hosts``, the registries of the window's list, which a name without
    its registry is pointed to (rather than to Docker Hub)."""
    text = text.strip()
    if not text:
        if what == "source":
            return None, "Type or paste the image to copy, for example " \
                         "registry.example/team/app:1.0 or oci:/path/to/layout:TAG."
        return None, "Type where to copy the image, for example docker://HOST/REPO:TAG or " \
                      "oci:/path/to/layout:TAG."
    normalized = normalize_name(text)
    try:
        name = parse_image_name(normalized)
    except Exception as exc:
        said = str(exc)
        if normalized != text:  # the docker:// added is not what was typed: say that
            said = said.replace(f'"{normalized}"', f'"{text}"', 1)
        transport = text.partition(":")[0]
        if hosts and normalized == text and not text.startswith(("/", ".", "~")) and \
                ("/" in text or ":" in text) and transport not in {t.value for t in Transport}:
            said += (f" For a registry of the list, write its host first, for example "
                     f"{hosts[0]}/{text}.")
        return None, said
    if isinstance(name, DockerName):
        taken = f"Taken as {normalized}: the" if normalized != text else "The"
        return name, f"{taken} registry {name.reference.domain}, repository " \
                     f"{name.reference.path}, " + (
                         f"tag {name.reference.tag}." if name.reference.tag
                         else f"digest {name.reference.digest}.")
    if what == "source":
        kind = {OCIName: "The OCI image layout", DirName: "The dir: layout",
                OCIArchiveName: "The OCI layout tarball",
                DockerArchiveName: "The docker save tarball"}[type(name)]
        ref = getattr(name, "ref", None) or getattr(name, "reference", None)
        return name, f"{kind} {name.path}" + (f", image {ref}." if ref else ".")
    if isinstance(name, OCIName):
        named = (f"named {name.ref}" if name.ref
                 else "the image without a name (add :NAME to give it one)")
        return name, f"The OCI image layout in {_where(name.path)} (a new one if there is " \
                     f"none yet), {named}."
    if isinstance(name, DirName):
        return name, f"A dir: layout in {_where(name.path)}."
    # an archive already there is replaced whole: the dialog's replace check says so,
    # naming the images lost (find_replaced)
    if isinstance(name, OCIArchiveName):
        named = f"named {name.ref}" if name.ref else "the image without a name"
        return name, f"An OCI layout tarball at {_where(name.path)}, {named}."
    assert isinstance(name, DockerArchiveName)
    named = (f"named {name.reference}" if name.reference is not None
             else "the image without a name (add :NAME:TAG to give it one)")
    return name, f"A docker save tarball at {_where(name.path)}, {named}."


def _where(path: Path | str) -> str:
    """A path as the dialog says it: a relative one with the folder it is relative to
    (the program's working folder, which the window does not show)."""
    given = Path(path)
    return str(given) if given.is_absolute() else f"{given} (in {Path.cwd()})"


@dataclass(frozen=True)
class Replaced:
    """What a copy would replace: an archive or a ``dir:`` layout already there, and the
    images it holds (empty when they could not be listed)."""

    path: str
    kind: Literal["archive", "folder"]
    images: tuple[str, ...]

    def sentence(self) -> str:
        """What is lost, for the confirmation the Copy dialog asks for."""
        if self.kind == "archive":
            what, whole = f"the archive {self.path}", "whole"
        else:
            what, whole = f"what is in the folder {self.path}", ""
        if not self.images:
            return f"Copying here replaces the file {self.path}." if self.kind == "archive" \
                else f"Copying here replaces {what}."
        shown = ", ".join(self.images[:3])
        if len(self.images) > 3:
            shown += f" and {len(self.images) - 3} more"
        if len(self.images) == 1:
            return f"Copying here replaces {what}{' ' + whole if whole else ''}: the image " \
                   f"in it, {shown}, is not kept."
        return f"Copying here replaces {what}{' ' + whole if whole else ''}: the " \
               f"{len(self.images)} images in it ({shown}) are not kept."


def may_replace(name: ImageName) -> bool:
    """Whether a copy to ``name`` replaces what is there (archives and ``dir:`` layouts are
    written whole) rather than adding to it: :func:`find_replaced` then says what."""
    return isinstance(name, OCIArchiveName | DockerArchiveName | DirName)


COPY_TO_SHORTCUT: Final = "Ctrl+Shift+S"
"""Copy To…'s key (said in the empty Transfers panel too)."""


def written_whole(destination: str) -> str | None:
    """The absolute path of the archive or ``dir:`` folder a copy to ``destination``
    writes whole (None for a registry or an OCI layout, which a copy adds to): two copies
    there at once would each replace the other's. As written (:func:`normalize_location`,
    no disk looked at on the window's thread): the same file reached through a link is
    not known to be the same."""
    try:
        name = parse_image_name(destination)
    except SpyglassError:
        return None
    if isinstance(name, OCIArchiveName | DockerArchiveName | DirName):  # (as may_replace)
        return normalize_location(name.path)
    return None


def looked_at_first(name: ImageName) -> bool:
    """Whether the dialog looks at a local destination (:func:`find_replaced`) before the
    copy may start: what it would replace, or the refusal it would meet."""
    return isinstance(name, OCIName) or may_replace(name)


def find_replaced(name: ImageName, cancel: CancelToken) -> Replaced | None:
    """What a copy to ``name`` would replace (a job): an archive file already there, or a
    ``dir:`` folder with something in it; None for a place a copy adds to (a registry,
    an OCI layout) or that is not there yet. Raises the refusal a copy there would meet
    (a file that is no image archive, a folder of other files)."""
    from spyglass.core.transports.archive_write import (
        check_archive_destination,
        names_of_one_image,
    )
    from spyglass.core.transports.dirlayout import check_dir_destination
    from spyglass.core.transports.layout_files import check_layout_destination
    from spyglass.gui.loading import open_and_list

    kind: Literal["archive", "folder"]
    if isinstance(name, OCIName):
        check_layout_destination(Path(name.path))
        return None
    if isinstance(name, OCIArchiveName | DockerArchiveName):
        path, kind = Path(name.path), "archive"
        # what the copy would refuse is said now, not asked to be confirmed first (what a
        # compressed one holds is not read: that would decompress all of it)
        check_archive_destination(path, name.transport,
                                  look_inside=not (path.is_file() and _compressed(path)))
        if not path.exists():
            return None
    elif isinstance(name, DirName):
        path, kind = Path(name.path), "folder"
        check_dir_destination(path)
        if not path.is_dir() or not any(path.iterdir()):
            return None
    else:
        return None
    images: tuple[str, ...] = ()
    if kind == "archive" and _compressed(path):
        # what it holds would be learned only by decompressing all of it first
        return Replaced(str(path), kind, images)
    try:
        listed = open_and_list(path, cancel)
    except Exception:  # not an image there: the file or folder itself is replaced
        check(cancel)
    else:
        listed.location.close()
        names: dict[Digest, list[str]] = {}  # one image under several names is one image
        for entry in listed.entries:
            names.setdefault(entry.descriptor.digest, []).append(entry.label)
        images = tuple(names_of_one_image(labels) for labels in names.values())
    return Replaced(str(path), kind, images)


def named_now(openers: Openers, name: ImageName, cancel: CancelToken) -> Digest | None:
    """The digest the tag or ref a copy to ``name`` writes names there now (a job): an
    OCI layout's ref (read from its index, which is not written), a registry's tag (a
    HEAD); None where it names nothing yet, or for a place written whole (an archive,
    ``dir:``, where :func:`find_replaced` says what goes)."""
    from spyglass.core.manifest import REF_NAME_ANNOTATION

    if isinstance(name, OCIName) and name.ref is not None:
        try:
            index = json.loads((Path(name.path) / "index.json").read_bytes())
        except (OSError, ValueError):
            return None  # no layout there yet, or one the copy will say is unreadable
        entries = index.get("manifests") if isinstance(index, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            annotations = entry.get("annotations") if isinstance(entry, dict) else None
            if isinstance(annotations, dict) and \
                    annotations.get(REF_NAME_ANNOTATION) == name.ref:
                try:
                    return Digest.parse(str(entry.get("digest")))
                except SpyglassError:
                    return None
        return None
    if isinstance(name, DockerName) and name.reference.tag is not None:
        destination = openers.destination(str(name))
        try:
            if isinstance(destination, TaggedDestination):
                return destination.tagged_digest(name.reference.tag, cancel=cancel)
            return None
        finally:
            destination.abort()
            destination.close()
    return None


def _compressed(path: Path) -> bool:
    """Whether the file at ``path`` starts like compressed data (gzip, zstd, xz, bzip2)."""
    from spyglass.core import compression

    try:
        with path.open("rb") as stream:
            return compression.detect(stream.read(compression.HEADER_SIZE)) is not None
    except OSError:
        return False


# ---------------------------------------------------------------------------- opening


Opener = Callable[[str, CancelToken], ImageSource]
"""Opens a source name; the token cancels a long open (a compressed archive being
decompressed)."""
DestinationOpener = Callable[[str], ImageDestination]


def open_source_cancellably(name: str, cancel: CancelToken) -> ImageSource:
    """The default :data:`Opener`."""
    return open_source(name, cancel=cancel)


def _nothing_to_refresh() -> None:
    pass


@dataclass
class Openers:
    """How jobs open names: registry names through the window's connections where it has one.

    ``refresh`` is called on the GUI thread just before a copy job is handed to a
    worker: it brings what the openers use up to date (the window's registry
    connections as the registries list has them now: a Retry after "Edit Registry…"
    signs in with the new credentials).
    """

    source: Opener = open_source_cancellably
    destination: DestinationOpener = open_destination
    refresh: Callable[[], None] = _nothing_to_refresh


@dataclass(frozen=True)
class SourcePlatforms:
    """What the copy dialog offers: the platforms of a list (empty for a single image)."""

    is_list: bool
    platforms: tuple[Platform, ...]
    digest: Digest
    schema1: bool = False
    """A Docker schema 1 image: converted to schema 2 as it is copied."""
    instances: tuple[Digest, ...] = ()
    """The digest of each platform's image (the first of it in the list), as ``platforms``."""
    unplaced: int = 0
    """Images of the list that name no platform (not attestations): they go when every
    platform is ticked (the list whole), not with some."""


def list_platforms(openers: Openers, source_name: str, cancel: CancelToken) -> SourcePlatforms:
    """The platforms of the source's list (a job)."""
    source = openers.source(source_name, cancel)
    try:
        top = load_manifest(source, cancel=cancel)
        if not isinstance(top, ImageIndex):
            return SourcePlatforms(False, (), top.digest, isinstance(top, Schema1Manifest))
        seen: list[Platform] = []
        digests: list[Digest] = []
        # the images of lists nested in the list too: a copy chooses among them as well,
        # preferring the list's own image of a platform, as it does
        own = {e.platform: e.digest for e in reversed(top.manifests) if e.platform}
        unplaced = 0
        for _holder, entry in nested_entries(source, top, cancel=cancel):
            platform = entry.platform
            if platform is None or not platform.os:
                unplaced += buildkit_attestation_subject(entry) is None
                continue
            if platform.os == "unknown":
                continue
            if platform not in seen:
                seen.append(platform)
                digests.append(own.get(platform, entry.digest))
    finally:
        source.close()
    return SourcePlatforms(True, tuple(seen), top.digest, instances=tuple(digests),
                           unplaced=unplaced)


@dataclass(frozen=True)
class CopyRequest:
    """One copy as the dialog asked for it: names and options (Retry runs it again)."""

    source: str
    destination: str
    options: CopyOptions
    label: str = ""


@dataclass
class Prepared:
    """A planned copy, with the source and destination it was planned against (open)."""

    plan: CopyPlan
    source: ImageSource
    destination: ImageDestination

    def close(self) -> None:
        try:
            self.destination.abort()
        finally:
            try:
                self.destination.close()
            finally:
                self.source.close()


def prepare_copy(openers: Openers, request: CopyRequest, cancel: CancelToken,
                 asking: Callable[[str], None] | None = None) -> Prepared:
    """Open both ends and plan the copy (a job); raises the refusal sentence. The
    signature policy (``policy.json``, as skopeo reads it) is asked first, before
    anything is opened. ``asking`` is told, on the job's thread, which end the step under
    way asks: the source's name (reading the source, planning), then the destination's
    (what its name names now, whether it may be written)."""
    check_copy_source(parse_image_name(request.source))
    if asking is not None:
        asking(request.source)
    source = openers.source(request.source, cancel)
    try:
        destination = openers.destination(request.destination)
    except BaseException:
        source.close()
        raise
    try:
        plan = plan_copy(source, destination, request.options, cancel=cancel)
        if asking is not None:
            asking(request.destination)
        if isinstance(destination, CheckedDestination) and not held_already(
                plan, destination, request.options, cancel=cancel):
            # a refusal to write (no credentials yet) is said in the dialog, not after it
            # (a copy of what the registry's tag names already writes nothing: no need)
            destination.check_writable(held=plan.check_blob, cancel=cancel)
        check(cancel)
    except BaseException:
        try:
            destination.close()
        finally:
            source.close()
        raise
    return Prepared(plan, source, destination)


def window_parallel() -> int:
    """Blob transfers at once for the window's copies: the command line's default,
    but at most two per processor core. More threads than that mostly wait for the
    processor, and make the event loop wait with them (on two cores, eight busy
    threads stalled it for up to 85 ms; four stay under 35 ms)."""
    return min(DEFAULT_PARALLEL, 2 * (os.cpu_count() or 1))


def run_copy(
    openers: Openers,
    request: CopyRequest,
    prepared: Prepared | None,
    events: Callable[[CopyEvent], None],
    cancel: CancelToken,
) -> Descriptor:
    """Plan (unless ``prepared``) and carry out one copy (a job); closes both ends."""
    if prepared is None:
        prepared = prepare_copy(openers, request, cancel)
    try:
        # the window's copies run behind the event loop: lower their threads' priority
        options = replace(request.options, background=True)
        return execute(prepared.plan, prepared.source, prepared.destination, options,
                       events=events, cancel=cancel)
    finally:
        try:
            prepared.destination.close()
        finally:
            prepared.source.close()


# ---------------------------------------------------------------------------- progress

BlobOutcome = Literal["waiting", "copying", "retrying", "copied", "skipped", "mounted",
                      "unneeded", "recompressed", "decompressed", "interrupted"]

WRITTEN_ANEW: Final = ("copied", "recompressed", "decompressed")
"""The outcomes of a blob the copy wrote itself, whole."""
PAST_BLOB: Final = (*WRITTEN_ANEW, "skipped", "mounted", "unneeded")
"""The outcomes of a blob the copy is done with: written, or there already."""


@dataclass
class BlobRow:
    """One blob of a copy, for the Details dialog."""

    digest: Digest
    size: int
    media_type: str
    done: int = 0
    outcome: BlobOutcome = "waiting"
    retries: int = 0
    """How many of its ``--retry-times`` the blob took: each start again after an error,
    and each try a resume inside an attempt took (the engine's attempt counts them), so
    that the Details and the row's "attempt 3 of 4" agree."""
    last_error: str = ""
    """The error it last started again after."""
    attachment: str = ""
    """What attached thing the blob is part of (``cosign signature``, ``SBOM``, …), or ""
    for a blob of the images themselves."""
    written: Digest | None = None
    """The digest it was written as, where that is not its own (recompressed)."""
    dropped: bool | None = None
    """Of a blob whose upload to a registry was cut off: whether the registry took the
    cancel of the upload and dropped what it had received (False: it may keep that until
    it purges unfinished uploads); None when no upload of it was cut off."""
    restarting: bool = False
    """It started again from its first byte after an error, and no byte of the new
    attempt has come yet (the row says the copy is retrying, not just copying)."""
    attempt: int = 0
    """Of a blob that started again: the attempt it is on (2 for the first retry)."""
    attempts: int = 0
    """Of a blob that started again: how many attempts it may take in all."""
    asked_wait: str = ""
    """While a request for it waits because the registry asked (``Retry-After``), and no
    byte has come since: who asked, for how long ("the registry H asked to wait 120 s;
    asking again in 60 s"); "" otherwise."""
    asked_for: float = 0.0
    """Of a blob :attr:`asked_wait`: the seconds asked for."""
    wait_ends: float = 0.0
    """Of a blob :attr:`asked_wait`: when (on the tally's clock) the wait ends and the
    request is sent again."""
    wait_left: float = 0.0
    """Of a blob :attr:`asked_wait`: the seconds of the wait left when the snapshot was
    taken (below 0 once it is over: how long ago it ended)."""


@dataclass(frozen=True)
class Snapshot:
    """A copy's progress at one moment, handed to the GUI thread."""

    planned: bool
    done: int
    total: int
    blobs: tuple[BlobRow, ...]
    speed: float
    """Bytes a second over the last few seconds."""
    finished: bool
    error: str
    notes: tuple[str, ...] = ()
    """What the plan decided on the user's behalf (``plan.notes``: layers compressed, what
    is left behind or replaced, signatures merged), as the engine words them; and what the
    copy met that stays (a broken blob location cache renamed aside)."""
    attached: str = ""
    """What goes along with the images (``1 SBOM, 1 cosign signature``), or ""."""
    source_digest: Digest | None = None
    """The digest of the source's top manifest, once planned."""
    still: float = 0.0
    """Seconds since a byte last moved (since the plan, before the first): a copy that
    waits on a registry that stopped answering shows it."""
    held: bool = False
    """The destination's name named this very image already: nothing of it was written
    (:attr:`~spyglass.core.copy_events.Finished.held`)."""
    wrote_attached: bool = False
    """Of a ``held`` image: something attached to it was written
    (:attr:`~spyglass.core.copy_events.Finished.wrote_attached`)."""
    on_manifests: bool = False
    """The copy is writing the destination's name, or has (the engine's
    :class:`~spyglass.core.copy_events.Naming`): a copy into a registry stopped now may
    have had its tag written all the same (the registry may have stored it before its
    answer came). Before it, the tag is as it was."""


SPEED_WINDOW: Final = 3.0
"""Seconds of samples the speed is measured over."""
QUIET_AFTER: Final = SPEED_WINDOW
"""Seconds without a byte moving after which the speed is measured afresh from the first
bytes that move again: the quiet time (a registry asking to wait, a stalled read) is no
part of the line's speed, and counted in, it made a speed of a few bytes a second and an
ETA of hours for a copy about to end."""
MIN_MEASURED: Final = 64 * 1024
"""The fewest bytes moved in the window that make a speed: a config blob of a few hundred
bytes says nothing of how fast the rest will go."""


@dataclass
class Tally:
    """The engine's events for one copy, gathered under a lock (they come from its threads).

    :meth:`feed` answers True when a change arrived after the last
    :meth:`snapshot`: the caller then asks the GUI thread, once, to take one.
    """

    clock: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _blobs: dict[Digest, BlobRow] = field(default_factory=dict)
    _planned: bool = False
    _finished: bool = False
    _error: str = ""
    _notes: tuple[str, ...] = ()
    _attached: str = ""
    _source_digest: Digest | None = None
    _dirty: bool = False
    _samples: list[tuple[float, int]] = field(default_factory=list)
    _moved: tuple[float, int] | None = None
    """When the bytes done last changed, and to what."""
    _fresh: bool = False
    """The speed's samples start again at the next one that shows bytes moving (after a
    blob started again, or a quiet time)."""
    _held: bool = False
    _wrote_attached: bool = False
    _naming: bool = False

    def feed(self, event: CopyEvent) -> bool:
        with self._lock:
            self._apply(event)
            wake = not self._dirty
            self._dirty = True
            return wake

    def _apply(self, event: CopyEvent) -> None:
        blobs = self._blobs
        if isinstance(event, Planned):
            plan = event.plan
            self._planned = True
            self._notes = plan.notes
            self._source_digest = plan.top.digest
            attached = describe_attachments(plan.attachments) or ""
            self._attached = attached.removeprefix("attached: ")
            for task in plan.blobs:
                d = task.source
                blobs.setdefault(d.digest, BlobRow(d.digest, d.size, task.media_type))
            part_of: dict[Digest, list[str]] = {}  # a blob shared by several: each kind
            for attachment in plan.attachments:
                kind = str(attachment.attachment.kind)
                for blob in attachment.written_blobs:
                    kinds = part_of.setdefault(blob.digest, [])
                    if kind not in kinds:
                        kinds.append(kind)
            for d in plan.attachment_blobs:  # counted from the start, not on arrival
                blobs.setdefault(d.digest, BlobRow(d.digest, d.size, d.media_type,
                                                   attachment=", ".join(part_of.get(d.digest, []))))
        elif isinstance(event, BlobStarted):
            row = blobs.setdefault(event.digest,
                                   BlobRow(event.digest, event.size, event.media_type))
            row.outcome = "copying"
        elif isinstance(event, BlobRetried):
            again = blobs.get(event.digest)
            if again is not None:
                again.done = 0
                again.outcome = "retrying"
                again.asked_wait = ""  # (the wait asked for is over: this is a new try)
                if event.counted:  # tries a resume took count too, as in the row's attempt
                    again.retries = max(again.retries + 1, event.attempt - 1)
                again.last_error = event.reason
                again.restarting = True
                again.attempt, again.attempts = event.attempt, event.attempts
            self._fresh = True  # the bytes it had are gone: no speed from them
        elif isinstance(event, BlobWaiting):
            asked = blobs.get(event.digest)
            if asked is not None:
                asked.asked_for = event.asked
                asked.wait_ends = self.clock() + event.wait
                asked.asked_wait = (f"{event.who} asked to wait {event.asked:.0f} s"
                                    + (f"; asking again in {event.wait:.0f} s"
                                       if event.wait < event.asked else ""))
            self._fresh = True  # (the quiet time is no speed)
        elif isinstance(event, BlobProgress):
            progressed = blobs.get(event.digest)
            if progressed is not None:
                progressed.done = min(event.done, progressed.size) if progressed.size \
                    else event.done
                if event.done > 0:
                    progressed.restarting = False
                    progressed.asked_wait = ""
        elif isinstance(event, BlobSkipped):
            row = blobs.setdefault(event.digest, BlobRow(event.digest, event.size, ""))
            row.done = row.size
            row.restarting = False
            row.asked_wait = ""
            row.outcome = ("mounted" if event.how == "mounted" else
                           "unneeded" if event.how == "unneeded" else "skipped")
            if event.written is not None and event.written != event.digest:
                row.written = event.written
        elif isinstance(event, BlobCutOff):
            cut = blobs.get(event.digest)
            if cut is not None:  # what an earlier attempt left stays
                cut.dropped = event.dropped and cut.dropped is not False
        elif isinstance(event, BlobDone):
            written = blobs.get(event.digest)
            if written is not None:
                written.done = written.size
                written.restarting = False
                written.asked_wait = ""
                written.outcome = "copied"
                if event.recompressed:
                    plain = media.layer_compression(event.written.media_type) == "none"
                    written.outcome = "decompressed" if plain else "recompressed"
                if event.written.digest != event.digest:
                    written.written = event.written.digest
        elif isinstance(event, Naming):
            self._naming = True
        elif isinstance(event, Finished):
            self._finished = True
            self._held = event.held
            self._wrote_attached = event.wrote_attached
            self._take_cache_notice()
        elif isinstance(event, Failed | CopyCancelled):
            if isinstance(event, Failed):
                self._error = event.message
                self._take_cache_notice()
            for row in blobs.values():
                row.restarting = False
                row.asked_wait = ""
                if row.outcome in ("copying", "retrying"):
                    row.outcome = "interrupted"

    def _take_cache_notice(self) -> None:
        """The blob location cache's notice (a broken file renamed aside), with the notes of
        the copy that met it, once: the window says it nowhere else."""
        from spyglass.core.blobcache import default_cache

        if notice := default_cache().take_notice():
            self._notes = (*self._notes, notice)

    def _speed(self, now: float, done: int) -> float:
        """Bytes a second over the last :data:`SPEED_WINDOW` seconds of bytes moving: none
        from a window that holds a blob's restart (its bytes fell back), and none over a
        quiet time (see :data:`QUIET_AFTER`)."""
        last = self._samples[-1][1] if self._samples else done
        if done < last:
            self._fresh = True
        elif done > last and self._moved is not None and now - self._moved[0] >= QUIET_AFTER:
            self._fresh = True  # what moved now may have moved in its last instant
        if self._fresh:
            self._samples = [(now, done)]
            self._fresh = done <= last  # it starts here once bytes move
            return 0.0
        self._samples.append((now, done))
        self._samples = [s for s in self._samples if now - s[0] <= SPEED_WINDOW]
        first_time, first_done = self._samples[0]
        span, moved = now - first_time, done - first_done
        return moved / span if span > 0.2 and moved >= MIN_MEASURED else 0.0

    def snapshot(self) -> Snapshot:
        with self._lock:
            self._dirty = False
            done = sum(row.done for row in self._blobs.values())
            total = sum(row.size for row in self._blobs.values())
            now = self.clock()
            speed = self._speed(now, done)
            if not self._planned:
                still = 0.0
            elif self._moved is None or done != self._moved[1]:
                self._moved = (now, done)
                still = 0.0
            else:
                still = now - self._moved[0]
            blobs = tuple(replace(r, wait_left=r.wait_ends - now if r.asked_wait else 0.0)
                          for r in self._blobs.values())
            on_manifests = self._naming
            return Snapshot(self._planned, done, total, blobs, speed, self._finished,
                            self._error, self._notes, self._attached, self._source_digest,
                            still, self._held, self._wrote_attached, on_manifests)


__all__ = [
    "COPY_TO_SHORTCUT",
    "MIME_TYPE",
    "WRITTEN_ANEW",
    "BlobRow",
    "CopyRequest",
    "DraggedImage",
    "DropPlace",
    "Openers",
    "Prepared",
    "Replaced",
    "Snapshot",
    "SourcePlatforms",
    "Tally",
    "describe_name",
    "find_replaced",
    "list_platforms",
    "looked_at_first",
    "may_replace",
    "named_now",
    "names_a_path",
    "normalize_name",
    "pasted_name",
    "place_of",
    "prepare_copy",
    "run_copy",
    "suggest_destination",
    "written_whole",
]
