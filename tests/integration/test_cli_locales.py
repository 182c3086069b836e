"""The command line under locales that are not UTF-8 (``LC_ALL=C`` without Python's UTF-8
mode, Latin-1), against a real registry whose user and password are not ASCII.

A terminal sends the bytes typed; skopeo sends them on as they are, whatever the
locale. Python reads the command line in the locale's encoding, so the credentials
were sent encoded twice (Latin-1) or not at all (an internal error under C).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.imagebuild import multi_platform_layout
from tests.helpers.locales import LATIN1, require_locale, spyglass_under
from tests.helpers.registry import RegistryServer, push_image
from tests.helpers.tokenserver import TokenServer

pytestmark = pytest.mark.integration

USER, PASSWORD = "zo\u00eb", "p\u00e4ssw\u00f6rd"
CREDS = f"{USER}:{PASSWORD}".encode()
"""What a UTF-8 terminal (or script) gives, whatever the locale says."""


def spyglass(locale: str, *args: str | bytes, cwd: Path | None = None,
             ) -> subprocess.CompletedProcess[bytes]:
    """``python -m spyglass ARGS`` under ``locale``; the password is never shown."""
    done = spyglass_under(locale, *args, cwd=cwd)
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
    return require_locale(str(request.param))


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
    assert b'refused to log in as "zo\\xeb"' in done.stderr, done.stderr


def test_creds_that_are_not_ascii_log_in_through_a_token_server(
        make_token_server: Callable[..., TokenServer],
        make_registry: Callable[..., RegistryServer], locale: str, tmp_path: Path) -> None:
    """The token server is asked with the password's UTF-8 bytes (Basic auth), and takes
    them: a push, then a read with the token it gives."""
    tokens = make_token_server(users={USER: PASSWORD}, acl={USER: {"*": ["*"]}},
                               allow_anonymous=False)
    registry = make_registry(token_server=tokens)
    multi_platform_layout(tmp_path / "layout")
    name = f"docker://{registry.host}/locales/token:1"
    done = spyglass(locale, "copy", "-q", "--dest-creds", CREDS, "oci:layout:latest", name,
                    cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, b"")
    done = spyglass(locale, "tags", "--creds", CREDS, name.rpartition(":")[0])
    assert (done.returncode, done.stderr) == (0, b"")
    assert b'"1"' in done.stdout
    assert {r.account for r in tokens.requests} == {USER}
