"""skopeo's global flags that are more than a switch: ``--policy``, ``--tmpdir``,
``--registries-conf`` and ``--command-timeout``, taken before or after the command as
skopeo takes them, each either done as skopeo does it or refused with a sentence."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Final

from spyglass.core.errors import SpyglassError

_REFUSED: Final = {
    "--registries-conf": "reads registries.conf (search registries for short names, "
    "mirrors, blocked registries), which Spyglass does not: name images in full "
    "(docker://HOST/REPOSITORY:TAG) and leave the flag out",
    "--command-timeout": "sets a time limit for the whole command, which Spyglass does not "
    "have: run it under timeout(1) (timeout 10m spyglass …)",
}


class _Refused(argparse.Action):
    """A skopeo global flag for something Spyglass does not do: a sentence that says so,
    not "unrecognized arguments" (argparse would take its value for the command)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        flag = (option_string or "").split("=", 1)[0]
        parser.error(f"{flag} is skopeo's: it {_REFUSED[flag]}")


def add_global_flags(parser: argparse._ActionsContainer, *, here: bool) -> None:
    """The flags; ``here`` for after the command (unset unless given, so a value given
    before the command stays)."""
    unset = argparse.SUPPRESS if here else None
    parser.add_argument(
        "--policy", type=Path, metavar="FILE", default=unset,
        help="a containers-policy.json: taken when it accepts anything (Spyglass enforces "
        "no signature policy), refused when it requires signatures")
    parser.add_argument(
        "--tmpdir", type=Path, metavar="DIR", default=unset,
        help="where big temporary files go (as $TMPDIR)")
    for flag in _REFUSED:
        parser.add_argument(flag, nargs=1, action=_Refused, metavar="VALUE",
                            help=argparse.SUPPRESS)


def apply_global_flags(args: argparse.Namespace) -> None:
    """Check ``--policy`` and put ``--tmpdir`` in force, before the command runs."""
    policy: Path | None = getattr(args, "policy", None)
    if policy is not None:
        check_policy(policy)
    folder: Path | None = getattr(args, "tmpdir", None)
    if folder is not None:
        if not folder.is_dir():
            raise SpyglassError(f'--tmpdir "{folder}" is not a folder; expected the folder for '
                                "big temporary files.")
        os.environ["TMPDIR"] = str(folder)
        tempfile.tempdir = None  # asked again, from $TMPDIR


_ACCEPTS_ANYTHING: Final = "insecureAcceptAnything"


def check_policy(path: Path) -> None:
    """Refuse a policy that asks for more than Spyglass does (it checks digests, and
    signatures only where it shows them): anything but ``insecureAcceptAnything``."""
    try:
        data: Any = json.loads(path.read_bytes())
    except OSError as exc:
        raise SpyglassError(f'Cannot read the policy "{path}": {exc.strerror or exc}.') from exc
    except ValueError as exc:
        raise SpyglassError(f'The policy "{path}" is not JSON: {exc}.') from exc
    if not isinstance(data, dict) or not isinstance(data.get("default"), list):
        raise SpyglassError(f'The policy "{path}" is not a containers-policy.json (an object '
                            'with a "default" list of requirements, and "transports").')
    scopes: list[tuple[str, Any]] = [("default", data["default"])]
    transports = data.get("transports") or {}
    if isinstance(transports, dict):
        for transport, by_scope in transports.items():
            if isinstance(by_scope, dict):
                scopes += [(f"{transport} {scope or '(all)'}", requirements)
                           for scope, requirements in by_scope.items()]
    asked: list[str] = []
    for scope, requirements in scopes:
        if isinstance(requirements, list) and not requirements:  # as containers/image
            raise SpyglassError(f'The policy "{path}" lists no requirements for {scope}; '
                                "containers/image refuses such a policy.")
        kinds = [r.get("type") if isinstance(r, dict) else None
                 for r in (requirements if isinstance(requirements, list) else [None])]
        asked += [f"{kind} for {scope}" for kind in sorted({str(k) for k in kinds})
                  if kind != _ACCEPTS_ANYTHING]
    if asked:
        raise SpyglassError(
            f'The policy "{path}" asks for more than Spyglass does ({"; ".join(asked)}): '
            "Spyglass enforces no signature policy. Check signatures with spyglass "
            "signatures --key, and leave --policy out.")
