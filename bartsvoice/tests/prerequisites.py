"""What some tests need from the machine (Chromium, PostgreSQL, Redis): skipped on a developer's machine
that lacks it, a failure under CI (`CI=true`), so a green CI run never means "not tested"."""

from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"  # Debian's package: apt-get install chromium
CHROMIUM_MISSING = f"{CHROMIUM} is not installed (apt-get install chromium)"
# How long Playwright's expect() waits for the page to show what a browser test expects, when the test names no
# deadline of its own. Playwright's 5 s was exceeded on a busy machine (daphne, Chromium and other tests' workers
# sharing two cores); a wait ends as soon as the page shows it, so only a failing test waits longer.
BROWSER_EXPECT_TIMEOUT_MS = 20_000


def use_browser_deadlines() -> None:
    """Playwright's expect() waits up to BROWSER_EXPECT_TIMEOUT_MS by default in this process."""
    from playwright.sync_api import expect

    expect.set_options(timeout=BROWSER_EXPECT_TIMEOUT_MS)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require(available: bool, missing: str) -> None:
    """Skip the test when `available` is false, or fail it under CI."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{missing}; CI=true, so a missing prerequisite fails the run", pytrace=False)
    pytest.skip(missing)
