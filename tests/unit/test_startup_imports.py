"""A command loads only what it uses: a copy between local places never imports
httpx and the registry transport (a third of the start-up time of a small copy);
building the parser, which every command does, imports none of the sync and copy-plan
machinery; listing tags or repositories imports no image-reading code (the blob-location
cache and its sqlite3)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.imagebuild import multi_platform_layout

REPO = Path(__file__).resolve().parents[2]

_RUN_AND_LIST = """
import json, sys
from spyglass.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # --version, --help
    code = exc.code
print(json.dumps([code, sorted(sys.modules)]))
"""


def _modules_after(*args: str) -> tuple[int, set[str]]:
    """The exit status of ``spyglass ARGS`` run in a fresh interpreter, and every module
    it had imported by then."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    code, loaded = json.loads(done.stdout.strip().rsplit("\n", 1)[-1])
    return code, set(loaded)


def _within(loaded: set[str], *packages: str) -> list[str]:
    """The modules of ``loaded`` that are among ``packages`` or inside them."""
    return sorted(name for name in loaded
                  if any(name == package or name.startswith(f"{package}.")
                         for package in packages))


def _loaded_by(*args: str) -> tuple[int, str]:
    code, loaded = _modules_after(*args)
    return code, " ".join(_within(loaded, "httpx", "httpcore",
                                  "spyglass.core.transports.registry")) or "-"


def test_a_local_copy_does_not_import_the_registry_transport(tmp_path: Path) -> None:
    multi_platform_layout(tmp_path / "layout")
    for destination in (f"oci:{tmp_path / 'copy'}:v1", f"dir:{tmp_path / 'dir'}",
                        f"docker-archive:{tmp_path / 'image.tar'}"):
        code, loaded = _loaded_by("copy", "-q", f"oci:{tmp_path / 'layout'}:latest",
                                  destination)
        assert (code, loaded) == (0, "-"), destination


def test_a_local_copy_with_registry_flags_still_does_not(tmp_path: Path) -> None:
    """The side flags of a local place are unused, as skopeo leaves them."""
    multi_platform_layout(tmp_path / "layout")
    code, loaded = _loaded_by(
        "copy", "-q", "--src-creds", "alice:secret", "--dest-tls-verify=false",
        f"oci:{tmp_path / 'layout'}:latest", f"oci:{tmp_path / 'copy'}:v1",
    )
    assert (code, loaded) == (0, "-")


def test_a_copy_between_layouts_imports_no_archive_reading(tmp_path: Path) -> None:
    """The copy's room check needs where big temporary files go, not the archive
    machinery (tarfile): it made every copy import seven more modules, about 25 ms."""
    multi_platform_layout(tmp_path / "layout")
    code, loaded = _modules_after("copy", "-q", f"oci:{tmp_path / 'layout'}:latest",
                                  f"oci:{tmp_path / 'copy'}:v1")
    assert code == 0
    assert _within(loaded, "tarfile", "spyglass.core.transports.decompressed") == []


_SYNC_MACHINERY = ("spyglass.core.sync", "spyglass.core.sync_run", "spyglass.core.copy",
                   "spyglass.core.copy_plan", "spyglass.core.copy_events",
                   "spyglass.core.copy_attachments", "spyglass.core.referrers",
                   "spyglass.core.signatures")


@pytest.mark.parametrize("args", [["--version"], ["tags", "--help"], ["sync", "--help"]])
def test_building_the_parser_imports_no_sync_machinery(args: list[str]) -> None:
    """``sync``'s flags name its kinds and default from a light module."""
    code, loaded = _modules_after(*args)
    assert code == 0
    assert "spyglass.cli.sync_cmd" in loaded  # (the parser was built)
    assert _within(loaded, *_SYNC_MACHINERY) == []


_IMAGE_READING = ("spyglass.core.transports.registry.source", "spyglass.core.blobcache",
                  "spyglass.core.transports.registry.lookaside", "sqlite3")


@pytest.mark.parametrize("command", ["tags", "catalog"])
def test_listing_names_imports_no_image_reading(command: str) -> None:
    """Up to the registry's answer (here, a refused connection): the registry transport,
    without the image source and the blob-location cache."""
    with socket.socket() as taken:  # bound, never listening: connections are refused
        taken.bind(("127.0.0.1", 0))
        host = f"127.0.0.1:{taken.getsockname()[1]}"
        target = f"docker://{host}/team/app" if command == "tags" else host
        code, loaded = _modules_after(command, target)
    assert code == 1
    assert "spyglass.core.transports.registry.client" in loaded
    assert _within(loaded, *_IMAGE_READING) == []


def test_the_image_source_is_still_imported_from_the_package() -> None:
    from spyglass.core.transports.registry import RegistryImageSource
    from spyglass.core.transports.registry.source import RegistryImageSource as itself

    assert RegistryImageSource is itself


def test_a_copy_does_not_import_the_completion_scripts_writer(tmp_path: Path) -> None:
    """``completion``'s parser is built for every command; what writes its scripts is
    imported only by ``spyglass completion``."""
    multi_platform_layout(tmp_path / "layout")
    code, loaded = _modules_after("copy", "-q", f"oci:{tmp_path / 'layout'}:latest",
                                  f"oci:{tmp_path / 'copy'}:v1")
    assert code == 0
    assert "spyglass.cli.completion_cmd" in loaded  # (the parser was built)
    assert _within(loaded, "spyglass.cli.completion") == []
