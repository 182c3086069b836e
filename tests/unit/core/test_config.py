"""Image configs (spyglass.core.config)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from spyglass.core.config import (
    HistoryEntry,
    command_line,
    labels_of,
    parse_config,
    schema1_config,
)
from spyglass.core.digest import Digest
from spyglass.core.errors import InvalidConfig
from spyglass.core.manifest import MAX_MANIFEST_SIZE, Schema1Manifest, parse_manifest
from tests.helpers.imagebuild import ImageSpec, LayerSpec, build_config, build_layer, dump_json


def diff_id(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


FULL: dict[str, Any] = {
    "created": "2024-01-02T03:04:05Z",
    "author": "Spyglass Tests <tests@example.com>",
    "architecture": "arm64",
    "variant": "v8",
    "os": "linux",
    "os.version": "6.1",
    "docker_version": "24.0.7",
    "config": {
        "User": "app:app",
        "ExposedPorts": {"8080/tcp": {}, "443/tcp": {}},
        "Env": ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"],
        "Entrypoint": ["/usr/bin/tini", "--"],
        "Cmd": ["/app/run.sh", "--port", "8080"],
        "Volumes": {"/data": {}, "/cache": {}},
        "WorkingDir": "/app",
        "Labels": {"org.opencontainers.image.title": "demo", "maintainer": "me"},
        "StopSignal": "SIGTERM",
    },
    "rootfs": {"type": "layers", "diff_ids": [diff_id("a"), diff_id("b")]},
    "history": [
        {"created": "2024-01-01T00:00:00Z", "created_by": "ADD base / ", "comment": "base"},
        {"created": "2024-01-01T00:00:01Z", "created_by": "ENV LANG=C.UTF-8",
         "empty_layer": True},
        {"created": "2024-01-02T03:04:05Z", "created_by": "COPY app /app",
         "author": "someone"},
    ],
}


def test_fields() -> None:
    raw = json.dumps(FULL).encode()
    config = parse_config(raw)
    assert config.raw == raw
    assert config.data == FULL
    assert config.created == "2024-01-02T03:04:05Z"
    assert config.author == "Spyglass Tests <tests@example.com>"
    assert (config.os, config.architecture, config.variant) == ("linux", "arm64", "v8")
    assert config.os_version == "6.1"
    assert config.docker_version == "24.0.7"
    assert config.user == "app:app"
    assert config.exposed_ports == ("443/tcp", "8080/tcp")
    assert config.env == ("PATH=/usr/bin:/bin", "LANG=C.UTF-8")
    assert config.entrypoint == ("/usr/bin/tini", "--")
    assert config.cmd == ("/app/run.sh", "--port", "8080")
    assert config.volumes == ("/cache", "/data")
    assert config.working_dir == "/app"
    assert config.labels == {"org.opencontainers.image.title": "demo", "maintainer": "me"}
    assert labels_of(config) == config.labels
    assert config.stop_signal == "SIGTERM"
    assert config.diff_ids == (Digest.parse(diff_id("a")), Digest.parse(diff_id("b")))
    assert len(config.history) == 3
    assert config.history[0] == HistoryEntry(
        created="2024-01-01T00:00:00Z", created_by="ADD base / ", author="", comment="base",
        empty_layer=False,
    )
    assert config.history[1].empty_layer
    assert config.history[2].author == "someone"


def test_minimal_config() -> None:
    config = parse_config(b'{"architecture":"amd64","os":"linux"}')
    assert config.created is None
    assert config.env == ()
    assert config.cmd is None and config.entrypoint is None
    assert config.labels == {}
    assert config.diff_ids == ()
    assert config.history == ()
    assert config.layer_history(2) == [None, None]
    assert labels_of(None) == {}


def test_string_cmd_and_null_fields() -> None:
    config = parse_config(
        dump_json({"config": {"Cmd": "echo hi", "Entrypoint": None, "Env": None, "Labels": None}})
    )
    assert config.cmd == ("echo hi",)
    assert config.entrypoint is None
    assert config.env == ()
    assert config.labels == {}


def test_history_alignment_skips_empty_layer_entries() -> None:
    config = parse_config(json.dumps(FULL).encode())
    steps = config.layer_history(2)
    assert [s.created_by if s else None for s in steps] == ["ADD base / ", "COPY app /app"]


def test_history_alignment_with_imagebuild_config() -> None:
    """A built image: three layers, an ENV step between the first two and a final CMD step."""
    spec = ImageSpec(
        layers=[
            LayerSpec({"/a": b"a"}, created_by="ADD a /"),
            LayerSpec({"/b": b"b"}, created_by="RUN make b"),
            LayerSpec({"/c": b"c"}, created_by="COPY c /"),
        ],
        empty_history_steps=[(1, "ENV X=1"), (4, 'CMD ["sh"]')],
    )
    diff_ids = [build_layer(layer)[1] for layer in spec.layers]
    config = parse_config(dump_json(build_config(spec, diff_ids)))
    assert [h.created_by for h in config.history] == [
        "ADD a /", "ENV X=1", "RUN make b", "COPY c /", 'CMD ["sh"]',
    ]
    assert [h.empty_layer for h in config.history] == [False, True, False, False, True]
    steps = config.layer_history(3)
    assert [s.created_by if s else None for s in steps] == ["ADD a /", "RUN make b", "COPY c /"]
    assert [str(d) for d in config.diff_ids] == diff_ids


def test_history_shorter_than_the_layers() -> None:
    config = parse_config(json.dumps(FULL).encode())
    steps = config.layer_history(4)
    assert steps[2] is None and steps[3] is None
    assert steps[0] is not None and steps[1] is not None


def test_history_ignores_non_objects() -> None:
    config = parse_config(dump_json({"history": ["nonsense", {"created_by": "RUN x"}]}))
    assert [h.created_by for h in config.history] == ["RUN x"]


@pytest.mark.parametrize("runtime", [{"config": {}}, {"config": None}, {}])
def test_the_build_container_is_not_the_runtime_config(runtime: dict[str, Any]) -> None:
    """``container_config`` is the container that ran the last build step, not the image's.

    Docker leaves ``config`` out (omitempty) when an image sets nothing to run;
    skopeo and docker inspect then show no Cmd or Env, not the build step's.
    """
    config = parse_config(
        dump_json(
            {
                **runtime,
                "container_config": {
                    "Cmd": ["/bin/sh", "-c", "#(nop) COPY file:abc in /"],
                    "Env": ["BUILD_ONLY=1"],
                    "Labels": {"build": "only"},
                },
            }
        )
    )
    assert config.cmd is None
    assert config.env == ()
    assert config.labels == {}


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{nope", "The image config is not valid JSON"),
        (b"\xff\xfe", "The image config is not valid JSON"),
        (b"[]", "The image config is not a JSON object"),
        (b"null", "The image config is not a JSON object"),
        (dump_json({"rootfs": {"diff_ids": ["sha256:xyz"]}}), "lists an invalid diff ID"),
        (dump_json({"rootfs": {"diff_ids": 5}}),
         "rootfs.diff_ids is not a list \\(it is 5\\); expected a list of digests"),
        (dump_json({"rootfs": {"diff_ids": "sha256:" + "a" * 64}}),
         "rootfs.diff_ids is not a list"),
    ],
)
def test_invalid(raw: bytes, fragment: str) -> None:
    with pytest.raises(InvalidConfig, match=fragment):
        parse_config(raw)


def test_too_large() -> None:
    raw = dump_json({"padding": "x" * MAX_MANIFEST_SIZE})
    with pytest.raises(InvalidConfig, match=f"is {len(raw)} bytes, more than the 4 MiB"):
        parse_config(raw)


def test_schema1_config() -> None:
    v1 = [  # top first, as schema 1 lists them
        {"id": "c" * 64, "parent": "b" * 64, "created": "2016-01-03T00:00:00Z",
         "os": "linux", "docker_version": "1.9.1", "author": "ops",
         "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"], "Labels": {"a": "b"}},
         "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) CMD [\"sh\"]"]},
         "throwaway": True},
        {"id": "b" * 64, "parent": "a" * 64, "created": "2016-01-02T00:00:00Z",
         "container_config": {"Cmd": ["/bin/sh", "-c", "echo hi > /hi"]}},
        {"id": "a" * 64, "created": "2016-01-01T00:00:00Z", "comment": "imported",
         "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) ADD file:x in /"]}},
    ]
    body = {
        "schemaVersion": 1,
        "name": "library/busybox",
        "tag": "1",
        "architecture": "amd64",
        "fsLayers": [{"blobSum": diff_id(str(i))} for i in range(3)],
        "history": [{"v1Compatibility": json.dumps(entry)} for entry in v1],
    }
    manifest = parse_manifest(dump_json(body))
    assert isinstance(manifest, Schema1Manifest)
    config = schema1_config(manifest)
    assert config.architecture == "amd64"
    assert config.os == "linux"
    assert config.created == "2016-01-03T00:00:00Z"
    assert config.docker_version == "1.9.1"
    assert config.cmd == ("sh",)
    assert config.env == ("PATH=/bin",)
    assert config.labels == {"a": "b"}
    assert "id" not in config.data and "parent" not in config.data
    assert "throwaway" not in config.data
    assert [h.created_by for h in config.history] == [
        "/bin/sh -c #(nop) ADD file:x in /",
        "/bin/sh -c echo hi > /hi",
        '/bin/sh -c #(nop) CMD ["sh"]',
    ]
    assert [h.empty_layer for h in config.history] == [False, False, True]
    assert config.history[0].comment == "imported"
    assert config.history[2].author == "ops"
    steps = config.layer_history(len(manifest.layers))
    assert [s.created_by if s else None for s in steps] == [
        "/bin/sh -c #(nop) ADD file:x in /",
        "/bin/sh -c echo hi > /hi",
    ]


def test_command_line() -> None:
    assert command_line(None) == ""
    assert command_line([]) == ""
    assert command_line(["/bin/sh", "-c", "echo hi"]) == '/bin/sh -c "echo hi"'
    assert command_line(["run", ""]) == 'run ""'


def test_schema1_container_config_that_is_no_object_gives_no_command() -> None:
    body = {
        "schemaVersion": 1, "name": "a/b", "tag": "1", "architecture": "amd64",
        "fsLayers": [{"blobSum": diff_id("0")}],
        "history": [{"v1Compatibility": json.dumps(
            {"id": "a" * 64, "container_config": "oops", "config": {"Cmd": ["sh"]}})}],
    }
    manifest = parse_manifest(dump_json(body))
    assert isinstance(manifest, Schema1Manifest)
    config = schema1_config(manifest)
    assert [h.created_by for h in config.history] == [""]
    assert config.cmd == ("sh",)
