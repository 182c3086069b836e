"""Where registry credentials are looked up, in which order, and where Spyglass keeps its own.

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

The files are read as :mod:`spyglass.core.credentials.auth_files` says (their
``credHelpers`` and ``credsStore`` through :mod:`spyglass.core.credentials.helpers`);
the keyring is :mod:`spyglass.core.credentials.keyring_store`.

A keyring that is *locked* (its unlock prompt was dismissed: GNOME Keyring, KWallet)
is not "no keyring": a lookup goes on to the auth files and, finding nothing there,
raises :class:`KeyringUnavailable` (a registry client then goes on without
credentials and names the locked keyring if the registry wants some);
:meth:`CredentialStore.forget` raises it too, since what it keeps may still be
there; and :meth:`CredentialStore.save` keeps the credentials for the session and
says why (:meth:`CredentialStore.why_not_saved`). It is asked again after
:data:`~spyglass.core.credentials.keyring_store.KEYRING_LOCKED_PAUSE` seconds.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from spyglass.core.credentials import Credentials, canonical_host, scrubbed
from spyglass.core.credentials.auth_files import AuthFiles
from spyglass.core.credentials.keyring_store import (
    KEYRING_SERVICE,
    KeyringAccess,
    KeyringUnavailable,
    capitalized,
)

log = logging.getLogger(__name__)

SaveTarget = Literal["keyring", "session"]


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
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._files = AuthFiles(authfile=authfile, environ=self._environ, home=home)
        self._keyring = KeyringAccess(keyring_backend)
        self._lock = threading.Lock()
        self._session: dict[str, Credentials] = {}
        self._not_saved: dict[str, KeyringUnavailable] = {}
        """Why :meth:`save` kept a host's credentials for the session: the keyring there
        was locked, or failed."""
        self._dropped: set[str] = set()
        """Hosts whose other credentials, kept by an earlier Spyglass in the keyring file
        nobody chose, :meth:`save` removed (see :meth:`dropped_before`)."""

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
            return self._files.lookup(registry, repository)
        with self._lock:  # typed in this session (the window's sign-in): they win in it
            found = self._session.get(registry)
        if found is not None:
            log.debug("Credentials for %s come from the session store.", registry)
            return found
        chosen = self._env("REGISTRY_AUTH_FILE")
        if chosen:  # chosen for every program: before what Spyglass keeps, not after
            found = self._files.lookup(registry, repository)
            if found is not None:
                return found
        locked: KeyringUnavailable | None = None
        try:
            found = self._keyring.get(registry)
        except KeyringUnavailable as exc:  # locked: the auth files may still have some
            found, locked = None, exc
        if found is not None:
            log.debug("Credentials for %s come from the system keyring.", registry)
            return found
        found = None if chosen else self._files.lookup(registry, repository)
        if found is None and locked is not None:
            raise locked.said(f"{capitalized(locked.state)}, so the stored credentials for "
                              f"{registry} could not be read.")
        return found

    def chosen_file_entry(self, host: str) -> Credentials | None:
        """The credentials ``$REGISTRY_AUTH_FILE``'s file has for ``host`` (they come before
        the keyring's), or None: no such file set, or no entry there."""
        if self._authfile is not None or not self._env("REGISTRY_AUTH_FILE"):
            return None
        return self._files.lookup(canonical_host(host), None)

    def save(self, host: str, credentials: Credentials) -> SaveTarget:
        """Keep ``credentials`` for ``host``; return where: "keyring" or "session".

        "session" means no keyring took them: they last until the application quits,
        and the window should say so. :meth:`why_not_saved` tells a keyring that was
        there but locked, or failed, from none at all.
        """
        registry = canonical_host(host)
        not_saved: KeyringUnavailable | None = None
        if self.passed_over is not None and self._kept_before(registry) == _same(credentials):
            # the very credentials an earlier Spyglass kept in the file nobody chose: they
            # stay there (nothing in them is stale), and are found again after a restart
            with self._lock:
                self._session.pop(registry, None)
                self._not_saved.pop(registry, None)
            log.info("The credentials for %s are those %s keeps already; left there.",
                     registry, self.passed_over)
            return "keyring"
        if self.keyring_usable and self.passed_over is None:
            payload: dict[str, str] = {
                "username": credentials.username, "password": credentials.password,
            }
            if credentials.identity_token:
                payload["identity_token"] = credentials.identity_token
            try:
                self._keyring.ask(lambda backend: backend.set_password(KEYRING_SERVICE, registry,
                                                                       json.dumps(payload)),
                                  credentials.secrets())
            except KeyringUnavailable as exc:  # locked: asked again at the next save
                not_saved = exc
                log.info("%s is locked: the credentials for %s are kept for this session "
                         "only.", capitalized(exc.keyring), registry)
            except Exception as exc:  # any backend error: a keyring must never crash us
                detail = f"{type(exc).__name__}: {scrubbed(str(exc), credentials.secrets())}"
                refused = isinstance(exc, _password_set_error())
                if not refused:
                    self._keyring.note_failure(exc, f"save the credentials for {registry}",
                                               credentials.secrets())
                else:  # this write refused (KWallet's "Cancelled by user"): not the keyring
                    # (not "kept for this session": a command keeps nothing, and says so)
                    log.warning("%s did not save the credentials for %s (%s).",
                                capitalized(self.keyring_description), registry, detail)
                described = self.keyring_description
                not_saved = KeyringUnavailable(
                    f"{capitalized(described)} did not save the credentials for {registry} "
                    f"({detail}).", keyring=described, locked=False, detail=detail,
                    refused=refused)
            else:
                with self._lock:
                    self._session.pop(registry, None)
                    self._not_saved.pop(registry, None)
                self._keyring.index(add=registry)
                log.info("Saved the credentials for %s in the system keyring.", registry)
                return "keyring"
        elif (failure := self._keyring.failure) is not None:  # it failed before: as it was
            not_saved = failure
        with self._lock:
            self._session[registry] = dataclasses.replace(credentials, source="session")
            if not_saved is None:
                self._not_saved.pop(registry, None)
            else:
                self._not_saved[registry] = not_saved
        if self.passed_over is not None:
            # what an earlier Spyglass kept in the passed-over file would outlive these
            # newer credentials (found again after a restart): it goes
            with self._lock:
                self._dropped.discard(registry)  # (only this save's removal is told)
            try:
                if self._keyring.forget(registry):
                    with self._lock:
                        self._dropped.add(registry)
            except KeyringUnavailable as exc:
                log.warning("What the keyring kept for %s before could not be removed "
                            "(%s).", registry, exc.state)
            log.info("Keeping the credentials for %s for this session only: the only keyring "
                     "is %s, which nobody chose (PYTHON_KEYRING_BACKEND names it when "
                     "wanted).", registry, self.passed_over)
        else:
            log.info("Keeping the credentials for %s for this session only.", registry)
        return "session"

    def saved(self, host: str) -> Credentials | None:
        """What :meth:`save` (or a ``spyglass login``) kept for ``host``: this session's,
        else the keyring's; None when neither has any. No auth file is read. Raises
        :class:`KeyringUnavailable` when the keyring is locked."""
        registry = canonical_host(host)
        with self._lock:
            found = self._session.get(registry)
        return found if found is not None else self._keyring.get(registry)

    def dropped_before(self, host: str) -> bool:
        """Whether :meth:`save` removed other credentials for ``host`` that an earlier
        Spyglass kept in the unencrypted keyring file nobody chose (:attr:`passed_over`):
        they would have outlived the new ones, kept for the session only."""
        with self._lock:
            return canonical_host(host) in self._dropped

    def _kept_before(self, registry: str) -> tuple[str, str, str] | None:
        try:
            found = self._keyring.get(registry)
        except KeyringUnavailable:
            return None
        return None if found is None else _same(found)

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

    def forget(self, host: str, only_user: str | None = None) -> bool:
        """Remove what :meth:`save` kept for ``host``; True if something was removed,
        False if nothing was kept for it. With ``only_user`` (a user name, "" for a token
        alone), the keyring's entry only while it is that user's: one saved since by
        another (``spyglass login``) stays; this session's is removed either way.

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
            found = self._keyring.get(registry) if only_user is not None else None
            if found is not None and found.username != only_user:
                log.info("Left the credentials saved for %s in the keyring: they are not "
                         "those of the user forgotten.", registry)
            elif only_user is None or found is not None:
                removed = self._keyring.forget(registry) or removed
        except KeyringUnavailable as exc:
            raise exc.said(f"Could not remove the stored credentials for {registry}: "
                           f"{exc.state}.") from None
        if removed:
            log.info("Forgot the saved credentials for %s.", registry)
        return removed

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
            hosts += self._keyring.indexed()
        except KeyringUnavailable as exc:
            trouble = exc
        hosts += [canonical_host(host) for host in also]
        hosts += self._keyring.file_entries()  # (logins made before there was an index)
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

    @property
    def keyring_usable(self) -> bool:
        """Whether there is a keyring to take and give credentials
        (:attr:`KeyringAccess.usable`)."""
        return self._keyring.usable

    @property
    def keyring_failure(self) -> KeyringUnavailable | None:
        """The error that turned the keyring off in this process (not a locked one), or
        None. Asks nothing."""
        return self._keyring.failure

    @property
    def keyring_locked(self) -> bool:
        """Whether the keyring's latest answer was that it is locked (asks nothing)."""
        return self._keyring.locked

    def writing_backend(self) -> Any:
        """The backend :meth:`save` writes to (a chainer's first)."""
        return self._keyring.writing_backend()

    @property
    def keyring_description(self) -> str:
        """Where :meth:`save` puts credentials, for a sentence
        (:attr:`KeyringAccess.description`)."""
        return self._keyring.description

    @property
    def passed_over(self) -> str | None:
        """The unencrypted keyring :meth:`save` gives nothing because nobody chose it, for
        a sentence; None otherwise (:attr:`KeyringAccess.passed_over`)."""
        return self._keyring.passed_over

    @property
    def backend_setting(self) -> str:
        """The ``module.Class`` keyring's ``PYTHON_KEYRING_BACKEND`` takes for the backend
        :meth:`save` writes to (to choose a passed-over one)."""
        return self._keyring.backend_setting

    def _env(self, name: str) -> str:
        return self._environ.get(name, "")


def _same(credentials: Credentials) -> tuple[str, str, str]:
    """What makes two credentials the same login (not where they came from)."""
    return (credentials.username, credentials.password, credentials.identity_token or "")


def _password_set_error() -> type[Exception]:
    from spyglass.core.credentials.keyring_import import keyring

    return keyring.errors.PasswordSetError
