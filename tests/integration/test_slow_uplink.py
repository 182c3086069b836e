"""Uploads over a slow uplink, on real sockets: a registry behind a loopback proxy that
takes request bodies at a fixed rate (tests/helpers/faultproxy), timeouts made small.

The kernel's send queue holds what the link has not carried yet. The timeouts count
from the last time that queue shrank, not from the last byte handed over, so an upload
whose bytes are still leaving is not taken for a registry that stopped answering (it
was restarted, and failed after four tries, where skopeo went through); progress counts
bytes as they leave; an upload given up does not keep sending its queue.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from spyglass.core.cancel import CancelToken
from spyglass.core.digest import Digest
from spyglass.core.errors import Cancelled
from spyglass.core.transports.registry import RegistryClient, connections
from spyglass.core.transports.registry.abortable import TrackingBackend
from spyglass.core.transports.registry.connections import HTTPPool
from tests.helpers.faultproxy import FaultProxy
from tests.helpers.registry import RegistryServer

pytestmark = pytest.mark.integration


def _send_buffer(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """Give each connection the registry clients open a send buffer of ``size`` bytes
    (Linux's autotuning grows one that large on a real link; loopback does not)."""
    connect = TrackingBackend.connect_tcp

    def sized(self: TrackingBackend, *args: object, **kwargs: object) -> object:
        stream = connect(self, *args, **kwargs)  # type: ignore[arg-type]
        sock = stream.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
        return stream

    monkeypatch.setattr(TrackingBackend, "connect_tcp", sized)


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[HTTPPool]:
    pool = HTTPPool()
    yield pool
    pool.close()


def _client(proxy: FaultProxy, pool: HTTPPool) -> RegistryClient:
    return RegistryClient(proxy.address, retry_times=0, pool=pool)


@pytest.mark.parametrize(("timeout", "rate", "send_buffer", "size"), [
    # the whole blob queued at once: its answer is waited for while it leaves (read)
    (2.0, 100_000, 1024 * 1024, 600_000),
    # a small queue, drained slowly: room comes back only now and then (write)
    (0.5, 40_000, 64 * 1024, 200_000),
], ids=["answer", "room"])
def test_an_upload_still_leaving_is_not_a_registry_that_stopped_answering(
        monkeypatch: pytest.MonkeyPatch, pool: HTTPPool, registry: RegistryServer,
        repo_name: str, timeout: float, rate: int, send_buffer: int, size: int) -> None:
    """The link takes the blob at ``rate``, several timeouts long: the upload goes
    through, and its progress follows the link (it said 100 % at once, then "stopped
    answering (nothing came / was taken for the whole timeout)")."""
    monkeypatch.setattr(connections, "TIMEOUT", httpx.Timeout(timeout))
    _send_buffer(monkeypatch, send_buffer)
    data = os.urandom(size)
    counted: list[tuple[float, int]] = []
    with FaultProxy(registry.host, up_rate=rate) as proxy:
        client = _client(proxy, pool)
        started = time.monotonic()

        def progress(count: int) -> None:
            total = counted[-1][1] if counted else 0
            counted.append((time.monotonic() - started, total + count))

        assert client.upload_blob(repo_name, io.BytesIO(data), Digest.of(data), size,
                                  progress=progress) == (Digest.of(data), size)
        took = time.monotonic() - started
    link_time = size / rate
    assert took > 2 * timeout and took > 0.8 * link_time
    assert counted[-1][1] == size
    # never ahead of the link by more than its buffers (the proxy's, a second of it)
    for when, total in counted:
        assert total <= rate * (when + 1) + 64 * 1024, (when, total, counted)
    assert len(counted) >= 3, counted  # as it left, not in one go at the end


def test_an_upload_given_up_stops_sending(
        monkeypatch: pytest.MonkeyPatch, pool: HTTPPool, registry: RegistryServer,
        repo_name: str) -> None:
    """An upload cancelled with most of its blob still queued: the connection is reset,
    so the queue does not go on using the link, nor complete the abandoned ``PUT``
    behind a retry (a closed connection sends all it holds first)."""
    _send_buffer(monkeypatch, 1024 * 1024)
    size, rate = 400_000, 100_000
    data = os.urandom(size)
    cancel = CancelToken()
    with FaultProxy(registry.host, up_rate=rate) as proxy:
        client = _client(proxy, pool)
        threading.Timer(0.5, cancel.cancel).start()
        with pytest.raises(Cancelled):
            client.upload_blob(repo_name, io.BytesIO(data), Digest.of(data), size,
                               cancel=cancel)
        time.sleep(size / rate + 1)  # what the link would have taken to carry it all
        puts = [seen for seen in proxy.seen if seen.method == "PUT"]
    assert puts == []
    assert client.blob_exists(repo_name, Digest.of(data)) is None
