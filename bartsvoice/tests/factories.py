"""What every app's tests build: staff users in their real roles, customers and vehicles, and a shop.

factory-boy makes the rows (sequences keep usernames and phone numbers unique, `Password` hashes with the
test settings' fast hasher); `build_shop` puts opening hours, bays and a service catalogue together. The
fixtures in the root conftest.py are made from these; tests that need something else call them directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from importlib import import_module
from types import SimpleNamespace

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from factory.django import DjangoModelFactory, Password

from crm.models import Customer, Vehicle
from scheduling.availability import shop_tz
from scheduling.models import BusinessHours, ServiceBay, ServiceType

_roles = import_module("scheduling.migrations.0002_roles")
ADVISORS = _roles.ADVISORS
MANAGERS = _roles.MANAGERS
# The README's booking defaults, whatever the environment running the tests says (root conftest applies them).
BOOKING_RULES = {"SHOP_TIMEZONE": "America/Chicago", "SLOT_MINUTES": 30, "BOOKING_LEAD_MINUTES": 120,
                 "BOOKING_HORIZON_DAYS": 60}  # fmt: skip
ADVISOR_PASSWORD = "pw-advisor-1"  # what the shared `advisor` logs in with (browser tests type it)
MANAGER_PASSWORD = "pw-manager-1"

# Mon–Fri 7:00–18:00 and Sat 8:00–13:00, closed Sundays: the shop most tests use.
WEEKDAYS_AND_SATURDAY = [(day, time(7), time(18)) for day in range(5)] + [(5, time(8), time(13))]
# Open 7:00–18:00 every day: for conversations that say "tomorrow", whatever day today is.
EVERY_DAY = [(day, time(7), time(18)) for day in range(7)]

STANDARD_SERVICES = [
    dict(code="oil-change", name="Oil change", duration_minutes=30, keywords="oil change, oil, lube, synthetic"),
    dict(code="brakes", name="Brakes", duration_minutes=90, keywords="brake, brake pads, squeaking, grinding, rotors"),
    dict(code="inspection", name="Inspection", duration_minutes=60,
         keywords="inspection, check up, checkup, state inspection"),
    dict(code="tire-rotation", name="Tire rotation", duration_minutes=30,
         keywords="tire rotation, rotate tires, rotate my tires"),
]  # fmt: skip


def local(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    """An aware shop-local datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, fold=fold, tzinfo=shop_tz())


# Every migration that shapes the staff roles, in order (a new one that grants permissions to a role goes here).
_ROLE_MIGRATIONS = (
    ("scheduling.migrations.0002_roles", "create_roles"),
    ("calls.migrations.0004_softphone_permission", "grant"),
    ("calls.migrations.0006_text_message_permissions", "grant"),
    ("calls.migrations.0008_call_log_roles", "grant"),
    ("privacy.migrations.0002_manager_permissions", "grant"),
    ("scheduling.migrations.0004_shop_profile", "grant"),
)


def rebuild_roles() -> None:
    """The staff roles as the migrations leave them, made again by the migrations' own functions. On PostgreSQL the
    flush after a transactional test puts them back itself (bartsvoice/tests/testdb); Django's own flush (another
    database) empties the tables, and migrations don't run again."""
    from django.apps import apps
    from django.db import connection

    editor = SimpleNamespace(connection=connection)
    for module, function in _ROLE_MIGRATIONS:
        getattr(import_module(module), function)(apps, editor)


def role(name: str) -> Group:
    """The staff role the roles migrations create (made again after a flush)."""
    if name not in (ADVISORS, MANAGERS):
        raise ValueError(f"no such staff role: {name!r}")
    if not Group.objects.filter(name=name).exists():
        rebuild_roles()
    return Group.objects.get(name=name)


class UserFactory(DjangoModelFactory):
    """A staff user; `roles=[ADVISORS]` puts them in a role, `password=` sets what they log in with."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    password = Password("pw-staff-1")
    is_staff = True

    @factory.post_generation
    def roles(self, create: bool, names: Iterable[str] | None, **kwargs) -> None:
        if create and names:
            self.groups.add(*(role(name) for name in names))


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Sequence(lambda n: f"Customer{n}")
    last_name = "Tester"
    phone = factory.Sequence(lambda n: f"+1773555{3000 + n % 7000:04d}")  # clear of the 312 numbers tests spell out


class VehicleFactory(DjangoModelFactory):
    class Meta:
        model = Vehicle

    customer = factory.SubFactory(CustomerFactory)
    year = 2019
    make = "Honda"
    model = "Civic"


class ServiceTypeFactory(DjangoModelFactory):
    class Meta:
        model = ServiceType

    code = factory.Sequence(lambda n: f"service-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").capitalize())
    duration_minutes = 60


def build_shop(
    *,
    hours: Iterable[tuple[int, time, time]] = WEEKDAYS_AND_SATURDAY,
    bays: int = 4,
    services: Iterable[dict] = STANDARD_SERVICES,
) -> SimpleNamespace:
    """Opening hours, `bays` active bays named Bay 1..n, and the services (ServiceType fields, by code)."""
    return SimpleNamespace(
        hours=[BusinessHours.objects.create(weekday=day, opens=opens, closes=closes) for day, opens, closes in hours],
        bays=[ServiceBay.objects.create(name=f"Bay {n}") for n in range(1, bays + 1)],
        services={spec["code"]: ServiceTypeFactory(**spec) for spec in services},
    )
