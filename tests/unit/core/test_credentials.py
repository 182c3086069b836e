"""Credentials: lookup order, auth-file formats, credential helpers, the keyring and the session.

Every test builds its own environment mapping (HOME, XDG folders, DOCKER_CONFIG,
PATH) under ``tmp_path`` and hands it to the store, so nothing of the user's or
the test session's environment is read. Credential helpers are real executable
``#!/bin/sh`` scripts on that PATH.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.errors
import pytest
from keyrings.alt.file import PlaintextKeyring

from spyglass.core.credentials import (
    Credentials,
    authorization_secrets,
    basic_secret,
    canonical_host,
    helpers,
    keyring_store,
    parse_creds,
    scrubbed,
)
from spyglass.core.credentials.keyring_store import KEYRING_SERVICE, KeyringUnavailable
from spyglass.core.credentials.store import CredentialStore
from spyglass.core.errors import SpyglassError
from tests.helpers.keyrings import LockableKeyring

HOST = "registry.example.com"
SECRET = "S3cr3t-never-printed-4711"

HELPER = r"""#!/bin/sh
# A docker-credential-helpers "get", as docker-credential-pass answers it.
[ "$1" = get ] || { echo "unexpected action: $1" >&2; exit 2; }
read -r url
[ -n "$HELPER_LOG" ] && printf '%s\n' "$url" >> "$HELPER_LOG"
case "$url" in
  registry.example.com)
    echo '{"ServerURL":"registry.example.com","Username":"helper-user","Secret":"helper-pw"}' ;;
  token.example.com)
    echo '{"ServerURL":"token.example.com","Username":"<token>","Secret":"helper-refresh"}' ;;
  https://index.docker.io/v1/)
    echo '{"ServerURL":"https://index.docker.io/v1/","Username":"hub-user","Secret":"hub-pw"}' ;;
  *)
    echo "credentials not found in native keychain"; exit 1 ;;
esac
"""


# ----------------------------------------------------------------------------- helpers


class Env:
    """A private environment: folders under tmp_path and the mapping that names them."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.runtime = root / "run"
        self.config = root / "config"
        self.docker = root / "docker"
        self.bin = root / "bin"
        for folder in (self.home, self.runtime, self.config, self.docker, self.bin):
            folder.mkdir(mode=0o700)
        self.helper_log = root / "helper.log"
        self.environ: dict[str, str] = {
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "XDG_CONFIG_HOME": str(self.config),
            "DOCKER_CONFIG": str(self.docker),
            "PATH": os.pathsep.join([str(self.bin), "/usr/bin", "/bin"]),
            "HELPER_LOG": str(self.helper_log),
        }

    @property
    def runtime_auth(self) -> Path:
        return self.runtime / "containers" / "auth.json"

    @property
    def config_auth(self) -> Path:
        return self.config / "containers" / "auth.json"

    @property
    def docker_config(self) -> Path:
        return self.docker / "config.json"

    @property
    def dockercfg(self) -> Path:
        return self.home / ".dockercfg"

    def helper(self, name: str, script: str = HELPER) -> Path:
        path = self.bin / f"docker-credential-{name}"
        path.write_text(script, encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return path

    def helper_calls(self) -> list[str]:
        if not self.helper_log.exists():
            return []
        return self.helper_log.read_text(encoding="utf-8").splitlines()

    def store(self, backend: Any | None = None, **kwargs: Any) -> CredentialStore:
        return CredentialStore(
            environ=self.environ,
            keyring_backend=keyring.backends.fail.Keyring() if backend is None else backend,
            **kwargs,
        )


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def auths(**entries: str) -> dict[str, Any]:
    """``{"auths": {host: {"auth": base64(user:pass)}}}``; keys given as host="user:pass"."""
    return {"auths": {host: {"auth": b64(up)} for host, up in entries.items()}}


def one_auth(key: str, user_pass: str) -> dict[str, Any]:
    return {"auths": {key: {"auth": b64(user_pass)}}}


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


@pytest.fixture
def plaintext_keyring(tmp_path: Path) -> PlaintextKeyring:
    """A real keyring backend (keyrings.alt) whose file lives in tmp_path."""
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring" / "keyring_pass.cfg")
    return backend


# ----------------------------------------------------------------------------- Credentials


def test_credentials_repr_and_str_leave_secrets_out() -> None:
    creds = Credentials("alice", SECRET, identity_token=SECRET + "-token", source="keyring")
    for text in (repr(creds), str(creds), f"{creds}", f"{creds!r}"):
        assert SECRET not in text
        assert text == "Credentials(username='alice', source='keyring')"
    assert SECRET not in str([creds]) and SECRET not in str({"creds": creds})


def test_parse_creds_user_and_password() -> None:
    creds = parse_creds("alice:pa:ss")
    assert (creds.username, creds.password, creds.source) == ("alice", "pa:ss", "command line")
    assert creds.identity_token is None


@pytest.mark.parametrize("text", ["alice", "alice:"])
def test_parse_creds_without_password_leaves_the_prompt_to_the_caller(text: str) -> None:
    creds = parse_creds(text)
    assert (creds.username, creds.password) == ("alice", "")


def test_parse_creds_empty_is_an_error_sentence() -> None:
    with pytest.raises(SpyglassError, match=r"--creds value is empty.*USERNAME\[:PASSWORD\]"):
        parse_creds("")


def test_parse_creds_without_username_does_not_repeat_the_password() -> None:
    with pytest.raises(SpyglassError, match="no username") as info:
        parse_creds(":" + SECRET)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("registry.example.com", "registry.example.com"),
        ("Registry.Example.COM:5000", "registry.example.com:5000"),
        ("https://registry.example.com:5000/v2/", "registry.example.com:5000"),
        ("http://localhost:5000/v1/", "localhost:5000"),
        ("docker.io", "docker.io"),
        ("index.docker.io", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("https://index.docker.io/v1/", "docker.io"),
    ],
)
def test_canonical_host(given: str, expected: str) -> None:
    assert canonical_host(given) == expected


@pytest.mark.parametrize("bad", ["", "  ", "https://"])
def test_canonical_host_rejects_empty(bad: str) -> None:
    with pytest.raises(SpyglassError, match="is not a registry host"):
        canonical_host(bad)


@pytest.mark.parametrize(("typed", "bracketed"), [
    ("::1:45601", "[::1]:45601"),  # (the Add Registry dialog's field says it too)
    ("http://::1:45601/v2/", "[::1]:45601"),
    ("fe80::1", "[fe80::1]"),
])
def test_canonical_host_says_an_ipv6_address_goes_in_brackets(
    typed: str, bracketed: str
) -> None:
    with pytest.raises(SpyglassError) as caught:
        canonical_host(typed)
    assert str(caught.value) == (
        f'"{typed}" is not a registry host; expected a name such as "registry.example.com" '
        f'or "localhost:5000"; an IPv6 address goes in brackets: {bracketed}.')


# ----------------------------------------------------------------------------- lookup order


def test_each_source_shadows_the_next(env: Env, plaintext_keyring: PlaintextKeyring) -> None:
    write_json(env.runtime_auth, one_auth(HOST, "runtime:pw1"))
    write_json(env.config_auth, one_auth(HOST, "config:pw2"))
    write_json(env.docker_config, one_auth(HOST, "docker:pw3"))
    write_json(env.dockercfg, {f"https://{HOST}/v1/": {"auth": b64("legacy:pw4")}})
    store = env.store(plaintext_keyring)
    assert store.save(HOST, Credentials("keyring-user", "pw0")) == "keyring"

    given = Credentials("given", "pw", source="command line")
    assert store.lookup(HOST, given=given) is given

    found = store.lookup(HOST)
    assert found is not None
    assert (found.username, found.password, found.source) == ("keyring-user", "pw0", "keyring")

    assert store.forget(HOST) is True
    expected = [
        (env.runtime_auth, "runtime", "pw1"),
        (env.config_auth, "config", "pw2"),
        (env.docker_config, "docker", "pw3"),
        (env.dockercfg, "legacy", "pw4"),
    ]
    for path, user, password in expected:
        found = store.lookup(HOST)
        assert found is not None
        assert (found.username, found.password, found.source) == (user, password, str(path))
        path.unlink()
    assert store.lookup(HOST) is None


def test_session_shadows_the_files(env: Env) -> None:
    write_json(env.runtime_auth, one_auth(HOST, "runtime:pw1"))
    store = env.store()
    assert store.save(HOST, Credentials("session-user", "pw0", source="login dialog")) == "session"
    found = store.lookup(HOST)
    assert found is not None
    assert (found.username, found.source) == ("session-user", "session")
    assert store.forget(HOST) is True
    assert store.forget(HOST) is False
    found = store.lookup(HOST)
    assert found is not None and found.username == "runtime"


def test_registry_auth_file_replaces_the_default_files(env: Env, tmp_path: Path) -> None:
    # As skopeo --authfile / $REGISTRY_AUTH_FILE: the default files are not read at all.
    write_json(env.runtime_auth, one_auth(HOST, "runtime:pw1"))
    write_json(env.docker_config, one_auth("other.example.com", "docker:pw3"))
    from_env = write_json(tmp_path / "env-auth.json", one_auth(HOST, "from-env:pw"))
    env.environ["REGISTRY_AUTH_FILE"] = str(from_env)
    store = env.store()
    found = store.lookup(HOST)
    assert found is not None
    assert (found.username, found.source) == ("from-env", str(from_env))
    assert store.lookup("other.example.com") is None

    given_file = write_json(tmp_path / "given-auth.json", one_auth(HOST, "from-param:pw"))
    found = env.store(authfile=given_file).lookup(HOST)
    assert found is not None and found.username == "from-param"
    # A named file that does not exist is an empty file, as in containers/image.
    assert env.store(authfile=tmp_path / "missing.json").lookup(HOST) is None


def test_registry_auth_file_comes_before_the_keyring(
    env: Env, tmp_path: Path, plaintext_keyring: PlaintextKeyring
) -> None:
    # $REGISTRY_AUTH_FILE is chosen for every program: an older `spyglass login` in the
    # keyring must not win over it (skopeo reads only that file); the keyring still
    # answers for the hosts the file does not name, and the default files stay unread
    env.store(plaintext_keyring).save(HOST, Credentials("from-keyring", SECRET))
    env.store(plaintext_keyring).save("other.example.com", Credentials("other-keyring", SECRET))
    write_json(env.docker_config, one_auth("third.example.com", "docker:pw3"))
    from_env = write_json(tmp_path / "env-auth.json", one_auth(HOST, "from-env:pw"))
    env.environ["REGISTRY_AUTH_FILE"] = str(from_env)
    store = env.store(plaintext_keyring)
    found = store.lookup(HOST)
    assert found is not None and (found.username, found.entry) == ("from-env", HOST)
    found = store.lookup("other.example.com")
    assert found is not None and found.username == "other-keyring"
    assert store.lookup("third.example.com") is None


def test_forget_all_removes_every_host_saved_and_those_named(
    env: Env, plaintext_keyring: PlaintextKeyring
) -> None:
    store = env.store(plaintext_keyring)
    for host in ("one.example.com", "two.example.com:5000"):
        store.save(host, Credentials("u", SECRET))
    # an entry an older Spyglass saved, before the index: found through the window's list
    plaintext_keyring.set_password("spyglass", "old.example.com",
                                   '{"username": "u", "password": "pw"}')
    store.forget("two.example.com:5000")  # leaves the index too
    assert store.forget_all(also=["old.example.com", "never.example.com"]) == [
        "one.example.com", "old.example.com"]
    assert all(store.lookup(h) is None for h in ("one.example.com", "old.example.com"))
    assert plaintext_keyring.get_password("spyglass", "spyglass:hosts") is None
    assert store.forget_all() == []


class SlowKeyring(keyring.backend.KeyringBackend):
    """A keyring that keeps each entry whole (as a system keyring does) and answers
    slowly, so that writers at once overlap."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        time.sleep(0.02)
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        time.sleep(0.02)
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username))


def test_logins_at_once_all_stay_listed_for_logout_all(env: Env) -> None:
    # each store stands for a process: only the lock file keeps their index writes apart
    backend = SlowKeyring()
    hosts = [f"reg{n}.example.com" for n in range(4)]
    threads = [threading.Thread(target=env.store(backend).save,
                                args=(host, Credentials("u", SECRET))) for host in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(env.store(backend).forget_all()) == hosts
    assert backend.entries == {}  # the index went with its last host


def test_a_missing_helper_is_warned_about_once(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    write_json(env.docker_config, {"credsStore": "absent-helper"})
    with caplog.at_level(logging.WARNING, logger="spyglass"):
        for _ in range(3):
            assert env.store().lookup(HOST) is None
    assert caplog.text.count("docker-credential-absent-helper") == 1


def test_an_explicit_authfile_is_the_only_place_looked_in(
    env: Env, tmp_path: Path, plaintext_keyring: PlaintextKeyring
) -> None:
    # --authfile: not the keyring, not the session either (a check that the file works
    # must not pass on what `spyglass login` stored), as containers/image reads that file
    env.store(plaintext_keyring).save(HOST, Credentials("from-keyring", SECRET))
    given = write_json(tmp_path / "given.json", one_auth(HOST, "from-file:pw"))
    found = env.store(plaintext_keyring, authfile=given).lookup(HOST)
    assert found is not None and found.username == "from-file"
    empty = write_json(tmp_path / "empty.json", {"auths": {}})
    assert env.store(plaintext_keyring, authfile=empty).lookup(HOST) is None
    found = env.store(plaintext_keyring).lookup(HOST)  # without it: the keyring
    assert found is not None and found.username == "from-keyring"


@pytest.mark.parametrize("pasted", ["docker://Registry.Example.com:5000",
                                    "https://registry.example.com:5000/v2/"])
def test_a_pasted_host_is_the_host(pasted: str) -> None:
    assert canonical_host(pasted) == "registry.example.com:5000"


@pytest.mark.parametrize("host", ["spyglass:hosts", "127.0.0.1:5000:6000", "::1",
                                  "host:\u0665\u0660\u0660\u0660", "host:",
                                  "[::1]:5000:6000", "[::1]x:5000", "[::1:5000"])
def test_what_is_no_registry_host_is_said_so(host: str) -> None:
    with pytest.raises(SpyglassError, match="is not a registry host"):
        canonical_host(host)


@pytest.mark.parametrize(("host", "known"), [("[::1]:5000", "[::1]:5000"), ("[::1]", "[::1]"),
                                             ("LocalHost:5000", "localhost:5000")])
def test_hosts_with_ports_and_ipv6_addresses_are_hosts(host: str, known: str) -> None:
    assert canonical_host(host) == known


def test_the_keyrings_list_is_kept_where_no_lock_can_be_had(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # a cache folder on NFS without locks: the login goes on without one
    import fcntl

    def no_locks(*_args: object) -> None:
        raise OSError(37, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    backend = SlowKeyring()
    env.store(backend).save(HOST, Credentials("u", SECRET))
    assert env.store(backend).forget_all() == [HOST]


def test_docker_config_variable_is_respected(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    write_json(elsewhere / "config.json", one_auth(HOST, "elsewhere:pw"))
    write_json(env.home / ".docker" / "config.json", one_auth(HOST, "home:pw"))
    env.environ["DOCKER_CONFIG"] = str(elsewhere)
    found = env.store().lookup(HOST)
    assert found is not None and found.username == "elsewhere"
    del env.environ["DOCKER_CONFIG"]
    found = env.store().lookup(HOST)
    assert found is not None and found.username == "home"

    # With no environ given, the process environment is read (conftest sandboxes it).
    monkeypatch.setenv("DOCKER_CONFIG", str(elsewhere))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    found = CredentialStore(home=env.home).lookup(HOST)
    assert found is not None and found.username == "elsewhere"


def test_default_store_under_the_test_sandbox_has_no_keyring() -> None:
    # conftest sets PYTHON_KEYRING_BACKEND to the fail backend.
    store = CredentialStore()
    assert store.keyring_usable is False
    assert store.save(HOST, Credentials("alice", "pw")) == "session"


# ----------------------------------------------------------------------------- auth file formats


@pytest.mark.parametrize("host", ["docker.io", "index.docker.io", "registry-1.docker.io"])
def test_docker_hub_legacy_key_counts_for_docker_io(env: Env, host: str) -> None:
    write_json(env.docker_config, one_auth("https://index.docker.io/v1/", "hubber:pw"))
    found = env.store().lookup(host)
    assert found is not None and (found.username, found.password) == ("hubber", "pw")


def test_docker_io_key_as_podman_writes_it(env: Env) -> None:
    write_json(env.runtime_auth, one_auth("docker.io", "podman-user:pw"))
    found = env.store().lookup("registry-1.docker.io")
    assert found is not None and found.username == "podman-user"


@pytest.mark.parametrize(
    ("key", "host"),
    [
        ("https://registry.example.com:5000/v2/", "registry.example.com:5000"),
        ("http://registry.example.com:5000", "registry.example.com:5000"),
        ("https://registry.example.com/v1/", "registry.example.com"),
        ("registry.example.com:5000", "registry.example.com:5000"),
    ],
)
def test_url_keys_are_normalized_to_hosts(env: Env, key: str, host: str) -> None:
    write_json(env.docker_config, one_auth(key, "alice:pw"))
    found = env.store().lookup(host)
    assert found is not None and found.username == "alice"


def test_port_is_part_of_the_host(env: Env) -> None:
    write_json(env.docker_config, one_auth("registry.example.com:5000", "alice:pw"))
    assert env.store().lookup(HOST) is None


def test_exact_key_wins_over_a_normalized_one(env: Env) -> None:
    write_json(env.docker_config, auths(**{f"https://{HOST}/v1/": "old:pw", HOST: "new:pw"}))
    found = env.store().lookup(HOST)
    assert found is not None and found.username == "new"


def test_namespace_keys(env: Env) -> None:
    write_json(env.runtime_auth, auths(**{f"{HOST}/team": "team:pw", HOST: "host:pw"}))
    store = env.store()
    found = store.lookup(HOST)
    assert found is not None and found.username == "host"
    found = store.lookup(HOST, repository="team/app")
    assert found is not None and found.username == "team"
    found = store.lookup(HOST, repository="other/app")
    assert found is not None and found.username == "host"
    # A namespace key alone does not answer for the whole host.
    write_json(env.runtime_auth, one_auth(f"{HOST}/team", "team:pw"))
    assert store.lookup(HOST) is None


@pytest.mark.parametrize(
    ("auth", "user", "password"),
    [
        (b64("alice:pa:ss:word"), "alice", "pa:ss:word"),
        (b64("alice:pw\x00\x00"), "alice", "pw"),
        (b64("alice:pw").rstrip("="), "alice", "pw"),
        (b64("ålice:pässwörd"), "ålice", "pässwörd"),
    ],
)
def test_auth_is_base64_of_user_colon_password(
    env: Env, auth: str, user: str, password: str
) -> None:
    write_json(env.runtime_auth, {"auths": {HOST: {"auth": auth}}})
    found = env.store().lookup(HOST)
    assert found is not None and (found.username, found.password) == (user, password)


def test_auth_that_is_not_utf8_goes_on_as_its_bytes(env: Env) -> None:
    """What ``skopeo login`` writes under a Latin-1 locale (``zo\\xeb:p\\xe4ss``) is read,
    and the Basic header carries those bytes, as skopeo sends them (it was refused as
    "not base64")."""
    from spyglass.core.transports.registry.auth import _basic

    raw = b"zo\xeb:p\xe4ss"
    write_json(env.runtime_auth, {"auths": {HOST: {"auth": base64.b64encode(raw).decode()}}})
    found = env.store().lookup(HOST)
    assert found is not None
    assert _basic(found.username, found.password) == "Basic " + base64.b64encode(raw).decode()


def test_auth_without_colon_is_skipped_with_a_warning(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    write_json(env.runtime_auth, {"auths": {HOST: {"auth": b64(SECRET)}}})
    write_json(env.docker_config, one_auth(HOST, "next:pw"))
    with caplog.at_level(logging.DEBUG, logger="spyglass"):
        found = env.store().lookup(HOST)
    assert found is not None and found.username == "next"
    assert 'no ":"' in caplog.text
    assert SECRET not in caplog.text


def test_identity_token(env: Env) -> None:
    # What `docker login` writes for an OAuth2 login: "user:" plus the refresh token.
    write_json(env.docker_config, {"auths": {
        HOST: {"auth": b64("alice:"), "identitytoken": "refresh-me"},
        "token-only.example.com": {"identitytoken": "refresh-too"},
    }})
    store = env.store()
    found = store.lookup(HOST)
    assert found is not None
    assert (found.username, found.password, found.identity_token) == ("alice", "", "refresh-me")
    found = store.lookup("token-only.example.com")
    assert found is not None
    assert (found.username, found.password, found.identity_token) == ("", "", "refresh-too")


def test_empty_entry_without_a_store_is_no_answer(env: Env) -> None:
    write_json(env.runtime_auth, {"auths": {HOST: {}}})
    write_json(env.docker_config, one_auth(HOST, "next:pw"))
    found = env.store().lookup(HOST)
    assert found is not None and found.username == "next"


def test_files_without_auths_are_fine(env: Env) -> None:
    write_json(env.docker_config, {"psFormat": "table {{.ID}}", "auths": None})
    write_json(env.runtime_auth, {})
    assert env.store().lookup(HOST) is None


# ----------------------------------------------------------------------------- helpers


def test_cred_helpers_entry(env: Env) -> None:
    env.helper("test")
    write_json(env.docker_config, {
        "credHelpers": {HOST: "test", "token.example.com": "test"},
        "auths": {HOST: {"auth": b64("shadowed:pw")}},
    })
    store = env.store()
    found = store.lookup(HOST)
    assert found is not None
    assert (found.username, found.password) == ("helper-user", "helper-pw")
    assert found.source == "docker-credential-test"
    assert env.helper_calls() == [HOST]  # the host, on stdin; "get" as the argument

    found = store.lookup("token.example.com")
    assert found is not None
    assert (found.username, found.password, found.identity_token) == ("", "", "helper-refresh")


def test_cred_helper_not_found_moves_on_to_the_next_file(env: Env) -> None:
    env.helper("test")
    write_json(env.runtime_auth, {"credHelpers": {"unknown.example.com": "test"}})
    write_json(env.docker_config, one_auth("unknown.example.com", "from-file:pw"))
    found = env.store().lookup("unknown.example.com")
    assert found is not None and found.username == "from-file"
    assert env.helper_calls() == ["unknown.example.com"]


def test_creds_store(env: Env) -> None:
    env.helper("test")
    write_json(env.docker_config, {
        "credsStore": "test",
        "auths": {"https://index.docker.io/v1/": {}, HOST: {}},
    })
    store = env.store()
    found = store.lookup("docker.io")
    assert found is not None
    assert (found.username, found.password, found.source) == (
        "hub-user", "hub-pw", "docker-credential-test")
    assert env.helper_calls() == ["https://index.docker.io/v1/"]
    found = store.lookup(HOST)
    assert found is not None and found.username == "helper-user"
    assert store.lookup("unknown.example.com") is None  # "credentials not found"


def test_creds_store_tries_docker_io_after_the_legacy_hub_key(env: Env) -> None:
    env.helper("test")
    write_json(env.docker_config, {"credsStore": "test"})
    env.helper_log.unlink(missing_ok=True)
    env.helper("test", HELPER.replace("https://index.docker.io/v1/)", "docker.io)"))
    found = env.store().lookup("index.docker.io")
    assert found is not None and found.username == "hub-user"
    assert env.helper_calls() == ["https://index.docker.io/v1/", "docker.io"]


def test_real_auths_entry_is_used_before_the_creds_store(env: Env) -> None:
    env.helper("test")
    write_json(env.docker_config, {"credsStore": "test", **one_auth(HOST, "in-file:pw")})
    found = env.store().lookup(HOST)
    assert found is not None and found.username == "in-file"
    assert env.helper_calls() == []


def test_missing_cred_helper_is_an_error_naming_it(env: Env) -> None:
    write_json(env.docker_config, {"credHelpers": {HOST: "nothere"}})
    with pytest.raises(SpyglassError) as info:
        env.store().lookup(HOST)
    message = str(info.value)
    assert "docker-credential-nothere" in message
    assert str(env.docker_config) in message
    assert "was not found on PATH" in message


def test_missing_creds_store_is_an_error_only_where_an_entry_points_to_it(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    # A config.json copied from a Mac ("osxkeychain") must not block every registry.
    write_json(env.docker_config, {"credsStore": "osxkeychain", "auths": {HOST: {}}})
    store = env.store()
    with caplog.at_level(logging.WARNING, logger="spyglass"):
        assert store.lookup("public.example.com") is None
    assert "docker-credential-osxkeychain" in caplog.text
    with pytest.raises(SpyglassError, match=r"docker-credential-osxkeychain.*not found on PATH"):
        store.lookup(HOST)


def test_failing_helper_is_an_error_with_what_it_said(env: Env) -> None:
    env.helper("test", "#!/bin/sh\necho 'gpg: decryption failed: No secret key'\nexit 1\n")
    write_json(env.docker_config, {"credHelpers": {HOST: "test"}})
    with pytest.raises(SpyglassError) as info:
        env.store().lookup(HOST)
    assert str(info.value) == (
        f'The credential helper docker-credential-test (named by the "credHelpers" entry '
        f'"{HOST}" in {env.docker_config}) failed for {HOST}: it exited with status 1 and '
        'said "gpg: decryption failed: No secret key".'
    )


def test_helper_answering_nonsense_is_an_error(env: Env) -> None:
    env.helper("test", "#!/bin/sh\necho 'not json'\n")
    write_json(env.docker_config, {"credHelpers": {HOST: "test"}})
    with pytest.raises(SpyglassError, match='not the expected JSON object with "Username"'):
        env.store().lookup(HOST)


def test_helper_timeout(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(helpers, "HELPER_TIMEOUT", 0.3)
    env.helper("test", "#!/bin/sh\nexec sleep 30\n")
    write_json(env.docker_config, {"credHelpers": {HOST: "test"}})
    with pytest.raises(SpyglassError, match=r"did not answer within 0\.3 seconds"):
        env.store().lookup(HOST)


def test_helper_name_with_a_path_is_refused(env: Env) -> None:
    write_json(env.docker_config, {"credsStore": "../../bin/sh"})
    with pytest.raises(SpyglassError, match="is not a valid name"):
        env.store().lookup(HOST)


# ----------------------------------------------------------------------------- broken files


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"auths": {', "is not valid JSON"),
        ('{"auths": {"x', "is not valid JSON (Unterminated string starting at line 1, "
                          "column 12)"),
        ('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}",
         "is not valid JSON (nested too deeply at line 1, column 1)"),
        ("[]", "does not hold a JSON object"),
        ('{"auths": []}', '"auths" that is not an object'),
        ('{"auths": {"registry.example.com": "x"}}', "that is not an object"),
        ('{"auths": {"registry.example.com": {"auth": 1}}}', '"auth" in the "auths" entry'),
        ('{"auths": {"registry.example.com": {"auth": "%%%%"}}}', "is not base64"),
        ('{"credHelpers": ["test"]}', '"credHelpers" that is not an object'),
        ('{"credsStore": 1}', '"credsStore" that is not a helper name'),
    ],
)
def test_corrupt_auth_file_is_an_error_naming_it(env: Env, content: str, expected: str) -> None:
    env.runtime_auth.parent.mkdir(parents=True)
    env.runtime_auth.write_text(content, encoding="utf-8")
    write_json(env.docker_config, one_auth(HOST, "never-reached:pw"))
    with pytest.raises(SpyglassError, match=re.escape(expected)) as info:
        env.store().lookup(HOST)
    assert str(env.runtime_auth) in str(info.value)


def test_unreadable_auth_file_is_an_error(env: Env) -> None:
    env.runtime_auth.mkdir(parents=True)  # a folder where the file should be
    with pytest.raises(SpyglassError) as info:
        env.store().lookup(HOST)
    assert str(info.value) == (f'Cannot read the credentials file "{env.runtime_auth}": it '
                               "is a folder, not a file.")


def test_docker_config_naming_the_file_says_it_must_name_the_folder(env: Env) -> None:
    write_json(env.docker_config, one_auth(HOST, "alice:pw"))
    env.environ["DOCKER_CONFIG"] = str(env.docker_config)  # …/config.json, not its folder
    with pytest.raises(SpyglassError) as info:
        env.store().lookup(HOST)
    said = str(info.value)
    assert said == (f'DOCKER_CONFIG names the file "{env.docker_config}", but it must name a '
                    f'folder: the one holding config.json (here "{env.docker}"). Set it to '
                    "that folder, or unset it.")
    # a file of another name: no guess at the folder
    other = write_json(env.docker / "docker.json", one_auth(HOST, "alice:pw"))
    env.environ["DOCKER_CONFIG"] = str(other)
    with pytest.raises(SpyglassError) as info:
        env.store().lookup(HOST)
    assert str(info.value) == (f'DOCKER_CONFIG names the file "{other}", but it must name a '
                               "folder: the one holding config.json. Set it to that folder, "
                               "or unset it.")


def test_a_file_where_a_folder_of_the_path_should_be_is_named(env: Env) -> None:
    env.runtime.rmdir()
    env.runtime.write_text("not a folder")  # XDG_RUNTIME_DIR naming a file
    with pytest.raises(SpyglassError) as info:
        env.store().lookup(HOST)
    assert str(info.value) == (f'Cannot read the credentials file "{env.runtime_auth}": '
                               f'"{env.runtime}" is a file, not a folder.')


def test_an_auth_file_it_may_not_read_asks_for_its_permissions(
        env: Env, unprivileged_dir: Path) -> None:
    auth = write_json(unprivileged_dir / "auth.json", one_auth(HOST, "alice:pw"))
    auth.chmod(0)
    with pytest.raises(SpyglassError) as info:
        env.store(authfile=auth).lookup(HOST)
    assert str(info.value) == (f'Cannot read the credentials file "{auth}": Permission '
                               "denied. Fix its permissions or remove it.")


# ----------------------------------------------------------------------------- keyring


def test_plaintext_keyring_round_trip(env: Env, plaintext_keyring: PlaintextKeyring) -> None:
    store = env.store(plaintext_keyring)
    assert store.keyring_usable is True
    creds = Credentials("alice", "pw:with:colons", identity_token="refresh", source="dialog")
    assert store.save("https://Registry.Example.com/v2/", creds) == "keyring"

    stored = plaintext_keyring.get_password(KEYRING_SERVICE, HOST)
    assert json.loads(stored) == {
        "username": "alice", "password": "pw:with:colons", "identity_token": "refresh",
    }
    found = env.store(plaintext_keyring).lookup(HOST)  # a new store: nothing cached
    assert found == Credentials("alice", "pw:with:colons", identity_token="refresh",
                                source="keyring")
    assert store.forget(HOST) is True
    assert plaintext_keyring.get_password(KEYRING_SERVICE, HOST) is None
    assert store.lookup(HOST) is None
    assert store.forget(HOST) is False


def test_keyring_keys_docker_hub_by_docker_io(
    env: Env, plaintext_keyring: PlaintextKeyring
) -> None:
    store = env.store(plaintext_keyring)
    assert store.save("index.docker.io", Credentials("hubber", "pw")) == "keyring"
    assert plaintext_keyring.get_password(KEYRING_SERVICE, "docker.io") is not None
    found = store.lookup("registry-1.docker.io")
    assert found is not None and found.username == "hubber"


def test_keyring_entry_written_by_hand_is_a_bare_token(
    env: Env, plaintext_keyring: PlaintextKeyring
) -> None:
    plaintext_keyring.set_password(KEYRING_SERVICE, HOST, "just-a-token")
    found = env.store(plaintext_keyring).lookup(HOST)
    assert found is not None
    assert (found.username, found.password, found.source) == ("", "just-a-token", "keyring")


def test_broken_keyring_entry_is_ignored(
    env: Env, plaintext_keyring: PlaintextKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    plaintext_keyring.set_password(KEYRING_SERVICE, HOST, '{"username": 1, "password": "' +
                                   SECRET + '"}')
    write_json(env.docker_config, one_auth(HOST, "file:pw"))
    with caplog.at_level(logging.DEBUG, logger="spyglass"):
        found = env.store(plaintext_keyring).lookup(HOST)
    assert found is not None and found.username == "file"
    assert "Ignoring the keyring entry" in caplog.text
    assert SECRET not in caplog.text


class BrokenKeyring(keyring.backend.KeyringBackend):
    """A backend that works for reads and fails to write, like a locked collection."""

    priority = 1

    def __init__(self, fail_reads: bool = False) -> None:
        super().__init__()
        self.fail_reads = fail_reads

    def get_password(self, service: str, username: str) -> str | None:
        if self.fail_reads:
            raise keyring.errors.KeyringLocked("Failed to unlock the collection!")
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        # Some backends quote what they were given; ours must not pass that on.
        raise keyring.errors.PasswordSetError(f"cannot store {password!r}")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("locked")


def test_session_fallback_with_the_fail_backend(env: Env) -> None:
    store = env.store(keyring.backends.fail.Keyring())
    assert store.keyring_usable is False
    assert store.save(HOST, Credentials("alice", "pw")) == "session"
    found = store.lookup(HOST)
    assert found == Credentials("alice", "pw", source="session")
    assert store.forget(HOST) is True
    assert store.lookup(HOST) is None


def test_keyring_that_fails_to_write_falls_back_to_the_session(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    store = env.store(BrokenKeyring())
    usable_before = store.keyring_usable
    with caplog.at_level(logging.DEBUG, logger="spyglass"):
        assert store.save(HOST, Credentials("alice", SECRET)) == "session"
    # one write refused (KWallet's "Cancelled by user" is one) does not turn the keyring
    # off: the next save asks it again
    assert (usable_before, store.keyring_usable) == (True, True)
    assert "PasswordSetError" in caplog.text
    assert SECRET not in caplog.text
    why = store.why_not_saved(HOST)
    assert why is not None and not why.locked
    assert why.refused and why.state.startswith(
        "the keyring backend BrokenKeyring did not take the password (PasswordSetError: ")
    assert SECRET not in why.state
    found = store.lookup(HOST)
    assert found is not None and found.source == "session"


class FailingKeyring(keyring.backend.KeyringBackend):
    """A backend that fails every call, as a Secret Service without its D-Bus service."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")


def test_keyring_that_fails_when_probed_is_not_usable(env: Env) -> None:
    store = env.store(FailingKeyring())
    assert store.keyring_usable is False
    assert store.lookup(HOST) is None
    assert store.save(HOST, Credentials("alice", "pw")) == "session"
    why = store.why_not_saved(HOST)
    assert why is not None and not why.locked
    assert why.state == ("the keyring backend FailingKeyring failed (RuntimeError: "
                         "org.freedesktop.DBus.Error.ServiceUnknown)")
    # what it keeps cannot be known: not "nothing kept"
    with pytest.raises(KeyringUnavailable) as info:
        store.forget(HOST)
    assert str(info.value) == (
        f"Could not remove the stored credentials for {HOST}: the keyring backend "
        "FailingKeyring failed (RuntimeError: org.freedesktop.DBus.Error.ServiceUnknown).")
    assert store.lookup(HOST) is None  # the session's went


# ----------------------------------------------------------------------------- locked keyring


class Clock:
    """Stands in for the credentials module's ``time.monotonic``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from types import SimpleNamespace

    fake = Clock()
    monkeypatch.setattr(keyring_store, "time", SimpleNamespace(monotonic=fake))
    return fake


def saved_then_locked(env: Env) -> tuple[CredentialStore, LockableKeyring]:
    """A store whose keyring holds alice's credentials for HOST, then is locked."""
    backend = LockableKeyring()
    env.store(backend).save(HOST, Credentials("alice", SECRET))
    backend.locked = True
    return env.store(backend), backend


def test_a_locked_keyring_is_locked_not_missing_and_is_asked_again_later(
    env: Env, clock: Clock
) -> None:
    store, backend = saved_then_locked(env)
    assert store.keyring_usable  # there is one: it is locked
    with pytest.raises(KeyringUnavailable) as info:
        store.lookup(HOST)
    assert info.value.locked and store.keyring_locked
    assert str(info.value) == (
        f"The keyring backend LockableKeyring is locked, so the stored credentials for {HOST} "
        "could not be read. Unlock it and try again.")
    # asked once (the probe met the lock): not again for each lookup of the moment, each
    # of which would show the user the unlock prompt again
    asked = backend.calls
    for _ in range(5):
        with pytest.raises(KeyringUnavailable):
            store.lookup(HOST)
    assert backend.calls == asked
    # unlocked meanwhile: the next lookup, moments later, reads it, with no restart
    backend.locked = False
    clock.now += keyring_store.KEYRING_LOCKED_PAUSE
    found = store.lookup(HOST)
    assert found is not None and (found.username, found.source) == ("alice", "keyring")
    assert not store.keyring_locked


def test_a_locked_keyring_still_lets_the_auth_files_answer(env: Env) -> None:
    store, _backend = saved_then_locked(env)
    write_json(env.docker_config, auths(**{HOST: "bob:pw"}))
    found = store.lookup(HOST)
    assert found is not None and found.username == "bob"


def test_threads_at_once_meet_one_unlock_prompt(env: Env) -> None:
    class SlowLocked(LockableKeyring):
        def _check(self) -> None:
            time.sleep(0.05)  # the prompt, open while the other threads ask
            super()._check()

    backend = SlowLocked(locked=True)
    store = env.store(backend)
    errors: list[Exception] = []

    def look() -> None:
        try:
            store.lookup(HOST)
        except KeyringUnavailable as exc:
            errors.append(exc)

    threads = [threading.Thread(target=look) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 6 and all(e.locked for e in errors)
    assert backend.calls == 1


def test_logging_out_of_a_locked_keyring_says_it_removed_nothing(
    env: Env, clock: Clock
) -> None:
    store, backend = saved_then_locked(env)
    with pytest.raises(KeyringUnavailable) as info:
        store.forget(HOST)
    assert str(info.value) == (
        f"Could not remove the stored credentials for {HOST}: the keyring backend "
        "LockableKeyring is locked. Unlock it and try again.")
    with pytest.raises(KeyringUnavailable) as every:
        store.forget_all()
    assert str(every.value) == ("Could not remove the stored credentials: the keyring backend "
                                "LockableKeyring is locked. Unlock it and try again.")
    assert every.value.removed == ()
    assert backend.stored(HOST) is not None  # still there, as said
    # unlocked: removed
    backend.locked = False
    clock.now += keyring_store.KEYRING_LOCKED_PAUSE
    assert store.forget_all() == [HOST]
    assert backend.stored(HOST) is None


def test_logging_out_of_all_says_what_went_before_the_keyring_locked(env: Env) -> None:
    class LocksAfterOneRemoval(LockableKeyring):
        def delete_password(self, service: str, username: str) -> None:
            super().delete_password(service, username)
            self.locked = True  # its unlock timed out, say

    backend = LocksAfterOneRemoval()
    store = env.store(backend)
    for host in ("one.example.com", "two.example.com"):
        store.save(host, Credentials("u", SECRET))
    with pytest.raises(KeyringUnavailable) as partly:
        store.forget_all()
    assert partly.value.removed == ("one.example.com",)
    assert str(partly.value) == (
        "Could not remove the other stored credentials: the keyring backend "
        "LocksAfterOneRemoval is locked. Unlock it and try again.")
    assert backend.stored("two.example.com") is not None


def test_saving_to_a_locked_keyring_keeps_them_for_the_session_and_says_why(
    env: Env, clock: Clock
) -> None:
    backend = LockableKeyring(locked=True)
    store = env.store(backend)
    assert store.save(HOST, Credentials("alice", SECRET)) == "session"
    why = store.why_not_saved(HOST)
    assert why is not None and why.locked
    assert why.state == "the keyring backend LockableKeyring is locked"
    found = store.lookup(HOST)
    assert found is not None and found.source == "session"
    assert backend.stored(HOST) is None
    # unlocked: the next save goes to it
    backend.locked = False
    clock.now += keyring_store.KEYRING_LOCKED_PAUSE
    assert store.save(HOST, Credentials("alice", SECRET)) == "keyring"
    assert store.why_not_saved(HOST) is None
    assert backend.stored(HOST) is not None


def test_chainer_with_nothing_to_chain_is_not_usable(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(keyring.backend, "get_all_keyring", lambda: [])
    store = env.store(keyring.backends.chainer.ChainerBackend())
    assert store.keyring_usable is False
    assert store.save(HOST, Credentials("alice", "pw")) == "session"


# ----------------------------------------------------------------------------- no secret leaks


def _corrupt_json(env: Env) -> CredentialStore:
    env.runtime_auth.parent.mkdir(parents=True)
    env.runtime_auth.write_text(f'{{"auths": {{"{HOST}": {{"auth": "{SECRET}"')
    return env.store()


def _bad_base64(env: Env) -> CredentialStore:
    write_json(env.runtime_auth, {"auths": {HOST: {"auth": SECRET + "!"}}})
    return env.store()


def _not_utf8_file(env: Env) -> CredentialStore:
    env.runtime_auth.parent.mkdir(parents=True)
    env.runtime_auth.write_bytes(b'{"auths": {"x": {"auth": "' + SECRET.encode() + b'\xff"}}}')
    return env.store()


def _entry_not_object(env: Env) -> CredentialStore:
    write_json(env.runtime_auth, {"auths": {HOST: SECRET}})
    return env.store()


def _helper_fails_printing_json(env: Env) -> CredentialStore:
    env.helper("test", f'#!/bin/sh\necho \'{{"Username":"a","Secret":"{SECRET}"}}\'\nexit 3\n')
    write_json(env.docker_config, {"credHelpers": {HOST: "test"}})
    return env.store()


def _helper_prints_broken_json(env: Env) -> CredentialStore:
    env.helper("test", f'#!/bin/sh\necho \'{{"Username":"a","Secret":"{SECRET}"\'\n')
    write_json(env.docker_config, {"credHelpers": {HOST: "test"}})
    return env.store()


def _helper_wrong_types(env: Env) -> CredentialStore:
    env.helper("test", f'#!/bin/sh\necho \'{{"Username":["{SECRET}"],"Secret":1}}\'\n')
    write_json(env.docker_config, {"credHelpers": {HOST: "test"}})
    return env.store()


def _helper_times_out(env: Env) -> CredentialStore:
    env.helper("test", f'#!/bin/sh\necho \'{{"Username":"a","Secret":"{SECRET}"\'\n'
               "exec sleep 30\n")
    write_json(env.docker_config, {"credHelpers": {HOST: "test"}})
    return env.store()


def _helper_missing(env: Env) -> CredentialStore:
    write_json(env.docker_config, {"credHelpers": {HOST: "nothere"},
                                   "auths": {HOST: {"auth": b64("alice:" + SECRET)}}})
    return env.store()


LEAKY_SETUPS: dict[str, Callable[[Env], CredentialStore]] = {
    "corrupt JSON": _corrupt_json,
    "bad base64": _bad_base64,
    "file not UTF-8": _not_utf8_file,
    "entry not an object": _entry_not_object,
    "helper fails printing JSON": _helper_fails_printing_json,
    "helper prints broken JSON": _helper_prints_broken_json,
    "helper answers wrong types": _helper_wrong_types,
    "helper times out": _helper_times_out,
    "helper missing": _helper_missing,
}


@pytest.mark.parametrize("setup", LEAKY_SETUPS.values(), ids=LEAKY_SETUPS.keys())
def test_no_error_path_shows_the_secret(
    env: Env,
    setup: Callable[[Env], CredentialStore],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(helpers, "HELPER_TIMEOUT", 0.3)
    store = setup(env)
    with caplog.at_level(logging.DEBUG), pytest.raises(SpyglassError) as info:
        store.lookup(HOST)
    exc = info.value
    shown = [str(exc), repr(exc), "".join(traceback.format_exception(exc)), caplog.text]
    for text in shown:
        assert SECRET not in text
    assert exc.__cause__ is None or SECRET not in repr(vars(exc.__cause__))


def test_no_secret_in_parse_creds_or_keyring_paths(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(SpyglassError) as info:
            parse_creds(":" + SECRET)
        assert SECRET not in str(info.value) and SECRET not in repr(info.value)

        store = env.store(BrokenKeyring())
        creds = Credentials("alice", SECRET, identity_token=SECRET, source="dialog")
        assert store.save(HOST, creds) == "session"
        found = store.lookup(HOST)
        assert found is not None
        assert SECRET not in repr(found) and SECRET not in str(found)
        store.forget(HOST)
    assert SECRET not in caplog.text


class EchoingKeyring(keyring.backend.KeyringBackend):
    """Reads answer nothing; a write raises ``error`` quoting what it was given (Spyglass
    gives a JSON object, which escapes ``"``, ``\\`` and non-ASCII characters)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self, error: Callable[[str], Exception]) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error(password)

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("No such password!")


def _forms(secret: str) -> list[str]:
    """Every form ``secret`` takes quoted in an error: as it is, inside JSON's quotes
    (non-ASCII escaped or not), inside repr's, and the JSON forms inside repr's."""
    in_json = [json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]]
    return [secret, *in_json, repr(secret)[1:-1], *(repr(form)[1:-1] for form in in_json)]


ECHOED_ERRORS: dict[str, Callable[[str], Exception]] = {
    "RuntimeError(arg)": lambda given: RuntimeError(f"D-Bus error storing secret {given}"),
    "PasswordSetError(repr(arg))": lambda given: keyring.errors.PasswordSetError(
        f"cannot store {given!r}"),
    "KeyringLocked(arg)": lambda given: keyring.errors.KeyringLocked(f"locked: {given}"),
}


@pytest.mark.parametrize("error", ECHOED_ERRORS.values(), ids=ECHOED_ERRORS.keys())
@pytest.mark.parametrize("password, token", [
    ('pa"ss-4711', None), ("pa\\ss-4711", None), ("päss-4711", None),
    ("p€ss-4711", None), ("plain-pw-4711", 'id"tok\\en-4711'),
])
def test_a_keyring_error_quoting_the_json_it_was_given_shows_no_secret(
    env: Env, caplog: pytest.LogCaptureFixture, error: Callable[[str], Exception],
    password: str, token: str | None,
) -> None:
    store = env.store(EchoingKeyring(error))
    with caplog.at_level(logging.DEBUG):
        assert store.save(HOST, Credentials("bob", password, identity_token=token)) == "session"
    why = store.why_not_saved(HOST)
    assert why is not None
    shown = "\n".join([str(why), why.state, why.detail, caplog.text])
    assert "bob" in shown or why.locked  # (the error was there to be shown)
    for secret in filter(None, (password, token)):
        for form in _forms(secret):
            assert form not in shown, (form, shown)


# ----------------------------------------------------------------------------- Secret Service


SECRET_SERVICE_PROBE = textwrap.dedent("""
    import keyring.backends.SecretService as ss
    from spyglass.core.credentials import Credentials
    from spyglass.core.credentials.store import CredentialStore

    store = CredentialStore(keyring_backend=ss.Keyring(), environ={})
    assert store.keyring_usable, "the Secret Service backend is not usable"
    assert store.save("registry.example.com", Credentials("alice", "pw")) == "keyring"
    found = CredentialStore(keyring_backend=ss.Keyring(), environ={}).lookup(
        "registry.example.com")
    assert found is not None and (found.username, found.password, found.source) == (
        "alice", "pw", "keyring"), found
    assert store.forget("registry.example.com") is True
    assert store.lookup("registry.example.com") is None
    print("SECRET-SERVICE-OK")
""")


_MISSING_FOR_SECRET_SERVICE = [
    program for program in ("gnome-keyring-daemon", "dbus-run-session")
    if shutil.which(program) is None
]


@pytest.mark.skipif(
    bool(_MISSING_FOR_SECRET_SERVICE),
    reason=f"{' and '.join(_MISSING_FOR_SECRET_SERVICE)} not installed (Debian packages "
           "gnome-keyring, dbus-daemon)",
)
def test_secret_service_round_trip(tmp_path: Path, repo_root: Path) -> None:
    pytest.importorskip("secretstorage")
    home = tmp_path / "home"
    runtime = tmp_path / "run"
    for folder in (home, runtime):
        folder.mkdir(mode=0o700)
    child_env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "PYTHONPATH": str(repo_root / "app"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.SecretService.Keyring",
        "PROBE": SECRET_SERVICE_PROBE,
        "PYTHON": sys.executable,
    }
    script = (
        "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && "
        'exec "$PYTHON" -c "$PROBE"'
    )
    done = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", script],
        env=child_env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SECRET-SERVICE-OK" in done.stdout


def test_a_keyring_that_is_a_plain_file_is_named_as_such(
    env: Env, plaintext_keyring: PlaintextKeyring
) -> None:
    described = env.store(plaintext_keyring).keyring_description
    assert described.startswith("the keyring backend PlaintextKeyring (")
    assert plaintext_keyring.file_path in described
    from keyring.backends.fail import Keyring as FailKeyring

    assert env.store(FailKeyring()).keyring_description == "the system keyring"


def test_a_plain_file_keyring_nobody_chose_is_passed_over(
    monkeypatch: pytest.MonkeyPatch, plaintext_keyring: PlaintextKeyring
) -> None:
    """keyring falls back to keyrings.alt's readable file when no system keyring is
    there; Spyglass keeps passwords for the session instead, unless the file was
    chosen (PYTHON_KEYRING_BACKEND, keyring's config file, or given to the store)."""
    import keyring
    import keyring.core

    monkeypatch.setattr(keyring, "get_keyring", lambda: plaintext_keyring)
    monkeypatch.setattr(keyring.core, "load_env", lambda: None)
    monkeypatch.setattr(keyring.core, "load_config", lambda: None)
    store = CredentialStore()
    assert store.passed_over is not None and plaintext_keyring.file_path in store.passed_over
    assert "unencrypted" in store.passed_over
    assert store.save(HOST, Credentials("alice", "pw")) == "session"
    assert not Path(plaintext_keyring.file_path).exists()
    # what an earlier Spyglass put there is still found, and logout still clears it
    plaintext_keyring.set_password("spyglass", "old.example",
                                   json.dumps({"username": "bob", "password": "pw2"}))
    found = CredentialStore().lookup("old.example")
    assert found is not None and found.username == "bob"
    assert CredentialStore().forget("old.example") is True
    assert plaintext_keyring.get_password("spyglass", "old.example") is None
    # newer credentials for a registry it holds: the older entry goes, or it would be
    # found again after a restart
    plaintext_keyring.set_password("spyglass", "old.example",
                                   json.dumps({"username": "bob", "password": "OLD"}))
    newer = CredentialStore()
    assert newer.save("old.example", Credentials("bob", "NEW")) == "session"
    assert plaintext_keyring.get_password("spyglass", "old.example") is None
    found = newer.lookup("old.example")
    assert found is not None and found.password == "NEW"
    assert CredentialStore().lookup("old.example") is None
    # chosen by the environment variable: used, and nothing passed over
    monkeypatch.setattr(keyring.core, "load_env", lambda: plaintext_keyring)
    chosen = CredentialStore()
    assert chosen.keyring_usable is True and chosen.passed_over is None
    assert chosen.save(HOST, Credentials("alice", "pw")) == "keyring"
    # given to the store (as the tests and an embedding program do): used
    monkeypatch.setattr(keyring.core, "load_env", lambda: None)
    given = CredentialStore(keyring_backend=plaintext_keyring)
    assert given.keyring_usable is True and given.passed_over is None


def test_the_same_login_again_leaves_what_an_earlier_spyglass_kept_in_a_file_nobody_chose(
    monkeypatch: pytest.MonkeyPatch, plaintext_keyring: PlaintextKeyring
) -> None:
    """An earlier Spyglass saved logins in keyrings.alt's file without anyone choosing it;
    logging in again after an upgrade with the same password removed that entry and saved
    nothing, so the next start was refused. The same login stays where it was (said to be
    there); a different one still removes the old entry, and that is told."""
    import keyring
    import keyring.core

    monkeypatch.setattr(keyring, "get_keyring", lambda: plaintext_keyring)
    monkeypatch.setattr(keyring.core, "load_env", lambda: None)
    monkeypatch.setattr(keyring.core, "load_config", lambda: None)
    plaintext_keyring.set_password("spyglass", "old.example",
                                   json.dumps({"username": "bob", "password": "pw"}))
    store = CredentialStore()
    assert store.passed_over is not None
    assert store.save("old.example", Credentials("bob", "pw")) == "keyring"
    assert not store.dropped_before("old.example")
    found = CredentialStore().lookup("old.example")  # (a later start)
    assert found is not None and (found.username, found.password) == ("bob", "pw")
    assert store.save("old.example", Credentials("bob", "other")) == "session"
    assert store.dropped_before("old.example")
    assert plaintext_keyring.get_password("spyglass", "old.example") is None
    assert not store.dropped_before("new.example")
    assert store.save("new.example", Credentials("bob", "pw")) == "session"
    assert not store.dropped_before("new.example")
    # a later save in the same session removes nothing more: nothing more is told
    assert store.save("old.example", Credentials("bob", "third")) == "session"
    assert not store.dropped_before("old.example")


def test_logout_all_finds_logins_made_before_there_was_an_index(
    env: Env, monkeypatch: pytest.MonkeyPatch, plaintext_keyring: PlaintextKeyring
) -> None:
    """Spyglass before its keyring index of hosts saved logins nobody listed: ``logout
    --all`` said "no stored credentials" and they stayed in use. A keyring kept in a file
    lists them; any other keyring indexes a host when its entry is read."""
    for host in ("127.0.0.1:5000", "localhost:5000"):
        plaintext_keyring.set_password("spyglass", host,
                                       json.dumps({"username": "alice", "password": "pw"}))
    assert env.store(plaintext_keyring).forget_all() == ["127.0.0.1:5000", "localhost:5000"]
    assert plaintext_keyring.get_password("spyglass", "localhost:5000") is None

    backend = SlowKeyring()  # (one that cannot be listed)
    backend.set_password("spyglass", HOST, json.dumps({"username": "alice", "password": "pw"}))
    assert env.store(backend).forget_all() == []  # nothing tells it is there ...
    found = env.store(backend).lookup(HOST)  # ... until it is used
    assert found is not None
    assert env.store(backend).forget_all() == [HOST]
    assert backend.get_password("spyglass", HOST) is None


class IndexRefused(SlowKeyring):
    """A keyring that gives a host's entry but refuses its index entry (a per-item
    permission, an item of its own that is locked)."""

    def __init__(self, refusal: Exception) -> None:
        super().__init__()
        self.refusal = refusal

    def get_password(self, service: str, username: str) -> str | None:
        if username == "spyglass:hosts":
            raise self.refusal
        return super().get_password(service, username)


@pytest.mark.parametrize("refusal", [RuntimeError("item access denied"),
                                     keyring.errors.KeyringLocked("item locked")])
def test_credentials_read_are_used_whatever_the_index_answers(
        env: Env, refusal: Exception) -> None:
    """Listing a host in the index as its entry is read is a convenience: a keyring that
    refuses the index entry made the lookup fail ("the stored credentials could not be
    read"), and every command of that registry with it."""
    backend = IndexRefused(refusal)
    backend.set_password("spyglass", HOST, json.dumps({"username": "u", "password": "p"}))
    found = env.store(backend).lookup(HOST)
    assert found is not None and (found.username, found.password) == ("u", "p")


def test_a_keyring_that_fails_is_said_without_a_session_to_keep_credentials_for(
        env: Env, caplog: pytest.LogCaptureFixture) -> None:
    """``inspect`` and ``copy`` printed "credentials are kept for the session only": a
    command that runs once keeps none."""
    store = env.store(FailingKeyring())
    with caplog.at_level(logging.WARNING, logger="spyglass.core.credentials"):
        assert store.lookup(HOST) is None
    said = " ".join(record.getMessage() for record in caplog.records)
    assert said == ("The keyring backend FailingKeyring cannot be used (RuntimeError: "
                    "org.freedesktop.DBus.Error.ServiceUnknown); credentials are neither "
                    "read from it nor saved in it.")


def test_logins_saved_at_once_by_several_processes_are_all_kept(tmp_path: Path) -> None:
    """A keyring in a file (keyrings.alt) is rewritten whole by each write, with no lock:
    logins run at once from a script lost each other's credentials, said to be saved, and
    once left the file unreadable to every later command."""
    import subprocess
    import sys

    save = (
        "import sys\n"
        "from spyglass.core.credentials import Credentials\n"
        "from spyglass.core.credentials.store import CredentialStore\n"
        "for host in sys.argv[1:]:\n"
        "    assert CredentialStore().save(host, Credentials('alice', 'pw-' + host)) == "
        "'keyring'\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
           "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    (tmp_path / "cache").mkdir()
    hosts = [[f"r{process}-{number}.example" for number in range(5)] for process in range(6)]
    processes = [subprocess.Popen([sys.executable, "-c", save, *names], env=env,
                                  stderr=subprocess.PIPE, text=True)
                 for names in hosts]
    ended = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * len(processes), ended
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "data" / "python_keyring" / "keyring_pass.cfg")
    missing = [host for names in hosts for host in names
               if backend.get_password(KEYRING_SERVICE, host) is None]
    assert missing == []


def test_an_encrypted_file_keyring_is_asked_without_waiting_for_the_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Processes take turns only with a plain file keyring: an encrypted one asks for its
    password, and a process waiting at that prompt held every other command up."""
    import fcntl

    from spyglass.core.credentials.keyring_store import KeyringAccess

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "cache" / "spyglass").mkdir(parents=True)

    class EncryptedKeyring:  # as keyrings.alt's: a file, a password asked for
        file_path = str(tmp_path / "crypted_pass.cfg")

        def get_password(self, service: str, user: str) -> str | None:
            return None

    store = KeyringAccess(EncryptedKeyring())
    with open(tmp_path / "cache" / "spyglass" / "keyring-file.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # (another process, at the password prompt)
        answer = []
        worker = threading.Thread(target=lambda: answer.append(
            store.ask(lambda backend: backend.get_password(KEYRING_SERVICE, HOST))))
        worker.start()
        worker.join(timeout=5)
        assert not worker.is_alive() and answer == [None]


# ----------------------------------------------------------------------------- scrubbed


@pytest.mark.parametrize("password", ["a", "e", "t", "i", "known", "regis", "4"])
def test_a_short_or_common_password_leaves_the_words_it_is_part_of(password: str) -> None:
    secrets = Credentials("u", password).secrets()
    for text in ("manifest unknown", "authentication required", "blob unknown to registry",
                 "filesystem: write /var/lib/registry/x: no space left on device",
                 "upload 2024-01-02T03:04:05Z invalid"):
        assert scrubbed(text, secrets) == text


def test_a_secret_echoed_as_itself_is_still_hidden() -> None:
    encoded = basic_secret("alice", "PWX1")
    secrets = (*authorization_secrets(f"Basic {encoded}"),
               *authorization_secrets("Bearer tok-3f9a.b_c"))
    said = (f"bad login alice:PWX1; password=PWX1&x=1; header Basic {encoded}; "
            "token 'tok-3f9a.b_c' refused; PWX1")
    assert scrubbed(said, secrets) == (
        "bad login ***; password=***&x=1; header Basic ***; token '***' refused; ***")
    # a password of one letter too, where it stands alone
    one = authorization_secrets(f"Basic {basic_secret('u', 'a')}")
    assert scrubbed("bad login u:a (password a)", one) == (
        "bad login *** (password ***)")


def test_a_secret_that_starts_or_ends_with_no_letter_is_hidden_next_to_one() -> None:
    assert scrubbed("login failed for x!pw!y", ("!pw!",)) == "login failed for x***y"


def test_a_secret_whose_bytes_are_not_utf8_is_hidden_as_its_bytes_too() -> None:
    """A password read from the command line with a byte that is not UTF-8 (Latin-1's
    ``zoë``, a surrogate in Python's text) is scrubbed as it is and percent-encoded as
    that byte: quoting it failed with an internal error."""
    password = b"zo\xeb".decode("utf-8", "surrogateescape")
    said = f"bad password {password}, in a form password=zo%EB"
    assert scrubbed(said, (password,)) == "bad password ***, in a form password=***"


def test_forgetting_a_user_s_session_password_leaves_another_user_s_keyring_entry(
    env: Env, clock: Clock
) -> None:
    """The window kept alice's password for the session (the keyring locked then); a
    ``spyglass login`` as bob since saved bob's in the keyring: forgetting alice's removes
    the session's copy only (it removed bob's too: the session's alice matched)."""
    backend = LockableKeyring(locked=True)
    window = env.store(backend)
    assert window.save(HOST, Credentials("alice", SECRET)) == "session"
    backend.locked = False
    env.store(backend).save(HOST, Credentials("bob", "builder"))
    clock.now += 60  # (past the locked keyring's back-off)
    assert window.forget(HOST, only_user="alice")
    assert json.loads(backend.stored(HOST) or "") == {"username": "bob", "password": "builder"}
    assert window.saved(HOST) == Credentials("bob", "builder", source="keyring")
    assert window.forget(HOST, only_user="bob") and backend.stored(HOST) is None
