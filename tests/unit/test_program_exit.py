"""The ``spyglass`` program ends with ``os._exit``: nothing it printed may be lost."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

from spyglass.cli.common import Parser
from tests.helpers.imagebuild import multi_platform_layout

REPO = Path(__file__).resolve().parents[2]


def _spyglass(*args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "spyglass", *args], env=env, timeout=60, **kwargs
    )


def test_everything_printed_to_a_file_arrives(tmp_path: Path) -> None:
    multi_platform_layout(tmp_path / "layout")
    out = tmp_path / "out.json"
    with out.open("wb") as stream:
        done = _spyglass("inspect", "--config", f"oci:{tmp_path / 'layout'}:latest",
                         stdout=stream, stderr=subprocess.PIPE)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert len(text) > 1000  # more than one write's worth, all of it flushed
    assert json.loads(text)["architecture"]


def test_an_error_sentence_arrives_and_the_status_is_kept(tmp_path: Path) -> None:
    done = _spyglass("inspect", f"oci:{tmp_path / 'missing'}", capture_output=True)
    assert done.returncode == 1
    assert done.stdout == b""
    assert b"does not exist" in done.stderr


def test_a_reader_that_stops_early_is_no_error_message(tmp_path: Path) -> None:
    multi_platform_layout(tmp_path / "layout")
    reader = subprocess.Popen(["head", "-c", "5"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    assert reader.stdin is not None
    done = _spyglass("inspect", "--config", f"oci:{tmp_path / 'layout'}:latest",
                     stdout=reader.stdin, stderr=subprocess.PIPE)
    reader.stdin.close()
    assert reader.stdout is not None
    assert len(reader.stdout.read()) == 5
    reader.stdout.close()
    assert reader.wait(timeout=30) == 0
    assert b"Traceback" not in done.stderr
    assert b"internal error" not in done.stderr


def test_a_closed_stdout_is_a_sentence(tmp_path: Path) -> None:
    multi_platform_layout(tmp_path / "layout")
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    spyglass = f"'{sys.executable}' -m spyglass"
    layout = f"oci:{tmp_path / 'layout'}:latest"
    done = subprocess.run(["sh", "-c", f"{spyglass} inspect --config '{layout}' >&-"],
                          env=env, timeout=60, capture_output=True)
    assert done.returncode == 1
    assert done.stderr == b"spyglass: Cannot write the result: standard output is closed.\n"
    # a command that writes nothing there runs as usual
    out = tmp_path / "copy"
    done = subprocess.run(["sh", "-c", f"{spyglass} copy -q '{layout}' 'oci:{out}:x' >&-"],
                          env=env, timeout=60, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert (out / "index.json").exists()


@pytest.mark.parametrize("args", ["--help", "--version", "inspect --help"])
def test_help_or_version_to_a_closed_stdout_is_a_sentence(args: str) -> None:
    """Not a traceback: argparse lets by only an OSError of its own writing."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    done = subprocess.run(["sh", "-c", f"'{sys.executable}' -m spyglass {args} >&-"],
                          env=env, timeout=60, capture_output=True)
    assert (done.returncode, done.stderr) == (
        1, b"spyglass: Cannot write the result: standard output is closed.\n")


@pytest.mark.parametrize("args", ["bogus", "inspect", "copy --bogus oci:x oci:y"])
def test_a_usage_error_with_stderr_closed_writes_nothing_on_stdout(args: str) -> None:
    """A pipe reading stdout (2>&- | jq) gets no usage for JSON."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    done = subprocess.run(["sh", "-c", f"'{sys.executable}' -m spyglass {args} 2>&-"],
                          env=env, timeout=60, capture_output=True)
    assert (done.returncode, done.stdout) == (2, b"")


FULL = Path("/dev/full")
RESULT_COMMANDS = [
    ["inspect", "--raw", "{layout}"],
    ["inspect", "{layout}"],
    ["inspect", "--format", "{{{{.Digest}}}}", "{layout}"],
    ["tags", "{path}"],
    ["copy", "--dry-run", "{layout}", "oci:{tmp}/copy:x"],
]
"""Commands whose result goes to stdout (the layout, its path and a folder filled in)."""


@pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("command", RESULT_COMMANDS)
def test_a_full_disk_under_stdout_is_a_sentence(tmp_path: Path, command: list[str]) -> None:
    multi_platform_layout(tmp_path / "layout")
    places = {"layout": f"oci:{tmp_path / 'layout'}:latest", "path": str(tmp_path / "layout"),
              "tmp": str(tmp_path)}
    with FULL.open("wb") as full:
        done = _spyglass(*(part.format(**places) for part in command), stdout=full,
                         stderr=subprocess.PIPE)
    assert done.returncode == 1
    assert done.stderr == (b"spyglass: Cannot write the result to standard output: no space "
                           b"left on device.\n")
    assert not (tmp_path / "copy").exists()


@pytest.mark.parametrize("command", RESULT_COMMANDS)
def test_a_reader_gone_ends_the_program_by_sigpipe_saying_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    """As skopeo, Go programs and the C tools end: a script with ``set -o pipefail`` sees
    141 (not 1, a failed command), and nothing is said."""
    multi_platform_layout(tmp_path / "layout")
    places = {"layout": f"oci:{tmp_path / 'layout'}:latest", "path": str(tmp_path / "layout"),
              "tmp": str(tmp_path)}
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before anything is written
    try:
        done = _spyglass(*(part.format(**places) for part in command), stdout=write_end,
                         stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    assert done.returncode == -signal.SIGPIPE
    assert done.stderr == b""
    assert not (tmp_path / "copy").exists()


def test_a_reader_that_leaves_in_the_middle_of_a_long_result_is_a_broken_pipe(
    tmp_path: Path
) -> None:
    """A result longer than a pipe holds, whose reader leaves after its first bytes
    (``| head -1``): the write is cut short without an error, and what is left of it
    meets the broken pipe; the program does not end as if all of it was read."""
    layout = tmp_path / "layout"
    multi_platform_layout(layout)
    index = json.loads((layout / "index.json").read_text())
    entry = index["manifests"][0]
    index["manifests"] = [
        {**entry, "annotations": {"org.opencontainers.image.ref.name": f"tag-{number:05d}"}}
        for number in range(20000)]  # about 400 KB of tags, a pipe holds 64 KiB
    (layout / "index.json").write_text(json.dumps(index))
    reader = subprocess.Popen(["head", "-c", "5"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    assert reader.stdin is not None and reader.stdout is not None
    done = _spyglass("tags", str(layout), stdout=reader.stdin, stderr=subprocess.PIPE)
    reader.stdin.close()
    assert reader.stdout.read() == b"{\n   "
    reader.stdout.close()
    assert reader.wait(timeout=30) == 0
    assert done.returncode == -signal.SIGPIPE
    assert done.stderr == b""


_SLOW_IMPORT = r"""
import importlib.abc, runpy, signal, sys, time, tomllib
from pathlib import Path
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
slow, entry, repo = sys.argv[1], sys.argv[2], Path(sys.argv[3])

class Slow(importlib.abc.MetaPathFinder):
    # stands in for a slow import of the module: the Ctrl+C comes while it is imported
    def find_spec(self, name, path, target=None):
        if name == slow:
            print("importing", flush=True)
            time.sleep(60)
        return None

sys.meta_path.insert(0, Slow())
sys.argv = ["spyglass", "copy", "oci:/nowhere/src:a", "oci:/nowhere/dest:a"]
if entry == "-m":
    runpy.run_module("spyglass", run_name="__main__", alter_sys=True)
else:  # the function pyproject.toml names for the spyglass program
    project = tomllib.loads((repo / "pyproject.toml").read_text())
    module, function = project["project"]["scripts"]["spyglass"].split(":")
    getattr(__import__(module, fromlist=[function]), function)()
"""


@pytest.mark.parametrize("entry", ["-m", "script"])
@pytest.mark.parametrize("slow", ["spyglass.cli", "spyglass.cli.copy_cmd"])
def test_a_ctrl_c_while_the_program_starts_is_a_sentence_not_a_traceback(
        entry: str, slow: str) -> None:
    # spyglass.cli: the command line itself being imported; spyglass.cli.copy_cmd: the
    # command line read, before the command's own handling of a Ctrl+C is in place
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    process = subprocess.Popen([sys.executable, "-c", _SLOW_IMPORT, slow, entry, str(REPO)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    try:
        assert process.stdout.readline() == b"importing\n"
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert err == b"spyglass: interrupted.\n"
    assert process.returncode == -signal.SIGINT  # 130 in a shell, as a later Ctrl+C


def _print_message_of_python_3_11_2(self: argparse.ArgumentParser, message: str,
                                    file: IO[str] | None = None) -> None:
    """argparse's own, as Debian 12's Python 3.11.2 has it: nothing let by."""
    if message:
        if file is None:
            file = sys.stderr
        file.write(message)


def test_a_usage_error_with_stderr_gone_exits_2_with_python_3_11_2s_argparse(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Python before 3.11.7 let the AttributeError (or OSError) of writing to a closed
    stderr out of argparse: ``spyglass bogus 2>&-`` ended with 1 on Debian 12."""
    monkeypatch.setattr(argparse.ArgumentParser, "_print_message",
                        _print_message_of_python_3_11_2)
    monkeypatch.setattr(sys, "stderr", None)
    with pytest.raises(SystemExit) as exited:
        Parser(prog="spyglass").error("invalid choice: 'bogus'")
    assert exited.value.code == 2
