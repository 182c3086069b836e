"""``spyglass copy SRC DST``: copy an image between any two places, as skopeo copy does."""

from __future__ import annotations

import argparse
import errno
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from spyglass.cli.common import (
    Commands,
    GoBool,
    RefusedFlag,
    StringSlice,
    add_skopeo_only,
    note,
    optional_path,
    platform_argument,
    refusing,
    resolve_name,
    write_text,
)
from spyglass.cli.copy_sides import (
    SIGNING_FLAGS,
    add_copy_flags,
    add_side_flags,
    check_policy,
    side_hints,
    side_registry_options,
    sides_named,
)
from spyglass.core.errors import (
    AuthenticationFailed,
    ListNotAccepted,
    SpyglassError,
    TLSFailed,
    TransportError,
)

if TYPE_CHECKING:
    from spyglass.core.copy import CopyOptions, PlainLayers
    from spyglass.core.copy_events import Finished
    from spyglass.core.digest import Digest
    from spyglass.core.reference import ImageName


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser(
        "copy",
        help="copy an image from SOURCE to DESTINATION",
        description="Copy an image between registries, layouts, dir: folders and archives. "
        "Names as for inspect; progress goes to stderr.",
    )
    parser.add_argument("source", metavar="SOURCE")
    parser.add_argument("destination", metavar="DESTINATION")
    parser.add_argument("--all", "-a", action="store_true",
                        help="copy every image of a list (same as --multi-arch all)")
    parser.add_argument("--platform", action="append", default=[], metavar="OS/ARCH[/VARIANT]",
                        type=platform_argument,
                        help="copy this instance of a list (repeat for several)")
    parser.add_argument("--multi-arch", choices=("system", "all", "index-only"),
                        default=None, help="which images of a list to copy (default system)")
    parser.add_argument("--dest-compress-format", choices=("gzip", "zstd", "none"),
                        type=refusing(_ZSTD_CHUNKED),
                        help="recompress layers to this format (default: as they are, "
                        "but uncompressed ones are gzipped for a registry or an OCI layout "
                        "or archive, as skopeo does)")
    parser.add_argument("--dest-compress-level", type=int, metavar="N",
                        help="the compression level of layers compressed: gzip 0-9 (0 "
                        "stores them uncompressed; -1: its default, 6), zstd 1-22 (0: its "
                        "default, 3)")
    parser.add_argument("--additional-tag", action=StringSlice, metavar="NAME:TAG",
                        help="also name the image NAME:TAG in a docker-archive: destination "
                        "(repeat for several, or separate them with commas)")
    parser.add_argument("--dest-compress", action="store_true",
                        help="compress uncompressed layers in a dir: destination (as "
                        "--dest-compress-format says; gzip by default)")
    parser.add_argument("--dest-decompress", action="store_true",
                        help="decompress every layer in a dir: destination")
    parser.add_argument("--dest-oci-accept-uncompressed-layers", action="store_true",
                        help="leave uncompressed layers so in an OCI layout or archive "
                        "(by default they are gzipped there)")
    add_copy_flags(parser, parallel="blob transfers at once (default 8; "
                   "--image-parallel-copies is newer skopeo's name for it)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the plan (every image and blob, and what the destination "
                        "holds already) and write nothing")
    parser.add_argument("--digestfile", type=optional_path, metavar="FILE",
                        help="write the digest of what was written to FILE")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress output (notes of what is left behind stay)")
    add_side_flags(parser)
    parser.add_argument(
        "--tls-verify", action=GoBool, default=None, metavar="BOOL",
        help="skopeo's deprecated flag for both sides: --src-tls-verify and "
        "--dest-tls-verify, where a side has none of its own")
    for flag in ("creds", "cert-dir", "username", "password", "no-creds",
                 "registry-token"):  # the other commands' one-sided flags
        parser.add_argument(f"--{flag}", nargs="?", action=RefusedFlag, said=(
            f"the copy command takes --src-{flag} and --dest-{flag}, one for each side, "
            "not {flag}"))
    for flags, does in _SKOPEO_ONLY:
        add_skopeo_only(parser, flags, does)
    parser.add_argument("--dest-precompute-digests", action="store_true",
                        help=argparse.SUPPRESS)  # skopeo's; Spyglass knows them anyway
    from spyglass.cli.common import add_override_flags

    add_override_flags(parser.add_argument_group("skopeo's global flags"), here=True)
    parser.set_defaults(func=run, registry_sides=sides_of)


_ZSTD_CHUNKED: Final = {
    "zstd:chunked": "zstd with a table of contents in each layer, for partial pulls "
    "(podman, CRI-O), which Spyglass does not write: use zstd for plain zstd layers (read "
    "everywhere, pulled whole), or skopeo copy for zstd:chunked"}
"""skopeo's value of --dest-compress-format for what Spyglass does not write, and what
it is."""

_SKOPEO_ONLY: Final = (
    SIGNING_FLAGS,
    (("--encrypt-layer", "--encryption-key", "--decryption-key"),
     "encrypts or decrypts layers (ocicrypt), which Spyglass does not do"),
    (("--src-shared-blob-dir", "--dest-shared-blob-dir"),
     "shares one blob folder between OCI layouts, which Spyglass does not do: name each "
     "layout as oci:PATH[:REF]"),
    (("--src-daemon-host", "--dest-daemon-host"),
     "talks to a Docker daemon (docker-daemon:), which Spyglass does not do: docker save "
     "and docker load move images through docker-archive: files"),
)
"""skopeo's copy flags for what Spyglass does not do, and what they do."""


def _options(args: argparse.Namespace, dest_name: ImageName) -> CopyOptions:
    from spyglass.core.copy import DEFAULT_PARALLEL, CopyOptions, MultiArch
    from spyglass.core.platform import Platform

    multi_arch: MultiArch = args.multi_arch or ("all" if args.all else "system")
    if args.all and args.multi_arch not in (None, "all"):
        raise SpyglassError(f"--all and --multi-arch {args.multi_arch} contradict each other.")
    if args.platform and multi_arch == "all":
        given = "--all" if args.all else "--multi-arch all"
        raise SpyglassError(f"--platform and {given} contradict each other: {given} copies "
                            "every image of the list, --platform the ones it names; give one.")
    if args.platform and multi_arch == "index-only":
        raise SpyglassError("--platform and --multi-arch index-only contradict each other: "
                            "index-only copies the list without any of its images.")
    parallel = args.parallel if args.parallel is not None else DEFAULT_PARALLEL
    return CopyOptions(
        platforms=tuple(Platform.parse(p, as_written=True) for p in args.platform),
        multi_arch=multi_arch,
        format=args.format,
        compression="none" if args.dest_decompress else args.dest_compress_format,
        compression_level=args.dest_compress_level,
        preserve_digests=args.preserve_digests,
        parallel=parallel,
        remove_signatures=args.remove_signatures,
        retry_times=max(0, args.retry_times),
        plain_layers=_plain_layers(args, dest_name),
        force_recursive=args.force_recursive,
    )


def _plain_layers(args: argparse.Namespace, dest_name: ImageName) -> PlainLayers:
    """What skopeo's flags for one kind of destination ask of uncompressed layers
    (``--dest-oci-accept-uncompressed-layers``, ``--dest-compress``; also checks
    ``--dest-decompress``); refused for another kind of destination, where skopeo
    would silently do nothing with them."""
    from spyglass.core.reference import DirName, OCIArchiveName, OCIName

    wanted = {
        "--dest-oci-accept-uncompressed-layers": (args.dest_oci_accept_uncompressed_layers,
                                                  OCIName | OCIArchiveName,
                                                  "oci: or oci-archive:"),
        "--dest-compress": (args.dest_compress, DirName, "dir:"),
        "--dest-decompress": (args.dest_decompress, DirName, "dir:"),
    }
    for flag, (given, kinds, named) in wanted.items():
        if given and not isinstance(dest_name, kinds):
            raise SpyglassError(f"{flag} is for {named} destinations; {dest_name} is not one.")
    # as containers/image: --dest-compress compresses with --dest-compress-format (gzip
    # by default); keeping layers as they are or decompressing them excludes a format
    for first, second in (("--dest-compress", "--dest-decompress"),
                          ("--dest-decompress", "--dest-compress-format"),
                          ("--dest-oci-accept-uncompressed-layers", "--dest-compress-format")):
        if _given(args, first) and _given(args, second):
            raise SpyglassError(f"{first} and {second} contradict each other; give one.")
    if args.dest_compress and args.dest_compress_format == "none":
        raise SpyglassError("--dest-compress and --dest-compress-format none contradict each "
                            "other; give one.")
    if args.dest_oci_accept_uncompressed_layers:
        return "keep"
    return "compress" if args.dest_compress else "auto"


def _given(args: argparse.Namespace, flag: str) -> bool:
    return bool(getattr(args, flag.removeprefix("--").replace("-", "_")))


def _deprecated_tls_verify(args: argparse.Namespace) -> None:
    """skopeo 1.9's ``copy --tls-verify``: deprecated, with skopeo's warning, and taken for
    each side that has no ``--src-tls-verify`` or ``--dest-tls-verify`` of its own (see
    :func:`~spyglass.cli.common.registry_options`), as skopeo takes it."""
    if args.tls_verify is None:
        return
    own = [(f"--{side}-tls-verify", name) for side, name in (("src", "source"),
                                                             ("dest", "destination"))
           if getattr(args, f"{side}_tls_verify") is not None]
    said = ("--tls-verify is deprecated, as in skopeo: use --src-tls-verify and "
            "--dest-tls-verify. ")
    if not own:
        said += "It is taken for both sides."
    elif len(own) == 2:
        said += "Here they decide, and it is left unused."
    else:
        flag, name = own[0]
        other = "destination" if name == "source" else "source"
        said += f"It is taken for the {other}; {flag} decides for the {name}."
    note(said)


def run(args: argparse.Namespace) -> int:
    from spyglass.cli.archive_on_stderr import leads_where_stderr_does, nothing_said

    try:
        destination = _parse_destination(args.destination)
    except SpyglassError:
        return _start(args)  # (said there, in its turn)
    if not leads_where_stderr_does(destination):
        return _start(args)
    args.quiet = True  # an archive on stderr: nothing else goes there (archive_on_stderr)
    with nothing_said():
        return _start(args)


def _start(args: argparse.Namespace) -> int:
    _deprecated_tls_verify(args)
    source_name = resolve_name(args.source)
    dest_name = _with_additional_tags(_parse_destination(args.destination), args.additional_tag)
    check_policy(args, source_name)
    try:
        from spyglass.cli.notes import retries_unsaid_if

        with retries_unsaid_if(args.quiet):
            return _run(args, source_name, dest_name)
    except (AuthenticationFailed, TLSFailed) as exc:
        if exc.on_command_line:
            exc.on_command_line = side_hints(exc.on_command_line, source_name, dest_name)
        raise
    except ListNotAccepted as exc:
        exc.on_command_line = (exc.on_command_line or exc.message) + _one_platform_hint(args)
        raise


def _one_platform_hint(args: argparse.Namespace) -> str:
    """How to choose one platform, from what this command line asked for."""
    parts = ["give --platform once" if len(args.platform) > 1
             else "name it with --platform OS/ARCH[/VARIANT]"]
    if args.all:
        parts.append("leave out --all")
    elif args.multi_arch == "all":
        parts.append("leave out --multi-arch all")
    text = " and ".join(parts)
    return f" {text[0].upper()}{text[1:]}."


def sides_of(args: argparse.Namespace, sentence: str) -> list[str]:
    """The sides (``src``, ``dest``) whose registry ``sentence`` is about (copy's
    :data:`~spyglass.cli.SidesOf`): by the names it gives, both when they do not parse."""
    try:
        names = resolve_name(args.source), _parse_destination(args.destination)
    except SpyglassError:
        return ["src", "dest"]
    return sides_named(sentence, *names)


def _run(args: argparse.Namespace, source_name: ImageName, dest_name: ImageName) -> int:
    from spyglass.core.reference import DockerArchiveName, OCIArchiveName
    from spyglass.core.transports.given_descriptors import hold, release_all

    options = _options(args, dest_name)
    try:
        # the descriptors named (/dev/fd/N) held before anything is opened: see
        # spyglass.core.transports.given_descriptors
        if isinstance(dest_name, (DockerArchiveName, OCIArchiveName)):
            hold(dest_name.path, f"The destination {dest_name}")
        given_fd = None
        if args.digestfile is not None and not args.dry_run:
            given_fd = _check_digestfile(args.digestfile, (source_name, dest_name))
        return _copy(args, source_name, dest_name, options, given_fd)
    finally:
        release_all()


def _copy(args: argparse.Namespace, source_name: ImageName, dest_name: ImageName,
          options: CopyOptions, given_fd: int | None) -> int:
    """The copy :func:`_run` set up; ``given_fd`` the ``--digestfile`` descriptor the
    caller gave (``/dev/fd/N``), held since before anything was opened."""
    from spyglass.cli.progress import Reporter
    from spyglass.core.cancel import final_stretch, held_interrupt, in_place_from_here
    from spyglass.core.copy import execute, format_plan, look_at_destination, plan_copy
    from spyglass.core.copy_room import check_room
    from spyglass.core.transports import open_destination, open_source
    from spyglass.core.transports.base import CheckedDestination

    # once the image is in place, an interrupt (Ctrl+C, SIGTERM) is held to the end of
    # the telling: the closes below too (see final_stretch: execute's joins this one)
    with final_stretch():
        reporter: Reporter | None = None
        interrupted: KeyboardInterrupt | None = None
        try:
            source = open_source(source_name, side_registry_options(args, "src", source_name))
            try:
                destination = open_destination(dest_name,
                                               side_registry_options(args, "dest", dest_name))
                try:
                    # what cannot be copied at all is said first (planning reads no layer,
                    # but for a Docker schema 1 source, whose layers it reads to convert it)
                    plan = plan_copy(source, destination, options)
                    if args.dry_run:
                        if isinstance(destination, CheckedDestination):  # (refusals too)
                            destination.check_writable(held=plan.check_blob)
                        plan = check_room(plan, destination)  # (and a disk too small)
                        # what the destination holds already (asked, nothing written): each
                        # blob says whether it would be copied, found there or mounted
                        looked = look_at_destination(plan, destination, options)
                        write_text(format_plan(plan, looked) + "\n")
                        destination.abort()
                        return 0
                    reporter = Reporter(sys.stderr, quiet=args.quiet)
                    try:
                        # a registry that cannot be written (down, no push access) says so
                        # once, before the first blob, not as each blob's retries
                        execute(plan, source, destination, options, events=reporter,
                                check_writable=True)
                        in_place_from_here()  # (where the destination did not say it)
                    finally:
                        reporter.close()  # the bars go, however the copy ended (Ctrl+C too)
                finally:
                    destination.close()
            finally:
                source.close()
        except KeyboardInterrupt as exc:
            if reporter is None or reporter.finished is None:
                raise
            # (Ctrl+C, SIGTERM) once the image was in place: the copy is whole
            in_place_from_here()  # (a further one held to the telling's end)
            interrupted = exc
        finished = reporter.finished
        assert finished is not None  # (execute returned: Finished was told)
        return _copied(args, finished.digest, finished, given_fd,
                       interrupted or held_interrupt())


def _copied(args: argparse.Namespace, digest: Digest, finished: Finished | None,
            given_fd: int | None, interrupted: KeyboardInterrupt | None) -> int:
    """Tell a copy that is in place: the ``--digestfile``, the last line. Called within
    the copy's final stretch (see :func:`_copy`), which holds an interrupt meanwhile to
    its end. An interrupt that came once the image was in place (``interrupted``, or one
    held since) does not take it back: this is said, even with ``-q``, before the program
    ends by it as by any interrupt, so that a script (a loop Ctrl+C stops) or a service
    manager reads it so."""
    from spyglass.core.cancel import held_interrupt

    copied = f"Copied {args.source} to {args.destination} ({digest})"
    stays = f"{copied}{_before(finished)}: the image was in place when the interrupt came, " \
        "so it stays there"
    if args.digestfile is not None:
        try:
            _write_digest(args, copied, digest, given_fd)
        except KeyboardInterrupt as exc:
            # a third out of a write that waits on something outside (a pipe nobody reads;
            # a file is written whole, every interrupt held): the copy is told all the same
            note(f'{stays}; its digest may not have been written to "{args.digestfile}": '
                 "the interrupt stopped that.")
            raise (interrupted or held_interrupt() or exc) from None
    interrupted = interrupted or held_interrupt()
    if interrupted is None:
        if not args.quiet:  # (one that comes now ends the program after the telling)
            note(f"{copied}{_before(finished)}.")
        return 0
    note(f"{stays}.")
    raise interrupted


def _write_digest(args: argparse.Namespace, copied: str, digest: Digest,
                  given_fd: int | None) -> None:
    try:
        _write_digestfile(args.digestfile, str(digest), given_fd)
    except (OSError, TransportError) as exc:
        cause = exc if isinstance(exc, OSError) else exc.__cause__
        why = (cause.strerror or str(cause)) if isinstance(cause, OSError) else \
            str(exc).rstrip(".")
        raise SpyglassError(
            f'{copied}, but the digest could not be written to "{args.digestfile}": {why}.'
        ) from exc


def _before(finished: Finished | None) -> str:
    """What the last line adds of what the destination's name named before the copy (of
    an image there already: whether what is attached to it added to what was there)."""
    if finished is None or finished.before is None:
        return ""
    if finished.held:
        return (": its name named this very image already, so "
                + ("the image was not written again" if finished.wrote_attached
                   else "nothing was written"))
    if finished.before != finished.digest:
        return f"; the name named {finished.before} before"
    return ""


def _write_digestfile(path: Path, text: str, given_fd: int | None = None) -> None:
    """Write the ``--digestfile``: a file (new, or one there) through a temporary file
    beside it, renamed into place, so that a full disk leaves nothing at its name, or the
    file it had (never an empty digest), with every interrupt held meanwhile (see
    :func:`~spyglass.core.cancel.held_whole`: one who pressed Ctrl+C again and again does
    not cut it, or the copy's telling, short); ``/dev/stdout``, a pipe or another file
    that is no regular one is written straight (a rename would replace it), where a
    third interrupt still gets out of a reader that never comes. ``given_fd``: the
    descriptor a ``/dev/stdout`` or ``/dev/fd/N`` named when the copy began (see
    :func:`_check_digestfile`), written through."""
    from spyglass.core.cancel import held_whole
    from spyglass.core.transports.file_write import replace_file

    if given_fd is not None:
        # one the caller gave: written through it, where the shell's writes before and
        # after go too (opened anew, it would start where the shell did; renamed over,
        # what the shell wrote there would be lost)
        sys.stdout.flush()
        os.write(given_fd, text.encode("ascii"))
        return
    try:
        found = os.stat(path)  # (what the name leads to, as given)
    except FileNotFoundError:
        found = None
    # a file of /proc is no file to rename over; /dev holds files that are (/dev/shm)
    if os.path.abspath(path).startswith("/proc/") or (
            found is not None and not stat.S_ISREG(found.st_mode)):
        with open(path, "a", encoding="ascii") as out:  # (a pipe, a device: not cut)
            out.write(text)
        return
    target = Path(os.path.realpath(path))  # a link to the file stays a link
    with held_whole():
        try:
            replace_file(target, text.encode("ascii"))
        except TransportError as exc:
            cause = exc.__cause__
            if not (found is not None and isinstance(cause, OSError)
                    and cause.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
                    and os.access(target, os.W_OK)):
                raise
            # a folder that takes no new file, and a file there that may be written:
            # written in place, as skopeo writes it
            with open(target, "w", encoding="ascii") as out:
                out.write(text)


def _check_digestfile(path: Path, names: tuple[ImageName, ImageName]) -> int | None:
    """Refuse a ``--digestfile`` that cannot be written before anything is copied, or
    that would overwrite the source or the destination (an archive, a file of a layout);
    the descriptor to write it through where it names one the caller gave (held since
    the command began, see :mod:`spyglass.core.transports.given_descriptors`)."""
    from spyglass.core.transports.given_descriptors import hold

    given_fd = hold(path, f'The --digestfile "{path}"')
    if given_fd is not None:
        return given_fd
    written = Path(os.path.realpath(path))
    for name, side in zip(names, ("source", "destination"), strict=True):
        place = getattr(name, "path", None)
        if place is None:
            continue
        place = Path(os.path.realpath(place))
        # the archive itself; a file of a layout or dir: (a new one in the destination's
        # folder too: it would be a stray file in the image written)
        if written == place or (written.is_relative_to(place) and (
                side == "destination" or written.exists())):
            raise SpyglassError(f'The --digestfile "{path}" would be written into the '
                                f"{side} {name}; name a file outside it.")
    folder = path.parent
    try:
        if path.is_dir():
            raise SpyglassError(f'The --digestfile "{path}" is a folder; name a file.')
        if path.exists():
            writable = True  # /dev/stdout, a pipe: access() cannot tell, writing will
        elif not folder.is_dir():
            not_a_folder = next((p for p in (folder, *folder.parents) if p.exists()), None)
            if not_a_folder is not None and not not_a_folder.is_dir():
                raise SpyglassError(
                    f'The --digestfile "{path}" cannot be written: "{not_a_folder}" is a '
                    "file, not a folder.")
            raise SpyglassError(
                f'The --digestfile "{path}" cannot be written: the folder "{folder}" does '
                "not exist.")
        else:
            writable = os.access(folder, os.W_OK)
    except OSError as exc:
        raise SpyglassError(
            f'The --digestfile "{path}" cannot be written: {exc.strerror or exc}.') from exc
    if not writable:
        raise SpyglassError(f'The --digestfile "{path}" cannot be written: Permission denied.')
    return None


def _with_additional_tags(name: ImageName, tags: list[str]) -> ImageName:
    """``--additional-tag NAME:TAG``s, for a docker-archive: destination only."""
    from dataclasses import replace

    from spyglass.core.reference import DockerArchiveName, parse_docker_reference

    if not tags:
        return name
    if not isinstance(name, DockerArchiveName):
        raise SpyglassError(
            f"--additional-tag names images in a docker-archive: destination; "
            f"{name} is not one."
        )
    parsed = []
    for tag in tags:
        reference = parse_docker_reference(tag, default_tag=False)
        if reference.tag is None or reference.digest is not None:
            raise SpyglassError(f'--additional-tag "{tag}" is not NAME:TAG.')
        parsed.append(reference)
    return replace(name, additional_tags=tuple(parsed))


def _parse_destination(text: str) -> ImageName:
    """A destination name: like a source, but a bare path is never guessed at."""
    from spyglass.cli.home_names import parse_destination

    return parse_destination(text)
