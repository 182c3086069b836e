"""``--format TEMPLATE``: the part of Go's ``text/template`` that scripts use with
``skopeo inspect --format``.

Text is copied; actions between ``{{`` and ``}}`` (``{{-`` and ``-}}`` trim the
white space beside them) are evaluated against the data (JSON-like: dicts,
lists, strings, numbers, booleans, None):

- ``.`` is the value at hand, ``.Field.Sub`` looks into structs (dicts, whose
  keys are all the fields there are) and maps (:class:`GoMap`, where a missing
  key is ``<no value>``);
- ``"text"`` (Go's escapes), ```raw``` and numbers are literals; a function is
  called with the arguments after it (``index .Labels "a.b"``) or with a
  pipeline's value last (``.Labels | json``): ``json``, ``index`` (a missing
  key gives ``""``), ``len``, ``lower``, ``upper``, ``join LIST SEP``, ``eq``,
  ``ne``, ``not``, ``and``, ``or``, ``printf`` (``%s %v %d %q %t %x``) and
  ``print``; ``(…)`` groups a pipeline;
- ``{{range PIPELINE}}…{{else}}…{{end}}`` runs once per element (with ``.``
  set to it), ``{{if PIPELINE}}…{{else if …}}…{{else}}…{{end}}`` on a value
  that is not empty, zero, false or missing.

The whole template is read before anything runs: a function it does not know
or a part of Go's templates beyond these (variables, ``with``, methods such as
``.Created.Format``) is refused with a sentence, never run halfway.

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
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<raw>`[^`]*`)|(?P<number>-?\d+(?:\.\d+)?)'
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


def _text_escapes(text: str) -> str:
    """``\\n`` and ``\\t`` typed into the text between actions, as newline and tab (as
    skopeo reads a format; a shell passes them through as two characters)."""
    return text.replace("\\n", "\n").replace("\\t", "\t")


class _Parser:
    def __init__(self, template: str) -> None:
        self.template = template
        self.pieces = self._split(template)
        self.at = 0
        self.pending_if: str | None = None

    def _split(self, template: str) -> list[tuple[str, str]]:
        """The template as ("text", …) and ("action", …) pieces, trims applied."""
        pieces: list[tuple[str, str]] = []
        end = 0
        for match in _ACTION.finditer(template):
            text = _text_escapes(template[end:match.start()])
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
        pieces.append(("text", _text_escapes(tail)))
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
            if word == "else" and text.split(None, 2)[1:2] == ["if"]:
                self.pending_if = text.split(None, 1)[1]  # {{else if X}}: an if in the else
                return nodes, "else"
            if word in ("range", "if"):
                nodes.append(self._control(word, text))
                continue
            if word in ("with", "define", "template", "block", "break", "continue") or (
                    text.startswith("$")):
                raise self._error(f'"{{{{{text}}}}}" is beyond what Spyglass reads of Go '
                                  "templates (fields, range, if, and the functions "
                                  f"{', '.join(sorted(_FUNCTIONS))})")
            if not text or text.startswith("/*"):
                continue  # an empty action or a comment
            nodes.append(_Node("action", pipeline=self._pipeline(text, text)))
        return nodes, None

    def _control(self, word: str, text: str) -> _Node:
        """A ``range`` or ``if`` node, with its body and its ``else`` part, up to its
        ``end`` (an ``else if`` nests another ``if`` in the ``else`` part)."""
        node = _Node(word, pipeline=self._pipeline(text[len(word):], text))
        node.body, closer = self._block()
        if closer == "else":
            chained, self.pending_if = self.pending_if, None
            if chained is not None and word == "if":
                node.otherwise = [self._control("if", chained)]
                return node
            node.otherwise, closer = self._block()
        if closer != "end":
            raise self._error(f'"{{{{{text}}}}}" is never closed with "{{{{end}}}}"')
        return node

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
                raise self._error(f"{value!r} in \"{{{{{action}}}}}\" is not understood")
            if kind == "word" and value not in _FUNCTIONS:
                raise self._error(
                    f'"{{{{{action}}}}}" calls "{value}", which is no function Spyglass '
                    f"knows (it knows {', '.join(sorted(_FUNCTIONS))})")
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
        for number, command in enumerate(commands):
            kind, value = command[0]
            if kind == "word":
                continue
            if kind == "path" and len(command) > 1:
                raise self._error(
                    f'"{{{{{action}}}}}" gives arguments to the field "{value}" (methods '
                    "such as .Created.Format are beyond what Spyglass reads of Go "
                    "templates)")
            if len(command) > 1 or number:
                raise self._error(f'"{{{{{action}}}}}" gives a value where a function is '
                                  "to be called")
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
        function, fewest, most = _FUNCTIONS[value]
        arguments = [_operand(k, v, dot, template) for k, v in rest] + piped
        if not fewest <= len(arguments) <= (most if most is not None else len(arguments)):
            wanted = (f"{fewest}" if most == fewest else f"at least {fewest}" if most is None
                      else f"{fewest} to {most}")
            raise TemplateError(
                f'The format "{template}" cannot be run: {value} takes {wanted} '
                f"argument{'s' if wanted != '1' else ''}, not {len(arguments)}.")
        try:
            return function(*arguments)
        except _CannotApply as exc:
            raise TemplateError(
                f'The format "{template}" cannot be run: {value}: {exc}.') from exc
    if rest or piped:
        what = (f'"{value}" is a field, and takes no arguments (methods such as '
                ".Created.Format are beyond what Spyglass reads of Go templates)"
                if kind == "path" else f'"{value}" is no function, and takes no arguments')
        raise TemplateError(f'The format "{template}" cannot be run: {what}.')
    return _operand(kind, value, dot, template)


def _operand(kind: str, value: Any, dot: Any, template: str) -> Any:
    if kind == "group":
        return _pipeline(value, dot, template)
    if kind == "raw":
        return str(value)[1:-1]
    if kind == "string":
        return _unquote(str(value), template)
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


class _CannotApply(Exception):
    """A function given what it cannot work on; the text says what."""


def _index(value: Any, *keys: Any) -> Any:
    """As Go's ``index``: a key a map has not is its zero value, the empty string."""
    for key in keys:
        if isinstance(value, Mapping):
            value = value.get(key, "")
        elif isinstance(value, list | tuple) and isinstance(key, int):
            if not 0 <= key < len(value):
                raise _CannotApply(f"{key} is out of range (the list has {len(value)})")
            value = value[key]
        else:
            raise _CannotApply(f"{_kind(value)} cannot be indexed with {_print(key)}")
    return value


def _len(value: Any) -> int:
    if value is MISSING or value is None:
        return 0
    if isinstance(value, str | Mapping | list | tuple):
        return len(value)
    raise _CannotApply(f"{_kind(value)} has no length")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _CannotApply(f"it takes a string, not {_kind(value)}")
    return value


def _join(items: Any, separator: Any) -> str:
    if not isinstance(items, list | tuple) or not isinstance(separator, str):
        raise _CannotApply("it takes a list and then a separator string")
    return separator.join(_print(item) for item in items)


def _equal(first: Any, *others: Any) -> bool:
    """As Go's ``eq``: true if the first equals any of the others."""
    return any(_comparable(first) == _comparable(other) for other in others)


def _comparable(value: Any) -> Any:
    if isinstance(value, Mapping | list | tuple):
        raise _CannotApply(f"{_kind(value)} cannot be compared")
    return "" if value is MISSING else str(value) if isinstance(value, GoTime) else value


def _and(*values: Any) -> Any:
    for value in values:
        if not _true(value):
            return value
    return values[-1]


def _or(*values: Any) -> Any:
    for value in values:
        if _true(value):
            return value
    return values[-1]


_VERB: Final = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d+))?([svdqtx%])")


def _printf(layout: Any, *values: Any) -> str:
    """As Go's ``printf`` for the verbs scripts use: ``%s %v %d %q %t %x %%`` (with
    flags, width and precision)."""
    if not isinstance(layout, str):
        raise _CannotApply(f"its first argument is the layout, a string, not {_kind(layout)}")
    left = list(values)

    def verb(match: re.Match[str]) -> str:
        flags, width, precision, letter = match.groups()
        if letter == "%":
            return "%"
        if not left:
            return f"%!{letter}(MISSING)"
        value = left.pop(0)
        if letter == "d" and isinstance(value, int) and not isinstance(value, bool):
            text = str(value)
        elif letter == "q":
            text = json.dumps(_print(value), ensure_ascii=False)
        elif letter == "x" and isinstance(value, int) and not isinstance(value, bool):
            text = format(value, "x")
        elif letter == "x":
            text = _print(value).encode().hex()
        else:
            text = _print(value)
        if precision and letter in "sv":
            text = text[: int(precision)]
        if width:
            text = text.ljust(int(width)) if "-" in flags else text.rjust(int(width))
        return text

    printed = _VERB.sub(verb, layout)
    if left:
        printed += "%!(EXTRA " + ", ".join(_print(value) for value in left) + ")"
    return printed


def _print_all(*values: Any) -> str:
    """As Go's ``print``: a space between two operands when neither is a string."""
    out = ""
    for number, value in enumerate(values):
        if number and not isinstance(value, str) and not isinstance(values[number - 1], str):
            out += " "
        out += _print(value)
    return out


_ESCAPE: Final = re.compile(r'\\(?:([abfnrtv\\"])|x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})'
                            r"|U([0-9a-fA-F]{8})|([0-7]{3})|(.))")
_SIMPLE_ESCAPES: Final = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r",
                          "t": "\t", "v": "\v", "\\": "\\", '"': '"'}


def _unquote(literal: str, template: str) -> str:
    """A Go string literal's text, its escapes read as Go reads them."""

    def escape(match: re.Match[str]) -> str:
        simple, hex2, hex4, hex8, octal, bad = match.groups()
        if bad is not None:
            raise TemplateError(f'The format "{template}" cannot be used: "\\{bad}" in '
                                f"{literal} is no escape Go knows.")
        if simple is not None:
            return _SIMPLE_ESCAPES[simple]
        if octal is not None:
            return chr(int(octal, 8))
        return chr(int(hex2 or hex4 or hex8, 16))

    return _ESCAPE.sub(escape, literal[1:-1])


_FUNCTIONS: Final[dict[str, tuple[Callable[..., Any], int, int | None]]] = {
    # name: (function, fewest arguments, most arguments or None for any number)
    "json": (_json, 1, 1),
    "index": (_index, 1, None),
    "len": (_len, 1, 1),
    "lower": (lambda text: _text(text).lower(), 1, 1),
    "upper": (lambda text: _text(text).upper(), 1, 1),
    "join": (_join, 2, 2),
    "eq": (_equal, 2, None),
    "ne": (lambda first, second: not _equal(first, second), 2, 2),
    "not": (lambda value: not _true(value), 1, 1),
    "and": (_and, 1, None),
    "or": (_or, 1, None),
    "printf": (_printf, 1, None),
    "print": (_print_all, 0, None),
}
