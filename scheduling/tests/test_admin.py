"""The back office as advisors and managers use it: pages, booking through the form, actions, search, schedule."""

from datetime import date, timedelta

import pytest
from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bartsvoice.tests.factories import ADVISORS, UserFactory, local
from calls.models import Call, ToolCall, Turn
from crm.models import Customer, Vehicle
from scheduling.availability import shop_tz
from scheduling.models import Appointment, Closure, ReminderAttempt


def business_day(min_days_ahead: int = 2) -> date:
    """A Monday-to-Friday date at least `min_days_ahead` days from today in the shop's zone."""
    day = timezone.localdate(timezone=shop_tz()) + timedelta(days=min_days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def add_form(customer, vehicle, services, day, hhmm, **extra):
    return {
        "customer": customer.pk,
        "vehicle": vehicle.pk if vehicle else "",
        "service_types": [s.pk for s in services],
        "start_0": day.isoformat(),
        "start_1": hhmm,
        "transport": Appointment.Transport.WAITER,
        "advisor": "",
        "notes": "",
        **extra,
    }


def change_form(appointment, **overrides):
    start = timezone.localtime(appointment.start, shop_tz())
    data = {
        "vehicle": appointment.vehicle_id or "",
        "service_types": list(appointment.service_types.values_list("pk", flat=True)),
        "start_0": start.date().isoformat(),
        "start_1": start.strftime("%H:%M:%S"),
        "transport": appointment.transport,
        "advisor": appointment.advisor_id or "",
        "notes": appointment.notes,
        "status": appointment.status,
    }
    data.update(overrides)
    return data


def fill_bays(place_appointment, shop, start, end, n=4):
    """`n` other customers' appointments over [start, end): with 4 bays, n=4 leaves nothing free."""
    appointments = []
    for i in range(n):
        who = Customer.objects.create(first_name=f"Filler{i}", phone=f"+1312555016{i}")
        appointments.append(place_appointment(start, end, who=who, services=[shop.oil_change]))
    return appointments


# --- every page renders for the role that may use it ------------------------------------------------------


ADVISOR_MODELS = [
    # (app_label, model_name, advisor may add)
    ("crm", "customer", True),
    ("crm", "vehicle", True),
    ("scheduling", "appointment", True),
    ("scheduling", "servicetype", False),
    ("scheduling", "businesshours", False),
    ("scheduling", "closure", False),
    ("scheduling", "servicebay", False),
    ("scheduling", "reminderattempt", False),
]


@pytest.fixture
def one_of_each(shop, customer, vehicle, place_appointment):
    day = business_day()
    appointment = place_appointment(local(day, 9), local(day, 9, 30), services=[shop.oil_change])
    return {
        "customer": customer,
        "vehicle": vehicle,
        "appointment": appointment,
        "servicetype": shop.oil_change,
        "businesshours": shop.hours[0],
        "closure": Closure.objects.create(date=day + timedelta(days=30), reason="Inventory"),
        "servicebay": shop.bays[0],
        "reminderattempt": ReminderAttempt.objects.create(appointment=appointment, call_sid="CA123"),
    }


@pytest.mark.parametrize(("app_label", "model_name", "may_add"), ADVISOR_MODELS)
def test_advisor_sees_changelist_add_and_change_pages(advisor_client, one_of_each, app_label, model_name, may_add):
    obj = one_of_each[model_name]
    changelist = advisor_client.get(reverse(f"admin:{app_label}_{model_name}_changelist"))
    assert changelist.status_code == 200
    change = advisor_client.get(reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk]))
    assert change.status_code == 200
    add = advisor_client.get(reverse(f"admin:{app_label}_{model_name}_add"))
    assert add.status_code == (200 if may_add else 403)


@pytest.fixture
def logged_call(customer):
    call = Call.objects.create(
        call_sid="CA0123456789abcdef",
        from_number=customer.phone,
        to_number="+13125550100",
        customer=customer,
        started_at=timezone.now() - timedelta(minutes=3),
        ended_at=timezone.now(),
        status=Call.Status.COMPLETED,
        outcome=Call.Outcome.BOOKED,
        summary="Booked an oil change for Friday",
    )
    at = call.started_at
    Turn.objects.create(call=call, index=0, role=Turn.Role.AGENT, text="Thanks for calling", started_at=at)
    Turn.objects.create(call=call, index=1, role=Turn.Role.CALLER, text="I need an oil change", started_at=at)
    ToolCall.objects.create(call=call, name="get_available_slots", arguments={"services": ["oil-change"]}, result=[])
    return call


MANAGER_PAGES = [
    # (app_label, model_name, may add): managers hold every permission; call logs and the dialer's ledger
    # are written by the system only.
    *((app, model, True) for app, model, _ in ADVISOR_MODELS if model != "reminderattempt"),
    ("scheduling", "reminderattempt", False),
    ("calls", "call", False),
]


@pytest.mark.parametrize(("app_label", "model_name", "may_add"), MANAGER_PAGES)
def test_manager_sees_every_page(client, manager, one_of_each, logged_call, app_label, model_name, may_add):
    client.force_login(manager)
    obj = logged_call if model_name == "call" else one_of_each[model_name]
    assert client.get(reverse(f"admin:{app_label}_{model_name}_changelist")).status_code == 200
    assert client.get(reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk])).status_code == 200
    assert client.get(reverse(f"admin:{app_label}_{model_name}_add")).status_code == (200 if may_add else 403)


def test_manager_reads_call_logs_but_nobody_edits_them(client, manager, logged_call):
    client.force_login(manager)
    changelist = client.get(reverse("admin:calls_call_changelist"))
    assert changelist.status_code == 200
    assert b"Booked an oil change" in changelist.content
    assert b"3:00" in changelist.content  # duration column
    change = client.get(reverse("admin:calls_call_change", args=[logged_call.pk]))
    assert change.status_code == 200
    assert b"I need an oil change" in change.content  # turn inline
    assert b"get_available_slots" in change.content  # tool call inline
    assert b'name="_save"' not in change.content  # read-only: no save button
    assert client.get(reverse("admin:calls_call_add")).status_code == 403
    posted = client.post(reverse("admin:calls_call_change", args=[logged_call.pk]), {"summary": "edited"})
    assert posted.status_code == 403
    logged_call.refresh_from_db()
    assert logged_call.summary == "Booked an oil change for Friday"


def test_manager_searches_calls_by_sid_and_number(client, manager, logged_call):
    client.force_login(manager)
    url = reverse("admin:calls_call_changelist")
    assert client.get(url, {"q": "CA0123456789"}).context["cl"].result_count == 1
    assert client.get(url, {"q": "5550142"}).context["cl"].result_count == 1
    assert client.get(url, {"q": "Whitfield"}).context["cl"].result_count == 1
    assert client.get(url, {"q": "CAnothing"}).context["cl"].result_count == 0


def test_advisors_read_call_logs_but_cannot_change_them_or_see_recordings(advisor_client, logged_call):
    """Advisors read calls (issue 10: the call list and detail), never edit them, and never get a recording."""
    Call.objects.filter(pk=logged_call.pk).update(recording_url="https://api.twilio.com/2010-04-01/Accounts/"
                                                                "AC00/Recordings/RE00")  # fmt: skip
    assert advisor_client.get(reverse("admin:calls_call_changelist")).status_code == 200
    page = advisor_client.get(reverse("admin:calls_call_change", args=[logged_call.pk]))
    assert page.status_code == 200
    assert "Recordings/RE00" not in page.content.decode()
    change = advisor_client.post(reverse("admin:calls_call_change", args=[logged_call.pk]), {"summary": "edited"})
    assert change.status_code == 403
    logged_call.refresh_from_db()
    assert logged_call.summary == "Booked an oil change for Friday"


# --- booking through the admin form ---------------------------------------------------------------------------


def test_add_form_books_through_the_services(advisor_client, advisor, shop, customer, vehicle):
    day = business_day()
    response = advisor_client.post(
        reverse("admin:scheduling_appointment_add"),
        add_form(customer, vehicle, [shop.oil_change, shop.brakes], day, "09:30", advisor=advisor.pk),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    appointment = Appointment.objects.get()
    assert appointment.start == local(day, 9, 30)
    assert appointment.end == local(day, 11, 30)  # 30 + 90 minutes
    assert set(appointment.service_types.all()) == {shop.oil_change, shop.brakes}
    assert appointment.source == Appointment.Source.ADMIN
    assert appointment.advisor == advisor
    assert appointment.status == Appointment.Status.SCHEDULED


def test_add_form_has_no_source_and_books_as_admin(advisor_client, advisor, shop, customer, vehicle):
    form = advisor_client.get(reverse("admin:scheduling_appointment_add")).context["adminform"].form
    assert "source" not in form.fields  # where a booking came from is history, not an input
    assert form["advisor"].value() == advisor.pk
    data = add_form(customer, vehicle, [shop.oil_change], business_day(), "10:00", source=Appointment.Source.PHONE)
    response = advisor_client.post(reverse("admin:scheduling_appointment_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Appointment.objects.get().source == Appointment.Source.ADMIN


def test_change_form_shows_source_read_only(advisor_client, shop, customer, place_appointment):
    day = business_day()
    appointment = place_appointment(local(day, 9), local(day, 9, 30), services=[shop.oil_change])
    Appointment.objects.filter(pk=appointment.pk).update(source=Appointment.Source.PHONE)
    url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    response = advisor_client.get(url)
    assert "source" not in response.context["adminform"].form.fields
    assert '<div class="readonly">Phone</div>' in response.content.decode()
    response = advisor_client.post(url, change_form(appointment, source=Appointment.Source.ADMIN))
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.source == Appointment.Source.PHONE


def test_add_form_refuses_overbooking_and_writes_nothing(advisor_client, shop, customer, vehicle, place_appointment):
    day = business_day()
    fill_bays(place_appointment, shop, local(day, 9), local(day, 10))
    before = Appointment.objects.count()
    response = advisor_client.post(
        reverse("admin:scheduling_appointment_add"), add_form(customer, vehicle, [shop.oil_change], day, "09:30")
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["start"] == ["That time is fully booked."]
    assert b"That time is fully booked." in response.content
    assert Appointment.objects.count() == before
    assert not customer.appointments.exists()


@pytest.mark.parametrize(
    ("hhmm", "closed", "field", "message_part"),
    [
        ("06:30", False, "start", "We open at"),
        ("17:45", False, "start", "past closing"),
        ("10:00", True, "start", "closed"),
    ],
)
def test_add_form_refuses_outside_hours_and_closures(
    advisor_client, shop, customer, vehicle, hhmm, closed, field, message_part
):
    day = business_day()
    if closed:
        Closure.objects.create(date=day, reason="Staff training")
    response = advisor_client.post(
        reverse("admin:scheduling_appointment_add"), add_form(customer, vehicle, [shop.brakes], day, hhmm)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors[field]
    assert any(message_part in e for e in errors), errors
    assert not Appointment.objects.exists()


def test_add_form_refuses_another_customers_vehicle(advisor_client, shop, customer, other_customer):
    theirs = Vehicle.objects.create(customer=other_customer, make="Ford", model="F-150")
    data = add_form(customer, theirs, [shop.oil_change], business_day(), "10:00")
    response = advisor_client.post(reverse("admin:scheduling_appointment_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["vehicle"] == ["That vehicle belongs to another customer."]
    assert not Appointment.objects.exists()


def test_change_form_moves_the_appointment(advisor_client, shop, customer, vehicle, place_appointment):
    day = business_day()
    appointment = place_appointment(local(day, 9), local(day, 10, 30), services=[shop.brakes])
    url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    response = advisor_client.post(url, change_form(appointment, start_1="13:00:00", notes="Rattle at speed"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    appointment.refresh_from_db()
    assert (appointment.start, appointment.end) == (local(day, 13), local(day, 14, 30))
    assert appointment.notes == "Rattle at speed"


def test_change_form_refuses_moving_into_a_full_slot(advisor_client, shop, customer, place_appointment):
    day = business_day()
    appointment = place_appointment(local(day, 9), local(day, 9, 30), services=[shop.oil_change])
    fill_bays(place_appointment, shop, local(day, 14), local(day, 15))
    url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    response = advisor_client.post(url, change_form(appointment, start_1="14:00:00", notes="should not stick"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["start"] == ["That time is fully booked."]
    appointment.refresh_from_db()
    assert appointment.start == local(day, 9)
    assert appointment.notes == ""


def test_change_form_adding_a_service_lengthens_the_visit(advisor_client, shop, customer, place_appointment):
    day = business_day()
    appointment = place_appointment(local(day, 9), local(day, 9, 30), services=[shop.oil_change])
    url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    response = advisor_client.post(url, change_form(appointment, service_types=[shop.oil_change.pk, shop.brakes.pk]))
    assert response.status_code == 302, response.context["adminform"].form.errors
    appointment.refresh_from_db()
    assert appointment.end == local(day, 11)


def test_change_form_cancels_with_who_did_it(advisor_client, shop, customer, place_appointment):
    day = business_day()
    appointment = place_appointment(local(day, 9), local(day, 9, 30), services=[shop.oil_change])
    url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    response = advisor_client.post(url, change_form(appointment, status=Appointment.Status.CANCELLED))
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED
    assert appointment.cancel_reason == "Cancelled by advisor in admin"
    assert appointment.cancelled_at is not None


# --- actions --------------------------------------------------------------------------------------------------


def run_action(client, action, appointments):
    return client.post(
        reverse("admin:scheduling_appointment_changelist"),
        {"action": action, "_selected_action": [a.pk for a in appointments]},
        follow=True,
    )


def test_confirm_and_cancel_actions(advisor_client, shop, customer, place_appointment):
    day = business_day()
    first = place_appointment(local(day, 9), local(day, 9, 30), services=[shop.oil_change])
    second = place_appointment(local(day, 10), local(day, 10, 30), services=[shop.oil_change])
    response = run_action(advisor_client, "confirm", [first, second])
    assert "2 appointments confirmed." in [str(m) for m in response.context["messages"]]
    first.refresh_from_db()
    assert first.status == Appointment.Status.CONFIRMED

    response = run_action(advisor_client, "cancel", [first])
    first.refresh_from_db()
    assert first.status == Appointment.Status.CANCELLED
    assert first.cancel_reason == "Cancelled by advisor in admin"
    assert "1 appointment cancelled." in [str(m) for m in response.context["messages"]]


def test_actions_report_each_refused_row_and_do_the_rest(advisor_client, shop, customer, place_appointment):
    yesterday = timezone.localdate(timezone=shop_tz()) - timedelta(days=1)
    past = place_appointment(local(yesterday, 9), local(yesterday, 9, 30), services=[shop.oil_change])
    future = place_appointment(local(business_day(), 9), local(business_day(), 9, 30), services=[shop.oil_change])
    response = run_action(advisor_client, "mark_no_show", [past, future])
    texts = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert ("success", "1 appointment marked no-show.") in texts
    assert any(level == "error" and "too early for a no-show" in text for level, text in texts), texts
    past.refresh_from_db()
    future.refresh_from_db()
    assert past.status == Appointment.Status.NO_SHOW
    assert future.status == Appointment.Status.SCHEDULED

    response = run_action(advisor_client, "mark_completed", [past])
    past.refresh_from_db()
    assert past.status == Appointment.Status.COMPLETED

    response = run_action(advisor_client, "cancel", [past])
    texts = [(m.level_tag, str(m)) for m in response.context["messages"]]
    assert [level for level, _ in texts] == ["error"]
    assert "already completed" in texts[0][1]
    past.refresh_from_db()
    assert past.status == Appointment.Status.COMPLETED


# --- finding appointments -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "(312) 555-0142",
        "312.555.0142",
        "+1 312 555 0142",
        "3125550142",
        "555-0142",
        "Whitfield",
        "dana whitfield",
        "1hgcm82633a004352",
        "A004352",
    ],
)
def test_search_finds_by_name_phone_in_any_format_and_vin(
    advisor_client, shop, customer, other_customer, place_appointment, term
):
    day = business_day()
    car = Vehicle.objects.create(customer=customer, vin="1HGCM82633A004352", make="Honda", model="Accord")
    mine = place_appointment(local(day, 9), local(day, 9, 30), services=[shop.oil_change])
    mine.vehicle = car
    mine.save()
    place_appointment(local(day, 10), local(day, 10, 30), who=other_customer, services=[shop.oil_change])
    response = advisor_client.get(reverse("admin:scheduling_appointment_changelist"), {"q": term})
    assert [a.pk for a in response.context["cl"].result_list] == [mine.pk]


def test_day_filter_uses_the_shop_day(advisor_client, shop, customer, place_appointment, settings):
    today = timezone.localdate(timezone=shop_tz())
    # 11:30 pm shop time is already tomorrow in UTC; it still belongs to "today" for the shop.
    late_today = place_appointment(local(today, 23, 30), local(today, 23, 45))
    tomorrow = place_appointment(local(today + timedelta(days=1), 8), local(today + timedelta(days=1), 9))
    in_a_week = place_appointment(local(today + timedelta(days=8), 8), local(today + timedelta(days=8), 9))
    url = reverse("admin:scheduling_appointment_changelist")

    def found(value):
        return {a.pk for a in advisor_client.get(url, {"day": value}).context["cl"].result_list}

    assert found("today") == {late_today.pk}
    assert found("tomorrow") == {tomorrow.pk}
    assert found("next_7_days") == {late_today.pk, tomorrow.pk}
    assert in_a_week.pk not in found("this_week")


def test_changelist_of_100_appointments_takes_a_handful_of_queries(advisor_client, shop, place_appointment):
    day = business_day()

    def add_rows(numbers):
        for i in numbers:
            who = Customer.objects.create(first_name=f"C{i}", last_name="Load", phone=f"+1773555{1000 + i:04d}")
            car = Vehicle.objects.create(customer=who, make="Toyota", model="Camry", year=2019)
            appointment = place_appointment(
                local(day, 7) + timedelta(minutes=5 * i),
                local(day, 8) + timedelta(minutes=5 * i),
                who=who,
                services=[shop.oil_change, shop.tire_rotation],
            )
            appointment.vehicle = car
            appointment.save()

    def page_queries():
        with CaptureQueriesContext(connection) as queries:
            response = advisor_client.get(reverse("admin:scheduling_appointment_changelist"))
        assert response.status_code == 200
        return len(queries), response

    add_rows(range(5))
    few, _ = page_queries()
    add_rows(range(5, 100))
    many, response = page_queries()
    assert len(response.context["cl"].result_list) == 100
    assert b"Oil change, Tire rotation" in response.content
    # Session user and permissions (3), the two related filters' choices (2), count, rows, service types,
    # the date drill-down (2): the same for 5 rows as for 100.
    assert many == few <= 10


# --- the day's schedule ---------------------------------------------------------------------------------------


def test_schedule_shows_lanes_and_free_capacity(advisor_client, shop, customer, place_appointment):
    day = business_day()
    a = place_appointment(local(day, 9), local(day, 10, 30), services=[shop.brakes])
    b = place_appointment(local(day, 9, 30), local(day, 10), services=[shop.oil_change])
    c = place_appointment(local(day, 9, 30), local(day, 10), services=[shop.oil_change])
    d = place_appointment(local(day, 10), local(day, 10, 30), services=[shop.oil_change])
    cancelled = place_appointment(
        local(day, 9), local(day, 10), services=[shop.oil_change], status=Appointment.Status.CANCELLED
    )
    response = advisor_client.get(reverse("scheduling:schedule"), {"date": day.isoformat()})
    assert response.status_code == 200
    assert response.context["columns"] == ["Bay 1", "Bay 2", "Bay 3", "Bay 4"]
    rows = {row.start.hour: row for row in response.context["rows"]}
    assert sorted(rows) == list(range(7, 18))  # 7 am to the 5 pm row: the opening hours

    def lanes(hour):
        return [[cell.appointment.pk for cell in lane] for lane in rows[hour].lanes]

    assert lanes(9) == [[a.pk], [b.pk], [c.pk], []]
    assert lanes(10) == [[a.pk], [d.pk], [], []]  # b and c end at 10:00; d takes the lowest free lane
    assert rows[9].busy == 3 and rows[9].free == 1
    assert rows[10].busy == 2 and rows[10].free == 2
    assert rows[11].free == 4
    assert [cell.starts_here for cell in rows[10].lanes[0]] == [False]  # a continues from 9 o'clock
    content = response.content.decode()
    assert reverse("admin:scheduling_appointment_change", args=[a.pk]) in content
    assert reverse("admin:scheduling_appointment_change", args=[cancelled.pk]) not in content
    assert "Free bays" in content


def test_schedule_marks_closures_and_closed_days(advisor_client, shop):
    day = business_day()
    Closure.objects.create(date=day, reason="Thanksgiving")
    response = advisor_client.get(reverse("scheduling:schedule"), {"date": day.isoformat()})
    assert response.status_code == 200
    assert "Closed: Thanksgiving" in response.content.decode()
    sunday = day + timedelta(days=6 - day.weekday())
    response = advisor_client.get(reverse("scheduling:schedule"), {"date": sunday.isoformat()})
    assert "closed on Sundays" in response.content.decode()


def test_schedule_defaults_to_today_and_links_neighbours(advisor_client, shop):
    today = timezone.localdate(timezone=shop_tz())
    response = advisor_client.get(reverse("scheduling:schedule"))
    assert response.context["day"] == today
    assert list(response.context["messages"]) == []
    content = response.content.decode()
    assert f"?date={(today - timedelta(days=1)).isoformat()}" in content
    assert f"?date={(today + timedelta(days=1)).isoformat()}" in content


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("not-a-date", "“not-a-date” is not a date. Pick a day in the calendar, or type it as YYYY-MM-DD."),
        ("2026-02-30", "“2026-02-30” is not a date: February 2026 has no day 30."),
        ("2027-02-29", "“2027-02-29” is not a date: February 2027 has no day 29."),
        ("2026-13-01", "“2026-13-01” is not a date: there is no month 13."),
    ],
)
def test_schedule_says_when_the_date_is_not_a_date(advisor_client, shop, raw, says):
    response = advisor_client.get(reverse("scheduling:schedule"), {"date": raw})
    assert response.status_code == 200
    assert response.context["day"] == timezone.localdate(timezone=shop_tz())
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert errors == [f"{says} Showing today instead."]
    assert says in response.content.decode()  # on the page, above the schedule of today


def test_schedule_accepts_a_leap_day(advisor_client, shop):
    response = advisor_client.get(reverse("scheduling:schedule"), {"date": "2028-02-29"})
    assert response.context["day"] == date(2028, 2, 29)
    assert list(response.context["messages"]) == []


def test_schedule_writes_am_pm_on_both_ends_when_they_differ(advisor_client, shop, place_appointment):
    day = business_day()
    place_appointment(local(day, 11, 30), local(day, 12, 30), services=[shop.inspection])
    place_appointment(local(day, 9), local(day, 10, 30), services=[shop.brakes])
    content = advisor_client.get(reverse("scheduling:schedule"), {"date": day.isoformat()}).content.decode()
    assert "<strong>11:30 AM–12:30 PM</strong>" in content
    assert "<strong>9:00–10:30 AM</strong>" in content
    assert "11:30–12:30 PM" not in content


def test_schedule_needs_view_permission_on_appointments(client, shop):
    nobody = User.objects.create_user("temp", password="x", is_staff=True)
    client.force_login(nobody)
    assert client.get(reverse("scheduling:schedule")).status_code == 403
    client.logout()
    assert client.get(reverse("scheduling:schedule")).status_code == 302  # to the login page


def test_admin_index_links_the_schedule_and_the_softphone_in_their_own_modules(advisor_client):
    content = advisor_client.get(reverse("admin:index")).content.decode()
    schedule = content[content.index('id="schedule-module"') : content.index('id="voice-agent-module"')]
    voice = content[content.index('id="voice-agent-module"') :]
    voice = voice[: voice.index("</div>")]
    assert reverse("scheduling:schedule") in schedule
    assert reverse("calls:softphone") not in schedule
    assert "<caption>Voice agent</caption>" in voice
    assert f'<a href="{reverse("calls:softphone")}"' in voice and ">Softphone</a>" in voice


def test_admin_pages_and_the_softphone_have_a_favicon(advisor_client):
    icon = '<link rel="icon" type="image/svg+xml" href="/static/scheduling/favicon.svg">'
    pages = ["admin:index", "admin:scheduling_appointment_changelist", "scheduling:schedule", "calls:softphone"]
    for url in map(reverse, pages):
        assert icon in advisor_client.get(url).content.decode(), url
    advisor_client.logout()
    assert icon in advisor_client.get(reverse("admin:login")).content.decode()


def test_form_offers_active_services_and_staff_advisors_only(advisor_client, advisor, shop, place_appointment):
    User.objects.create_user("caller-portal", password="x")  # not staff: never an advisor
    shop.brakes.active = False
    shop.brakes.save()
    form = advisor_client.get(reverse("admin:scheduling_appointment_add")).context["adminform"].form
    assert shop.brakes not in form.fields["service_types"].queryset
    assert list(form.fields["advisor"].queryset) == [advisor]

    # An appointment keeps a service that was retired after it was booked, and can still be edited.
    day = business_day()
    appointment = place_appointment(local(day, 9), local(day, 10, 30), services=[shop.brakes])
    url = reverse("admin:scheduling_appointment_change", args=[appointment.pk])
    form = advisor_client.get(url).context["adminform"].form
    assert shop.brakes in form.fields["service_types"].queryset
    response = advisor_client.post(url, change_form(appointment, notes="Customer brings own pads"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    appointment.refresh_from_db()
    assert appointment.notes == "Customer brings own pads"


# --- the appointment list, form labels and the vehicle autocomplete -------------------------------------------


def changelist_rows(client, **params):
    response = client.get(reverse("admin:scheduling_appointment_changelist"), params)
    assert response.status_code == 200
    return response


def test_changelist_columns_fit_a_laptop(advisor_client, advisor, shop, customer, vehicle, place_appointment):
    advisor.first_name, advisor.last_name = "Alex", "Rivera"
    advisor.save()
    day = business_day()
    appointment = place_appointment(local(day, 11, 30), local(day, 12, 30), services=[shop.inspection])
    Appointment.objects.filter(pk=appointment.pk).update(
        vehicle=vehicle, advisor=advisor, transport=Appointment.Transport.WAITER
    )
    response = changelist_rows(advisor_client)
    headers = [str(h["text"]) for h in result_headers(response.context["cl"])]
    assert headers[1:] == ["when", "customer", "vehicle", "services", "status", "transport", "advisor"]
    content = response.content.decode()
    assert f'<span class="nowrap">{day:%a %b} {day.day},</span> <span class="nowrap">11:30 AM–12:30 PM</span>' in (
        content
    )
    assert "Dana Whitfield" in content and "((312)" not in content
    assert "2019 Honda Civic" in content
    assert '<td class="field-transport_short">Waiter</td>' in content
    assert '<td class="field-advisor_name">Alex Rivera</td>' in content


def test_changelist_lists_what_is_coming_first_then_the_past(advisor_client, shop, place_appointment):
    today = timezone.localdate(timezone=shop_tz())
    now = timezone.now()
    last_week = place_appointment(local(today - timedelta(days=7), 9), local(today - timedelta(days=7), 10))
    yesterday = place_appointment(local(today - timedelta(days=1), 9), local(today - timedelta(days=1), 10))
    running = place_appointment(now - timedelta(minutes=30), now + timedelta(minutes=30))
    next_month = place_appointment(local(today + timedelta(days=30), 9), local(today + timedelta(days=30), 10))
    tomorrow = place_appointment(local(today + timedelta(days=1), 9), local(today + timedelta(days=1), 10))
    rows = [a.pk for a in changelist_rows(advisor_client).context["cl"].result_list]
    assert rows == [running.pk, tomorrow.pk, next_month.pk, yesterday.pk, last_week.pk]
    # A click on the column header still sorts the whole list by time.
    rows = [a.pk for a in changelist_rows(advisor_client, o="1").context["cl"].result_list]
    assert rows == [last_week.pk, yesterday.pk, running.pk, tomorrow.pk, next_month.pk]


def test_advisors_read_by_full_name_in_filter_and_dropdown(advisor_client, advisor, shop, place_appointment):
    advisor.first_name, advisor.last_name = "Alex", "Rivera"
    advisor.save()
    nameless = UserFactory(username="jo", roles=[ADVISORS])  # no name on file: the username stands in
    day = business_day()
    for who, hour in ((advisor, 9), (nameless, 10)):
        appointment = place_appointment(local(day, hour), local(day, hour, 30))
        Appointment.objects.filter(pk=appointment.pk).update(advisor=who)
    place_appointment(local(day, 11), local(day, 11, 30))  # nobody assigned
    response = changelist_rows(advisor_client)
    advisor_filter = next(f for f in response.context["cl"].filter_specs if f.title == "advisor")
    assert [label for _, label in advisor_filter.lookup_choices] == ["Alex Rivera", "jo"]
    assert advisor_filter.empty_value_display == "Unassigned"
    assert {a.pk for a in changelist_rows(advisor_client, advisor__id__exact=nameless.pk).context["cl"].result_list}
    form = advisor_client.get(reverse("admin:scheduling_appointment_add")).context["adminform"].form
    assert [label for _, label in form.fields["advisor"].choices][1:] == ["Alex Rivera", "jo"]


def test_form_time_shows_hours_and_minutes(advisor_client, shop, place_appointment):
    day = business_day()
    appointment = place_appointment(local(day, 7, 30), local(day, 8), services=[shop.oil_change])
    content = advisor_client.get(reverse("admin:scheduling_appointment_change", args=[appointment.pk])).content
    assert b'name="start_1" value="07:30"' in content
    assert b"07:30:00" not in content


def test_change_form_names_the_customer_once(advisor_client, shop, customer, place_appointment):
    day = business_day()
    appointment = place_appointment(local(day, 9), local(day, 9, 30), services=[shop.oil_change])
    content = advisor_client.get(reverse("admin:scheduling_appointment_change", args=[appointment.pk])).content
    customer_url = reverse("admin:crm_customer_change", args=[customer.pk])
    assert f'<a href="{customer_url}">Dana Whitfield · (312) 555-0142</a>'.encode() in content


def autocomplete(client, field, **params):
    return client.get(
        reverse("admin:scheduling_appointment_autocomplete"),
        {"app_label": "scheduling", "model_name": "appointment", "field_name": field, **params},
    )


def test_vehicle_autocomplete_offers_the_chosen_customers_cars_only(advisor_client, customer, other_customer, vehicle):
    theirs = Vehicle.objects.create(customer=other_customer, year=2017, make="Ford", model="F-150")
    everything = autocomplete(advisor_client, "vehicle")
    assert {r["id"] for r in everything.json()["results"]} == {str(vehicle.pk), str(theirs.pk)}
    mine = autocomplete(advisor_client, "vehicle", customer=customer.pk)
    assert [r["id"] for r in mine.json()["results"]] == [str(vehicle.pk)]
    fords = autocomplete(advisor_client, "vehicle", customer=other_customer.pk, term="ford")
    assert [r["id"] for r in fords.json()["results"]] == [str(theirs.pk)]
    assert autocomplete(advisor_client, "vehicle", customer=customer.pk, term="ford").json()["results"] == []
    # A customer parameter that is not an id narrows nothing (and breaks nothing).
    assert len(autocomplete(advisor_client, "vehicle", customer="x").json()["results"]) == 2


def test_customer_autocomplete_labels_read_once_bracketed(advisor_client, customer):
    results = autocomplete(advisor_client, "customer", term="555-0142").json()["results"]
    assert results == [{"id": str(customer.pk), "text": "Dana Whitfield · (312) 555-0142"}]


def test_booking_autocomplete_serves_the_appointment_form_only(advisor_client, customer):
    response = advisor_client.get(
        reverse("admin:scheduling_appointment_autocomplete"),
        {"app_label": "crm", "model_name": "vehicle", "field_name": "customer", "term": "Dana"},
    )
    assert response.status_code == 403


def test_autocomplete_needs_permission_to_see_the_rows(client, customer):
    nobody = User.objects.create_user("temp", password="x", is_staff=True)
    client.force_login(nobody)
    assert autocomplete(client, "customer", term="Dana").status_code == 403


def test_form_points_the_autocompletes_at_the_booking_view(advisor_client, shop, customer, place_appointment):
    url = reverse("admin:scheduling_appointment_autocomplete")
    add = advisor_client.get(reverse("admin:scheduling_appointment_add")).content.decode()
    assert add.count(f'data-ajax--url="{url}"') == 2  # customer and vehicle
    assert "scheduling/appointment-form.js" in add
    day = business_day()
    appointment = place_appointment(local(day, 9), local(day, 9, 30), services=[shop.oil_change])
    change = advisor_client.get(reverse("admin:scheduling_appointment_change", args=[appointment.pk]))
    # The customer is fixed on an existing appointment: the page tells the script whose cars to offer.
    assert f'data-customer="{customer.pk}"' in change.content.decode()
