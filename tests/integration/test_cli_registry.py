"""The command line against real registry servers, each command in a subprocess.

``python -m spyglass …`` runs with ``app/`` on ``PYTHONPATH`` and the test
session's sandboxed environment (XDG folders, ``DOCKER_CONFIG``, no keyring);
the login tests give it a real keyring backend instead: keyrings.alt's
``PlaintextKeyring``, whose file lives under ``$XDG_DATA_HOME/python_keyring``
in the test's own folder.

Every run is checked for what a person sees: results on stdout, an error as
one line on stderr with exit status 1, and no password anywhere in either.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import require_tool
from tests.helpers.imagebuild import OCI_INDEX, OCI_MANIFEST, multi_platform_layout, sha256_digest
from tests.helpers.registry import ALICE, RegistryServer, push_image, seed_repos, seed_tags
from tests.helpers.tokenserver import ANONYMOUS, TokenServer

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
WRONG_PASSWORD = "not-the-password-8d1f"
#: What must never show up in any output.
SECRETS = (ALICE[1], WRONG_PASSWORD, "builder")
ALICE_CREDS = f"{ALICE[0]}:{ALICE[1]}"
ACCEPT = {"Accept": ", ".join([OCI_INDEX, OCI_MANIFEST])}


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def json(self) -> object:
        return json.loads(self.stdout)

    def error_line(self) -> str:
        """The one-line error of a failed command (asserted to be exactly one line)."""
        assert self.returncode == 1, self
        assert self.stdout == b"", self
        lines = self.stderr.splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("spyglass: ") and lines[0].endswith("."), lines[0]
        return lines[0]


def spyglass(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    """Run ``python -m spyglass ARGS``; check no secret is printed."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app"), **(env or {})}
    done = subprocess.run(
        [sys.executable, "-m", "spyglass", *args],
        input=stdin.encode() if stdin is not None else None,
        stdin=None if stdin is not None else subprocess.DEVNULL,
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


def ok(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
    """Run ``python -m spyglass ARGS`` and require success."""
    result = spyglass(*args, env=env, stdin=stdin)
    assert result.returncode == 0, f"spyglass {' '.join(args)}:\n{result.stderr}"
    return result


def skopeo_tags(name: str, *args: str) -> list[str]:
    skopeo = require_tool("skopeo")
    done = subprocess.run(
        [skopeo, "list-tags", "--tls-verify=false", *args, name],
        capture_output=True,
        timeout=60,
        check=True,
    )
    return list(json.loads(done.stdout)["Tags"])


def head_digest(server: RegistryServer, repository: str, tag: str) -> str:
    with server.client(ALICE if server.auth_mode != "anonymous" else None) as client:
        response = client.head(f"/v2/{repository}/manifests/{tag}", headers=ACCEPT)
        assert response.status_code == 200
        return str(response.headers["Docker-Content-Digest"])


@dataclass(frozen=True)
class Image:
    server: RegistryServer
    repository: str
    digest: str
    layout: Path

    @property
    def repo_name(self) -> str:
        return f"docker://{self.server.host}/{self.repository}"


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-layout") / "layout"
    multi_platform_layout(root)
    return root


@pytest.fixture(scope="module")
def image(registry: RegistryServer, layout: Path) -> Image:
    """The 3-platform image on the anonymous registry as ``it-cli/app:v1`` and ``:v2``."""
    digest = push_image(registry, layout, "latest", "it-cli/app:v1")
    push_image(registry, layout, "latest", "it-cli/app:v2")
    return Image(registry, "it-cli/app", digest, layout)


@pytest.fixture(scope="module")
def basic_image(auth_registry: RegistryServer, layout: Path) -> Image:
    digest = push_image(auth_registry, layout, "latest", "it-cli/basic:v1", creds=ALICE)
    return Image(auth_registry, "it-cli/basic", digest, layout)


@pytest.fixture(scope="module")
def token_image(token_registry: RegistryServer, layout: Path) -> Image:
    digest = push_image(token_registry, layout, "latest", "private/it-cli:v1", creds=ALICE)
    return Image(token_registry, "private/it-cli", digest, layout)


@pytest.fixture
def keyring_env(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """A real file keyring in this test's folder: (environment, the keyring's file)."""
    pytest.importorskip("keyrings.alt")
    data = tmp_path / "xdg-data"
    data.mkdir()
    env = {
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(data),
    }
    yield env, data / "python_keyring" / "keyring_pass.cfg"


def stored(keyring_file: Path, host: str) -> str | None:
    """What the keyring file holds for Spyglass and ``host``."""
    from keyrings.alt.file import PlaintextKeyring  # type: ignore[import-untyped]

    ring = PlaintextKeyring()
    ring.file_path = str(keyring_file)
    value = ring.get_password("spyglass", host)
    return None if value is None else str(value)


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- the cache


def test_a_home_that_cannot_hold_the_cache_is_neither_made_nor_mentioned(
        image: Image, tmp_path: Path) -> None:
    """The blob-location cache is kept in memory, silently: inspect and tags say nothing
    of it, and a copy within the registry still mounts from its source (the cache knows
    where the source's blobs are from reading its manifest)."""
    missing = tmp_path / "no-such-home"
    blocked = tmp_path / "blocked-home"
    blocked.mkdir()
    (blocked / ".cache").write_text("a file where the cache folder should be")
    name = f"{image.repo_name}:v1"
    for home in (missing, blocked):
        env = {"HOME": str(home), "XDG_CACHE_HOME": ""}
        assert ok("inspect", name, env=env).stderr == ""
        assert ok("tags", image.repo_name, env=env).stderr == ""
        target = f"docker://{image.server.host}/it-cli/{home.name}:v1"
        copied = ok("copy", name, target, env=env).stderr
        assert "cache" not in copied and "Errno" not in copied, copied
        assert "mounted" in copied, copied
    assert not missing.exists()
    assert (blocked / ".cache").is_file()


# --------------------------------------------------------------------------- inspect


def test_inspect_with_and_without_tls_verify(image: Image) -> None:
    name = f"{image.repo_name}:v1"
    flagged = ok("inspect", name, "--tls-verify=false").json
    plain = ok("inspect", name).json  # loopback: plain HTTP without the flag too
    assert flagged == plain
    assert isinstance(plain, dict)
    assert plain["Name"] == f"{image.server.host}/{image.repository}"
    assert plain["Digest"] == image.digest
    assert set(plain["RepoTags"]) == {"v1", "v2"}
    assert plain["Os"] == "linux"
    assert plain["Labels"]["org.opencontainers.image.title"] == "spyglass-test"
    assert len(plain["Layers"]) == 3

    no_tags = ok("inspect", "--no-tags", name).json
    assert isinstance(no_tags, dict) and no_tags["RepoTags"] == []

    # asked for outright, HTTPS is required even on loopback (as skopeo; Docker's
    # plain-HTTP fallback is only the default)
    strict = spyglass("inspect", "--tls-verify=true", name).error_line()
    assert f"The TLS connection to {image.server.host} failed" in strict, strict
    assert "If the registry speaks plain HTTP, allow it to be insecure (--tls-verify=false)." \
        in strict, strict


def test_inspect_an_image_of_a_repository_without_tags(image: Image, layout: Path) -> None:
    # a copy by digest makes a repository of untagged images; distribution answers its tag
    # list NAME_UNKNOWN, yet the image is there: its RepoTags are none
    untagged = f"docker://{image.server.host}/it-cli/untagged@{image.digest}"
    ok("copy", "-q", "--all", f"oci:{layout}:latest", untagged)
    described = ok("inspect", untagged).json
    assert isinstance(described, dict)
    assert described["Digest"] == image.digest and described["RepoTags"] == []
    # its tags: the sentence allows for what it is
    said = spyglass("tags", f"docker://{image.server.host}/it-cli/untagged").error_line()
    assert said.endswith("has no such repository, or its images have no tags (some "
                         "registries answer the same for both)."), said


def test_inspect_raw_is_the_manifest(image: Image) -> None:
    raw = ok("inspect", "--raw", f"{image.repo_name}:v1").stdout
    with image.server.client() as client:
        served = client.get(f"/v2/{image.repository}/manifests/v1", headers=ACCEPT).content
    assert raw == served
    assert sha256_digest(raw) == image.digest
    by_digest = ok("inspect", "--raw", f"{image.repo_name}@{image.digest}").stdout
    assert by_digest == raw


def test_inspect_platform(image: Image) -> None:
    name = f"{image.repo_name}:v1"
    arm64 = ok("inspect", "--platform", "linux/arm64", name).json
    assert isinstance(arm64, dict)
    assert (arm64["Architecture"], arm64.get("Variant"), arm64["Os"]) == ("arm64", "v8", "linux")
    assert arm64["Labels"]["arch"] == "arm64"
    assert arm64["Digest"] == image.digest  # the list's, as skopeo prints it

    index = json.loads(ok("inspect", "--raw", name).stdout)
    arm_v7 = next(m for m in index["manifests"] if m["platform"].get("variant") == "v7")
    raw = ok("inspect", "--raw", "--platform", "linux/arm/v7", name).stdout
    assert sha256_digest(raw) == arm_v7["digest"]


def test_inspect_with_creds_on_htpasswd(basic_image: Image) -> None:
    name = f"{basic_image.repo_name}:v1"
    host = basic_image.server.host
    described = ok("inspect", "--creds", ALICE_CREDS, name).json
    assert isinstance(described, dict)
    assert described["Digest"] == basic_image.digest
    assert described["RepoTags"] == ["v1"]

    missing = spyglass("inspect", name).error_line()
    assert "wants valid credentials" in missing and f"spyglass login {host}" in missing
    wrong = spyglass("inspect", "--creds", f"alice:{WRONG_PASSWORD}", name).error_line()
    assert "refused the credentials given" in wrong
    assert wrong.endswith(
        "Check the user name and password given with --creds USER:PASSWORD."), wrong


def test_a_user_name_with_an_empty_password_at_a_token_registry_says_so(
        token_image: Image, make_token_server: Callable[..., TokenServer],
        make_registry: Callable[..., RegistryServer]) -> None:
    """``--creds alice:`` asks the token server anonymously, as skopeo does: the refusal
    says that, and to give the password (it said to pass --creds USER:PASSWORD, which
    was done)."""
    held = ('The user name "alice" was given with an empty password, and a token server '
            "is asked without credentials then (as skopeo asks it). Give the password too "
            "(--creds USER:PASSWORD).")
    line = spyglass("tags", "--creds", "alice:", token_image.repo_name).error_line()
    assert line.endswith(f"wants valid credentials. {held}"), line
    assert "spyglass login" not in line and "pass --creds" not in line, line
    # a token server that gives no anonymous tokens: the same
    closed = make_registry(token_server=make_token_server(allow_anonymous=False))
    line = spyglass("tags", "--creds", "alice:", f"docker://{closed.host}/team/app"
                    ).error_line()
    assert "refused an anonymous token (HTTP 401)" in line and line.endswith(held), line
    assert 'log in as "alice"' not in line


def test_inspect_with_creds_on_token_auth(token_image: Image) -> None:
    name = f"{token_image.repo_name}:v1"
    host = token_image.server.host
    described = ok("inspect", "--creds", ALICE_CREDS, "--platform", "linux/arm/v7", name).json
    assert isinstance(described, dict)
    assert (described["Digest"], described["Architecture"]) == (token_image.digest, "arm")
    assert described["RepoTags"] == ["v1"]

    anonymous = spyglass("inspect", name).error_line()
    assert f"spyglass login {host}" in anonymous
    wrong = spyglass("inspect", "--creds", f"alice:{WRONG_PASSWORD}", name).error_line()
    assert 'refused to log in as "alice"' in wrong


def test_inspect_with_skopeos_other_credential_flags(
    basic_image: Image, token_image: Image, token_server: TokenServer
) -> None:
    """``--username``/``--password``, ``--registry-token`` and ``--no-creds``, as skopeo
    inspect takes them."""
    by_name = ok("inspect", "--username", ALICE[0], "--password", ALICE[1],
                 f"{basic_image.repo_name}:v1").json
    assert isinstance(by_name, dict) and by_name["Digest"] == basic_image.digest
    # the flags for a password holding a colon: the advice names them, not --creds
    refused_by_name = spyglass("catalog", "--username", ALICE[0], "--password",
                               f"a:{WRONG_PASSWORD}", basic_image.server.host).error_line()
    assert refused_by_name.endswith(
        "Check the user name and password given with --username and --password."), \
        refused_by_name

    token = token_server.issue_token("alice", token_server.grant(
        "alice", [f"repository:{token_image.repository}:pull"]))
    by_token = ok("inspect", "--registry-token", token, f"{token_image.repo_name}:v1").json
    assert isinstance(by_token, dict) and by_token["Digest"] == token_image.digest

    refused = spyglass("inspect", "--no-creds", "--creds", ALICE_CREDS,
                       f"{basic_image.repo_name}:v1").error_line()
    assert "--creds and --no-creds contradict each other" in refused


def test_inspect_with_an_authfile(basic_image: Image, token_image: Image, tmp_path: Path) -> None:
    auth = base64.b64encode(ALICE_CREDS.encode()).decode()
    authfile = tmp_path / "auth.json"
    authfile.write_text(
        json.dumps(
            {
                "auths": {
                    basic_image.server.host: {"auth": auth},
                    f"http://{token_image.server.host}": {"auth": auth},
                }
            }
        )
    )
    for pushed in (basic_image, token_image):
        described = ok("inspect", "--authfile", str(authfile), f"{pushed.repo_name}:v1").json
        assert isinstance(described, dict) and described["Digest"] == pushed.digest
    tags = ok("tags", "--authfile", str(authfile), basic_image.repo_name).json
    assert tags == {
        "Repository": f"{basic_image.server.host}/{basic_image.repository}",
        "Tags": ["v1"],
    }


def test_a_registry_auth_file_that_does_not_exist_is_named(
    basic_image: Image, tmp_path: Path
) -> None:
    """As ``--authfile`` with a file that is not there: read as empty (as skopeo reads
    it), so the hint is the only sign of a wrong path."""
    missing = tmp_path / "nowhere.json"
    hint = (f'The auth file $REGISTRY_AUTH_FILE names, "{missing}", does not exist; while it '
            "is set, no other auth file is read.")
    line = spyglass("inspect", f"{basic_image.repo_name}:v1",
                    env={"REGISTRY_AUTH_FILE": str(missing)}).error_line()
    assert "wants valid credentials" in line and line.endswith(hint), line
    # one that is there says nothing of it, nor does a command line's --authfile
    there = tmp_path / "auth.json"
    there.write_text('{"auths": {}}')
    line = spyglass("inspect", f"{basic_image.repo_name}:v1",
                    env={"REGISTRY_AUTH_FILE": str(there)}).error_line()
    assert "REGISTRY_AUTH_FILE" not in line, line
    line = spyglass("inspect", "--authfile", str(there), f"{basic_image.repo_name}:v1",
                    env={"REGISTRY_AUTH_FILE": str(missing)}).error_line()
    assert "REGISTRY_AUTH_FILE" not in line, line
    assert f'Only the auth file "{there}" was read' in line, line


# --------------------------------------------------------------------------- tags and catalog


def test_tags_agree_with_skopeo(registry: RegistryServer, image: Image, repo_name: str) -> None:
    seeded = seed_tags(registry, repo_name, 30)
    listed = ok("tags", f"docker://{registry.host}/{repo_name}").json
    assert isinstance(listed, dict) and set(listed) == {"Repository", "Tags"}
    assert listed["Repository"] == f"{registry.host}/{repo_name}"
    assert sorted(listed["Tags"]) == seeded
    assert set(listed["Tags"]) == set(skopeo_tags(f"docker://{registry.host}/{repo_name}"))

    ours = ok("tags", image.repo_name).json
    assert isinstance(ours, dict)
    assert set(ours["Tags"]) == set(skopeo_tags(image.repo_name)) == {"v1", "v2"}


def test_tags_one_per_line_for_a_shell_loop(registry: RegistryServer, repo_name: str,
                                            tmp_path: Path) -> None:
    """As catalog has them: a loop needed jq to read the tags."""
    seeded = seed_tags(registry, repo_name, 3)
    listed = spyglass("tags", "--format", "text", f"docker://{registry.host}/{repo_name}")
    assert listed.returncode == 0, listed.stderr
    assert sorted(listed.stdout.decode().splitlines()) == seeded
    from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

    builder = LayoutBuilder(tmp_path / "layout")
    builder.tag(builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"})])), "1.0")
    local = spyglass("tags", "--format", "text", f"oci:{tmp_path / 'layout'}")
    assert (local.returncode, local.stdout) == (0, b"1.0\n")


def test_tags_of_a_repository_a_plain_folder_is_named_after(
    image: Image, tmp_path: Path
) -> None:
    """A folder here with the repository's name (a Dockerfile's, say) but no image in it
    leaves the name a repository's; written as a path, the folder is meant."""
    bare = f"{image.server.host}/{image.repository}"
    (tmp_path / bare).mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    listed = subprocess.run([sys.executable, "-m", "spyglass", "tags", bare], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert listed.returncode == 0, listed.stderr
    assert set(json.loads(listed.stdout)["Tags"]) == {"v1", "v2"}
    as_path = subprocess.run([sys.executable, "-m", "spyglass", "tags", f"./{bare}"],
                             cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=60, check=False)
    assert as_path.returncode == 1 and "is not an image layout" in as_path.stderr
    # a damaged archive by that name is the archive, said damaged: not a repository
    damaged = tmp_path / "app.tar"
    with tarfile.open(damaged, "w") as tar:
        data = b"x" * 4096
        member = tarfile.TarInfo("manifest.json")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    damaged.write_bytes(damaged.read_bytes()[:1000])  # cut inside the member
    cut = subprocess.run([sys.executable, "-m", "spyglass", "tags", "app.tar"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=60, check=False)
    assert cut.returncode == 1 and "docker.io" not in cut.stderr, cut.stderr


def test_tags_with_creds_agree_with_skopeo(basic_image: Image) -> None:
    listed = ok("tags", "--creds", ALICE_CREDS, basic_image.repo_name).json
    assert isinstance(listed, dict)
    assert set(listed["Tags"]) == set(skopeo_tags(basic_image.repo_name, "--creds", ALICE_CREDS))


def test_catalog_text_and_json(fresh_registry: RegistryServer) -> None:
    repos = seed_repos(fresh_registry, 5, prefix="cli/repo-")
    text = ok("catalog", fresh_registry.host).stdout.decode()
    assert text.splitlines() == repos
    assert text.endswith("\n")
    listed = ok("catalog", "--format", "json", fresh_registry.host).json
    assert listed == {"Registry": fresh_registry.host, "Repositories": repos}
    # docker:// as the other commands take it; a repository is not silently dropped
    assert ok("catalog", f"docker://{fresh_registry.host}").stdout.decode() == text
    refused = spyglass("catalog", f"{fresh_registry.host}/cli").error_line()
    assert "names a repository" in refused
    assert f"spyglass tags docker://{fresh_registry.host}/cli" in refused


def test_login_does_not_take_an_authfile(tmp_path: Path) -> None:
    refused = spyglass("login", "--authfile", str(tmp_path / "auth.json"), "-u", "alice",
                       "-p", "x", "127.0.0.1:9").error_line()
    assert "keyring" in refused and "--authfile" in refused
    assert not (tmp_path / "auth.json").exists()
    both = spyglass("login", "--password-stdin", "-u", "alice", "-p", "x", "127.0.0.1:9",
                    stdin="y\n").error_line()
    assert "--password-stdin and --password contradict each other" in both


# --------------------------------------------------------------------------- delete


def test_delete_by_digest_then_inspect_is_not_found(
    registry: RegistryServer, repo_name: str
) -> None:
    seed_tags(registry, repo_name, 1)
    digest = head_digest(registry, repo_name, "tag-00000")
    name = f"docker://{registry.host}/{repo_name}@{digest}"
    assert ok("inspect", name).json["Digest"] == digest  # type: ignore[index]

    deleted = ok("delete", name)
    assert deleted.stdout == b""
    assert f"Deleted {registry.host}/{repo_name}@{digest}." in deleted.stderr

    gone = spyglass("inspect", name).error_line()
    assert "no such image" in gone and digest in gone
    tag_gone = spyglass("inspect", f"docker://{registry.host}/{repo_name}:tag-00000")
    # its only tag went with it: the repository lists none
    assert tag_gone.error_line().endswith(
        f"failed: the registry {registry.host} has no repository {repo_name}, or it has no "
        "tags (some registries answer the same for both).")


def test_a_mistyped_tag_or_repository_is_said_to_be_which(
    registry: RegistryServer, repo_name: str, tmp_path: Path
) -> None:
    """distribution answers MANIFEST_UNKNOWN to a mistyped tag and a mistyped repository
    alike ("has no such image"): inspect, copy and sync each say which, and the tags
    there are, from one listing of them; by digest the registry's sentence stands."""
    seed_tags(registry, repo_name, 3, names=["1.0", "multi", "old"])
    host = registry.host
    wrong_tag = (f"spyglass: Reading the manifest {host}/{repo_name}:2.0 failed: the "
                 f'repository {host}/{repo_name} has no tag "2.0"; its tags are 1.0, multi and '
                 "old.")
    assert spyglass("inspect", f"docker://{host}/{repo_name}:2.0").error_line() == wrong_tag
    assert spyglass("copy", f"docker://{host}/{repo_name}:2.0",
                    f"oci:{tmp_path / 'out'}").error_line() == wrong_tag
    synced = spyglass("sync", "--src", "docker", "--dest", "dir", f"{host}/{repo_name}:2.0",
                      str(tmp_path / "sync"))
    assert synced.returncode == 1
    assert synced.stderr.splitlines()[-1].endswith(wrong_tag.removeprefix("spyglass: ")), \
        synced.stderr
    assert spyglass("inspect", f"docker://{host}/{repo_name}x:1.0").error_line() == (
        f"spyglass: Reading the manifest {host}/{repo_name}x:1.0 failed: the registry {host} "
        f"has no repository {repo_name}x, or it has no tags (some registries answer the same "
        "for both).")
    digest = "sha256:" + "0" * 64
    assert spyglass("inspect", f"docker://{host}/{repo_name}@{digest}").error_line() == (
        f"spyglass: Reading the manifest {host}/{repo_name}@{digest} failed: the registry "
        f"{host} has no such image.")


@pytest.mark.parametrize(("name", "said"), [
    ("dir:some/folder", '"dir:some/folder" is in a dir: folder.'),
    ("oci:layout:tools:2024.1", '"oci:layout:tools:2024.1" is in an OCI layout.'),
    ("oci-archive:image.tar", '"oci-archive:image.tar" is in an OCI archive.'),
    ("docker-archive:image.tar", '"docker-archive:image.tar" is in a docker-archive.'),
])
def test_delete_refuses_what_is_not_in_a_registry(name: str, said: str) -> None:
    line = spyglass("delete", name).error_line()
    assert line == (f"spyglass: delete removes images from registries only; {said} Expected "
                    "docker://HOST/REPOSITORY:TAG or docker://HOST/REPOSITORY@DIGEST.")


def test_delete_takes_no_name_without_its_transport() -> None:
    # as skopeo: "team/app:1.0" is not taken for Docker Hub's image, for a delete least of all
    line = spyglass("delete", "team/app:1.0").error_line()
    assert 'unknown transport "team/app"' in line
    assert "(an image on a registry is written docker://team/app:1.0)" in line
    assert "docker.io" not in line


def test_delete_by_tag_names_the_other_tags(registry: RegistryServer, repo_name: str) -> None:
    seed_tags(registry, repo_name, 2)
    digest = head_digest(registry, repo_name, "tag-00000")
    deleted = ok("delete", f"docker://{registry.host}/{repo_name}:tag-00000")
    notes = deleted.stderr.splitlines()
    assert len(notes) == 2, deleted.stderr
    assert "tag-00001" in notes[0] and digest in notes[0]
    assert "which the tag tag-00001 also points at; that tag goes too." in notes[0]
    assert notes[1] == f"spyglass: Deleted {registry.host}/{repo_name}@{digest}."
    listed = ok("tags", f"docker://{registry.host}/{repo_name}").json
    assert listed == {"Repository": f"{registry.host}/{repo_name}", "Tags": []}


def test_delete_names_a_dozen_other_tags_in_order_and_counts_the_rest(
    registry: RegistryServer, repo_name: str
) -> None:
    seed_tags(registry, repo_name, 14)
    deleted = ok("delete", f"docker://{registry.host}/{repo_name}:tag-00013")
    first = deleted.stderr.splitlines()[0]
    shown = ", ".join(f"tag-{n:05d}" for n in range(10))
    assert f"which the tags {shown} and 3 more also point at; those tags go too." in first


def test_delete_says_it_looks_at_many_tags_first(
    registry: RegistryServer, repo_name: str
) -> None:
    """A request a tag: with hundreds, seconds (a minute on a slow link) of silence."""
    seed_tags(registry, repo_name, 250)
    deleted = ok("delete", f"docker://{registry.host}/{repo_name}:tag-00000")
    first = deleted.stderr.splitlines()[0]
    assert first.startswith(f"spyglass: Looking at the 250 tags of {registry.host}/"
                            f"{repo_name} for what else uses sha256:"), first


def test_delete_names_the_lists_it_would_break(
    registry: RegistryServer, repo_name: str, tmp_path: Path
) -> None:
    layout = tmp_path / "layout"
    index = multi_platform_layout(layout)
    base = f"docker://{registry.host}/{repo_name}"
    ok("copy", "-q", "--all", f"oci:{layout}:latest", f"{base}:multi")
    ok("copy", "-q", "--platform", "linux/arm64", f"oci:{layout}:latest", f"{base}:arm")
    ok("copy", "-q", "--platform", "linux/arm64", f"oci:{layout}:latest", f"{base}:arm2")
    refusal = spyglass("delete", f"{base}:arm")
    refused = refusal.error_line()
    assert f"The list {registry.host}/{repo_name}:multi holds" in refused
    assert "Nothing was deleted" in refused
    assert "--force" in refused
    # the refusal alone: not first a note that the other tag goes too (it does not)
    assert refusal.stderr.strip().splitlines() == [refused], refusal.stderr
    assert ok("inspect", "--raw", f"{base}:arm").stdout  # still there
    deleted = ok("delete", "--force", f"{base}:arm")
    assert "naming a manifest that is gone (--force)" in deleted.stderr, deleted.stderr
    assert index["digest"] not in deleted.stderr.splitlines()[-1]


def _referrers_listed(server: RegistryServer, repository: str, subject: str) -> list[str] | None:
    """The digests the referrers tag index of ``subject`` lists (None: no such tag)."""
    tag = subject.replace(":", "-")
    with server.client() as client:
        got = client.get(f"/v2/{repository}/manifests/{tag}", headers=ACCEPT)
    if got.status_code == 404:
        return None
    assert got.status_code == 200, got.text
    return [entry["digest"] for entry in got.json()["manifests"]]


def test_deleting_a_referrer_takes_it_out_of_its_subjects_referrers_index(
    registry: RegistryServer, repo_name: str, tmp_path: Path
) -> None:
    """distribution 2.8 has no referrers API: the ``sha256-<subject>`` index is the
    client's to keep, and no list of images that a delete must refuse to break. As the
    spec's "Deleting Manifests" asks, the deleted referrer is taken out of it, and the
    index, once it lists nothing, is deleted (before, the delete was refused, and
    --force left the index naming a manifest gone, which made every copy fail)."""
    from tests.helpers.imagebuild import referred_layout

    _builder, image, sbom, scan = referred_layout(tmp_path / "layout")
    base = f"docker://{registry.host}/{repo_name}"
    ok("copy", "-q", f"oci:{tmp_path / 'layout'}:app", f"{base}:v1")
    subject = image["digest"]
    index_tag = subject.replace(":", "-")
    assert sorted(_referrers_listed(registry, repo_name, subject) or []) == sorted(
        [sbom["digest"], scan["digest"]])

    deleted = ok("delete", f"{base}@{sbom['digest']}")
    assert deleted.stderr.splitlines() == [
        f"spyglass: Deleted {registry.host}/{repo_name}@{sbom['digest']}.",
        f"spyglass: {sbom['digest']} was a referrer of {subject}; the index "
        f"{registry.host}/{repo_name}:{index_tag} listing its referrers no longer lists it."]
    assert _referrers_listed(registry, repo_name, subject) == [scan["digest"]]
    # the image copies, with what is still attached to it
    copied = ok("copy", f"{base}:v1", f"oci:{tmp_path / 'copy'}:v1")
    assert "1 other" in copied.stderr, copied.stderr

    last = ok("delete", f"{base}@{scan['digest']}")
    assert last.stderr.splitlines()[-1] == (
        f"spyglass: {scan['digest']} was a referrer of {subject}; the index "
        f"{registry.host}/{repo_name}:{index_tag} listing its referrers listed no other, "
        "and is deleted too.")
    assert _referrers_listed(registry, repo_name, subject) is None
    assert ok("tags", base).json == {"Repository": f"{registry.host}/{repo_name}",
                                     "Tags": ["v1"]}


def test_deleting_a_signed_image_says_which_signature_and_referrer_tags_stay(
    registry: RegistryServer, repo_name: str, tmp_path: Path
) -> None:
    """Its cosign tag and referrers index are not deleted with it (as skopeo): said, with
    how to delete them, where before they stayed unsaid (hidden in the window)."""
    from tests.helpers.cosign import signed_layout

    digest, _key = signed_layout(tmp_path / "layout")
    base = f"docker://{registry.host}/{repo_name}"
    ok("copy", "-q", f"oci:{tmp_path / 'layout'}:app", f"{base}:v1")
    hexdigits = digest.removeprefix("sha256:")
    deleted = ok("delete", f"{base}:v1")
    assert deleted.stderr.splitlines()[-1] == (
        f"spyglass: Its signature and referrer tags sha256-{hexdigits}, sha256-{hexdigits}"
        ".sig stay, naming a manifest that is gone; delete each with spyglass delete "
        f"docker://{registry.host}/{repo_name}:TAG.")
    assert sorted(ok("tags", base).json["Tags"]) == [  # type: ignore[index]
        f"sha256-{hexdigits}", f"sha256-{hexdigits}.sig"]


# --------------------------------------------------------------------------- login and logout


@pytest.mark.parametrize("kind", ["htpasswd", "token"])
def test_login_inspect_logout_with_a_real_keyring(
    kind: str,
    basic_image: Image,
    token_image: Image,
    keyring_env: tuple[dict[str, str], Path],
) -> None:
    env, keyring_file = keyring_env
    pushed = basic_image if kind == "htpasswd" else token_image
    host = pushed.server.host
    name = f"{pushed.repo_name}:v1"

    logged_in = ok(
        "login",
        host,
        "--username",
        "alice",
        "--password-stdin",
        env=env,
        stdin=ALICE[1] + "\n",
    )
    assert f"Logged in to {host}; the credentials are in the keyring backend " \
        "PlaintextKeyring (" in logged_in.stderr
    assert "unencrypted)." in logged_in.stderr
    entry = stored(keyring_file, host)
    assert entry is not None and json.loads(entry)["username"] == "alice"

    described = ok("inspect", name, env=env).json  # no --creds: the keyring's
    assert isinstance(described, dict) and described["Digest"] == pushed.digest

    logged_out = ok("logout", host, env=env)
    assert f"Removed the stored credentials for {host}" in logged_out.stderr
    assert stored(keyring_file, host) is None

    refused = spyglass("inspect", name, env=env).error_line()
    assert f"spyglass login {host}" in refused
    again = spyglass("logout", host, env=env).error_line()
    assert "no stored credentials" in again


def test_a_token_the_window_saved_with_no_user_name_is_presented_as_it_is(
    token_image: Image, token_server: TokenServer, keyring_env: tuple[dict[str, str], Path],
) -> None:
    """The window keeps a token typed with no user name as a keyring entry without one:
    the command line presents it as ``--registry-token`` would (the token server is not
    asked, anonymously, for a token that pulls nothing), and a refusal says it is the
    token saved in the keyring."""
    from keyrings.alt.file import PlaintextKeyring

    env, keyring_file = keyring_env
    host = token_image.server.host
    ring = PlaintextKeyring()
    ring.file_path = str(keyring_file)
    token = token_server.issue_token(
        "alice", token_server.grant("alice", [f"repository:{token_image.repository}:pull"]))
    ring.set_password("spyglass", host, json.dumps({"username": "", "password": token}))
    token_server.clear_log()
    assert ok("tags", token_image.repo_name, env=env).json == {
        "Repository": f"{host}/{token_image.repository}", "Tags": ["v1"]}
    assert token_server.requests == []
    wrong = token[:-4] + "AAAA"
    ring.set_password("spyglass", host, json.dumps({"username": "", "password": wrong}))
    refused = spyglass("tags", token_image.repo_name, env=env)
    assert token not in refused.stderr and wrong not in refused.stderr
    line = refused.error_line()
    assert line.endswith(
        f"the registry {host} refused the Bearer token given. Check the token saved in the "
        f"keyring for {host} (Edit Registry in the window replaces it), or pass "
        "--registry-token TOKEN."), line
    # (refused, it was given up for an anonymous token, which pulls nothing private)
    assert [request.account for request in token_server.requests] == [ANONYMOUS]


def test_a_refused_token_kept_with_no_user_name_leaves_public_repositories_browsable(
    token_registry: RegistryServer, layout: Path, token_server: TokenServer,
    keyring_env: tuple[dict[str, str], Path],
) -> None:
    """A keyring entry with a token and no user name (as the previous version kept a
    token typed alone, which its token server was asked anonymously with) is presented
    as it is, and when the registry refuses it, its token server is asked anonymously as
    before: public repositories stay browsable (they all failed), where
    ``--registry-token`` is refused."""
    from keyrings.alt.file import PlaintextKeyring

    env, keyring_file = keyring_env
    host = token_registry.host
    push_image(token_registry, layout, "latest", "public/it-kept-token:v1", creds=ALICE)
    ring = PlaintextKeyring()
    ring.file_path = str(keyring_file)
    ring.set_password("spyglass", host, json.dumps({"username": "", "password": "my-pat"}))
    assert ok("tags", f"{host}/public/it-kept-token", env=env).json == {
        "Repository": f"{host}/public/it-kept-token", "Tags": ["v1"]}
    refused = spyglass("tags", "--registry-token", "my-pat", f"{host}/public/it-kept-token",
                       env=env)
    assert refused.error_line().endswith(
        f"the registry {host} refused the Bearer token given. Check the token "
        f"(--registry-token), or leave it out and log in with spyglass login {host}."), \
        refused.error_line()


def test_get_login_and_logout_all_as_skopeo_has_them(
    basic_image: Image, token_image: Image, keyring_env: tuple[dict[str, str], Path],
) -> None:
    env, keyring_file = keyring_env
    hosts = [basic_image.server.host, token_image.server.host]
    for host in hosts:
        ok("login", host, "-u", "alice", "--password-stdin", env=env, stdin=ALICE[1] + "\n")
        assert ok("login", "--get-login", host, env=env).stdout == b"alice\n"

    logged_out = ok("logout", "--all", env=env)
    assert logged_out.stderr == (f"spyglass: Removed the stored credentials for 2 "
                                 f"registries: {hosts[0]} and {hosts[1]}.\n")
    assert all(stored(keyring_file, host) is None for host in hosts)
    assert spyglass("login", "--get-login", hosts[0], env=env).error_line() == (
        f"spyglass: Not logged in to {hosts[0]}: no credentials with a user name were found "
        "for it.")
    assert "had no stored credentials" in ok("logout", "-a", env=env).stderr
    for given in (["--all", hosts[0]], []):  # a usage error, as the README says
        wrong = spyglass("logout", *given, env=env)
        assert wrong.returncode == 2
        assert wrong.stderr.splitlines()[-1] == "spyglass: Give a HOST or --all, one of them."
    # the keyring's own list is no registry
    assert spyglass("logout", "spyglass:hosts", env=env).error_line().startswith(
        'spyglass: "spyglass:hosts" is not a registry host')
    # --get-login reads an auth file named (skopeo's does), where a login never writes one
    auth = keyring_file.parent.parent / "auth.json"
    auth.write_text(json.dumps({"auths": {hosts[0]: {"auth": base64.b64encode(
        b"carol:pw").decode()}}}))
    assert ok("login", "--get-login", "--authfile", str(auth), hosts[0],
              env=env).stdout == b"carol\n"


def test_a_login_the_chosen_auth_file_would_overrule_is_not_saved(
    basic_image: Image, keyring_env: tuple[dict[str, str], Path], tmp_path: Path,
) -> None:
    # $REGISTRY_AUTH_FILE comes first: credentials saved behind its entry would never
    # be used, so saying "Logged in" would mislead
    env, keyring_file = keyring_env
    host = basic_image.server.host
    auth = tmp_path / "chosen.json"
    auth.write_text(json.dumps({"auths": {host: {"auth": base64.b64encode(
        f"alice:{WRONG_PASSWORD}".encode()).decode()}}}))
    refused = spyglass("login", host, "-u", "alice", "--password-stdin",
                       env={**env, "REGISTRY_AUTH_FILE": str(auth)}, stdin=ALICE[1] + "\n")
    assert refused.returncode == 1
    assert refused.error_line() == (
        f"spyglass: The credentials for {host} work, but $REGISTRY_AUTH_FILE names {auth}, "
        f"whose entry for {host} comes first, so they were not saved. Log in with skopeo "
        "login (it writes that file), or remove that entry, or unset REGISTRY_AUTH_FILE.")
    assert stored(keyring_file, host) is None


def test_login_without_a_keyring_fails_saying_nothing_was_saved(
        auth_registry: RegistryServer, registry: RegistryServer) -> None:
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    refused = spyglass("login", auth_registry.host, "-u", "alice", "--password-stdin",
                       env=env, stdin=ALICE[1] + "\n")
    assert refused.returncode == 1  # "login && copy" stops here, not at the copy
    assert refused.error_line() == (
        f"spyglass: The credentials for {auth_registry.host} work, but no keyring is "
        "available to keep them: nothing was saved. Pass --creds USER:PASSWORD to each "
        "command, log in with skopeo login or podman login (Spyglass reads the auth.json "
        "they write), or set up a system keyring.")
    anyone = spyglass("login", registry.host, "-u", "alice", "--password-stdin",
                      env=env, stdin="x\n").error_line()
    assert anyone.startswith(f"spyglass: {registry.host} asks for no credentials, so they "
                             "were not checked, but no keyring")
    # and the advice to log in, where no login can be kept, names the way that works
    wanted = spyglass("inspect", f"docker://{auth_registry.host}/team/app:1", env=env)
    assert wanted.error_line().endswith(
        f"Log in with spyglass login {auth_registry.host}, or pass --creds USER:PASSWORD. No "
        "keyring here can keep a spyglass login: log in with skopeo login or podman login "
        "(Spyglass reads the auth.json they write)."), wanted.error_line()


@pytest.fixture
def locked_keyring(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A keyring that is locked (tests.helpers.keyrings.FileKeyring): (environment, its
    file). Unlocked, it holds what a login saved; set SPYGLASS_TEST_KEYRING_LOCKED=0 to
    unlock it."""
    path = tmp_path / "locked-keyring.json"
    env = {
        "PYTHON_KEYRING_BACKEND": "tests.helpers.keyrings.FileKeyring",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "app"), str(REPO_ROOT)]),
        "SPYGLASS_TEST_KEYRING": str(path),
        "SPYGLASS_TEST_KEYRING_LOCKED": "1",
    }
    return env, path


def test_logout_from_a_locked_keyring_fails_saying_nothing_was_removed(
    basic_image: Image, locked_keyring: tuple[dict[str, str], Path]
) -> None:
    """As skopeo logout fails when it cannot remove an entry: never "no stored
    credentials" for what is still stored, nor status 0 for --all."""
    env, path = locked_keyring
    host = basic_image.server.host
    unlocked = {**env, "SPYGLASS_TEST_KEYRING_LOCKED": "0"}
    ok("login", host, "-u", "alice", "--password-stdin", env=unlocked, stdin=ALICE[1] + "\n")
    saved = path.read_text()
    assert host in saved

    one = spyglass("logout", host, env=env).error_line()  # one sentence, not two
    assert one == (f"spyglass: Could not remove the stored credentials for {host}: the "
                   "keyring backend FileKeyring is locked. Unlock it and try again.")
    every = spyglass("logout", "--all", env=env).error_line()
    assert every == ("spyglass: Could not remove the stored credentials: the keyring backend "
                     "FileKeyring is locked. Unlock it and try again.")
    assert path.read_text() == saved
    # the other commands say it too: not "log in", not "no keyring here"
    wanted = spyglass("tags", basic_image.repo_name, env=env).error_line()
    assert wanted.endswith(
        f"the registry {host} wants valid credentials. The keyring backend FileKeyring, where "
        "Spyglass keeps credentials, is locked: unlock it and try again, or pass --creds "
        "USER:PASSWORD."), wanted
    assert spyglass("login", "--get-login", host, env=env).error_line() == (
        f"spyglass: The keyring backend FileKeyring is locked, so the stored credentials for "
        f"{host} could not be read. Unlock it and try again.")
    # unlocked, it goes
    assert ok("logout", "--all", env=unlocked).stderr == (
        f"spyglass: Removed the stored credentials for {host}.\n")


def test_login_with_a_locked_keyring_fails_and_saves_nothing(
    auth_registry: RegistryServer, locked_keyring: tuple[dict[str, str], Path]
) -> None:
    env, path = locked_keyring
    refused = spyglass("login", auth_registry.host, "-u", "alice", "--password-stdin",
                       env=env, stdin=ALICE[1] + "\n")
    assert refused.error_line() == (
        f"spyglass: The credentials for {auth_registry.host} work, but the keyring backend "
        "FileKeyring is locked: nothing was saved. Unlock it and try again.")
    assert not path.exists()


def test_the_cores_warnings_come_as_notes(auth_registry: RegistryServer, tmp_path: Path) -> None:
    """An auth file naming a credential helper that is not installed: the warning is a
    ``spyglass:`` line like every other note, not a bare one."""
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"credsStore": "nosuchhelper"}))
    done = spyglass("inspect", f"docker://{auth_registry.host}/team/app:1",
                    env={"REGISTRY_AUTH_FILE": str(auth)})
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("spyglass: The credential helper docker-credential-nosuchhelper")
    assert all(line.startswith("spyglass: ") for line in lines), done.stderr


def test_login_passes_over_a_plain_file_keyring_nobody_chose(
        auth_registry: RegistryServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """keyring's fallback when no system keyring answers, keyrings.alt's readable
    file, gets no password unless chosen with PYTHON_KEYRING_BACKEND."""
    pytest.importorskip("keyrings.alt")
    data = tmp_path / "xdg-data"
    env = {"XDG_DATA_HOME": str(data), "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
           "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent"}
    environment = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    detected = subprocess.run(
        [sys.executable, "-c", "import keyring; print(type(keyring.get_keyring()).__name__)"],
        env={**environment, **env}, capture_output=True, text=True, timeout=60, check=False)
    if detected.stdout.strip() != "PlaintextKeyring":
        pytest.skip(f"keyring detects {detected.stdout.strip() or detected.stderr} here")
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    refused = spyglass("login", auth_registry.host, "-u", "alice", "--password-stdin",
                       env=env, stdin=ALICE[1] + "\n")
    assert refused.returncode == 1
    keyring_file = data / "python_keyring" / "keyring_pass.cfg"
    assert refused.error_line() == (
        f"spyglass: The credentials for {auth_registry.host} work, but the only keyring is "
        f"the keyring backend PlaintextKeyring ({keyring_file}, unencrypted), which Spyglass "
        "uses only when chosen: nothing was saved. Set up a system keyring, pass --creds "
        "USER:PASSWORD to each command, log in with skopeo login or podman login (Spyglass "
        "reads the auth.json they write), or choose that keyring with "
        "PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring.")
    assert not keyring_file.exists()

    # an earlier Spyglass kept a login there: the same one again leaves it (it worked,
    # and goes on working); another one removes it, and says so
    from keyrings.alt.file import PlaintextKeyring  # type: ignore[import-untyped]

    ring = PlaintextKeyring()
    ring.file_path = str(keyring_file)
    ring.set_password("spyglass", auth_registry.host,
                      json.dumps({"username": ALICE[0], "password": ALICE[1]}))
    again = spyglass("login", auth_registry.host, "-u", "alice", "--password-stdin",
                     env=env, stdin=ALICE[1] + "\n")
    assert again.returncode == 0, again.stderr
    assert again.stderr == (f"spyglass: Logged in to {auth_registry.host}; the credentials are "
                            f"in the keyring backend PlaintextKeyring ({keyring_file}, "
                            "unencrypted).\n")
    ring.set_password("spyglass", auth_registry.host,
                      json.dumps({"username": "bob", "password": "old"}))
    other = spyglass("login", auth_registry.host, "-u", "alice", "--password-stdin",
                     env=env, stdin=ALICE[1] + "\n")
    assert other.returncode == 1
    assert (f"nothing was saved, and the other credentials for {auth_registry.host} that an "
            "earlier Spyglass kept there were removed. ") in other.error_line()
    assert ring.get_password("spyglass", auth_registry.host) is None

    # credentials an earlier login kept there, refused now: the advice to log in again
    # says where a new login would (not) be kept, instead of "no keyring here"
    ring.set_password("spyglass", auth_registry.host,
                      json.dumps({"username": ALICE[0], "password": "changed-since"}))
    refused_now = spyglass("inspect", f"docker://{auth_registry.host}/team/app:1", env=env)
    assert refused_now.returncode == 1
    assert refused_now.error_line().endswith(
        f"A new spyglass login is not kept here: the only keyring is the keyring backend "
        f"PlaintextKeyring ({keyring_file}, unencrypted), which Spyglass uses only when "
        "chosen with PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring; or log in "
        "with skopeo login or podman login (Spyglass reads the auth.json they write)."), (
        refused_now.stderr)


@pytest.mark.parametrize("kind", ["htpasswd", "token"])
def test_login_with_a_wrong_password_stores_nothing(
    kind: str,
    auth_registry: RegistryServer,
    token_registry: RegistryServer,
    keyring_env: tuple[dict[str, str], Path],
) -> None:
    env, keyring_file = keyring_env
    host = (auth_registry if kind == "htpasswd" else token_registry).host
    refused = spyglass(
        "login",
        host,
        "--username",
        "alice",
        "--password-stdin",
        env=env,
        stdin=WRONG_PASSWORD + "\n",
    ).error_line()
    assert host in refused
    assert refused.endswith(" Nothing was saved; check the user name and password.")
    assert "log in again" not in refused  # this is the login
    assert not keyring_file.exists() or stored(keyring_file, host) is None


@pytest.mark.parametrize("password", [WRONG_PASSWORD, ALICE[1]])
def test_login_to_a_verified_tls_registry_with_a_plain_http_token_server_saves_nothing(
    password: str,
    make_token_server: Callable[..., TokenServer],
    make_registry: Callable[..., RegistryServer],
    keyring_env: tuple[dict[str, str], Path],
) -> None:
    """The password is kept from the token server on plain HTTP, so the anonymous token
    that answers /v2/ says nothing of it: right or wrong, login fails and saves
    nothing, saying why."""
    env, keyring_file = keyring_env
    tokens = make_token_server()
    server = make_registry(tls=True, token_server=tokens)
    assert server.cert_dir is not None and tokens.realm.startswith("http://")
    tokens.clear_log()
    refused = spyglass("login", "--cert-dir", str(server.cert_dir), "-u", "alice",
                       "--password-stdin", server.host, env=env,
                       stdin=password + "\n").error_line()
    host = server.host
    assert refused == (
        f"spyglass: The credentials for {host} could not be checked. The password for "
        f"{host} was not sent over plain HTTP: {host} is reached over verified TLS, but "
        f"names the token server {tokens.realm}, which is not https, so it was asked "
        "without credentials; the registry's administrator has to serve it over https. "
        "Nothing was saved."), refused
    assert not keyring_file.exists() or stored(keyring_file, host) is None
    assert all(not r.basic_auth for r in tokens.requests)  # (still never sent)


@pytest.mark.parametrize("kind", ["htpasswd", "token"])
def test_wrong_credentials_from_an_auth_file_name_the_file(
    kind: str, auth_registry: RegistryServer, token_registry: RegistryServer,
    tmp_path: Path,
) -> None:
    host = (auth_registry if kind == "htpasswd" else token_registry).host
    authfile = tmp_path / "auth.json"
    secret = base64.b64encode(f"alice:{WRONG_PASSWORD}".encode()).decode()
    authfile.write_text(json.dumps({"auths": {host: {"auth": secret}}}))
    refused = spyglass("inspect", "--authfile", str(authfile),
                       f"docker://{host}/team/app:1.0").error_line()
    assert refused.endswith(f'Check the entry "{host}" in {authfile}.'), refused
    assert "--creds" not in refused and WRONG_PASSWORD not in refused


# --------------------------------------------------------------------------- unreachable


def test_connection_refused_is_one_sentence() -> None:
    host = f"127.0.0.1:{free_loopback_port()}"
    for args in (
        ("inspect", "--retry-times", "0", f"docker://{host}/team/app:1.0"),
        ("tags", "--retry-times", "0", f"docker://{host}/team/app"),
        ("catalog", "--retry-times", "0", "--creds", f"alice:{WRONG_PASSWORD}", host),
    ):
        line = spyglass(*args).error_line()
        assert line.startswith(f"spyglass: Cannot reach the registry {host}: "), line
        assert "refused" in line.lower()


def test_tls_asked_of_a_plain_http_registry_is_said_without_openssls_codes(
        registry: RegistryServer) -> None:
    line = spyglass("inspect", "--tls-verify=true",
                    f"docker://{registry.host}/team/app:1.0").error_line()
    assert line.startswith(f"spyglass: The TLS connection to {registry.host} failed ("), line
    assert "wrong version number" in line and "If the registry speaks plain HTTP" in line
    assert "[SSL" not in line and "_ssl.c" not in line and "WRONG_VERSION_NUMBER" not in line


def test_login_to_a_registry_that_lets_anyone_in_says_nothing_was_checked(
    registry: RegistryServer, keyring_env: tuple[dict[str, str], Path]
) -> None:
    env, _keyring_file = keyring_env
    done = ok("login", registry.host, "-u", "alice", "--password-stdin", env=env,
              stdin="anything\n")
    assert done.stderr.startswith(f"spyglass: Saved the credentials for {registry.host} in "
                                  "the keyring backend PlaintextKeyring (")
    assert ", unencrypted); the registry asks for none, so they were not checked." \
        in done.stderr
    ok("logout", registry.host, env=env)
    # no password and no terminal: the sentence names login's own flags
    refused = spyglass("login", registry.host, "-u", "alice", env=env).error_line()
    assert "--password-stdin" in refused and "--creds" not in refused


def test_tags_of_a_name_with_a_tag_is_refused() -> None:
    line = spyglass("tags", "docker://127.0.0.1:9/team/tools:2024.1").error_line()
    assert "names one image (2024.1)" in line and "docker://127.0.0.1:9/team/tools." in line


def test_tags_of_a_layout_are_its_ref_names(tmp_path: Path) -> None:
    from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

    builder = LayoutBuilder(tmp_path / "layout")
    image = builder.add_image(ImageSpec(layers=[LayerSpec({"/a": b"a\n"})]))
    builder.tag(image, "1.0")
    builder.tag(image, "team/app:2")
    builder.tag(image, None)  # an entry without a name is not listed
    done = spyglass("tags", f"oci:{tmp_path / 'layout'}")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"Tags": ["1.0", "team/app:2"]}
    refused = spyglass("tags", f"oci:{tmp_path / 'layout'}:1.0")
    assert refused.returncode == 1
    assert refused.stderr.startswith('spyglass: tags lists the names in a layout; "oci:')
    dir_image = spyglass("tags", f"dir:{tmp_path}")
    assert "is a dir: image, which has one image and no names" in dir_image.stderr
    # a bare path that is there is the layout, as inspect takes it: never docker.io/PATH
    for bare in ("layout", "./layout", str(tmp_path / "layout")):
        local = subprocess.run(
            [sys.executable, "-m", "spyglass", "tags", bare], cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")},
            capture_output=True, text=True, timeout=60, check=False)
        assert local.returncode == 0, local.stderr
        assert json.loads(local.stdout) == {"Tags": ["1.0", "team/app:2"]}


def test_a_credential_helpers_refused_credentials_name_it_at_a_token_server_too(
        token_registry: RegistryServer, auth_registry: RegistryServer, tmp_path: Path) -> None:
    """A password or an identity token from ``docker-credential-X`` that the token server
    refuses: the sentence names the helper, as a Basic-auth registry's refusal does (it
    said to check the user name and password of --creds, or to log in again)."""
    helpers = tmp_path / "bin"
    helpers.mkdir()
    for name, username, secret in (("wrongpw", "alice", WRONG_PASSWORD),
                                   ("staletoken", "<token>", "revoked-identity-token")):
        helper = helpers / f"docker-credential-{name}"
        helper.write_text(
            f'#!/bin/sh\n[ "$1" = get ] || exit 2\nread -r url\n'
            f"echo '{{\"ServerURL\":\"x\",\"Username\":\"{username}\",\"Secret\":"
            f"\"{secret}\"}}'\n")
        helper.chmod(0o700)
    env = {"PATH": os.pathsep.join([str(helpers), os.environ.get("PATH", "")])}
    authfile = tmp_path / "auth.json"

    def refusal(host: str, helper: str) -> str:
        authfile.write_text(json.dumps({"credHelpers": {host: helper}}))
        return spyglass("tags", "--authfile", str(authfile), f"docker://{host}/team/app",
                        env=env).error_line()

    for server in (token_registry, auth_registry):
        line = refusal(server.host, "wrongpw")
        assert line.endswith(
            f" Check the credentials the helper docker-credential-wrongpw gives for "
            f"{server.host} (the credHelpers or credsStore of the auth file names it), or "
            "pass --creds USER:PASSWORD."), line
        assert "user name and password" not in line, line
    stale = refusal(token_registry.host, "staletoken")
    assert "no longer accepts the stored identity token (invalid_grant)" in stale, stale
    assert "the helper docker-credential-staletoken gives for" in stale, stale
    assert "revoked-identity-token" not in stale


def test_an_auth_files_refused_identity_token_points_at_that_file(
        token_registry: RegistryServer, tmp_path: Path) -> None:
    # spyglass login changes nothing in an auth.json named with --authfile: it was the
    # advice, where a wrong password from the file was told to check its entry
    host = token_registry.host
    authfile = tmp_path / "auth.json"
    authfile.write_text(json.dumps({"auths": {host: {"identitytoken": "revoked-or-unknown"}}}))
    line = spyglass("inspect", "--raw", "--authfile", str(authfile), "--tls-verify=false",
                    f"docker://{host}/private/app:1").error_line()
    assert "no longer accepts the stored identity token (invalid_grant)" in line
    assert f'Log in again with the tool that wrote the entry "{host}" in {authfile}' in line
    assert "spyglass login" not in line


def test_the_test_helper_seeds_a_token_registry_by_mounts(
        token_registry: RegistryServer, repo_name: str) -> None:
    """seed_repos mounts the seed image's blobs into each repository after the first: the
    challenge for a mount names two scopes, which the helper sent as one scope= value
    (the token server answered 400)."""
    from tests.helpers.registry import seed_repos

    repos = seed_repos(token_registry, 3, prefix=f"private/{repo_name}-", creds=ALICE)
    assert len(repos) == 3
    done = spyglass("tags", "--creds", "alice:wonderland",
                    f"docker://{token_registry.host}/{repos[2]}")
    assert done.returncode == 0 and b"latest" in done.stdout, done.stderr
