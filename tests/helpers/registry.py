"""A real registry server for tests: Debian's ``docker-registry`` (distribution 2.8).

:class:`RegistryServer` runs ``docker-registry serve CONFIG`` on a free
loopback port with its own storage, config and log in a temporary folder,
waits until ``GET /v2/`` answers, and stops it again. It serves one of::

    RegistryServer()                                   # anonymous, plain HTTP
    RegistryServer(htpasswd={"alice": "wonderland"})   # Basic auth (bcrypt htpasswd)
    RegistryServer(token_server=tokens)                # Bearer tokens from a TokenServer
    RegistryServer(tls=True)                           # HTTPS, certificate from a test CA

and any of the auth modes with ``tls=True``. Use it as a context manager, or
``start()``/``stop()`` by hand; ``stop()`` then ``start()`` (or ``restart()``)
brings the same registry back on the same port and storage.

Also here, for the integration tests and anything else that needs them:

- :class:`CertificateAuthority`: a throwaway CA (``cryptography``) that issues
  server certificates (and the token server's signing certificate);
- :class:`RegistryAuth`: a small ``httpx.Auth`` that answers Basic and Bearer
  challenges (fetching tokens by GET from the realm), so tests can talk to any
  of the servers with plain httpx;
- :func:`push_image`: ``skopeo copy`` from an OCI layout into a server;
- :func:`seed_tags`: many tags of one tiny image, quickly, by PUTting the same
  manifest under each tag.

The registry's storage follows distribution's filesystem driver layout
(``docker/registry/v2/blobs/sha256/AB/ABCDEF…/data``); :meth:`RegistryServer.blob_path`
names a blob's file so tests can corrupt it.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import ipaddress
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Generator, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from tests.helpers.imagebuild import (
    OCI_CONFIG,
    OCI_LAYER_GZIP,
    OCI_MANIFEST,
    LayerSpec,
    build_layer,
    dump_json,
    sha256_digest,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.x509 import Certificate

__all__ = [
    "ALICE",
    "BOB",
    "TEST_USERS",
    "CertificateAuthority",
    "IssuedCertificate",
    "RegistryAuth",
    "RegistryServer",
    "RegistryStartError",
    "TokenAuthSettings",
    "find_registry_binary",
    "parse_challenge",
    "push_image",
    "seed_image",
    "seed_repos",
    "seed_tags",
]

#: The test users of the fixtures: alice may do anything, bob less (see the token ACL).
ALICE = ("alice", "wonderland")
BOB = ("bob", "builder")
TEST_USERS = dict([ALICE, BOB])

#: The names distribution's server binary goes by: Debian's, then upstream's.
REGISTRY_BINARIES = ("docker-registry", "registry")

#: The response header by which the readiness probe knows it reached *our* server.
_MARKER_HEADER = "X-Spyglass-Test-Registry"

Credentials = tuple[str, str] | str


def find_registry_binary() -> str | None:
    """The path of distribution's registry server on ``PATH``, or None."""
    for name in REGISTRY_BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fast_temp_root() -> str | None:
    """``/dev/shm`` when it is a writable folder (a tmpfs on Linux), else the default."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK):
        return shm
    return None


def _split_creds(creds: Credentials) -> tuple[str, str]:
    if isinstance(creds, str):
        user, sep, password = creds.partition(":")
        if not sep:
            raise ValueError(f"credentials {creds!r} must be 'USER:PASSWORD'")
        return user, password
    return creds


# --------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate and its private key, in memory and as PEM files."""

    cert: Certificate
    key: EllipticCurvePrivateKey
    cert_path: Path
    key_path: Path

    @property
    def der(self) -> bytes:
        """The certificate in DER (what a JWT's ``x5c`` carries, base64-encoded)."""
        from cryptography.hazmat.primitives.serialization import Encoding

        return self.cert.public_bytes(Encoding.DER)


class CertificateAuthority:
    """A throwaway certificate authority with a P-256 key, written into *directory*.

    ``cert_path`` is the CA certificate (PEM) for clients to trust. :meth:`issue`
    makes end-entity certificates signed by it: for servers (``serverAuth``,
    with DNS and IP subject alternative names) or for signing tokens.
    """

    def __init__(self, directory: Path, name: str = "Spyglass Test CA") -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        public_key = self.key.public_key()
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_path = self.directory / "ca.pem"
        self.cert_path.write_bytes(self.cert_pem)

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate as PEM."""
        from cryptography.hazmat.primitives.serialization import Encoding

        return self.cert.public_bytes(Encoding.PEM)

    def issue(
        self,
        name: str,
        *,
        dns_names: Iterable[str] = (),
        ip_addresses: Iterable[str] = (),
        server: bool = True,
        days: int = 30,
    ) -> IssuedCertificate:
        """Issue a certificate for *name*, written as ``NAME.pem`` and ``NAME-key.pem``.

        With *server* it is a TLS server certificate (``serverAuth``, key
        encipherment); otherwise a plain signing certificate (digital signature
        only), such as the one whose key signs registry tokens.
        """
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=server,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        alt_names: list[x509.GeneralName] = [x509.DNSName(dns) for dns in dns_names]
        alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        if server:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        cert = builder.sign(self.key, hashes.SHA256())

        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        cert_path = self.directory / f"{safe}.pem"
        key_path = self.directory / f"{safe}-key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)
        return IssuedCertificate(cert=cert, key=key, cert_path=cert_path, key_path=key_path)

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this CA only."""
        return ssl.create_default_context(cafile=str(self.cert_path))


# --------------------------------------------------------------------------- token auth settings


@dataclass(frozen=True)
class TokenAuthSettings:
    """What the registry's ``auth.token`` section needs; a TokenServer has all four."""

    realm: str
    service: str
    issuer: str
    root_cert_bundle: Path


class _TokenIssuer(Protocol):
    @property
    def realm(self) -> str: ...

    @property
    def service(self) -> str: ...

    @property
    def issuer(self) -> str: ...

    @property
    def root_cert_bundle(self) -> Path: ...


# --------------------------------------------------------------------------- the server


class RegistryStartError(RuntimeError):
    """The registry server did not come up; the message ends with its log."""


class RegistryServer:
    """Distribution's registry on ``127.0.0.1:PORT``, with its own storage, config and log.

    Args:
        htpasswd: users and passwords for Basic auth (written bcrypt-hashed,
            the only hash distribution accepts).
        token_server: a token issuer (``realm``, ``service``, ``issuer`` and
            ``root_cert_bundle``), normally a ``tests.helpers.tokenserver.TokenServer``.
        tls: serve HTTPS with a certificate for ``127.0.0.1`` and ``localhost``
            issued by *ca* (a new CA in the server's folder if not given).
        ca: the CA for *tls*.
        directory: where config, storage and log go; a new temporary folder
            (removed by :meth:`close`) if not given: on ``/dev/shm`` where that
            is a writable tmpfs, since the filesystem driver fsyncs every file
            it writes (on a disk that makes each manifest PUT ~2x slower).
        blob_descriptor_cache: turn on ``storage.cache.blobdescriptor: inmemory``.
            Off by default, so a blob corrupted on disk is noticed at once.
        extra_config: merged (recursively) into the generated configuration.
        startup_timeout: seconds to wait for ``GET /v2/`` to answer.
        gogc: the Go collector's ``GOGC`` for the server (unless ``GOGC`` is set
            in the environment). The registry's live heap is a few MB, so at
            Go's default of 100 it collects all the time: a manifest PUT costs
            ~40% less CPU at 800, for ~80 MB of memory.
        client_certificates: with *tls*, take only clients that show a certificate
            *ca* issued (mutual TLS): ``client_cert`` is one, and
            ``client_cert_dir`` a certificate folder holding it with the CA.

    Attributes (valid once started): ``url`` (``http://127.0.0.1:PORT`` or
    ``https://…``), ``host`` (``127.0.0.1:PORT``, what ``docker://`` names
    use), ``port``; always: ``storage_dir``, ``config_path``, ``log_path``,
    ``ca_path`` and ``cert_dir`` (None without TLS), ``htpasswd_path``.
    """

    def __init__(
        self,
        *,
        htpasswd: Mapping[str, str] | None = None,
        token_server: _TokenIssuer | None = None,
        tls: bool = False,
        ca: CertificateAuthority | None = None,
        directory: Path | None = None,
        blob_descriptor_cache: bool = False,
        extra_config: Mapping[str, Any] | None = None,
        startup_timeout: float = 10.0,
        gogc: int | None = 800,
        binary: str | None = None,
        client_certificates: bool = False,
    ) -> None:
        if htpasswd is not None and token_server is not None:
            raise ValueError(
                "a registry has one auth mode: give htpasswd or token_server, not both"
            )
        self.binary = binary or find_registry_binary()
        if self.binary is None:
            raise FileNotFoundError(
                f"none of {', '.join(REGISTRY_BINARIES)} is on PATH; "
                "`make system-deps` installs Debian's docker-registry (as root)"
            )
        self._own_directory = directory is None
        self.directory = Path(
            directory or tempfile.mkdtemp(prefix="spyglass-registry-", dir=_fast_temp_root())
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        self.storage_dir = self.directory / "storage"
        self.storage_dir.mkdir(exist_ok=True)
        self.config_path = self.directory / "config.yml"
        self.log_path = self.directory / "registry.log"
        self.htpasswd_path: Path | None = None
        self.users = dict(htpasswd or {})
        self.token_server = token_server
        self.tls = tls
        self.blob_descriptor_cache = blob_descriptor_cache
        self.extra_config = dict(extra_config or {})
        self.startup_timeout = startup_timeout
        self.gogc = gogc
        self.secret = secrets.token_hex(16)
        self._marker = secrets.token_hex(8)
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        self._log_start = 0
        self.port: int | None = None

        self.ca: CertificateAuthority | None = None
        self.ca_path: Path | None = None
        self.cert_dir: Path | None = None
        self.server_cert: IssuedCertificate | None = None
        if tls:
            self.ca = ca or CertificateAuthority(self.directory / "ca")
            self.server_cert = self.ca.issue(
                "registry", dns_names=["localhost"], ip_addresses=["127.0.0.1"]
            )
            self.ca_path = self.ca.cert_path
            # containers/image's certificate folder: *.crt are trusted CAs.
            self.cert_dir = self.directory / "certs.d"
            self.cert_dir.mkdir(exist_ok=True)
            shutil.copyfile(self.ca_path, self.cert_dir / "ca.crt")
        self.client_cert: IssuedCertificate | None = None
        self.client_cert_dir: Path | None = None
        if client_certificates:
            if not tls:
                raise ValueError("client certificates need tls=True")
            assert self.ca is not None and self.ca_path is not None
            self.client_cert = self.ca.issue("client", server=False)
            # the CA, and the client certificate with its key, as containers/image reads them
            self.client_cert_dir = self.directory / "client-certs.d"
            self.client_cert_dir.mkdir(exist_ok=True)
            shutil.copyfile(self.ca_path, self.client_cert_dir / "ca.crt")
            shutil.copyfile(self.client_cert.cert_path, self.client_cert_dir / "client.cert")
            shutil.copyfile(self.client_cert.key_path, self.client_cert_dir / "client.key")
        if htpasswd is not None:
            self.htpasswd_path = self.directory / "htpasswd"
            self._write_htpasswd()

    # -- names

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: the registry part of ``docker://`` names."""
        if self.port is None:
            raise RuntimeError("the registry has not been started, so it has no port yet")
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (or ``https://``), without a trailing slash."""
        return f"{self.scheme}://{self.host}"

    @property
    def auth_mode(self) -> str:
        """``"anonymous"``, ``"htpasswd"`` or ``"token"``."""
        if self.token_server is not None:
            return "token"
        if self.htpasswd_path is not None:
            return "htpasswd"
        return "anonymous"

    def __repr__(self) -> str:
        where = self.url if self.port is not None else "not started"
        return f"<RegistryServer {self.auth_mode}{' tls' if self.tls else ''} {where}>"

    # -- configuration

    def _write_htpasswd(self) -> None:
        import bcrypt  # only the htpasswd mode needs it

        assert self.htpasswd_path is not None
        lines = []
        for user, password in self.users.items():
            if ":" in user:
                raise ValueError(f"htpasswd user name {user!r} must not contain ':'")
            # Cost 5 (bcrypt's minimum allowed by Go is 4) keeps logins fast.
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()
            lines.append(f"{user}:{hashed}\n")
        self.htpasswd_path.write_text("".join(lines))

    def config(self) -> dict[str, Any]:
        """The registry configuration for the current port (distribution's config.yml schema)."""
        storage: dict[str, Any] = {
            "filesystem": {"rootdirectory": str(self.storage_dir)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        }
        if self.blob_descriptor_cache:
            storage["cache"] = {"blobdescriptor": "inmemory"}
        http: dict[str, Any] = {
            "addr": f"127.0.0.1:{self.port}",
            "secret": self.secret,
            "headers": {_MARKER_HEADER: [self._marker]},
        }
        if self.tls:
            assert self.server_cert is not None
            http["tls"] = {
                "certificate": str(self.server_cert.cert_path),
                "key": str(self.server_cert.key_path),
            }
            if self.client_cert is not None and self.ca_path is not None:
                http["tls"]["clientcas"] = [str(self.ca_path)]  # a client certificate, or no
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {
                "level": "warn",
                "formatter": "text",
                "accesslog": {"disabled": True},
                "fields": {"service": "registry"},
            },
            "storage": storage,
            "http": http,
            "health": {"storagedriver": {"enabled": False}},
        }
        if self.htpasswd_path is not None:
            config["auth"] = {
                "htpasswd": {"realm": "spyglass-test-registry", "path": str(self.htpasswd_path)}
            }
        elif self.token_server is not None:
            config["auth"] = {
                "token": {
                    "realm": self.token_server.realm,
                    "service": self.token_server.service,
                    "issuer": self.token_server.issuer,
                    "rootcertbundle": str(self.token_server.root_cert_bundle),
                }
            }
        return _merge(config, self.extra_config)

    # -- life cycle

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs (benchmarks read its CPU time)."""
        return self._process.pid if self.running and self._process is not None else None

    def start(self) -> RegistryServer:
        """Start the server (on its old port if it ran before) and wait until it answers."""
        if self.running:
            return self
        keep_port = self.port is not None
        attempts = 5
        for attempt in range(attempts):
            if not keep_port:
                self.port = free_port()
            try:
                self._launch()
                return self
            except _PortTaken:
                self._reap()
                if attempt == attempts - 1:
                    raise RegistryStartError(
                        f"registry: port {self.port} stayed taken after {attempts} tries\n"
                        + self.log_tail()
                    ) from None
                time.sleep(0.2 if keep_port else 0)
        raise AssertionError("unreachable")

    def _launch(self) -> None:
        # JSON is YAML, and distribution reads it as such.
        self.config_path.write_text(json.dumps(self.config(), indent=2))
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("REGISTRY_", "OTEL_"))
        }
        if self.gogc is not None:
            env.setdefault("GOGC", str(self.gogc))
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 (closed in _reap)
        self._log_start = self._log_file.tell()
        self._log_file.write(f"--- start on port {self.port}\n".encode())
        self._log_file.flush()
        self._process = subprocess.Popen(
            [str(self.binary), "serve", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        verify: ssl.SSLContext | bool = self.ssl_context() if self.tls else False
        with httpx.Client(verify=verify, timeout=0.5, trust_env=False) as probe:
            while True:
                if self._process.poll() is not None:
                    if "address already in use" in self._log_since_launch():
                        raise _PortTaken
                    raise RegistryStartError(
                        f"registry exited with status {self._process.returncode} while starting "
                        f"on port {self.port} (config {self.config_path})\n" + self.log_tail()
                    )
                try:
                    response = probe.get(f"{self.url}/v2/")
                except httpx.TransportError:
                    pass
                else:
                    if response.headers.get(_MARKER_HEADER) == self._marker:
                        return
                    # Another server answers on our port: ours cannot have bound it.
                    raise _PortTaken
                if time.monotonic() > deadline:
                    self._reap()
                    raise RegistryStartError(
                        f"registry on port {self.port} did not answer GET /v2/ within "
                        f"{self.startup_timeout:g} s (config {self.config_path})\n"
                        + self.log_tail()
                    )
                time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (terminate, wait, kill); storage and port are kept for :meth:`start`."""
        self._reap()

    def _reap(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def restart(self) -> RegistryServer:
        """Stop and start again: same port, same storage."""
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the server and remove its folder if this object made it."""
        self.stop()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _log_since_launch(self) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(self._log_start)
            return log.read().decode(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        """The last *lines* lines of the server's log (stdout and stderr)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log written)"
        tail = text.splitlines()[-lines:]
        return "--- registry log (tail) ---\n" + "\n".join(tail)

    # -- clients

    def ssl_context(self) -> ssl.SSLContext:
        """A client SSL context that trusts this server's CA (TLS servers only), with the
        client certificate where the server asks for one."""
        if self.ca is None:
            raise RuntimeError(f"{self!r} serves plain HTTP; it has no CA")
        context = self.ca.ssl_context()
        if self.client_cert is not None:
            context.load_cert_chain(self.client_cert.cert_path, self.client_cert.key_path)
        return context

    def client(self, creds: Credentials | None = None, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` for this server: base URL, CA trusted, auth answering challenges.

        *creds* (``(user, password)`` or ``"user:password"``) serve both Basic
        and token auth; without them token auth asks for anonymous tokens.
        """
        kwargs.setdefault("base_url", self.url)
        kwargs.setdefault("verify", self.ssl_context() if self.tls else True)
        kwargs.setdefault("timeout", 30.0)
        kwargs.setdefault("trust_env", False)
        if self.auth_mode != "anonymous":
            kwargs.setdefault("auth", RegistryAuth(creds, verify=kwargs["verify"]))
        return httpx.Client(**kwargs)

    # -- storage

    def repository_dir(self, repo: str) -> Path:
        """The folder distribution keeps *repo*'s links and uploads in."""
        return self.storage_dir / "docker/registry/v2/repositories" / repo

    def blob_path(self, digest: str) -> Path:
        """The file holding the blob *digest* (``sha256:…``) in the storage folder."""
        algorithm, _, hex_digest = digest.partition(":")
        return (
            self.storage_dir
            / "docker/registry/v2/blobs"
            / algorithm
            / hex_digest[:2]
            / hex_digest
            / "data"
        )


class _PortTaken(Exception):
    pass


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# --------------------------------------------------------------------------- client-side auth


_CHALLENGE_PARAM = re.compile(
    r'\s*([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^",\s]*))\s*,?'
)


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """Split one ``WWW-Authenticate`` challenge into its scheme and parameters.

    ``Bearer realm="https://a/token",service="reg",error="insufficient_scope"``
    gives ``("bearer", {"realm": …, "service": "reg", "error": …})``.
    """
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    for match in _CHALLENGE_PARAM.finditer(rest):
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        params[match.group(1).lower()] = value
    return scheme.lower(), params


class RegistryAuth(httpx.Auth):
    """Answers a registry's Basic or Bearer challenge; Bearer tokens come by GET from the realm.

    Tokens are cached per scope, so many requests on one repository fetch one
    token. Safe to share between threads (one client used from a pool).
    """

    def __init__(
        self, creds: Credentials | None = None, *, verify: ssl.SSLContext | bool = True
    ) -> None:
        self.creds = _split_creds(creds) if creds is not None else None
        self.verify = verify
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    def _basic(self) -> str:
        assert self.creds is not None
        raw = f"{self.creds[0]}:{self.creds[1]}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        scope_key = _scope_for(request)
        with self._lock:
            token = self._tokens.get(scope_key)
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        scheme, params = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if scheme == "basic":
            if self.creds is None:
                return
            request.headers["Authorization"] = self._basic()
        elif scheme == "bearer":
            token = self._fetch_token(params)
            with self._lock:
                self._tokens[scope_key] = token
            request.headers["Authorization"] = f"Bearer {token}"
        else:
            return
        yield request

    def _fetch_token(self, params: Mapping[str, str]) -> str:
        # several scopes (a mount's: the target's push, the source's pull) come in the
        # challenge separated by spaces, and go to the token server one parameter each
        query = [("service", params["service"])] if "service" in params else []
        query += [("scope", scope) for scope in params.get("scope", "").split()]
        headers = {"Authorization": self._basic()} if self.creds else {}
        response = httpx.get(
            params["realm"], params=query, headers=headers, verify=self.verify, timeout=30.0,
            trust_env=False,
        )
        response.raise_for_status()
        body = response.json()
        with self._lock:
            self.tokens_fetched += 1
        return str(body.get("token") or body["access_token"])


def _scope_for(request: httpx.Request) -> str:
    match = re.match(r"/v2/(.+?)/(manifests|blobs|tags)/", request.url.path)
    if not match:
        return request.url.path
    return f"repository:{match.group(1)}:{'pull' if request.method in ('GET', 'HEAD') else 'push'}"


# --------------------------------------------------------------------------- loading images


def push_image(
    server: RegistryServer,
    layout_path: Path,
    ref: str,
    repo_tag: str,
    *,
    creds: Credentials | None = None,
    all: bool = True,
    timeout: float = 120.0,
) -> str:
    """Copy ``oci:LAYOUT_PATH:REF`` to ``docker://HOST/REPO_TAG`` with skopeo; return the digest.

    *repo_tag* is ``repo:tag`` (or ``repo@sha256:…``). With *all*, every
    instance of an index goes along (``--all``). TLS servers are reached with
    verification on and the server's CA (``--dest-cert-dir``); plain-HTTP ones
    with ``--dest-tls-verify=false``. Skips the test when skopeo is missing.
    """
    from tests.helpers import require_tool

    skopeo = require_tool("skopeo")
    digest_file = server.directory / f"digest-{secrets.token_hex(4)}"
    command = [skopeo, "--insecure-policy", "copy", "--retry-times", "0"]
    if all:
        command.append("--all")
    if server.tls:
        assert server.cert_dir is not None
        command += ["--dest-tls-verify=true", "--dest-cert-dir", str(server.cert_dir)]
    else:
        command.append("--dest-tls-verify=false")
    if creds is not None:
        user, password = _split_creds(creds)
        command += ["--dest-creds", f"{user}:{password}"]
    command += ["--digestfile", str(digest_file)]
    command += [f"oci:{layout_path}:{ref}", f"docker://{server.host}/{repo_tag}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise AssertionError(
            f"skopeo copy to {server!r} failed ({result.returncode}):\n"
            f"$ {' '.join(command)}\n{result.stderr}\n{server.log_tail()}"
        )
    digest = digest_file.read_text().strip()
    digest_file.unlink()
    return digest


def _upload_blob(client: httpx.Client, repo: str, data: bytes) -> str:
    digest = sha256_digest(data)
    if client.head(f"/v2/{repo}/blobs/{digest}").status_code == 200:
        return digest
    started = client.post(f"/v2/{repo}/blobs/uploads/")
    if started.status_code != 202:
        raise AssertionError(
            f"starting a blob upload to {repo} failed: {started.status_code} {started.text}"
        )
    # The Location carries distribution's upload state (``_state=…``): keep it, add the digest.
    location = httpx.URL(started.headers["Location"]).copy_merge_params({"digest": digest})
    finished = client.put(
        location,
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    if finished.status_code != 201:
        raise AssertionError(
            f"finishing the upload of {digest} failed: {finished.status_code} {finished.text}"
        )
    return digest


def seed_image(client: httpx.Client, repo: str) -> tuple[bytes, str]:
    """Upload a tiny single-layer OCI image's blobs to *repo*; return its manifest and digest.

    The manifest is not stored under any name yet.
    """
    layer, diff_id = build_layer(LayerSpec({"/seed.txt": b"seeded by tests\n"}))
    config = dump_json(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
    )
    layer_digest = _upload_blob(client, repo, layer)
    config_digest = _upload_blob(client, repo, config)
    manifest = dump_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": layer_digest, "size": len(layer)}],
        }
    )
    return manifest, sha256_digest(manifest)


def seed_tags(
    server: RegistryServer,
    repo: str,
    count: int,
    *,
    creds: Credentials | None = None,
    prefix: str = "tag-",
    start: int = 0,
    workers: int = 8,
    direct: bool = False,
    names: Sequence[str] | None = None,
) -> list[str]:
    """Give *repo* *count* tags of one tiny image, fast; return the tag names in order.

    The image's blobs are uploaded once and its manifest PUT under the first
    tag with httpx (which also settles auth: Basic, or a push token); then the
    same manifest bytes are PUT under every other tag from *workers* threads,
    each on its own keep-alive ``http.client`` connection carrying the
    ``Authorization`` header that worked (httpx costs ~3x the client CPU per
    request, and the machine's cores are shared with the registry). Tags are
    ``PREFIX00000``, ``PREFIX00001``, …: zero-padded to 5 digits, so name
    order is number order. Returns the tags in that order.

    With *direct*, only the first tag goes through the API; the others are
    written straight into the storage folder as the two link files
    distribution keeps per tag (``_manifests/tags/TAG/current/link`` and
    ``…/index/sha256/HEX/link``). The registry reads tags from storage on
    every request, so it serves them at once; ~50x faster, for tests that
    need tens of thousands of tags.

    *names*, when given, are the tags instead (any names, in any order; *count*, *prefix*
    and *start* are then left aside).
    """
    width = max(5, len(str(start + count - 1)))
    tags = list(names) if names is not None else [
        f"{prefix}{number:0{width}d}" for number in range(start, start + count)]
    if not tags:
        return tags
    with server.client(creds) as client:
        manifest, _digest = seed_image(client, repo)
        first = client.put(
            f"/v2/{repo}/manifests/{tags[0]}",
            content=manifest,
            headers={"Content-Type": OCI_MANIFEST},
        )
        if first.status_code != 201:
            raise AssertionError(
                f"PUT /v2/{repo}/manifests/{tags[0]} answered {first.status_code}: {first.text}"
            )
        authorization = first.request.headers.get("Authorization")
    if direct:
        _write_tag_links(server, repo, tags[1:], sha256_digest(manifest))
        return tags

    headers = {"Content-Type": OCI_MANIFEST, "Content-Length": str(len(manifest))}
    if authorization:
        headers["Authorization"] = authorization
    local = threading.local()

    def connection() -> http.client.HTTPConnection:
        conn = getattr(local, "conn", None)
        if conn is None:
            assert server.port is not None
            if server.tls:
                conn = http.client.HTTPSConnection(
                    "127.0.0.1", server.port, context=server.ssl_context(), timeout=30
                )
            else:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            local.conn = conn
            opened.append(conn)
        return conn

    def put(tag: str) -> None:
        path = f"/v2/{repo}/manifests/{tag}"
        for attempt in (1, 2):
            conn = connection()
            try:
                conn.request("PUT", path, body=manifest, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                local.conn = None
                if attempt == 2:
                    raise
                continue
            if response.status != 201:
                raise AssertionError(f"PUT {path} answered {response.status}: {body[:300]!r}")
            return

    opened: list[http.client.HTTPConnection] = []
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(put, tags[1:]):
                pass
    finally:
        for conn in opened:
            conn.close()
    return tags


def _write_tag_links(server: RegistryServer, repo: str, tags: list[str], digest: str) -> None:
    algorithm, _, hex_digest = digest.partition(":")
    tags_dir = server.repository_dir(repo) / "_manifests" / "tags"
    for tag in tags:
        current = tags_dir / tag / "current"
        index = tags_dir / tag / "index" / algorithm / hex_digest
        current.mkdir(parents=True, exist_ok=True)
        index.mkdir(parents=True, exist_ok=True)
        (current / "link").write_text(digest)
        (index / "link").write_text(digest)


def seed_repos(
    server: RegistryServer,
    count: int,
    *,
    prefix: str = "seed/repo-",
    creds: Credentials | None = None,
    workers: int = 8,
) -> list[str]:
    """Create *count* repositories holding the tiny seed image (tag ``latest``); return them.

    Names are ``PREFIX00000`` … (sorted as numbers). The blobs are uploaded to
    the first repository once and mounted into the others (``?mount=&from=``).
    """
    width = max(5, len(str(count - 1)))
    repos = [f"{prefix}{number:0{width}d}" for number in range(count)]
    if not repos:
        return repos
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    with server.client(creds, limits=limits) as client:
        manifest, _digest = seed_image(client, repos[0])
        parsed = json.loads(manifest)
        blobs = [parsed["config"]["digest"]] + [layer["digest"] for layer in parsed["layers"]]

        def create(repo: str) -> None:
            if repo != repos[0]:
                for digest in blobs:
                    mounted = client.post(
                        f"/v2/{repo}/blobs/uploads/", params={"mount": digest, "from": repos[0]}
                    )
                    if mounted.status_code != 201:
                        raise AssertionError(
                            f"mounting {digest} into {repo} answered {mounted.status_code}"
                        )
            response = client.put(
                f"/v2/{repo}/manifests/latest",
                content=manifest,
                headers={"Content-Type": OCI_MANIFEST},
            )
            if response.status_code != 201:
                raise AssertionError(f"PUT {repo}:latest answered {response.status_code}")

        create(repos[0])
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for _ in pool.map(create, repos[1:]):
                pass
    return repos


def push_artifact(
    server: RegistryServer,
    repo: str,
    manifest: bytes,
    blobs: dict[str, bytes],
    reference: str,
    *,
    media_type: str = OCI_MANIFEST,
    creds: Credentials | None = None,
) -> str:
    """Upload ``blobs`` (digest → bytes) to *repo* and PUT ``manifest`` as *reference*
    (a tag or its digest), as cosign and oras push attachments; return its digest."""
    with server.client(creds) as client:
        for data in blobs.values():
            _upload_blob(client, repo, data)
        answer = client.put(
            f"/v2/{repo}/manifests/{reference}", content=manifest,
            headers={"Content-Type": media_type},
        )
        if answer.status_code != 201:
            raise AssertionError(
                f"PUT of the manifest {reference} to {repo} failed: "
                f"{answer.status_code} {answer.text}"
            )
    return sha256_digest(manifest)
