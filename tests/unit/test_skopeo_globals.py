"""skopeo's global flags on the command line: taken before or after the command, each
done as skopeo does it or refused with a sentence (spyglass.cli.skopeo_globals)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from spyglass.cli import build_parser
from spyglass.cli.skopeo_globals import apply_global_flags
from spyglass.core.transports.decompressed import big_files_folder

REPO = Path(__file__).resolve().parents[2]
SAMPLE = f"oci:{REPO / 'resources' / 'sample-layout'}:tools:2024.1"


def spyglass(*args: str, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spyglass", *args],
        env={**os.environ, "PYTHONPATH": str(REPO / "app"), **(env or {})},
        capture_output=True, text=True, timeout=60, check=False,
    )


def policy(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_a_policy_that_accepts_anything_is_taken_before_or_after_the_command(
    tmp_path: Path,
) -> None:
    anything = policy(tmp_path / "policy.json", {
        "default": [{"type": "insecureAcceptAnything"}],
        "transports": {"docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}},
    })
    before = spyglass("--policy", str(anything), "copy", "-q", SAMPLE, f"oci:{tmp_path / 'a'}:x")
    assert before.returncode == 0, before.stderr
    after = spyglass("copy", "-q", "--policy", str(anything), SAMPLE, f"oci:{tmp_path / 'b'}:x")
    assert after.returncode == 0, after.stderr


def test_a_policy_that_rejects_the_source_refuses_the_copy_unless_insecure(
    tmp_path: Path,
) -> None:
    strict = policy(tmp_path / "policy.json", {
        "default": [{"type": "reject"}],
        "transports": {"docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}},
    })
    out = tmp_path / "out"
    done = spyglass("copy", "--policy", str(strict), SAMPLE, f"oci:{out}:x")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.strip() == (
        f'spyglass: The policy "{strict}" rejects {SAMPLE}: its "default" requirements '
        "include reject, so it is not copied. To copy it anyway, pass --insecure-policy (no "
        "policy is asked then), or change the policy.")
    assert not out.exists()
    refused = spyglass("--insecure-policy=false", "--policy", str(strict), "copy", "-q",
                       SAMPLE, f"oci:{out}:x")
    assert refused.returncode == 1 and "rejects" in refused.stderr
    assert not out.exists()
    # --insecure-policy skips it, as in skopeo, before or after the command
    for position, args in enumerate((("--insecure-policy", "--policy", str(strict), "copy"),
                                     ("copy", "--policy", str(strict), "--insecure-policy"))):
        done = spyglass(*args, "-q", SAMPLE, f"oci:{out}:x{position}")
        assert done.returncode == 0, done.stderr
    # only copy asks the policy: inspect reads the same image (as skopeo's does)
    assert spyglass("--policy", str(strict), "inspect", SAMPLE).returncode == 0


def test_the_users_default_policy_is_enforced_without_policy(tmp_path: Path) -> None:
    home = tmp_path / "home"
    user = home / ".config" / "containers" / "policy.json"
    user.parent.mkdir(parents=True)
    policy(user, {"default": [{"type": "reject"}]})
    done = spyglass("copy", SAMPLE, f"oci:{tmp_path / 'out'}:x", env={"HOME": str(home)})
    assert done.returncode == 1
    assert done.stderr.strip().startswith(f'spyglass: The policy "{user}" rejects {SAMPLE}')
    assert not (tmp_path / "out").exists()
    assert spyglass("inspect", SAMPLE, env={"HOME": str(home)}).returncode == 0


def test_a_policy_asking_for_signatures_elsewhere_lets_other_images_through(
    tmp_path: Path,
) -> None:
    """RHEL's own policy: anything, but its registries' images signed. The signed scope
    is a loopback port nothing is asked on: the policy refuses before any request."""
    signed = [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k.gpg"}]
    rhel = policy(tmp_path / "policy.json", {
        "default": [{"type": "insecureAcceptAnything"}],
        "transports": {"docker": {"127.0.0.1:9": signed, "127.0.0.1:9/other": signed},
                       "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}},
    })
    done = spyglass("--policy", str(rhel), "copy", "-q", SAMPLE, f"oci:{tmp_path / 'out'}:x")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "index.json").exists()
    source = "docker://127.0.0.1:9/ubi9/ubi:latest"
    done = spyglass("--policy", str(rhel), "copy", source, f"oci:{tmp_path / 'red'}:x")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f'spyglass: The policy "{rhel}" accepts {source} only with signatures (its '
        'requirements for the docker scope "127.0.0.1:9" ask for signedBy), and Spyglass '
        "does not verify signatures while it copies: copy it with skopeo, which verifies "
        "them, or check them with spyglass signatures --keyring (the policy's GPG keys) "
        "and copy with --insecure-policy (which checks nothing).")
    assert not (tmp_path / "red").exists()


def test_a_policy_file_that_cannot_be_used_is_refused_by_any_command(tmp_path: Path) -> None:
    missing = spyglass("--policy", str(tmp_path / "nope.json"), "inspect", SAMPLE)
    assert missing.returncode == 1
    assert missing.stderr.startswith(f'spyglass: Cannot read the policy "{tmp_path}/nope.json"')
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert spyglass("--policy", str(broken), "inspect", SAMPLE).stderr.startswith(
        f'spyglass: The policy "{broken}" is not JSON')
    # refused as containers/image refuses them: no "default", an empty list
    empty = policy(tmp_path / "empty.json", {})
    assert "is not a containers-policy.json" in spyglass(
        "--policy", str(empty), "inspect", SAMPLE).stderr
    # with --insecure-policy no policy is read, as skopeo reads none
    done = spyglass("--insecure-policy", "--policy", str(broken), "copy", "-q", SAMPLE,
                    f"oci:{tmp_path / 'out'}:x")
    assert done.returncode == 0, done.stderr
    none = policy(tmp_path / "none.json", {"default": []})
    assert spyglass("--policy", str(none), "inspect", SAMPLE).stderr.strip() == (
        f'spyglass: The policy "{none}" lists no requirements for default; containers/image '
        "refuses such a policy.")


@pytest.mark.parametrize("flag, said", [
    ("--command-timeout", "run it under timeout(1)"),
])
def test_flags_for_what_spyglass_does_not_do_are_usage_errors(flag: str, said: str) -> None:
    for args in ((flag, "x", "inspect", SAMPLE), ("inspect", flag, "x", SAMPLE)):
        done = spyglass(*args)
        assert done.returncode == 2
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith(f"spyglass: {flag} is skopeo's: it ") and said in last, last


def test_tmpdir_is_where_big_temporary_files_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", None)
    args = build_parser().parse_args(["inspect", "--tmpdir", str(tmp_path), SAMPLE])
    apply_global_flags(args)
    assert big_files_folder() == tmp_path
    assert Path(tempfile.gettempdir()) == tmp_path
    done = spyglass("--tmpdir", str(tmp_path / "nope"), "inspect", SAMPLE)
    assert done.returncode == 1
    assert done.stderr.strip() == (f'spyglass: --tmpdir "{tmp_path}/nope" is not a folder; '
                                   "expected the folder for big temporary files.")


def test_debug_and_newer_skopeos_parallel_flag_after_the_command() -> None:
    args = build_parser().parse_args(
        ["copy", "--debug", "--image-parallel-copies", "4", SAMPLE, "oci:/x"])
    assert args.debug is True and args.parallel == 4
    assert build_parser().parse_args(["--debug", "inspect", SAMPLE]).debug is True
    assert build_parser().parse_args(["inspect", SAMPLE]).debug is False



@pytest.mark.parametrize("argv", [
    ["--registries.d", "regd", "list-tags", "docker://h/r"],
    ["--registries.d=regd", "copy", "-q", "oci:x", "docker://h/r:1"],
    ["copy", "--registries.d", "regd", "oci:x", "docker://h/r:1"],
    ["--registries.d", "regd", "inspect", "docker://h/r:1"],
    ["--registries.d", "other", "delete", "--registries.d", "regd", "docker://h/r:1"],
    ["logout", "--registries.d", "regd", "h"],
    ["--registries.d", "regd", "login", "h"],
])
def test_registries_d_is_a_global_flag(argv: list[str]) -> None:
    """skopeo 1.9 takes --registries.d before the command only: there, it was taken for
    the command ('invalid choice: regd'); after it too, as Spyglass takes every global
    flag, and by logout."""
    from spyglass.cli.common import registry_options

    args = build_parser().parse_args(argv)
    assert args.registries_d == Path("regd")
    if args.command != "logout":
        side = {"side": "dest"} if args.command == "copy" else {}
        assert registry_options(args, "h", **side).registries_d == Path("regd")


def test_a_policy_with_a_key_twice_is_refused_by_copy_and_sync(tmp_path: Path) -> None:
    """Python's json kept the last "type": insecureAcceptAnything, so both copied under a
    policy skopeo refuses ('Duplicate key "type"')."""
    path = tmp_path / "policy.json"
    path.write_text('{"default":[{"type":"reject","type":"insecureAcceptAnything"}]}')
    said = (f'spyglass: The policy "{path}" has the key "type" twice in one object; expected '
            "each key once")
    done = spyglass("--policy", str(path), "copy", "-q", SAMPLE, f"dir:{tmp_path / 'copy'}")
    assert done.returncode == 1 and done.stderr.startswith(said), done.stderr
    layout = REPO / "resources" / "sample-layout"
    done = spyglass("--policy", str(path), "sync", "--src", "dir", "--dest", "dir",
                    str(layout), str(tmp_path / "synced"))
    assert done.returncode == 1 and said in done.stderr, done.stderr
    assert not (tmp_path / "copy").exists() and not (tmp_path / "synced").exists()
