"""A real daphne process on a free 127.0.0.1 port with the test settings, sharing the test's database and Redis
(started by bartsvoice/tests/servers.py, like the deployment tests' daphne)."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path

from django.conf import settings

from bartsvoice.tests.prerequisites import require
from bartsvoice.tests.servers import running_daphne, test_database_url

INSTANT_PROVIDERS = {"VOICE_STT": "instant", "VOICE_TTS": "instant", "VOICE_BRAIN": "instant"}
OFFLINE_PROVIDERS = {"VOICE_STT": "sphinx", "VOICE_TTS": "espeak", "VOICE_BRAIN": "rules"}


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
    argv = [sys.executable, "-m", "daphne", "--fd", str(listener.fileno()), "bartsvoice.asgi:application"]
    with running_daphne(argv, env=full_env, log=log, base_url=f"http://127.0.0.1:{port}", inherit=listener) as url:
        yield url
