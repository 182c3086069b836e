"""What README.md says of skopeo where Spyglass differs from it: a script written for one
meets the other, so a claim that skopeo does what it does not misleads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _section(text: str, title: str) -> str:
    start = text.index(f"\n### {title}\n")
    end = text.index("\n## ", start)
    following = text.find("\n### ", start + 1)
    return text[start:min(end, following) if following != -1 else end]


def test_a_loopback_registry_over_plain_http_is_not_said_to_be_skopeos_habit() -> None:
    """skopeo 1.9 refuses a registry on this machine without TLS ("server gave HTTP
    response to HTTPS client") until --tls-verify=false is given; Spyglass reaches it, as
    Docker does. The README said "as Docker and skopeo reach one"."""
    readme = (ROOT / "README.md").read_text()
    flat = re.sub(r"\s+", " ", readme)
    assert "Docker and skopeo reach one" not in flat
    assert "as Docker reaches one (skopeo does not: it needs `--tls-verify=false`" in flat
    differences = re.sub(r"\s+", " ", _section(readme, "Differences from skopeo"))
    assert "reached over plain HTTP without `--tls-verify=false`" in differences
