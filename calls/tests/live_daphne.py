"""A real daphne process on a free 127.0.0.1 port, sharing the test's database and Redis."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

from bartsvoice.tests.prerequisites import require

INSTANT_PROVIDERS = {"VOICE_STT": "instant", "VOICE_TTS": "instant", "VOICE_BRAIN": "instant"}
OFFLINE_PROVIDERS = {"VOICE_STT": "sphinx", "VOICE_TTS": "espeak", "VOICE_BRAIN": "rules"}


def test_database_url() -> str:
    """The test database (test_<name>) as a URL the server process can use."""
    db = settings.DATABASES["default"]
    postgres = db["ENGINE"] == "django.db.backends.postgresql"
    require(postgres, "a server process shares the test database: it needs PostgreSQL")
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


test_database_url.__test__ = False  # a helper, not a test


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"daphne exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (127.0.0.1 only)
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"daphne did not answer {url} within {timeout} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def live_daphne(log: Path, *, providers: dict[str, str], env: dict[str, str] | None = None, timeout: float = 60):
    """Yields the base URL (http://127.0.0.1:PORT). The socket is bound here and inherited, so the
    port cannot be taken between choosing and listening."""
    require(bool(settings.REDIS_URL), "the server process must share the cache (stream tokens): set REDIS_URL")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    full_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],  # the tests' own (their password hasher)
        "DATABASE_URL": test_database_url(),
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "true",
        "ALLOWED_HOSTS": "127.0.0.1",
        "TWILIO_PHONE_NUMBER": "+13125550100",
        "LOG_LEVEL": "INFO",
        **providers,
        **(env or {}),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "--fd", str(listener.fileno()), "bartsvoice.asgi:application"],
            cwd=settings.BASE_DIR,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )
    listener.close()  # the child has its own copy
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{base_url}/healthz", proc, log, timeout)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
