"""Probes for load balancers and process supervisors.

- GET /healthz, liveness: the process answers. Nothing else is checked, so an outage of the database or Redis
  does not get every web process restarted.
- GET /readyz, readiness: database, cache, channel layer and broker all answer (200), or 503 naming what failed;
  a proxy should stop sending calls to a process that is not ready.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse

CHECK_TIMEOUT_S = 3.0


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


async def readyz(request: HttpRequest) -> JsonResponse:
    names = ("database", "cache", "channel_layer", "broker")
    results = await asyncio.gather(
        _check(sync_to_async(_database)),
        _check(sync_to_async(_cache, thread_sensitive=False)),
        _check(_channel_layer),
        _check(sync_to_async(_broker, thread_sensitive=False)),
    )
    checks = dict(zip(names, results, strict=True))
    ready = all(check["ok"] for check in checks.values())
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": checks}
    if settings.DEBUG:
        body["broker_url"] = settings.CELERY_BROKER_URL.split("@")[-1]
    return JsonResponse(body, status=200 if ready else 503)


async def _check(probe: Callable[[], Awaitable[None]]) -> dict[str, object]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_S)
    except TimeoutError:
        return {"ok": False, "error": f"no answer within {CHECK_TIMEOUT_S:g} s"}
    except Exception as exc:  # noqa: BLE001 - any failure is the answer we report
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close_if_unusable_or_obsolete()


def _cache() -> None:
    # The Redis cache ignores its errors (calls go on without it): a value that does not come back is the failure.
    key, value = f"readyz:{uuid.uuid4().hex}", "1"
    cache.set(key, value, 10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("a value written was not read back")
    finally:
        cache.delete(key)


async def _channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    channel = await layer.new_channel("readyz.")
    await layer.send(channel, {"type": "readyz.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "readyz.ping":
        raise RuntimeError("a message sent was not received")


def _broker() -> None:
    from bartsvoice.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
