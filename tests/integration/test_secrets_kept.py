"""Secrets are never said back: not a token a header cannot carry, not the password of a
lookaside store's URL or of a host typed with one, not a mistyped flag's value, and
the window's log holds no request URL (a pre-signed blob URL is a credential)."""

from __future__ import annotations

import http.server
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.registry import RegistryServer

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-Value-42"


def spyglass(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "spyglass", *args], capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}, timeout=60, check=False,
        stdin=subprocess.DEVNULL)
    assert SECRET not in done.stdout + done.stderr, done.stderr
    return done


@pytest.mark.parametrize("token", [f"{SECRET}\r", f"{SECRET} ", f"{SECRET}\n"])
def test_a_token_a_header_cannot_carry_is_not_quoted(token_registry: RegistryServer,
                                                     token: str) -> None:
    # (a token file with Windows line ends, read with "$(cat token.txt)")
    done = spyglass("inspect", "--retry-times", "0", "--tls-verify=false",
                    "--registry-token", token, f"docker://{token_registry.host}/some/app:v1")
    assert done.returncode == 1
    assert "could not be sent: a header would carry a character HTTP does not allow" in (
        done.stderr)
    assert "Cannot reach" not in done.stderr


def test_a_lookaside_stores_password_is_not_said_back(registry: RegistryServer,
                                                      tmp_path: Path) -> None:
    class Failing(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(500)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        folder = tmp_path / "registries.d"
        folder.mkdir()
        (folder / "store.yaml").write_text(
            f"docker:\n  {registry.host}:\n    lookaside: "
            f"http://sigs:{SECRET}@127.0.0.1:{server.server_address[1]}/sigs\n")
        from tests.helpers.imagebuild import multi_platform_layout
        from tests.helpers.registry import push_image

        multi_platform_layout(tmp_path / "layout")
        push_image(registry, tmp_path / "layout", "latest", "secrets/lookaside:v1")
        done = spyglass("signatures", "--tls-verify=false", "--registries.d", str(folder),
                        f"docker://{registry.host}/secrets/lookaside:v1")
        assert "http://sigs:xxxxx@127.0.0.1:" in done.stderr + done.stdout
    finally:
        server.shutdown()
        server.server_close()


def test_a_host_typed_with_a_password_is_not_said_back() -> None:
    done = spyglass("logout", f"http://bob:{SECRET}@127.0.0.1:5000")
    assert done.returncode != 0
    assert '"http://bob:xxxxx@127.0.0.1:5000" is not a registry host' in done.stderr
    assert "credentials do not go in it" in done.stderr


def test_a_mistyped_flags_value_is_not_said_back() -> None:
    done = spyglass("copy", f"--src-credz=alice:{SECRET}", "oci:a:b", "oci:c:d")
    assert done.returncode == 2
    assert "Unrecognized arguments: --src-credz=…." in done.stderr


def test_the_windows_log_holds_no_request_urls() -> None:
    from spyglass.gui.app import QUIET_LOGGERS, _configure_logging

    levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    try:
        _configure_logging()
        for name in QUIET_LOGGERS:
            assert not logging.getLogger(name).isEnabledFor(logging.INFO)
        assert "httpx" in QUIET_LOGGERS
    finally:  # (the other tests' logging as it was)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_credentials_a_registry_echoes_are_not_said_back() -> None:
    """A registry (or a debugging proxy, a WAF page) that quotes the password and the
    Basic header it refused: the command line's sentence quotes it with both scrubbed."""
    from tests.helpers.loopback_http import LoopbackServer

    class Echoing(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            header = self.headers.get("Authorization")
            said = f"bad login alice:{SECRET} header {header}" if header else "log in"
            body = json.dumps({"errors": [{"code": "UNAUTHORIZED", "message": said}]}).encode()
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="echo"')
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    with LoopbackServer() as server:
        server.start(Echoing)
        done = spyglass("inspect", "--retry-times", "0", "--tls-verify=false", "--creds",
                        f"alice:{SECRET}", f"docker://{server.address}/team/app:v1")
    assert done.returncode == 1
    assert "(the registry says: bad login *** header Basic ***)" in done.stderr
    assert "YWxpY2U6" not in done.stderr  # (the base64 of "alice:…")


def test_a_short_password_leaves_the_registrys_words_as_they_are(
    make_registry: Callable[..., RegistryServer], registry: RegistryServer,
) -> None:
    """A password of a letter or two is scrubbed where it stands alone, and only when it
    was sent: "manifest unknown" stays itself (and unsaid, as it says nothing more), and so
    do the words of a registry that asked for no credentials."""
    basic = make_registry(htpasswd={"u": "a"})
    for creds, host in (("u:a", basic.host), ("u:e", basic.host), ("u:t", basic.host),
                        ("u:e", registry.host)):
        done = spyglass("inspect", "--retry-times", "0", "--tls-verify=false", "--creds",
                        creds, f"docker://{host}/team/app:nope")
        assert done.returncode == 1
        assert "***" not in done.stderr, done.stderr
        assert "has no repository team/app" in done.stderr or \
            "refused the credentials given." in done.stderr, done.stderr
