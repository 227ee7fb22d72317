"""GET /metrics: the Prometheus text exposition, for a scraper holding METRICS_TOKEN (not served without one)."""

from __future__ import annotations

import functools
import hmac
import os

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from bartsvoice.celery_metrics import CeleryQueueCollector


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("metrics are off: METRICS_TOKEN is not set")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        response = HttpResponse("a bearer token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        # Every process of this host, read from their files on each scrape.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(_queue_collector())
        return registry
    _register_queue_collector_once()
    return REGISTRY


def _queue_collector() -> CeleryQueueCollector:
    from bartsvoice.celery import app

    return CeleryQueueCollector(settings.CELERY_BROKER_URL, app)


@functools.cache
def _register_queue_collector_once() -> None:
    REGISTRY.register(_queue_collector())
