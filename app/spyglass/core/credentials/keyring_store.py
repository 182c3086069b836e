"""The system keyring, where Spyglass keeps the credentials the user gives it.

Service "spyglass", one entry per host (JSON ``{"username", "password"[,
"identity_token"]}``), and one more listing the hosts, for ``logout --all``.

The keyring is asked one call at a time. One that is *locked* (its unlock prompt was
dismissed: GNOME Keyring, KWallet) is not "no keyring": :meth:`KeyringAccess.ask`
raises :class:`KeyringUnavailable`, and the keyring is left alone for
:data:`KEYRING_LOCKED_PAUSE` seconds, then asked again, so unlocking it needs no
restart. A keyring that fails otherwise (no D-Bus service, say) is not asked again
in the process; one that was never there (keyring's fail backend) is no keyring.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar

from spyglass.core import gojson
from spyglass.core.credentials import Credentials, scrubbed, token_alone
from spyglass.core.errors import SpyglassError

log = logging.getLogger(__name__)

KEYRING_SERVICE: Final = "spyglass"

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
        refused: True for a write the keyring refused (``PasswordSetError``: KWallet's
            "Cancelled by user"), not a keyring that failed: it is still used, and the
            next save asks it again.
    """

    def __init__(self, message: str, *, keyring: str, locked: bool, detail: str = "",
                 retry_at: float = 0.0, removed: tuple[str, ...] = (),
                 refused: bool = False) -> None:
        super().__init__(message)
        self.keyring = keyring
        self.locked = locked
        self.detail = detail
        self.retry_at = retry_at
        self.removed = removed
        self.refused = refused

    @property
    def state(self) -> str:
        """``the system keyring is locked``, ``the system keyring failed (RuntimeError: …)``,
        ``the system keyring did not take the password (PasswordSetError: …)``: the end of
        a sentence."""
        if self.locked:
            return f"{self.keyring} is locked"
        if self.refused:
            return f"{self.keyring} did not take the password ({self.detail})"
        return f"{self.keyring} failed ({self.detail})"

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
                                  removed=self.removed, refused=self.refused)


def capitalized(text: str) -> str:
    """``text`` with its first letter capitalized (a keyring's description opening a
    sentence: "The system keyring is locked")."""
    return text[:1].upper() + text[1:]



class KeyringAccess:
    """The keyring, asked one call at a time; whether it is there, locked, or failed.

    Args:
        backend: a ``keyring`` backend; default ``keyring.get_keyring()``.
    """

    def __init__(self, backend: Any | None = None) -> None:
        self._backend = backend
        self._chosen = backend is not None
        """Whether the backend was chosen (given here, or named by keyring's
        ``PYTHON_KEYRING_BACKEND`` or its config file) rather than detected."""
        self._lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._usable: bool | None = None
        self._failure = ""
        """Why the keyring is not used ("RuntimeError: …"), when it failed; "" otherwise."""
        self._locked_at: float | None = None
        """When the keyring last answered "locked" (:func:`time.monotonic`); None since
        it answered otherwise."""
        self._asking = threading.Lock()
        """Held for each call to the keyring: one at a time (a locked one's prompt once)."""
        self._seen: set[str] = set()
        """Hosts whose entry was read in this process, and made sure of in the index."""

    @property
    def usable(self) -> bool:
        """Whether there is a keyring to take and give credentials.

        False for keyring's fail and null backends, a chainer with nothing to chain,
        a backend that failed when probed, and after a keyring error since (other than
        a refused write). A locked keyring is usable: it is there, and asked again
        after :data:`KEYRING_LOCKED_PAUSE` (see :attr:`locked`). (An unencrypted
        file that keyring fell back to without anyone choosing it is read and cleared,
        but given nothing new: see :attr:`passed_over`.)
        """
        with self._lock:
            usable = self._usable
        if usable is None:
            usable = self._probe()
            with self._lock:
                if self._usable is None:
                    self._usable = usable
                usable = self._usable
        return usable

    @property
    def failure(self) -> KeyringUnavailable | None:
        """The error that turned the keyring off in this process (not a locked one), or
        None. Asks nothing."""
        with self._lock:
            failed = bool(self._failure)
        return self.failed() if failed else None

    @property
    def locked(self) -> bool:
        """Whether the keyring's latest answer was that it is locked (asks nothing)."""
        with self._lock:
            return self._locked_at is not None

    def ask(self, call: Callable[[Any], _T], secrets: tuple[str, ...] = ()) -> _T:
        """``call(backend)``, one call to the keyring at a time; ``secrets``, those the call
        gives the keyring, are left out of what is logged of its answer.

        A locked answer raises :class:`KeyringUnavailable` and is remembered: for
        :data:`KEYRING_LOCKED_PAUSE` seconds the keyring is not asked again (the same
        exception is raised at once: threads that waited behind the one that met the
        unlock prompt get its answer, not a prompt each). Any other answer forgets it.
        Other backend errors propagate as they are.
        """
        from spyglass.core.credentials.keyring_import import keyring

        with self._asking:
            with self._lock:
                locked_at = self._locked_at
            if locked_at is not None and time.monotonic() < locked_at + KEYRING_LOCKED_PAUSE:
                raise self._locked(locked_at)
            try:
                backend = self.backend()
                # a keyring in a plain file (keyrings.alt) is rewritten whole by each write,
                # unlocked: Spyglass processes take turns, or logins run at once lose each
                # other's credentials and may leave the file unreadable (not an encrypted
                # file's: one asks for its password, and a process waiting at that prompt
                # would hold every other Spyglass command up)
                turns = isinstance(getattr(backend, "file_path", None), str) and \
                    self._unencrypted(backend)
                with _file_lock(_KEYRING_FILE_LOCK) if turns else contextlib.nullcontext():
                    answer = call(backend)
            except keyring.errors.KeyringLocked as exc:
                now = time.monotonic()
                with self._lock:
                    self._locked_at = now
                log.info("%s is locked (%s); it is asked again from %g seconds on.",
                         capitalized(self.description), scrubbed(str(exc), secrets),
                         KEYRING_LOCKED_PAUSE)
                raise self._locked(now) from None
            except Exception:
                with self._lock:
                    self._locked_at = None
                raise
            with self._lock:
                self._locked_at = None
            return answer

    def _locked(self, locked_at: float) -> KeyringUnavailable:
        described = self.description
        return KeyringUnavailable(f"{capitalized(described)} is locked.", keyring=described,
                                  locked=True, retry_at=locked_at + KEYRING_LOCKED_PAUSE)

    def failed(self) -> KeyringUnavailable:
        """The failure that turned the keyring off, as an exception."""
        detail = self._failure
        return KeyringUnavailable(f"{capitalized(self.description)} failed ({detail}).",
                                  keyring=self.description, locked=False,
                                  detail=detail)

    def backend(self) -> Any:
        if self._backend is None:
            # costs tens of milliseconds: only when a keyring is needed
            from spyglass.core.credentials.keyring_import import keyring

            self._backend = keyring.get_keyring()
            try:
                self._chosen = keyring.core.load_env() is not None \
                    or keyring.core.load_config() is not None
            except Exception:  # a setting keyring itself could not load
                self._chosen = False
        return self._backend

    def writing_backend(self) -> Any:
        """The backend :meth:`CredentialStore.save` writes to (a chainer's first)."""
        backend = self.backend()
        chained = getattr(backend, "backends", None)
        return chained[0] if chained else backend

    @staticmethod
    def _unencrypted(backend: Any) -> bool:
        """Whether ``backend`` keeps secrets readable in a file (keyrings.alt's plain-text one)."""
        return "plaintext" in type(backend).__name__.lower()

    @property
    def description(self) -> str:
        """Where :meth:`CredentialStore.save` puts credentials, for a sentence: "the system
        keyring", or the backend by name (and its file) where the keyring package was set
        up to use one that is not the system's (keyrings.alt's plain-text file, say)."""
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
        """The unencrypted keyring :meth:`CredentialStore.save` gives nothing because nobody
        chose it (keyring fell back to keyrings.alt's readable file), for a sentence ("the
        keyring backend PlaintextKeyring (FILE, unencrypted)"); None otherwise. What an
        earlier save put there is still found, and :meth:`CredentialStore.forget` still
        removes it."""
        if not self.usable or self._chosen \
                or not self._unencrypted(self.writing_backend()):
            return None
        return self.description

    @property
    def backend_setting(self) -> str:
        """The ``module.Class`` keyring's ``PYTHON_KEYRING_BACKEND`` takes for the backend
        :meth:`CredentialStore.save` writes to (to choose a passed-over one)."""
        backend = self.writing_backend()
        return f"{type(backend).__module__}.{type(backend).__qualname__}"

    def _probe(self) -> bool:
        from spyglass.core.credentials.keyring_import import keyring

        try:
            backend = self.backend()
            if isinstance(backend, keyring.backends.fail.Keyring | keyring.backends.null.Keyring):
                log.info("No system keyring (%s); credentials are kept for the session only.",
                         type(backend).__name__)
                return False
            if isinstance(backend, keyring.backends.chainer.ChainerBackend) and not list(
                backend.backends
            ):
                log.info("No system keyring to chain; credentials are kept for the session only.")
                return False
            self.ask(lambda probed: probed.get_password(KEYRING_SERVICE, _KEYRING_PROBE_USER))
        except KeyringUnavailable:  # locked: there is a keyring, asked again later
            return True
        except Exception as exc:  # any backend error
            with self._lock:
                self._failure = f"{type(exc).__name__}: {exc}"
            # (no "kept for the session only": a one-shot command keeps nothing at all)
            log.warning("%s cannot be used (%s: %s); credentials are neither read from it "
                        "nor saved in it.", capitalized(self.description),
                        type(exc).__name__, exc)
            return False
        return True

    def note_failure(self, exc: BaseException, what: str, secrets: tuple[str, ...]) -> None:
        detail = f"{type(exc).__name__}: {scrubbed(str(exc), secrets)}"
        with self._lock:
            self._usable = False
            self._failure = detail
        log.warning("%s could not %s (%s); credentials are neither read from it nor saved "
                    "in it from now on.", capitalized(self.description), what, detail)

    def get(self, registry: str) -> Credentials | None:
        """The keyring's credentials for ``registry``; None when it has none, or there is
        no keyring, or it failed. Raises :class:`KeyringUnavailable` when it is locked."""
        if not self.usable:
            return None
        try:
            stored = self.ask(lambda backend: backend.get_password(KEYRING_SERVICE, registry))
        except KeyringUnavailable:
            raise
        except Exception as exc:  # any backend error
            self.note_failure(exc, f"read the credentials for {registry}", ())
            return None
        if stored is None:
            return None
        if not isinstance(stored, str):
            log.warning("Ignoring the keyring entry for %s: it is not text.", registry)
            return None
        self._listed(registry)
        return _decode_keyring_entry(registry, stored)

    def _listed(self, registry: str) -> None:
        """Make sure the index lists ``registry``, whose entry was just read, once per
        process: a login made before Spyglass kept an index (or one the index lost) is
        then found by ``logout --all``. Not in a keyring nobody chose: it is given
        nothing new."""
        with self._lock:
            if registry in self._seen:
                return
            self._seen.add(registry)
        try:
            if self.passed_over is None and registry not in self.indexed():
                self.index(add=registry)
        except Exception as exc:  # (locked too) a convenience: the entry was read all the same
            log.info("The keyring's list of registries was not looked at (%s).",
                     type(exc).__name__)

    def file_entries(self) -> list[str]:
        """The hosts a keyring kept in a file has Spyglass entries for, read from the file
        (keyrings.alt's file backends: an INI file, a section per service); [] for any
        other keyring, which cannot be listed. What ``logout --all`` removes besides the
        index: logins made before there was one."""
        backend = self.writing_backend()
        path = getattr(backend, "file_path", None)
        if not type(backend).__module__.startswith("keyrings.alt.") or not isinstance(path,
                                                                                      str):
            return []
        import configparser
        import importlib

        try:
            escaping = importlib.import_module("keyrings.alt.escape")  # (untyped)
            escape, unescape = escaping.escape, escaping.unescape
            parser = configparser.RawConfigParser()
            parser.optionxform = str  # type: ignore[assignment,method-assign]
            parser.read(path, encoding="utf-8")
            section = escape(KEYRING_SERVICE)
            names = parser.options(section) if parser.has_section(section) else []
            hosts = [unescape(name) for name in names]
        except Exception as exc:  # any trouble: the index and the window's hosts remain
            log.info("The keyring file %s could not be listed (%s).", path,
                     type(exc).__name__)
            return []
        return [host for host in hosts
                if host not in (_KEYRING_INDEX_USER, _KEYRING_PROBE_USER)]

    def forget(self, registry: str) -> bool:
        """Remove the keyring's entry for ``registry``; True when there was one. Raises
        :class:`KeyringUnavailable` when the keyring is locked or failed."""
        if not self.usable:
            if self._failure:
                raise self.failed()
            return False
        try:
            found = self.ask(lambda backend: backend.get_password(KEYRING_SERVICE,
                                                                  registry)) is not None
            if found:
                self.ask(lambda backend: backend.delete_password(KEYRING_SERVICE, registry))
        except _password_delete_error():
            return False  # gone between the two calls
        except KeyringUnavailable:
            raise
        except Exception as exc:  # any backend error
            self.note_failure(exc, f"remove the credentials for {registry}", ())
            raise self.failed() from None
        self.index(remove=registry)  # (also a host whose entry went another way)
        return found

    def indexed(self) -> list[str]:
        """The hosts the keyring's index lists (none when it has none, or it is not a
        list of names). Raises :class:`KeyringUnavailable` when the keyring is locked
        or failed."""
        if not self.usable:
            if self._failure:
                raise self.failed()
            return []
        try:
            stored = self.ask(lambda backend: backend.get_password(KEYRING_SERVICE,
                                                                   _KEYRING_INDEX_USER))
        except KeyringUnavailable:
            raise
        except Exception as exc:  # any backend error: whether it lists hosts is not known
            detail = f"{type(exc).__name__}: {exc}"
            raise KeyringUnavailable(detail, keyring=self.description, locked=False,
                                     detail=detail) from None
        try:
            hosts = gojson.loads(stored) if stored else []
        except (TypeError, ValueError):  # not JSON: an index is a convenience
            return []
        return [h for h in hosts if isinstance(h, str)] if isinstance(hosts, list) else []

    def index(self, *, add: str | None = None, remove: str | None = None) -> None:
        """Add ``add`` to, or remove ``remove`` from, the keyring's index of hosts: read,
        changed and written under a lock of this process and a file lock between
        processes (logins run at once from a script would lose each other's hosts)."""
        with self._index_lock, _file_lock(_INDEX_LOCK):
            try:
                hosts = self.indexed()
                changed = [h for h in hosts if h != remove] + (
                    [add] if add is not None and add not in hosts else [])
                if changed == hosts:
                    return
                if changed:
                    self.ask(lambda backend: backend.set_password(
                        KEYRING_SERVICE, _KEYRING_INDEX_USER, json.dumps(changed)))
                else:
                    self.ask(lambda backend: backend.delete_password(KEYRING_SERVICE,
                                                                     _KEYRING_INDEX_USER))
            except Exception as exc:  # any backend error: the credentials themselves are
                log.info("The keyring's list of registries was not updated (%s).",
                         type(exc).__name__)


def _decode_keyring_entry(registry: str, stored: str) -> Credentials | None:
    """A keyring entry: JSON ``{"username", "password"[, "identity_token"]}``.

    An entry that is not JSON (put there by hand with ``keyring set spyglass HOST``)
    is taken as a bare token; so is a password with no user name (a token the window
    was given alone): see :func:`~spyglass.core.credentials.token_alone`.
    """
    if not stored.lstrip().startswith("{"):
        return token_alone(Credentials("", stored, source="keyring"))
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
    return token_alone(Credentials(username, password, identity_token=token or None,
                                   source="keyring"))



_INDEX_LOCK: Final = "keyring-hosts.lock"
"""Held around the read, change and write of the keyring's index of hosts."""
_KEYRING_FILE_LOCK: Final = "keyring-file.lock"
"""Held around each call to a keyring kept in a file (taken inside :data:`_INDEX_LOCK`,
never the other way round)."""


@contextlib.contextmanager
def _file_lock(name: str) -> Iterator[None]:
    """An exclusive lock between processes, on the file ``name`` in the user's cache
    folder (the keyring's index of hosts, a keyring's file); where it cannot be had, none
    (the cache folder cannot be made, or is on a filesystem without locks)."""
    import fcntl

    from spyglass.core.cachedir import make_user_cache_folder

    try:  # (made only below an existing home folder or $XDG_CACHE_HOME)
        path = make_user_cache_folder() / name
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



def _password_delete_error() -> type[Exception]:
    from spyglass.core.credentials.keyring_import import keyring

    return keyring.errors.PasswordDeleteError
