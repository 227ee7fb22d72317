"""Start a real daphne process for a test and stop it afterwards: the one way the tests do it.

calls/tests/live_daphne.py (the test settings, a socket bound here and inherited) and bartsvoice/tests/proxy.py
(the systemd unit's own command line) both start theirs with `running_daphne`.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

from bartsvoice.tests.prerequisites import require


def free_port() -> int:
    """A port nobody listens on right now (for servers that must be told their port, like nginx's upstreams)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_url() -> str:
    """The test database (test_<name>) as a URL a server process can use."""
    db = settings.DATABASES["default"]
    postgres = db["ENGINE"] == "django.db.backends.postgresql"
    require(postgres, "a server process shares the test database: it needs PostgreSQL")
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


test_database_url.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


@contextlib.contextmanager
def running_daphne(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    log: Path,
    base_url: str,
    inherit: socket.socket | None = None,
    timeout: float = 60,
) -> Iterator[str]:
    """Run `argv` (a daphne command line) until the block ends; yields `base_url` once its /healthz answers 200.

    `inherit`: a listening socket the command line names with `--fd`; the child gets it and ours is closed, so the
    port cannot be taken between choosing it and listening. Output goes to `log` (shown when it fails to start).
    """
    with log.open("wb") as out:
        proc = subprocess.Popen(
            list(argv),
            cwd=settings.BASE_DIR,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=[inherit.fileno()] if inherit is not None else [],
        )
    if inherit is not None:
        inherit.close()
    try:
        _wait_until_healthy(f"{base_url}/healthz", proc, log, timeout)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _wait_until_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"daphne exited with {proc.returncode}:\n{log_tail(log)}")
        with contextlib.suppress(urllib.error.URLError, OSError):
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (127.0.0.1 only)
                if response.status == 200:
                    return
        if time.monotonic() > deadline:
            raise AssertionError(f"daphne did not answer {url} within {timeout} s:\n{log_tail(log)}")
        time.sleep(0.2)  # polling a starting server: there is no event to wait on
