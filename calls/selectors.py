"""Reads for the managers' call log: the list with its filters and sorts, one call's detail, call-backs, live calls.

Every function returns querysets or plain dataclasses built in a fixed number of queries, whatever the number
of calls, turns or tool calls (the list page is measured on 100,000 calls: bench/ui.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import DurationField, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery

from calls.models import Call, ToolCall, Turn
from calls.usage import CostLine, lines_from_storage
from crm.models import Customer
from crm.phones import phone_search_digits
from scheduling.availability import shop_tz

PAGE_SIZE = 50
DEFAULT_SLOW_REPLY_MS = 1500
# Outcomes the agent reached on its own; a call with one of them and no call-back promised needed no person.
AGENT_OUTCOMES = (
    Call.Outcome.BOOKED,
    Call.Outcome.RESCHEDULED,
    Call.Outcome.CANCELLED,
    Call.Outcome.CONFIRMED,
    Call.Outcome.INFO,
    Call.Outcome.VOICEMAIL,
)


def slow_reply_ms() -> int:
    """A reply slower than this (first audio after the caller stopped speaking) makes a call "slow"."""
    return int(getattr(settings, "CALL_SLOW_REPLY_MS", DEFAULT_SLOW_REPLY_MS))


# ----------------------------------------------------------------------------------------------- the list


@dataclass(frozen=True)
class CallFilters:
    """What the call log is narrowed to. Dates are shop-local days, both ends included."""

    date_from: date | None = None
    date_to: date | None = None
    direction: str = ""
    outcome: str = ""
    needed_person: bool | None = None  # transferred, or a call-back promised
    search: str = ""  # a customer's name, or (part of) a phone number in any format
    slow: bool = False


# name -> the column it orders by; "-name" is descending. Calls without a value (no duration yet, no reply
# timed) go last either way; ties fall back to the newest call first.
SORTS = {"time": "started_at", "duration": "length", "outcome": "outcome", "latency": "worst_latency_ms"}
NULLABLE_SORTS = {"duration", "latency"}
DEFAULT_SORT = "-time"


def _order_by(sort: str) -> list:
    name = sort.removeprefix("-")
    if name not in SORTS:
        return _order_by(DEFAULT_SORT)
    column = F(SORTS[name])
    # NULLS LAST only where a value can be missing: on started_at it would keep PostgreSQL off the column's index
    # (a sort of the whole log, 120 ms on 100,000 calls, instead of reading the newest 50).
    nulls_last = True if name in NULLABLE_SORTS else None
    columns = [column.desc(nulls_last=nulls_last) if sort.startswith("-") else column.asc(nulls_last=nulls_last)]
    if name != "time":
        columns.append(F("started_at").desc())
    columns.append(F("pk").desc())
    return columns


def shop_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=shop_tz())


def filtered_calls(filters: CallFilters) -> QuerySet[Call]:
    """Calls matching the filters, unordered, without related rows (for counting and exporting)."""
    calls = Call.objects.all()
    if filters.date_from:
        calls = calls.filter(started_at__gte=shop_day_start(filters.date_from))
    if filters.date_to:
        calls = calls.filter(started_at__lt=shop_day_start(filters.date_to + timedelta(days=1)))
    if filters.direction:
        calls = calls.filter(direction=filters.direction)
    if filters.outcome:
        calls = calls.filter(outcome=filters.outcome)
    if filters.needed_person is not None:
        person = Q(outcome=Call.Outcome.TRANSFERRED) | Q(callback_requested=True)
        calls = calls.filter(person) if filters.needed_person else calls.exclude(person)
    if filters.slow:
        calls = calls.filter(worst_latency_ms__gte=slow_reply_ms())
    if filters.search.strip():
        calls = calls.filter(_search(filters.search))
    return calls


def _search(term: str) -> Q:
    digits = phone_search_digits(term)
    # Customers are matched first (20,000 rows), then their calls by customer_id: matching through the join tested
    # every call of the log against the joined customer (440 ms on 100,000 calls for a name, 75 ms this way).
    if digits:
        customers = Customer.objects.filter(phone__contains=digits).values("pk")
        return Q(from_number__contains=digits) | Q(to_number__contains=digits) | Q(customer__in=customers)
    words = term.split()
    customers = Customer.objects.all()
    for word in words:
        customers = customers.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
    condition = Q(customer__in=customers.values("pk"))
    if len(words) == 1:
        condition |= Q(call_sid=words[0])  # a SID pasted from Twilio's console
    return condition


def call_list(filters: CallFilters, sort: str = DEFAULT_SORT) -> QuerySet[Call]:
    """The call log: filtered, sorted, with the customer joined (one query per page, plus the count)."""
    length = ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
    return filtered_calls(filters).select_related("customer").annotate(length=length).order_by(*_order_by(sort))


# ----------------------------------------------------------------------------------------------- one call


@dataclass(frozen=True)
class LatencyStage:
    key: str  # stt | agent | tts | send
    label: str
    ms: int
    offset_pct: float  # where the stage starts on the bar, as a share of the call's slowest reply
    width_pct: float


@dataclass(frozen=True)
class TurnLatency:
    index: int
    total_ms: int
    stages: tuple[LatencyStage, ...]
    slow: bool


@dataclass(frozen=True)
class TimelineEntry:
    """One bubble of the conversation: a turn, or a tool call the agent made during the turn before it."""

    turn: Turn | None = None
    tool: ToolCall | None = None
    latency: TurnLatency | None = None

    @property
    def kind(self) -> str:
        return "turn" if self.turn is not None else "tool"


@dataclass(frozen=True)
class Usage:
    """What the call used of each paid service, as stored when it ended (calls.usage), priced per provider."""

    metered: bool  # False for calls that ended before usage was recorded (or never reached the agent)
    stt_seconds: float
    tts_characters: int
    llm_input_tokens: int
    llm_output_tokens: int
    telephony_minutes: int
    lines: tuple[CostLine, ...]
    cost: Decimal | None
    caller_turns: int
    agent_turns: int
    tool_calls: int
    failed_tool_calls: int


@dataclass(frozen=True)
class CallDetail:
    call: Call
    timeline: list[TimelineEntry]
    latencies: list[TurnLatency]
    p50_ms: float | None
    p95_ms: float | None
    usage: Usage
    slow_ms: int = field(default_factory=slow_reply_ms)


STAGES = (("stt", "Speech recognition"), ("agent", "Agent"), ("tts", "Speech synthesis"), ("send", "Sending"))


def call_detail(call_id: int) -> CallDetail | None:
    """A call with its conversation, tool calls where they happened, latency per reply. Three queries."""
    call = Call.objects.select_related("customer", "appointment", "appointment__vehicle").filter(pk=call_id).first()
    if call is None:
        return None
    turns = list(Turn.objects.filter(call_id=call_id).order_by("index"))
    tools = list(ToolCall.objects.filter(call_id=call_id).order_by("id"))
    latencies = turn_latencies(turns)
    by_turn = {lat.index: lat for lat in latencies}
    timeline = _timeline(turns, tools, by_turn)
    totals = [lat.total_ms for lat in latencies]
    return CallDetail(
        call=call,
        timeline=timeline,
        latencies=latencies,
        p50_ms=percentile(totals, 0.5),
        p95_ms=percentile(totals, 0.95),
        usage=call_usage(call, turns, tools),
    )


def is_reply(turn: Turn) -> bool:
    """An agent turn answering something the caller said (greetings and "are you still there?" are not)."""
    return turn.role == Turn.Role.AGENT and turn.stt_ms is not None and turn.first_audio_ms is not None


def turn_latencies(turns: list[Turn]) -> list[TurnLatency]:
    """Each reply's time to first audio split by stage, scaled against the call's slowest reply."""
    replies = [t for t in turns if is_reply(t)]
    if not replies:
        return []
    scale = max(t.first_audio_ms for t in replies) or 1
    slow = slow_reply_ms()
    result = []
    for turn in replies:
        marks = [0, turn.stt_ms, turn.llm_first_ms, turn.tts_first_ms, turn.first_audio_ms]
        # A stage the pipeline did not time takes no room; the clock never runs backwards.
        for i in range(1, len(marks)):
            marks[i] = marks[i - 1] if marks[i] is None else max(marks[i], marks[i - 1])
        stages = tuple(
            LatencyStage(key, label, marks[i + 1] - marks[i], 100 * marks[i] / scale,
                         100 * (marks[i + 1] - marks[i]) / scale)
            for i, (key, label) in enumerate(STAGES)
        )  # fmt: skip
        result.append(TurnLatency(turn.index, turn.first_audio_ms, stages, turn.first_audio_ms >= slow))
    return result


def _timeline(turns: list[Turn], tools: list[ToolCall], latency: dict[int, TurnLatency]) -> list[TimelineEntry]:
    """Turns in order, each tool call after the turn it was made in (tools of no known turn go last)."""
    tools_by_turn: dict[int | None, list[ToolCall]] = {}
    for tool in tools:
        tools_by_turn.setdefault(tool.turn_index, []).append(tool)
    entries: list[TimelineEntry] = []
    seen = set()
    for turn in turns:
        # The agent's reply is turn N; its tools were called while producing it, so they sit just above it.
        if turn.role == Turn.Role.AGENT:
            entries.extend(TimelineEntry(tool=tool) for tool in tools_by_turn.get(turn.index, ()))
            seen.add(turn.index)
        entries.append(TimelineEntry(turn=turn, latency=latency.get(turn.index)))
        if turn.role != Turn.Role.AGENT:
            entries.extend(TimelineEntry(tool=tool) for tool in tools_by_turn.get(turn.index, ()))
            seen.add(turn.index)
    for key, rest in tools_by_turn.items():
        if key not in seen:
            entries.extend(TimelineEntry(tool=tool) for tool in rest)
    return entries


def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def call_usage(call: Call, turns: list[Turn], tools: list[ToolCall]) -> Usage:
    return Usage(
        metered=call.cost_usd is not None,
        stt_seconds=call.stt_seconds,
        tts_characters=call.tts_characters,
        llm_input_tokens=call.llm_input_tokens,
        llm_output_tokens=call.llm_output_tokens,
        telephony_minutes=call.telephony_minutes,
        lines=tuple(lines_from_storage(call.usage_lines)),
        cost=call.cost_usd,
        caller_turns=sum(1 for t in turns if t.role == Turn.Role.CALLER),
        agent_turns=sum(1 for t in turns if t.role == Turn.Role.AGENT),
        tool_calls=len(tools),
        failed_tool_calls=sum(1 for t in tools if not t.ok),
    )


# ----------------------------------------------------------------------------------------------- call-backs


def callbacks_waiting() -> QuerySet[Call]:
    """Calls where the agent promised a call-back nobody has made yet, oldest first."""
    return (
        Call.objects.filter(callback_requested=True, callback_done_at__isnull=True)
        .select_related("customer")
        .order_by("started_at", "pk")
    )


def callbacks_waiting_with_request() -> QuerySet[Call]:
    """As callbacks_waiting, each with `first_words`: the caller's first turn, usually what they wanted."""
    first_words = Turn.objects.filter(call=OuterRef("pk"), role=Turn.Role.CALLER).order_by("index").values("text")
    return callbacks_waiting().annotate(first_words=Subquery(first_words[:1]))


def callbacks_made(limit: int = 20) -> QuerySet[Call]:
    return (
        Call.objects.filter(callback_requested=True, callback_done_at__isnull=False)
        .select_related("customer")
        .order_by("-callback_done_at")[:limit]
    )


# ----------------------------------------------------------------------------------------------- live calls

LIVE_MAX_AGE = timedelta(hours=4)  # a call "in progress" for longer lost its end (a crashed process)


def live_calls(now: datetime, *, call_id: int | None = None) -> list[Call]:
    """Calls in progress (or the one `call_id`, if it is), newest first, each with its turns so far (two queries)."""
    calls = Call.objects.filter(
        ended_at__isnull=True, status=Call.Status.IN_PROGRESS, started_at__gte=now - LIVE_MAX_AGE
    )
    if call_id is not None:
        calls = calls.filter(pk=call_id)
    calls = list(calls.select_related("customer").order_by("-started_at", "-pk"))
    turns: dict[int, list[Turn]] = {c.pk: [] for c in calls}
    for turn in Turn.objects.filter(call_id__in=list(turns)).order_by("call_id", "index"):
        turns[turn.call_id].append(turn)
    for call in calls:
        call.live_turns = turns[call.pk]
    return calls
