"""The benchmark scripts' own logic (what they build, how they title their tables); the
measuring itself is for ``make bench``."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def bench_copy(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """benchmarks/bench_copy.py as a module, taken out of sys.modules and sys.path after."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec = importlib.util.spec_from_file_location("bench_copy", BENCHMARKS / "bench_copy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_copy", module)  # (its dataclasses look it up)
    had_common = "common" in sys.modules
    spec.loader.exec_module(module)
    yield module
    if not had_common:
        sys.modules.pop("common", None)


class Stop(Exception):
    """Raised where the benchmark would start its registries."""


def _builds_for(bench_copy: ModuleType, args: list[str], tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> list[str]:
    built: list[str] = []

    def build_layout(root: Path, platforms: object, layers: int, layer_size: int) -> Path:
        built.append(root.name)
        return root

    def registry(**_kwargs: object) -> None:
        raise Stop

    monkeypatch.setattr(bench_copy, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(bench_copy, "find_registry_binary", lambda: "/usr/bin/docker-registry")
    monkeypatch.setattr(bench_copy, "find_tool", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(bench_copy, "build_layout", build_layout)
    monkeypatch.setattr(bench_copy, "RegistryServer", registry)
    with pytest.raises(Stop):
        bench_copy.main(args)
    return built


def test_only_builds_the_image_its_scenarios_copy(bench_copy: ModuleType, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """--only 6 (the 80 MiB image) built the 512 MiB one too, and seeded the registry
    with it: 12 s and 600 MB of cache for a run of a few seconds."""
    assert _builds_for(bench_copy, ["--only", "6", "--skip-rss"], tmp_path, monkeypatch) == [
        "copy-2x10x4MiB"]
    assert _builds_for(bench_copy, ["--only", "2", "--only", "3"], tmp_path, monkeypatch) == [
        "copy-2x8x32MiB", "copy-1x1x1GiB"]
    assert _builds_for(bench_copy, ["--skip-rss"], tmp_path, monkeypatch) == [
        "copy-2x8x32MiB", "copy-2x10x4MiB"]


def test_only_is_one_of_the_scenarios(bench_copy: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bench_copy, "find_registry_binary", lambda: None)  # nothing to run
    with pytest.raises(SystemExit) as info:
        bench_copy.main(["--only", "9"])
    assert info.value.code == 2
    assert "--only: invalid choice: '9'" in capsys.readouterr().err


def test_the_table_names_the_image_measured(bench_copy: ModuleType) -> None:
    title = bench_copy.table_title
    needed = bench_copy.images_needed
    chosen = bench_copy.chosen_scenarios
    assert title(needed(chosen(["6"]))) == (
        "Copying typical image: 2 platforms x 10 layers x 4 MiB = 80 MiB (gzip -1 of random "
        "data), distribution 2.8 on /dev/shm")
    assert title(needed(chosen(["1"]))).startswith(
        "Copying 2 platforms x 8 layers x 32 MiB = 512 MiB (gzip")
    assert title(needed(chosen([]))).startswith(
        "Copying 2 platforms x 8 layers x 32 MiB = 512 MiB; typical image: 2 platforms x 10 "
        "layers x 4 MiB = 80 MiB (gzip")


QT_NOTES_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
from common import gui_sandbox
gui_sandbox()
from PySide6.QtCore import qWarning
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication([])
window = QWidget()
window.show()
window.setMinimumSize(120, 80)  # (the offscreen platform: "does not support ...")
app.processEvents()
qWarning("a message of another kind")
"""


def test_the_gui_benchmarks_keep_the_offscreen_platforms_notes_out(tmp_path: Path) -> None:
    """``make bench`` had 23 lines of "This plugin does not support propagateSizeHints()"
    among its tables; Qt's other messages still come through."""
    pytest.importorskip("PySide6")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "SPYGLASS_BENCH_CACHE": str(tmp_path / "cache")}
    result = subprocess.run([sys.executable, "-c", QT_NOTES_SCRIPT, str(BENCHMARKS)],
                            env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "propagateSizeHints" not in result.stderr
    assert "a message of another kind" in result.stderr
