"""The user's own copy of the bundled sample layout (spyglass.gui.sample)."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import stat
import time
from pathlib import Path

import pytest

from spyglass.gui import sample
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


def _changed(bundled: Path) -> None:
    """``bundled`` as ``make sample`` or a newer Spyglass may have it: an image less."""
    index = json.loads((bundled / "index.json").read_text())
    index["manifests"] = index["manifests"][:1]
    (bundled / "index.json").write_text(json.dumps(index))


def test_a_copy_of_an_older_bundled_sample_is_renewed(
        sample_layout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """``make sample`` (or an upgrade) changed the bundled sample, and ``make run`` opened
    the copy made of the old one: it is made again, as nothing was written to it."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # (data/ may be made in it)
    bundled = Path(shutil.copytree(sample_layout, tmp_path / "bundled"))
    own = own_sample(bundled, tmp_path / "data")
    assert own == tmp_path / "data" / "sample-layout"
    _changed(bundled)
    with caplog.at_level(logging.INFO, logger=sample.__name__):
        assert own_sample(bundled, tmp_path / "data") == own
    assert (own / "index.json").read_bytes() == (bundled / "index.json").read_bytes()
    assert sorted(p.relative_to(own) for p in own.rglob("*")) == sorted(
        p.relative_to(bundled) for p in bundled.rglob("*"))
    assert sorted(p.name for p in own.parent.iterdir()) == [".sample-layout.made-from",
                                                            "sample-layout"]
    assert [r.getMessage() for r in caplog.records] == [
        f"The sample layout {own} was a copy of an older bundled sample, unchanged since: "
        "it is a copy of the current one now."]
    # and once more: renewed once, then left alone
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=sample.__name__):
        assert own_sample(bundled, tmp_path / "data") == own
    assert caplog.records == []


def test_a_copy_written_to_is_kept_when_the_bundled_sample_changes(
        sample_layout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # (data/ may be made in it)
    bundled = Path(shutil.copytree(sample_layout, tmp_path / "bundled"))
    own = own_sample(bundled, tmp_path / "data")
    assert own == tmp_path / "data" / "sample-layout"
    mine = json.loads((own / "index.json").read_text())
    mine["manifests"].append(mine["manifests"][0])  # (an image dropped on it)
    (own / "index.json").write_text(json.dumps(mine))
    _changed(bundled)
    assert own_sample(bundled, tmp_path / "data") == own
    assert json.loads((own / "index.json").read_text()) == mine


@pytest.mark.parametrize("left", [
    ("blobs/sha256/" + "ab" * 32, "index.json.lock"),  # a copy into it under way
    ("blobs/sha256/" + "ab" * 32,),  # its blobs written, the lock not taken yet
    ("index.json.lock",),
    ("blobs/sha256/.tmp-1234",),  # a temporary file a write left
    ("notes.txt",),  # anything else put there
    ("blobs/sha512/" + "cd" * 64,),
])
def test_a_copy_holding_more_than_was_made_is_kept_when_the_bundled_sample_changes(
        sample_layout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        left: tuple[str, ...]) -> None:
    """Its index.json is still the one it was made with, but something else is there
    (blobs come before the index that names them): replacing the copy would delete it,
    so the copy is kept, whole."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # (data/ may be made in it)
    bundled = Path(shutil.copytree(sample_layout, tmp_path / "bundled"))
    own = own_sample(bundled, tmp_path / "data")
    assert own == tmp_path / "data" / "sample-layout"
    made = (own / "index.json").read_bytes()
    for name in left:
        (own / name).parent.mkdir(exist_ok=True)
        (own / name).write_text(f"{name}, written by someone else")
    _changed(bundled)
    assert own_sample(bundled, tmp_path / "data") == own
    assert (own / "index.json").read_bytes() == made
    for name in left:
        assert (own / name).read_text() == f"{name}, written by someone else"
    assert sorted(p.name for p in own.parent.iterdir()) == [".sample-layout.made-from",
                                                            "sample-layout"]


def test_a_copy_with_a_blob_changed_is_kept_when_the_bundled_sample_changes(
        sample_layout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # (data/ may be made in it)
    bundled = Path(shutil.copytree(sample_layout, tmp_path / "bundled"))
    own = own_sample(bundled, tmp_path / "data")
    assert own == tmp_path / "data" / "sample-layout"
    blob = next((own / "blobs" / "sha256").iterdir())
    blob.write_bytes(b"overwritten")
    _changed(bundled)
    assert own_sample(bundled, tmp_path / "data") == own
    assert blob.read_bytes() == b"overwritten"


def test_a_copy_an_earlier_version_made_is_renewed_once_noted(
        sample_layout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Made before the note was kept: the copy is noted when it is the bundled sample's;
    one that is not (written to, or of an older sample: no telling) is kept."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # (data/ may be made in it)
    bundled = Path(shutil.copytree(sample_layout, tmp_path / "bundled"))
    own = Path(shutil.copytree(bundled, tmp_path / "data" / "sample-layout"))
    assert own_sample(bundled, tmp_path / "data") == own
    assert (own.parent / sample.MADE_FROM).is_file()
    _changed(bundled)
    assert own_sample(bundled, tmp_path / "data") == own
    assert (own / "index.json").read_bytes() == (bundled / "index.json").read_bytes()
    # without the note and unlike the bundled one: kept
    (own.parent / sample.MADE_FROM).unlink()
    shutil.rmtree(bundled)
    shutil.copytree(sample_layout, bundled)
    assert own_sample(bundled, tmp_path / "data") == own
    assert (own / "index.json").read_bytes() != (bundled / "index.json").read_bytes()


def test_a_copy_that_cannot_be_renewed_is_opened_as_it_is(
        sample_layout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # (data/ may be made in it)
    bundled = Path(shutil.copytree(sample_layout, tmp_path / "bundled"))
    own = own_sample(bundled, tmp_path / "data")
    assert own == tmp_path / "data" / "sample-layout"
    before = (own / "index.json").read_bytes()
    _changed(bundled)

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copytree", full)
    with caplog.at_level(logging.INFO, logger=sample.__name__):
        assert own_sample(bundled, tmp_path / "data") == own
    assert (own / "index.json").read_bytes() == before
    assert [r.getMessage() for r in caplog.records] == [
        f"The sample layout {own} is a copy of an older bundled sample, and could not be "
        "renewed (No space left on device); it is opened as it is."]
    assert sorted(p.name for p in own.parent.iterdir()) == [".sample-layout.made-from",
                                                            "sample-layout"]


def test_without_a_place_for_it_the_bundled_one_is_opened(
        sample_layout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "nonexistent"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    data = tmp_path / "nonexistent" / ".local" / "share" / "spyglass"
    assert own_sample(sample_layout, data) == sample_layout
    assert not (tmp_path / "nonexistent").exists()  # no home folder is made
    assert own_sample(tmp_path / "no-sample", tmp_path / "data") is None


def test_a_half_made_copy_is_removed_and_made_again(sample_layout: Path,
                                                    tmp_path: Path) -> None:
    own = tmp_path / "data" / "sample-layout"
    shutil.copytree(sample_layout, own)
    (own / "index.json").unlink()  # (copied up to there)
    assert own_sample(sample_layout, tmp_path / "data") == own
    assert (own / "index.json").read_bytes() == (sample_layout / "index.json").read_bytes()
    assert sorted(p.name for p in own.parent.iterdir()) == [".sample-layout.made-from",
                                                            "sample-layout"]


def test_a_copy_without_its_index_is_set_aside_and_made_again(sample_layout: Path,
                                                              tmp_path: Path) -> None:
    """It opened the bundled sample instead, in the source tree, and remembered that."""
    own = tmp_path / "data" / "sample-layout"
    (own / "blobs").mkdir(parents=True)
    (own / "oci-layout").write_text("{}\n")
    assert own_sample(sample_layout, tmp_path / "data") == own
    assert (own / "index.json").read_bytes() == (sample_layout / "index.json").read_bytes()
    assert (tmp_path / "data" / "sample-layout.bad" / "oci-layout").read_text() == "{}\n"


def test_staging_folders_a_killed_copy_left_are_removed(sample_layout: Path,
                                                        tmp_path: Path) -> None:
    data = tmp_path / "data"
    stale = data / ".sample-layout-84jld3qq"
    fresh = data / ".sample-layout-abcdefgh"  # (another window's, being copied)
    for left in (stale, fresh):
        (left / "blobs").mkdir(parents=True)
    long_ago = time.time() - 3600
    os.utime(stale, (long_ago, long_ago))
    assert own_sample(sample_layout, data) == data / "sample-layout"
    assert sorted(p.name for p in data.iterdir()) == [".sample-layout-abcdefgh",
                                                      ".sample-layout.made-from",
                                                      "sample-layout"]


def test_a_half_made_copy_another_window_removes_meanwhile_is_made_again(
        sample_layout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two windows starting at once both cleared it; the slower one's removal failed on
    what the other had removed, and it opened the bundled sample in the source tree."""
    from spyglass.gui import sample

    own = tmp_path / "data" / "sample-layout"
    shutil.copytree(sample_layout, own)
    (own / "index.json").unlink()
    looked = sample._only_sample_files

    def other_window_first(bundled: Path, target: Path) -> bool:
        answer = looked(bundled, target)
        shutil.rmtree(target)  # the other window, removing it first
        return answer

    monkeypatch.setattr(sample, "_only_sample_files", other_window_first)
    assert own_sample(sample_layout, tmp_path / "data") == own
    assert (own / "index.json").read_bytes() == (sample_layout / "index.json").read_bytes()


def _read_only_install(sample_layout: Path, tmp_path: Path,
                       request: pytest.FixtureRequest) -> Path:
    """The sample as a read-only install has it (a Nix store: files 0444, folders 0555);
    made writable again after the test, so that it can be removed. $XDG_DATA_HOME is
    ``tmp_path``."""
    request.getfixturevalue("monkeypatch").setenv("XDG_DATA_HOME", str(tmp_path))
    store = Path(shutil.copytree(sample_layout, tmp_path / "store" / "sample-layout"))
    paths = [store, *store.rglob("*")]

    def chmod_all(file_mode: int, folder_mode: int) -> None:
        for path in reversed(paths) if file_mode & 0o200 == 0 else paths:
            path.chmod(folder_mode if path.is_dir() else file_mode)

    chmod_all(0o444, 0o555)
    request.addfinalizer(lambda: chmod_all(0o644, 0o755))
    return store


def _not_writable(root: Path) -> list[str]:
    """What in ``root`` its owner may not write to (by its mode: root may write anyway)."""
    return [str(p) for p in (root, *root.rglob("*"))
            if not p.stat().st_mode & stat.S_IWUSR
            or (p.is_dir() and not p.stat().st_mode & stat.S_IXUSR)]


def test_the_copy_of_a_read_only_install_is_writable(sample_layout: Path, tmp_path: Path,
                                                     request: pytest.FixtureRequest) -> None:
    """shutil.copytree copies the modes too: from a read-only install the user's copy was
    read-only, and an image copied into it failed with "Permission denied"."""
    store = _read_only_install(sample_layout, tmp_path, request)
    own = own_sample(store, tmp_path / "data")
    assert own == tmp_path / "data" / "sample-layout"
    assert (own / "index.json").read_bytes() == (sample_layout / "index.json").read_bytes()
    assert _not_writable(own) == []
    assert (store.stat().st_mode & 0o777, (store / "index.json").stat().st_mode & 0o777) \
        == (0o555, 0o444)  # (the install itself is left as it is)


def test_a_read_only_copy_an_earlier_version_made_is_made_writable(
        sample_layout: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    store = _read_only_install(sample_layout, tmp_path, request)
    own = tmp_path / "data" / "sample-layout"
    shutil.copytree(store, own)  # (as Spyglass copied it before)
    assert _not_writable(own) != []
    assert own_sample(store, tmp_path / "data") == own
    assert _not_writable(own) == []


def test_the_data_folder_an_older_version_made_open_is_made_private(
        sample_layout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    data = tmp_path / "spyglass"
    own = own_sample(sample_layout, data)
    assert own == data / "sample-layout"
    data.chmod(0o755)  # as an older Spyglass made it
    tmp_path.chmod(0o755)
    assert own_sample(sample_layout, data) == own
    assert (stat.S_IMODE(data.stat().st_mode), stat.S_IMODE(tmp_path.stat().st_mode)) \
        == (0o700, 0o755)


def test_a_copy_a_full_disk_stopped_is_one_short_line_in_the_log(
        sample_layout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Not copytree's whole list of files with both their paths: the reason, and how many
    more files failed."""
    import errno
    import logging

    from spyglass.gui import sample

    def full(source: str, target: str, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", target)

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    original = shutil.copytree

    def copytree(*args: object, **kwargs: object) -> object:
        given = list(args)
        if len(given) > 4:  # (its own calls for subfolders pass it in place)
            given[4] = full
        else:
            kwargs["copy_function"] = full
        return original(*given, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(shutil, "copytree", copytree)
    files = sum(1 for p in sample_layout.rglob("*") if p.is_file())
    with caplog.at_level(logging.INFO, logger=sample.__name__):
        assert own_sample(sample_layout, tmp_path / "data") == sample_layout
    said = [r.getMessage() for r in caplog.records if r.name == sample.__name__]
    assert said == [
        f"The sample layout is opened where Spyglass keeps it ({sample_layout}): a copy of "
        f"your own could not be made in {tmp_path / 'data'} (No space left on device, and "
        f"{files - 1} more files)."]
    assert list((tmp_path / "data").iterdir()) == []


def test_make_run_never_opens_the_checkouts_own_sample(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``make run`` opens what ``python -m spyglass.gui.sample`` prints: where no copy can
    be made that was the checkout's resources/sample-layout, and an image dropped on it
    was written into the checkout. Now nothing is printed, and why is said."""
    from spyglass.gui import sample

    monkeypatch.setenv("HOME", str(tmp_path / "no-home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "no" / "data"))
    assert sample.main() == 0
    out, err = capsys.readouterr()
    assert out == "\n"
    assert "The sample layout is not opened: a copy of your own could not be made" in err
    # and with a place for it, the copy's path
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert sample.main() == 0
    assert capsys.readouterr().out == f"{tmp_path / 'data' / 'spyglass' / 'sample-layout'}\n"
