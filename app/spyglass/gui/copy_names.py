"""Image names as a person types or pastes them (the Copy dialog's fields): read as the
core takes them (:func:`pasted_name`, :func:`normalize_name`) and said back in a sentence
(:func:`describe_name`). Nothing here imports Qt.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from spyglass.core.errors import SpyglassError, without_password
from spyglass.core.fileurl import is_file_url, local_path, not_local
from spyglass.core.reference import (
    LOCALHOST,
    DirName,
    DockerArchiveName,
    DockerName,
    ImageName,
    OCIArchiveName,
    OCIName,
    Transport,
    names_another_transport,
    parse_image_name,
)
from spyglass.core.text import NotOneWord, shell_unquoted, unexpanded_variable

_TRANSPORTS: Final = frozenset(t.value for t in Transport)
"""The transports a name may start with (``docker``, ``oci``, …)."""


def normalize_name(text: str) -> str:
    """A typed or pasted image name as the core takes it: a bare registry reference
    (``HOST[:PORT]/REPO[:TAG|@DIGEST]``, what "Copy Reference" puts on the clipboard)
    becomes ``docker://…``; anything else is left as it is.

    A reference is bare when it starts with no known transport and its first
    component names a registry (:func:`_names_registry`): ``localhost``, something
    with a ``.``, a ``HOST:PORT`` or an ``[IPv6 address]`` (so ``alpine`` or
    ``team/app`` stay errors: which registry is not said; ``ocu:/tmp/x`` is a mistyped
    transport, which the parser names; ``https://…``, a URL, is
    none either: :func:`~spyglass.core.reference.parse_image_name` says how to write it).
    ``./layout``, ``../layout`` are paths, not hosts.
    A path after a local transport that starts with ``~/`` is taken from the home folder,
    as a shell would (the window has no shell to do it).
    """
    text = text.strip()
    transport, colon, rest = text.partition(":")
    if colon and transport in _TRANSPORTS:
        path, sep, after = rest.partition(":")
        if transport != Transport.DOCKER.value and (path == "~" or path.startswith("~/")):
            # yours only: another user's (~bob) would be looked up (a directory service,
            # perhaps over the network) on every key typed
            return f"{transport}:{os.path.expanduser(path)}{sep}{after}"
        return text
    first, slash, _path = text.partition("/")
    if slash and _names_registry(first):
        return f"docker://{text}"
    return text


def _names_registry(first: str) -> bool:
    """Whether ``first``, the first component of a name typed without its transport, is
    a registry (the ``domain`` of :mod:`spyglass.core.reference`'s grammar): an
    ``[IPv6 address]``, a ``HOST:PORT`` whose port is digits, or, without a ``:``,
    ``localhost`` or a name with a ``.`` that does not start with one (``./layout``).

    ``oci-arcive:`` (of ``oci-arcive:/tmp/x.tar``) is none: what follows its colon is no
    port, so it is a transport mistyped, which :func:`parse_image_name` names."""
    if first.startswith("."):
        return False  # a path
    if first.startswith("["):
        return True  # (the parser says what is wrong with a malformed one)
    host, colon, port = first.partition(":")
    if colon:
        return port.isascii() and port.isdigit()
    return host == LOCALHOST or "." in host


def pasted_name(text: str) -> tuple[str, str]:
    """What a pasted or dropped source names, and ``""``; or ``""`` and why it names
    nothing. Of several lines, the only one that is not blank (several: one name per
    copy), unless they are one word in shell quotes; a name in shell quotes (``'…'``,
    ``"…"``, ``$'…\\xe9'`` as Copy Path and Copy Image Name write it, ``my\\ layout`` as
    ``printf %q``, ``'new'$'\\n''line'`` as ``ls`` does) unquoted: the name, as it is;
    a ``file:`` URL (a file manager's drop) as its path.

    A name with a quote in it that does not read as one word in quotes (``/srv/John's
    layout``) is taken as it is; one that starts with a quote must read as one word."""
    whole = text.strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        try:
            unquoted = shell_unquoted(whole)  # (a quoted line break, as shlex.quote writes it)
        except NotOneWord:
            unquoted = None
        if unquoted is None:
            return "", f"Give one image name per copy: the text has {len(lines)} lines."
        lines = [whole]
    name = lines[0] if lines else ""
    try:
        unquoted = shell_unquoted(name)
    except NotOneWord as exc:
        if name.startswith(("'", '"', "$'", '$"')):
            return "", (f"Give one image name per copy: {exc}" if exc.kind == "words"
                        else str(exc))
        unquoted = None  # (a quote in a name)
    if unquoted is not None:
        name = unquoted  # as it is: a space or a line break it ends in is the name's
    elif said := unexpanded_variable(name):
        return "", said
    if is_file_url(name):
        path = local_path(name)
        if path is None:
            return "", not_local(name) or ""
        return path, ""
    return name, ""


def names_a_path(name: str) -> bool:
    """Whether ``name`` (see :func:`pasted_name`) is a path without its transport, which
    the disk says the kind of (:func:`~spyglass.core.transports.resolve_name`)."""
    return name.startswith(("/", "./", "../", "~")) or name in (".", "..")


def describe_name(text: str, *, what: str = "destination", hosts: Sequence[str] = (),
                  layout_there: bool = False) -> tuple[ImageName | None, str]:
    """Parse a typed name (see :func:`normalize_name`): ``(name, sentence)`` — the
    sentence says what it is or what is wrong. ``what`` is ``"destination"`` or
    ``"source"``; ``hosts``, the registries of the window's list, which a name without
    its registry is pointed to (rather than to Docker Hub); ``layout_there``, that an
    ``oci:`` destination was looked at and is an OCI image layout already (otherwise
    it may be one, or become one)."""
    text = text.strip()
    if not text:
        if what == "source":
            return None, "Type or paste the image to copy, for example " \
                         "registry.example/team/app:1.0 or oci:/path/to/layout:TAG."
        return None, "Type where to copy the image, for example docker://HOST/REPO:TAG or " \
                      "oci:/path/to/layout:TAG."
    normalized = normalize_name(text)
    try:
        name = parse_image_name(normalized)
    except Exception as exc:
        said = str(exc)
        if normalized != text:  # the docker:// added is not what was typed: say that
            said = said.replace(f'"{without_password(normalized)}"',
                                f'"{without_password(text)}"', 1)
        transport = text.partition(":")[0]
        if hosts and normalized == text and not text.startswith(("/", ".", "~")) and \
                ("/" in text or ":" in text) and transport not in _TRANSPORTS and \
                not names_another_transport(text) and _parses(f"docker://{hosts[0]}/{text}"):
            # (not for a mistyped transport: "h:1/oci-arcive:/x.tar" is no name either)
            said += (f" For a registry of the list, write its host first, for example "
                     f"{hosts[0]}/{text}.")
        return None, said
    if isinstance(name, DockerName):
        taken = f"Taken as {normalized}: the" if normalized != text else "The"
        return name, f"{taken} registry {name.reference.domain}, repository " \
                     f"{name.reference.path}, " + (
                         f"tag {name.reference.tag}." if name.reference.tag
                         else f"digest {name.reference.digest}.")
    if what == "source":
        kind = {OCIName: "The OCI image layout", DirName: "The dir: layout",
                OCIArchiveName: "The OCI layout tarball",
                DockerArchiveName: "The docker save tarball"}[type(name)]
        ref = getattr(name, "ref", None) or getattr(name, "reference", None)
        return name, f"{kind} {name.path}" + (f", image {ref}." if ref else ".")
    if isinstance(name, OCIName):
        named = (f"named {name.ref}" if name.ref
                 else "the image without a name (add :NAME to give it one)")
        if layout_there:
            return name, f"The existing OCI image layout in {_where(name.path)}, {named}."
        return name, f"The OCI image layout in {_where(name.path)} (a new one if there is " \
                     f"none yet), {named}."
    if isinstance(name, DirName):
        return name, f"A dir: layout in {_where(name.path)}."
    # an archive already there is replaced whole: the dialog's replace check says so,
    # naming the images lost (find_replaced)
    if isinstance(name, OCIArchiveName):
        named = f"named {name.ref}" if name.ref else "the image without a name"
        return name, f"An OCI layout tarball at {_where(name.path)}, {named}."
    assert isinstance(name, DockerArchiveName)
    named = (f"named {name.reference}" if name.reference is not None
             else "the image without a name (add :NAME:TAG to give it one)")
    return name, f"A docker save tarball at {_where(name.path)}, {named}."


def _parses(name: str) -> bool:
    """Whether ``name`` is an image name :func:`parse_image_name` takes."""
    try:
        parse_image_name(name)
    except SpyglassError:
        return False
    return True


def _where(path: Path | str) -> str:
    """A path as the dialog says it: a relative one with the folder it is relative to
    (the program's working folder, which the window does not show)."""
    given = Path(path)
    return str(given) if given.is_absolute() else f"{given} (in {Path.cwd()})"



def image_label(name: str) -> str:
    """A typed source's image as the trees label one dragged from them (the status bar
    and the Transfers panel then say "Copied team/app:1.0", however it was chosen): a
    registry's ``REPO:TAG`` (``REPO@sha256:…`` cut short), a layout's ref or an archive's
    ``NAME:TAG``, ``FILE:@N`` by position, the folder or file itself for its only image.
    A name that does not parse stays as it is."""
    try:
        parsed = parse_image_name(name)
    except SpyglassError:
        return name
    if isinstance(parsed, DockerName):
        ref = parsed.reference
        if ref.tag is not None:
            return f"{ref.path}:{ref.tag}"
        digest = ref.digest
        return f"{ref.path}@{digest.algorithm}:{digest.short}" if digest else ref.path
    file = parsed.path.name or str(parsed.path)
    if isinstance(parsed, DirName):
        return file
    chosen: str | None
    if isinstance(parsed, DockerArchiveName):
        named = parsed.reference
        chosen = f"{named.path}:{named.tag}" if named is not None else None
    else:
        chosen = parsed.ref
    if chosen:
        return chosen
    return f"{file}:@{parsed.index}" if parsed.index is not None else file


__all__ = [
    "describe_name",
    "image_label",
    "names_a_path",
    "normalize_name",
    "pasted_name",
]
