"""Registry authentication against scripted token servers: Bearer, OAuth2, Basic."""

from __future__ import annotations

import base64
import logging
import re
import traceback
from collections.abc import Callable

import httpx
import pytest

from spyglass.core.credentials import Credentials
from spyglass.core.credentials.keyring_store import KeyringUnavailable
from spyglass.core.errors import (
    AccessDenied,
    AuthenticationFailed,
    ConnectionFailed,
    RegistryError,
)
from tests.helpers.clock import AuthClock
from tests.unit.core.transports.registry.fakes import (
    AUTH_HOST,
    HOST,
    SERVICE,
    Routes,
    TokenRegistry,
    basic,
    registry_error,
    tags_page,
)

ALPINE = "/v2/library/alpine/tags/list"
BUSYBOX = "/v2/library/busybox/tags/list"
ALPINE_PULL = "repository:library/alpine:pull"
BUSYBOX_PULL = "repository:library/busybox:pull"
PASSWORD = "s3cret-Pa55word"


def app() -> Routes:
    return Routes({
        ("GET", ALPINE): tags_page("library/alpine", ["3.19", "latest"]),
        ("GET", BUSYBOX): tags_page("library/busybox", ["1.36"]),
    })


def authorizations(requests: list[httpx.Request]) -> list[str | None]:
    return [r.headers.get("authorization") for r in requests]


# ---------------------------------------------------------------- anonymous Bearer


def test_anonymous_token_asks_for_service_and_scope_and_is_reused(make_client) -> None:
    registry = TokenRegistry(app=app())
    client, seen = make_client(registry)
    assert client.tags_of("library/alpine") == ["3.19", "latest"]
    assert client.tags_of("library/alpine") == ["3.19", "latest"]

    [fetch] = registry.token_requests
    assert fetch.method == "GET"
    assert fetch.params == {"service": SERVICE, "scope": ALPINE_PULL}
    assert fetch.authorization is None  # anonymous: no account, no Basic
    assert authorizations(seen.to(ALPINE)) == ["Bearer tok-1", "Bearer tok-1"]
    assert client.auth.tokens_fetched == 1
    # the ping learned the challenge, so no request went out without a token
    assert authorizations(seen.to("/v2/")) == [None]


def test_another_scope_gets_its_own_token(make_client) -> None:
    registry = TokenRegistry(app=app())
    client, seen = make_client(registry)
    client.tags_of("library/alpine")
    client.tags_of("library/busybox")
    client.tags_of("library/alpine")
    assert [t.params["scope"] for t in registry.token_requests] == [ALPINE_PULL, BUSYBOX_PULL]
    assert authorizations(seen.to(ALPINE)) == ["Bearer tok-1", "Bearer tok-1"]
    assert authorizations(seen.to(BUSYBOX)) == ["Bearer tok-2"]


@pytest.mark.parametrize("field", ["token", "access_token"])
def test_token_or_access_token(make_client, field: str) -> None:
    registry = TokenRegistry(app=app(), token_field=field)
    client, seen = make_client(registry)
    assert client.tags_of("library/alpine") == ["3.19", "latest"]
    assert authorizations(seen.to(ALPINE)) == ["Bearer tok-1"]


def test_token_is_preferred_over_access_token(make_client) -> None:
    registry = TokenRegistry(app=app())

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == AUTH_HOST:
            registry.valid["the-token"] = ALPINE_PULL
            return httpx.Response(200, json={"token": "the-token", "access_token": "other"})
        return registry(request)

    client, seen = make_client(handler)
    client.tags_of("library/alpine")
    assert authorizations(seen.to(ALPINE)) == ["Bearer the-token"]


@pytest.mark.parametrize(
    ("expires_in", "still_good", "renewed"),
    [(300, 285.0, 295.0), (None, 45.0, 55.0), (3600, 3585.0, 3595.0)],
)
def test_token_is_renewed_shortly_before_it_expires(
    make_client, auth_clock: AuthClock, expires_in: int | None, still_good: float,
    renewed: float,
) -> None:
    registry = TokenRegistry(app=app(), expires_in=expires_in)
    client, seen = make_client(registry)
    start = auth_clock.now
    client.tags_of("library/alpine")
    auth_clock.now = start + still_good
    client.tags_of("library/alpine")
    assert len(registry.token_requests) == 1
    auth_clock.now = start + renewed
    client.tags_of("library/alpine")
    assert len(registry.token_requests) == 2
    assert authorizations(seen.to(ALPINE)) == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]


# ---------------------------------------------------------------- 401 with a token


def test_a_refused_cached_token_is_replaced_once(make_client) -> None:
    registry = TokenRegistry(app=app())
    client, seen = make_client(registry)
    client.tags_of("library/alpine")
    registry.revoke_all()  # say, the token server's key was rotated
    assert client.tags_of("library/alpine") == ["3.19", "latest"]
    assert authorizations(seen.to(ALPINE)) == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    assert [t.params["scope"] for t in registry.token_requests] == [ALPINE_PULL, ALPINE_PULL]
    client.tags_of("library/alpine")  # the new token is the cached one now
    assert len(registry.token_requests) == 2
    assert authorizations(seen.to(ALPINE))[-1] == "Bearer tok-2"


def test_a_registry_that_always_answers_401_gets_exactly_one_retry(make_client) -> None:
    registry = TokenRegistry(app=app(), always_401=True)
    client, seen = make_client(registry)
    with pytest.raises(AuthenticationFailed) as info:
        client.tags_of("library/alpine")
    assert type(info.value) is AuthenticationFailed
    assert info.value.status == 401
    assert authorizations(seen.to(ALPINE)) == ["Bearer tok-1", "Bearer tok-2"]
    assert len(registry.token_requests) == 2
    assert f"spyglass login {HOST}" in (info.value.on_command_line or "")
    assert "registry.test/library/alpine" in str(info.value)


def test_insufficient_scope_is_access_denied(make_client) -> None:
    registry = TokenRegistry(app=app(), always_401=True, insufficient=True,
                             users={"alice": "pw"})
    client, seen = make_client(registry, credentials=Credentials("alice", "pw"))
    with pytest.raises(AccessDenied) as info:
        client.tags_of("library/alpine")
    assert info.value.status == 401
    assert f"the registry {HOST} denied access" in str(info.value)
    assert len(seen.to(ALPINE)) == 2


def test_the_scope_the_challenge_names_is_asked_for(make_client) -> None:
    wider = "repository:library/alpine:pull repository:library/base:pull"
    registry = TokenRegistry(app=app())

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == ALPINE and registry.valid.get(
            request.headers.get("authorization", "").removeprefix("Bearer ")
        ) != wider:
            return registry_error(401, "UNAUTHORIZED", "", registry.challenge(wider))
        if request.url.path == ALPINE:
            return tags_page("library/alpine", ["x"])(request)
        return registry(request)

    client, seen = make_client(handler)
    assert client.tags_of("library/alpine") == ["x"]
    assert [t.params["scope"] for t in registry.token_requests] == [ALPINE_PULL, wider]
    assert authorizations(seen.to(ALPINE)) == ["Bearer tok-1", "Bearer tok-2"]


# ---------------------------------------------------------------- credentials


def test_credentials_go_to_the_token_server_only(make_client) -> None:
    registry = TokenRegistry(app=app(), users={"alice": PASSWORD}, anonymous=False)
    client, seen = make_client(registry, credentials=Credentials("alice", PASSWORD))
    assert client.tags_of("library/alpine") == ["3.19", "latest"]
    [fetch] = registry.token_requests
    assert fetch.authorization == basic("alice", PASSWORD)
    assert fetch.params == {"service": SERVICE, "scope": ALPINE_PULL, "account": "alice"}
    assert authorizations(seen.to(ALPINE)) == ["Bearer tok-1"]
    assert all(r.url.host != HOST or "Basic" not in (r.headers.get("authorization") or "")
               for r in seen.requests)


def test_wrong_password_names_the_user_never_the_password(make_client) -> None:
    registry = TokenRegistry(app=app(), users={"alice": "the-right-one"})
    credentials = Credentials("alice", PASSWORD, source="command line")
    client, seen = make_client(registry, credentials=credentials)
    with pytest.raises(AuthenticationFailed) as info:
        client.tags_of("library/alpine")
    error = info.value
    text = str(error)
    assert '"alice"' in text
    assert AUTH_HOST in text and HOST in text
    assert 'check the user name "alice" and its password (given on the command line)' in text
    assert registry.token_requests[0].authorization == basic("alice", PASSWORD)
    assert seen.to(ALPINE) == []  # never went to the registry without a token
    encoded = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    shown = [
        text, repr(error), repr(client), repr(client.auth), str(client.credentials),
        repr(client.credentials), "".join(traceback.format_exception(error)),
    ]
    for piece in shown:
        assert PASSWORD not in piece
        assert encoded not in piece


def test_check_credentials(make_client) -> None:
    registry = TokenRegistry(users={"alice": PASSWORD}, anonymous=False)
    client, seen = make_client(registry, credentials=Credentials("alice", PASSWORD))
    client.check_credentials()
    [fetch] = registry.token_requests
    assert fetch.params == {"service": SERVICE, "account": "alice"}  # /v2/ needs no scope
    assert authorizations(seen.to("/v2/")) == [None, "Bearer tok-1"]

    bad = TokenRegistry(users={"alice": PASSWORD}, anonymous=False)
    client, _ = make_client(bad, credentials=Credentials("alice", "wrong"))
    with pytest.raises(AuthenticationFailed, match='refused to log in as "alice"'):
        client.check_credentials()


def test_logging_in_where_the_registry_asks_for_negotiate_says_so(make_client) -> None:
    """Not "asks for no credentials, so they were not checked": the ping's 401 asks for
    a scheme Spyglass does not speak; a registry that answers anyone still asks none."""
    negotiate = httpx.Response(401, headers={"WWW-Authenticate": "Negotiate"})
    client, seen = make_client(Routes({("GET", "/v2/"): lambda request: negotiate}),
                               credentials=Credentials("alice", PASSWORD))
    with pytest.raises(RegistryError) as refused:
        client.check_credentials()
    assert str(refused.value) == (
        f"Logging in to {HOST} failed: the registry {HOST} asks for Negotiate "
        "authentication, which Spyglass does not support (only Basic and Bearer); the "
        "credentials given were not sent.")
    assert authorizations(seen.to("/v2/")) == [None, None]
    client, _ = make_client(app(), credentials=Credentials("alice", PASSWORD))
    assert client.check_credentials() is False


def test_an_anonymous_token_refused_advises_logging_in(make_client) -> None:
    """GHCR's token server answers 403 to an anonymous request for a private package:
    there is no user name or password to check."""
    registry = TokenRegistry(app=app(), anonymous=False)
    client, _ = make_client(registry)
    with pytest.raises(AuthenticationFailed) as refused:
        client.tags_of("library/alpine")
    assert "refused an anonymous token" in str(refused.value)
    assert "user name and password" not in str(refused.value)
    assert "spyglass login" in (refused.value.on_command_line or "")


def test_a_user_name_with_an_empty_password_is_held_back_and_said(make_client) -> None:
    """The token server is asked without credentials (as skopeo asks): its refusal says
    that the password was empty, not "log in as alice" refused."""
    registry = TokenRegistry(app=app(), users={"alice": PASSWORD}, anonymous=False)
    client, _ = make_client(registry, credentials=Credentials("alice", "",
                                                              source="command line"))
    with pytest.raises(AuthenticationFailed) as refused:
        client.tags_of("library/alpine")
    assert registry.token_requests[0].authorization is None
    assert client.auth.held_back == Credentials("alice", "", source="command line")
    assert 'The user name "alice" was given with an empty password' in str(refused.value)
    assert (refused.value.on_command_line or "").endswith(
        "Give the password too (--creds USER:PASSWORD).")
    assert "log in as" not in str(refused.value)


# ---------------------------------------------------------------- identity tokens (OAuth2)


def test_identity_token_uses_the_oauth2_form_and_keeps_the_new_refresh_token(
    make_client,
) -> None:
    registry = TokenRegistry(app=app(), refresh_tokens={"rt-0"}, rotate=True)
    credentials = Credentials("alice", "", identity_token="rt-0")
    client, seen = make_client(registry, credentials=credentials)
    assert client.tags_of("library/alpine") == ["3.19", "latest"]
    assert client.tags_of("library/busybox") == ["1.36"]

    first, second = registry.token_requests
    assert first.method == second.method == "POST"
    assert first.params == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-0",
        "service": SERVICE,
        "scope": ALPINE_PULL,
        "client_id": "spyglass",
    }
    assert first.authorization is None
    # the server rotated rt-0 away (it now refuses it); the client used the new one
    assert second.params["refresh_token"] == "rt-2"
    assert second.params["scope"] == BUSYBOX_PULL
    assert "rt-0" not in registry.refresh_tokens
    assert authorizations(seen.to(BUSYBOX)) == ["Bearer tok-3"]
    assert "rt-" not in repr(client.auth) and "rt-" not in repr(credentials)


def test_identity_token_falls_back_to_get_when_post_is_404(make_client) -> None:
    registry = TokenRegistry(app=app(), oauth="absent")
    credentials = Credentials("alice", "", identity_token="rt-0")
    client, seen = make_client(registry, credentials=credentials)
    assert client.tags_of("library/alpine") == ["3.19", "latest"]
    post, get = registry.token_requests
    assert (post.method, get.method) == ("POST", "GET")
    assert post.params["refresh_token"] == "rt-0"
    assert get.params == {"service": SERVICE, "scope": ALPINE_PULL}
    assert "rt-0" not in str(get.params)
    assert authorizations(seen.to(ALPINE)) == ["Bearer tok-1"]


def test_refused_refresh_token_is_authentication_failed(make_client) -> None:
    registry = TokenRegistry(app=app(), refresh_tokens={"other"})
    credentials = Credentials("alice", "", identity_token="rt-0")
    client, seen = make_client(registry, credentials=credentials)
    with pytest.raises(AuthenticationFailed) as info:
        client.tags_of("library/alpine")
    assert [t.method for t in registry.token_requests] == ["POST"]  # 401 is no cue for GET
    assert "rt-0" not in str(info.value)
    assert seen.to(ALPINE) == []


# ---------------------------------------------------------------- Basic


def basic_repo(password: str) -> Routes:
    def repo(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != basic("alice", password):
            return registry_error(401, "UNAUTHORIZED", "authentication required",
                                  {"WWW-Authenticate": 'Basic realm="Registry Realm"'})
        return tags_page("library/alpine", ["3.19"])(request)

    return Routes({("GET", ALPINE): repo})


def test_basic_challenge_is_answered_on_the_retry_then_sent_upfront(make_client) -> None:
    client, seen = make_client(basic_repo(PASSWORD), credentials=Credentials("alice", PASSWORD))
    assert client.tags_of("library/alpine") == ["3.19"]
    assert client.tags_of("library/alpine") == ["3.19"]
    assert authorizations(seen.to(ALPINE)) == [
        None, basic("alice", PASSWORD), basic("alice", PASSWORD)
    ]
    assert client.auth.scheme == "basic"
    assert seen.to(host=AUTH_HOST) == []


def test_basic_from_the_ping_is_sent_upfront(make_client) -> None:
    routes = basic_repo(PASSWORD)
    routes.table[("GET", "/v2/")] = lambda request: httpx.Response(
        401, headers={"WWW-Authenticate": 'Basic realm="Registry Realm"'}
    )
    client, seen = make_client(routes, credentials=Credentials("alice", PASSWORD))
    assert client.tags_of("library/alpine") == ["3.19"]
    assert authorizations(seen.to(ALPINE)) == [basic("alice", PASSWORD)]


def test_basic_with_a_wrong_password_is_tried_once(make_client) -> None:
    client, seen = make_client(basic_repo("right"), credentials=Credentials("alice", PASSWORD))
    with pytest.raises(AuthenticationFailed) as info:
        client.tags_of("library/alpine")
    assert authorizations(seen.to(ALPINE)) == [None, basic("alice", PASSWORD)]
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(client)


def test_basic_without_credentials_is_not_retried(make_client) -> None:
    client, seen = make_client(basic_repo("right"))
    with pytest.raises(AuthenticationFailed, match="wants valid credentials") as info:
        client.tags_of("library/alpine")
    assert f"spyglass login {HOST}" in (info.value.on_command_line or "")
    assert authorizations(seen.to(ALPINE)) == [None]


class LockedThenOpen:
    """A credential lookup over a keyring that is locked until :attr:`locked` is False."""

    def __init__(self, clock: AuthClock) -> None:
        self.clock = clock
        self.locked = True
        self.calls = 0

    def __call__(self) -> Credentials | None:
        self.calls += 1
        if self.locked:
            raise KeyringUnavailable("The system keyring is locked.",
                                     keyring="the system keyring", locked=True,
                                     retry_at=self.clock.now + 5)
        return Credentials("alice", PASSWORD, source="keyring")


def test_a_locked_keyring_is_named_and_asked_again_once_it_may_be(
    make_client, auth_clock: AuthClock
) -> None:
    lookup = LockedThenOpen(auth_clock)
    client, seen = make_client(basic_repo(PASSWORD), credentials=lookup)
    with pytest.raises(AuthenticationFailed) as info:
        client.tags_of("library/alpine")
    refused = info.value
    assert refused.keyring_locked == "the system keyring"
    assert str(refused).endswith(
        f"the registry {HOST} wants valid credentials. The system keyring, where Spyglass "
        "keeps credentials, is locked: unlock it and try again.")
    assert "spyglass login" not in (refused.on_command_line or "")  # it would fail too
    assert (refused.on_command_line or "").endswith(
        "is locked: unlock it and try again, or pass --creds USER:PASSWORD.")
    # not asked again at once (each time would be an unlock prompt)
    with pytest.raises(AuthenticationFailed):
        client.tags_of("library/alpine")
    assert lookup.calls == 1
    # unlocked: the next request once the keyring may be asked signs in
    lookup.locked = False
    auth_clock.now += 5
    assert client.tags_of("library/alpine") == ["3.19"]
    assert authorizations(seen.to(ALPINE))[-1] == basic("alice", PASSWORD)


def test_an_anonymous_token_refused_names_a_locked_keyring(
    make_client, auth_clock: AuthClock
) -> None:
    registry = TokenRegistry(app=app(), anonymous=False)
    client, _ = make_client(registry, credentials=LockedThenOpen(auth_clock))
    with pytest.raises(AuthenticationFailed) as refused:
        client.tags_of("library/alpine")
    assert str(refused.value).endswith(
        "refused an anonymous token (HTTP 401). The system keyring, where Spyglass keeps "
        "credentials, is locked: unlock it and try again.")
    assert refused.value.keyring_locked == "the system keyring"


def test_401_without_any_challenge_is_not_retried(make_client) -> None:
    """Nor said to refuse the credentials given: with no challenge, none were sent."""
    client, seen = make_client(Routes({
        ("GET", ALPINE): lambda request: registry_error(401, "UNAUTHORIZED", "go away"),
    }), credentials=Credentials("alice", PASSWORD))
    with pytest.raises(RegistryError) as refused:
        client.tags_of("library/alpine")
    assert str(refused.value) == (
        f"Listing the tags of {HOST}/library/alpine failed: the registry {HOST} answered "
        "401 Unauthorized without saying how to authenticate (no Basic or Bearer challenge "
        "in WWW-Authenticate) (the registry says: go away); the credentials given were not "
        "sent.")
    assert not isinstance(refused.value, AuthenticationFailed)
    assert len(seen.to(ALPINE)) == 1
    assert authorizations(seen.to(ALPINE)) == [None]


@pytest.mark.parametrize("given", [True, False])
@pytest.mark.parametrize(
    ("challenge", "asked"),
    [("Negotiate", "Negotiate"), ('NTLM, Negotiate abc=="', "NTLM or Negotiate")],
)
def test_a_401_asking_for_a_scheme_spyglass_does_not_speak_says_so(
        make_client, challenge: str, asked: str, given: bool) -> None:
    """A registry that asks for Negotiate (Kerberos) was said to refuse "the credentials
    given", and to check the password, which was never sent; now the sentence says what
    it asks for, that Spyglass does not support it, and that the credentials were not
    sent. Without credentials, not to log in (that would not send them either)."""
    client, seen = make_client(Routes({
        ("GET", ALPINE): lambda request: httpx.Response(
            401, json={"errors": [{"code": "UNAUTHORIZED", "message": "no"}]},
            headers={"WWW-Authenticate": challenge}),
    }), credentials=Credentials("alice", PASSWORD) if given else None)
    with pytest.raises(RegistryError) as refused:
        client.tags_of("library/alpine")
    sent = "; the credentials given were not sent" if given else ""
    assert str(refused.value) == (
        f"Listing the tags of {HOST}/library/alpine failed: the registry {HOST} asks for "
        f"{asked} authentication, which Spyglass does not support (only Basic and Bearer) "
        f"(the registry says: no){sent}.")
    assert not isinstance(refused.value, AuthenticationFailed)
    assert authorizations(seen.to(ALPINE)) == [None]


# ---------------------------------------------------------------- broken token servers


def _challenging(realm: str, token_answer: httpx.Response | Exception | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == AUTH_HOST:
            if isinstance(token_answer, Exception):
                raise token_answer
            assert token_answer is not None
            return token_answer
        return httpx.Response(401, headers={
            "WWW-Authenticate": f'Bearer realm="{realm}",service="{SERVICE}"'
        })
    return handler


def test_a_realm_that_is_not_http_is_refused(make_client) -> None:
    client, seen = make_client(_challenging("file:///etc/passwd"))
    with pytest.raises(AuthenticationFailed, match="file:///etc/passwd"):
        client.tags_of("library/alpine")
    assert seen.to(host=AUTH_HOST) == []


@pytest.mark.parametrize(
    ("realm", "shown", "why"),
    [
        ("\x01\x02", '"\\x01\\x02"', "invalid non-printable ASCII character in URL"),
        ("https://auth.test/" + "t" * 100_000, '"https://auth.test/ttt',
         "URL too long"),
    ],
)
def test_a_realm_that_is_no_url_is_refused_in_a_sentence(
        make_client, realm: str, shown: str, why: str) -> None:
    """A realm httpx cannot take (control characters, 100,000 characters long) was "an
    unexpected internal error" (httpx.InvalidURL); now the registry is said to name a
    token server that is no URL, the realm quoted escaped and cut short."""
    client, seen = make_client(_challenging(realm), credentials=Credentials("u", "p"))
    with pytest.raises(AuthenticationFailed) as refused:
        client.tags_of("library/alpine")
    said = str(refused.value)
    assert said.startswith(f"The registry {HOST} names a token server (realm) {shown}"), said
    assert f"that is not a valid URL ({why}" in said
    assert "\x01" not in said and len(said) < 400
    assert seen.to(host=AUTH_HOST) == []


@pytest.mark.parametrize(
    ("answer", "phrase"),
    [
        (httpx.Response(500), "answered HTTP 500 instead of a token"),
        (httpx.Response(200, text="<html>login</html>"), "not a JSON token response"),
        (httpx.Response(200, json=["token"]), "not a JSON token response"),
        (httpx.Response(200, json={"expires_in": 60}), "sent no token"),
        (httpx.Response(200, json={"token": ""}), "sent no token"),
        # Python's json raised RecursionError and ValueError for these: "internal error"
        (httpx.Response(200, text="[" * 5000), "not a JSON token response"),
        (httpx.Response(200, text='{"token":"t","expires_in":' + "1" * 5000 + "}"),
         "not a JSON token response"),
        (httpx.Response(400, text="[" * 5000), "answered HTTP 400 instead of a token"),
        (httpx.Response(400, text='{"error":' + "1" * 5000 + "}"),
         "answered HTTP 400 instead of a token"),
    ],
)
def test_token_server_nonsense(make_client, answer: httpx.Response, phrase: str) -> None:
    client, _ = make_client(_challenging("https://auth.test/token", answer))
    with pytest.raises(RegistryError) as info:
        client.tags_of("library/alpine")
    assert phrase in str(info.value)
    assert f"token server {AUTH_HOST} of {HOST}" in str(info.value)


def test_unreachable_token_server(make_client, caplog: pytest.LogCaptureFixture) -> None:
    """Asked again after each backoff, said as it begins (as the registry itself is)."""
    from spyglass.core.retry import RETRY_NOTES

    client, _ = make_client(_challenging(
        "https://auth.test/token", httpx.ConnectError("[Errno 111] Connection refused")
    ), retry_times=2)
    with caplog.at_level(logging.WARNING, logger=RETRY_NOTES), \
            pytest.raises(ConnectionFailed, match=re.escape(f"token server {AUTH_HOST} of {HOST}")):
        client.tags_of("library/alpine")
    assert [r.getMessage() for r in caplog.records if r.name == RETRY_NOTES] == [
        f"Listing the tags of {HOST}/library/alpine: cannot reach the token server "
        f"{AUTH_HOST} of {HOST} (connection refused); asking again (attempt {n} of 3)…"
        for n in (2, 3)]


def test_an_unreachable_token_server_is_named_with_its_port(make_client) -> None:
    client, _ = make_client(_challenging(
        "http://auth.test:38201/token", httpx.ConnectError("[Errno 111] Connection refused")
    ))
    with pytest.raises(ConnectionFailed,
                       match=re.escape(f"token server {AUTH_HOST}:38201 of {HOST}")):
        client.tags_of("library/alpine")


def test_a_token_server_that_takes_the_request_and_answers_nothing_is_said_so(
        make_client) -> None:
    # (it was "Cannot reach the token server …: timed out", sending one to the network)
    registry = TokenRegistry(app=app())

    def silent(request: httpx.Request) -> httpx.Response:
        if request.url.host == AUTH_HOST:
            raise httpx.ReadTimeout("timed out", request=request)
        return registry(request)

    client, _seen = make_client(silent, retry_times=0)
    with pytest.raises(ConnectionFailed) as failed:
        client.tags_of("library/alpine")
    assert str(failed.value) == (f"The token server {AUTH_HOST} of {HOST} stopped answering "
                                 "(no token came for the whole timeout).")


@pytest.mark.parametrize("lifetime", ["1" + "0" * 400, "1e400", "-1", "true", '"60"'])
def test_a_token_lifetime_that_is_no_usable_number_is_the_default(
        make_client, lifetime: str) -> None:
    """An ``expires_in`` of 10**400 written as an integer is too large for a float
    (OverflowError: "internal error"); it, like what is no positive finite number,
    leaves the token the default lifetime."""
    from spyglass.core.transports.registry.auth import _lifetime

    answer = httpx.Response(200, text='{"token":"t","expires_in":' + lifetime + "}")
    client, _ = make_client(_challenging("https://auth.test/token", answer))
    with pytest.raises(RegistryError):  # the registry refuses the token: it was taken
        client.tags_of("library/alpine")
    import json

    assert _lifetime(json.loads(lifetime)) is None
    assert _lifetime(60) == 60.0


def test_a_token_answer_over_a_mebibyte_is_said_too_large(make_client) -> None:
    """It was cut at 1 MiB, silently, and said to be "not a JSON token response"."""
    answer = httpx.Response(200, content=b'{"token":"' + b"t" * (1024 * 1024) + b'"}')
    client, _ = make_client(_challenging("https://auth.test/token", answer))
    with pytest.raises(RegistryError, match=f"The token server {AUTH_HOST} of {HOST} "
                       "answered with more than 1 MiB, too large for a token response"):
        client.tags_of("library/alpine")


def test_a_challenge_too_long_to_send_is_said_so(make_client) -> None:
    """A ``service`` of 70,000 characters was an "unexpected internal error" (InvalidURL)."""
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={
            "WWW-Authenticate": f'Bearer realm="https://auth.test/token",service="{"s" * 70_000}"'
        })

    client, _ = make_client(handler)
    with pytest.raises(RegistryError, match=f"The registry {HOST} asked for a token from "
                       f"{AUTH_HOST} with a request that cannot be sent"):
        client.tags_of("library/alpine")


def _token_server_failing(failures: list[httpx.Response | Exception],
                          users: dict[str, str] | None = None) -> TokenRegistry:
    """A token registry whose token server first fails with ``failures``, one a request."""
    registry = TokenRegistry(app=app(), users=users or {})
    answer = registry.token_server

    def flaky(request: httpx.Request) -> httpx.Response:
        if failures:
            failure = failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure
        return answer(request)

    registry.token_server = flaky  # type: ignore[method-assign]
    return registry


@pytest.mark.parametrize("failure", [
    httpx.Response(503), httpx.Response(502), httpx.Response(429),
    httpx.ReadError("[Errno 104] Connection reset by peer"),
    httpx.ConnectError("[Errno 111] Connection refused"),
])
def test_a_token_server_failing_for_now_is_asked_again(
        make_client, sleeps, failure: httpx.Response | Exception) -> None:
    """A token server's 503, 429 or broken connection is asked again as the registry's own
    are (one hiccup of auth.docker.io failed a whole copy, whatever --retry-times said)."""
    registry = _token_server_failing([failure, failure])
    client, seen = make_client(registry)
    assert client.tags_of("library/alpine") == ["3.19", "latest"]
    assert len(seen.to(host=AUTH_HOST)) == 3 and len(sleeps) == 2


def test_a_token_server_429_is_waited_as_it_asks(make_client, sleeps) -> None:
    registry = _token_server_failing([httpx.Response(429, headers={"Retry-After": "3"})])
    client, _ = make_client(registry)
    assert client.tags_of("library/alpine") == ["3.19", "latest"]
    assert sleeps == [3.0]


def test_a_token_server_failing_each_time_says_how_often_it_was_asked(
        make_client, sleeps) -> None:
    registry = _token_server_failing([httpx.Response(503)] * 10)
    client, seen = make_client(registry, retry_times=2)
    with pytest.raises(RegistryError) as info:
        client.tags_of("library/alpine")
    assert info.value.status == 503 and info.value.attempts == 3
    assert str(info.value) == (f"The token server {AUTH_HOST} of {HOST} answered HTTP 503 "
                               "instead of a token (asked 3 times).")
    assert len(seen.to(host=AUTH_HOST)) == 3


def test_a_password_the_token_server_refuses_is_not_asked_again(make_client, sleeps) -> None:
    registry = _token_server_failing([], users={"alice": PASSWORD})
    client, seen = make_client(registry, credentials=Credentials("alice", "wrong"))
    with pytest.raises(AuthenticationFailed, match="refused to log in"):
        client.tags_of("library/alpine")
    assert len(seen.to(host=AUTH_HOST)) == 1 and sleeps == []


def test_a_token_refused_after_an_answer_was_lost_says_it_may_have_been_done(
        make_client, sleeps) -> None:
    """A tag's PUT whose answer was lost, asked again with a token the token server then
    refuses: the refusal is no proof that nothing was written (the first PUT may have
    been), so a copy must not say the tag is as it was."""
    from spyglass.core import media

    registry = TokenRegistry(users={"alice": PASSWORD})
    tries: list[str] = []

    def put(request: httpx.Request) -> httpx.Response:
        tries.append(request.method)
        registry.revoke_all()  # (it expires as the answer is lost)
        registry.users.clear()  # and the password is no longer good
        raise httpx.ReadError("[Errno 104] Connection reset by peer")

    registry.app = Routes({("PUT", "/v2/team/app/manifests/1"): put})
    client, _ = make_client(registry, credentials=Credentials("alice", PASSWORD))
    with pytest.raises(RegistryError) as info:
        client.put_manifest("team/app", "1", b"{}", media.OCI_MANIFEST)
    assert tries == ["PUT"] and 400 <= info.value.status < 500
    assert info.value.answer_lost


# ---------------------------------------------------------------- secrets said back


def echoing(challenge: str, *, status: int = 401, page: bool = False) -> Routes:
    """A registry (or a proxy before it) that refuses every request and quotes the
    ``Authorization`` header it got, and the password it holds, in its error body."""
    def refuse(request: httpx.Request) -> httpx.Response:
        header = request.headers.get("authorization") or ""
        said = f"bad login alice:{PASSWORD} header {header} token {header.split(' ')[-1]}"
        if page:
            return httpx.Response(status, text=f"<html><p>{said}</p></html>")
        return registry_error(status, "UNAUTHORIZED" if status == 401 else "DENIED", said,
                              {"WWW-Authenticate": challenge})

    def ping(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, headers={"WWW-Authenticate": challenge})

    return Routes({("GET", ALPINE): refuse, ("GET", "/v2/"): ping})


@pytest.mark.parametrize("status, page", [(401, False), (403, False), (403, True)])
def test_credentials_a_registry_echoes_are_not_said_back(make_client, status: int,
                                                         page: bool) -> None:
    client, seen = make_client(echoing('Basic realm="r"', status=status, page=page),
                               credentials=Credentials("alice", PASSWORD))
    with pytest.raises((AuthenticationFailed, AccessDenied)) as info:
        client.tags_of("library/alpine")
    assert basic("alice", PASSWORD) in authorizations(seen.to(ALPINE))  # it was sent
    encoded = basic("alice", PASSWORD).removeprefix("Basic ")
    for text in (str(info.value), info.value.on_command_line or ""):
        assert "bad login *** header Basic ***" in text or not text
        assert PASSWORD not in text and encoded not in text


def test_a_token_or_refresh_token_a_registry_echoes_is_not_said_back(make_client) -> None:
    registry = TokenRegistry(refresh_tokens={"rt-secret-0"}, always_401=True)

    def quoting(request: httpx.Request) -> httpx.Response:
        answer = registry(request)
        if request.url.host == HOST and answer.status_code == 401:
            header = request.headers.get("authorization") or ""
            said = f"token {header.removeprefix('Bearer ')} refused; refresh rt-secret-0 unknown"
            return registry_error(401, "UNAUTHORIZED", said, dict(answer.headers))
        return answer

    client, seen = make_client(quoting, credentials=Credentials(
        "alice", "", identity_token="rt-secret-0", source="/home/u/auth.json",
        entry=HOST))
    with pytest.raises(AuthenticationFailed) as info:
        client.tags_of("library/alpine")
    sent = [h for h in authorizations(seen.to(ALPINE)) if h]
    assert sent and all(h.startswith("Bearer tok-") for h in sent)
    text = str(info.value)
    assert "token *** refused; refresh *** unknown" in text
    assert "tok-" not in text and "rt-secret-0" not in text


# ---------------------------------------------------------------- token requests redirected


def redirecting(registry: TokenRegistry, location: str, status: int = 307) -> Callable[
        [httpx.Request], httpx.Response]:
    """The registry, whose token server redirects each token request (but one that
    already followed a redirect, ``moved`` in its query) to ``location``, its query kept."""
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == AUTH_HOST and "moved" not in request.url.params:
            query = request.url.query.decode()
            return httpx.Response(status, headers={
                "Location": location + (f"&{query}" if query else "")})
        if request.url.host == "elsewhere.test":
            return httpx.Response(200, json={"token": "stolen"})
        return registry(request)

    return answer


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_refresh_token_is_not_sent_on_to_another_server(make_client, status: int) -> None:
    registry = TokenRegistry(app=app(), refresh_tokens={"rt-0"})
    client, seen = make_client(redirecting(registry, "https://elsewhere.test/token?moved=1",
                                           status),
                               credentials=Credentials("", "", identity_token="rt-0"))
    with pytest.raises(AuthenticationFailed) as refused:
        client.tags_of("library/alpine")
    assert seen.to(host="elsewhere.test") == []
    assert str(refused.value) == (
        f"The token server {AUTH_HOST} of {HOST} sent the request for a token on to "
        f"https://elsewhere.test/token (HTTP {status}), another server; the request carried "
        "the identity token, so it was not sent there.")


@pytest.mark.parametrize("status", [302, 307, 308])
def test_a_token_request_with_a_password_goes_on_to_another_server_without_it(
    make_client, status: int,
) -> None:
    """As Go's client (and so skopeo) does: the Authorization header is dropped on a
    redirect to another server, and the anonymous token that comes back is used."""
    registry = TokenRegistry(app=app(), users={"alice": PASSWORD})

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "elsewhere.test":  # (an anonymous token, from elsewhere)
            return registry(httpx.Request("GET", request.url.copy_with(host=AUTH_HOST)))
        return redirecting(registry, "https://elsewhere.test/token?moved=1", status)(request)

    client, seen = make_client(answer, credentials=Credentials("alice", PASSWORD))
    assert client.tags_of("library/alpine") == ["3.19", "latest"]
    [first] = seen.to("/token", host=AUTH_HOST)
    [moved] = seen.to("/token", host="elsewhere.test")
    assert first.headers.get("authorization") == basic("alice", PASSWORD)
    assert "authorization" not in moved.headers


@pytest.mark.parametrize("credentials", [
    Credentials("", "", identity_token="rt-0"), Credentials("alice", PASSWORD)])
def test_a_token_request_with_credentials_follows_a_redirect_on_its_server(
    make_client, credentials: Credentials,
) -> None:
    registry = TokenRegistry(app=app(), refresh_tokens={"rt-0"}, users={"alice": PASSWORD})
    client, seen = make_client(redirecting(registry, "/token?moved=1"),
                               credentials=credentials)
    assert client.tags_of("library/alpine") == ["3.19", "latest"]
    [first, moved] = seen.to("/token", host=AUTH_HOST)
    assert moved.method == first.method and moved.content == first.content
    assert moved.headers.get("authorization") == first.headers.get("authorization")


def test_an_anonymous_token_request_follows_a_redirect_anywhere(make_client) -> None:
    registry = TokenRegistry(app=app())
    client, seen = make_client(redirecting(registry, f"https://{AUTH_HOST}/token?moved=1"))
    assert client.tags_of("library/alpine") == ["3.19", "latest"]
    assert len(seen.to("/token", host=AUTH_HOST)) == 2
