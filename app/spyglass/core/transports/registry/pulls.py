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
many images does not wait on a mirror that is down for each of them). So is one that
takes the connection and answers nothing (:class:`~spyglass.core.errors.Unanswered`,
a hung server): its ping's timeout is waited out once, and a note says so, once per
process (the image still read, from the next source, nothing else would tell why it
took so long).
Every manifest and blob read is still checked against its digest, wherever it comes
from.

Only reading goes through here: writing, deleting and listing go to the registry the
name says (as in containers/image), never to a mirror.
"""

from __future__ import annotations

import logging
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
    Unanswered,
    Unreachable,
    as_clause,
)
from spyglass.core.reference import DockerReference
from spyglass.core.registries_conf import PullSource, current
from spyglass.core.retry import CONNECT_ONCE
from spyglass.core.transports.registry.client import RegistryClient
from spyglass.core.units import duration_text

__all__ = ["UNREACHED_FOR", "ClientMaker", "first_answering", "forget_unreached", "pull_sources"]

T = TypeVar("T")

log = logging.getLogger(__name__)

ClientMaker = Callable[[PullSource], RegistryClient]
"""The client to read one pull source with (its host, its ``insecure``)."""

UNREACHED_FOR: Final = 60.0
"""Seconds a mirror that could not be reached (no connection, no TLS handshake, or no
answer at all) is passed by without being asked, by every image this process reads
after."""

_lock = threading.Lock()
_unreached: dict[tuple[str, bool], tuple[float, str]] = {}
"""A mirror's host and ``insecure``: when it could not be reached (monotonic), and how
("unreachable", "answered nothing")."""
_hung_said: set[tuple[str, bool]] = set()
"""The mirrors (host, ``insecure``) said to have answered nothing, in this process."""


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
        if not last and (how := _unreached_lately(source)) is not None:
            tried.append(f"the mirror {_named(source, reference)} ({how} a moment "
                         "ago, not asked again)")
            continue
        once = CONNECT_ONCE.set(not last)
        started = time.monotonic()
        try:
            return attempt(make_client(source), source)
        except (Cancelled, RegistriesConfInvalid):
            raise
        except SpyglassError as exc:
            if not last:
                if isinstance(exc, Unreachable | TLSFailed | Unanswered):
                    with _lock:
                        _unreached[(source.host, source.insecure)] = (
                            time.monotonic(), "answered nothing"
                            if isinstance(exc, Unanswered) else "unreachable")
                if isinstance(exc, Unanswered):
                    _say_hung(source, time.monotonic() - started)
                tried.append(f"the mirror {_named(source, reference)} ({_briefly(exc)})")
                continue
            if tried:
                _say_tried(exc, tried, _named(source, reference))
            raise
        finally:
            CONNECT_ONCE.reset(once)
    raise AssertionError("a pull source list ends with the registry itself")


def _unreached_lately(source: PullSource) -> str | None:
    """How the mirror ``source`` could not be reached ("unreachable"), if it could not
    within the last :data:`UNREACHED_FOR` seconds (then it is passed by); else None."""
    key = (source.host, source.insecure)
    with _lock:
        found = _unreached.get(key)
        if found is not None and time.monotonic() - found[0] >= UNREACHED_FOR:
            del _unreached[key]
            found = None
        return None if found is None else found[1]


def _say_hung(mirror: PullSource, waited: float) -> None:
    """Note, once per process for each mirror, that ``mirror`` took the connection and
    answered nothing for ``waited`` seconds: images are read from the other pull
    sources (the next mirror, or the registry itself) while it is passed by. Without it
    a hung mirror's wait is silent, each image read the right one, only slowly."""
    key = (mirror.host, mirror.insecure)
    with _lock:
        if key in _hung_said:
            return
        _hung_said.add(key)
    log.warning("The mirror %s took the connection and answered nothing in %s; images "
                "are read without it for now (it is not asked again for %g s).",
                mirror.host, duration_text(waited), UNREACHED_FOR)


def forget_unreached() -> None:
    """Ask every mirror again (the next image tries those that could not be reached,
    and a hung one is said again)."""
    with _lock:
        _unreached.clear()
        _hung_said.clear()


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
    if isinstance(exc, Unanswered):
        return "answered nothing"
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
