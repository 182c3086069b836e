"""``spyglass copy`` credentials against a real registry with htpasswd Basic auth.

Each copy runs the real command line (``python -m spyglass copy`` with ``app/``
on ``PYTHONPATH``) in a subprocess, as test_copy_roundtrip.py does, against the
session's ``auth_registry`` (alice/wonderland, bob/builder): ``--src-creds``,
``--dest-creds``, ``--authfile`` (a containers ``auth.json``), and what wrong or
missing credentials print. No password may appear on stdout or stderr.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.imagebuild import OCI_INDEX, OCI_MANIFEST, multi_platform_layout
from tests.helpers.registry import ALICE, RegistryServer, push_image
from tests.helpers.tokenserver import TokenServer

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
ALICE_CREDS = f"{ALICE[0]}:{ALICE[1]}"
WRONG_PASSWORD = "wrong-password-5c7e19"
#: What must never show up in any output.
SECRETS = (ALICE[1], WRONG_PASSWORD, "builder")
ACCEPT = {"Accept": ", ".join([OCI_INDEX, OCI_MANIFEST])}


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: bytes
    stderr: str

    def error_line(self) -> str:
        """The one-line error of a failed command (asserted to be exactly one line)."""
        assert self.returncode != 0, self
        assert self.stdout == b"", self
        lines = self.stderr.splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("spyglass: ") and lines[0].endswith("."), lines[0]
        return lines[0]


def spyglass(*args: str) -> Result:
    """Run ``python -m spyglass ARGS``; check that no password is printed."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    done = subprocess.run(
        [sys.executable, "-m", "spyglass", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=environment,
        timeout=60,
        check=False,
    )
    result = Result(done.returncode, done.stdout, done.stderr.decode(errors="replace"))
    for secret in SECRETS:
        assert secret.encode() not in done.stdout, f"{args}: stdout shows a password"
        assert secret not in result.stderr, f"{args}: stderr shows a password"
    return result


def copy(*args: str, digestfile: Path) -> str:
    """``spyglass copy -q --digestfile FILE ARGS``; return the digest written."""
    result = spyglass("copy", "-q", "--digestfile", str(digestfile), *args)
    assert result.returncode == 0, f"spyglass copy {' '.join(args)}:\n{result.stderr}"
    return digestfile.read_text().strip()


def served_digest(server: RegistryServer, repository: str, tag: str) -> str | None:
    """The digest the registry serves for ``repository:tag`` (asked as alice), or None."""
    with server.client(ALICE) as client:
        response = client.head(f"/v2/{repository}/manifests/{tag}", headers=ACCEPT)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response
        return str(response.headers["Docker-Content-Digest"])


def layout_digest(layout: Path) -> str:
    index = json.loads((layout / "index.json").read_bytes())
    return str(index["manifests"][0]["digest"])


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("copy-creds") / "layout"
    multi_platform_layout(root)
    return root


@pytest.fixture(scope="module")
def pushed(auth_registry: RegistryServer, layout: Path) -> str:
    """The 3-platform image on the Basic-auth registry as ``it-copy-creds/source:v1``."""
    return push_image(auth_registry, layout, "latest", "it-copy-creds/source:v1", creds=ALICE)


def test_copy_with_src_creds(
    auth_registry: RegistryServer, pushed: str, tmp_path: Path
) -> None:
    source = f"docker://{auth_registry.host}/it-copy-creds/source:v1"
    out = tmp_path / "out"
    digest = copy("--all", "--src-creds", ALICE_CREDS, source, f"oci:{out}:v1",
                  digestfile=tmp_path / "digest")
    assert digest == pushed
    index = json.loads((out / "index.json").read_bytes())
    assert [m["digest"] for m in index["manifests"]] == [pushed]
    top = (out / "blobs" / "sha256" / pushed.removeprefix("sha256:")).read_bytes()
    assert "sha256:" + hashlib.sha256(top).hexdigest() == pushed


def test_copy_with_dest_creds(
    auth_registry: RegistryServer, layout: Path, tmp_path: Path
) -> None:
    repository = "it-copy-creds/dest"
    digest = copy("--all", "--dest-creds", ALICE_CREDS, f"oci:{layout}:latest",
                  f"docker://{auth_registry.host}/{repository}:v1",
                  digestfile=tmp_path / "digest")
    assert digest == layout_digest(layout)
    assert served_digest(auth_registry, repository, "v1") == digest


def test_copy_with_an_authfile_on_both_sides(
    auth_registry: RegistryServer, pushed: str, tmp_path: Path
) -> None:
    authfile = tmp_path / "auth.json"
    authfile.write_text(json.dumps(
        {"auths": {auth_registry.host: {"auth": base64.b64encode(ALICE_CREDS.encode()).decode()}}}
    ))
    host = auth_registry.host
    digest = copy("--all", "--authfile", str(authfile),
                  f"docker://{host}/it-copy-creds/source:v1",
                  f"docker://{host}/it-copy-creds/from-authfile:v1",
                  digestfile=tmp_path / "digest")
    assert digest == pushed
    assert served_digest(auth_registry, "it-copy-creds/from-authfile", "v1") == pushed

    # the file's credentials are the ones used: a wrong password in it is refused
    wrong_auth = base64.b64encode(f"alice:{WRONG_PASSWORD}".encode()).decode()
    authfile.write_text(json.dumps({"auths": {host: {"auth": wrong_auth}}}))
    refused = spyglass("copy", "-q", "--all", "--retry-times", "0", "--authfile", str(authfile),
                       f"docker://{host}/it-copy-creds/source:v1", f"oci:{tmp_path / 'out'}:v1")
    assert "refused the credentials given" in refused.error_line()
    assert wrong_auth not in refused.stderr
    # and the advice names the file they came from, not flags that were not used
    assert f'Check the entry "{host}" in {authfile}.' in refused.error_line()
    assert "--src-creds" not in refused.error_line()
    # a file without the host, or no file at all (read as empty, as skopeo reads it):
    # the sentence says only that file was read, and what it lacks
    authfile.write_text(json.dumps({"auths": {}}))
    missing = tmp_path / "nowhere.json"
    for given, lacks in ((authfile, f"has no credentials for {host}"),
                         (missing, "does not exist")):
        line = spyglass("copy", "-q", "--retry-times", "0", "--src-authfile", str(given),
                        f"docker://{host}/it-copy-creds/source:v1",
                        f"oci:{tmp_path / 'out'}:v1").error_line()
        assert f'Only the auth file "{given}" was read, and it {lacks}.' in line
        assert "spyglass login" not in line  # a login goes elsewhere: that file is the way
    # each side its own file: the failing side's is named (a login would not be read)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"auths": {"registry.example": {"auth": wrong_auth}}}))
    line = spyglass("copy", "-q", "--retry-times", "0", "--src-authfile", str(authfile),
                    "--dest-authfile", str(other), f"docker://{host}/it-copy-creds/source:v1",
                    f"oci:{tmp_path / 'out'}:v1").error_line()
    assert f'Only the auth file "{authfile}" was read, and it has no credentials for {host}.' \
        in line, line
    assert "spyglass login" not in line


def _sides(
    side: str, host: str, layout: Path, tmp_path: Path
) -> tuple[str, str, str]:
    """(source, destination, destination repository) with the registry on ``side``."""
    repository = f"it-copy-creds/wrong-{side}"
    if side == "src":
        return (f"docker://{host}/it-copy-creds/source:v1", f"oci:{tmp_path / 'out'}:v1",
                repository)
    return f"oci:{layout}:latest", f"docker://{host}/{repository}:v1", repository


@pytest.mark.parametrize("side", ["src", "dest"])
def test_wrong_credentials_are_one_sentence_without_the_password(
    side: str, auth_registry: RegistryServer, pushed: str, layout: Path, tmp_path: Path
) -> None:
    host = auth_registry.host
    source, destination, repository = _sides(side, host, layout, tmp_path)

    wrong = spyglass("copy", "-q", "--all", "--retry-times", "0", f"--{side}-creds",
                     f"alice:{WRONG_PASSWORD}", source, destination)
    line = wrong.error_line()  # exit status 1, one line, nothing on stdout, no password
    assert "refused the credentials given" in line and host in line, line
    assert f"Check the user name and password given with --{side}-creds USER:PASSWORD" in line, \
        line

    # without -q the progress lines come first, the error is still one last line
    loud = spyglass("copy", "--all", "--retry-times", "0", f"--{side}-creds",
                    f"alice:{WRONG_PASSWORD}", source, destination)
    assert loud.returncode == 1 and loud.stdout == b""
    # (which blob's lookup fails first varies: blobs are looked up in parallel)
    last = loud.stderr.splitlines()[-1]
    assert last.startswith("spyglass: ") and last.endswith("."), loud.stderr
    assert "refused the credentials given" in last, loud.stderr
    assert sum(text.startswith("spyglass: ") for text in loud.stderr.splitlines()) == 1

    missing = spyglass("copy", "-q", "--all", "--retry-times", "0", source, destination)
    assert "wants valid credentials" in missing.error_line()
    assert f"spyglass login {host}" in missing.error_line()

    if side == "dest":
        assert served_digest(auth_registry, repository, "v1") is None
    else:
        index = tmp_path / "out" / "index.json"
        assert not index.exists() or json.loads(index.read_bytes())["manifests"] == []


@pytest.mark.parametrize("side", ["src", "dest"])
def test_the_credentials_hint_names_an_option_copy_accepts(
    side: str, auth_registry: RegistryServer, pushed: str, layout: Path, tmp_path: Path
) -> None:
    source, destination, _ = _sides(side, auth_registry.host, layout, tmp_path)
    line = spyglass("copy", "-q", "--all", "--retry-times", "0", f"--{side}-creds",
                    f"alice:{WRONG_PASSWORD}", source, destination).error_line()
    assert f"--{side}-creds" in line, line
    assert "pass --creds" not in line, line


@pytest.mark.parametrize("side", ["src", "dest"])
def test_the_credentials_hint_names_the_username_and_password_flags_given(
    side: str, auth_registry: RegistryServer, pushed: str, layout: Path, tmp_path: Path
) -> None:
    """``--src-username``/``--src-password`` are the way to give a password holding a
    colon: the advice named ``--src-creds USER:PASSWORD``, which cannot carry it."""
    source, destination, _ = _sides(side, auth_registry.host, layout, tmp_path)
    line = spyglass("copy", "-q", "--all", "--retry-times", "0", f"--{side}-username", "alice",
                    f"--{side}-password", f"a:{WRONG_PASSWORD}", source,
                    destination).error_line()
    assert "refused the credentials given" in line, line
    assert line.endswith(f"Check the user name and password given with --{side}-username and "
                         f"--{side}-password."), line
    assert WRONG_PASSWORD not in line, line


@pytest.mark.parametrize("side", ["src", "dest"])
def test_a_password_left_out_is_asked_for_with_the_sides_own_option(
    side: str, auth_registry: RegistryServer, pushed: str, layout: Path, tmp_path: Path
) -> None:
    source, destination, _ = _sides(side, auth_registry.host, layout, tmp_path)
    line = spyglass("copy", "-q", f"--{side}-creds", "alice", source, destination).error_line()
    assert f"use --{side}-creds USER:PASSWORD (--{side}-creds USER: for an empty one)" in line
    empty = spyglass("copy", "-q", f"--{side}-creds", "", source, destination).error_line()
    assert f"The --{side}-creds value is empty" in empty, empty


@pytest.mark.parametrize("side", ["src", "dest"])
def test_a_colon_with_nothing_after_it_sends_an_empty_password(
    side: str, auth_registry: RegistryServer, pushed: str, layout: Path, tmp_path: Path
) -> None:
    """As skopeo: ``USER:`` is a user with an empty password, never a question (the
    registry here refuses it, which shows it was sent)."""
    source, destination, _ = _sides(side, auth_registry.host, layout, tmp_path)
    line = spyglass("copy", "-q", "--retry-times", "0", f"--{side}-creds", "alice:",
                    source, destination).error_line()
    assert "refused the credentials given" in line, line


def test_an_empty_password_at_a_token_registry_is_no_account(
    token_registry: RegistryServer, layout: Path, tmp_path: Path
) -> None:
    """``USER:`` asks the token server anonymously (as skopeo does): what it is refused
    is said as credentials wanted, not as an account without permission."""
    line = spyglass("copy", "-q", "--retry-times", "0", "--dest-creds", "alice:",
                    f"oci:{layout}:latest",
                    f"docker://{token_registry.host}/it-copy-creds/empty:v1").error_line()
    assert "wants valid credentials" in line, line
    assert "not allowed" not in line and line.endswith(
        'The user name "alice" was given with an empty password, and a token server is '
        "asked without credentials then (as skopeo asks it). Give the password too "
        "(--dest-creds USER:PASSWORD)."), line
    # a wrong password: the token server refuses it, and the sentence says which flag
    wrong = spyglass("copy", "-q", "--retry-times", "0", "--dest-creds",
                     f"alice:{WRONG_PASSWORD}", f"oci:{layout}:latest",
                     f"docker://{token_registry.host}/it-copy-creds/empty:v1").error_line()
    assert 'refused to log in as "alice"' in wrong, wrong
    assert wrong.endswith(" Check the user name and password given with --dest-creds "
                          "USER:PASSWORD."), wrong  # as a Basic-auth registry says it
    assert WRONG_PASSWORD not in wrong, wrong
    named = spyglass("copy", "-q", "--retry-times", "0", "--dest-username", "alice",
                     "--dest-password", f"a:{WRONG_PASSWORD}", f"oci:{layout}:latest",
                     f"docker://{token_registry.host}/it-copy-creds/empty:v1").error_line()
    assert 'refused to log in as "alice"' in named, named
    assert named.endswith(" given with --dest-username and --dest-password."), named
    assert "creds" not in named and WRONG_PASSWORD not in named, named
    # (a login would not help: the flags given come first)
    assert "spyglass login" not in named and "spyglass login" not in wrong, (named, wrong)


def test_credentials_for_a_side_that_is_no_registry_are_not_used(
    layout: Path, tmp_path: Path
) -> None:
    """As skopeo: no password is asked for (stdin is not a terminal here) and the copy
    goes ahead."""
    copy("--src-creds", "alice", "--dest-creds", "bob", f"oci:{layout}:latest",
         f"oci:{tmp_path / 'out'}:v1", digestfile=tmp_path / "digest")


def test_tls_verify_standing_alone_means_true(
    tls_registry: RegistryServer, layout: Path, tmp_path: Path
) -> None:
    """``--dest-tls-verify`` right before SOURCE does not take SOURCE for its value; the
    certificate (not trusted here) is then checked, and the advice names copy's flag."""
    line = spyglass("copy", "-q", "--retry-times", "0", "--dest-tls-verify",
                    f"oci:{layout}:latest",
                    f"docker://{tls_registry.host}/it-copy-tls/app:v1").error_line()
    assert "could not be verified" in line, line
    assert "--dest-tls-verify=false" in line and "(--tls-verify=false)" not in line, line
    assert "--dest-cert-dir DIR" in line, line  # the CA may be given for this copy alone
    digest = copy("--dest-tls-verify=false", f"oci:{layout}:latest",
                  f"docker://{tls_registry.host}/it-copy-tls/app:v1",
                  digestfile=tmp_path / "digest")
    assert digest == served_digest(tls_registry, "it-copy-tls/app", "v1")


def test_skopeos_deprecated_tls_verify_is_taken_for_both_sides(
    tls_registry: RegistryServer, layout: Path, tmp_path: Path
) -> None:
    """skopeo 1.9's copy --tls-verify=false, deprecated: its warning, and the flag taken
    for each side without its own (it was refused, naming the flags of each side)."""
    pushed = f"docker://{tls_registry.host}/it-copy-tls/deprecated:v1"
    deprecated = ("spyglass: --tls-verify is deprecated, as in skopeo: use --src-tls-verify "
                  "and --dest-tls-verify.")
    for source, destination in ((f"oci:{layout}:latest", pushed),
                                (pushed, f"oci:{tmp_path / 'back'}:v1")):
        done = spyglass("copy", "-q", "--tls-verify=false", source, destination)
        assert done.returncode == 0, done.stderr
        assert done.stderr == f"{deprecated} It is taken for both sides.\n"
    # a side's own flag decides for that side, as in skopeo
    done = spyglass("copy", "-q", "--retry-times", "0", "--tls-verify=false",
                    "--src-tls-verify", pushed, f"oci:{tmp_path / 'again'}:v1")
    lines = done.stderr.splitlines()
    assert done.returncode == 1 and len(lines) == 2, done.stderr
    assert lines[0] == (f"{deprecated} It is taken for the destination; --src-tls-verify "
                        "decides for the source.")
    assert "could not be verified" in lines[1], lines[1]


@pytest.mark.parametrize(("compression", "level", "expected"), [
    ("zstd", "99", "out of range for zstd, which this copy compresses layers with: zstd "
     "takes 1 to 22 (0: its default, 3)"),
    ("zstd", "-1", "out of range for zstd"),
])
def test_a_compression_level_out_of_range_is_a_sentence(
    layout: Path, tmp_path: Path, compression: str, level: str, expected: str
) -> None:
    done = spyglass("copy", "-q", "--dest-compress-format", compression,
                    "--dest-compress-level", level, f"oci:{layout}:latest",
                    f"oci:{tmp_path / 'out'}:v1")
    line = done.error_line()
    assert done.returncode == 1
    assert expected in line and f"--dest-compress-level {level}" in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flags", [
    ["--dest-compress-format", "none", "--dest-compress-level", "5"],
    # nothing to compress: the layers are gzip already
    ["--dest-compress-level", "19"],
    ["--dest-compress-format", "gzip", "--dest-compress-level", "99"],
])
def test_a_compression_level_nothing_is_compressed_with_is_unused(
    layout: Path, tmp_path: Path, flags: list[str]
) -> None:
    """As in skopeo, whose gzip refuses 19 only when it compresses something."""
    copy(*flags, f"oci:{layout}:latest", f"oci:{tmp_path / 'out'}:v1",
         digestfile=tmp_path / "digest")


# ------------------------------------------------------------ skopeo's other credential flags


def test_username_and_password_flags_instead_of_creds(
    auth_registry: RegistryServer, pushed: str, tmp_path: Path
) -> None:
    host = auth_registry.host
    digest = copy("--all", "--src-username", ALICE[0], "--src-password", ALICE[1],
                  "--dest-username", ALICE[0], "--dest-password", ALICE[1],
                  f"docker://{host}/it-copy-creds/source:v1",
                  f"docker://{host}/it-copy-creds/by-username:v1",
                  digestfile=tmp_path / "digest")
    assert digest == pushed
    assert served_digest(auth_registry, "it-copy-creds/by-username", "v1") == pushed


def test_no_creds_uses_no_stored_credentials(
    auth_registry: RegistryServer, pushed: str, tmp_path: Path
) -> None:
    """With an auth.json that would log in, ``--src-no-creds`` still asks anonymously."""
    authfile = tmp_path / "auth.json"
    authfile.write_text(json.dumps(
        {"auths": {auth_registry.host: {"auth": base64.b64encode(ALICE_CREDS.encode()).decode()}}}
    ))
    source = f"docker://{auth_registry.host}/it-copy-creds/source:v1"
    line = spyglass("copy", "-q", "--retry-times", "0", "--authfile", str(authfile),
                    "--src-no-creds", source, f"oci:{tmp_path / 'out'}:v1").error_line()
    assert "wants valid credentials" in line, line
    assert line.endswith("Leave out --src-no-creds for credentials to be sent."), line


def test_a_sides_own_authfile_wins_over_authfile(
    auth_registry: RegistryServer, pushed: str, tmp_path: Path
) -> None:
    host = auth_registry.host
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(
        {"auths": {host: {"auth": base64.b64encode(ALICE_CREDS.encode()).decode()}}}))
    bad.write_text(json.dumps({"auths": {host: {"auth": base64.b64encode(
        f"alice:{WRONG_PASSWORD}".encode()).decode()}}}))
    digest = copy("--all", "--authfile", str(bad), "--src-authfile", str(good),
                  "--dest-authfile", str(good), f"docker://{host}/it-copy-creds/source:v1",
                  f"docker://{host}/it-copy-creds/side-authfile:v1",
                  digestfile=tmp_path / "digest")
    assert digest == pushed


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (("--src-creds", ALICE_CREDS, "--src-no-creds"),
         "--src-creds and --src-no-creds contradict each other"),
        (("--dest-creds", ALICE_CREDS, "--dest-username", "alice", "--dest-password", "x"),
         "--dest-creds and --dest-username contradict each other"),
        (("--src-username", "alice"), "--src-username needs --src-password too"),
        (("--dest-password", "x"), "--dest-password needs --dest-username too"),
    ],
)
def test_contradicting_credential_flags_are_refused(
    auth_registry: RegistryServer, layout: Path, tmp_path: Path, flags: tuple[str, ...],
    said: str,
) -> None:
    host = auth_registry.host
    line = spyglass("copy", "-q", *flags, f"docker://{host}/it-copy-creds/source:v1",
                    f"docker://{host}/it-copy-creds/never:v1").error_line()
    assert said in line, line
    assert served_digest(auth_registry, "it-copy-creds/never", "v1") is None


def test_a_registry_token_is_presented_as_it_is(
    token_registry: RegistryServer, token_server: TokenServer, layout: Path, tmp_path: Path
) -> None:
    """``--dest-registry-token``: the Bearer token given goes to the registry; the token
    server is not asked."""
    repository = "it-copy-creds/by-token"
    token = token_server.issue_token(
        "alice", token_server.grant("alice", [f"repository:{repository}:pull,push"]))
    token_server.clear_log()
    result = spyglass("copy", "-q", "--all", "--digestfile", str(tmp_path / "digest"),
                      "--dest-registry-token", token, f"oci:{layout}:latest",
                      f"docker://{token_registry.host}/{repository}:v1")
    assert result.returncode == 0, result.stderr
    assert token not in result.stderr
    assert token_server.requests == []
    assert (tmp_path / "digest").read_text() == layout_digest(layout)

    other = token[: len(token) // 2] + "x" + token[len(token) // 2 + 1 :]  # not accepted
    refused = spyglass("copy", "-q", "--retry-times", "0", "--dest-registry-token", other,
                       f"oci:{layout}:latest", f"docker://{token_registry.host}/{repository}:v2")
    assert refused.returncode == 1 and other not in refused.stderr
    line = refused.error_line()
    assert "refused the Bearer token given" in line and "--dest-registry-token" in line, line
    assert "user name and password" not in line, line
    assert token_server.requests == []  # refused: no other token is asked for


def test_a_digestfile_that_is_the_source_or_destination_is_refused(
        layout: Path, tmp_path: Path) -> None:
    archive = tmp_path / "app.tar"
    done = spyglass("copy", "-q", f"oci:{layout}:latest", f"docker-archive:{archive}")
    assert done.returncode == 0, done.stderr
    before = archive.read_bytes()
    index_before = (layout / "index.json").read_bytes()
    for digestfile, source, destination in (
        (archive, f"oci:{layout}:latest", f"docker-archive:{archive}"),
        (archive, f"docker-archive:{archive}", f"oci:{tmp_path / 'out'}:v1"),
        (layout / "index.json", f"docker-archive:{archive}", f"oci:{layout}:other"),
    ):
        line = spyglass("copy", "-q", "--digestfile", str(digestfile), source,
                        destination).error_line()
        assert f'--digestfile "{digestfile}" would be written into the' in line
    assert archive.read_bytes() == before
    assert (layout / "index.json").read_bytes() == index_before
    assert not (tmp_path / "out").exists()
    # a new file in the source's folder overwrites nothing there: fine
    digest = copy(f"oci:{layout}:latest", f"oci:{tmp_path / 'out'}:v1",
                  digestfile=layout / "digest.txt")
    assert digest.startswith("sha256:")
    (layout / "digest.txt").unlink()
    # a file where its folder should be is named as such
    line = spyglass("copy", "-q", "--digestfile", str(archive / "digest"),
                    f"oci:{layout}:latest", f"oci:{tmp_path / 'out'}:v1").error_line()
    assert f'"{archive}" is a file, not a folder' in line


@pytest.mark.parametrize("kind", ["dir", "docker-archive", "oci-archive", "oci"])
def test_a_destination_that_is_a_loop_of_links_is_a_sentence(
        layout: Path, tmp_path: Path, kind: str) -> None:
    (tmp_path / "loop-a").symlink_to(tmp_path / "loop-b")
    (tmp_path / "loop-b").symlink_to(tmp_path / "loop-a")
    suffix = ":v1" if kind == "oci" else ""
    line = spyglass("copy", "-q", f"oci:{layout}:latest",
                    f"{kind}:{tmp_path / 'loop-a'}{suffix}").error_line()
    assert "loop" in line and str(tmp_path / "loop-a") in line


def test_a_mistyped_tls_verify_value_is_a_sentence(layout: Path, tmp_path: Path) -> None:
    for flags in (["--dest-tls-verify", "flase"], ["--src-tls-verify", "ture"]):
        done = spyglass("copy", *flags, f"oci:{layout}:latest", f"oci:{tmp_path / 'x'}:v1")
        assert done.returncode == 2
        assert f'"{flags[1]}" is not true or false' in done.stderr
    assert not (tmp_path / "x").exists()


def test_platforms_with_index_only_contradict_each_other(layout: Path, tmp_path: Path) -> None:
    line = spyglass("copy", "--multi-arch", "index-only", "--platform", "linux/arm64",
                    f"oci:{layout}:latest", f"oci:{tmp_path / 'x'}:v1").error_line()
    assert "--platform and --multi-arch index-only contradict each other" in line
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("every", [["--all"], ["--multi-arch", "all"]])
def test_platforms_with_all_contradict_each_other(
        layout: Path, tmp_path: Path, every: list[str]) -> None:
    line = spyglass("copy", *every, "--platform", "linux/arm64",
                    f"oci:{layout}:latest", f"oci:{tmp_path / 'x'}:v1").error_line()
    assert f"--platform and {' '.join(every)} contradict each other" in line
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("command", ["copy", "inspect"])
def test_a_malformed_platform_is_a_usage_error(
        layout: Path, tmp_path: Path, command: str) -> None:
    names = [f"oci:{layout}:latest"] + ([f"oci:{tmp_path / 'x'}:v1"] if command == "copy" else [])
    done = spyglass(command, "--platform", "linux", *names)
    assert done.returncode == 2
    assert 'Invalid platform "linux": expected OS/ARCH or OS/ARCH/VARIANT' in done.stderr
    assert not (tmp_path / "x").exists()



@pytest.mark.parametrize("algorithm", ["gzip", "zstd"])
def test_a_compression_a_docker_archive_cannot_hold_is_refused(
        layout: Path, tmp_path: Path, algorithm: str) -> None:
    line = spyglass("copy", "--dest-compress-format", algorithm, f"oci:{layout}:latest",
                    f"docker-archive:{tmp_path / 'a.tar'}:team/app:1").error_line()
    assert "holds its layers uncompressed" in line
    assert f"leave out --dest-compress-format {algorithm}" in line
    assert not (tmp_path / "a.tar").exists()


@pytest.mark.parametrize(("flags", "said"), [
    (["--sign-by", "ABCD1234"], "--sign-by is skopeo's: it signs the copy, which Spyglass "
                                "does not do"),
    (["--encrypt-layer", "0"], "--encrypt-layer is skopeo's: it encrypts or decrypts layers"),
    (["--src-shared-blob-dir", "/srv/blobs"], "--src-shared-blob-dir is skopeo's: it shares "
                                              "one blob folder"),
    (["--dest-daemon-host", "unix:///run/docker.sock"], "--dest-daemon-host is skopeo's: it "
                                                       "talks to a Docker daemon"),
])
def test_a_skopeo_flag_for_what_spyglass_does_not_do_is_named(
        layout: Path, tmp_path: Path, flags: list[str], said: str) -> None:
    """Not "unrecognized arguments" about the destination (the flag's value taken for the
    source): the flag, what it does in skopeo, and that Spyglass does not."""
    done = spyglass("copy", *flags, f"oci:{layout}:latest", f"oci:{tmp_path / 'x'}:v1")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith(f"spyglass: {said}")
    assert not (tmp_path / "x").exists()


def test_skopeos_precompute_digests_is_taken(layout: Path, tmp_path: Path) -> None:
    done = spyglass("copy", "-q", "--dest-precompute-digests", f"oci:{layout}:latest",
                    f"oci:{tmp_path / 'x'}:v1")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "x" / "index.json").exists()


def closed_port() -> int:
    """A loopback port nothing listens on: each connection to it is refused at once."""
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return int(unused.getsockname()[1])


def test_a_registry_that_is_down_is_said_once_before_any_blob(
        layout: Path, tmp_path: Path) -> None:
    """Not "Copying 4 blobs" and each blob's retries: the destination is tried before."""
    port = closed_port()
    done = spyglass("copy", "--retry-times", "1", "--dest-tls-verify=false",
                    f"oci:{layout}:latest", f"docker://127.0.0.1:{port}/team/app:1")
    assert done.returncode == 1 and done.stdout == b""
    assert done.stderr.splitlines() == [
        f"spyglass: Connecting: cannot reach the registry 127.0.0.1:{port} (connection "
        "refused); asking again (attempt 2 of 2)…",
        f"spyglass: Cannot reach the registry 127.0.0.1:{port}: connection refused."]
    quiet = spyglass("copy", "-q", "--retry-times", "1", "--dest-tls-verify=false",
                     f"oci:{layout}:latest", f"docker://127.0.0.1:{port}/team/app:1")
    assert quiet.error_line() == done.stderr.splitlines()[-1]  # (-q: the failure alone)


@pytest.mark.parametrize("kind", ["docker-archive", "oci"])
def test_a_registry_that_refuses_connections_is_tried_one_round_and_said_once(
        layout: Path, tmp_path: Path, kind: str) -> None:
    """The default 3 retries wait 3.5 to 7 s in all, whatever the source: a docker-archive's
    plain layers, looked for at the destination while the copy was planned, spent one
    round of them on a refused connection and the copy's own check another (11.7 s, and
    nothing said meanwhile). Each retry is said as it begins; the failure once. (The
    seconds are counted past those of the same copy without retries: the program's own
    start takes one or two more on a busy machine.)"""
    import time

    source = f"oci:{layout}:latest"
    if kind == "docker-archive":  # (its layers are plain tars: gzipped for a registry)
        archive = tmp_path / "app.tar"
        made = spyglass("copy", "-q", source, f"docker-archive:{archive}")
        assert made.returncode == 0, made.stderr
        source = f"docker-archive:{archive}"
    host = f"127.0.0.1:{closed_port()}"
    taken: list[float] = []
    for retries in ("0", "3"):  # (3: the default)
        began = time.monotonic()
        done = spyglass("copy", "--retry-times", retries, source, f"docker://{host}/team/app:1")
        taken.append(time.monotonic() - began)
    assert done.returncode == 1 and done.stdout == b""
    assert done.stderr.splitlines() == [
        *(f"spyglass: Connecting: cannot reach the registry {host} (connection refused); "
          f"asking again (attempt {n} of 4)…" for n in (2, 3, 4)),
        f"spyglass: Cannot reach the registry {host}: connection refused."]
    without, retried = taken
    assert without < 3.0 and retried - without < 7.5, taken  # (3.5 to 7 s of backoffs)


def test_a_dry_run_into_a_registry_checks_that_it_may_be_written(
        layout: Path, auth_registry: RegistryServer) -> None:
    """A dry run plans, and asks the registry for an upload (given back at once): wrong
    credentials are found before the real copy would find them."""
    refused = spyglass("copy", "--dry-run", "--dest-creds", f"alice:{WRONG_PASSWORD}",
                       f"oci:{layout}:latest", f"docker://{auth_registry.host}/dry/run:1")
    line = refused.error_line()
    assert "refused the credentials" in line
    planned = spyglass("copy", "--dry-run", "--dest-creds", ALICE_CREDS,
                       f"oci:{layout}:latest", f"docker://{auth_registry.host}/dry/run:1")
    assert planned.returncode == 0, planned.stderr
    with auth_registry.client(ALICE) as client:
        assert client.get("/v2/dry/run/tags/list").status_code == 404  # nothing written


def test_index_only_into_a_registry_needs_the_images_there(
        registry: RegistryServer, layout: Path, tmp_path: Path) -> None:
    base = f"docker://{registry.host}/index-only/app"
    line = spyglass("copy", "--multi-arch", "index-only", f"oci:{layout}:latest",
                    f"{base}:list").error_line()
    assert f"{registry.host}/index-only/app:list does not hold" in line, line
    assert line.endswith("index-only copies the list alone; copy its images with it "
                         "(--multi-arch all).")
    assert served_digest(registry, "index-only/app", "list") is None
    digest = copy("--all", f"oci:{layout}:latest", f"{base}:all",
                  digestfile=tmp_path / "all")
    again = copy("--multi-arch", "index-only", f"oci:{layout}:latest", f"{base}:list",
                 digestfile=tmp_path / "list")
    assert again == digest == served_digest(registry, "index-only/app", "list")


def test_a_dry_run_checks_the_credentials_and_writes_nothing(
    auth_registry: RegistryServer, pushed: str,
) -> None:
    """``--dry-run`` into a repository that holds the image, and into a new one: the
    plan is printed, wrong credentials are refused, and the registry is left as it was
    (no repository made, no upload session left alive)."""
    host = auth_registry.host
    source = f"docker://{host}/it-copy-creds/source:v1"

    def sessions() -> list[Path]:
        root = auth_registry.repository_dir("it-copy-creds")
        return [s for s in root.glob("*/_uploads/*") if (s / "startedat").exists()]

    with auth_registry.client(ALICE) as client:
        before = client.get("/v2/_catalog").json()
    for target in ("source:v1", "dry-run-new:v1"):
        done = spyglass("copy", "--dry-run", "--all", "--src-creds", ALICE_CREDS,
                        "--dest-creds", ALICE_CREDS, source, f"docker://{host}/it-copy-creds/{target}")
        assert done.returncode == 0, done.stderr
        assert done.stdout.decode().startswith(f"Would copy {source} → "), done.stdout
        assert not sessions()
        refused = spyglass("copy", "--dry-run", "--all", "--src-creds", ALICE_CREDS,
                           "--dest-creds", f"alice:{WRONG_PASSWORD}", source,
                           f"docker://{host}/it-copy-creds/{target}")
        assert "refused the credentials" in refused.error_line()
    with auth_registry.client(ALICE) as client:
        assert client.get("/v2/_catalog").json() == before


def test_a_same_host_copy_names_only_the_side_whose_credentials_were_refused(
    token_registry: RegistryServer, layout: Path
) -> None:
    """Both sides on one registry, credentials given for the destination alone (the
    source, public/*, is read anonymously): the refusal names --dest-creds, not
    --src-creds, which was never given."""
    push_image(token_registry, layout, "latest", "public/it-same-host:v1", creds=ALICE)
    wrong = spyglass("copy", "-q", "--retry-times", "0", "--dest-creds",
                     f"alice:{WRONG_PASSWORD}",
                     f"docker://{token_registry.host}/public/it-same-host:v1",
                     f"docker://{token_registry.host}/public/it-same-host:v2").error_line()
    assert 'refused to log in as "alice"' in wrong, wrong
    assert wrong.endswith(" Check the user name and password given with --dest-creds "
                          "USER:PASSWORD."), wrong
    assert "--src-creds" not in wrong, wrong
