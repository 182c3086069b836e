"""``spyglass inspect``: describe an image as skopeo inspect does."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from spyglass.cli.common import (
    Commands,
    add_registry_options,
    note,
    registry_options,
    resolve_name,
    write_bytes,
    write_json,
)
from spyglass.core.errors import SpyglassError

if TYPE_CHECKING:
    from spyglass.core.image import LoadedImage
    from spyglass.core.platform import Platform


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser(
        "inspect",
        help="describe an image as JSON",
        description="Describe an image (fields as skopeo inspect prints them). "
        "NAME is TRANSPORT:REFERENCE — docker://HOST/REPO[:TAG|@DIGEST], "
        "oci:PATH[:REF|:@N], dir:PATH, docker-archive:PATH[:NAME:TAG|:@N], "
        "oci-archive:PATH[:REF|:@N] — or a path to a layout or archive.",
    )
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("--raw", action="store_true", help="print the manifest's exact bytes")
    parser.add_argument("--config", action="store_true", help="print the image config")
    parser.add_argument(
        "--platform", metavar="OS/ARCH[/VARIANT]", help="the instance of a list to describe"
    )
    parser.add_argument(
        "--no-tags", "-n", action="store_true",
        help="do not list the repository's tags (registries only)",
    )
    add_registry_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spyglass.core.image import load_image, load_manifest
    from spyglass.core.inspect import inspect_output
    from spyglass.core.platform import Platform
    from spyglass.core.reference import DockerName
    from spyglass.core.transports import open_source

    name = resolve_name(args.name)
    platform = Platform.parse(args.platform) if args.platform else None
    options = (
        registry_options(args, name.reference.domain) if isinstance(name, DockerName) else None
    )
    source = open_source(name, options)
    try:
        if args.raw and not args.config and platform is None:
            write_bytes(load_manifest(source).raw)
            return 0
        image = load_image(source, platform=platform)
        _note_platform_unmatched(image, platform)
        if args.config:
            if image.config is None:
                raise SpyglassError(
                    f"{args.name} is an artifact; its config "
                    f"({image.manifest.media_type}) is not an image config."
                )
            if args.raw:
                write_bytes(image.config.raw)
            else:
                write_json(image.config.data)
            return 0
        if args.raw:
            write_bytes(image.manifest.raw)
            return 0
        tags: list[str] = []
        if isinstance(name, DockerName) and options is not None and not args.no_tags:
            from spyglass.core.transports.registry import client_for

            repository = name.reference.path
            tags = client_for(name.reference.domain, options, repository=repository).tags_of(
                repository
            )
        write_json(inspect_output(image, name, tags))
        return 0
    finally:
        source.close()


def _note_platform_unmatched(image: LoadedImage, asked: Platform | None) -> None:
    """Say on stderr when ``--platform`` asked a single image for another platform (as
    skopeo, the image is described all the same; said, not silently)."""
    from spyglass.core.manifest import ImageIndex
    from spyglass.core.platform import Platform

    config = image.config
    if asked is None or isinstance(image.top, ImageIndex) or config is None \
            or not config.os or not config.architecture:
        return
    own = Platform(config.os, config.architecture, config.variant)
    if not asked.matches(own):
        note(f"The image is not a list, and is for {own}: --platform {asked} does not "
             "apply; it is described as it is.")

