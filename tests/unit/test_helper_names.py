"""The tests' own name lookup (tests/helpers/names.py) asks no DNS server."""

from __future__ import annotations

import socket

import pytest

from tests.helpers import names


def test_only_mapped_names_and_addresses_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[object] = []

    def system(host: object, *args: object, **kwargs: object) -> list[object]:
        asked.append(host)
        return []

    monkeypatch.setattr(names, "_system_getaddrinfo", system)
    lookup = names.resolver({"registry.spyglass.test": "127.0.0.1"})
    lookup("registry.spyglass.test", 5000, 0, socket.SOCK_STREAM)
    lookup("::1", 5000)
    lookup("localhost", 5000)
    with pytest.raises(socket.gaierror) as raised:
        lookup("elsewhere.spyglass.test", 443)
    assert raised.value.errno == socket.EAI_NONAME
    assert asked == ["127.0.0.1", "::1", "localhost"]
