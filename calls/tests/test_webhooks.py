import logging
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from twilio.request_validator import RequestValidator

from calls.models import Call
from calls.stream_tokens import redeem_stream_token
from crm.models import Customer
from scheduling.models import Appointment, ReminderAttempt

AUTH_TOKEN = "test-auth-token-12345"
SID = "CA" + "b" * 32
SHOP_NUMBER = "+13125550100"
CALLER = "+13125550142"
INBOUND = "/twilio/voice/inbound/"
STATUS = "/twilio/voice/status/"


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.PUBLIC_BASE_URL = ""
    return settings


def sign(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_signed(client, path, params, *, url=None, token=AUTH_TOKEN, **headers):
    """POST as Twilio would: form-encoded, signed over the URL Twilio called."""
    signature = sign(url or f"http://testserver{path}", params, token)
    return client.post(path, params, headers={"X-Twilio-Signature": signature, **headers})


def inbound_params(**overrides):
    params = {
        "CallSid": SID,
        "AccountSid": "AC" + "0" * 32,
        "From": CALLER,
        "To": SHOP_NUMBER,
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    params.update(overrides)
    return params


def twiml_root(response):
    return ET.fromstring(response.content)  # noqa: S314 -- our own TwiML, not untrusted input


def parse_stream(response):
    """(stream url, {parameter name: value}) of a <Connect><Stream> TwiML answer."""
    root = twiml_root(response)
    assert root.tag == "Response"
    stream = root.find("./Connect/Stream")
    assert stream is not None, response.content
    return stream.get("url"), {p.get("name"): p.get("value") for p in stream.findall("Parameter")}


# --- inbound ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_signed_inbound_call_gets_stream_twiml_with_one_time_token(client):
    response = post_signed(client, INBOUND, inbound_params())
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    url, parameters = parse_stream(response)
    assert url == "wss://testserver/ws/media-stream/"
    assert "?" not in url
    assert redeem_stream_token(parameters["token"], call_sid=SID) is True
    assert redeem_stream_token(parameters["token"], call_sid=SID) is False

    call = Call.objects.get(call_sid=SID)
    assert call.direction == "inbound" and call.transport == "twilio" and call.status == "in_progress"
    assert (call.from_number, call.to_number) == (CALLER, SHOP_NUMBER)
    assert call.customer is None


@pytest.mark.django_db
def test_the_inbound_log_line_shows_the_last_four_digits_only(client, caplog):
    with caplog.at_level(logging.INFO, logger="calls.telephony.views"):
        assert post_signed(client, INBOUND, inbound_params()).status_code == 200
    assert "Inbound call" in caplog.text and "***0142" in caplog.text
    assert CALLER not in caplog.text and CALLER[2:] not in caplog.text


@pytest.mark.django_db
def test_caller_id_is_matched_to_a_customer(client):
    customer = Customer.objects.create(first_name="Dana", last_name="Reyes", phone=CALLER)
    response = post_signed(client, INBOUND, inbound_params())
    assert response.status_code == 200
    assert Call.objects.get(call_sid=SID).customer == customer


@pytest.mark.django_db
def test_retried_webhook_reuses_the_call(client):
    first = post_signed(client, INBOUND, inbound_params())
    second = post_signed(client, INBOUND, inbound_params())
    assert first.status_code == second.status_code == 200
    assert Call.objects.filter(call_sid=SID).count() == 1
    tokens = [parse_stream(r)[1]["token"] for r in (first, second)]
    assert tokens[0] != tokens[1]
    assert all(redeem_stream_token(t, call_sid=SID) for t in tokens)


@pytest.mark.django_db
def test_token_from_the_twiml_is_bound_to_its_call(client):
    _, parameters = parse_stream(post_signed(client, INBOUND, inbound_params()))
    assert redeem_stream_token(parameters["token"], call_sid="CA" + "c" * 32) is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {},  # unsigned
        {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},  # forged
        {"X-Twilio-Signature": sign(f"http://testserver{INBOUND}", inbound_params(), "another-token")},
        # signed, but for other parameters than those sent
        {"X-Twilio-Signature": sign(f"http://testserver{INBOUND}", inbound_params(From="+17735550199"))},
        # signed for another URL
        {"X-Twilio-Signature": sign(f"http://testserver{STATUS}", inbound_params())},
    ],
    ids=["unsigned", "forged", "other-token", "other-params", "other-url"],
)
def test_unsigned_or_forged_inbound_is_refused_and_writes_nothing(client, headers, caplog):
    with caplog.at_level(logging.WARNING, logger="calls.telephony.signatures"):
        response = client.post(INBOUND, inbound_params(), headers=headers)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert not Call.objects.exists()
    assert "Refused Twilio webhook" in caplog.text


@pytest.mark.django_db
def test_without_auth_token_webhooks_answer_503_even_when_signed(client, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    for path in (INBOUND, STATUS, "/twilio/voice/outbound/1/"):
        response = post_signed(client, path, inbound_params())
        assert response.status_code == 503
        assert b"Twilio is not configured: set TWILIO_AUTH_TOKEN" in response.content
    assert not Call.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", [INBOUND, STATUS, "/twilio/voice/outbound/1/"])
def test_webhooks_are_post_only(client, path):
    assert client.get(path).status_code == 405
    assert not Call.objects.exists()


@pytest.mark.django_db
def test_csrf_is_not_required(settings):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post_signed(strict, INBOUND, inbound_params()).status_code == 200


# --- behind a proxy -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_public_base_url_is_what_signatures_and_stream_use(client, settings):
    settings.PUBLIC_BASE_URL = "https://voice.example.com"
    public = f"https://voice.example.com{INBOUND}"
    # Django sees http://testserver, but Twilio signed the public URL.
    response = post_signed(client, INBOUND, inbound_params(), url=public)
    assert response.status_code == 200
    assert parse_stream(response)[0] == "wss://voice.example.com/ws/media-stream/"
    # A signature over the internal URL is not what Twilio would send: refused.
    assert post_signed(client, INBOUND, inbound_params(CallSid="CA" + "d" * 32)).status_code == 403
    assert Call.objects.count() == 1


@pytest.mark.django_db
def test_public_base_url_with_path_prefix_and_query(client, settings):
    settings.PUBLIC_BASE_URL = "https://example.com/shop/"
    path = f"{STATUS}?attempt=2"
    Call.objects.create(call_sid=SID, started_at=datetime.now(ZoneInfo("UTC")), status="in_progress")
    params = {"CallSid": SID, "CallStatus": "completed"}
    response = post_signed(client, path, params, url=f"https://example.com/shop{path}")
    assert response.status_code == 204
    # The query string is part of what Twilio signs.
    response = post_signed(client, path, params, url=f"https://example.com/shop{STATUS}")
    assert response.status_code == 403


@pytest.mark.django_db
def test_forwarded_headers_are_honoured_when_trusted(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.USE_X_FORWARDED_HOST = True
    settings.ALLOWED_HOSTS = ["voice.example.com", "testserver"]
    response = post_signed(
        client,
        INBOUND,
        inbound_params(),
        url=f"https://voice.example.com{INBOUND}",
        X_Forwarded_Proto="https",
        X_Forwarded_Host="voice.example.com",
    )
    assert response.status_code == 200
    assert parse_stream(response)[0] == "wss://voice.example.com/ws/media-stream/"


@pytest.mark.django_db
def test_forwarded_headers_are_ignored_when_not_trusted(client):
    response = post_signed(
        client,
        INBOUND,
        inbound_params(),
        url=f"https://voice.example.com{INBOUND}",
        X_Forwarded_Proto="https",
        X_Forwarded_Host="voice.example.com",
    )
    assert response.status_code == 403


# --- status callbacks ---------------------------------------------------------------------------


def status_params(status, **extra):
    return {"CallSid": SID, "CallStatus": status, "From": CALLER, "To": SHOP_NUMBER, "Direction": "inbound", **extra}


@pytest.mark.django_db
def test_completed_callback_closes_a_call_without_outcome_as_abandoned(client):
    post_signed(client, INBOUND, inbound_params())
    response = post_signed(client, STATUS, status_params("completed", CallDuration="42"))
    assert response.status_code == 204
    call = Call.objects.get(call_sid=SID)
    assert call.status == "completed" and call.outcome == "abandoned" and call.ended_at is not None


@pytest.mark.django_db
def test_completed_callback_keeps_the_sessions_outcome_and_end(client):
    post_signed(client, INBOUND, inbound_params())
    ended = datetime(2030, 1, 1, 12, 0, tzinfo=ZoneInfo("UTC"))
    Call.objects.filter(call_sid=SID).update(outcome="booked", status="completed", ended_at=ended)
    assert post_signed(client, STATUS, status_params("completed")).status_code == 204
    call = Call.objects.get(call_sid=SID)
    assert (call.outcome, call.ended_at) == ("booked", ended)


@pytest.mark.django_db
def test_completed_callback_stores_recording_url(client):
    post_signed(client, INBOUND, inbound_params())
    url = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1"
    post_signed(client, STATUS, status_params("completed", RecordingUrl=url))
    assert Call.objects.get(call_sid=SID).recording_url == url


@pytest.mark.django_db
def test_progress_callbacks_change_nothing(client):
    post_signed(client, INBOUND, inbound_params())
    for status in ("ringing", "in-progress", "queued"):
        assert post_signed(client, STATUS, status_params(status)).status_code == 204
    call = Call.objects.get(call_sid=SID)
    assert call.status == "in_progress" and call.ended_at is None and call.outcome == ""


@pytest.mark.django_db
def test_unsigned_status_callback_is_refused(client):
    post_signed(client, INBOUND, inbound_params())
    assert client.post(STATUS, status_params("completed")).status_code == 403
    assert Call.objects.get(call_sid=SID).ended_at is None


# --- replays and oversized input ---------------------------------------------------------------


@pytest.mark.django_db
def test_replayed_inbound_webhook_opens_no_stream_for_an_ended_call(client):
    from calls import services
    from calls.models import Turn
    from calls.voice.bootstrap import open_stream_call

    first = post_signed(client, INBOUND, inbound_params())
    _url, parameters = parse_stream(first)
    stream = open_stream_call(call_sid=SID, stream_sid="MZ" + "1" * 32, token=parameters["token"])
    assert stream is not None
    call = Call.objects.get(call_sid=SID)
    services.record_turn(call_id=call.pk, index=0, role="agent", text="Hi Dana.", started_at=call.started_at)
    assert post_signed(client, STATUS, status_params("completed")).status_code == 204

    # Twilio signatures carry no timestamp: the same signed request, sent again after the call.
    replay = post_signed(client, INBOUND, inbound_params())
    assert replay.status_code == 409 and b"<Stream" not in replay.content
    call.refresh_from_db()
    assert call.status == "completed" and call.stream_sid == "MZ" + "1" * 32
    assert list(Turn.objects.filter(call=call).values_list("index", "text")) == [(0, "Hi Dana.")]


@pytest.mark.django_db
def test_a_call_gets_one_stream_even_with_two_tokens(client):
    from calls.voice.bootstrap import open_stream_call

    # Twilio retried the webhook before the stream connected: both answers carry a valid token.
    _url, first = parse_stream(post_signed(client, INBOUND, inbound_params()))
    _url, second = parse_stream(post_signed(client, INBOUND, inbound_params()))
    assert open_stream_call(call_sid=SID, stream_sid="MZ" + "1" * 32, token=first["token"]) is not None
    assert open_stream_call(call_sid=SID, stream_sid="MZ" + "2" * 32, token=second["token"]) is None
    assert Call.objects.get(call_sid=SID).stream_sid == "MZ" + "1" * 32
    # Once the stream is there, another webhook gets no token at all.
    assert post_signed(client, INBOUND, inbound_params()).status_code == 409


@pytest.mark.django_db
def test_a_token_minted_before_the_call_ended_opens_nothing_after(client):
    from calls.voice.bootstrap import open_stream_call

    _url, parameters = parse_stream(post_signed(client, INBOUND, inbound_params()))
    post_signed(client, STATUS, status_params("completed"))
    assert open_stream_call(call_sid=SID, stream_sid="MZ" + "1" * 32, token=parameters["token"]) is None
    assert Call.objects.get(call_sid=SID).stream_sid == ""


OVERSIZED = [
    (INBOUND, inbound_params(CallSid="CA" + "a" * 100), "CallSid"),
    (INBOUND, inbound_params(CallSid="CA" + "z" * 32), "CallSid"),
    (INBOUND, inbound_params(CallSid=""), "CallSid"),
    (INBOUND, inbound_params(From="+1" + "3" * 40), "From"),
    (INBOUND, inbound_params(To="x" * 33), "To"),
    (STATUS, status_params("completed", CallSid="CA" + "a" * 100), "CallSid"),
    (STATUS, status_params("completed", CallDuration="9" * 40), "CallDuration"),
    (STATUS, status_params("completed", CallDuration="-3"), "CallDuration"),
    (STATUS, status_params("completed", CallDuration="forty"), "CallDuration"),
    (STATUS, status_params("completed", RecordingUrl="https://api.twilio.com/" + "r" * 200), "RecordingUrl"),
    (STATUS, status_params("completed", RecordingUrl="javascript:alert(1)"), "RecordingUrl"),
    (STATUS, status_params("busy", AnsweredBy="m" * 500), "AnsweredBy"),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("path", "params", "field"), OVERSIZED)
def test_signed_but_oversized_input_is_a_clear_400_and_writes_nothing(client, path, params, field):
    response = post_signed(client, path, params)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain") and field.encode() in response.content
    assert not Call.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_oversized_status_of_a_known_call_changes_nothing(client):
    post_signed(client, INBOUND, inbound_params())
    long_url = "https://api.twilio.com/" + "r" * 200
    assert post_signed(client, STATUS, status_params("completed", RecordingUrl=long_url)).status_code == 400
    call = Call.objects.get(call_sid=SID)
    assert call.status == "in_progress" and call.ended_at is None and call.recording_url == ""


@pytest.mark.django_db
def test_outbound_webhook_checks_its_parameters_too(client, reminder):
    path = f"/twilio/voice/outbound/{reminder.pk}/"
    assert post_signed(client, path, outbound_params(CallSid="CA" + "a" * 100)).status_code == 400
    assert not Call.objects.exists()


# --- outbound reminder calls -------------------------------------------------------------------


@pytest.fixture
def reminder(db):
    customer = Customer.objects.create(first_name="Dana", last_name="Reyes", phone=CALLER)
    start = datetime(2030, 3, 5, 9, 0, tzinfo=ZoneInfo("America/Chicago"))
    appointment = Appointment.objects.create(customer=customer, start=start, end=start + timedelta(minutes=30))
    return ReminderAttempt.objects.create(appointment=appointment, status="dialing", call_sid=SID)


def outbound_params(**overrides):
    params = {
        "CallSid": SID,
        "From": SHOP_NUMBER,
        "To": CALLER,
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
    }
    params.update(overrides)
    return params


@pytest.mark.django_db
def test_a_replayed_reminder_webhook_opens_no_stream_after_the_call(client, reminder):
    """The reminder call's answer webhook, replayed after the call ended, gets no token either."""
    path = f"/twilio/voice/outbound/{reminder.pk}/"
    assert b"<Stream" in post_signed(client, path, outbound_params()).content
    assert post_signed(client, STATUS, status_params("completed", Direction="outbound-api")).status_code == 204
    replay = post_signed(client, path, outbound_params())
    assert replay.status_code == 409 and b"<Stream" not in replay.content
    assert Call.objects.get(call_sid=SID).status == "completed"


@pytest.mark.django_db
def test_outbound_reminder_twiml_streams_with_a_token(client, reminder):
    path = f"/twilio/voice/outbound/{reminder.pk}/"
    response = post_signed(client, path, outbound_params())
    assert response.status_code == 200
    url, parameters = parse_stream(response)
    assert url == "wss://testserver/ws/media-stream/"
    assert redeem_stream_token(parameters["token"], call_sid=SID) is True
    call = Call.objects.get(call_sid=SID)
    assert call.direction == "outbound" and call.transport == "twilio" and call.status == "in_progress"
    assert call.appointment == reminder.appointment
    assert call.customer == reminder.appointment.customer
    assert (call.from_number, call.to_number) == (SHOP_NUMBER, CALLER)


@pytest.mark.django_db
def test_outbound_for_unknown_reminder_is_404_and_writes_nothing(client):
    response = post_signed(client, "/twilio/voice/outbound/424242/", outbound_params())
    assert response.status_code == 404
    assert not Call.objects.exists()


@pytest.mark.django_db
def test_outbound_unsigned_is_refused_before_looking_anything_up(client, reminder):
    assert client.post(f"/twilio/voice/outbound/{reminder.pk}/", outbound_params()).status_code == 403
    assert client.post("/twilio/voice/outbound/424242/", outbound_params()).status_code == 403
    assert not Call.objects.exists()


@pytest.mark.django_db
def test_outbound_answered_by_machine_leaves_a_message(client, reminder):
    path = f"/twilio/voice/outbound/{reminder.pk}/"
    response = post_signed(client, path, outbound_params(AnsweredBy="machine_end_beep"))
    assert response.status_code == 200
    root = twiml_root(response)
    assert root.find("./Connect") is None
    say = root.find("./Say").text
    assert "Tuesday, March 5 at 9:00 AM" in say
    assert root.find("./Hangup") is not None
    call = Call.objects.get(call_sid=SID)
    assert call.outcome == "voicemail" and call.ended_at is not None


@pytest.mark.django_db
def test_unanswered_reminder_is_recorded_from_the_status_callback(client, reminder):
    params = status_params("no-answer", From=SHOP_NUMBER, To=CALLER, Direction="outbound-api")
    assert post_signed(client, STATUS, params).status_code == 204
    call = Call.objects.get(call_sid=SID)
    assert call.direction == "outbound" and call.status == "failed" and call.outcome == "failed"
    assert call.summary == "No answer"
    assert call.appointment == reminder.appointment
    assert call.ended_at is not None


@pytest.mark.django_db
def test_answered_call_that_fails_is_abandoned_not_overwritten(client, reminder):
    post_signed(client, f"/twilio/voice/outbound/{reminder.pk}/", outbound_params())
    assert post_signed(client, STATUS, status_params("failed")).status_code == 204
    call = Call.objects.get(call_sid=SID)
    assert call.status == "failed" and call.outcome == "abandoned"


# --- public URLs for the dialer -------------------------------------------------------------------


def test_absolute_public_url_needs_public_base_url(settings):
    from django.core.exceptions import ImproperlyConfigured
    from django.urls import reverse

    from calls.telephony.public import absolute_public_url, media_stream_url

    with pytest.raises(ImproperlyConfigured, match="PUBLIC_BASE_URL"):
        absolute_public_url("/twilio/voice/status/")
    with pytest.raises(ImproperlyConfigured, match="PUBLIC_BASE_URL"):
        media_stream_url()
    settings.PUBLIC_BASE_URL = "https://voice.example.com/"
    assert absolute_public_url(reverse("calls:twilio-outbound", args=[7])) == (
        "https://voice.example.com/twilio/voice/outbound/7/"
    )
    assert media_stream_url() == "wss://voice.example.com/ws/media-stream/"


def test_stream_url_with_a_query_string_is_refused():
    from calls.telephony import twiml

    with pytest.raises(ValueError, match="query string"):
        twiml.connect_stream(stream_url="wss://voice.example.com/ws/media-stream/?token=x", token="x")
