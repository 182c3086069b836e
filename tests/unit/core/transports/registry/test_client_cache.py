"""The registry clients kept for reuse (client_for): bounded, the most recent kept."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from spyglass.core.transports import registry


@pytest.fixture(autouse=True)
def no_clients() -> Iterator[None]:
    registry.forget_clients()
    yield
    registry.forget_clients()


def test_the_clients_kept_are_bounded_the_most_recently_used_kept() -> None:
    """A sync across thousands of repositories kept a client for each, for good."""
    first = registry.client_for("r.example", repository="team/0")
    kept = registry.client_for("r.example", repository="team/1")
    for number in range(2, registry.MAX_CLIENTS + 10):
        registry.client_for("r.example", repository=f"team/{number}")
        registry.client_for("r.example", repository="team/1")  # (used all along)
    assert len(registry._clients) == registry.MAX_CLIENTS
    assert registry.client_for("r.example", repository="team/1") is kept
    assert registry.client_for("r.example", repository="team/0") is not first
