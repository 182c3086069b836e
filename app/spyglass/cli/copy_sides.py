"""What the commands copying from one side to another share (``copy``, ``sync``): the
flags of each side's registry, their options, the signature policy, and advice naming
the side's own flag."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Final

from spyglass.cli.common import (
    GoBool,
    add_credential_flags,
    argv_text,
    check_credential_flags,
    count_argument,
    optional_path,
    positive_count_argument,
    refusing,
    registry_options,
)

if TYPE_CHECKING:
    from spyglass.core.reference import ImageName
    from spyglass.core.transports.registry import RegistryOptions

SIGNING_FLAGS: Final = (
    ("--sign-by", "--sign-by-sigstore", "--sign-by-sigstore-private-key", "--sign-identity",
     "--sign-passphrase-file"),
    "signs the copy, which Spyglass does not do: copy, then sign the image where it was "
    "written (skopeo standalone-sign, cosign sign)")
"""skopeo's signing flags, refused (see :func:`~spyglass.cli.common.add_skopeo_only`)."""


V2S1: Final = {"v2s1": "Docker schema 1, a deprecated format Spyglass never writes: use "
                      "v2s2 for Docker schema 2, or oci"}
"""skopeo's value of ``--format`` for what Spyglass does not write, and what it is."""


def add_copy_flags(parser: argparse.ArgumentParser, *, parallel: str) -> None:
    """The flags of how each image is copied, the same for ``copy`` and ``sync``:
    ``--format``, ``--preserve-digests``, ``--remove-signatures``, ``--parallel``
    (``parallel``: its help), ``--force-recursive``, ``--authfile``, ``--retry-times``."""
    parser.add_argument("--format", "-f", choices=("oci", "v2s2"), type=refusing(V2S1),
                        help="write manifests in this format")
    parser.add_argument("--preserve-digests", action="store_true",
                        help="refuse any change that would alter a digest")
    parser.add_argument("--remove-signatures", action="store_true",
                        help="leave signatures, attestations, SBOMs and referrers behind")
    parser.add_argument("--parallel", "--image-parallel-copies", type=positive_count_argument,
                        dest="parallel", default=None, metavar="N", help=parallel)
    parser.add_argument("--force-recursive", action="store_true",
                        help="copy every blob and manifest even where the destination "
                        "registry's tag names this very image already (by default nothing "
                        "is written then), to repair a destination that lost some")
    parser.add_argument("--authfile", type=optional_path, metavar="FILE",
                        help="read credentials from this auth.json only")
    parser.add_argument("--retry-times", type=count_argument, default=3, metavar="N",
                        help="retry failed requests N times (default 3)")


def add_side_flags(parser: argparse.ArgumentParser) -> None:
    """skopeo's flags for the source's and the destination's registry: ``--src-creds``,
    ``--dest-tls-verify``, ``--src-cert-dir``, ``--dest-authfile`` and the others."""
    for side, which in (("src", "the source's"), ("dest", "the destination's")):
        parser.add_argument(
            f"--{side}-creds", metavar="USER[:PASS]", type=argv_text,
            help=f"credentials for {which} registry (USER alone asks for the password; "
            "USER: sends an empty one)")
        parser.add_argument(
            f"--{side}-tls-verify", action=GoBool, default=None, metavar="BOOL",
            help=f"require HTTPS and verify {which} certificate (default "
            "true; without the flag a registry on this machine may also answer plain HTTP)")
        parser.add_argument(f"--{side}-cert-dir", type=optional_path, metavar="DIR",
                            help=f"use *.crt, *.cert and *.key files in DIR for {which} TLS")
        parser.add_argument(f"--{side}-authfile", type=optional_path, metavar="FILE",
                            help=f"read {which} credentials from this auth.json (instead of "
                            "--authfile)")
        add_credential_flags(parser, f"{which} registry", side)


def side_registry_options(
    args: argparse.Namespace, side: str, name: ImageName
) -> RegistryOptions | None:
    """How to reach the registry ``name`` is in; None for a local ``name`` (as skopeo,
    the side's registry flags are then unused, and the registry transport with httpx
    is not even imported, but those that contradict each other are refused)."""
    from spyglass.core.reference import DockerName

    check_credential_flags(args, side)
    if not isinstance(name, DockerName):
        return None
    options = registry_options(args, name.reference.domain, side)
    credentials = options.credentials
    if credentials is not None and credentials.source == "command line" \
            and credentials.given_with is None:
        # their refusal names this side's flag: with one registry on both sides, its
        # sentence cannot tell the side (and the other side's flag may not be given)
        from dataclasses import replace

        options = replace(options, credentials=replace(
            credentials, given_with=f"--{side}-creds USER:PASSWORD"))
    return options


def check_policy(args: argparse.Namespace, *source_names: ImageName) -> None:
    """The signature policy's word on each source, before anything is opened or written
    (as skopeo copy asks it): ``--policy FILE``, else the user's or the system's
    ``policy.json``, read once for them all (a sync of 20,000 images read it 20,000
    times); ``--insecure-policy`` skips it, as in skopeo. With no source, nothing is
    read."""
    if args.insecure_policy or not source_names:
        return
    from spyglass.core.policy import policy_for

    policy = policy_for(args.policy)
    if policy is not None:
        for name in source_names:
            policy.check_copy_source(name)


_SIDED_FLAGS: Final = (("--creds USER:PASSWORD", "-creds USER:PASSWORD"),
                       ("--registry-token", "-registry-token"),
                       ("--tls-verify=false", "-tls-verify=false"),
                       ("--cert-dir DIR", "-cert-dir DIR"))
"""The registry commands' advice, and the ending of copy's own flag for each side."""


def _names_host(sentence: str, host: str) -> bool:
    """Whether ``sentence`` names ``host`` itself, not a longer host containing it
    (``localhost`` in ``localhost:5000``, ``example.com`` in ``registry.example.com``)."""
    import re

    return re.search(rf"(?<![\w.:-]){re.escape(host)}(?![\w.:-]*[\w-])", sentence) is not None


def _names_repository(sentence: str, repository: str) -> bool:
    """Whether ``sentence`` names ``HOST/REPOSITORY`` itself (a tag or digest may follow),
    not a longer repository (``team/app`` in ``team/app-2`` or ``team/app/db``)."""
    import re

    return re.search(rf"(?<![\w.:/-]){re.escape(repository)}(?![\w./-])", sentence) is not None


def sides_named(sentence: str, source: ImageName, destination: ImageName) -> list[str]:
    """The sides (``src``, ``dest``) whose registry ``sentence`` names: the one whose
    repository it names, else those whose host it names, else both."""
    from spyglass.core.reference import DockerName

    named = [(side, name.reference) for side, name in (("src", source), ("dest", destination))
             if isinstance(name, DockerName)]
    # one registry on both sides: the repository the sentence names tells the side
    by_repository = [side for side, ref in named
                     if _names_repository(sentence, f"{ref.domain}/{ref.path}")]
    return (by_repository if len(by_repository) == 1 else
            [side for side, ref in named if _names_host(sentence, ref.domain)]
            or ["src", "dest"])


def side_hints(sentence: str, source: ImageName, destination: ImageName) -> str:
    """A registry's advice (``--creds``, ``--tls-verify=false``) with copy's own flag for
    the side whose registry the sentence names (both when it cannot tell)."""
    return with_side_flags(sentence, sides_named(sentence, source, destination))


def with_entry_keys(sentence: str, sides: list[str], entry: str | None) -> str:
    """For a sentence about the source alone, whose registry settings a yaml file's entry
    gave (``entry``: ``the entry "REG" in "FILE"``): a registry's TLS advice
    (``--tls-verify=false``, ``--cert-dir DIR``) as that entry's keys, which win over the
    command line's flags (advising ``--src-tls-verify=false`` named a flag given
    already); and its credentials advice names the entry's ``credentials`` first, as
    ``--src-creds`` gives them for every registry of the file."""
    if entry is None or sides != ["src"]:
        return sentence
    return (sentence.replace("--tls-verify=false", f"tls-verify: false in {entry}")
            .replace("--cert-dir DIR", f"cert-dir: DIR in {entry}")
            .replace(", or pass --creds USER:PASSWORD",
                     ", or give credentials: {username: USER, password: PASSWORD} in "
                     f"{entry} (or --creds USER:PASSWORD, for every registry of the file)"))


def with_side_flags(sentence: str, sides: list[str]) -> str:
    """A registry's advice (``--creds``, ``--tls-verify=false``) with the flag of each of
    ``sides`` (``src``, ``dest``) instead: ``--src-creds``, or ``--src-creds or
    --dest-creds``."""
    for general, ending in _SIDED_FLAGS:
        sentence = sentence.replace(
            general, " or ".join(f"--{side}{ending}" for side in sides)
        )
    return sentence
