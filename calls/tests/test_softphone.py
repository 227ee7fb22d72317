"""The softphone's views: who may use them, the call they create, the token they hand out."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from calls.models import Call
from calls.stream_tokens import redeem_stream_token
from calls.voice.bootstrap import open_stream_call
from crm.models import Customer

PAGE = "/calls/softphone/"
SEARCH = "/calls/softphone/customers/"
START = "/calls/softphone/start/"


@pytest.fixture
def staff(advisor):
    """An advisor: in the Service advisors group, which the migrations give the softphone permission."""
    return advisor


@pytest.fixture
def bare_staff_client(client, db):
    """Staff, but without any permission."""
    client.force_login(get_user_model().objects.create_user("temp", password="pw-temp-1", is_staff=True))
    return client


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def clerk_client(client, db):
    """Signed in, but not staff."""
    client.force_login(get_user_model().objects.create_user("clerk", password="pw-clerk-1"))
    return client


@pytest.fixture
def ana(db):
    return Customer.objects.create(first_name="Ana", last_name="Garcia", phone="+13125550142")


def _start(client, payload, **extra):
    return client.post(START, data=json.dumps(payload), content_type="application/json", **extra)


def test_routes_have_names():
    assert reverse("calls:softphone") == PAGE
    assert reverse("calls:softphone-customers") == SEARCH
    assert reverse("calls:softphone-start") == START


# ---------------------------------------------------------------------------- who may use it


@pytest.mark.django_db
def test_page_sends_anonymous_users_to_admin_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert "next=/calls/softphone/" in response["Location"]


def test_page_refuses_non_staff(clerk_client):
    response = clerk_client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_page_for_staff_has_the_pieces_the_script_needs(advisor_client):
    response = advisor_client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    for needle in (
        'id="call-button"',
        'id="hangup-button"',
        'id="transcript"',
        'id="status"',
        'id="meter-fill"',
        'id="customer-q"',
        'id="caller-phone"',
        'name="csrfmiddlewaretoken"',
        'data-start-url="/calls/softphone/start/"',
        'data-customers-url="/calls/softphone/customers/"',
        "calls/softphone-worklet.js",
        '<script type="module" src="/static/calls/softphone.js"',
    ):
        assert needle in html, needle
    # The whole keypad, with 0 labelled as the way to an advisor.
    assert sorted(re.findall(r'data-digit="(.)"', html)) == sorted("0123456789*#")
    assert "advisor" in html


@pytest.mark.django_db
@pytest.mark.parametrize("url,method", [(SEARCH, "get"), (START, "post")])
def test_endpoints_answer_anonymous_users_with_json_401(client, url, method):
    response = getattr(client, method)(url)
    assert response.status_code == 401
    assert "sign in" in response.json()["error"].lower()
    assert not Call.objects.exists()


@pytest.mark.parametrize("url,method", [(SEARCH, "get"), (START, "post")])
def test_endpoints_refuse_non_staff(clerk_client, url, method, ana):
    response = getattr(clerk_client, method)(url, {"q": "ana", "customer_id": ana.pk})
    assert response.status_code == 403
    assert response.json()["error"] == "You don't have permission to use the softphone."
    assert not Call.objects.exists()


@pytest.mark.parametrize("url,method", [(SEARCH, "get"), (START, "post")])
def test_staff_without_the_softphone_permission_is_refused(bare_staff_client, url, method, ana):
    """Being staff is not enough: no customer names or numbers, no call as a customer."""
    response = getattr(bare_staff_client, method)(url, {"q": "555", "customer_id": ana.pk})
    assert response.status_code == 403
    assert "555" not in response.content.decode() and "Garcia" not in response.content.decode()
    assert response.json()["error"] == "You don't have permission to use the softphone."
    assert not Call.objects.exists()


def test_the_page_and_its_link_need_the_softphone_permission(bare_staff_client, staff):
    assert bare_staff_client.get(PAGE).status_code == 403
    assert 'href="/calls/softphone/"' not in bare_staff_client.get("/admin/").content.decode()
    advisor = Client()
    advisor.force_login(staff)
    assert 'href="/calls/softphone/"' in advisor.get("/admin/").content.decode()


def test_searching_customers_needs_view_customer(client, db, ana):
    user = get_user_model().objects.create_user("phoneonly", password="pw-phone-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="calls", codename="use_softphone"))
    client.force_login(user)
    search = client.get(SEARCH, {"q": "garcia"})
    assert search.status_code == 403 and "Ana" not in search.content.decode()
    page = client.get(PAGE).content.decode()
    assert 'value="customer" disabled' in page and 'value="unknown" checked' in page
    # Calling from a typed number is what the softphone permission itself allows.
    assert _start(client, {"phone": "(312) 555-0177"}).status_code == 200


def test_calling_as_a_customer_needs_view_customer_too(client, db, ana):
    """The softphone permission alone calls as an unknown caller: picking a customer (or typing their number)
    would hand back their name and number, and the agent would read out their appointments."""
    user = get_user_model().objects.create_user("phoneonly", password="pw-phone-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="calls", codename="use_softphone"))
    client.force_login(user)
    for payload in ({"customer_id": ana.pk}, {"customer_id": ana.pk + 1000}, {"phone": "(312) 555-0142"}):
        response = _start(client, payload)
        assert response.status_code == 403, payload
        assert response.json()["error"] == "You don't have permission to look up customers."
        assert "Garcia" not in response.content.decode() and "0142" not in response.content.decode()
    assert not Call.objects.exists()


@pytest.mark.django_db
def test_advisors_and_managers_hold_the_softphone_permission():
    for name in ("Service advisors", "Managers"):
        group = Group.objects.get(name=name)
        assert group.permissions.filter(content_type__app_label="calls", codename="use_softphone").exists(), name


def test_start_requires_csrf_token(advisor, ana):
    client = Client(enforce_csrf_checks=True)
    client.force_login(advisor)
    assert _start(client, {"customer_id": ana.pk}).status_code == 403
    assert not Call.objects.exists()

    page = client.get(PAGE)
    token = page.context["csrf_token"]
    response = _start(client, {"customer_id": ana.pk}, HTTP_X_CSRFTOKEN=str(token))
    assert response.status_code == 200
    assert Call.objects.count() == 1


def test_start_refuses_get(advisor_client):
    assert advisor_client.get(START).status_code == 405


# ---------------------------------------------------------------------------- customer search


@pytest.fixture
def customers(db):
    rows = [
        ("Ana", "Garcia", "+13125550142"),
        ("Ben", "Garcia", "+13125550199"),
        ("Ana", "Okafor", "+17735550100"),
        ("Chris", "Lee", "+442079460958"),
    ]
    return [Customer.objects.create(first_name=first, last_name=last, phone=phone) for first, last, phone in rows]


def test_search_by_name_is_case_insensitive_and_needs_every_word(advisor_client, customers):
    names = lambda q: [c["name"] for c in advisor_client.get(SEARCH, {"q": q}).json()["customers"]]  # noqa: E731
    assert names("garcia") == ["Ana Garcia", "Ben Garcia"]
    assert names("ana") == ["Ana Garcia", "Ana Okafor"]
    assert names("ana garc") == ["Ana Garcia"]
    assert names("nobody") == []


def test_search_by_phone_in_any_format(advisor_client, customers):
    found = advisor_client.get(SEARCH, {"q": "(773) 555-01"}).json()["customers"]
    assert found == [
        {"id": customers[2].pk, "name": "Ana Okafor", "phone": "+17735550100", "phone_display": "(773) 555-0100"}
    ]
    assert [c["name"] for c in advisor_client.get(SEARCH, {"q": "555-01"}).json()["customers"]] == [
        "Ana Garcia",
        "Ben Garcia",
        "Ana Okafor",
    ]


def test_search_ignores_one_letter_and_returns_at_most_20(advisor_client, db):
    for i in range(25):
        Customer.objects.create(first_name=f"Pat{i:02d}", last_name="Smith", phone=f"+1312555{1000 + i}")
    assert advisor_client.get(SEARCH, {"q": "s"}).json()["customers"] == []
    assert advisor_client.get(SEARCH).json()["customers"] == []
    found = advisor_client.get(SEARCH, {"q": "smith"}).json()["customers"]
    assert len(found) == 20
    assert found[0]["name"] == "Pat00 Smith"


# ---------------------------------------------------------------------------- starting a call


def test_start_for_a_customer_creates_a_softphone_call_and_a_one_time_token(advisor_client, ana, settings):
    settings.TWILIO_PHONE_NUMBER = "+13125550100"
    response = _start(advisor_client, {"customer_id": ana.pk})
    assert response.status_code == 200
    data = response.json()
    assert re.fullmatch(r"SP[0-9a-f]{32}", data["call_sid"])
    assert re.fullmatch(r"MZ[0-9a-f]{32}", data["stream_sid"])
    assert data["ws_url"] == "ws://testserver/ws/media-stream/"
    assert data["caller"] == {
        "phone": "+13125550142",
        "phone_display": "(312) 555-0142",
        "customer_id": ana.pk,
        "name": "Ana Garcia",
    }

    call = Call.objects.get()
    assert call.call_sid == data["call_sid"]
    assert call.transport == Call.Transport.SOFTPHONE
    assert call.direction == Call.Direction.INBOUND
    assert call.from_number == "+13125550142"
    assert call.to_number == "+13125550100"
    assert call.customer == ana
    assert call.ended_at is None

    # The token opens the media stream of exactly this call, once.
    assert not redeem_stream_token(data["token"], call_sid="SP" + "0" * 32)
    stream = open_stream_call(call_sid=data["call_sid"], stream_sid=data["stream_sid"], token=data["token"])
    assert stream is not None
    assert stream.transport == Call.Transport.SOFTPHONE
    assert stream.ctx.customer_id == ana.pk
    assert stream.ctx.customer_name == "Ana"
    assert open_stream_call(call_sid=data["call_sid"], stream_sid=data["stream_sid"], token=data["token"]) is None
    call.refresh_from_db()
    assert call.stream_sid == data["stream_sid"]
    assert call.status == Call.Status.IN_PROGRESS


def test_every_start_is_a_new_call(advisor_client, ana):
    first = _start(advisor_client, {"customer_id": ana.pk}).json()
    second = _start(advisor_client, {"customer_id": ana.pk}).json()
    assert first["call_sid"] != second["call_sid"]
    assert first["token"] != second["token"]
    assert Call.objects.count() == 2


def test_typed_number_of_a_known_customer_finds_them(advisor_client, ana, settings):
    settings.TWILIO_PHONE_NUMBER = ""
    data = _start(advisor_client, {"phone": "312.555.0142"}).json()
    call = Call.objects.get(call_sid=data["call_sid"])
    assert call.customer == ana
    assert call.from_number == "+13125550142"
    assert call.to_number == "softphone"
    assert data["caller"]["name"] == "Ana Garcia"


def test_unknown_caller_with_a_valid_number(advisor_client, ana):
    data = _start(advisor_client, {"phone": "+44 20 7946 0958"}).json()
    call = Call.objects.get(call_sid=data["call_sid"])
    assert call.customer is None
    assert call.from_number == "+442079460958"
    assert data["caller"] == {
        "phone": "+442079460958",
        "phone_display": "+44 20 7946 0958",
        "customer_id": None,
        "name": "",
    }
    stream = open_stream_call(call_sid=data["call_sid"], stream_sid=data["stream_sid"], token=data["token"])
    assert stream.ctx.customer_id is None
    assert stream.ctx.caller_number == "+442079460958"


def test_form_encoded_requests_work_too(advisor_client, ana):
    response = advisor_client.post(START, {"customer_id": str(ana.pk)})
    assert response.status_code == 200
    assert Call.objects.get().customer == ana


def test_ws_url_follows_the_page_scheme_and_host(advisor_client, ana, settings):
    settings.ALLOWED_HOSTS = ["shop.example.com"]
    response = _start(advisor_client, {"customer_id": ana.pk}, secure=True, HTTP_HOST="shop.example.com")
    assert response.json()["ws_url"] == "wss://shop.example.com/ws/media-stream/"


@pytest.mark.parametrize(
    "payload,message",
    [
        ({"phone": "hello"}, "“hello” is not a phone number. Use a format like (312) 555-0142 or +1 312 555 0142."),
        ({"phone": "555-0142"}, "“555-0142” is missing the area code — dial it like (312) 555-0142."),
        ({"phone": "   "}, "Pick a customer, or type the number an unknown caller is calling from."),
        ({}, "Pick a customer, or type the number an unknown caller is calling from."),
        ({"customer_id": "abc"}, "Pick a customer from the list."),
        ({"customer_id": 999999}, "There is no customer #999999: they may have been deleted. Search again."),
        ({"phone": 3125550142}, "Pick a customer, or type the number an unknown caller is calling from."),
    ],
)
def test_bad_input_is_a_400_with_a_message_and_writes_nothing(advisor_client, payload, message):
    response = _start(advisor_client, payload)
    assert response.status_code == 400
    assert response.json() == {"error": message}
    assert not Call.objects.exists()


def test_malformed_json_is_a_400(advisor_client):
    response = advisor_client.post(START, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "The request was not valid JSON."}
    response = advisor_client.post(START, data="[1, 2]", content_type="application/json")
    assert response.json() == {"error": "The request must be a JSON object."}
    assert not Call.objects.exists()
