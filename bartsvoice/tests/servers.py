"""Real server processes for a test (daphne, Celery workers), started and stopped the one way the tests do it.

calls/tests/live_daphne.py (the test settings, a socket bound here and inherited) and bartsvoice/tests/proxy.py
(the systemd unit's own command line) both start their daphne with `running_daphne`; the reminder workers' test
starts its Celery workers with `running_process`.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from bartsvoice.tests.prerequisites import require


def free_port() -> int:
    """A port nobody listens on right now (for servers that must be told their port, like nginx's upstreams)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_database_url() -> str:
    """The test database (test_<name>) as a URL a server process can use."""
    db = settings.DATABASES["default"]
    require(connection.vendor == "postgresql", "a server process shares the test database: it needs PostgreSQL")
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


test_database_url.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def log_tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


@contextlib.contextmanager
def running_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    log: Path,
    ready: Callable[[], bool],
    what: str = "the process",
    inherit: socket.socket | None = None,
    timeout: float = 60,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` until the block ends, entering it once `ready()` says so; stopped with SIGTERM (then killed).

    `inherit`: a listening socket the command line names (`--fd`); the child gets it and ours is closed, so the
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
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None:
                raise AssertionError(f"{what} exited with {proc.returncode}:\n{log_tail(log)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} was not ready within {timeout} s:\n{log_tail(log)}")
            time.sleep(0.2)  # polling a starting server: there is no event to wait on
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def answers_200(url: str) -> Callable[[], bool]:
    def check() -> bool:
        with contextlib.suppress(urllib.error.URLError, OSError):
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (127.0.0.1 only)
                return bool(response.status == 200)
        return False

    return check


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
    """Run `argv` (a daphne command line) until the block ends; yields `base_url` once its /healthz answers 200."""
    ready = answers_200(f"{base_url}/healthz")
    with running_process(argv, env=env, log=log, ready=ready, what="daphne", inherit=inherit, timeout=timeout):
        yield base_url
