"""The ``keyring`` package, imported here and nowhere else in Spyglass (``from
spyglass.core.credentials.keyring_import import keyring``; its ``core``, ``errors`` and
backend modules come with it).

keyring imports every backend it has to rank them, its macOS one too, whatever the
platform, and that one's ``api`` module loads the Security, CoreServices and Foundation
frameworks at import through :func:`ctypes.util.find_library`: off macOS that runs
``ldconfig -p`` and then ``gcc`` (with ``collect2`` and ``ld``) for each, about 40
processes and 70 ms for every command whose registry asked for credentials, only for the
import to fail. Off macOS that module is marked missing before keyring is imported: the
backend's own ``try: from . import api`` then fails at once, and its priority check
rules it out there as it did before. Nothing else about keyring changes.
"""

from __future__ import annotations

import sys

if sys.platform != "darwin":
    sys.modules.setdefault("keyring.backends.macOS.api", None)  # type: ignore[arg-type]

# (after the line above, which is why keyring is imported here alone)
import keyring
import keyring.backends.chainer
import keyring.backends.fail
import keyring.backends.null
import keyring.core
import keyring.errors

__all__ = ["keyring"]
