"""An image picked up for a copy, and where it goes: the drag's type and what it carries
(:class:`DraggedImage`), the place it was dropped on (:class:`DropPlace`), Copy To…'s key.

Nothing here imports Qt. :func:`suggest_destination` turns a dragged image and the place it
was dropped on into a destination name; :func:`place_of`, a copy's destination into the
place the next copy is offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from spyglass.core.archive_names import STORAGE_SUFFIXES
from spyglass.core.digest import Digest
from spyglass.core.errors import SpyglassError
from spyglass.core.reference import (
    DockerArchiveName,
    DockerName,
    DockerReference,
    OCIArchiveName,
    OCIName,
    parse_docker_reference,
    parse_image_name,
)

MIME_TYPE: Final = "application/x-spyglass-image"
"""The drag-and-drop type of an image dragged inside the window (JSON of :class:`DraggedImage`)."""

COPY_TO_SHORTCUT: Final = "Ctrl+Shift+S"
"""Copy To…'s key (said in the empty Transfers panel too)."""

PlaceKind = Literal["registry", "repository", "oci", "dir", "oci-archive", "docker-archive",
                    "folder"]


@dataclass(frozen=True)
class DraggedImage:
    """An image picked up in the window: its name and, for one platform of a list, that one."""

    name: str
    label: str
    platform: str = ""
    digest: str = ""
    """The manifest digest of ``platform``'s image (where it is known); without a
    ``platform``, that of the image of the list dragged that no platform chooses (it names
    none, or the list has another image for the platform it names, which that platform
    chooses): copied alone, by this digest."""
    top_digest: str = ""
    """The digest of the top manifest (the image, or the list) the window showed under
    ``name``, where it showed one: the copy expects the name to name it still
    (:attr:`~spyglass.core.copy_plan.CopyOptions.expected_digest`), and refuses when
    another program moved the name since. "" for a name typed or pasted: copied by name."""

    @property
    def text(self) -> str:
        """The name other programs get (a drag's plain text): one platform of a list in a
        registry by its own digest (``docker://HOST/REPO@sha256:…``), else ``name``. (An
        ``oci:`` layout has no name for an image by digest that skopeo takes.)"""
        if self.digest:
            try:
                parsed = parse_image_name(self.name)
            except SpyglassError:
                return self.name
            if isinstance(parsed, DockerName):
                ref = parsed.reference
                return f"docker://{ref.domain}/{ref.path}@{self.digest}"
        return self.name

    @property
    def part(self) -> str:
        """What of a list is dragged, as a name suggested for its copy ends in it
        (:func:`suggest_destination`): its platform (``linux/arm64``), the short digest of
        an image that no platform chooses (``7cf297963bef``), "" for the image or list
        whole."""
        if self.platform or not self.digest:
            return self.platform
        try:
            return Digest.parse(self.digest).short
        except SpyglassError:
            return ""

    def to_json(self) -> dict[str, str]:
        data = {"name": self.name, "label": self.label, "platform": self.platform}
        if self.digest:
            data["digest"] = self.digest
        if self.top_digest:
            data["top_digest"] = self.top_digest
        return data

    @classmethod
    def from_json(cls, data: object) -> DraggedImage | None:
        if not isinstance(data, dict):
            return None
        name, label = data.get("name"), data.get("label")
        platform = data.get("platform") or ""
        digest = data.get("digest") or ""
        top_digest = data.get("top_digest") or ""
        if not isinstance(name, str) or not isinstance(label, str) or not all(
                isinstance(value, str) for value in (platform, digest, top_digest)):
            return None
        return cls(name, label, platform, digest, top_digest)


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
    return _repository_path(reference), reference.tag


def _repository_path(reference: DockerReference) -> str:
    """The repository a copy names the image after: its path, without Docker Hub's
    ``library/`` (``docker.io/library/alpine`` → ``alpine``)."""
    return reference.path.removeprefix("library/") if reference.domain == "docker.io" \
        else reference.path


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
        return _repository_path(ref), ref.tag or "latest"
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
    ``label``; ``platform``, one platform of it, or the short digest of one image of it
    without a platform: :attr:`DraggedImage.part`) dropped on ``place``.

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



__all__ = [
    "COPY_TO_SHORTCUT",
    "MIME_TYPE",
    "DraggedImage",
    "DropPlace",
    "place_of",
    "suggest_destination",
]
