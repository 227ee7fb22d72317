"""Lookup and availability latency on a realistically sized shop database; prints p50/p95 against the targets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/scheduling.py [--customers 100000 --appointments 20000 --samples 500]

It drops and recreates its own database (`--database`, default bench_scheduling) on the server DATABASE_URL
points at, migrates it, and bulk-fills it: the demo shop's hours, bays and services, `--customers` customers
with valid US numbers, and `--appointments` appointments packed bay by bay over past days (completed, no-shows,
cancellations) and the next three weeks (about 70% booked), so the engine reads real load.

Figures (ms):
- phone lookup, uncached: crm.services.find_customer_by_phone with the cache entry deleted before each call
  (normalising the typed number, a cache miss, the indexed query, the cache write); target p95 <= 2 ms;
- phone lookup, cached: the same number again, answered from the cache;
- availability, 14 days: scheduling.availability.available_slots for one or two random services over the next
  14 days; target p95 <= 20 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bartsvoice.settings")

TARGET_LOOKUP_P95_MS = 2.0
TARGET_AVAILABILITY_P95_MS = 20.0
AREA_CODES = ("312", "773", "872", "630", "708", "847", "224", "331", "815", "779")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def _line(name: str, values: list[float], target: float | None = None) -> str:
    p95 = _pct(values, 95)
    verdict = "" if target is None else f"  target p95 <= {target:g} ms: {'met' if p95 <= target else 'MISSED'}"
    return (
        f"{name:<30} n={len(values):<5} p50={_pct(values, 50):7.3f} p95={p95:7.3f} "
        f"mean={statistics.fmean(values):7.3f} max={max(values):7.3f} ms{verdict}"
    )


def recreate_database(server_url: str, name: str) -> str:
    """Drop and create `name` on the server of `server_url`; returns the URL of the new database."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    cfg = dj_database_url.parse(server_url)
    if "postgresql" not in cfg["ENGINE"]:
        raise SystemExit("bench/scheduling.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    params = {
        "host": cfg["HOST"] or None,
        "port": cfg["PORT"] or None,
        "user": cfg["USER"] or None,
        "password": cfg["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v}) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


def valid_phones(n: int, rng: random.Random) -> list[str]:
    """`n` distinct E.164 numbers that phonenumbers accepts, in Chicago-area codes."""
    import phonenumbers

    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        number = f"+1{rng.choice(AREA_CODES)}{rng.randrange(200, 1000)}{rng.randrange(10000):04d}"
        if number not in seen and phonenumbers.is_valid_number(phonenumbers.parse(number)):
            seen.add(number)
            out.append(number)
    return out


def fill(customers: int, appointments: int, rng: random.Random) -> None:
    from django.db import transaction

    from crm.models import Customer
    from scheduling.management.commands.seed_demo import (
        BAYS,
        FIRST_NAMES,
        LAST_NAMES,
        POSTAL_CODES,
        SATURDAY_HOURS,
        SERVICE_TYPES,
        WEEKDAY_HOURS,
    )
    from scheduling.models import Appointment, BusinessHours, ServiceBay, ServiceType

    with transaction.atomic():
        BusinessHours.objects.bulk_create(
            [BusinessHours(weekday=d, opens=WEEKDAY_HOURS[0], closes=WEEKDAY_HOURS[1]) for d in range(5)]
            + [BusinessHours(weekday=5, opens=SATURDAY_HOURS[0], closes=SATURDAY_HOURS[1])]
        )
        ServiceBay.objects.bulk_create([ServiceBay(name=name) for name in BAYS])
        services = ServiceType.objects.bulk_create(
            [
                ServiceType(code=c, name=n, duration_minutes=m, price=p, keywords=k, description=d)
                for c, n, m, p, k, d in SERVICE_TYPES
            ]
        )

    started = time.perf_counter()
    phones = valid_phones(customers, rng)
    rows = [
        Customer(
            first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES),
            phone=phone,
            postal_code=rng.choice(POSTAL_CODES),
        )
        for phone in phones
    ]
    Customer.objects.bulk_create(rows, batch_size=5000)
    customer_ids = list(Customer.objects.values_list("id", flat=True))
    print(f"filled {customers} customers in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    spans = _appointment_spans(appointments, services, rng)
    now = datetime.now().astimezone()
    statuses_past = [Appointment.Status.COMPLETED] * 17 + [
        Appointment.Status.NO_SHOW,
        Appointment.Status.CANCELLED,
        Appointment.Status.CANCELLED,
    ]
    statuses_future = (
        [Appointment.Status.SCHEDULED] * 6 + [Appointment.Status.CONFIRMED] * 3 + [Appointment.Status.CANCELLED]
    )
    objects = []
    for start, end, _types in spans:
        status = rng.choice(statuses_past if end < now else statuses_future)
        objects.append(
            Appointment(
                customer_id=rng.choice(customer_ids),
                start=start,
                end=end,
                status=status,
                transport=rng.choice(Appointment.Transport.values),
                source=rng.choice(Appointment.Source.values),
            )
        )
    with transaction.atomic():
        created = Appointment.objects.bulk_create(objects, batch_size=5000)
        through = Appointment.service_types.through
        through.objects.bulk_create(
            [
                through(appointment_id=appt.id, servicetype_id=st.id)
                for appt, (_s, _e, types) in zip(created, spans, strict=True)
                for st in types
            ],
            batch_size=10000,
        )
    print(f"filled {len(created)} appointments in {time.perf_counter() - started:.1f} s")


def _appointment_spans(n: int, services, rng: random.Random):
    """Appointments packed bay by bay inside opening hours, newest day first: the next 21 days ~70% booked,
    then back through history until `n` exist. Never more than the 4 bays at once."""
    from django.utils import timezone

    from scheduling.availability import shop_tz
    from scheduling.management.commands.seed_demo import BAYS, SATURDAY_HOURS, WEEKDAY_HOURS

    tz = shop_tz()
    today = timezone.localdate(timezone=tz)
    popular = services[:6]
    spans = []
    day = today + timedelta(days=21)
    while len(spans) < n:
        hours = WEEKDAY_HOURS if day.weekday() < 5 else SATURDAY_HOURS if day.weekday() == 5 else None
        if hours:
            opens = datetime.combine(day, hours[0], tzinfo=tz)
            closes = datetime.combine(day, hours[1], tzinfo=tz)
            gap_choices = (0, 0, 30, 60, 90) if day >= today else (0, 0, 0, 30)
            for _bay in BAYS:
                cursor = opens + timedelta(minutes=rng.choice(gap_choices))
                while len(spans) < n:
                    types = [rng.choice(popular)]
                    if rng.random() < 0.25:
                        other = rng.choice(services)
                        if other not in types:
                            types.append(other)
                    end = cursor + sum((st.duration for st in types), timedelta())
                    if end > closes:
                        break
                    spans.append((cursor, end, types))
                    cursor = end + timedelta(minutes=rng.choice(gap_choices))
        day -= timedelta(days=1)
    return spans


def measure(samples: int, rng: random.Random) -> None:
    import phonenumbers
    from django.utils import timezone

    from crm.models import Customer
    from crm.services import find_customer_by_phone, invalidate_customer_phone
    from scheduling.availability import available_slots, shop_tz
    from scheduling.models import ServiceType

    ids = list(Customer.objects.values_list("id", flat=True))
    picked = list(Customer.objects.filter(id__in=rng.sample(ids, samples)).values_list("phone", flat=True))
    # Numbers as callers' IDs and advisors type them: E.164, national, or digits only.
    typed = []
    for e164 in picked:
        parsed = phonenumbers.parse(e164)
        typed.append(
            (
                e164,
                rng.choice(
                    [
                        e164,
                        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
                        str(parsed.national_number),
                    ]
                ),
            )
        )

    def timed(fn) -> float:
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1000

    for e164, raw in typed[:20]:  # warm connections and code paths
        invalidate_customer_phone(e164)
        assert find_customer_by_phone(raw) is not None
    uncached, cached = [], []
    for e164, raw in typed:
        invalidate_customer_phone(e164)
        uncached.append(timed(lambda raw=raw: find_customer_by_phone(raw)))
        cached.append(timed(lambda raw=raw: find_customer_by_phone(raw)))

    services = list(ServiceType.objects.filter(active=True))
    today = timezone.localdate(timezone=shop_tz())
    slots_found = []

    def search():
        chosen = rng.sample(services, rng.choice((1, 2)))
        slots_found.append(len(available_slots(service_types=chosen, start_date=today, end_date=today + timedelta(13))))

    for _ in range(20):
        search()
    slots_found.clear()
    availability = [timed(search) for _ in range(samples)]

    print()
    print(_line("phone lookup, uncached", uncached, TARGET_LOOKUP_P95_MS))
    print(_line("phone lookup, cached", cached))
    print(_line("availability, 14 days", availability, TARGET_AVAILABILITY_P95_MS))
    print(
        f"{'':<30} slots offered per search: median {statistics.median(slots_found):.0f}, "
        f"min {min(slots_found)}, max {max(slots_found)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--appointments", type=int, default=20_000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--database", default="bench_scheduling", help="dropped and recreated")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url:
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres")
    os.environ["DATABASE_URL"] = recreate_database(server_url, args.database)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(
        f"database {args.database}: migrated in {time.perf_counter() - started:.1f} s; "
        f"cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}"
    )
    rng = random.Random(args.seed)
    fill(args.customers, args.appointments, rng)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    measure(args.samples, rng)


if __name__ == "__main__":
    main()
