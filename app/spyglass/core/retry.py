"""When and how long to wait before trying again: shared by the registry client
(one request) and the copy engine (one whole blob transfer)."""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

from spyglass.core.cancel import CancelToken
from spyglass.core.errors import (
    Cancelled,
    ConnectionFailed,
    ProxyRefused,
    RateLimited,
    RegistryError,
    SpyglassError,
    TokenRenewed,
    as_clause,
)

RETRY_NOTES: Final = "spyglass.retries"
"""The logger of the warning that a request is asked again after nothing came for its
whole timeout (a minute of silence, then another), or after no connection could be made
(refused, a name not resolved), or after a wait the registry asked for
(:data:`NOTED_WAIT` or longer), or that a layout's index lock another program holds
is waited for: the command line writes it on stderr (a copy with
``--quiet`` does not), so a command that waits is not taken for one that froze; the
window logs it."""

retry_notes = logging.getLogger(RETRY_NOTES)

RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
"""Answers worth asking again: rate limited, or a gateway in trouble."""
MAX_BACKOFF: Final = 30.0
"""The longest pause between attempts the backoff grows to (seconds)."""
MAX_RETRY_AFTER: Final = 60.0
"""The longest wait a ``Retry-After`` is given (seconds): one asking for more is waited
this long, then asked again, within the same ``--retry-times``."""
NOTED_WAIT: Final = 5.0
"""A wait a registry asks for (``Retry-After``) this long or longer is said as it begins
(:data:`RETRY_NOTES`): a command is not taken for one that froze."""
BACKOFF_BASE: Final = 1.0
"""The backoff's first pause (seconds), before its jitter halves it at most: 1, 2, 4 s
for three retries (3.5 to 7 s in all, skopeo's 1, 2, 4 s), enough for a registry
restarting."""

UNREACHED_SAID_FOR: Final = 1.0
"""Seconds past the end of a backoff after a refused connection that the wait is still
said (:attr:`Wait.holds`): the request asked again is refused within it."""

@dataclass
class Tries:
    """What a blob transfer's attempt has of ``--retry-times``: what was left as it began,
    and what its requests asked again since (one thread's, see :data:`TRIES_LEFT`)."""

    left: int
    """The requests the attempt could make as it began, its first included (1 at least)."""
    of: int
    """The blob's tries in all: 1 + ``--retry-times``."""
    recovered: int = 0
    """Tries of the attempt's requests that failed, each asked again and then answered
    (a look-up asked again after a 503): spent as much as those of a request that
    failed for good, which its error counts (``attempts``)."""

    @property
    def spent(self) -> int:
        """The blob's tries taken and failed so far."""
        return self.of - self.left + self.recovered

    @property
    def remaining(self) -> int:
        """The requests the attempt may still make, the next one included."""
        return self.left - self.recovered

    def after(self, tries: int) -> Tries:
        """What is left for a request once ``tries`` more have failed (its own count)."""
        return Tries(self.remaining - tries, self.of)


TRIES_LEFT: ContextVar[Tries | None] = ContextVar("spyglass_tries_left", default=None)
"""What the blob transfer under way on this thread has left (the copy engine sets it
around each attempt): every request it makes, a download that resumes or a look-up in
the destination, counts against the same ``--retry-times``, not a budget of its own,
and its notes count the blob's tries ("attempt 3 of 4"), not the request's."""


def request_tries(allowed: int) -> int:
    """The retries a request may make, ``allowed`` at most: fewer when a blob transfer
    makes it and has fewer left (:data:`TRIES_LEFT`)."""
    budget = TRIES_LEFT.get()
    return allowed if budget is None else max(0, min(allowed, budget.remaining - 1))


def answered_after(retries: int) -> None:
    """A request was answered after ``retries`` tries failed: a blob transfer making it
    (:data:`TRIES_LEFT`) has spent them."""
    budget = TRIES_LEFT.get()
    if budget is not None and retries > 0:
        budget.recovered += retries


def numbered(attempt: int, allowed: int) -> tuple[int, int]:
    """Try ``attempt + 1`` of a request allowed ``allowed`` retries, as it is said
    ("attempt 2 of 4"): among the tries of the blob transfer that makes it, if one does
    (:data:`TRIES_LEFT`)."""
    budget = TRIES_LEFT.get()
    if budget is None:
        return attempt + 1, allowed + 1
    return budget.spent + attempt + 1, budget.of


CONNECT_ONCE: ContextVar[bool] = ContextVar("spyglass_connect_once", default=False)
"""Set on this thread while a pull source that is not the last (a registries.conf mirror)
is first asked for an image (:mod:`spyglass.core.transports.registry.pulls`): a host
that has not answered yet and cannot be reached at all (refused, no route, a name not
resolved, the connection timed out) is not asked again after a backoff; the next source
is tried at once, as containers/image tries each once. A host that answered keeps its
retries."""


@dataclass(frozen=True)
class Wait:
    """A wait before a request is asked again, as it begins: one a registry (or its
    token server) asked for with ``Retry-After``, the backoff after it could not be
    reached at all (a refused connection, a name not resolved), or after its answer broke
    off (:attr:`broke_off`). None is a registry that stopped answering, which is what a
    front end says of a long wait otherwise."""

    who: str
    """``the registry HOST`` (``… through the proxy …``), ``the token server H:P of HOST``."""
    wait: float
    """The seconds waited before asking again."""
    attempt: int
    """The try that follows the wait (2 for the first retry)…"""
    attempts: int
    """… of at most this many."""
    asked: float | None = None
    """The seconds ``who`` asked for (``wait`` is at most :data:`MAX_RETRY_AFTER` of
    them); None for a backoff after :attr:`unreached`."""
    unreached: str = ""
    """Why no connection to ``who`` could be made (``connection refused``), for the
    backoff after that; "" for a wait asked for."""
    broke_off: str = ""
    """How the answer to the request broke off (``broke off after 2.4 KiB (the registry
    HOST sent nothing more for 60 s)``), for the backoff before it is asked again; "" for
    any other wait."""

    @property
    def reason(self) -> str:
        """Why the request waits: "cannot reach the registry HOST (connection refused)",
        "the registry HOST asks to wait 120 s"."""
        if self.broke_off:
            return f"the answer {self.broke_off}"
        if self.asked is None:
            return f"cannot reach {self.who} ({self.unreached})"
        return f"{self.who} asks to wait {self.asked:.0f} s"

    @property
    def again(self) -> str:
        """When it is asked again: "asking again" (after a short backoff), "asking again
        in 60 s"."""
        return "asking again" if self.asked is None else f"asking again in {self.wait:.0f} s"

    @property
    def said(self) -> str:
        """"cannot reach the registry HOST (connection refused); asking again (attempt 2
        of 4)", or "the registry HOST asks to wait 120 s; asking again in 60 s (attempt 2
        of 4)": what the command line's note (:data:`RETRY_NOTES`) says after what was
        asked, and a registry page of the window while it waits."""
        return f"{self.reason}; {self.again} (attempt {self.attempt} of {self.attempts})"

    @property
    def holds(self) -> float:
        """Seconds from the wait's start that what it says stays true: the wait; after a
        connection that could not be made, a second more, in which the request asked
        again is refused at once (and the next wait told) or gets its connection."""
        return self.wait + (UNREACHED_SAID_FOR if self.unreached or self.broke_off else 0.0)


WAIT_LISTENER: ContextVar[Callable[[Wait], None] | None] = ContextVar(
    "spyglass_wait_listener", default=None)
"""Told each :class:`Wait` as it begins on this thread: one a registry asked for, or the
backoff after it could not be reached. The window's jobs set it, and the copy engine
around each blob's transfer, so that the window can say the copy waits because it was
asked to, or because the registry refuses connections, not that it stopped answering."""


WAITING_ON: ContextVar[Callable[[str], None] | None] = ContextVar(
    "spyglass_waiting_on", default=None)
"""Told, on this thread, whom a request waits on while that is not the registry it is
sent to: ``the token server H of R`` as the token request it needs goes out (see
:func:`waiting_on`), "" once that is answered or failed. The window's jobs set it, so
that a page that waits long says whom it waits on ("Still waiting for the token server
…"), not a registry that answered at once."""


@contextmanager
def waiting_on(who: str) -> Iterator[None]:
    """Around a request to ``who`` that a registry's request waits on (its token server):
    told to :data:`WAITING_ON` as it goes out, and that it is over as it ends."""
    listener = WAITING_ON.get()
    if listener is None:
        yield
        return
    listener(who)
    try:
        yield
    finally:
        listener("")


def backoff(attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1``: exponential from
    :data:`BACKOFF_BASE`, up to :data:`MAX_BACKOFF`, each between half and all of it."""
    base: float = min(MAX_BACKOFF, BACKOFF_BASE * (2 ** (attempt - 1)))
    return base / 2 + random.uniform(0, base / 2)


def pause(seconds: float, cancel: CancelToken | None) -> None:
    """Sleep ``seconds``, waking within 0.1 s to raise :class:`Cancelled` when cancelled."""
    if seconds <= 0:
        return
    if cancel is None:
        time.sleep(seconds)
        return
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if cancel.cancelled:
            raise Cancelled()
        time.sleep(min(left, 0.1))


def worth_retrying(error: BaseException) -> bool:
    """True for failures another attempt may not meet: a broken or refused
    connection, 429 (whatever wait it asks for: :func:`wait_after` caps it) and
    502/503/504, from a registry or its token server, and a token the registry stopped
    taking partway (:class:`TokenRenewed`: a new one is at hand). Never for another
    401, 403 or 404, digest errors, disk errors, TLS failures or a proxy's refusal
    (:class:`ProxyRefused`: its credentials or its rules, the same next time). (A name
    the resolver does not know is retried here too: a blob's transfer begins after the
    registry answered, so its name resolved a moment ago; the first request to a host is
    given fewer tries for it, see :data:`NAME_UNKNOWN_RETRIES`.)"""
    if isinstance(error, ProxyRefused):
        return False
    if isinstance(error, ConnectionFailed | TokenRenewed):
        return True
    return isinstance(error, RegistryError) and error.status in RETRY_STATUSES


NAME_UNKNOWN_RETRIES: Final = 1
"""Retries of a request to a host that has not answered yet whose name the resolver does
not know (:func:`name_unknown`): a typo, mostly, which three retries after a backoff made
cost 3.5 to 7 s before its sentence (skopeo says it at once); but one, since a resolver
may say so of a failure upstream for now (systemd-resolved's nss-resolve answers a
SERVFAIL so), which a second try after the first pause (0.5 to 1 s) gets past."""


_NAME_UNKNOWN: Final = frozenset(
    code for code in (getattr(socket, name, None)
                      for name in ("EAI_NONAME", "EAI_NODATA", "EAI_FAIL"))
    if code is not None)
"""The resolver's answers that a name has no address, or that its lookup failed for
good: not what a moment's wait mends (``EAI_AGAIN``, a temporary failure, is)."""


def name_unknown(error: BaseException) -> bool:
    """Whether ``error`` came of a host name that does not resolve (a typo, a host gone:
    the resolver said so, not that it could not ask; see :data:`NAME_UNKNOWN_RETRIES`)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return current.errno in _NAME_UNKNOWN
        current = current.__cause__ or current.__context__
    return False


def add_to_sentence(error: SpyglassError, words: str) -> None:
    """Put ``words`` at the end of ``error``'s sentences (both), before the full stop."""
    for name in ("message", "on_command_line"):
        text = getattr(error, name)
        if text:
            setattr(error, name, f"{text[:-1]}{words}." if text.endswith(".")
                    else f"{text}{words}")


def add_to_remark(error: SpyglassError, words: str) -> None:
    """Put ``words`` (``; asked 2 times``) inside the parenthesis that ends ``error``'s
    sentences (both), as their last remark: "(no token came for the whole timeout; asked
    2 times)."; a sentence that ends otherwise gets them in one of their own ("(asked 2
    times)."), as :func:`add_to_sentence` adds them."""
    for name in ("message", "on_command_line"):
        text = getattr(error, name)
        if not text:
            continue
        if text.endswith(")."):
            setattr(error, name, f"{text[:-2]}{words}).")
        else:
            remark = words.removeprefix(";").strip()
            setattr(error, name, f"{text[:-1]} ({remark})." if text.endswith(".")
                    else f"{text} ({remark})")


def say_last_try(first: SpyglassError, last: SpyglassError, *, what: str = "") -> None:
    """Add to ``first``, the failure a thing tried several times is told by, how the last
    try failed, where that says something else: "… broke off: connection reset by peer;
    the last try: cannot reach the registry r: connection refused." ``what``: the
    words the two sentences begin with alike, left out of the last try's."""
    said = last.message
    if what and said.startswith(what):
        said = said[len(what):].removeprefix(" failed").removeprefix(":").strip()
    said = as_clause(said).rstrip(".")
    if said and said not in first.message:
        add_to_sentence(first, f"; the last try: {said}")


def wait_after(error: BaseException, attempt: int) -> float:
    """How long to wait after ``error`` ended attempt ``attempt``: what a 429 asked
    for (capped at :data:`MAX_RETRY_AFTER`), else :func:`backoff`."""
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return min(error.retry_after, MAX_RETRY_AFTER)
    return backoff(attempt)
