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
