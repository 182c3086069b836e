"""User settings: a small JSON file under ``platformdirs.user_config_dir("spyglass")``.

What is kept: the recently opened locations (most recent first, at most
:data:`MAX_RECENT`, no duplicates), the locations that were open when the
window last closed, the registries in the places tree (host, user name, whether
plain HTTP / unverified TLS is allowed, repositories opened by name — never a
password or token: those go to the system keyring through
:mod:`spyglass.core.credentials`), whether the first start is behind us, and the
window's geometry as Qt saves it (base64 text, opaque here: this module imports
no Qt).

Reading never fails: a missing file gives the defaults, and so does a file that
is not a JSON object — that file is renamed to ``settings.json.bad`` so that the
next save does not silently destroy what the user may want to look at. A field
of the wrong type falls back to its default on its own. Writing is atomic: a
temporary file in the same folder, flushed and synced, then ``os.replace``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import platformdirs

from spyglass.core.errors import SpyglassError

log = logging.getLogger(__name__)

APP_NAME: Final = "spyglass"
FILE_NAME: Final = "settings.json"
BAD_SUFFIX: Final = ".bad"
MAX_RECENT: Final = 10
FORMAT_VERSION: Final = 1
SECRET_KEYS: Final = frozenset({"password", "secret", "token", "identity_token", "auth"})
"""Keys a registry entry never has; a hand-edited file that holds one is read without it."""


def settings_path() -> Path:
    """Where the settings file lives (the folder may not exist yet)."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / FILE_NAME


def normalize_location(path: str | os.PathLike[str]) -> str:
    """The form a location is remembered in: absolute, ``~`` expanded, not resolved.

    Pure string work: symbolic links are kept as the user named them, and
    nothing on disk is touched.
    """
    return os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(path))))


def _unique(paths: Iterable[str], limit: int | None = None) -> list[str]:
    out: list[str] = []
    for path in paths:
        normal = normalize_location(path)
        if normal not in out:
            out.append(normal)
        if limit is not None and len(out) >= limit:
            break
    return out


def _host_problem(host: str) -> str | None:
    if not host:
        return "it is empty"
    if any(c.isspace() for c in host) or "/" in host:
        return "it holds a space or a slash"
    return None


@dataclass
class RegistrySettings:
    """One registry of the places tree, as remembered between sessions.

    The secret is never here: :class:`~spyglass.core.credentials.CredentialStore`
    keeps it (the keyring, or the session when there is none).

    Attributes:
        host: the registry as people name it (``docker.io``, ``localhost:5000``),
            already canonical (lower case, no scheme, no path).
        username: the account last used, shown in the window; "" for anonymous.
        insecure: plain HTTP and unverified TLS are allowed for this registry.
        repositories: repositories opened by name (for registries without a
            catalog), in the order they were opened.
    """

    host: str
    username: str = ""
    insecure: bool = False
    repositories: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.host = self.host.strip().lower()
        problem = _host_problem(self.host)
        if problem:
            raise SpyglassError(f'"{self.host}" is not a registry host: {problem}.')

    def copy(self) -> RegistrySettings:
        return replace(self, repositories=list(self.repositories))

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "username": self.username,
            "insecure": self.insecure,
            "repositories": list(dict.fromkeys(self.repositories)),
        }

    @classmethod
    def from_json(cls, data: object, *, where: Path | str = FILE_NAME) -> RegistrySettings | None:
        """One entry of ``registries``; None (with a warning) when it has no usable host."""
        if not isinstance(data, dict):
            log.warning("Ignoring a registry in %s: expected an object.", where)
            return None
        host = data.get("host")
        if not isinstance(host, str) or _host_problem(host.strip().lower()):
            log.warning("Ignoring a registry in %s: it has no valid host.", where)
            return None
        secrets = sorted(SECRET_KEYS & set(data))
        if secrets:
            # name the keys, never the values
            log.warning('Ignoring %s of the registry %s in %s: secrets belong in the '
                        "system keyring.", ", ".join(f'"{k}"' for k in secrets), host, where)
        entry = cls(host)
        username = data.get("username")
        if isinstance(username, str):
            entry.username = username
        elif username is not None:
            log.warning('Ignoring "username" of the registry %s in %s: expected text.',
                        host, where)
        insecure = data.get("insecure")
        if isinstance(insecure, bool):
            entry.insecure = insecure
        elif insecure is not None:
            log.warning('Ignoring "insecure" of the registry %s in %s: expected true or false.',
                        host, where)
        repositories = data.get("repositories")
        if isinstance(repositories, list) and all(isinstance(r, str) and r for r in repositories):
            entry.repositories = list(dict.fromkeys(repositories))
        elif repositories is not None:
            log.warning('Ignoring "repositories" of the registry %s in %s: expected a list '
                        "of names.", host, where)
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
    """

    recent_locations: list[str] = field(default_factory=list)
    open_locations: list[str] = field(default_factory=list)
    first_run_done: bool = False
    window_geometry: str = ""
    registries: list[RegistrySettings] = field(default_factory=list)
    show_attachment_tags: bool = False

    def copy(self) -> Settings:
        """A deep copy (for saving a snapshot on another thread)."""
        return replace(
            self,
            recent_locations=list(self.recent_locations),
            open_locations=list(self.open_locations),
            registries=[r.copy() for r in self.registries],
        )

    def registry(self, host: str) -> RegistrySettings | None:
        """The registry entry for ``host``, or None."""
        wanted = host.strip().lower()
        return next((r for r in self.registries if r.host == wanted), None)

    def set_registry(self, entry: RegistrySettings) -> None:
        """Add ``entry``, or replace the entry of the same host where it stands."""
        for i, existing in enumerate(self.registries):
            if existing.host == entry.host:
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
        self.recent_locations = _unique(
            [normalize_location(path), *self.recent_locations], MAX_RECENT
        )

    def remove_recent(self, path: str | os.PathLike[str]) -> None:
        normal = normalize_location(path)
        self.recent_locations = [p for p in self.recent_locations if p != normal]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "recent_locations": _unique(self.recent_locations, MAX_RECENT),
            "open_locations": _unique(self.open_locations),
            "first_run_done": self.first_run_done,
            "window_geometry": self.window_geometry,
            "registries": [r.to_json() for r in _unique_registries(self.registries)],
            "show_attachment_tags": self.show_attachment_tags,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, where: Path | str = FILE_NAME) -> Settings:
        """Settings from a parsed file; fields of the wrong type take their defaults."""
        settings = cls()

        def bad(name: str, expected: str) -> None:
            log.warning('Ignoring "%s" in %s: expected %s.', name, where, expected)

        for name in ("recent_locations", "open_locations"):
            value = data.get(name)
            if value is None:
                continue
            if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
                limit = MAX_RECENT if name == "recent_locations" else None
                setattr(settings, name, _unique(value, limit))
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
        value = data.get("registries")
        if isinstance(value, list):
            entries = [RegistrySettings.from_json(item, where=where) for item in value]
            settings.registries = _unique_registries(e for e in entries if e is not None)
        elif value is not None:
            bad("registries", "a list of registries")
        return settings


def _unique_registries(entries: Iterable[RegistrySettings]) -> list[RegistrySettings]:
    """One entry per host, the first one winning."""
    seen: dict[str, RegistrySettings] = {}
    for entry in entries:
        seen.setdefault(entry.host, entry)
    return list(seen.values())


def _set_aside(path: Path, reason: str) -> None:
    """Rename an unusable settings file to ``settings.json.bad`` (replacing an older one)."""
    bad = path.with_name(path.name + BAD_SUFFIX)
    try:
        os.replace(path, bad)
    except OSError as exc:
        log.warning("The settings file %s %s; it could not be set aside either: %s",
                    path, reason, exc)
        return
    log.warning("The settings file %s %s; it was renamed to %s and defaults are used.",
                path, reason, bad)


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings; never raises. Missing file → defaults; unusable file → set aside."""
    path = path or settings_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        _set_aside(path, f"cannot be read ({exc.strerror or exc})")
        return Settings()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _set_aside(path, f"is not valid JSON ({exc})")
        return Settings()
    if not isinstance(data, dict):
        _set_aside(path, "does not hold a JSON object")
        return Settings()
    return Settings.from_json(data, where=path)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write the settings atomically; raise :class:`SpyglassError` with a sentence on failure."""
    path = path or settings_path()
    text = json.dumps(settings.to_json(), indent=2, ensure_ascii=False) + "\n"
    tmp_name: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SpyglassError(
            f'Cannot save the settings to "{path}": {reason}. '
            "Check that the folder is writable."
        ) from exc
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
