"""The identity rules in plain functions (the tools' end-to-end behaviour is in calls/tests/test_tools.py)."""

import pytest

from crm import identity


@pytest.mark.parametrize(("said", "on_file", "match"), [
    ("60601", "60601", True),
    ("60601-9999", "60601", True),  # ZIP+4 said, ZIP on file
    ("606019999", "60601-9999", True),
    ("60601", "60601-1234", True),  # ZIP said, ZIP+4 on file
    ("60601-1234", "60601-9999", False),
    ("6", "60601", False), ("606", "60601", False), ("6060", "60601", False), ("60601", "6060", False),
    ("m5v 2t6", "M5V2T6", True), ("M5V", "M5V 2T6", False),
    ("", "60601", False), ("60601", "", False),
])  # fmt: skip
def test_postal_codes_match_whole(said, on_file, match):
    assert identity.postal_codes_match(said, on_file) is match


def test_normalize_postal_code():
    assert identity.normalize_postal_code(" 60601 9999 ") == "60601-9999"
    assert identity.normalize_postal_code("m5v 2t6") == "M5V2T6"


def test_name_key_forgives_case_accents_and_punctuation_only():
    assert identity.name_key("José") == identity.name_key("jose")
    assert identity.name_key("O'Brien") == identity.name_key("obrien") == identity.name_key("O Brien")
    assert identity.name_key("Garcia") != identity.name_key("Garcias")


@pytest.mark.django_db
def test_makes_compare_by_their_spoken_names():
    from crm.models import Customer, Vehicle

    customer = Customer.objects.create(first_name="A", last_name="B", phone="+13125550142")
    Vehicle.objects.create(customer=customer, make="Chevrolet", model="Malibu")
    Vehicle.objects.create(customer=customer, make="Mercedes-Benz", model="C300")
    for said in ("chevy", "Chevrolet", "mercedes", "Mercedes Benz", "benz"):
        assert identity.owns_vehicle_make(customer, said), said
    assert not identity.owns_vehicle_make(customer, "Ford")
    assert not identity.owns_vehicle_make(customer, "")


def test_caller_id_matches_only_the_number_on_the_account():
    from crm.models import Customer

    customer = Customer(phone="+13125550142")
    assert identity.caller_id_matches(customer, "(312) 555-0142")
    assert not identity.caller_id_matches(customer, "+13125550143")
    assert not identity.caller_id_matches(customer, "anonymous")
    assert not identity.caller_id_matches(None, "+13125550142")


def test_the_weekday_of_an_upcoming_appointment_is_a_fact_only_the_customer_knows(db):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from crm.identity import has_appointment_on_weekday
    from crm.models import Customer
    from scheduling.models import Appointment

    ann = Customer.objects.create(first_name="Ann", last_name="Lee", phone="+13125550111", postal_code="60601")
    now = datetime(2026, 12, 1, 18, tzinfo=ZoneInfo("America/Chicago"))  # a Tuesday
    start = datetime(2026, 12, 12, 8, tzinfo=ZoneInfo("America/Chicago"))  # the Saturday after next
    Appointment.objects.create(customer=ann, start=start, end=start + timedelta(minutes=30))
    assert has_appointment_on_weekday(ann, 5, now=now)
    assert not has_appointment_on_weekday(ann, 4, now=now)
    assert not has_appointment_on_weekday(ann, 5, now=start + timedelta(days=1))  # over: no longer a proof
