"""Fixtures shared by the signature tests: throwaway GnuPG keys (skipped without gpg)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.pgp import ThrowawayGpg


@pytest.fixture(scope="module")
def gpg_key() -> Iterator[ThrowawayGpg]:
    """An Ed25519 signing key in a private GnuPG home."""
    with ThrowawayGpg() as gpg:
        yield gpg


@pytest.fixture(scope="module")
def other_gpg_key() -> Iterator[ThrowawayGpg]:
    """A second, unrelated key: its keyring must not verify ``gpg_key``'s signatures."""
    with ThrowawayGpg("Someone Else <someone-else@example.invalid>") as gpg:
        yield gpg


@pytest.fixture()
def keyring(gpg_key: ThrowawayGpg, tmp_path: Path) -> Path:
    """``gpg_key``'s public key exported as a binary keyring file."""
    return gpg_key.export_public(tmp_path / "pubring.gpg")
