"""skopeo's global flags that are more than a switch: ``--policy``, ``--tmpdir``,
``--registries.d``, ``--registries-conf`` and ``--command-timeout``, taken before or after
the command as skopeo takes them (``--registries.d`` only before it in skopeo 1.9), each
either done as skopeo does it or refused with a sentence. ``--registries-conf FILE``
is read in place of the main registries.conf (the drop-in folders still after it), as
skopeo reads it."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Final

from spyglass.cli.common import GLOBAL_USES, NOT_USED, add_skopeo_only, optional_path
from spyglass.core.errors import SpyglassError

_REFUSED: Final = {
    "--command-timeout": "sets a time limit for the whole command, which Spyglass does not "
    "have: run it under timeout(1) (timeout 10m spyglass …)",
}


def add_global_flags(parser: argparse._ActionsContainer, *, here: bool,
                     uses: Collection[str] = GLOBAL_USES) -> None:
    """The flags; ``here`` for after the command (unset unless given, so a value given
    before the command stays). Those the command does not use (not in ``uses``) say so."""
    unset = argparse.SUPPRESS if here else None
    parser.add_argument(
        "--policy", type=optional_path, metavar="FILE", default=unset,
        help="the containers-policy.json copy checks its source against (default: "
        "~/.config/containers/policy.json, else /etc/containers/policy.json): a copy it "
        "rejects, or accepts only signed, is refused" if "policy" in uses
        else f"{NOT_USED} (it asks no policy; a FILE that cannot be read is refused all "
        "the same)")
    parser.add_argument(
        "--tmpdir", type=optional_path, metavar="DIR", default=unset,
        help="where big temporary files go (as $TMPDIR)" if "tmpdir" in uses else NOT_USED)
    parser.add_argument(
        "--registries.d", dest="registries_d", type=optional_path, metavar="DIR", default=unset,
        help="read lookaside signature stores from DIR/*.yaml" if "registries.d" in uses
        else NOT_USED)
    parser.add_argument(
        "--registries-conf", dest="registries_conf", type=optional_path, metavar="FILE",
        default=unset,
        help="read registries.conf from FILE in place of the usual one (blocked "
        "registries, mirrors, location, insecure; the registries.conf.d files still apply)")
    for flag, does in _REFUSED.items():
        add_skopeo_only(parser, [flag], does)


def apply_global_flags(args: argparse.Namespace) -> None:
    """Check ``--policy`` and put ``--tmpdir`` and ``--registries-conf`` in force, before
    the command runs."""
    policy: Path | None = getattr(args, "policy", None)
    if policy is not None and not getattr(args, "insecure_policy", False):
        check_policy(policy)  # with --insecure-policy no policy is read, as in skopeo
    folder: Path | None = getattr(args, "tmpdir", None)
    if folder is not None:
        if not folder.is_dir():
            raise SpyglassError(f'--tmpdir "{folder}" is not a folder; expected the folder for '
                                "big temporary files.")
        from spyglass.core.transports.big_files import tmpdir_given

        tmpdir_given(folder)  # $TMPDIR, and advice to choose another names --tmpdir
        tempfile.tempdir = None  # asked again, from $TMPDIR
    conf: Path | None = getattr(args, "registries_conf", None)
    if conf is not None:
        from spyglass.core.registries_conf import use_file

        use_file(conf)  # a file that cannot be used refuses every registry, as in skopeo


def check_policy(path: Path) -> None:
    """Refuse a ``--policy`` file that cannot be read or is no containers-policy.json,
    whatever the command (as before a copy, which then decides by it: see
    :mod:`spyglass.core.policy`)."""
    from spyglass.core.policy import load_policy

    load_policy(path)
