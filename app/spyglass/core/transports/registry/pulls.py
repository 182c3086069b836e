"""Where an image is read from: registries.conf's pull sources, tried in order.

containers/image reads ``docker://HOST/REPO:TAG`` from each of its pull sources in turn
(``PullSourcesFromReference``): the mirrors of the registry's entry that serve the name
(``pull-from-mirror``, ``mirror-by-digest-only``), then the registry's ``location``, each
with the name rewritten. The first whose manifest answers is the one read, all of it;
one that fails (not found, unreachable, refused, blocked) passes to the next, and when
all fail the sentence says what was tried: "Tried the mirror M (not found), then R: …".
Every manifest and blob read is still checked against its digest, wherever it comes
from.

Only reading goes through here: writing, deleting and listing go to the registry the
name says (as in containers/image), never to a mirror.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from spyglass.core.credentials import canonical_host
from spyglass.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    Cancelled,
    ConnectionFailed,
    NotFound,
    RegistriesConfInvalid,
    RegistryBlocked,
    SpyglassError,
    TLSFailed,
    as_clause,
)
from spyglass.core.reference import DockerReference
from spyglass.core.registries_conf import PullSource, current
from spyglass.core.transports.registry.client import RegistryClient

__all__ = ["ClientMaker", "first_answering", "pull_sources"]

T = TypeVar("T")

ClientMaker = Callable[[PullSource], RegistryClient]
"""The client to read one pull source with (its host, its ``insecure``)."""


def pull_sources(reference: DockerReference) -> list[PullSource]:
    """Where ``reference`` is read from, in order (one: the name itself, when
    registries.conf says nothing of it). Raises :class:`RegistriesConfInvalid` for a
    registries.conf that cannot be used."""
    return current().pull_sources(canonical_host(reference.domain), reference.path,
                                  digested=reference.digest is not None)


def first_answering(reference: DockerReference, make_client: ClientMaker,
                    attempt: Callable[[RegistryClient, PullSource], T]) -> T:
    """What ``attempt`` gives for the first pull source of ``reference`` it succeeds
    for; when it fails for all of them, the last one's (the registry's own) failure,
    its sentence saying what was tried before."""
    sources = pull_sources(reference)
    tried: list[str] = []
    for source in sources:
        try:
            return attempt(make_client(source), source)
        except (Cancelled, RegistriesConfInvalid):
            raise
        except SpyglassError as exc:
            if source is not sources[-1]:
                tried.append(f"the mirror {_named(source, reference)} ({_briefly(exc)})")
                continue
            if tried:
                _say_tried(exc, tried, _named(source, reference))
            raise
    raise AssertionError("a pull source list ends with the registry itself")


def _named(source: PullSource, reference: DockerReference) -> str:
    if reference.digest is not None:
        return f"{source.name}@{reference.digest}"
    return f"{source.name}:{reference.tag or 'latest'}"


def _briefly(exc: SpyglassError) -> str:
    """Why one mirror could not serve, in a few words."""
    if isinstance(exc, RegistryBlocked):
        return "blocked in registries.conf"
    if isinstance(exc, NotFound):
        return "not found"
    if isinstance(exc, TLSFailed):
        return "its TLS certificate could not be verified"
    if isinstance(exc, ConnectionFailed):
        return "unreachable"
    if isinstance(exc, AuthenticationFailed | AccessDenied):
        return "access denied"
    return as_clause(exc.message).rstrip(".")


def _say_tried(exc: SpyglassError, tried: list[str], primary: str) -> None:
    """Begin ``exc``'s sentences with what was tried before the registry itself."""
    before = "Tried " + ", ".join(tried) + f", then {primary}: "
    exc.message = before + as_clause(exc.message)
    if exc.on_command_line:
        exc.on_command_line = before + as_clause(exc.on_command_line)
