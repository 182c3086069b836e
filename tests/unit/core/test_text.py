"""Text that stands for bytes: written back as those bytes, shown as escapes."""

from __future__ import annotations

import os
import random

import pytest

from spyglass.cli import terminal_safe
from spyglass.core.text import (
    NotOneWord,
    as_given,
    quoted_once,
    shell_quoted,
    shell_unquoted,
    unexpanded_variable,
    visible,
)


def test_a_byte_that_was_not_utf8_is_shown_as_that_byte() -> None:
    """Python's ``\\udcff`` is no byte anyone can read: ``\\xff`` is (skopeo, ``ls -b``)."""
    name = os.fsdecode(b"p/bad\xff/caf\xc3\xa9")
    assert visible(name) == "p/bad\\xff/caf\u00e9"
    assert terminal_safe(f'The path "{name}" does not exist.') == \
        'The path "p/bad\\xff/caf\u00e9" does not exist.'
    # a surrogate no byte was read as stays what it is
    assert visible("a\ud800b") == "a\\ud800b"


def test_controls_and_format_characters_are_escaped() -> None:
    assert visible("x\x1b[31mred\x07") == "x\\x1b[31mred\\x07"
    assert visible("ab\u202ecd\u200be\u2066f\u200fg") == "ab\\u202ecd\\u200be\\u2066f\\u200fg"
    assert visible("tag\U000e0001") == "tag\\U000e0001"
    assert visible("caf\u00e9 \u65e5\u672c \u05e9\u05dc\u05d5\u05dd \U0001f433") == \
        "caf\u00e9 \u65e5\u672c \u05e9\u05dc\u05d5\u05dd \U0001f433"


def test_as_given_writes_each_byte_back() -> None:
    assert as_given(os.fsdecode(b"x\xffy\xc3\xa9")) == b"x\xffy\xc3\xa9"
    assert as_given("\u2192") == "\u2192".encode()
    assert as_given("a\ud800b") == "a\ufffdb".encode()


def test_a_joiner_that_joins_stays() -> None:
    """U+200D makes one picture of several emoji, and U+200C shapes Persian: they stay.
    Between Latin letters (or alone) a joiner only hides: it is shown."""
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    flag = "\U0001f3f3\ufe0f\u200d\U0001f308"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    assert visible(f"{family} {flag} {persian}") == f"{family} {flag} {persian}"
    assert visible("ad\u200dmin \u200d\U0001f468 a\u200cb") == \
        "ad\\u200dmin \\u200d\U0001f468 a\\u200cb"


def test_spaces_show_and_joiners_hide_only_where_no_script_joins() -> None:
    """A no-break or ideographic space is a space (the window showed \\xa0, \\u3000); a
    tab is kept where asked; a joiner between CJK, Hangul or fullwidth Latin letters
    only hides (fullwidth a, d, ZWJ, m, i, n passed for admin) and is shown; a word-final Malayalam
    chillu and England's flag (tag characters after 🏴) are what they are."""
    assert visible("Prix\xa010\xa0\u20ac \u65e5\u672c\u3000\u8a9e") == \
        "Prix\xa010\xa0\u20ac \u65e5\u672c\u3000\u8a9e"
    assert visible("set -eux;\tapt-get update\n", keep="\t\n") == \
        "set -eux;\tapt-get update\n"
    assert visible("a\tb") == "a\\x09b"
    assert visible("\uff41\uff44\u200d\uff4d\uff49\uff4e \u4e2d\u200c\u6587 \ud55c\u200d\uad6d") \
        == "\uff41\uff44\\u200d\uff4d\uff49\uff4e \u4e2d\\u200c\u6587 \ud55c\\u200d\uad6d"
    chillu = "\u0d28\u0d4d\u200d"
    england = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
    assert visible(f"{chillu} {england}") == f"{chillu} {england}"
    assert visible("x\U000e0067") == "x\\U000e0067"  # a tag character with no flag


def test_a_path_that_is_no_text_is_quoted_as_a_shell_takes_it() -> None:
    from spyglass.core.text import shell_quoted

    assert shell_quoted("/tmp/caf\u00e9 x") == "/tmp/caf\u00e9 x"
    assert shell_quoted(os.fsdecode(b"/tmp/it's\\bad\xff\n")) == \
        "$'/tmp/it\\'s\\\\bad\\xff\\x0a'"


@pytest.mark.parametrize(("quoted", "word"), [
    ("'oci:/srv/my layout é:x'", "oci:/srv/my layout é:x"),
    ('"a \\"b\\" \\$c"', 'a "b" $c'),
    ("$'it\\'s\\x0aline\\t\\101\\u00e9'", "it's\nline\tAé"),
    ("$'caf\\xe9'", os.fsdecode(b"caf\xe9")),
])
def test_a_quoted_word_is_read_as_a_shell_reads_it(quoted: str, word: str) -> None:
    assert shell_unquoted(quoted) == word


@pytest.mark.parametrize(("quoted", "word"), [
    # GNU ls (--quoting-style=shell-escape, its default on a terminal): parts one after
    # the other
    ("'/x/new'$'\\n''line'", "/x/new\nline"),
    ("'/x/latin-caf'$'\\351'", os.fsdecode(b"/x/latin-caf\xe9")),
    ("'/x/caf'$'\\303''\u00a0'", os.fsdecode(b"/x/caf\xc3\xc2\xa0")),
    ("$'\\303'$'\\251'", "\u00e9"),  # (a character's bytes in two parts: one character)
    # bash's printf %q and its completion: backslashes outside quotes
    ("/x/my\\ layout", "/x/my layout"),
    ("/x/it\\'s", "/x/it's"),
    ("/x/a\\\\b\\$c", "/x/a\\b$c"),
    ("/x/long\\\nname", "/x/longname"),  # (a backslash and a line break: one line)
    # Python's shlex.quote, and ours
    ("'/x/it'\"'\"'s here'", "/x/it's here"),
    ("'/x/it'\\''s here'", "/x/it's here"),
    ('"/x/"\'$HOME\'', "/x/$HOME"),
    ('$"/x/y"', "/x/y"),
    ("'/x/ends in a space '", "/x/ends in a space "),
    ("'/x/trailing'\\", "/x/trailing\\"),
])
def test_a_word_as_shells_and_tools_write_it_is_read_as_a_shell_reads_it(
        quoted: str, word: str) -> None:
    assert shell_unquoted(quoted) == word


def test_text_without_quotes_or_backslashes_is_no_quoting() -> None:
    for text in ("plain", "/srv/my layout é", "$HOME/x*", "oci:/srv/x:tag", ""):
        assert shell_unquoted(text) is None


@pytest.mark.parametrize(("text", "kind", "said"), [
    ("'a' 'b'", "words", "\"'a' 'b'\" is several words to a shell, not one name."),
    ("/x/my\\ layout other", "words", "is several words to a shell"),
    ("'a';rm", "words", "is several words to a shell"),
    ("'a'b'", "unclosed", "The ' at character 5 of \"'a'b'\" is not closed"),
    ("$'a'b'", "unclosed", "The ' at character 6 of"),
    ("$'a\\'", "unclosed", "The $' at character 1 of"),
    ('"/x/a', "unclosed", 'The " at character 1 of'),
    ('"$HOME"', "expanded", "has a $ in double quotes, which a shell would replace"),
    ("'/x/'$HOME", "expanded", "has a $ outside quotes, which a shell would replace"),
    ("'/x/'*", "expanded", "has a * outside quotes"),
    ("`id`'x'", "expanded", "has a ` outside quotes"),
])
def test_what_is_not_one_word_is_said(text: str, kind: str, said: str) -> None:
    with pytest.raises(NotOneWord) as raised:
        shell_unquoted(text)
    assert raised.value.kind == kind
    assert said in str(raised.value)


def test_what_is_said_quotes_the_text_once() -> None:
    """A name pasted in double quotes was shown in a second pair (""$HOME/x"")."""
    assert quoted_once('"$HOME/x"') == '"$HOME/x"'
    assert quoted_once('"/x/a') == "'\"/x/a'"
    assert quoted_once("'a' 'b'") == "\"'a' 'b'\""
    assert quoted_once("/x/y") == '"/x/y"'
    with pytest.raises(NotOneWord) as raised:
        shell_unquoted('"$HOME/x"')
    assert str(raised.value).startswith('"$HOME/x" has a $ in double quotes')


def test_a_variable_is_not_advised_into_single_quotes() -> None:
    """Single quotes keep $HOME as it is written, which is not the path meant."""
    for text, char in (('"$HOME/x"', "$"), ("'/x/'$HOME", "$"), ('"`pwd`/x"', "`")):
        with pytest.raises(NotOneWord) as raised:
            shell_unquoted(text)
        assert "and this field does not: write the path itself (where " \
            f"{char} is part of the name" in str(raised.value)
    with pytest.raises(NotOneWord) as raised:
        shell_unquoted("'/x/'*")
    assert str(raised.value).endswith("which a shell would replace: put it in quotes.")


def test_a_name_that_starts_with_a_variable_says_it_is_not_replaced() -> None:
    assert unexpanded_variable("$HOME/x") == (
        '"$HOME/x" has $HOME, a variable a shell would replace and this field does not: '
        "write the path itself.")
    assert "has ${XDG_DATA_HOME}, a variable" in unexpanded_variable("${XDG_DATA_HOME}/x")
    assert "has $HOME, a variable" in unexpanded_variable("oci:$HOME/x:tag")
    for name in ("/srv/a$b", "$ 5", "$5/x", "registry.example/app:1", "oci:/x/$HOME"):
        assert unexpanded_variable(name) == "", name


def test_a_name_that_would_be_read_as_quoting_is_quoted() -> None:
    assert shell_quoted("/x/it's") == "'/x/it'\\''s'"
    assert shell_quoted('/x/a "b"\\c') == "'/x/a \"b\"\\c'"
    assert shell_quoted(" /x/edge ") == "' /x/edge '"
    assert shell_quoted("/x/$HOME and *") == "/x/$HOME and *"  # (taken as it is)


def test_shell_quoted_text_is_read_back() -> None:
    for path in (os.fsdecode(b"/x/caf\xe9\nz\\'q"), "/plain", "tab\there"):
        quoted = shell_quoted(path)
        assert (shell_unquoted(quoted) if quoted != path else path) == path


NAME_PARTS = ["a", "Z", "/", ".", ":", " ", "'", '"', "\\", "$", "`", "*", "?", "[", "~",
              "\n", "\t", "\r", "\x01", "\x7f", "\u00e9", "\u00a0", "\u200b", "\u202e",
              "\U0001f600", "\udce9", "\udcff", "\\x", "\\'", "'\\''", "$'", "\\n"]


def test_every_name_as_shell_quoted_writes_it_reads_back_as_itself() -> None:
    """Names of quotes, backslashes, blanks at their ends, control characters, bytes
    that are not UTF-8: quoted, then read, each is itself again; unquoted, it is no
    quoting (taken as it is) and has no blank at an end (a paste strips those)."""
    chosen = random.Random(21)
    for _ in range(600):
        name = "".join(chosen.choice(NAME_PARTS) for _ in range(chosen.randint(1, 10)))
        quoted = shell_quoted(name)
        if quoted == name:
            assert shell_unquoted(name) is None and name == name.strip(), repr(name)
        else:
            assert shell_unquoted(quoted) == name, (name, quoted)


def test_a_value_from_outside_is_quoted_escaped_and_cut() -> None:
    """A URL a manifest names (or a registry's token server) goes into a sentence in
    quotes, its escapes shown, a long one cut with its length said."""
    from spyglass.core.text import quoted_value

    assert quoted_value("http://x\x1b[31m/y") == '"http://x\\x1b[31m/y"'
    assert quoted_value("a" * 100) == '"' + "a" * 100 + '"'
    assert quoted_value("\x01" * 5 + "a" * 100_000, most=8) == \
        '"\\x01\\x01\\x01\\x01\\x01aaa…" (100,005 characters)'
