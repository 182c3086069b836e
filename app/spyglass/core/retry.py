"""When and how long to wait before trying again: shared by the registry client
(one request) and the copy engine (one whole blob transfer)."""

from __future__ import annotations

import logging
import random
import time
from contextvars import ContextVar
from typing import Final

from spyglass.core.cancel import CancelToken
from spyglass.core.errors import Cancelled, ConnectionFailed, RateLimited, RegistryError

RETRY_NOTES: Final = "spyglass.retries"
"""The logger of the warning that a request is asked again after nothing came for its
whole timeout (a minute of silence, then another): the command line writes it on
stderr (a copy with ``--quiet`` does not), so a command that waits is not taken for
one that froze; the window logs it."""

retry_notes = logging.getLogger(RETRY_NOTES)

RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
"""Answers worth asking again: rate limited, or a gateway in trouble."""
MAX_BACKOFF: Final = 30.0
"""The longest pause between attempts the backoff grows to (seconds)."""
MAX_RETRY_AFTER: Final = 60.0
"""The longest ``Retry-After`` honoured (seconds)."""

TRIES_LEFT: ContextVar[int | None] = ContextVar("spyglass_tries_left", default=None)
"""The requests the blob transfer under way on this thread may still make, this attempt's
first included (the copy engine sets it around each attempt): a download that resumes
within the attempt counts against the same ``--retry-times``, not a budget of its own."""


def backoff(attempt: int) -> float:
    """Seconds to wait before attempt ``attempt + 1``: exponential from 0.25 s, with jitter."""
    base: float = min(MAX_BACKOFF, 0.25 * (2 ** (attempt - 1)))
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
    connection, 429 and 502/503/504. Never for 401/403/404, digest errors,
    disk errors or TLS failures."""
    if isinstance(error, ConnectionFailed):
        return True
    if isinstance(error, RateLimited) and error.retry_after is not None \
            and error.retry_after > MAX_RETRY_AFTER:
        return False  # a wait longer than we make is the answer: said at once
    return isinstance(error, RegistryError) and error.status in RETRY_STATUSES


def wait_after(error: BaseException, attempt: int) -> float:
    """How long to wait after ``error`` ended attempt ``attempt``: what a 429 asked
    for (capped at :data:`MAX_RETRY_AFTER`), else :func:`backoff`."""
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return min(error.retry_after, MAX_RETRY_AFTER)
    return backoff(attempt)
