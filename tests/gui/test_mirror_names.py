"""A registry's tag read in the window through a registries.conf mirror is named by the
registry the user chose, not by the mirror: its copies are checked against the policy's
scope for that registry, and its signatures against that name, as skopeo and
``spyglass signatures`` check them (containers/image evaluates the logical reference)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from spyglass.core.signatures.model import Kind, Status
from spyglass.gui.copy_drops import DraggedImage
from spyglass.gui.main_window import MainWindow
from tests.gui.guitools import WAIT_MS, add_registry, select_platform, wait_tags
from tests.gui.test_signatures import (
    attachment,
    choose_file,  # noqa: F401 (a fixture)
    open_signatures,
    verify_with,
)
from tests.helpers import cosign, require_tool
from tests.helpers.registry import RegistryServer, push_artifact, push_image

pytestmark = pytest.mark.gui

REPO = "team/signed"


@dataclass(frozen=True)
class Mirrored:
    primary: str
    """The host the window is given (P)."""
    mirror: str
    """P's registries.conf mirror (M), holding the same image and signature."""
    digest: str
    key: cosign.PrivateKey


@pytest.fixture(scope="module")
def mirrored(registry_binary: str, sample_layout: Path) -> Iterator[Mirrored]:
    """Two registries, P and M, each with ``team/signed:v1`` (the sample's list) and its
    cosign signature, whose payload names ``P/team/signed:v1``, as a true mirror holds."""
    require_tool("skopeo")
    key = cosign.generate_key("ecdsa-p256")
    with contextlib.ExitStack() as stack:
        primary, mirror = (stack.enter_context(RegistryServer(binary=registry_binary))
                           for _ in range(2))
        payload = b""
        digest = ""
        for server in (primary, mirror):
            digest = push_image(server, sample_layout, "spyglass-demo:1.0", f"{REPO}:v1")
            payload = payload or cosign.simple_signing_payload(
                f"{primary.host}/{REPO}:v1", digest)
            content, annotations = cosign.signature_layer(payload, key)
            manifest, blobs = cosign.cosign_manifest(
                [(content, cosign.SIMPLESIGNING_MEDIA_TYPE, annotations)])
            push_artifact(server, REPO, manifest, blobs, cosign.cosign_tag(digest, "sig"))
        yield Mirrored(primary.host, mirror.host, digest, key)


def show_through_mirror(qtbot: QtBot, window: MainWindow, mirrored: Mirrored,
                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """P's ``team/signed:v1`` shown, with a registries.conf that sends reads to M first."""
    conf = tmp_path / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{mirrored.primary}"\ninsecure = true\n'
                    f'[[registry.mirror]]\nlocation = "{mirrored.mirror}"\ninsecure = true\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    host = mirrored.primary
    add_registry(qtbot, window, host, insecure=True)
    model = window.registries.model
    repo = model.open_repository(model.registry_index(host), REPO)
    window.registries.tree.expand(repo)
    wait_tags(qtbot, window, host, REPO)
    view = window.image_view
    with qtbot.waitSignal(view.imageShown, timeout=WAIT_MS * 2):
        window.registries.tree.setCurrentIndex(model.tag_index(host, REPO, "v1"))
    state = view.state
    assert state is not None
    # named as the user asked for it; read from the mirror, which the Overview says
    assert state.entry.name == f"docker://{host}/{REPO}:v1"
    assert state.read_from == f"docker://{mirrored.mirror}/{REPO}:v1"
    assert view.overview.field_text("Read from") == state.read_from


def policy_rejecting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str) -> Path:
    """The user's policy.json: anything accepted, but for the docker scope ``host``."""
    policy = tmp_path / "home" / ".config" / "containers" / "policy.json"
    policy.parent.mkdir(parents=True)
    policy.write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}],
                                  "transports": {"docker": {host: [{"type": "reject"}]}}}))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return policy


def refused_copy(qtbot: QtBot, window: MainWindow, image: DraggedImage | None,
                 out: Path) -> str:
    """Copy ``image`` to the layout ``out`` from the dialog: the sentence it is refused with
    (the test fails, on the dialog's refusal not coming, where it is copied)."""
    assert image is not None
    dialog = window.copying.open_dialog(image, destination=f"oci:{out}:demo")
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.refused, timeout=WAIT_MS) as refused:
        qtbot.mouseClick(dialog.copy_button, Qt.MouseButton.LeftButton)
    dialog.reject()
    assert window.copying.manager.transfers == []
    assert not out.exists()
    return str(refused.args[0])


def refusal(policy: Path, host: str) -> str:
    """What the command line says of ``docker://HOST/team/signed:v1`` under the policy
    of :func:`policy_rejecting`."""
    return (f'The policy "{policy}" rejects docker://{host}/{REPO}:v1: its requirements for '
            f'the docker scope "{host}" include reject, so it is not copied. To copy it, '
            "change the policy.")


def test_a_policy_rejecting_the_registry_refuses_the_header_s_copy_read_through_a_mirror(
        qtbot: QtBot, window: MainWindow, mirrored: Mirrored, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The window named the image by the mirror, whose scope (the default here) the
    policy accepts: the image header's drag (and Copy To… with no row chosen) copied
    what the policy rejects, where the command line refuses."""
    policy = policy_rejecting(tmp_path, monkeypatch, mirrored.primary)
    show_through_mirror(qtbot, window, mirrored, tmp_path, monkeypatch)
    said = refused_copy(qtbot, window, window.copying.shown_image(), tmp_path / "out")
    assert said == refusal(policy, mirrored.primary)


def test_a_policy_rejecting_the_registry_refuses_a_platform_s_copy_read_through_a_mirror(
        qtbot: QtBot, window: MainWindow, mirrored: Mirrored, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same through a Platforms row (its drag, Ctrl+C, and Copy To… with the
    keyboard there): one platform of the image the policy rejects was copied."""
    policy = policy_rejecting(tmp_path, monkeypatch, mirrored.primary)
    show_through_mirror(qtbot, window, mirrored, tmp_path, monkeypatch)
    select_platform(qtbot, window, "linux/arm64/v8")
    table = window.image_view.platforms.table
    image = window.copying._platform_image(table.currentIndex())
    assert image is not None and image.platform == "linux/arm64/v8"
    said = refused_copy(qtbot, window, image, tmp_path / "out")
    assert said == refusal(policy, mirrored.primary)


def test_a_signature_naming_the_registry_verifies_an_image_read_through_its_mirror(
        qtbot: QtBot, window: MainWindow, mirrored: Mirrored, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        choose_file: Callable[[Path], list[str]]) -> None:  # noqa: F811
    """A good signature naming ``P/team/signed:v1``, read from M: the window said "wrong
    image" (the image being M's, to it), where ``spyglass signatures`` says verified."""
    show_through_mirror(qtbot, window, mirrored, tmp_path, monkeypatch)
    sigs = open_signatures(qtbot, window)
    sigs.select(attachment(sigs, Kind.COSIGN_SIGNATURE))
    assert dict(sigs.detail_rows)["Names this image"] == "yes"
    key_file = tmp_path / "cosign.pub"
    key_file.write_bytes(cosign.public_key_pem(mirrored.key))
    verify_with(qtbot, sigs, choose_file, key_file)
    assert sigs.badge.status is Status.VERIFIED, sigs.verdict.text()
    assert f"{mirrored.primary}/{REPO}:v1" in sigs.verdict.toolTip()
