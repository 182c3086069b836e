"""Copies carry what is attached to the images they write: planned up front, refused
up front where the destination cannot keep a signature, noted where left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spyglass.core.copy import CopyOptions, copy_image, plan_copy
from spyglass.core.digest import Digest
from spyglass.core.errors import Unsupported
from spyglass.core.signatures import Kind
from spyglass.core.signatures.attached import find_attachments
from spyglass.core.transports import open_destination, open_source
from spyglass.core.units import human_size
from tests.helpers import cosign
from tests.helpers.cosign import signed_layout
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

REF_NAME = "org.opencontainers.image.ref.name"


def test_layout_to_layout_keeps_the_tag_and_the_referrer(tmp_path: Path) -> None:
    digest, _key = signed_layout(tmp_path / "src")
    plan_source = open_source(f"oci:{tmp_path / 'src'}:app")
    destination = open_destination(f"oci:{tmp_path / 'dst'}:copied")
    plan = plan_copy(plan_source, destination)
    assert {t.attachment.kind for t in plan.attachments} == {Kind.COSIGN_SIGNATURE, Kind.SBOM}
    assert any("attached: " in line for line in plan.describe())
    # the attached manifests' blobs are read too: counted, so progress never passes 100 %
    attached = plan.attachment_blobs
    assert attached and not {b.digest for b in attached} & {t.source.digest
                                                            for t in plan.blobs}
    assert plan.total_bytes == (sum(t.source.size for t in plan.blobs)
                                + sum(b.size for b in attached))
    assert (f"  total: {len(plan.blobs) + len(attached)} blobs ({len(attached)} attached), "
            f"{human_size(plan.total_bytes)} to move") in plan.describe()
    # each listed, with what it is part of
    assert sum(line.startswith(("    part of SBOM ", "    part of cosign signature "))
               for line in plan.describe()) == len(attached)
    destination.abort()
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
               open_destination(f"oci:{tmp_path / 'dst'}:copied"))
    index = json.loads((tmp_path / "dst" / "index.json").read_text())
    names = sorted((m.get("annotations") or {}).get(REF_NAME, "") for m in index["manifests"])
    assert names == sorted(["", "copied", cosign.cosign_tag(digest, "sig")])
    found = find_attachments(open_source(f"oci:{tmp_path / 'dst'}:copied"),
                             Digest.parse(digest))
    assert sorted(a.kind for a in found) == sorted([Kind.COSIGN_SIGNATURE, Kind.SBOM])


def test_a_cosign_save_layout_is_copied_as_its_image_with_its_signatures(
    tmp_path: Path,
) -> None:
    """oci:PATH of what cosign save wrote is the image saved; its signature and attestation
    go along under the tags they came from (as cosign load pushes them back), named
    there, not annotated as cosign save annotates them."""
    saved = cosign.cosign_saved_layout(tmp_path / "saved")
    copy_image(open_source(f"oci:{saved.root}"),
               open_destination(f"oci:{tmp_path / 'dst'}:copied"))
    index = json.loads((tmp_path / "dst" / "index.json").read_text())
    entries = {m["annotations"][REF_NAME]: m for m in index["manifests"]}
    sig_tag, att_tag = (cosign.cosign_tag(saved.image, s) for s in ("sig", "att"))
    assert sorted(entries) == sorted(["copied", sig_tag, att_tag])
    assert entries["copied"]["digest"] == saved.image
    assert (entries[sig_tag]["digest"], entries[att_tag]["digest"]) == (saved.sig, saved.att)
    assert all(set(m["annotations"]) == {REF_NAME} for m in index["manifests"])
    copied = open_source(f"oci:{tmp_path / 'dst'}:copied")
    found = find_attachments(copied, Digest.parse(saved.image))
    assert [(a.found, a.kind) for a in found] == [(f"tag {sig_tag}", Kind.COSIGN_SIGNATURE),
                                                  (f"tag {att_tag}", Kind.ATTESTATION)]
    from spyglass.core.signatures.attached import read_attachment, verify_part

    part = read_attachment(copied, found[0]).parts[0]
    assert verify_part(part, Digest.parse(saved.image),
                       key=cosign.public_key_pem(saved.key)).ok
    # --remove-signatures leaves them, as from any source
    copy_image(open_source(f"oci:{saved.root}"), open_destination(f"oci:{tmp_path / 'bare'}"),
               CopyOptions(remove_signatures=True))
    index = json.loads((tmp_path / "bare" / "index.json").read_text())
    assert [m["digest"] for m in index["manifests"]] == [saved.image]


def test_remove_signatures_leaves_them(tmp_path: Path) -> None:
    signed_layout(tmp_path / "src")
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
               open_destination(f"oci:{tmp_path / 'dst'}:copied"),
               CopyOptions(remove_signatures=True))
    index = json.loads((tmp_path / "dst" / "index.json").read_text())
    assert [m["annotations"][REF_NAME] for m in index["manifests"]] == ["copied"]


def test_dir_gets_the_cosign_signature_as_a_file_and_notes_the_sbom(tmp_path: Path) -> None:
    digest, key = signed_layout(tmp_path / "src")
    plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:app"),
                     open_destination(f"dir:{tmp_path / 'plan'}"))
    assert any("SBOM left behind" in note for note in plan.notes)
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
               open_destination(f"dir:{tmp_path / 'dir'}"))
    stored = (tmp_path / "dir" / "signature-1").read_bytes()
    assert stored.startswith(b"\0sigstore-json\n")
    assert not (tmp_path / "dir" / "signature-2").exists()
    from spyglass.core.signatures.attached import read_attachment, verify_part

    source = open_source(f"dir:{tmp_path / 'dir'}")
    (attachment,) = find_attachments(source, Digest.parse(digest))
    assert attachment.kind is Kind.COSIGN_SIGNATURE  # sigstore-json: cosign's, not simple
    part = read_attachment(source, attachment).parts[0]
    assert verify_part(part, Digest.parse(digest), key=key).ok


def test_a_signature_the_destination_cannot_keep_is_refused_before_anything_moves(
    tmp_path: Path,
) -> None:
    signed_layout(tmp_path / "src", notation=True)
    target = tmp_path / "dir"
    with pytest.raises(Unsupported, match="Copy without signatures") as refused:
        copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
                   open_destination(f"dir:{target}"))
    assert "Notary v2 signature" in str(refused.value)
    assert "--remove-signatures" in str(refused.value.on_command_line)
    assert not target.exists() or not any(target.iterdir())
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"), open_destination(f"dir:{target}"),
               CopyOptions(remove_signatures=True))
    assert (target / "manifest.json").exists() and not (target / "signature-1").exists()


def test_a_conversion_notes_the_signatures_it_cannot_carry(tmp_path: Path) -> None:
    digest, _key = signed_layout(tmp_path / "src")
    plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:app"),
                     open_destination(f"oci:{tmp_path / 'dst'}:z"),
                     CopyOptions(compression="zstd"))
    assert plan.attachments == ()
    assert any("not carried along" in note and digest in note for note in plan.notes)


def _attach_index(root: Path, digest: str, artifact_type: str) -> None:
    """An OCI index attached to ``digest`` as a referrer (subject), in the layout."""
    from tests.helpers.imagebuild import LayoutBuilder, dump_json

    builder = LayoutBuilder(root)
    referrer = dump_json({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "artifactType": artifact_type, "manifests": [],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": digest, "size": 1},
    })
    written = builder.add_blob(referrer)
    builder.tag({"mediaType": "application/vnd.oci.image.index.v1+json", **written,
                 "artifactType": artifact_type}, None)


@pytest.mark.parametrize("artifact_type", ["application/vnd.example.sbom.bundle",
                                           "application/vnd.dev.cosign.artifact.sig.v1+json"])
def test_an_index_attached_as_a_referrer_is_noted_not_blamed_on_the_destination(
    tmp_path: Path, artifact_type: str
) -> None:
    """Spyglass does not carry an attached index: the note says so, and never that the
    destination cannot keep it, nor refuses the copy for it (it could keep it)."""
    digest, _key = signed_layout(tmp_path / "src")
    _attach_index(tmp_path / "src", digest, artifact_type)
    destination = open_destination(f"oci:{tmp_path / 'dst'}:copied")
    plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:app"), destination)
    destination.abort()
    notes = [note for note in plan.notes if "index (a list) attached as a referrer" in note]
    assert len(notes) == 1 and "cannot keep" not in notes[0], plan.notes
    assert notes[0].endswith("not copied: it is an index (a list) attached as a referrer, "
                             "which Spyglass does not copy yet")
    assert {t.attachment.kind for t in plan.attachments} == {Kind.COSIGN_SIGNATURE, Kind.SBOM}


def test_notes_count_in_words(tmp_path: Path) -> None:
    digest, _key = signed_layout(tmp_path / "src")
    plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:app"),
                     open_destination(f"dir:{tmp_path / 'plan'}"))
    assert f"1 SBOM left behind: dir:{tmp_path / 'plan'} cannot keep it" in plan.notes
    plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:app"),
                     open_destination(f"oci:{tmp_path / 'dst'}:z"),
                     CopyOptions(compression="zstd"))
    assert (f"2 signatures or referrers of {digest} are not carried along: the copy changes that "
            "manifest's digest, so they would not match it") in plan.notes


@pytest.mark.parametrize("transport", ["oci", "oci-archive"])
def test_what_an_unnamed_layout_image_leaves_behind_is_said_in_one_plain_sentence(
        tmp_path: Path, transport: str) -> None:
    """The note named the destination twice, in a parenthesis holding another, with what
    to do last."""
    builder = LayoutBuilder(tmp_path / "src")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"})]))
    builder.tag({k: v for k, v in image.items() if k != "platform"}, "app")
    builder.tag(builder.add_referrer(image, "application/spdx+json"), None)
    path = tmp_path / ("out.tar" if transport == "oci-archive" else "out")
    destination = open_destination(f"{transport}:{path}")
    plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:app"), destination)
    destination.abort()
    assert [note for note in plan.notes if "left behind" in note] == [
        f"1 SBOM left behind: an image written without a name keeps nothing attached to it; "
        f"name it, as {transport}:{path}:NAME, to keep what is attached"]


def test_a_list_of_which_one_image_is_copied_says_so_of_its_attachments(
    tmp_path: Path,
) -> None:
    from typing import Any

    from spyglass.core.copy_attachments import plan_attachments

    signed_layout(tmp_path / "src")
    listed = Digest.of(b"the list")
    found: dict[Digest, list[Any]] = {listed: ["a signature", "an SBOM"]}
    _tasks, notes = plan_attachments(
        open_source(f"oci:{tmp_path / 'src'}:app"),
        open_destination(f"oci:{tmp_path / 'dst'}:x"), [], [], [listed],
        find=lambda digest: found.get(digest, []))
    assert notes == (f"2 signatures or referrers of {listed} are not carried along: that list is "
                     "not copied, only one of its images",)


def test_a_cosign_tag_the_destination_has_for_something_else_is_kept(
    tmp_path: Path,
) -> None:
    """cosign keeps all signatures of an image under one sha256-<hex>.sig: one already at
    the destination that is not a signature manifest Spyglass can add to (here: one whose
    manifest is not even there) is not replaced by the source's; the note says what was
    not copied. Copying the same one again is no conflict."""
    digest, _key = signed_layout(tmp_path / "src")
    tag = cosign.cosign_tag(digest, "sig")
    copy_image(open_source(f"oci:{tmp_path / 'src'}:app"),
               open_destination(f"oci:{tmp_path / 'dst'}:copied"))
    again = plan_copy(open_source(f"oci:{tmp_path / 'src'}:app"),
                      open_destination(f"oci:{tmp_path / 'dst'}:copied"))
    assert not any("already has other content" in note for note in again.notes)
    assert Kind.COSIGN_SIGNATURE in {t.attachment.kind for t in again.attachments}
    # the destination's .sig now names something it cannot read
    index_file = tmp_path / "dst" / "index.json"
    index = json.loads(index_file.read_text())
    theirs = "sha256:" + "e" * 64
    for entry in index["manifests"]:
        if (entry.get("annotations") or {}).get(REF_NAME) == tag:
            entry["digest"] = theirs
    index_file.write_text(json.dumps(index))
    destination = open_destination(f"oci:{tmp_path / 'dst'}:copied")
    plan = plan_copy(open_source(f"oci:{tmp_path / 'src'}:app"), destination)
    destination.abort()
    (note,) = [note for note in plan.notes if "already has other content" in note]
    assert note.startswith(
        f"oci:{tmp_path / 'dst'}:copied already has other content under {tag} "
        f"({Digest.parse(theirs).short}); it is kept, and the source's cosign signature "
        "is not copied, since Spyglass adds signatures only to a cosign signature manifest. "
        f"The blob {theirs} is missing from "), note
    assert Kind.COSIGN_SIGNATURE not in {t.attachment.kind for t in plan.attachments}
    assert Kind.SBOM in {t.attachment.kind for t in plan.attachments}  # a referrer: added
