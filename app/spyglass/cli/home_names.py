"""Image names of the command line whose path starts with a ``~`` no shell expanded.

A shell expands ``~`` only at the start of a word: in ``oci:~/layout`` it stays, and a
copy there made a folder named ``~`` in the current folder (the window expands it
itself, see :func:`spyglass.gui.copy_names.normalize_name`). skopeo refuses such a name,
as its folder ``~`` is missing; Spyglass, which makes a layout's missing folders, says
what happened instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from spyglass.core.errors import InvalidReference
from spyglass.core.reference import (
    DirName,
    DockerArchiveName,
    ImageName,
    OCIArchiveName,
    OCIName,
    parse_image_name,
)
from spyglass.core.transports import resolve_name as resolve_any_name


def refuse_unexpanded_home(name: ImageName, text: str) -> ImageName:
    """``name`` (parsed from ``text``), unless it is a local image whose path starts with
    ``~`` or ``~USER`` (one the shell would have expanded) and nothing of that name is
    in the current folder: :class:`InvalidReference` then says to write ``$HOME``."""
    if not isinstance(name, OCIName | DirName | DockerArchiveName | OCIArchiveName):
        return name
    parts = Path(name.path).parts
    first = parts[0] if parts else ""
    if not first.startswith("~") or os.path.lexists(first):
        return name
    home = "$HOME" if first == "~" else os.path.expanduser(first)
    if home == first:
        return name  # ~NAME of no user: the shell leaves it as it is too
    prefix = f"{name.transport}:{first}"
    written = f"{name.transport}:{home}{text[len(prefix):]}" if text.startswith(prefix) \
        else f"{name.transport}:{home}/…"
    raise InvalidReference(
        f'"{text}" names a folder "{first}" in the current folder, which is not there: a '
        f'shell expands "{first}" only at the start of a word, not after '
        f'"{name.transport}:". Write {written}.')


def resolve_name(text: str) -> ImageName:
    """A source's name, as :func:`spyglass.core.transports.resolve_name` reads it, with
    a path starting with an unexpanded ``~`` refused (:func:`refuse_unexpanded_home`)."""
    return refuse_unexpanded_home(resolve_any_name(text), text)


def parse_destination(text: str) -> ImageName:
    """A destination's name: as a source's, but a bare path is never guessed at (as
    skopeo takes none: a script gets no guess); its refusal names what to write, from
    what is on disk there, as the window's Copy dialog takes the same path
    (:func:`~spyglass.core.transports.bare_paths.bare_destination_error`)."""
    try:
        name = parse_image_name(text)
    except InvalidReference:
        from spyglass.core.transports.bare_paths import bare_destination_error

        said = bare_destination_error(text)
        if said is not None:
            raise said from None
        raise
    return refuse_unexpanded_home(name, text)
