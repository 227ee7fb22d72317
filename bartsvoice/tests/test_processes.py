"""Several web processes of one installation, for real: two daphne processes on the test's PostgreSQL and Redis
sharing one PROMETHEUS_MULTIPROC_DIR, as two bartsvoice-web@ units of a host do, behind Debian's nginx with the
shipped site (one upstream server per process). Every socket goes through nginx; which process served it is read
from that process's own access log.

- A manager's live page whose socket nginx gave to one process receives, through the channels-redis layer, the
  start, the turns and the end of a call whose media stream nginx gave to the other.
- Calls through nginx land on both processes, and /metrics of either process counts the calls of both, and not
  those of an earlier run: the directory was wiped by the command deploy/systemd/bartsvoice-metrics.service runs
  before the processes start.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from bartsvoice.db import in_db_thread
from bartsvoice.tests.factories import MANAGERS, UserFactory
from bartsvoice.tests.media_call import caller_speech, phone_side_of_a_stream
from bartsvoice.tests.proxy import DEPLOY, nginx_in_front, unit_exec_start
from calls.tests.live_daphne import INSTANT_PROVIDERS, live_daphne

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

METRICS_TOKEN = "two-processes-metrics-token"
METRICS_UNIT = DEPLOY / "systemd" / "bartsvoice-metrics.service"
LIVE_PAGE, MEDIA_STREAM = "/ws/calls/live/", "/ws/media-stream/"


def record_in_a_process(directory, code: str) -> None:
    """Run `code` (with `metrics` = bartsvoice.metrics) in a process of its own writing to `directory`."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", f"from bartsvoice import metrics\n{code}"], env=env, check=True, timeout=60)


@pytest.fixture(scope="module")
def processes(django_db_setup, tmp_path_factory):
    """Two daphne processes sharing a metrics directory that an earlier run had left 5 calls in."""
    tmp = tmp_path_factory.mktemp("two-daphnes")
    metrics_dir = tmp / "metrics"
    metrics_dir.mkdir()
    earlier_run = "for _ in range(5): metrics.call_finished(direction='inbound', outcome='info', status='completed')"
    record_in_a_process(metrics_dir, earlier_run)
    assert list(metrics_dir.glob("counter_*.db"))
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    wiped = subprocess.run(unit_exec_start(METRICS_UNIT, ""), env=env, cwd=settings.BASE_DIR, capture_output=True,
                           text=True, timeout=60, check=True)  # fmt: skip
    assert "removed 1 metrics files" in wiped.stdout, wiped.stdout + wiped.stderr

    shared = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "METRICS_TOKEN": METRICS_TOKEN, "VOICE_WARMUP": "false"}
    logs = [tmp / "daphne-1.log", tmp / "daphne-2.log"]
    with (
        live_daphne(logs[0], providers=INSTANT_PROVIDERS, env=shared) as first,
        live_daphne(logs[1], providers=INSTANT_PROVIDERS, env=shared) as second,
        nginx_in_front(tmp / "proxy", [urlsplit(url).port or 80 for url in (first, second)]) as proxy,
    ):
        yield SimpleNamespace(urls=[first, second], logs=logs, proxy=proxy, served=[])


async def serve_call(processes, call: tuple[str, str], speech: bytes) -> None:
    """The media stream of `call` (new_call's) through nginx, to whichever process it picks; counted for the
    metrics test."""
    call_sid, token = call
    proxy = processes.proxy
    await phone_side_of_a_stream(
        proxy.ws_url(MEDIA_STREAM), call_sid=call_sid, token=token, speech=speech, ssl=proxy.ssl
    )
    processes.served.append(call_sid)


def sockets_opened(processes, path: str) -> list[int]:
    """How many sockets on `path` each process has accepted so far (its daphne access log)."""
    return [log.read_text(errors="replace").count(f'"WSCONNECT {path}"') for log in processes.logs]


async def process_that_opened(processes, path: str, before: list[int]) -> int:
    """The index of the one process that accepted a socket on `path` since `before` (sockets_opened's)."""
    async with asyncio.timeout(10):  # the access log line is written as the socket is accepted
        while (now := sockets_opened(processes, path)) == before:
            await asyncio.sleep(0.05)
    grown = [i for i, (was, is_) in enumerate(zip(before, now, strict=True)) if is_ > was]
    assert len(grown) == 1 and now[grown[0]] == before[grown[0]] + 1, (before, now)
    return grown[0]


def new_call() -> tuple[str, str]:
    """An inbound call Twilio has just announced: (CallSid, the token its media stream must present)."""
    from calls.services import start_call
    from calls.stream_tokens import mint_stream_token

    sid = f"CA{uuid.uuid4().hex}"
    start_call(call_sid=sid, from_number="+13125550142", to_number="+13125550100", direction="inbound",
               transport="twilio")  # fmt: skip
    return sid, mint_stream_token(call_sid=sid)


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def watch_until_ended(ws, call_id: int) -> list[dict]:
    """The live page's messages about `call_id` until it ends."""
    seen: list[dict] = []
    async with asyncio.timeout(60):
        while not seen or seen[-1]["type"] != "call_ended":
            message = json.loads(await ws.recv())
            about = message.get("call")
            if (about.get("id") if isinstance(about, dict) else about) == call_id:
                seen.append(message)
    return seen


async def test_the_live_page_on_one_process_shows_a_call_served_by_the_other(processes):
    from websockets.asyncio.client import connect

    from calls.models import Call

    proxy = processes.proxy
    manager = await in_db_thread(UserFactory, username="morgan", roles=[MANAGERS])
    cookie = await in_db_thread(session_cookie, manager)
    speech = caller_speech()

    pages_before = sockets_opened(processes, LIVE_PAGE)
    async with connect(proxy.ws_url(LIVE_PAGE), origin=proxy.public, ssl=proxy.ssl,
                       additional_headers={"Cookie": cookie}, open_timeout=10) as page:  # fmt: skip
        snapshot = json.loads(await asyncio.wait_for(page.recv(), 10))
        assert snapshot == {"type": "snapshot", "calls": []}
        page_process = await process_that_opened(processes, LIVE_PAGE, pages_before)
        # nginx picks the process of each call (least_conn: the page's socket makes the other one the first
        # choice); should it pick the page's own, the next call is tried, the page seeing that one too.
        for _ in range(4):
            call_sid, token = await in_db_thread(new_call)
            call = await in_db_thread(Call.objects.get, call_sid=call_sid)
            streams_before = sockets_opened(processes, MEDIA_STREAM)
            _, seen = await asyncio.gather(
                serve_call(processes, (call_sid, token), speech), watch_until_ended(page, call.pk)
            )
            if await process_that_opened(processes, MEDIA_STREAM, streams_before) != page_process:
                break
        else:
            pytest.fail(f"nginx gave every call to the live page's process:\n{proxy_log(proxy)}")

    assert seen[0]["type"] == "call_started" and seen[0]["call"]["caller"] == "(312) 555-0142"
    turns = {m["turn"]["index"]: (m["turn"]["role"], m["turn"]["text"]) for m in seen if m["type"] == "turn"}
    assert turns[0][0] == "agent"  # the greeting
    assert turns[1] == ("caller", "what are your hours")
    assert turns[2][0] == "agent" and turns[2][1].startswith("You said"), turns
    assert seen[-1] == {"type": "call_ended", "call": call.pk, "outcome": "Abandoned", "url": f"/calls/{call.pk}/"}


def proxy_log(proxy) -> str:
    """nginx's access log: each request with the upstream that served it (for failure messages)."""
    log = proxy.workdir / "access.log"
    return log.read_text(errors="replace")[-3000:] if log.exists() else ""


def scrape(base_url: str) -> dict[tuple[str, tuple], float]:
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    request = urllib.request.Request(f"{base_url}/metrics", headers=headers)  # noqa: S310 (127.0.0.1 only)
    with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (127.0.0.1 only)
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples, name: str, **labels) -> float:
    wanted = set(labels.items())
    return sum(value for (sample, sample_labels), value in samples.items() if sample == name
               and wanted <= set(sample_labels))  # fmt: skip


async def test_calls_through_nginx_spread_over_both_processes_whose_metrics_count_them_all(processes):
    speech = caller_speech()
    before = sockets_opened(processes, MEDIA_STREAM)
    calls = [await in_db_thread(new_call) for _ in range(4)]
    # At once, as calls come in: nginx (least_conn) gives each new one to the process with fewer open sockets.
    await asyncio.gather(*(serve_call(processes, call, speech) for call in calls))
    opened = [now - was for now, was in zip(sockets_opened(processes, MEDIA_STREAM), before, strict=True)]
    assert sum(opened) == 4, opened
    assert all(opened), f"nginx did not spread the calls over both processes: {opened}\n{proxy_log(processes.proxy)}"

    served = len(processes.served)  # these two, and the other tests' calls on these processes
    finished = "bartsvoice_calls_total"
    async with asyncio.timeout(30):  # each process counts its call once the socket has closed
        while total(await asyncio.to_thread(scrape, processes.urls[0]), finished) < served:
            await asyncio.sleep(0.1)
    for url in processes.urls:
        samples = await asyncio.to_thread(scrape, url)
        # both processes' calls, and not the 5 of the earlier run that the wipe removed
        assert total(samples, finished, direction="inbound") == served
        assert total(samples, "bartsvoice_calls_in_progress") == 0
        assert total(samples, "bartsvoice_turn_latency_seconds_count", stage="first_audio_sent") == served
        assert total(samples, "bartsvoice_turn_latency_seconds_count", stage="greeting") == served
