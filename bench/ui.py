"""Render times of the managers' call log on 100,000 calls in PostgreSQL; prints p50/p95 against the targets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/ui.py [--calls 100000 --samples 30]

It drops and recreates its own database (`--database`, default bench_ui) on the server DATABASE_URL points at,
migrates it and bulk-fills it: 20,000 customers, `--calls` calls over the past year (three in four from a known
customer; outcomes, directions, durations and call-backs in realistic shares), 2 to 10 turns each with per-stage
latencies (Call.worst_latency_ms kept as the pipeline keeps it), a tool call on about half of them, and one call
of 60 turns; and the reminder ledger in proportion (APPOINTMENTS_PER_CALL appointments per call over the same year,
each with its day-before reminder: an outcome mix, some called twice, the unreached ones texted; tomorrow's still
pending). Then, signed in as a manager through Django's test client (the whole view: queries, template):

- list: /calls/ unfiltered, newest first; target p95 <= 300 ms;
- list, filtered or sorted: one of ten filter/sort combinations per sample (outcome, direction, a customer's
  name, a phone number typed as people do, slow calls, a week, handed to a person, slowest reply first,
  longest first, page 40); target p95 <= 300 ms;
- detail: /calls/<id>/ of the 60-turn call; target p95 <= 200 ms;
- dashboard: /dashboard/ for the last 30 days; target p95 <= 500 ms.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bartsvoice.settings")
# Measured as in production: no query log, no debug toolbar of any kind.
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-ui-not-a-secret-key-0123456789")
os.environ["ALLOWED_HOSTS"] = "testserver"

TARGETS_P95_MS = {"list": 300.0, "list, filtered or sorted": 300.0, "detail, 60 turns": 200.0,
                  "dashboard, 30 days": 500.0}  # fmt: skip
OUTCOME_SHARES = {"booked": 22, "info": 30, "rescheduled": 6, "cancelled": 5, "confirmed": 8, "transferred": 9,
                  "voicemail": 4, "abandoned": 12, "failed": 4}  # fmt: skip
# A shop's appointments per call it takes, and how its day-before reminders end (per cent; "skipped": do-not-call).
APPOINTMENTS_PER_CALL = 0.35
REMINDER_SHARES = {"confirmed": 46, "voicemail": 18, "no_answer": 14, "rescheduled": 5, "cancelled": 4,
                   "hung_up": 6, "transferred": 2, "failed": 1, "skipped": 4}  # fmt: skip
TOOLS = ("get_available_slots", "book_appointment", "lookup_customer", "get_upcoming_appointments")
SAY = (
    "I'd like to book an oil change",
    "Do you have anything Tuesday morning?",
    "Nine works for me",
    "Can I move my appointment?",
    "What time do you close on Saturday?",
    "Yes please",
    "That's all, thanks",
)
AGENT = (
    "I have 9 or 10 AM on Tuesday. Which suits you?",
    "You're booked for an oil change on Tuesday at 9 AM.",
    "We're open until 1 PM on Saturday.",
    "Anything else I can help with?",
    "Thanks for calling. Goodbye!",
)


def _bench_scheduling():
    """bench/scheduling.py's database and phone helpers (a script, not a package: loaded by path)."""
    spec = importlib.util.spec_from_file_location("bench_scheduling", ROOT / "bench" / "scheduling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def _line(name: str, values: list[float]) -> str:
    p95 = _pct(values, 95)
    target = TARGETS_P95_MS.get(name)
    verdict = "" if target is None else f"  target p95 <= {target:g} ms: {'met' if p95 <= target else 'MISSED'}"
    return (f"{name:<26} n={len(values):<4} p50={_pct(values, 50):7.1f} p95={p95:7.1f} "
            f"mean={statistics.fmean(values):7.1f} max={max(values):7.1f} ms{verdict}")  # fmt: skip


def _latency(rng: random.Random) -> dict:
    stt = rng.randint(60, 250)
    agent = int(rng.lognormvariate(6.3, 0.5))  # ~550 ms median, a long tail
    tts = rng.randint(80, 300)
    send = rng.randint(20, 90)
    return {"stt_ms": stt, "llm_first_ms": stt + agent, "tts_first_ms": stt + agent + tts,
            "first_audio_ms": stt + agent + tts + send}  # fmt: skip


def fill(calls: int, rng: random.Random) -> int:
    """Returns the id of the 60-turn call."""
    from django.contrib.auth.models import Group, User
    from django.db import connection, transaction
    from django.utils import timezone

    from calls.models import Call, ToolCall, Turn
    from crm.models import Customer
    from scheduling.management.commands.seed_demo import FIRST_NAMES, LAST_NAMES

    manager = User.objects.create_user("bench-manager", is_staff=True)  # no password: signed in by force_login
    manager.groups.add(Group.objects.get(name="Managers"))

    started = time.perf_counter()
    phones = _bench_scheduling().valid_phones(20_000, rng)
    Customer.objects.bulk_create(
        [Customer(first_name=rng.choice(FIRST_NAMES), last_name=rng.choice(LAST_NAMES), phone=p) for p in phones],
        batch_size=5000,
    )
    customers = list(Customer.objects.values_list("id", "phone"))
    outcomes = [o for o, share in OUTCOME_SHARES.items() for _ in range(share)]
    now = timezone.now()
    rows = []
    for n in range(calls):
        known = rng.random() < 0.75
        customer_id, phone = rng.choice(customers) if known else (None, rng.choice(phones))
        outbound = rng.random() < 0.12
        at = now - timedelta(seconds=rng.randrange(365 * 86400))
        outcome = rng.choice(outcomes)
        rows.append(Call(
            call_sid=f"CA{n:032x}", direction="outbound" if outbound else "inbound",
            from_number="+13125550100" if outbound else phone, to_number=phone if outbound else "+13125550100",
            customer_id=customer_id, started_at=at, ended_at=at + timedelta(seconds=rng.randint(15, 600)),
            status="failed" if outcome == "failed" else "completed", outcome=outcome,
            summary=f"{outcome} · {rng.choice(SAY).lower()}"[:300],
            callback_requested=outcome == "info" and rng.random() < 0.05,
        ))  # fmt: skip
    with transaction.atomic():
        created = Call.objects.bulk_create(rows, batch_size=5000)
    print(f"filled {len(created)} calls in {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    turns, tools, worst = [], [], {}
    long_call = created[0]
    for call in created:
        count = 60 if call is long_call else rng.randint(2, 10)
        at = call.started_at
        for index in range(count):
            at += timedelta(seconds=rng.randint(2, 9))
            if index % 2 == 0:
                timing = _latency(rng) if index else {"first_audio_ms": rng.randint(600, 1200)}
                if index:
                    worst[call.pk] = max(worst.get(call.pk, 0), timing["first_audio_ms"])
                turns.append(Turn(call_id=call.pk, index=index, role="agent", text=rng.choice(AGENT),
                                  started_at=at, interrupted=rng.random() < 0.04, **timing))  # fmt: skip
            else:
                turns.append(Turn(call_id=call.pk, index=index, role="caller", text=rng.choice(SAY), started_at=at))
                if rng.random() < 0.25 or (call is long_call and index % 6 == 1):
                    tools.append(ToolCall(call_id=call.pk, turn_index=index + 1, name=rng.choice(TOOLS),
                                          arguments={"services": ["oil-change"]}, result={"ok": True},
                                          duration_ms=rng.randint(3, 60)))  # fmt: skip
        if len(turns) >= 50_000:
            Turn.objects.bulk_create(turns, batch_size=10_000)
            turns = []
    Turn.objects.bulk_create(turns, batch_size=10_000)
    ToolCall.objects.bulk_create(tools, batch_size=10_000)
    with connection.cursor() as cursor:  # the denormalised slowest reply, as services.record_turn keeps it
        cursor.execute("CREATE TEMP TABLE worst (id bigint, ms integer)")
        with cursor.copy("COPY worst (id, ms) FROM STDIN") as copy:
            for pk, ms in worst.items():
                copy.write_row((pk, ms))
        cursor.execute("UPDATE calls_call c SET worst_latency_ms = w.ms FROM worst w WHERE c.id = w.id")
    print(f"filled {Turn.objects.count()} turns and {len(tools)} tool calls in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    fill_reminders(round(calls * APPOINTMENTS_PER_CALL), customers, rng, now)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return long_call.pk


def fill_reminders(count: int, customers: list[tuple[int, str]], rng: random.Random, now) -> None:
    """`count` appointments over the past year and the next day, one day-before reminder each, as the dialer
    leaves them: an outcome (or still pending / skipped), a second attempt for most of the unreached, and a text
    (mostly sent) after a voicemail or a final no-answer."""
    from calls.models import TextMessage
    from scheduling.models import Appointment, ReminderAttempt

    started = time.perf_counter()
    known = [c for c in customers if c[0] is not None]
    results = [r for r, share in REMINDER_SHARES.items() for _ in range(share)]
    appointments, plans = [], []
    for _ in range(count):
        customer_id, phone = rng.choice(known)
        day = now - timedelta(days=rng.randrange(-1, 365))
        start = day.replace(hour=rng.randint(13, 22), minute=rng.choice((0, 30)), second=0, microsecond=0)
        result = "pending" if start > now else rng.choice(results)
        if start > now:
            status = "scheduled"
        else:
            no_show = rng.random() < (0.07 if result in ("confirmed", "rescheduled") else 0.16)
            status = "cancelled" if result == "cancelled" else "no_show" if no_show else "completed"
        appointments.append(Appointment(customer_id=customer_id, start=start, end=start + timedelta(hours=1),
                                        status=status, source="phone"))  # fmt: skip
        plans.append((result, phone))
    created = Appointment.objects.bulk_create(appointments, batch_size=5000)
    reminders = []
    for appointment, (result, _) in zip(created, plans, strict=True):
        called_at = appointment.start - timedelta(hours=24)
        twice = result == "no_answer" or (result in ("voicemail", "hung_up") and rng.random() < 0.3)
        reminders.append(ReminderAttempt(
            appointment_id=appointment.pk, appointment_start=appointment.start,
            status={"pending": "pending", "skipped": "skipped", "no_answer": "failed", "failed": "failed"}.get(
                result, "done"),
            outcome="" if result in ("pending", "skipped") else result,
            attempts=0 if result in ("pending", "skipped") else 2 if twice else 1,
            result="Not called: the customer is on do-not-call." if result == "skipped" else "",
            call_sid="" if result in ("pending", "skipped") else f"CR{appointment.pk:032x}",
            next_attempt_at=called_at if result == "pending" else None,
            last_attempt_at=None if result in ("pending", "skipped") else called_at + timedelta(hours=2 * twice),
        ))  # fmt: skip
    ReminderAttempt.objects.bulk_create(reminders, batch_size=5000)
    texts = []
    for appointment, (result, phone) in zip(created, plans, strict=True):
        if result in ("voicemail", "no_answer"):
            texts.append(TextMessage(to_number=phone, body="Reminder: your appointment tomorrow.", kind="reminder",
                                     appointment_id=appointment.pk, status="sent" if rng.random() < 0.9 else "not_sent",
                                     dedupe_key=f"reminder:{appointment.pk}"))  # fmt: skip
    TextMessage.objects.bulk_create(texts, batch_size=5000)
    print(f"filled {len(created)} appointments with their reminders and {len(texts)} reminder texts in "
          f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip


def measure(samples: int, long_call_id: int, rng: random.Random) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    from calls.models import Call
    from crm.models import Customer

    client = Client()
    client.force_login(User.objects.get(username="bench-manager"))
    someone = Customer.objects.filter(calls__isnull=False).order_by("?").first()
    digits = someone.phone[-10:]
    typed_phone = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    week_ago = (Call.objects.order_by("-started_at").values_list("started_at", flat=True).first()
                - timedelta(days=7)).date().isoformat()  # fmt: skip
    variants = [
        {"outcome": "booked"},
        {"direction": "outbound"},
        {"q": someone.last_name},
        {"q": typed_phone},
        {"slow": "on"},
        {"date_from": week_ago},
        {"person": "yes"},
        {"sort": "-latency"},
        {"sort": "-duration"},
        {"page": "40"},
    ]

    def timed(url: str, params: dict | None = None) -> float:
        t0 = time.perf_counter()
        response = client.get(url, params or {})
        elapsed = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, (url, params, response.status_code)
        return elapsed

    for url in ("/calls/", f"/calls/{long_call_id}/", "/dashboard/"):  # warm-up: connections, templates
        timed(url)
    results = {
        "list": [timed("/calls/") for _ in range(samples)],
        "list, filtered or sorted": [timed("/calls/", variants[n % len(variants)]) for n in range(samples * 2)],
        "detail, 60 turns": [timed(f"/calls/{long_call_id}/") for _ in range(samples)],
        "dashboard, 30 days": [timed("/dashboard/") for _ in range(samples)],
    }
    per_variant = {}
    for variant in variants:
        per_variant[" ".join(f"{k}={v}" for k, v in variant.items())] = [timed("/calls/", variant) for _ in range(5)]
    print()
    for name, values in results.items():
        print(_line(name, values))
    print("\nlist by filter (5 each, p50 ms): " + ", ".join(
        f"{name}: {statistics.median(values):.0f}" for name, values in per_variant.items()))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--database", default="bench_ui", help="dropped and recreated")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="migrate and measure the database of a previous run")
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgres"):
        raise SystemExit("bench/ui.py measures PostgreSQL: set DATABASE_URL=postgres://...")
    if args.reuse:
        base, _, _ = server_url.rpartition("/")
        os.environ["DATABASE_URL"] = f"{base}/{args.database}"
    else:
        os.environ["DATABASE_URL"] = _bench_scheduling().recreate_database(server_url, args.database)
    os.environ["DB_CONN_MAX_AGE"] = "60"

    import django
    from django.core.management import call_command

    django.setup()
    rng = random.Random(args.seed)
    if args.reuse:  # migrated first: a database filled before a new migration is measured with it
        from calls.models import Call

        call_command("migrate", verbosity=0)

        long_call_id = Call.objects.order_by("pk").values_list("pk", flat=True).first()
    else:
        call_command("migrate", verbosity=0)
        long_call_id = fill(args.calls, rng)
    measure(args.samples, long_call_id, rng)


if __name__ == "__main__":
    main()
