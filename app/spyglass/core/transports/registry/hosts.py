"""Registry hosts: Docker Hub's API name, loopback detection, and TLS settings from ``certs.d``.

TLS material is found as containers/image finds it: the first existing folder
of ``~/.config/containers/certs.d/HOST``, ``/etc/containers/certs.d/HOST`` and
``/etc/docker/certs.d/HOST`` (``HOST`` with its ``:port``); in it, ``*.crt``
files are extra CA certificates and a ``NAME.cert``/``NAME.key`` pair is a
client certificate.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import ssl
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from spyglass.core.errors import InvalidReference, SpyglassError
from spyglass.core.filemodes import make_folders, new_file_mode
from spyglass.core.transports.files import read_at_most

log = logging.getLogger(__name__)

DOCKER_HUB: Final = "docker.io"
DOCKER_HUB_API: Final = "registry-1.docker.io"


def api_host(domain: str) -> str:
    """The host to talk to for a registry domain (``docker.io`` → ``registry-1.docker.io``)."""
    return DOCKER_HUB_API if domain in (DOCKER_HUB, "index.docker.io") else domain


def split_host(host: str) -> tuple[str, int | None]:
    """``"[::1]:5000"`` → ``("::1", 5000)``; ``"example.com"`` → ``("example.com", None)``."""
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            raise InvalidReference(
                f'Invalid registry host "{host}": an IPv6 address lacks its "]".'
            )
        name, rest = host[1:end], host[end + 1 :]
        if rest and not rest.startswith(":"):
            raise InvalidReference(
                f'Invalid registry host "{host}": after the IPv6 address "]" only ":PORT" '
                "may follow."
            )
        port_text = rest[1:]
    elif host.count(":") > 1:
        return host, None  # a bare IPv6 address such as ::1 (no port possible without [])
    else:
        name, colon, port_text = host.partition(":")
        if colon and not port_text:
            raise InvalidReference(f'Invalid registry host "{host}": the port after ":" is empty.')
    if port_text:
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            raise InvalidReference(f'Invalid registry host "{host}": "{port_text}" is no port.')
        return name, int(port_text)
    return name, None


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``, with or without a port."""
    name, _ = split_host(host)
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class TLSSettings:
    """How to verify (and identify to) one registry over TLS."""

    verify: bool = True
    ca_files: tuple[Path, ...] = ()
    client_cert: tuple[Path, Path] | None = None

    def ssl_context(self) -> ssl.SSLContext:
        """An SSL context: the system's trust plus ``ca_files``, and the client certificate."""
        if not self.verify:
            # nothing is checked, so the system's trust store (~20 ms to load) is not needed
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context = _system_trust()  # the system's trust store, as containers/image
        for ca in self.ca_files:
            try:
                context.load_verify_locations(cafile=str(ca))
            except (OSError, ssl.SSLError) as exc:
                # as containers/image: a file that holds no certificate is passed over,
                # and the others still count
                log.warning("Ignoring %s, which holds no CA certificate that can be "
                            "read (%s).", ca, _why(exc))
        if self.client_cert is not None:
            cert, key = self.client_cert
            try:
                context.load_cert_chain(certfile=str(cert), keyfile=str(key))
            except (OSError, ssl.SSLError) as exc:
                raise SpyglassError(
                    f"Cannot load the client certificate {cert} with its key {key}: "
                    f"{_why(exc)}.") from exc
        return context


def _why(exc: OSError | ssl.SSLError) -> str:
    """An error loading a certificate, in words: OpenSSL's reason without its codes."""
    reason = getattr(exc, "reason", None) if isinstance(exc, ssl.SSLError) else None
    if reason:
        return str(reason).replace("_", " ").lower()
    return (exc.strerror or str(exc)).rstrip(".").lower() if isinstance(exc, OSError) \
        else str(exc)


def _system_trust() -> ssl.SSLContext:
    """A context that verifies servers against the system's CA certificates (certifi's,
    on a system that has none).

    Where the system keeps them in a folder of hash-named links (``/etc/ssl/certs`` on
    Debian, Ubuntu, Alpine, Arch) and neither ``SSL_CERT_FILE`` nor ``SSL_CERT_DIR`` is
    set, that folder is named: OpenSSL then reads the one CA a server's chain names,
    when it is checked. Python's default context also loads the bundle file, parsing
    every CA in it at once: 35-45 ms with OpenSSL 3, on every command that reaches a
    registry over HTTPS. The bundle is loaded beside the folder only where it may hold a
    CA the folder lacks (:func:`_bundle_changed_since`): then the context trusts what
    the default one does. Otherwise (a variable set, or no such folder), that default
    context, read as OpenSSL always reads it."""
    paths = ssl.get_default_verify_paths()
    if _hashed_folder(paths.capath) and not any(
            name in os.environ for name in (paths.openssl_cafile_env, paths.openssl_capath_env)):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # (verifies, names checked)
        if sys.version_info >= (3, 13):  # the checks the default context adds there
            context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
        context.load_verify_locations(capath=paths.capath)
        if _bundle_changed_since(paths.cafile, paths.capath):
            try:
                context.load_verify_locations(cafile=paths.cafile)
            except (OSError, ssl.SSLError) as exc:  # as the default context: passed over
                log.debug("The system's CA bundle %s was not read: %s", paths.cafile, exc)
        keylog = os.environ.get("SSLKEYLOGFILE")  # as the default context takes it
        if keylog and not sys.flags.ignore_environment:
            context.keylog_filename = keylog
        return context
    context = ssl.create_default_context()
    if not context.get_ca_certs() and not _system_store_exists():
        import certifi  # no system store at all: fall back to httpx's own

        context.load_verify_locations(cafile=certifi.where())
    return context


_HASH_NAME: Final = re.compile(r"[0-9a-f]{8}\.[0-9]+")
"""A link OpenSSL finds a CA by in a folder: its subject's hash, and a number."""


def _hashed_folder(path: str | None) -> bool:
    """Whether ``path`` is a folder holding OpenSSL's hash-named links (``5ad8a5d6.0``)."""
    if sys.platform == "win32" or not path:
        return False  # (Windows: its own stores come with the default context)
    try:
        with os.scandir(path) as entries:
            return any(_HASH_NAME.fullmatch(entry.name) for entry in entries)
    except OSError:
        return False


def _bundle_changed_since(bundle: str | None, folder: str | None) -> bool:
    """Whether the bundle file was changed after the folder's links were last, so that it
    may hold a CA the folder has no link for: one appended by hand (``cat ca.crt >>
    /etc/ssl/certs/ca-certificates.crt``, a common Dockerfile step), or the file copied
    over. Two ``stat`` calls: the bundle's ctime (any write to the file, or change of
    it) against the folder's mtime (a link made or removed). ``update-ca-certificates``
    renames the bundle into the folder last, which changes both at once, so the folder
    alone is read after it. A bundle replaced by a rename of its own (``mv``,
    ``sed -i``) looks like one that update-ca-certificates wrote, and is not read."""
    if not bundle or not folder:
        return False
    try:
        return os.stat(bundle).st_ctime_ns > os.stat(folder).st_mtime_ns
    except OSError:
        return False  # no bundle: the folder is all there is


def _system_store_exists() -> bool:
    paths = ssl.get_default_verify_paths()
    return any(
        p is not None and os.path.exists(p) for p in (paths.cafile, paths.capath)
    )


def certs_d_roots(home: Path | None = None) -> list[Path]:
    """The folders whose ``HOST`` subfolders hold TLS material, first found wins."""
    home = home or Path(os.path.expanduser("~"))
    return [
        home / ".config" / "containers" / "certs.d",
        Path("/etc/containers/certs.d"),
        Path("/etc/docker/certs.d"),
    ]


def _host_folders(host: str, roots: Sequence[Path] | None) -> list[Path]:
    """The ``certs.d`` folders that could hold ``host``'s TLS material, in order."""
    hub = api_host(host) == DOCKER_HUB_API
    names = dict.fromkeys((DOCKER_HUB if hub else host, host, api_host(host)))
    return [root / name for root in (certs_d_roots() if roots is None else roots)
            for name in names]


def host_cert_folder(host: str, roots: Sequence[Path] | None = None) -> Path | None:
    """The ``certs.d`` folder in effect for ``host`` (the first that exists), or None."""
    return next((c for c in _host_folders(host, roots) if c.is_dir()), None)


def tls_settings(
    host: str,
    *,
    verify: bool = True,
    cert_dir: Path | None = None,
    roots: Sequence[Path] | None = None,
) -> TLSSettings:
    """The TLS settings for ``host``: from ``cert_dir`` if given, else its ``certs.d`` folder.

    Docker Hub's folder is ``docker.io``, the name users see, as containers/image
    looks it up; ``registry-1.docker.io``, where its API is, is looked under too.
    """
    if cert_dir is not None and not cert_dir.is_dir():
        state = "is not a folder" if cert_dir.exists() else "does not exist"
        raise SpyglassError(
            f'The certificate folder "{cert_dir}" {state}; expected a folder of CA '
            "certificates (*.crt) and client certificates (*.cert, each with its *.key)."
        )
    folder = cert_dir if cert_dir is not None else host_cert_folder(host, roots)
    if folder is None or not folder.is_dir():
        return TLSSettings(verify=verify)
    ca_files = tuple(sorted(folder.glob("*.crt")))
    client_cert: tuple[Path, Path] | None = None
    for cert in sorted(folder.glob("*.cert")):
        key = cert.with_suffix(".key")
        if not key.is_file():
            raise SpyglassError(
                f'The client certificate "{cert}" has no key beside it; expected "{key}".'
            )
        client_cert = (cert, key)
        break
    for key in sorted(folder.glob("*.key")):
        if not key.with_suffix(".cert").is_file():
            raise SpyglassError(
                f'The key "{key}" has no client certificate beside it; expected '
                f'"{key.with_suffix(".cert")}".'
            )
    return TLSSettings(verify=verify, ca_files=ca_files, client_cert=client_cert)


MAX_CERTIFICATE_FILE: Final = 1024 * 1024
"""A CA certificate file longer than this is refused (a bundle of hundreds is smaller)."""

_PEM_CERTIFICATE: Final = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL)


def trust_ca_certificate(host: str, source: Path, *,
                         roots: Sequence[Path] | None = None) -> Path:
    """Trust the CA certificates in ``source`` (PEM or DER) for ``host``; return the file.

    They are written, as PEM, to a ``*.crt`` file of the host's ``certs.d``
    folder: the one in effect if there is one (a new one in the user's would
    hide it), else ``~/.config/containers/certs.d/HOST``. Spyglass, skopeo and
    podman all look there. The file is named after ``source``; a certificate
    file there already holding the same certificates is returned as it is.
    Raises :class:`SpyglassError` with a sentence for a file that cannot be
    read, holds no certificate OpenSSL accepts, or cannot be written.
    """
    try:
        with source.open("rb") as handle:
            data = read_at_most(handle, MAX_CERTIFICATE_FILE)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SpyglassError(f'Cannot read the certificate file "{source}": '
                            f"{reason.rstrip('.')}.") from exc
    if len(data) > MAX_CERTIFICATE_FILE:
        raise SpyglassError(f'"{source}" is too long for a certificate file (over 1 MiB); '
                            "expected one or a few CA certificates.")
    ders = _certificates(data)
    if ders is None:
        raise SpyglassError(
            f'"{source}" holds no certificate: expected a CA certificate, in PEM '
            '("-----BEGIN CERTIFICATE-----") or DER form.')
    existing = host_cert_folder(host, roots)
    folder = existing or _host_folders(host, roots)[0]
    holding: dict[bytes, Path] = {}  # what the folder trusts already, and where
    for present in sorted(existing.glob("*.crt")) if existing is not None else ():
        try:
            for der in _certificates(present.read_bytes()) or []:
                holding.setdefault(der, present)
        except OSError:
            continue
    new = [der for der in dict.fromkeys(ders) if der not in holding]
    if not new:  # trusted there already: nothing to add
        return holding[ders[0]]
    encoded = "".join(ssl.DER_cert_to_PEM_cert(der) for der in new).encode("ascii")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", source.stem).strip(".-") or "ca"
    if os.path.lexists(folder) and not folder.is_dir():
        raise SpyglassError(
            f'Cannot put the CA certificate in "{folder}": that is a file, and it must be a '
            f"folder (holding the registry's *.crt files). Move the file away, then trust "
            f'"{source}" again, or allow this registry to be insecure.')
    try:
        make_folders(folder)
        return _write_new(folder, stem, encoded)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SpyglassError(
            f'Cannot put the CA certificate in "{folder}": {reason.rstrip(".")}. Copy '
            f'"{source}" there as a *.crt file yourself (it may need administrator '
            "rights), or allow this registry to be insecure.") from exc


def _write_new(folder: Path, stem: str, data: bytes) -> Path:
    """Write ``data`` (synced) as ``STEM.crt`` in ``folder``, or ``STEM-2.crt`` … when
    that name is taken: never over a file there, even one made meanwhile."""
    fd, temp_name = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=folder)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, new_file_mode())  # as the os.open below would make it
        number = 1
        while True:
            target = folder / (f"{stem}.crt" if number == 1 else f"{stem}-{number}.crt")
            try:
                os.link(temp, target)  # fails, rather than replaces, where a file is
            except FileExistsError:
                number += 1
                continue
            except OSError:  # a filesystem without hard links: made new, never replaced
                try:
                    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    number += 1
                    continue
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
            return target
    finally:
        temp.unlink(missing_ok=True)


def _certificates(data: bytes) -> list[bytes] | None:
    """The certificates of a PEM or DER file (DER, one per certificate), if OpenSSL takes
    them all; None for a file holding none."""
    blocks = _PEM_CERTIFICATE.findall(data)
    try:
        ders = ([ssl.PEM_cert_to_DER_cert(block.decode("ascii")) for block in blocks]
                if blocks else _der_sequence(data) or [data])
        for der in ders:  # OpenSSL itself decides what a certificate is
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=der)
    except (ValueError, ssl.SSLError, UnicodeDecodeError):
        return None
    return ders or None


def _der_sequence(data: bytes) -> list[bytes]:
    """DER certificates one after another, split by their outer SEQUENCE's length, and
    whitespace after the last (a newline an editor added); empty when the bytes are not
    that (OpenSSL then judges them whole)."""
    try:
        return _split_der(data)
    except ValueError:
        return []


def _split_der(data: bytes) -> list[bytes]:
    found: list[bytes] = []
    at = 0
    while at < len(data):
        if found and not data[at:].strip(b"\r\n\t \x00"):
            break  # (not stripped from the whole: a certificate may end in such a byte)
        if data[at] != 0x30 or at + 2 > len(data):
            raise ValueError("not DER")
        first = data[at + 1]
        if first < 0x80:
            length, head = first, 2
        else:
            count = first & 0x7F
            if not 0 < count <= 4 or at + 2 + count > len(data):
                raise ValueError("not DER")
            length, head = int.from_bytes(data[at + 2 : at + 2 + count], "big"), 2 + count
        end = at + head + length
        if end > len(data):
            raise ValueError("not DER")
        found.append(data[at:end])
        at = end
    return found
