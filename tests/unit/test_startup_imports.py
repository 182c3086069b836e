"""A command loads only what it uses: a copy between local places never imports
httpx and the registry transport (a third of the start-up time of a small copy)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.imagebuild import multi_platform_layout

REPO = Path(__file__).resolve().parents[2]

_RUN_AND_LIST = """
import sys
from spyglass.cli import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("httpx", "httpcore")
                or m.startswith("spyglass.core.transports.registry"))
print(code, " ".join(loaded) or "-")
"""


def _loaded_by(*args: str) -> tuple[int, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO / "app"))
    done = subprocess.run(
        [sys.executable, "-c", _RUN_AND_LIST, *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    code, loaded = done.stdout.strip().rsplit("\n", 1)[-1].split(" ", 1)
    return int(code), loaded


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
