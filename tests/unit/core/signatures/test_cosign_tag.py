"""cosign's signature manifest, built from signatures and added to, as containers/image
writes it: byte for byte what skopeo 1.9 wrote from the same ``dir:`` signature files
(recorded in data/skopeo_cosign_tags.json), existing layers first, nothing twice."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidConfig, InvalidManifest
from spyglass.core.signatures.cosign_tag import (
    SignatureManifest,
    check_signature_manifest,
    go_json,
    read_signature_manifest,
    same_signature,
    signature_layer,
    write_signature_manifest,
)
from spyglass.core.signatures.stored import split_stored_signature
from tests.helpers import cosign

RECORDED: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "skopeo_cosign_tags.json").read_text()
)
SIMPLESIGNING = cosign.SIMPLESIGNING_MEDIA_TYPE


def _recorded_signatures() -> list[Any]:
    out = []
    for text in RECORDED["files"]:
        stored = split_stored_signature(base64.b64decode(text))
        assert stored.mime_type is not None
        out.append(signature_layer(stored.data, stored.mime_type, stored.annotations))
    return out


def _existing(manifest: bytes, config: bytes) -> SignatureManifest:
    return read_signature_manifest(manifest, check_signature_manifest(manifest, None), config)


def test_a_fresh_tag_is_what_skopeo_writes() -> None:
    """Three signature files, the third a copy of the first: two layers, in file order,
    an annotation with <, > and & escaped as Go escapes them, the config skopeo writes."""
    written = write_signature_manifest(_recorded_signatures())
    assert written.manifest.decode() == RECORDED["fresh"]["manifest"]
    assert written.config.decode() == RECORDED["fresh"]["config"]
    assert (len(written.added), written.already, written.kept) == (2, 1, 0)
    assert written.descriptor.digest == Digest.of(written.manifest)
    assert written.config_descriptor.size == len(written.config)
    assert b"\\u003c" in written.manifest and b"<" not in written.manifest


def test_adding_to_cosigns_tag_is_what_skopeo_writes() -> None:
    """cosign's manifest there (size before digest, its config with history): its layer
    stays first, the new ones follow, both come out in containers/image's field order."""
    merge = RECORDED["merge"]
    existing = _existing(merge["existing_manifest"].encode(), merge["existing_config"].encode())
    written = write_signature_manifest(_recorded_signatures(), existing)
    assert written.manifest.decode() == merge["manifest"]
    assert written.config.decode() == merge["config"]
    assert (len(written.added), written.already, written.kept) == (2, 1, 1)
    layers = json.loads(written.manifest)["layers"]
    assert layers[0]["annotations"] == json.loads(merge["existing_manifest"])["layers"][0][
        "annotations"]  # theirs first


def _signature(text: str, **annotations: str) -> tuple[bytes, Any]:
    payload = text.encode()
    return payload, signature_layer(payload, SIMPLESIGNING, {
        "dev.cosignproject.cosign/signature": base64.b64encode(b"sig " + payload).decode(),
        **annotations})


def test_adding_nothing_new_gives_the_same_bytes_and_says_so() -> None:
    _, one = _signature("one")
    _, two = _signature("two")
    first = write_signature_manifest([one, two])
    existing = _existing(first.manifest, first.config)
    again = write_signature_manifest([two, one], existing)
    assert again.added == () and again.already == 2 and again.kept == 2
    assert (again.manifest, again.config) == (first.manifest, first.config)


def test_the_same_payload_with_other_annotations_is_another_signature() -> None:
    payload, plain = _signature("same")
    keyless = signature_layer(payload, SIMPLESIGNING, {
        **plain.annotations, "dev.sigstore.cosign/certificate": "PEM"})
    assert not same_signature(plain, keyless)
    assert same_signature(plain, signature_layer(payload, SIMPLESIGNING,
                                                 dict(reversed(plain.annotations.items()))))
    written = write_signature_manifest([plain, keyless])
    assert [layer.digest for layer in written.added] == [plain.digest, plain.digest]
    assert json.loads(written.config)["rootfs"]["diff_ids"] == [str(plain.digest)] * 2


def test_building_is_deterministic_and_in_the_order_given() -> None:
    signatures = [_signature(name)[1] for name in ("b", "a", "c")]
    one = write_signature_manifest(signatures)
    two = write_signature_manifest(list(signatures))
    assert one == two
    assert [layer.digest for layer in one.added] == [s.digest for s in signatures]
    assert json.loads(one.manifest)["layers"][0]["annotations"] == dict(
        signatures[0].annotations)


def test_fields_unknown_to_containers_image_are_kept_after_the_known_ones() -> None:
    _, theirs = _signature("theirs")
    manifest = go_json({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "annotations": {"z": "1", "a": "2"}, "x-extra": True,
        "config": {"size": 2, "digest": str(Digest.of(b"{}")),
                   "mediaType": "application/vnd.oci.image.config.v1+json"},
        "layers": [{"x-layer": 1, **theirs.to_json()}],
    })
    existing = _existing(manifest, b'{"rootfs":{"diff_ids":[]},"x-config":"kept"}')
    written = write_signature_manifest([_signature("ours")[1]], existing)
    document = json.loads(written.manifest)
    assert list(document) == ["schemaVersion", "mediaType", "config", "layers", "annotations",
                              "x-extra"]
    assert list(document["annotations"]) == ["a", "z"]  # as Go writes a map: sorted
    assert list(document["layers"][0]) == ["mediaType", "digest", "size", "annotations",
                                           "x-layer"]
    config = json.loads(written.config)
    assert list(config) == ["architecture", "os", "config", "rootfs", "x-config"]
    assert config["rootfs"] == {"type": "", "diff_ids": [str(_signature("ours")[1].digest)]}


@pytest.mark.parametrize(("manifest", "reason"), [
    ({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
      "manifests": []}, "It is not an OCI image manifest."),
    ({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 2,
                 "digest": str(Digest.of(b"{}"))},
      "layers": [{"mediaType": "application/vnd.dsse.envelope.v1+json", "size": 2,
                  "digest": str(Digest.of(b"{}"))}]},
     "It has a layer of type application/vnd.dsse.envelope.v1+json, not a cosign signature."),
])
def test_what_is_not_a_signature_manifest_is_not_added_to(
    manifest: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidManifest) as refused:
        check_signature_manifest(go_json(manifest), None)
    assert str(refused.value) == reason


@pytest.mark.parametrize("config", [b"not json", b"[]", b'{"rootfs":{"diff_ids":"x"}}',
                                    b'{"rootfs":[]}'])
def test_a_config_without_a_diff_id_list_is_not_added_to(config: bytes) -> None:
    first = write_signature_manifest([_signature("one")[1]])
    with pytest.raises(InvalidConfig):
        _existing(first.manifest, config)


def test_go_json_escapes_as_go_does() -> None:
    assert go_json({"k": "<a & b>\u2028é\ud800"}) == (
        '{"k":"\\u003ca \\u0026 b\\u003e\\u2028é\ufffd"}'.encode())
