"""``spyglass completion bash|zsh|fish``: the command's parser. The script itself is
written by :mod:`spyglass.cli.completion`, imported only when this command runs (every
command builds the parser; none other needs the script's writer)."""

from __future__ import annotations

import argparse
from typing import Final

from spyglass.cli.common import Commands

SHELLS: Final = ("bash", "zsh", "fish")
"""The shells a completion script is written for."""

_DESCRIPTION: Final = """\
Print a script that completes spyglass's commands and flags in SHELL: the values of a
flag that takes a fixed set (--format, --multi-arch, sync's --src and --dest…), image
names' transports (docker://, oci:, dir:, docker-archive:, oci-archive:) and the paths
after a local one, and the paths of flags that take a file or a folder. Completing asks
no registry and runs nothing: it is instant and offline."""

_INSTALL: Final = """\
To complete in every new shell, install the script where the shell looks:
  bash: spyglass completion bash > ~/.local/share/bash-completion/completions/spyglass
        (read by the bash-completion package; without it, add this line to ~/.bashrc:
        source <(spyglass completion bash))
  zsh:  spyglass completion zsh > ~/.zfunc/_spyglass
        (with fpath+=(~/.zfunc) before compinit in ~/.zshrc)
  fish: spyglass completion fish > ~/.config/fish/completions/spyglass.fish
For this shell only: source <(spyglass completion bash), or zsh's
source <(spyglass completion zsh), or fish's spyglass completion fish | source.
Write it again after an update of Spyglass, for its new commands and flags."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help whose epilog keeps its lines (the commands to install the script)."""


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser(
        "completion",
        help="print a completion script for bash, zsh or fish",
        description=_DESCRIPTION,
        epilog=_INSTALL,
        formatter_class=_Formatter,
    )
    parser.add_argument("shell", metavar="SHELL", choices=SHELLS, type=_shell,
                        help="the shell to complete in: bash, zsh or fish")
    parser.set_defaults(func=run)


def _shell(text: str) -> str:
    """SHELL, one of :data:`SHELLS`; another is a usage error that names them."""
    if text not in SHELLS:
        raise argparse.ArgumentTypeError(
            f'"{text}" is not a shell spyglass writes completion for; expected '
            f"{', '.join(SHELLS[:-1])} or {SHELLS[-1]}")
    return text


def run(args: argparse.Namespace) -> int:
    from spyglass.cli.common import write_text
    from spyglass.cli.completion import script

    write_text(script(args.shell))
    return 0
