"""Celery queue lag: how long tasks wait before a worker takes them, and how far behind the queues are now.

Two views, because each misses what the other sees:
- workers observe every task's wait when they start it (a histogram; `bartsvoice_celery_task_wait_seconds`);
- the scrape reads each queue in the broker (length and the age of its oldest task), which still tells the truth
  when no worker runs at all.
The publisher stamps each message with the time it was sent (the header below); Celery has no such field itself.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

from celery.signals import before_task_publish, task_prerun
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bartsvoice import metrics

log = logging.getLogger(__name__)

SENT_AT_HEADER = "bartsvoice_sent_at"


@before_task_publish.connect  # type: ignore[untyped-decorator]
def _stamp_sent_at(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is not None:
        headers.setdefault(SENT_AT_HEADER, time.time())


@task_prerun.connect  # type: ignore[untyped-decorator]
def _observe_wait(task: Any = None, **kwargs: Any) -> None:
    request = getattr(task, "request", None)
    sent_at = request.get(SENT_AT_HEADER) if request is not None else None
    if not isinstance(sent_at, int | float) or getattr(request, "is_eager", False):
        return
    queue = (getattr(request, "delivery_info", None) or {}).get("routing_key") or "celery"
    metrics.task_waited(queue, time.time() - sent_at)


def queue_names(app: Any) -> list[str]:
    """The queues this project's tasks go to: the default one, declared ones and routed ones."""
    names = {app.conf.task_default_queue or "celery"}
    for queue in app.conf.task_queues or ():
        names.add(getattr(queue, "name", None) or str(queue))
    routes = app.conf.task_routes
    for route in routes.values() if isinstance(routes, dict) else ():
        if isinstance(route, dict) and route.get("queue"):
            names.add(str(route["queue"]))
    return sorted(names)


def oldest_sent_at(payload: bytes | str | None) -> float | None:
    """The sent-at stamp of a message as the Redis transport stores it (JSON with the task's headers)."""
    if not payload:
        return None
    try:
        message = json.loads(payload)
    except (ValueError, TypeError):
        return None
    headers = message.get("headers") if isinstance(message, dict) else None
    value = headers.get(SENT_AT_HEADER) if isinstance(headers, dict) else None
    return float(value) if isinstance(value, int | float) else None


class CeleryQueueCollector(Collector):
    """Reads the Redis broker at scrape time. Other brokers (the embedded file-system one) are not inspected."""

    def __init__(self, broker_url: str, app: Any):
        self.broker_url = broker_url
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if not self.broker_url.startswith(("redis://", "rediss://", "unix://")):
            return
        up = GaugeMetricFamily("bartsvoice_celery_broker_up", "Whether the scrape could read the Celery broker")
        length = GaugeMetricFamily(
            "bartsvoice_celery_queue_length", "Tasks waiting in a Celery queue", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "bartsvoice_celery_queue_oldest_age_seconds",
            "Age of the oldest task waiting in a Celery queue (0 when empty)",
            labels=["queue"],
        )
        try:
            readings = list(self._read(queue_names(self.app)))
        except Exception as exc:  # noqa: BLE001 - a broker that cannot be read is the reading
            log.warning("metrics: could not read the Celery broker: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        now = time.time()
        for queue, count, sent_at in readings:
            length.add_metric([queue], count)
            age.add_metric([queue], max(0.0, now - sent_at) if count and sent_at is not None else 0.0)
        yield from (up, length, age)

    def _read(self, queues: Iterable[str]) -> Iterator[tuple[str, int, float | None]]:
        import redis

        client = redis.Redis.from_url(self.broker_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            for queue in queues:
                # Kombu's Redis transport pushes on the left and pops on the right: the oldest is at -1.
                pipe = client.pipeline()
                pipe.llen(queue)
                pipe.lindex(queue, -1)
                count, oldest = pipe.execute()
                yield queue, int(count), oldest_sent_at(oldest)
        finally:
            client.close()
