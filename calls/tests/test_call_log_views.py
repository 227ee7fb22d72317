"""The managers' call log with Django's test client: who may open what, filters, sorting, the CSV export,
a call's detail, call-backs, and a query count that does not grow with the number of calls or turns."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from calls.models import Call
from calls.tests import call_log_fixtures
from calls.tests.call_log_fixtures import STARTED, add_conversation, add_tool, latency, make_call
from crm.models import Customer
from scheduling.models import Appointment

people = call_log_fixtures.people  # the fixture, shared with the live and browser tests


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def maria(db):
    return Customer.objects.create(first_name="Maria", last_name="Garcia", phone="+13125550142")


@pytest.fixture
def luis(db):
    return Customer.objects.create(first_name="Luis", last_name="Ortega", phone="+17735550199")


@pytest.fixture
def recorded_call(db, maria):
    return make_call(
        1,
        customer=maria,
        from_number=maria.phone,
        recording_url=("https://api.twilio.com/2010-04-01/Accounts/AC" + "0" * 32 + "/Recordings/RE" + "1" * 32),
    )


# --------------------------------------------------------------------------------------------- access


def _urls(call_pk: int) -> dict[str, str]:
    return {
        "list": reverse("calls:log"),
        "csv": reverse("calls:log-csv"),
        "detail": reverse("calls:detail", args=[call_pk]),
        "callbacks": reverse("calls:callbacks"),
        "live": reverse("calls:live"),
        "dashboard": reverse("calls:dashboard"),
    }


EXPECTED = {
    # page: (manager, advisor, staff without permission)
    "list": (200, 200, 403),
    "csv": (200, 200, 403),
    "detail": (200, 200, 403),
    "callbacks": (200, 200, 403),
    "live": (200, 200, 403),
    "dashboard": (200, 403, 403),
}


@pytest.mark.django_db
@pytest.mark.parametrize("page", list(EXPECTED))
def test_each_page_checks_the_permission_server_side(client, people, recorded_call, page):
    url = _urls(recorded_call.pk)[page]
    for role, expected in zip(("manager", "advisor", "staff"), EXPECTED[page], strict=True):
        client.logout()
        response = login(client, people[role]).get(url)
        assert response.status_code == expected, (page, role)
        if expected == 403:
            assert b"not allowed" in response.content
    for role in ("outsider", None):  # not staff (even in the Managers group), or not signed in: to the login page
        client.logout()
        if role:
            login(client, people[role])
        response = client.get(url)
        assert response.status_code == 302, (page, role)
        assert response.url.startswith(reverse("admin:login") + "?next=")


@pytest.mark.django_db
def test_navigation_shows_only_what_the_role_may_open(client, people, recorded_call):
    manager_page = login(client, people["manager"]).get(reverse("calls:log")).content.decode()
    assert reverse("calls:dashboard") in manager_page
    client.logout()
    advisor_page = login(client, people["advisor"]).get(reverse("calls:log")).content.decode()
    assert reverse("calls:dashboard") not in advisor_page
    assert reverse("calls:live") in advisor_page


@pytest.mark.django_db
def test_recording_is_for_managers_only(client, people, recorded_call):
    url = reverse("calls:recording", args=[recorded_call.pk])
    assert login(client, people["advisor"]).get(url).status_code == 403
    detail = client.get(reverse("calls:detail", args=[recorded_call.pk])).content.decode()
    assert "<audio" not in detail and url not in detail
    client.logout()
    detail = login(client, people["manager"]).get(reverse("calls:detail", args=[recorded_call.pk])).content.decode()
    assert f'src="{url}"' in detail
    assert "api.twilio.com" not in detail  # the browser never learns where the media lives


# --------------------------------------------------------------------------------------------- the list


def _listed(response) -> list[str]:
    """Call SIDs of the rows, in order (each row links to its detail page)."""
    ids = [int(pk) for pk in re.findall(r'href="/calls/(\d+)/"', response.content.decode())]
    sids = dict(Call.objects.filter(pk__in=ids).values_list("pk", "call_sid"))
    return [sids[pk] for pk in ids]


@pytest.fixture
def log_calls(db, maria, luis):
    """Five calls over three days with different directions, outcomes, durations and latencies."""
    day = timedelta(days=1)
    return {
        "maria_booked": make_call(1, started=STARTED, customer=maria, from_number=maria.phone, minutes=4,
                                  outcome="booked", worst_ms=800, summary="booked oil change Tue 9:00"),
        "luis_transfer": make_call(2, started=STARTED + day, customer=luis, from_number=luis.phone, minutes=1,
                                   outcome="transferred", worst_ms=2400),
        "unknown_info": make_call(3, started=STARTED + 2 * day, from_number="+16305550123", minutes=2,
                                  outcome="info", worst_ms=None),
        "reminder": make_call(4, started=STARTED + 2 * day + timedelta(hours=2), customer=maria,
                              from_number=maria.phone, direction="outbound", minutes=0.5, outcome="confirmed",
                              worst_ms=1600),
        "callback": make_call(5, started=STARTED - day, from_number="+18155550111", minutes=6, outcome="info",
                              worst_ms=1200, callback_requested=True),
    }  # fmt: skip


def _get(client, people, **params):
    return login(client, people["manager"]).get(reverse("calls:log"), params)


@pytest.mark.django_db
def test_list_is_newest_first_with_customer_and_outcome(client, people, log_calls):
    response = _get(client, people)
    assert _listed(response) == [
        log_calls[k].call_sid for k in ("reminder", "unknown_info", "luis_transfer", "maria_booked", "callback")
    ]
    page = response.content.decode()
    assert "Maria Garcia" in page and "(630) 555-0123" in page
    assert "booked oil change Tue 9:00" in page
    assert "5 calls" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"date_from": "2026-11-26", "date_to": "2026-11-26"}, ["luis_transfer"]),
        ({"date_from": "2026-11-26"}, ["reminder", "unknown_info", "luis_transfer"]),
        ({"date_to": "2026-11-25"}, ["maria_booked", "callback"]),
        ({"direction": "outbound"}, ["reminder"]),
        ({"outcome": "transferred"}, ["luis_transfer"]),
        ({"person": "yes"}, ["luis_transfer", "callback"]),
        ({"person": "no", "direction": "inbound"}, ["unknown_info", "maria_booked"]),
        ({"slow": "on"}, ["reminder", "luis_transfer"]),
        ({"q": "garcia"}, ["reminder", "maria_booked"]),
        ({"q": "Maria Garc"}, ["reminder", "maria_booked"]),
        ({"q": "(312) 555-0142"}, ["reminder", "maria_booked"]),
        ({"q": "+1 312.555.0142"}, ["reminder", "maria_booked"]),
        ({"q": "555-0123"}, ["unknown_info"]),
        ({"q": "6305550123"}, ["unknown_info"]),
        ({"q": "nobody"}, []),
    ],
)
def test_filters(client, people, log_calls, params, expected):
    response = _get(client, people, **params)
    assert response.status_code == 200
    assert _listed(response) == [log_calls[k].call_sid for k in expected]
    if not expected:
        assert "No call matches these filters." in response.content.decode()


@pytest.mark.django_db
def test_search_by_a_call_sid_pasted_from_twilio(client, people, log_calls):
    sid = log_calls["luis_transfer"].call_sid
    assert _listed(_get(client, people, q=f"  {sid} ")) == [sid]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("time", ["callback", "maria_booked", "luis_transfer", "unknown_info", "reminder"]),
        ("-duration", ["callback", "maria_booked", "unknown_info", "luis_transfer", "reminder"]),
        ("duration", ["reminder", "luis_transfer", "unknown_info", "maria_booked", "callback"]),
        ("-latency", ["luis_transfer", "reminder", "callback", "maria_booked", "unknown_info"]),
        ("latency", ["maria_booked", "callback", "reminder", "luis_transfer", "unknown_info"]),
        ("outcome", ["maria_booked", "reminder", "unknown_info", "callback", "luis_transfer"]),
    ],
)
def test_sorting(client, people, log_calls, sort, expected):
    response = _get(client, people, sort=sort)
    assert _listed(response) == [log_calls[k].call_sid for k in expected]


@pytest.mark.django_db
def test_sort_links_keep_the_filters_and_say_the_current_order(client, people, log_calls):
    page = _get(client, people, outcome="info", sort="-latency").content.decode()
    assert 'aria-sort="descending"' in page
    assert 'href="?outcome=info&amp;sort=latency"' in page  # the current column flips
    assert 'href="?outcome=info&amp;sort=-duration"' in page  # another column starts longest first


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "not a date"},
        {"date_from": "2026-11-20", "date_to": "2026-11-01"},
        {"q": "x" * 5000},
        {"direction": "sideways"},
        {"sort": "DROP TABLE"},
        {"page": "abc"},
        {"page": "99999"},
    ],
)
def test_bad_input_gets_a_message_not_an_error(client, people, log_calls, params):
    response = _get(client, people, **params)
    assert response.status_code == 200
    assert len(_listed(response)) >= 1  # the invalid part filters nothing
    page = response.content.decode()
    if set(params) - {"sort", "page"}:
        assert 'class="field-error"' in page


@pytest.mark.django_db
def test_list_paginates_by_fifty(client, people):
    for n in range(55):
        make_call(n, started=STARTED + timedelta(minutes=n))
    first = _get(client, people)
    assert len(_listed(first)) == 50
    assert "Page 1 of 2" in first.content.decode()
    second = _get(client, people, page=2)
    assert _listed(second) == [f"CA{n:032d}" for n in (4, 3, 2, 1, 0)]


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_calls(client, people, maria, django_assert_num_queries):
    login(client, people["manager"])
    make_call(1000, customer=maria)
    client.get(reverse("calls:log"))  # warm the permission cache's first look-ups out of the count
    with django_assert_num_queries(5) as few:
        client.get(reverse("calls:log"))
    for n in range(60):
        make_call(n, customer=maria if n % 2 else None, started=STARTED + timedelta(minutes=n))
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse("calls:log"), {"q": "", "sort": "-latency"})
    assert len(_listed(response)) == 50


# --------------------------------------------------------------------------------------------- CSV


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.django_db
def test_csv_exports_every_call_the_filters_select_not_just_a_page(client, people, maria):
    for n in range(70):
        make_call(n, started=STARTED + timedelta(minutes=n), customer=maria if n % 2 else None,
                  outcome="booked" if n % 2 else "info", cost_usd=Decimal("0.01250") if n == 69 else None)  # fmt: skip
    response = login(client, people["advisor"]).get(reverse("calls:log-csv"), {"outcome": "booked"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = _csv(response)
    assert len(rows) == 35
    assert {r["outcome"] for r in rows} == {"booked"}
    assert rows[0]["customer"] == "Maria Garcia"
    assert rows[0]["started"] > rows[-1]["started"]  # newest first, like the list
    assert (rows[0]["cost_usd"], rows[1]["cost_usd"]) == ("0.01250", "")  # metered, and not


@pytest.mark.django_db
def test_csv_keeps_a_callers_words_from_running_as_a_formula(client, people):
    make_call(1, summary='=HYPERLINK("http://evil")')
    rows = _csv(login(client, people["manager"]).get(reverse("calls:log-csv")))
    assert rows[0]["summary"] == '\'=HYPERLINK("http://evil")'


# --------------------------------------------------------------------------------------------- detail


@pytest.fixture
def conversation(db, maria):
    start = STARTED
    appointment = Appointment.objects.create(customer=maria, start=start + timedelta(days=6),
                                             end=start + timedelta(days=6, minutes=30))  # fmt: skip
    call = make_call(7, customer=maria, from_number=maria.phone, outcome="booked", appointment=appointment,
                     summary="booked oil change Tue 9:00", worst_ms=1900)  # fmt: skip
    add_conversation(call, [
        ("I need an oil change next Tuesday", "I have 9 or 10 AM on Tuesday. Which suits you?",
         latency(100, 600, 150, 50)),
        ("nine please", "Booked: oil change on Tuesday at 9 AM.", latency(120, 1500, 200, 80)),
    ])  # fmt: skip
    add_tool(call, 2, "get_available_slots", arguments={"services": ["oil-change"]},
             result={"slots": ["2026-12-01T09:00"]}, duration_ms=12)  # fmt: skip
    add_tool(call, 4, "book_appointment", ok=False, arguments={"start": "2026-12-01T09:00"},
             error="That time was just taken.", duration_ms=30)  # fmt: skip
    call.turns.filter(index=4).update(interrupted=True)
    return call


@pytest.mark.django_db
def test_detail_shows_the_conversation_tools_and_latency(client, people, conversation, maria):
    page = login(client, people["advisor"]).get(reverse("calls:detail", args=[conversation.pk])).content.decode()
    assert "Call with Maria Garcia" in page
    assert reverse("admin:crm_customer_change", args=[maria.pk]) in page
    assert reverse("admin:scheduling_appointment_change", args=[conversation.appointment_id]) in page
    assert "booked oil change Tue 9:00" in page
    # the conversation in order, with the tool call just before the reply it produced
    order = [page.index(s) for s in ("Thanks for calling", "I need an oil change next Tuesday",
                                     "get_available_slots", "I have 9 or 10 AM", "nine please",
                                     "book_appointment", "Booked: oil change")]  # fmt: skip
    assert order == sorted(order)
    assert "That time was just taken." in page and "&quot;oil-change&quot;" in page
    assert page.count('class="bubble agent interrupted"') == 1
    # latency: bars split by stage, p50/p95 over the two replies (900 and 1900 ms)
    assert "1.40 s</strong> median" in page
    assert "1.85 s</strong> p95" in page
    assert (
        'aria-label="Reply latency 1900 ms: Speech recognition 120 ms, Agent 1500 ms, Speech synthesis 200 ms, '
        'Sending 80 ms"' in page
    )
    assert "Tool calls</dt><dd>2 (1 failed)" in page


@pytest.mark.django_db
def test_detail_query_count_does_not_grow_with_turns(client, people, maria, django_assert_num_queries):
    login(client, people["manager"])
    short = make_call(1, customer=maria)
    add_conversation(short, [("hi", "hello", latency(100, 200, 100, 50))])
    client.get(reverse("calls:detail", args=[short.pk]))
    with django_assert_num_queries(6) as few:
        client.get(reverse("calls:detail", args=[short.pk]))
    long = make_call(2, customer=maria)
    add_conversation(long, [(f"caller {n}", f"agent {n}", latency(100, 200 + n, 100, 50)) for n in range(30)])
    for n in range(10):
        add_tool(long, 2 * n + 2, "get_available_slots", result={"n": n})
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse("calls:detail", args=[long.pk]))
    assert response.content.decode().count('class="bubble ') == 61


@pytest.mark.django_db
def test_unknown_call_is_404(client, people):
    assert login(client, people["manager"]).get(reverse("calls:detail", args=[999999])).status_code == 404


# --------------------------------------------------------------------------------------------- call-backs


@pytest.mark.django_db
def test_callbacks_oldest_first_with_what_they_wanted_and_a_made_action(client, people, maria):
    old = make_call(1, started=STARTED - timedelta(days=1), callback_requested=True, summary="wants a person")
    add_conversation(old, [("my car makes a grinding noise when braking", "Let me get an advisor.", {})])
    new = make_call(2, started=STARTED, customer=maria, callback_requested=True)
    make_call(3, started=STARTED, callback_requested=True, callback_done_at=STARTED + timedelta(hours=1))
    login(client, people["advisor"])
    page = client.get(reverse("calls:callbacks")).content.decode()
    assert page.index(reverse("calls:detail", args=[old.pk])) < page.index(reverse("calls:detail", args=[new.pk]))
    assert "my car makes a grinding noise when braking" in page
    assert "2 callers waiting" in page

    response = client.post(reverse("calls:callback-made", args=[old.pk]))
    assert response.status_code == 302 and response.url == reverse("calls:callbacks")
    old.refresh_from_db()
    assert old.callback_done_at is not None
    page = client.get(reverse("calls:callbacks")).content.decode()
    assert "1 caller waiting" in page and "marked as made" in page
    assert client.get(reverse("calls:callback-made", args=[new.pk])).status_code == 405


@pytest.mark.django_db
def test_marking_a_callback_needs_the_permission_and_a_real_callback(client, people):
    call = make_call(1, callback_requested=True)
    plain = make_call(2)
    assert login(client, people["staff"]).post(reverse("calls:callback-made", args=[call.pk])).status_code == 403
    client.logout()
    login(client, people["manager"])
    response = client.post(reverse("calls:callback-made", args=[plain.pk]), follow=True)
    assert "This call has no call-back to make." in response.content.decode()
    response = client.post(reverse("calls:callback-made", args=[call.pk]), {"next": "https://evil.example/"})
    assert response.url == reverse("calls:callbacks")


@pytest.mark.django_db
def test_admin_home_card_links_to_the_callbacks_page(client, people):
    make_call(1, callback_requested=True)
    page = login(client, people["advisor"]).get(reverse("admin:index")).content.decode()
    assert reverse("calls:callbacks") in page


# --------------------------------------------------------------------------------------------- live page


@pytest.mark.django_db
def test_live_page_lists_calls_in_progress_with_their_turns(client, people, maria):
    from django.utils import timezone

    now = timezone.now()
    going = make_call(1, started=now - timedelta(minutes=2), minutes=None, status="in_progress", outcome="",
                      customer=maria)  # fmt: skip
    add_conversation(going, [("do you do brakes", "Yes, we do brake service.", latency(90, 300, 100, 40))])
    make_call(2, started=now - timedelta(minutes=5))  # ended
    make_call(3, started=now - timedelta(hours=9), minutes=None, status="in_progress", outcome="")  # lost its end
    page = login(client, people["advisor"]).get(reverse("calls:live")).content.decode()
    assert page.count('class="card live-call"') == 1
    assert "Maria Garcia" in page and "do you do brakes" in page
    assert 'data-ws-url="ws://testserver/ws/calls/live/"' in page
