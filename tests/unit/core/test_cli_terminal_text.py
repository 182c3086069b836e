"""What a registry or a file name puts in the text the command line writes: an escape
sequence (``\\x1b]0;…\\x07`` retitles a terminal, ``\\x1b[2J`` clears it) is written as
an escape, never reaching the terminal as a command, in the copy's progress lines (and
sync's, the same reporter) and in ``copy --dry-run``'s plan."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from spyglass.cli import main
from spyglass.cli.progress import Reporter
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

EVIL = "\x1b]0;PWNED\x07\x1b[31mRED"
SHOWN = "\\x1b]0;PWNED\\x07\\x1b[31mRED"


@pytest.fixture(scope="module")
def evil(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A layout tagged ``evil``: a list of two linux/amd64 images, the first with an
    ``os.version`` holding escape sequences (copy notes that it takes the first)."""
    root = tmp_path_factory.mktemp("evil") / "layout"
    builder = LayoutBuilder(root)
    entries = []
    for name in ("a", "b"):
        entry = dict(builder.add_image(ImageSpec(labels={"id": name},
                                                 layers=[LayerSpec({"/id": name.encode()})])))
        entries.append(entry)
    entries[0]["platform"] = {**entries[0]["platform"], "os.version": EVIL}
    builder.tag(builder.add_index(entries), "evil")
    return root


@pytest.mark.parametrize("flags", [[], ["-q"]])
def test_a_copy_note_quoting_the_registry_is_escaped(
        evil: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str]) -> None:
    assert main(["copy", *flags, "--platform", "linux/amd64", f"oci:{evil}:evil",
                 f"oci:{tmp_path / 'out'}:x"]) == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert f"(os.version {SHOWN})" in err


def test_the_dry_run_plan_quoting_the_registry_is_escaped(
        evil: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["copy", "--dry-run", "--platform", "linux/amd64", f"oci:{evil}:evil",
                 f"oci:{tmp_path / 'out'}:x"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    notes = [line for line in out.splitlines() if line.startswith("  note: ")]
    images = [line for line in out.splitlines() if line.startswith("  image ")]
    assert len(notes) == 1 and SHOWN in notes[0]
    assert len(images) == 1 and f"(os.version {SHOWN}, " in images[0]


def test_a_progress_line_shows_bytes_that_were_not_utf8_as_other_messages_do() -> None:
    stream = io.StringIO()
    reporter = Reporter(stream, quiet=False)
    reporter.warn("Note: oci:out-\udce9-\udcff:x \x1b[2J")
    reporter.close()
    assert stream.getvalue() == "Note: oci:out-\\xe9-\\xff:x \\x1b[2J\n"
