"""HTTP proxies from the environment, chosen as skopeo (Go's ``net/http``) chooses them.

``HTTPS_PROXY`` serves ``https://`` registries, ``HTTP_PROXY`` plain-HTTP ones
(the upper-case name wins over the lower-case one; ``ALL_PROXY`` is not read,
as Go does not read it). A value without a scheme is an ``http://`` proxy;
``https://`` proxies are spoken to over TLS; SOCKS is refused with a sentence.
``NO_PROXY`` lists what is reached directly: ``*`` for everything, an IP
address or a CIDR range, or a domain — ``example.com`` meaning it and its
subdomains, ``.example.com`` (or ``*.example.com``) its subdomains only —
each optionally with ``:PORT``. ``localhost`` and loopback addresses are never
proxied. Run as a CGI handler (``REQUEST_METHOD`` set), ``HTTP_PROXY`` is
ignored: a client could have set it (the "httpoxy" hole).

A proxy URL may carry a user and password; they are sent to the proxy and
never shown: sentences name a proxy by its host and port only.

Registries are reached through :class:`ProxyRouter` by the registry client's
pool; :func:`environment_client` gives the same routing to the other HTTP
fetches (signature lookaside stores, foreign layers' ``urls``).
"""

from __future__ import annotations

import ipaddress
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from spyglass.core.errors import SpyglassError

_DEFAULT_PORTS = {"http": 80, "https": 443}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class _Bypass:
    """One ``NO_PROXY`` entry: a network, an address or a domain, maybe with a port."""

    network: Network | None = None
    domain: str = ""  # with its leading dot
    whole_domain: bool = False  # "example.com": the domain itself too, not only below it
    port: int | None = None

    def matches(self, host: str, address: Address | None, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address is not None and address in self.network
        return host.endswith(self.domain) or (self.whole_domain and host == self.domain[1:])


@dataclass(frozen=True)
class Proxy:
    """A proxy to send requests through: its URL (credentials included) and the
    variable it came from."""

    url: httpx.URL
    variable: str

    def describe(self) -> str:
        """``the proxy proxy.corp:3128 (HTTPS_PROXY)``: never its credentials."""
        port = self.url.port or _DEFAULT_PORTS.get(self.url.scheme)
        host = f"[{self.url.host}]" if ":" in self.url.host else self.url.host
        return f"the proxy {host}:{port} ({self.variable})"

    def credentials_refused(self) -> str:
        """Why it answered 407, to follow a colon: the credentials of its URL are not the
        ones it takes, or it has none (never saying them)."""
        if self.url.username:
            why = f"it does not take the user and password that {self.variable} gives it"
        else:
            why = (f"it asks for a user and password; give them in {self.variable} as "
                   f"{self.url.scheme}://USER:PASSWORD@HOST:PORT")
        return f"{why} (407 Proxy Authentication Required)"


def connect_status(exc: BaseException) -> int | None:
    """The status a proxy answered a tunnel's CONNECT with (httpcore's ``ProxyError``
    says ``403 Forbidden``); None for any other failure."""
    found = re.match(r"(\d{3})\b", str(exc)) if isinstance(exc, httpx.ProxyError) else None
    return int(found.group(1)) if found else None


def bypass_advice(host: str) -> str:
    """The usual cure for a proxy that cannot reach a registry inside the network:
    ``add HOST to NO_PROXY if it is inside your network`` (``host`` without its port)."""
    return f"add {host} to NO_PROXY if it is inside your network"


@dataclass(frozen=True)
class ProxySettings:
    """Which proxy, if any, each request goes through. A variable naming a proxy that
    cannot be used (SOCKS, or no URL) holds the sentence that says so, raised only by
    a request that would go through it: other registries are reached all the same."""

    http: Proxy | str | None = None
    https: Proxy | str | None = None
    bypass: tuple[_Bypass, ...] = ()
    bypass_all: bool = False

    @property
    def any(self) -> bool:
        return (self.http is not None or self.https is not None) and not self.bypass_all

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ProxySettings:
        """The settings the environment asks for."""
        env = os.environ if environ is None else environ
        http_name, http_value = _first(env, "HTTP_PROXY", "http_proxy")
        if env.get("REQUEST_METHOD"):
            http_value = ""
        https_name, https_value = _first(env, "HTTPS_PROXY", "https_proxy")
        _, no_proxy = _first(env, "NO_PROXY", "no_proxy")
        bypass: list[_Bypass] = []
        for entry in no_proxy.split(","):
            entry = entry.strip().lower()
            if entry == "*":
                return cls(bypass_all=True)
            rule = _bypass_rule(entry)
            if rule is not None:
                bypass.append(rule)
        return cls(
            http=_proxy(http_value, http_name),
            https=_proxy(https_value, https_name),
            bypass=tuple(bypass),
        )

    def proxy_for(self, url: httpx.URL) -> Proxy | None:
        """The proxy a request to ``url`` goes through; None to go directly.
        :class:`SpyglassError` when that is a proxy the environment names wrongly."""
        proxy = {"https": self.https, "http": self.http}.get(url.scheme)
        if proxy is None or self.bypass_all:
            return None
        host = url.host.lower().rstrip(".")
        if host == "localhost":
            return None
        try:
            address: Address | None = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None and address.is_loopback:
            return None
        port = url.port or _DEFAULT_PORTS.get(url.scheme, 0)
        if any(rule.matches(host, address, port) for rule in self.bypass):
            return None
        if isinstance(proxy, str):
            raise SpyglassError(proxy)
        return proxy


def unused_proxy_note(url: httpx.URL, environ: Mapping[str, str] | None = None) -> str:
    """For a request to ``url`` that went directly and failed: `` (HTTP_PROXY is set, but
    https:// registries go through HTTPS_PROXY, which is not set)`` when the environment
    names a proxy only in a variable this scheme does not read (the other scheme's, or
    ``ALL_PROXY``, read by neither skopeo nor Spyglass); "" when none is, or when the
    host would be reached directly all the same (loopback, ``NO_PROXY``)."""
    env = os.environ if environ is None else environ
    wanted = "HTTPS_PROXY" if url.scheme == "https" else "HTTP_PROXY"
    other = "HTTP_PROXY" if wanted == "HTTPS_PROXY" else "HTTPS_PROXY"
    if _first(env, wanted, wanted.lower())[1]:
        return ""
    name, value = _first(env, other, other.lower())
    if value:
        note = (f" ({name} is set, but {url.scheme}:// registries go through {wanted}, "
                "which is not set)")
    else:
        name, value = _first(env, "ALL_PROXY", "all_proxy")
        note = (f" ({name} is set; Spyglass, like skopeo, reads only HTTP_PROXY and "
                "HTTPS_PROXY)")
    if not value:
        return ""
    try:  # would the proxy have been used, had the right variable named it?
        used = ProxySettings.from_environment({**env, wanted: value}).proxy_for(url)
    except SpyglassError:
        used = None
    return note if used is not None else ""


def _first(env: Mapping[str, str], *names: str) -> tuple[str, str]:
    for name in names:
        value = env.get(name, "")
        if value:
            return name, value
    return names[0], ""


def _proxy(value: str, variable: str) -> Proxy | str | None:
    """The proxy ``value`` names, or the sentence saying why it cannot be used."""
    value = value.strip()
    if not value:
        return None
    scheme = value.partition("://")[0].lower() if "://" in value else ""
    if scheme.startswith("socks"):
        return (f"{variable} names a SOCKS proxy, which Spyglass cannot use: only HTTP "
                "and HTTPS proxies (http://HOST:PORT or https://HOST:PORT).")
    if scheme not in ("http", "https"):
        value = "http://" + value
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        url = None
    if url is None or not url.host:
        return (f"{variable} is no proxy address: it should be http://HOST:PORT (or "
                "https://HOST:PORT).")
    if url.port is not None and not _valid_port(url.port):
        return (f"{variable} is no proxy address: its port {url.port} is not between 1 "
                "and 65535; it should be http://HOST:PORT (or https://HOST:PORT).")
    return Proxy(url, variable)


def _valid_port(port: int) -> bool:
    """Whether ``port`` is a TCP port (a larger number would be taken modulo 65536 by the
    connect, reaching whatever listens there)."""
    return 0 < port < 65536


def _bypass_rule(entry: str) -> _Bypass | None:
    """The rule of one ``NO_PROXY`` entry; None for an empty or malformed one (ignored,
    as Go ignores them)."""
    if not entry:
        return None
    try:
        return _Bypass(network=ipaddress.ip_network(entry, strict=False))
    except ValueError:
        pass
    host, port = entry, None
    if entry.startswith("["):
        end = entry.find("]")
        host, rest = entry[1:end], entry[end + 1:]
        if end < 0 or (rest and not rest[1:].isdigit()):
            return None
        port = int(rest[1:]) if rest else None
    elif entry.count(":") == 1:
        host, _, port_text = entry.partition(":")
        if not port_text.isdigit():
            return None
        port = int(port_text)
    if port is not None and not _valid_port(port):
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return _Bypass(network=ipaddress.ip_network(address), port=port)
    if host.startswith("*."):
        host = host[1:]
    if not host or host == ".":
        return None
    whole = not host.startswith(".")
    return _Bypass(domain=host if not whole else "." + host, whole_domain=whole, port=port)


class ProxyRouter(httpx.BaseTransport):
    """Sends each request directly or through its proxy (:meth:`ProxySettings.proxy_for`);
    a proxy's transport is made by ``through`` the first time it is needed."""

    def __init__(
        self,
        direct: httpx.BaseTransport,
        settings: ProxySettings,
        through: Callable[[Proxy], httpx.BaseTransport],
    ) -> None:
        self._direct = direct
        self._settings = settings
        self._through = through
        self._lock = threading.Lock()
        self._proxied: dict[Proxy, httpx.BaseTransport] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        proxy = self._settings.proxy_for(request.url)
        if proxy is None:
            return self._direct.handle_request(request)
        with self._lock:
            transport = self._proxied.get(proxy)
            if transport is None:
                transport = self._proxied[proxy] = self._through(proxy)
        return transport.handle_request(request)

    def close(self) -> None:
        with self._lock:
            proxied = list(self._proxied.values())
            self._proxied.clear()
        for transport in proxied:
            transport.close()
        self._direct.close()


def environment_client(
    *, track: Callable[[httpx.BaseTransport], object] | None = None, **options: Any
) -> httpx.Client:
    """An ``httpx.Client`` (``options`` as its own) that reaches servers through the
    proxies the environment names, by the rules above, as registries are reached;
    ``track`` is given each transport it makes (so a cancel can reach its connections)."""
    settings = ProxySettings.from_environment()

    def made(transport: httpx.HTTPTransport) -> httpx.HTTPTransport:
        if track is not None:
            track(transport)
        return transport

    if not settings.any:
        return httpx.Client(trust_env=False, transport=made(httpx.HTTPTransport()), **options)

    def through(proxy: Proxy) -> httpx.BaseTransport:
        return made(httpx.HTTPTransport(proxy=httpx.Proxy(proxy.url)))

    return httpx.Client(trust_env=False, transport=ProxyRouter(
        made(httpx.HTTPTransport()), settings, through), **options)
