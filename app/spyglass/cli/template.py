"""``--format TEMPLATE``: the part of Go's ``text/template`` that scripts use with
``skopeo inspect --format``.

Text is copied; actions between ``{{`` and ``}}`` (``{{-`` and ``-}}`` trim the
white space beside them) are evaluated against the data (JSON-like: dicts,
lists, strings, numbers, booleans, None):

- ``.`` is the value at hand, ``.Field.Sub`` looks into structs (dicts, whose
  keys are all the fields there are) and maps (:class:`GoMap`, where a missing
  key is ``<no value>``);
- ``"text"`` and numbers are literals; a function is called with the
  arguments after it (``index .Labels "a.b"``) or with a pipeline's value last
  (``.Labels | json``): ``json``, ``index``, ``len``, ``lower``, ``upper``,
  ``join LIST SEP``;
- ``{{range PIPELINE}}…{{else}}…{{end}}`` runs once per element (with ``.``
  set to it), ``{{if PIPELINE}}…{{else}}…{{end}}`` on a value that is not
  empty, zero, false or missing.

Values print as Go prints them: a list ``[a b]``, a struct (a dict) ``{v1 v2}``
in its order, a map (:class:`GoMap`) ``map[k:v]`` with its keys sorted — and
``json`` sorts them too — a time (:class:`GoTime`) as Go's ``Time.String``, a
missing key ``<no value>``, None ``<nil>``. Anything else is refused with a
sentence naming the template and what was expected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from spyglass.core.errors import SpyglassError

_ACTION: Final = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN: Final = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)'
    r"|(?P<path>\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<pipe>\|)|(?P<open>\()|(?P<close>\))"
    r"|(?P<bad>\S))"
)


class _Missing:
    """A key the data has not (Go prints ``<no value>``)."""

    def __repr__(self) -> str:
        return "<no value>"


MISSING: Final = _Missing()


class TemplateError(SpyglassError):
    """A template that cannot be read or run."""


class GoMap(dict[str, Any]):
    """A Go map (not a struct): printed ``map[k:v]`` and as JSON with sorted keys; a nil
    one (``nil=True``) prints ``map[]`` and is ``null`` in JSON."""

    def __init__(self, items: Mapping[str, Any] | None = None, *, nil: bool = False) -> None:
        super().__init__(items or {})
        self.nil = nil


@dataclass(frozen=True)
class GoTime:
    """A ``time.Time``, from its RFC 3339 text: printed as Go's ``Time.String`` does
    (``2024-01-15 09:30:00 +0000 UTC``), and as that text in JSON."""

    text: str

    def __str__(self) -> str:
        match = re.fullmatch(
            r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})",
            self.text)
        if match is None:
            return self.text
        day, clock, fraction, zone = match.groups()
        fraction = (fraction or "").rstrip("0").rstrip(".")
        if zone in ("Z", "z") or zone in ("+00:00", "-00:00"):
            return f"{day} {clock}{fraction} +0000 UTC"
        offset = zone.replace(":", "")
        return f"{day} {clock}{fraction} {offset} {offset}"


Operand = tuple[str, Any]
"""``(kind, value)``: a ``string``, ``number``, ``path`` or ``word`` token, or a
``group``, whose value is a parenthesized pipeline."""
Pipeline = list[list[Operand]]


@dataclass
class _Node:
    kind: str  # "text", "action", "range", "if"
    text: str = ""
    pipeline: Pipeline = field(default_factory=list)
    body: list[_Node] = field(default_factory=list)
    otherwise: list[_Node] = field(default_factory=list)


def render(template: str, data: Any) -> str:
    """``template`` run on ``data``; :class:`TemplateError` with a sentence when the
    template is malformed or asks for what is not there to be done."""
    nodes = _Parser(template).parse()
    out: list[str] = []
    _run(nodes, data, out, template)
    return "".join(out)


# --------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, template: str) -> None:
        self.template = template
        self.pieces = self._split(template)
        self.at = 0

    def _split(self, template: str) -> list[tuple[str, str]]:
        """The template as ("text", …) and ("action", …) pieces, trims applied."""
        pieces: list[tuple[str, str]] = []
        end = 0
        for match in _ACTION.finditer(template):
            text = template[end:match.start()]
            if match.group(1):
                text = text.rstrip()
            pieces.append(("text", text))
            pieces.append(("action", match.group(2).strip()))
            end = match.end()
            if match.group(3):
                rest = template[end:]
                end += len(rest) - len(rest.lstrip())
        tail = template[end:]
        if "{{" in tail:
            raise self._error('an action opened with "{{" is never closed with "}}"')
        pieces.append(("text", tail))
        return pieces

    def _error(self, why: str) -> TemplateError:
        return TemplateError(f'The format "{self.template}" cannot be used: {why}.')

    def parse(self) -> list[_Node]:
        nodes, closer = self._block()
        if closer is not None:
            raise self._error(f'"{{{{{closer}}}}}" has no "{{{{range}}}}" or "{{{{if}}}}" '
                              "before it")
        return nodes

    def _block(self) -> tuple[list[_Node], str | None]:
        """Nodes up to an ``end`` or ``else`` (returned) or the end of the template."""
        nodes: list[_Node] = []
        while self.at < len(self.pieces):
            kind, text = self.pieces[self.at]
            self.at += 1
            if kind == "text":
                if text:
                    nodes.append(_Node("text", text))
                continue
            word = text.split(None, 1)[0] if text else ""
            if word in ("end", "else") and text == word:
                return nodes, word
            if word in ("range", "if"):
                node = _Node(word, pipeline=self._pipeline(text[len(word):], text))
                node.body, closer = self._block()
                if closer == "else":
                    node.otherwise, closer = self._block()
                if closer != "end":
                    raise self._error(f'"{{{{{text}}}}}" is never closed with "{{{{end}}}}"')
                nodes.append(node)
                continue
            if word in ("with", "define", "template", "block", "break", "continue") or (
                    text.startswith("$")):
                raise self._error(f'"{{{{{text}}}}}" is beyond what Spyglass reads of Go '
                                  "templates (fields, range, if, json, index, len, lower, "
                                  "upper, join)")
            if not text or text.startswith("/*"):
                continue  # an empty action or a comment
            nodes.append(_Node("action", pipeline=self._pipeline(text, text)))
        return nodes, None

    def _pipeline(self, text: str, action: str) -> Pipeline:
        tokens = [(match.lastgroup or "", match.group(match.lastgroup or 0))
                  for match in _TOKEN.finditer(text) if match.lastgroup]
        pipeline, at = self._group(tokens, 0, action)
        if at < len(tokens):
            raise self._error(f'"{{{{{action}}}}}" closes a parenthesis it never opened')
        return pipeline

    def _group(self, tokens: list[tuple[str, str]], at: int, action: str
               ) -> tuple[Pipeline, int]:
        """The pipeline from ``tokens[at]`` up to a ``)`` or the end; where it stopped."""
        commands: Pipeline = [[]]
        while at < len(tokens):
            kind, value = tokens[at]
            at += 1
            if kind == "bad":
                raise self._error(f'"{value}" in "{{{{{action}}}}}" is not understood')
            if kind == "close":
                at -= 1
                break
            if kind == "pipe":
                commands.append([])
            elif kind == "open":
                inner, at = self._group(tokens, at, action)
                if at >= len(tokens) or tokens[at][0] != "close":
                    raise self._error(f'"{{{{{action}}}}}" opens a parenthesis it never '
                                      "closes")
                at += 1
                commands[-1].append(("group", inner))
            else:
                commands[-1].append((kind, value))
        if any(not command for command in commands):
            raise self._error(f'"{{{{{action}}}}}" has an empty command')
        return commands, at


# --------------------------------------------------------------------------- running


def _run(nodes: Sequence[_Node], dot: Any, out: list[str], template: str) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "action":
            out.append(_print(_pipeline(node.pipeline, dot, template)))
        elif node.kind == "if":
            chosen = node.body if _true(_pipeline(node.pipeline, dot, template)) else \
                node.otherwise
            _run(chosen, dot, out, template)
        else:
            value = _pipeline(node.pipeline, dot, template)
            items = _elements(value, template)
            if not items:
                _run(node.otherwise, dot, out, template)
            for item in items:
                _run(node.body, item, out, template)


def _pipeline(commands: Pipeline, dot: Any, template: str) -> Any:
    value: Any = MISSING
    for number, command in enumerate(commands):
        piped = [] if number == 0 else [value]
        value = _command(command, dot, piped, template)
    return value


def _command(command: list[Operand], dot: Any, piped: list[Any], template: str) -> Any:
    (kind, value), rest = command[0], command[1:]
    if kind == "word":
        function = _FUNCTIONS.get(value)
        if function is None:
            raise TemplateError(
                f'The format "{template}" calls "{value}", which is no function Spyglass '
                f"knows (it knows {', '.join(sorted(_FUNCTIONS))}).")
        arguments = [_operand(k, v, dot, template) for k, v in rest] + piped
        try:
            return function(*arguments)
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            raise TemplateError(
                f'The format "{template}" cannot be run: {value} {exc}.') from exc
    if rest or piped:
        raise TemplateError(f'The format "{template}" cannot be run: "{value}" is no '
                            "function, and takes no arguments.")
    return _operand(kind, value, dot, template)


def _operand(kind: str, value: Any, dot: Any, template: str) -> Any:
    if kind == "group":
        return _pipeline(value, dot, template)
    if kind == "string":
        decoded: str = json.loads(value)
        return decoded
    if kind == "number":
        return float(value) if "." in value else int(value)
    if kind == "path":
        return _lookup(dot, [part for part in value.split(".") if part], template)
    raise TemplateError(f'The format "{template}" cannot be run: the function "{value}" '
                        "cannot be an argument.")


def _lookup(value: Any, path: list[str], template: str) -> Any:
    for depth, key in enumerate(path):
        if isinstance(value, GoMap):
            value = value.get(key, MISSING)
            continue
        if isinstance(value, Mapping):  # a struct: its fields are all there is
            if key not in value:
                where = "." + ".".join(path[:depth]) if depth else "the description"
                raise TemplateError(
                    f'The format "{template}" asks for .{".".join(path[:depth + 1])}, which '
                    f"{where} has not: it has {', '.join(value)}.")
            value = value[key]
            continue
        if value is MISSING or value is None:
            return value
        where = "." + ".".join(path[:depth]) if depth else "the image"
        raise TemplateError(
            f'The format "{template}" asks for .{".".join(path)}, but {where} is '
            f"{_kind(value)}, which has no fields.")
    return value


def _elements(value: Any, template: str) -> list[Any]:
    if value is MISSING or value is None:
        return []
    if isinstance(value, Mapping):
        return [value[key] for key in sorted(value)]
    if isinstance(value, list | tuple):
        return list(value)
    raise TemplateError(f'The format "{template}" ranges over {_kind(value)}; range takes '
                        "a list or a map.")


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a value"


def _true(value: Any) -> bool:
    return value is not MISSING and bool(value)


def _print(value: Any) -> str:
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, GoMap):
        return "map[" + " ".join(f"{key}:{_print(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, Mapping):
        return "{" + " ".join(_print(item) for item in value.values()) + "}"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_print(item) for item in value) + "]"
    return str(value)


# --------------------------------------------------------------------------- functions


def _plain(value: Any) -> Any:
    """``value`` as JSON holds it, maps' keys sorted as Go's encoder sorts them."""
    if isinstance(value, GoMap):
        return None if value.nil else {key: _plain(value[key]) for key in sorted(value)}
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, GoTime):
        return value.text
    return None if value is MISSING else value


def _json(value: Any) -> str:
    """As Go's ``json.Marshal``: compact, with ``<``, ``>`` and ``&`` escaped."""
    text = json.dumps(_plain(value), separators=(",", ":"), ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, Mapping):
            value = value.get(key, MISSING)
        elif isinstance(value, list | tuple) and isinstance(key, int):
            if not 0 <= key < len(value):
                raise IndexError(f"index {key} is out of range (the list has {len(value)})")
            value = value[key]
        else:
            raise TypeError(f"cannot index {_kind(value)} with {key!r}")
    return value


def _len(value: Any) -> int:
    if value is MISSING or value is None:
        return 0
    if isinstance(value, str | Mapping | list | tuple):
        return len(value)
    raise TypeError(f"cannot take the length of {_kind(value)}")


def _join(items: Any, separator: Any) -> str:
    if not isinstance(items, list | tuple) or not isinstance(separator, str):
        raise TypeError("takes a list and a separator string")
    return separator.join(_print(item) for item in items)


_FUNCTIONS: Final[dict[str, Callable[..., Any]]] = {
    "json": _json,
    "index": _index,
    "len": _len,
    "lower": lambda text: _print(text).lower(),
    "upper": lambda text: _print(text).upper(),
    "join": _join,
}
