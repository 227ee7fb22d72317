"""Online vPIC enrichment, against a fake vPIC on 127.0.0.1 (never the real host)."""

import logging

import pytest
import requests
from django.core.cache import cache

from crm import vin as vin_module
from crm.tests.fake_vpic import vpic_payload
from crm.vin import decode_vin

ACCORD = "1HGCM82633A004352"
GOLF = "WVWZZZ1JZXW000001"  # not in the offline snapshot
PATH = "/api/vehicles/DecodeVinValues/{}?format=json"


def _accord(fake, **overrides):
    values = {
        "ModelYear": "2003",
        "Make": "HONDA",
        "Model": "Accord",
        "Trim": "EX-V6",
        "Series": "EX",
        "BodyClass": "Coupe",
        "VehicleType": "PASSENGER CAR",
        "Manufacturer": "AMERICAN HONDA MOTOR CO., INC.",
    }
    fake.respond(ACCORD, vpic_payload(ACCORD, **{**values, **overrides}))


def test_online_answer_wins_and_is_tidied(fake_vpic, settings):
    settings.VIN_ONLINE_LOOKUP = True
    _accord(fake_vpic)
    decoded = decode_vin(ACCORD)
    assert fake_vpic.requests == [PATH.format(ACCORD)]
    assert decoded["source"] == "nhtsa"
    assert decoded["source_detail"] == f"{fake_vpic.base_url}/vehicles/DecodeVinValues/{ACCORD}?format=json"
    assert (decoded["year"], decoded["make"], decoded["model"], decoded["trim"]) == (2003, "Honda", "Accord", "EX-V6")
    assert decoded["series"] == "EX"  # only vPIC online knew this
    assert decoded["vehicle_type"] == "Passenger Car"  # same answer, snapshot's casing kept
    assert "nhtsa_note" not in decoded


def test_online_fills_what_the_snapshot_lacks(fake_vpic):
    fake_vpic.respond(
        GOLF,
        vpic_payload(
            GOLF,
            ModelYear="1999",
            Make="VOLKSWAGEN",
            Model="Golf",
            ErrorCode="1",
            ErrorText="1 - Check Digit (9th position) does not calculate properly",
        ),
    )
    decoded = decode_vin(GOLF, online=True)  # explicit argument beats the (off) setting
    assert (decoded["found"], decoded["year"], decoded["make"], decoded["model"]) == (True, 1999, "Volkswagen", "Golf")
    assert decoded["nhtsa_note"] == "1 - Check Digit (9th position) does not calculate properly"
    assert decoded["description"] == "1999 Volkswagen Golf"


def test_online_lookup_is_off_by_default(fake_vpic):
    _accord(fake_vpic)
    decoded = decode_vin(ACCORD)
    assert fake_vpic.requests == []
    assert decoded["source"] == "offline"


def test_online_false_overrides_setting(fake_vpic, settings):
    settings.VIN_ONLINE_LOOKUP = True
    assert decode_vin(ACCORD, online=False)["source"] == "offline"
    assert fake_vpic.requests == []


def test_result_is_cached_for_seven_days(fake_vpic):
    _accord(fake_vpic)
    first = decode_vin(ACCORD, online=True)
    second = decode_vin(ACCORD, online=True)
    assert first == second
    assert len(fake_vpic.requests) == 1
    ttl = cache.ttl(f"crm:vpic:v1:{ACCORD}")  # django-redis: the tests run against Redis
    assert 7 * 24 * 3600 - 60 < ttl <= 7 * 24 * 3600


def test_request_uses_three_second_timeout(fake_vpic, monkeypatch):
    _accord(fake_vpic)
    seen = {}
    real_get = requests.get

    def spy(url, **kwargs):
        seen.update(kwargs)
        return real_get(url, **kwargs)

    monkeypatch.setattr(vin_module.requests, "get", spy)
    decode_vin(ACCORD, online=True)
    assert seen["timeout"] == 3


def _assert_offline_fallback(decoded, caplog):
    assert decoded["source"] == "offline"
    assert (decoded["year"], decoded["make"], decoded["model"]) == (2003, "Honda", "Accord")
    assert any("NHTSA vPIC lookup for 1HGCM82633A004352 failed" in r.getMessage() for r in caplog.records)


def test_timeout_falls_back_to_offline(fake_vpic, monkeypatch, caplog):
    monkeypatch.setattr(vin_module, "VPIC_TIMEOUT_SECONDS", 0.2)  # the real 3 s would slow the suite
    _accord(fake_vpic)
    fake_vpic.respond(ACCORD, vpic_payload(ACCORD, Make="HONDA"), delay=1.5)
    with caplog.at_level(logging.WARNING, logger="crm.vin"):
        decoded = decode_vin(ACCORD, online=True)
    _assert_offline_fallback(decoded, caplog)
    assert "Timeout" in caplog.text


def test_server_error_falls_back_and_is_not_cached(fake_vpic, caplog):
    fake_vpic.respond(ACCORD, {"Message": "boom"}, status=500)
    with caplog.at_level(logging.WARNING, logger="crm.vin"):
        decoded = decode_vin(ACCORD, online=True)
    _assert_offline_fallback(decoded, caplog)
    assert "HTTPError" in caplog.text
    # Once vPIC recovers, the next decode asks again and gets the online answer.
    _accord(fake_vpic)
    assert decode_vin(ACCORD, online=True)["source"] == "nhtsa"
    assert len(fake_vpic.requests) == 2


@pytest.mark.parametrize(
    "raw",
    [b"<html>Service Unavailable</html>", b'{"Results": []}', b'{"Count": 0}', b"[1, 2]", b'{"Results": [null]}'],
)
def test_malformed_answers_fall_back(fake_vpic, caplog, raw):
    fake_vpic.respond(ACCORD, raw=raw)
    with caplog.at_level(logging.WARNING, logger="crm.vin"):
        decoded = decode_vin(ACCORD, online=True)
    _assert_offline_fallback(decoded, caplog)


def test_unreachable_host_falls_back(settings, caplog):
    settings.NHTSA_VPIC_BASE_URL = "http://127.0.0.1:9/api"
    with caplog.at_level(logging.WARNING, logger="crm.vin"):
        decoded = decode_vin(ACCORD, online=True)
    _assert_offline_fallback(decoded, caplog)
    assert "ConnectionError" in caplog.text


def test_empty_online_answer_keeps_offline_data(fake_vpic):
    fake_vpic.respond(ACCORD, vpic_payload(ACCORD, Make="", Model="", ErrorCode="8", ErrorText="8 - No data"))
    decoded = decode_vin(ACCORD, online=True)
    assert decoded["source"] == "offline"
    assert decoded["make"] == "Honda"
