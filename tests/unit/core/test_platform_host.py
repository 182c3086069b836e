"""This system's platform: the running program's architecture, not the kernel's."""

from __future__ import annotations

import platform as stdplatform
import struct
from pathlib import Path

import pytest

from spyglass.core import platform as platform_module
from spyglass.core.platform import Platform, host_platform


def test_a_64_bit_program_takes_the_kernels_architecture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stdplatform, "machine", lambda: "aarch64")
    if struct.calcsize("P") == 8:
        assert host_platform().matches(Platform("linux", "arm64", "v8"))


@pytest.mark.parametrize(("machine", "cpu", "expected"), [
    ("aarch64", "CPU architecture: 8\n", "linux/arm/v8"),
    ("aarch64", "CPU architecture: 7\n", "linux/arm/v7"),
    ("x86_64", "", "linux/386"),
])
def test_a_32_bit_program_on_a_64_bit_kernel_takes_its_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, machine: str, cpu: str, expected: str,
) -> None:
    """32-bit Raspberry Pi OS on a Pi 4 runs a 64-bit kernel: ``uname -m`` says aarch64,
    but only arm images run (containers/image chooses by the program's GOARCH)."""
    monkeypatch.setattr(stdplatform, "machine", lambda: machine)
    monkeypatch.setattr(platform_module.struct, "calcsize", lambda fmt: 4)
    monkeypatch.setattr(platform_module.sys, "platform", "linux")
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(cpu)
    real = Path.read_text
    monkeypatch.setattr(platform_module.Path, "read_text",
                        lambda self, *a, **k: real(cpuinfo, *a, **k)
                        if str(self) == "/proc/cpuinfo" else real(self, *a, **k))
    assert str(host_platform()) == expected
