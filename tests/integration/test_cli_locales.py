"""The command line under locales that are not UTF-8 (``LC_ALL=C`` without Python's UTF-8
mode, Latin-1), against a real registry whose user and password are not ASCII.

A terminal sends the bytes typed; skopeo sends them on as they are, whatever the
locale. Python reads the command line in the locale's encoding, so the credentials
were sent encoded twice (Latin-1) or not at all (an internal error under C).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.imagebuild import multi_platform_layout
from tests.helpers.registry import RegistryServer, push_image

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "zo\u00eb", "p\u00e4ssw\u00f6rd"
CREDS = f"{USER}:{PASSWORD}".encode()
"""What a UTF-8 terminal (or script) gives, whatever the locale says."""

LATIN1 = "en_US.ISO-8859-1"


def locale_env(name: str) -> dict[str, str]:
    """The environment for a run under the locale ``name``, without Python's UTF-8 mode
    (which ``LC_ALL=C`` alone turns on)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("LC_") and key not in ("LANG", "LANGUAGE",
                                                        "PYTHONIOENCODING")}
    env.update(LC_ALL=name, PYTHONUTF8="0", PYTHONCOERCECLOCALE="0",
               PYTHONPATH=str(REPO_ROOT / "app"))
    return env


def locale_available(name: str) -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "import locale, sys; locale.setlocale(locale.LC_ALL, ''); "
         "print(sys.getfilesystemencoding())"],
        env=locale_env(name), capture_output=True, text=True, check=False, timeout=30)
    return probe.returncode == 0 and probe.stdout.strip().lower().replace("-", "") != "utf8"


def spyglass(locale: str, *args: str | bytes, cwd: Path | None = None,
             ) -> subprocess.CompletedProcess[bytes]:
    """``python -m spyglass ARGS`` under ``locale``, the arguments' bytes as given."""
    done = subprocess.run([sys.executable, "-m", "spyglass", *args], env=locale_env(locale),
                          cwd=cwd, capture_output=True, stdin=subprocess.DEVNULL,
                          timeout=60, check=False)
    assert PASSWORD.encode() not in done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def server(registry_binary: str, tmp_path_factory: pytest.TempPathFactory,
           ) -> Iterator[tuple[RegistryServer, str]]:
    """A registry whose one user is ``zoë``/``pässwörd`` (UTF-8, as skopeo sends them),
    holding ``locales/app:1``; and the image's digest."""
    layout = tmp_path_factory.mktemp("locales") / "layout"
    multi_platform_layout(layout)
    with RegistryServer(binary=registry_binary, htpasswd={USER: PASSWORD}) as started:
        digest = push_image(started, layout, "latest", "locales/app:1", creds=(USER, PASSWORD))
        yield started, digest


@pytest.fixture(params=["C", LATIN1])
def locale(request: pytest.FixtureRequest) -> str:
    name = str(request.param)
    if not locale_available(name):
        pytest.skip(f"the locale {name} is not installed here (localedef makes it)")
    return name


def test_creds_are_sent_as_the_bytes_given(server: tuple[RegistryServer, str],
                                           locale: str) -> None:
    registry, digest = server
    name = f"docker://{registry.host}/locales/app:1"
    done = spyglass(locale, "inspect", "--tls-verify=false", "--creds", CREDS,
                    "--format", "{{.Digest}}", name)
    assert (done.returncode, done.stderr) == (0, b"")
    assert done.stdout == f"{digest}\n".encode()
    done = spyglass(locale, "inspect", "--tls-verify=false", "--username", USER.encode(),
                    "--password", PASSWORD.encode(), "--raw", name)
    assert (done.returncode, done.stderr) == (0, b"")
    assert b'"manifests"' in done.stdout


def test_a_copys_creds_are_sent_as_the_bytes_given(
        server: tuple[RegistryServer, str], locale: str, tmp_path: Path) -> None:
    registry, _digest = server
    done = spyglass(locale, "copy", "-q", "--src-tls-verify=false", "--src-creds", CREDS,
                    f"docker://{registry.host}/locales/app:1", "oci:copied:1", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, b"")
    assert (tmp_path / "copied" / "index.json").is_file()
    done = spyglass(locale, "copy", "-q", "--dest-tls-verify=false", "--dest-creds", CREDS,
                    "oci:copied:1", f"docker://{registry.host}/locales/again:1", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, b"")


def test_wrong_creds_that_are_no_utf8_are_refused_with_a_sentence(
        server: tuple[RegistryServer, str]) -> None:
    """A user name whose bytes are not UTF-8 (Latin-1's ``zoë``) is sent, refused, and
    named as those bytes (not an internal error)."""
    registry, _digest = server
    done = spyglass("C", "inspect", "--tls-verify=false", "--creds", b"zo\xeb:x",
                    f"docker://{registry.host}/locales/app:1")
    assert done.returncode == 1
    assert b"internal error" not in done.stderr
    assert b"credentials" in done.stderr


def test_a_token_servers_account_that_is_no_utf8_is_sent_as_given(
        token_registry: RegistryServer) -> None:
    """The token request names the account (``account=zo%EB``): it was an internal error
    (httpx takes UTF-8 text alone); the refusal is a sentence."""
    done = spyglass("C", "inspect", "--tls-verify=false", "--creds", b"zo\xeb:x",
                    f"docker://{token_registry.host}/private/nothing:1")
    assert done.returncode == 1
    assert b"internal error" not in done.stderr
    assert b"refused" in done.stderr
