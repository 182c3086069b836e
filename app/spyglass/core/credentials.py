"""Registry credentials: where they are looked up, and where Spyglass keeps its own.

A lookup for a registry host asks these sources in order; the first that has
something for the host wins, and the ones after it are not read::

    given       credentials passed for this call (``--creds``, a login dialog)
    session     what was kept in memory for this run: :meth:`CredentialStore.save`
                  when no keyring worked, :meth:`CredentialStore.keep_for_session`
                  (typed into the window's sign-in, the latest word)
    env file    the file ``$REGISTRY_AUTH_FILE`` names: the user chose it for every
                  program that reads auth files, so it comes before Spyglass's own
    keyring     the system keyring: service "spyglass", one entry per host
    auth files  read, never written, as containers/image reads them (not when
                ``$REGISTRY_AUTH_FILE`` is set: it replaces the four, as in skopeo):
                  $XDG_RUNTIME_DIR/containers/auth.json  (/run/containers/UID/auth.json)
                  $XDG_CONFIG_HOME/containers/auth.json  (~/.config/containers/auth.json)
                  $DOCKER_CONFIG/config.json             (~/.docker/config.json)
                  ~/.dockercfg                           (the legacy Docker format)

In each auth file: a ``credHelpers`` entry for the host sends the question to
``docker-credential-NAME``; otherwise an ``auths`` entry (``auth`` is base64 of
``user:password``, ``identitytoken`` an OAuth2 refresh token) answers; otherwise
the file's ``credsStore`` helper is asked. Keys are matched exactly first
(repository and namespace keys such as ``quay.io/team`` only that way), then by
host after stripping ``http(s)://`` and any path, with ``docker.io``,
``index.docker.io``, ``registry-1.docker.io`` and Docker's legacy
``https://index.docker.io/v1/`` all meaning Docker Hub.

A file that cannot be read or is not what it should be stops the lookup with a
:class:`SpyglassError` naming the file, as containers/image does: guessing past
it could send the wrong credentials. So does a credential helper that is
missing, fails, or answers nonsense; a helper's "credentials not found" is
just no answer.

The keyring is asked one call at a time. One that is *locked* (its unlock prompt was
dismissed: GNOME Keyring, KWallet) is not "no keyring": a lookup goes on to the auth
files and, finding nothing there, raises :class:`KeyringUnavailable` (a registry client
then goes on without credentials and names the locked keyring if the registry wants
some); :meth:`CredentialStore.forget` raises it too, since what it keeps may still be
there; and :meth:`CredentialStore.save` keeps the credentials for the session and says
why (:meth:`CredentialStore.why_not_saved`). A locked keyring is left alone for
:data:`KEYRING_LOCKED_PAUSE` seconds, then asked again, so unlocking it needs no
restart. A keyring that fails otherwise (no D-Bus service, say) is not asked again
in the process; one that was never there (keyring's fail backend) is no keyring.

Secrets never reach a message: :class:`Credentials` leaves them out of its
``repr``, errors name files, keys and helpers but never quote values, log lines
say where credentials came from and nothing more, and exceptions whose objects
would carry file text or helper output are not chained.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import errno
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

from spyglass.core import gojson
from spyglass.core.errors import SpyglassError, without_password

log = logging.getLogger(__name__)

KEYRING_SERVICE: Final = "spyglass"
#: Seconds a ``docker-credential-*`` helper may take to answer.
HELPER_TIMEOUT: Final[float] = 10.0
#: What docker-credential-helpers print (with a failing exit status) for an unknown host.
HELPER_NOT_FOUND: Final = "credentials not found in native keychain"
#: The username a credential helper answers with when the secret is an identity token.
TOKEN_USERNAME: Final = "<token>"
DOCKER_HUB: Final = "docker.io"
DOCKER_HUB_ALIASES: Final = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
#: The key ``docker login`` uses for Docker Hub, in files and in credential helpers.
DOCKER_HUB_LEGACY_KEY: Final = "https://index.docker.io/v1/"

KEYRING_LOCKED_PAUSE: Final[float] = 5.0
"""Seconds a keyring that answered "locked" is not asked again. Asked while locked, a
system keyring shows its unlock prompt: the lookups of one action (a registry's list
and its tags, a copy's requests, on several threads at once) meet that one prompt and
its answer, not a prompt each; the next action, seconds later, asks again, and once
the keyring is unlocked it answers, with no restart."""

_KEYRING_PROBE_USER: Final = "spyglass-keyring-probe"
_KEYRING_INDEX_USER: Final = "spyglass:hosts"
"""The keyring entry listing the hosts Spyglass keeps credentials for (no secret), for
``logout --all``: keyring cannot list a service's entries. (No registry host is
named so: its port would be ``hosts``.)"""
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_HOST_AND_PORT = re.compile(r"(?:[^\s:\[\]]+|\[[0-9a-fA-F:.]+(?:%[\w.-]+)?\])(?::[0-9]+)?",
                            re.ASCII)
_MAX_DETAIL: Final = 200

SaveTarget = Literal["keyring", "session"]

_T = TypeVar("_T")


class KeyringUnavailable(SpyglassError):
    """The keyring is there, but did not answer: it is locked, or it failed.

    Attributes:
        keyring: the keyring as a sentence names it (:attr:`CredentialStore.keyring_description`:
            "the system keyring", or the backend by name).
        locked: True for a keyring that is locked (its unlock prompt was dismissed, or it
            cannot prompt): it is asked again after :data:`KEYRING_LOCKED_PAUSE`. False for
            one that failed otherwise: it is not asked again in this process.
        detail: for one that failed, the error's type and text ("RuntimeError: …"; never a
            secret); "" for a locked one.
        retry_at: the :func:`time.monotonic` time from which a locked keyring is asked
            again (0 for one that failed).
        removed: the hosts :meth:`CredentialStore.forget_all` did remove before this.
    """

    def __init__(self, message: str, *, keyring: str, locked: bool, detail: str = "",
                 retry_at: float = 0.0, removed: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.keyring = keyring
        self.locked = locked
        self.detail = detail
        self.retry_at = retry_at
        self.removed = removed

    @property
    def state(self) -> str:
        """``the system keyring is locked``, ``the system keyring failed (RuntimeError: …)``:
        the end of a sentence."""
        return f"{self.keyring} is locked" if self.locked else \
            f"{self.keyring} failed ({self.detail})"

    @property
    def advice(self) -> str:
        """What to do, as a sentence: "Unlock it and try again." for a locked keyring; ""
        for one that failed (its error says what it can)."""
        return "Unlock it and try again." if self.locked else ""

    def said(self, sentence: str) -> KeyringUnavailable:
        """The same trouble, said as ``sentence`` (its advice added)."""
        message = f"{sentence} {self.advice}" if self.advice else sentence
        return KeyringUnavailable(message, keyring=self.keyring, locked=self.locked,
                                  detail=self.detail, retry_at=self.retry_at,
                                  removed=self.removed)


def capitalized(text: str) -> str:
    """``text`` with its first letter capitalized (a keyring's description opening a
    sentence: "The system keyring is locked")."""
    return text[:1].upper() + text[1:]


REGISTRY_TOKEN_SOURCE: Final = "registry token"
"""The ``source`` of credentials that are a Bearer token given as it is."""


@dataclass(frozen=True, repr=False)
class Credentials:
    """A username and secret for one registry.

    Attributes:
        username: the account name; "" when the secret is a bare registry token.
        password: the password or registry token. Never printed.
        identity_token: Docker's ``identitytoken``, an OAuth2 refresh token that the
            registry's token server exchanges for access tokens. Never printed.
        source: where the credentials came from, for messages: "command line",
            "session", "keyring", a file's path, or ``docker-credential-NAME``.
        registry_token: a Bearer token to present as it is (skopeo's
            ``--registry-token``), instead of asking the token server. Never printed.
        entry: the key of the auth file's ``auths`` entry they came from (a host,
            or a repository or namespace on it), for messages; None otherwise.
    """

    username: str
    password: str = field(repr=False)
    identity_token: str | None = field(default=None, repr=False)
    source: str = ""
    registry_token: str | None = field(default=None, repr=False)
    entry: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, source={self.source!r})"

    __str__ = __repr__

    @property
    def file_entry(self) -> str | None:
        """``the entry "HOST" in PATH`` for credentials read from an auth file; None for
        any other source."""
        return None if self.entry is None else f'the entry "{self.entry}" in {self.source}'

    def _secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.password, self.identity_token, self.registry_token) if s)


def parse_creds(text: str, flag: str = "--creds") -> Credentials:
    """Credentials from ``--creds USERNAME[:PASSWORD]``, split at the first colon as skopeo does.

    With no password (``alice`` or ``alice:``) the password is "": the caller decides
    whether to ask for one (the command line asks only for ``alice``). Raises
    :class:`SpyglassError` for "" and for a missing username, naming ``flag``; the
    message never repeats what was given, since it may hold a password.
    """
    if not text:
        raise SpyglassError(
            f"The {flag} value is empty; give USERNAME[:PASSWORD], "
            f"or leave {flag} out to use stored credentials."
        )
    username, _, password = text.partition(":")
    if not username:
        raise SpyglassError(
            f'The {flag} value has no username before the ":"; give USERNAME[:PASSWORD].'
        )
    return Credentials(username, password, source="command line")


def canonical_host(host: str) -> str:
    """The host a registry is known by here: ``registry.example.com:5000``, ``docker.io``.

    Accepts what people paste: ``https://`` and ``docker://`` prefixes and paths are
    dropped, case is folded, and every Docker Hub alias becomes ``docker.io``.
    """
    text = host.strip()
    bare = _without_scheme(text[len("docker://"):] if text.lower().startswith("docker://")
                           else text)
    name = bare.split("/", 1)[0].lower()
    # HOST or HOST:PORT, an IPv6 address in brackets ([::1]:5000)
    if not _HOST_AND_PORT.fullmatch(name):
        shown = without_password(host)
        raise SpyglassError(
            f'"{shown}" is not a registry host; expected a name such as '
            '"registry.example.com" or "localhost:5000"'
            + ("; credentials do not go in it (give them with --username and "
               "--password-stdin, or in the sign-in fields)." if shown != host or "@" in name
               else ".")
        )
    return DOCKER_HUB if name in DOCKER_HUB_ALIASES else name


def _without_scheme(key: str) -> str:
    for prefix in ("http://", "https://"):
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def _normalize_key(key: str, *, legacy: bool) -> str:
    """An auth-file key as a host, as containers/image ``normalizeAuthFileKey`` does.

    The path is dropped only after a scheme (``https://index.docker.io/v1/``) or in
    the legacy format; ``quay.io/team`` stays a namespace key that no host matches.
    """
    stripped = _without_scheme(key)
    if legacy or stripped != key:
        stripped = stripped.split("/", 1)[0]
    stripped = stripped.lower()
    return DOCKER_HUB if stripped in DOCKER_HUB_ALIASES else stripped


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


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


class CredentialStore:
    """Looks credentials up for a registry host, and keeps the ones the user gives.

    Order of the lookup: given for this call; the in-memory session store;
    ``$REGISTRY_AUTH_FILE``; the system keyring; then, when ``$REGISTRY_AUTH_FILE`` is not set,
    ``$XDG_RUNTIME_DIR/containers/auth.json``;
    ``~/.config/containers/auth.json``; ``~/.docker/config.json`` (``auths``,
    ``credHelpers``, ``credsStore`` — calling ``docker-credential-NAME get`` with the
    host on stdin and reading ``{"Username", "Secret"}``; the username ``<token>``
    means an identity token). See the module docstring for the details.

    Spyglass never writes those files. :meth:`save` writes to the keyring, or, when
    no keyring takes them, to a session store that lives as long as this object: the
    application keeps one store. A keyring that fails (no D-Bus service, say) is
    logged without secrets and not asked again; one that is locked is asked again
    after :data:`KEYRING_LOCKED_PAUSE` (see the module docstring). Safe to use from
    several threads; the keyring is asked one call at a time.

    Args:
        authfile: an explicit auth file, as ``--authfile``: the only place looked in
            (not the session or the keyring; not ``$REGISTRY_AUTH_FILE`` or the
            default files), as containers/image reads only the file it is given.
        keyring_backend: a ``keyring`` backend; default ``keyring.get_keyring()``.
        environ: the environment to read (``REGISTRY_AUTH_FILE``, ``XDG_*``,
            ``DOCKER_CONFIG``, ``HOME``) and to run credential helpers with
            (``PATH`` finds them); default ``os.environ``.
        home: the home folder; default ``$HOME``, else ``Path.home()``.
    """

    def __init__(
        self,
        *,
        authfile: Path | None = None,
        keyring_backend: Any | None = None,
        environ: Mapping[str, str] | None = None,
        home: Path | None = None,
    ) -> None:
        self._authfile = authfile
        self._backend = keyring_backend
        self._chosen = keyring_backend is not None
        """Whether the backend was chosen (given here, or named by keyring's
        ``PYTHON_KEYRING_BACKEND`` or its config file) rather than detected."""
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._home = home
        self._lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._session: dict[str, Credentials] = {}
        self._usable: bool | None = None
        self._failure = ""
        """Why the keyring is not used ("RuntimeError: …"), when it failed; "" otherwise."""
        self._locked_at: float | None = None
        """When the keyring last answered "locked" (:func:`time.monotonic`); None since
        it answered otherwise."""
        self._asking = threading.Lock()
        """Held for each call to the keyring: one at a time (a locked one's prompt once)."""
        self._not_saved: dict[str, KeyringUnavailable] = {}
        """Why :meth:`save` kept a host's credentials for the session: the keyring there
        was locked, or failed."""

    # ------------------------------------------------------------------ public

    def lookup(
        self, host: str, *, given: Credentials | None = None, repository: str | None = None
    ) -> Credentials | None:
        """The credentials for ``host``, or None when no source has any.

        ``given`` wins outright. ``repository`` (a path on that registry such as
        ``team/app``) lets auth-file keys for that repository or a namespace above it
        (``quay.io/team``) take precedence over the host's own key, as in
        containers/image; the session, keyring and helpers are per host.

        Raises :class:`SpyglassError` when an auth file is unreadable or malformed,
        or a credential helper it names is missing, fails, or times out; and
        :class:`KeyringUnavailable` when the keyring is locked and no source after it
        has anything for the host (what it keeps could not be read).
        """
        if given is not None:
            return given
        registry = canonical_host(host)
        if self._authfile is not None:  # --authfile: that file only, as containers/image
            return self._lookup_in_authfile(registry, repository)
        with self._lock:  # typed in this session (the window's sign-in): they win in it
            found = self._session.get(registry)
        if found is not None:
            log.debug("Credentials for %s come from the session store.", registry)
            return found
        chosen = self._env("REGISTRY_AUTH_FILE")
        if chosen:  # chosen for every program: before what Spyglass keeps, not after
            found = self._lookup_in_authfile(registry, repository)
            if found is not None:
                return found
        locked: KeyringUnavailable | None = None
        try:
            found = self._keyring_get(registry)
        except KeyringUnavailable as exc:  # locked: the auth files may still have some
            found, locked = None, exc
        if found is not None:
            log.debug("Credentials for %s come from the system keyring.", registry)
            return found
        found = None if chosen else self._lookup_in_authfile(registry, repository)
        if found is None and locked is not None:
            raise locked.said(f"{capitalized(locked.state)}, so the stored credentials for "
                              f"{registry} could not be read.")
        return found

    def chosen_file_entry(self, host: str) -> Credentials | None:
        """The credentials ``$REGISTRY_AUTH_FILE``'s file has for ``host`` (they come before
        the keyring's), or None: no such file set, or no entry there."""
        if self._authfile is not None or not self._env("REGISTRY_AUTH_FILE"):
            return None
        return self._lookup_in_authfile(canonical_host(host), None)

    def _lookup_in_authfile(self, registry: str, repository: str | None) -> Credentials | None:
        for auth_file in self._auth_files():
            found = self._lookup_in_file(auth_file, registry, repository)
            if found is not None:
                log.debug("Credentials for %s come from %s.", registry, found.source)
                return found
        log.debug("No credentials for %s.", registry)
        return None

    def save(self, host: str, credentials: Credentials) -> SaveTarget:
        """Keep ``credentials`` for ``host``; return where: "keyring" or "session".

        "session" means no keyring took them: they last until the application quits,
        and the window should say so. :meth:`why_not_saved` tells a keyring that was
        there but locked, or failed, from none at all.
        """
        registry = canonical_host(host)
        not_saved: KeyringUnavailable | None = None
        if self.keyring_usable and self.passed_over is None:
            payload: dict[str, str] = {
                "username": credentials.username, "password": credentials.password,
            }
            if credentials.identity_token:
                payload["identity_token"] = credentials.identity_token
            try:
                self._ask(lambda backend: backend.set_password(KEYRING_SERVICE, registry,
                                                               json.dumps(payload)))
            except KeyringUnavailable as exc:  # locked: asked again at the next save
                not_saved = exc
                log.info("%s is locked: the credentials for %s are kept for this session "
                         "only.", capitalized(exc.keyring), registry)
            except Exception as exc:  # any backend error: a keyring must never crash us
                detail = f"{type(exc).__name__}: {_scrub(str(exc), credentials._secrets())}"
                if not isinstance(exc, _password_set_error()):
                    self._keyring_failed(exc, f"save the credentials for {registry}",
                                         credentials._secrets())
                else:  # this write refused (KWallet's "Cancelled by user"): not the keyring
                    log.warning("%s did not save the credentials for %s (%s); they are "
                                "kept for this session only.",
                                capitalized(self.keyring_description), registry, detail)
                described = self.keyring_description
                not_saved = KeyringUnavailable(
                    f"{capitalized(described)} did not save the credentials for {registry} "
                    f"({detail}).", keyring=described, locked=False, detail=detail)
            else:
                with self._lock:
                    self._session.pop(registry, None)
                    self._not_saved.pop(registry, None)
                self._index(add=registry)
                log.info("Saved the credentials for %s in the system keyring.", registry)
                return "keyring"
        elif self._failure:  # it failed before: said as it was
            not_saved = self._failed()
        with self._lock:
            self._session[registry] = dataclasses.replace(credentials, source="session")
            if not_saved is None:
                self._not_saved.pop(registry, None)
            else:
                self._not_saved[registry] = not_saved
        if self.passed_over is not None:
            # what an earlier Spyglass kept in the passed-over file would outlive these
            # newer credentials (found again after a restart): it goes
            try:
                self._forget_in_keyring(registry)
            except KeyringUnavailable as exc:
                log.warning("What the keyring kept for %s before could not be removed "
                            "(%s).", registry, exc.state)
            log.info("Keeping the credentials for %s for this session only: the only keyring "
                     "is %s, which nobody chose (PYTHON_KEYRING_BACKEND names it when "
                     "wanted).", registry, self.passed_over)
        else:
            log.info("Keeping the credentials for %s for this session only.", registry)
        return "session"

    def keep_for_session(self, host: str, credentials: Credentials) -> None:
        """Keep ``credentials`` for ``host`` until the program ends, nowhere else: they
        come first in :meth:`lookup` (the window's sign-in where ``$REGISTRY_AUTH_FILE``
        would overrule whatever is saved)."""
        registry = canonical_host(host)
        with self._lock:
            self._session[registry] = dataclasses.replace(credentials, source="session")
            self._not_saved.pop(registry, None)

    def why_not_saved(self, host: str) -> KeyringUnavailable | None:
        """Why :meth:`save` kept the credentials for ``host`` for the session only, when a
        keyring was there and did not take them: it was locked, or failed. None when
        they are in the keyring, when there is no keyring at all, or when nothing was
        saved for ``host``."""
        with self._lock:
            return self._not_saved.get(canonical_host(host))

    def forget(self, host: str) -> bool:
        """Remove what :meth:`save` kept for ``host``; True if something was removed,
        False if nothing was kept for it.

        Auth files and credential helpers are left alone, so a later lookup may
        still find credentials there. Raises :class:`KeyringUnavailable` when the
        keyring is locked or failed: what it keeps for ``host`` may still be there
        (what the session kept is gone).
        """
        registry = canonical_host(host)
        with self._lock:
            removed = self._session.pop(registry, None) is not None
            self._not_saved.pop(registry, None)
        try:
            removed = self._forget_in_keyring(registry) or removed
        except KeyringUnavailable as exc:
            raise exc.said(f"Could not remove the stored credentials for {registry}: "
                           f"{exc.state}.") from None
        if removed:
            log.info("Forgot the saved credentials for %s.", registry)
        return removed

    def _forget_in_keyring(self, registry: str) -> bool:
        """Remove the keyring's entry for ``registry``; True when there was one. Raises
        :class:`KeyringUnavailable` when the keyring is locked or failed."""
        if not self.keyring_usable:
            if self._failure:
                raise self._failed()
            return False
        try:
            found = self._ask(lambda backend: backend.get_password(KEYRING_SERVICE,
                                                                   registry)) is not None
            if found:
                self._ask(lambda backend: backend.delete_password(KEYRING_SERVICE, registry))
        except _password_delete_error():
            return False  # gone between the two calls
        except KeyringUnavailable:
            raise
        except Exception as exc:  # any backend error
            self._keyring_failed(exc, f"remove the credentials for {registry}", ())
            raise self._failed() from None
        self._index(remove=registry)  # (also a host whose entry went another way)
        return found

    def forget_all(self, also: Iterable[str] = ()) -> list[str]:
        """Remove everything :meth:`save` kept: the hosts the keyring's index lists and
        those of ``also`` (the window's registries, kept before there was an index) and
        the session's; return the hosts removed, in order.

        Raises :class:`KeyringUnavailable` when the keyring is locked or failed, after
        removing what it could (its ``removed``): its index, or an entry, could not be
        read or removed.
        """
        with self._lock:
            hosts = list(self._session)
        trouble: KeyringUnavailable | None = None
        try:
            hosts += self._indexed()
        except KeyringUnavailable as exc:
            trouble = exc
        hosts += [canonical_host(host) for host in also]
        # each forget takes its host off the index: one another process added meanwhile
        # stays listed (the index is never deleted whole)
        removed: list[str] = []
        for host in dict.fromkeys(hosts):
            try:
                if self.forget(host):
                    removed.append(host)
            except KeyringUnavailable as exc:
                trouble = trouble or exc
        if trouble is not None:
            others = "the other stored credentials" if removed else "the stored credentials"
            error = trouble.said(f"Could not remove {others}: {trouble.state}.")
            error.removed = tuple(removed)
            raise error
        return removed

    def _indexed(self) -> list[str]:
        """The hosts the keyring's index lists (none when it has none, or it is not a
        list of names). Raises :class:`KeyringUnavailable` when the keyring is locked
        or failed."""
        if not self.keyring_usable:
            if self._failure:
                raise self._failed()
            return []
        try:
            stored = self._ask(lambda backend: backend.get_password(KEYRING_SERVICE,
                                                                    _KEYRING_INDEX_USER))
        except KeyringUnavailable:
            raise
        except Exception as exc:  # any backend error: whether it lists hosts is not known
            detail = f"{type(exc).__name__}: {exc}"
            raise KeyringUnavailable(detail, keyring=self.keyring_description, locked=False,
                                     detail=detail) from None
        try:
            hosts = gojson.loads(stored) if stored else []
        except (TypeError, ValueError):  # not JSON: an index is a convenience
            return []
        return [h for h in hosts if isinstance(h, str)] if isinstance(hosts, list) else []

    def _index(self, *, add: str | None = None, remove: str | None = None) -> None:
        """Add ``add`` to, or remove ``remove`` from, the keyring's index of hosts: read,
        changed and written under a lock of this process and a file lock between
        processes (logins run at once from a script would lose each other's hosts)."""
        with self._index_lock, _index_file_lock():
            try:
                hosts = self._indexed()
                changed = [h for h in hosts if h != remove] + (
                    [add] if add is not None and add not in hosts else [])
                if changed == hosts:
                    return
                if changed:
                    self._ask(lambda backend: backend.set_password(
                        KEYRING_SERVICE, _KEYRING_INDEX_USER, json.dumps(changed)))
                else:
                    self._ask(lambda backend: backend.delete_password(KEYRING_SERVICE,
                                                                      _KEYRING_INDEX_USER))
            except Exception as exc:  # any backend error: the credentials themselves are
                log.info("The keyring's list of registries was not updated (%s).",
                         type(exc).__name__)

    @property
    def keyring_usable(self) -> bool:
        """Whether there is a keyring to take and give credentials.

        False for keyring's fail and null backends, a chainer with nothing to chain,
        a backend that failed when probed, and after a keyring error since (other than
        a refused write). A locked keyring is usable: it is there, and asked again
        after :data:`KEYRING_LOCKED_PAUSE` (see :attr:`keyring_locked`). (An unencrypted
        file that keyring fell back to without anyone choosing it is read and cleared,
        but given nothing new: see :attr:`passed_over`.)
        """
        with self._lock:
            usable = self._usable
        if usable is None:
            usable = self._probe_keyring()
            with self._lock:
                if self._usable is None:
                    self._usable = usable
                usable = self._usable
        return usable

    @property
    def keyring_failure(self) -> KeyringUnavailable | None:
        """The error that turned the keyring off in this process (not a locked one), or
        None. Asks nothing."""
        with self._lock:
            failed = bool(self._failure)
        return self._failed() if failed else None

    @property
    def keyring_locked(self) -> bool:
        """Whether the keyring's latest answer was that it is locked (asks nothing)."""
        with self._lock:
            return self._locked_at is not None

    # ------------------------------------------------------------------ keyring

    def _ask(self, call: Callable[[Any], _T]) -> _T:
        """``call(backend)``, one call to the keyring at a time.

        A locked answer raises :class:`KeyringUnavailable` and is remembered: for
        :data:`KEYRING_LOCKED_PAUSE` seconds the keyring is not asked again (the same
        exception is raised at once: threads that waited behind the one that met the
        unlock prompt get its answer, not a prompt each). Any other answer forgets it.
        Other backend errors propagate as they are.
        """
        import keyring.errors

        with self._asking:
            with self._lock:
                locked_at = self._locked_at
            if locked_at is not None and time.monotonic() < locked_at + KEYRING_LOCKED_PAUSE:
                raise self._locked(locked_at)
            try:
                answer = call(self._keyring())
            except keyring.errors.KeyringLocked as exc:
                now = time.monotonic()
                with self._lock:
                    self._locked_at = now
                log.info("%s is locked (%s); it is asked again from %g seconds on.",
                         capitalized(self.keyring_description), exc, KEYRING_LOCKED_PAUSE)
                raise self._locked(now) from None
            except Exception:
                with self._lock:
                    self._locked_at = None
                raise
            with self._lock:
                self._locked_at = None
            return answer

    def _locked(self, locked_at: float) -> KeyringUnavailable:
        described = self.keyring_description
        return KeyringUnavailable(f"{capitalized(described)} is locked.", keyring=described,
                                  locked=True, retry_at=locked_at + KEYRING_LOCKED_PAUSE)

    def _failed(self) -> KeyringUnavailable:
        """The failure that turned the keyring off, as an exception."""
        detail = self._failure
        return KeyringUnavailable(f"{capitalized(self.keyring_description)} failed ({detail}).",
                                  keyring=self.keyring_description, locked=False,
                                  detail=detail)

    def _keyring(self) -> Any:
        if self._backend is None:
            import keyring  # costs tens of milliseconds: only when a keyring is needed
            import keyring.core

            self._backend = keyring.get_keyring()
            try:
                self._chosen = keyring.core.load_env() is not None \
                    or keyring.core.load_config() is not None
            except Exception:  # a setting keyring itself could not load
                self._chosen = False
        return self._backend

    def writing_backend(self) -> Any:
        """The backend :meth:`save` writes to (a chainer's first)."""
        backend = self._keyring()
        chained = getattr(backend, "backends", None)
        return chained[0] if chained else backend

    @staticmethod
    def _unencrypted(backend: Any) -> bool:
        """Whether ``backend`` keeps secrets readable in a file (keyrings.alt's plain-text one)."""
        return "plaintext" in type(backend).__name__.lower()

    @property
    def keyring_description(self) -> str:
        """Where :meth:`save` puts credentials, for a sentence: "the system keyring", or
        the backend by name (and its file) where the keyring package was set up to use
        one that is not the system's (keyrings.alt's plain-text file, say)."""
        backend = self.writing_backend()
        if type(backend).__module__.startswith("keyring.backends."):
            return "the system keyring"
        where = getattr(backend, "file_path", None)  # keyrings.alt's files, for one
        named = f"the keyring backend {type(backend).__name__}"
        if self._unencrypted(backend):
            where = f"{where}, unencrypted" if where else "unencrypted"
        return f"{named} ({where})" if where else named

    @property
    def passed_over(self) -> str | None:
        """The unencrypted keyring :meth:`save` gives nothing because nobody chose it
        (keyring fell back to keyrings.alt's readable file), for a sentence ("the
        keyring backend PlaintextKeyring (FILE, unencrypted)"); None otherwise. What an
        earlier save put there is still found, and :meth:`forget` still removes it."""
        if not self.keyring_usable or self._chosen \
                or not self._unencrypted(self.writing_backend()):
            return None
        return self.keyring_description

    @property
    def backend_setting(self) -> str:
        """The ``module.Class`` keyring's ``PYTHON_KEYRING_BACKEND`` takes for the backend
        :meth:`save` writes to (to choose a passed-over one)."""
        backend = self.writing_backend()
        return f"{type(backend).__module__}.{type(backend).__qualname__}"

    def _probe_keyring(self) -> bool:
        import keyring.backends.chainer
        import keyring.backends.fail
        import keyring.backends.null

        try:
            backend = self._keyring()
            if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
                log.info("No system keyring (%s); credentials are kept for the session only.",
                         type(backend).__name__)
                return False
            if isinstance(backend, keyring.backends.chainer.ChainerBackend) and not list(
                backend.backends
            ):
                log.info("No system keyring to chain; credentials are kept for the session only.")
                return False
            self._ask(lambda probed: probed.get_password(KEYRING_SERVICE, _KEYRING_PROBE_USER))
        except KeyringUnavailable:  # locked: there is a keyring, asked again later
            return True
        except Exception as exc:  # any backend error
            with self._lock:
                self._failure = f"{type(exc).__name__}: {exc}"
            # (no "kept for the session only": a one-shot command keeps nothing at all)
            log.warning("%s cannot be used (%s: %s); credentials are neither read from it "
                        "nor saved in it.", capitalized(self.keyring_description),
                        type(exc).__name__, exc)
            return False
        return True

    def _keyring_failed(self, exc: BaseException, what: str, secrets: tuple[str, ...]) -> None:
        detail = f"{type(exc).__name__}: {_scrub(str(exc), secrets)}"
        with self._lock:
            self._usable = False
            self._failure = detail
        log.warning("%s could not %s (%s); credentials are neither read from it nor saved "
                    "in it from now on.", capitalized(self.keyring_description), what, detail)

    def _keyring_get(self, registry: str) -> Credentials | None:
        """The keyring's credentials for ``registry``; None when it has none, or there is
        no keyring, or it failed. Raises :class:`KeyringUnavailable` when it is locked."""
        if not self.keyring_usable:
            return None
        try:
            stored = self._ask(lambda backend: backend.get_password(KEYRING_SERVICE, registry))
        except KeyringUnavailable:
            raise
        except Exception as exc:  # any backend error
            self._keyring_failed(exc, f"read the credentials for {registry}", ())
            return None
        if stored is None:
            return None
        if not isinstance(stored, str):
            log.warning("Ignoring the keyring entry for %s: it is not text.", registry)
            return None
        return _decode_keyring_entry(registry, stored)

    # ------------------------------------------------------------------ auth files

    def _env(self, name: str) -> str:
        return self._environ.get(name, "")

    def _home_dir(self) -> Path:
        if self._home is not None:
            return self._home
        home = self._env("HOME")
        return Path(home) if home else Path.home()

    def _auth_files(self) -> Iterator[_AuthFile]:
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
            return self._ask_helper(contents.cred_helpers[helper_key], registry,
                                    origin=f'the "credHelpers" entry "{helper_key}" in {path}')

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
            return self._ask_helper(contents.creds_store, registry,
                                    origin=f'"credsStore" in {path}', required=marker)
        return None

    # ------------------------------------------------------------------ helpers

    def _ask_helper(
        self, name: str, registry: str, *, origin: str, required: bool = True
    ) -> Credentials | None:
        """Run ``docker-credential-NAME get`` for ``registry``.

        ``required`` False (a ``credsStore`` with no ``auths`` entry for the host)
        turns a missing helper into no answer, so that a configuration copied from
        another machine does not block every registry.
        """
        program = f"docker-credential-{name}"
        if not _HELPER_NAME.fullmatch(name):
            raise SpyglassError(
                f'The credential helper name "{name}" in {origin} is not a valid name; '
                "expected letters, digits, dots, dashes or underscores."
            )
        executable = shutil.which(program, path=self._env("PATH") or os.defpath)
        if executable is None:
            if not required:
                _warn_once('The credential helper %s named by %s is not installed; '
                           "asking it for %s was skipped.", program, origin, registry)
                return None
            raise SpyglassError(
                f"The credential helper {program}, named by {origin}, was not found on "
                f"PATH, so the credentials for {registry} cannot be read. Install it, or "
                "remove it from that file."
            )
        # Docker stores Docker Hub under its legacy URL; podman and skopeo under docker.io.
        urls = [DOCKER_HUB_LEGACY_KEY, DOCKER_HUB] if registry == DOCKER_HUB else [registry]
        for url in urls:
            found = self._run_helper(executable, program, url, registry, origin)
            if found is not None:
                return found
        return None

    def _run_helper(
        self, executable: str, program: str, url: str, registry: str, origin: str
    ) -> Credentials | None:
        import subprocess  # only for helpers: it costs start-up time

        failed = f"The credential helper {program} (named by {origin}) failed for {registry}"
        try:
            done = subprocess.run(
                [executable, "get"], input=url.encode(), capture_output=True,
                timeout=HELPER_TIMEOUT, env=dict(self._environ), check=False,
            )
        except subprocess.TimeoutExpired:
            # Not chained: the exception holds whatever the helper printed so far.
            raise SpyglassError(
                f"{failed}: it did not answer within {HELPER_TIMEOUT:g} seconds."
            ) from None
        except OSError as exc:
            raise SpyglassError(f"{failed}: it could not be started ({exc.strerror or exc}).") \
                from exc
        out = done.stdout.decode("utf-8", "replace").strip()
        err = done.stderr.decode("utf-8", "replace").strip()
        if done.returncode != 0:
            if HELPER_NOT_FOUND in (out, err):
                return None
            raise SpyglassError(f"{failed}: {_helper_detail(out or err, done.returncode)}.")
        try:
            answer = gojson.loads(out)
        except json.JSONDecodeError:
            answer = None
        if not (isinstance(answer, dict) and isinstance(answer.get("Username", ""), str)
                and isinstance(answer.get("Secret", ""), str)):
            raise SpyglassError(
                f"{failed}: its answer is not the expected JSON object with "
                '"Username" and "Secret".'
            )
        username: str = answer.get("Username", "")
        secret: str = answer.get("Secret", "")
        if not username and not secret:
            return None
        if username == TOKEN_USERNAME:
            return Credentials("", "", identity_token=secret, source=program)
        return Credentials(username, secret, source=program)


def _helper_detail(text: str, status: int) -> str:
    """What a failing helper said, if it looks like a message and not like data."""
    line = text.splitlines()[0].strip() if text else ""
    if not line or line.startswith(("{", "[")):
        return f"it exited with status {status}"
    if len(line) > _MAX_DETAIL:
        line = line[:_MAX_DETAIL] + "…"
    return f'it exited with status {status} and said "{line}"'


def _decode_keyring_entry(registry: str, stored: str) -> Credentials | None:
    """A keyring entry: JSON ``{"username", "password"[, "identity_token"]}``.

    An entry that is not JSON (put there by hand with ``keyring set spyglass HOST``)
    is taken as a bare token.
    """
    if not stored.lstrip().startswith("{"):
        return Credentials("", stored, source="keyring")
    try:
        data = gojson.loads(stored)
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        log.warning("Ignoring the keyring entry for %s: it is not the JSON Spyglass writes.",
                    registry)
        return None
    username = data.get("username", "")
    password = data.get("password", "")
    token = data.get("identity_token")
    if not (isinstance(username, str) and isinstance(password, str)
            and (token is None or isinstance(token, str))):
        log.warning("Ignoring the keyring entry for %s: a field has the wrong type.", registry)
        return None
    return Credentials(username, password, identity_token=token or None, source="keyring")


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
            _warn_once('Ignoring the entry "%s" in %s: its "auth" has no ":" between the '
                       "username and the password.", key, path)
            username = password = ""
        password = password.strip("\x00")
    if not (username or password or token):
        return None
    return Credentials(username, password, identity_token=token or None, source=str(path),
                       entry=key)


@contextlib.contextmanager
def _index_file_lock() -> Iterator[None]:
    """An exclusive lock between processes on the keyring's index of hosts (a file in
    the user's cache folder; where it cannot be had, none: the index is a convenience)."""
    import fcntl

    from spyglass.core.cachedir import make_user_cache_folder

    try:  # (made only below an existing home folder or $XDG_CACHE_HOME)
        path = make_user_cache_folder() / "keyring-hosts.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # no locks there (a cache folder on NFS, say): none taken
            pass
        yield
    finally:
        os.close(fd)


_warned: set[tuple[object, ...]] = set()
_warned_lock = threading.Lock()


def _warn_once(message: str, *args: object) -> None:
    """Log a warning about a file or helper once per process: every lookup meets the
    same trouble again, and a command (or the window) looks up many times."""
    with _warned_lock:
        if (message, *args) in _warned:
            return
        _warned.add((message, *args))
    log.warning(message, *args)


def _password_delete_error() -> type[Exception]:
    import keyring.errors

    return keyring.errors.PasswordDeleteError


def _password_set_error() -> type[Exception]:
    import keyring.errors

    return keyring.errors.PasswordSetError
