"""The platform of a list's image, chosen, said in sentences: what a list offers when it
has no image for the platform asked (:func:`platform_not_found`), and the notes on an
image chosen otherwise than the platform names it (:func:`choice_notes`).

The choice itself is :func:`spyglass.core.platform.best_match` over the entries that
name a platform (:meth:`spyglass.core.manifest.ImageIndex.choose`); this module only
words it, in the front ends' shared words.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Final

from spyglass.core import media
from spyglass.core.digest import Digest
from spyglass.core.errors import PlatformNotFound
from spyglass.core.manifest import Descriptor, ImageIndex
from spyglass.core.platform import Platform, PlatformChooser, best_matches
from spyglass.core.referrers import BUILDKIT_ATTESTATION, BUILDKIT_REFERENCE_TYPE


def is_attestation(entry: Descriptor) -> bool:
    """True for BuildKit's attestation entries of a list (``unknown/unknown``, annotated
    ``vnd.docker.reference.type: attestation-manifest``): no platform's image."""
    return entry.annotations.get(BUILDKIT_REFERENCE_TYPE) == BUILDKIT_ATTESTATION


WITHOUT_PLATFORM: Final = "without a platform"
"""What an image entry of a list that names no platform is, in the words every front end
says it in: "its image without a platform", "1 image without a platform"."""


def names_platform(entry: Descriptor) -> bool:
    """True for an entry of a list that names the platform its image is for (an OS at
    least; BuildKit's attestations, ``unknown/unknown``, name none)."""
    return entry.platform is not None and bool(entry.platform.os) and \
        not is_attestation(entry)


def is_unplaced(entry: Descriptor) -> bool:
    """True for an image entry of a list that names no platform (not an attestation, an
    artifact, or a nested list): an OCI index's such image is taken for any system when
    no other entry fits, as skopeo takes it."""
    return not names_platform(entry) and not is_attestation(entry) \
        and not entry.artifact_type and entry.media_type in media.SINGLE_IMAGE_TYPES


def platform_twins(listed: Sequence[Descriptor],
                   images: Sequence[Descriptor]) -> dict[Digest, Descriptor]:
    """The images of a list that name a platform, but that their platform does not choose:
    another image is chosen for it (the same platform twice, in a list made by hand or
    built wrongly), each mapped to that other image. Such an image is chosen only by its
    digest, as one that names no platform is (:func:`is_unplaced`).

    ``listed``: the list's own entries; ``images``: its images and those of the lists
    nested in it, as :func:`~spyglass.core.image.nested_entries` gives them. The choice is
    :func:`~spyglass.core.image.choose_entry`'s: the list's own images before those of
    nested lists, of equals the first (:func:`~spyglass.core.platform.best_match`)."""
    own = [entry for entry in listed
           if names_platform(entry) and not media.is_index(entry.media_type)]
    placed = [entry for entry in images if names_platform(entry)]
    # each scope normalized once, not once an entry: a list of hundreds is not cubic
    scopes = [(scope, PlatformChooser([e.platform for e in scope if e.platform is not None]))
              for scope in (own, placed)]
    twins: dict[Digest, Descriptor] = {}
    for entry in placed:
        assert entry.platform is not None  # (names_platform)
        for scope, chooser in scopes:
            found = chooser.best_match(entry.platform)
            if found is not None:
                chosen = scope[found]
                if chosen.digest != entry.digest:
                    twins[entry.digest] = chosen
                break
    return twins


def unplaced_text(count: int) -> str:
    """``1 image without a platform``, ``2 images without a platform``."""
    return f"{count} image{'' if count == 1 else 's'} {WITHOUT_PLATFORM}"


def offered_text(platform: Platform, wanted: Platform) -> str:
    """A list's platform as a sentence names it beside ``wanted``: as written, and how it
    is taken where that differs and could pass for ``wanted``'s (``linux/arm (taken as
    linux/arm/v7)`` beside ``linux/arm/v5``)."""
    taken, asked = platform.normalized(), wanted.normalized()
    if (taken.os, taken.architecture) == (asked.os, asked.architecture) \
            and str(taken) != str(platform):
        return f"{platform} (taken as {taken})"
    return str(platform)


def offered_by(entries: Iterable[Descriptor], wanted: Platform) -> set[str]:
    """What ``entries`` offer, as :func:`offered_text` names it: the platforms of those
    that name one, attestations left out."""
    return {offered_text(entry.platform, wanted) for entry in entries
            if entry.platform is not None and entry.platform.os
            and entry.platform.architecture and not is_attestation(entry)}


def platform_not_found(index: ImageIndex, wanted: Platform, *,
                       nested: set[str] | None = None) -> PlatformNotFound:
    """The error for ``index`` having no image for ``wanted``: what it offers, or why it
    offers nothing (empty; entries without a platform; attestations only). ``nested``:
    what it and the lists nested in it offer together, when those were searched too."""
    if nested is not None:
        said = (f"The manifest list {index.digest} and the lists nested in it have no "
                f"image for {wanted}")
        if nested:
            return PlatformNotFound(f"{said}; they offer: {', '.join(sorted(nested))}.",
                                    nested)
        return PlatformNotFound(f"{said}: none of their entries names a platform.")
    said = f"The manifest list {index.digest} has no image for {wanted}"
    offered = offered_by(index.manifests, wanted)
    if offered:
        return PlatformNotFound(f"{said}; it offers: {', '.join(sorted(offered))}.", offered)
    return PlatformNotFound(f"{said}: {_why_none(index.manifests)}.")


def _why_none(entries: Collection[Descriptor]) -> str:
    """Why entries of which none offers a platform offer none."""
    attestations = sum(1 for entry in entries if is_attestation(entry))
    if not entries:
        return "it is empty"
    if attestations == len(entries):
        return f"it {holds_only_attestations(attestations)}"
    if attestations:
        return f"its {len(entries)} entries are attestations or name no platform"
    return ("its entry names no platform" if len(entries) == 1
            else f"none of its {len(entries)} entries names a platform")


def holds_only_attestations(count: int) -> str:
    """What a list whose ``count`` entries are all BuildKit attestations holds, after its
    subject ("it", "this list"), in the words every front end says it in: no image,
    since an attestation's image would be an entry of its own."""
    return ("holds only an attestation, of an image it does not hold" if count == 1
            else f"holds only {count} attestations, of images it does not hold")


def choice_notes(index: ImageIndex, wanted: Platform, entry: Descriptor, verb: str) -> list[str]:
    """What to tell of ``entry``, chosen for ``wanted`` from ``index`` (or a list nested in
    it), which is ``verb`` ("copied", "described"): taken for want of one with a platform,
    or standing in for a variant the list does not have; the first of several entries of
    ``index`` that fit as well (those of a nested list are not counted)."""
    short = entry.digest.short
    if entry.platform is None:
        return [f"the list names no image for {wanted}: its image {WITHOUT_PLATFORM}, "
                f"{short}, is {verb}, as skopeo takes it"]
    notes = []
    if not wanted.matches(entry.platform):
        notes.append(f"the list names no image for {wanted}: its image for "
                     f"{offered_text(entry.platform, wanted)}, {short}, is {verb} in its "
                     f"place (a {wanted} machine runs it)")
    tied = tied_entries(index, wanted)
    if len(tied) > 1 and tied[0] == entry:
        notes.append(f"{len(tied)} entries of the list match {wanted} equally: the first, "
                     f"{_named(entry)}, is {verb}, as skopeo takes it")
    return notes


def same_image_note(asked: Collection[Platform], entry: Descriptor, alone: bool) -> str:
    """For several platforms that chose one ``entry``: it is copied once (``alone``: so one
    image is written, not a list)."""
    names = [str(platform) for platform in asked]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    platform = f", for {entry.platform}" if entry.platform is not None else ""
    return (f"{listed} name the same image of the list, {entry.digest.short}{platform}: "
            f"it is copied once" + (", alone, not as a list" if alone else ""))


def tied_entries(index: ImageIndex, wanted: Platform) -> list[Descriptor]:
    """The entries of ``index`` that fit ``wanted`` equally well, best of all (the same
    platform twice, Windows images that differ only in ``os.version``); the first is
    the one chosen."""
    placed = [entry for entry in index.manifests if entry.platform is not None]
    return [placed[i] for i in best_matches(
        wanted, [entry.platform for entry in placed if entry.platform is not None])]


def entry_label(entry: Descriptor, index: ImageIndex | None) -> str:
    """An image entry's platform as a plan names it: with its ``os.version``, and its
    digest where another entry of ``index`` has its platform too, so that one can tell
    which was taken (``windows/amd64 (os.version 10.0.17763.1234, 4e99658530be)``)."""
    platform = entry.platform
    if platform is None:
        return ""
    extra = [f"os.version {platform.os_version}"] if platform.os_version else []
    if index is not None and sum(1 for other in index.manifests if other.platform is not None
                                 and other.platform.matches(platform)) > 1:
        extra.append(entry.digest.short)
    return f"{platform} ({', '.join(extra)})" if extra else str(platform)


def _named(entry: Descriptor) -> str:
    """An entry's short digest, with its ``os.version`` when it has one."""
    version = entry.platform.os_version if entry.platform is not None else ""
    return f"{entry.digest.short} (os.version {version})" if version else entry.digest.short
