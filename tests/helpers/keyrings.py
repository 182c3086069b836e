"""Keyring backends that lock, as GNOME Keyring's and KWallet's do.

:class:`LockableKeyring` keeps its entries in memory; while :attr:`locked`, every call
raises ``keyring.errors.KeyringLocked``, as keyring's Secret Service and KWallet
backends do when their unlock prompt is dismissed. :attr:`calls` counts the calls:
each one made to a locked system keyring shows the user a prompt.

:class:`FileKeyring` is the same over a JSON file, for a ``spyglass`` run in a
subprocess (``PYTHON_KEYRING_BACKEND=tests.helpers.keyrings.FileKeyring``, with the
repository root on ``PYTHONPATH``): ``$SPYGLASS_TEST_KEYRING`` names the file, and the
keyring is locked while ``$SPYGLASS_TEST_KEYRING_LOCKED`` is ``1``.

:class:`GatedKeyring` waits, as one does while its unlock prompt is not answered yet;
:class:`RefusingKeyring` refuses a write, as KWallet does when its prompt is cancelled.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import keyring.backend
import keyring.errors


class LockableKeyring(keyring.backend.KeyringBackend):
    """A keyring in memory that can be locked (see the module docstring)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, *, locked: bool = False) -> None:
        super().__init__()
        self.locked = locked
        self.calls = 0
        self._entries: dict[str, str] = {}

    def _load(self) -> dict[str, str]:
        return self._entries

    def _save(self, entries: dict[str, str]) -> None:
        self._entries = entries

    def _check(self) -> None:
        self.calls += 1
        if self.locked:
            raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def get_password(self, service: str, username: str) -> str | None:
        self._check()
        return self._load().get(f"{service}|{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self._check()
        self._save({**self._load(), f"{service}|{username}": password})

    def delete_password(self, service: str, username: str) -> None:
        self._check()
        entries = self._load()
        if f"{service}|{username}" not in entries:
            raise keyring.errors.PasswordDeleteError("No such password!")
        del entries[f"{service}|{username}"]
        self._save(entries)

    def stored(self, username: str) -> str | None:
        """What Spyglass's entry ``username`` holds, locked or not."""
        return self._load().get(f"spyglass|{username}")


class FileKeyring(LockableKeyring):
    """A :class:`LockableKeyring` over the JSON file ``$SPYGLASS_TEST_KEYRING``, locked while
    ``$SPYGLASS_TEST_KEYRING_LOCKED`` is ``1``."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__(locked=os.environ.get("SPYGLASS_TEST_KEYRING_LOCKED") == "1")
        self.path = path if path is not None else Path(os.environ["SPYGLASS_TEST_KEYRING"])

    def _load(self) -> dict[str, str]:
        try:
            entries: dict[str, str] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return entries

    def _save(self, entries: dict[str, str]) -> None:
        self.path.write_text(json.dumps(entries), encoding="utf-8")


class FailingKeyring(LockableKeyring):
    """A :class:`LockableKeyring` whose every call raises ``RuntimeError`` while
    :attr:`failing` (a keyring that is set up, but broken: not locked)."""

    def __init__(self, *, failing: bool = True) -> None:
        super().__init__()
        self.failing = failing

    def _check(self) -> None:
        super()._check()
        if self.failing:
            raise RuntimeError("backend exploded")


class GatedKeyring(LockableKeyring):
    """A :class:`LockableKeyring` whose calls wait while :attr:`gate` is clear, as a system
    keyring's do while its unlock prompt waits for an answer (at most :attr:`longest`
    seconds, so that a test that forgets to open it does not hang)."""

    longest = 30.0

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()

    def _check(self) -> None:
        self.gate.wait(self.longest)
        super()._check()


class RefusingKeyring(LockableKeyring):
    """A :class:`LockableKeyring` that refuses the next :attr:`refusals` writes with
    ``PasswordSetError``, as KWallet does when its prompt is cancelled."""

    def __init__(self, refusals: int = 1) -> None:
        super().__init__()
        self.refusals = refusals

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.refusals and not username.startswith("spyglass:"):
            self.refusals -= 1
            raise keyring.errors.PasswordSetError("Cancelled by user")
        super().set_password(service, username, password)
