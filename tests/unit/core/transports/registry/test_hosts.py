"""Registry hosts: Docker Hub's API name, host:port splitting, loopback, certs.d."""

from __future__ import annotations

from pathlib import Path

import pytest

from spyglass.core.errors import InvalidReference, SpyglassError
from spyglass.core.transports.registry.hosts import (
    TLSSettings,
    api_host,
    is_loopback,
    split_host,
    tls_settings,
)


@pytest.mark.parametrize(
    ("domain", "host"),
    [
        ("docker.io", "registry-1.docker.io"),
        ("index.docker.io", "registry-1.docker.io"),
        ("registry-1.docker.io", "registry-1.docker.io"),
        ("quay.io", "quay.io"),
        ("docker.io.example.com", "docker.io.example.com"),
        ("127.0.0.1:5000", "127.0.0.1:5000"),
    ],
)
def test_api_host(domain: str, host: str) -> None:
    assert api_host(domain) == host


@pytest.mark.parametrize(
    ("host", "parts"),
    [
        ("example.com", ("example.com", None)),
        ("example.com:5000", ("example.com", 5000)),
        ("127.0.0.1:1", ("127.0.0.1", 1)),
        ("localhost:65535", ("localhost", 65535)),
        ("[::1]", ("::1", None)),
        ("[::1]:5000", ("::1", 5000)),
        ("[fe80::1:2]:443", ("fe80::1:2", 443)),
    ],
)
def test_split_host(host: str, parts: tuple[str, int | None]) -> None:
    assert split_host(host) == parts


@pytest.mark.parametrize(
    "host",
    [
        "example.com:0",
        "example.com:65536",
        "example.com:http",
        "example.com:-1",
        "example.com:50 00",
        "example.com:²",  # str.isdigit() says yes, int() says no
        "example.com:\u0665\u0660\u0660\u0660",  # Arabic-Indic digits: 5000
        "[::1",
        "[::1]:0",
        "[::1]:x",
        "[::1]5000",
    ],
)
def test_split_host_refuses_bad_ports(host: str) -> None:
    with pytest.raises(InvalidReference) as info:
        split_host(host)
    assert host in str(info.value)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LocalHost:5000", True),
        ("127.0.0.1", True),
        ("127.0.0.1:5000", True),
        ("127.8.9.10:443", True),
        ("[::1]", True),
        ("[::1]:5000", True),
        ("10.0.0.1:5000", False),
        ("[fe80::1]:5000", False),
        ("localhost.example.com", False),
        ("registry.test:5000", False),
        ("docker.io", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# ---------------------------------------------------------------- certs.d


def _folder(root: Path, host: str, *files: str) -> Path:
    folder = root / host
    folder.mkdir(parents=True)
    for name in files:
        (folder / name).write_text(f"not really {name}\n")
    return folder


def test_no_folder_means_default_settings(tmp_path: Path) -> None:
    settings = tls_settings("registry.test", roots=[tmp_path / "a", tmp_path / "b"])
    assert settings == TLSSettings(verify=True)
    assert tls_settings("registry.test", verify=False, roots=[]) == TLSSettings(verify=False)


@pytest.mark.parametrize("host", ["docker.io", "index.docker.io", "registry-1.docker.io"])
def test_docker_hubs_folder_is_docker_io(tmp_path: Path, host: str) -> None:
    """As containers/image looks it up: by the name users see, not the API host."""
    folder = _folder(tmp_path, "docker.io", "ca.crt")
    assert tls_settings(host, roots=[tmp_path]).ca_files == (folder / "ca.crt",)


def test_docker_hubs_api_host_folder_is_still_read(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "registry-1.docker.io", "ca.crt")
    assert tls_settings("docker.io", roots=[tmp_path]).ca_files == (folder / "ca.crt",)


def test_crt_files_are_cas_and_a_cert_key_pair_is_the_client_certificate(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "registry.test:5000", "b.crt", "a.crt", "client.cert", "client.key",
                     "README")
    settings = tls_settings("registry.test:5000", roots=[tmp_path])
    assert settings.verify is True
    assert settings.ca_files == (folder / "a.crt", folder / "b.crt")
    assert settings.client_cert == (folder / "client.cert", folder / "client.key")


def test_a_key_without_its_certificate_is_an_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "registry.test", "ca.crt", "client.key")
    with pytest.raises(SpyglassError) as info:
        tls_settings("registry.test", roots=[tmp_path])
    assert str(folder / "client.key") in str(info.value)
    assert str(folder / "client.cert") in str(info.value)


def test_a_certificate_without_its_key_is_an_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "registry.test", "client.cert")
    with pytest.raises(SpyglassError) as info:
        tls_settings("registry.test", roots=[tmp_path])
    assert str(folder / "client.cert") in str(info.value)
    assert str(folder / "client.key") in str(info.value)


def test_the_first_existing_root_wins(tmp_path: Path) -> None:
    missing, second, third = tmp_path / "missing", tmp_path / "second", tmp_path / "third"
    _folder(missing.parent / "other", "registry.test", "ignored.crt")  # not a root at all
    _folder(second, "registry.test", "second.crt")
    _folder(third, "registry.test", "third.crt", "client.cert", "client.key")
    settings = tls_settings("registry.test", roots=[missing, second, third])
    assert settings.ca_files == (second / "registry.test" / "second.crt",)
    assert settings.client_cert is None  # the third root's pair is not mixed in


def test_the_host_folder_is_matched_with_its_port(tmp_path: Path) -> None:
    _folder(tmp_path, "registry.test", "without-port.crt")
    settings = tls_settings("registry.test:5000", roots=[tmp_path])
    assert settings.ca_files == ()


def test_cert_dir_replaces_the_roots(tmp_path: Path) -> None:
    own = _folder(tmp_path, "own", "own.crt")
    _folder(tmp_path / "root", "registry.test", "root.crt")
    settings = tls_settings("registry.test", cert_dir=own, roots=[tmp_path / "root"])
    assert settings.ca_files == (own / "own.crt",)


def test_unreadable_ca_file_is_a_sentence_naming_it(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "registry.test", "bogus.crt")
    settings = tls_settings("registry.test", roots=[tmp_path])
    with pytest.raises(SpyglassError) as info:
        settings.ssl_context()
    assert str(folder / "bogus.crt") in str(info.value)


def test_a_cert_dir_that_is_no_folder_is_refused(tmp_path: Path) -> None:
    """As skopeo's ``--cert-dir`` ("not a directory"): never silently ignored."""
    afile = tmp_path / "ca.crt"
    afile.write_text("not a folder\n")
    with pytest.raises(SpyglassError) as info:
        tls_settings("registry.test", cert_dir=afile)
    assert str(info.value) == (
        f'The certificate folder "{afile}" is not a folder; expected a folder of CA '
        "certificates (*.crt) and client certificates (*.cert, each with its *.key).")
    with pytest.raises(SpyglassError, match="does not exist"):
        tls_settings("registry.test", cert_dir=tmp_path / "missing")
    # an empty folder is a folder without certificates (skopeo takes it too)
    (tmp_path / "empty").mkdir()
    assert tls_settings("registry.test", cert_dir=tmp_path / "empty") == TLSSettings(verify=True)
