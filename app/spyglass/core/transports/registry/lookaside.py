"""containers/image's lookaside signature stores, as configured in ``registries.d`` (read-only).

Simple signing signatures of registry images are kept outside the registry, on
a web server or in a folder, at a URL configured per registry namespace in
YAML files (containers/image ``docker/registries_d.go``)::

    default-docker:
      lookaside: https://sigs.example.com
    docker:
      registry.example.com/team:
        lookaside: file:///srv/sigs
        use-sigstore-attachments: true

``sigstore`` is the older name of ``lookaside``. The folder is
``$HOME/.config/containers/registries.d`` when it exists, else
``/etc/containers/registries.d``; every ``*.yaml`` file in it counts. The
most specific namespace that matches ``HOST/REPO`` and names a store wins
(``HOST/REPO``, then its parent paths, then ``HOST``), else ``default-docker``; with
none, containers/image's built-in store (``file:///var/lib/containers/sigstore`` for
root, ``file://$HOME/.local/share/containers/sigstore`` for other users), where skopeo
reads and writes signatures nothing configures.

Signature ``N`` (from 1) of the manifest ``ALG:HEX`` of ``HOST/REPO`` is at
``LOOKASIDE/REPO@ALG=HEX/signature-N``; reading stops at the first missing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlparse

import httpx

from spyglass.core.cancel import CancelToken, check
from spyglass.core.digest import Digest
from spyglass.core.errors import (
    ConnectionFailed,
    SpyglassError,
    TooLarge,
    TransportError,
    describe_connection_error,
    without_password,
)
from spyglass.core.fileurl import local_path
from spyglass.core.text import visible

SYSTEM_DIR: Final = Path("/etc/containers/registries.d")
ROOT_STORE: Final = Path("/var/lib/containers/sigstore")
"""containers/image's lookaside store for root when none is configured."""
USER_STORE: Final = Path(".local/share/containers/sigstore")
"""The same for anyone else, relative to ``$HOME``."""
MAX_SIGNATURE_SIZE: Final = 4 * 1024 * 1024
"""containers/image's limit for one signature."""
MAX_SIGNATURES: Final = 256
"""Reading stops here even if more numbered files exist."""


class LookasideConfigError(SpyglassError):
    """A ``registries.d`` file that cannot be read or does not have the expected shape."""


class NotASignature(SpyglassError):
    """What a lookaside store holds (or a web server answers) for a signature is not one
    containers/image reads (a login page, a file of something else): refused, as skopeo
    refuses it, rather than carried along as a signature."""


@dataclass(frozen=True)
class LookasideStore:
    """The lookaside store of a repository, and the ``registries.d`` file that names it
    (None for containers/image's built-in store, which no file names)."""

    url: str
    config: Path | None = None


class _Namespace(dict[str, Any]):
    """A namespace's settings (``lookaside`` and the like), and the file they are in."""

    def __init__(self, settings: Mapping[str, Any], file: Path) -> None:
        super().__init__(settings)
        self.file = file


def user_dir() -> Path:
    return Path(os.path.expanduser("~")) / ".config" / "containers" / "registries.d"


def default_dir() -> Path:
    """The folder containers/image reads: the user's when it exists, else the system's."""
    user = user_dir()
    return user if user.is_dir() else SYSTEM_DIR


def load_config(folder: Path) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """``default-docker`` and the ``docker`` namespaces of every ``*.yaml`` file in
    ``folder`` (nothing when it does not exist)."""
    default: dict[str, Any] | None = None
    namespaces: dict[str, dict[str, Any]] = {}
    try:
        files = sorted(p for p in folder.iterdir() if p.suffix == ".yaml" and p.is_file())
    except FileNotFoundError:
        return None, {}
    except OSError as exc:
        raise LookasideConfigError(
            f'Cannot read the registries.d folder "{folder}": {exc.strerror or exc}.'
        ) from exc
    if files:
        import yaml  # ~15 ms: only when there is something to read
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:  # (where, and what is wrong: not PyYAML's context)
            from spyglass.core.yamlproblem import yaml_problem

            raise LookasideConfigError(
                f'The registries.d file "{path}" is not valid YAML{yaml_problem(exc)}.'
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise LookasideConfigError(
                f'The registries.d file "{path}" cannot be read as YAML: '
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}."
            ) from exc
        if data is None:
            continue
        if not isinstance(data, Mapping):
            raise LookasideConfigError(
                f'The registries.d file "{path}" is not a YAML mapping; expected keys '
                '"default-docker" and "docker".'
            )
        if "default-docker" in data:
            if default is not None:
                raise LookasideConfigError(
                    f'The registries.d file "{path}" defines "default-docker" again; it may '
                    "be defined in one file only."
                )
            default = _namespace(data["default-docker"], path, "default-docker")
        docker = data.get("docker") or {}
        if not isinstance(docker, Mapping):
            raise LookasideConfigError(
                f'The "docker" key of the registries.d file "{path}" is not a mapping of '
                "namespaces."
            )
        for name, value in docker.items():
            if str(name) in namespaces:
                raise LookasideConfigError(
                    f'The registries.d file "{path}" configures "{name}" again; each '
                    "namespace may be configured in one file only."
                )
            namespaces[str(name)] = _namespace(value, path, str(name))
    return default, namespaces


def _namespace(value: object, path: Path, name: str) -> dict[str, Any]:
    if value is None:
        return _Namespace({}, path)
    if not isinstance(value, Mapping):
        raise LookasideConfigError(
            f'"{name}" in the registries.d file "{path}" is not a mapping (of "lookaside" and '
            "the like)."
        )
    return _Namespace({str(k): v for k, v in value.items()}, path)


def builtin_store() -> str:
    """containers/image's store when ``registries.d`` names none for a repository (its
    ``builtinDefaultLookasideStorageDir``, by effective user): ``/var/lib/containers/
    sigstore`` for root, ``~/.local/share/containers/sigstore`` for anyone else."""
    if os.geteuid() == 0:
        return f"file://{ROOT_STORE}"
    return Path(os.path.expanduser("~"), USER_STORE).as_uri()


def lookaside_store(host: str, repository: str, folder: Path | None = None) -> LookasideStore:
    """The lookaside store for ``HOST/REPOSITORY``, as containers/image chooses it: the
    most specific namespace of ``registries.d`` that names one, else ``default-docker``'s,
    else :func:`builtin_store` (where skopeo keeps signatures nothing configures)."""
    default, namespaces = load_config(folder if folder is not None else default_dir())
    parts = repository.split("/")
    scopes = ["/".join([host, *parts[:end]]) for end in range(len(parts), -1, -1)]
    for chosen in (*(namespaces[scope] for scope in scopes if scope in namespaces), default):
        url = (chosen or {}).get("lookaside") or (chosen or {}).get("sigstore")
        if url:
            return LookasideStore(str(url), getattr(chosen, "file", None))
    return LookasideStore(builtin_store())


def lookaside_url(host: str, repository: str, folder: Path | None = None) -> str:
    """The URL of :func:`lookaside_store`."""
    return lookaside_store(host, repository, folder).url


def signature_url(base: str, repository: str, digest: Digest, number: int) -> str:
    """Where signature ``number`` (from 1) of ``digest`` is kept."""
    return f"{base.rstrip('/')}/{repository}@{digest.algorithm}={digest.hex}/signature-{number}"


def read_signatures(
    base: str,
    repository: str,
    digest: Digest,
    *,
    cancel: CancelToken | None = None,
    timeout: float = 30.0,
    config: Path | None = None,
) -> list[bytes]:
    """Every signature of ``digest`` in the lookaside store ``base`` (``http(s)://`` or
    ``file://``), in order, until the first one missing.

    Each is checked as containers/image checks it (``signature.FromBlob``): one that is
    not a signature (a web server's login page answered for every path, a stray file)
    raises :class:`NotASignature`, naming it and ``config`` (the ``registries.d`` file
    that names ``base``; None for the built-in store), as skopeo fails the copy."""
    scheme = urlparse(base).scheme
    if scheme == "file":
        return _read_files(base, repository, digest, cancel, config)
    if scheme not in ("http", "https"):
        raise LookasideConfigError(
            f'The lookaside store "{without_password(base)}" has the scheme "{scheme}"; '
            "expected http, https or file."
        )
    found: list[bytes] = []
    from spyglass.core.proxies import environment_client

    with environment_client(timeout=timeout, follow_redirects=True) as client:
        while len(found) < MAX_SIGNATURES:
            check(cancel)
            url = signature_url(base, repository, digest, len(found) + 1)
            try:
                with client.stream("GET", url) as response:
                    if response.status_code == 404:
                        return found
                    if response.status_code != 200:
                        raise TransportError(
                            f"Reading the signature {without_password(url)} failed: the "
                            "server answered HTTP "
                            f"{response.status_code}."
                        )
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > MAX_SIGNATURE_SIZE:
                            raise TooLarge(
                                f"The signature {without_password(url)} is larger than the "
                                f"{MAX_SIGNATURE_SIZE // (1024 * 1024)} MiB accepted."
                            )
            except httpx.RequestError as exc:
                raise ConnectionFailed(
                    f"Reading the signature {without_password(url)} failed: "
                    f"{describe_connection_error(exc)}."
                ) from exc
            _check_signature(bytes(body), f"answered {without_password(url)} with", config)
            found.append(bytes(body))
    return found


def _check_signature(blob: bytes, answered: str, config: Path | None) -> None:
    """Refuse ``blob`` unless containers/image reads it as a signature; ``answered`` says
    where it came from (``answered URL with``, ``holds the file "PATH" with``)."""
    from spyglass.core.signatures.stored import not_a_signature

    what = not_a_signature(blob)
    if what is None:
        return
    where = (f'check the lookaside URL in "{config}"' if config is not None else
             "no registries.d file names a store for this repository, so it is "
             "containers/image's built-in one")
    raise NotASignature(f"The lookaside store {answered} {what}; {where}.")


def _read_files(
    base: str, repository: str, digest: Digest, cancel: CancelToken | None,
    config: Path | None = None,
) -> list[bytes]:
    found: list[bytes] = []
    while len(found) < MAX_SIGNATURES:
        check(cancel)
        url = signature_url(base, repository, digest, len(found) + 1)
        path = Path(local_path(url, any_host=True) or unquote(urlparse(url).path))
        try:
            size = path.stat().st_size
            if size > MAX_SIGNATURE_SIZE:
                raise TooLarge(
                    f'The signature "{path}" is larger than the '
                    f"{MAX_SIGNATURE_SIZE // (1024 * 1024)} MiB accepted."
                )
            blob = path.read_bytes()
        except FileNotFoundError:
            return found
        except OSError as exc:
            raise TransportError(
                f'Cannot read the signature "{path}": {exc.strerror or exc}.'
            ) from exc
        _check_signature(blob, f'holds the file "{visible(str(path))}" with', config)
        found.append(blob)
    return found
