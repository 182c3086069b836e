"""When and how long to wait before trying again: shared by the registry client
(one request) and the copy engine (one whole blob transfer)."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Final

from spyglass.core.cancel import CancelToken
from spyglass.core.errors import (
    Cancelled,
    ConnectionFailed,
    RateLimited,
    RegistryError,
    SpyglassError,
    TokenRenewed,
    as_clause,
)

RETRY_NOTES: Final = "spyglass.retries"
"""The logger of the warning that a request is asked again after nothing came for its
whole timeout (a minute of silence, then another), or after a wait the registry asked
for (:data:`NOTED_WAIT` or longer), or that a layout's index lock another program holds
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

TRIES_LEFT: ContextVar[int | None] = ContextVar("spyglass_tries_left", default=None)
"""The requests the blob transfer under way on this thread may still make, this attempt's
first included (the copy engine sets it around each attempt): a download that resumes
within the attempt counts against the same ``--retry-times``, not a budget of its own."""

WAIT_LISTENER: ContextVar[Callable[[str, float, float], None] | None] = ContextVar(
    "spyglass_wait_listener", default=None)
"""Told ``(who, asked, wait)`` as a wait a registry (or its token server) asked for
with ``Retry-After`` begins on this thread: ``who`` asked for ``asked`` seconds, and
``wait`` (at most :data:`MAX_RETRY_AFTER`) are waited. The copy engine sets it around
each blob's transfer, so that the window can say the copy waits because it was asked
to, not that the registry stopped answering."""


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
    401, 403 or 404, digest errors, disk errors or TLS failures."""
    if isinstance(error, ConnectionFailed | TokenRenewed):
        return True
    return isinstance(error, RegistryError) and error.status in RETRY_STATUSES


def add_to_sentence(error: SpyglassError, words: str) -> None:
    """Put ``words`` at the end of ``error``'s sentences (both), before the full stop."""
    for name in ("message", "on_command_line"):
        text = getattr(error, name)
        if text:
            setattr(error, name, f"{text[:-1]}{words}." if text.endswith(".")
                    else f"{text}{words}")


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
