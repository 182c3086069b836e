"""skopeo's flags as its scripts write them: the command line read as Go's pflag reads it
(``--flag=BOOL``, values that start with ``-``, comma lists), and skopeo's flags for what
Spyglass does not do said in a sentence."""

from __future__ import annotations

import pytest

from spyglass.cli import build_parser


@pytest.mark.parametrize(("value", "expected"), [
    ("1", True), ("t", True), ("T", True), ("TRUE", True), ("true", True), ("True", True),
    ("0", False), ("f", False), ("F", False), ("FALSE", False), ("false", False),
    ("False", False), ("yes", True), ("no", False),
])
def test_a_bool_is_what_go_parses_as_one(value: str, expected: bool) -> None:
    """strconv.ParseBool's spellings, as skopeo takes them (yes/no kept besides)."""
    args = build_parser().parse_args(["list-tags", f"--tls-verify={value}", "docker://h/r"])
    assert args.tls_verify is expected
    args = build_parser().parse_args([f"--insecure-policy={value}", "inspect", "oci:x"])
    assert args.insecure_policy is expected
