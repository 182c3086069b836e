"""User settings: a small JSON file under ``platformdirs.user_config_dir("spyglass")``.

What is kept: the recently opened locations (most recent first, at most
:data:`MAX_RECENT`, no duplicates), the locations that were open when the
window last closed, the registries in the places tree (host, user name, whether
plain HTTP / unverified TLS is allowed, repositories opened by name — never a
password or token: those go to the system keyring through
:mod:`spyglass.core.credentials`), whether the first start is behind us, and the
window's geometry as Qt saves it (base64 text, opaque here: this module imports
no Qt).

Reading and saving the file is :mod:`spyglass.core.settings_file`; merging what a
window changed with what the file holds now, :mod:`spyglass.core.settings_merge`.
"""

from __future__ import annotations

import copy as copying
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import platformdirs

from spyglass.core.errors import SpyglassError

log = logging.getLogger(__name__)

APP_NAME: Final = "spyglass"
FILE_NAME: Final = "settings.json"
MAX_RECENT: Final = 10
FORMAT_VERSION: Final = 1
SECRET_KEYS: Final = frozenset({"password", "secret", "token", "identity_token", "auth"})
"""Keys a registry entry never has; a hand-edited file that holds one is read without it."""
CONFIG_VARIABLE: Final = "XDG_CONFIG_HOME"
"""What names the settings' base folder when it is not in the home folder."""

_KEYS: Final = frozenset({"version", "recent_locations", "open_locations", "first_run_done",
                          "window_geometry", "registries", "show_attachment_tags",
                          "forget_pending", "forget_users"})
_REGISTRY_KEYS: Final = frozenset({"host", "username", "insecure", "repositories",
                                   "saved_token"})


def settings_path() -> Path:
    """Where the settings file lives (the folder may not exist yet)."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / FILE_NAME


def normalize_location(path: str | os.PathLike[str]) -> str:
    """The form a location is remembered in: absolute, ``~`` expanded, not resolved.

    Pure string work: symbolic links are kept as the user named them, and
    nothing on disk is touched.
    """
    return os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(path))))


def unique_locations(paths: Iterable[str], limit: int | None = None) -> list[str]:
    """``paths`` normalized, each once (the first place it has), at most ``limit``; in
    linear time: a hand-edited list of thousands was read in seconds, each save too."""
    out: dict[str, None] = {}
    for path in paths:
        out.setdefault(normalize_location(path))
        if limit is not None and len(out) >= limit:
            break
    return list(out)


def _host_problem(host: str) -> str | None:
    if not host:
        return "it is empty"
    if any(c.isspace() for c in host) or "/" in host:
        return "it holds a space or a slash"
    return None


Problems = list[str]
"""What reading left out of a file, one phrase each (``"insecure" of the registry
quay.io (expected true or false)``), for the sentence the window shows."""


@dataclass
class RegistrySettings:
    """One registry of the places tree, as remembered between sessions.

    The secret is never here: :class:`~spyglass.core.credentials.store.CredentialStore`
    keeps it (the keyring, or the session when there is none).

    Attributes:
        host: the registry as people name it (``docker.io``, ``localhost:5000``),
            already canonical (lower case, no scheme, no path).
        username: the account last used, shown in the window; "" for anonymous. The
            window saved its password (in the keyring, or for the session).
        saved_token: the window saved a token typed with no user name for it (in the
            keyring, or for the session); False for a user name, and for none.
        insecure: plain HTTP and unverified TLS are allowed for this registry.
        repositories: repositories opened by name (for registries without a
            catalog), in the order they were opened.
        extra: the entry's keys this version does not know (a newer one's), written
            back as they were.
    """

    host: str
    username: str = ""
    insecure: bool = False
    repositories: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    saved_token: bool = False

    @property
    def keeps_secret(self) -> bool:
        """Whether the window saved a secret for this registry (the password of
        :attr:`username`, or a token alone): what it may forget. Credentials saved
        by anything else (``spyglass login``, ``docker login``) are not its to forget."""
        return bool(self.username) or self.saved_token

    def __post_init__(self) -> None:
        self.host = self.host.strip().lower()
        problem = _host_problem(self.host)
        if problem:
            raise SpyglassError(f'"{self.host}" is not a registry host: {problem}.')

    def copy(self) -> RegistrySettings:
        return replace(self, repositories=list(self.repositories),
                       extra=copying.deepcopy(self.extra))

    def to_json(self) -> dict[str, Any]:
        known = {
            "host": self.host,
            "username": self.username,
            "insecure": self.insecure,
            "repositories": list(dict.fromkeys(self.repositories)),
        }
        if self.saved_token:  # (rare: not written otherwise)
            known["saved_token"] = True
        return {**known, **{k: v for k, v in self.extra.items() if k not in known}}

    @classmethod
    def from_json(cls, data: object, *, where: Path | str = FILE_NAME,
                  problems: Problems | None = None) -> RegistrySettings | None:
        """One entry of ``registries``; None (with a warning) when it has no usable host.

        What is left out is logged, and noted in ``problems`` (but for secrets: those
        are meant to go)."""
        noted = problems if problems is not None else []
        if not isinstance(data, dict):
            log.warning("Ignoring a registry in %s: expected an object.", where)
            noted.append("a registry that is not an object")
            return None
        host = data.get("host")
        if not isinstance(host, str) or _host_problem(host.strip().lower()):
            log.warning("Ignoring a registry in %s: it has no valid host.", where)
            noted.append("a registry without a valid host")
            return None
        secrets = sorted(SECRET_KEYS & set(data))
        if secrets:
            # name the keys, never the values
            log.warning('Ignoring %s of the registry %s in %s: secrets belong in the '
                        "system keyring.", ", ".join(f'"{k}"' for k in secrets), host, where)
        entry = cls(host)

        def ignored(name: str, expected: str) -> None:
            log.warning('Ignoring "%s" of the registry %s in %s: expected %s.',
                        name, host, where, expected)
            noted.append(f'"{name}" of the registry {entry.host} (expected {expected})')

        username = data.get("username")
        if isinstance(username, str):
            entry.username = username
        elif username is not None:
            ignored("username", "text")
        insecure = data.get("insecure")
        if isinstance(insecure, bool):
            entry.insecure = insecure
        elif insecure is not None:
            ignored("insecure", "true or false")
        saved_token = data.get("saved_token")
        if isinstance(saved_token, bool):
            entry.saved_token = saved_token
        elif saved_token is not None:
            ignored("saved_token", "true or false")
        repositories = data.get("repositories")
        if isinstance(repositories, list) and all(isinstance(r, str) and r for r in repositories):
            entry.repositories = list(dict.fromkeys(repositories))
        elif repositories is not None:
            ignored("repositories", "a list of names")
        entry.extra = {k: v for k, v in data.items()
                       if k not in _REGISTRY_KEYS and k not in SECRET_KEYS}
        return entry


@dataclass
class Settings:
    """The user's settings. Mutable; save with :func:`save_settings`.

    Attributes:
        recent_locations: layout folders and archives opened, most recent first.
        open_locations: the locations open when the window last closed, in tree order.
        first_run_done: False until the window has been shown once.
        window_geometry: ``QMainWindow.saveGeometry()`` as base64 text, or "".
        registries: the registries of the places tree, in tree order, one per host.
        show_attachment_tags: list cosign's ``.sig``/``.att``/``.sbom`` and ``sha256-…``
            referrer tags among a repository's tags (hidden by default).
        forget_pending: hosts whose saved password is still to be removed from the
            keyring: their registry was removed (or its user name cleared) and the
            keyring had not answered yet (it waits on its unlock prompt, say). The
            window removes them once it has, or at its next start.
        forget_users: for a host of ``forget_pending``, the user name the window saved
            its password for ("" for a token alone): the keyring's entry is removed only
            while it is still theirs (``spyglass login`` may have saved another user's
            since). A host without one (noted by an older version) has only an entry
            with no user name removed, which only the window writes.
        extra: the file's keys this version does not know (a newer one's), written
            back as they were.
    """

    recent_locations: list[str] = field(default_factory=list)
    open_locations: list[str] = field(default_factory=list)
    first_run_done: bool = False
    window_geometry: str = ""
    registries: list[RegistrySettings] = field(default_factory=list)
    show_attachment_tags: bool = False
    forget_pending: list[str] = field(default_factory=list)
    forget_users: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> Settings:
        """A deep copy (for saving a snapshot on another thread)."""
        return replace(
            self,
            recent_locations=list(self.recent_locations),
            open_locations=list(self.open_locations),
            registries=[r.copy() for r in self.registries],
            forget_pending=list(self.forget_pending),
            forget_users=dict(self.forget_users),
            extra=copying.deepcopy(self.extra),
        )

    def take(self, other: Settings) -> None:
        """Become ``other``, in place: this object stays the one the window shares, and so
        does each registry entry whose host ``other`` has too (the places tree holds on to
        them), updated in place."""
        mine = {r.host: r for r in self.registries}
        registries = []
        for theirs in other.registries:
            entry = mine.get(theirs.host)
            if entry is None:
                entry = theirs.copy()
            else:
                entry.username = theirs.username
                entry.saved_token = theirs.saved_token
                entry.insecure = theirs.insecure
                entry.repositories[:] = theirs.repositories
                entry.extra = copying.deepcopy(theirs.extra)
            registries.append(entry)
        self.recent_locations = list(other.recent_locations)
        self.open_locations = list(other.open_locations)
        self.first_run_done = other.first_run_done
        self.window_geometry = other.window_geometry
        self.registries = registries
        self.show_attachment_tags = other.show_attachment_tags
        self.forget_pending = list(other.forget_pending)
        self.forget_users = dict(other.forget_users)
        self.extra = copying.deepcopy(other.extra)

    def registry(self, host: str) -> RegistrySettings | None:
        """The registry entry for ``host``, or None."""
        wanted = host.strip().lower()
        return next((r for r in self.registries if r.host == wanted), None)

    def set_registry(self, entry: RegistrySettings) -> None:
        """Add ``entry``, or replace the entry of the same host where it stands (``entry``
        takes over the keys of the old one this version does not know, unless it has
        its own)."""
        for i, existing in enumerate(self.registries):
            if existing.host == entry.host:
                if not entry.extra:
                    entry.extra = copying.deepcopy(existing.extra)
                self.registries[i] = entry
                return
        self.registries.append(entry)

    def remove_registry(self, host: str) -> bool:
        """Forget the registry ``host``; True if it was there."""
        wanted = host.strip().lower()
        before = len(self.registries)
        self.registries = [r for r in self.registries if r.host != wanted]
        return len(self.registries) != before

    def add_recent(self, path: str | os.PathLike[str]) -> None:
        """Put ``path`` first in the recent list (moving it if it was there), keep 10."""
        self.recent_locations = unique_locations(
            [normalize_location(path), *self.recent_locations], MAX_RECENT
        )

    def remove_recent(self, path: str | os.PathLike[str]) -> None:
        normal = normalize_location(path)
        self.recent_locations = [p for p in self.recent_locations if p != normal]

    def to_json(self) -> dict[str, Any]:
        known = {
            "version": FORMAT_VERSION,
            "recent_locations": unique_locations(self.recent_locations, MAX_RECENT),
            "open_locations": unique_locations(self.open_locations),
            "first_run_done": self.first_run_done,
            "window_geometry": self.window_geometry,
            "registries": [r.to_json() for r in _unique_registries(self.registries)],
            "show_attachment_tags": self.show_attachment_tags,
        }
        if self.forget_pending:  # (rare: not written otherwise)
            known["forget_pending"] = list(dict.fromkeys(self.forget_pending))
            users = {host: user for host, user in self.forget_users.items()
                     if host in self.forget_pending}
            if users:
                known["forget_users"] = users
        return {**known, **{k: v for k, v in self.extra.items() if k not in known}}

    @classmethod
    def from_json(cls, data: dict[str, Any], *, where: Path | str = FILE_NAME,
                  problems: Problems | None = None) -> Settings:
        """Settings from a parsed file; fields of the wrong type take their defaults (and
        are noted in ``problems``), keys not known here are kept in :attr:`extra`."""
        settings = cls()
        noted = problems if problems is not None else []

        def bad(name: str, expected: str) -> None:
            log.warning('Ignoring "%s" in %s: expected %s.', name, where, expected)
            noted.append(f'"{name}" (expected {expected})')

        for name in ("recent_locations", "open_locations"):
            value = data.get(name)
            if value is None:
                continue
            if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
                limit = MAX_RECENT if name == "recent_locations" else None
                setattr(settings, name, unique_locations(value, limit))
            else:
                bad(name, "a list of paths")
        value = data.get("first_run_done")
        if isinstance(value, bool):
            settings.first_run_done = value
        elif value is not None:
            bad("first_run_done", "true or false")
        value = data.get("show_attachment_tags")
        if isinstance(value, bool):
            settings.show_attachment_tags = value
        elif value is not None:
            bad("show_attachment_tags", "true or false")
        value = data.get("window_geometry")
        if isinstance(value, str):
            settings.window_geometry = value
        elif value is not None:
            bad("window_geometry", "a base64 string")
        value = data.get("forget_pending")
        if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
            settings.forget_pending = list(dict.fromkeys(value))
        elif value is not None:
            bad("forget_pending", "a list of registry hosts")
        value = data.get("forget_users")
        if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                           for k, v in value.items()):
            settings.forget_users = dict(value)
        elif value is not None:
            bad("forget_users", "an object of registry hosts and user names")
        value = data.get("version")
        if value is not None and format_version(data) is None:
            bad("version", "a whole number")
        value = data.get("registries")
        if isinstance(value, list):
            entries = [RegistrySettings.from_json(item, where=where, problems=noted)
                       for item in value]
            kept: dict[str, RegistrySettings] = {}
            for entry in entries:
                if entry is None:
                    continue
                if entry.host in kept:
                    log.warning("Ignoring a second entry for the registry %s in %s.",
                                entry.host, where)
                    noted.append(f"a second entry for the registry {entry.host}")
                    continue
                kept[entry.host] = entry
            settings.registries = list(kept.values())
        elif value is not None:
            bad("registries", "a list of registries")
        settings.extra = {k: v for k, v in data.items() if k not in _KEYS}
        return settings


def format_version(data: dict[str, Any]) -> int | None:
    """The file's format version; None when it has none, or one that is not a number."""
    value = data.get("version")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _unique_registries(entries: Iterable[RegistrySettings]) -> list[RegistrySettings]:
    """One entry per host, the first one winning."""
    seen: dict[str, RegistrySettings] = {}
    for entry in entries:
        seen.setdefault(entry.host, entry)
    return list(seen.values())
