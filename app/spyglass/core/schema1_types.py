"""The types Go's decoding asks of a schema 1 image's history, checked before it is
converted, so that what skopeo cannot read is refused with a sentence rather than
written into a config that skopeo, podman and umoci then cannot read.

containers/image decodes every ``v1Compatibility`` into ``Schema1V1Compatibility``
(``manifest/docker_schema1.go``) when it reads the manifest, and the top one into
``Schema2V1Image`` (with its ``config`` and ``container_config`` a ``Schema2Config``,
``manifest/docker_schema2.go``) when it converts it; a member of another JSON type
than its field's fails either. As Go's decoder: keys are matched to fields whatever
their case (:func:`~spyglass.core.gojson.member`), members no field names are
ignored, each member of a key written twice is checked in turn (a dict would keep the
last alone), ``null`` fits any field, and a whole number is one written without a fraction
or exponent. ``created`` (a time) is checked by the conversion itself (each member
of it, as Go parses each).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from spyglass.core import gojson

_INT64: Final = range(-(2**63), 2**63)


@dataclass(frozen=True)
class _Kind:
    """A Go type, as a sentence names it, and whether a decoded JSON value fits it."""

    name: str
    fits: Callable[[Any], bool]


@dataclass(frozen=True)
class _List:
    item: _Type
    name: str


@dataclass(frozen=True)
class _Map:
    """A ``map[string]T``: an object, each value a ``T``."""

    value: _Type
    name: str


@dataclass(frozen=True)
class _Struct:
    """An object, those of its members that name ``fields`` (Go's way) of their types."""

    fields: Mapping[str, _Type]
    name: str = "an object"


_Type = _Kind | _List | _Map | _Struct

_STRING: Final = _Kind("a string", lambda value: isinstance(value, str))
_BOOL: Final = _Kind("true or false", lambda value: isinstance(value, bool))
_WHOLE: Final = _Kind(
    "a whole number",
    lambda value: isinstance(value, int) and not isinstance(value, bool) and value in _INT64,
)
_STRINGS: Final = _List(_STRING, "a list of strings")
_STR_SLICE: Final = _Kind(
    "a string or a list of strings",  # docker's strslice.StrSlice
    lambda value: isinstance(value, str) or _fault(value, _STRINGS, "") is None,
)
_SET: Final = _Map(_Struct({}), "an object of objects")  # map[string]struct{}

_CONFIG: Final = _Struct(
    {
        "Hostname": _STRING,
        "Domainname": _STRING,
        "User": _STRING,
        "AttachStdin": _BOOL,
        "AttachStdout": _BOOL,
        "AttachStderr": _BOOL,
        "ExposedPorts": _SET,
        "Tty": _BOOL,
        "OpenStdin": _BOOL,
        "StdinOnce": _BOOL,
        "Env": _STRINGS,
        "Cmd": _STR_SLICE,
        "Healthcheck": _Struct(
            {
                "Test": _STRINGS,
                "StartPeriod": _WHOLE,
                "Interval": _WHOLE,
                "Timeout": _WHOLE,
                "Retries": _WHOLE,
            }
        ),
        "ArgsEscaped": _BOOL,
        "Image": _STRING,
        "Volumes": _SET,
        "WorkingDir": _STRING,
        "Entrypoint": _STR_SLICE,
        "NetworkDisabled": _BOOL,
        "MacAddress": _STRING,
        "OnBuild": _STRINGS,
        "Labels": _Map(_STRING, "an object of strings"),
        "StopSignal": _STRING,
        "StopTimeout": _WHOLE,
        "Shell": _STR_SLICE,
    }
)
"""containers/image's ``Schema2Config``."""

_EVERY_ENTRY: Final = _Struct(
    {
        "id": _STRING,
        "parent": _STRING,
        "comment": _STRING,
        "container_config": _Struct({"Cmd": _STRINGS}),
        "author": _STRING,
        "throwaway": _BOOL,
    }
)
"""``Schema1V1Compatibility``: what is read of every history entry."""

_TOP_ENTRY: Final = _Struct(
    {
        "id": _STRING,
        "parent": _STRING,
        "comment": _STRING,
        "container": _STRING,
        "container_config": _CONFIG,
        "docker_version": _STRING,
        "author": _STRING,
        "config": _CONFIG,
        "architecture": _STRING,
        "variant": _STRING,
        "os": _STRING,
        "Size": _WHOLE,
    }
)
"""``Schema2V1Image``: what the conversion reads of the top entry (the image's config)."""


class _Members:
    """A JSON object's members in the order written, a key written twice kept twice: Go
    decodes each in turn, and refuses one of the wrong type even where a later one of
    the same key has the right type (a dict keeps only the last)."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs


def history_fault(raw: str, *, top: bool) -> str | None:
    """What in the history entry ``raw`` (a ``v1Compatibility``, known to be JSON) Go's
    decoding refuses, as a clause (``config.Env is a string, not a list of strings``);
    None where it reads it. ``top``: the top entry, read as the image's config too."""
    compat = gojson.loads(raw, object_pairs_hook=_Members)
    for spec in (_EVERY_ENTRY, _TOP_ENTRY) if top else (_EVERY_ENTRY,):
        fault = _fault(compat, spec, "")
        if fault is not None:
            return fault
    return None


def _fault(value: Any, spec: _Type, path: str) -> str | None:
    """The first member of ``value`` (at ``path``) that does not fit ``spec``, said."""
    if value is None:
        return None
    if isinstance(spec, _Kind):
        return None if spec.fits(value) else _said(path, value, spec.name)
    if isinstance(spec, _List):
        if not isinstance(value, list):
            return _said(path, value, spec.name)
        return next(
            (
                fault
                for index, item in enumerate(value)
                if (fault := _fault(item, spec.item, f"{path}[{index}]")) is not None
            ),
            None,
        )
    if not isinstance(value, _Members):
        return _said(path, value, spec.name)
    if isinstance(spec, _Map):
        return next(
            (
                fault
                for key, item in value.pairs
                if (fault := _fault(item, spec.value, f"{path}[{json.dumps(key)}]")) is not None
            ),
            None,
        )
    for key, item in value.pairs:  # (each in turn, a key written twice too)
        field = next((name for name in spec.fields if gojson.names_field(key, name)), None)
        if field is not None:
            fault = _fault(item, spec.fields[field], f"{path}.{key}" if path else key)
            if fault is not None:
                return fault
    return None


def _said(path: str, value: Any, expected: str) -> str:
    return f"{path} is {_json_kind(value)}, not {expected}"


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return f"the number {json.dumps(value)}"
    return "a list" if isinstance(value, list) else "an object"


__all__ = ["history_fault"]
