"""registries.conf in the window: a file that cannot be used is said in its banner (and
no registry is contacted), and a tag opened from a registry is read where the command
line reads it: from a mirror first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from spyglass.gui.main_window import MainWindow
from tests.gui.conftest import RegistryFacts
from tests.gui.guitools import WAIT_MS, add_registry, wait_repositories, wait_tags

pytestmark = pytest.mark.gui


def test_a_malformed_registries_conf_is_said_in_the_banner(
        qtbot: QtBot, make_window: Callable[..., MainWindow], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "registries.conf"
    conf.write_text('[[registry]]\nlocation = "127.0.0.1:9"\nblocked = true\n[aliases]\n'
                    '"x" = "127.0.0.1:9/team/app\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    monkeypatch.setenv("HOME", str(tmp_path))
    window = make_window()
    assert window.conf_banner.text == (
        f'The registries.conf "{conf}" is malformed: at line 5, column 28: not TOML '
        "(illegal character '\\n'). Until it is fixed, Spyglass contacts no registry, as "
        "podman and skopeo contact none: which ones the files block cannot be known.")
    conf.write_text("")  # fixed: the banner goes as a registry is chosen
    window._tell_registries_conf()
    assert window.conf_banner.isHidden()


def test_a_tag_opened_in_the_window_is_read_from_the_mirror_first(
        qtbot: QtBot, window: MainWindow, demo_registry: RegistryFacts,
        own_registry: RegistryFacts, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    host, mirror = demo_registry.host, own_registry.host
    conf = tmp_path / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{host}"\n'
                    f'[[registry.mirror]]\nlocation = "{mirror}"\n')
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    add_registry(qtbot, window, host, insecure=True)
    wait_repositories(qtbot, window, host)
    model = window.registries.model
    window.registries.tree.expand(model.repository_index(host, "demo/app"))
    wait_tags(qtbot, window, host, "demo/app")
    view = window.image_view
    with qtbot.waitSignal(view.imageShown, timeout=WAIT_MS):
        window.registries.tree.setCurrentIndex(model.tag_index(host, "demo/app", "1.9"))
    assert view.state is not None
    # named as asked for (the copy, the policy and the signatures go by that name); read
    # from the mirror
    assert view.state.entry.name == f"docker://{host}/demo/app:1.9"
    assert view.state.read_from == f"docker://{mirror}/demo/app:1.9"
    assert str(view.state.entry.descriptor.digest) == own_registry.digests["demo/app:1.9"]
