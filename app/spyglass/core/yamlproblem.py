"""A YAML parser's complaint, said as the end of one sentence naming the file.

Shared by the files Spyglass reads as YAML (a sync source file, a ``registries.d``
file): PyYAML's own message spans several lines, quotes the text with carets, and
begins with its *context* ("while scanning for the next token"), which alone says
nothing of what is wrong or where.
"""

from __future__ import annotations


def yaml_problem(exc: Exception) -> str:
    """The parser's complaint as the end of one sentence: ``at line L, column C: what``
    (1-based, where the parser noticed it, and where what it was reading began), without
    its quoted snippets and carets."""
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None and exc.problem:
        mark = exc.problem_mark
        said = f" at line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
        begun = exc.context_mark
        if exc.context and begun is not None and (begun.line, begun.column) != (
                mark.line, mark.column):
            said += (f" ({exc.context.removeprefix('while ')} begun at line "
                     f"{begun.line + 1}, column {begun.column + 1})")
        return said
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not take
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return (f": the character U+{ord(character):04X} at position {exc.position + 1} "
                "is not allowed")
    said = " ".join(str(exc).split()).replace(' in "<unicode string>"', "")
    return f": {said}" if said else ""


__all__ = ["yaml_problem"]
