"""Registries reached through the proxy the environment names, as skopeo reaches them.

The registry is named ``registry.spyglass.test``, a name nobody resolves: only the
test proxy (tests/helpers/proxy.py) knows it is on loopback, so a request that
arrives proves it went through the proxy. (A loopback address or ``localhost`` is
never sent through a proxy, as Go never sends it: one test checks that too.) The
command line runs in a subprocess with the proxy variables set, and with
``tests.helpers.names``, which resolves no name: its direct attempts at the
registry find no such name without asking a DNS server. Which requests go
directly or where under ``NO_PROXY`` is tested in
``tests/unit/core/test_proxies.py``.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from spyglass.core.errors import SpyglassError
from tests.helpers import names, require_tool
from tests.helpers.imagebuild import multi_platform_layout
from tests.helpers.proxy import TestProxy
from tests.helpers.registry import CertificateAuthority, RegistryServer
from tests.helpers.tokenserver import TokenServer

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
NAME = "registry.spyglass.test"
PROXY_USER, PROXY_PASSWORD = "squid", "proxy-secret-5e1b"


def spyglass(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The command line, its host names resolved by no DNS server: ``NAME`` is known to
    the proxy only, so a direct attempt at it finds no such name, as on a real network."""
    environment = {**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'app'}{os.pathsep}{REPO_ROOT}",
                   **names.environment({}), **env}
    for name in ("NO_PROXY", "no_proxy"):  # the session keeps loopback off proxies
        environment.pop(name, None)
        if name in env:
            environment[name] = env[name]
    return subprocess.run([sys.executable, "-m", "tests.helpers.names", *args], env=environment,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("proxied") / "layout"
    multi_platform_layout(root)
    return root


@pytest.fixture
def proxy(registry: RegistryServer, tls_registry: RegistryServer) -> Iterator[TestProxy]:
    with TestProxy({NAME: "127.0.0.1"}, credentials=(PROXY_USER, PROXY_PASSWORD)) as server:
        yield server


def port_of(server: RegistryServer) -> str:
    return server.host.rsplit(":", 1)[1]


def skopeo_digest(name: str) -> str:
    skopeo = require_tool("skopeo")
    done = subprocess.run([skopeo, "inspect", "--tls-verify=false", "--format", "{{.Digest}}",
                           name], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_plain_http_registry_through_http_proxy(
    registry: RegistryServer, proxy: TestProxy, layout: Path
) -> None:
    target = f"{NAME}:{port_of(registry)}"
    done = spyglass("copy", "--all", "--dest-tls-verify=false", f"oci:{layout}:latest",
                    f"docker://{target}/proxied/plain:1",
                    env={"HTTP_PROXY": proxy.url(PROXY_USER, PROXY_PASSWORD)})
    assert done.returncode == 0, done.stderr
    targets = [seen.target for seen in proxy.seen]
    assert f"http://{target}/v2/" in targets, targets
    assert all(seen.method != "CONNECT" for seen in proxy.seen)
    assert all(seen.authorization and seen.authorization.startswith("Basic ")
               for seen in proxy.seen)
    # the image is there, as the registry itself says
    written = skopeo_digest(f"docker://{registry.host}/proxied/plain:1")
    shown = spyglass("inspect", "--tls-verify=false", f"docker://{target}/proxied/plain:1",
                     env={"HTTP_PROXY": proxy.url(PROXY_USER, PROXY_PASSWORD)})
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["Digest"] == written
    assert PROXY_PASSWORD not in done.stderr + shown.stderr + shown.stdout


def test_an_https_registry_through_a_tunnel(
    tls_registry: RegistryServer, proxy: TestProxy, layout: Path
) -> None:
    target = f"{NAME}:{port_of(tls_registry)}"
    done = spyglass("copy", "--all", "--dest-tls-verify=false", f"oci:{layout}:latest",
                    f"docker://{target}/proxied/tls:1",
                    env={"HTTPS_PROXY": proxy.url(PROXY_USER, PROXY_PASSWORD)})
    assert done.returncode == 0, done.stderr
    assert {(seen.method, seen.target) for seen in proxy.seen} == {("CONNECT", target)}
    assert skopeo_digest(f"docker://{tls_registry.host}/proxied/tls:1").startswith("sha256:")
    assert PROXY_PASSWORD not in done.stderr


@pytest.mark.parametrize("kind", ["plain", "tls"])
def test_registries_through_an_https_proxy(
    registry: RegistryServer, tls_registry: RegistryServer, test_ca: CertificateAuthority,
    layout: Path, kind: str,
) -> None:
    """TLS to the proxy, and for an https:// registry TLS inside that, through the
    tunnel (its blobs read and written through both)."""
    issued = test_ca.issue("proxy", ip_addresses=["127.0.0.1"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(issued.cert_path, issued.key_path)
    server = registry if kind == "plain" else tls_registry
    target = f"{NAME}:{port_of(server)}"
    with TestProxy({NAME: "127.0.0.1"}, tls=context) as proxy:
        variable = "HTTP_PROXY" if kind == "plain" else "HTTPS_PROXY"
        done = spyglass("copy", "--all", "--dest-tls-verify=false", f"oci:{layout}:latest",
                        f"docker://{target}/proxied/over-tls-{kind}:1",
                        env={variable: proxy.url()})
        assert done.returncode == 0, done.stderr
        back = spyglass("inspect", "--tls-verify=false",
                        f"docker://{target}/proxied/over-tls-{kind}:1",
                        env={variable: proxy.url()})
        assert back.returncode == 0, back.stderr
        assert proxy.seen
    written = skopeo_digest(f"docker://{server.host}/proxied/over-tls-{kind}:1")
    assert json.loads(back.stdout)["Digest"] == written


def test_loopback_registries_are_never_proxied(
    registry: RegistryServer, proxy: TestProxy
) -> None:
    for host in (registry.host, f"localhost:{port_of(registry)}"):
        done = spyglass("catalog", host, env={
            "HTTP_PROXY": proxy.url(PROXY_USER, PROXY_PASSWORD),
            "HTTPS_PROXY": proxy.url(PROXY_USER, PROXY_PASSWORD)})
        assert done.returncode == 0, done.stderr
    assert proxy.seen == []


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_proxy_that_refuses_the_credentials_is_named(
    registry: RegistryServer, tls_registry: RegistryServer, proxy: TestProxy, scheme: str
) -> None:
    """Refused as an answer to a plain-HTTP request, or to the tunnel for an https one."""
    server, variable = (registry, "HTTP_PROXY") if scheme == "http" else (
        tls_registry, "HTTPS_PROXY")
    wrong = "not-the-proxy-password-77"
    done = spyglass("inspect", "--tls-verify=false",
                    f"docker://{NAME}:{port_of(server)}/proxied/plain:1",
                    env={variable: proxy.url(PROXY_USER, wrong)})
    assert done.returncode == 1
    line = done.stderr.strip()
    assert line == (
        f"spyglass: Cannot reach the registry {NAME}:{port_of(server)} through the proxy "
        f"127.0.0.1:{proxy.port} ({variable}): it does not take the user and password "
        f"that {variable} gives it (407 Proxy Authentication Required)."), line
    assert wrong not in done.stderr
    without = spyglass("inspect", "--tls-verify=false",
                       f"docker://{NAME}:{port_of(server)}/proxied/plain:1",
                       env={variable: proxy.url()})
    assert without.stderr.strip().endswith(
        f"it asks for a user and password; give them in {variable} as "
        "http://USER:PASSWORD@HOST:PORT (407 Proxy Authentication Required)."), without.stderr


def test_a_proxy_nobody_listens_on_is_named_without_its_password() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    nowhere = f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{port}"
    done = spyglass("inspect", "--tls-verify=false", "--retry-times", "0",
                    f"docker://{NAME}:5000/app:1",
                    env={"HTTPS_PROXY": nowhere, "HTTP_PROXY": nowhere})
    assert done.returncode == 1
    line = done.stderr.strip()  # of the first attempt, over https
    assert line == (f"spyglass: Cannot reach the registry {NAME}:5000 through the proxy "
                    f"127.0.0.1:{port} (HTTPS_PROXY): connection refused."), line


def test_a_dead_http_proxy_is_named_over_the_direct_https_attempt() -> None:
    """An insecure registry tried over https directly (no HTTPS_PROXY), then over http
    through HTTP_PROXY: the proxy nobody listens on is the news, not the direct
    attempt's failure (it named a host the proxy was to resolve)."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    done = spyglass("inspect", "--tls-verify=false", "--retry-times", "0",
                    f"docker://{NAME}:5000/app:1",
                    env={"HTTP_PROXY": f"http://127.0.0.1:{port}"})
    assert done.returncode == 1
    line = done.stderr.strip()
    assert line == (f"spyglass: Cannot reach the registry {NAME}:5000 through the proxy "
                    f"127.0.0.1:{port} (HTTP_PROXY): connection refused."), line


def test_a_socks_proxy_is_refused_with_a_sentence() -> None:
    done = spyglass("inspect", "--tls-verify=false", f"docker://{NAME}:5000/app:1",
                    env={"HTTPS_PROXY": "socks5://127.0.0.1:1080",
                         "HTTP_PROXY": "socks5://127.0.0.1:1080"})
    assert done.returncode == 1
    assert done.stderr.strip().startswith("spyglass: HTTPS_PROXY names a SOCKS proxy"), \
        done.stderr


def test_a_proxy_that_refuses_the_tunnel_is_asked_once(tls_registry: RegistryServer) -> None:
    """A 403 to CONNECT is the proxy's rule (squid's: tunnels to port 443 only), not a
    passing fault: it is said at once, as the tunnel it refused, not asked again."""
    target = f"{NAME}:{port_of(tls_registry)}"
    with TestProxy({NAME: "127.0.0.1"}, tunnels="403 Forbidden") as proxy:
        done = spyglass("inspect", f"docker://{target}/proxied/plain:1",
                        env={"HTTPS_PROXY": proxy.url()})
    assert done.returncode == 1
    line = done.stderr.strip()
    assert line == (
        f"spyglass: Cannot reach the registry {target} through the proxy "
        f"127.0.0.1:{proxy.port} (HTTPS_PROXY): it refused to open a tunnel to {target} "
        "(403 Forbidden); many proxies allow tunnels only to port 443. Ask for this port "
        f"to be allowed, or add {NAME} to NO_PROXY if it is inside your network."), line
    assert [(seen.method, seen.target) for seen in proxy.seen] == [("CONNECT", target)]


def test_a_proxy_that_never_answers_the_tunnel_is_named(
    tls_registry: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proxy took the connection and hangs on CONNECT: it is what hangs, not the
    registry, which was never reached (the ping's timeout shortened here)."""
    from spyglass.core.transports.registry import RegistryClient, endpoint
    from spyglass.core.transports.registry.connections import HTTPPool

    monkeypatch.setattr(socket, "getaddrinfo", names.resolver({}))
    monkeypatch.setattr(endpoint, "PING_TIMEOUT", httpx.Timeout(1.0))
    target = f"{NAME}:{port_of(tls_registry)}"
    with TestProxy({NAME: "127.0.0.1"}, tunnels="hang") as proxy:
        monkeypatch.delenv("NO_PROXY")
        monkeypatch.delenv("no_proxy")
        monkeypatch.setenv("HTTPS_PROXY", proxy.url())
        pool = HTTPPool()
        try:
            with pytest.raises(SpyglassError) as caught:
                RegistryClient(target, pool=pool, retry_times=0).ping()
        finally:
            pool.close()
    said = str(caught.value)
    assert said == (
        f"Cannot reach the registry {target} through the proxy 127.0.0.1:{proxy.port} "
        "(HTTPS_PROXY): the proxy took the connection but nothing came back (it timed "
        f"out); check the proxy, or add {NAME} to NO_PROXY if it is inside your network."
    ), said
    assert [seen.method for seen in proxy.seen] == ["CONNECT"]


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_proxy_that_cannot_reach_the_registry_is_named_with_no_proxy(scheme: str) -> None:
    """A registry inside the network, not in NO_PROXY: the proxy cannot reach it and
    answers 502 (to the plain request, or to the tunnel's CONNECT). The proxy is named,
    and NO_PROXY advised, not only "try again later"."""
    inside = "internal.spyglass.test:5000"
    variable = "HTTP_PROXY" if scheme == "http" else "HTTPS_PROXY"
    with TestProxy({}) as proxy:
        done = spyglass("inspect", "--retry-times", "0", f"docker://{inside}/app:1",
                        *(["--tls-verify=false"] if scheme == "http" else []),
                        env={variable: proxy.url()})
    assert done.returncode == 1
    line = done.stderr.strip()
    via = f"the proxy 127.0.0.1:{proxy.port} ({variable})"
    if scheme == "http":
        assert line == (
            f"spyglass: http://{inside}/v2/ answered HTTP 502 Bad Gateway through {via}: "
            f"the proxy may not reach {inside}; add internal.spyglass.test to NO_PROXY if "
            "it is inside your network, or try again later."), line
    else:
        assert line == (
            f"spyglass: Cannot reach the registry {inside} through {via}: 502 Bad Gateway; "
            f"the proxy could not reach {inside}: add internal.spyglass.test to NO_PROXY "
            "if it is inside your network."), line


@pytest.mark.parametrize("proxy_kind", ["dead", "wrong credentials", "cannot reach it"])
def test_a_proxy_in_the_way_of_the_token_server_is_named(
    make_token_server: Callable[..., TokenServer],
    make_registry: Callable[..., RegistryServer], proxy_kind: str,
) -> None:
    """The registry reached directly (on loopback), its token server elsewhere, through
    HTTP_PROXY (GitLab's and Harbor's layout): a proxy that cannot be reached, or does
    not take its credentials, is named, not the token server, and never its password."""
    tokens = make_token_server()
    realm = tokens.realm.replace("127.0.0.1", "auth.spyglass.test")
    server = make_registry(token_server=tokens,
                           extra_config={"auth": {"token": {"realm": realm}}})
    auth = f"auth.spyglass.test:{tokens.port}"
    knows = {} if proxy_kind == "cannot reach it" else {"auth.spyglass.test": "127.0.0.1"}
    wants = None if proxy_kind == "cannot reach it" else (PROXY_USER, PROXY_PASSWORD)
    with TestProxy(knows, credentials=wants) as proxy:
        url, port = proxy.url(PROXY_USER, "not-the-proxy-password"), proxy.port
        if proxy_kind == "dead":  # a port nobody listens on
            with socket.create_server(("127.0.0.1", 0)) as taken:
                port = taken.getsockname()[1]
            url = f"http://{PROXY_USER}:not-the-proxy-password@127.0.0.1:{port}"
        done = spyglass("inspect", "--retry-times", "0", "--creds", "alice:wonderland",
                        f"docker://{server.host}/private/app:1", env={"HTTP_PROXY": url})
    line = done.stderr.strip()
    via = f"the proxy 127.0.0.1:{port} (HTTP_PROXY)"
    if proxy_kind == "cannot reach it":  # a 502 from the proxy, not from the token server
        assert line == (
            f"spyglass: The token server {auth} of {server.host} answered HTTP 502 through "
            f"{via} instead of a token: the proxy may not reach {auth}; add "
            "auth.spyglass.test to NO_PROXY if it is inside your network, or try again "
            "later."), line
    else:
        why = ("connection refused" if proxy_kind == "dead" else
               "it does not take the user and password that HTTP_PROXY gives it (407 "
               "Proxy Authentication Required)")
        assert line == (f"spyglass: Cannot reach the token server {auth} of {server.host} "
                        f"through {via}: {why}."), line
    assert "not-the-proxy-password" not in done.stderr


def test_an_https_proxy_whose_certificate_is_not_trusted_is_named(
    tls_registry: RegistryServer, tmp_path: Path
) -> None:
    """The proxy's certificate comes from a CA nobody trusts (a corporate one), the
    registry's CA is given: the sentence is of the proxy's certificate, and sends one
    to the system's trusted certificates, not to the registry's certificate folder."""
    corporate = CertificateAuthority(tmp_path / "corporate-ca")
    issued = corporate.issue("proxy", ip_addresses=["127.0.0.1"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(issued.cert_path, issued.key_path)
    target = f"{NAME}:{port_of(tls_registry)}"
    with TestProxy({NAME: "127.0.0.1"}, tls=context) as proxy:
        done = spyglass("inspect", "--retry-times", "0", "--cert-dir",
                        str(tls_registry.cert_dir), f"docker://{target}/proxied/plain:1",
                        env={"HTTPS_PROXY": proxy.url(PROXY_USER, PROXY_PASSWORD)})
    assert done.returncode == 1
    line = done.stderr.strip()
    assert line == (
        f"spyglass: The TLS certificate of the proxy 127.0.0.1:{proxy.port} (HTTPS_PROXY) "
        "could not be verified (unable to get local issuer certificate). Add the CA "
        "certificate that issued it to the system's trusted certificates "
        "(update-ca-certificates, or a bundle named by SSL_CERT_FILE), or allow this "
        "registry to be insecure (--tls-verify=false)."), line
    assert PROXY_PASSWORD not in done.stderr
