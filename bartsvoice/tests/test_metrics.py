"""GET /metrics: guarded by METRICS_TOKEN, parsed back with prometheus-client's own parser, and holding the
series a call, a reminder and the Celery queues leave behind."""

import asyncio
import json
import time
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bartsvoice import metrics
from bartsvoice.celery import app as celery_app
from bartsvoice.celery_metrics import SENT_AT_HEADER, _observe_wait
from bartsvoice.db import in_db_thread
from bartsvoice.tests.media_call import agent_reply, caller_speech, media_frame, open_instant_call
from calls.voice.audio import ulaw_silence
from calls.voice.providers import registry

TOKEN = "scrape-me-" + "x" * 20


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_are_not_served_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"])
def test_metrics_refuse_a_missing_or_wrong_token(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"bartsvoice_" not in response.content


def test_metrics_are_get_only(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405


# --- a call over the media stream --------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
async def test_a_call_leaves_its_series(client, settings):
    settings.METRICS_TOKEN = TOKEN
    before = await in_db_thread(scrape, client)
    comm, sid = await open_instant_call(settings, "MZm")
    await agent_reply(comm)  # the greeting
    during = await in_db_thread(scrape, client)
    assert value(during, "bartsvoice_calls_in_progress", direction="inbound") == 1

    speech = caller_speech()
    for i in range(0, len(speech), 160):
        await comm.send_to(text_data=media_frame(speech[i : i + 160]))
    for _ in range(40):
        await comm.send_to(text_data=media_frame(ulaw_silence(20)))
    await agent_reply(comm)
    await comm.send_to(text_data=json.dumps({"event": "stop", "streamSid": "MZm", "stop": {"callSid": sid}}))
    await comm.disconnect()
    for _ in range(50):  # the session writes the call's end after the socket has gone
        after = await in_db_thread(scrape, client)
        if value(after, "bartsvoice_calls_in_progress", direction="inbound") == 0:
            break
        await asyncio.sleep(0.1)
    registry.stt_provider.cache_clear()

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "bartsvoice_calls_in_progress", direction="inbound") == 0
    assert grew("bartsvoice_calls_total", direction="inbound", outcome="abandoned", status="completed") == 1
    assert grew("bartsvoice_turn_latency_seconds_count", stage="greeting") == 1
    for stage in ("stt_final", "first_agent_text", "first_tts_audio", "first_audio_sent"):
        assert grew("bartsvoice_turn_latency_seconds_count", stage=stage) == 1, stage
        assert value(after, "bartsvoice_turn_latency_seconds_bucket", stage=stage, le="+Inf") >= 1
    # the caller hears the reply after their words were recognised (sums of whole milliseconds: float noise aside)
    assert (
        grew("bartsvoice_turn_latency_seconds_sum", stage="first_audio_sent")
        >= grew("bartsvoice_turn_latency_seconds_sum", stage="stt_final") - 1e-9
    )


def test_reminder_results_and_provider_failures_are_counted(client, settings):
    settings.METRICS_TOKEN = TOKEN
    before = scrape(client)
    metrics.reminder_result("confirmed")
    metrics.reminder_result("confirmed")
    metrics.reminder_result("Voicemail")
    metrics.reminder_result("+13125550142 did not answer")  # junk never becomes a label of its own
    metrics.provider_error("tts", "deepgram")
    metrics.provider_fallback("tts", "deepgram", "espeak")
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("bartsvoice_reminder_results_total", result="confirmed") == 2
    assert grew("bartsvoice_reminder_results_total", result="voicemail") == 1
    assert grew("bartsvoice_reminder_results_total", result="other") == 1
    assert grew("bartsvoice_provider_errors_total", stage="tts", provider="deepgram") == 1
    assert grew("bartsvoice_provider_fallbacks_total", stage="tts", provider="deepgram", fallback="espeak") == 1


# --- Celery queues ---------------------------------------------------------------------------------
@pytest.fixture
def lag_queue(settings):
    """A queue of our own on the test Redis, emptied afterwards."""
    import redis

    name = f"metrics-test-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_routes = {"bartsvoice.tests.never_runs": {"queue": name}}  # how queues get listed
    try:
        yield name
    finally:
        celery_app.conf.task_routes = None
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(name)


def test_queue_length_and_age_of_the_oldest_task(client, settings, lag_queue):
    settings.METRICS_TOKEN = TOKEN
    empty = scrape(client)
    assert value(empty, "bartsvoice_celery_broker_up") == 1
    assert value(empty, "bartsvoice_celery_queue_length", queue=lag_queue) == 0
    assert value(empty, "bartsvoice_celery_queue_oldest_age_seconds", queue=lag_queue) == 0

    celery_app.send_task("bartsvoice.tests.never_runs", queue=lag_queue)  # no worker listens there
    time.sleep(0.3)
    celery_app.send_task("bartsvoice.tests.never_runs", queue=lag_queue)
    waiting = scrape(client)
    assert value(waiting, "bartsvoice_celery_queue_length", queue=lag_queue) == 2
    assert 0.3 <= value(waiting, "bartsvoice_celery_queue_oldest_age_seconds", queue=lag_queue) < 30
    assert value(waiting, "bartsvoice_celery_queue_length", queue="celery") >= 0  # the default queue is listed too


def test_an_unreachable_broker_is_a_reading_not_an_error(client, settings, monkeypatch):
    from bartsvoice import metrics_view

    settings.METRICS_TOKEN = TOKEN
    collector = metrics_view._queue_collector()
    monkeypatch.setattr(collector, "broker_url", "redis://127.0.0.1:1/0")
    assert [family.name for family in collector.collect()] == ["bartsvoice_celery_broker_up"]
    assert next(iter(collector.collect())).samples[0].value == 0


def test_workers_observe_how_long_a_task_waited(client, settings):
    from celery.app.task import Context

    settings.METRICS_TOKEN = TOKEN
    before = scrape(client)

    class Task:
        request = Context({SENT_AT_HEADER: time.time() - 42, "delivery_info": {"routing_key": "reminders"}})

    _observe_wait(task=Task())
    after = scrape(client)
    count = ("bartsvoice_celery_task_wait_seconds_count", (("queue", "reminders"),))
    total = ("bartsvoice_celery_task_wait_seconds_sum", (("queue", "reminders"),))
    assert after[count] - before.get(count, 0) == 1
    assert 42 <= after[total] - before.get(total, 0) < 60
