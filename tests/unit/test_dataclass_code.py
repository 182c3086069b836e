"""The cache of the code dataclasses compile (``spyglass.dataclass_code``): a class made
with it is the same class as one made without it; the file is written once, read back
only when it can be trusted, and a whole command writes it once and then only reads it."""

from __future__ import annotations

import json
import marshal
import os
import re
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from tests.helpers.imagebuild import multi_platform_layout

REPO = Path(__file__).resolve().parents[2]

# made in a fresh interpreter, with the cache installed or not: everything a dataclass's
# generated methods decide, printed as JSON (no ``from __future__ import annotations``
# here: the annotations the methods carry must stay objects)
_CLASSES = """
import dataclasses, inspect, json, sys
if sys.argv[1] == "cached":
    from spyglass import dataclass_code
    dataclass_code.install()

@dataclasses.dataclass(frozen=True, order=True)
class Point:
    x: int
    y: str = "a"
    tags: list = dataclasses.field(default_factory=list, hash=False)

@dataclasses.dataclass
class Plain:
    n: int = 0

p = Point(1, "b")
try:
    p.x = 2
    frozen = "no"
except dataclasses.FrozenInstanceError:
    frozen = "yes"
plain = Plain()
plain.n = 5
print(json.dumps({
    "repr": repr(p), "eq": p == Point(1, "b"), "ne": p != Point(1, "c"),
    "lt": Point(0) < p, "hash": hash(p) == hash(Point(1, "b")), "frozen": frozen,
    "init": str(inspect.signature(Point.__init__)),
    "annotations": {k: repr(v) for k, v in Point.__init__.__annotations__.items()},
    "default": Point(3).tags == [] and Point(3).tags is not Point(4).tags,
    "plain": repr(plain), "filename": Point.__init__.__code__.co_filename,
    "added": dataclass_code._state.added if sys.argv[1] == "cached" else None,
    "sources": len(dataclass_code._state.codes) if sys.argv[1] == "cached" else None,
}))
if sys.argv[1] == "cached":
    dataclass_code.save()
"""


def _env(cache: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(REPO / "app"), XDG_CACHE_HOME=str(cache), **extra)
    return env


def _classes(cache: Path, mode: str, **extra: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _CLASSES, mode], env=_env(cache, **extra),
                          capture_output=True, text=True, timeout=60, check=True)
    assert not done.stderr, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _file(cache: Path) -> Path:
    return cache / "spyglass" / f"dataclass-code.{sys.implementation.cache_tag}"


def test_a_class_made_from_the_cache_is_the_class_made_without_it(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    plain = _classes(cache, "plain")
    first = _classes(cache, "cached")
    second = _classes(cache, "cached")
    assert first["added"] and not second["added"]  # compiled once, then taken from the file
    assert second["sources"] == first["sources"]
    for result in (first, second):
        for key in ("repr", "eq", "ne", "lt", "hash", "frozen", "init", "annotations",
                    "default", "plain", "filename"):
            assert result[key] == plain[key], key
    assert plain["annotations"] == {"x": "<class 'int'>", "y": "<class 'str'>",
                                    "tags": "<class 'list'>", "return": "None"}


def test_the_file_is_the_users_alone(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _classes(cache, "cached")
    assert _file(cache).stat().st_mode & 0o777 == 0o600
    assert (cache / "spyglass").stat().st_mode & 0o777 == 0o700
    assert [path.name for path in (cache / "spyglass").iterdir()] == [_file(cache).name]


def _contents(path: Path) -> tuple[str, dict[str, object]]:
    """The Python version and the sources and code a cache file holds."""
    version, _crc, payload = marshal.loads(path.read_bytes())
    return version, marshal.loads(payload)


def _write(path: Path, version: str, codes: dict[str, object]) -> None:
    """A cache file as a save writes it (checksum and all), holding what is given."""
    payload = marshal.dumps(codes)
    path.write_bytes(marshal.dumps((version, zlib.crc32(payload), payload)))
    path.chmod(0o600)


@pytest.mark.parametrize("spoil", ["group-writable", "symlink", "fifo", "garbage",
                                   "truncated", "flipped-byte", "still-marshal",
                                   "another-python", "not-code"])
def test_a_file_that_cannot_be_trusted_is_not_read_and_is_written_anew(
        tmp_path: Path, spoil: str) -> None:
    cache = tmp_path / "cache"
    _classes(cache, "cached")
    path = _file(cache)
    good = path.read_bytes()
    if spoil == "group-writable":
        path.chmod(0o620)
    elif spoil == "symlink":
        elsewhere = tmp_path / "elsewhere"
        elsewhere.write_bytes(good)
        elsewhere.chmod(0o600)
        path.unlink()
        path.symlink_to(elsewhere)
    elif spoil == "fifo":  # (opened to be read, it waited for a writer for ever)
        path.unlink()
        os.mkfifo(path, 0o600)
    elif spoil == "garbage":
        path.write_bytes(b"\x00not marshal at all")
    elif spoil == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif spoil == "flipped-byte":
        # inside the marshalled code: marshal raised SystemError, or asked for gigabytes
        damaged = bytearray(good)
        damaged[len(good) // 3] ^= 0x41
        path.write_bytes(bytes(damaged))
    elif spoil == "still-marshal":
        # damaged where marshal does not notice: a name in the code (the function the
        # generated code makes is no longer there to be called)
        at = next(found.start() for found in re.finditer(b"__create_fn__", good)
                  if good[found.start() - 4:found.start()] != b"def ")  # (not in a source)
        path.write_bytes(good[:at] + b"__create_fX__" + good[at + 13:])
    elif spoil == "another-python":
        _write(path, "2.7.18 (default)", _contents(path)[1])
    else:
        version, codes = _contents(path)
        _write(path, version, dict.fromkeys(codes, "print('hi')"))
    result = _classes(cache, "cached")
    assert result["added"], "nothing was compiled: the file was trusted"
    assert result["repr"] == "Point(x=1, y='b', tags=[])"
    if spoil == "symlink":
        assert not path.is_symlink()  # replaced by a file of its own; the target untouched
        assert (tmp_path / "elsewhere").read_bytes() == good
    assert _classes(cache, "cached")["added"] == 0  # the file written anew is read


def test_a_save_cut_off_leaves_what_the_next_removes(tmp_path: Path) -> None:
    """A ``kill -9`` as the file was written leaves its temporary: the next save removes
    it once it is old (a save under way takes milliseconds), never a new one."""
    cache = tmp_path / "cache"
    _classes(cache, "cached")
    folder = cache / "spyglass"
    old = folder / f".{_file(cache).name}.1234.tmp"
    recent = folder / f".{_file(cache).name}.5678.tmp"
    for leftover in (old, recent):
        leftover.write_bytes(b"half a file")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    _file(cache).unlink()  # (something to compile anew: a save)
    _classes(cache, "cached")
    assert not old.exists() and recent.exists()
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        [_file(cache).name, recent.name])


def test_nothing_is_written_where_python_writes_no_bytecode(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    result = _classes(cache, "cached", PYTHONDONTWRITEBYTECODE="1")
    assert result["added"]
    assert not (cache / "spyglass").exists()


def test_a_file_grown_too_big_keeps_what_this_run_used(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _classes(cache, "cached")
    path = _file(cache)
    version, codes = _contents(path)
    # sources of classes long gone (an earlier version of the code): past the limit
    old = {f"def __create_fn__():\n def f{i}(self):\n  return {i}\n return f{i}":
           compile(f"x = {i}", "<string>", "exec") for i in range(4001)}
    _write(path, version, {**codes, **old})
    # a field of another name: something new to compile, so a save
    script = _CLASSES.replace("n: int = 0", "m: int = 0").replace("plain.n = 5", "plain.m = 5")
    subprocess.run([sys.executable, "-c", script, "cached"], env=_env(cache),
                   capture_output=True, text=True, timeout=60, check=True)
    _version, kept = _contents(path)
    assert not set(kept) & set(old)
    assert set(codes) - set(kept)  # Plain's own, not used this time
    assert len(kept) >= len(codes) - 3


def test_the_file_is_where_platformdirs_puts_the_cache(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from spyglass import dataclass_code
    from spyglass.core.cachedir import user_cache_folder

    for xdg, home in ((str(tmp_path / "xdg"), str(tmp_path / "home")),
                      (None, str(tmp_path / "home")), ("relative/cache", str(tmp_path))):
        if xdg is None:
            monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        else:
            monkeypatch.setenv("XDG_CACHE_HOME", xdg)
        monkeypatch.setenv("HOME", home)
        assert dataclass_code.cache_path() == str(user_cache_folder() / dataclass_code.FILE_NAME)


def test_a_command_writes_the_file_once_and_then_only_reads_it(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    multi_platform_layout(layout)
    cache = tmp_path / "cache"
    env = _env(cache, XDG_CONFIG_HOME=str(tmp_path / "config"))
    stamps = []
    for round_ in range(2):
        subprocess.run(
            [sys.executable, "-m", "spyglass", "copy", "-q", "--all",
             f"oci:{layout}:latest", f"oci:{tmp_path / f'copy{round_}'}:v1"],
            env=env, capture_output=True, text=True, timeout=60, check=True)
        found = _file(cache).stat()
        stamps.append((found.st_ino, found.st_mtime_ns))
    assert stamps[0] == stamps[1]  # the second start compiled nothing new: not written
