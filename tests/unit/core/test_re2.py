"""Go's regular expressions read by Python's re, as skopeo sync's images-by-tag-regex
are Go's: the syntax of Go's own (``regexp/syntax``) written in Python's."""

from __future__ import annotations

import re
import warnings

import pytest

from spyglass.core.re2 import _compile, compile_re2

TAGS = ("v0", "v1", "v10", "V2", "other", "1.10", "a.b", "axb", "x_y", "-", "&", "[", "]")


@pytest.mark.parametrize(("pattern", "matching"), [
    # ASCII classes in brackets: Python read [[:digit:]] as the set "[:digt" then "]"
    (r"^v[[:digit:]]+$", ["v0", "v1", "v10"]),
    (r"^[[:alpha:]][[:digit:]]$", ["v0", "v1", "V2"]),
    (r"^[[:upper:][:punct:]]", ["V2", "-", "&", "[", "]"]),
    (r"^[^[:^digit:]]", ["1.10"]),  # (the digits: not a non-digit)
    (r"[[:word:]]_", ["x_y"]),
    # Unicode classes (no such escape in Python's re)
    (r"^\pL\d$", ["v0", "v1", "V2"]),
    (r"^\p{Lu}", ["V2"]),
    (r"^\PL", ["1.10", "-", "&", "[", "]"]),
    (r"^\p{^L}", ["1.10", "-", "&", "[", "]"]),
    (r"^[\pN.]+$", ["1.10"]),
    (r"^\p{Latin}+$", ["other", "axb"]),
    (r"^[\p{Zl}]", []),  # (no ASCII character is one: a set of none)
    # \z, \Q…\E, \x{…}, (?P<name>…)
    (r"v1\z", ["v1"]),
    (r"^\Qa.b\E$", ["a.b"]),
    (r"^\x{76}\d$", ["v0", "v1"]),
    (r"^(?P<letter>v)1", ["v1", "v10"]),
    # what Go reads as the characters themselves inside brackets, which Python warns of
    (r"^[[]$", ["["]),
    (r"^[]a]$", ["]"]),
    (r"^[a&&b]$", ["&"]),
    (r"^[+--]$", ["-"]),
    # and what both read alike stays as it is
    (r"^v\d+$", ["v0", "v1", "v10"]),
    (r"(?i)^v2$", ["V2"]),
])
def test_go_s_syntax_matches_the_tags_go_would_match(pattern: str, matching: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (nothing Python warns of is left)
        expression = compile_re2(pattern)
    assert [tag for tag in TAGS if expression.search(tag)] == matching


@pytest.mark.parametrize(("pattern", "tags", "matching"), [
    # Go reads a { that starts no {n}, {n,} or {n,m} as itself: {,2} is no repeat there
    (r"^v1\.0-rc{,2}$", ["v1.0-r", "v1.0-rcc", "v1.0-rc{,2}"], ["v1.0-rc{,2}"]),
    (r"v{,2}", ["v1", "1.0", "v{,2}"], ["v{,2}"]),
    (r"^a{2}$", ["a", "aa"], ["aa"]),
    # a - straight after a class in brackets is the character (no range from its last
    # member): [\w-.] is a tag's own alphabet, which Python refused as a bad range
    (r"^[\w-.]+$", ["a-b.c", "a b"], ["a-b.c"]),
    (r"^[\d-z]$", ["1", "-", "z", "5", "a"], ["1", "-", "z", "5"]),
    (r"^[[:blank:]-z]$", ["A", "M", "1", "z", "-", " "], ["z", "-", " "]),
    (r"^[\p{Zs}-z]$", ["A", "z", "-", " "], ["z", "-", " "]),
])
def test_what_go_reads_as_characters_stays_characters(
        pattern: str, tags: list[str], matching: list[str]) -> None:
    expression = compile_re2(pattern)
    assert [tag for tag in tags if expression.search(tag)] == matching


@pytest.mark.parametrize(("pattern", "said"), [
    (r"[[:digt:]]", "[:digt:] is no class Go knows; it knows [:alnum:], [:alpha:]"),
    (r"\p{Greek}", r"\p{Greek} is not read here: tags are ASCII"),
    (r"\p{L", r"missing closing } for \p at position 0"),
    (r"[a", "missing closing ] for the set at position 0"),
    ("a\\", "trailing backslash"),
    (r"\x{zz}", r"no character code in \x{…}"),
    (r"(", "missing ), unterminated subpattern at position 0"),
    (r"\pL(", "missing ), unterminated subpattern"),  # (no position of the translation)
])
def test_what_is_no_expression_is_refused_saying_why(pattern: str, said: str) -> None:
    with pytest.raises(re.error) as refused:
        compile_re2(pattern)
    assert str(refused.value).startswith(said), refused.value
    if pattern.startswith(r"\pL"):
        assert "position" not in str(refused.value)


def test_a_set_python_would_read_otherwise_later_is_refused_not_warned_of() -> None:
    """Python's FutureWarning (a raw warning with a source path on stderr) is a refusal
    for whatever the translation leaves that Python would warn of."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(re.error, match=r"^possible nested set at position 1, which a "
                           "later Python may read otherwise: put a backslash before the "
                           "character meant$"):
            _compile("[[a]", "[[a]")


@pytest.mark.parametrize(("pattern", "said"), [
    # Python's own syntax, which Go (skopeo) refuses: it matched "latest" and synced it
    ("lat(?=est)", "(?= is not Go's syntax: Go reads (?P<name>…), and the flags i, m, s and "
                   "U as (?i) or (?i:…); lookarounds, (?#…), (?>…), (?P=name) and other "
                   "flags are Python's"),
    ("lat(?!x)", "(?! is not Go's syntax"),
    ("(?<=l)atest", "(?<= is not Go's syntax"),
    # Go 1.22's; skopeo 1.9 (Go 1.19) says "invalid or unsupported Perl syntax: `(?<`"
    ("^(?<x>v)1$", "(?<name>…) is not Go's syntax as skopeo reads it: Go 1.19, which "
                   "skopeo 1.9 uses, reads only (?P<name>…) (Go 1.22 reads both)"),
    ("(?<!x)latest", "(?<! is not Go's syntax"),
    ("(?a)l", "(?a is not Go's syntax"),
    ("(?x)l", "(?x is not Go's syntax"),
    ("(?>l)", "(?> is not Go's syntax"),
    ("(?#c)l", "(?# is not Go's syntax"),
    ("(?P<n>l)(?P=n)", "(?P is not Go's syntax"),
    ("(?(1)a|b)", "(?( is not Go's syntax"),
    ("(?-)l", "(?-) is not Go's syntax"),
    ("(?i-)l", "(?i-) is not Go's syntax"),
    ("l++", "++ repeats a repetition, which Go refuses (a possessive a++ or a*+ is "
            "Python's syntax, not Go's)"),
    ("l*+", "*+ repeats a repetition"),
    ("l?+", "?+ repeats a repetition"),
    ("l{2}+", "{2}+ repeats a repetition"),
    ("l*?+", "*?+ repeats a repetition"),
    ("l{1001}", "{1001} repeats more than Go's 1000 times"),
    (r"l\Z", r"\Z is Python's end of the text, not Go's: Go's is \z"),
    (r"(l)\1", r"\1 is a backreference, which Go's expressions do not have"),
    (r"\u006c", r"\u is no escape Go knows"),
    (r"\N{LATIN SMALL LETTER L}", r"\N is no escape Go knows"),
    (r"[\b]", r"\b is no escape Go knows inside brackets"),
])
def test_what_python_reads_and_go_refuses_is_refused(pattern: str, said: str) -> None:
    with pytest.raises(re.error) as refused:
        compile_re2(pattern)
    assert str(refused.value).startswith(said), refused.value


@pytest.mark.parametrize(("pattern", "text", "matched"), [
    # Go's U flag: each repetition lazy where it is written greedy, and the other way
    (r"(?U)v\d+", "v123", "v1"),
    (r"(?U)v\d+?", "v123", "v123"),
    (r"(?U:v\d*)", "v123", "v"),
    (r"(?U:v)\d*", "v123", "v123"),  # (to the group's end)
    (r"(?U)(v\d{1,3})", "v123", "v1"),
    (r"(?U)(?-U)v\d+", "v123", "v123"),
    (r"v\d+", "v123", "v123"),
    # flags in the middle last to their group's end, in each alternative after them
    (r"^a(?i)b|c", "C", "C"),
    (r"^a(?i)b|c", "aB", "aB"),
    (r"^(a(?i)b)B", "abB", "abB"),
    (r"^(a(?i)b)B", "aBb", None),
    (r"(?)v1", "v1", "v1"),
    (r"\101\0", "A\0", "A\0"),  # (Go's octal, where Python's \101 is a group)
])
def test_go_s_flags_read_as_go_reads_them(pattern: str, text: str, matched: str | None
                                          ) -> None:
    found = compile_re2(pattern).search(text)
    assert (found.group() if found else None) == matched
