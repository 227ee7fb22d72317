"""The database a scenario starts from: the demo shop, the cast, and the scenario's own appointments,
closures and full days; and the wipe that gives the next scenario a clean slate.

The shop is the one `seed_demo` builds (hours, bays, the service list with its keywords), so the suite
measures the agent against the shop a new user meets. Rows are written straight through the ORM: a scenario
may need what the booking rules would refuse today (a past visit, a day packed beyond the lead time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.db import connection, transaction

from calls.evals.scenario import Scenario
from crm.models import Customer, Vehicle
from crm.phones import normalize_phone
from scheduling.management.commands import seed_demo
from scheduling.models import Appointment, BusinessHours, Closure, ServiceBay, ServiceType, ShopProfile

FILLER_PHONE = "+13125550101"  # the fleet account whose bookings make a day full
WIPED_APPS = ("calls", "scheduling", "crm")


@dataclass
class World:
    """What was built, by scenario key, to compare against after the call."""

    customers: dict[str, Customer] = field(default_factory=dict)
    vehicles: dict[tuple[str, str], Vehicle] = field(default_factory=dict)  # (customer key, car key)
    appointments: dict[str, Appointment] = field(default_factory=dict)
    before: dict[int, tuple] = field(default_factory=dict)  # every appointment's (start, status) at the start
    filler_ids: set[int] = field(default_factory=set)


def wipe() -> None:
    """Empty every table of the project's apps (auth and sessions stay).

    Plain DELETEs in one transaction: the foreign keys Django creates are checked at commit, so the order does
    not matter, and on a few dozen rows this is ten times faster than PostgreSQL's TRUNCATE."""
    tables = set()
    for app in WIPED_APPS:
        for model in apps.get_app_config(app).get_models(include_auto_created=True):
            tables.add(model._meta.db_table)
    tables &= set(connection.introspection.table_names())
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        for table in sorted(tables):
            cursor.execute(f"DELETE FROM {quote(table)}")  # noqa: S608 - table names from the app registry


def _shop(bays: int | None) -> dict[str, ServiceType]:
    opens, closes = seed_demo.WEEKDAY_HOURS
    hours = [BusinessHours(weekday=weekday, opens=opens, closes=closes) for weekday in range(5)]
    hours.append(BusinessHours(weekday=5, opens=seed_demo.SATURDAY_HOURS[0], closes=seed_demo.SATURDAY_HOURS[1]))
    BusinessHours.objects.bulk_create(hours)
    ShopProfile.objects.create(**seed_demo.PROFILE)
    names = seed_demo.BAYS if bays is None else [f"Bay {n}" for n in range(1, bays + 1)]
    ServiceBay.objects.bulk_create([ServiceBay(name=name) for name in names])
    return {
        st.code: st
        for st in ServiceType.objects.bulk_create(
            [
                ServiceType(
                    code=code,
                    name=name,
                    duration_minutes=minutes,
                    price=Decimal(price),
                    keywords=keywords,
                    description=description,
                )
                for code, name, minutes, price, keywords, description in seed_demo.SERVICE_TYPES
            ]
        )
    }


def _fill(day, start, end, filler: Customer, service: ServiceType, tz) -> list[int]:
    """Every bay busy on `day` from `start` to `end` (default: opening to closing): one long job per bay."""
    ids = []
    bays = ServiceBay.objects.filter(active=True).count()
    for opens, closes in BusinessHours.objects.filter(weekday=day.weekday()).values_list("opens", "closes"):
        lo, hi = max(opens, start) if start else opens, min(closes, end) if end else closes
        if lo >= hi:
            continue
        for _ in range(bays):
            appt = Appointment.objects.create(
                customer=filler,
                start=datetime.combine(day, lo, tzinfo=tz),
                end=datetime.combine(day, hi, tzinfo=tz),
                notes="fleet work (scenario: day full)",
                source=Appointment.Source.ADMIN,
            )
            appt.service_types.set([service])
            ids.append(appt.pk)
    return ids


@transaction.atomic
def build(sc: Scenario) -> World:
    world = World()
    services = _shop(sc.given.bays)
    # In bulk (no signals): the phone-lookup cache they would invalidate is emptied before every scenario.
    people = list(sc.given.customers.values())
    rows = Customer.objects.bulk_create(
        [
            Customer(first_name=p.first_name, last_name=p.last_name, phone=normalize_phone(p.phone), postal_code=p.zip)
            for p in people
        ]
    )
    world.customers = {p.key: row for p, row in zip(people, rows, strict=True)}
    cars = [(p.key, car) for p in people for car in p.cars]
    vehicles = Vehicle.objects.bulk_create(
        [
            Vehicle(
                customer=world.customers[key],
                year=car.year,
                make=car.make,
                model=car.model,
                vin=car.vin,
                plate=car.plate,
            )
            for key, car in cars
        ]
    )
    world.vehicles = {(key, car.key): row for (key, car), row in zip(cars, vehicles, strict=True)}
    for day, reason in sc.given.closures:
        Closure.objects.create(date=day, reason=reason)
    for appt in sc.given.appointments.values():
        types = [services[code] for code in appt.services]
        minutes = sum(t.duration_minutes for t in types)
        row = Appointment.objects.create(
            customer=world.customers[appt.customer],
            vehicle=world.vehicles[(appt.customer, appt.car)] if appt.car else None,
            start=appt.start,
            end=appt.start + timedelta(minutes=minutes),
            status=appt.status,
            source=Appointment.Source.PHONE,
        )
        row.service_types.set(types)
        world.appointments[appt.key] = row
    if sc.given.busy:
        filler = Customer.objects.create(first_name="Fleet", last_name="Account", phone=FILLER_PHONE)
        for busy in sc.given.busy:
            world.filler_ids.update(
                _fill(busy.day, busy.start, busy.end, filler, services["multi-point"], sc.now.tzinfo)
            )
    world.before = {
        pk: (start, status) for pk, start, status in Appointment.objects.values_list("pk", "start", "status")
    }
    return world
