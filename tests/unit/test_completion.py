"""``spyglass completion bash|zsh|fish``: scripts written from the parser, used by real
shells. bash is always there; zsh and fish are tested where they are installed (``make
system-deps`` installs them, as root on Debian)."""

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


def _script(shell: str, factory: pytest.TempPathFactory) -> Path:
    done = _spyglass("completion", shell)
    assert done.returncode == 0, done.stderr
    path = factory.mktemp("completion") / f"spyglass.{shell}"
    path.write_text(done.stdout)
    return path


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _script("bash", tmp_path_factory)


@pytest.fixture(scope="module")
def zsh_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("zsh") is None:
        pytest.skip("needs zsh on PATH; `make system-deps` installs it (as root on Debian)")
    return _script("zsh", tmp_path_factory)


@pytest.fixture(scope="module")
def fish_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("fish") is None:
        pytest.skip("needs fish on PATH; `make system-deps` installs it (as root on Debian)")
    return _script("fish", tmp_path_factory)


_COMPLETE = r"""
set -eu  # (the completion works in a user's shell of these too)
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


class _Terminal:
    """An interactive shell in a pseudo-terminal, its HOME and XDG folders ``home``."""

    def __init__(self, argv: list[str], home: Path) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # (the child)
            os.chdir(home)
            os.execve(argv[0], argv, {
                "PATH": os.environ["PATH"], "HOME": str(home), "TERM": "dumb", "PS1": "$ ",
                "INPUTRC": "/dev/null", "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_DATA_HOME": str(home / ".local/share"),
                "XDG_CACHE_HOME": str(home / ".cache")})
        self.output = b""

    def read_until(self, marker: bytes, seconds: float = 10) -> None:
        end = time.monotonic() + seconds
        while marker not in self.output and time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.output += os.read(self.fd, 4096)
                except OSError:
                    break

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def set_up(self, commands: str) -> None:
        """Run ``commands`` (one line), then wait until they are done."""
        self.send(f"{commands}; echo RE''ADY\n")  # (READY is not in what is echoed)
        self.read_until(b"READY\r\n", 30)
        self.output = b""

    def close(self) -> None:
        self.send("\nexit\n")
        self.read_until(b"\x00", 1)
        os.close(self.fd)
        os.waitpid(self.pid, 0)

    def typed(self, typed: str) -> str:
        """What ``spyglass`` (a function printing its arguments) is given after
        ``typed`` is typed, completion keys (Tab) and all."""
        for part in typed.split("\t"):
            self.send(part)
            time.sleep(0.3)
            self.send("\t")
            time.sleep(0.5)
        self.close()
        text = self.output.decode(errors="replace").replace("\r", "")
        return " ".join(line for line in text.splitlines() if line.startswith("ARG<"))


_INTERACTIVE: dict[str, tuple[list[str], str]] = {
    # each shell at a terminal: how it starts, and what sources SCRIPT and makes
    # spyglass print each argument it gets as ARG<…>
    "bash": (["/bin/bash", "--norc", "--noprofile", "-i"],
             "source SCRIPT; spyglass() { printf 'ARG<%s>\\n' \"$@\"; }"),
    "zsh": (["/usr/bin/env", "zsh", "-f", "-i"],
            "autoload -U compinit; compinit -u -D; source SCRIPT; "
            "spyglass() { printf 'ARG<%s>\\n' \"$@\" }"),
    "fish": (["/usr/bin/env", "fish", "--no-config", "-i"],
             "source SCRIPT; function spyglass; printf 'ARG<%s>\\n' $argv; end"),
}


def _typed_in(shell: str, script: Path, typed: str, cwd: Path) -> str:
    """The arguments spyglass gets once ``typed`` (Tabs and all) is typed at ``shell``
    with the completion ``script`` sourced."""
    command, set_up = _INTERACTIVE[shell]
    terminal = _Terminal(command, cwd)
    terminal.set_up(set_up.replace("SCRIPT", str(script)))
    return terminal.typed(typed)


def _typed_in_bash(script: Path, typed: str, cwd: Path) -> str:
    return _typed_in("bash", script, typed, cwd)


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


@pytest.mark.skipif(not Path("/bin/bash").exists(), reason="no /bin/bash")
def test_bash_at_a_terminal_completes_a_quoted_name_as_its_quote_reads_it(
        bash_script: Path, tmp_path: Path) -> None:
    """A quote opened after the transport got a reply with backslashes (oci:"my\\ layout/"
    gave the folder "my\\ layout"); one opened before it completed nothing."""
    (tmp_path / "my layout").mkdir()
    (tmp_path / "it's").mkdir()
    (tmp_path / "a:b").mkdir()
    lines = {
        'spyglass copy x oci:"my la\tv1 y': "ARG<oci:my layout/v1>",
        "spyglass copy x oci:'my la\tv1 y": "ARG<oci:my layout/v1>",
        'spyglass copy x "oci:my la\tv1 y': "ARG<oci:my layout/v1>",
        "spyglass copy x 'oci:my\tv1 y": "ARG<oci:my layout/v1>",
        "spyglass copy x oci:'it\tv1 y": "ARG<oci:it's/v1>",
        'spyglass copy x "oci:it\tv1 y': "ARG<oci:it's/v1>",
        'spyglass copy x oci:"a:\tv1 y': "ARG<oci:a:b/v1>",
        'spyglass copy x "dir:a\tv1 y': "ARG<dir:a:b/v1>",
        'spyglass copy "--format=v\t x y': "ARG<--format=v2s2>",
    }
    assert {line: _typed_in_bash(bash_script, line, tmp_path) for line in lines} == {
        line: f"ARG<copy> {'ARG<x> ' if ' x ' in line else ''}{arg} ARG<y>"
        if "format" not in line else f"ARG<copy> {arg} ARG<x> ARG<y>"
        for line, arg in lines.items()}


@pytest.mark.skipif(not Path("/bin/bash").exists(), reason="no /bin/bash")
def test_bash_writes_out_a_home_no_shell_expands(bash_script: Path, tmp_path: Path) -> None:
    """oci:~/la<Tab> gave oci:~/layout/, a folder "~" spyglass refuses: no shell
    expands ~ after oci: (nor in quotes); there the home folder is written out (HOME is
    tmp_path). A word starting with ~ keeps it, for the shell to expand."""
    (tmp_path / "layout").mkdir()
    (tmp_path / "auth.json").write_text("{}")
    lines = {
        "spyglass copy oci:~/la\tv1 y": f"ARG<oci:{tmp_path}/layout/v1>",
        "spyglass copy x docker-archive:~/au\t y": (
            f"ARG<x> ARG<docker-archive:{tmp_path}/auth.json>"),
        "spyglass copy oci:~\tla\tv1 y": f"ARG<oci:{tmp_path}/layout/v1>",
        'spyglass copy "~/la\tv1 y': f"ARG<{tmp_path}/layout/v1>",
        "spyglass copy ~/la\tv1 y": f"ARG<{tmp_path}/layout/v1>",
    }
    assert {line: _typed_in_bash(bash_script, line, tmp_path) for line in lines} == {
        line: f"ARG<copy> {arg} ARG<y>" for line, arg in lines.items()}
    assert _complete(bash_script, "spyglass copy oci:~roo", cwd=tmp_path) == []


def _bash_after_tabs(script: Path, prelude: str, typed: str, cwd: Path) -> str:
    """What an interactive bash, ``prelude`` run first, shows after ``typed`` (Tabs and
    all) and a line cleared, then ``echo ALIVE`` (ALIVE shown if the shell is there)."""
    terminal = _Terminal(["/bin/bash", "--norc", "--noprofile", "-i"], cwd)
    terminal.set_up(f"{prelude}; source {script}")
    for part in typed.split("\t"):
        terminal.send(part)
        time.sleep(0.3)
        terminal.send("\t")
        time.sleep(0.5)
    terminal.send("\x15echo AL''IVE\n")  # (^U: the line cleared; ALIVE is not echoed)
    terminal.read_until(b"ALIVE\r\n", 5)
    text = terminal.output.decode(errors="replace").replace("\r", "")
    try:
        terminal.close()
    except OSError:  # (the shell is gone)
        os.close(terminal.fd)
        os.waitpid(terminal.pid, 0)
    return text


@pytest.mark.skipif(not Path("/bin/bash").exists(), reason="no /bin/bash")
@pytest.mark.parametrize("typed", ["spyglass copy zz", "spyglass zz", "spyglass copy --zz",
                                   "spyglass copy --format zz", "spyglass copy oci:zz"])
def test_bash_under_set_e_a_tab_matching_nothing_keeps_the_shell(bash_script: Path,
                                                                  tmp_path: Path,
                                                                  typed: str) -> None:
    """compgen fails where nothing matches; under the user's ``set -e`` a failing
    command in the completion function ended the shell (the terminal closed)."""
    assert "ALIVE" in _bash_after_tabs(bash_script, "set -e", typed, tmp_path)


@pytest.mark.skipif(not Path("/bin/bash").exists(), reason="no /bin/bash")
@pytest.mark.parametrize("typed", ["spyglass inspect x ", "spyglass copy a b c ",
                                   "spyglass login h ", "spyglass completion bash "])
def test_bash_under_set_u_more_words_than_arguments_complete_nothing(bash_script: Path,
                                                                     tmp_path: Path,
                                                                     typed: str) -> None:
    """Under the user's ``set -u`` a word past the command's last argument printed
    "bash: kinds[arguments]: unbound variable" over the line."""
    text = _bash_after_tabs(bash_script, "set -u", typed, tmp_path)
    assert "ALIVE" in text and "unbound" not in text
    assert _complete(bash_script, typed) == []


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


# ------------------------------------------------------------------------------- zsh

_ZSH_CAPTURE = r"""
autoload -U compinit; compinit -u -D
source @SCRIPT@
__capture_add() {
    if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
        builtin compadd "$@"
        return
    fi
    local -a __hits
    local -A __o
    builtin compadd -A __hits "$@"
    zparseopts -E -A __o P: p: S: s: W:
    local hit suffix
    for hit in $__hits; do
        suffix=${__o[-S]-}${__o[-s]-}
        if [[ -n ${(M)@:#-[a-zA-Z]#f[a-zA-Z]#} && -d ${__o[-W]-}${(Q)hit} ]]; then
            suffix=/
        fi
        print -r -- "HIT<$IPREFIX${__o[-P]-}${__o[-p]-}$hit$suffix>"
    done
    builtin compadd "$@"
}
__capture() {
    functions[compadd]=$functions[__capture_add]
    print  # (the first HIT on a line of its own, after the line typed)
    _main_complete
    unfunction compadd
    print -r -- "<<"DONE">>"
    compstate[insert]= compstate[list]=
}
zle -C __capture complete-word __capture
bindkey '^T' __capture
"""
"""Each word zsh's completion adds for the line before ^T, as it would be inserted (its
IPREFIX, prefixes and suffix; a folder's /), one HIT<…> a line: compadd wrapped."""


def _zsh_completes(script: Path, lines: list[str], cwd: Path) -> list[list[str]]:
    """What zsh, interactive in a pseudo-terminal (compinit, the script sourced),
    completes each of ``lines`` with, the cursor at its end; each word once."""
    terminal = _Terminal(["/usr/bin/env", "zsh", "-f", "-i"], cwd)
    try:
        capture = script.with_name("capture.zsh")
        capture.write_text(_ZSH_CAPTURE.replace("@SCRIPT@", str(script)))
        terminal.set_up(f"source {capture}")
        found: list[list[str]] = []
        for line in lines:
            terminal.output = b""
            terminal.send(line + "\x14")  # (^T)
            terminal.read_until(b"<<DONE>>")
            assert b"<<DONE>>" in terminal.output, terminal.output
            text = terminal.output.decode(errors="replace").replace("\r", "")
            hits = [each[4:-1] for each in text.splitlines() if each.startswith("HIT<")]
            found.append(list(dict.fromkeys(hits)))
            terminal.send("\x15")  # (^U: the line cleared)
    finally:
        terminal.close()
    return found


def test_every_argument_of_every_command_is_completed_as_something() -> None:
    """A new command's argument missing from the table fails here, not in a shell."""
    from spyglass.cli import build_parser
    from spyglass.cli.completion import commands

    found = {command.name: command for command in commands(build_parser())}
    assert set(found) - {""} == {"inspect", "copy", "sync", "signatures", "tags", "catalog",
                                 "login", "logout", "delete", "completion"}
    assert found["tags"].names == ("tags", "list-tags")
    assert [argument.kind for argument in found["copy"].arguments] == ["image", "image"]


def test_zsh_completes_commands_flags_and_the_values_of_a_fixed_set(zsh_script: Path,
                                                                     tmp_path: Path) -> None:
    lines = {
        "spyglass co": ["copy", "completion"],
        "spyglass copy --multi": ["--multi-arch"],
        "spyglass --deb": ["--debug"],
        "spyglass copy --sign": [],  # (hidden from help: skopeo's, refused)
        "spyglass --tmpdir /tmp sync --keep": ["--keep-going"],
        "spyglass copy --format ": ["oci", "v2s2"],
        "spyglass sync -f v": ["v2s2"],
        "spyglass copy --format=v": ["--format=v2s2"],
        "spyglass copy --multi-arch i": ["index-only"],
        "spyglass copy --dest-compress-format ": ["gzip", "zstd", "none"],
        "spyglass sync --src ": ["docker", "dir", "yaml"],
        "spyglass list-tags --format t": ["text"],
        # an argument of a fixed set (was: its spec unquoted, zsh read a glob: nothing)
        "spyglass completion ": ["bash", "zsh", "fish"],
        # an on/off flag's =BOOL (was: nothing)
        "spyglass copy --dest-tls-verify=f": ["--dest-tls-verify=false"],
        "spyglass --insecure-policy=t": ["--insecure-policy=true"],
    }
    found = _zsh_completes(zsh_script, list(lines), tmp_path)
    assert "list-tags" in _zsh_completes(zsh_script, ["spyglass "], tmp_path)[0]
    assert dict(zip(lines, found, strict=True)) == lines


def test_zsh_completes_transports_then_paths(zsh_script: Path, tmp_path: Path) -> None:
    (tmp_path / "layout").mkdir()
    (tmp_path / "my layout").mkdir()
    (tmp_path / "image.tar").write_bytes(b"")
    transports = ["docker://", "oci:", "dir:", "docker-archive:", "oci-archive:"]
    lines = {
        "spyglass copy ": transports,
        "spyglass copy --format oci ": transports,  # (a flag's value is no argument)
        "spyglass copy --tls-verify ": transports,
        "spyglass inspect o": ["oci:", "oci-archive:"],
        "spyglass inspect docker:": ["docker://"],
        "spyglass inspect docker://alp": [],  # (no registry asked)
        "spyglass delete ": ["docker://"],
        f"spyglass copy oci:{tmp_path}/": [f"oci:{tmp_path}/layout/",
                                           f"oci:{tmp_path}/my\\ layout/"],
        "spyglass copy oci:la": ["oci:layout/"],
        "spyglass copy oci:my\\ ": ["oci:my\\ layout/"],
        f"spyglass copy x docker-archive:{tmp_path}/": [
            f"docker-archive:{tmp_path}/image.tar", f"docker-archive:{tmp_path}/layout/",
            f"docker-archive:{tmp_path}/my\\ layout/"],
        f"spyglass copy x oci-archive:{tmp_path}/i": [f"oci-archive:{tmp_path}/image.tar"],
        # the paths of path flags; a folder's flag: folders only
        f"spyglass inspect --authfile {tmp_path}/i": [f"{tmp_path}/image.tar"],
        f"spyglass copy --src-cert-dir {tmp_path}/": [f"{tmp_path}/layout/",
                                                      f"{tmp_path}/my\\ layout/"],
        f"spyglass --tmpdir {tmp_path}/l": [f"{tmp_path}/layout/"],
        f"spyglass copy --tmpdir={tmp_path}/l": [f"--tmpdir={tmp_path}/layout/"],
    }
    found = _zsh_completes(zsh_script, list(lines), tmp_path)
    assert dict(zip(lines, [sorted(each) for each in found], strict=True)) == {
        line: sorted(words) for line, words in lines.items()}


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_at_a_terminal_keep_the_transport_before_the_path(
        shell: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    script = request.getfixturevalue(f"{shell}_script")
    (tmp_path / "layout").mkdir()
    (tmp_path / "my layout").mkdir()
    assert _typed_in(shell, script, "spyglass copy oci:la\tv1 oci:my\tx", tmp_path) == (
        "ARG<copy> ARG<oci:layout/v1> ARG<oci:my layout/x>")


def test_zsh_writes_out_a_home_no_shell_expands(zsh_script: Path, tmp_path: Path) -> None:
    """oci:~/la<Tab> gave oci:~/layout/, a name spyglass refuses: no shell expands ~
    after oci:; there the home folder is written out (HOME is tmp_path)."""
    (tmp_path / "layout").mkdir()
    (tmp_path / "image.tar").write_bytes(b"")
    lines = {
        "spyglass copy oci:~/la": [f"oci:{tmp_path}/layout/"],
        "spyglass copy x oci-archive:~/i": [f"oci-archive:{tmp_path}/image.tar"],
        "spyglass copy oci:~roo": [],  # (~user… not looked up)
        "spyglass copy ~/la": ["~/layout/"],  # (the shell expands this one)
    }
    found = _zsh_completes(zsh_script, list(lines), tmp_path)
    assert dict(zip(lines, found, strict=True)) == lines
    assert _typed_in("zsh", zsh_script, "spyglass copy oci:~/la\tv1 y", tmp_path) == (
        f"ARG<copy> ARG<oci:{tmp_path}/layout/v1> ARG<y>")


# ------------------------------------------------------------------------------ fish

def _fish_completes(script: Path, line: str, cwd: Path) -> list[str]:
    """What fish completes ``line`` with (``complete -C``), the cursor at its end."""
    done = subprocess.run(
        ["fish", "--no-config", "-c", f"source {script}; complete -C $argv[1]", line],
        capture_output=True, text=True, cwd=cwd, timeout=30, check=False,
        env=dict(os.environ, HOME=str(cwd), XDG_CONFIG_HOME=str(cwd / ".config"),
                 XDG_DATA_HOME=str(cwd / ".local/share")))
    assert done.returncode == 0 and done.stderr == "", done
    return sorted(each.split("\t")[0] for each in done.stdout.splitlines())


def test_fish_completes_commands_flags_and_the_values_of_a_fixed_set(fish_script: Path,
                                                                      tmp_path: Path) -> None:
    lines = {
        "spyglass co": ["completion", "copy"],
        "spyglass copy --multi": ["--multi-arch"],
        "spyglass --deb": ["--debug"],
        "spyglass copy --sign": [],
        "spyglass --tmpdir /tmp sync --keep": ["--keep-going"],
        "spyglass copy --format ": ["oci", "v2s2"],
        "spyglass sync -f v": ["v2s2"],
        "spyglass copy --format=v": ["--format=v2s2"],
        "spyglass copy --multi-arch i": ["index-only"],
        "spyglass sync --src ": ["dir", "docker", "yaml"],
        "spyglass list-tags --format t": ["text"],
        "spyglass completion ": ["bash", "fish", "zsh"],
        # an on/off flag's =BOOL (was: nothing)
        "spyglass copy --dest-tls-verify=f": ["--dest-tls-verify=false"],
        "spyglass --insecure-policy=t": ["--insecure-policy=true"],
        # each argument in its place (was: a third argument completed as the second;
        # "copy tags" completed as tags too)
        "spyglass copy a b ": [],
        "spyglass completion zsh ": [],
        "spyglass nosuchcommand ": [],
    }
    assert "list-tags" in _fish_completes(fish_script, "spyglass ", tmp_path)
    assert {line: _fish_completes(fish_script, line, tmp_path) for line in lines} == lines


def test_fish_completes_transports_then_paths(fish_script: Path, tmp_path: Path) -> None:
    (tmp_path / "layout").mkdir()
    (tmp_path / "my layout").mkdir()
    (tmp_path / "image.tar").write_bytes(b"")
    transports = sorted(["docker://", "oci:", "dir:", "docker-archive:", "oci-archive:"])
    lines = {
        "spyglass copy ": transports,
        "spyglass copy a ": transports,
        "spyglass copy --format oci ": transports,
        "spyglass copy --tls-verify false a ": transports,  # (false: --tls-verify's)
        "spyglass inspect o": ["oci-archive:", "oci:"],
        "spyglass inspect docker:": ["docker://"],
        "spyglass inspect docker://alp": [],
        "spyglass delete ": ["docker://"],
        f"spyglass copy oci:{tmp_path}/": [f"oci:{tmp_path}/layout/",
                                           f"oci:{tmp_path}/my layout/"],
        "spyglass copy oci:la": ["oci:layout/"],
        f"spyglass copy x docker-archive:{tmp_path}/": [
            f"docker-archive:{tmp_path}/image.tar", f"docker-archive:{tmp_path}/layout/",
            f"docker-archive:{tmp_path}/my layout/"],
        f"spyglass inspect --authfile {tmp_path}/i": [f"{tmp_path}/image.tar"],
        f"spyglass copy --src-cert-dir {tmp_path}/": [f"{tmp_path}/layout/",
                                                      f"{tmp_path}/my layout/"],
        f"spyglass --tmpdir {tmp_path}/l": [f"{tmp_path}/layout/"],
        f"spyglass copy --tmpdir={tmp_path}/l": [f"--tmpdir={tmp_path}/layout/"],
    }
    assert {line: _fish_completes(fish_script, line, tmp_path) for line in lines} == lines


def test_fish_completes_home_quotes_and_colons_in_paths(fish_script: Path,
                                                       tmp_path: Path) -> None:
    """~/la completed nothing (fish matched ~/layout/ against no ~); a quote before the
    transport completed nothing; dir:a: offered every folder after "a:" (fish's own
    completion of VAR:path); after a transport, where no shell expands ~, oci:~/la gave
    oci:~/layout/, a name spyglass refuses (HOME is tmp_path)."""
    (tmp_path / "layout").mkdir()
    (tmp_path / "my layout").mkdir()
    (tmp_path / "a:b").mkdir()
    lines = {
        "spyglass copy ~/la": ["~/layout/"],
        "spyglass copy x ~/": ["~/a:b/", "~/layout/", "~/my layout/"],
        "spyglass sync ~/la": ["~/layout/"],
        "spyglass sync --src dir ~/la": ["~/layout/"],
        "spyglass copy dir:a:": ["dir:a:b/"],
        "spyglass copy ./a:": ["./a:b/"],
        'spyglass copy "oci:my la': ["oci:my layout/"],
        "spyglass copy oci:'my la": ["oci:my layout/"],
        'spyglass copy x "docker-archive:la': ["docker-archive:layout/"],
        "spyglass copy oci:~/la": [],
        "spyglass copy x docker-archive:~/": [],
    }
    assert {line: _fish_completes(fish_script, line, tmp_path) for line in lines} == lines


def test_fish_at_a_terminal_completes_a_quoted_name(fish_script: Path,
                                                    tmp_path: Path) -> None:
    (tmp_path / "my layout").mkdir()
    # (fish leaves the quote open after a folder, as for its own paths)
    assert _typed_in("fish", fish_script, 'spyglass copy "oci:my la\tv1" oci:"my la\tv2" y',
                     tmp_path) == "ARG<copy> ARG<oci:my layout/v1> ARG<oci:my layout/v2> ARG<y>"


_SYNC = {  # what sync's SOURCE and DESTINATION complete as, by --src and --dest
    "spyglass sync ": ["image.tar", "layout/"],  # (no --src: a folder or a file)
    "spyglass sync --src docker ": [],  # REGISTRY/REPOSITORY: no registry asked
    "spyglass sync --src dir ": ["layout/"],
    "spyglass sync -s yaml ": ["image.tar", "layout/"],
    "spyglass sync --src=dir ": ["layout/"],
    "spyglass sync --src dir --dest docker x ": [],
    "spyglass sync --src docker -d dir x ": ["layout/"],
    "spyglass sync --dest=dir --src yaml x ": ["layout/"],
}


def _sync_folder(tmp_path: Path) -> None:
    (tmp_path / "layout").mkdir()
    (tmp_path / "image.tar").write_bytes(b"")


def test_bash_completes_sync_arguments_as_src_and_dest_say(bash_script: Path,
                                                           tmp_path: Path) -> None:
    _sync_folder(tmp_path)
    assert {line: sorted(_complete(bash_script, line, cwd=tmp_path)) for line in _SYNC} == _SYNC


def test_zsh_completes_sync_arguments_as_src_and_dest_say(zsh_script: Path,
                                                          tmp_path: Path) -> None:
    _sync_folder(tmp_path)
    found = _zsh_completes(zsh_script, list(_SYNC), tmp_path)
    assert dict(zip(_SYNC, [sorted(each) for each in found], strict=True)) == _SYNC


def test_fish_completes_sync_arguments_as_src_and_dest_say(fish_script: Path,
                                                           tmp_path: Path) -> None:
    _sync_folder(tmp_path)
    assert {line: _fish_completes(fish_script, line, tmp_path) for line in _SYNC} == _SYNC


def test_make_system_deps_installs_the_shells_these_tests_run() -> None:
    """CI runs ``make test``, whose system-deps installs (as root with apt) or names what
    is missing: zsh and fish among them, or their tests would skip there."""
    makefile = (REPO / "Makefile").read_text()
    packages = re.search(r"^SYSTEM_PACKAGES := (.*?[^\\])$", makefile, re.M | re.S)
    assert packages is not None
    assert {"zsh", "fish"} <= set(packages.group(1).replace("\\\n", " ").split())
    assert re.search(r"for cmd in [^;]*\bzsh fish\b", makefile)
