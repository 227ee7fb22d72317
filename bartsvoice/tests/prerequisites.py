"""What some tests need from the machine (Chromium, PostgreSQL, Redis): skipped on a developer's machine
that lacks it, a failure under CI (`CI=true`), so a green CI run never means "not tested"."""

from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"  # Debian's package: apt-get install chromium
CHROMIUM_MISSING = f"{CHROMIUM} is not installed (apt-get install chromium)"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require(available: bool, missing: str) -> None:
    """Skip the test when `available` is false, or fail it under CI."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{missing}; CI=true, so a missing prerequisite fails the run", pytrace=False)
    pytest.skip(missing)
