"""Reading a ``--format`` template (:mod:`spyglass.cli.template`) whole before it
runs: the text cut into text and actions (``{{-`` and ``-}}`` trims applied), each
action's pipeline cut into operands, and the ``if``, ``range`` and ``with`` clauses
nested with their bodies.

:class:`Parser` refuses, with a sentence, a function it does not know, a variable used
before it is declared, and the parts of Go's templates beyond what Spyglass reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from spyglass.cli.template_functions import FUNCTIONS
from spyglass.cli.template_values import TemplateError

_SPACE: Final = " \t\r\n"
"""What Go trims beside ``{{-`` and ``-}}``: spaces, tabs, carriage returns, newlines."""
MAX_DEPTH: Final = 64
"""How deeply actions (``if``, ``range``, parentheses) may nest."""
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


Operand = tuple[str, Any]
"""``(kind, value)``: a ``string``, ``number``, ``path``, ``variable`` (``$x.Field``)
or ``word`` token, a ``group``, whose value is a parenthesized pipeline, or a
``chain``, whose value is such a pipeline and the fields looked up in what it gives
(``(index .Items 0).Name``)."""
Pipeline = list[list[Operand]]


@dataclass
class Node:
    kind: str  # "text", "action", "range", "if", "with", "break", "continue"
    text: str = ""
    pipeline: Pipeline = field(default_factory=list)
    body: list[Node] = field(default_factory=list)
    otherwise: list[Node] = field(default_factory=list)
    declare: tuple[str, ...] = ()
    """The variables the pipeline's value goes to (``$x :=``), or is set in (``assign``)."""
    assign: bool = False


def _text_escapes(text: str) -> str:
    """``\\n`` and ``\\t`` typed into the text between actions, as newline and tab (as
    skopeo reads a format; a shell passes them through as two characters)."""
    return text.replace("\\n", "\n").replace("\\t", "\t")


class Parser:
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

    def parse(self) -> list[Node]:
        nodes, closer = self._block()
        if closer is not None:
            raise self._error(f'"{{{{{closer}}}}}" has no "{{{{range}}}}" or "{{{{if}}}}" '
                              "before it")
        return nodes

    def _block(self) -> tuple[list[Node], str | None]:
        """Nodes up to an ``end`` or ``else`` (returned) or the end of the template."""
        nodes: list[Node] = []
        while self.at < len(self.pieces):
            kind, text = self.pieces[self.at]
            self.at += 1
            if kind == "text":
                if text:
                    nodes.append(Node("text", text))
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
                nodes.append(Node(word))
                continue
            if word in ("define", "template", "block"):
                raise self._error(f'"{{{{{text}}}}}" is beyond what Spyglass reads of Go '
                                  "templates (fields, variables, range, if, with, and the "
                                  f"functions {', '.join(sorted(FUNCTIONS))})")
            if not text or (text.startswith("/*") and text.endswith("*/")):
                continue  # an empty action or a comment
            declare, assign, pipeline = self._pipeline(text, text)
            nodes.append(Node("action", pipeline=pipeline, declare=declare, assign=assign))
        return nodes, None

    def _control(self, word: str, text: str) -> Node:
        """An ``if``, ``range`` or ``with`` node, with its body and its ``else`` part, up
        to its ``end`` (an ``else if`` nests another ``if`` in the ``else`` part). The
        variables declared in it are gone after it, as in Go."""
        self._deeper()
        declared = len(self.variables)
        declare, assign, pipeline = self._pipeline(text[len(word):], text, clause=word)
        node = Node(word, pipeline=pipeline, declare=declare, assign=assign)
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
            elif kind == "word" and value not in FUNCTIONS:
                raise self._error(
                    f'"{{{{{action}}}}}" calls "{value}", which is no function Spyglass '
                    f"knows (it knows {', '.join(sorted(FUNCTIONS))})")
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
            fields = fields_of(kind, value)
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


def fields_of(kind: str, value: Any) -> str | None:
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
