"""Each pytest-xdist worker has a Redis database of its own (bartsvoice/settings_test.py): the tests flush it."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from bartsvoice.settings_test import redis_url_for_worker

SHOW_REDIS_URL = "from django.conf import settings; print(settings.REDIS_URL)"


def test_worker_n_takes_the_database_n_below():
    assert redis_url_for_worker("redis://127.0.0.1:6379/15", "gw0") == "redis://127.0.0.1:6379/15"
    assert redis_url_for_worker("redis://127.0.0.1:6379/15", "gw1") == "redis://127.0.0.1:6379/14"
    assert redis_url_for_worker("redis://:pw@cache:6380/3", "gw2") == "redis://:pw@cache:6380/1"
    with pytest.raises(RuntimeError, match="gw2"):
        redis_url_for_worker("redis://127.0.0.1:6379/1", "gw2")


def _settings_in_a_child(**env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", SHOW_REDIS_URL],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "bartsvoice.settings_test", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_a_server_started_by_a_worker_keeps_the_workers_database():
    """A worker derives its URL once; a process it starts (live daphne, celery) inherits the environment and uses
    that URL as it is, instead of moving one database further."""
    base = {"REDIS_URL": "redis://127.0.0.1:6379/15", "BARTSVOICE_REDIS_WORKER": ""}
    assert _settings_in_a_child(**base, PYTEST_XDIST_WORKER="gw1") == "redis://127.0.0.1:6379/14"
    inherited = {"REDIS_URL": "redis://127.0.0.1:6379/14", "BARTSVOICE_REDIS_WORKER": "gw1"}
    assert _settings_in_a_child(**inherited, PYTEST_XDIST_WORKER="gw1") == "redis://127.0.0.1:6379/14"
