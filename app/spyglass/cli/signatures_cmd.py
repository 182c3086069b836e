"""``spyglass signatures``: what is attached to an image, decoded, and optionally verified."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spyglass.cli.common import (
    Commands,
    add_registry_options,
    path_argument,
    registry_options,
    resolve_name,
    write_json,
)
from spyglass.core.errors import SpyglassError

if TYPE_CHECKING:
    from spyglass.core.digest import Digest
    from spyglass.core.reference import DockerReference
    from spyglass.core.signatures.attached import AttachedPart, AttachmentContent


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser(
        "signatures",
        help="list an image's signatures, attestations, SBOMs and referrers as JSON",
        description="List what is attached to an image — cosign signatures and "
        "attestations, SBOMs, Notary v2 signatures, OCI referrers, simple signing "
        "signatures of dir: folders, BuildKit attestations — decoded, as JSON. With "
        "--key or --keyring each signature is verified against this image's digest, "
        "and the image reference it names against the registry image's, as skopeo's "
        "policy does by default (matchRepoDigestOrExact).",
    )
    parser.add_argument("name", metavar="NAME")
    parser.add_argument(
        "--key", type=path_argument, metavar="FILE",
        help="a PEM public key (cosign) or certificate (Notary v2) to verify with",
    )
    parser.add_argument(
        "--keyring", type=path_argument, metavar="FILE",
        help="a GPG public keyring to verify simple signing signatures with",
    )
    parser.add_argument(
        "--top-only", action="store_true",
        help="for a manifest list, only what is attached to the list itself",
    )
    add_registry_options(parser, uses={"tmpdir", "registries.d"})
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spyglass.core.reference import DockerName
    from spyglass.core.signatures.attached import image_attachments
    from spyglass.core.transports import open_source

    name = resolve_name(args.name)
    key = _read_key(args.key) if args.key is not None else None
    if args.keyring is not None:
        if not args.keyring.is_file():
            raise SpyglassError(f'The keyring "{args.keyring}" is not a file; expected a GPG '
                                "public keyring (gpg --export > FILE).")
        from spyglass.core.signatures.gpg import read_keyring

        read_keyring(args.keyring)  # one that holds no key is refused before any image is read
    options = (
        registry_options(args, name.reference.domain) if isinstance(name, DockerName) else None
    )
    source = open_source(name, options)
    try:
        subjects = image_attachments(source, instances=not args.top_only)
    finally:
        source.close()
    checking = key is not None or args.keyring is not None
    # the name a signature must claim (none for an image in a folder: not compared)
    identity = name.reference if isinstance(name, DockerName) else None
    described = {
        "Name": args.name,
        "Digest": str(subjects[0].digest),
        "Manifests": [
            {
                "Digest": str(subject.digest),
                "Describes": subject.label,
                "Attached": [
                    _attachment_json(content, subject.digest, key, args.keyring, checking,
                                     identity)
                    for content in subject.attachments
                ],
                # what was found but is not attached after all (a referrers index's entry
                # whose own subject is another manifest), and why it is not listed
                **({"Notes": list(subject.notes)} if subject.notes else {}),
            }
            for subject in subjects
        ],
    }
    write_json(described)
    if checking:
        _require_verified(args, described["Manifests"][0], key)
    return 0


def _require_verified(args: argparse.Namespace, named: dict[str, Any],
                      key: bytes | None) -> None:
    """Status 1, as ``cosign verify``, unless a signature attached to the image named
    (not only to its platforms) verified with the key or keyring given: a signature,
    not an attestation or an SBOM, whose verifying says nothing about the image.
    ``key``: the key file's bytes (a certificate is said to be one: a CA's, for Notary
    signatures, is no key of theirs)."""
    from collections import Counter

    from spyglass.core.copy_attachments import SIGNATURE_KINDS

    signatures = {str(kind) for kind in SIGNATURE_KINDS}
    statuses = Counter(  # each part by its own kind (an attachment's is its first part's)
        part["Verification"]["Status"]
        for attached in named["Attached"] for part in attached["Parts"]
        if "Verification" in part and part.get("Kind", attached["Kind"]) in signatures
    )
    if statuses["verified"]:
        return
    key_kind = "certificate" if key and b"-----BEGIN CERTIFICATE-----" in key else "key"
    given = " or ".join(f'the {what} "{path}"' for what, path in
                        ((key_kind, args.key), ("keyring", args.keyring)) if path is not None)
    checked = {status: count for status, count in statuses.items() if status != "not checked"}
    unread = sum(1 for attached in named["Attached"] if "Error" in attached) + sum(
        1 for attached in named["Attached"] for part in attached["Parts"] if "Error" in part)
    found = (f"; its signatures: {', '.join(f'{s} ({n})' for s, n in checked.items())}"
             if checked else f"; {args.name} has no signature that could be checked with it")
    if unread:
        found += (f" ({unread} of what is attached to it could not be read; "
                  "the JSON says why)")
    raise SpyglassError(f"No signature of {args.name} verifies with {given}{found}.")


def _read_key(path: Path) -> bytes:
    """The key file's bytes, checked to be a public key or certificate before any
    image is read."""
    from spyglass.core.signatures import load_public_key

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpyglassError(
            f'Cannot read the key "{path}": {exc.strerror or exc}; expected a PEM public key '
            "or certificate."
        ) from exc
    load_public_key(data, what=f'the key file "{path}"')
    return data


def _attachment_json(
    content: AttachmentContent,
    subject: Digest,
    key: bytes | None,
    keyring: Path | None,
    checking: bool,
    identity: DockerReference | None = None,
) -> dict[str, Any]:
    """``identity``: the reference a signature of ``subject`` must claim; None for an
    attachment's own (those name no image by tag)."""
    attachment = content.attachment
    data: dict[str, Any] = {
        "Kind": str(content.kind),
        "Found": attachment.found,
    }
    if attachment.descriptor is not None:
        data["Digest"] = str(attachment.descriptor.digest)
        data["MediaType"] = attachment.descriptor.media_type
        data["Size"] = attachment.descriptor.size
    if attachment.artifact_type:
        data["ArtifactType"] = attachment.artifact_type
    if attachment.created:
        data["Created"] = attachment.created
    if content.error:
        data["Error"] = content.error
    data["Parts"] = [_part_json(part, subject, key, keyring, checking, identity)
                     for part in content.parts]
    if content.attachments and attachment.descriptor is not None:  # (checked against it)
        data["Attached"] = [
            _attachment_json(under, attachment.descriptor.digest, key, keyring, checking)
            for under in content.attachments
        ]
    return data


def _part_json(
    part: AttachedPart,
    subject: Digest,
    key: bytes | None,
    keyring: Path | None,
    checking: bool,
    identity: DockerReference | None,
) -> dict[str, Any]:
    from spyglass.core.signatures.attached import verify_part
    from spyglass.core.signatures.identity import identity_refusal

    data: dict[str, Any] = {"MediaType": part.media_type, "Size": part.size}
    decoded = part.decoded
    if decoded is None:
        data["Error"] = part.error
        return data
    data["Kind"] = str(decoded.kind)
    data["Title"] = decoded.title
    data["Fields"] = dict(decoded.fields)
    names = decoded.names_image(subject)
    signed = decoded.claimed_reference
    if names and identity is not None and signed is not None:
        # the digest alone is not this image: the reference it claims must be its own
        names = identity_refusal(signed, identity) is None
    if names is not None:
        data["NamesThisImage"] = names
    if checking:
        result = verify_part(part, subject, key=key, keyring=keyring, identity=identity)
        data["Verification"] = {"Status": str(result.status), "Detail": result.detail}
        if result.signer:
            data["Verification"]["Signer"] = result.signer
    return data
