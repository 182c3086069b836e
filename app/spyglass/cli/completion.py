"""The completion scripts ``spyglass completion bash|zsh|fish`` prints, written from the
command line's own parser (:func:`spyglass.cli.build_parser`), so that every command,
flag and fixed set of values (a flag's ``choices``) is completed as it is parsed.

What the parser cannot say is said here: what each command's arguments name
(:data:`_ARGUMENTS`: an image, a path, a host), and the transports an image name starts
with (:class:`~spyglass.core.reference.Transport`). The scripts complete from what they
hold and from the folder being completed: no registry is asked, nothing is run.
"""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import dataclass
from typing import Final, Literal

from spyglass import __version__
from spyglass.cli.common import SPACED_BOOL_FLAGS, GoBool, optional_path, path_argument
from spyglass.core.reference import Transport

Kind = Literal["none", "words", "file", "dir", "path", "image"]
"""What completes a value: nothing (free text), a fixed set of ``words``, a file (or a
folder on the way to one), a folder, either (``path``), an image name (a transport, then
a path after a local one)."""


@dataclass(frozen=True)
class Value:
    """What completes one value: its :data:`Kind`, and the words of ``words``; or, where
    a flag's value says what the value names (``sync --src dir SOURCE``), the kind of
    each of that flag's values (``chosen``), ``kind`` when the flag is not given.

    Attributes:
        by: the spellings of that flag (``--src``, ``-s``); the last one given counts
            (in zsh, where both spellings are given, the first of ``by``).
        chosen: the kind for each of its values, by value."""

    kind: Kind
    words: tuple[str, ...] = ()
    by: tuple[str, ...] = ()
    chosen: tuple[tuple[str, Kind], ...] = ()

    def kinds(self) -> tuple[Kind, ...]:
        """Every kind this value may be completed as: its own, then those chosen."""
        return (self.kind, *(kind for _, kind in self.chosen))


@dataclass(frozen=True)
class Flag:
    """A flag as completion offers it.

    Attributes:
        names: its spellings (``-f``, ``--format``).
        value: what completes the value it takes; None for one that takes none.
        switch: an on/off flag (:class:`GoBool`): ``--flag=BOOL`` only, never the next word
            (unless it is one of :data:`SPACED_BOOL_FLAGS` and the word a BOOL).
        hidden: not offered (left out of help: skopeo's flags Spyglass refuses), yet its
            value is skipped when the arguments are counted.
        help: its help, one line."""

    names: tuple[str, ...]
    value: Value | None
    switch: bool
    hidden: bool
    help: str


@dataclass(frozen=True)
class Command:
    """A command (``name`` "" for what comes before one): its spellings, help, flags and
    what completes each of its arguments."""

    name: str
    names: tuple[str, ...]
    help: str
    flags: tuple[Flag, ...]
    arguments: tuple[Value, ...]


IMAGE: Final = Value("image")
_ARGUMENTS: Final[dict[tuple[str, str], Value]] = {
    ("inspect", "name"): IMAGE,
    ("copy", "source"): IMAGE,
    ("copy", "destination"): IMAGE,
    ("signatures", "name"): IMAGE,
    ("tags", "name"): IMAGE,
    ("delete", "name"): Value("words", ("docker://",)),  # (a registry's image only)
    # REGISTRY/REPOSITORY (no registry asked), a folder of dir: images, a yaml file
    ("sync", "source"): Value("path", by=("--src", "-s"), chosen=(
        ("docker", "none"), ("dir", "dir"), ("yaml", "file"))),
    ("sync", "destination"): Value("path", by=("--dest", "-d"), chosen=(
        ("docker", "none"), ("dir", "dir"))),
    ("catalog", "host"): Value("none"),  # (no registry looked up: instant and offline)
    ("login", "host"): Value("none"),
    ("logout", "host"): Value("none"),
}
"""What completes each command's arguments, by command and argument (its ``dest``); an
argument with ``choices`` completes those and needs no entry. A command's argument
missing here fails the script's writing (and its test), rather than going uncompleted."""


def image_prefixes() -> tuple[str, ...]:
    """How an image name starts, one per transport: ``docker://``, ``oci:``, …"""
    return tuple(f"{transport}://" if transport is Transport.DOCKER else f"{transport}:"
                 for transport in Transport)


def local_transports(kind: Kind) -> tuple[str, ...]:
    """The transports whose name is followed by a folder (``dir``) or a file (``file``)."""
    folders = (Transport.OCI, Transport.DIR)
    return tuple(str(t) for t in Transport if t is not Transport.DOCKER
                 and (t in folders) == (kind == "dir"))


def commands(parser: argparse.ArgumentParser) -> list[Command]:
    """What completion offers of ``parser``: before any command first, then each command
    in the order of help."""
    top = _command("", ("",), "", parser)
    subparsers = next(action for action in parser._actions
                      if isinstance(action, argparse._SubParsersAction))
    found = [top]
    for choice in subparsers._choices_actions:
        sub = subparsers.choices[choice.dest]
        names = tuple(name for name, each in subparsers.choices.items() if each is sub)
        found.append(_command(choice.dest, names, choice.help or "", sub))
    return found


def _command(name: str, names: tuple[str, ...], help_text: str,
             parser: argparse.ArgumentParser) -> Command:
    flags: list[Flag] = []
    arguments: list[Value] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        if action.option_strings:
            flags.append(_flag(action))
        elif action.choices is not None:
            arguments.append(Value("words", tuple(str(c) for c in action.choices)))
        else:
            value = _ARGUMENTS.get((name, action.dest))
            if value is None:
                raise LookupError(f'what completes the argument "{action.dest}" of '
                                  f'"{name}" is not said in spyglass.cli.completion')
            arguments.append(value)
    spellings = {name for action in parser._actions for name in action.option_strings}
    for argument in arguments:
        if not set(argument.by) <= spellings:
            raise LookupError(f'the flags {", ".join(argument.by)} said in '
                              f'spyglass.cli.completion are not all flags of "{name}"')
    return Command(name, names, _one_line(help_text), tuple(flags), tuple(arguments))


def _flag(action: argparse.Action) -> Flag:
    switch = isinstance(action, GoBool)
    value: Value | None = None
    if switch:
        value = Value("words", ("true", "false"))
    elif action.nargs in (None, 1):
        if action.choices is not None:
            value = Value("words", tuple(str(c) for c in action.choices))
        elif action.type in (optional_path, path_argument):
            value = Value("dir" if action.metavar == "DIR" else "file")
        else:
            value = Value("none")
    hidden = action.help == argparse.SUPPRESS
    return Flag(tuple(action.option_strings), value, switch, hidden,
                "" if hidden else _one_line(action.help or ""))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def script(shell: str) -> str:
    """The completion script for ``shell`` (one of
    :data:`~spyglass.cli.completion_cmd.SHELLS`)."""
    from spyglass.cli import build_parser

    found = commands(build_parser())
    writers = {"bash": _bash, "zsh": _zsh, "fish": _fish}
    return writers[shell](found)


def _header(shell: str, load: str, install: str) -> str:
    return (f"# {shell} completion for spyglass, written by `spyglass completion {shell}` "
            f"(Spyglass {__version__}).\n"
            f"# This shell: {load}\n# Every new shell: {install}\n"
            "# Write it again after an update of Spyglass, for its new commands and flags.\n")


# ------------------------------------------------------------------------------- bash

_BASH: Final = r"""
# words, cword: the command line's words, as bash split them at the characters of
# COMP_WORDBREAKS (oci:/tmp/x is oci, :, /tmp/x by default) joined again where no
# space parted them, as spyglass reads them; cur: the current word up to the cursor
__spyglass_words() {
    words=() cword=0 cur=
    local at=0 start=0 i word gap
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        word=${COMP_WORDS[i]}
        gap=0
        while [[ ${COMP_LINE:at:1} == [[:space:]] ]]; do
            ((at++)) || :
            gap=1
        done
        if ((i > 0 && !gap)); then
            words[${#words[@]}-1]+=$word
        else
            words+=("$word")
            start=$at
        fi
        if ((i == COMP_CWORD)); then
            cword=$((${#words[@]} - 1))
            cur=${COMP_LINE:start:COMP_POINT-start}
            return
        fi
        ((at += ${#word})) || :
    done
}

# cur as spyglass is given it, its quotes and backslashes taken out; tilde: 1 where it
# starts with a ~ the shell expands; quote: the quote (' or ") left open in it, if
# any; at: where in cur the text bash puts a reply in place of begins: after that
# quote, or else after the last character of COMP_WORDBREAKS not quoted (the ':' of
# oci:/tmp/x, the '=' of --format=oci)
__spyglass_dequote() {
    local raw=$cur i char opened=0 broken=0
    cur= quote= tilde=0
    [[ $raw != \~* ]] || tilde=1
    for ((i = 0; i < ${#raw}; i++)); do
        char=${raw:i:1}
        if [[ -n $quote ]]; then
            if [[ $char == "$quote" ]]; then
                quote=
                continue
            elif [[ $quote == \" && $char == \\ && ${raw:i+1:1} == [\$\`\"\\] ]]; then
                ((i++)) || :
                char=${raw:i:1}
            fi
        elif [[ $char == [\"\'] ]]; then
            quote=$char opened=${#cur}
            continue
        elif [[ $char == \\ ]]; then
            ((i++)) || :
            char=${raw:i:1}
        elif [[ ${COMP_WORDBREAKS-} == *"$char"* ]]; then
            broken=$((${#cur} + 1))
        fi
        cur+=$char
    done
    at=$broken
    [[ -z $quote ]] || at=$opened
}

# COMPREPLY, each a whole word as spyglass is given it, as bash puts it in place of
# its text (cur from at on): as the quote left open reads it, or else with backslashes
# (a ~ starting the word left for the shell to expand)
__spyglass_quote() {
    local each rest written=()
    for each in "${COMPREPLY[@]}"; do
        rest=${each:at}
        case $quote in
        \') rest=${rest//\'/\'\\\'\'} ;;
        \")
            rest=${rest//\\/\\\\}
            rest=${rest//\"/\\\"}
            rest=${rest//\$/\\\$}
            rest=${rest//\`/\\\`}
            ;;
        *)
            if ((at == 0)) && [[ $rest == \~?* ]]; then
                printf -v rest %q "${rest:1}"
                rest=\~$rest
            elif [[ -n $rest && $rest != \~ ]]; then
                printf -v rest %q "$rest"
            fi
            ;;
        esac
        written+=("$rest")
    done
    COMPREPLY=("${written[@]}")
}

# COMPREPLY: the files and folders (-f) or folders (-d, $1) whose path starts with $3,
# each after $2, a folder ending in /; a ~ starting the path is the home folder, left
# for the shell where it expands it (the word starts with ~ unquoted), else written out
# (after oci: or in quotes no shell expands it); ~user… there is not looked up
__spyglass_paths() {
    local path found=() typed=$3
    if [[ $typed == \~* && ( -n $2 || $tilde == 0 ) ]]; then
        [[ $typed == \~ || $typed == \~/* ]] || return 0
        typed=${HOME-}${typed:1}
    fi
    mapfile -t found < <(compgen "$1" -- "$typed")
    COMPREPLY=()
    for path in "${found[@]}"; do
        [[ -d ${path/#\~/${HOME-}} ]] && path+=/
        COMPREPLY+=("$2$path")
    done
    __spyglass_files=1
}

# COMPREPLY: what completes $3, the value of kind $1 (words: $4…), each after $2
__spyglass_complete() {
    local kind=$1 prefix=$2 text=$3
    shift 3
    case $kind in
    words)
        local IFS=$'\n'
        mapfile -t COMPREPLY < <(compgen -P "$prefix" -W "$*" -- "$text")
        ;;
    file) __spyglass_paths -f "$prefix" "$text" ;;
    dir) __spyglass_paths -d "$prefix" "$text" ;;
    path) __spyglass_paths -f "$prefix" "$text" ;;
    image)
        case $text in
        @FOLDER_TRANSPORTS@) __spyglass_paths -d "$prefix${text%%:*}:" "${text#*:}" ;;
        @FILE_TRANSPORTS@) __spyglass_paths -f "$prefix${text%%:*}:" "${text#*:}" ;;
        [/.~]*) __spyglass_paths -f "$prefix" "$text" ;;
        *)  # a transport (after docker://, nothing: no registry is asked)
            local IFS=$'\n'
            mapfile -t COMPREPLY < <(compgen -P "$prefix" -W "@IMAGE_PREFIXES@" -- "$text")
            __spyglass_files=1  # (no space after oci:)
            ;;
        esac
        ;;
    esac
}

# the shell's set -e (errexit) is off in a function called in a || list: a command
# failing in the completion (compgen matching nothing) never ends the user's shell
_spyglass() {
    __spyglass_main || :
}

__spyglass_main() {
    local words cword cur quote at tilde command= arguments=0 dashes=0 pending= i word
    local __spyglass_files=0 commands flags takes switches kinds
    local -a given=()  # the flags given with a value, each followed by its value
    COMPREPLY=()
    __spyglass_words
    __spyglass_dequote
    __spyglass_command ''
    for ((i = 1; i < cword; i++)); do
        word=${words[i]}
        if ((!dashes)) && [[ $word == -?* ]]; then
            if [[ $word == -- ]]; then
                dashes=1
            elif [[ $word != *=* && " $takes " == *" $word "* ]]; then
                if ((i + 1 == cword)); then
                    pending=$word
                fi
                given+=("$word" "${words[i+1]}")
                ((i++)) || :  # its value
            elif [[ $word == --*=* ]]; then
                given+=("${word%%=*}" "${word#*=}")
            elif [[ $word != *=* && " @SPACED@ " == *" $word "* && " $switches " == *" $word "* \
                    && ${words[i+1],,} =~ ^(true|false|1|0|yes|no|on|off)$ ]]; then
                ((i++)) || :
            fi
        elif [[ -z $command ]]; then
            ((dashes)) && return 0  # (paths for the window)
            command=$word
            __spyglass_command "$command" || return 0
        else
            ((arguments++)) || :
        fi
    done
    if [[ -n $pending ]]; then
        __spyglass_value "$command" "$pending" "" "$cur"
    elif ((!dashes)) && [[ $cur == -*=* && " $switches " == *" ${cur%%=*} "* ]]; then
        __spyglass_complete words "${cur%%=*}=" "${cur#*=}" true false
    elif ((!dashes)) && [[ $cur == --*=* ]]; then
        __spyglass_value "$command" "${cur%%=*}" "${cur%%=*}=" "${cur#*=}"
    elif ((!dashes)) && [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$flags" -- "$cur")
    elif [[ -z $command ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
    else
        local spec=${kinds[arguments]-}  # (none past the command's last argument)
        local -a kind=(${spec//|/ })
        if [[ ${kind[0]-} == by ]]; then  # by|FLAG,FLAG|KIND|VALUE=KIND…
            local chosen=${kind[2]} value= pair
            for ((i = 0; i < ${#given[@]}; i += 2)); do
                [[ ,${kind[1]}, == *,"${given[i]}",* ]] && value=${given[i+1]}
            done
            for pair in "${kind[@]:3}"; do
                [[ ${pair%%=*} == "$value" ]] && chosen=${pair#*=}
            done
            kind=("$chosen")
        fi
        [[ -n ${kind[0]-} ]] && __spyglass_complete "${kind[0]}" "" "$cur" "${kind[@]:1}"
    fi
    __spyglass_quote
    if ((__spyglass_files && ${#COMPREPLY[@]} == 1)) && [[ $COMPREPLY == *[/:] ]]; then
        compopt -o nospace 2>/dev/null || :
    fi
    return 0
}

complete -F _spyglass spyglass
"""


def _bash(found: list[Command]) -> str:
    header = _header("bash", "source <(spyglass completion bash)",
                     "spyglass completion bash > "
                     "~/.local/share/bash-completion/completions/spyglass")
    lines = ["", "# flags (offered), takes (flags that take the next word), switches (on/off",
             "# flags), kinds (what completes each argument, words joined by |) of command $1",
             "__spyglass_command() {", "    case $1 in"]
    for command in found:
        offered = [name for flag in command.flags if not flag.hidden for name in flag.names]
        takes = [name for flag in command.flags if flag.value is not None and not flag.switch
                 for name in flag.names]
        switches = [name for flag in command.flags if flag.switch for name in flag.names]
        kinds = [_bash_kind(argument) for argument in command.arguments]
        pattern = "''" if not command.name else "|".join(command.names)
        lines.append(f"    {pattern})")
        if not command.name:
            names = [name for each in found[1:] for name in each.names]
            lines.append(f"        commands={_bash_word(' '.join(names))}")
        lines += [f"        flags={_bash_word(' '.join(offered))}",
                  f"        takes={_bash_word(' '.join(takes))}",
                  f"        switches={_bash_word(' '.join(switches))}",
                  f"        kinds=({' '.join(_bash_word(kind) for kind in kinds)})",
                  "        ;;"]
    lines += ["    *) return 1 ;;", "    esac", "}", "",
              "# COMPREPLY: what completes $4, the value of flag $2 of command $1, after $3",
              "__spyglass_value() {", '    case $1/$2 in']
    groups: dict[Value, list[str]] = {}
    for command in found:
        for flag in command.flags:
            if flag.value is not None and flag.value.kind != "none" and not flag.switch:
                groups.setdefault(flag.value, []).extend(
                    f"{command.name}/{name}" for name in flag.names)
    for value, keys in groups.items():
        words = " ".join(_bash_word(word) for word in value.words)
        lines.append(f"    {'|'.join(_bash_pattern(key) for key in keys)})")
        lines.append(f'        __spyglass_complete {value.kind} "$3" "$4" {words}'.rstrip())
        lines.append("        ;;")
    lines += ["    esac", "}"]
    body = _BASH.replace("@FOLDER_TRANSPORTS@", "|".join(
        f"{name}:*" for name in local_transports("dir"))).replace(
        "@FILE_TRANSPORTS@", "|".join(f"{name}:*" for name in local_transports("file"))).replace(
        "@IMAGE_PREFIXES@", "\n".join(image_prefixes())).replace(
        "@SPACED@", " ".join(sorted(SPACED_BOOL_FLAGS)))
    return header + "\n".join(lines) + "\n" + body


def _bash_kind(value: Value) -> str:
    """``value`` as ``_spyglass`` reads it: KIND|WORD…, or by|FLAG,FLAG|KIND|VALUE=KIND…"""
    if value.by:
        return "|".join(("by", ",".join(value.by), value.kind,
                         *(f"{word}={kind}" for word, kind in value.chosen)))
    return "|".join((value.kind, *value.words))


def _bash_word(text: str) -> str:
    """``text`` as one word of a bash script (quoted where it needs to be)."""
    return shlex.quote(text) if text else "''"


def _bash_pattern(text: str) -> str:
    """``text`` as a case pattern matching itself alone."""
    return re.sub(r"([^\w/-])", r"\\\1", text)


# -------------------------------------------------------------------------------- zsh

_ZSH_TAIL: Final = r"""
# _files "$@" for a path after a transport, where no shell expands a ~ starting it:
# ~ and ~/… completed as the home folder, written out; ~user… not completed
__spyglass_home() {
    if [[ $PREFIX == '~'(|/*) ]]; then
        PREFIX=$HOME${PREFIX#'~'}
    elif [[ $PREFIX == '~'* ]]; then
        return 1
    fi
    _files "$@"
}

# an image name: a transport, then a folder or file after a local one
__spyglass_image() {
    if compset -P '(@FOLDER_TRANSPORTS@):'; then
        __spyglass_home -/
    elif compset -P '(@FILE_TRANSPORTS@):'; then
        __spyglass_home
    elif [[ $PREFIX == [/.~]* ]]; then
        _files
    else  # a transport (after docker://, nothing: no registry is asked)
        compadd -S '' -- @IMAGE_PREFIXES@
    fi
}

# what a value names as the flag said says (sync --src dir SOURCE: a folder):
# __spyglass_by FLAG,FLAG KIND VALUE=KIND…, KIND where none of the flags is given
__spyglass_by() {
    local flag value= kind=$2 pair
    for flag in ${(s:,:)1}; do
        (( ${+opt_args[$flag]} )) && value=${opt_args[$flag]}
    done
    for pair in ${@:3}; do
        [[ ${pair%%=*} == $value ]] && kind=${pair#*=}
    done
    case $kind in
    file|path) _files ;;
    dir) _files -/ ;;
    *) return 1 ;;  # (a registry's name: none is asked)
    esac
}

_spyglass() {
    local curcontext=$curcontext state state_descr line ret=1
    typeset -A opt_args
    _arguments -C -s -S : @TOP@ \
        '1:command:->command' '*::argument:->argument' && ret=0
    case $state in
    command)
        local -a commands=(@COMMANDS@)
        _describe -t commands 'spyglass command' commands && ret=0
        ;;
    argument)
        curcontext=${curcontext%:*:*}:spyglass-$words[1]:
        case $words[1] in
@CASES@
        esac
        ;;
    esac
    return ret
}

if [[ $funcstack[1] == _spyglass ]]; then
    _spyglass "$@"
else
    compdef _spyglass spyglass
fi
"""


def _zsh(found: list[Command]) -> str:
    header = ("#compdef spyglass\n" + _header(
        "zsh", "source <(spyglass completion zsh)",
        "spyglass completion zsh > ~/.zfunc/_spyglass, with fpath+=(~/.zfunc) before "
        "compinit in ~/.zshrc"))
    top, *rest = found
    cases: list[str] = []
    for command in rest:
        specs = [_zsh_flag(flag, name) for flag in command.flags if not flag.hidden
                 for name in flag.names]
        specs += [_zsh_quote(f"{position}:{_zsh_action(argument)}")
                  for position, argument in enumerate(command.arguments, 1)]
        joined = " \\\n                ".join(specs)
        cases.append(f"        {'|'.join(command.names)})\n"
                     f"            _arguments -s -S : \\\n                {joined} && ret=0\n"
                     "            ;;")
    described = [f"{name}:{command.help.replace(':', chr(92) + ':')}" for command in rest
                 for name in command.names]
    top_specs = [_zsh_flag(flag, name) for flag in top.flags if not flag.hidden
                 for name in flag.names]
    body = (_ZSH_TAIL.replace("@FOLDER_TRANSPORTS@", "|".join(local_transports("dir")))
            .replace("@FILE_TRANSPORTS@", "|".join(local_transports("file")))
            .replace("@IMAGE_PREFIXES@", " ".join(image_prefixes()))
            .replace("@TOP@", " \\\n        ".join(top_specs))
            .replace("@COMMANDS@", " ".join(_zsh_quote(each) for each in described))
            .replace("@CASES@", "\n".join(cases)))
    return header + body


def _zsh_flag(flag: Flag, name: str) -> str:
    """One of ``flag``'s spellings as an ``_arguments`` spec."""
    description = f"[{_zsh_escape(flag.help)}]" if flag.help else ""
    if flag.value is None:
        return _zsh_quote(f"{name}{description}")
    if flag.switch:  # --flag, or --flag=BOOL (never the next word)
        if not name.startswith("--"):
            return _zsh_quote(f"{name}{description}")
        return _zsh_quote(f"{name}=-{description}::{_zsh_action(flag.value)}")
    joined = "=" if name.startswith("--") else "+"  # --flag=V or --flag V; -fV or -f V
    return _zsh_quote(f"{name}{joined}{description}:{_zsh_action(flag.value)}")


def _zsh_action(value: Value) -> str:
    """``MESSAGE:ACTION`` of an ``_arguments`` spec for ``value``."""
    if value.by:
        chosen = " ".join(f"{word}={kind}" for word, kind in value.chosen)
        return f"{value.kind}:{{__spyglass_by {','.join(value.by)} {value.kind} {chosen}}}"
    if value.kind == "words":
        return f"value:({' '.join(_zsh_escape(word) for word in value.words)})"
    return {"none": "value: ", "file": "file:_files", "dir": "folder:_files -/",
            "path": "path:_files", "image": "image:__spyglass_image"}[value.kind]


def _zsh_escape(text: str) -> str:
    """``text`` inside an ``_arguments`` spec: its brackets, colons and backslashes
    escaped."""
    return re.sub(r"([\[\]:\\])", r"\\\1", text)


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


# ------------------------------------------------------------------------------- fish

_FISH_HEAD: Final = r"""
# the command given (its first spelling; - before one, ? for none spyglass has), how
# many of its arguments come before the word completed, then the flags given a value
# (FLAG=VALUE), one a line
function __spyglass_state
    set -l tokens (commandline -opc)
    set -l command -
    set -l takes (__spyglass_takes -)
    set -l arguments 0
    set -l dashes 0
    set -l given
    set -l i 2
    while test $i -le (count $tokens)
        set -l word $tokens[$i]
        if test $dashes = 0; and string match -q -- '-?*' $word
            if test $word = --
                set dashes 1
            else if contains -- $word $takes
                set i (math $i + 1)
                set -a given "$word=$tokens[$i]"
            else if string match -q -- '--*=*' $word
                set -a given $word
            else if contains -- $word @SPACED@; and test $i -lt (count $tokens)
                and string match -qir -- '^(true|false|1|0|yes|no|on|off)$' $tokens[(math $i + 1)]
                set i (math $i + 1)
            end
        else if test $command = -
            set command '?'
            test $dashes = 0; and set command (__spyglass_command $word)
            set takes (__spyglass_takes $command)
        else
            set arguments (math $arguments + 1)
        end
        set i (math $i + 1)
    end
    printf '%s\n' $command $arguments $given
end

# true where the command is $argv[1] (- before one) and, with $argv[2], the word
# completed is its argument number $argv[2] (from 1)
function __spyglass_at
    set -l state (__spyglass_state)
    test "$state[1]" = $argv[1]; or return 1
    test (count $argv) -lt 2; or test (math $state[2] + 1) = $argv[2]
end

# the values of the on/off flags $argv, for the word completed (--flag=BOOL only)
function __spyglass_switch
    set -l token (commandline -ct)
    string match -q -- '--*=*' $token; or return
    set -l flag (string split -m 1 = -- $token)[1]
    contains -- $flag $argv; and printf '%s\n' $flag=true $flag=false
end

# what the word completed names, as a flag given says (sync --src dir SOURCE: a
# folder): __spyglass_by FLAG,FLAG KIND VALUE=KIND…, KIND where none is given
function __spyglass_by
    set -l flags (string split , -- $argv[1])
    set -l kind $argv[2]
    set -l value
    for pair in (__spyglass_state)[3..-1]
        set -l parts (string split -m 1 = -- $pair)
        contains -- $parts[1] $flags; and set value $parts[2]
    end
    for pair in $argv[3..-1]
        set -l parts (string split -m 1 = -- $pair)
        test "$parts[1]" = "$value"; and set kind $parts[2]
    end
    switch $kind
        case file path
            __spyglass_paths file (__spyglass_token) ''
        case dir
            __spyglass_paths dir (__spyglass_token) ''
    end  # (a registry's name: none is asked)
end

# the word completed as spyglass is given it (its quotes and backslashes taken out),
# what fish matches completions with
function __spyglass_token
    set -l token (commandline -ct | string unescape)
    printf '%s\n' "$token"
end

# the files and folders (file) or folders (dir, $argv[1]) whose path starts with
# $argv[2], each after $argv[3] (a transport), a folder ending in /; a ~ starting the
# path is the home folder, kept where fish expands it (nothing before it); after a
# transport no shell expands it, and nothing is offered
function __spyglass_paths
    set -l typed $argv[2]
    set -l home
    if string match -qr '^~(/|$)' -- $typed
        test -z "$argv[3]"; or return 0
        set home $HOME
        test $typed = '~'; and set typed '~/'
        set typed $HOME(string sub -s 2 -- $typed)
    else if string match -q -- '~*' $typed
        return 0  # (~user: not looked up)
    end
    for path in "$typed"*
        if test -d $path
            set path $path/
        else if test $argv[1] = dir
            continue
        end
        if test -n "$home"
            set path '~'(string sub -s (math (string length -- $home) + 1) -- $path)
        end
        printf '%s\n' "$argv[3]$path"
    end
end

# an image name: a transport, then a folder or file after a local one
function __spyglass_image
    set -l token (__spyglass_token)
    set -l parts (string split -m 1 : -- $token)
    switch $token
        case @FOLDER_TRANSPORTS@
            __spyglass_paths dir "$parts[2]" "$parts[1]:"
        case @FILE_TRANSPORTS@
            __spyglass_paths file "$parts[2]" "$parts[1]:"
        case '/*' '.*' '~*'
            __spyglass_paths file $token ''
        case '*'  # a transport (after docker://, nothing: no registry is asked)
            printf '%s\n' @IMAGE_PREFIXES@
    end
end

complete -c spyglass -f
"""


def _fish(found: list[Command]) -> str:
    header = _header("fish", "spyglass completion fish | source",
                     "spyglass completion fish > ~/.config/fish/completions/spyglass.fish")
    top, *rest = found
    lines = ["", "# the first spelling of command $argv[1]", "function __spyglass_command",
             "    switch $argv[1]"]
    for command in rest:
        lines += [f"        case {' '.join(command.names)}", f"            echo {command.name}"]
    lines += ["        case '*'", "            echo '?'", "    end", "end", "",
              "# the flags of command $argv[1] (- before one) that take the next word",
              "function __spyglass_takes", "    switch $argv[1]"]
    for command in found:
        takes = [name for flag in command.flags if flag.value is not None and not flag.switch
                 for name in flag.names]
        lines += [f"        case {command.name or '-'}",
                  f"            printf '%s\\n' {' '.join(_fish_quote(t) for t in takes)}"]
    lines += ["    end", "end", ""]
    lines += _fish_flags(top, "__spyglass_at -")
    for command in rest:
        for name in command.names:
            lines.append(f"complete -c spyglass -n '__spyglass_at -' -a {name} "
                         f"-d {_fish_quote(command.help)}")
    for command in rest:
        lines += _fish_flags(command, f"__spyglass_at {command.name}")
        for position, argument in enumerate(command.arguments, 1):
            lines += _fish_argument(argument, f"__spyglass_at {command.name} {position}")
    body = (_FISH_HEAD.replace("@FOLDER_TRANSPORTS@", " ".join(
        f"'{name}:*'" for name in local_transports("dir"))).replace(
        "@FILE_TRANSPORTS@", " ".join(f"'{name}:*'" for name in local_transports("file")))
        .replace("@IMAGE_PREFIXES@", " ".join(image_prefixes()))
        .replace("@SPACED@", " ".join(sorted(SPACED_BOOL_FLAGS))))
    return header + body + "\n".join(lines) + "\n"


def _fish_flags(command: Command, condition: str) -> list[str]:
    lines = []
    for flag in command.flags:
        if flag.hidden:
            continue
        names = " ".join(f"-l {name[2:]}" if name.startswith("--") else f"-s {name[1:]}"
                         for name in flag.names)
        value = "" if flag.value is None or flag.switch else " " + {
            "none": "-x", "words": f"-x -a {_fish_quote(' '.join(flag.value.words))}",
            "file": "-r -F", "path": "-r -F",
            "dir": "-x -a '(__fish_complete_directories)'",
            "image": "-x -a '(__spyglass_image)'"}[flag.value.kind]
        help_text = f" -d {_fish_quote(flag.help)}" if flag.help else ""
        lines.append(f"complete -c spyglass -n {_fish_quote(condition)} {names}{value}"
                     f"{help_text}")
    switches = [name for flag in command.flags if flag.switch and not flag.hidden
                for name in flag.names if name.startswith("--")]
    if switches:
        lines.append(f"complete -c spyglass -n {_fish_quote(condition)} "
                     f"-a {_fish_quote('(__spyglass_switch ' + ' '.join(switches) + ')')}")
    return lines


def _fish_argument(argument: Value, condition: str) -> list[str]:
    where = f"complete -c spyglass -n {_fish_quote(condition)}"
    if argument.by:
        chosen = " ".join(f"{word}={kind}" for word, kind in argument.chosen)
        call = f"(__spyglass_by {','.join(argument.by)} {argument.kind} {chosen})"
        return [f"{where} -a {_fish_quote(call)}"]
    if argument.kind == "words":
        return [f"{where} -a {_fish_quote(' '.join(argument.words))}"]
    if argument.kind in ("file", "path"):
        return [f"{where} -F"]
    if argument.kind == "dir":
        return [f"{where} -a '(__fish_complete_directories)'"]
    if argument.kind == "image":
        return [f"{where} -a '(__spyglass_image)'"]
    return []


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
