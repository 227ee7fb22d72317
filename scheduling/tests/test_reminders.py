"""The reminder ledger: which appointments are due, calling hours (DST included), do-not-call, the allowlist, the
claim and the re-check before dialling, retries; and exactly once under concurrency on real PostgreSQL."""

import threading
from datetime import UTC, date, time, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

from crm.models import Customer
from scheduling import reminders
from scheduling.models import Appointment, ReminderAttempt
from scheduling.tests.conftest import local

Status = ReminderAttempt.Status
MONDAY = date(2026, 3, 2)  # a Monday; the appointments are on Tuesday
NOW = local(MONDAY, 10)


@pytest.fixture(autouse=True)
def _rules(settings):
    settings.SHOP_TIMEZONE = "America/Chicago"
    settings.REMINDER_LEAD_HOURS = 24
    settings.REMINDER_CALL_WINDOW = "09:00-20:00"
    settings.REMINDER_MAX_ATTEMPTS = 2
    settings.REMINDER_RETRY_MINUTES = 30
    settings.OUTBOUND_CALL_ALLOWLIST = []


def appointment(customer, start, status=Appointment.Status.SCHEDULED):
    return Appointment.objects.create(customer=customer, start=start, end=start + timedelta(minutes=30), status=status)


def customers(n, **fields):
    return [
        Customer.objects.create(first_name=f"C{i}", last_name="Test", phone=f"+1312555{i:04d}", **fields)
        for i in range(n)
    ]


# --- calling hours ------------------------------------------------------------------------------------------


def test_call_window_edges():
    window = reminders.call_window()
    assert window.contains(local(MONDAY, 9))
    assert window.contains(local(MONDAY, 19, 59))
    assert not window.contains(local(MONDAY, 20))
    assert not window.contains(local(MONDAY, 8, 59))
    assert window.next_opening(local(MONDAY, 8, 30)) == local(MONDAY, 9)
    assert window.next_opening(local(MONDAY, 20)) == local(MONDAY + timedelta(days=1), 9)
    assert window.next_opening(local(MONDAY, 23, 59)) == local(MONDAY + timedelta(days=1), 9)
    assert window.next_opening(local(MONDAY, 12)) == local(MONDAY, 12)


def test_call_window_keeps_wall_clock_hours_across_daylight_saving():
    """Sunday March 8 2026 the clocks in Chicago jump from 2:00 to 3:00: 9:00 that day is 14:00 UTC, not 15:00."""
    window = reminders.call_window()
    night = local(date(2026, 3, 8), 1, 30)  # CST, before the jump
    opening = window.next_opening(night)
    assert opening == local(date(2026, 3, 8), 9)
    assert opening.utcoffset() == timedelta(hours=-5)  # CDT
    # 7:30 of wall clock, one hour less of real time
    assert opening.astimezone(UTC) - night.astimezone(UTC) == timedelta(hours=6, minutes=30)
    fall = local(date(2026, 11, 1), 0, 30)  # CDT; at 2:00 it becomes 1:00 CST
    assert window.next_opening(fall).utcoffset() == timedelta(hours=-6)


@pytest.mark.parametrize("raw", ["9-5", "20:00-09:00", "09:00", "nine to five"])
def test_a_bad_call_window_is_a_clear_error(settings, raw):
    settings.REMINDER_CALL_WINDOW = raw
    with pytest.raises(ImproperlyConfigured, match="REMINDER_CALL_WINDOW"):
        reminders.call_window()


# --- the sweep's selection ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sweep_selects_active_appointments_within_the_lead_time(customer, other_customer):
    c3, c4, c5 = customers(3)
    due = appointment(customer, local(MONDAY, 10) + timedelta(days=1))  # exactly 24 h ahead
    soon = appointment(other_customer, local(MONDAY, 15))  # today: due since yesterday, not yet reminded
    confirmed = appointment(c3, local(MONDAY + timedelta(days=1), 9), Appointment.Status.CONFIRMED)
    appointment(c4, local(MONDAY + timedelta(days=1), 10, 30))  # 24 h 30 min ahead: next sweeps
    appointment(c5, local(MONDAY, 9))  # already started
    appointment(c5, local(MONDAY, 16), Appointment.Status.CANCELLED)
    assert reminders.create_due_reminders(now=NOW) == 3
    rows = {r.appointment_id: r for r in ReminderAttempt.objects.all()}
    assert set(rows) == {due.pk, soon.pk, confirmed.pk}
    assert all(r.status == Status.PENDING and r.next_attempt_at == NOW for r in rows.values())
    assert rows[due.pk].appointment_start == due.start
    assert reminders.create_due_reminders(now=NOW) == 0  # nothing twice


@pytest.mark.django_db
def test_due_outside_calling_hours_waits_for_the_next_opening(customer, other_customer):
    early = appointment(customer, local(MONDAY + timedelta(days=1), 7))  # due Monday 7:00
    late = appointment(other_customer, local(MONDAY + timedelta(days=1), 21))  # due Monday 21:00
    reminders.create_due_reminders(now=local(MONDAY, 7))
    assert ReminderAttempt.objects.get(appointment=early).next_attempt_at == local(MONDAY, 9)
    reminders.create_due_reminders(now=local(MONDAY, 21))
    row = ReminderAttempt.objects.get(appointment=late)
    assert row.status == Status.PENDING and row.next_attempt_at == local(MONDAY + timedelta(days=1), 9)


@pytest.mark.django_db
def test_skipped_with_reason_when_no_calling_hours_are_left(settings, customer):
    settings.REMINDER_LEAD_HOURS = 2
    appt = appointment(customer, local(MONDAY + timedelta(days=1), 8))  # due Tuesday 6:00, window opens at 9:00
    reminders.create_due_reminders(now=local(MONDAY + timedelta(days=1), 6))
    row = ReminderAttempt.objects.get(appointment=appt)
    assert row.status == Status.SKIPPED and row.next_attempt_at is None
    assert row.result == "Not called: no calling hours left before the appointment."


@pytest.mark.django_db
def test_do_not_call_and_allowlist_are_skipped_with_the_reason(settings, customer, other_customer):
    customer.do_not_call = True
    customer.save()
    settings.OUTBOUND_CALL_ALLOWLIST = ["(312) 555-0000"]
    a = appointment(customer, local(MONDAY, 15))
    b = appointment(other_customer, local(MONDAY, 16))
    [listed] = customers(1)  # +13125550000
    c = appointment(listed, local(MONDAY, 17))
    reminders.create_due_reminders(now=NOW)
    rows = {r.appointment_id: r for r in ReminderAttempt.objects.all()}
    assert rows[a.pk].status == Status.SKIPPED and "do-not-call" in rows[a.pk].result
    assert rows[b.pk].status == Status.SKIPPED and "OUTBOUND_CALL_ALLOWLIST" in rows[b.pk].result
    assert rows[c.pk].status == Status.PENDING


# --- claim, re-check, retries ---------------------------------------------------------------------------------


@pytest.fixture
def due(customer):
    appt = appointment(customer, local(MONDAY + timedelta(days=1), 10))
    reminders.create_due_reminders(now=NOW)
    return ReminderAttempt.objects.get(appointment=appt)


@pytest.mark.django_db
def test_claim_is_won_once(due):
    first = reminders.claim(due.pk, now=NOW)
    assert first is not None and first.status == Status.DIALING and first.attempts == 1
    assert reminders.claim(due.pk, now=NOW) is None  # a redelivered task
    assert reminders.claim(due.pk, now=NOW + timedelta(hours=1)) is None


@pytest.mark.django_db
def test_claim_waits_for_its_time(due):
    ReminderAttempt.objects.filter(pk=due.pk).update(next_attempt_at=NOW + timedelta(minutes=5))
    assert reminders.claim(due.pk, now=NOW) is None
    assert reminders.claim(due.pk, now=NOW + timedelta(minutes=5)) is not None


@pytest.mark.django_db
def test_recheck_catches_cancelled_moved_and_do_not_call_after_the_claim(due, customer):
    claimed = reminders.claim(due.pk, now=NOW)
    assert reminders.recheck(claimed, now=NOW).action == "dial"
    appt = claimed.appointment
    two_days = timedelta(days=2)
    Appointment.objects.filter(pk=appt.pk).update(start=appt.start + two_days, end=appt.end + two_days)
    verdict = reminders.recheck(claimed, now=NOW)
    assert verdict.action == "wait" and verdict.at == appt.start + timedelta(days=1)  # 24 h before the new time
    assert reminders.release(claimed, at=verdict.at, note=verdict.reason, now=NOW)
    row = ReminderAttempt.objects.get(pk=due.pk)
    assert (row.status, row.attempts, row.appointment_start) == (Status.PENDING, 0, appt.start + timedelta(days=2))

    again = reminders.claim(due.pk, now=verdict.at)
    Customer.objects.filter(pk=customer.pk).update(do_not_call=True)
    verdict = reminders.recheck(again, now=verdict.at)
    assert verdict == reminders.Verdict("skip", "the customer is on do-not-call")
    assert reminders.skip(again, reason=verdict.reason)
    assert ReminderAttempt.objects.get(pk=due.pk).status == Status.SKIPPED


@pytest.mark.django_db
def test_recheck_of_a_cancelled_appointment_and_outside_hours(due):
    claimed = reminders.claim(due.pk, now=NOW)
    evening = local(MONDAY, 20, 30)
    verdict = reminders.recheck(claimed, now=evening)
    assert verdict.action == "wait" and verdict.at == local(MONDAY + timedelta(days=1), 9)
    Appointment.objects.filter(pk=due.appointment_id).update(status=Appointment.Status.CANCELLED)
    assert reminders.recheck(claimed, now=NOW) == reminders.Verdict("skip", "the appointment is cancelled")


@pytest.mark.django_db
def test_no_answer_is_retried_with_backoff_then_given_up(due):
    claimed = reminders.claim(due.pk, now=NOW)
    reminders.mark_placed(claimed, call_sid="CA1", now=NOW)
    assert reminders.not_reached(due.pk, call_sid="CA1", reason="no answer", now=NOW) == "retry"
    assert reminders.not_reached(due.pk, call_sid="CA1", reason="no answer", now=NOW) == ""  # callback repeated
    row = ReminderAttempt.objects.get(pk=due.pk)
    assert row.status == Status.PENDING and row.next_attempt_at == NOW + timedelta(minutes=30)
    assert "trying again at Mon 10:30 AM" in row.result
    second = reminders.claim(due.pk, now=NOW + timedelta(minutes=30))
    reminders.mark_placed(second, call_sid="CA2")
    assert reminders.not_reached(due.pk, call_sid="CA1", reason="busy") == ""  # news of the first call
    assert reminders.not_reached(due.pk, call_sid="CA2", reason="line busy") == "final"
    row = ReminderAttempt.objects.get(pk=due.pk)
    assert (row.status, row.outcome, row.attempts) == (Status.FAILED, "no_answer", 2)
    assert row.result == "Not reached: line busy (called 2 times)."


@pytest.mark.django_db
def test_a_retry_after_calling_hours_waits_for_the_morning(due):
    evening = local(MONDAY, 19, 50)
    ReminderAttempt.objects.filter(pk=due.pk).update(next_attempt_at=evening)
    claimed = reminders.claim(due.pk, now=evening)
    reminders.mark_placed(claimed, call_sid="CA1")
    assert reminders.not_reached(due.pk, call_sid="CA1", reason="no answer", now=evening) == "retry"
    assert ReminderAttempt.objects.get(pk=due.pk).next_attempt_at == local(MONDAY + timedelta(days=1), 9)


@pytest.mark.django_db
def test_settle_is_once_and_only_improves(due):
    claimed = reminders.claim(due.pk, now=NOW)
    reminders.mark_placed(claimed, call_sid="CA1")
    assert reminders.settle(due.pk, call_sid="CA1", outcome="hung_up", result="hung up")
    assert reminders.settle(due.pk, call_sid="CA1", outcome="confirmed", result="Confirmed.")
    assert not reminders.settle(due.pk, call_sid="CA1", outcome="hung_up", result="hung up")
    assert not reminders.settle(due.pk, call_sid="CA9", outcome="cancelled", result="other call")
    row = ReminderAttempt.objects.get(pk=due.pk)
    assert (row.status, row.outcome, row.result) == (Status.DONE, "confirmed", "Confirmed.")


@pytest.mark.django_db
def test_send_now_uses_the_same_row_and_refuses_twice(customer):
    appt = appointment(customer, local(MONDAY + timedelta(days=2), 10))
    reminder = reminders.send_now(appointment=appt, now=NOW)
    assert reminder.status == Status.PENDING and reminder.next_attempt_at == NOW
    claimed = reminders.claim(reminder.pk, now=NOW)
    with pytest.raises(ValueError, match="under way"):
        reminders.send_now(appointment=appt, now=NOW)
    reminders.mark_placed(claimed, call_sid="CA1")
    reminders.settle(reminder.pk, call_sid="CA1", outcome="confirmed", result="Confirmed.")
    with pytest.raises(ValueError, match="already reached"):
        reminders.send_now(appointment=appt, now=NOW)
    with pytest.raises(ValueError, match="reminders ring between 09:00 and 20:00"):
        reminders.send_now(appointment=appointment(customers(1)[0], local(MONDAY, 22)), now=local(MONDAY, 21))


@pytest.mark.django_db
def test_a_sweep_hands_out_what_the_dial_rate_can_place(settings, monkeypatch):
    from scheduling import tasks

    settings.OUTBOUND_CALLS_PER_SECOND = 0.05  # 30 calls in the 10 minutes before a hand-out may repeat
    soon = timezone.now() + timedelta(hours=2)  # the task sweeps at the real time
    for i, person in enumerate(customers(40)):
        appointment(person, soon + timedelta(minutes=i))
    monkeypatch.setattr(reminders, "call_window", lambda: reminders.CallWindow(time(0), time(23, 59)))
    summary = tasks.dispatch_reminders()
    assert summary["created"] == 40 and summary["enqueued"] == 30
    assert ReminderAttempt.objects.filter(enqueued_at__isnull=False).count() == 30


@pytest.mark.django_db
def test_results_summary_for_the_dashboard(due, customer):
    claimed = reminders.claim(due.pk, now=NOW)
    reminders.mark_placed(claimed, call_sid="CA1")
    reminders.settle(due.pk, call_sid="CA1", outcome="confirmed", result="Confirmed.")
    other = appointment(customers(1, do_not_call=True)[0], local(MONDAY, 15))
    reminders.create_due_reminders(now=NOW)
    day = local(MONDAY, 0), local(MONDAY + timedelta(days=2), 0)
    summary = reminders.results_summary(start=day[0], end=day[1])
    assert summary["confirmed"] == 1 and summary["skipped"] == 1 and summary["pending"] == 0
    assert ReminderAttempt.objects.get(appointment=other).status == Status.SKIPPED


@pytest.mark.django_db
def test_a_reminder_stays_counted_on_the_day_it_was_about_after_the_appointment_moves(customer):
    appt = appointment(customer, local(MONDAY + timedelta(days=1), 9))
    made_by_hand = ReminderAttempt.objects.create(appointment=appt)  # no start given: its appointment's
    assert made_by_hand.appointment_start == appt.start
    Appointment.objects.filter(pk=appt.pk).update(start=local(MONDAY + timedelta(days=8), 9),
                                                  end=local(MONDAY + timedelta(days=8), 10))  # fmt: skip
    tuesday = local(MONDAY + timedelta(days=1), 0), local(MONDAY + timedelta(days=2), 0)
    next_tuesday = local(MONDAY + timedelta(days=8), 0), local(MONDAY + timedelta(days=9), 0)
    assert list(reminders.reminders_about(start=tuesday[0], end=tuesday[1])) == [made_by_hand]
    assert not reminders.reminders_about(start=next_tuesday[0], end=next_tuesday[1]).exists()


# --- exactly once under concurrency (real PostgreSQL) ---------------------------------------------------------


def _together(n, work):
    """Run work(i) on n threads released at the same moment, each on its own database connection."""
    barrier = threading.Barrier(n, timeout=30)
    results, errors = [None] * n, []

    def run(i):
        try:
            Customer.objects.exists()  # connect before the barrier
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_create_and_hand_out_each_reminder_once():
    people = customers(60)
    for i, person in enumerate(people):
        appointment(person, NOW + timedelta(hours=1, minutes=i))
    _together(4, lambda i: reminders.create_due_reminders(now=NOW))
    assert ReminderAttempt.objects.count() == 60  # one row per appointment, whichever sweep made it
    handed = _together(4, lambda i: reminders.take_due(now=NOW, limit=25))
    ids = [pk for batch in handed for pk in batch]
    assert len(ids) == len(set(ids))  # no reminder handed out twice
    more = reminders.take_due(now=NOW, limit=100)
    assert sorted(ids + more) == sorted(ReminderAttempt.objects.values_list("pk", flat=True))
    assert reminders.take_due(now=NOW + timedelta(minutes=5)) == []  # handed out recently: not again
    assert len(reminders.take_due(now=NOW + reminders.REQUEUE_AFTER + timedelta(seconds=1))) == 60  # lost messages


@pytest.mark.django_db(transaction=True)
def test_many_workers_claiming_one_reminder_one_wins():
    [person] = customers(1)
    appointment(person, NOW + timedelta(hours=2))
    reminders.create_due_reminders(now=NOW)
    pk = ReminderAttempt.objects.get().pk
    won = _together(8, lambda i: reminders.claim(pk, now=NOW))
    assert sum(r is not None for r in won) == 1
    assert ReminderAttempt.objects.get().attempts == 1


def test_beat_runs_the_sweep_every_interval(settings):
    from bartsvoice.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["dispatch-reminders"]
    assert entry["task"] == "scheduling.tasks.dispatch_reminders" and entry["schedule"] == 300.0
    app.loader.import_default_modules()
    assert {
        "scheduling.tasks.dispatch_reminders",
        "scheduling.tasks.place_reminder_calls",
        "scheduling.tasks.place_reminder_call",
        "calls.tasks.send_text",
    } <= set(app.tasks)


@pytest.mark.django_db
def test_send_reminder_now_from_the_appointment_admin(
    admin_client, customer, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from scheduling import tasks

    settings.REMINDER_CALL_WINDOW = "00:00-23:59"
    appt = appointment(customer, timezone.now() + timedelta(days=3))
    sent = []
    monkeypatch.setattr(tasks.place_reminder_call, "delay", lambda pk: sent.append(pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/scheduling/appointment/",
            {"action": "send_reminder_now", "_selected_action": [appt.pk]},
            follow=True,
        )
    assert "1 appointment queued for a reminder call." in response.content.decode()
    reminder = ReminderAttempt.objects.get(appointment=appt)
    assert sent == [reminder.pk] and reminder.status == Status.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        ReminderAttempt.objects.filter(pk=reminder.pk).update(
            status=Status.DONE, outcome="confirmed", result="Confirmed."
        )
        response = admin_client.post(
            "/admin/scheduling/appointment/",
            {"action": "send_reminder_now", "_selected_action": [appt.pk]},
            follow=True,
        )
    assert "already reached the customer" in response.content.decode() and sent == [reminder.pk]


@pytest.mark.django_db
def test_reminder_and_text_lists_in_admin(admin_client, due):
    from calls.models import Call, TextMessage

    claimed = reminders.claim(due.pk, now=NOW)
    reminders.mark_placed(claimed, call_sid="CA1")
    Call.objects.create(call_sid="CA1", direction="outbound", started_at=NOW, reminder=due, outcome="confirmed")
    reminders.settle(due.pk, call_sid="CA1", outcome="confirmed", result="Confirmed by the customer.")
    page = admin_client.get("/admin/scheduling/reminderattempt/?outcome=confirmed").content.decode()
    assert "Confirmed by the customer." in page and "Dana Whitfield" in page and "/admin/calls/call/" in page
    assert (
        "Confirmed by the customer."
        not in admin_client.get("/admin/scheduling/reminderattempt/?outcome=voicemail").content.decode()
    )
    assert admin_client.get("/admin/scheduling/reminderattempt/?appointment_day=tomorrow").status_code == 200
    TextMessage.objects.create(
        to_number="+13125550142", body="Hi", kind="reminder", status="not_sent", status_reason="no SMS provider"
    )
    assert "not sent: no SMS provider" in admin_client.get("/admin/calls/textmessage/").content.decode()
