"""``registries.conf`` (``containers-registries.conf(5)``), for the one thing Spyglass
takes from it: registries marked ``blocked = true`` are never contacted.

Which files, as containers/image's ``sysregistriesv2`` chooses them
(:func:`config_sources`): the file ``$CONTAINERS_REGISTRIES_CONF`` names, if set (as
podman and buildah take it), else ``$HOME/.config/containers/registries.conf`` if it
exists, else ``/etc/containers/registries.conf``; then the drop-in files (``*.conf``, in
name order) of ``/etc/containers/registries.conf.d`` and
``$HOME/.config/containers/registries.conf.d`` — only the latter when the user's own
``registries.conf`` is the one read. A drop-in's ``[[registry]]`` replaces an earlier
one with the same ``prefix``.

What a file says (:func:`parse`): version 2's ``[[registry]]`` tables (``prefix``,
``location``, ``blocked``, ``insecure``, ``[[registry.mirror]]``), a ``prefix`` either a
namespace (``example.com``, ``example.com:5000/team``) or a wildcard of subdomains
(``*.example.com``); and version 1's lists, where ``[registries.block] registries =
[…]`` blocks each registry listed. A registry, or a repository in it, is governed by
the entry with the longest prefix that matches it (:meth:`RegistriesConf.find`), as
containers/image's ``FindRegistry`` chooses.

Spyglass acts on ``blocked`` only. Mirrors, a ``location`` that rewrites the prefix, and
``insecure = true`` are not used (the registry is reached where the image name says,
and ``--tls-verify=false`` is how to make one insecure); when the registry contacted has
such an entry, one debug line says so. Short-name aliases and search registries do not
apply: Spyglass takes only fully qualified names.

A file that cannot be read or parsed is passed over with one warning that names it, and
the others still apply. containers/image refuses to contact any registry then; Spyglass
does not, because it reads these files for one setting only: a typo in an alias or a
mirror table, which podman and skopeo (who fail on it) will show soon enough, should not
stop the window from browsing every registry and the command line from copying
anything. The warning says that what that file blocks is not blocked.

Nothing here imports Qt or the registry transport.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from spyglass.core.errors import RegistryBlocked

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "SYSTEM_DIR",
    "SYSTEM_FILE",
    "USER_DIR",
    "USER_FILE",
    "RegistriesConf",
    "Registry",
    "check_not_blocked",
    "config_sources",
    "current",
    "load",
    "matching_length",
    "parse",
]

log = logging.getLogger(__name__)

ENVIRONMENT_VARIABLE: Final = "CONTAINERS_REGISTRIES_CONF"
SYSTEM_FILE: Final = Path("/etc/containers/registries.conf")
SYSTEM_DIR: Final = Path("/etc/containers/registries.conf.d")
USER_FILE: Final = Path(".config/containers/registries.conf")
"""Relative to ``$HOME`` (containers/image reads ``$HOME``, not ``$XDG_CONFIG_HOME``)."""
USER_DIR: Final = Path(".config/containers/registries.conf.d")

_V2_KEYS: Final = ("registry", "unqualified-search-registries", "credential-helpers",
                   "short-name-mode", "additional-layer-store-auth-helper", "aliases")
"""The top-level keys of version 2 (one of them with version 1's lists: refused)."""


class _Malformed(Exception):
    """What is wrong with one file, as a clause."""


@dataclass(frozen=True)
class Registry:
    """One ``[[registry]]`` entry (or a registry of a version 1 list), as normalized:
    ``prefix`` set (to ``location`` when the file gave none), trailing ``/`` dropped."""

    prefix: str
    location: str
    file: Path
    """The file the entry comes from (what a refusal names)."""
    blocked: bool = False
    insecure: bool = False
    mirrors: tuple[str, ...] = ()

    def unheeded(self) -> list[str]:
        """What this entry asks that Spyglass does not do, in words."""
        said: list[str] = []
        if self.mirrors:
            said.append(f"mirrors ({', '.join(self.mirrors)})")
        if self.location and self.location != self.prefix:
            said.append(f'the location "{self.location}"')
        if self.insecure:
            said.append("insecure = true")
        return said


def matching_length(ref: str, prefix: str) -> int:
    """How much of ``ref`` (``HOST``, ``HOST/REPO``, ``HOST/REPO:TAG``…) ``prefix``
    matches, or -1: containers/image's ``refMatchingPrefix``. A plain prefix matches
    itself and what continues it with ``/``, ``:`` or ``@``; ``*.example.com`` matches
    any host below ``example.com`` (not ``example.com`` itself) and what is in it."""
    if prefix.startswith("*."):
        domain = prefix[1:]  # ".example.com"
        index = ref.find(domain)
        if index == -1 or "/" in ref[:index]:
            return -1
        end = index + len(domain)
        return end if end == len(ref) or ref[end] in ":/@" else -1
    if ref == prefix:
        return len(prefix)
    if ref.startswith(prefix) and ref[len(prefix)] in ":/@":
        return len(prefix)
    return -1


@dataclass(frozen=True)
class RegistriesConf:
    """The merged entries of every file read, and what could not be read."""

    registries: tuple[Registry, ...] = ()
    files: tuple[Path, ...] = ()
    """The files read, in order (the unreadable ones too)."""
    problems: tuple[str, ...] = ()
    """One warning sentence for each file passed over."""

    def find(self, ref: str) -> Registry | None:
        """The entry with the longest prefix matching ``ref``, if any."""
        best: Registry | None = None
        for registry in self.registries:
            if matching_length(ref, registry.prefix) != -1 and (
                    best is None or len(registry.prefix) > len(best.prefix)):
                best = registry
        return best

    def check(self, host: str, repository: str | None = None) -> None:
        """Raise :class:`RegistryBlocked` when the entry governing ``host`` (or the
        ``repository`` in it) is blocked; for one with settings Spyglass does not use,
        log one debug line (once a process)."""
        ref = f"{host}/{repository}" if repository else host
        entry = self.find(ref)
        if entry is None:
            return
        if entry.blocked:
            whole = matching_length(host, entry.prefix) != -1  # not just a namespace of it
            what = f"the registry {host}" + ("" if whole else f" for {ref}")
            raise RegistryBlocked(
                f'Spyglass does not contact {what}: the registries.conf "{entry.file}" '
                f'blocks it (blocked = true for the prefix "{entry.prefix}"). To reach it, '
                "remove that entry or set blocked = false there.")
        unheeded = entry.unheeded()
        key = (entry.file, entry.prefix)
        if unheeded and key not in _told:
            with _lock:
                if key in _told:
                    return
                _told.add(key)
            log.debug('The registries.conf "%s" gives the prefix "%s" %s, which Spyglass '
                      "does not use: it contacts %s as the image name says.",
                      entry.file, entry.prefix, " and ".join(unheeded), host)


_told: set[tuple[Path, str]] = set()
"""The entries a debug line was logged for."""


# ---------------------------------------------------------------------------- the files


@dataclass(frozen=True)
class Sources:
    """Where the configuration is: the main file, then the folders of drop-ins."""

    main: Path
    dirs: tuple[Path, ...]
    named: bool = False
    """The main file was named (``$CONTAINERS_REGISTRIES_CONF``): its absence is news."""


def config_sources(environ: Mapping[str, str] | None = None, *,
                   system_file: Path = SYSTEM_FILE,
                   system_dir: Path = SYSTEM_DIR) -> Sources:
    """The files containers/image reads (its ``newConfigWrapper``)."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or os.path.expanduser("~"))
    user_file, user_dir = home / USER_FILE, home / USER_DIR
    named = environ.get(ENVIRONMENT_VARIABLE)
    if named:
        return Sources(Path(named), (system_dir, user_dir), named=True)
    if user_file.exists():
        return Sources(user_file, (user_dir,))
    return Sources(system_file, (system_dir, user_dir))


def _drop_ins(folder: Path) -> tuple[list[Path], str | None]:
    """The ``*.conf`` files of ``folder`` in name order (not in its subfolders), and a
    problem reading it (a folder that does not exist is none)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except FileNotFoundError:
        return [], None
    except OSError as exc:
        return [], (f'Cannot list the registries.conf.d folder "{folder}" '
                    f"({exc.strerror or exc}); Spyglass goes on without its files, so no "
                    "registry they block is blocked.")
    return [Path(entry.path) for entry in entries
            if entry.name.endswith(".conf") and not entry.is_dir()], None


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


def load(sources: Sources) -> RegistriesConf:
    """Read the files of ``sources`` and merge them (a file that cannot be read or
    parsed is left out, and said in :attr:`RegistriesConf.problems`)."""
    problems: list[str] = []
    files: list[Path] = []
    merged: dict[str, Registry] = {}
    listed = [(sources.main, False)]
    for folder in sources.dirs:
        found, problem = _drop_ins(folder)
        listed += [(path, True) for path in found]
        problems += [problem] if problem else []
    for path, drop_in in listed:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if path == sources.main and sources.named:
                problems.append(f'The registries.conf "{path}" that ${ENVIRONMENT_VARIABLE} '
                                "names does not exist; Spyglass goes on without it, so no "
                                "registry is blocked by it.")
            continue  # (a drop-in removed meanwhile, or no main file: nothing to say)
        except (OSError, UnicodeDecodeError) as exc:
            files.append(path)
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            problems.append(f'Cannot read the registries.conf "{path}" ({reason}); Spyglass '
                            "goes on without it, so no registry it blocks is blocked.")
            continue
        files.append(path)
        try:
            entries = parse(text, path, drop_in=drop_in)
        except _Malformed as exc:
            problems.append(f'The registries.conf "{path}" is malformed ({exc}); Spyglass '
                            "goes on without it, so no registry it blocks is blocked.")
            continue
        for entry in entries:  # a later file's entry replaces one with its prefix
            merged[entry.prefix] = entry
    return RegistriesConf(tuple(merged[prefix] for prefix in sorted(merged)), tuple(files),
                          tuple(problems))


_lock = threading.Lock()
_cache: dict[tuple[object, ...], RegistriesConf] = {}
_CACHED: Final = 16
_warned: set[str] = set()
"""The problems warned of (each once a process, however often the files are read)."""


def current(environ: Mapping[str, str] | None = None, *,
            system_file: Path = SYSTEM_FILE, system_dir: Path = SYSTEM_DIR) -> RegistriesConf:
    """The configuration as the files are now: read again only when one of them (or a
    folder of drop-ins) changed, so the window sees an edit without restarting. Each
    problem is logged as a warning, once."""
    sources = config_sources(environ, system_file=system_file, system_dir=system_dir)
    key: list[object] = [sources, _signature(sources.main)]
    for folder in sources.dirs:
        key.append(_signature(folder))
        key += [(path, _signature(path)) for path in _drop_ins(folder)[0]]
    frozen = tuple(key)
    with _lock:
        found = _cache.get(frozen)
    if found is not None:
        return found
    conf = load(sources)
    with _lock:
        if frozen in _cache:
            return _cache[frozen]
        if len(_cache) >= _CACHED:
            _cache.clear()  # (files edited again and again in a long session)
        _cache[frozen] = conf
        fresh = [problem for problem in conf.problems if problem not in _warned]
        _warned.update(fresh)
    for problem in fresh:
        log.warning("%s", problem)
    return conf


def check_not_blocked(host: str, repository: str | None = None) -> None:
    """Refuse (:class:`RegistryBlocked`) to contact ``host`` — for ``repository``, where
    a request is for one — when the current registries.conf blocks it."""
    current().check(host, repository)


# ---------------------------------------------------------------------------- one file


def parse(text: str, path: Path, *, drop_in: bool = False) -> list[Registry]:
    """The entries of one file's ``text`` (``path`` is what they name), checked as
    containers/image checks them; ``drop_in`` files must be of version 2. Raises
    :class:`_Malformed` with a clause."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _Malformed(f"not TOML: {exc}") from exc
    v1 = data.get("registries")
    if v1 is not None and not isinstance(v1, dict):
        raise _Malformed('"registries" is not a table')
    v1_lists = {kind: _v1_list(v1, kind) for kind in ("search", "insecure", "block")} \
        if v1 is not None else {}
    if any(v1_lists.values()):  # empty version 1 lists do not make a version 1 file
        if drop_in:
            raise _Malformed("it is in the version 1 format, which a drop-in file may not be")
        if any(key in data for key in _V2_KEYS):
            raise _Malformed("it mixes the version 1 and version 2 formats")
        return _from_v1(v1_lists, path)
    tables = data.get("registry", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise _Malformed('"registry" is not an array of tables ([[registry]])')
    entries = [_entry(table, path) for table in tables]
    _check_conflicts(entries)
    unique: dict[str, Registry] = {}
    for entry in entries:  # the first of a prefix wins, as in containers/image
        unique.setdefault(entry.prefix, entry)
    return list(unique.values())


def _v1_list(v1: dict[str, Any], kind: str) -> list[str] | None:
    table = v1.get(kind)
    if table is None:
        return None
    if not isinstance(table, dict):
        raise _Malformed(f'"registries.{kind}" is not a table')
    listed = table.get("registries")
    if listed is None:
        return None
    if not isinstance(listed, list) or not all(isinstance(item, str) for item in listed):
        raise _Malformed(f'"registries.{kind}.registries" is not a list of strings')
    return listed


def _from_v1(lists: Mapping[str, list[str] | None], path: Path) -> list[Registry]:
    """Version 1's lists as entries (search registries have no entry of their own)."""
    blocked = {_location(item) for item in lists.get("block") or []}
    insecure = {_location(item) for item in lists.get("insecure") or []}
    return [Registry(location, location, path, blocked=location in blocked,
                     insecure=location in insecure)
            for location in dict.fromkeys([*sorted(blocked), *sorted(insecure)])]


def _entry(table: Mapping[str, Any], path: Path) -> Registry:
    location = _location(_string(table, "location"))
    prefix_given = _string(table, "prefix")
    if prefix_given:
        prefix = _location(prefix_given)
        if not prefix.startswith("*.") and not location:
            raise _Malformed(f'the prefix "{prefix}" has no location, and is not of the '
                             "form *.example.com")
        if prefix.startswith("*.") and any(ch in prefix for ch in "/@:"):
            raise _Malformed(f'the wildcard prefix "{prefix}" is not of the form '
                             "*.example.com")
    elif not location:
        raise _Malformed("a [[registry]] has neither a location nor a prefix")
    else:
        prefix = location
    if _string(table, "pull-from-mirror"):
        raise _Malformed(f'pull-from-mirror is set for the registry "{prefix}", not a mirror')
    mirrors = table.get("mirror", [])
    if not isinstance(mirrors, list) or not all(isinstance(m, dict) for m in mirrors):
        raise _Malformed(f'the mirrors of "{prefix}" are not an array of tables '
                         "([[registry.mirror]])")
    mirror_locations: list[str] = []
    for mirror in mirrors:
        mirror_location = _location(_string(mirror, "location"))
        if not mirror_location:
            raise _Malformed(f'a mirror of "{prefix}" has no location')
        _boolean(mirror, "insecure")
        mirror_locations.append(mirror_location)
    _boolean(table, "mirror-by-digest-only")
    return Registry(prefix, location, path, blocked=_boolean(table, "blocked"),
                    insecure=_boolean(table, "insecure"), mirrors=tuple(mirror_locations))


def _check_conflicts(entries: Iterable[Registry]) -> None:
    """One location with two ``insecure`` or ``blocked`` settings, refused as
    containers/image refuses it."""
    seen: dict[str, Registry] = {}
    for entry in entries:
        key = entry.location or entry.prefix
        other = seen.setdefault(key, entry)
        for setting in ("insecure", "blocked"):
            if getattr(other, setting) != getattr(entry, setting):
                raise _Malformed(f'the registry "{key}" is given twice with different '
                                 f"{setting} settings")


def _location(text: str) -> str:
    trimmed = text.rstrip("/")
    if trimmed.startswith(("http://", "https://")):
        raise _Malformed(f'the location "{text}" has a URL scheme; expected HOST[:PORT][/PATH]')
    return trimmed


def _string(table: Mapping[str, Any], key: str) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise _Malformed(f'"{key}" is not a string')
    return value


def _boolean(table: Mapping[str, Any], key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise _Malformed(f'"{key}" is not true or false')
    return value
