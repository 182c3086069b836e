"""Verifying simple signing signatures through gpgv/gpg with a keyring file."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

from spyglass.core.digest import Digest
from spyglass.core.signatures import InvalidKey, Status, verify_simple_signing
from spyglass.core.signatures import gpg as gpg_module
from spyglass.core.signatures.gpg import GPG_MISSING_DETAIL, GpgStatus
from tests.helpers.cosign import generate_key, public_key_pem, simple_signing_payload
from tests.helpers.pgp import ThrowawayGpg, atomic_payload

DIGEST = Digest.of(b"a manifest signed with gpg")
OTHER = Digest.of(b"some other manifest")
REFERENCE = "registry.example/team/app:2.0"
PAYLOAD = atomic_payload(REFERENCE, str(DIGEST))


@pytest.fixture(params=["gpgv", "gpg"])
def tool(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run each verification through gpgv and through gpg."""
    path = shutil.which(request.param)
    if path is None:
        pytest.skip(f"needs {request.param} on PATH")
    monkeypatch.setattr(gpg_module, "find_gpg", lambda: (path, request.param == "gpgv"))
    return str(request.param)


def test_good_signature_is_verified(gpg_key: ThrowawayGpg, keyring: Path, tool: str) -> None:
    result = verify_simple_signing(gpg_key.sign(PAYLOAD), keyring, DIGEST)
    assert result.status is Status.VERIFIED, result.detail
    assert result.signer == gpg_key.fingerprint
    assert REFERENCE in result.detail and "pubring.gpg" in result.detail


def test_signature_for_another_image_is_wrong_image(
    gpg_key: ThrowawayGpg, keyring: Path, tool: str
) -> None:
    result = verify_simple_signing(gpg_key.sign(PAYLOAD), keyring, OTHER)
    assert result.status is Status.WRONG_IMAGE
    assert str(DIGEST) in result.detail and str(OTHER) in result.detail


def test_key_not_in_keyring_is_bad_signature(
    gpg_key: ThrowawayGpg, other_gpg_key: ThrowawayGpg, tmp_path: Path, tool: str
) -> None:
    other_ring = other_gpg_key.export_public(tmp_path / "other.gpg")
    result = verify_simple_signing(gpg_key.sign(PAYLOAD), other_ring, DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "not in the keyring" in result.detail
    assert gpg_key.key_id in result.detail


def test_modified_payload_is_bad_signature(
    gpg_key: ThrowawayGpg, keyring: Path, tool: str
) -> None:
    blob = gpg_key.sign(PAYLOAD, compress_algo="none")
    assert b"team" in blob
    tampered = blob.replace(b"team", b"evil")
    result = verify_simple_signing(tampered, keyring, DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "does not match" in result.detail


def test_keyring_with_several_keys(
    gpg_key: ThrowawayGpg, other_gpg_key: ThrowawayGpg, tmp_path: Path, tool: str
) -> None:
    one = gpg_key.export_public(tmp_path / "one.gpg").read_bytes()
    two = other_gpg_key.export_public(tmp_path / "two.gpg").read_bytes()
    both = tmp_path / "both.gpg"
    both.write_bytes(two + one)
    assert verify_simple_signing(gpg_key.sign(PAYLOAD), both, DIGEST).ok


def test_armored_keyring_is_accepted(gpg_key: ThrowawayGpg, tmp_path: Path, tool: str) -> None:
    armored = gpg_key.export_public(tmp_path / "key.asc", armor=True)
    assert armored.read_bytes().startswith(b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
    assert verify_simple_signing(gpg_key.sign(PAYLOAD), armored, DIGEST).ok


def test_good_signature_over_a_cosign_payload_is_refused(
    gpg_key: ThrowawayGpg, keyring: Path
) -> None:
    payload = simple_signing_payload(REFERENCE, str(DIGEST))
    result = verify_simple_signing(gpg_key.sign(payload), keyring, DIGEST)
    assert result.status is Status.WRONG_IMAGE
    assert "cosign container image signature" in result.detail


def test_good_signature_over_non_json_names_no_image(
    gpg_key: ThrowawayGpg, keyring: Path
) -> None:
    result = verify_simple_signing(gpg_key.sign(b"hello"), keyring, DIGEST)
    assert result.status is Status.WRONG_IMAGE
    assert "names no image" in result.detail


def test_rsa_key(tmp_path: Path) -> None:
    with ThrowawayGpg("RSA Test <rsa@example.invalid>", algorithm="rsa2048") as gpg:
        ring = gpg.export_public(tmp_path / "rsa.gpg")
        assert verify_simple_signing(gpg.sign(PAYLOAD), ring, DIGEST).ok


def test_not_openpgp_is_bad_signature(keyring: Path) -> None:
    result = verify_simple_signing(b"hello world", keyring, DIGEST)
    assert result.status is Status.BAD_SIGNATURE
    assert "not an OpenPGP message" in result.detail


def test_truncated_signature_is_bad_signature(gpg_key: ThrowawayGpg, keyring: Path) -> None:
    blob = gpg_key.sign(PAYLOAD)
    result = verify_simple_signing(blob[: len(blob) // 2], keyring, DIGEST)
    assert result.status is Status.BAD_SIGNATURE


def test_users_gnupg_home_is_never_touched(
    gpg_key: ThrowawayGpg, keyring: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "users-gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    assert verify_simple_signing(gpg_key.sign(PAYLOAD), keyring, DIGEST).ok
    assert list(home.iterdir()) == []


def test_missing_gpg_is_unsupported(keyring: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = verify_simple_signing(b"\xa3\x01", keyring, DIGEST)
    assert result.status is Status.UNSUPPORTED
    assert result.detail == GPG_MISSING_DETAIL
    assert "gpg is not installed" in result.detail


def test_missing_keyring_raises_invalid_key(tmp_path: Path) -> None:
    with pytest.raises(InvalidKey, match="could not be read"):
        verify_simple_signing(b"\xa3\x01", tmp_path / "absent.gpg", DIGEST)


def test_empty_keyring_raises_invalid_key(tmp_path: Path) -> None:
    empty = tmp_path / "empty.gpg"
    empty.write_bytes(b"")
    with pytest.raises(InvalidKey, match="empty"):
        verify_simple_signing(b"\xa3\x01", empty, DIGEST)


def test_a_pem_key_given_as_the_keyring_is_named_as_one(
    gpg_key: ThrowawayGpg, tmp_path: Path
) -> None:
    """A PEM public key given as the keyring went to gpgv, and the signature was said to
    be made by a key 'not in the keyring': the file is no keyring at all."""
    pem = tmp_path / "A.pub"
    pem.write_bytes(public_key_pem(generate_key()))
    with pytest.raises(InvalidKey) as refused:
        verify_simple_signing(gpg_key.sign(PAYLOAD), pem, DIGEST)
    assert str(refused.value) == (
        f'The keyring "{pem}" holds no OpenPGP key but a PEM public key or certificate, '
        "which checks cosign and Notary v2 signatures, not simple signing ones; choose a GPG "
        "keyring (gpg --export) for this signature.")
    assert refused.value.on_command_line == (
        f'The keyring "{pem}" holds no OpenPGP key but a PEM public key or certificate: give '
        "that with --key (cosign, Notary v2), and with --keyring what gpg --export writes.")


@pytest.mark.parametrize("content", ["text", "armored signature", "binary signature"])
def test_a_keyring_that_holds_no_key_says_so(
    gpg_key: ThrowawayGpg, tmp_path: Path, content: str
) -> None:
    data = {"text": b"just some notes\n",
            "binary signature": gpg_key.sign(PAYLOAD),
            "armored signature": (b"-----BEGIN PGP MESSAGE-----\n\n"
                                  + base64.encodebytes(gpg_key.sign(PAYLOAD))
                                  + b"-----END PGP MESSAGE-----\n")}[content]
    ring = tmp_path / "ring.gpg"
    ring.write_bytes(data)
    with pytest.raises(InvalidKey) as refused:
        verify_simple_signing(gpg_key.sign(PAYLOAD), ring, DIGEST)
    assert str(refused.value) == (f'The keyring "{ring}" holds no OpenPGP key; expected the '
                                  "output of gpg --export (binary or --armor).")


def test_a_keybox_is_a_keyring(gpg_key: ThrowawayGpg, tool: str) -> None:
    """GnuPG's own pubring.kbx (no OpenPGP packet first) is a keyring gpgv reads."""
    keybox = gpg_key.home / "pubring.kbx"
    assert keybox.read_bytes()[8:12] == b"KBXf"
    assert verify_simple_signing(gpg_key.sign(PAYLOAD), keybox, DIGEST).ok


def test_status_parsing() -> None:
    status = GpgStatus.parse(
        "gpg: some noise\n[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG ABCDEF0123456789 Someone <a@b>\n"
        "[GNUPG:] VALIDSIG FPR 2024-01-01 1704067200 0 4 0 22 8 00 PRIMARYFPR\n"
    )
    assert status.first("GOODSIG") == ("ABCDEF0123456789", "Someone", "<a@b>")
    assert status.first("VALIDSIG")[-1] == "PRIMARYFPR"  # type: ignore[index]
    assert status.first("BADSIG") is None


@pytest.mark.parametrize(
    ("lines", "status", "words"),
    [
        ("[GNUPG:] EXPKEYSIG ABC Someone\n", Status.BAD_SIGNATURE, "the key has expired"),
        ("[GNUPG:] REVKEYSIG ABC Someone\n", Status.BAD_SIGNATURE, "was revoked"),
        ("[GNUPG:] EXPSIG ABC Someone\n", Status.BAD_SIGNATURE, "has expired"),
        ("[GNUPG:] ERRSIG ABC 22 8 00 1704067200 4 FPR\n", Status.UNSUPPORTED, "algorithm"),
        ("[GNUPG:] NO_PUBKEY ABC\n", Status.BAD_SIGNATURE, "not in the keyring"),
        ("", Status.BAD_SIGNATURE, "did not accept"),
    ],
)
def test_judging_status_lines(lines: str, status: Status, words: str) -> None:
    result = gpg_module._judge(GpgStatus.parse(lines), 1, b"gpgv: trouble\n", b"",
                               Path("ring.gpg"), DIGEST)
    assert result.status is status
    assert words in result.detail


def test_environment_gnupghome_is_restored(keyring: Path, gpg_key: ThrowawayGpg) -> None:
    before = os.environ.get("GNUPGHOME")
    verify_simple_signing(gpg_key.sign(PAYLOAD), keyring, DIGEST)
    assert os.environ.get("GNUPGHOME") == before
