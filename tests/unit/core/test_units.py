"""Quantities written for people (spyglass.core.units)."""

from __future__ import annotations

import pytest

from spyglass.core.units import exact_size, human_size


@pytest.mark.parametrize(("size", "said"), [
    (8 * 1024 * 1024, "8 MiB"),
    (256 * 1024, "256 KiB"),
    (5 * 1024 * 1024 + 1024, "5121 KiB"),  # not rounded to "5.0 MiB"
    (1000, "1000 B"),
    (0, "0 B"),
    (3 * 1024 ** 3, "3 GiB"),
])
def test_an_exact_size_is_said_in_the_largest_unit_it_is_whole_in(size: int, said: str) -> None:
    assert exact_size(size) == said


def test_a_human_size_is_rounded_to_one_decimal() -> None:
    assert [human_size(s) for s in (512, 1536, 8 * 1024 * 1024, 150 * 1024 * 1024)] == [
        "512 B", "1.5 KiB", "8.0 MiB", "150 MiB"]
