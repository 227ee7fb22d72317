"""A customer's data can be exported (JSON) and erased from the admin, by those allowed to, with an audit entry;
an erasure leaves no transcript or recording behind and keeps the shop's records anonymised."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.utils import timezone

from calls.models import Call, ToolCall, Turn
from calls.recording_storage import recordings_storage
from crm.models import Customer, Vehicle
from privacy.erasure import ErasureRefused, erase_customer
from privacy.export import export_customer
from privacy.models import PrivacyRequest
from privacy.tests.conftest import recording_sid
from scheduling.models import Appointment, ServiceType

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(maria, make_call, recordings):
    """Maria's calls (one bound, one only by number, one outbound), appointments past and upcoming; Luis's call."""
    now = timezone.now()
    oil = ServiceType.objects.create(code="oil", name="Oil change", duration_minutes=30)
    vehicle = maria.vehicles.get()
    past = Appointment.objects.create(
        customer=maria,
        vehicle=vehicle,
        start=now - timedelta(days=20),
        end=now - timedelta(days=20) + timedelta(minutes=30),
        status=Appointment.Status.COMPLETED,
        notes="rattle front left",
    )
    upcoming = Appointment.objects.create(
        customer=maria,
        vehicle=vehicle,
        start=now + timedelta(days=3),
        end=now + timedelta(days=3, minutes=30),
        notes="bring the spare key",
        calendar_event_id="evt-1",
    )
    past.service_types.add(oil)
    upcoming.service_types.add(oil)
    luis = Customer.objects.create(first_name="Luis", phone="+13125550199")
    return {
        "bound": make_call(days_ago=20, customer=maria, recording_url=recordings.add(recording_sid())),
        "by_number": make_call(days_ago=5),
        "outbound": make_call(days_ago=4, direction="outbound", recording_url=recordings.add(recording_sid())),
        "other": make_call(
            days_ago=5, customer=luis, number="+13125550199", recording_url=recordings.add(recording_sid())
        ),
        "past": past,
        "upcoming": upcoming,
        "luis": luis,
    }


@pytest.fixture
def manager():
    user = User.objects.create_user("morgan", password="pw-for-tests-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Managers"))
    return user


@pytest.fixture
def advisor():
    user = User.objects.create_user("alex", password="pw-for-tests-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Service advisors"))
    return user


def test_export_holds_everything_about_the_customer(maria, history, manager):
    document = export_customer(customer=maria, by=manager, reason="email of 3 May")
    assert document["customer"]["phone"] == "+13125550142" and document["customer"]["notes"] == "prefers mornings"
    assert [v["vin"] for v in document["vehicles"]] == ["1HGCM82633A004352"]
    assert {a["notes"] for a in document["appointments"]} == {"rattle front left", "bring the spare key"}
    assert document["appointments"][0]["services"] == ["Oil change"]
    sids = {c["call_sid"] for c in document["calls"]}
    assert sids == {history[k].call_sid for k in ("bound", "by_number", "outbound")}  # not Luis's call
    bound = next(c for c in document["calls"] if c["call_sid"] == history["bound"].call_sid)
    assert len(bound["turns"]) == 2 and bound["tool_calls"][0]["tool"] == "lookup_customer"
    json.dumps(document, default=str)
    entry = PrivacyRequest.objects.get()
    assert (entry.action, entry.customer_ref, entry.requested_by_name) == ("export", maria.pk, "morgan")
    assert entry.details == {"vehicles": 1, "appointments": 2, "calls": 3}


def test_erase_leaves_no_transcript_or_recording(maria, history, manager, recordings):
    maria_calls = [history[k] for k in ("bound", "by_number", "outbound")]
    entry = erase_customer(customer=maria, by=manager, reason="phone request, ticket 77")

    assert not Turn.objects.filter(call__in=maria_calls).exists()
    assert not ToolCall.objects.filter(call__in=maria_calls).exists()
    for call in maria_calls:
        call.refresh_from_db()
        assert call.summary == "" and call.recording_url == "" and call.customer is None
        assert "5550142" not in call.from_number + call.to_number
        assert call.outcome == Call.Outcome.BOOKED  # the shop's figures stay
    assert recordings.recordings == {history["other"].recording_url.rsplit("/", 1)[1]}  # only Luis's is left
    other = Call.objects.get(pk=history["other"].pk)
    assert other.turns.count() == 2 and other.recording_url and other.customer == history["luis"]

    maria.refresh_from_db()
    assert maria.first_name == f"Erased customer #{maria.pk}" and maria.last_name == maria.email == ""
    assert maria.phone == f"erased-{maria.pk}" and maria.notes == "" and maria.postal_code == ""
    assert maria.do_not_call
    assert not Vehicle.objects.filter(vin="1HGCM82633A004352").exists()
    past, upcoming = (Appointment.objects.get(pk=history[k].pk) for k in ("past", "upcoming"))
    assert past.status == Appointment.Status.COMPLETED and past.notes == "" and past.vehicle is None
    assert upcoming.status == Appointment.Status.CANCELLED and upcoming.cancel_reason == "customer data erased"
    assert upcoming.notes == "" and upcoming.calendar_event_id == ""
    assert [s.name for s in past.service_types.all()] == ["Oil change"]

    assert entry.action == "erase" and entry.customer_ref == maria.pk and entry.reason == "phone request, ticket 77"
    assert entry.details == {
        "recordings_deleted": 2,
        "turns_deleted": 6,
        "tool_calls_deleted": 3,
        "calls_anonymised": 3,
        "appointments_cancelled": 1,
        "appointments_anonymised": 2,
        "vehicles_deleted": 1,
    }
    assert "Maria" not in json.dumps(entry.details) and "Maria" not in entry.reason

    with pytest.raises(ErasureRefused, match="already been erased"):
        erase_customer(customer=maria, by=manager, reason="again")


def test_a_recording_that_cannot_be_deleted_stops_the_erasure_before_anything_else(maria, history, manager, recordings):
    recordings.failing = True
    with pytest.raises(ErasureRefused, match="could not be deleted at Twilio"):
        erase_customer(customer=maria, by=manager, reason="email")
    maria.refresh_from_db()
    assert maria.first_name == "Maria" and maria.vehicles.count() == 1
    assert Turn.objects.filter(call=history["bound"]).count() == 2
    assert not PrivacyRequest.objects.exists()
    recordings.failing = False
    erase_customer(customer=maria, by=manager, reason="email")  # asking again finishes the job
    assert PrivacyRequest.objects.filter(action="erase").count() == 1


def test_an_erasure_needs_a_reason(maria, manager):
    with pytest.raises(ErasureRefused, match="Say why"):
        erase_customer(customer=maria, by=manager, reason="  ")


# --- the admin ----------------------------------------------------------------------------------
CHANGELIST = "/admin/crm/customer/"


def _actions(client) -> set[str]:
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    return {value for value, _ in response.context["action_form"].fields["action"].choices}


def test_only_managers_are_offered_the_actions(client, maria, manager, advisor):
    client.force_login(advisor)
    assert not {"export_data", "erase_data"} & _actions(client)
    client.force_login(manager)
    assert {"export_data", "erase_data"} <= _actions(client)


def test_an_advisor_forging_the_post_is_refused(client, maria, history, advisor):
    client.force_login(advisor)
    response = client.post(
        CHANGELIST,
        {"action": "erase_data", "_selected_action": [maria.pk], "post": "yes", "reason": "forged"},
        follow=True,
    )
    assert response.status_code == 200
    maria.refresh_from_db()
    assert maria.first_name == "Maria" and not PrivacyRequest.objects.exists()


def test_manager_exports_from_the_admin(client, maria, history, manager):
    client.force_login(manager)
    form = {"action": "export_data", "_selected_action": [maria.pk]}
    page = client.post(CHANGELIST, form)
    assert page.status_code == 200 and b"reason" in page.content and b"3 call(s)" in page.content
    assert not PrivacyRequest.objects.exists()  # nothing happens before the reason is given
    response = client.post(CHANGELIST, {**form, "post": "yes", "reason": "email of 3 May"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="customer-{maria.pk}.json"'
    document = json.loads(response.content)
    assert document["customer"]["id"] == maria.pk and len(document["calls"]) == 3
    assert PrivacyRequest.objects.get().requested_by == manager


def test_manager_erases_from_the_admin(client, maria, history, manager):
    client.force_login(manager)
    form = {"action": "erase_data", "_selected_action": [maria.pk]}
    page = client.post(CHANGELIST, form)
    assert b"cannot be undone" in page.content
    missing_reason = client.post(CHANGELIST, {**form, "post": "yes", "reason": ""})
    assert b"This field is required" in missing_reason.content
    maria.refresh_from_db()
    assert maria.first_name == "Maria"
    done = client.post(CHANGELIST, {**form, "post": "yes", "reason": "letter"}, follow=True)
    assert f"Customer #{maria.pk} erased".encode() in done.content
    maria.refresh_from_db()
    assert maria.first_name.startswith("Erased")
    entry = PrivacyRequest.objects.get()
    assert (entry.action, entry.requested_by_name) == ("erase", "morgan")
    # The audit log can be read but not edited or deleted, not even by a manager.
    assert client.get(f"/admin/privacy/privacyrequest/{entry.pk}/change/").status_code == 200
    assert client.post(f"/admin/privacy/privacyrequest/{entry.pk}/delete/", {"post": "yes"}).status_code == 403


def test_one_customer_at_a_time(client, maria, history, manager):
    client.force_login(manager)
    response = client.post(
        CHANGELIST,
        {"action": "erase_data", "_selected_action": [maria.pk, history["luis"].pk], "post": "yes", "reason": "x"},
        follow=True,
    )
    assert b"Select exactly one customer" in response.content
    assert not PrivacyRequest.objects.exists()


def test_our_own_recordings_are_exported_by_name_and_erased(maria, make_call, manager, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call = make_call(days_ago=2, customer=maria)
    name = recordings_storage().save("recordings/2026/01/call-x.wav", ContentFile(b"RIFF...."))
    Call.objects.filter(pk=call.pk).update(recording_file=name)
    assert export_customer(customer=maria, by=manager, reason="letter")["calls"][0]["recording_file"] == name
    entry = erase_customer(customer=maria, by=manager, reason="letter")
    call.refresh_from_db()
    assert not call.recording_file and not recordings_storage().exists(name)
    assert entry.details["recordings_deleted"] == 1
