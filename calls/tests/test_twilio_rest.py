import logging
import socket
import xml.etree.ElementTree as ET

import pytest

from calls.telephony import rest
from calls.tests.fake_twilio import FakeTwilio

ADVISOR = "+13125550100"
CUSTOMER = "+13125550142"
SHOP = "+13125550111"


@pytest.fixture
def fake(settings):
    with FakeTwilio() as server:
        settings.TWILIO_ACCOUNT_SID = server.account_sid
        settings.TWILIO_AUTH_TOKEN = server.auth_token
        settings.TWILIO_API_BASE_URL = server.base_url
        settings.TWILIO_PHONE_NUMBER = SHOP
        settings.OUTBOUND_CALL_ALLOWLIST = []
        yield server


def calls_path(fake, sid=None):
    base = f"/2010-04-01/Accounts/{fake.account_sid}/Calls"
    return f"{base}/{sid}.json" if sid else f"{base}.json"


def test_hangup_completes_the_call(fake):
    sid = fake.add_call()
    assert rest.hangup_call(sid) is True
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", calls_path(fake, sid))
    assert request.value("Status") == "completed"
    assert request.auth_user == fake.account_sid
    assert fake.calls[sid]["status"] == "completed"


def test_hangup_of_a_call_that_is_gone_is_fine(fake, caplog):
    with caplog.at_level(logging.INFO, logger="calls.telephony.rest"):
        assert rest.hangup_call("CA" + "f" * 32) is True  # 404 / 20404
    assert "already ended" in caplog.text
    sid = fake.add_call()
    assert rest.hangup_call(sid) is True
    assert rest.hangup_call(sid) is True  # 400 / 21220: not in progress any more
    assert len(fake.requests) == 3


def test_transfer_replaces_the_stream_with_a_dial(fake):
    sid = fake.add_call()
    assert rest.transfer_call(sid, "(312) 555-0100") is True
    [request] = fake.requests
    assert request.path == calls_path(fake, sid)
    root = ET.fromstring(request.value("Twiml"))  # noqa: S314 -- TwiML we generated
    assert root.tag == "Response"
    assert root.find("Dial").text == ADVISOR  # normalised to E.164
    assert "advisor" in root.find("Say").text
    assert fake.calls[sid]["status"] == "in-progress"


def test_transfer_of_unknown_call_fails(fake, caplog):
    with caplog.at_level(logging.ERROR, logger="calls.telephony.rest"):
        assert rest.transfer_call("CA" + "f" * 32, ADVISOR) is False
    assert "20404" in caplog.text


def test_transfer_to_a_non_number_is_refused_without_a_request(fake):
    sid = fake.add_call()
    assert rest.transfer_call(sid, "") is False
    assert rest.transfer_call(sid, "not a number") is False
    assert fake.requests == []


def test_place_call_sends_twilios_parameters(fake):
    sid = rest.place_call(
        to="312-555-0142",
        url="https://voice.example.com/twilio/voice/outbound/7/",
        status_callback="https://voice.example.com/twilio/voice/status/",
        machine_detection="DetectMessageEnd",
        async_amd=True,
        async_amd_status_callback="https://voice.example.com/twilio/voice/amd/",
    )
    assert sid and sid.startswith("CA") and sid in fake.calls
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", calls_path(fake))
    assert request.value("To") == CUSTOMER
    assert request.value("From") == SHOP
    assert request.value("Url") == "https://voice.example.com/twilio/voice/outbound/7/"
    assert request.value("StatusCallback") == "https://voice.example.com/twilio/voice/status/"
    assert request.value("MachineDetection") == "DetectMessageEnd"
    assert request.value("AsyncAmd") == "true"
    assert request.value("AsyncAmdStatusCallback") == "https://voice.example.com/twilio/voice/amd/"
    assert request.value("Record") is None


def test_place_call_honours_the_allowlist(fake, settings):
    settings.OUTBOUND_CALL_ALLOWLIST = ["(312) 555-0142"]
    with pytest.raises(rest.OutboundCallRefused, match="OUTBOUND_CALL_ALLOWLIST"):
        rest.place_call(to="+17735550199", url="https://voice.example.com/x/")
    assert fake.requests == []
    assert rest.place_call(to=CUSTOMER, url="https://voice.example.com/x/")  # listed in another format
    assert len(fake.requests) == 1


def test_place_call_refuses_a_non_number(fake):
    with pytest.raises(rest.OutboundCallRefused):
        rest.place_call(to="call me maybe", url="https://voice.example.com/x/")
    assert fake.requests == []


def test_place_call_reports_twilios_refusal(fake):
    fake.fail_with = (400, 21215, "Geo Permission configuration is not permitting call")
    with pytest.raises(rest.TelephonyError, match="21215"):
        rest.place_call(to=CUSTOMER, url="https://voice.example.com/x/")


def test_wrong_credentials_are_an_error_not_a_crash(fake, settings, caplog):
    settings.TWILIO_AUTH_TOKEN = "wrong"
    sid = fake.add_call()
    with caplog.at_level(logging.ERROR, logger="calls.telephony.rest"):
        assert rest.hangup_call(sid) is False
    assert "20003" in caplog.text
    assert fake.calls[sid]["status"] == "in-progress"


def test_unreachable_twilio(settings, caplog):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{port}"
    settings.TWILIO_PHONE_NUMBER = SHOP
    settings.OUTBOUND_CALL_ALLOWLIST = []
    with caplog.at_level(logging.ERROR, logger="calls.telephony.rest"):
        assert rest.hangup_call("CA" + "1" * 32) is False
        assert rest.transfer_call("CA" + "1" * 32, ADVISOR) is False
    assert "ConnectionError" in caplog.text
    with pytest.raises(rest.TelephonyError, match="Could not reach Twilio"):
        rest.place_call(to=CUSTOMER, url="https://voice.example.com/x/")


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"])
def test_unconfigured_twilio_is_a_logged_no_op(fake, settings, caplog, missing):
    setattr(settings, missing, "")
    sid = fake.add_call()
    with caplog.at_level(logging.WARNING, logger="calls.telephony.rest"):
        assert rest.hangup_call(sid) is False
        assert rest.transfer_call(sid, ADVISOR) is False
        assert rest.place_call(to=CUSTOMER, url="https://voice.example.com/x/") is None
    assert caplog.text.count("Twilio is not configured") == 3
    assert fake.requests == []


def test_place_call_without_caller_id_is_a_logged_no_op(fake, settings, caplog):
    settings.TWILIO_PHONE_NUMBER = ""
    with caplog.at_level(logging.WARNING, logger="calls.telephony.rest"):
        assert rest.place_call(to=CUSTOMER, url="https://voice.example.com/x/") is None
    assert "TWILIO_PHONE_NUMBER" in caplog.text
    assert fake.requests == []


def test_client_is_built_once_per_configuration(fake, settings):
    client = rest.get_client()
    assert rest.get_client() is client
    assert client.http_client.timeout == rest.REQUEST_TIMEOUT
    settings.TWILIO_AUTH_TOKEN = "rotated"
    assert rest.get_client() is not client


async def test_async_wrappers_run_in_a_thread(fake):
    sid = fake.add_call()
    assert await rest.atransfer_call(sid, ADVISOR) is True
    assert await rest.ahangup_call(sid) is True
    assert fake.calls[sid]["status"] == "completed"
    new_sid = await rest.aplace_call(to=CUSTOMER, url="https://voice.example.com/x/")
    assert new_sid in fake.calls


def test_dialling_and_transfer_logs_mask_numbers(fake, settings, caplog):
    settings.OUTBOUND_CALL_ALLOWLIST = [CUSTOMER]
    with caplog.at_level(logging.INFO, logger="calls.telephony.rest"):
        with pytest.raises(rest.OutboundCallRefused):
            rest.place_call(to="+17735550199", url="https://voice.example.com/x/")
        rest.place_call(to=CUSTOMER, url="https://voice.example.com/x/")
        rest.transfer_call(fake.add_call(), ADVISOR)
        rest.transfer_call("CA" + "f" * 32, ADVISOR)
    for number in (CUSTOMER, ADVISOR, "+17735550199"):
        assert number[-7:] not in caplog.text, number
        assert "***" + number[-4:] in caplog.text, number
