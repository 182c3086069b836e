"""registries.conf's blocked registries against a real registry: the command line's
commands and the registry client the window uses refuse them before any request goes
out. The registry logs every request it gets (its access log, on for these tests), and
the log is read back to show none came.

Each command runs in a subprocess whose ``$CONTAINERS_REGISTRIES_CONF`` names the
test's file and whose ``$HOME`` is the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from spyglass.core.errors import RegistryBlocked
from tests.helpers import require_tool
from tests.helpers.registry import RegistryServer, push_image

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "resources" / "sample-layout"


@pytest.fixture
def logged_registry(make_registry: Callable[..., RegistryServer]) -> RegistryServer:
    """An anonymous registry of the test's own that logs every request, with
    ``team/app:1`` and ``secret/app:1``."""
    require_tool("skopeo")
    server = make_registry(extra_config={"log": {"accesslog": {"disabled": False}}})
    for target in ("team/app:1", "secret/app:1"):
        push_image(server, SAMPLE, "spyglass-demo:1.0", target)
    return server


def requests_after(server: RegistryServer, mark: int) -> list[str]:
    """The requests the registry logged since its log was ``mark`` bytes long."""
    time.sleep(0.2)  # (the log is written as the answer goes out)
    text = server.log_path.read_bytes()[mark:].decode(errors="replace")
    return [line for line in text.splitlines() if '"GET ' in line or '"HEAD ' in line
            or '"PUT ' in line or '"POST ' in line or '"PATCH ' in line]


def log_size(server: RegistryServer) -> int:
    return server.log_path.stat().st_size


def run(tmp_path: Path, conf: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "registries.conf"
    path.write_text(conf)
    (tmp_path / "home").mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app"),
           "CONTAINERS_REGISTRIES_CONF": str(path), "HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-m", "spyglass", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_a_blocked_registry_is_refused_by_every_command_before_any_request(
        logged_registry: RegistryServer, tmp_path: Path) -> None:
    host = logged_registry.host
    conf = f'[[registry]]\nlocation = "{host}"\nblocked = true\n'
    said = (f"spyglass: Spyglass does not contact the registry {host}: the registries.conf "
            f'"{tmp_path / "registries.conf"}" blocks it (blocked = true for the prefix '
            f'"{host}").')
    mark = log_size(logged_registry)
    for args in (
        ("inspect", f"docker://{host}/team/app:1"),
        ("copy", f"docker://{host}/team/app:1", f"oci:{tmp_path / 'from'}:x"),
        ("copy", f"oci:{SAMPLE}:spyglass-demo:1.0", f"docker://{host}/team/new:1"),
        ("tags", f"docker://{host}/team/app"),
        ("catalog", host),
    ):
        done = run(tmp_path, conf, *args)
        assert (done.returncode, done.stdout, done.stderr.strip()) == (1, "", said), args
    assert requests_after(logged_registry, mark) == []
    assert not (tmp_path / "from").exists()
    # the same commands, the registry not blocked: it is asked, and answers
    done = run(tmp_path, "", "inspect", f"docker://{host}/team/app:1")
    assert done.returncode == 0, done.stderr
    assert requests_after(logged_registry, mark) != []


def test_a_blocked_namespace_leaves_the_rest_of_the_registry(
        logged_registry: RegistryServer, tmp_path: Path) -> None:
    host = logged_registry.host
    # the longer prefix governs the secret namespace
    conf = (f'[[registry]]\nlocation = "{host}"\n'
            f'[[registry]]\nprefix = "{host}/secret"\nlocation = "{host}/secret"\n'
            "blocked = true\n"
            f'[[registry]]\nprefix = "{host}/team"\nlocation = "{host}/team"\n'
            'insecure = true\n')
    mark = log_size(logged_registry)
    done = run(tmp_path, conf, "inspect", f"docker://{host}/secret/app:1")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"spyglass: Spyglass does not contact the registry {host} for {host}/secret/app: the "
        f'registries.conf "{tmp_path / "registries.conf"}" blocks it (blocked = true for the '
        f'prefix "{host}/secret").')
    assert requests_after(logged_registry, mark) == []  # not even its /v2/
    done = run(tmp_path, conf, "inspect", f"docker://{host}/team/app:1")
    assert done.returncode == 0, done.stderr
    assert any("/v2/team/app/manifests/1" in line
               for line in requests_after(logged_registry, mark))


def test_a_namespace_unblocked_under_a_blocked_registry_is_read(
        logged_registry: RegistryServer, tmp_path: Path) -> None:
    """The longest prefix decides for the host's own requests too (its /v2/): the
    namespace is read, as skopeo reads it; the rest of the registry is not. Empty
    version 1 lists beside version 2 tables leave the file a version 2 one."""
    host = logged_registry.host
    conf = ('[registries.search]\nregistries = []\n'
            f'[[registry]]\nlocation = "{host}"\nblocked = true\n'
            f'[[registry]]\nprefix = "{host}/team"\nlocation = "{host}/team"\n')
    done = run(tmp_path, conf, "inspect", f"docker://{host}/team/app:1")
    assert done.returncode == 0, done.stderr
    assert "cannot be read" not in done.stderr and "malformed" not in done.stderr
    done = run(tmp_path, conf, "inspect", f"docker://{host}/secret/app:1")
    assert done.returncode == 1 and "blocks it" in done.stderr


def test_a_version_1_block_list_and_a_wildcard_block_too(tmp_path: Path) -> None:
    """On a port nothing listens on: the refusal, not "connection refused"."""
    v1 = '[registries.block]\nregistries = ["127.0.0.1:9"]\n'
    done = run(tmp_path, v1, "inspect", "docker://127.0.0.1:9/team/app:1")
    assert done.returncode == 1
    assert "does not contact the registry 127.0.0.1:9:" in done.stderr
    wildcard = '[[registry]]\nprefix = "*.0.0.1"\nblocked = true\n'
    done = run(tmp_path, wildcard, "copy", "docker://127.0.0.1:9/team/app:1",
               f"oci:{tmp_path / 'out'}:x")
    assert done.returncode == 1
    assert 'blocks it (blocked = true for the prefix "*.0.0.1")' in done.stderr


def test_a_broken_registries_conf_refuses_every_registry(
        logged_registry: RegistryServer, tmp_path: Path) -> None:
    """F5: as skopeo, nothing is contacted while a file cannot be used (what it blocks is
    not known); the sentence names the file, line and column."""
    host = logged_registry.host
    mark = log_size(logged_registry)
    done = run(tmp_path, f'[[registry]]\nlocation = "{host}"\nblocked = true\n[aliases]\n'
               f'"myapp" = "{host}/team/app\n', "inspect", f"docker://{host}/team/app:1")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.strip() == (
        f'spyglass: The registries.conf "{tmp_path / "registries.conf"}" is malformed: at '
        f"line 5, column {21 + len(host)}: not TOML (illegal character '\\n'). Until it is "
        "fixed, Spyglass contacts no registry, as podman and skopeo contact none: which ones "
        "the files block cannot be known.")
    done = run(tmp_path, '[[registry]\nlocation = "127.0.0.1:9"\n',
               "copy", f"docker://{host}/team/app:1", f"oci:{tmp_path / 'out'}:x")
    assert done.returncode == 1 and "is malformed: at line 1, column 11" in done.stderr
    assert requests_after(logged_registry, mark) == []
    # what contacts no registry is not refused
    done = run(tmp_path, "[[registry]\n", "inspect", f"oci:{SAMPLE}:spyglass-demo:1.0")
    assert done.returncode == 0, done.stderr


def test_registries_conf_flag_is_read_in_place_of_the_usual_file(
        logged_registry: RegistryServer, tmp_path: Path) -> None:
    """F3: skopeo's global --registries-conf FILE, before or after the command, is
    honoured: what it blocks is refused (the usual file, here empty, is not read)."""
    host = logged_registry.host
    given = tmp_path / "alt.conf"
    given.write_text(f'[[registry]]\nlocation = "{host}"\nblocked = true\n')
    mark = log_size(logged_registry)
    for args in (("--registries-conf", str(given), "inspect", f"docker://{host}/team/app:1"),
                 ("inspect", "--registries-conf", str(given), f"docker://{host}/team/app:1")):
        done = run(tmp_path, "", *args)
        assert done.returncode == 1, args
        assert f'the registries.conf "{given}" blocks it' in done.stderr, done.stderr
    assert requests_after(logged_registry, mark) == []
    done = run(tmp_path, "", "--registries-conf", str(tmp_path / "none.conf"), "inspect",
               f"docker://{host}/team/app:1")
    assert done.returncode == 1
    assert (f'The registries.conf "{tmp_path / "none.conf"}" that --registries-conf names '
            "does not exist") in done.stderr


def test_the_window_s_registry_client_refuses_a_blocked_registry(
        logged_registry: RegistryServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The window makes its own clients for its registry entries (not through the
    command line's options): they ask registries.conf too, in the client."""
    from spyglass.core.transports.registry import RegistryClient

    conf = tmp_path / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{logged_registry.host}/secret"\n'
                    "blocked = true\n")
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    monkeypatch.setenv("HOME", str(tmp_path))
    mark = log_size(logged_registry)
    client = RegistryClient(logged_registry.host, retry_times=0)
    with pytest.raises(RegistryBlocked, match=r"for 127\.0\.0\.1:[0-9]+/secret/app"):
        client.tags_of("secret/app")
    assert requests_after(logged_registry, mark) == []
    assert client.tags_of("team/app") == ["1"]
    conf.write_text(f'[[registry]]\nlocation = "{logged_registry.host}"\nblocked = true\n'
                    "# the whole registry now, as the window sees an edit at once\n")
    mark = log_size(logged_registry)
    with pytest.raises(RegistryBlocked):
        client.check_reachable()
    with pytest.raises(RegistryBlocked):
        client.tags_of("team/app")
    assert requests_after(logged_registry, mark) == []


def test_a_rewrite_that_makes_no_valid_name_fails_that_image_alone(
        logged_registry: RegistryServer, tmp_path: Path) -> None:
    """A wildcard prefix stops before the port, so its location's port makes a second
    one: that image fails, naming the file, prefix, location and name made; with
    --keep-going the others are synced (as skopeo fails that image alone)."""
    host = logged_registry.host
    port = host.rsplit(":", 1)[1]
    conf = f'[[registry]]\nprefix = "*.localhost"\nlocation = "{host}"\ninsecure = true\n'
    listed = tmp_path / "sync.yaml"
    listed.write_text(f'foo.localhost:{port}:\n  images:\n    other/x: ["1"]\n'
                      f'{host}:\n  images:\n    team/app: ["1"]\n')
    done = run(tmp_path, conf, "sync", "--keep-going", "--src", "yaml", "--dest", "dir",
               str(listed), str(tmp_path / "out"))
    assert done.returncode == 1, done.stderr
    assert (f'The registries.conf "{tmp_path / "registries.conf"}" rewrites '
            f'foo.localhost:{port}/other/x (prefix "*.localhost", location "{host}") to '
            f'"{host}:{port}/other/x", which is not a valid image name') in done.stderr
    assert (tmp_path / "out" / "app:1" / "manifest.json").is_file(), done.stderr
    assert not (tmp_path / "out" / "x:1").exists()
    assert "Synced 1 images from 2 sources, 1 failed" in done.stdout + done.stderr, (
        done.stdout, done.stderr)
