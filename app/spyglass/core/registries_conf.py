"""``registries.conf`` (``containers-registries.conf(5)``): which registries are blocked,
where images are read from (mirrors, a ``location`` that rewrites a prefix), and which
registries may be reached insecurely.

Which files, as containers/image's ``sysregistriesv2`` chooses them
(:func:`config_sources`): the file skopeo's ``--registries-conf`` names
(:func:`use_file`), else the one ``$CONTAINERS_REGISTRIES_CONF`` names, if set (as
podman and buildah take it), else ``$HOME/.config/containers/registries.conf`` if it
exists, else ``/etc/containers/registries.conf``; then the drop-in files (``*.conf``, in
name order) of ``/etc/containers/registries.conf.d`` and
``$HOME/.config/containers/registries.conf.d`` — only the latter when the user's own
``registries.conf`` is the one read. A drop-in's ``[[registry]]`` replaces an earlier
one with the same ``prefix``.

What a file says (:func:`parse`): version 2's ``[[registry]]`` tables (``prefix``,
``location``, ``blocked``, ``insecure``, ``mirror-by-digest-only``,
``[[registry.mirror]]`` with ``location``, ``insecure`` and ``pull-from-mirror``), a
``prefix`` either a namespace (``example.com``, ``example.com:5000/team``) or a wildcard
of subdomains (``*.example.com``); and version 1's lists, where ``[registries.block]``
and ``[registries.insecure]`` list registries blocked or insecure. Host parts are
compared case-insensitively. A registry, or a repository in it, is governed by the entry
with the longest prefix that matches it (:meth:`RegistriesConf.find`), as
containers/image's ``FindRegistry`` chooses.

What is done with it, as containers/image does it:

- reading an image: :meth:`RegistriesConf.pull_sources` gives the mirrors that serve the
  name (by tag, by digest), then the registry's ``location``, each with the name
  rewritten; they are tried in that order (see
  :mod:`spyglass.core.transports.registry.pulls`);
- anything else (writing, deleting, listing tags or repositories) goes to the registry
  the name says, never to a mirror nor rewritten;
- a blocked registry (or namespace) is never contacted (:func:`check_not_blocked`, in
  the registry client before every request): a blocked registry's images are still
  read from its mirrors, which its entry does not block;
- ``insecure = true`` allows plain HTTP and unverified TLS there, unless
  ``--tls-verify`` says otherwise (:func:`insecure_for`).

Short-name aliases and search registries do not apply: Spyglass takes only fully
qualified names. They are checked all the same (``short-name-mode``,
``unqualified-search-registries``, ``credential-helpers``, ``[aliases]``), as
containers/image checks them, since podman and skopeo refuse a file where they are wrong.

A file that cannot be read or parsed makes every contact with a registry refused
(:class:`~spyglass.core.errors.RegistriesConfInvalid`, naming the file, the
``[[registry]]`` or key at fault, and the line and column of a TOML error), as
containers/image refuses: what it blocks is not known. A rewrite (by a ``location`` or a
mirror's) that makes no valid name refuses that name alone.

Nothing here imports Qt or the registry transport.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from spyglass.core.errors import (
    RegistriesConfInvalid,
    RegistryBlocked,
    os_reason,
    out_of_open_files,
)
from spyglass.core.reference import domain_problem, parse_docker_reference, reference_problem

__all__ = [
    "ENVIRONMENT_VARIABLE",
    "MIRROR_ALL",
    "MIRROR_DIGEST_ONLY",
    "MIRROR_TAG_ONLY",
    "SYSTEM_DIR",
    "SYSTEM_FILE",
    "USER_DIR",
    "USER_FILE",
    "Mirror",
    "PullSource",
    "RegistriesConf",
    "Registry",
    "check_not_blocked",
    "config_sources",
    "current",
    "insecure_for",
    "load",
    "matching_length",
    "parse",
    "use_file",
]

ENVIRONMENT_VARIABLE: Final = "CONTAINERS_REGISTRIES_CONF"
SYSTEM_FILE: Final = Path("/etc/containers/registries.conf")
SYSTEM_DIR: Final = Path("/etc/containers/registries.conf.d")
USER_FILE: Final = Path(".config/containers/registries.conf")
"""Relative to ``$HOME`` (containers/image reads ``$HOME``, not ``$XDG_CONFIG_HOME``)."""
USER_DIR: Final = Path(".config/containers/registries.conf.d")

_V2_KEYS: Final = ("registry", "unqualified-search-registries", "credential-helpers",
                   "short-name-mode", "additional-layer-store-auth-helper", "aliases")
"""The top-level keys of version 2 (one of them with version 1's lists: refused)."""


_UNUSABLE: Final = ("Until it is fixed, Spyglass contacts no registry, as podman and skopeo "
                    "contact none: which ones the files block cannot be known")


class _Malformed(Exception):
    """What is wrong with one file, as a clause."""


MIRROR_ALL: Final = "all"
MIRROR_DIGEST_ONLY: Final = "digest-only"
MIRROR_TAG_ONLY: Final = "tag-only"
_PULL_FROM_MIRROR: Final = ("", MIRROR_ALL, MIRROR_DIGEST_ONLY, MIRROR_TAG_ONLY)


@dataclass(frozen=True)
class Mirror:
    """One ``[[registry.mirror]]``: where images of the registry may be read first."""

    location: str
    insecure: bool = False
    pull_from_mirror: str = ""
    """``all`` (or unset), ``digest-only`` or ``tag-only``: the names it serves."""

    def serves(self, digested: bool) -> bool:
        if self.pull_from_mirror == MIRROR_DIGEST_ONLY:
            return digested
        if self.pull_from_mirror == MIRROR_TAG_ONLY:
            return not digested
        return True


@dataclass(frozen=True)
class PullSource:
    """One place an image is read from (:meth:`RegistriesConf.pull_sources`): a mirror
    or the registry itself, the name rewritten for it."""

    host: str
    repository: str
    insecure: bool = False
    mirror: bool = False

    @property
    def name(self) -> str:
        return f"{self.host}/{self.repository}"


@dataclass(frozen=True)
class Registry:
    """One ``[[registry]]`` entry (or a registry of a version 1 list), as normalized:
    ``prefix`` set (to ``location`` when the file gave none), trailing ``/`` dropped,
    the host part lower-case."""

    prefix: str
    location: str
    file: Path
    """The file the entry comes from (what a refusal names)."""
    blocked: bool = False
    insecure: bool = False
    mirrors: tuple[Mirror, ...] = ()
    mirror_by_digest_only: bool = False

    def rewritten(self, name: str, location: str) -> str:
        """``name`` (``HOST/REPOSITORY``, which the prefix matches) at ``location``:
        containers/image's ``rewriteReference``."""
        if not location:  # a wildcard prefix without a location: the name as it is
            return name
        return location + name[matching_length(name, self.prefix):]


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
    passing: bool = False
    """Whether a problem is the process's, not a file's (it ran out of open files): the
    files are read again next time, not taken as they are."""

    def find(self, ref: str) -> Registry | None:
        """The entry with the longest prefix matching ``ref``, if any."""
        best: Registry | None = None
        for registry in self.registries:
            if matching_length(ref, registry.prefix) != -1 and (
                    best is None or len(registry.prefix) > len(best.prefix)):
                best = registry
        return best

    def refuse_if_malformed(self) -> None:
        """Raise :class:`RegistriesConfInvalid` when a file could not be used: no
        registry is contacted then, as podman and skopeo contact none."""
        if self.problems:
            raise RegistriesConfInvalid(self.problems[0])

    def check(self, host: str, repository: str | None = None) -> None:
        """Raise :class:`RegistryBlocked` when the entry governing ``host`` (or the
        ``repository`` in it) is blocked, and :class:`RegistriesConfInvalid` when a file
        is malformed."""
        self.refuse_if_malformed()
        ref = f"{host}/{repository}" if repository else host
        entry = self.find(ref)
        if entry is None or not entry.blocked:
            return
        whole = matching_length(host, entry.prefix) != -1  # not just a namespace of it
        what = f"the registry {host}" + ("" if whole else f" for {ref}")
        said = (f'Spyglass does not contact {what}: the registries.conf "{entry.file}" '
                f'blocks it (blocked = true for the prefix "{entry.prefix}").')
        if entry.mirrors:
            said += (" Images are read from its mirrors "
                     f"({', '.join(m.location for m in entry.mirrors)}) instead, for the "
                     "names they serve; nothing is written to them, nor listed from them.")
        raise RegistryBlocked(said)

    def insecure(self, host: str, repository: str | None = None) -> bool:
        """Whether the entry governing ``host`` (``repository`` in it) says ``insecure =
        true``: plain HTTP and unverified TLS allowed there."""
        entry = None if self.problems else self.find(
            f"{host}/{repository}" if repository else host)
        return entry is not None and entry.insecure

    def pull_sources(self, host: str, repository: str, *, digested: bool) -> list[PullSource]:
        """Where an image named ``host/repository`` is read from, in the order to try:
        the mirrors that serve such a name (by digest, by tag: ``pull-from-mirror`` and
        ``mirror-by-digest-only``), then the registry's ``location``; each name rewritten
        as containers/image's ``PullSourcesFromReference`` rewrites it. A rewritten
        name that is no valid image name is refused (:class:`RegistriesConfInvalid`,
        naming the file, the prefix, the location and the name made): for that name
        only."""
        self.refuse_if_malformed()
        name = f"{host.lower()}/{repository}"
        entry = self.find(name)
        if entry is None:
            return [PullSource(host.lower(), repository)]
        if entry.mirror_by_digest_only:
            mirrors = entry.mirrors if digested else ()
        else:
            mirrors = tuple(m for m in entry.mirrors if m.serves(digested))
        found: list[PullSource] = []
        for location, insecure, mirror in (
                *((m.location, m.insecure, True) for m in mirrors),
                (entry.location, entry.insecure, False)):
            rewritten = entry.rewritten(name, location)
            _check_rewritten(entry, location, name, rewritten, mirror)
            where, _, path = rewritten.partition("/")
            found.append(PullSource(where, path, insecure, mirror))
        return found


def _check_rewritten(entry: Registry, location: str, name: str, rewritten: str,
                     mirror: bool) -> None:
    """Refuse a rewritten name that is not a valid repository name, as containers/image's
    ``rewriteReference`` parses it (``ParseNamed``: valid, and as it normalizes)."""
    problem = reference_problem(rewritten)
    if problem is None and parse_docker_reference(rewritten, default_tag=False).name != rewritten:
        problem = ("it would be read as the Docker Hub repository "
                   f'"{parse_docker_reference(rewritten, default_tag=False).name}"')
    if problem is None:
        return
    what = f'its mirror "{location}"' if mirror else f'location "{location}"'
    raise RegistriesConfInvalid(
        f'The registries.conf "{entry.file}" rewrites {name} (prefix "{entry.prefix}", '
        f'{what}) to "{rewritten}", which is not a valid image name ({problem}); fix the '
        "prefix or the location.")


# ---------------------------------------------------------------------------- the files


@dataclass(frozen=True)
class Sources:
    """Where the configuration is: the main file, then the folders of drop-ins."""

    main: Path
    dirs: tuple[Path, ...]
    named: bool = False
    """The main file was named (``--registries-conf``, ``$CONTAINERS_REGISTRIES_CONF``):
    its absence is news."""
    named_by: str = ""
    """What named it, as a refusal says it."""


_given: list[Path] = []
"""The file ``--registries-conf`` names (:func:`use_file`), if given."""


def use_file(path: Path | None) -> None:
    """Read registries.conf from ``path`` in place of the main file (skopeo's global
    ``--registries-conf``: the drop-in folders are read after it all the same); None:
    the usual files again."""
    with _lock:
        _given[:] = [] if path is None else [path]


def config_sources(environ: Mapping[str, str] | None = None, *,
                   system_file: Path = SYSTEM_FILE,
                   system_dir: Path = SYSTEM_DIR) -> Sources:
    """The files containers/image reads (its ``newConfigWrapper``)."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or os.path.expanduser("~"))
    user_file, user_dir = home / USER_FILE, home / USER_DIR
    if _given:
        return Sources(_given[0], (system_dir, user_dir), named=True,
                       named_by="that --registries-conf")
    named = environ.get(ENVIRONMENT_VARIABLE)
    if named:
        return Sources(Path(named), (system_dir, user_dir), named=True,
                       named_by=f"that ${ENVIRONMENT_VARIABLE}")
    if user_file.exists():
        return Sources(user_file, (user_dir,))
    return Sources(system_file, (system_dir, user_dir))


def _drop_ins(folder: Path) -> tuple[list[Path], str | None, bool]:
    """The ``*.conf`` files of ``folder`` in name order (not in its subfolders), a
    problem reading it (a folder that does not exist is none), and whether that problem
    is the process's, not the folder's (:attr:`RegistriesConf.passing`)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except FileNotFoundError:
        return [], None, False
    except OSError as exc:
        if out_of_open_files(exc):  # (not the folder's doing)
            return [], (f'Cannot list the registries.conf.d folder "{folder}": '
                        f"{os_reason(exc)}."), True
        return [], (f'Cannot list the registries.conf.d folder "{folder}": '
                    f"{exc.strerror or exc}. {_UNUSABLE}."), False
    return [Path(entry.path) for entry in entries
            if entry.name.endswith(".conf") and not entry.is_dir()], None, False


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
    passing = False
    for folder in sources.dirs:
        found, problem, passing_problem = _drop_ins(folder)
        passing |= passing_problem
        listed += [(path, True) for path in found]
        problems += [problem] if problem else []
    for path, drop_in in listed:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if path == sources.main and sources.named:
                problems.append(f'The registries.conf "{path}" {sources.named_by} names does '
                                f"not exist. {_UNUSABLE}.")
            continue  # (a drop-in removed meanwhile, or no main file: nothing to say)
        except (OSError, UnicodeDecodeError) as exc:
            files.append(path)
            if isinstance(exc, OSError) and out_of_open_files(exc):  # (not the file's doing)
                passing = True
                problems.append(f'Cannot read the registries.conf "{path}": '
                                f"{os_reason(exc)}.")
                continue
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            problems.append(f'Cannot read the registries.conf "{path}": {reason}. '
                            f"{_UNUSABLE}.")
            continue
        files.append(path)
        try:
            entries = parse(text, path, drop_in=drop_in)
        except _Malformed as exc:
            problems.append(f'The registries.conf "{path}" is malformed: {exc}. '
                            f"{_UNUSABLE}.")
            continue
        for entry in entries:  # a later file's entry replaces one with its prefix
            merged[entry.prefix] = entry
    return RegistriesConf(tuple(merged[prefix] for prefix in sorted(merged)), tuple(files),
                          tuple(problems), passing)


_lock = threading.Lock()
_cache: dict[tuple[object, ...], RegistriesConf] = {}
_CACHED: Final = 16


def current(environ: Mapping[str, str] | None = None, *,
            system_file: Path = SYSTEM_FILE, system_dir: Path = SYSTEM_DIR) -> RegistriesConf:
    """The configuration as the files are now: read again only when one of them (or a
    folder of drop-ins) changed, so the window sees an edit without restarting. A file
    that cannot be used is in :attr:`RegistriesConf.problems` (each contact with a
    registry is refused with it)."""
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
    if conf.passing:
        return conf  # (read again next time)
    with _lock:
        if frozen in _cache:
            return _cache[frozen]
        if len(_cache) >= _CACHED:
            _cache.clear()  # (files edited again and again in a long session)
        _cache[frozen] = conf
    return conf


def check_not_blocked(host: str, repository: str | None = None) -> None:
    """Refuse (:class:`RegistryBlocked`) to contact ``host`` — for ``repository``, where
    a request is for one — when the current registries.conf blocks it, or when one of
    its files cannot be used (:class:`RegistriesConfInvalid`)."""
    current().check(host, repository)


def insecure_for(host: str, repository: str | None = None) -> bool:
    """Whether the current registries.conf says ``insecure = true`` for ``host``."""
    return current().insecure(host, repository)


# ---------------------------------------------------------------------------- one file


def parse(text: str, path: Path, *, drop_in: bool = False) -> list[Registry]:
    """The entries of one file's ``text`` (``path`` is what they name), checked as
    containers/image checks them; ``drop_in`` files must be of version 2. Raises
    :class:`_Malformed` with a clause."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _Malformed(_toml_error(exc)) from exc
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
    _check_settings(data)
    entries = [_entry(table, path, number) for number, table in enumerate(tables, 1)]
    _check_conflicts(entries)
    _check_search_registries(data)
    _check_short_name_mode(data)
    _check_aliases(data)
    unique: dict[str, Registry] = {}
    for entry in entries:  # the first of a prefix wins, as in containers/image
        unique.setdefault(entry.prefix, entry)
    return list(unique.values())


def _toml_error(exc: ValueError) -> str:
    """What ``tomllib`` found wrong, with where: "at line 5, column 35: not TOML (…)"."""
    said = str(exc)
    where = re.search(r"\s*\(at line (\d+), column (\d+)\)$", said)
    if where is None:
        end = re.search(r"\s*\(at end of document\)$", said)
        if end is not None:  # (a table or a value left open)
            what = said[:end.start()]
            return f"at its end: not TOML ({what[:1].lower()}{what[1:]})"
        return f"not TOML ({said[:1].lower()}{said[1:]})"
    what = said[:where.start()]
    return f"at line {where[1]}, column {where[2]}: not TOML ({what[:1].lower()}{what[1:]})"


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


def _entry_named(table: Mapping[str, Any], number: int) -> str:
    """Which ``[[registry]]`` a clause speaks of: its prefix, else its location, else
    its place in the file."""
    for key in ("prefix", "location"):
        value = table.get(key)
        if isinstance(value, str) and value:
            return f'the [[registry]] with {key} "{value}"'
    return f"[[registry]] number {number}"


def _entry(table: Mapping[str, Any], path: Path, number: int = 1) -> Registry:
    entry = _entry_named(table, number)
    location = _location(_string(table, "location", entry))
    prefix_given = _string(table, "prefix", entry)
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
    if _string(table, "pull-from-mirror", entry):
        raise _Malformed(f'pull-from-mirror is set for the registry "{prefix}", not a mirror')
    tables = table.get("mirror", [])
    if not isinstance(tables, list) or not all(isinstance(m, dict) for m in tables):
        raise _Malformed(f'the mirrors of "{prefix}" are not an array of tables '
                         "([[registry.mirror]])")
    by_digest_only = _boolean(table, "mirror-by-digest-only", entry)
    mirrors: list[Mirror] = []
    for mirror in tables:
        raw = mirror.get("location")
        named = (f'the [[registry.mirror]] with location "{raw}" of "{prefix}"'
                 if isinstance(raw, str) and raw else f'a [[registry.mirror]] of "{prefix}"')
        mirror_location = _location(_string(mirror, "location", named))
        if not mirror_location:
            raise _Malformed(f'a mirror of "{prefix}" has no location')
        pull_from = _string(mirror, "pull-from-mirror", named)
        if pull_from and by_digest_only:
            raise _Malformed(f'the registry "{prefix}" has mirror-by-digest-only, and its '
                             f'mirror "{mirror_location}" pull-from-mirror; expected one '
                             "of them")
        if pull_from not in _PULL_FROM_MIRROR:
            raise _Malformed(f'the pull-from-mirror "{pull_from}" of the mirror '
                             f'"{mirror_location}" is none of all, digest-only, tag-only')
        mirrors.append(Mirror(mirror_location, _boolean(mirror, "insecure", named),
                              pull_from))
    return Registry(prefix, location, path, blocked=_boolean(table, "blocked", entry),
                    insecure=_boolean(table, "insecure", entry), mirrors=tuple(mirrors),
                    mirror_by_digest_only=by_digest_only)


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
    """``text`` without a trailing ``/``, its host part (before the first ``/``) in
    lower case: host names are compared case-insensitively, as containers/image does."""
    trimmed = text.rstrip("/")
    if trimmed.startswith(("http://", "https://")):
        raise _Malformed(f'the location "{text}" has a URL scheme; expected HOST[:PORT][/PATH]')
    host, slash, rest = trimmed.partition("/")
    return host.lower() + slash + rest


def _string(table: Mapping[str, Any], key: str, where: str = "") -> str:
    """``key`` of ``table`` ("" when not set); ``where`` names the table (the
    ``[[registry]]``) in the clause when it is no string."""
    value = table.get(key, "")
    if not isinstance(value, str):
        raise _Malformed(f'"{key}" {_of(where)}is not a string')
    return value


def _boolean(table: Mapping[str, Any], key: str, where: str = "") -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise _Malformed(f'"{key}" {_of(where)}is not true or false')
    return value


def _of(where: str) -> str:
    return f"of {where} " if where else ""


# ---------------------------------------------------------------------------- the other
# settings of version 2: not used here (Spyglass takes fully qualified names only), but
# checked as containers/image decodes and checks them, since podman and skopeo refuse a
# file where they are wrong.

_LISTS_OF_STRINGS: Final = ("unqualified-search-registries", "credential-helpers")
_STRINGS: Final = ("short-name-mode", "additional-layer-store-auth-helper")
_SHORT_NAME_MODES: Final = ("", "disabled", "permissive", "enforcing")


def _check_settings(data: Mapping[str, Any]) -> None:
    """The types the TOML decoder of containers/image takes these keys as."""
    for key in _LISTS_OF_STRINGS:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise _Malformed(f'"{key}" is not a list of strings')
    for key in _STRINGS:
        if not isinstance(data.get(key, ""), str):
            raise _Malformed(f'"{key}" is not a string')
    aliases = data.get("aliases", {})
    if not isinstance(aliases, dict):
        raise _Malformed('"aliases" is not a table ([aliases])')
    for name, value in aliases.items():
        if not isinstance(value, str):
            raise _Malformed(f'the alias "{name}" in [aliases] is not a string')


def _check_search_registries(data: Mapping[str, Any]) -> None:
    """Each of ``unqualified-search-registries`` is a HOST[:PORT], as containers/image's
    ``postProcessRegistries`` checks it (a trailing ``/`` dropped)."""
    for item in data.get("unqualified-search-registries", []):
        registry = item.rstrip("/")
        if registry.startswith(("http://", "https://")):
            raise _Malformed(f'the unqualified-search-registries entry "{item}" has a URL '
                             "scheme; expected HOST[:PORT]")
        if domain_problem(registry) is not None:
            raise _Malformed(f'the unqualified-search-registries entry "{item}" is not a '
                             'registry; expected HOST[:PORT], such as "registry.example.com"')


def _check_short_name_mode(data: Mapping[str, Any]) -> None:
    mode = data.get("short-name-mode", "")
    if mode not in _SHORT_NAME_MODES:
        raise _Malformed(f'the short-name-mode "{mode}" is none of disabled, permissive, '
                         "enforcing")


def _check_aliases(data: Mapping[str, Any]) -> None:
    """Each ``[aliases]`` entry as containers/image's ``newShortNameAliasCache`` checks
    it: the name a short name (no registry, tag or digest), the value ("" resets it) a
    fully qualified repository (a registry, no tag or digest)."""
    for name, value in data.get("aliases", {}).items():
        alias = f'the alias "{name}" in [aliases]'
        for text, side in ((name, "name"), (value, "value")):
            if side == "value" and not text:
                continue
            problem = reference_problem(text)
            if problem is not None:
                raise _Malformed(f'{alias}: its {side} "{text}" is not an image name '
                                 f"({problem})")
            parsed = parse_docker_reference(text, default_tag=False)
            if parsed.digest is not None or parsed.tag is not None:
                raise _Malformed(f'{alias}: its {side} "{text}" has a '
                                 f"{'digest' if parsed.digest is not None else 'tag'}; "
                                 "expected a repository alone")
            first, slash, _ = text.partition("/")
            qualified = bool(slash) and (first == "localhost" or any(c in first for c in ".:"))
            if side == "name" and qualified:
                raise _Malformed(f'{alias} names a registry; expected a short name, such '
                                 'as "fedora"')
            if side == "value" and not qualified:
                raise _Malformed(f'{alias}: its value "{text}" has no registry; expected '
                                 'REGISTRY/REPOSITORY, such as "registry.fedoraproject.org/'
                                 'fedora"')
