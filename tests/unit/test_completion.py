"""``spyglass completion bash|zsh|fish``: scripts written from the parser, used by real
shells. bash is always there; zsh and fish are tested where they are installed."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _spyglass(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    return subprocess.run([sys.executable, "-m", "spyglass", *args], env=env, timeout=60,
                          capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    done = _spyglass("completion", "bash")
    assert done.returncode == 0, done.stderr
    path = tmp_path_factory.mktemp("completion") / "spyglass.bash"
    path.write_text(done.stdout)
    return path


_COMPLETE = r"""
source "$1"
shift
COMP_LINE=$1 COMP_POINT=${#1}
shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
[[ -n $BREAKS ]] && COMP_WORDBREAKS=$BREAKS
_spyglass
((${#COMPREPLY[@]} == 0)) || printf '%s\n' "${COMPREPLY[@]}"
"""


def _bash_words(line: str, breaks: str) -> list[str]:
    """COMP_WORDS as bash splits ``line`` (words of no quotes): at spaces (not one after a
    backslash), and each of ``breaks`` (``:``, ``=``) a word of its own."""
    words: list[str] = []
    for part in re.split(r"(?<!\\) ", line):
        piece = ""
        for char in part:
            if char in breaks:
                if piece:
                    words.append(piece)
                words.append(char)
                piece = ""
            else:
                piece += char
        if piece or not part:
            words.append(piece)
    return words


def _complete(script: Path, line: str, cwd: Path | None = None,
              breaks: str | None = None) -> list[str]:
    """COMPREPLY of the script's completion function for ``line``, the cursor at its end,
    in bash, COMP_WORDBREAKS as bash has it (with ``:`` and ``=``) or ``breaks``."""
    env = dict(os.environ, BREAKS=breaks or "")
    split_at = ":=" if breaks is None else "".join(c for c in ":=" if c in breaks)
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", _COMPLETE, "bash",
                           str(script), line, *_bash_words(line, split_at)],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=30,
                          check=False)
    assert done.returncode == 0 and done.stderr == "", done
    return done.stdout.splitlines()


def test_bash_completes_commands_and_flags(bash_script: Path) -> None:
    assert _complete(bash_script, "spyglass co") == ["copy", "completion"]
    assert "list-tags" in _complete(bash_script, "spyglass ")
    assert _complete(bash_script, "spyglass copy --multi") == ["--multi-arch"]
    assert _complete(bash_script, "spyglass --deb") == ["--debug"]
    # a flag hidden from help (skopeo's, refused) is not offered
    assert _complete(bash_script, "spyglass copy --sign") == []
    # the flags of the command given, after global flags and their values
    assert _complete(bash_script, "spyglass --tmpdir /tmp sync --keep") == ["--keep-going"]


def test_bash_completes_the_values_of_a_fixed_set(bash_script: Path) -> None:
    assert _complete(bash_script, "spyglass copy --format ") == ["oci", "v2s2"]
    assert _complete(bash_script, "spyglass sync -f v") == ["v2s2"]
    assert _complete(bash_script, "spyglass copy --multi-arch i") == ["index-only"]
    assert _complete(bash_script, "spyglass copy --dest-compress-format ") == [
        "gzip", "zstd", "none"]
    assert _complete(bash_script, "spyglass sync --src ") == ["docker", "dir", "yaml"]
    assert _complete(bash_script, "spyglass sync --dest ") == ["docker", "dir"]
    assert _complete(bash_script, "spyglass tags --format t") == ["text"]
    assert _complete(bash_script, "spyglass completion ") == ["bash", "zsh", "fish"]
    # --flag=VALUE: bash replaces what follows the '=', so the reply is the value alone
    assert _complete(bash_script, "spyglass copy --format=v") == ["v2s2"]
    assert _complete(bash_script, "spyglass copy --dest-tls-verify=f") == ["false"]
    # a flag's value is no argument: the source comes after it
    assert "oci:" in _complete(bash_script, "spyglass copy --format oci ")


def test_bash_completes_transports_then_paths_after_the_colon(bash_script: Path,
                                                              tmp_path: Path) -> None:
    (tmp_path / "layout").mkdir()
    (tmp_path / "my layout").mkdir()
    (tmp_path / "image.tar").write_bytes(b"")
    assert _complete(bash_script, "spyglass copy ") == [
        "docker://", "oci:", "dir:", "docker-archive:", "oci-archive:"]
    assert _complete(bash_script, "spyglass inspect o") == ["oci:", "oci-archive:"]
    # bash split "docker:" at its ':' and replaces what follows it
    assert _complete(bash_script, "spyglass inspect docker:") == ["//"]
    assert _complete(bash_script, "spyglass inspect docker://alp") == []  # (no registry asked)
    # after oci: folders, after an archive's transport files too, each without "oci:"
    assert sorted(_complete(bash_script, f"spyglass copy oci:{tmp_path}/")) == [
        f"{tmp_path}/layout/", f"{tmp_path}/my\\ layout/"]
    assert _complete(bash_script, f"spyglass copy oci:{tmp_path}/la") == [f"{tmp_path}/layout/"]
    assert sorted(_complete(bash_script, f"spyglass copy x docker-archive:{tmp_path}/")) == [
        f"{tmp_path}/image.tar", f"{tmp_path}/layout/", f"{tmp_path}/my\\ layout/"]
    assert _complete(bash_script, "spyglass copy oci:la", cwd=tmp_path) == ["layout/"]
    assert _complete(bash_script, "spyglass copy oci:my\\ ", cwd=tmp_path) == ["my\\ layout/"]
    # where ':' is no word break (bash-completion users may take it out) the whole word
    assert _complete(bash_script, f"spyglass copy oci:{tmp_path}/la",
                     breaks=" \t\n\"'><=;|&(") == [f"oci:{tmp_path}/layout/"]


def test_bash_completes_the_paths_of_path_flags(bash_script: Path, tmp_path: Path) -> None:
    (tmp_path / "auth.json").write_text("{}")
    (tmp_path / "certs").mkdir()
    assert _complete(bash_script, f"spyglass inspect --authfile {tmp_path}/a") == [
        f"{tmp_path}/auth.json"]
    assert _complete(bash_script, f"spyglass copy --digestfile {tmp_path}/c") == [
        f"{tmp_path}/certs/"]
    # a folder's flag: folders only
    assert _complete(bash_script, f"spyglass copy --src-cert-dir {tmp_path}/") == [
        f"{tmp_path}/certs/"]
    assert _complete(bash_script, f"spyglass --tmpdir {tmp_path}/") == [f"{tmp_path}/certs/"]
    assert _complete(bash_script, f"spyglass copy --tmpdir={tmp_path}/") == [
        f"{tmp_path}/certs/"]


def _typed_in_bash(script: Path, typed: str, cwd: Path) -> str:
    """What ``spyglass`` (a shell function printing its arguments) is given after
    ``typed`` is typed at an interactive bash, completion keys (Tab) and all."""
    pid, fd = pty.fork()
    if pid == 0:  # (the child)
        os.chdir(cwd)
        os.execve("/bin/bash", ["bash", "--norc", "--noprofile", "-i"],
                  {"PATH": os.environ["PATH"], "HOME": str(cwd), "TERM": "dumb",
                   "PS1": "$ ", "INPUTRC": "/dev/null"})
    output = b""

    def read_until(marker: bytes, seconds: float = 10) -> None:
        nonlocal output
        end = time.monotonic() + seconds
        while marker not in output and time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    output += os.read(fd, 4096)
                except OSError:
                    break

    try:
        os.write(fd, f"source {script}; spyglass() {{ printf 'ARG<%s>\\n' \"$@\"; }}; "
                 "echo READY\n".encode())
        read_until(b"READY\r\n")
        output = b""
        for part in typed.split("\t"):
            os.write(fd, part.encode())
            time.sleep(0.3)
            os.write(fd, b"\t")
            time.sleep(0.5)
        os.write(fd, b"\nexit\n")
        read_until(b"exit", 10)
        read_until(b"\x00", 1)
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    text = output.decode(errors="replace").replace("\r", "")
    return " ".join(line for line in text.splitlines() if line.startswith("ARG<"))


@pytest.mark.skipif(not Path("/bin/bash").exists(), reason="no /bin/bash")
def test_bash_at_a_terminal_keeps_the_transport_before_the_path(bash_script: Path,
                                                                 tmp_path: Path) -> None:
    """The classic pitfall: bash splits ``oci:lay`` at its ':' and puts a reply in
    place of ``lay`` alone; a reply of ``oci:layout/`` gave ``oci:oci:layout/``."""
    (tmp_path / "layout").mkdir()
    (tmp_path / "my layout").mkdir()
    assert _typed_in_bash(bash_script, "spyglass copy oci:la\tv1 oci:my\tx", tmp_path) == (
        "ARG<copy> ARG<oci:layout/v1> ARG<oci:my layout/x>")
    assert _typed_in_bash(bash_script, "spyglass copy --form\tv2\tdocker:\tx y",
                          tmp_path) == "ARG<copy> ARG<--format> ARG<v2s2> ARG<docker://x> ARG<y>"


def test_the_scripts_are_the_same_each_time() -> None:
    for shell in ("bash", "zsh", "fish"):
        first, second = _spyglass("completion", shell), _spyglass("completion", shell)
        assert first.returncode == 0 and first.stderr == "", first
        assert first.stdout == second.stdout
        assert f"spyglass completion {shell}" in first.stdout


def test_an_unknown_shell_is_a_usage_error_naming_the_shells() -> None:
    done = _spyglass("completion", "tcsh")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[-1] == (
        'spyglass: Argument SHELL: "tcsh" is not a shell spyglass writes completion for; '
        "expected bash, zsh or fish.")
    assert _spyglass("completion").returncode == 2


def test_the_help_says_how_to_install_it() -> None:
    done = _spyglass("completion", "--help")
    assert done.returncode == 0
    assert "~/.local/share/bash-completion/completions/spyglass" in done.stdout
    assert "~/.config/fish/completions/spyglass.fish" in done.stdout
    assert "completion" in _spyglass("--help").stdout


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_zsh_script_reads(tmp_path: Path) -> None:
    path = tmp_path / "_spyglass"
    path.write_text(_spyglass("completion", "zsh").stdout)
    done = subprocess.run(["zsh", "-n", str(path)], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_the_fish_script_reads_and_completes(tmp_path: Path) -> None:
    path = tmp_path / "spyglass.fish"
    path.write_text(_spyglass("completion", "fish").stdout)
    (tmp_path / "layout").mkdir()
    done = subprocess.run(
        ["fish", "--no-config", "-c", f"source {path}; complete -C 'spyglass copy --format '; "
         f"complete -C 'spyglass copy oci:{tmp_path}/la'"],
        capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    completed = [line.split("\t")[0] for line in done.stdout.splitlines()]
    assert completed == ["oci", "v2s2", f"oci:{tmp_path}/layout/"]


def test_every_argument_of_every_command_is_completed_as_something() -> None:
    """A new command's argument missing from the table fails here, not in a shell."""
    from spyglass.cli import build_parser
    from spyglass.cli.completion import commands

    found = {command.name: command for command in commands(build_parser())}
    assert set(found) - {""} == {"inspect", "copy", "sync", "signatures", "tags", "catalog",
                                 "login", "logout", "delete", "completion"}
    assert found["tags"].names == ("tags", "list-tags")
    assert [argument.kind for argument in found["copy"].arguments] == ["image", "image"]
