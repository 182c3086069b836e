"""Fixtures for driving the real window: a MainWindow with its own settings file and
credential store, what the bundled sample layout holds (read straight from its files to
check against), and real registries (Debian's docker-registry, images pushed with skopeo)
for the registry side of the window."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring.backends.fail
import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from spyglass.core.credentials.store import CredentialStore
from spyglass.core.settings import Settings
from spyglass.gui import transfers
from spyglass.gui.main_window import MainWindow
from tests.gui.guitools import SampleFacts, SampleImage, read_blob, show_image
from tests.gui.scripted import ScriptedCopy
from tests.helpers import require_tool
from tests.helpers.imagebuild import ImageSpec, LayerSpec, LayoutBuilder, multi_platform_layout
from tests.helpers.registry import REGISTRY_BINARIES, RegistryServer, push_image


@pytest.fixture(scope="session", autouse=True)
def _clipboard_emptied_at_the_end(qapp: QApplication) -> Iterator[None]:
    """Qt's offscreen platform crashes the interpreter at its exit (SIGSEGV, pytest's
    status 139 once every test has passed) while the clipboard holds data the window
    put there (an image copied, a path with its URL): emptied once the tests are done.
    (The window itself ends with os._exit, and the X11 platform does not crash.)"""
    yield
    qapp.clipboard().clear()


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """A registry nobody answers is asked again after a backoff of seconds (3.5 to 7 in
    all, by default): the window's tests wait a hundredth of it (the client's seam)."""
    from spyglass.core.retry import backoff
    from spyglass.core.transports.registry.endpoint import RegistryEndpoint

    monkeypatch.setattr(RegistryEndpoint, "_backoff",
                        staticmethod(lambda attempt: backoff(attempt) / 100))


@pytest.fixture(scope="session")
def sample(sample_layout: Path) -> SampleFacts:
    top = json.loads((sample_layout / "index.json").read_bytes())
    by_ref = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in top["manifests"]}
    index_digest = by_ref["spyglass-demo:1.0"]["digest"]
    index = read_blob(sample_layout, index_digest)
    images = {}
    for entry in index["manifests"]:
        p = entry["platform"]
        name = "/".join(filter(None, [p["os"], p["architecture"], p.get("variant")]))
        manifest = read_blob(sample_layout, entry["digest"])
        images[name] = SampleImage(name, entry["digest"], manifest,
                                   read_blob(sample_layout, manifest["config"]["digest"]))
    return SampleFacts(sample_layout, index_digest, index, images,
                       by_ref["tools:2024.1"]["digest"])


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    """The windows' settings file, in a folder that is there (as ``~/.config/spyglass``
    would be made in a home folder that is there)."""
    (tmp_path / "config").mkdir()
    return tmp_path / "config" / "settings.json"


def store_environ(root: Path) -> dict[str, str]:
    """An environment for a CredentialStore that reads no auth file of the session's."""
    environ = {"HOME": str(root / "home"), "XDG_RUNTIME_DIR": str(root / "run"),
               "XDG_CONFIG_HOME": str(root / "config"), "DOCKER_CONFIG": str(root / "docker"),
               "PATH": "/usr/bin:/bin"}
    for key in ("HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "DOCKER_CONFIG"):
        Path(environ[key]).mkdir(parents=True, exist_ok=True)
    return environ


@pytest.fixture
def store(tmp_path: Path) -> CredentialStore:
    """A credential store with no keyring (the fail backend): saved secrets last a session."""
    return CredentialStore(keyring_backend=keyring.backends.fail.Keyring(),
                           environ=store_environ(tmp_path / "store"))


@pytest.fixture
def make_window(qtbot: QtBot, settings_file: Path,
                store: CredentialStore) -> Iterator[Callable[..., MainWindow]]:
    """Build MainWindows that are shown, closed at the end, and checked to stop their threads.

    Each gets ``store`` unless given ``credentials=``, and saves to ``settings_file``
    unless given ``settings_file=``.
    """
    windows: list[MainWindow] = []

    def make(settings: Settings | None = None, **kwargs: Any) -> MainWindow:
        kwargs.setdefault("credentials", store)
        kwargs.setdefault("settings_file", settings_file)
        window = MainWindow(settings or Settings(first_run_done=True), **kwargs)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        assert window.runner.closed
        for thread in window.runner.findChildren(QThread):
            assert thread.isFinished(), f"{thread.objectName()} still runs after close"


@pytest.fixture
def window(make_window: Callable[..., MainWindow]) -> MainWindow:
    return make_window()


@pytest.fixture
def demo(qtbot: QtBot, window: MainWindow, sample: SampleFacts) -> MainWindow:
    """The window with the sample layout open and its list image shown."""
    window.open_location(sample.layout, select=False)
    show_image(qtbot, window, "spyglass-demo:1.0")
    return window


@pytest.fixture
def big_font(qapp: QApplication) -> Iterator[None]:
    """The application's font at 16 pt (a large-text setting), the one before restored."""
    before = QApplication.font()
    font = QApplication.font()
    font.setPointSizeF(16.0)
    QApplication.setFont(font)
    yield
    QApplication.setFont(before)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> ScriptedCopy:
    """The window's copy job replaced by a script the test drives (see tests/gui/scripted.py)."""
    script = ScriptedCopy()
    monkeypatch.setattr(transfers, "run_copy", script)
    return script


# -- registries


@dataclass(frozen=True)
class RegistryFacts:
    """A started registry and what was pushed to it.

    ``digests`` maps ``repo:tag`` to the digest skopeo reported.
    """

    server: RegistryServer
    digests: dict[str, str]

    @property
    def host(self) -> str:
        return self.server.host


DEMO_TAGS = ("1.10", "latest", "1.9", "1.2")
"""What ``demo/app`` holds: 1.10 and latest are one image (the sample's list), 1.9 a
single-platform image, 1.2 another three-platform list."""


def fill_registry(server: RegistryServer, sample_layout: Path, work: Path,
                  creds: tuple[str, str] | None = None) -> dict[str, str]:
    """Push the demo images (see :data:`DEMO_TAGS`) and ``other/tools:v1``."""
    other = work / "other-layout"
    if not other.exists():
        multi_platform_layout(other)
        builder = LayoutBuilder(other)
        builder.tag(builder.add_image(ImageSpec(
            layers=[LayerSpec({"/usr/bin/tool": b"#!/bin/sh\necho tool\n"})],
            cmd=["/usr/bin/tool"])), "single")
    pushes = [
        (sample_layout, "spyglass-demo:1.0", "demo/app:1.10"),
        (sample_layout, "spyglass-demo:1.0", "demo/app:latest"),
        (other, "single", "demo/app:1.9"),
        (other, "latest", "demo/app:1.2"),
        (other, "single", "other/tools:v1"),
    ]
    return {target: push_image(server, layout, ref, target, creds=creds)
            for layout, ref, target in pushes}


@pytest.fixture(scope="session")
def registry_binary() -> str:
    """The registry server; skips (naming how to get it) when it is missing."""
    return require_tool(*REGISTRY_BINARIES)


@pytest.fixture(scope="session")
def _gui_servers() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def demo_registry(_gui_servers: contextlib.ExitStack, registry_binary: str,
                  sample_layout: Path, tmp_path_factory: pytest.TempPathFactory
                  ) -> RegistryFacts:
    """An anonymous plain-HTTP registry with the demo images; shared: do not change it."""
    require_tool("skopeo")
    server = _gui_servers.enter_context(RegistryServer(binary=registry_binary))
    digests = fill_registry(server, sample_layout, tmp_path_factory.mktemp("demo-registry"))
    return RegistryFacts(server, digests)


@pytest.fixture
def own_registry(registry_binary: str, sample_layout: Path,
                 tmp_path: Path) -> Iterator[RegistryFacts]:
    """A registry with the demo images for this test only (to delete from)."""
    require_tool("skopeo")
    with RegistryServer(binary=registry_binary) as server:
        yield RegistryFacts(server, fill_registry(server, sample_layout, tmp_path))


@pytest.fixture(scope="session")
def alice_registry(_gui_servers: contextlib.ExitStack, registry_binary: str,
                   sample_layout: Path, tmp_path_factory: pytest.TempPathFactory
                   ) -> RegistryFacts:
    """A registry with htpasswd Basic auth for alice/wonderland, holding the demo images."""
    require_tool("skopeo")
    server = _gui_servers.enter_context(
        RegistryServer(binary=registry_binary, htpasswd={"alice": "wonderland"}))
    digests = fill_registry(server, sample_layout, tmp_path_factory.mktemp("alice-registry"),
                            creds=("alice", "wonderland"))
    return RegistryFacts(server, digests)
