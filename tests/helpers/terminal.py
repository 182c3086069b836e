"""A terminal just good enough to read what ``spyglass copy`` draws on one."""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"\x1b\[(\d*)([AKJ])")


def screen(text: str) -> list[str]:
    """The lines a terminal shows after ``text`` is written to it from its top-left
    corner: carriage return, newline, and the escapes for cursor up (``ESC[nA``),
    clear to the end of the line (``ESC[K``) and to the end of the screen (``ESC[J``).
    Trailing blanks and empty last lines are dropped."""
    lines: list[list[str]] = [[]]
    row = column = 0
    at = 0
    while at < len(text):
        escape = _ESCAPE.match(text, at)
        if escape is not None:
            count, kind = escape.groups()
            if kind == "A":
                row = max(0, row - int(count or "1"))
            elif kind == "K":
                del lines[row][column:]
            else:
                del lines[row][column:]
                del lines[row + 1:]
            at = escape.end()
            continue
        char = text[at]
        at += 1
        if char == "\r":
            column = 0
        elif char == "\n":
            row, column = row + 1, 0
        else:
            if char == "\x1b":
                raise AssertionError(f"an escape this terminal does not know: {text[at:at + 8]!r}")
            line = lines[row]
            line.extend(" " * (column - len(line)))
            if column < len(line):
                line[column] = char
            else:
                line.append(char)
            column += 1
        while len(lines) <= row:
            lines.append([])
    shown = ["".join(line).rstrip() for line in lines]
    while shown and not shown[-1]:
        shown.pop()
    return shown
