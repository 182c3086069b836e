"""Make containers/image "simple signing" signatures with a throwaway GnuPG key.

:class:`ThrowawayGpg` creates a private GnuPG home in a short temporary
folder (never the user's ``~/.gnupg``), generates one signing key without a
passphrase or expiry, exports its public keyring (the file ``gpgv
--keyring`` and containers' ``policy.json`` ``keyPath`` take), and signs
payloads with ``gpg --sign``: a binary OpenPGP message holding the payload,
neither detached nor clear-signed — what ``skopeo copy --sign-by`` writes.

Tests skip cleanly when gpg is not installed (:func:`require_gpg`)::

    with ThrowawayGpg() as gpg:
        keyring = gpg.export_public(tmp_path / "pubring.gpg")
        blob = gpg.sign(atomic_payload("registry.example/app", digest))
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.helpers import require_tool

__all__ = ["ATOMIC_TYPE", "ThrowawayGpg", "atomic_payload", "require_gpg"]

ATOMIC_TYPE = "atomic container signature"


def require_gpg() -> str:
    """The path of gpg, or skip the test (the reason names the tool)."""
    return require_tool("gpg")


def atomic_payload(
    docker_reference: str, manifest_digest: str, *, optional: dict[str, Any] | None = None
) -> bytes:
    """The payload containers/image signs (``critical.type`` "atomic container signature")."""
    document = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": ATOMIC_TYPE,
        },
        "optional": optional if optional is not None else {"creator": "spyglass tests"},
    }
    return json.dumps(document, separators=(",", ":")).encode()


class ThrowawayGpg:
    """A temporary GnuPG home with one signing key; close it (or use ``with``) to remove it.

    ``algorithm`` is a ``gpg --quick-gen-key`` algorithm: ``ed25519`` (fast) or
    ``rsa2048``. ``fingerprint`` and ``key_id`` are upper-case hex.
    """

    def __init__(
        self,
        user_id: str = "Spyglass Test <spyglass-test@example.invalid>",
        algorithm: str = "ed25519",
    ) -> None:
        self.gpg = require_gpg()
        # short path: the agent's socket path must stay under ~108 bytes
        self.home = Path(tempfile.mkdtemp(prefix="sg-gpg-"))
        self.home.chmod(0o700)
        self.user_id = user_id
        try:
            self._run("--quick-gen-key", user_id, algorithm, "sign", "never")
            self.fingerprint = self._fingerprint()
        except BaseException:
            self.close()
            raise
        self.key_id = self.fingerprint[-16:]

    # -- use

    def export_public(self, path: Path, *, armor: bool = False) -> Path:
        """Write the public key as a keyring file (``gpg --export``) and return its path."""
        args = ["--export"] + (["--armor"] if armor else []) + [self.fingerprint]
        path.write_bytes(self._run(*args).stdout)
        return path

    def sign(self, payload: bytes, *, compress_algo: str | None = None) -> bytes:
        """A binary, non-detached ``gpg --sign`` of ``payload``.

        ``compress_algo`` is ``none``, ``zip``, ``zlib`` or ``bzip2``; gpg's
        default (zlib) when None.
        """
        args = ["--local-user", self.fingerprint, "--sign", "--output", "-"]
        if compress_algo is not None:
            args = ["--compress-algo", compress_algo, *args]
        return self._run(*args, stdin=payload).stdout

    def close(self) -> None:
        """Stop the agent this home started and remove the home."""
        gpgconf = shutil.which("gpgconf")
        if gpgconf:
            subprocess.run(
                [gpgconf, "--homedir", str(self.home), "--kill", "all"],
                capture_output=True, check=False, timeout=30, env=self._env(),
            )
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> ThrowawayGpg:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals

    def _env(self) -> dict[str, str]:
        return dict(os.environ, GNUPGHOME=str(self.home), LC_ALL="C")

    def _run(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        argv = [self.gpg, "--homedir", str(self.home), "--batch", "--no-tty",
                "--pinentry-mode", "loopback", "--passphrase", "", *args]
        result = subprocess.run(
            argv, input=stdin, capture_output=True, check=False, timeout=120, env=self._env()
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"gpg {' '.join(args)} failed ({result.returncode}): "
                f"{result.stderr.decode(errors='replace')}"
            )
        return result

    def _fingerprint(self) -> str:
        listing = self._run("--with-colons", "--list-keys", self.user_id).stdout.decode()
        for line in listing.splitlines():
            if line.startswith("fpr:"):
                return line.split(":")[9]
        raise RuntimeError(f"gpg listed no fingerprint for {self.user_id}:\n{listing}")
