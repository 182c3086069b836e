"""The command line: ``spyglass COMMAND …`` over the same core as the window.

With no arguments (or just a path) ``spyglass`` opens the window. Results go to
stdout, notes and errors to stderr; an error is one sentence and a non-zero
exit status.
"""

from __future__ import annotations

import argparse
import codecs
import io
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, NoReturn

from spyglass import __version__, dataclass_code
from spyglass.cli.common import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_USAGE,
    CommandParser,
    Parser,
    add_override_flags,
)
from spyglass.core.archive_names import ARCHIVE_SUFFIXES
from spyglass.core.errors import SpyglassError

__all__ = ["COMMAND_NAMES", "EXIT_BROKEN_PIPE", "EXIT_ERROR", "EXIT_USAGE", "PLAIN_PUNCTUATION",
           "build_parser", "main", "run"]

COMMAND_NAMES: Final = frozenset({"inspect", "copy", "sync", "signatures", "tags", "list-tags",
                                  "catalog", "login", "logout", "delete", "completion"})
"""The words that name a command, as :func:`build_parser` names its subcommands (a unit
test holds the two together). Whether a word is a command is asked before the command
line is parsed, and asking the parser built it a second time for every command (and
imported each command's module for a window opened on paths)."""


def build_parser() -> argparse.ArgumentParser:
    from spyglass.cli import (
        completion_cmd,
        copy_cmd,
        inspect_cmd,
        registry_cmds,
        signatures_cmd,
        sync_cmd,
    )

    parser = Parser(
        prog="spyglass",
        usage="spyglass [-h] [--version] [--debug] COMMAND ...\n       spyglass [--] [PATH ...]",
        description="Browse, inspect and copy container images. Without a command, opens "
        "the window (on each PATH, a layout folder or an archive, when given).",
        epilog="A usage error exits with status 2; any other error, an image that is not "
        "there included, with 1 (skopeo 1.15 and later exit 2 for an image that is not "
        "there, and 1 for a usage error). A command whose output's reader has gone "
        "(| head -1, | grep -q) stops and ends killed by SIGPIPE (141 in a shell), as "
        "skopeo does. Completion of commands, flags and image names in bash, zsh or fish: "
        "spyglass completion --help.",
    )
    parser.add_argument("--version", "-v", action="version", version=f"spyglass {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback for unexpected errors"
    )
    skopeo = parser.add_argument_group(
        "skopeo's global flags", "taken as skopeo takes them, so its scripts run unchanged")
    add_override_flags(skopeo, platform_note="; not with copy's or inspect's --platform")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                     parser_class=CommandParser,
                                     prog="spyglass")
    inspect_cmd.add_parser(commands)
    copy_cmd.add_parser(commands)
    sync_cmd.add_parser(commands)
    signatures_cmd.add_parser(commands)
    registry_cmds.add_parsers(commands)
    completion_cmd.add_parser(commands)
    return parser


def _open_window(argv: Sequence[str]) -> int:
    """The window, on the paths in ``argv``; with no display for it, or a system library
    of Qt's missing, a sentence and status 1 before Qt is loaded (Qt's xcb plugin would
    abort the process); a Python dependency missing is a sentence too."""
    from spyglass.cli.display import display_problem, xcb_platform
    from spyglass.cli.window_libraries import import_problem, missing_libraries_problem
    from spyglass.dependencies import missing_dependency_problem

    problem = display_problem(os.environ)
    if problem is None and sys.platform.startswith("linux"):
        problem = missing_libraries_problem(xcb_platform(os.environ))
    if problem is not None:
        _say(problem)
        return EXIT_ERROR
    try:
        from spyglass.gui.app import run
    except ImportError as exc:  # (a library the check above does not know of)
        said = missing_dependency_problem(exc) or import_problem(exc)
        if said is None:
            raise
        _say(said)
        return EXIT_ERROR
    return run(list(argv))


_WINDOW_FLAGS: Final = {"--policy": True, "--tmpdir": True, "--registries-conf": True,
                        "--registries.d": True, "--debug": False, "--insecure-policy": False}
"""The global flags that may come before the paths the window opens, and whether each
takes a value (``--insecure-policy`` there takes none but after "=": a path is no
BOOL)."""


def _flags_before_paths(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """The global flags among ``args`` (:data:`_WINDOW_FLAGS`, with their values), before
    or after the paths, and the other words (all of them after a ``--``)."""
    flags: list[str] = []
    rest: list[str] = []
    at = 0
    while at < len(args):
        name, equals, _ = args[at].partition("=")
        if args[at] == "--":
            rest.extend(args[at:])
            break
        takes = _WINDOW_FLAGS.get(name)
        if takes is None:
            rest.append(args[at])
            at += 1
            continue
        step = 2 if takes and not equals else 1
        flags.extend(args[at:at + step])
        at += step
    return flags, rest


def _window_with_flags(parser: argparse.ArgumentParser, args: argparse.Namespace,
                       paths: Sequence[str]) -> int:
    """The window on ``paths``, with skopeo's global flags in ``args`` in force for it
    as for a command (``--registries-conf`` read in place of the usual file, ``--policy``
    for its copies, ``--tmpdir``); one the window cannot take is refused."""
    from spyglass.cli.skopeo_globals import apply_global_flags

    if getattr(args, "registries_d", None) is not None:
        parser.error("--registries.d is read by the commands that take it (copy, sync, "
                     "signatures); the window reads the usual registries.d "
                     "folders (~/.config/containers/registries.d, else "
                     "/etc/containers/registries.d)")
    try:
        apply_global_flags(args)
    except SpyglassError as exc:
        _say(str(exc))
        return EXIT_ERROR
    return _open_window(paths)


def _window_paths(given: Sequence[str]) -> bool:
    """Whether ``given`` are paths for the window to open rather than a command (Qt's own
    options aside: ``-reverse``, ``-style fusion``): none at all, one that exists, or
    several (a desktop entry's ``Exec=spyglass %F`` passes every file chosen) each given
    as a path, at least one of them there. One of several that is not there is said in
    the window, as a place that is gone is. After a ``--`` (``spyglass -- PATH…``) every
    word is a path, one named as a command or starting with ``-`` too."""
    from spyglass.window_args import paths_after_double_dash, without_qt_options

    after_dashes = paths_after_double_dash(list(given))
    if after_dashes is not None:  # each a path, whatever it is named
        return not after_dashes or any(Path(arg).exists() for arg in after_dashes)
    args = without_qt_options(list(given))
    if len(args) <= 1:
        return not args or Path(args[0]).exists()
    if not all(_given_as_path(arg) for arg in args):
        return False
    if not any(Path(arg).exists() for arg in args):
        return False
    # a command given where a folder of its name is (spyglass copy A B beside ./copy)
    return not _is_command(args[0])


def _urls_as_paths(args: Sequence[str]) -> list[str]:
    """``args`` with each ``file:`` URL of this machine as the path it names (``spyglass
    file:///srv/layout`` opens the window as ``spyglass /srv/layout`` does); any other
    word as it is. Asked only whether the window opens: a command reads its own."""
    from spyglass.core.fileurl import is_file_url, local_path

    return [(local_path(arg) or arg) if is_file_url(arg) else arg for arg in args]


def _url_refused(args: Sequence[str]) -> str | None:
    """Why a ``file:`` URL given for the window names no path of this machine (another
    machine's, a user's), as :func:`~spyglass.core.fileurl.not_local` says it; None where
    none does, or where a command is given (which reads its own words)."""
    from spyglass.core.fileurl import is_file_url, local_path, not_local
    from spyglass.window_args import paths_after_double_dash, without_qt_options

    words = paths_after_double_dash(list(args))
    if words is None:
        words = without_qt_options(list(args))
        # a command (after global options too: --debug copy …) or --help/--version
        # reads the words itself: a file: URL among them is its to judge
        if not words or any(word.startswith("-") or _is_command(word) for word in words):
            return None
    for word in words:
        if is_file_url(word) and local_path(word) is None:
            return (not_local(word) or "").removesuffix(".")  # (the parser ends it)
    return None


def _is_command(word: str) -> bool:
    """Whether ``word`` names one of the commands (``copy``, ``inspect``, …)."""
    return word in COMMAND_NAMES


def _missing_beside_a_path(args: Sequence[str]) -> str | None:
    """The first word that is no file, where the first is a path that exists and no
    command (``spyglass ./layout typo``): said as such, not as ``./layout`` being no
    command."""
    if len(args) < 2 or not Path(args[0]).exists() or any(a.startswith("-") for a in args):
        return None
    if _is_command(args[0]):
        return None
    missing = [arg for arg in args if not Path(arg).exists()]
    if any(arg.startswith(_TRANSPORT_PREFIXES) for arg in missing):
        return None  # an image named: what to do with it is the usage's to say
    return missing[0] if missing else None


def _given_as_path(word: str) -> bool:
    """A path that is there, or a word written as one (no flag, no image name)."""
    if word.startswith("-"):
        return False
    if Path(word).exists():
        return True
    return _looks_like_a_path(word) and not word.startswith(_TRANSPORT_PREFIXES)


class _ClosedOutput(io.TextIOBase):
    """Standard output when the program was started with it closed: writing the result
    fails with a sentence (a command that writes nothing there is unaffected), and so
    does ``--help`` or ``--version`` (argparse's own writing lets only an OSError by:
    :func:`main` says this one)."""

    def write(self, text: str) -> int:
        raise SpyglassError("Cannot write the result: standard output is closed.")

    def flush(self) -> None:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    from spyglass.core.limits import raise_open_file_limit

    raise_open_file_limit()
    if sys.stdout is None:
        sys.stdout = _ClosedOutput()
    for stream in (sys.stdout, sys.stderr):
        # a locale that cannot write "→" (LC_ALL=C without UTF-8 mode, Latin-1): "->"
        # (and other characters escaped), not a command failed for it
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors=PLAIN_PUNCTUATION)
            except (OSError, ValueError):
                pass
    args_list = list(sys.argv[1:] if argv is None else argv)
    paths = _urls_as_paths(args_list)
    if _window_paths(paths):
        return _open_window(paths)
    parser = build_parser()
    flags, rest = _flags_before_paths(paths)
    if flags and rest and _window_paths(rest):  # spyglass --registries-conf F ./layout (or after)
        return _window_with_flags(parser, parser.parse_args(flags), rest)
    if (refused := _url_refused(args_list)) is not None:
        parser.error(refused)
    from spyglass.window_args import paths_after_double_dash

    if (after_dashes := paths_after_double_dash(paths)) is not None:  # none of them there
        parser.error(f'the path "{after_dashes[0]}" does not exist; expected a layout '
                     "folder or archive to open in the window")
    word = args_list[0] if len(args_list) == 1 else ""
    if len(args_list) > 1 and all(_given_as_path(arg) for arg in paths):
        word = args_list[0]  # paths, none of them there
    if word.startswith(_TRANSPORT_PREFIXES) and word.split(":", 1)[1].strip("/"):
        parser.error(f'"{word}" names an image, and the window opens on a path alone; say '
                     f"what to do with the image, such as spyglass inspect {word}, or "
                     f"spyglass copy {word} DESTINATION")
    if word and word != paths[0]:  # a file: URL of this machine, no file there
        parser.error(f'"{word}" names the path "{paths[0]}", which does not exist; expected '
                     "a COMMAND, or a layout folder or archive to open in the window")
    if _looks_like_a_path(word):
        parser.error(f'the path "{word}" does not exist; expected a COMMAND, or a layout '
                     "folder or archive to open in the window")
    if (missing := _missing_beside_a_path(args_list)) is not None:
        parser.error(f'the path "{missing}" does not exist; expected a COMMAND, or layout '
                     "folders or archives to open in the window")
    try:
        args = parser.parse_args(args_list)
    except SpyglassError as exc:  # --help or --version, with stdout closed (_ClosedOutput)
        _say(str(exc))
        return EXIT_ERROR
    validate = getattr(args, "validate", None)  # (its parser, a check of values together)
    if validate is not None and (problem := validate[1](args)) is not None:
        validate[0].error(problem)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        return _window_with_flags(parser, args, [])
    from spyglass.cli import notes
    from spyglass.core.cancel import stop_like_ctrl_c_on_termination

    def run(args: argparse.Namespace) -> int:
        from spyglass.cli.skopeo_globals import apply_global_flags

        apply_global_flags(args)
        _apply_overrides(args)
        return func(args)

    with notes.installed(), stop_like_ctrl_c_on_termination():
        # the core's warnings as spyglass: lines, not bare
        return _run_command(run, args)


PLAIN_PUNCTUATION: Final = "spyglass-plain-punctuation"
"""The codec error handler of stdout and stderr: where the locale's encoding cannot
write a character of Spyglass's sentences, its ASCII stand-in (``→`` as ``->``, ``…``
as ``...``, ``—`` as ``-``), which reads as what was meant (``--bogus=\\u2026`` looked
typed so); any other character as Python's escape (``\\u2615``)."""

_PLAIN: Final = {"\u2192": "->", "\u2026": "...", "\u2014": "-", "\u2013": "-",
                 "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00d7": "x"}


def _plain_punctuation(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    said = error.object[error.start:error.end]
    return "".join(_PLAIN.get(char) or char.encode("ascii", "backslashreplace").decode()
                   for char in said), error.end


codecs.register_error(PLAIN_PUNCTUATION, _plain_punctuation)


_TRANSPORT_PREFIXES: Final = ("docker://", "oci:", "dir:", "oci-archive:", "docker-archive:")


def _looks_like_a_path(word: str) -> bool:
    """Whether a word given alone, which is no file, was meant for one (``./layot``,
    ``~/app.tar``, ``images/app.oci``) rather than a command (``inspcet``)."""
    return bool(word) and not word.startswith("-") and (
        "/" in word or word.startswith((".", "~"))
        or word.endswith(ARCHIVE_SUFFIXES))


def _apply_overrides(args: argparse.Namespace) -> None:
    """skopeo's ``--override-os/-arch/-variant``: which image of a list stands for "this
    system" (the parts not given are this machine's, as in skopeo). They change only
    what would be chosen for this system: not ``copy --all`` or ``--multi-arch``, not
    ``inspect --raw`` (the list itself), and nothing for commands that choose none."""
    given = (args.override_os, args.override_arch, args.override_variant)
    if not any(given) or not hasattr(args, "platform"):
        return
    if args.platform:  # a contradiction of flags is an error (status 1), as in skopeo
        raise SpyglassError("--override-os/--override-arch/--override-variant and "
                            "--platform contradict each other; give one.")
    if getattr(args, "all", False) or getattr(args, "multi_arch", None) not in (None, "system"):
        return  # copy --all / --multi-arch all|index-only: no instance is chosen
    if getattr(args, "raw", False) and not getattr(args, "config", False):
        return  # inspect --raw prints the list as it is, as skopeo's does
    from spyglass.core.platform import host_platform

    host = host_platform()
    os_name, arch, variant = given
    if arch is not None and arch != host.architecture and variant is None:
        variant = ""  # another architecture: not this machine's variant
    chosen = "/".join(part for part in (os_name or host.os, arch or host.architecture,
                                        host.variant if variant is None else variant) if part)
    args.platform = [chosen] if isinstance(args.platform, list) else chosen


def _run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    from spyglass.core.cancel import Terminated

    try:
        return func(args)
    except SpyglassError as exc:
        _leave_out_platform_advice(exc, args)
        sides = registry_sides(args, exc.on_command_line or exc.message)
        authfile = _authfile_hint(exc, args, sides)
        # with an auth file named, its sentence is the advice (a login would not be read)
        told = getattr(exc, "refusal", None) if authfile else None
        hint = _no_creds_hint(exc, args) + authfile
        said = _with_side_flags(f"{told or exc.on_command_line or exc}{hint}", sides)
        if not hint:  # (a hint names the way in already)
            said += _no_keyring_hint(exc, said) + _env_authfile_hint(exc, args, sides)
        # what the command did about it (sync: that it stopped there) after the advice
        _say(said + getattr(args, "closing", ""))
        return EXIT_ERROR
    except Terminated as exc:
        _say(f"stopped by {signal.Signals(exc.signum).name}.")
        return 128 + exc.signum
    except KeyboardInterrupt:
        _say("interrupted.")
        return 130
    except BrokenPipeError:  # stdout's reader went away: stop, quietly
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        if args.debug:
            raise
        from spyglass.core.errors import out_of_memory

        if (short := out_of_memory(exc)) is not None:
            _say(str(short))
            return EXIT_ERROR
        from spyglass.dependencies import missing_dependency_problem

        if (missing := missing_dependency_problem(exc)) is not None:
            _say(missing)
            return EXIT_ERROR
        _say(f"unexpected internal error ({type(exc).__name__}: {exc}); run with --debug "
             "for details and please report it.")
        return EXIT_ERROR


def _leave_out_platform_advice(exc: SpyglassError, args: argparse.Namespace) -> None:
    """A list without an image for the platform asked names what it offers; its advice to
    choose one with --platform is left out where one was given (or skopeo's override
    flags chose it)."""
    from spyglass.core.errors import PlatformNotFound

    if isinstance(exc, PlatformNotFound) and getattr(args, "platform", None):
        exc.on_command_line = None


def _say(sentence: str) -> None:
    """``spyglass: SENTENCE`` on stderr, however stderr is (a closed one says nothing)."""
    from spyglass.cli.common import note

    note(sentence)


def terminal_safe(text: str, *, keep: str = "") -> str:
    """``text`` with control and format characters written as escapes (``\x1b``), and a
    byte of a name that is not UTF-8 as that byte (``bad\xff``, as skopeo and ``ls -b``
    write it; Python holds it as ``\udcff``): a sentence quotes what registries and
    files say, and a terminal must not take an escape sequence in there for a command
    (clear the screen, retitle the window, fake output). ``keep``: the characters that
    stay (``"\n"`` for text of several lines). See :func:`spyglass.core.text.visible`."""
    from spyglass.core.text import visible

    return visible(text, keep=keep)


SidesOf = Callable[[argparse.Namespace, str], list[str]]
"""What a command with a source and a destination says of them, for the advice added to
an error (its ``registry_sides``, a parser default): the sides (``src``, ``dest``) whose
registry the error's sentence is about, given the command line's arguments. Their own
flags (``--src-creds``, ``--src-authfile``, …) are then the ones named and looked at; a
command without it has one side, with ``--creds`` and ``--authfile``."""


def registry_sides(args: argparse.Namespace, sentence: str) -> list[str]:
    """The sides ``sentence`` is about (see :data:`SidesOf`); none for a command of one."""
    sides_of: SidesOf | None = getattr(args, "registry_sides", None)
    return [] if sides_of is None else sides_of(args, sentence)


def _with_side_flags(sentence: str, sides: list[str]) -> str:
    """The general flags of a registry's advice (``--creds``) as the sides' own."""
    if not sides:
        return sentence
    from spyglass.cli.copy_sides import with_side_flags

    return with_side_flags(sentence, sides)


def _authfile_hint(exc: SpyglassError, args: argparse.Namespace, sides: list[str]) -> str:
    """For a registry that wants credentials none were found for, while an auth file was
    named: that only that file was read, and what it lacks (a missing file reads as
    empty, as in skopeo, so a wrong path shows only here). ``sides``: those the error is
    about (their ``--src-authfile``, else ``--authfile``)."""
    from spyglass.core.errors import AuthenticationFailed

    files = _auth_files_read(exc, args, sides)
    if files is None or len(files) != 1 or None in files:
        return ""  # a side that read the keyring and the usual files
    path = next(iter(files))
    assert path is not None and isinstance(exc, AuthenticationFailed) and exc.host
    if not path.exists():
        return f' Only the auth file "{path}" was read, and it does not exist.'
    from spyglass.core.credentials.store import CredentialStore

    try:
        found = CredentialStore(authfile=path).lookup(exc.host)
    except SpyglassError:
        return ""  # its own sentence is for another time
    if found is not None:
        return ""  # the file has some: they were not what was asked (another side)
    return f' Only the auth file "{path}" was read, and it has no credentials for {exc.host}.'


def _auth_files_read(exc: SpyglassError, args: argparse.Namespace,
                     sides: list[str]) -> set[Path | None] | None:
    """For a registry that wants credentials none were found for: the auth files the
    sides ``sides`` (those the error is about) were told to read (``--src-authfile``,
    else ``--authfile``; None for a side told none, which read the usual places). None
    where the error is another, or no credentials were looked for (``--no-creds``)."""
    from spyglass.core.errors import AuthenticationFailed

    if not isinstance(exc, AuthenticationFailed) or exc.credentials_sent or not exc.host:
        return None
    if any(getattr(args, name, False) for name in ("no_creds", "src_no_creds",
                                                     "dest_no_creds")):
        return None  # none were looked for
    general: Path | None = getattr(args, "authfile", None)
    return set([getattr(args, f"{side}_authfile", None) or general for side in sides]
               if sides else [general])


def _env_authfile_hint(exc: SpyglassError, args: argparse.Namespace,
                       sides: list[str]) -> str:
    """For a registry that wants credentials none were found for, where no auth file was
    named on the command line but ``$REGISTRY_AUTH_FILE`` names one that does not exist
    (read as empty, as in skopeo: a wrong path shows only here): so, and that the usual
    auth files are not read while it is set."""
    if _auth_files_read(exc, args, sides) != {None}:
        return ""
    chosen = os.environ.get("REGISTRY_AUTH_FILE", "")
    if not chosen or Path(chosen).exists():
        return ""
    return (f' The auth file $REGISTRY_AUTH_FILE names, "{chosen}", does not exist; while '
            "it is set, no other auth file is read.")


def _no_keyring_hint(exc: SpyglassError, said: str) -> str:
    """For advice to log in with spyglass login on a machine where no keyring can keep
    one (the login would fail): the way in that works there."""
    from spyglass.core.errors import AuthenticationFailed

    if not isinstance(exc, AuthenticationFailed) or "spyglass login" not in said:
        return ""
    from spyglass.cli.registry_cmds import ANOTHER_LOGIN
    from spyglass.core.transports.registry import credential_store

    store = credential_store()
    if store.keyring_usable and store.passed_over is None:
        return ""
    if store.passed_over is not None:  # (what an earlier login kept there is still read)
        return (f" A new spyglass login is not kept here: the only keyring is "
                f"{store.passed_over}, which Spyglass uses only when chosen with "
                f"PYTHON_KEYRING_BACKEND={store.backend_setting}; or {ANOTHER_LOGIN}.")
    return f" No keyring here can keep a spyglass login: {ANOTHER_LOGIN}."


def _no_creds_hint(exc: SpyglassError, args: argparse.Namespace) -> str:
    """For a registry that wants credentials while ``--no-creds`` sent none on purpose:
    that the flag is what to leave out (the advice before it names the ways in)."""
    from spyglass.core.errors import AuthenticationFailed

    given = [f"--{name.replace('_', '-')}" for name in ("no_creds", "src_no_creds",
                                                        "dest_no_creds")
             if getattr(args, name, False)]
    if not isinstance(exc, AuthenticationFailed) or not given:
        return ""
    return f" Leave out {' and '.join(given)} for credentials to be sent."


def run() -> NoReturn:
    """The ``spyglass`` program: :func:`main`, then a quick exit.

    Once a command has finished there is nothing left to tear down that
    matters, yet the interpreter's own teardown (freeing every module and
    object, one by one) took 25-30 ms, a fifth of a small command's time. So
    the output is flushed, the blob-location cache closed and logging shut
    down here, and the process ends with :func:`os._exit`. The window exits
    the ordinary way.

    A Ctrl+C before the command's own handling is in place (while the command
    line is read and the command's modules imported) ends the program as one
    during the command does: "interrupted." and by SIGINT, without a traceback.
    """
    args = sys.argv[1:]
    opens_window = False
    try:
        opens_window = _window_paths(_urls_as_paths(args))
        code = 0 if opens_window else main(args)
    except BrokenPipeError:  # (a result written before a command ran: its own are caught)
        code = EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        opens_window = False
        _say("interrupted.")
        code = 128 + signal.SIGINT
    if opens_window:
        sys.exit(main(args))
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = code or EXIT_BROKEN_PIPE
    except OSError as exc:  # what a command left unflushed (its own writes flush)
        if not code:
            from spyglass.cli.common import cannot_write_output

            _say(str(cannot_write_output(exc)))
        code = code or EXIT_ERROR
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except OSError:
        pass
    blobcache = sys.modules.get("spyglass.core.blobcache")
    if blobcache is not None:
        blobcache.close_default_cache()
    decompressed = sys.modules.get("spyglass.core.transports.decompressed")
    if decompressed is not None:
        decompressed.remove_parked()  # os._exit runs no finalizers
    dataclass_code.save()  # (if installed)
    logging.shutdown()
    signum = code - 128
    if signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGPIPE):
        # cleaned up after a termination or Ctrl+C: end by that signal, as the caller
        # expects (a service manager counts it a clean stop, unlike exit status 143; a
        # shell script stops at a command Ctrl+C killed, but goes on after one that
        # exited 130, as Python and Go programs die of it); a result's reader gone: by
        # SIGPIPE, as the tools in a pipeline do (see EXIT_BROKEN_PIPE)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    os._exit(code)


if __name__ == "__main__":
    run()
