"""Which requests go through which proxy, as Go's ``ProxyFromEnvironment`` decides
(golang.org/x/net/http/httpproxy), which skopeo and docker use."""

from __future__ import annotations

import httpx
import pytest

from spyglass.core.errors import SpyglassError
from spyglass.core.proxies import ProxySettings

PROXY = "http://proxy.corp:3128"


def route(environ: dict[str, str], url: str) -> str | None:
    proxy = ProxySettings.from_environment(environ).proxy_for(httpx.URL(url))
    return None if proxy is None else f"{proxy.variable} {proxy.url}"


def test_no_variables_no_proxy() -> None:
    settings = ProxySettings.from_environment({})
    assert not settings.any
    assert settings.proxy_for(httpx.URL("https://quay.io/v2/")) is None


def test_each_scheme_has_its_variable() -> None:
    environ = {"HTTPS_PROXY": PROXY, "HTTP_PROXY": "http://plain.corp:8080"}
    assert route(environ, "https://quay.io/v2/") == f"HTTPS_PROXY {PROXY}"
    assert route(environ, "http://quay.io/v2/") == "HTTP_PROXY http://plain.corp:8080"
    assert route({"HTTPS_PROXY": PROXY}, "http://quay.io/v2/") is None
    assert route({"ALL_PROXY": PROXY}, "https://quay.io/v2/") is None  # Go reads no ALL_PROXY


def test_upper_case_wins_and_lower_case_counts() -> None:
    assert route({"HTTPS_PROXY": PROXY, "https_proxy": "http://other:1"},
                 "https://quay.io/") == f"HTTPS_PROXY {PROXY}"
    assert route({"https_proxy": PROXY}, "https://quay.io/") == f"https_proxy {PROXY}"


def test_a_value_without_scheme_is_an_http_proxy() -> None:
    assert route({"HTTPS_PROXY": "proxy.corp:3128"}, "https://quay.io/") == \
        f"HTTPS_PROXY {PROXY}"


def test_http_proxy_is_ignored_in_a_cgi_handler() -> None:
    environ = {"HTTP_PROXY": PROXY, "HTTPS_PROXY": PROXY, "REQUEST_METHOD": "GET"}
    assert route(environ, "http://quay.io/") is None
    assert route(environ, "https://quay.io/") == f"HTTPS_PROXY {PROXY}"


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:5000", "127.0.0.1:5000",
                                  "127.9.9.9", "[::1]:5000"])
def test_loopback_is_never_proxied(host: str) -> None:
    assert route({"HTTPS_PROXY": PROXY}, f"https://{host}/v2/") is None


@pytest.mark.parametrize(("no_proxy", "url", "proxied"), [
    ("*", "https://quay.io/", False),
    ("quay.io", "https://quay.io/", False),
    ("quay.io", "https://cdn.quay.io/", False),
    ("quay.io", "https://notquay.io/", True),
    (".quay.io", "https://quay.io/", True),
    (".quay.io", "https://cdn.quay.io/", False),
    ("*.quay.io", "https://quay.io/", True),
    ("*.quay.io", "https://cdn.quay.io/", False),
    ("QUAY.IO ", "https://quay.io/", False),
    ("quay.io:5000", "https://quay.io/", True),
    ("quay.io:5000", "https://quay.io:5000/", False),
    ("quay.io:443", "https://quay.io/", False),
    ("10.0.0.0/8", "https://10.1.2.3:5000/", False),
    ("10.0.0.0/8", "https://11.1.2.3/", True),
    ("10.0.0.0/8", "https://ten.example/", True),
    ("192.168.1.5", "https://192.168.1.5:5000/", False),
    ("192.168.1.5:80", "https://192.168.1.5/", True),
    ("2001:db8::/32", "https://[2001:db8::7]/", False),
    ("[2001:db8::7]:443", "https://[2001:db8::7]/", False),
    ("other.example, quay.io", "https://quay.io/", False),
    ("bad:port, ,", "https://quay.io/", True),
    ("quay.io:66979", "https://quay.io:1443/", True),  # not read as port 66979 - 65536
    ("[2001:db8::7]:65979", "https://[2001:db8::7]:443/", True),
])
def test_no_proxy(no_proxy: str, url: str, proxied: bool) -> None:
    assert (route({"HTTPS_PROXY": PROXY, "NO_PROXY": no_proxy}, url) is not None) == proxied


@pytest.mark.parametrize(("value", "sentence"), [
    ("socks5h://proxy.corp:1080", r"^https_proxy names a SOCKS proxy, which Spyglass "
                                  r"cannot use: only HTTP and HTTPS proxies"),
    ("http://", r"^https_proxy is no proxy address: it should be http://HOST:PORT"),
    # a typo's port is not taken modulo 65536 (99999 would reach port 34463)
    ("http://me:pw@127.0.0.1:99999", r"^https_proxy is no proxy address: its port 99999 "
                                     r"is not between 1 and 65535; it should be http://HOST:PORT"),
    ("proxy.corp:0", r"^https_proxy is no proxy address: its port 0 is not between 1 and 65535"),
])
def test_a_proxy_that_cannot_be_used_is_refused_where_it_would_be(
    value: str, sentence: str
) -> None:
    """Said by a request that would go through it; loopback registries, those NO_PROXY
    names and those of the other scheme are reached as ever."""
    settings = ProxySettings.from_environment({"https_proxy": value, "NO_PROXY": "direct.io"})
    with pytest.raises(SpyglassError, match=sentence):
        settings.proxy_for(httpx.URL("https://quay.io/v2/"))
    for url in ("https://127.0.0.1:5000/v2/", "https://direct.io/v2/", "http://quay.io/v2/"):
        assert settings.proxy_for(httpx.URL(url)) is None


def test_a_proxy_is_described_without_its_credentials() -> None:
    settings = ProxySettings.from_environment(
        {"HTTPS_PROXY": "http://me:s3cret@proxy.corp:3128", "HTTP_PROXY": "[fd00::1]:8080"})
    https = settings.proxy_for(httpx.URL("https://quay.io/"))
    plain = settings.proxy_for(httpx.URL("http://quay.io/"))
    assert https is not None and plain is not None
    assert https.describe() == "the proxy proxy.corp:3128 (HTTPS_PROXY)"
    assert plain.describe() == "the proxy [fd00::1]:8080 (HTTP_PROXY)"
    assert https.url.password == "s3cret"  # still sent to the proxy


def test_a_failed_handshake_through_an_https_proxy_says_the_proxy_was_in_the_way() -> None:
    """Which certificate was refused, the registry's or the proxy's, the handshake error
    does not tell: the sentence names the proxy too."""
    import ssl

    from spyglass.core.errors import TLSFailed
    from spyglass.core.transports.registry.client import RegistryClient
    from spyglass.core.transports.registry.connections import HTTPPool

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
                                 request=request) from ssl.SSLError("verify failed")

    pool = HTTPPool(transport=httpx.MockTransport(refuse))
    pool._proxies = ProxySettings.from_environment({"HTTPS_PROXY": "https://me:pw@p.corp:3128"})
    client = RegistryClient("quay.example", pool=pool, retry_times=0)
    with pytest.raises(TLSFailed) as caught:
        client.ping()
    message = str(caught.value)
    assert "through the proxy p.corp:3128 (HTTPS_PROXY), whose certificate is checked too" \
        in message, message
    assert "pw" not in message


def test_a_proxys_refusal_is_not_asked_again() -> None:
    """Its credentials (407) or its rules (a 403 to a tunnel): a copy's blob retries do
    not ask again, as the registry requests do not."""
    from spyglass.core.errors import ConnectionFailed, ProxyRefused
    from spyglass.core.retry import worth_retrying

    assert not worth_retrying(ProxyRefused("refused"))
    assert worth_retrying(ConnectionFailed("reset"))


@pytest.mark.parametrize(("environ", "url", "note"), [
    ({"http_proxy": PROXY}, "https://quay.io/v2/",
     " (http_proxy is set, but https:// registries go through HTTPS_PROXY, which is not set)"),
    ({"HTTPS_PROXY": PROXY}, "http://quay.io:5000/v2/",
     " (HTTPS_PROXY is set, but http:// registries go through HTTP_PROXY, which is not set)"),
    ({"all_proxy": PROXY}, "https://quay.io/v2/",
     " (all_proxy is set; Spyglass, like skopeo, reads only HTTP_PROXY and HTTPS_PROXY)"),
    ({"HTTPS_PROXY": PROXY, "ALL_PROXY": PROXY}, "https://quay.io/v2/", ""),  # it was read
    ({}, "https://quay.io/v2/", ""),
    ({"HTTP_PROXY": PROXY}, "https://127.0.0.1:5000/v2/", ""),  # never proxied anyway
    ({"HTTP_PROXY": PROXY, "NO_PROXY": "quay.io"}, "https://quay.io/v2/", ""),
])
def test_a_direct_failure_says_which_proxy_variable_went_unread(
    environ: dict[str, str], url: str, note: str
) -> None:
    from spyglass.core.proxies import unused_proxy_note

    assert unused_proxy_note(httpx.URL(url), environ) == note


def test_an_unreachable_registry_says_its_proxy_variable_went_unread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only HTTP_PROXY set (as people often set only http_proxy): an https:// registry
    is tried directly, and the sentence says why no proxy was used."""
    from spyglass.core.transports.registry import RegistryClient
    from spyglass.core.transports.registry.connections import HTTPPool

    def unresolved(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    monkeypatch.setenv("http_proxy", PROXY)
    pool = HTTPPool(transport=httpx.MockTransport(unresolved))
    with pytest.raises(SpyglassError) as caught:
        RegistryClient("registry.corp.example", pool=pool, retry_times=0).ping()
    assert str(caught.value) == (
        "Cannot reach the registry registry.corp.example: name or service not known "
        "(http_proxy is set, but https:// registries go through HTTPS_PROXY, which is not "
        "set).")
