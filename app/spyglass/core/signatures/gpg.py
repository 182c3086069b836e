"""Verifying simple signing signatures with GnuPG, never touching the user's keyrings.

``gpgv`` (or, failing that, ``gpg``) runs in a fresh temporary home
directory with the given keyring as its only keyring, and reports through
``--status-fd``: ``GOODSIG``/``VALIDSIG`` for a good signature, ``BADSIG``
for a bad one, ``ERRSIG``/``NO_PUBKEY`` when the key is not in the keyring,
``EXPKEYSIG``/``REVKEYSIG``/``EXPSIG`` for expired or revoked keys. The
payload checked against the image is the one GnuPG wrote out after
verifying, not one parsed on our own.

The keyring is what ``gpg --export KEY > keyring.gpg`` writes (binary);
``gpg --export --armor`` output is accepted too and converted first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from spyglass.core.digest import Digest
from spyglass.core.signatures import media
from spyglass.core.signatures.model import (
    InvalidKey,
    InvalidSignature,
    Status,
    Verification,
)
from spyglass.core.signatures.openpgp import dearmor, looks_like_openpgp, openpgp_key_kind
from spyglass.core.signatures.payload import parse_simple_signing_payload

TIMEOUT_SECONDS: Final = 60
GPG_MISSING_DETAIL: Final = (
    "Not verified: gpg is not installed; install GnuPG (gpgv) to check simple signing "
    "signatures."
)
_STATUS_PREFIX: Final = "[GNUPG:] "
_KEYBOX_MAGIC: Final = b"KBXf"
"""What a GnuPG keybox (``pubring.kbx``) holds at offset 8, in its header blob."""


@dataclass(frozen=True)
class GpgStatus:
    """The status lines GnuPG printed, by keyword, each with its arguments."""

    lines: tuple[tuple[str, tuple[str, ...]], ...]

    @classmethod
    def parse(cls, text: str) -> GpgStatus:
        rows: list[tuple[str, tuple[str, ...]]] = []
        for line in text.splitlines():
            if not line.startswith(_STATUS_PREFIX):
                continue
            keyword, *args = line[len(_STATUS_PREFIX):].split()
            rows.append((keyword, tuple(args)))
        return cls(tuple(rows))

    def first(self, keyword: str) -> tuple[str, ...] | None:
        for name, args in self.lines:
            if name == keyword:
                return args
        return None


def find_gpg() -> tuple[str, bool] | None:
    """The path of ``gpgv`` (preferred) or ``gpg``, and whether it is gpgv; None if neither."""
    gpgv = shutil.which("gpgv")
    if gpgv:
        return gpgv, True
    gpg = shutil.which("gpg")
    if gpg:
        return gpg, False
    return None


def verify_simple_signing(
    blob: bytes, keyring_path: Path, image_digest: Digest
) -> Verification:
    """Check a simple signing signature with the keys in ``keyring_path``, and its image.

    Returns VERIFIED when GnuPG finds a good signature by a key in the
    keyring and the signed payload names ``image_digest``; BAD_SIGNATURE
    for a bad signature or a key not in the keyring (or expired/revoked);
    WRONG_IMAGE for a good signature over another image; UNSUPPORTED when
    GnuPG is not installed or cannot handle the algorithm. Raises
    :class:`InvalidKey` when the keyring file cannot be read.
    """
    keyring = read_keyring(keyring_path)
    tool = find_gpg()
    if tool is None:
        return Verification(Status.UNSUPPORTED, GPG_MISSING_DETAIL)
    if not looks_like_openpgp(blob):
        return Verification(
            Status.BAD_SIGNATURE,
            "The signature is not an OpenPGP message, so it cannot be checked.",
        )
    program, is_gpgv = tool
    with tempfile.TemporaryDirectory(prefix="spyglass-gpg-", ignore_cleanup_errors=True) as tmp:
        home = Path(tmp)
        (home / "keyring.gpg").write_bytes(keyring)
        (home / "signature.gpg").write_bytes(blob)
        output = home / "payload"
        if is_gpgv:
            argv = [program, "--homedir", str(home), "--keyring", str(home / "keyring.gpg")]
        else:
            argv = [program, "--homedir", str(home), "--batch", "--no-tty",
                    "--no-default-keyring", "--keyring", str(home / "keyring.gpg"),
                    "--trust-model", "always", "--no-auto-key-retrieve"]
        argv += ["--status-fd", "1", "--output", str(output)]
        argv += [str(home / "signature.gpg")] if is_gpgv else ["--decrypt",
                                                              str(home / "signature.gpg")]
        env = dict(os.environ, GNUPGHOME=str(home), LC_ALL="C", LANGUAGE="C")
        try:
            result = subprocess.run(
                argv, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                timeout=TIMEOUT_SECONDS, check=False,
            )
        except subprocess.TimeoutExpired:
            return Verification(
                Status.UNSUPPORTED,
                f"Not verified: {Path(program).name} did not finish within {TIMEOUT_SECONDS} "
                "seconds.",
            )
        except OSError as exc:
            return Verification(
                Status.UNSUPPORTED, f"Not verified: {Path(program).name} could not be run: {exc}."
            )
        status = GpgStatus.parse(result.stdout.decode("utf-8", "replace"))
        payload = output.read_bytes() if output.exists() else b""
    return _judge(status, result.returncode, result.stderr, payload, keyring_path, image_digest)


def read_keyring(path: Path) -> bytes:
    """The keyring at ``path`` as GnuPG reads it (binary: an armored one converted).

    Raises :class:`InvalidKey` with a sentence when it cannot be read, or holds no
    OpenPGP key: neither ``gpg --export`` output (its first packet a key) nor a keybox
    (``pubring.kbx``). A PEM public key or certificate there is named as one, for
    cosign and Notary v2 signatures."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidKey(
            f'The keyring "{path}" could not be read: {exc.strerror or exc}.'
        ) from exc
    if not data.strip():
        raise InvalidKey(f'The keyring "{path}" is empty; expected the output of gpg --export.')
    try:
        keyring = dearmor(data)
    except InvalidSignature as exc:
        raise InvalidKey(f'The keyring "{path}" could not be read: {exc}') from exc
    if openpgp_key_kind(keyring) is None and keyring[8:12] != _KEYBOX_MAGIC:
        raise _no_openpgp_key(path, data)
    return keyring


def _no_openpgp_key(path: Path, data: bytes) -> InvalidKey:
    """The refusal of a keyring file that holds no OpenPGP key (a PEM key, say)."""
    text = data.lstrip()
    if text.startswith(b"-----BEGIN ") and (
            b"PUBLIC KEY-----" in text[:40] or b"CERTIFICATE-----" in text[:40]):
        return InvalidKey(
            f'The keyring "{path}" holds no OpenPGP key but a PEM public key or '
            "certificate, which checks cosign and Notary v2 signatures, not simple signing "
            "ones; choose a GPG keyring (gpg --export) for this signature.",
            on_command_line=f'The keyring "{path}" holds no OpenPGP key but a PEM public '
            "key or certificate: give that with --key (cosign, Notary v2), and with "
            "--keyring what gpg --export writes.",
        )
    return InvalidKey(f'The keyring "{path}" holds no OpenPGP key; expected the output of '
                      "gpg --export (binary or --armor).")


def _judge(
    status: GpgStatus,
    returncode: int,
    stderr: bytes,
    payload: bytes,
    keyring_path: Path,
    image_digest: Digest,
) -> Verification:
    keyring_name = Path(keyring_path).name
    if (args := status.first("BADSIG")) is not None:
        return Verification(
            Status.BAD_SIGNATURE,
            f"The signature by key {_first(args)} does not match its payload: the payload was "
            "changed, or the signature is corrupt.",
        )
    for keyword, reason in (("EXPKEYSIG", "has expired"), ("REVKEYSIG", "was revoked"),
                            ("EXPSIG", "signature itself has expired")):
        if (args := status.first(keyword)) is not None:
            what = f"The signature by key {_first(args)}"
            detail = (f"{what} has expired." if keyword == "EXPSIG"
                      else f"{what} is intact, but the key {reason}.")
            return Verification(Status.BAD_SIGNATURE, detail)
    errsig = status.first("ERRSIG")
    if errsig is not None or status.first("NO_PUBKEY") is not None:
        key = _first(errsig) if errsig else _first(status.first("NO_PUBKEY") or ())
        rc = errsig[5] if errsig and len(errsig) > 5 else "9"
        if rc == "4":
            return Verification(
                Status.UNSUPPORTED,
                "Not verified: GnuPG does not support the algorithm of the signature by key "
                f"{key}.",
            )
        return Verification(
            Status.BAD_SIGNATURE,
            f'The signature was made by key {key}, which is not in the keyring "{keyring_name}".',
        )
    good = status.first("GOODSIG")
    valid = status.first("VALIDSIG")
    if good is None or valid is None or returncode != 0:
        message = stderr.decode("utf-8", "replace").strip().splitlines()
        reason = message[-1] if message else f"exit status {returncode}"
        return Verification(
            Status.BAD_SIGNATURE, f"GnuPG did not accept the signature: {reason}."
        )
    fingerprint = valid[-1] if len(valid) >= 10 else _first(valid)
    try:
        parsed = parse_simple_signing_payload(payload, what="the signed payload")
    except InvalidSignature as exc:
        return Verification(
            Status.WRONG_IMAGE, f"The signature is good, but names no image: {exc}", fingerprint
        )
    if parsed.type != media.ATOMIC_PAYLOAD_TYPE:
        return Verification(
            Status.WRONG_IMAGE,
            f'The signature is good, but the signed payload is of type "{parsed.type}", not '
            f'"{media.ATOMIC_PAYLOAD_TYPE}".',
            fingerprint,
        )
    if parsed.manifest_digest != image_digest:
        return Verification(
            Status.WRONG_IMAGE,
            f"The signature is good, but it signs {parsed.manifest_digest} "
            f"({parsed.docker_reference}), not this image ({image_digest}).",
            fingerprint,
        )
    return Verification(
        Status.VERIFIED,
        f'Verified with key {fingerprint} from "{keyring_name}": the signature is good and '
        f"signs this image as {parsed.docker_reference}.",
        fingerprint,
        parsed.docker_reference,
    )


def _first(args: tuple[str, ...]) -> str:
    return args[0] if args else "(unknown)"
