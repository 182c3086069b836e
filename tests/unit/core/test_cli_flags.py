"""skopeo's flags as its scripts write them: the command line read as Go's pflag reads it
(``--flag=BOOL``, values that start with ``-``, comma lists), and skopeo's flags for what
Spyglass does not do said in a sentence."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from spyglass.cli import build_parser, main
from spyglass.cli.common import GoBool

REPO = Path(__file__).resolve().parents[3]
SAMPLE = f"oci:{REPO / 'resources' / 'sample-layout'}:tools:2024.1"


@pytest.mark.parametrize(("value", "expected"), [
    ("1", True), ("t", True), ("T", True), ("TRUE", True), ("true", True), ("True", True),
    ("0", False), ("f", False), ("F", False), ("FALSE", False), ("false", False),
    ("False", False), ("yes", True), ("no", False),
])
def test_a_bool_is_what_go_parses_as_one(value: str, expected: bool) -> None:
    """strconv.ParseBool's spellings, as skopeo takes them (yes/no kept besides)."""
    args = build_parser().parse_args(["list-tags", f"--tls-verify={value}", "docker://h/r"])
    assert args.tls_verify is expected
    args = build_parser().parse_args([f"--insecure-policy={value}", "inspect", "oci:x"])
    assert args.insecure_policy is expected


_POSITIONALS = {"inspect": ["oci:x"], "copy": ["oci:x", "dir:y"], "signatures": ["oci:x"],
                "tags": ["docker://h/r"], "list-tags": ["docker://h/r"], "catalog": ["h"],
                "login": ["h"], "logout": ["h"], "delete": ["docker://h/r:1"],
                "sync": ["--src", "docker", "--dest", "dir", "h/r", "out"],
                "completion": ["bash"]}


def _switches(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """(flag, dest) of the parser's on/off flags; none is a switch that takes no value
    (but --help and --version)."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._VersionAction) or \
                not action.option_strings:
            continue
        assert action.nargs != 0, action.option_strings  # all take =BOOL
        if isinstance(action, GoBool):
            found.append((action.option_strings[0], action.dest))
    return found


def test_every_switch_takes_a_bool_as_pflag_does() -> None:
    """skopeo's scripts write --remove-signatures=${STRIP:-false}: every on/off flag of
    every command takes =BOOL (argparse refused it: 'ignored explicit argument')."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == set(_POSITIONALS)
    seen = 0
    for command, sub in commands.choices.items():
        for flag, dest in _switches(sub):
            for value, expected in (("false", False), ("true", True), ("0", False)):
                args = parser.parse_args([command, f"{flag}={value}", *_POSITIONALS[command]])
                assert getattr(args, dest) is expected, (command, flag, value)
            seen += 1
    assert seen > 30
    for flag, dest in _switches(parser):
        assert getattr(parser.parse_args([f"{flag}=false", "inspect", "oci:x"]), dest) is False


@pytest.mark.parametrize(("argv", "expected"), [
    (["copy", "-q=false", "oci:x", "dir:y"], {"quiet": False}),
    (["copy", "-aq", "oci:x", "dir:y"], {"all": True, "quiet": True}),
    (["copy", "-aq=false", "oci:x", "dir:y"], {"all": True, "quiet": False}),
    (["copy", "-qfv2s2", "oci:x", "dir:y"], {"quiet": True, "format": "v2s2"}),
    (["copy", "-qf", "oci", "oci:x", "dir:y"], {"quiet": True, "format": "oci"}),
    (["copy", "-f=oci", "oci:x", "dir:y"], {"format": "oci"}),
    (["--debug=true", "copy", "--all=false", "oci:x", "dir:y"], {"debug": True, "all": False}),
    (["copy", "--remove-signatures=false", "oci:x", "dir:y"], {"remove_signatures": False}),
])
def test_short_and_long_switches_read_as_pflag_reads_them(
        argv: list[str], expected: dict[str, object]) -> None:
    """-q=false was read by argparse as -q -f alse ('invalid choice: alse')."""
    args = build_parser().parse_args(argv)
    assert {name: getattr(args, name) for name in expected} == expected
    assert (args.source, args.destination) == ("oci:x", "dir:y")


@pytest.mark.parametrize("argv", [
    ["copy", "--remove-signatures", "oci:x", "dir:y"],
    ["copy", "oci:x", "--all", "dir:y"],
    ["copy", "-q", "oci:x", "dir:y"],
    ["copy", "--src-no-creds", "--dest-no-creds", "oci:x", "dir:y"],
])
def test_a_switch_standing_alone_takes_no_value(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.source, args.destination) == ("oci:x", "dir:y")


@pytest.mark.parametrize(("argv", "dest", "value"), [
    (["tags", "--username", "alice", "--password", "-secret", "docker://h/r"],
     "password", "-secret"),
    (["tags", "--registry-token", "-abc", "docker://h/r"], "registry_token", "-abc"),
    (["tags", "--creds", "-x:y", "docker://h/r"], "creds", "-x:y"),
    (["delete", "--creds", "--bob:pw", "docker://h/r:1"], "creds", "--bob:pw"),
    (["login", "-p", "-secret", "-u", "alice", "h"], "password", "-secret"),
    (["login", "-p-secret", "-u", "alice", "h"], "password", "-secret"),
    (["copy", "--src-password", "-pw", "--src-username", "u", "oci:x", "dir:y"],
     "src_password", "-pw"),
    (["copy", "--dest-registry-token", "--tok", "oci:x", "dir:y"], "dest_registry_token",
     "--tok"),
    (["copy", "--dest-compress-level", "-1", "oci:x", "dir:y"], "dest_compress_level", -1),
    (["copy", "--dest-creds", "-", "oci:x", "dir:y"], "dest_creds", "-"),
])
def test_a_flags_value_may_start_with_a_dash(argv: list[str], dest: str,
                                             value: object) -> None:
    """pflag takes the next argument as the value whatever it starts with; argparse said
    'expected one argument' for a generated password or token starting with '-'."""
    assert getattr(build_parser().parse_args(argv), dest) == value


def test_two_dashes_still_end_the_flags() -> None:
    args = build_parser().parse_args(["copy", "-q", "--", "--all", "-x"])
    assert (args.source, args.destination, args.all, args.quiet) == ("--all", "-x", False, True)


@pytest.mark.parametrize("argv", [
    ["inspect", "--format", "--", "oci:x:y"], ["inspect", "-f", "--", "oci:x:y"],
    ["inspect", "--platform", "--", "oci:x:y"], ["copy", "--authfile", "--", "a", "b"],
])
def test_two_dashes_are_no_flags_value(argv: list[str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    # ("--format=--" became an empty list, and inspect an internal error)
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert "expected one argument" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["inspect", "-nh"], ["copy", "-qh"]])
def test_help_grouped_after_a_switch_is_help(argv: list[str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 0
    assert capsys.readouterr().out.startswith("usage: spyglass")


def test_help_shows_a_switch_as_a_switch(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["copy", "--help"])
    out = capsys.readouterr().out
    assert "[--all]" in out and "[--quiet]" in out and "[--src-tls-verify [BOOL]]" in out
    assert "  --all, -a " in out
    assert "[ALL]" not in out and "[QUIET]" not in out


def test_a_copy_with_switches_written_as_skopeos_scripts_write_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["copy", "--remove-signatures=false", "--preserve-digests=true", "-q=false",
                 "--dest-precompute-digests=true", "--all=f", SAMPLE, f"dir:{tmp_path / 'd'}"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Copied" in err  # not quiet
    assert (tmp_path / "d" / "manifest.json").is_file()


def _refusal(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: spyglass {argv[0]} "), err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize("argv", [
    ["--insec", "copy", SAMPLE, "dir:out"],
    ["--insecure-pol", "copy", SAMPLE, "dir:out"],
    ["--pol=policy.json", "copy", SAMPLE, "dir:out"],
    ["copy", "--remove-sig=false", SAMPLE, "dir:out"],
    ["copy", "--all", "--pres", SAMPLE, "dir:out"],
    ["inspect", "--raw", "--conf", SAMPLE],
])
def test_a_prefix_of_a_flag_is_no_flag_as_in_pflag(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        argv: list[str]) -> None:
    """skopeo says 'unknown flag: --insec'; argparse took --insec for --insecure-policy,
    so a shortened (or mistyped) flag turned the policy check off and copied."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    short = next(arg for arg in argv if arg.startswith("--")
                 and arg.split("=")[0] not in ("--all", "--raw"))
    assert f"nrecognized arguments: {short.split('=')[0]}" in err, err
    assert not (tmp_path / "out").exists()


def test_sign_by_sigstore_is_refused_under_its_own_name(
        capsys: pytest.CaptureFixture[str]) -> None:
    """skopeo 1.10's --sign-by-sigstore was taken as a prefix of
    --sign-by-sigstore-private-key, and named so."""
    for command in (["copy"], ["sync", "--src", "docker", "--dest", "dir"]):
        said = _refusal(capsys, [*command, "--sign-by-sigstore", "params.yaml", "oci:x",
                                 "dir:y"])
        assert said.startswith("spyglass: --sign-by-sigstore is skopeo's: it signs the copy"), \
            said


@pytest.mark.parametrize("flag", ["--digestfile", "--append-suffix"])
def test_newer_skopeo_s_sync_flags_are_refused_in_a_sentence(
        capsys: pytest.CaptureFixture[str], flag: str) -> None:
    """Not "FLAG is skopeo's: it is a newer skopeo's sync flag": one sentence."""
    said = _refusal(capsys, ["sync", flag, "x", "--src", "yaml", "--dest", "dir", "s.yaml",
                             "out"])
    assert said == (f"spyglass: {flag} is a newer skopeo's sync flag, which Spyglass's sync "
                    "does not take yet; leave it out."), said


@pytest.mark.parametrize("command, name", [("delete", "docker://127.0.0.1:9/r:1"),
                                           ("inspect", "docker://127.0.0.1:9/r:1")])
@pytest.mark.parametrize("given", [["--daemon-host", "unix:///x"], ["--daemon-host=unix:///x"],
                                   ["--shared-blob-dir", "sb"], ["--shared-blob-dir=sb"]])
def test_skopeos_image_flags_for_other_places_are_a_sentence(
        capsys: pytest.CaptureFixture[str], command: str, name: str, given: list[str]) -> None:
    """As copy's --src-daemon-host is: argparse took unix:///x for the image, and said
    'unrecognized arguments: --daemon-host docker://…'."""
    flag = given[0].split("=")[0]
    said = _refusal(capsys, [command, *given, name])
    assert said.startswith(f"spyglass: {flag} is skopeo's: it "), said
    assert "leave it out" in said


@pytest.mark.parametrize("argv, expected", [
    (["--tls-verify=false", "h"], (False, "h")), (["--tls-verify", "h"], (True, "h")),
    (["--tls-verify", "false", "h"], (False, "h")),
    (["--tls-verify", "f"], (True, "f")),  # f is the HOST, as pflag takes it
    (["--tls-verify=0", "--all"], (False, None)),
])
def test_logout_takes_skopeos_tls_verify(argv: list[str], expected: tuple[object, ...]) -> None:
    """skopeo logout --tls-verify=false HOST (a logout asks no registry: it changes
    nothing); it was 'unrecognized arguments'."""
    args = build_parser().parse_args(["logout", *argv])
    assert (args.tls_verify, args.host) == expected


def test_logout_with_an_auth_file_says_it_leaves_auth_files_alone(
        capsys: pytest.CaptureFixture[str]) -> None:
    """argparse took the file for HOST, then refused the host as unrecognized."""
    for given in (["--authfile", "auth.json"], ["--authfile=auth.json"]):
        said = _refusal(capsys, ["logout", *given, "registry.example.com"])
        assert said == (
            "spyglass: --authfile names the auth.json skopeo logout removes credentials "
            "from; spyglass logout forgets only those Spyglass keeps in the keyring, and "
            "never writes an auth file: use skopeo logout --authfile FILE HOST.")


def test_v_alone_prints_the_version_as_skopeos_does(capsys: pytest.CaptureFixture[str]) -> None:
    from spyglass import __version__

    with pytest.raises(SystemExit) as exited:
        main(["-v"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"spyglass {__version__}\n"


@pytest.mark.parametrize("flag", ["-v", "--verbose", "--verbose=true", "-v=false"])
def test_login_takes_skopeos_verbose(flag: str) -> None:
    """skopeo login -v prints where the credentials went ('Used: …'), as every spyglass
    login says; it was 'unrecognized arguments: -v'."""
    args = build_parser().parse_args(["login", flag, "-u", "alice", "h"])
    assert (args.verbose, args.username, args.host) == (flag != "-v=false", "alice", "h")


@pytest.mark.parametrize(("given", "src", "dest"), [
    (["--tls-verify=false"], False, False),
    (["--tls-verify"], True, True),
    (["--tls-verify", "false"], False, False),
    (["--tls-verify=false", "--dest-tls-verify"], False, True),
    (["--tls-verify", "--src-tls-verify=0"], False, True),
])
def test_copys_deprecated_tls_verify_is_for_both_sides(
        given: list[str], src: bool, dest: bool) -> None:
    """skopeo 1.9 copy takes --tls-verify (deprecated) for both sides, each side's own flag
    winning; it was refused."""
    from spyglass.cli.common import registry_options

    args = build_parser().parse_args(["copy", *given, "docker://h/a:1", "docker://h/b:1"])
    assert registry_options(args, "h", "src").tls_verify is src
    assert registry_options(args, "h", "dest").tls_verify is dest


def test_copys_deprecated_tls_verify_is_said_to_be(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["copy", "-q", "--tls-verify=false", "--dest-tls-verify", SAMPLE,
                 f"dir:{tmp_path / 'd'}"])
    assert code == 0
    assert capsys.readouterr().err == (
        "spyglass: --tls-verify is deprecated, as in skopeo: use --src-tls-verify and "
        "--dest-tls-verify. It is taken for the source; --dest-tls-verify decides for the "
        "destination.\n")


@pytest.mark.parametrize(("given", "expected"), [
    (["--additional-tag", "ex.com/a:1,ex.com/b:2"], ["ex.com/a:1", "ex.com/b:2"]),
    (["--additional-tag=a:1", "--additional-tag", "b:2,c:3"], ["a:1", "b:2", "c:3"]),
    (["--additional-tag", '"a:1",b:2', "--additional-tag", ""], ["a:1", "b:2"]),
    ([], []),
])
def test_additional_tag_is_a_string_slice(given: list[str], expected: list[str]) -> None:
    """cobra's StringSlice splits each value at commas; the whole was taken for one tag
    ('the tag "1,ex.com/b:2" may contain only …')."""
    args = build_parser().parse_args(["copy", *given, "oci:x", "docker-archive:y.tar"])
    assert args.additional_tag == expected


def test_additional_tags_separated_by_commas_name_the_archives_image(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json
    import tarfile

    archive = tmp_path / "a.tar"
    code = main(["copy", "-q", "--additional-tag", "ex.com/a:1,ex.com/b:2", SAMPLE,
                 f"docker-archive:{archive}:ex.com/main:1"])
    assert code == 0, capsys.readouterr().err
    with tarfile.open(archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        manifest = json.loads(member.read())
    assert manifest[0]["RepoTags"] == ["ex.com/main:1", "ex.com/a:1", "ex.com/b:2"]


def test_additional_tag_for_another_destination_is_refused_as_the_readme_says(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """skopeo 1.9 ignores it; Spyglass refuses it before anything is written (the README's
    "Flags that work as in skopeo" quotes this sentence)."""
    out = tmp_path / "out"
    code = main(["copy", "-q", "--additional-tag", "x/y:2", SAMPLE, f"oci:{out}:t"])
    assert code == 1
    assert capsys.readouterr().err == (
        f"spyglass: --additional-tag names images in a docker-archive: destination; "
        f"oci:{out}:t is not one.\n")
    assert not out.exists()


@pytest.mark.parametrize(("given", "said"), [
    (["--src-creds", "a:b", "--src-no-creds"],
     "--src-creds and --src-no-creds contradict each other; give one of them."),
    (["--dest-username", "u", "--dest-password", "p", "--dest-no-creds"],
     "--dest-username and --dest-no-creds contradict each other; give one of them."),
    (["--dest-creds", "a:b", "--dest-username", "u", "--dest-password", "p"],
     "--dest-creds and --dest-username contradict each other; give one of them."),
    (["--src-username", "u"], "--src-username needs --src-password too."),
])
def test_contradicting_credential_flags_are_refused_whatever_the_image(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], given: list[str], said: str
) -> None:
    """skopeo refuses them for an oci: or dir: side too (only a registry side was checked,
    and the copy went ahead)."""
    code = main(["copy", "-q", *given, SAMPLE, f"dir:{tmp_path / 'd'}"])
    assert code == 1
    assert capsys.readouterr().err == f"spyglass: {said}\n"
    assert not (tmp_path / "d").exists()


@pytest.fixture
def plain_layer(tmp_path: Path) -> str:
    """An image whose one layer is uncompressed (an OCI layout gets it gzipped)."""
    from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

    builder = LayoutBuilder(tmp_path / "plain")
    builder.tag(builder.add_image(ImageSpec(layers=[
        LayerSpec({"/a": b"plain\n" * 100}, compression="none")])), "x")
    return f"oci:{tmp_path / 'plain'}:x"


@pytest.mark.parametrize("flags", [
    ["--dest-compress-level", "-1"], ["--dest-compress-level=-1"],
    ["--dest-compress-format", "zstd", "--dest-compress-level", "0"],
])
def test_the_level_that_means_the_default_is_taken(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], plain_layer: str,
        flags: list[str]) -> None:
    """-1 is Go's gzip default level, 0 zstd's: skopeo takes them (they were out of range),
    and they write what no level writes."""
    without = [f for f in flags if f not in ("--dest-compress-level", "-1", "0",
                                             "--dest-compress-level=-1")]
    for name, given in (("with", flags), ("without", without)):
        code = main(["copy", "-q", *given, "--digestfile", str(tmp_path / name), plain_layer,
                     f"oci:{tmp_path / name}-out:x"])
        assert code == 0, capsys.readouterr().err
    assert (tmp_path / "with").read_text() == (tmp_path / "without").read_text()


@pytest.mark.parametrize(("compression", "default", "means"), [("gzip", "-1", "6"),
                                                               ("zstd", "0", "3")])
def test_the_level_that_means_the_default_is_the_level_said(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], plain_layer: str,
        compression: str, default: str, means: str) -> None:
    """``copy --help`` and the out-of-range sentences say which level each default is."""
    for level in (default, means):
        code = main(["copy", "-q", "--dest-compress-format", compression,
                     "--dest-compress-level", level, "--digestfile", str(tmp_path / level),
                     plain_layer, f"oci:{tmp_path / level}-out:x"])
        assert code == 0, capsys.readouterr().err
    assert (tmp_path / default).read_text() == (tmp_path / means).read_text()


def test_copy_help_says_what_the_default_levels_are(
        capsys: pytest.CaptureFixture[str]) -> None:
    """It said "-1 and 0: their default", as if both were the default of both: -1 is
    gzip's (0 stores the layers uncompressed), 0 is zstd's (-1 is refused)."""
    with pytest.raises(SystemExit):
        main(["copy", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert ("the compression level of layers compressed: gzip 0-9 (0 stores them "
            "uncompressed; -1: its default, 6), zstd 1-22 (0: its default, 3)") in said, said


@pytest.mark.parametrize("flags", [
    ["--dest-compress-level", "19"],  # gzip's range, but dir: keeps the layer plain
    ["--dest-decompress", "--dest-compress-level", "30"],
])
def test_a_level_nothing_is_compressed_with_is_unused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], plain_layer: str,
        flags: list[str]) -> None:
    """As in skopeo, whose gzip refuses 19 only when it compresses; it was a usage error
    whatever the destination."""
    assert main(["copy", "-q", *flags, plain_layer, f"dir:{tmp_path / 'd'}"]) == 0
    assert capsys.readouterr().err == ""
    code = main(["copy", "-q", "--dest-compress", "--dest-compress-level", "19", plain_layer,
                 f"dir:{tmp_path / 'compressed'}"])
    assert code == 1
    assert capsys.readouterr().err == (
        "spyglass: --dest-compress-level 19 is out of range for gzip, which this copy "
        "compresses layers with: gzip takes 0 to 9 (-1: its default, 6).\n")


@pytest.mark.parametrize(("given", "said"), [
    (["--format", "v2s1"], "Argument --format/-f: v2s1 is Docker schema 1, a deprecated "
     "format Spyglass never writes: use v2s2 for Docker schema 2, or oci."),
    (["-fv2s1"], "Argument --format/-f: v2s1 is Docker schema 1"),
    (["--dest-compress-format=zstd:chunked"], "Argument --dest-compress-format: zstd:chunked "
     "is zstd with a table of contents in each layer, for partial pulls (podman, CRI-O), "
     "which Spyglass does not write: use zstd for plain zstd layers (read everywhere, "
     "pulled whole), or skopeo copy for zstd:chunked."),
])
def test_skopeos_formats_spyglass_does_not_write_are_a_sentence(
        capsys: pytest.CaptureFixture[str], given: list[str], said: str) -> None:
    """Not argparse's "invalid choice: 'v2s1' (choose from 'oci', 'v2s2')"."""
    line = _refusal(capsys, ["copy", *given, "oci:x", "dir:y"])
    assert line.startswith(f"spyglass: {said}"), line


def _help(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit):
        main([*args, "--help"])
    return " ".join(capsys.readouterr().out.split())


def _flag_help(said: str, flag: str) -> str:
    """What ``--help`` (its words joined by single spaces) says of ``flag``."""
    after = said.split(f" {flag} ", 1)[1]
    return after.split(" --", 1)[0]


@pytest.mark.parametrize(("command", "used"), [
    ("inspect", {"--tmpdir", "--override-os"}),
    ("signatures", {"--tmpdir", "--registries.d"}),
    ("tags", {"--tmpdir"}),
    ("catalog", set()),
    ("login", set()),
    ("logout", set()),
    ("delete", set()),
])
def test_a_global_flag_a_command_does_not_use_says_so(
        capsys: pytest.CaptureFixture[str], command: str, used: set[str]) -> None:
    """Every command's help said --policy was what "copy checks", and --override-os
    was "taken as --platform", of tags, logout and delete too."""
    said = _help(capsys, command)
    for flag in ("--insecure-policy [BOOL]", "--policy FILE", "--tmpdir DIR",
                 "--registries.d DIR", "--override-os OS", "--override-arch ARCH"):
        text = _flag_help(said, flag)
        name = flag.split()[0]
        if name.startswith("--override-"):
            name = "--override-os"  # (the three go together)
        assert ("not used by this command" in text) != (name in used), text
        assert "taken as --platform" not in text and "copy checks" not in text, text


def test_the_top_level_and_copy_say_what_the_global_flags_do(
        capsys: pytest.CaptureFixture[str]) -> None:
    for args in ((), ("copy",)):
        said = _help(capsys, *args)
        assert "not used by this command" not in said
        override = _flag_help(said, "--override-arch ARCH")
        assert override.startswith("choose the image of a list as if this machine's arch "
                                   "were ARCH (e.g. arm64)"), override
        assert "copy checks its source" in _flag_help(said, "--policy FILE")


def test_positional_arguments_and_names_are_described_alike(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert "oci-archive:PATH" in _help(capsys, "tags").split("positional arguments:")[1]
    for command in ("catalog", "login", "logout"):
        positional = _help(capsys, command).split("positional arguments: HOST ", 1)[1]
        assert positional.startswith("the registry "), positional
    login = _help(capsys, "login")
    assert "--username USER, -u USER" in login and "--password PASS, -p PASS" in login
    # the choices in one order, whichever is the default
    assert "--format {json,text}" in _help(capsys, "catalog")
    assert "--format {json,text}" in _help(capsys, "tags")


_REFUSED_EMPTY = {"--key", "--keyring"}
"""Path flags whose empty value is refused: left out, what they verify would be listed
unverified (every other path flag is skopeo's, whose empty value is no flag)."""


def _path_flags(parser: argparse.ArgumentParser) -> list[tuple[str, str]]:
    """(flag, dest) of the parser's flags that take a FILE or a DIR."""
    return [(action.option_strings[0], action.dest) for action in parser._actions
            if action.option_strings and action.metavar in ("FILE", "DIR")
            and isinstance(action, argparse._StoreAction)]


def test_an_empty_path_is_the_flag_not_given_as_in_skopeo() -> None:
    """A CI template's --authfile "$AUTH_FILE" with the variable empty: pflag and skopeo
    read "" as unset; Path("") was the current folder, "." (refused as a folder)."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    seen = 0
    for command, sub in commands.choices.items():
        for flag, dest in _path_flags(sub):
            if flag in _REFUSED_EMPTY:
                continue
            for argv in ([command, flag, "", *_POSITIONALS[command]],
                         [command, f"{flag}=", *_POSITIONALS[command]]):
                assert getattr(parser.parse_args(argv), dest) is None, argv
            seen += 1
    for flag, dest in _path_flags(parser):  # skopeo's global flags, before the command
        assert getattr(parser.parse_args([flag, "", "inspect", "oci:x"]), dest) is None
        seen += 1
    assert seen >= 50  # (every command's --authfile, --policy, --tmpdir, …)


@pytest.mark.parametrize("flag", sorted(_REFUSED_EMPTY))
def test_an_empty_key_is_a_usage_error_that_says_so(
        flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["signatures", flag, "", SAMPLE])
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"spyglass: Argument {flag}: the value is empty; expected a file.\n")


@pytest.mark.parametrize("flags", [
    ["--policy", ""], ["--digestfile", ""], ["--authfile", ""], ["--src-authfile", ""],
    ["--dest-authfile", ""], ["--tmpdir", ""], ["--src-cert-dir", ""], ["--registries.d", ""]])
def test_a_copy_with_an_empty_path_flag_copies_as_without_it(
        flags: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")  # (where "." would have been read or written)
    assert main(["copy", "-q", *flags, SAMPLE, f"dir:{tmp_path / 'out'}"]) == 0, \
        capsys.readouterr().err
    assert capsys.readouterr() == ("", "")
    assert list((tmp_path / "work").iterdir()) == []


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The program's commands by name (aliases apart)."""
    subparsers = next(a for a in parser._actions
                      if isinstance(a, argparse._SubParsersAction))
    return {name: sub for name, sub in subparsers.choices.items()}


def test_a_commands_help_names_only_its_own_flags() -> None:
    """sync's --override-* said "not with --platform", a flag sync does not have."""
    import re

    parser = build_parser()
    top = {flag for action in parser._actions for flag in action.option_strings}
    for name, command in _commands(parser).items():
        own = {flag for action in command._actions for flag in action.option_strings}
        for action in command._actions:
            named = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9.-]*[a-z0-9]", action.help or ""))
            # (a flag of another command is named with it: "copy's --platform")
            foreign = {flag for flag in named - own - top
                       if not re.search(rf"\w+'s {re.escape(flag)}", action.help or "")}
            assert not foreign, (name, action.option_strings, foreign)


def test_a_sync_into_a_file_is_refused_once_before_anything_is_listed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``sync --dest dir SOURCE FILE``: each image's copy failed on the file, one after
    another under --keep-going; now one sentence, before the source is asked (port 1
    answers nothing: were it asked, the sentence would be about reaching it)."""
    file = tmp_path / "mirror"
    file.write_text("")
    assert main(["sync", "--keep-going", "--src", "docker", "--dest", "dir",
                 "127.0.0.1:1/team/app", str(file)]) == 1
    assert capsys.readouterr().err == (
        f'spyglass: The sync destination "{file}" is a file, not a folder; expected the '
        "folder the images go into (it is made where it is missing).\n")
