"""Retries (429, 502/503/504, connection errors), what is never retried, capped error bodies."""

from __future__ import annotations

import logging

import httpx
import pytest

from spyglass.core.cancel import CancelToken
from spyglass.core.credentials import Credentials
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    Cancelled,
    ConnectionFailed,
    NotFound,
    RateLimited,
    RegistryError,
    SpyglassError,
)
from spyglass.core.retry import RETRY_NOTES
from spyglass.core.transports.registry.errors import MAX_ERROR_BODY
from tests.unit.core.transports.registry.fakes import (
    HOST,
    CountingStream,
    Routes,
    registry_error,
    tags_page,
)

TAGS = "/v2/app/tags/list"
UPLOADS = "/v2/app/blobs/uploads/"
OK = tags_page("app", ["v1", "v2"])


def status(code: int, **headers: str):
    return lambda request: httpx.Response(code, headers=headers or None)


def test_429_waits_as_long_as_retry_after_says(make_client, sleeps) -> None:
    client, seen = make_client(Routes({("GET", TAGS): [status(429, **{"Retry-After": "1"}), OK]}))
    assert client.tags_of("app") == ["v1", "v2"]
    assert sleeps == [1.0]
    assert len(seen.to(TAGS)) == 2


def test_a_wait_longer_than_the_cap_is_waited_to_the_cap_then_asked_again(
        make_client, sleeps, caplog: pytest.LogCaptureFixture) -> None:
    """A registry that asks for more than a minute is waited a minute, then asked again
    within --retry-times (as skopeo does; it failed at once), and the wait is said as it
    begins: a command silent for a minute is taken for one that froze."""
    client, seen = make_client(Routes({("GET", TAGS): [
        status(429, **{"Retry-After": "120"}), OK]}))
    with caplog.at_level(logging.WARNING, logger=RETRY_NOTES):
        assert client.tags_of("app") == ["v1", "v2"]
    assert len(seen.to(TAGS)) == 2 and sleeps == [60.0]
    assert [r.getMessage() for r in caplog.records if r.name == RETRY_NOTES] == [
        f"Listing the tags of {HOST}/app: the registry {HOST} asks to wait 120 s; asking "
        "again in 60 s (attempt 2 of 4)…"]
    sleeps.clear()
    client, seen = make_client(Routes({("GET", TAGS): status(429, **{"Retry-After": "3600"})}),
                               retry_times=2)
    with pytest.raises(RateLimited, match="it asks to wait 3600 s"):
        client.tags_of("app")
    assert len(seen.to(TAGS)) == 3 and sleeps == [60.0, 60.0]  # the budget, not an hour


def test_a_wait_asked_for_is_told_to_the_listener_of_the_thread(make_client, sleeps) -> None:
    """The copy engine listens (WAIT_LISTENER) to say a blob waits as asked, not stalls."""
    from spyglass.core.retry import WAIT_LISTENER, Wait

    heard: list[Wait] = []
    client, _ = make_client(Routes({("GET", TAGS): [status(429, **{"Retry-After": "120"}),
                                                    status(503, **{"Retry-After": "2"}), OK]}))
    token = WAIT_LISTENER.set(heard.append)
    try:
        assert client.tags_of("app") == ["v1", "v2"]
    finally:
        WAIT_LISTENER.reset(token)
    assert heard == [Wait(f"the registry {HOST}", 60.0, 2, 4, asked=120.0),
                     Wait(f"the registry {HOST}", 2.0, 3, 4, asked=2.0)]


def test_a_short_wait_is_not_said(make_client, sleeps,
                                  caplog: pytest.LogCaptureFixture) -> None:
    client, _ = make_client(Routes({("GET", TAGS): [status(503, **{"Retry-After": "2"}), OK]}))
    with caplog.at_level(logging.WARNING, logger=RETRY_NOTES):
        assert client.tags_of("app") == ["v1", "v2"]
    assert sleeps == [2.0]
    assert not [r for r in caplog.records if r.name == RETRY_NOTES]


def test_503_twice_then_200_backs_off_exponentially(make_client, sleeps) -> None:
    client, seen = make_client(Routes({("GET", TAGS): [status(503), status(503), OK]}))
    assert client.tags_of("app") == ["v1", "v2"]
    assert len(seen.to(TAGS)) == 3
    first, second = sleeps
    assert 0.5 <= first <= 1  # half to all of 1 s (a registry restarting is waited for)
    assert 1 <= second <= 2  # then of 2 s


@pytest.mark.parametrize("code", [502, 504])
def test_gateway_errors_are_retried(make_client, sleeps, code: int) -> None:
    client, seen = make_client(Routes({("GET", TAGS): [status(code), OK]}))
    assert client.tags_of("app") == ["v1", "v2"]
    assert len(seen.to(TAGS)) == 2 and len(sleeps) == 1


def test_rate_limit_exhausted(make_client, sleeps) -> None:
    limited = lambda request: registry_error(  # noqa: E731
        429, "TOOMANYREQUESTS", "You have reached your pull rate limit.",
        {"Retry-After": "2", "RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "0;w=21600"},
    )
    client, seen = make_client(Routes({("GET", TAGS): limited}), retry_times=3)
    with pytest.raises(RateLimited) as info:
        client.tags_of("app")
    assert len(seen.to(TAGS)) == 4
    assert sleeps == [2.0, 2.0, 2.0]
    error = info.value
    assert error.retry_after == 2.0
    assert str(error) == (
        f"Listing the tags of {HOST}/app failed: the registry {HOST} is limiting requests "
        "(0 of 100 requests left); it asks to wait 2 s. Try again later."
    )
    assert str(client.rate_limit) == "0 of 100 requests left"


def test_503_exhausted(make_client, sleeps) -> None:
    client, seen = make_client(Routes({("GET", TAGS): status(503)}), retry_times=2)
    with pytest.raises(RegistryError) as info:
        client.tags_of("app")
    assert type(info.value) is RegistryError
    assert info.value.status == 503
    # the sentence says the answer did not change when asked again
    assert str(info.value).endswith(f"the registry {HOST} answered HTTP 503 (asked 3 times); "
                                    "the fault is on the registry's side.")
    assert len(seen.to(TAGS)) == 3 and len(sleeps) == 2
    assert info.value.attempts == 3


def test_no_retries_when_told(make_client, sleeps) -> None:
    client, seen = make_client(Routes({("GET", TAGS): [status(503), OK]}), retry_times=0)
    with pytest.raises(RegistryError) as info:
        client.tags_of("app")
    # asked once: nothing to say of it
    assert str(info.value).endswith("answered HTTP 503; the fault is on the registry's side.")
    assert len(seen.to(TAGS)) == 1 and sleeps == []


def test_a_post_with_a_body_is_not_retried(make_client, sleeps) -> None:
    client, seen = make_client(Routes({("POST", UPLOADS): [status(503), status(202)]}))
    with pytest.raises(RegistryError) as info:
        client.send("POST", UPLOADS, what="Starting an upload to registry.test/app", ok=(202,),
                    content=b"a body")
    assert info.value.status == 503
    assert len(seen.to(UPLOADS)) == 1 and sleeps == []


def test_an_upload_session_refused_for_now_is_asked_for_again(make_client, sleeps) -> None:
    """A POST without a body that was answered 429 or 503 opened nothing: asked again, as
    skopeo asks (a push rate limit ended the copy at its first request)."""
    client, seen = make_client(Routes({("POST", UPLOADS): [
        status(429, **{"Retry-After": "1"}), status(503),
        lambda r: httpx.Response(202, headers={"Location": f"{UPLOADS}session"})]}))
    client.check_push("app")
    assert len(seen.to(UPLOADS)) == 3 and sleeps[0] == 1.0


def test_a_post_with_a_body_is_not_retried_after_a_connection_error(
        make_client, sleeps) -> None:
    calls: list[str] = []

    def broken(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        raise httpx.ReadError("connection reset by peer", request=request)

    client, _ = make_client(Routes({("POST", UPLOADS): broken}))
    with pytest.raises(ConnectionFailed, match="connection reset by peer"):
        client.send("POST", UPLOADS, what="Starting an upload", ok=(202,), content=b"a body")
    assert calls == ["POST"] and sleeps == []


def test_the_push_check_is_asked_again_after_its_answer_was_lost(make_client, sleeps) -> None:
    """The push check's POST (it opens an upload session) whose answer is lost, or whose
    kept-alive connection the registry closed as it came, is asked again, as the upload
    POSTs after it were (a copy failed at once, whatever --retry-times said)."""
    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)

    def dropped(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                        request=request)

    opened = lambda r: httpx.Response(202, headers={"Location": f"{UPLOADS}s"})  # noqa: E731
    client, seen = make_client(Routes({("POST", UPLOADS): [lost, dropped, opened]}))
    client.check_push("app")
    assert len(seen.to(UPLOADS)) == 3 and len(sleeps) == 2
    client, seen = make_client(Routes({("POST", UPLOADS): lost}), retry_times=1)
    with pytest.raises(ConnectionFailed) as caught:
        client.check_push("app")
    # what was being done, and that the registry was reached: not "Cannot reach"
    assert str(caught.value) == (
        f"Checking that {HOST}/app can be written: the connection to the registry {HOST} "
        "was lost before its answer came (connection reset by peer; asked 2 times).")
    assert len(seen.to(UPLOADS)) == 2
    # the check's mount of a blob the repository holds, answer lost: the upload session
    # that follows is opened (and asked again), not the push failed
    held = Digest.of(b"config")
    client, seen = make_client(Routes({
        ("HEAD", f"/v2/app/blobs/{held}"): status(200),
        ("POST", UPLOADS): [lost, lost, opened]}))
    assert client.check_push("app", held=held) is False
    assert [r.url.params.get("mount") for r in seen.to(UPLOADS)] == [str(held), None, None]


def test_a_registry_that_drops_the_connection_was_reached(make_client, sleeps) -> None:
    """A server that takes the request and closes without answering (a registry ending
    an upload it will not take): not "cannot reach", but what was being done and that
    the registry closed the connection."""
    def dropped(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                        request=request)

    client, _ = make_client(Routes({("POST", UPLOADS): dropped}))
    with pytest.raises(ConnectionFailed) as caught:
        client.send("POST", UPLOADS, what="Uploading the blob sha256:ab to x/app",
                    ok=(202,))
    assert str(caught.value) == (
        f"Uploading the blob sha256:ab to x/app: the registry {HOST} closed the connection "
        "without an answer (server disconnected without sending a response).")


def test_get_is_retried_after_connection_errors(make_client, sleeps) -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset by peer", request=request)

    client, seen = make_client(Routes({("GET", TAGS): [reset, reset, OK]}))
    assert client.tags_of("app") == ["v1", "v2"]
    assert len(seen.to(TAGS)) == 3 and len(sleeps) == 2


@pytest.mark.parametrize(
    ("code", "cls"),
    [(404, NotFound), (401, AuthenticationFailed), (403, AccessDenied), (500, RegistryError)],
)
def test_client_errors_are_not_retried(
    make_client, sleeps, code: int, cls: type[SpyglassError]
) -> None:
    client, seen = make_client(Routes({("GET", TAGS): [status(code), OK]}))
    with pytest.raises(cls):
        client.tags_of("app")
    assert len(seen.to(TAGS)) == 1 and sleeps == []


def test_a_400_is_not_retried(make_client, sleeps) -> None:
    """A listing refused with 400 is asked once more without a page size (not a retry:
    another request), and no more."""
    client, seen = make_client(Routes({("GET", TAGS): [status(400), status(400), OK]}))
    with pytest.raises(RegistryError):
        client.tags_of("app")
    assert [dict(r.url.params) for r in seen.to(TAGS)] == [{"n": "1000"}, {}]
    assert sleeps == []


def test_cancel_during_a_backoff(make_client) -> None:
    cancel = CancelToken()

    def busy(request: httpx.Request) -> httpx.Response:
        cancel.cancel()  # the caller gives up while the registry is busy
        return httpx.Response(503, headers={"Retry-After": "30"})

    client, seen = make_client(Routes({("GET", TAGS): busy}))
    with pytest.raises(Cancelled):
        list(client.tag_pages("app", cancel=cancel))
    assert len(seen.to(TAGS)) == 1


# ---------------------------------------------------------------- error bodies


def test_a_huge_error_body_is_not_read_whole(make_client) -> None:
    body = CountingStream(10 * 1024 * 1024, head=b'{"errors": [')
    client, _ = make_client(Routes({
        ("GET", TAGS): lambda request: httpx.Response(
            403, content=body, headers={"Content-Type": "application/json"}
        ),
    }))
    with pytest.raises(AccessDenied) as info:
        client.tags_of("app")
    assert 0 < body.consumed <= MAX_ERROR_BODY + body.chunk
    assert body.consumed < 1024 * 1024
    assert str(info.value).startswith(
        f"Listing the tags of {HOST}/app failed: the registry {HOST} denied access"
    )


def test_retried_answers_are_not_read_at_all(make_client, sleeps) -> None:
    bodies: list[CountingStream] = []

    def busy(request: httpx.Request) -> httpx.Response:
        bodies.append(CountingStream(10 * 1024 * 1024))
        return httpx.Response(503, content=bodies[-1])

    client, _ = make_client(Routes({("GET", TAGS): busy}), retry_times=2)
    with pytest.raises(RegistryError, match="HTTP 503"):
        client.tags_of("app")
    assert len(bodies) == 3
    assert [b.consumed for b in bodies[:2]] == [0, 0]
    assert 0 < bodies[2].consumed <= MAX_ERROR_BODY + bodies[2].chunk


def test_a_huge_401_body_is_cut_before_the_auth_flow_retries(make_client) -> None:
    """httpx reads a 401 whole before the auth flow's retry: the transport cuts it first."""
    body = CountingStream(10 * 1024 * 1024)
    answers = iter([
        httpx.Response(401, content=body, headers={"WWW-Authenticate": 'Basic realm="r"'}),
        tags_page("app", ["1.0"])(httpx.Request("GET", f"https://{HOST}{TAGS}")),
    ])
    client, seen = make_client(Routes({("GET", TAGS): lambda request: next(answers)}),
                               credentials=Credentials("alice", "pw"))
    client._base = f"https://{HOST}"  # skip the ping: the 401 comes on the tag list
    assert client.tags_of("app") == ["1.0"]
    assert len(seen.to(TAGS)) == 2
    assert 0 < body.consumed <= MAX_ERROR_BODY + body.chunk


def test_a_huge_redirect_body_is_cut(make_client) -> None:
    body = CountingStream(10 * 1024 * 1024)
    blob = b"layer bytes"
    digest = Digest.of(blob)
    client, _ = make_client(Routes({
        ("GET", f"/v2/app/blobs/{digest}"): lambda request: httpx.Response(
            307, content=body, headers={"Location": f"https://{HOST}/storage/{digest.hex}"}
        ),
        ("GET", f"/storage/{digest.hex}"): lambda request: httpx.Response(200, content=blob),
    }))
    client._base = f"https://{HOST}"
    with client.open_blob("app", digest) as stream:
        assert stream.read() == blob
    assert 0 < body.consumed <= MAX_ERROR_BODY + body.chunk


def _resolving(monkeypatch: pytest.MonkeyPatch, code: int) -> list[str]:
    """This process's resolver answering ``code`` for every name (no DNS asked); the names
    it was asked for."""
    import socket

    asked: list[str] = []

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        asked.append(str(host))
        raise socket.gaierror(code, "Name or service not known"
                              if code == socket.EAI_NONAME else
                              "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_a_name_that_does_not_resolve_is_asked_again_once(
        monkeypatch: pytest.MonkeyPatch, sleeps, caplog: pytest.LogCaptureFixture) -> None:
    """A registry host the resolver says does not exist, which has not answered yet: a
    typo, mostly, which three retries after a backoff made cost 3.5 to 7 s before its
    sentence (skopeo says it at once); asked once more after the first pause, since a
    resolver may say so of a failure upstream for now (nss-resolve, of a SERVFAIL). The
    real client, through httpx and httpcore."""
    import socket

    from spyglass.core.transports.registry import RegistryClient
    from spyglass.core.transports.registry.connections import HTTPPool

    asked = _resolving(monkeypatch, socket.EAI_NONAME)
    pool = HTTPPool()
    try:
        with caplog.at_level(logging.WARNING, logger=RETRY_NOTES), \
                pytest.raises(ConnectionFailed) as caught:
            RegistryClient("regsitry.example.test", pool=pool, retry_times=3).tags_of("app")
    finally:
        pool.close()
    assert len(sleeps) == 1 and sleeps[0] <= 1.0
    assert len(asked) == 2 and set(asked) == {"regsitry.example.test"}
    notes = [r.getMessage() for r in caplog.records if r.name == RETRY_NOTES]
    assert len(notes) == 1 and notes[0].endswith("asking again (attempt 2 of 2)…"), notes
    assert "name or service not known" in str(caught.value).lower(), str(caught.value)


def test_a_name_unknown_after_the_host_answered_gets_every_retry(
        monkeypatch: pytest.MonkeyPatch, sleeps) -> None:
    """Once the registry answered, its name resolved a moment ago: a lookup that fails now
    is a failure for now, given the retries any connection error gets."""
    import socket

    from spyglass.core.transports.registry import RegistryClient
    from spyglass.core.transports.registry.connections import HTTPPool

    _resolving(monkeypatch, socket.EAI_NONAME)
    pool = HTTPPool()
    try:
        client = RegistryClient("registry.example.test", pool=pool, retry_times=3)
        client._base = "https://registry.example.test"  # (as after its ping answered)
        with pytest.raises(ConnectionFailed):
            client.tags_of("app")
    finally:
        pool.close()
    assert len(sleeps) == 3
def test_a_name_the_resolver_could_not_look_up_for_now_is_asked_again(
        monkeypatch: pytest.MonkeyPatch, sleeps) -> None:
    """EAI_AGAIN (the resolver could not ask, for now) is a failure a wait may mend."""
    import socket

    from spyglass.core.transports.registry import RegistryClient
    from spyglass.core.transports.registry.connections import HTTPPool

    _resolving(monkeypatch, socket.EAI_AGAIN)
    pool = HTTPPool()
    try:
        with pytest.raises(ConnectionFailed):
            RegistryClient("registry.example.test", pool=pool, retry_times=2).tags_of("app")
    finally:
        pool.close()
    assert len(sleeps) == 2


def test_a_blob_transfer_is_tried_again_for_a_name_that_does_not_resolve_now() -> None:
    """The copy engine's own retries (a whole blob transfer) come after the registry
    answered: a name that does not resolve then is a failure for now."""
    import socket

    from spyglass.core.retry import name_unknown, worth_retrying

    def failed(code: int) -> ConnectionFailed:
        try:
            try:
                try:
                    raise socket.gaierror(code, "lookup failed")
                except socket.gaierror as exc:
                    raise httpx.ConnectError(str(exc)) from exc
            except httpx.ConnectError as exc:
                raise ConnectionFailed("Cannot reach the registry r: lookup failed.") from exc
        except ConnectionFailed as exc:
            return exc

    assert name_unknown(failed(socket.EAI_NONAME))
    assert not name_unknown(failed(socket.EAI_AGAIN))
    assert not name_unknown(ConnectionFailed("Cannot reach the registry r: refused."))
    assert worth_retrying(failed(socket.EAI_NONAME))
    assert worth_retrying(failed(socket.EAI_AGAIN))


def test_a_request_of_a_blob_transfer_spends_what_the_blob_has_left(
        make_client, sleeps, caplog: pytest.LogCaptureFixture) -> None:
    """A look-up made in a blob's third try of four may be tried twice, not four times,
    and its notes count the blob's tries: after an upload broke and a look-up failed,
    a refused connection said "attempt 2 of 4" (and then "attempt 4 of 4" before the
    blob said it was "tried 5 times")."""
    from spyglass.core.retry import TRIES_LEFT, Tries

    def refused(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return httpx.Response(200)
        raise httpx.ConnectError("[Errno 111] Connection refused")

    client, seen = make_client(refused, retry_times=3)
    digest = Digest.of(b"a layer")
    budget = TRIES_LEFT.set(Tries(2, 4))
    try:
        with caplog.at_level(logging.WARNING, logger=RETRY_NOTES), \
                pytest.raises(ConnectionFailed) as caught:
            client.blob_exists("app", digest)
    finally:
        TRIES_LEFT.reset(budget)
    assert len(seen.to(f"/v2/app/blobs/{digest}")) == 2
    assert caught.value.attempts == 2
    notes = [r.getMessage() for r in caplog.records if r.name == RETRY_NOTES]
    assert len(notes) == 1 and notes[0].endswith("asking again (attempt 4 of 4)…"), notes
    # outside a blob's transfer, the request's own count
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=RETRY_NOTES), pytest.raises(ConnectionFailed):
        client.blob_exists("app", digest)
    notes = [r.getMessage() for r in caplog.records if r.name == RETRY_NOTES]
    assert [note[-len("(attempt 2 of 4)…"):] for note in notes] == [
        "(attempt 2 of 4)…", "(attempt 3 of 4)…", "(attempt 4 of 4)…"], notes


class _BreaksOff(httpx.SyncByteStream):
    """A body that stops after ``came`` of its promised bytes, then times out."""

    def __init__(self, request: httpx.Request, came: int) -> None:
        self._request = request
        self._came = came

    def __iter__(self):
        yield b"x" * self._came
        raise httpx.ReadTimeout("timed out", request=self._request)


def breaks_off(came: int):
    return lambda request: httpx.Response(200, headers={"Content-Length": "5000"},
                                          stream=_BreaksOff(request, came))


BROKE_OFF = f"broke off after 100 B (the registry {HOST} sent nothing more for 60 s"


def test_an_answer_that_breaks_off_is_asked_again_and_said_so(
        make_client, sleeps, caplog: pytest.LogCaptureFixture) -> None:
    """Each new ask of an answer cut off mid-body is said on stderr and told to the
    window, as every other retry is: the command line said nothing for four minutes."""
    from spyglass.core.retry import WAIT_LISTENER, Wait

    heard: list[Wait] = []
    client, seen = make_client(Routes({("GET", TAGS): [breaks_off(100), breaks_off(100), OK]}))
    token = WAIT_LISTENER.set(heard.append)
    try:
        with caplog.at_level(logging.WARNING, logger=RETRY_NOTES):
            assert client.tags_of("app") == ["v1", "v2"]
    finally:
        WAIT_LISTENER.reset(token)
    assert len(seen.to(TAGS)) == 3
    assert [r.getMessage() for r in caplog.records if r.name == RETRY_NOTES] == [
        f"Listing the tags of {HOST}/app: the answer {BROKE_OFF}); asking again "
        f"(attempt {n} of 4)…" for n in (2, 3)]
    assert [(wait.attempt, wait.broke_off) for wait in heard] == [
        (2, f"{BROKE_OFF})"), (3, f"{BROKE_OFF})")]


def test_an_answer_that_always_breaks_off_says_how_and_how_often(make_client, sleeps) -> None:
    client, seen = make_client(Routes({("GET", TAGS): breaks_off(100)}))
    with pytest.raises(ConnectionFailed) as failed:
        client.tags_of("app")
    assert len(seen.to(TAGS)) == 4
    assert str(failed.value) == f"Listing the tags of {HOST}/app {BROKE_OFF}; asked 4 times)."
