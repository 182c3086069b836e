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
  ``not``, ``and``, ``or``, ``printf`` (as Go's fmt, lists and maps element by
  element) and ``print``;
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
methods (``.Created.Format "2006-01-02"``, ``.Created.Unix``); a digest is a
:class:`~spyglass.cli.template_values.GoDigest`, with go-digest's (``.Digest.Encoded``).

Values print as Go prints them: a list ``[a b]``, a struct (a dict) ``{v1 v2}``
in its order, a map (:class:`GoMap`) ``map[k:v]`` with its keys sorted — and
``json`` sorts them too — a time (:class:`GoTime`) as Go's ``Time.String``, a
missing key ``<no value>``, None ``<nil>``. Anything else is refused with a
sentence naming the template and what was expected.

The template is read by :mod:`~spyglass.cli.template_parse`, its values and how they
print are in :mod:`~spyglass.cli.template_values`, and its functions in
:mod:`~spyglass.cli.template_functions`; this module runs it (:func:`render`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from spyglass.cli.gotime import GoTime
from spyglass.cli.template_functions import FUNCTIONS, CannotApply
from spyglass.cli.template_parse import Node, Operand, Parser, Pipeline, fields_of
from spyglass.cli.template_values import (
    MISSING,
    GoDigest,
    GoMap,
    TemplateError,
    is_true,
    kind_of,
    print_value,
)


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
    nodes = Parser(template).parse()
    out: list[str] = []
    _run(nodes, data, out, template, [("$", data if root is MISSING else root)])
    return "".join(out)


def _run(nodes: Sequence[Node], dot: Any, out: list[str], template: str, scope: Scope
         ) -> None:
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "action":
            value = _pipeline(node.pipeline, dot, template, scope)
            if node.declare:
                _set(scope, node, value, template)
            else:
                out.append(print_value(value))
        elif node.kind in ("break", "continue"):
            raise _Break() if node.kind == "break" else _Continue()
        else:
            mark = len(scope)  # what the clause declares ends with it
            try:
                _clause(node, dot, out, template, scope)
            finally:
                del scope[mark:]


def _set(scope: Scope, node: Node, value: Any, template: str) -> None:
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


def _clause(node: Node, dot: Any, out: list[str], template: str, scope: Scope) -> None:
    """An ``if``, ``with`` or ``range`` node run."""
    value = _pipeline(node.pipeline, dot, template, scope)
    if node.declare and not (node.kind == "range" and node.assign):
        _set(scope, node, value, template)
    if node.kind != "range":
        chosen = node.body if is_true(value) else node.otherwise
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
            if is_true(result) == (value == "or"):
                break
        return result
    if kind == "word":
        function, fewest, most = FUNCTIONS[value]
        arguments = [_operand(k, v, dot, template, scope) for k, v in rest] + piped
        if not fewest <= len(arguments) <= (most if most is not None else len(arguments)):
            wanted = (f"{fewest}" if most == fewest else f"at least {fewest}" if most is None
                      else f"{fewest} to {most}")
            raise TemplateError(
                f'The format "{template}" cannot be run: {value} takes {wanted} '
                f"argument{'s' if wanted != '1' else ''}, not {len(arguments)}.")
        try:
            return function(*arguments)
        except CannotApply as exc:
            raise TemplateError(
                f'The format "{template}" cannot be run: {value}: {exc}.') from exc
    fields = fields_of(kind, value)
    if fields is not None and fields.endswith(".Format") and (rest or piped):
        parts = [part for part in fields.split(".") if part]
        owner = _operand(kind, value, dot, template, scope, drop=1)
        if not isinstance(owner, GoTime):
            raise TemplateError(f'The format "{template}" cannot be run: {fields} is for a '
                                f"time, and .{'.'.join(parts[:-1])} is {kind_of(owner)}.")
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
        fields = [part for part in (fields_of(kind, value) or "").split(".") if part]
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
        if isinstance(value, GoTime | GoDigest):
            what, methods = (("time", GoTime.METHODS) if isinstance(value, GoTime)
                             else ("digest", GoDigest.METHODS))
            try:
                value = (value.method(key, []) if isinstance(value, GoTime)
                         else value.method(key))
            except (KeyError, TypeError):
                raise TemplateError(
                    f'The format "{template}" asks for .{".".join(path[:depth + 1])}, but a '
                    f"{what} has no such method (it has {', '.join(methods[:-1])} and "
                    f"{methods[-1]}).") from None
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
        if value is MISSING:  # (a missing map key: Go goes on with no value)
            return value
        where = "." + ".".join(path[:depth]) if depth else "the value there (.)"
        if value is None:  # (a nil pointer: Go fails, "nil pointer evaluating")
            raise TemplateError(
                f'The format "{template}" asks for .{".".join(path[:depth + 1])}, but '
                f"{where} is nil (the image has none).")
        raise TemplateError(
            f'The format "{template}" asks for .{".".join(path)}, but {where} is '
            f"{kind_of(value)}, which has no fields.")
    return value


def _items(value: Any, template: str) -> list[tuple[Any, Any]]:
    """What a range goes over: (index or key, element) pairs, a map's in key order."""
    if value is MISSING or value is None:
        return []
    if isinstance(value, GoMap):
        return [(key, value[key]) for key in sorted(value)]
    if isinstance(value, list | tuple):
        return list(enumerate(value))
    raise TemplateError(f'The format "{template}" ranges over {kind_of(value)}; range takes '
                        "a list or a map.")


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
