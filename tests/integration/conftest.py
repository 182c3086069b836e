"""Fixtures for tests against a real registry server (Debian's ``docker-registry``).

Servers (each skips the test, naming the missing tool, without ``docker-registry``):

- ``registry``: anonymous, plain HTTP (session-wide);
- ``auth_registry``: htpasswd Basic auth, users ``ALICE`` (alice/wonderland)
  and ``BOB`` (bob/builder) (session-wide);
- ``token_registry`` with ``token_server``: token auth; alice may do anything,
  bob and anonymous clients may only pull ``public/*`` (``TEST_ACL``)
  (session-wide);
- ``tls_registry``: anonymous over HTTPS, certificate from ``test_ca``;
  clients trust ``tls_registry.ca_path`` / ``ssl_context()`` / ``cert_dir``
  (session-wide);
- ``fresh_registry``: anonymous, for this test only: stop it, restart it,
  corrupt its storage;
- ``make_registry(**kwargs)``: any :class:`RegistryServer` for this test only
  (``tls=True``, ``htpasswd=…``, ``token_server=…``), started; and
  ``make_token_server(**kwargs)``: a :class:`TokenServer` for this test only,
  with the test users and ``TEST_ACL`` unless told otherwise.

The session-wide servers are shared: use a repository name of your own
(``repo_name``), and don't change the shared token server's settings (make your
own). ``token_server.requests`` holds every test's requests; compare counts or
``clear_log()`` first.

Loading images, in ``tests.helpers.registry`` (import them from there)::

    digest = push_image(server, layout_path, "latest", "team/app:1.0", creds=ALICE)
    tags = seed_tags(server, "team/many", 1000)          # tag-00000 … tag-00999
    repos = seed_repos(server, 250)                      # seed/repo-00000 … (for _catalog)

``push_image`` is ``skopeo copy --all oci:LAYOUT:REF docker://HOST/REPO:TAG``
(TLS verified against the server's CA); ``seed_tags`` PUTs one manifest under
many tags (10,000 in ~20 s here; ``direct=True`` writes the tag links into
storage instead, ~3 s).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.helpers import require_tool
from tests.helpers.registry import (
    ALICE,
    BOB,
    TEST_USERS,
    CertificateAuthority,
    RegistryServer,
    push_image,
    seed_repos,
    seed_tags,
)
from tests.helpers.tokenserver import TEST_ACL, TokenServer

__all__ = ["ALICE", "BOB", "push_image", "seed_repos", "seed_tags"]

_REGISTRY_NAMES = ("docker-registry", "registry")


@pytest.fixture(scope="session")
def registry_binary() -> str:
    """The registry server's path; skips (naming ``make system-deps``) when it is missing."""
    return require_tool(*_REGISTRY_NAMES)


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    """A certificate authority for the session's TLS servers."""
    return CertificateAuthority(tmp_path_factory.mktemp("test-ca"))


@pytest.fixture(scope="session")
def _session_servers() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as stack:
        yield stack


def _start(stack: contextlib.ExitStack, binary: str, **kwargs: Any) -> RegistryServer:
    return stack.enter_context(RegistryServer(binary=binary, **kwargs))


@pytest.fixture(scope="session")
def registry(_session_servers: contextlib.ExitStack, registry_binary: str) -> RegistryServer:
    """An anonymous registry over plain HTTP, shared by the session."""
    return _start(_session_servers, registry_binary)


@pytest.fixture(scope="session")
def auth_registry(_session_servers: contextlib.ExitStack, registry_binary: str) -> RegistryServer:
    """A registry with htpasswd Basic auth for alice/wonderland and bob/builder."""
    return _start(_session_servers, registry_binary, htpasswd=TEST_USERS)


@pytest.fixture(scope="session")
def token_server(_session_servers: contextlib.ExitStack, registry_binary: str) -> TokenServer:
    """The session's token server: the test users, ``TEST_ACL``, anonymous pulls of public/*."""
    return _session_servers.enter_context(TokenServer(users=TEST_USERS, acl=TEST_ACL))


@pytest.fixture(scope="session")
def token_registry(
    _session_servers: contextlib.ExitStack, registry_binary: str, token_server: TokenServer
) -> RegistryServer:
    """A registry with token auth from :func:`token_server`, shared by the session."""
    return _start(_session_servers, registry_binary, token_server=token_server)


@pytest.fixture(scope="session")
def tls_registry(
    _session_servers: contextlib.ExitStack, registry_binary: str, test_ca: CertificateAuthority
) -> RegistryServer:
    """An anonymous registry over HTTPS; trust ``ca_path`` (or ``cert_dir`` for skopeo)."""
    return _start(_session_servers, registry_binary, tls=True, ca=test_ca)


@pytest.fixture
def make_token_server() -> Iterator[Callable[..., TokenServer]]:
    """A factory of started token servers, closed after the test.

    Defaults: the test users and ``TEST_ACL``; keyword arguments as :class:`TokenServer`.
    """
    with contextlib.ExitStack() as stack:

        def make(**kwargs: Any) -> TokenServer:
            kwargs.setdefault("users", TEST_USERS)
            kwargs.setdefault("acl", TEST_ACL)
            return stack.enter_context(TokenServer(**kwargs))

        yield make


@pytest.fixture
def make_registry(
    registry_binary: str, test_ca: CertificateAuthority
) -> Iterator[Callable[..., RegistryServer]]:
    """A factory of started registries, closed after the test (arguments as RegistryServer).

    With ``tls=True`` and no ``ca`` the session's ``test_ca`` is used.
    """
    with contextlib.ExitStack() as stack:

        def make(**kwargs: Any) -> RegistryServer:
            if kwargs.get("tls"):
                kwargs.setdefault("ca", test_ca)
            return _start(stack, registry_binary, **kwargs)

        yield make


@pytest.fixture
def fresh_registry(make_registry: Callable[..., RegistryServer]) -> RegistryServer:
    """An anonymous registry of this test's own: stop, restart or corrupt it at will."""
    return make_registry()


@pytest.fixture
def repo_name(request: pytest.FixtureRequest) -> str:
    """A repository name unique to this test (``it/<test name>``), valid in distribution."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:100] or "test"
    return f"it/{name}"
