"""The platform of a list's image, chosen, said in sentences: what a list offers when it
has no image for the platform asked (:func:`platform_not_found`), and the notes on an
image chosen otherwise than the platform names it (:func:`choice_notes`).

The choice itself is :func:`spyglass.core.platform.best_match` over the entries that
name a platform (:meth:`spyglass.core.manifest.ImageIndex.choose`); this module only
words it, in the front ends' shared words.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from spyglass.core.errors import PlatformNotFound
from spyglass.core.manifest import Descriptor, ImageIndex
from spyglass.core.platform import Platform
from spyglass.core.referrers import BUILDKIT_ATTESTATION, BUILDKIT_REFERENCE_TYPE


def is_attestation(entry: Descriptor) -> bool:
    """True for BuildKit's attestation entries of a list (``unknown/unknown``, annotated
    ``vnd.docker.reference.type: attestation-manifest``): no platform's image."""
    return entry.annotations.get(BUILDKIT_REFERENCE_TYPE) == BUILDKIT_ATTESTATION


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
        return ("its entry is an attestation, of no image it holds" if attestations == 1
                else f"its {attestations} entries are attestations, of no image it holds")
    if attestations:
        return f"its {len(entries)} entries are attestations or name no platform"
    return ("its entry names no platform" if len(entries) == 1
            else f"none of its {len(entries)} entries names a platform")


def choice_notes(index: ImageIndex, wanted: Platform, entry: Descriptor, verb: str) -> list[str]:
    """What to tell of ``entry``, chosen for ``wanted`` from ``index`` (or a list nested in
    it), which is ``verb`` ("copied", "described"): taken for want of one with a platform,
    or standing in for a variant the list does not have."""
    short = entry.digest.short
    if entry.platform is None:
        return [f"the list names no image for {wanted}: its image without a platform, "
                f"{short}, is {verb}, as skopeo takes it"]
    notes = []
    if not wanted.matches(entry.platform):
        notes.append(f"the list names no image for {wanted}: its image for "
                     f"{offered_text(entry.platform, wanted)}, {short}, is {verb} in its "
                     f"place (a {wanted} machine runs it)")
    return notes


def same_image_note(asked: Collection[Platform], entry: Descriptor, alone: bool) -> str:
    """For several platforms that chose one ``entry``: it is copied once (``alone``: so one
    image is written, not a list)."""
    names = [str(platform) for platform in asked]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}"
    platform = f", for {entry.platform}" if entry.platform is not None else ""
    return (f"{listed} name the same image of the list, {entry.digest.short}{platform}: "
            f"it is copied once" + (", alone, not as a list" if alone else ""))
