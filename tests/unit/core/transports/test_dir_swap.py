"""A ``dir:`` image swapped in whole: signals between the steps, and what a killed swap
left set aside (spyglass.core.transports.dir_swap)."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from spyglass.cli import main
from spyglass.core.errors import InvalidLayout, TransportError
from spyglass.core.transports import dir_swap, open_source
from spyglass.core.transports.dirlayout import DirDestination
from spyglass.core.transports.temporaries import TEMP_PREFIX, claim_path, release_claim
from tests.unit.core.transports.test_dir_dest import files_of, siblings, single_source
from tests.unit.core.transports.test_layout_dest import copy_image

__all__ = ["single_source"]  # (the fixture, used by name)

REPO = Path(__file__).resolve().parents[4]

_HOOKED = r"""
import os, runpy, signal, sys, tempfile
how, signame, *argv = sys.argv[1:]
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
signum = getattr(signal, "SIG" + signame)
real_rename = os.rename
real_mkdtemp = tempfile.mkdtemp

def mkdtemp(*args, **kwargs):
    made = real_mkdtemp(*args, **kwargs)
    if how == "placeholder" and ".spyglass-tmp-old-" in made:  # the old image's place, empty
        os.kill(os.getpid(), signum)
    return made

tempfile.mkdtemp = mkdtemp

def rename(src, dst, *args, **kwargs):
    real_rename(src, dst, *args, **kwargs)
    if ".spyglass-tmp-old-" in os.fspath(dst):  # the old image set aside, the new not in
        os.kill(os.getpid(), signum)

os.rename = rename
try:
    from spyglass.core.transports import dir_swap
except ImportError:  # (before the swap had a module of its own)
    dir_swap = None
if dir_swap is not None:
    real_exchange = dir_swap.exchange

    def exchange(first, second):
        if how in ("steps", "placeholder"):  # as where the kernel cannot exchange
            return False
        done = real_exchange(first, second)
        os.kill(os.getpid(), signum)  # as if it came during the exchange
        return done

    dir_swap.exchange = exchange
sys.argv = ["spyglass", *argv]
runpy.run_module("spyglass", run_name="__main__", alter_sys=True)
"""


def _copy_signalled(how: str, signame: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONPATH=f"{REPO / 'app'}{os.pathsep}{REPO}")
    return subprocess.run([sys.executable, "-c", _HOOKED, how, signame, "copy", "-q", *args],
                          env=env, capture_output=True, timeout=120, check=False)


def _old_aside(out: Path) -> list[str]:
    return [name for name in os.listdir(out.parent)
            if name.startswith(f".{out.name}{TEMP_PREFIX}{dir_swap.OLD_KIND}")]


@pytest.mark.parametrize("how", ["exchange", "steps"])
@pytest.mark.parametrize("signame", ["INT", "TERM"])
def test_a_signal_during_the_swap_leaves_the_new_image_whole_at_the_name(
        single_source: Path, tmp_path: Path, how: str, signame: str) -> None:
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    new = tmp_path / "new"
    copy_image(open_source(f"oci:{single_source}:other"), DirDestination(new))
    done = _copy_signalled(how, signame, f"oci:{single_source}:other", f"dir:{out}")
    assert b"Traceback" not in done.stderr
    assert files_of(out) == files_of(new)  # the new image, whole, at the name
    assert siblings(out) == [] and _old_aside(out) == []  # (the old one removed first)
    assert b"the image was in place when the interrupt came" in done.stderr


def test_a_kill_between_the_two_renames_is_put_back_by_the_next_copy(
        single_source: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    old_files = files_of(out)
    done = _copy_signalled("steps", "KILL", f"oci:{single_source}:other", f"dir:{out}")
    assert done.returncode == -signal.SIGKILL
    assert not out.exists() and len(_old_aside(out)) == 1  # what kill -9 there leaves
    with pytest.raises(InvalidLayout, match=r"left the old image in .*rename it back"):
        open_source(f"dir:{out}")
    dest = DirDestination(out)  # the next copy to the name (or a dry run of it)
    assert not out.exists() and len(_old_aside(out)) == 1  # opening it writes nothing
    dest.abort()
    dest = DirDestination(out)
    copy_image(open_source(f"oci:{single_source}:app"), dest)  # before its first write:
    assert "it was put back" in caplog.text
    assert files_of(out) == old_files and _old_aside(out) == []


@pytest.mark.parametrize("next_name", ["image", "other"])
def test_a_kill_before_the_old_image_is_set_aside_leaves_an_empty_folder_a_copy_removes(
        single_source: Path, tmp_path: Path, next_name: str) -> None:
    """A ``kill -9`` as the placeholder for the old image is made (empty, the old image
    still at the name): the next copy to the name, or to another in that folder, removes
    it; a set-aside folder that holds anything stays (it may be all that is left of an
    image)."""
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    old_files = files_of(out)
    done = _copy_signalled("placeholder", "KILL", f"oci:{single_source}:other", f"dir:{out}")
    assert done.returncode == -signal.SIGKILL
    [placeholder] = _old_aside(out)  # what kill -9 there leaves
    assert os.listdir(tmp_path / placeholder) == [] and files_of(out) == old_files
    part = tmp_path / f".{out.name}{TEMP_PREFIX}{dir_swap.OLD_KIND}part"  # no whole image
    part.mkdir()
    (part / "manifest.json").write_text("{}")
    DirDestination(out).abort()  # opened, nothing written (a dry run): both stay
    assert sorted(_old_aside(out)) == sorted([placeholder, part.name])
    copy_image(open_source(f"oci:{single_source}:other"),
               DirDestination(tmp_path / next_name))
    assert _old_aside(out) == [part.name] and files_of(part) == {
        "manifest.json": hashlib.sha256(b"{}").hexdigest()}
    if next_name == "other":
        assert files_of(out) == old_files
    else:  # (the new image in place)
        assert open_source(f"dir:{out}").get_manifest()[0] == open_source(
            f"oci:{single_source}:other").get_manifest()[0]


def test_reading_a_missing_name_names_no_empty_set_aside_folder(tmp_path: Path) -> None:
    """An empty one (a swap killed before it set the old image aside) holds nothing to
    rename back."""
    out = tmp_path / "image"
    (tmp_path / f".{out.name}{TEMP_PREFIX}{dir_swap.OLD_KIND}abc").mkdir()
    with pytest.raises(InvalidLayout) as raised:
        open_source(f"dir:{out}")
    assert "rename it back" not in str(raised.value)


def test_a_set_aside_image_killed_as_it_is_removed_leaves_a_temporary_a_later_copy_sweeps(
        single_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next copy removes a whole set-aside image once the name holds one: renamed to a
    temporary's name first, so a ``kill -9`` midway leaves no part of an image under a
    set-aside name (kept for ever: it might be someone's only copy) but a temporary."""
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    aside = tmp_path / f".{out.name}{TEMP_PREFIX}{dir_swap.OLD_KIND}abc"
    shutil.copytree(out, aside)  # a whole old image a killed swap left

    class Killed(BaseException):
        pass

    def rmtree(path: Path, *args: object, **kwargs: object) -> None:
        os.unlink(Path(path) / "version")  # partway: no whole image any more
        raise Killed

    monkeypatch.setattr(dir_swap.shutil, "rmtree", rmtree)
    with pytest.raises(Killed):
        copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    monkeypatch.undo()
    assert _old_aside(out) == []
    [left] = [tmp_path / name for name in siblings(out)
              if f"{TEMP_PREFIX}{dir_swap.REPLACED_KIND}" in name]
    for root, dirs, files in os.walk(left):  # (as a while later: an orphan's age)
        for name in (*dirs, *files):
            os.utime(os.path.join(root, name), (1, 1))
    os.utime(left, (1, 1))
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    assert not left.exists()


def test_set_aside_folders_go_once_the_name_holds_a_whole_image(
        single_source: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    prefix = f".{out.name}{TEMP_PREFIX}{dir_swap.OLD_KIND}"
    left = Path(tempfile.mkdtemp(prefix=prefix, dir=tmp_path))  # a killed swap's, unclaimed
    (left / "version").write_text("Directory Transport Version: 1.1\n")
    at_work = Path(tempfile.mkdtemp(prefix=prefix, dir=tmp_path))  # a live swap's
    claim = claim_path(at_work)
    try:
        DirDestination(out).abort()  # opened, nothing written (a dry run): both stay
        assert sorted(_old_aside(out)) == sorted([left.name, at_work.name])
        copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
        assert _old_aside(out) == [at_work.name]
        assert f"Removed the old dir: image a stopped copy had set aside in {left}" in caplog.text
    finally:
        release_claim(claim)


def test_a_dry_run_into_dir_writes_nothing_where_a_swap_set_an_image_aside(
        single_source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    aside = tmp_path / f".{out.name}{TEMP_PREFIX}{dir_swap.OLD_KIND}abc"
    shutil.copytree(out, aside)  # a whole old image a killed swap left
    before = sorted(os.listdir(tmp_path))
    assert main(["copy", "--dry-run", f"oci:{single_source}:other", f"dir:{out}"]) == 0
    assert sorted(os.listdir(tmp_path)) == before and files_of(aside) == files_of(out)
    shutil.rmtree(out)  # as a kill -9 between the two renames leaves it
    assert main(["copy", "--dry-run", f"oci:{single_source}:other", f"dir:{out}"]) == 0
    assert sorted(os.listdir(tmp_path)) == sorted(set(before) - {out.name})


def test_an_exchange_that_fails_leaves_the_old_image(
    single_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    old_files = files_of(out)

    def exchange(first: Path, second: Path) -> bool:
        raise OSError(errno.EACCES, "Permission denied", str(first), None, str(second))

    monkeypatch.setattr(dir_swap, "exchange", exchange)
    dest = DirDestination(out)
    with pytest.raises(TransportError, match="the folder holds the image it held before"):
        copy_image(open_source(f"oci:{single_source}:other"), dest)
    dest.abort()
    assert files_of(out) == old_files and siblings(out) == []


def test_exchange_swaps_two_folders_or_says_it_cannot(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (first / "one").touch()
    if not dir_swap.exchange(first, second):
        pytest.skip("no RENAME_EXCHANGE on this kernel or filesystem")
    assert os.listdir(second) == ["one"] and os.listdir(first) == []
    with pytest.raises(FileNotFoundError):
        dir_swap.exchange(first, tmp_path / "missing")


@pytest.mark.parametrize("how", ["exchange", "steps"])
def test_an_interrupted_removal_of_the_replaced_image_says_a_later_copy_removes_the_rest(
        single_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, how: str) -> None:
    """A third Ctrl+C as the replaced dir: image is removed (see
    test_interrupt_after_commit): the rest stays, said, and the next copy takes it."""
    out = tmp_path / "image"
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    if how == "steps":  # as where the kernel cannot exchange
        monkeypatch.setattr(dir_swap, "exchange", lambda first, second: False)
    real_rmtree = shutil.rmtree

    def rmtree(path: Path, *args: object, **kwargs: object) -> None:
        os.unlink(Path(path) / "version")  # partway
        raise KeyboardInterrupt

    monkeypatch.setattr(dir_swap.shutil, "rmtree", rmtree)
    dest = DirDestination(out)
    with pytest.raises(KeyboardInterrupt):
        copy_image(open_source(f"oci:{single_source}:other"), dest)
    dest.close()
    monkeypatch.setattr(dir_swap.shutil, "rmtree", real_rmtree)
    [left] = [tmp_path / name for name in siblings(out)] or [
        tmp_path / name for name in _old_aside(out)]
    assert f'what is left of it is in {left}, which a later copy to "{out}" removes' in \
        caplog.text
    for root, dirs, files in os.walk(left):  # (as a while later: an orphan's age)
        for name in (*dirs, *files):
            os.utime(os.path.join(root, name), (1, 1))
    os.utime(left, (1, 1))
    copy_image(open_source(f"oci:{single_source}:app"), DirDestination(out))
    assert siblings(out) == [] and _old_aside(out) == []
