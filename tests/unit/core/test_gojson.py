"""Image JSON read as Go reads it (spyglass.core.gojson)."""

from __future__ import annotations

import json

import pytest

from spyglass.core import gojson
from spyglass.core.config import parse_config
from spyglass.core.errors import InvalidConfig, InvalidManifest
from spyglass.core.manifest import parse_manifest


def test_bytes_that_are_no_utf8_and_lone_surrogates_are_u_fffd() -> None:
    assert gojson.loads(b'{"k":"caf\xe9","\\udc80":["\\ud800", "\\ud83d\\ude00"]}') == {
        "k": "caf\ufffd", "\ufffd": ["\ufffd", "\U0001f600"]}
    assert gojson.loads('"plain"') == "plain"


def test_nesting_too_deep_is_not_json() -> None:
    with pytest.raises(json.JSONDecodeError, match="nested too deeply"):
        gojson.loads(b"[" * 100_000 + b"]" * 100_000)


def test_configs_and_manifests_are_read_so() -> None:
    config = parse_config(b'{"config":{"Labels":{"k":"\\udfff"},"Env":["A=\xff"]}}')
    assert config.labels == {"k": "\ufffd"} and config.env == ("A=\ufffd",)
    with pytest.raises(InvalidConfig, match="not valid JSON: nested too deeply"):
        parse_config(b"[" * 100_000 + b"]" * 100_000)
    manifest = parse_manifest(
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        b'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,'
        b'"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},'
        b'"layers":[],"annotations":{"note":"\\ud800"}}')
    assert manifest.annotations == {"note": "\ufffd"}
    with pytest.raises(InvalidManifest, match="not valid JSON"):
        parse_manifest(b"{", "application/vnd.oci.image.manifest.v1+json")


def test_each_byte_that_is_no_utf8_is_one_u_fffd_as_go_has_it() -> None:
    # a cut-off sequence of 3 bytes is 3 replacement characters in Go, 1 in Python's
    # "replace": a rewritten document's bytes (and digest) would differ from skopeo's
    assert gojson.loads(b'"\xe2\x82Z\xf0\x9f\x98"') == "\ufffd" * 2 + "Z" + "\ufffd" * 3


def test_a_surrogate_deep_inside_is_not_an_internal_error() -> None:
    deep = b"[" * 600 + b'"\\ud800"' + b"]" * 600
    try:
        value = gojson.loads(deep)
    except json.JSONDecodeError as exc:
        assert "nested too deeply" in str(exc)
    else:
        for _ in range(600):
            value = value[0]
        assert value == "\ufffd"


def test_a_layout_whose_index_json_holds_a_lone_surrogate_takes_a_copy(
        tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    from spyglass.cli import main
    from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

    root = Path(str(tmp_path))
    builder = LayoutBuilder(root / "src")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})])), "v1")
    target = LayoutBuilder(root / "dst")
    target.tag(target.add_image(ImageSpec(layers=[LayerSpec({"/b": b"b"})])), "old")
    index = root / "dst" / "index.json"
    index.write_bytes(index.read_bytes().replace(
        b'"org.opencontainers.image.ref.name"', b'"note": "\\ud800", '
        b'"org.opencontainers.image.ref.name"'))
    assert main(["copy", "-q", f"oci:{root / 'src'}:v1", f"oci:{root / 'dst'}:new"]) == 0
    entries = json.loads(index.read_bytes())["manifests"]
    assert [e["annotations"].get("note") for e in entries] == ["\ufffd", None]


@pytest.mark.parametrize("text", ["[" * 5000, '{"x":' + "1" * 5000 + "}"])
def test_too_deep_or_too_many_digits_is_not_json(text: str) -> None:
    """Python raises RecursionError and ValueError for these; read as JSON from outside,
    they are what is not JSON, said in words."""
    with pytest.raises(json.JSONDecodeError, match=r"nested too deeply|more than 4,300 digits"):
        gojson.loads(text.encode())
    with pytest.raises(InvalidManifest, match="not valid JSON"):
        parse_manifest(text.encode())


def test_a_hooks_own_value_error_is_left_alone() -> None:
    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not allowed")

    with pytest.raises(ValueError, match="NaN is not allowed") as info:
        gojson.loads(b"[NaN]", parse_constant=refuse)
    assert not isinstance(info.value, json.JSONDecodeError)


def test_json_cut_off_anywhere_is_cut_short_and_json_wrong_before_its_end_is_not() -> None:
    """What a layout's index.json read while skopeo writes it in place looks like (its
    start), told from JSON that is wrong (see OCILayoutReader's index)."""
    whole = gojson.dumps({
        "schemaVersion": 2, "manifests": [{
            "digest": "sha256:" + "a" * 64, "size": -1234, "f": 0.0015, "g": -1e20,
            "annotations": {"org.opencontainers.image.ref.name": 'v1 <&> \\ "q" é ☃',
                            "t": True, "f": False, "n": None}}]}).encode()
    for end in range(len(whole)):
        with pytest.raises(json.JSONDecodeError) as caught:
            gojson.loads(whole[:end])
        assert gojson.cut_short(caught.value), whole[:end]
    for wrong in (b"{x", b'{"a":1 "b":2}', b'{"a":tru}', b'{"a":[1,,2]}', b'{"a":1}}',
                  b'{"a":"\\u00zz"}', b'{"a":-}', b"\xff\xfe{}"):
        with pytest.raises(json.JSONDecodeError) as caught:
            gojson.loads(wrong)
        assert not gojson.cut_short(caught.value), wrong
