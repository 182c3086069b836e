"""The registry transport (``docker://``): the distribution API over httpx.

- :mod:`.hosts` — Docker Hub's API host, loopback, TLS settings from ``certs.d``;
- :mod:`.auth` — ``WWW-Authenticate`` challenges, Bearer tokens and Basic auth;
- :mod:`.errors` — registry error answers as Spyglass exceptions;
- :mod:`.failures` — what a failed request's exception says (TLS, timeouts);
- :mod:`.endpoint` — :class:`~.endpoint.RegistryEndpoint`: the ping, requests, retries;
- :mod:`.push` — :class:`~.push.RegistryPusher`: blob mounts and uploads, manifests stored;
- :mod:`.client` — :class:`RegistryClient`, on those two: paging, manifests, referrers, blobs;
- :mod:`.source` — :class:`RegistryImageSource`, one image for reading (imported when
  first named: listing tags or repositories reads no image, and its module brings the
  blob-location cache, sqlite3 and the lookaside signature stores with it);
- :mod:`.pulls` — where an image is read from: registries.conf's mirrors and
  ``location``, tried in order.

:func:`client_for` hands out one client per registry and settings for the
whole process, so tokens and connections are reused by every caller; a registry that
registries.conf marks ``insecure = true`` is reached insecurely unless ``--tls-verify``
was given. :func:`open_registry_image` reads an image from its pull sources.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

from spyglass.core.cancel import CancelToken
from spyglass.core.credentials import Credentials, canonical_host
from spyglass.core.credentials.store import CredentialStore
from spyglass.core.reference import DockerReference
from spyglass.core.registries_conf import PullSource, insecure_for
from spyglass.core.transports.registry.client import RegistryClient
from spyglass.core.transports.registry.connections import POOL

if TYPE_CHECKING:
    from spyglass.core.transports.registry.pulls import ClientMaker
    from spyglass.core.transports.registry.source import RegistryImageSource


@dataclass(frozen=True)
class RegistryOptions:
    """How to reach registries for one call: skopeo's ``--creds``, ``--authfile``,
    ``--tls-verify`` and ``--cert-dir``."""

    credentials: Credentials | None = None
    anonymous: bool = False
    """Send no credentials but ``credentials`` (skopeo's ``--no-creds``): nothing is
    looked up in auth files, helpers or the keyring."""
    authfile: Path | None = None
    tls_verify: bool | None = None
    """True: HTTPS with verified certificates, everywhere (an explicit ``--tls-verify``,
    as skopeo); False: plain HTTP and unverified TLS allowed; None (the default): as
    True, but a loopback registry is reached over plain HTTP when HTTPS fails, as
    Docker does."""
    cert_dir: Path | None = None
    retry_times: int = 3
    registries_d: Path | None = None
    """Where lookaside signature stores are configured (skopeo's ``--registries.d``);
    None: the user's or the system's ``registries.d``."""


_lock = threading.Lock()
_clients: OrderedDict[tuple[object, ...], RegistryClient] = OrderedDict()
MAX_CLIENTS: Final = 256
"""Clients kept for reuse, the most recently asked for: one per registry, repository and
options (a sync across thousands of repositories kept one for each, for good). One let
go is only made again (its connections are the shared pool's)."""
_stores: dict[Path | None, CredentialStore] = {}


def credential_store(authfile: Path | None = None) -> CredentialStore:
    """The process's credential store for ``authfile`` (None: the default files)."""
    with _lock:
        store = _stores.get(authfile)
        if store is None:
            store = _stores[authfile] = CredentialStore(authfile=authfile)
        return store


def client_for(
    host: str, options: RegistryOptions | None = None, *, repository: str | None = None
) -> RegistryClient:
    """The shared :class:`RegistryClient` for ``host`` with these options (insecure,
    when registries.conf says ``insecure = true`` for it, or for ``repository`` in it,
    and ``--tls-verify`` was not given)."""
    options = options or RegistryOptions()
    host = canonical_host(host)
    authfile = options.authfile
    if options.tls_verify is None and insecure_for(host, repository):
        options = replace(options, tls_verify=False)

    def lookup() -> Credentials | None:
        return credential_store(authfile).lookup(
            host, given=options.credentials, repository=repository
        )

    # credentials are looked up only when the registry asks for them
    key = (host, repository, options)
    with _lock:
        client = _clients.get(key)
        if client is not None:
            _clients.move_to_end(key)
        else:
            if len(_clients) >= MAX_CLIENTS:
                _clients.popitem(last=False)
            client = _clients[key] = RegistryClient(
                host,
                credentials=options.credentials or (None if options.anonymous else lookup),
                insecure=options.tls_verify is False,
                plain_loopback=options.tls_verify is None,
                cert_dir=options.cert_dir,
                retry_times=options.retry_times,
            )
        return client


def forget_clients() -> None:
    """Drop every cached client (after a login or logout changes credentials)."""
    with _lock:
        _clients.clear()


def open_registry_image(
    reference: DockerReference, options: RegistryOptions | None = None, *,
    make_client: ClientMaker | None = None, cancel: CancelToken | None = None,
) -> RegistryImageSource:
    """Open ``docker://REFERENCE`` for reading, from the first of its pull sources
    (registries.conf's mirrors, then its location: :mod:`.pulls`) whose manifest
    answers; with no mirrors, from the one place, the manifest read when first asked
    for. ``make_client``: the client for a pull source (default: :func:`client_for` with
    ``options``, credentials given for the name's registry sent to it only)."""
    from spyglass.core.transports.registry.pulls import first_answering, pull_sources
    from spyglass.core.transports.registry.source import RegistryImageSource

    options = options or RegistryOptions()
    tag_or_digest = str(reference.digest) if reference.digest else (reference.tag or "latest")
    registries_d = options.registries_d
    maker = make_client or source_clients(reference, options)
    sources = pull_sources(reference)
    if len(sources) == 1:
        source = sources[0]
        return RegistryImageSource(maker(source), source.repository, tag_or_digest,
                                   registries_d=registries_d)

    def attempt(client: RegistryClient, source: PullSource) -> RegistryImageSource:
        image = RegistryImageSource(client, source.repository, tag_or_digest,
                                    registries_d=registries_d)
        image.top_manifest(cancel=cancel)
        return image

    return first_answering(reference, maker, attempt)


def clients_beside(client: RegistryClient) -> ClientMaker:
    """The clients of pull sources for a name read through ``client`` (the window's own,
    of one of its registries): ``client`` for its registry, the shared ones (default
    options, insecure where registries.conf says) for other hosts, such as mirrors."""

    def make(source: PullSource) -> RegistryClient:
        if source.host == client.host and (client.insecure or not source.insecure):
            return client
        chosen = RegistryOptions(tls_verify=False if source.insecure else None,
                                 retry_times=client.retry_times)
        return client_for(source.host, chosen, repository=source.repository)

    return make


def source_clients(reference: DockerReference, options: RegistryOptions) -> ClientMaker:
    """The clients of the command line's pull sources: a mirror on another host is sent
    no credentials given for the name's registry (as containers/image), and one marked
    insecure is reached insecurely unless ``--tls-verify`` was given."""
    home = canonical_host(reference.domain)

    def make(source: PullSource) -> RegistryClient:
        chosen = options
        if source.host != home and chosen.credentials is not None:
            chosen = replace(chosen, credentials=None)
        if source.insecure and chosen.tls_verify is None:
            chosen = replace(chosen, tls_verify=False)
        return client_for(source.host, chosen, repository=source.repository)

    return make


__all__ = [
    "POOL",
    "RegistryClient",
    "RegistryImageSource",
    "RegistryOptions",
    "client_for",
    "clients_beside",
    "credential_store",
    "forget_clients",
    "open_registry_image",
    "source_clients",
]


def __getattr__(name: str) -> object:
    """:class:`RegistryImageSource`, imported when first asked for (``from
    spyglass.core.transports.registry import RegistryImageSource`` works as ever)."""
    if name == "RegistryImageSource":
        from spyglass.core.transports.registry.source import RegistryImageSource

        return RegistryImageSource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
