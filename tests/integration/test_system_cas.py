"""The system's CA certificates are read through its hashed folder where it has one
(OpenSSL then reads the CA a server's chain names when it checks it, not every CA of the
bundle at start, 35-45 ms): a registry whose CA is there is trusted, one whose CA is not
is refused, a bundle changed after the folder (a CA appended by hand) is read as before,
and ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` are read as OpenSSL always reads them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from spyglass.core.errors import TLSFailed
from spyglass.core.transports.registry import RegistryClient
from spyglass.core.transports.registry.connections import HTTPPool
from spyglass.core.transports.registry.hosts import TLSSettings
from tests.helpers.registry import CertificateAuthority, RegistryServer, seed_tags
from tests.helpers.systemcas import hashed_ca_folder, use_as_system_cas

REPOSITORY = "it-system-cas/app"


@pytest.fixture(scope="module")
def tls_repo(tls_registry: RegistryServer) -> str:
    seed_tags(tls_registry, REPOSITORY, 2)
    return REPOSITORY


@pytest.fixture
def other_ca(tmp_path: Path) -> Path:
    """A folder of the system's kind holding a CA that did not sign the registry's."""
    other = CertificateAuthority(tmp_path / "other-ca", name="Another Test CA")
    return hashed_ca_folder(tmp_path / "other-certs", other.cert_path)


def _tags(server: RegistryServer, repository: str) -> list[str]:
    """The repository's tags through a pool of its own, so the system's CAs are read
    again for this test (over TLS only, as --tls-verify=true asks)."""
    pool = HTTPPool()
    try:
        client = RegistryClient(server.host, plain_loopback=False, pool=pool)
        return sorted(client.tags_of(repository))
    finally:
        pool.close()


def test_a_registry_whose_ca_is_in_the_hashed_system_folder_is_trusted(
    tls_registry: RegistryServer, tls_repo: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tls_registry.ca_path is not None
    use_as_system_cas(monkeypatch, hashed_ca_folder(tmp_path / "certs", tls_registry.ca_path))
    # no CA is read before one is needed
    assert TLSSettings().ssl_context().cert_store_stats()["x509_ca"] == 0
    assert _tags(tls_registry, tls_repo) == ["tag-00000", "tag-00001"]


def test_a_registry_whose_ca_is_not_there_is_still_refused(
    tls_registry: RegistryServer, tls_repo: str, other_ca: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_as_system_cas(monkeypatch, other_ca)
    with pytest.raises(TLSFailed, match=r"could not be verified \(unable to get local "
                                        r"issuer certificate\)"):
        _tags(tls_registry, tls_repo)


def test_ssl_cert_file_is_still_read(
    tls_registry: RegistryServer, tls_repo: str, other_ca: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Set, it is read as OpenSSL reads it (whole, at once), whatever folder there is."""
    assert tls_registry.ca_path is not None
    use_as_system_cas(monkeypatch, other_ca)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_registry.ca_path))
    assert TLSSettings().ssl_context().cert_store_stats()["x509_ca"] == 1
    assert _tags(tls_registry, tls_repo) == ["tag-00000", "tag-00001"]


def test_ssl_cert_dir_is_still_read(
    tls_registry: RegistryServer, tls_repo: str, other_ca: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tls_registry.ca_path is not None
    use_as_system_cas(monkeypatch, other_ca)
    monkeypatch.setenv("SSL_CERT_DIR",
                       str(hashed_ca_folder(tmp_path / "chosen", tls_registry.ca_path)))
    assert _tags(tls_registry, tls_repo) == ["tag-00000", "tag-00001"]


def _bundle(folder: Path, *cas: Path) -> Path:
    """The folder's bundle file of ``cas``, written as ``update-ca-certificates`` writes
    it: beside, then renamed in (which changes the folder)."""
    new = folder / "ca-certificates.crt.new"
    new.write_bytes(b"".join(ca.read_bytes() for ca in cas))
    return new.rename(folder / "ca-certificates.crt")


def test_a_ca_appended_to_the_bundle_alone_is_trusted(
    tls_registry: RegistryServer, tls_repo: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``cat ca.crt >> /etc/ssl/certs/ca-certificates.crt`` (a Dockerfile's way): the CA
    has no link in the folder, and the bundle, changed after it, is read whole."""
    assert tls_registry.ca_path is not None
    other = CertificateAuthority(tmp_path / "other-ca", name="Another Test CA").cert_path
    folder = hashed_ca_folder(tmp_path / "certs", other)
    bundle = _bundle(folder, other)
    use_as_system_cas(monkeypatch, folder, bundle)
    assert TLSSettings().ssl_context().cert_store_stats()["x509_ca"] == 0  # as installed
    an_hour_ago = time.time() - 3600  # (the folder's links made well before the append)
    os.utime(folder, (an_hour_ago, an_hour_ago))
    with bundle.open("ab") as appended:
        appended.write(tls_registry.ca_path.read_bytes())
    assert TLSSettings().ssl_context().cert_store_stats()["x509_ca"] == 2
    assert _tags(tls_registry, tls_repo) == ["tag-00000", "tag-00001"]


def test_a_folder_updated_after_its_bundle_is_read_alone(
    tls_registry: RegistryServer, tls_repo: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """update-ca-certificates links the CA and writes the bundle: the folder is enough."""
    assert tls_registry.ca_path is not None
    folder = hashed_ca_folder(tmp_path / "certs", tls_registry.ca_path)
    an_hour_ago = time.time() - 3600
    os.utime(folder, (an_hour_ago, an_hour_ago))
    use_as_system_cas(monkeypatch, folder, _bundle(folder, tls_registry.ca_path))
    assert TLSSettings().ssl_context().cert_store_stats()["x509_ca"] == 0
    assert _tags(tls_registry, tls_repo) == ["tag-00000", "tag-00001"]
