"""Blobs under way: one owner sends, the others wait until it is done or gone."""

from __future__ import annotations

from spyglass.core.transports.registry.underway import UploadsUnderWay


def test_the_first_claims_and_the_others_wait_until_it_releases() -> None:
    underway = UploadsUnderWay()
    first, second = object(), object()
    assert underway.claim(("h", "d"), first) is None
    assert underway.claim(("h", "d"), first) is None  # its own again (a retry)
    waiting = underway.claim(("h", "d"), second)
    assert waiting is not None and not waiting.is_set()
    assert underway.claim(("h", "other"), second) is None
    underway.release(("h", "d"), second)  # not its claim: nothing changes
    assert not waiting.is_set()
    underway.release(("h", "d"), first)
    assert waiting.is_set()
    assert underway.claim(("h", "d"), second) is None  # free again: the second sends it


def test_a_closed_owner_releases_every_claim() -> None:
    underway = UploadsUnderWay()
    owner = object()
    for digest in ("a", "b"):
        underway.claim(("h", digest), owner)
    waits = [underway.claim(("h", digest), object()) for digest in ("a", "b")]
    underway.release_all(owner)
    assert all(wait is not None and wait.is_set() for wait in waits)
