"""An interrupted blob download resumes with a Range request, and only on a proper 206."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import httpx
import pytest

from spyglass.core.digest import Digest
from spyglass.core.errors import ConnectionFailed
from spyglass.core.manifest import Descriptor
from spyglass.core.transports.registry.source import RegistryImageSource
from tests.unit.core.transports.registry.fakes import API, HOST

BLOB = os.urandom(3 * 1024 * 1024 + 17)
DIGEST = Digest.of(BLOB)
PATH = f"/v2/app/blobs/{DIGEST}"


def breaking_body(data: bytes, cut: int) -> Iterator[bytes]:
    yield data[:cut]
    raise httpx.ReadError("connection reset by peer")


class Server:
    """Serves BLOB, breaking the first response after ``cut`` bytes."""

    def __init__(self, *, honour_range: bool, cut: int = 1024 * 1024 + 5) -> None:
        self.honour_range = honour_range
        self.cut = cut
        self.ranges: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return httpx.Response(200, headers=API)
        assert request.url.path == PATH
        wanted = request.headers.get("range")
        self.ranges.append(wanted)
        if wanted is None:
            return httpx.Response(200, content=breaking_body(BLOB, self.cut))
        start = int(wanted.removeprefix("bytes=").rstrip("-"))
        if not self.honour_range:
            return httpx.Response(200, content=BLOB)
        return httpx.Response(
            206, content=BLOB[start:],
            headers={"Content-Range": f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}"},
        )


def read_all(make_client, server: Server) -> bytes:
    client, _ = make_client(server)
    source = RegistryImageSource(client, "app", "latest")
    descriptor = Descriptor("application/octet-stream", DIGEST, len(BLOB))
    with source.open_blob(descriptor) as reader:
        return reader.read()


def test_a_broken_download_resumes_where_it_stopped(
        make_client, caplog: pytest.LogCaptureFixture) -> None:
    server = Server(honour_range=True)
    with caplog.at_level(logging.WARNING, logger="spyglass"):
        assert read_all(make_client, server) == BLOB
    # resumed from the last byte handed on (a partial chunk in flight is asked again)
    assert server.ranges[0] is None and len(server.ranges) == 2
    start = int(str(server.ranges[1]).removeprefix("bytes=").rstrip("-"))
    assert 0 < start <= server.cut
    # and said, as a retry is (a failure that counts the tries has them seen coming)
    assert f"Resuming the blob {DIGEST.short} at byte {start}: " in caplog.text


def test_a_registry_ignoring_range_gets_the_original_error(make_client) -> None:
    # the stream cannot restart under its reader; the copy engine starts the whole blob
    # again (test_copy.py: test_a_blob_that_breaks_off_is_copied_again_from_its_start)
    server = Server(honour_range=False)
    with pytest.raises(ConnectionFailed, match="broke off"):
        read_all(make_client, server)
    assert len(server.ranges) == 2 and server.ranges[1] is not None


def test_a_refused_resume_says_why_the_blob_starts_again(make_client) -> None:
    """A resume the registry answers with the whole blob (or the wrong range) is given up,
    and the sentence the copy starts the blob again with says why (the log went from
    "Resuming … at byte N" to the reset, the refusal unsaid)."""
    server = Server(honour_range=False)
    with pytest.raises(ConnectionFailed) as raised:
        read_all(make_client, server)
    start = str(server.ranges[1]).removeprefix("bytes=").rstrip("-")
    assert str(raised.value) == (
        f"Reading the blob {DIGEST} of {HOST}/app broke off: connection reset by peer; "
        f"resuming it at byte {start} was refused (the registry ignored the range request "
        f"for bytes {start}- and answered HTTP 200 with the whole blob).")


class Refused(Server):
    """Breaks the first response off; then refuses every connection (a restart)."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/v2/" and request.headers.get("range") is not None:
            self.ranges.append(request.headers["range"])
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return super().__call__(request)


def test_a_resume_that_failed_otherwise_names_the_last_try_too(make_client) -> None:
    """The first error alone ("broke off: connection reset by peer (tried 4 times)")
    hid that the next three tries were refused."""
    server = Refused(honour_range=True)
    with pytest.raises(ConnectionFailed) as raised:
        read_all(make_client, server)
    assert raised.value.attempts == 4
    assert str(raised.value) == (
        f"Reading the blob {DIGEST} of {HOST}/app broke off: connection reset by peer; "
        f"the last try: cannot reach the registry {HOST}: connection refused.")


class Hung(Server):
    """Breaks the first response off; then answers nothing (each request times out)."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/v2/" and request.headers.get("range") is not None:
            self.ranges.append(request.headers["range"])
            raise httpx.ReadTimeout("timed out", request=request)
        return super().__call__(request)


def test_the_requests_for_a_hung_registry_come_out_of_one_budget(make_client) -> None:
    """The download, each resume and each resume's own retries: retry_times more in all,
    not retry_times resumes of retry_times retries each (a hung registry held a copy
    for five minutes before it heard of it, then it started again)."""
    server = Hung(honour_range=True)
    with pytest.raises(ConnectionFailed) as raised:
        read_all(make_client, server)
    assert len(server.ranges) == 4  # the download, then 3 more requests (retry_times)
    assert raised.value.attempts == 4


class Flaky(Server):
    """Breaks off the download; the first resume is answered on its second request and
    breaks off too; every request after that times out."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        wanted = request.headers.get("range")
        if request.url.path == "/v2/" or wanted is None:
            return super().__call__(request)
        self.ranges.append(wanted)
        if len(self.ranges) == 3:  # the resume's retry: answered, then broken again
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
            return httpx.Response(
                206, content=breaking_body(BLOB[start:], 1024),
                headers={"Content-Range": f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}"})
        raise httpx.ReadTimeout("timed out", request=request)


def test_a_resume_answered_after_a_retry_counts_both_requests(make_client) -> None:
    server = Flaky(honour_range=True)
    with pytest.raises(ConnectionFailed) as raised:
        read_all(make_client, server)
    assert len(server.ranges) == 4  # the download, then 3 more requests in all
    assert raised.value.attempts == 4


def test_a_resume_counts_against_what_the_copy_has_left(make_client) -> None:
    """In the copy's last attempt (one request left) a broken download is not resumed:
    the copy's --retry-times is spent (it made one request more than asked)."""
    from spyglass.core.retry import TRIES_LEFT, Tries

    for left, requests in ((1, 1), (2, 2)):
        server = Server(honour_range=True)
        budget = TRIES_LEFT.set(Tries(left, 4))
        try:
            if requests == 1:
                with pytest.raises(ConnectionFailed, match="broke off"):
                    read_all(make_client, server)
            else:
                assert read_all(make_client, server) == BLOB
        finally:
            TRIES_LEFT.reset(budget)
        assert len(server.ranges) == requests


def test_the_first_request_of_an_attempt_counts_against_what_is_left(make_client) -> None:
    """An attempt with one request left asks once: a 503 is not asked again inside it
    (the copy's own retry decides; with the client's own retries, --retry-times was
    exceeded after a failure on the destination's side)."""
    from spyglass.core.errors import RegistryError
    from spyglass.core.retry import TRIES_LEFT, Tries

    asked: list[str] = []

    def busy(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return httpx.Response(200, headers=API)
        asked.append(request.url.path)
        return httpx.Response(503)

    budget = TRIES_LEFT.set(Tries(1, 4))
    try:
        with pytest.raises(RegistryError):
            read_all(make_client, busy)  # type: ignore[arg-type]
    finally:
        TRIES_LEFT.reset(budget)
    assert asked == [PATH]


def test_a_resume_that_worked_is_counted_in_the_copys_attempt(make_client) -> None:
    """A copy's attempt hears of the tries a download spent although it then went on (the
    broken read, and a resume's own retries): a request of the attempt that fails later
    leaves the blob the tries that are really left, not all of them again."""
    from spyglass.core.retry import TRIES_LEFT, Tries

    tries = Tries(4, 4)
    budget = TRIES_LEFT.set(tries)
    try:
        assert read_all(make_client, Server(honour_range=True)) == BLOB
    finally:
        TRIES_LEFT.reset(budget)
    assert tries.recovered == 1 and tries.spent == 1 and tries.remaining == 3
