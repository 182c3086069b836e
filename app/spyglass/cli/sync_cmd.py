"""``spyglass sync --src KIND --dest KIND SOURCE DESTINATION``: copy many images at once,
as skopeo sync does (see :mod:`spyglass.core.sync` for what is copied where)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Final

from spyglass.cli.common import (
    Commands,
    Offered,
    add_skopeo_only,
    note,
    positive_count_argument,
    registry_options,
)
from spyglass.cli.copy_sides import (
    SIGNING_FLAGS,
    add_copy_flags,
    add_side_flags,
    check_policy,
    sides_named,
    with_entry_keys,
    with_side_flags,
)
from spyglass.core.errors import SpyglassError

if TYPE_CHECKING:
    from collections.abc import Callable

    from spyglass.cli.progress import Reporter
    from spyglass.core.copy import CopyOptions
    from spyglass.core.copy_events import CopyEvent
    from spyglass.core.digest import Digest
    from spyglass.core.sync import SyncImage, SyncRequest, SyncSource, UnreadImage
    from spyglass.core.sync_run import ImageResult
    from spyglass.core.sync_unreachable import UnreachableHosts
    from spyglass.core.transports.registry import RegistryOptions


def add_parser(commands: Commands) -> None:
    from spyglass.core.sync_kinds import DEFAULT_PARALLEL_IMAGES, DESTINATION_KINDS, SOURCE_KINDS

    parser = commands.add_parser(
        "sync",
        help="copy every image of a repository, a dir: folder or a yaml list",
        description="Copy all the images of SOURCE to DESTINATION, as skopeo sync does. "
        "SOURCE: with --src docker, REGISTRY/REPOSITORY (every tag) or "
        "REGISTRY/REPOSITORY:TAG; with --src dir, a folder of dir: images; with --src "
        "yaml, a file of registries and their images. DESTINATION: with --dest docker, "
        "REGISTRY[/NAMESPACE]; with --dest dir, a folder. Each image is named after its "
        "source's last part (repo:tag), or its whole name with --scoped. One line per "
        "image and a summary go to stdout, progress to stderr.",
        epilog="Unlike skopeo sync, a repository of a yaml SOURCE that cannot be listed "
        "(gone from its registry, or not readable with the credentials given) fails the "
        "sync: without --keep-going it stops there, with it the other sources are synced, "
        "and the exit status is 1 either way (skopeo logs it, skips it and exits 0).",
    )
    parser.add_argument("source", metavar="SOURCE")
    parser.add_argument("destination", metavar="DESTINATION")
    parser.add_argument("--src", "-s", required=True, metavar="KIND",
                        choices=Offered(SOURCE_KINDS),
                        help=f"the kind of SOURCE: {', '.join(SOURCE_KINDS)}")
    parser.add_argument("--dest", "-d", required=True, metavar="KIND",
                        choices=Offered(DESTINATION_KINDS),
                        help=f"the kind of DESTINATION: {', '.join(DESTINATION_KINDS)}")
    parser.add_argument("--all", "-a", action="store_true",
                        help="copy every image of a list (default: this system's)")
    parser.add_argument("--scoped", action="store_true",
                        help="name each image after its whole source name, registry "
                        "included, under DESTINATION")
    parser.add_argument("--dry-run", action="store_true",
                        help="say what would be copied where, and copy nothing")
    parser.add_argument("--keep-going", action="store_true",
                        help="go on after an image fails (exit status 1 at the end)")
    parser.add_argument("--parallel-images", type=positive_count_argument,
                        default=DEFAULT_PARALLEL_IMAGES, metavar="N",
                        help=f"images copied at once (default {DEFAULT_PARALLEL_IMAGES})")
    add_copy_flags(parser, parallel="blob transfers at once for each image (default 8)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress on stderr (the lines of what was copied stay)")
    add_side_flags(parser)
    add_skopeo_only(parser, *SIGNING_FLAGS)
    from spyglass.cli.common import RefusedFlag

    for flag in ("--append-suffix", "--digestfile"):  # (not skopeo 1.9's: no "it does")
        parser.add_argument(flag, action=RefusedFlag, said=_NEWER)
    from spyglass.cli.common import add_override_flags

    add_override_flags(parser.add_argument_group("skopeo's global flags"), here=True,
                       platform_note="")  # (sync has no --platform)
    # (no --platform of its own: skopeo's override flags choose the image of a list,
    # as they do for copy, by setting it)
    parser.set_defaults(func=run, registry_sides=_sides_of, platform=[])
    parser.elsewhere = lambda flag: _copy_takes(commands, flag)


def _copy_takes(commands: Commands, flag: str) -> str | None:
    """For a flag sync does not take that copy does (``--dest-compress-format``): so."""
    from spyglass.cli.common import RefusedFlag

    copy = commands.choices.get("copy")
    action = None if copy is None else copy._option_string_actions.get(flag)
    if action is None or isinstance(action, RefusedFlag):
        return None
    return "spyglass copy takes it, for one image at a time"


def _sides_of(args: argparse.Namespace, sentence: str) -> list[str]:
    """The sides an error is about (sync's :data:`~spyglass.cli.SidesOf`): those the
    failed copy's own sentence named, as copy tells them; before any copy, the source
    (its listing)."""
    failed: list[str] | None = getattr(args, "failed_sides", None)
    return ["src"] if failed is None else failed


_NEWER: Final = ("{flag} is a newer skopeo's sync flag, which Spyglass's sync does not "
                 "take yet; leave it out")


def _request(args: argparse.Namespace) -> SyncRequest:
    from spyglass.core.sync import SyncRequest, check_kinds

    check_kinds(args.src, args.dest)
    source = None
    if args.src == "docker":
        source = registry_options(args, None, "src")
    else:
        from spyglass.cli.common import check_credential_flags

        check_credential_flags(args, "src")
        if args.src == "yaml":  # each entry's registry: the command line's, refined
            source = registry_options(args, None, "src")
    if args.dest != "docker":
        from spyglass.cli.common import check_credential_flags

        check_credential_flags(args, "dest")
        _check_dest_folder(args.destination)
    return SyncRequest(args.src, args.source, args.dest, args.destination, scoped=args.scoped,
                       registry=source)


def _check_dest_folder(destination: str) -> None:
    """Refuse a ``--dest dir`` DESTINATION that is there but no folder once, before
    anything is listed (each image's copy would fail on it, one after another)."""
    from pathlib import Path

    from spyglass.core.text import visible

    path = Path(destination)
    if path.exists() and not path.is_dir():
        raise SpyglassError(f'The sync destination "{visible(destination)}" is a file, not a '
                            "folder; expected the folder the images go into (it is made "
                            "where it is missing).")


def _options(args: argparse.Namespace) -> CopyOptions:
    from spyglass.core.copy import DEFAULT_PARALLEL, CopyOptions
    from spyglass.core.platform import Platform

    return CopyOptions(
        platforms=tuple(Platform.parse(p, as_written=True) for p in args.platform),
        multi_arch="all" if args.all else "system",
        format=args.format,
        preserve_digests=args.preserve_digests,
        parallel=args.parallel if args.parallel is not None else DEFAULT_PARALLEL,
        remove_signatures=args.remove_signatures,
        retry_times=max(0, args.retry_times),
        force_recursive=args.force_recursive,
    )


def run(args: argparse.Namespace) -> int:
    from spyglass.cli.notes import retries_unsaid_if

    with retries_unsaid_if(args.quiet):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from spyglass.core.sync import (
        list_sources,
        once,
        registry_tags,
        source_digests,
        with_tags_apart,
    )

    request = _request(args)
    options = _options(args)
    destination = registry_options(args, None, "dest") if args.dest == "docker" else None
    from spyglass.core.sync_unreachable import UnreachableHosts

    unreachable = UnreachableHosts()  # (one registry down is waited for once in the run)
    sources = list_sources(request, registry_tags(unreachable=unreachable),
                           source_digests())
    # (an image listed again, by a tag or under images and images-by-tag-regex: once)
    images = once([image for source in sources for image in source.images])
    attached = once([image for source in sources for image in source.attached])
    if attached and args.remove_signatures:
        _note(f"{_tags(len(attached))} of signatures and referrers ("
              f"{', '.join(_tag_of(image) for image in attached)}) "
              f"{'is' if len(attached) == 1 else 'are'} left out, as --remove-signatures "
              "asks.")
        attached = []
    if attached and args.dest == "dir":
        # a dir: image keeps no referrers, and cosign's signatures only as signature-N
        # files skopeo cannot push back: each tag is an image of its own folder, whole, as
        # skopeo sync writes it; the copies from their repository leave them to it (not
        # those from another holding the same digest: what is attached is under its own)
        images = with_tags_apart(images + [replace(image, whole=True) for image in attached],
                                 attached)
        attached = []
    check_policy(args, *(image.source for image in images + attached))
    for source in sources:
        if source.note is not None:
            _note(source.note)
        if source.empty is not None:
            _note(f"{source.empty} It is passed over.")
    listed = [source for source in sources if source.error is None and source.empty is None]
    unlisted = [source for source in sources if source.error is not None]
    for source in unlisted:
        assert source.error is not None
        if not args.keep_going:
            if len(sources) > 1:  # (--keep-going changes nothing for one)
                args.closing = " Stopped there: --keep-going goes on with the other sources."
            raise _listing_failed(source)
        note(with_side_flags(_said(_listing_failed(source)), ["src"]))
    # (an image sharing its name with another that could not be read to tell them apart:
    # not copied, failed as a source that cannot be listed fails, before any copy)
    unread = [each for source in sources for each in source.unread]
    for each in unread:
        if not args.keep_going:
            args.closing = " Stopped there: --keep-going goes on with the other images."
            raise _reading_failed(each)
        note(with_side_flags(_said(_reading_failed(each)), ["src"]))
    if args.dry_run:
        unchanged = _unchanged(args, images, options, destination)
        for image, digest in zip(images, unchanged, strict=True):
            # as the sync would say it: a name that names the very image is left as it is
            _write(f"Unchanged {image.source} → {image.destination} ({digest})"
                   if digest is not None else
                   f"Would copy {image.source} → {image.destination}")
        for image in attached:
            assert image.attached_to is not None
            _write(f"Would carry {image.source} → {image.destination} along with the image "
                   f"{image.attached_to.short} (or copy it whole, if that image is not synced)")
        held = sum(digest is not None for digest in unchanged)
        _write(f"Would sync {len(images)} images from {len(listed)} sources"
               + (f", {len(unlisted)} not listed" if unlisted else "")
               + (f", {len(unread)} not read" if unread else "")
               + (f", {held} of them unchanged" if held else "")
               + (f", with {_tags(len(attached))} of what is attached to them" if attached
                  else ""))
        return 1 if unlisted or unread else 0
    from spyglass.cli.progress import Reporter

    reporter = Reporter(sys.stderr, quiet=args.quiet, several=True)
    left_over: list[SyncImage] = []
    weighed = False  # (whether what the images carried along was looked at)
    told: list[ImageResult] = []
    try:
        results = _copy(args, images, options, destination, reporter, told, unreachable)
        if attached and (args.keep_going or all(r.error is None for r in results)):
            # what no synced image carried along (its subject is not a tag here, or its
            # copy failed): copied as it is, whole, so that nothing the source has is lost
            covered = {digest for result in results for digest in result.covered}
            left_over = [image for image in attached if image.attached_to not in covered]
            weighed = True
            if left_over:  # (the copies of their subjects said those are not carried)
                one = len(left_over) == 1
                _note(f"{_tags(len(left_over))} of signatures and referrers ("
                      f"{', '.join(_tag_of(image) for image in left_over)}) "
                      f"{'is' if one else 'are'} copied on {'its' if one else 'their'} own, "
                      f"whole: no image this sync copied as it is carried "
                      f"{'it' if one else 'them'} along.")
            results += _copy(args, left_over, replace(options, multi_arch="all"),
                             destination, reporter, told, unreachable)
    except KeyboardInterrupt:  # (Ctrl+C, SIGTERM): what is in place is said, then that
        from spyglass.core.sync_run import held_while_telling

        try:
            # each image in place has its line (see run_sync); a further interrupt (one
            # who saw nothing happen presses again) does not cut this one short
            with held_while_telling():
                reporter.close()
                synced = sum(1 for result in told if result.error is None)
                left = len(images) + len(left_over) - len(told)
                _write(f"Synced {synced} images from {len(listed)} sources, then "
                       "interrupted" + (f"; {left} not copied" if left > 0 else ""))
        except KeyboardInterrupt:
            pass  # (the first is what ends the program)
        raise
    finally:
        reporter.close()
    copied = [result for result in results if result.error is None]
    failed = [result for result in results if result.error is not None]
    summary = f"Synced {len(copied)} images from {len(listed)} sources"
    if (held := sum(1 for result in copied if result.unchanged)):
        summary += f", {held} of them unchanged"  # (as the dry run's summary counts them)
    if failed or unlisted or unread:
        summary += f", {len(failed) + len(unlisted) + len(unread)} failed"
    carried = len(attached) - len(left_over) if weighed else 0
    if carried:
        summary += f"; {_tags(carried)} of what is attached to them carried along"
    if failed and not args.keep_going:
        # (what is attached and copied on its own has its results too, as at an interrupt)
        left = len(images) + len(left_over) - len(results)
        _write(summary + (f"; {left} not copied" if left > 0 else ""))
        stopped = failed[0]
        assert stopped.error is not None
        error = stopped.error
        # (the sides its own sentence names: the one said names both images)
        args.failed_sides = sides_named(_said(error), stopped.image.source,
                                        stopped.image.destination)
        error.on_command_line = with_side_flags(
            with_entry_keys(_said(error), args.failed_sides, stopped.image.entry),
            args.failed_sides)
        if len(images) + len(attached) > 1:  # (--keep-going changes nothing for one)
            args.closing = " Stopped there: --keep-going goes on with the other images."
        raise _about(error, _copying(stopped.image) + " failed")
    _write(summary)
    return 1 if failed or unlisted or unread else 0


def _unchanged(args: argparse.Namespace, images: list[SyncImage], options: CopyOptions,
               destination: RegistryOptions | None) -> list[Digest | None]:
    """For ``--dry-run``: the digest of each image a registry destination's name holds
    already, as the sync would leave it ("Unchanged"); None for one it would copy. A
    destination that cannot be asked is a note, and each image "would copy"."""
    from spyglass.core.sync_run import unchanged_digests

    found, failed = unchanged_digests(images, options, destination,
                                      parallel_images=args.parallel_images)
    if failed is not None:
        _note("Which images the destination has already cannot be told, so each is said "
              f"to be copied: {with_side_flags(_said(failed), ['dest'])}")
    return found


def _tags(count: int) -> str:
    return f"{count} tag{'' if count == 1 else 's'}"


def _tag_of(image: SyncImage) -> str:
    from spyglass.core.reference import DockerName

    name = image.source
    return name.reference.tag or str(name) if isinstance(name, DockerName) else str(name)


def _copy(args: argparse.Namespace, images: list[SyncImage], options: CopyOptions,
          destination: RegistryOptions | None, reporter: Reporter,
          said: list[ImageResult], unreachable: UnreachableHosts) -> list[ImageResult]:
    """Copy ``images``: a line for each as it ends, each also put in ``said``."""
    from spyglass.core.sync_run import run_sync

    def told(result: ImageResult) -> None:
        said.append(result)
        if result.error is not None:
            _platform_advice(args, result.error)
        if result.error is None:
            done = "Unchanged" if result.unchanged else "Copied"
            moved = f"; it named {result.before} before" if result.before else ""
            reporter.result(f"{done} {result.image.source} → {result.image.destination} "
                            f"({result.digest}){moved}")
        elif args.keep_going:
            from spyglass.cli import terminal_safe

            sides = sides_named(_said(result.error), result.image.source,
                                result.image.destination)
            hinted = with_side_flags(
                with_entry_keys(_said(result.error), sides, result.image.entry), sides)
            reporter.warn(terminal_safe(f"spyglass: {_copying(result.image)} failed: "
                                        f"{hinted}"))

    from spyglass.core.sync_run import lane_of

    # several copied at once: each progress line names its image (one at a time, as copy)
    at_once = min(args.parallel_images, len({lane_of(image) for image in images})) > 1

    def events_for(image: SyncImage) -> Callable[[CopyEvent], None]:
        report = reporter.for_image(str(image.source), _short(image) if at_once else None)
        return _without_routine_notes(report) if args.quiet else report

    return run_sync(images, options, destination, parallel_images=args.parallel_images,
                    keep_going=args.keep_going, events_for=events_for, on_result=told,
                    unreachable=unreachable)


def _without_routine_notes(report: Callable[[CopyEvent], None]
                           ) -> Callable[[CopyEvent], None]:
    """``report`` without the plan's notes of what a copy does to any image alike (its
    ``routine``: a ``dir:`` image there already will be replaced, the platform asked of
    an image that is no list): ``-q``, where a re-run of a mirror into folders said it
    of every image, a thousand lines."""
    from spyglass.core.copy_events import Planned

    def reported(event: CopyEvent) -> None:
        if isinstance(event, Planned) and event.plan.routine:
            event = replace(event, plan=replace(event.plan, notes=tuple(
                note for note in event.plan.notes if note not in event.plan.routine)))
        report(event)

    return reported


def _platform_advice(args: argparse.Namespace, error: SpyglassError) -> None:
    """A list without an image for the platform asked: its advice names sync's own way to
    choose one (sync has no --platform), and is left out where the flags chose it."""
    from spyglass.core.errors import PlatformNotFound

    if isinstance(error, PlatformNotFound) and error.on_command_line:
        error.on_command_line = None if args.platform else (
            f"{error.message} Choose one with --override-os, --override-arch and "
            "--override-variant, or give --all for every image of the list.")


def _short(image: SyncImage) -> str:
    """An image's short name on its progress lines: its name's last part (``app:1.0``,
    ``app@sha256:1a2b3c4d5e6f``)."""
    import posixpath

    from spyglass.core.reference import DirName, DockerName

    name = image.source
    if isinstance(name, DockerName):
        reference = name.reference
        last = posixpath.basename(reference.path)
        if reference.tag is not None:
            return f"{last}:{reference.tag}"
        return f"{last}@{reference.digest.algorithm}:{reference.digest.hex[:12]}" if (
            reference.digest is not None) else last
    return name.path.name if isinstance(name, DirName) else str(name)


def _copying(image: SyncImage) -> str:
    return f"Copying {image.source} to {image.destination}"


def _listing_failed(source: SyncSource) -> SpyglassError:
    """The error of a source whose images could not be listed, as one sentence naming it:
    the registry's own (``Listing the tags of REPOSITORY failed: …``) where it names the
    source already, else that sentence after what failed."""
    error = source.error
    assert error is not None
    # (a yaml entry's TLS settings win over the flags: the entry is what to change)
    keyed = with_entry_keys(_said(error), ["src"], source.entry)
    if keyed != _said(error):
        error.on_command_line = keyed
    if source.label in _said(error):
        return error
    return _about(error, f"Listing the tags of {source.label} failed")


def _reading_failed(unread: UnreadImage) -> SpyglassError:
    """The error of an image that could not be read to tell it from another given the same
    name, as one sentence naming both, after the lookup's own (which names the image it
    looked up and why it failed)."""
    error, image = unread.error, unread.image
    keyed = with_entry_keys(_said(error), ["src"], image.entry)
    if keyed != _said(error):
        error.on_command_line = keyed
    return _about(error, f"Not syncing {image.source}, as it could not be compared with "
                  f"{unread.other}, which would be synced to the same name "
                  f"{image.destination}")


def _said(error: SpyglassError) -> str:
    return error.on_command_line or error.message


def _about(error: SpyglassError, doing: str) -> SpyglassError:
    """``error`` (its kind kept, for the advice the command line adds) saying what failed."""
    said = _said(error)
    error.message = f"{doing}: {error.message}"
    error.on_command_line = f"{doing}: {said}"
    refusal = getattr(error, "refusal", None)
    if refusal:  # (the sentence without its advice, said with an auth file's instead)
        error.refusal = f"{doing}: {refusal}"  # type: ignore[attr-defined]
    return error


def _note(text: str) -> None:
    """``Note: TEXT`` on stderr, as the copies' notes are (not silenced by ``-q``): what
    the sync passes over, and goes on."""
    from spyglass.cli import terminal_safe

    if sys.stderr is None:
        return
    try:
        print(f"Note: {terminal_safe(text)}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass  # (telling never fails the sync)


def _write(line: str) -> None:
    from spyglass.cli.common import write_text

    write_text(line + "\n")

