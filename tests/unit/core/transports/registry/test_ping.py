"""Finding a registry: https first, http for loopback or insecure hosts, TLS and non-registries."""

from __future__ import annotations

import ssl

import httpx
import pytest

from spyglass.core.errors import (
    ConnectionFailed,
    NotARegistry,
    RateLimited,
    RegistryError,
    TLSFailed,
)
from tests.unit.core.transports.registry.fakes import API, HOST, Handler

LOOPBACK = ["127.0.0.1:5000", "localhost:5000", "localhost", "[::1]:5000"]


def refused(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


def untrusted(request: httpx.Request) -> httpx.Response:
    cause = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
    )
    raise httpx.ConnectError("TLS handshake failed", request=request) from cause


def by_scheme(https: Handler, http: Handler) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return (https if request.url.scheme == "https" else http)(request)
    return handler


def registry(request: httpx.Request) -> httpx.Response:
    assert request.url.path == "/v2/"
    return httpx.Response(200, headers=API, json={})


def schemes(requests: list[httpx.Request]) -> list[str]:
    return [r.url.scheme for r in requests]


def test_https_comes_first_and_is_kept(make_client) -> None:
    client, seen = make_client(registry)
    assert client.ping() == f"https://{HOST}"
    assert client.ping() == f"https://{HOST}"  # found once
    assert [str(r.url) for r in seen.requests] == [f"https://{HOST}/v2/"]
    assert seen.requests[0].headers["user-agent"].startswith("spyglass/")


def test_docker_hub_is_reached_at_its_api_host(make_client) -> None:
    client, seen = make_client(registry, host="docker.io")
    assert client.ping() == "https://registry-1.docker.io"
    assert [r.url.host for r in seen.requests] == ["registry-1.docker.io"]


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_falls_back_to_http_after_a_connection_error(make_client, host: str) -> None:
    client, seen = make_client(by_scheme(refused, registry), host=host, retry_times=0)
    assert client.ping() == f"http://{host}"
    assert schemes(seen.requests) == ["https", "http"]
    assert str(seen.requests[0].url) == f"https://{host}/v2/"


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_falls_back_to_http_after_a_tls_failure(make_client, host: str) -> None:
    # what https to a plain-HTTP registry on the same port looks like
    client, seen = make_client(by_scheme(untrusted, registry), host=host)
    assert client.ping() == f"http://{host}"
    assert schemes(seen.requests) == ["https", "http"]


def test_no_retries_while_a_fallback_remains(make_client, sleeps) -> None:
    client, seen = make_client(by_scheme(refused, registry), host="127.0.0.1:5000",
                               retry_times=2)
    assert client.ping() == "http://127.0.0.1:5000"
    assert schemes(seen.requests) == ["https", "http"]
    assert sleeps == []


def test_the_last_scheme_is_retried(make_client, sleeps) -> None:
    client, seen = make_client(refused, host="127.0.0.1:5000", retry_times=2)
    with pytest.raises(ConnectionFailed):
        client.ping()
    assert schemes(seen.requests) == ["https", "http", "http", "http"]
    assert len(sleeps) == 2


def test_a_remote_host_never_falls_back_to_http(make_client) -> None:
    client, seen = make_client(by_scheme(refused, registry), retry_times=0)
    with pytest.raises(ConnectionFailed) as info:
        client.ping()
    assert f"Cannot reach the registry {HOST}" in str(info.value)
    assert "connection refused" in str(info.value) and "Errno" not in str(info.value)
    assert schemes(seen.requests) == ["https"]


def test_a_remote_host_falls_back_to_http_when_insecure(make_client) -> None:
    client, seen = make_client(by_scheme(refused, registry), insecure=True, retry_times=0)
    assert client.ping() == f"http://{HOST}"
    assert schemes(seen.requests) == ["https", "http"]


def _verify_failed(code: int, reason: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        cause = ssl.SSLCertVerificationError(
            1, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {reason}")
        cause.verify_code = code
        cause.verify_message = reason
        # as httpx raises it: OpenSSL's text on top, its code only below
        raise httpx.ConnectError(str(cause), request=request) from cause
    return handler


@pytest.mark.parametrize(("code", "reason", "untrusted_issuer"), [
    (19, "self-signed certificate in certificate chain", True),
    (20, "unable to get local issuer certificate", True),
    (62, "Hostname mismatch, certificate is not valid for 'registry.example'.", False),
    (10, "certificate has expired", False),
    (26, "unsuitable certificate purpose", False),
])
def test_only_an_unknown_issuer_is_one_a_ca_certificate_cures(
        make_client, sleeps, code: int, reason: str, untrusted_issuer: bool) -> None:
    client, _seen = make_client(by_scheme(_verify_failed(code, reason), registry))
    with pytest.raises(TLSFailed) as info:
        client.ping()
    assert info.value.untrusted is untrusted_issuer
    text = str(info.value)
    assert f"could not be verified ({reason.rstrip('.')})." in text
    # the advice fits: a CA certificate only where one cures it
    assert ("Put its CA certificate in" in text) is untrusted_issuer
    assert ("Check the registry's name and its certificate" in text) is not untrusted_issuer


def test_tls_failure_on_a_remote_host_suggests_certs_d(make_client, sleeps) -> None:
    client, seen = make_client(by_scheme(untrusted, registry))
    with pytest.raises(TLSFailed) as info:
        client.ping()
    text = str(info.value)
    assert f"The TLS certificate of {HOST} could not be verified" in text
    assert "could not be verified (self-signed certificate)." in text  # OpenSSL's words
    assert "CERTIFICATE_VERIFY_FAILED" not in text and "_ssl.c" not in text
    assert f"certs.d/{HOST}/ca.crt" in text
    assert text.endswith("or allow this registry to be insecure.")
    assert info.value.untrusted  # a CA certificate would cure it
    assert info.value.on_command_line == (
        text[:-1].replace("ca.crt,", "ca.crt (or a folder named by --cert-dir DIR),")
        + " (--tls-verify=false).")
    assert schemes(seen.requests) == ["https"]  # not retried, no plain http
    assert sleeps == []


def test_tls_failure_recognised_from_the_message_alone(make_client) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")

    client, _ = make_client(handler)
    with pytest.raises(TLSFailed, match=r"certs\.d"):
        client.ping()


def test_loopback_tls_failure_is_reported_when_http_is_no_registry_either(make_client) -> None:
    plain_400 = lambda request: httpx.Response(  # noqa: E731
        400, text="Client sent an HTTP request to an HTTPS server."
    )
    client, seen = make_client(by_scheme(untrusted, plain_400), host="127.0.0.1:5000")
    with pytest.raises(TLSFailed, match=r"certs\.d"):
        client.ping()
    assert schemes(seen.requests) == ["https", "http"]


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: httpx.Response(404, text="404 page not found"),
        lambda r: httpx.Response(200, text="<html>welcome</html>",
                                 headers={"Docker-Distribution-API-Version": "nginx/1.0"}),
        lambda r: httpx.Response(500),
    ],
)
def test_not_a_registry(make_client, answer) -> None:
    client, seen = make_client(answer, retry_times=0)
    with pytest.raises(NotARegistry) as info:
        client.ping()
    assert f"{HOST} does not look like a container registry" in str(info.value)
    assert f"https://{HOST}/v2/ answered HTTP" in str(info.value)
    assert len(seen.requests) == 1


@pytest.mark.parametrize(("host", "scheme"), [(HOST, "https"), ("127.0.0.1:5000", "http")])
def test_a_registry_that_is_down_for_now_is_said_to_be_so(
        make_client, host: str, scheme: str) -> None:
    # 503 is a registry (or its proxy) that is busy or in maintenance: retried, then said
    # as that, not as a server that is no registry
    unavailable = lambda r: httpx.Response(503)  # noqa: E731
    client, seen = make_client(by_scheme(unavailable if scheme == "https" else refused,
                                         unavailable), host=host, retry_times=2)
    with pytest.raises(RegistryError) as info:
        client.ping()
    assert not isinstance(info.value, NotARegistry)
    assert info.value.status == 503
    assert str(info.value) == (
        f"{scheme}://{host}/v2/ answered HTTP 503 Service Unavailable (asked 3 times): the "
        f"registry {host} is not taking requests now (overloaded, down for maintenance, or "
        "a proxy in front of it cannot reach it). Try again later.")
    assert schemes(seen.requests)[-3:] == [scheme] * 3


def test_a_busy_https_server_does_not_stop_the_search_for_the_registry(make_client) -> None:
    # insecure: skopeo (containers/image) tries plain HTTP after any https failure; a
    # front end answering 503 on https is not the registry that answers on http
    unavailable = lambda r: httpx.Response(503)  # noqa: E731
    client, seen = make_client(by_scheme(unavailable, registry), insecure=True)
    assert client.ping() == f"http://{HOST}"
    assert schemes(seen.requests) == ["https", "http"]


def test_a_registry_limiting_requests_to_v2_is_said_to_be_so(make_client) -> None:
    limiting = lambda r: httpx.Response(429, headers={"Retry-After": "30"})  # noqa: E731
    client, _seen = make_client(limiting, retry_times=0)
    with pytest.raises(RateLimited) as info:
        client.ping()
    assert str(info.value) == (
        f"https://{HOST}/v2/ answered HTTP 429 Too Many Requests: the registry {HOST} is "
        "limiting requests; it asks to wait 30 s. Try again later.")


@pytest.mark.parametrize(
    "answer",
    [
        lambda r: httpx.Response(200, json={}),  # no version header: some registries
        lambda r: httpx.Response(200, headers={"Docker-Distribution-API-Version": "registry/2.0"}),
        lambda r: httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'}),
    ],
)
def test_registries(make_client, answer) -> None:
    client, _ = make_client(answer)
    assert client.ping() == f"https://{HOST}"


def test_loopback_web_server_is_not_a_registry_rather_than_a_tls_failure(make_client) -> None:
    """https to a plain-HTTP server fails its handshake; what http answers says more."""

    def wrong_version(request: httpx.Request) -> httpx.Response:
        cause = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
        raise httpx.ConnectError("TLS handshake failed", request=request) from cause

    web = lambda request: httpx.Response(404, text="404 page not found")  # noqa: E731
    client, seen = make_client(by_scheme(wrong_version, web), host="127.0.0.1:8080")
    with pytest.raises(NotARegistry, match="does not look like a container registry"):
        client.ping()
    assert schemes(seen.requests) == ["https", "http"]


def silent(request: httpx.Request) -> httpx.Response:
    """A server that takes the connection and answers nothing (as a hung one does)."""
    if request.url.scheme == "https":
        raise httpx.ConnectTimeout("_ssl.c:989: The handshake operation timed out",
                                   request=request)
    raise httpx.ReadTimeout("timed out", request=request)


def test_a_server_that_never_answers_is_not_waited_for_again(make_client) -> None:
    # the hung server was waited for four times over (about four minutes): once is enough
    client, seen = make_client(silent, host="127.0.0.1:5000", retry_times=3)
    with pytest.raises(ConnectionFailed) as info:
        client.ping()
    assert schemes(seen.requests) == ["https", "http"]
    assert "takes connections but answers nothing" in str(info.value)
    assert "_ssl.c" not in str(info.value)
    # a refused connection is still tried again
    client, seen = make_client(refused, host="127.0.0.1:5000", retry_times=2)
    with pytest.raises(ConnectionFailed):
        client.ping()
    assert schemes(seen.requests) == ["https", "http", "http", "http"]


def test_a_connection_never_made_is_not_said_to_be_taken(make_client) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)  # a dropped SYN

    client, seen = make_client(unreachable, host="127.0.0.1:5000", retry_times=1)
    with pytest.raises(ConnectionFailed) as info:
        client.ping()
    assert "answers nothing" not in str(info.value)
    assert schemes(seen.requests) == ["https", "http", "http"]  # retried, as before



def test_a_plain_http_server_that_never_answers_is_not_called_a_tls_failure(
        make_client) -> None:
    # https gets its 400 in plain HTTP at once ("wrong version number"); http is taken
    # and never answered: that is a hung server, not a TLS problem
    def wrong_version(request: httpx.Request) -> httpx.Response:
        cause = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
        raise httpx.ConnectError("TLS handshake failed", request=request) from cause

    client, seen = make_client(by_scheme(wrong_version, silent), host="127.0.0.1:5000",
                               retry_times=3)
    with pytest.raises(ConnectionFailed) as info:
        client.ping()
    assert str(info.value) == (
        "Cannot reach the registry 127.0.0.1:5000: a plain-HTTP server at 127.0.0.1:5000 "
        "takes connections but answers nothing (it timed out); it may be hung, or not a "
        "registry.")
    assert schemes(seen.requests) == ["https", "http"]  # the silent one not asked again
    # a remote host, tried over https alone, still says what its handshake said
    client, _ = make_client(wrong_version, host="registry.example")
    with pytest.raises(TLSFailed, match="wrong version number"):
        client.ping()


def test_a_registry_that_answered_plain_http_is_asked_so_first_by_the_next_client(
        make_client) -> None:
    """Each repository's client (a sync of many) tried TLS first again: a connection and a
    failed handshake each, before the plain HTTP that had answered the first."""

    def wrong_version(request: httpx.Request) -> httpx.Response:
        cause = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
        raise httpx.ConnectError("TLS handshake failed", request=request) from cause

    handler = by_scheme(wrong_version, registry)
    first, seen = make_client(handler, host="127.0.0.1:5000")
    assert first.ping() == "http://127.0.0.1:5000"
    assert schemes(seen.requests) == ["https", "http"]
    second, seen = make_client(handler, host="127.0.0.1:5000")
    assert second.ping() == "http://127.0.0.1:5000"
    assert schemes(seen.requests) == ["http"]


def test_a_registry_that_answered_plain_http_and_now_takes_tls_is_pinged_anew(
        make_client) -> None:
    """Plain HTTP asked first finds no registry now: the usual ping, TLS first, decides
    (and says what it says of a failure), and plain HTTP is no longer asked first."""
    wrong_version_then = by_scheme(refused, registry)
    make_client(wrong_version_then, host="127.0.0.1:5000")[0].ping()
    client, seen = make_client(by_scheme(registry, refused), host="127.0.0.1:5000")
    assert client.ping() == "https://127.0.0.1:5000"
    assert schemes(seen.requests) == ["http", "https"]
    again, seen = make_client(by_scheme(registry, refused), host="127.0.0.1:5000")
    assert again.ping() == "https://127.0.0.1:5000"
    assert schemes(seen.requests) == ["https"]


def test_a_host_without_a_port_is_pinged_tls_first_each_time(make_client) -> None:
    """Without a port, plain HTTP is port 80 and TLS port 443: two servers. A TLS that came
    up after the first ping is used (credentials went on over plain HTTP to port 80)."""
    make_client(by_scheme(refused, registry), host="registry.test", insecure=True)[0].ping()
    client, seen = make_client(by_scheme(registry, refused), host="registry.test",
                               insecure=True)
    assert client.ping() == "https://registry.test"
    assert schemes(seen.requests) == ["https"]


def test_plain_http_asked_first_again_is_given_a_short_while(make_client) -> None:
    """A registry remembered as plain HTTP that now hangs was waited for a whole ping's
    timeout before the usual ping began (55 s before the failure, where it took 35 s)."""
    from spyglass.core.transports.registry.endpoint import PING_TIMEOUT, PLAIN_AGAIN_TIMEOUT

    timeouts: list[object] = []

    def hung_now(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions.get("timeout"))
        raise httpx.ReadTimeout("timed out", request=request)

    make_client(by_scheme(refused, registry), host="127.0.0.1:5000")[0].ping()
    client, seen = make_client(by_scheme(refused, hung_now), host="127.0.0.1:5000",
                               retry_times=0)
    with pytest.raises(ConnectionFailed):
        client.ping()
    assert schemes(seen.requests) == ["http", "https", "http"]
    assert timeouts[0] == PLAIN_AGAIN_TIMEOUT.as_dict() != PING_TIMEOUT.as_dict()


def test_a_silent_direct_attempt_and_a_silent_proxy_are_both_named(
        make_client, mock_pool, monkeypatch: pytest.MonkeyPatch) -> None:
    """https went directly (no HTTPS_PROXY), http through HTTP_PROXY: both taken, both
    silent; the proxy is named beside the server."""
    from spyglass.core.proxies import ProxySettings

    monkeypatch.setattr(mock_pool, "_proxies", ProxySettings.from_environment(
        {"HTTP_PROXY": "http://p.corp:3128"}))
    client, seen = make_client(silent, host="registry.corp.example:5000", insecure=True)
    with pytest.raises(ConnectionFailed) as info:
        client.ping()
    assert str(info.value) == (
        "Cannot reach the registry registry.corp.example:5000: a server at "
        "registry.corp.example:5000 (reached directly) and the proxy p.corp:3128 "
        "(HTTP_PROXY) take connections but answer nothing (they timed out); check the "
        "proxy, or add registry.corp.example to NO_PROXY if it is inside your network.")
    assert schemes(seen.requests) == ["https", "http"]
