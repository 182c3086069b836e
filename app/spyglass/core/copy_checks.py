"""The refusals and notes a copy plan gets once its images are planned: digests
to preserve, a destination named by digest, a compression level out of range, a
list copied alone whose images are missing, foreign layers left where their
urls point, what Docker schema 2 cannot hold, a Docker schema 2 manifest without its
mediaType for a registry, and a list copied onto itself as fewer images.
"""

from __future__ import annotations

from dataclasses import replace

from spyglass.core import gojson, media
from spyglass.core.cancel import CancelToken
from spyglass.core.copy_conversions import format_name, format_of
from spyglass.core.copy_plan import (
    COMPRESSION_LEVELS,
    DEFAULT_LEVELS,
    DEFAULTS_MEAN,
    CopyOptions,
    CopyPlan,
)
from spyglass.core.errors import (
    SpyglassError,
    Unsupported,
)
from spyglass.core.manifest import (
    Descriptor,
    ImageIndex,
    ImageManifest,
)
from spyglass.core.transports.base import (
    CanonicalDigests,
    DigestedDestination,
    ImageDestination,
    ImageSource,
    ManifestHolder,
)


def check_level(plan: CopyPlan, level: int | None) -> None:
    """Refuse a compression ``level`` out of range for a compression ``plan`` compresses
    layers with; a level nothing is compressed with goes unused, as in skopeo (a ``dir:``
    destination, layers copied as they are, decompressed ones)."""
    if level is None:
        return
    used = {task.recompress for task in plan.blobs}
    for algorithm in sorted(a for a in used if a is not None and a != "none"):
        low, high = COMPRESSION_LEVELS[algorithm]
        default = DEFAULT_LEVELS[algorithm]
        if low <= level <= high or level == default:
            continue
        takes = f"takes {low} to {high} ({default}: its default, {DEFAULTS_MEAN[algorithm]})"
        raise SpyglassError(
            f"The compression level {level} is out of range for {algorithm}, which {takes}.",
            on_command_line=f"--dest-compress-level {level} is out of range for "
            f"{algorithm}, which this copy compresses layers with: {algorithm} {takes}.")



def check_images_held(top: ImageIndex, destination: ImageDestination,
                      cancel: CancelToken | None) -> None:
    """A list copied alone must not name images its destination does not hold (where
    the destination can tell)."""
    if not isinstance(destination, ManifestHolder):
        return
    missing = [entry for entry in top.manifests
               if destination.holds_manifest(entry, cancel=cancel) is False]
    if not missing:
        return
    shown = ", ".join(str(entry.digest) for entry in missing[:3])
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    kinds = {_entry_kind(entry) for entry in missing}
    kind = kinds.pop() if len(kinds) == 1 else "manifest"
    said = (f"{destination.description} does not hold "
            f"{f'the {kind}' if len(missing) == 1 else f'{len(missing)} of the {kind}s'} "
            f"the list {top.digest} names ({shown}{more}), and index-only copies the list "
            f"alone; copy {'its images' if kind == 'image' else 'what it names'} with it")
    raise Unsupported(f"{said}.", on_command_line=f"{said} (--multi-arch all).")


def _entry_kind(entry: Descriptor) -> str:
    """What a list entry names, in a sentence: an image, an inner list, or a manifest
    (an artifact, another kind, or one whose kind the entry does not say)."""
    if entry.media_type in media.IMAGE_MANIFEST_TYPES and not entry.artifact_type:
        return "image"
    return "inner list" if entry.media_type in media.INDEX_TYPES else "manifest"



def with_narrowing_note(plan: CopyPlan, source: ImageSource,
                        destination: ImageDestination) -> CopyPlan:
    """A list copied onto itself as fewer images than it has (this system's, or those
    of --platform) loses the others there: the plan says so, before it happens."""
    top = plan.top
    if not isinstance(top, ImageIndex) or source.description != destination.description:
        return plan
    images = [entry for entry in top.manifests if entry.media_type in media.IMAGE_MANIFEST_TYPES]
    if plan.list_media_type is not None and (
            not plan.instances or len(plan.instances) >= len(images)):
        return plan  # the list written (index-only: as it is), every image kept
    if len(plan.instances) >= len(images):
        return plan  # a list of one image, written as that image: nothing else lost
    kept = ", ".join(str(i.entry.platform) for i in plan.instances
                     if i.entry is not None and i.entry.platform) or "one image"
    lost = len(images) - len(plan.instances)
    others = "its other image is" if lost == 1 else f"its {lost} other images are"
    return replace(plan, notes=(*plan.notes, (
        f"{destination.description} is the list being copied: it is replaced by {kept} "
        f"alone, and {others} no longer named there; copy with --all to keep the list "
        "whole")))


def with_foreign_note(plan: CopyPlan, destination: ImageDestination) -> CopyPlan:
    """The plan, noting the foreign layers left where their urls point (they are not
    among the blobs copied, so the copy's tally would not show them)."""
    external = {task.source.digest for instance in plan.instances
                for task in instance.layers if task.external}
    if not external:
        return plan
    layers = "1 foreign layer stays" if len(external) == 1 else \
        f"{len(external)} foreign layers stay"
    note = (f"{layers} where {'its' if len(external) == 1 else 'their'} urls point: "
            f"{destination.description} refers to {'it' if len(external) == 1 else 'them'} "
            "there, as skopeo leaves them")
    return replace(plan, notes=(*plan.notes, note))


def with_docker_losses_note(plan: CopyPlan) -> CopyPlan:
    """The plan, noting what the manifests it writes as Docker schema 2 (a
    ``docker-archive:``, ``--format v2s2``) leave out because that format has no place
    for it: annotations, ``artifactType``, ``subject`` and descriptors' inline ``data``
    (skopeo leaves them out without a word). Only manifests written anew lose them; one
    written as it is keeps its bytes."""
    docker = [instance for instance in plan.instances
              if instance.changes and format_of(instance.media_type) == "v2s2"]
    manifests: list[ImageManifest | ImageIndex] = [instance.source for instance in docker]
    configs = [instance.config.source for instance in docker]
    layers = [task.source for instance in docker for task in instance.layers]
    entries: list[Descriptor] = []
    if (isinstance(plan.top, ImageIndex) and plan.list_media_type is not None
            and not plan.list_is_source and format_of(plan.list_media_type) == "v2s2"):
        manifests.append(plan.top)
        entries = [i.entry for i in plan.instances if i.entry is not None]
    lost = _lost_parts(manifests, configs, layers, entries)
    if not lost:
        return plan
    said = lost[0] if len(lost) == 1 else f"{', '.join(lost[:-1])} and {lost[-1]}"
    return replace(plan, notes=(
        *plan.notes, f"the copy leaves out what Docker schema 2 has no place for: {said}"))


def _lost_parts(manifests: list[ImageManifest | ImageIndex], configs: list[Descriptor],
                layers: list[Descriptor], entries: list[Descriptor]) -> list[str]:
    """What ``manifests`` written as Docker schema 2 lose, with the descriptors of their
    ``configs``, ``layers`` and list ``entries``, in words."""
    parts: list[str] = []
    annotated = [m for m in manifests if m.annotations]
    if len(annotated) == 1:
        kind = "list" if isinstance(annotated[0], ImageIndex) else "manifest"
        parts.append(f"the {_count(len(annotated[0].annotations), 'annotation')} of the "
                     f"{kind}")
    elif annotated:
        parts.append(f"the annotations of {len(annotated)} manifests")
    for what, descriptors in (("config", configs), ("layer", layers),
                              ("list entry", entries)):
        marked = len([d for d in descriptors if d.annotations])
        if marked:
            parts.append(f"the annotations of {_count(marked, what)}")
    typed = len([m for m in manifests if m.artifact_type]) + \
        len([d for d in (*configs, *layers, *entries) if d.artifact_type])
    if typed:
        parts.append("its artifactType" if typed == 1 else f"{typed} artifactTypes")
    subjects = [m.subject.digest for m in manifests if m.subject is not None]
    if subjects:
        parts.append(f"its subject {subjects[0]}" if len(subjects) == 1
                     else f"{len(subjects)} subjects")
    inline = len([d for d in (*configs, *layers, *entries) if "data" in d.extra])
    if inline:
        parts.append(f"the inline data of {_count(inline, 'descriptor')}")
    return parts


def _count(number: int, one: str) -> str:
    many = one[:-1] + "ies" if one.endswith("y") else one + "s"
    return f"{number} {one if number == 1 else many}"


def check_required_digest(plan: CopyPlan, destination: ImageDestination) -> None:
    """A destination named by digest takes that image only, unchanged: refuse anything
    else now, rather than once the blobs have moved (as skopeo does)."""
    if not isinstance(destination, DigestedDestination):
        return
    required = destination.required_digest
    if required is None:
        return
    if any(i.changes for i in plan.instances) or (
        plan.list_media_type is not None and not plan.list_is_source
    ):
        raise Unsupported(
            f"{destination.description} is named by digest, so the image must arrive "
            "unchanged, but this copy changes its manifest (a format or compression "
            "conversion, or a rebuilt list); name the destination by tag instead."
        )
    written = plan.top.digest if plan.list_media_type is not None else (
        plan.instances[0].source.digest if plan.instances else plan.top.digest
    )
    if written != required:
        said = (f"{destination.description} asks for the image {required}, but the image "
                f"copied is {written}; a destination named by digest takes only that image.")
        if required != plan.top.digest:
            raise Unsupported(said)
        whole = " It is the digest of the whole list, which a copy of all its images writes"
        raise Unsupported(f"{said}{whole}.", on_command_line=f"{said}{whole}: give --all.")


def check_manifest_names(plan: CopyPlan, destination: ImageDestination) -> None:
    """A list whose images are named by digests of another algorithm than the
    destination names manifests by (sha512 entries, to a registry) cannot be stored
    there as it is: refuse before anything moves. (An image alone is stored under the
    name the destination gives it.)"""
    if not isinstance(destination, CanonicalDigests) or plan.list_media_type is None:
        return
    algorithm = destination.manifest_digest_algorithm
    named = [instance.source.digest for instance in plan.instances if not instance.changes]
    named += [digest for _raw, _type, digest in plan.extra_manifests]
    other = next((digest for digest in named if digest.algorithm != algorithm), None)
    if other is None:
        return
    said = (f"The list {plan.top.digest} names its images by {other.algorithm} digests "
            f"({other}), and {destination.description} stores a manifest only under its "
            f"{algorithm} digest (distribution answers DIGEST_INVALID to any other): the "
            "list cannot be stored there as it is, and nothing was copied. Copy one of its "
            "images")
    rest = (f", or the list into an OCI layout or archive, which keep {other.algorithm} "
            "names.")
    raise Unsupported(said + rest, on_command_line=f"{said} (--platform){rest}")


def check_declared_types(plan: CopyPlan, destination: ImageDestination) -> None:
    """A Docker schema 2 manifest written unchanged to a registry must declare its
    ``mediaType`` (distribution answers MANIFEST_INVALID to one that does not, which
    Docker's own spec requires; skopeo refuses to read it): refuse before any blob
    moves, saying why, rather than after every layer is uploaded."""
    if not isinstance(destination, CanonicalDigests):
        return
    for instance in plan.instances:
        source = instance.source
        if instance.changes or source.media_type != media.DOCKER_V2S2:
            continue
        try:
            declared = gojson.loads(source.raw).get("mediaType")
        except ValueError:
            continue
        if declared:
            continue
        said = (f"The Docker schema 2 manifest {source.digest} declares no mediaType, which "
                f"a registry requires of one ({destination.description} would answer "
                "MANIFEST_INVALID); nothing was copied. Copy it as OCI, whose manifest "
                "is written with its mediaType")
        raise Unsupported(f"{said}, or into an OCI layout or a dir: folder as it is.",
                          on_command_line=f"{said} (--format oci), or into an OCI layout "
                          "or a dir: folder as it is.")


def check_preserve(
    plan: CopyPlan, options: CopyOptions, destination: ImageDestination
) -> None:
    if not options.preserve_digests:
        return
    changed = [i for i in plan.instances if i.changes]
    rebuilt = plan.list_media_type is not None and not plan.list_is_source
    if not changed and not rebuilt:
        return
    reasons: list[str] = []
    flag_reason = ""  # the first reason in the command line's words, when it names a flag
    converted = [i for i in changed if format_of(i.media_type) != format_of(i.source.media_type)]
    if converted:
        source_format = format_name(format_of(converted[0].source.media_type))
        target_format = format_name(format_of(converted[0].media_type))
        if options.format is not None:
            reasons.append(f"the {source_format} manifests would be converted to "
                           f"{target_format}")
            flag_reason = f"--format {options.format} converts the {source_format} manifests"
        elif options.compression == "zstd" and target_format == "OCI":
            reasons.append(f"zstd layers need OCI manifests, so the {source_format} ones "
                           "would be converted")
        else:
            reasons.append(f"{destination.description} stores only {target_format} "
                           f"manifests, so the {source_format} ones would be converted")
    if any(t.recompress is not None for i in changed for t in i.layers):
        reasons.append("layers would be recompressed")
    if rebuilt and isinstance(plan.top, ImageIndex) \
            and len(plan.instances) < len(plan.top.manifests):
        reasons.append("the list would be rebuilt with fewer images")
    why = "; ".join(reasons) or "the manifests would be written anew"
    flag_why = "; ".join([flag_reason, *reasons[1:]]) if flag_reason else why
    raise Unsupported(
        f"The copy would change digests ({why}), which preserving digests forbids.",
        on_command_line=f"The copy would change digests ({flag_why}), which "
        "--preserve-digests forbids.",
    )


