"""``spyglass inspect`` escapes what skopeo's Go encoder escapes: ``<``, ``>``, ``&``,
U+2028 and U+2029 in an image's labels and environment are written ``\\u003c`` …, so
the two tools' outputs compare equal byte for byte (scripts ``diff`` or hash them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import require_tool

pytestmark = pytest.mark.interop

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_inspect_escapes_as_skopeo_does(tmp_path: Path) -> None:
    umoci, skopeo = require_tool("umoci"), require_tool("skopeo")
    layout = tmp_path / "um"
    for step in (["init", "--layout", str(layout)], ["new", "--image", f"{layout}:v1"],
                 ["config", "--image", f"{layout}:v1", "--config.env", "A=1&2",
                  "--config.label", "a=<b>", "--config.label", "c=x\u2028y\u2029z"]):
        subprocess.run([umoci, *step], check=True, capture_output=True)
    name = f"oci:{layout}:v1"
    theirs = subprocess.run([skopeo, "inspect", name], check=True, capture_output=True).stdout
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "app")}
    ours = subprocess.run([sys.executable, "-m", "spyglass", "inspect", name], check=True,
                          capture_output=True, env=env).stdout
    assert b"\\u003cb\\u003e" in theirs and b"A=1\\u00262" in theirs  # (what is compared)
    # the same bytes, but for LayersData, which skopeo 1.9 does not print yet
    kept = [line for line in ours.splitlines(keepends=True) if b'"LayersData": []' not in line]
    assert b"".join(kept) == theirs
    assert json.loads(ours)["Labels"]["c"] == "x\u2028y\u2029z"


def test_json_is_written_with_gos_escapes(capsys: pytest.CaptureFixture[str]) -> None:
    from spyglass.cli.common import write_json

    write_json({"k": "<a> & \u2028\u2029 caf\u00e9"})
    out = capsys.readouterr().out
    assert out == '{\n    "k": "\\u003ca\\u003e \\u0026 \\u2028\\u2029 caf\u00e9"\n}\n'
    assert json.loads(out) == {"k": "<a> & \u2028\u2029 caf\u00e9"}
