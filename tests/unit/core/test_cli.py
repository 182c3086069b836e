"""The command line over the core (spyglass.cli): ``spyglass inspect`` and its errors."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from spyglass import __version__
from spyglass.cli import EXIT_ERROR, EXIT_USAGE, main
from spyglass.core.digest import Digest
from spyglass.core.fileurl import file_url
from tests.helpers.imagebuild import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    ImageSpec,
    LayerSpec,
    LayoutBuilder,
    multi_platform_layout,
)


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    root = tmp_path / "layout"
    return root, multi_platform_layout(root)


def instance(root: Path, index_desc: dict[str, Any], arch: str) -> dict[str, Any]:
    builder = LayoutBuilder(root)
    return next(
        m for m in builder.read_json(index_desc)["manifests"]
        if m["platform"]["architecture"] == arch
    )


def run_ok(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""
    return out


def run_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == EXIT_ERROR
    assert out == ""
    assert err.startswith("spyglass: ")
    assert err.endswith("\n") and err.count("\n") == 1, err  # one line
    assert "Traceback" not in err
    assert "unexpected internal error" not in err
    return err.removeprefix("spyglass: ").rstrip("\n")


def test_inspect(layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    root, index_desc = layout
    out = json.loads(run_ok(capsys, "inspect", "--platform", "linux/amd64", f"oci:{root}:latest"))
    assert out["Digest"] == index_desc["digest"]
    assert out["Architecture"] == "amd64"
    assert out["Os"] == "linux"
    assert out["RepoTags"] == []
    assert out["Env"] == ["PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=hello"]
    manifest = LayoutBuilder(root).read_json(instance(root, index_desc, "amd64"))
    assert out["Layers"] == [layer["digest"] for layer in manifest["layers"]]


def test_inspect_a_bare_path(
    layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, index_desc = layout
    out = json.loads(run_ok(capsys, "inspect", "--platform", "linux/arm/v7", str(root)))
    assert out["Digest"] == index_desc["digest"]
    assert (out["Architecture"], out["Variant"]) == ("arm", "v7")


def test_inspect_a_bare_path_of_an_archive_that_cannot_be_read_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said the file "is not an image archive" (permissions are not enforced for
    root: the refusal is simulated at the open), where docker-archive:PATH said why."""
    import errno

    from spyglass.core.transports import tartree

    path = tmp_path / "perm.tar"
    path.write_bytes(b"\0" * 1024)  # (never read)

    def refused(_path: Path) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tartree, "open_without_waiting", refused)
    for name in (str(path), f"docker-archive:{path}"):
        assert run_error(capsys, "inspect", name) == (
            f'Cannot read "{path}": Permission denied.'), name


def test_inspect_raw_hashes_to_the_digest(
    layout: tuple[Path, dict[str, Any]], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    root, index_desc = layout
    assert main(["inspect", f"oci:{root}:latest", "--platform", "linux/amd64"]) == 0
    digest = json.loads(capsysbinary.readouterr().out)["Digest"]
    assert main(["inspect", "--raw", f"oci:{root}:latest"]) == 0
    captured = capsysbinary.readouterr()
    assert captured.err == b""
    raw = captured.out
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == digest
    assert raw == LayoutBuilder(root).read_blob(index_desc["digest"])  # byte for byte


def test_inspect_raw_with_platform_gives_the_instance(
    layout: tuple[Path, dict[str, Any]], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    root, index_desc = layout
    arm64 = instance(root, index_desc, "arm64")
    assert main(["inspect", "--raw", "--platform", "linux/arm64", f"oci:{root}:latest"]) == 0
    raw = capsysbinary.readouterr().out
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == arm64["digest"]


def test_inspect_config(
    layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, index_desc = layout
    arm = instance(root, index_desc, "arm")
    builder = LayoutBuilder(root)
    config_desc = builder.read_json(arm)["config"]
    out = json.loads(
        run_ok(capsys, "inspect", "--config", "--platform", "linux/arm/v7", f"oci:{root}:latest")
    )
    assert out == builder.read_json(config_desc)
    assert out["architecture"] == "arm"
    assert out["config"]["WorkingDir"] == "/app"


def test_inspect_config_raw(
    layout: tuple[Path, dict[str, Any]], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    root, index_desc = layout
    config_desc = LayoutBuilder(root).read_json(instance(root, index_desc, "amd64"))["config"]
    argv = ["inspect", "--config", "--raw", "--platform", "linux/amd64", f"oci:{root}:latest"]
    assert main(argv) == 0
    raw = capsysbinary.readouterr().out
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == config_desc["digest"]


def test_inspect_config_raw_prints_a_config_that_is_not_json(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    # --raw: its bytes as stored, as skopeo prints them (the config was parsed first, and
    # a broken one refused: no way to see what is wrong with it)
    builder = LayoutBuilder(tmp_path / "broken")
    config = {**builder.add_blob(b"not json at all"), "mediaType": OCI_CONFIG}
    layer = {**builder.add_blob(b"\0" * 1024), "mediaType": OCI_LAYER}
    manifest = builder.add_blob(json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config,
        "layers": [layer]}).encode())
    builder.tag({**manifest, "mediaType": OCI_MANIFEST}, "latest")
    assert main(["inspect", "--config", "--raw", f"oci:{tmp_path / 'broken'}:latest"]) == 0
    assert capsysbinary.readouterr().out == b"not json at all"
    # without --raw, what is wrong is said
    assert main(["inspect", "--config", f"oci:{tmp_path / 'broken'}:latest"]) == EXIT_ERROR
    assert b"not valid JSON" in capsysbinary.readouterr().err


def test_a_list_of_artifacts_into_an_archive_says_there_is_no_platform_to_choose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a collection of charts and modules: "choose one platform" led nowhere
    builder = LayoutBuilder(tmp_path / "artifacts")
    empty = {**builder.add_blob(b"{}"), "mediaType": "application/vnd.oci.empty.v1+json"}
    entries = []
    for text in (b"chart", b"module"):
        layer = {**builder.add_blob(text), "mediaType": "text/plain"}
        raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                          "artifactType": "application/vnd.example", "config": empty,
                          "layers": [layer]}).encode()
        entries.append({**builder.add_blob(raw), "mediaType": OCI_MANIFEST,
                        "artifactType": "application/vnd.example"})  # (as the spec asks)
    builder.tag(builder.add_index(entries), "all")
    said = run_error(capsys, "copy", "--all", f"oci:{tmp_path / 'artifacts'}:all",
                     f"docker-archive:{tmp_path / 'a.tar'}")
    assert said == (f"docker-archive:{tmp_path / 'a.tar'} cannot hold a manifest list, and "
                    "this one names no image for a platform, only artifacts; copy it to a "
                    "registry, an oci: layout or an oci-archive:.")
    assert not (tmp_path / "a.tar").exists()


def test_inspect_platform_arm64(
    layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = layout
    out = json.loads(run_ok(capsys, "inspect", "--platform", "linux/arm64", f"oci:{root}:latest"))
    assert out["Architecture"] == "arm64"
    assert out["Variant"] == "v8"
    assert out["Labels"]["arch"] == "arm64"


def test_platform_not_offered(
    layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = layout
    message = run_error(capsys, "inspect", "--platform", "windows/amd64", f"oci:{root}:latest")
    assert "has no image for windows/amd64" in message
    assert "linux/arm64/v8" in message


def test_bad_platform(
    layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = layout
    with pytest.raises(SystemExit) as info:
        main(["inspect", "--platform", "linux", f"oci:{root}:latest"])
    assert info.value.code == 2  # a usage error
    err = capsys.readouterr().err
    assert err.rstrip("\n").splitlines()[-1] == (
        'spyglass: Argument --platform: Invalid platform "linux": expected OS/ARCH or '
        "OS/ARCH/VARIANT, for example linux/amd64 or linux/arm/v7.")


def test_unknown_transport(capsys: pytest.CaptureFixture[str]) -> None:
    message = run_error(capsys, "inspect", "foo:bar")
    assert message.startswith(
        'Invalid image name "foo:bar": unknown transport "foo"; expected one of docker, oci,'
    )


@pytest.mark.parametrize(("name", "advice"), [
    ("docker-daemon:alpine:latest", "save the image with docker save alpine:latest -o "
                                    "app.tar, then name docker-archive:app.tar)."),
    ("containers-storage:alpine", "save the image with podman save alpine -o app.tar, "
                                  "then name docker-archive:app.tar)."),
    ("http://127.0.0.1:5000/team/app:1.0", "(an image on a registry is written "
                                           "docker://127.0.0.1:5000/team/app:1.0, not as "
                                           "a URL)."),
])
def test_unknown_transport_says_what_to_write_instead(
        capsys: pytest.CaptureFixture[str], name: str, advice: str) -> None:
    """skopeo's docker-daemon: and containers-storage:, and a URL, are refused with what
    Spyglass reads instead, not only the list of its transports."""
    message = run_error(capsys, "inspect", name)
    assert message.startswith(f'Invalid image name "{name}": unknown transport') and \
        message.endswith(advice), message


def test_malformed_reference(capsys: pytest.CaptureFixture[str]) -> None:
    message = run_error(capsys, "inspect", "docker://Alpine:Latest:x")
    assert 'Invalid image name "docker://Alpine:Latest:x"' in message


def test_path_not_existing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    message = run_error(capsys, "inspect", f"oci:{missing}")
    assert message == f'The path "{missing}" does not exist; expected an OCI image layout folder.'
    message = run_error(capsys, "inspect", str(missing))
    assert str(missing) in message


@pytest.mark.parametrize("kind", ["oci", "dir", "docker-archive", "oci-archive"])
@pytest.mark.parametrize("dry_run", [False, True], ids=["copy", "dry-run"])
def test_a_copy_into_a_missing_folder_is_refused_and_makes_nothing(
    layout: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    kind: str, dry_run: bool,
) -> None:
    """A mistyped parent folder (``/srv/mirorr/app``) is refused as skopeo refuses it, with
    one sentence for every local destination, rather than made, whoever runs the copy:
    only the layout's or image's own folder is made."""
    root, _index = layout
    out = tmp_path / "out"
    out.mkdir()
    target = out / "mirorr" / "sub" / "app"
    name = f"{kind}:{target}" + (":1" if kind == "oci" else "")
    flags = ["--dry-run"] if dry_run else ["-q"]
    message = run_error(capsys, "copy", *flags, "--all", f"oci:{root}:latest", name)
    assert message == (f'The folder "{out / "mirorr" / "sub"}" that should hold {target} does '
                       "not exist; create it first.")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("kind", ["oci", "dir"])
def test_a_copy_makes_the_missing_folder_of_its_layout_or_image(
    layout: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    root, _index = layout
    target = tmp_path / "new"
    name = f"oci:{target}:1" if kind == "oci" else f"dir:{target}"
    run_ok(capsys, "copy", "-q", "--all", f"oci:{root}:latest", name)
    assert (target / ("index.json" if kind == "oci" else "manifest.json")).is_file()


def test_folder_not_a_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    message = run_error(capsys, "inspect", f"oci:{folder}:latest")
    assert message == (
        f'The OCI image layout "{folder}" is not an OCI image layout: it has no oci-layout file.'
    )


def test_unknown_ref(
    layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = layout
    message = run_error(capsys, "inspect", f"oci:{root}:nope")
    assert 'has no image with the ref "nope"; it has: latest.' in message


def test_corrupt_manifest(
    layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, index_desc = layout
    path = LayoutBuilder(root).blob_path(index_desc["digest"])
    path.write_bytes(path.read_bytes().replace(b'"schemaVersion":2', b'"schemaVersion":4'))
    message = run_error(capsys, "inspect", f"oci:{root}:latest")
    assert "does not match its digest" in message


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    out, err = capsys.readouterr()
    assert out == f"spyglass {__version__}\n"
    assert err == ""


def test_usage_error_is_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["inspect"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("spyglass: The following arguments are required")
    assert "Traceback" not in err


@pytest.mark.parametrize("word", ["./layot", "images/app", "~/app.tar", "app.tar.gz"])
def test_a_path_that_is_not_there_is_said_to_be_missing_not_a_wrong_command(
        word: str, capsys: pytest.CaptureFixture[str]) -> None:
    # `spyglass PATH` opens the window; a mistyped path is not a mistyped command
    with pytest.raises(SystemExit) as info:
        main([word])
    assert info.value.code == 2
    said = capsys.readouterr().err.splitlines()[-1]
    assert said == (f'spyglass: The path "{word}" does not exist; expected a COMMAND, or a '
                    "layout folder or archive to open in the window.")


@pytest.fixture
def windows_opened(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """What ``spyglass`` opened the window on, instead of opening it."""
    import spyglass.cli

    opened: list[list[str]] = []

    def open_window(argv: list[str]) -> int:
        opened.append(list(argv))
        return 0

    monkeypatch.setattr(spyglass.cli, "_open_window", open_window)
    return opened


def test_several_paths_open_the_window_on_each(
        tmp_path: Path, windows_opened: list[list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """A desktop entry's Exec=spyglass %F passes every file chosen; one that is not there
    is for the window to say, as it says of a place that is gone."""
    folder, archive, gone = tmp_path / "layout", tmp_path / "app.tar", tmp_path / "gone"
    folder.mkdir()
    archive.write_bytes(b"")
    assert main([str(folder), str(archive)]) == 0
    assert main([str(gone), str(folder), str(archive)]) == 0
    monkeypatch.chdir(tmp_path)
    assert main(["layout", "app.tar", "./gone"]) == 0
    assert windows_opened == [[str(folder), str(archive)], [str(gone), str(folder), str(archive)],
                              ["layout", "app.tar", "./gone"]]


def test_global_flags_are_in_force_for_the_window(
        tmp_path: Path, windows_opened: list[list[str]], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``spyglass --registries-conf FILE`` opened the window on the usual registries.conf,
    and ``--tmpdir``/``--policy`` were not even checked: the window reads FILE (before
    the paths it opens, too), a bad --tmpdir is refused, --registries.d said to be no
    flag of the window's."""
    from spyglass.core import registries_conf

    monkeypatch.setattr(registries_conf, "_given", [])  # (main sets it for the process)
    conf, folder = tmp_path / "test.conf", tmp_path / "layout"
    conf.write_text('unqualified-search-registries = []\n')
    folder.mkdir()
    assert main(["--registries-conf", str(conf)]) == 0
    assert registries_conf.config_sources().main == conf
    registries_conf.use_file(None)
    assert main([f"--registries-conf={conf}", "--debug", str(folder)]) == 0
    assert registries_conf.config_sources().main == conf
    registries_conf.use_file(None)
    assert main([str(folder), "--registries-conf", str(conf)]) == 0  # (after, too)
    assert registries_conf.config_sources().main == conf
    assert windows_opened == [[], [str(folder)], [str(folder)]]
    assert main(["--tmpdir", str(tmp_path / "none")]) == EXIT_ERROR
    assert capsys.readouterr().err == (f'spyglass: --tmpdir "{tmp_path / "none"}" is not a '
                                       "folder; expected the folder for big temporary files.\n")
    for flags in ([], [str(folder)]):  # (alone, and before a path)
        with pytest.raises(SystemExit):
            main(["--registries.d", str(tmp_path), *flags])
        assert "--registries.d is read by the commands that take it" in capsys.readouterr().err
    assert len(windows_opened) == 3


def test_a_file_url_of_this_machine_opens_the_window_as_its_path(
        tmp_path: Path, windows_opened: list[list[str]], capsys: pytest.CaptureFixture[str],
) -> None:
    """``spyglass file:///PATH`` said "The path "file:///PATH" does not exist", where the
    Copy dialog takes such a URL: it opens the window on the path it names; another
    machine's is refused with the sentence that says so, and one naming no file is said
    as the path it names."""
    folder = tmp_path / "my layout é"
    folder.mkdir()
    url = file_url(folder)
    assert "%20" in url
    assert main([url]) == 0
    assert main([url.replace("file://", "file://localhost"), "-reverse"]) == 0
    assert windows_opened == [[str(folder)], [str(folder), "-reverse"]]
    for args, said in [
        (["file://otherhost/srv/layout"],
         '"file://otherhost/srv/layout" names a file of another machine (otherhost): only '
         "files of this one can be read."),
        ([file_url(tmp_path / "gone")],
         f'"{file_url(tmp_path / "gone")}" names the path "{tmp_path / "gone"}", which does '
         "not exist; expected a COMMAND, or a layout folder or archive to open in the window."),
    ]:
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == f"spyglass: {said}", args
    assert len(windows_opened) == 2


def test_another_machine_s_file_url_leaves_help_version_and_commands_after_options_alone(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Only words[0] was taken for a command: a global option before it (--debug copy …)
    or --help/--version made the line one for the window, refused for the URL."""
    url = "file://otherhost/x"
    for args, exit_code, said in [(["--help", url], 0, "usage: spyglass"),
                                  (["--version", url], 0, __version__)]:
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == exit_code
        assert said in capsys.readouterr().out, args
    errors = []
    for args in (["copy", url, "oci:/nowhere/x:1"], ["--debug", "copy", url, "oci:/nowhere/x:1"]):
        assert main(args) != 0
        errors.append(capsys.readouterr().err.strip().splitlines()[-1])
    assert errors[0] == errors[1] and "another machine" not in errors[0], errors


def test_qt_s_own_options_open_the_window_and_go_to_qt(
        tmp_path: Path, windows_opened: list[list[str]], capsys: pytest.CaptureFixture[str],
) -> None:
    """``spyglass -reverse`` (as the README says, right to left) was refused as an
    unknown argument: Qt's own options open the window, alone or beside paths, and are
    handed on whole; one Qt does not know is still refused."""
    folder = tmp_path / "layout"
    folder.mkdir()
    assert main(["-reverse"]) == 0
    assert main(["-style", "fusion", str(folder), "-reverse"]) == 0
    assert main(["-style=fusion", "-platform", "offscreen"]) == 0
    assert windows_opened == [["-reverse"], ["-style", "fusion", str(folder), "-reverse"],
                              ["-style=fusion", "-platform", "offscreen"]]
    for args in (["-x"], ["-reverse=1"], ["--reverse"]):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 2, args
    assert len(windows_opened) == 3
    capsys.readouterr()


def test_several_words_that_are_no_paths_are_still_a_command_line(
        tmp_path: Path, windows_opened: list[list[str]], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], layout: tuple[Path, dict[str, Any]]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inspect").mkdir()  # a folder named as the command given beside it
    assert main(["inspect", "--raw", f"oci:{layout[0]}:latest"]) == 0
    assert main(["inspect", "layout"]) == 0
    capsys.readouterr()
    for args, said in [
        (["inpsect", "layout"], "Argument COMMAND: invalid choice: 'inpsect'"),
        (["./missing", "./gone"], 'The path "./missing" does not exist; expected a COMMAND'),
        (["./layout", "gone"], 'The path "gone" does not exist; expected a COMMAND, or layout '
                               "folders or archives"),
        (["layout", "oci:layout:latest"], "Argument COMMAND: invalid choice: 'layout'"),
        (["layout", "--bogus"], "Argument COMMAND: invalid choice: 'layout'"),
    ]:
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1].startswith(f"spyglass: {said}"), args
    assert windows_opened == []


def test_a_double_dash_ends_the_flags_before_the_window_s_paths_too(
        tmp_path: Path, windows_opened: list[list[str]], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], layout: tuple[Path, dict[str, Any]]) -> None:
    """``spyglass -- PATH`` was refused ("invalid choice: '--'"), where ``spyglass inspect
    -- PATH`` was taken: after ``--`` every word is a path to open, one named as a command
    or starting with ``-`` too, and Qt's options may come before it."""
    monkeypatch.chdir(tmp_path)
    for name in ("mine", "-dashed", "inspect"):
        (tmp_path / name).mkdir()
    assert main(["--", "./mine"]) == 0
    assert main(["-reverse", "--", "-dashed", "inspect", "./gone"]) == 0
    assert main(["--"]) == 0
    assert windows_opened == [["--", "./mine"],
                              ["-reverse", "--", "-dashed", "inspect", "./gone"], ["--"]]
    # a command's own -- is still the command's
    assert main(["inspect", "--raw", "--", f"oci:{layout[0]}:latest"]) == 0
    assert json.loads(capsys.readouterr().out)["schemaVersion"] == 2
    for args in (["--", "./gone"], ["--", "gone", "./gone-too"]):
        with pytest.raises(SystemExit) as info:
            main(args)
        assert info.value.code == 2
        assert capsys.readouterr().err.splitlines()[-1] == (
            f'spyglass: The path "{args[1]}" does not exist; expected a layout folder or '
            "archive to open in the window."), args
    assert len(windows_opened) == 3


@pytest.mark.parametrize("word", ["oci:./layout:1.0", "docker://registry.example/app:1"])
def test_an_image_named_alone_is_told_what_a_command_is_for(
        word: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([word])
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f'spyglass: "{word}" names an image, and the window opens on a path alone; say what to '
        f"do with the image, such as spyglass inspect {word}, or spyglass copy {word} "
        "DESTINATION.")


def test_memory_that_ran_out_is_a_sentence_on_the_command_line(
        layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import spyglass.core.transports

    def exhausted(*_args: object, **_kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr(spyglass.core.transports, "open_source", exhausted)
    assert run_error(capsys, "inspect", f"oci:{layout[0]}:latest") == (
        "Spyglass ran out of memory (no memory was left); free some memory, or raise the "
        "limit set on it (ulimit -v), and try again.")


def test_a_mistyped_command_is_still_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["inspcet"])
    assert info.value.code == 2
    assert "invalid choice: 'inspcet'" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "given"), [
    ("creds", ["--creds", "alice:pw"]),
    ("cert-dir", ["--cert-dir", "/etc/certs"]),
])
def test_copy_names_its_own_flags_for_the_other_commands_one_sided_ones(
        capsys: pytest.CaptureFixture[str], flag: str, given: list[str]) -> None:
    """skopeo users reach for --creds; copy has one for each side. argparse alone took
    the flag's value for SOURCE and complained about the destination."""
    with pytest.raises(SystemExit) as info:
        main(["copy", *given, "oci:/a:1", "oci:/b:1"])
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"spyglass: The copy command takes --src-{flag} and --dest-{flag}, one for each "
        f"side, not --{flag}.")


@pytest.mark.parametrize(("argv", "expected"), [
    (["copy", "--dest-tls-verify", "oci:/a:1", "docker://h/r:1"],
     ["copy", "--dest-tls-verify=true", "oci:/a:1", "docker://h/r:1"]),
    # a prefix is no flag (pflag takes none): left as it is, for the parser to refuse
    (["copy", "--dest-tls", "oci:/a:1", "docker://h/r:1"],
     ["copy", "--dest-tls", "oci:/a:1", "docker://h/r:1"]),
    (["copy", "--src-tls-verify", "false", "a", "b"],
     ["copy", "--src-tls-verify=false", "a", "b"]),
    (["inspect", "--tls-verify"], ["inspect", "--tls-verify=true"]),
    # a host after the flag is the command's argument; a near miss of false, the value
    (["catalog", "--tls-verify", "localhost"], ["catalog", "--tls-verify=true", "localhost"]),
    (["login", "--tls-verify", "registry.example.com"],
     ["login", "--tls-verify=true", "registry.example.com"]),
    (["copy", "--dest-tls-verify", "flase", "a", "b"],
     ["copy", "--dest-tls-verify=flase", "a", "b"]),
    (["copy", "--src-c", "u:p", "a", "b"], ["copy", "--src-c", "u:p", "a", "b"]),
    (["copy", "--", "--tls-verify", "x"], ["copy", "--", "--tls-verify", "x"]),
])
def test_a_tls_verify_flag_standing_alone_means_true(argv: list[str],
                                                     expected: list[str]) -> None:
    from spyglass.cli import build_parser
    from spyglass.cli.common import pflag_arguments

    assert pflag_arguments(build_parser(), argv) == expected


def test_the_advice_names_the_side_whose_registry_failed() -> None:
    from spyglass.cli.copy_sides import side_hints as _side_hints
    from spyglass.core.reference import parse_image_name

    source = parse_image_name("docker://localhost/a:1")
    destination = parse_image_name("docker://localhost:5000/b:1")
    sentence = ("Pushing failed: the registry localhost:5000 wants valid credentials. "
                "Log in with spyglass login localhost:5000, or pass --creds USER:PASSWORD.")
    hinted = _side_hints(sentence, source, destination)
    assert "--dest-creds USER:PASSWORD" in hinted and "--src-creds" not in hinted

    # one registry on both sides: the repository named tells which
    source = parse_image_name("docker://r.example/team/app:1")
    destination = parse_image_name("docker://r.example/team/app-copy:1")
    pushing = ("Looking up the blob sha256:1 in r.example/team/app-copy failed: the registry "
               "r.example wants valid credentials. Log in with spyglass login r.example, or "
               "pass --creds USER:PASSWORD.")
    assert "pass --dest-creds USER:PASSWORD." in _side_hints(pushing, source, destination)
    reading = pushing.replace("Looking up the blob sha256:1 in r.example/team/app-copy",
                              "Reading the manifest r.example/team/app:1")
    assert "pass --src-creds USER:PASSWORD." in _side_hints(reading, source, destination)
    neither = pushing.replace("Looking up the blob sha256:1 in r.example/team/app-copy",
                              "Logging in to r.example")
    assert "pass --src-creds USER:PASSWORD or --dest-creds USER:PASSWORD." in _side_hints(
        neither, source, destination)


def test_the_one_platform_hint_follows_the_command_line() -> None:
    import argparse

    from spyglass.cli.copy_cmd import _one_platform_hint

    def hint(**given: object) -> str:
        return _one_platform_hint(argparse.Namespace(**{
            "platform": [], "all": False, "multi_arch": None, **given}))

    assert hint(all=True) == " Name it with --platform OS/ARCH[/VARIANT] and leave out --all."
    assert hint(multi_arch="all").endswith("leave out --multi-arch all.")
    assert hint(platform=["linux/amd64", "linux/arm64"]) == " Give --platform once."


def test_a_digestfile_that_cannot_be_written_is_refused_before_the_copy(
    layout: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = layout
    out = tmp_path / "out"
    message = run_error(capsys, "copy", "-q", "--digestfile", str(tmp_path / "no" / "f"),
                        f"oci:{root}:latest", f"oci:{out}:v1")
    assert f'the folder "{tmp_path / "no"}" does not exist' in message
    assert not out.exists()  # nothing was copied
    message = run_error(capsys, "copy", "-q", "--digestfile", str(tmp_path),
                        f"oci:{root}:latest", f"oci:{out}:v1")
    assert "is a folder; name a file" in message


def test_a_digestfile_on_a_full_disk_leaves_nothing_at_its_name(
    layout: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not an empty file a script would read as an empty digest: a file there before keeps
    what it held, and no new one appears (a write there fails as on a full disk)."""
    import errno

    from spyglass.core.transports import file_write

    root, _ = layout
    folder = tmp_path / "full"
    folder.mkdir()
    real_fsync = os.fsync

    def full_there(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(folder)):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(file_write.os, "fsync", full_there)
    digest = folder / "digest"
    message = run_error(capsys, "copy", "-q", "--digestfile", str(digest),
                        f"oci:{root}:latest", f"oci:{tmp_path / 'out'}:v1")
    assert message.endswith(f'but the digest could not be written to "{digest}": No space '
                            "left on device."), message
    assert list(folder.iterdir()) == []
    digest.write_text("sha256:before")
    run_error(capsys, "copy", "-q", "--digestfile", str(digest),
              f"oci:{root}:latest", f"oci:{tmp_path / 'out'}:v2")
    assert [p.name for p in folder.iterdir()] == ["digest"]
    assert digest.read_text() == "sha256:before"


def test_a_digestfile_on_a_disk_really_full_leaves_no_empty_file(
    layout: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.unit.core.transports.test_archive_room import small_disk

    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (a full disk for real) needs root")
    root, _ = layout
    with small_disk(tmp_path / "full", "64k") as folder:
        with open(folder / "fill", "wb", buffering=0) as fill:
            try:
                while True:
                    fill.write(b"\0" * 4096)
            except OSError:
                pass
        digest = folder / "digest"
        message = run_error(capsys, "copy", "-q", "--digestfile", str(digest),
                            f"oci:{root}:latest", f"oci:{tmp_path / 'out'}:v1")
        assert "No space left on device" in message
        assert sorted(p.name for p in folder.iterdir()) == ["fill"]


def test_a_digestfile_that_is_a_pipe_is_written_into_not_replaced(
    layout: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    import stat
    import threading

    root, _ = layout
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    read: list[str] = []
    reader = threading.Thread(target=lambda: read.append(fifo.read_text()))
    reader.start()
    try:
        assert main(["copy", "-q", "--digestfile", str(fifo), f"oci:{root}:latest",
                     f"oci:{tmp_path / 'out'}:v1"]) == 0
    finally:
        # the reader may still be on its way out after the copy wrote: give it a while,
        # then let it go if it still waits for a writer (a blocking open would wait for
        # ever once it went: no reader any more, as happened under load)
        reader.join(timeout=10)
        if reader.is_alive():
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass  # (no reader at all any more)
        reader.join()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert read and read[0].startswith("sha256:")


def test_a_digestfile_of_dev_stdout_goes_into_what_the_shell_opened(
    layout: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """/dev/stdout leads to the file a shell redirected to: written there, not renamed
    over it (what the shell wrote before and after went to a file no longer named)."""
    import subprocess
    import sys

    root, _ = layout
    out = tmp_path / "out.txt"
    with open(out, "w") as shell:
        shell.write("header\n")
        shell.flush()
        done = subprocess.run(
            [sys.executable, "-m", "spyglass", "copy", "-q", "--digestfile", "/dev/stdout",
             f"oci:{root}:latest", f"oci:{tmp_path / 'copy'}:v1"],
            stdout=shell, stderr=subprocess.PIPE, text=True, timeout=60, check=False,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "app")})
        shell.write("\ntrailer\n")
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "header" and lines[1].startswith("sha256:") and lines[-1] == "trailer"


def test_a_digestfile_there_in_a_folder_that_takes_no_new_file_is_written_in_place(
    layout: tuple[Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    """A file the user may write, in a folder they may not (made ready by someone else;
    here: a folder refusing a temporary file, as one that is not the user's does):
    written in place, as skopeo writes it, where the copy ran and then failed for want
    of a temporary file beside it."""
    import errno

    from spyglass.core.transports import temporaries

    root, index = layout
    digestfile = tmp_path / "ro" / "digest"
    digestfile.parent.mkdir()
    digestfile.write_text("stale")
    create = temporaries.TempFiles.create

    def refused(self: temporaries.TempFiles, *args: Any, **kwargs: Any) -> Any:
        if self.folder == digestfile.parent:
            raise PermissionError(errno.EACCES, "Permission denied")
        return create(self, *args, **kwargs)

    monkeypatch.setattr(temporaries.TempFiles, "create", refused)
    assert main(["copy", "-q", "--all", "--digestfile", str(digestfile),
                 f"oci:{root}:latest", f"oci:{tmp_path / 'copy'}:v1"]) == 0, \
        capsys.readouterr().err
    assert digestfile.read_text() == str(index["digest"])


def test_usage_errors_and_notes_write_control_characters_as_escapes(
        capsys: pytest.CaptureFixture[str]) -> None:
    from spyglass.cli.common import note

    with pytest.raises(SystemExit):
        main(["copy", "--dest-tls-verify=fa\x1b[2Jlse", "oci:/a:1", "oci:/b:1"])
    note("Copied oci:/x\x1b]0;owned\x07 somewhere.")
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "fa\\x1b[2Jlse" in err and "\\x1b]0;owned\\x07" in err


def test_inspect_says_when_platform_does_not_apply(
        capsys: pytest.CaptureFixture[str]) -> None:
    sample = Path(__file__).resolve().parents[3] / "resources" / "sample-layout"
    assert main(["inspect", "--platform", "windows/arm64",
                 f"oci:{sample}:tools:2024.1"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["Architecture"] == "amd64"  # described as it is, as skopeo
    assert "not a list, and is for linux/amd64: --platform windows/arm64" in err
    assert main(["inspect", "--platform", "linux/amd64", f"oci:{sample}:tools:2024.1"]) == 0
    assert capsys.readouterr().err == ""


MIB = 1024 * 1024
LAYER = Digest.of(b"layer")


def _copy_under_way(out: Any, done: int) -> Any:
    """A Reporter writing to ``out`` (no terminal), told that a copy of one 100 MiB blob
    began and moved ``done`` bytes."""
    from types import SimpleNamespace

    from spyglass.cli import progress
    from spyglass.core.copy import BlobProgress, BlobStarted, Planned

    report = progress.Reporter(out, quiet=False)
    plan = SimpleNamespace(total_bytes=100 * MIB, blobs=[1], attachment_blobs=[], notes=(),
                           attachments=())
    report(Planned(plan))  # type: ignore[arg-type]
    report(BlobStarted(LAYER, 100 * MIB, "application/vnd.oci.image.layer.v1.tar"))
    report(BlobProgress(LAYER, done, 100 * MIB))
    return report


def test_a_blob_waiting_for_another_copy_s_upload_says_so_once() -> None:
    """A sync copying images that share a layer into one registry: the copy waiting for
    another's upload of the layer said nothing until the layer was mounted."""
    import io

    from spyglass.core.copy import BlobSkipped, BlobWaitingForCopy

    out = io.StringIO()
    report = _copy_under_way(out, 0)
    report(BlobWaitingForCopy(LAYER, "127.0.0.1:5000"))
    report(BlobWaitingForCopy(LAYER, None))
    report(BlobSkipped(LAYER, 100 * MIB, "mounted"))
    report.close()
    assert out.getvalue().splitlines()[-2:] == [
        f"Waiting for blob {LAYER.short}: another copy is sending it to 127.0.0.1:5000",
        f"Skipping blob {LAYER.short}: mounted"]


def test_a_long_copy_logs_how_far_it_is_when_stderr_is_no_terminal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from spyglass.cli import progress
    from spyglass.core.copy import BlobProgress

    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    out = io.StringIO()
    mib, blob = MIB, LAYER
    report = _copy_under_way(out, 10 * mib)
    clock[0] += progress.LOG_PROGRESS_EVERY
    report(BlobProgress(blob, 40 * mib, 100 * mib))
    clock[0] += 1
    report(BlobProgress(blob, 50 * mib, 100 * mib))  # not yet again
    lines = out.getvalue().splitlines()
    assert lines[-1] == "Copied 40.0 MiB of 100.0 MiB (40 %)"
    assert sum(line.startswith("Copied ") for line in lines) == 1
    report.close()


def test_a_stalled_copy_still_says_how_far_it_is_and_that_nothing_moves(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry that stops answering sends no events: the lines come all the same (the
    README promises one every 10 s), and say that nothing has moved."""
    import io
    import time

    from spyglass.cli import progress

    monkeypatch.setattr(progress, "TICK_EVERY", 0.02)
    monkeypatch.setattr(progress, "LOG_PROGRESS_EVERY", 0.1)
    out = io.StringIO()
    report = _copy_under_way(out, 30 * MIB)
    try:
        deadline = time.monotonic() + 10
        while "nothing has moved for" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        report.close()
    lines = [line for line in out.getvalue().splitlines() if line.startswith("Copied ")]
    assert lines[0] == "Copied 30.0 MiB of 100.0 MiB (30 %)"
    assert lines[-1].startswith("Copied 30.0 MiB of 100.0 MiB (30 %); nothing has moved for ")


def test_a_copy_waiting_for_a_pipes_reader_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """``mkfifo f; spyglass copy … docker-archive:f`` said, after "Writing manifest",
    nothing but "nothing has moved for 20 s": it says what it waits for, as the wait
    begins and in the lines of how far it is."""
    import io
    import time

    from spyglass.cli import progress
    from spyglass.core.copy import DestinationWaiting

    monkeypatch.setattr(progress, "TICK_EVERY", 0.02)
    monkeypatch.setattr(progress, "LOG_PROGRESS_EVERY", 0.1)
    out = io.StringIO()
    report = _copy_under_way(out, 100 * MIB)
    try:
        report(DestinationWaiting('a program to read the pipe "f"'))
        assert out.getvalue().splitlines()[-1] == (
            'Waiting for a program to read the pipe "f"; the copy goes on once one does')
        deadline = time.monotonic() + 10
        while "nothing has moved for" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        report.close()
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("Copied 100.0 MiB of 100.0 MiB (100 %); nothing has moved for ")
    assert last.endswith(': waiting for a program to read the pipe "f"'), last


def test_inspect_format(layout: tuple[Path, dict[str, Any]],
                        capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = layout
    assert main(["inspect", "--platform", "linux/arm64/v8", "--format",
                 "{{.Architecture}} {{len .Layers}} {{json .RepoTags}}",
                 f"oci:{root}:latest"]) == 0
    assert capsys.readouterr().out == "arm64 3 []\n"


def test_inspect_format_with_raw_is_refused(
        layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = layout
    assert main(["inspect", "--raw", "--format", "{{.Digest}}", f"oci:{root}:latest"]) == \
        EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("spyglass: --format describes the image (or with --config its "
                            "config), not --raw output: leave one of them out.\n")


@pytest.mark.parametrize("placed", ["before", "after"])
def test_skopeos_override_flags_pick_the_platform(
        layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str],
        placed: str) -> None:
    root, _ = layout
    flags = ["--override-os", "linux", "--override-arch", "arm64"]
    command = ["inspect", "-f", "{{.Architecture}}/{{.Variant}}", f"oci:{root}:latest"]
    argv = [*flags, *command] if placed == "before" else [command[0], *flags, *command[1:]]
    assert main(["--insecure-policy", *argv]) == 0
    assert capsys.readouterr().out == "arm64/v8\n"


def test_override_flags_and_platform_contradict(
        layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = layout
    # flags that contradict each other are an error (status 1), as in skopeo
    assert main(["inspect", "--override-arch", "arm64", "--platform", "linux/amd64",
                 f"oci:{root}:latest"]) == EXIT_ERROR
    assert capsys.readouterr().err == (
        "spyglass: --override-os/--override-arch/--override-variant and --platform "
        "contradict each other; give one.\n")


@pytest.mark.parametrize(("value", "said"), [
    ("-1", "Argument --retry-times: -1 is negative; expected 0 or more"),
    ("x", 'Argument --retry-times: "x" is not a whole number'),
])
def test_retry_times_is_a_count(value: str, said: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["inspect", "--retry-times", value, "docker://127.0.0.1:1/x:y"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.endswith(f"spyglass: {said}.\n")


def test_list_tags_is_tags(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list-tags", "--retry-times", "0", "docker://127.0.0.1:1/x"]) == EXIT_ERROR
    assert capsys.readouterr().err == (
        "spyglass: Cannot reach the registry 127.0.0.1:1: connection refused.\n")


def test_override_flags_leave_what_chooses_no_image_alone(
        layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    """As skopeo: copy --all copies the whole list, inspect --raw prints the list, and a
    command that chooses no image takes the flags without a word."""
    root, index = layout
    digestfile = tmp_path / "digest"
    assert main(["--override-arch", "arm64", "copy", "-q", "--all", "--digestfile",
                 str(digestfile), f"oci:{root}:latest", f"dir:{tmp_path / 'all'}"]) == 0
    assert digestfile.read_text() == index["digest"]
    assert main(["--override-arch", "arm64", "inspect", "--raw", f"oci:{root}:latest"]) == 0
    assert json.loads(capsys.readouterr().out)["mediaType"] == index["mediaType"]
    assert main(["tags", "--override-arch", "arm64", "--insecure-policy", "--retry-times",
                 "0", "docker://127.0.0.1:1/x"]) == EXIT_ERROR
    assert "connection refused" in capsys.readouterr().err


def test_a_warning_during_a_copy_is_one_note_above_the_bars(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Logged while the bars are drawn, a warning scrolls above them once, as a
    ``spyglass:`` line; with no bars it goes to stderr the same way."""
    import io
    import logging

    from spyglass.cli import notes, progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    with notes.installed():
        report = progress.Reporter(screen, quiet=False)
        logging.getLogger("spyglass.core.credentials").warning("The keyring\x1b[2J failed.")
        report.close()
        logging.getLogger("spyglass.core.credentials").warning("Later.")
    assert not any(isinstance(h, notes.NoteHandler) for h in logging.getLogger().handlers)
    text = screen.getvalue()
    assert text.count("The keyring") == 1, repr(text)
    assert "spyglass: The keyring\\x1b[2J failed.\n" in text
    assert text.endswith("spyglass: Later.\n")


@pytest.mark.parametrize("args, said", [
    (["--dest-compress-format", "zstd", "--dest-compress-level", "30"],
     "--dest-compress-level 30 is out of range for zstd, which this copy compresses layers "
     "with: zstd takes 1 to 22 (0: its default, 3)."),
    (["--dest-compress-level", "-2"],
     "--dest-compress-level -2 is out of range for gzip, which this copy compresses layers "
     "with: gzip takes 0 to 9 (-1: its default, 6)."),
])
def test_a_compression_level_out_of_range_is_a_sentence(
    tmp_path: Path, args: list[str], said: str
) -> None:
    """Checked against the compression the copy uses (the sample's layers are gzip: they
    are recompressed to zstd, or kept and the level unused, as in skopeo)."""
    if "zstd" not in args:
        LayoutBuilder(tmp_path / "plain").tag(LayoutBuilder(tmp_path / "plain").add_image(
            ImageSpec(layers=[LayerSpec({"/a": b"plain\n"}, compression="none")])), "x")
    source = _SAMPLE if "zstd" in args else f"oci:{tmp_path / 'plain'}:x"
    done = _spyglass("copy", *args, source, f"oci:{tmp_path / 'out'}:x")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == f"spyglass: {said}"
    assert not (tmp_path / "out").exists()
    done = _spyglass("copy", "-q", "--dest-compress-level", "-2", _SAMPLE,
                     f"dir:{tmp_path / 'kept'}")
    assert done.returncode == 0 and done.stderr == "", done.stderr  # nothing compressed


def test_signatures_key_status_counts_signatures_not_attestations() -> None:
    """A verified attestation says nothing of the image's signature: status 1 still, as
    cosign verify fails; what could not be read is said too."""
    import argparse

    from spyglass.cli.signatures_cmd import _require_verified
    from spyglass.core.errors import SpyglassError

    args = argparse.Namespace(name="oci:x:app", key=Path("k.pub"), keyring=None)
    named = {"Attached": [
        {"Kind": "cosign signature", "Parts": [{"Verification": {"Status": "bad signature"}}]},
        {"Kind": "attestation", "Parts": [{"Verification": {"Status": "verified"}}]},
        {"Kind": "SBOM", "Error": "could not be read", "Parts": []},
    ]}
    with pytest.raises(SpyglassError) as caught:
        _require_verified(args, named, b"-----BEGIN PUBLIC KEY-----\nMFkw\n")
    assert str(caught.value) == (
        'No signature of oci:x:app verifies with the key "k.pub"; its signatures: bad '
        "signature (1) (1 of what is attached to it could not be read; the JSON says why).")
    # a certificate given (a CA's, for Notary signatures) is said to be one
    args.key = Path("ca.crt")
    with pytest.raises(SpyglassError) as caught:
        _require_verified(args, named, b"-----BEGIN CERTIFICATE-----\nMIIB\n")
    assert str(caught.value).startswith(
        'No signature of oci:x:app verifies with the certificate "ca.crt"; ')
    named["Attached"][0]["Parts"][0]["Verification"]["Status"] = "verified"
    _require_verified(args, named, b"")  # a signature verified: no error


def test_signatures_of_a_cosign_save_layout_are_verified_with_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``spyglass signatures --key cosign.pub DIR`` on what ``cosign save --dir DIR`` wrote:
    the image saved, its signature and attestation verified (status 0); another key, the
    report and status 1 with a sentence."""
    from tests.helpers import cosign

    saved = cosign.cosign_saved_layout(tmp_path / "saved")
    key = tmp_path / "cosign.pub"
    key.write_bytes(cosign.public_key_pem(saved.key))
    monkeypatch.chdir(tmp_path)
    for name in (f"oci:{saved.root}", "saved"):
        report = json.loads(run_ok(capsys, "signatures", "--key", str(key), name))
        assert report["Digest"] == saved.image
        [top] = report["Manifests"]
        found = {a["Kind"]: a for a in top["Attached"]}
        assert sorted(found) == ["attestation", "cosign signature"]
        assert found["cosign signature"]["Found"] == (
            f"cosign save entry {cosign.cosign_tag(saved.image, 'sig')}")
        assert found["cosign signature"]["Digest"] == saved.sig
        for attached in found.values():
            assert attached["Parts"][0]["Verification"]["Status"] == "verified"

    other = tmp_path / "other.pub"
    other.write_bytes(cosign.public_key_pem(cosign.generate_key()))
    code = main(["signatures", "--key", str(other), "saved"])
    out, err = capsys.readouterr()
    assert code == EXIT_ERROR
    assert json.loads(out)["Digest"] == saved.image
    assert err == (f'spyglass: No signature of saved verifies with the key "{other}"; its '
                   "signatures: bad signature (1).\n")


def test_signatures_given_a_gpg_key_as_the_key_says_to_use_keyring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--key`` given ``gpg --export`` output said it was 'not a public key'."""
    from tests.helpers.pgp import ThrowawayGpg

    with ThrowawayGpg() as gpg:
        key = gpg.export_public(tmp_path / "gpg.pub")
    assert run_error(capsys, "signatures", "--key", str(key), f"oci:{tmp_path}:x") == (
        f'The key file "{key}" is an OpenPGP (GPG) key, not a PEM public key or certificate: '
        "give it with --keyring, which checks simple signing signatures.")


def test_signatures_given_a_pem_key_as_the_keyring_says_to_use_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--keyring`` given a PEM public key said a GPG signature's key was 'not in the
    keyring'; it is refused before the image is read, as --key's file is."""
    from tests.helpers import cosign

    pem = tmp_path / "A.pub"
    pem.write_bytes(cosign.public_key_pem(cosign.generate_key()))
    assert run_error(capsys, "signatures", "--keyring", str(pem), f"oci:{tmp_path}:x") == (
        f'The keyring "{pem}" holds no OpenPGP key but a PEM public key or certificate: give '
        "that with --key (cosign, Notary v2), and with --keyring what gpg --export writes.")


_SAMPLE = f"oci:{Path(__file__).resolve().parents[3] / 'resources' / 'sample-layout'}:tools:2024.1"


@pytest.mark.parametrize(("template", "said"), [
    ('{{index . "Os"}}', "index: a struct cannot be indexed; its field is written .Os."),
    ("{{index . 0}}", "index: a struct cannot be indexed (only a list, a string or a map "
                      "can; a struct's fields are looked up by name, as .Name)."),
    ("{{index .Labels 0}}", "index: 0 is a number, and a map's keys are strings."),
    ("{{index .Layers 9}}", "index: 9 is out of range (the list has 3)."),
])
def test_inspect_format_refuses_an_index_go_refuses(
        layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str],
        template: str, said: str) -> None:
    root, _ = layout
    message = run_error(capsys, "inspect", "--platform", "linux/amd64", "--format", template,
                        f"oci:{root}:latest")
    assert message == f'The format "{template}" cannot be run: {said}'


def test_inspect_format_prints_nil(layout: tuple[Path, dict[str, Any]],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = layout
    assert run_ok(capsys, "inspect", "--platform", "linux/amd64", "--format",
                  "{{print nil}} {{index .Labels \"nothing\"}}|", f"oci:{root}:latest") == \
        "<nil> |\n"


@pytest.mark.parametrize("name", ["./nonexist", "../nonexist", "/nonexistent/x"])
def test_inspect_a_path_that_does_not_exist(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        name: str) -> None:
    """A bare path is read as the layout or archive there (README): one not there is said
    so, as tags says it, not told to take a transport that would not help."""
    monkeypatch.chdir(tmp_path)
    assert run_error(capsys, "inspect", name) == f'The path "{name}" does not exist.'
    # a path the shell did not expand (quoted): the sentence on the transport, ~ expanded
    assert run_error(capsys, "inspect", "~/nonexist") == (
        f'Invalid image name "~/nonexist": a path is written after its transport, for '
        f"example oci:{Path.home()}/nonexist or dir:{Path.home()}/nonexist.")


@pytest.mark.parametrize("transport", ["oci", "dir", "docker-archive", "oci-archive"])
def test_a_tilde_the_shell_left_is_refused_not_made_a_folder(
        layout: tuple[Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], transport: str) -> None:
    """A shell expands ~ only at the start of a word: oci:~/x made a folder "~" in the
    current folder (the window expands it itself), and rm -rf ~ is what removes it."""
    root, _ = layout
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    leaf = "x.tar" if transport.endswith("archive") else "x"
    suffix = ":x:1" if transport == "docker-archive" else ":1" if transport != "dir" else ""
    for name, written in [(f"{transport}:~/{leaf}{suffix}", f"{transport}:$HOME/{leaf}{suffix}"),
                          (f"{transport}:~root/{leaf}", f"{transport}:/root/{leaf}")]:
        first = name.split(":")[1].split("/")[0]
        said = (f'"{name}" names a folder "{first}" in the current folder, which is not '
                f'there: a shell expands "{first}" only at the start of a word, not after '
                f'"{transport}:". Write {written}.')
        assert run_error(capsys, "copy", "--platform", "linux/amd64", f"oci:{root}:latest",
                         name) == said
        assert run_error(capsys, "inspect", name) == said
    assert list(here.iterdir()) == []
    # a folder "~" that is there is the one meant
    (here / "~").mkdir()
    assert main(["copy", "-q", "--platform", "linux/amd64", f"oci:{root}:latest",
                 f"{transport}:~/{leaf}{suffix}"]) == 0
    assert (here / "~" / leaf).exists()


def test_a_bare_path_with_a_ref_is_told_to_take_its_kind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # a bare path names a folder or archive alone; with a ref, its kind is how (the one
    # kind it is: the other would fail too)
    monkeypatch.chdir(tmp_path)
    multi_platform_layout(tmp_path / "layout", ref="1.0")
    single = "oci:layout:1.0"
    main(["copy", "-q", "--platform", "linux/amd64", single, "oci-archive:app.tar:1.0"])
    main(["copy", "-q", "--platform", "linux/amd64", single, "docker-archive:d.tar:app:1.0"])
    capsys.readouterr()
    assert run_error(capsys, "inspect", "./layout:1.0") == (
        'The path "./layout:1.0" does not exist. To name the image 1.0 in "./layout", give '
        "its kind: oci:./layout:1.0.")
    assert run_error(capsys, "inspect", "./app.tar:1.0") == (
        'The path "./app.tar:1.0" does not exist. To name the image 1.0 in "./app.tar", '
        "give its kind: oci-archive:./app.tar:1.0.")
    assert run_error(capsys, "inspect", "./d.tar:app:1.0") == (
        'The path "./d.tar:app:1.0" does not exist. To name the image app:1.0 in "./d.tar", '
        "give its kind: docker-archive:./d.tar:app:1.0.")
    assert run_error(capsys, "inspect", "./d.tar:1.0") == (
        'The path "./d.tar:1.0" does not exist. To name an image in the docker-archive '
        '"./d.tar", give its kind and NAME:TAG, or @N for its Nth image: '
        "docker-archive:./d.tar:@0.")
    main(["copy", "-q", "--platform", "linux/amd64", single, "dir:d"])
    capsys.readouterr()
    assert run_error(capsys, "inspect", "./d:1.0") == (
        'The path "./d:1.0" does not exist. "./d" is a dir: image, which holds one image and '
        "names none: dir:./d.")
    (tmp_path / "notes.txt").write_text("not an image")
    assert run_error(capsys, "inspect", "./nothing:1") == 'The path "./nothing:1" does not exist.'
    assert run_error(capsys, "inspect", "./notes.txt:1") == \
        'The path "./notes.txt:1" does not exist.'
    # written without ./ (as docker names an image): the layout here is meant, not a
    # transport; a folder that holds no images keeps the registry hint
    assert run_error(capsys, "inspect", "layout:1.0") == (
        'The path "layout:1.0" does not exist. To name the image 1.0 in "layout", give '
        "its kind: oci:layout:1.0.")
    (tmp_path / "alpine").mkdir()
    assert run_error(capsys, "inspect", "alpine:3.19").endswith(
        "(an image on a registry is written docker://alpine:3.19).")


def test_text_go_cannot_hold_is_written_as_go_writes_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    # a lone surrogate (a file name that is not UTF-8, read with surrogateescape) is
    # U+FFFD, not a UnicodeEncodeError or JSON that jq refuses
    from spyglass.cli.common import write_json, write_text

    write_json({"k": "a\udcffb"})
    assert json.loads(capsys.readouterr().out) == {"k": "a\ufffdb"}
    write_text("x\ud800\n")
    assert capsys.readouterr().out == "x\ufffd\n"


@pytest.mark.parametrize("name", ["./nonexist", "/nonexistent/x", "../nonexist"])
def test_tags_of_a_path_that_does_not_exist(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        name: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_error(capsys, "tags", name) == f'The path "{name}" does not exist.'
    # the same words as with its transport (which names the path as Path writes it)
    assert run_error(capsys, "tags", f"oci:{name}") == f'The path "{Path(name)}" does not exist.'


def test_tags_of_a_relative_path(layout: tuple[Path, dict[str, Any]],
                                 monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    root, _ = layout
    monkeypatch.chdir(root.parent)
    assert json.loads(run_ok(capsys, "tags", f"./{root.name}")) == {"Tags": ["latest"]}


@pytest.mark.parametrize("argv", [["inspect", ""], ["copy", "", "oci:x"],
                                  ["inspect", "--raw", ""]])
def test_an_empty_name_is_no_current_folder(
        layout: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    root, _ = layout
    monkeypatch.chdir(root)  # a layout: an empty name read as "." would find an image
    assert run_error(capsys, *argv) == (
        'Invalid image name "": expected TRANSPORT:REFERENCE, for example docker://alpine '
        "or oci:/path/to/layout:tag.")
    assert not (root / "x").exists()


@pytest.mark.parametrize(("argv", "said"), [
    (["copy", "--bogus", "a", "b"], "Unrecognized arguments: --bogus"),
    (["inspect", "a", "b"], "Unrecognized arguments: b"),
    (["tags", "--raw", "oci:x"], "Unrecognized arguments: --raw"),
    # an unknown flag's value taken for SOURCE: the flag alone, not DESTINATION too
    (["copy", "--bogus", "x", "a", "b"], "Unrecognized arguments: --bogus"),
    (["sync", "--dest-compress-format", "zstd", "--src", "docker", "--dest", "docker",
      "r.example/app", "m.example"],
     "Unrecognized arguments: --dest-compress-format (spyglass copy takes it, for one image "
     "at a time)"),
    (["sync", "--dest-compress-format=zstd", "--src", "docker", "--dest", "docker",
      "r.example/app", "m.example"],
     "Unrecognized arguments: --dest-compress-format=… (spyglass copy takes it, for one "
     "image at a time)"),
    (["sync", "--bogus", "x", "--src", "docker", "--dest", "docker", "r.example/app",
      "m.example"], "Unrecognized arguments: --bogus"),
    (["inspect"], "The following arguments are required: NAME"),
])
def test_a_usage_error_shows_the_commands_usage(
        capsys: pytest.CaptureFixture[str], argv: list[str], said: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: spyglass {argv[0]} "), err
    assert err.endswith(f"\nspyglass: {said}.\n")


def test_an_unknown_flag_before_the_command_is_the_programs_usage_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--bogus", "inspect", "oci:x"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: spyglass [-h]")
    assert err.endswith("\nspyglass: Unrecognized arguments: --bogus.\n")


def _layout_of(root: Path, config_bytes: bytes, layers: list[dict[str, object]],
               ) -> dict[str, object]:
    """A layout whose image ``x`` has this config and these layer descriptors; the
    config's descriptor."""
    builder = LayoutBuilder(root)
    config = builder.add_blob(config_bytes)
    manifest = builder.add_blob(json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
        "layers": layers}).encode())
    builder.tag({"mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest}, "x")
    return config


def test_a_config_that_is_no_json_is_one_sentence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _layout_of(tmp_path / "layout", b"{not json", [])
    message = run_error(capsys, "inspect", f"oci:{tmp_path / 'layout'}:x")
    assert message.startswith(f"The config {config['digest']} is not usable: the image config "
                              "is not valid JSON: "), message


def test_a_manifest_that_is_not_usable_is_one_sentence(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _layout_of(tmp_path / "layout", b'{"architecture":"amd64","os":"linux"}',
               [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 1}])
    assert run_error(capsys, "inspect", f"oci:{tmp_path / 'layout'}:x") == (
        f"The manifest of oci:{tmp_path / 'layout'}:x is not usable: layer 1 has no digest.")


def _spyglass_in_a_shell(tmp_path: Path, command: str, **env: str
                         ) -> subprocess.CompletedProcess[str]:
    repo = Path(__file__).resolve().parents[3]
    environ = {**os.environ, "PYTHONPATH": str(repo / "app"), **env}
    return subprocess.run(["sh", "-c", f'"{sys.executable}" -m spyglass {command}'],
                          capture_output=True, text=True, env=environ, cwd=tmp_path,
                          timeout=120, check=False)


@pytest.mark.parametrize("stderr", ["2>&-", "2>/dev/full"])
def test_a_copy_whose_stderr_cannot_be_written_still_copies(
        layout: tuple[Path, dict[str, Any]], tmp_path: Path, stderr: str) -> None:
    # closed, or a log on a full disk: progress is best effort (skopeo copies too)
    root, _index = layout
    done = _spyglass_in_a_shell(tmp_path, f"copy --all oci:{root}:latest oci:out:latest {stderr}")
    assert done.returncode == 0 and done.stdout == "", done.stdout
    assert (tmp_path / "out" / "index.json").is_file()


@pytest.mark.parametrize(("destination", "redirected"), [
    ("docker-archive:/dev/stderr", "2>out.tar >/dev/null"),
    ("docker-archive:/dev/fd/2", "2>out.tar"),
    ("oci-archive:/proc/self/fd/2", "2>out.tar"),
    ("docker-archive:link-to-stderr", "2>out.tar"),
    ("docker-archive:/dev/stdout", ">out.tar 2>&1"),
])
def test_an_archive_written_where_stderr_goes_is_all_that_goes_there(
        layout: tuple[Path, dict[str, Any]], tmp_path: Path, destination: str,
        redirected: str) -> None:
    """The progress and the last line went to stderr too, into the archive: "Copied …"
    over its first header, and the copy ended well with a file tar cannot read. Such a
    copy is quiet now, notes included (skopeo's progress goes to stdout)."""
    root, _index = layout
    (tmp_path / "link-to-stderr").symlink_to("/dev/stderr")
    done = _spyglass_in_a_shell(tmp_path, f"copy oci:{root}:latest {destination} {redirected}")
    assert done.returncode == 0
    with tarfile.open(tmp_path / "out.tar") as archive:  # (the whole file is the tar)
        assert "manifest.json" in archive.getnames() or "index.json" in archive.getnames()
    # an error is still said
    done = _spyglass_in_a_shell(tmp_path, f"copy oci:{tmp_path}/none:latest {destination} "
                                f"{redirected}")
    assert done.returncode == 1
    assert (tmp_path / "out.tar").read_text().startswith("spyglass: ")


def test_a_locale_that_cannot_write_an_arrow_gets_one_in_ascii(
        layout: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    root, _index = layout
    done = _spyglass_in_a_shell(tmp_path, f"copy --dry-run oci:{root}:latest oci:out:latest",
                                LC_ALL="C", LANG="C", PYTHONUTF8="0")
    assert done.returncode == 0, done.stderr
    assert " -> oci:out:latest" in done.stdout  # "→", as ASCII


def test_json_on_a_stdout_that_cannot_write_a_character_stays_json(tmp_path: Path) -> None:
    # escaped the JSON way (\\u2615), not Python's (\\xe9), which jq refuses
    from tests.helpers.imagebuild import ImageSpec, LayerSpec

    builder = LayoutBuilder(tmp_path / "labelled")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})],
                                            labels={"note": "caf\u00e9 \u2615"})), "latest")
    done = _spyglass_in_a_shell(tmp_path, f"inspect oci:{tmp_path / 'labelled'}:latest",
                                PYTHONIOENCODING="ascii")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Labels"]["note"] == "caf\u00e9 \u2615"


def test_a_list_of_images_without_platforms_into_an_archive_is_told_to_choose_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # no platform field, but images: --platform picks one (the artifacts' sentence is not
    # theirs)
    from tests.helpers.imagebuild import ImageSpec, LayerSpec

    builder = LayoutBuilder(tmp_path / "plain")
    entries = []
    for name in ("a", "b"):
        entry = builder.add_image(ImageSpec(layers=[LayerSpec({f"/{name}": b"x"})]))
        entry.pop("platform")
        entries.append(entry)
    builder.tag(builder.add_index(entries), "both")
    said = run_error(capsys, "copy", "--all", f"oci:{tmp_path / 'plain'}:both",
                     f"docker-archive:{tmp_path / 'a.tar'}")
    assert "choose one platform" in said and "only artifacts" not in said


def test_logout_all_says_what_it_removed_before_the_keyring_locked(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from spyglass.core.credentials import Credentials
    from spyglass.core.credentials.store import CredentialStore
    from spyglass.core.transports import registry
    from tests.helpers.keyrings import LockableKeyring

    class LocksAfterOneRemoval(LockableKeyring):
        def delete_password(self, service: str, username: str) -> None:
            super().delete_password(service, username)
            self.locked = True  # its unlock timed out, say

    backend = LocksAfterOneRemoval()
    store = CredentialStore(keyring_backend=backend, environ={"HOME": "/nonexistent"})
    for host in ("one.example.com", "two.example.com"):
        store.save(host, Credentials("u", "pw"))
    monkeypatch.setitem(registry._stores, None, store)
    assert main(["logout", "--all"]) == EXIT_ERROR
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "spyglass: Removed the stored credentials for one.example.com.\n"
        "spyglass: Could not remove the other stored credentials: the keyring backend "
        "LocksAfterOneRemoval is locked. Unlock it and try again.\n")
    assert backend.stored("two.example.com") is not None


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Requests given 0.3 s, not a minute (clients made for this test alone)."""
    import httpx

    from spyglass.core.transports.registry import connections, forget_clients

    forget_clients()
    monkeypatch.setattr(connections, "TIMEOUT", httpx.Timeout(0.3, connect=0.3))
    monkeypatch.setattr(connections.POOL, "_clients", {})
    yield
    connections.POOL.close()
    forget_clients()


@pytest.mark.usefixtures("short_timeouts")
def test_a_request_asked_again_after_a_timeout_is_said_on_stderr(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A registry that takes the request and sends nothing: a line says the request is
    asked again (four minutes passed without a word, as if frozen); stdout stays clean;
    a copy with --quiet says only what ended it."""
    from tests.helpers.hanging import HangingRegistry

    with HangingRegistry({}) as server:
        host = server.host
        code = main(["tags", "--tls-verify=false", "--retry-times", "1",
                     f"docker://{host}/hung/app"])
        out, err = capsys.readouterr()
        assert code == EXIT_ERROR and out == ""
        what = f"Listing the tags of {host}/hung/app"
        assert err.splitlines() == [
            f"spyglass: {what}: the registry {host} sent nothing for 0.3 s; asking again "
            "(attempt 2 of 2)…",
            f"spyglass: {what}: the registry {host} stopped answering (nothing came for the "
            "whole timeout; asked 2 times).",
        ]
        code = main(["copy", "-q", "--src-tls-verify=false", "--retry-times", "1",
                     f"docker://{host}/hung/app:v1", f"oci:{tmp_path / 'copied'}:v1"])
        out, err = capsys.readouterr()
        assert code == EXIT_ERROR and out == ""
        assert len(err.splitlines()) == 1 and "asking again" not in err, err
        assert "stopped answering" in err


@pytest.mark.usefixtures("short_timeouts")
def test_a_token_request_asked_again_after_a_timeout_is_said_on_stderr(
        capsys: pytest.CaptureFixture[str]) -> None:
    """A token server that takes the request and sends nothing: each retry is said, as a
    registry's is (four minutes passed with one line, at the end), naming the token
    server, and the tries join the sentence's remark (it had two parentheses in a row)."""
    from tests.helpers.registry import RegistryServer
    from tests.helpers.tokenserver import TokenServer

    with TokenServer() as tokens, RegistryServer(token_server=tokens) as server:
        host = server.host
        tokens.answering.clear()
        code = main(["tags", "--retry-times", "1", f"docker://{host}/demo/app"])
        out, err = capsys.readouterr()
    assert code == EXIT_ERROR and out == ""
    who = f"the token server 127.0.0.1:{tokens.port} of {host}"
    assert err.splitlines() == [
        f"spyglass: Listing the tags of {host}/demo/app: {who} sent nothing for 0.3 s; "
        "asking again (attempt 2 of 2)…",
        f"spyglass: T{who[1:]} stopped answering (no token came for the whole timeout; "
        "asked 2 times).",
    ]


def test_logout_all_leaves_a_damaged_settings_file_as_it_is(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    """It renamed the file to settings.json.bad: odd for a logout, which saves nothing."""
    from spyglass.core.credentials import Credentials
    from spyglass.core.credentials.store import CredentialStore
    from spyglass.core.transports import registry
    from tests.helpers.keyrings import LockableKeyring

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    settings = tmp_path / "spyglass" / "settings.json"
    settings.parent.mkdir()
    settings.write_bytes(b'{"registries": [')
    store = CredentialStore(keyring_backend=LockableKeyring(), environ={"HOME": "/nonexistent"})
    store.save("one.example.com", Credentials("u", "pw"))
    monkeypatch.setitem(registry._stores, None, store)
    assert main(["logout", "--all"]) == 0
    _out, err = capsys.readouterr()
    assert sorted(p.name for p in settings.parent.iterdir()) == ["settings.json"]
    assert settings.read_bytes() == b'{"registries": ['
    assert err.splitlines()[0] == (
        f'spyglass: The settings file "{settings}" could not be used (it is not valid JSON: '
        "Expecting value: line 1 column 17 (char 16)); it is left as it is, and the registries the "
        "keyring lists are logged out.")
    assert "Removed the stored credentials for one.example.com." in err


@pytest.mark.parametrize(("columns", "named"), [(100, True), (44, False)])
def test_the_bars_of_images_copied_at_once_name_their_image_where_that_fits(
        monkeypatch: pytest.MonkeyPatch, columns: int, named: bool) -> None:
    """A sync copying several images at once: each bar says its image before the
    blob's digest; on a terminal too narrow for that, the digest alone, as for one."""
    import io

    from spyglass.cli import progress
    from spyglass.core.copy import BlobStarted
    from spyglass.core.digest import Digest

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(progress, "_terminal_size", lambda stream: (columns, 24))
    monkeypatch.setenv("TERM", "xterm")
    screen = Terminal()
    report = progress.Reporter(screen, quiet=True, several=True)
    report._quiet = False  # (quiet: no notes handler is put in place for the test)
    first, second = Digest.parse("sha256:" + "a1" * 32), Digest.parse("sha256:" + "b2" * 32)
    report.for_image("docker://r.example/team/app:1.0", "app:1.0")(
        BlobStarted(first, 1000, "application/octet-stream"))
    report.for_image("docker://r.example/team/db:15", "db:15")(
        BlobStarted(second, 2000, "application/octet-stream"))
    drawn = screen.getvalue().split("\x1b[J")[-1]
    labels = [line.split(" [")[0].strip() for line in drawn.split("\n")]
    assert labels == (["app:1.0 a1a1a1a1a1a1", "db:15 b2b2b2b2b2b2", "total"] if named
                      else ["a1a1a1a1a1a1", "b2b2b2b2b2b2", "total"]), repr(drawn)
    report.close()


def _spyglass(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python -m spyglass ARGS`` in a process of its own (with its own descriptors)."""
    return subprocess.run(
        [sys.executable, "-m", "spyglass", *args], capture_output=True,
        text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3] / "app")},
        **kwargs)


def test_a_digestfile_of_a_descriptor_given_is_written_through_it_and_one_not_given_refused(
    layout: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """/dev/fd/N names the caller's descriptor N. One not given named, when the copy
    ended, whatever Spyglass itself had open there (a registry's connection, the blob
    cache): the digest went into it and the copy said nothing. skopeo: 'open /dev/fd/N:
    no such file or directory'. Refused now before anything is copied."""
    root, _ = layout
    out = tmp_path / "digest.txt"
    with open(out, "w") as given:
        fd = given.fileno()
        done = _spyglass("copy", "-q", "--digestfile", f"/dev/fd/{fd}", f"oci:{root}:latest",
                         f"oci:{tmp_path / 'copy'}:v1", pass_fds=(fd,))
    assert done.returncode == 0, done.stderr
    written = out.read_text()
    assert written.startswith("sha256:") and len(written) == len("sha256:") + 64

    done = _spyglass("copy", "-q", "--digestfile", "/dev/fd/7", f"oci:{root}:latest",
                     f"oci:{tmp_path / 'not-copied'}:v1")
    assert done.returncode != 0
    assert 'The --digestfile "/dev/fd/7" cannot be written: spyglass was given no ' \
        "descriptor 7" in done.stderr, done.stderr
    assert not (tmp_path / "not-copied").exists()  # refused before the copy


@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_an_archive_of_a_descriptor_not_given_is_refused_as_a_digestfile_is(
    layout: tuple[Path, dict[str, Any]], tmp_path: Path, transport: str
) -> None:
    """An archive named /dev/fd/N for a descriptor the caller did not give was written,
    at the end, into whatever Spyglass itself had open there by then (its staging
    folder: "Is a directory"; a file of its own, and the copy said it had copied).
    Refused now before anything is copied, as --digestfile refuses it; one given is
    written through."""
    root, _ = layout
    for name in ("/dev/fd/4", "/dev/fd/9", "/proc/self/fd/12"):
        done = _spyglass("copy", "-q", f"oci:{root}:latest", f"{transport}:{name}")
        assert done.returncode != 0
        assert done.stderr == (f"spyglass: The destination {transport}:{name} cannot be "
                               f"written: spyglass was given no descriptor "
                               f"{name.rsplit('/', 1)[1]} (Bad file descriptor).\n")
    out = tmp_path / "given.tar"
    with open(out, "wb") as given:
        fd = given.fileno()
        done = _spyglass("copy", "-q", f"oci:{root}:latest", f"{transport}:/dev/fd/{fd}",
                         pass_fds=(fd,))
    assert done.returncode == 0, done.stderr
    assert tarfile.is_tarfile(out)


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="no /dev/shm here")
def test_a_digestfile_in_dev_shm_is_replaced_not_appended_to(
    layout: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """/dev/shm holds ordinary files: a second copy appended a second digest to the
    first (anything under /dev/ was written as a device is)."""
    root, _ = layout
    digestfile = Path("/dev/shm") / f"spyglass-test-{os.getpid()}-{tmp_path.name}"
    try:
        for n in (1, 2):
            assert main(["copy", "-q", "--digestfile", str(digestfile),
                         f"oci:{root}:latest", f"oci:{tmp_path / f'c{n}'}:v1"]) == 0
        written = digestfile.read_text()
        assert written.startswith("sha256:") and len(written) == len("sha256:") + 64
    finally:
        digestfile.unlink(missing_ok=True)


def test_the_command_names_are_the_parsers() -> None:
    """Whether a word is a command is asked of COMMAND_NAMES, without the parser."""
    import argparse

    from spyglass.cli import COMMAND_NAMES, build_parser

    commands = next(action for action in build_parser()._actions
                    if isinstance(action, argparse._SubParsersAction))
    assert set(commands.choices) == COMMAND_NAMES


def test_a_command_builds_the_parser_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    layout: tuple[Path, dict[str, Any]],
) -> None:
    import spyglass.cli as cli

    built: list[object] = []
    build = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: built.append(1) or build())
    root, _ = layout
    run_ok(capsys, "inspect", "--raw", f"oci:{root}:latest")
    assert len(built) == 1


@pytest.mark.parametrize("name", ["docker://127.0.0.1:39259", "localhost:5000",
                                  "docker://myreg.example:5000/", "docker://localhost"])
def test_tags_of_a_registry_alone_suggests_catalog_not_docker_hub(
        capsys: pytest.CaptureFixture[str], name: str) -> None:
    registry = name.removeprefix("docker://").rstrip("/")
    said = run_error(capsys, "tags", name)
    assert said == (f'Invalid image reference "{name}": "{registry}" is a registry, with no '
                    f"repository after it; expected docker://{registry}/REPOSITORY, or list "
                    f"its repositories with spyglass catalog {registry}.")
    assert "docker.io" not in said


def test_sync_of_a_registry_alone_is_not_docker_hubs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Refused before anything is asked (docker.io/library/127.0.0.1:1 was)."""
    assert main(["sync", "--retry-times", "0", "--src", "docker", "--dest", "dir",
                 "127.0.0.1:1", str(tmp_path / "out")]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert ('"127.0.0.1:1" is a registry, with no repository after it; expected '
            "docker://127.0.0.1:1/REPOSITORY[:TAG]") in err
    assert "docker.io" not in err


def test_an_image_not_there_exits_as_the_help_says_unlike_newer_skopeo(
        layout: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    """Status 2 is a usage error here, where skopeo 1.15 and later exit 2 for an image
    not found: kept, and said where a script's author looks."""
    root, _ = layout
    assert main(["inspect", f"oci:{root}:nosuchref"]) == EXIT_ERROR
    assert "nosuchref" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["inspect"])
    assert exited.value.code == EXIT_USAGE == 2
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert ("A usage error exits with status 2; any other error, an image that is not there "
            "included, with 1 (skopeo 1.15 and later exit 2 for an image that is not there, "
            "and 1 for a usage error).") in said


def test_a_bare_destination_is_refused_with_the_name_what_is_there_takes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """copy takes no destination without its transport, as skopeo takes none; but its
    refusal names what to write from what is there, as the Copy dialog takes the path: a
    hint of oci:/dir: for ./new.tar made a folder named new.tar, and for an existing
    archive both forms it gave were refused."""
    from tests.helpers.imagebuild import ImageSpec, LayerSpec

    monkeypatch.chdir(tmp_path)
    builder = LayoutBuilder(tmp_path / "src")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a"})])), "1")
    source = "oci:src:1"
    for made in ("docker-archive:app.tar", "oci-archive:o.tar", "oci:lay:1", "dir:d"):
        assert main(["copy", "-q", source, made]) == 0
    capsys.readouterr()  # (the notes of conversions)
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("hi\n")
    said = {name: run_error(capsys, "copy", source, name) for name in (
        "./new.tar", "./new.docker", "./app.tar", "o.tar", "./lay", "./lay:2", "./d",
        "./empty", "./newdir", "./out.tar.gz", "./notes.txt", "app.tar:x:1")}
    assert said == {
        "./new.tar": 'Invalid image name "./new.tar": a path is written after its '
                     "transport, for example oci-archive:./new.tar (an OCI archive) or "
                     "docker-archive:./new.tar (a Docker archive).",
        "./new.docker": 'Invalid image name "./new.docker": a path is written after its '
                        "transport, here docker-archive:./new.docker.",
        "./app.tar": 'Invalid image name "./app.tar": a path is written after its '
                     'transport; "./app.tar" is a Docker archive: docker-archive:./app.tar.',
        "o.tar": 'Invalid image name "o.tar": a path is written after its transport; '
                 '"o.tar" is an OCI archive: oci-archive:o.tar.',
        "./lay": 'Invalid image name "./lay": a path is written after its transport; '
                 '"./lay" is an OCI layout: oci:./lay.',
        "./lay:2": 'Invalid image name "./lay:2": a path is written after its transport; '
                   '"./lay" is an OCI layout: oci:./lay:2.',
        "./d": 'Invalid image name "./d": a path is written after its transport; "./d" is '
               "a dir: image: dir:./d.",
        "./empty": 'Invalid image name "./empty": a path is written after its transport, '
                   "for example oci:./empty or dir:./empty.",
        "./newdir": 'Invalid image name "./newdir": a path is written after its '
                    "transport, for example oci:./newdir or dir:./newdir.",
        "./out.tar.gz": '"./out.tar.gz" is named as a compressed archive, and Spyglass '
                        "writes archives uncompressed, as skopeo does: name it "
                        "oci-archive:./out.tar, or give its kind to write a plain tar "
                        "under this name (oci-archive:./out.tar.gz).",
        "./notes.txt": 'The file "./notes.txt" is not an image archive, and a copy writes '
                       "over no other file: expected an image archive, a folder, or a new "
                       "name.",
        "app.tar:x:1": 'Invalid image name "app.tar:x:1": a path is written after its '
                       'transport; "app.tar" is a Docker archive: '
                       "docker-archive:app.tar:x:1.",
    }
    assert not (tmp_path / "new.tar").exists() and not (tmp_path / "newdir").exists()
    # what each says to write is taken
    for name in ("oci-archive:./new.tar", "docker-archive:./app.tar", "oci:./lay:2",
                 "dir:./d"):
        assert main(["copy", "-q", source, name]) == 0, name
    capsys.readouterr()
    assert (tmp_path / "new.tar").is_file()
    # not a path: the sentence of a name without its transport, as before
    assert run_error(capsys, "copy", source, "team/app") == (
        'Invalid image name "team/app": expected TRANSPORT:REFERENCE, for example '
        "docker://alpine or oci:/path/to/layout:tag.")
