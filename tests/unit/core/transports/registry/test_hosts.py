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
    trust_ca_certificate,
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


def test_a_ca_file_that_holds_no_certificate_is_passed_over_naming_it(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """As containers/image: the other files of the folder still count (one bad file took
    them all down, and the sentence blamed them too)."""
    from tests.helpers.registry import CertificateAuthority

    folder = _folder(tmp_path, "registry.test", "bogus.crt")
    ca = CertificateAuthority(tmp_path / "ca")
    (folder / "good.crt").write_bytes(ca.cert_path.read_bytes())
    settings = tls_settings("registry.test", roots=[tmp_path])
    assert set(settings.ca_files) == {folder / "bogus.crt", folder / "good.crt"}
    with caplog.at_level("WARNING"):
        context = settings.ssl_context()
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
        f"Ignoring {folder / 'bogus.crt'}, which holds no CA certificate that can be read "
        "(no certificate or crl found)."]
    assert any(dict(entry[0] for entry in cert["subject"]).get("commonName")
               == "Spyglass Test CA" for cert in context.get_ca_certs())


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


# ------------------------------------------------------------ trusting a CA certificate


@pytest.fixture(scope="module")
def ca_pem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.helpers.registry import CertificateAuthority

    return CertificateAuthority(tmp_path_factory.mktemp("ca")).cert_path


def test_a_pem_ca_goes_to_the_users_folder_and_is_then_used(tmp_path: Path,
                                                              ca_pem: Path) -> None:
    roots = [tmp_path / "home-certs.d", tmp_path / "etc-certs.d"]
    written = trust_ca_certificate("127.0.0.1:5000", ca_pem, roots=roots)
    assert written == roots[0] / "127.0.0.1:5000" / f"{ca_pem.stem}.crt"
    assert written.read_bytes() == _pem_of(ca_pem)
    assert written.stat().st_mode & 0o777 == 0o644
    assert tls_settings("127.0.0.1:5000", roots=roots).ca_files == (written,)
    assert [p.name for p in written.parent.iterdir()] == [written.name]  # no temp file left
    # the same certificate again: nothing new is written
    assert trust_ca_certificate("127.0.0.1:5000", ca_pem, roots=roots) == written


def _pem_of(path: Path) -> bytes:
    import ssl

    text = path.read_text()
    return ssl.DER_cert_to_PEM_cert(ssl.PEM_cert_to_DER_cert(text)).encode()


def test_a_der_ca_is_written_as_pem_beside_another_of_the_same_name(tmp_path: Path,
                                                                   ca_pem: Path) -> None:
    import ssl

    der = tmp_path / "ca.der"
    der.write_bytes(ssl.PEM_cert_to_DER_cert(ca_pem.read_text()))
    folder = tmp_path / "certs.d" / "registry.example"
    folder.mkdir(parents=True)
    (folder / "ca.crt").write_text("another CA\n")
    written = trust_ca_certificate("registry.example", der, roots=[tmp_path / "certs.d"])
    assert written == folder / "ca-2.crt"
    assert written.read_bytes() == _pem_of(ca_pem)
    assert (folder / "ca.crt").read_text() == "another CA\n"


def test_the_folder_in_effect_takes_the_certificate(tmp_path: Path, ca_pem: Path) -> None:
    roots = [tmp_path / "home", tmp_path / "etc"]
    system = roots[1] / "registry.example"
    system.mkdir(parents=True)  # a new folder in the user's would hide this one
    written = trust_ca_certificate("registry.example", ca_pem, roots=roots)
    assert written.parent == system
    assert not (roots[0] / "registry.example").exists()


@pytest.fixture(scope="module")
def ca_bytes(ca_pem: Path) -> bytes:
    return ca_pem.read_bytes()  # read as root: an unprivileged test cannot


def test_a_folder_that_cannot_be_written_is_a_sentence(ca_bytes: bytes,
                                                       unprivileged_dir: Path) -> None:
    ca_pem = unprivileged_dir / "ca.pem"
    ca_pem.write_bytes(ca_bytes)
    locked = unprivileged_dir / "certs.d"
    (locked / "registry.example").mkdir(parents=True)
    locked.chmod(0o555)
    (locked / "registry.example").chmod(0o555)
    try:
        with pytest.raises(SpyglassError) as caught:
            trust_ca_certificate("registry.example", ca_pem, roots=[locked])
    finally:
        (locked / "registry.example").chmod(0o755)
        locked.chmod(0o755)
    message = str(caught.value)
    assert message.startswith(f'Cannot put the CA certificate in "{locked / "registry.example"}"')
    assert f'Copy "{ca_pem}" there as a *.crt file yourself' in message
    assert list((locked / "registry.example").iterdir()) == []


def test_a_file_where_the_registrys_folder_goes_is_said_to_be_one(ca_bytes: bytes,
                                                                   tmp_path: Path) -> None:
    """It said to copy the certificate "there": into a file."""
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(ca_bytes)
    certs_d = tmp_path / "certs.d"
    certs_d.mkdir()
    (certs_d / "registry.example").write_text("not a folder")
    with pytest.raises(SpyglassError) as caught:
        trust_ca_certificate("registry.example", ca_pem, roots=[certs_d])
    assert str(caught.value) == (
        f'Cannot put the CA certificate in "{certs_d / "registry.example"}": that is a file, '
        "and it must be a folder (holding the registry's *.crt files). Move the file away, "
        f'then trust "{ca_pem}" again, or allow this registry to be insecure.')


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "holds no certificate"),
    (b"hello\n", "holds no certificate"),
    (b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
     "holds no certificate"),
    (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
     "holds no certificate"),
    (b"x" * (1024 * 1024 + 1), "too long for a certificate file"),
])
def test_what_is_no_certificate_is_refused(tmp_path: Path, content: bytes,
                                           expected: str) -> None:
    source = tmp_path / "ca.pem"
    source.write_bytes(content)
    with pytest.raises(SpyglassError) as caught:
        trust_ca_certificate("registry.example", source, roots=[tmp_path / "certs.d"])
    assert expected in str(caught.value) and str(source) in str(caught.value)
    assert not (tmp_path / "certs.d").exists()


def test_a_missing_file_is_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(SpyglassError, match=r"Cannot read the certificate file .*: No such file"):
        trust_ca_certificate("registry.example", tmp_path / "gone.crt",
                             roots=[tmp_path / "certs.d"])


def test_several_der_certificates_are_all_kept(tmp_path: Path, ca_pem: Path) -> None:
    import ssl

    from tests.helpers.registry import CertificateAuthority

    other = CertificateAuthority(tmp_path / "other", name="Another CA").cert_path
    ders = [ssl.PEM_cert_to_DER_cert(p.read_text()) for p in (ca_pem, other)]
    both = tmp_path / "both.der"
    both.write_bytes(b"".join(ders))
    written = trust_ca_certificate("registry.example", both, roots=[tmp_path / "certs.d"])
    assert written.read_text().count("-----BEGIN CERTIFICATE-----") == 2
    assert tls_settings("registry.example", roots=[tmp_path / "certs.d"]).ca_files \
        == (written,)


def test_a_certificate_held_already_in_any_form_is_not_written_again(
        tmp_path: Path, ca_pem: Path) -> None:
    folder = tmp_path / "certs.d" / "registry.example"
    folder.mkdir(parents=True)
    bundle = folder / "bundle.crt"  # a hand-made file: comments, CRLF line ends
    bundle.write_bytes(b"# our CAs\r\n" + ca_pem.read_bytes().replace(b"\n", b"\r\n"))
    assert trust_ca_certificate("registry.example", ca_pem,
                                roots=[tmp_path / "certs.d"]) == bundle
    assert sorted(p.name for p in folder.iterdir()) == ["bundle.crt"]


def test_a_der_certificate_ending_in_a_newline_byte_keeps_it() -> None:
    """The newline an editor adds was stripped with every whitespace byte before it: a
    certificate whose signature ends in 0x0a (one in 256) lost its last byte."""
    from spyglass.core.transports.registry.hosts import _der_sequence

    ends_in_newline = b"\x30\x03\x01\x02\x0a"
    assert _der_sequence(ends_in_newline + b"\n") == [ends_in_newline]
    assert _der_sequence(ends_in_newline * 2 + b" \r\n") == [ends_in_newline] * 2
    assert _der_sequence(b"\n" + ends_in_newline) == []


def test_a_der_file_with_a_newline_after_it_is_taken(tmp_path: Path, ca_pem: Path) -> None:
    import ssl

    der = tmp_path / "ca.der"
    der.write_bytes(ssl.PEM_cert_to_DER_cert(ca_pem.read_text()) + b"\n")
    written = trust_ca_certificate("registry.example", der, roots=[tmp_path / "certs.d"])
    assert written.read_bytes() == _pem_of(ca_pem)


def test_only_the_certificates_not_held_already_are_written(tmp_path: Path,
                                                           ca_pem: Path) -> None:
    from tests.helpers.registry import CertificateAuthority

    other = CertificateAuthority(tmp_path / "other", name="Another CA").cert_path
    folder = tmp_path / "certs.d" / "registry.example"
    folder.mkdir(parents=True)
    (folder / "ca.crt").write_bytes(_pem_of(ca_pem))
    both = tmp_path / "both.pem"
    both.write_bytes(ca_pem.read_bytes() + other.read_bytes())
    written = trust_ca_certificate("registry.example", both, roots=[tmp_path / "certs.d"])
    assert written == folder / "both.crt"
    assert written.read_bytes() == _pem_of(other)  # the one not trusted there yet, alone
