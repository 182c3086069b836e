"""The containers signature policy (``containers-policy.json(5)``), for the source of a copy.

skopeo refuses to copy an image its policy does not accept. Spyglass reads the same
file and decides the same way which requirements apply to a source, but it verifies no
signature while it copies, so the outcome is one of three (:class:`Verdict`):

* every requirement is ``insecureAcceptAnything``: the copy goes ahead;
* one is ``reject``: the copy is refused, naming the file and the scope that matched;
* one asks for signatures (``signedBy``, ``sigstoreSigned``, ``signedBaseLayer``): the
  copy is refused too, saying how to check the signatures (skopeo, or ``spyglass
  signatures --keyring`` for signedBy, ``--key`` for sigstoreSigned) and copy without
  the check (``--insecure-policy``); for ``signedBaseLayer``, and ``signedBy`` with a
  keyType other than ``GPGKeys``, which containers/image reads but never accepts an
  image under (it implements neither), saying so.

Which file (:func:`policy_path`), as containers/image chooses it: the one given
(``--policy``), else ``$HOME/.config/containers/policy.json`` if it exists, else
``/etc/containers/policy.json``. Unlike skopeo, which fails when that last file does
not exist, Spyglass then has no policy to enforce and copies: many machines that run
Spyglass have no containers tools installed, hence no ``/etc/containers`` at all, and a
policy nobody wrote cannot be one anybody relies on.

Which requirements (:meth:`Policy.requirements_for`), as containers/image's
``PolicyContext.requirementsForImageRef`` picks them: in the source's transport, the
scope equal to the image's identity, else the first of its namespaces that has one,
else the transport's ``""`` scope; with none of those, the policy's ``default``.
Identities and namespaces follow each transport's ``PolicyConfigurationIdentity`` and
``PolicyConfigurationNamespaces``:

* ``docker``: ``HOST[:PORT]/REPO:TAG`` or ``HOST[:PORT]/REPO@DIGEST``; then the
  repository, its parent namespaces, the host (with its port), and ``*.DOMAIN``
  wildcards of the host without its port, most specific first;
* ``oci``, ``oci-archive``, ``dir``: the absolute path with symbolic links resolved;
  then each parent folder up to (not including) ``/``;
* ``docker-archive``: no scope but ``""``.

A malformed file is refused with a sentence (containers/image refuses it too), whether
it was named or found: a policy that cannot be read cannot be said to accept anything.
Nothing here imports Qt, or the registry transport.
"""

from __future__ import annotations

import enum
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from spyglass.core.errors import PolicyRefused, SpyglassError
from spyglass.core.policy_syntax import json_kind, read_policy_json, requirement_type
from spyglass.core.reference import (
    DirName,
    DockerArchiveName,
    DockerName,
    ImageName,
    OCIArchiveName,
    OCIName,
)

__all__ = [
    "ACCEPT_ANYTHING",
    "REJECT",
    "SIGNATURE_REQUIREMENTS",
    "SYSTEM_POLICY",
    "USER_POLICY",
    "Decision",
    "Policy",
    "Requirement",
    "Scope",
    "Verdict",
    "check_copy_source",
    "default_policy",
    "docker_namespaces",
    "load_policy",
    "path_namespaces",
    "policy_for",
    "policy_path",
]

SYSTEM_POLICY: Final = Path("/etc/containers/policy.json")
"""The system-wide policy, read when the user has none."""

USER_POLICY: Final = Path(".config/containers/policy.json")
"""The user's policy, relative to ``$HOME`` (containers/image reads ``$HOME``, not
``$XDG_CONFIG_HOME``, for it)."""

ACCEPT_ANYTHING: Final = "insecureAcceptAnything"
REJECT: Final = "reject"
SIGNATURE_REQUIREMENTS: Final = ("signedBy", "signedBaseLayer", "sigstoreSigned")
"""The requirement types that accept an image only with signatures."""

_PATH_TRANSPORTS: Final = ("oci", "oci-archive", "dir", "sif")
"""The transports whose scopes are absolute paths (containers/image validates them so)."""


@dataclass(frozen=True)
class Requirement:
    """One requirement of a scope: its type, and for ``signedBy`` its keyType (what else
    it says, its keys and identities, matters only to a verifier)."""

    type: str
    key_type: str = ""

    @property
    def unimplemented(self) -> str | None:
        """The requirement in words when containers/image reads it but accepts no image
        under it: ``signedBaseLayer`` ("not implemented yet"), and ``signedBy`` with a
        keyType other than GPGKeys (it rejects every signature: "Unimplemented keyType");
        None for the others."""
        if self.type == "signedBaseLayer":
            return self.type
        if self.type == "signedBy" and self.key_type != "GPGKeys":
            return f"signedBy with the keyType {self.key_type}"
        return None


class Verdict(enum.Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    NEEDS_SIGNATURES = "needs signatures"


@dataclass(frozen=True)
class Scope:
    """Where a list of requirements sits in a policy: ``transport`` None for the
    policy's ``default``; ``name`` "" for a transport's own default."""

    transport: str | None = None
    name: str = ""

    def describe(self) -> str:
        """The requirements of the scope, in words: ``its requirements for the docker
        scope "quay.io/team"``."""
        if self.transport is None:
            return 'its "default" requirements'
        if not self.name:
            return f'its requirements for every {self.transport} image (scope "")'
        return f'its requirements for the {self.transport} scope "{self.name}"'


@dataclass(frozen=True)
class Decision:
    """What the policy says of one image: the verdict, and the requirements that gave it."""

    verdict: Verdict
    scope: Scope
    requirements: tuple[Requirement, ...]
    """The requirements of ``scope``, in the file's order."""


@dataclass(frozen=True)
class Policy:
    """A parsed policy: for each scope, its requirements."""

    path: Path
    default: tuple[Requirement, ...]
    transports: Mapping[str, Mapping[str, tuple[Requirement, ...]]]

    def requirements_for(self, name: ImageName) -> tuple[Scope, tuple[Requirement, ...]]:
        """The scope whose requirements apply to ``name``, and those requirements."""
        transport = str(name.transport)
        scopes = self.transports.get(transport)
        if scopes is not None:
            for candidate in (*_scopes_of(name), ""):
                found = scopes.get(candidate)
                if found is not None:
                    return Scope(transport, candidate), found
        return Scope(), self.default

    def decide(self, name: ImageName) -> Decision:
        """Whether the policy accepts ``name`` as the source of a copy that checks no
        signature: all the requirements must accept it (as containers/image asks)."""
        scope, requirements = self.requirements_for(name)
        kinds = [requirement.type for requirement in requirements]
        if REJECT in kinds:
            verdict = Verdict.REJECT
        elif any(kind in SIGNATURE_REQUIREMENTS for kind in kinds):
            verdict = Verdict.NEEDS_SIGNATURES
        else:
            verdict = Verdict.ACCEPT
        return Decision(verdict, scope, requirements)

    def check_copy_source(self, name: ImageName) -> None:
        """Raise :class:`PolicyRefused` unless the policy accepts copying ``name``; its
        ``message`` is for the window, its ``on_command_line`` names the flags."""
        decision = self.decide(name)
        where = decision.scope.describe()
        if decision.verdict is Verdict.REJECT:
            said = (f'The policy "{self.path}" rejects {name}: {where} include reject, so it '
                    "is not copied.")
            raise PolicyRefused(
                f"{said} To copy it, change the policy.",
                on_command_line=f"{said} To copy it anyway, pass --insecure-policy (no policy "
                "is asked then), or change the policy.")
        if decision.verdict is Verdict.NEEDS_SIGNATURES:
            kinds = tuple(dict.fromkeys(requirement.type for requirement in
                                        decision.requirements
                                        if requirement.type in SIGNATURE_REQUIREMENTS))
            start = (f'The policy "{self.path}" accepts {name} only with signatures ({where} '
                     f"ask for {' and '.join(kinds)})")
            never = tuple(dict.fromkeys(requirement.unimplemented for requirement in
                                        decision.requirements if requirement.unimplemented))
            if never:  # (every requirement must accept: this one never does)
                said = (f"{start}, and containers/image accepts no image under "
                        f"{' or '.join(never)} (it does not implement "
                        f"{'them' if len(never) > 1 else 'it'}: skopeo refuses the copy too), "
                        "so it is not copied.")
                change = "change the policy" + (
                    " (signedBy checks only GPG keys, with the keyType GPGKeys; a cosign "
                    "public key is checked by sigstoreSigned)"
                    if any(each.startswith("signedBy") for each in never) else "")
                raise PolicyRefused(
                    f"{said} To copy it, {change}.",
                    on_command_line=f"{said} To copy it anyway, pass --insecure-policy (no "
                    f"policy is asked then), or {change}.")
            check = _how_to_check(kinds)
            start += ", and Spyglass does not verify signatures while it copies"
            raise PolicyRefused(
                f"{start}: copy it with skopeo, which verifies them, or check them with "
                f"spyglass signatures {check}, then copy it with spyglass copy "
                "--insecure-policy (which checks nothing), or change the policy.",
                on_command_line=f"{start}: copy it with skopeo, which verifies them, or "
                f"check them with spyglass signatures {check} and copy with "
                "--insecure-policy (which checks nothing).")


def _how_to_check(kinds: tuple[str, ...]) -> str:
    """The flags of ``spyglass signatures`` that check what ``kinds`` ask for: a GPG
    keyring for signedBy, a public key for sigstoreSigned (cosign's)."""
    flags = {"signedBy": "--keyring (the policy's GPG keys)",
             "sigstoreSigned": "--key (the policy's public key)"}
    return " and ".join(flags[kind] for kind in kinds if kind in flags)


def _scopes_of(name: ImageName) -> tuple[str, ...]:
    """The scopes of ``name``'s transport that may hold its requirements, most specific
    first: its identity, then its namespaces (``""`` comes after, for every transport)."""
    if isinstance(name, DockerName):
        return (str(name.reference), *docker_namespaces(name.reference.name))
    if isinstance(name, OCIName | OCIArchiveName | DirName):
        return path_namespaces(Path(os.path.realpath(name.path)))
    if isinstance(name, DockerArchiveName):
        return ()
    raise AssertionError(f"no policy scopes for {name!r}")  # every transport is above


def docker_namespaces(repository: str) -> tuple[str, ...]:
    """``HOST/A/B`` → ``HOST/A/B``, ``HOST/A``, ``HOST``, then ``*.D`` for each domain
    ``D`` the host (its port dropped) is below: containers/image's
    ``DockerReferenceNamespaces``."""
    found: list[str] = []
    name = repository
    while True:
        found.append(name)
        if "/" not in name:
            break
        name = name.rsplit("/", 1)[0]
    host = name.split(":", 1)[0]  # as containers/image cuts it (an IPv6 host as well)
    while "." in host:
        host = host.split(".", 1)[1]
        found.append(f"*.{host}")
    return tuple(found)


def path_namespaces(resolved: Path) -> tuple[str, ...]:
    """An absolute path and each folder above it, but ``/`` (the ``""`` scope says that)."""
    text = str(resolved)
    found: list[str] = []
    while text not in ("/", "") and "/" in text:
        found.append(text)
        text = text.rsplit("/", 1)[0]
    return tuple(found)


# ---------------------------------------------------------------------------- the file


def policy_path(environ: Mapping[str, str] | None = None,
                system: Path = SYSTEM_POLICY) -> Path | None:
    """The policy file containers/image would read with no ``--policy``: the user's
    (``$HOME/.config/containers/policy.json``) if it exists, else ``system`` if it does;
    None when neither exists (skopeo would fail; Spyglass enforces nothing)."""
    environ = os.environ if environ is None else environ
    home = environ.get("HOME") or _home_of_user()
    if home:
        user = Path(home) / USER_POLICY
        if user.exists():
            return user
    return system if system.exists() else None


def _home_of_user() -> str:
    """The user's home folder from the password database (containers/image's fallback
    when ``$HOME`` is unset)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir
    except (ImportError, KeyError, OSError):
        return ""


def default_policy(environ: Mapping[str, str] | None = None,
                   system: Path = SYSTEM_POLICY) -> Policy | None:
    """The policy of :func:`policy_path`, loaded; None when there is none."""
    path = policy_path(environ, system)
    return load_policy(path) if path is not None else None


def check_copy_source(name: ImageName, policy_file: Path | None = None,
                      environ: Mapping[str, str] | None = None,
                      system: Path = SYSTEM_POLICY) -> None:
    """Refuse (:class:`PolicyRefused`) to copy ``name`` unless the policy accepts it:
    the one in ``policy_file``, else the default one (none: nothing is refused). A
    policy that cannot be read is a :class:`SpyglassError`."""
    policy = policy_for(policy_file, environ, system)
    if policy is not None:
        policy.check_copy_source(name)


def policy_for(policy_file: Path | None = None,
               environ: Mapping[str, str] | None = None,
               system: Path = SYSTEM_POLICY) -> Policy | None:
    """The policy a copy is checked against, read now: the one in ``policy_file``, else
    the default one (:func:`default_policy`; None when there is none). Read it once to
    check many images (as a sync does): each read opens and parses the file again."""
    return load_policy(policy_file) if policy_file is not None else (
        default_policy(environ, system))


def load_policy(path: Path) -> Policy:
    """Read and check a ``containers-policy.json``; a malformed one is refused with a
    sentence naming ``path`` and what is wrong, as containers/image refuses it
    (:mod:`spyglass.core.policy_syntax` says how strictly)."""
    data: Any = read_policy_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("default"), list):
        raise SpyglassError(f'The policy "{path}" is not a containers-policy.json (an object '
                            'with a "default" list of requirements, and "transports").')
    for key in data:
        if key not in ("default", "transports"):
            raise SpyglassError(
                f'The policy "{path}" has the key "{key}", which a containers-policy.json '
                'does not have; expected only "default" and "transports" (containers/image '
                "refuses any other).")
    default = _requirements(path, data["default"], "default")
    transports: dict[str, dict[str, tuple[Requirement, ...]]] = {}
    given = data.get("transports", {})
    if not isinstance(given, dict):  # null too, as containers/image refuses it
        raise SpyglassError(f'The policy "{path}" has "transports" as {json_kind(given)}; '
                            "expected an object of transports, each an object of scopes.")
    for transport, scopes in given.items():
        if not isinstance(scopes, dict):
            raise SpyglassError(
                f'The policy "{path}" has the transport "{transport}" as '
                f"{json_kind(scopes)}; expected an object of scopes, each a list of "
                "requirements.")
        checked: dict[str, tuple[Requirement, ...]] = {}
        for scope, requirements in scopes.items():
            _check_scope(path, transport, scope)
            checked[scope] = _requirements(path, requirements,
                                           f"{transport} {scope or '(all)'}")
        transports[transport] = checked
    return Policy(path, default, transports)


def _requirements(path: Path, given: object, where: str) -> tuple[Requirement, ...]:
    """A list of requirements, checked as containers/image checks them."""
    if not isinstance(given, list):
        raise SpyglassError(f'The policy "{path}" has {json_kind(given)} for {where}; '
                            "expected a list of requirements.")
    if not given:
        raise SpyglassError(f'The policy "{path}" lists no requirements for {where}; '
                            "containers/image refuses such a policy.")
    return tuple(_requirement(path, requirement, where) for requirement in given)


def _requirement(path: Path, given: object, where: str) -> Requirement:
    kind = requirement_type(path, given, where)
    if kind == "signedBy" and isinstance(given, dict):  # (its keyType checked: a string)
        return Requirement(kind, given["keyType"])
    return Requirement(kind)


def _check_scope(path: Path, transport: str, scope: str) -> None:
    """Refuse a scope its transport never matches, as containers/image refuses it (so a
    mistyped scope does not silently leave an image to the default)."""
    if not scope:
        return
    if transport in ("docker-archive", "tarball"):
        raise SpyglassError(f'The policy "{path}" has the {transport} scope "{scope}"; '
                            f'{transport} takes no scope but "" (containers/image refuses '
                            "others).")
    if transport == "containers-storage":
        problem = _storage_scope_problem(scope)
        if problem is not None:
            raise SpyglassError(f'The policy "{path}" has the containers-storage scope '
                                f'"{scope}"; {problem} (containers/image refuses it).')
    if transport in _PATH_TRANSPORTS:
        cleaned = posixpath.normpath(scope)
        if not scope.startswith("/") or scope == "/" or cleaned != scope:
            expected = ('an absolute path other than "/" (use the scope "" for every path)'
                        if not scope.startswith("/") or scope == "/" else
                        f'a clean absolute path, such as "{cleaned}"')
            raise SpyglassError(f'The policy "{path}" has the {transport} scope "{scope}"; '
                                f"expected {expected}.")


_GO_DIGEST: Final = re.compile(r"sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}")
"""A digest go-digest parses (the algorithms skopeo has)."""


def _storage_scope_problem(scope: str) -> str | None:
    """Why a containers-storage scope is not one containers/image's storage transport
    takes, as a clause (``expected [STORE]…``); None where it takes it. Its grammar:
    ``[GRAPHROOT]`` or ``[DRIVER@GRAPHROOT]`` (an absolute path, maybe ``+RUNROOT`` and
    options after it), then nothing, ``NAME``, ``NAME@DIGEST-OR-ID`` or
    ``NAME@DIGEST@ID`` (an ID is 64 hex digits)."""
    expected = ("expected the store in brackets, [/GRAPHROOT] or [DRIVER@/GRAPHROOT], "
                "then an image's name, @digest or @ID, if any")
    close = scope.find("]")
    if not scope.startswith("[") or close < 1:
        return expected
    store = scope[1:close].split("@", 1)
    if not all(store):
        return expected
    if not store[-1].startswith("/"):
        return f'the store\'s graph root "{store[-1]}" is not an absolute path'
    fields = scope[close + 1:].split("@", 2)
    ids = [f"sha256:{field}" for field in fields[1:]]
    if len(fields) == 2 and not (_GO_DIGEST.fullmatch(ids[0])
                                 or _GO_DIGEST.fullmatch(fields[1])):
        return f'"{fields[1]}" is neither a digest nor an image ID (64 hex digits)'
    if len(fields) == 3 and not _GO_DIGEST.fullmatch(fields[1]):
        return f'"{fields[1]}" is not a digest'
    if len(fields) == 3 and not _GO_DIGEST.fullmatch(ids[1]):
        return f'"{fields[2]}" is not an image ID (64 hex digits)'
    return None

