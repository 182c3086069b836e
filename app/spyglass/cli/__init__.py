"""The command line: ``spyglass SUBCOMMAND …`` over the same core as the window.

With no arguments ``spyglass`` opens the window. Results go to stdout, errors to
stderr as one sentence with a non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from spyglass import __version__
from spyglass.core.errors import InvalidReference, SpyglassError

EXIT_ERROR = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one sentence on stderr."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"spyglass: {message[0].upper()}{message[1:]}.\n")


def resolve_name(text: str) -> Any:
    """Parse an image name; a bare path that exists is taken as the layout or archive it is."""
    from spyglass.core.reference import parse_image_name
    from spyglass.core.transports import detect_location_kind

    try:
        return parse_image_name(text)
    except InvalidReference:
        path = Path(text)
        if ":" in text.split("/")[0] or not path.exists():
            raise
        return parse_image_name(f"{detect_location_kind(path)}:{path}")


def _write_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=4, ensure_ascii=False) + "\n")


def _write_bytes(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def cmd_inspect(args: argparse.Namespace) -> int:
    from spyglass.core.image import load_image, load_manifest
    from spyglass.core.inspect import inspect_output
    from spyglass.core.platform import Platform
    from spyglass.core.transports import open_source

    name = resolve_name(args.name)
    platform = Platform.parse(args.platform) if args.platform else None
    source = open_source(name)
    try:
        if args.raw and not args.config and platform is None:
            top = load_manifest(source)
            _write_bytes(top.raw)
            return 0
        image = load_image(source, platform=platform)
        if args.config:
            if image.config is None:
                raise SpyglassError(
                    f"{args.name} is an artifact; its config "
                    f"({image.manifest.media_type}) is not an image config."
                )
            if args.raw:
                _write_bytes(image.config.raw)
            else:
                _write_json(image.config.data)
            return 0
        if args.raw:
            _write_bytes(image.manifest.raw)
            return 0
        _write_json(inspect_output(image, name, []))
        return 0
    finally:
        source.close()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="spyglass",
        description="Browse, inspect and copy container images. "
        "Without a command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"spyglass {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback for unexpected errors"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    inspect = commands.add_parser(
        "inspect",
        help="describe an image as JSON",
        description="Describe an image (fields as skopeo inspect prints them). "
        "NAME is TRANSPORT:REFERENCE — oci:PATH[:REF], dir:PATH, "
        "docker-archive:PATH[:NAME:TAG|:@N], oci-archive:PATH[:REF] — or a path.",
    )
    inspect.add_argument("name", metavar="NAME")
    inspect.add_argument("--raw", action="store_true", help="print the manifest's exact bytes")
    inspect.add_argument("--config", action="store_true", help="print the image config")
    inspect.add_argument(
        "--platform", metavar="OS/ARCH[/VARIANT]", help="the instance of a list to describe"
    )
    inspect.set_defaults(func=cmd_inspect)
    return parser


def _open_window(argv: Sequence[str]) -> int:
    from spyglass.gui.app import run

    return run(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list and Path(args_list[0]).exists() and len(args_list) == 1):
        return _open_window(args_list)
    parser = build_parser()
    args = parser.parse_args(args_list)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        return _open_window([])
    try:
        return func(args)
    except SpyglassError as exc:
        print(f"spyglass: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("spyglass: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_ERROR
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"spyglass: unexpected internal error ({type(exc).__name__}: {exc}); "
            "run with --debug for details and please report it.",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
