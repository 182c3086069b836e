"""Auth files: containers' auth.json and Docker's config files, read (never written).

The files, in order (not when ``$REGISTRY_AUTH_FILE`` is set: it replaces the four, as
in skopeo; nor when an ``--authfile`` is given: that file only)::

    $XDG_RUNTIME_DIR/containers/auth.json  (/run/containers/UID/auth.json)
    $XDG_CONFIG_HOME/containers/auth.json  (~/.config/containers/auth.json)
    $DOCKER_CONFIG/config.json             (~/.docker/config.json)
    ~/.dockercfg                           (the legacy Docker format)

In each auth file: a ``credHelpers`` entry for the host sends the question to
``docker-credential-NAME`` (:mod:`spyglass.core.credentials.helpers`); otherwise an
``auths`` entry (``auth`` is base64 of ``user:password``, ``identitytoken`` an OAuth2
refresh token) answers; otherwise the file's ``credsStore`` helper is asked. Keys are
matched exactly first (repository and namespace keys such as ``quay.io/team`` only
that way), then by host after stripping ``http(s)://`` and any path, with
``docker.io``, ``index.docker.io``, ``registry-1.docker.io`` and Docker's legacy
``https://index.docker.io/v1/`` all meaning Docker Hub.

A file that cannot be read or is not what it should be stops the lookup with a
:class:`SpyglassError` naming the file, as containers/image does: guessing past
it could send the wrong credentials.
"""

from __future__ import annotations

import base64
import binascii
import errno
import json
import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spyglass.core import gojson
from spyglass.core.credentials import (
    DOCKER_HUB,
    DOCKER_HUB_ALIASES,
    Credentials,
    warn_once,
    without_scheme,
)
from spyglass.core.credentials.helpers import ask_helper
from spyglass.core.errors import SpyglassError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _AuthFile:
    path: Path
    legacy: bool = False
    docker_config: bool = False
    """Whether the path is ``$DOCKER_CONFIG/config.json``: DOCKER_CONFIG names its folder."""


@dataclass
class _FileContents:
    auths: dict[str, dict[str, Any]] = field(default_factory=dict)
    cred_helpers: dict[str, str] = field(default_factory=dict)
    creds_store: str | None = None


class AuthFiles:
    """The auth files a lookup reads, and what they have for a registry host.

    Args:
        authfile: an explicit auth file, as ``--authfile``: the only one read.
        environ: the environment to read (``REGISTRY_AUTH_FILE``, ``XDG_*``,
            ``DOCKER_CONFIG``, ``HOME``) and to run credential helpers with
            (``PATH`` finds them).
        home: the home folder; default ``$HOME``, else ``Path.home()``.
    """

    def __init__(self, *, authfile: Path | None, environ: Mapping[str, str],
                 home: Path | None) -> None:
        self._authfile = authfile
        self._environ = environ
        self._home = home

    def lookup(self, registry: str, repository: str | None) -> Credentials | None:
        """The first file's credentials for ``registry`` (``repository`` on it, for
        repository and namespace keys), or None."""
        for auth_file in self.files():
            found = self._lookup_in_file(auth_file, registry, repository)
            if found is not None:
                log.debug("Credentials for %s come from %s.", registry, found.source)
                return found
        log.debug("No credentials for %s.", registry)
        return None

    def _env(self, name: str) -> str:
        return self._environ.get(name, "")

    def _home_dir(self) -> Path:
        if self._home is not None:
            return self._home
        home = self._env("HOME")
        return Path(home) if home else Path.home()

    def files(self) -> Iterator[_AuthFile]:
        """The files to read, in order: the one chosen, or the default four."""
        explicit = self._authfile
        if explicit is None and self._env("REGISTRY_AUTH_FILE"):
            explicit = Path(self._env("REGISTRY_AUTH_FILE"))
        if explicit is not None:
            yield _AuthFile(explicit)
            return
        home = self._home_dir()
        runtime = self._env("XDG_RUNTIME_DIR")
        if runtime:
            yield _AuthFile(Path(runtime) / "containers" / "auth.json")
        else:
            yield _AuthFile(Path(f"/run/containers/{os.getuid()}/auth.json"))
        config_home = self._env("XDG_CONFIG_HOME")
        yield _AuthFile((Path(config_home) if config_home else home / ".config")
                        / "containers" / "auth.json")
        docker_config = self._env("DOCKER_CONFIG")
        yield _AuthFile((Path(docker_config) if docker_config else home / ".docker")
                        / "config.json", docker_config=bool(docker_config))
        yield _AuthFile(home / ".dockercfg", legacy=True)

    def _lookup_in_file(
        self, auth_file: _AuthFile, registry: str, repository: str | None
    ) -> Credentials | None:
        contents = _read_auth_file(auth_file)
        if contents is None:
            return None
        path = auth_file.path

        helper_key = _find_key(contents.cred_helpers, registry, legacy=auth_file.legacy)
        if helper_key is not None:
            return ask_helper(contents.cred_helpers[helper_key], registry,
                              origin=f'the "credHelpers" entry "{helper_key}" in {path}',
                              environ=self._environ)

        marker = False
        for key in _exact_keys(registry, repository, legacy=auth_file.legacy):
            if key in contents.auths:
                found = _decode_entry(contents.auths[key], key, path)
                if found is not None:
                    return found
                marker = True
                break
        else:
            key_found = _find_key(contents.auths, registry, legacy=auth_file.legacy)
            if key_found is not None:
                found = _decode_entry(contents.auths[key_found], key_found, path)
                if found is not None:
                    return found
                marker = True

        if contents.creds_store:
            return ask_helper(contents.creds_store, registry, origin=f'"credsStore" in {path}',
                              environ=self._environ, required=marker)
        return None


def _exact_keys(registry: str, repository: str | None, *, legacy: bool) -> list[str]:
    """Keys to try verbatim, best first: the repository, its namespaces, the host."""
    if legacy or not repository:
        return [registry]
    keys: list[str] = []
    name = f"{registry}/{repository.strip('/')}"
    while True:
        keys.append(name)
        if "/" not in name:
            return keys
        name = name.rsplit("/", 1)[0]


def _normalize_key(key: str, *, legacy: bool) -> str:
    """An auth-file key as a host, as containers/image ``normalizeAuthFileKey`` does.

    The path is dropped only after a scheme (``https://index.docker.io/v1/``) or in
    the legacy format; ``quay.io/team`` stays a namespace key that no host matches.
    """
    stripped = without_scheme(key)
    if legacy or stripped != key:
        stripped = stripped.split("/", 1)[0]
    stripped = stripped.lower()
    return DOCKER_HUB if stripped in DOCKER_HUB_ALIASES else stripped


def _find_key(mapping: Mapping[str, object], registry: str, *, legacy: bool) -> str | None:
    """The key of ``mapping`` for ``registry``: exact first, then normalized."""
    if registry in mapping:
        return registry
    for key in sorted(mapping):  # sorted: the same answer whatever the file's order
        if _normalize_key(key, legacy=legacy) == registry:
            return key
    return None


def _unreadable(auth_file: _AuthFile, exc: OSError) -> str:
    """The sentence for an auth file that is there but cannot be read."""
    path = auth_file.path
    if exc.errno == errno.ENOTDIR:  # a file where a folder of the path should be
        blocker = next((folder for folder in path.parents if folder.is_file()), None)
        if auth_file.docker_config and blocker == path.parent:
            where = (f' (here "{blocker.parent}")' if blocker.name == "config.json" else "")
            return (f'DOCKER_CONFIG names the file "{blocker}", but it must name a folder: '
                    f"the one holding config.json{where}. Set it to that folder, or unset it.")
        if blocker is not None:
            return (f'Cannot read the credentials file "{path}": "{blocker}" is a file, not '
                    "a folder.")
    if exc.errno == errno.EISDIR:
        return f'Cannot read the credentials file "{path}": it is a folder, not a file.'
    reason = (exc.strerror or type(exc).__name__).rstrip(".")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (f'Cannot read the credentials file "{path}": {reason}. Fix its permissions or '
                "remove it.")
    return f'Cannot read the credentials file "{path}": {reason}.'


def _read_auth_file(auth_file: _AuthFile) -> _FileContents | None:
    """The parsed file; None when it does not exist; SpyglassError when it is unusable."""
    path = auth_file.path
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SpyglassError(_unreadable(auth_file, exc)) from exc

    def bad(what: str) -> SpyglassError:
        return SpyglassError(
            f'The credentials file "{path}" {what}. Fix or remove it; Spyglass only reads it.'
        )

    # Not chained: both exceptions hold the file's text, secrets included.
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise bad("is not UTF-8 text") from None
    try:
        data = gojson.loads(text)  # (nested too deeply: not JSON, as Go says too)
    except json.JSONDecodeError as exc:
        # Python's "Unterminated string starting at" ends in "at" already
        message = exc.msg.removesuffix(" at")
        raise bad(f"is not valid JSON ({message} at line {exc.lineno}, column {exc.colno})") \
            from None
    if not isinstance(data, dict):
        raise bad("does not hold a JSON object")

    contents = _FileContents()
    auths = data if auth_file.legacy else data.get("auths", {})
    if auths is None:
        auths = {}
    if not isinstance(auths, dict):
        raise bad('has an "auths" that is not an object')
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            raise bad(f'has an "auths" entry "{key}" that is not an object')
        for name in ("auth", "identitytoken"):
            if not isinstance(entry.get(name, ""), str):
                raise bad(f'has a "{name}" in the "auths" entry "{key}" that is not a string')
        contents.auths[key] = entry
    if auth_file.legacy:
        return contents

    helpers = data.get("credHelpers", {})
    if helpers is None:
        helpers = {}
    if not isinstance(helpers, dict) or not all(isinstance(v, str) for v in helpers.values()):
        raise bad('has a "credHelpers" that is not an object of helper names')
    contents.cred_helpers = dict(helpers)
    store = data.get("credsStore")
    if store is not None and not isinstance(store, str):
        raise bad('has a "credsStore" that is not a helper name')
    contents.creds_store = store or None
    return contents


def _decode_entry(entry: Mapping[str, Any], key: str, path: Path) -> Credentials | None:
    """An ``auths`` entry as credentials; None for an empty one (Docker's marker for a helper)."""
    auth: str = entry.get("auth", "") or ""
    token: str = entry.get("identitytoken", "") or ""
    username = password = ""
    if auth:
        invalid = SpyglassError(
            f'The "auth" of the entry "{key}" in the credentials file "{path}" is not base64 '
            'of "username:password". Log in again, or fix or remove that entry.'
        )
        padded = auth.strip() + "=" * (-len(auth.strip()) % 4)
        try:
            # (bytes that are not UTF-8, as skopeo login writes them under Latin-1, go on
            # as they are: see the Basic header)
            decoded = base64.b64decode(padded, validate=True).decode("utf-8",
                                                                      "surrogateescape")
        except binascii.Error:
            raise invalid from None  # the causes quote the secret
        username, colon, password = decoded.partition(":")
        if not colon:
            # containers/image and Docker skip such an entry; say so without quoting it.
            warn_once('Ignoring the entry "%s" in %s: its "auth" has no ":" between the '
                      "username and the password.", key, path)
            username = password = ""
        password = password.strip("\x00")
    if not (username or password or token):
        return None
    return Credentials(username, password, identity_token=token or None, source=str(path),
                       entry=key)
