"""The call log in the admin as managers read it: compact list, shop-time dates, an audit trail nobody bulk-deletes."""

from datetime import datetime, timedelta

import pytest
from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.auth.models import User
from django.urls import reverse

from calls.admin import SUMMARY_CHARS
from calls.models import Call, ToolCall, Turn
from crm.models import Customer
from scheduling.availability import shop_tz

# Wednesday, November 25, 2026, 7:30 AM in the shop: 13:30 UTC.
STARTED = datetime(2026, 11, 25, 7, 30, tzinfo=shop_tz())
LONG_SUMMARY = (
    "Caller asked about a grinding noise from the front left wheel when braking; booked a brake inspection "
    "for Tuesday morning and asked for a loaner car."
)


@pytest.fixture
def maria(db):
    return Customer.objects.create(first_name="Maria", last_name="Lee", phone="+13125550101")


@pytest.fixture
def calls(maria):
    known = Call.objects.create(
        call_sid="CAknown",
        from_number=maria.phone,
        to_number="+13125550100",
        customer=maria,
        started_at=STARTED,
        ended_at=STARTED + timedelta(minutes=2, seconds=5),
        status=Call.Status.COMPLETED,
        outcome=Call.Outcome.INFO,
        summary=LONG_SUMMARY,
    )
    stranger = Call.objects.create(
        call_sid="CAstranger",
        from_number="+17735550999",
        to_number="+13125550100",
        started_at=STARTED + timedelta(hours=1),
        ended_at=STARTED + timedelta(hours=1, seconds=40),
        status=Call.Status.COMPLETED,
        outcome=Call.Outcome.TRANSFERRED,
        summary="transferred to advisor",
    )
    Turn.objects.create(call=known, index=0, role=Turn.Role.AGENT, text="Thanks for calling", started_at=STARTED)
    Turn.objects.create(call=known, index=1, role=Turn.Role.CALLER, text="My brakes grind", started_at=STARTED)
    ToolCall.objects.create(call=known, name="lookup_customer", arguments={}, result={"found": True})
    return known, stranger


def test_list_shows_started_caller_outcome_duration_and_a_short_summary(manager_client, calls, maria):
    response = manager_client.get(reverse("admin:calls_call_changelist"))
    assert response.status_code == 200
    headers = [str(h["text"]) for h in result_headers(response.context["cl"])]
    assert headers[0].startswith("<input")  # the selection box of the call-back action
    assert headers[1:] == [
        "started",
        "caller",
        "outcome",
        "duration",
        "summary",
    ]
    content = response.content.decode()
    assert "Wed Nov 25, 7:30 AM" in content and "Wed Nov 25, 8:30 AM" in content  # shop time, 12-hour clock
    customer_url = reverse("admin:crm_customer_change", args=[maria.pk])
    assert f'<a href="{customer_url}">Maria Lee</a>' in content
    assert '<span class="nowrap">(773) 555-0999</span>' in content  # no customer: the number, readable
    assert "2:05" in content and "0:40" in content
    short = LONG_SUMMARY[: SUMMARY_CHARS - 1].rstrip()
    assert short in content and LONG_SUMMARY not in content.replace(f'title="{LONG_SUMMARY}"', "")
    assert f'title="{LONG_SUMMARY}"' in content  # the whole summary on hover
    assert "transferred to advisor" in content


def test_call_page_dates_in_shop_time_and_rows_without_repeated_text(manager_client, calls, maria):
    known, _ = calls
    content = manager_client.get(reverse("admin:calls_call_change", args=[known.pk])).content.decode()
    assert "Wed Nov 25, 7:30 AM" in content and "Wed Nov 25, 7:32 AM" in content
    assert "a.m." not in content
    assert "Maria Lee · (312) 555-0101" in content and "((312)" not in content
    # Both inlines carry the class whose stylesheet rule hides the stock "original" line above each row.
    assert content.count('<fieldset class="module call-log"') == 2
    assert "My brakes grind" in content and "lookup_customer" in content


def test_no_bulk_delete_and_managers_cannot_delete(manager_client, calls):
    known, _ = calls
    response = manager_client.get(reverse("admin:calls_call_changelist"))
    assert "delete_selected" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)
    assert b"delete_selected" not in response.content
    posted = manager_client.post(
        reverse("admin:calls_call_changelist"), {"action": "delete_selected", "_selected_action": [known.pk]}
    )
    assert posted.status_code in (200, 302)
    assert Call.objects.filter(pk=known.pk).exists()
    assert manager_client.get(reverse("admin:calls_call_delete", args=[known.pk])).status_code == 403
    assert manager_client.post(reverse("admin:calls_call_delete", args=[known.pk]), {"post": "yes"}).status_code == 403
    assert Call.objects.filter(pk=known.pk).exists()


def test_a_superuser_may_delete_one_call(client, calls):
    known, stranger = calls
    root = User.objects.create_superuser("root", password="x")
    client.force_login(root)
    response = client.get(reverse("admin:calls_call_changelist"))
    assert "delete_selected" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)
    response = client.post(reverse("admin:calls_call_delete", args=[known.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert list(Call.objects.all()) == [stranger]
    assert not Turn.objects.filter(call_id=known.pk).exists()


def test_call_backs_promised_by_the_agent_are_listed_and_can_be_marked_made(manager_client, calls):
    known, _stranger = calls
    Call.objects.filter(pk=known.pk).update(callback_requested=True)
    home = manager_client.get(reverse("admin:index"))
    assert "Callers waiting for an advisor to call back" in home.content.decode()
    assert home.context is not None
    todo = manager_client.get(reverse("admin:calls_call_changelist") + "?callback=todo")
    assert [c.pk for c in todo.context["cl"].result_list] == [known.pk]
    response = manager_client.post(
        reverse("admin:calls_call_changelist"),
        {"action": "mark_callback_done", "_selected_action": [known.pk]},
        follow=True,
    )
    assert "1 call-back(s) marked as made." in response.content.decode()
    known.refresh_from_db()
    assert known.callback_done_at is not None
    todo = manager_client.get(reverse("admin:calls_call_changelist") + "?callback=todo")
    assert list(todo.context["cl"].result_list) == []
