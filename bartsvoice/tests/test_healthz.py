"""GET /healthz answers for the database, the cache and the broker."""

import pytest
from django.conf import settings

from bartsvoice import health


@pytest.mark.django_db
def test_healthz_ok_when_database_cache_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "cache": True,
        "broker": True,
    }
    # Tests run with REDIS_URL set: the broker checked is Redis, not the file-system fallback.
    assert settings.CELERY_BROKER_URL.startswith("redis://")


@pytest.mark.django_db
def test_healthz_503_names_the_failing_part(client, monkeypatch):
    class BrokenCache:
        def set(self, *args, **kwargs):
            raise ConnectionError("redis is down")

    monkeypatch.setattr(health, "cache", BrokenCache())
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"] == {"ok": False, "error": "ConnectionError: redis is down"}
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]
