"""Two real Celery worker processes, each on a queue of its own, race for the same reminders: every reminder is
claimed once and dialled once (the Twilio fake receives one call per reminder), whichever worker wins.

The workers are started with deploy/systemd/bartsvoice-worker.service's command line (plus the queue each one
reads), on the real Redis broker and the test's PostgreSQL; each reminder's task is sent to both queues at once,
as two sweeps on two hosts, or a redelivery, could hand it out twice."""

from __future__ import annotations

import contextlib
import os
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from bartsvoice.tests.proxy import DEPLOY, unit_exec_start
from bartsvoice.tests.servers import log_tail, running_process, test_database_url
from calls.tests.fake_twilio import FakeTwilio
from crm.models import Customer
from scheduling import reminders
from scheduling.models import Appointment, ReminderAttempt

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKER_UNIT = DEPLOY / "systemd" / "bartsvoice-worker.service"
QUEUES = ("reminders-east", "reminders-west")
REMINDERS = 12


def worker_env(fake: FakeTwilio) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],
        "DATABASE_URL": test_database_url(),
        "DB_CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_API_BASE_URL": fake.base_url,
        "TWILIO_PHONE_NUMBER": "+13125550100",
        "PUBLIC_BASE_URL": "https://voice.example.com",
        "OUTBOUND_CALL_ALLOWLIST": "",
        "REMINDER_CALL_WINDOW": "00:00-23:59",  # the test runs at any hour
        "OUTBOUND_CALLS_PER_SECOND": "100",
        "LOG_LEVEL": "INFO",
    }


@contextlib.contextmanager
def two_workers(app, fake: FakeTwilio, logs: Path):
    """Both workers started at once, entered when both answer a ping."""
    env = worker_env(fake)
    names = {queue: f"{queue}@{os.uname().nodename}" for queue in QUEUES}
    with contextlib.ExitStack() as stack:
        procs = {
            queue: stack.enter_context(
                running_process(
                    [*unit_exec_start(WORKER_UNIT, ""), "--queues", queue, "--hostname", name, "--concurrency", "2"],
                    env=env,
                    log=logs / f"{queue}.log",
                    ready=lambda: True,  # both start at once; their readiness is the ping below
                )
            )
            for queue, name in names.items()
        }

        def both_answer() -> bool:
            for queue, proc in procs.items():
                assert proc.poll() is None, f"the {queue} worker exited:\n{log_tail(logs / f'{queue}.log')}"
            replies = app.control.ping(destination=list(names.values()), timeout=0.5)
            return {name for reply in replies for name in reply} == set(names.values())

        wait_until(both_answer, timeout=90, what="both workers ready")
        yield


def due_reminders(count: int) -> list[int]:
    start = (timezone.now() + timedelta(hours=20)).replace(second=0, microsecond=0)
    for n in range(count):
        customer = Customer.objects.create(first_name="Dana", last_name=f"Reyes {n}", phone=f"+1312555{n + 200:04d}")
        Appointment.objects.create(customer=customer, start=start, end=start + timedelta(minutes=30))
    assert reminders.create_due_reminders() == count
    return list(ReminderAttempt.objects.order_by("pk").values_list("pk", flat=True))


def wait_until(condition, *, timeout: float, what: str):
    """Poll `condition` (the state of other processes: nothing to wait on here) until it holds."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)
    return result


def test_two_workers_on_two_queues_dial_each_reminder_once(tmp_path, settings):
    from bartsvoice.celery import app
    from scheduling.tasks import place_reminder_call

    assert settings.REDIS_URL and app.conf.broker_url.startswith("redis://")
    settings.REMINDER_CALL_WINDOW = "00:00-23:59"  # as the workers have it: the reminders are due now
    with FakeTwilio() as fake:
        ids = due_reminders(REMINDERS)
        with app.connection_for_write() as connection:
            for queue in QUEUES:
                connection.default_channel.queue_purge(queue)  # leftovers of an interrupted run
        with two_workers(app, fake, tmp_path):
            for pk in ids:
                for queue in QUEUES:  # the same reminder handed to both workers at once
                    place_reminder_call.apply_async((pk,), queue=queue)

            def all_taken() -> bool:
                return not ReminderAttempt.objects.filter(pk__in=ids, status=ReminderAttempt.Status.PENDING).exists()

            wait_until(all_taken, timeout=60, what="every reminder claimed")

            def both_done() -> bool:  # every message taken and finished: a late duplicate would have dialled by now
                with app.connection_for_write() as connection:
                    waiting = sum(connection.default_channel.client.llen(queue) for queue in QUEUES)
                active = app.control.inspect(timeout=1).active() or {}
                return waiting == 0 and len(active) == len(QUEUES) and not any(active.values())

            wait_until(both_done, timeout=60, what="both workers idle with empty queues")

        creates = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/Calls.json")]
        dialled = sorted(r.value("Url") for r in creates)
        assert dialled == sorted(f"https://voice.example.com/twilio/voice/outbound/{pk}/" for pk in ids)
        for reminder in ReminderAttempt.objects.filter(pk__in=ids):
            assert (reminder.status, reminder.attempts) == (ReminderAttempt.Status.DIALING, 1), reminder.pk
            assert reminder.call_sid in fake.calls

    # Each worker ran every reminder's task; between them each reminder was placed once, and refused the other time.
    results = {queue: re.findall(r"place_reminder_call\[[^]]+\] succeeded in [0-9.e-]+s: '(\w+)'",
                                 (tmp_path / f"{queue}.log").read_text()) for queue in QUEUES}  # fmt: skip
    assert all(len(ran) == REMINDERS for ran in results.values()), results
    outcomes = [outcome for ran in results.values() for outcome in ran]
    assert (outcomes.count("placed"), outcomes.count("not_claimed")) == (REMINDERS, REMINDERS), results
