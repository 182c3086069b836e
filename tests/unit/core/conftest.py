"""Fixtures shared by the core's unit tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The bytes :func:`spyglass.core.gojson.loads` decodes from now on."""
    from spyglass.core import gojson

    seen: list[bytes] = []
    loads = gojson.loads

    def counting(raw: bytes | str, **kwargs: Any) -> Any:
        seen.append(raw if isinstance(raw, bytes) else raw.encode())
        return loads(raw, **kwargs)

    monkeypatch.setattr(gojson, "loads", counting)
    return seen
