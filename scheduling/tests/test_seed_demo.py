"""`manage.py seed_demo` builds a usable shop and a second run changes nothing."""

from io import StringIO

import phonenumbers
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from bartsvoice.tests.factories import BOOKING_RULES
from crm.models import Customer, Vehicle
from crm.vin import compute_check_digit
from scheduling.availability import shop_tz
from scheduling.management.commands.seed_demo import USERS, make_vin, pick_closure
from scheduling.models import Appointment, BusinessHours, Closure, ServiceBay, ServiceType, ShopProfile


def snapshot() -> dict:
    """Every seeded row by its natural key, without timestamps."""
    User = get_user_model()
    return {
        "hours": sorted(BusinessHours.objects.values_list("weekday", "opens", "closes")),
        "bays": sorted(ServiceBay.objects.values_list("name", "active")),
        "services": sorted(ServiceType.objects.values_list("code", "name", "duration_minutes", "price", "keywords")),
        "closures": sorted(Closure.objects.values_list("date", "reason")),
        "customers": sorted(
            Customer.objects.values_list("phone", "first_name", "last_name", "email", "postal_code", "do_not_call")
        ),
        "vehicles": sorted(
            Vehicle.objects.values_list("vin", "customer__phone", "year", "make", "model", "mileage", "plate")
        ),
        "appointments": sorted(
            (a.customer.phone, a.start, a.end, a.status, a.transport, a.source, [s.code for s in a.service_types.all()])
            for a in Appointment.objects.select_related("customer").prefetch_related("service_types")
        ),
        "users": sorted(
            (u.username, u.is_staff, u.is_superuser, u.password, tuple(g.name for g in u.groups.all()))
            for u in User.objects.prefetch_related("groups")
        ),
    }


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """What `seed_demo` printed, with its rows in the database: seeded once for the module's tests (each run is
    ~3,000 queries) inside a transaction rolled back after them; each test's own changes roll back to it."""
    with django_db_blocker.unblock(), override_settings(**BOOKING_RULES), transaction.atomic():
        out = StringIO()
        call_command("seed_demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


def test_seed_demo_builds_the_shop_and_is_idempotent(seeded, db):
    first = snapshot()
    call_command("seed_demo", stdout=StringIO())
    assert snapshot() == first

    assert len(first["hours"]) == 6 and len(first["bays"]) == 4
    assert len(first["services"]) >= 12
    oil = ServiceType.objects.get(code="oil-change")
    assert (oil.duration_minutes, str(oil.price)) == (30, "59.95")
    assert Customer.objects.count() == 50
    assert len(first["closures"]) == 1
    assert ShopProfile.objects.get().phone == "+13125550100"  # read out in voicemails, given in texts
    # what callers ask on the reminder call and inbound: the demo shop has said it
    profile = ShopProfile.objects.get()
    assert profile.customers_can_wait == "yes" and profile.waiting_area and profile.what_to_bring
    # Booked through the services: inside the next two weeks, in opening hours, never over capacity.
    appointments = list(Appointment.objects.all())
    assert len(appointments) >= 30
    today = timezone.localdate(timezone=shop_tz())
    for a in appointments:
        assert 0 <= (timezone.localtime(a.start, shop_tz()).date() - today).days < 14
    for username, password, *_ in USERS:
        assert username in seeded and password in seeded
        assert get_user_model().objects.get(username=username).check_password(password)


def test_seeded_customers_and_vehicles_are_valid(seeded, db):
    for phone in Customer.objects.values_list("phone", flat=True):
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone)), phone
    vehicles = list(Vehicle.objects.all())
    assert len(vehicles) > 50
    for vehicle in vehicles:
        vehicle.full_clean()  # crm's VIN rules, check digit included
        assert vehicle.vin[8] == compute_check_digit(vehicle.vin)
        assert vehicle.make and vehicle.model and vehicle.year, vehicle.vin  # decoded offline


def test_make_vin_computes_the_check_digit():
    # The textbook example: 1HGCM82633A004352 has check digit 3.
    assert make_vin("1HGCM826", "3", "A", "004352") == "1HGCM82633A004352"


def test_closure_prefers_an_upcoming_holiday():
    from datetime import date

    assert pick_closure(date(2026, 11, 20)) == (date(2026, 11, 26), "Thanksgiving")
    day, reason = pick_closure(date(2026, 2, 2))
    assert (day, reason) == (date(2026, 2, 12), "Staff training day")
