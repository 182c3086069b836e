"""The user's own copy of the bundled sample layout (spyglass.gui.sample)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spyglass.gui.sample import own_sample


def test_the_copy_is_made_once_and_whole(sample_layout: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    own = own_sample(sample_layout, tmp_path / "data")
    assert own == tmp_path / "data" / "sample-layout"
    assert sorted(p.relative_to(own) for p in own.rglob("*")) == sorted(
        p.relative_to(sample_layout) for p in sample_layout.rglob("*"))
    (own / "mine").write_text("an image copied in later")
    assert own_sample(sample_layout, tmp_path / "data") == own  # not made again
    assert (own / "mine").exists()


def test_without_a_place_for_it_the_bundled_one_is_opened(
        sample_layout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "nonexistent"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    data = tmp_path / "nonexistent" / ".local" / "share" / "spyglass"
    assert own_sample(sample_layout, data) == sample_layout
    assert not (tmp_path / "nonexistent").exists()  # no home folder is made
    assert own_sample(tmp_path / "no-sample", tmp_path / "data") is None
