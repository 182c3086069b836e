"""``--format TEMPLATE``: the part of Go's ``text/template`` that scripts use with
``skopeo inspect --format``.

Text is copied; actions between ``{{`` and ``}}`` (``{{-`` and ``-}}`` trim the
white space beside them) are evaluated against the data (JSON-like: dicts,
lists, strings, numbers, booleans, None):

- ``.`` is the value at hand, ``.Field.Sub`` looks into structs (dicts, whose
  keys are all the fields there are) and maps (:class:`GoMap`, where a missing
  key is ``<no value>``);
- ``"text"`` (Go's escapes), ```raw```, numbers, ``true``, ``false`` and ``nil`` are
  literals (``nil`` only as a function's argument); a function is called with the
  arguments after it (``index .Labels "a.b"``) or with a pipeline's value last
  (``.Labels | json``): ``json``, ``index`` (a list's or a string's element, or a
  map's, a missing key giving the map's zero value, :attr:`GoMap.zero`; a struct is
  not indexed), ``len``, ``lower``, ``upper``, ``join LIST SEP``, ``eq``, ``ne``,
  ``not``, ``and``, ``or``, ``printf`` (``%s %v %d %q %t %x``) and ``print``;
  ``(…)`` groups a pipeline;
- ``{{range PIPELINE}}…{{else}}…{{end}}`` runs once per element (with ``.``
  set to it; ``{{break}}`` and ``{{continue}}`` inside), ``{{if PIPELINE}}…{{else
  if …}}…{{else}}…{{end}}`` on a value that is not empty, zero, false or missing,
  ``{{with PIPELINE}}…{{else}}…{{end}}`` likewise, with ``.`` set to the value;
- variables: ``{{$x := PIPELINE}}`` declares one (printing nothing), ``{{$x =
  …}}`` sets it, ``{{range $i, $e := …}}`` names the index (or key) and the
  element; one lives until the ``{{end}}`` of the ``if``, ``with`` or ``range``
  it was declared in. ``$`` is the data the template started with (for
  ``inspect``, as skopeo, a list of the one description), ``$x.Field`` and
  ``(PIPELINE).Field`` look into a value;
- the comparisons ``lt``, ``le``, ``gt``, ``ge``, and ``println``, ``slice``,
  ``html``, ``js`` and ``urlquery``, as Go has them.

The whole template is read before anything runs: a function it does not know,
a variable used before it is declared, or a part of Go's templates beyond these
(``define``, ``template``, ``block``) is refused with a sentence, never run
halfway. ``.Created`` is a :class:`~spyglass.cli.gotime.GoTime`, with Go's time
methods (``.Created.Format "2006-01-02"``, ``.Created.Unix``).

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

from spyglass.cli.gotime import GoTime
from spyglass.core import gojson
from spyglass.core.errors import SpyglassError
from spyglass.core.text import as_given

_SPACE: Final = " \t\r\n"
"""What Go trims beside ``{{-`` and ``-}}``: spaces, tabs, carriage returns, newlines."""
MAX_DEPTH: Final = 64
"""How deeply actions (``if``, ``range``, parentheses) may nest."""
MAX_WIDTH: Final = 4096
"""The widest a ``printf`` field may be."""
_TOKEN: Final = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\\n]|\\.)*")|(?P<raw>`[^`]*`)|(?P<number>[-+]?(?:0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?))'
    r"|(?P<path>\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?)"
    r"|(?P<variable>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<pipe>\|)|(?P<open>\()|(?P<close>\))"
    r"|(?P<declare>:=)|(?P<assign>=)|(?P<comma>,)"
    r"|(?P<bad>\S))"
)
_CLAUSES: Final = ("if", "range", "with")
"""The actions that take a pipeline and a body up to ``{{end}}``."""


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


Operand = tuple[str, Any]
"""``(kind, value)``: a ``string``, ``number``, ``path``, ``variable`` (``$x.Field``)
or ``word`` token, a ``group``, whose value is a parenthesized pipeline, or a
``chain``, whose value is such a pipeline and the fields looked up in what it gives
(``(index .Items 0).Name``)."""
Pipeline = list[list[Operand]]


@dataclass
class _Node:
    kind: str  # "text", "action", "range", "if", "with", "break", "continue"
    text: str = ""
    pipeline: Pipeline = field(default_factory=list)
    body: list[_Node] = field(default_factory=list)
    otherwise: list[_Node] = field(default_factory=list)
    declare: tuple[str, ...] = ()
    """The variables the pipeline's value goes to (``$x :=``), or is set in (``assign``)."""
    assign: bool = False


class _Break(Exception):
    """``{{break}}``: the range around it stops."""


class _Continue(Exception):
    """``{{continue}}``: the range around it goes on with its next element."""


Scope = list[tuple[str, Any]]
"""The variables in force, innermost last (``$`` first)."""


def render(template: str, data: Any, *, root: Any = MISSING) -> str:
    """``template`` run on ``data``; :class:`TemplateError` with a sentence when the
    template is malformed or asks for what is not there to be done. ``$`` is ``root``
    (``data`` unless given)."""
    nodes = _Parser(template).parse()
    out: list[str] = []
    _run(nodes, data, out, template, [("$", data if root is MISSING else root)])
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
        self.depth = 0
        self.variables = ["$"]
        """The variables declared so far and still in force."""
        self.ranges = 0
        """How many ``range`` bodies the parse is in (``break`` and ``continue`` need one)."""

    def _deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._error(f"its actions nest more than {MAX_DEPTH} deep")

    def _split(self, template: str) -> list[tuple[str, str]]:
        """The template as ("text", …) and ("action", …) pieces, trims applied. An
        action ends at the first ``}}`` outside its strings and comments."""
        template = _text_escapes(template)
        pieces: list[tuple[str, str]] = []
        at = 0
        trim_next = False
        while True:
            opening = template.find("{{", at)
            text = template[at:] if opening < 0 else template[at:opening]
            if trim_next:
                text = text.lstrip(_SPACE)
            if opening < 0:
                pieces.append(("text", text))
                return pieces
            inner = opening + 2
            trim_before = template.startswith("- ", inner) or template.startswith("-\t", inner) \
                or template.startswith("-\n", inner) or template.startswith("-\r", inner)
            if trim_before:
                text = text.rstrip(_SPACE)
                inner += 1
            pieces.append(("text", text))
            closing = self._action_end(template, inner)
            action = template[inner:closing]
            trim_next = len(action) >= 2 and action[-1] == "-" and action[-2] in _SPACE
            if trim_next:
                action = action[:-1]
            pieces.append(("action", action.strip(_SPACE)))
            at = closing + 2

    def _action_end(self, template: str, at: int) -> int:
        """Where the action from ``at`` ends (its ``}}``), past strings and comments."""
        while at < len(template):
            char = template[at]
            if template.startswith("}}", at):
                return at
            if char in "\"`":
                end = at + 1
                while end < len(template) and template[end] != char:
                    end += 2 if char == '"' and template[end] == "\\" else 1
                if end >= len(template):
                    break
                at = end + 1
            elif template.startswith("/*", at):
                end = template.find("*/", at + 2)
                if end < 0:
                    raise self._error("a comment opened with \"/*\" is never closed with \"*/\"")
                at = end + 2
            else:
                at += 1
        raise self._error('an action opened with "{{" is never closed with "}}"')

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
            if word in _CLAUSES:
                nodes.append(self._control(word, text))
                continue
            if word in ("break", "continue") and text == word:
                if not self.ranges:
                    raise self._error(f'"{{{{{word}}}}}" is outside any "{{{{range}}}}"')
                nodes.append(_Node(word))
                continue
            if word in ("define", "template", "block"):
                raise self._error(f'"{{{{{text}}}}}" is beyond what Spyglass reads of Go '
                                  "templates (fields, variables, range, if, with, and the "
                                  f"functions {', '.join(sorted(_FUNCTIONS))})")
            if not text or (text.startswith("/*") and text.endswith("*/")):
                continue  # an empty action or a comment
            declare, assign, pipeline = self._pipeline(text, text)
            nodes.append(_Node("action", pipeline=pipeline, declare=declare, assign=assign))
        return nodes, None

    def _control(self, word: str, text: str) -> _Node:
        """An ``if``, ``range`` or ``with`` node, with its body and its ``else`` part, up
        to its ``end`` (an ``else if`` nests another ``if`` in the ``else`` part). The
        variables declared in it are gone after it, as in Go."""
        self._deeper()
        declared = len(self.variables)
        declare, assign, pipeline = self._pipeline(text[len(word):], text, clause=word)
        node = _Node(word, pipeline=pipeline, declare=declare, assign=assign)
        self.ranges += word == "range"
        node.body, closer = self._block()
        self.ranges -= word == "range"
        if closer == "else":
            chained, self.pending_if = self.pending_if, None
            if chained is not None:
                if word != "if":
                    raise self._error(f'"{{{{else {chained}}}}}" follows a {word}: only an '
                                      "if takes an else if")
                node.otherwise = [self._control("if", chained)]
                self.depth -= 1
                del self.variables[declared:]
                return node
            node.otherwise, closer = self._block()
        if closer != "end":
            raise self._error(f'"{{{{{text}}}}}" is never closed with "{{{{end}}}}"')
        self.depth -= 1
        del self.variables[declared:]
        return node

    def _pipeline(self, text: str, action: str, *, clause: str = ""
                  ) -> tuple[tuple[str, ...], bool, Pipeline]:
        """The variables declared (or set) and the pipeline of an action's ``text``."""
        tokens = [(match.lastgroup or "", match.group(match.lastgroup or 0),
                   match.start(match.lastgroup or 0) > match.start())
                  for match in _TOKEN.finditer(text) if match.lastgroup]
        declare, assign, at = self._declaration(tokens, action, clause)
        pipeline, at = self._group(tokens, at, action)
        if at < len(tokens):
            raise self._error(f'"{{{{{action}}}}}" closes a parenthesis it never opened')
        if not assign:
            self.variables.extend(declare)
        return declare, assign, pipeline

    def _declaration(self, tokens: list[tuple[str, str, bool]], action: str, clause: str
                     ) -> tuple[tuple[str, ...], bool, int]:
        """``$x :=``, ``$x =`` or (in a range) ``$i, $e :=`` at the start of an action:
        the names, whether it sets rather than declares, and where the pipeline starts."""
        kinds = [kind for kind, _value, _spaced in tokens[:4]]
        names: tuple[str, ...]
        if kinds[:2] in (["variable", "declare"], ["variable", "assign"]):
            names, assign, at = (tokens[0][1],), kinds[1] == "assign", 2
        elif kinds in (["variable", "comma", "variable", "declare"],
                       ["variable", "comma", "variable", "assign"]):
            if clause != "range":
                raise self._error(f'"{{{{{action}}}}}" declares two variables, which only '
                                  "a range does")
            names, assign, at = (tokens[0][1], tokens[2][1]), kinds[3] == "assign", 4
        else:
            return (), False, 0
        for name in names:
            if "." in name or name == "$":
                raise self._error(f'"{{{{{action}}}}}" declares "{name}", which is no '
                                  "variable name")
            if assign and name not in self.variables:
                raise self._error(f'"{{{{{action}}}}}" sets {name}, which is not declared '
                                  "before it")
        return names, assign, at

    def _group(self, tokens: list[tuple[str, str, bool]], at: int, action: str
               ) -> tuple[Pipeline, int]:
        """The pipeline from ``tokens[at]`` up to a ``)`` or the end; where it stopped."""
        commands: Pipeline = [[]]
        while at < len(tokens):
            kind, value, _spaced = tokens[at]
            at += 1
            if kind == "bad" and value == '"':
                raise self._error(f'a string in "{{{{{action}}}}}" is not closed on its line')
            if kind in ("bad", "declare", "assign", "comma"):
                raise self._error(f"{value!r} in \"{{{{{action}}}}}\" is not understood")
            if kind == "variable" and value.split(".")[0] not in self.variables:
                raise self._error(f'"{{{{{action}}}}}" uses {value.split(".")[0]}, which is '
                                  "not declared before it")
            if kind == "word" and value in ("true", "false"):
                kind = "bool"
            elif kind == "word" and value == "nil":
                kind = "nil"  # a value a function may take (print nil), no command
            elif kind == "word" and value not in _FUNCTIONS:
                raise self._error(
                    f'"{{{{{action}}}}}" calls "{value}", which is no function Spyglass '
                    f"knows (it knows {', '.join(sorted(_FUNCTIONS))})")
            if kind == "close":
                at -= 1
                break
            if kind == "pipe":
                commands.append([])
            elif kind == "open":
                self._deeper()
                inner, at = self._group(tokens, at, action)
                self.depth -= 1
                if at >= len(tokens) or tokens[at][0] != "close":
                    raise self._error(f'"{{{{{action}}}}}" opens a parenthesis it never '
                                      "closes")
                at += 1
                if at < len(tokens) and tokens[at][0] == "path" and not tokens[at][2]:
                    # (PIPELINE).Field: the fields of what the parentheses give
                    commands[-1].append(("chain", (inner, tokens[at][1])))
                    at += 1
                else:
                    commands[-1].append(("group", inner))
            else:
                commands[-1].append((kind, value))
        if any(not command for command in commands):
            raise self._error(f'"{{{{{action}}}}}" has an empty command')
        for number, command in enumerate(commands):
            kind, value = command[0]
            if kind == "word":
                continue
            if kind == "nil":
                raise self._error(f'"{{{{{action}}}}}" has nil where a command is; nil is '
                                  "a value to give a function (print nil), no command")
            fields = _fields_of(kind, value)
            if fields is not None and len(command) > 1 and not fields.endswith(".Format"):
                given = f'the field "{fields}"' if fields else f'"{value}", which is no function'
                raise self._error(
                    f'"{{{{{action}}}}}" gives arguments to {given} (methods other than '
                    ".Format are beyond what Spyglass reads of Go templates)")
            method = fields is not None and fields.endswith(".Format")  # a time's Format
            if (len(command) > 1 or number) and not method:
                raise self._error(f'"{{{{{action}}}}}" gives a value where a function is '
                                  "to be called")
        return commands, at


# --------------------------------------------------------------------------- running


def _fields_of(kind: str, value: Any) -> str | None:
    """The fields an operand looks up (``.A.B``; ``.A`` of ``$x.A``), None for one that
    looks up none."""
    if kind == "path":
        return str(value)
    if kind == "variable":
        _name, dot, fields = str(value).partition(".")
        return dot + fields
    if kind == "chain":
        return str(value[1])
    return None


def _run(nodes: Sequence[_Node], dot: Any, out: list[str], template: str, scope: Scope
         ) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "action":
            value = _pipeline(node.pipeline, dot, template, scope)
            if node.declare:
                _set(scope, node, value, template)
            else:
                out.append(_print(value))
        elif node.kind in ("break", "continue"):
            raise _Break() if node.kind == "break" else _Continue()
        else:
            mark = len(scope)  # what the clause declares ends with it
            try:
                _clause(node, dot, out, template, scope)
            finally:
                del scope[mark:]


def _set(scope: Scope, node: _Node, value: Any, template: str) -> None:
    """Declare ``node``'s variables with ``value``, or set the innermost of the name."""
    for name in node.declare:
        if node.assign:
            _assign(scope, name, value, template)
        else:
            scope.append((name, value))


def _assign(scope: Scope, name: str, value: Any, template: str) -> None:
    """Set the innermost variable ``name`` in force."""
    for at in range(len(scope) - 1, -1, -1):
        if scope[at][0] == name:
            scope[at] = (name, value)
            return
    raise _undeclared(name, template)


def _undeclared(name: str, template: str) -> TemplateError:
    """A variable used where it is not in force (declared in another branch: as in Go,
    that is found when that branch runs)."""
    return TemplateError(f'The format "{template}" cannot be run: {name} is not declared '
                         "where it is used.")


def _clause(node: _Node, dot: Any, out: list[str], template: str, scope: Scope) -> None:
    """An ``if``, ``with`` or ``range`` node run."""
    value = _pipeline(node.pipeline, dot, template, scope)
    if node.declare and not (node.kind == "range" and node.assign):
        _set(scope, node, value, template)
    if node.kind != "range":
        chosen = node.body if _true(value) else node.otherwise
        _run(chosen, value if node.kind == "with" and chosen is node.body else dot, out,
             template, scope)
        return
    items = _items(value, template)
    if not items:
        _run(node.otherwise, dot, out, template, scope)
    mark = len(scope)
    for key, item in items:
        # as Go: the last variable is the element, the one before it the index or key
        if node.assign:
            _assign(scope, node.declare[-1], item, template)
            if len(node.declare) > 1:
                _assign(scope, node.declare[0], key, template)
        elif node.declare:
            scope[mark - 1] = (node.declare[-1], item)
            if len(node.declare) > 1:
                scope[mark - 2] = (node.declare[0], key)
        try:
            _run(node.body, item, out, template, scope)
        except _Continue:
            pass
        except _Break:
            break
        finally:
            del scope[mark:]


def _pipeline(commands: Pipeline, dot: Any, template: str, scope: Scope) -> Any:
    value: Any = MISSING
    for number, command in enumerate(commands):
        piped = [] if number == 0 else [value]
        value = _command(command, dot, piped, template, scope)
    return value


def _command(command: list[Operand], dot: Any, piped: list[Any], template: str,
             scope: Scope) -> Any:
    (kind, value), rest = command[0], command[1:]
    if kind == "word" and value in ("and", "or") and rest and not piped:
        result: Any = MISSING
        for operand_kind, operand in rest:  # as Go: stop at the first that decides
            result = _operand(operand_kind, operand, dot, template, scope)
            if _true(result) == (value == "or"):
                break
        return result
    if kind == "word":
        function, fewest, most = _FUNCTIONS[value]
        arguments = [_operand(k, v, dot, template, scope) for k, v in rest] + piped
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
    fields = _fields_of(kind, value)
    if fields is not None and fields.endswith(".Format") and (rest or piped):
        parts = [part for part in fields.split(".") if part]
        owner = _operand(kind, value, dot, template, scope, drop=1)
        if not isinstance(owner, GoTime):
            raise TemplateError(f'The format "{template}" cannot be run: {fields} is for a '
                                f"time, and .{'.'.join(parts[:-1])} is {_kind(owner)}.")
        arguments = [_operand(k, v, dot, template, scope) for k, v in rest] + piped
        try:
            return owner.method("Format", arguments)
        except TypeError as exc:
            raise TemplateError(f'The format "{template}" cannot be run: {exc}.') from exc
    if rest or piped:
        what = (f'"{fields or value}" is no function, and takes no arguments (methods '
                "other than .Created.Format are beyond what Spyglass reads of Go templates)"
                if fields is not None else
                f'"{value}" is no function, and takes no arguments')
        raise TemplateError(f'The format "{template}" cannot be run: {what}.')
    return _operand(kind, value, dot, template, scope)


def _operand(kind: str, value: Any, dot: Any, template: str, scope: Scope, *, drop: int = 0
             ) -> Any:
    """An operand's value (with ``drop``, that of its fields but the last ``drop``)."""
    if kind in ("path", "variable", "chain"):
        fields = [part for part in (_fields_of(kind, value) or "").split(".") if part]
        fields = fields[: len(fields) - drop]
        if kind == "path":
            return _lookup(dot, fields, template)
        if kind == "chain":
            return _lookup(_pipeline(value[0], dot, template, scope), fields, template)
        name = str(value).split(".")[0]
        for known, held in reversed(scope):
            if known == name:
                return _lookup(held, fields, template)
        raise _undeclared(name, template)
    if kind == "group":
        return _pipeline(value, dot, template, scope)
    if kind == "raw":
        return str(value)[1:-1]
    if kind == "string":
        return _unquote(str(value), template)
    if kind == "bool":
        return value == "true"
    if kind == "nil":
        return None
    if kind == "number":
        return _number(str(value))
    raise TemplateError(f'The format "{template}" cannot be run: the function "{value}" '
                        "cannot be an argument.")


def _number(text: str) -> int | float:
    """A Go number literal: decimal, ``0x`` hex, ``0o`` or leading-zero octal, float."""
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits[:2].lower() == "0x":
        return sign * int(digits[2:], 16)
    if digits[:2].lower() == "0o":
        return sign * int(digits[2:], 8)
    if len(digits) > 1 and digits[0] == "0" and digits.isdigit():
        return sign * int(digits, 8)
    if any(char in digits for char in ".eE"):
        return sign * float(digits)
    return sign * int(digits)


def _lookup(value: Any, path: list[str], template: str) -> Any:
    for depth, key in enumerate(path):
        if isinstance(value, GoTime):
            try:
                value = value.method(key, [])
            except (KeyError, TypeError):
                raise TemplateError(
                    f'The format "{template}" asks for .{".".join(path[:depth + 1])}, but a '
                    "time has no such method (it has Format, Unix, Year, Month, Day, Hour, "
                    "Minute, Second, Nanosecond, YearDay, Weekday, UTC and String).") from None
            continue
        if isinstance(value, GoMap):
            value = value.get(key, MISSING)
            continue
        if isinstance(value, Mapping):  # a struct: its fields are all there is
            if key not in value:
                where = f" of .{'.'.join(path[:depth])}" if depth else ""
                raise TemplateError(
                    f'The format "{template}" asks for .{".".join(path[:depth + 1])}, which '
                    f"is no field{where}: the fields there are {', '.join(value)}.")
            value = value[key]
            continue
        if value is MISSING or value is None:
            return value
        where = "." + ".".join(path[:depth]) if depth else "the value there (.)"
        raise TemplateError(
            f'The format "{template}" asks for .{".".join(path)}, but {where} is '
            f"{_kind(value)}, which has no fields.")
    return value


def _items(value: Any, template: str) -> list[tuple[Any, Any]]:
    """What a range goes over: (index or key, element) pairs, a map's in key order."""
    if value is MISSING or value is None:
        return []
    if isinstance(value, GoMap):
        return [(key, value[key]) for key in sorted(value)]
    if isinstance(value, list | tuple):
        return list(enumerate(value))
    raise TemplateError(f'The format "{template}" ranges over {_kind(value)}; range takes '
                        "a list or a map.")


def _kind(value: Any) -> str:
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
    if isinstance(value, float):
        return _float_text(value)
    return str(value)


def _float_text(value: float) -> str:
    """As Go's ``%v`` of a float64: the shortest form, an exponent from 1e21 on."""
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{exponent.lstrip('+-').zfill(2)}"
    return text


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
    return gojson.dumps(_plain(value))


class _CannotApply(Exception):
    """A function given what it cannot work on; the text says what."""


def _index(value: Any, *keys: Any) -> Any:
    """As Go's ``index``: a list or a string by a whole number in range, a map by a
    string, a key it has not giving its zero value (:attr:`GoMap.zero`). A struct is
    not indexed (Go: "can't index item of type …"); its fields are looked up by name."""
    for key in keys:
        whole = isinstance(key, int) and not isinstance(key, bool)
        if isinstance(value, GoMap):
            if key is None:
                raise _CannotApply("nil is no key; a map's keys are strings")
            if not isinstance(key, str):
                raise _CannotApply(f"{_print(key)} is {_kind(key)}, and a map's keys are "
                                   "strings")
            value = value.get(key, value.zero)
        elif isinstance(value, Mapping):
            field = (f"; its field is written .{key}" if isinstance(key, str) and key in value
                     and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else
                     " (only a list, a string or a map can; a struct's fields are looked "
                     "up by name, as .Name)")
            raise _CannotApply(f"a struct cannot be indexed{field}")
        elif isinstance(value, str) and whole:
            data = as_given(value)
            if not 0 <= key < len(data):
                raise _CannotApply(f"{key} is out of range (the string has {len(data)} bytes)")
            value = data[key]
        elif isinstance(value, list | tuple) and whole:
            if not 0 <= key < len(value):
                raise _CannotApply(f"{key} is out of range (the list has {len(value)})")
            value = value[key]
        else:
            shown = (json.dumps(key, ensure_ascii=False) if isinstance(key, str)
                     else repr(key) if isinstance(key, float) else _print(key))
            if isinstance(value, list | tuple | str):
                raise _CannotApply(f"{_kind(value)}'s index is a whole number, not {shown}")
            raise _CannotApply(f"{_kind(value)} cannot be indexed with {shown}")
    return value


def _len(value: Any) -> int:
    if value is MISSING or value is None:
        return 0
    if isinstance(value, str):
        return len(as_given(value))  # Go counts a string's bytes
    if isinstance(value, Mapping | list | tuple):
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
    return any(_same(first, other) for other in others)


def _comparable(value: Any) -> Any:
    if isinstance(value, Mapping | list | tuple):
        raise _CannotApply(f"{_kind(value)} cannot be compared")
    return str(value) if isinstance(value, GoTime) else value


def _same(first: Any, other: Any) -> bool:
    """Go's ``eq`` of two values: of one kind (numbers are one), or refused."""
    first, other = _comparable(first), _comparable(other)
    if first is MISSING or other is MISSING:
        return first is other
    kinds = {type(first) if not isinstance(first, int | float) or isinstance(first, bool)
             else float,
             type(other) if not isinstance(other, int | float) or isinstance(other, bool)
             else float}
    if len(kinds) > 1:
        raise _CannotApply(f"{_kind(first)} and {_kind(other)} cannot be compared")
    return bool(first == other)


def _number_or_text(value: Any) -> Any:
    """A value ``lt`` and its kin can order: a number or a string."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _CannotApply(f"{_kind(value)} cannot be ordered")
    return value


def _less(first: Any, second: Any) -> bool:
    """As Go's ``lt``: two integers, two floats or two strings (bytewise)."""
    first, second = _number_or_text(first), _number_or_text(second)
    if type(first) is not type(second):
        raise _CannotApply("incompatible types for comparison")
    if isinstance(first, str):
        return bool(as_given(first) < as_given(second))
    return bool(first < second)


def _less_or_equal(first: Any, second: Any) -> bool:
    return _less(first, second) or _same(first, second)


def _print_line(*values: Any) -> str:
    """As Go's ``println``: spaces between all operands, a newline after them."""
    return " ".join(_print(value) for value in values) + "\n"


def _slice(value: Any, *indexes: Any) -> Any:
    """As Go's ``slice``: ``slice x 1 2`` is ``x[1:2]`` (a string's bytes, or a list;
    a list also takes a third index, its capacity)."""
    if any(isinstance(i, bool) or not isinstance(i, int) for i in indexes):
        raise _CannotApply("its indexes are integers")
    if isinstance(value, str):
        data: Any = as_given(value)
        if len(indexes) > 2:
            raise _CannotApply("a string takes at most two indexes")
    elif isinstance(value, list | tuple):
        data = list(value)
    else:
        raise _CannotApply(f"{_kind(value)} cannot be sliced")
    bounds: list[int] = [*indexes, *[0, len(data), len(data)][len(indexes):]]
    start, end, capacity = bounds
    if not 0 <= start <= end <= capacity <= len(data):
        raise _CannotApply(f"the indexes {', '.join(map(str, indexes))} are out of range "
                           f"(it has {len(data)})")
    piece = data[start:end]
    # (bytes cut out of a character stay bytes, as Go keeps them)
    return piece.decode("utf-8", "surrogateescape") if isinstance(piece, bytes) else piece


def _as_text(values: tuple[Any, ...]) -> str:
    """The text the escaping functions work on: one string as it is, else as ``print``."""
    if len(values) == 1 and isinstance(values[0], str):
        return values[0]
    return _print_all(*values)


_HTML_ESCAPES: Final = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;",
                        "\0": "\ufffd"}
_JS_ESCAPES: Final = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C",
                      ">": "\\u003E", "&": "\\u0026", "=": "\\u003D"}


def _html(*values: Any) -> str:
    """As Go's ``html``."""
    return "".join(_HTML_ESCAPES.get(char, char) for char in _as_text(values))


def _js(*values: Any) -> str:
    """As Go's ``js``: quotes, backslashes and markup escaped, controls as ``\\u00XX``."""
    out = []
    for char in _as_text(values):
        if char in _JS_ESCAPES:
            out.append(_JS_ESCAPES[char])
        elif char < " " or (char >= "\x80" and not char.isprintable()):
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def _urlquery(*values: Any) -> str:
    """As Go's ``urlquery`` (``url.QueryEscape``)."""
    from urllib.parse import quote_plus

    return quote_plus(_as_text(values), safe="")


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


_VERB: Final = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d*))?(.?)", re.DOTALL)


def _printf(layout: Any, *values: Any) -> str:
    """As Go's ``printf`` for the verbs people use — ``%v %s %q %d %t %x %X %o %f %e
    %g %%`` with flags, width and precision — and Go's ``%!`` marks for what does not
    fit (a missing value, a value of the wrong kind, one too many)."""
    if not isinstance(layout, str):
        raise _CannotApply(f"its first argument is the layout, a string, not {_kind(layout)}")
    left = list(values)

    def verb(match: re.Match[str]) -> str:
        flags, width, precision, letter = match.groups()
        if letter == "%":
            return "%"
        if not letter:
            return "%!(NOVERB)"
        if (width and int(width) > MAX_WIDTH) or (precision and int(precision) > MAX_WIDTH):
            raise _CannotApply(f"a width or precision above {MAX_WIDTH} is not printed")
        if not left:
            return f"%!{letter}(MISSING)"
        text = _format_value(left.pop(0), letter, flags, precision)
        if width and len(text) < int(width):
            pad = int(width) - len(text)
            if "-" in flags:
                text += " " * pad
            elif "0" in flags and letter in "dxXofeg" and text[:1] in "+-":
                text = text[0] + "0" * pad + text[1:]
            elif "0" in flags and letter in "dxXofeg":
                text = "0" * pad + text
            else:
                text = " " * pad + text
        return text

    printed = _VERB.sub(verb, layout)
    if left:
        printed += "%!(EXTRA " + ", ".join(
            f"{_go_type(value)}={_print(value)}" for value in left) + ")"
    return printed


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "interface {}"


def _format_value(value: Any, letter: str, flags: str, precision: str | None) -> str:
    """One value as ``%<flags><letter>`` prints it (width aside)."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    plus = "+" if "+" in flags else ""
    if letter in "vs":
        text = _print(value)
        return text[: int(precision)] if precision and letter == "s" else text
    if letter == "q" and isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if letter == "t" and isinstance(value, bool):
        return "true" if value else "false"
    if letter in "dxXo" and number and isinstance(value, int):
        spec = {"d": "d", "x": "x", "X": "X", "o": "o"}[letter]
        return format(value, plus + spec)
    if letter in "xX" and isinstance(value, str):
        text = as_given(value).hex()
        return text.upper() if letter == "X" else text
    if letter in "feg" and number:
        digits = 6 if precision in (None, "") else int(precision)
        if letter == "g" and precision in (None, ""):
            return plus + _float_text(float(value)) if value >= 0 or not plus \
                else _float_text(float(value))
        text = format(float(value), f"{plus}.{digits}{letter}")
        if letter == "e":  # Go writes at least two exponent digits, as Python does
            return text
        return text
    return f"%!{letter}({_go_type(value)}={_print(value)})"


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
    "ne": (lambda first, second: not _same(first, second), 2, 2),
    "not": (lambda value: not _true(value), 1, 1),
    "and": (_and, 1, None),
    "or": (_or, 1, None),
    "printf": (_printf, 1, None),
    "print": (_print_all, 0, None),
    "println": (_print_line, 0, None),
    "lt": (_less, 2, 2),
    "le": (_less_or_equal, 2, 2),
    "gt": (lambda first, second: not _less_or_equal(first, second), 2, 2),
    "ge": (lambda first, second: not _less(first, second), 2, 2),
    "slice": (_slice, 1, 4),
    "html": (_html, 0, None),
    "js": (_js, 0, None),
    "urlquery": (_urlquery, 0, None),
}
