"""Take screenshots of the real window on the sample layout, for the README and for review.

Run under a virtual X server (or any display)::

    xvfb-run -s "-screen 0 1400x900x24" python tests/gui/screenshot.py

It writes ``resources/screenshots/main-window.png`` (the multi-platform demo
image, Layers tab, second layer selected) and, next to it,
``main-window-overview.png``, ``-platforms``, ``-history``, ``-raw-json``, ``-signatures``,
``-files`` (the file listing of a layer), ``-empty`` (nothing open) and
``-error`` (a folder that does not exist), ``transfers.png`` (the Transfers
panel: a finished copy, a failed one and one still running) and
``copy-dialog.png`` (the Copy dialog for a pasted registry reference).

Then the registry side: it starts a local registry (Debian's docker-registry),
pushes the sample image and a few others under several tags with skopeo, adds
the registry through the Add Registry dialog and writes ``registry.png`` (a
repository's tags: natural order, digests, the tags of one image marked),
``registry-add.png`` (the dialog after "Test Connection"),
``registry-repositories.png`` (the registry's page), ``registry-image.png``
(a tag opened) and ``registry-signatures.png`` (the Signatures tab of a signed
image, its signature verified; the tags of that image wear a "signed" pill and the
``.sig`` tag is hidden in ``registry.png``). Without docker-registry or skopeo these
are skipped, saying so.

Without a display, ``--out DIR`` keeps the shots out of the tree (for review).

Settings go to a temporary folder and no keyring is used: the user's own are
never read or written.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
for _path in (REPO_ROOT / "app", REPO_ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

_SANDBOX = tempfile.mkdtemp(prefix="spyglass-screenshot-")
os.environ["XDG_CONFIG_HOME"] = _SANDBOX
os.environ["XDG_CACHE_HOME"] = _SANDBOX

import keyring.backends.fail  # noqa: E402
from PySide6.QtGui import QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from spyglass.core.credentials.store import CredentialStore  # noqa: E402
from spyglass.core.settings import Settings  # noqa: E402
from spyglass.gui.app import create_application  # noqa: E402
from spyglass.gui.main_window import MainWindow  # noqa: E402
from spyglass.gui.views.image_view import (  # noqa: E402
    HISTORY,
    LAYERS,
    OVERVIEW,
    PLATFORMS,
    RAW,
    SIGNATURES,
)
from spyglass.gui.window_locations import sample_layout_path  # noqa: E402

SIZE = (1200, 760)


def wait_until(app: QApplication, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the window")
        app.processEvents()
        time.sleep(0.01)


def settle(app: QApplication, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def save(pixmap: QPixmap, target: Path) -> None:
    if not pixmap.save(str(target)):
        raise SystemExit(f"could not write {target}")
    print(f"wrote {target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "resources" / "screenshots")
    parser.add_argument("--layout", type=Path, default=sample_layout_path())
    parser.add_argument("--image", default="spyglass-demo:1.0")
    parser.add_argument("--platform", default="", help="select this row of Platforms first, "
                        "e.g. linux/arm64/v8")
    parser.add_argument("--size", default="", help="the window's WIDTHxHEIGHT (for review: "
                        "a narrow window); the README's shots are 1200x760")
    args = parser.parse_args(argv)
    if args.size:
        global SIZE
        width, _, height = args.size.partition("x")
        SIZE = (int(width), int(height))

    app = create_application([sys.argv[0]])
    window = MainWindow(Settings(first_run_done=True),
                        settings_file=Path(_SANDBOX) / "settings.json",
                        credentials=CredentialStore(
                            keyring_backend=keyring.backends.fail.Keyring()))
    window.resize(*SIZE)
    window.show()
    args.out.mkdir(parents=True, exist_ok=True)
    settle(app)
    save(window.grab(), args.out / "main-window-empty.png")
    window.open_location(args.layout, select=False)
    wait_until(app, lambda: window.places.find_image(args.image).isValid())
    window.tree.setCurrentIndex(window.places.find_image(args.image))
    view = window.image_view
    wait_until(app, lambda: view.state is not None and view.state.entry.label == args.image)
    if args.platform:
        model = view.platforms.model
        row = next(i for i, s in enumerate(model.rows)
                   if str(s.descriptor.platform) == args.platform)
        before = view.state.image if view.state else None
        view.platforms.table.selectRow(row)
        wait_until(app, lambda: view.state is not None and view.state.image is not before)

    view.layers.table.selectRow(1)
    shots = [
        (LAYERS, "main-window.png"),
        (OVERVIEW, "main-window-overview.png"),
        (PLATFORMS, "main-window-platforms.png"),
        (HISTORY, "main-window-history.png"),
        (RAW, "main-window-raw-json.png"),
    ]
    for tab, name in shots:
        view.tabs.setCurrentIndex(tab)
        settle(app)
        save(window.grab(), args.out / name)

    view.tabs.setCurrentIndex(SIGNATURES)
    wait_until(app, lambda: view.signatures.attachments is not None
               or bool(view.signatures.error_text))
    settle(app)
    save(window.grab(), args.out / "main-window-signatures.png")

    view.tabs.setCurrentIndex(LAYERS)
    row = view.layers.model.rows[1]
    view.open_layer_files(row.descriptor, number=row.number)
    dialog = view.file_dialogs[-1]
    wait_until(app, lambda: dialog.model.rowCount() > 0)
    settle(app)
    save(dialog.grab(), args.out / "main-window-files.png")
    dialog.close()

    missing = Path(_SANDBOX) / "layouts" / "nightly-build"
    window.open_location(missing)
    wait_until(app, lambda: bool(view.error_text))
    settle(app)
    save(window.grab(), args.out / "main-window-error.png")
    window.close()
    settle(app, 0.1)
    transfers_shot(app, args)
    return registry_shots(app, args)


# -- copying


def transfers_shot(app: QApplication, args: argparse.Namespace) -> None:
    """``transfers.png``: the Transfers panel with two finished copies (one with a note:
    its uncompressed layers were gzipped), a failed one (selected: its sentence shows
    above the rows) and a running one."""
    import json

    from spyglass.core.copy import CopyOptions
    from spyglass.gui.copy_jobs import CopyRequest
    from spyglass.gui.transfers import TransferState
    from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder

    work = Path(_SANDBOX) / "copies"
    work.mkdir()
    big = work / "big-image"
    builder = LayoutBuilder(big)
    builder.tag(builder.add_image(ImageSpec(layers=[
        LayerSpec({f"/data/part-{i}": os.urandom(16 * 1024 * 1024)}, compression="none")
        for i in range(8)])), "nightly")
    builder.tag(builder.add_image(ImageSpec(layers=[
        LayerSpec({"/etc/motd": b"hello\n"}, compression="none")])), "plain")
    window = MainWindow(Settings(first_run_done=True),
                        settings_file=Path(_SANDBOX) / "settings-copy.json",
                        credentials=CredentialStore(
                            keyring_backend=keyring.backends.fail.Keyring()))
    window.resize(*SIZE)
    window.show()
    mirror = work / "mirror"
    window.open_location(args.layout, select=False)
    wait_until(app, lambda: window.places.find_image(args.image).isValid())
    window.tree.setCurrentIndex(window.places.find_image(args.image))
    wait_until(app, lambda: window.image_view.state is not None)
    copying = window.copying
    done = copying.start(CopyRequest(f"oci:{args.layout}:{args.image}",
                                     f"oci:{mirror}:{args.image}",
                                     CopyOptions(multi_arch="all"), args.image))
    wait_until(app, lambda: done.state.finished)
    wait_until(app, lambda: window.places.find_image(args.image, 1).isValid())
    noted = copying.start(CopyRequest(f"oci:{big}:plain", f"oci:{mirror}:plain",
                                      CopyOptions(), "plain"))
    wait_until(app, lambda: noted.state.finished)
    readonly = work / "read-only.txt"
    readonly.write_text(json.dumps({"not": "a layout"}))
    failed = copying.start(CopyRequest(f"oci:{args.layout}:tools:2024.1",
                                       f"oci:{readonly}:tools", CopyOptions(), "tools:2024.1"))
    wait_until(app, lambda: failed.state.finished)
    # a running copy: 128 MiB gzipped at level 9 (slow whatever the machine), caught
    # part way
    running = copying.start(CopyRequest(f"oci:{big}:nightly",
                                        f"oci:{work / 'nightly'}:nightly",
                                        CopyOptions(parallel=1, compression="gzip",
                                                    compression_level=9), "nightly"))
    wait_until(app, lambda: running.state is TransferState.COPYING
               and (running.fraction or 0) > 0.15, timeout=60)
    copying.panel.select(failed)  # its sentence, whole, above the rows
    settle(app, 0.3)
    save(window.grab(), args.out / "transfers.png")
    from tests.helpers.registry import free_port

    # a registry reference pasted, taken as docker://: on loopback, at a port nothing
    # listens on (a name of the internet was looked up in DNS, and asked for its tag)
    dialog = copying.open_dialog(copying.current_image(),
                                 destination=f"localhost:{free_port()}/team/demo:1.0")
    wait_until(app, lambda: dialog.copy_button.isEnabled())
    settle(app, 0.3)
    save(dialog.grab(), args.out / "copy-dialog.png")
    dialog.close()
    window.close()
    settle(app, 0.1)


# -- the registry side

DEMO_REPOSITORY = "spyglass/demo"


def _fill_registry(server: object, layouts: Path, sample: Path) -> object:
    """Push the sample's list and a few other images under tags that show the natural
    order (1.9 < 1.10) and aliases (2.0, latest and stable are one image), and sign the
    sample's list the cosign way (a ``sha256-<hex>.sig`` tag) and attest it; return the
    key it was signed with."""
    from tests.helpers.imagebuild import (
        ImageSpec,
        LayerSpec,
        LayoutBuilder,
        multi_platform_layout,
    )
    from tests.helpers.registry import push_image

    other = layouts / "other"
    multi_platform_layout(other)
    builder = LayoutBuilder(other)
    for version in ("1.0", "1.2", "1.9", "2.0-rc1"):
        builder.tag(builder.add_image(ImageSpec(
            layers=[LayerSpec({"/etc/demo-version": f"{version}\n".encode()},
                              created_by=f"COPY demo-{version} /etc/")],
            labels={"org.opencontainers.image.version": version},
            cmd=["/bin/demo"])), version)
    pushes = [(other, v, f"{DEMO_REPOSITORY}:{v}") for v in ("1.0", "1.2", "1.9", "2.0-rc1")]
    pushes += [(other, "latest", f"{DEMO_REPOSITORY}:{v}") for v in ("1.10", "1.10.1")]
    pushes += [(sample, "spyglass-demo:1.0", f"{DEMO_REPOSITORY}:{v}")
               for v in ("2.0", "latest", "stable")]
    pushes += [(other, "1.0", "spyglass/tools:2024.1"), (other, "1.2", "team/api:v3"),
               (other, "1.9", "team/api:v3.1"), (other, "latest", "team/web:main")]
    digests = {target: push_image(server, layout, ref, target)  # type: ignore[arg-type]
               for layout, ref, target in pushes}
    return _sign(server, digests[f"{DEMO_REPOSITORY}:2.0"])


def _sign(server: object, digest: str) -> object:
    from tests.helpers import cosign
    from tests.helpers.registry import push_artifact

    key = cosign.generate_key("ecdsa-p256")
    reference = f"{server.host}/{DEMO_REPOSITORY}"  # type: ignore[attr-defined]
    payload = cosign.simple_signing_payload(reference, digest,
                                            optional={"pipeline": "release"})
    content, annotations = cosign.signature_layer(payload, key)
    manifest, blobs = cosign.cosign_manifest(
        [(content, cosign.SIMPLESIGNING_MEDIA_TYPE, annotations)])
    push_artifact(server, DEMO_REPOSITORY, manifest, blobs,  # type: ignore[arg-type]
                  cosign.cosign_tag(digest, "sig"))
    statement = cosign.in_toto_statement(
        [(reference, digest)], "https://slsa.dev/provenance/v0.2",
        {"builder": {"id": "https://ci.example.com/release"}})
    manifest, blobs = cosign.cosign_manifest([(
        cosign.dsse_envelope(statement, key), "application/vnd.dsse.envelope.v1+json",
        {"predicateType": "https://slsa.dev/provenance/v0.2"})])
    push_artifact(server, DEMO_REPOSITORY, manifest, blobs,  # type: ignore[arg-type]
                  cosign.cosign_tag(digest, "att"))
    return key


def registry_shots(app: QApplication, args: argparse.Namespace) -> int:
    import shutil

    from spyglass.gui.models.registry_rows import DIGEST_ROLE

    binary = shutil.which("docker-registry") or shutil.which("registry")
    if binary is None or shutil.which("skopeo") is None:
        print("skipping the registry screenshots: they need docker-registry and skopeo")
        return 0
    from tests.helpers.registry import RegistryServer

    work = Path(_SANDBOX) / "registry-images"
    work.mkdir()
    with RegistryServer(binary=binary) as server:
        key = _fill_registry(server, work, args.layout)
        window = MainWindow(Settings(first_run_done=True),
                            settings_file=Path(_SANDBOX) / "settings-registry.json",
                            credentials=CredentialStore(
                                keyring_backend=keyring.backends.fail.Keyring()))
        window.resize(*SIZE)
        window.show()
        window.open_location(args.layout, select=False)
        settle(app)
        registries = window.registries
        dialog = registries.add_registry()
        dialog.host_edit.setText(f"http://{server.host}")
        dialog.insecure_box.setChecked(True)
        dialog.test()
        wait_until(app, lambda: bool(dialog.result_text))
        settle(app)
        save(dialog.grab(), args.out / "registry-add.png")
        dialog.accept()
        model = registries.model
        wait_until(app, lambda: model.repository_index(server.host, DEMO_REPOSITORY).isValid())
        settle(app)
        save(window.grab(), args.out / "registry-repositories.png")

        repo = model.repository_index(server.host, DEMO_REPOSITORY)
        registries.tree.setCurrentIndex(repo)
        registries.tree.expand(repo)
        page = registries.repository_page
        wait_until(app, lambda: page.proxy.rowCount(page.table.rootIndex()) == 9)
        wait_until(app, lambda: all(
            model.tag_index(server.host, DEMO_REPOSITORY, tag).data(DIGEST_ROLE)
            for tag in page.tag_texts()))
        page.select_tag(model.tag_index(server.host, DEMO_REPOSITORY, "latest"))
        page.table.setFocus()
        settle(app, 0.5)
        save(window.grab(), args.out / "registry.png")

        view = window.image_view
        registries.tree.setCurrentIndex(model.tag_index(server.host, DEMO_REPOSITORY, "2.0"))
        wait_until(app, lambda: view.state is not None)
        view.tabs.setCurrentIndex(PLATFORMS)
        settle(app)
        save(window.grab(), args.out / "registry-image.png")

        signatures_shot(app, args, window, key)
        window.close()
        settle(app, 0.1)
    return 0


def signatures_shot(app: QApplication, args: argparse.Namespace, window: MainWindow,
                    key: object) -> None:
    """``registry-signatures.png``: the Signatures tab, the signature verified with its key."""
    from PySide6.QtWidgets import QFileDialog

    from spyglass.core.signatures.model import Kind
    from tests.helpers import cosign

    page = window.image_view.signatures
    window.image_view.tabs.setCurrentIndex(SIGNATURES)
    wait_until(app, lambda: page.attachments is not None, timeout=30)
    row = next(a for a in page.model.attachment_rows()
               if a.content.kind is Kind.COSIGN_SIGNATURE)
    page.select(row)
    key_file = Path(_SANDBOX) / "cosign.pub"
    key_file.write_bytes(cosign.public_key_pem(key))  # type: ignore[arg-type]
    QFileDialog.getOpenFileName = staticmethod(  # type: ignore[method-assign]
        lambda *_args, **_kwargs: (str(key_file), ""))
    page.verify()
    wait_until(app, lambda: page.badge.text() != "not checked", timeout=30)
    settle(app, 0.5)
    save(window.grab(), args.out / "registry-signatures.png")


if __name__ == "__main__":
    sys.exit(main())
