"""Fixtures for the registry transport's unit tests: clients over ``httpx.MockTransport``.

Every client of a test shares one :class:`HTTPPool` for the session (building an
SSL context takes ~0.1 s, and MockTransport never uses it); the pool's
transport hands each request to the handler of the test that is running. No
test may sleep for real: ``time.sleep`` records the waits asked for instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from spyglass.core.credentials import Credentials
from spyglass.core.transports.registry.client import RegistryClient
from spyglass.core.transports.registry.connections import HTTPPool
from tests.unit.core.transports.registry.fakes import HOST, Handler, Recorder


class _Dispatch:
    handler: Handler | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.handler is None:
            raise AssertionError(f"a request without a test handler: {request.url}")
        return self.handler(request)


_DISPATCH = _Dispatch()


class _SendingTransport(httpx.MockTransport):
    """A MockTransport that takes a streamed request body the way a connection sends
    one: each piece is copied out before the next is asked for. (MockTransport's own
    ``b"".join`` keeps every piece first, which breaks bodies that refill one buffer.)
    The handler gets a copy holding the bytes; the request itself stays unread, as one
    sent over a connection does, so it cannot be sent again (after a 401, say)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.ByteStream):
            sent = httpx.Request(
                request.method, request.url, headers=request.headers,
                content=b"".join(bytes(piece) for piece in request.stream),  # type: ignore[union-attr]
                extensions=request.extensions)
            return super().handle_request(sent)
        return super().handle_request(request)


@pytest.fixture(scope="session")
def mock_pool() -> Iterator[HTTPPool]:
    pool = HTTPPool(transport=_SendingTransport(_DISPATCH))
    yield pool
    pool.close()


MakeClient = Callable[..., tuple[RegistryClient, Recorder]]


@pytest.fixture
def make_client(mock_pool: HTTPPool) -> Iterator[MakeClient]:
    """``make_client(handler, host=…, credentials=…, insecure=…, retry_times=…)``
    → ``(RegistryClient, Recorder)``; the recorder holds every request sent. The
    credentials may be a lookup, as the store's."""

    def make(
        handler: Handler,
        *,
        host: str = HOST,
        credentials: Credentials | Callable[[], Credentials | None] | None = None,
        insecure: bool = False,
        retry_times: int = 3,
    ) -> tuple[RegistryClient, Recorder]:
        recorder = Recorder(handler)
        _DISPATCH.handler = recorder
        client = RegistryClient(
            host, credentials=credentials, insecure=insecure, retry_times=retry_times,
            pool=mock_pool,
        )
        return client, recorder

    yield make
    _DISPATCH.handler = None


@pytest.fixture(autouse=True)
def no_plain_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's registries start unknown: none answered plain HTTP before."""
    from spyglass.core.transports.registry import endpoint

    monkeypatch.setattr(endpoint, "_PLAIN_HOSTS", set(), raising=False)


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The seconds each ``time.sleep`` call asked for; nothing really sleeps."""
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)
    return waits
