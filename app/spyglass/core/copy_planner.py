"""Planning a copy: :func:`plan_copy` reads the source's manifests and decides which
instances of a list, which blobs, which conversions (format, layer compression),
and whether the result keeps the source's digests. It raises a sentence for
anything the destination cannot hold. :func:`~spyglass.core.copy.execute` then
carries the plan out.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any, Final

from spyglass.core import media
from spyglass.core.cancel import CancelToken, linked
from spyglass.core.copy_attachments import (
    plan_attachments,
)
from spyglass.core.copy_checks import (
    check_declared_types,
    check_images_held,
    check_level,
    check_manifest_names,
    check_preserve,
    check_required_digest,
    with_docker_losses_note,
    with_foreign_note,
    with_narrowing_note,
)
from spyglass.core.copy_conversions import (
    PlainLayerChoice,
    StoredBy,
    choose_format,
    forced_format_note,
    format_name,
    format_of,
    map_type,
    plain_target,
    plan_instance,
    recompresses,
    stored_by,
)
from spyglass.core.copy_instances import (
    Ahead,
    chosen_entries,
    config_if_readable,
    entries_named,
    load_config,
    nested_manifests,
    one_image_note,
    unreadable_entry,
    with_attestations,
)
from spyglass.core.copy_plan import CopyOptions, CopyPlan, InstancePlan, replacing_note
from spyglass.core.digest import Digest, VerifyingReader
from spyglass.core.errors import (
    UNREADABLE,
    ListNotAccepted,
    SourceMoved,
    Unsupported,
)
from spyglass.core.image import load_manifest
from spyglass.core.manifest import (
    AnyManifest,
    Descriptor,
    ImageIndex,
    ImageManifest,
    Schema1Manifest,
    manifest_digest,
)
from spyglass.core.platform import host_platform
from spyglass.core.referrers import (
    buildkit_attestation_subject,
)
from spyglass.core.transports.base import (
    AttachmentSource,
    DigestedDestination,
    ImageDestination,
    ImageSource,
    ReplacingDestination,
    SkopeoKeepsSchema1,
)


def plan_copy(
    source: ImageSource,
    destination: ImageDestination,
    options: CopyOptions | None = None,
    *,
    cancel: CancelToken | None = None,
) -> CopyPlan:
    """Decide the whole copy; raise a sentence for anything that cannot be done.

    Signatures and referrers of every manifest written unchanged go along
    unless ``options.remove_signatures``. The questions planning asks the
    source (each image's manifest and config, what is attached to each
    manifest) go out together as soon as the list is known, not one round
    trip after another.
    """
    options = options or CopyOptions()
    keep_names = getattr(destination, "keep_names_of", None)
    if keep_names is not None:  # a docker-archive copied onto itself without a name
        keep_names(source)
    if options.compression in ("gzip", "zstd") and \
            destination.desired_layer_compression == "none":
        # docker-archive: layers as docker save writes them (containers/image decompresses)
        raise Unsupported(
            f"{destination.description} holds its layers uncompressed, as docker save "
            f"writes them: they cannot be {options.compression}-compressed there.",
            on_command_line=f"{destination.description} holds its layers uncompressed, as "
            "docker save writes them; leave out --dest-compress-format "
            f"{options.compression}.")
    carry = not options.remove_signatures and isinstance(source, AttachmentSource)
    needs_config = partial(recompresses, destination=destination, options=options,
                           stored=stored_by(source))
    with (
        ThreadPoolExecutor(max_workers=PLAN_THREADS, thread_name_prefix="spyglass-plan") as pool,
        linked(cancel) as lookups,  # the questions still out stop with the plan
    ):
        ahead = Ahead(pool, source, lookups, attachments=carry, needs_config=needs_config)
        try:
            plan = _plan_images(source, destination, options, cancel, ahead)
            check_level(plan, options.compression_level)
            plan = with_foreign_note(plan, destination)
            plan = with_docker_losses_note(plan)
            plan = with_narrowing_note(plan, source, destination)
            check_required_digest(plan, destination)
            check_manifest_names(plan, destination)
            check_declared_types(plan, destination)
            if isinstance(destination, ReplacingDestination) and destination.replaces:
                said = replacing_note(destination.replaces)
                plan = replace(plan, notes=(*plan.notes, said),
                               routine=(*plan.routine, said))
            if not carry:
                return replace(plan, attachments_removed=options.remove_signatures)
            kept, changed, unwritten = plan.digests_kept()
            for digest in kept + changed:  # those not asked yet (a nested list's images)
                ahead.start_attachments(digest)
            tasks, notes = plan_attachments(
                source, destination, kept, changed, unwritten, cancel=cancel,
                find=ahead.attachments, apart=options.tags_apart,
            )
        finally:
            ahead.drop()
    return replace(plan, attachments=tasks, notes=plan.notes + notes)


PLAN_THREADS: Final = 8
"""Questions in flight at once while planning."""


class _WithMade:
    """A source that also serves a blob the plan made (a converted image's config), for
    planning to read like any other."""

    def __init__(self, inner: ImageSource, made: Descriptor, data: bytes) -> None:
        self._inner = inner
        self._made = made
        self._data = data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def open_blob(self, descriptor: Descriptor, *,
                  cancel: CancelToken | None = None) -> VerifyingReader:
        if descriptor.digest == self._made.digest:
            return VerifyingReader(io.BytesIO(self._data), descriptor.digest, len(self._data),
                                   what=f"The config {descriptor.digest}", cancel=cancel)
        return self._inner.open_blob(descriptor, cancel=cancel)


def check_expected(source: ImageSource, top: AnyManifest, expected: Digest | None) -> None:
    """Refuse with :class:`SourceMoved` when ``top``, the manifest the source's name names
    now, is not the ``expected`` one (:attr:`CopyOptions.expected_digest`): hashed as that
    digest is, so that a registry's ``sha512:`` digest is not taken for another image."""
    if expected is None:
        return
    found = manifest_digest(top.raw, top.media_type, expected.algorithm)
    if found != expected:
        raise SourceMoved(source.description, found, expected)


def _schema1_note(destination: ImageDestination) -> str:
    """What a copy converting a Docker schema 1 image says: as skopeo converts it, or, where
    skopeo keeps schema 1 (:class:`SkopeoKeepsSchema1`), that its image would differ."""
    how = ("which skopeo would not do: it keeps schema 1 "
           f"{destination.skopeo_keeps_schema1}, so its digest there differs"
           if isinstance(destination, SkopeoKeepsSchema1) else "as skopeo converts it")
    return (f"the Docker schema 1 image is converted to schema 2, {how} (its layers were "
            "read once already while planning, to learn their uncompressed digests)")


def _plan_image(
    source: ImageSource,
    destination: ImageDestination,
    options: CopyOptions,
    cancel: CancelToken | None,
    ahead: Ahead,
    top: ImageManifest | Schema1Manifest,
    stored: StoredBy,
    notes: list[str],
    *,
    listed: tuple[ImageIndex, Descriptor] | None = None,
) -> CopyPlan:
    """The plan for one image: the source's, or (``listed``: the list and its entry) the
    one image of a list that is copied alone (a schema 1 one, converted as when it is
    named), the list staying the plan's top, not written, as for any image of a list
    copied alone (what is attached to it is said to stay behind)."""
    made_config: bytes | None = None
    converted_from: Digest | None = None
    if isinstance(top, Schema1Manifest):
        what = (f"The image {top.digest} of {source.description}" if listed
                else source.description)
        said = (f"{what} is a Docker schema 1 image, which Spyglass copies "
                "converted to schema 2: its digest changes")
        if options.preserve_digests:
            raise Unsupported(f"{said}.",
                              on_command_line=f"{said}; leave out --preserve-digests.")
        if isinstance(destination, DigestedDestination) and destination.required_digest:
            raise Unsupported(f"{said}, so {destination.description}, named by digest, "
                              "cannot take it; name the destination by tag.")
        from spyglass.core.schema1 import convert

        converted_from = top.digest
        converted = convert(source, top, cancel=cancel)
        top, made_config = converted.manifest, converted.config
        source = _WithMade(source, top.config, made_config)
        notes.append(_schema1_note(destination))
    forced = forced_format_note(top.media_type, destination, options)
    if forced and forced not in notes:  # (said already of the list it was chosen from)
        notes.append(forced)
    plain = PlainLayerChoice(plain_target(destination, options), ahead, notes, stored,
                             destination, cancel)
    config = load_config(source, top, ahead.needs_config, cancel)
    instance = plan_instance(top, listed[1] if listed else None, config, destination,
                             options, stored, plain.target(top))
    if made_config is not None:
        instance = replace(instance, config=replace(instance.config, data=made_config))
    routine: tuple[str, ...] = ()
    if options.platforms and not listed:
        routine = (one_image_note(config or config_if_readable(source, top, cancel),
                                  options.platforms),)
        notes.extend(routine)
    plain.note(destination)
    plan = CopyPlan(source.description, destination.description,
                    listed[0] if listed else top, (instance,), None, False, tuple(notes),
                    converted_from=converted_from, routine=routine)
    check_preserve(plan, options, destination)
    return plan


def _plan_images(
    source: ImageSource,
    destination: ImageDestination,
    options: CopyOptions,
    cancel: CancelToken | None,
    ahead: Ahead,
) -> CopyPlan:
    top = load_manifest(source, cancel=cancel)
    check_expected(source, top, options.expected_digest)
    ahead.start_attachments(top.digest)
    stored = stored_by(source)
    notes: list[str] = []
    if not isinstance(top, ImageIndex):
        return _plan_image(source, destination, options, cancel, ahead, top, stored, notes)
    forced = forced_format_note(top.media_type, destination, options)
    if forced:
        notes.append(forced)
    plain = PlainLayerChoice(plain_target(destination, options), ahead, notes, stored,
                             destination, cancel)

    # a list
    entries = list(top.manifests)
    if options.multi_arch == "index-only":
        if not destination.accepts_lists:
            raise Unsupported(f"{destination.description} cannot hold a manifest list.")
        if isinstance(destination, ReplacingDestination):
            said = (f"{destination.description} is written whole, so the list alone would "
                    "name images it does not hold; copy its images with it")
            raise Unsupported(f"{said}.", on_command_line=f"{said} (--multi-arch all).")
        target = choose_format(top.media_type, destination, options)
        if target != format_of(top.media_type):
            # its entries name the images as they are, which are not copied: a list in
            # another format would name manifests of the other format that are not there
            said = (f"The list {top.digest} is copied alone as it is, and "
                    f"{destination.description if options.format is None else 'the copy'} "
                    f"wants {format_name(target)} manifests; copy its images with it")
            raise Unsupported(f"{said}, to convert them.",
                              on_command_line=f"{said} (--all), to convert them.")
        check_images_held(top, destination, cancel)
        notes.append("only the list manifest is copied; its images must already be there")
        return CopyPlan(source.description, destination.description, top, (), top.media_type,
                        True, tuple(notes))

    if options.multi_arch == "all" and not options.platforms and not options.instances:
        chosen = entries
        if choose_format(top.media_type, destination, options) != "oci" and any(
                buildkit_attestation_subject(e) is not None for e in entries):
            # a Docker list cannot hold BuildKit's in-toto manifests: its images are
            # copied, and the attestations stay behind with a note (as when named)
            chosen = [e for e in entries if buildkit_attestation_subject(e) is None]
    else:
        wanted = list(options.platforms) or ([] if options.instances else [host_platform()])
        chosen = chosen_entries(source, top, wanted, notes, cancel)
        chosen += [entry for entry in entries_named(source, top, options.instances, cancel)
                   if entry not in chosen]
    images = [e for e in entries if buildkit_attestation_subject(e) is None]
    many = options.multi_arch == "all" or len(chosen) > 1
    attested: list[Descriptor] = []
    if chosen is not entries:
        chosen, attested = with_attestations(source, top, chosen, many, notes, cancel,
                                             choose_format(top.media_type, destination,
                                                           options))
    whole = chosen == entries
    if many and not destination.accepts_lists and images and all(
            e.artifact_type and e.platform is None for e in images):
        # no platform to choose: the advice to choose one would lead nowhere
        raise Unsupported(
            f"{destination.description} cannot hold a manifest list, and this one names no "
            "image for a platform, only artifacts; copy it to a registry, an oci: layout "
            "or an oci-archive:.")
    if many and not destination.accepts_lists and not images:
        # no image to choose: the advice to choose one would lead nowhere
        raise Unsupported(
            f"{destination.description} cannot hold a manifest list, and this one "
            f"{'is empty' if not entries else 'holds only attestations'}: it has no image "
            "to copy.")
    if many and not destination.accepts_lists:
        raise ListNotAccepted(
            f"{destination.description} cannot hold a manifest list; choose one platform."
        )
    if not many and len(chosen) == 1 and chosen[0].media_type in media.SCHEMA1_TYPES:
        # one schema 1 image of the list, copied alone: converted as when it is named
        # (the image itself, not the list, is what is written)
        child = load_manifest(source, chosen[0].digest, cancel=cancel)
        if isinstance(child, Schema1Manifest):
            return _plan_image(source, destination, options, cancel, ahead, child, stored,
                               notes, listed=(top, chosen[0]))
    extra: list[tuple[bytes, str, Digest]] = []
    instances: list[InstancePlan] = []
    nested_whole = whole and options.format is None and options.compression is None
    for entry in chosen:
        if not (media.is_index(entry.media_type) and nested_whole):
            ahead.start_image(entry.digest)
    nested_seen: set[Digest] = set()  # the manifests below nested lists, planned once
    for entry in chosen:
        if media.is_index(entry.media_type) and nested_whole:
            if entry.digest in nested_seen:
                continue
            nested_seen.add(entry.digest)
            nested = load_manifest(source, entry.digest, cancel=cancel)
            assert isinstance(nested, ImageIndex)
            for child_entry, child in nested_manifests(source, nested, cancel, seen=nested_seen):
                if isinstance(child, ImageManifest):
                    config = load_config(source, child, ahead.needs_config, cancel)
                    planned = plan_instance(child, child_entry, config, destination,
                                            options, stored)
                    if planned.changes:  # the nested list, written as it is, would dangle
                        said = (f"The list entry {entry.digest} is itself a list, whose "
                                f"image {child.digest} {destination.description} can hold "
                                "only converted; nested lists are copied only whole")
                        raise Unsupported(f"{said}, without conversion.",
                                          on_command_line=f"{said} (--all) without "
                                          "conversion.")
                    instances.append(planned)
                else:
                    extra.append((child.raw, child.media_type, child.digest))
            extra.append((nested.raw, nested.media_type, nested.digest))
            continue
        try:
            manifest, config = ahead.image(entry.digest)
        except UNREADABLE as exc:
            raise unreadable_entry(exc, entry, top, many) from exc
        instances.append(plan_instance(
            manifest, entry, config, destination, options, stored,
            # the list's own attachments count only where it would otherwise be kept
            plain.target(manifest, top if many and whole and options.format is None
                         else None),
        ))
    plain.note(destination)

    if not many:
        if options.preserve_digests and instances:
            notes.append(f"one image of the list {top.digest.short} is written as it is, "
                         f"{instances[0].source.digest}, not the list")
        plan = CopyPlan(source.description, destination.description, top, tuple(instances),
                        None, False, tuple(notes))
        check_preserve(plan, options, destination)
        return plan

    list_target = choose_format(top.media_type, destination, options)
    list_type = map_type(top.media_type, list_target)
    unchanged = whole and list_type == top.media_type and not any(
        i.changes for i in instances
    )
    if not whole:
        kept = len([e for e in chosen if buildkit_attestation_subject(e) is None])
        of = (f"{kept} image{'' if kept == 1 else 's'} (chosen from it and the lists "
              "nested in it)" if any(media.is_index(e.media_type) for e in entries)
              else f"its {kept} image{'' if kept == 1 else 's'} alone" if kept == len(images)
              else f"{kept} of its {len(images)} image{'' if len(images) == 1 else 's'}")
        notes.append(
            f"the list is rebuilt with {of}"
            + (" and their attestations" if attested else "") + "; its digest changes"
        )
    plan = CopyPlan(source.description, destination.description, top, tuple(instances),
                    list_type, unchanged, tuple(notes), tuple(extra))
    check_preserve(plan, options, destination)
    return plan


