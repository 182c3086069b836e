"""The system's CA certificates, as a test chooses them.

:func:`hashed_ca_folder` writes CA certificates into a folder under OpenSSL's hash-named
links (``openssl rehash``), as ``/etc/ssl/certs`` holds them; :func:`use_as_system_cas`
makes such a folder the one ``ssl.get_default_verify_paths`` names (with the bundle file
given, or none) and unsets ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``, for the test.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from tests.helpers import require_tool


def hashed_ca_folder(folder: Path, *cas: Path) -> Path:
    """``folder``, holding the PEM files ``cas`` and their hash-named links; skips the test
    without openssl."""
    openssl = require_tool("openssl")
    folder.mkdir(parents=True, exist_ok=True)
    for number, ca in enumerate(cas):
        shutil.copyfile(ca, folder / f"ca-{number}.pem")
    subprocess.run([openssl, "rehash", str(folder)], check=True, capture_output=True,
                   timeout=60)
    return folder


def use_as_system_cas(monkeypatch: pytest.MonkeyPatch, folder: Path,
                      bundle: Path | None = None) -> None:
    """Make ``folder`` the system's CA folder, and ``bundle`` its bundle file (none by
    default), for this test."""
    paths = ssl.get_default_verify_paths()
    chosen = paths._replace(cafile=None if bundle is None else str(bundle), capath=str(folder))
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: chosen)
    monkeypatch.delenv(paths.openssl_cafile_env, raising=False)
    monkeypatch.delenv(paths.openssl_capath_env, raising=False)
