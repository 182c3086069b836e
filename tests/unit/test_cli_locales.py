"""The command line under locales that are not UTF-8, run as a person runs it (a
subprocess): what it was given comes out as those bytes, and what it says reads well."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.imagebuild import multi_platform_layout
from tests.helpers.locales import LATIN1, require_locale, spyglass_under


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("locales") / "lay"
    multi_platform_layout(root)
    return root


def output(locale: str, *args: str | bytes, cwd: Path | None = None) -> bytes:
    done = spyglass_under(locale, *args, cwd=cwd)
    assert (done.returncode, done.stderr) == (0, b""), done.stderr
    return done.stdout


# -- templates


def test_a_templates_text_is_written_as_the_bytes_given(layout: Path) -> None:
    """A template's literals came out encoded again (Latin-1: ``GrÃ¶Ã\\x9fe``) or failed
    with an internal error (C, or a byte that is not UTF-8); skopeo writes them as given."""
    image = f"oci:{layout}:latest"
    assert output("C", "inspect", "--format", "\u00e9 {{.Os}}".encode(), image) \
        == "\u00e9 linux\n".encode()
    assert output("C.UTF-8", "inspect", "--format", b"x\xffy {{.Os}}", image) \
        == b"x\xffy linux\n"
    assert output("C.UTF-8", "inspect", "--config", "--format", b"x\xffy {{.OS}}", image) \
        == b"x\xffy linux\n"
    # Go counts and cuts a string's bytes, whatever they are
    assert output("C", "inspect", "--format", b'{{len "x\xffy"}} {{slice "\xe6\x97\xa5" 0 1}}',
                  image) == b"3 \xe6\n"


def test_a_latin1_templates_text_is_written_as_the_bytes_given(layout: Path) -> None:
    locale = require_locale(LATIN1)
    assert output(locale, "inspect", "--format", b"Gr\xf6\xdfe: {{.Os}}",
                  f"oci:{layout}:latest") == b"Gr\xf6\xdfe: linux\n"
    assert output(locale, "inspect", "--format", "\u2192 {{.Os}}".encode(),
                  f"oci:{layout}:latest") == "\u2192 linux\n".encode()


# -- sentences


def test_a_names_byte_that_is_not_utf8_is_said_as_that_byte(tmp_path: Path) -> None:
    """``bad\\xff`` was said ``bad\\udcff``, a Python internal: now as skopeo and ls -b."""
    done = spyglass_under("C.UTF-8", "inspect", b"oci:bad\xff/nolayout:latest", cwd=tmp_path)
    assert done.returncode == 1
    assert b'"bad\\xff/nolayout"' in done.stderr, done.stderr
    assert b"udc" not in done.stderr
    done = spyglass_under("C", "inspect", "\u65e5\u672c".encode(), cwd=tmp_path)
    assert done.returncode == 1
    assert b'"\\xe6\\x97\\xa5\\xe6\\x9c\\xac"' in done.stderr, done.stderr


# -- punctuation


def test_punctuation_a_locale_cannot_write_reads_as_ascii(layout: Path, tmp_path: Path) -> None:
    """Under C (or Latin-1) "→" was written "\\u2192", which read as if typed so
    (--bogus=\\u2026): the ASCII stand-ins are written instead."""
    help_text = output("C", "inspect", "--help")
    assert b"TRANSPORT:REFERENCE - docker://" in help_text
    assert b"\\u" not in help_text
    plan = output("C", "copy", "--dry-run", f"oci:{layout}:latest", "oci:out:latest",
                  cwd=tmp_path)
    assert plan.startswith(f"Would copy oci:{layout}:latest -> oci:out:latest\n".encode())
    done = spyglass_under("C", "copy", f"oci:{layout}:latest", "oci:out:latest",
                          "--bogus=secret", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.endswith(b"spyglass: Unrecognized arguments: --bogus=....\n")


def test_the_ascii_stand_ins() -> None:
    from spyglass.cli import PLAIN_PUNCTUATION

    said = "a \u2192 b\u2026 \u2014 \u2013 \u2018x\u2019 \u201cy\u201d 2\u00d73 \u2615 caf\u00e9"
    assert said.encode("ascii", PLAIN_PUNCTUATION) == \
        b"a -> b... - - 'x' \"y\" 2x3 \\u2615 caf\\xe9"
    assert said.encode("latin-1", PLAIN_PUNCTUATION) == \
        "a -> b... - - 'x' \"y\" 2\u00d73 \\u2615 caf\u00e9".encode("latin-1")


def test_what_is_typed_at_a_prompt_is_read_as_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A password typed at the prompt goes on as the bytes typed, as one given with
    --creds does; a locale that cannot read what was typed is said, not an internal
    error (LC_ALL=C without UTF-8 mode and a non-ASCII password)."""
    import getpass

    from spyglass.cli.common import typed
    from spyglass.core.errors import SpyglassError

    monkeypatch.setattr(getpass, "getpass", lambda prompt: os.fsdecode(b"p\xc3\xa4ss\xff"))
    assert typed("Password: ", secret=True).encode("utf-8", "surrogateescape") == \
        b"p\xc3\xa4ss\xff"

    def undecodable(prompt: str) -> str:
        raise UnicodeDecodeError("ascii", b"\xc3", 0, 1, "ordinal not in range(128)")

    monkeypatch.setattr(getpass, "getpass", undecodable)
    with pytest.raises(SpyglassError, match="cannot be read in this locale's encoding"):
        typed("Password: ", secret=True)
