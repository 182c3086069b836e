"""Registries that drip their answers out, on real sockets.

The read timeout is each read's: a registry that sends a byte a second never meets it,
and held ``spyglass inspect`` on a manifest of a million promised bytes for days. The
reads of a body wait :data:`~.abortable.BODY_WAIT` seconds in all, then must average
:data:`~.abortable.BODY_RATE` (made small here, for speed); a body that comes slowly
but above the rate is read whole, and a reader that takes its time is not the
registry's slowness.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from spyglass.core.digest import Digest
from spyglass.core.errors import ConnectionFailed
from spyglass.core.transports.registry import RegistryClient
from spyglass.core.transports.registry import abortable as abortable_module
from spyglass.core.transports.registry.connections import HTTPPool
from tests.helpers.dripping import DrippingRegistry

pytestmark = pytest.mark.integration

GRACE = 0.3
RATE = 100
TOO_SLOW = (r"sent (it|its answer) too slowly \(\d+ B in \d+ s, where at least 100 B/s is "
            r"needed once 0\.3 s have passed\)\.")


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[HTTPPool]:
    monkeypatch.setattr(abortable_module, "BODY_WAIT", GRACE)
    monkeypatch.setattr(abortable_module, "BODY_RATE", RATE)
    monkeypatch.setattr(abortable_module, "BLOB_RATE", RATE)
    pool = HTTPPool()
    yield pool
    pool.close()


def _client(server: DrippingRegistry, pool: HTTPPool) -> RegistryClient:
    return RegistryClient(server.host, retry_times=0, pool=pool)


@pytest.mark.parametrize("what", ["manifest", "tags"])
def test_a_document_dripped_out_is_given_up_as_too_slow(pool: HTTPPool, what: str) -> None:
    """A manifest (or a page of tags) promised as a million bytes and sent one every
    20 ms (50 B/s, under the rate): given up once its budget is spent, saying what was
    being read, from which registry, and that it came too slowly."""
    with DrippingRegistry(length=1_000_000, every=0.02) as server:
        client = _client(server, pool)
        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as failed:
            if what == "manifest":
                client.get_manifest("drip", "v1")
            else:
                client.tags_of("drip")
        took = time.monotonic() - started
    doing = (f"Reading the manifest {server.host}/drip:v1" if what == "manifest"
             else f"Listing the tags of {server.host}/drip")
    assert re.fullmatch(
        rf"{re.escape(doing)} broke off: the registry {re.escape(server.host)} {TOO_SLOW}",
        str(failed.value)), str(failed.value)
    assert GRACE < took < GRACE + 3


def test_a_token_dripped_out_is_given_up_as_too_slow(pool: HTTPPool) -> None:
    with DrippingRegistry(length=10_000, every=0.02, token=True) as server:
        client = _client(server, pool)
        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as failed:
            client.tags_of("drip")
        took = time.monotonic() - started
    assert re.fullmatch(
        rf"The token server {re.escape(server.host)} of {re.escape(server.host)} {TOO_SLOW}",
        str(failed.value)), str(failed.value)
    assert took < GRACE + 3


def test_a_token_dripped_out_each_time_says_how_often_it_was_asked(pool: HTTPPool) -> None:
    """Asked again and dripped out again: the count follows the measurement in a remark
    of its own, not inside it ("…once 0.3 s have passed; asked 2 times).")."""
    with DrippingRegistry(length=10_000, every=0.02, token=True) as server:
        client = RegistryClient(server.host, retry_times=1, pool=pool)
        with pytest.raises(ConnectionFailed) as failed:
            client.tags_of("drip")
    assert re.fullmatch(
        rf"The token server {re.escape(server.host)} of {re.escape(server.host)} sent its "
        r"answer too slowly \(\d+ B in \d+ s, where at least 100 B/s is needed once 0\.3 s "
        r"have passed\) \(asked 2 times\)\.", str(failed.value)), str(failed.value)


@pytest.mark.parametrize("length", [10_000, 2 * 1024 * 1024])  # through httpx; off the socket
def test_a_blob_dripped_out_is_given_up_as_too_slow(pool: HTTPPool, length: int) -> None:
    """A config (or any blob) as well: read through httpx, or straight off the socket as
    a blob of 1 MiB or more is."""
    digest = Digest.of(b"never sent")
    with DrippingRegistry(length=length, every=0.02) as server:
        client = _client(server, pool)
        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as failed, \
                client.open_blob("drip", digest) as stream:
            stream.read()
        took = time.monotonic() - started
    assert re.fullmatch(
        rf"Reading the blob {digest} of {re.escape(server.host)}/drip broke off: the registry "
        rf"{TOO_SLOW}", str(failed.value)), str(failed.value)
    assert took < GRACE + 3


def test_a_body_slow_but_above_the_rate_is_read_whole(pool: HTTPPool) -> None:
    """Past its first GRACE seconds a body may come as slowly as the rate: tags sent at
    200 B/s (twice the rate) take longer than the grace, and are read."""
    body = b'{"name":"drip","tags":["v1","v2","v3","v4","v5","v6","v7","v8","v9","v10"]}'
    with DrippingRegistry(body=body, every=0.005) as server:
        client = _client(server, pool)
        started = time.monotonic()
        assert client.tags_of("drip") == [f"v{n}" for n in range(1, 11)]
        assert time.monotonic() - started > GRACE


def test_a_reader_that_takes_its_time_is_not_the_registry_being_slow(
        monkeypatch: pytest.MonkeyPatch, pool: HTTPPool) -> None:
    """Only the time spent waiting for the registry counts: a blob sent at once, read
    slowly (a copy into a slow destination), is read whole however long that takes."""
    monkeypatch.setattr(abortable_module, "BLOB_RATE", 10**12)  # (no time earned by bytes)
    body = bytes(range(256)) * 8 * 1024  # 2 MiB: read off the socket
    with DrippingRegistry(body=body, every=0) as server:
        client = _client(server, pool)
        got = bytearray()
        started = time.monotonic()
        with client.open_blob("drip", Digest.of(body)) as stream:
            while chunk := stream.read(128 * 1024):
                got += chunk
                time.sleep(0.1)
        assert time.monotonic() - started > 4 * GRACE
    assert bytes(got) == body


def test_a_blob_may_come_more_slowly_than_a_document(
        monkeypatch: pytest.MonkeyPatch, pool: HTTPPool) -> None:
    """A copy reads eight blobs of a registry at once over one link: a blob's rate is a
    fraction of a document's, so a slow link's share is read whole (a steady 4 KiB/s
    blob was cut after 120 s), where a manifest at that rate is given up."""
    monkeypatch.setattr(abortable_module, "BLOB_RATE", 10)
    body = bytes(range(100))  # at 50 B/s: under the rate of documents, over a blob's
    with DrippingRegistry(body=body, every=0.02) as server:
        client = _client(server, pool)
        started = time.monotonic()
        with client.open_blob("drip", Digest.of(body)) as stream:
            assert stream.read() == body
        assert time.monotonic() - started > 4 * GRACE
        with pytest.raises(ConnectionFailed, match=TOO_SLOW):
            client.get_manifest("drip", "v1")


@pytest.mark.parametrize("what", ["manifest", "token"])
def test_an_answer_of_which_nothing_comes_stopped_answering(pool: HTTPPool, what: str) -> None:
    """Headers, then not a byte of the body in the whole wait: a registry (or token
    server) that stopped answering, said as before, not "too slowly (0 B in 60 s…)"."""
    with DrippingRegistry(length=100, every=1000, token=what == "token") as server:
        client = _client(server, pool)
        with pytest.raises(ConnectionFailed) as failed:
            if what == "manifest":
                client.get_manifest("drip", "v1")
            else:
                client.tags_of("drip")
    text = str(failed.value)
    assert "too slowly" not in text, text
    assert (f"broke off before any of it came (the registry {server.host} sent nothing for "
            in text if what == "manifest" else "stopped answering" in text), text


def test_a_foreign_layer_dripped_out_by_its_url_is_given_up_as_too_slow(pool: HTTPPool) -> None:
    """A foreign layer fetched from where its urls point (for a destination that needs its
    bytes) is held to a blob's budget too: a server that drips it out is given up."""
    from spyglass.core.manifest import Descriptor
    from spyglass.core.transports.external import open_external_blob

    digest = Digest.of(b"never sent")
    with DrippingRegistry(length=10_000, every=0.02) as server:
        url = f"http://{server.host}/layers/foreign.tar.gz"
        layer = Descriptor("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                           digest, 10_000, urls=(url,))
        started = time.monotonic()
        with pytest.raises(ConnectionFailed) as failed, open_external_blob(layer) as stream:
            stream.read()
        took = time.monotonic() - started
    assert re.fullmatch(
        rf'The foreign layer {digest} from "{re.escape(url)}" broke off: the server '
        rf"{TOO_SLOW}", str(failed.value)), str(failed.value)
    assert took < GRACE + 3
