"""``spyglass inspect``: describe an image as skopeo inspect does."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from spyglass.cli.common import (
    Commands,
    add_registry_options,
    argv_text,
    note,
    one_platform_argument,
    registry_options,
    resolve_name,
    write_bytes,
    write_json,
)
from spyglass.core.errors import SpyglassError
from spyglass.core.text import as_given

if TYPE_CHECKING:
    from spyglass.core.image import LoadedImage
    from spyglass.core.manifest import Descriptor, Schema1Manifest
    from spyglass.core.platform import Platform


def add_parser(commands: Commands) -> None:
    parser = commands.add_parser(
        "inspect",
        help="describe an image as JSON",
        description="Describe an image (fields as skopeo inspect prints them). "
        "NAME is TRANSPORT:REFERENCE — docker://HOST/REPO[:TAG|@DIGEST], "
        "oci:PATH[:REF|:@N], dir:PATH, docker-archive:PATH[:NAME:TAG|:@N], "
        "oci-archive:PATH[:REF|:@N] — or a path to a layout or archive.",
    )
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("--raw", action="store_true", help="print the manifest's exact bytes")
    parser.add_argument("--config", action="store_true", help="print the image config")
    parser.add_argument(
        "--platform", metavar="OS/ARCH[/VARIANT]", type=one_platform_argument,
        action="append", default=[],  # (given twice: a usage error, not the last taken)
        help="the instance of a list to describe"
    )
    parser.add_argument(
        "--no-tags", "-n", action="store_true",
        help="do not list the repository's tags (registries only)",
    )
    parser.add_argument(
        "--format", "-f", metavar="TEMPLATE", type=argv_text,
        help="print the description through a Go template, as skopeo does "
        "(e.g. '{{.Digest}}', '{{json .Labels}}', '{{range .RepoTags}}{{.}} {{end}}')",
    )
    add_registry_options(parser, image=True, uses={"tmpdir", "override"})
    parser.set_defaults(func=run, validate=(parser, _validate))


def _validate(args: argparse.Namespace) -> str | None:
    """inspect describes one image: --platform given more than once is a usage error."""
    if len(args.platform) < 2:
        return None
    return (f"argument --platform: inspect describes one image, and {len(args.platform)} "
            f"platforms were given ({', '.join(args.platform)}); give --platform once")


def run(args: argparse.Namespace) -> int:
    from spyglass.core.errors import InvalidConfig
    from spyglass.core.image import (
        chosen_manifest,
        load_image,
        load_manifest,
        read_config_blob,
    )
    from spyglass.core.inspect import inspect_output
    from spyglass.core.manifest import ImageManifest, Schema1Manifest
    from spyglass.core.platform import Platform
    from spyglass.core.reference import DockerName
    from spyglass.core.transports import open_source

    name = resolve_name(args.name)
    if args.format is not None and args.raw:
        raise SpyglassError(
            "--format describes the image (or with --config its config), not --raw "
            "output: leave one of them out.")
    platform = Platform.parse(args.platform[0], as_written=True) if args.platform else None
    options = (
        registry_options(args, name.reference.domain) if isinstance(name, DockerName) else None
    )
    source = open_source(name, options)
    try:
        if args.raw and not args.config and platform is None:
            write_bytes(load_manifest(source).raw)
            return 0
        try:
            image = load_image(source, platform=platform)
        except InvalidConfig:
            if not (args.raw and args.config):
                raise
            # its bytes as stored, as skopeo prints them, whatever they hold
            _top, chain, chosen = chosen_manifest(source, platform=platform)
            if isinstance(chosen, Schema1Manifest):
                _note_no_config_blob(args.name, chosen, chain[-1] if chain else None)
                return 0
            write_bytes(read_config_blob(source, chosen))
            return 0
        _note_platform_unmatched(image, platform)
        _note_choice(image, platform)
        if args.config and args.raw and isinstance(image.manifest, Schema1Manifest):
            # nothing printed, as skopeo prints nothing
            _note_no_config_blob(args.name, image.manifest, image.instance)
            return 0
        if args.config:
            if image.config is None:
                assert isinstance(image.manifest, ImageManifest)  # schema 1 has a config
                if args.raw:  # its bytes as they are, as skopeo prints them
                    write_bytes(read_config_blob(source, image.manifest))
                    return 0
                raise SpyglassError(
                    f"{args.name} is an artifact; its config "
                    f"({image.manifest.config.media_type}) is not an image config. "
                    "--config --raw prints its bytes."
                )
            template = _template(args.format)
            data: Mapping[str, Any] = image.config.data
            if isinstance(image.manifest, Schema1Manifest):
                data = _schema1_config_as_skopeo(data, image.manifest)
            if args.raw:
                write_bytes(image.config.raw)
            elif template is not None:
                from spyglass.cli.template import render

                config = _config_as_go_values(data)
                text = render(template, config, root=[config])  # skopeo ranges over a list
                write_bytes(as_given(text + "\n"))
            else:
                write_json(data)
            return 0
        if args.raw:
            write_bytes(image.manifest.raw)
            return 0
        tags: list[str] = []
        if isinstance(name, DockerName) and options is not None and not args.no_tags:
            from spyglass.core.errors import RepositoryNotFound
            from spyglass.core.transports.registry import client_for

            repository = name.reference.path
            try:
                tags = client_for(name.reference.domain, options,
                                  repository=repository).tags_of(repository)
            except RepositoryNotFound:
                pass  # the image was read, so the repository is there: it has no tags
                # (distribution answers a tag list of untagged images NAME_UNKNOWN)
        described = inspect_output(image, name, tags)
        template = _template(args.format)
        if template is not None:
            from spyglass.cli.template import render

            values = _as_go_values(json.loads(json.dumps(described)),
                                   schema1=isinstance(image.manifest, Schema1Manifest))
            text = render(template, values, root=[values])  # skopeo ranges over a list
            write_bytes(as_given(text + "\n"))  # as skopeo, whatever the text ends with
        else:
            write_json(described)
        return 0
    finally:
        source.close()


def _template(given: str | None) -> str | None:
    """The template ``--format`` gives, None for the JSON description: as skopeo, ``json``,
    ``{{json .}}`` and an empty format print it whole, and a ``table`` prefix (for
    lists of rows, meaningless for one image) is dropped."""
    if given is None:
        return None
    text = given.strip()
    if text.startswith("table ") or text == "table":
        text = text.removeprefix("table").strip()
        given = text
    if text in ("", "json", "{{json .}}", "{{ json . }}", "{{json}}"):
        return None
    return given


_INSPECT_FIELDS: Final = ("Name", "Tag", "Digest", "RepoTags", "Created", "DockerVersion",
                          "Labels", "Architecture", "Variant", "Os", "Layers", "LayersData",
                          "Env")
"""The fields of skopeo's ``inspect`` output, in its struct's order (those it leaves out
of its JSON when empty are there for a template, empty)."""


def _as_go_values(described: dict[str, Any], *, schema1: bool) -> dict[str, Any]:
    """The description as skopeo's Go template sees its output struct: every field (in
    order, empty where the JSON leaves one out), maps and times marked as such. A
    ``schema1`` image's has no ``LayersData`` at all (skopeo cannot evaluate the field:
    schema 1 records no layer sizes), not an empty one."""
    from spyglass.cli.gotime import GoTime
    from spyglass.cli.template_values import GoDigest, GoList, GoMap, GoStruct, JSONField

    def as_map(value: Any) -> GoMap:
        return GoMap(value, nil=False) if isinstance(value, dict) else GoMap(nil=True)

    fields: dict[str, Any] = {name: described.get(name, "") for name in _INSPECT_FIELDS
                              if not (schema1 and name == "LayersData")}
    fields.update((name, value) for name, value in described.items() if name not in fields)
    fields["Labels"] = as_map(described.get("Labels"))
    for name, element in (("RepoTags", "string"), ("Layers", "string"),
                          ("LayersData", _LAYER_TYPE), ("Env", "string")):
        if name in fields:  # (a nil slice prints [] in Go, and is null in JSON)
            fields[name] = GoList(fields[name] or (), nil=fields[name] is None,
                                  element_type=element)
    if isinstance(fields["Created"], str) and fields["Created"]:
        fields["Created"] = GoTime(fields["Created"], pointer=True)
    if isinstance(fields["Digest"], str):
        fields["Digest"] = GoDigest(fields["Digest"])
    layers = fields.get("LayersData") or []
    for number, layer in enumerate(layers):
        if isinstance(layer, dict):
            layer["Annotations"] = as_map(layer.get("Annotations"))
            if isinstance(layer.get("Digest"), str):
                layer["Digest"] = GoDigest(layer["Digest"])
            layers[number] = GoStruct(layer, type_name=_LAYER_TYPE)
    return GoStruct(fields, type_name="inspect.Output", json={
        name: JSONField(name, omitempty=True) for name in ("Name", "Tag", "Variant")})


_LAYER_TYPE: Final = "types.ImageInspectLayer"


_OCI_CONFIG_FIELDS: Final = ("User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes",
                              "WorkingDir", "Labels", "StopSignal", "ArgsEscaped")
"""The OCI ``ImageConfig`` fields (each ``omitempty``), as skopeo shows a config."""


def _schema1_config_as_skopeo(data: Mapping[str, Any], manifest: Schema1Manifest
                              ) -> dict[str, Any]:
    """The config made from a schema 1 image's history as skopeo's ``inspect --config``
    shows it: containers/image converts the image with no layer read, then decodes the
    result into the OCI ``v1.Image`` struct. So only its fields are there, matched
    whatever their case (the top entry's ``docker_version``, ``container_config``, a
    ``comment`` or the config's ``Hostname`` are not), what Go's ``omitempty`` leaves out
    is left out (an empty ``author``; a history step's empty ``author``, ``comment`` and
    ``created_by``, and ``empty_layer: false``), and ``rootfs`` has an empty diff ID for
    each step that made a layer."""
    from spyglass.core import gojson

    config = gojson.member(data, "config")
    shown: dict[str, Any] = {"created": gojson.member(data, "created")}
    for field in ("author", "architecture", "variant", "os"):
        value = gojson.member(data, field)
        if value or field in ("architecture", "os"):
            shown[field] = value if value is not None else ""
    shown["config"] = {field: value for field in _OCI_CONFIG_FIELDS
                       if (value := gojson.member(config, field)) not in ("", None, [], {},
                                                                         False)
                       } if isinstance(config, Mapping) else {}
    shown["rootfs"] = {"type": "layers",
                       "diff_ids": ["" for entry in manifest.entries if not entry.empty]}
    shown["history"] = [
        {key: value for key, value in step.items() if value not in ("", False, None)}
        if isinstance(step, Mapping) else step
        for step in data.get("history") or []]
    return shown


def _config_as_go_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """An image config as skopeo's template sees it: the OCI ``v1.Image`` struct, every
    field there (Go's names, zero values where the JSON has none; a list the JSON lacks
    is a nil one), each struct with the JSON tags ``json`` writes it by."""
    from spyglass.cli.gotime import GoTime
    from spyglass.cli.template_values import GoDigest, GoList, GoMap, GoStruct, JSONField

    def text(value: Any) -> Any:
        return value if isinstance(value, str) else ""

    def strings(value: Any, element_type: str = "string") -> GoList:
        if not isinstance(value, list):
            return GoList(nil=True, element_type=element_type)
        return GoList((GoDigest(item) if element_type == "digest.Digest"
                       and isinstance(item, str) else item for item in value),
                      element_type=element_type)

    def mapping(value: Any, zero: Any = "") -> GoMap:
        """A ``map[string]string``, or (``zero={}``) a ``map[string]struct{}``."""
        if isinstance(value, dict):
            return GoMap(value, zero=zero)
        return GoMap(nil=True, zero=zero)

    def time(value: Any) -> Any:  # (a *time.Time: nil when absent)
        return GoTime(value, pointer=True) if isinstance(value, str) and value else None

    def tags(*fields: tuple[str, str, bool]) -> dict[str, JSONField]:
        return {field: JSONField(name, omitempty) for field, name, omitempty in fields}

    found_config, found_rootfs = data.get("config"), data.get("rootfs")
    config: dict[str, Any] = found_config if isinstance(found_config, dict) else {}
    rootfs: dict[str, Any] = found_rootfs if isinstance(found_rootfs, dict) else {}
    history = [entry for entry in data.get("history") or [] if isinstance(entry, dict)]
    return GoStruct({
        "Created": time(data.get("created")),
        "Author": text(data.get("author")),
        "Architecture": text(data.get("architecture")),
        "Variant": text(data.get("variant")),
        "OS": text(data.get("os")),
        "OSVersion": text(data.get("os.version")),
        "OSFeatures": strings(data.get("os.features")),
        "Config": GoStruct({
            "User": text(config.get("User")),
            "ExposedPorts": mapping(config.get("ExposedPorts"), {}),
            "Env": strings(config.get("Env")),
            "Entrypoint": strings(config.get("Entrypoint")),
            "Cmd": strings(config.get("Cmd")),
            "Volumes": mapping(config.get("Volumes"), {}),
            "WorkingDir": text(config.get("WorkingDir")),
            "Labels": mapping(config.get("Labels")),
            "StopSignal": text(config.get("StopSignal")),
            "ArgsEscaped": bool(config.get("ArgsEscaped")),
        }, type_name="v1.ImageConfig", json=tags(  # (its fields are named as Docker's)
            *((field, field, True) for field in _OCI_CONFIG_FIELDS))),
        "RootFS": GoStruct({
            "Type": text(rootfs.get("type")),
            "DiffIDs": strings(rootfs.get("diff_ids"), "digest.Digest"),
        }, type_name="v1.RootFS", json=tags(("Type", "type", False),
                                            ("DiffIDs", "diff_ids", False))),
        "History": GoList((GoStruct({
            "Created": time(entry.get("created")),
            "CreatedBy": text(entry.get("created_by")),
            "Author": text(entry.get("author")),
            "Comment": text(entry.get("comment")),
            "EmptyLayer": bool(entry.get("empty_layer")),
        }, type_name="v1.History", json=tags(
            ("Created", "created", True), ("CreatedBy", "created_by", True),
            ("Author", "author", True), ("Comment", "comment", True),
            ("EmptyLayer", "empty_layer", True))) for entry in history),
            nil=not isinstance(data.get("history"), list), element_type="v1.History"),
    }, type_name="*v1.Image", json=tags(
        ("Created", "created", True), ("Author", "author", True),
        ("Architecture", "architecture", False), ("Variant", "variant", True),
        ("OS", "os", False), ("OSVersion", "os.version", True),
        ("OSFeatures", "os.features", True), ("Config", "config", True),
        ("RootFS", "rootfs", False), ("History", "history", True)))


def _note_no_config_blob(name: str, image: Schema1Manifest, entry: Descriptor | None) -> None:
    """Say why ``--config --raw`` of a schema 1 image prints nothing: the image ``name``
    names, or (``entry``) the one chosen from the list it names."""
    where = "" if entry is None or entry.platform is None else f" for {entry.platform}"
    what = name if entry is None else f"The image {image.digest} that {name} names{where}"
    note(f"{what} is a Docker schema 1 image, which has no config blob: --config --raw "
         "prints nothing (as skopeo); --config alone shows the config made from its "
         "history.")


def _note_platform_unmatched(image: LoadedImage, asked: Platform | None) -> None:
    """Say on stderr when ``--platform`` asked a single image for another platform (as
    skopeo, the image is described all the same; said, not silently)."""
    from spyglass.core.manifest import ImageIndex
    from spyglass.core.platform import Platform

    config = image.config
    if asked is None or isinstance(image.top, ImageIndex) or config is None \
            or not config.os or not config.architecture:
        return
    own = Platform(config.os, config.architecture, config.variant)
    if not asked.matches(own):
        note(f"The image is not a list, and is for {own}: --platform {asked} does not "
             "apply; it is described as it is.")


def _note_choice(image: LoadedImage, asked: Platform | None) -> None:
    """Say on stderr what copy notes of the same choice: an image of a list taken without
    a platform, or standing in for a variant the list lacks, or the first of entries
    that fit equally."""
    from spyglass.core.manifest import ImageIndex
    from spyglass.core.platform import host_platform
    from spyglass.core.platform_choice import choice_notes

    if not isinstance(image.top, ImageIndex) or image.instance is None:
        return
    for text in choice_notes(image.top, asked or host_platform(), image.instance, "described"):
        note(f"{text[0].upper()}{text[1:]}.")
