"""The registries a sync could not reach at all, shared by its listings and its copies.

Once a registry could not be reached (no connection could be made, after every try:
refused, a name not resolved, no route), each listing and each copy left that would
reach it fails at once with that sentence, rather than each waiting out the same
tries (5 s or more each with the defaults: a mirror file listing 50 repositories of
a registry that is down sat minutes with ``--keep-going``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from spyglass.core.errors import SpyglassError, Unreachable
from spyglass.core.retry import add_to_sentence


class UnreachableHosts:
    """The registries (their hosts as the registry clients know them) found unreachable,
    each with what its first failure said."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._said: dict[str, tuple[str, str | None]] = {}

    def add(self, error: Unreachable) -> None:
        """Keep ``error``'s sentence for its host (the first one kept wins)."""
        assert error.host is not None
        with self._lock:  # (as said now: the front end may add to it later)
            self._said.setdefault(error.host, (error.message, error.on_command_line))

    def failure_for(self, routes: Iterable[Sequence[str]], *, what: str = "image"
                    ) -> Unreachable | None:
        """The failure of a ``what`` (``image``, ``repository``) that goes by ``routes``,
        each the hosts it tries in turn, one answering being enough (an image's source:
        the pull sources registries.conf gives, its mirrors then its location; its
        destination: one host), where every host of one route could not be reached:
        the sentence of the route's last (the one the copy would end with), saying this
        one was not tried."""
        with self._lock:
            host = next((route[-1] for route in routes
                         if route and all(host in self._said for host in route)), None)
            if host is None:
                return None
            message, on_command_line = self._said[host]
        error = Unreachable(message, on_command_line=on_command_line)
        error.host = host
        add_to_sentence(error, f"; this {what} was not tried, as an earlier one could not "
                        "reach it")
        return error


def say_tries(error: SpyglassError) -> None:
    """A connection that failed each time it was tried says how often it was (as a
    blob's copy says it), where its sentence does not yet."""
    if error.attempts > 1 and "times)" not in error.message:
        add_to_sentence(error, f" (tried {error.attempts} times)")


__all__ = ["UnreachableHosts", "say_tries"]
