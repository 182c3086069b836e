"""Manifests, indexes and schema 1 (spyglass.core.manifest)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from spyglass.core import media
from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidManifest, PlatformNotFound
from spyglass.core.manifest import (
    MAX_MANIFEST_SIZE,
    Descriptor,
    ImageIndex,
    ImageManifest,
    Schema1Manifest,
    child_descriptors,
    guess_media_type,
    guess_media_type_of,
    manifest_digest,
    parse_manifest,
    schema1_payload,
)
from spyglass.core.platform import Platform


def sha(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


CONFIG: dict[str, Any] = {"mediaType": media.OCI_CONFIG, "digest": sha("config"), "size": 123}
LAYER: dict[str, Any] = {"mediaType": media.OCI_LAYER_GZIP, "digest": sha("layer"), "size": 4567}
DOCKER_CONFIG = {**CONFIG, "mediaType": media.DOCKER_CONFIG}
DOCKER_LAYER = {**LAYER, "mediaType": media.DOCKER_LAYER_GZIP}


def oci_manifest(**extra: Any) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": media.OCI_MANIFEST,
        "config": CONFIG,
        "layers": [LAYER],
        **extra,
    }


def entry(
    name: str, arch: str, variant: str | None = None, kind: str = media.OCI_MANIFEST
) -> dict[str, Any]:
    platform = {"architecture": arch, "os": "linux"}
    if variant:
        platform["variant"] = variant
    return {"mediaType": kind, "digest": sha(name), "size": 500, "platform": platform}


def oci_index(*entries: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": list(entries), **extra}


# --------------------------------------------------------------------------- each kind


def test_oci_manifest() -> None:
    raw = dumps(oci_manifest(annotations={"org.opencontainers.image.version": "1.2"}))
    m = parse_manifest(raw)
    assert isinstance(m, ImageManifest)
    assert m.media_type == media.OCI_MANIFEST
    assert m.digest == Digest.of(raw)
    assert m.raw == raw
    assert m.config == Descriptor(media.OCI_CONFIG, Digest.parse(CONFIG["digest"]), 123)
    assert [str(d.digest) for d in m.layers] == [LAYER["digest"]]
    assert m.layers[0].media_type == media.OCI_LAYER_GZIP
    assert m.layers[0].size == 4567
    assert m.annotations == {"org.opencontainers.image.version": "1.2"}
    assert not m.is_artifact
    assert m.subject is None
    assert m.total_size == len(raw) + 123 + 4567
    assert child_descriptors(m) == (m.config, *m.layers)


def test_oci_index() -> None:
    raw = dumps(oci_index(entry("a", "amd64"), entry("b", "arm64", "v8"), entry("c", "arm", "v7")))
    index = parse_manifest(raw)
    assert isinstance(index, ImageIndex)
    assert index.media_type == media.OCI_INDEX
    assert index.digest == Digest.of(raw)
    assert [str(d.platform) for d in index.manifests] == [
        "linux/amd64", "linux/arm64/v8", "linux/arm/v7",
    ]
    assert index.choose(Platform.parse("linux/arm64")).digest == Digest.parse(sha("b"))
    assert index.choose(Platform.parse("linux/arm/v8")).digest == Digest.parse(sha("c"))
    assert list(child_descriptors(index)) == list(index.manifests)


def test_index_choose_names_what_is_offered() -> None:
    raw = dumps(oci_index(entry("a", "amd64"), entry("c", "arm", "v7")))
    index = parse_manifest(raw)
    assert isinstance(index, ImageIndex)
    with pytest.raises(PlatformNotFound) as info:
        index.choose(Platform.parse("linux/s390x"))
    message = str(info.value)
    assert f"The manifest list {index.digest} has no image for linux/s390x" in message
    assert "it offers: linux/amd64, linux/arm/v7" in message
    # the command line says how to choose; the window has its Platforms tab
    assert "--platform" not in message
    assert info.value.on_command_line == f"{message} Choose one with --platform."


def test_index_choose_skips_entries_without_a_platform() -> None:
    attestation = {
        "mediaType": media.OCI_MANIFEST,
        "digest": sha("att"),
        "size": 10,
        "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
    }
    raw = dumps(oci_index(attestation, entry("a", "amd64")))
    index = parse_manifest(raw)
    assert isinstance(index, ImageIndex)
    assert index.choose(Platform.parse("linux/amd64")).digest == Digest.parse(sha("a"))


def test_nested_index() -> None:
    inner = {"mediaType": media.OCI_INDEX, "digest": sha("inner"), "size": 300}
    raw = dumps(oci_index(inner, entry("a", "amd64")))
    index = parse_manifest(raw)
    assert isinstance(index, ImageIndex)
    assert [d.media_type for d in index.manifests] == [media.OCI_INDEX, media.OCI_MANIFEST]
    assert media.is_index(index.manifests[0].media_type)
    assert index.manifests[0].platform is None


def test_docker_v2s2() -> None:
    raw = dumps(
        {
            "schemaVersion": 2,
            "mediaType": media.DOCKER_V2S2,
            "config": DOCKER_CONFIG,
            "layers": [DOCKER_LAYER, {**DOCKER_LAYER, "digest": sha("layer2"), "size": 1}],
        }
    )
    m = parse_manifest(raw)
    assert isinstance(m, ImageManifest)
    assert m.media_type == media.DOCKER_V2S2
    assert m.config.media_type == media.DOCKER_CONFIG
    assert len(m.layers) == 2
    assert not m.is_artifact


def test_docker_list() -> None:
    raw = dumps(
        {
            "schemaVersion": 2,
            "mediaType": media.DOCKER_LIST,
            "manifests": [
                entry("a", "amd64", kind=media.DOCKER_V2S2),
                entry("b", "arm", "v6", kind=media.DOCKER_V2S2),
            ],
        }
    )
    index = parse_manifest(raw)
    assert isinstance(index, ImageIndex)
    assert index.media_type == media.DOCKER_LIST
    assert index.choose(Platform.parse("linux/arm/v7")).digest == Digest.parse(sha("b"))


def test_oci_artifact_with_artifact_type_and_subject() -> None:
    subject = {"mediaType": media.OCI_MANIFEST, "digest": sha("subject"), "size": 999}
    raw = dumps(
        {
            "schemaVersion": 2,
            "mediaType": media.OCI_MANIFEST,
            "artifactType": "application/vnd.example.sbom.v1+json",
            "config": {"mediaType": media.OCI_EMPTY, "digest": sha("{}"), "size": 2},
            "layers": [
                {"mediaType": "application/spdx+json", "digest": sha("sbom"), "size": 42}
            ],
            "subject": subject,
            "annotations": {"org.opencontainers.image.created": "2024-01-02T03:04:05Z"},
        }
    )
    m = parse_manifest(raw)
    assert isinstance(m, ImageManifest)
    assert m.is_artifact
    assert m.artifact_type == "application/vnd.example.sbom.v1+json"
    assert m.subject is not None
    assert m.subject.digest == Digest.parse(sha("subject"))
    assert m.subject.size == 999
    assert m.config.media_type == media.OCI_EMPTY


def test_artifact_by_config_media_type_alone() -> None:
    raw = dumps(oci_manifest(config={**CONFIG, "mediaType": "application/vnd.cncf.helm.config"}))
    m = parse_manifest(raw)
    assert isinstance(m, ImageManifest)
    assert m.is_artifact
    assert m.artifact_type is None


def test_index_with_subject_and_artifact_type() -> None:
    subject = {"mediaType": media.OCI_MANIFEST, "digest": sha("subject"), "size": 1}
    raw = dumps(oci_index(entry("a", "amd64"), subject=subject, artifactType="x/y"))
    index = parse_manifest(raw)
    assert isinstance(index, ImageIndex)
    assert index.subject is not None and index.subject.digest == Digest.parse(sha("subject"))
    assert index.artifact_type == "x/y"


def test_descriptor_round_trip() -> None:
    data = {
        "mediaType": media.OCI_MANIFEST,
        "digest": sha("a"),
        "size": 5,
        "urls": ["https://example.com/a"],
        "annotations": {"k": "v"},
        "platform": {"architecture": "arm", "os": "linux", "variant": "v7"},
        "artifactType": "x/y",
    }
    descriptor = Descriptor.from_json(data)
    assert descriptor.to_json() == data
    assert descriptor.ref_name is None
    named = Descriptor.from_json(
        {**data, "annotations": {"org.opencontainers.image.ref.name": "1.0"}}
    )
    assert named.ref_name == "1.0"


def test_a_descriptors_other_fields_are_written_back_for_its_blob_only() -> None:
    """``data`` and fields Spyglass does not read come back as they were, ``data`` where
    containers/image writes it; naming another blob drops them (``data`` is the old
    bytes)."""
    data = {"mediaType": media.OCI_CONFIG, "digest": sha("a"), "size": 1,
            "annotations": {"k": "v"}, "data": base64.b64encode(b"a").decode(),
            "platform": {"architecture": "arm", "os": "linux"}, "x-vendor": {"k": [1]}}
    descriptor = Descriptor.from_json(data)
    assert json.dumps(descriptor.to_json()) == json.dumps(data)
    assert descriptor.with_blob(Digest.parse(sha("a")), 1) is descriptor
    other = descriptor.with_blob(Digest.parse(sha("bb")), 2)
    assert other.to_json() == {"mediaType": media.OCI_CONFIG, "digest": sha("bb"), "size": 2,
                               "annotations": {"k": "v"},
                               "platform": {"architecture": "arm", "os": "linux"}}


def test_served_media_type_is_used_when_the_manifest_has_none() -> None:
    body = oci_manifest()
    del body["mediaType"]
    body["config"] = DOCKER_CONFIG
    raw = dumps(body)
    m = parse_manifest(raw, media.DOCKER_V2S2)
    assert m.media_type == media.DOCKER_V2S2
    assert parse_manifest(raw, "application/octet-stream").media_type == media.DOCKER_V2S2


def test_declared_and_served_media_types_must_agree() -> None:
    raw = dumps(oci_manifest())
    with pytest.raises(InvalidManifest) as info:
        parse_manifest(raw, media.DOCKER_V2S2)
    assert f'declares mediaType "{media.OCI_MANIFEST}" but was served as "{media.DOCKER_V2S2}"' in (
        str(info.value)
    )


# --------------------------------------------------------------------------- schema 1

V1_LAYERS = [  # top first, as schema 1 lists them
    (sha("top"), {"id": "c" * 64, "parent": "b" * 64, "created": "2016-01-03T00:00:00Z",
                  "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) CMD [\"sh\"]"]},
                  "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
                  "architecture": "amd64", "os": "linux", "throwaway": True}),
    (sha("mid"), {"id": "b" * 64, "parent": "a" * 64, "created": "2016-01-02T00:00:00Z",
                  "container_config": {"Cmd": ["/bin/sh", "-c", "echo hi > /hi"]}}),
    (sha("base"), {"id": "a" * 64, "created": "2016-01-01T00:00:00Z",
                   "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) ADD file:x in /"]}}),
]


def schema1_body() -> dict[str, Any]:
    return {
        "schemaVersion": 1,
        "name": "library/busybox",
        "tag": "1.0",
        "architecture": "amd64",
        "fsLayers": [{"blobSum": digest} for digest, _ in V1_LAYERS],
        "history": [{"v1Compatibility": json.dumps(compat)} for _, compat in V1_LAYERS],
    }


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_schema1(payload: bytes) -> bytes:
    """Sign ``payload`` as libtrust's ``JSONSignature.PrettySignature`` does (ES256, real key).

    ``payload`` is the manifest as ``json.MarshalIndent(m, "", "   ")`` writes it.
    """
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    # libtrust NewJSONSignature: formatLength ends after the last non-space before the
    # closing brace; formatTail is the rest ("\n}").
    close = len(payload.rstrip()) - 1
    assert payload[close : close + 1] == b"}"
    format_length = len(payload[:close].rstrip())
    format_tail = payload[format_length:]
    protected = b64url(
        dumps({"formatLength": format_length, "formatTail": b64url(format_tail),
               "time": "2016-01-04T00:00:00Z"})
    )
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    der = key.sign(f"{protected}.{b64url(payload)}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    signature = {
        "header": {
            "jwk": {
                "crv": "P-256",
                "kid": "ABCD:EFGH:IJKL:MNOP:QRST:UVWX:YZ23:4567:ABCD:EFGH:IJKL:MNOP",
                "kty": "EC",
                "x": b64url(numbers.x.to_bytes(32, "big")),
                "y": b64url(numbers.y.to_bytes(32, "big")),
            },
            "alg": "ES256",
        },
        "signature": b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big")),
        "protected": protected,
    }
    indent = "   "
    signatures = json.dumps([signature], indent=indent).replace("\n", "\n" + indent)
    return (
        payload[:format_length]
        + b",\n" + f'{indent}"signatures": '.encode()
        + signatures.encode()
        + format_tail
    )


@pytest.fixture(scope="module")
def signed_schema1() -> tuple[bytes, bytes]:
    payload = json.dumps(schema1_body(), indent=3).encode()
    return payload, sign_schema1(payload)


def test_schema1_unsigned() -> None:
    raw = json.dumps(schema1_body(), indent=3).encode()
    m = parse_manifest(raw)
    assert isinstance(m, Schema1Manifest)
    assert m.media_type == media.DOCKER_V2S1
    assert m.digest == Digest.of(raw)
    assert (m.name, m.tag, m.architecture) == ("library/busybox", "1.0", "amd64")
    # base first, like schema 2
    assert [str(e.digest) for e in m.entries] == [sha("base"), sha("mid"), sha("top")]
    assert [e.empty for e in m.entries] == [False, False, True]
    assert [str(d.digest) for d in m.layers] == [sha("base"), sha("mid")]
    assert m.top_config["config"]["Cmd"] == ["sh"]
    assert list(child_descriptors(m)) == list(m.layers)


def test_schema1_signed_digest_is_of_the_payload(signed_schema1: tuple[bytes, bytes]) -> None:
    payload, signed = signed_schema1
    assert json.loads(signed)["signatures"][0]["header"]["alg"] == "ES256"
    assert guess_media_type(signed) == media.DOCKER_V2S1_SIGNED
    assert schema1_payload(signed) == payload
    m = parse_manifest(signed)
    assert isinstance(m, Schema1Manifest)
    assert m.media_type == media.DOCKER_V2S1_SIGNED
    assert m.raw == signed
    assert str(m.digest) == sha(payload)
    assert m.digest != Digest.of(signed)
    assert manifest_digest(signed) == Digest.of(payload)
    assert manifest_digest(signed, algorithm="sha512") == Digest.of(payload, "sha512")
    assert [str(e.digest) for e in m.entries] == [sha("base"), sha("mid"), sha("top")]


def appended_after_signatures(signed: bytes, **fields: Any) -> bytes:
    """``signed`` with ``fields`` written again after its signatures: its signed payload
    (and so its digest) unchanged, and JSON's last-key-wins reading the added ones."""
    protected = json.loads(base64.urlsafe_b64decode(
        json.loads(signed)["signatures"][0]["protected"] + "=="))
    cut = signed[:protected["formatLength"]]
    signatures = json.dumps(json.loads(signed)["signatures"])
    added = "".join(f",{json.dumps(key)}:{json.dumps(value)}" for key, value in fields.items())
    return cut + f',"signatures":{signatures}{added}}}'.encode()


def test_schema1_fields_after_the_signed_payload_are_not_read(
    signed_schema1: tuple[bytes, bytes],
) -> None:
    payload, signed = signed_schema1
    evil = appended_after_signatures(
        signed, name="evil/app", tag="evil", architecture="arm64",
        fsLayers=[{"blobSum": sha("evil")}],
        history=[{"v1Compatibility": json.dumps({"id": "e" * 64,
                                                 "config": {"Cmd": ["/bin/evil"]}})}])
    assert json.loads(evil)["fsLayers"] == [{"blobSum": sha("evil")}]  # what JSON reads
    m = parse_manifest(evil)
    assert isinstance(m, Schema1Manifest)
    assert str(m.digest) == sha(payload)  # the digest the signed image is pinned by
    # and the image that digest names: the signed fields, not those written after them
    assert [str(e.digest) for e in m.entries] == [sha("base"), sha("mid"), sha("top")]
    assert (m.name, m.tag, m.architecture) == ("library/busybox", "1.0", "amd64")
    assert m.top_config["config"]["Cmd"] == ["sh"]


def test_schema1_signed_digest_with_the_served_media_type(
    signed_schema1: tuple[bytes, bytes],
) -> None:
    payload, signed = signed_schema1
    m = parse_manifest(signed, media.DOCKER_V2S1_SIGNED)
    assert m.digest == Digest.of(payload)


def test_schema1_signed_payload_checks_the_signature_header(
    signed_schema1: tuple[bytes, bytes],
) -> None:
    _, signed = signed_schema1
    data = json.loads(signed)
    data["signatures"][0]["protected"] = "!!!not base64!!!"
    with pytest.raises(InvalidManifest, match="malformed signature header"):
        parse_manifest(json.dumps(data, indent=3).encode())
    data["signatures"][0]["protected"] = b64url(dumps({"formatLength": 10 ** 9,
                                                       "formatTail": "Cn0"}))
    with pytest.raises(InvalidManifest, match="formatLength is out of range"):
        parse_manifest(json.dumps(data, indent=3).encode())


def test_schema1_layer_count_must_match_history() -> None:
    body = schema1_body()
    body["history"].pop()
    with pytest.raises(InvalidManifest, match="has 3 fsLayers but 2 history entries"):
        parse_manifest(dumps(body))


def test_schema1_bad_blobsum() -> None:
    body = schema1_body()
    body["fsLayers"][0]["blobSum"] = "sha256:nothex"
    with pytest.raises(InvalidManifest, match="invalid blobSum"):
        parse_manifest(dumps(body))


# --------------------------------------------------------------------------- guess_media_type
# The cases of containers/image manifest.TestGuessMIMEType, as JSON written here.


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (oci_manifest(), media.OCI_MANIFEST),
        ({k: v for k, v in oci_manifest().items() if k != "mediaType"}, media.OCI_MANIFEST),
        (oci_index(entry("a", "amd64")), media.OCI_INDEX),
        ({"schemaVersion": 2, "manifests": [entry("a", "amd64")]}, media.OCI_INDEX),
        ({"schemaVersion": 2, "mediaType": media.DOCKER_V2S2, "config": DOCKER_CONFIG,
          "layers": []}, media.DOCKER_V2S2),
        ({"schemaVersion": 2, "config": DOCKER_CONFIG, "layers": []}, media.DOCKER_V2S2),
        ({"schemaVersion": 2, "mediaType": media.DOCKER_LIST, "manifests": []},
         media.DOCKER_LIST),
        (schema1_body(), media.DOCKER_V2S1),
        ({**schema1_body(), "signatures": []}, media.DOCKER_V2S1_SIGNED),
        ({**schema1_body(), "signatures": None}, media.DOCKER_V2S1),
        # an OCI artifact: an unknown config type and no index entries
        ({"schemaVersion": 2, "config": {**CONFIG, "mediaType": "application/x-custom"},
          "layers": []}, media.OCI_MANIFEST),
        ({"schemaVersion": 2, "manifests": []}, media.OCI_MANIFEST),
        ({"schemaVersion": 2}, media.OCI_MANIFEST),
        # unknown declared type: guessed from the shape instead
        ({"schemaVersion": 2, "mediaType": "application/x-unknown", "config": CONFIG},
         media.OCI_MANIFEST),
        ({"schemaVersion": 3, "config": CONFIG}, None),
        ({"config": CONFIG}, None),
        ({}, None),
    ],
)
def test_guess_media_type(body: dict[str, Any], expected: str | None) -> None:
    assert guess_media_type(dumps(body)) == expected


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"string"', b"\xff\xfe", b"null"])
def test_guess_media_type_of_non_manifests(raw: bytes) -> None:
    assert guess_media_type(raw) is None


# --------------------------------------------------------------------------- bad inputs


def assert_refused(raw: bytes, *fragments: str, media_type: str | None = None) -> str:
    with pytest.raises(InvalidManifest) as info:
        parse_manifest(raw, media_type)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    assert message[0].isupper() and message.endswith("."), message
    return message


def test_not_json() -> None:
    assert_refused(b"{not json", "The manifest is not valid JSON")
    assert_refused(b"\xff\xfe\x00", "The manifest is not valid JSON")


def test_not_an_object() -> None:
    assert_refused(b"[]", "The manifest is not a JSON object")
    assert_refused(b"42", "The manifest is not a JSON object")


def test_schema_version_3() -> None:
    assert_refused(dumps(oci_manifest(schemaVersion=3)), "schemaVersion 3", "expected 2")
    body = oci_manifest(schemaVersion=3)
    del body["mediaType"]
    assert_refused(dumps(body), "not a manifest of a known kind")


def test_unknown_declared_type_without_shape() -> None:
    assert_refused(
        dumps({"mediaType": "text/plain"}), 'its mediaType is "text/plain"',
        "expected an OCI or Docker manifest or index",
    )


def test_missing_config() -> None:
    body = oci_manifest()
    del body["config"]
    assert_refused(dumps(body), 'has no "config" descriptor')


def test_index_without_manifests() -> None:
    assert_refused(
        dumps({"schemaVersion": 2, "mediaType": media.OCI_INDEX}), 'has no "manifests" list'
    )


def test_bad_digest_in_a_descriptor() -> None:
    message = assert_refused(
        dumps(oci_manifest(layers=[LAYER, {**LAYER, "digest": "sha256:ABC"}])),
        "Layer 2 has an invalid digest",
    )
    assert "sha256:ABC" in message
    assert_refused(
        dumps(oci_manifest(config={**CONFIG, "digest": "md5:" + "0" * 32})),
        "The config descriptor has an invalid digest",
    )


def test_descriptor_without_digest() -> None:
    layer = {k: v for k, v in LAYER.items() if k != "digest"}
    assert_refused(dumps(oci_manifest(layers=[layer])), "Layer 1 has no digest")


@pytest.mark.parametrize("size", [-1, "12", 1.5, None, True])
def test_bad_size(size: object) -> None:
    assert_refused(
        dumps(oci_manifest(layers=[{**LAYER, "size": size}])),
        f"Layer 1 ({LAYER['digest']}) has no valid size",
        "non-negative integer",
    )


def test_bad_annotations() -> None:
    assert_refused(
        dumps(oci_manifest(layers=[{**LAYER, "annotations": {"a": 1}}])),
        "has annotations that are not strings",
    )
    assert_refused(dumps(oci_manifest(annotations=["x"])), "annotations are not a JSON object")


@pytest.mark.parametrize("body", [oci_manifest(annotations={"ok": "1", "n": 5, "b": True}),
                                  oci_index(annotations={"n": 5})])
def test_manifest_annotations_that_are_not_strings_are_refused(body: dict[str, Any]) -> None:
    """As a descriptor's are, and as skopeo and registries refuse them: they were taken
    as Python's ``str()`` of them (``True``)."""
    assert_refused(dumps(body), 'The manifest has annotations that are not strings ("n" is 5;')


def test_layers_not_a_list() -> None:
    assert_refused(dumps(oci_manifest(layers={"a": LAYER})), '"layers" is not a list')


def test_descriptor_not_an_object() -> None:
    not_a_descriptor: Any = "sha256:abc"
    assert_refused(dumps(oci_index(not_a_descriptor)), "Manifest entry 1 is not a JSON object")


def test_too_large() -> None:
    body = oci_manifest(annotations={"padding": "x" * MAX_MANIFEST_SIZE})
    raw = dumps(body)
    assert len(raw) > MAX_MANIFEST_SIZE
    assert_refused(raw, f"The manifest is {len(raw)} bytes", "more than the 4 MiB")


def test_just_under_the_limit_is_accepted() -> None:
    raw = dumps(oci_manifest(annotations={"padding": ""}))
    padding = MAX_MANIFEST_SIZE - len(raw)
    raw = dumps(oci_manifest(annotations={"padding": "x" * padding}))
    assert len(raw) == MAX_MANIFEST_SIZE
    assert isinstance(parse_manifest(raw), ImageManifest)


@pytest.mark.parametrize("kind", ["manifest", "index", "schema1"])
def test_a_manifest_is_decoded_once(kind: str, decoded: list[bytes]) -> None:
    """It was decoded twice (parsed, then its kind guessed), a schema 1 one four times."""
    if kind == "manifest":
        raw = dumps({"schemaVersion": 2, "mediaType": media.OCI_MANIFEST, "config": CONFIG,
                     "layers": []})
    elif kind == "index":
        raw = dumps({"schemaVersion": 2, "mediaType": media.OCI_INDEX, "manifests": [CONFIG]})
    else:
        raw = json.dumps(schema1_body(), indent=3).encode()
    parsed = parse_manifest(raw)
    assert decoded.count(raw) == 1
    assert parsed.raw == raw
    assert parsed.digest == Digest.of(raw)


def test_a_signed_schema1_manifest_decodes_it_and_its_payload_once(
        signed_schema1: tuple[bytes, bytes], decoded: list[bytes]) -> None:
    payload, signed = signed_schema1
    parsed = parse_manifest(signed)
    assert (decoded.count(signed), decoded.count(payload)) == (1, 1)
    assert parsed.raw == signed
    assert parsed.digest == Digest.of(payload) == manifest_digest(signed)


def test_a_manifest_decoded_already_is_not_decoded_again(
        signed_schema1: tuple[bytes, bytes], decoded: list[bytes]) -> None:
    """A caller that has decoded the bytes (a layout's index.json) passes what they
    decode to; the digest is still that of the bytes, as they are."""
    raw = json.dumps({"schemaVersion": 2, "manifests": [CONFIG]}, indent=1).encode()
    data = json.loads(raw)
    parsed = parse_manifest(raw, media.OCI_INDEX, data=data)
    assert isinstance(parsed, ImageIndex)
    assert parsed.raw == raw
    assert parsed.digest == Digest.of(raw)
    assert [str(d.digest) for d in parsed.manifests] == [CONFIG["digest"]]
    assert guess_media_type_of(data) == guess_media_type(raw) == media.OCI_INDEX
    _, signed = signed_schema1
    signed_data = json.loads(signed)
    decoded.clear()
    digest = parse_manifest(signed, data=signed_data).digest
    assert signed not in decoded
    assert digest == manifest_digest(signed)
    with pytest.raises(InvalidManifest, match="not a JSON object"):
        parse_manifest(b"[]", data=[])
