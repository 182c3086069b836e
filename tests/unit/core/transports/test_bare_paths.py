"""What the disk says a bare destination path is (spyglass.core.transports.bare_paths):
one decision for the Copy dialog, which takes the path as that, and the command line,
whose refusal of a bare destination names what to write."""

from __future__ import annotations

from pathlib import Path

import pytest

from spyglass.core.errors import InvalidReference
from spyglass.core.transports.bare_paths import (
    PathLook,
    bare_destination_error,
    look_at_path,
    names_a_bare_path,
)
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder


def test_each_kind_of_path_is_looked_at_as_what_it_is(tmp_path: Path) -> None:
    builder = LayoutBuilder(tmp_path / "lay")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})])), "1")
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("hi\n")

    def kind(name: str) -> tuple[str, str]:
        look = look_at_path(str(tmp_path / name))
        assert isinstance(look, PathLook)
        return look.kind, look.refusal

    assert kind("lay") == ("oci", "")
    assert kind("empty") == ("folder", "")
    assert kind("new") == ("folder", "")
    assert kind("new.tar") == ("oci-archive", "")
    assert kind("new.oci") == ("oci-archive", "")
    assert kind("new.docker") == ("docker-archive", "")
    archive_kind, refusal = kind("out.tar.gz")
    assert archive_kind == "oci-archive" and refusal.startswith(
        f'"{tmp_path}/out.tar.gz" is named as a compressed archive')
    assert kind("notes.txt")[1].startswith(f'The file "{tmp_path}/notes.txt" is not an '
                                           "image archive")


@pytest.mark.parametrize(("text", "path"), [
    ("./x", True), ("/srv/x", True), ("~/x", True), ("app.tar", True),
    ("out.tar.gz:app", True), ("team/app", False), ("alpine:latest", False), ("", False),
])
def test_what_is_taken_for_a_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  text: str, path: bool) -> None:
    monkeypatch.chdir(tmp_path)
    assert names_a_bare_path(text) is path
    said = bare_destination_error(text)
    assert (said is not None) is path
    if said is not None:
        assert isinstance(said, InvalidReference)
