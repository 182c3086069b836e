"""Counting the connections the registry clients open (a reused one is not opened
again: an HTTPS request on it makes no TLS handshake)."""

from __future__ import annotations

import pytest


def connections_opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ``HOST:PORT`` of every connection the registry clients open from here on (for
    as long as ``monkeypatch`` lasts)."""
    from spyglass.core.transports.registry.abortable import TrackingBackend

    opened: list[str] = []
    connect = TrackingBackend.connect_tcp

    def counting(self: TrackingBackend, host: str, port: int, *args: object,
                 **kwargs: object) -> object:
        opened.append(f"{host}:{port}")
        return connect(self, host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(TrackingBackend, "connect_tcp", counting)
    return opened
