"""Fixtures for the agent tests: a shop, a known customer with a vehicle and an appointment, a call context.

`agent_now` is a Monday 9:00 shop time at least a week ahead, so every date the tests speak about is in the
future for the real clock too. The shop opens Mon-Fri 7:00-18:00 and Sat 8:00-13:00 and has 4 bays.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bartsvoice.tests.factories import build_shop, local
from calls.agent.context import CallContext
from calls.models import Call
from crm.models import Customer, Vehicle
from scheduling.availability import shop_tz
from scheduling.management.commands.seed_demo import SERVICE_TYPES
from scheduling.models import Appointment, BusinessHours, ServiceBay, ServiceType

AGENT_SERVICES = [
    dict(code=code, name=name, duration_minutes=minutes, price=Decimal(price), keywords=keywords, active=active)
    for code, name, minutes, price, keywords, active in [
        ("oil-change", "Oil change", 30, "49.99", "oil change, oil, lube, synthetic", True),
        ("brakes", "Brake service", 90, "189.00", "brakes, brake, brake pads, rotors", True),
        ("tire-rotation", "Tire rotation", 30, "29.99", "tire rotation, rotate tires, rotate my tires", True),
        ("diagnostics", "Diagnostics", 60, "120.00", "diagnostic, check engine, engine light, warning light", True),
        ("detailing", "Detailing", 120, "150.00", "detailing, detail, car wash", False),
    ]
]
MARIA_PHONE = "+13125550142"
LUIS_PHONE = "+13125550199"
NEW_CALLER_PHONE = "+13125550123"


agent_local = local  # an aware shop-local datetime, under the name the agent tests know


@pytest.fixture
def agent_now() -> datetime:
    today = timezone.now().astimezone(shop_tz()).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 + 7)
    return agent_local(monday, 9)


@pytest.fixture
def agent_shop(db):
    services = build_shop(services=AGENT_SERVICES).services
    return SimpleNamespace(
        services=services,
        oil=services["oil-change"],
        brakes=services["brakes"],
        rotation=services["tire-rotation"],
        diagnostics=services["diagnostics"],
    )


@pytest.fixture
def agent_customer(agent_shop):
    maria = Customer.objects.create(first_name="Maria", last_name="Garcia", phone=MARIA_PHONE, postal_code="60601")
    Vehicle.objects.create(customer=maria, year=2018, make="Honda", model="Civic")
    return maria


@pytest.fixture
def agent_appointment(agent_customer, agent_now, agent_shop):
    """Maria's oil change on Wednesday at 10:00."""
    start = agent_now.replace(hour=10) + timedelta(days=2)
    appt = Appointment.objects.create(
        customer=agent_customer,
        vehicle=agent_customer.vehicles.first(),
        start=start,
        end=start + timedelta(minutes=30),
        source=Appointment.Source.PHONE,
    )
    appt.service_types.set([agent_shop.oil])
    return appt


@pytest.fixture
def agent_other_appointment(agent_shop, agent_now):
    """Luis's brake service on Thursday at 9:00: not Maria's to see or change."""
    luis = Customer.objects.create(first_name="Luis", last_name="Ortega", phone=LUIS_PHONE, postal_code="60622")
    start = agent_now + timedelta(days=3)
    appt = Appointment.objects.create(customer=luis, start=start, end=start + timedelta(minutes=90))
    appt.service_types.set([agent_shop.brakes])
    return appt


@pytest.fixture
def agent_ctx(agent_now, db):
    """make(caller, customer=None, bind=True): a CallContext with a Call row, like the session builds one."""

    def make(caller: str = MARIA_PHONE, customer=None, *, direction="inbound", appointment=None):
        call = Call.objects.create(
            call_sid=f"CA{Call.objects.count() + 1:032d}",
            from_number=caller,
            to_number="+13125550000",
            started_at=agent_now,
            direction=direction,
            transport=Call.Transport.SIMULATOR,
            customer=customer,
            appointment=appointment,
        )
        return CallContext(
            call_id=call.pk,
            caller_number=caller,
            direction=direction,
            customer_id=customer.pk if customer else None,
            customer_name=customer.first_name if customer else "",
            verified=customer is not None,
            appointment_id=appointment.pk if appointment else None,
            now=agent_now,
        )

    return make


@pytest.fixture
def quick_voice(monkeypatch):
    """The instant voice at 15 ms a character instead of a talker's 60: replies the session paces in real
    time play four times sooner. For tests that wait through whole replies, not for those that talk over one."""
    from calls.voice.providers import instant

    monkeypatch.setattr(instant, "MS_PER_CHAR", 15)


# --- reminder calls through `simulate_call --reminder` (the dialer's path with the text simulator as the phone) ---


@pytest.fixture
def reminder_shop(settings):
    """Dana's oil change tomorrow at 10:00 (real clock), a shop open every day, texts on without an SMS provider.
    Returns the appointment."""
    settings.SMS_CONFIRMATIONS = True
    settings.TWILIO_AUTH_TOKEN = ""
    for weekday in range(7):  # open every day: the scripts say "the day after" whatever today is
        BusinessHours.objects.create(weekday=weekday, opens=time(7), closes=time(18))
    ServiceBay.objects.create(name="Bay 1")
    oil = ServiceType.objects.create(code="oil-change", name="Oil change", duration_minutes=30, keywords="oil")
    dana = Customer.objects.create(first_name="Dana", last_name="Reyes", phone="+13125550142", postal_code="60601")
    car = Vehicle.objects.create(customer=dana, year=2019, make="Toyota", model="Camry")
    start = (timezone.localtime() + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    appt = Appointment.objects.create(customer=dana, vehicle=car, start=start, end=start + timedelta(minutes=30))
    appt.service_types.set([oil])
    return appt


def simulate_reminder(tmp_path, appointment, lines=(), answer="human") -> tuple[str, str, bool]:
    """`simulate_call --reminder` with these caller lines: (stdout, stderr, whether it succeeded)."""
    script = tmp_path / "script.txt"
    script.write_text("\n".join(lines) + "\n")
    out, err = StringIO(), StringIO()
    try:
        call_command(
            "simulate_call", reminder=appointment.pk, answer=answer, script=str(script), stdout=out, stderr=err
        )
        ok = True
    except CommandError as exc:
        err.write(str(exc))
        ok = False
    return out.getvalue(), err.getvalue(), ok


# --- the demo shop and two of its customers (the caller tests: test_dialogue_*.py) -----------------------------

DWAYNE_PHONE = "+13125550163"


@pytest.fixture
def demo_shop(db):
    """The demo shop's hours, bays and services (names, keywords, descriptions as seed_demo makes them)."""
    for weekday in range(5):
        BusinessHours.objects.create(weekday=weekday, opens=time(7), closes=time(18))
    BusinessHours.objects.create(weekday=5, opens=time(8), closes=time(13))
    for n in range(1, 5):
        ServiceBay.objects.create(name=f"Bay {n}")
    for code, name, minutes, price, keywords, description in SERVICE_TYPES:
        ServiceType.objects.create(
            code=code,
            name=name,
            duration_minutes=minutes,
            price=Decimal(price),
            keywords=keywords,
            description=description,
        )


@pytest.fixture
def maria(demo_shop):
    customer = Customer.objects.create(first_name="Maria", last_name="Delgado", phone=MARIA_PHONE, postal_code="60614")
    Vehicle.objects.create(customer=customer, year=2018, make="Honda", model="Civic")
    return customer


@pytest.fixture
def dwayne(demo_shop):
    customer = Customer.objects.create(
        first_name="Dwayne", last_name="Pritchard", phone=DWAYNE_PHONE, postal_code="60640"
    )
    Vehicle.objects.create(customer=customer, year=2019, make="Jeep", model="Grand Cherokee")
    Vehicle.objects.create(customer=customer, year=2011, make="Toyota", model="Tacoma")
    return customer
