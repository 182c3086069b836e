"""``spyglass login`` and ``logout`` take their host off the passwords a window is still
to remove (``forget_pending`` in the settings: a registry removed there, the window
closed before the keyring answered), so that the next window keeps a password saved
since (cli/forget_pending.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from spyglass.cli import main
from spyglass.core.credentials import Credentials
from spyglass.core.credentials.store import CredentialStore
from spyglass.core.settings_file import load_settings
from spyglass.core.transports import registry
from tests.helpers.keyrings import LockableKeyring
from tests.helpers.loopback_http import LoopbackServer

PASSWORD = "new-password-5e2c"


class _Anonymous(BaseHTTPRequestHandler):
    """A registry that asks for no credentials."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def host() -> Iterator[str]:
    with LoopbackServer() as server:
        server.start(_Anonymous)
        yield server.address


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> LockableKeyring:
    ring = LockableKeyring()
    store = CredentialStore(keyring_backend=ring, environ={"HOME": "/nonexistent"})
    monkeypatch.setitem(registry._stores, None, store)
    return ring


def settings_with(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **fields: object) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    settings = tmp_path / "spyglass" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({
        "version": 1, "first_run_done": True,
        "registries": [{"host": "kept.example.com", "username": "carol"}], **fields}))
    return settings


def login(host: str) -> int:
    return main(["login", host, "--creds", f"bob:{PASSWORD}"])


def test_a_login_takes_its_host_off_the_passwords_a_window_is_to_remove(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str,
        backend: LockableKeyring, capsys: pytest.CaptureFixture[str]) -> None:
    settings = settings_with(monkeypatch, tmp_path,
                             forget_pending=["other.example.com", host])
    assert login(host) == 0
    assert backend.stored(host) is not None
    loaded = load_settings(settings)
    assert loaded.forget_pending == ["other.example.com"]  # another's stays
    assert [entry.host for entry in loaded.registries] == ["kept.example.com"]
    assert PASSWORD not in settings.read_text() and "bob" not in settings.read_text()
    _out, err = capsys.readouterr()
    assert err.splitlines() == [f"spyglass: Saved the credentials for {host} in the keyring "
                                "backend LockableKeyring; the registry asks for none, so "
                                "they were not checked."], err


def test_a_login_leaves_a_settings_file_without_that_host_as_it_is(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str,
        backend: LockableKeyring) -> None:
    settings = settings_with(monkeypatch, tmp_path, forget_pending=["other.example.com"])
    before = settings.read_bytes()
    assert login(host) == 0
    assert settings.read_bytes() == before


def test_a_newer_spyglass_settings_file_is_not_rewritten_and_the_login_says_so(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str,
        backend: LockableKeyring, capsys: pytest.CaptureFixture[str]) -> None:
    settings = settings_with(monkeypatch, tmp_path, forget_pending=[host])
    settings.write_text(settings.read_text().replace('"version": 1', '"version": 99'))
    before = settings.read_bytes()
    assert login(host) == 0  # logged in: only the window's note could not be taken off
    assert backend.stored(host) is not None
    assert settings.read_bytes() == before
    _out, err = capsys.readouterr()
    said = err.splitlines()[-1]
    assert "newer" in said and said.endswith(
        f"A Spyglass window closed before the keyring had removed the password for {host} "
        "(a registry removed there), so the next window to start removes the one just "
        "saved: log in again once the settings can be saved."), err


def test_a_logout_takes_its_host_off_too(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, backend: LockableKeyring) -> None:
    settings = settings_with(monkeypatch, tmp_path,
                             forget_pending=["gone.example.com", "other.example.com"])
    store = registry._stores[None]
    store.save("gone.example.com", Credentials("u", "pw"))
    assert main(["logout", "gone.example.com"]) == 0
    assert load_settings(settings).forget_pending == ["other.example.com"]
