"""The referrers graph a copy carries: level by level, each manifest once, four levels."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from spyglass.core.copy_attachments import AttachmentTask
from spyglass.core.copy_referrer_graph import MAX_DEPTH, walk_referrers
from spyglass.core.digest import Digest
from spyglass.core.manifest import Descriptor
from spyglass.core.signatures.discovery import Attachment
from spyglass.core.signatures.model import Kind

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(name: str) -> Digest:
    return Digest.parse("sha256:" + name.encode().hex().ljust(64, "0")[:64])


def _attachment(subject: str, name: str) -> Attachment:
    return Attachment(_digest(subject), "OCI referrer", Kind.SIGNATURE,
                      descriptor=Descriptor(MANIFEST, _digest(name), 10))


def _task(attachment: Attachment, depth: int = 0) -> AttachmentTask:
    return AttachmentTask(attachment, "manifest", b"{}", attachment.descriptor, depth=depth)


def _walk(edges: dict[str, list[str]]) -> tuple[list[tuple[str, int]], list[str]]:
    """Walks from ``image``'s attachments; what was added (name, depth) and the notes."""
    names = {_digest(name): name for targets in edges.values() for name in targets}
    names[_digest("image")] = "image"
    added: list[tuple[str, int]] = []
    asked: list[str] = []

    def add(attachment: Attachment, depth: int) -> AttachmentTask:
        assert attachment.descriptor is not None
        added.append((names[attachment.descriptor.digest], depth))
        return _task(attachment, depth)

    def look(digests: Sequence[Digest]) -> list[list[Attachment]]:
        asked.extend(names[digest] for digest in digests)
        return [[_attachment(names[d], child) for child in edges.get(names[d], [])]
                for d in digests]

    notes: list[str] = []
    first = [_task(_attachment("image", name)) for name in edges["image"]]
    walk_referrers(first, {_digest("image")}, add, look, notes)
    assert len(asked) == len(set(asked))  # each manifest asked about once
    return added, notes


def test_children_follow_their_parents_level_by_level() -> None:
    added, notes = _walk({"image": ["sbom", "scan"], "sbom": ["sig", "sig2"],
                          "sig": ["countersig"]})
    assert added == [("sig", 1), ("sig2", 1), ("countersig", 2)]
    assert notes == []


def test_a_cycle_through_tags_ends() -> None:
    added, notes = _walk({"image": ["a"], "a": ["b"], "b": ["a", "image"]})
    assert added == [("b", 1)]
    assert notes == []


def test_what_lies_deeper_than_the_cap_is_noted() -> None:
    chain = ["l0", "l1", "l2", "l3", "l4", "l5"]
    edges = {"image": ["l0"], **{a: [b] for a, b in pairwise(chain)}}
    added, notes = _walk(edges)
    assert added == [(name, depth) for depth, name in enumerate(chain[1:MAX_DEPTH], 1)]
    assert notes == [f"1 referrer more than {MAX_DEPTH} levels below the image (attached "
                     "to what is attached to it, and so on) is not copied"]
