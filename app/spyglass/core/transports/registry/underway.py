"""Blobs on their way to a registry from this process, so that a second copy waits
for the first to send a blob rather than sending it too.

A sync copies several images at once into different repositories; their blobs are
mostly the same (base layers). Each copy asks the registry first (``HEAD``, then a
mount from where the blob-location cache says it is), and while the first copy's
upload is under way neither answer says the blob is there: without this, every
copy sent it. With it, the second copy waits for the first (see
:meth:`~.destination.RegistryDestination.reuse_blob`), then mounts the blob from
the repository the first copy sent it to.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable


class UploadsUnderWay:
    """Who is sending which blob to which registry host; thread-safe.

    A claim is held by an owner (a destination) from :meth:`claim` until
    :meth:`release` (its upload ended, well or not) or :meth:`release_all` (the
    destination is closed or taken back): those waiting are woken then.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._claims: dict[Hashable, tuple[object, threading.Event]] = {}

    def claim(self, key: Hashable, owner: object) -> threading.Event | None:
        """None when ``owner`` is to send the blob ``key`` names (it now holds the claim,
        or held it already); else the event set when the copy sending it is done."""
        with self._lock:
            held = self._claims.get(key)
            if held is None:
                self._claims[key] = (owner, threading.Event())
                return None
            return None if held[0] is owner else held[1]

    def release(self, key: Hashable, owner: object) -> None:
        """``owner`` is done with ``key`` (if it held the claim): those waiting go on."""
        with self._lock:
            held = self._claims.get(key)
            if held is None or held[0] is not owner:
                return
            del self._claims[key]
        held[1].set()

    def release_all(self, owner: object) -> None:
        """Every claim ``owner`` holds, released."""
        with self._lock:
            keys = [key for key, (holder, _event) in self._claims.items() if holder is owner]
            events = [self._claims.pop(key)[1] for key in keys]
        for event in events:
            event.set()


UPLOADS_UNDER_WAY = UploadsUnderWay()
"""The process's blobs under way to registries, keyed by ``(host, digest)``."""
