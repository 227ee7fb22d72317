"""The dashboard's figures on a small, hand-counted month, and the page that shows them."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from calls import metrics
from calls.metrics import Period, dashboard
from calls.models import Call, TextMessage
from calls.tests import call_log_fixtures
from calls.tests.call_log_fixtures import STARTED, add_conversation, add_tool, latency, make_call
from calls.tests.conftest import simulate_reminder
from crm.models import Customer
from scheduling.availability import shop_tz
from scheduling.models import Appointment, ReminderAttempt

people = call_log_fixtures.people
PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30))
NOW = STARTED + timedelta(days=10)  # December 5


@pytest.fixture
def month(db):
    """Inbound: 2 booked, 1 looked for slots and gave up, 1 info, 1 transferred, 1 call-back promised, 1 abandoned;
    reminders: confirmed, cancelled, voicemail (texted), no answer (called twice, text not sent); one call outside
    the period."""
    maria = Customer.objects.create(first_name="Maria", last_name="Garcia", phone="+13125550142")
    at = STARTED  # Wed Nov 25, 7:30
    calls = {
        "booked1": make_call(1, started=at, outcome="booked"),
        "booked2": make_call(2, started=at + timedelta(hours=3), outcome="booked"),
        "looked": make_call(3, started=at + timedelta(days=1), outcome="info"),
        "info": make_call(4, started=at + timedelta(days=1, hours=1), outcome="info"),
        "transferred": make_call(5, started=at - timedelta(days=2), outcome="transferred"),
        "callback": make_call(6, started=at - timedelta(days=2), outcome="info", callback_requested=True),
        "abandoned": make_call(7, started=at - timedelta(days=3), outcome="abandoned"),
        "outside": make_call(8, started=at + timedelta(days=30), outcome="booked"),
    }
    add_tool(calls["looked"], 2, "get_available_slots")
    add_tool(calls["booked1"], 2, "get_available_slots")
    add_conversation(
        calls["booked1"],
        [
            ("a", "b", latency(100, 400, 100, 100)),  # 700
            ("c", "d", latency(100, 1200, 100, 100)),
        ],
    )  # 1500; fmt: skip
    add_conversation(calls["info"], [("e", "f", latency(100, 900, 100, 100))])  # 1200
    add_conversation(calls["outside"], [("g", "h", latency(100, 2900, 100, 100))])  # after the period: not counted
    appointments = []
    for n, status in enumerate(["completed", "no_show", "completed", "no_show", "completed"]):
        start = at - timedelta(days=n + 1)
        appointments.append(Appointment.objects.create(customer=maria, start=start, status=status,
                                                       end=start + timedelta(minutes=30)))  # fmt: skip
    # The reminder ledger's rows, each with its call(s) as the dialer leaves them.
    for n, (outcome, status, appt, result) in enumerate([
        ("confirmed", "completed", appointments[0], "confirmed"),  # reminded, came
        ("voicemail", "completed", appointments[1], "voicemail"),  # reminded (voicemail), no-show
        ("cancelled", "completed", appointments[2], "cancelled"),
        ("failed", "failed", appointments[3], "no_answer"),        # never connected: not reminded, no-show
    ]):  # fmt: skip
        reminder = ReminderAttempt.objects.create(
            appointment=appt,
            status="failed" if result == "no_answer" else "done",
            outcome=result,
            attempts=2 if result == "no_answer" else 1,
            appointment_start=appt.start,
        )
        started = at - timedelta(days=n + 2, hours=-5)
        make_call(20 + n, started=started, direction="outbound", outcome=outcome, status=status, appointment=appt,
                  from_number=maria.phone, reminder=reminder)  # fmt: skip
        if result == "no_answer":  # the retry two hours later: no answer either, then a text (not sent)
            make_call(30, started=started + timedelta(hours=2), direction="outbound", outcome=outcome, status=status,
                      appointment=appt, from_number=maria.phone, reminder=reminder)  # fmt: skip
            TextMessage.objects.create(to_number=maria.phone, body="Reminder", kind="reminder", appointment=appt,
                                       status="not_sent", dedupe_key=f"reminder:{reminder.pk}")  # fmt: skip
        if result == "voicemail":
            TextMessage.objects.create(to_number=maria.phone, body="Reminder", kind="reminder", appointment=appt,
                                       status="sent", dedupe_key=f"reminder:{reminder.pk}")  # fmt: skip
    return calls


@pytest.mark.django_db
def test_dashboard_figures(month):
    board = dashboard(PERIOD, now=NOW)
    t = board.totals
    assert (t["calls"], t["inbound"], t["outbound"]) == (12, 7, 5)
    # booked 2, info 2 (a third promised a call-back: not counted), confirmed, cancelled, voicemail
    assert t["handled"] == 2 + 2 + 3
    assert (t["booked_inbound"], t["wanted_booking"]) == (2, 3)
    assert board.booking_conversion == pytest.approx(2 / 3)
    assert (t["transferred"], t["callbacks"], t["abandoned"], t["cancelled"]) == (1, 1, 1, 1)
    assert board.latency_replies == 3
    assert board.latency_p50 == pytest.approx(1200)
    assert board.latency_p95 == pytest.approx(1470)  # 1200 + 0.9 * (1500 - 1200)
    assert dict(board.latency_histogram)["0.5–0.75 s"] == 1
    assert dict(board.latency_histogram)["1–1.25 s"] == 1
    assert dict(board.latency_histogram)["1.5–2 s"] == 1
    # One per reminder: the no-answer reminder was called twice and counts once.
    reminders = {key: n for key, _, n in board.reminders if n}
    assert reminders == {"confirmed": 1, "cancelled": 1, "voicemail": 1, "no_answer": 1}
    assert board.reminder_texts == {"sent": 1, "not_sent": 1}
    assert board.no_show["reminded"] == {"over": 3, "no_shows": 1, "rate": pytest.approx(1 / 3)}
    assert board.no_show["not_reminded"] == {"over": 2, "no_shows": 1, "rate": pytest.approx(1 / 2)}
    per_day = dict(board.per_day)
    assert len(per_day) == 30
    assert per_day[date(2026, 11, 25)] == {"booked": 2}
    assert sum(n for _, n in board.by_hour) == 12
    assert {h: n for h, n in board.by_hour if n} == {7: 5, 8: 1, 10: 1, 12: 4, 14: 1}
    assert dict(board.by_weekday)["Wed"] == 2


@pytest.mark.django_db
def test_reply_latency_without_postgresql_percentiles_gives_the_same_figures(month, monkeypatch):
    # The embedded SQLite default computes percentiles and buckets in Python: same definitions as PostgreSQL's.
    on_postgresql = dashboard(PERIOD, now=NOW)
    monkeypatch.setattr(metrics, "connection", SimpleNamespace(vendor="sqlite"))
    in_python = dashboard(PERIOD, now=NOW)
    assert in_python.latency_replies == on_postgresql.latency_replies == 3
    assert in_python.latency_p50 == pytest.approx(on_postgresql.latency_p50)
    assert in_python.latency_p95 == pytest.approx(on_postgresql.latency_p95)
    assert in_python.latency_histogram == on_postgresql.latency_histogram


@pytest.mark.django_db
def test_dashboard_with_no_calls_divides_by_nothing(db):
    board = dashboard(PERIOD, now=NOW)
    assert board.totals["calls"] == 0
    assert board.booking_conversion is None and board.latency_p50 is None


@pytest.mark.django_db
def test_dashboard_page_draws_the_charts_for_the_chosen_period(client, people, month):
    client.force_login(people["manager"])
    page = client.get(reverse("calls:dashboard"), {"date_from": "2026-11-01", "date_to": "2026-11-30"})
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('<svg class="chart"') == 4
    assert 'class="bar c-booked"' in html and "Nov 25 · Booked: 2" in html
    assert "67%" in html  # booking conversion
    assert "Sun Nov 1, 2026 – Mon Nov 30, 2026" in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params", [{"date_from": "yesterday"}, {"date_from": "2026-11-30", "date_to": "2026-11-01"},
               {"date_from": "2020-01-01", "date_to": "2026-11-30"}],
)  # fmt: skip
def test_dashboard_bad_period_is_explained_and_falls_back_to_30_days(client, people, params):
    client.force_login(people["manager"])
    page = client.get(reverse("calls:dashboard"), params)
    assert page.status_code == 200
    assert 'class="field-error"' in page.content.decode()


@pytest.mark.django_db
def test_outcomes_of_calls_still_going_are_shown_as_in_progress(db):
    make_call(1, outcome="", status=Call.Status.IN_PROGRESS, minutes=None)
    board = dashboard(PERIOD, now=NOW)
    assert board.outcomes_seen == ["in_progress"]


@pytest.mark.django_db(transaction=True)
def test_reminder_results_from_real_reminder_calls(tmp_path, reminder_shop, settings, client, people):
    """Five reminders through `simulate_call --reminder` (the dialer's ledger path): confirmed, moved (to the day
    after, out of the period: still counted with the day it reminded about), cancelled, voicemail, and no answer
    twice. Each counts once; the two that went unanswered were texted (no SMS provider here: not sent)."""
    settings.REMINDER_MAX_ATTEMPTS = 2
    tomorrow = reminder_shop.start
    scripts = {
        "confirmed": ["yep I'll be there", "no that's it"],
        "moved": ["can we do the day after instead", "the first one", "yes", "no"],
        "cancelled": ["actually cancel it", "yes", "no thanks"],
    }
    appointments = {"confirmed": reminder_shop}
    for n, name in enumerate(["moved", "cancelled", "voicemail", "no_answer"], start=1):
        person = Customer.objects.create(first_name=name.title(), last_name="Doe", phone=f"+1312555017{n}")
        start = tomorrow + timedelta(hours=n)
        appointments[name] = Appointment.objects.create(customer=person, start=start, end=start + timedelta(minutes=30))
        appointments[name].service_types.set(reminder_shop.service_types.all())
    for name, lines in scripts.items():
        assert simulate_reminder(tmp_path, appointments[name], lines)[2], name
    assert simulate_reminder(tmp_path, appointments["voicemail"], answer="machine")[2]
    for _attempt in (1, 2):
        simulate_reminder(tmp_path, appointments["no_answer"], answer="none")
    assert Call.objects.filter(appointment=appointments["no_answer"], direction="outbound").count() == 2
    appointments["moved"].refresh_from_db()
    assert appointments["moved"].start.date() > tomorrow.date()

    today = timezone.localtime(timezone.now(), shop_tz()).date()
    period = Period(today, tomorrow.astimezone(shop_tz()).date())
    board = dashboard(period, now=timezone.now())
    reminders = {key: n for key, _, n in board.reminders if n}
    assert reminders == {"confirmed": 1, "rescheduled": 1, "cancelled": 1, "voicemail": 1, "no_answer": 1}
    assert board.reminder_texts == {"sent": 0, "not_sent": 2}

    client.force_login(people["manager"])
    html = client.get(reverse("calls:dashboard"), {"date_from": period.first, "date_to": period.last}).content.decode()
    for key, label, n in [("rescheduled", "Moved", 1), ("no_answer", "No answer", 1), ("pending", "Still to call", 0),
                          ("text-not-sent", "Text not sent", 2)]:  # fmt: skip
        assert f'<tr data-result="{key}"><th scope="row">{label}</th><td class="num">{n}</td></tr>' in html


@pytest.mark.django_db
def test_a_moved_appointments_reminders_count_on_their_own_days(shop):
    """Reminded for Nov 10 (confirmed), moved to Nov 20, reminded again (voicemail, then a text): Nov 10 counts one
    reminder, moved, and no text; Nov 20 counts the voicemail and its text."""
    from scheduling import reminders as ledger
    from scheduling import services

    maria = Customer.objects.create(first_name="Maria", last_name="Garcia", phone="+13125550142")
    first = timezone.make_aware(timezone.datetime(2026, 11, 10, 9), shop_tz())
    appt = Appointment.objects.create(customer=maria, start=first, end=first + timedelta(minutes=30))
    old = ReminderAttempt.objects.create(appointment=appt, status="done", outcome="confirmed", attempts=1)
    services.update_appointment(appointment=appt, start=first + timedelta(days=10), now=first - timedelta(days=3))
    new = ReminderAttempt.objects.create(appointment=appt, status="done", outcome="voicemail", attempts=1)
    TextMessage.objects.create(to_number=maria.phone, body="Reminder", kind="reminder", appointment=appt,
                               status="sent", dedupe_key=f"reminder:{new.pk}")  # fmt: skip
    assert ledger.current(appt).get() == new and ReminderAttempt.objects.get(pk=old.pk).outcome == "rescheduled"

    tenth = dashboard(Period(date(2026, 11, 10), date(2026, 11, 10)), now=NOW)
    assert {key: n for key, _, n in tenth.reminders if n} == {"rescheduled": 1}
    assert tenth.reminder_texts == {"sent": 0, "not_sent": 0}
    twentieth = dashboard(Period(date(2026, 11, 20), date(2026, 11, 20)), now=NOW)
    assert {key: n for key, _, n in twentieth.reminders if n} == {"voicemail": 1}
    assert twentieth.reminder_texts == {"sent": 1, "not_sent": 0}
