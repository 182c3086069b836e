"""User settings: a small JSON file under ``platformdirs.user_config_dir("spyglass")``.

What is kept: the recently opened locations (most recent first, at most
:data:`MAX_RECENT`, no duplicates), the locations that were open when the
window last closed, the registries in the places tree (host, user name, whether
plain HTTP / unverified TLS is allowed, repositories opened by name — never a
password or token: those go to the system keyring through
:mod:`spyglass.core.credentials`), whether the first start is behind us, and the
window's geometry as Qt saves it (base64 text, opaque here: this module imports
no Qt).

Reading never fails (:func:`read_settings`, :func:`load_settings`): a missing file
gives the defaults, and so does a file that cannot be read or is not a JSON object —
that file is renamed to ``settings.json.bad`` (``settings.json.bad.1``, … when that
name is taken: an older one is never replaced) so that the next save does not
silently destroy what the user may want to look at. A field of the wrong type falls
back to its default on its own, and is noted (:attr:`LoadedSettings.problems`). Keys
this version does not know (a newer version's, at the top or in a registry) are kept
and written back as they were.

Writing (:func:`save_settings`) merges, then replaces the file atomically. Under a
lock file beside the settings file (``settings.json.lock``, there while a save runs),
so that two saves — two windows, two programs — never interleave, the file is read
again and what the caller changed since it read the file (``base``) is applied to
what the file holds now (:func:`merge_settings`): what another window or a hand edit
changed meanwhile is kept. The result goes to a temporary file in the same folder,
flushed and synced, then ``os.replace``. A file with fields that were left out is
copied aside as above before it is rewritten; a file a newer Spyglass wrote (a
higher ``version``) is never rewritten. A settings file that is a symbolic link
stays one: the file it leads to is replaced. The file is UTF-8; a path's byte that
is not UTF-8 is written as JSON's escape of the surrogate Python reads it as
(``\\udcff``), and read back as that byte (:func:`settings_text`). Folders are made
only below an existing home folder or ``$XDG_CONFIG_HOME`` (the rule of
:mod:`spyglass.core.cachedir`): a home folder that is not there is never made, and
the settings then last only for the session (:attr:`LoadedSettings.not_kept`).
"""

from __future__ import annotations

import copy as copying
import errno
import json
import logging
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import platformdirs

from spyglass.core.cachedir import make_user_folder, may_make_user_folder, tighten_own_folder
from spyglass.core.errors import SpyglassError

log = logging.getLogger(__name__)

APP_NAME: Final = "spyglass"
FILE_NAME: Final = "settings.json"
BAD_SUFFIX: Final = ".bad"
LOCK_SUFFIX: Final = ".lock"
MAX_RECENT: Final = 10
FORMAT_VERSION: Final = 1
SECRET_KEYS: Final = frozenset({"password", "secret", "token", "identity_token", "auth"})
"""Keys a registry entry never has; a hand-edited file that holds one is read without it."""
CONFIG_VARIABLE: Final = "XDG_CONFIG_HOME"
"""What names the settings' base folder when it is not in the home folder."""

_KEYS: Final = frozenset({"version", "recent_locations", "open_locations", "first_run_done",
                          "window_geometry", "registries", "show_attachment_tags"})
_REGISTRY_KEYS: Final = frozenset({"host", "username", "insecure", "repositories"})
_SHOWN_PROBLEMS: Final = 3
LOCK_WAIT: Final = 3.0
"""Seconds a save waits for the lock another program holds before it fails (and the
next save tries again): a save holds it for a moment; one that holds it longer is hung
or stopped."""
STALE_TEMP_AGE: Final = 60.0
"""Seconds after which a save's temporary file (``.settings.json.XXXXXXXX.tmp``) found by
the next save is one a save killed mid-write left, and is removed."""
_TEMP_NAME: Final = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")


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
        username: the account last used, shown in the window; "" for anonymous.
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
        extra: the file's keys this version does not know (a newer one's), written
            back as they were.
    """

    recent_locations: list[str] = field(default_factory=list)
    open_locations: list[str] = field(default_factory=list)
    first_run_done: bool = False
    window_geometry: str = ""
    registries: list[RegistrySettings] = field(default_factory=list)
    show_attachment_tags: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> Settings:
        """A deep copy (for saving a snapshot on another thread)."""
        return replace(
            self,
            recent_locations=list(self.recent_locations),
            open_locations=list(self.open_locations),
            registries=[r.copy() for r in self.registries],
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
        self.recent_locations = _unique(
            [normalize_location(path), *self.recent_locations], MAX_RECENT
        )

    def remove_recent(self, path: str | os.PathLike[str]) -> None:
        normal = normalize_location(path)
        self.recent_locations = [p for p in self.recent_locations if p != normal]

    def to_json(self) -> dict[str, Any]:
        known = {
            "version": FORMAT_VERSION,
            "recent_locations": _unique(self.recent_locations, MAX_RECENT),
            "open_locations": _unique(self.open_locations),
            "first_run_done": self.first_run_done,
            "window_geometry": self.window_geometry,
            "registries": [r.to_json() for r in _unique_registries(self.registries)],
            "show_attachment_tags": self.show_attachment_tags,
        }
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
        value = data.get("version")
        if value is not None and _version(data) is None:
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


def _version(data: dict[str, Any]) -> int | None:
    """The file's format version; None when it has none, or one that is not a number."""
    value = data.get("version")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _unique_registries(entries: Iterable[RegistrySettings]) -> list[RegistrySettings]:
    """One entry per host, the first one winning."""
    seen: dict[str, RegistrySettings] = {}
    for entry in entries:
        seen.setdefault(entry.host, entry)
    return list(seen.values())


# -- merging


def _merge_value(base: Any, mine: Any, theirs: Any) -> Any:
    """Mine where I changed it since ``base``, else theirs."""
    return copying.deepcopy(mine if mine != base else theirs)


def _merge_extra(base: dict[str, Any], mine: dict[str, Any],
                 theirs: dict[str, Any]) -> dict[str, Any]:
    """Keys this version does not know: the file's, with what mine set differently from
    ``base`` on top (Spyglass never takes such a key away: one mine lacks stays)."""
    merged = copying.deepcopy(theirs)
    for key, value in mine.items():
        if key not in base or base[key] != value:
            merged[key] = copying.deepcopy(value)
    return merged


def _merge_names(base: list[str], mine: list[str], theirs: list[str]) -> list[str]:
    """A list of names: theirs, less what mine took out since ``base``, then what mine
    added (in mine's order)."""
    removed = set(base) - set(mine)
    merged = [name for name in theirs if name not in removed]
    merged += [name for name in mine if name not in base and name not in merged]
    return merged


def _opened_since(base: list[str], mine: list[str]) -> int:
    """How many of mine's first recent places were opened since ``base``: mine is those
    (most recent first) before what is left of ``base`` in its order."""
    j = len(base) - 1
    for i in range(len(mine) - 1, -1, -1):
        while j >= 0 and base[j] != mine[i]:
            j -= 1
        if j < 0:
            return i + 1
        j -= 1
    return 0


def _merge_recent(base: list[str], mine: list[str], theirs: list[str]) -> list[str]:
    """The recent places: those opened here since ``base`` first, then the file's, less
    those taken off the list here (Clear Recent, a place that failed); at most
    :data:`MAX_RECENT`. A full list lost its last ones to the cap, not to a removal."""
    opened = mine[:_opened_since(base, mine)]
    removed = set(base) - set(mine) if len(mine) < MAX_RECENT else set()
    rest = [p for p in theirs if p not in opened and p not in removed]
    return _unique([*opened, *rest], MAX_RECENT)


def _merge_registry(base: RegistrySettings | None, mine: RegistrySettings,
                    theirs: RegistrySettings) -> RegistrySettings:
    if base is None:  # added on both sides: mine, with the file's unknown keys
        merged = mine.copy()
        merged.extra = _merge_extra({}, mine.extra, theirs.extra)
        return merged
    merged = theirs.copy()
    merged.username = _merge_value(base.username, mine.username, theirs.username)
    merged.insecure = _merge_value(base.insecure, mine.insecure, theirs.insecure)
    merged.repositories = _merge_names(base.repositories, mine.repositories,
                                       theirs.repositories)
    merged.extra = _merge_extra(base.extra, mine.extra, theirs.extra)
    return merged


def _same_registry(one: RegistrySettings, other: RegistrySettings) -> bool:
    return one.to_json() == other.to_json()


def _merge_registries(base: list[RegistrySettings], mine: list[RegistrySettings],
                      theirs: list[RegistrySettings]) -> list[RegistrySettings]:
    """By host, in the file's order, then the ones added here: one removed here goes (a
    change made to it meanwhile too), one added there stays, one changed on both sides
    is merged field by field, and one removed there stays removed unless it was changed
    here since."""
    in_base = {r.host: r for r in base}
    in_mine = {r.host: r for r in mine}
    in_theirs = {r.host: r for r in theirs}
    merged: list[RegistrySettings] = []
    for entry in theirs:
        host = entry.host
        if host in in_mine:
            merged.append(_merge_registry(in_base.get(host), in_mine[host], entry))
        elif host not in in_base:
            merged.append(entry.copy())  # added there
        # else: removed here
    for entry in mine:
        host = entry.host
        if host in in_theirs:
            continue
        known = in_base.get(host)
        if known is None or not _same_registry(known, entry):
            merged.append(entry.copy())  # added here, or changed here after a removal there
    return merged


def merge_settings(base: Settings | None, mine: Settings, theirs: Settings) -> Settings:
    """Three-way merge: ``mine`` (a window's settings) and ``theirs`` (what the file holds
    now) both came from ``base`` (what that window read or last saved).

    A field mine changed since ``base`` takes mine's value, any other the file's (the
    window's geometry, the places open when it closed, first start, the attachment
    tags). Registries are merged by host (see :func:`_merge_registries`), the recent
    places by what was opened and taken off here (see :func:`_merge_recent`). Keys this
    version does not know are the file's, with any mine set on top. With no ``base``
    every field is mine's, but for those unknown keys.
    """
    if base is None:
        merged = mine.copy()
        merged.extra = _merge_extra({}, mine.extra, theirs.extra)
        by_host = {r.host: r for r in theirs.registries}
        for entry in merged.registries:
            if entry.host in by_host:
                entry.extra = _merge_extra({}, entry.extra, by_host[entry.host].extra)
        return merged
    merged = theirs.copy()
    for name in ("first_run_done", "window_geometry", "show_attachment_tags",
                 "open_locations"):
        setattr(merged, name, _merge_value(getattr(base, name), getattr(mine, name),
                                           getattr(theirs, name)))
    merged.recent_locations = _merge_recent(base.recent_locations, mine.recent_locations,
                                            theirs.recent_locations)
    merged.registries = _merge_registries(base.registries, mine.registries,
                                          theirs.registries)
    merged.extra = _merge_extra(base.extra, mine.extra, theirs.extra)
    return merged


# -- reading


def _target(path: Path) -> Path:
    """The file the settings are in: ``path``, or where it leads when it is a symbolic
    link (followed to the end; a link to nothing leads to the file to make there)."""
    if not path.is_symlink():
        return path
    return Path(os.path.realpath(path))


def _free_bad_name(path: Path) -> Path:
    """``settings.json.bad``, or ``settings.json.bad.1``, … : the first name not taken."""
    bad = path.with_name(path.name + BAD_SUFFIX)
    number = 0
    while os.path.lexists(bad):
        number += 1
        bad = path.with_name(f"{path.name}{BAD_SUFFIX}.{number}")
    return bad


@dataclass
class _FileState:
    """The settings file as read: its object, or why it could not be used."""

    data: dict[str, Any] | None = None
    raw: bytes = b""
    unusable: str = ""
    """Why a file that is there could not be used ("" when it could, or is not there)."""


class _NotJSON(ValueError):
    """JSON Python cannot read though its syntax may be right (nested too deeply, a number
    of too many digits); its text is the reason, without a made-up position."""


def _loads(raw: bytes) -> Any:
    """``json.loads``, with nesting too deep for Python and a number of more digits than it
    converts refused as not JSON (:class:`_NotJSON`), the way
    :func:`spyglass.core.gojson.loads` does.

    Not ``gojson.loads`` itself: that makes the escape of a lone surrogate U+FFFD, and
    a path's byte that is not UTF-8 is written as one (:func:`settings_text`)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise _NotJSON("it is nested too deeply") from None
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
            raise
        raise _NotJSON(str(exc)) from None


def _read_file(path: Path) -> _FileState:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return _FileState()
    except OSError as exc:
        return _FileState(unusable=f"it cannot be read: {exc.strerror or exc}")
    try:
        data = _loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, _NotJSON) as exc:
        return _FileState(raw=raw, unusable=f"it is not valid JSON: {exc}")
    if not isinstance(data, dict):
        return _FileState(raw=raw, unusable="it does not hold a JSON object")
    return _FileState(data, raw)


def _set_aside(path: Path, shown: Path, reason: str) -> tuple[Path | None, str]:
    """Rename an unusable settings file to a free ``.bad`` name; (that name, "") or
    (None, why it could not be)."""
    bad = _free_bad_name(path)
    try:
        os.rename(path, bad)
    except OSError as exc:
        why = exc.strerror or str(exc)
        log.warning("The settings file %s is not usable (%s); it could not be set aside "
                    "either: %s", shown, reason, why)
        return None, why
    log.warning("The settings file %s is not usable (%s); it was renamed to %s and "
                "defaults are used.", shown, reason, bad)
    return bad, ""


def _problem_list(problems: Problems) -> str:
    shown = "; ".join(problems[:_SHOWN_PROBLEMS])
    more = len(problems) - _SHOWN_PROBLEMS
    return shown + (f"; and {more} more" if more > 0 else "")


def _missing_folder(folder: Path) -> str:
    """What is not there that the settings folder would be made in, and why that ends it."""
    xdg = os.environ.get(CONFIG_VARIABLE, "")
    if xdg and os.path.isabs(xdg) and folder.is_relative_to(xdg):
        return (f'the folder "{xdg}" (${CONFIG_VARIABLE}) does not exist, and Spyglass '
                "does not make it")
    home = os.path.expanduser("~")
    if os.path.isabs(home) and folder.is_relative_to(home):
        return f'the home folder "{home}" does not exist, and Spyglass makes no home folder'
    return (f'the folder "{folder}" does not exist, and Spyglass makes folders only in the '
            f"home folder or ${CONFIG_VARIABLE}")


def _not_kept_sentence(folder: Path) -> str:
    return (f"The settings cannot be kept: {_missing_folder(folder)}. Changes made in this "
            "window last only until Spyglass quits.")


def _newer_sentence(shown: Path, version: int) -> str:
    return (f'The settings file "{shown}" was written by a newer Spyglass (settings '
            f"format {version}; this one knows format {FORMAT_VERSION}). This Spyglass "
            "reads it but never rewrites it, so changes made in this window last only "
            "until Spyglass quits.")


def _set_aside_sentence(shown: Path, reason: str, bad: Path | None, why: str) -> str:
    said = (f'The settings file "{shown}" could not be used ({reason}), so Spyglass '
            "started without the registries and places it kept. ")
    if bad is not None:
        return said + f'The file was renamed to "{bad}": what it held is there.'
    return said + (f"It could not be renamed aside either ({why}): move it away, or "
                   "the settings cannot be saved.")


def left_out_sentence(shown: Path, problems: Problems) -> str:
    """The fields left out of ``shown``, said before the file could be copied aside."""
    return (f'Some settings in "{shown}" could not be used and were left out: '
            f"{_problem_list(problems)}. The file is left as it is until the settings "
            "can be saved.")


def _problems_sentence(shown: Path, problems: Problems, backup: Path) -> str:
    return (f'Some settings in "{shown}" could not be used and were left out: '
            f'{_problem_list(problems)}. The file as it was is kept as "{backup}".')


@dataclass
class LoadedSettings:
    """What :func:`read_settings` found: the settings, and what to tell the person.

    Attributes:
        settings: the settings read (the defaults for a file missing or set aside).
        path: the settings file.
        set_aside: where a file that could not be used was renamed to, or None.
        unusable: why the file could not be used ("" when it could, or was not there).
        problems: the fields left out of a file that was used (see :data:`Problems`);
            :func:`save_settings` copies such a file aside before it rewrites it.
        newer_version: the file's ``version`` when a newer Spyglass wrote it (it is
            then never rewritten), else None.
        set_aside_failed: why a file that could not be used could not be renamed either.
        not_kept: the folder the settings would be saved in can never be made (the home
            folder is not there): the settings last only for the session.
    """

    settings: Settings
    path: Path
    set_aside: Path | None = None
    unusable: str = ""
    set_aside_failed: str = ""
    problems: Problems = field(default_factory=list)
    newer_version: int | None = None
    not_kept: bool = False

    def notices(self) -> list[str]:
        """What a window says about the file when it opens, one sentence (or two) for
        each thing to know; the fields left out are said once the file is copied aside
        (:meth:`SavedSettings.notice`)."""
        said = []
        if self.unusable:
            said.append(_set_aside_sentence(self.path, self.unusable, self.set_aside,
                                            self.set_aside_failed))
        if self.newer_version is not None:
            said.append(_newer_sentence(self.path, self.newer_version))
        if self.not_kept:
            said.append(_not_kept_sentence(_target(self.path).parent))
        return said

    def notice(self) -> str:
        """:meth:`notices` as one text, or ""."""
        return " ".join(self.notices())

    def left_out(self) -> str:
        """The fields left out, said before the file is copied aside (for when a save fails
        before it can be: the copy's name is said once it is), or ""."""
        if not self.problems or self.newer_version is not None:
            return ""
        return left_out_sentence(self.path, self.problems)


def read_settings(path: Path | None = None, *, set_aside: bool = True) -> LoadedSettings:
    """Read the settings; never raises. Missing file → defaults; unusable file → set
    aside (see the module docstring; not with ``set_aside`` False, for a reader that
    never saves) and defaults."""
    path = path or settings_path()
    target = _target(path)
    loaded = LoadedSettings(Settings(), path)
    loaded.not_kept = not may_make_user_folder(target.parent, CONFIG_VARIABLE)
    tighten_own_folder(target.parent)  # (one an older Spyglass made 0755)
    found = _read_file(target)
    if found.unusable:
        loaded.unusable = found.unusable
        if set_aside:
            loaded.set_aside, loaded.set_aside_failed = _set_aside(target, path,
                                                                   found.unusable)
    elif found.data is not None:
        loaded.settings = Settings.from_json(found.data, where=path, problems=loaded.problems)
        version = _version(found.data)
        if version is not None and version > FORMAT_VERSION:
            loaded.newer_version = version
    return loaded


def load_settings(path: Path | None = None) -> Settings:
    """The settings (see :func:`read_settings`); never raises."""
    return read_settings(path).settings


# -- writing


@dataclass
class SavedSettings:
    """What :func:`save_settings` wrote, and what it did to the file that was there.

    Attributes:
        settings: the settings written (the merge of the caller's with the file's).
        backup: where the file replaced was copied (fields left out) or renamed (not
            usable) to first, or None.
        problems: the fields the file replaced had left out.
        unusable: why the file replaced could not be used ("" when it could).
    """

    settings: Settings
    path: Path
    backup: Path | None = None
    problems: Problems = field(default_factory=list)
    unusable: str = ""

    def notice(self) -> str:
        """What to tell the person about the file replaced, or ""."""
        if self.backup is None:
            return ""
        if self.unusable:
            return (f'The settings file "{self.path}" could not be used ({self.unusable}); '
                    f'it was renamed to "{self.backup}" before the settings were saved.')
        return _problems_sentence(self.path, self.problems, self.backup)


def _busy_sentence(shown: Path, lock: Path) -> str:
    return (f'Cannot save the settings to "{shown}" now: it is being saved by another '
            f'program, which has held "{lock}" for more than {LOCK_WAIT:g} seconds (another '
            "Spyglass, perhaps stopped or hung while it saved). Spyglass tries again with the "
            "next change and when it closes; should those fail too, changes made in this "
            "window are lost when it quits.")


def _lock_failure(exc: OSError, shown: Path, lock: Path) -> str:
    """The sentence for a lock file that is there but cannot be used (another user's that
    cannot even be read, a folder in its place), or cannot be locked at all (a
    filesystem without locks: removing the file would not help)."""
    reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    if exc.errno in (errno.ENOLCK, errno.EINVAL, errno.EOPNOTSUPP):
        return (f'Cannot save the settings to "{shown}": its lock file "{lock}" cannot be '
                f"locked ({reason}): the filesystem of that folder may not support file "
                "locks (a network home folder without a lock service, say). Changes made "
                "in this window last only until Spyglass quits.")
    kind = "folder" if os.path.isdir(lock) else "file"
    return (f'Cannot save the settings to "{shown}": the lock file "{lock}" cannot be '
            f"used ({reason}). Remove that {kind}: Spyglass makes it while it saves, and "
            "removes it when done (one made by sudo spyglass belongs to root). Until then, "
            "changes made in this window last only until Spyglass quits.")


def _save_failure(exc: OSError, shown: Path, folder: Path) -> str:
    """The sentence for a save that failed, with the advice that fits why."""
    if exc.errno == errno.ENOENT and not may_make_user_folder(folder, CONFIG_VARIABLE):
        return _not_kept_sentence(folder)
    reason = (exc.strerror or str(exc) or type(exc).__name__).rstrip(".")
    said = f'Cannot save the settings to "{shown}": {reason}.'
    lasting = "Until then, changes made in this window last only until Spyglass quits."
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"{said} Free some space on that disk: the settings are saved again with "
                f"the next change, and when Spyglass closes. {lasting}")
    if exc.errno == errno.EROFS:
        return (f"{said} Changes made in this window last only until Spyglass quits, unless "
                "that file system is made writable meanwhile.")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (f'{said} Check that you may write to "{folder}" and to the file (one made '
                f"by sudo spyglass belongs to root). {lasting}")
    return f"{said} {lasting}"


def _copy_aside(target: Path, raw: bytes) -> Path:
    """Write ``raw`` (the file as it was) to a free ``.bad`` name beside ``target``."""
    bad = _free_bad_name(target)
    fd = os.open(bad, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(raw)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException:
        os.unlink(bad)
        raise
    return bad


def _write(target: Path, text: str) -> None:
    """Replace ``target`` with ``text`` atomically; the file keeps its mode."""
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                        dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            if mode is not None:
                os.fchmod(stream.fileno(), mode)
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp_name, target)
        tmp_name = None
    finally:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass


def _remove_stale_temps(target: Path) -> None:
    """Remove what saves killed mid-write left: this file's temporary files (by
    :func:`_write`'s name) older than :data:`STALE_TEMP_AGE`. Under the lock, no save is
    writing one; the age spares one a save on another machine may be writing."""
    now = time.time()
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        found = _TEMP_NAME.fullmatch(name)
        if found is None or found["name"] != target.name:
            continue
        temp = target.parent / name
        try:
            info = os.lstat(temp)
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_TEMP_AGE:
                os.unlink(temp)
                log.info("Removed %s, left by a save of the settings that did not end.", temp)
        except OSError:
            continue


def _save_locked(settings: Settings, path: Path, target: Path,
                 base: Settings | None) -> SavedSettings:
    found = _read_file(target)
    saved = SavedSettings(settings, path)
    theirs: Settings | None = None
    if found.data is not None:
        version = _version(found.data)
        if version is not None and version > FORMAT_VERSION:
            raise SpyglassError(_newer_sentence(path, version))
        theirs = Settings.from_json(found.data, where=path, problems=saved.problems)
        if saved.problems:
            try:
                saved.backup = _copy_aside(target, found.raw)
            except OSError as exc:
                raise SpyglassError(left_out_sentence(path, saved.problems) + " "
                                    + _save_failure(exc, path, target.parent)) from exc
    elif found.unusable:
        saved.unusable = found.unusable
        bad = _free_bad_name(target)
        os.rename(target, bad)
        saved.backup = bad
    # a file not there (or set aside) holds nothing the caller has not seen
    saved.settings = (settings.copy() if theirs is None
                      else merge_settings(base, settings, theirs))
    _remove_stale_temps(target)
    _write(target, settings_text(saved.settings))
    return saved


_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def settings_text(settings: Settings) -> str:
    """The file's text for ``settings``: JSON in UTF-8, but for what UTF-8 cannot hold, a
    lone surrogate, written as JSON's escape (``\\udcff``). A path holds one for each
    of its bytes that is not UTF-8 (``bad\\xff``, as ``os.fsdecode`` reads it), and
    ``json.loads`` reads the escape back as that surrogate: the path is the same."""
    text = json.dumps(settings.to_json(), indent=2, ensure_ascii=False) + "\n"
    return _SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def save_settings(settings: Settings, path: Path | None = None, *,
                  base: Settings | None = None) -> SavedSettings:
    """Save ``settings`` as the module docstring says: merged with what the file holds
    now, given ``base`` (what the caller read or last saved; None: every field is the
    caller's), atomically, under the lock. Returns what was written.

    Raises :class:`SpyglassError` with a sentence (and advice that fits the failure)
    when the settings cannot be saved, and when the file is a newer Spyglass's."""
    from spyglass.core.errors import LockHeld, TransportError
    from spyglass.core.transports.file_lock import exclusive_lock

    path = path or settings_path()
    target = _target(path)
    lock = target.with_name(target.name + LOCK_SUFFIX)
    try:
        make_user_folder(target.parent, CONFIG_VARIABLE)
        with exclusive_lock(lock, what=f'"{path}"', wait=LOCK_WAIT):
            return _save_locked(settings, path, target, base)
    except LockHeld as exc:
        raise SpyglassError(_busy_sentence(path, lock)) from exc
    except TransportError as exc:  # the lock file (its sentence names the folder)
        if isinstance(exc.__cause__, OSError):
            if os.path.lexists(lock):  # there, and not usable: not the folder's fault
                raise SpyglassError(_lock_failure(exc.__cause__, path, lock)) from exc
            raise SpyglassError(_save_failure(exc.__cause__, path, target.parent)) from exc
        raise
    except OSError as exc:
        raise SpyglassError(_save_failure(exc, path, target.parent)) from exc
