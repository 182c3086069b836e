"""What the commands share: the argument parser, output, image names and registry options."""

from __future__ import annotations

import argparse
import codecs
import errno
import getpass
import json
import os
import signal
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeAlias

from spyglass.cli.home_names import resolve_name as resolve_name  # (a source's name)
from spyglass.core.errors import SpyglassError
from spyglass.core.gojson import go_escaped, without_surrogates

if TYPE_CHECKING:  # imported when used: a local inspect needs neither httpx nor keyring
    from _typeshed import SupportsWrite

    from spyglass.core.credentials import Credentials
    from spyglass.core.transports.registry import RegistryOptions

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE: Final = 128 + signal.SIGPIPE
"""A result whose reader went away (``| head -1``, ``| grep -q``): the command stops
quietly, as by Ctrl+C, and the program ends killed by SIGPIPE (a shell shows 141), as
skopeo, Go programs and the C tools do, so that a script tells it from a failure."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that reads a command line as skopeo's (Go's pflag) is read, whose
    usage errors are one sentence on stderr.

    Its ``action="store_true"`` flags are :class:`GoBool`: they take ``=BOOL`` as
    skopeo's do. What it parses is first written out by :func:`pflag_arguments`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        kwargs.setdefault("allow_abbrev", False)  # pflag takes no prefix of a flag
        super().__init__(*args, **kwargs)
        self.register("action", "store_true", GoBool)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        argv = sys.argv[1:] if args is None else args
        return super().parse_known_args(pflag_arguments(self, argv), namespace)

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        """As Python 3.11.7 and later write it: a stream that is closed or gone (``2>&-``
        leaves ``sys.stderr`` None) lets the message by, so a usage error still exits 2.
        Debian 12's Python 3.11.2 raised there, and the program ended with 1."""
        try:
            super()._print_message(message, file)
        except (AttributeError, OSError):
            pass

    def error(self, message: str) -> NoReturn:
        from spyglass.cli import terminal_safe

        if sys.stderr is not None:  # (argparse writes to stdout given None: not there)
            self.print_usage(sys.stderr)
        said = terminal_safe(f"{message[0].upper()}{message[1:]}")
        self.exit(EXIT_USAGE, f"spyglass: {said}.\n")


class CommandParser(Parser):
    """A command's parser: what it does not take (an unknown flag, an argument too many) is
    its usage error, said under its own usage, not left for the top-level parser, whose
    usage names no command's arguments.

    Attributes:
        elsewhere: for a flag it does not take, where it is taken (``spyglass copy takes
            it, …``), said after it; None where that is nowhere, or not looked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.elsewhere: Callable[[str], str | None] | None = None

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        # an unknown flag alone: the words after it were taken for its value, or for the
        # arguments (a last one left over), as argparse cannot tell what it takes
        flags = [extra for extra in extras if extra.startswith("-") and extra != "-"]
        if flags:  # (a flag's value is not said back: it may be a password)
            shown = [e.split("=", 1)[0] + "=…" if e.startswith("--") and "=" in e else e
                     for e in flags]
            taken = self.elsewhere(flags[0].split("=", 1)[0]) if self.elsewhere else None
            self.error(f"unrecognized arguments: {' '.join(shown)}"
                       + (f" ({taken})" if taken else ""))
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


Commands: TypeAlias = "argparse._SubParsersAction[CommandParser]"
"""The ``add_subparsers`` object each command module adds its parser to."""


def write_json(data: object) -> None:
    """``data`` as JSON on stdout: characters as they are where stdout can write them,
    else as JSON's own escapes (``\\u2615``), never a Python escape that breaks the JSON;
    ``<``, ``>``, ``&``, U+2028 and U+2029 escaped as skopeo's Go encoder escapes them
    (:func:`~spyglass.core.gojson.go_escaped`), so the two tools' outputs are the same."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        utf = codecs.lookup(encoding).name.startswith("utf")
    except LookupError:
        utf = False
    text = without_surrogates(json.dumps(data, indent=4, ensure_ascii=False))
    if not utf:
        text = json.dumps(json.loads(text), indent=4, ensure_ascii=True)
    write_text(go_escaped(text) + "\n")


def write_text(text: str) -> None:
    """``text`` to stdout, flushed; a failure to write it (a full disk, an I/O error) is a
    sentence (:func:`cannot_write_output`). A reader that went away (a broken pipe) is
    raised as the :class:`BrokenPipeError` it is: the command stops, says nothing of it,
    and ends as :data:`EXIT_BROKEN_PIPE` says. Every result a command writes to stdout
    goes through here or :func:`write_bytes`. A lone surrogate (from a name on disk
    that is not UTF-8) is U+FFFD, as Go writes it: it cannot be written as UTF-8."""
    text = without_surrogates(text)
    try:
        if getattr(sys.stdout, "buffer", None) is None:  # (a stand-in: a test's, closed)
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            _write_all(text.encode(sys.stdout.encoding or "utf-8",
                                   sys.stdout.errors or "strict"))
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise cannot_write_output(exc) from exc


def write_bytes(data: bytes) -> None:
    """``data`` to stdout as it is, flushed; failures as :func:`write_text`'s."""
    try:
        _write_all(data)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise cannot_write_output(exc) from exc


def _write_all(data: bytes) -> None:
    """Every byte of ``data`` to stdout, after what its text layer holds: a pipe whose
    reader left in the middle of a big write takes part of it and says nothing (Python's
    text layer then drops the rest, and the command would end as if all was read); the
    next write is the one that meets the broken pipe."""
    sys.stdout.flush()
    stream = sys.stdout.buffer
    left = memoryview(data)
    while left:
        count = stream.write(left)
        if not count:  # (blocking: never; said rather than looped on)
            raise OSError(errno.EIO, "standard output took nothing")
        left = left[count:]
    stream.flush()


def cannot_write_output(exc: OSError) -> SpyglassError:
    """The sentence for a result that could not be written to stdout (as for a closed
    one): "Cannot write the result to standard output: no space left on device."."""
    reason = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc) or
                                                       type(exc).__name__)
    reason = reason.rstrip(".")
    return SpyglassError("Cannot write the result to standard output: "
                         f"{reason[:1].lower()}{reason[1:]}.")


def note(message: str) -> None:
    """A line for the person at the terminal, on stderr (stdout stays for results); its
    control characters written as escapes (see :func:`spyglass.cli.terminal_safe`). A
    stderr that cannot be written (closed, a full disk, a pipe gone) takes nothing:
    telling is never what makes a command fail (skopeo's do not either)."""
    from spyglass.cli import terminal_safe

    try:
        if sys.stderr is not None:
            print(f"spyglass: {terminal_safe(message)}", file=sys.stderr)
    except (OSError, ValueError):
        pass


class GoBool(argparse.Action):
    """An on/off flag as skopeo's are (Go's pflag): alone it is on, ``--flag=BOOL`` and
    ``-q=BOOL`` say which (any spelling :func:`parse_bool` takes), and it never takes the
    next argument for its value (:func:`pflag_arguments` writes it ``FLAG=true`` when it
    stands alone). Every ``action="store_true"`` of a :class:`Parser` is one."""

    def __init__(self, option_strings: Sequence[str], dest: str, default: object = False,
                 required: bool = False, help: str | None = None,
                 metavar: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs="?", const=True, default=default,
                         type=parse_bool, required=required, help=help, metavar=metavar)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)


class RefusedFlag(argparse.Action):
    """A flag that is refused whenever it is given, with a sentence (``said``; ``{flag}``
    in it is the flag as written): one of skopeo's for what Spyglass does not do, not
    "unrecognized arguments" after argparse took its value for an image name or a host.
    It takes a value (``nargs``) as skopeo's flag does."""

    def __init__(self, option_strings: Sequence[str], dest: str, said: str,
                 nargs: int | str | None = 1, default: object = None,
                 help: str | None = argparse.SUPPRESS, metavar: str | None = "VALUE") -> None:
        super().__init__(option_strings, dest, nargs=nargs, default=default, help=help,
                         metavar=metavar)
        self.said = said

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        flag = (option_string or "").split("=", 1)[0]
        parser.error(self.said.replace("{flag}", flag))


def add_skopeo_only(container: argparse._ActionsContainer, flags: Sequence[str],
                    does: str) -> None:
    """skopeo's ``flags`` for what Spyglass does not do, refused as ``FLAG is skopeo's: it
    DOES`` (``does``: what they do, and what to do instead)."""
    for flag in flags:
        container.add_argument(flag, action=RefusedFlag, said=f"{{flag}} is skopeo's: it {does}")


SKOPEO_IMAGE_FLAGS: Final = (
    (("--daemon-host",), "names the Docker daemon of docker-daemon: images, which Spyglass "
     "does not read; leave it out (for a registry image it does nothing in skopeo either)"),
    (("--shared-blob-dir",), "shares one blob folder between OCI layouts, which Spyglass "
     "does not do; leave it out (for a registry image it does nothing in skopeo either)"),
)
"""skopeo's flags of inspect and delete for images elsewhere than in a registry."""


class StringSlice(argparse.Action):
    """A flag skopeo declares a string slice (cobra's ``StringSlice``, ``--additional-tag``):
    repeatable, and each value a line of comma-separated values (``a:1,b:2``; quotes keep
    a comma, ``""`` adds none), as pflag reads it."""

    def __init__(self, option_strings: Sequence[str], dest: str, default: object = None,
                 required: bool = False, help: str | None = None,
                 metavar: str | None = None) -> None:
        super().__init__(option_strings, dest, default=[] if default is None else default,
                         required=required, help=help, metavar=metavar)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        import csv

        items = list(getattr(namespace, self.dest, None) or [])
        text = str(values)
        if text:
            try:
                items.extend(next(csv.reader([text], strict=True)))
            except csv.Error as exc:
                parser.error(f'argument {option_string}: "{text}" is no list of values '
                             f"separated by commas ({exc})")
        setattr(namespace, self.dest, items)


class _HelpFormatter(argparse.HelpFormatter):
    """Help that shows a :class:`GoBool` without a metavar as the switch it is
    (``--all``, not ``--all [ALL]``)."""

    def _format_args(self, action: argparse.Action, default_metavar: str) -> str:
        if isinstance(action, GoBool) and action.metavar is None:
            return ""  # (usage's "[--all ]" loses its space)
        return super()._format_args(action, default_metavar)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if isinstance(action, GoBool) and action.metavar is None:
            return ", ".join(action.option_strings)
        return super()._format_action_invocation(action)


SPACED_BOOL_FLAGS: Final = frozenset({"--tls-verify", "--src-tls-verify", "--dest-tls-verify",
                                      "--insecure-policy"})
"""On/off flags that also take their ``BOOL`` as the next argument (``--tls-verify
false``), when it is one (:func:`_a_value`): more than skopeo takes, kept for the
scripts that were written so."""

_BOOL_WORDS: Final = frozenset({"true", "false", "1", "0", "yes", "no", "on", "off"})


def pflag_arguments(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """``argv`` written out so that argparse reads it as Go's pflag reads skopeo's.

    Every flag the parser (or, after the command, the command's parser) knows
    is joined to its value: an on/off flag (:class:`GoBool`) standing alone
    becomes ``FLAG=true``, so it never takes the argument after it; a flag that
    takes a value takes the next argument whatever it starts with
    (``--password -secret``, ``--dest-compress-level -1``), where argparse took
    a leading ``-`` for another flag; short ones grouped are taken apart as
    pflag takes them (``-aq``, ``-q=false``, ``-fv2s2``). One of
    :data:`SPACED_BOOL_FLAGS` takes a :func:`_a_value` after it too. ``--``
    ends the flags; an unknown or ambiguous flag is left for argparse to refuse.
    """
    out: list[str] = []
    rest = list(argv)
    commands = _commands_of(parser)
    while rest:
        token = rest.pop(0)
        if token == "--":
            out.append(token)
            break
        if not token.startswith("-") or token == "-":
            out.append(token)
            if commands is not None:  # the command: its parser reads what follows
                command = commands.get(token)
                if command is None:
                    break
                parser, commands = command, None
            continue
        out.extend(_long_flag(parser, token, rest) if token.startswith("--")
                   else _short_flags(parser, token, rest))
    return out + rest


def _commands_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return None


def _kind(action: argparse.Action) -> str:
    """``bool`` for an on/off flag, ``value`` for one that takes one argument, ``other``
    for the rest (``--help``, ``--version``, a refusal that may stand alone)."""
    if isinstance(action, GoBool):
        return "bool"
    return "value" if action.nargs in (None, 1) else "other"


def _long_flag(parser: argparse.ArgumentParser, token: str, rest: list[str]) -> list[str]:
    """``--flag`` with the value it takes; ``--flag=VALUE`` as it is. A prefix of a flag
    is no flag (pflag takes none): it is left for the parser to refuse as unknown."""
    if "=" in token:
        return [token]
    actions = parser._option_string_actions
    if token not in actions:
        return [token]
    flag = token
    kind = _kind(actions[flag])
    if kind == "bool":
        if flag in SPACED_BOOL_FLAGS and rest and _a_value(rest[0]):
            return [f"{flag}={rest.pop(0)}"]
        return [f"{flag}=true"]
    if kind == "value" and rest and rest[0] != "--":  # (-- ends the flags: no value)
        return [f"{flag}={rest.pop(0)}"]
    return [token]


def _short_flags(parser: argparse.ArgumentParser, token: str, rest: list[str]) -> list[str]:
    """``-abc`` as pflag reads it: each on/off flag on (``-q=false``: off), and a flag that
    takes a value takes what follows it in the group (``-fv2s2``, ``-f=v2s2``), else the
    next argument. A group with a letter no flag has is left as it is."""
    actions = parser._option_string_actions
    letters = token[1:]
    out: list[str] = []
    for position, letter in enumerate(letters):
        action = actions.get(f"-{letter}")
        after = letters[position + 1:]
        if action is None or _kind(action) == "other":  # (-qh: -q on, then help)
            return [*out, f"-{letter}{after}"] if out else [token]
        if after.startswith("="):
            return [*out, f"-{letter}{after}"]
        if _kind(action) == "bool":
            out.append(f"-{letter}=true")
            continue
        if after:
            return [*out, f"-{letter}={after}"]
        if rest and rest[0] != "--":
            return [*out, f"-{letter}={rest.pop(0)}"]
        return [*out, f"-{letter}"]
    return out


def _a_value(word: str) -> bool:
    """Whether ``word``, after one of :data:`SPACED_BOOL_FLAGS`, is that flag's value: a
    boolean word, or one a letter or two away from one (``flase``: a mistyped value, said
    as such, not a source named "flase"; not a host such as ``localhost``)."""
    import difflib

    value = word.strip().lower()
    if value in _BOOL_WORDS:
        return True
    if len(value) < 4 or not value.isalpha() or Path(word).exists():
        return False
    return bool(difflib.get_close_matches(value, ("true", "false"), n=1, cutoff=0.6))


def argv_text(value: str) -> str:
    """A word of the command line read as the bytes it was given, in UTF-8, for text that
    goes on as bytes (credentials, a template's literals), as skopeo sends what it was
    given: Python read those bytes in the locale's encoding (``zoë`` given as UTF-8 was
    ``zoÃ«`` under Latin-1, and surrogates under C), so they are taken back
    (``os.fsencode``); bytes that are not UTF-8 stay surrogates, to be written back as
    those bytes (``surrogateescape``). Never for paths: those stay in the file system's
    encoding. Text that came from no command line (a caller's own) is left as it is."""
    try:
        given = os.fsencode(value)
    except UnicodeEncodeError:
        return value
    return given.decode("utf-8", "surrogateescape")


def parse_bool(text: str) -> bool:
    """A flag's ``BOOL``: what Go's ``strconv.ParseBool`` takes for skopeo's flags (``1``,
    ``t``, ``true``, ``0``, ``f``, ``false``, in any case), and ``yes``/``no``/``on``/``off``."""
    value = text.strip().lower()
    if value in ("true", "t", "1", "yes", "on"):
        return True
    if value in ("false", "f", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f'"{text}" is not true or false')


class Offered(tuple[str, ...]):
    """A flag's ``choices`` that argparse takes any value for, its command checking the
    value itself with a sentence of its own (``sync --src oci``: what sync takes, exit
    status 1): the values offered by shell completion (:mod:`spyglass.cli.completion`
    reads every flag's ``choices``), not a usage error for one outside them."""

    def __contains__(self, value: object) -> bool:
        return True


def refusing(refused: Mapping[str, str]) -> Callable[[str], str]:
    """A flag's ``type`` that refuses the values skopeo takes for what Spyglass does not
    write (``refused``: each one's sentence, after "VALUE is"), a usage error that says
    so and what to use, where ``choices`` alone said "invalid choice"."""

    def value(text: str) -> str:
        if text in refused:
            raise argparse.ArgumentTypeError(f"{text} is {refused[text]}")
        return text

    value.__name__ = "value"  # (argparse names the type in other errors)
    return value


def platform_argument(text: str) -> str:
    """``--platform``'s value, checked as argparse parses it: a malformed one is a usage
    error (exit status 2), said in a sentence; several joined by commas (as buildx takes
    them) are told to be given one ``--platform`` each."""
    several = " ".join(f"--platform {part.strip()}" for part in text.split(",") if part.strip())
    return _checked_platform(text, f"repeat --platform for each: {several}")


def one_platform_argument(text: str) -> str:
    """``--platform`` of a command that takes one (inspect): as :func:`platform_argument`
    checks it."""
    return _checked_platform(text, "inspect describes one image: name one of them")


def _checked_platform(text: str, several: str) -> str:
    """``text``, if it is a platform; a usage error says why not (``several``: what to do
    with several joined by commas)."""
    from spyglass.core.platform import Platform

    try:
        Platform.parse(text)
    except SpyglassError as exc:
        said = str(exc).rstrip(".")
        raise argparse.ArgumentTypeError(f"{said}; {several}" if "," in text else said) from None
    return text


def count_argument(text: str, minimum: int = 0) -> int:
    """A count flag's value (``--retry-times``): a whole number, ``minimum`` or more;
    anything else is a usage error (exit status 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a whole number') from None
    if value < minimum:
        what = "negative" if value < 0 else "too few"
        raise argparse.ArgumentTypeError(f"{value} is {what}; expected {minimum} or more")
    return value


def positive_count_argument(text: str) -> int:
    """A count flag that needs at least one (``--parallel``)."""
    return count_argument(text, 1)


def optional_path(text: str) -> Path | None:
    """A path flag of skopeo's (``--authfile``, ``--digestfile``, ``--policy``,
    ``--tmpdir``, …): an empty value is the flag not given, as Go's pflag and skopeo
    read it (a CI template's ``--authfile "$AUTH_FILE"`` whose variable is empty), not
    the current folder (``Path("")`` is ``.``)."""
    return Path(text) if text else None


def path_argument(text: str) -> Path:
    """A path flag that changes what the result means (``signatures --key``): an empty
    value is a usage error that says so, not the current folder (``Path("")`` is ``.``),
    nor the flag left out, which would list what it was to verify unverified."""
    if not text:
        raise argparse.ArgumentTypeError("the value is empty; expected a file")
    return Path(text)


GLOBAL_USES: Final = frozenset({"policy", "tmpdir", "registries.d", "override"})
"""What skopeo's global flags do, by the name a command's ``uses`` gives them: ``policy``
(``--policy``, ``--insecure-policy``: copy and sync), ``tmpdir`` (big temporary files:
what reads archives), ``registries.d`` (lookaside signature stores: what reads
signatures), ``override`` (``--override-os/-arch/-variant``: what picks an image of a
list for this system)."""

NOT_USED: Final = "accepted for skopeo's scripts; not used by this command"
"""The help of a global flag a command takes only so that skopeo's scripts run."""


def add_override_flags(parser: argparse._ActionsContainer, *, here: bool = False,
                       uses: Collection[str] = GLOBAL_USES,
                       platform_note: str = "; not with --platform") -> None:
    """skopeo's global flags ``--insecure-policy`` and ``--override-os/-arch/-variant``
    (and those of :func:`~spyglass.cli.skopeo_globals.add_global_flags`): before the
    command, or (``here``) after it, as skopeo takes its global flags anywhere. Those the
    command does not use (not in ``uses``, of :data:`GLOBAL_USES`) say so in its help;
    ``platform_note`` ends the overrides' help (a command without ``--platform``: "")."""
    from spyglass.cli.skopeo_globals import add_global_flags

    parser.add_argument(
        "--insecure-policy", action=GoBool, metavar="BOOL",
        default=argparse.SUPPRESS if here else None,
        help="copy without checking the source against the signature policy "
        "(containers-policy.json)" if "policy" in uses
        else f"{NOT_USED} (it asks no policy)")
    add_global_flags(parser, here=here, uses=uses)
    if here:  # before the command, the parser's own
        parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                            help="show a traceback for unexpected errors")
    for part, example in (("os", "linux"), ("arch", "arm64"), ("variant", "v8")):
        parser.add_argument(
            f"--override-{part}", metavar=part.upper(),
            # after the command: unset unless given, so the value before it stays
            default=argparse.SUPPRESS if here else None,
            help=f"choose the image of a list as if this machine's {part} were {part.upper()} "
            f"(e.g. {example}), as skopeo does{platform_note}" if "override" in uses
            else NOT_USED)


def add_registry_options(parser: argparse.ArgumentParser, *, uses: Collection[str],
                         login: bool = False, image: bool = False) -> None:
    """skopeo's flags for reaching a registry (``login`` has its own for credentials), and
    its global flags after the command (those the command ``uses``: see
    :func:`add_override_flags`); with ``image``, its flags for an image elsewhere
    (inspect's and delete's ``--daemon-host``, ``--shared-blob-dir``), refused."""
    add_override_flags(parser.add_argument_group("skopeo's global flags"), here=True,
                       uses=uses)
    for flags, does in SKOPEO_IMAGE_FLAGS if image else ():
        add_skopeo_only(parser, flags, does)
    group = parser.add_argument_group("registry access")
    group.add_argument(
        "--creds", metavar="USER[:PASS]", type=argv_text,
        help="credentials for the registry (asks for the password when it is left out)",
    )
    if not login:
        add_credential_flags(group, "the registry")
    group.add_argument("--authfile", type=optional_path, metavar="FILE",
                       # login never writes auth files: only --get-login reads one
                       help="with --get-login: read this auth.json only" if login else
                       "read credentials from this auth.json only")
    group.add_argument(
        "--tls-verify", action=GoBool, default=None, metavar="BOOL",
        help="require HTTPS and verify certificates (default true; without the flag a "
        "registry on this machine may also answer plain HTTP)",
    )
    group.add_argument("--cert-dir", type=optional_path, metavar="DIR",
                       help="use *.crt, *.cert and *.key files in DIR for TLS")
    group.add_argument("--retry-times", type=count_argument, default=3, metavar="N",
                       help="retry failed requests N times (default 3)")


def ask_password(
    credentials: Credentials, host: str | None = None, flag: str = "--creds"
) -> Credentials:
    """Ask for the password of ``--creds USER`` (``flag``) on the terminal; refuse
    without one."""
    if credentials.password:
        return credentials
    if not stdin_is_terminal():
        raise SpyglassError(
            f'No password given for "{credentials.username}"; use {flag} USER:PASSWORD '
            f"({flag} USER: for an empty one), or run on a terminal to be asked."
        )
    from spyglass.core.credentials import Credentials

    where = f" for {host}" if host else ""
    password = typed(f"Password{where}: ", secret=True)
    return Credentials(credentials.username, password, source=credentials.source)


def stdin_is_terminal() -> bool:
    """Whether standard input is a terminal a person can type at: not a file, a pipe or
    ``/dev/null``, and not one that is closed (``<&-``, as CI runners and daemons may
    start a program: Python then has no ``sys.stdin`` at all)."""
    stream = sys.stdin
    if stream is None:
        return False
    try:
        return stream.isatty()
    except (OSError, ValueError):  # (closed since)
        return False


def typed(prompt: str, *, secret: bool = False) -> str:
    """What a person types at the terminal after ``prompt`` (not echoed when ``secret``),
    as the bytes typed, read as UTF-8 (:func:`argv_text`: credentials go on as given,
    whatever the locale); a locale that cannot read them (``LC_ALL=C`` without Python's
    UTF-8 mode, and a non-ASCII password) is said."""
    try:
        text = getpass.getpass(prompt) if secret else input(prompt)
    except UnicodeDecodeError:
        raise SpyglassError(
            f"What was typed cannot be read in this locale's encoding "
            f"({sys.getfilesystemencoding()}); give it with --password-stdin, or use a "
            "UTF-8 locale (LC_ALL=C.UTF-8)."
        ) from None
    return argv_text(text)


def command_line_credentials(text: str, host: str | None, flag: str = "--creds") -> Credentials:
    """``--creds USER[:PASS]`` as skopeo reads it: ``USER:`` sends an empty password,
    as skopeo does; ``USER`` alone asks for the password on a terminal."""
    from spyglass.core.credentials import parse_creds

    credentials = parse_creds(text, flag)
    return credentials if ":" in text else ask_password(credentials, host, flag)


def add_credential_flags(
    group: argparse._ActionsContainer, which: str, side: str | None = None
) -> None:
    """skopeo's other ways to give credentials: ``--username``/``--password``,
    ``--no-creds``, ``--registry-token`` (``--src-…``/``--dest-…`` with ``side``)."""
    prefix = f"--{side}-" if side else "--"
    group.add_argument(f"{prefix}username", metavar="USER", type=argv_text,
                       help=f"the user name for {which} (with {prefix}password; instead of "
                       f"{prefix}creds, for a password holding a colon)")
    group.add_argument(f"{prefix}password", metavar="PASS", type=argv_text,
                       help=f"the password for {which} (with {prefix}username)")
    group.add_argument(f"{prefix}no-creds", action="store_true",
                       help=f"access {which} anonymously: no stored credentials are used")
    group.add_argument(f"{prefix}registry-token", metavar="TOKEN", type=argv_text,
                       help=f"a Bearer token to present to {which} as it is")


def check_credential_flags(args: argparse.Namespace, side: str | None = None) -> None:
    """Refuse credential flags (of one ``side`` of a copy) that contradict each other, or
    one given without its pair: for any image, as skopeo refuses them whatever the
    transport (a side that is no registry uses none of them)."""

    def given(name: str) -> bool:
        return getattr(args, f"{side}_{name}" if side else name, None) not in (None, False)

    def flag(name: str) -> str:
        return f"--{side}-{name}" if side else f"--{name}"

    for first, second in (("creds", "no-creds"), ("username", "no-creds"),
                          ("creds", "username")):
        if given(first.replace("-", "_")) and given(second.replace("-", "_")):
            raise SpyglassError(f"{flag(first)} and {flag(second)} contradict each other; "
                                "give one of them.")
    if given("username") != given("password"):
        named, missing = ("username", "password") if given("username") else (
            "password", "username")
        raise SpyglassError(f"{flag(named)} needs {flag(missing)} too.")


def registry_options(
    args: argparse.Namespace, host: str | None = None, side: str | None = None
) -> RegistryOptions:
    """The registry flags of a command as :class:`RegistryOptions`; with ``side``
    (``src``, ``dest``) those of one side of a copy, whose own ``--src-authfile`` or
    ``--dest-authfile`` wins over ``--authfile``. Contradicting flags are refused
    with a sentence, as skopeo refuses them."""
    from dataclasses import replace

    from spyglass.core.credentials import REGISTRY_TOKEN_SOURCE, Credentials
    from spyglass.core.transports.registry import RegistryOptions

    def value(name: str) -> object:
        return getattr(args, f"{side}_{name}" if side else name, None)

    def flag(name: str) -> str:
        return f"--{side}-{name}" if side else f"--{name}"

    check_credential_flags(args, side)
    creds_text, username, password = value("creds"), value("username"), value("password")
    no_creds, token = bool(value("no_creds")), value("registry_token")
    credentials: Credentials | None = None
    if isinstance(creds_text, str):
        credentials = command_line_credentials(creds_text, host, flag("creds"))
    elif isinstance(username, str) and isinstance(password, str):
        if not username:
            raise SpyglassError(f"The {flag('username')} value is empty; give a user name.")
        credentials = Credentials(username, password, source="command line",
                                  given_with=f"{flag('username')} and {flag('password')}")
    if isinstance(token, str):
        if not token:
            raise SpyglassError(f"The {flag('registry-token')} value is empty; give a token.")
        credentials = replace(
            credentials or Credentials("", "", source=REGISTRY_TOKEN_SOURCE),
            registry_token=token)
    authfile = value("authfile")
    tls_verify = value("tls_verify")
    if tls_verify is None and side:  # copy's --tls-verify: skopeo's, for both sides
        tls_verify = getattr(args, "tls_verify", None)
    return RegistryOptions(
        credentials=credentials,
        anonymous=no_creds,
        authfile=authfile if isinstance(authfile, Path) else args.authfile,
        tls_verify=tls_verify if isinstance(tls_verify, bool) else None,
        cert_dir=getattr(args, f"{side}_cert_dir" if side else "cert_dir"),
        retry_times=max(0, args.retry_times),
        registries_d=args.registries_d,
    )
