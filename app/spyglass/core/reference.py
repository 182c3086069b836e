"""Names of images: Docker references and ``transport:reference`` image names.

Two layers live here, both pure string work (no disk, no network, no Qt):

* :func:`parse_docker_reference` reads a Docker reference such as ``alpine``,
  ``localhost:5000/a/b:1.0`` or ``foo.com/bar@sha256:…`` with the grammar of
  ``github.com/distribution/reference`` and normalizes it the way
  ``ParseNormalizedNamed`` does: no registry means ``docker.io``, single
  component names on Docker Hub live under ``library/``, ``index.docker.io``
  is ``docker.io``, and (unless the caller says otherwise) no tag and no digest
  means the tag ``latest``.

* :func:`parse_image_name` reads the image names of containers/image
  (``docker://…``, ``oci:PATH[:REF]``, ``dir:PATH``,
  ``docker-archive:PATH[:NAME:TAG|:@N]``, ``oci-archive:PATH[:REF|:@N]``) through
  one table from transport to parser, as containers/image's
  ``transports/alltransports`` does.

Every value here is a frozen dataclass that checks itself when it is made, and
whose ``str()`` parses back to an equal value. Every failure is an
:class:`~spyglass.core.errors.InvalidReference` (or its subclass
:class:`~spyglass.core.errors.UnknownTransport`) whose message is one sentence
naming the input and what is wrong with it.

The Docker grammar, from distribution/reference::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain "/"] path-component ["/" path-component]*
    domain           := host [":" port-number]
    host             := domain-name | "[" IPv6address "]"
    domain-name      := domain-component ["." domain-component]*
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    port-number      := /[0-9]+/
    path-component   := alpha-numeric [separator alpha-numeric]*
    alpha-numeric    := /[a-z0-9]+/
    separator        := /[_.]|__|[-]+/
    tag              := /[\\w][\\w.-]{0,127}/

The whole name (registry and path, after normalization) is at most 255
characters, as in containers/image's copy of that package.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar, Final

from spyglass.core.digest import Digest
from spyglass.core.errors import (
    InvalidDigest,
    InvalidReference,
    UnknownTransport,
    as_clause,
    password_spans,
    without_password,
)

__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_TAG",
    "NAME_TOTAL_LENGTH_MAX",
    "DirName",
    "DockerArchiveName",
    "DockerName",
    "DockerReference",
    "ImageName",
    "OCIArchiveName",
    "OCIName",
    "Transport",
    "domain_problem",
    "is_valid_oci_ref",
    "names_another_transport",
    "names_docker_hub",
    "parse_docker_reference",
    "parse_image_name",
    "path_without_transport",
    "reference_problem",
    "registry_alone",
    "registry_alone_error",
    "registry_problem",
    "tag_and_digest_error",
]

DEFAULT_DOMAIN: Final = "docker.io"
"""The registry of names that give none (Docker Hub)."""

LEGACY_DEFAULT_DOMAIN: Final = "index.docker.io"
"""The old name of Docker Hub's index, normalized to :data:`DEFAULT_DOMAIN`."""

OFFICIAL_REPO_PREFIX: Final = "library/"
"""The namespace of Docker Hub's official images (``alpine`` is ``library/alpine``)."""

DEFAULT_TAG: Final = "latest"
"""The tag a reference gets when it has neither a tag nor a digest."""

LOCALHOST: Final = "localhost"
"""The one registry name without a ``.`` or a ``:port`` that counts as a registry."""

NAME_TOTAL_LENGTH_MAX: Final = 255
"""The longest a repository name (registry and path) may be."""

# --------------------------------------------------------------------------- grammar
# Character classes are spelled out: Go's \w and [a-z] are ASCII-only, Python's
# \w is not. Every pattern is used with fullmatch(), never with match()/search().

_DOMAIN_COMPONENT: Final = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME: Final = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_IPV6_ADDRESS: Final = r"\[[a-fA-F0-9:]+\]"
_DOMAIN_RE: Final = re.compile(rf"(?:{_DOMAIN_NAME}|{_IPV6_ADDRESS})(?::[0-9]+)?")

_PATH_COMPONENT_RE: Final = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_IDENTIFIER_RE: Final = re.compile(r"[a-f0-9]{64}")

# The org.opencontainers.image.ref.name grammar containers/image checks `oci:` refs with.
_OCI_REF_COMPONENT: Final = r"[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*"
_OCI_REF_RE: Final = re.compile(rf"{_OCI_REF_COMPONENT}(?:/{_OCI_REF_COMPONENT})*")

_INDEX_RE: Final = re.compile(r"[+-]?[0-9]+")

_TAG_RULE: Final = (
    'may contain only letters, digits, "_", "." and "-" (not first), at most 128 characters'
)

_TAG_AND_DIGEST: Final = (
    "a docker:// reference may carry a tag or a digest but not both; "
    "drop the tag, for example docker://alpine@sha256:…"
)

_ARCHIVE_DIGEST: Final = (
    "docker-archive names cannot carry a digest; name the image as NAME:TAG or pick it with @INDEX"
)


class _Problem(Exception):
    """What is wrong with a piece of a name, as a clause; framed by the public parsers."""

    def __init__(self, clause: str) -> None:
        super().__init__(clause)
        self.clause = clause


def _sentence(subject: str, clause: str) -> str:
    """``subject: clause.``, the clause's first word lower-cased if it is an ordinary
    one (a digest's own sentence, glued here)."""
    clause = as_clause(clause.rstrip())
    return f"{subject}: {clause}" + ("" if clause.endswith((".", "…")) else ".")


_CREDENTIALS_CLAUSE: Final = (
    "it holds a user name and password; credentials do not go in an image name: log in "
    "to the registry, or give them with the command's credentials option"
)


def _masked_error(subject: str, text: str, clause: str, *,
                  error: type[InvalidReference] = InvalidReference) -> InvalidReference:
    """``SUBJECT "text": clause.``, where ``text`` is what was typed. A ``user:password@``
    in it (:func:`~spyglass.core.errors.password_spans`: any form, ``docker:u:pw@…``,
    ``docker://https://u:pw@…``, a password holding ``/``, ``@`` or spaces) is shown
    masked (:func:`~spyglass.core.errors.without_password`), and the clause says that,
    rather than what a piece of it is not (which could quote the password)."""
    if password_spans(text):
        return error(_sentence(f'{subject} "{without_password(text)}"', _CREDENTIALS_CLAUSE))
    return error(_sentence(f'{subject} "{text}"', clause))


def _reference_error(text: str, clause: str) -> InvalidReference:
    return _masked_error("Invalid image reference", text, clause)


def _name_error(text: str, clause: str) -> InvalidReference:
    # only a docker: name can hold a registry (oci: refs may contain ":" and "@")
    if text[:7].lower() == "docker:":
        return _masked_error("Invalid image name", text, clause)
    return InvalidReference(_sentence(f'Invalid image name "{text}"', clause))


# --------------------------------------------------------------------------- Docker references


def _looks_like_domain(component: str) -> bool:
    """Whether a first path component is taken as a registry (splitDockerDomain's rule).

    ``localhost``, anything with a ``.`` or a ``:`` (``example.com``,
    ``127.0.0.1``, ``myhost:5000``, ``[::1]:5000``), and anything with an
    upper-case letter (repository paths are lower-case, so ``Foo/bar`` can only
    mean the registry ``Foo``) are registries; anything else is the first
    component of a Docker Hub path.
    """
    return (
        component == LOCALHOST
        or "." in component
        or ":" in component
        or component.lower() != component
    )


def domain_problem(domain: str) -> str | None:
    """Why ``domain`` is not a registry (``HOST[:PORT]``, distribution/reference's
    ``DomainRegexp``) as a clause naming it; None where it is one."""
    if "@" in domain:
        return (
            f'the registry "{without_password(domain)}" holds a user name (and '
            "password); credentials "
            "do not go in an image name: log in to the registry, or give them with the "
            "command's credentials option"
        )
    if not _DOMAIN_RE.fullmatch(domain):
        return (
            f'the registry "{domain}" is not a host name, IPv4 address or [IPv6 address] '
            "with an optional :port"
        )
    return None


def registry_problem(registry: str) -> str | None:
    """Why ``registry`` (what stands before a repository, such as a yaml sync file's key)
    is not a registry a name can hold, as a clause naming it; None where it is one, or
    where :func:`parse_docker_reference` reads it as the first part of a Docker Hub
    repository (``team`` in ``team/app``: see :func:`names_docker_hub`). What is neither
    (``my registry``) is said to be no host: that is what it was meant to be."""
    if _looks_like_domain(registry) or not _PATH_COMPONENT_RE.fullmatch(registry):
        return domain_problem(registry)
    return None


def names_docker_hub(first: str) -> bool:
    """Whether ``first``, what stands before a name's first ``/``, is read as a Docker Hub
    namespace (``team`` in ``team/app``: docker.io/team/app), not as a registry: no
    ``.``, no ``:``, no upper-case letter, not ``localhost`` (splitDockerDomain's rule)."""
    return not _looks_like_domain(first)


def _path_problem(path: str) -> str | None:
    if not path:
        return "the repository path is empty"
    for component in path.split("/"):
        if not component:
            return f'the repository path "{path}" has an empty component'
        if component.lower() != component:
            return "repository name must be lowercase"
        if not _PATH_COMPONENT_RE.fullmatch(component):
            return (
                f'the path component "{component}" may contain only lower-case letters, '
                'digits and the separators ".", "_", "__" or "-", '
                "and must start and end with a letter or digit"
            )
    return None


def _tag_problem(tag: str) -> str | None:
    if not tag:
        return 'the tag after ":" is empty; name a tag, or leave the ":" out'
    if not _TAG_RE.fullmatch(tag):
        if len(tag) > 128 and _TAG_RE.fullmatch(tag[:128]):  # only too long: say so
            return (f'the tag "{tag[:20]}…" is {len(tag)} characters long; a tag has at '
                    "most 128")
        return f'the tag "{tag}" {_TAG_RULE}'
    return None


def _length_problem(domain: str, path: str) -> str | None:
    length = len(domain) + 1 + len(path)
    if length > NAME_TOTAL_LENGTH_MAX:
        return (
            f"the name is longer than {NAME_TOTAL_LENGTH_MAX} characters "
            f"({length} with the registry)"
        )
    return None


def _canonical_problem(domain: str, path: str) -> str | None:
    """Why (domain, path) is not the normalized form of any reference, if it is not."""
    if domain == LEGACY_DEFAULT_DOMAIN:
        return f'the registry "{LEGACY_DEFAULT_DOMAIN}" is spelled "{DEFAULT_DOMAIN}"'
    if not _looks_like_domain(domain):
        return (
            f'"{domain}" would be read as a Docker Hub namespace, not a registry; '
            'a registry name has a ".", a ":port", or is "localhost"'
        )
    if domain == DEFAULT_DOMAIN and "/" not in path:
        return f'Docker Hub repositories have a namespace: "{OFFICIAL_REPO_PREFIX}{path}"'
    return None


def _parse_digest(text: str) -> Digest:
    try:
        return Digest.parse(text)
    except InvalidDigest as exc:
        raise _Problem(str(exc)) from exc


def _parse_docker(text: str, default_tag: bool) -> DockerReference:
    """Parse and normalize ``text``; raise :class:`_Problem` with a clause."""
    if not text:
        raise _Problem("the reference is empty")
    if _IDENTIFIER_RE.fullmatch(text):
        raise _Problem(
            "a 64-character hexadecimal string is ambiguous with an image ID "
            "and cannot be used as a repository name"
        )

    # splitDockerDomain: the first component is a registry only if it looks like one.
    first, slash, rest = text.partition("/")
    if not slash:
        domain, remainder = DEFAULT_DOMAIN, text
    elif first == LEGACY_DEFAULT_DOMAIN:
        domain, remainder = DEFAULT_DOMAIN, rest
    elif _looks_like_domain(first):
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_DOMAIN, text

    # remainder is path[:tag][@digest]; neither a path nor a tag holds "@" or ":".
    name_and_tag, at, digest_text = remainder.partition("@")
    path, colon, tag_text = name_and_tag.partition(":")
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_REPO_PREFIX + path

    # ParseNormalizedNamed checks for upper case before anything else.
    if path.lower() != path:
        raise _Problem("repository name must be lowercase")
    for problem in (domain_problem(domain), _path_problem(path)):
        if problem:
            raise _Problem(problem)
    tag: str | None = None
    if colon:
        problem = _tag_problem(tag_text)
        if problem:
            raise _Problem(problem)
        tag = tag_text
    digest = _parse_digest(digest_text) if at else None
    problem = _length_problem(domain, path)
    if problem:
        raise _Problem(problem)

    if default_tag and tag is None and digest is None:
        tag = DEFAULT_TAG
    return DockerReference(domain, path, tag, digest)


@dataclass(frozen=True)
class DockerReference:
    """A normalized Docker reference: ``domain/path[:tag][@digest]``.

    Made by :func:`parse_docker_reference`; building one directly checks the
    same grammar and that the parts are already normalized (``docker.io``, not
    ``index.docker.io``; ``library/alpine``, not ``alpine``), so that
    ``parse_docker_reference(str(ref), default_tag=False) == ref`` always holds.
    Both a tag and a digest may be present, as distribution/reference allows
    (the ``docker://`` transport refuses that combination, see
    :class:`DockerName`).
    """

    domain: str
    """The registry: ``docker.io``, ``localhost:5000``, ``[::1]:5000``."""
    path: str
    """The repository within the registry: ``library/alpine``."""
    tag: str | None = None
    digest: Digest | None = None

    def __post_init__(self) -> None:
        problems = (
            domain_problem(self.domain),
            _path_problem(self.path),
            _tag_problem(self.tag) if self.tag is not None else None,
            _length_problem(self.domain, self.path),
            _canonical_problem(self.domain, self.path),
        )
        for problem in problems:
            if problem:
                raise _reference_error(self._unchecked_str(), problem)

    def _unchecked_str(self) -> str:
        text = f"{self.domain}/{self.path}"
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text

    @property
    def name(self) -> str:
        """The repository's full name: ``docker.io/library/alpine``."""
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        """The full reference: ``docker.io/library/alpine:latest``."""
        return self._unchecked_str()

    def familiar(self) -> str:
        """The short form Docker shows: ``alpine:latest``, ``user/app@sha256:…``.

        On Docker Hub the registry is dropped, and so is ``library/`` when one
        component follows it. Like Docker's, this form does not always parse
        back to the same reference (``docker.io/localhost/x`` shows as
        ``localhost/x``); use ``str()`` when it has to.
        """
        name = self.name
        if self.domain == DEFAULT_DOMAIN:
            name = self.path
            rest = name.removeprefix(OFFICIAL_REPO_PREFIX)
            if rest != name and "/" not in rest:
                name = rest
        if self.tag is not None:
            name += f":{self.tag}"
        if self.digest is not None:
            name += f"@{self.digest}"
        return name

    def with_tag(self, tag: str) -> DockerReference:
        """The same reference with ``tag`` (any digest is kept)."""
        problem = _tag_problem(tag)
        if problem:
            raise InvalidReference(_sentence(f'Invalid tag "{tag}" for "{self.name}"', problem))
        return replace(self, tag=tag)

    def with_digest(self, digest: Digest) -> DockerReference:
        """The same reference with ``digest`` (any tag is kept)."""
        return replace(self, digest=digest)

    def without_tag(self) -> DockerReference:
        """The same reference with no tag (what a ``docker://`` name wants next to a digest)."""
        return replace(self, tag=None)


def parse_docker_reference(text: str, *, default_tag: bool = True) -> DockerReference:
    """Parse and normalize a Docker reference (``ParseNormalizedNamed``).

    ``alpine`` becomes ``docker.io/library/alpine:latest``; with
    ``default_tag=False`` a reference with neither tag nor digest keeps no tag.
    Raises :class:`InvalidReference` with a sentence naming ``text``.
    """
    try:
        return _parse_docker(text, default_tag)
    except _Problem as problem:
        raise _reference_error(text, problem.clause) from None


def reference_problem(text: str) -> str | None:
    """Why ``text`` is not a Docker reference, as a clause (what
    :func:`parse_docker_reference` would say after the name); None where it is one."""
    try:
        _parse_docker(text, False)
    except _Problem as problem:
        return problem.clause
    return None


# --------------------------------------------------------------------------- image names


class Transport(enum.StrEnum):
    """The places an image name can point at, by their containers/image names."""

    DOCKER = "docker"
    OCI = "oci"
    DIR = "dir"
    DOCKER_ARCHIVE = "docker-archive"
    OCI_ARCHIVE = "oci-archive"


def is_valid_oci_ref(ref: str) -> bool:
    """Whether ``ref`` can be written after ``oci:PATH:`` (the image-spec's ref grammar)."""
    return _oci_ref_problem(ref) is None


def _oci_ref_problem(ref: str) -> str | None:
    if not _OCI_REF_RE.fullmatch(ref):
        return (
            f'the ref "{ref}" may contain only letters and digits, joined by one of '
            '"-", ".", "_", ":", "@", "+" or "--", in components separated by "/"'
        )
    return None


def _path_text_problem(path: str, *, colon_allowed: bool) -> str | None:
    if not path:
        return "the path is empty"
    if not colon_allowed and ":" in path:
        return f'the path "{path}" contains a colon, which this transport cannot express'
    return None


def _check_path(name: object, path: Path, *, colon_allowed: bool) -> None:
    problem = _path_text_problem(str(path), colon_allowed=colon_allowed)
    if problem:
        raise _name_error(str(name), problem)


@dataclass(frozen=True)
class DockerName:
    """``docker://REFERENCE``: an image in a registry.

    The reference always has a tag or a digest, never both (containers/image
    refuses ``name:tag@digest`` for this transport). ``str()`` gives the fully
    qualified form, ``docker://docker.io/library/alpine:latest``.
    """

    transport: ClassVar[Transport] = Transport.DOCKER
    reference: DockerReference

    def __post_init__(self) -> None:
        ref = self.reference
        if ref.tag is None and ref.digest is None:
            raise _name_error(f"docker://{ref}", "the reference has neither a tag nor a digest")
        if ref.tag is not None and ref.digest is not None:
            raise _name_error(f"docker://{ref}", _TAG_AND_DIGEST)

    def __str__(self) -> str:
        return f"docker://{self.reference}"


@dataclass(frozen=True)
class _OCILayoutName:
    """What ``oci:`` and ``oci-archive:`` names share: a path and a way to pick one image.

    ``ref`` is the ``org.opencontainers.image.ref.name`` annotation of the
    image in ``index.json``; ``index`` its position there (``PATH:@N``, counting
    from 0), as current containers/image accepts; with neither, the layout's
    only image is meant. The path cannot contain a colon (the first colon ends it).
    """

    transport: ClassVar[Transport]
    path: Path
    ref: str | None = None
    index: int | None = None

    def __post_init__(self) -> None:
        _check_path(self, self.path, colon_allowed=False)
        if self.ref is not None:
            if self.index is not None:
                raise _name_error(str(self), "give either a REF or an @INDEX, not both")
            problem = _oci_ref_problem(self.ref)
            if problem:
                raise _name_error(str(self), problem)
        if self.index is not None and self.index < 0:
            raise _name_error(str(self), f"the image index @{self.index} must not be negative")

    def __str__(self) -> str:
        suffix = f":{self.ref}" if self.ref is not None else ""
        if self.index is not None:
            suffix += f":@{self.index}"
        return f"{self.transport}:{self.path}{suffix}"


@dataclass(frozen=True)
class OCIName(_OCILayoutName):
    """``oci:PATH[:REF|:@N]``: an OCI image layout directory."""

    transport: ClassVar[Transport] = Transport.OCI


@dataclass(frozen=True)
class DirName:
    """``dir:PATH``: containers/image's directory layout. Everything after ``dir:`` is the path."""

    transport: ClassVar[Transport] = Transport.DIR
    path: Path

    def __post_init__(self) -> None:
        _check_path(self, self.path, colon_allowed=True)

    def __str__(self) -> str:
        return f"{self.transport}:{self.path}"


@dataclass(frozen=True)
class DockerArchiveName:
    """``docker-archive:PATH[:NAME[:TAG]]`` or ``docker-archive:PATH:@N``: a ``docker save`` file.

    ``reference`` names the image in the archive's ``manifest.json`` (a tag is
    always present, ``latest`` if none was given; a digest never is);
    ``index`` picks the N-th image, counting from 0. At most one of them is
    set; with neither, the archive's only image is meant. ``additional_tags``
    are more names to write the image under (skopeo's ``--additional-tag``);
    they are not part of the name's text.
    """

    transport: ClassVar[Transport] = Transport.DOCKER_ARCHIVE
    path: Path
    reference: DockerReference | None = None
    index: int | None = None
    additional_tags: tuple[DockerReference, ...] = ()

    def __post_init__(self) -> None:
        _check_path(self, self.path, colon_allowed=False)
        if self.reference is not None:
            if self.index is not None:
                raise _name_error(str(self), "give either a NAME:TAG or an @INDEX, not both")
            if self.reference.digest is not None:
                raise _name_error(str(self), _ARCHIVE_DIGEST)
            if self.reference.tag is None:
                raise _name_error(str(self), "the reference has no tag")
        if self.index is not None and self.index < 0:
            raise _name_error(str(self), f"the image index @{self.index} must not be negative")
        for extra in self.additional_tags:
            if extra.digest is not None or extra.tag is None:
                raise _name_error(str(self), f'the additional tag "{extra}" is not NAME:TAG')

    def __str__(self) -> str:
        text = f"{self.transport}:{self.path}"
        if self.reference is not None:
            text += f":{self.reference}"
        if self.index is not None:
            text += f":@{self.index}"
        return text


@dataclass(frozen=True)
class OCIArchiveName(_OCILayoutName):
    """``oci-archive:PATH[:REF|:@N]``: a tarball of an OCI layout."""

    transport: ClassVar[Transport] = Transport.OCI_ARCHIVE


ImageName = DockerName | OCIName | DirName | DockerArchiveName | OCIArchiveName
"""Where an image is: one of the five transports' names."""


# Each parser gets what follows "TRANSPORT:" and raises _Problem with a clause.


def registry_alone(text: str) -> str | None:
    """The registry ``text`` (a docker reference without its ``docker://``) names where it
    names a registry and no repository (``localhost:5000``, ``myreg.example``,
    ``127.0.0.1:39259/``): grammatically Docker Hub's ``library/<name>:<tag>``, but a
    name with a dot, or ``localhost``, is never an official image. None where it is not
    one alone (``alpine:3``, ``myreg.example/app``)."""
    first = text.partition("/")[0].partition("@")[0]
    name, _, port = first.partition(":")
    if "/" not in text.rstrip("/") and (name == LOCALHOST or "." in name) \
            and (port.isdigit() or not port):
        return first
    return None


def _registry_alone_clause(registry: str, expected: str = "REPOSITORY[:TAG]") -> str:
    """What is wrong with a name that is the registry ``registry`` alone (see
    :func:`registry_alone`), and what was expected: ``docker://REGISTRY/{expected}``."""
    return (f'"{registry}" is a registry, with no repository after it; expected '
            f"docker://{registry}/{expected}")


def registry_alone_error(text: str, registry: str, expected: str = "REPOSITORY[:TAG]",
                         advice: str = "") -> InvalidReference:
    """The error for a reference ``text`` that names the registry ``registry`` alone (as
    :func:`registry_alone` found), for a caller that parses with
    :func:`parse_docker_reference` (which reads it as Docker Hub's): what was expected
    (``docker://REGISTRY/{expected}``), then ``advice`` (``, or …``)."""
    return _reference_error(text, _registry_alone_clause(registry, expected) + advice)


def tag_and_digest_error(text: str) -> InvalidReference:
    """The error for a reference ``text`` with both a tag and a digest
    (``app:1.0@sha256:…``), where one is taken (a ``docker://`` name, a sync's SOURCE):
    copy's sentence, which says to drop the tag."""
    return _reference_error(text, _TAG_AND_DIGEST)


def _parse_docker_name(rest: str) -> DockerName:
    if not rest.startswith("//"):
        raise _Problem('a docker reference starts with "//", for example docker://alpine')
    text = rest[2:]
    if (registry := registry_alone(text)) is not None:
        raise _Problem(_registry_alone_clause(registry))
    reference = _parse_docker(text, default_tag=True)
    if reference.tag is not None and reference.digest is not None:
        raise _Problem(_TAG_AND_DIGEST)
    return DockerName(reference)


def _parse_index(spec: str) -> int:
    """``@N`` → N, a position in a layout's index or an archive's manifest."""
    number = spec[1:]
    if not _INDEX_RE.fullmatch(number):
        raise _Problem(f'the image index "{number}" is not a whole number')
    return int(number)


def _split_path_and_ref(rest: str) -> tuple[Path, str | None, int | None]:
    path, _, ref = rest.partition(":")
    problem = _path_text_problem(path, colon_allowed=False)
    if problem:
        raise _Problem(problem)
    if not ref:
        return Path(path), None, None
    if ref.startswith("@"):
        return Path(path), None, _parse_index(ref)
    problem = _oci_ref_problem(ref)
    if problem:
        raise _Problem(problem)
    return Path(path), ref, None


def _parse_oci_name(rest: str) -> OCIName:
    return OCIName(*_split_path_and_ref(rest))


def _parse_oci_archive_name(rest: str) -> OCIArchiveName:
    return OCIArchiveName(*_split_path_and_ref(rest))


def _parse_dir_name(rest: str) -> DirName:
    problem = _path_text_problem(rest, colon_allowed=True)
    if problem:
        raise _Problem(problem)
    return DirName(Path(rest))


def _parse_docker_archive_name(rest: str) -> DockerArchiveName:
    path, colon, spec = rest.partition(":")
    problem = _path_text_problem(path, colon_allowed=False)
    if problem:
        raise _Problem(problem)
    if not colon:
        return DockerArchiveName(Path(path))
    if not spec:
        raise _Problem('nothing follows the ":" after the path; give NAME:TAG or @INDEX')
    if spec.startswith("@"):
        return DockerArchiveName(Path(path), index=_parse_index(spec))
    reference = _parse_docker(spec, default_tag=True)
    if reference.digest is not None:
        raise _Problem(_ARCHIVE_DIGEST)
    return DockerArchiveName(Path(path), reference=reference)


_PARSERS: Final[dict[str, Callable[[str], ImageName]]] = {
    Transport.DOCKER: _parse_docker_name,
    Transport.OCI: _parse_oci_name,
    Transport.DIR: _parse_dir_name,
    Transport.DOCKER_ARCHIVE: _parse_docker_archive_name,
    Transport.OCI_ARCHIVE: _parse_oci_archive_name,
}
"""The one table from transport name to parser (containers/image alltransports)."""


_OTHER_TRANSPORTS: Final = frozenset({
    "containers-storage", "docker-daemon", "ostree", "sif", "tarball", "atomic"})
"""containers/image's transports that Spyglass does not have: their names are never
taken for an image name missing its ``docker://``."""

_SAVED_FIRST: Final = {
    "docker-daemon": ("the Docker daemon's images", "docker save"),
    "containers-storage": ("podman's containers-storage", "podman save"),
}
"""The transports of :data:`_OTHER_TRANSPORTS` whose images a command saves to an archive
Spyglass reads: what they hold, and that command (its ``docker-archive`` is the default
of both)."""

_URL_SCHEMES: Final = frozenset({"http", "https"})
"""What starts a URL pasted for an image (``https://HOST/REPO:TAG``): a registry image is
written ``docker://HOST/REPO:TAG``."""


def names_another_transport(text: str) -> bool:
    """Whether ``text`` starts with a transport of containers/image that Spyglass lacks
    (``docker-daemon:``) or is a URL (``https://…``): its refusal says what to write
    instead, and it is not a registry's repository missing its host."""
    transport = text.partition(":")[0]
    return transport in _OTHER_TRANSPORTS or (
        transport.lower() in _URL_SCHEMES and text[len(transport):].startswith("://"))


def _unknown_transport_hint(transport: str, rest: str, text: str) -> str:
    """What to write instead of ``text`` (``transport:rest``), whose transport is none of
    Spyglass's, as `` (…)`` to follow the refusal; "" where nothing is known to help.
    The one place these sentences live: the command line and the window's name fields
    both parse names with :func:`parse_image_name`."""
    saved = _SAVED_FIRST.get(transport)
    if saved is not None:
        what, command = saved
        image = rest.split("]", 1)[1] if rest.startswith("[") and "]" in rest else rest
        if not image or not _is_docker_reference(image):
            image = "IMAGE"
        return (f" (Spyglass does not read {what}: save the image with {command} {image} "
                "-o app.tar, then name docker-archive:app.tar)")
    if transport.lower() in _URL_SCHEMES:
        host_and_path = rest.removeprefix("//").rstrip("/")
        if (registry := registry_alone(host_and_path)) is not None:
            written = f"docker://{registry}/REPOSITORY:TAG"
        elif host_and_path and "/" in host_and_path and _is_docker_reference(host_and_path):
            written = f"docker://{host_and_path}"
        else:
            written = "docker://HOST/REPOSITORY:TAG"
        return f" (an image on a registry is written {written}, not as a URL)"
    if transport not in _OTHER_TRANSPORTS and _is_docker_reference(text):
        # "alpine:latest", as docker and podman take it
        return f" (an image on a registry is written docker://{text})"
    return ""


def _is_docker_reference(text: str) -> bool:
    """Whether ``text`` reads as a registry reference (``alpine:latest``)."""
    try:
        parse_docker_reference(text)
    except InvalidReference:
        return False
    return True


_PATH_STARTS: Final = ("/", ".", "~")
"""How a path written without its transport starts (``/srv/layout``, ``./layout``,
``~/layout``)."""


def _path_clause(text: str, advice: str | None = None) -> str:
    """What to write for ``text``, a path without its transport: ``advice`` (what follows
    "a path is written after its transport", from what is on disk there), else
    ``oci:PATH`` or ``dir:PATH`` (``~`` as a shell would read it: a quoted one reaches
    Spyglass as it is, and no image name expands it)."""
    if advice is None:
        path = os.path.expanduser(text) if text.startswith("~") else text
        advice = f", for example oci:{path} or dir:{path}"
    return f"a path is written after its transport{advice}"


def path_without_transport(text: str, advice: str | None = None) -> InvalidReference:
    """The refusal of ``text``, a path given without its transport where an image name is
    wanted, with ``advice`` on what to write (see :func:`_path_clause`: it follows "a
    path is written after its transport", starting with its own ``,`` or ``;``)."""
    return _name_error(text, _path_clause(text, advice))


def parse_image_name(text: str) -> ImageName:
    """Parse ``TRANSPORT:REFERENCE`` into the name of that transport.

    Raises :class:`UnknownTransport` when ``TRANSPORT`` is none of
    :class:`Transport`, and :class:`InvalidReference` for anything else that is
    wrong, each with a sentence naming ``text`` (one starting with ``/``, ``.`` or
    ``~`` is a path without its transport, and is said to be). Paths are taken as
    given; the disk is not looked at.
    """
    if text.startswith(_PATH_STARTS):
        # a path: no transport starts so (a colon in it would be read as one's end)
        raise _name_error(text, _path_clause(text))
    transport, colon, rest = text.partition(":")
    if not colon:
        raise _name_error(
            text,
            "expected TRANSPORT:REFERENCE, for example docker://alpine or oci:/path/to/layout:tag",
        )
    parser = _PARSERS.get(transport)
    if parser is None:
        known = ", ".join(_PARSERS)
        hint = _unknown_transport_hint(transport, rest, text)
        raise _masked_error(  # (a bare "user:pw@host/…" reads as the transport "user")
            "Invalid image name", text,
            f'unknown transport "{transport}"; expected one of {known}{hint}',
            error=UnknownTransport)
    try:
        return parser(rest)
    except _Problem as problem:
        raise _name_error(text, problem.clause) from None
