"""The reminder sweep under load: 10,000 appointments due, several sweeps at once; prints time and duplicates.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/reminders.py [--appointments 10000 --sweeps 4 --workers 4]

It drops and recreates its own database (`--database`, default bench_reminders) on the server DATABASE_URL points
at, migrates it and fills it with `--appointments` customers, each with one appointment in the next 24 hours
(all due). Then:
- `--sweeps` threads run the sweep at the same moment, each on its own connection: create the reminder rows
  (INSERT ... ON CONFLICT DO NOTHING) and hand them out in batches (SELECT ... FOR UPDATE SKIP LOCKED), each
  hand-out enqueued on the Redis broker (to a queue no worker reads, purged afterwards). Figures: wall time to
  create, claim and enqueue every reminder; reminders handed out twice (must be 0); reminders never handed out.
- `--workers` threads then each try to claim every reminder, as if every message were delivered to every worker
  (the worst redelivery): claims won twice (must be 0), and claims per second.
Target: the sweeps finish in under 10 s on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bartsvoice.settings")

TARGET_SECONDS = 10.0
BENCH_QUEUE = "bench-reminders"


def fill(n: int) -> None:
    from django.utils import timezone

    from crm.models import Customer
    from scheduling.models import Appointment

    started = time.perf_counter()
    customers = Customer.objects.bulk_create(
        [Customer(first_name=f"Bench{i}", last_name="Customer", phone=f"+1312{2000000 + i:07d}") for i in range(n)],
        batch_size=5000,
    )
    now = timezone.now()
    Appointment.objects.bulk_create(
        [
            Appointment(
                customer=c,
                start=now + timedelta(hours=1, seconds=i * 8),
                end=now + timedelta(hours=1, seconds=i * 8 + 1800),
            )
            for i, c in enumerate(customers)
        ],
        batch_size=5000,
    )
    print(f"filled {n} customers and due appointments in {time.perf_counter() - started:.1f} s")


def together(n: int, work) -> list:
    from django.db import connection

    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[str] = []

    def run(i: int) -> None:
        try:
            connection.ensure_connection()
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"errors: {errors[:3]}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appointments", type=int, default=10_000)
    parser.add_argument("--sweeps", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database", default="bench_reminders")
    args = parser.parse_args()

    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        raise SystemExit("bench/reminders.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    from bench.scheduling import recreate_database

    os.environ["DATABASE_URL"] = recreate_database(server, args.database)
    os.environ.setdefault("REMINDER_CALL_WINDOW", "00:00-23:59")  # the figures must not depend on the hour
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from bartsvoice.celery import app
    from scheduling import reminders
    from scheduling.models import ReminderAttempt
    from scheduling.tasks import BATCH, PER_MESSAGE, place_reminder_calls

    call_command("migrate", verbosity=0)
    fill(args.appointments)
    use_broker = bool(os.environ.get("REDIS_URL"))

    def sweep(_i: int) -> list[int]:
        now = timezone.now()
        reminders.create_due_reminders(now=now)
        taken: list[int] = []
        while ids := reminders.take_due(now=now, limit=BATCH):
            taken += ids
            if use_broker:  # as dispatch_reminders does: one message per PER_MESSAGE reminders
                with app.producer_or_acquire() as producer:
                    for i in range(0, len(ids), PER_MESSAGE):
                        place_reminder_calls.apply_async(
                            (ids[i : i + PER_MESSAGE],), queue=BENCH_QUEUE, producer=producer
                        )
        return taken

    started = time.perf_counter()
    handed = together(args.sweeps, sweep)
    elapsed = time.perf_counter() - started
    counts = Counter(pk for batch in handed for pk in batch)
    total = ReminderAttempt.objects.count()
    twice = sum(1 for c in counts.values() if c > 1)
    print(
        f"{args.sweeps} concurrent sweeps over {args.appointments} due appointments: {elapsed:.2f} s to create, "
        f"claim and enqueue{' (Redis broker)' if use_broker else ' (no broker: REDIS_URL unset)'}; "
        f"target < {TARGET_SECONDS:g} s: {'met' if elapsed < TARGET_SECONDS else 'MISSED'}"
    )
    print(
        f"  reminder rows: {total}; handed out: {len(counts)} by sweep {[len(b) for b in handed]}; "
        f"handed out twice: {twice}; never: {total - len(counts)}"
    )
    if use_broker:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(BENCH_QUEUE)

    ids = list(ReminderAttempt.objects.values_list("pk", flat=True))

    def claim_all(_i: int) -> list[int]:
        return [pk for pk in ids if reminders.claim(pk) is not None]

    started = time.perf_counter()
    won = together(args.workers, claim_all)
    elapsed = time.perf_counter() - started
    claims = Counter(pk for batch in won for pk in batch)
    attempts = args.workers * len(ids)
    print(
        f"{args.workers} workers each claiming all {len(ids)} reminders: {sum(claims.values())} claims won, "
        f"won twice: {sum(1 for c in claims.values() if c > 1)}; {attempts / elapsed:,.0f} claim attempts/s"
    )


if __name__ == "__main__":
    main()
