"""cosign signatures between their two forms, and added to a ``.sig`` tag already there:
``dir:``'s ``signature-N`` files become a ``sha256-<hex>.sig`` manifest in a layout, and
a layout's ``.sig`` that holds another signer's signatures gets the source's added (as
containers/image adds them), once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spyglass.core.copy import (
    BlobDone,
    BlobSkipped,
    BlobStarted,
    CopyEvent,
    CopyOptions,
    copy_image,
    plan_copy,
)
from spyglass.core.digest import Digest
from spyglass.core.errors import Unsupported
from spyglass.core.signatures import InvalidSignature, Kind
from spyglass.core.signatures.attached import find_attachments, read_attachment, verify_part
from spyglass.core.signatures.cosign_tag import signature_layer, write_signature_manifest
from spyglass.core.transports import open_destination, open_source
from tests.helpers import cosign
from tests.helpers.cosign import signed_layout
from tests.helpers.imagebuild import LayoutBuilder

REF_NAME = "org.opencontainers.image.ref.name"


def _signed_dir(tmp_path: Path) -> tuple[str, Path, list[bytes]]:
    """An image in ``dir:`` with two cosign signatures (signature-1 from the layout's
    .sig, signature-2 another key's); its digest, the folder and both public keys."""
    digest, key = signed_layout(tmp_path / "src")
    folder = tmp_path / "dir"
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"), open_destination(f"dir:{folder}"))
    other = cosign.generate_key()
    payload = cosign.simple_signing_payload("example.com/app", digest)
    layer = cosign.signature_layer(payload, other)
    (folder / "signature-2").write_bytes(cosign.stored_sigstore_signature(*layer))
    return digest, folder, [key, cosign.public_key_pem(other)]


def _tagged(layout: Path, tag: str) -> tuple[str, dict[str, Any]]:
    """The digest and manifest of the entry ``tag`` of a layout's index.json."""
    index = json.loads((layout / "index.json").read_text())
    (entry,) = [m for m in index["manifests"]
                if (m.get("annotations") or {}).get(REF_NAME) == tag]
    raw = (layout / "blobs" / "sha256" / entry["digest"].split(":")[1]).read_bytes()
    return entry["digest"], json.loads(raw)


def _verified(name: str, digest: str, keys: list[bytes]) -> list[bool]:
    """For each part of the image's cosign signature, whether one of ``keys`` verifies it."""
    source = open_source(name)
    (found,) = [a for a in find_attachments(source, Digest.parse(digest))
                if a.kind is Kind.COSIGN_SIGNATURE]
    parts = read_attachment(source, found).parts
    return [any(verify_part(part, Digest.parse(digest), key=key).ok for key in keys)
            for part in parts]


def test_dir_signature_files_become_a_sig_tag_in_a_layout(tmp_path: Path) -> None:
    digest, folder, keys = _signed_dir(tmp_path)
    tag = cosign.cosign_tag(digest, "sig")
    target = tmp_path / "layout"
    destination = open_destination(f"oci:{target}:app")
    plan = plan_copy(open_source(f"dir:{folder}"), destination)
    destination.abort()
    assert "  attached: 2 cosign signatures" in plan.describe()
    # the payload (both sign the same one) and the config the plan made are counted
    made = plan.attachment_blobs
    assert sorted(b.media_type for b in made) == [
        "application/vnd.dev.cosign.simplesigning.v1+json",
        "application/vnd.oci.image.config.v1+json"]
    assert plan.total_bytes == (sum(t.source.size for t in plan.blobs)
                                + sum(b.size for b in made))
    assert not plan.notes

    events: list[CopyEvent] = []
    copy_image(open_source(f"dir:{folder}"), open_destination(f"oci:{target}:app"),
               events=events.append)
    there, manifest = _tagged(target, tag)
    from spyglass.core.signatures.stored import split_stored_signature

    stored = [split_stored_signature((folder / f"signature-{n}").read_bytes()) for n in (1, 2)]
    assert [layer["annotations"] for layer in manifest["layers"]] == [
        s.annotations for s in stored]  # in file order
    assert _verified(f"oci:{target}:app", digest, keys) == [True, True]
    # what containers/image writes for those two files, byte for byte
    expected = write_signature_manifest(
        signature_layer(s.data, s.mime_type or "", s.annotations) for s in stored)
    assert there == str(expected.descriptor.digest)
    # every blob written was counted in the plan: progress stops at 100 %
    counted = {t.source.digest for t in plan.blobs} | {b.digest for b in made}
    moved = {e.digest for e in events if isinstance(e, BlobStarted | BlobSkipped)}
    assert moved == counted
    assert sum(e.written.size for e in events if isinstance(e, BlobDone)) <= plan.total_bytes

    # again: the same manifest, no note
    again = plan_copy(open_source(f"dir:{folder}"), open_destination(f"oci:{target}:app"))
    assert not again.notes and "  attached: 2 cosign signatures" in again.describe()
    copy_image(open_source(f"dir:{folder}"), open_destination(f"oci:{target}:app"))
    assert _tagged(target, tag)[0] == there


def _their_signature(layout: Path, digest: str) -> tuple[str, bytes]:
    """Another signer's cosign .sig for ``digest`` in ``layout`` (as cosign writes it);
    its manifest digest and the signer's public key."""
    key = cosign.generate_key("ecdsa-p384")
    payload = cosign.simple_signing_payload("example.com/theirs", digest)
    layer = cosign.signature_layer(payload, key)
    manifest, blobs = cosign.cosign_manifest(
        [(layer[0], cosign.SIMPLESIGNING_MEDIA_TYPE, layer[1])])
    builder = LayoutBuilder(layout)
    for blob in blobs.values():
        builder.add_blob(blob)
    written = builder.add_blob(manifest)
    builder.tag({"mediaType": cosign.OCI_MANIFEST, **written}, cosign.cosign_tag(digest, "sig"))
    return written["digest"], cosign.public_key_pem(key)


def test_a_sig_tag_there_gets_the_sources_signatures_added_once(tmp_path: Path) -> None:
    digest, key = signed_layout(tmp_path / "src")
    tag = cosign.cosign_tag(digest, "sig")
    target = tmp_path / "dst"
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
               open_destination(f"oci:{target}:app"), CopyOptions(remove_signatures=True))
    theirs, their_key = _their_signature(target, digest)
    _, their_manifest = _tagged(target, tag)

    destination = open_destination(f"oci:{target}:app")
    plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:app"), destination)
    destination.abort()
    assert (f"the source's 1 cosign signature is merged into {tag} at oci:{target}:app, "
            "which already holds 1 other signature") in plan.notes
    assert "  attached: 1 SBOM, 1 cosign signature" in plan.describe()
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"), open_destination(f"oci:{target}:app"))
    merged, manifest = _tagged(target, tag)
    assert merged != theirs
    assert manifest["layers"][0] == {  # theirs first, in containers/image's field order
        k: their_manifest["layers"][0][k] for k in ("mediaType", "digest", "size",
                                                      "annotations")}
    assert _verified(f"oci:{target}:app", digest, [their_key]) == [True, False]
    assert _verified(f"oci:{target}:app", digest, [key]) == [False, True]

    # again: nothing to add, nothing written, the tag stays
    again = plan_copy(open_source(f"oci:{tmp_path / 'src'}:app"),
                      open_destination(f"oci:{target}:app"))
    assert (f"{tag} at oci:{target}:app already holds the source's 1 cosign signature; "
            "nothing is added") in again.notes
    assert Kind.COSIGN_SIGNATURE not in {t.attachment.kind for t in again.attachments}
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"), open_destination(f"oci:{target}:app"))
    assert _tagged(target, tag)[0] == merged

    # and from dir: (the same signature, and one more): only the new one is added
    folder = tmp_path / "dir"
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"), open_destination(f"dir:{folder}"))
    third = cosign.generate_key()
    payload = cosign.simple_signing_payload("example.com/third", digest)
    (folder / "signature-2").write_bytes(
        cosign.stored_sigstore_signature(*cosign.signature_layer(payload, third)))
    plan = plan_copy(open_source(f"dir:{folder}"), open_destination(f"oci:{target}:app"))
    assert (f"the source's 1 cosign signature is merged into {tag} at oci:{target}:app, "
            "which already holds 1 other signature; the source's other 1 is there "
            "already") in plan.notes, plan.notes  # "other": not counting the source's
    # the plan makes the new signature's payload and a config: both counted
    made = [(b.media_type, b.size) for b in plan.attachment_blobs]
    assert made[0] == (cosign.SIMPLESIGNING_MEDIA_TYPE, len(payload))
    assert [media_type for media_type, _size in made[1:]] == [cosign.COSIGN_CONFIG]
    copy_image(open_source(f"dir:{folder}"), open_destination(f"oci:{target}:app"))
    assert _verified(f"oci:{target}:app", digest, [their_key, key]) == [True, True, False]
    assert _verified(f"oci:{target}:app", digest, [cosign.public_key_pem(third)]) == [
        False, False, True]


def test_what_cannot_be_added_to_is_kept_with_a_note(tmp_path: Path) -> None:
    """A .sig whose layers are not cosign signatures is not added to, nor replaced."""
    digest, _key = signed_layout(tmp_path / "src")
    tag = cosign.cosign_tag(digest, "sig")
    target = tmp_path / "dst"
    builder = LayoutBuilder(target)
    manifest, blobs = cosign.cosign_manifest(
        [(b"{}", "application/vnd.dsse.envelope.v1+json", {})])
    for blob in blobs.values():
        builder.add_blob(blob)
    written = builder.add_blob(manifest)
    builder.tag({"mediaType": cosign.OCI_MANIFEST, **written}, tag)
    plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:app"),
                     open_destination(f"oci:{target}:app"))
    assert (f"oci:{target}:app already has other content under {tag} "
            f"({Digest.parse(written['digest']).short}); it is kept, and the source's cosign "
            "signature is not copied, since Spyglass adds signatures only to a cosign "
            "signature manifest. It has a layer of type application/vnd.dsse.envelope.v1+json,"
            " not a cosign signature.") in plan.notes
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"), open_destination(f"oci:{target}:app"))
    assert _tagged(target, tag)[0] == written["digest"]


def test_an_attestation_tag_there_is_kept_not_added_to(tmp_path: Path) -> None:
    digest, _key = signed_layout(tmp_path / "src")
    tag = cosign.cosign_tag(digest, "att")
    for root, predicate in ((tmp_path / "src", "ours"), (tmp_path / "dst", "theirs")):
        builder = LayoutBuilder(root)
        envelope = json.dumps({"payloadType": "x", "payload": predicate}).encode()
        manifest, blobs = cosign.cosign_manifest(
            [(envelope, "application/vnd.dsse.envelope.v1+json", {})])
        for blob in blobs.values():
            builder.add_blob(blob)
        builder.tag({"mediaType": cosign.OCI_MANIFEST, **builder.add_blob(manifest)}, tag)
    plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:app"),
                     open_destination(f"oci:{tmp_path / 'dst'}:app"))
    (note,) = [n for n in plan.notes if tag in n]
    assert note.endswith("it is kept, and the source's attestation is not copied (Spyglass "
                         "adds only to cosign's signature tags, .sig)")


def test_a_broken_signature_file_is_named(tmp_path: Path) -> None:
    digest, folder, _keys = _signed_dir(tmp_path)
    (folder / "signature-2").write_bytes(b"\0sigstore-json\nnot json")
    with pytest.raises(InvalidSignature) as refused:
        plan_copy(open_source(f"dir:{folder}"), open_destination(f"oci:{tmp_path / 'l'}:app"))
    said = str(refused.value)
    assert said.startswith(f"signature-2 of {Digest.parse(digest).short} in dir:{folder} "
                           "cannot become a cosign signature: ")
    assert said.endswith("Copy without signatures to leave it behind.")
    assert "--remove-signatures" in str(refused.value.on_command_line)


def test_a_docker_archive_still_cannot_keep_them(tmp_path: Path) -> None:
    """docker-archive keeps no signatures: its conversion changes the digest (a note),
    and were the digest kept, the signatures would be refused as before."""
    from spyglass.core.copy_attachments import plan_attachments

    digest, folder, _keys = _signed_dir(tmp_path)
    archive = f"docker-archive:{tmp_path / 'a.tar'}:app:v1"
    plan = plan_copy(open_source(f"dir:{folder}"), open_destination(archive))
    assert plan.attachments == ()
    assert (f"2 signatures or referrers of {digest} are not carried along: the copy changes that "
            "manifest's digest, so they would not match it") in plan.notes
    with pytest.raises(Unsupported) as refused:
        plan_attachments(open_source(f"dir:{folder}"), open_destination(archive),
                         [Digest.parse(digest)], [])
    short = Digest.parse(digest).short
    assert (f"cannot keep the signatures of this image: cosign signature (signature-1 of "
            f"{short}), cosign signature (signature-2 of {short}). Copy without signatures "
            "to leave them behind.") in str(refused.value)


def test_a_signature_added_to_the_tag_while_copying_is_kept(tmp_path: Path) -> None:
    """The tag is looked at again just before it is written: a signature another signer
    added after the plan (a cosign sign during a sync) is kept, and ours added to it."""
    from spyglass.core.copy import execute

    digest, key = signed_layout(tmp_path / "src")
    target = tmp_path / "dst"
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
               open_destination(f"oci:{target}:app"), CopyOptions(remove_signatures=True))
    source = open_source(f"oci:{tmp_path / 'src'}:app")
    destination = open_destination(f"oci:{target}:app")
    plan = plan_copy(source, destination)  # the tag is not there yet: ours goes fresh
    _their, their_key = _their_signature(target, digest)  # meanwhile, another signer
    seen: list[CopyEvent] = []
    execute(plan, source, destination, events=seen.append)
    # progress adds up: every blob the plan counted ends (copied, skipped, or no longer
    # needed: the fresh tag's config), and none it did not count is reported
    planned = {t.source.digest for t in plan.blobs} | {b.digest for b in plan.attachment_blobs}
    ended = {e.digest for e in seen if isinstance(e, BlobDone | BlobSkipped)}
    started = {e.digest for e in seen if isinstance(e, BlobStarted)}
    assert ended == planned and started <= planned
    assert any(isinstance(e, BlobSkipped) and e.how == "unneeded" for e in seen)
    assert _verified(f"oci:{target}:app", digest, [their_key]) == [True, False]
    assert _verified(f"oci:{target}:app", digest, [key]) == [False, True]
