"""containers/image lookaside signature stores (``registries.d``): simple signing
signatures of a registry image, read from a ``file://`` store and from a web server on
loopback, decoded, verified with gpg, and carried into ``dir:`` by a copy."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from spyglass.core.digest import Digest
from spyglass.core.signatures import Kind, Status
from spyglass.core.signatures.attached import find_attachments, read_attachment, verify_part
from spyglass.core.transports import open_source
from spyglass.core.transports.registry import RegistryOptions
from spyglass.core.transports.registry.lookaside import (
    LookasideConfigError,
    NotASignature,
    lookaside_url,
    signature_url,
)
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder
from tests.helpers.pgp import ThrowawayGpg, atomic_payload
from tests.helpers.registry import RegistryServer, push_image

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO = "it-lookaside/app"


@pytest.fixture(scope="module")
def gpg() -> Iterator[ThrowawayGpg]:
    with ThrowawayGpg() as keys:
        yield keys


@pytest.fixture(scope="module")
def image(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    layout = tmp_path_factory.mktemp("lookaside") / "layout"
    builder = LayoutBuilder(layout)
    descriptor = builder.add_image(ImageSpec(layers=[LayerSpec({"/hello": b"hi\n"})]))
    builder.tag({k: v for k, v in descriptor.items() if k != "platform"}, "v1")
    return push_image(registry, layout, "v1", f"{REPO}:v1")


def _store(root: Path, base: str, digest: str, signatures: list[bytes]) -> None:
    for number, blob in enumerate(signatures, 1):
        url = signature_url(base, REPO, Digest.parse(digest), number)
        path = root / url.removeprefix(base).lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)


def _config(folder: Path, host: str, base: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "default.yaml").write_text("default-docker:\n  lookaside: file:///nowhere\n")
    (folder / "spyglass.yaml").write_text(f"docker:\n  {host}/{REPO}:\n    lookaside: {base}\n")
    return folder


def _web_server(store: Path) -> http.server.ThreadingHTTPServer:
    """A quiet web server on loopback serving the files under ``store``, started."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(store), **kwargs)  # type: ignore[arg-type]

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_namespaces_choose_the_most_specific_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    folder = tmp_path / "registries.d"
    folder.mkdir()
    (folder / "a.yaml").write_text(
        "default-docker:\n  sigstore: https://default.example/sigs\n"
        "docker:\n  reg.example/team:\n    lookaside: https://team.example/sigs\n"
    )
    (folder / "b.yaml").write_text("docker:\n  reg.example:\n    lookaside: file:///srv/reg\n")
    assert lookaside_url("reg.example", "team/app", folder) == "https://team.example/sigs"
    assert lookaside_url("reg.example", "other/app", folder) == "file:///srv/reg"
    assert lookaside_url("elsewhere.example", "app", folder) == "https://default.example/sigs"
    # nothing configured: containers/image's built-in store, by effective user
    assert lookaside_url("reg.example", "team/app", tmp_path / "missing") == (
        f"file://{tmp_path}/home/.local/share/containers/sigstore")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert lookaside_url("reg.example", "team/app", tmp_path / "missing") == (
        "file:///var/lib/containers/sigstore")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    # a namespace that names no store leaves the choice to its parents, then the default
    (folder / "d.yaml").write_text("docker:\n  reg.example/team/app:\n"
                                   "    use-sigstore-attachments: true\n")
    assert lookaside_url("reg.example", "team/app", folder) == "https://team.example/sigs"
    (folder / "c.yaml").write_text("default-docker:\n  lookaside: https://again\n")
    with pytest.raises(LookasideConfigError, match='defines "default-docker" again'):
        lookaside_url("reg.example", "team/app", folder)
    (folder / "c.yaml").write_text("docker: [not, a, mapping]\n")
    with pytest.raises(LookasideConfigError, match=r"c\.yaml"):
        lookaside_url("reg.example", "team/app", folder)


@pytest.mark.parametrize(("text", "said"), [
    ("docker:\n  reg.example:\n\tlookaside: file:///x\n",  # a tab
     " at line 3, column 1: found character '\\t' that cannot start any token."),
    ("docker:\n  reg.example: {lookaside: file:///x\n",
     " at line 3, column 1: expected ',' or '}', but got '<stream end>' (parsing a flow "
     "mapping begun at line 2, column 16)."),
])
def test_a_registries_d_yaml_mistake_names_the_line_column_and_problem(
        tmp_path: Path, text: str, said: str) -> None:
    """It said "cannot be read as YAML: while scanning for the next token." (PyYAML's
    context alone: neither where nor what), where the sync file's own mistakes say both."""
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(LookasideConfigError) as caught:
        lookaside_url("reg.example", "team/app", tmp_path)
    assert str(caught.value) == (
        f'The registries.d file "{tmp_path / "bad.yaml"}" is not valid YAML{said}')


def test_file_store_signatures_are_found_decoded_and_verified(
    registry: RegistryServer, image: str, gpg: ThrowawayGpg, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    base = f"file://{store}"
    good = gpg.sign(atomic_payload(f"{registry.host}/{REPO}:v1", image))
    other = gpg.sign(atomic_payload(f"{registry.host}/{REPO}:v1", "sha256:" + "0" * 64))
    _store(store, base, image, [good, other])
    folder = _config(tmp_path / "registries.d", registry.host, base)
    source = open_source(f"docker://{registry.host}/{REPO}:v1",
                         RegistryOptions(tls_verify=False, registries_d=folder))
    digest = Digest.parse(image)
    found = find_attachments(source, digest)
    assert [a.found for a in found] == ["signature-1", "signature-2"]
    parts = [read_attachment(source, a).parts[0] for a in found]
    assert all(p.kind is Kind.SIMPLE_SIGNING for p in parts)
    assert parts[0].decoded is not None and parts[0].decoded.names_image(digest) is True
    keyring = gpg.export_public(tmp_path / "keyring.gpg")
    assert verify_part(parts[0], digest, keyring=keyring).status is Status.VERIFIED
    assert verify_part(parts[1], digest, keyring=keyring).status is Status.WRONG_IMAGE

    # a copy into dir: keeps them as signature-N; into a registry it is refused up front
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    base_cmd = [sys.executable, "-m", "spyglass", "copy", "--src-tls-verify=false",
                "--dest-tls-verify=false", "--registries.d", str(folder)]
    target = tmp_path / "dir"
    done = subprocess.run([*base_cmd, f"docker://{registry.host}/{REPO}:v1", f"dir:{target}"],
                          capture_output=True, env=env, timeout=120, check=False, text=True)
    assert done.returncode == 0, done.stderr
    assert (target / "signature-1").read_bytes() == good
    assert (target / "signature-2").read_bytes() == other
    done = subprocess.run([*base_cmd, f"docker://{registry.host}/{REPO}:v1",
                           f"docker://{registry.host}/{REPO}-copy:v1"],
                          capture_output=True, env=env, timeout=120, check=False, text=True)
    assert done.returncode != 0 and "--remove-signatures" in done.stderr
    # why: a registry keeps them in a lookaside store, which Spyglass only reads
    assert "a lookaside store (a web or file server that registries.d names), and Spyglass " \
        "reads those but writes none" in done.stderr, done.stderr


def test_web_store_on_loopback(
    registry: RegistryServer, image: str, gpg: ThrowawayGpg, tmp_path: Path
) -> None:
    store = tmp_path / "web"
    signature = gpg.sign(atomic_payload(f"{registry.host}/{REPO}:v1", image))

    server = _web_server(store)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/sigs"
        _store(store / "sigs", base, image, [signature])
        folder = _config(tmp_path / "registries.d", registry.host, base)
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
        keyring = gpg.export_public(tmp_path / "keyring.gpg")
        done = subprocess.run(
            [sys.executable, "-m", "spyglass", "signatures", "--tls-verify=false",
             "--registries.d", str(folder), "--keyring", str(keyring),
             f"docker://{registry.host}/{REPO}:v1"],
            capture_output=True, env=env, timeout=60, check=False,
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        (attached,) = report["Manifests"][0]["Attached"]
        assert attached["Kind"] == "simple signing signature"
        assert attached["Parts"][0]["Verification"]["Status"] == "verified"
    finally:
        server.shutdown()
        server.server_close()


def test_web_store_through_the_environments_proxy(
    registry: RegistryServer, image: str, gpg: ThrowawayGpg, tmp_path: Path
) -> None:
    """A store named by a host only the proxy knows is read through it, as registries
    are (HTTP_PROXY, Go's rules); the registry itself, on loopback, is reached
    directly."""
    from tests.helpers.proxy import TestProxy

    store = tmp_path / "web"
    signature = gpg.sign(atomic_payload(f"{registry.host}/{REPO}:v1", image))

    server = _web_server(store)
    port = server.server_address[1]
    try:
        with TestProxy({"sigstore.spyglass.test": "127.0.0.1"}) as proxy:
            base = f"http://sigstore.spyglass.test:{port}/sigs"
            _store(store / "sigs", base, image, [signature])
            folder = _config(tmp_path / "registries.d", registry.host, base)
            env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app"),
                   "HTTP_PROXY": proxy.url()}
            env.pop("NO_PROXY", None)
            env.pop("no_proxy", None)
            done = subprocess.run(
                [sys.executable, "-m", "spyglass", "signatures", "--tls-verify=false",
                 "--registries.d", str(folder), f"docker://{registry.host}/{REPO}:v1"],
                capture_output=True, env=env, timeout=60, check=False,
            )
            assert done.returncode == 0, done.stderr
            (attached,) = json.loads(done.stdout)["Manifests"][0]["Attached"]
            assert attached["Kind"] == "simple signing signature"
            targets = [seen.target for seen in proxy.seen]
            assert targets and all(t.startswith(f"http://sigstore.spyglass.test:{port}/sigs/")
                                   for t in targets), targets
        # a store on loopback is reached directly, whatever proxy is named (as Go does;
        # httpx's own reading of the variables would send it to the proxy, here dead)
        base = f"http://127.0.0.1:{port}/sigs"
        _store(store / "sigs", base, image, [signature])
        folder = _config(tmp_path / "loopback.d", registry.host, base)
        env["HTTP_PROXY"] = "http://127.0.0.1:9"
        done = subprocess.run(
            [sys.executable, "-m", "spyglass", "signatures", "--tls-verify=false",
             "--registries.d", str(folder), f"docker://{registry.host}/{REPO}:v1"],
            capture_output=True, env=env, timeout=60, check=False,
        )
        assert done.returncode == 0, done.stderr
        (attached,) = json.loads(done.stdout)["Manifests"][0]["Attached"]
        assert attached["Kind"] == "simple signing signature"
    finally:
        server.shutdown()
        server.server_close()


def test_a_file_store_whose_name_is_not_utf8_is_read_as_its_bytes(
    registry: RegistryServer, image: str, gpg: ThrowawayGpg, tmp_path: Path
) -> None:
    """``file:///…/caf%E9`` (Latin-1, as containers/image reads it: bytes) was read as
    UTF-8, "caf\\ufffd", and its signatures were not found."""
    store = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9"))
    base = f"file://{tmp_path}/caf%E9"
    signature = gpg.sign(atomic_payload(f"{registry.host}/{REPO}:v1", image))
    _store(store, base, image, [signature])
    folder = _config(tmp_path / "registries.d", registry.host, base)
    source = open_source(f"docker://{registry.host}/{REPO}:v1",
                         RegistryOptions(tls_verify=False, registries_d=folder))
    found = find_attachments(source, Digest.parse(image))
    assert [a.found for a in found] == ["signature-1"]
    assert read_attachment(source, found[0]).parts[0].kind is Kind.SIMPLE_SIGNING


def test_a_signature_replayed_from_another_repository_is_not_accepted(
    registry: RegistryServer, image: str, gpg: ThrowawayGpg, tmp_path: Path
) -> None:
    """The same manifest under another repository, with the signature made for the first
    (a replayed signature): skopeo's policy (signedBy, default signedIdentity) says
    "Signature for identity …/it-lookaside/app:v1 is not accepted"; spyglass signatures
    said "verified", exit 0, and the refusal of a copy advised checking with it."""
    layout = tmp_path / "layout"
    builder = LayoutBuilder(layout)
    descriptor = builder.add_image(ImageSpec(layers=[LayerSpec({"/hello": b"hi\n"})]))
    builder.tag({k: v for k, v in descriptor.items() if k != "platform"}, "v1")
    moved = "it-lookaside/moved"
    assert push_image(registry, layout, "v1", f"{moved}:v1") == image
    signed_for = f"{registry.host}/{REPO}:v1"
    store = tmp_path / "store"
    base = f"file://{store}"
    url = signature_url(base, moved, Digest.parse(image), 1)
    path = store / url.removeprefix(base).lstrip("/")
    path.parent.mkdir(parents=True)
    path.write_bytes(gpg.sign(atomic_payload(signed_for, image)))
    folder = tmp_path / "registries.d"
    folder.mkdir()
    (folder / "default.yaml").write_text(f"default-docker:\n  lookaside: {base}\n")
    keyring = gpg.export_public(tmp_path / "keyring.gpg")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    for name, accepted in ((f"{registry.host}/{moved}:v1", False),
                           (f"{registry.host}/{moved}@{image}", False),
                           (signed_for, True), (f"{registry.host}/{REPO}@{image}", True)):
        if accepted:  # the same signature in the first repository's store
            url = signature_url(base, REPO, Digest.parse(image), 1)
            mine = store / url.removeprefix(base).lstrip("/")
            mine.parent.mkdir(parents=True, exist_ok=True)
            mine.write_bytes(path.read_bytes())
        done = subprocess.run(
            [sys.executable, "-m", "spyglass", "signatures", "--tls-verify=false",
             "--registries.d", str(folder), "--keyring", str(keyring), f"docker://{name}"],
            capture_output=True, env=env, timeout=60, check=False, text=True,
        )
        part = json.loads(done.stdout)["Manifests"][0]["Attached"][0]["Parts"][0]
        if accepted:
            assert done.returncode == 0, done.stderr
            assert part["Verification"]["Status"] == "verified"
            assert part["NamesThisImage"] is True
            continue
        assert done.returncode == 1, done.stderr
        assert part["Verification"]["Status"] == "wrong image"
        assert part["NamesThisImage"] is False
        detail = part["Verification"]["Detail"]
        assert detail.startswith(
            f'The signature is good, but it is not accepted for this image: it names '
            f'"{signed_for}", and this image is "{name}'), detail
        assert "matchRepoDigestOrExact" in detail
        assert done.stderr.strip() == (
            f"spyglass: No signature of docker://{name} verifies with the keyring "
            f'"{keyring}"; its signatures: wrong image (1).')


def test_containers_images_built_in_store_is_read_and_carried(
    registry: RegistryServer, image: str, gpg: ThrowawayGpg, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no registries.d entry, skopeo copy --sign-by writes into
    ~/.local/share/containers/sigstore (/var/lib/containers/sigstore for root), and
    skopeo copy reads from there; Spyglass read nothing, so its copy dropped the
    signature without a word, and spyglass signatures listed none."""
    from spyglass.cli import main

    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    empty = tmp_path / "registries.d"
    empty.mkdir()
    signature = gpg.sign(atomic_payload(f"{registry.host}/{REPO}:v1", image))
    store = home / ".local" / "share" / "containers" / "sigstore"
    _store(store, store.as_uri(), image, [signature])
    source = open_source(f"docker://{registry.host}/{REPO}:v1",
                         RegistryOptions(tls_verify=False, registries_d=empty))
    assert source.stored_signatures(Digest.parse(image)) == [signature]
    target = tmp_path / "dir"
    code = main(["copy", "-q", "--src-tls-verify=false", "--registries.d", str(empty),
                 f"docker://{registry.host}/{REPO}:v1", f"dir:{target}"])
    assert code == 0, capsys.readouterr().err
    assert (target / "signature-1").read_bytes() == signature


def _login_page_server() -> http.server.ThreadingHTTPServer:
    """A web server on loopback answering 200 with a login page for every path (a
    misrouted proxy, a single-page app's fallback), started."""

    class LoginPage(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body>Please log in\x1b[2J</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), LoginPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_web_page_answered_for_every_signature_is_refused(
    registry: RegistryServer, image: str, tmp_path: Path
) -> None:
    """A lookaside URL whose server answers 200 with a web page for every path: each page
    was taken for a simple signing signature, so a copy into dir: wrote 256 of them
    beside the image ("Along with the image: 256 simple signing signatures", exit 0).
    skopeo fails the copy ("unrecognized signature format, starting with binary 0x3c");
    so does Spyglass now, with a sentence naming the URL, what it answered, and the
    registries.d file to fix."""
    server = _login_page_server()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/sigs"
        folder = _config(tmp_path / "registries.d", registry.host, base)
        url = signature_url(base, REPO, Digest.parse(image), 1)
        expected = (
            f"The lookaside store answered {url} with something that is not a signature, "
            'starting with "<html><body>Please log in\\x1b[2J</body></ht…": it is neither '
            "an OpenPGP message nor a zero byte and a format name (containers/image's two "
            f'forms); check the lookaside URL in "{folder / "spyglass.yaml"}".')
        source = open_source(f"docker://{registry.host}/{REPO}:v1",
                             RegistryOptions(tls_verify=False, registries_d=folder))
        with pytest.raises(NotASignature) as refused:
            source.stored_signatures(Digest.parse(image))
        assert str(refused.value) == expected
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
        target = tmp_path / "dir"
        done = subprocess.run(
            [sys.executable, "-m", "spyglass", "copy", "--src-tls-verify=false",
             "--registries.d", str(folder), f"docker://{registry.host}/{REPO}:v1",
             f"dir:{target}"],
            capture_output=True, env=env, timeout=120, check=False, text=True)
        assert done.returncode == 1, done.stderr
        assert expected in done.stderr, done.stderr
        assert "\x1b" not in done.stderr  # the escape is shown, not sent to the terminal
        assert not target.exists()
    finally:
        server.shutdown()
        server.server_close()


def test_a_file_in_a_file_store_that_is_no_signature_is_refused(
    registry: RegistryServer, image: str, gpg: ThrowawayGpg, tmp_path: Path
) -> None:
    """A file store's signature-2 of arbitrary bytes was "1 simple signing signature" more;
    containers/image's own forms (an OpenPGP message, a zero byte and a format name) are
    read as before."""
    store = tmp_path / "store"
    base = f"file://{store}"
    good = gpg.sign(atomic_payload(f"{registry.host}/{REPO}:v1", image))
    sigstore = b'\0sigstore-json\n{"mimeType":"x","payload":"","annotations":{}}'
    _store(store, base, image, [good, sigstore, b"not a signature\n"])
    folder = _config(tmp_path / "registries.d", registry.host, base)
    source = open_source(f"docker://{registry.host}/{REPO}:v1",
                         RegistryOptions(tls_verify=False, registries_d=folder))
    digest = Digest.parse(image)
    third = store / signature_url(base, REPO, digest, 3).removeprefix(base).lstrip("/")
    with pytest.raises(NotASignature) as refused:
        source.stored_signatures(digest)
    assert str(refused.value) == (
        f'The lookaside store holds the file "{third}" with something that is not a '
        'signature, starting with "not a signature\\x0a": it is neither an OpenPGP message '
        "nor a zero byte and a format name (containers/image's two forms); check the "
        f'lookaside URL in "{folder / "spyglass.yaml"}".')
    third.write_bytes(b"")
    with pytest.raises(NotASignature, match=r'with nothing: it is empty;'):
        source.stored_signatures(digest)
    third.unlink()
    assert source.stored_signatures(digest) == [good, sigstore]


def test_a_stray_file_in_the_built_in_store_is_refused_naming_that_store(
    registry: RegistryServer, image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No registries.d file names the built-in store: the sentence says it is that one."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    empty = tmp_path / "registries.d"
    empty.mkdir()
    store = home / ".local" / "share" / "containers" / "sigstore"
    _store(store, store.as_uri(), image, [b"\0simple signing\n"])
    source = open_source(f"docker://{registry.host}/{REPO}:v1",
                         RegistryOptions(tls_verify=False, registries_d=empty))
    with pytest.raises(NotASignature) as refused:
        source.stored_signatures(Digest.parse(image))
    assert str(refused.value).endswith(
        'starting with "\\x00simple signing\\x0a": its format "simple signing" is neither '
        '"simple-signing" nor "sigstore-json"; no '
        "registries.d file names a store for this repository, so it is containers/image's "
        "built-in one."), str(refused.value)
