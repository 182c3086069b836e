"""Where an image is read from: registries.conf's pull sources, tried in order.

containers/image reads ``docker://HOST/REPO:TAG`` from each of its pull sources in turn
(``PullSourcesFromReference``): the mirrors of the registry's entry that serve the name
(``pull-from-mirror``, ``mirror-by-digest-only``), then the registry's ``location``, each
with the name rewritten. The first whose manifest answers is the one read, all of it;
one that fails (not found, unreachable, refused, blocked) passes to the next, and when
all fail the sentence says what was tried: "Tried the mirror M (not found), then R: …".
A mirror is asked once, as containers/image asks it: one that cannot be reached is not
asked again after a backoff (:data:`~spyglass.core.retry.CONNECT_ONCE`), and for
:data:`UNREACHED_FOR` seconds after, the process's next images pass it by (a sync of
many images does not wait on a mirror that is down for each of them).
Every manifest and blob read is still checked against its digest, wherever it comes
from.

Only reading goes through here: writing, deleting and listing go to the registry the
name says (as in containers/image), never to a mirror.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Final, TypeVar

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
    Unreachable,
    as_clause,
)
from spyglass.core.reference import DockerReference
from spyglass.core.registries_conf import PullSource, current
from spyglass.core.retry import CONNECT_ONCE
from spyglass.core.transports.registry.client import RegistryClient

__all__ = ["UNREACHED_FOR", "ClientMaker", "first_answering", "forget_unreached", "pull_sources"]

T = TypeVar("T")

ClientMaker = Callable[[PullSource], RegistryClient]
"""The client to read one pull source with (its host, its ``insecure``)."""

UNREACHED_FOR: Final = 60.0
"""Seconds a mirror that could not be reached (no connection, or no TLS handshake) is
passed by without being asked, by every image this process reads after."""

_lock = threading.Lock()
_unreached: dict[tuple[str, bool], float] = {}
"""A mirror's host and ``insecure``, and when it could not be reached (monotonic)."""


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
        last = source is sources[-1]
        if not last and _unreached_lately(source):
            tried.append(f"the mirror {_named(source, reference)} (unreachable a moment "
                         "ago, not asked again)")
            continue
        once = CONNECT_ONCE.set(not last)
        try:
            return attempt(make_client(source), source)
        except (Cancelled, RegistriesConfInvalid):
            raise
        except SpyglassError as exc:
            if not last:
                if isinstance(exc, Unreachable | TLSFailed):
                    with _lock:
                        _unreached[(source.host, source.insecure)] = time.monotonic()
                tried.append(f"the mirror {_named(source, reference)} ({_briefly(exc)})")
                continue
            if tried:
                _say_tried(exc, tried, _named(source, reference))
            raise
        finally:
            CONNECT_ONCE.reset(once)
    raise AssertionError("a pull source list ends with the registry itself")


def _unreached_lately(source: PullSource) -> bool:
    """Whether the mirror ``source`` could not be reached within the last
    :data:`UNREACHED_FOR` seconds (then it is passed by)."""
    key = (source.host, source.insecure)
    with _lock:
        when = _unreached.get(key)
        if when is not None and time.monotonic() - when >= UNREACHED_FOR:
            del _unreached[key]
            when = None
        return when is not None


def forget_unreached() -> None:
    """Ask every mirror again (the next image tries those that could not be reached)."""
    with _lock:
        _unreached.clear()


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
