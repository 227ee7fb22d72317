"""Placing reminder calls against the Twilio fake: AMD and callbacks, exactly once under redelivery and crashes,
the shared dial rate on real Redis, voicemail, no answer -> retry -> text; and a real Celery worker on Redis."""

import itertools
import threading
import time
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone
from twilio.request_validator import RequestValidator

from calls import texts
from calls.models import Call, TextMessage
from calls.telephony import dial_rate, dialer
from calls.tests.fake_twilio import FakeTwilio
from crm.models import Customer
from scheduling import reminders
from scheduling.availability import shop_tz
from scheduling.models import Appointment, ReminderAttempt, ServiceType

PUBLIC = "https://voice.example.com"
SHOP = "+13125550100"
CUSTOMER = "+13125550142"
Status = ReminderAttempt.Status


def no_sleep(_seconds):
    pass


@pytest.fixture
def fake(settings):
    with FakeTwilio() as server:
        settings.TWILIO_ACCOUNT_SID = server.account_sid
        settings.TWILIO_AUTH_TOKEN = server.auth_token
        settings.TWILIO_API_BASE_URL = server.base_url
        settings.TWILIO_PHONE_NUMBER = SHOP
        settings.PUBLIC_BASE_URL = PUBLIC
        settings.OUTBOUND_CALL_ALLOWLIST = []
        settings.REMINDER_CALL_WINDOW = "00:00-23:59"  # the tests run at any hour
        settings.REMINDER_MAX_ATTEMPTS = 2
        settings.OUTBOUND_CALLS_PER_SECOND = 50
        settings.SMS_CONFIRMATIONS = True
        yield server


@pytest.fixture
def due(db, fake):
    customer = Customer.objects.create(first_name="Dana", last_name="Reyes", phone=CUSTOMER)
    oil = ServiceType.objects.create(code="oil-change", name="Oil change", duration_minutes=30)
    start = (timezone.now() + timedelta(hours=20)).replace(second=0, microsecond=0)
    appt = Appointment.objects.create(customer=customer, start=start, end=start + timedelta(minutes=30))
    appt.service_types.set([oil])
    reminders.create_due_reminders()
    return ReminderAttempt.objects.get(appointment=appt)


def creates(fake):
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/Calls.json")]


def post_signed(client, path, params, token):
    url = PUBLIC + path
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(path, params, headers={"X-Twilio-Signature": signature})


# --- one attempt ------------------------------------------------------------------------------------------


def test_dial_places_a_call_with_machine_detection_and_callbacks(due, fake):
    result = dialer.place_reminder_call(due.pk, sleep=no_sleep)
    assert result.status == "placed"
    [request] = creates(fake)
    assert request.value("To") == CUSTOMER and request.value("From") == SHOP
    assert request.value("Url") == f"{PUBLIC}/twilio/voice/outbound/{due.pk}/"
    assert request.value("MachineDetection") == "DetectMessageEnd"
    assert request.value("AsyncAmd") == "true"
    assert request.value("AsyncAmdStatusCallback") == f"{PUBLIC}/twilio/voice/amd/{due.pk}/"
    assert request.value("StatusCallback") == f"{PUBLIC}/twilio/voice/status/?reminder={due.pk}"
    assert request.value("Timeout") == "30"
    due.refresh_from_db()
    assert (due.status, due.call_sid, due.attempts) == (Status.DIALING, result.call_sid, 1)


def test_a_redelivered_task_calls_nobody_twice(due, fake):
    assert dialer.place_reminder_call(due.pk, sleep=no_sleep).status == "placed"
    assert dialer.place_reminder_call(due.pk, sleep=no_sleep).status == "not_claimed"
    assert len(creates(fake)) == 1


def test_cancelled_after_the_claim_is_not_called(due, fake, monkeypatch):
    def cancel_while_waiting(seconds):
        Appointment.objects.filter(pk=due.appointment_id).update(status=Appointment.Status.CANCELLED)

    monkeypatch.setattr(dial_rate, "reserve_slot", lambda: 0.5)
    assert dialer.place_reminder_call(due.pk, sleep=cancel_while_waiting).status == "skipped"
    assert creates(fake) == []
    due.refresh_from_db()
    assert due.status == Status.SKIPPED and due.result == "Not called: the appointment is cancelled."


def test_allowlist_is_honoured_right_before_dialling(due, fake, settings):
    settings.OUTBOUND_CALL_ALLOWLIST = ["+13125550199"]
    assert dialer.place_reminder_call(due.pk, sleep=no_sleep).status == "skipped"
    assert creates(fake) == []
    due.refresh_from_db()
    assert "OUTBOUND_CALL_ALLOWLIST" in due.result


def test_twilio_refusing_the_call_counts_as_an_attempt(due, fake):
    fake.fail_with = (400, 21215, "Geo permission not enabled")
    assert dialer.place_reminder_call(due.pk, sleep=no_sleep).status == "failed"
    due.refresh_from_db()
    assert due.status == Status.PENDING and due.attempts == 1 and "21215" in due.result


def test_a_lost_answer_from_twilio_is_reconciled_not_redialled(due, fake, settings):
    """The request timed out: Twilio may or may not have placed the call. Nothing is dialled again until Twilio's
    own call list says no call went out."""
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens: connection refused
    assert dialer.place_reminder_call(due.pk, sleep=no_sleep).status == "unknown"
    due.refresh_from_db()
    assert due.status == Status.DIALING and due.call_sid == ""
    settings.TWILIO_API_BASE_URL = fake.base_url
    later = timezone.now() + timedelta(minutes=settings.REMINDER_CLAIM_TIMEOUT_MINUTES + 1)
    assert dialer.place_reminder_call(due.pk, sleep=no_sleep).status == "not_claimed"
    # Twilio did place it after all: the reconciler finds it and adopts it instead of calling again.
    sid = fake.add_call(status="no-answer", to=CUSTOMER, from_=SHOP)
    assert dialer.reconcile_stale_claims(now=later) == 1
    due.refresh_from_db()
    assert due.call_sid == sid and due.status == Status.PENDING and due.attempts == 1  # retried later, as no-answer
    assert creates(fake) == []


def test_a_worker_that_died_between_claim_and_dial_is_released_once(due, fake, settings):
    reminders.claim(due.pk)  # ...and the worker process is killed here
    assert dialer.reconcile_stale_claims() == 0  # too early to tell
    later = timezone.now() + timedelta(minutes=settings.REMINDER_CLAIM_TIMEOUT_MINUTES + 1)
    assert dialer.reconcile_stale_claims(now=later) == 1  # Twilio has no call to that number: it never rang
    due.refresh_from_db()
    assert due.status == Status.PENDING and due.attempts == 0
    assert dialer.place_reminder_call(due.pk, now=later, sleep=no_sleep).status == "placed"
    assert dialer.place_reminder_call(due.pk, now=later, sleep=no_sleep).status == "not_claimed"
    assert len(creates(fake)) == 1


# --- after the call ------------------------------------------------------------------------------------------


def test_machine_gets_the_voicemail_then_a_text(client, due, fake):
    sid = dialer.place_reminder_call(due.pk, sleep=no_sleep).call_sid
    outbound = {"CallSid": sid, "From": SHOP, "To": CUSTOMER, "CallStatus": "in-progress"}
    assert post_signed(client, f"/twilio/voice/outbound/{due.pk}/", outbound, fake.auth_token).status_code == 200
    fake.calls[sid]["status"] = "in-progress"
    human = post_signed(client, f"/twilio/voice/amd/{due.pk}/", {**outbound, "AnsweredBy": "human"}, fake.auth_token)
    assert human.status_code == 204 and len(fake.requests) == 1
    machine = {**outbound, "AnsweredBy": "machine_end_beep"}
    assert post_signed(client, f"/twilio/voice/amd/{due.pk}/", machine, fake.auth_token).status_code == 204
    redirect = fake.requests[-1]
    assert redirect.path.endswith(f"/Calls/{sid}.json")
    root = ET.fromstring(redirect.value("Twiml"))  # noqa: S314 -- TwiML we generated
    assert "Hello Dana, this is" in root.find("Say").text and "3 1 2, 5 5 5, 0 1 0 0" in root.find("Say").text
    assert root.find("Hangup") is not None
    call = Call.objects.get(call_sid=sid)
    assert call.outcome == "voicemail" and call.reminder_id == due.pk
    status = {**outbound, "CallStatus": "completed", "AnsweredBy": "machine_end_beep", "CallDuration": "25"}
    assert post_signed(client, f"/twilio/voice/status/?reminder={due.pk}", status, fake.auth_token).status_code == 204
    due.refresh_from_db()
    assert (due.status, due.outcome, due.result) == (Status.DONE, "voicemail", "Voicemail left.")
    [text] = TextMessage.objects.all()
    assert text.status == "queued" and text.kind == "reminder" and text.to_number == CUSTOMER
    assert texts.send(text.pk) == "sent" and texts.send(text.pk) == "not_queued"
    [sms] = fake.messages
    assert sms["to"] == CUSTOMER and "a reminder of your oil change" in sms["body"]


def test_no_answer_is_retried_then_texted(client, due, fake):
    for attempt in (1, 2):
        ReminderAttempt.objects.filter(pk=due.pk).update(next_attempt_at=timezone.now())
        sid = dialer.place_reminder_call(due.pk, sleep=no_sleep).call_sid
        params = {"CallSid": sid, "From": SHOP, "To": CUSTOMER, "CallStatus": "no-answer", "Direction": "outbound-api"}
        path = f"/twilio/voice/status/?reminder={due.pk}"
        assert post_signed(client, path, params, fake.auth_token).status_code == 204
        assert post_signed(client, path, params, fake.auth_token).status_code == 204  # Twilio retries
        due.refresh_from_db()
        if attempt == 1:
            assert due.status == Status.PENDING and due.next_attempt_at > timezone.now() + timedelta(minutes=29)
            assert not TextMessage.objects.exists()
    assert (due.status, due.outcome, due.attempts) == (Status.FAILED, "no_answer", 2)
    assert len(creates(fake)) == 2
    assert Call.objects.filter(reminder=due, status="failed").count() == 2
    [text] = TextMessage.objects.all()
    assert text.kind == "reminder"


def test_without_twilio_the_reminder_rings_in_the_softphone(due, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    result = dialer.place_reminder_call(due.pk, sleep=no_sleep)
    assert result.status == "placed" and result.call_sid.startswith("SP")
    call = Call.objects.get(call_sid=result.call_sid)
    assert (call.transport, call.direction, call.status, call.reminder_id) == (
        "softphone",
        "outbound",
        "ringing",
        due.pk,
    )
    assert dialer.end_unanswered_ring(result.call_sid) is True
    assert dialer.end_unanswered_ring(result.call_sid) is False
    due.refresh_from_db()
    assert due.status == Status.PENDING and "no answer" in due.result
    call.refresh_from_db()
    assert call.status == "failed" and call.summary == "No answer"


def test_texts_honour_do_not_call_and_say_why_they_were_not_sent(due, settings):
    Customer.objects.filter(phone=CUSTOMER).update(do_not_call=True)
    appt = Appointment.objects.get(pk=due.appointment_id)
    text = texts.confirmation_text("booked", appt.pk, call_id=None)
    assert text.status == "not_sent" and text.status_label == "not sent: customer is on do-not-call"
    Customer.objects.filter(phone=CUSTOMER).update(do_not_call=False)
    settings.TWILIO_AUTH_TOKEN = ""
    again = texts.confirmation_text("rescheduled", appt.pk, call_id=None)
    assert again.status_label == "not sent: no SMS provider"
    assert texts.confirmation_text("rescheduled", appt.pk, call_id=None) is None  # once
    settings.SMS_CONFIRMATIONS = False
    assert texts.confirmation_text("cancelled", appt.pk, call_id=None) is None


# --- the dial rate, shared on real Redis ---------------------------------------------------------------------


def test_dial_rate_is_shared_by_concurrent_workers(settings):
    assert settings.REDIS_URL, "runs against the real Redis"
    settings.OUTBOUND_CALLS_PER_SECOND = 10
    from django_redis import get_redis_connection

    get_redis_connection("default").delete(f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:{dial_rate.KEY}")
    dialled: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(5):
            dial_rate.wait_for_slot()
            with lock:
                dialled.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    dialled.sort()
    gaps = [b - a for a, b in itertools.pairwise(dialled)]
    assert len(dialled) == 15
    # 10 a second at most, whichever worker dials: 15 dials take at least 14 spacings. A thread woken late by a
    # busy scheduler records its time late, so single gaps may look shorter than the slots Redis handed out.
    assert dialled[-1] - dialled[0] >= 1.3
    assert min(gaps) >= 0.05  # without the shared limiter the three workers dial together (gaps near 0)


# --- a real worker on the real broker ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_takes_a_reminder_from_the_sweep_to_a_placed_call(fake, settings):
    """Beat's task on the Redis broker -> a worker claims and dials -> the Twilio fake gets exactly one call."""
    from celery.contrib.testing.worker import start_worker

    from bartsvoice.celery import app
    from scheduling.tasks import dispatch_reminders

    assert settings.REDIS_URL and app.conf.broker_url.startswith("redis://")
    customer = Customer.objects.create(first_name="Dana", last_name="Reyes", phone=CUSTOMER)
    start = timezone.now().astimezone(shop_tz()) + timedelta(hours=3)
    Appointment.objects.create(customer=customer, start=start, end=start + timedelta(minutes=30))
    app.control.purge()
    with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, shutdown_timeout=10):
        dispatch_reminders.delay()
        dispatch_reminders.delay()  # beat firing twice
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not creates(fake):
            time.sleep(0.1)
        time.sleep(1)  # time for a duplicate to show, if there were one
    assert len(creates(fake)) == 1
    reminder = ReminderAttempt.objects.get()
    assert reminder.status == Status.DIALING and reminder.call_sid in fake.calls
