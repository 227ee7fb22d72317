"""The managers' dashboard: what the agent did for the shop over a period, in a fixed handful of queries.

Definitions (the page says them too):
- handled without a person: the call ended with an outcome the agent reached on its own (booked, rescheduled,
  cancelled, confirmed, information, voicemail left) and no call-back was promised;
- booking conversion: inbound calls that booked ÷ inbound calls that wanted a booking (they booked, or the
  agent looked for free slots or tried to book);
- response latency: time from the end of the caller's speech to the agent's first audio, over every reply to
  the caller made during the period (greetings and "are you still there?" are not replies);
- reminder results: the reminder ledger (scheduling.reminders.results_summary), one result per reminder of an
  appointment of the period, however many calls it took (a retried "no answer" is one reminder, not two calls);
  "texted" counts those that got a text instead (voicemail, or no answer after the last attempt);
- no-show rate: appointments of the period that are over (completed or no-show), split by whether their
  reminder reached the customer (the ledger's result is an answered call, voicemail included).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import CharField, Count, Exists, OuterRef, Q, Sum, Value
from django.db.models.aggregates import Aggregate
from django.db.models.fields import FloatField
from django.db.models.functions import Cast, Concat, ExtractHour, TruncDate

from calls.models import Call, TextMessage, ToolCall, Turn
from calls.selectors import AGENT_OUTCOMES, percentile, shop_day_start
from calls.texts import REMINDER_KEY
from scheduling import reminders as reminder_ledger
from scheduling.availability import shop_tz
from scheduling.models import Appointment, ReminderAttempt

BOOKING_TOOLS = ("get_available_slots", "book_appointment")
# Upper bounds (ms) of the latency histogram's buckets; the last bucket is open-ended.
LATENCY_BUCKETS = (500, 750, 1000, 1250, 1500, 2000, 3000)
# The ledger's results in the order a manager reads them: decisions, then the calls that decided nothing.
REMINDER_RESULTS = (
    *ReminderAttempt.Outcome.choices,
    ("skipped", "Not called (do-not-call, allowlist, too late)"),
    ("pending", "Still to call"),
)
# A reminder whose call reached the customer (or their voicemail): the no-show split's "reminded".
REACHED = (
    ReminderAttempt.Outcome.CONFIRMED,
    ReminderAttempt.Outcome.RESCHEDULED,
    ReminderAttempt.Outcome.CANCELLED,
    ReminderAttempt.Outcome.TRANSFERRED,
    ReminderAttempt.Outcome.CALLBACK,
    ReminderAttempt.Outcome.VOICEMAIL,
    ReminderAttempt.Outcome.HUNG_UP,
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class _PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate: the q-th percentile, interpolated."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(q)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, q: float, **extra):
        super().__init__(expression, q=float(q), **extra)


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # included

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def start(self) -> datetime:
        return shop_day_start(self.first)

    @property
    def end(self) -> datetime:
        return shop_day_start(self.last + timedelta(days=1))


@dataclass
class Dashboard:
    period: Period
    totals: dict[str, int]
    booking_conversion: float | None
    handled_share: float | None
    cost_total: Decimal  # of the calls metered (calls.usage)
    cost_average: Decimal | None  # per metered call
    latency_p50: float | None
    latency_p95: float | None
    latency_replies: int
    latency_histogram: list[tuple[str, int]]
    reminders: list[tuple[str, str, int]]  # key, label, count: one per reminder (the ledger's result)
    reminder_texts: dict[str, int]  # sent / not_sent: reminders that got a text instead of a conversation
    no_show: dict[str, dict[str, float | int | None]]  # reminded / not_reminded -> over, no_shows, rate
    per_day: list[tuple[date, dict[str, int]]]
    by_hour: list[tuple[int, int]]
    by_weekday: list[tuple[str, int]]
    outcomes_seen: list[str] = field(default_factory=list)


def dashboard(period: Period, *, now: datetime) -> Dashboard:
    calls = Call.objects.filter(started_at__gte=period.start, started_at__lt=period.end)
    totals = _totals(calls)
    latency = _reply_latency(period)
    per_day, by_hour, by_weekday, outcomes_seen = _calls_over_time(calls, period)
    return Dashboard(
        period=period,
        totals=totals,
        booking_conversion=_share(totals["booked_inbound"], totals["wanted_booking"]),
        handled_share=_share(totals["handled"], totals["calls"]),
        cost_total=Decimal(totals["cost"] or 0),
        cost_average=Decimal(totals["cost"]) / totals["metered"] if totals["metered"] else None,
        latency_p50=latency.p50,
        latency_p95=latency.p95,
        latency_replies=latency.replies,
        latency_histogram=latency.histogram,
        reminders=_reminder_results(period),
        reminder_texts=_reminder_texts(period),
        no_show=_no_show(period, now),
        per_day=per_day,
        by_hour=by_hour,
        by_weekday=by_weekday,
        outcomes_seen=outcomes_seen,
    )


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _totals(calls) -> dict[str, int]:
    """Counts of calls by what happened; with `cost`, the sum of the metered calls' cost (a Decimal, or None)."""
    outbound = Q(direction=Call.Direction.OUTBOUND)
    inbound = Q(direction=Call.Direction.INBOUND)
    booked = Q(outcome=Call.Outcome.BOOKED)
    looked = Exists(ToolCall.objects.filter(call=OuterRef("pk"), name__in=BOOKING_TOOLS))
    counts: dict[str, Aggregate] = {
        "calls": Count("pk"),
        "inbound": Count("pk", filter=inbound),
        "outbound": Count("pk", filter=outbound),
        "handled": Count("pk", filter=Q(outcome__in=AGENT_OUTCOMES, callback_requested=False)),
        "booked": Count("pk", filter=booked),
        "booked_inbound": Count("pk", filter=inbound & booked),
        "wanted_booking": Count("pk", filter=inbound & (booked | Q(looked))),
        "rescheduled": Count("pk", filter=Q(outcome=Call.Outcome.RESCHEDULED)),
        "cancelled": Count("pk", filter=Q(outcome=Call.Outcome.CANCELLED)),
        "transferred": Count("pk", filter=Q(outcome=Call.Outcome.TRANSFERRED)),
        "callbacks": Count("pk", filter=Q(callback_requested=True)),
        "abandoned": Count("pk", filter=Q(outcome=Call.Outcome.ABANDONED)),
        "failed": Count("pk", filter=Q(outcome=Call.Outcome.FAILED)),
    }
    counts["metered"] = Count("pk", filter=Q(cost_usd__isnull=False))
    counts["cost"] = Sum("cost_usd")
    return calls.aggregate(**counts)


def _reminder_results(period: Period) -> list[tuple[str, str, int]]:
    summary = reminder_ledger.results_summary(start=period.start, end=period.end)
    return [(key, str(label), summary[key]) for key, label in REMINDER_RESULTS]


def _reminder_texts(period: Period) -> dict[str, int]:
    """Reminders of the period's appointments that were texted (one text per reminder: its dedupe key). By the
    reminder, not the appointment: a moved appointment's text about its new day does not count on the old one."""
    keys = (
        reminder_ledger.reminders_about(start=period.start, end=period.end)
        .annotate(key=Concat(Value(REMINDER_KEY), Cast("pk", CharField())))
        .values("key")
    )
    texts = TextMessage.objects.filter(kind=TextMessage.Kind.REMINDER, dedupe_key__in=keys)
    went = Q(status__in=[TextMessage.Status.QUEUED, TextMessage.Status.SENDING, TextMessage.Status.SENT])
    row = texts.aggregate(
        sent=Count("dedupe_key", filter=went, distinct=True),
        not_sent=Count("dedupe_key", filter=~went, distinct=True),
    )
    return {"sent": row["sent"], "not_sent": row["not_sent"]}


@dataclass(frozen=True)
class _ReplyLatency:
    p50: float | None
    p95: float | None
    replies: int
    histogram: list[tuple[str, int]]


def replies_during(period: Period):
    """The agent's replies to the caller made during the period (Turn.started_at; index turn_reply_latency)."""
    return Turn.objects.filter(
        started_at__gte=period.start,
        started_at__lt=period.end,
        role=Turn.Role.AGENT,
        stt_ms__isnull=False,
        first_audio_ms__isnull=False,
    ).order_by()


def _reply_latency(period: Period) -> _ReplyLatency:
    """Percentiles and histogram of the replies made during the period, in one pass over one partial index.

    Replies are selected by their own time (Turn.started_at, index turn_reply_latency), not through their calls:
    joining the period's calls to their turns read every reply of the table (200 ms on 100,000 calls)."""
    replies = replies_during(period)
    if connection.vendor == "postgresql":
        buckets, low = {}, 0
        for n, high in enumerate(LATENCY_BUCKETS):
            buckets[f"b{n}"] = Count("pk", filter=Q(first_audio_ms__gte=low, first_audio_ms__lt=high))
            low = high
        buckets[f"b{len(LATENCY_BUCKETS)}"] = Count("pk", filter=Q(first_audio_ms__gte=low))
        row = replies.aggregate(
            p50=_PercentileCont("first_audio_ms", 0.5),
            p95=_PercentileCont("first_audio_ms", 0.95),
            n=Count("pk"),
            **buckets,
        )
        counts = [row[f"b{n}"] for n in range(len(LATENCY_BUCKETS) + 1)]
        return _ReplyLatency(row["p50"], row["p95"], row["n"], _histogram(counts))
    values = list(replies.values_list("first_audio_ms", flat=True))  # SQLite (the embedded demo)
    counts = [0] * (len(LATENCY_BUCKETS) + 1)
    for ms in values:
        counts[bisect_right(LATENCY_BUCKETS, ms)] += 1
    return _ReplyLatency(percentile(values, 0.5), percentile(values, 0.95), len(values), _histogram(counts))


def _histogram(counts: list[int]) -> list[tuple[str, int]]:
    labels, low = [], 0
    for high in LATENCY_BUCKETS:
        labels.append(f"{_seconds(low)}–{_seconds(high)} s")
        low = high
    labels.append(f"≥ {_seconds(low)} s")
    return list(zip(labels, counts, strict=True))


def _seconds(ms: int) -> str:
    return f"{ms / 1000:g}"


def _calls_over_time(calls, period: Period):
    """Calls per day by outcome, per hour of day and per weekday, from one query grouped by day, hour and outcome."""
    tz = shop_tz()
    rows = (
        calls.annotate(day=TruncDate("started_at", tzinfo=tz), hour=ExtractHour("started_at", tzinfo=tz))
        .values("day", "hour", "outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_day: dict[date, dict[str, int]] = {day: {} for day in period.days}
    hours = [0] * 24
    weekdays = [0] * 7
    seen = set()
    for row in rows:
        outcome = row["outcome"] or "in_progress"
        seen.add(outcome)
        day = by_day.setdefault(row["day"], {})
        day[outcome] = day.get(outcome, 0) + row["n"]
        hours[row["hour"]] += row["n"]
        weekdays[row["day"].weekday()] += row["n"]
    order = [*Call.Outcome.values, "in_progress"]
    return (
        sorted(by_day.items()),
        list(enumerate(hours)),
        list(zip(WEEKDAYS, weekdays, strict=True)),
        [o for o in order if o in seen],
    )


def _no_show(period: Period, now: datetime) -> dict[str, dict[str, float | int | None]]:
    reached = Exists(ReminderAttempt.objects.filter(appointment=OuterRef("pk"), outcome__in=REACHED))
    over = Appointment.objects.filter(
        start__gte=period.start,
        start__lt=min(period.end, now),
        status__in=[Appointment.Status.COMPLETED, Appointment.Status.NO_SHOW],
    )
    no_show = Q(status=Appointment.Status.NO_SHOW)
    row = over.aggregate(
        reminded=Count("pk", filter=Q(reached)),
        reminded_no_show=Count("pk", filter=Q(reached) & no_show),
        not_reminded=Count("pk", filter=~Q(reached)),
        not_reminded_no_show=Count("pk", filter=~Q(reached) & no_show),
    )
    return {
        key: {"over": row[key], "no_shows": row[f"{key}_no_show"], "rate": _share(row[f"{key}_no_show"], row[key])}
        for key in ("reminded", "not_reminded")
    }
