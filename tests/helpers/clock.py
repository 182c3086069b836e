"""A clock a test moves by hand."""

from __future__ import annotations


class AuthClock:
    """Stands in for the registry auth module's ``time.monotonic`` (the ``auth_clock``
    fixture of ``tests/conftest.py``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
