"""Images skopeo wrote, shared by the transports' tests (each made once per module)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.imagebuild import multi_platform_layout
from tests.unit.core.transports.test_archive import run_skopeo


@pytest.fixture(scope="module")
def source_layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 3-platform test image as an OCI layout (ref ``latest``)."""
    root = tmp_path_factory.mktemp("source") / "layout"
    multi_platform_layout(root)
    return root


@pytest.fixture(scope="module")
def skopeo_docker_archive(source_layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The arm64 image as skopeo writes a docker-archive, named example.com/x:1 and
    example.com/y:2."""
    target = tmp_path_factory.mktemp("docker-archive") / "x.tar"
    run_skopeo(
        "copy", "--quiet", "--override-os", "linux", "--override-arch", "arm64",
        "--additional-tag", "example.com/y:2",
        f"oci:{source_layout}:latest", f"docker-archive:{target}:example.com/x:1",
    )  # fmt: skip
    return target


@pytest.fixture(scope="module")
def skopeo_oci_archive(source_layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole list as skopeo writes an oci-archive (ref ``v1``)."""
    target = tmp_path_factory.mktemp("oci-archive") / "all.tar"
    run_skopeo(
        "copy", "--quiet", "--all", f"oci:{source_layout}:latest", f"oci-archive:{target}:v1"
    )
    return target
