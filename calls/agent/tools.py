"""The agent's tools: one registry, a JSON schema per tool, authorisation inside each tool.

Both brains (the OpenAI one and the rule policy) act on the world only through `run_tool` / `arun_tool`.
A tool never trusts the brain: a caller sees and changes only the appointments of the customer the call is
bound to (ctx.customer_id, set by caller ID, by name + postal code, or by registering during the call),
whatever appointment id the brain passes. Domain refusals come back as ToolResult(ok=False, error=<a sentence
fit to read to the caller>); tool-level failures never raise.
"""

from __future__ import annotations

import json
import logging
import re
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, transaction

from calls.agent import nlu
from calls.agent.context import CallContext
from calls.agent.phrases import (
    join_words,
    service_phrase,
    services_phrase,
    slot_label,
    spoken_day,
    spoken_duration,
    spoken_price,
    spoken_time,
    vehicle_label,
)
from calls.agent.schema import SchemaError, check_schema, validate

log = logging.getLogger(__name__)

NOT_YOURS = "I can't find that appointment on your account."
NEED_ACCOUNT = "I need to find your account first: your name and postal code, or register you as a new customer."
MAX_VERIFY_ATTEMPTS = 3
DEFAULT_SEARCH_DAYS = 14


class ToolError(Exception):
    """A refusal a caller may hear as is ("I can't find that appointment on your account.")."""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    fn: Callable[..., dict]

    def openai_spec(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


@dataclass
class ToolResult:
    ok: bool
    result: dict[str, Any] | None = None
    error: str = ""
    duration_ms: int = 0
    name: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_content(self) -> str:
        """The tool message content for a language model."""
        if self.ok:
            return json.dumps(self.result, cls=DjangoJSONEncoder)
        return json.dumps({"error": self.error})


class ToolRegistry:
    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def register(self, name: str, description: str, properties: dict[str, Any] | None = None,
                 required: tuple[str, ...] = ()) -> Callable:
        parameters = {
            "type": "object",
            "properties": properties or {},
            "required": list(required),
            "additionalProperties": False,
        }
        check_schema(parameters)

        def decorator(fn: Callable[..., dict]) -> Callable[..., dict]:
            if name in self._tools:
                raise ValueError(f"tool {name!r} registered twice")
            self._tools[name] = Tool(name=name, description=description, parameters=parameters, fn=fn)
            return fn

        return decorator

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def openai_tools(self, names: list[str] | None = None) -> list[dict[str, Any]]:
        return [t.openai_spec() for n, t in self._tools.items() if names is None or n in names]


registry = ToolRegistry()


# --- running ----------------------------------------------------------------------------------------------


def _parse_arguments(arguments: dict | str | None) -> dict:
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError as exc:
            raise SchemaError(f"The arguments are not valid JSON ({exc.msg}).") from None
    if not isinstance(arguments, dict):
        raise SchemaError("The arguments must be a JSON object.")
    return arguments


def _message(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages) or "That request was refused."


def run_tool(ctx: CallContext, name: str, arguments: dict | str | None = None) -> ToolResult:
    """Validate, run and record one tool call. Never raises for a tool-level failure."""
    started = _time.perf_counter()
    raw = arguments
    args: dict = {}
    result: dict | None = None
    error = ""
    tool = registry.get(name)
    try:
        args = _parse_arguments(arguments)
        if tool is None:
            raise ToolError(f"There is no tool called {name!r}.")
        validate(args, tool.parameters)
        result = tool.fn(ctx, **args)
        # The brain gets JSON either way; make sure it is (dates, Decimals) before anyone stores or sends it.
        result = json.loads(json.dumps(result, cls=DjangoJSONEncoder))
    except (ToolError, SchemaError) as exc:
        error = str(exc)
    except ValidationError as exc:  # BookingError included: its text is written for callers
        error = _message(exc)
    except Exception:  # a bug must not drop the call: the brain apologises and hands over
        log.exception("tool %s failed (call %s)", name, ctx.call_id)
        error = "Something went wrong on our side with that request."
    duration_ms = int((_time.perf_counter() - started) * 1000)
    outcome = ToolResult(ok=not error, result=result if not error else None, error=error,
                         duration_ms=duration_ms, name=name, arguments=args)
    _record(ctx, outcome, args if args or not isinstance(raw, str) else {"_raw": raw})
    return outcome


def _record(ctx: CallContext, outcome: ToolResult, arguments: dict) -> None:
    if ctx.call_id is None:
        return
    from calls.models import ToolCall

    try:
        ToolCall.objects.create(
            call_id=ctx.call_id,
            turn_index=ctx.turn_index,
            name=outcome.name[:60],
            arguments=arguments,
            result=outcome.result,
            ok=outcome.ok,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
    except DatabaseError:
        log.exception("could not record tool call %s for call %s", outcome.name, ctx.call_id)


async def arun_tool(ctx: CallContext, name: str, arguments: dict | str | None = None) -> ToolResult:
    """run_tool from async code: in a worker thread, with its database connection tidied afterwards."""
    from bartsvoice.db import in_db_thread

    return await in_db_thread(run_tool, ctx, name, arguments)


# --- helpers shared by the tools ---------------------------------------------------------------------------


def _tz():
    from scheduling.availability import shop_tz

    return shop_tz()


def _local_now(ctx: CallContext) -> datetime:
    return ctx.clock().astimezone(_tz())


def _customer(ctx: CallContext):
    from crm.models import Customer

    if ctx.customer_id is None or not ctx.verified:
        raise ToolError(NEED_ACCOUNT)
    customer = Customer.objects.filter(pk=ctx.customer_id).first()
    if customer is None:
        raise ToolError(NEED_ACCOUNT)
    return customer


def _own_appointment(ctx: CallContext, appointment_id: int):
    """The appointment if it belongs to the bound customer; the same refusal whether it exists or not."""
    from scheduling.models import Appointment

    customer = _customer(ctx)
    appointment = (
        Appointment.objects.filter(pk=appointment_id, customer_id=customer.pk)
        .select_related("vehicle")
        .prefetch_related("service_types")
        .first()
    )
    if appointment is None:
        raise ToolError(NOT_YOURS)
    return appointment


def _vehicle_dict(v) -> dict:
    return {"id": v.pk, "label": vehicle_label(v.year, v.make, v.model) or "your vehicle", "year": v.year,
            "make": v.make, "model": v.model}


def _customer_dict(customer) -> dict:
    return {
        "id": customer.pk,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "vehicles": [_vehicle_dict(v) for v in customer.vehicles.order_by("-year", "id")],
    }


def _appointment_dict(appointment) -> dict:
    start = appointment.start.astimezone(_tz())
    types = list(appointment.service_types.all())
    names = [st.name for st in types]
    return {
        "id": appointment.pk,
        "start": start.isoformat(),
        "end": appointment.end.astimezone(_tz()).isoformat(),
        "label": slot_label(start),
        "services": names,
        "service_codes": [st.code for st in types],
        "services_spoken": services_phrase(names),
        "vehicle": vehicle_label(appointment.vehicle.year, appointment.vehicle.make, appointment.vehicle.model)
        if appointment.vehicle_id else None,
        "vehicle_id": appointment.vehicle_id,
        "status": appointment.status,
        "transport": appointment.transport,
    }


def _short(start: datetime) -> str:
    local = start.astimezone(_tz())
    return f"{local:%a %b} {local.day} {spoken_time(local)}"


def _resolve_services(names: list[str]) -> list:
    """Codes, names or caller phrases -> active ServiceType rows; a clear refusal for anything unknown."""
    from scheduling.models import ServiceType
    from scheduling.selectors import find_service_types

    found: list = []
    for raw in names:
        text = (raw or "").strip()
        st = (
            ServiceType.objects.filter(active=True, code__iexact=text).first()
            or ServiceType.objects.filter(active=True, name__iexact=text).first()
        )
        if st is None:
            matches = find_service_types(text) or nlu.match_services(text)
            st = matches[0] if matches else None
        if st is None:
            raise ToolError(f"We don't have a service called “{text}”.")
        if st.pk not in {f.pk for f in found}:
            found.append(st)
    return found


def _parse_start(value: str) -> datetime:
    start = datetime.fromisoformat(value)
    if start.tzinfo is None:
        start = start.replace(tzinfo=_tz())  # a wall time at the shop
    return start


def _bind_call_customer(ctx: CallContext, customer) -> None:
    ctx.customer_id = customer.pk
    ctx.customer_name = customer.first_name
    ctx.verified = True
    if ctx.call_id is not None:
        from calls.services import bind_customer

        bind_customer(call_id=ctx.call_id, customer_id=customer.pk)


def _link_call_appointment(ctx: CallContext, appointment_id: int) -> None:
    """The call log shows which appointment a call was about (the first one it touched)."""
    if ctx.call_id is not None:
        from calls.models import Call

        Call.objects.filter(pk=ctx.call_id, appointment__isnull=True).update(appointment_id=appointment_id)


# --- identity ----------------------------------------------------------------------------------------------


def _postal_key(value: str) -> str:
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


@registry.register(
    "lookup_customer",
    "Find the caller's customer account. Without arguments: the account matching the caller ID (or the one "
    "already bound to this call). With last_name (and ideally first_name) plus postal_code: verify a caller "
    "whose phone number is not on file. On success the call is bound to that customer, which is required "
    "before appointments can be listed, booked, moved or cancelled.",
    {
        "first_name": {"type": "string", "maxLength": 80},
        "last_name": {"type": "string", "maxLength": 80},
        "postal_code": {"type": "string", "maxLength": 12, "description": "The postal/ZIP code on the account."},
    },
)
def lookup_customer(ctx: CallContext, first_name: str = "", last_name: str = "", postal_code: str = "") -> dict:
    from crm.models import Customer
    from crm.services import find_customer_by_phone

    if not (last_name or postal_code):
        if ctx.customer_id is not None and ctx.verified:
            customer = Customer.objects.filter(pk=ctx.customer_id).first()
            if customer is not None:
                return {"found": True, "how": "already_bound", "customer": _customer_dict(customer)}
        cached = find_customer_by_phone(ctx.caller_number) if ctx.caller_number else None
        customer = Customer.objects.filter(pk=cached.pk).first() if cached is not None else None
        if customer is None:
            return {"found": False, "how": "caller_id",
                    "message": "This phone number is not on file. Ask for name and postal code, or register."}
        _bind_call_customer(ctx, customer)
        return {"found": True, "how": "caller_id", "customer": _customer_dict(customer)}

    if not (last_name.strip() and postal_code.strip()):
        raise ToolError("To find your account I need your last name and the postal code on file.")
    failures = ctx.state.get("verify_failures", 0)
    if failures >= MAX_VERIFY_ATTEMPTS:
        raise ToolError("I couldn't verify your account over the phone; a service advisor can help with that.")
    wanted = _postal_key(postal_code)
    candidates = Customer.objects.filter(last_name__iexact=last_name.strip())
    if first_name.strip():
        candidates = candidates.filter(first_name__iexact=first_name.strip())
    matches = [c for c in candidates[:20] if wanted and _postal_key(c.postal_code)[: len(wanted)] == wanted]
    if len(matches) != 1:
        ctx.state["verify_failures"] = failures + 1
        return {"found": False, "how": "postal_code",
                "message": "No single account matches that name and postal code."}
    _bind_call_customer(ctx, matches[0])
    ctx.note(f"verified {matches[0].full_name} by postal code")
    return {"found": True, "how": "postal_code", "customer": _customer_dict(matches[0])}


@registry.register(
    "register_customer",
    "Create a customer account for a new caller, with this call's caller ID as the phone number, and their "
    "vehicle when given. Use it when lookup_customer found nobody and the caller wants to book.",
    {
        "first_name": {"type": "string", "minLength": 1, "maxLength": 80},
        "last_name": {"type": "string", "maxLength": 80},
        "postal_code": {"type": "string", "maxLength": 12},
        "vehicle_year": {"type": "integer", "minimum": 1950, "maximum": 2100},
        "vehicle_make": {"type": "string", "maxLength": 60},
        "vehicle_model": {"type": "string", "maxLength": 60},
        "vin": {"type": "string", "maxLength": 30},
    },
    required=("first_name",),
)
def register_customer(ctx: CallContext, first_name: str, last_name: str = "", postal_code: str = "",
                      vehicle_year: int | None = None, vehicle_make: str = "", vehicle_model: str = "",
                      vin: str = "") -> dict:
    from crm import services as crm_services
    from crm.phones import try_normalize_phone

    if ctx.customer_id is not None:
        raise ToolError("You already have an account with us, so there's no need to register again.")
    if not try_normalize_phone(ctx.caller_number or ""):
        raise ToolError("I can't set up an account without the phone number you're calling from.")
    with transaction.atomic():
        customer = crm_services.register_customer(
            first_name=first_name, last_name=last_name, phone=ctx.caller_number, postal_code=postal_code.strip()
        )
        vehicle = None
        if vehicle_make or vehicle_model or vin:
            vehicle = crm_services.add_vehicle(
                customer=customer, year=vehicle_year, make=vehicle_make, model=vehicle_model, vin=vin
            )
    crm_services.invalidate_customer_phone(customer.phone)  # the cached "unknown number" is stale now
    _bind_call_customer(ctx, customer)
    ctx.note(f"registered new customer {customer.full_name}")
    return {"customer": _customer_dict(customer), "vehicle": _vehicle_dict(vehicle) if vehicle else None}


# --- shop information --------------------------------------------------------------------------------------

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _hours_by_weekday() -> dict[int, list[tuple[dtime, dtime]]]:
    from scheduling.models import BusinessHours

    hours: dict[int, list[tuple[dtime, dtime]]] = {}
    for row in BusinessHours.objects.order_by("weekday", "opens"):
        hours.setdefault(row.weekday, []).append((row.opens, row.closes))
    return hours


def _intervals_text(intervals) -> str:
    return " and ".join(f"{spoken_time(o)} to {spoken_time(c)}" for o, c in intervals)


def weekly_hours_sentence(hours: dict[int, list[tuple[dtime, dtime]]]) -> str:
    """"We're open Monday to Friday, 7:00 AM to 6:00 PM, and Saturday, 8:00 AM to 1:00 PM. We're closed on Sunday.\""""
    groups: list[tuple[int, int, list]] = []  # consecutive weekdays with the same hours
    for day in range(7):
        intervals = hours.get(day)
        if not intervals:
            continue
        if groups and groups[-1][1] == day - 1 and groups[-1][2] == intervals:
            groups[-1] = (groups[-1][0], day, intervals)
        else:
            groups.append((day, day, intervals))
    if not groups:
        return "We don't have any opening hours on file; a service advisor can help."
    parts = []
    for first, last, intervals in groups:
        days = _DAY_NAMES[first] if first == last else (
            f"{_DAY_NAMES[first]} and {_DAY_NAMES[last]}" if last == first + 1
            else f"{_DAY_NAMES[first]} to {_DAY_NAMES[last]}"
        )
        parts.append(f"{days}, {_intervals_text(intervals)}")
    # The parts contain commas themselves, so they are always separated by commas ("..., and Saturday, ...").
    sentence = f"We're open {parts[0]}." if len(parts) == 1 else f"We're open {', '.join(parts[:-1])}, and {parts[-1]}."
    closed = [_DAY_NAMES[d] for d in range(7) if d not in hours]
    if closed:
        sentence += f" We're closed on {join_words(closed)}."
    return sentence


def day_hours(day: date, hours: dict | None = None) -> dict:
    from scheduling.models import Closure

    hours = _hours_by_weekday() if hours is None else hours
    closure = Closure.objects.filter(date=day).first()
    intervals = [] if closure else hours.get(day.weekday(), [])
    if closure:
        # "Closed for staff training" reads "We're closed on Monday, November 29 (staff training)."
        reason = re.sub(r"^\s*(shop )?closed\b[\s:,-]*((for|on|due to)\s+)?", "", closure.reason, flags=re.I).strip()
        why = f" ({reason})" if reason else ""
        sentence = f"We're closed on {spoken_day(day)}{why}."
    elif not intervals:
        sentence = f"We're closed on {_DAY_NAMES[day.weekday()]}s."
    else:
        sentence = f"On {spoken_day(day)} we're open from {_intervals_text(intervals)}."
    return {
        "date": day.isoformat(),
        "label": spoken_day(day),
        "open": bool(intervals),
        "intervals": [[f"{o:%H:%M}", f"{c:%H:%M}"] for o, c in intervals],
        "hours": _intervals_text(intervals),  # "7:00 AM to 6:00 PM"
        "closure_reason": closure.reason if closure else "",
        "sentence": sentence,
    }


@registry.register(
    "get_business_hours",
    "The shop's weekly opening hours, and for a given date whether and when it is open (closures included).",
    {"date": {"type": "string", "format": "date", "description": "YYYY-MM-DD, optional."}},
)
def get_business_hours(ctx: CallContext, date: str | None = None) -> dict:
    hours = _hours_by_weekday()
    result = {
        "weekly": [
            {"weekday": _DAY_NAMES[d], "intervals": [[f"{o:%H:%M}", f"{c:%H:%M}"] for o, c in hours.get(d, [])]}
            for d in range(7)
        ],
        "summary": weekly_hours_sentence(hours),
    }
    if date:
        day = datetime.fromisoformat(date).date()
        result["day"] = day_hours(day, hours)
        if not result["day"]["open"]:
            result["next_open"] = _next_open_day(day, hours)
    ctx.set_outcome("info")
    return result


def _next_open_day(day: date, hours: dict, within_days: int = 14) -> dict | None:
    """day_hours of the first day after `day` that the shop opens (closures skipped), or None."""
    from scheduling.models import Closure

    last = day + timedelta(days=within_days)
    closed = set(Closure.objects.filter(date__gt=day, date__lte=last).values_list("date", flat=True))
    for offset in range(1, within_days + 1):
        d = day + timedelta(days=offset)
        if d not in closed and hours.get(d.weekday()):
            return day_hours(d, hours)
    return None


def service_sentence(st) -> str:
    phrase = service_phrase(st.name)
    sentence = f"{phrase[0].upper()}{phrase[1:]} takes about {spoken_duration(st.duration_minutes)}"
    price = spoken_price(st.price)
    sentence += f" and costs {price}." if price else "; the price depends on the vehicle."
    return sentence


@registry.register(
    "get_services",
    "The services the shop offers, with code, duration and price. Pass `query` (caller's words, e.g. "
    "'my brakes squeak') or `codes` to get only those.",
    {"query": {"type": "string", "maxLength": 200},
     "codes": {"type": "array", "items": {"type": "string"}, "maxItems": 10}},
)
def get_services(ctx: CallContext, query: str = "", codes: list[str] | None = None) -> dict:
    from scheduling.models import ServiceType

    if codes:
        by_code = {st.code: st for st in ServiceType.objects.filter(active=True, code__in=codes)}
        items = [by_code[c] for c in codes if c in by_code]
    elif query.strip():
        items = nlu.match_services(query)
    else:
        items = list(ServiceType.objects.filter(active=True))
    ctx.set_outcome("info")
    return {
        "services": [
            {
                "code": st.code,
                "name": st.name,
                "duration_minutes": st.duration_minutes,
                "price": str(st.price) if st.price is not None else None,
                "description": st.description,
                "sentence": service_sentence(st),
            }
            for st in items
        ]
    }


# --- availability ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pref:
    exact: dtime | None = None
    start: dtime | None = None
    end: dtime | None = None
    mode: str = ""  # "", "earliest", "latest", "soonest"

    def inside(self, t: dtime) -> bool:
        if self.exact:
            return t == self.exact
        return (self.start is None or t >= self.start) and (self.end is None or t < self.end)

    @property
    def windowed(self) -> bool:
        return self.start is not None or self.end is not None


def _parse_time_preference(value: str | None) -> _Pref:
    text = (value or "").strip().lower()
    if not text or text in ("any", "anytime", "any time", "none"):
        return _Pref()
    if text in ("earliest", "latest", "soonest"):
        return _Pref(mode=text)
    try:
        if "-" in text:
            a, b = (part.strip() for part in text.split("-", 1))
            return _Pref(start=dtime.fromisoformat(a), end=dtime.fromisoformat(b))
        return _Pref(exact=dtime.fromisoformat(text))
    except ValueError:
        pass
    spoken = nlu.parse_time(text, bare_ok=True)
    if spoken is None:
        raise ToolError(f"I couldn't understand the time “{value}”.")
    if spoken.exact:
        return _Pref(exact=spoken.exact)
    mode = "earliest" if spoken.earliest else ("latest" if spoken.latest else "")
    return _Pref(start=spoken.start, end=spoken.end, mode=mode)


def _minutes(t: dtime) -> int:
    return t.hour * 60 + t.minute


def grid_phrase(step: int, anchors: list[dtime]) -> str:
    """How the booking grid reads aloud: "on the hour and half hour", "every 20 minutes from 7:10 AM"."""
    aligned = 60 % step == 0 and all(_minutes(a) % step == 0 for a in anchors)
    if aligned and step == 60:
        return "on the hour"
    if aligned and step == 30:
        return "on the hour and half hour"
    if aligned and step == 15:
        return "every quarter hour"
    if aligned:
        return f"every {step} minutes"
    return f"every {spoken_duration(step)} from {join_words(sorted({spoken_time(a) for a in anchors}))}"


def _off_grid(days: list[date], exact: dtime, hours: dict, step: int) -> str:
    """The grid phrase when `exact` is inside opening hours on the searched days but never a start time we
    offer (the engine's grid is anchored at each opening interval's start); "" when the grid is not the reason.
    """
    from scheduling.models import Closure

    closed = set(Closure.objects.filter(date__in=days).values_list("date", flat=True))
    anchors: list[dtime] = []
    for d in days:
        if d in closed:
            continue
        for opens, closes in hours.get(d.weekday(), ()):
            if opens <= exact < closes:
                if (_minutes(exact) - _minutes(opens)) % step == 0:
                    return ""  # a real grid time: it is taken, not off the grid
                anchors.append(opens)
    return grid_phrase(step, anchors) if anchors else ""


def _spread(slots: list[datetime], k: int) -> list[datetime]:
    if len(slots) <= k:
        return slots
    if k == 1:
        return slots[:1]
    picks = sorted({round(i * (len(slots) - 1) / (k - 1)) for i in range(k)})
    return [slots[i] for i in picks]


def _rank(slots: list[datetime], pref: _Pref, limit: int) -> tuple[list[datetime], bool]:
    """(best slots first, whether they meet the preference)."""
    if not slots:
        return [], False
    first_day = slots[0].date()

    def day_offset(s: datetime) -> int:
        return (s.date() - first_day).days

    if pref.exact:
        target = _minutes(pref.exact)
        # An exact match on a later day beats a near miss only when it is not too far off (90 min ~ one day).
        ranked = sorted(slots, key=lambda s: (abs(_minutes(s.time()) - target) + 90 * day_offset(s), s))
        return ranked[:limit], any(s.time() == pref.exact for s in slots)
    if pref.windowed:
        inside = [s for s in slots if pref.inside(s.time())]
        if inside:
            if pref.mode == "earliest":
                return sorted(inside, key=lambda s: (s.time(), s))[:limit], True
            if pref.mode == "latest":
                return sorted(inside, key=lambda s: (-_minutes(s.time()), s))[:limit], True
            return _spread(inside, limit), True

        def distance(s: datetime) -> int:
            m = _minutes(s.time())
            lo = _minutes(pref.start) if pref.start else 0
            hi = _minutes(pref.end) if pref.end else 24 * 60
            return max(lo - m, m - hi, 0) + 90 * day_offset(s)

        return sorted(slots, key=lambda s: (distance(s), s))[:limit], False
    if pref.mode == "earliest":
        return sorted(slots, key=lambda s: (s.time(), s))[:limit], True
    if pref.mode == "latest":
        return sorted(slots, key=lambda s: (-_minutes(s.time()), s))[:limit], True
    if pref.mode == "soonest":
        chosen: list[datetime] = []
        for s in slots:  # the first openings, at least an hour apart so they are real alternatives
            if not chosen or s - chosen[-1] >= timedelta(hours=1) or s.date() != chosen[-1].date():
                chosen.append(s)
            if len(chosen) == limit:
                break
        return chosen, True
    return _spread(slots, limit), True


def _no_slots_reason(day: date, today: date, hours: dict) -> str:
    if day < today:
        return f"{spoken_day(day)} has already passed."
    info = day_hours(day, hours)
    if not info["open"]:
        return info["sentence"]
    if day == today:
        return "There's nothing left today."
    return f"We're fully booked on {spoken_day(day)}."


def _slot_dict(s: datetime) -> dict:
    return {
        "start": s.isoformat(),
        "label": slot_label(s),
        "date": s.date().isoformat(),
        "time": f"{s:%H:%M}",
        "day_label": spoken_day(s),
        "time_label": spoken_time(s),
    }


@registry.register(
    "get_available_slots",
    "Bookable start times for the given services. Give the period as date_from/date_to (YYYY-MM-DD; date_to "
    "defaults to date_from), as a list of dates, or as the caller's words in day_phrase ('next Tuesday', 'this "
    "week'); with none of them the next two weeks are searched. time_preference: 'HH:MM' (nearest times "
    "first), 'HH:MM-HH:MM' (a window), 'earliest', 'latest', 'soonest', or the caller's words ('after 2 pm'). "
    "Returns slots best match first, each with ISO start and a spoken label; matched_preference is false when "
    "nothing fits the preference and the slots are the nearest alternatives; off_grid is true when the exact "
    "time asked for is not a start time we use (grid says which are, e.g. 'on the hour and half hour'). "
    "Offer the caller 2 or 3.",
    {
        "services": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 5,
                     "description": "Service codes or names."},
        "date_from": {"type": "string", "format": "date"},
        "date_to": {"type": "string", "format": "date"},
        "dates": {"type": "array", "items": {"type": "string", "format": "date"}, "maxItems": 14},
        "day_phrase": {"type": "string", "maxLength": 100},
        "time_preference": {"type": "string", "maxLength": 60},
        "exclude_appointment_id": {"type": "integer", "minimum": 1,
                                   "description": "When rescheduling: the appointment being moved."},
        "limit": {"type": "integer", "minimum": 1, "maximum": 8},
    },
    required=("services",),
)
def get_available_slots(ctx: CallContext, services: list[str], date_from: str | None = None,
                        date_to: str | None = None, dates: list[str] | None = None, day_phrase: str | None = None,
                        time_preference: str | None = None, exclude_appointment_id: int | None = None,
                        limit: int = 5) -> dict:
    from scheduling.availability import available_slots, total_duration

    types = _resolve_services(services)
    now = _local_now(ctx)
    today = now.date()
    pref = _parse_time_preference(time_preference)
    wanted: set[date] | None = None
    if exclude_appointment_id is not None:
        _own_appointment(ctx, exclude_appointment_id)
    if day_phrase:
        parsed = nlu.parse_date(day_phrase, now, named_days=nlu.closure_days(today))
        if parsed is None:
            raise ToolError(f"I couldn't understand the day “{day_phrase}”.")
        start, end = parsed.start, parsed.end
        wanted = set(parsed.days) or None
        if parsed.soonest and not (pref.exact or pref.windowed or pref.mode):
            pref = _Pref(mode="soonest")
    elif dates:
        days = sorted(date.fromisoformat(d) for d in dates)
        start, end, wanted = days[0], days[-1], set(days)
    elif date_from:
        start = date.fromisoformat(date_from)
        end = date.fromisoformat(date_to) if date_to else start
    else:
        start, end = today, today + timedelta(days=DEFAULT_SEARCH_DAYS - 1)
        if not (pref.exact or pref.windowed or pref.mode):
            pref = _Pref(mode="soonest")
    if end < start:
        raise ToolError("The end of the period is before its start.")
    horizon = today + timedelta(days=settings.BOOKING_HORIZON_DAYS)
    if start > horizon:
        raise ToolError(f"We book up to {settings.BOOKING_HORIZON_DAYS} days ahead; please pick an earlier date.")
    end = min(end, horizon)
    start = max(start, today) if end >= today else start

    def search(first: date, last: date) -> list[datetime]:
        if last < first:
            return []
        found = available_slots(service_types=types, start_date=first, end_date=last, now=ctx.clock(),
                                exclude_appointment_id=exclude_appointment_id)
        return [s.astimezone(_tz()) for s in found]

    slots = [s for s in search(start, end) if wanted is None or s.date() in wanted]
    note = ""
    beyond = False
    grid = ""
    if slots:
        chosen, matched = _rank(slots, pref, limit)
        if pref.exact and not matched:
            step = settings.SLOT_MINUTES
            days = sorted(wanted) if wanted else [start + timedelta(days=i) for i in range((end - start).days + 1)]
            grid = _off_grid(days[:31], pref.exact, _hours_by_weekday(), step)
            if grid:
                # 12:45 asked: offer the grid times either side (12:30, 1:00) when they are free.
                target = _minutes(pref.exact)
                either_side = [s for s in slots if abs(_minutes(s.time()) - target) < step]
                if either_side:
                    chosen = sorted(either_side)[:limit]
                note = f"We book {grid}; these are the nearest times."
            else:
                note = f"{spoken_time(pref.exact)} isn't available; these are the nearest times."
        elif pref.windowed and not matched:
            note = "Nothing fits that time of day; these are the nearest times."
    else:
        hours = _hours_by_weekday()
        if start == end or (wanted and len(wanted) == 1):
            note = _no_slots_reason(start, today, hours)
        else:
            note = "There are no openings in that period."
        # after a day that has passed ("the 7th of this month" said on the 30th), the next openings from today
        later = search(max(end + timedelta(days=1), today),
                       min(max(end, today) + timedelta(days=DEFAULT_SEARCH_DAYS), horizon))
        chosen, _ = _rank(later, pref if (pref.exact or pref.windowed) else _Pref(mode="soonest"), limit)
        matched, beyond = False, bool(chosen)
        if chosen:
            note += " These are the next openings after that."
    return {
        "services": [st.name for st in types],
        "service_codes": [st.code for st in types],
        "duration_minutes": int(total_duration(types).total_seconds() // 60),
        "searched": {"from": start.isoformat(), "to": end.isoformat(), "time_preference": time_preference or ""},
        "matched_preference": matched,
        "off_grid": bool(grid),  # the exact time asked for is never a start time; `grid` says which are
        "grid": grid,
        "beyond_period": beyond,
        "note": note.strip(),
        "slots": [_slot_dict(s) for s in chosen],
    }


# --- appointments ------------------------------------------------------------------------------------------


@registry.register(
    "book_appointment",
    "Book an appointment for the bound customer (lookup_customer or register_customer first). `start` is the "
    "ISO start of a slot from get_available_slots. Read the details back and get the caller's yes first.",
    {
        "services": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1, "maxItems": 5},
        "start": {"type": "string", "format": "date-time"},
        "vehicle_id": {"type": "integer", "minimum": 1, "description": "One of the customer's vehicles."},
        "transport": {"type": "string", "enum": ["drop_off", "waiter", "loaner", "shuttle"]},
        "notes": {"type": "string", "maxLength": 500, "description": "What the caller said about the problem."},
    },
    required=("services", "start"),
)
def book_appointment(ctx: CallContext, services: list[str], start: str, vehicle_id: int | None = None,
                     transport: str = "drop_off", notes: str = "") -> dict:
    from scheduling import services as booking
    from scheduling.models import Appointment

    customer = _customer(ctx)
    types = _resolve_services(services)
    vehicles = list(customer.vehicles.all())
    if vehicle_id is not None:
        vehicle = next((v for v in vehicles if v.pk == vehicle_id), None)
        if vehicle is None:
            raise ToolError("I can't find that vehicle on your account.")
    else:
        vehicle = vehicles[0] if len(vehicles) == 1 else None
    appointment = booking.book_appointment(
        customer=customer, service_types=types, start=_parse_start(start), vehicle=vehicle, transport=transport,
        notes=notes, source=Appointment.Source.PHONE, now=ctx.clock(),
    )
    ctx.set_outcome("booked")
    ctx.note(f"booked {', '.join(st.name.lower() for st in types)} {_short(appointment.start)}")
    _link_call_appointment(ctx, appointment.pk)
    return {"appointment": _appointment_dict(appointment)}


@registry.register(
    "get_upcoming_appointments",
    "The bound customer's upcoming appointments (scheduled or confirmed), soonest first.",
)
def get_upcoming_appointments(ctx: CallContext) -> dict:
    from scheduling.selectors import upcoming_appointments

    customer = _customer(ctx)
    items = [_appointment_dict(a) for a in upcoming_appointments(customer=customer, now=ctx.clock())]
    ctx.set_outcome("info")
    return {"appointments": items}


@registry.register(
    "cancel_appointment",
    "Cancel one of the bound customer's appointments (id from get_upcoming_appointments), after the caller "
    "confirmed which one.",
    {
        "appointment_id": {"type": "integer", "minimum": 1},
        "reason": {"type": "string", "maxLength": 200},
    },
    required=("appointment_id",),
)
def cancel_appointment(ctx: CallContext, appointment_id: int, reason: str = "") -> dict:
    from scheduling import services as booking

    appointment = _own_appointment(ctx, appointment_id)
    appointment = booking.cancel_appointment(
        appointment=appointment, reason=reason or "cancelled by the caller on the phone", now=ctx.clock()
    )
    ctx.set_outcome("cancelled")
    ctx.note(f"cancelled {_short(appointment.start)} appointment")
    _link_call_appointment(ctx, appointment.pk)
    return {"appointment": _appointment_dict(appointment)}


@registry.register(
    "reschedule_appointment",
    "Move one of the bound customer's appointments to a new start (ISO, from get_available_slots with "
    "exclude_appointment_id), after the caller confirmed.",
    {
        "appointment_id": {"type": "integer", "minimum": 1},
        "new_start": {"type": "string", "format": "date-time"},
    },
    required=("appointment_id", "new_start"),
)
def reschedule_appointment(ctx: CallContext, appointment_id: int, new_start: str) -> dict:
    from scheduling import services as booking

    appointment = _own_appointment(ctx, appointment_id)
    old_start = appointment.start
    appointment = booking.reschedule_appointment(appointment=appointment, start=_parse_start(new_start),
                                                 now=ctx.clock())
    ctx.set_outcome("rescheduled")
    ctx.note(f"moved appointment {_short(old_start)} -> {_short(appointment.start)}")
    _link_call_appointment(ctx, appointment.pk)
    result = _appointment_dict(appointment)
    result["previous_label"] = slot_label(old_start.astimezone(_tz()))
    return {"appointment": result}


@registry.register(
    "confirm_appointment",
    "Mark one of the bound customer's appointments as confirmed (the caller says they will come).",
    {"appointment_id": {"type": "integer", "minimum": 1}},
    required=("appointment_id",),
)
def confirm_appointment(ctx: CallContext, appointment_id: int) -> dict:
    from scheduling import services as booking
    from scheduling.models import Appointment

    appointment = _own_appointment(ctx, appointment_id)
    if appointment.status != Appointment.Status.CONFIRMED:
        appointment = booking.set_appointment_status(
            appointment=appointment, status=Appointment.Status.CONFIRMED, now=ctx.clock()
        )
    ctx.set_outcome("confirmed")
    ctx.note(f"confirmed {_short(appointment.start)} appointment")
    _link_call_appointment(ctx, appointment.pk)
    return {"appointment": _appointment_dict(appointment)}


# --- vehicles and the call itself --------------------------------------------------------------------------


@registry.register(
    "decode_vin",
    "Check a 17-character VIN and say which vehicle it belongs to (year, make, model).",
    {"vin": {"type": "string", "minLength": 11, "maxLength": 30}},
    required=("vin",),
)
def decode_vin(ctx: CallContext, vin: str) -> dict:
    from crm.vin import decode_vin as decode

    return decode(vin)


@registry.register(
    "transfer_to_advisor",
    "Hand the call to a human service advisor: when the caller asks for a person, or the request is beyond "
    "these tools. Say a short sentence first; the transfer happens after it is spoken.",
    {"reason": {"type": "string", "maxLength": 200}},
    required=("reason",),
)
def transfer_to_advisor(ctx: CallContext, reason: str) -> dict:
    ctx.transfer_requested = True
    ctx.transfer_reason = reason.strip()[:200]
    ctx.set_outcome("transferred")
    return {"transferring": True}


@registry.register(
    "end_call",
    "Hang up after the goodbye has been spoken: the caller is done.",
    {"reason": {"type": "string", "maxLength": 200}},
)
def end_call(ctx: CallContext, reason: str = "") -> dict:
    ctx.end_requested = True
    if not ctx.outcome:
        ctx.set_outcome("info")
    return {"ending": True}
