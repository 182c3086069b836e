"""What ``--format`` templates work on (:mod:`spyglass.cli.template`): the values a
template's data holds beside JSON's own, how Go prints every value, and the error a
template that cannot be read or run raises.

:data:`MISSING` is a key the data has not (``<no value>``); :class:`GoMap` is a Go map
(not a struct); :func:`print_value` prints a value as Go's templates print it,
:func:`kind_of` names its kind in sentences, :func:`is_true` says whether ``if`` takes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from spyglass.core.errors import SpyglassError


class _Missing:
    """A key the data has not (Go prints ``<no value>``)."""

    def __repr__(self) -> str:
        return "<no value>"


MISSING: Final = _Missing()


class TemplateError(SpyglassError):
    """A template that cannot be read or run."""


class GoMap(dict[str, Any]):
    """A Go map with string keys (not a struct): printed ``map[k:v]`` and as JSON with
    sorted keys; a nil one (``nil=True``) prints ``map[]`` and is ``null`` in JSON.
    ``zero`` is its element type's zero value, what ``index`` gives for a key it has not:
    ``""`` for a ``map[string]string``, :data:`MISSING` (``<no value>``) for a
    ``map[string]interface{}``."""

    def __init__(self, items: Mapping[str, Any] | None = None, *, nil: bool = False,
                 zero: Any = "") -> None:
        super().__init__(items or {})
        self.nil = nil
        self.zero = zero


class GoList(list[Any]):
    """A Go slice of ``element_type`` (``"string"``, "" when not known): prints as any
    list; a nil one (``nil=True``) is ``null`` in JSON, where an empty one is ``[]``."""

    def __init__(self, items: Iterable[Any] = (), *, nil: bool = False,
                 element_type: str = "") -> None:
        super().__init__(items)
        self.nil = nil
        self.element_type = element_type


@dataclass(frozen=True)
class JSONField:
    """How Go's ``json.Marshal`` writes a struct field: under the name its tag gives,
    left out when ``omitempty`` and the value is empty (false, 0, "", nil, or an empty
    list or map)."""

    name: str
    omitempty: bool = False


class GoStruct(dict[str, Any]):
    """A Go struct of type ``type_name`` (``v1.History``): its fields in order, each
    there. ``json`` (a field's name to its :class:`JSONField`) says how ``json`` writes
    it; without it, as Go writes a struct without tags, every field under its name."""

    def __init__(self, fields: Mapping[str, Any], *, type_name: str,
                 json: Mapping[str, JSONField] | None = None) -> None:
        super().__init__(fields)
        self.type_name = type_name
        self.json = dict(json or {})


class GoDigest(str):
    """A ``digest.Digest`` (opencontainers/go-digest): the string everywhere (printed,
    compared, sliced, in JSON), with the methods a template calls on one —
    ``Algorithm``, ``Encoded``, ``Hex``, ``String`` and ``Validate``."""

    METHODS: Final = ("Algorithm", "Encoded", "Hex", "String", "Validate")

    def method(self, name: str) -> Any:
        """The value of the method ``name``; KeyError for one it has not."""
        algorithm, _, encoded = str(self).partition(":")
        answers: dict[str, Any] = {
            "Algorithm": algorithm, "Encoded": encoded, "Hex": encoded,
            "String": str(self), "Validate": None,  # (a nil error: Spyglass read it)
        }
        return answers[name]


def kind_of(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, GoMap):
        return "a map"
    if isinstance(value, Mapping):
        return "a struct"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a value"


def is_true(value: Any) -> bool:
    return value is not MISSING and bool(value)


def print_value(value: Any) -> str:
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, GoMap):
        return "map[" + " ".join(f"{key}:{print_value(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, Mapping):
        return "{" + " ".join(print_value(item) for item in value.values()) + "}"
    if isinstance(value, list | tuple):
        return "[" + " ".join(print_value(item) for item in value) + "]"
    if isinstance(value, float):
        return float_text(value)
    return str(value)


def float_text(value: float) -> str:
    """As Go's ``%v`` of a float64: the shortest form, an exponent from 1e21 on."""
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{exponent.lstrip('+-').zfill(2)}"
    return text
