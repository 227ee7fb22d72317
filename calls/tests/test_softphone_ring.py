"""A reminder call ringing in the softphone (no Twilio): listed to staff, answered by one, or declined."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone

from calls.models import Call
from calls.stream_tokens import redeem_stream_token
from calls.telephony import dialer
from calls.voice.bootstrap import open_stream_call
from crm.models import Customer
from scheduling import reminders
from scheduling.models import Appointment, ReminderAttempt, ServiceType

RINGING = "/calls/softphone/ringing/"


@pytest.fixture
def advisor_client(db):
    user = get_user_model().objects.create_user("advisor", password="pw-advisor-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Service advisors"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def ringing_call(db, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    settings.REMINDER_CALL_WINDOW = "00:00-23:59"
    customer = Customer.objects.create(first_name="Dana", last_name="Reyes", phone="+13125550142")
    oil = ServiceType.objects.create(code="oil-change", name="Oil change", duration_minutes=30)
    start = timezone.now() + timedelta(hours=20)
    appt = Appointment.objects.create(customer=customer, start=start, end=start + timedelta(minutes=30))
    appt.service_types.set([oil])
    reminders.create_due_reminders()
    reminder = ReminderAttempt.objects.get()
    result = dialer.place_reminder_call(reminder.pk, sleep=lambda s: None)
    return Call.objects.get(call_sid=result.call_sid)


def test_staff_see_the_ring_and_one_of_them_answers(advisor_client, ringing_call):
    [listed] = advisor_client.get(RINGING).json()["calls"]
    assert listed["name"] == "Dana Reyes" and listed["call_sid"] == ringing_call.call_sid
    assert listed["about"].startswith("oil change appointment ")
    answer = f"/calls/softphone/answer/{ringing_call.call_sid}/"
    first = advisor_client.post(answer)
    assert first.status_code == 200
    assert advisor_client.post(answer).status_code == 409  # a second answer gets nothing
    assert advisor_client.get(RINGING).json()["calls"] == []
    data = first.json()
    assert redeem_stream_token(data["token"], call_sid=ringing_call.call_sid)
    assert not redeem_stream_token(data["token"], call_sid=ringing_call.call_sid)  # once
    ringing_call.refresh_from_db()
    assert ringing_call.status == "in_progress"


def test_the_answered_stream_is_a_reminder_for_the_appointment(advisor_client, ringing_call):
    data = advisor_client.post(f"/calls/softphone/answer/{ringing_call.call_sid}/").json()
    stream = open_stream_call(call_sid=ringing_call.call_sid, stream_sid=data["stream_sid"], token=data["token"])
    ctx = stream.ctx
    assert (ctx.direction, ctx.appointment_id, ctx.customer_name, ctx.verified) == (
        "outbound",
        ringing_call.appointment_id,
        "Dana",
        True,
    )


def test_declined_is_a_busy_line_and_is_retried(advisor_client, ringing_call):
    response = advisor_client.post(f"/calls/softphone/decline/{ringing_call.call_sid}/")
    assert response.status_code == 200
    reminder = ReminderAttempt.objects.get()
    assert reminder.status == "pending" and "line busy" in reminder.result
    assert advisor_client.post(f"/calls/softphone/decline/{ringing_call.call_sid}/").status_code == 409


def test_people_without_the_permissions_see_no_ring(client, ringing_call):
    user = get_user_model().objects.create_user("temp", password="pw-temp-1", is_staff=True)
    client.force_login(user)
    assert client.get(RINGING).status_code == 403
    assert client.post(f"/calls/softphone/answer/{ringing_call.call_sid}/").status_code == 403


def test_the_softphone_permission_alone_sees_no_ring(client, ringing_call):
    """The ring names the customer and the appointment, and answering plays that customer: staff who may not look
    customers up (no crm.view_customer) neither see nor answer nor decline it."""
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("phoneonly", password="pw-phone-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="calls", codename="use_softphone"))
    client.force_login(user)
    listed = client.get(RINGING)
    assert listed.status_code == 403 and "Reyes" not in listed.content.decode()
    for action in ("answer", "decline"):
        assert client.post(f"/calls/softphone/{action}/{ringing_call.call_sid}/").status_code == 403
    ringing_call.refresh_from_db()
    assert ringing_call.status == "ringing"
