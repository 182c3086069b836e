"""``spyglass login`` and ``logout`` settle the passwords a window is still to remove.

A window that closed before the keyring removed the password of a registry removed there
notes its host in the settings (``forget_pending``), and the next window to start removes
that host's password. A login or logout since is what the person wants now: it takes
the host off that list (:func:`settle_forget_pending`), so that the next window does not
remove a password saved after the registry was removed. Only the host is ever written
to the settings; the secret never is.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import TYPE_CHECKING

from spyglass.core.errors import SpyglassError

if TYPE_CHECKING:
    from spyglass.core.settings import Settings

log = logging.getLogger(__name__)


def settle_forget_pending(hosts: Collection[str]) -> str | None:
    """Take ``hosts`` off the settings' passwords still to be removed, where they are on
    it (saved as the settings file's module saves: merged under its lock, never over a
    file that cannot be read or a newer Spyglass's). None when done or nothing was to be
    done; else why the settings could not be saved (a sentence), for the caller to say
    what follows from it."""
    from spyglass.core.settings_file import update_settings

    def change(settings: Settings) -> bool:
        kept = [host for host in settings.forget_pending if host not in hosts]
        if len(kept) == len(settings.forget_pending):
            return False
        settings.forget_pending = kept
        return True

    try:
        update_settings(change)
    except SpyglassError as exc:
        log.info("The hosts %s stay among the passwords still to be removed: %s",
                 ", ".join(hosts), exc)
        return str(exc)
    return None
