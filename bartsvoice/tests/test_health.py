"""GET /healthz says the process is alive; GET /readyz says whether database, cache, channel layer and broker
answer (the test with a real Redis going away is in test_readiness_redis.py)."""

import pytest
from django.conf import settings

from bartsvoice import health


class BrokenCache:
    def set(self, *args, **kwargs):
        raise ConnectionError("redis is down")


def test_healthz_is_liveness_only(client, monkeypatch):
    monkeypatch.setattr(health, "cache", BrokenCache())
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_ok_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "cache": True,
        "channel_layer": True,
        "broker": True,
    }
    # Tests run with REDIS_URL set: the broker and channel layer checked are Redis, not the embedded fallbacks.
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"


@pytest.mark.django_db
def test_readyz_503_names_the_failing_part(client, monkeypatch):
    monkeypatch.setattr(health, "cache", BrokenCache())
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["cache"] == {"ok": False, "error": "ConnectionError: redis is down"}
    assert all(body["checks"][name]["ok"] for name in ("database", "channel_layer", "broker"))


@pytest.mark.django_db
def test_readyz_reports_a_probe_that_hangs(client, monkeypatch):
    import asyncio

    async def hangs():
        await asyncio.sleep(60)

    monkeypatch.setattr(health, "_channel_layer", hangs)
    monkeypatch.setattr(health, "CHECK_TIMEOUT_S", 0.2)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"] == {"ok": False, "error": "no answer within 0.2 s"}
