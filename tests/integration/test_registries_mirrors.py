"""registries.conf's pull sources against real registries: mirrors read first, a
``location`` that rewrites the name, ``insecure = true``, and a blocked source read from
its mirrors, as skopeo reads them (compared with skopeo where that is cheap). Writes and
listings go to the registry the name says, never to a mirror.

Two registries of the test's own, both logging every request: the primary holds
``team/app:1`` as a multi-platform list, the mirror as one platform's image (another
digest, so the digest read says where it came from)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import require_tool
from tests.helpers.registry import RegistryServer, push_image
from tests.integration.test_registries_conf import log_size, requests_after

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = REPO_ROOT / "resources" / "sample-layout"


class Pair:
    def __init__(self, primary: RegistryServer, mirror: RegistryServer,
                 primary_digest: str, mirror_digest: str) -> None:
        self.primary, self.mirror = primary, mirror
        self.primary_digest, self.mirror_digest = primary_digest, mirror_digest


@pytest.fixture
def pair(make_registry: Callable[..., RegistryServer]) -> Pair:
    require_tool("skopeo")
    logged = {"log": {"accesslog": {"disabled": False}}}
    primary = make_registry(extra_config=logged)
    mirror = make_registry(extra_config=logged)
    primary_digest = push_image(primary, SAMPLE, "spyglass-demo:1.0", "team/app:1")
    mirror_digest = push_image(mirror, SAMPLE, "spyglass-demo:1.0", "team/app:1", all=False)
    assert primary_digest != mirror_digest
    return Pair(primary, mirror, primary_digest, mirror_digest)


def environment(tmp_path: Path, conf: str) -> dict[str, str]:
    path = tmp_path / "registries.conf"
    path.write_text(conf)
    (tmp_path / "home").mkdir(exist_ok=True)
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app"),
            "CONTAINERS_REGISTRIES_CONF": str(path), "HOME": str(tmp_path / "home")}


def spyglass(tmp_path: Path, conf: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "spyglass", *args],
                          env=environment(tmp_path, conf), capture_output=True, text=True,
                          timeout=120, check=False)


def digest_read(tmp_path: Path, conf: str, name: str) -> str:
    done = spyglass(tmp_path, conf, "inspect", "--raw", f"docker://{name}")
    assert done.returncode == 0, done.stderr
    from spyglass.core.digest import Digest

    return str(Digest.of(done.stdout.encode()))


def skopeo_digest(tmp_path: Path, conf: str, name: str) -> str:
    """What skopeo 1.9 reads by that name with that registries.conf (its own flag)."""
    path = tmp_path / "skopeo-registries.conf"
    path.write_text(conf)
    done = subprocess.run(
        ["skopeo", "--registries-conf", str(path), "inspect", "--no-tags",
         "--tls-verify=false", f"docker://{name}"],
        env={**os.environ, "HOME": str(tmp_path / "home")}, capture_output=True, text=True,
        timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["Digest"])


def test_a_blocked_source_is_read_from_its_mirror_and_never_written_to(
        pair: Pair, tmp_path: Path) -> None:
    """F2, the "never contact the source" set-up: reads come from the mirror, the
    primary is never asked; a write to the name is refused (not sent to the mirror),
    and the refusal does not advise unblocking."""
    primary, mirror = pair.primary.host, pair.mirror.host
    conf = (f'[[registry]]\nprefix = "{primary}/team"\nlocation = "{primary}/team"\n'
            f'blocked = true\n[[registry.mirror]]\nlocation = "{mirror}/team"\n')
    primary_mark, mirror_mark = log_size(pair.primary), log_size(pair.mirror)
    assert digest_read(tmp_path, conf, f"{primary}/team/app:1") == pair.mirror_digest
    done = spyglass(tmp_path, conf, "copy", f"docker://{primary}/team/app:1",
                    f"oci:{tmp_path / 'copied'}:x")
    assert done.returncode == 0, done.stderr
    assert requests_after(pair.primary, primary_mark) == []
    assert any("/v2/team/app/manifests/1" in line
               for line in requests_after(pair.mirror, mirror_mark))
    mirror_mark = log_size(pair.mirror)
    done = spyglass(tmp_path, conf, "copy", f"oci:{SAMPLE}:spyglass-demo:1.0",
                    f"docker://{primary}/team/new:1")
    assert done.returncode == 1
    assert "blocks it" in done.stderr and "blocked = false" not in done.stderr
    assert f"Images are read from its mirrors ({mirror}/team) instead" in done.stderr
    assert requests_after(pair.primary, primary_mark) == []
    assert [line for line in requests_after(pair.mirror, mirror_mark)
            if "PUT " in line or "POST " in line] == []
    assert skopeo_digest(tmp_path, conf, f"{primary}/team/app:1") == pair.mirror_digest


def test_a_mirror_without_the_image_falls_through_and_failures_say_what_was_tried(
        pair: Pair, tmp_path: Path) -> None:
    primary, mirror = pair.primary.host, pair.mirror.host
    push_image(pair.primary, SAMPLE, "spyglass-demo:1.0", "team/only-primary:1")
    conf = f'[[registry]]\nlocation = "{primary}"\n[[registry.mirror]]\nlocation = "{mirror}"\n'
    # the mirror's copy first, where it has one; the primary's where it has none
    assert digest_read(tmp_path, conf, f"{primary}/team/app:1") == pair.mirror_digest
    assert digest_read(tmp_path, conf, f"{primary}/team/only-primary:1") == \
        pair.primary_digest
    done = spyglass(tmp_path, conf, "inspect", f"docker://{primary}/team/nowhere:1")
    assert done.returncode == 1
    said = done.stderr.strip().splitlines()[-1]
    assert said.startswith(f"spyglass: Tried the mirror {mirror}/team/nowhere:1 (not found), "
                           f"then {primary}/team/nowhere:1: "), said


def test_a_down_primary_is_read_from_its_mirror(pair: Pair, tmp_path: Path) -> None:
    """The report's F4 case: the registry named is unreachable, its mirror serves."""
    conf = ('[[registry]]\nlocation = "127.0.0.1:9"\n'
            f'[[registry.mirror]]\nlocation = "{pair.mirror.host}"\n')
    assert digest_read(tmp_path, conf, "127.0.0.1:9/team/app:1") == pair.mirror_digest


def test_location_rewrites_reads_only_and_digest_only_mirrors(
        pair: Pair, tmp_path: Path) -> None:
    primary, mirror = pair.primary.host, pair.mirror.host
    # a prefix read at another location (the listing of tags goes to the name's registry)
    conf = f'[[registry]]\nprefix = "{primary}/alias"\nlocation = "{mirror}/team"\n'
    assert digest_read(tmp_path, conf, f"{primary}/alias/app:1") == pair.mirror_digest
    assert skopeo_digest(tmp_path, conf, f"{primary}/alias/app:1") == pair.mirror_digest
    # a mirror by digest only: not for a tag; for a digest it has, it is read first
    conf = (f'[[registry]]\nlocation = "{primary}"\nmirror-by-digest-only = true\n'
            f'[[registry.mirror]]\nlocation = "{mirror}"\n')
    mirror_mark = log_size(pair.mirror)
    assert digest_read(tmp_path, conf, f"{primary}/team/app:1") == pair.primary_digest
    assert requests_after(pair.mirror, mirror_mark) == []
    by_digest = f"{primary}/team/app@{pair.mirror_digest}"
    assert digest_read(tmp_path, conf, by_digest) == pair.mirror_digest
    assert requests_after(pair.mirror, mirror_mark) != []
    # pull-from-mirror = "tag-only": the other way round
    conf = (f'[[registry]]\nlocation = "{primary}"\n[[registry.mirror]]\n'
            f'location = "{mirror}"\npull-from-mirror = "tag-only"\n')
    assert digest_read(tmp_path, conf, f"{primary}/team/app:1") == pair.mirror_digest
    assert skopeo_digest(tmp_path, conf, f"{primary}/team/app:1") == pair.mirror_digest


def test_insecure_true_reaches_a_registry_whose_certificate_is_not_trusted(
        make_registry: Callable[..., RegistryServer], tmp_path: Path) -> None:
    """The test CA is not trusted here: TLS fails, unless registries.conf says the
    registry is insecure (or --tls-verify=true overrides it)."""
    require_tool("skopeo")
    server = make_registry(tls=True)
    push_image(server, SAMPLE, "spyglass-demo:1.0", "team/app:1")
    name = f"docker://{server.host}/team/app:1"
    done = spyglass(tmp_path, "", "inspect", "--raw", name)
    assert done.returncode == 1 and "TLS certificate" in done.stderr, done.stderr
    conf = f'[[registry]]\nlocation = "{server.host}"\ninsecure = true\n'
    done = spyglass(tmp_path, conf, "inspect", "--raw", name)
    assert done.returncode == 0, done.stderr
    done = spyglass(tmp_path, conf, "tags", f"docker://{server.host}/team/app")
    assert done.returncode == 0 and "1" in done.stdout, done.stderr
    done = spyglass(tmp_path, conf, "inspect", "--tls-verify=true", "--raw", name)
    assert done.returncode == 1 and "TLS certificate" in done.stderr


def test_a_mirror_that_is_down_is_passed_at_once_and_not_asked_again(
        pair: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mirror on a port nobody listens on: the first image falls through to the
    registry at once (no backoff of --retry-times, default 3: 3.5 s or more), and the
    next image of the same process does not contact the mirror again."""
    import time

    from spyglass.core.reference import parse_docker_reference
    from spyglass.core.transports.registry import forget_clients, open_registry_image
    from spyglass.core.transports.registry.endpoint import RegistryEndpoint
    from tests.helpers.registry import free_port

    primary, dead = pair.primary.host, f"127.0.0.1:{free_port()}"
    push_image(pair.primary, SAMPLE, "spyglass-demo:1.0", "team/other:1")
    conf = tmp_path / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{primary}"\n'
                    f'[[registry.mirror]]\nlocation = "{dead}"\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    monkeypatch.setenv("HOME", str(tmp_path))
    forget_clients()
    contacted: list[str] = []
    send_raw = RegistryEndpoint._send_raw

    def noting(self: RegistryEndpoint, method: str, url: object,
               **kwargs: object) -> object:
        contacted.append(self.host)
        return send_raw(self, method, url, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RegistryEndpoint, "_send_raw", noting)
    started = time.monotonic()
    image = open_registry_image(parse_docker_reference(f"{primary}/team/app:1"))
    assert str(image.top_manifest().digest) == pair.primary_digest
    assert time.monotonic() - started < 1.5
    assert dead in contacted
    contacted.clear()
    image = open_registry_image(parse_docker_reference(f"{primary}/team/other:1"))
    image.top_manifest()
    assert dead not in contacted and primary in contacted
    # what was tried is said, the mirror passed by included
    with pytest.raises(Exception, match=rf"^Tried the mirror {dead}/team/nowhere:1 "
                       r"\(unreachable a moment ago, not asked again\), then "):
        open_registry_image(parse_docker_reference(f"{primary}/team/nowhere:1"))


def test_a_sync_with_a_mirror_that_is_down_takes_no_longer_than_without_it(
        pair: Pair, tmp_path: Path) -> None:
    """Each image of a sync looks its mirror up first (its digest, then its copy): a
    mirror that is down costs no retries, for the first image nor the next."""
    import time

    from tests.helpers.registry import free_port

    primary = pair.primary.host
    push_image(pair.primary, SAMPLE, "spyglass-demo:1.0", "team/app:2")
    plain = f'[[registry]]\nlocation = "{primary}"\n'
    dead = plain + f'[[registry.mirror]]\nlocation = "127.0.0.1:{free_port()}"\n'
    took: dict[str, float] = {}
    for name, conf in (("plain", plain), ("dead", dead)):
        started = time.monotonic()
        done = spyglass(tmp_path, conf, "sync", "--src", "docker", "--dest", "dir",
                        f"{primary}/team/app", str(tmp_path / name))
        took[name] = time.monotonic() - started
        assert done.returncode == 0, done.stderr
        assert "asking again" not in done.stderr, done.stderr
    assert took["dead"] - took["plain"] < 1.5, took


class SilentServer:
    """A loopback socket that takes every connection and never answers (a hung mirror, a
    half-dead proxy); :attr:`taken` counts the connections."""

    def __init__(self) -> None:
        import socket
        import threading

        self._listener = socket.create_server(("127.0.0.1", 0), backlog=50)
        self.host = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._take, daemon=True)
        self._thread.start()

    @property
    def taken(self) -> int:
        return len(self._held)

    def _take(self) -> None:
        while True:
            try:
                self._held.append(self._listener.accept()[0])
            except OSError:
                return  # closed

    def close(self) -> None:
        self._listener.close()
        self._thread.join(5)
        for held in self._held:
            held.close()


def test_a_mirror_that_answers_nothing_is_waited_for_once_and_said_once(
        make_registry: Callable[..., RegistryServer], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """F11: a mirror that takes the connection and answers nothing costs the first
    image its ping's timeout (then it is read from the registry), not every image; a
    note says so once, and a failure after says the mirror was passed by."""
    import logging
    import time

    import httpx

    from spyglass.core.reference import parse_docker_reference
    from spyglass.core.transports.registry import (
        endpoint,
        forget_clients,
        open_registry_image,
    )

    require_tool("skopeo")
    registry = make_registry()
    digest = push_image(registry, SAMPLE, "spyglass-demo:1.0", "team/app:1")
    push_image(registry, SAMPLE, "spyglass-demo:1.0", "team/other:1")
    silent = SilentServer()
    try:
        conf = tmp_path / "registries.conf"
        conf.write_text(f'[[registry]]\nlocation = "{registry.host}"\n'
                        f'[[registry.mirror]]\nlocation = "{silent.host}"\n')
        monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setattr(endpoint, "PING_TIMEOUT", httpx.Timeout(0.4))
        forget_clients()
        caplog.set_level(logging.WARNING)
        started = time.monotonic()
        image = open_registry_image(parse_docker_reference(f"{registry.host}/team/app:1"))
        assert str(image.top_manifest().digest) == digest
        assert time.monotonic() - started >= 0.4  # the mirror's silence, waited out once
        taken = silent.taken
        assert taken > 0
        for name in ("team/other:1", "team/app:1"):
            started = time.monotonic()
            image = open_registry_image(parse_docker_reference(f"{registry.host}/{name}"))
            image.top_manifest()
            assert time.monotonic() - started < 0.4, name
        assert silent.taken == taken  # not asked again
        with pytest.raises(Exception, match=rf"^Tried the mirror {silent.host}/team/"
                           r"nowhere:1 \(answered nothing a moment ago, not asked again\), "
                           rf"then {registry.host}/team/nowhere:1: "):
            open_registry_image(parse_docker_reference(f"{registry.host}/team/nowhere:1"))
        said = [r.getMessage() for r in caplog.records if "answered nothing" in r.getMessage()]
        assert said == [
            f"The mirror {silent.host} took the connection and answered nothing in < 1 s; "
            "images are read without it for now (it is not asked again for 60 s)."], said
    finally:
        silent.close()
