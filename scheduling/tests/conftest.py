"""Shared scheduling fixtures: a shop with hours, bays and services, a customer and their vehicle.

`shop` opens Mon–Fri 7:00–18:00 and Sat 8:00–13:00 (closed Sundays), has 4 active bays and the services
oil-change (30 min), brakes (90 min), inspection (60 min) and tire-rotation (30 min).
"""

from datetime import date, datetime, time
from types import SimpleNamespace

import pytest

from crm.models import Customer, Vehicle
from scheduling.availability import shop_tz
from scheduling.models import Appointment, BusinessHours, ServiceBay, ServiceType

WEEKDAY_HOURS = [(day, time(7), time(18)) for day in range(5)] + [(5, time(8), time(13))]

SERVICES = [
    ("oil-change", "Oil change", 30, "oil change, oil, lube, synthetic"),
    ("brakes", "Brakes", 90, "brake, brake pads, squeaking, grinding, rotors"),
    ("inspection", "Inspection", 60, "inspection, check up, checkup, state inspection"),
    ("tire-rotation", "Tire rotation", 30, "tire rotation, rotate tires, rotate my tires"),
]


@pytest.fixture
def shop(db):
    hours = [BusinessHours.objects.create(weekday=d, opens=o, closes=c) for d, o, c in WEEKDAY_HOURS]
    bays = [ServiceBay.objects.create(name=f"Bay {n}") for n in range(1, 5)]
    services = {
        code: ServiceType.objects.create(code=code, name=name, duration_minutes=minutes, keywords=keywords)
        for code, name, minutes, keywords in SERVICES
    }
    return SimpleNamespace(
        hours=hours,
        bays=bays,
        services=services,
        oil_change=services["oil-change"],
        brakes=services["brakes"],
        inspection=services["inspection"],
        tire_rotation=services["tire-rotation"],
    )


@pytest.fixture
def customer(db):
    return Customer.objects.create(first_name="Dana", last_name="Whitfield", phone="+13125550142", postal_code="60614")


@pytest.fixture
def other_customer(db):
    return Customer.objects.create(first_name="Luis", last_name="Ortega", phone="+13125550199", postal_code="60622")


@pytest.fixture
def vehicle(customer):
    return Vehicle.objects.create(customer=customer, year=2019, make="Honda", model="Civic", plate="ABC1234")


def local(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    """An aware shop-local datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, fold=fold, tzinfo=shop_tz())


@pytest.fixture
def place_appointment(customer):
    """Insert an appointment directly (no rules): for setting up load and history."""

    def make(start, end, *, status=Appointment.Status.SCHEDULED, who=None, services=()):
        appt = Appointment.objects.create(customer=who or customer, start=start, end=end, status=status)
        if services:
            appt.service_types.set(services)
        return appt

    return make
