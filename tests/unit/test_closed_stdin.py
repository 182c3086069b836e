"""A standard input that is closed (``<&-``: a CI runner, a daemon, ``nohup``): Python has
no ``sys.stdin`` then, and a password that would be asked for is refused with the
sentence a ``</dev/null`` gets, not an internal error."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.imagebuild import multi_platform_layout

REPO = Path(__file__).resolve().parents[2]
NOWHERE = "127.0.0.1:9"  # (nothing is sent: the password is missing before that)


def _spyglass(args: list[str], stdin: str) -> subprocess.CompletedProcess[str]:
    """``spyglass ARGS`` run by a shell, its standard input ``stdin`` (a redirection)."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    command = " ".join(shlex.quote(word) for word in [sys.executable, "-m", "spyglass", *args])
    return subprocess.run(["sh", "-c", f"{command} {stdin}"], env=env, timeout=60,
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("args", "flag"), [
    (["inspect", "--creds", "alice", f"docker://{NOWHERE}/app:1.0"], "--creds"),
    (["copy", "-q", "--dest-creds", "alice", "oci:{tmp}/layout:latest",
      f"docker://{NOWHERE}/app:1.0"], "--dest-creds"),
    (["copy", "-q", "--src-creds", "alice", f"docker://{NOWHERE}/app:1.0", "oci:{tmp}/x:1"],
     "--src-creds"),
    (["sync", "-q", "--src-creds", "alice", "--src", "docker", "--dest", "dir",
      f"{NOWHERE}/app", "{tmp}/out"], "--src-creds"),
])
def test_a_password_asked_for_on_a_closed_stdin_is_refused_as_on_dev_null(
    tmp_path: Path, args: list[str], flag: str
) -> None:
    multi_platform_layout(tmp_path / "layout")
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    expected = (f'spyglass: No password given for "alice"; use {flag} USER:PASSWORD ({flag} '
                "USER: for an empty one), or run on a terminal to be asked.\n")
    for stdin in ("</dev/null", "<&-"):
        done = _spyglass(args, stdin)
        assert (done.returncode, done.stderr) == (1, expected), stdin


def test_login_on_a_closed_stdin_says_what_is_missing() -> None:
    done = _spyglass(["login", "-u", "alice", NOWHERE], "<&-")
    assert (done.returncode, done.stderr) == (1, (
        'spyglass: No password given for "alice"; use --password-stdin (or --password '
        "PASSWORD), or run on a terminal to be asked.\n"))
    done = _spyglass(["login", NOWHERE], "<&-")
    assert (done.returncode, done.stderr) == (
        1, "spyglass: No user name given; use --username USER.\n")


def test_password_stdin_that_is_closed_or_unreadable_is_a_sentence() -> None:
    done = _spyglass(["login", "-u", "alice", "--password-stdin", NOWHERE], "<&-")
    assert (done.returncode, done.stderr) == (1, (
        "spyglass: Cannot read the password from standard input (--password-stdin): it is "
        "closed.\n"))
    # open for writing only: there, but it cannot be read
    done = _spyglass(["login", "-u", "alice", "--password-stdin", NOWHERE], "0>/dev/null")
    assert (done.returncode, done.stderr) == (1, (
        "spyglass: Cannot read the password from standard input (--password-stdin): bad "
        "file descriptor.\n"))
